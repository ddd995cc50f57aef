/*
 * test_pki.c: bridge/pki.c, the certificates of `keybridge init`, checked
 * with OpenSSL's own verifier.
 */
#include <errno.h>
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
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"

#define ERRLEN 512
#define SERIAL_BITS_MAX 127

static const char *const extra_hosts[] = { "bridge.example", "10.1.2.3" };

/* One initialised data directory, shared by the group. */
struct fixture {
	char dir[PATH_MAX];
	struct bridge_config cfg;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdtemp() a directory and configure it with the defaults. */
static int
new_dir(struct fixture *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/kb-test-pki-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	config_defaults(&f->cfg, f->dir);
	return 0;
}

static int
group_setup(void **state)
{
	struct pki_init_opts o = { .name = "keybridge",
	    .hostnames = extra_hosts, .nhostnames = 2 };
	struct fixture *f = calloc(1, sizeof(*f));
	char err[ERRLEN] = "";

	if (f == NULL || new_dir(f) == -1)
		return -1;
	if (pki_init(&f->cfg, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "pki_init: %s\n", err);
		rm_tree(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	if (f != NULL)
		rm_tree(f->dir);
	free(f);
	return 0;
}

/* out = dir/rel; fails the test when it does not fit. */
static void
join(char *out, size_t outlen, const char *dir, const char *rel)
{
	int n = snprintf(out, outlen, "%s/%s", dir, rel);

	assert_true(n > 0 && (size_t)n < outlen);
}

/* Reads every certificate of PEM file rel (relative to dir). */
static STACK_OF(X509) *
read_certs(const char *dir, const char *rel)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	char path[PATH_MAX];
	FILE *fp;
	X509 *x;

	assert_non_null(sk);
	join(path, sizeof(path), dir, rel);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		assert_true(sk_X509_push(sk, x) > 0);
	ERR_clear_error();	/* the read that hit the end */
	fclose(fp);
	return sk;
}

/* Reads the single certificate of rel. */
static X509 *
read_cert(const char *dir, const char *rel)
{
	STACK_OF(X509) *sk = read_certs(dir, rel);
	X509 *x;

	assert_int_equal(sk_X509_num(sk), 1);
	x = sk_X509_shift(sk);
	sk_X509_free(sk);
	return x;
}

static EVP_PKEY *
read_key(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	EVP_PKEY *k;
	FILE *fp;

	join(path, sizeof(path), dir, rel);
	fp = fopen(path, "r");
	assert_non_null(fp);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

/* X509_verify_cert() of leaf with root as the only trust anchor and issuing
 * as untrusted intermediate, strict, for purpose (0: any).  Returns the
 * verify error (X509_V_OK when the chain verifies). */
static int
verify_chain(X509 *root, X509 *issuing, X509 *leaf, int purpose)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int rc, verr;

	assert_non_null(st);
	assert_non_null(ctx);
	assert_non_null(untrusted);
	assert_int_equal(X509_STORE_add_cert(st, root), 1);
	assert_int_equal(X509_STORE_set_flags(st, X509_V_FLAG_X509_STRICT), 1);
	assert_true(sk_X509_push(untrusted, issuing) > 0);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, untrusted), 1);
	if (purpose != 0)
		assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
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
assert_cn(X509 *x, const char *want)
{
	char cn[128] = "";

	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, want);
}

