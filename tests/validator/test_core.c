/*
 * test_core.c: validator/core.c and gather.c with real Ed25519 keys: a
 * log of test entries (in-memory Merkle tree), one validator or witness
 * state, and each refusal the issue names (inconsistent, root mismatch,
 * rule broken at entry N, time out of bounds, rollback, equivocation with
 * both checkpoints kept); then the bridge's gatherer with a Byzantine
 * validator's answers, and its final note checked by the independent
 * Python checker (tests/validator/verify_cosig.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "ledger/cosign.h"
#include "ledger/ledger_int.h"
#include "validator/core.h"

#define ORIGIN		"keybridge.test/ledger"
#define LOG_NAME	"keybridge.test/log"
#define T0		1800000000
#define NVAL		4
#define MAX_ENTRIES	64
#define REQ_MAX		16384
#define FUZZ_ROUNDS	20000

/* The test's log: entries, tree, log key. */
struct tlog {
	char entries[MAX_ENTRIES][32];
	size_t n;
	struct ledger_merkle *tree;
	EVP_PKEY *key;
	char vkey[256];
};

/* A validator's caller: its key, its staged and committed registry. */
struct tval {
	EVP_PKEY *key;
	uint8_t key_id[LEDGER_COSIGN_KEY_ID_LEN];
	struct ledger_cosigner pub;
	struct vcore_state st;
	struct vcore_ops ops;
	const char *log_vkey;
	size_t committed, staged;	/* entries in the registry */
	int aborts;
};

static EVP_PKEY *
seed_key(uint8_t first)
{
	uint8_t seed[32];
	size_t i;

	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(first + 3 * i);
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed));
}

