/*
 * api_certs.c: GET /api/v1/certs and /api/v1/certs/SERIAL, and a key's
 * certificates in /api/v1/keys/ID.  A certificate's "status" is what the
 * OCSP responder answers for it (good, or revoked with the time and reason
 * of its own revocation or its key's, whichever came first; "revoked_by"
 * says which, "revoked_index" is that revocation's leaf index); "expired"
 * says whether its notAfter has passed.
 *
 * The list is read at a snapshot of the ledger, like the key list (see
 * api_keys in api.c): the certificates recorded before tree size N, with
 * the revocations made before N.  "next" (SERIAL@N) carries N, so paging
 * while certificates are issued and revoked neither skips nor repeats one.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/buffer.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bridge/api/api_int.h"

#define API_SERIAL_MAX	40	/* hex digits of our serials */
#define API_CERT_BATCH	100	/* rows read per ledger_certs call, at least */

/* *v: c as it stood when the ledger held entries [0, size); key_rev is
 * the leaf index of its key's revocation (UINT64_MAX: none). */
static void
api_cert_at(const struct ledger_cert_info *c, uint64_t key_rev,
    uint64_t size, struct ledger_cert_info *v)
{
	*v = *c;
	if (v->revoked && v->revoked_index >= size) {
		v->revoked = 0;
		v->revoked_at = 0;
		v->reason = 0;
		v->revoked_index = 0;
	}
	if (v->key_revoked && key_rev >= size) {
		v->key_revoked = 0;
		v->key_revoked_at = 0;
		v->key_reason = 0;
	}
}

/* 1 when v's status (as OCSP answers) is status ("good" or "revoked"). */
static int
api_cert_status_is(const struct ledger_cert_info *v, const char *status)
{
	time_t at;
	int reason;

	return strcmp(status, ledger_cert_revoked(v, &at, &reason) ?
	    "revoked" : "good") == 0;
}

/* Looks up the leaf index of key_id's revocation into *idx (UINT64_MAX
 * when it is not revoked), through a one-key cache.  0, or -1 when the
 * ledger cannot be read. */
struct api_key_rev {
	struct ledger_key_info *k;	/* owned scratch, ~10 KiB */
	char key_id[LEDGER_KEYID_LEN + 1];
	uint64_t idx;
};

static int
api_key_rev(struct ledger *l, struct api_key_rev *kr, const char *key_id,
    uint64_t *idx)
{
	int rc;

	if (kr->key_id[0] == '\0' || strcmp(kr->key_id, key_id) != 0) {
		if (kr->k == NULL && (kr->k = malloc(sizeof(*kr->k))) == NULL)
			return -1;
		if ((rc = ledger_key_get(l, key_id, kr->k)) < 0)
			return -1;
		kr->idx = rc == 0 && kr->k->status == LEDGER_KEY_REVOKED ?
		    kr->k->revoked_index : UINT64_MAX;
		snprintf(kr->key_id, sizeof(kr->key_id), "%s", key_id);
	}
	*idx = kr->idx;
	return 0;
}

struct api_key_certs {
	json_t *arr;
	uint64_t key_rev;
	time_t now;
	int oom;
};

static int
api_key_certs_cb(const struct ledger_cert_info *c, void *arg)
{
	struct api_key_certs *kc = arg;

	if (json_array_append_new(kc->arr, render_cert_json(c, kc->key_rev,
	    kc->now)) != 0) {
		kc->oom = 1;
		return 1;
	}
	return 0;
}

/* See api_int.h. */
json_t *
api_key_certs_json(struct ledger *l, const struct ledger_key_info *k,
    time_t now)
{
	struct api_key_certs kc;

	memset(&kc, 0, sizeof(kc));
	kc.now = now;
	kc.key_rev = k->status == LEDGER_KEY_REVOKED ? k->revoked_index :
	    UINT64_MAX;
	if ((kc.arr = json_array()) == NULL)
		return NULL;
	if (ledger_key_certs(l, k->key_id, api_key_certs_cb, &kc) != 0 ||
	    kc.oom) {
		json_decref(kc.arr);
		return NULL;
	}
	return kc.arr;
}

/* 1 when s is a serial as the ledger writes it: 1 to 40 lowercase hex
 * digits without a leading zero. */
static int
api_is_serial(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n > 0 && n <= API_SERIAL_MAX && s[n] == '\0' && s[0] != '0';
}

/* One page of the certificate list being built. */
struct api_cert_page {
	json_t *arr;
	struct ledger *ledger;
	struct api_key_rev kr;
	uint64_t size;			/* the snapshot: entries [0, size) */
	const char *status;		/* filter, or NULL */
	size_t limit;
	time_t now;
	char last[API_SERIAL_MAX + 1];	/* the last certificate on the page */
	int more;			/* a match follows the page */
};

