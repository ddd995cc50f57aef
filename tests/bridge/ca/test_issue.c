/*
 * test_issue.c: bridge/issue.c, the end-entity certificates built from a
 * registration, checked with OpenSSL's own parsers and verifier against a
 * CA chain made by pki_init() (the one `keybridge init` writes).
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"

#define ERRLEN		512
#define DAY		(24L * 60 * 60)
#define OCSP_URL	"http://bridge.example:8080/ocsp"
#define CAISSUERS_URL	"http://bridge.example:8080/ca/issuing.der"
#define CRL_URL		"http://bridge.example:8080/crl/00ff.crl"
#define SERIAL_RUNS	10000
#define SERIAL_MAX_BITS	127	/* 16 random bytes, top bit cleared */
#define SERIAL_WIDE_BITS 120	/* 2^-7 of serials fall below this */
#define RSA_BITS	2048
#define CN_MAX		64	/* RFC 5280 ub-common-name */

/* The CA made once for the whole group, and the two subject keys. */
struct fixture {
	char dir[PATH_MAX];
	struct bridge_config cfg;
	X509 *root, *iss;
	EVP_PKEY *iss_key, *ec, *rsa;
	time_t now;
};

/* The registered names of the tests that use some. */
static const struct est_names *
names_sample(void)
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

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static X509 *
load_cert(const struct bridge_config *c, const char *rel)
{
	char path[PATH_MAX];
	X509 *x;
	FILE *fp;

	if ((fp = fopen(config_path(c, rel, path, sizeof(path)), "r")) == NULL)
		return NULL;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	return x;
}

static EVP_PKEY *
load_key(const struct bridge_config *c, const char *rel)
{
	char path[PATH_MAX];
	EVP_PKEY *k;
	FILE *fp;

	if ((fp = fopen(config_path(c, rel, path, sizeof(path)), "r")) == NULL)
		return NULL;
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	return k;
}

static int
group_setup(void **state)
{
	struct pki_init_opts o = { "keybridge", NULL, 0, NULL };
	struct fixture *f = calloc(1, sizeof(*f));
	char err[ERRLEN] = "";

	log_verbosity = LOGL_ERR;
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kb-test-issue-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	config_defaults(&f->cfg, f->dir);
	if (pki_init(&f->cfg, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "pki_init: %s\n", err);
		return -1;
	}
	f->root = load_cert(&f->cfg, f->cfg.ca_root);
	f->iss = load_cert(&f->cfg, f->cfg.ca_issuing);
	f->iss_key = load_key(&f->cfg, f->cfg.ca_issuing_key);
	f->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS);
	if (f->root == NULL || f->iss == NULL || f->iss_key == NULL ||
	    f->ec == NULL || f->rsa == NULL)
		return -1;
	f->now = time(NULL);
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	if (f == NULL)
		return 0;
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	X509_free(f->root);
	X509_free(f->iss);
	EVP_PKEY_free(f->iss_key);
	EVP_PKEY_free(f->ec);
	EVP_PKEY_free(f->rsa);
	free(f);
	return 0;
}

/* Issue parameters for key under profile, with a wide key window. */
static struct issue_params
params(const struct fixture *f, enum est_profile profile, EVP_PKEY *key,
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
static X509 *
issue(const struct fixture *f, const struct issue_params *p)
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

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return timegm(&tm);
}

/* The extension nid of x: present exactly once, with criticality crit. */
static void
assert_ext(X509 *x, int nid, int crit)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	assert_int_equal(X509_get_ext_by_NID(x, nid, i), -1);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x, i)),
	    crit);
}

static void
assert_uri(const GENERAL_NAME *g, const char *want)
{
	assert_int_equal(g->type, GEN_URI);
	assert_int_equal(ASN1_STRING_length(g->d.uniformResourceIdentifier),
	    (int)strlen(want));
	assert_memory_equal(ASN1_STRING_get0_data(
	    g->d.uniformResourceIdentifier), want, strlen(want));
}