static int
op_sign(void *arg, const char *msg, size_t len, uint8_t sig[64])
{
	struct tval *v = arg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 64;
	int ok;

	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL,
	    v->key) == 1 && EVP_DigestSign(ctx, sig, &siglen,
	    (const unsigned char *)msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int
op_log_verify(void *arg, const char *note, size_t len)
{
	struct tval *v = arg;

	return ledger_note_verify_vkey(note, len, v->log_vkey);
}

/* The rule of the test: an entry starting "bad" is refused. */
static int
op_stage(void *arg, uint64_t index, const char *entry, size_t len, time_t t,
    char *code, size_t codelen, char *why, size_t whylen)
{
	struct tval *v = arg;

	if (index != v->committed + v->staged)
		return -1;
	if (len >= 3 && memcmp(entry, "bad", 3) == 0) {
		snprintf(code, codelen, "key_revoked");
		snprintf(why, whylen, "the key is revoked");
		return -1;
	}
	v->staged++;
	return 0;
}

static void
op_abort(void *arg)
{
	struct tval *v = arg;

	v->staged = 0;
	v->aborts++;
}

static void
tval_init(struct tval *v, int i, enum vcore_mode mode, const char *log_vkey)
{
	char name[32];

	memset(v, 0, sizeof(*v));
	snprintf(name, sizeof(name), "v%d.test", i);
	assert_non_null(v->key = seed_key((uint8_t)(40 + i)));
	assert_int_equal(ledger_cosigner_from_key(name, v->key, &v->pub), 0);
	memcpy(v->key_id, v->pub.key_id, sizeof(v->key_id));
	assert_int_equal(vcore_state_init(&v->st, mode, name, ORIGIN, 600, 60),
	    0);
	v->log_vkey = log_vkey;
	v->ops = (struct vcore_ops){ op_sign, op_log_verify, op_stage,
	    op_abort, v, NULL };
}

static void
tval_free(struct tval *v)
{
	ledger_cosigner_clear(&v->pub);
	EVP_PKEY_free(v->key);
}

static void
tlog_init(struct tlog *l)
{
	memset(l, 0, sizeof(*l));
	assert_non_null(l->tree = ledger_merkle_new());
	assert_non_null(l->key = seed_key(7));
	assert_int_equal(ledger_note_vkey_format(l->key, LOG_NAME, l->vkey,
	    sizeof(l->vkey)), 0);
}

static void
tlog_free(struct tlog *l)
{
	ledger_merkle_free(l->tree);
	EVP_PKEY_free(l->key);
}

static void
tlog_append(struct tlog *l, const char *text)
{
	uint8_t leaf[LEDGER_HASH_LEN];

	assert_true(l->n < MAX_ENTRIES);
	snprintf(l->entries[l->n], sizeof(l->entries[0]), "%s", text);
	ledger_merkle_leaf_hash(text, strlen(text), leaf);
	assert_int_equal(ledger_merkle_append(l->tree, leaf), 0);
	l->n++;
}

/* The checkpoint note of size `size` at time t, signed by key. */
static void
checkpoint(struct tlog *l, uint64_t size, time_t t, EVP_PKEY *key,
    char *note, size_t notelen)
{
	uint8_t root[LEDGER_HASH_LEN];
	char body[512], line[512];

	assert_int_equal(ledger_merkle_root(l->tree, size, root), 0);
	assert_int_equal(ledger_checkpoint_body(ORIGIN, size, root, t, body,
	    sizeof(body)), 0);
	assert_int_equal(ledger_note_sign_line(body, strlen(body), LOG_NAME,
	    key, line, sizeof(line)), 0);
	snprintf(note, notelen, "%s\n%s", body, line);
}

/* Sends the block old..size (entries when with_entries) to v at now. */
static void
send(struct tlog *l, struct tval *v, uint64_t old, uint64_t size,
    const char *note, int with_entries, time_t now, struct vcore_answer *ans)
{
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	struct vcore_entry ents[MAX_ENTRIES];
	struct vcore_request req;
	char text[REQ_MAX], why[128];
	size_t np = 0, i, ne = 0;
	int n;

	if (old > 0 && old < size)
		assert_int_equal(ledger_merkle_consistency(l->tree, old, size,
		    proof, &np), 0);
	for (i = old; with_entries && i < size; i++, ne++) {
		ents[ne].text = l->entries[i];
		ents[ne].len = strlen(l->entries[i]);
	}
	n = vcore_request_format(old, (const uint8_t (*)[32])proof, np, ents,
	    ne, note, text, sizeof(text));
	assert_true(n > 0);
	assert_int_equal(vcore_request_parse(text, (size_t)n, &req, why,
	    sizeof(why)), 0);
	assert_int_equal(req.nentries, ne);
	assert_int_equal(vcore_add(&v->st, &v->ops, v->key_id, &req, now, ans),
	    0);
	vcore_request_free(&req);
	if (ans->status == 200) {	/* the caller commits what it staged */
		v->committed += v->staged;
		v->staged = 0;
	}
}

static void
fill(struct tlog *l, size_t n)
{
	char text[32];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "entry %zu\n", l->n);
		tlog_append(l, text);
	}
}

static void
test_validator_cosigns_a_block_it_replayed_and_the_line_verifies(void **s)
{
	struct vcore_answer ans;
	struct tlog l;
	struct tval v;
	char note[1024], full[2048];
	size_t nvalid;

	(void)s;
	tlog_init(&l);
	tval_init(&v, 0, VCORE_VALIDATOR, l.vkey);
	fill(&l, 5);
	checkpoint(&l, 5, T0, l.key, note, sizeof(note));
	send(&l, &v, 0, 5, note, 1, T0 + 1, &ans);
	assert_int_equal(ans.status, 200);
	assert_true(ans.state_changed);
	assert_int_equal(v.st.size, 5);
	assert_int_equal(v.committed, 5);
	snprintf(full, sizeof(full), "%s%s", note, ans.body);
	assert_int_equal(ledger_cosign_quorum(full, strlen(full), &v.pub, 1, 1,
	    NULL, 0, NULL, &nvalid), 0);
	/* the next block from 5 to 9, with a consistency proof */
	fill(&l, 4);
	checkpoint(&l, 9, T0 + 2, l.key, note, sizeof(note));
	send(&l, &v, 5, 9, note, 1, T0 + 3, &ans);
	assert_int_equal(ans.status, 200);
	assert_int_equal(v.st.size, 9);
	assert_int_equal(v.committed, 9);
	/* the same checkpoint again (an answer lost): cosigned again */
	send(&l, &v, 9, 9, note, 0, T0 + 4, &ans);
	assert_int_equal(ans.status, 200);
	tval_free(&v);
	tlog_free(&l);
}

