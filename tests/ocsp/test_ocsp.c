/*
 * test_ocsp.c: ocsp/, the responder and the CRLs, over real HTTP on
 * loopback.  The CA chain and the OCSP signer are the ones `keybridge
 * init` makes (pki_init), signatures go through the real signer; the
 * ledger is replaced by a table of statuses that each test sets, so that
 * every status mapping can be asserted exactly.  Requests are built and
 * responses checked with OpenSSL's own OCSP and CRL code
 * (OCSP_basic_verify against the root, OCSP_resp_find_status).
 */
#include "tests/ocsp/ocsp_fx.h"

/* ---- tests ---------------------------------------------------------------- */

static void
test_statuses_map_from_the_ledger(void **state)
{
	struct fixture *f = *state;
	const char *serials[3] = { "1a2b3c", "4d5e6f", "abcdef" };
	int want[3] = { V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED,
	    V_OCSP_CERTSTATUS_REVOKED };
	int reasons[3] = { -1, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
	    OCSP_REVOKED_STATUS_CERTIFICATEHOLD };
	time_t times[3] = { -1, REVOKED_AT, 0 };

	ofx_set_row(f, 0, serials[0], OCSPR_GOOD, 0);
	ofx_set_row(f, 1, serials[1], OCSPR_REVOKED,
	    OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	/* serials[2] is not in the table: never issued */
	for (int i = 0; i < 3; i++) {
		OCSP_REQUEST *req = ofx_request1(f, EVP_sha1(), serials[i]);
		OCSP_CERTID *cid = ofx_certid(f, EVP_sha1(), serials[i]);
		OCSP_RESPONSE *resp = ofx_ask(f, req);
		OCSP_BASICRESP *bs = ofx_verified(f, resp);
		int reason;
		time_t rev;

		assert_int_equal(ofx_find(bs, cid, &reason, &rev), want[i]);
		assert_int_equal(reason, reasons[i]);
		assert_int_equal(rev, times[i]);
		/* RFC 6960 4.4.8: extended revoke only for the not-issued */
		assert_int_equal(OCSP_BASICRESP_get_ext_by_NID(bs,
		    NID_id_pkix_OCSP_valid, -1) >= 0, i == 2);
		OCSP_BASICRESP_free(bs);
		OCSP_RESPONSE_free(resp);
		OCSP_CERTID_free(cid);
		OCSP_REQUEST_free(req);
	}
}

static void
test_sha256_certid_gets_a_sha256_answer(void **state)
{
	struct fixture *f = *state;
	OCSP_REQUEST *req = ofx_request1(f, EVP_sha256(), "77");
	OCSP_CERTID *c256 = ofx_certid(f, EVP_sha256(), "77");
	OCSP_CERTID *c1 = ofx_certid(f, EVP_sha1(), "77");
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	int status = -1, reason;
	time_t rev;

	ofx_set_row(f, 0, "77", OCSPR_GOOD, 0);
	resp = ofx_ask(f, req);
	bs = ofx_verified(f, resp);
	assert_int_equal(ofx_find(bs, c256, &reason, &rev),
	    V_OCSP_CERTSTATUS_GOOD);
	/* negative control: no SHA-1 CertID in that answer */
	assert_int_equal(OCSP_resp_find_status(bs, c1, &status, NULL, NULL,
	    NULL, NULL), 0);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_CERTID_free(c256);
	OCSP_CERTID_free(c1);
	OCSP_REQUEST_free(req);
}

static void
test_nonce_is_echoed(void **state)
{
	struct fixture *f = *state;
	OCSP_REQUEST *req = ofx_request1(f, EVP_sha1(), "88"), *other;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;

	ofx_set_row(f, 0, "88", OCSPR_GOOD, 0);
	assert_int_equal(OCSP_request_add1_nonce(req, NULL, 16), 1);
	resp = ofx_ask(f, req);
	bs = ofx_verified(f, resp);
	assert_int_equal(OCSP_check_nonce(req, bs), 1);
	/* negative control: another request's nonce does not match */
	other = ofx_request1(f, EVP_sha1(), "88");
	assert_int_equal(OCSP_request_add1_nonce(other, NULL, 16), 1);
	assert_int_equal(OCSP_check_nonce(other, bs), 0);
	OCSP_REQUEST_free(other);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
}

static void
test_several_certids_are_answered_each_up_to_the_limit(void **state)
{
	struct fixture *f = *state;
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *a = ofx_certid(f, EVP_sha1(), "a1"), *b = ofx_certid(f,
	    EVP_sha256(), "b2");
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	char s[8];
	int reason;
	time_t rev;

	ofx_set_row(f, 0, "a1", OCSPR_GOOD, 0);
	ofx_set_row(f, 1, "b2", OCSPR_REVOKED, OCSP_REVOKED_STATUS_SUPERSEDED);
	assert_non_null(OCSP_request_add0_id(req, ofx_certid(f, EVP_sha1(),
	    "a1")));
	assert_non_null(OCSP_request_add0_id(req, ofx_certid(f, EVP_sha256(),
	    "b2")));
	resp = ofx_ask(f, req);
	bs = ofx_verified(f, resp);
	assert_int_equal(OCSP_resp_count(bs), 2);
	assert_int_equal(ofx_find(bs, a, &reason, &rev), V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(ofx_find(bs, b, &reason, &rev),
	    V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_SUPERSEDED);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);

	/* OCSPR_MAX_CERTIDS + 1: malformedRequest, unsigned */
	req = OCSP_REQUEST_new();
	for (int i = 0; i <= OCSPR_MAX_CERTIDS; i++) {
		snprintf(s, sizeof(s), "%x", 0x100 + i);
		assert_non_null(OCSP_request_add0_id(req, ofx_certid(f,
		    EVP_sha1(), s)));
	}
	resp = ofx_ask(f, req);
	assert_int_equal(OCSP_response_status(resp),
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	assert_null(OCSP_response_get1_basic(resp));
	ERR_clear_error();
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(a);
	OCSP_CERTID_free(b);
}

static void
test_foreign_issuer_is_unauthorized(void **state)
{
	struct fixture *f = *state;
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_RESPONSE *resp;
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	int before, after;

	/* the root is not an issuer the responder serves */
	assert_int_equal(ASN1_INTEGER_set(ai, 0x42), 1);
	assert_non_null(OCSP_request_add0_id(req, OCSP_cert_id_new(EVP_sha1(),
	    X509_get_subject_name(f->root), X509_get0_pubkey_bitstr(f->root),
	    ai)));
	pthread_mutex_lock(&f->mu);
	before = f->status_calls;
	pthread_mutex_unlock(&f->mu);
	resp = ofx_ask(f, req);
	assert_int_equal(OCSP_response_status(resp),
	    OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	/* nothing was looked up for it (and nothing signed: no basic) */
	pthread_mutex_lock(&f->mu);
	after = f->status_calls;
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(before, after);
	assert_null(OCSP_response_get1_basic(resp));
	ERR_clear_error();
	ASN1_INTEGER_free(ai);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
}

static void
test_garbage_and_truncated_requests_are_malformed(void **state)
{
	struct fixture *f = *state;
	OCSP_REQUEST *req = ofx_request1(f, EVP_sha1(), "99");
	unsigned char *der = NULL, *body;
	const unsigned char *p;
	const char *garbage = "this is not DER at all";
	size_t blen;
	int len;
	OCSP_RESPONSE *resp;

	assert_true((len = i2d_OCSP_REQUEST(req, &der)) > 10);
	for (int t = 0; t < 3; t++) {
		const unsigned char *in = t == 0 ? (const unsigned char *)
		    garbage : der;
		size_t inlen = t == 0 ? strlen(garbage) : t == 1 ?
		    (size_t)len - 5 : 0;

		assert_int_equal(ofx_post(f, "/ocsp", in, inlen, &body, &blen),
		    200);
		p = body;
		assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p,
		    (long)blen));
		assert_int_equal(OCSP_response_status(resp),
		    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
		OCSP_RESPONSE_free(resp);
		free(body);
	}
	/* an oversized POST is refused at the HTTP level */
	{
		size_t big = OCSPR_MAX_BODY + 1;
		unsigned char *b = calloc(1, big);

		assert_non_null(b);
		assert_int_equal(ofx_post(f, "/ocsp", b, big, &body, &blen), 413);
		free(body);
		free(b);
	}
	/* at the root, a path that is no base64 is another resource: 404;
	 * under /ocsp/ it is a malformed OCSP request */
	assert_int_equal(ofx_get(f, "/favicon.ico", &body, &blen), 404);
	free(body);
	assert_int_equal(ofx_get(f, "/ocsp/favicon.ico", &body, &blen), 200);
	p = body;
	assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)blen));
	assert_int_equal(OCSP_response_status(resp),
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	OCSP_RESPONSE_free(resp);
	free(body);
	/* a method OCSP does not take */
	{
		struct client_response r;
		char err[ERRLEN];

		assert_int_equal(client_request(f->url, NULL, "PUT", "/ocsp",
		    NULL, "x", 1, &r, err, sizeof(err)), 0);
		assert_int_equal(r.status, 405);
		free(r.body);
	}
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
}

