/*
 * profile.c: what the configuration adds to a certificate profile
 * (device, server, admin; docs/design.md "Profile options").
 *
 *	<profile>_validity_hours = 24	 shorter than the profile's days
 *	<profile>_no_rev_avail = 1	 no OCSP URL, no CRL point, and
 *					 RFC 9608 noRevAvail instead
 *	<profile>_policy_oid = 1.3.6.1.4.1.99999.1	certificatePolicies
 *
 * A short-lived certificate needs no revocation checking: RFC 9608 names
 * the extension that says so (id-ce-noRevAvail, 2.5.29.56, value NULL),
 * and the CA/Browser Forum's Baseline Requirements let a subscriber
 * certificate omit its OCSP and CRL pointers when it lives at most 7
 * days (CA_NOREVAVAIL_HOURS_MAX).  The bridge still answers OCSP for such
 * a serial and lists it on the CRL when revoked: nothing in a client is
 * told to ask.
 *
 * issue_build writes what ca_profile_get answers and the pre-issuance
 * lint, in the key process, demands exactly it, from the key process's
 * own copy of the configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "bridge/ca/ca.h"
#include "ocsp/ocsp.h"

#define PROFILE_ANY_POLICY	"2.5.29.32.0"	/* RFC 5280 4.2.1.4 */
#define PROFILE_ARC2_MAX	39	/* X.690 8.19.4: under arcs 0 and 1 */
#define PROFILE_ARC_DIGITS	20	/* an arc we accept: < 10^20 */

/* One profile's settings in struct bridge_config. */
struct profile_keys {
	enum est_profile p;
	const char *hours_key, *norev_key, *oid_key;
	long hours_max;
};

static const struct profile_keys profile_keys[] = {
	{ EST_PROFILE_DEVICE, "device_validity_hours", "device_no_rev_avail",
	    "device_policy_oid", CA_DEVICE_HOURS_MAX },
	{ EST_PROFILE_SERVER, "server_validity_hours", "server_no_rev_avail",
	    "server_policy_oid", CA_SERVER_HOURS_MAX },
	{ EST_PROFILE_ADMIN, "admin_validity_hours", "admin_no_rev_avail",
	    "admin_policy_oid", CA_ADMIN_HOURS_MAX },
};
#define PROFILE_N (sizeof(profile_keys) / sizeof(profile_keys[0]))

/* c's three settings of profile p (zero and "" when c is NULL). */
static void
profile_settings(const struct bridge_config *c, enum est_profile p,
    long *hours, long *norev, const char **oid)
{
	*hours = 0;
	*norev = 0;
	*oid = "";
	if (c == NULL)
		return;
	switch (p) {
	case EST_PROFILE_DEVICE:
		*hours = c->device_validity_hours;
		*norev = c->device_no_rev_avail;
		*oid = c->device_policy_oid;
		break;
	case EST_PROFILE_SERVER:
		*hours = c->server_validity_hours;
		*norev = c->server_no_rev_avail;
		*oid = c->server_policy_oid;
		break;
	case EST_PROFILE_ADMIN:
		*hours = c->admin_validity_hours;
		*norev = c->admin_no_rev_avail;
		*oid = c->admin_policy_oid;
		break;
	}
}

/* See ca.h. */
int
ca_oid_check(const char *s, char *why, size_t whylen)
{
	size_t len = s != NULL ? strnlen(s, CA_OID_MAX + 1) : 0, i, digits;
	unsigned long first = 0, second = 0;
	int arcs = 0;
	ASN1_OBJECT *o = NULL;

	if (len == 0 || len > CA_OID_MAX) {
		snprintf(why, whylen, "must be a dotted OID of 1 to %d bytes",
		    CA_OID_MAX);
		return -1;
	}
	for (i = 0; i <= len; i++) {
		digits = strspn(s + i, "0123456789");
		if (digits == 0 || digits > PROFILE_ARC_DIGITS ||
		    (digits > 1 && s[i] == '0') ||
		    (s[i + digits] != '.' && s[i + digits] != '\0')) {
			snprintf(why, whylen, "\"%.*s\" is not a dotted OID "
			    "(arcs of digits without leading zeros, e.g. "
			    "1.3.6.1.4.1.99999.1)", CA_OID_MAX, s);
			return -1;
		}
		if (arcs == 0)
			first = strtoul(s + i, NULL, 10);
		else if (arcs == 1)
			second = strtoul(s + i, NULL, 10);
		arcs++;
		i += digits;
	}
	if (arcs < 2 || first > 2 || (first < 2 && second > PROFILE_ARC2_MAX)) {
		snprintf(why, whylen, "\"%s\" is not an OID: at least two "
		    "arcs, the first 0, 1 or 2, the second at most 39 under "
		    "0 and 1 (X.660)", s);
		return -1;
	}
	if (strcmp(s, PROFILE_ANY_POLICY) == 0) {
		snprintf(why, whylen, "is anyPolicy (2.5.29.32.0), which "
		    "only CA certificates may carry");
		return -1;
	}
	if ((o = OBJ_txt2obj(s, 1)) == NULL) {
		ERR_clear_error();
		snprintf(why, whylen, "\"%s\" cannot be encoded as an OID", s);
		return -1;
	}
	ASN1_OBJECT_free(o);
	return 0;
}