static void
test_witness_answers_409_with_its_size_when_old_is_not_its_size(void **s)
{
	struct vcore_answer ans;
	struct tlog l;
	struct tval w;
	char note[1024];

	(void)s;
	tlog_init(&l);
	tval_init(&w, 1, VCORE_WITNESS, l.vkey);
	fill(&l, 6);
	checkpoint(&l, 3, T0, l.key, note, sizeof(note));
	send(&l, &w, 0, 3, note, 0, T0, &ans);
	assert_int_equal(ans.status, 200);	/* a witness needs no entries */
	checkpoint(&l, 6, T0 + 1, l.key, note, sizeof(note));
	send(&l, &w, 2, 6, note, 0, T0 + 1, &ans);
	assert_int_equal(ans.status, 409);
	assert_int_equal(ans.refusal, VCORE_SIZE_MISMATCH);
	assert_string_equal(ans.body, "3\n");
	send(&l, &w, 3, 6, note, 0, T0 + 1, &ans);
	assert_int_equal(ans.status, 200);
	assert_int_equal(w.st.size, 6);
	tval_free(&w);
	tlog_free(&l);
}

static void
test_refuses_an_inconsistent_proof_and_a_rollback(void **s)
{
	struct vcore_answer ans;
	struct vcore_request req;
	struct tlog l, other;
	struct tval w;
	char note[1024], text[REQ_MAX];
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	size_t np;
	int n;

	(void)s;
	tlog_init(&l);
	tlog_init(&other);
	tval_init(&w, 1, VCORE_WITNESS, l.vkey);
	fill(&l, 4);
	checkpoint(&l, 4, T0, l.key, note, sizeof(note));
	send(&l, &w, 0, 4, note, 0, T0, &ans);
	assert_int_equal(ans.status, 200);
	/* a log that forked at entry 2: its size-8 checkpoint, with a proof
	 * from its own 4 (which is not ours) */
	tlog_append(&other, "entry 0\n");
	tlog_append(&other, "entry 1\n");
	tlog_append(&other, "forked 2\n");
	fill(&other, 5);
	checkpoint(&other, 8, T0 + 1, other.key, note, sizeof(note));
	assert_int_equal(ledger_merkle_consistency(other.tree, 4, 8, proof,
	    &np), 0);
	n = vcore_request_format(4, (const uint8_t (*)[32])proof, np, NULL, 0,
	    note, text, sizeof(text));
	assert_int_equal(vcore_request_parse(text, (size_t)n, &req, NULL, 0), 0);
	assert_int_equal(vcore_add(&w.st, &w.ops, w.key_id, &req, T0 + 1,
	    &ans), 0);
	assert_int_equal(ans.status, 422);
	assert_int_equal(ans.refusal, VCORE_INCONSISTENT);
	assert_int_equal(w.st.size, 4);
	/* a rollback to size 2 */
	checkpoint(&l, 2, T0 + 2, l.key, note, sizeof(note));
	send(&l, &w, 4, 2, note, 0, T0 + 2, &ans);
	assert_int_equal(ans.refusal, VCORE_MALFORMED);
	assert_int_equal(ans.status, 400);
	send(&l, &w, 0, 2, note, 0, T0 + 2, &ans);
	assert_int_equal(ans.refusal, VCORE_NOT_EXTENDING);
	assert_int_equal(ans.status, 409);
	assert_string_equal(ans.body, "4\n");
	assert_non_null(strstr(w.st.last_refusal, "not-extending"));
	tval_free(&w);
	tlog_free(&l);
	tlog_free(&other);
}

