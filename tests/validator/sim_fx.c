/*
 * sim_fx.c: the deterministic simulation's world (see sim_fx.h and
 * test_sim.c): the stand-in signature, the honest and Byzantine
 * validators, one seed's run and its invariants; the network and the
 * sequencer are in sim_net_fx.c.
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

static uint8_t secrets[NV + 1][32];
struct ledger_cosigner sim_policy[NV];
static EVP_PKEY *policy_keys[NV];
static uint8_t log_kid[LEDGER_COSIGN_KEY_ID_LEN];

/* ---- determinism: splitmix64 -------------------------------------------- */

uint64_t
sim_rnd(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int
sim_pct(struct sim *s, int p)
{
	return (int)(sim_rnd(s) % 100) < p;
}

void
sim_trace(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->trace)
		return;
	va_start(ap, fmt);
	printf("  t=%" PRId64 " ", s->now - T0);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* Records the first broken invariant. */
void
sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return;
	s->failed = 1;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/* ---- the stand-in signature: SHA-256(secret || msg), twice --------------- */

static void
fake_sig(int who, const char *msg, size_t len, uint8_t sig[64])
{
	unsigned char buf[32 + VCORE_NOTE_MAX + 128];
	unsigned int n;

	if (len > sizeof(buf) - 32)
		len = sizeof(buf) - 32;
	memcpy(buf, secrets[who], 32);
	memcpy(buf + 32, msg, len);
	EVP_Digest(buf, 32 + len, sig, &n, EVP_sha256(), NULL);
	EVP_Digest(sig, 32, sig + 32, &n, EVP_sha256(), NULL);
}

int
sim_fake_verify(void *arg, const struct ledger_cosigner *c, const char *msg,
    size_t len, const uint8_t sig[64])
{
	uint8_t want[64];
	ptrdiff_t who = c - sim_policy;

	(void)arg;
	if (who < 0 || who >= NV)
		return -1;
	fake_sig((int)who, msg, len, want);
	return memcmp(want, sig, 64) == 0 ? 0 : -1;
}

/* The sequencer's line on a body. */
void
sim_log_line(const char *body, size_t len, char *line, size_t linelen)
{
	uint8_t sig[64];

	fake_sig(NV, body, len, sig);
	if (ledger_cosign_line_from_sig(LOG_NAME, log_kid, 0, sig, line,
	    linelen) == -1)
		line[0] = '\0';
}

/* ---- an honest validator's callbacks ------------------------------------- */

static int
op_sign(void *arg, const char *msg, size_t len, uint8_t sig[64])
{
	struct node *n = arg;

	fake_sig(n->idx, msg, len, sig);
	return 0;
}

static int
op_log_verify(void *arg, const char *note, size_t len)
{
	char line[LEDGER_COSIGN_LINE_MAX];
	size_t body = ledger_cosign_body_len(note, len);

	(void)arg;
	if (body == 0)
		return -1;
	sim_log_line(note, body, line, sizeof(line));
	return len - body - 1 == strlen(line) &&
	    memcmp(note + body + 1, line, strlen(line)) == 0 ? 0 : -1;
}

static int
op_stage(void *arg, uint64_t index, const char *entry, size_t len, time_t t,
    char *code, size_t codelen, char *why, size_t whylen)
{
	struct node *n = arg;

	if (index != n->nreg + n->nstaged || n->nreg + n->nstaged >=
	    MAX_LEAVES) {
		snprintf(code, codelen, "registry_out_of_step");
		snprintf(why, whylen, "index %" PRIu64 ", registry %zu",
		    index, n->nreg + n->nstaged);
		return -1;
	}
	if (len >= 3 && memcmp(entry, "bad", 3) == 0) {
		snprintf(code, codelen, "sim_rule");
		snprintf(why, whylen, "a bad entry");
		return -1;
	}
	ledger_merkle_leaf_hash(entry, len, n->staged[n->nstaged++]);
	return 0;
}

static void
op_abort(void *arg)
{
	((struct node *)arg)->nstaged = 0;
}

void
sim_map_root(const uint8_t (*a)[LEDGER_HASH_LEN], size_t na,
    const uint8_t (*b)[LEDGER_HASH_LEN], size_t nb,
    uint8_t out[LEDGER_HASH_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, "simmap", 6) != 1 ||
	    (na > 0 && EVP_DigestUpdate(c, a, na * LEDGER_HASH_LEN) != 1) ||
	    (nb > 0 && EVP_DigestUpdate(c, b, nb * LEDGER_HASH_LEN) != 1) ||
	    EVP_DigestFinal_ex(c, out, NULL) != 1)
		abort();
	EVP_MD_CTX_free(c);
}

