/*
 * loops.c: the OCSP loops past the first (keybridge.conf ocsp_loops,
 * docs/design.md "OCSP on several loops").
 *
 * Each loop runs on its own thread with its own listening socket (bound
 * with SO_REUSEPORT by bridge/serve_loops.c: the kernel spreads the
 * connections).  A loop answers what the pre-signed cache answers, the
 * bulk of OCSP traffic: a GET whose exact bytes it has seen before (its
 * own alias memory, so no lock), or a request of one CertID without a
 * nonce whose answer is cached and fresh.  The cache is the responder's,
 * read under its read lock with a reference taken (ocspr_cache_get1).  A
 * GET alias also remembers the entry it led to and the cache's
 * generation then (ocspr_cache_gen): while no put or drop has happened
 * since, the entry is the one a lookup would find, and the lock and the
 * lookup are skipped.  A revocation drops the entries and moves the
 * generation before the main loop goes on, so it is seen by every loop
 * at once.  The price: an alias pins its entry (a reference) until it is
 * asked for again or forgotten, at most OCSPR_ALIAS_MAX per loop.
 *
 * Everything else goes to the main loop, which owns the ledger, the
 * worker and the statistics: the loop's thread waits while the main
 * thread runs ocspr_handle on the request (ocspr_loop_relayed; the loop
 * touches nothing of the request's meanwhile).  An answer signed later
 * (a nonce, a miss) comes back to the loop's own thread through its
 * reply queue, since only that thread may write its connections.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>

#include "ocsp/ocsp_int.h"

/* A live answer waiting for its loop's thread. */
struct ocspr_loop_reply {
	TAILQ_ENTRY(ocspr_loop_reply) link;
	struct evhttp_request *req;
	unsigned char *der;
	size_t len;
};
TAILQ_HEAD(ocspr_replyq, ocspr_loop_reply);

struct ocspr_loop {
	struct ocspr *r;		/* NULL once r is freed */
	int index;
	struct ocspr_cache *aliases;	/* this loop's GET paths only */
	/* Written by the loop's thread only, read by /metrics: relaxed
	 * atomics, no shared cache line with another loop's. */
	_Atomic uint64_t requests, local;
	pthread_mutex_t mu;
	struct ocspr_replyq replies;
	struct event *wake;		/* on the loop's base */
};

/* One more on a counter only this thread writes: a plain load and store,
 * no locked instruction. */
static void
ocspr_loop_count(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
	    memory_order_relaxed) + 1, memory_order_relaxed);
}

/* Loop thread: sends the live answers the main loop has queued. */
static void
ocspr_loop_drain(evutil_socket_t fd, short what, void *arg)
{
	struct ocspr_loop *l = arg;
	struct ocspr_replyq q;
	struct ocspr_loop_reply *p;

	TAILQ_INIT(&q);
	pthread_mutex_lock(&l->mu);
	TAILQ_CONCAT(&q, &l->replies, link);
	pthread_mutex_unlock(&l->mu);
	while ((p = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, p, link);
		ocspr_reply_der(p->req, p->der, p->len, NULL, 0);
		free(p->der);
		free(p);
	}
}

/* See ocsp_int.h.  Without memory the request stays unanswered until its
 * client gives up, as a lost signature would leave it. */
void
ocspr_loop_reply(struct ocspr_loop *l, struct evhttp_request *req,
    const unsigned char *der, size_t len)
{
	struct ocspr_loop_reply *p;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->der = malloc(len > 0 ? len : 1)) == NULL) {
		free(p);
		return;
	}
	memcpy(p->der, der, len);
	p->len = len;
	p->req = req;
	pthread_mutex_lock(&l->mu);
	TAILQ_INSERT_TAIL(&l->replies, p, link);
	pthread_mutex_unlock(&l->mu);
	event_active(l->wake, EV_READ, 0);
}

