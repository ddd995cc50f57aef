/*
 * test_rules_tbs.c: cert-issued entries that carry the TBSCertificate
 * ("tbs") instead of the signed certificate (ledger/rules_cert.c; docs/
 * design.md "The CA signs only what the ledger committed").  The rules
 * check a TBS as they check a recorded certificate (serial, validity, the
 * registered key, the issuer) and also that its subject, SANs and
 * extended key usage keep to the registration and the entry's profile.
 * Entries of the older forms still replay and verify beside them.
 */
#include "tests/ledger/rules_fx.h"

#include "bridge/ca/ca.h"

/* The time the test registered its keys at: a TBS built a second later
 * would end a second after their window. */
static time_t tbs_now;

/* fx_tbs_fields for the keys the test registered at tbs_now. */
static void
tbs_fields(struct fx_tbs *t, X509 *ca, EVP_PKEY *k, const char *key_id,
    const char *cn, enum est_profile profile, const char *dns)
{
	fx_tbs_fields(t, ca, k, key_id, cn, (int)profile, dns, tbs_now);
}

/* Appends t's entry (n fields) as the bridge; its status. */
static enum ledger_status
tbs_put(struct fx *f, uint64_t seq, const struct fx_tbs *t, size_t n)
{
	return put(f, LEDGER_CERT_ISSUED, "bridge", seq, time(NULL),
	    &f->bridge, 1, t->fl, n, NULL);
}

/* A TBS must be exactly what its entry says, and keep to the
 * registration: each field made wrong in turn is refused and nothing is
 * recorded; the right one is recorded and its TBS comes back; the
 * certificate the CA makes of it matches the ledger by its TBS, another
 * certificate of the same serial does not. */
