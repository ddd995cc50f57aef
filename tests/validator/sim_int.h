/*
 * sim_int.h: shared by the two halves of the simulation's world only
 * (sim_fx.c: the stand-in signature, the validators, one seed's run;
 * sim_net_fx.c: the network and the sequencer).  Never included by a
 * test: test_sim.c uses sim_fx.h.
 */
#ifndef KEYBRIDGE_TESTS_VALIDATOR_SIM_INT_H
#define KEYBRIDGE_TESTS_VALIDATOR_SIM_INT_H

#include "tests/validator/sim_fx.h"

/* ---- sim_fx.c ---------------------------------------------------------------- */

/* The cosigners' policy (sim_setup_policy). */
extern struct ledger_cosigner sim_policy[NV];
/* The seed's next pseudo-random number (splitmix64), and 1 with
 * probability p percent. */
uint64_t sim_rnd(struct sim *s);
int sim_pct(struct sim *s, int p);
/* One line of the seed's trace (when it traces). */
void sim_trace(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An invariant broke: says which, with the seed, and fails the test. */
void sim_fail(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The stand-in signature's check (vgather's verify). */
int sim_fake_verify(void *arg, const struct ledger_cosigner *c,
    const char *msg, size_t len, const uint8_t sig[64]);
/* The simulation's status map root (docs/design.md "The status map",
 * standing in: a hash of every leaf, in order) of leaves a[0..na) then
 * b[0..nb). */
void sim_map_root(const uint8_t (*a)[LEDGER_HASH_LEN], size_t na,
    const uint8_t (*b)[LEDGER_HASH_LEN], size_t nb,
    uint8_t out[LEDGER_HASH_LEN]);
/* The log's own signature line over body. */
void sim_log_line(const char *body, size_t len, char *line, size_t linelen);

/* ---- sim_net_fx.c -------------------------------------------------------------- */

void sim_msg_free(struct msg *m);
/* Queues a message of kind to node about branch's checkpoint cp (the
 * sequencer's answer: status, text[0..len)), lost, duplicated or
 * delayed as faults and the seed say. */
void sim_enqueue(struct sim *s, enum msg_kind kind, int node, int branch,
    size_t cp, int status, const char *text, size_t len, int faults);
/* Catch-up, block by block: the first checkpoint past what i has. */
void sim_send_next(struct sim *s, int i, int b);
/* Honest node i's branch (fork seeds; crossed under faults), or 0. */
int sim_route(struct sim *s, int i, int faults);
/* A new block of 1..3 entries on every branch, sealed and sent. */
void sim_make_block(struct sim *s, int faults);
/* The sequencer's handling of a validator's answer m. */
void sim_seq_answer(struct sim *s, struct msg *m);

#endif
