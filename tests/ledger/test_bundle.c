/*
 * test_bundle.c: proof bundles (ledger/bundle.c) as the device reads
 * them (examples/device/kbv.c, compiled in): a real ledger on each
 * backend with two publications of a group; the bundle of the current
 * one verifies as current, the older one as superseded naming the
 * current, a consistency proof from every earlier size verifies against
 * the state a device would hold, and every single-bit change of a bundle
 * is refused.
 */
#include "tests/ledger/rules_fx.h"
#include "ledger/bundle.h"

#include <sodium.h>

#include "examples/device/kbv.c"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static uint8_t scratch[KBV_SCRATCH_MAX];

/* Publishes version of group g with hash sha. */
static void
publish(struct fx *f, const char *version, const char *sha)
{
	struct ledger_field fl[3] = { { "group", "g" }, { "version", version },
	    { "sha256", sha } };

	assert_int_equal(put(f, LEDGER_CONFIG_PUBLISH, "admin", f->seq_admin++,
	    time(NULL), &f->admin, 1, fl, 3, NULL), LEDGER_OK);
}

/* Publishes group g versions 1 (SHA_A) and 2 (SHA_B, current). */
static void
publish_two(struct fx *f)
{
	publish(f, "1", SHA_A);
	publish(f, "2", SHA_B);
}

/* The solo policy of the fixture's ledger. */
static void
policy_of(struct fx *f, struct kbv_policy *p)
{
	char text[512], why[KBV_WHY_MAX];

	snprintf(text, sizeof(text), "keybridge-policy v1\norigin %s\nlog %s\n",
	    TEST_ORIGIN, f->vkey);
	assert_int_equal(kbv_policy_parse(text, strlen(text), p, why,
	    sizeof(why)), 0);
}

/* A device's state file: the text of the checkpoint (size, root). */
static const char *
state_text(uint64_t size, const uint8_t root[KBV_HASH], char *out,
    size_t cap)
{
	char r[64];

	sodium_bin2base64(r, sizeof(r), root, KBV_HASH,
	    sodium_base64_VARIANT_ORIGINAL);
	assert_true((size_t)snprintf(out, cap, "keybridge-state v1\nsize %llu\n"
	    "root %s\n", (unsigned long long)size, r) < cap);
	return out;
}

/* The device's verdict on the bundle of a for a file of hash hex, with
 * the state text st (or NULL); the new state's text into next. */
static enum kbv_verdict
device_check(struct fx *f, const char *text, size_t len, const char *hex,
    const char *st, char next[KBV_STATE_MAX], char *msg, size_t msglen)
{
	static struct kbv_bundle b;
	struct kbv_policy p;
	struct kbv_ask ask;
	char why[KBV_WHY_MAX];
	size_t n;

	policy_of(f, &p);
	memset(&ask, 0, sizeof(ask));
	assert_int_equal(sodium_hex2bin(ask.sha256, KBV_HASH, hex, 64, NULL,
	    &n, NULL), 0);
	ask.group = "g";
	if (st != NULL)
		ask.state = (struct kbv_span){ st, strlen(st) };
	if (kbv_bundle_parse(text, len, scratch, sizeof(scratch), &b, why,
	    sizeof(why)) != 0) {
		snprintf(msg, msglen, "refused: %s", why);
		return KBV_FAIL;
	}
	return kbv_verify(&p, &b, &ask, next, KBV_STATE_MAX, msg, msglen);
}

static char *
bundle_of(struct fx *f, const char *sha, uint64_t since, size_t *len)
{
	struct ledger_bundle_ask a;
	char why[256], *text = NULL;

	assert_int_equal(ledger_bundle_config(f->l, "g", sha, NULL, &a), 0);
	a.since = since;
	assert_int_equal(ledger_bundle(f->l, &a, &text, len, why, sizeof(why)),
	    0);
	assert_int_equal(strncmp(text, LEDGER_BUNDLE_HEADER "\n", 23), 0);
	return text;
}

