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
#include <time.h>

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
	struct signer_committed *committed;	/* signer_sign_committed */
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
	char path[PATH_MAX], why[512];

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
	if (signer_path(cfg, "ocsp_key", cfg->ocsp_key, path, sizeof(path),
	    err, errlen) == -1)
		return -1;
	if ((s->ocsp_key = ledger_key_load(path, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "OCSP signer key: %s", why);
		return -1;
	}
	if (X509_check_private_key(s->ocsp_cert, s->ocsp_key) != 1) {
		snprintf(err, errlen, "the OCSP signer key does not match its "
		    "certificate");
		return -1;
	}
	return 0;
}

/* ---- signer_sign_committed: in-process until the key process lands ---- */

/* What ca_cert_admit needs on the key's side, and what it remembers
 * between calls: the last checkpoint verified (a block's enrollments all
 * show the same one: one signature check per block, not per
 * certificate), the largest tree size seen, and the next entry index
 * that may be signed. */
struct signer_committed {
	char vkey[CONFIG_STR];		/* the node's checkpoint verifier key */
	char origin[CONFIG_STR];
	char ocsp_url[CONFIG_STR + 16];
	char ca_issuers_url[CONFIG_STR + 32];
	char crl_url[CONFIG_STR + 96];
	char last[1024];		/* the last verified checkpoint note */
	uint64_t last_size;
	uint8_t last_root[LEDGER_HASH_LEN];
	uint64_t min_index;
};

static struct signer_committed *
signer_committed_new(struct signer *s, const struct bridge_config *cfg,
    char *err, size_t errlen)
{
	struct signer_committed *sc = calloc(1, sizeof(*sc));
	EVP_PKEY *node = NULL;
	char path[PATH_MAX], why[512];

	if (sc == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(sc->origin, sizeof(sc->origin), "%s", cfg->origin);
	snprintf(sc->ocsp_url, sizeof(sc->ocsp_url), "%s/ocsp",
	    cfg->public_http_url);
	snprintf(sc->ca_issuers_url, sizeof(sc->ca_issuers_url),
	    "%s/ca/issuing.der", cfg->public_http_url);
	snprintf(sc->crl_url, sizeof(sc->crl_url), "%s/crl/%s.crl",
	    cfg->public_http_url, s->issuer_id);
	/* The verifier key of the node's checkpoint key: init writes it
	 * into the config; older configs derive it from the key. */
	if (cfg->validator_vkey[0] != '\0') {
		snprintf(sc->vkey, sizeof(sc->vkey), "%s", cfg->validator_vkey);
		return sc;
	}
	/* Without either, nothing committed can be shown to this signer
	 * (signer_checkpoint_ok refuses every checkpoint), but it still
	 * signs OCSP, CRLs and entries. */
	if ((node = ledger_key_load(config_path(cfg, cfg->validator_key, path,
	    sizeof(path)), why, sizeof(why))) == NULL ||
	    ledger_key_vkey(node, cfg->validator_name, sc->vkey,
	    sizeof(sc->vkey)) != 0) {
		log_warn("signer: no checkpoint verifier key (%s): no "
		    "certificate can be signed", node == NULL ? why :
		    "validator key unusable");
		sc->vkey[0] = '\0';
	}
	EVP_PKEY_free(node);
	return sc;
}

/* ca_admit_ctx.checkpoint_ok: signed by the node's checkpoint key (the
 * one function the validators' quorum replaces), and no older than the
 * largest tree seen. */
static int
signer_checkpoint_ok(void *arg, const char *note, uint64_t *size,
    uint8_t root[LEDGER_HASH_LEN], char *why, size_t whylen)
{
	struct signer_committed *sc = arg;
	char origin[LEDGER_ORIGIN_MAX + 1];
	time_t t;

	if (strcmp(note, sc->last) != 0) {
		if (ledger_proof_checkpoint(note, sc->vkey, origin,
		    sizeof(origin), size, root, &t, why, whylen) != 0)
			return -1;
		if (*size < sc->last_size) {
			snprintf(why, whylen, "older than the last one seen "
			    "(tree size %llu < %llu)", (unsigned long long)*size,
			    (unsigned long long)sc->last_size);
			return -1;
		}
		if (strlen(note) >= sizeof(sc->last)) {
			snprintf(why, whylen, "too long");
			return -1;
		}
		memcpy(sc->last, note, strlen(note) + 1);
		sc->last_size = *size;
		memcpy(sc->last_root, root, LEDGER_HASH_LEN);
	}
	*size = sc->last_size;
	memcpy(root, sc->last_root, LEDGER_HASH_LEN);
	return 0;
}

/*
 * Sets the signature of tbs[0..len), the admitted TBS, into x, the bridge's
 * unsigned certificate of it: only when x's TBS encodes to exactly those
 * bytes.  The CA signs the bytes, as ca_sign_tbs does; the outer
 * AlgorithmIdentifier is the inner one.  0, or -1 (then the caller signs
 * with ca_sign_tbs).
 */
static int
signer_splice(struct signer *s, X509 *x, const uint8_t *tbs, size_t len)
{
	const ASN1_BIT_STRING *csig;
	const X509_ALGOR *calg;
	EVP_MD_CTX *md = NULL;
	unsigned char *enc = NULL, *sig = NULL;
	size_t siglen = 0;
	int n, rc = -1;

	X509_get0_signature(&csig, &calg, x);
	if ((n = i2d_re_X509_tbs(x, &enc)) <= 0 || (size_t)n != len ||
	    memcmp(enc, tbs, len) != 0)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->ca_key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, tbs, len) != 1 ||
	    (sig = OPENSSL_malloc(siglen)) == NULL ||
	    EVP_DigestSign(md, sig, &siglen, tbs, len) != 1)
		goto out;
	/* OpenSSL has no setter for a certificate's signature but signing;
	 * these are x's own fields, outside its (cached) TBS. */
	if (X509_ALGOR_copy((X509_ALGOR *)calg, X509_get0_tbs_sigalg(x)) != 1 ||
	    ASN1_BIT_STRING_set((ASN1_BIT_STRING *)csig, sig,
	    (int)siglen) != 1)
		goto out;
	((ASN1_BIT_STRING *)csig)->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	((ASN1_BIT_STRING *)csig)->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(enc);
	OPENSSL_free(sig);
	return rc;
}

