/*
 * pending_stub.c: TEMPORARY stand-ins for the LINT part (lint.c:
 * ca_lint_tbs, ca_tbs_der, ca_sign_tbs) and the COMMIT part (admit.c:
 * ca_cert_admit), so the key process's SIGN_CERT builds before they land.
 * Each refuses.  The lead deletes this file at merge.
 */
#include <stdio.h>

#include "bridge/ca/ca.h"

#define PENDING_WHY "not built yet"

int
ca_lint_tbs(const uint8_t *tbs, size_t len, const struct ca_lint_want *w,
    char *why, size_t whylen)
{
	snprintf(why, whylen, "lint: %s", PENDING_WHY);
	return -1;
}

int
ca_tbs_der(X509 *cert, X509 *issuer, uint8_t **der, size_t *len)
{
	return -1;
}

X509 *
ca_sign_tbs(const uint8_t *tbs, size_t len, EVP_PKEY *key, char *why,
    size_t whylen)
{
	snprintf(why, whylen, "ca_sign_tbs: %s", PENDING_WHY);
	return NULL;
}

int
ca_cert_admit(const struct ca_cert_req *r, const struct ca_admit_ctx *c,
    uint8_t **tbs, size_t *tbslen, char *why, size_t whylen)
{
	snprintf(why, whylen, "ca_cert_admit: %s", PENDING_WHY);
	return -1;
}
