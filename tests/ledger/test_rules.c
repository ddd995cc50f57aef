/*
 * test_rules.c: the ledger's rules on who may write what (ledger/rules.c):
 * signatures and thresholds, sequence numbers, windows and ledger time,
 * roles, malformed entries, account updates, account keys no one can
 * hold, and the origin every entry names; each with its negative case,
 * through the public API (ledger_append) and, for replays, through
 * ledger_rules_apply.  On both storage backends (rules_fx.h).  The rules
 * on keys are in test_rules_keys.c, on certificates in test_rules_certs.c;
 * the ledger's commit, verify and schema in test_ledger.c.
 */
#include "rules_fx.h"

/* ---- accounts, signatures, sequence numbers, time ---------------------- */

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
	/* the same key twice never counts twice (it is refused outright:
	 * test_one_signature_line_per_key) */
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "ops", f->seq_ops,
	    time(NULL), dup, 2, r.fl, 6, NULL),
	    LEDGER_ERR_DUPLICATE_SIGNATURE);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "ops", f->seq_ops,
	    time(NULL), two, 2, r.fl, 6, NULL), LEDGER_OK);
}

/* A second signature line by a key already used (the same line again, or
 * another ECDSA signature of the same key) is refused, even when the
 * threshold is met without it: the same content under another leaf hash
 * would be a second entry. */
static void
test_one_signature_line_per_key(void **state)
{
	struct fx *f = *state;
	struct reg r;
	EVP_PKEY *ecdsa_twice[3] = { f->ops[0], f->ops[1], f->ops[1] };
	char why[256], *note, *twice;
	const char *line;
	uint64_t size = ledger_size(f->l);

	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	note = ledger_entry_body(LEDGER_KEY_REGISTER, "admin", f->seq_admin,
	    time(NULL), TEST_ORIGIN, r.fl, 6);
	note = ledger_entry_sign(note, "admin", f->admin);
	assert_non_null(note);
	line = strstr(note, "\n\n") + 2;	/* its one signature line */
	assert_non_null(twice = malloc(strlen(note) + strlen(line) + 1));
	sprintf(twice, "%s%s", note, line);
	assert_int_equal(ledger_append(f->l, twice, strlen(twice), NULL, why,
	    sizeof(why)), LEDGER_ERR_DUPLICATE_SIGNATURE);
	assert_string_equal(ledger_status_code(LEDGER_ERR_DUPLICATE_SIGNATURE),
	    "duplicate_signature");
	assert_non_null(strstr(why, "one line per key"));
	/* 2 of 3 met by ops[0] and ops[1], ops[1] (P-256) signing twice */
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "ops", f->seq_ops,
	    time(NULL), ecdsa_twice, 3, r.fl, 6, NULL),
	    LEDGER_ERR_DUPLICATE_SIGNATURE);
	assert_int_equal(ledger_size(f->l), size);
	/* positive control: the entry with its line once */
	assert_int_equal(ledger_append(f->l, note, strlen(note), NULL, why,
	    sizeof(why)), LEDGER_OK);
	free(twice);
	free(note);
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

/* ---- usable account keys, the ledger's origin -------------------------- */

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

#define RULES_TESTS \
	T(test_registered_key_gets_a_receipt_that_proves_inclusion), \
	T(test_wrong_signature_is_refused), \
	T(test_multisig_below_threshold_is_refused), \
	T(test_one_signature_line_per_key), \
	T(test_replayed_sequence_is_refused), \
	T(test_windows_and_times_are_checked_against_ledger_time), \
	T(test_roles_limit_entry_types), \
	T(test_malformed_entries_are_refused_with_a_reason), \
	T(test_account_update_is_by_the_account_itself_at_its_threshold), \
	T(test_small_order_ed25519_account_keys_are_refused), \
	T(test_genesis_with_a_small_order_key_is_refused), \
	T(test_entry_for_another_ledger_is_refused), \
	T(test_origin_an_entry_cannot_carry_is_refused_at_open)

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = { RULES_TESTS };
	char name[64];

	snprintf(name, sizeof(name), "ledger/rules (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	return fx_main("test_rules", run_suite, NULL);
}
