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

#include "est/est.h"
#include "ledger/ledger.h"
#include "bridge/config.h"

/* ---- pki.c: the CA chain, OCSP signer and TLS certificate for init ----- */

struct pki_init_opts {
	const char *name;		/* CN prefix, e.g. "keybridge" */
	const char *const *hostnames;	/* extra TLS SANs (DNS or IP) */
	size_t nhostnames;
	const char *key_type;		/* "ec-p256" (default) or "rsa-3072" */
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

/* ---- signer.c: the private keys, behind an interface ------------------- */

/*
 * Every use of the issuing CA key and of the bridge account's ledger key
 * goes through a signer; network-facing code holds a struct signer * and
 * never key bytes.  This implementation keeps the keys in-process; the
 * interface is shaped so it can move into a key process reached over a
 * socketpair (as OpenBSD acme-client's keyproc) or a PKCS#11 token: each
 * call hands over what to sign and gets the signed object back.
 */
struct signer;
struct ca_cert_req;		/* admit.c, below */

/* Loads the issuing CA (cert + key) and the bridge account key named in
 * cfg.  NULL with err set. */
struct signer *signer_open(const struct bridge_config *cfg, char *err,
    size_t errlen);
void signer_free(struct signer *s);
/* Signs cert (issuer name, validity, extensions already set) with the
 * issuing CA key: ECDSA with SHA-256, or RSA PKCS#1 v1.5 with SHA-256.
 * 0 or -1. */
int signer_sign_cert(struct signer *s, X509 *cert);
/* The CA signs only what the ledger committed (admit.c): req shows the
 * cert-issued entry recording the TBS and its key's key-register entry,
 * each with its inclusion proof in the tree of req->checkpoint; when
 * ca_cert_admit holds, the TBS is signed with the issuing CA key and
 * *cert is the certificate (get1).  0; -1 refused (why says which check,
 * one line); -2 the key process is unavailable (answer 503 with
 * Retry-After).  Each committed TBS is signed at most once. */
int signer_sign_committed(struct signer *s, const struct ca_cert_req *req,
    X509 **cert, char *why, size_t whylen);
/* Appends the bridge account's signature line to an entry note (as
 * ledger_entry_sign does).  Returns the new malloc'd note (note is freed)
 * or NULL. */
char *signer_sign_entry(struct signer *s, char *note);
/* Signs an OCSP basic response with the delegated OCSP signer (ECDSA or
 * RSA with SHA-256, responderID byKey, the signer certificate in certs).
 * Safe to call from another thread than the other calls.  0 or -1. */
int signer_sign_ocsp(struct signer *s, OCSP_BASICRESP *bs);
/* Signs a CRL naming the issuing CA with its key (SHA-256).  Safe to call
 * from another thread.  0 or -1. */
int signer_sign_crl(struct signer *s, X509_CRL *crl);
/* The delegated OCSP signer's certificate (get0). */
X509 *signer_ocsp_cert(struct signer *s);
/* The issuing CA certificate (get0) and its issuer id: lowercase hex of
 * its subjectKeyIdentifier (the <issuer> of CRL URLs and ledger entries). */
X509 *signer_issuer(struct signer *s);
const char *signer_issuer_id(struct signer *s);

/* ---- token.c: where a private key lives -------------------------------- */

/* Loads the private key a configuration value names: a file path
 * (resolved against cfg->dir; mode 0600 or stricter, as ledger_key_load)
 * or an RFC 7512 `pkcs11:` URI, reached through cfg's PKCS#11 module and
 * PIN file; then the key's bytes never leave the token and the EVP_PKEY
 * only refers to it.  what names the key in errors ("issuing CA key").
 * Called only in the key process.  A new EVP_PKEY or NULL with err set. */
EVP_PKEY *ca_key_load(const struct bridge_config *cfg, const char *value,
    const char *what, char *err, size_t errlen);

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
	const char *ocsp_url;		/* AIA OCSP */
	const char *ca_issuers_url;	/* AIA caIssuers */
	const char *crl_url;		/* CRL distribution point */
};

/* Pre-issuance lint of a DER TBSCertificate: 0, or -1 with why naming
 * the failed check ("lint: <check>: <detail>", one line). */
int ca_lint_tbs(const uint8_t *tbs, size_t len, const struct ca_lint_want *w,
    char *why, size_t whylen);
/* Network side: the DER TBSCertificate of an unsigned certificate from
 * issue_build, its inner signature AlgorithmIdentifier set for the
 * issuer's key type (what the ledger records).  0 or -1. */
int ca_tbs_der(X509 *cert, X509 *issuer, uint8_t **der, size_t *len);
/* Key side: signs exactly the bytes tbs (whose inner AlgorithmIdentifier
 * must be the one key signs with) and returns the certificate: that TBS,
 * the algorithm, the signature.  NULL with why set. */
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
};

/* Checks r all the way (checkpoint, both inclusion proofs, entry types
 * and fields, the key-register entry is the TBS's key, lint) and hands
 * back the TBS bytes to sign (malloc'd).  0, or -1 with why naming the
 * refusal. */
int ca_cert_admit(const struct ca_cert_req *r, const struct ca_admit_ctx *c,
    uint8_t **tbs, size_t *tbslen, char *why, size_t whylen);

/* ---- issue.c: certificates from a registration ------------------------- */

#define ISSUE_DEVICE_DAYS 365
#define ISSUE_SERVER_DAYS 90
#define ISSUE_ADMIN_DAYS 30		/* operators' API client certs */
#define ISSUE_BACKDATE    300	/* notBefore this far back: clock skew */

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
};

/* Builds the unsigned certificate: v3, a fresh 128-bit positive serial
 * from the CSPRNG, validity [now - ISSUE_BACKDATE, now + profile days]
 * capped to the key's window, basicConstraints CA:FALSE (critical),
 * keyUsage and extendedKeyUsage from the profile (device: clientAuth,
 * server: serverAuth), SKI, AKI, SAN, AIA, CRL DP.  Returns a new X509
 * (get1) or NULL with err set. */
X509 *issue_build(const struct issue_params *p, char *err, size_t errlen);
/* Lowercase hex of a certificate's serial without leading zeros (the
 * ledger's form).  out holds 41 bytes.  0 or -1. */
int issue_serial_hex(const X509 *cert, char out[41]);

#endif