/* Puts c on the page when it matches in the snapshot; sets pg->more at
 * the first match past a full page.  0, -1 when the key's revocation
 * cannot be read, -2 without memory. */
static int
api_cert_page_add(struct api_cert_page *pg, const struct ledger_cert_info *c,
    uint64_t key_rev)
{
	struct ledger_cert_info v;

	if (c->issued_index >= pg->size)
		return 0;		/* recorded after the snapshot */
	if (c->key_revoked && key_rev == UINT64_MAX &&
	    api_key_rev(pg->ledger, &pg->kr, c->key_id, &key_rev) != 0)
		return -1;
	api_cert_at(c, key_rev, pg->size, &v);
	if (pg->status != NULL && !api_cert_status_is(&v, pg->status))
		return 0;
	if (json_array_size(pg->arr) >= pg->limit) {
		pg->more = 1;
		return 0;
	}
	if (json_array_append_new(pg->arr, render_cert_json(&v, key_rev,
	    pg->now)) != 0)
		return -2;
	snprintf(pg->last, sizeof(pg->last), "%s", c->serial);
	return 0;
}

/* Rows of one ledger_certs call, copied out so that the key lookups run
 * after the ledger's statement, not inside it. */
struct api_cert_rows {
	struct ledger_cert_info *row;
	size_t n, cap;
};

static int
api_cert_rows_cb(const struct ledger_cert_info *c, void *arg)
{
	struct api_cert_rows *r = arg;

	if (r->n < r->cap)
		r->row[r->n++] = *c;
	return r->n == r->cap;
}

/* The page from every certificate after `after` in serial order.  Sets
 * *end when the ledger has no more rows; *pos is the last row read.  0,
 * -1 storage, -2 no memory. */
static int
api_cert_scan(struct api_cert_page *pg, const char *after, int *end,
    char pos[API_SERIAL_MAX + 1])
{
	struct api_cert_rows r;
	size_t scanned = 0, i;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	r.cap = pg->limit + 1 > API_CERT_BATCH ? pg->limit + 1 : API_CERT_BATCH;
	if (r.cap > LEDGER_LIST_MAX)
		r.cap = LEDGER_LIST_MAX;
	if ((r.row = calloc(r.cap, sizeof(*r.row))) == NULL)
		return -2;
	snprintf(pos, API_SERIAL_MAX + 1, "%s", after);
	*end = 0;
	while (!pg->more && !*end && scanned < API_SCAN_MAX) {
		r.n = 0;
		if (ledger_certs(pg->ledger, pos, r.cap, api_cert_rows_cb,
		    &r) != 0) {
			rc = -1;
			break;
		}
		*end = r.n < r.cap;
		for (i = 0; i < r.n && !pg->more; i++) {
			snprintf(pos, API_SERIAL_MAX + 1, "%s", r.row[i].serial);
			if ((rc = api_cert_page_add(pg, &r.row[i],
			    UINT64_MAX)) != 0)
				break;
		}
		scanned += r.n;
		if (rc != 0)
			break;
	}
	free(r.row);
	return rc;
}

/* The certificates of one key with a serial after `after`, the
 * smallest limit + 1 of those that match, in serial order. */
struct api_cert_pick {
	struct ledger_cert_info *row;	/* sorted by serial */
	size_t n, cap;
	const char *after;
	uint64_t size, key_rev;
	const char *status;
};

static int
api_cert_pick_cb(const struct ledger_cert_info *c, void *arg)
{
	struct api_cert_pick *p = arg;
	struct ledger_cert_info v;
	size_t i;

	if (strcmp(c->serial, p->after) <= 0 || c->issued_index >= p->size)
		return 0;
	api_cert_at(c, p->key_rev, p->size, &v);
	if (p->status != NULL && !api_cert_status_is(&v, p->status))
		return 0;
	if (p->n == p->cap && strcmp(c->serial, p->row[p->n - 1].serial) > 0)
		return 0;
	if (p->n == p->cap)
		p->n--;			/* the largest makes room */
	for (i = p->n; i > 0 && strcmp(p->row[i - 1].serial, c->serial) > 0;
	    i--)
		p->row[i] = p->row[i - 1];
	p->row[i] = *c;
	p->n++;
	return 0;
}

/* The page of key_id's certificates (a key has few; ledger_key_certs
 * reads them by key, not the whole table).  0, -1 storage, -2 memory. */
