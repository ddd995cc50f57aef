/*
 * csrattrs.c: the CSR attributes answer (RFC 7030 4.5.2), which tells a
 * client what to put in its request:
 *
 *   CsrAttrs  ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID
 *   AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }
 *
 * The types are OpenSSL ASN.1 templates (docs/design.md: no hand-written DER),
 * so the same definitions encode here and decode in the tests.  What a
 * profile asks for:
 *   - ecdsa-with-SHA256, and an id-ecPublicKey attribute whose value is
 *     secp256r1 (the form of RFC 7030 4.5.2's example): a P-256 key signed
 *     with SHA-256 is preferred;
 *   - sha256WithRSAEncryption: RSA keys are accepted too (csr.c's policy);
 *   - server only: the subjectAltName OID, as the names are wanted;
 *   - device only: id-Ed25519 (RFC 8410), an Ed25519 key is accepted too.
 */
#include <stdlib.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "est/est.h"
#include "est/est_int.h"

/*
 * OpenSSL's template macros build their names from a typedef name
 * (EST_ATTR_OR_OID_new, EST_CSRATTRS_it, ...), hence these two typedefs
 * despite STYLE.md's "struct, not typedef"; the EST_ prefix keeps them out
 * of OpenSSL's namespace, and the static_ variants keep them inside this
 * file (nothing outside needs more than est_csrattrs_b64).
 */
#define EST_ATTR_OR_OID_OID  0	/* CHOICE arms, in template order */
#define EST_ATTR_OR_OID_ATTR 1

typedef struct est_attr_or_oid {
	int type;
	union {
		ASN1_OBJECT *oid;
		X509_ATTRIBUTE *attribute;
	} value;
} EST_ATTR_OR_OID;

DEFINE_STACK_OF(EST_ATTR_OR_OID)
typedef STACK_OF(EST_ATTR_OR_OID) EST_CSRATTRS;

/* Both arms are untagged: an OID and a SEQUENCE differ by universal tag. */
ASN1_CHOICE(EST_ATTR_OR_OID) = {
	ASN1_SIMPLE(EST_ATTR_OR_OID, value.oid, ASN1_OBJECT),
	ASN1_SIMPLE(EST_ATTR_OR_OID, value.attribute, X509_ATTRIBUTE),
} static_ASN1_CHOICE_END(EST_ATTR_OR_OID)

IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(EST_ATTR_OR_OID)

ASN1_ITEM_TEMPLATE(EST_CSRATTRS) =
	ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, CsrAttrs,
	    EST_ATTR_OR_OID)
static_ASN1_ITEM_TEMPLATE_END(EST_CSRATTRS)

IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(EST_CSRATTRS)

/* Appends the OID arm for nid; 0 or -1. */
static int
est_csrattrs_add_oid(EST_CSRATTRS *attrs, int nid)
{
	EST_ATTR_OR_OID *a = NULL;
	int rc = -1;

	if ((a = EST_ATTR_OR_OID_new()) == NULL)
		goto out;
	a->type = EST_ATTR_OR_OID_OID;
	if ((a->value.oid = OBJ_nid2obj(nid)) == NULL)
		goto out;
	if (sk_EST_ATTR_OR_OID_push(attrs, a) <= 0)
		goto out;
	a = NULL;		/* owned by attrs */
	rc = 0;
out:
	EST_ATTR_OR_OID_free(a);
	return rc;
}

/* Appends the attribute arm: type nid, one value, the OID of vnid. */
static int
est_csrattrs_add_attr(EST_CSRATTRS *attrs, int nid, int vnid)
{
	EST_ATTR_OR_OID *a = NULL;
	ASN1_OBJECT *v = NULL;
	int rc = -1;

	if ((a = EST_ATTR_OR_OID_new()) == NULL)
		goto out;
	a->type = EST_ATTR_OR_OID_ATTR;
	if ((v = OBJ_nid2obj(vnid)) == NULL)
		goto out;
	/* X509_ATTRIBUTE_create takes v (set0) on success. */
	if ((a->value.attribute = X509_ATTRIBUTE_create(nid, V_ASN1_OBJECT,
	    v)) == NULL)
		goto out;
	if (sk_EST_ATTR_OR_OID_push(attrs, a) <= 0)
		goto out;
	a = NULL;
	rc = 0;
out:
	EST_ATTR_OR_OID_free(a);
	return rc;
}

/* The CsrAttrs of profile p, base64 lines; see est.h. */
char *
est_csrattrs_b64(enum est_profile p, size_t *len)
{
	EST_CSRATTRS *attrs = NULL;
	unsigned char *der = NULL;
	char *b64 = NULL;
	int derlen;

	if (p != EST_PROFILE_DEVICE && p != EST_PROFILE_SERVER &&
	    p != EST_PROFILE_ADMIN)
		goto out;
	if ((attrs = EST_CSRATTRS_new()) == NULL)
		goto out;
	if (est_csrattrs_add_oid(attrs, NID_ecdsa_with_SHA256) != 0 ||
	    est_csrattrs_add_attr(attrs, NID_X9_62_id_ecPublicKey,
	    NID_X9_62_prime256v1) != 0 ||
	    est_csrattrs_add_oid(attrs, NID_sha256WithRSAEncryption) != 0)
		goto out;
	if (p == EST_PROFILE_SERVER &&
	    est_csrattrs_add_oid(attrs, NID_subject_alt_name) != 0)
		goto out;
	/* RFC 8410 3: id-Ed25519 names the key and the signature; only the
	 * device profile issues for it (issue_build). */
	if (p == EST_PROFILE_DEVICE &&
	    est_csrattrs_add_oid(attrs, NID_ED25519) != 0)
		goto out;
	if ((derlen = ASN1_item_i2d((const ASN1_VALUE *)attrs, &der,
	    ASN1_ITEM_rptr(EST_CSRATTRS))) <= 0)
		goto out;
	b64 = est_b64_lines(der, (size_t)derlen, len, EST_EOL_BODY);
out:
	if (b64 == NULL)
		ERR_clear_error();
	OPENSSL_free(der);
	EST_CSRATTRS_free(attrs);
	return b64;
}
