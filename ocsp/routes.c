/*
 * routes.c: OCSP over HTTP (RFC 6960 appendix A, RFC 5019 5 and 6).
 *
 * POST carries the DER request as application/ocsp-request; GET carries
 * it base64'd (then URL-encoded) in the path after the responder URL:
 * "/ocsp/<b64>", or "/<b64>" for clients that use the bare host.  Clients
 * differ: some leave '/' and '+' raw, some percent-encode them, some
 * double the slash after the prefix (Windows), and a '+' that went
 * through a form decoder arrives as a space.  All of these are taken.
 *
 * A single CertID without a nonce is answered from the pre-signed cache
 * when it can be: no signature, no database read.  Everything else is
 * signed on the worker and answered when it is done; a full live queue
 * answers tryLater (unsigned) instead of growing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ocsp/ocsp_int.h"

#define OCSPR_PREFIX "/ocsp"
#define OCSPR_CTYPE  "application/ocsp-response"

/* See ocsp.h. */
int
ocspr_get_decode(const char *path, unsigned char *out, size_t outcap,
    size_t *len)
{
	EVP_ENCODE_CTX *ctx = NULL;
	char *dec = NULL;
	size_t n, i;
	int l1 = 0, l2 = 0, rc = -1;

	*len = 0;
	while (*path == '/')
		path++;
	if ((n = strlen(path)) == 0 || n > OCSPR_MAX_URI)
		goto out;
	if ((dec = evhttp_uridecode(path, 0, &n)) == NULL || n == 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (dec[i] == ' ')
			dec[i] = '+';
		else if (dec[i] == '\0')
			goto out;
	}
	/* Padding some clients leave out (evhttp_uridecode's buffer has room
	 * for n + 1 bytes: grow it for the two '=' at most). */
	if (n % 4 == 2 || n % 4 == 3) {
		char *g = realloc(dec, n + 3);

		if (g == NULL)
			goto out;
		dec = g;
		while (n % 4 != 0)
			dec[n++] = '=';
		dec[n] = '\0';
	}
	/* EVP_DecodeUpdate needs the output room of 3/4 of the input. */
	if (n / 4 * 3 + 3 > outcap || (ctx = EVP_ENCODE_CTX_new()) == NULL)
		goto out;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &l1, (unsigned char *)dec, (int)n) < 0 ||
	    EVP_DecodeFinal(ctx, out + l1, &l2) != 1 || l1 + l2 <= 0)
		goto out;
	*len = (size_t)(l1 + l2);
	rc = 0;
out:
	EVP_ENCODE_CTX_free(ctx);
	free(dec);
	return rc;
}

void
ocspr_http_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		buf[0] = '\0';
}

/* evbuffer_add_reference's cleanup: the reply no longer needs e->der. */
static void
ocspr_entry_release(const void *data, size_t len, void *arg)
{
	ocspr_entry_free(arg);
}

/*
 * evhttp_send_reply, then the write itself, now.  evhttp only queues the
 * reply and turns write interest on; the socket is written on the next
 * loop turn and the interest turned off again after it: two epoll_ctl
 * calls and a loop turn per request, a third of the cached-GET cost.  A
 * reply this small almost always fits the socket buffer, so it is
 * written here, and when nothing is left evhttp's own write-done
 * callback (public through bufferevent_getcb) is run at once: the
 * connection goes back to reading within this loop turn and the epoll
 * changelist sees the write interest come and go without a system call.
 * A partial or failed write leaves the rest to evhttp as before.  Plain
 * HTTP only; req must not be touched by the caller afterwards.
 */
static void
ocspr_send_now(struct evhttp_request *req, int code, const char *reason)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	struct evbuffer *out;
	bufferevent_data_cb wcb = NULL;
	void *arg = NULL;

	bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evhttp_send_reply(req, code, reason, NULL);
	if (bev == NULL || bufferevent_openssl_get_ssl(bev) != NULL)
		return;
	out = bufferevent_get_output(bev);
	if (evbuffer_write(out, bufferevent_getfd(bev)) <= 0 ||
	    evbuffer_get_length(out) != 0)
		return;
	bufferevent_getcb(bev, NULL, &wcb, NULL, &arg);
	if (wcb != NULL)
		wcb(bev, arg);
}

