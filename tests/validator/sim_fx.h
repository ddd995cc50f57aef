/*
 * sim_fx.h: the deterministic simulation's world (tests/validator/
 * test_sim.c says what it does): one sequencer, four validators over the
 * I/O-free core, the network between them, and the invariants checked
 * after every step.  sim_fx.c holds the code.
 */
#ifndef KEYBRIDGE_TESTS_VALIDATOR_SIM_FX_H
#define KEYBRIDGE_TESTS_VALIDATOR_SIM_FX_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/cosign.h"
#include "ledger/ledger_int.h"
#include "validator/core.h"

#define NV		4		/* validators: n = 3f + 1, f = 1 */
#define QUORUM		3		/* 2f + 1 */
#define BYZ		3		/* the Byzantine validator */
#define WITNESS		2		/* a witness on some seeds */
#define NBR		2		/* branches of a forking sequencer */
#define MAX_LEAVES	160
#define MAX_CPS		48
#define ENTRY_LEN	24
#define NOTE_LEN	512
#define STEPS		70		/* fault phase */
#define HEAL_ROUNDS	40
#define MAX_MSGS	4096
#define SEEDS_DEFAULT	10000
#define T0		1900000000
#define ORIGIN		"sim.test/log"
#define LOG_NAME	"sim.test/sequencer"
#define PCT_BLOCK	16
#define PCT_CRASH	5
#define PCT_DROP	10
#define PCT_DUP		10
#define PCT_CROSS	25		/* fork: a request from the other branch */
#define PCT_BAD		8		/* fork: a rule-breaking entry */
#define PCT_SWAP	5		/* fork: entries not the checkpoint's */
#define PCT_FUTURE	3		/* fork: a checkpoint dated far ahead */
#define PCT_MAPLIE	4		/* fork: a status map root not its
					 * entries' */
#define MAX_DELAY	6

enum msg_kind { MSG_REQ, MSG_ANS };

struct msg {
	enum msg_kind kind;
	int node, branch;
	size_t cp;			/* checkpoint index in its branch */
	int status;
	char *text;			/* request, or answer body */
	size_t len;
	int64_t at;			/* deliverable from this time */
};

struct cp {
	uint64_t size;
	uint8_t root[LEDGER_HASH_LEN];
	char note[NOTE_LEN];
	struct vgather g;
	int final;
	int map_lie;			/* its map line is not its entries' */
};

struct branch {
	char ent[MAX_LEAVES][ENTRY_LEN];
	size_t n;
	int64_t first_bad;		/* index of a rule-breaking entry, -1 */
	struct ledger_merkle *tree;
	struct cp cps[MAX_CPS];
	size_t ncp;
};

struct node {
	struct vcore_state st, saved;	/* running, persisted */
	struct vcore_ops ops;
	int up;
	int64_t down_until;
	uint8_t reg[MAX_LEAVES][LEDGER_HASH_LEN];	/* committed registry */
	size_t nreg, nstaged;
	uint8_t staged[MAX_LEAVES][LEDGER_HASH_LEN];
	uint8_t cosigned[MAX_LEAVES + 1][LEDGER_HASH_LEN];
	uint8_t has_cosigned[MAX_LEAVES + 1];
	char old_line[LEDGER_COSIGN_LINE_MAX];	/* Byzantine: to replay */
	int idx;
};

struct sim {
	uint64_t seed, rng;
	int fork, trace, failed, faults;
	int64_t now, fork_at;
	struct branch br[NBR];
	int nbr;
	struct node nodes[NV];
	int route[NV];			/* fork: each honest node's branch */
	uint64_t known[NV][NBR];	/* sequencer's view of their sizes */
	/* catch-up skips the checkpoints a node refused for their time */
	uint8_t bad_time[NV][NBR][MAX_CPS];
	uint64_t moved;			/* new marks in bad_time */
	struct msg *q[MAX_MSGS];
	size_t nq;
	struct { int branch; size_t cp; } finals[NBR * MAX_CPS];
	size_t nfinal;
	char why[512];
	uint64_t steps, delivered, cosigned, refused;
	uint64_t refusals[VCORE_REFUSALS];
	uint64_t discarded[LEDGER_COSIGN_VERDICTS];
};

/* Shared by every seed: secrets of the stand-in signature, the policy. */

/* The stand-in signature's secrets and the policy, for every seed. */
void sim_setup_policy(void);
void sim_teardown_policy(void);
/* Runs one seed (trace: print its events); 0 when every invariant held,
 * -1 after printing the seed, what broke and how to replay it. */
int sim_run(struct sim *s, uint64_t seed, int trace);
/* Frees what the last run left (messages in flight, the trees). */
void sim_release(struct sim *s);

#endif
