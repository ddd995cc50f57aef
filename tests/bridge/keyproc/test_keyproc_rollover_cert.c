/*
 * test_keyproc_rollover_cert.c: SIGN_CERT after a CA rollover (issue 17):
 * the key process holds the old issuing CA's key too (for its OCSP
 * signer's and its CRLs' sake), but signs certificates for the current
 * issuer only.  A committed TBS of the old issuer, whose entry names the
 * old issuer, signed before the rollover, is refused after it; the same
 * case for the new issuer is signed by the new CA.  The ledger, the
 * checkpoint and the protocol are keyproc_fx.h's.
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
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/bridge/keyproc/keyproc_fx.h"

#define ERRLEN	512

static void *
read_pem(const char *dir, const char *rel, int key)
{
	char path[PATH_MAX + 128];
	void *x;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_non_null(fp = fopen(path, "r"));
	x = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, NULL) :
	    (void *)PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static void
test_after_a_rollover_only_the_new_issuer_signs_certificates(void **state)
{
	struct keyproc_fx k;
	char why[ERRLEN] = "", err[ERRLEN] = "", key[PATH_MAX + 16];
	char id[CA_ISSUER_ID_MAX + 1], old_id[CA_ISSUER_ID_MAX + 1];
	char rel[CA_ISSUER_ID_MAX + 64];
	X509 *cert = NULL;

	memset(&k, 0, sizeof(k));
	keyproc_fx_init(&k);
	keyproc_fx_open(&k);
	snprintf(old_id, sizeof(old_id), "%s", signer_issuer_id(k.s));
	/* Control: the old issuer signs while it is current. */
	if (keyproc_fx_sign(&k, TBS_FX_GOOD_DEVICE_EC, NULL, NULL, &cert, why,
	    sizeof(why)) != 0)
		fail_msg("before the rollover: refused: %s", why);
	X509_free(cert);
	cert = NULL;

	snprintf(key, sizeof(key), "%s/ca/root.key", k.fx.dir);
	if (ca_rollover(&k.fx.cfg, key, id, err, sizeof(err)) != 0)
		fail_msg("ca_rollover: %s", err);
	signer_free(k.s);
	keyproc_fx_open(&k);
	assert_string_equal(signer_issuer_id(k.s), id);
	assert_int_equal(signer_nissuers(k.s), 2);
	assert_string_equal(signer_issuer_id_at(k.s, 1), old_id);

	/* The old issuer's TBS, its entry naming the old issuer. */
	k.issuer_id = old_id;
	snprintf(k.crl_url, sizeof(k.crl_url), "%s/crl/%s.crl", KL_URL,
	    old_id);
	assert_int_equal(keyproc_fx_sign(&k, TBS_FX_GOOD_DEVICE_EC, NULL, NULL,
	    &cert, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "another issuer"));
	assert_null(cert);

	/* The same case for the new issuer: signed by it.  A fresh key
	 * process (each committed entry index is signed once). */
	signer_free(k.s);
	keyproc_fx_open(&k);
	k.issuer_id = NULL;
	X509_free(k.fx.iss);
	EVP_PKEY_free(k.fx.iss_key);
	snprintf(rel, sizeof(rel), "%s/%s/%s", CA_ISSUERS_DIR, id,
	    CA_ISSUER_CERT);
	k.fx.iss = read_pem(k.fx.dir, rel, 0);
	snprintf(rel, sizeof(rel), "%s/%s/%s", CA_ISSUERS_DIR, id,
	    CA_ISSUER_KEY);
	k.fx.iss_key = read_pem(k.fx.dir, rel, 1);
	snprintf(k.cai_url, sizeof(k.cai_url), "%s/ca/%s.der", KL_URL, id);
	if (keyproc_fx_sign(&k, TBS_FX_GOOD_DEVICE_EC, NULL, NULL, &cert, why,
	    sizeof(why)) != 0)
		fail_msg("the new issuer's TBS: refused: %s", why);
	assert_int_equal(X509_verify(cert, X509_get0_pubkey(signer_issuer(
	    k.s))), 1);
	X509_free(cert);
	keyproc_fx_fini(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_after_a_rollover_only_the_new_issuer_signs_certificates),
	};

	log_verbosity = LOGL_ERR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
