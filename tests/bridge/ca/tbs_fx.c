/*
 * tbs_fx.c: the TBSCertificates of tbs_fx.h.  A case is built in four
 * steps: the issue parameters and the registration (the want), where a
 * case may make the certificate's inputs differ from the registration;
 * issue_build; OpenSSL calls on the certificate; ca_tbs_der, then byte
 * edits for the cases no OpenSSL call can make (non-DER encodings).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tests/bridge/ca/pki_fx.h"
#include "tests/bridge/ca/tbs_fx.h"

#define FX_DAY		(24L * 60 * 60)
#define FX_ERRLEN	512
#define FX_RSA_BITS	2048
#define FX_OCSP_URL	"http://bridge.example:8080/ocsp"
#define FX_CAISSUERS_URL "http://bridge.example:8080/ca/issuing.der"
#define FX_CRL_URL	"http://bridge.example:8080/crl/00ff.crl"
#define FX_OTHER_URL	"http://evil.example/x"
#define FX_AHEAD	120	/* notBefore 2 minutes ahead */
#define FX_WINDOW_DAYS	10	/* a key window ending soon */
#define FX_SERIAL_4	0x12345678L
/* 20 octets with the top bit set: 21 content octets in DER. */
#define FX_SERIAL_21	"80112233445566778899AABBCCDDEEFF00112233"
#define FX_SERIAL_NEG	"-0123456789ABCDEF0123456789ABCDEF"

