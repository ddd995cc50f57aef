/*
 * est.h: the EST module's public face (RFC 7030, RFC 8951; docs/design.md
 * "Issuance").
 *
 * est/ speaks the protocol: it decodes and checks CSRs, decides whether a
 * registration allows an enrollment, encodes PKCS#7 certs-only, CsrAttrs and
 * the serverkeygen multipart answer, checks HTTP Basic credentials, and
 * routes /.well-known/est/[label/]op.  It never includes ledger/ or ocsp/ or
 * bridge/: what it needs from the ledger arrives as a read-only view
 * (struct est_registration) and through the callbacks of struct est_ops
 * that bridge/ fills in.  It never touches a CA key.
 */
#ifndef KEYBRIDGE_EST_H
#define KEYBRIDGE_EST_H

#include <stddef.h>
#include <time.h>

#include <event2/http.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

struct workq;

#define EST_MAX_BODY     65536	/* bytes of a request body (base64 CSR) */
#define EST_MIN_RSA_BITS 2048
#define EST_MAX_RSA_BITS 8192
#define EST_MAX_NAMES    32	/* DNS + IP names in a CSR or registration */
#define EST_NAME_MAX     253

/* Certificate profiles; a label in the URL selects one. */
enum est_profile {
	EST_PROFILE_DEVICE = 1,	/* clientAuth */
	EST_PROFILE_SERVER,	/* serverAuth, registered DNS/IP names */
	EST_PROFILE_ADMIN,	/* clientAuth; opens the API's reads */
};

/* "device" / "server" / "admin" -> profile; -1 when unknown. */
int est_profile_parse(const char *name);
const char *est_profile_name(enum est_profile p);

/* ---- csr.c: decoding and checking a CSR -------------------------------- */

/* Why a CSR is refused (each is a 400 with its own one-line reason). */
enum est_csr_status {
	EST_CSR_OK = 0,
	EST_CSR_BAD_BASE64,	/* body is not base64 (RFC 7030 4.2.1) */
	EST_CSR_NOT_CSR,	/* DER is not a PKCS#10 request */
	EST_CSR_BAD_SIGNATURE,	/* no proof of possession */
	EST_CSR_WEAK_KEY,	/* RSA < 2048 or not a multiple of 8 */
	EST_CSR_BAD_CURVE,	/* EC other than P-256 / P-384 */
	EST_CSR_BAD_KEY_TYPE,	/* neither RSA nor EC */
	EST_CSR_WEAK_HASH,	/* signature hash weaker than SHA-256 */
	EST_CSR_EMPTY_SUBJECT,
	EST_CSR_KEY_ENCODING,	/* EC key with explicit curve parameters, or
				 * a compressed or hybrid point */
};

/* Decodes an EST body: base64 with or without line breaks (CR, LF, spaces
 * tolerated; RFC 8951), with or without Content-Transfer-Encoding, of a
 * DER PKCS#10.  len <= EST_MAX_BODY.  Returns a new request (get1), or NULL
 * with *st and `why` set. */
X509_REQ *est_csr_decode(const char *body, size_t len,
    enum est_csr_status *st, char *why, size_t whylen);
/* Proof of possession, key policy, signature hash, subject.  Returns
 * EST_CSR_OK or the first failure with `why` (one line). */
enum est_csr_status est_csr_check(X509_REQ *req, char *why, size_t whylen);
/* est_csr_decode and est_csr_check in one, the event loop's reader: the
 * same verdict and reason for every body, but a P-256 or P-384 request is
 * read without OpenSSL's decoder chain (csr.c).  EST_CSR_OK with *req (its
 * key may be held as bytes only: X509_REQ_get0_pubkey may give NULL; the
 * names, key id, subject and signature algorithm are there) and *pk, the
 * request's key (both get1); or the refusal with why and both NULL. */
enum est_csr_status est_csr_read(const char *body, size_t len,
    X509_REQ **req, EVP_PKEY **pk, char *why, size_t whylen);
/* Hex SHA-256 of the CSR's SubjectPublicKeyInfo DER (the ledger key id);
 * out holds 65 bytes.  0 or -1. */
int est_csr_key_id(X509_REQ *req, char out[65]);

/* The names a CSR asks for: DNS and IP entries of its subjectAltName
 * extension request (the subject CN is ignored: names come from the
 * registration).  0 or -1 (malformed extension, or more than
 * EST_MAX_NAMES). */
struct est_names {
	int ndns, nip;
	char dns[EST_MAX_NAMES][EST_NAME_MAX + 1];
	char ip[EST_MAX_NAMES][46];	/* printable: inet_ntop form */
};
int est_csr_names(X509_REQ *req, struct est_names *n);

/* ---- authorize.c: may this CSR ask for these names? -------------------- */

/* The registration of the CSR's key, a read-only view filled by bridge/
 * once the ledger has allowed the key a certificate (ledger_check_issue):
 * what the certificate is built from. */
