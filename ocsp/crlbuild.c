/*
 * crlbuild.c: one CRL built and signed on the worker thread (RFC 5280
 * 5): v2, the issuer's name, thisUpdate/nextUpdate, the revoked entries
 * with their reasonCode, authorityKeyIdentifier and crlNumber; and with
 * partitions (crl.c, crlurl.c):
 *
 *	partition base	issuingDistributionPoint (5.2.5, critical): the
 *			partition's URL, the very distributionPoint its
 *			certificates name, onlyContainsUserCerts;
 *			freshestCRL (5.2.6): the URL of its delta
 *	full base	freshestCRL: the full CRL's delta (no IDP: the
 *			full CRL covers every certificate, as before)
 *	delta		deltaCRLIndicator (5.2.4, critical): the number of
 *			the base it completes; the base's IDP, byte for
 *			byte (OpenSSL's check_delta_base compares them);
 *			no freshestCRL (5.2.6: MUST NOT)
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ocsp/ocsp_int.h"

/* One revoked entry: serial, date and (unless unspecified, RFC 5280
 * 5.3.1) its reasonCode. */
static int
ocspr_crl_entry(X509_CRL *crl, const struct ocspr_revoked *rv)
{
	X509_REVOKED *x = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_ENUMERATED *reason = NULL;
	ASN1_TIME *t = NULL;
	BIGNUM *bn = NULL;
	int rc = -1;

	if ((x = X509_REVOKED_new()) == NULL ||
	    BN_hex2bn(&bn, rv->serial) <= 0 ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_REVOKED_set_serialNumber(x, serial) != 1 ||
	    (t = ASN1_TIME_set(NULL, rv->at)) == NULL ||
	    X509_REVOKED_set_revocationDate(x, t) != 1)
		goto out;
	if (rv->reason > 0 && ((reason = ASN1_ENUMERATED_new()) == NULL ||
	    ASN1_ENUMERATED_set(reason, rv->reason) != 1 ||
	    X509_REVOKED_add1_ext_i2d(x, NID_crl_reason, reason, 0, 0) != 1))
		goto out;
	if (X509_CRL_add0_revoked(crl, x) != 1)
		goto out;
	x = NULL;
	rc = 0;
out:
	X509_REVOKED_free(x);
	ASN1_INTEGER_free(serial);
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(t);
	BN_free(bn);
	return rc;
}

/* A DistributionPointName of one fullName URI (a new one, or NULL): as
 * bridge/ca/issue.c writes the certificate's. */
static DIST_POINT_NAME *
ocspr_crl_dpname(const char *url)
{
	DIST_POINT_NAME *dpn = NULL;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *ia5 = NULL;

	if ((dpn = DIST_POINT_NAME_new()) == NULL ||
	    (dpn->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (gn = GENERAL_NAME_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(ia5, url, (int)strlen(url)) != 1)
		goto fail;
	dpn->type = 0;			/* fullName [0] */
	GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
	ia5 = NULL;
	if (sk_GENERAL_NAME_push(dpn->name.fullname, gn) <= 0)
		goto fail;
	return dpn;
fail:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	DIST_POINT_NAME_free(dpn);
	return NULL;
}

/* RFC 5280 5.2.5: the partition's issuingDistributionPoint, critical. */
static int
ocspr_crl_add_idp(X509_CRL *crl, const char *url)
{
	ISSUING_DIST_POINT *idp = NULL;
	int rc = -1;

	if ((idp = ISSUING_DIST_POINT_new()) == NULL ||
	    (idp->distpoint = ocspr_crl_dpname(url)) == NULL)
		goto out;
	idp->onlyuser = 0xff;		/* BOOLEAN TRUE: end-entity only */
	if (X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1,
	    0) != 1)
		goto out;
	rc = 0;
out:
	ISSUING_DIST_POINT_free(idp);
	return rc;
}

/* RFC 5280 5.2.6: freshestCRL (the CRLDistributionPoints syntax), not
 * critical. */
static int
ocspr_crl_add_freshest(X509_CRL *crl, const char *url)
{
	CRL_DIST_POINTS *cdp = NULL;
	DIST_POINT *dp = NULL;
	int rc = -1;

	if ((cdp = sk_DIST_POINT_new_null()) == NULL ||
	    (dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = ocspr_crl_dpname(url)) == NULL ||
	    sk_DIST_POINT_push(cdp, dp) <= 0)
		goto out;
	dp = NULL;
	if (X509_CRL_add1_ext_i2d(crl, NID_freshest_crl, cdp, 0, 0) != 1)
		goto out;
	rc = 0;
out:
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdp);
	return rc;
}