static const struct tbs_fx_info fx_info[TBS_FX_NCASES] = {
	[TBS_FX_GOOD_DEVICE_EC] = { "device, EC key", NULL },
	[TBS_FX_GOOD_SERVER_RSA] = { "server, RSA key", NULL },
	[TBS_FX_GOOD_ADMIN_NO_NAMES] = { "admin, no names", NULL },
	[TBS_FX_GOOD_RSA_ISSUER] = { "RSA issuing CA", NULL },
	[TBS_FX_GOOD_SPKI_COPIED] = { "SPKI copied as enroll does", NULL },
	[TBS_FX_GOOD_WINDOW_CAPPED] = { "notAfter at the key's window end",
	    NULL },
	[TBS_FX_VERSION_1] = { "version 1", "lint: version: v1" },
	[TBS_FX_VERSION_2] = { "version 2", "lint: version: v2" },
	[TBS_FX_SIGALG_RSA] = { "RSA algorithm, EC issuer",
	    "lint: signature: sha256WithRSAEncryption is not" },
	[TBS_FX_SIGALG_PARAMS] = { "ECDSA algorithm with NULL parameters",
	    "lint: signature: ecdsa-with-SHA256 is not" },
	[TBS_FX_SERIAL_ZERO] = { "serial 0", "lint: serial: zero" },
	[TBS_FX_SERIAL_NEGATIVE] = { "negative serial",
	    "lint: serial: negative" },
	[TBS_FX_SERIAL_21_OCTETS] = { "serial of 21 octets",
	    "lint: serial: 21 octets" },
	[TBS_FX_SERIAL_4_OCTETS] = { "serial of 4 octets",
	    "lint: serial: 4 octets" },
	[TBS_FX_ISSUER_OTHER] = { "the root as issuer",
	    "lint: issuer: not the issuing CA's subject" },
	[TBS_FX_NOT_BEFORE_AHEAD] = { "notBefore 2 minutes ahead",
	    "lint: validity: notBefore is 120 s ahead" },
	[TBS_FX_VALIDITY_TOO_LONG] = { "366 days for a device",
	    "lint: validity: longer than the device profile's" },
	[TBS_FX_BEFORE_KEY_WINDOW] = { "notBefore before the key's window",
	    "lint: validity: notBefore is before the key's window" },
	[TBS_FX_AFTER_KEY_WINDOW] = { "notAfter after the key's window",
	    "lint: validity: notAfter is after the key's window" },
	[TBS_FX_TIME_GENERALIZED] = { "GeneralizedTime before 2050",
	    "lint: validity: notAfter is a GeneralizedTime before 2050" },
	[TBS_FX_SUBJECT_OTHER_CN] = { "another CN",
	    "lint: subject: CN is not the registered name" },
	[TBS_FX_SUBJECT_EXTRA_RDN] = { "CN and O",
	    "lint: subject: 2 attributes, not CN alone" },
	[TBS_FX_SUBJECT_PRINTABLE] = { "CN as a PrintableString",
	    "lint: subject: CN is a PRINTABLESTRING" },
	[TBS_FX_SPKI_OTHER] = { "another key",
	    "lint: spki: not the registered key" },
	[TBS_FX_UNIQUE_ID] = { "an issuerUniqueID",
	    "lint: uid: issuerUniqueID present" },
	[TBS_FX_EXT_MISSING] = { "no SKI",
	    "lint: extensions: missing subjectKeyIdentifier" },
	[TBS_FX_EXT_DUPLICATE] = { "EKU twice",
	    "lint: extensions: extKeyUsage more than once" },
	[TBS_FX_EXT_EXTRA] = { "TLS feature (must-staple)",
	    "lint: extensions: unexpected TLS Feature" },
	[TBS_FX_SAN_EXTRA] = { "an unregistered DNS name",
	    "lint: subjectAltName: name 3 (DNS) is not a registered name" },
	[TBS_FX_SAN_MISSING] = { "a registered IP address left out",
	    "lint: subjectAltName: registered IP address 2001:db8::1 is "
	    "missing" },
	[TBS_FX_SAN_ABSENT] = { "no SAN for a registration with names",
	    "lint: extensions: missing subjectAltName" },
	[TBS_FX_SAN_UNREGISTERED] = { "a SAN for a registration without",
	    "lint: extensions: unexpected subjectAltName (the registration "
	    "has no names)" },
	[TBS_FX_BC_NOT_CRITICAL] = { "basicConstraints not critical",
	    "lint: basicConstraints: not critical" },
	[TBS_FX_BC_CA_TRUE] = { "CA:TRUE", "lint: basicConstraints: CA:TRUE" },
	[TBS_FX_KU_WRONG] = { "keyCertSign",
	    "lint: keyUsage: digitalSignature,keyCertSign, want "
	    "digitalSignature for an EC key" },
	[TBS_FX_KU_RSA_NO_KE] = { "RSA without keyEncipherment",
	    "lint: keyUsage: digitalSignature, want digitalSignature,"
	    "keyEncipherment for an RSA key" },
	[TBS_FX_KU_NOT_CRITICAL] = { "keyUsage not critical",
	    "lint: keyUsage: not critical" },
	[TBS_FX_KU_NOT_DER] = { "keyUsage with a trailing zero octet",
	    "lint: keyUsage: not in DER" },
	[TBS_FX_EKU_WRONG] = { "serverAuth for a device",
	    "lint: extKeyUsage: TLS Web Server Authentication, want "
	    "clientAuth" },
	[TBS_FX_EKU_TWO] = { "clientAuth and serverAuth",
	    "lint: extKeyUsage: 2 purposes, want clientAuth alone" },
	[TBS_FX_SKI_METHOD_2] = { "SKI by RFC 5280 method 2",
	    "lint: subjectKeyIdentifier: not the SHA-1 of the subject key" },
	[TBS_FX_SKI_CRITICAL] = { "SKI critical",
	    "lint: subjectKeyIdentifier: critical" },
	[TBS_FX_AKI_OTHER] = { "AKI of the root",
	    "lint: authorityKeyIdentifier: keyIdentifier is not the issuing "
	    "CA's" },
	[TBS_FX_AKI_ISSUER_SERIAL] = { "AKI with issuer and serial",
	    "lint: authorityKeyIdentifier: authorityCertIssuer or serial" },
	[TBS_FX_AIA_OCSP_URL] = { "another OCSP URL",
	    "lint: authorityInfoAccess: the OCSP URL is not the configured" },
	[TBS_FX_AIA_CA_ISSUERS_URL] = { "another caIssuers URL",
	    "lint: authorityInfoAccess: the caIssuers URL is not the "
	    "configured" },
	[TBS_FX_CDP_URL] = { "another CRL URL",
	    "lint: crlDistributionPoints: the URL is not the configured" },
	[TBS_FX_DER_BOOLEAN] = { "critical TRUE as 0x01",
	    "lint: der: basicConstraints's critical flag is not DER" },
	[TBS_FX_DER_LONG_LENGTH] = { "a long-form length",
	    "lint: der: not DER: re-encoding gives other bytes" },
	[TBS_FX_DER_TRAILING] = { "two bytes after the TBS",
	    "lint: der: 2 bytes after the TBSCertificate" },
	[TBS_FX_DER_EXT_VALUE] = { "CA:FALSE written out",
	    "lint: der: basicConstraints's value is not DER" },
	[TBS_FX_NOT_TBS] = { "a whole certificate",
	    "lint: der: not a TBSCertificate" },
};

