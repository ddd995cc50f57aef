/*
 * test_keyproc_issuers.c: the key process after a CA rollover (issue 17):
 * a data directory made by `keybridge init` (keyproc_fx.h's group), then
 * ca_rollover() with the root key init wrote.  The key process holds both
 * issuing CAs; its checks hold per issuer: an OCSP response is signed by
 * the responder of the issuer its CertIDs name and by no other, a CRL by
 * the issuer its id names with a number above that issuer's own last one
 * (persisted per issuer), and nothing for an issuer it does not hold.
 */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"
#include "bridge/keyproc/keyproc.h"
#include "tests/bridge/keyproc/keyproc_fx.h"

#define ERRLEN	512

static char new_id[CA_ISSUER_ID_MAX + 1];

static int
group_setup(void **state)
{
	struct keyproc_fx_kp *f;
	char err[ERRLEN] = "", key[PATH_MAX + 16];

	if (keyproc_fx_group_setup(state) != 0)
		return -1;
	f = *state;
	snprintf(key, sizeof(key), "%s/ca/root.key", f->dir);
	if (ca_rollover(&f->cfg, key, new_id, err, sizeof(err)) != 0) {
		fprintf(stderr, "ca_rollover: %s\n", err);
		return -1;
	}
	return 0;
}

/* Each test: no promise yet, for either issuer. */
static int
setup(void **state)
{
	struct keyproc_fx_kp *f = *state;
	char path[PATH_MAX + 96];

	snprintf(path, sizeof(path), "%s/" CA_ISSUER_CRL_STATE, f->dir,
	    new_id);
	(void)unlink(path);
	return keyproc_fx_setup(state);
}

/* [0] the new CA, [1] init's. */
#define CUR	0
#define OLD	1

static void
key_hash(X509 *x, uint8_t out[SHA_DIGEST_LENGTH])
{
	const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(x);

	assert_int_equal(EVP_Digest(bits->data, (size_t)bits->length, out,
	    NULL, EVP_sha1(), NULL), 1);
}

/* One single response for serial 5 of issuer, as signer.c puts it. */
static void
put_single(struct keyproc_buf *b, X509 *issuer)
{
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	OCSP_CERTID *cid;
	unsigned char *der = NULL;
	time_t now = time(NULL);
	int len;

	assert_int_equal(ASN1_INTEGER_set(sn, 5), 1);
	cid = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
	    X509_get0_pubkey_bitstr(issuer), sn);
	assert_non_null(cid);
	len = i2d_OCSP_CERTID(cid, &der);
	assert_true(len > 0);
	keyproc_put_bytes(b, der, (size_t)len);
	keyproc_put_u64(b, 0);		/* good */
	keyproc_put_u64(b, 0);
	keyproc_put_u64(b, 0);
	keyproc_put_u64(b, (uint64_t)now);
	keyproc_put_u64(b, (uint64_t)now + 3600);
	OPENSSL_free(der);
	OCSP_CERTID_free(cid);
	ASN1_INTEGER_free(sn);
}

/* A SIGN_OCSP request as responder's, one response with a single
 * response for each of issuers[0..n). */
static struct keyproc_buf
ocsp_req(X509 *responder, X509 *const *issuers, int n)
{
	struct keyproc_buf b = { 0 };
	uint8_t rid[SHA_DIGEST_LENGTH];

	key_hash(responder, rid);
	keyproc_put_bytes(&b, rid, sizeof(rid));
	keyproc_put_u64(&b, 1);		/* one response */
	keyproc_put_u64(&b, (uint64_t)n);
	for (int i = 0; i < n; i++)
		put_single(&b, issuers[i]);
	keyproc_put_u64(&b, 0);		/* no extension */
	return b;
}

static void
test_info_names_both_issuers_the_new_one_first(void **state)
{
	struct keyproc_fx_kp *f = *state;

	assert_int_equal(signer_nissuers(f->s), 2);
	assert_string_equal(signer_issuer_id_at(f->s, CUR), new_id);
	assert_string_equal(signer_issuer_id(f->s), new_id);
	assert_int_equal(signer_issuer_original(f->s, CUR), 0);
	assert_int_equal(signer_issuer_original(f->s, OLD), 1);
	assert_string_not_equal(signer_issuer_id_at(f->s, OLD), new_id);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(X509_check_issued(signer_issuer_at(f->s, i),
		    signer_ocsp_cert_at(f->s, i)), X509_V_OK);
		assert_int_equal(X509_check_issued(f->root,
		    signer_issuer_at(f->s, i)), X509_V_OK);
	}
	assert_null(signer_issuer_at(f->s, 2));
}

