/*
 * issue.c: the unsigned end-entity certificate for a registration
 * (docs/design.md "Issuance").
 *
 * The subject and names come from the ledger registration, the extensions
 * from the profile, the validity from the profile capped to the key's
 * ledger window (the ledger refuses a cert-issued entry whose validity
 * leaves the window, rules.c), and the serial from the CSPRNG.  Signing is
 * the signer's job (signer.c); this file never sees a private key.
 *
 * Fixed extensions use the X509V3_set_ctx() + X509V3_EXT_conf_nid()
 * pattern of pki.c.  Everything that carries a name or a URL
 * (subjectAltName, authorityInfoAccess, cRLDistributionPoints) is built as
 * OpenSSL structures instead: a registered name is data, and a string such
 * as "a.example,IP:10.0.0.1" must never be able to become two names
 * through the "DNS:x,IP:y" configuration syntax.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "bridge/ca/ca.h"

#define ISSUE_IP4_LEN	4
#define ISSUE_IP6_LEN	16
#define ISSUE_URI_MAX	CONFIG_STR	/* URLs come from the config */
#define ISSUE_HEX_MAX	40		/* RFC 5280 4.1.2.2: 20 octets */

/* One fixed extension in openssl.cnf syntax. */
struct issue_ext {
	int nid;
	const char *value;
};

/* notBefore = max(now - ISSUE_BACKDATE, key window start), notAfter =
 * min(now + the profile's validity, key window end).  0, or -1 with err
 * set when nothing of the window is left or it begins later than
 * ISSUE_FUTURE_MAX. */
static int
issue_validity(X509 *x, const struct issue_params *p,
    const struct ca_profile *prof, char *err, size_t errlen)
{
	time_t nb, na;

	nb = p->now - ISSUE_BACKDATE;
	if (nb < p->key_not_before)
		nb = p->key_not_before;
	na = p->now + prof->validity;
	if (na > p->key_not_after)
		na = p->key_not_after;
	if (na <= nb) {
		snprintf(err, errlen, "the key's validity window leaves no "
		    "time for a certificate");
		return -1;
	}
	/* The pre-issuance lint refuses a notBefore further ahead (the
	 * ledger's rules refuse a key whose window has not begun too). */
	if (nb > p->now + ISSUE_FUTURE_MAX) {
		snprintf(err, errlen, "the key's validity window has not "
		    "begun");
		return -1;
	}
	/* ASN1_TIME_set picks UTCTime up to 2049 and GeneralizedTime after
	 * (RFC 5280 4.1.2.5). */
	if (ASN1_TIME_set(X509_getm_notBefore(x), nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), na) == NULL) {
		log_openssl_why(err, errlen, "cannot set the validity");
		return -1;
	}
	return 0;
}

/* 1 when s (at most max bytes before its NUL) is a DNS name's characters:
 * letters, digits, '-', '.' and the '*' of a wildcard label.  The ledger
 * checked the syntax already; this only keeps an IA5String valid whatever
 * arrives. */
static int
issue_dns_chars(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.*") == n;
}

/* 1 when s is a URI of printable ASCII without spaces (RFC 3986),
 * at most ISSUE_URI_MAX bytes. */
