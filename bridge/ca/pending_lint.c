/*
 * pending_lint.c: TEMPORARY stand-ins for the LINT helper's lint.c
 * (ca_tbs_der, ca_sign_tbs, ca_lint_tbs of ca.h), so that the committed
 * issuance flow (enroll.c, admit.c) builds and runs before lint.c lands.
 * DELETE THIS FILE AT MERGE: lint.c replaces every function here.
 * ca_lint_tbs passes everything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "bridge/ca/ca.h"

/* The signature AlgorithmIdentifier of key's type: ECDSA with SHA-256
 * (no parameters, RFC 5758 3.2) or sha256WithRSAEncryption (NULL
 * parameters, RFC 4055 5).  0 or -1. */
static int
pending_alg(EVP_PKEY *key, X509_ALGOR *alg)
{
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC)
		return X509_ALGOR_set0(alg, OBJ_nid2obj(
		    NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL) == 1 ? 0 : -1;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
		return X509_ALGOR_set0(alg, OBJ_nid2obj(
		    NID_sha256WithRSAEncryption), V_ASN1_NULL, NULL) == 1 ?
		    0 : -1;
	return -1;
}

/* TEMPORARY (lint.c): see ca.h. */
int
ca_tbs_der(X509 *cert, X509 *issuer, uint8_t **der, size_t *len)
{
	X509_ALGOR *alg;
	unsigned char *p = NULL;
	int n;

	*der = NULL;
	/* The inner AlgorithmIdentifier is set in place: OpenSSL gives no
	 * setter but through signing, and the TBS must carry it before. */
	alg = (X509_ALGOR *)X509_get0_tbs_sigalg(cert);
	if (alg == NULL || pending_alg(X509_get0_pubkey(issuer), alg) != 0 ||
	    (n = i2d_re_X509_tbs(cert, &p)) <= 0)
		return -1;
	*der = p;
	*len = (size_t)n;
	return 0;
}

/* TEMPORARY (lint.c): see ca.h.  Signs exactly the bytes tbs, then
 * puts the certificate together with OpenSSL's encoders and parses it
 * back. */
X509 *
ca_sign_tbs(const uint8_t *tbs, size_t len, EVP_PKEY *key, char *why,
    size_t whylen)
{
	EVP_MD_CTX *md = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_BIT_STRING *bits = NULL;
	unsigned char *sig = NULL, *buf = NULL, *p;
	const unsigned char *q;
	size_t siglen = 0;
	X509 *x = NULL;
	int alen, slen, total, hlen;

	if ((alg = X509_ALGOR_new()) == NULL || pending_alg(key, alg) != 0 ||
	    (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, tbs, len) != 1 ||
	    (sig = OPENSSL_malloc(siglen)) == NULL ||
	    EVP_DigestSign(md, sig, &siglen, tbs, len) != 1 ||
	    (bits = ASN1_BIT_STRING_new()) == NULL ||
	    ASN1_BIT_STRING_set(bits, sig, (int)siglen) != 1) {
		snprintf(why, whylen, "sign: the CA key cannot sign");
		goto out;
	}
	/* No unused bits in a signature. */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	alen = i2d_X509_ALGOR(alg, NULL);
	slen = i2d_ASN1_BIT_STRING(bits, NULL);
	total = (int)len + alen + slen;
	hlen = ASN1_object_size(1, total, V_ASN1_SEQUENCE) - total;
	if (alen <= 0 || slen <= 0 || hlen <= 0 ||
	    (buf = malloc((size_t)(hlen + total))) == NULL) {
		snprintf(why, whylen, "sign: cannot encode the certificate");
		goto out;
	}
	p = buf;
	ASN1_put_object(&p, 1, total, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(p, tbs, len);
	p += len;
	i2d_X509_ALGOR(alg, &p);
	i2d_ASN1_BIT_STRING(bits, &p);
	q = buf;
	if ((x = d2i_X509(NULL, &q, hlen + total)) == NULL ||
	    q != buf + hlen + total) {
		X509_free(x);
		x = NULL;
		snprintf(why, whylen, "sign: the TBS is not one DER "
		    "TBSCertificate");
	}
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	X509_ALGOR_free(alg);
	ASN1_BIT_STRING_free(bits);
	OPENSSL_free(sig);
	free(buf);
	return x;
}

/* TEMPORARY (lint.c): see ca.h.  Passes everything. */
int
ca_lint_tbs(const uint8_t *tbs, size_t len, const struct ca_lint_want *w,
    char *why, size_t whylen)
{
	(void)tbs;
	(void)len;
	(void)w;
	(void)why;
	(void)whylen;
	return 0;
}
