/*
 * test_verify_par.c: `ledger verify` with its signature checks on worker
 * threads (ledger/verify_par.c) must say exactly what the serial replay
 * says: on a sound ledger the same report, and on a ledger whose entry
 * signatures were damaged (one flipped base64 character, leaf hash
 * recomputed so only the signature check can see it) the same first bad
 * entry, index, block and reason, even when a later entry is bad too and
 * a worker found that one first.  On SQLite always and on PostgreSQL when
 * KB_TEST_PG_URL names a server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "ledger/ledger_int.h"
#include "tests/ledger/db_fx.h"
#include "tests/ledger/ledger_fx.h"

#define ORIGIN "test/ledger"
#define NODE   "test-node"
/* Entries after the two account creations: more than the reader's ring
 * (512) and its read chunk (1024), so both wrap. */
#define NFILL  1100

struct backend {
	const char *name;
	const char *pg_url;	/* NULL: SQLite */
};

struct fx {
	const struct backend *be;
	char dir[FX_DIR_LEN], db[FX_DB_LEN], vkey[256];
	char schema[FX_SCHEMA_LEN];
	EVP_PKEY *node, *admin, *ops;
	struct ledger_consensus *cons;
	struct ledger *l;
	uint64_t total;
};

static void
done_cb(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	if (st != LEDGER_OK)
		fail_msg("refused: %s: %s", ledger_status_code(st), why);
	(*(long *)arg)++;
}

/* Signs an entry of account acct with key k and queues it. */
static void
submit(struct fx *f, enum ledger_entry_type t, const char *acct, EVP_PKEY *k,
    uint64_t seq, const struct ledger_field *fl, size_t n, long *ok)
{
	char *note = ledger_entry_sign(ledger_entry_body(t, acct, seq,
	    time(NULL), ORIGIN, fl, n), acct, k);

	assert_non_null(note);
	while (ledger_submit(f->l, note, strlen(note), done_cb, ok) != 0)
		ledger_drain(f->l);
	free(note);
}

static void
create_account(struct fx *f, const char *name, EVP_PKEY *k, uint64_t seq,
    long *ok)
{
	struct ledger_field fl[4];
	char b64[256];

	assert_int_equal(ledger_pubkey_to_b64(k, b64, sizeof(b64)), 0);
	fl[0] = (struct ledger_field){ "name", name };
	fl[1] = (struct ledger_field){ "role", "admin" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", b64 };
	submit(f, LEDGER_ACCOUNT_CREATE, "admin", f->admin, seq, fl, 4, ok);
}

/* The genesis account admin, an account ops, then NFILL config-publish
 * entries signed in turn by admin and ops, in blocks of up to 256. */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ledger_field fl[3];
	char ver[32], hex[65];
	uint64_t aseq = 1, oseq = 1;
	long ok = 0;

	f->be = *state;
	fx_db_new(f->be->pg_url, "vpar", f->dir, f->db, f->schema);
	f->node = ledger_key_generate("ed25519");
	f->admin = ledger_key_generate("ed25519");
	f->ops = ledger_key_generate("ed25519");
	assert_int_equal(ledger_key_vkey(f->node, NODE, f->vkey,
	    sizeof(f->vkey)), 0);
	f->l = fx_ledger_solo(f->be->name, f->db, ORIGIN, f->node, NODE, 256,
	    &f->cons);
	if (ledger_writer_start(f->l, NULL, NULL) != 0)
		fail_msg("ledger_writer_start(%s)", f->be->name);
	create_account(f, "admin", f->admin, aseq++, &ok);
	create_account(f, "ops", f->ops, aseq++, &ok);
	for (int i = 0; i < NFILL; i++) {
		snprintf(ver, sizeof(ver), "v%d", i);
		snprintf(hex, sizeof(hex), "%064x", i);
		fl[0] = (struct ledger_field){ "group", "fill" };
		fl[1] = (struct ledger_field){ "version", ver };
		fl[2] = (struct ledger_field){ "sha256", hex };
		if (i % 2 == 0)
			submit(f, LEDGER_CONFIG_PUBLISH, "admin", f->admin,
			    aseq++, fl, 3, &ok);
		else
			submit(f, LEDGER_CONFIG_PUBLISH, "ops", f->ops, oseq++,
			    fl, 3, &ok);
	}
	ledger_writer_stop(f->l);
	ledger_drain(f->l);
	assert_int_equal(ok, NFILL + 2);
	f->total = NFILL + 2;
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
	EVP_PKEY_free(f->ops);
	fx_db_free(f->be->pg_url, f->dir, f->schema);
	free(f);
	return 0;
}

static void
db_exec(struct fx *f, const char *sqlite, const char *pg)
{
	fx_db_exec(f->be->pg_url, f->db, sqlite, pg);
}

static int
copy_cb(const struct ledger_entry_info *e, void *arg)
{
	char **out = arg;

	*out = strndup(e->text, e->len);
	return 0;
}

