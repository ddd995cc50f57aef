/*
 * p11make.c: putting keys into a PKCS#11 token, for `keybridge init
 * --pkcs11-*` and `keybridge ca move-to-token`.
 *
 * libp11 0.4.12 can generate RSA keys only and stores keys without
 * CKA_EXTRACTABLE, so this file speaks PKCS#11 itself, through the
 * module's function list as p11-kit loads it (p11_kit_module_load; the
 * types from p11-kit's pkcs11.h).  Every private key it makes or imports
 * is CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true and CKA_EXTRACTABLE false
 * (PKCS#11 v2.40 4.9: once so, neither can be undone), may only sign,
 * and gets a public key object beside it with the same CKA_LABEL and
 * CKA_ID (libp11 builds the EVP_PKEY's public half from it).
 *
 * The session is closed and the module finalised before anything loads
 * the keys back through libp11 (p11load.c): the two never hold the
 * module at the same time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "bridge/ca/ca.h"

#define P11MAKE_LABEL_LEN	32	/* CK_TOKEN_INFO label, blank padded */
#define P11MAKE_RSA_BITS	3072
#define P11MAKE_EC_PARAMS_MAX	16	/* DER OID of P-256: 10 bytes */
#define P11MAKE_POINT_MAX	133	/* uncompressed P-521 point */
#define P11MAKE_RSA_E		0x01, 0x00, 0x01	/* 65537 */
#define P11MAKE_ATTRS		16
#define P11MAKE_RSA_PARTS	8

struct p11make {
	CK_FUNCTION_LIST *fl;
	CK_SESSION_HANDLE sh;
	int open;			/* sh is a session */
	char label[P11MAKE_LABEL_LEN + 1];	/* the token's, trimmed */
};

/* Sets err to what, the module's return value and its CKR_ name. */
static void
p11make_rv(char *err, size_t errlen, const char *what, CK_RV rv)
{
	const char *name = "";

	switch (rv) {
	case CKR_PIN_INCORRECT: name = " CKR_PIN_INCORRECT: wrong PIN"; break;
	case CKR_PIN_LOCKED: name = " CKR_PIN_LOCKED: the PIN is locked";
		break;
	case CKR_USER_PIN_NOT_INITIALIZED: name = " CKR_USER_PIN_NOT_"
		"INITIALIZED: the token has no user PIN"; break;
	case CKR_TEMPLATE_INCONSISTENT: name = " CKR_TEMPLATE_INCONSISTENT";
		break;
	case CKR_ATTRIBUTE_VALUE_INVALID: name = " CKR_ATTRIBUTE_VALUE_"
		"INVALID"; break;
	case CKR_MECHANISM_INVALID: name = " CKR_MECHANISM_INVALID: the "
		"token cannot make this key type"; break;
	case CKR_TOKEN_WRITE_PROTECTED: name = " CKR_TOKEN_WRITE_PROTECTED";
		break;
	default: break;
	}
	snprintf(err, errlen, "%s: PKCS#11 error 0x%08lx%s", what,
	    (unsigned long)rv, name);
}

