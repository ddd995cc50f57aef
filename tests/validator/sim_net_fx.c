/*
 * sim_net_fx.c: the simulation's network (messages in flight, routed by
 * the seed, lost, duplicated or delayed) and its sequencer (blocks on
 * two branches, their checkpoints, what became final): the half of the
 * world in sim_fx.c that stands for the bridge and the wire.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "tests/validator/sim_int.h"

/* ---- the network ---------------------------------------------------------- */

void
sim_msg_free(struct msg *m)
{
	if (m != NULL)
		free(m->text);
	free(m);
}

void
sim_enqueue(struct sim *s, enum msg_kind kind, int node, int branch, size_t cp,
    int status, const char *text, size_t len, int faults)
{
	struct msg *m;

	if (s->nq == MAX_MSGS)
		return;		/* a full network drops */
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->text = malloc(len + 1)) == NULL) {
		sim_msg_free(m);
		sim_fail(s, "out of memory");
		return;
	}
	m->kind = kind;
	m->node = node;
	m->branch = branch;
	m->cp = cp;
	m->status = status;
	memcpy(m->text, text, len);
	m->text[len] = '\0';
	m->len = len;
	m->at = s->now + (faults && s->faults ?
	    (int64_t)(sim_rnd(s) % MAX_DELAY) : 0);
	s->q[s->nq++] = m;
}

/* The request for branch b's checkpoint c to node i, from the size the
 * sequencer believes i has. */
static void
send_cp(struct sim *s, int i, int b, size_t c, int faults)
{
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	struct vcore_entry ents[MAX_LEAVES];
	struct branch *br = &s->br[b];
	struct cp *cp;
	static char text[MAX_LEAVES * (ENTRY_LEN + 12) + 4096];
	char swapped[48];
	uint64_t old, k;
	size_t np = 0, ne = 0;
	int n;

	cp = &br->cps[c];
	old = s->known[i][b];
	if (old > cp->size)
		old = 0;	/* our view is from the other branch */
	if (old > 0 && old < cp->size &&
	    ledger_merkle_consistency(br->tree, old, cp->size, proof,
	    &np) == -1) {
		sim_fail(s, "sequencer: no consistency proof %" PRIu64 "..%" PRIu64,
		    old, cp->size);
		return;
	}
	for (k = old; k < cp->size; k++, ne++) {
		ents[ne].text = br->ent[k];
		ents[ne].len = strlen(br->ent[k]);
	}
	/* the forking sequencer also sends entries that are not the
	 * checkpoint's (its root does not match them) */
	if (s->fork && faults && ne > 0 && sim_pct(s, PCT_SWAP)) {
		snprintf(swapped, sizeof(swapped), "swapped.%" PRIu64 "\n",
		    old);
		ents[0].text = swapped;
		ents[0].len = strlen(swapped);
	}
	n = vcore_request_format(old, (const uint8_t (*)[LEDGER_HASH_LEN])proof,
	    np, ents, ne, cp->note, text, sizeof(text));
	if (n < 0) {
		sim_fail(s, "sequencer: cannot format a request");
		return;
	}
	sim_trace(s, "seq -> v%d: branch %d size %" PRIu64 " old %" PRIu64, i, b,
	    cp->size, old);
	sim_enqueue(s, MSG_REQ, i, b, c, 0, text, (size_t)n, faults);
}

static void
send_latest(struct sim *s, int i, int b, int faults)
{
	if (s->br[b].ncp > 0)
		send_cp(s, i, b, s->br[b].ncp - 1, faults);
}

/* Catch-up, block by block: the first checkpoint past what i has. */
void
sim_send_next(struct sim *s, int i, int b)
{
	size_t c;

	for (c = 0; c < s->br[b].ncp; c++)
		if (s->br[b].cps[c].size > s->known[i][b] &&
		    !s->bad_time[i][b][c]) {
			send_cp(s, i, b, c, 0);
			return;
		}
}

/* Honest node i's branch (fork seeds), or 0. */
int
sim_route(struct sim *s, int i, int faults)
{
	int b;

	if (!s->fork || s->nbr == 1)
		return 0;
	b = s->route[i];
	if (faults && sim_pct(s, PCT_CROSS))
		b = 1 - b;
	return b;
}

