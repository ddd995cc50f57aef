/*
 * ops.c: what the key process signs, and what it refuses (keyproc.h lists
 * the refusals per operation; docs/design.md "Processes").
 *
 * Each handler decodes its request's typed fields, checks them against
 * what the key process itself holds (its issuer, its responder, its
 * account and origin, its promise in keyproc.state), and only then uses
 * a key.  Nothing the network process says about itself is trusted: an
 * issuer is compared by its hashes, a checkpoint by its proof.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "bridge/ca/ca.h"
#include "bridge/keyproc/keyproc_int.h"

/* Refusal with a one-line reason. */
#define REFUSE(...) do { snprintf(why, whylen, __VA_ARGS__); goto out; } \
	while (0)

/* ---- loading -------------------------------------------------------------- */

/* The validators' policy from the `validator =` lines (issue 14): parsed
 * here, at start-up, before the sandbox.  0, or -1 with err set. */
static int
keys_validators(struct keyproc_keys *k, char *err, size_t errlen)
{
	const struct bridge_config *c = &k->cfg;

	if (c->nvalidators > LEDGER_COSIGN_POLICY_MAX) {
		snprintf(err, errlen, "more than %d validators",
		    LEDGER_COSIGN_POLICY_MAX);
		return -1;
	}
	for (size_t i = 0; i < c->nvalidators; i++) {
		if (ledger_cosigner_parse(c->validators[i].vkey,
		    &k->cosigners[i]) != 0) {
			snprintf(err, errlen, "validator %s: not a "
			    "cosignature/v1 verifier key",
			    c->validators[i].name);
			return -1;
		}
		k->ncosigners++;
	}
	k->quorum = c->quorum > 0 ? (size_t)c->quorum :
	    config_quorum_default(c->nvalidators);
	return 0;
}

int
keyproc_keys_load(struct keyproc_keys *k, const struct bridge_config *cfg,
    char *err, size_t errlen)
{
	const struct bridge_config *c = &k->cfg;

	k->cfg = *cfg;
	k->state_fd = -1;		/* keyproc_keys_clear may close it */
	pthread_mutex_init(&k->state_mu, NULL);
	if (keyproc_issuers_load(k, err, errlen) != 0 ||
	    (k->ledger_key = ca_key_load(c, c->bridge_key, "bridge account "
	    "key", err, errlen)) == NULL ||
	    (k->node_key = ca_key_load(c, c->validator_key, "validator key",
	    err, errlen)) == NULL)
		return -1;
	if (ledger_key_vkey(k->node_key, c->validator_name, k->vkey,
	    sizeof(k->vkey)) != 0) {
		snprintf(err, errlen, "the validator key cannot sign "
		    "checkpoints as %s", c->validator_name);
		return -1;
	}
	snprintf(k->ocsp_url, sizeof(k->ocsp_url), "%s/ocsp",
	    c->public_http_url);
	snprintf(k->state_path, sizeof(k->state_path), "%s/%s", c->dir,
	    KEYPROC_STATE_FILE);
	if (keyproc_state_read(k->state_path, &k->st, err, errlen) != 0)
		return -1;
	k->min_index = k->st.have_cp ? k->st.cp_size : 0;
	return keys_validators(k, err, errlen);
}

void
keyproc_keys_clear(struct keyproc_keys *k)
{
	keyproc_issuers_clear(k);
	/* EVP_PKEY_free cleanses the key material. */
	EVP_PKEY_free(k->ledger_key);
	EVP_PKEY_free(k->node_key);
	free(k->cp_ok);
	for (size_t i = 0; i < k->ncosigners; i++)
		ledger_cosigner_clear(&k->cosigners[i]);
	if (k->state_fd >= 0)
		close(k->state_fd);
	pthread_mutex_destroy(&k->state_mu);
	memset(k, 0, sizeof(*k));
}

/* ---- INFO ------------------------------------------------------------------- */

