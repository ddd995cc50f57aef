/*
 * test_verify.c: the auditor's replay (ledger/verify.c) against a database
 * edited behind the ledger's back by someone who holds more than the
 * database: an admin who re-signs an entry (so its signature, leaf hash
 * and registry row all agree), a node that re-signs a checkpoint, a
 * foreign key that signs one.  Each test reaches one check of verify and
 * asserts its exact message, so switching that check off turns it red.
 * Then the trusted checkpoints (struct ledger_trusted: rollback, fork,
 * receipts) and the SQLite synchronous setting of every connection.  On
 * SQLite always and on PostgreSQL when KB_TEST_PG_URL names a server.
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
#include <libpq-fe.h>
#include <sqlite3.h>

#include <openssl/sha.h>

#include "ledger/ledger_int.h"
#include "tests/ledger/db_fx.h"
#include "tests/ledger/ledger_fx.h"

#define ORIGIN "test/ledger"
#define NODE   "test-node"
#define NREG   3		/* key registrations after the 3 genesis entries */

struct backend {
	const char *name;
	const char *pg_url;	/* NULL: SQLite */
};

struct fx {
	const struct backend *be;
	char dir[FX_DIR_LEN], db[FX_DB_LEN], vkey[256];
	char schema[FX_SCHEMA_LEN];
	EVP_PKEY *node, *admin, *foreign;
	struct ledger_consensus *cons;
	struct ledger *l;
	uint64_t seq;			/* admin's next */
	struct ledger_receipt rc[NREG];	/* of the registrations */
	char spki[NREG][256], id[NREG][LEDGER_KEYID_LEN + 1];
	time_t when[NREG];
};

/* Runs sqlite on SQLite, pg on PostgreSQL (dialects differ). */
static void
db_exec(struct fx *f, const char *sqlite, const char *pg)
{
	fx_db_exec(f->be->pg_url, f->db, sqlite, pg);
}

/* Signs and appends an entry; returns the status. */
static enum ledger_status
put(struct fx *f, enum ledger_entry_type t, uint64_t seq, time_t when,
    const struct ledger_field *fl, size_t n, struct ledger_receipt *r)
{
	struct ledger_receipt rr;
	enum ledger_status st;
	char why[256], *note = ledger_entry_body(t, "admin", seq, when, ORIGIN,
	    fl, n);

	note = ledger_entry_sign(note, "admin", f->admin);
	assert_non_null(note);
	st = ledger_append(f->l, note, strlen(note), r != NULL ? r : &rr, why,
	    sizeof(why));
	free(note);
	return st;
}

/* The key-register entry of registration i, with device name `name`,
 * signed by the admin: a malloc'd note. */
