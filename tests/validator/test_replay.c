/*
 * test_replay.c: a validator core replaying a real ledger's entries
 * through the ledger's own rules (ledger/replay.c behind its stage and
 * abort callbacks): the fixture ledger of tests/ledger/rules_fx.h
 * (SQLite), its entries read back and cosigned as one block; an entry
 * replayed with a used sequence number refused as "rule broken at entry
 * N" with the rule's code, nothing of that block kept; the next valid
 * block cosigned.
 */
#include "tests/ledger/rules_fx.h"

#include "ledger/cosign.h"
#include "ledger/replay.h"
#include "validator/core.h"

#define MAX_E		16
#define E_LEN		4096
#define LOG_NAME	"test-log"

struct entries {
	char text[MAX_E][E_LEN];
	size_t len[MAX_E];
	size_t n;
};

static int
collect(const struct ledger_entry_info *info, void *arg)
{
	struct entries *e = arg;

	if (e->n == MAX_E || info->len >= E_LEN)
		return 1;
	memcpy(e->text[e->n], info->text, info->len);
	e->len[e->n] = info->len;
	e->n++;
	return 0;
}

/* The validator's caller: its key, the log's vkey, its registry. */
struct ctx {
	EVP_PKEY *key, *log;
	char log_vkey[256];
	uint8_t kid[LEDGER_COSIGN_KEY_ID_LEN];
	struct ledger_replay *r;
	struct ledger_merkle *tree;	/* the sequencer's, for proofs */
	struct vcore_state st;
	int check_map;			/* the map_root callback given */
	const uint8_t *map;		/* the checkpoint's map line, or none */
};

static int
sign_cb(void *arg, const char *msg, size_t len, uint8_t sig[64])
{
	struct ctx *c = arg;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t siglen = 64;
	int ok = m != NULL && EVP_DigestSignInit(m, NULL, NULL, NULL,
	    c->key) == 1 && EVP_DigestSign(m, sig, &siglen,
	    (const unsigned char *)msg, len) == 1;

	EVP_MD_CTX_free(m);
	return ok ? 0 : -1;
}

static int
log_verify_cb(void *arg, const char *note, size_t len)
{
	return ledger_note_verify_vkey(note, len, ((struct ctx *)arg)->log_vkey);
}

static int
stage_cb(void *arg, uint64_t index, const char *text, size_t len, time_t t,
    char *code, size_t codelen, char *why, size_t whylen)
{
	return ledger_replay_stage(((struct ctx *)arg)->r, index, text, len, t,
	    code, codelen, why, whylen);
}

static void
abort_cb(void *arg)
{
	ledger_replay_abort(((struct ctx *)arg)->r);
}

static int
map_cb(void *arg, uint8_t root[LEDGER_HASH_LEN])
{
	return ledger_replay_map_root(((struct ctx *)arg)->r, root);
}

/* Offers entries [from, to) of e as one block of time t; the answer. */
static void
offer(struct ctx *c, struct entries *e, size_t from, size_t to, time_t t,
    struct vcore_answer *ans)
{
	static char text[MAX_E * (E_LEN + 16) + 4096];
	struct vcore_ops ops = { sign_cb, log_verify_cb, stage_cb, abort_cb,
	    c, NULL };
	struct vcore_entry ents[MAX_E];
	struct vcore_request req;
	uint8_t root[LEDGER_HASH_LEN], leaf[LEDGER_HASH_LEN];
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	char body[512], line[512], note[1024];
	size_t i, np = 0;
	int n;

	for (i = from; i < to; i++) {
		ledger_merkle_leaf_hash(e->text[i], e->len[i], leaf);
		assert_int_equal(ledger_merkle_append(c->tree, leaf), 0);
		ents[i - from].text = e->text[i];
		ents[i - from].len = e->len[i];
	}
	assert_int_equal(ledger_merkle_root(c->tree, to, root), 0);
	if (from > 0)
		assert_int_equal(ledger_merkle_consistency(c->tree, from, to,
		    proof, &np), 0);
	if (c->check_map)
		ops.map_root = map_cb;
	assert_int_equal(ledger_checkpoint_body_map(TEST_ORIGIN, to, root, t,
	    c->map, body, sizeof(body)), 0);
	assert_int_equal(ledger_note_sign_line(body, strlen(body), LOG_NAME,
	    c->log, line, sizeof(line)), 0);
	snprintf(note, sizeof(note), "%s\n%s", body, line);
	n = vcore_request_format(from, (const uint8_t (*)[32])proof, np, ents,
	    to - from, note, text, sizeof(text));
	assert_true(n > 0);
	assert_int_equal(vcore_request_parse(text, (size_t)n, &req, NULL, 0), 0);
	assert_int_equal(vcore_add(&c->st, &ops, c->kid, &req, t + 1, ans), 0);
	vcore_request_free(&req);
	/* the daemon persists the state and commits the registry together */
	if (ans->status == 200)
		assert_int_equal(ledger_replay_commit(c->r), 0);
	else
		assert_int_equal(ledger_merkle_truncate(c->tree, from), 0);
}

