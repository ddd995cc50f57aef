/*
 * test_ocsp.c: ocsp/, the responder and the CRLs, over real HTTP on
 * loopback.  The CA chain and the OCSP signer are the ones `keybridge
 * init` makes (pki_init), signatures go through the real signer; the
 * ledger is replaced by a table of statuses that each test sets, so that
 * every status mapping can be asserted exactly.  Requests are built and
 * responses checked with OpenSSL's own OCSP and CRL code
 * (OCSP_basic_verify against the root, OCSP_resp_find_status).
 */
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"
#include "bridge/cli/cli.h"

#define ERRLEN		512
#define NSERIALS	4
#define REVOKED_AT	1780000000	/* 2026-05-28T20:26:40Z */
#define WAIT_USEC	20000
#define WAIT_TRIES	250		/* 5 s */

struct row {
	char serial[41];
	struct ocspr_status st;
};

struct fixture {
	char dir[PATH_MAX];
	struct bridge_config cfg;
	struct signer *signer;
	X509 *root, *iss;
	struct event_base *base;
	struct server *http;
	struct ocspr *r;
	pthread_t thread;
	char url[64];
	pthread_mutex_t mu;		/* rows: read on the loop thread */
	struct row rows[NSERIALS];
	int status_calls;
};

/* ---- the ledger's stand-in ---------------------------------------------- */