static void
test_recorded_tbs_must_match_its_entry_and_registration(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *cakey = ledger_key_generate("ec-p256");
	EVP_PKEY *k = ledger_key_generate("ec-p256");
	EVP_PKEY *k2 = ledger_key_generate("ec-p256");
	X509 *ca = fx_tbs_ca(cakey), *cert, *other;
	struct ledger_cert_info ci;
	struct fx_tbs t, u;
	struct reg r, r2;
	uint8_t got[4096];
	unsigned char *der = NULL, *der2 = NULL;
	size_t len = 0;
	char why[256];
	int dlen, dlen2;
	uint64_t bseq = make_bridge(f);
	time_t now = tbs_now = time(NULL);

	reg_fields(&r, k, now - 60, now + 86400);
	r.fl[2] = (struct ledger_field){ "name", "cam-1" };
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	reg_fields(&r2, k2, now - 60, now + 86400);
	r2.fl[2] = (struct ledger_field){ "name", "cam-2" };
	assert_int_equal(register_as_admin(f, &r2), LEDGER_OK);

	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	t.fl[0].value = "1234";				/* serial */
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	t.fl[1].value = "issuing-1";			/* issuer */
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	tbs_fields(&t, ca, k, r2.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	ledger_time_format(now + 1800, t.na);		/* validity */
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	tbs_fields(&t, ca, k, r.id, "cam-2", EST_PROFILE_DEVICE, NULL);
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE,
	    "unregistered.example");			/* a SAN */
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_SERVER, NULL);
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	t.fl[6].value = "MAMCAQA=";			/* DER, no TBS */
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	t.fl[7] = (struct ledger_field){ "cert-sha256", r.id };	/* both */
	assert_int_equal(tbs_put(f, bseq, &t, 8), LEDGER_ERR_MALFORMED);
	t.fl[6] = t.fl[7];				/* neither */
	t.fl[6] = (struct ledger_field){ "supersedes", "77" };
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	assert_int_equal(ledger_cert_get(f->l, t.serial, &ci), 1);

	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	assert_int_equal(tbs_put(f, bseq++, &t, 7), LEDGER_OK);
	assert_int_equal(ledger_cert_get(f->l, t.serial, &ci), 0);
	assert_string_equal(ci.cert_sha256, "");	/* not signed yet */
	assert_int_equal(ledger_cert_tbs(f->l, &ci, got, sizeof(got), &len),
	    0);
	assert_int_equal(len, t.len);
	assert_memory_equal(got, t.der, len);
	assert_int_equal(ledger_cert_der(f->l, &ci, got, sizeof(got), &len),
	    1);
	assert_non_null(cert = ca_sign_tbs(t.der, t.len, cakey, why,
	    sizeof(why)));
	assert_true((dlen = i2d_X509(cert, &der)) > 0);
	assert_int_equal(ledger_cert_matches(f->l, &ci, der, (size_t)dlen), 1);
	/* another TBS signed by the same CA: not this record */
	tbs_fields(&u, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	assert_non_null(other = ca_sign_tbs(u.der, u.len, cakey, why,
	    sizeof(why)));
	assert_true((dlen2 = i2d_X509(other, &der2)) > 0);
	assert_int_equal(ledger_cert_matches(f->l, &ci, der2, (size_t)dlen2),
	    0);
	OPENSSL_free(der);
	OPENSSL_free(der2);
	X509_free(cert);
	X509_free(other);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* A ledger holding both forms (a certificate recorded by its hash, before
 * the TBS form, and a TBS) replays and verifies. */
static void
test_ledgers_of_both_forms_replay_and_verify(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *cakey = ledger_key_generate("ec-p256");
	EVP_PKEY *k = ledger_key_generate("ec-p256");
	X509 *ca = fx_tbs_ca(cakey);
	struct ledger_verify_report rep;
	struct fx_tbs t;
	struct cert h;
	struct reg r, r2;
	uint64_t bseq = make_bridge(f);
	time_t now = tbs_now = time(NULL);

	reg_fields(&r, k, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	reg_fields(&r2, NULL, now - 60, now + 86400);
	r2.fl[2] = (struct ledger_field){ "name", "cam-2" };
	assert_int_equal(register_as_admin(f, &r2), LEDGER_OK);
	cert_fields(&h, "77", r2.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, h.fl, 7, NULL), LEDGER_OK);
	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	assert_int_equal(tbs_put(f, bseq++, &t, 7), LEDGER_OK);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(k);
}

/* t with its TBS's bytes der[0..len) in the tbs field. */
static void
tbs_set_der(struct fx_tbs *t, const uint8_t *der, size_t len)
{
	memcpy(t->der, der, len);
	t->len = len;
	assert_int_equal(ledger_b64_encode(der, len, t->b64, sizeof(t->b64)),
	    0);
	t->fl[6] = (struct ledger_field){ "tbs", t->b64 };
}

/* The offset of key's SubjectPublicKeyInfo DER in t's TBS; its length in
 * *n. */
static size_t
tbs_spki_at(const struct fx_tbs *t, EVP_PKEY *key, int *n)
{
	unsigned char *spki = NULL;
	const uint8_t *at;

	assert_true((*n = i2d_PUBKEY(key, &spki)) > 0);
	assert_non_null(at = memmem(t->der, t->len, spki, (size_t)*n));
	OPENSSL_free(spki);
	return (size_t)(at - t->der);
}

/* The rules read a TBS's public key as bytes (ledger/tbs.c, never
 * decoded): a TBS whose key is not a valid point, whose SPKI does not
 * parse, or that carries another key of the same length is refused as
 * before, and the right one still passes. */
static void
test_tbs_with_a_malformed_or_other_key_is_refused(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *cakey = ledger_key_generate("ec-p256");
	EVP_PKEY *k = ledger_key_generate("ec-p256");
	EVP_PKEY *k2 = ledger_key_generate("ec-p256");
	X509 *ca = fx_tbs_ca(cakey);
	struct ledger_cert_info ci;
	struct fx_tbs t;
	struct reg r;
	uint8_t der[4096];
	unsigned char *other = NULL;
	size_t at, len;
	int n, n2;
	uint64_t bseq = make_bridge(f);
	time_t now = tbs_now = time(NULL);

	reg_fields(&r, k, now - 60, now + 86400);
	r.fl[2] = (struct ledger_field){ "name", "cam-1" };
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	at = tbs_spki_at(&t, k, &n);
	len = t.len;
	memcpy(der, t.der, len);

	der[at + (size_t)n - 1] ^= 0x01;	/* the point's last byte */
	tbs_set_der(&t, der, len);
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	der[at + (size_t)n - 1] ^= 0x01;
	der[at + (size_t)n - 65] = 0x05;	/* 04: no uncompressed point */
	tbs_set_der(&t, der, len);
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	der[at + (size_t)n - 65] = 0x04;
	assert_int_equal(der[at + (size_t)n - 68], V_ASN1_BIT_STRING);
	der[at + (size_t)n - 68] = V_ASN1_OCTET_STRING;	/* no SPKI */
	tbs_set_der(&t, der, len);
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	der[at + (size_t)n - 68] = V_ASN1_BIT_STRING;
	assert_true((n2 = i2d_PUBKEY(k2, &other)) == n);	/* another key */
	memcpy(der + at, other, (size_t)n2);
	tbs_set_der(&t, der, len);
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_ERR_MALFORMED);
	assert_int_equal(ledger_cert_get(f->l, t.serial, &ci), 1);

	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	assert_int_equal(tbs_put(f, bseq, &t, 7), LEDGER_OK);
	assert_int_equal(ledger_cert_get(f->l, t.serial, &ci), 0);
	OPENSSL_free(other);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void
stored_cb(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	*(enum ledger_status *)arg = st;
}

/* Replaces the kept certificate of serial with x, behind the ledger. */
static void
kept_replace(struct fx *f, const char *serial, X509 *x)
{
	unsigned char *der = NULL;
	char b64[4096], sql[4400];
	int len = i2d_X509(x, &der);

	assert_true(len > 0);
	assert_int_equal(ledger_b64_encode(der, (size_t)len, b64,
	    sizeof(b64)), 0);
	snprintf(sql, sizeof(sql), "UPDATE certs_signed SET cert = '%s' "
	    "WHERE serial = '%s'", b64, serial);
	db_exec(f, sql, sql);
	OPENSSL_free(der);
}

/* The signed certificate kept beside its row (ledger_cert_store, through
 * the writer) is what the API hands out and what its cert_sha256 is of;
 * `ledger verify` checks it is its entry's TBS signed by the issuer: a
 * certificate of another TBS, or the same TBS signed by another key, is
 * found. */
static void
test_kept_certificates_are_verified_against_their_tbs(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *cakey = ledger_key_generate("ec-p256");
	EVP_PKEY *forger = ledger_key_generate("ec-p256");
	EVP_PKEY *k = ledger_key_generate("ec-p256");
	X509 *ca = fx_tbs_ca(cakey), *cert, *forged, *other;
	struct ledger_verify_report rep;
	struct ledger_cert_info ci;
	enum ledger_status st = LEDGER_ERR_UNAVAILABLE;
	struct fx_tbs t, u;
	struct reg r;
	uint8_t got[4096], md[32];
	unsigned char *der = NULL;
	char why[256], hex[65];
	size_t len = 0;
	uint64_t n = 0, bseq = make_bridge(f);
	time_t now = tbs_now = time(NULL);
	int dlen;

	reg_fields(&r, k, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	assert_int_equal(tbs_put(f, bseq++, &t, 7), LEDGER_OK);
	assert_non_null(cert = ca_sign_tbs(t.der, t.len, cakey, why,
	    sizeof(why)));
	assert_true((dlen = i2d_X509(cert, &der)) > 0);
	assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);
	assert_int_equal(ledger_cert_store(f->l, t.serial, der, (size_t)dlen,
	    stored_cb, &st), 0);
	ledger_writer_stop(f->l);
	assert_int_equal(st, LEDGER_OK);
	assert_int_equal(ledger_cert_get(f->l, t.serial, &ci), 0);
	SHA256(der, (size_t)dlen, md);
	ledger_hex(md, sizeof(md), hex);
	assert_string_equal(ci.cert_sha256, hex);
	assert_int_equal(ledger_cert_der(f->l, &ci, got, sizeof(got), &len),
	    0);
	assert_int_equal(len, (size_t)dlen);
	assert_memory_equal(got, der, len);
	assert_int_equal(ledger_verify_certs(f->db, &ca, 1, 1, &rep, &n), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
	assert_int_equal(n, 1);

	/* the same TBS signed by another key */
	assert_non_null(forged = ca_sign_tbs(t.der, t.len, forger, why,
	    sizeof(why)));
	kept_replace(f, t.serial, forged);
	assert_int_equal(ledger_verify_certs(f->db, &ca, 1, 1, &rep, &n), 0);
	assert_false(rep.ok);
	assert_non_null(strstr(rep.what, "does not verify under its issuer"));
	/* without the issuer, only the TBS is compared: it holds */
	assert_int_equal(ledger_verify_certs(f->db, NULL, 0, 1, &rep, &n), 0);
	assert_true(rep.ok);
	/* another TBS, properly signed by the CA, kept under this serial */
	tbs_fields(&u, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
	assert_non_null(other = ca_sign_tbs(u.der, u.len, cakey, why,
	    sizeof(why)));
	kept_replace(f, t.serial, other);
	assert_int_equal(ledger_verify_certs(f->db, &ca, 1, 1, &rep, &n), 0);
	assert_false(rep.ok);
	assert_non_null(strstr(rep.what, "is not the TBS its entry recorded"));
	OPENSSL_free(der);
	X509_free(cert);
	X509_free(forged);
	X509_free(other);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(forger);
	EVP_PKEY_free(k);
}

#define NKEPT 7

struct kept {
	char serial[41];
	uint8_t tbs[4096];
	size_t len;
};

static int
kept_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kept *)a)->serial,
	    ((const struct kept *)b)->serial);
}