static int
api_cert_key_page(struct api_cert_page *pg, const char *key_id,
    const char *after)
{
	struct api_cert_pick p;
	size_t i;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	p.cap = pg->limit + 1;
	p.after = after;
	p.size = pg->size;
	p.status = pg->status;
	if (api_key_rev(pg->ledger, &pg->kr, key_id, &p.key_rev) != 0)
		return -1;
	if ((p.row = calloc(p.cap, sizeof(*p.row))) == NULL)
		return -2;
	if (ledger_key_certs(pg->ledger, key_id, api_cert_pick_cb, &p) != 0)
		rc = -1;
	for (i = 0; rc == 0 && i < p.n && !pg->more; i++)
		rc = api_cert_page_add(pg, &p.row[i], p.key_rev);
	free(p.row);
	return rc;
}

/*
 * GET /api/v1/certs?status=good|revoked&key_id=ID&after=CURSOR&limit=N:
 * certificates in serial order, read at a snapshot (see the top of this
 * file).  A page holds limit matches unless the list ends, and "next" is
 * null exactly when no match follows; only when API_SCAN_MAX rows in a
 * row do not match (a status filter over many certificates) is a page
 * cut short, possibly empty, with a "next" that goes on from there.
 */
void
api_certs(struct evhttp_request *req, void *arg)
{
	static const char *const params[] = { "status", "key_id", "after",
	    "limit", NULL };
	struct api_ctx *ctx = arg;
	struct api_cert_page pg;
	char status[16], key_id[LEDGER_KEYID_LEN + 1];
	char after[API_SERIAL_MAX + 1], pos[API_SERIAL_MAX + 1];
	json_t *next;
	uint64_t limit;
	int rc, end = 1;

	if (api_method(req, API_GET) != 0 || api_params(req, params) != 0)
		return;
	memset(&pg, 0, sizeof(pg));
	if (api_param_u64(req, "limit", 1, API_LIMIT_MAX, API_LIMIT_DEFAULT,
	    &limit) != 0)
		return;
	if ((rc = server_query_str(req, "status", status, sizeof(status))) < 0 ||
	    (rc == 0 && strcmp(status, "good") != 0 &&
	    strcmp(status, "revoked") != 0)) {
		server_reply_error(req, 400, "bad_parameter",
		    "status must be good or revoked");
		return;
	}
	pg.status = rc == 0 ? status : NULL;
	if ((rc = server_query_str(req, "key_id", key_id, sizeof(key_id))) < 0 ||
	    (rc == 0 && !api_is_key_id(key_id))) {
		server_reply_error(req, 400, "bad_parameter", "key_id must be "
		    "64 lowercase hex digits");
		return;
	}
	if (rc != 0)
		key_id[0] = '\0';
	if (api_cursor(req, api_is_serial, "a serial (lowercase hex without "
	    "leading zeros)", ledger_size(ctx->ledger), after, sizeof(after),
	    &pg.size) != 0)
		return;
	pg.ledger = ctx->ledger;
	pg.now = time(NULL);
	pg.limit = (size_t)limit;
	pos[0] = '\0';
	if ((pg.arr = json_array()) == NULL)
		rc = -2;
	else if (key_id[0] != '\0')
		rc = api_cert_key_page(&pg, key_id, after);
	else
		rc = api_cert_scan(&pg, after, &end, pos);
	free(pg.kr.k);
	if (rc != 0) {
		json_decref(pg.arr);
		if (rc == -1)
			api_reply_storage(req, "certificates");
		else
			server_reply_error(req, 500, "internal",
			    "out of memory");
		return;
	}
	/* more: resume after the page's last certificate; the scan bound:
	 * after the last row read (the rows between did not match) */
	if (pg.more)
		next = api_json_cursor(pg.last, pg.size);
	else if (!end && pos[0] != '\0')
		next = api_json_cursor(pos, pg.size);
	else
		next = json_null();
	server_reply_json(req, 200, json_pack("{s:o,s:o,s:o}", "tree_size",
	    render_json_u64(pg.size), "certificates", pg.arr, "next", next));
}

/* GET /api/v1/certs/SERIAL. */
/*
 * Whether the certificate itself is wanted instead of its status: 1 for
 * ?format=pem, or an Accept header that prefers
 * application/pem-certificate-chain (RFC 8555 9.1) to JSON; 0 for JSON;
 * -1 after a 400 for a bad format.
 */
static int
api_cert_wants_pem(struct evhttp_request *req)
{
	char f[8];
	const char *a;
	int rc = server_query_str(req, "format", f, sizeof(f)), qp;

	if (rc == 0 && strcmp(f, "pem") == 0)
		return 1;
	if (rc == 0 && strcmp(f, "json") == 0)
		return 0;
	if (rc != 1) {
		server_reply_error(req, 400, "bad_parameter",
		    "format must be json or pem");
		return -1;
	}
	a = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Accept");
	if (a == NULL ||
	    (qp = api_accept_q(a, "application/pem-certificate-chain")) <= 0)
		return 0;
	return qp > api_accept_q(a, "application/json");
}