static void
test_refuses_entries_whose_root_is_not_the_checkpoints(void **s)
{
	struct vcore_answer ans;
	struct tlog l;
	struct tval v;
	char note[1024];

	(void)s;
	tlog_init(&l);
	tval_init(&v, 0, VCORE_VALIDATOR, l.vkey);
	fill(&l, 3);
	checkpoint(&l, 3, T0, l.key, note, sizeof(note));
	snprintf(l.entries[1], sizeof(l.entries[1]), "entry X\n");
	send(&l, &v, 0, 3, note, 1, T0, &ans);
	assert_int_equal(ans.status, 422);
	assert_int_equal(ans.refusal, VCORE_ROOT_MISMATCH);
	assert_int_equal(v.st.size, 0);
	assert_int_equal(v.committed, 0);
	/* and without the entries at all */
	send(&l, &v, 0, 3, note, 0, T0, &ans);
	assert_int_equal(ans.refusal, VCORE_NEEDS_ENTRIES);
	tval_free(&v);
	tlog_free(&l);
}

static void
test_refuses_an_entry_that_breaks_a_rule_naming_its_index_and_code(void **s)
{
	struct vcore_answer ans;
	struct tlog l;
	struct tval v;
	char note[1024];

	(void)s;
	tlog_init(&l);
	tval_init(&v, 0, VCORE_VALIDATOR, l.vkey);
	fill(&l, 2);
	checkpoint(&l, 2, T0, l.key, note, sizeof(note));
	send(&l, &v, 0, 2, note, 1, T0, &ans);
	assert_int_equal(ans.status, 200);
	fill(&l, 2);
	tlog_append(&l, "bad cert for a revoked key\n");
	fill(&l, 1);
	checkpoint(&l, 6, T0 + 1, l.key, note, sizeof(note));
	send(&l, &v, 2, 6, note, 1, T0 + 1, &ans);
	assert_int_equal(ans.status, 422);
	assert_int_equal(ans.refusal, VCORE_RULE_BROKEN);
	assert_int_equal(ans.bad_entry, 4);
	assert_string_equal(ans.rule, "key_revoked");
	assert_non_null(strstr(ans.body, "entry 4 breaks key_revoked"));
	assert_int_equal(v.aborts, 1);
	assert_int_equal(v.staged, 0);
	assert_int_equal(v.committed, 2);
	assert_int_equal(v.st.size, 2);
	tval_free(&v);
	tlog_free(&l);
}

static void
test_refuses_a_time_out_of_bounds_or_going_back(void **s)
{
	struct vcore_answer ans;
	struct tlog l;
	struct tval v;
	char note[1024];

	(void)s;
	tlog_init(&l);
	tval_init(&v, 0, VCORE_VALIDATOR, l.vkey);
	fill(&l, 3);
	checkpoint(&l, 1, T0 + 61, l.key, note, sizeof(note));
	send(&l, &v, 0, 1, note, 1, T0, &ans);
	assert_int_equal(ans.refusal, VCORE_TIME_BOUNDS);
	assert_int_equal(ans.status, 422);
	checkpoint(&l, 1, T0 - 601, l.key, note, sizeof(note));
	send(&l, &v, 0, 1, note, 1, T0, &ans);
	assert_int_equal(ans.refusal, VCORE_TIME_BOUNDS);
	checkpoint(&l, 1, T0 + 60, l.key, note, sizeof(note));
	send(&l, &v, 0, 1, note, 1, T0, &ans);
	assert_int_equal(ans.status, 200);
	checkpoint(&l, 3, T0 + 59, l.key, note, sizeof(note));
	send(&l, &v, 1, 3, note, 1, T0, &ans);
	assert_int_equal(ans.refusal, VCORE_TIME_BOUNDS);
	assert_non_null(strstr(ans.reason, "before the last cosigned"));
	tval_free(&v);
	tlog_free(&l);
}

