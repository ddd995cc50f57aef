/*
 * test_profile.c: bridge/ca/profile.c and subject.c (the profile options
 * and the CA names) and what issue_build and the pre-issuance lint make of
 * them: a policy OID, a short-lived certificate with RFC 9608 noRevAvail
 * and no OCSP or CRL pointers, a validity in hours, Ed25519 device keys
 * (RFC 8410).  Each good shape is built by issue_build and passes the
 * lint; each other shape is refused with the check it breaks named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"
#include "tests/bridge/ca/tbs_fx.h"

#define WHYLEN		512
#define DAY		((time_t)86400)
#define OID_A		"1.3.6.1.4.1.99999.17.1"
#define OID_B		"1.3.6.1.4.1.99999.17.2"

struct fx {
	struct tbs_fx t;
	EVP_PKEY *ed;			/* an Ed25519 device key */
};

static int
group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	log_verbosity = LOGL_ERR;
	if (f == NULL || tbs_fx_setup(&f->t) != 0 ||
	    (f->ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
		if (f != NULL)
			tbs_fx_teardown(&f->t);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fx *f = *state;

	tbs_fx_teardown(&f->t);
	EVP_PKEY_free(f->ed);
	free(f);
	return 0;
}

/* One shape: built with bp, linted with wp (the key process's view). */
struct shape {
	enum est_profile profile;
	EVP_PKEY *key;
	struct ca_profile bp, wp;
	/* Changes the unsigned certificate before its TBS is taken. */
	void (*mutate)(X509 *x);
	uint8_t *tbs;
	size_t len;
	unsigned char *spki;
	struct ca_lint_want want;
};

#define SHAPE(p, k, b, w, m) { .profile = (p), .key = (k), .bp = (b), \
	.wp = (w), .mutate = (m) }

/* Builds s's certificate with issue_build and its DER TBS, and the want
 * the lint checks it against. */
static void
shape_build(const struct fx *f, struct shape *s)
{
	struct issue_params ip;
	char err[WHYLEN] = "";
	X509 *x;
	int n;

	s->want = (struct ca_lint_want){
		.issuer = f->t.iss, .profile = s->profile, .cn = "dev-1",
		.names = NULL, .now = f->t.now,
		.key_not_before = f->t.now - 30 * DAY,
		.key_not_after = f->t.now + 3 * 365 * DAY,
		.ocsp_url = f->t.ocsp_url, .ca_issuers_url = f->t.ca_issuers_url,
		.crl_url = f->t.crl_url, .prof = &s->wp,
	};
	ip = (struct issue_params){
		.profile = s->profile, .cn = "dev-1", .pubkey = s->key,
		.issuer = f->t.iss, .now = f->t.now,
		.key_not_before = s->want.key_not_before,
		.key_not_after = s->want.key_not_after,
		.ocsp_url = f->t.ocsp_url, .ca_issuers_url = f->t.ca_issuers_url,
		.crl_url = f->t.crl_url, .prof = &s->bp,
	};
	x = issue_build(&ip, err, sizeof(err));
	if (x == NULL)
		fail_msg("issue_build: %s", err);
	if (s->mutate != NULL)
		s->mutate(x);
	assert_int_equal(ca_tbs_der(x, f->t.iss, &s->tbs, &s->len), 0);
	n = i2d_PUBKEY(s->key, &s->spki);
	assert_true(n > 0);
	s->want.spki = s->spki;
	s->want.spki_len = (size_t)n;
	X509_free(x);
}

static void
shape_free(struct shape *s)
{
	OPENSSL_free(s->tbs);
	OPENSSL_free(s->spki);
}

/* s passes the lint and ca_sign_tbs makes a certificate of it that
 * verifies with the issuing CA; the certificate is returned. */
static X509 *
assert_passes(const struct fx *f, struct shape *s)
{
	char why[WHYLEN] = "";
	X509 *x;

	shape_build(f, s);
	if (ca_lint_tbs(s->tbs, s->len, &s->want, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	x = ca_sign_tbs(s->tbs, s->len, f->t.iss_key, why, sizeof(why));
	if (x == NULL)
		fail_msg("ca_sign_tbs: %s", why);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(f->t.iss)), 1);
	shape_free(s);
	return x;
}

/* s is refused, the reason beginning with want. */
static void
assert_refused(const struct fx *f, struct shape *s, const char *want)
{
	char why[WHYLEN] = "";

	shape_build(f, s);
	assert_int_equal(ca_lint_tbs(s->tbs, s->len, &s->want, why,
	    sizeof(why)), -1);
	if (strncmp(why, want, strlen(want)) != 0)
		fail_msg("refused with \"%s\", want \"%s...\"", why, want);
	shape_free(s);
}

