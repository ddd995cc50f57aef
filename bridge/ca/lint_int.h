/*
 * lint_int.h: what the pre-issuance lint's files (lint.c, lint_ext.c)
 * share; nothing outside bridge/ca/ includes it.
 */
#ifndef KEYBRIDGE_CA_LINT_INT_H
#define KEYBRIDGE_CA_LINT_INT_H

#include <stddef.h>

#include <openssl/x509.h>

#include "bridge/ca/ca.h"

#define LINT_DETAIL_MAX	256	/* the detail of a refusal */
#define LINT_NAME_MAX	80	/* an OID's name or dotted form */

/* RFC 5280 4.1 SubjectPublicKeyInfo, kept as it is: OpenSSL 3.0's
 * X509_PUBKEY decodes the key into an EVP_PKEY as it parses (~100 us for
 * a P-256 key), which the lint never needs. */
struct lint_spki {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
};

/* RFC 5280 4.1 TBSCertificate, as OpenSSL's X509_CINF but for the SPKI.
 * enc keeps the bytes it was parsed from, which i2d gives back unless
 * enc.modified is set. */
struct lint_tbs {
	ASN1_ENCODING enc;
	ASN1_INTEGER *version;		/* [0] EXPLICIT, DEFAULT v1 */
	ASN1_INTEGER *serial;
	X509_ALGOR *sigalg;
	X509_NAME *issuer;
	X509_VAL *validity;
	X509_NAME *subject;
	struct lint_spki *spki;
	ASN1_BIT_STRING *iuid;		/* [1] IMPLICIT OPTIONAL */
	ASN1_BIT_STRING *suid;		/* [2] IMPLICIT OPTIONAL */
	STACK_OF(X509_EXTENSION) *exts;	/* [3] EXPLICIT OPTIONAL */
};

/* What one lint run looks at. */
struct lint_ctx {
	const struct ca_lint_want *w;
	struct lint_tbs *t;		/* the TBS, parsed */
	int rsa;			/* the subject key is RSA (else EC) */
	char *why;
	size_t whylen;
	/* PROF17 */
	const struct ca_profile *prof;	/* w's, or the profile's defaults */
	int ed25519;			/* the subject key is Ed25519 */
	time_t nb, na;			/* the validity, once checked */
};

/* Writes "lint: <check>: <detail>" into why; returns -1. */
int lint_refuse(char *why, size_t whylen, const char *check,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sets alg to the AlgorithmIdentifier key signs certificates with:
 * ecdsa-with-SHA256 or sha256WithRSAEncryption.  0, or -1 for another
 * key type. */
int lint_sigalg(const EVP_PKEY *key, X509_ALGOR *alg);
/* The extensions: exactly the profile's set, each once, with RFC 5280
 * criticality, each value in DER and as issue_build makes it.  0, or -1
 * with c->why set. */
int lint_exts(struct lint_ctx *c);

#endif