static void
test_tls_chain_verifies_to_the_root(void **state)
{
	struct fixture *f = *state;
	X509 *root = read_cert(f->dir, "ca/root.pem");
	X509 *iss = read_cert(f->dir, "ca/issuing.pem");
	STACK_OF(X509) *tls = read_certs(f->dir, "tls/server.pem");

	/* The TLS file is the leaf followed by the issuing CA. */
	assert_int_equal(sk_X509_num(tls), 2);
	assert_int_equal(X509_cmp(sk_X509_value(tls, 1), iss), 0);
	assert_int_equal(verify_chain(root, iss, sk_X509_value(tls, 0),
	    X509_PURPOSE_SSL_SERVER), X509_V_OK);
	assert_cn(root, "keybridge Root CA");
	assert_cn(iss, "keybridge Issuing CA");
	assert_cn(sk_X509_value(tls, 0), "keybridge bridge");

	/* Negative control: with the issuing CA as trust anchor and the root
	 * missing, a strict verifier must still build a chain only when
	 * partial chains are allowed, which they are not. */
	assert_int_not_equal(verify_chain(iss, root, sk_X509_value(tls, 0),
	    0), X509_V_OK);

	X509_free(root);
	X509_free(iss);
	sk_X509_pop_free(tls, X509_free);
}

static void
test_ocsp_signer_verifies_and_is_a_delegated_responder(void **state)
{
	struct fixture *f = *state;
	X509 *root = read_cert(f->dir, "ca/root.pem");
	X509 *iss = read_cert(f->dir, "ca/issuing.pem");
	X509 *ocsp = read_cert(f->dir, "ca/ocsp.pem");
	int crit = -1;
	BASIC_CONSTRAINTS *bc;

	assert_int_equal(verify_chain(root, iss, ocsp, 0), X509_V_OK);
	assert_cn(ocsp, "keybridge OCSP Signer");
	/* RFC 6960 4.2.2.2: id-kp-OCSPSigning, and only that. */
	assert_true(X509_get_ext_by_NID(ocsp, NID_ext_key_usage, -1) >= 0);
	assert_int_equal(X509_get_extended_key_usage(ocsp), XKU_OCSP_SIGN);
	assert_int_equal(X509_get_key_usage(ocsp), KU_DIGITAL_SIGNATURE);
	/* 4.2.2.2.1: id-pkix-ocsp-nocheck. */
	assert_true(X509_get_ext_by_NID(ocsp, NID_id_pkix_OCSP_noCheck, -1)
	    >= 0);
	/* Not a CA. */
	bc = X509_get_ext_d2i(ocsp, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(bc->ca, 0);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_check_ca(ocsp), 0);
	/* Negative control: the TLS certificate is not an OCSP signer. */
	{
		STACK_OF(X509) *tls = read_certs(f->dir, "tls/server.pem");

		assert_int_equal(X509_get_ext_by_NID(sk_X509_value(tls, 0),
		    NID_id_pkix_OCSP_noCheck, -1), -1);
		assert_int_equal(X509_get_extended_key_usage(
		    sk_X509_value(tls, 0)) & XKU_OCSP_SIGN, 0);
		sk_X509_pop_free(tls, X509_free);
	}
	X509_free(root);
	X509_free(iss);
	X509_free(ocsp);
}

static void
test_ca_certificates_have_the_right_constraints(void **state)
{
	struct fixture *f = *state;
	X509 *root = read_cert(f->dir, "ca/root.pem");
	X509 *iss = read_cert(f->dir, "ca/issuing.pem");
	STACK_OF(X509) *chain = read_certs(f->dir, "ca/chain.pem");
	const uint32_t ca_ku = KU_KEY_CERT_SIGN | KU_CRL_SIGN;

	assert_true(X509_check_ca(root) >= 1);
	assert_true(X509_check_ca(iss) >= 1);
	assert_int_equal(X509_get_key_usage(root), ca_ku);
	assert_int_equal(X509_get_key_usage(iss), ca_ku);
	assert_int_equal(X509_get_pathlen(iss), 0);
	assert_int_equal(X509_get_pathlen(root), -1);
	assert_int_equal(X509_check_issued(root, root), X509_V_OK);
	assert_int_equal(X509_check_issued(root, iss), X509_V_OK);
	assert_non_null(X509_get0_subject_key_id(root));
	assert_non_null(X509_get0_subject_key_id(iss));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(iss),
	    X509_get0_subject_key_id(root)), 0);
	/* chain.pem: issuing then root. */
	assert_int_equal(sk_X509_num(chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), iss), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 1), root), 0);
	X509_free(root);
	X509_free(iss);
	sk_X509_pop_free(chain, X509_free);
}

