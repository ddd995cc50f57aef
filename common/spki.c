/*
 * spki.c: EC P-256 and P-384 public keys read without OpenSSL 3.0's
 * decoder chain (common/spki.h), for the CSRs EST reads (est/csr.c) and
 * the keys the ledger registers (ledger/rules.c).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/params.h>

#include "common/spki.h"

/* SubjectPublicKeyInfo (RFC 5280 4.1), X509_PUBKEY's fields as a plain
 * template: its key stays bytes (X509_PUBKEY's d2i decodes it). */
struct spki_raw {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
};

typedef struct spki_raw SPKI_RAW;

ASN1_SEQUENCE(SPKI_RAW) = {
	ASN1_SIMPLE(SPKI_RAW, alg, X509_ALGOR),
	ASN1_SIMPLE(SPKI_RAW, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(SPKI_RAW)

/*
 * The two groups, as parameters-only keys made once.  EVP_PKEY_fromdata
 * with a group name builds the EC_GROUP anew for every key, Montgomery
 * constants and all (BN_mod_inverse): 12% of a CSR's check on the
 * enrollment workers (perf, issue 18).  A key duplicated from one of
 * these shares the group's constants; its point goes through the same
 * EC_KEY_oct2key (on the curve, or refused) as with fromdata.  Set once
 * under pthread_once, read-only after.
 */
static pthread_once_t spki_groups_once = PTHREAD_ONCE_INIT;
static EVP_PKEY *spki_group_p256, *spki_group_p384;

static EVP_PKEY *
spki_group_new(const char *name)
{
	OSSL_PARAM prm[2];
	EVP_PKEY_CTX *c;
	EVP_PKEY *pk = NULL;

	prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)name, 0);
	prm[1] = OSSL_PARAM_construct_end();
	if ((c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(c) != 1 || EVP_PKEY_fromdata(c, &pk,
	    EVP_PKEY_KEY_PARAMETERS, prm) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return pk;
}

static void
spki_groups_init(void)
{
	/* NULL on failure: spki_ec_key then builds each key alone */
	spki_group_p256 = spki_group_new(SN_X9_62_prime256v1);
	spki_group_p384 = spki_group_new(SN_secp384r1);
}

/* A public key on group tmpl's curve from the uncompressed point
 * pt[0..len), or NULL (not on the curve, or out of memory). */
static EVP_PKEY *
spki_key_on(const EVP_PKEY *tmpl, const unsigned char *pt, size_t len)
{
	EVP_PKEY *pk;

	if ((pk = EVP_PKEY_dup((EVP_PKEY *)tmpl)) != NULL &&
	    EVP_PKEY_set1_encoded_public_key(pk, pt, len) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

/* See spki.h. */
EVP_PKEY *
spki_ec_key(const X509_ALGOR *alg, const ASN1_BIT_STRING *bits)
{
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *pk = NULL;
	const EVP_PKEY *tmpl;
	OSSL_PARAM prm[3];
	int ptype = V_ASN1_UNDEF, curve, plen;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (OBJ_obj2nid(obj) != NID_X9_62_id_ecPublicKey ||
	    ptype != V_ASN1_OBJECT)
		return NULL;
	curve = OBJ_obj2nid(pval);
	plen = curve == NID_X9_62_prime256v1 ? 65 :
	    curve == NID_secp384r1 ? 97 : 0;
	if (plen == 0 || bits->length != plen || bits->data[0] != 0x04 ||
	    ((bits->flags & ASN1_STRING_FLAG_BITS_LEFT) != 0 &&
	    (bits->flags & 0x07) != 0))
		return NULL;
	pthread_once(&spki_groups_once, spki_groups_init);
	tmpl = curve == NID_X9_62_prime256v1 ? spki_group_p256 :
	    spki_group_p384;
	if (tmpl != NULL)
		return spki_key_on(tmpl, bits->data, (size_t)plen);
	prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)OBJ_nid2sn(curve), 0);
	prm[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    bits->data, (size_t)plen);
	prm[2] = OSSL_PARAM_construct_end();
	if ((c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, prm) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	EVP_PKEY_CTX_free(c);
	return pk;
}

/* See spki.h.  DER is distinguished: one value, one encoding.  The
 * template's own encoding of what it read is that encoding, so a BER
 * variant (a long-form length, say) re-encodes to other bytes and is
 * left to the slow path, which refuses it. */
EVP_PKEY *
spki_ec_read(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	unsigned char *again = NULL;
	struct spki_raw *t;
	EVP_PKEY *pk = NULL;
	int n;

	if (len == 0 || len > 1024)
		return NULL;
	if ((t = (struct spki_raw *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(SPKI_RAW))) != NULL && p == der + len &&
	    (n = ASN1_item_i2d((ASN1_VALUE *)t, &again,
	    ASN1_ITEM_rptr(SPKI_RAW))) > 0 && (size_t)n == len &&
	    memcmp(again, der, len) == 0)
		pk = spki_ec_key(t->alg, t->key);
	OPENSSL_free(again);
	ASN1_item_free((ASN1_VALUE *)t, ASN1_ITEM_rptr(SPKI_RAW));
	ERR_clear_error();
	return pk;
}