/* Through the signer: each issuer's CertID answered by that issuer's
 * own responder (byKey), verifying under the root. */
static void
test_ocsp_of_each_issuer_is_signed_by_its_own_responder(void **state)
{
	struct keyproc_fx_kp *f = *state;

	for (size_t i = 0; i < 2; i++) {
		X509 *iss = signer_issuer_at(f->s, i);
		OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();
		ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));
		STACK_OF(X509) *chain = sk_X509_new_null();
		X509_STORE *st = X509_STORE_new();
		const ASN1_OCTET_STRING *bykey = NULL;
		const X509_NAME *nm = NULL;
		uint8_t rid[SHA_DIGEST_LENGTH];
		OCSP_CERTID *cid;

		assert_int_equal(ASN1_INTEGER_set(sn, 9), 1);
		cid = OCSP_cert_id_new(EVP_sha256(), X509_get_subject_name(iss),
		    X509_get0_pubkey_bitstr(iss), sn);
		assert_non_null(OCSP_basic_add1_status(bs, cid,
		    V_OCSP_CERTSTATUS_GOOD, -1, NULL, t, NULL));
		assert_int_equal(signer_sign_ocsp(f->s, &bs), 0);
		assert_int_equal(OCSP_resp_get0_id(bs, &bykey, &nm), 1);
		assert_non_null(bykey);
		key_hash(signer_ocsp_cert_at(f->s, i), rid);
		assert_memory_equal(ASN1_STRING_get0_data(bykey), rid,
		    sizeof(rid));
		assert_int_equal(X509_STORE_add_cert(st, f->root), 1);
		assert_true(sk_X509_push(chain, iss) > 0);
		assert_int_equal(OCSP_basic_verify(bs, chain, st, 0), 1);
		sk_X509_free(chain);
		X509_STORE_free(st);
		ASN1_TIME_free(t);
		ASN1_INTEGER_free(sn);
		OCSP_CERTID_free(cid);
		OCSP_BASICRESP_free(bs);
	}
}

/* The per-issuer check: one issuer's responder never answers for the
 * other issuer's CertIDs, nor for two issuers in one response. */
static void
test_ocsp_for_one_issuer_by_the_others_responder_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	X509 *cur = signer_issuer_at(f->s, CUR), *old = signer_issuer_at(f->s,
	    OLD);
	X509 *both[2] = { old, cur };
	struct keyproc_buf b;

	b = ocsp_req(signer_ocsp_cert_at(f->s, CUR), &old, 1);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b,
	    "another issuer"), -1);
	b = ocsp_req(signer_ocsp_cert_at(f->s, OLD), &cur, 1);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b,
	    "another issuer"), -1);
	b = ocsp_req(signer_ocsp_cert_at(f->s, OLD), both, 2);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b,
	    "another issuer"), -1);
	/* The root's key is no responder of ours. */
	b = ocsp_req(f->root, &old, 1);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b,
	    "another responder"), -1);
	/* Positive controls: each by its own. */
	b = ocsp_req(signer_ocsp_cert_at(f->s, OLD), &old, 1);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b, NULL),
	    0);
	b = ocsp_req(signer_ocsp_cert_at(f->s, CUR), &cur, 1);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b, NULL),
	    0);
}

/* A CRL of name with number num (placeholder signature) as a raw
 * SIGN_CRL request for issuer id id. */
static int
crl_call(struct keyproc_fx_kp *f, const char *id, X509_NAME *name,
    uint64_t num, const char *want)
{
	struct keyproc_buf b = { 0 };
	X509_CRL *crl = X509_CRL_new();
	ASN1_INTEGER *n = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));
	EVP_PKEY *tmp = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char *der = NULL;
	int len, rc;

	assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, name), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	assert_int_equal(ASN1_INTEGER_set_uint64(n, num), 1);
	assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0, 0),
	    1);
	assert_true(X509_CRL_sign(crl, tmp, NULL) > 0);
	len = i2d_X509_CRL(crl, &der);
	assert_true(len > 0);
	keyproc_put_str(&b, id);
	keyproc_put_bytes(&b, der, (size_t)len);
	rc = keyproc_fx_call(f, KEYPROC_OP_SIGN_CRL, &b, want);
	OPENSSL_free(der);
	EVP_PKEY_free(tmp);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(n);
	X509_CRL_free(crl);
	return rc;
}

