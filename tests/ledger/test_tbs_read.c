/*
 * test_tbs_read.c: ledger_tbs_read (ledger/tbs.c), the rules' reader of a
 * TBSCertificate that leaves its public key undecoded, against
 * ledger_tbs_x509, the reader it replaced (d2i_X509 of the TBS, its key
 * decoded): for a TBS the bridge builds and for every one-byte change of
 * it, both accept or both refuse, and what the rules read (serial,
 * validity, the SPKI's bytes, subject, AKI, subjectAltName, CA-ness,
 * extended key usage, OpenSSL's extension flags) is the same.  A
 * self-issued v1 TBS, whose CA-ness depends on its key, too.
 */
#include "tests/ledger/rules_fx.h"

#include <openssl/x509v3.h>

#include "bridge/ca/ca.h"

/* Both readers of der[0..len): the same verdict and the same reading. */
static void
same_reading(const uint8_t *der, size_t len)
{
	X509 *old = ledger_tbs_x509(der, len), *x = NULL;
	unsigned char *od = NULL, *a = NULL, *b = NULL;
	uint8_t *kd = NULL;
	const ASN1_OCTET_STRING *oaki, *aki;
	GENERAL_NAMES *osan, *san;
	int kn = 0, on, ocrit = -1, crit = -1, an, bn;

	assert_int_equal(ledger_tbs_read(der, len, &x, &kd, &kn) == 0,
	    old != NULL);
	if (old == NULL)
		return;
	on = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(old), &od);
	assert_int_equal(on, kn);
	assert_memory_equal(od, kd, (size_t)kn);
	assert_int_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(old),
	    X509_get0_serialNumber(x)), 0);
	assert_int_equal(ASN1_STRING_cmp(X509_get0_notBefore(old),
	    X509_get0_notBefore(x)), 0);
	assert_int_equal(ASN1_STRING_cmp(X509_get0_notAfter(old),
	    X509_get0_notAfter(x)), 0);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(old),
	    X509_get_subject_name(x)), 0);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(old)),
	    X509_NAME_entry_count(X509_get_subject_name(x)));
	assert_int_equal(X509_check_ca(old), X509_check_ca(x));
	assert_int_equal(X509_get_extended_key_usage(old),
	    X509_get_extended_key_usage(x));
	assert_int_equal(X509_get_extension_flags(old),
	    X509_get_extension_flags(x));
	oaki = X509_get0_authority_key_id(old);
	aki = X509_get0_authority_key_id(x);
	assert_int_equal(oaki == NULL, aki == NULL);
	if (aki != NULL)
		assert_int_equal(ASN1_OCTET_STRING_cmp(oaki, aki), 0);
	osan = X509_get_ext_d2i(old, NID_subject_alt_name, &ocrit, NULL);
	san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	assert_int_equal(ocrit, crit);
	assert_int_equal(osan == NULL, san == NULL);
	if (san != NULL) {
		an = i2d_GENERAL_NAMES(osan, &a);
		bn = i2d_GENERAL_NAMES(san, &b);
		assert_int_equal(an, bn);
		assert_memory_equal(a, b, (size_t)an);
	}
	OPENSSL_free(a);
	OPENSSL_free(b);
	GENERAL_NAMES_free(osan);
	GENERAL_NAMES_free(san);
	OPENSSL_free(od);
	OPENSSL_free(kd);
	X509_free(old);
	X509_free(x);
}

/* A TBS the bridge builds, then each of its bytes changed three ways:
 * the two readers never disagree. */
static void
test_reads_as_the_x509_reader_did_byte_for_byte(void **state)
{
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	EVP_PKEY *cakey = ledger_key_generate("ec-p256");
	EVP_PKEY *k = ledger_key_generate("ec-p256");
	X509 *ca = fx_tbs_ca(cakey), *x = NULL;
	struct fx_tbs t;
	uint8_t der[4096], *kd = NULL;
	int kn;

	(void)state;
	fx_tbs_fields(&t, ca, k, "id", "cam-1", (int)EST_PROFILE_SERVER,
	    "cam-1.example", time(NULL));
	same_reading(t.der, t.len);
	/* ... and it was read without its key: no EVP_PKEY behind it */
	assert_int_equal(ledger_tbs_read(t.der, t.len, &x, &kd, &kn), 0);
	assert_null(X509_get0_pubkey(x));
	X509_free(x);
	OPENSSL_free(kd);
	for (size_t i = 0; i < t.len; i++)
		for (size_t j = 0; j < sizeof(flips); j++) {
			memcpy(der, t.der, t.len);
			der[i] ^= flips[j];
			same_reading(der, t.len);
		}
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(k);
}

/* The DER TBS of x (signed by key, so its inner algorithm is set),
 * malloc'd in *der. */
static size_t
tbs_of(X509 *x, EVP_PKEY *key, uint8_t **der)
{
	unsigned char *c = NULL;
	const uint8_t *t;
	size_t tlen;
	int n;

	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_true((n = i2d_X509(x, &c)) > 0);
	assert_int_equal(ledger_tbs_of_cert(c, (size_t)n, &t, &tlen), 0);
	assert_non_null(*der = malloc(tlen));
	memcpy(*der, t, tlen);
	OPENSSL_free(c);
	return tlen;
}

/* A self-issued v1 TBS with no basicConstraints is a CA to OpenSSL when
 * it is also self-signed, which depends on its key: read with its key,
 * as before, it is a CA either way; with another subject it is not. */
static void
test_self_issued_v1_tbs_reads_as_a_ca(void **state)
{
	EVP_PKEY *key = ledger_key_generate("ec-p256");
	X509 *x = X509_new();
	X509 *r = NULL;
	X509_NAME *n = X509_NAME_new();
	uint8_t *der = NULL, *kd = NULL;
	size_t len;
	int kn;

	(void)state;
	assert_non_null(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"cam-1", -1, -1, 0), 1);
	assert_int_equal(X509_set_version(x, X509_VERSION_1), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	len = tbs_of(x, key, &der);
	same_reading(der, len);
	assert_int_equal(ledger_tbs_read(der, len, &r, &kd, &kn), 0);
	assert_int_equal(X509_check_ca(r), 3);	/* a self-signed v1 root */
	X509_free(r);
	OPENSSL_free(kd);
	free(der);

	assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"other", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	len = tbs_of(x, key, &der);
	same_reading(der, len);
	assert_int_equal(ledger_tbs_read(der, len, &r, &kd, &kn), 0);
	assert_int_equal(X509_check_ca(r), 0);
	X509_free(r);
	OPENSSL_free(kd);
	free(der);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_reads_as_the_x509_reader_did_byte_for_byte),
		cmocka_unit_test(test_self_issued_v1_tbs_reads_as_a_ca),
	};

	return cmocka_run_group_tests_name("ledger/tbs_read", tests, NULL,
	    NULL);
}
