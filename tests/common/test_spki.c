/*
 * test_spki.c: common/spki.c, EC keys read without OpenSSL's decoder.
 * What it reads must be the key d2i_PUBKEY reads, and everything that is
 * not a P-256 or P-384 key in its one DER encoding must be left to the
 * slow path (NULL): a BER variant, a compressed or hybrid point, explicit
 * curve parameters, a point off the curve, unused bits, trailing or
 * missing bytes, another curve or algorithm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/spki.h"

/* der of k (malloc'd, *len), its point encoded as form / its curve as
 * encoding when not NULL. */
static unsigned char *
spki_der(EVP_PKEY *k, const char *param, const char *value, size_t *len)
{
	EVP_PKEY *d = EVP_PKEY_dup(k);
	unsigned char *der = NULL;
	int n;

	assert_non_null(d);
	if (param != NULL)
		assert_int_equal(EVP_PKEY_set_utf8_string_param(d, param,
		    value), 1);
	assert_true((n = i2d_PUBKEY(d, &der)) > 0);
	EVP_PKEY_free(d);
	*len = (size_t)n;
	return der;
}

static void
test_reads_the_key_d2i_reads(void **state)
{
	static const char *const curves[] = { "P-256", "P-384" };
	unsigned char *der;
	EVP_PKEY *k, *got;
	size_t len;

	(void)state;
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < 20; i++) {
			assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL,
			    "EC", curves[c]));
			der = spki_der(k, NULL, NULL, &len);
			assert_non_null(got = spki_ec_read(der, len));
			assert_int_equal(EVP_PKEY_eq(k, got), 1);
			EVP_PKEY_free(got);
			OPENSSL_free(der);
			EVP_PKEY_free(k);
		}
}

/* der[0..len) to NULL */
static void
assert_left(const unsigned char *der, size_t len, const char *what)
{
	EVP_PKEY *got = spki_ec_read(der, len);

	if (got != NULL) {
		EVP_PKEY_free(got);
		fail_msg("%s: read by the fast path", what);
	}
}

static void
test_leaves_everything_else_to_the_slow_path(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char *der, *ber;
	size_t len, n;

	(void)state;
	der = spki_der(k, NULL, NULL, &len);
	assert_int_equal(len, 91);
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[1], 0x59);
	/* the outer length in long form: BER, the same key */
	assert_non_null(ber = malloc(len + 1));
	ber[0] = 0x30;
	ber[1] = 0x81;
	memcpy(ber + 2, der + 1, len - 1);
	{
		const unsigned char *p = ber;
		EVP_PKEY *same = d2i_PUBKEY(NULL, &p, (long)len + 1);

		assert_non_null(same);		/* OpenSSL reads BER */
		assert_int_equal(EVP_PKEY_eq(k, same), 1);
		EVP_PKEY_free(same);
	}
	assert_left(ber, len + 1, "a long-form length");
	free(ber);
	assert_left(der, len - 1, "a missing byte");
	assert_non_null(ber = malloc(len + 1));
	memcpy(ber, der, len);
	ber[len] = 0;
	assert_left(ber, len + 1, "a trailing byte");
	memcpy(ber, der, len);
	ber[len - 1] ^= 0x01;			/* y: off the curve */
	assert_left(ber, len, "a point off the curve");
	memcpy(ber, der, len);
	assert_int_equal(ber[25], 0x00);	/* the unused-bits byte */
	ber[25] = 0x01;
	assert_left(ber, len, "an unused bit");
	free(ber);
	assert_left(NULL, 0, "nothing");
	OPENSSL_free(der);
	der = spki_der(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED, &n);
	assert_left(der, n, "a compressed point");
	OPENSSL_free(der);
	der = spki_der(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_HYBRID, &n);
	assert_left(der, n, "a hybrid point");
	OPENSSL_free(der);
	der = spki_der(k, OSSL_PKEY_PARAM_EC_ENCODING,
	    OSSL_PKEY_EC_ENCODING_EXPLICIT, &n);
	assert_left(der, n, "explicit curve parameters");
	OPENSSL_free(der);
	der = spki_der(k1, NULL, NULL, &n);
	assert_left(der, n, "secp256k1");
	OPENSSL_free(der);
	der = spki_der(ed, NULL, NULL, &n);
	assert_left(der, n, "Ed25519");
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(ed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_the_key_d2i_reads),
		cmocka_unit_test(test_leaves_everything_else_to_the_slow_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
