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
#include <ftw.h>
#include <limits.h>
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

#include "bridge/bridge.h"
#include "ledger/ledger_int.h"
#include "tests/bridge/ca/tbs_fx.h"

#define ERRLEN		512
#define KL_URL		"http://bridge.example:8080"
#define KL_SERIAL	"102030405060708090a0b0c0d0e0f10"
#define KL_NFIELDS	(8 + 2 * EST_MAX_NAMES)
#define KL_B64_MAX	8192
/* The notBefore-ahead case names the seconds ahead of the key process's
 * clock, which may be a second later than the test's: its check and
 * field only. */
#define KL_AHEAD_WHY	"lint: validity: notBefore is "

struct kl {
	struct tbs_fx fx;
	EVP_PKEY *bridge, *node;
	struct signer *s;
	char crl_url[CONFIG_STR + 96];
	char ocsp_url[CONFIG_STR + 16], cai_url[CONFIG_STR + 32];
};

static int
setup(void **state)
{
	struct kl *k = calloc(1, sizeof(*k));
	char path[PATH_MAX], err[ERRLEN] = "";

	log_verbosity = LOGL_ERR;
	assert_non_null(k);
	assert_int_equal(tbs_fx_setup(&k->fx), 0);
	/* The URLs of the want, as the key process derives them. */
	snprintf(k->fx.cfg.public_http_url, sizeof(k->fx.cfg.public_http_url),
	    "%s", KL_URL);
	k->bridge = ledger_key_generate("ed25519");
	k->node = ledger_key_generate("ed25519");
	assert_int_equal(ledger_key_save(k->bridge, config_path(&k->fx.cfg,
	    k->fx.cfg.bridge_key, path, sizeof(path))), 0);
	assert_int_equal(ledger_key_save(k->node, config_path(&k->fx.cfg,
	    k->fx.cfg.validator_key, path, sizeof(path))), 0);
	if ((k->s = signer_open(&k->fx.cfg, err, sizeof(err))) == NULL)
		fail_msg("signer_open: %s", err);
	snprintf(k->ocsp_url, sizeof(k->ocsp_url), "%s/ocsp", KL_URL);
	snprintf(k->cai_url, sizeof(k->cai_url), "%s/ca/issuing.der", KL_URL);
	snprintf(k->crl_url, sizeof(k->crl_url), "%s/crl/%s.crl", KL_URL,
	    signer_issuer_id(k->s));
	k->fx.ocsp_url = k->ocsp_url;
	k->fx.ca_issuers_url = k->cai_url;
	k->fx.crl_url = k->crl_url;
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct kl *k = *state;

	signer_free(k->s);
	EVP_PKEY_free(k->bridge);
	EVP_PKEY_free(k->node);
	tbs_fx_teardown(&k->fx);
	free(k);
	return 0;
}

/* A signed entry of type t by the bridge account (malloc'd). */
static char *
kl_entry(struct kl *k, enum ledger_entry_type t, uint64_t seq,
    const struct ledger_field *fl, size_t n)
{
	char *note = ledger_entry_body(t, k->fx.cfg.bridge_account, seq,
	    time(NULL), k->fx.cfg.origin, fl, n);

	assert_non_null(note);
	assert_non_null(note = ledger_entry_sign(note,
	    k->fx.cfg.bridge_account, k->bridge));
	return note;
}

/* The key-register entry of t's want. */
static char *
kl_reg(struct kl *k, const struct tbs_fx_tbs *t, char id[65])
{
	const struct ca_lint_want *w = &t->want;
	struct ledger_field fl[KL_NFIELDS];
	char spki[KL_B64_MAX], nb[21], na[21];
	size_t n = 0;

	assert_int_equal(ledger_b64_encode(w->spki, w->spki_len, spki,
	    sizeof(spki)), 0);
	ledger_spki_key_id(w->spki, w->spki_len, id);
	ledger_time_format(w->key_not_before, nb);
	ledger_time_format(w->key_not_after, na);
	fl[n++] = (struct ledger_field){ "key-id", id };
	fl[n++] = (struct ledger_field){ "spki", spki };
	fl[n++] = (struct ledger_field){ "name", w->cn };
	fl[n++] = (struct ledger_field){ "profile",
	    est_profile_name(w->profile) };
	for (int i = 0; i < w->names->ndns; i++)
		fl[n++] = (struct ledger_field){ "dns", w->names->dns[i] };
	for (int i = 0; i < w->names->nip; i++)
		fl[n++] = (struct ledger_field){ "ip", w->names->ip[i] };
	fl[n++] = (struct ledger_field){ "not-before", nb };
	fl[n++] = (struct ledger_field){ "not-after", na };
	return kl_entry(k, LEDGER_KEY_REGISTER, 1, fl, n);
}

