/*
 * test_rules.c: every ledger rule, each with its negative case, through the
 * public API (ledger_append, ledger_submit, ledger_verify), on both storage
 * backends: a real SQLite file in a temporary directory always, and a real
 * PostgreSQL server when KB_TEST_PG_URL names one (scripts/run-unit.sh
 * starts one with scripts/pg.sh), each test in a fresh schema of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ledger/ledger_int.h"

#define TEST_ORIGIN "test/ledger"	/* the origin of every test ledger */

/* The backend a group of tests runs on (the tests' prestate). */
struct backend {
	const char *name;
	const char *pg_url;	/* NULL: SQLite */
};

struct fx {
	const struct backend *be;
	char dir[64], db[1024], vkey[256];
	char schema[64];	/* PostgreSQL: this test's schema */
	EVP_PKEY *node, *admin, *ops[3], *other, *bridge;
	struct ledger_consensus *cons;
	struct ledger *l;
	uint64_t seq_admin, seq_ops, seq_other;
};

/* Signs and appends an entry; returns the status. */
static enum ledger_status
put(struct fx *f, enum ledger_entry_type t, const char *as, uint64_t seq,
    time_t when, EVP_PKEY **keys, int nkeys, const struct ledger_field *fl,
    size_t n, struct ledger_receipt *r)
{
	struct ledger_receipt rr;
	enum ledger_status st;
	char why[256], *note = ledger_entry_body(t, as, seq, when, TEST_ORIGIN, fl, n);

	for (int i = 0; i < nkeys; i++)
		note = ledger_entry_sign(note, as, keys[i]);
	assert_non_null(note);
	st = ledger_append(f->l, note, strlen(note), r != NULL ? r : &rr, why,
	    sizeof(why));
	free(note);
	return st;
}

static void
b64key(EVP_PKEY *k, char *out)
{
	assert_int_equal(ledger_pubkey_to_b64(k, out, 256), 0);
}

/* Runs sql on the server of url; asserts it worked. */
static void
pg_exec_url(const char *url, const char *sql)
{
	PGconn *c = PQconnectdb(url);
	PGresult *r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

/* PostgreSQL: a fresh schema for this test, and a URL whose connections
 * use it (search_path), so every test starts from an empty database. */
static void
pg_fresh_schema(struct fx *f)
{
	static unsigned n;
	const char *url = f->be->pg_url;
	char sql[128];

	snprintf(f->schema, sizeof(f->schema), "kbt_%ld_%u", (long)getpid(),
	    n++);
	/* The name is made of numbers above, not of data. */
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
	pg_exec_url(url, sql);
	snprintf(f->db, sizeof(f->db), "%s%coptions=-csearch_path%%3D%s", url,
	    strchr(url, '?') != NULL ? '&' : '?', f->schema);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ledger_config lc;
	struct ledger_field fl[6];
	char k[4][256], err[256];

	f->be = *state;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kbtest.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (f->be->pg_url != NULL)
		pg_fresh_schema(f);
	else
		snprintf(f->db, sizeof(f->db), "%s/ledger.db", f->dir);
	f->node = ledger_key_generate("ed25519");
	f->admin = ledger_key_generate("ed25519");
	f->other = ledger_key_generate("ec-p256");
	for (int i = 0; i < 3; i++)
		f->ops[i] = ledger_key_generate(i == 1 ? "ec-p256" : "ed25519");
	assert_int_equal(ledger_key_vkey(f->node, "test-node", f->vkey,
	    sizeof(f->vkey)), 0);
	memset(&lc, 0, sizeof(lc));
	lc.db = f->db;
	lc.origin = TEST_ORIGIN;
	f->cons = ledger_consensus_solo_new(f->node, "test-node");
	lc.consensus = f->cons;
	f->l = ledger_open(&lc, err, sizeof(err));
	if (f->l == NULL)
		fail_msg("ledger_open(%s): %s", f->be->name, err);

	b64key(f->admin, k[0]);
	fl[0] = (struct ledger_field){ "name", "admin" };
	fl[1] = (struct ledger_field){ "role", "admin" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k[0] };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", 1, time(NULL),
	    &f->admin, 1, fl, 4, NULL), LEDGER_OK);
	/* ops: a 2-of-3 multi-signature admin account (Ed25519 + P-256). */
	for (int i = 0; i < 3; i++)
		b64key(f->ops[i], k[i + 1]);
	fl[0] = (struct ledger_field){ "name", "ops" };
	fl[2] = (struct ledger_field){ "threshold", "2" };
	fl[3] = (struct ledger_field){ "pubkey", k[1] };
	fl[4] = (struct ledger_field){ "pubkey", k[2] };
	fl[5] = (struct ledger_field){ "pubkey", k[3] };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", 2, time(NULL),
	    &f->admin, 1, fl, 6, NULL), LEDGER_OK);
	b64key(f->other, k[0]);
	fl[0] = (struct ledger_field){ "name", "other" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k[0] };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", 3, time(NULL),
	    &f->admin, 1, fl, 4, NULL), LEDGER_OK);
	f->seq_admin = 4;
	f->bridge = ledger_key_generate("ed25519");
	f->seq_ops = 1;
	f->seq_other = 1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	ledger_close(f->l);
	ledger_consensus_free(f->cons);
	EVP_PKEY_free(f->node);
	EVP_PKEY_free(f->admin);
	EVP_PKEY_free(f->other);
	EVP_PKEY_free(f->bridge);
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(f->ops[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	if (f->schema[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "DROP SCHEMA %s CASCADE", f->schema);
		pg_exec_url(f->be->pg_url, cmd);
	}
	free(f);
	return 0;
}

/* Fields of a key-register entry for a fresh key; id gets its key id. */
struct reg {
	char spki[256], id[LEDGER_KEYID_LEN + 1], nb[21], na[21];
	struct ledger_field fl[6];
};

static void
reg_fields(struct reg *r, EVP_PKEY *k, time_t nb, time_t na)
{
	uint8_t der[256];
	int len;

	if (k == NULL)
		k = ledger_key_generate("ec-p256");
	else
		EVP_PKEY_up_ref(k);
	b64key(k, r->spki);
	len = ledger_b64_decode(r->spki, strlen(r->spki), der, sizeof(der));
	assert_true(len > 0);
	ledger_spki_key_id(der, (size_t)len, r->id);
	EVP_PKEY_free(k);
	ledger_time_format(nb, r->nb);
	ledger_time_format(na, r->na);
	r->fl[0] = (struct ledger_field){ "key-id", r->id };
	r->fl[1] = (struct ledger_field){ "spki", r->spki };
	r->fl[2] = (struct ledger_field){ "name", "cam-1" };
	r->fl[3] = (struct ledger_field){ "profile", "device" };
	r->fl[4] = (struct ledger_field){ "not-before", r->nb };
	r->fl[5] = (struct ledger_field){ "not-after", r->na };
}

static enum ledger_status
register_as_admin(struct fx *f, struct reg *r)
{
	enum ledger_status st = put(f, LEDGER_KEY_REGISTER, "admin",
	    f->seq_admin, time(NULL), &f->admin, 1, r->fl, 6, NULL);

	if (st == LEDGER_OK)
		f->seq_admin++;
	return st;
}

static void
test_registered_key_gets_a_receipt_that_proves_inclusion(void **state)
{
	struct fx *f = *state;
	struct ledger_receipt rc;
	struct reg r;
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN], root[32], cr[32];
	char origin[64];
	uint64_t size;
	time_t t;
	size_t n;

	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin,
	    time(NULL), &f->admin, 1, r.fl, 6, &rc), LEDGER_OK);
	assert_int_equal(rc.index, 3);
	assert_int_equal(rc.tree_size, 4);
	assert_int_equal(ledger_note_verify_vkey(rc.checkpoint,
	    strlen(rc.checkpoint), f->vkey), 0);
	assert_int_equal(ledger_checkpoint_parse(rc.checkpoint,
	    strlen(rc.checkpoint), origin, sizeof(origin), &size, cr, &t), 0);
	assert_string_equal(origin, "test/ledger");
	assert_int_equal(size, 4);
	assert_int_equal(ledger_inclusion_proof(f->l, rc.index, size, proof,
	    &n), 0);
	assert_int_equal(ledger_merkle_verify_inclusion(rc.leaf_hash, rc.index,
	    size, (const uint8_t (*)[32])proof, n, cr), 0);
	assert_int_equal(ledger_root(f->l, size, root), 0);
	assert_memory_equal(root, cr, 32);
	/* negative control: another leaf does not verify */
	rc.leaf_hash[0] ^= 1;
	assert_int_equal(ledger_merkle_verify_inclusion(rc.leaf_hash, rc.index,
	    size, (const uint8_t (*)[32])proof, n, cr), -1);
}

static void
test_wrong_signature_is_refused(void **state)
{
	struct fx *f = *state;
	struct reg r;
	char why[256], *note, *p;
	enum ledger_status st;

	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	note = ledger_entry_body(LEDGER_KEY_REGISTER, "admin", f->seq_admin,
	    time(NULL), TEST_ORIGIN, r.fl, 6);
	note = ledger_entry_sign(note, "admin", f->admin);
	p = strstr(note, "cam-1");
	p[4] = '2';		/* the body changes after signing */
	st = ledger_append(f->l, note, strlen(note), NULL, why, sizeof(why));
	assert_int_equal(st, LEDGER_ERR_SIGNATURE);
	free(note);
	/* signed by a key that is not the account's */
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin,
	    time(NULL), &f->other, 1, r.fl, 6, NULL), LEDGER_ERR_SIGNATURE);
	assert_int_equal(ledger_size(f->l), 3);
	/* positive control */
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
}

static void
test_multisig_below_threshold_is_refused(void **state)
{
	struct fx *f = *state;
	struct reg r;
	EVP_PKEY *two[2] = { f->ops[0], f->ops[1] };
	EVP_PKEY *dup[2] = { f->ops[2], f->ops[2] };

	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "ops", f->seq_ops,
	    time(NULL), &f->ops[0], 1, r.fl, 6, NULL), LEDGER_ERR_THRESHOLD);
	/* the same key twice counts once */
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "ops", f->seq_ops,
	    time(NULL), dup, 2, r.fl, 6, NULL), LEDGER_ERR_THRESHOLD);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "ops", f->seq_ops,
	    time(NULL), two, 2, r.fl, 6, NULL), LEDGER_OK);
}

static void
test_replayed_sequence_is_refused(void **state)
{
	struct fx *f = *state;
	struct reg r1, r2;
	char why[256], *note;

	reg_fields(&r1, NULL, time(NULL), time(NULL) + 86400);
	note = ledger_entry_body(LEDGER_KEY_REGISTER, "admin", f->seq_admin,
	    time(NULL), TEST_ORIGIN, r1.fl, 6);
	note = ledger_entry_sign(note, "admin", f->admin);
	assert_int_equal(ledger_append(f->l, note, strlen(note), NULL, why,
	    sizeof(why)), LEDGER_OK);
	/* the very same bytes again */
	assert_int_equal(ledger_append(f->l, note, strlen(note), NULL, why,
	    sizeof(why)), LEDGER_ERR_SEQUENCE);
	free(note);
	/* a new entry with an old seq is refused; one that skips ahead is
	 * taken (gaps allowed), after which the skipped seq is old too */
	reg_fields(&r2, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin,
	    time(NULL), &f->admin, 1, r2.fl, 6, NULL), LEDGER_ERR_SEQUENCE);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin + 2,
	    time(NULL), &f->admin, 1, r2.fl, 6, NULL), LEDGER_OK);
	reg_fields(&r2, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin + 1,
	    time(NULL), &f->admin, 1, r2.fl, 6, NULL), LEDGER_ERR_SEQUENCE);
}

