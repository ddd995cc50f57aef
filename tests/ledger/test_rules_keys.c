/*
 * test_rules_keys.c: the ledger's rules on keys (ledger/rules.c): a key is
 * registered once ever, in one canonical encoding, with a CSR that proves
 * possession when it carries one; only its owner revokes it, and revoked
 * stays revoked; an admin's pre-authorisation lets the bridge register
 * one matching key; a registration's config-group lines are bounded,
 * each once, for device keys only, and replayed alike.  Each with its
 * negative case, on both storage
 * backends (rules_fx.h).
 */
#include "rules_fx.h"

/* ---- registration and revocation --------------------------------------- */

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

/* ---- one encoding per key ---------------------------------------------- */

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

/* The reproduction: a P-256 key registered, revoked for
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
		assert_int_equal(ledger_append(f->l, note, strlen(note), NULL,
		    why, sizeof(why)), LEDGER_ERR_KEY_NOT_CANONICAL);
		free(note);
		if (strstr(why, forms[i].why) == NULL)
			fail_msg("form %s: why is \"%s\"", forms[i].value, why);
		assert_string_equal(ledger_status_code(
		    LEDGER_ERR_KEY_NOT_CANONICAL), "key_not_canonical");
	}
	/* BER: the outer length in long form (30 81 59 ...), which OpenSSL
	 * reads as the same key; the rule's fast reader (common/spki.c)
	 * must leave it to the check that refuses it */
	{
		unsigned char *der = NULL, ber[128];
		int n = i2d_PUBKEY(k, &der);

		assert_int_equal(n, 91);
		ber[0] = 0x30;
		ber[1] = 0x81;
		memcpy(ber + 2, der + 1, (size_t)n - 1);
		OPENSSL_free(der);
		assert_int_equal(ledger_b64_encode(ber, (size_t)n + 1, b64,
		    sizeof(b64)), 0);
		ledger_spki_key_id(ber, (size_t)n + 1, id);
		assert_int_equal(register_spki(f, b64, id, now),
		    LEDGER_ERR_KEY_NOT_CANONICAL);
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

/* ---- pre-authorised keys ----------------------------------------------- */

/* An admin pre-authorises one generated key; the bridge registers it once,
 * only with exactly the pre-authorised fields, and the admin owns it. */
static void
test_preauth_lets_the_bridge_register_one_matching_key(void **state)
{
	struct fx *f = *state;
	static const char id[] = "00112233445566778899aabbccddeeff";
	struct ledger_field pf[7], kf[8], rv[2];
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
	/* a configuration group the slot does not name */
	kf[7] = (struct ledger_field){ "config-group", "cams" };
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    &f->bridge, 1, kf, 8, NULL), LEDGER_ERR_PREAUTH);
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

/* ---- proof of possession ----------------------------------------------- */

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

/* ---- the configuration groups a device may read ------------------------ */

/* A key-register of a fresh key with profile and groups g[0..n): the
 * status; *id its key id. */
static enum ledger_status
register_groups(struct fx *f, const char *profile, const char *const *g,
    size_t n, char id[LEDGER_KEYID_LEN + 1])
{
	struct ledger_field fl[6 + LEDGER_MAX_CONFIG_GROUPS + 2];
	enum ledger_status st;
	struct reg r;

	assert_true(n <= LEDGER_MAX_CONFIG_GROUPS + 2);
	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	memcpy(fl, r.fl, sizeof(r.fl));
	fl[3].value = profile;
	for (size_t i = 0; i < n; i++)
		fl[6 + i] = (struct ledger_field){ "config-group", g[i] };
	st = put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin, time(NULL),
	    &f->admin, 1, fl, 6 + n, NULL);
	if (st == LEDGER_OK)
		f->seq_admin++;
	memcpy(id, r.id, sizeof(r.id));
	return st;
}

/* config-group lines: kept in order, shown by ledger_key_get, replayed
 * alike by verify (whose comparison of the registry catches a stored
 * list that differs); at most LEDGER_MAX_CONFIG_GROUPS, each once, a
 * group name's syntax, device keys only. */
