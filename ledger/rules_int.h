/*
 * rules_int.h: between the files of the ledger's rules (rules.c: the
 * entry's common checks, accounts, keys, configs; rules_cert.c:
 * certificates).  Nothing outside ledger/rules*.c includes it.
 */
#ifndef KEYBRIDGE_LEDGER_RULES_INT_H
#define KEYBRIDGE_LEDGER_RULES_INT_H

#include "ledger/ledger_int.h"

/* In a function with `enum ledger_status st`, `why`, `whylen` and an
 * `out:` label: sets why and st, and goes to out. */
#define RULES_FAIL(st_, ...) do {			\
	snprintf(why, whylen, __VA_ARGS__);		\
	st = (st_);					\
	goto out;					\
} while (0)

/* The key entry e names (its key-id) into *k: LEDGER_OK, or
 * LEDGER_ERR_UNKNOWN_KEY / _STORAGE with why. */
enum ledger_status rules_key_lookup(struct ledger_store *s,
    const struct ledger_entry *e, struct ledger_key_info *k, char *why,
    size_t whylen);

/* The pre-authorisation `id` exists, is unused and unexpired at ledger
 * time now; fills *pa.  LEDGER_OK, or LEDGER_ERR_PREAUTH / _STORAGE with
 * why. */
enum ledger_status rules_preauth_usable(struct ledger_store *s,
    const char *id, time_t now, struct ledger_preauth_info *pa, char *why,
    size_t whylen);

/* The cert-issued entry e at index, ledger time now: checked and applied
 * (the superseded certificate revoked, the certificate recorded). */
enum ledger_status rules_cert_issued(struct ledger_store *s,
    const struct ledger_entry *e, uint64_t index, time_t now, char *why,
    size_t whylen);

/* The cert-revoked entry e by actor: checked and applied. */
enum ledger_status rules_cert_revoked(struct ledger_store *s,
    const struct ledger_entry *e, const struct ledger_account_info *actor,
    uint64_t index, time_t now, char *why, size_t whylen);

#endif
