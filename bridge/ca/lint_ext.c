/*
 * lint_ext.c: the pre-issuance lint of a TBS's extensions (lint.c has the
 * rest): exactly the profile's set, each once, RFC 5280 criticality, each
 * value in DER and equal to what issue_build writes for the registration
 * and the configuration.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bridge/ca/lint_int.h"

#define LINT_IP4_LEN	4
#define LINT_IP6_LEN	16
#define LINT_KU_BITS	9	/* digitalSignature .. decipherOnly */
#define LINT_KU_DS	0	/* RFC 5280 4.2.1.3 bit numbers */
#define LINT_KU_KE	2

/* One extension of the profile. */
struct lint_ext {
	int nid;
	const char *name;		/* the check's name in why */
	int critical;			/* RFC 5280 criticality */
	/* NULL when c's certificate must have it; else why it must not. */
	const char *(*absent)(const struct lint_ctx *c);
	/* The parsed value (raw: its DER) against the want.  0 or -1. */
	int (*check)(struct lint_ctx *c, void *val,
	    const ASN1_OCTET_STRING *raw);
	/* The value's ASN.1 type when OpenSSL has no method for the
	 * extension (noRevAvail in 3.0); NULL: the method's. */
	const ASN1_ITEM *(*item)(void);
};

/* The OCSP and CRL URLs the certificate must carry: none under
 * noRevAvail (RFC 9608 2). */
static const char *
lint_ocsp_url(const struct lint_ctx *c)
{
	return c->prof->no_rev_avail ? NULL : c->w->ocsp_url;
}

static const char *
lint_crl_url(const struct lint_ctx *c)
{
	return c->prof->no_rev_avail ? NULL : c->w->crl_url;
}

static const char *
lint_san_absent(const struct lint_ctx *c)
{
	const struct est_names *n = c->w->names;

	/* RFC 5280 4.2.1.6: no empty SAN; issue_build writes none. */
	return n == NULL || n->ndns + n->nip == 0 ?
	    "the registration has no names" : NULL;
}

static const char *
lint_aia_absent(const struct lint_ctx *c)
{
	return lint_ocsp_url(c) == NULL && c->w->ca_issuers_url == NULL ?
	    "no OCSP or caIssuers URL configured" : NULL;
}

static const char *
lint_cdp_absent(const struct lint_ctx *c)
{
	if (c->prof->no_rev_avail)
		return "the profile says noRevAvail: no CRL point";
	return c->w->crl_url == NULL ? "no CRL URL configured" : NULL;
}

/* Issue 18: freshestCRL only with CRL partitions (ca_crl_urls). */
static const char *
lint_fresh_absent(const struct lint_ctx *c)
{
	const char *why = lint_cdp_absent(c);

	if (why != NULL)
		return why;
	return c->prof->crl_partitions <= 1 ? "no CRL partitions "
	    "configured" : NULL;
}

static const char *
lint_cp_absent(const struct lint_ctx *c)
{
	return c->prof->policy_oid == NULL ? "the profile has no policy OID" :
	    NULL;
}

static const char *
lint_nra_absent(const struct lint_ctx *c)
{
	return !c->prof->no_rev_avail ? "the profile has revocation "
	    "pointers (noRevAvail only on a short-lived certificate)" : NULL;
}

/* RFC 5280 4.2.1.9: CA:FALSE written as the DEFAULT (absent), no path
 * length. */
static int
lint_bc(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	const BASIC_CONSTRAINTS *bc = val;

	if (bc->ca)
		return lint_refuse(c->why, c->whylen, "basicConstraints",
		    "CA:TRUE");
	if (bc->pathlen != NULL)
		return lint_refuse(c->why, c->whylen, "basicConstraints",
		    "pathLenConstraint in an end-entity certificate");
	return 0;
}

/* The names of the bits set in ku, comma-separated, into out. */
static void
lint_ku_names(const ASN1_BIT_STRING *ku, char *out, size_t outlen)
{
	static const char *const names[LINT_KU_BITS] = {
		"digitalSignature", "nonRepudiation", "keyEncipherment",
		"dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
		"encipherOnly", "decipherOnly",
	};
	size_t used = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < ASN1_STRING_length(ku) * 8; i++) {
		if (!ASN1_BIT_STRING_get_bit(ku, i))
			continue;
		if (i < LINT_KU_BITS)
			used += (size_t)snprintf(out + used, outlen - used,
			    "%s%s", used ? "," : "", names[i]);
		else
			used += (size_t)snprintf(out + used, outlen - used,
			    "%sbit%d", used ? "," : "", i);
		if (used >= outlen)
			return;
	}
}