static void
test_equivocation_is_refused_and_both_checkpoints_kept(void **s)
{
	struct vcore_answer ans;
	struct tlog l, fork;
	struct tval v;
	char a[1024], b[1024];
	struct vcore_state before;

	(void)s;
	tlog_init(&l);
	tlog_init(&fork);
	tval_init(&v, 0, VCORE_VALIDATOR, l.vkey);
	fill(&l, 3);
	tlog_append(&fork, "entry 0\n");
	tlog_append(&fork, "entry 1\n");
	tlog_append(&fork, "other 2\n");
	checkpoint(&l, 3, T0, l.key, a, sizeof(a));
	checkpoint(&fork, 3, T0, fork.key, b, sizeof(b));
	send(&l, &v, 0, 3, a, 1, T0, &ans);
	assert_int_equal(ans.status, 200);
	before = v.st;
	send(&fork, &v, 0, 3, b, 1, T0, &ans);
	assert_int_equal(ans.status, 409);
	assert_int_equal(ans.refusal, VCORE_EQUIVOCATION);
	assert_true(ans.state_changed);
	assert_int_equal(v.st.nevidence, 1);
	assert_string_equal(v.st.evidence[0].cosigned, a);
	assert_string_equal(v.st.evidence[0].offered, b);
	assert_int_equal(v.st.evidence[0].size, 3);
	/* nothing else moved */
	assert_int_equal(v.st.size, before.size);
	assert_memory_equal(v.st.root, before.root, LEDGER_HASH_LEN);
	assert_string_equal(v.st.checkpoint, a);
	/* the same fork again: counted, not kept twice */
	send(&fork, &v, 3, 3, b, 0, T0, &ans);
	assert_int_equal(ans.refusal, VCORE_EQUIVOCATION);
	assert_int_equal(v.st.nevidence, 1);
	assert_int_equal(v.st.equivocations, 2);
	tval_free(&v);
	tlog_free(&l);
	tlog_free(&fork);
}

static void
test_refuses_unknown_origin_unsigned_and_malformed(void **s)
{
	struct vcore_answer ans;
	struct vcore_request req;
	struct tlog l;
	struct tval v;
	EVP_PKEY *stranger = seed_key(99);
	char note[1024], text[REQ_MAX];
	int n;

	(void)s;
	tlog_init(&l);
	tval_init(&v, 0, VCORE_VALIDATOR, l.vkey);
	fill(&l, 1);
	checkpoint(&l, 1, T0, stranger, note, sizeof(note));
	send(&l, &v, 0, 1, note, 1, T0, &ans);
	assert_int_equal(ans.status, 403);
	assert_int_equal(ans.refusal, VCORE_NOT_SIGNED);
	assert_int_equal(vcore_state_init(&v.st, VCORE_VALIDATOR, "v0.test",
	    "another/origin", 600, 60), 0);
	checkpoint(&l, 1, T0, l.key, note, sizeof(note));
	send(&l, &v, 0, 1, note, 1, T0, &ans);
	assert_int_equal(ans.status, 404);
	n = snprintf(text, sizeof(text), "old 0\n\nnot a checkpoint\n");
	assert_int_equal(vcore_request_parse(text, (size_t)n, &req, NULL, 0), 0);
	assert_int_equal(vcore_add(&v.st, &v.ops, v.key_id, &req, T0, &ans), 0);
	assert_int_equal(ans.status, 400);
	vcore_request_free(&req);
	EVP_PKEY_free(stranger);
	tval_free(&v);
	tlog_free(&l);
}