static void
test_config_groups_are_bounded_unique_for_devices_and_replayed(void **state)
{
	static const char *const two[] = { "cams", "doors.lobby" };
	static const char *const twice[] = { "cams", "doors", "cams" };
	static const char *const bad[] = { "cams/../doors" };
	static const char *const many[] = { "g0", "g1", "g2", "g3", "g4",
	    "g5", "g6", "g7", "g8", "g9", "g10", "g11", "g12", "g13", "g14",
	    "g15", "g16" };
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct ledger_key_info *k = malloc(sizeof(*k));
	char id[LEDGER_KEYID_LEN + 1], none[LEDGER_KEYID_LEN + 1];
	char sq[512], pg[512];

	assert_non_null(k);
	assert_int_equal(register_groups(f, "device", two, 2, id), LEDGER_OK);
	assert_int_equal(ledger_key_get(f->l, id, k), 0);
	assert_int_equal(k->ngroups, 2);
	assert_string_equal(k->groups[0], "cams");
	assert_string_equal(k->groups[1], "doors.lobby");
	assert_int_equal(register_groups(f, "device", NULL, 0, none),
	    LEDGER_OK);
	assert_int_equal(ledger_key_get(f->l, none, k), 0);
	assert_int_equal(k->ngroups, 0);
	/* 16 is the most, 17 is malformed */
	assert_int_equal(register_groups(f, "device", many, 16, none),
	    LEDGER_OK);
	assert_int_equal(ledger_key_get(f->l, none, k), 0);
	assert_int_equal(k->ngroups, 16);
	assert_string_equal(k->groups[15], "g15");
	assert_int_equal(register_groups(f, "device", many, 17, none),
	    LEDGER_ERR_MALFORMED);
	assert_int_equal(register_groups(f, "device", twice, 3, none),
	    LEDGER_ERR_MALFORMED);
	assert_int_equal(register_groups(f, "device", bad, 1, none),
	    LEDGER_ERR_MALFORMED);
	assert_int_equal(register_groups(f, "server", two, 1, none),
	    LEDGER_ERR_MALFORMED);
	assert_int_equal(register_groups(f, "admin", two, 1, none),
	    LEDGER_ERR_MALFORMED);
	assert_int_equal(ledger_key_get(f->l, none, k), 1);
	/* the replay derives the same lists */
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
	/* a group added behind the ledger's back: the replay disagrees */
	snprintf(sq, sizeof(sq), "UPDATE keys SET groups = 'cams doors.lobby "
	    "vault' WHERE key_id = '%s'", id);
	snprintf(pg, sizeof(pg), "%s", sq);
	db_exec(f, sq, pg);
	assert_int_equal(ledger_key_get(f->l, id, k), 0);
	assert_int_equal(k->ngroups, 3);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	if (strstr(rep.what, "keys") == NULL)
		fail_msg("verify: %s", rep.what);
	free(k);
}

/* A pre-authorisation's config-group lines are checked as a
 * registration's (device keys only, each once), and the registration the
 * bridge makes under it must name exactly those groups. */
static void
test_preauth_fixes_the_config_groups_of_the_key(void **state)
{
	struct fx *f = *state;
	static const char id[] = "0123456789abcdef0123456789abcdef";
	struct ledger_field pf[10], kf[10];
	struct ledger_key_info *ki = malloc(sizeof(*ki));
	struct ledger_preauth_info *pa = malloc(sizeof(*pa));
	char nb[21], na[21], ex[21];
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);
	struct reg r;

	assert_non_null(ki);
	assert_non_null(pa);
	ledger_time_format(now, nb);
	ledger_time_format(now + 86400, na);
	ledger_time_format(now + 3600, ex);
	pf[0] = (struct ledger_field){ "preauth-id", id };
	pf[1] = (struct ledger_field){ "name", "cam-1" };
	pf[2] = (struct ledger_field){ "profile", "server" };
	pf[3] = (struct ledger_field){ "not-before", nb };
	pf[4] = (struct ledger_field){ "not-after", na };
	pf[5] = (struct ledger_field){ "expires", ex };
	pf[6] = (struct ledger_field){ "secret-sha256", "aa00000000000000000000"
	    "00000000000000000000000000000000000000000a" };
	pf[7] = (struct ledger_field){ "config-group", "cams" };
	pf[8] = (struct ledger_field){ "config-group", "cams" };
	/* a server key, a group twice */
	assert_int_equal(put(f, LEDGER_KEY_PREAUTH, "admin", f->seq_admin,
	    now, &f->admin, 1, pf, 8, NULL), LEDGER_ERR_MALFORMED);
	pf[2] = (struct ledger_field){ "profile", "device" };
	assert_int_equal(put(f, LEDGER_KEY_PREAUTH, "admin", f->seq_admin,
	    now, &f->admin, 1, pf, 9, NULL), LEDGER_ERR_MALFORMED);
	pf[8] = (struct ledger_field){ "config-group", "lobby" };
	assert_int_equal(put(f, LEDGER_KEY_PREAUTH, "admin", f->seq_admin++,
	    now, &f->admin, 1, pf, 9, NULL), LEDGER_OK);
	assert_int_equal(ledger_preauth_get(f->l, id, pa), 0);
	assert_int_equal(pa->ngroups, 2);
	assert_string_equal(pa->groups[1], "lobby");

	reg_fields(&r, NULL, now, now + 86400);
	memcpy(kf, r.fl, sizeof(r.fl));
	kf[6] = (struct ledger_field){ "preauth", id };
	/* none, one of the two, the two in another order: not the slot's */
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    &f->bridge, 1, kf, 7, NULL), LEDGER_ERR_PREAUTH);
	kf[7] = (struct ledger_field){ "config-group", "cams" };
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    &f->bridge, 1, kf, 8, NULL), LEDGER_ERR_PREAUTH);
	kf[7] = (struct ledger_field){ "config-group", "lobby" };
	kf[8] = (struct ledger_field){ "config-group", "cams" };
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    &f->bridge, 1, kf, 9, NULL), LEDGER_ERR_PREAUTH);
	kf[7] = (struct ledger_field){ "config-group", "cams" };
	kf[8] = (struct ledger_field){ "config-group", "lobby" };
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    &f->bridge, 1, kf, 9, NULL), LEDGER_OK);
	assert_int_equal(ledger_key_get(f->l, r.id, ki), 0);
	assert_int_equal(ki->ngroups, 2);
	assert_string_equal(ki->groups[0], "cams");
	free(ki);
	free(pa);
}

