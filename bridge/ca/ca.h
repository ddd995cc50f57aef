/*
 * ca.h: the certificate authority's room (bridge/ca/): the CA chain made
 * at init (pki.c), certificates built from a registration (issue.c) and
 * the signer that holds the private keys (signer.c), which the next step
 * moves into a process of its own.  It includes the ledger and the EST
 * module's views and the configuration, never bridge.h.
 */
#ifndef KEYBRIDGE_CA_H
#define KEYBRIDGE_CA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "est/est.h"
#include "ledger/ledger.h"
#include "bridge/config.h"
#include "ocsp/ocsp.h"

struct ca_profile;			/* profile.c */

/* ---- pki.c: the CA chain, OCSP signer and TLS certificate for init ----- */

struct pki_init_opts {
	const char *name;		/* CN prefix, e.g. "keybridge" */
	const char *const *hostnames;	/* extra TLS SANs (DNS or IP) */
	size_t nhostnames;
	const char *key_type;		/* "ec-p256" (default) or "rsa-3072" */
	/* Where the root CA's key goes (issue 17: the operator's choice,
	 * to be moved offline; `ca rollover --root-key` reads it back);
	 * NULL: DIR/ca/root.key. */
	const char *root_key_out;
};

/* Sets serial to PKI_SERIAL_BYTES (16) from the CSPRNG with the top bit
 * cleared (a positive INTEGER of at most 16 octets, RFC 5280 4.1.2.2; 127
 * bits of entropy, well above the CA/B Forum's 64) and not zero.  Every
 * certificate keybridge makes takes its serial from here.  0 or -1. */
int pki_serial(ASN1_INTEGER *serial);

/* Creates, under the paths of c (resolved against c->dir): a root CA, an
 * issuing CA signed by it, a delegated OCSP signer (EKU OCSPSigning,
 * id-pkix-ocsp-nocheck) and the bridge's TLS server certificate (SANs
 * 127.0.0.1, ::1, localhost and every hostname), each key 0600, plus the
 * TLS chain file (leaf then issuing).  Returns 0 or -1 with err set. */
int pki_init(const struct bridge_config *c, const struct pki_init_opts *o,
    char *err, size_t errlen);
/* pki_init with the issuing CA and OCSP signer keys already made in a
 * PKCS#11 token (borrowed; NULL: generated as pki_init does): c's
 * ca_issuing_key and ocsp_key are then their pkcs11: URIs and no key file
 * is written for them.  0, or -1 with err set. */
int pki_init_token(const struct bridge_config *c, const struct pki_init_opts *o,
    EVP_PKEY *iss_key, EVP_PKEY *ocsp_key, char *err, size_t errlen);

/* ---- issuers.c, rollover.c: the issuing CAs and their rollover ---------- */

#define CA_ISSUERS_DIR		"ca/issuers"	/* one directory per rollover */
#define CA_ISSUERS_CURRENT	"current"	/* names the current one's id */
#define CA_ISSUER_CERT		"issuing.pem"
#define CA_ISSUER_KEY		"issuing.key"
#define CA_ISSUER_OCSP_CERT	"ocsp.pem"
#define CA_ISSUER_OCSP_KEY	"ocsp.key"
/* Instead of the key files: the pkcs11: URIs of keys a rollover made in
 * the PKCS#11 token of the current issuer's keys. */
#define CA_ISSUER_KEY_URI	"issuing.uri"
#define CA_ISSUER_OCSP_URI	"ocsp.uri"
/* A rolled issuer's last CRL number (the key process's promise, as
 * keyproc.state holds the original's), in the data directory: the
 * directory a dropped `serve` owns (sandbox_hand_over). */
#define CA_ISSUER_CRL_STATE	"keyproc-crl.%s.state"
#define CA_ISSUERS_MAX		8	/* OCSPR_MAX_ISSUERS */
#define CA_ISSUER_ID_MAX	64	/* hex of an SKI (KEYPROC_SKI_MAX) */

/* The files of one issuing CA, as configuration values (relative paths
 * resolve against the data directory; a key may be a pkcs11: URI). */
struct ca_issuer_files {
	int original;			/* init's CA: the configured paths */
	char id[CA_ISSUER_ID_MAX + 1];	/* its directory's name; "" original */
	char cert[CONFIG_STR], key[CONFIG_STR];
	char ocsp_cert[CONFIG_STR], ocsp_key[CONFIG_STR];
	char crl_state[CONFIG_STR];	/* "" original: keyproc.state's */
};