static void
test_key_is_registered_once_ever(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = ledger_key_generate("ed25519");
	struct reg r;
	struct ledger_field rv[2];
	EVP_PKEY *two[2] = { f->ops[0], f->ops[2] };

	reg_fields(&r, k, time(NULL), time(NULL) + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	assert_int_equal(register_as_admin(f, &r), LEDGER_ERR_DUPLICATE_KEY);
	/* by another account too */
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "ops", f->seq_ops,
	    time(NULL), two, 2, r.fl, 6, NULL), LEDGER_ERR_DUPLICATE_KEY);
	/* and after revocation */
	rv[0] = (struct ledger_field){ "key-id", r.id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    time(NULL), &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	assert_int_equal(register_as_admin(f, &r), LEDGER_ERR_DUPLICATE_KEY);
	EVP_PKEY_free(k);
}

static void
test_only_owner_revokes_and_revoked_stays_revoked(void **state)
{
	struct fx *f = *state;
	struct ledger_key_info ki;
	struct ledger_field rv[2];
	struct reg r;
	EVP_PKEY *two[2] = { f->ops[1], f->ops[2] };

	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	rv[0] = (struct ledger_field){ "key-id", r.id };
	rv[1] = (struct ledger_field){ "reason", "superseded" };
	/* ops is an admin too, but not the owner */
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "ops", f->seq_ops,
	    time(NULL), two, 2, rv, 2, NULL), LEDGER_ERR_NOT_OWNER);
	assert_int_equal(ledger_key_get(f->l, r.id, &ki), 0);
	assert_int_equal(ki.status, LEDGER_KEY_ACTIVE);
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    time(NULL), &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	assert_int_equal(ledger_key_get(f->l, r.id, &ki), 0);
	assert_int_equal(ki.status, LEDGER_KEY_REVOKED);
	assert_int_equal(ki.reason, LEDGER_REASON_SUPERSEDED);
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin,
	    time(NULL), &f->admin, 1, rv, 2, NULL), LEDGER_ERR_KEY_REVOKED);
	/* unknown key */
	rv[0] = (struct ledger_field){ "key-id", "00000000000000000000000000000"
	    "00000000000000000000000000000000000" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin,
	    time(NULL), &f->admin, 1, rv, 2, NULL), LEDGER_ERR_UNKNOWN_KEY);
}

static void
test_windows_and_times_are_checked_against_ledger_time(void **state)
{
	struct fx *f = *state;
	struct reg r;
	time_t now = time(NULL);

	/* a window that is already over */
	reg_fields(&r, NULL, now - 7200, now - 3600);
	assert_int_equal(register_as_admin(f, &r), LEDGER_ERR_WINDOW);
	/* not-after before not-before */
	reg_fields(&r, NULL, now + 7200, now + 3600);
	assert_int_equal(register_as_admin(f, &r), LEDGER_ERR_WINDOW);
	/* an entry from the far future or the far past */
	reg_fields(&r, NULL, now, now + 86400);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin,
	    now + 3600, &f->admin, 1, r.fl, 6, NULL), LEDGER_ERR_TIME);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin,
	    now - 2 * 86400, &f->admin, 1, r.fl, 6, NULL), LEDGER_ERR_TIME);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
}

static void
test_roles_limit_entry_types(void **state)
{
	struct fx *f = *state;
	struct ledger_field c[7];
	char nb[21], na[21];
	struct reg r;

	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	ledger_time_format(time(NULL), nb);
	ledger_time_format(time(NULL) + 3600, na);
	c[0] = (struct ledger_field){ "serial", "1f2e3d" };
	c[1] = (struct ledger_field){ "issuer", "issuing-1" };
	c[2] = (struct ledger_field){ "key-id", r.id };
	c[3] = (struct ledger_field){ "profile", "device" };
	c[4] = (struct ledger_field){ "not-before", nb };
	c[5] = (struct ledger_field){ "not-after", na };
	c[6] = (struct ledger_field){ "cert-sha256", r.id };
	/* certificate entries are the bridge role's, not an admin's */
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "admin", f->seq_admin,
	    time(NULL), &f->admin, 1, c, 7, NULL), LEDGER_ERR_PERMISSION);
	/* an unknown account */
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "nobody", 1, time(NULL),
	    &f->admin, 1, r.fl, 6, NULL), LEDGER_ERR_UNKNOWN_ACCOUNT);
}

static void
test_malformed_entries_are_refused_with_a_reason(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"",
		"garbage\n",
		"keybridge-entry v1\ntype key-register\n\n",
		"keybridge-entry v2\ntype key-register\naccount admin\nseq 1\n"
		    "time 2026-11-21T00:00:00Z\n\n\xe2\x80\x94 admin AAAA\n",
	};
	char why[256] = "", big[LEDGER_ENTRY_MAX + 10];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(ledger_append(f->l, bad[i], strlen(bad[i]),
		    NULL, why, sizeof(why)), LEDGER_ERR_MALFORMED);
		assert_true(strlen(why) > 0);
	}
	memset(big, 'a', sizeof(big));
	assert_int_equal(ledger_append(f->l, big, sizeof(big), NULL, why,
	    sizeof(why)), LEDGER_ERR_TOO_LARGE);
	assert_int_equal(ledger_size(f->l), 3);
}

static void
done_cb(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	int *ok = arg;

	if (st == LEDGER_OK && r != NULL && r->tree_size > r->index)
		(*ok)++;
}

/* Many submissions queued at once land in few blocks (group commit), all
 * acknowledged, and the result verifies. */
static void
test_group_commit_batches_submissions(void **state)
{
	struct fx *f = *state;
	struct ledger_counts c;
	struct ledger_verify_report rep;
	enum { N = 200 };
	int ok = 0;

	assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);
	for (int i = 0; i < N; i++) {
		struct reg r;
		char *note;

		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		note = ledger_entry_body(LEDGER_KEY_REGISTER, "admin",
		    f->seq_admin++, time(NULL), TEST_ORIGIN, r.fl, 6);
		note = ledger_entry_sign(note, "admin", f->admin);
		assert_int_equal(ledger_submit(f->l, note, strlen(note),
		    done_cb, &ok), 0);
		free(note);
	}
	ledger_writer_stop(f->l);
	assert_int_equal(ok, N);
	assert_int_equal(ledger_size(f->l), 3 + N);
	assert_int_equal(ledger_counts(f->l, &c), 0);
	assert_true(c.blocks < 3 + N);		/* batched */
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
	assert_int_equal(rep.entries, 3 + N);
}

struct block_results {
	int n;
	enum ledger_status st[8];
};

static void
block_results_cb(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct block_results *a = arg;

	if (a->n < 8)
		a->st[a->n++] = st;
}

/* Rows written by an entry are read afresh by the next entry of the same
 * block (the PostgreSQL store reads a block's rows ahead): a replayed seq
 * and a duplicate config version in one block are refused.  The four
 * submissions usually make one block; a few tries make sure one did. */
static void
test_rows_written_in_a_block_are_read_again(void **state)
{
	static const char *const vers[4] = { "v1", "v1", "v2", "v2" };
	struct fx *f = *state;
	struct ledger_counts c0, c1;
	struct ledger_field fl[3];
	struct block_results a;
	uint64_t seqs[4];
	char grp[32], *notes[4];
	int one_block = 0, i;

	for (int attempt = 0; attempt < 20 && !one_block; attempt++) {
		memset(&a, 0, sizeof(a));
		snprintf(grp, sizeof(grp), "sameblock%d", attempt);
		seqs[0] = seqs[1] = f->seq_admin;
		seqs[2] = f->seq_admin + 1;
		seqs[3] = f->seq_admin + 2;
		f->seq_admin += 2;
		for (i = 0; i < 4; i++) {
			fl[0] = (struct ledger_field){ "group", grp };
			fl[1] = (struct ledger_field){ "version", vers[i] };
			fl[2] = (struct ledger_field){ "sha256", i == 1 ?
			    "1111111111111111111111111111111111111111111111111111111111111111" :
			    "2222222222222222222222222222222222222222222222222222222222222222" };
			notes[i] = ledger_entry_sign(ledger_entry_body(
			    LEDGER_CONFIG_PUBLISH, "admin", seqs[i], time(NULL),
			    TEST_ORIGIN, fl, 3), "admin", f->admin);
			assert_non_null(notes[i]);
		}
		assert_int_equal(ledger_counts(f->l, &c0), 0);
		assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);
		for (i = 0; i < 4; i++)
			assert_int_equal(ledger_submit(f->l, notes[i],
			    strlen(notes[i]), block_results_cb, &a), 0);
		ledger_writer_stop(f->l);
		for (i = 0; i < 4; i++)
			free(notes[i]);
		assert_int_equal(a.n, 4);
		assert_int_equal(a.st[0], LEDGER_OK);
		assert_int_equal(a.st[1], LEDGER_ERR_SEQUENCE);
		assert_int_equal(a.st[2], LEDGER_OK);
		assert_int_equal(a.st[3], LEDGER_ERR_DUPLICATE_CONFIG);
		assert_int_equal(ledger_counts(f->l, &c1), 0);
		one_block = c1.blocks == c0.blocks + 1;
	}
	assert_true(one_block);
}

/* Edits the test's database behind the ledger's back: sqlite on SQLite,
 * pg on PostgreSQL (their dialects differ). */