static void
test_request_parser_refuses_hostile_text(void **s)
{
	static const char *bad[] = {
		"", "old\n\nx\n", "old 01\n\nx\n", "old -1\n\nx\n",
		"old 1\nentry 999999\nab\n\nx\n", "old 1\nentry 0\n\nx\n",
		"old 1\nnotbase64\n\nx\n", "old 1\n", "old 1\n\n",
		"old 99999999999999999999999\n\nx\n",
	};
	struct vcore_request req;
	char buf[256], why[128];
	unsigned seed = 1;
	size_t i, j, n;

	(void)s;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vcore_request_parse(bad[i], strlen(bad[i]),
		    &req, why, sizeof(why)), -1);
		assert_true(why[0] != '\0');
	}
	for (i = 0; i < FUZZ_ROUNDS; i++) {
		n = (size_t)rand_r(&seed) % sizeof(buf);
		memcpy(buf, "old 0\nentry 3\n", 14);
		for (j = i % 3 ? 14 : 0; j < n; j++)
			buf[j] = "ab\n =+/0entry"[rand_r(&seed) % 13];
		if (vcore_request_parse(buf, n, &req, NULL, 0) == 0) {
			assert_true(req.note >= buf && req.note_len <= n);
			vcore_request_free(&req);
		}
	}
}

/* Runs the independent Python checker on a note; its exit status. */
static int
run_py(const char *note, struct tval *v, size_t n, int quorum)
{
	char path[] = "/tmp/kb-vcore-note.XXXXXX", cmd[4096];
	FILE *fp;
	size_t i, off;
	int fd, rc;

	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	fputs(note, fp);
	fclose(fp);
	off = (size_t)snprintf(cmd, sizeof(cmd),
	    "python3 tests/validator/verify_cosig.py %s %d", path, quorum);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, " '%s'",
		    v[i].pub.vkey);
	snprintf(cmd + off, sizeof(cmd) - off, " >/dev/null");
	rc = system(cmd);
	unlink(path);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void
