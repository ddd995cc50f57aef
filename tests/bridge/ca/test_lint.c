/*
 * test_lint.c: bridge/ca/lint.c, the checks before the CA key signs a
 * certificate.  The TBSs issue_build makes pass, and ca_sign_tbs turns
 * them into certificates whose TBS is those bytes and whose signature
 * verifies with the issuing CA's key; each crafted bad TBS of tbs_fx.h is
 * refused with the check it breaks named in the reason.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bridge/bridge.h"
#include "tests/bridge/ca/tbs_fx.h"

#define WHYLEN	512

static int
group_setup(void **state)
{
	struct tbs_fx *f = calloc(1, sizeof(*f));

	log_verbosity = LOGL_ERR;
	if (f == NULL || tbs_fx_setup(f) != 0) {
		if (f != NULL)
			tbs_fx_teardown(f);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct tbs_fx *f = *state;

	if (f != NULL)
		tbs_fx_teardown(f);
	free(f);
	return 0;
}

/* Case c is refused, the reason beginning with its tbs_fx_info why, on
 * one line. */
static void
assert_refused(const struct tbs_fx *f, enum tbs_fx_case c)
{
	const struct tbs_fx_info *info = tbs_fx_info(c);
	struct tbs_fx_tbs t;
	char why[WHYLEN] = "";

	assert_non_null(info);
	assert_non_null(info->why);
	assert_int_equal(tbs_fx_build(f, c, &t), 0);
	assert_int_equal(ca_lint_tbs(t.der, t.len, &t.want, why, sizeof(why)),
	    -1);
	if (strncmp(why, info->why, strlen(info->why)) != 0)
		fail_msg("%s: refused with \"%s\", want \"%s...\"", info->name,
		    why, info->why);
	assert_null(strchr(why, '\n'));
	tbs_fx_tbs_free(&t);
}

/* The algorithm a certificate signed by issuer carries: ECDSA without
 * parameters, RSA with NULL (RFC 5758 3.2, RFC 4055 5). */
static void
assert_sigalg(const X509_ALGOR *alg, X509 *issuer)
{
	const ASN1_OBJECT *oid = NULL;
	int ptype = -1, rsa = EVP_PKEY_get_base_id(X509_get0_pubkey(issuer))
	    == EVP_PKEY_RSA;

	X509_ALGOR_get0(&oid, &ptype, NULL, alg);
	assert_int_equal(OBJ_obj2nid(oid), rsa ? NID_sha256WithRSAEncryption :
	    NID_ecdsa_with_SHA256);
	assert_int_equal(ptype, rsa ? V_ASN1_NULL : V_ASN1_UNDEF);
}

/* Case c passes the lint, and ca_sign_tbs makes of it a certificate of
 * exactly that TBS which verifies with the issuer's key and no other. */
static void
assert_passes_and_signs(const struct tbs_fx *f, enum tbs_fx_case c)
{
	struct tbs_fx_tbs t;
	char why[WHYLEN] = "";
	unsigned char *tbs = NULL, *re = NULL, *der = NULL;
	const unsigned char *q;
	X509 *x, *y;
	size_t len = 0;
	int n;

	assert_int_equal(tbs_fx_build(f, c, &t), 0);
	if (ca_lint_tbs(t.der, t.len, &t.want, why, sizeof(why)) != 0)
		fail_msg("%s: refused: %s", tbs_fx_info(c)->name, why);
	x = ca_sign_tbs(t.der, t.len, t.sign_key, why, sizeof(why));
	if (x == NULL)
		fail_msg("%s: not signed: %s", tbs_fx_info(c)->name, why);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(t.want.issuer)), 1);
	/* Negative control: another key does not verify it. */
	assert_true(X509_verify(x, t.want.issuer == f->iss ?
	    f->other : f->rsa) <= 0);
	ERR_clear_error();
	assert_int_equal(X509_check_issued(t.want.issuer, x), X509_V_OK);
	assert_sigalg(X509_get0_tbs_sigalg(x), t.want.issuer);

	/* The certificate's DER holds the input as its TBS, and parsed
	 * again it re-encodes to the input and verifies. */
	assert_true((n = i2d_X509(x, &der)) > 0);
	assert_non_null(memmem(der, (size_t)n, t.der, t.len));
	assert_int_equal(i2d_re_X509_tbs(x, &re), (int)t.len);
	assert_memory_equal(re, t.der, t.len);
	q = der;
	assert_non_null(y = d2i_X509(NULL, &q, n));
	assert_int_equal(i2d_re_X509_tbs(y, &tbs), (int)t.len);
	assert_memory_equal(tbs, t.der, t.len);
	assert_int_equal(X509_verify(y, X509_get0_pubkey(t.want.issuer)), 1);

	OPENSSL_free(tbs);
	OPENSSL_free(re);
	OPENSSL_free(der);
	X509_free(x);
	X509_free(y);

	/* What the key process sends: the DER, holding the input as its
	 * TBS, signed by the issuer. */
	der = NULL;
	assert_int_equal(ca_sign_tbs_der(t.der, t.len, t.sign_key, &der,
	    &len, why, sizeof(why)), 0);
	assert_non_null(memmem(der, len, t.der, t.len));
	q = der;
	assert_non_null(y = d2i_X509(NULL, &q, (long)len));
	assert_ptr_equal(q, der + len);
	assert_int_equal(X509_verify(y, X509_get0_pubkey(t.want.issuer)), 1);
	OPENSSL_free(der);
	X509_free(y);
	tbs_fx_tbs_free(&t);
}