/* One issuer's certificates: the CA's DER, its OCSP signer's DER. */
static int
info_issuer(const struct keyproc_issuer *is, struct keyproc_buf *ans)
{
	unsigned char *der = NULL;
	int len;

	if ((len = i2d_X509(is->issuer, &der)) <= 0)
		return -1;
	keyproc_put_bytes(ans, der, (size_t)len);
	OPENSSL_free(der);
	der = NULL;
	if ((len = i2d_X509(is->ocsp_cert, &der)) <= 0)
		return -1;
	keyproc_put_bytes(ans, der, (size_t)len);
	OPENSSL_free(der);
	return 0;
}

static int
op_info(struct keyproc_keys *k, struct keyproc_buf *ans, char *why,
    size_t whylen)
{
	char pub[512];
	int rc = -1;

	if (info_issuer(&k->iss[0], ans) != 0)
		REFUSE("cannot encode the issuing CA's certificates");
	if (ledger_pubkey_to_b64(k->ledger_key, pub, sizeof(pub)) != 0)
		REFUSE("cannot encode the bridge account's public key");
	keyproc_put_str(ans, k->iss[0].issuer_id);
	keyproc_put_str(ans, k->vkey);
	keyproc_put_str(ans, k->cfg.bridge_account);
	keyproc_put_str(ans, pub);
	keyproc_put_u64(ans, k->st.have_cp ? k->st.cp_size : 0);
	keyproc_put_bytes(ans, k->st.cp_root, LEDGER_HASH_LEN);
	/* Issue 17: whether the current issuer is init's, then the other
	 * issuers (rolled over from), each its certificates and that flag. */
	keyproc_put_u64(ans, (uint64_t)k->iss[0].original);
	keyproc_put_u64(ans, (uint64_t)(k->niss - 1));
	for (size_t i = 1; i < k->niss; i++) {
		if (info_issuer(&k->iss[i], ans) != 0)
			REFUSE("cannot encode an issuing CA's certificates");
		keyproc_put_u64(ans, (uint64_t)k->iss[i].original);
	}
	rc = 0;
out:
	return rc;
}

/* ---- SIGN_ENTRY --------------------------------------------------------------- */

/* The entry types the bridge account writes (ledger/rules.c
 * rules_role_allows, minus account-update: a network process must not
 * change the bridge account's own keys). */
static int
entry_type_ok(enum ledger_entry_type t)
{
	return t == LEDGER_CERT_ISSUED || t == LEDGER_KEY_REGISTER ||
	    t == LEDGER_CERT_REVOKED;
}

static int
op_sign_entry(struct keyproc_keys *k, struct keyproc_rd *r,
    struct keyproc_buf *ans, char *why, size_t whylen)
{
	enum ledger_entry_type type;
	char account[LEDGER_NAME_MAX + 1], origin[CONFIG_STR], line[256];
	const uint8_t *body;
	size_t len;
	int rc = -1;

	body = keyproc_get_bytes(r, &len);
	if (r->err || r->off != r->len)
		REFUSE("malformed SIGN_ENTRY request");
	if (ledger_entry_head((const char *)body, len, &type, account, origin,
	    sizeof(origin), why, whylen) != 0)
		goto out;
	if (!entry_type_ok(type))
		REFUSE("the bridge account does not sign %s entries",
		    ledger_entry_type_name(type));
	if (strcmp(account, k->cfg.bridge_account) != 0)
		REFUSE("entry of account %s: this key process signs only as "
		    "%s", account, k->cfg.bridge_account);
	if (strcmp(origin, k->cfg.origin) != 0)
		REFUSE("entry for origin \"%s\", not this ledger's \"%s\"",
		    origin, k->cfg.origin);
	if (ledger_sign_line((const char *)body, len, account,
	    k->ledger_key, line, sizeof(line)) != 0)
		REFUSE("cannot sign the entry");
	keyproc_put_str(ans, line);
	rc = 0;
out:
	return rc;
}

/* ---- SIGN_OCSP ----------------------------------------------------------------- */

/* 0 when cid names our issuing CA under its own hash algorithm (RFC 6960
 * 4.1.1: issuerNameHash and issuerKeyHash). */