static int
issue_uri_chars(const char *s)
{
	size_t n = strnlen(s, ISSUE_URI_MAX + 1), i;

	if (n == 0 || n > ISSUE_URI_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* A new GENERAL_NAME of type GEN_DNS or GEN_URI holding s as an
 * IA5String, or NULL. */
static GENERAL_NAME *
issue_ia5_name(int type, const char *s)
{
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;

	if ((gen = GENERAL_NAME_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(ia5, s, (int)strlen(s)) != 1) {
		ASN1_IA5STRING_free(ia5);
		GENERAL_NAME_free(gen);
		return NULL;
	}
	GENERAL_NAME_set0_value(gen, type, ia5);
	return gen;
}

/* A new GEN_IPADD GENERAL_NAME for printable address s: 4 octets for
 * IPv4, 16 for IPv6 (RFC 5280 4.2.1.6).  NULL when s is no address. */
static GENERAL_NAME *
issue_ip_name(const char *s)
{
	unsigned char ip[ISSUE_IP6_LEN];
	GENERAL_NAME *gen = NULL;
	ASN1_OCTET_STRING *oct = NULL;
	int len;

	if (inet_pton(AF_INET, s, ip) == 1)
		len = ISSUE_IP4_LEN;
	else if (inet_pton(AF_INET6, s, ip) == 1)
		len = ISSUE_IP6_LEN;
	else
		return NULL;
	if ((gen = GENERAL_NAME_new()) == NULL ||
	    (oct = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(oct, ip, len) != 1) {
		ASN1_OCTET_STRING_free(oct);
		GENERAL_NAME_free(gen);
		return NULL;
	}
	GENERAL_NAME_set0_value(gen, GEN_IPADD, oct);
	return gen;
}

/* Appends gen to gens (add0: gens takes it; freed on failure).  0 or -1. */
static int
issue_push(GENERAL_NAMES *gens, GENERAL_NAME *gen)
{
	if (gen == NULL)
		return -1;
	if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
		GENERAL_NAME_free(gen);
		return -1;
	}
	return 0;
}

/* The registered names as GENERAL_NAMES: every DNS name, then every IP
 * address.  Returns a new stack (possibly empty) or NULL with err set. */
static GENERAL_NAMES *
issue_san(const struct est_names *n, char *err, size_t errlen)
{
	GENERAL_NAMES *gens;
	int i;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		goto fail;
	if (n == NULL)
		return gens;
	/* As many as a registration may hold (LEDGER_MAX_SANS of each
	 * kind): a registration the ledger accepted must be issuable. */
	if (n->ndns < 0 || n->ndns > EST_MAX_NAMES || n->nip < 0 ||
	    n->nip > EST_MAX_NAMES) {
		snprintf(err, errlen, "too many names (%d DNS, %d IP; at most "
		    "%d of each)", n->ndns, n->nip, EST_MAX_NAMES);
		goto out;
	}
	for (i = 0; i < n->ndns; i++) {
		if (!issue_dns_chars(n->dns[i], EST_NAME_MAX)) {
			snprintf(err, errlen, "registered DNS name %d is not "
			    "a DNS name", i + 1);
			goto out;
		}
		if (issue_push(gens, issue_ia5_name(GEN_DNS, n->dns[i])) != 0)
			goto fail;
	}
	for (i = 0; i < n->nip; i++) {
		if (strnlen(n->ip[i], sizeof(n->ip[i])) == sizeof(n->ip[i])) {
			snprintf(err, errlen, "registered IP address %d is too "
			    "long", i + 1);
			goto out;
		}
		if (issue_push(gens, issue_ip_name(n->ip[i])) != 0) {
			snprintf(err, errlen, "registered IP address %d is "
			    "not an IPv4 or IPv6 address", i + 1);
			goto out;
		}
	}
	return gens;
fail:
	log_openssl_why(err, errlen, "cannot build the subjectAltName");
out:
	GENERAL_NAMES_free(gens);
	return NULL;
}

/* Appends an AccessDescription (method nid, location URI uri) to aia.
 * 0 or -1. */
static int
issue_aia_add(AUTHORITY_INFO_ACCESS *aia, int nid, const char *uri)
{
	ACCESS_DESCRIPTION *ad = NULL;
	GENERAL_NAME *gen = NULL;

	if ((ad = ACCESS_DESCRIPTION_new()) == NULL ||
	    (gen = issue_ia5_name(GEN_URI, uri)) == NULL)
		goto fail;
	/* OBJ_nid2obj returns a static object: freeing it is a no-op, so
	 * the stack's free function may own it like any other. */
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(nid);
	GENERAL_NAME_free(ad->location);
	ad->location = gen;
	gen = NULL;
	if (sk_ACCESS_DESCRIPTION_push(aia, ad) <= 0)
		goto fail;
	return 0;
fail:
	GENERAL_NAME_free(gen);
	ACCESS_DESCRIPTION_free(ad);
	return -1;
}

/* Adds a CRLDistributionPoints-shaped extension nid (RFC 5280
 * 4.2.1.13 cRLDistributionPoints, 4.2.1.15 freshestCRL): one point, a
 * fullName URI, not critical.  0 or -1. */
static int
issue_dp_ext(X509 *x, int nid, const char *url)
{
	CRL_DIST_POINTS *cdp = NULL;
	DIST_POINT *dp = NULL;
	GENERAL_NAMES *full = NULL;
	int rc = -1;

	if ((cdp = sk_DIST_POINT_new_null()) == NULL ||
	    (dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (full = GENERAL_NAMES_new()) == NULL ||
	    issue_push(full, issue_ia5_name(GEN_URI, url)) != 0)
		goto out;
	dp->distpoint->type = 0;	/* fullName [0] */
	dp->distpoint->name.fullname = full;
	full = NULL;
	if (sk_DIST_POINT_push(cdp, dp) <= 0)
		goto out;
	dp = NULL;
	if (X509_add1_ext_i2d(x, nid, cdp, 0, X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	GENERAL_NAMES_free(full);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdp);
	return rc;
}

/* See ca.h. */
int
ca_crl_urls(const char *serial, const char *crl_url, int partitions,
    char cdp[OCSPR_URL_MAX], char freshest[OCSPR_URL_MAX])
{
	int p;

	freshest[0] = '\0';
	if (partitions <= 1) {
		if (snprintf(cdp, OCSPR_URL_MAX, "%s", crl_url) >=
		    OCSPR_URL_MAX)
			return -1;
		return 0;
	}
	if ((p = ocspr_crlurl_partition(serial, partitions)) < 0 ||
	    ocspr_crlurl_make(crl_url, partitions, p, 0, cdp,
	    OCSPR_URL_MAX) != 0 ||
	    ocspr_crlurl_make(crl_url, partitions, p, 1, freshest,
	    OCSPR_URL_MAX) != 0)
		return -1;
	return 0;
}

/* Adds authorityInfoAccess (RFC 5280 4.2.2.1: OCSP, then caIssuers),
 * cRLDistributionPoints (4.2.1.13: one point, fullName URI: with CRL
 * partitions the serial's partition) and with partitions freshestCRL
 * (4.2.1.15: its delta CRL) for the URLs of p that are set.  0, or -1
 * with err set. */
static int
issue_urls(X509 *x, const struct issue_params *p,
    const struct ca_profile *prof, char *err, size_t errlen)
{
	AUTHORITY_INFO_ACCESS *aia = NULL;
	/* RFC 9608 2: a certificate saying noRevAvail points at no
	 * revocation information; caIssuers stays (chain building). */
	const char *ocsp = prof->no_rev_avail ? NULL : p->ocsp_url;
	const char *crl = prof->no_rev_avail ? NULL : p->crl_url;
	const char *urls[] = { ocsp, p->ca_issuers_url, crl };
	char cdp[OCSPR_URL_MAX], fresh[OCSPR_URL_MAX], serial[41];
	size_t i;
	int rc = -1;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		if (urls[i] != NULL && !issue_uri_chars(urls[i])) {
			snprintf(err, errlen, "URL %zu for the certificate is "
			    "empty, too long or not printable ASCII", i + 1);
			goto out;
		}
	if (ocsp != NULL || p->ca_issuers_url != NULL) {
		if ((aia = AUTHORITY_INFO_ACCESS_new()) == NULL ||
		    (ocsp != NULL && issue_aia_add(aia, NID_ad_OCSP,
		    ocsp) != 0) ||
		    (p->ca_issuers_url != NULL && issue_aia_add(aia,
		    NID_ad_ca_issuers, p->ca_issuers_url) != 0) ||
		    X509_add1_ext_i2d(x, NID_info_access, aia, 0,
		    X509V3_ADD_DEFAULT) != 1)
			goto fail;
	}
	if (crl != NULL) {
		if (issue_serial_hex(x, serial) != 0 || ca_crl_urls(serial,
		    crl, prof->crl_partitions, cdp, fresh) != 0) {
			snprintf(err, errlen, "the CRL URL %s cannot be "
			    "partitioned (it must end in .crl)", crl);
			goto out;
		}
		if (issue_dp_ext(x, NID_crl_distribution_points, cdp) != 0 ||
		    (fresh[0] != '\0' && issue_dp_ext(x, NID_freshest_crl,
		    fresh) != 0))
			goto fail;
	}
	rc = 0;
	goto out;
fail:
	log_openssl_why(err, errlen, "cannot build the AIA or CRL distribution "
	    "point");
out:
	AUTHORITY_INFO_ACCESS_free(aia);
	return rc;
}

/* The DER of ASN.1 NULL: noRevAvail's value (RFC 9608 2). */
static const unsigned char issue_null_der[] = { 0x05, 0x00 };

/* Adds the profile's certificatePolicies (RFC 5280 4.2.1.4: one
 * PolicyInformation, its OID alone, no qualifiers, not critical) and
 * noRevAvail (RFC 9608 2: not critical, NULL; OpenSSL 3.0 has the OID
 * but no method for it, so it is built from its DER).  0 or -1. */
static int
issue_profile_exts(X509 *x, const struct ca_profile *prof)
{
	CERTIFICATEPOLICIES *cp = NULL;
	POLICYINFO *pi = NULL;
	ASN1_OCTET_STRING *val = NULL;
	X509_EXTENSION *ex = NULL;
	int rc = -1;

	if (prof->policy_oid != NULL) {
		if ((cp = sk_POLICYINFO_new_null()) == NULL ||
		    (pi = POLICYINFO_new()) == NULL)
			goto out;
		ASN1_OBJECT_free(pi->policyid);
		if ((pi->policyid = OBJ_txt2obj(prof->policy_oid, 1)) == NULL ||
		    sk_POLICYINFO_push(cp, pi) <= 0)
			goto out;
		pi = NULL;
		if (X509_add1_ext_i2d(x, NID_certificate_policies, cp, 0,
		    X509V3_ADD_DEFAULT) != 1)
			goto out;
	}
	if (prof->no_rev_avail) {
		if ((val = ASN1_OCTET_STRING_new()) == NULL ||
		    ASN1_OCTET_STRING_set(val, issue_null_der,
		    sizeof(issue_null_der)) != 1 ||
		    (ex = X509_EXTENSION_create_by_NID(NULL, NID_no_rev_avail,
		    0, val)) == NULL || X509_add_ext(x, ex, -1) != 1)
			goto out;
	}
	rc = 0;
out:
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(cp);
	ASN1_OCTET_STRING_free(val);
	X509_EXTENSION_free(ex);
	return rc;
}

/* Adds the profile's fixed extensions, then SAN, AIA, CRL DP, policy
 * and noRevAvail (prof).  The subject key must be set (SKI "hash" is
 * computed from it) and the issuer must carry an SKI (AKI keyid:always
 * copies it; RFC 5280 4.2.1.1).  0, or -1 with err set. */
static int
issue_exts(X509 *x, const struct issue_params *p,
    const struct ca_profile *prof, int rsa, char *err, size_t errlen)
{
	/* RFC 5280 4.2.1.3: keyEncipherment only where a TLS 1.2 RSA key
	 * exchange may use it; 4.2.1.12: one purpose per profile. */
	const struct issue_ext exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, rsa ? "critical,digitalSignature,"
		    "keyEncipherment" : "critical,digitalSignature" },
		{ NID_ext_key_usage, p->profile == EST_PROFILE_SERVER ?
		    "serverAuth" : "clientAuth" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	GENERAL_NAMES *san = NULL;
	size_t i;
	int ok, rc = -1;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, p->issuer, x, NULL, NULL, 0);
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		if ((ex = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid,
		    exts[i].value)) == NULL)
			goto fail;
		ok = X509_add_ext(x, ex, -1);
		X509_EXTENSION_free(ex);
		if (ok != 1)
			goto fail;
	}
	/* Registered names go in for both profiles (a device with names
	 * gets them too: harmless, and useful for device-to-device TLS). A
	 * certificate without names has no SAN: an empty one is invalid
	 * (RFC 5280 4.2.1.6). */
	if ((san = issue_san(p->names, err, errlen)) == NULL)
		goto out;
	if (sk_GENERAL_NAME_num(san) > 0 && X509_add1_ext_i2d(x,
	    NID_subject_alt_name, san, 0, X509V3_ADD_DEFAULT) != 1)
		goto fail;
	if (issue_urls(x, p, prof, err, errlen) != 0)
		goto out;
	if (issue_profile_exts(x, prof) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	log_openssl_why(err, errlen, "cannot build the extensions");
out:
	GENERAL_NAMES_free(san);
	return rc;
}

/* Copies src (algorithm, parameters, key bits) into the certificate's
 * own SubjectPublicKeyInfo.  The parameters a policy-checked key can carry
 * are an OID (a named curve), NULL or absent (RSA), or a SEQUENCE.
 * 0 or -1. */
static int
issue_copy_spki(X509 *x, const X509_PUBKEY *src)
{
	const ASN1_OBJECT *alg = NULL;
	const unsigned char *bits = NULL;
	const X509_ALGOR *a = NULL;
	const void *pval = NULL;
	ASN1_OBJECT *alg2 = NULL;
	unsigned char *bits2 = NULL;
	void *pval2 = NULL;
	int ptype = V_ASN1_UNDEF, nbits = 0;

	if (X509_PUBKEY_get0_param((ASN1_OBJECT **)&alg, &bits, &nbits,
	    (X509_ALGOR **)&a, (X509_PUBKEY *)src) != 1 || bits == NULL ||
	    nbits <= 0 || a == NULL)
		return -1;
	X509_ALGOR_get0(NULL, &ptype, &pval, a);
	switch (ptype) {
	case V_ASN1_OBJECT:
		if ((pval2 = OBJ_dup(pval)) == NULL)
			goto fail;
		break;
	case V_ASN1_SEQUENCE:
		if ((pval2 = ASN1_STRING_dup(pval)) == NULL)
			goto fail;
		break;
	case V_ASN1_NULL:
	case V_ASN1_UNDEF:
		break;
	default:
		return -1;
	}
	if ((alg2 = OBJ_dup(alg)) == NULL ||
	    (bits2 = OPENSSL_memdup(bits, (size_t)nbits)) == NULL)
		goto fail;
	/* set0: on success the public key owns alg2, pval2 and bits2. */
	if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), alg2, ptype,
	    pval2, bits2, nbits) != 1)
		goto fail;
	return 0;
fail:
	ASN1_OBJECT_free(alg2);
	OPENSSL_free(bits2);
	if (ptype == V_ASN1_OBJECT)
		ASN1_OBJECT_free(pval2);
	else if (ptype == V_ASN1_SEQUENCE)
		ASN1_STRING_free(pval2);
	return -1;
}