static void
db_exec(struct fx *f, const char *sqlite, const char *pg)
{
	sqlite3 *h;

	if (f->be->pg_url != NULL) {
		pg_exec_url(f->db, pg);
		return;
	}
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sqlite, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void
test_verify_names_the_tampered_entry(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct reg r;

	for (int i = 0; i < 5; i++) {
		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	}
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
	/* a wrong validator key: every checkpoint fails */
	assert_int_equal(ledger_verify(f->db, "x+00000000+AQ", &rep, NULL,
	    NULL), 0);
	assert_false(rep.ok);
	/* change one byte of entry 5 (and its stored hash, to hide it) */
	db_exec(f, "UPDATE entries SET data = CAST(replace(CAST(data AS "
	    "TEXT), 'cam-1', 'cam-9') AS BLOB) WHERE idx = 5",
	    "UPDATE entries SET data = convert_to(replace(convert_from(data, "
	    "'UTF8'), 'cam-1', 'cam-9'), 'UTF8') WHERE idx = 5");
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_int_equal(rep.bad_index, 5);
	assert_non_null(strstr(rep.what, "entry 5"));
	db_exec(f, "UPDATE entries SET leaf_hash = zeroblob(32) WHERE idx = 5",
	    "UPDATE entries SET leaf_hash = decode(repeat('00', 32), 'hex') "
	    "WHERE idx = 5");
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_int_equal(rep.bad_index, 5);
}

static void
test_verify_finds_a_missing_entry_and_edited_state(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct reg r;

	for (int i = 0; i < 3; i++) {
		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	}
	db_exec(f, "UPDATE keys SET status = 1, name = 'evil'",
	    "UPDATE keys SET status = 1, name = 'evil'");
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_non_null(strstr(rep.what, "keys"));
	db_exec(f, "DELETE FROM entries WHERE idx = 4",
	    "DELETE FROM entries WHERE idx = 4");
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_int_equal(rep.bad_index, 4);
}

/* verify walks the configs table in pages ordered by (group, version),
 * past the page size, and names an edited row by its group and version. */
static void
test_verify_names_an_edited_config_row(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct ledger_field fl[3];
	char grp[16], ver[16];
	int i;

	for (i = 0; i < 300; i++) {		/* more than one page */
		snprintf(grp, sizeof(grp), "g%d", i % 3);
		snprintf(ver, sizeof(ver), "v%03d", i);
		fl[0] = (struct ledger_field){ "group", grp };
		fl[1] = (struct ledger_field){ "version", ver };
		fl[2] = (struct ledger_field){ "sha256", "2222222222222222222222"
		    "222222222222222222222222222222222222222222" };
		assert_int_equal(put(f, LEDGER_CONFIG_PUBLISH, "admin",
		    f->seq_admin++, time(NULL), &f->admin, 1, fl, 3, NULL),
		    LEDGER_OK);
	}
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
	db_exec(f, "UPDATE configs SET sha256 = '3333333333333333333333333333"
	    "333333333333333333333333333333333333' WHERE grp = 'g2' AND"
	    " version = 'v299'", "UPDATE configs SET sha256 = '3333333333333"
	    "333333333333333333333333333333333333333333333333333' WHERE grp ="
	    " 'g2' AND version = 'v299'");
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_non_null(strstr(rep.what, "configs"));
	assert_non_null(strstr(rep.what, "g2,v299"));
}

static void
test_truncated_database_is_reported_not_crashed_on(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct reg r;
	char cmd[1400], copy[160];
	struct stat st;

	for (int i = 0; i < 50; i++) {
		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	}
	ledger_close(f->l);	/* checkpoint the WAL into the file */
	f->l = NULL;
	if (f->be->pg_url != NULL) {
		/* PostgreSQL's files are the server's: lose a table instead. */
		db_exec(f, NULL, "DROP TABLE blocks");
		assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL,
		    NULL), 0);
		assert_false(rep.ok);
		assert_non_null(strstr(rep.what, "blocks"));
		return;
	}
	snprintf(copy, sizeof(copy), "%s/copy.db", f->dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", f->db, copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(stat(copy, &st), 0);
	assert_true(st.st_size > 8192);
	assert_int_equal(truncate(copy, st.st_size / 2), 0);
	assert_int_equal(ledger_verify(copy, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_true(strlen(rep.what) > 0);
}

/* Creates the bridge account (role bridge); returns its next seq. */
static uint64_t
make_bridge(struct fx *f)
{
	struct ledger_field fl[4];
	char bk[256];

	b64key(f->bridge, bk);
	fl[0] = (struct ledger_field){ "name", "bridge" };
	fl[1] = (struct ledger_field){ "role", "bridge" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", bk };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", f->seq_admin++,
	    time(NULL), &f->admin, 1, fl, 4, NULL), LEDGER_OK);
	return 1;
}

/* Fields of a cert-issued entry for key id, valid [nb, na). */
struct cert {
	char nb[21], na[21], serial[41];
	struct ledger_field fl[8];	/* 7, and 8 with cert_supersedes */
};

static void
cert_fields(struct cert *c, const char *serial, const char *key_id,
    time_t nb, time_t na)
{
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	ledger_time_format(nb, c->nb);
	ledger_time_format(na, c->na);
	c->fl[0] = (struct ledger_field){ "serial", c->serial };
	c->fl[1] = (struct ledger_field){ "issuer", "issuing-1" };
	c->fl[2] = (struct ledger_field){ "key-id", key_id };
	c->fl[3] = (struct ledger_field){ "profile", "device" };
	c->fl[4] = (struct ledger_field){ "not-before", c->nb };
	c->fl[5] = (struct ledger_field){ "not-after", c->na };
	c->fl[6] = (struct ledger_field){ "cert-sha256", key_id };
}

/* Makes c name the certificate it supersedes (its 8th field). */
static void
cert_supersedes(struct cert *c, const char *serial)
{
	c->fl[7] = (struct ledger_field){ "supersedes", serial };
}

/* Certificates are recorded by the bridge role only, for an active key,
 * inside its window, once per serial; then revoked on their own once. */
static void
test_certificate_entries_follow_the_key(void **state)
{
	struct fx *f = *state;
	struct ledger_field rv[2];
	struct ledger_counts cnt;
	struct reg r;
	struct cert c;
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);

	reg_fields(&r, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);

	cert_fields(&c, "1f2e3d", r.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	/* the same serial again */
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_ERR_DUPLICATE_SERIAL);
	/* a certificate that outlives the key's window */
	cert_fields(&c, "2a", r.id, now, now + 2 * 86400);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_ERR_WINDOW);
	/* an unregistered key */
	cert_fields(&c, "2b", "00000000000000000000000000000000000000000000000"
	    "00000000000000000", now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_ERR_UNKNOWN_KEY);
	/* revoked on its own (superseded), once */
	rv[0] = (struct ledger_field){ "serial", "1f2e3d" };
	rv[1] = (struct ledger_field){ "reason", "superseded" };
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "bridge", bseq++, now,
	    &f->bridge, 1, rv, 2, NULL), LEDGER_OK);
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "bridge", bseq, now,
	    &f->bridge, 1, rv, 2, NULL), LEDGER_ERR_CERT_REVOKED);
	/* after the key is revoked, no new certificate for it */
	rv[0] = (struct ledger_field){ "key-id", r.id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	cert_fields(&c, "3c", r.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_ERR_KEY_REVOKED);
	assert_int_equal(ledger_counts(f->l, &cnt), 0);
	assert_int_equal(cnt.certs_good, 0);
	assert_int_equal(cnt.certs_revoked, 1);
}

/* ---- certificates carried by cert-issued entries ----------------------- */

/* A CA (key and self-signed certificate with a subject key identifier)
 * and a leaf for key k signed by it: serial, validity nb..na. */
static X509 *
make_cert(EVP_PKEY *cakey, X509 *ca, EVP_PKEY *k, uint64_t serial, time_t nb,
    time_t na)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	assert_non_null(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)(ca == NULL ? "ca" : "leaf"), -1, -1, 0), 1);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
	    serial), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), na));
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, ca == NULL ? n :
	    X509_get_subject_name(ca)), 1);
	assert_int_equal(X509_set_pubkey(x, k), 1);
	X509V3_set_ctx(&ctx, ca == NULL ? x : ca, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, ca == NULL ?
	    NID_subject_key_identifier : NID_authority_key_identifier,
	    ca == NULL ? "hash" : "keyid:always");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, cakey, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

/* Fields of a cert-issued entry that carries x (DER, base64); c's text
 * buffers hold the values. */
struct certrec {
	char serial[41], issuer[65], sha[65], nb[21], na[21], b64[4096];
	struct ledger_field fl[8];
};

static void
certrec_fields(struct certrec *c, X509 *x, X509 *ca, const char *key_id)
{
	unsigned char *der = NULL, md[32];
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	struct tm tm;
	int len = i2d_X509(x, &der);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = BN_bn2hex(bn);

	assert_true(len > 0 && ski != NULL && hex != NULL);
	for (char *p = hex; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	snprintf(c->serial, sizeof(c->serial), "%s", hex + (hex[0] == '0'));
	ledger_hex(ski->data, (size_t)ski->length, c->issuer);
	SHA256(der, (size_t)len, md);
	ledger_hex(md, sizeof(md), c->sha);
	assert_int_equal(ledger_b64_encode(der, (size_t)len, c->b64,
	    sizeof(c->b64)), 0);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm), 1);
	ledger_time_format(timegm(&tm), c->nb);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	ledger_time_format(timegm(&tm), c->na);
	c->fl[0] = (struct ledger_field){ "serial", c->serial };
	c->fl[1] = (struct ledger_field){ "issuer", c->issuer };
	c->fl[2] = (struct ledger_field){ "key-id", key_id };
	c->fl[3] = (struct ledger_field){ "profile", "device" };
	c->fl[4] = (struct ledger_field){ "not-before", c->nb };
	c->fl[5] = (struct ledger_field){ "not-after", c->na };
	c->fl[6] = (struct ledger_field){ "cert-sha256", c->sha };
	c->fl[7] = (struct ledger_field){ "cert", c->b64 };
	OPENSSL_free(der);
	OPENSSL_free(hex);
	BN_free(bn);
}

/* ledger_cert_der for a serial: 1 also when it is not recorded. */
static int
cert_der(struct fx *f, const char *serial, uint8_t *der, size_t cap,
    size_t *len)
{
	struct ledger_cert_info ci;
	int rc = ledger_cert_get(f->l, serial, &ci);

	return rc != 0 ? rc : ledger_cert_der(f->l, &ci, der, cap, len);
}

/* A cert-issued entry may carry the certificate; then it must be exactly
 * what the entry says: its hash, serial, validity, the registered key and
 * the issuer.  The ledger hands the recorded DER back. */
static void
test_recorded_certificate_must_match_its_entry(void **state)
{
	struct fx *f = *state;
	struct reg r, r2;
	struct certrec c;
	EVP_PKEY *k = ledger_key_generate("ec-p256"), *other =
	    ledger_key_generate("ec-p256"), *cakey =
	    ledger_key_generate("ec-p256");
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);
	X509 *ca = make_cert(cakey, NULL, cakey, 1, now - 60, now + 86400);
	X509 *x = make_cert(cakey, ca, k, 0x1f2e3d4c5b, now, now + 3600);
	uint8_t der[4096], want[4096], *p = want;
	struct cert h;
	size_t len = 0;
	int wantlen;
	char bad[65];

	reg_fields(&r, k, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	reg_fields(&r2, other, now - 60, now + 86400);
	r2.fl[2] = (struct ledger_field){ "name", "cam-2" };
	assert_int_equal(register_as_admin(f, &r2), LEDGER_OK);

	/* each field in turn made wrong: refused, nothing recorded */
	certrec_fields(&c, x, ca, r.id);
	snprintf(bad, sizeof(bad), "%s", c.sha);
	bad[0] = bad[0] == '0' ? '1' : '0';
	c.fl[6].value = bad;
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	certrec_fields(&c, x, ca, r.id);
	c.fl[0].value = "1f2e3d4c5c";
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	certrec_fields(&c, x, ca, r.id);
	c.fl[1].value = "issuing-1";
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	certrec_fields(&c, x, ca, r2.id);	/* the other key's entry */
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	certrec_fields(&c, x, ca, r.id);
	ledger_time_format(now + 1800, c.na);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	certrec_fields(&c, x, ca, r.id);
	c.fl[7].value = "MAMCAQA=";		/* DER, but no certificate */
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	assert_int_equal(cert_der(f, c.serial, der, sizeof(der),
	    &len), 1);

	/* the right one: recorded, and its DER comes back */
	certrec_fields(&c, x, ca, r.id);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_OK);
	assert_int_equal(cert_der(f, c.serial, der, sizeof(der),
	    &len), 0);
	wantlen = i2d_X509(x, &p);
	assert_int_equal(len, (size_t)wantlen);
	assert_memory_equal(der, want, len);
	/* a record by hash only (older entries) has no DER to give */
	cert_fields(&h, "77", r2.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, h.fl, 7, NULL), LEDGER_OK);
	assert_int_equal(cert_der(f, "77", der, sizeof(der), &len),
	    1);
	assert_int_equal(cert_der(f, "78", der, sizeof(der), &len),
	    1);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	EVP_PKEY_free(cakey);
}

/* What OCSP and the CRL read: a certificate is revoked on its own or
 * through its key (the earlier revocation wins), the revoked set of an
 * issuer lists exactly those, and ledger_changes reports the entries that
 * change a status with their serial and key. */
struct seen_changes {
	int issued, revoked, key_revoked, other, superseded;
	char last_serial[41], supersedes[41];
};

static int
collect_change(const struct ledger_change *ch, void *arg)
{
	struct seen_changes *s = arg;

	if (ch->type == LEDGER_CERT_ISSUED) {
		s->issued++;
		assert_string_equal(ch->issuer, "issuing-1");
		assert_int_equal(strlen(ch->key_id), 64);
		if (ch->supersedes[0] != '\0') {
			s->superseded++;
			snprintf(s->supersedes, sizeof(s->supersedes), "%s",
			    ch->supersedes);
		}
	} else if (ch->type == LEDGER_CERT_REVOKED)
		s->revoked++;
	else if (ch->type == LEDGER_KEY_REVOKE)
		s->key_revoked++;
	else
		s->other++;
	snprintf(s->last_serial, sizeof(s->last_serial), "%s", ch->serial);
	return 0;
}

struct seen_revoked {
	int n;
	char serial[4][41];
	int reason[4];
};