/* See ca.h.  In-process for now: the KEYPROC part moves this behind the
 * key process's protocol with the same checks (ca_cert_admit). */
int
signer_sign_committed(struct signer *s, const struct ca_cert_req *req,
    X509 **cert, char *why, size_t whylen)
{
	struct signer_committed *sc;
	struct ca_admit_ctx c;
	uint8_t *tbs = NULL;
	size_t tbslen = 0;
	int rc = -1;

	*cert = NULL;
	if (s == NULL || (sc = s->committed) == NULL)
		return -2;
	memset(&c, 0, sizeof(c));
	c.issuer = s->issuer;
	c.issuer_id = s->issuer_id;
	c.origin = sc->origin;
	c.checkpoint_ok = signer_checkpoint_ok;
	c.checkpoint_arg = sc;
	c.ocsp_url = sc->ocsp_url;
	c.ca_issuers_url = sc->ca_issuers_url;
	c.crl_url = sc->crl_url;
	c.account = s->account;
	c.now = time(NULL);
	c.min_index = sc->min_index;
	if (ca_cert_admit(req, &c, &tbs, &tbslen, why, whylen) != 0) {
		log_warn("signer: refused to sign: %s", why);
		goto out;
	}
	if (req->cert != NULL && signer_splice(s, req->cert, tbs, tbslen) ==
	    0 && X509_up_ref(req->cert) == 1)
		*cert = req->cert;
	else if ((*cert = ca_sign_tbs(tbs, tbslen, s->ca_key, why,
	    whylen)) == NULL) {
		log_warn("signer: cannot sign: %s", why);
		goto out;
	}
	sc->min_index = req->entry_index + 1;
	rc = 0;
out:
	free(tbs);
	return rc;
}

/* See bridge.h.  Both private key files must be mode 0600 or stricter
 * (ledger_key_load refuses group- or other-readable files). */
struct signer *
signer_open(const struct bridge_config *cfg, char *err, size_t errlen)
{
	char path[PATH_MAX], why[512];
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
	if (signer_path(cfg, "ca_issuing_key", cfg->ca_issuing_key, path,
	    sizeof(path), err, errlen) == -1)
		goto out;
	if ((s->ca_key = ledger_key_load(path, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "issuing CA key: %s", why);
		goto out;
	}
	if (signer_check_issuer(s, config_path(cfg, cfg->ca_issuing, path,
	    sizeof(path)), err, errlen) == -1)
		goto out;
	if (signer_path(cfg, "bridge_key", cfg->bridge_key, path,
	    sizeof(path), err, errlen) == -1)
		goto out;
	if ((s->ledger_key = ledger_key_load(path, why, sizeof(why))) ==
	    NULL) {
		snprintf(err, errlen, "bridge account key: %s", why);
		goto out;
	}
	if (signer_load_ocsp(s, cfg, err, errlen) != 0)
		goto out;
	if ((s->committed = signer_committed_new(s, cfg, err, errlen)) == NULL)
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
	free(s->committed);
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