#define PASSES(fn, c)							\
static void								\
fn(void **state)							\
{									\
	assert_passes_and_signs(*state, c);				\
}
#define REFUSED(fn, c)							\
static void								\
fn(void **state)							\
{									\
	assert_refused(*state, c);					\
}

PASSES(test_device_ec_tbs_passes_and_signs, TBS_FX_GOOD_DEVICE_EC)
PASSES(test_server_rsa_tbs_passes_and_signs, TBS_FX_GOOD_SERVER_RSA)
PASSES(test_admin_tbs_without_names_passes_and_signs,
    TBS_FX_GOOD_ADMIN_NO_NAMES)
PASSES(test_rsa_issuer_tbs_passes_and_signs, TBS_FX_GOOD_RSA_ISSUER)
PASSES(test_tbs_from_a_copied_spki_passes_and_signs,
    TBS_FX_GOOD_SPKI_COPIED)
PASSES(test_tbs_capped_to_the_key_window_passes_and_signs,
    TBS_FX_GOOD_WINDOW_CAPPED)

REFUSED(test_version_1_is_refused, TBS_FX_VERSION_1)
REFUSED(test_version_2_is_refused, TBS_FX_VERSION_2)
REFUSED(test_rsa_algorithm_with_ec_issuer_is_refused, TBS_FX_SIGALG_RSA)
REFUSED(test_ecdsa_algorithm_with_parameters_is_refused,
    TBS_FX_SIGALG_PARAMS)
REFUSED(test_serial_zero_is_refused, TBS_FX_SERIAL_ZERO)
REFUSED(test_negative_serial_is_refused, TBS_FX_SERIAL_NEGATIVE)
REFUSED(test_serial_of_21_octets_is_refused, TBS_FX_SERIAL_21_OCTETS)
REFUSED(test_serial_of_4_octets_is_refused, TBS_FX_SERIAL_4_OCTETS)
REFUSED(test_other_issuer_is_refused, TBS_FX_ISSUER_OTHER)
REFUSED(test_not_before_two_minutes_ahead_is_refused,
    TBS_FX_NOT_BEFORE_AHEAD)
REFUSED(test_validity_longer_than_the_profile_is_refused,
    TBS_FX_VALIDITY_TOO_LONG)
REFUSED(test_not_before_before_the_key_window_is_refused,
    TBS_FX_BEFORE_KEY_WINDOW)
REFUSED(test_not_after_after_the_key_window_is_refused,
    TBS_FX_AFTER_KEY_WINDOW)
REFUSED(test_generalized_time_before_2050_is_refused,
    TBS_FX_TIME_GENERALIZED)