/* SAN of x is exactly the DNS names then the IP addresses of n. */
static void
assert_san(X509 *x, const struct est_names *n)
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
static void
assert_urls(X509 *x)
{
	AUTHORITY_INFO_ACCESS *aia;
	CRL_DIST_POINTS *cdp;
	DIST_POINT *dp;
	ACCESS_DESCRIPTION *ad;

	assert_ext(x, NID_info_access, 0);
	aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	assert_non_null(aia);
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 2);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 0);
	assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_OCSP);
	assert_uri(ad->location, OCSP_URL);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 1);
	assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_ca_issuers);
	assert_uri(ad->location, CAISSUERS_URL);
	AUTHORITY_INFO_ACCESS_free(aia);

	assert_ext(x, NID_crl_distribution_points, 0);
	cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	assert_non_null(cdp);
	assert_int_equal(sk_DIST_POINT_num(cdp), 1);
	dp = sk_DIST_POINT_value(cdp, 0);
	assert_non_null(dp->distpoint);
	assert_null(dp->reasons);
	assert_null(dp->CRLissuer);
	assert_int_equal(dp->distpoint->type, 0);
	assert_int_equal(sk_GENERAL_NAME_num(dp->distpoint->name.fullname), 1);
	assert_uri(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0),
	    CRL_URL);
	CRL_DIST_POINTS_free(cdp);
}

/* What every issued certificate has, whatever the profile and key. */
static void
assert_common(const struct fixture *f, X509 *x, const char *cn)
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

	assert_ext(x, NID_basic_constraints, 1);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_int_equal(bc->ca, 0);
	assert_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_check_ca(x), 0);

	assert_ext(x, NID_key_usage, 1);
	assert_ext(x, NID_ext_key_usage, 0);
	assert_ext(x, NID_subject_key_identifier, 0);
	assert_ext(x, NID_authority_key_identifier, 0);
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
static void
assert_eku(X509 *x, uint32_t xku, int nid)
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
static int
verify_chain(const struct fixture *f, X509 *leaf, int purpose)
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

static void
test_device_ec_cert_is_a_client_certificate(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = params(f, EST_PROFILE_DEVICE, f->ec,
	    names_sample());
	X509 *x = issue(f, &p);

	assert_common(f, x, "dev1");
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_eku(x, XKU_SSL_CLIENT, NID_client_auth);
	assert_san(x, names_sample());
	assert_urls(x);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), f->ec), 1);
	assert_int_equal(asn1_time(X509_get0_notBefore(x)),
	    f->now - ISSUE_BACKDATE);
	assert_int_equal(asn1_time(X509_get0_notAfter(x)),
	    f->now + ISSUE_DEVICE_DAYS * DAY);
	X509_free(x);
}

static void
test_server_rsa_cert_is_a_server_certificate(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = params(f, EST_PROFILE_SERVER, f->rsa,
	    names_sample());
	X509 *x = issue(f, &p);

	assert_common(f, x, "dev1");
	/* RSA: keyEncipherment for a TLS 1.2 RSA key exchange. */
	assert_int_equal(X509_get_key_usage(x),
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_eku(x, XKU_SSL_SERVER, NID_server_auth);
	assert_san(x, names_sample());
	assert_urls(x);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), f->rsa), 1);
	assert_int_equal(asn1_time(X509_get0_notAfter(x)),
	    f->now + ISSUE_SERVER_DAYS * DAY);
	X509_free(x);
}

static void
test_device_rsa_and_server_ec_key_usage(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = params(f, EST_PROFILE_DEVICE, f->rsa, NULL);
	X509 *x = issue(f, &p);

	assert_common(f, x, "dev1");
	assert_int_equal(X509_get_key_usage(x),
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_eku(x, XKU_SSL_CLIENT, NID_client_auth);
	X509_free(x);

	p = params(f, EST_PROFILE_SERVER, f->ec, names_sample());
	x = issue(f, &p);
	assert_common(f, x, "dev1");
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_eku(x, XKU_SSL_SERVER, NID_server_auth);
	X509_free(x);
}

static void
test_cert_without_names_has_only_the_cn(void **state)
{
	struct fixture *f = *state;
	struct est_names none;
	struct issue_params p;
	X509 *x;

	memset(&none, 0, sizeof(none));
	p = params(f, EST_PROFILE_SERVER, f->ec, &none);
	p.cn = "web-7";
	x = issue(f, &p);
	assert_common(f, x, "web-7");
	assert_int_equal(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), -1);
	X509_free(x);

	p = params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	x = issue(f, &p);
	assert_int_equal(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), -1);
	X509_free(x);
}