static void
test_validator_replays_real_entries_through_the_rules(void **state)
{
	struct fx *f = *state;
	struct entries *e = calloc(1, sizeof(*e));
	struct ledger_field fl[4];
	struct vcore_answer ans;
	struct ledger_cosigner pub;
	struct ctx c;
	char err[256], k[256];
	time_t now = time(NULL);

	assert_non_null(e);
	memset(&c, 0, sizeof(c));
	assert_non_null(c.key = ledger_key_generate("ed25519"));
	assert_non_null(c.log = ledger_key_generate("ed25519"));
	assert_int_equal(ledger_note_vkey_format(c.log, LOG_NAME, c.log_vkey,
	    sizeof(c.log_vkey)), 0);
	assert_int_equal(ledger_cosigner_from_key("v0.test", c.key, &pub), 0);
	memcpy(c.kid, pub.key_id, sizeof(c.kid));
	assert_non_null(c.tree = ledger_merkle_new());
	assert_non_null(c.r = ledger_replay_open(":memory:", TEST_ORIGIN, err,
	    sizeof(err)));
	assert_int_equal(vcore_state_init(&c.st, VCORE_VALIDATOR, "v0.test",
	    TEST_ORIGIN, 600, 60), 0);

	/* the fixture's three account-create entries, as one block */
	assert_int_equal(ledger_entries(f->l, 0, MAX_E, collect, e), 0);
	assert_int_equal(e->n, 3);
	offer(&c, e, 0, 3, now, &ans);
	assert_int_equal(ans.status, 200);
	assert_int_equal(ledger_replay_size(c.r), 3);

	/* the ledger's next real entry, then the third entry again (a used
	 * sequence number): the block is refused at its second entry, and
	 * nothing of it is kept */
	b64key(f->bridge, k);
	fl[0] = (struct ledger_field){ "name", "bridge" };
	fl[1] = (struct ledger_field){ "role", "bridge" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", f->seq_admin++,
	    time(NULL), &f->admin, 1, fl, 4, NULL), LEDGER_OK);
	e->n = 0;
	assert_int_equal(ledger_entries(f->l, 0, MAX_E, collect, e), 0);
	assert_int_equal(e->n, 4);
	memcpy(e->text[4], e->text[2], e->len[2]);
	e->len[4] = e->len[2];
	offer(&c, e, 3, 5, now + 1, &ans);
	assert_int_equal(ans.status, 422);
	assert_int_equal(ans.refusal, VCORE_RULE_BROKEN);
	assert_int_equal(ans.bad_entry, 4);
	assert_string_equal(ans.rule, ledger_status_code(LEDGER_ERR_SEQUENCE));
	assert_int_equal(ledger_replay_size(c.r), 3);
	assert_int_equal(c.st.size, 3);

	/* the valid entry alone: cosigned (it was not kept above) */
	offer(&c, e, 3, 4, now + 2, &ans);
	assert_int_equal(ans.status, 200);
	assert_int_equal(ledger_replay_size(c.r), 4);
	assert_int_equal(c.st.size, 4);

	/* a caller out of step is told so, not replayed */
	assert_int_equal(ledger_replay_stage(c.r, 6, e->text[0], e->len[0],
	    now, err, sizeof(err), k, sizeof(k)), -1);
	assert_string_equal(err, "out_of_order");

	ledger_replay_close(c.r);
	ledger_merkle_free(c.tree);
	ledger_cosigner_clear(&pub);
	EVP_PKEY_free(c.key);
	EVP_PKEY_free(c.log);
	free(e);
}