test_gatherer_discards_byzantine_answers_and_is_final_with_three(void **s)
{
	struct ledger_cosigner policy[NVAL];
	struct vcore_answer ans[NVAL], old_ans;
	struct vgather g;
	struct tlog l;
	struct tval v[NVAL];
	EVP_PKEY *wrong = seed_key(123);
	char note[1024], old_note[1024], line[LEDGER_COSIGN_LINE_MAX];
	char final[4096], why[160];
	size_t i, nvalid;

	(void)s;
	tlog_init(&l);
	for (i = 0; i < NVAL; i++) {
		tval_init(&v[i], (int)i, VCORE_VALIDATOR, l.vkey);
		policy[i] = v[i].pub;
	}
	fill(&l, 2);
	checkpoint(&l, 2, T0, l.key, old_note, sizeof(old_note));
	send(&l, &v[3], 0, 2, old_note, 1, T0, &old_ans);
	assert_int_equal(old_ans.status, 200);
	fill(&l, 3);
	checkpoint(&l, 5, T0 + 1, l.key, note, sizeof(note));
	for (i = 0; i < 3; i++) {
		send(&l, &v[i], 0, 5, note, 1, T0 + 1, &ans[i]);
		assert_int_equal(ans[i].status, 200);
	}
	assert_int_equal(vgather_init(&g, note, strlen(note), policy, NVAL, 3),
	    0);
	/* v3 is Byzantine: its old cosignature replayed, one over another
	 * root, a malformed one, one by a wrong key, v0's line as its own */
	assert_int_equal(vgather_answer(&g, 3, 200, old_ans.body,
	    strlen(old_ans.body), why, sizeof(why)), VGATHER_DISCARDED);
	assert_non_null(strstr(why, "bad-signature"));
	assert_int_equal(ledger_cosign_line(old_note, ledger_cosign_body_len(
	    old_note, strlen(old_note)), "v3.test", v[3].key, T0 + 1, line,
	    sizeof(line)), 0);
	assert_int_equal(vgather_answer(&g, 3, 200, line, strlen(line), why,
	    sizeof(why)), VGATHER_DISCARDED);
	strcpy(line, "\xe2\x80\x94 v3.test AAAA\n");
	assert_int_equal(vgather_answer(&g, 3, 200, line, strlen(line), why,
	    sizeof(why)), VGATHER_DISCARDED);
	assert_int_equal(ledger_cosign_line(note, ledger_cosign_body_len(note,
	    strlen(note)), "v3.test", wrong, T0 + 1, line, sizeof(line)), 0);
	assert_int_equal(vgather_answer(&g, 3, 200, line, strlen(line), why,
	    sizeof(why)), VGATHER_DISCARDED);
	assert_non_null(strstr(why, "wrong-key"));
	assert_int_equal(vgather_answer(&g, 3, 200, ans[0].body,
	    strlen(ans[0].body), why, sizeof(why)), VGATHER_DISCARDED);
	assert_non_null(strstr(why, "unknown"));
	/* a stale one: valid over this body, but dated before it */
	assert_int_equal(ledger_cosign_line(note, ledger_cosign_body_len(note,
	    strlen(note)), "v3.test", v[3].key, T0, line, sizeof(line)), 0);
	assert_int_equal(vgather_answer(&g, 3, 200, line, strlen(line), why,
	    sizeof(why)), VGATHER_DISCARDED);
	assert_non_null(strstr(why, "stale"));
	assert_int_equal(vgather_answer(&g, 3, 422, "rule-broken\n", 12, why,
	    sizeof(why)), VGATHER_REFUSED);
	assert_false(vgather_final(&g));
	assert_int_equal(g.counts.discarded[LEDGER_COSIGN_BAD_SIG], 2);
	assert_int_equal(g.counts.discarded[LEDGER_COSIGN_MALFORMED], 1);
	assert_int_equal(g.counts.discarded[LEDGER_COSIGN_WRONG_KEY], 1);
	assert_int_equal(g.counts.discarded[LEDGER_COSIGN_UNKNOWN], 1);
	assert_int_equal(g.counts.discarded[LEDGER_COSIGN_STALE], 1);
	assert_int_equal(g.counts.refused, 1);
	/* the three honest ones, one twice */
	for (i = 0; i < 3; i++) {
		assert_int_equal(vgather_answer(&g, i, 200, ans[i].body,
		    strlen(ans[i].body), why, sizeof(why)), VGATHER_ACCEPTED);
		assert_int_equal(vgather_final(&g), i == 2);
	}
	assert_int_equal(vgather_answer(&g, 1, 200, ans[1].body,
	    strlen(ans[1].body), why, sizeof(why)), VGATHER_DISCARDED);
	assert_non_null(strstr(why, "duplicate"));
	assert_int_equal(vgather_note(&g, final, sizeof(final)), 0);
	assert_int_equal(ledger_cosign_quorum(final, strlen(final), policy,
	    NVAL, 3, NULL, 0, NULL, &nvalid), 0);
	assert_int_equal(nvalid, 3);
	assert_int_equal(ledger_note_verify_vkey(final, strlen(final), l.vkey),
	    0);
	assert_int_equal(run_py(final, v, NVAL, 3), 0);
	assert_int_equal(run_py(final, v, NVAL, 4), 1);
	EVP_PKEY_free(wrong);
	for (i = 0; i < NVAL; i++)
		tval_free(&v[i]);
	tlog_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator_cosigns_a_block_it_replayed_and_the_line_verifies),
		cmocka_unit_test(test_witness_answers_409_with_its_size_when_old_is_not_its_size),
		cmocka_unit_test(test_refuses_an_inconsistent_proof_and_a_rollback),
		cmocka_unit_test(test_refuses_entries_whose_root_is_not_the_checkpoints),
		cmocka_unit_test(test_refuses_an_entry_that_breaks_a_rule_naming_its_index_and_code),
		cmocka_unit_test(test_refuses_a_time_out_of_bounds_or_going_back),
		cmocka_unit_test(test_equivocation_is_refused_and_both_checkpoints_kept),
		cmocka_unit_test(test_refuses_unknown_origin_unsigned_and_malformed),
		cmocka_unit_test(test_request_parser_refuses_hostile_text),
		cmocka_unit_test(test_gatherer_discards_byzantine_answers_and_is_final_with_three),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