/* The cert-issued entry carrying t's TBS, whatever it holds. */
static char *
kl_cert(struct kl *k, const struct tbs_fx_tbs *t, const char *id)
{
	struct ledger_field fl[7];
	char b64[KL_B64_MAX], nb[21], na[21];

	assert_int_equal(ledger_b64_encode(t->der, t->len, b64, sizeof(b64)),
	    0);
	ledger_time_format(t->want.now, nb);
	ledger_time_format(t->want.key_not_after, na);
	fl[0] = (struct ledger_field){ "serial", KL_SERIAL };
	fl[1] = (struct ledger_field){ "issuer", signer_issuer_id(k->s) };
	fl[2] = (struct ledger_field){ "key-id", id };
	fl[3] = (struct ledger_field){ "profile",
	    est_profile_name(t->want.profile) };
	fl[4] = (struct ledger_field){ "not-before", nb };
	fl[5] = (struct ledger_field){ "not-after", na };
	fl[6] = (struct ledger_field){ "tbs", b64 };
	return kl_entry(k, LEDGER_CERT_ISSUED, 2, fl, 7);
}

/*
 * Builds case c, its ledger of two leaves (the registration, then the
 * certificate entry) and the node's checkpoint, and asks the key process
 * to sign it.  0 with *cert, or -1 / -2 with why.
 */
static int
kl_sign(struct kl *k, enum tbs_fx_case c, X509 **cert, char *why,
    size_t whylen)
{
	uint8_t ep[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t rp[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	struct ledger_merkle *m;
	struct ca_cert_req req;
	struct tbs_fx_tbs t;
	char id[65], body[512], *reg, *entry, *cp;
	int rc;

	k->fx.now = time(NULL);
	assert_int_equal(tbs_fx_build(&k->fx, c, &t), 0);
	reg = kl_reg(k, &t, id);
	entry = kl_cert(k, &t, id);
	assert_non_null(m = ledger_merkle_new());
	ledger_merkle_leaf_hash(reg, strlen(reg), leaf);
	assert_int_equal(ledger_merkle_append(m, leaf), 0);
	ledger_merkle_leaf_hash(entry, strlen(entry), leaf);
	assert_int_equal(ledger_merkle_append(m, leaf), 0);
	assert_int_equal(ledger_merkle_root(m, 2, root), 0);
	assert_int_equal(ledger_checkpoint_body(k->fx.cfg.origin, 2, root,
	    time(NULL), body, sizeof(body)), 0);
	assert_non_null(cp = ledger_entry_sign(strdup(body),
	    k->fx.cfg.validator_name, k->node));
	memset(&req, 0, sizeof(req));
	req.checkpoint = cp;
	req.entry = entry;
	req.entry_index = 1;
	req.reg = reg;
	req.reg_index = 0;
	assert_int_equal(ledger_merkle_inclusion(m, 1, 2, ep,
	    &req.entry_nproof), 0);
	assert_int_equal(ledger_merkle_inclusion(m, 0, 2, rp,
	    &req.reg_nproof), 0);
	req.entry_proof = (const uint8_t (*)[LEDGER_HASH_LEN])ep;
	req.reg_proof = (const uint8_t (*)[LEDGER_HASH_LEN])rp;
	rc = signer_sign_committed(k->s, &req, cert, why, whylen);
	ledger_merkle_free(m);
	free(cp);
	free(reg);
	free(entry);
	tbs_fx_tbs_free(&t);
	return rc;
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
	assert_int_equal(signer_available(k->s), 1);
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
		signer_free(k->s);
		assert_non_null(k->s = signer_open(&k->fx.cfg, why,
		    sizeof(why)));
		cert = NULL;
		if (kl_sign(k, c, &cert, why, sizeof(why)) != 0)
			fail_msg("%s: refused: %s", tbs_fx_info(c)->name, why);
		assert_non_null(cert);
		assert_int_equal(X509_verify(cert,
		    X509_get0_pubkey(signer_issuer(k->s))), 1);
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