static int
certid_ours(const struct keyproc_issuer *k, OCSP_CERTID *cid)
{
	ASN1_OBJECT *alg = NULL;
	OCSP_CERTID *ours = NULL;
	const EVP_MD *md;
	int rc = -1, nid;

	if (OCSP_id_get0_info(NULL, &alg, NULL, NULL, cid) != 1)
		return -1;
	nid = OBJ_obj2nid(alg);
	if (nid == NID_sha1 || nid == NID_sha256)
		return OCSP_id_issuer_cmp(k->ours[nid == NID_sha256], cid) ==
		    0 ? 0 : -1;
	if ((md = EVP_get_digestbyobj(alg)) == NULL ||
	    (ours = OCSP_cert_to_id(md, NULL, k->issuer)) == NULL)
		goto out;
	rc = OCSP_id_issuer_cmp(ours, cid) == 0 ? 0 : -1;
out:
	OCSP_CERTID_free(ours);
	return rc;
}

/* One SingleResponse: CertID DER, state (0 good, 1 revoked, 2 unknown),
 * revocation time, reason + 1 (0: no reason), thisUpdate, nextUpdate (0:
 * none).  0 or -1. */
static int
ocsp_single(const struct keyproc_issuer *k, struct keyproc_rd *r,
    OCSP_BASICRESP *bs,
    char *why, size_t whylen)
{
	static const int states[] = { V_OCSP_CERTSTATUS_GOOD,
	    V_OCSP_CERTSTATUS_REVOKED, V_OCSP_CERTSTATUS_UNKNOWN };
	OCSP_CERTID *cid = NULL;
	ASN1_TIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	const uint8_t *der;
	size_t len;
	uint64_t state, revt, reason, t1, t2;
	int rc = -1;

	der = keyproc_get_bytes(r, &len);
	state = keyproc_get_u64(r);
	revt = keyproc_get_u64(r);
	reason = keyproc_get_u64(r);
	t1 = keyproc_get_u64(r);
	t2 = keyproc_get_u64(r);
	if (r->err || state > 2 || reason > 11 || (int64_t)t1 < 0 ||
	    (int64_t)t2 < 0 || (int64_t)revt < 0 ||
	    (cid = d2i_OCSP_CERTID(NULL, &der, (long)len)) == NULL)
		REFUSE("malformed SIGN_OCSP single response");
	if (certid_ours(k, cid) != 0)
		REFUSE("OCSP response for a CertID of another issuer");
	if ((thisupd = ASN1_TIME_set(NULL, (time_t)t1)) == NULL ||
	    (t2 != 0 && (nextupd = ASN1_TIME_set(NULL, (time_t)t2)) ==
	    NULL) ||
	    (state == 1 && (rev = ASN1_TIME_set(NULL, (time_t)revt)) ==
	    NULL) || OCSP_basic_add1_status(bs, cid, states[state],
	    state == 1 ? (int)reason - 1 : -1, rev, thisupd, nextupd) == NULL)
		REFUSE("cannot build the OCSP response");
	rc = 0;
out:
	OCSP_CERTID_free(cid);
	ASN1_TIME_free(rev);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	return rc;
}

/* Extensions of a response: only the request's nonce (RFC 6960 4.4.1)
 * and the extended revoked definition (4.4.8). */
static int
ocsp_ext(struct keyproc_rd *r, OCSP_BASICRESP *bs, char *why, size_t whylen)
{
	X509_EXTENSION *ext = NULL;
	const uint8_t *der;
	size_t len;
	int nid, rc = -1;

	der = keyproc_get_bytes(r, &len);
	if (r->err || (ext = d2i_X509_EXTENSION(NULL, &der, (long)len)) ==
	    NULL)
		REFUSE("malformed SIGN_OCSP extension");
	nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
	if (nid != NID_id_pkix_OCSP_Nonce && nid != NID_id_pkix_OCSP_valid)
		REFUSE("OCSP response extension %d is neither a nonce nor "
		    "the extended revoked definition", nid);
	if (OCSP_BASICRESP_add_ext(bs, ext, -1) != 1)
		REFUSE("cannot add the OCSP extension");
	rc = 0;
out:
	X509_EXTENSION_free(ext);
	return rc;
}

/* One response of a SIGN_OCSP request: n single responses, m
 * extensions, each as in ocsp_single and ocsp_ext.  Puts the signed
 * BasicOCSPResponse DER without certs (the network process adds the
 * signer's certificate: certs are not under the signature). */