REFUSED(test_other_cn_is_refused, TBS_FX_SUBJECT_OTHER_CN)
REFUSED(test_subject_with_more_than_cn_is_refused, TBS_FX_SUBJECT_EXTRA_RDN)
REFUSED(test_cn_as_printable_string_is_refused, TBS_FX_SUBJECT_PRINTABLE)
REFUSED(test_other_spki_is_refused, TBS_FX_SPKI_OTHER)
REFUSED(test_unique_id_is_refused, TBS_FX_UNIQUE_ID)
REFUSED(test_missing_extension_is_refused, TBS_FX_EXT_MISSING)
REFUSED(test_duplicated_extension_is_refused, TBS_FX_EXT_DUPLICATE)
REFUSED(test_extra_extension_is_refused, TBS_FX_EXT_EXTRA)
REFUSED(test_unregistered_san_is_refused, TBS_FX_SAN_EXTRA)
REFUSED(test_missing_san_name_is_refused, TBS_FX_SAN_MISSING)
REFUSED(test_absent_san_for_registered_names_is_refused, TBS_FX_SAN_ABSENT)
REFUSED(test_san_for_a_registration_without_names_is_refused,
    TBS_FX_SAN_UNREGISTERED)
REFUSED(test_basic_constraints_not_critical_is_refused,
    TBS_FX_BC_NOT_CRITICAL)
REFUSED(test_ca_true_is_refused, TBS_FX_BC_CA_TRUE)
REFUSED(test_wrong_key_usage_is_refused, TBS_FX_KU_WRONG)
REFUSED(test_rsa_key_usage_without_key_encipherment_is_refused,
    TBS_FX_KU_RSA_NO_KE)
REFUSED(test_key_usage_not_critical_is_refused, TBS_FX_KU_NOT_CRITICAL)
REFUSED(test_key_usage_not_in_der_is_refused, TBS_FX_KU_NOT_DER)
REFUSED(test_wrong_eku_is_refused, TBS_FX_EKU_WRONG)
REFUSED(test_two_ekus_are_refused, TBS_FX_EKU_TWO)
REFUSED(test_ski_by_method_2_is_refused, TBS_FX_SKI_METHOD_2)
REFUSED(test_ski_critical_is_refused, TBS_FX_SKI_CRITICAL)
REFUSED(test_aki_not_the_issuers_ski_is_refused, TBS_FX_AKI_OTHER)
REFUSED(test_aki_with_issuer_and_serial_is_refused, TBS_FX_AKI_ISSUER_SERIAL)
REFUSED(test_other_ocsp_url_is_refused, TBS_FX_AIA_OCSP_URL)
REFUSED(test_other_ca_issuers_url_is_refused, TBS_FX_AIA_CA_ISSUERS_URL)
REFUSED(test_other_crl_url_is_refused, TBS_FX_CDP_URL)
REFUSED(test_boolean_true_as_0x01_is_refused, TBS_FX_DER_BOOLEAN)
REFUSED(test_long_form_length_is_refused, TBS_FX_DER_LONG_LENGTH)
REFUSED(test_bytes_after_the_tbs_are_refused, TBS_FX_DER_TRAILING)
REFUSED(test_extension_value_not_in_der_is_refused, TBS_FX_DER_EXT_VALUE)
REFUSED(test_whole_certificate_as_tbs_is_refused, TBS_FX_NOT_TBS)

/* Offset of the content of the n-th (0, 1) UTCTime at or after from in
 * der, or 0. */
static size_t
utctime_at(const uint8_t *der, size_t len, size_t from, int n)
{
	size_t i;

	for (i = from; i + 2 < len; i++)
		if (der[i] == V_ASN1_UTCTIME && der[i + 1] == 13 && n-- == 0)
			return i + 2;
	return 0;
}

/*
 * Every truncation of a good TBS is refused as DER, and every one-bit
 * flip of it is answered without a crash (the sanitizer build runs this
 * too): refused, but where the bit is free: inside the serial's random
 * octets and the digits of the validity's times (a flip that keeps a
 * digit a digit moves the time by a little).
 */