static void
test_current_publication_verifies_as_current(void **state)
{
	struct fx *f = *state;
	char next[KBV_STATE_MAX], want[KBV_STATE_MAX], msg[512], *text;
	uint8_t root[KBV_HASH];
	size_t len;

	publish_two(f);
	text = bundle_of(f, SHA_B, 0, &len);
	assert_int_equal(device_check(f, text, len, SHA_B, NULL, next, msg,
	    sizeof(msg)), KBV_CURRENT);
	assert_non_null(strstr(msg, "current: g version 2"));
	assert_int_equal(ledger_root(f->l, ledger_size(f->l), root), 0);
	assert_string_equal(next, state_text(ledger_size(f->l), root, want,
	    sizeof(want)));
	/* the same bundle for another file's hash */
	assert_int_equal(device_check(f, text, len, SHA_A, NULL, next, msg,
	    sizeof(msg)), KBV_FAIL);
	free(text);
}

static void
test_older_publication_is_superseded_naming_the_current(void **state)
{
	struct fx *f = *state;
	char next[KBV_STATE_MAX], msg[512], *text;
	size_t len;

	publish_two(f);
	text = bundle_of(f, SHA_A, 0, &len);
	assert_int_equal(device_check(f, text, len, SHA_A, NULL, next, msg,
	    sizeof(msg)), KBV_SUPERSEDED);
	assert_non_null(strstr(msg, "current is version 2 (sha256 " SHA_B));
	free(text);
}

static void
test_consistency_from_every_earlier_size_verifies(void **state)
{
	struct fx *f = *state;
	struct ledger_bundle_ask a;
	char st[KBV_STATE_MAX], next[KBV_STATE_MAX], msg[512], why[256], *text;
	uint8_t root[KBV_HASH];
	uint64_t m, size;
	size_t len;

	char v[8], sha[65];
	int i;

	for (i = 0; i < 6; i++) {	/* a tree of 9: no power of two */
		snprintf(v, sizeof(v), "0.%d", i);
		memset(sha, 'c' + i % 3, 64);
		sha[64] = '\0';
		sha[0] = (char)('0' + i);
		publish(f, v, sha);
	}
	publish_two(f);
	size = ledger_size(f->l);
	for (m = 1; m <= size; m++) {
		text = bundle_of(f, SHA_B, m, &len);
		assert_int_equal(ledger_root(f->l, m, root), 0);
		assert_int_equal(device_check(f, text, len, SHA_B, state_text(m,
		    root, st, sizeof(st)), next, msg, sizeof(msg)), KBV_CURRENT);
		/* the state of another tree of size m is not extended */
		root[0] ^= 1;
		assert_int_equal(device_check(f, text, len, SHA_B, state_text(m,
		    root, st, sizeof(st)), next, msg, sizeof(msg)), KBV_FAIL);
		free(text);
	}
	/* since above the checkpoint, an entry not in it: refused */
	assert_int_equal(ledger_bundle_config(f->l, "g", SHA_B, NULL, &a), 0);
	a.since = size + 1;
	assert_int_equal(ledger_bundle(f->l, &a, &text, &len, why, sizeof(why)),
	    1);
	a.since = 0;
	a.index = size;
	assert_int_equal(ledger_bundle(f->l, &a, &text, &len, why, sizeof(why)),
	    1);
	assert_int_equal(ledger_bundle_config(f->l, "g", SHA_B "0", NULL, &a), 1);
	assert_int_equal(ledger_bundle_config(f->l, "h", SHA_B, NULL, &a), 1);
}

static void
test_every_flipped_bit_of_a_bundle_is_refused(void **state)
{
	struct fx *f = *state;
	char next[KBV_STATE_MAX], msg[512], *text;
	size_t len, i;

	publish_two(f);
	text = bundle_of(f, SHA_A, 0, &len);
	for (i = 0; i < len; i++) {
		text[i] ^= 1;
		if (device_check(f, text, len, SHA_A, NULL, next, msg,
		    sizeof(msg)) != KBV_FAIL)
			fail_msg("byte %zu flipped: %s", i, msg);
		text[i] ^= 1;
	}
	assert_int_equal(device_check(f, text, len, SHA_A, NULL, next, msg,
	    sizeof(msg)), KBV_SUPERSEDED);
	free(text);
}

