/*
 * test_lint_crl.c: the pre-issuance lint (bridge/ca/lint_ext.c) and
 * issue_build with CRL partitions (issue 18): the CRL distribution point
 * is the serial's partition of the configured URL and freshestCRL its
 * delta, exactly; without partitions neither changes from before.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"
#include "tests/bridge/ca/tbs_fx.h"

#define CRL_URL	"http://bridge.example:8080/crl/00ff.crl"
#define PARTS	4
#define DAY	(24L * 60 * 60)

static int
group_setup(void **state)
{
	struct tbs_fx *f = calloc(1, sizeof(*f));

	log_verbosity = LOGL_ERR;
	if (f == NULL || tbs_fx_setup(f) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	tbs_fx_teardown(*state);
	free(*state);
	return 0;
}

/* A device certificate issued with issue_parts partitions (no names). */
static X509 *
issue(struct tbs_fx *f, int issue_parts, struct ca_lint_want *w,
    struct ca_profile *prof)
{
	struct issue_params ip;
	struct ca_profile *iprof = calloc(1, sizeof(*iprof));
	char err[256] = "";
	X509 *x;

	assert_non_null(iprof);
	assert_int_equal(ca_profile_get(NULL, EST_PROFILE_DEVICE, prof), 0);
	*iprof = *prof;
	iprof->crl_partitions = issue_parts;
	*w = (struct ca_lint_want){ .issuer = f->iss,
	    .profile = EST_PROFILE_DEVICE, .cn = "dev1", .now = f->now,
	    .key_not_before = f->now - DAY, .key_not_after = f->now + 900 * DAY,
	    .ocsp_url = "http://bridge.example:8080/ocsp",
	    .ca_issuers_url = "http://bridge.example:8080/ca/issuing.der",
	    .crl_url = CRL_URL, .prof = prof };
	ip = (struct issue_params){ .profile = w->profile, .cn = w->cn,
	    .pubkey = f->ec, .issuer = f->iss, .now = w->now,
	    .key_not_before = w->key_not_before,
	    .key_not_after = w->key_not_after, .ocsp_url = w->ocsp_url,
	    .ca_issuers_url = w->ca_issuers_url, .crl_url = w->crl_url,
	    .prof = iprof };
	/* the registered key: the subject key's canonical SPKI (the
	 * caller frees w->spki with OPENSSL_free) */
	{
		unsigned char *spki = NULL;
		int len = i2d_PUBKEY(f->ec, &spki);

		assert_true(len > 0);
		w->spki = spki;
		w->spki_len = (size_t)len;
	}
	x = issue_build(&ip, err, sizeof(err));
	if (x == NULL)
		fprintf(stderr, "issue_build: %s\n", err);
	assert_non_null(x);
	free(iprof);
	return x;
}

/* The lint's answer for x: 0, or -1 with why. */
static int
lint(X509 *x, const struct ca_lint_want *w, char *why, size_t whylen)
{
	uint8_t *der = NULL;
	size_t len;
	int rc;

	assert_int_equal(ca_tbs_der(x, w->issuer, &der, &len), 0);
	rc = ca_lint_tbs(der, len, w, why, whylen);
	OPENSSL_free(der);
	return rc;
}

/* The first URI of x's extension nid ("" when none). */
static void
ext_uri(X509 *x, int nid, char *out, size_t len)
{
	CRL_DIST_POINTS *cdp = X509_get_ext_d2i(x, nid, NULL, NULL);
	const GENERAL_NAME *gn;

	out[0] = '\0';
	if (cdp == NULL)
		return;
	gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(cdp, 0)->distpoint->
	    name.fullname, 0);
	snprintf(out, len, "%s", (const char *)ASN1_STRING_get0_data(
	    gn->d.uniformResourceIdentifier));
	CRL_DIST_POINTS_free(cdp);
}

/* Replaces x's extension nid by one URI url (as `openssl x509 -extfile`
 * would write it). */