/* An INTEGER extension (crlNumber, deltaCRLIndicator). */
static int
ocspr_crl_add_number(X509_CRL *crl, int nid, uint64_t v, int crit)
{
	ASN1_INTEGER *num = NULL;
	int rc = -1;

	if ((num = ASN1_INTEGER_new()) != NULL &&
	    ASN1_INTEGER_set_uint64(num, v) == 1 &&
	    X509_CRL_add1_ext_i2d(crl, nid, num, crit, 0) == 1)
		rc = 0;
	ASN1_INTEGER_free(num);
	return rc;
}

/* The partition extensions of job j (none without partitions). */
static int
ocspr_crl_add_scope(struct ocspr *r, X509_CRL *crl, const struct ocspr_job *j)
{
	const char *full = r->cfg.crl_urls[j->issuer];
	int n = r->cfg.crl_partitions;
	char url[OCSPR_URL_MAX];

	if (n <= 1)
		return 0;
	if (j->crl_part >= 0 && (ocspr_crlurl_make(full, n, j->crl_part, 0,
	    url, sizeof(url)) != 0 || ocspr_crl_add_idp(crl, url) != 0))
		return -1;
	if (j->crl_delta)
		return ocspr_crl_add_number(crl, NID_delta_crl, j->crl_base, 1);
	if (ocspr_crlurl_make(full, n, j->crl_part, 1, url, sizeof(url)) != 0 ||
	    ocspr_crl_add_freshest(crl, url) != 0)
		return -1;
	return 0;
}

/* See ocsp_int.h.  Worker thread. */
int
ocspr_crl_build(struct ocspr *r, struct ocspr_job *j)
{
	X509 *issuer = r->issuers[j->issuer].cert;
	X509_CRL *crl = NULL;
	AUTHORITY_KEYID *akid = NULL;
	ASN1_TIME *t1 = NULL, *t2 = NULL;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);
	int len, rc = -1;

	if ((crl = X509_CRL_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
	    (t1 = ASN1_TIME_set(NULL, j->now)) == NULL ||
	    (t2 = ASN1_TIME_set(NULL, j->now + r->cfg.crl_validity)) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, t1) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, t2) != 1)
		goto out;
	for (size_t i = 0; i < j->nrevoked; i++)
		if (ocspr_crl_entry(crl, &j->revoked[i]) != 0)
			goto out;
	/* RFC 5280 5.2.1: the AKI is the issuer's SKI. */
	if (ski == NULL || (akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_dup(ski)) == NULL ||
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0,
	    0) != 1)
		goto out;
	if (ocspr_crl_add_number(crl, NID_crl_number, j->crl_number, 0) != 0 ||
	    ocspr_crl_add_scope(r, crl, j) != 0)
		goto out;
	if (X509_CRL_sort(crl) != 1 ||
	    r->cfg.ops.sign_crl(r->cfg.ops.arg, j->issuer, &crl) != 0 ||
	    (len = i2d_X509_CRL(crl, &j->der)) <= 0)
		goto out;
	j->len = (size_t)len;
	rc = 0;
out:
	X509_CRL_free(crl);
	AUTHORITY_KEYID_free(akid);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	ERR_clear_error();
	return rc;
}