/* See ocsp_int.h.  A cached entry's bytes are sent by reference (one
 * more reference on the entry until they are written), its headers were
 * formatted when it was signed. */
void
ocspr_reply_der(struct evhttp_request *req, const unsigned char *der,
    size_t len, const struct ocspr_entry *ce, long max_age)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	struct ocspr_entry *e = (struct ocspr_entry *)ce;
	char buf[96];
	const char *inm;
	long age;
	int code = 200, rc;

	/* evhttp adds Content-Length itself (never chunked here). */
	evhttp_add_header(h, "Content-Type", OCSPR_CTYPE);
	if (e != NULL) {
		/* RFC 5019 6.2: max-age below nextUpdate - now. */
		age = (long)(e->next_update - time(NULL));
		if (age >= max_age && e->cache_control[0] != '\0')
			evhttp_add_header(h, "Cache-Control", e->cache_control);
		else {
			snprintf(buf, sizeof(buf), "max-age=%ld, public, "
			    "no-transform, must-revalidate", age < 0 ? 0 : age);
			evhttp_add_header(h, "Cache-Control", buf);
		}
		evhttp_add_header(h, "Last-Modified", e->last_modified);
		evhttp_add_header(h, "Expires", e->expires);
		evhttp_add_header(h, "ETag", e->etag);
		inm = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "If-None-Match");
		if (inm != NULL && strstr(inm, e->etag) != NULL)
			code = 304;
	} else
		evhttp_add_header(h, "Cache-Control", "no-cache");
	if (code == 200) {
		if (e != NULL) {
			e->refs++;
			rc = evbuffer_add_reference(body, e->der, e->len,
			    ocspr_entry_release, e);
			if (rc != 0)
				e->refs--;
		} else
			rc = evbuffer_add(body, der, len);
		if (rc != 0) {
			evhttp_send_error(req, 500, "out of memory");
			return;
		}
	}
	ocspr_send_now(req, code, code == 304 ? "Not Modified" : "OK");
}

static void
ocspr_reply_error(struct ocspr *r, struct evhttp_request *req, int status)
{
	ocspr_reply_der(req, r->errder[status], r->errlen[status], NULL, 0);
}

/* See ocsp_int.h. */
void
ocspr_http_refuse(struct evhttp_request *req, int code, const char *reason,
    const char *line)
{
	struct evbuffer *body = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	if (body != NULL)
		evbuffer_add_printf(body, "%s\n", line);
	evhttp_send_reply(req, code, reason, body);
	if (body != NULL)
		evbuffer_free(body);
}

/* See ocsp_int.h. */
const char *
ocspr_raw_path(struct evhttp_request *req)
{
	const char *u = evhttp_request_get_uri(req), *p;

	if (u == NULL)
		return "";
	if (strncasecmp(u, "http://", 7) == 0 &&
	    (p = strchr(u + 7, '/')) != NULL)
		return p;
	return u;
}

/* The request's DER into buf (cap bytes).  0, or -1 after answering. */
static int
ocspr_read(struct ocspr *r, struct evhttp_request *req, unsigned char *buf,
    size_t cap, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *p;
	int prefixed;

	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_POST:
		*len = evbuffer_get_length(in);
		if (*len > OCSPR_MAX_BODY) {
			ocspr_http_refuse(req, 413, "Payload Too Large",
			    "an OCSP request is at most 10240 bytes");
			return -1;
		}
		if (evbuffer_remove(in, buf, *len) != (int)*len)
			*len = 0;
		return 0;
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		p = ocspr_raw_path(req);
		if ((prefixed = strncmp(p, OCSPR_PREFIX,
		    strlen(OCSPR_PREFIX)) == 0 && (p[strlen(OCSPR_PREFIX)] ==
		    '/' || p[strlen(OCSPR_PREFIX)] == '\0')))
			p += strlen(OCSPR_PREFIX);
		if (strspn(p, "/") == strlen(p)) {
			ocspr_http_refuse(req, 400, "Bad Request", "OCSP: GET "
			    "/ocsp/<base64 request> or POST /ocsp");
			return -1;
		}
		/* At the root, a path that is not base64 even URL-encoded
		 * (a '.', a '?'...) is some other resource, which this
		 * listener does not have; under /ocsp/ it is a malformed
		 * request. */
		if (!prefixed && strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxy"
		    "z0123456789+/=%") != strlen(p)) {
			ocspr_http_refuse(req, 404, "Not Found", "no such "
			    "resource (OCSP: GET /ocsp/<base64 request>)");
			return -1;
		}
		if (ocspr_get_decode(p, buf, cap, len) != 0)
			*len = 0;
		return 0;
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, POST");
		ocspr_http_refuse(req, 405, "Method Not Allowed",
		    "OCSP takes GET and POST");
		return -1;
	}
}