struct est_registration {
	enum est_profile profile;	/* the registered profile */
	char name[65];		/* becomes the certificate subject CN */
	struct est_names names;	/* registered DNS / IP names */
	time_t not_before, not_after;
};

/* The names a CSR (already est_csr_check'ed) asks for, against its key's
 * registration: 0 when every asked name is registered (none asked is
 * fine: the certificate carries the registered names), else 403 with a
 * one-line reason naming the first name that is not.  DNS names compare
 * case-insensitively, IP addresses as addresses. */
int est_authorize(const struct est_registration *reg,
    const struct est_names *asked, char *why, size_t whylen);

/* ---- pkcs7.c, csrattrs.c, keygen.c: answers ---------------------------- */

/* A degenerate PKCS#7 SignedData carrying certs (certs-only, RFC 7030
 * 4.1.3), DER, base64 in lines of 64 characters each ending in LF.
 * Returns a malloc'd NUL-terminated string (length in *len) or NULL. */
char *est_pkcs7_certs_b64(STACK_OF(X509) *certs, size_t *len);
/* The CsrAttrs (RFC 7030 4.5.2) a profile wants, DER via OpenSSL ASN.1
 * templates, base64 in lines of 64.  malloc'd, or NULL. */
char *est_csrattrs_b64(enum est_profile p, size_t *len);
/* The serverkeygen answer (RFC 7030 4.4.2): multipart/mixed with the
 * private key as base64 PKCS#8 (application/pkcs8) and the certificate as
 * certs-only PKCS#7.  Writes the body into out and the Content-Type value
 * (with its boundary) into ctype.  0 or -1. */
int est_serverkeygen_body(EVP_PKEY *key, STACK_OF(X509) *certs,
    struct evbuffer *out, char *ctype, size_t ctypelen);

/* ---- auth.c: HTTP Basic ------------------------------------------------ */

/* Checks an Authorization header value ("Basic base64(user:pass)")
 * against user and pass, in constant time in the secret's length.
 * Returns 1 when they match, 0 otherwise (absent, malformed, wrong). */
int est_basic_check(const char *authorization, const char *user,
    const char *pass);

/* Splits an Authorization value "Basic base64(user:pass)" into user and
 * pass (NUL-terminated; pass is secret: the caller cleanses it).  0, or -1
 * when absent, malformed or too long. */
int est_basic_parse(const char *authorization, char *user, size_t userlen,
    char *pass, size_t passlen);

/* ---- routes.c: /.well-known/est ---------------------------------------- */

enum est_op {
	EST_OP_CACERTS = 1, EST_OP_SIMPLEENROLL, EST_OP_SIMPLEREENROLL,
	EST_OP_CSRATTRS, EST_OP_SERVERKEYGEN,
};

/* One enrollment handed to bridge/ (borrowed pointers, valid until done
 * is called). */
struct est_enroll {
	enum est_op op;
	enum est_profile profile;	/* from the label; 0: no label */
	X509_REQ *csr;			/* checked: PoP, policy */
	EVP_PKEY *pubkey;		/* its key (csr's may be bytes only) */
	char key_id[65];
	struct est_names asked;
	X509 *client_cert;		/* TLS client certificate, or NULL */
	/* serverkeygen: the Authorization header (the pre-authorisation's
	 * "Basic id:secret"), or NULL. */
	const char *authorization;
};

/* bridge/ answers an enrollment: status 200 with the issued certificate
 * (leaf first, then the chain; get0) and, for serverkeygen, the generated
 * key; or an HTTP error status with a one-line reason.  retry_after > 0
 * adds Retry-After (503).  Must be called exactly once. */
typedef void (*est_done_fn)(void *token, int status, const char *reason,
    int retry_after, STACK_OF(X509) *certs, EVP_PKEY *key);

struct est_ops {
	void *arg;
	/* The CA chain for cacerts: issuing CA(s) then the root (get0). */
	STACK_OF(X509) *(*cacerts)(void *arg);
	/* HTTP Basic credentials required for a label ("" = none), or
	 * NULL user when the label needs none. */
	void (*basic_auth)(void *arg, const char *label, const char **user,
	    const char **pass);
	/* Starts an enrollment; calls done(token, ...) once, possibly later
	 * from the event loop (after the ledger commit). */
	void (*enroll)(void *arg, const struct est_enroll *e,
	    est_done_fn done, void *token);
	/* Threads that decode and check a CSR (its signature: a P-256
	 * verify) off the event loop (common/workq.h; borrowed, outlives
	 * every request), or NULL: on the loop, before est_handle
	 * returns.  enroll is called on the loop either way. */
	struct workq *workers;
};

/* Handles one request under /.well-known/est/ (RFC 7030 3.2.2): parses
 * the label and operation, checks method, content type, body bound and
 * Basic auth, decodes and checks the CSR, and answers (or hands over to
 * ops->enroll).  Unknown label or operation: 404. */
void est_handle(struct evhttp_request *req, const struct est_ops *ops);

#endif