/* Checks what issue_build needs from p.  0, or -1 with err set. */
static int
issue_check_params(const struct issue_params *p, int *rsa, char *err,
    size_t errlen)
{
	int type;

	if (p == NULL || p->pubkey == NULL || p->issuer == NULL ||
	    p->cn == NULL) {
		snprintf(err, errlen, "missing key, issuer or name");
		return -1;
	}
	if (p->profile != EST_PROFILE_DEVICE &&
	    p->profile != EST_PROFILE_SERVER &&
	    p->profile != EST_PROFILE_ADMIN) {
		snprintf(err, errlen, "unknown profile %d", (int)p->profile);
		return -1;
	}
	if (p->cn[0] == '\0') {
		snprintf(err, errlen, "the registration has no name");
		return -1;
	}
	type = EVP_PKEY_get_base_id(p->pubkey);
	if (type == EVP_PKEY_ED25519 && p->profile != EST_PROFILE_DEVICE) {
		snprintf(err, errlen, "an Ed25519 key gets a certificate in "
		    "the device profile only (TLS servers and API clients "
		    "keep to EC or RSA, which every TLS stack accepts)");
		return -1;
	}
	if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA &&
	    type != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "the key is neither EC, RSA nor "
		    "Ed25519");
		return -1;
	}
	if (X509_get0_subject_key_id(p->issuer) == NULL) {
		snprintf(err, errlen, "the issuing CA has no "
		    "subjectKeyIdentifier");
		return -1;
	}
	*rsa = type == EVP_PKEY_RSA;
	return 0;
}