/* Issue 17: a name twice is the rules' to allow (a replacement key before
 * the old one is revoked); ledger_key_active_named, the check of `key
 * register` and of POST /api/v1/entries, finds the active key of exactly
 * that name, not the key itself, not a longer name, not a revoked one. */
static void
test_active_named_finds_another_active_key_of_that_exact_name(void **state)
{
	struct fx *f = *state;
	struct reg a, b, c;
	struct ledger_field rv[2];
	char id[LEDGER_KEYID_LEN + 1];

	reg_fields(&a, NULL, time(NULL), time(NULL) + 86400);
	reg_fields(&b, NULL, time(NULL), time(NULL) + 86400);
	reg_fields(&c, NULL, time(NULL), time(NULL) + 86400);
	c.fl[2].value = "cam-10";
	assert_int_equal(register_as_admin(f, &c), LEDGER_OK);
	assert_int_equal(ledger_key_active_named(f->l, "cam-1", NULL, id), 1);
	assert_int_equal(register_as_admin(f, &a), LEDGER_OK);
	assert_int_equal(ledger_key_active_named(f->l, "cam-1", NULL, id), 0);
	assert_string_equal(id, a.id);
	assert_int_equal(ledger_key_active_named(f->l, "cam-1", a.id, id), 1);
	assert_int_equal(ledger_key_active_named(f->l, "cam", NULL, id), 1);
	/* the rules take the name twice */
	assert_int_equal(register_as_admin(f, &b), LEDGER_OK);
	assert_int_equal(ledger_key_active_named(f->l, "cam-1", b.id, id), 0);
	assert_string_equal(id, a.id);
	rv[0] = (struct ledger_field){ "key-id", a.id };
	rv[1] = (struct ledger_field){ "reason", "superseded" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    time(NULL), &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	assert_int_equal(ledger_key_active_named(f->l, "cam-1", b.id, id), 1);
	assert_int_equal(ledger_key_active_named(f->l, "cam-1", NULL, id), 0);
	assert_string_equal(id, b.id);
}

#define KEYS_TESTS \
	T(test_key_is_registered_once_ever), \
	T(test_only_owner_revokes_and_revoked_stays_revoked), \
	T(test_key_in_another_encoding_is_refused_as_not_canonical), \
	T(test_spki_canonical_gives_one_der_for_every_encoding), \
	T(test_preauth_lets_the_bridge_register_one_matching_key), \
	T(test_key_register_csr_must_verify_and_be_for_the_key), \
	T(test_config_groups_are_bounded_unique_for_devices_and_replayed), \
	T(test_preauth_fixes_the_config_groups_of_the_key), \
	T(test_active_named_finds_another_active_key_of_that_exact_name)

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = { KEYS_TESTS };
	char name[64];

	snprintf(name, sizeof(name), "ledger/rules_keys (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	return fx_main("test_rules_keys", run_suite, NULL);
}
