/*
 * test_crl.c: partitioned and delta CRLs (ocsp/crl.c, crlbuild.c,
 * crlurl.c; RFC 5280 5.2.4-5.2.6) from a real responder with
 * crl_partitions = 4, signed by the real key process, fetched over HTTP
 * (ocsp_fx.h).  The rows: a1 (partition 1) and b2 (partition 2) revoked
 * at start; c1 (partition 1) revoked during the tests.  The last two
 * tests keep the CRLs in files across restarts (ocsp/crlsave.c).
 */
#include <sys/time.h>

#include "ocsp/ocsp_int.h"
#include "tests/ocsp/ocsp_fx.h"

#define PART_A1 1

/* GET path until 200 (a 503 while the first one is made), or until
 * want (when not NULL) is listed; the CRL verified with the issuer. */
static X509_CRL *
get_crl(struct fixture *f, const char *path, const char *want)
{
	unsigned char *body;
	const unsigned char *p;
	size_t blen;
	X509_CRL *crl = NULL;
	X509_REVOKED *rv;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	int status;

	if (want != NULL) {
		assert_true(BN_hex2bn(&bn, want) > 0);
		assert_non_null(ai = BN_to_ASN1_INTEGER(bn, NULL));
	}
	for (int i = 0; i < WAIT_TRIES; i++) {
		X509_CRL_free(crl);
		crl = NULL;
		status = ofx_get(f, path, &body, &blen);
		if (status == 200) {
			p = body;
			crl = d2i_X509_CRL(NULL, &p, (long)blen);
			assert_non_null(crl);
		} else
			assert_int_equal(status, 503);
		free(body);
		if (crl != NULL && (ai == NULL ||
		    X509_CRL_get0_by_serial(crl, &rv, ai) == 1))
			break;
		usleep(WAIT_USEC);
	}
	assert_non_null(crl);
	if (ai != NULL)
		assert_int_equal(X509_CRL_get0_by_serial(crl, &rv, ai), 1);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(f->iss)), 1);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return crl;
}

/* "/crl/<id>/4/<p>[.delta].crl", or the full CRL's for p < 0. */
static void
crl_path(struct fixture *f, int p, int delta, char *out, size_t len)
{
	if (p < 0)
		snprintf(out, len, "/crl/%s%s.crl", signer_issuer_id(f->signer),
		    delta ? ".delta" : "");
	else
		snprintf(out, len, "/crl/%s/%d/%d%s.crl",
		    signer_issuer_id(f->signer), OFX_PARTS, p,
		    delta ? ".delta" : "");
}

static int
lists(X509_CRL *crl, const char *serial)
{
	X509_REVOKED *rv;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai;
	int r;

	assert_true(BN_hex2bn(&bn, serial) > 0);
	assert_non_null(ai = BN_to_ASN1_INTEGER(bn, NULL));
	r = X509_CRL_get0_by_serial(crl, &rv, ai) == 1;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return r;
}

/* The INTEGER extension nid (crlNumber, deltaCRLIndicator), asserted
 * present; *crit its criticality. */
static uint64_t
int_ext(X509_CRL *crl, int nid, int *crit)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, nid, crit, NULL);
	uint64_t v = 0;

	assert_non_null(n);
	assert_int_equal(ASN1_INTEGER_get_uint64(&v, n), 1);
	ASN1_INTEGER_free(n);
	return v;
}