static int
collect_revoked(const struct ledger_cert_info *c, void *arg)
{
	struct seen_revoked *s = arg;
	time_t at;
	int reason;

	assert_true(s->n < 4);
	assert_int_equal(ledger_cert_revoked(c, &at, &reason), 1);
	snprintf(s->serial[s->n], sizeof(s->serial[0]), "%s", c->serial);
	s->reason[s->n++] = reason;
	return 0;
}

static void
test_revocation_reaches_certificates_and_changes(void **state)
{
	struct fx *f = *state;
	struct ledger_field rv[2];
	struct ledger_cert_info ci;
	struct seen_changes ch;
	struct seen_revoked sr;
	struct reg a, b, d;
	struct cert c;
	time_t now = time(NULL), at;
	uint64_t bseq = make_bridge(f), from, next;
	int reason;

	reg_fields(&a, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &a), LEDGER_OK);
	reg_fields(&b, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &b), LEDGER_OK);
	reg_fields(&d, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &d), LEDGER_OK);
	from = ledger_size(f->l);
	cert_fields(&c, "a1", a.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	/* a renewal: a2 supersedes a1, which is revoked in the same entry */
	cert_fields(&c, "a2", a.id, now, now + 3600);
	cert_supersedes(&c, "a1");
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_OK);
	cert_fields(&c, "b1", b.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	cert_fields(&c, "d1", d.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	assert_int_equal(ledger_cert_get(f->l, "a2", &ci), 0);
	assert_int_equal(ledger_cert_revoked(&ci, &at, &reason), 0);

	rv[0] = (struct ledger_field){ "serial", "d1" };
	rv[1] = (struct ledger_field){ "reason", "cessationOfOperation" };
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "bridge", bseq++, now,
	    &f->bridge, 1, rv, 2, NULL), LEDGER_OK);
	rv[0] = (struct ledger_field){ "key-id", a.id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);

	/* a2 is revoked through its key, a1 keeps its own earlier reason */
	assert_int_equal(ledger_cert_get(f->l, "a2", &ci), 0);
	assert_int_equal(ledger_cert_revoked(&ci, &at, &reason), 1);
	assert_int_equal(reason, LEDGER_REASON_KEY_COMPROMISE);
	assert_int_equal(ledger_cert_get(f->l, "a1", &ci), 0);
	assert_int_equal(ledger_cert_revoked(&ci, &at, &reason), 1);
	assert_int_equal(reason, LEDGER_REASON_SUPERSEDED);
	/* negative control: b1 stays good */
	assert_int_equal(ledger_cert_get(f->l, "b1", &ci), 0);
	assert_int_equal(ledger_cert_revoked(&ci, &at, &reason), 0);

	memset(&sr, 0, sizeof(sr));
	assert_int_equal(ledger_certs_revoked(f->l, "issuing-1", now,
	    collect_revoked, &sr), 0);
	assert_int_equal(sr.n, 3);
	for (int i = 0; i < 3; i++)
		assert_true(strcmp(sr.serial[i], "a1") == 0 ||
		    strcmp(sr.serial[i], "a2") == 0 ||
		    strcmp(sr.serial[i], "d1") == 0);
	/* expired certificates leave the CRL; another issuer has none */
	memset(&sr, 0, sizeof(sr));
	assert_int_equal(ledger_certs_revoked(f->l, "issuing-1", now + 7200,
	    collect_revoked, &sr), 0);
	assert_int_equal(sr.n, 0);
	assert_int_equal(ledger_certs_revoked(f->l, "issuing-2", now,
	    collect_revoked, &sr), 0);
	assert_int_equal(sr.n, 0);

	memset(&ch, 0, sizeof(ch));
	assert_int_equal(ledger_changes(f->l, from, LEDGER_LIST_MAX, &next,
	    collect_change, &ch), 0);
	assert_int_equal(next, ledger_size(f->l));
	assert_int_equal(ch.issued, 4);
	assert_int_equal(ch.revoked, 1);
	assert_int_equal(ch.key_revoked, 1);
	assert_int_equal(ch.other, 0);
	/* the renewal reports the certificate it revoked */
	assert_int_equal(ch.superseded, 1);
	assert_string_equal(ch.supersedes, "a1");
	/* the key registrations before `from` are not changes */
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(ledger_changes(f->l, 0, LEDGER_LIST_MAX, &next,
	    collect_change, &ch), 0);
	assert_int_equal(ch.issued, 4);
	assert_int_equal(ch.other, 0);
}

/* An admin pre-authorises one generated key; the bridge registers it once,
 * only with exactly the pre-authorised fields, and the admin owns it. */
static void
test_preauth_lets_the_bridge_register_one_matching_key(void **state)
{
	struct fx *f = *state;
	static const char id[] = "00112233445566778899aabbccddeeff";
	struct ledger_field pf[7], kf[7], rv[2];
	struct ledger_key_info ki;
	struct ledger_verify_report rep;
	char nb[21], na[21], ex[21];
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);
	struct reg r, other;

	ledger_time_format(now, nb);
	ledger_time_format(now + 86400, na);
	ledger_time_format(now + 3600, ex);
	pf[0] = (struct ledger_field){ "preauth-id", id };
	pf[1] = (struct ledger_field){ "name", "cam-1" };
	pf[2] = (struct ledger_field){ "profile", "device" };
	pf[3] = (struct ledger_field){ "not-before", nb };
	pf[4] = (struct ledger_field){ "not-after", na };
	pf[5] = (struct ledger_field){ "expires", ex };
	pf[6] = (struct ledger_field){ "secret-sha256", "aa00000000000000000000"
	    "00000000000000000000000000000000000000000a" };
	/* only admins pre-authorise */
	assert_int_equal(put(f, LEDGER_KEY_PREAUTH, "bridge", bseq, now,
	    &f->bridge, 1, pf, 7, NULL), LEDGER_ERR_PERMISSION);
	assert_int_equal(put(f, LEDGER_KEY_PREAUTH, "admin", f->seq_admin++,
	    now, &f->admin, 1, pf, 7, NULL), LEDGER_OK);
	assert_int_equal(put(f, LEDGER_KEY_PREAUTH, "admin", f->seq_admin,
	    now, &f->admin, 1, pf, 7, NULL), LEDGER_ERR_PREAUTH_EXISTS);

	reg_fields(&r, NULL, now, now + 86400);
	memcpy(kf, r.fl, sizeof(r.fl));
	kf[6] = (struct ledger_field){ "preauth", id };
	/* the bridge without a pre-authorisation, an admin citing one */
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    &f->bridge, 1, r.fl, 6, NULL), LEDGER_ERR_PERMISSION);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin,
	    now, &f->admin, 1, kf, 7, NULL), LEDGER_ERR_PERMISSION);
	/* a field that differs from the slot */
	kf[2] = (struct ledger_field){ "name", "cam-2" };
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    &f->bridge, 1, kf, 7, NULL), LEDGER_ERR_PREAUTH);
	kf[2] = (struct ledger_field){ "name", "cam-1" };
	/* an unknown slot */
	kf[6] = (struct ledger_field){ "preauth",
	    "ffffffffffffffffffffffffffffffff" };
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    &f->bridge, 1, kf, 7, NULL), LEDGER_ERR_PREAUTH);
	kf[6] = (struct ledger_field){ "preauth", id };
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", bseq++, now,
	    &f->bridge, 1, kf, 7, NULL), LEDGER_OK);
	assert_int_equal(ledger_key_get(f->l, r.id, &ki), 0);
	assert_string_equal(ki.account, "admin");	/* the admin owns it */
	/* used up: a second key under the same slot */
	reg_fields(&other, NULL, now, now + 86400);
	memcpy(kf, other.fl, sizeof(other.fl));
	kf[6] = (struct ledger_field){ "preauth", id };
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    &f->bridge, 1, kf, 7, NULL), LEDGER_ERR_PREAUTH);
	/* the owning admin revokes it */
	rv[0] = (struct ledger_field){ "key-id", r.id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
}

/* A schema-1 database (before pre-authorisations, the CRL's index and the
 * kept counts) is migrated forward when opened for writing, keeping
 * everything; the counts are seeded from the rows and then kept. */
static void
test_old_schema_is_migrated_forward(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct ledger_config lc;
	struct ledger_counts c;
	char err[256];
	struct reg r;

	ledger_close(f->l);
	f->l = NULL;
	db_exec(f, "DROP TABLE preauths; DROP INDEX certs_revoked; "
	    "DROP TABLE counters; DROP TRIGGER count_entries; "
	    "DROP TRIGGER IF EXISTS count_blocks; DROP TRIGGER count_keys; "
	    "DROP TRIGGER count_key_revoked; DROP TRIGGER count_certs; "
	    "DROP TRIGGER count_cert_revoked; "
	    "DROP INDEX certs_good_by_expiry; "
	    "UPDATE meta SET v = '1' WHERE k = 'schema'",
	    /* the triggers go with their functions */
	    "DROP TABLE preauths; DROP INDEX certs_revoked; "
	    "DROP TABLE counters; DROP FUNCTION IF EXISTS count_entries, "
	    "count_blocks, count_keys, count_key_revoked, count_certs, "
	    "count_cert_revoked CASCADE; DROP INDEX certs_good_by_expiry; "
	    "UPDATE meta SET v = '1' WHERE k = 'schema'");
	memset(&lc, 0, sizeof(lc));
	lc.db = f->db;
	lc.origin = TEST_ORIGIN;
	/* read-only cannot migrate: a clear refusal */
	assert_null(ledger_open(&lc, err, sizeof(err)));
	assert_non_null(strstr(err, "schema"));
	lc.consensus = f->cons;
	f->l = ledger_open(&lc, err, sizeof(err));
	assert_non_null(f->l);
	assert_int_equal(ledger_size(f->l), 3);
	assert_int_equal(ledger_counts(f->l, &c), 0);
	assert_int_equal(c.entries, 3);
	assert_int_equal(c.by_type[LEDGER_ACCOUNT_CREATE], 3);
	assert_int_equal(c.keys_active, 0);
	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	assert_int_equal(ledger_counts(f->l, &c), 0);
	assert_int_equal(c.entries, 4);
	assert_int_equal(c.keys_active, 1);
	assert_int_equal(ledger_preauth_get(f->l,
	    "00000000000000000000000000000000",
	    &(struct ledger_preauth_info){ 0 }), 1);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
}

/* A consensus that never reaches a quorum (a PBFT with too few live
 * validators, say): nothing may be acknowledged or kept. */
static time_t
noq_time(struct ledger_consensus *c, time_t last)
{
	return time(NULL) < last ? last : time(NULL);
}

static int
noq_seal(struct ledger_consensus *c, uint64_t h, const char *body,
    char *note, size_t len)
{
	return -1;
}

static void
test_unsealed_block_is_not_acknowledged_or_kept(void **state)
{
	struct fx *f = *state;
	static const struct ledger_consensus_ops noq_ops = {
		.name = "noquorum", .block_time = noq_time, .seal = noq_seal,
	};
	struct ledger_consensus noq = { &noq_ops };
	struct ledger_config lc;
	struct ledger_verify_report rep;
	struct ledger *good = f->l;
	struct reg r;
	char err[256];

	memset(&lc, 0, sizeof(lc));
	lc.db = f->db;
	lc.origin = TEST_ORIGIN;
	lc.consensus = &noq;
	ledger_close(good);
	f->l = ledger_open(&lc, err, sizeof(err));
	assert_non_null(f->l);
	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_ERR_STORAGE);
	assert_int_equal(ledger_size(f->l), 3);
	assert_int_equal(ledger_key_get(f->l, r.id,
	    &(struct ledger_key_info){ 0 }), 1);
	ledger_close(f->l);
	/* with a working consensus the same entry goes in at index 3 */
	lc.consensus = f->cons;
	f->l = ledger_open(&lc, err, sizeof(err));
	assert_non_null(f->l);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	assert_int_equal(ledger_size(f->l), 4);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
}

