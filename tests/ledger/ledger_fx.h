/*
 * ledger_fx.h: what the ledger tests that replay or edit a database share
 * (ledger_fx.c, in the fixtures' archive): a ledger opened on a fresh
 * database (db_fx.h) with a solo node, and SQL run behind its back on
 * either backend.  Used by test_verify.c, test_verify_par.c, test_check.c,
 * test_verify_cosign.c and rules_fx.h.
 */
#ifndef KEYBRIDGE_TESTS_LEDGER_LEDGER_FX_H
#define KEYBRIDGE_TESTS_LEDGER_LEDGER_FX_H

#include <stddef.h>

#include <openssl/evp.h>

#include "ledger/ledger.h"

/* The ledger at db (origin, batches of up to batch_max entries; 0: the
 * default) whose checkpoints node signs alone as node_name; *cons gets
 * the solo consensus, which the caller frees (ledger_consensus_free)
 * after the ledger.  Fails the test (naming what) on error. */
struct ledger *fx_ledger_solo(const char *what, const char *db,
    const char *origin, EVP_PKEY *node, const char *node_name,
    size_t batch_max, struct ledger_consensus **cons);

/* Runs sqlite on the SQLite database at db (pg_url NULL), or pg on the
 * PostgreSQL one (db a URL): their dialects differ.  Fails the test
 * unless it worked. */
void fx_db_exec(const char *pg_url, const char *db, const char *sqlite,
    const char *pg);

#endif
