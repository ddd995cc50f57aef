/*
 * ledger_fx.c: a solo ledger on a test's database, and SQL behind its
 * back (ledger_fx.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "tests/ledger/db_fx.h"
#include "tests/ledger/ledger_fx.h"

struct ledger *
fx_ledger_solo(const char *what, const char *db, const char *origin,
    EVP_PKEY *node, const char *node_name, size_t batch_max,
    struct ledger_consensus **cons)
{
	struct ledger_config lc;
	struct ledger *l;
	char err[256];

	memset(&lc, 0, sizeof(lc));
	lc.db = db;
	lc.origin = origin;
	lc.batch_max = batch_max;
	assert_non_null(*cons = ledger_consensus_solo_new(node, node_name));
	lc.consensus = *cons;
	if ((l = ledger_open(&lc, err, sizeof(err))) == NULL)
		fail_msg("ledger_open(%s): %s", what, err);
	return l;
}

void
fx_db_exec(const char *pg_url, const char *db, const char *sqlite,
    const char *pg)
{
	sqlite3 *h;
	char *msg = NULL;

	if (pg_url != NULL) {
		fx_pg_exec(db, pg);
		return;
	}
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	if (sqlite3_exec(h, sqlite, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sqlite, msg);
	sqlite3_close(h);
}