/* One X.509v3 extension in openssl.cnf syntax. */
struct ca_ext {
	int nid;
	const char *value;
};

/* The extensions of the issuing CA and of the OCSP signer (pki.c):
 * `init` and a rollover make the same two certificates. */
extern const struct ca_ext ca_iss_exts[];
extern const size_t ca_iss_nexts;
extern const struct ca_ext ca_ocsp_exts[];
extern const size_t ca_ocsp_nexts;

/* Adds the n extensions exts to x in the issuer context ctx.  0, or -1
 * with OpenSSL's error queue set. */
int ca_add_exts(X509 *x, X509V3_CTX *ctx, const struct ca_ext *exts,
    size_t n);

/* The issuing CAs of cfg's data directory into out[0..*n): the current
 * one first (the one DIR/ca/issuers/current names, else the original),
 * then the rolled ones by id, then the original.  0, or -1 with err set
 * (a damaged ca/issuers, more than max). */
int ca_issuers_scan(const struct bridge_config *cfg,
    struct ca_issuer_files *out, size_t max, size_t *n, char *err,
    size_t errlen);
/* 1 when name is a well-formed issuer id (even-length lowercase hex). */
int ca_issuer_id_ok(const char *name);
/* The AIA caIssuers and CRL DP URLs of the certificates of issuer id
 * under the public base URL: the original's caIssuers is
 * /ca/issuing.der (as before any rollover), a rolled one's /ca/<id>.der;
 * every CRL is /crl/<id>.crl. */
void ca_issuer_urls(const char *base, const char *id, int original,
    char *cai, size_t cailen, char *crl, size_t crllen);
/* `keybridge ca rollover`: a new issuing CA and its OCSP signer, signed
 * by the root (cfg->ca_root and the key file root_key, which must
 * match), of the current issuer's key type, written under
 * DIR/ca/issuers/<id>/ and made current.  When the current issuing CA
 * key is in a PKCS#11 token the new keys are made in that token
 * (rollover_token.c) and their URIs written instead of key files.  The
 * issuer id into id.  0, or -1 with err set (nothing is left behind
 * then, but keys already made in a token). */
int ca_rollover(const struct bridge_config *cfg, const char *root_key,
    char id[CA_ISSUER_ID_MAX + 1], char *err, size_t errlen);

/* rollover_token.c: the new issuing CA and OCSP signer keys made in the
 * token of the URI cur (the current issuing CA key's), of key_type,
 * labelled CA_LABEL_ISSUING / CA_LABEL_OCSP with a "-" and 8 hex digits
 * of their CKA_ID; their URIs into iuri / ouri and the keys (through
 * libp11) into *ikey / *okey.  0, or -1 with err set. */
int ca_rollover_token_keys(const struct bridge_config *cfg, const char *cur,
    const char *key_type, EVP_PKEY **ikey, EVP_PKEY **okey,
    char iuri[CONFIG_STR], char ouri[CONFIG_STR], char *err, size_t errlen);

/* ---- signer.c: the key process's client ------------------------------- */

/*
 * Every use of a private key goes through a signer; the keys are in the
 * key process (bridge/keyproc/keyproc.h), which checks each request on
 * its side.  Each call sends one typed request on the calling thread's
 * channel and waits for the answer.
 */
struct signer;
struct keyproc;
struct ca_cert_req;

/* A signer for the key process kp (borrowed): asks it INFO (the
 * certificates, issuer id, vkey, last checkpoint).  NULL with err set. */
struct signer *signer_new(struct keyproc *kp, char *err, size_t errlen);
/* Starts a key process of its own for cfg (tools and tests: call before
 * any thread starts) and a signer for it.  NULL with err set. */
struct signer *signer_open(const struct bridge_config *cfg, char *err,
    size_t errlen);
void signer_free(struct signer *s);
/* 1 while the key process answers, 0 once it is gone. */
int signer_available(struct signer *s);
/* Requests of op the key process refused so far (/metrics), and the
 * operation's name in metrics and logs ("sign_cert", ...). */
uint64_t signer_refusals(struct signer *s, int op);	/* enum keyproc_op */
const char *signer_op_name(int op);
struct keyproc *signer_keyproc(struct signer *s);
/* The committed-TBS issuance: the key process signs r's TBS only once
 * ca_cert_admit accepts r.  0 with *cert (get1), -1 refused (why), -2
 * the key process is unavailable. */