/* See tbs_fx.h. */
const struct tbs_fx_info *
tbs_fx_info(enum tbs_fx_case c)
{
	return c >= 0 && c < TBS_FX_NCASES ? &fx_info[c] : NULL;
}

/* A self-signed RSA CA certificate with an SKI, as an issuer. */
static X509 *
fx_rsa_ca(EVP_PKEY *key, time_t now)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)"fx RSA CA", -1, -1, 0) !=
	    1 || X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), now - FX_DAY) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), now + 3650 * FX_DAY) ==
	    NULL || X509_set_pubkey(x, key) != 1)
		goto fail;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ex = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier,
	    "hash")) == NULL)
		goto fail;
	ok = X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	if (ok != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* See tbs_fx.h. */
int
tbs_fx_setup(struct tbs_fx *f)
{
	memset(f, 0, sizeof(*f));
	if (fx_pki_dir(&f->cfg, f->dir, "lint") != 0)
		return -1;
	f->now = time(NULL);
	f->ocsp_url = FX_OCSP_URL;
	f->ca_issuers_url = FX_CAISSUERS_URL;
	f->crl_url = FX_CRL_URL;
	f->root = fx_pki_pem(&f->cfg, f->cfg.ca_root, 0);
	f->iss = fx_pki_pem(&f->cfg, f->cfg.ca_issuing, 0);
	f->iss_key = fx_pki_pem(&f->cfg, f->cfg.ca_issuing_key, 1);
	f->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)FX_RSA_BITS);
	f->rsa_iss_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)FX_RSA_BITS);
	if (f->rsa_iss_key != NULL)
		f->rsa_iss = fx_rsa_ca(f->rsa_iss_key, f->now);
	return f->root != NULL && f->iss != NULL && f->iss_key != NULL &&
	    f->ec != NULL && f->other != NULL && f->rsa != NULL &&
	    f->rsa_iss != NULL ? 0 : -1;
}

/* See tbs_fx.h. */
void
tbs_fx_teardown(struct tbs_fx *f)
{
	if (f->dir[0] != '\0')
		fx_pki_rm(f->dir);
	X509_free(f->root);
	X509_free(f->iss);
	X509_free(f->rsa_iss);
	EVP_PKEY_free(f->iss_key);
	EVP_PKEY_free(f->rsa_iss_key);
	EVP_PKEY_free(f->ec);
	EVP_PKEY_free(f->other);
	EVP_PKEY_free(f->rsa);
	memset(f, 0, sizeof(*f));
}

static void
fx_names_sample(struct est_names *n)
{
	memset(n, 0, sizeof(*n));
	n->ndns = 2;
	snprintf(n->dns[0], sizeof(n->dns[0]), "%s", "dev1.example");
	snprintf(n->dns[1], sizeof(n->dns[1]), "%s", "*.dev1.example");
	n->nip = 2;
	snprintf(n->ip[0], sizeof(n->ip[0]), "%s", "10.0.0.7");
	snprintf(n->ip[1], sizeof(n->ip[1]), "%s", "2001:db8::1");
}

/*
 * The registration (t->want) and what the certificate is built from (ip,
 * its names in *cn): the same, but where case c makes them differ.
 */
static void
fx_params(const struct tbs_fx *f, enum tbs_fx_case c, struct tbs_fx_tbs *t,
    struct issue_params *ip, struct est_names *cn, EVP_PKEY **key)
{
	struct ca_lint_want *w = &t->want;

