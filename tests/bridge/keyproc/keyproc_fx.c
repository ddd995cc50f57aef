/*
 * keyproc_fx.c: the key process and the network process of keyproc_fx.h.
 */
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

#include "tests/bridge/keyproc/keyproc_fx.h"

#define KL_ERRLEN	512

void
keyproc_fx_init(struct keyproc_fx *k)
{
	char path[PATH_MAX];

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
}

void
keyproc_fx_open(struct keyproc_fx *k)
{
	char err[KL_ERRLEN] = "";

	if ((k->s = signer_open(&k->fx.cfg, err, sizeof(err))) == NULL)
		fail_msg("signer_open: %s", err);
	snprintf(k->ocsp_url, sizeof(k->ocsp_url), "%s/ocsp", KL_URL);
	snprintf(k->cai_url, sizeof(k->cai_url), "%s/ca/issuing.der", KL_URL);
	snprintf(k->crl_url, sizeof(k->crl_url), "%s/crl/%s.crl", KL_URL,
	    signer_issuer_id(k->s));
	k->fx.ocsp_url = k->ocsp_url;
	k->fx.ca_issuers_url = k->cai_url;
	k->fx.crl_url = k->crl_url;
}

void
keyproc_fx_fini(struct keyproc_fx *k)
{
	signer_free(k->s);
	EVP_PKEY_free(k->bridge);
	EVP_PKEY_free(k->node);
	tbs_fx_teardown(&k->fx);
}
/* A signed entry of type t by the bridge account (malloc'd). */
char *
keyproc_fx_entry(struct keyproc_fx *k, enum ledger_entry_type t, uint64_t seq,
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
char *
keyproc_fx_reg(struct keyproc_fx *k, const struct tbs_fx_tbs *t, char id[65])
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
	return keyproc_fx_entry(k, LEDGER_KEY_REGISTER, 1, fl, n);
}

/* The cert-issued entry carrying t's TBS, whatever it holds. */
char *
keyproc_fx_cert(struct keyproc_fx *k, const struct tbs_fx_tbs *t, const char *id)
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
	return keyproc_fx_entry(k, LEDGER_CERT_ISSUED, 2, fl, 7);
}

int
keyproc_fx_sign(struct keyproc_fx *k, enum tbs_fx_case c,
    keyproc_fx_cosign_fn *cosign, void *arg, X509 **cert, char *why,
    size_t whylen)
{
	uint8_t ep[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t rp[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	struct ledger_merkle *m;
	struct ca_cert_req req;
	struct tbs_fx_tbs t;
	char id[65], body[512], note[4096], *reg, *entry, *cp;
	time_t now = time(NULL);
	int rc;

	k->fx.now = now;
	assert_int_equal(tbs_fx_build(&k->fx, c, &t), 0);
	reg = keyproc_fx_reg(k, &t, id);
	entry = keyproc_fx_cert(k, &t, id);
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
	memset(&req, 0, sizeof(req));
	req.checkpoint = cp;
	if (cosign != NULL) {
		snprintf(note, sizeof(note), "%s", cp);
		cosign(arg, body, now, note, sizeof(note));
		req.checkpoint = note;
	}
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