int signer_sign_committed(struct signer *s, const struct ca_cert_req *r,
    X509 **cert, char *why, size_t whylen);
/* signer_sign_committed in two halves on the key process's certificate
 * channel, for the event loop alone (bridge/enroll_sign.c):
 * signer_cert_send writes r's request without waiting for the answer;
 * signer_cert_recv reads the oldest answer (blocking: call it when
 * signer_cert_fd is readable), the signature spliced into unsigned_cert
 * when that is r->cert.  At most KEYPROC_CERT_PIPELINE requests in
 * flight.  Both return as signer_sign_committed. */
int signer_cert_send(struct signer *s, const struct ca_cert_req *r,
    char *why, size_t whylen);
int signer_cert_recv(struct signer *s, X509 *unsigned_cert, X509 **cert,
    char *why, size_t whylen);
int signer_cert_fd(struct signer *s);
/* Appends the bridge account's signature line to an entry body (as
 * ledger_entry_sign does).  Returns the new malloc'd note (note is freed)
 * or NULL (refused, or the key process is gone). */
char *signer_sign_entry(struct signer *s, char *note);
/* signer_sign_entry in two halves on the loop's channel, for the event
 * loop alone (bridge/enroll_entry.c): signer_entry_send writes the
 * request for note without waiting; signer_entry_recv reads the oldest
 * answer, note being the body it was for, into *out (malloc'd).  No
 * blocking call may use the loop's channel while answers are due (the
 * caller drains them first).  At most KEYPROC_ENTRY_PIPELINE in flight.
 * 0, -1 (refused) or -2 (the key process is gone), with why. */
int signer_entry_send(struct signer *s, const char *note, char *why,
    size_t whylen);
int signer_entry_recv(struct signer *s, const char *note, char **out,
    char *why, size_t whylen);
int signer_loop_fd(struct signer *s);
/* Signs the OCSP basic response *bs as the delegated responder of the
 * issuer its first CertID names (issue 17: each issuer its own; SHA-256,
 * responderID byKey, its certificate in certs): *bs is replaced by the
 * signed one (the old freed).  OCSP worker thread.  0 or -1. */
int signer_sign_ocsp(struct signer *s, OCSP_BASICRESP **bs);
/* Signs bs[0..n) (n <= KEYPROC_OCSP_BATCH_MAX) in one request, each
 * replaced as by signer_sign_ocsp.  0, or -1 (none signed). */
int signer_sign_ocsp_batch(struct signer *s, OCSP_BASICRESP **bs, int n);
/* signer_sign_ocsp_batch in two halves, so the OCSP worker builds the
 * next batch while the key process signs this one: send the request
 * (at most KEYPROC_PIPELINE in flight), later receive its answer into
 * the same bs[0..n), oldest first.  0 or -1 each. */
int signer_ocsp_send(struct signer *s, OCSP_BASICRESP **bs, int n);
int signer_ocsp_recv(struct signer *s, OCSP_BASICRESP **bs, int n);
/* Signs the CRL *crl of the issuing CA (SHA-256); *crl is replaced.  The
 * key process refuses a number not above the last.  OCSP worker.  0/-1. */
int signer_sign_crl(struct signer *s, X509_CRL **crl);
/* ledger_consensus_solo_signer's sign (arg: the signer): the node's
 * signature line for sl->body, with a consistency proof from the last
 * checkpoint the key process signed.  Writer thread.  0 or -1. */
int signer_sign_checkpoint(void *arg, const struct ledger_seal *sl,
    char *line, size_t linelen);
/* The delegated OCSP signer's certificate (get0). */
X509 *signer_ocsp_cert(struct signer *s);
/* The issuing CA certificate (get0) and its issuer id: lowercase hex of
 * its subjectKeyIdentifier (the <issuer> of CRL URLs and ledger entries). */
X509 *signer_issuer(struct signer *s);
const char *signer_issuer_id(struct signer *s);
/* The node's signed-note verifier key (checkpoints). */
const char *signer_vkey(struct signer *s);
/* Issue 17: every issuing CA the key process holds, [0] the current
 * one (signer_issuer's) then those rolled over from; i out of range
 * gives NULL.  original: the CA init made (its caIssuers URL is
 * /ca/issuing.der, ca_issuer_urls). */