/* Queues n key registrations signed by account `as` (key k, seqs from
 * *seq on) on ledger l; ok counts the acknowledged ones. */
static void
submit_regs(struct ledger *l, const char *as, EVP_PKEY *k, uint64_t *seq,
    int n, int *ok)
{
	for (int i = 0; i < n; i++) {
		struct reg r;
		char *note;

		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		note = ledger_entry_body(LEDGER_KEY_REGISTER, as, (*seq)++,
		    time(NULL), TEST_ORIGIN, r.fl, 6);
		note = ledger_entry_sign(note, as, k);
		assert_int_equal(ledger_submit(l, note, strlen(note), done_cb,
		    ok), 0);
		free(note);
	}
}

static uint64_t
ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Reads a positive count from the environment, or def. */
static int
env_count(const char *name, int def, int max)
{
	const char *v = getenv(name);
	int n = v != NULL ? atoi(v) : 0;

	return n > 0 && n <= max ? n : def;
}

#define WRITERS_MAX 16

/*
 * PostgreSQL: several ledgers on one database (several bridges: each its
 * writer, follower and connections) append at once, each for an account
 * of its own.  Every entry is acknowledged and lands in one tree without
 * a gap or a fork, each ledger sees the others' entries within a second
 * without writing (its follower), their roots agree and the whole
 * verifies.  2 writers x 300 entries here; KB_TEST_PG_WRITERS and
 * KB_TEST_PG_ENTRIES scale it (test_pg_concurrency.sh: 4 x 2,500).
 */
static void
test_writers_share_one_tree(void **state)
{
	struct fx *f = *state;
	struct ledger_config lc;
	struct ledger_verify_report rep;
	struct ledger *w[WRITERS_MAX];
	EVP_PKEY *k[WRITERS_MAX];
	struct ledger_field fl[4];
	uint8_t r0[LEDGER_HASH_LEN], ri[LEDGER_HASH_LEN];
	uint64_t t0, total, seq[WRITERS_MAX];
	int nw = env_count("KB_TEST_PG_WRITERS", 2, WRITERS_MAX);
	int per = env_count("KB_TEST_PG_ENTRIES", 300, 1000000);
	char err[256], name[WRITERS_MAX][16], pub[WRITERS_MAX][256];
	int ok = 0;

	for (int i = 0; i < nw; i++) {
		k[i] = ledger_key_generate("ed25519");
		b64key(k[i], pub[i]);
		snprintf(name[i], sizeof(name[i]), "w%d", i);
		fl[0] = (struct ledger_field){ "name", name[i] };
		fl[1] = (struct ledger_field){ "role", "admin" };
		fl[2] = (struct ledger_field){ "threshold", "1" };
		fl[3] = (struct ledger_field){ "pubkey", pub[i] };
		assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin",
		    f->seq_admin++, time(NULL), &f->admin, 1, fl, 4, NULL),
		    LEDGER_OK);
		seq[i] = 1;
	}
	memset(&lc, 0, sizeof(lc));
	lc.db = f->db;
	lc.origin = TEST_ORIGIN;
	lc.consensus = f->cons;
	w[0] = f->l;
	for (int i = 1; i < nw; i++)
		if ((w[i] = ledger_open(&lc, err, sizeof(err))) == NULL)
			fail_msg("ledger %d: %s", i, err);
	for (int i = 0; i < nw; i++)
		assert_int_equal(ledger_writer_start(w[i], NULL, NULL), 0);
	/* interleaved, in rounds, so that the writers overlap */
	for (int r = 0; r < 10; r++)
		for (int i = 0; i < nw; i++)
			submit_regs(w[i], name[i], k[i], &seq[i],
			    per / 10 + (r < per % 10), &ok);
	total = 3 + (uint64_t)nw + (uint64_t)nw * (uint64_t)per;
	for (t0 = ms_now(); ok < nw * per && ms_now() - t0 < 600000;
	    usleep(5000))
		for (int i = 0; i < nw; i++)
			ledger_drain(w[i]);
	assert_int_equal(ok, nw * per);
	/* the last blocks reach every ledger through its follower */
	for (t0 = ms_now(); ms_now() - t0 < 1000; usleep(5000)) {
		int behind = 0;

		for (int i = 0; i < nw; i++)
			behind |= ledger_size(w[i]) != total;
		if (!behind)
			break;
	}
	assert_int_equal(ledger_root(w[0], total, r0), 0);
	for (int i = 0; i < nw; i++) {
		assert_int_equal(ledger_size(w[i]), total);
		assert_int_equal(ledger_root(w[i], total, ri), 0);
		assert_memory_equal(r0, ri, LEDGER_HASH_LEN);
	}
	for (int i = 1; i < nw; i++)
		ledger_close(w[i]);
	ledger_writer_stop(f->l);
	for (int i = 0; i < nw; i++)
		EVP_PKEY_free(k[i]);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
	assert_int_equal(rep.entries, total);
}

/* ---- wave-2 rules: one encoding per key, usable account keys, origin ---- */

/* The SPKI of k as OpenSSL writes it with EC parameter param = value (a
 * point form or the curve encoding), base64 into b64, its hash into id. */
static void
spki_in_form(EVP_PKEY *k, const char *param, const char *value, char *b64,
    char id[LEDGER_KEYID_LEN + 1])
{
	EVP_PKEY *d = EVP_PKEY_dup(k);
	unsigned char *der = NULL;
	int len;

	assert_non_null(d);
	if (param != NULL)
		assert_int_equal(EVP_PKEY_set_utf8_string_param(d, param,
		    value), 1);
	len = i2d_PUBKEY(d, &der);
	assert_true(len > 0);
	assert_int_equal(ledger_b64_encode(der, (size_t)len, b64, 1024), 0);
	ledger_spki_key_id(der, (size_t)len, id);
	OPENSSL_free(der);
	EVP_PKEY_free(d);
}

/* A key-register of the SPKI b64 (hash id) by admin: the status. */
static enum ledger_status
register_spki(struct fx *f, const char *b64, const char *id, time_t when)
{
	struct reg r;

	reg_fields(&r, NULL, when, when + 86400);
	r.fl[0] = (struct ledger_field){ "key-id", id };
	r.fl[1] = (struct ledger_field){ "spki", b64 };
	return put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin, when,
	    &f->admin, 1, r.fl, 6, NULL);
}

/* The issue's reproduction: a P-256 key registered, revoked for
 * keyCompromise, then offered again compressed, hybrid and with explicit
 * curve parameters (each its own SHA-256, so "registered once, ever" by
 * hash would let it in): each is refused as not canonical.  The canonical
 * form again is a duplicate; P-384 named and uncompressed is fine;
 * another curve is refused. */
static void
test_key_in_another_encoding_is_refused_as_not_canonical(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *param, *value, *why;
	} forms[] = {
		{ OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
		    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED,
		    "compressed" },
		{ OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
		    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_HYBRID, "hybrid" },
		{ OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_EXPLICIT,
		    "explicit curve parameters" },
	};
	EVP_PKEY *k = ledger_key_generate("ec-p256");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	char b64[1024], id[LEDGER_KEYID_LEN + 1], cid[LEDGER_KEYID_LEN + 1];
	char why[256], *note;
	struct ledger_field rv[2];
	struct reg r;
	time_t now = time(NULL);

	spki_in_form(k, NULL, NULL, b64, cid);
	assert_int_equal(register_spki(f, b64, cid, now), LEDGER_OK);
	f->seq_admin++;
	rv[0] = (struct ledger_field){ "key-id", cid };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		spki_in_form(k, forms[i].param, forms[i].value, b64, id);
		assert_string_not_equal(id, cid);
		reg_fields(&r, NULL, now, now + 86400);
		r.fl[0] = (struct ledger_field){ "key-id", id };
		r.fl[1] = (struct ledger_field){ "spki", b64 };
		note = ledger_entry_sign(ledger_entry_body(LEDGER_KEY_REGISTER,
		    "admin", f->seq_admin, now, TEST_ORIGIN, r.fl, 6), "admin",
		    f->admin);
		why[0] = '\0';
		assert_int_equal(ledger_append(f->l, note, strlen(note), NULL,
		    why, sizeof(why)), LEDGER_ERR_KEY_NOT_CANONICAL);
		free(note);
		if (strstr(why, forms[i].why) == NULL)
			fail_msg("form %s: why is \"%s\"", forms[i].value, why);
		assert_string_equal(ledger_status_code(
		    LEDGER_ERR_KEY_NOT_CANONICAL), "key_not_canonical");
	}
	spki_in_form(k, NULL, NULL, b64, id);
	assert_int_equal(register_spki(f, b64, id, now),
	    LEDGER_ERR_DUPLICATE_KEY);
	spki_in_form(k1, NULL, NULL, b64, id);
	assert_int_equal(register_spki(f, b64, id, now),
	    LEDGER_ERR_KEY_NOT_CANONICAL);
	spki_in_form(p384, NULL, NULL, b64, id);
	assert_int_equal(register_spki(f, b64, id, now), LEDGER_OK);
	f->seq_admin++;
	EVP_PKEY_free(k);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(k1);
}

/* The canonical DER of any encoding of a key is the one the rule takes,
 * so the CLI can register a compressed PEM under the one key id. */
static void
test_spki_canonical_gives_one_der_for_every_encoding(void **state)
{
	EVP_PKEY *k = ledger_key_generate("ec-p256"), *d;
	const char *forms[] = { OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_HYBRID };
	unsigned char *want = NULL, *got = NULL;
	char why[160];
	int wl, gl;

	(void)state;
	wl = i2d_PUBKEY(k, &want);
	for (size_t i = 0; i < 3; i++) {
		d = EVP_PKEY_dup(k);
		assert_non_null(d);
		if (i < 2)
			assert_int_equal(EVP_PKEY_set_utf8_string_param(d,
			    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
			    forms[i]), 1);
		else
			assert_int_equal(EVP_PKEY_set_utf8_string_param(d,
			    OSSL_PKEY_PARAM_EC_ENCODING,
			    OSSL_PKEY_EC_ENCODING_EXPLICIT), 1);
		gl = ledger_spki_canonical(d, &got, why, sizeof(why));
		assert_int_equal(gl, wl);
		assert_memory_equal(got, want, (size_t)wl);
		OPENSSL_free(got);
		got = NULL;
		EVP_PKEY_free(d);
	}
	OPENSSL_free(want);
	EVP_PKEY_free(k);
}

/* An SPKI of an Ed25519 "public key" from 32 raw bytes given in hex. */
static void
ed25519_spki_hex(const char *hex, char *b64)
{
	uint8_t raw[32];
	EVP_PKEY *k;

	assert_int_equal(ledger_unhex(hex, raw, sizeof(raw)), 0);
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
	    sizeof(raw));
	assert_non_null(k);
	b64key(k, b64);
	EVP_PKEY_free(k);
}

/* Ed25519 points no private key has: the identity (01 00..00), which
 * verifies a forged signature over anything, other small-order points,
 * and non-canonical encodings (y >= p).  Refused when an account is
 * created, updated, or at genesis; a real key is the control. */
static const char *const weak_ed25519[] = {
	"0100000000000000000000000000000000000000000000000000000000000000",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
};