	fx_names_sample(&t->names);
	*w = (struct ca_lint_want){
		.issuer = f->iss, .profile = EST_PROFILE_DEVICE, .cn = "dev1",
		.names = &t->names, .now = f->now,
		.key_not_before = f->now - 30 * FX_DAY,
		.key_not_after = f->now + 3 * 365 * FX_DAY,
		.ocsp_url = f->ocsp_url, .ca_issuers_url = f->ca_issuers_url,
		.crl_url = f->crl_url,
	};
	*key = f->ec;
	t->sign_key = f->iss_key;
	switch (c) {
	case TBS_FX_GOOD_SERVER_RSA:
		w->profile = EST_PROFILE_SERVER;
		*key = f->rsa;
		break;
	case TBS_FX_KU_RSA_NO_KE:
		*key = f->rsa;
		break;
	case TBS_FX_GOOD_ADMIN_NO_NAMES:
		w->profile = EST_PROFILE_ADMIN;
		memset(&t->names, 0, sizeof(t->names));
		break;
	case TBS_FX_GOOD_RSA_ISSUER:
		w->issuer = f->rsa_iss;
		t->sign_key = f->rsa_iss_key;
		break;
	case TBS_FX_GOOD_WINDOW_CAPPED:
	case TBS_FX_AFTER_KEY_WINDOW:
		w->key_not_after = f->now + FX_WINDOW_DAYS * FX_DAY;
		break;
	case TBS_FX_BEFORE_KEY_WINDOW:
		w->key_not_before = f->now - FX_AHEAD / 2;
		break;
	default:
		break;
	}
	*cn = t->names;
	*ip = (struct issue_params){
		.profile = w->profile, .cn = w->cn, .names = cn,
		.pubkey = *key, .issuer = w->issuer, .now = w->now,
		.key_not_before = w->key_not_before,
		.key_not_after = w->key_not_after, .ocsp_url = w->ocsp_url,
		.ca_issuers_url = w->ca_issuers_url, .crl_url = w->crl_url,
	};
	switch (c) {
	case TBS_FX_SUBJECT_OTHER_CN:
		ip->cn = "dev2";
		break;
	case TBS_FX_SPKI_OTHER:
		ip->pubkey = f->other;
		break;
	case TBS_FX_SAN_EXTRA:
		snprintf(cn->dns[cn->ndns++], sizeof(cn->dns[0]), "%s",
		    "extra.example");
		break;
	case TBS_FX_SAN_MISSING:
		cn->nip = 1;
		break;
	case TBS_FX_SAN_ABSENT:
		memset(cn, 0, sizeof(*cn));
		break;
	case TBS_FX_SAN_UNREGISTERED:
		memset(&t->names, 0, sizeof(t->names));
		break;
	case TBS_FX_AIA_OCSP_URL:
		ip->ocsp_url = FX_OTHER_URL;
		break;
	case TBS_FX_AIA_CA_ISSUERS_URL:
		ip->ca_issuers_url = FX_OTHER_URL;
		break;
	case TBS_FX_CDP_URL:
		ip->crl_url = FX_OTHER_URL;
		break;
	default:
		break;
	}
}

/* Replaces x's extension nid by ex (in its place), freeing ex. */
static int
fx_replace(X509 *x, int nid, X509_EXTENSION *ex)
{
	int i = X509_get_ext_by_NID(x, nid, -1), ok;

	if (ex == NULL || i < 0) {
		X509_EXTENSION_free(ex);
		return -1;
	}
	X509_EXTENSION_free(X509_delete_ext(x, i));
	ok = X509_add_ext(x, ex, i);
	X509_EXTENSION_free(ex);
	return ok == 1 ? 0 : -1;
}

/* Replaces x's extension nid by value in openssl.cnf syntax. */
static int
fx_conf(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	return fx_replace(x, nid, X509V3_EXT_conf_nid(NULL, &ctx, nid,
	    value));
}