/* GET with every spelling clients use gives the same answer as POST. */
static void
test_get_spellings_are_all_understood(void **state)
{
	struct fixture *f = *state;
	OCSP_REQUEST *req = ofx_request1(f, EVP_sha1(), "fe");
	unsigned char *der = NULL, *body;
	const unsigned char *p;
	char b64[256], enc[512], path[600];
	size_t blen, i, n = 0;
	int len, reason;
	time_t rev;
	OCSP_CERTID *cid = ofx_certid(f, EVP_sha1(), "fe");

	ofx_set_row(f, 0, "fe", OCSPR_GOOD, 0);
	assert_true((len = i2d_OCSP_REQUEST(req, &der)) > 0);
	assert_true(EVP_EncodeBlock((unsigned char *)b64, der, len) > 0);
	for (i = 0; b64[i] != '\0'; i++)
		n += (size_t)snprintf(enc + n, sizeof(enc) - n,
		    b64[i] == '+' ? "%%2B" : b64[i] == '/' ? "%%2F" :
		    b64[i] == '=' ? "%%3D" : "%c", b64[i]);
	const char *prefixes[5] = { "/ocsp/", "/ocsp//", "/", "//", "/ocsp/" };
	for (int t = 0; t < 5; t++) {
		OCSP_RESPONSE *resp;
		OCSP_BASICRESP *bs;

		snprintf(path, sizeof(path), "%s%s", prefixes[t],
		    t == 4 ? enc : b64);
		assert_int_equal(ofx_get(f, path, &body, &blen), 200);
		p = body;
		assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p,
		    (long)blen));
		bs = ofx_verified(f, resp);
		assert_int_equal(ofx_find(bs, cid, &reason, &rev),
		    V_OCSP_CERTSTATUS_GOOD);
		OCSP_BASICRESP_free(bs);
		OCSP_RESPONSE_free(resp);
		free(body);
	}
	OCSP_CERTID_free(cid);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
}

