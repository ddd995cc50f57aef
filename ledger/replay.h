/*
 * replay.h: a validator's registry (issue 14): entries replayed through
 * the ledger's rules (ledger_rules_apply) into a store of its own, one
 * block at a time, kept only when the caller commits it.  The two first
 * functions have the shapes of struct vcore_ops's stage and abort
 * (validator/core.h), with the struct ledger_replay as their argument.
 * Part of ledger/'s face (with ledger.h and cosign.h).
 */
#ifndef KEYBRIDGE_LEDGER_REPLAY_H
#define KEYBRIDGE_LEDGER_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ledger_replay;

/* Opens (creating) the registry at db (an sqlite3 file, ":memory:" in
 * tests) for a ledger of `origin`.  NULL with a reason in err. */
struct ledger_replay *ledger_replay_open(const char *db, const char *origin,
    char *err, size_t errlen);
void ledger_replay_close(struct ledger_replay *r);

/* Parses entry `index` of a block of time t, checks it against every
 * rule and stages its effect (opening the block's transaction at the
 * first one).  0, or -1 with the rule's code (ledger_status_code, e.g.
 * "sequence_invalid") and why; the block is then rolled back. */
int ledger_replay_stage(void *r, uint64_t index, const char *text,
    size_t len, time_t t, char *code, size_t codelen, char *why,
    size_t whylen);
/* Drops what was staged since the last commit. */
void ledger_replay_abort(void *r);
/* The status map root of the registry with what was staged (struct
 * vcore_ops's map_root): the map takes the staged changes, which a
 * commit keeps and an abort drops.  0 or -1. */
int ledger_replay_map_root(void *r, uint8_t root[32]);
/* Keeps what was staged (the caller persists its state in the same
 * step).  0 or -1. */
int ledger_replay_commit(struct ledger_replay *r);
/* Entries committed so far. */
uint64_t ledger_replay_size(const struct ledger_replay *r);

/* The validator daemon's state beside its registry, so that the two can
 * never disagree after a crash: sets meta key k to v in the transaction
 * of what was staged (opening one if none) and commits both at once.
 * 0, or -1 (nothing staged is kept).  k must not be one of the store's
 * own keys ("schema", "origin", ...): the daemon uses "validator_state". */
int ledger_replay_commit_meta(struct ledger_replay *r, const char *k,
    const char *v);
/* Reads meta key k into v[0..vlen): 0, 1 when absent, -1 on error (or a
 * value that does not fit). */
int ledger_replay_meta_get(struct ledger_replay *r, const char *k, char *v,
    size_t vlen);
/* The same from the registry file db opened read-only (for a status
 * command beside a running daemon).  0, 1 absent, -1 with err. */
int ledger_replay_meta_read(const char *db, const char *k, char *v,
    size_t vlen, char *err, size_t errlen);

#endif