/* RFC 5280 4.2.1.3, as issue_build sets it: digitalSignature, and
 * keyEncipherment for an RSA key (TLS 1.2 RSA key transport); an EC key
 * signs only (no keyAgreement: issue_build sets none), and so does an
 * Ed25519 key (RFC 8410 5: digitalSignature, nonRepudiation, keyCertSign,
 * cRLSign only; never keyEncipherment).  Compared as DER,
 * which also refuses trailing zero bits (X.690 11.2.2). */
static int
lint_ku(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	const ASN1_BIT_STRING *got = val;
	ASN1_BIT_STRING *want = ASN1_BIT_STRING_new();
	char gn[LINT_DETAIL_MAX / 2], wn[LINT_DETAIL_MAX / 2];
	unsigned char *der = NULL;
	int len, rc = -1;

	if (want == NULL ||
	    ASN1_BIT_STRING_set_bit(want, LINT_KU_DS, 1) != 1 ||
	    (c->rsa && ASN1_BIT_STRING_set_bit(want, LINT_KU_KE, 1) != 1) ||
	    (len = i2d_ASN1_BIT_STRING(want, &der)) <= 0) {
		lint_refuse(c->why, c->whylen, "keyUsage", "cannot build the "
		    "profile's");
		goto out;
	}
	if (len == ASN1_STRING_length(raw) &&
	    memcmp(der, ASN1_STRING_get0_data(raw), (size_t)len) == 0) {
		rc = 0;
		goto out;
	}
	lint_ku_names(got, gn, sizeof(gn));
	lint_ku_names(want, wn, sizeof(wn));
	if (strcmp(gn, wn) != 0)
		lint_refuse(c->why, c->whylen, "keyUsage", "%s, want %s for "
		    "an %s key", gn[0] ? gn : "none", wn, c->rsa ? "RSA" :
		    c->ed25519 ? "Ed25519" : "EC");
	else
		lint_refuse(c->why, c->whylen, "keyUsage", "not in DER "
		    "(trailing zero bits)");
out:
	OPENSSL_free(der);
	ASN1_BIT_STRING_free(want);
	return rc;
}

/* RFC 5280 4.2.1.12: the profile's one purpose. */
static int
lint_eku(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	const EXTENDED_KEY_USAGE *eku = val;
	int want = c->w->profile == EST_PROFILE_SERVER ? NID_server_auth :
	    NID_client_auth;
	char got[LINT_NAME_MAX] = "";

	if (sk_ASN1_OBJECT_num(eku) != 1)
		return lint_refuse(c->why, c->whylen, "extKeyUsage", "%d "
		    "purposes, want %s alone", sk_ASN1_OBJECT_num(eku),
		    OBJ_nid2sn(want));
	if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) != want) {
		OBJ_obj2txt(got, sizeof(got), sk_ASN1_OBJECT_value(eku, 0), 0);
		return lint_refuse(c->why, c->whylen, "extKeyUsage", "%s, "
		    "want %s for the %s profile", got, OBJ_nid2sn(want),
		    est_profile_name(c->w->profile));
	}
	return 0;
}

/* RFC 5280 4.2.1.2 method 1: the SHA-1 of the subjectPublicKey BIT
 * STRING's value (without tag, length and unused-bits octet). */