/* The one fullName URI of a DistributionPointName. */
static const char *
dpn_uri(const DIST_POINT_NAME *dpn)
{
	const GENERAL_NAME *gn;

	assert_non_null(dpn);
	assert_int_equal(dpn->type, 0);
	assert_int_equal(sk_GENERAL_NAME_num(dpn->name.fullname), 1);
	gn = sk_GENERAL_NAME_value(dpn->name.fullname, 0);
	assert_int_equal(gn->type, GEN_URI);
	return (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
}

/* freshestCRL's one URI, compared with want. */
static void
assert_freshest(X509_CRL *crl, const char *want)
{
	CRL_DIST_POINTS *fr;
	int crit = -1;

	fr = X509_CRL_get_ext_d2i(crl, NID_freshest_crl, &crit, NULL);
	assert_non_null(fr);
	assert_int_equal(crit, 0);
	assert_int_equal(sk_DIST_POINT_num(fr), 1);
	assert_string_equal(dpn_uri(sk_DIST_POINT_value(fr, 0)->distpoint),
	    want);
	CRL_DIST_POINTS_free(fr);
}

/* The rows of the tests, and the CRLs made again (wait for a1 in them:
 * the first ones, made at start, list nothing). */
static void
set_rows(struct fixture *f)
{
	ofx_set_row(f, 0, "a1", OCSPR_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	ofx_set_row(f, 1, "b2", OCSPR_REVOKED, OCSP_REVOKED_STATUS_SUPERSEDED);
	ofx_set_row(f, 2, "c1", OCSPR_GOOD, 0);
	ofx_set_row(f, 3, "d1", OCSPR_GOOD, 0);
	ofx_run_on_loop(f, ofx_do_crl_changed, NULL);
}

static void
test_partition_is_the_serials_low_byte(void **state)
{
	char url[OCSPR_URL_MAX];

	assert_int_equal(ocspr_crlurl_partition("a1", 4), 1);
	assert_int_equal(ocspr_crlurl_partition("12345b2", 4), 2);
	assert_int_equal(ocspr_crlurl_partition("7", 4), 3);
	assert_int_equal(ocspr_crlurl_partition("ff", 256), 255);
	assert_int_equal(ocspr_crlurl_partition("ff", 1), 0);
	assert_int_equal(ocspr_crlurl_partition("A1", 4), -1);
	assert_int_equal(ocspr_crlurl_partition("", 4), -1);
	assert_int_equal(ocspr_crlurl_partition("a1", 3), -1);
	assert_int_equal(ocspr_crlurl_partition("a1", 512), -1);
	assert_int_equal(ocspr_crlurl_make("http://h/crl/ab.crl", 4, 1, 0, url,
	    sizeof(url)), 0);
	assert_string_equal(url, "http://h/crl/ab/4/1.crl");
	assert_int_equal(ocspr_crlurl_make("http://h/crl/ab.crl", 4, 3, 1, url,
	    sizeof(url)), 0);
	assert_string_equal(url, "http://h/crl/ab/4/3.delta.crl");
	assert_int_equal(ocspr_crlurl_make("http://h/crl/ab.crl", 4, -1, 1, url,
	    sizeof(url)), 0);
	assert_string_equal(url, "http://h/crl/ab.delta.crl");
	assert_int_equal(ocspr_crlurl_make("http://h/crl/ab.crl", 4, 4, 0, url,
	    sizeof(url)), -1);
	assert_int_equal(ocspr_crlurl_make("http://h/crl/ab", 4, 0, 0, url,
	    sizeof(url)), -1);
	assert_int_equal(ocspr_crlurl_make("http://h/crl/ab.crl", 4, 0, 0, url,
	    10), -1);
}

/* The partition CRL lists its partition only and carries the critical
 * IDP whose name is, byte for byte, the CDP issuance writes for its
 * serials (ca_crl_urls); the full CRL lists all and has no IDP. */
static void
test_partition_crl_carries_the_idp_its_certificates_name(void **state)
{
	struct fixture *f = *state;
	X509_CRL *crl, *full;
	ISSUING_DIST_POINT *idp;
	char path[256], cdp[OCSPR_URL_MAX], fresh[OCSPR_URL_MAX];
	char want[OCSPR_URL_MAX];
	int crit = -1;

	set_rows(f);
	crl_path(f, PART_A1, 0, path, sizeof(path));
	crl = get_crl(f, path, "a1");
	assert_false(lists(crl, "b2"));		/* partition 2's */
	assert_int_equal(ca_crl_urls("a1", f->crl_url, OFX_PARTS, cdp, fresh),
	    0);
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit,
	    NULL);
	assert_non_null(idp);
	assert_int_equal(crit, 1);
	assert_string_equal(dpn_uri(idp->distpoint), cdp);
	assert_true(idp->onlyuser != 0);
	assert_int_equal(idp->onlyCA, 0);
	assert_null(idp->onlysomereasons);
	assert_int_equal(idp->indirectCRL, 0);
	ISSUING_DIST_POINT_free(idp);
	assert_freshest(crl, fresh);
	assert_null(X509_CRL_get_ext_d2i(crl, NID_delta_crl, NULL, NULL));

	crl_path(f, -1, 0, path, sizeof(path));
	full = get_crl(f, path, "a1");
	assert_true(lists(full, "b2"));
	assert_null(X509_CRL_get_ext_d2i(full, NID_issuing_distribution_point,
	    &crit, NULL));
	assert_int_equal(ocspr_crlurl_make(f->crl_url, OFX_PARTS, -1, 1, want,
	    sizeof(want)), 0);
	assert_freshest(full, want);
	X509_CRL_free(full);
	X509_CRL_free(crl);
}

/* A revocation is listed by its partition's delta (and the full CRL's),
 * whose critical deltaCRLIndicator is the served base's number, its own
 * number above it; the base is not remade for it. */
static void
test_delta_lists_a_revocation_since_its_base(void **state)
{
	struct fixture *f = *state;
	X509_CRL *base, *delta, *base2, *other, *fdelta;
	ISSUING_DIST_POINT *bidp, *didp;
	char path[256];
	unsigned char *a = NULL, *b = NULL;
	uint64_t nb;
	int crit = -1, la, lb;

	/* the rows of the test before, whose base is served */
	crl_path(f, PART_A1, 0, path, sizeof(path));
	base = get_crl(f, path, "a1");
	nb = int_ext(base, NID_crl_number, &crit);
	ofx_set_row(f, 2, "c1", OCSPR_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	ofx_run_on_loop(f, ofx_do_crl_revoked, "c1");
	crl_path(f, PART_A1, 1, path, sizeof(path));
	delta = get_crl(f, path, "c1");
	assert_int_equal(int_ext(delta, NID_delta_crl, &crit), nb);
	assert_int_equal(crit, 1);
	assert_true(int_ext(delta, NID_crl_number, &crit) > nb);
	assert_false(lists(delta, "a1"));	/* in the base already */
	assert_null(X509_CRL_get_ext_d2i(delta, NID_freshest_crl, NULL, NULL));
	/* the same IDP, byte for byte (OpenSSL's check_delta_base) */
	bidp = X509_CRL_get_ext_d2i(base, NID_issuing_distribution_point, NULL,
	    NULL);
	didp = X509_CRL_get_ext_d2i(delta, NID_issuing_distribution_point,
	    NULL, NULL);
	assert_non_null(bidp);
	assert_non_null(didp);
	la = i2d_ISSUING_DIST_POINT(bidp, &a);
	lb = i2d_ISSUING_DIST_POINT(didp, &b);
	assert_true(la > 0 && la == lb && memcmp(a, b, (size_t)la) == 0);
	/* the base was not remade for one revocation */
	crl_path(f, PART_A1, 0, path, sizeof(path));
	base2 = get_crl(f, path, NULL);
	assert_int_equal(int_ext(base2, NID_crl_number, &crit), nb);
	assert_false(lists(base2, "c1"));
	/* another partition's delta does not list it, the full one's does */
	crl_path(f, PART_A1 + 1, 1, path, sizeof(path));
	other = get_crl(f, path, NULL);
	assert_false(lists(other, "c1"));
	crl_path(f, -1, 1, path, sizeof(path));
	fdelta = get_crl(f, path, "c1");
	OPENSSL_free(a);
	OPENSSL_free(b);
	ISSUING_DIST_POINT_free(bidp);
	ISSUING_DIST_POINT_free(didp);
	X509_CRL_free(fdelta);
	X509_CRL_free(other);
	X509_CRL_free(base2);
	X509_CRL_free(delta);
	X509_CRL_free(base);
}

/* After a restart (a new responder, the same key process, which refuses
 * a number not above the last it signed) the bases list everything and
 * every number is above those before. */
static void
test_crl_numbers_rise_across_restarts(void **state)
{
	struct fixture *f = *state;
	X509_CRL *delta, *base, *d2;
	char path[256];
	struct timeval tv;
	uint64_t before, restart_ms;
	int crit;

	ofx_set_row(f, 3, "d1", OCSPR_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	ofx_run_on_loop(f, ofx_do_crl_revoked, "d1");
	crl_path(f, PART_A1, 1, path, sizeof(path));
	delta = get_crl(f, path, "d1");
	before = int_ext(delta, NID_crl_number, &crit);
	/* a base made again takes in what its delta listed: the next delta
	 * starts empty */
	ofx_run_on_loop(f, ofx_do_crl_changed, NULL);
	crl_path(f, PART_A1, 1, path, sizeof(path));
	for (int i = 0; i < WAIT_TRIES; i++) {
		d2 = get_crl(f, path, NULL);
		if (int_ext(d2, NID_delta_crl, &crit) > before)
			break;
		X509_CRL_free(d2);
		d2 = NULL;
		usleep(WAIT_USEC);
	}
	assert_non_null(d2);
	/* (-1: no revokedCertificates at all, as an empty CRL encodes) */
	assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(d2)) <= 0);
	before = int_ext(d2, NID_crl_number, &crit);
	X509_CRL_free(d2);
	/* numbers are milliseconds of the clock (or the last plus one): a
	 * restarted responder starts above the last one without asking the
	 * key process, which would refuse anything else */
	gettimeofday(&tv, NULL);
	restart_ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	ofx_run_on_loop(f, ofx_do_restart, NULL);
	crl_path(f, PART_A1, 0, path, sizeof(path));
	base = get_crl(f, path, "d1");
	assert_true(lists(base, "a1"));
	assert_true(int_ext(base, NID_crl_number, &crit) > before);
	assert_true(int_ext(base, NID_crl_number, &crit) >= restart_ms);
	crl_path(f, PART_A1, 1, path, sizeof(path));
	d2 = get_crl(f, path, NULL);
	assert_int_equal(int_ext(d2, NID_delta_crl, &crit),
	    int_ext(base, NID_crl_number, &crit));
	assert_true(int_ext(d2, NID_crl_number, &crit) >
	    int_ext(base, NID_crl_number, &crit));
	X509_CRL_free(d2);
	X509_CRL_free(base);
	X509_CRL_free(delta);
}

/* Only the configured n and p below it are served. */
static void
test_other_partition_urls_are_404(void **state)
{
	struct fixture *f = *state;
	const char *id = signer_issuer_id(f->signer);
	const char *tail[] = { "/8/1.crl", "/4/4.crl", "/4/1.delta",
	    "/4/1.crl/", "//1.crl", "/4/0001.crl", "/4/01.crl", "/04/1.crl",
	    "/4.crl", ".delta" };
	unsigned char *body;
	size_t blen;
	char path[256];

	for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
		snprintf(path, sizeof(path), "/crl/%s%s", id, tail[i]);
		assert_int_equal(ofx_get(f, path, &body, &blen), 404);
		free(body);
	}
}

