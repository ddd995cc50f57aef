/*
 * pending_stub.c: TEMPORARY stand-in for the COMMIT part (admit.c:
 * ca_cert_admit), so the key process's SIGN_CERT builds before they land.
 * Each refuses.  The lead deletes this file at merge.
 */
#include <stdio.h>

#include "bridge/ca/ca.h"

#define PENDING_WHY "not built yet"

int
ca_cert_admit(const struct ca_cert_req *r, const struct ca_admit_ctx *c,
    uint8_t **tbs, size_t *tbslen, char *why, size_t whylen)
{
	snprintf(why, whylen, "ca_cert_admit: %s", PENDING_WHY);
	return -1;
}
