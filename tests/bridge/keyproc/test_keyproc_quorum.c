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
#include "ledger/cosign.h"
#include "ledger/ledger_int.h"
#include "tests/bridge/ca/tbs_fx.h"

#define ERRLEN		512
#define KL_URL		"http://bridge.example:8080"
#define KL_SERIAL	"102030405060708090a0b0c0d0e0f10"
#define KL_NFIELDS	(8 + 2 * EST_MAX_NAMES)
#define KL_B64_MAX	8192
#define KQ_N		4	/* validators; quorum 3 (2f+1) */

struct kl {
	struct tbs_fx fx;
	EVP_PKEY *bridge, *node;
	EVP_PKEY *vkeys[KQ_N], *wrong;
	struct signer *s;
	char crl_url[CONFIG_STR + 96];
	char ocsp_url[CONFIG_STR + 16], cai_url[CONFIG_STR + 32];
};

static int
setup(void **state)
{
	struct kl *k = calloc(1, sizeof(*k));
	char path[PATH_MAX], err[ERRLEN] = "";
	struct config_validator *cv;

	log_verbosity = LOGL_ERR;
	assert_non_null(k);
	assert_int_equal(tbs_fx_setup(&k->fx), 0);
	snprintf(k->fx.cfg.public_http_url, sizeof(k->fx.cfg.public_http_url),
	    "%s", KL_URL);
	k->bridge = ledger_key_generate("ed25519");
	k->node = ledger_key_generate("ed25519");
	assert_non_null(k->wrong = ledger_key_generate("ed25519"));
	assert_int_equal(ledger_key_save(k->bridge, config_path(&k->fx.cfg,
	    k->fx.cfg.bridge_key, path, sizeof(path))), 0);
	assert_int_equal(ledger_key_save(k->node, config_path(&k->fx.cfg,
	    k->fx.cfg.validator_key, path, sizeof(path))), 0);
	/* Four validator lines, quorum 0: 2f+1 = 3. */
	for (int i = 0; i < KQ_N; i++) {
		assert_non_null(k->vkeys[i] = ledger_key_generate("ed25519"));
		cv = &k->fx.cfg.validators[i];
		snprintf(cv->name, sizeof(cv->name), "v%d.test", i + 1);
		assert_int_equal(ledger_cosign_vkey_format(k->vkeys[i],
		    cv->name, cv->vkey, sizeof(cv->vkey)), 0);
		snprintf(cv->url, sizeof(cv->url), "http://127.0.0.1:%d",
		    7001 + i);
	}
	k->fx.cfg.nvalidators = KQ_N;
	k->fx.cfg.quorum = 0;
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
	EVP_PKEY_free(k->wrong);
	for (int i = 0; i < KQ_N; i++)
		EVP_PKEY_free(k->vkeys[i]);
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
 * A good device certificate's ledger of two leaves, its checkpoint signed
 * by the node and cosigned by validators 0..ncos-1 (validator `wrong_at`,
 * when >= 0, signing with a key that is not its configured one), sent to
 * the key process.  0 with *cert, or -1 with why.
 */
static int
kq_sign(struct kl *k, int ncos, int wrong_at, X509 **cert, char *why,
    size_t whylen)
{
	uint8_t ep[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t rp[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	char line[LEDGER_COSIGN_LINE_MAX], note[4096];
	struct ledger_merkle *m;
	struct ca_cert_req req;
	struct tbs_fx_tbs t;
	char id[65], body[512], *reg, *entry, *cp;
	time_t now = time(NULL);
	int rc;

	k->fx.now = now;
	assert_int_equal(tbs_fx_build(&k->fx, TBS_FX_GOOD_DEVICE_EC, &t), 0);
	reg = kl_reg(k, &t, id);
	entry = kl_cert(k, &t, id);
	assert_non_null(m = ledger_merkle_new());
	ledger_merkle_leaf_hash(reg, strlen(reg), leaf);
	assert_int_equal(ledger_merkle_append(m, leaf), 0);
	ledger_merkle_leaf_hash(entry, strlen(entry), leaf);
	assert_int_equal(ledger_merkle_append(m, leaf), 0);
	assert_int_equal(ledger_merkle_root(m, 2, root), 0);
	assert_int_equal(ledger_checkpoint_body(k->fx.cfg.origin, 2, root,
	    now, body, sizeof(body)), 0);
	assert_non_null(cp = ledger_entry_sign(strdup(body),
	    k->fx.cfg.validator_name, k->node));
	snprintf(note, sizeof(note), "%s", cp);
	for (int i = 0; i < ncos; i++) {
		assert_int_equal(ledger_cosign_line(body, strlen(body),
		    k->fx.cfg.validators[i].name, i == wrong_at ? k->wrong :
		    k->vkeys[i], (uint64_t)now, line, sizeof(line)), 0);
		assert_true(strlen(note) + strlen(line) < sizeof(note));
		strcat(note, line);
	}
	memset(&req, 0, sizeof(req));
	req.checkpoint = note;
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
	assert_int_equal(signer_available(k->s), 1);
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
	    X509_get0_pubkey(signer_issuer(k->s))), 1);
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