static char *
reg_note(struct fx *f, int i, const char *name)
{
	struct ledger_field fl[6];
	char nb[21], na[21];
	char *note;

	ledger_time_format(f->when[i], nb);
	ledger_time_format(f->when[i] + 86400, na);
	fl[0] = (struct ledger_field){ "key-id", f->id[i] };
	fl[1] = (struct ledger_field){ "spki", f->spki[i] };
	fl[2] = (struct ledger_field){ "name", name };
	fl[3] = (struct ledger_field){ "profile", "device" };
	fl[4] = (struct ledger_field){ "not-before", nb };
	fl[5] = (struct ledger_field){ "not-after", na };
	note = ledger_entry_body(LEDGER_KEY_REGISTER, "admin", 4 + (uint64_t)i,
	    f->when[i], ORIGIN, fl, 6);
	note = ledger_entry_sign(note, "admin", f->admin);
	assert_non_null(note);
	return note;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ledger_field fl[4];
	char k[256], why[256];
	uint8_t der[256];
	int len;

	f->be = *state;
	fx_db_new(f->be->pg_url, "verify", f->dir, f->db, f->schema);
	f->node = ledger_key_generate("ed25519");
	f->admin = ledger_key_generate("ed25519");
	f->foreign = ledger_key_generate("ed25519");
	assert_int_equal(ledger_key_vkey(f->node, NODE, f->vkey,
	    sizeof(f->vkey)), 0);
	f->l = fx_ledger_solo(f->be->name, f->db, ORIGIN, f->node, NODE, 0,
	    &f->cons);
	assert_int_equal(ledger_pubkey_to_b64(f->admin, k, sizeof(k)), 0);
	fl[0] = (struct ledger_field){ "name", "admin" };
	fl[1] = (struct ledger_field){ "role", "admin" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, 1, time(NULL), fl, 4,
	    NULL), LEDGER_OK);
	fl[0] = (struct ledger_field){ "name", "ops" };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, 2, time(NULL), fl, 4,
	    NULL), LEDGER_OK);
	fl[0] = (struct ledger_field){ "name", "other" };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, 3, time(NULL), fl, 4,
	    NULL), LEDGER_OK);
	/* entries 3, 4, 5: key registrations, one block each */
	for (int i = 0; i < NREG; i++) {
		EVP_PKEY *dk = ledger_key_generate("ec-p256");
		char *note;

		assert_int_equal(ledger_pubkey_to_b64(dk, f->spki[i],
		    sizeof(f->spki[i])), 0);
		EVP_PKEY_free(dk);
		len = ledger_b64_decode(f->spki[i], strlen(f->spki[i]), der,
		    sizeof(der));
		assert_true(len > 0);
		ledger_spki_key_id(der, (size_t)len, f->id[i]);
		f->when[i] = time(NULL);
		note = reg_note(f, i, "cam-1");
		assert_int_equal(ledger_append(f->l, note, strlen(note),
		    &f->rc[i], why, sizeof(why)), LEDGER_OK);
		free(note);
	}
	f->seq = 4 + NREG;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ledger_close(f->l);
	ledger_consensus_free(f->cons);
	EVP_PKEY_free(f->node);
	EVP_PKEY_free(f->admin);
	EVP_PKEY_free(f->foreign);
	fx_db_free(f->be->pg_url, f->dir, f->schema);
	free(f);
	return 0;
}

/* Runs verify (with trusted[0..n)) and asserts it fails saying `what`. */
static void
expect_broken(struct fx *f, const char *vkey, const struct ledger_trusted *t,
    size_t n, const char *what, struct ledger_verify_report *rep)
{
	assert_int_equal(ledger_verify_trusted(f->db, vkey, t, n, rep, NULL,
	    NULL), 0);
	if (rep->ok || strstr(rep->what, what) == NULL)
		fail_msg("verify: expected \"%s\", got ok=%d \"%s\"", what,
		    rep->ok, rep->what);
}