static int
lint_ski(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	const ASN1_OCTET_STRING *ski = val;
	const unsigned char *pk = NULL;
	unsigned char md[SHA_DIGEST_LENGTH];
	unsigned int mdlen = 0;
	int pklen = 0;

	pk = ASN1_STRING_get0_data(c->t->spki->key);
	pklen = ASN1_STRING_length(c->t->spki->key);
	if (EVP_Digest(pk, (size_t)pklen, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != SHA_DIGEST_LENGTH)
		return lint_refuse(c->why, c->whylen, "subjectKeyIdentifier",
		    "cannot hash the subject key");
	if (ASN1_STRING_length(ski) != SHA_DIGEST_LENGTH ||
	    memcmp(ASN1_STRING_get0_data(ski), md, SHA_DIGEST_LENGTH) != 0)
		return lint_refuse(c->why, c->whylen, "subjectKeyIdentifier",
		    "not the SHA-1 of the subject key (RFC 5280 4.2.1.2 "
		    "method 1)");
	return 0;
}

/* RFC 5280 4.2.1.1: keyIdentifier, the issuing CA's SKI; issue_build
 * (keyid:always) writes no authorityCertIssuer and serial. */
static int
lint_aki(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	const AUTHORITY_KEYID *aki = val;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(c->w->issuer);

	if (ski == NULL)
		return lint_refuse(c->why, c->whylen, "authorityKeyIdentifier",
		    "the issuing CA has no subjectKeyIdentifier");
	if (aki->keyid == NULL)
		return lint_refuse(c->why, c->whylen, "authorityKeyIdentifier",
		    "no keyIdentifier");
	if (ASN1_OCTET_STRING_cmp(aki->keyid, ski) != 0)
		return lint_refuse(c->why, c->whylen, "authorityKeyIdentifier",
		    "keyIdentifier is not the issuing CA's "
		    "subjectKeyIdentifier");
	if (aki->issuer != NULL || aki->serial != NULL)
		return lint_refuse(c->why, c->whylen, "authorityKeyIdentifier",
		    "authorityCertIssuer or serial present");
	return 0;
}

/* 1 when g is an IA5String of type type holding exactly s. */
static int
lint_ia5_is(const GENERAL_NAME *g, int type, const char *s)
{
	const ASN1_STRING *v = g->type == type ? g->d.ia5 : NULL;
	size_t n = strlen(s);

	return v != NULL && (size_t)ASN1_STRING_length(v) == n &&
	    memcmp(ASN1_STRING_get0_data(v), s, n) == 0;
}

/* 1 when g is an iPAddress holding printable address s. */
static int
lint_ip_is(const GENERAL_NAME *g, const char *s)
{
	unsigned char ip[LINT_IP6_LEN];
	int len;

	if (g->type != GEN_IPADD)
		return 0;
	if (inet_pton(AF_INET, s, ip) == 1)
		len = LINT_IP4_LEN;
	else if (inet_pton(AF_INET6, s, ip) == 1)
		len = LINT_IP6_LEN;
	else
		return 0;
	return ASN1_STRING_length(g->d.iPAddress) == len &&
	    memcmp(ASN1_STRING_get0_data(g->d.iPAddress), ip,
	    (size_t)len) == 0;
}

/*
 * RFC 5280 4.2.1.6: the registration's names, as a set: each name of the
 * certificate is a registered one not matched before, and every
 * registered name is there.  DNS names compare as the bytes registered
 * (issue_build copies them), IP addresses as addresses.
 */
static int
lint_san(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	const GENERAL_NAMES *gens = val;
	const struct est_names *n = c->w->names;
	const GENERAL_NAME *g;
	char used[2 * EST_MAX_NAMES];
	int i, k, ndns = n->ndns, nip = n->nip;

	if (ndns < 0 || ndns > EST_MAX_NAMES || nip < 0 ||
	    nip > EST_MAX_NAMES)
		return lint_refuse(c->why, c->whylen, "want", "%d DNS and %d "
		    "IP names registered", ndns, nip);
	memset(used, 0, sizeof(used));
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		for (k = 0; k < ndns + nip; k++)
			if (!used[k] && (k < ndns ?
			    lint_ia5_is(g, GEN_DNS, n->dns[k]) :
			    lint_ip_is(g, n->ip[k - ndns])))
				break;
		if (k == ndns + nip)
			return lint_refuse(c->why, c->whylen,
			    "subjectAltName", "name %d (%s) is not a "
			    "registered name, or is there twice", i + 1,
			    g->type == GEN_DNS ? "DNS" : g->type == GEN_IPADD ?
			    "IP" : "neither DNS nor IP");
		used[k] = 1;
	}
	for (k = 0; k < ndns + nip; k++)
		if (!used[k])
			return lint_refuse(c->why, c->whylen,
			    "subjectAltName", "registered %s %s is missing",
			    k < ndns ? "DNS name" : "IP address",
			    k < ndns ? n->dns[k] : n->ip[k - ndns]);
	return 0;
}

/* RFC 5280 4.2.2.1: the configured OCSP URL, then the caIssuers URL, as
 * issue_build writes them (each only when configured). */
