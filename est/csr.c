/*
 * csr.c: decoding and checking the PKCS#10 request of an EST enrollment
 * (RFC 7030 4.2.1; docs/design.md "Issuance").
 *
 * Tolerant on the framing (RFC 8951: base64 with or without line breaks),
 * strict on the content: the DER must be one CertificationRequest and
 * nothing after it, the signature must verify with the request's own key
 * (proof of possession, RFC 7030 3.4), the key must be RSA of 2048 to 8192
 * bits, Ed25519 (RFC 8410; read by the general reader, not the fast
 * path) or EC on P-256 / P-384 in the one encoding the ledger registers (a
 * named curve and an uncompressed point: the certificate copies the CSR's
 * SubjectPublicKeyInfo, and the ledger records it only when it is the
 * registered one), and the signature hash SHA-256 or stronger.
 * Each refusal carries one line that tells the client what to change.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/spki.h"
#include "est/est.h"
#include "est/est_int.h"

#define EST_CSR_GROUP_NAME_MAX 64
#define EST_CSR_IPV4_LEN       4
#define EST_CSR_IPV6_LEN       16
#define EST_CSR_BITS_ALIGN     8	/* RSA modulus: whole bytes */

/* The DER of an EST body (base64, blanks allowed) into *der (malloc'd,
 * *derlen bytes).  0, or -1 with why (EST_CSR_BAD_BASE64). */
static int
est_csr_der(const char *body, size_t len, unsigned char **der,
    size_t *derlen, char *why, size_t whylen)
{
	size_t cap;

	*der = NULL;
	*derlen = 0;
	if (body == NULL || len == 0) {
		est_why(why, whylen, "the body is empty: it must be a "
		    "base64 PKCS#10 request");
		return -1;
	}
	if (len > EST_MAX_BODY) {
		est_why(why, whylen, "the body is %zu bytes, at most %d "
		    "are accepted", len, EST_MAX_BODY);
		return -1;
	}
	cap = len / 4 * 3 + 3;
	if ((*der = malloc(cap)) == NULL) {
		est_why(why, whylen, "out of memory");
		return -1;
	}
	if (est_b64_decode(body, len, 1, *der, cap, derlen) != 0) {
		est_why(why, whylen, "the body is not base64 (RFC 7030 "
		    "4.2.1: a base64 DER PKCS#10 request, not PEM or binary)");
		free(*der);
		*der = NULL;
		return -1;
	}
	return 0;
}

/* One DER PKCS#10 in der[0..derlen), its key decoded (d2i_X509_REQ). */
static X509_REQ *
est_csr_d2i(const unsigned char *der, size_t derlen, enum est_csr_status *st,
    char *why, size_t whylen)
{
	const unsigned char *p = der;
	X509_REQ *req;

	*st = EST_CSR_NOT_CSR;
	if ((req = d2i_X509_REQ(NULL, &p, (long)derlen)) == NULL) {
		est_why(why, whylen, "the decoded body is not a DER "
		    "PKCS#10 certification request");
		goto out;
	}
	if (p != der + derlen) {
		est_why(why, whylen, "%zu bytes follow the PKCS#10 "
		    "request", (size_t)(der + derlen - p));
		X509_REQ_free(req);
		req = NULL;
		goto out;
	}
	*st = EST_CSR_OK;
out:
	if (req == NULL)
		ERR_clear_error();	/* bad input, not a fault: no log */
	return req;
}

/* Decodes base64 (blanks allowed) of exactly one DER PKCS#10; see est.h. */
X509_REQ *
est_csr_decode(const char *body, size_t len, enum est_csr_status *st,
    char *why, size_t whylen)
{
	enum est_csr_status dummy;
	unsigned char *der = NULL;
	X509_REQ *req = NULL;
	size_t derlen = 0;

	if (st == NULL)
		st = &dummy;
	*st = EST_CSR_BAD_BASE64;
	if (est_csr_der(body, len, &der, &derlen, why, whylen) == 0)
		req = est_csr_d2i(der, derlen, st, why, whylen);
	free(der);
	return req;
}


/* RSA: EST_MIN_RSA_BITS..EST_MAX_RSA_BITS, whole bytes.  EC: P-256 or
 * P-384, named and uncompressed.  Anything else is refused. */
