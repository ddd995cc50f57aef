/*
 * tbs.c: the to-be-signed part of a certificate (RFC 5280 4.1.1.1,
 * tbsCertificate), as the ledger records it (docs/design.md "The CA signs
 * only what the ledger committed").
 *
 * A cert-issued entry carries the DER TBSCertificate the bridge built,
 * before the CA key signs it; the certificate a client gets is those bytes
 * with the CA's AlgorithmIdentifier and signature around them.  So any
 * certificate can be checked against the ledger by its TBS: these
 * functions take the TBS out of a certificate exactly as encoded (no
 * re-encoding, which could hide a difference), and read a TBS with
 * OpenSSL's X509 accessors.  libcrypto only; no hand-written DER: the
 * walk uses ASN1_get_object() and the wrapper ASN1_put_object(), the
 * reader an ASN.1 template.
 *
 * ledger_tbs_read is what the rules use (the ledger writer, every
 * enrollment): OpenSSL 3.0's d2i_X509 decodes the subject public key
 * through its decoder chain as it parses (a quarter of the writer's time,
 * docs/benchmarks.md "EST13"), and the rules only compare the key's
 * SubjectPublicKeyInfo bytes.  So the TBS is parsed with a template of
 * its own, X509_CINF's but for the SPKI, which stays an AlgorithmIdentifier
 * and a BIT STRING (X509_PUBKEY's own inner template, so it encodes to the
 * bytes i2d_X509_PUBKEY gave); and the X509 the accessors read is built
 * from its parts without the key.  OpenSSL's derived view of a
 * certificate (X509_check_ca, the extended key usage, the AKI: its
 * extension cache) looks at the key in one case only, a self-issued
 * certificate (is it self-signed?): a TBS whose subject is its issuer is
 * read the old way, with its key, so the rules decide every TBS exactly as
 * before.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

/* RFC 5280 4.1 SubjectPublicKeyInfo as it is: X509_PUBKEY's inner
 * template, without the decoding of the key that X509_PUBKEY adds. */
struct tbs_spki {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
};

/* RFC 5280 4.1 TBSCertificate: OpenSSL's X509_CINF but for the SPKI. */
struct tbs_cinf {
	ASN1_INTEGER *version;		/* [0] EXPLICIT, DEFAULT v1 */
	ASN1_INTEGER *serial;
	X509_ALGOR *sigalg;
	X509_NAME *issuer;
	X509_VAL *validity;
	X509_NAME *subject;
	struct tbs_spki *spki;
	ASN1_BIT_STRING *iuid;		/* [1] IMPLICIT OPTIONAL */
	ASN1_BIT_STRING *suid;		/* [2] IMPLICIT OPTIONAL */
	STACK_OF(X509_EXTENSION) *exts;	/* [3] EXPLICIT OPTIONAL */
};

/* The macros need typedef'd names. */
typedef struct tbs_spki LEDGER_TBS_SPKI;
typedef struct tbs_cinf LEDGER_TBS_CINF;