/* A registration may hold LEDGER_MAX_SANS DNS names and as many IP
 * addresses: all of them are issued, DNS first, then IP. */
static void
test_every_name_a_registration_may_hold_is_issued(void **state)
{
	struct fixture *f = *state;
	struct est_names *n = calloc(1, sizeof(*n));
	struct issue_params p;
	char err[ERRLEN] = "";
	X509 *x;

	assert_non_null(n);
	for (int i = 0; i < EST_MAX_NAMES; i++) {
		snprintf(n->dns[i], sizeof(n->dns[i]), "n%d.example", i);
		snprintf(n->ip[i], sizeof(n->ip[i]), "10.0.%d.1", i);
	}
	n->ndns = n->nip = EST_MAX_NAMES;
	p = params(f, EST_PROFILE_SERVER, f->ec, n);
	x = issue(f, &p);
	assert_san(x, n);
	X509_free(x);
	/* one more of either kind is more than a registration holds */
	n->ndns = EST_MAX_NAMES + 1;
	assert_null(issue_build(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "too many names"));
	n->ndns = EST_MAX_NAMES;
	n->nip = EST_MAX_NAMES + 1;
	assert_null(issue_build(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "too many names"));
	ERR_clear_error();
	free(n);
}

static void
test_unset_urls_are_left_out(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	AUTHORITY_INFO_ACCESS *aia;
	X509 *x;

	p.ca_issuers_url = NULL;
	p.crl_url = NULL;
	x = issue(f, &p);
	assert_int_equal(X509_get_ext_by_NID(x, NID_crl_distribution_points,
	    -1), -1);
	aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	assert_non_null(aia);
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 1);
	assert_int_equal(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia,
	    0)->method), NID_ad_OCSP);
	AUTHORITY_INFO_ACCESS_free(aia);
	X509_free(x);

	p.ocsp_url = NULL;
	x = issue(f, &p);
	assert_int_equal(X509_get_ext_by_NID(x, NID_info_access, -1), -1);
	assert_int_equal(X509_get_ext_by_NID(x, NID_crl_distribution_points,
	    -1), -1);
	X509_free(x);
}

static void
test_validity_is_capped_by_the_key_window(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	X509 *x;

	p.key_not_after = f->now + 3600;
	x = issue(f, &p);
	assert_int_equal(asn1_time(X509_get0_notAfter(x)), f->now + 3600);
	assert_int_equal(asn1_time(X509_get0_notBefore(x)),
	    f->now - ISSUE_BACKDATE);
	X509_free(x);

	/* A window that opened a minute ago: no backdating before it. */
	p.key_not_before = f->now - 60;
	x = issue(f, &p);
	assert_int_equal(asn1_time(X509_get0_notBefore(x)), f->now - 60);
	X509_free(x);

	/* A server window longer than 90 days: the profile caps it. */
	p = params(f, EST_PROFILE_SERVER, f->ec, NULL);
	x = issue(f, &p);
	assert_int_equal(asn1_time(X509_get0_notAfter(x)),
	    f->now + ISSUE_SERVER_DAYS * DAY);
	X509_free(x);
}

static void
test_window_that_is_over_is_refused(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	char err[ERRLEN] = "";

	p.key_not_after = f->now - 3600;
	assert_null(issue_build(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "window"));

	/* Exactly nothing left: notAfter == notBefore is refused too. */
	err[0] = '\0';
	p.key_not_after = f->now - ISSUE_BACKDATE;
	assert_null(issue_build(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "window"));

	/* One second left is a (short) certificate. */
	p.key_not_after = f->now - ISSUE_BACKDATE + 1;
	X509_free(issue(f, &p));
}

