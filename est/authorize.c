/*
 * authorize.c: may this registration enroll? (DESIGN.md "The trust rule",
 * points 1 and 2, and "Issuance": the CSR's names must fit the
 * registration.)
 *
 * bridge/ reads the ledger and hands over a read-only view; the decision
 * and its one-line reason are made here, so every route (simpleenroll,
 * simplereenroll, serverkeygen) refuses with the same words.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "est/est.h"
#include "est/est_int.h"

#define EST_AUTH_REFUSED  403
#define EST_AUTH_TIME_MAX 32	/* "2026-11-21T14:18:36Z" */
#define EST_AUTH_IP_MAX   16	/* struct in6_addr */

/* RFC 3339 UTC, as the ledger writes times. */
static void
est_authorize_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

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

/* The decision; see est.h.  profile 0 (no label) takes the registered
 * one.  The asked names must be a subset of the registered names: asking
 * for none is allowed (the certificate carries the registered names). */
int
est_authorize(const struct est_registration *reg, enum est_profile
    profile, const struct est_names *asked, time_t now, char *why,
    size_t whylen)
{
	char nb[EST_AUTH_TIME_MAX], na[EST_AUTH_TIME_MAX];
	int i;

	if (reg == NULL || !reg->found) {
		est_why(why, whylen, "the CSR's key is not "
		    "registered on the ledger");
		return EST_AUTH_REFUSED;
	}
	if (reg->revoked) {
		est_why(why, whylen, "key is revoked on the ledger");
		return EST_AUTH_REFUSED;
	}
	if (now < reg->not_before || now >= reg->not_after) {
		est_authorize_time(reg->not_before, nb, sizeof(nb));
		est_authorize_time(reg->not_after, na, sizeof(na));
		est_why(why, whylen, "outside the key's validity "
		    "window (%s to %s)", nb, na);
		return EST_AUTH_REFUSED;
	}
	if (profile != 0 && profile != reg->profile) {
		est_why(why, whylen, "registered for profile %s, "
		    "not %s", est_profile_name(reg->profile),
		    est_profile_name(profile));
		return EST_AUTH_REFUSED;
	}
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