size_t signer_nissuers(struct signer *s);
X509 *signer_issuer_at(struct signer *s, size_t i);
X509 *signer_ocsp_cert_at(struct signer *s, size_t i);
const char *signer_issuer_id_at(struct signer *s, size_t i);
int signer_issuer_original(struct signer *s, size_t i);
/* Drops from s the issuers but the current one whose last certificate
 * on ledger l expired before now (or that issued none): they are
 * retired, no longer served.  Logs each.  0, or -1 (the ledger). */
int signer_retire_expired(struct signer *s, struct ledger *l, time_t now);
/* signer_sign_crl for issuer i (signer_sign_crl: i = 0).  0 or -1. */
int signer_sign_crl_of(struct signer *s, size_t i, X509_CRL **crl);

/* ---- token.c: where a private key lives -------------------------------- */

/* Loads the private key a configuration value names: a file path
 * (resolved against cfg->dir; mode 0600 or stricter, as ledger_key_load)
 * or an RFC 7512 `pkcs11:` URI, reached through cfg's PKCS#11 module and
 * PIN file; then the key's bytes never leave the token and the EVP_PKEY
 * only refers to it.  what names the key in errors ("issuing CA key").
 * Called only in the key process.  A new EVP_PKEY or NULL with err set. */
EVP_PKEY *ca_key_load(const struct bridge_config *cfg, const char *value,
    const char *what, char *err, size_t errlen);

#define CA_TOKEN_SCHEME	"pkcs11:"	/* RFC 7512 */
#define CA_PIN_MAX	256		/* bytes of a PIN file's PIN */
#define CA_TOKEN_ID_LEN	16		/* CKA_ID of the keys init makes */
#define CA_LABEL_ISSUING "issuing-ca"	/* CKA_LABEL of the token's keys */
#define CA_LABEL_OCSP	"ocsp-signer"
#define CA_LABEL_BRIDGE	"bridge-account"
#define CA_LABEL_NODE	"node-checkpoint"

/* 1 when a configured key value is a `pkcs11:` URI (not a file path). */
int ca_is_token_uri(const char *value);
/* Reads the PIN of a token from the file path: a regular file of mode
 * 0600 or stricter (refused otherwise, saying how to fix it), holding
 * the PIN and at most one trailing newline.  0 with pin set (the caller
 * wipes it with OPENSSL_cleanse), or -1 with err set. */
int ca_token_pin(const char *path, char pin[CA_PIN_MAX + 1], char *err,
    size_t errlen);

/* ---- p11load.c: a token's private key through libp11 ------------------- */

/* The private key RFC 7512 URI text names, in the token of
 * cfg->pkcs11_module, logged in with cfg->pkcs11_pin_file: an EVP_PKEY
 * (get1: the caller frees it) whose private operations run in the token.
 * The module stays loaded until the process exits.  NULL with err set
 * (no such module, token or key, a wrong PIN: each its own message). */
EVP_PKEY *p11load_key(const struct bridge_config *cfg, const char *text,
    char *err, size_t errlen);

/* ---- p11make.c: keys made in or moved into a token ---------------------- */

/* One read-write, logged-in session on the token labelled token of the
 * PKCS#11 module (a path), opened through p11-kit.  NULL with err set. */
struct p11make;
struct p11make *p11make_open(const char *module, const char *token,
    const char *pin, char *err, size_t errlen);
/* Logs out, closes the session and finalises the module.  NULL-safe. */
void p11make_close(struct p11make *m);
/* How many objects of the token carry CKA_LABEL label.  0 or -1. */
int p11make_count(struct p11make *m, const char *label, int *count,
    char *err, size_t errlen);
/* Generates a key pair in the token (C_GenerateKeyPair): key_type
 * "ec-p256" or "rsa-3072"; the private key sensitive, not extractable,
 * sign only; both halves labelled label with CKA_ID id.  0 or -1. */
int p11make_generate(struct p11make *m, const char *key_type,
    const char *label, const unsigned char *id, size_t idlen, char *err,
    size_t errlen);
/* Copies key (RSA or ECDSA P-256, borrowed) into the token as
 * p11make_generate's objects (C_CreateObject); the copies of its
 * private parts made on the way are wiped.  0 or -1 with err set. */
int p11make_import(struct p11make *m, EVP_PKEY *key, const char *label,
    const unsigned char *id, size_t idlen, char *err, size_t errlen);