/* Reads every CertID's issuer, serial and (when not cached) status into
 * j.  0, or the OCSPResponseStatus to answer. */
static int
ocspr_classify(struct ocspr *r, OCSP_REQUEST *oreq, struct ocspr_job *j,
    int *md0, char serial0[OCSPR_SERIAL_MAX + 1])
{
	ASN1_INTEGER *serial = NULL;
	OCSP_CERTID *cid;
	char hex[OCSPR_SERIAL_MAX + 1];
	int i, md;

	j->ncid = OCSP_request_onereq_count(oreq);
	if (j->ncid < 1 || j->ncid > OCSPR_MAX_CERTIDS)
		return OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
	for (i = 0; i < j->ncid; i++) {
		cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(oreq, i));
		/* One response is signed by one issuer's responder (issue
		 * 17): CertIDs of two issuers in one request are not ours
		 * to answer together (RFC 6960 2.3 unauthorized). */
		if ((j->cid_issuer[i] = ocspr_issuer_of(r, cid, &md)) < 0 ||
		    j->cid_issuer[i] != j->cid_issuer[0])
			return OCSP_RESPONSE_STATUS_UNAUTHORIZED;
		if (OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid) != 1)
			return OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
		if (ocspr_serial_hex(serial, hex) != 0) {
			/* zero, negative, or longer than ours: never issued */
			j->cid_st[i].state = OCSPR_NOT_ISSUED;
			hex[0] = '\0';
		} else {
			j->cid_st[i].state = 0;
		}
		if (i == 0) {
			*md0 = md;
			memcpy(serial0, hex, sizeof(hex));
		}
		if (hex[0] != '\0' && r->cfg.ops.status(r->cfg.ops.arg,
		    j->cid_issuer[i], hex, &j->cid_st[i]) != 0)
			return OCSP_RESPONSE_STATUS_TRYLATER;
	}
	return 0;
}

/* See ocsp_int.h. */
int
ocspr_fast_key(struct ocspr *r, OCSP_REQUEST *oreq, int *is, int *md,
    char serial[OCSPR_SERIAL_MAX + 1])
{
	ASN1_INTEGER *ai = NULL;
	OCSP_CERTID *cid;

	*md = -1;
	if (OCSP_REQUEST_get_ext_by_NID(oreq, NID_id_pkix_OCSP_Nonce, -1) >=
	    0 || OCSP_request_onereq_count(oreq) != 1)
		return -1;
	cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(oreq, 0));
	/* r's issuers are set before any loop runs and never change */
	if ((*is = ocspr_issuer_of(r, cid, md)) < 0 || *md < 0 ||
	    OCSP_id_get0_info(NULL, NULL, NULL, &ai, cid) != 1 ||
	    ocspr_serial_hex(ai, serial) != 0)
		return -1;
	return 0;
}

/* The fast path: the pre-signed answer for oreq's one CertID (SHA-1 or
 * SHA-256) when oreq has no nonce and the answer is fresh, remembering a
 * GET's exact bytes for next time; NULL when it must be signed live. */
static const struct ocspr_entry *
ocspr_cached(struct ocspr *r, struct evhttp_request *req, OCSP_REQUEST *oreq,
    int get)
{
	const struct ocspr_entry *e = NULL;
	char serial[OCSPR_SERIAL_MAX + 1];
	int is, md;

	if (ocspr_fast_key(r, oreq, &is, &md, serial) != 0)
		return NULL;
	if (get)
		ocspr_cache_alias_put(r->cache, ocspr_raw_path(req), is, md,
		    serial);
	e = ocspr_cache_get(r->cache, is, md, serial);
	/* Not in memory (evicted, or not read since start): the persistent
	 * store's answer, checked against the ledger. */
	if (e == NULL || e->next_update <= time(NULL))
		e = ocspr_from_store(r, is, md, serial);
	return e != NULL && e->next_update > time(NULL) ? e : NULL;
}