/* A window beginning later than the lint's ISSUE_FUTURE_MAX makes no
 * certificate: its TBS would be refused after the ledger recorded it. */
static void
test_window_that_has_not_begun_is_refused(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	char err[ERRLEN] = "";
	X509 *x;

	p.key_not_before = f->now + ISSUE_FUTURE_MAX + 1;
	assert_null(issue_build(&p, err, sizeof(err)));
	assert_string_equal(err, "the key's validity window has not begun");

	/* At the bound it is a certificate from then on. */
	p.key_not_before = f->now + ISSUE_FUTURE_MAX;
	x = issue(f, &p);
	assert_int_equal(asn1_time(X509_get0_notBefore(x)),
	    f->now + ISSUE_FUTURE_MAX);
	X509_free(x);
}

static void
test_chain_verifies_for_the_profile_purpose_only(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = params(f, EST_PROFILE_DEVICE, f->ec,
	    names_sample());
	X509 *dev = issue(f, &p), *srv;

	p = params(f, EST_PROFILE_SERVER, f->rsa, names_sample());
	srv = issue(f, &p);
	assert_int_equal(verify_chain(f, dev, X509_PURPOSE_SSL_CLIENT),
	    X509_V_OK);
	assert_int_equal(verify_chain(f, dev, X509_PURPOSE_SSL_SERVER),
	    X509_V_ERR_INVALID_PURPOSE);
	assert_int_equal(verify_chain(f, srv, X509_PURPOSE_SSL_SERVER),
	    X509_V_OK);
	assert_int_equal(verify_chain(f, srv, X509_PURPOSE_SSL_CLIENT),
	    X509_V_ERR_INVALID_PURPOSE);
	/* The names are the registered ones and nothing else. */
	assert_int_equal(X509_check_host(srv, "dev1.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(srv, "a.dev1.example", 0, 0, NULL),
	    1);
	assert_int_equal(X509_check_host(srv, "other.example", 0, 0, NULL),
	    0);
	assert_int_equal(X509_check_ip_asc(srv, "2001:db8::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(srv, "10.0.0.8", 0), 0);
	X509_free(dev);
	X509_free(srv);
}

/* A name from the ledger is data: a string in the "DNS:x,IP:y" syntax of
 * the config API must never become a second name. */
static void
test_hostile_names_are_refused_not_parsed(void **state)
{
	static const char *const bad_dns[] = {
		"a.example,IP:10.0.0.1", "a.example\nb", "a example", "",
		"caf\xc3\xa9.example",
	};
	struct fixture *f = *state;
	struct est_names n;
	struct issue_params p;
	char err[ERRLEN], longcn[CN_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++) {
		memset(&n, 0, sizeof(n));
		n.ndns = 1;
		snprintf(n.dns[0], sizeof(n.dns[0]), "%s", bad_dns[i]);
		p = params(f, EST_PROFILE_SERVER, f->ec, &n);
		err[0] = '\0';
		assert_null(issue_build(&p, err, sizeof(err)));
		assert_non_null(strstr(err, "DNS"));
	}
	memset(&n, 0, sizeof(n));
	n.nip = 1;
	snprintf(n.ip[0], sizeof(n.ip[0]), "%s", "10.0.0.1,DNS:x");
	p = params(f, EST_PROFILE_SERVER, f->ec, &n);
	assert_null(issue_build(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "IP"));

	/* A DNS name filling its whole buffer without a NUL. */
	memset(&n, 0, sizeof(n));
	n.ndns = 1;
	memset(n.dns[0], 'a', sizeof(n.dns[0]));
	p = params(f, EST_PROFILE_SERVER, f->ec, &n);
	assert_null(issue_build(&p, err, sizeof(err)));

	memset(&n, 0, sizeof(n));
	n.ndns = EST_MAX_NAMES + 1;
	p = params(f, EST_PROFILE_SERVER, f->ec, &n);
	assert_null(issue_build(&p, err, sizeof(err)));

	/* A CN over ub-common-name (64). */
	p = params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	memset(longcn, 'a', sizeof(longcn) - 1);
	longcn[sizeof(longcn) - 1] = '\0';
	p.cn = longcn;
	assert_null(issue_build(&p, err, sizeof(err)));
	p.cn = "";
	assert_null(issue_build(&p, err, sizeof(err)));
	p.cn = "dev1";
	p.profile = (enum est_profile)0;
	assert_null(issue_build(&p, err, sizeof(err)));
	ERR_clear_error();
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A CSR for key, through DER, as the EST route parses it. */
static X509_REQ *
csr_for(EVP_PKEY *key)
{
	X509_REQ *r = X509_REQ_new(), *y;
	unsigned char *der = NULL;
	const unsigned char *q;
	int len;

	assert_non_null(r);
	assert_int_equal(X509_REQ_set_pubkey(r, key), 1);
	assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
	len = i2d_X509_REQ(r, &der);
	assert_true(len > 0);
	q = der;
	y = d2i_X509_REQ(NULL, &q, len);
	assert_non_null(y);
	OPENSSL_free(der);
	X509_REQ_free(r);
	return y;
}

/* The SubjectPublicKeyInfo copied from a parsed CSR (issue_params.spki)
 * is the CSR's, byte for byte, for EC and RSA: the certificate carries
 * the key, its SKI is the SHA-1 of the key bits (RFC 5280 4.2.1.2 (1)),
 * and the chain verifies.  Negative control: a different key's CSR gives a
 * certificate that is not for f->ec. */
static void
test_spki_from_the_csr_is_copied_exactly(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *keys[2] = { f->ec, f->rsa }, *other;
	unsigned char *a = NULL, *b = NULL, md[SHA_DIGEST_LENGTH];
	const ASN1_OCTET_STRING *ski;
	const ASN1_BIT_STRING *bits;
	int alen, blen;

	for (int i = 0; i < 2; i++) {
		X509_REQ *r = csr_for(keys[i]);
		struct issue_params p = params(f, i == 0 ? EST_PROFILE_DEVICE :
		    EST_PROFILE_SERVER, X509_REQ_get0_pubkey(r),
		    names_sample());
		X509 *x;

		p.spki = X509_REQ_get_X509_PUBKEY(r);
		x = issue(f, &p);
		assert_common(f, x, "dev1");
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), keys[i]), 1);
		alen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &a);
		blen = i2d_X509_PUBKEY(p.spki, &b);
		assert_true(alen > 0);
		assert_int_equal(alen, blen);
		assert_memory_equal(a, b, (size_t)alen);
		bits = X509_get0_pubkey_bitstr(x);
		assert_non_null(SHA1(ASN1_STRING_get0_data(bits),
		    (size_t)ASN1_STRING_length(bits), md));
		ski = X509_get0_subject_key_id(x);
		assert_non_null(ski);
		assert_int_equal(ASN1_STRING_length(ski), SHA_DIGEST_LENGTH);
		assert_memory_equal(ASN1_STRING_get0_data(ski), md,
		    SHA_DIGEST_LENGTH);
		assert_int_equal(verify_chain(f, x, i == 0 ? X509_PURPOSE_SSL_CLIENT
		    : X509_PURPOSE_SSL_SERVER), X509_V_OK);
		OPENSSL_free(a);
		OPENSSL_free(b);
		a = b = NULL;
		X509_free(x);
		X509_REQ_free(r);
	}

	other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(other);
	{
		X509_REQ *r = csr_for(other);
		struct issue_params p = params(f, EST_PROFILE_DEVICE,
		    X509_REQ_get0_pubkey(r), names_sample());
		X509 *x;

		p.spki = X509_REQ_get_X509_PUBKEY(r);
		x = issue(f, &p);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), f->ec), 0);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), other), 1);
		X509_free(x);
		X509_REQ_free(r);
	}
	EVP_PKEY_free(other);
}

