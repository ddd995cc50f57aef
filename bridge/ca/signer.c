/*
 * signer.c: the issuing CA key and the bridge account's ledger key, behind
 * the signer interface of bridge.h (docs/design.md "Processes").
 *
 * Network-facing code (enroll.c, the EST routes) holds a struct signer *
 * and asks it to sign; it never sees key bytes.  This first implementation
 * keeps both keys in the daemon's address space.  The calls are shaped so
 * that they can move into a key process without changing any caller, the
 * way OpenBSD acme-client's netproc asks keyproc over a socketpair:
 *
 *	signer_open      the parent forks the key process before the network
 *	                 process starts listening; the key process loads the
 *	                 keys and sends back only the issuing certificate
 *	                 (PEM) and its issuer id, which this struct caches.
 *	signer_sign_cert the network process sends i2d_X509 of the unsigned
 *	                 certificate; the key process d2i's it, checks that it
 *	                 names our issuer and is not a CA (it signs nothing
 *	                 else), signs, and returns the signed DER, which
 *	                 replaces cert's signature fields here.
 *	signer_sign_entry the network process sends the entry body; the key
 *	                 process returns the "— bridge base64" signature line,
 *	                 which is appended here exactly as ledger_entry_sign()
 *	                 does.
 *
 * Each request is one length-prefixed message and one answer, so a
 * PKCS#11 token (SoftHSM2 in tests) can take the key process's place by
 * swapping X509_sign() for an EVP_PKEY from a provider.  Checks that
 * protect the key (the issuer-name check in signer_sign_cert) live here,
 * on the key's side of that boundary, for the same reason.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "bridge/ca/ca.h"

/* The issuer id is a ledger name (SYN_NAME, at most LEDGER_NAME_MAX
 * characters), so the issuing CA's key identifier may have at most half as
 * many bytes.  SHA-1 ("hash", RFC 5280 4.2.1.2 method 1) gives 20. */
#define SIGNER_SKI_MAX	(LEDGER_NAME_MAX / 2)

struct signer {
	X509 *issuer;			/* issuing CA certificate */
	EVP_PKEY *ca_key;		/* its private key */
	EVP_PKEY *ledger_key;		/* the bridge account's key */
	X509 *ocsp_cert;		/* the delegated OCSP responder */
	EVP_PKEY *ocsp_key;
	char account[CONFIG_STR];	/* cfg->bridge_account */
	char issuer_id[LEDGER_NAME_MAX + 1];	/* lowercase hex SKI */
};

/* Reads the first certificate of PEM file path.  A new X509 or NULL with
 * err set. */
static X509 *
signer_read_cert(const char *path, char *err, size_t errlen)
{
	X509 *x = NULL;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot open the issuing CA certificate "
		    "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((x = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL)
		snprintf(err, errlen, "%s holds no PEM certificate", path);
	fclose(fp);
	return x;
}

/* Resolves configured path p against cfg->dir into out.  0, or -1 with
 * err set. */
static int
signer_path(const struct bridge_config *cfg, const char *what, const char *p,
    char *out, size_t outlen, char *err, size_t errlen)
{
	if (config_path(cfg, p, out, outlen)[0] == '\0') {
		snprintf(err, errlen, "the %s path is empty or too long", what);
		return -1;
	}
	return 0;
}

/* Checks that s->issuer is a CA certificate for s->ca_key whose key type
 * signer_sign_cert() can use, and fills s->issuer_id from its SKI.  0, or
 * -1 with err set. */
static int
signer_check_issuer(struct signer *s, const char *path, char *err,
    size_t errlen)
{
	const ASN1_OCTET_STRING *ski;
	int type = EVP_PKEY_get_base_id(s->ca_key);

	if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA) {
		snprintf(err, errlen, "the issuing CA key is neither EC nor "
		    "RSA");
		return -1;
	}
	if (X509_check_private_key(s->issuer, s->ca_key) != 1) {
		snprintf(err, errlen, "the issuing CA key does not match the "
		    "certificate %s", path);
		return -1;
	}
	/* 1: CA:TRUE (3, 4, 5 are v1 / keyUsage-only / Netscape forms). */
	if (X509_check_ca(s->issuer) != 1) {
		snprintf(err, errlen, "%s is not a CA certificate "
		    "(basicConstraints CA:TRUE)", path);
		return -1;
	}
	ski = X509_get0_subject_key_id(s->issuer);
	if (ski == NULL || ASN1_STRING_length(ski) <= 0 ||
	    ASN1_STRING_length(ski) > SIGNER_SKI_MAX) {
		snprintf(err, errlen, "%s has no subjectKeyIdentifier of 1 to "
		    "%d bytes (it names the issuer on the ledger)", path,
		    SIGNER_SKI_MAX);
		return -1;
	}
	ledger_hex(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski),
	    s->issuer_id);
	return 0;
}

/* Loads the delegated OCSP signer and checks it is fit to answer for
 * our issuer (RFC 6960 4.2.2.2): issued by the issuing CA, EKU
 * OCSPSigning, and its key matches.  0, or -1 with err set. */