static void
test_latest_of_another_group_is_refused(void **state)
{
	struct fx *f = *state;
	struct ledger_field fl[3] = { { "group", "h" }, { "version", "9" },
	    { "sha256", SHA_B } };
	struct ledger_bundle_ask a;
	char next[KBV_STATE_MAX], msg[512], why[256], *text = NULL;
	size_t len;

	publish_two(f);
	assert_int_equal(put(f, LEDGER_CONFIG_PUBLISH, "admin", f->seq_admin++,
	    time(NULL), &f->admin, 1, fl, 3, NULL), LEDGER_OK);
	/* a writer that names group h's publication as g's latest */
	assert_int_equal(ledger_bundle_config(f->l, "g", SHA_A, NULL, &a), 0);
	a.latest = ledger_size(f->l) - 1;
	assert_int_equal(ledger_bundle(f->l, &a, &text, &len, why, sizeof(why)),
	    0);
	assert_int_equal(device_check(f, text, len, SHA_A, NULL, next, msg,
	    sizeof(msg)), KBV_FAIL);
	assert_non_null(strstr(msg, "latest publication does not check"));
	free(text);
}

static void
test_only_config_publications_are_configs(void **state)
{
	static const char *const entries[] = {
		"keybridge-entry v1\ntype key-register\ngroup g\nversion 1\n"
		    "sha256 " SHA_A "\n\n",
		"keybridge-entry v1\ntype config-publish\nversion 1\nsha256 "
		    SHA_A "\n\n",
		"keybridge-entry v1\ntype config-publish\ngroup g\nversion 1\n"
		    "sha256 abc\n\n",
	};
	struct kbv_span e = { "keybridge-entry v1\ntype config-publish\n"
	    "group g\nversion 1\nsha256 " SHA_A "\n\n", 0 }, c[F_N];
	size_t i;

	(void)state;
	e.len = strlen(e.p);
	assert_int_equal(parse_config(e, c), 0);
	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		e.p = entries[i];
		e.len = strlen(e.p);
		assert_int_equal(parse_config(e, c), -1);
	}
}

/* ---- status bundles (the status map) ---------------------------------- */

/* The device's verdict on a status bundle for id (a serial with cert). */
static enum kbv_verdict
status_check(struct fx *f, const char *text, size_t len, const char *id,
    int cert, char *msg, size_t msglen)
{
	static struct kbv_bundle b;
	struct kbv_policy p;
	struct kbv_ask ask;
	char next[KBV_STATE_MAX], why[KBV_WHY_MAX];

	policy_of(f, &p);
	memset(&ask, 0, sizeof(ask));
	ask.status = 1;
	ask.id = id;
	ask.cert = cert;
	if (kbv_bundle_parse(text, len, scratch, sizeof(scratch), &b, why,
	    sizeof(why)) != 0) {
		snprintf(msg, msglen, "refused: %s", why);
		return KBV_FAIL;
	}
	return kbv_verify(&p, &b, &ask, next, sizeof(next), msg, msglen);
}

/* The status bundle of id (malloc'd) into *text, *len. */
static void
status_of(struct fx *f, enum ledger_map_kind kind, const char *id,
    char **text, size_t *len)
{
	char why[256];

	*text = NULL;
	assert_int_equal(ledger_bundle_status(f->l, kind, id, text, len, why,
	    sizeof(why)), 0);
	assert_int_equal(*len, strlen(*text));
}

/* A key registered (a), one revoked (b), a certificate of a, and ids
 * never registered: each one's status verifies as what it is. */
