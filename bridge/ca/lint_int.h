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

/* What one lint run looks at. */
struct lint_ctx {
	const struct ca_lint_want *w;
	X509 *x;		/* the TBS inside a placeholder certificate */
	int rsa;		/* the subject key is RSA (else EC) */
	char *why;
	size_t whylen;
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