static enum est_csr_status
est_csr_check_key(EVP_PKEY *pk, char *why, size_t whylen)
{
	char group[EST_CSR_GROUP_NAME_MAX], enc[EST_CSR_GROUP_NAME_MAX];
	int bits, nid;

	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pk);
		if (bits < EST_MIN_RSA_BITS) {
			est_why(why, whylen, "RSA key of %d bits: at least "
			    "%d required", bits, EST_MIN_RSA_BITS);
			return EST_CSR_WEAK_KEY;
		}
		if (bits > EST_MAX_RSA_BITS) {
			est_why(why, whylen, "RSA key of %d bits: at most "
			    "%d accepted", bits, EST_MAX_RSA_BITS);
			return EST_CSR_WEAK_KEY;
		}
		if (bits % EST_CSR_BITS_ALIGN != 0) {
			est_why(why, whylen, "RSA key of %d bits: the "
			    "size must be a multiple of %d", bits,
			    EST_CSR_BITS_ALIGN);
			return EST_CSR_WEAK_KEY;
		}
		return EST_CSR_OK;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    NULL) != 1) {
			est_why(why, whylen, "EC key without a named "
			    "curve: use P-256 or P-384");
			return EST_CSR_BAD_CURVE;
		}
		if ((nid = OBJ_txt2nid(group)) == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1) {
			est_why(why, whylen, "EC key on curve %s: use "
			    "P-256 or P-384", group);
			return EST_CSR_BAD_CURVE;
		}
		/* One key, one encoding (RFC 5480 2.1.1, 2.2): the ledger
		 * knows a key by the hash of its named-curve, uncompressed
		 * SubjectPublicKeyInfo, and refuses any other form of it. */
		if (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc), NULL) != 1 ||
		    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
			est_why(why, whylen, "EC key with explicit curve "
			    "parameters: name the curve (%s) in the request",
			    group);
			return EST_CSR_KEY_ENCODING;
		}
		snprintf(enc, sizeof(enc), "an unknown");
		if (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, enc,
		    sizeof(enc), NULL) != 1 || strcmp(enc,
		    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 0) {
			est_why(why, whylen, "EC public key in %s form: "
			    "send the uncompressed point, the form the key "
			    "is registered in", enc);
			return EST_CSR_KEY_ENCODING;
		}
		return EST_CSR_OK;
	case EVP_PKEY_ED25519:
		/* RFC 8410: its one encoding is the raw 32-byte key; the
		 * ledger refuses a small-order or non-canonical point when
		 * the key is registered (ledger_spki_check), and only the
		 * device profile issues for it (issue_build). */
		return EST_CSR_OK;
	default:
		est_why(why, whylen, "%s key: use RSA (2048 bits or "
		    "more), EC P-256 / P-384, or Ed25519 (device profile)",
		    EVP_PKEY_get0_type_name(pk) != NULL ?
		    EVP_PKEY_get0_type_name(pk) : "unknown");
		return EST_CSR_BAD_KEY_TYPE;
	}
}

/* RSASSA-PSS names its hash in the parameters (RFC 4055 3.1; absent means
 * SHA-1).  Returns the hash NID or NID_undef. */
static int
est_csr_pss_md(X509_REQ *req)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	RSA_PSS_PARAMS *pss = NULL;
	int ptype = 0, md = NID_undef;

	X509_REQ_get0_signature(req, NULL, &alg);
	if (alg == NULL)
		return NID_undef;
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE || pval == NULL)
		return NID_undef;
	pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS),
	    alg->parameter);
	if (pss == NULL)
		return NID_undef;
	if (pss->hashAlgorithm == NULL)
		md = NID_sha1;
	else
		md = OBJ_obj2nid(pss->hashAlgorithm->algorithm);
	RSA_PSS_PARAMS_free(pss);
	return md;
}

/* The signature's hash must be SHA-256, SHA-384 or SHA-512 (or the
 * SHA-512 inside Ed25519). */