/* See bridge.h. */
X509 *
issue_build(const struct issue_params *p, char *err, size_t errlen)
{
	struct ca_profile defprof;
	const struct ca_profile *prof;
	X509_NAME *subj = NULL;
	X509 *x = NULL, *ret = NULL;
	int rsa = 0;

	if (issue_check_params(p, &rsa, err, errlen) != 0)
		goto out;
	if ((prof = p->prof) == NULL) {
		if (ca_profile_get(NULL, p->profile, &defprof) != 0) {
			snprintf(err, errlen, "unknown profile");
			goto out;
		}
		prof = &defprof;
	}
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    pki_serial(X509_get_serialNumber(x)) != 0) {
		log_openssl_why(err, errlen, "cannot create the certificate");
		goto out;
	}
	/* The CN is the registered name; OpenSSL refuses one longer than
	 * ub-common-name (64, RFC 5280 appendix A.1). */
	if ((subj = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)p->cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, subj) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(p->issuer)) != 1) {
		log_openssl_why(err, errlen, "cannot set the subject name");
		goto out;
	}
	if (issue_validity(x, p, prof, err, errlen) != 0)
		goto out;
	if (p->spki != NULL ? issue_copy_spki(x, p->spki) != 0 :
	    X509_set_pubkey(x, p->pubkey) != 1) {
		log_openssl_why(err, errlen, "cannot set the public key");
		goto out;
	}
	if (issue_exts(x, p, prof, rsa, err, errlen) != 0)
		goto out;
	ret = x;
	x = NULL;
out:
	if (ret == NULL)
		log_openssl("issue");
	else
		ERR_clear_error();
	X509_NAME_free(subj);
	X509_free(x);
	return ret;
}

/* See bridge.h. */
int
issue_serial_hex(const X509 *cert, char out[41])
{
	BIGNUM *bn = NULL;
	char *hex = NULL;
	const char *h;
	size_t i, n;
	int rc = -1;

	out[0] = '\0';
	if (cert == NULL ||
	    (bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)) ==
	    NULL || BN_is_negative(bn) || BN_is_zero(bn) ||
	    (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	/* BN_bn2hex writes whole octets ("0A1B"): drop the leading zero. */
	for (h = hex; *h == '0'; h++)
		;
	n = strlen(h);
	if (n == 0 || n > ISSUE_HEX_MAX)
		goto out;
	for (i = 0; i < n; i++)
		out[i] = (h[i] >= 'A' && h[i] <= 'F') ?
		    (char)(h[i] - 'A' + 'a') : h[i];
	out[n] = '\0';
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}