static int
ocsp_one(const struct keyproc_issuer *k, struct keyproc_rd *r,
    struct keyproc_buf *ans, char *why, size_t whylen)
{
	OCSP_BASICRESP *bs = NULL;
	unsigned char *der = NULL;
	uint64_t n, m;
	int dlen, rc = -1;

	n = keyproc_get_u64(r);
	if (r->err || n == 0 || n > KEYPROC_OCSP_SINGLES_MAX)
		REFUSE("malformed SIGN_OCSP response");
	if ((bs = OCSP_BASICRESP_new()) == NULL)
		REFUSE("out of memory");
	for (uint64_t i = 0; i < n; i++)
		if (ocsp_single(k, r, bs, why, whylen) != 0)
			goto out;
	m = keyproc_get_u64(r);
	if (r->err || m > 2)
		REFUSE("malformed SIGN_OCSP extensions");
	for (uint64_t i = 0; i < m; i++)
		if (ocsp_ext(r, bs, why, whylen) != 0)
			goto out;
	if (OCSP_basic_sign(bs, k->ocsp_cert, k->ocsp_key, EVP_sha256(), NULL,
	    OCSP_RESPID_KEY | OCSP_NOCERTS) != 1 ||
	    (dlen = i2d_OCSP_BASICRESP(bs, &der)) <= 0)
		REFUSE("cannot sign the OCSP response");
	keyproc_put_bytes(ans, der, (size_t)dlen);
	rc = 0;
out:
	OCSP_BASICRESP_free(bs);
	OPENSSL_free(der);
	return rc;
}

/* Request: responder key hash, then a batch of responses (ocsp_one).
 * Answer: each one's DER, in order.  One refusal refuses the batch. */
static int
op_sign_ocsp(struct keyproc_keys *k, struct keyproc_rd *r,
    struct keyproc_buf *ans, char *why, size_t whylen)
{
	const struct keyproc_issuer *is;
	const uint8_t *rid;
	size_t len;
	uint64_t n;
	int rc = -1;

	rid = keyproc_get_bytes(r, &len);
	n = keyproc_get_u64(r);
	if (r->err || len != SHA_DIGEST_LENGTH || n == 0 ||
	    n > KEYPROC_OCSP_BATCH_MAX)
		REFUSE("malformed SIGN_OCSP request");
	/* The responder names the issuer: each issuer's own OCSP signer
	 * answers for that issuer's CertIDs only (ocsp_single). */
	if ((is = keyproc_issuer_by_responder(k, rid, len)) == NULL)
		REFUSE("OCSP response of another responder");
	for (uint64_t i = 0; i < n; i++)
		if (ocsp_one(is, r, ans, why, whylen) != 0)
			goto out;
	if (r->off != r->len)
		REFUSE("malformed SIGN_OCSP request: trailing bytes");
	rc = 0;
out:
	return rc;
}

/* ---- SIGN_CRL ------------------------------------------------------------------- */

/* The CRL number extension's value, or -1 when absent or not a u64. */
static int
crl_number(X509_CRL *crl, uint64_t *num)
{
	ASN1_INTEGER *ai;
	int crit = -1, rc;

	if ((ai = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL)) ==
	    NULL)
		return -1;
	rc = ASN1_INTEGER_get_uint64(num, ai) == 1 ? 0 : -1;
	ASN1_INTEGER_free(ai);
	return rc;
}

/* Issue 18: a partition CRL's issuingDistributionPoint and a delta
 * CRL's deltaCRLIndicator are critical (RFC 5280 5.2.5, 5.2.4: a client
 * that does not know them must not take the CRL for complete), and a
 * delta completes a base of a smaller number of the same sequence.  0, or
 * -1 with why set. */
static int
crl_scope_ok(X509_CRL *crl, uint64_t num, char *why, size_t whylen)
{
	int i, rc = -1;
	uint64_t base;
	ASN1_INTEGER *ai = NULL;

	if ((i = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point,
	    -1)) >= 0 && !X509_EXTENSION_get_critical(X509_CRL_get_ext(crl, i)))
		REFUSE("CRL with a non-critical issuing distribution point");
	if ((i = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1)) >= 0) {
		if (!X509_EXTENSION_get_critical(X509_CRL_get_ext(crl, i)))
			REFUSE("delta CRL with a non-critical indicator");
		if ((ai = X509_CRL_get_ext_d2i(crl, NID_delta_crl, NULL,
		    NULL)) == NULL || ASN1_INTEGER_get_uint64(&base, ai) != 1)
			REFUSE("delta CRL with a malformed indicator");
		if (base >= num)
			REFUSE("delta CRL number %llu is not above its base's "
			    "%llu", (unsigned long long)num,
			    (unsigned long long)base);
	}
	rc = 0;