/* See ca.h. */
struct p11make *
p11make_open(const char *module, const char *token, const char *pin,
    char *err, size_t errlen)
{
	struct p11make *m;
	CK_SLOT_ID *slots = NULL;
	CK_TOKEN_INFO ti;
	CK_ULONG i, n = 0;
	unsigned char want[P11MAKE_LABEL_LEN];
	size_t len = strlen(token);
	CK_RV rv;
	int found = 0;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (len == 0 || len > P11MAKE_LABEL_LEN) {
		snprintf(err, errlen, "the token label must have 1 to %d "
		    "bytes", P11MAKE_LABEL_LEN);
		goto fail;
	}
	memset(want, ' ', sizeof(want));
	memcpy(want, token, len);
	/* Unmanaged: this process alone, no p11-kit proxy in between. */
	if ((m->fl = p11_kit_module_load(module,
	    P11_KIT_MODULE_UNMANAGED)) == NULL) {
		snprintf(err, errlen, "cannot load the PKCS#11 module %s: %s",
		    module, p11_kit_message() != NULL ? p11_kit_message() :
		    "no such module");
		goto fail;
	}
	if ((rv = p11_kit_module_initialize(m->fl)) != CKR_OK) {
		p11make_rv(err, errlen, "C_Initialize", rv);
		p11_kit_module_release(m->fl);
		m->fl = NULL;
		goto fail;
	}
	if ((rv = m->fl->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK ||
	    (slots = calloc(n + 1, sizeof(*slots))) == NULL ||
	    (rv = m->fl->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		p11make_rv(err, errlen, "C_GetSlotList", rv);
		goto fail;
	}
	for (i = 0; i < n && !found; i++)
		if (m->fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    (ti.flags & CKF_TOKEN_INITIALIZED) &&
		    memcmp(ti.label, want, sizeof(want)) == 0)
			found = 1;
	if (!found) {
		snprintf(err, errlen, "no token labelled \"%s\" in PKCS#11 "
		    "module %s (list them: pkcs11-tool --module %s -L)", token,
		    module, module);
		goto fail;
	}
	if ((rv = m->fl->C_OpenSession(slots[i - 1], CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &m->sh)) != CKR_OK) {
		p11make_rv(err, errlen, "C_OpenSession", rv);
		goto fail;
	}
	m->open = 1;
	if ((rv = m->fl->C_Login(m->sh, CKU_USER, (CK_UTF8CHAR *)pin,
	    strlen(pin))) != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		p11make_rv(err, errlen, "cannot log in to the token", rv);
		goto fail;
	}
	snprintf(m->label, sizeof(m->label), "%s", token);
	free(slots);
	return m;
fail:
	free(slots);
	p11make_close(m);
	return NULL;
}

/* See ca.h. */
void
p11make_close(struct p11make *m)
{
	if (m == NULL)
		return;
	if (m->open) {
		m->fl->C_Logout(m->sh);
		m->fl->C_CloseSession(m->sh);
	}
	if (m->fl != NULL) {
		p11_kit_module_finalize(m->fl);
		p11_kit_module_release(m->fl);
	}
	free(m);
}

/* See ca.h. */
int
p11make_count(struct p11make *m, const char *label, int *count, char *err,
    size_t errlen)
{
	CK_ATTRIBUTE a = { CKA_LABEL, (void *)label, strlen(label) };
	CK_OBJECT_HANDLE h[4];
	CK_ULONG n;
	CK_RV rv;

	*count = 0;
	if ((rv = m->fl->C_FindObjectsInit(m->sh, &a, 1)) != CKR_OK) {
		p11make_rv(err, errlen, "C_FindObjectsInit", rv);
		return -1;
	}
	do {
		if ((rv = m->fl->C_FindObjects(m->sh, h, 4, &n)) != CKR_OK) {
			p11make_rv(err, errlen, "C_FindObjects", rv);
			m->fl->C_FindObjectsFinal(m->sh);
			return -1;
		}
		*count += (int)n;
	} while (n > 0);
	m->fl->C_FindObjectsFinal(m->sh);
	return 0;
}

/* The DER of the named curve's OID (CKA_EC_PARAMS, PKCS#11 v2.40
 * 2.3.3: ecParameters namedCurve), from OpenSSL.  Its length or -1. */
static int
p11make_ec_params(int nid, unsigned char out[P11MAKE_EC_PARAMS_MAX])
{
	unsigned char *p = out;
	ASN1_OBJECT *oid = OBJ_nid2obj(nid);
	int len;

	if (oid == NULL || (len = i2d_ASN1_OBJECT(oid, NULL)) <= 0 ||
	    len > P11MAKE_EC_PARAMS_MAX)
		return -1;
	return i2d_ASN1_OBJECT(oid, &p);
}

/* A CK_BBOOL attribute of a template. */
struct p11make_bool {
	CK_ATTRIBUTE_TYPE type;
	int on;
};

/* The private key's protection: on the token, private, sensitive, not
 * extractable, signs and does nothing else. */
static const struct p11make_bool p11make_priv_bools[] = {
	{ CKA_TOKEN, 1 }, { CKA_PRIVATE, 1 }, { CKA_SENSITIVE, 1 },
	{ CKA_EXTRACTABLE, 0 }, { CKA_SIGN, 1 }, { CKA_DECRYPT, 0 },
	{ CKA_UNWRAP, 0 }, { CKA_DERIVE, 0 },
};
/* The public key only verifies (SoftHSM2 would default encrypt, wrap). */
static const struct p11make_bool p11make_pub_bools[] = {
	{ CKA_TOKEN, 1 }, { CKA_VERIFY, 1 }, { CKA_ENCRYPT, 0 },
	{ CKA_WRAP, 0 },
};

/* Appends the class, key type, label, id and flags f[0..nf) of one half
 * of a key pair to a[0..*n). */
static void
p11make_half(CK_ATTRIBUTE *a, CK_ULONG *n, CK_OBJECT_CLASS *cls,
    CK_KEY_TYPE *kt, const char *label, const unsigned char *id,
    size_t idlen, const struct p11make_bool *f, size_t nf)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

	a[(*n)++] = (CK_ATTRIBUTE){ CKA_CLASS, cls, sizeof(*cls) };
	a[(*n)++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, kt, sizeof(*kt) };
	a[(*n)++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	a[(*n)++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, idlen };
	for (size_t i = 0; i < nf; i++)
		a[(*n)++] = (CK_ATTRIBUTE){ f[i].type, f[i].on ? &yes : &no,
		    sizeof(CK_BBOOL) };
}

/* The templates of a new key pair (generated or imported), up to its
 * key material: pub[0..*npub) and priv[0..*npriv). */
static void
p11make_pair(CK_ATTRIBUTE *pub, CK_ULONG *npub, CK_ATTRIBUTE *priv,
    CK_ULONG *npriv, int rsa, const char *label, const unsigned char *id,
    size_t idlen)
{
	static CK_OBJECT_CLASS pubc = CKO_PUBLIC_KEY, privc = CKO_PRIVATE_KEY;
	static CK_KEY_TYPE kec = CKK_EC, krsa = CKK_RSA;

	*npub = *npriv = 0;
	p11make_half(pub, npub, &pubc, rsa ? &krsa : &kec, label, id, idlen,
	    p11make_pub_bools, sizeof(p11make_pub_bools) /
	    sizeof(p11make_pub_bools[0]));
	p11make_half(priv, npriv, &privc, rsa ? &krsa : &kec, label, id,
	    idlen, p11make_priv_bools, sizeof(p11make_priv_bools) /
	    sizeof(p11make_priv_bools[0]));
}

/* See ca.h. */
int
p11make_generate(struct p11make *m, const char *key_type, const char *label,
    const unsigned char *id, size_t idlen, char *err, size_t errlen)
{
	static CK_BYTE e[] = { P11MAKE_RSA_E };
	CK_ULONG bits = P11MAKE_RSA_BITS, npub = 0, npriv = 0;
	CK_ATTRIBUTE pub[P11MAKE_ATTRS], priv[P11MAKE_ATTRS];
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_OBJECT_HANDLE hpub, hpriv;
	unsigned char params[P11MAKE_EC_PARAMS_MAX];
	int rsa = strcmp(key_type, "rsa-3072") == 0, plen;
	CK_RV rv;

	if (!rsa && strcmp(key_type, "ec-p256") != 0) {
		snprintf(err, errlen, "unknown key type \"%.32s\" (ec-p256 or "
		    "rsa-3072)", key_type);
		return -1;
	}
	p11make_pair(pub, &npub, priv, &npriv, rsa, label, id, idlen);
	if (rsa) {
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		pub[npub++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits,
		    sizeof(bits) };
		pub[npub++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, e,
		    sizeof(e) };
	} else {
		if ((plen = p11make_ec_params(NID_X9_62_prime256v1,
		    params)) <= 0) {
			snprintf(err, errlen, "cannot encode the P-256 OID");
			return -1;
		}
		pub[npub++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, params,
		    (CK_ULONG)plen };
	}
	if ((rv = m->fl->C_GenerateKeyPair(m->sh, &mech, pub, npub, priv,
	    npriv, &hpub, &hpriv)) != CKR_OK) {
		p11make_rv(err, errlen, "C_GenerateKeyPair", rv);
		return -1;
	}
	return 0;
}

/* Big-endian bytes of BIGNUM parameter name of key, padded to len (0:
 * its own length) into a new OPENSSL_secure buffer.  NULL on error. */
static unsigned char *
p11make_bn(EVP_PKEY *key, const char *name, int len, CK_ULONG *outlen)
{
	BIGNUM *bn = NULL;
	unsigned char *buf = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
		return NULL;
	n = len > 0 ? len : BN_num_bytes(bn);
	if (n <= 0 || (buf = OPENSSL_secure_malloc((size_t)n)) == NULL ||
	    BN_bn2binpad(bn, buf, n) != n) {
		OPENSSL_secure_free(buf);
		buf = NULL;
	} else
		*outlen = (CK_ULONG)n;
	BN_clear_free(bn);
	return buf;
}

/* Creates the private then the public object of a key pair from their
 * templates.  0, or -1 with err. */
static int
p11make_create_pair(struct p11make *m, CK_ATTRIBUTE *priv, CK_ULONG npriv,
    CK_ATTRIBUTE *pub, CK_ULONG npub, char *err, size_t errlen)
{
	CK_OBJECT_HANDLE h;
	CK_RV rv;

	if ((rv = m->fl->C_CreateObject(m->sh, priv, npriv, &h)) != CKR_OK ||
	    (rv = m->fl->C_CreateObject(m->sh, pub, npub, &h)) != CKR_OK) {
		p11make_rv(err, errlen, "C_CreateObject", rv);
		return -1;
	}
	return 0;
}

/* Imports the private and public halves of an RSA key.  0 or -1. */
static int
p11make_put_rsa(struct p11make *m, EVP_PKEY *key, CK_ATTRIBUTE *priv,
    CK_ULONG npriv, CK_ATTRIBUTE *pub, CK_ULONG npub, char *err,
    size_t errlen)
{
	static const struct { CK_ATTRIBUTE_TYPE t; const char *p; } part[] = {
		{ CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N },
		{ CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E },
		{ CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D },
		{ CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1 },
		{ CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2 },
		{ CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1 },
		{ CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2 },
		{ CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
	};
	CK_ATTRIBUTE vals[P11MAKE_RSA_PARTS];
	size_t i;
	int rc = -1;

	memset(vals, 0, sizeof(vals));
	for (i = 0; i < P11MAKE_RSA_PARTS; i++) {
		vals[i].type = part[i].t;
		if ((vals[i].pValue = p11make_bn(key, part[i].p, 0,
		    &vals[i].ulValueLen)) == NULL) {
			snprintf(err, errlen, "the RSA key lacks a CRT part");
			goto out;
		}
		priv[npriv++] = vals[i];
	}
	pub[npub++] = vals[0];
	pub[npub++] = vals[1];
	if (p11make_create_pair(m, priv, npriv, pub, npub, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	for (i = 0; i < P11MAKE_RSA_PARTS; i++)
		if (vals[i].pValue != NULL) {
			OPENSSL_cleanse(vals[i].pValue, vals[i].ulValueLen);
			OPENSSL_secure_free(vals[i].pValue);
		}
	return rc;
}

/* Imports the private and public halves of a P-256 key.  0 or -1. */
static int
p11make_put_ec(struct p11make *m, EVP_PKEY *key, CK_ATTRIBUTE *priv,
    CK_ULONG npriv, CK_ATTRIBUTE *pub, CK_ULONG npub, char *err,
    size_t errlen)
{
	unsigned char params[P11MAKE_EC_PARAMS_MAX], pt[P11MAKE_POINT_MAX];
	unsigned char *d = NULL, *der = NULL;
	ASN1_OCTET_STRING *os = NULL;
	CK_ULONG dlen = 0;
	size_t ptlen = 0;
	int plen, derlen, rc = -1;

	if ((plen = p11make_ec_params(NID_X9_62_prime256v1, params)) <= 0 ||
	    (d = p11make_bn(key, OSSL_PKEY_PARAM_PRIV_KEY,
	    (EVP_PKEY_get_bits(key) + 7) / 8, &dlen)) == NULL ||
	    EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    sizeof(pt), &ptlen) != 1 ||
	    (os = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(os, pt, (int)ptlen) != 1 ||
	    (derlen = i2d_ASN1_OCTET_STRING(os, &der)) <= 0) {
		snprintf(err, errlen, "cannot read the P-256 key's parts");
		goto out;
	}
	priv[npriv++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, params, (CK_ULONG)plen };
	priv[npriv++] = (CK_ATTRIBUTE){ CKA_VALUE, d, dlen };
	pub[npub++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, params, (CK_ULONG)plen };
	/* PKCS#11 v2.40 2.3.3: CKA_EC_POINT is the DER of an OCTET STRING
	 * holding the X9.62 point. */
	pub[npub++] = (CK_ATTRIBUTE){ CKA_EC_POINT, der, (CK_ULONG)derlen };
	if (p11make_create_pair(m, priv, npriv, pub, npub, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (d != NULL) {
		OPENSSL_cleanse(d, dlen);
		OPENSSL_secure_free(d);
	}
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(os);
	ERR_clear_error();
	return rc;
}

/* See ca.h. */
int
p11make_import(struct p11make *m, EVP_PKEY *key, const char *label,
    const unsigned char *id, size_t idlen, char *err, size_t errlen)
{
	CK_ATTRIBUTE pub[P11MAKE_ATTRS + P11MAKE_RSA_PARTS];
	CK_ATTRIBUTE priv[P11MAKE_ATTRS + P11MAKE_RSA_PARTS];
	CK_ULONG npub = 0, npriv = 0;
	char group[32];
	int rsa = EVP_PKEY_is_a(key, "RSA") == 1;

	if (!rsa && !(EVP_PKEY_is_a(key, "EC") == 1 &&
	    EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) == 1 &&
	    strcmp(group, SN_X9_62_prime256v1) == 0)) {
		snprintf(err, errlen, "only RSA and ECDSA P-256 keys can move "
		    "into a token (libp11 0.4.12 has no EdDSA)");
		ERR_clear_error();
		return -1;
	}
	p11make_pair(pub, &npub, priv, &npriv, rsa, label, id, idlen);
	if (rsa)
		return p11make_put_rsa(m, key, priv, npriv, pub, npub, err,
		    errlen);
	return p11make_put_ec(m, key, priv, npriv, pub, npub, err, errlen);
}

/* See ca.h. */
int
p11make_uri(const struct p11make *m, const char *label, char *out,
    size_t outlen)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE a[2] = {
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_CLASS, &cls, sizeof(cls) },
	};
	CK_TOKEN_INFO *ti;
	P11KitUri *uri;
	char *s = NULL;
	size_t n = strlen(m->label);
	int rc = -1;

	if ((uri = p11_kit_uri_new()) == NULL)
		return -1;
	ti = p11_kit_uri_get_token_info(uri);
	memset(ti->label, ' ', sizeof(ti->label));
	memcpy(ti->label, m->label, n < sizeof(ti->label) ? n :
	    sizeof(ti->label));
	if (p11_kit_uri_set_attribute(uri, &a[0]) != P11_KIT_URI_OK ||
	    p11_kit_uri_set_attribute(uri, &a[1]) != P11_KIT_URI_OK ||
	    p11_kit_uri_format(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &s) !=
	    P11_KIT_URI_OK)
		goto out;
	if ((size_t)snprintf(out, outlen, "%s", s) < outlen)
		rc = 0;
out:
	free(s);
	p11_kit_uri_free(uri);
	return rc;
}

/* See ca.h. */
int
p11make_new_id(unsigned char id[CA_TOKEN_ID_LEN])
{
	return RAND_bytes(id, CA_TOKEN_ID_LEN) == 1 ? 0 : -1;
}

/* See ca.h. */
int
p11make_uri_token(const char *text, char *label, size_t labellen)
{
	CK_TOKEN_INFO *ti;
	P11KitUri *uri;
	size_t n;
	int rc = -1;

	if ((uri = p11_kit_uri_new()) == NULL)
		return -1;
	if (p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, uri) !=
	    P11_KIT_URI_OK || (ti = p11_kit_uri_get_token_info(uri)) == NULL)
		goto out;
	/* CK_TOKEN_INFO's label: blank-padded, not NUL-terminated. */
	for (n = sizeof(ti->label); n > 0 && ti->label[n - 1] == ' '; n--)
		;
	if (n == 0 || n >= labellen)
		goto out;
	memcpy(label, ti->label, n);
	label[n] = '\0';
	rc = 0;
out:
	p11_kit_uri_free(uri);
	return rc;
}