/* The map root of the registry with what is staged (vcore_ops). */
static int
op_map_root(void *arg, uint8_t root[LEDGER_HASH_LEN])
{
	struct node *n = arg;

	sim_map_root((const uint8_t (*)[LEDGER_HASH_LEN])n->reg, n->nreg,
	    (const uint8_t (*)[LEDGER_HASH_LEN])n->staged, n->nstaged, root);
	return 0;
}

/* ---- the validators ----------------------------------------------------------- */

static void
node_init(struct sim *s, int i)
{
	struct node *n = &s->nodes[i];

	memset(n, 0, sizeof(*n));
	n->idx = i;
	n->up = 1;
	/* every third seed, v2 is a plain tlog-witness (no replay) */
	vcore_state_init(&n->st, i == WITNESS && s->seed % 3 == 0 ?
	    VCORE_WITNESS : VCORE_VALIDATOR, sim_policy[i].name, ORIGIN, 600, 60);
	n->saved = n->st;
	n->ops = (struct vcore_ops){ op_sign, op_log_verify, op_stage,
	    op_abort, n, op_map_root };
}

/* The honest validator: the core, then persist, then answer. */
static void
honest(struct sim *s, struct node *n, struct msg *m)
{
	struct vcore_request req;
	struct vcore_answer ans;

	if (vcore_request_parse(m->text, m->len, &req, NULL, 0) == -1) {
		sim_fail(s, "v%d: the sequencer's request does not parse", n->idx);
		return;
	}
	if (vcore_add(&n->st, &n->ops, sim_policy[n->idx].key_id, &req, s->now,
	    &ans) == -1)
		sim_fail(s, "v%d: vcore_add refused its arguments", n->idx);
	vcore_request_free(&req);
	if (ans.status == 200) {
		/* commit the registry with the state: one "transaction" */
		memcpy(n->reg[n->nreg], n->staged,
		    n->nstaged * LEDGER_HASH_LEN);
		n->nreg += n->nstaged;
		n->nstaged = 0;
		if (n->st.mode == VCORE_VALIDATOR && n->nreg != n->st.size)
			sim_fail(s, "v%d: registry %zu entries, state %" PRIu64,
			    n->idx, n->nreg, n->st.size);
		if (n->has_cosigned[n->st.size] && memcmp(
		    n->cosigned[n->st.size], n->st.root, LEDGER_HASH_LEN) != 0)
			sim_fail(s, "honest v%d cosigned two checkpoints of size %"
			    PRIu64, n->idx, n->st.size);
		memcpy(n->cosigned[n->st.size], n->st.root, LEDGER_HASH_LEN);
		n->has_cosigned[n->st.size] = 1;
		s->cosigned++;
	} else
		s->refused++;
	s->refusals[ans.refusal]++;
	if (ans.state_changed)
		n->saved = n->st;	/* persisted before the answer */
	sim_trace(s, "v%d: %d %s %s", n->idx, ans.status,
	    vcore_refusal_name(ans.refusal), ans.reason);
	sim_enqueue(s, MSG_ANS, n->idx, m->branch, m->cp, ans.status, ans.body,
	    strlen(ans.body), 1);
}

