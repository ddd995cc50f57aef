/*
 * test_issue.c: bridge/issue.c, the end-entity certificates built from a
 * registration, checked with OpenSSL's own parsers and verifier against a
 * CA chain made by pki_init() (the one `keybridge init` writes).
 */
#include "tests/bridge/ca/issue_fx.h"

static void
test_device_ec_cert_is_a_client_certificate(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = ifx_params(f, EST_PROFILE_DEVICE, f->ec,
	    ifx_names_sample());
	X509 *x = ifx_issue(f, &p);

	ifx_assert_common(f, x, "dev1");
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	ifx_assert_eku(x, XKU_SSL_CLIENT, NID_client_auth);
	ifx_assert_san(x, ifx_names_sample());
	ifx_assert_urls(x);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), f->ec), 1);
	assert_int_equal(ifx_asn1_time(X509_get0_notBefore(x)),
	    f->now - ISSUE_BACKDATE);
	assert_int_equal(ifx_asn1_time(X509_get0_notAfter(x)),
	    f->now + ISSUE_DEVICE_DAYS * DAY);
	X509_free(x);
}

static void
test_server_rsa_cert_is_a_server_certificate(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = ifx_params(f, EST_PROFILE_SERVER, f->rsa,
	    ifx_names_sample());
	X509 *x = ifx_issue(f, &p);

	ifx_assert_common(f, x, "dev1");
	/* RSA: keyEncipherment for a TLS 1.2 RSA key exchange. */
	assert_int_equal(X509_get_key_usage(x),
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	ifx_assert_eku(x, XKU_SSL_SERVER, NID_server_auth);
	ifx_assert_san(x, ifx_names_sample());
	ifx_assert_urls(x);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), f->rsa), 1);
	assert_int_equal(ifx_asn1_time(X509_get0_notAfter(x)),
	    f->now + ISSUE_SERVER_DAYS * DAY);
	X509_free(x);
}

static void
test_device_rsa_and_server_ec_key_usage(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = ifx_params(f, EST_PROFILE_DEVICE, f->rsa, NULL);
	X509 *x = ifx_issue(f, &p);

	ifx_assert_common(f, x, "dev1");
	assert_int_equal(X509_get_key_usage(x),
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	ifx_assert_eku(x, XKU_SSL_CLIENT, NID_client_auth);
	X509_free(x);

	p = ifx_params(f, EST_PROFILE_SERVER, f->ec, ifx_names_sample());
	x = ifx_issue(f, &p);
	ifx_assert_common(f, x, "dev1");
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	ifx_assert_eku(x, XKU_SSL_SERVER, NID_server_auth);
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
	p = ifx_params(f, EST_PROFILE_SERVER, f->ec, &none);
	p.cn = "web-7";
	x = ifx_issue(f, &p);
	ifx_assert_common(f, x, "web-7");
	assert_int_equal(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), -1);
	X509_free(x);

	p = ifx_params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	x = ifx_issue(f, &p);
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
	p = ifx_params(f, EST_PROFILE_SERVER, f->ec, n);
	x = ifx_issue(f, &p);
	ifx_assert_san(x, n);
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
	struct issue_params p = ifx_params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	AUTHORITY_INFO_ACCESS *aia;
	X509 *x;

	p.ca_issuers_url = NULL;
	p.crl_url = NULL;
	x = ifx_issue(f, &p);
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
	x = ifx_issue(f, &p);
	assert_int_equal(X509_get_ext_by_NID(x, NID_info_access, -1), -1);
	assert_int_equal(X509_get_ext_by_NID(x, NID_crl_distribution_points,
	    -1), -1);
	X509_free(x);
}

static void
test_validity_is_capped_by_the_key_window(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = ifx_params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	X509 *x;

	p.key_not_after = f->now + 3600;
	x = ifx_issue(f, &p);
	assert_int_equal(ifx_asn1_time(X509_get0_notAfter(x)), f->now + 3600);
	assert_int_equal(ifx_asn1_time(X509_get0_notBefore(x)),
	    f->now - ISSUE_BACKDATE);
	X509_free(x);

	/* A window that opened a minute ago: no backdating before it. */
	p.key_not_before = f->now - 60;
	x = ifx_issue(f, &p);
	assert_int_equal(ifx_asn1_time(X509_get0_notBefore(x)), f->now - 60);
	X509_free(x);

	/* A server window longer than 90 days: the profile caps it. */
	p = ifx_params(f, EST_PROFILE_SERVER, f->ec, NULL);
	x = ifx_issue(f, &p);
	assert_int_equal(ifx_asn1_time(X509_get0_notAfter(x)),
	    f->now + ISSUE_SERVER_DAYS * DAY);
	X509_free(x);
}