static void
test_small_order_ed25519_account_keys_are_refused(void **state)
{
	struct fx *f = *state;
	struct ledger_field fl[4];
	EVP_PKEY *two[2] = { f->ops[0], f->ops[1] };
	char k[256], why[256], *note;
	enum ledger_status st;

	fl[0] = (struct ledger_field){ "name", "weak" };
	fl[1] = (struct ledger_field){ "role", "admin" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k };
	for (size_t i = 0; i < sizeof(weak_ed25519) / sizeof(*weak_ed25519);
	    i++) {
		ed25519_spki_hex(weak_ed25519[i], k);
		note = ledger_entry_sign(ledger_entry_body(
		    LEDGER_ACCOUNT_CREATE, "admin", f->seq_admin, time(NULL),
		    TEST_ORIGIN, fl, 4), "admin", f->admin);
		why[0] = '\0';
		st = ledger_append(f->l, note, strlen(note), NULL, why,
		    sizeof(why));
		free(note);
		if (st != LEDGER_ERR_MALFORMED || strstr(why, "small order") ==
		    NULL)
			fail_msg("point %s: %s: %s", weak_ed25519[i],
			    ledger_status_code(st), why);
		/* ... and an account may not take one by an update. */
		fl[0] = (struct ledger_field){ "name", "ops" };
		fl[1] = (struct ledger_field){ "threshold", "1" };
		fl[2] = (struct ledger_field){ "pubkey", k };
		assert_int_equal(put(f, LEDGER_ACCOUNT_UPDATE, "ops",
		    f->seq_ops, time(NULL), two, 2, fl, 3, NULL),
		    LEDGER_ERR_MALFORMED);
		fl[0] = (struct ledger_field){ "name", "weak" };
		fl[1] = (struct ledger_field){ "role", "admin" };
		fl[2] = (struct ledger_field){ "threshold", "1" };
	}
	/* The control: a real Ed25519 key. */
	b64key(f->bridge, k);
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", f->seq_admin,
	    time(NULL), &f->admin, 1, fl, 4, NULL), LEDGER_OK);
	f->seq_admin++;
}

/* A fresh in-memory registry, as `ledger verify` replays into, for the
 * ledger of origin TEST_ORIGIN; in a transaction. */
static struct ledger_store *
replay_store(void)
{
	char err[256];
	struct ledger_store *s = ledger_store_sqlite_open(":memory:",
	    LEDGER_STORE_CREATE, err, sizeof(err));

	if (s == NULL)
		fail_msg("replay store: %s", err);
	s->origin = TEST_ORIGIN;
	assert_int_equal(s->ops->begin(s), 0);
	return s;
}

/* Applies the entry (signed by key as `as`, dated when, with origin
 * line origin or none) at index, in a block of ledger time now. */
static enum ledger_status
apply_at(struct ledger_store *s, uint64_t index, time_t now,
    enum ledger_entry_type t, const char *as, uint64_t seq, time_t when,
    const char *origin, EVP_PKEY *key, const struct ledger_field *fl,
    size_t n, char *why, size_t whylen)
{
	struct ledger_entry e;
	enum ledger_status st;
	char *note = ledger_entry_sign(ledger_entry_body(t, as, seq, when,
	    origin, fl, n), as, key);

	assert_non_null(note);
	why[0] = '\0';
	st = ledger_entry_parse(note, strlen(note), &e, why, whylen);
	assert_int_equal(st, LEDGER_OK);
	st = ledger_rules_apply(s, &e, index, now, why, whylen);
	ledger_entry_clear(&e);
	free(note);
	return st;
}

/* Every entry names the origin on a "key value" line: a ledger whose
 * origin such a line cannot carry (a space, a control character, empty)
 * is refused when opened, not entry by entry. */
static void
test_origin_an_entry_cannot_carry_is_refused_at_open(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = { "key bridge/ledger", "", "a\tb",
	    "caf\xc3\xa9/ledger" };
	struct ledger_config lc;
	char err[256];

	memset(&lc, 0, sizeof(lc));
	lc.db = f->db;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lc.origin = bad[i];
		err[0] = '\0';
		assert_null(ledger_open(&lc, err, sizeof(err)));
		assert_non_null(strstr(err, "origin"));
	}
	lc.origin = TEST_ORIGIN;
	assert_non_null(f->l);
}

/* A genesis with an Ed25519 key of small order is refused, at any time. */
static void
test_genesis_with_a_small_order_key_is_refused(void **state)
{
	struct ledger_store *s = replay_store();
	struct ledger_field fl[4];
	EVP_PKEY *admin = ledger_key_generate("ed25519");
	char k[256], why[256];
	time_t old = LEDGER_RULES_V2_TIME - 30 * 86400;

	(void)state;
	ed25519_spki_hex(weak_ed25519[0], k);
	fl[0] = (struct ledger_field){ "name", "admin" };
	fl[1] = (struct ledger_field){ "role", "admin" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k };
	assert_int_equal(apply_at(s, 0, time(NULL), LEDGER_ACCOUNT_CREATE,
	    "admin", 1, time(NULL), TEST_ORIGIN, admin, fl, 4, why,
	    sizeof(why)), LEDGER_ERR_MALFORMED);
	assert_non_null(strstr(why, "small order"));
	assert_int_equal(apply_at(s, 0, old, LEDGER_ACCOUNT_CREATE, "admin", 1,
	    old, NULL, admin, fl, 4, why, sizeof(why)), LEDGER_ERR_MALFORMED);
	b64key(admin, k);
	assert_int_equal(apply_at(s, 0, time(NULL), LEDGER_ACCOUNT_CREATE,
	    "admin", 1, time(NULL), TEST_ORIGIN, admin, fl, 4, why,
	    sizeof(why)), LEDGER_OK);
	s->ops->rollback(s);
	s->ops->close(s);
	EVP_PKEY_free(admin);
}

/* An entry names the ledger it is for: another origin, or none, is
 * refused as wrong_origin from the v2 cut on; an entry from before the
 * cut replays without one (a ledger written then verifies as it did). */
static void
test_entry_for_another_ledger_is_refused(void **state)
{
	struct fx *f = *state;
	struct ledger_store *s;
	struct ledger_field fl[4];
	struct reg r;
	char k[256], why[256], *note;
	time_t old = LEDGER_RULES_V2_TIME - 30 * 86400;
	EVP_PKEY *admin = ledger_key_generate("ed25519");

	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	note = ledger_entry_sign(ledger_entry_body(LEDGER_KEY_REGISTER,
	    "admin", f->seq_admin, time(NULL), "other/ledger", r.fl, 6),
	    "admin", f->admin);
	assert_int_equal(ledger_append(f->l, note, strlen(note), NULL, why,
	    sizeof(why)), LEDGER_ERR_WRONG_ORIGIN);
	free(note);
	assert_non_null(strstr(why, "other/ledger"));
	assert_string_equal(ledger_status_code(LEDGER_ERR_WRONG_ORIGIN),
	    "wrong_origin");
	note = ledger_entry_sign(ledger_entry_body(LEDGER_KEY_REGISTER,
	    "admin", f->seq_admin, time(NULL), NULL, r.fl, 6), "admin",
	    f->admin);
	assert_int_equal(ledger_append(f->l, note, strlen(note), NULL, why,
	    sizeof(why)), LEDGER_ERR_WRONG_ORIGIN);
	free(note);
	assert_non_null(strstr(why, "names no origin"));
	/* Nothing was used up: the same entry for this ledger is taken. */
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);

	/* Replay of a ledger from before the cut: no origin lines. */
	s = replay_store();
	b64key(admin, k);
	fl[0] = (struct ledger_field){ "name", "admin" };
	fl[1] = (struct ledger_field){ "role", "admin" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k };
	assert_int_equal(apply_at(s, 0, old, LEDGER_ACCOUNT_CREATE, "admin", 1,
	    old, NULL, admin, fl, 4, why, sizeof(why)), LEDGER_OK);
	reg_fields(&r, NULL, old, old + 86400);
	assert_int_equal(apply_at(s, 1, old, LEDGER_KEY_REGISTER, "admin", 2,
	    old, NULL, admin, r.fl, 6, why, sizeof(why)), LEDGER_OK);
	/* ... and a v2 entry in it must carry the origin. */
	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(apply_at(s, 2, time(NULL), LEDGER_KEY_REGISTER,
	    "admin", 3, time(NULL), NULL, admin, r.fl, 6, why, sizeof(why)),
	    LEDGER_ERR_WRONG_ORIGIN);
	assert_int_equal(apply_at(s, 2, time(NULL), LEDGER_KEY_REGISTER,
	    "admin", 3, time(NULL), TEST_ORIGIN, admin, r.fl, 6, why,
	    sizeof(why)), LEDGER_OK);
	s->ops->rollback(s);
	s->ops->close(s);
	EVP_PKEY_free(admin);
}

/* ---- checks that had no test that could fail --------------------------- */

/* Base64 DER of a PKCS#10 request for `pub` signed by `signer`; with
 * badsig, one bit of its signature flipped. */
static void
csr_b64(EVP_PKEY *pub, EVP_PKEY *signer, int badsig, char *out, size_t len)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *der = NULL;
	int n;

	assert_non_null(req);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(
	    req), "CN", MBSTRING_ASC, (const unsigned char *)"cam-1", -1, -1,
	    0), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, pub), 1);
	assert_true(X509_REQ_sign(req, signer, EVP_sha256()) > 0);
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	if (badsig)
		der[n - 3] ^= 0x01;	/* inside the signature's BIT STRING */
	assert_int_equal(ledger_b64_encode(der, (size_t)n, out, len), 0);
	OPENSSL_free(der);
	X509_REQ_free(req);
}

/* A key-register entry by admin for key k with a csr line, seq `seq`. */
static char *
register_with_csr(struct fx *f, EVP_PKEY *k, const char *csr, uint64_t seq)
{
	struct ledger_field fl[7];
	struct reg r;
	char *note;

	reg_fields(&r, k, time(NULL), time(NULL) + 86400);
	memcpy(fl, r.fl, sizeof(r.fl));
	fl[6] = (struct ledger_field){ "csr", csr };
	note = ledger_entry_sign(ledger_entry_body(LEDGER_KEY_REGISTER,
	    "admin", seq, time(NULL), TEST_ORIGIN, fl, 7), "admin", f->admin);
	assert_non_null(note);
	return note;
}

/* Hex of s, for SQL literals. */
static char *
hex_of(const void *s, size_t n)
{
	char *h = malloc(2 * n + 1);

	assert_non_null(h);
	ledger_hex(s, n, h);
	return h;
}

/* The CSR of a key-register entry is its proof of possession: the rule
 * (not only the CLI, which checks first) refuses one whose signature does
 * not verify or that is for another key, on append and on replay: a
 * ledger whose entry was swapped for such an entry (leaf hash rewritten to
 * match, so verify gets as far as the rules) fails `ledger verify` at that
 * entry, naming the CSR. */