static void
test_serials_are_unique_positive_and_128_bits(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	char (*hex)[41] = calloc(SERIAL_RUNS, sizeof(*hex));
	char **sorted = calloc(SERIAL_RUNS, sizeof(*sorted));
	char err[ERRLEN], want[41];
	int i, wide = 0, bits, maxbits = 0;
	BIGNUM *bn;
	char *h;
	X509 *x;

	assert_non_null(hex);
	assert_non_null(sorted);
	for (i = 0; i < SERIAL_RUNS; i++) {
		x = issue_build(&p, err, sizeof(err));
		assert_non_null(x);
		bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		assert_non_null(bn);
		assert_false(BN_is_negative(bn));
		assert_false(BN_is_zero(bn));
		bits = BN_num_bits(bn);
		assert_true(bits <= SERIAL_MAX_BITS);
		if (bits > maxbits)
			maxbits = bits;
		if (bits >= SERIAL_WIDE_BITS)
			wide++;
		/* The ledger's form: lowercase, no leading zero. */
		assert_int_equal(issue_serial_hex(x, hex[i]), 0);
		h = BN_bn2hex(bn);
		assert_non_null(h);
		snprintf(want, sizeof(want), "%s", h + strspn(h, "0"));
		for (char *c = want; *c != '\0'; c++)
			if (*c >= 'A' && *c <= 'F')
				*c = (char)(*c - 'A' + 'a');
		assert_string_equal(hex[i], want);
		assert_true(hex[i][0] != '0');
		assert_true(strlen(hex[i]) <= 32);
		OPENSSL_free(h);
		BN_free(bn);
		X509_free(x);
		sorted[i] = hex[i];
	}
	qsort(sorted, SERIAL_RUNS, sizeof(*sorted), cmp_str);
	for (i = 1; i < SERIAL_RUNS; i++)
		assert_string_not_equal(sorted[i - 1], sorted[i]);
	/* 127 random bits: about 1 in 128 has fewer than 120. */
	assert_true(wide * 100 > SERIAL_RUNS * 99);
	assert_int_equal(maxbits, SERIAL_MAX_BITS);
	free(sorted);
	free(hex);
}