static int
fx_status(void *arg, int issuer, const char *serial, struct ocspr_status *st)
{
	struct fixture *f = arg;

	pthread_mutex_lock(&f->mu);
	f->status_calls++;
	memset(st, 0, sizeof(*st));
	st->state = OCSPR_NOT_ISSUED;
	for (int i = 0; i < NSERIALS; i++)
		if (strcmp(f->rows[i].serial, serial) == 0)
			*st = f->rows[i].st;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static int
fx_revoked(void *arg, int issuer,
    int (*add)(const struct ocspr_revoked *, void *), void *add_arg)
{
	struct fixture *f = arg;
	struct ocspr_revoked rv;
	int rc = 0;

	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < NSERIALS && rc == 0; i++) {
		if (f->rows[i].st.state != OCSPR_REVOKED)
			continue;
		memset(&rv, 0, sizeof(rv));
		snprintf(rv.serial, sizeof(rv.serial), "%s",
		    f->rows[i].serial);
		rv.at = f->rows[i].st.revoked_at;
		rv.reason = f->rows[i].st.reason;
		rc = add(&rv, add_arg);
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static int
fx_sign_ocsp(void *arg, OCSP_BASICRESP **bs)
{
	return signer_sign_ocsp(((struct fixture *)arg)->signer, bs);
}

static int
fx_sign_crl(void *arg, int issuer, X509_CRL **crl)
{
	return signer_sign_crl(((struct fixture *)arg)->signer, crl);
}

static void
set_row(struct fixture *f, int i, const char *serial, enum ocspr_state s,
    int reason)
{
	pthread_mutex_lock(&f->mu);
	snprintf(f->rows[i].serial, sizeof(f->rows[i].serial), "%s", serial);
	memset(&f->rows[i].st, 0, sizeof(f->rows[i].st));
	f->rows[i].st.state = s;
	f->rows[i].st.not_after = time(NULL) + 86400;
	if (s == OCSPR_REVOKED) {
		f->rows[i].st.revoked_at = REVOKED_AT;
		f->rows[i].st.reason = reason;
	}
	pthread_mutex_unlock(&f->mu);
}

/* ---- setup ---------------------------------------------------------------- */

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

static void *
loop_thread(void *arg)
{
	event_base_loop(((struct fixture *)arg)->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int
setup(void **state)
{
	struct pki_init_opts o = { "keybridge", NULL, 0, NULL };
	struct fixture *f = calloc(1, sizeof(*f));
	struct ocspr_config oc;
	char err[ERRLEN] = "";

	log_verbosity = LOGL_ERR;
	if (f == NULL)
		return -1;
	pthread_mutex_init(&f->mu, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/kb-test-ocsp-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	config_defaults(&f->cfg, f->dir);
	if (pki_init(&f->cfg, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "pki_init: %s\n", err);
		return -1;
	}
	/* The key process loads the bridge account key and the node's
	 * checkpoint key too: any keys will do */
	for (int i = 0; i < 2; i++) {
		char path[PATH_MAX];
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

		if (k == NULL || ledger_key_save(k, config_path(&f->cfg,
		    i == 0 ? f->cfg.bridge_key : f->cfg.validator_key, path,
		    sizeof(path))) != 0)
			return -1;
		EVP_PKEY_free(k);
	}
	if ((f->signer = signer_open(&f->cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "signer_open: %s\n", err);
		return -1;
	}
	f->root = load_cert(&f->cfg, f->cfg.ca_root);
	f->iss = signer_issuer(f->signer);
	if (f->root == NULL || evthread_use_pthreads() != 0 ||
	    (f->base = event_base_new()) == NULL)
		return -1;
	memset(&oc, 0, sizeof(oc));
	oc.base = f->base;
	oc.issuers[0] = f->iss;
	oc.issuer_ids[0] = signer_issuer_id(f->signer);
	oc.nissuers = 1;
	oc.validity = 3600;
	oc.max_age = 60;
	oc.crl_validity = 86400;
	oc.ops = (struct ocspr_ops){ fx_status, fx_revoked, fx_sign_ocsp,
	    fx_sign_crl, f, NULL, NULL };
	if ((f->r = ocspr_new(&oc, err, sizeof(err))) == NULL ||
	    (f->http = server_new(f->base, "127.0.0.1:0", NULL, 4 * 10240,
	    err, sizeof(err))) == NULL ||
	    server_route(f->http, "/ocsp", ocspr_handle, f->r) != 0 ||
	    server_route(f->http, "/ocsp/", ocspr_handle, f->r) != 0 ||
	    server_route(f->http, "/", ocspr_handle, f->r) != 0 ||
	    server_route(f->http, "/crl/", ocspr_crl_handle, f->r) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d",
	    server_port(f->http));
	if (pthread_create(&f->thread, NULL, loop_thread, f) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
stop_loop(evutil_socket_t fd, short what, void *arg)
{
	struct fixture *f = arg;

	/* the responder goes first, on the loop, as in serve.c */
	ocspr_free(f->r);
	f->r = NULL;
	event_base_loopbreak(f->base);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	event_base_once(f->base, -1, EV_TIMEOUT, stop_loop, f, NULL);
	pthread_join(f->thread, NULL);
	server_free(f->http);
	event_base_free(f->base);
	signer_free(f->signer);
	X509_free(f->root);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return 0;
}

/* Runs fn(f) on the loop thread and waits for it. */
struct on_loop {
	struct fixture *f;
	void (*fn)(struct fixture *, void *);
	void *arg;
	volatile int done;
};

static void
on_loop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct on_loop *o = arg;

	o->fn(o->f, o->arg);
	o->done = 1;
}

static void
run_on_loop(struct fixture *f, void (*fn)(struct fixture *, void *), void *arg)
{
	struct on_loop o = { f, fn, arg, 0 };

	assert_int_equal(event_base_once(f->base, -1, EV_TIMEOUT, on_loop_cb,
	    &o, NULL), 0);
	for (int i = 0; i < WAIT_TRIES && !o.done; i++)
		usleep(WAIT_USEC);
	assert_true(o.done);
}

static void
do_refresh(struct fixture *f, void *serial)
{
	assert_int_equal(ocspr_refresh(f->r, 0, serial), 0);
}

static void
do_crl_changed(struct fixture *f, void *arg)
{
	ocspr_crl_changed(f->r, 0);
}

static void
do_stats(struct fixture *f, void *arg)
{
	ocspr_stats(f->r, arg);
}

/* ---- requests and responses -------------------------------------------- */

static OCSP_CERTID *
certid(const struct fixture *f, const EVP_MD *md, const char *serial)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai;
	OCSP_CERTID *cid;

	assert_true(BN_hex2bn(&bn, serial) > 0);
	assert_non_null(ai = BN_to_ASN1_INTEGER(bn, NULL));
	cid = OCSP_cert_id_new(md, X509_get_subject_name(f->iss),
	    X509_get0_pubkey_bitstr(f->iss), ai);
	assert_non_null(cid);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return cid;
}

/* POSTs der to path; the HTTP status, the body in *out (malloc'd). */
static int
post(const struct fixture *f, const char *path, const unsigned char *der,
    size_t len, unsigned char **out, size_t *outlen)
{
	struct client_response r;
	char err[ERRLEN] = "";

	assert_int_equal(client_request(f->url, NULL, "POST", path,
	    "application/ocsp-request", (const char *)der, len, &r, err,
	    sizeof(err)), 0);
	*out = (unsigned char *)r.body;
	*outlen = r.len;
	return r.status;
}

static int
get(const struct fixture *f, const char *path, unsigned char **out,
    size_t *outlen)
{
	struct client_response r;
	char err[ERRLEN] = "";

	assert_int_equal(client_request(f->url, NULL, "GET", path, NULL, NULL,
	    0, &r, err, sizeof(err)), 0);
	*out = (unsigned char *)r.body;
	*outlen = r.len;
	return r.status;
}

/* Sends req by POST; returns the parsed response (status 200 asserted). */
static OCSP_RESPONSE *
ask(const struct fixture *f, OCSP_REQUEST *req)
{
	unsigned char *der = NULL, *body;
	const unsigned char *p;
	size_t blen;
	int len;
	OCSP_RESPONSE *resp;

	assert_true((len = i2d_OCSP_REQUEST(req, &der)) > 0);
	assert_int_equal(post(f, "/ocsp", der, (size_t)len, &body, &blen), 200);
	p = body;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)blen);
	assert_non_null(resp);
	OPENSSL_free(der);
	free(body);
	return resp;
}

/* The basic response of resp, verified against the root (the delegated
 * signer's certificate comes in the response). */
static OCSP_BASICRESP *
verified(const struct fixture *f, OCSP_RESPONSE *resp)
{
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	OCSP_BASICRESP *bs;

	assert_int_equal(OCSP_response_status(resp),
	    OCSP_RESPONSE_STATUS_SUCCESSFUL);
	assert_non_null(bs = OCSP_response_get1_basic(resp));
	assert_int_equal(X509_STORE_add_cert(st, f->root), 1);
	assert_true(sk_X509_push(chain, f->iss) > 0);
	assert_int_equal(OCSP_basic_verify(bs, chain, st, 0), 1);
	X509_STORE_free(st);
	sk_X509_free(chain);
	return bs;
}

/* The status of cid in bs (asserted present) with its reason and time. */
static int
find(OCSP_BASICRESP *bs, OCSP_CERTID *cid, int *reason, time_t *rev)
{
	ASN1_GENERALIZEDTIME *rt = NULL, *tu = NULL, *nu = NULL;
	struct tm tm;
	int status = -1;

	*reason = -1;
	assert_int_equal(OCSP_resp_find_status(bs, cid, &status, reason, &rt,
	    &tu, &nu), 1);
	assert_int_equal(OCSP_check_validity(tu, nu, 300, -1), 1);
	*rev = -1;
	if (rt != NULL) {
		assert_int_equal(ASN1_TIME_to_tm(rt, &tm), 1);
		*rev = timegm(&tm);
	}
	return status;
}

static OCSP_REQUEST *
request1(const struct fixture *f, const EVP_MD *md, const char *serial)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();

	assert_non_null(req);
	assert_non_null(OCSP_request_add0_id(req, certid(f, md, serial)));
	return req;
}

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

	set_row(f, 0, serials[0], OCSPR_GOOD, 0);
	set_row(f, 1, serials[1], OCSPR_REVOKED,
	    OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	/* serials[2] is not in the table: never issued */
	for (int i = 0; i < 3; i++) {
		OCSP_REQUEST *req = request1(f, EVP_sha1(), serials[i]);
		OCSP_CERTID *cid = certid(f, EVP_sha1(), serials[i]);
		OCSP_RESPONSE *resp = ask(f, req);
		OCSP_BASICRESP *bs = verified(f, resp);
		int reason;
		time_t rev;

		assert_int_equal(find(bs, cid, &reason, &rev), want[i]);
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
	OCSP_REQUEST *req = request1(f, EVP_sha256(), "77");
	OCSP_CERTID *c256 = certid(f, EVP_sha256(), "77");
	OCSP_CERTID *c1 = certid(f, EVP_sha1(), "77");
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	int status = -1, reason;
	time_t rev;

	set_row(f, 0, "77", OCSPR_GOOD, 0);
	resp = ask(f, req);
	bs = verified(f, resp);
	assert_int_equal(find(bs, c256, &reason, &rev),
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
	OCSP_REQUEST *req = request1(f, EVP_sha1(), "88"), *other;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;

	set_row(f, 0, "88", OCSPR_GOOD, 0);
	assert_int_equal(OCSP_request_add1_nonce(req, NULL, 16), 1);
	resp = ask(f, req);
	bs = verified(f, resp);
	assert_int_equal(OCSP_check_nonce(req, bs), 1);
	/* negative control: another request's nonce does not match */
	other = request1(f, EVP_sha1(), "88");
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
	OCSP_CERTID *a = certid(f, EVP_sha1(), "a1"), *b = certid(f,
	    EVP_sha256(), "b2");
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	char s[8];
	int reason;
	time_t rev;

	set_row(f, 0, "a1", OCSPR_GOOD, 0);
	set_row(f, 1, "b2", OCSPR_REVOKED, OCSP_REVOKED_STATUS_SUPERSEDED);
	assert_non_null(OCSP_request_add0_id(req, certid(f, EVP_sha1(),
	    "a1")));
	assert_non_null(OCSP_request_add0_id(req, certid(f, EVP_sha256(),
	    "b2")));
	resp = ask(f, req);
	bs = verified(f, resp);
	assert_int_equal(OCSP_resp_count(bs), 2);
	assert_int_equal(find(bs, a, &reason, &rev), V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(find(bs, b, &reason, &rev),
	    V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_SUPERSEDED);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);

	/* OCSPR_MAX_CERTIDS + 1: malformedRequest, unsigned */
	req = OCSP_REQUEST_new();
	for (int i = 0; i <= OCSPR_MAX_CERTIDS; i++) {
		snprintf(s, sizeof(s), "%x", 0x100 + i);
		assert_non_null(OCSP_request_add0_id(req, certid(f,
		    EVP_sha1(), s)));
	}
	resp = ask(f, req);
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
	resp = ask(f, req);
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
	OCSP_REQUEST *req = request1(f, EVP_sha1(), "99");
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

		assert_int_equal(post(f, "/ocsp", in, inlen, &body, &blen),
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
		assert_int_equal(post(f, "/ocsp", b, big, &body, &blen), 413);
		free(body);
		free(b);
	}
	/* at the root, a path that is no base64 is another resource: 404;
	 * under /ocsp/ it is a malformed OCSP request */
	assert_int_equal(get(f, "/favicon.ico", &body, &blen), 404);
	free(body);
	assert_int_equal(get(f, "/ocsp/favicon.ico", &body, &blen), 200);
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
	OCSP_REQUEST *req = request1(f, EVP_sha1(), "fe");
	unsigned char *der = NULL, *body;
	const unsigned char *p;
	char b64[256], enc[512], path[600];
	size_t blen, i, n = 0;
	int len, reason;
	time_t rev;
	OCSP_CERTID *cid = certid(f, EVP_sha1(), "fe");

	set_row(f, 0, "fe", OCSPR_GOOD, 0);
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
		assert_int_equal(get(f, path, &body, &blen), 200);
		p = body;
		assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p,
		    (long)blen));
		bs = verified(f, resp);
		assert_int_equal(find(bs, cid, &reason, &rev),
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
	OCSP_CERTID *cid = certid(f, EVP_sha1(), serial);
	struct ocspr_stats a, b;
	time_t rev;
	int status = -1, hit = 0;

	for (int i = 0; i < WAIT_TRIES && !hit; i++) {
		OCSP_REQUEST *req = request1(f, EVP_sha1(), serial);
		OCSP_RESPONSE *resp;
		OCSP_BASICRESP *bs;

		run_on_loop(f, do_stats, &a);
		resp = ask(f, req);
		run_on_loop(f, do_stats, &b);
		bs = verified(f, resp);
		status = find(bs, cid, reason, &rev);
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
	OCSP_CERTID *cid = certid(f, EVP_sha1(), "c0ffee");
	OCSP_REQUEST *req;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	int reason;
	time_t rev;

	set_row(f, 0, "c0ffee", OCSPR_GOOD, 0);
	run_on_loop(f, do_refresh, "c0ffee");
	assert_int_equal(ask_until_cached(f, "c0ffee", &reason),
	    V_OCSP_CERTSTATUS_GOOD);

	set_row(f, 0, "c0ffee", OCSPR_REVOKED,
	    OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	run_on_loop(f, do_refresh, "c0ffee");
	/* the very next answer already says revoked */
	req = request1(f, EVP_sha1(), "c0ffee");
	resp = ask(f, req);
	bs = verified(f, resp);
	assert_int_equal(find(bs, cid, &reason, &rev),
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
		status = get(f, path, &body, &blen);
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

	set_row(f, 0, "d00d", OCSPR_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	set_row(f, 1, "e00e", OCSPR_GOOD, 0);
	set_row(f, 2, "", OCSPR_GOOD, 0);
	set_row(f, 3, "", OCSPR_GOOD, 0);
	run_on_loop(f, do_crl_changed, NULL);
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
	set_row(f, 1, "e00e", OCSPR_REVOKED, OCSP_REVOKED_STATUS_SUPERSEDED);
	run_on_loop(f, do_crl_changed, NULL);
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

	return cmocka_run_group_tests(tests, setup, teardown);
}
