/*
 * verify_par.h: the signature checks of `ledger verify`'s replay, done
 * ahead of it on worker threads (verify_par.c).  ledger/'s own: the
 * replay in verify.c and the kept-certificate check in verify_certs.c
 * use it.
 */
#ifndef KEYBRIDGE_LEDGER_VERIFY_PAR_H
#define KEYBRIDGE_LEDGER_VERIFY_PAR_H

#include <stdint.h>

#include "ledger/ledger_int.h"

#define VERIFY_PAR_THREADS_MAX 64

struct verify_par;

/* The thread count to use for `threads` (0: the online CPUs), capped at
 * VERIFY_PAR_THREADS_MAX.  1 means the serial path. */
unsigned verify_par_threads(unsigned threads);

/*
 * Starts a reader thread on its own read-only connection to db that
 * parses the log from entry 0 in order, and `threads` workers that check
 * each entry's signature lines against the account keys the log declared
 * before it (every pubkey of an account-create or -update, so a superset
 * of the keys the replay will try).  The verdicts are a memo for the
 * replay's key cache (verify_par_memo): the replay still decides which
 * keys count and applies the rules in order; it only skips recomputing a
 * verification of exactly the same key, body and signature.  NULL on
 * failure (the caller then replays serially, with the same result).
 */
struct verify_par *verify_par_start(const char *db, unsigned threads);
/* The replay is about to apply `info` (the next entry it read, in order):
 * waits for its verdicts (or computes them here when no worker took them
 * yet) and makes them the memo's. */
void verify_par_enter(struct verify_par *p,
    const struct ledger_entry_info *info);
/* The replay is done with the entry of the last verify_par_enter. */
void verify_par_leave(struct verify_par *p);
/* ledger_keycache_memo_fn over the current entry's verdicts. */
int verify_par_memo(void *p, const char *name, const char *b64,
    const char *body, size_t len, const struct ledger_note_sig *sig);
/* Entries whose verdicts the replay found ready (*ahead) and those it
 * checked itself (*self). */
void verify_par_stats(const struct verify_par *p, uint64_t *ahead,
    uint64_t *self);
/* Stops and joins every thread and frees p (NULL: nothing). */
void verify_par_stop(struct verify_par *p);

#endif