/*
 * The certificate as recorded on the ledger, with the issuing CA after it
 * (application/pem-certificate-chain).  It never changes, so it may be
 * cached for long; its status is the JSON answer's business.
 */
static void
api_cert_pem(struct api_ctx *ctx, struct evhttp_request *req,
    const struct ledger_cert_info *c)
{
	uint8_t der[9000];
	const unsigned char *p = der;
	size_t len = 0;
	X509 *x = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem;
	struct evbuffer *body = NULL;
	struct evkeyvalq *h;
	int rc = ledger_cert_der(ctx->ledger, c, der, sizeof(der), &len);

	if (rc < 0) {
		api_reply_storage(req, "the certificate");
		return;
	}
	if (rc == 1) {
		server_reply_error(req, 404, "cert_pem_not_recorded",
		    "certificate %s was recorded by its hash only (before "
		    "certificates were kept on the ledger)", c->serial);
		return;
	}
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, x) != 1 ||
	    (ctx->issuer != NULL && PEM_write_bio_X509(bio, ctx->issuer) !=
	    1) || BIO_get_mem_ptr(bio, &mem) != 1 ||
	    (body = evbuffer_new()) == NULL ||
	    evbuffer_add(body, mem->data, mem->length) != 0) {
		server_reply_error(req, 500, "internal", "cannot encode the "
		    "certificate");
		goto out;
	}
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type",
	    "application/pem-certificate-chain");
	evhttp_add_header(h, "Cache-Control", "public, max-age=86400");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	server_send_reply(req, 200, "OK", body);
out:
	evbuffer_free(body);
	BIO_free(bio);
	X509_free(x);
}

/* The JSON answer for c, kept in the cache until it would change on its
 * own (its notAfter; an expired one for good). */
static void
api_cert_reply(struct api_ctx *ctx, struct evhttp_request *req,
    const struct ledger_cert_info *c, uint64_t key_rev, time_t now)
{
	json_t *j = render_cert_json(c, key_rev, now);
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (text == NULL) {
		server_reply_error(req, 500, "internal", "cannot build the "
		    "answer");
		return;
	}
	/* Not while a TBS entry's signed certificate is not kept yet (an
	 * empty cert_sha256, a moment after the enrollment's answer): that
	 * changes without a ledger entry to forget the answer by. */
	if (c->cert_sha256[0] != '\0')
		api_cert_cache_put(ctx->certs, c->serial, text, strlen(text),
		    c->not_after > now ? c->not_after : API_CACHE_FOREVER);
	server_reply_json_text(req, 200, text, strlen(text));
	free(text);
}

void
api_cert(struct evhttp_request *req, void *arg)
{
	static const char *const params[] = { "format", NULL };
	struct api_ctx *ctx = arg;
	struct ledger_cert_info c;
	struct api_key_rev kr;
	char norm[API_SERIAL_MAX + 2];
	const char *serial;
	uint64_t key_rev = UINT64_MAX;
	time_t now = time(NULL);
	const char *text;
	size_t n;
	int rc, pem;

	if (api_method(req, API_GET) != 0 || api_params(req, params) != 0 ||
	    (pem = api_cert_wants_pem(req)) < 0)
		return;
	/* openssl prints serials in uppercase with whole octets ("0E09..."):
	 * take that spelling too */
	serial = api_path_rest(req, "/api/v1/certs/");
	n = strspn(serial, "0123456789abcdefABCDEF");
	if (serial[n] == '\0' && n <= API_SERIAL_MAX + 1) {
		while (*serial == '0' && serial[1] != '\0')
			serial++;
		for (n = 0; serial[n] != '\0'; n++)
			norm[n] = (char)tolower((unsigned char)serial[n]);
		norm[n] = '\0';
		serial = norm;
	}
	if (!api_is_serial(serial)) {
		server_reply_error(req, 400, "bad_parameter", "a serial is 1 to "
		    "40 lowercase hex digits without leading zeros");
		return;
	}
	if (!pem && (text = api_cert_cache_get(ctx->certs, serial, now,
	    &n)) != NULL) {
		server_reply_json_text(req, 200, text, n);
		return;
	}
	memset(&kr, 0, sizeof(kr));
	if ((rc = ledger_cert_get(ctx->ledger, serial, &c)) < 0 ||
	    (rc == 0 && c.key_revoked &&
	    api_key_rev(ctx->ledger, &kr, c.key_id, &key_rev) != 0))
		api_reply_storage(req, "the certificate");
	else if (rc == 1)
		server_reply_error(req, 404, "cert_not_found",
		    "no certificate %s on the ledger", serial);
	else if (pem)
		api_cert_pem(ctx, req, &c);
	else
		api_cert_reply(ctx, req, &c, key_rev, now);
	free(kr.k);
}