out:
	ASN1_INTEGER_free(ai);
	ERR_clear_error();
	return rc;
}

/* Request: issuer id, CRL DER with a placeholder signature.  The number
 * is persisted before the answer. */
static int
op_sign_crl(struct keyproc_keys *k, struct keyproc_rd *r,
    struct keyproc_buf *ans, char *why, size_t whylen)
{
	struct keyproc_issuer *is;
	struct keyproc_state st, *sp;
	X509_CRL *crl = NULL;
	unsigned char *out = NULL;
	char issuer[LEDGER_NAME_MAX + 1], err[512];
	const uint8_t *der;
	size_t len;
	uint64_t num;
	int olen, rc = -1;

	if (keyproc_get_str(r, issuer, sizeof(issuer)) != 0)
		REFUSE("malformed SIGN_CRL request");
	der = keyproc_get_bytes(r, &len);
	if (r->err || r->off != r->len ||
	    (crl = d2i_X509_CRL(NULL, &der, (long)len)) == NULL)
		REFUSE("malformed SIGN_CRL request");
	/* Each issuer signs its own CRL only, its number above its own
	 * last one: init's in keyproc.state, a rolled one's in its file. */
	if ((is = keyproc_issuer_by_id(k, issuer)) == NULL ||
	    X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(is->issuer)) != 0)
		REFUSE("CRL of another issuer");
	sp = is->original ? &k->st : &is->crl_st;
	st = *sp;
	if (crl_number(crl, &num) != 0)
		REFUSE("CRL without a CRL number");
	if (num <= sp->crl_number)
		REFUSE("CRL number %llu is not above the last signed one "
		    "(%llu)", (unsigned long long)num,
		    (unsigned long long)sp->crl_number);
	if (crl_scope_ok(crl, num, why, whylen) != 0)
		goto out;
	st.crl_number = num;
	if (keyproc_state_write(is->original ? k->state_path : is->crl_path,
	    is->original ? &k->state_fd : &is->crl_fd, &st, err,
	    sizeof(err)) != 0) {
		log_err("keyproc: %s", err);
		REFUSE("cannot persist the CRL number");
	}
	*sp = st;
	if (X509_CRL_sign(crl, is->ca_key, EVP_sha256()) <= 0 ||
	    (olen = i2d_X509_CRL(crl, &out)) <= 0)
		REFUSE("cannot sign the CRL");
	keyproc_put_bytes(ans, out, (size_t)olen);
	rc = 0;
out:
	X509_CRL_free(crl);
	OPENSSL_free(out);
	return rc;
}

/* ---- SIGN_CHECKPOINT --------------------------------------------------------------- */

/* Does (size, root) extend the last signed checkpoint?  old is the size
 * the request's proof starts from.  0, or -1 with why set. */
static int
cp_extends(const struct keyproc_state *st, uint64_t size,
    const uint8_t root[LEDGER_HASH_LEN], uint64_t old,
    const uint8_t (*proof)[LEDGER_HASH_LEN], size_t nproof, char *why,
    size_t whylen)
{
	int rc = -1;

	if (!st->have_cp || st->cp_size == 0)
		return 0;
	if (size < st->cp_size)
		REFUSE("checkpoint of size %llu is smaller than the last "
		    "signed one (%llu)", (unsigned long long)size,
		    (unsigned long long)st->cp_size);
	if (size == st->cp_size) {
		if (memcmp(root, st->cp_root, LEDGER_HASH_LEN) != 0)
			REFUSE("checkpoint of size %llu with another root than "
			    "the one signed for that size",
			    (unsigned long long)size);
		return 0;
	}
	if (old != st->cp_size)
		REFUSE("the consistency proof starts at size %llu, not at "
		    "the last signed checkpoint's %llu",
		    (unsigned long long)old, (unsigned long long)st->cp_size);
	if (ledger_consistency_verify(st->cp_size, size, st->cp_root, root,
	    proof, nproof) != 0)
		REFUSE("the consistency proof from size %llu to %llu does not "
		    "verify", (unsigned long long)st->cp_size,
		    (unsigned long long)size);
	rc = 0;
out:
	return rc;
}