/* Signs oreq live on the worker (nonces, several CertIDs, a miss), or
 * answers why not (unauthorized, malformedRequest, tryLater).  Takes
 * oreq. */
static void
ocspr_live(struct ocspr *r, struct evhttp_request *req, OCSP_REQUEST *oreq)
{
	char serial[OCSPR_SERIAL_MAX + 1] = "";
	const struct ocspr_entry *e;
	struct ocspr_job *j;
	int md = -1, st;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		ocspr_reply_error(r, req, OCSP_RESPONSE_STATUS_INTERNALERROR);
		goto out;
	}
	j->kind = OCSPR_JOB_LIVE;
	j->r = r;
	if ((st = ocspr_classify(r, oreq, j, &md, serial)) != 0) {
		if (st == OCSP_RESPONSE_STATUS_UNAUTHORIZED)
			r->stats.unauthorized++;
		else if (st == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST)
			r->stats.malformed++;
		else
			r->stats.try_later++;
		ocspr_reply_error(r, req, st);
		goto out;
	}
	if (ocspr_worker_load(r->worker, OCSPR_JOB_LIVE) >= r->cfg.live_max) {
		r->stats.try_later++;
		ocspr_reply_error(r, req, OCSP_RESPONSE_STATUS_TRYLATER);
		goto out;
	}
	/* A known certificate missing from the cache (just issued, or the
	 * bridge just started), or whose answer expired (a downtime longer
	 * than the validity: the rest wait for the pace, issue 18): pre-sign
	 * it too, at once, for the next request. */
	if (j->ncid == 1 && serial[0] != '\0' &&
	    j->cid_st[0].state != OCSPR_NOT_ISSUED &&
	    ((e = ocspr_cache_get(r->cache, j->cid_issuer[0], 0, serial)) ==
	    NULL || e->next_update <= time(NULL)))
		ocspr_refresh(r, j->cid_issuer[0], serial);
	j->req = req;
	j->relay = r->relay;	/* answered on its own loop's thread */
	j->oreq = oreq;
	oreq = NULL;
	ocspr_worker_push(r->worker, j);
	j = NULL;
out:
	free(j);
	OCSP_REQUEST_free(oreq);
}

/* See ocsp.h. */
void
ocspr_handle(struct evhttp_request *req, void *arg)
{
	struct ocspr *r = arg;
	unsigned char buf[OCSPR_MAX_URI];
	const unsigned char *p = buf;
	const struct ocspr_entry *e;
	const struct ocspr_alias *a;
	OCSP_REQUEST *oreq = NULL;
	size_t len = 0;
	int get;

	r->stats.requests++;
	get = evhttp_request_get_command(req) != EVHTTP_REQ_POST;
	/* The fastest path: these exact GET bytes were parsed before. */
	if (get && (a = ocspr_cache_alias_get(r->cache,
	    ocspr_raw_path(req))) != NULL &&
	    (e = ocspr_cache_get(r->cache, a->issuer, a->md, a->serial)) !=
	    NULL && e->next_update > time(NULL)) {
		r->stats.cache_hits++;
		ocspr_reply_der(req, e->der, e->len, e, r->cfg.max_age);
		return;		/* nothing allocated, no OpenSSL call made */
	}
	if (ocspr_read(r, req, buf, sizeof(buf), &len) != 0)
		goto out;
	if (len == 0 || (oreq = d2i_OCSP_REQUEST(NULL, &p, (long)len)) ==
	    NULL || p != buf + len) {
		r->stats.malformed++;
		ocspr_reply_error(r, req, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
		goto out;
	}
	if ((e = ocspr_cached(r, req, oreq, get)) != NULL) {
		r->stats.cache_hits++;
		ocspr_reply_der(req, e->der, e->len, get ? e : NULL,
		    r->cfg.max_age);
		goto out;
	}
	r->stats.cache_misses++;
	ocspr_live(r, req, oreq);
	oreq = NULL;
out:
	OCSP_REQUEST_free(oreq);
	ERR_clear_error();
}
