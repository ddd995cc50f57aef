/*
 * crlurl.c: which CRL partition a certificate belongs to and the URLs of
 * the partitions and their delta CRLs (docs/design.md "Partitioned and
 * delta CRLs").  Issuance (bridge/ca/issue.c), the pre-issuance lint
 * (bridge/ca/lint_ext.c) and the CRL builder (crl.c) all ask here, so the
 * certificate's CRL distribution point and the partition CRL's issuing
 * distribution point (RFC 5280 5.2.5) are the same bytes.
 *
 * A partition is fixed at issuance by the serial: its low byte modulo n,
 * n a power of two up to OCSPR_CRL_PARTS_MAX (serials are 128 random
 * bits, so the partitions are even).  n is part of the URL,
 *
 *	full CRL	<base>/crl/<issuer>.crl		(as before issue 18)
 *	its delta	<base>/crl/<issuer>.delta.crl
 *	partition p	<base>/crl/<issuer>/<n>/<p>.crl
 *	its delta	<base>/crl/<issuer>/<n>/<p>.delta.crl
 *
 * so that a certificate issued under another crl_partitions never
 * points at a partition that does not list it: its URL is then not
 * served (a client fails closed) while the full CRL and OCSP still
 * answer for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocsp/ocsp.h"

#define OCSPR_CRL_SUFFIX_LEN 4		/* ".crl" */

/* See ocsp.h. */
int
ocspr_crlurl_parts_ok(long n)
{
	return n >= 1 && n <= OCSPR_CRL_PARTS_MAX && (n & (n - 1)) == 0;
}

/* See ocsp.h. */
int
ocspr_crlurl_partition(const char *serial, int n)
{
	size_t len;
	char low[3];

	if (serial == NULL || !ocspr_crlurl_parts_ok(n) ||
	    (len = strnlen(serial, OCSPR_SERIAL_MAX + 1)) == 0 ||
	    len > OCSPR_SERIAL_MAX ||
	    strspn(serial, "0123456789abcdef") != len)
		return -1;
	/* the low byte: the last two hex digits (one for a short serial) */
	snprintf(low, sizeof(low), "%s", serial + (len > 2 ? len - 2 : 0));
	return (int)(strtoul(low, NULL, 16) & (unsigned long)(n - 1));
}

/* See ocsp.h. */
int
ocspr_crlurl_make(const char *full, int n, int p, int delta, char *out,
    size_t outlen)
{
	size_t len = full != NULL ? strlen(full) : 0;
	int w;

	if (len <= OCSPR_CRL_SUFFIX_LEN || strcmp(full + len -
	    OCSPR_CRL_SUFFIX_LEN, ".crl") != 0 || !ocspr_crlurl_parts_ok(n) ||
	    p >= n || len > (size_t)INT32_MAX)
		return -1;
	len -= OCSPR_CRL_SUFFIX_LEN;
	if (p < 0)
		w = snprintf(out, outlen, "%.*s%s.crl", (int)len, full,
		    delta ? ".delta" : "");
	else
		w = snprintf(out, outlen, "%.*s/%d/%d%s.crl", (int)len, full,
		    n, p, delta ? ".delta" : "");
	return w < 0 || (size_t)w >= outlen ? -1 : 0;
}