/* The RFC 7512 URI of the private key labelled label in m's token
 * (token=, object=, type=private), formatted by p11-kit.  0 or -1. */
int p11make_uri(const struct p11make *m, const char *label, char *out,
    size_t outlen);
/* A fresh CKA_ID from the CSPRNG.  0 or -1. */
int p11make_new_id(unsigned char id[CA_TOKEN_ID_LEN]);
/* The token label an RFC 7512 URI names (token=...), into label.  0, or
 * -1 (no such attribute, not a URI, too long). */
int p11make_uri_token(const char *uri, char *label, size_t labellen);

/* ---- lint.c: checks before the CA key signs a certificate ---------------- */

/* What a certificate for one registration must be exactly (RFC 5280 and
 * the profile); everything comes from the ledger's entries and the
 * configuration, nothing from the requester. */
struct ca_lint_want {
	X509 *issuer;			/* issuing CA: name, key type, SKI */
	enum est_profile profile;
	const char *cn;			/* registered name: the subject CN */
	const struct est_names *names;	/* registered SANs, exactly */
	const uint8_t *spki;		/* registered key, canonical DER */
	size_t spki_len;
	time_t key_not_before, key_not_after;	/* the key's window */
	time_t now;
	/* As issue_build writes them; NULL: the certificate has none. */
	const char *ocsp_url;		/* AIA OCSP */
	const char *ca_issuers_url;	/* AIA caIssuers */
	const char *crl_url;		/* CRL distribution point */
	/* The profile's options (ca_profile_get; borrowed); NULL: its
	 * defaults.  With no_rev_avail, ocsp_url and crl_url must not be
	 * in the certificate and noRevAvail must. */
	const struct ca_profile *prof;
};

/* Pre-issuance lint of a DER TBSCertificate: 0, or -1 with why naming
 * the failed check ("lint: <check>: <detail>", one line). */
int ca_lint_tbs(const uint8_t *tbs, size_t len, const struct ca_lint_want *w,
    char *why, size_t whylen);
/* Network side: the DER TBSCertificate of an unsigned certificate from
 * issue_build, its inner signature AlgorithmIdentifier set for the
 * issuer's key type (what the ledger records).  0 or -1. */
int ca_tbs_der(X509 *cert, X509 *issuer, uint8_t **der, size_t *len);
/* Key side: signs exactly the bytes tbs (DER, whose inner
 * AlgorithmIdentifier must be the one key signs with), verifies the
 * signature with key's public half, and writes the certificate's DER
 * (that TBS byte for byte, the algorithm, the signature) into *cert
 * (OPENSSL_free it).  It checks no content: ca_lint_tbs (through
 * ca_cert_admit) does, before.  Never decodes the key in the TBS (what
 * d2i_X509 costs in OpenSSL 3.0).  0, or -1 with why set. */
int ca_sign_tbs_der(const uint8_t *tbs, size_t len, EVP_PKEY *key,
    uint8_t **cert, size_t *certlen, char *why, size_t whylen);
/* ca_sign_tbs_der, parsed: the certificate, whose TBS (i2d_re_X509_tbs)
 * is checked to be the bytes tbs.  NULL with why set. */
X509 *ca_sign_tbs(const uint8_t *tbs, size_t len, EVP_PKEY *key, char *why,
    size_t whylen);

/* ---- admit.c: the CA signs only what the ledger committed ----------------- */

/* What the key process is shown before it signs a certificate: the
 * cert-issued entry recording the TBS and the key-register entry of its
 * key, each with its RFC 9162 inclusion proof in the tree of checkpoint. */
struct ca_cert_req {
	const char *checkpoint;		/* the signed checkpoint note */
	const char *entry;		/* the cert-issued entry note */
	uint64_t entry_index;
	const uint8_t (*entry_proof)[LEDGER_HASH_LEN];
	size_t entry_nproof;
	const char *reg;		/* the key-register entry note */
	uint64_t reg_index;
	const uint8_t (*reg_proof)[LEDGER_HASH_LEN];
	size_t reg_nproof;
	/* Optional (borrowed, may be NULL): the unsigned certificate the
	 * bridge built, whose TBS the entry records.  A signer may set the
	 * CA's signature into it and hand it back (up-ref'd) rather than
	 * parse the signed DER anew: OpenSSL 3.0 builds a decoder chain for
	 * every public key it parses (a tenth of an enrollment's CPU). */
	X509 *cert;
};