/* See ocsp.h. */
struct ocspr_loop *
ocspr_loop_new(struct ocspr *r, struct event_base *base, int index)
{
	struct ocspr_loop *l;

	if (index < 1 || index >= OCSPR_MAX_LOOPS || r->loops[index] != NULL ||
	    (l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->r = r;
	l->index = index;
	TAILQ_INIT(&l->replies);
	pthread_mutex_init(&l->mu, NULL);
	if ((l->aliases = ocspr_cache_new(0)) == NULL ||
	    (l->wake = event_new(base, -1, 0, ocspr_loop_drain, l)) == NULL) {
		ocspr_loop_free(l);
		return NULL;
	}
	r->loops[index] = l;
	return l;
}

/* See ocsp_int.h. */
void
ocspr_loop_detach(struct ocspr_loop *l)
{
	l->r = NULL;
}

/* See ocsp.h. */
void
ocspr_loop_free(struct ocspr_loop *l)
{
	if (l == NULL)
		return;
	if (l->r != NULL && l->r->loops[l->index] == l)
		l->r->loops[l->index] = NULL;
	/* its thread has ended: this one may write its connections */
	ocspr_loop_drain(-1, 0, l);
	if (l->wake != NULL)
		event_free(l->wake);
	ocspr_cache_free(l->aliases);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* See ocsp_int.h. */
void
ocspr_loop_counts(struct ocspr_loop *l, uint64_t *requests, uint64_t *local)
{
	*requests = atomic_load_explicit(&l->requests, memory_order_relaxed);
	*local = atomic_load_explicit(&l->local, memory_order_relaxed);
}

/* The request's DER into buf, without consuming the body (the main loop
 * reads it again if this loop cannot answer).  0, or -1 when the main
 * loop must look at it (anything but a plain GET or POST of base64 or
 * DER it can decode: ocspr_handle answers errors the one way). */
static int
ocspr_loop_der(struct evhttp_request *req, unsigned char *buf, size_t cap,
    size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *p;
	size_t plen = strlen("/ocsp");

	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_POST:
		*len = evbuffer_get_length(in);
		if (*len == 0 || *len > OCSPR_MAX_BODY || *len > cap ||
		    evbuffer_copyout(in, buf, *len) != (ev_ssize_t)*len)
			return -1;
		return 0;
	case EVHTTP_REQ_GET:
		p = ocspr_raw_path(req);
		if (strncmp(p, "/ocsp", plen) == 0 && (p[plen] == '/' ||
		    p[plen] == '\0'))
			p += plen;
		else if (strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789+/=%") != strlen(p))
			return -1;	/* a 404 at the root: ocspr_handle's */
		if (strspn(p, "/") == strlen(p))
			return -1;
		return ocspr_get_decode(p, buf, cap, len) == 0 && *len > 0 ?
		    0 : -1;
	default:
		return -1;
	}
}

/* The cached answer for oreq (one CertID, no nonce), with a reference
 * (get1), remembering a GET's path in this loop's aliases; or NULL. */
static struct ocspr_entry *
ocspr_loop_lookup(struct ocspr_loop *l, struct ocspr *r,
    struct evhttp_request *req, OCSP_REQUEST *oreq, int get)
{
	char serial[OCSPR_SERIAL_MAX + 1];
	int is, md;

	if (ocspr_fast_key(r, oreq, &is, &md, serial) != 0)
		return NULL;
	if (get)
		ocspr_cache_alias_put(l->aliases, ocspr_raw_path(req), is, md,
		    serial);
	return ocspr_cache_get1(r->cache, is, md, serial);
}

/* See ocsp.h. */
int
ocspr_loop_answer(struct ocspr_loop *l, struct evhttp_request *req)
{
	struct ocspr *r = l->r;
	unsigned char buf[OCSPR_MAX_URI];
	const unsigned char *p = buf;
	const struct ocspr_alias *a;
	struct ocspr_entry *e = NULL;
	OCSP_REQUEST *oreq = NULL;
	size_t len = 0;
	int get, done = 0;

	ocspr_loop_count(&l->requests);
	if (r == NULL)
		return 0;
	get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;
	/* The fastest path, as the main loop's: these exact GET bytes, and
	 * the entry found for them last time while the cache has not moved
	 * since (one load of a line the other loops only read: no lock, no
	 * lookup); else a lookup, remembered. */
	if (get && (a = ocspr_cache_alias_get(l->aliases,
	    ocspr_raw_path(req))) != NULL) {
		struct ocspr_alias *m = (struct ocspr_alias *)a;	/* ours */
		uint64_t gen = ocspr_cache_gen(r->cache);

		if (m->memo == NULL || m->memo_gen != gen) {
			ocspr_entry_free(m->memo);
			m->memo = ocspr_cache_get1(r->cache, a->issuer, a->md,
			    a->serial);
			m->memo_gen = gen;
		}
		if ((e = m->memo) != NULL)
			e->refs++;	/* released below, as a get1's */
	}
	if (e == NULL && ocspr_loop_der(req, buf, sizeof(buf), &len) == 0 &&
	    (oreq = d2i_OCSP_REQUEST(NULL, &p, (long)len)) != NULL &&
	    p == buf + len)
		e = ocspr_loop_lookup(l, r, req, oreq, get);
	if (e != NULL && e->next_update > time(NULL)) {
		ocspr_loop_count(&l->local);
		ocspr_reply_der(req, e->der, e->len, get ? e : NULL,
		    r->cfg.max_age);
		done = 1;
	}
	ocspr_entry_free(e);
	OCSP_REQUEST_free(oreq);
	ERR_clear_error();
	return done;
}

/* See ocsp.h. */
void
ocspr_loop_relayed(struct ocspr_loop *l, struct evhttp_request *req)
{
	struct ocspr *r = l->r;

	if (r == NULL) {
		ocspr_http_refuse(req, 503, "Service Unavailable",
		    "OCSP: stopping");
		return;
	}
	r->relayed++;
	r->relay = l;
	ocspr_handle(req, r);
	r->relay = NULL;
}