static X509_NAME *
name_of(struct keyproc_fx_kp *f, size_t i)
{
	return X509_get_subject_name(signer_issuer_at(f->s, i));
}

/* "Only CRLs of our issuer with a number above the last", per issuer,
 * and kept across a restart per issuer. */
static void
test_crl_numbers_are_kept_per_issuer(void **state)
{
	struct keyproc_fx_kp *f = *state;
	char cur[CA_ISSUER_ID_MAX + 1], old[CA_ISSUER_ID_MAX + 1];
	X509_CRL *crl;

	snprintf(cur, sizeof(cur), "%s", signer_issuer_id_at(f->s, CUR));
	snprintf(old, sizeof(old), "%s", signer_issuer_id_at(f->s, OLD));
	assert_int_equal(crl_call(f, old, name_of(f, OLD), 100, NULL), 0);
	/* Another issuer's numbers are its own: below the old one's. */
	assert_int_equal(crl_call(f, cur, name_of(f, CUR), 50, NULL), 0);
	assert_int_equal(crl_call(f, cur, name_of(f, CUR), 50,
	    "not above the last"), -1);
	assert_int_equal(crl_call(f, old, name_of(f, OLD), 100,
	    "not above the last"), -1);
	assert_int_equal(crl_call(f, old, name_of(f, OLD), 101, NULL), 0);
	/* One issuer's id with the other's name. */
	assert_int_equal(crl_call(f, cur, name_of(f, OLD), 200,
	    "another issuer"), -1);
	assert_int_equal(crl_call(f, old, name_of(f, CUR), 200,
	    "another issuer"), -1);
	/* Through the signer, each CRL signed by its own CA. */
	for (size_t i = 0; i < 2; i++) {
		crl = X509_CRL_new();
		assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2),
		    1);
		assert_int_equal(X509_CRL_set_issuer_name(crl, name_of(f, i)),
		    1);
		{
			ASN1_INTEGER *n = ASN1_INTEGER_new();
			ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));

			assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
			assert_int_equal(ASN1_INTEGER_set_uint64(n, 300), 1);
			assert_int_equal(X509_CRL_add1_ext_i2d(crl,
			    NID_crl_number, n, 0, 0), 1);
			ASN1_INTEGER_free(n);
			ASN1_TIME_free(t);
		}
		assert_int_equal(signer_sign_crl_of(f->s, i, &crl), 0);
		assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(
		    signer_issuer_at(f->s, i))), 1);
		X509_CRL_free(crl);
	}
	/* The promise survives a restart, each issuer's its own. */
	keyproc_fx_down(f);
	keyproc_fx_up(f);
	assert_int_equal(crl_call(f, cur, name_of(f, CUR), 300,
	    "not above the last"), -1);
	assert_int_equal(crl_call(f, old, name_of(f, OLD), 300,
	    "not above the last"), -1);
	assert_int_equal(crl_call(f, cur, name_of(f, CUR), 301, NULL), 0);
	assert_int_equal(crl_call(f, old, name_of(f, OLD), 301, NULL), 0);
}

/* An id the key process holds no CA of, with the name of one it does:
 * refused (no fallback to the current issuer). */
static void
test_crl_of_an_unknown_issuer_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;

	assert_int_equal(crl_call(f, "00112233445566778899aabbccddeeff00112233",
	    name_of(f, CUR), 10, "another issuer"), -1);
	assert_int_equal(crl_call(f, "00112233445566778899aabbccddeeff00112233",
	    name_of(f, OLD), 10, "another issuer"), -1);
	assert_int_equal(crl_call(f, signer_issuer_id_at(f->s, CUR),
	    X509_get_subject_name(f->root), 10, "another issuer"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, keyproc_fx_teardown)
		T(test_info_names_both_issuers_the_new_one_first),
		T(test_ocsp_of_each_issuer_is_signed_by_its_own_responder),
		T(test_ocsp_for_one_issuer_by_the_others_responder_is_refused),
		T(test_crl_numbers_are_kept_per_issuer),
		T(test_crl_of_an_unknown_issuer_is_refused),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup,
	    keyproc_fx_group_teardown);
}
