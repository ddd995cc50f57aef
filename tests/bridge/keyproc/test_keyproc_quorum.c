/*
 * test_keyproc_quorum.c: with validators configured (issue 14), the key
 * process signs a certificate only when its entry's checkpoint carries a
 * quorum of valid cosignatures of the configured validators
 * (bridge/keyproc/ops.c cert_checkpoint_ok).  The test plays the network
 * process as test_keyproc_lint.c does (a ledger of two leaves it builds
 * and signs with the node's key), adds cosignature lines made with four
 * validator keys of its own, and sends SIGN_CERT through the typed
 * protocol to a real forked key process: quorum - 1 cosignatures, or a
 * quorum with one by a wrong key, are refused; a quorum is signed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "ledger/cosign.h"
#include "tests/bridge/keyproc/keyproc_fx.h"

#define ERRLEN		512
#define KQ_N		4	/* validators; quorum 3 (2f+1) */

struct kl {
	struct keyproc_fx kp;
	EVP_PKEY *vkeys[KQ_N], *wrong;
	int ncos, wrong_at;	/* of kq_sign's call */
};

static int
setup(void **state)
{
	struct kl *k = calloc(1, sizeof(*k));
	struct config_validator *cv;

	log_verbosity = LOGL_ERR;
	assert_non_null(k);
	keyproc_fx_init(&k->kp);
	assert_non_null(k->wrong = ledger_key_generate("ed25519"));
	/* Four validator lines, quorum 0: 2f+1 = 3. */
	for (int i = 0; i < KQ_N; i++) {
		assert_non_null(k->vkeys[i] = ledger_key_generate("ed25519"));
		cv = &k->kp.fx.cfg.validators[i];
		snprintf(cv->name, sizeof(cv->name), "v%d.test", i + 1);
		assert_int_equal(ledger_cosign_vkey_format(k->vkeys[i],
		    cv->name, cv->vkey, sizeof(cv->vkey)), 0);
		snprintf(cv->url, sizeof(cv->url), "http://127.0.0.1:%d",
		    7001 + i);
	}
	k->kp.fx.cfg.nvalidators = KQ_N;
	k->kp.fx.cfg.quorum = 0;
	keyproc_fx_open(&k->kp);
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct kl *k = *state;

	keyproc_fx_fini(&k->kp);
	EVP_PKEY_free(k->wrong);
	for (int i = 0; i < KQ_N; i++)
		EVP_PKEY_free(k->vkeys[i]);
	free(k);
	return 0;
}

/* The cosignature lines of validators 0..ncos-1, wrong_at's by k->wrong. */
static void
kq_cosign(void *arg, const char *body, time_t now, char *note,
    size_t notelen)
{
	struct kl *k = arg;
	char line[LEDGER_COSIGN_LINE_MAX];

	for (int i = 0; i < k->ncos; i++) {
		assert_int_equal(ledger_cosign_line(body, strlen(body),
		    k->kp.fx.cfg.validators[i].name, i == k->wrong_at ?
		    k->wrong : k->vkeys[i], (uint64_t)now, line, sizeof(line)),
		    0);
		assert_true(strlen(note) + strlen(line) < notelen);
		strcat(note, line);
	}
}

/*
 * A good device certificate's ledger of two leaves, its checkpoint signed
 * by the node and cosigned by validators 0..ncos-1 (validator `wrong_at`,
 * when >= 0, signing with a key that is not its configured one), sent to
 * the key process.  0 with *cert, or -1 with why.
 */
static int
kq_sign(struct kl *k, int ncos, int wrong_at, X509 **cert, char *why,
    size_t whylen)
{
	k->ncos = ncos;
	k->wrong_at = wrong_at;
	return keyproc_fx_sign(&k->kp, TBS_FX_GOOD_DEVICE_EC, kq_cosign, k,
	    cert, why, whylen);
}

/* The negative control: quorum - 1 (2 of 3) valid cosignatures. */
static void
test_checkpoint_with_one_cosignature_short_of_quorum_is_refused(
    void **state)
{
	struct kl *k = *state;
	char why[ERRLEN] = "";
	X509 *cert = NULL;

	assert_int_equal(kq_sign(k, 2, -1, &cert, why, sizeof(why)), -1);
	assert_null(cert);
	if (strstr(why, "not final: 2 of 3 cosignatures") == NULL)
		fail_msg("refused for another reason: %s", why);
	assert_int_equal(signer_available(k->kp.s), 1);
}

/* Three lines, one by a key that is not that validator's: 2 count. */
static void
test_quorum_with_a_wrong_key_cosignature_is_refused(void **state)
{
	struct kl *k = *state;
	char why[ERRLEN] = "";
	X509 *cert = NULL;

	assert_int_equal(kq_sign(k, 3, 1, &cert, why, sizeof(why)), -1);
	assert_null(cert);
	if (strstr(why, "2 of 3 cosignatures") == NULL ||
	    strstr(why, "v2.test wrong-key") == NULL)
		fail_msg("refused for another reason: %s", why);
}

/* The positive control: three valid cosignatures, signed. */
static void
test_checkpoint_with_a_quorum_of_cosignatures_is_signed(void **state)
{
	struct kl *k = *state;
	char why[ERRLEN] = "";
	X509 *cert = NULL;

	if (kq_sign(k, 3, -1, &cert, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_non_null(cert);
	assert_int_equal(X509_verify(cert,
	    X509_get0_pubkey(signer_issuer(k->kp.s))), 1);
	X509_free(cert);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_checkpoint_with_one_cosignature_short_of_quorum_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_quorum_with_a_wrong_key_cosignature_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_checkpoint_with_a_quorum_of_cosignatures_is_signed,
		    setup, teardown),
	};

	return cmocka_run_group_tests_name("bridge/keyproc/quorum", tests,
	    NULL, NULL);
}