/* Request: checkpoint body, proof start size, proof hashes (one byte
 * string of n * 32 bytes).  The new (size, root) is persisted before the
 * answer, the signature line. */
static int
op_sign_checkpoint(struct keyproc_keys *k, struct keyproc_rd *r,
    struct keyproc_buf *ans, char *why, size_t whylen)
{
	struct keyproc_state st = k->st;
	char *body = NULL, origin[CONFIG_STR], line[256], err[512];
	uint8_t root[LEDGER_HASH_LEN];
	const uint8_t *proof;
	size_t plen, blen;
	uint64_t size, old;
	int rc = -1;

	body = keyproc_get_strdup(r);
	old = keyproc_get_u64(r);
	proof = keyproc_get_bytes(r, &plen);
	if (r->err || r->off != r->len || plen % LEDGER_HASH_LEN != 0 ||
	    plen / LEDGER_HASH_LEN > LEDGER_PROOF_MAX)
		REFUSE("malformed SIGN_CHECKPOINT request");
	blen = strlen(body);
	if (blen == 0 || body[blen - 1] != '\n' || strstr(body, "\n\n") !=
	    NULL || ledger_checkpoint_read(body, blen, origin, sizeof(origin),
	    &size, root) != 0)
		REFUSE("not a checkpoint body");
	if (strcmp(origin, k->cfg.origin) != 0)
		REFUSE("checkpoint of origin \"%s\", not \"%s\"", origin,
		    k->cfg.origin);
	if (cp_extends(&k->st, size, root, old,
	    (const uint8_t (*)[LEDGER_HASH_LEN])proof,
	    plen / LEDGER_HASH_LEN, why, whylen) != 0)
		goto out;
	st.have_cp = 1;
	st.cp_size = size;
	memcpy(st.cp_root, root, LEDGER_HASH_LEN);
	if (memcmp(&st, &k->st, sizeof(st)) != 0) {
		if (keyproc_state_write(k->state_path, &k->state_fd, &st, err,
		    sizeof(err)) != 0) {
			log_err("keyproc: %s", err);
			REFUSE("cannot persist the checkpoint");
		}
		k->st = st;
	}
	if (ledger_sign_line(body, blen, k->cfg.validator_name,
	    k->node_key, line, sizeof(line)) != 0)
		REFUSE("cannot sign the checkpoint");
	keyproc_put_str(ans, line);
	k->signed_cp[k->signed_next % KEYPROC_SIGNED_CP].size = size;
	memcpy(k->signed_cp[k->signed_next % KEYPROC_SIGNED_CP].root, root,
	    LEDGER_HASH_LEN);
	k->signed_next++;
	rc = 0;
out:
	free(body);
	return rc;
}

/* ---- SIGN_CERT: the CA signs only what the ledger committed ------------------------- */

/*
 * 1 when the note's tree head (its size and root) is one this process
 * signed (SIGN_CHECKPOINT) and the trust is the node's key alone (the
 * verifier key is this process's own node key, as `keybridge init`
 * writes validator_vkey, and no validators): then the node's signature
 * on it is this process's own, and checking it again proves nothing
 * more.  0 otherwise (the signature is checked).
 */
static int
cert_checkpoint_signed_here(struct keyproc_keys *k, const char *note)
{
	char origin[CONFIG_STR];
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t size;
	int found = 0;

	if ((k->cfg.validator_vkey[0] != '\0' &&
	    strcmp(k->cfg.validator_vkey, k->vkey) != 0) || k->ncosigners > 0 ||
	    ledger_checkpoint_read(note, strlen(note), origin, sizeof(origin),
	    &size, root) != 0)
		return 0;
	pthread_mutex_lock(&k->state_mu);
	for (size_t i = 0; i < KEYPROC_SIGNED_CP && i < k->signed_next &&
	    !found; i++)
		found = k->signed_cp[i].size == size && CRYPTO_memcmp(
		    k->signed_cp[i].root, root, LEDGER_HASH_LEN) == 0;
	pthread_mutex_unlock(&k->state_mu);
	return found;
}