static void
expect_ok(struct fx *f, const struct ledger_trusted *t, size_t n)
{
	struct ledger_verify_report rep;

	assert_int_equal(ledger_verify_trusted(f->db, f->vkey, t, n, &rep,
	    NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
}

/* SQL setting entry idx to text (ours: no quotes) with its leaf hash. */
static void
set_entry(struct fx *f, uint64_t idx, const char *text)
{
	uint8_t leaf[LEDGER_HASH_LEN];
	char hex[2 * LEDGER_HASH_LEN + 1], *q1, *q2;
	size_t cap = strlen(text) + 256;

	assert_null(strchr(text, '\''));
	ledger_merkle_leaf_hash(text, strlen(text), leaf);
	ledger_hex(leaf, LEDGER_HASH_LEN, hex);
	q1 = malloc(cap);
	q2 = malloc(cap);
	snprintf(q1, cap, "UPDATE entries SET data = CAST('%s' AS BLOB), "
	    "leaf_hash = X'%s' WHERE idx = %llu", text, hex,
	    (unsigned long long)idx);
	snprintf(q2, cap, "UPDATE entries SET data = convert_to('%s', 'UTF8'),"
	    " leaf_hash = decode('%s', 'hex') WHERE idx = %llu", text, hex,
	    (unsigned long long)idx);
	db_exec(f, q1, q2);
	free(q1);
	free(q2);
}

/* Both dialects: the same SQL. */
static void
db_exec2(struct fx *f, const char *sql)
{
	db_exec(f, sql, sql);
}

struct leaves {
	uint8_t h[16][LEDGER_HASH_LEN];
	struct ledger_entry_info info[16];
	size_t n;
};

static int
leaf_cb(const struct ledger_entry_info *e, void *arg)
{
	struct leaves *lv = arg;

	assert_true(lv->n < 16);
	memcpy(lv->h[lv->n], e->leaf_hash, LEDGER_HASH_LEN);
	lv->info[lv->n] = *e;
	lv->info[lv->n++].text = NULL;
	return 0;
}

/* Root of entries [0, n) as stored, with entry idx's bytes replaced by
 * text. */
static void
root_with(struct fx *f, uint64_t n, uint64_t idx, const char *text,
    uint8_t root[LEDGER_HASH_LEN])
{
	struct ledger_merkle *m = ledger_merkle_new();
	struct leaves lv = { .n = 0 };

	assert_non_null(m);
	assert_int_equal(ledger_entries(f->l, 0, (size_t)n, leaf_cb, &lv), 0);
	assert_int_equal(lv.n, n);
	ledger_merkle_leaf_hash(text, strlen(text), lv.h[idx]);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(ledger_merkle_append(m, lv.h[i]), 0);
	assert_int_equal(ledger_merkle_root(m, n, root), 0);
	ledger_merkle_free(m);
}

/* A checkpoint note for (origin, size, root, t) signed by key as NODE. */
static void
make_checkpoint(const char *origin, uint64_t size,
    const uint8_t root[LEDGER_HASH_LEN], time_t t, EVP_PKEY *key, char *note,
    size_t len)
{
	char body[512], line[256];

	assert_int_equal(ledger_checkpoint_body(origin, size, root, t, body,
	    sizeof(body)), 0);
	assert_int_equal(ledger_note_sign_line(body, strlen(body), NODE, key,
	    line, sizeof(line)), 0);
	assert_true((size_t)snprintf(note, len, "%s\n%s", body, line) < len);
}

/* SQL storing block h's root (hex) and, when note is set, checkpoint and
 * time. */
static void
set_block(struct fx *f, uint64_t h, const uint8_t root[LEDGER_HASH_LEN],
    const char *note, time_t t)
{
	char hex[2 * LEDGER_HASH_LEN + 1], q1[2048], q2[2048];

	ledger_hex(root, LEDGER_HASH_LEN, hex);
	if (note == NULL) {
		snprintf(q1, sizeof(q1), "UPDATE blocks SET root = X'%s' WHERE "
		    "height = %llu", hex, (unsigned long long)h);
		snprintf(q2, sizeof(q2), "UPDATE blocks SET root = decode('%s',"
		    " 'hex') WHERE height = %llu", hex, (unsigned long long)h);
	} else {
		assert_null(strchr(note, '\''));
		snprintf(q1, sizeof(q1), "UPDATE blocks SET root = X'%s', "
		    "checkpoint = '%s', time = %lld WHERE height = %llu", hex,
		    note, (long long)t, (unsigned long long)h);
		snprintf(q2, sizeof(q2), "UPDATE blocks SET root = decode('%s',"
		    " 'hex'), checkpoint = '%s', time = %lld WHERE height = "
		    "%llu", hex, note, (long long)t, (unsigned long long)h);
	}
	db_exec(f, q1, q2);
}

/*
 * An admin rewrites entry 5 (re-signed: another device name) and makes
 * its leaf hash and the registry row agree: every entry check holds, and
 * only the recomputed root, compared with block 5's stored root, shows it.
 */
static void
test_rewritten_entry_is_caught_by_the_block_root(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	char *note = reg_note(f, 2, "cam-9"), sql[256];

	expect_ok(f, NULL, 0);
	set_entry(f, 5, note);
	snprintf(sql, sizeof(sql), "UPDATE keys SET name = 'cam-9' WHERE "
	    "key_id = '%s'", f->id[2]);
	db_exec2(f, sql);
	expect_broken(f, f->vkey, NULL, 0, "block 5: stored root hash does "
	    "not match the entries", &rep);
	assert_int_equal(rep.bad_block, 5);
	free(note);
}

/* ... and with block 5's root column rewritten to match, the checkpoint
 * (which states the root the node signed) shows it. */
static void
test_rewritten_block_root_is_caught_by_its_checkpoint(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	uint8_t root[LEDGER_HASH_LEN];
	char *note = reg_note(f, 2, "cam-9"), sql[256];

	root_with(f, 6, 5, note, root);
	set_entry(f, 5, note);
	snprintf(sql, sizeof(sql), "UPDATE keys SET name = 'cam-9' WHERE "
	    "key_id = '%s'", f->id[2]);
	db_exec2(f, sql);
	set_block(f, 5, root, NULL, 0);
	expect_broken(f, f->vkey, NULL, 0, "block 5: checkpoint does not "
	    "state the block's size, root and time", &rep);
	assert_int_equal(rep.bad_block, 5);
	free(note);
}

/* ... and with a checkpoint that states the new root, signed by a key
 * that is not the node's (under the node's name), the signature check. */
static void
test_checkpoint_signed_by_a_foreign_key_is_refused(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct ledger_block_row b;
	uint8_t root[LEDGER_HASH_LEN];
	char *note = reg_note(f, 2, "cam-9"), sql[256], cp[1024];
	time_t t;
	char origin[64];
	uint64_t size;

	/* block 5's time, from its checkpoint */
	assert_int_equal(ledger_checkpoint(f->l, cp, sizeof(cp), &size), 0);
	assert_int_equal(size, 6);
	assert_int_equal(ledger_checkpoint_parse(cp, strlen(cp), origin,
	    sizeof(origin), &size, b.root, &t), 0);
	root_with(f, 6, 5, note, root);
	make_checkpoint(ORIGIN, 6, root, t, f->foreign, cp, sizeof(cp));
	set_entry(f, 5, note);
	snprintf(sql, sizeof(sql), "UPDATE keys SET name = 'cam-9' WHERE "
	    "key_id = '%s'", f->id[2]);
	db_exec2(f, sql);
	set_block(f, 5, root, cp, t);
	expect_broken(f, f->vkey, NULL, 0, "block 5: checkpoint is not signed "
	    "by the validator key", &rep);
	assert_int_equal(rep.bad_block, 5);
	free(note);
}

/* The node re-signs block 5's checkpoint with another status map root
 * (hiding key 2's registration from status proofs): the replay's own map
 * catches it. */
static void
test_checkpoint_with_another_map_root_is_refused(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	uint8_t root[LEDGER_HASH_LEN], map[LEDGER_HASH_LEN];
	char cp[1024], body[512], line[256], origin[64];
	uint64_t size;
	time_t t;

	expect_ok(f, NULL, 0);
	assert_int_equal(ledger_checkpoint(f->l, cp, sizeof(cp), &size), 0);
	assert_int_equal(ledger_checkpoint_parse(cp, strlen(cp), origin,
	    sizeof(origin), &size, root, &t), 0);
	assert_int_equal(ledger_checkpoint_map_root(cp, strlen(cp), map), 0);
	map[0] ^= 1;
	assert_int_equal(ledger_checkpoint_body_map(ORIGIN, size, root, t, map,
	    body, sizeof(body)), 0);
	assert_int_equal(ledger_note_sign_line(body, strlen(body), NODE,
	    f->node, line, sizeof(line)), 0);
	snprintf(cp, sizeof(cp), "%s\n%s", body, line);
	set_block(f, 5, root, cp, t);
	expect_broken(f, f->vkey, NULL, 0, "block 5: the checkpoint's status "
	    "map root is not the one of the replayed registry", &rep);
	assert_int_equal(rep.bad_block, 5);
}

/* A well-formed verifier key of another Ed25519 key (with the node's
 * name): the first block's checkpoint already fails. */
static void
test_foreign_verifier_key_fails_every_checkpoint(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	char foreign[256], name[LEDGER_NAME_MAX + 1];
	EVP_PKEY *pk;

	assert_int_equal(ledger_key_vkey(f->foreign, NODE, foreign,
	    sizeof(foreign)), 0);
	/* well-formed: it parses, so the signature check is what fails */
	assert_non_null(pk = ledger_note_vkey_parse(foreign, name,
	    sizeof(name)));
	EVP_PKEY_free(pk);
	expect_broken(f, foreign, NULL, 0, "block 0: checkpoint is not signed "
	    "by the validator key", &rep);
	assert_int_equal(rep.bad_block, 0);
	expect_ok(f, NULL, 0);
}

/* The type, account and seq columns of an entry, each changed alone,
 * must agree with the entry text (readers index by them). */
static void
test_stored_columns_must_match_the_entry_text(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	static const char *const tamper[] = {
		"UPDATE entries SET type = 4 WHERE idx = 4",
		"UPDATE entries SET account = 'ops' WHERE idx = 4",
		"UPDATE entries SET seq = 99 WHERE idx = 4",
	};

	for (size_t i = 0; i < sizeof(tamper) / sizeof(tamper[0]); i++) {
		db_exec2(f, tamper[i]);
		expect_broken(f, f->vkey, NULL, 0, "entry 4: stored type, "
		    "account or seq columns differ from the entry text", &rep);
		assert_int_equal(rep.bad_index, 4);
		db_exec2(f, "UPDATE entries SET type = 3, account = 'admin', "
		    "seq = 5 WHERE idx = 4");
		expect_ok(f, NULL, 0);
	}
}

/* The node signs block 5 with a time before block 4's: its checkpoint
 * states that time, so only the monotonic-time check sees it. */
static void
test_ledger_time_going_backwards_is_refused(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	uint8_t root[LEDGER_HASH_LEN];
	char cp[1024], origin[64];
	uint64_t size;
	time_t t;

	assert_int_equal(ledger_checkpoint(f->l, cp, sizeof(cp), &size), 0);
	assert_int_equal(ledger_checkpoint_parse(cp, strlen(cp), origin,
	    sizeof(origin), &size, root, &t), 0);
	/* block 4's time is at least the entries' (t - 1 at most before) */
	make_checkpoint(ORIGIN, 6, root, t - 60, f->node, cp, sizeof(cp));
	set_block(f, 5, root, cp, t - 60);
	expect_broken(f, f->vkey, NULL, 0, "block 5: ledger time goes "
	    "backwards", &rep);
	assert_int_equal(rep.bad_block, 5);
}

/* The checkpoint fields of the ledger's latest checkpoint. */
static void
latest(struct fx *f, uint8_t root[LEDGER_HASH_LEN], time_t *t)
{
	char cp[1024], origin[64];
	uint64_t size;

	assert_int_equal(ledger_checkpoint(f->l, cp, sizeof(cp), &size), 0);
	assert_int_equal(ledger_checkpoint_parse(cp, strlen(cp), origin,
	    sizeof(origin), &size, root, t), 0);
}

/*
 * Trusted checkpoints: the ones the ledger signed (every receipt's, the
 * latest) hold; one larger than the stored tree is a rollback, one of
 * the same or a smaller size with another root a rewrite; one signed by
 * another key or of another origin is refused as such, even when it would
 * otherwise say "rolled back".  ledger_trusted_check (serve) agrees.
 */
static void
test_trusted_checkpoints_catch_rollback_and_rewrite(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct ledger_trusted t[NREG + 1];
	uint8_t root[LEDGER_HASH_LEN], other[LEDGER_HASH_LEN];
	char cp[1024], why[512];
	time_t tm;
	static const struct {
		const char *origin;
		uint64_t size;
		int other_root, foreign;
		const char *what;
	} bad[] = {
		{ ORIGIN, 9, 1, 1, "forged: the trusted checkpoint is not "
		    "signed by the validator key" },
		{ "other/ledger", 6, 0, 0, "forged: the trusted checkpoint is "
		    "of ledger \"other/ledger\", not of this ledger "
		    "(\"test/ledger\")" },
		{ ORIGIN, 9, 1, 0, "the stored ledger has 6 entries, fewer "
		    "than the trusted checkpoint's 9 (forged): it was rolled "
		    "back" },
		{ ORIGIN, 6, 1, 0, "root at size 6 differs from the trusted "
		    "checkpoint (forged): the ledger was rewritten" },
		{ ORIGIN, 4, 1, 0, "root at size 4 differs from the trusted "
		    "checkpoint (forged): the ledger was rewritten" },
		{ ORIGIN, 0, 1, 0, "root at size 0 differs from the trusted "
		    "checkpoint (forged): the ledger was rewritten" },
	};

	memset(t, 0, sizeof(t));
	for (int i = 0; i < NREG; i++) {
		t[i].source = "receipt";
		t[i].note = f->rc[i].checkpoint;
		t[i].receipt = 1;
		t[i].index = f->rc[i].index;
		t[i].tree_size = f->rc[i].tree_size;
		memcpy(t[i].leaf_hash, f->rc[i].leaf_hash, LEDGER_HASH_LEN);
	}
	assert_int_equal(ledger_checkpoint(f->l, cp, sizeof(cp), NULL), 0);
	t[NREG].source = "latest";
	t[NREG].note = cp;
	expect_ok(f, t, NREG + 1);
	assert_int_equal(ledger_verify_trusted(f->db, f->vkey, t, NREG + 1,
	    &rep, NULL, NULL), 0);
	assert_string_equal(rep.checkpoint, cp);
	for (int i = 0; i <= NREG; i++)
		assert_int_equal(ledger_trusted_check(f->l, f->vkey, &t[i], why,
		    sizeof(why)), 0);

	latest(f, root, &tm);
	memset(other, 0x5a, sizeof(other));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ledger_trusted one = { .source = "forged", .note = cp };

		make_checkpoint(bad[i].origin, bad[i].size, bad[i].other_root ?
		    other : root, tm, bad[i].foreign ? f->foreign : f->node, cp,
		    sizeof(cp));
		expect_broken(f, f->vkey, &one, 1, bad[i].what, &rep);
		assert_int_equal(rep.bad_trusted, 0);
		assert_int_equal(ledger_trusted_check(f->l, f->vkey, &one, why,
		    sizeof(why)), -1);
		assert_string_equal(why, bad[i].what);
	}
	/* the empty tree's true root is consistent with every tree */
	SHA256((const unsigned char *)"", 0, root);
	make_checkpoint(ORIGIN, 0, root, tm, f->node, cp, sizeof(cp));
	t[0] = (struct ledger_trusted){ .source = "empty", .note = cp };
	expect_ok(f, t, 1);
}

/* A receipt holds only for the entry it names, in a checkpoint of its
 * own tree size; a note that is not a checkpoint is a bad argument (-1,
 * before any replay), not a broken ledger. */
static void
test_receipt_must_name_the_stored_entry(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct ledger_trusted t;

	memset(&t, 0, sizeof(t));
	t.source = "receipt";
	t.note = f->rc[1].checkpoint;
	t.receipt = 1;
	t.index = f->rc[1].index;
	t.tree_size = f->rc[1].tree_size;
	memcpy(t.leaf_hash, f->rc[2].leaf_hash, LEDGER_HASH_LEN);
	expect_broken(f, f->vkey, &t, 1, "receipt: entry 4 of the stored "
	    "ledger is not the receipt's (its leaf hash differs)", &rep);
	memcpy(t.leaf_hash, f->rc[1].leaf_hash, LEDGER_HASH_LEN);
	expect_ok(f, &t, 1);
	t.tree_size = 6;
	expect_broken(f, f->vkey, &t, 1, "receipt: the receipt's index 4 and "
	    "tree_size 6 do not fit its checkpoint of size 5", &rep);
	t.note = "keybridge/ledger\nnot a size\n";
	assert_int_equal(ledger_verify_trusted(f->db, f->vkey, &t, 1, &rep,
	    NULL, NULL), -1);
	assert_false(rep.ok);
	assert_int_equal(rep.bad_trusted, 0);
	assert_non_null(strstr(rep.what, "receipt: not a checkpoint note"));
}

/* docs/design.md "Storage": synchronous=FULL on every SQLite connection the
 * store opens, writer, reader and verify's read-only one (a missing fsync
 * shows only in a power cut, so the setting itself is asserted), and on
 * the writer's again after a block's signature was saved (its own
 * transaction runs with NORMAL: ss_block_sign); and temp_store=MEMORY,
 * verify's replay registry too (the per-entry savepoint's journal was a
 * temporary file rewritten at every entry). */
static void
test_every_sqlite_connection_runs_synchronous_full(void **state)
{
	struct fx *f = *state;
	static const int flags[] = { LEDGER_STORE_CREATE, 0,
	    LEDGER_STORE_READONLY };
	struct ledger_store *s;
	struct ledger_block_row b, again;
	char err[256];

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		s = ledger_store_open(f->db, flags[i], err, sizeof(err));
		if (s == NULL)
			fail_msg("open with flags %d: %s", flags[i], err);
		assert_int_equal(ledger_store_sqlite_synchronous(s), 2);
		/* each entry's savepoint journal in memory, not a file */
		assert_int_equal(ledger_store_sqlite_pragma(s, "temp_store"),
		    2);
		if (flags[i] != LEDGER_STORE_READONLY) {
			assert_int_equal(s->ops->block_last(s, &b), 0);
			assert_int_equal(s->ops->block_sign(s, b.height,
			    b.checkpoint), 0);
			assert_int_equal(ledger_store_sqlite_synchronous(s), 2);
			assert_int_equal(s->ops->block_last(s, &again), 0);
			assert_string_equal(again.checkpoint, b.checkpoint);
		}
		s->ops->close(s);
	}
	/* verify's replay registry, SQLite's temporary file */
	s = ledger_store_sqlite_open("", LEDGER_STORE_CREATE, err,
	    sizeof(err));
	if (s == NULL)
		fail_msg("open the temporary store: %s", err);
	assert_int_equal(ledger_store_sqlite_pragma(s, "temp_store"), 2);
	s->ops->close(s);
}

