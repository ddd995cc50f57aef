/*
 * respond.c: OCSP responses (RFC 6960 4.2), built with OpenSSL's OCSP
 * API and signed through the sign callback on the worker thread.
 *
 * Statuses (RFC 6960 2.2): good; revoked with the ledger's time and
 * reason; and for a serial of our issuer that the ledger never recorded,
 * "revoked" with reason certificateHold and revocationTime 1970-01-01
 * plus the extended-revoke extension (RFC 6960 2.2, 4.4.8).  "unknown"
 * was the other choice: most TLS clients treat unknown as a soft failure
 * and go on, while the trust rule (docs/design.md 3) says a certificate the
 * ledger does not know is never good, so it is answered as revoked.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ocsp/ocsp_int.h"

/* RFC 6960 2.2: the revocation time of a certificate never issued. */
#define OCSPR_NOT_ISSUED_TIME 0

static const EVP_MD *
ocspr_md(int md)
{
	return md == 0 ? EVP_sha1() : EVP_sha256();
}

/* See ocsp.h. */
int
ocspr_serial_hex(const ASN1_INTEGER *serial, char out[OCSPR_SERIAL_MAX + 1])
{
	BIGNUM *bn = NULL;
	char *hex = NULL, *h;
	size_t i, n;
	int rc = -1;

	out[0] = '\0';
	if (serial == NULL ||
	    (bn = ASN1_INTEGER_to_BN(serial, NULL)) == NULL ||
	    BN_is_negative(bn) || BN_is_zero(bn) ||
	    (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	for (h = hex; *h == '0'; h++)
		;
	if ((n = strlen(h)) == 0 || n > OCSPR_SERIAL_MAX)
		goto out;
	for (i = 0; i <= n; i++)
		out[i] = (h[i] >= 'A' && h[i] <= 'F') ?
		    (char)(h[i] - 'A' + 'a') : h[i];
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
	return rc;
}

/* See ocsp_int.h. */
OCSP_CERTID *
ocspr_certid(struct ocspr *r, int issuer, int md, const char *serial)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	OCSP_CERTID *cid = NULL;
	X509 *x = r->issuers[issuer].cert;

	if (BN_hex2bn(&bn, serial) <= 0 ||
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto out;
	cid = OCSP_cert_id_new(ocspr_md(md), X509_get_subject_name(x),
	    X509_get0_pubkey_bitstr(x), ai);
out:
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return cid;
}

/* See ocsp_int.h: compares the issuer hashes (RFC 6960 4.1.1) with each
 * issuer's, for SHA-1 and SHA-256 CertIDs; other hashes are computed. */
int
ocspr_issuer_of(struct ocspr *r, OCSP_CERTID *cid, int *md)
{
	ASN1_OBJECT *alg = NULL;
	OCSP_CERTID *tmp;
	const EVP_MD *m;
	int i, k, nid, found = -1;

	if (OCSP_id_get0_info(NULL, &alg, NULL, NULL, cid) != 1)
		return -1;
	nid = OBJ_obj2nid(alg);
	k = nid == NID_sha1 ? 0 : nid == NID_sha256 ? 1 : -1;
	*md = k;
	for (i = 0; i < r->nissuers && found < 0; i++) {
		if (k >= 0) {
			if (OCSP_id_issuer_cmp(r->issuers[i].cid[k], cid) == 0)
				found = i;
			continue;
		}
		if ((m = EVP_get_digestbynid(nid)) == NULL)
			break;
		tmp = OCSP_cert_to_id(m, NULL, r->issuers[i].cert);
		if (tmp != NULL && OCSP_id_issuer_cmp(tmp, cid) == 0)
			found = i;
		OCSP_CERTID_free(tmp);
	}
	ERR_clear_error();
	return found;
}

/* One SingleResponse. */
static int
ocspr_add(OCSP_BASICRESP *bs, OCSP_CERTID *cid, const struct ocspr_status *st,
    ASN1_TIME *thisupd, ASN1_TIME *nextupd)
{
	ASN1_TIME *rev = NULL;
	int status, reason = -1, rc = -1;

	switch (st->state) {
	case OCSPR_GOOD:
		status = V_OCSP_CERTSTATUS_GOOD;
		break;
	case OCSPR_REVOKED:
		status = V_OCSP_CERTSTATUS_REVOKED;
		/* RFC 5280 5.3.1: unspecified is better left out. */
		reason = st->reason > 0 ? st->reason : -1;
		if ((rev = ASN1_TIME_set(NULL, st->revoked_at)) == NULL)
			goto out;
		break;
	default:
		status = V_OCSP_CERTSTATUS_REVOKED;
		reason = OCSP_REVOKED_STATUS_CERTIFICATEHOLD;
		if ((rev = ASN1_TIME_set(NULL, OCSPR_NOT_ISSUED_TIME)) == NULL)
			goto out;
		break;
	}
	if (OCSP_basic_add1_status(bs, cid, status, reason, rev, thisupd,
	    nextupd) == NULL)
		goto out;
	rc = 0;
out:
	ASN1_TIME_free(rev);
	return rc;
}

/* RFC 6960 4.4.8: the id-pkix-ocsp-extended-revoke response extension
 * (OpenSSL names the OID 1.3.6.1.5.5.7.48.1.9 "valid"), value NULL. */
static int
ocspr_extended_revoke(OCSP_BASICRESP *bs)
{
	ASN1_NULL *nul = ASN1_NULL_new();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	int len, rc = -1;

	if (nul == NULL || os == NULL ||
	    (len = i2d_ASN1_NULL(nul, &der)) <= 0 ||
	    ASN1_OCTET_STRING_set(os, der, len) != 1 ||
	    (ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_valid,
	    0, os)) == NULL || OCSP_BASICRESP_add_ext(bs, ext, -1) != 1)
		goto out;
	rc = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_NULL_free(nul);
	OPENSSL_free(der);
	return rc;
}

/* See ocsp_int.h.  thisUpdate = now, nextUpdate = now + validity (RFC
 * 5019 2.2.4: both present); the nonce is copied when req has one. */
OCSP_BASICRESP *
ocspr_basic_new(struct ocspr *r, OCSP_REQUEST *req, OCSP_CERTID **cids,
    const struct ocspr_status *sts, int n, time_t now)
{
	OCSP_BASICRESP *bs = NULL, *ret = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL;
	int i, not_issued = 0;

	if ((bs = OCSP_BASICRESP_new()) == NULL ||
	    (thisupd = ASN1_TIME_set(NULL, now)) == NULL ||
	    (nextupd = ASN1_TIME_set(NULL, now + r->cfg.validity)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (ocspr_add(bs, cids[i], &sts[i], thisupd, nextupd) != 0)
			goto out;
		not_issued |= sts[i].state == OCSPR_NOT_ISSUED;
	}
	/* RFC 6960 4.4.8: extended revoked definition, NULL value. */
	if (not_issued && ocspr_extended_revoke(bs) != 0)
		goto out;
	if (req != NULL && OCSP_REQUEST_get_ext_by_NID(req,
	    NID_id_pkix_OCSP_Nonce, -1) >= 0 && OCSP_copy_nonce(bs, req) <= 0)
		goto out;
	ret = bs;
	bs = NULL;
out:
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	OCSP_BASICRESP_free(bs);
	return ret;
}

/* See ocsp_int.h. */
int
ocspr_encode(OCSP_BASICRESP *bs, unsigned char **der, size_t *len)
{
	OCSP_RESPONSE *resp;
	int l = -1;

	*der = NULL;
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    bs)) != NULL)
		l = i2d_OCSP_RESPONSE(resp, der);
	OCSP_RESPONSE_free(resp);
	if (l <= 0)
		return -1;
	*len = (size_t)l;
	return 0;
}