static int
lint_aia(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	const AUTHORITY_INFO_ACCESS *aia = val;
	const struct { int nid; const char *url, *what; } want[] = {
		{ NID_ad_OCSP, lint_ocsp_url(c), "OCSP" },
		{ NID_ad_ca_issuers, c->w->ca_issuers_url, "caIssuers" },
	};
	const ACCESS_DESCRIPTION *ad;
	size_t k;
	int i = 0;

	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		if (want[k].url == NULL)
			continue;
		if (i >= sk_ACCESS_DESCRIPTION_num(aia))
			return lint_refuse(c->why, c->whylen,
			    "authorityInfoAccess", "no %s URL", want[k].what);
		ad = sk_ACCESS_DESCRIPTION_value(aia, i++);
		if (OBJ_obj2nid(ad->method) != want[k].nid)
			return lint_refuse(c->why, c->whylen,
			    "authorityInfoAccess", "access description %d is "
			    "not %s", i, want[k].what);
		if (!lint_ia5_is(ad->location, GEN_URI, want[k].url))
			return lint_refuse(c->why, c->whylen,
			    "authorityInfoAccess", "the %s URL is not the "
			    "configured %s", want[k].what, want[k].url);
	}
	if (i != sk_ACCESS_DESCRIPTION_num(aia))
		return lint_refuse(c->why, c->whylen, "authorityInfoAccess",
		    "%d access descriptions, want %d",
		    sk_ACCESS_DESCRIPTION_num(aia), i);
	return 0;
}

/* The CRL point and freshestCRL the certificate's serial gets
 * (ca_crl_urls, as issue_build writes them).  0, or -1 with why set. */
static int
lint_crl_want(struct lint_ctx *c, const char *check, char cdp[OCSPR_URL_MAX],
    char fresh[OCSPR_URL_MAX])
{
	char serial[OCSPR_SERIAL_MAX + 1];

	if (ocspr_serial_hex(c->t->serial, serial) != 0 ||
	    ca_crl_urls(serial, lint_crl_url(c), c->prof->crl_partitions,
	    cdp, fresh) != 0)
		return lint_refuse(c->why, c->whylen, check, "no partition "
		    "URL for this serial and %s", lint_crl_url(c));
	return 0;
}

/* One distribution point, a fullName of the one URL want, no reasons,
 * no cRLIssuer: cRLDistributionPoints and freshestCRL alike. */
static int
lint_dp_one(struct lint_ctx *c, const char *check, const CRL_DIST_POINTS *cdp,
    const char *want)
{
	const DIST_POINT *dp;

	if (sk_DIST_POINT_num(cdp) != 1)
		return lint_refuse(c->why, c->whylen, check,
		    "%d points, want 1", sk_DIST_POINT_num(cdp));
	dp = sk_DIST_POINT_value(cdp, 0);
	if (dp->reasons != NULL || dp->CRLissuer != NULL ||
	    dp->distpoint == NULL || dp->distpoint->type != 0 ||
	    sk_GENERAL_NAME_num(dp->distpoint->name.fullname) != 1)
		return lint_refuse(c->why, c->whylen, check,
		    "not one fullName URI without reasons or cRLIssuer");
	if (!lint_ia5_is(sk_GENERAL_NAME_value(dp->distpoint->name.fullname,
	    0), GEN_URI, want))
		return lint_refuse(c->why, c->whylen, check,
		    "the URL is not the configured %s", want);
	return 0;
}

/* RFC 5280 4.2.1.13: one distribution point, a fullName of the one
 * configured URL (with partitions: the serial's partition of it), no
 * reasons, no cRLIssuer. */
static int
lint_cdp(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	char cdp[OCSPR_URL_MAX], fresh[OCSPR_URL_MAX];

	if (lint_crl_want(c, "crlDistributionPoints", cdp, fresh) != 0)
		return -1;
	return lint_dp_one(c, "crlDistributionPoints", val, cdp);
}

/* RFC 5280 4.2.1.15: freshestCRL, the delta CRL of the serial's
 * partition, in the same shape. */
static int
lint_fresh(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	char cdp[OCSPR_URL_MAX], fresh[OCSPR_URL_MAX];

	if (lint_crl_want(c, "freshestCRL", cdp, fresh) != 0)
		return -1;
	return lint_dp_one(c, "freshestCRL", val, fresh);
}

/* RFC 5280 4.2.1.4, as issue_build writes it: one PolicyInformation,
 * the profile's OID, no qualifiers (the CA/Browser Forum's 7.1.2.7.9
 * wants none in subscriber certificates but the CPS URI, which we do
 * not write). */