/* The Byzantine validator: cosigns whatever it is sent, and lies. */
static void
byzantine(struct sim *s, struct node *n, struct msg *m)
{
	struct vcore_request req;
	char body[NOTE_LEN], line[LEDGER_COSIGN_LINE_MAX], msgbuf[NOTE_LEN + 64];
	uint8_t sig[64];
	size_t blen, mlen;
	uint64_t ts = (uint64_t)s->now;
	int kind = s->fork ? 0 : (int)(sim_rnd(s) % 6);
	uint8_t kid[LEDGER_COSIGN_KEY_ID_LEN];

	if (vcore_request_parse(m->text, m->len, &req, NULL, 0) == -1)
		return;
	blen = ledger_cosign_body_len(req.note, req.note_len);
	if (blen == 0 || blen >= sizeof(body)) {
		vcore_request_free(&req);
		return;
	}
	memcpy(body, req.note, blen);
	body[blen] = '\0';
	vcore_request_free(&req);
	memcpy(kid, sim_policy[BYZ].key_id, sizeof(kid));
	if (kind == 1)		/* over another root */
		body[strlen(ORIGIN) + 3] ^= 1;
	if (kind == 2)		/* by another key */
		kid[0] ^= 0xff;
	if (ledger_cosign_message(body, blen, ts, msgbuf, sizeof(msgbuf),
	    &mlen) == -1)
		return;
	fake_sig(BYZ, msgbuf, mlen, sig);
	ledger_cosign_line_from_sig(sim_policy[BYZ].name, kid, ts, sig, line,
	    sizeof(line));
	if (kind == 3)		/* malformed */
		snprintf(line, sizeof(line), "\xe2\x80\x94 %s AAAA\n",
		    sim_policy[BYZ].name);
	if (kind == 4 && n->old_line[0] != '\0')	/* an old one */
		snprintf(line, sizeof(line), "%s", n->old_line);
	if (kind == 0 && sim_pct(s, 30))
		snprintf(n->old_line, sizeof(n->old_line), "%s", line);
	sim_trace(s, "v%d (byzantine, kind %d) answers 200", n->idx, kind);
	sim_enqueue(s, MSG_ANS, n->idx, m->branch, m->cp, 200, line, strlen(line),
	    1);
}

static void
crash_or_restart(struct sim *s)
{
	int i = (int)(sim_rnd(s) % (NV - 1));	/* an honest one */
	struct node *n = &s->nodes[i];

	if (n->up) {
		n->up = 0;
		n->down_until = s->now + 2 + (int64_t)(sim_rnd(s) % 12);
		sim_trace(s, "v%d crashes", i);
	} else if (s->now >= n->down_until) {
		n->up = 1;
		n->st = n->saved;	/* restart from what was persisted */
		n->nstaged = 0;
		sim_trace(s, "v%d restarts at size %" PRIu64, i, n->st.size);
	}
}

/* Delivers one message picked at random among the deliverable ones.
 * Returns 0 when none was deliverable. */
static int
deliver_one(struct sim *s, int faults)
{
	struct msg *m;
	size_t i, pick, ready = 0;

	for (i = 0; i < s->nq; i++)
		ready += s->q[i]->at <= s->now;
	if (ready == 0)
		return 0;
	pick = (size_t)(sim_rnd(s) % ready);
	for (i = 0; i < s->nq; i++)
		if (s->q[i]->at <= s->now && pick-- == 0)
			break;
	m = s->q[i];
	s->q[i] = s->q[--s->nq];
	if (faults && sim_pct(s, PCT_DROP)) {
		sim_trace(s, "drop");
		sim_msg_free(m);
		return 1;
	}
	if (faults && sim_pct(s, PCT_DUP))
		sim_enqueue(s, m->kind, m->node, m->branch, m->cp, m->status,
		    m->text, m->len, 1);
	s->delivered++;
	if (m->kind == MSG_ANS)
		sim_seq_answer(s, m);
	else if (m->node == BYZ)
		byzantine(s, &s->nodes[m->node], m);
	else if (s->nodes[m->node].up)
		honest(s, &s->nodes[m->node], m);
	sim_msg_free(m);
	return 1;
}