static void
broadcast(struct sim *s, int faults)
{
	int i;

	for (i = 0; i < NV; i++) {
		if (s->fork && i == BYZ && s->nbr == NBR) {
			send_latest(s, i, 0, faults);
			send_latest(s, i, 1, faults);
		} else
			send_latest(s, i, sim_route(s, i, faults), faults);
	}
}

/* ---- the sequencer ---------------------------------------------------------- */

static void
append(struct sim *s, struct branch *br, const char *text)
{
	uint8_t leaf[LEDGER_HASH_LEN];

	if (br->n == MAX_LEAVES)
		return;
	snprintf(br->ent[br->n], ENTRY_LEN, "%s", text);
	if (br->first_bad < 0 && strncmp(text, "bad", 3) == 0)
		br->first_bad = (int64_t)br->n;
	ledger_merkle_leaf_hash(text, strlen(text), leaf);
	if (ledger_merkle_append(br->tree, leaf) == -1)
		sim_fail(s, "out of memory");
	br->n++;
}

/* Seals branch b at s->now: a checkpoint and its gatherer. */
static void
seal(struct sim *s, int b)
{
	struct branch *br = &s->br[b];
	struct cp *cp;
	char body[NOTE_LEN], line[LEDGER_COSIGN_LINE_MAX];
	uint8_t (*leaves)[LEDGER_HASH_LEN], map[LEDGER_HASH_LEN];
	int64_t t;

	if (br->ncp == MAX_CPS)
		return;
	cp = &br->cps[br->ncp];
	cp->size = br->n;
	cp->final = 0;
	/* the forking sequencer now and then dates a checkpoint far ahead */
	t = s->now + (s->fork && s->faults && sim_pct(s, PCT_FUTURE) ? 1000 : 0);
	/* the status map of its entries; the forking sequencer now and
	 * then writes another (one that hides a revocation) */
	if ((leaves = calloc(br->n + 1, LEDGER_HASH_LEN)) == NULL)
		sim_fail(s, "out of memory");
	for (size_t i = 0; leaves != NULL && i < br->n; i++)
		ledger_merkle_leaf(br->tree, i, leaves[i]);
	sim_map_root((const uint8_t (*)[LEDGER_HASH_LEN])leaves, br->n, NULL,
	    0, map);
	free(leaves);
	cp->map_lie = s->fork && s->faults && sim_pct(s, PCT_MAPLIE);
	map[0] ^= (uint8_t)cp->map_lie;
	if (ledger_merkle_root(br->tree, br->n, cp->root) == -1 ||
	    ledger_checkpoint_body_map(ORIGIN, br->n, cp->root, t, map, body,
	    sizeof(body)) == -1) {
		sim_fail(s, "sequencer: cannot seal");
		return;
	}
	sim_log_line(body, strlen(body), line, sizeof(line));
	snprintf(cp->note, sizeof(cp->note), "%s\n%s", body, line);
	if (vgather_init(&cp->g, cp->note, strlen(cp->note), sim_policy, NV,
	    QUORUM) == -1) {
		sim_fail(s, "sequencer: vgather_init");
		return;
	}
	cp->g.verify = sim_fake_verify;
	br->ncp++;
}

/* A new block of 1..3 entries on every branch, sealed and sent. */
void
sim_make_block(struct sim *s, int faults)
{
	char text[ENTRY_LEN];
	int b, k, nk = 1 + (int)(sim_rnd(s) % 3);

	if (s->fork && s->nbr == 1 && (int64_t)s->br[0].n >= s->fork_at) {
		/* the fork: branch 1 starts as a copy of branch 0 */
		s->nbr = NBR;
		memcpy(s->br[1].ent, s->br[0].ent, sizeof(s->br[0].ent));
		for (k = 0; k < (int)s->br[0].n; k++) {
			uint8_t leaf[LEDGER_HASH_LEN];

			ledger_merkle_leaf_hash(s->br[0].ent[k],
			    strlen(s->br[0].ent[k]), leaf);
			ledger_merkle_append(s->br[1].tree, leaf);
		}
		s->br[1].n = s->br[0].n;
		s->br[1].first_bad = s->br[0].first_bad;
		sim_trace(s, "seq forks at %zu", s->br[0].n);
	}
	for (b = 0; b < s->nbr; b++) {
		for (k = 0; k < nk; k++) {
			if (s->fork && faults && sim_pct(s, PCT_BAD))
				snprintf(text, sizeof(text), "bad%d.%zu\n", b,
				    s->br[b].n);
			else if (s->nbr == NBR)
				snprintf(text, sizeof(text), "e%d.%zu\n", b,
				    s->br[b].n);
			else
				snprintf(text, sizeof(text), "e.%zu\n",
				    s->br[b].n);
			append(s, &s->br[b], text);
		}
		seal(s, b);
	}
	sim_trace(s, "seq seals size %zu", s->br[0].n);
	broadcast(s, faults);
}