static int
lint_cp(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	const CERTIFICATEPOLICIES *cp = val;
	const POLICYINFO *pi;
	char got[LINT_NAME_MAX] = "";

	if (sk_POLICYINFO_num(cp) != 1)
		return lint_refuse(c->why, c->whylen, "certificatePolicies",
		    "%d policies, want %s alone", sk_POLICYINFO_num(cp),
		    c->prof->policy_oid);
	pi = sk_POLICYINFO_value(cp, 0);
	OBJ_obj2txt(got, sizeof(got), pi->policyid, 1);
	if (strcmp(got, c->prof->policy_oid) != 0)
		return lint_refuse(c->why, c->whylen, "certificatePolicies",
		    "%s, want the profile's %s", got, c->prof->policy_oid);
	if (pi->qualifiers != NULL)
		return lint_refuse(c->why, c->whylen, "certificatePolicies",
		    "policy qualifiers present");
	return 0;
}

/* RFC 9608 2: noRevAvail's value is NULL (lint_ext_one checked its DER,
 * 05 00), and it goes only on a certificate that lives at most
 * CA_NOREVAVAIL_HOURS_MAX (the CA/Browser Forum's short-lived bound),
 * whatever the configuration says. */
static int
lint_nra(struct lint_ctx *c, void *val, const ASN1_OCTET_STRING *raw)
{
	if (c->na - c->nb > CA_NOREVAVAIL_HOURS_MAX * CA_HOUR_SECS +
	    ISSUE_BACKDATE)
		return lint_refuse(c->why, c->whylen, "noRevAvail", "on a "
		    "certificate of %lld s, at most %lld (short-lived only)",
		    (long long)(c->na - c->nb),
		    (long long)(CA_NOREVAVAIL_HOURS_MAX * CA_HOUR_SECS +
		    ISSUE_BACKDATE));
	return 0;
}

static const ASN1_ITEM *
lint_null_item(void)
{
	return ASN1_ITEM_rptr(ASN1_NULL);
}

/*
 * The profile's set (issue_build's issue_exts and issue_urls) with RFC
 * 5280 criticality: basicConstraints critical in an end-entity
 * certificate whose key signs (4.2.1.9: "MAY"; issue_build and the CA/B
 * Forum make it critical), keyUsage critical (4.2.1.3 SHOULD), SKI and AKI
 * non-critical (4.2.1.1, 4.2.1.2 MUST), SAN non-critical with a subject
 * (4.2.1.6), AIA non-critical (4.2.2.1 MUST), CRL DP non-critical
 * (4.2.1.13 SHOULD), freshestCRL non-critical (4.2.1.15 SHOULD; with CRL
 * partitions only), EKU non-critical as issue_build writes it.
 */
static const struct lint_ext lint_exts_profile[] = {
	{ NID_basic_constraints, "basicConstraints", 1, NULL, lint_bc, NULL },
	{ NID_key_usage, "keyUsage", 1, NULL, lint_ku, NULL },
	{ NID_ext_key_usage, "extKeyUsage", 0, NULL, lint_eku, NULL },
	{ NID_subject_key_identifier, "subjectKeyIdentifier", 0, NULL,
	    lint_ski, NULL },
	{ NID_authority_key_identifier, "authorityKeyIdentifier", 0, NULL,
	    lint_aki, NULL },
	{ NID_subject_alt_name, "subjectAltName", 0, lint_san_absent,
	    lint_san, NULL },
	{ NID_info_access, "authorityInfoAccess", 0, lint_aia_absent,
	    lint_aia, NULL },
	{ NID_crl_distribution_points, "crlDistributionPoints", 0,
	    lint_cdp_absent, lint_cdp, NULL },
	/* RFC 5280 4.2.1.15: "SHOULD be non-critical" */
	{ NID_freshest_crl, "freshestCRL", 0, lint_fresh_absent, lint_fresh,
	    NULL },
	/* RFC 5280 4.2.1.4 (non-critical as the CA/B Forum's 7.1.2.7.9
	 * wants), RFC 9608 2 (MUST NOT be critical) */
	{ NID_certificate_policies, "certificatePolicies", 0, lint_cp_absent,
	    lint_cp, NULL },
	{ NID_no_rev_avail, "noRevAvail", 0, lint_nra_absent, lint_nra,
	    lint_null_item },
};
#define LINT_NEXTS (sizeof(lint_exts_profile) / sizeof(lint_exts_profile[0]))

/* The profile's entry for nid, or NULL. */
static const struct lint_ext *
lint_ext_find(int nid)
{
	size_t k;

	for (k = 0; k < LINT_NEXTS; k++)
		if (lint_exts_profile[k].nid == nid)
			return &lint_exts_profile[k];
	return NULL;
}

/* 1 when ex, rebuilt from its parts, encodes as it arrived: a critical
 * flag TRUE is 0xff (X.690 11.1), FALSE is absent (the DEFAULT). */