/* Replaces x's extension nid by one whose value is the bytes der. */
static int
fx_raw(X509 *x, int nid, int crit, const unsigned char *der, int len)
{
	ASN1_OCTET_STRING *oct = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ex = NULL;

	if (oct != NULL && ASN1_OCTET_STRING_set(oct, der, len) == 1)
		ex = X509_EXTENSION_create_by_NID(NULL, nid, crit, oct);
	ASN1_OCTET_STRING_free(oct);
	return fx_replace(x, nid, ex);
}

static int
fx_crit(X509 *x, int nid, int crit)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i >= 0 && X509_EXTENSION_set_critical(X509_get_ext(x, i),
	    crit) == 1 ? 0 : -1;
}

static int
fx_serial_hex(X509 *x, const char *hex)
{
	BIGNUM *bn = NULL;
	int ok = BN_hex2bn(&bn, hex) > 0 &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;

	BN_free(bn);
	return ok ? 0 : -1;
}

/* RFC 5280 4.2.1.2 method 2: 0100 and the low 60 bits of the SHA-1. */
static int
fx_ski_method2(X509 *x)
{
	const unsigned char *pk = NULL;
	unsigned char md[SHA_DIGEST_LENGTH];
	ASN1_OCTET_STRING *oct = ASN1_OCTET_STRING_new();
	int pklen = 0, ok;

	ok = oct != NULL && X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL,
	    X509_get_X509_PUBKEY(x)) == 1 && EVP_Digest(pk, (size_t)pklen, md,
	    NULL, EVP_sha1(), NULL) == 1;
	md[12] = (unsigned char)(0x40 | (md[12] & 0x0f));
	ok = ok && ASN1_OCTET_STRING_set(oct, md + 12, 8) == 1 &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, oct, 0,
	    X509V3_ADD_REPLACE) == 1;
	ASN1_OCTET_STRING_free(oct);
	return ok ? 0 : -1;
}

/* An AKI of keyid ski, and with the root's name and serial if full. */
static int
fx_aki(const struct tbs_fx *f, X509 *x, const ASN1_OCTET_STRING *ski,
    int full)
{
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	GENERAL_NAME *gen = NULL;
	X509_NAME *dn = NULL;
	int ok;

	ok = aki != NULL && (aki->keyid = ASN1_OCTET_STRING_dup(ski)) != NULL;
	if (ok && full) {
		ok = (aki->issuer = GENERAL_NAMES_new()) != NULL &&
		    (gen = GENERAL_NAME_new()) != NULL &&
		    (dn = X509_NAME_dup(X509_get_subject_name(f->root))) !=
		    NULL &&
		    (GENERAL_NAME_set0_value(gen, GEN_DIRNAME, dn), 1) &&
		    sk_GENERAL_NAME_push(aki->issuer, gen) > 0 &&
		    (aki->serial = ASN1_INTEGER_dup(
		    X509_get0_serialNumber(f->iss))) != NULL;
		if (!ok)
			GENERAL_NAME_free(gen);
	}
	ok = ok && X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0,
	    X509V3_ADD_REPLACE) == 1;
	AUTHORITY_KEYID_free(aki);
	return ok ? 0 : -1;
}