/* A profile of hours h, noRevAvail norev, policy oid. */
static struct ca_profile
prof(long h, int norev, const char *oid)
{
	return (struct ca_profile){ .validity = h * 3600,
	    .max = 365 * DAY, .no_rev_avail = norev, .policy_oid = oid };
}

/* ---- mutations of an issued certificate (what a compromised network
 * process could send instead) ---- */

static void
add_ext_der(X509 *x, int nid, int crit, const unsigned char *der,
    size_t len)
{
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ex;

	assert_non_null(v);
	assert_int_equal(ASN1_OCTET_STRING_set(v, der, (int)len), 1);
	assert_non_null(ex = X509_EXTENSION_create_by_NID(NULL, nid, crit,
	    v));
	assert_int_equal(X509_add_ext(x, ex, -1), 1);
	X509_EXTENSION_free(ex);
	ASN1_OCTET_STRING_free(v);
}

static void
del_ext(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	X509_EXTENSION_free(X509_delete_ext(x, i));
}

static const unsigned char null_der[] = { 0x05, 0x00 };

static void
mut_add_norev(X509 *x)
{
	add_ext_der(x, NID_no_rev_avail, 0, null_der, sizeof(null_der));
}

static void
mut_norev_critical(X509 *x)
{
	del_ext(x, NID_no_rev_avail);
	add_ext_der(x, NID_no_rev_avail, 1, null_der, sizeof(null_der));
}

static void
mut_norev_not_null(X509 *x)
{
	static const unsigned char b[] = { 0x01, 0x01, 0xff };	/* TRUE */

	del_ext(x, NID_no_rev_avail);
	add_ext_der(x, NID_no_rev_avail, 0, b, sizeof(b));
}

static void
mut_cp_critical(X509 *x)
{
	X509_EXTENSION *ex = X509_get_ext(x,
	    X509_get_ext_by_NID(x, NID_certificate_policies, -1));

	assert_non_null(ex);
	assert_int_equal(X509_EXTENSION_set_critical(ex, 1), 1);
}

/* Two policies, OID_A and OID_B; or OID_A with a CPS qualifier. */
static void
set_policies(X509 *x, int two, int qualifier)
{
	CERTIFICATEPOLICIES *cp = sk_POLICYINFO_new_null();
	POLICYINFO *pi;
	POLICYQUALINFO *q;
	int i;

	assert_non_null(cp);
	del_ext(x, NID_certificate_policies);
	for (i = 0; i < (two ? 2 : 1); i++) {
		assert_non_null(pi = POLICYINFO_new());
		ASN1_OBJECT_free(pi->policyid);
		pi->policyid = OBJ_txt2obj(i == 0 ? OID_A : OID_B, 1);
		if (qualifier) {
			assert_non_null(q = POLICYQUALINFO_new());
			q->pqualid = OBJ_nid2obj(NID_id_qt_cps);
			q->d.cpsuri = ASN1_IA5STRING_new();
			ASN1_STRING_set(q->d.cpsuri, "http://cps.example", -1);
			pi->qualifiers = sk_POLICYQUALINFO_new_null();
			sk_POLICYQUALINFO_push(pi->qualifiers, q);
		}
		assert_true(sk_POLICYINFO_push(cp, pi) > 0);
	}
	assert_int_equal(X509_add1_ext_i2d(x, NID_certificate_policies, cp, 0,
	    0), 1);
	CERTIFICATEPOLICIES_free(cp);
}

static void
mut_cp_two(X509 *x)
{
	set_policies(x, 1, 0);
}

static void
mut_cp_qualifier(X509 *x)
{
	set_policies(x, 0, 1);
}

static void
mut_ku_ke(X509 *x)
{
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
	    "critical,digitalSignature,keyEncipherment");

	assert_non_null(ex);
	del_ext(x, NID_key_usage);
	assert_int_equal(X509_add_ext(x, ex, 1), 1);
	X509_EXTENSION_free(ex);
}

/* ---- the options ------------------------------------------------------ */