/* ---- one seed -------------------------------------------------------------- */

/* The branch that carries the largest final checkpoint (0 when none). */
static int
final_branch(struct sim *s, uint64_t *size)
{
	size_t i;
	int b = 0;

	*size = 0;
	for (i = 0; i < s->nfinal; i++) {
		struct cp *cp = &s->br[s->finals[i].branch].cps[s->finals[i].cp];

		if (cp->size >= *size) {
			*size = cp->size;
			b = s->finals[i].branch;
		}
	}
	return b;
}

/* After healing: liveness and every final entry on the honest nodes. */
static void
check_healed(struct sim *s)
{
	struct branch *br;
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t fsize;
	int b, i;

	b = final_branch(s, &fsize);
	br = &s->br[b];
	if (!s->fork && (br->ncp == 0 || !br->cps[br->ncp - 1].final))
		sim_fail(s, "healed, but the newest checkpoint (size %" PRIu64 ") "
		    "is not final", br->ncp ? br->cps[br->ncp - 1].size : 0);
	for (i = 0; i < NV; i++) {
		struct node *n = &s->nodes[i];

		if (i == BYZ)
			continue;
		if (s->fork && (n->st.size > br->n || ledger_merkle_root(
		    br->tree, n->st.size, root) == -1 || memcmp(root,
		    n->st.root, LEDGER_HASH_LEN) != 0))
			continue;	/* it followed the losing branch */
		if (n->st.mode == VCORE_WITNESS) {
			if (n->st.size < fsize)
				sim_fail(s, "healed, but witness v%d is at %"
				    PRIu64 " of the %" PRIu64 " final", i,
				    n->st.size, fsize);
			continue;
		}
		if (n->nreg < fsize) {
			sim_fail(s, "healed, but honest v%d has %zu entries of the "
			    "%" PRIu64 " final ones", i, n->nreg, fsize);
			continue;
		}
		for (size_t k = 0; k < fsize; k++) {
			uint8_t leaf[LEDGER_HASH_LEN];

			ledger_merkle_leaf_hash(br->ent[k], strlen(br->ent[k]),
			    leaf);
			if (memcmp(leaf, n->reg[k], LEDGER_HASH_LEN) != 0) {
				sim_fail(s, "healed, but honest v%d's entry %zu is "
				    "not the final one", i, k);
				break;
			}
		}
	}
}

static void
sim_reset(struct sim *s, uint64_t seed, int tr)
{
	int b, i;

	for (b = 0; b < NBR; b++) {
		ledger_merkle_free(s->br[b].tree);
		s->br[b].tree = ledger_merkle_new();
		s->br[b].n = 0;
		s->br[b].ncp = 0;
		s->br[b].first_bad = -1;
	}
	while (s->nq > 0)
		sim_msg_free(s->q[--s->nq]);
	s->seed = seed;
	s->rng = seed * 0x2545f4914f6cdd1dULL + 1;
	s->trace = tr;
	s->failed = 0;
	s->why[0] = '\0';
	s->now = T0;
	s->fork = seed % 2 == 0;
	s->faults = 1;
	s->nbr = 1;
	s->fork_at = 1 + (int64_t)(sim_rnd(s) % 8);
	s->nfinal = 0;
	memset(s->known, 0, sizeof(s->known));
	memset(s->bad_time, 0, sizeof(s->bad_time));
	for (i = 0; i < NV; i++) {
		node_init(s, i);
		s->route[i] = (int)(sim_rnd(s) % NBR);
	}
}