/* The key process's side of ca_cert_admit. */
struct ca_admit_ctx {
	X509 *issuer;
	const char *issuer_id;		/* lowercase hex SKI */
	const char *origin;		/* the ledger's origin line */
	/* Is this checkpoint note signed as the configured trust requires
	 * (today the node's checkpoint key; with validators, a quorum of
	 * cosignatures)?  Fills its size and root.  The one function the
	 * validators issue replaces.  0, or -1 with why set. */
	int (*checkpoint_ok)(void *arg, const char *note, uint64_t *size,
	    uint8_t root[LEDGER_HASH_LEN], char *why, size_t whylen);
	void *checkpoint_arg;
	const char *ocsp_url, *ca_issuers_url, *crl_url;
	/* The bridge account whose cert-issued entries this CA signs (the
	 * account whose ledger key the key process holds too). */
	const char *account;
	time_t now;
	/* Entries below this index were signed (or given up) before: each
	 * committed TBS is signed at most once. */
	uint64_t min_index;
	/* The configuration whose profile options (ca_profile_get) the
	 * certificate must keep to; NULL: the profiles' defaults. */
	const struct bridge_config *cfg;
};

/* Checks r all the way (checkpoint, both inclusion proofs, entry types
 * and fields, the key-register entry is the TBS's key, lint) and hands
 * back the TBS bytes to sign (malloc'd).  0, or -1 with why naming the
 * refusal. */
int ca_cert_admit(const struct ca_cert_req *r, const struct ca_admit_ctx *c,
    uint8_t **tbs, size_t *tbslen, char *why, size_t whylen);

/* ---- profile.c, subject.c: profile options, CA names (PROF17) --------- */

#define CA_HOUR_SECS		((time_t)60 * 60)
/* The profiles' days (ISSUE_*_DAYS, issue.c's section) in hours. */
#define CA_DEVICE_HOURS_MAX	(ISSUE_DEVICE_DAYS * 24L)
#define CA_SERVER_HOURS_MAX	(ISSUE_SERVER_DAYS * 24L)
#define CA_ADMIN_HOURS_MAX	(ISSUE_ADMIN_DAYS * 24L)
/* RFC 9608 noRevAvail only on a short-lived certificate: the CA/Browser
 * Forum's Baseline Requirements 4.9.1.1 / 7.1.2.11.2 allow a subscriber
 * certificate without OCSP and CRL pointers when it lives at most 7
 * days (the 2026 bound; 10 before). */
#define CA_NOREVAVAIL_HOURS_MAX	(7L * 24)
#define CA_OID_MAX		128	/* bytes of a dotted OID we accept */
#define CA_NAME_CHARS_MAX	64	/* X.520 ub-organization-name, ub-
					 * organizational-unit-name */

/* What the configuration says one profile's certificates are (the
 * <profile>_validity_hours, _no_rev_avail and _policy_oid keys).  The
 * same answer on both sides of the signature: issue_build writes it,
 * the pre-issuance lint (in the key process) demands it. */
struct ca_profile {
	time_t validity;		/* s from notBefore's now to notAfter */
	time_t max;			/* s: the profile's longest (its days) */
	const char *policy_oid;		/* dotted OID (borrowed) or NULL */
	int no_rev_avail;		/* 1: no OCSP URL, no CRL point, and
					 * noRevAvail (2.5.29.56, NULL) */
	/* Issue 18: crl_partitions.  > 1: the CRL point is the serial's
	 * partition of the configured CRL URL and freshestCRL names its
	 * delta (ocsp/crlurl.c); else the CRL URL as configured. */
	int crl_partitions;
};

/* Fills out for profile p from c (NULL: the profile's defaults: its
 * days, no policy, revocation pointers).  0, or -1 for an unknown
 * profile or an option out of its bounds (config_load refuses those
 * already; the key process refuses to sign then). */
int ca_profile_get(const struct bridge_config *c, enum est_profile p,
    struct ca_profile *out);
/* The profile options of c against their bounds: validity 1 hour to the
 * profile's days, noRevAvail only with a validity of at most
 * CA_NOREVAVAIL_HOURS_MAX, each policy a dotted OID (ca_oid_check), and
 * the CA names (ca_subject_check).  0, or -1 with *key the setting at
 * fault and why the complaint (to follow "<key> "). */