/* The OpenSSL calls that make case c's certificate bad.  0 or -1. */
static int
fx_mutate(const struct tbs_fx *f, enum tbs_fx_case c, X509 *x)
{
	/* keyUsage digitalSignature with a trailing zero octet, and
	 * basicConstraints with its DEFAULT FALSE written out: bytes no
	 * OpenSSL encoder writes. */
	static const unsigned char ku_long[] = { 0x03, 0x03, 0x00, 0x80, 0x00 };
	static const unsigned char bc_false[] = { 0x30, 0x03, 0x01, 0x01,
	    0x00 };
	X509_NAME *n = NULL;
	ASN1_TIME *t = NULL;
	X509_EXTENSION *ex;
	X509V3_CTX ctx;
	int rc = -1, i;

	switch (c) {
	case TBS_FX_VERSION_1:
		return X509_set_version(x, X509_VERSION_1) == 1 ? 0 : -1;
	case TBS_FX_VERSION_2:
		return X509_set_version(x, X509_VERSION_2) == 1 ? 0 : -1;
	case TBS_FX_SERIAL_ZERO:
		return ASN1_INTEGER_set(X509_get_serialNumber(x), 0) == 1 ?
		    0 : -1;
	case TBS_FX_SERIAL_NEGATIVE:
		return fx_serial_hex(x, FX_SERIAL_NEG);
	case TBS_FX_SERIAL_21_OCTETS:
		return fx_serial_hex(x, FX_SERIAL_21);
	case TBS_FX_SERIAL_4_OCTETS:
		return ASN1_INTEGER_set(X509_get_serialNumber(x),
		    FX_SERIAL_4) == 1 ? 0 : -1;
	case TBS_FX_ISSUER_OTHER:
		return X509_set_issuer_name(x, X509_get_subject_name(f->root))
		    == 1 ? 0 : -1;
	case TBS_FX_NOT_BEFORE_AHEAD:
		return ASN1_TIME_set(X509_getm_notBefore(x), f->now +
		    FX_AHEAD) != NULL ? 0 : -1;
	case TBS_FX_VALIDITY_TOO_LONG:
		return ASN1_TIME_set(X509_getm_notAfter(x), f->now +
		    (ISSUE_DEVICE_DAYS + 1) * FX_DAY) != NULL ? 0 : -1;
	case TBS_FX_BEFORE_KEY_WINDOW:
		return ASN1_TIME_set(X509_getm_notBefore(x), f->now -
		    FX_AHEAD) != NULL ? 0 : -1;
	case TBS_FX_AFTER_KEY_WINDOW:
		return ASN1_TIME_set(X509_getm_notAfter(x), f->now +
		    FX_WINDOW_DAYS * FX_DAY + 3600) != NULL ? 0 : -1;
	case TBS_FX_TIME_GENERALIZED:
		rc = (t = ASN1_GENERALIZEDTIME_set(NULL, f->now +
		    100 * FX_DAY)) != NULL && X509_set1_notAfter(x, t) == 1 ?
		    0 : -1;
		ASN1_TIME_free(t);
		return rc;
	case TBS_FX_SUBJECT_EXTRA_RDN:
		return X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
		    "O", MBSTRING_UTF8, (const unsigned char *)"keybridge", -1,
		    -1, 0) == 1 ? 0 : -1;
	case TBS_FX_SUBJECT_PRINTABLE:
		rc = (n = X509_NAME_new()) != NULL &&
		    X509_NAME_add_entry_by_NID(n, NID_commonName,
		    V_ASN1_PRINTABLESTRING, (const unsigned char *)"dev1", -1,
		    -1, 0) == 1 && X509_set_subject_name(x, n) == 1 ? 0 : -1;
		X509_NAME_free(n);
		return rc;
	case TBS_FX_EXT_MISSING:
		i = X509_get_ext_by_NID(x, NID_subject_key_identifier, -1);
		if (i < 0)
			return -1;
		X509_EXTENSION_free(X509_delete_ext(x, i));
		return 0;
	case TBS_FX_EXT_DUPLICATE:
		i = X509_get_ext_by_NID(x, NID_ext_key_usage, -1);
		ex = i < 0 ? NULL : X509_EXTENSION_dup(X509_get_ext(x, i));
		rc = ex != NULL && X509_add_ext(x, ex, -1) == 1 ? 0 : -1;
		X509_EXTENSION_free(ex);
		return rc;
	case TBS_FX_EXT_EXTRA:
		X509V3_set_ctx_nodb(&ctx);
		X509V3_set_ctx(&ctx, f->iss, x, NULL, NULL, 0);
		ex = X509V3_EXT_conf_nid(NULL, &ctx, NID_tlsfeature,
		    "status_request");
		rc = ex != NULL && X509_add_ext(x, ex, -1) == 1 ? 0 : -1;
		X509_EXTENSION_free(ex);
		return rc;
	case TBS_FX_BC_NOT_CRITICAL:
		return fx_crit(x, NID_basic_constraints, 0);
	case TBS_FX_BC_CA_TRUE:
		return fx_conf(x, f->iss, NID_basic_constraints,
		    "critical,CA:TRUE");
	case TBS_FX_KU_WRONG:
		return fx_conf(x, f->iss, NID_key_usage,
		    "critical,digitalSignature,keyCertSign");
	case TBS_FX_KU_RSA_NO_KE:
		return fx_conf(x, f->iss, NID_key_usage,
		    "critical,digitalSignature");
	case TBS_FX_KU_NOT_CRITICAL:
		return fx_crit(x, NID_key_usage, 0);
	case TBS_FX_KU_NOT_DER:
		return fx_raw(x, NID_key_usage, 1, ku_long, sizeof(ku_long));
	case TBS_FX_EKU_WRONG:
		return fx_conf(x, f->iss, NID_ext_key_usage, "serverAuth");
	case TBS_FX_EKU_TWO:
		return fx_conf(x, f->iss, NID_ext_key_usage,
		    "clientAuth,serverAuth");
	case TBS_FX_SKI_METHOD_2:
		return fx_ski_method2(x);
	case TBS_FX_SKI_CRITICAL:
		return fx_crit(x, NID_subject_key_identifier, 1);
	case TBS_FX_AKI_OTHER:
		return fx_aki(f, x, X509_get0_subject_key_id(f->root), 0);
	case TBS_FX_AKI_ISSUER_SERIAL:
		return fx_aki(f, x, X509_get0_subject_key_id(f->iss), 1);
	case TBS_FX_DER_EXT_VALUE:
		return fx_raw(x, NID_basic_constraints, 1, bc_false,
		    sizeof(bc_false));
	default:
		return 0;
	}
}

