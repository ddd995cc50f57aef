/*
 * test_verify_cosign.c: `ledger verify --policy` (ledger_verify_policy in
 * ledger/verify.c): every stored checkpoint must carry a quorum of valid
 * C2SP cosignatures by the policy's cosigners.  A solo ledger of three
 * blocks is written, then each block's stored checkpoint is given
 * crafted cosignature lines (good ones, one short, one over another
 * root, one by a wrong key, a duplicate) straight in the SQLite file, as
 * a sequencer that lies would store them.  Each test asserts the exact
 * message naming the block, its tree size and every cosigner's verdict.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "ledger/ledger_int.h"
#include "ledger/policy.h"
#include "tests/common/tmp_fx.h"
#include "tests/ledger/ledger_fx.h"

#define ORIGIN	"test/ledger"
#define NODE	"test-node"
#define NVAL	4		/* validators v0..v3, quorum 3 */
#define QUORUM	3
#define NBLOCKS	3
#define NOTE_MAX 1024

struct fx {
	char dir[64], db[128], vkey[256];
	EVP_PKEY *node, *admin, *foreign, *val[NVAL];
	struct ledger_policy policy;
	char note[NBLOCKS][NOTE_MAX];	/* each block's checkpoint as made */
};

static EVP_PKEY *
seed_key(uint8_t first)
{
	uint8_t seed[32];

	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(first + i);
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed));
}

static void
vname(int i, char *out, size_t len)
{
	snprintf(out, len, "v%d.test", i);
}

/* Appends account-create entry seq (one block each). */
static void
put_account(struct ledger *l, EVP_PKEY *admin, uint64_t seq, const char *name)
{
	struct ledger_field fl[4];
	struct ledger_receipt r;
	char k[256], why[256], *note;

	assert_int_equal(ledger_pubkey_to_b64(admin, k, sizeof(k)), 0);
	fl[0] = (struct ledger_field){ "name", name };
	fl[1] = (struct ledger_field){ "role", "admin" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k };
	note = ledger_entry_body(LEDGER_ACCOUNT_CREATE, "admin", seq,
	    time(NULL), ORIGIN, fl, 4);
	note = ledger_entry_sign(note, "admin", admin);
	assert_non_null(note);
	if (ledger_append(l, note, strlen(note), &r, why, sizeof(why)) !=
	    LEDGER_OK)
		fail_msg("append: %s", why);
	free(note);
}

static int
read_note(void *arg, int ncol, char **val, char **names)
{
	char *out = arg;

	(void)ncol;
	(void)names;
	snprintf(out, NOTE_MAX, "%s", val[0] != NULL ? val[0] : "");
	return 0;
}