static void
test_policy_oid_is_written_and_linted(void **state)
{
	struct fx *f = *state;
	struct shape s = SHAPE(EST_PROFILE_SERVER, f->t.ec,
	    prof(90 * 24, 0, OID_A), prof(90 * 24, 0, OID_A), NULL);
	CERTIFICATEPOLICIES *cp;
	char got[128];
	X509 *x = assert_passes(f, &s);
	int crit = -1;

	assert_non_null(cp = X509_get_ext_d2i(x, NID_certificate_policies,
	    &crit, NULL));
	assert_int_equal(crit, 0);
	assert_int_equal(sk_POLICYINFO_num(cp), 1);
	OBJ_obj2txt(got, sizeof(got), sk_POLICYINFO_value(cp, 0)->policyid,
	    1);
	assert_string_equal(got, OID_A);
	assert_null(sk_POLICYINFO_value(cp, 0)->qualifiers);
	CERTIFICATEPOLICIES_free(cp);
	X509_free(x);
}

static void
test_policy_other_than_the_profiles_is_refused(void **state)
{
	struct fx *f = *state;
	struct shape a = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 0, OID_A), prof(24, 0, OID_B), NULL);
	struct shape b = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 0, OID_A), prof(24, 0, NULL), NULL);
	struct shape c = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 0, NULL), prof(24, 0, OID_A), NULL);
	struct shape d = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 0, OID_A), prof(24, 0, OID_A), mut_cp_critical);
	struct shape e = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 0, OID_A), prof(24, 0, OID_A), mut_cp_two);
	struct shape g = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 0, OID_A), prof(24, 0, OID_A), mut_cp_qualifier);

	assert_refused(f, &a, "lint: certificatePolicies: " OID_A
	    ", want the profile's " OID_B);
	assert_refused(f, &b, "lint: extensions: unexpected "
	    "certificatePolicies");
	assert_refused(f, &c, "lint: extensions: missing certificatePolicies");
	assert_refused(f, &d, "lint: certificatePolicies: critical");
	assert_refused(f, &e, "lint: certificatePolicies: 2 policies");
	assert_refused(f, &g, "lint: certificatePolicies: policy qualifiers");
}

static void
test_short_lived_carries_norevavail_and_no_pointers(void **state)
{
	struct fx *f = *state;
	struct shape s = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 1, NULL), prof(24, 1, NULL), NULL);
	X509 *x = assert_passes(f, &s);
	AUTHORITY_INFO_ACCESS *aia;
	X509_EXTENSION *ex;
	int i, crit = -1;

	i = X509_get_ext_by_NID(x, NID_no_rev_avail, -1);
	assert_true(i >= 0);
	ex = X509_get_ext(x, i);
	assert_int_equal(X509_EXTENSION_get_critical(ex), 0);
	assert_int_equal(ASN1_STRING_length(X509_EXTENSION_get_data(ex)), 2);
	assert_memory_equal(ASN1_STRING_get0_data(X509_EXTENSION_get_data(ex)),
	    null_der, 2);
	assert_int_equal(X509_get_ext_by_NID(x, NID_crl_distribution_points,
	    -1), -1);
	/* caIssuers alone: no OCSP access description */
	assert_non_null(aia = X509_get_ext_d2i(x, NID_info_access, &crit,
	    NULL));
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 1);
	assert_int_equal(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia,
	    0)->method), NID_ad_ca_issuers);
	AUTHORITY_INFO_ACCESS_free(aia);
	/* 24 h from notBefore's now - 300 s backdate */
	{
		int days = -1, secs = -1;

		assert_int_equal(ASN1_TIME_diff(&days, &secs,
		    X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
		assert_int_equal(days * 86400 + secs, 24 * 3600 +
		    ISSUE_BACKDATE);
	}
	X509_free(x);
}

static void
test_norevavail_shapes_the_profile_does_not_have_are_refused(void **state)
{
	struct fx *f = *state;
	/* noRevAvail on a certificate of a profile with pointers */
	struct shape a = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 1, NULL), prof(24, 0, NULL), NULL);
	/* pointers and no noRevAvail where the profile says noRevAvail */
	struct shape b = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 0, NULL), prof(24, 1, NULL), NULL);
	/* noRevAvail added to a certificate that keeps its pointers */
	struct shape c = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 0, NULL), prof(24, 1, NULL), mut_add_norev);
	struct shape d = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 1, NULL), prof(24, 1, NULL), mut_norev_critical);
	struct shape e = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(24, 1, NULL), prof(24, 1, NULL), mut_norev_not_null);
	/* noRevAvail on a long-lived certificate: the want itself */
	struct shape g = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(365 * 24, 1, NULL), prof(365 * 24, 1, NULL), NULL);
	/* ... or a long-lived certificate under a short-lived want */
	struct shape h = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(169, 1, NULL), prof(168, 1, NULL), NULL);

	assert_refused(f, &a, "lint: extensions: unexpected noRevAvail");
	assert_refused(f, &b, "lint: extensions: unexpected "
	    "crlDistributionPoints (the profile says noRevAvail");
	assert_refused(f, &c, "lint: extensions: unexpected "
	    "crlDistributionPoints");
	assert_refused(f, &d, "lint: noRevAvail: critical");
	assert_refused(f, &e, "lint: noRevAvail: the value does not parse");
	assert_refused(f, &g, "lint: want: the device profile's options are "
	    "out of bounds");
	assert_refused(f, &h, "lint: validity: longer than the device "
	    "profile's maximum");
}