static int
signer_load_ocsp(struct signer *s, const struct bridge_config *cfg,
    char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (signer_path(cfg, "ocsp_cert", cfg->ocsp_cert, path, sizeof(path),
	    err, errlen) == -1 ||
	    (s->ocsp_cert = signer_read_cert(path, err, errlen)) == NULL)
		return -1;
	if (X509_check_issued(s->issuer, s->ocsp_cert) != X509_V_OK ||
	    !(X509_get_extended_key_usage(s->ocsp_cert) & XKU_OCSP_SIGN)) {
		snprintf(err, errlen, "%s is not an OCSP signer (EKU "
		    "OCSPSigning) issued by the issuing CA", path);
		return -1;
	}
	if ((s->ocsp_key = ca_key_load(cfg, cfg->ocsp_key, "OCSP signer key",
	    err, errlen)) == NULL)
		return -1;
	if (X509_check_private_key(s->ocsp_cert, s->ocsp_key) != 1) {
		snprintf(err, errlen, "the OCSP signer key does not match its "
		    "certificate");
		return -1;
	}
	return 0;
}

/* See bridge.h.  Each key is a file of mode 0600 or stricter or a
 * pkcs11: URI (ca_key_load). */
struct signer *
signer_open(const struct bridge_config *cfg, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct signer *s = NULL, *ret = NULL;
	int n;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	n = snprintf(s->account, sizeof(s->account), "%s",
	    cfg->bridge_account);
	if (n <= 0 || (size_t)n >= sizeof(s->account)) {
		snprintf(err, errlen, "bridge_account is empty or too long");
		goto out;
	}
	if (signer_path(cfg, "ca_issuing", cfg->ca_issuing, path,
	    sizeof(path), err, errlen) == -1 ||
	    (s->issuer = signer_read_cert(path, err, errlen)) == NULL)
		goto out;
	if ((s->ca_key = ca_key_load(cfg, cfg->ca_issuing_key,
	    "issuing CA key", err, errlen)) == NULL)
		goto out;
	if (signer_check_issuer(s, config_path(cfg, cfg->ca_issuing, path,
	    sizeof(path)), err, errlen) == -1)
		goto out;
	if ((s->ledger_key = ca_key_load(cfg, cfg->bridge_key,
	    "bridge account key", err, errlen)) == NULL)
		goto out;
	if (signer_load_ocsp(s, cfg, err, errlen) != 0)
		goto out;
	ret = s;
	s = NULL;
out:
	if (ret == NULL)
		log_openssl("signer");
	else
		ERR_clear_error();
	signer_free(s);
	return ret;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	X509_free(s->issuer);
	EVP_PKEY_free(s->ca_key);	/* OpenSSL cleanses key material */
	EVP_PKEY_free(s->ledger_key);
	X509_free(s->ocsp_cert);
	EVP_PKEY_free(s->ocsp_key);
	free(s);
}

/* See bridge.h.  The certificate must name our issuing CA as its issuer
 * and must not be a CA itself: the key signs end-entity certificates of
 * this issuer and nothing else, whatever a caller hands over. */
int
signer_sign_cert(struct signer *s, X509 *cert)
{
	BASIC_CONSTRAINTS *bc = NULL;
	int crit = -1, rc = -1;

	if (s == NULL || cert == NULL)
		goto out;
	if (X509_NAME_cmp(X509_get_issuer_name(cert),
	    X509_get_subject_name(s->issuer)) != 0) {
		log_warn("signer: refusing a certificate for another issuer");
		goto out;
	}
	bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
	if (bc == NULL && crit != -1) {
		/* present but undecodable, or present twice (-2) */
		log_warn("signer: refusing a certificate with a malformed "
		    "basicConstraints");
		goto out;
	}
	if (bc != NULL && bc->ca != 0) {
		log_warn("signer: refusing to sign a CA certificate");
		goto out;
	}
	/* ECDSA with SHA-256, or RSA PKCS#1 v1.5 with SHA-256 (the key type
	 * was checked in signer_open). */
	if (X509_sign(cert, s->ca_key, EVP_sha256()) <= 0)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		log_openssl("signer");
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

/* See bridge.h.  note is freed in every case (ledger_entry_sign's
 * contract). */
char *
signer_sign_entry(struct signer *s, char *note)
{
	char *out;

	if (s == NULL || note == NULL) {
		free(note);
		return NULL;
	}
	if ((out = ledger_entry_sign(note, s->account, s->ledger_key)) ==
	    NULL)
		log_openssl("signer");
	return out;
}

/* See bridge.h.  responderID byKey (RFC 6960 4.2.2.3), the signer's
 * certificate in certs so that clients can check the delegation. */
int
signer_sign_ocsp(struct signer *s, OCSP_BASICRESP *bs)
{
	if (s == NULL || bs == NULL ||
	    OCSP_basic_sign(bs, s->ocsp_cert, s->ocsp_key, EVP_sha256(), NULL,
	    OCSP_RESPID_KEY) != 1) {
		log_openssl("signer");
		return -1;
	}
	return 0;
}

/* See bridge.h.  Only CRLs naming our issuing CA are signed. */
int
signer_sign_crl(struct signer *s, X509_CRL *crl)
{
	if (s == NULL || crl == NULL ||
	    X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(s->issuer)) != 0) {
		log_warn("signer: refusing a CRL for another issuer");
		return -1;
	}
	if (X509_CRL_sign(crl, s->ca_key, EVP_sha256()) <= 0) {
		log_openssl("signer");
		return -1;
	}
	return 0;
}

X509 *
signer_ocsp_cert(struct signer *s)
{
	return s->ocsp_cert;
}

X509 *
signer_issuer(struct signer *s)
{
	return s->issuer;
}

const char *
signer_issuer_id(struct signer *s)
{
	return s->issuer_id;
}