/* Sets x's TBS signature field to ecdsa-with-SHA256 with NULL
 * parameters (RFC 5758 3.2 says absent) and encodes the TBS again. */
static int
fx_sigalg_params(X509 *x, uint8_t **der, size_t *len)
{
	X509_ALGOR *alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	unsigned char *p = NULL;
	int n;

	if (X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256),
	    V_ASN1_NULL, NULL) != 1 || (n = i2d_re_X509_tbs(x, &p)) <= 0)
		return -1;
	OPENSSL_free(*der);
	*der = p;
	*len = (size_t)n;
	return 0;
}

/* Inserts n bytes ins at offset off of the TBS (whose outer length is in
 * the two-octet long form, 30 82 hi lo) and fixes its outer length. */
static int
fx_insert(uint8_t **der, size_t *len, size_t off, const uint8_t *ins,
    size_t n)
{
	uint8_t *p;
	size_t inner;

	if (*len < 4 || (*der)[0] != 0x30 || (*der)[1] != 0x82 || off > *len ||
	    (p = OPENSSL_malloc(*len + n)) == NULL)
		return -1;
	memcpy(p, *der, off);
	memcpy(p + off, ins, n);
	memcpy(p + off + n, *der + off, *len - off);
	inner = ((size_t)p[2] << 8 | p[3]) + n;
	p[2] = (uint8_t)(inner >> 8);
	p[3] = (uint8_t)inner;
	OPENSSL_free(*der);
	*der = p;
	*len += n;
	return 0;
}