static void
sql(struct fx *f, const char *q, char *out)
{
	sqlite3 *h;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	if (sqlite3_exec(h, q, out != NULL ? read_note : NULL, out, &msg) !=
	    SQLITE_OK)
		fail_msg("%s: %s", q, msg);
	sqlite3_close(h);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ledger_consensus *cons;
	struct ledger *l;
	char err[256], vk[LEDGER_COSIGN_VKEY_MAX], name[16], q[128];

	assert_non_null(f);
	fx_tmpdir(f->dir, sizeof(f->dir), "kbvcos");
	snprintf(f->db, sizeof(f->db), "%s/ledger.db", f->dir);
	f->node = ledger_key_generate("ed25519");
	f->admin = ledger_key_generate("ed25519");
	f->foreign = seed_key(200);
	assert_int_equal(ledger_key_vkey(f->node, NODE, f->vkey,
	    sizeof(f->vkey)), 0);
	l = fx_ledger_solo("sqlite", f->db, ORIGIN, f->node, NODE, 0, &cons);
	put_account(l, f->admin, 1, "admin");
	put_account(l, f->admin, 2, "ops");
	put_account(l, f->admin, 3, "other");
	ledger_close(l);
	ledger_consensus_free(cons);
	ledger_policy_init(&f->policy);
	snprintf(f->policy.origin, sizeof(f->policy.origin), "%s", ORIGIN);
	snprintf(f->policy.log_vkey, sizeof(f->policy.log_vkey), "%s",
	    f->vkey);
	for (int i = 0; i < NVAL; i++) {
		vname(i, name, sizeof(name));
		assert_non_null(f->val[i] = seed_key((uint8_t)(16 * i)));
		assert_int_equal(ledger_cosign_vkey_format(f->val[i], name, vk,
		    sizeof(vk)), 0);
		assert_int_equal(ledger_policy_add(&f->policy, name, vk,
		    "http://127.0.0.1:1", 0, err, sizeof(err)), 0);
	}
	f->policy.quorum = QUORUM;
	for (int h = 0; h < NBLOCKS; h++) {
		snprintf(q, sizeof(q), "SELECT checkpoint FROM blocks WHERE "
		    "height = %d", h);
		sql(f, q, f->note[h]);
		assert_true(f->note[h][0] != '\0');
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ledger_policy_clear(&f->policy);
	EVP_PKEY_free(f->node);
	EVP_PKEY_free(f->admin);
	EVP_PKEY_free(f->foreign);
	for (int i = 0; i < NVAL; i++)
		EVP_PKEY_free(f->val[i]);
	fx_rmtree(f->dir);
	free(f);
	return 0;
}

/* Block h's checkpoint time (cosignatures are stamped after it). */
static uint64_t
cp_time(const char *note)
{
	char origin[64];
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t size;
	time_t t;

	assert_int_equal(ledger_checkpoint_parse(note, strlen(note), origin,
	    sizeof(origin), &size, root, &t), 0);
	return (uint64_t)t;
}

/* Appends to out a cosignature line by key as validator `who` over
 * body (a checkpoint body). */
static void
add_line(char *out, size_t outlen, const char *body, int who, EVP_PKEY *key,
    uint64_t ts)
{
	char line[LEDGER_COSIGN_LINE_MAX], name[16];

	vname(who, name, sizeof(name));
	assert_int_equal(ledger_cosign_line(body, strlen(body), name, key, ts,
	    line, sizeof(line)), 0);
	assert_true(strlen(out) + strlen(line) < outlen);
	strcat(out, line);
}

/* Stores block h's checkpoint with the lines of validators who[0..n)
 * (each its own key) appended after the node's signature. */
static void
cosign_block(struct fx *f, int h, const int *who, size_t n)
{
	char note[NOTE_MAX], body[256], q[NOTE_MAX + 128];
	size_t bl = ledger_cosign_body_len(f->note[h], strlen(f->note[h]));
	uint64_t t = cp_time(f->note[h]);

	assert_true(bl > 0 && bl < sizeof(body));
	memcpy(body, f->note[h], bl);
	body[bl] = '\0';
	snprintf(note, sizeof(note), "%s", f->note[h]);
	for (size_t i = 0; i < n; i++)
		add_line(note, sizeof(note), body, who[i], f->val[who[i]],
		    t + 1);
	snprintf(q, sizeof(q), "UPDATE blocks SET checkpoint = '%s' WHERE "
	    "height = %d", note, h);
	sql(f, q, NULL);
}

/* The same, with note's own extra lines appended instead. */
static void
store_block(struct fx *f, int h, const char *note)
{
	char q[NOTE_MAX + 128];

	snprintf(q, sizeof(q), "UPDATE blocks SET checkpoint = '%s' WHERE "
	    "height = %d", note, h);
	sql(f, q, NULL);
}

static void
cosign_all(struct fx *f)
{
	static const int good[] = { 0, 1, 2 };

	for (int h = 0; h < NBLOCKS; h++)
		cosign_block(f, h, good, 3);
}

static void
expect_broken(struct fx *f, const char *what, int64_t block)
{
	struct ledger_verify_report rep;

	assert_int_equal(ledger_verify_policy(f->db, NULL, &f->policy, NULL,
	    0, &rep, NULL, NULL), 0);
	if (rep.ok || strstr(rep.what, what) == NULL)
		fail_msg("verify: expected \"%s\", got ok=%d \"%s\"", what,
		    rep.ok, rep.what);
	assert_int_equal(rep.bad_block, block);
}

static void
test_checkpoints_with_a_quorum_of_cosignatures_are_final(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;

	cosign_all(f);
	assert_int_equal(ledger_verify_policy(f->db, NULL, &f->policy, NULL,
	    0, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
	assert_int_equal(rep.final_blocks, NBLOCKS);
	/* and the node's signature alone (solo) still verifies it */
	assert_int_equal(ledger_verify_trusted(f->db, f->vkey, NULL, 0, &rep,
	    NULL, NULL), 0);
	assert_true(rep.ok);
}

/* Signed by the node alone throughout: no checkpoint is final, and the
 * latest is named. */
static void
test_solo_checkpoints_are_not_final_under_a_policy(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;

	expect_broken(f, "block 2 (tree size 3): checkpoint is not final: 0 "
	    "of the 3 cosignatures needed are valid (v0.test missing, v1.test "
	    "missing, v2.test missing, v3.test missing)", 2);
	assert_int_equal(ledger_verify_policy(f->db, NULL, &f->policy, NULL,
	    0, &rep, NULL, NULL), 0);
	assert_int_equal(rep.solo_blocks, NBLOCKS);
	assert_int_equal(rep.final_blocks, 0);
}

/* The genesis `init` writes (or a ledger from before its validators) is
 * signed by the node alone; the final checkpoints after it cover it. */
static void
test_solo_blocks_before_the_first_final_checkpoint_are_covered(void **state)
{
	struct fx *f = *state;
	static const int good[] = { 0, 2, 3 };
	struct ledger_verify_report rep;

	cosign_block(f, 1, good, 3);
	cosign_block(f, 2, good, 3);
	assert_int_equal(ledger_verify_policy(f->db, NULL, &f->policy, NULL,
	    0, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
	assert_int_equal(rep.solo_blocks, 1);
	assert_int_equal(rep.final_blocks, 2);
}

/* ... but once a checkpoint is final, one signed by the node alone (a
 * sequencer that stopped asking its validators) is the broken point. */
static void
test_solo_block_after_a_final_checkpoint_is_broken(void **state)
{
	struct fx *f = *state;
	static const int good[] = { 0, 2, 3 };

	cosign_block(f, 0, good, 3);
	cosign_block(f, 2, good, 3);
	expect_broken(f, "block 1 (tree size 2): checkpoint is not final: 0 "
	    "of the 3 cosignatures needed are valid (v0.test missing, v1.test "
	    "missing, v2.test missing, v3.test missing)", 1);
}

static void
test_checkpoint_one_cosignature_short_is_named(void **state)
{
	struct fx *f = *state;
	static const int two[] = { 3, 1 };

	cosign_all(f);
	cosign_block(f, 1, two, 2);
	expect_broken(f, "block 1 (tree size 2): checkpoint is not final: 2 "
	    "of the 3 cosignatures needed are valid (v0.test missing, v1.test "
	    "valid, v2.test missing, v3.test valid)", 1);
}

/* v2 cosigns a checkpoint of the same size over another root: its line,
 * under this body, does not verify. */
static void
test_cosignature_over_another_root_is_a_bad_signature(void **state)
{
	struct fx *f = *state;
	static const int two[] = { 0, 1 };
	uint8_t other[LEDGER_HASH_LEN];
	char note[NOTE_MAX], body[256];
	uint64_t t = cp_time(f->note[2]);

	cosign_all(f);
	memset(other, 0x5a, sizeof(other));
	assert_int_equal(ledger_checkpoint_body(ORIGIN, 3, other, (time_t)t,
	    body, sizeof(body)), 0);
	cosign_block(f, 2, two, 2);
	sql(f, "SELECT checkpoint FROM blocks WHERE height = 2", note);
	add_line(note, sizeof(note), body, 2, f->val[2], t + 1);
	store_block(f, 2, note);
	expect_broken(f, "block 2 (tree size 3): checkpoint is not final: 2 "
	    "of the 3 cosignatures needed are valid (v0.test valid, v1.test "
	    "valid, v2.test bad-signature, v3.test missing)", 2);
}

/* A line under v2's name by another key: its key ID is not v2's. */
static void
test_cosignature_by_a_wrong_key_is_not_counted(void **state)
{
	struct fx *f = *state;
	static const int two[] = { 0, 1 };
	char note[NOTE_MAX], body[256];
	size_t bl;

	cosign_all(f);
	cosign_block(f, 0, two, 2);
	sql(f, "SELECT checkpoint FROM blocks WHERE height = 0", note);
	bl = ledger_cosign_body_len(note, strlen(note));
	memcpy(body, note, bl);
	body[bl] = '\0';
	add_line(note, sizeof(note), body, 2, f->foreign, cp_time(note) + 1);
	store_block(f, 0, note);
	expect_broken(f, "block 0 (tree size 1): checkpoint is not final: 2 "
	    "of the 3 cosignatures needed are valid (v0.test valid, v1.test "
	    "valid, v2.test wrong-key, v3.test missing)", 0);
}

/* v1's line twice (and once more, restamped) beside v0: two cosigners,
 * not three or four. */
static void
test_duplicate_cosignatures_count_once(void **state)
{
	struct fx *f = *state;
	static const int dup[] = { 0, 1, 1 };
	char note[NOTE_MAX], body[256];
	size_t bl;

	cosign_all(f);
	cosign_block(f, 1, dup, 3);
	sql(f, "SELECT checkpoint FROM blocks WHERE height = 1", note);
	bl = ledger_cosign_body_len(note, strlen(note));
	memcpy(body, note, bl);
	body[bl] = '\0';
	add_line(note, sizeof(note), body, 1, f->val[1], cp_time(note) + 7);
	store_block(f, 1, note);
	expect_broken(f, "block 1 (tree size 2): checkpoint is not final: 2 "
	    "of the 3 cosignatures needed are valid (v0.test valid, v1.test "
	    "valid, v2.test missing, v3.test missing; 2 duplicate and 0 "
	    "malformed lines not counted)", 1);
}

/* A cosignature stamped before the checkpoint's own time (an old one
 * replayed onto a new checkpoint would be, and also fail its signature)
 * is stale. */
static void
test_cosignature_stamped_before_the_checkpoint_is_stale(void **state)
{
	struct fx *f = *state;
	static const int two[] = { 0, 1 };
	char note[NOTE_MAX], body[256];
	size_t bl;

	cosign_all(f);
	cosign_block(f, 2, two, 2);
	sql(f, "SELECT checkpoint FROM blocks WHERE height = 2", note);
	bl = ledger_cosign_body_len(note, strlen(note));
	memcpy(body, note, bl);
	body[bl] = '\0';
	add_line(note, sizeof(note), body, 3, f->val[3], cp_time(note) - 60);
	store_block(f, 2, note);
	expect_broken(f, "(v0.test valid, v1.test valid, v2.test missing, "
	    "v3.test stale)", 2);
}

static void
test_policy_of_another_origin_is_refused(void **state)
{
	struct fx *f = *state;

	cosign_all(f);
	snprintf(f->policy.origin, sizeof(f->policy.origin), "other/ledger");
	expect_broken(f, "block 0: the checkpoints are of ledger "
	    "\"test/ledger\", the policy's of \"other/ledger\"", 0);
}

/* The policy's log key is the one checked when no vkey is given. */
static void
test_policy_log_key_signs_every_checkpoint(void **state)
{
	struct fx *f = *state;
	char foreign[256];

	cosign_all(f);
	assert_int_equal(ledger_key_vkey(f->foreign, NODE, foreign,
	    sizeof(foreign)), 0);
	snprintf(f->policy.log_vkey, sizeof(f->policy.log_vkey), "%s",
	    foreign);
	expect_broken(f, "block 0: checkpoint is not signed by the validator "
	    "key", 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_checkpoints_with_a_quorum_of_cosignatures_are_final),
		T(test_solo_checkpoints_are_not_final_under_a_policy),
		T(test_solo_blocks_before_the_first_final_checkpoint_are_covered),
		T(test_solo_block_after_a_final_checkpoint_is_broken),
		T(test_checkpoint_one_cosignature_short_is_named),
		T(test_cosignature_over_another_root_is_a_bad_signature),
		T(test_cosignature_by_a_wrong_key_is_not_counted),
		T(test_duplicate_cosignatures_count_once),
		T(test_cosignature_stamped_before_the_checkpoint_is_stale),
		T(test_policy_of_another_origin_is_refused),
		T(test_policy_log_key_signs_every_checkpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