static void
test_serials_are_positive_random_and_distinct(void **state)
{
	static const char *const files[] = { "ca/root.pem", "ca/issuing.pem",
	    "ca/ocsp.pem" };
	struct fixture *f = *state;
	BIGNUM *bn[4] = { NULL };
	STACK_OF(X509) *tls = read_certs(f->dir, "tls/server.pem");
	X509 *x;
	size_t i, j;

	for (i = 0; i < 4; i++) {
		x = i < 3 ? read_cert(f->dir, files[i]) :
		    X509_dup(sk_X509_value(tls, 0));
		assert_non_null(x);
		bn[i] = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		assert_non_null(bn[i]);
		assert_false(BN_is_negative(bn[i]));
		assert_false(BN_is_zero(bn[i]));
		assert_true(BN_num_bits(bn[i]) <= SERIAL_BITS_MAX);
		/* 64 bits of entropy at least (docs/design.md); 2^-64 flake. */
		assert_true(BN_num_bits(bn[i]) > 64);
		for (j = 0; j < i; j++)
			assert_int_not_equal(BN_cmp(bn[i], bn[j]), 0);
		X509_free(x);
	}
	for (i = 0; i < 4; i++)
		BN_free(bn[i]);
	sk_X509_pop_free(tls, X509_free);
}

static void
test_tls_sans_include_loopback_and_every_hostname(void **state)
{
	struct fixture *f = *state;
	STACK_OF(X509) *tls = read_certs(f->dir, "tls/server.pem");
	X509 *leaf = sk_X509_value(tls, 0);
	GENERAL_NAMES *gens;

	assert_int_equal(X509_check_host(leaf, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "::1", 0), 1);
	assert_int_equal(X509_check_host(leaf, "bridge.example", 0, 0, NULL),
	    1);
	assert_int_equal(X509_check_ip_asc(leaf, "10.1.2.3", 0), 1);
	/* IPs are iPAddress names, not dNSName strings. */
	assert_int_not_equal(X509_check_host(leaf, "10.1.2.3", 0, 0, NULL),
	    1);
	/* Negative controls. */
	assert_int_not_equal(X509_check_host(leaf, "other.example", 0, 0,
	    NULL), 1);
	assert_int_not_equal(X509_check_ip_asc(leaf, "10.1.2.4", 0), 1);
	/* Exactly the five names. */
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 5);
	GENERAL_NAMES_free(gens);
	assert_int_equal(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER);
	assert_int_equal(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
	sk_X509_pop_free(tls, X509_free);
}

static void
assert_mode(const char *dir, const char *rel, mode_t want)
{
	char path[PATH_MAX];
	struct stat st;

	join(path, sizeof(path), dir, rel);
	assert_int_equal(stat(path, &st), 0);
	if ((st.st_mode & 07777) != want)
		fail_msg("%s: mode %o, want %o", rel,
		    (unsigned)(st.st_mode & 07777), (unsigned)want);
}

static void
test_keys_are_0600_pkcs8_and_match_their_certs(void **state)
{
	static const struct { const char *key, *cert; } pairs[] = {
		{ "ca/root.key", "ca/root.pem" },
		{ "ca/issuing.key", "ca/issuing.pem" },
		{ "ca/ocsp.key", "ca/ocsp.pem" },
		{ "tls/server.key", "tls/server.pem" },
	};
	struct fixture *f = *state;
	char path[PATH_MAX], first[64];
	STACK_OF(X509) *sk;
	EVP_PKEY *k;
	FILE *fp;
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		assert_mode(f->dir, pairs[i].key, 0600);
		assert_mode(f->dir, pairs[i].cert, 0644);
		join(path, sizeof(path), f->dir, pairs[i].key);
		fp = fopen(path, "r");
		assert_non_null(fp);
		assert_non_null(fgets(first, sizeof(first), fp));
		fclose(fp);
		assert_string_equal(first, "-----BEGIN PRIVATE KEY-----\n");
		k = read_key(f->dir, pairs[i].key);
		assert_int_equal(EVP_PKEY_is_a(k, "EC"), 1);
		sk = read_certs(f->dir, pairs[i].cert);
		assert_int_equal(X509_check_private_key(sk_X509_value(sk, 0),
		    k), 1);
		EVP_PKEY_free(k);
		sk_X509_pop_free(sk, X509_free);
	}
	assert_mode(f->dir, "ca", 0700);
	assert_mode(f->dir, "tls", 0700);
}