/* Runs one seed; 0 when every invariant held. */
int
sim_run(struct sim *s, uint64_t seed, int tr)
{
	uint64_t fsize;
	int step, round, i, b, r;

	sim_reset(s, seed, tr);
	for (step = 0; step < STEPS && !s->failed; step++) {
		s->now++;
		s->steps++;
		r = (int)(sim_rnd(s) % 100);
		if (r < PCT_BLOCK)
			sim_make_block(s, 1);
		else if (r < PCT_BLOCK + PCT_CRASH)
			crash_or_restart(s);
		else
			for (i = 0; i < 3; i++)
				deliver_one(s, 1);
	}
	/* heal: everyone up, no faults, one more block, re-send until quiet */
	for (i = 0; i < NV; i++)
		if (!s->nodes[i].up) {
			s->nodes[i].up = 1;
			s->nodes[i].st = s->nodes[i].saved;
			s->nodes[i].nstaged = 0;
		}
	b = final_branch(s, &fsize);
	for (i = 0; i < NV; i++)
		s->route[i] = b;
	s->now += MAX_DELAY;
	s->faults = 0;
	if (!s->failed)
		sim_make_block(s, 0);
	for (round = 0; round < HEAL_ROUNDS && !s->failed; round++) {
		uint64_t known[NV][NBR], moved = s->moved;
		size_t nfinal = s->nfinal;

		memcpy(known, s->known, sizeof(known));
		s->now++;
		while (s->nq > 0 && !s->failed && deliver_one(s, 0))
			;
		/* quiet, and nothing moved in a whole round: healed */
		if (round > 1 && nfinal == s->nfinal && moved == s->moved &&
		    memcmp(known, s->known, sizeof(known)) == 0)
			break;
		/* a final checkpoint may have come in flight: follow it */
		b = final_branch(s, &fsize);
		for (i = 0; i < NV - 1; i++)
			sim_send_next(s, i, b);
	}
	if (!s->failed)
		check_healed(s);
	if (s->failed) {
		printf("SIM FAIL seed %" PRIu64 " (%s): %s\n"
		    "  replay: KB_SIM_SEED=%" PRIu64 " %s\n", seed,
		    s->fork ? "forking sequencer + colluding v3" :
		    "Byzantine v3", s->why, seed,
		    "build/tests/validator/test_sim");
		return -1;
	}
	return 0;
}

void
sim_setup_policy(void)
{
	uint8_t seed[32], raw[32];
	size_t i, k, len = sizeof(raw);
	char name[32];
	EVP_PKEY *lk;

	for (i = 0; i <= NV; i++) {
		unsigned int n;
		char tag[16];

		snprintf(tag, sizeof(tag), "sim-secret-%zu", i);
		EVP_Digest(tag, strlen(tag), secrets[i], &n, EVP_sha256(), NULL);
	}
	for (i = 0; i <= NV; i++) {
		for (k = 0; k < sizeof(seed); k++)
			seed[k] = (uint8_t)(i * 32 + k);
		lk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
		    sizeof(seed));
		assert_non_null(lk);
		if (i == NV) {
			assert_int_equal(EVP_PKEY_get_raw_public_key(lk, raw,
			    &len), 1);
			assert_int_equal(ledger_note_hash_alg(LOG_NAME,
			    LEDGER_COSIGN_ALG, raw, len, log_kid), 0);
			EVP_PKEY_free(lk);
			break;
		}
		snprintf(name, sizeof(name), "v%zu.sim.test", i);
		assert_int_equal(ledger_cosigner_from_key(name, lk,
		    &sim_policy[i]), 0);
		policy_keys[i] = lk;
	}
}

void
sim_teardown_policy(void)
{
	int i;

	for (i = 0; i < NV; i++) {
		ledger_cosigner_clear(&sim_policy[i]);
		EVP_PKEY_free(policy_keys[i]);
	}
}

void
sim_release(struct sim *s)
{
	int i;

	while (s->nq > 0)
		sim_msg_free(s->q[--s->nq]);
	for (i = 0; i < NBR; i++) {
		ledger_merkle_free(s->br[i].tree);
		s->br[i].tree = NULL;
	}
}