/* PostgreSQL: a writer refuses a session with synchronous_commit = off,
 * unless the operator accepted it (LEDGER_STORE_ASYNC_OK); read-only
 * connections write nothing and are not asked. */
static void
test_postgresql_writer_refuses_synchronous_commit_off(void **state)
{
	struct fx *f = *state;
	struct ledger_store *s;
	char url[1200], err[512];

	snprintf(url, sizeof(url), "%s%%20-csynchronous_commit%%3Doff", f->db);
	assert_null(ledger_store_open(url, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "synchronous_commit = off"));
	s = ledger_store_open(url, LEDGER_STORE_ASYNC_OK, err, sizeof(err));
	assert_non_null(s);
	s->ops->close(s);
	s = ledger_store_open(f->db, 0, err, sizeof(err));
	assert_non_null(s);
	s->ops->close(s);
}

/* Each backend's own durability setting. */
static void
test_every_connection_commits_durably(void **state)
{
	struct fx *f = *state;

	if (f->be->pg_url == NULL)
		test_every_sqlite_connection_runs_synchronous_full(state);
	else
		test_postgresql_writer_refuses_synchronous_commit_off(state);
}

#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, \
	(void *)be)

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = {
		T(test_rewritten_entry_is_caught_by_the_block_root),
		T(test_rewritten_block_root_is_caught_by_its_checkpoint),
		T(test_checkpoint_signed_by_a_foreign_key_is_refused),
		T(test_checkpoint_with_another_map_root_is_refused),
		T(test_foreign_verifier_key_fails_every_checkpoint),
		T(test_stored_columns_must_match_the_entry_text),
		T(test_ledger_time_going_backwards_is_refused),
		T(test_trusted_checkpoints_catch_rollback_and_rewrite),
		T(test_receipt_must_name_the_stored_entry),
		T(test_every_connection_commits_durably),
	};
	char name[64];

	snprintf(name, sizeof(name), "ledger/verify (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	static const struct backend sqlite = { "sqlite", NULL };
	struct backend pg = { "postgresql", getenv("KB_TEST_PG_URL") };
	int rc = run_suite(&sqlite);

	if (pg.pg_url != NULL && pg.pg_url[0] != '\0')
		rc |= run_suite(&pg);
	return rc;
}
