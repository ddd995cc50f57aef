/*
 * issue_fx.c: the fixture of tests/bridge/ca/test_issue.c (issue_fx.h).
 */
#include "tests/bridge/ca/issue_fx.h"
#include "tests/bridge/ca/pki_fx.h"

/* The registered names of the tests that use some. */
const struct est_names *
ifx_names_sample(void)
{
	static struct est_names n;

	memset(&n, 0, sizeof(n));
	n.ndns = 2;
	snprintf(n.dns[0], sizeof(n.dns[0]), "%s", "dev1.example");
	snprintf(n.dns[1], sizeof(n.dns[1]), "%s", "*.dev1.example");
	n.nip = 2;
	snprintf(n.ip[0], sizeof(n.ip[0]), "%s", "10.0.0.7");
	snprintf(n.ip[1], sizeof(n.ip[1]), "%s", "2001:db8::1");
	return &n;
}

int
ifx_group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	log_verbosity = LOGL_ERR;
	if (f == NULL || fx_pki_dir(&f->cfg, f->dir, "issue") != 0)
		return -1;
	f->root = fx_pki_pem(&f->cfg, f->cfg.ca_root, 0);
	f->iss = fx_pki_pem(&f->cfg, f->cfg.ca_issuing, 0);
	f->iss_key = fx_pki_pem(&f->cfg, f->cfg.ca_issuing_key, 1);
	f->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS);
	if (f->root == NULL || f->iss == NULL || f->iss_key == NULL ||
	    f->ec == NULL || f->rsa == NULL)
		return -1;
	f->now = time(NULL);
	*state = f;
	return 0;
}

int
ifx_group_teardown(void **state)
{
	struct fixture *f = *state;

	if (f == NULL)
		return 0;
	fx_pki_rm(f->dir);
	X509_free(f->root);
	X509_free(f->iss);
	EVP_PKEY_free(f->iss_key);
	EVP_PKEY_free(f->ec);
	EVP_PKEY_free(f->rsa);
	free(f);
	return 0;
}

/* Issue parameters for key under profile, with a wide key window. */
struct issue_params
ifx_params(const struct fixture *f, enum est_profile profile, EVP_PKEY *key,
    const struct est_names *names)
{
	return (struct issue_params){
		.profile = profile, .cn = "dev1", .names = names,
		.pubkey = key, .issuer = f->iss, .now = f->now,
		.key_not_before = f->now - 30 * DAY,
		.key_not_after = f->now + 3 * 365 * DAY,
		.ocsp_url = OCSP_URL, .ca_issuers_url = CAISSUERS_URL,
		.crl_url = CRL_URL,
	};
}

/* issue_build + sign with the issuing key, then a DER round trip so that
 * the checks see what a client would parse. */
X509 *
ifx_issue(const struct fixture *f, const struct issue_params *p)
{
	char err[ERRLEN] = "";
	unsigned char *der = NULL;
	const unsigned char *q;
	X509 *x, *y;
	int len;

	x = issue_build(p, err, sizeof(err));
	if (x == NULL)
		fail_msg("issue_build: %s", err);
	assert_true(X509_sign(x, f->iss_key, EVP_sha256()) > 0);
	len = i2d_X509(x, &der);
	assert_true(len > 0);
	q = der;
	y = d2i_X509(NULL, &q, len);
	assert_non_null(y);
	assert_ptr_equal(q, der + len);
	OPENSSL_free(der);
	X509_free(x);
	return y;
}

time_t
ifx_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return timegm(&tm);
}

/* The extension nid of x: present exactly once, with criticality crit. */
void
ifx_assert_ext(X509 *x, int nid, int crit)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	assert_int_equal(X509_get_ext_by_NID(x, nid, i), -1);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x, i)),
	    crit);
}

static void
ifx_assert_uri(const GENERAL_NAME *g, const char *want)
{
	assert_int_equal(g->type, GEN_URI);
	assert_int_equal(ASN1_STRING_length(g->d.uniformResourceIdentifier),
	    (int)strlen(want));
	assert_memory_equal(ASN1_STRING_get0_data(
	    g->d.uniformResourceIdentifier), want, strlen(want));
}

/* SAN of x is exactly the DNS names then the IP addresses of n. */
void
ifx_assert_san(X509 *x, const struct est_names *n)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	unsigned char ip[16];
	int i, crit = -1;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	assert_non_null(gens);
	assert_int_equal(crit, 0);
	assert_int_equal(sk_GENERAL_NAME_num(gens), n->ndns + n->nip);
	for (i = 0; i < n->ndns; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		assert_int_equal(g->type, GEN_DNS);
		assert_int_equal(ASN1_STRING_length(g->d.dNSName),
		    (int)strlen(n->dns[i]));
		assert_memory_equal(ASN1_STRING_get0_data(g->d.dNSName),
		    n->dns[i], strlen(n->dns[i]));
	}
	for (i = 0; i < n->nip; i++) {
		int len = inet_pton(AF_INET, n->ip[i], ip) == 1 ? 4 : 16;

		if (len == 16)
			assert_int_equal(inet_pton(AF_INET6, n->ip[i], ip), 1);
		g = sk_GENERAL_NAME_value(gens, n->ndns + i);
		assert_int_equal(g->type, GEN_IPADD);
		assert_int_equal(ASN1_STRING_length(g->d.iPAddress), len);
		assert_memory_equal(ASN1_STRING_get0_data(g->d.iPAddress), ip,
		    (size_t)len);
	}
	GENERAL_NAMES_free(gens);
}