static void
test_key_register_csr_must_verify_and_be_for_the_key(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = ledger_key_generate("ec-p256");
	EVP_PKEY *other = ledger_key_generate("ec-p256");
	struct ledger_verify_report rep;
	struct ledger_receipt rc;
	uint8_t leaf[LEDGER_HASH_LEN];
	char csr[2048], why[256], *note, *bad, *hd, *hl, *sq, *pg;
	size_t sl;
	uint64_t idx;

	csr_b64(k, k, 1, csr, sizeof(csr));
	note = register_with_csr(f, k, csr, f->seq_admin);
	assert_int_equal(ledger_append(f->l, note, strlen(note), NULL, why,
	    sizeof(why)), LEDGER_ERR_MALFORMED);
	assert_non_null(strstr(why, "csr signature does not verify"));
	free(note);
	csr_b64(other, other, 0, csr, sizeof(csr));
	note = register_with_csr(f, k, csr, f->seq_admin);
	assert_int_equal(ledger_append(f->l, note, strlen(note), NULL, why,
	    sizeof(why)), LEDGER_ERR_MALFORMED);
	assert_non_null(strstr(why, "csr is for another key"));
	bad = note;
	/* The control: k's own CSR. */
	csr_b64(k, k, 0, csr, sizeof(csr));
	note = register_with_csr(f, k, csr, f->seq_admin);
	assert_int_equal(ledger_append(f->l, note, strlen(note), &rc, why,
	    sizeof(why)), LEDGER_OK);
	free(note);
	idx = rc.index;
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
	/* Swap in the refused entry (same seq, signed by admin). */
	ledger_merkle_leaf_hash(bad, strlen(bad), leaf);
	hd = hex_of(bad, strlen(bad));
	hl = hex_of(leaf, sizeof(leaf));
	sl = strlen(hd) + 256;
	sq = malloc(sl);
	pg = malloc(sl);
	assert_non_null(sq);
	assert_non_null(pg);
	snprintf(sq, sl, "UPDATE entries SET data = X'%s', leaf_hash = X'%s' "
	    "WHERE idx = %llu", hd, hl, (unsigned long long)idx);
	snprintf(pg, sl, "UPDATE entries SET data = decode('%s', 'hex'), "
	    "leaf_hash = decode('%s', 'hex') WHERE idx = %llu", hd, hl,
	    (unsigned long long)idx);
	db_exec(f, sq, pg);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_int_equal(rep.bad_index, (int64_t)idx);
	if (strstr(rep.what, "csr is for another key") == NULL)
		fail_msg("verify: %s", rep.what);
	free(sq);
	free(pg);
	free(hd);
	free(hl);
	free(bad);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

/* account-update: an account changes only itself, signed with its current
 * threshold of its current keys; then its new keys sign and its old ones
 * no longer do. */
static void
test_account_update_is_by_the_account_itself_at_its_threshold(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *fresh = ledger_key_generate("ed25519");
	EVP_PKEY *two[2] = { f->ops[0], f->ops[2] };
	struct ledger_account_info a;
	struct ledger_field fl[3];
	struct reg r;
	char k[256];

	b64key(fresh, k);
	fl[0] = (struct ledger_field){ "name", "ops" };
	fl[1] = (struct ledger_field){ "threshold", "1" };
	fl[2] = (struct ledger_field){ "pubkey", k };
	/* admin may not take ops over, though it is an admin */
	assert_int_equal(put(f, LEDGER_ACCOUNT_UPDATE, "admin", f->seq_admin,
	    time(NULL), &f->admin, 1, fl, 3, NULL), LEDGER_ERR_PERMISSION);
	/* one signature of ops's 2-of-3, though the update asks for 1 */
	assert_int_equal(put(f, LEDGER_ACCOUNT_UPDATE, "ops", f->seq_ops,
	    time(NULL), &f->ops[1], 1, fl, 3, NULL), LEDGER_ERR_THRESHOLD);
	assert_int_equal(ledger_account_get(f->l, "ops", &a), 0);
	assert_int_equal(a.threshold, 2);
	assert_int_equal(a.nkeys, 3);
	/* two of its keys: the update is taken */
	assert_int_equal(put(f, LEDGER_ACCOUNT_UPDATE, "ops", f->seq_ops++,
	    time(NULL), two, 2, fl, 3, NULL), LEDGER_OK);
	assert_int_equal(ledger_account_get(f->l, "ops", &a), 0);
	assert_int_equal(a.threshold, 1);
	assert_int_equal(a.nkeys, 1);
	assert_string_equal(a.keys[0], k);
	/* the old keys no longer sign for ops, the new one does */
	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "ops", f->seq_ops,
	    time(NULL), two, 2, r.fl, 6, NULL), LEDGER_ERR_SIGNATURE);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "ops", f->seq_ops,
	    time(NULL), &f->ops[0], 1, r.fl, 6, NULL), LEDGER_ERR_SIGNATURE);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "ops", f->seq_ops++,
	    time(NULL), &fresh, 1, r.fl, 6, NULL), LEDGER_OK);
	EVP_PKEY_free(fresh);
}

/* cert-revoked by an admin account: only the account that owns the
 * certificate's key may revoke it (the bridge may, on re-key). */
static void
test_only_the_key_owner_revokes_its_certificate(void **state)
{
	struct fx *f = *state;
	struct ledger_cert_info ci;
	struct ledger_field rv[2];
	struct reg r;
	struct cert c;
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);

	reg_fields(&r, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	cert_fields(&c, "5e", r.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	rv[0] = (struct ledger_field){ "serial", "5e" };
	rv[1] = (struct ledger_field){ "reason", "cessationOfOperation" };
	/* "other" is an admin account, but not the key's owner */
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "other", f->seq_other,
	    now, &f->other, 1, rv, 2, NULL), LEDGER_ERR_NOT_OWNER);
	assert_int_equal(ledger_cert_get(f->l, "5e", &ci), 0);
	assert_int_equal(ci.revoked, 0);
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	assert_int_equal(ledger_cert_get(f->l, "5e", &ci), 0);
	assert_int_equal(ci.revoked, 1);
}


/* ---- one current certificate per key ----------------------------------- */

/* The cert-issued entry for serial with fields c (n of them) at `now`;
 * its receipt in *r.  Returns the status. */
static enum ledger_status
put_cert(struct fx *f, uint64_t *bseq, struct cert *c, size_t n,
    struct ledger_receipt *r)
{
	enum ledger_status st = put(f, LEDGER_CERT_ISSUED, "bridge", *bseq,
	    time(NULL), &f->bridge, 1, c->fl, n, r);

	if (st == LEDGER_OK)
		(*bseq)++;
	return st;
}

/* 1 when serial is recorded and good (neither it nor its key revoked). */
static int
cert_good(struct fx *f, const char *serial)
{
	struct ledger_cert_info ci;
	time_t at;
	int reason;

	if (ledger_cert_get(f->l, serial, &ci) != 0)
		return 0;
	return !ledger_cert_revoked(&ci, &at, &reason);
}

/* A key has at most one current certificate (not revoked on its own,
 * not expired at ledger time): another is recorded only by an entry that
 * names the current one in `supersedes`, and that entry revokes it
 * (superseded, at its own index).  A superseded, revoked, expired or
 * unknown certificate cannot be superseded. */
static void
test_a_key_has_one_current_certificate(void **state)
{
	struct fx *f = *state;
	struct ledger_cert_info ci;
	struct ledger_field rv[2];
	struct ledger_verify_report rep;
	struct ledger_receipt r2;
	struct reg r;
	struct cert c;
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);

	reg_fields(&r, NULL, now - 86400, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	cert_fields(&c, "c1", r.id, now, now + 3600);
	assert_int_equal(put_cert(f, &bseq, &c, 7, NULL), LEDGER_OK);
	/* a second one that does not name it: refused, nothing recorded */
	cert_fields(&c, "c2", r.id, now, now + 3600);
	assert_int_equal(put_cert(f, &bseq, &c, 7, NULL),
	    LEDGER_ERR_CERT_CURRENT);
	cert_supersedes(&c, "dead");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_CERT_CURRENT);
	assert_int_equal(ledger_cert_get(f->l, "c2", &ci), 1);
	assert_true(cert_good(f, "c1"));
	/* naming it: c2 recorded, c1 revoked as superseded by that entry */
	cert_supersedes(&c, "c1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, &r2), LEDGER_OK);
	assert_int_equal(ledger_cert_get(f->l, "c1", &ci), 0);
	assert_int_equal(ci.revoked, 1);
	assert_int_equal(ci.reason, LEDGER_REASON_SUPERSEDED);
	assert_int_equal(ci.revoked_index, r2.index);
	assert_true(cert_good(f, "c2"));
	/* a renewal that lost a race names the certificate already gone */
	cert_fields(&c, "c3", r.id, now, now + 3600);
	cert_supersedes(&c, "c1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_CERT_CURRENT);
	/* with no current certificate left, a revoked one cannot be named */
	rv[0] = (struct ledger_field){ "serial", "c2" };
	rv[1] = (struct ledger_field){ "reason", "cessationOfOperation" };
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "bridge", bseq++, now,
	    &f->bridge, 1, rv, 2, NULL), LEDGER_OK);
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_CERT_REVOKED);
	cert_supersedes(&c, "c2");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_CERT_REVOKED);
	cert_supersedes(&c, "beef");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_UNKNOWN_CERT);
	/* an expired certificate is not current, and cannot be superseded */
	cert_fields(&c, "e1", r.id, now - 7200, now - 3600);
	assert_int_equal(put_cert(f, &bseq, &c, 7, NULL), LEDGER_OK);
	cert_fields(&c, "c3", r.id, now, now + 3600);
	cert_supersedes(&c, "e1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL), LEDGER_ERR_WINDOW);
	assert_int_equal(put_cert(f, &bseq, &c, 7, NULL), LEDGER_OK);
	assert_true(cert_good(f, "c3"));
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
}

/* A certificate may be superseded by one for another key only when that
 * key is registered as the same device (RFC 7030 4.2.2 rekey): the same
 * owning account, name, profile and names, and not revoked. */