static void
test_serial_hex_is_the_ledger_form(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	char err[ERRLEN], out[41];
	X509 *x = issue_build(&p, err, sizeof(err));
	ASN1_INTEGER *s = X509_get_serialNumber(x);

	assert_int_equal(ASN1_INTEGER_set(s, 0x0a1b), 1);
	assert_int_equal(issue_serial_hex(x, out), 0);
	assert_string_equal(out, "a1b");
	assert_int_equal(ASN1_INTEGER_set(s, 0x7f), 1);
	assert_int_equal(issue_serial_hex(x, out), 0);
	assert_string_equal(out, "7f");
	/* Not a serial the ledger can hold: zero and negative. */
	assert_int_equal(ASN1_INTEGER_set(s, 0), 1);
	assert_int_equal(issue_serial_hex(x, out), -1);
	assert_int_equal(ASN1_INTEGER_set(s, -5), 1);
	assert_int_equal(issue_serial_hex(x, out), -1);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_ec_cert_is_a_client_certificate),
		cmocka_unit_test(test_server_rsa_cert_is_a_server_certificate),
		cmocka_unit_test(test_device_rsa_and_server_ec_key_usage),
		cmocka_unit_test(test_cert_without_names_has_only_the_cn),
		cmocka_unit_test(test_unset_urls_are_left_out),
		cmocka_unit_test(
		    test_every_name_a_registration_may_hold_is_issued),
		cmocka_unit_test(test_validity_is_capped_by_the_key_window),
		cmocka_unit_test(test_window_that_is_over_is_refused),
		cmocka_unit_test(test_window_that_has_not_begun_is_refused),
		cmocka_unit_test(
		    test_chain_verifies_for_the_profile_purpose_only),
		cmocka_unit_test(test_hostile_names_are_refused_not_parsed),
		cmocka_unit_test(
		    test_serials_are_unique_positive_and_128_bits),
		cmocka_unit_test(test_serial_hex_is_the_ledger_form),
		cmocka_unit_test(test_spki_from_the_csr_is_copied_exactly),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