/* 1 when final checkpoints a and b cannot both be true. */
static int
conflicting(struct sim *s, int ba, const struct cp *a, int bb,
    const struct cp *b)
{
	uint8_t root[LEDGER_HASH_LEN];

	if (a->size > b->size)
		return conflicting(s, bb, b, ba, a);
	/* a (the smaller) must be a prefix of b's branch */
	if (ledger_merkle_root(s->br[bb].tree, a->size, root) == -1)
		return 1;
	return memcmp(root, a->root, LEDGER_HASH_LEN) != 0;
}

static void
became_final(struct sim *s, int b, size_t c)
{
	struct cp *cp = &s->br[b].cps[c];
	size_t i;

	cp->final = 1;
	sim_trace(s, "FINAL branch %d size %" PRIu64, b, cp->size);
	if (cp->map_lie)
		sim_fail(s, "final checkpoint of size %" PRIu64 " (branch %d) "
		    "with a status map root that is not its entries'",
		    cp->size, b);
	if (s->br[b].first_bad >= 0 && (uint64_t)s->br[b].first_bad <
	    cp->size)
		sim_fail(s, "final checkpoint of size %" PRIu64 " (branch %d) "
		    "covers rule-breaking entry %" PRId64, cp->size, b,
		    s->br[b].first_bad);
	for (i = 0; i < s->nfinal; i++) {
		int ob = s->finals[i].branch;
		struct cp *o = &s->br[ob].cps[s->finals[i].cp];

		if (conflicting(s, ob, o, b, cp))
			sim_fail(s, "two conflicting final checkpoints: size %"
			    PRIu64 " (branch %d) and size %" PRIu64
			    " (branch %d)", o->size, ob, cp->size, b);
	}
	if (s->nfinal < sizeof(s->finals) / sizeof(s->finals[0])) {
		s->finals[s->nfinal].branch = b;
		s->finals[s->nfinal].cp = c;
		s->nfinal++;
	}
}

void
sim_seq_answer(struct sim *s, struct msg *m)
{
	struct cp *cp = &s->br[m->branch].cps[m->cp];
	enum vgather_verdict v;
	uint64_t size;
	char *end;

	uint64_t before[LEDGER_COSIGN_VERDICTS];
	int k;

	memcpy(before, cp->g.counts.discarded, sizeof(before));
	v = vgather_answer(&cp->g, (size_t)m->node, m->status, m->text,
	    m->len, NULL, 0);
	for (k = 0; k < LEDGER_COSIGN_VERDICTS; k++)
		s->discarded[k] += cp->g.counts.discarded[k] - before[k];
	sim_trace(s, "seq <- v%d: %d for branch %d size %" PRIu64 ": %s",
	    m->node, m->status, m->branch, cp->size,
	    v == VGATHER_ACCEPTED ? "accepted" : v == VGATHER_REFUSED ?
	    "refused" : "discarded");
	if (v == VGATHER_ACCEPTED) {
		if (s->known[m->node][m->branch] < cp->size)
			s->known[m->node][m->branch] = cp->size;
		if (!cp->final && vgather_final(&cp->g))
			became_final(s, m->branch, m->cp);
	} else if (m->status == 422 &&
	    (strncmp(m->text, "time-out-of-bounds", 18) == 0 ||
	    strncmp(m->text, "map-mismatch", 12) == 0)) {
		/* a checkpoint dated out of bounds, or with a lying map
		 * line, stays so: catch up past it (a later checkpoint
		 * carries its entries) */
		if (!s->bad_time[m->node][m->branch][m->cp])
			s->moved++;
		s->bad_time[m->node][m->branch][m->cp] = 1;
	} else if (m->status == 409 && m->len > 0 &&
	    m->text[0] >= '0' && m->text[0] <= '9') {
		size = strtoull(m->text, &end, 10);
		if (*end == '\n' && size != s->known[m->node][m->branch]) {
			s->known[m->node][m->branch] = size;
			send_latest(s, m->node, m->branch, 1);
		}
	}
}