static void
test_window_that_is_over_is_refused(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = ifx_params(f, EST_PROFILE_DEVICE, f->ec, NULL);
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
	X509_free(ifx_issue(f, &p));
}

/* A window beginning later than the lint's ISSUE_FUTURE_MAX makes no
 * certificate: its TBS would be refused after the ledger recorded it. */
static void
test_window_that_has_not_begun_is_refused(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = ifx_params(f, EST_PROFILE_DEVICE, f->ec, NULL);
	char err[ERRLEN] = "";
	X509 *x;

	p.key_not_before = f->now + ISSUE_FUTURE_MAX + 1;
	assert_null(issue_build(&p, err, sizeof(err)));
	assert_string_equal(err, "the key's validity window has not begun");

	/* At the bound it is a certificate from then on. */
	p.key_not_before = f->now + ISSUE_FUTURE_MAX;
	x = ifx_issue(f, &p);
	assert_int_equal(ifx_asn1_time(X509_get0_notBefore(x)),
	    f->now + ISSUE_FUTURE_MAX);
	X509_free(x);
}

static void
test_chain_verifies_for_the_profile_purpose_only(void **state)
{
	struct fixture *f = *state;
	struct issue_params p = ifx_params(f, EST_PROFILE_DEVICE, f->ec,
	    ifx_names_sample());
	X509 *dev = ifx_issue(f, &p), *srv;

	p = ifx_params(f, EST_PROFILE_SERVER, f->rsa, ifx_names_sample());
	srv = ifx_issue(f, &p);
	assert_int_equal(ifx_verify_chain(f, dev, X509_PURPOSE_SSL_CLIENT),
	    X509_V_OK);
	assert_int_equal(ifx_verify_chain(f, dev, X509_PURPOSE_SSL_SERVER),
	    X509_V_ERR_INVALID_PURPOSE);
	assert_int_equal(ifx_verify_chain(f, srv, X509_PURPOSE_SSL_SERVER),
	    X509_V_OK);
	assert_int_equal(ifx_verify_chain(f, srv, X509_PURPOSE_SSL_CLIENT),
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
		p = ifx_params(f, EST_PROFILE_SERVER, f->ec, &n);
		err[0] = '\0';
		assert_null(issue_build(&p, err, sizeof(err)));
		assert_non_null(strstr(err, "DNS"));
	}
	memset(&n, 0, sizeof(n));
	n.nip = 1;
	snprintf(n.ip[0], sizeof(n.ip[0]), "%s", "10.0.0.1,DNS:x");
	p = ifx_params(f, EST_PROFILE_SERVER, f->ec, &n);
	assert_null(issue_build(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "IP"));

	/* A DNS name filling its whole buffer without a NUL. */
	memset(&n, 0, sizeof(n));
	n.ndns = 1;
	memset(n.dns[0], 'a', sizeof(n.dns[0]));
	p = ifx_params(f, EST_PROFILE_SERVER, f->ec, &n);
	assert_null(issue_build(&p, err, sizeof(err)));

	memset(&n, 0, sizeof(n));
	n.ndns = EST_MAX_NAMES + 1;
	p = ifx_params(f, EST_PROFILE_SERVER, f->ec, &n);
	assert_null(issue_build(&p, err, sizeof(err)));

	/* A CN over ub-common-name (64). */
	p = ifx_params(f, EST_PROFILE_DEVICE, f->ec, NULL);
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
		struct issue_params p = ifx_params(f, i == 0 ? EST_PROFILE_DEVICE :
		    EST_PROFILE_SERVER, X509_REQ_get0_pubkey(r),
		    ifx_names_sample());
		X509 *x;

		p.spki = X509_REQ_get_X509_PUBKEY(r);
		x = ifx_issue(f, &p);
		ifx_assert_common(f, x, "dev1");
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
		assert_int_equal(ifx_verify_chain(f, x, i == 0 ? X509_PURPOSE_SSL_CLIENT
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
		struct issue_params p = ifx_params(f, EST_PROFILE_DEVICE,
		    X509_REQ_get0_pubkey(r), ifx_names_sample());
		X509 *x;

		p.spki = X509_REQ_get_X509_PUBKEY(r);
		x = ifx_issue(f, &p);
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
	struct issue_params p = ifx_params(f, EST_PROFILE_DEVICE, f->ec, NULL);
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
	struct issue_params p = ifx_params(f, EST_PROFILE_DEVICE, f->ec, NULL);
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

	return cmocka_run_group_tests(tests, ifx_group_setup, ifx_group_teardown);
}