static void
test_status_of_active_revoked_and_absent_verifies(void **state)
{
	struct fx *f = *state;
	struct ledger_field rv[2];
	struct reg a, b;
	struct cert c;
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);
	char msg[1024], *text;
	size_t len;

	reg_fields(&a, NULL, now - 60, now + 86400);
	reg_fields(&b, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &a), LEDGER_OK);
	assert_int_equal(register_as_admin(f, &b), LEDGER_OK);
	cert_fields(&c, "1f2e3d", a.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	rv[0] = (struct ledger_field){ "key-id", b.id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);

	status_of(f, LEDGER_MAP_KEY, a.id, &text, &len);
	assert_int_equal(status_check(f, text, len, a.id, 0, msg, sizeof(msg)),
	    KBV_CURRENT);
	assert_non_null(strstr(msg, "active: key "));
	/* asked for another key: refused */
	assert_int_equal(status_check(f, text, len, b.id, 0, msg, sizeof(msg)),
	    KBV_FAIL);
	free(text);
	status_of(f, LEDGER_MAP_KEY, b.id, &text, &len);
	assert_int_equal(status_check(f, text, len, b.id, 0, msg, sizeof(msg)),
	    KBV_SUPERSEDED);
	assert_non_null(strstr(msg, "revoked: key "));
	assert_non_null(strstr(msg, "reason keyCompromise at "));
	free(text);
	status_of(f, LEDGER_MAP_CERT, "1f2e3d", &text, &len);
	assert_int_equal(status_check(f, text, len, "1f2e3d", 1, msg,
	    sizeof(msg)), KBV_CURRENT);
	assert_non_null(strstr(msg, "good: certificate 1f2e3d"));
	free(text);
	status_of(f, LEDGER_MAP_KEY, SHA_A, &text, &len);
	assert_int_equal(status_check(f, text, len, SHA_A, 0, msg, sizeof(msg)),
	    KBV_SUPERSEDED);
	assert_non_null(strstr(msg, "absent: key " SHA_A " was never "
	    "registered"));
	/* a proof of absence is not a status for a file, nor a cert's */
	assert_int_equal(status_check(f, text, len, SHA_A, 1, msg, sizeof(msg)),
	    KBV_FAIL);
	free(text);
}

/* text with its first line "KEY ..." replaced by "KEY val" into out. */
static void
replace_line(const char *text, const char *key, const char *val, char *out,
    size_t cap)
{
	const char *p = strstr(text, key), *e;

	assert_non_null(p);
	e = strchr(p, '\n');
	assert_non_null(e);
	assert_true((size_t)snprintf(out, cap, "%.*s%s %s%s", (int)(p - text),
	    text, key, val, e) < cap);
}

