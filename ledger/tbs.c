/*
 * tbs.c: the to-be-signed part of a certificate (RFC 5280 4.1.1.1,
 * tbsCertificate), as the ledger records it (docs/design.md "The CA signs
 * only what the ledger committed").
 *
 * A cert-issued entry carries the DER TBSCertificate the bridge built,
 * before the CA key signs it; the certificate a client gets is those bytes
 * with the CA's AlgorithmIdentifier and signature around them.  So any
 * certificate can be checked against the ledger by its TBS: these two
 * functions take the TBS out of a certificate exactly as encoded (no
 * re-encoding, which could hide a difference), and read a TBS with
 * OpenSSL's X509 accessors.  libcrypto only; no hand-written DER: the
 * walk uses ASN1_get_object() and the wrapper ASN1_put_object().
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "ledger/ledger.h"

/* One DER element at *p of at most max bytes: its whole length (header
 * and contents) in *n, a constructed SEQUENCE.  0 or -1. */
static int
tbs_sequence(const unsigned char *p, long max, long *n)
{
	const unsigned char *q = p;
	long len;
	int tag, xclass, r;

	r = ASN1_get_object(&q, &len, &tag, &xclass, max);
	if ((r & 0x80) != 0 || r != V_ASN1_CONSTRUCTED ||
	    tag != V_ASN1_SEQUENCE || xclass != V_ASN1_UNIVERSAL ||
	    len > max - (q - p))
		return -1;
	*n = (long)(q - p) + len;
	return 0;
}

/* See ledger.h. */
int
ledger_tbs_of_cert(const uint8_t *der, size_t len, const uint8_t **tbs,
    size_t *tbslen)
{
	const unsigned char *p = der;
	long outer, inner, hdr, clen;
	int tag, xclass;

	if (der == NULL || len == 0 || len > LEDGER_CERT_DER_MAX ||
	    tbs_sequence(der, (long)len, &outer) != 0 || outer != (long)len)
		return -1;
	/* Step into the Certificate SEQUENCE: its first element is the TBS. */
	if ((ASN1_get_object(&p, &clen, &tag, &xclass, (long)len) & 0x80) != 0)
		return -1;
	hdr = (long)(p - der);
	if (tbs_sequence(p, (long)len - hdr, &inner) != 0)
		return -1;
	*tbs = p;
	*tbslen = (size_t)inner;
	return 0;
}

/* See ledger.h.  The wrapper is Certificate ::= SEQUENCE { tbs,
 * AlgorithmIdentifier, BIT STRING }, with the TBS's own inner algorithm
 * and an empty signature: enough for d2i_X509 and the accessors, never a
 * certificate anyone could use. */
X509 *
ledger_tbs_x509(const uint8_t *tbs, size_t len)
{
	X509_ALGOR *alg = NULL;
	ASN1_BIT_STRING *sig = NULL;
	unsigned char *buf = NULL, *p;
	const unsigned char *q;
	X509 *x = NULL, *ret = NULL;
	long n;
	int alen, slen, total, hlen;

	if (tbs == NULL || len == 0 || len > LEDGER_CERT_DER_MAX ||
	    tbs_sequence(tbs, (long)len, &n) != 0 || n != (long)len)
		goto out;
	if ((alg = X509_ALGOR_new()) == NULL ||
	    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256),
	    V_ASN1_UNDEF, NULL) != 1 ||
	    (sig = ASN1_BIT_STRING_new()) == NULL ||
	    (alen = i2d_X509_ALGOR(alg, NULL)) <= 0 ||
	    (slen = i2d_ASN1_BIT_STRING(sig, NULL)) <= 0)
		goto out;
	total = (int)len + alen + slen;
	hlen = ASN1_object_size(1, total, V_ASN1_SEQUENCE) - total;
	if (hlen <= 0 || (buf = malloc((size_t)(hlen + total))) == NULL)
		goto out;
	p = buf;
	ASN1_put_object(&p, 1, total, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(p, tbs, len);
	p += len;
	i2d_X509_ALGOR(alg, &p);
	i2d_ASN1_BIT_STRING(sig, &p);
	q = buf;
	if ((x = d2i_X509(NULL, &q, hlen + total)) == NULL ||
	    q != buf + hlen + total)
		goto out;
	ret = x;
	x = NULL;
out:
	X509_ALGOR_free(alg);
	ASN1_BIT_STRING_free(sig);
	free(buf);
	X509_free(x);
	return ret;
}
