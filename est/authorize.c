/*
 * authorize.c: may this CSR ask for these names? (docs/design.md
 * "Issuance": the CSR's names must fit the registration.)
 *
 * Whether the key may get a certificate at all (registered, not revoked,
 * inside its window, its profile, one current certificate) is the ledger's
 * trust rule, which bridge/ asks (ledger_check_issue).  What is EST's own
 * is the request: the subjectAltNames a CSR asks for must be among the
 * names registered for its key, which bridge/ shows here as a read-only
 * view, so every route (simpleenroll, simplereenroll, serverkeygen)
 * refuses with the same words.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "est/est.h"
#include "est/est_int.h"

#define EST_AUTH_REFUSED  403
#define EST_AUTH_IP_MAX   16	/* struct in6_addr */

/* Printable address -> family and bytes; 0 or -1. */
static int
est_authorize_ip(const char *s, int *af, unsigned char bin[EST_AUTH_IP_MAX])
{
	memset(bin, 0, EST_AUTH_IP_MAX);
	if (inet_pton(AF_INET, s, bin) == 1) {
		*af = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, bin) == 1) {
		*af = AF_INET6;
		return 0;
	}
	return -1;
}

/* Is the asked address among the registered ones?  Compared as bytes, so
 * "::1" and "0:0:0:0:0:0:0:1" are the same name. */
static int
est_authorize_has_ip(const struct est_names *reg, const char *ip)
{
	unsigned char a[EST_AUTH_IP_MAX], b[EST_AUTH_IP_MAX];
	int afa, afb, i;

	if (est_authorize_ip(ip, &afa, a) != 0)
		return 0;
	for (i = 0; i < reg->nip && i < EST_MAX_NAMES; i++)
		if (est_authorize_ip(reg->ip[i], &afb, b) == 0 &&
		    afa == afb && memcmp(a, b, sizeof(a)) == 0)
			return 1;
	return 0;
}

/* DNS names compare case-insensitively (RFC 4343). */
static int
est_authorize_has_dns(const struct est_names *reg, const char *dns)
{
	int i;

	for (i = 0; i < reg->ndns && i < EST_MAX_NAMES; i++)
		if (strcasecmp(reg->dns[i], dns) == 0)
			return 1;
	return 0;
}

/* The decision; see est.h.  The asked names must be a subset of the
 * registered names: asking for none is allowed (the certificate carries
 * the registered names). */
int
est_authorize(const struct est_registration *reg,
    const struct est_names *asked, char *why, size_t whylen)
{
	int i;

	if (asked == NULL)
		return 0;
	for (i = 0; i < asked->ndns && i < EST_MAX_NAMES; i++)
		if (!est_authorize_has_dns(&reg->names, asked->dns[i])) {
			est_why(why, whylen, "name %s not "
			    "registered for this key", asked->dns[i]);
			return EST_AUTH_REFUSED;
		}
	for (i = 0; i < asked->nip && i < EST_MAX_NAMES; i++)
		if (!est_authorize_has_ip(&reg->names, asked->ip[i])) {
			est_why(why, whylen, "name %s not "
			    "registered for this key", asked->ip[i]);
			return EST_AUTH_REFUSED;
		}
	return 0;
}