/* ---- CRLs kept across a restart (ocsp/crlsave.c) ---------------------- */

/* The three CRLs test_kept_crls_* look at: partition PART_A1's base and
 * delta, the full CRL. */
#define KEPT_N 3

static void
kept_path(struct fixture *f, int i, char *out, size_t len)
{
	crl_path(f, i == 2 ? -1 : PART_A1, i == 1, out, len);
}

/* The responder made again (as a restart) with the revoked set readable
 * or not: when not, no CRL can be made and what is served is what was
 * read back from crl_dir. */
static void
restart(struct fixture *f, const char *crl_dir, int revoked_fail)
{
	pthread_mutex_lock(&f->mu);
	f->revoked_fail = revoked_fail;
	pthread_mutex_unlock(&f->mu);
	f->oc.crl_dir = crl_dir;
	ofx_run_on_loop(f, ofx_do_restart, NULL);
}

/* A restart with CRLs kept in <dir>/crls (dir: PATH_MAX + 8 bytes), and
 * each kept CRL fetched once, so that every one is on disk. */
static void
restart_keeping(struct fixture *f, char *dir, size_t dirlen)
{
	char path[256];

	snprintf(dir, dirlen, "%s/crls", f->dir);
	restart(f, dir, 0);
	for (int i = 0; i < KEPT_N; i++) {
		kept_path(f, i, path, sizeof(path));
		X509_CRL_free(get_crl(f, path, NULL));
	}
}