static enum est_csr_status
est_csr_check_hash(X509_REQ *req, char *why, size_t whylen)
{
	int sig = X509_REQ_get_signature_nid(req), md = NID_undef, pk;
	const X509_ALGOR *alg = NULL;
	int ptype = V_ASN1_UNDEF;

	/* RFC 8410 6, RFC 8032 5.1: PureEdDSA hashes with SHA-512 inside
	 * the signature; its AlgorithmIdentifier has no parameters. */
	if (sig == NID_ED25519) {
		X509_REQ_get0_signature(req, NULL, &alg);
		if (alg != NULL)
			X509_ALGOR_get0(NULL, &ptype, NULL, alg);
		if (ptype == V_ASN1_UNDEF)
			return EST_CSR_OK;
		est_why(why, whylen, "Ed25519 signature algorithm with "
		    "parameters (RFC 8410 3: they must be absent)");
		return EST_CSR_WEAK_HASH;
	}
	if (sig == NID_rsassaPss)
		md = est_csr_pss_md(req);
	else if (OBJ_find_sigid_algs(sig, &md, &pk) != 1)
		md = NID_undef;
	if (md == NID_sha256 || md == NID_sha384 || md == NID_sha512)
		return EST_CSR_OK;
	est_why(why, whylen, "signed with %s: sign with SHA-256, SHA-384 "
	    "or SHA-512", md != NID_undef ? OBJ_nid2sn(md) :
	    sig != NID_undef ? OBJ_nid2sn(sig) : "an unknown algorithm");
	return EST_CSR_WEAK_HASH;
}

/* PoP, key policy, hash, subject; see est.h. */
enum est_csr_status
est_csr_check(X509_REQ *req, char *why, size_t whylen)
{
	enum est_csr_status st = EST_CSR_NOT_CSR;
	EVP_PKEY *pk;

	if (req == NULL) {
		est_why(why, whylen, "no request");
		goto out;
	}
	st = EST_CSR_BAD_KEY_TYPE;
	if ((pk = X509_REQ_get0_pubkey(req)) == NULL) {
		est_why(why, whylen, "the request's public key cannot be "
		    "read: use RSA (2048 bits or more) or EC P-256 / P-384");
		goto out;
	}
	/* RFC 7030 3.4: the request is signed by the key it certifies. */
	st = EST_CSR_BAD_SIGNATURE;
	if (X509_REQ_verify(req, pk) != 1) {
		est_why(why, whylen, "the request's signature does not "
		    "verify with its own key (no proof of possession)");
		goto out;
	}
	if ((st = est_csr_check_key(pk, why, whylen)) != EST_CSR_OK)
		goto out;
	if ((st = est_csr_check_hash(req, why, whylen)) != EST_CSR_OK)
		goto out;
	st = EST_CSR_EMPTY_SUBJECT;
	if (X509_REQ_get_subject_name(req) == NULL ||
	    X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 0) {
		est_why(why, whylen, "the request's subject is empty: put "
		    "at least a CN in it");
		goto out;
	}
	st = EST_CSR_OK;
out:
	if (st != EST_CSR_OK)
		ERR_clear_error();
	return st;
}

/*
 * The event loop's reader (est_csr_read): OpenSSL 3.0's d2i_X509_REQ
 * decodes the request's key through its decoder chain (a fifth of the
 * loop's time per enrollment, docs/benchmarks.md "EST13").  For the keys
 * devices send, EC P-256 or P-384 on a named curve with an uncompressed
 * point, the request is read with a template of its own that keeps the
 * SubjectPublicKeyInfo as bytes, the key is made from the point with
 * EVP_PKEY_fromdata (which refuses a point off the curve), and the
 * signature is verified over the CertificationRequestInfo exactly as
 * received, as X509_REQ_verify does.  Anything else, or any check that
 * fails, is read and judged by est_csr_decode and est_csr_check, so a
 * refusal is always theirs, word for word.
 */
struct csr_spki {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
};

/* CertificationRequestInfo (RFC 2986 4.1), X509_REQ_INFO's template but
 * for the key; enc keeps the bytes the signature is over. */
struct csr_info {
	ASN1_ENCODING enc;
	ASN1_INTEGER *version;
	X509_NAME *subject;
	struct csr_spki *spki;
	STACK_OF(X509_ATTRIBUTE) *attrs;	/* [0] IMPLICIT */
};

struct csr_req {
	struct csr_info *info;
	X509_ALGOR *sigalg;
	ASN1_BIT_STRING *sig;
};

typedef struct csr_spki EST_CSR_SPKI;
typedef struct csr_info EST_CSR_INFO;
typedef struct csr_req EST_CSR_REQ;