/* AIA: OCSP then caIssuers; CRL DP: one fullName URI. */
void
ifx_assert_urls(X509 *x)
{
	AUTHORITY_INFO_ACCESS *aia;
	CRL_DIST_POINTS *cdp;
	DIST_POINT *dp;
	ACCESS_DESCRIPTION *ad;

	ifx_assert_ext(x, NID_info_access, 0);
	aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	assert_non_null(aia);
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 2);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 0);
	assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_OCSP);
	ifx_assert_uri(ad->location, OCSP_URL);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 1);
	assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_ca_issuers);
	ifx_assert_uri(ad->location, CAISSUERS_URL);
	AUTHORITY_INFO_ACCESS_free(aia);

	ifx_assert_ext(x, NID_crl_distribution_points, 0);
	cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	assert_non_null(cdp);
	assert_int_equal(sk_DIST_POINT_num(cdp), 1);
	dp = sk_DIST_POINT_value(cdp, 0);
	assert_non_null(dp->distpoint);
	assert_null(dp->reasons);
	assert_null(dp->CRLissuer);
	assert_int_equal(dp->distpoint->type, 0);
	assert_int_equal(sk_GENERAL_NAME_num(dp->distpoint->name.fullname), 1);
	ifx_assert_uri(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0),
	    CRL_URL);
	CRL_DIST_POINTS_free(cdp);
}

/* What every issued certificate has, whatever the profile and key. */
void
ifx_assert_common(const struct fixture *f, X509 *x, const char *cn)
{
	BASIC_CONSTRAINTS *bc;
	const ASN1_OCTET_STRING *ski, *aki, *iss_ski;
	EVP_PKEY *iss_pub = X509_get0_pubkey(f->iss);
	EVP_PKEY *root_pub = X509_get0_pubkey(f->root);
	char got[128] = "";

	assert_int_equal(X509_verify(x, iss_pub), 1);
	/* Negative control: the root did not sign it. */
	assert_true(X509_verify(x, root_pub) <= 0);
	ERR_clear_error();
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(f->iss)), 0);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, got, sizeof(got)) > 0);
	assert_string_equal(got, cn);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 1);

	ifx_assert_ext(x, NID_basic_constraints, 1);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_int_equal(bc->ca, 0);
	assert_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_check_ca(x), 0);

	ifx_assert_ext(x, NID_key_usage, 1);
	ifx_assert_ext(x, NID_ext_key_usage, 0);
	ifx_assert_ext(x, NID_subject_key_identifier, 0);
	ifx_assert_ext(x, NID_authority_key_identifier, 0);
	ski = X509_get0_subject_key_id(x);
	aki = X509_get0_authority_key_id(x);
	iss_ski = X509_get0_subject_key_id(f->iss);
	assert_non_null(ski);
	assert_non_null(aki);
	assert_non_null(iss_ski);
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki, iss_ski), 0);
	assert_int_not_equal(ASN1_OCTET_STRING_cmp(ski, iss_ski), 0);
	assert_int_equal(X509_check_issued(f->iss, x), X509_V_OK);
}

/* EKU is exactly one OID, the profile's. */
void
ifx_assert_eku(X509 *x, uint32_t xku, int nid)
{
	EXTENDED_KEY_USAGE *eku;

	assert_int_equal(X509_get_extended_key_usage(x), xku);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	assert_non_null(eku);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), nid);
	EXTENDED_KEY_USAGE_free(eku);
}

/* X509_verify_cert() of leaf to the root through the issuing CA, strict,
 * for purpose.  Returns the verify error (X509_V_OK when it verifies). */
int
ifx_verify_chain(const struct fixture *f, X509 *leaf, int purpose)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_VERIFY_PARAM *vp;
	int rc, verr;

	assert_non_null(st);
	assert_non_null(ctx);
	assert_non_null(untrusted);
	assert_int_equal(X509_STORE_add_cert(st, f->root), 1);
	assert_true(sk_X509_push(untrusted, f->iss) > 0);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, untrusted), 1);
	vp = X509_STORE_CTX_get0_param(ctx);
	assert_int_equal(X509_VERIFY_PARAM_set_flags(vp,
	    X509_V_FLAG_X509_STRICT), 1);
	assert_int_equal(X509_VERIFY_PARAM_set_purpose(vp, purpose), 1);
	rc = X509_verify_cert(ctx);
	verr = X509_STORE_CTX_get_error(ctx);
	if (rc != 1 && verr == X509_V_OK)
		verr = X509_V_ERR_UNSPECIFIED;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_free(untrusted);
	ERR_clear_error();
	return rc == 1 ? X509_V_OK : verr;
}