/* A restart serves the CRLs served before it at once, byte for byte,
 * while no new one can be made yet; without crl_dir (or a first start)
 * they are 503 until made. */
static void
test_kept_crls_are_served_at_once_after_a_restart(void **state)
{
	struct fixture *f = *state;
	static char dir[PATH_MAX + 8];
	unsigned char *before[KEPT_N], *body;
	size_t blen[KEPT_N], len;
	char path[256];
	X509_CRL *crl;

	restart_keeping(f, dir, sizeof(dir));
	/* e1 (partition 1) in the delta only */
	ofx_set_row(f, 3, "e1", OCSPR_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	ofx_run_on_loop(f, ofx_do_crl_revoked, "e1");
	kept_path(f, 1, path, sizeof(path));
	crl = get_crl(f, path, "e1");
	X509_CRL_free(crl);
	for (int i = 0; i < KEPT_N; i++) {
		kept_path(f, i, path, sizeof(path));
		assert_int_equal(ofx_get(f, path, &before[i], &blen[i]), 200);
	}
	restart(f, dir, 1);
	for (int i = 0; i < KEPT_N; i++) {
		kept_path(f, i, path, sizeof(path));
		assert_int_equal(ofx_get(f, path, &body, &len), 200);
		assert_int_equal(len, blen[i]);
		assert_memory_equal(body, before[i], len);
		free(body);
	}
	/* a revocation before the first base is made: no delta of the
	 * read-back base (it would list f1 and lose e1); the kept one stays */
	ofx_set_row(f, 2, "f1", OCSPR_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	ofx_run_on_loop(f, ofx_do_crl_revoked, "f1");
	usleep(10 * WAIT_USEC);
	kept_path(f, 1, path, sizeof(path));
	crl = get_crl(f, path, NULL);
	assert_true(lists(crl, "e1"));
	X509_CRL_free(crl);
	/* negative control: the same restart without the kept files */
	restart(f, NULL, 1);
	for (int i = 0; i < KEPT_N; i++) {
		kept_path(f, i, path, sizeof(path));
		assert_int_equal(ofx_get(f, path, &body, &len), 503);
		free(body);
		free(before[i]);
	}
	restart(f, dir, 0);
}

/* A kept file that does not prove itself is not served: a flipped byte
 * of the base's signature (its delta goes with it); read past its
 * nextUpdate, as a delta, or as another issuer's.  A crl_dir that cannot
 * be written costs nothing but the keeping. */
static void
test_kept_crls_that_fail_their_checks_are_not_served(void **state)
{
	struct fixture *f = *state;
	static char dir[PATH_MAX + 8];
	char path[256], file[PATH_MAX + 128];
	unsigned char *body;
	size_t len;
	X509_CRL *crl;
	FILE *fp;
	struct ocspr_crlsave_doc d;
	const char *why;
	int c;

	restart_keeping(f, dir, sizeof(dir));
	/* the last byte of the base's file is its signature's */
	snprintf(file, sizeof(file), "%s/%s-%d-%d.crl", dir,
	    signer_issuer_id(f->signer), OFX_PARTS, PART_A1);
	assert_non_null(fp = fopen(file, "r+b"));
	assert_int_equal(fseek(fp, -1, SEEK_END), 0);
	assert_true((c = fgetc(fp)) != EOF);
	assert_int_equal(fseek(fp, -1, SEEK_END), 0);
	assert_int_equal(fputc(c ^ 0x01, fp), c ^ 0x01);
	assert_int_equal(fclose(fp), 0);
	restart(f, dir, 1);
	for (int i = 0; i < KEPT_N; i++) {
		kept_path(f, i, path, sizeof(path));
		assert_int_equal(ofx_get(f, path, &body, &len), i < 2 ? 503 :
		    200);
		free(body);
	}
	/* the full CRL's file, read at a time past its nextUpdate, or as
	 * a delta */
	snprintf(file, sizeof(file), "%s.crl", signer_issuer_id(f->signer));
	assert_int_equal(ocspr_crlsave_read(dir, file, f->iss, 0, time(NULL),
	    &d, &why), 0);
	assert_null(why);
	OPENSSL_free(d.der);
	assert_int_equal(ocspr_crlsave_read(dir, file, f->iss, 0, time(NULL) +
	    f->oc.crl_validity + 1, &d, &why), -1);
	assert_null(d.der);
	assert_string_equal(why, "past its nextUpdate");
	assert_int_equal(ocspr_crlsave_read(dir, file, f->iss, 1, time(NULL),
	    &d, &why), -1);
	assert_non_null(why);
	assert_int_equal(ocspr_crlsave_read(dir, file, f->root, 0, time(NULL),
	    &d, &why), -1);
	assert_non_null(why);
	assert_int_equal(ocspr_crlsave_read(dir, "absent.crl", f->iss, 0,
	    time(NULL), &d, &why), -1);
	assert_null(why);
	/* a directory that cannot be made: the CRLs are served all the same */
	restart(f, "/dev/null/crls", 0);
	for (int i = 0; i < KEPT_N; i++) {
		kept_path(f, i, path, sizeof(path));
		crl = get_crl(f, path, NULL);
		X509_CRL_free(crl);
	}
	restart(f, dir, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partition_is_the_serials_low_byte),
		cmocka_unit_test(
		    test_partition_crl_carries_the_idp_its_certificates_name),
		cmocka_unit_test(test_delta_lists_a_revocation_since_its_base),
		cmocka_unit_test(test_crl_numbers_rise_across_restarts),
		cmocka_unit_test(test_other_partition_urls_are_404),
		cmocka_unit_test(
		    test_kept_crls_are_served_at_once_after_a_restart),
		cmocka_unit_test(
		    test_kept_crls_that_fail_their_checks_are_not_served),
	};

	return cmocka_run_group_tests(tests, ofx_setup_parts, ofx_teardown);
}