/* ca_admit_ctx's checkpoint_ok: the note is signed by the node's
 * checkpoint key this process holds, and no older than the largest tree
 * seen (the last verified note is kept: one verification per block);
 * with validators, it also carries a quorum of their cosignatures. */
static int
cert_checkpoint_ok(void *arg, const char *note, uint64_t *size,
    uint8_t root[LEDGER_HASH_LEN], char *why, size_t whylen)
{
	struct keyproc_keys *k = arg;
	char origin[CONFIG_STR];

	if (k->cp_ok != NULL && strcmp(k->cp_ok, note) == 0) {
		*size = k->cp_ok_size;
		memcpy(root, k->cp_ok_root, LEDGER_HASH_LEN);
		return 0;
	}
	/* The verifier key the configuration names (validator_vkey), as a
	 * device or auditor would check it; the node's own key's when none
	 * is set.  The validators issue makes this a quorum.  A tree head
	 * this process signed itself needs no second look. */
	if (!cert_checkpoint_signed_here(k, note) &&
	    ledger_checkpoint_verify(note, strlen(note),
	    k->cfg.validator_vkey[0] != '\0' ? k->cfg.validator_vkey :
	    k->vkey) != 0) {
		snprintf(why, whylen, "the checkpoint is not signed by %s",
		    k->cfg.validator_name);
		return -1;
	}
	if (ledger_checkpoint_read(note, strlen(note), origin,
	    sizeof(origin), size, root) != 0 ||
	    strcmp(origin, k->cfg.origin) != 0) {
		snprintf(why, whylen, "not a checkpoint of %s", k->cfg.origin);
		return -1;
	}
	/* A network process that shows an older tree hides what was
	 * committed since: never sign against one. */
	if (k->cp_ok != NULL && *size < k->cp_ok_size) {
		snprintf(why, whylen, "older than the last one seen (tree size "
		    "%llu < %llu)", (unsigned long long)*size,
		    (unsigned long long)k->cp_ok_size);
		return -1;
	}
	/* Validators (issue 14): only a final checkpoint, one a quorum of
	 * them cosigned (the log key was checked above). */
	if (k->ncosigners > 0) {
		struct ledger_cosign_policy pol = { NULL, k->cosigners,
		    k->ncosigners, k->quorum };
		char qwhy[256];

		if (ledger_cosign_checkpoint_ok(&pol, note, size, root, qwhy,
		    sizeof(qwhy)) != 0) {
			snprintf(why, whylen, "the checkpoint is not final: "
			    "%s", qwhy);
			return -1;
		}
	}
	free(k->cp_ok);
	if ((k->cp_ok = strdup(note)) != NULL) {
		k->cp_ok_size = *size;
		memcpy(k->cp_ok_root, root, LEDGER_HASH_LEN);
	}
	return 0;
}

/* A proof: one byte string of n * LEDGER_HASH_LEN bytes (borrowed). */
static const uint8_t (*
cert_proof(struct keyproc_rd *r, size_t *n))[LEDGER_HASH_LEN]
{
	const uint8_t *p;
	size_t len;

	p = keyproc_get_bytes(r, &len);
	*n = len / LEDGER_HASH_LEN;
	if (r->err || len % LEDGER_HASH_LEN != 0 || *n > LEDGER_PROOF_MAX) {
		r->err = 1;
		return NULL;
	}
	return (const uint8_t (*)[LEDGER_HASH_LEN])p;
}

/* Request: checkpoint, entry, entry index, entry proof, key-register
 * entry, its index, its proof (struct ca_cert_req in that order). */
static int
op_sign_cert(struct keyproc_keys *k, struct keyproc_rd *r,
    struct keyproc_buf *ans, char *why, size_t whylen)
{
	struct ca_cert_req q;
	struct ca_admit_ctx c;
	char *cp = NULL, *entry = NULL, *reg = NULL;
	uint8_t *tbs = NULL, *out = NULL;
	size_t tbslen, olen;
	int rc = -1;

