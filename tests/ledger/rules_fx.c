/*
 * rules_fx.c: the TBS fixture shared by test_rules_tbs.c (the rules on
 * cert-issued entries that carry a TBS) and tests/bridge/ca/test_admit.c
 * (the key process's check of such an entry before it signs): a test CA,
 * and the fields of a cert-issued entry carrying the TBS issue_build
 * makes (declared in rules_fx.h).
 */
#include "tests/ledger/rules_fx.h"

#include "bridge/ca/ca.h"

X509 *
fx_tbs_ca(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v;
	X509_EXTENSION *e;
	time_t now = time(NULL);

	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Test Issuing CA", -1, -1, 0), 1);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), now - 3600));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), now + 864000));
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&v, x, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &v,
	    NID_subject_key_identifier, "hash"));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &v,
	    NID_basic_constraints, "critical,CA:TRUE"));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

void
fx_tbs_fields(struct fx_tbs *t, X509 *ca, EVP_PKEY *k, const char *key_id,
    const char *cn, int profile, const char *dns, time_t now)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	struct issue_params ip;
	struct est_names names;
	uint8_t *tbs = NULL;
	char err[256];
	struct tm tm;
	X509 *x;

	memset(t, 0, sizeof(*t));
	memset(&names, 0, sizeof(names));
	if (dns != NULL) {
		snprintf(names.dns[0], sizeof(names.dns[0]), "%s", dns);
		names.ndns = 1;
	}
	memset(&ip, 0, sizeof(ip));
	ip.profile = (enum est_profile)profile;
	ip.cn = cn;
	ip.names = &names;
	ip.pubkey = k;
	ip.issuer = ca;
	ip.now = now;
	ip.key_not_before = now - 60;
	ip.key_not_after = now + 86400;
	ip.ocsp_url = FX_TBS_URL "/ocsp";
	ip.ca_issuers_url = FX_TBS_URL "/ca/issuing.der";
	ip.crl_url = FX_TBS_URL "/crl/x.crl";
	assert_non_null(x = issue_build(&ip, err, sizeof(err)));
	assert_int_equal(issue_serial_hex(x, t->serial), 0);
	assert_int_equal(ca_tbs_der(x, ca, &tbs, &t->len), 0);
	assert_true(t->len <= sizeof(t->der));
	memcpy(t->der, tbs, t->len);
	assert_int_equal(ledger_b64_encode(tbs, t->len, t->b64,
	    sizeof(t->b64)), 0);
	ledger_hex(ski->data, (size_t)ski->length, t->issuer);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm), 1);
	ledger_time_format(timegm(&tm), t->nb);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	ledger_time_format(timegm(&tm), t->na);
	t->fl[0] = (struct ledger_field){ "serial", t->serial };
	t->fl[1] = (struct ledger_field){ "issuer", t->issuer };
	t->fl[2] = (struct ledger_field){ "key-id", key_id };
	t->fl[3] = (struct ledger_field){ "profile", "device" };
	t->fl[4] = (struct ledger_field){ "not-before", t->nb };
	t->fl[5] = (struct ledger_field){ "not-after", t->na };
	t->fl[6] = (struct ledger_field){ "tbs", t->b64 };
	OPENSSL_free(tbs);
	X509_free(x);
}