static void
replace_uri(X509 *x, int nid, const char *url)
{
	char conf[OCSPR_URL_MAX + 8];
	X509_EXTENSION *ex;
	int i = X509_get_ext_by_NID(x, nid, -1);

	snprintf(conf, sizeof(conf), "URI:%s", url);
	assert_true(i >= 0);
	assert_non_null(ex = X509V3_EXT_conf_nid(NULL, NULL, nid, conf));
	X509_EXTENSION_free(X509_delete_ext(x, i));
	assert_int_equal(X509_add_ext(x, ex, i), 1);
	X509_EXTENSION_free(ex);
}

static void
test_partition_cdp_and_freshest_pass(void **state)
{
	struct ca_lint_want w;
	struct ca_profile prof;
	char why[512] = "", serial[41], got[OCSPR_URL_MAX], want[OCSPR_URL_MAX];
	X509 *x = issue(*state, PARTS, &w, &prof);
	int p;

	prof.crl_partitions = PARTS;
	assert_int_equal(issue_serial_hex(x, serial), 0);
	p = ocspr_crlurl_partition(serial, PARTS);
	ext_uri(x, NID_crl_distribution_points, got, sizeof(got));
	snprintf(want, sizeof(want), "http://bridge.example:8080/crl/00ff/%d/%d"
	    ".crl", PARTS, p);
	assert_string_equal(got, want);
	ext_uri(x, NID_freshest_crl, got, sizeof(got));
	snprintf(want, sizeof(want), "http://bridge.example:8080/crl/00ff/%d/%d"
	    ".delta.crl", PARTS, p);
	assert_string_equal(got, want);
	if (lint(x, &w, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	OPENSSL_free((void *)w.spki);
	X509_free(x);
}

static void
test_without_partitions_the_cdp_is_as_before(void **state)
{
	struct ca_lint_want w;
	struct ca_profile prof;
	char why[512] = "", got[OCSPR_URL_MAX];
	X509 *x = issue(*state, 1, &w, &prof);

	ext_uri(x, NID_crl_distribution_points, got, sizeof(got));
	assert_string_equal(got, CRL_URL);
	assert_int_equal(X509_get_ext_by_NID(x, NID_freshest_crl, -1), -1);
	if (lint(x, &w, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	/* a key process configured with partitions refuses it */
	prof.crl_partitions = PARTS;
	assert_int_equal(lint(x, &w, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "freshestCRL"));
	OPENSSL_free((void *)w.spki);
	X509_free(x);
}

static void
test_freshest_without_partitions_is_refused(void **state)
{
	struct ca_lint_want w;
	struct ca_profile prof;
	char why[512] = "";
	X509 *x = issue(*state, PARTS, &w, &prof);

	prof.crl_partitions = 1;
	assert_int_equal(lint(x, &w, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "unexpected freshestCRL"));
	OPENSSL_free((void *)w.spki);
	X509_free(x);
}

/* The CDP or freshestCRL of another partition, or the full CRL. */
static void
test_other_partition_is_refused(void **state)
{
	struct ca_lint_want w;
	struct ca_profile prof;
	char why[512] = "", serial[41], url[OCSPR_URL_MAX];
	X509 *x;
	int p;

	for (int k = 0; k < 3; k++) {
		x = issue(*state, PARTS, &w, &prof);
		prof.crl_partitions = PARTS;
		assert_int_equal(issue_serial_hex(x, serial), 0);
		p = ocspr_crlurl_partition(serial, PARTS);
		if (k == 2)
			snprintf(url, sizeof(url), "%s", CRL_URL);
		else
			assert_int_equal(ocspr_crlurl_make(CRL_URL, PARTS,
			    (p + 1) % PARTS, k, url, sizeof(url)), 0);
		replace_uri(x, k == 1 ? NID_freshest_crl :
		    NID_crl_distribution_points, url);
		assert_int_equal(lint(x, &w, why, sizeof(why)), -1);
		assert_non_null(strstr(why, k == 1 ? "lint: freshestCRL: the "
		    "URL is not" : "lint: crlDistributionPoints: the URL is "
		    "not"));
		OPENSSL_free((void *)w.spki);
		X509_free(x);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partition_cdp_and_freshest_pass),
		cmocka_unit_test(test_without_partitions_the_cdp_is_as_before),
		cmocka_unit_test(test_freshest_without_partitions_is_refused),
		cmocka_unit_test(test_other_partition_is_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