static void
test_rekey_supersedes_only_the_same_device(void **state)
{
	struct fx *f = *state;
	struct reg a, b, c2, d, o;
	struct ledger_field rv[2];
	struct ledger_verify_report rep;
	struct cert c;
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);
	enum ledger_status st;

	reg_fields(&a, NULL, now - 60, now + 86400);	/* "cam-1" */
	assert_int_equal(register_as_admin(f, &a), LEDGER_OK);
	reg_fields(&b, NULL, now - 60, now + 86400);	/* the same device */
	assert_int_equal(register_as_admin(f, &b), LEDGER_OK);
	reg_fields(&c2, NULL, now - 60, now + 86400);	/* another name */
	c2.fl[2] = (struct ledger_field){ "name", "cam-2" };
	assert_int_equal(register_as_admin(f, &c2), LEDGER_OK);
	reg_fields(&d, NULL, now - 60, now + 86400);	/* another name set */
	d.fl[4] = (struct ledger_field){ "dns", "cam-1.example" };
	d.fl[5] = (struct ledger_field){ "not-before", d.nb };
	st = put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin, now,
	    &f->admin, 1, (struct ledger_field[]){ d.fl[0], d.fl[1], d.fl[2],
	    d.fl[3], d.fl[4], d.fl[5], { "not-after", d.na } }, 7, NULL);
	assert_int_equal(st, LEDGER_OK);
	f->seq_admin++;
	reg_fields(&o, NULL, now - 60, now + 86400);	/* another owner */
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "other", f->seq_other++,
	    now, &f->other, 1, o.fl, 6, NULL), LEDGER_OK);

	cert_fields(&c, "a1", a.id, now, now + 3600);
	assert_int_equal(put_cert(f, &bseq, &c, 7, NULL), LEDGER_OK);
	cert_fields(&c, "f1", c2.id, now, now + 3600);
	cert_supersedes(&c, "a1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_NOT_SAME_DEVICE);
	cert_fields(&c, "f2", d.id, now, now + 3600);
	cert_supersedes(&c, "a1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_NOT_SAME_DEVICE);
	cert_fields(&c, "f3", o.id, now, now + 3600);
	cert_supersedes(&c, "a1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_NOT_SAME_DEVICE);
	assert_true(cert_good(f, "a1"));
	/* the same device: b1 takes over, a1 is superseded */
	cert_fields(&c, "b1", b.id, now, now + 3600);
	cert_supersedes(&c, "a1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL), LEDGER_OK);
	assert_false(cert_good(f, "a1"));
	assert_true(cert_good(f, "b1"));
	/* from a key revoked since: refused */
	rv[0] = (struct ledger_field){ "key-id", b.id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	cert_fields(&c, "a2", a.id, now, now + 3600);
	cert_supersedes(&c, "b1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_KEY_REVOKED);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
}

/* A signed note of account `as` (malloc'd). */
static char *
signed_note(enum ledger_entry_type t, const char *as, uint64_t seq,
    time_t when, EVP_PKEY *key, const struct ledger_field *fl, size_t n)
{
	/* entries from the wave-2 cut name the ledger's origin */
	char *note = ledger_entry_body(t, as, seq, when,
	    when >= LEDGER_RULES_V2_TIME ? TEST_ORIGIN : NULL, fl, n);

	note = ledger_entry_sign(note, as, key);
	assert_non_null(note);
	return note;
}

/* ledger_rules_apply of note (freed) at index, in a block of time now. */
static enum ledger_status
apply_note(struct ledger_store *s, char *note, uint64_t index, time_t now)
{
	struct ledger_entry e;
	enum ledger_status st;
	char why[256];

	assert_int_equal(ledger_entry_parse(note, strlen(note), &e, why,
	    sizeof(why)), LEDGER_OK);
	st = ledger_rules_apply(s, &e, index, now, why, sizeof(why));
	ledger_entry_clear(&e);
	free(note);
	return st;
}

/* Entries dated before the wave-2 cut renewed with a cert-issued entry
 * and then a cert-revoked one: such a ledger still replays.  The same
 * pair dated after the cut is refused.  (The rules run on the store
 * directly, with the old ledger time.) */
static void
test_v1_entries_may_renew_in_two_steps(void **state)
{
	struct fx *f = *state;
	struct ledger_store *s;
	struct ledger_field rv[2];
	struct reg r;
	struct cert c;
	time_t v1 = LEDGER_RULES_V2_TIME - 3600, v2 = LEDGER_RULES_V2_TIME + 60;
	uint64_t bseq = make_bridge(f), idx = ledger_size(f->l);
	char err[256];

	reg_fields(&r, NULL, v1 - 60, v1 + 30 * 86400);
	s = ledger_store_open(f->db, 0, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	s->origin = TEST_ORIGIN;
	assert_int_equal(s->ops->begin(s), 0);
	assert_int_equal(apply_note(s, signed_note(LEDGER_KEY_REGISTER, "admin",
	    f->seq_admin, v1, f->admin, r.fl, 6), idx++, v1), LEDGER_OK);
	cert_fields(&c, "71", r.id, v1, v1 + 86400);
	assert_int_equal(apply_note(s, signed_note(LEDGER_CERT_ISSUED, "bridge",
	    bseq++, v1, f->bridge, c.fl, 7), idx++, v1), LEDGER_OK);
	cert_fields(&c, "72", r.id, v1, v1 + 86400);
	assert_int_equal(apply_note(s, signed_note(LEDGER_CERT_ISSUED, "bridge",
	    bseq++, v1, f->bridge, c.fl, 7), idx++, v1), LEDGER_OK);
	rv[0] = (struct ledger_field){ "serial", "71" };
	rv[1] = (struct ledger_field){ "reason", "superseded" };
	assert_int_equal(apply_note(s, signed_note(LEDGER_CERT_REVOKED,
	    "bridge", bseq++, v1, f->bridge, rv, 2), idx++, v1), LEDGER_OK);
	/* after the cut: 72 is current, a new one must name it (no
	 * savepoint here: the refused entry's seq stays used) */
	cert_fields(&c, "73", r.id, v2, v2 + 86400);
	assert_int_equal(apply_note(s, signed_note(LEDGER_CERT_ISSUED, "bridge",
	    bseq++, v2, f->bridge, c.fl, 7), idx, v2),
	    LEDGER_ERR_CERT_CURRENT);
	cert_supersedes(&c, "72");
	assert_int_equal(apply_note(s, signed_note(LEDGER_CERT_ISSUED, "bridge",
	    bseq++, v2, f->bridge, c.fl, 8), idx++, v2), LEDGER_OK);
	assert_int_equal(s->ops->rollback(s), 0);
	s->ops->close(s);
}

/* ---- groups that commit together --------------------------------------- */

struct group_result {
	int calls;
	enum ledger_status st;
	struct ledger_receipt r;
};

static void
group_cb(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct group_result *g = arg;

	g->calls++;
	g->st = st;
	if (r != NULL)
		g->r = *r;
}

/* serverkeygen's two entries (the bridge's key-register under a
 * pre-authorisation, and the cert-issued) go as one group: when the
 * second is refused, the first is not kept either (no key, the slot still
 * unused), and the group succeeds whole once both are right.  One
 * callback per group. */
static void
test_group_commits_together_or_not_at_all(void **state)
{
	struct fx *f = *state;
	static const char id[] = "00112233445566778899aabbccddeeff";
	struct ledger_field pf[7], kf[7];
	struct ledger_key_info ki;
	struct ledger_preauth_info pa;
	struct ledger_verify_report rep;
	struct group_result g;
	struct reg r;
	struct cert c;
	char nb[21], na[21], ex[21], *notes[2];
	size_t lens[2];
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f), size;

	ledger_time_format(now - 60, nb);
	ledger_time_format(now + 86400, na);
	ledger_time_format(now + 3600, ex);
	pf[0] = (struct ledger_field){ "preauth-id", id };
	pf[1] = (struct ledger_field){ "name", "cam-1" };
	pf[2] = (struct ledger_field){ "profile", "device" };
	pf[3] = (struct ledger_field){ "not-before", nb };
	pf[4] = (struct ledger_field){ "not-after", na };
	pf[5] = (struct ledger_field){ "expires", ex };
	pf[6] = (struct ledger_field){ "secret-sha256", "aa00000000000000000000"
	    "00000000000000000000000000000000000000000a" };
	assert_int_equal(put(f, LEDGER_KEY_PREAUTH, "admin", f->seq_admin++,
	    now, &f->admin, 1, pf, 7, NULL), LEDGER_OK);
	reg_fields(&r, NULL, now - 60, now + 86400);
	memcpy(kf, r.fl, sizeof(r.fl));
	kf[6] = (struct ledger_field){ "preauth", id };
	assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);

	/* the certificate outlives the key's window: both refused */
	size = ledger_size(f->l);
	notes[0] = signed_note(LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    f->bridge, kf, 7);
	cert_fields(&c, "91", r.id, now, now + 2 * 86400);
	notes[1] = signed_note(LEDGER_CERT_ISSUED, "bridge", bseq + 1, now,
	    f->bridge, c.fl, 7);
	lens[0] = strlen(notes[0]);
	lens[1] = strlen(notes[1]);
	memset(&g, 0, sizeof(g));
	assert_int_equal(ledger_submit_group(f->l, (const char *const *)notes,
	    lens, 2, group_cb, &g), 0);
	while (g.calls == 0) {
		usleep(1000);
		ledger_drain(f->l);
	}
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.st, LEDGER_ERR_WINDOW);
	assert_int_equal(ledger_size(f->l), size);
	assert_int_equal(ledger_key_get(f->l, r.id, &ki), 1);
	assert_int_equal(ledger_preauth_get(f->l, id, &pa), 0);
	assert_string_equal(pa.used_key, "");
	free(notes[1]);

	/* right: both committed, in order, in one block; the slot used */
	cert_fields(&c, "91", r.id, now, now + 3600);
	notes[1] = signed_note(LEDGER_CERT_ISSUED, "bridge", bseq + 1, now,
	    f->bridge, c.fl, 7);
	lens[1] = strlen(notes[1]);
	memset(&g, 0, sizeof(g));
	assert_int_equal(ledger_submit_group(f->l, (const char *const *)notes,
	    lens, 2, group_cb, &g), 0);
	ledger_writer_stop(f->l);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.st, LEDGER_OK);
	assert_int_equal(g.r.index, size + 1);
	assert_int_equal(g.r.tree_size, size + 2);
	assert_int_equal(ledger_key_get(f->l, r.id, &ki), 0);
	assert_true(cert_good(f, "91"));
	assert_int_equal(ledger_preauth_get(f->l, id, &pa), 0);
	assert_string_equal(pa.used_key, r.id);
	/* an empty group is not taken */
	assert_int_equal(ledger_submit_group(f->l, (const char *const *)notes,
	    lens, 0, group_cb, &g), -1);
	free(notes[0]);
	free(notes[1]);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
}

#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, \
	(void *)be)
#define ALL_TESTS \
	T(test_registered_key_gets_a_receipt_that_proves_inclusion), \
	T(test_wrong_signature_is_refused), \
	T(test_multisig_below_threshold_is_refused), \
	T(test_replayed_sequence_is_refused), \
	T(test_key_is_registered_once_ever), \
	T(test_only_owner_revokes_and_revoked_stays_revoked), \
	T(test_windows_and_times_are_checked_against_ledger_time), \
	T(test_roles_limit_entry_types), \
	T(test_malformed_entries_are_refused_with_a_reason), \
	T(test_group_commit_batches_submissions), \
	T(test_rows_written_in_a_block_are_read_again), \
	T(test_verify_names_the_tampered_entry), \
	T(test_verify_finds_a_missing_entry_and_edited_state), \
	T(test_verify_names_an_edited_config_row), \
	T(test_truncated_database_is_reported_not_crashed_on), \
	T(test_unsealed_block_is_not_acknowledged_or_kept), \
	T(test_certificate_entries_follow_the_key), \
	T(test_recorded_certificate_must_match_its_entry), \
	T(test_preauth_lets_the_bridge_register_one_matching_key), \
	T(test_old_schema_is_migrated_forward), \
	T(test_revocation_reaches_certificates_and_changes), \
	T(test_a_key_has_one_current_certificate), \
	T(test_rekey_supersedes_only_the_same_device), \
	T(test_v1_entries_may_renew_in_two_steps), \
	T(test_group_commits_together_or_not_at_all)
/* The wave-2 rules, and checks that had no test able to fail. */
#define RULES_TESTS \
	T(test_key_in_another_encoding_is_refused_as_not_canonical), \
	T(test_spki_canonical_gives_one_der_for_every_encoding), \
	T(test_small_order_ed25519_account_keys_are_refused), \
	T(test_genesis_with_a_small_order_key_is_refused), \
	T(test_entry_for_another_ledger_is_refused), \
	T(test_origin_an_entry_cannot_carry_is_refused_at_open), \
	T(test_key_register_csr_must_verify_and_be_for_the_key), \
	T(test_account_update_is_by_the_account_itself_at_its_threshold), \
	T(test_only_the_key_owner_revokes_its_certificate)
/* The whole suite once per backend: SQLite always, PostgreSQL when
 * KB_TEST_PG_URL is set (scripts/run-unit.sh sets it). */
static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = { ALL_TESTS, RULES_TESTS };
	const struct CMUnitTest pg_tests[] = {
		T(test_writers_share_one_tree),
	};
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "ledger/rules (%s)", be->name);
	rc = cmocka_run_group_tests_name(name, tests, NULL, NULL);
	/* Several writers on one database: PostgreSQL only. */
	if (be->pg_url != NULL)
		rc |= cmocka_run_group_tests_name("ledger/rules (postgresql, "
		    "several bridges)", pg_tests, NULL, NULL);
	return rc;
}

int
main(void)
{
	static const struct backend sqlite = { "sqlite", NULL };
	struct backend pg = { "postgresql", getenv("KB_TEST_PG_URL") };
	const struct backend *be = &pg;
	const struct CMUnitTest writers[] = {
		T(test_writers_share_one_tree),
	};
	int rc;

	/* The PostgreSQL group is part of the suite: without a server it
	 * fails rather than passing on SQLite alone, unless asked to. */
	if (pg.pg_url == NULL || pg.pg_url[0] == '\0') {
		if (getenv("KB_TEST_SQLITE_ONLY") != NULL)
			return run_suite(&sqlite);
		fprintf(stderr, "test_rules: KB_TEST_PG_URL is not set, so the "
		    "PostgreSQL group cannot run (scripts/run-unit.sh starts a "
		    "server; KB_TEST_SQLITE_ONLY=1 runs SQLite alone)\n");
		return 1;
	}
	/* test_pg_concurrency.sh: the scaled writers' test alone */
	if (getenv("KB_TEST_PG_WRITERS") != NULL)
		return cmocka_run_group_tests_name("ledger/rules (postgresql, "
		    "several bridges, scaled)", writers, NULL, NULL);
	rc = run_suite(&sqlite);
	rc |= run_suite(&pg);
	return rc;
}