/*
 * Damages the signature of entry idx: one base64 character of its
 * signature line, past the key hash, becomes another, and the stored leaf
 * hash follows, so the entry still parses, still names the same key, and
 * only verifying the signature shows it.
 */
static void
break_signature(struct fx *f, uint64_t idx)
{
	char *text = NULL, *line, *c, q1[4096], q2[4096];
	char hex[2 * LEDGER_HASH_LEN + 1];
	uint8_t leaf[LEDGER_HASH_LEN];

	assert_int_equal(ledger_entries(f->l, idx, 1, copy_cb, &text), 0);
	assert_non_null(text);
	assert_non_null(line = strstr(text, "\n\n\xe2\x80\x94 "));
	assert_non_null(c = strchr(line + 6, ' '));
	c += 20;		/* 4 key-hash bytes are the first ~6 chars */
	*c = *c == 'A' ? 'B' : 'A';
	ledger_merkle_leaf_hash(text, strlen(text), leaf);
	ledger_hex(leaf, LEDGER_HASH_LEN, hex);
	assert_null(strchr(text, '\''));
	snprintf(q1, sizeof(q1), "UPDATE entries SET data = CAST('%s' AS "
	    "BLOB), leaf_hash = X'%s' WHERE idx = %llu", text, hex,
	    (unsigned long long)idx);
	snprintf(q2, sizeof(q2), "UPDATE entries SET data = convert_to('%s', "
	    "'UTF8'), leaf_hash = decode('%s', 'hex') WHERE idx = %llu", text,
	    hex, (unsigned long long)idx);
	db_exec(f, q1, q2);
	free(text);
}

static void
run(struct fx *f, unsigned threads, struct ledger_verify_report *rep)
{
	assert_int_equal(ledger_verify_threads(f->db, f->vkey, NULL, NULL, 0,
	    threads, rep, NULL, NULL), 0);
}

/* Serial, two and three threads (more than this machine's cores) agree
 * on every field; the parallel runs name entry `bad` (-1: none). */
static void
expect_same(struct fx *f, int64_t bad)
{
	struct ledger_verify_report serial, par;
	char want[128];

	run(f, 1, &serial);
	assert_int_equal(serial.sigs_ahead, 0);
	if (bad < 0) {
		if (!serial.ok)
			fail_msg("serial verify: %s", serial.what);
		assert_int_equal(serial.entries, f->total);
	} else {
		snprintf(want, sizeof(want), "entry %lld: signature_invalid: "
		    "signature line 1 does not verify with any key of account "
		    "%s", (long long)bad, bad % 2 == 0 ? "admin" : "ops");
		assert_false(serial.ok);
		assert_int_equal(serial.bad_index, bad);
		assert_string_equal(serial.what, want);
	}
	for (unsigned t = 2; t <= 3; t++) {
		run(f, t, &par);
		assert_int_equal(par.ok, serial.ok);
		assert_int_equal(par.bad_index, serial.bad_index);
		assert_int_equal(par.bad_block, serial.bad_block);
		assert_int_equal(par.entries, serial.entries);
		assert_int_equal(par.blocks, serial.blocks);
		assert_string_equal(par.what, serial.what);
		assert_string_equal(par.checkpoint, serial.checkpoint);
		/* The workers did check entries, else this proves nothing
		 * (entry 0 alone the replay may well check itself). */
		if (bad != 0)
			assert_true(par.sigs_ahead > 0);
		assert_int_equal(par.sigs_ahead + par.sigs_here,
		    bad < 0 ? f->total : (uint64_t)bad + 1);
	}
}

static void
test_sound_ledger_same_report_on_every_thread_count(void **state)
{
	expect_same(*state, -1);
}

/* The genesis entry: the account signs its own creation. */
static void
test_bad_first_entry_named_like_the_serial_replay(void **state)
{
	struct fx *f = *state;

	break_signature(f, 0);
	expect_same(f, 0);
}

static void
test_bad_middle_entry_named_like_the_serial_replay(void **state)
{
	struct fx *f = *state;

	break_signature(f, 601);
	expect_same(f, 601);
}

static void
test_bad_last_entry_named_like_the_serial_replay(void **state)
{
	struct fx *f = *state;

	break_signature(f, f->total - 1);
	expect_same(f, (int64_t)f->total - 1);
}

/* Two bad ones: the later may be checked first, on another thread; the
 * earlier is still the one named. */
static void
test_two_bad_entries_the_first_is_named(void **state)
{
	struct fx *f = *state;

	break_signature(f, 700);
	break_signature(f, 701);
	break_signature(f, f->total - 1);
	expect_same(f, 700);
}

#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, \
	(void *)be)

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = {
		T(test_sound_ledger_same_report_on_every_thread_count),
		T(test_bad_first_entry_named_like_the_serial_replay),
		T(test_bad_middle_entry_named_like_the_serial_replay),
		T(test_bad_last_entry_named_like_the_serial_replay),
		T(test_two_bad_entries_the_first_is_named),
	};
	char name[64];

	snprintf(name, sizeof(name), "ledger/verify_par (%s)", be->name);
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