static void
test_truncated_and_flipped_tbs_are_answered(void **state)
{
	const struct tbs_fx *f = *state;
	struct tbs_fx_tbs t;
	char why[WHYLEN];
	size_t i, serial, serlen, nb, na;
	int bit, in_serial = 0;

	assert_int_equal(tbs_fx_build(f, TBS_FX_GOOD_DEVICE_EC, &t), 0);
	for (i = 1; i < t.len; i++) {
		assert_int_equal(ca_lint_tbs(t.der, i, &t.want, why,
		    sizeof(why)), -1);
		assert_int_equal(strncmp(why, "lint: der: ", 11), 0);
	}
	/* 30 82 hi lo, version a0 03 02 01 02, serial 02 len content. */
	assert_int_equal(t.der[9], V_ASN1_INTEGER);
	serlen = t.der[10];
	serial = 11;
	nb = utctime_at(t.der, t.len, serial + serlen, 0);
	na = utctime_at(t.der, t.len, serial + serlen, 1);
	assert_true(nb > 0 && na > nb);
	for (i = 0; i < t.len; i++)
		for (bit = 0; bit < 8; bit++) {
			t.der[i] ^= (uint8_t)(1 << bit);
			if (ca_lint_tbs(t.der, t.len, &t.want, why,
			    sizeof(why)) == 0) {
				if (i >= serial && i < serial + serlen)
					in_serial++;
				else if (!(i >= nb && i < nb + 12) &&
				    !(i >= na && i < na + 12))
					fail_msg("a flip of bit %d of byte %zu "
					    "passed", bit, i);
			}
			t.der[i] ^= (uint8_t)(1 << bit);
		}
	/* All but the sign bit, and a first octet flipped to 0x00. */
	assert_true(in_serial >= (int)(8 * serlen) - 2);
	tbs_fx_tbs_free(&t);
}

/* ca_sign_tbs signs only with a key of the TBS's algorithm, and only a
 * TBS in DER with nothing after it. */
static void
test_sign_refuses_what_it_cannot_sign_exactly(void **state)
{
	const struct tbs_fx *f = *state;
	const enum tbs_fx_case bad[] = { TBS_FX_DER_LONG_LENGTH,
	    TBS_FX_DER_TRAILING, TBS_FX_NOT_TBS };
	struct tbs_fx_tbs t;
	char why[WHYLEN] = "";
	size_t i;

	assert_int_equal(tbs_fx_build(f, TBS_FX_GOOD_DEVICE_EC, &t), 0);
	assert_null(ca_sign_tbs(t.der, t.len, f->rsa_iss_key, why,
	    sizeof(why)));
	assert_string_equal(why, "lint: signature: the TBS's algorithm is "
	    "not the key's");
	assert_null(ca_sign_tbs(t.der, 0, f->iss_key, why, sizeof(why)));
	assert_null(ca_sign_tbs(NULL, t.len, f->iss_key, why, sizeof(why)));
	tbs_fx_tbs_free(&t);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tbs_fx_build(f, bad[i], &t), 0);
		why[0] = '\0';
		assert_null(ca_sign_tbs(t.der, t.len, f->iss_key, why,
		    sizeof(why)));
		if (strncmp(why, tbs_fx_info(bad[i])->why,
		    strlen(tbs_fx_info(bad[i])->why)) != 0)
			fail_msg("%s: \"%s\"", tbs_fx_info(bad[i])->name, why);
		tbs_fx_tbs_free(&t);
	}
}

/* ca_tbs_der takes its algorithm from the issuer's key, and there is
 * none for a key that is neither EC nor RSA. */
static void
test_tbs_der_refuses_an_issuer_neither_ec_nor_rsa(void **state)
{
	const struct tbs_fx *f = *state;
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *iss = X509_new(), *x = X509_new();
	uint8_t *der = NULL;
	size_t len = 1;

	assert_non_null(ed);
	assert_non_null(iss);
	assert_non_null(x);
	assert_int_equal(X509_set_pubkey(iss, ed), 1);
	assert_int_equal(X509_set_pubkey(x, f->ec), 1);
	assert_int_equal(ca_tbs_der(x, iss, &der, &len), -1);
	assert_null(der);
	assert_int_equal(len, 0);
	X509_free(iss);
	X509_free(x);
	EVP_PKEY_free(ed);
}

/* Without an issuer, name, key or profile there is nothing to check a
 * TBS against: refused, not passed. */