/* See ca.h. */
int
ca_profile_get(const struct bridge_config *c, enum est_profile p,
    struct ca_profile *out)
{
	const char *oid;
	long hours, norev, max = 0;
	size_t i;
	char why[CONFIG_STR];

	memset(out, 0, sizeof(*out));
	for (i = 0; i < PROFILE_N; i++)
		if (profile_keys[i].p == p)
			max = profile_keys[i].hours_max;
	if (max == 0)
		return -1;
	profile_settings(c, p, &hours, &norev, &oid);
	out->max = (time_t)max * CA_HOUR_SECS;
	out->validity = hours > 0 ? (time_t)hours * CA_HOUR_SECS : out->max;
	out->no_rev_avail = norev != 0;
	out->policy_oid = oid[0] != '\0' ? oid : NULL;
	out->crl_partitions = c != NULL ? (int)c->crl_partitions : 1;
	if (!ocspr_crlurl_parts_ok(out->crl_partitions))
		return -1;
	if (hours < 0 || hours > max || (norev != 0 && norev != 1) ||
	    (out->no_rev_avail && (hours == 0 ||
	    hours > CA_NOREVAVAIL_HOURS_MAX)) ||
	    (out->policy_oid != NULL &&
	    ca_oid_check(out->policy_oid, why, sizeof(why)) != 0))
		return -1;
	return 0;
}

/* See ca.h. */
int
ca_profile_config_check(const struct bridge_config *c, const char **key,
    char *why, size_t whylen)
{
	const struct profile_keys *k;
	const char *oid;
	long hours, norev;
	size_t i;

	for (i = 0; i < PROFILE_N; i++) {
		k = &profile_keys[i];
		profile_settings(c, k->p, &hours, &norev, &oid);
		if (hours < 0 || hours > k->hours_max) {
			*key = k->hours_key;
			snprintf(why, whylen, "must be between 0 (the "
			    "profile's days) and %ld", k->hours_max);
			return -1;
		}
		if (norev == 1 && (hours == 0 ||
		    hours > CA_NOREVAVAIL_HOURS_MAX)) {
			*key = k->norev_key;
			snprintf(why, whylen, "= 1 needs %s between 1 and %ld "
			    "(noRevAvail is for short-lived certificates only, "
			    "RFC 9608; CA/B Forum: at most 7 days)",
			    k->hours_key, CA_NOREVAVAIL_HOURS_MAX);
			return -1;
		}
		if (oid[0] != '\0' && ca_oid_check(oid, why, whylen) != 0) {
			*key = k->oid_key;
			return -1;
		}
	}
	if (!ocspr_crlurl_parts_ok(c->crl_partitions)) {
		*key = "crl_partitions";
		snprintf(why, whylen, "must be a power of two from 1 to %d",
		    OCSPR_CRL_PARTS_MAX);
		return -1;
	}
	if (c->ca_subject_c[0] != '\0' && ca_subject_check(
	    c->ca_subject_c, 1, why, whylen) != 0) {
		*key = "ca_subject_c";
		return -1;
	}
	if (c->ca_subject_o[0] != '\0' && ca_subject_check(
	    c->ca_subject_o, 0, why, whylen) != 0) {
		*key = "ca_subject_o";
		return -1;
	}
	if (c->ca_subject_ou[0] != '\0' && ca_subject_check(
	    c->ca_subject_ou, 0, why, whylen) != 0) {
		*key = "ca_subject_ou";
		return -1;
	}
	return 0;
}