static int
lint_ext_der(X509_EXTENSION *ex)
{
	X509_EXTENSION *re = NULL;
	unsigned char *a = NULL, *b = NULL;
	int la, lb, ok;

	re = X509_EXTENSION_create_by_OBJ(NULL, X509_EXTENSION_get_object(ex),
	    X509_EXTENSION_get_critical(ex), X509_EXTENSION_get_data(ex));
	ok = re != NULL && (la = i2d_X509_EXTENSION(ex, &a)) > 0 &&
	    (lb = i2d_X509_EXTENSION(re, &b)) > 0 && la == lb &&
	    memcmp(a, b, (size_t)la) == 0;
	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_EXTENSION_free(re);
	return ok;
}

/* One extension of the profile: criticality, DER, value.  0 or -1. */
static int
lint_ext_one(struct lint_ctx *c, const struct lint_ext *e,
    X509_EXTENSION *ex)
{
	const ASN1_OCTET_STRING *raw = X509_EXTENSION_get_data(ex);
	const X509V3_EXT_METHOD *m = X509V3_EXT_get(ex);
	const ASN1_ITEM *it = NULL;
	const unsigned char *p = ASN1_STRING_get0_data(raw);
	unsigned char *re = NULL;
	void *val = NULL;
	int rc = -1, len;

	if (X509_EXTENSION_get_critical(ex) != e->critical) {
		lint_refuse(c->why, c->whylen, e->name, e->critical ?
		    "not critical" : "critical");
		goto out;
	}
	if (!lint_ext_der(ex)) {
		lint_refuse(c->why, c->whylen, "der", "%s's critical flag is "
		    "not DER", e->name);
		goto out;
	}
	if (e->item != NULL)
		it = e->item();
	else if (m != NULL && m->it != NULL)
		it = ASN1_ITEM_ptr(m->it);
	else {
		lint_refuse(c->why, c->whylen, e->name, "OpenSSL cannot "
		    "parse it");
		goto out;
	}
	if ((val = ASN1_item_d2i(NULL, &p, ASN1_STRING_length(raw), it)) ==
	    NULL) {
		lint_refuse(c->why, c->whylen, e->name, "the value does not "
		    "parse");
		goto out;
	}
	if ((len = ASN1_item_i2d(val, &re, it)) != ASN1_STRING_length(raw) ||
	    memcmp(re, ASN1_STRING_get0_data(raw), (size_t)len) != 0) {
		lint_refuse(c->why, c->whylen, "der", "%s's value is not DER",
		    e->name);
		goto out;
	}
	rc = e->check(c, val, raw);
out:
	if (val != NULL)
		ASN1_item_free(val, it);
	OPENSSL_free(re);
	ERR_clear_error();
	return rc;
}

/* See lint_int.h. */
int
lint_exts(struct lint_ctx *c)
{
	char seen[LINT_NEXTS], oid[LINT_NAME_MAX];
	const struct lint_ext *e;
	const char *absent;
	X509_EXTENSION *ex;
	size_t k;
	int i, n = X509v3_get_ext_count(c->t->exts);

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		ex = X509v3_get_ext(c->t->exts, i);
		if ((e = lint_ext_find(OBJ_obj2nid(
		    X509_EXTENSION_get_object(ex)))) == NULL) {
			OBJ_obj2txt(oid, sizeof(oid),
			    X509_EXTENSION_get_object(ex), 0);
			return lint_refuse(c->why, c->whylen, "extensions",
			    "unexpected %s", oid);
		}
		if (seen[e - lint_exts_profile]++)
			return lint_refuse(c->why, c->whylen, "extensions",
			    "%s more than once", e->name);
		if (e->absent != NULL && (absent = e->absent(c)) != NULL)
			return lint_refuse(c->why, c->whylen, "extensions",
			    "unexpected %s (%s)", e->name, absent);
	}
	for (k = 0; k < LINT_NEXTS; k++) {
		e = &lint_exts_profile[k];
		if (!seen[k] && (e->absent == NULL || e->absent(c) == NULL))
			return lint_refuse(c->why, c->whylen, "extensions",
			    "missing %s", e->name);
	}
	for (i = 0; i < n; i++) {
		ex = X509v3_get_ext(c->t->exts, i);
		e = lint_ext_find(OBJ_obj2nid(X509_EXTENSION_get_object(ex)));
		if (lint_ext_one(c, e, ex) != 0)
			return -1;
	}
	return 0;
}