ASN1_SEQUENCE(EST_CSR_SPKI) = {
	ASN1_SIMPLE(EST_CSR_SPKI, alg, X509_ALGOR),
	ASN1_SIMPLE(EST_CSR_SPKI, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(EST_CSR_SPKI)

ASN1_SEQUENCE_enc(EST_CSR_INFO, enc, 0) = {
	ASN1_SIMPLE(EST_CSR_INFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(EST_CSR_INFO, subject, X509_NAME),
	ASN1_SIMPLE(EST_CSR_INFO, spki, EST_CSR_SPKI),
	/* X509_REQ_INFO's: not OPTIONAL in RFC 2986, tolerated absent */
	ASN1_IMP_SET_OF_OPT(EST_CSR_INFO, attrs, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(EST_CSR_INFO, EST_CSR_INFO)

ASN1_SEQUENCE(EST_CSR_REQ) = {
	ASN1_SIMPLE(EST_CSR_REQ, info, EST_CSR_INFO),
	ASN1_SIMPLE(EST_CSR_REQ, sigalg, X509_ALGOR),
	ASN1_SIMPLE(EST_CSR_REQ, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(EST_CSR_REQ)

/* An X509_REQ of t's parts, its key as bytes only (never decoded: for
 * est_csr_key_id, est_csr_names, the subject and the signature's
 * algorithm).  NULL when a part cannot be set. */
static X509_REQ *
est_csr_build(const struct csr_req *t)
{
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	X509_REQ *req = X509_REQ_new();
	ASN1_OBJECT *alg = NULL, *prm = NULL;
	ASN1_BIT_STRING *sig = NULL;
	unsigned char *bits = NULL;
	int ok, ptype = V_ASN1_UNDEF;

	X509_ALGOR_get0(&obj, &ptype, &pval, t->info->spki->alg);
	ok = req != NULL &&
	    X509_REQ_set_version(req, ASN1_INTEGER_get(t->info->version)) ==
	    1 && X509_REQ_set_subject_name(req, t->info->subject) == 1 &&
	    (alg = OBJ_dup(obj)) != NULL && (prm = OBJ_dup(pval)) != NULL &&
	    (bits = OPENSSL_memdup(t->info->spki->key->data,
	    (size_t)t->info->spki->key->length)) != NULL &&
	    X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req), alg,
	    V_ASN1_OBJECT, prm, bits, t->info->spki->key->length) == 1;
	if (!ok) {
		ASN1_OBJECT_free(alg);
		ASN1_OBJECT_free(prm);
		OPENSSL_free(bits);
	}
	for (int i = 0; ok && i < sk_X509_ATTRIBUTE_num(t->info->attrs); i++)
		ok = X509_REQ_add1_attr(req,
		    sk_X509_ATTRIBUTE_value(t->info->attrs, i)) == 1;
	ok = ok && X509_REQ_set1_signature_algo(req, t->sigalg) == 1 &&
	    (sig = ASN1_STRING_dup(t->sig)) != NULL;
	if (ok)
		X509_REQ_set0_signature(req, sig);
	if (!ok) {
		X509_REQ_free(req);
		req = NULL;
	}
	return req;
}

/* The fast reading of der[0..derlen): EST_CSR_OK with *req and *pk, or
 * -1 when the request is not of that kind or fails a check. */
static int
est_csr_fast(const unsigned char *der, size_t derlen, X509_REQ **req,
    EVP_PKEY **pk, char *why, size_t whylen)
{
	const unsigned char *p = der;
	struct csr_req *t;
	int rc = -1;

	if ((t = (struct csr_req *)ASN1_item_d2i(NULL, &p, (long)derlen,
	    ASN1_ITEM_rptr(EST_CSR_REQ))) == NULL || p != der + derlen ||
	    (*pk = spki_ec_key(t->info->spki->alg,
	    t->info->spki->key)) == NULL)
		goto out;
	/* RFC 7030 3.4: the request is signed by the key it certifies,
	 * over the bytes it was sent in. */
	if (ASN1_item_verify(ASN1_ITEM_rptr(EST_CSR_INFO), t->sigalg, t->sig,
	    t->info, *pk) != 1 || (*req = est_csr_build(t)) == NULL ||
	    est_csr_check_key(*pk, why, whylen) != EST_CSR_OK ||
	    est_csr_check_hash(*req, why, whylen) != EST_CSR_OK ||
	    X509_NAME_entry_count(X509_REQ_get_subject_name(*req)) == 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		X509_REQ_free(*req);
		EVP_PKEY_free(*pk);
		*req = NULL;
		*pk = NULL;
	}
	ASN1_item_free((ASN1_VALUE *)t, ASN1_ITEM_rptr(EST_CSR_REQ));
	ERR_clear_error();
	return rc;
}

/* See est.h. */
enum est_csr_status
est_csr_read(const char *body, size_t len, X509_REQ **req, EVP_PKEY **pk,
    char *why, size_t whylen)
{
	enum est_csr_status st = EST_CSR_BAD_BASE64;
	unsigned char *der = NULL;
	size_t derlen = 0;

	*req = NULL;
	*pk = NULL;
	if (est_csr_der(body, len, &der, &derlen, why, whylen) != 0)
		goto out;
	if (est_csr_fast(der, derlen, req, pk, why, whylen) == 0) {
		st = EST_CSR_OK;
		goto out;
	}
	/* The general reader decides, and says why. */
	if ((*req = est_csr_d2i(der, derlen, &st, why, whylen)) == NULL)
		goto out;
	if ((st = est_csr_check(*req, why, whylen)) != EST_CSR_OK ||
	    (*pk = X509_REQ_get0_pubkey(*req)) == NULL ||
	    EVP_PKEY_up_ref(*pk) != 1) {
		if (st == EST_CSR_OK) {
			st = EST_CSR_NOT_CSR;
			est_why(why, whylen, "out of memory");
		}
		*pk = NULL;
		X509_REQ_free(*req);
		*req = NULL;
	}
out:
	free(der);
	return st;
}

/* Lowercase hex SHA-256 of the CSR's SubjectPublicKeyInfo DER, the ledger's
 * key id.  The parsed structure is re-encoded (i2d_X509_PUBKEY), not the
 * EVP_PKEY (i2d_PUBKEY): the same DER for every conforming encoder, without
 * OpenSSL 3.0's per-call encoder setup. */
int
est_csr_key_id(X509_REQ *req, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	X509_PUBKEY *spki;
	int derlen, rc = -1;

	if (req == NULL || out == NULL ||
	    (spki = X509_REQ_get_X509_PUBKEY(req)) == NULL)
		goto out;
	if ((derlen = i2d_X509_PUBKEY(spki, &der)) <= 0)
		goto out;
	if (EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen * 2 + 1 > 65)
		goto out;
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * mdlen] = '\0';
	rc = 0;
out:
	OPENSSL_free(der);
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

/* One GeneralName into n: DNS (lowercased) or IP (printable). */
static int
est_csr_add_name(const GENERAL_NAME *gn, struct est_names *n)
{
	const unsigned char *d;
	int len, i, af;

	if (n->ndns + n->nip >= EST_MAX_NAMES)
		return -1;
	switch (gn->type) {
	case GEN_DNS:
		d = ASN1_STRING_get0_data(gn->d.dNSName);
		len = ASN1_STRING_length(gn->d.dNSName);
		if (d == NULL || len <= 0 || len > EST_NAME_MAX)
			return -1;
		for (i = 0; i < len; i++) {
			/* Printable ASCII only: the name ends up in reasons
			 * and logs, and an IA5String may hold controls. */
			if (d[i] <= ' ' || d[i] > '~')
				return -1;
			n->dns[n->ndns][i] = (char)tolower(d[i]);
		}
		n->dns[n->ndns][len] = '\0';
		n->ndns++;
		return 0;
	case GEN_IPADD:
		d = ASN1_STRING_get0_data(gn->d.iPAddress);
		len = ASN1_STRING_length(gn->d.iPAddress);
		if (len == EST_CSR_IPV4_LEN)
			af = AF_INET;
		else if (len == EST_CSR_IPV6_LEN)
			af = AF_INET6;
		else
			return -1;
		if (inet_ntop(af, d, n->ip[n->nip], sizeof(n->ip[0])) == NULL)
			return -1;
		n->nip++;
		return 0;
	default:
		return -1;	/* email, URI, otherName...: never granted */
	}
}

/* DNS and IP names of the subjectAltName extension request; see est.h. */
int
est_csr_names(X509_REQ *req, struct est_names *n)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	int crit = -1, i, rc = -1;

	if (n == NULL)
		return -1;
	memset(n, 0, sizeof(*n));
	if (req == NULL)
		goto out;
	/* PKCS#9 extensionRequest (RFC 2985 5.4.2). */
	if ((exts = X509_REQ_get_extensions(req)) == NULL) {
		/* NULL means "none" or "unreadable": tell them apart. */
		if (X509_REQ_get_attr_by_NID(req, NID_ext_req, -1) >= 0)
			goto out;
		rc = 0;
		goto out;
	}
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		rc = crit == -1 ? 0 : -1;	/* absent; or twice, or bad */
		goto out;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		if (est_csr_add_name(sk_GENERAL_NAME_value(gens, i), n) != 0)
			goto out;
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (rc != 0) {
		memset(n, 0, sizeof(*n));
		ERR_clear_error();
	}
	return rc;
}