/* See ocsp_int.h. */
int
ocspr_build(struct ocspr *r, OCSP_REQUEST *req, OCSP_CERTID **cids,
    const struct ocspr_status *sts, int n, time_t now, unsigned char **der,
    size_t *len)
{
	OCSP_BASICRESP *bs;
	int rc = -1;

	*der = NULL;
	if ((bs = ocspr_basic_new(r, req, cids, sts, n, now)) != NULL &&
	    r->cfg.ops.sign_ocsp(r->cfg.ops.arg, &bs) == 0 &&
	    ocspr_encode(bs, der, len) == 0)
		rc = 0;
	OCSP_BASICRESP_free(bs);
	ERR_clear_error();
	return rc;
}

/* See ocsp_int.h: the unsigned answers (an OCSPResponse with only a
 * responseStatus, RFC 6960 4.2.1), encoded by OpenSSL once at start. */
int
ocspr_errors_init(struct ocspr *r)
{
	OCSP_RESPONSE *resp;
	unsigned char *p;
	int st, l;

	for (st = 1; st < OCSPR_NSTATUS; st++) {
		if ((resp = OCSP_response_create(st, NULL)) == NULL)
			return -1;
		l = i2d_OCSP_RESPONSE(resp, NULL);
		if (l <= 0 || (size_t)l > sizeof(r->errder[0])) {
			OCSP_RESPONSE_free(resp);
			return -1;
		}
		p = r->errder[st];
		i2d_OCSP_RESPONSE(resp, &p);
		r->errlen[st] = (size_t)l;
		OCSP_RESPONSE_free(resp);
	}
	return 0;
}

long
ocspr_validity(const struct ocspr *r)
{
	return r->cfg.validity;
}