int ca_profile_config_check(const struct bridge_config *c, const char **key,
    char *why, size_t whylen);
/* 0 when s is a certificate policy OID we put in an end-entity
 * certificate: dotted decimal of at least two arcs (X.660: the first 0,
 * 1 or 2; the second at most 39 under 0 and 1), no leading zeros, at
 * most CA_OID_MAX bytes, not anyPolicy (2.5.29.32.0, for CAs).  Else -1
 * with why. */
int ca_oid_check(const char *s, char *why, size_t whylen);
/* 0 when v may be the CA names' countryName (country: an ISO 3166-1
 * alpha-2 code, two upper-case letters, X.520 PrintableString) or
 * organizationName / organizationalUnitName (UTF-8 without control
 * characters or blanks at either end, 1 to CA_NAME_CHARS_MAX
 * characters, X.520's bounds).  Else -1 with why (to follow the
 * setting's name). */
int ca_subject_check(const char *v, int country, char *why, size_t whylen);
/* The subject of a CA certificate keybridge makes (root, issuing CA,
 * OCSP signer; init and rollover): C, O, OU as configured in c (each
 * only when set) then CN cn, the RDNs in that order, C a
 * PrintableString, the rest UTF8Strings.  A new X509_NAME (the caller
 * frees it), or NULL with err set. */
X509_NAME *ca_subject_name(const struct bridge_config *c, const char *cn,
    char *err, size_t errlen);

/* ---- issue.c: certificates from a registration ------------------------- */

#define ISSUE_DEVICE_DAYS 365
#define ISSUE_SERVER_DAYS 90
#define ISSUE_ADMIN_DAYS 30		/* operators' API client certs */
#define ISSUE_BACKDATE    300	/* notBefore this far back: clock skew */
#define ISSUE_FUTURE_MAX  60	/* notBefore at most this far ahead (the
				 * lint refuses more) */

struct issue_params {
	enum est_profile profile;
	const char *cn;			/* subject CN: the registered name */
	const struct est_names *names;	/* SANs: the registered names */
	EVP_PKEY *pubkey;		/* the CSR's key (borrowed) */
	/* The CSR's SubjectPublicKeyInfo as parsed (borrowed), or NULL.
	 * When set it is copied into the certificate field by field: the
	 * same key as pubkey, without OpenSSL 3.0's encoder and decoder
	 * round trip that X509_set_pubkey() makes (a third of an
	 * enrollment's CPU time on the event loop). */
	const X509_PUBKEY *spki;
	X509 *issuer;			/* issuing CA certificate (borrowed) */
	time_t now;
	time_t key_not_before, key_not_after;	/* the key's ledger window */
	const char *ocsp_url;		/* AIA OCSP */
	const char *ca_issuers_url;	/* AIA caIssuers */
	const char *crl_url;		/* CRL distribution point */
	/* The profile's options (borrowed); NULL: its defaults. */
	const struct ca_profile *prof;
};

/* Builds the unsigned certificate: v3, a fresh 128-bit positive serial
 * from the CSPRNG, validity [now - ISSUE_BACKDATE, now + the profile's
 * validity] capped to the key's window, basicConstraints CA:FALSE
 * (critical), keyUsage and extendedKeyUsage from the profile (device:
 * clientAuth, server: serverAuth), SKI, AKI, SAN, AIA, CRL DP, and the
 * profile's certificatePolicies and noRevAvail (which drops the OCSP URL
 * and the CRL DP).  The key is EC or RSA, or Ed25519 in the device
 * profile (RFC 8410).  Returns a new X509
 * (get1) or NULL with err set. */
X509 *issue_build(const struct issue_params *p, char *err, size_t errlen);
/* Lowercase hex of a certificate's serial without leading zeros (the
 * ledger's form).  out holds 41 bytes.  0 or -1. */
int issue_serial_hex(const X509 *cert, char out[41]);
/* Issue 18: the CRL distribution point of the certificate of serial
 * (lowercase hex, the ledger's form) for the configured CRL URL
 * crl_url, and its freshestCRL ("" when none):
 * with partitions > 1 its partition's and that one's delta
 * (ocsp/crlurl.c), else crl_url and none.  0, or -1 when crl_url cannot
 * be partitioned. */
int ca_crl_urls(const char *serial, const char *crl_url, int partitions,
    char cdp[OCSPR_URL_MAX], char freshest[OCSPR_URL_MAX]);

#endif