/* The byte edits of the non-DER cases.  0 or -1. */
static int
fx_edit(enum tbs_fx_case c, struct tbs_fx_tbs *t)
{
	/* basicConstraints' OID, then critical TRUE. */
	static const uint8_t bc_crit[] = { 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01,
	    0x01, 0xff };
	/* issuerUniqueID [1] IMPLICIT BIT STRING: no unused bits, 0xaa. */
	static const uint8_t uid[] = { 0x81, 0x02, 0x00, 0xaa };
	static const uint8_t zeros[] = { 0x00, 0x00 };
	uint8_t *p;

	switch (c) {
	case TBS_FX_DER_BOOLEAN:
		if ((p = memmem(t->der, t->len, bc_crit, sizeof(bc_crit))) ==
		    NULL)
			return -1;
		p[sizeof(bc_crit) - 1] = 0x01;
		return 0;
	case TBS_FX_DER_LONG_LENGTH:
		/* 30 82 hi lo -> 30 83 00 hi lo: the same length, one octet
		 * longer than it needs (X.690 10.1). */
		if (t->len < 4 || t->der[1] != 0x82 ||
		    (p = OPENSSL_malloc(t->len + 1)) == NULL)
			return -1;
		p[0] = 0x30;
		p[1] = 0x83;
		p[2] = 0x00;
		memcpy(p + 3, t->der + 2, t->len - 2);
		OPENSSL_free(t->der);
		t->der = p;
		t->len++;
		return 0;
	case TBS_FX_DER_TRAILING:
		if ((p = OPENSSL_realloc(t->der, t->len + sizeof(zeros))) ==
		    NULL)
			return -1;
		memcpy(p + t->len, zeros, sizeof(zeros));
		t->der = p;
		t->len += sizeof(zeros);
		return 0;
	case TBS_FX_UNIQUE_ID:
		/* RFC 5280 4.1: issuerUniqueID comes after the SPKI. */
		if ((p = memmem(t->der, t->len, t->want.spki,
		    t->want.spki_len)) == NULL)
			return -1;
		return fx_insert(&t->der, &t->len, (size_t)(p - t->der) +
		    t->want.spki_len, uid, sizeof(uid));
	default:
		return 0;
	}
}

/* A whole signed certificate where a TBS belongs. */
static int
fx_whole_cert(const struct tbs_fx *f, X509 *x, struct tbs_fx_tbs *t)
{
	unsigned char *p = NULL;
	int n;

	if (X509_sign(x, f->iss_key, EVP_sha256()) <= 0 ||
	    (n = i2d_X509(x, &p)) <= 0)
		return -1;
	OPENSSL_free(t->der);
	t->der = p;
	t->len = (size_t)n;
	return 0;
}

/* See tbs_fx.h. */
int
tbs_fx_build(const struct tbs_fx *f, enum tbs_fx_case c,
    struct tbs_fx_tbs *t)
{
	struct issue_params ip;
	struct est_names names;
	X509_PUBKEY *spki = NULL;
	const unsigned char *q;
	char err[FX_ERRLEN] = "";
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int n, rc = -1;

	memset(t, 0, sizeof(*t));
	if (tbs_fx_info(c) == NULL)
		goto out;
	fx_params(f, c, t, &ip, &names, &key);
	if ((n = ledger_spki_canonical(key, &t->spki, err, sizeof(err))) <= 0)
		goto out;
	t->want.spki = t->spki;
	t->want.spki_len = (size_t)n;
	if (c == TBS_FX_GOOD_SPKI_COPIED) {
		/* As enroll.c hands over the CSR's parsed SPKI. */
		q = t->spki;
		if ((spki = d2i_X509_PUBKEY(NULL, &q, n)) == NULL)
			goto out;
		ip.spki = spki;
	}
	if ((x = issue_build(&ip, err, sizeof(err))) == NULL)
		goto out;
	snprintf(err, sizeof(err), "cannot make the certificate bad");
	if (fx_mutate(f, c, x) != 0)
		goto out;
	snprintf(err, sizeof(err), "cannot encode the TBS");
	if (ca_tbs_der(x, c == TBS_FX_SIGALG_RSA ? f->rsa_iss : ip.issuer,
	    &t->der, &t->len) != 0 ||
	    (c == TBS_FX_SIGALG_PARAMS &&
	    fx_sigalg_params(x, &t->der, &t->len) != 0) ||
	    (c == TBS_FX_NOT_TBS && fx_whole_cert(f, x, t) != 0))
		goto out;
	snprintf(err, sizeof(err), "cannot edit the TBS");
	if (fx_edit(c, t) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		fprintf(stderr, "tbs_fx_build(%s): %s\n", tbs_fx_info(c) ?
		    tbs_fx_info(c)->name : "?", err);
		tbs_fx_tbs_free(t);
	}
	X509_PUBKEY_free(spki);
	X509_free(x);
	ERR_clear_error();
	return rc;
}

/* See tbs_fx.h. */
void
tbs_fx_tbs_free(struct tbs_fx_tbs *t)
{
	OPENSSL_free(t->spki);
	OPENSSL_free(t->der);
	memset(t, 0, sizeof(*t));
}
