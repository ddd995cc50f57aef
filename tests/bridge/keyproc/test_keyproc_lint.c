/*
 * test_keyproc_lint.c: issue 13's "each check has a unit test that sends a
 * crafted bad TBS through the typed protocol and sees it refused".  For
 * every case of tests/bridge/ca/tbs_fx.h this test plays a network
 * process that bypasses the ledger's rules (the attacker the key process
 * must stop): it writes a key-register entry for the registration the
 * case's want describes and a cert-issued entry carrying the crafted TBS,
 * both signed by the bridge account's key, puts them in a Merkle tree of
 * its own and signs the checkpoint with the node's key, all from the key
 * files pki_init and the test made.  Then SIGN_CERT goes to a real forked
 * key process (signer_open, signer_sign_committed) that must refuse with
 * the case's reason ("lint: <check>: ..."), and sign the good ones.
 *
 * The key process derives the want from the registration and its config:
 * its issuing CA (pki_init's), its URLs (public_http_url, its issuer id in
 * the CRL URL) and its clock.  tbs_fx is told those URLs (tbs_fx.crl_url
 * and the others) and its now is refreshed before each case.  Not
 * expressible: TBS_FX_GOOD_RSA_ISSUER, whose want's issuer is an RSA CA
 * that is not this key process's issuing CA (test_sign_committed's RSA
 * run covers an RSA issuing CA through the key process).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "tests/bridge/keyproc/keyproc_fx.h"

#define ERRLEN		512
/* The notBefore-ahead case names the seconds ahead of the key process's
 * clock, which may be a second later than the test's: its check and
 * field only. */
#define KL_AHEAD_WHY	"lint: validity: notBefore is "

struct kl {
	struct keyproc_fx kp;
};

static int
setup(void **state)
{
	struct kl *k = calloc(1, sizeof(*k));

	log_verbosity = LOGL_ERR;
	assert_non_null(k);
	keyproc_fx_init(&k->kp);
	keyproc_fx_open(&k->kp);
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct kl *k = *state;

	keyproc_fx_fini(&k->kp);
	free(k);
	return 0;
}

/* Case c through the key process (keyproc_fx_sign). */
static int
kl_sign(struct kl *k, enum tbs_fx_case c, X509 **cert, char *why,
    size_t whylen)
{
	return keyproc_fx_sign(&k->kp, c, NULL, NULL, cert, why, whylen);
}


/* Every crafted bad TBS, committed and proven, is refused by the key
 * process with its check's reason; the key process still answers. */
static void
test_each_crafted_bad_tbs_is_refused_by_the_key_process(void **state)
{
	struct kl *k = *state;
	char why[ERRLEN];
	const char *want;
	X509 *cert;
	int n = 0;

	for (int c = TBS_FX_NGOOD; c < TBS_FX_NCASES; c++) {
		want = c == TBS_FX_NOT_BEFORE_AHEAD ? KL_AHEAD_WHY :
		    tbs_fx_info(c)->why;
		cert = NULL;
		why[0] = '\0';
		if (kl_sign(k, c, &cert, why, sizeof(why)) != -1) {
			X509_free(cert);
			fail_msg("%s: not refused (%s)", tbs_fx_info(c)->name,
			    why);
		}
		assert_null(cert);
		if (strncmp(why, want, strlen(want)) != 0)
			fail_msg("%s: refused with \"%s\", want \"%s\"",
			    tbs_fx_info(c)->name, why, want);
		n++;
	}
	assert_int_equal(n, TBS_FX_NCASES - TBS_FX_NGOOD);
	assert_int_equal(signer_available(k->kp.s), 1);
}

/* The controls: the good TBSs, through the same ledger and protocol, are
 * signed by the issuing CA, the certificate's TBS the committed one. */
static void
test_each_good_tbs_is_signed_by_the_key_process(void **state)
{
	struct kl *k = *state;
	char why[ERRLEN] = "";
	X509 *cert;

	for (int c = 0; c < TBS_FX_NGOOD; c++) {
		if (c == TBS_FX_GOOD_RSA_ISSUER)
			continue;	/* another issuing CA: see the top */
		/* Each committed TBS is signed once: a fresh key process. */
		signer_free(k->kp.s);
		assert_non_null(k->kp.s = signer_open(&k->kp.fx.cfg, why,
		    sizeof(why)));
		cert = NULL;
		if (kl_sign(k, c, &cert, why, sizeof(why)) != 0)
			fail_msg("%s: refused: %s", tbs_fx_info(c)->name, why);
		assert_non_null(cert);
		assert_int_equal(X509_verify(cert,
		    X509_get0_pubkey(signer_issuer(k->kp.s))), 1);
		X509_free(cert);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_each_crafted_bad_tbs_is_refused_by_the_key_process,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_each_good_tbs_is_signed_by_the_key_process, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("bridge/keyproc/lint", tests,
	    NULL, NULL);
}
