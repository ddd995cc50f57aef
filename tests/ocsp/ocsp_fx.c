/*
 * ocsp_fx.c: the fixture of tests/ocsp/test_ocsp.c (ocsp_fx.h).
 */
#include "tests/ocsp/ocsp_fx.h"
#include "tests/bridge/ca/pki_fx.h"

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
	if (f->revoked_fail)
		rc = -1;
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

void
ofx_set_row(struct fixture *f, int i, const char *serial, enum ocspr_state s,
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

static void *
loop_thread(void *arg)
{
	event_base_loop(((struct fixture *)arg)->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* "/crl/" of whichever responder f holds now (ofx_do_restart). */
static void
fx_crl_handle(struct evhttp_request *req, void *arg)
{
	ocspr_crl_handle(req, ((struct fixture *)arg)->r);
}

static void
fx_ocsp_handle(struct evhttp_request *req, void *arg)
{
	ocspr_handle(req, ((struct fixture *)arg)->r);
}

static int
setup(void **state, int parts)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ocspr_config oc;
	char err[ERRLEN] = "";

	log_verbosity = LOGL_ERR;
	if (f == NULL)
		return -1;
	pthread_mutex_init(&f->mu, NULL);
	if (fx_pki_dir(&f->cfg, f->dir, "ocsp") != 0)
		return -1;
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
	f->root = fx_pki_pem(&f->cfg, f->cfg.ca_root, 0);
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
	snprintf(f->crl_url, sizeof(f->crl_url), "http://crl.test/crl/%s.crl",
	    oc.issuer_ids[0]);
	oc.crl_urls[0] = f->crl_url;
	oc.crl_partitions = parts;
	f->oc = oc;
	if ((f->r = ocspr_new(&oc, err, sizeof(err))) == NULL ||
	    (f->http = server_new(f->base, "127.0.0.1:0", NULL, 4 * 10240,
	    err, sizeof(err))) == NULL ||
	    server_route(f->http, "/ocsp", fx_ocsp_handle, f) != 0 ||
	    server_route(f->http, "/ocsp/", fx_ocsp_handle, f) != 0 ||
	    server_route(f->http, "/", fx_ocsp_handle, f) != 0 ||
	    server_route(f->http, "/crl/", fx_crl_handle, f) != 0) {
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

int
ofx_setup(void **state)
{
	return setup(state, 1);
}

int
ofx_setup_parts(void **state)
{
	return setup(state, OFX_PARTS);
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

int
ofx_teardown(void **state)
{
	struct fixture *f = *state;

	event_base_once(f->base, -1, EV_TIMEOUT, stop_loop, f, NULL);
	pthread_join(f->thread, NULL);
	server_free(f->http);
	event_base_free(f->base);
	signer_free(f->signer);
	X509_free(f->root);
	fx_pki_rm(f->dir);
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

void
ofx_run_on_loop(struct fixture *f, void (*fn)(struct fixture *, void *), void *arg)
{
	struct on_loop o = { f, fn, arg, 0 };

	assert_int_equal(event_base_once(f->base, -1, EV_TIMEOUT, on_loop_cb,
	    &o, NULL), 0);
	for (int i = 0; i < WAIT_TRIES && !o.done; i++)
		usleep(WAIT_USEC);
	assert_true(o.done);
}

void
ofx_do_refresh(struct fixture *f, void *serial)
{
	assert_int_equal(ocspr_refresh(f->r, 0, serial), 0);
}

void
ofx_do_crl_changed(struct fixture *f, void *arg)
{
	ocspr_crl_changed(f->r, 0);
}

void
ofx_do_stats(struct fixture *f, void *arg)
{
	ocspr_stats(f->r, arg);
}

void
ofx_do_crl_revoked(struct fixture *f, void *serial)
{
	assert_int_equal(ocspr_crl_revoked(f->r, 0, serial), 0);
}

void
ofx_do_restart(struct fixture *f, void *arg)
{
	char err[ERRLEN] = "";

	ocspr_free(f->r);
	f->r = ocspr_new(&f->oc, err, sizeof(err));
	if (f->r == NULL)
		fprintf(stderr, "ocspr_new: %s\n", err);
	assert_non_null(f->r);
}

/* ---- requests and responses -------------------------------------------- */

OCSP_CERTID *
ofx_certid(const struct fixture *f, const EVP_MD *md, const char *serial)
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
int
ofx_post(const struct fixture *f, const char *path, const unsigned char *der,
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

int
ofx_get(const struct fixture *f, const char *path, unsigned char **out,
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
OCSP_RESPONSE *
ofx_ask(const struct fixture *f, OCSP_REQUEST *req)
{
	unsigned char *der = NULL, *body;
	const unsigned char *p;
	size_t blen;
	int len;
	OCSP_RESPONSE *resp;

	assert_true((len = i2d_OCSP_REQUEST(req, &der)) > 0);
	assert_int_equal(ofx_post(f, "/ocsp", der, (size_t)len, &body, &blen), 200);
	p = body;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)blen);
	assert_non_null(resp);
	OPENSSL_free(der);
	free(body);
	return resp;
}

/* The basic response of resp, verified against the root (the delegated
 * signer's certificate comes in the response). */
OCSP_BASICRESP *
ofx_verified(const struct fixture *f, OCSP_RESPONSE *resp)
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
int
ofx_find(OCSP_BASICRESP *bs, OCSP_CERTID *cid, int *reason, time_t *rev)
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

OCSP_REQUEST *
ofx_request1(const struct fixture *f, const EVP_MD *md, const char *serial)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();

	assert_non_null(req);
	assert_non_null(OCSP_request_add0_id(req, ofx_certid(f, md, serial)));
	return req;
}