static void
test_validity_hours_bound_the_certificate(void **state)
{
	struct fx *f = *state;
	struct shape ok = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(48, 0, NULL), prof(48, 0, NULL), NULL);
	struct shape bad = SHAPE(EST_PROFILE_DEVICE, f->t.ec,
	    prof(48, 0, NULL), prof(24, 0, NULL), NULL);
	struct shape over = SHAPE(EST_PROFILE_ADMIN, f->t.ec,
	    prof(31 * 24, 0, NULL), prof(31 * 24, 0, NULL), NULL);

	X509_free(assert_passes(f, &ok));
	assert_refused(f, &bad, "lint: validity: longer than the device "
	    "profile's maximum");
	/* beyond the admin profile's 30 days, whatever the want says */
	assert_refused(f, &over, "lint: want: the admin profile's options");
}

/* ---- Ed25519 device keys (RFC 8410) ----------------------------------- */

static void
test_ed25519_device_key_is_issued_with_digital_signature_only(void **state)
{
	struct fx *f = *state;
	struct shape s = SHAPE(EST_PROFILE_DEVICE, f->ed,
	    prof(365 * 24, 0, NULL), prof(365 * 24, 0, NULL), NULL);
	X509 *x = assert_passes(f, &s);

	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)),
	    EVP_PKEY_ED25519);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	X509_free(x);
}

static void
test_ed25519_outside_the_device_profile_is_refused(void **state)
{
	struct fx *f = *state;
	struct issue_params ip = {
		.profile = EST_PROFILE_SERVER, .cn = "srv", .pubkey = f->ed,
		.issuer = f->t.iss, .now = f->t.now,
		.key_not_before = f->t.now - DAY,
		.key_not_after = f->t.now + 365 * DAY,
	};
	struct shape ku = SHAPE(EST_PROFILE_DEVICE, f->ed,
	    prof(24, 0, NULL), prof(24, 0, NULL), mut_ku_ke);
	char err[WHYLEN] = "", why[WHYLEN] = "";
	struct shape s = SHAPE(EST_PROFILE_DEVICE, f->ed,
	    prof(24, 0, NULL), prof(24, 0, NULL), NULL);

	assert_null(issue_build(&ip, err, sizeof(err)));
	assert_non_null(strstr(err, "device profile only"));
	/* The lint refuses a device TBS shown as a server's. */
	shape_build(f, &s);
	s.want.profile = EST_PROFILE_SERVER;
	assert_int_equal(ca_lint_tbs(s.tbs, s.len, &s.want, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "lint: spki: an Ed25519 key in the server "
	    "profile"));
	shape_free(&s);
	assert_refused(f, &ku, "lint: keyUsage: digitalSignature,"
	    "keyEncipherment, want digitalSignature for an Ed25519 key");
}

/* The ledger refuses an Ed25519 device key no private key has (the
 * identity point, small order: it verifies forged signatures under a lax
 * verifier), as it does an account key; a real one passes. */
static void
test_ledger_refuses_a_small_order_ed25519_device_key(void **state)
{
	struct fx *f = *state;
	unsigned char raw[32] = { 0x01 }, *der = NULL;
	char why[WHYLEN] = "";
	EVP_PKEY *bad;
	int n;

	assert_non_null(bad = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
	    NULL, raw, sizeof(raw)));
	assert_true((n = i2d_PUBKEY(bad, &der)) > 0);
	assert_int_equal(ledger_spki_check(bad, der, (size_t)n, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "small order"));
	OPENSSL_free(der);
	der = NULL;
	assert_true((n = i2d_PUBKEY(f->ed, &der)) > 0);
	assert_int_equal(ledger_spki_check(f->ed, der, (size_t)n, why,
	    sizeof(why)), 0);
	OPENSSL_free(der);
	EVP_PKEY_free(bad);
}

