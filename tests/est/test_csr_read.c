/*
 * test_csr_read.c: est_csr_read (est/csr.c), the event loop's CSR reader
 * that reads a P-256 or P-384 request without OpenSSL's decoder chain,
 * against est_csr_decode + est_csr_check, the reader it stands in for:
 * for a request a device sends and every one-byte change of it, the same
 * verdict and reason, and for an accepted one the same key id, names and
 * key.  Proof of possession stays: a request whose signature is another
 * key's is refused on the fast path as on the general one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "est/est.h"

#define WHY_MAX 256

/* A P-256 (or P-384) request for key, signed by signer with md, asking
 * for a DNS and an IP name: its DER, malloc'd, in *len bytes. */
static unsigned char *
csr_der(EVP_PKEY *key, EVP_PKEY *signer, const EVP_MD *md, int *len)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	unsigned char *der = NULL;

	assert_non_null(req);
	assert_non_null(exts);
	assert_int_equal(X509_REQ_set_version(req, X509_REQ_VERSION_1), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(
	    X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
	    (const unsigned char *)"cam-1", -1, -1, 0), 1);
	assert_non_null(ext = X509V3_EXT_conf_nid(NULL, NULL,
	    NID_subject_alt_name, "DNS:cam-1.example,IP:192.0.2.7"));
	assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
	assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, signer, md) > 0);
	assert_true((*len = i2d_X509_REQ(req, &der)) > 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return der;
}

/* der[0..len) as one line of base64, malloc'd. */
static char *
b64(const unsigned char *der, int len)
{
	char *text = malloc((size_t)len / 3 * 4 + 8);

	assert_non_null(text);
	assert_true(EVP_EncodeBlock((unsigned char *)text, der, len) > 0);
	return text;
}

/* Both readers of der[0..len): the same verdict, reason, key id, names
 * and key.  Returns the verdict; *fast: the key was not decoded by
 * OpenSSL's X509_REQ (the fast path read it). */
static enum est_csr_status
same_reading(const unsigned char *der, int len, int *fast)
{
	char *text = b64(der, len);
	char why[WHY_MAX] = "", why2[WHY_MAX] = "", id[65], id2[65];
	enum est_csr_status st = EST_CSR_OK, st2;
	struct est_names n, n2;
	X509_REQ *req, *r2 = NULL;
	EVP_PKEY *pk2 = NULL;

	req = est_csr_decode(text, strlen(text), &st, why, WHY_MAX);
	if (req != NULL)
		st = est_csr_check(req, why, WHY_MAX);
	st2 = est_csr_read(text, strlen(text), &r2, &pk2, why2, WHY_MAX);
	assert_int_equal(st2, st);
	if (st != EST_CSR_OK) {
		assert_string_equal(why2, why);
		assert_null(r2);
		assert_null(pk2);
	} else {
		assert_int_equal(est_csr_key_id(req, id), 0);
		assert_int_equal(est_csr_key_id(r2, id2), 0);
		assert_string_equal(id, id2);
		assert_int_equal(est_csr_names(req, &n) == 0,
		    est_csr_names(r2, &n2) == 0);
		assert_memory_equal(&n, &n2, sizeof(n));
		assert_int_equal(EVP_PKEY_eq(pk2, X509_REQ_get0_pubkey(req)),
		    1);
		*fast = X509_REQ_get0_pubkey(r2) == NULL;
	}
	X509_REQ_free(req);
	X509_REQ_free(r2);
	EVP_PKEY_free(pk2);
	free(text);
	return st;
}

/* A device's request, then each of its bytes changed three ways. */
static void
test_reads_as_decode_and_check_did_byte_for_byte(void **state)
{
	static const unsigned char flips[] = { 0x01, 0x80, 0xff };
	EVP_PKEY *k = EVP_EC_gen("P-256"), *k384 = EVP_EC_gen("P-384");
	unsigned char *der, *mut;
	int len, fast = 0;

	(void)state;
	assert_non_null(k);
	assert_non_null(k384);
	der = csr_der(k384, k384, EVP_sha384(), &len);
	assert_int_equal(same_reading(der, len, &fast), EST_CSR_OK);
	assert_true(fast);
	OPENSSL_free(der);
	der = csr_der(k, k, EVP_sha256(), &len);
	assert_int_equal(same_reading(der, len, &fast), EST_CSR_OK);
	assert_true(fast);
	assert_non_null(mut = malloc((size_t)len));
	for (int i = 0; i < len; i++)
		for (size_t j = 0; j < sizeof(flips); j++) {
			memcpy(mut, der, (size_t)len);
			mut[i] ^= flips[j];
			(void)same_reading(mut, len, &fast);
		}
	free(mut);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k384);
}

/* Proof of possession: the request carries k's key but k2 signed it; a
 * SHA-1 signature by k is a weak hash.  Both refused as before. */
static void
test_a_request_signed_by_another_key_is_refused(void **state)
{
	EVP_PKEY *k = EVP_EC_gen("P-256"), *k2 = EVP_EC_gen("P-256");
	unsigned char *der;
	int len, fast = 0;

	(void)state;
	der = csr_der(k, k2, EVP_sha256(), &len);
	assert_int_equal(same_reading(der, len, &fast),
	    EST_CSR_BAD_SIGNATURE);
	OPENSSL_free(der);
	der = csr_der(k, k, EVP_sha1(), &len);
	assert_int_equal(same_reading(der, len, &fast), EST_CSR_WEAK_HASH);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* The fast reader's keys share their curve's group (est/csr.c), never
 * a key: three requests of three keys on each curve read one after the
 * other and held together are each their own key, not the last one's. */
static void
test_keys_read_together_are_each_their_own(void **state)
{
	const char *curve[] = { "P-256", "P-384" };
	EVP_PKEY *k[3], *pk[3];
	X509_REQ *r[3];
	char why[WHY_MAX], *text;
	unsigned char *der;
	int len;

	(void)state;
	for (size_t c = 0; c < 2; c++) {
		for (int i = 0; i < 3; i++) {
			assert_non_null(k[i] = EVP_EC_gen(curve[c]));
			der = csr_der(k[i], k[i], EVP_sha256(), &len);
			text = b64(der, len);
			assert_int_equal(est_csr_read(text, strlen(text), &r[i],
			    &pk[i], why, WHY_MAX), EST_CSR_OK);
			assert_null(X509_REQ_get0_pubkey(r[i]));	/* fast */
			free(text);
			OPENSSL_free(der);
		}
		for (int i = 0; i < 3; i++) {
			assert_int_equal(EVP_PKEY_eq(pk[i], k[i]), 1);
			assert_int_not_equal(EVP_PKEY_eq(pk[i], k[(i + 1) % 3]), 1);
			X509_REQ_free(r[i]);
			EVP_PKEY_free(pk[i]);
			EVP_PKEY_free(k[i]);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_reads_as_decode_and_check_did_byte_for_byte),
		cmocka_unit_test(test_a_request_signed_by_another_key_is_refused),
		cmocka_unit_test(test_keys_read_together_are_each_their_own),
	};

	return cmocka_run_group_tests_name("est/csr_read", tests, NULL, NULL);
}