/* Kept certificates checked on several threads (each takes every n-th
 * of a page): with the 2nd and 5th (in serial order, the check's order)
 * forged, 1, 2 and 3 threads all name the 2nd, count the same, and say
 * the same; with 2 threads the 2nd is another thread's. */
static void
test_kept_certificates_on_threads_name_the_first_forged(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *cakey = ledger_key_generate("ec-p256");
	EVP_PKEY *forger = ledger_key_generate("ec-p256");
	X509 *ca = fx_tbs_ca(cakey), *cert;
	struct ledger_verify_report rep, first;
	enum ledger_status st;
	struct fx_tbs t;
	struct reg r;
	struct kept *kp = calloc(NKEPT, sizeof(*kp));
	char why[256];
	unsigned char *der;
	uint64_t n, n1 = 0, bseq = make_bridge(f);
	time_t now = tbs_now = time(NULL);
	int dlen;

	assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);
	for (int i = 0; i < NKEPT; i++) {
		EVP_PKEY *k = ledger_key_generate("ec-p256");

		reg_fields(&r, k, now - 60, now + 86400);
		assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
		tbs_fields(&t, ca, k, r.id, "cam-1", EST_PROFILE_DEVICE, NULL);
		assert_int_equal(tbs_put(f, bseq++, &t, 7), LEDGER_OK);
		assert_non_null(cert = ca_sign_tbs(t.der, t.len, cakey, why,
		    sizeof(why)));
		der = NULL;
		assert_true((dlen = i2d_X509(cert, &der)) > 0);
		st = LEDGER_ERR_UNAVAILABLE;
		assert_int_equal(ledger_cert_store(f->l, t.serial, der,
		    (size_t)dlen, stored_cb, &st), 0);
		ledger_writer_stop(f->l);
		assert_int_equal(st, LEDGER_OK);
		assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);
		snprintf(kp[i].serial, sizeof(kp[i].serial), "%s", t.serial);
		memcpy(kp[i].tbs, t.der, t.len);
		kp[i].len = t.len;
		OPENSSL_free(der);
		X509_free(cert);
		EVP_PKEY_free(k);
	}
	ledger_writer_stop(f->l);
	qsort(kp, NKEPT, sizeof(*kp), kept_cmp);
	for (unsigned th = 1; th <= 3; th++) {
		assert_int_equal(ledger_verify_certs(f->db, &ca, 1, th, &rep,
		    &n), 0);
		if (!rep.ok)
			fail_msg("verify on %u threads: %s", th, rep.what);
		assert_int_equal(n, NKEPT);
	}
	for (int i = 1; i < NKEPT; i += 3) {
		X509 *forged;

		assert_non_null(forged = ca_sign_tbs(kp[i].tbs, kp[i].len,
		    forger, why, sizeof(why)));
		kept_replace(f, kp[i].serial, forged);
		X509_free(forged);
	}
	for (unsigned th = 1; th <= 3; th++) {
		assert_int_equal(ledger_verify_certs(f->db, &ca, 1, th, &rep,
		    &n), 0);
		assert_false(rep.ok);
		assert_non_null(strstr(rep.what, kp[1].serial));
		assert_non_null(strstr(rep.what, "does not verify under its "
		    "issuer"));
		if (th == 1) {
			first = rep;
			n1 = n;
			assert_int_equal(n1, 1);
			continue;
		}
		assert_int_equal(rep.bad_index, first.bad_index);
		assert_string_equal(rep.what, first.what);
		assert_int_equal(n, n1);
	}
	free(kp);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(forger);
}

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = {
		T(test_recorded_tbs_must_match_its_entry_and_registration),
		T(test_ledgers_of_both_forms_replay_and_verify),
		T(test_tbs_with_a_malformed_or_other_key_is_refused),
		T(test_kept_certificates_are_verified_against_their_tbs),
		T(test_kept_certificates_on_threads_name_the_first_forged),
	};
	char name[64];

	snprintf(name, sizeof(name), "ledger/rules_tbs (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	return fx_main("test_rules_tbs", run_suite, NULL);
}