/* Reads all of dir/rel into a malloc'd string. */
static char *
slurp(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	char *buf;
	FILE *fp;
	long n;

	join(path, sizeof(path), dir, rel);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static void
test_second_init_refuses_and_changes_nothing(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN] = "";
	char *before = slurp(f->dir, "ca/root.pem");
	char *key_before = slurp(f->dir, "tls/server.key");
	char *after, *key_after;

	assert_int_equal(pki_init(&f->cfg, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ca/root.pem already exists"));
	after = slurp(f->dir, "ca/root.pem");
	key_after = slurp(f->dir, "tls/server.key");
	assert_string_equal(before, after);
	assert_string_equal(key_before, key_after);
	free(before);
	free(after);
	free(key_before);
	free(key_after);
}

static void
test_refused_options_leave_no_files(void **state)
{
	static const char *const bad_hosts[] = { "ok.example",
	    "evil.example,IP:1.2.3.4" };
	static const char *const bad_ip[] = { "10.1.2" };
	struct pki_init_opts o = { .name = "keybridge",
	    .hostnames = bad_hosts, .nhostnames = 2 };
	struct fixture f;
	char err[ERRLEN] = "", path[PATH_MAX];

	assert_int_equal(new_dir(&f), 0);
	assert_int_equal(pki_init(&f.cfg, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "evil.example,IP:1.2.3.4"));
	o.hostnames = bad_ip;
	o.nhostnames = 1;
	assert_int_equal(pki_init(&f.cfg, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"10.1.2\""));
	o.hostnames = NULL;
	o.nhostnames = 0;
	o.key_type = "dsa-1024";
	assert_int_equal(pki_init(&f.cfg, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown key type \"dsa-1024\""));
	o.key_type = NULL;
	o.name = "a-name-so-long-that-the-common-name-of-the-OCSP-signer-"
	    "overflows";
	assert_int_equal(pki_init(&f.cfg, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "common name longer than 64"));

	join(path, sizeof(path), f.dir, "ca/root.pem");
	assert_int_equal(access(path, F_OK), -1);
	join(path, sizeof(path), f.dir, "ca/root.key");
	assert_int_equal(access(path, F_OK), -1);
	rm_tree(f.dir);
}

static void
test_failed_write_removes_what_it_wrote(void **state)
{
	static const char *const written[] = { "ca/root.pem", "ca/root.key",
	    "ca/issuing.pem", "ca/issuing.key", "ca/chain.pem", "ca/ocsp.pem",
	    "ca/ocsp.key", "tls/server.pem" };
	struct fixture f;
	char err[ERRLEN] = "", path[PATH_MAX];
	size_t i;

	/* The last file goes into a directory that does not exist, so the
	 * failure comes after eight files were written. */
	assert_int_equal(new_dir(&f), 0);
	snprintf(f.cfg.tls_key, sizeof(f.cfg.tls_key), "missing/server.key");
	assert_int_equal(pki_init(&f.cfg, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing/server.key: No such file"));
	for (i = 0; i < sizeof(written) / sizeof(written[0]); i++) {
		join(path, sizeof(path), f.dir, written[i]);
		if (access(path, F_OK) == 0)
			fail_msg("%s was left behind", written[i]);
	}
	/* And a corrected config then succeeds in the same directory. */
	config_defaults(&f.cfg, f.dir);
	if (pki_init(&f.cfg, NULL, err, sizeof(err)) != 0)
		fail_msg("pki_init after a failure: %s", err);
	rm_tree(f.dir);
}

static void
test_rsa3072_chain_verifies(void **state)
{
	struct fixture *ec = *state;
	struct pki_init_opts o = { .name = "acme",
	    .hostnames = extra_hosts, .nhostnames = 2, .key_type = "rsa-3072" };
	struct fixture f;
	char err[ERRLEN] = "";
	X509 *root, *iss, *ocsp, *ec_root;
	STACK_OF(X509) *tls;
	EVP_PKEY *k;

	assert_int_equal(new_dir(&f), 0);
	if (pki_init(&f.cfg, &o, err, sizeof(err)) != 0)
		fail_msg("pki_init: %s", err);
	root = read_cert(f.dir, "ca/root.pem");
	iss = read_cert(f.dir, "ca/issuing.pem");
	ocsp = read_cert(f.dir, "ca/ocsp.pem");
	tls = read_certs(f.dir, "tls/server.pem");
	assert_int_equal(verify_chain(root, iss, sk_X509_value(tls, 0),
	    X509_PURPOSE_SSL_SERVER), X509_V_OK);
	assert_int_equal(verify_chain(root, iss, ocsp, 0), X509_V_OK);
	assert_cn(root, "acme Root CA");
	/* RSA leaves may be used for key transport in TLS 1.2. */
	assert_int_equal(X509_get_key_usage(sk_X509_value(tls, 0)),
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_int_equal(X509_get_signature_nid(root),
	    NID_sha256WithRSAEncryption);
	k = read_key(f.dir, "ca/issuing.key");
	assert_int_equal(EVP_PKEY_is_a(k, "RSA"), 1);
	assert_int_equal(EVP_PKEY_get_bits(k), 3072);
	EVP_PKEY_free(k);

	/* Negative control: the EC directory's root does not anchor it. */
	ec_root = read_cert(ec->dir, "ca/root.pem");
	assert_int_not_equal(verify_chain(ec_root, iss, sk_X509_value(tls,
	    0), 0), X509_V_OK);

	X509_free(ec_root);
	X509_free(root);
	X509_free(iss);
	X509_free(ocsp);
	sk_X509_pop_free(tls, X509_free);
	rm_tree(f.dir);
}

static void
test_ec_certificates_use_p256_and_sha256(void **state)
{
	struct fixture *f = *state;
	X509 *root = read_cert(f->dir, "ca/root.pem");
	EVP_PKEY *k = X509_get0_pubkey(root);
	char group[32] = "";
	size_t glen = 0;

	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_group_name(k, group, sizeof(group),
	    &glen), 1);
	assert_string_equal(group, "prime256v1");
	assert_int_equal(X509_get_signature_nid(root), NID_ecdsa_with_SHA256);
	X509_free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_chain_verifies_to_the_root),
		cmocka_unit_test(
		    test_ocsp_signer_verifies_and_is_a_delegated_responder),
		cmocka_unit_test(
		    test_ca_certificates_have_the_right_constraints),
		cmocka_unit_test(test_serials_are_positive_random_and_distinct),
		cmocka_unit_test(
		    test_tls_sans_include_loopback_and_every_hostname),
		cmocka_unit_test(
		    test_keys_are_0600_pkcs8_and_match_their_certs),
		cmocka_unit_test(test_ec_certificates_use_p256_and_sha256),
		cmocka_unit_test(test_second_init_refuses_and_changes_nothing),
		cmocka_unit_test(test_refused_options_leave_no_files),
		cmocka_unit_test(test_failed_write_removes_what_it_wrote),
		cmocka_unit_test(test_rsa3072_chain_verifies),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
