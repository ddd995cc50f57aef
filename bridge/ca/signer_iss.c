/*
 * signer_iss.c: the issuing CAs the network process knows of (issue 17,
 * CA rollover; docs/design.md "Issuers and CA rollover"): read from the
 * key process's INFO, [0] the current one; at start those whose last
 * certificate has expired are retired (signer_retire_expired) and no
 * longer served (OCSP, CRLs, cacerts, client certificates).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "bridge/ca/signer_int.h"

/* One issuer's certificates of INFO's answer into is, its id from its
 * SKI.  0 or -1. */
int
signer_info_iss(struct signer_iss *is, struct keyproc_rd *r)
{
	const ASN1_BIT_STRING *bits;
	const ASN1_OCTET_STRING *ski;
	const uint8_t *der;
	size_t dlen;

	der = keyproc_get_bytes(r, &dlen);
	if (r->err || (is->issuer = d2i_X509(NULL, &der, (long)dlen)) == NULL)
		return -1;
	der = keyproc_get_bytes(r, &dlen);
	if (r->err || (is->ocsp_cert = d2i_X509(NULL, &der, (long)dlen)) ==
	    NULL)
		return -1;
	bits = X509_get0_pubkey_bitstr(is->ocsp_cert);
	if (bits == NULL || EVP_Digest(bits->data, (size_t)bits->length,
	    is->responder, NULL, EVP_sha1(), NULL) != 1)
		return -1;
	ski = X509_get0_subject_key_id(is->issuer);
	if (ski == NULL || ASN1_STRING_length(ski) <= 0 ||
	    (size_t)ASN1_STRING_length(ski) > LEDGER_NAME_MAX / 2)
		return -1;
	ledger_hex(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski),
	    is->issuer_id);
	if ((is->cid[0] = OCSP_cert_to_id(EVP_sha1(), NULL, is->issuer)) ==
	    NULL || (is->cid[1] = OCSP_cert_to_id(EVP_sha256(), NULL,
	    is->issuer)) == NULL)
		return -1;
	return 0;
}

/* The issuer whose CertID bs's first single response carries (by the
 * issuer's name and key hashes, RFC 6960 4.1.1), or NULL.  A request is
 * signed by that issuer's own responder; the key process refuses any
 * CertID of another issuer in it. */
const struct signer_iss *
signer_ocsp_issuer(struct signer *s, OCSP_BASICRESP *bs)
{
	OCSP_SINGLERESP *one = bs != NULL ? OCSP_resp_get0(bs, 0) : NULL;
	const OCSP_CERTID *cid;
	ASN1_OBJECT *alg = NULL;
	int nid;

	if (one == NULL || (cid = OCSP_SINGLERESP_get0_id(one)) == NULL ||
	    OCSP_id_get0_info(NULL, &alg, NULL, NULL,
	    (OCSP_CERTID *)cid) != 1)
		return NULL;
	nid = OBJ_obj2nid(alg);
	for (size_t i = 0; i < s->niss; i++) {
		OCSP_CERTID *t = NULL;
		const EVP_MD *md;
		int eq;

		if (nid == NID_sha1 || nid == NID_sha256) {
			if (OCSP_id_issuer_cmp(s->iss[i].cid[nid == NID_sha256],
			    cid) == 0)
				return &s->iss[i];
			continue;
		}
		if ((md = EVP_get_digestbyobj(alg)) == NULL ||
		    (t = OCSP_cert_to_id(md, NULL, s->iss[i].issuer)) == NULL)
			return NULL;
		eq = OCSP_id_issuer_cmp(t, cid) == 0;
		OCSP_CERTID_free(t);
		if (eq)
			return &s->iss[i];
	}
	return NULL;
}

X509 *
signer_ocsp_cert(struct signer *s)
{
	return s->iss[0].ocsp_cert;
}

X509 *
signer_issuer(struct signer *s)
{
	return s->iss[0].issuer;
}

const char *
signer_issuer_id(struct signer *s)
{
	return s->iss[0].issuer_id;
}

/* See ca.h. */
size_t
signer_nissuers(struct signer *s)
{
	return s->niss;
}

X509 *
signer_issuer_at(struct signer *s, size_t i)
{
	return i < s->niss ? s->iss[i].issuer : NULL;
}

X509 *
signer_ocsp_cert_at(struct signer *s, size_t i)
{
	return i < s->niss ? s->iss[i].ocsp_cert : NULL;
}

const char *
signer_issuer_id_at(struct signer *s, size_t i)
{
	return i < s->niss ? s->iss[i].issuer_id : NULL;
}

int
signer_issuer_original(struct signer *s, size_t i)
{
	return i < s->niss ? s->iss[i].original : 0;
}

/* See ca.h. */
int
signer_retire_expired(struct signer *s, struct ledger *l, time_t now)
{
	size_t i = 1, j;
	time_t t;
	int rc;

	while (i < s->niss) {
		struct signer_iss *is = &s->iss[i];

		if ((rc = ledger_issuer_last_expiry(l, is->issuer_id, &t)) < 0)
			return -1;
		if (rc == 0 && t > now) {
			char when[32];
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			log_info("issuer %s (rolled over from) is served until "
			    "its last certificate expires, at %s",
			    is->issuer_id, when);
			i++;
			continue;
		}
		log_info("issuer %s is retired: %s; it is no longer served%s",
		    is->issuer_id, rc == 1 ? "it issued no certificate" :
		    "its last certificate has expired", is->original ? "" :
		    " (its directory under " CA_ISSUERS_DIR " may be removed)");
		X509_free(is->issuer);
		X509_free(is->ocsp_cert);
		OCSP_CERTID_free(is->cid[0]);
		OCSP_CERTID_free(is->cid[1]);
		for (j = i; j + 1 < s->niss; j++)
			s->iss[j] = s->iss[j + 1];
		s->niss--;
		memset(&s->iss[s->niss], 0, sizeof(s->iss[0]));
	}
	return 0;
}