/* ---- the configuration's checks ----------------------------------------- */

static void
test_oid_check(void **state)
{
	static const char *const good[] = {
		"1.3.6.1.4.1.99999.1", "2.23.140.1.2.1", "0.0", "2.999.1",
		"1.39", "1.2.18446744073709551615",
	};
	static const char *const bad[] = {
		"", "1", "1.", ".1", "1..2", "1.3.06", "3.1", "1.40",
		"0.40.1", "1.a", "1.3 .6", "-1.3", "2.5.29.32.0",
		"1.2.123456789012345678901",
	};
	char why[WHYLEN], big[CA_OID_MAX + 8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (ca_oid_check(good[i], why, sizeof(why)) != 0)
			fail_msg("%s refused: %s", good[i], why);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ca_oid_check(bad[i], why, sizeof(why)) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
	memset(big, 0, sizeof(big));
	strcpy(big, "1.2");
	while (strlen(big) + 2 <= CA_OID_MAX + 2)
		strcat(big, ".1");
	assert_int_equal(ca_oid_check(big, why, sizeof(why)), -1);
}

static void
test_subject_check(void **state)
{
	char why[WHYLEN], o[CA_NAME_CHARS_MAX * 2 + 8];

	(void)state;
	assert_int_equal(ca_subject_check("DE", 1, why, sizeof(why)), 0);
	assert_int_equal(ca_subject_check("US", 1, why, sizeof(why)), 0);
	assert_int_equal(ca_subject_check("de", 1, why, sizeof(why)), -1);
	assert_int_equal(ca_subject_check("DEU", 1, why, sizeof(why)), -1);
	assert_int_equal(ca_subject_check("D", 1, why, sizeof(why)), -1);
	assert_int_equal(ca_subject_check("ZZ", 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "ISO 3166"));
	assert_int_equal(ca_subject_check("UK", 1, why, sizeof(why)), -1);
	assert_int_equal(ca_subject_check("Example Corp", 0, why,
	    sizeof(why)), 0);
	assert_int_equal(ca_subject_check("Bundesdruckerei Gm\xc3\xbc"
	    "nchen", 0, why, sizeof(why)), 0);
	assert_int_equal(ca_subject_check("a\tb", 0, why, sizeof(why)), -1);
	assert_int_equal(ca_subject_check("a\xc2\x85" "b", 0, why,
	    sizeof(why)), -1);	/* C1 NEL */
	assert_int_equal(ca_subject_check("\xc0\xaf", 0, why, sizeof(why)),
	    -1);		/* overlong */
	assert_int_equal(ca_subject_check("\xed\xa0\x80", 0, why,
	    sizeof(why)), -1);	/* surrogate */
	assert_int_equal(ca_subject_check("\xff", 0, why, sizeof(why)), -1);
	assert_int_equal(ca_subject_check(" lead", 0, why, sizeof(why)), -1);
	assert_int_equal(ca_subject_check("", 0, why, sizeof(why)), -1);
	/* 64 characters (two bytes each) pass, 65 do not */
	o[0] = '\0';
	for (int i = 0; i < CA_NAME_CHARS_MAX; i++)
		strcat(o, "\xc3\xa9");
	assert_int_equal(ca_subject_check(o, 0, why, sizeof(why)), 0);
	strcat(o, "e");
	assert_int_equal(ca_subject_check(o, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "65 characters"));
}

static void
test_subject_name_is_c_o_ou_cn(void **state)
{
	struct bridge_config c;
	char err[WHYLEN] = "", buf[256];
	X509_NAME *n;
	BIO *b = BIO_new(BIO_s_mem());
	int len;

	(void)state;
	config_defaults(&c, "/nonexistent");
	n = ca_subject_name(&c, "kb Root CA", err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(X509_NAME_entry_count(n), 1);	/* CN alone */
	X509_NAME_free(n);
	snprintf(c.ca_subject_c, sizeof(c.ca_subject_c), "DE");
	snprintf(c.ca_subject_o, sizeof(c.ca_subject_o), "Example");
	snprintf(c.ca_subject_ou, sizeof(c.ca_subject_ou), "PKI");
	assert_non_null(n = ca_subject_name(&c, "kb Root CA", err,
	    sizeof(err)));
	assert_non_null(b);
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 | ASN1_STRFLGS_SHOW_TYPE);
	len = BIO_read(b, buf, sizeof(buf) - 1);
	buf[len > 0 ? len : 0] = '\0';
	assert_string_equal(buf, "CN=UTF8STRING:kb Root CA,OU=UTF8STRING:PKI,"
	    "O=UTF8STRING:Example,C=PRINTABLESTRING:DE");
	X509_NAME_free(n);
	BIO_free(b);
	snprintf(c.ca_subject_c, sizeof(c.ca_subject_c), "XX");
	assert_null(ca_subject_name(&c, "kb Root CA", err, sizeof(err)));
	assert_non_null(strstr(err, "ca_subject_c"));
}

static void
test_profile_options_bounds(void **state)
{
	struct bridge_config c;
	struct ca_profile p;
	const char *key = NULL;
	char why[WHYLEN];

	(void)state;
	config_defaults(&c, "/nonexistent");
	assert_int_equal(ca_profile_config_check(&c, &key, why, sizeof(why)),
	    0);
	assert_int_equal(ca_profile_get(&c, EST_PROFILE_SERVER, &p), 0);
	assert_int_equal(p.validity, 90 * DAY);
	assert_int_equal(p.no_rev_avail, 0);
	assert_null(p.policy_oid);
	assert_int_equal(ca_profile_get(&c, 0, &p), -1);

	c.device_no_rev_avail = 1;		/* without hours */
	assert_int_equal(ca_profile_config_check(&c, &key, why, sizeof(why)),
	    -1);
	assert_string_equal(key, "device_no_rev_avail");
	assert_int_equal(ca_profile_get(&c, EST_PROFILE_DEVICE, &p), -1);
	c.device_validity_hours = 169;		/* over 7 days */
	assert_int_equal(ca_profile_config_check(&c, &key, why, sizeof(why)),
	    -1);
	assert_string_equal(key, "device_no_rev_avail");
	c.device_validity_hours = 168;		/* 7 days: allowed */
	assert_int_equal(ca_profile_config_check(&c, &key, why, sizeof(why)),
	    0);
	assert_int_equal(ca_profile_get(&c, EST_PROFILE_DEVICE, &p), 0);
	assert_int_equal(p.validity, 7 * DAY);
	assert_int_equal(p.no_rev_avail, 1);

	c.admin_validity_hours = 721;		/* over 30 days */
	assert_int_equal(ca_profile_config_check(&c, &key, why, sizeof(why)),
	    -1);
	assert_string_equal(key, "admin_validity_hours");
	c.admin_validity_hours = 1;
	snprintf(c.server_policy_oid, sizeof(c.server_policy_oid), "1.2.x");
	assert_int_equal(ca_profile_config_check(&c, &key, why, sizeof(why)),
	    -1);
	assert_string_equal(key, "server_policy_oid");
	snprintf(c.server_policy_oid, sizeof(c.server_policy_oid), OID_A);
	snprintf(c.ca_subject_c, sizeof(c.ca_subject_c), "de");
	assert_int_equal(ca_profile_config_check(&c, &key, why, sizeof(why)),
	    -1);
	assert_string_equal(key, "ca_subject_c");
	snprintf(c.ca_subject_c, sizeof(c.ca_subject_c), "DE");
	assert_int_equal(ca_profile_config_check(&c, &key, why, sizeof(why)),
	    0);
	assert_int_equal(ca_profile_get(&c, EST_PROFILE_SERVER, &p), 0);
	assert_string_equal(p.policy_oid, OID_A);
	assert_int_equal(ca_profile_get(&c, EST_PROFILE_ADMIN, &p), 0);
	assert_int_equal(p.validity, 3600);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_oid_is_written_and_linted),
		cmocka_unit_test(test_policy_other_than_the_profiles_is_refused),
		cmocka_unit_test(
		    test_short_lived_carries_norevavail_and_no_pointers),
		cmocka_unit_test(
		    test_norevavail_shapes_the_profile_does_not_have_are_refused),
		cmocka_unit_test(test_validity_hours_bound_the_certificate),
		cmocka_unit_test(
		    test_ed25519_device_key_is_issued_with_digital_signature_only),
		cmocka_unit_test(
		    test_ed25519_outside_the_device_profile_is_refused),
		cmocka_unit_test(
		    test_ledger_refuses_a_small_order_ed25519_device_key),
		cmocka_unit_test(test_oid_check),
		cmocka_unit_test(test_subject_check),
		cmocka_unit_test(test_subject_name_is_c_o_ou_cn),
		cmocka_unit_test(test_profile_options_bounds),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