	memset(&q, 0, sizeof(q));
	q.checkpoint = cp = keyproc_get_strdup(r);
	q.entry = entry = keyproc_get_strdup(r);
	q.entry_index = keyproc_get_u64(r);
	q.entry_proof = cert_proof(r, &q.entry_nproof);
	q.reg = reg = keyproc_get_strdup(r);
	q.reg_index = keyproc_get_u64(r);
	q.reg_proof = cert_proof(r, &q.reg_nproof);
	if (r->err || r->off != r->len)
		REFUSE("malformed SIGN_CERT request");
	memset(&c, 0, sizeof(c));
	/* Only the current issuer signs certificates (issue 17): an entry
	 * naming an older one is refused by ca_cert_admit. */
	c.issuer = k->iss[0].issuer;
	c.issuer_id = k->iss[0].issuer_id;
	c.origin = k->cfg.origin;
	c.checkpoint_ok = cert_checkpoint_ok;
	c.checkpoint_arg = k;
	c.ocsp_url = k->ocsp_url;
	c.ca_issuers_url = k->iss[0].ca_issuers_url;
	c.crl_url = k->iss[0].crl_url;
	c.account = k->cfg.bridge_account;
	c.cfg = &k->cfg;		/* the profiles' options */
	c.now = time(NULL);
	c.min_index = k->min_index;
	if (ca_cert_admit(&q, &c, &tbs, &tbslen, why, whylen) != 0)
		goto out;
	/* Each committed TBS is signed at most once, even if signing fails
	 * now: it is given up, and a new TBS is committed for a retry. */
	if (q.entry_index >= k->min_index)
		k->min_index = q.entry_index + 1;
	/* The DER as signed, never parsed again here (d2i_X509 decodes the
	 * subject's key: more than the signature costs). */
	if (ca_sign_tbs_der(tbs, tbslen, k->iss[0].ca_key, &out, &olen, why,
	    whylen) != 0)
		goto out;
	keyproc_put_bytes(ans, out, olen);
	rc = 0;
out:
	free(cp);
	free(entry);
	free(reg);
	free(tbs);
	OPENSSL_free(out);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------------------- */

int
keyproc_handle(struct keyproc_keys *k, uint16_t op, const uint8_t *req,
    size_t len, struct keyproc_buf *ans, char *why, size_t whylen)
{
	struct keyproc_rd r = { req, len, 0, 0 };
	int rc = -1;

	/* The promise (k->st and its file) is the writer thread's
	 * (SIGN_CHECKPOINT) and the main thread's (SIGN_CRL, INFO). */
	if (op == KEYPROC_OP_INFO || op == KEYPROC_OP_SIGN_CRL ||
	    op == KEYPROC_OP_SIGN_CHECKPOINT)
		pthread_mutex_lock(&k->state_mu);
	switch (op) {
	case KEYPROC_OP_INFO:
		rc = op_info(k, ans, why, whylen);
		break;
	case KEYPROC_OP_SIGN_ENTRY:
		rc = op_sign_entry(k, &r, ans, why, whylen);
		break;
	case KEYPROC_OP_SIGN_OCSP:
		rc = op_sign_ocsp(k, &r, ans, why, whylen);
		break;
	case KEYPROC_OP_SIGN_CRL:
		rc = op_sign_crl(k, &r, ans, why, whylen);
		break;
	case KEYPROC_OP_SIGN_CHECKPOINT:
		rc = op_sign_checkpoint(k, &r, ans, why, whylen);
		break;
	case KEYPROC_OP_SIGN_CERT:
		rc = op_sign_cert(k, &r, ans, why, whylen);
		break;
	default:
		snprintf(why, whylen, "unknown operation %u", op);
		break;
	}
	if (op == KEYPROC_OP_INFO || op == KEYPROC_OP_SIGN_CRL ||
	    op == KEYPROC_OP_SIGN_CHECKPOINT)
		pthread_mutex_unlock(&k->state_mu);
	if (rc == 0 && ans->err) {
		snprintf(why, whylen, "the answer does not fit a message");
		rc = -1;
	}
	ERR_clear_error();
	return rc;
}