/* The status map root of the fixture ledger's latest checkpoint. */
static void
ledger_map(struct fx *f, uint8_t map[LEDGER_HASH_LEN])
{
	char note[LEDGER_NOTE_MAX];

	assert_int_equal(ledger_checkpoint(f->l, note, sizeof(note), NULL), 0);
	assert_int_equal(ledger_checkpoint_map_root(note, strlen(note), map),
	    0);
}

static void
test_validator_refuses_a_checkpoint_whose_map_root_differs(void **state)
{
	struct fx *f = *state;
	struct entries *e = calloc(1, sizeof(*e));
	struct vcore_answer ans;
	struct ledger_cosigner pub;
	struct reg reg;
	struct ctx c;
	uint8_t before[LEDGER_HASH_LEN], after[LEDGER_HASH_LEN], ours[32];
	char err[256];
	time_t now = time(NULL);

	assert_non_null(e);
	memset(&c, 0, sizeof(c));
	assert_non_null(c.key = ledger_key_generate("ed25519"));
	assert_non_null(c.log = ledger_key_generate("ed25519"));
	assert_int_equal(ledger_note_vkey_format(c.log, LOG_NAME, c.log_vkey,
	    sizeof(c.log_vkey)), 0);
	assert_int_equal(ledger_cosigner_from_key("v0.test", c.key, &pub), 0);
	memcpy(c.kid, pub.key_id, sizeof(c.kid));
	assert_non_null(c.tree = ledger_merkle_new());
	assert_non_null(c.r = ledger_replay_open(":memory:", TEST_ORIGIN, err,
	    sizeof(err)));
	assert_int_equal(vcore_state_init(&c.st, VCORE_VALIDATOR, "v0.test",
	    TEST_ORIGIN, 600, 60), 0);
	c.check_map = 1;

	/* the three accounts: the bridge's map root (empty), cosigned */
	ledger_map(f, before);
	assert_int_equal(ledger_entries(f->l, 0, MAX_E, collect, e), 0);
	assert_int_equal(e->n, 3);
	c.map = before;
	offer(&c, e, 0, 3, now, &ans);
	assert_int_equal(ans.status, 200);

	/* a key registered: the bridge's root changes */
	reg_fields(&reg, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &reg), LEDGER_OK);
	ledger_map(f, after);
	assert_memory_not_equal(before, after, LEDGER_HASH_LEN);
	e->n = 0;
	assert_int_equal(ledger_entries(f->l, 0, MAX_E, collect, e), 0);
	assert_int_equal(e->n, 4);

	/* the old root with the new entry (a sequencer hiding the key):
	 * refused, nothing kept, the replay's map as before */
	offer(&c, e, 3, 4, now + 1, &ans);
	assert_int_equal(ans.status, 422);
	assert_int_equal(ans.refusal, VCORE_MAP_MISMATCH);
	assert_int_equal(ledger_replay_size(c.r), 3);
	assert_int_equal(ledger_replay_map_root(c.r, ours), 0);
	assert_memory_equal(ours, before, LEDGER_HASH_LEN);

	/* the bridge's own root: cosigned, the replay's map is the same */
	c.map = after;
	offer(&c, e, 3, 4, now + 2, &ans);
	assert_int_equal(ans.status, 200);
	assert_int_equal(ledger_replay_size(c.r), 4);
	assert_int_equal(ledger_replay_map_root(c.r, ours), 0);
	assert_memory_equal(ours, after, LEDGER_HASH_LEN);

	/* a checkpoint without a map line claims no status: cosigned */
	reg_fields(&reg, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &reg), LEDGER_OK);
	e->n = 0;
	assert_int_equal(ledger_entries(f->l, 0, MAX_E, collect, e), 0);
	c.map = NULL;
	offer(&c, e, 4, 5, now + 3, &ans);
	assert_int_equal(ans.status, 200);
	assert_int_equal(ledger_replay_size(c.r), 5);

	ledger_replay_close(c.r);
	ledger_merkle_free(c.tree);
	ledger_cosigner_clear(&pub);
	EVP_PKEY_free(c.key);
	EVP_PKEY_free(c.log);
	free(e);
}

int
main(void)
{
	static struct backend sqlite_be = { "sqlite", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(
		    test_validator_replays_real_entries_through_the_rules,
		    setup, teardown, &sqlite_be),
		cmocka_unit_test_prestate_setup_teardown(
		    test_validator_refuses_a_checkpoint_whose_map_root_differs,
		    setup, teardown, &sqlite_be),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