ASN1_SEQUENCE(LEDGER_TBS_SPKI) = {
	ASN1_SIMPLE(LEDGER_TBS_SPKI, alg, X509_ALGOR),
	ASN1_SIMPLE(LEDGER_TBS_SPKI, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(LEDGER_TBS_SPKI)

ASN1_SEQUENCE(LEDGER_TBS_CINF) = {
	ASN1_EXP_OPT(LEDGER_TBS_CINF, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(LEDGER_TBS_CINF, serial, ASN1_INTEGER),
	ASN1_SIMPLE(LEDGER_TBS_CINF, sigalg, X509_ALGOR),
	ASN1_SIMPLE(LEDGER_TBS_CINF, issuer, X509_NAME),
	ASN1_SIMPLE(LEDGER_TBS_CINF, validity, X509_VAL),
	ASN1_SIMPLE(LEDGER_TBS_CINF, subject, X509_NAME),
	ASN1_SIMPLE(LEDGER_TBS_CINF, spki, LEDGER_TBS_SPKI),
	ASN1_IMP_OPT(LEDGER_TBS_CINF, iuid, ASN1_BIT_STRING, 1),
	ASN1_IMP_OPT(LEDGER_TBS_CINF, suid, ASN1_BIT_STRING, 2),
	ASN1_EXP_SEQUENCE_OF_OPT(LEDGER_TBS_CINF, exts, X509_EXTENSION, 3),
} static_ASN1_SEQUENCE_END(LEDGER_TBS_CINF)

/*
 * An X509 of t's parts but its key: the version, serial, names, validity
 * and extensions the rules read, and OpenSSL's extension cache computed
 * over them.  The key is only its algorithm's OID and no bits (never
 * decoded), and both signature algorithms are the TBS's: enough for the
 * cache's fingerprint (an X509 that cannot be encoded is called invalid).
 * NULL when a part cannot be set or the fingerprint fails: the caller
 * reads the TBS the old way.  OpenSSL has no setter for the signature
 * algorithms but X509_sign; they are x's own, so written through the
 * accessors' pointers.
 */
static X509 *
tbs_keyless_x509(const struct tbs_cinf *t)
{
	X509 *x = X509_new();
	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *outer;
	ASN1_OBJECT *kalg = NULL;
	int ok;

	if (x != NULL)
		X509_get0_signature(&sig, &outer, x);
	ok = x != NULL &&
	    (kalg = OBJ_dup(t->spki->alg->algorithm)) != NULL &&
	    X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), kalg,
	    V_ASN1_UNDEF, NULL, NULL, 0) == 1;
	if (!ok)
		ASN1_OBJECT_free(kalg);
	ok = ok &&
	    X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x),
	    t->sigalg) == 1 &&
	    X509_ALGOR_copy((X509_ALGOR *)outer, t->sigalg) == 1 &&
	    X509_set_version(x, ASN1_INTEGER_get(t->version)) == 1 &&
	    X509_set_serialNumber(x, t->serial) == 1 &&
	    X509_set_issuer_name(x, t->issuer) == 1 &&
	    X509_set_subject_name(x, t->subject) == 1 &&
	    X509_set1_notBefore(x, t->validity->notBefore) == 1 &&
	    X509_set1_notAfter(x, t->validity->notAfter) == 1;
	for (int i = 0; ok && i < sk_X509_EXTENSION_num(t->exts); i++)
		ok = X509_add_ext(x, sk_X509_EXTENSION_value(t->exts, i),
		    -1) == 1;
	/* For the side effect: the cache, which the accessors read. */
	if (ok)
		(void)X509_check_ca(x);
	if (!ok || (X509_get_extension_flags(x) & EXFLAG_NO_FINGERPRINT)) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* See ledger.h. */
int
ledger_tbs_read(const uint8_t *tbs, size_t len, X509 **x, uint8_t **spki,
    int *spkilen)
{
	struct tbs_cinf *t = NULL;
	const unsigned char *p = tbs;
	unsigned char *k = NULL;
	long n;
	int klen, rc = -1;

	*x = NULL;
	*spki = NULL;
	*spkilen = 0;
	if (tbs == NULL || len == 0 || len > LEDGER_CERT_DER_MAX ||
	    tbs_sequence(tbs, (long)len, &n) != 0 || n != (long)len ||
	    (t = (struct tbs_cinf *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(LEDGER_TBS_CINF))) == NULL ||
	    p != tbs + len ||
	    (klen = ASN1_item_i2d((ASN1_VALUE *)t->spki, &k,
	    ASN1_ITEM_rptr(LEDGER_TBS_SPKI))) <= 0)
		goto out;
	/* Self-issued: whether it is also self-signed depends on its key
	 * (OpenSSL's EXFLAG_SS, which X509_check_ca reads for a v1
	 * certificate), so it is read with its key. */
	if (X509_NAME_cmp(t->subject, t->issuer) == 0 ||
	    (*x = tbs_keyless_x509(t)) == NULL)
		*x = ledger_tbs_x509(tbs, len);
	if (*x == NULL)
		goto out;
	*spki = k;
	*spkilen = klen;
	k = NULL;
	rc = 0;
out:
	OPENSSL_free(k);
	ASN1_item_free((ASN1_VALUE *)t, ASN1_ITEM_rptr(LEDGER_TBS_CINF));
	return rc;
}