static void
test_lint_without_a_want_refuses(void **state)
{
	const struct tbs_fx *f = *state;
	struct tbs_fx_tbs t;
	char why[WHYLEN] = "";

	assert_int_equal(tbs_fx_build(f, TBS_FX_GOOD_DEVICE_EC, &t), 0);
	assert_int_equal(ca_lint_tbs(t.der, t.len, NULL, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "lint: want: no issuer, name, key or profile "
	    "to check against");
	t.want.profile = 0;
	assert_int_equal(ca_lint_tbs(t.der, t.len, &t.want, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "lint: want: no issuer, name, key or profile "
	    "to check against");
	tbs_fx_tbs_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_ec_tbs_passes_and_signs),
		cmocka_unit_test(test_server_rsa_tbs_passes_and_signs),
		cmocka_unit_test(test_admin_tbs_without_names_passes_and_signs),
		cmocka_unit_test(test_rsa_issuer_tbs_passes_and_signs),
		cmocka_unit_test(test_tbs_from_a_copied_spki_passes_and_signs),
		cmocka_unit_test(
		    test_tbs_capped_to_the_key_window_passes_and_signs),
		cmocka_unit_test(test_version_1_is_refused),
		cmocka_unit_test(test_version_2_is_refused),
		cmocka_unit_test(test_rsa_algorithm_with_ec_issuer_is_refused),
		cmocka_unit_test(
		    test_ecdsa_algorithm_with_parameters_is_refused),
		cmocka_unit_test(test_serial_zero_is_refused),
		cmocka_unit_test(test_negative_serial_is_refused),
		cmocka_unit_test(test_serial_of_21_octets_is_refused),
		cmocka_unit_test(test_serial_of_4_octets_is_refused),
		cmocka_unit_test(test_other_issuer_is_refused),
		cmocka_unit_test(test_not_before_two_minutes_ahead_is_refused),
		cmocka_unit_test(
		    test_validity_longer_than_the_profile_is_refused),
		cmocka_unit_test(
		    test_not_before_before_the_key_window_is_refused),
		cmocka_unit_test(test_not_after_after_the_key_window_is_refused),
		cmocka_unit_test(test_generalized_time_before_2050_is_refused),
		cmocka_unit_test(test_other_cn_is_refused),
		cmocka_unit_test(test_subject_with_more_than_cn_is_refused),
		cmocka_unit_test(test_cn_as_printable_string_is_refused),
		cmocka_unit_test(test_other_spki_is_refused),
		cmocka_unit_test(test_unique_id_is_refused),
		cmocka_unit_test(test_missing_extension_is_refused),
		cmocka_unit_test(test_duplicated_extension_is_refused),
		cmocka_unit_test(test_extra_extension_is_refused),
		cmocka_unit_test(test_unregistered_san_is_refused),
		cmocka_unit_test(test_missing_san_name_is_refused),
		cmocka_unit_test(
		    test_absent_san_for_registered_names_is_refused),
		cmocka_unit_test(
		    test_san_for_a_registration_without_names_is_refused),
		cmocka_unit_test(test_basic_constraints_not_critical_is_refused),
		cmocka_unit_test(test_ca_true_is_refused),
		cmocka_unit_test(test_wrong_key_usage_is_refused),
		cmocka_unit_test(
		    test_rsa_key_usage_without_key_encipherment_is_refused),
		cmocka_unit_test(test_key_usage_not_critical_is_refused),
		cmocka_unit_test(test_key_usage_not_in_der_is_refused),
		cmocka_unit_test(test_wrong_eku_is_refused),
		cmocka_unit_test(test_two_ekus_are_refused),
		cmocka_unit_test(test_ski_by_method_2_is_refused),
		cmocka_unit_test(test_ski_critical_is_refused),
		cmocka_unit_test(test_aki_not_the_issuers_ski_is_refused),
		cmocka_unit_test(test_aki_with_issuer_and_serial_is_refused),
		cmocka_unit_test(test_other_ocsp_url_is_refused),
		cmocka_unit_test(test_other_ca_issuers_url_is_refused),
		cmocka_unit_test(test_other_crl_url_is_refused),
		cmocka_unit_test(test_boolean_true_as_0x01_is_refused),
		cmocka_unit_test(test_long_form_length_is_refused),
		cmocka_unit_test(test_bytes_after_the_tbs_are_refused),
		cmocka_unit_test(test_extension_value_not_in_der_is_refused),
		cmocka_unit_test(test_whole_certificate_as_tbs_is_refused),
		cmocka_unit_test(test_truncated_and_flipped_tbs_are_answered),
		cmocka_unit_test(test_sign_refuses_what_it_cannot_sign_exactly),
		cmocka_unit_test(
		    test_tbs_der_refuses_an_issuer_neither_ec_nor_rsa),
		cmocka_unit_test(test_lint_without_a_want_refuses),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