/* base64 of text[0..len) into out. */
static void
b64_of(const char *text, size_t len, char *out, size_t cap)
{
	assert_true(sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_ORIGINAL) <= cap);
	sodium_bin2base64(out, cap, (const uint8_t *)text, len,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* The revoked key's bundle with its leaf rewritten "active" (the extra
 * re-encoded, the index line the forged leaf's), and every single bit
 * of it flipped: refused. */
static void
test_forged_status_and_every_flipped_bit_are_refused(void **state)
{
	enum { BIG = 65536 };
	struct fx *f = *state;
	struct ledger_field rv[2];
	struct reg r;
	time_t now = time(NULL);
	char msg[1024], *bundle, *x = malloc(BIG), *v = malloc(BIG);
	char *y = malloc(BIG), *forged = malloc(2 * BIG);
	const char *p;
	size_t len, i, n;

	assert_true(x != NULL && v != NULL && y != NULL && forged != NULL);
	reg_fields(&r, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	rv[0] = (struct ledger_field){ "key-id", r.id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	status_of(f, LEDGER_MAP_KEY, r.id, &bundle, &len);
	p = strstr(bundle, "\nextra ") + 7;
	assert_int_equal(sodium_base642bin((uint8_t *)x, BIG - 1, p,
	    strcspn(p, "\n"), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL),
	    0);
	x[n] = '\0';
	snprintf(v, BIG, "keybridge-status v1\nkey %s\nstatus active\n"
	    "not-before 1\nnot-after 2\nindex 3\n", r.id);
	b64_of(v, strlen(v), msg, sizeof(msg));
	replace_line(x, "value", msg, y, BIG);		/* the extra */
	b64_of(y, strlen(y), x, BIG);
	replace_line(bundle, "extra", x, y, BIG);	/* the bundle */
	replace_line(y, "index", "3", forged, 2 * BIG);
	assert_int_equal(status_check(f, forged, strlen(forged), r.id, 0, msg,
	    sizeof(msg)), KBV_FAIL);
	assert_non_null(strstr(msg, "refused: tampered: the status of key"));
	for (i = 0; i < len; i++) {
		bundle[i] ^= 1;
		if (status_check(f, bundle, len, r.id, 0, msg, sizeof(msg)) !=
		    KBV_FAIL)
			fail_msg("byte %zu flipped: %s", i, msg);
		bundle[i] ^= 1;
	}
	assert_int_equal(status_check(f, bundle, len, r.id, 0, msg,
	    sizeof(msg)), KBV_SUPERSEDED);
	free(bundle);
	free(x);
	free(v);
	free(y);
	free(forged);
}

/* ---- policies: the device's trust anchor -------------------------------- */

/* "name+HEX8+base64(raw)" of raw[0..n) (alg || key), its key ID as
 * signed-note computes it, into out. */
static void
vkey_of(const char *name, const uint8_t *raw, size_t n, char *out, size_t cap)
{
	crypto_hash_sha256_state st;
	uint8_t h[KBV_HASH];
	char b[256];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
	crypto_hash_sha256_update(&st, (const uint8_t *)"\n", 1);
	crypto_hash_sha256_update(&st, raw, n);
	crypto_hash_sha256_final(&st, h);
	sodium_bin2base64(b, sizeof(b), raw, n, sodium_base64_VARIANT_ORIGINAL);
	assert_true((size_t)snprintf(out, cap, "%s+%02x%02x%02x%02x+%s", name,
	    h[0], h[1], h[2], h[3], b) < cap);
}

/* The vkey of name's key: alg, then n bytes of key (from a fresh Ed25519
 * key, zeros past its 32 bytes). */
static void
vkey_alg(const char *name, uint8_t alg, size_t n, char *out, size_t cap)
{
	uint8_t raw[1 + 128] = { alg }, sk[crypto_sign_SECRETKEYBYTES];

	assert_true(n <= 128);
	crypto_sign_keypair(raw + 1, sk);
	vkey_of(name, raw, 1 + n, out, cap);
}

/* kbv_policy_parse of a policy of origin o, log key log, then rest. */
static int
policy_with(const char *log, const char *rest, struct kbv_policy *p,
    char *why, size_t whylen)
{
	char text[4096];

	assert_true((size_t)snprintf(text, sizeof(text), "keybridge-policy "
	    "v1\norigin o\nlog %s\n%s", log, rest) < sizeof(text));
	return kbv_policy_parse(text, strlen(text), p, why, whylen);
}

/* A verifier key's decoded bytes are only used at the length of their
 * algorithm: 32 for Ed25519 (0x01) and cosignature/v1 (0x04) keys, and a
 * P-256 SubjectPublicKeyInfo (91) for keybridge's ECDSA (0x02) node key,
 * the one other kind a policy's log line may name. */
static void
test_a_verifier_key_of_the_wrong_length_is_refused(void **state)
{
	static const struct { uint8_t alg; size_t n; } bad[] = {
		{ 0x01, 31 }, { 0x01, 33 }, { 0x01, 0 }, { 0x02, 1 },
		{ 0x02, 32 }, { 0x02, 90 }, { 0x02, 92 }, { 0x04, 32 },
		{ 0x05, 32 }, { 0x00, 32 }, { 0x02, 127 },
	};
	static struct kbv_policy p;
	char log[512], cos[512], rest[1024], why[KBV_WHY_MAX];
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	size_t i;

	(void)state;
	assert_non_null(ec);
	assert_int_equal(ledger_note_vkey_format(ec, "node", log, sizeof(log)),
	    0);
	EVP_PKEY_free(ec);
	assert_int_equal(policy_with(log, "", &p, why, sizeof(why)), 0);
	assert_int_equal(p.log.ed25519, 0);	/* kept, never trusted solo */
	vkey_alg("node", 0x01, 32, log, sizeof(log));
	assert_int_equal(policy_with(log, "", &p, why, sizeof(why)), 0);
	assert_int_equal(p.log.ed25519, 1);
	vkey_alg("v1", 0x04, 32, cos, sizeof(cos));
	snprintf(rest, sizeof(rest), "validator v1 %s\nquorum 1\n", cos);
	assert_int_equal(policy_with(log, rest, &p, why, sizeof(why)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vkey_alg("node", bad[i].alg, bad[i].n, log, sizeof(log));
		if (policy_with(log, "", &p, why, sizeof(why)) != -1)
			fail_msg("log key alg %#x, %zu bytes: kept", bad[i].alg,
			    bad[i].n);
		assert_non_null(strstr(why, "policy line 3 is not"));
	}
	vkey_alg("node", 0x01, 32, log, sizeof(log));
	for (i = 31; i <= 33; i += 2) {		/* a cosigner's, 31 or 33 */
		vkey_alg("v1", 0x04, i, cos, sizeof(cos));
		snprintf(rest, sizeof(rest), "validator v1 %s\nquorum 1\n",
		    cos);
		assert_int_equal(policy_with(log, rest, &p, why, sizeof(why)),
		    -1);
	}
}

/* A cosigner listed twice, by name or by key, would count twice toward
 * the quorum: the policy is refused. */
static void
test_a_cosigner_listed_twice_is_refused(void **state)
{
	static struct kbv_policy p;
	uint8_t pk1[32], pk2[32], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t raw[33] = { 0x04 };
	char log[256], v1[256], v2[256], v2_key1[256], v1_key2[256];
	char rest[2048], why[KBV_WHY_MAX];
	const char *twice[][2] = { { v1, v1 }, { v1, v2_key1 }, { v1, v1_key2 } };
	size_t i;

	(void)state;
	vkey_alg("node", 0x01, 32, log, sizeof(log));
	crypto_sign_keypair(pk1, sk);
	crypto_sign_keypair(pk2, sk);
	memcpy(raw + 1, pk1, 32);
	vkey_of("v1", raw, 33, v1, sizeof(v1));
	vkey_of("v2", raw, 33, v2_key1, sizeof(v2_key1));
	memcpy(raw + 1, pk2, 32);
	vkey_of("v2", raw, 33, v2, sizeof(v2));
	vkey_of("v1", raw, 33, v1_key2, sizeof(v1_key2));
	snprintf(rest, sizeof(rest), "validator v1 %s\nwitness v2 %s -\n"
	    "quorum 2\n", v1, v2);
	assert_int_equal(policy_with(log, rest, &p, why, sizeof(why)), 0);
	assert_int_equal(p.ncos, 2);
	assert_int_equal(p.quorum, 2);
	for (i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
		snprintf(rest, sizeof(rest), "validator %.2s %s\nwitness %.2s "
		    "%s\nquorum 2\n", twice[i][0], twice[i][0], twice[i][1],
		    twice[i][1]);
		if (policy_with(log, rest, &p, why, sizeof(why)) != -1)
			fail_msg("listed twice (%zu), kept: quorum %u of %zu", i,
			    p.quorum, p.ncos);
		assert_non_null(strstr(why, "policy line 5 lists a cosigner's "
		    "name or key twice"));
	}
}

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = {
		T(test_current_publication_verifies_as_current),
		T(test_older_publication_is_superseded_naming_the_current),
		T(test_consistency_from_every_earlier_size_verifies),
		T(test_every_flipped_bit_of_a_bundle_is_refused),
		T(test_latest_of_another_group_is_refused),
		T(test_only_config_publications_are_configs),
		T(test_status_of_active_revoked_and_absent_verifies),
		T(test_forged_status_and_every_flipped_bit_are_refused),
		T(test_a_verifier_key_of_the_wrong_length_is_refused),
		T(test_a_cosigner_listed_twice_is_refused),
	};
	char name[64];

	snprintf(name, sizeof(name), "ledger/bundle (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	return fx_main("test_bundle", run_suite, NULL);
}