static void
test_get_decode_takes_plus_as_space_and_missing_padding(void **state)
{
	unsigned char out[64];
	size_t len;

	/* "+/8=" is 0xfb 0xff; "++8" without padding is 0xfb 0xef */
	assert_int_equal(ocspr_get_decode("/+/8=", out, sizeof(out), &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(ocspr_get_decode("//%20/8%3D", out, sizeof(out),
	    &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(ocspr_get_decode("AAA", out, sizeof(out), &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(ocspr_get_decode("", out, sizeof(out), &len), -1);
	assert_int_equal(ocspr_get_decode("a.b", out, sizeof(out), &len), -1);
	assert_int_equal(ocspr_get_decode("%00AA", out, sizeof(out), &len),
	    -1);
	/* the output bound is honoured */
	assert_int_equal(ocspr_get_decode("AAAAAAAAAAAA", out, 4, &len), -1);
}

static void
test_serial_hex_is_the_ledger_form(void **state)
{
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	char hex[OCSPR_SERIAL_MAX + 1];

	assert_int_equal(ASN1_INTEGER_set(ai, 0x0a1b), 1);
	assert_int_equal(ocspr_serial_hex(ai, hex), 0);
	assert_string_equal(hex, "a1b");
	assert_int_equal(ASN1_INTEGER_set(ai, 0), 1);
	assert_int_equal(ocspr_serial_hex(ai, hex), -1);
	assert_int_equal(ASN1_INTEGER_set(ai, -5), 1);
	assert_int_equal(ocspr_serial_hex(ai, hex), -1);
	ASN1_INTEGER_free(ai);
}

/* Asks about serial until the answer comes from the cache (5 s at most);
 * returns its status. */
static int
ask_until_cached(struct fixture *f, const char *serial, int *reason)
{
	OCSP_CERTID *cid = ofx_certid(f, EVP_sha1(), serial);
	struct ocspr_stats a, b;
	time_t rev;
	int status = -1, hit = 0;

	for (int i = 0; i < WAIT_TRIES && !hit; i++) {
		OCSP_REQUEST *req = ofx_request1(f, EVP_sha1(), serial);
		OCSP_RESPONSE *resp;
		OCSP_BASICRESP *bs;

		ofx_run_on_loop(f, ofx_do_stats, &a);
		resp = ofx_ask(f, req);
		ofx_run_on_loop(f, ofx_do_stats, &b);
		bs = ofx_verified(f, resp);
		status = ofx_find(bs, cid, reason, &rev);
		hit = b.cache_hits == a.cache_hits + 1;
		OCSP_BASICRESP_free(bs);
		OCSP_RESPONSE_free(resp);
		OCSP_REQUEST_free(req);
		if (!hit)
			usleep(WAIT_USEC);
	}
	assert_true(hit);
	OCSP_CERTID_free(cid);
	return status;
}

/* A cached good answer turns into revoked right after a refresh (the
 * first answer is read from the ledger and signed live), and the revoked
 * answer is then served from the cache once re-signed. */
static void
test_refresh_replaces_the_cached_answer(void **state)
{
	struct fixture *f = *state;
	OCSP_CERTID *cid = ofx_certid(f, EVP_sha1(), "c0ffee");
	OCSP_REQUEST *req;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	int reason;
	time_t rev;

	ofx_set_row(f, 0, "c0ffee", OCSPR_GOOD, 0);
	ofx_run_on_loop(f, ofx_do_refresh, "c0ffee");
	assert_int_equal(ask_until_cached(f, "c0ffee", &reason),
	    V_OCSP_CERTSTATUS_GOOD);

	ofx_set_row(f, 0, "c0ffee", OCSPR_REVOKED,
	    OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	ofx_run_on_loop(f, ofx_do_refresh, "c0ffee");
	/* the very next answer already says revoked */
	req = ofx_request1(f, EVP_sha1(), "c0ffee");
	resp = ofx_ask(f, req);
	bs = ofx_verified(f, resp);
	assert_int_equal(ofx_find(bs, cid, &reason, &rev),
	    V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	/* and, once re-signed, from the cache */
	assert_int_equal(ask_until_cached(f, "c0ffee", &reason),
	    V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	OCSP_CERTID_free(cid);
}

static X509_CRL *
fetch_crl(struct fixture *f)
{
	char path[128];
	unsigned char *body;
	const unsigned char *p;
	size_t blen;
	X509_CRL *crl = NULL;
	int status;

	snprintf(path, sizeof(path), "/crl/%s.crl",
	    signer_issuer_id(f->signer));
	for (int i = 0; i < WAIT_TRIES; i++) {
		status = ofx_get(f, path, &body, &blen);
		if (status == 200) {
			p = body;
			crl = d2i_X509_CRL(NULL, &p, (long)blen);
			free(body);
			break;
		}
		free(body);
		assert_int_equal(status, 503);	/* first one being made */
		usleep(WAIT_USEC);
	}
	assert_non_null(crl);
	return crl;
}

static long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL,
	    NULL);
	long v;

	assert_non_null(n);
	v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	return v;
}

static void
test_crl_lists_the_revoked_with_reasons_and_grows(void **state)
{
	struct fixture *f = *state;
	X509_CRL *crl = NULL, *crl2 = NULL;
	X509_REVOKED *rv = NULL;
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	ASN1_ENUMERATED *reason;
	AUTHORITY_KEYID *akid;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(f->iss);
	long n1;

	ofx_set_row(f, 0, "d00d", OCSPR_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	ofx_set_row(f, 1, "e00e", OCSPR_GOOD, 0);
	ofx_set_row(f, 2, "", OCSPR_GOOD, 0);
	ofx_set_row(f, 3, "", OCSPR_GOOD, 0);
	ofx_run_on_loop(f, ofx_do_crl_changed, NULL);
	/* an older CRL (made at start, when earlier tests' rows were there)
	 * may still be served for a moment: wait for the one with d00d */
	assert_int_equal(ASN1_INTEGER_set(ai, 0xd00d), 1);
	for (int i = 0; i < WAIT_TRIES; i++) {
		crl = fetch_crl(f);
		if (X509_CRL_get0_by_serial(crl, &rv, ai) == 1)
			break;
		X509_CRL_free(crl);
		crl = NULL;
		usleep(WAIT_USEC);
	}
	assert_non_null(crl);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(f->iss)), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(f->iss)), 0);
	assert_non_null(X509_CRL_get0_nextUpdate(crl));
	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
	    NULL);
	assert_non_null(akid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid, ski), 0);
	AUTHORITY_KEYID_free(akid);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	assert_int_equal(ASN1_INTEGER_set(ai, 0xd00d), 1);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rv, ai), 1);
	reason = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	assert_non_null(reason);
	assert_int_equal(ASN1_ENUMERATED_get(reason),
	    OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	ASN1_ENUMERATED_free(reason);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(
	    rv), REVOKED_AT), 0);
	/* negative control: the good serial is not listed */
	assert_int_equal(ASN1_INTEGER_set(ai, 0xe00e), 1);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rv, ai), 0);
	n1 = crl_number(crl);

	/* a revocation: a new CRL, a larger number, both listed */
	ofx_set_row(f, 1, "e00e", OCSPR_REVOKED, OCSP_REVOKED_STATUS_SUPERSEDED);
	ofx_run_on_loop(f, ofx_do_crl_changed, NULL);
	for (int i = 0; i < WAIT_TRIES; i++) {
		crl2 = fetch_crl(f);
		if (X509_CRL_get0_by_serial(crl2, &rv, ai) == 1)
			break;
		X509_CRL_free(crl2);
		crl2 = NULL;
		usleep(WAIT_USEC);
	}
	assert_non_null(crl2);
	assert_true(crl_number(crl2) > n1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl2)), 2);
	assert_int_equal(X509_CRL_get0_by_serial(crl2, &rv, ai), 1);
	X509_CRL_free(crl2);
	X509_CRL_free(crl);
	ASN1_INTEGER_free(ai);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statuses_map_from_the_ledger),
		cmocka_unit_test(test_sha256_certid_gets_a_sha256_answer),
		cmocka_unit_test(test_nonce_is_echoed),
		cmocka_unit_test(
		    test_several_certids_are_answered_each_up_to_the_limit),
		cmocka_unit_test(test_foreign_issuer_is_unauthorized),
		cmocka_unit_test(
		    test_garbage_and_truncated_requests_are_malformed),
		cmocka_unit_test(test_get_spellings_are_all_understood),
		cmocka_unit_test(
		    test_get_decode_takes_plus_as_space_and_missing_padding),
		cmocka_unit_test(test_serial_hex_is_the_ledger_form),
		cmocka_unit_test(test_refresh_replaces_the_cached_answer),
		cmocka_unit_test(
		    test_crl_lists_the_revoked_with_reasons_and_grows),
	};

	return cmocka_run_group_tests(tests, ofx_setup, ofx_teardown);
}
