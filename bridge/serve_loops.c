/*
 * serve_loops.c: keybridge.conf's ocsp_loops, more event loops for the
 * plain-HTTP listener (OCSP, CRLs, /metrics), so that OCSP answers use
 * more than one core (issue 18; docs/design.md "OCSP on several loops").
 *
 * Loop 0 is the main loop, with every listener as before.  Loops 1 ..
 * ocsp_loops - 1 each run on a thread of their own, with an event base,
 * a listening socket on http_listen (SO_REUSEPORT on every socket of the
 * address, so the kernel spreads the connections), a front door (strict
 * check, limits) and an observer slot of the metrics of their own: none
 * of that is shared, so none of it needs a lock.  What they share is the
 * pre-signed cache, read under its read lock (ocsp/loops.c).
 *
 * A request a loop cannot answer from the cache (a miss, a nonce, an
 * error, a CRL, /metrics, a CA certificate) is handed to the main loop,
 * which owns the ledger, the signer's worker and every statistic: the
 * loop puts it on the call queue, wakes the main loop and waits; the main
 * thread runs the route's handler on it (server_route_run) and says it is
 * done.  While the loop waits, its thread touches nothing, so the handler
 * may write the request's connection from the main thread (libevent's
 * bases are thread-enabled: a timer or write event added from there is
 * taken under the base's lock); the mutex orders the two threads' writes.
 * An answer the main loop gives later (a live signature) goes back to the
 * loop's thread (ocspr_loop_reply).  The wait is the price of not making
 * the ledger and the worker thread-safe: such requests are the rare ones.
 *
 * Connection limits: http_max_conns is split between the loops (loop 0's
 * share also holds the HTTPS listener's connections), so the bridge as a
 * whole stays below its descriptor budget; http_max_conns_per_addr holds
 * per loop (docs/operations.md "OCSP loops").
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "bridge/bridge.h"
#include "bridge/http/strict.h"

#define SERVE_LOOPS_TICK_SEC 1		/* limits' figures copied for /metrics */

enum serve_call_state { SC_QUEUED, SC_RUNNING, SC_DONE };

/* A request of a loop that the main loop answers (on the loop's stack
 * while it waits). */
struct serve_call {
	TAILQ_ENTRY(serve_call) link;
	struct serve_loop *lp;
	struct evhttp_request *req;
	int ocsp;			/* an OCSP route: ocspr_loop_relayed */
	enum serve_call_state state;
};

struct serve_loop {
	struct serve_loops *ls;
	int index;
	pthread_t thread;
	int started;
	struct event_base *base;
	struct server *http;
	struct limits *limits;
	struct ocspr_loop *ol;
	pthread_cond_t cv;		/* a call of this loop is done */
	struct event *stop, *tick, *reconf;
	/* Under ls->mu: the limits' figures as of the last tick, and a new
	 * configuration from SIGHUP. */
	struct limits_stats snap;
	uint64_t refused[HTTP_STRICT_NREASONS];
	struct limits_config newlc;
};

struct serve_loops {
	int n;				/* loops 1 .. n */
	struct serve_loop loop[OCSPR_MAX_LOOPS];
	struct server *main_http;	/* borrowed */
	pthread_mutex_t mu;
	TAILQ_HEAD(, serve_call) calls;
	struct event *wake;		/* on the main base: calls queued */
	int stopping;
};

/* ---- the loops' side --------------------------------------------------- */

/* Loop thread: the main loop answers req (see above), or, when the
 * bridge is stopping, a 503 does. */
static void
serve_loop_call(struct serve_loop *lp, struct evhttp_request *req, int ocsp)
{
	struct serve_loops *ls = lp->ls;
	struct serve_call c;
	struct evbuffer *b;
	int answered, listed = 0;

	memset(&c, 0, sizeof(c));
	c.lp = lp;
	c.req = req;
	c.ocsp = ocsp;
	c.state = SC_QUEUED;
	pthread_mutex_lock(&ls->mu);
	if (!ls->stopping) {
		TAILQ_INSERT_TAIL(&ls->calls, &c, link);
		listed = 1;
	}
	pthread_mutex_unlock(&ls->mu);
	event_active(ls->wake, EV_READ, 0);
	pthread_mutex_lock(&ls->mu);
	/* stopping is set by the main thread, never while it runs a call */
	while (c.state != SC_DONE && !ls->stopping)
		pthread_cond_wait(&lp->cv, &ls->mu);
	/* only the main thread takes a call off the queue (RUNNING) */
	if (c.state == SC_QUEUED && listed)
		TAILQ_REMOVE(&ls->calls, &c, link);
	answered = c.state == SC_DONE;
	pthread_mutex_unlock(&ls->mu);
	if (answered)
		return;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	if ((b = evbuffer_new()) != NULL)
		evbuffer_add_printf(b, "stopping\n");
	evhttp_send_reply(req, 503, "Service Unavailable", b);
	if (b != NULL)
		evbuffer_free(b);
}

/* The OCSP routes of a loop: the cache, else the main loop. */
static void
serve_loop_ocsp(struct evhttp_request *req, void *arg)
{
	struct serve_loop *lp = arg;

	if (ocspr_loop_answer(lp->ol, req) == 0)
		serve_loop_call(lp, req, 1);
}

/* The other routes of the plain listener: the main loop's handlers. */
static void
serve_loop_other(struct evhttp_request *req, void *arg)
{
	serve_loop_call(arg, req, 0);
}

static void
serve_loop_stop(evutil_socket_t fd, short what, void *arg)
{
	struct serve_loop *lp = arg;

	event_base_loopbreak(lp->base);
}

/* Every SERVE_LOOPS_TICK_SEC: the figures /metrics reads. */
static void
serve_loop_tick(evutil_socket_t fd, short what, void *arg)
{
	struct serve_loop *lp = arg;
	struct limits_stats st;
	uint64_t ref[HTTP_STRICT_NREASONS];

	limits_stats(lp->limits, &st);
	for (int r = 0; r < HTTP_STRICT_NREASONS; r++)
		ref[r] = server_refused(lp->http, r);
	pthread_mutex_lock(&lp->ls->mu);
	lp->snap = st;
	memcpy(lp->refused, ref, sizeof(ref));
	pthread_mutex_unlock(&lp->ls->mu);
}

/* SIGHUP's new deadlines, on the loop's own thread. */
static void
serve_loop_reconf(evutil_socket_t fd, short what, void *arg)
{
	struct serve_loop *lp = arg;
	struct limits_config lc;

	pthread_mutex_lock(&lp->ls->mu);
	lc = lp->newlc;
	pthread_mutex_unlock(&lp->ls->mu);
	limits_reconfigure(lp->limits, &lc);
	server_limits_changed(lp->http);
}

static void *
serve_loop_main(void *arg)
{
	struct serve_loop *lp = arg;

	if (event_base_dispatch(lp->base) < 0)
		log_err("ocsp loop %d: the event loop failed", lp->index);
	return NULL;
}

/* ---- the main loop's side ---------------------------------------------- */

/* Main thread: runs the calls the loops queued. */
static void
serve_loops_drain(evutil_socket_t fd, short what, void *arg)
{
	struct serve_loops *ls = arg;
	struct serve_call *c;

	for (;;) {
		pthread_mutex_lock(&ls->mu);
		if ((c = TAILQ_FIRST(&ls->calls)) != NULL) {
			TAILQ_REMOVE(&ls->calls, c, link);
			c->state = SC_RUNNING;
		}
		pthread_mutex_unlock(&ls->mu);
		if (c == NULL)
			break;
		if (c->ocsp)
			ocspr_loop_relayed(c->lp->ol, c->req);
		else if (server_route_run(ls->main_http, c->req) != 0)
			server_reply_error(c->req, 404, "not_found",
			    "no such route");
		pthread_mutex_lock(&ls->mu);
		c->state = SC_DONE;
		pthread_cond_signal(&c->lp->cv);
		pthread_mutex_unlock(&ls->mu);	/* c is gone from here */
	}
}

/* Loop lp: base, listener on listen (the main one's address and bound
 * port), its front door and routes.  0, or -1 with err set. */
static int
serve_loop_open(struct serve_loops *ls, struct serve_loop *lp,
    struct ocspr *r, const char *listen, size_t hard,
    const struct limits_config *lc, char *err, size_t errlen)
{
	struct timeval tick = { SERVE_LOOPS_TICK_SEC, 0 };
	const char *path;
	size_t i;

	if ((lp->base = serve_event_base()) == NULL ||
	    (lp->limits = limits_new(lp->base, lc)) == NULL ||
	    (lp->ol = ocspr_loop_new(r, lp->base, lp->index)) == NULL ||
	    (lp->stop = event_new(lp->base, -1, 0, serve_loop_stop,
	    lp)) == NULL || (lp->reconf = event_new(lp->base, -1, 0,
	    serve_loop_reconf, lp)) == NULL || (lp->tick = event_new(lp->base,
	    -1, EV_PERSIST, serve_loop_tick, lp)) == NULL ||
	    event_add(lp->tick, &tick) != 0) {
		snprintf(err, errlen, "ocsp loop %d: out of memory", lp->index);
		return -1;
	}
	if ((lp->http = server_new_reuseport(lp->base, listen, NULL, hard, err,
	    errlen)) == NULL)
		return -1;
	if (server_set_limits(lp->http, lp->limits, listen) != 0) {
		snprintf(err, errlen, "ocsp loop %d: cannot limit its "
		    "connections", lp->index);
		return -1;
	}
	server_set_quiet(lp->http, 1);
	server_set_body_limit(lp->http, OCSPR_MAX_BODY);
	/* The main listener's routes, the OCSP ones answered here first. */
	for (i = 0; (path = server_route_at(ls->main_http, i)) != NULL; i++)
		if (server_route(lp->http, path, server_family_of(path) ==
		    SERVER_OCSP ? serve_loop_ocsp : serve_loop_other,
		    lp) != 0) {
			snprintf(err, errlen, "ocsp loop %d: cannot add route "
			    "%s", lp->index, path);
			return -1;
		}
	return 0;
}

/* See bridge.h. */
long
serve_loops_share(long max_conns, long nloops, long *main_share)
{
	long share = nloops > 1 ? max_conns / nloops : max_conns;

	if (share < 1)
		share = 1;
	*main_share = max_conns - (nloops - 1) * share;
	if (*main_share < 1)
		*main_share = 1;
	return share;
}

/* See bridge.h. */
struct serve_loops *
serve_loops_new(struct event_base *main_base, struct server *main_http,
    struct ocspr *r, const char *http_listen, int nloops, size_t hard,
    const struct limits_config *lc, char *err, size_t errlen)
{
	struct serve_loops *ls;
	struct limits_config llc = *lc;
	char listen[300];
	const char *colon = strrchr(http_listen, ':');
	long main_share;

	if (nloops < 2 || nloops > OCSPR_MAX_LOOPS || colon == NULL) {
		snprintf(err, errlen, "ocsp_loops: between 1 and %d",
		    OCSPR_MAX_LOOPS);
		return NULL;
	}
	if ((ls = calloc(1, sizeof(*ls))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&ls->mu, NULL);
	TAILQ_INIT(&ls->calls);
	ls->main_http = main_http;
	/* the main socket's port (http_listen may say port 0) */
	snprintf(listen, sizeof(listen), "%.*s:%d",
	    (int)(colon - http_listen), http_listen, server_port(main_http));
	llc.max_conns = serve_loops_share(lc->max_conns, nloops, &main_share);
	if ((ls->wake = event_new(main_base, -1, 0, serve_loops_drain,
	    ls)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (int i = 1; i < nloops; i++) {
		struct serve_loop *lp = &ls->loop[i];

		lp->ls = ls;
		lp->index = i;
		pthread_cond_init(&lp->cv, NULL);
		ls->n = i;
		if (serve_loop_open(ls, lp, r, listen, hard, &llc, err,
		    errlen) != 0)
			goto fail;
	}
	return ls;
fail:
	serve_loops_free(ls);
	return NULL;
}

/* See bridge.h. */
int
serve_loops_start(struct serve_loops *ls, struct metrics *m)
{
	for (int i = 1; i <= ls->n; i++) {
		struct serve_loop *lp = &ls->loop[i];

		server_set_observer(lp->http, metrics_observe,
		    metrics_observer_arg(m, i));
		if (pthread_create(&lp->thread, NULL, serve_loop_main,
		    lp) != 0) {
			log_err("ocsp loop %d: cannot start its thread", i);
			return -1;
		}
		lp->started = 1;
	}
	return 0;
}

/* See bridge.h. */
void
serve_loops_reconfigure(struct serve_loops *ls, const struct limits_config *lc)
{
	long main_share;

	if (ls == NULL)
		return;
	for (int i = 1; i <= ls->n; i++) {
		pthread_mutex_lock(&ls->mu);
		ls->loop[i].newlc = *lc;
		ls->loop[i].newlc.max_conns = serve_loops_share(lc->max_conns,
		    ls->n + 1, &main_share);
		pthread_mutex_unlock(&ls->mu);
		event_active(ls->loop[i].reconf, EV_READ, 0);
	}
}

/* See bridge.h. */
void
serve_loops_stats(struct serve_loops *ls, struct limits_stats *sum,
    uint64_t *refused)
{
	if (ls == NULL)
		return;
	pthread_mutex_lock(&ls->mu);
	for (int i = 1; i <= ls->n; i++) {
		const struct serve_loop *lp = &ls->loop[i];

		sum->conns += lp->snap.conns;
		sum->max_conns += lp->snap.max_conns;
		for (int k = 0; k < LIMITS_NWHY; k++)
			sum->closed[k] += lp->snap.closed[k];
		sum->accept_pauses += lp->snap.accept_pauses;
		for (int r = 0; refused != NULL && r < HTTP_STRICT_NREASONS;
		    r++)
			refused[r] += lp->refused[r];
	}
	pthread_mutex_unlock(&ls->mu);
}

/* See bridge.h. */
void
serve_loops_stop(struct serve_loops *ls)
{
	if (ls == NULL)
		return;
	pthread_mutex_lock(&ls->mu);
	ls->stopping = 1;
	for (int i = 1; i <= ls->n; i++)
		pthread_cond_signal(&ls->loop[i].cv);
	pthread_mutex_unlock(&ls->mu);
	for (int i = 1; i <= ls->n; i++) {
		struct serve_loop *lp = &ls->loop[i];

		if (!lp->started)
			continue;
		/* an event, not event_base_loopbreak: a break before the
		 * loop first runs would be forgotten */
		event_active(lp->stop, EV_READ, 0);
		pthread_join(lp->thread, NULL);
		lp->started = 0;
	}
}

/* See bridge.h. */
void
serve_loops_free(struct serve_loops *ls)
{
	if (ls == NULL)
		return;
	serve_loops_stop(ls);
	for (int i = 1; i <= ls->n; i++) {
		struct serve_loop *lp = &ls->loop[i];

		/* answers signed for it are sent while its connections are
		 * there */
		ocspr_loop_free(lp->ol);
		server_free(lp->http);
		limits_free(lp->limits);
		if (lp->stop != NULL)
			event_free(lp->stop);
		if (lp->tick != NULL)
			event_free(lp->tick);
		if (lp->reconf != NULL)
			event_free(lp->reconf);
		if (lp->base != NULL)
			event_base_free(lp->base);
		pthread_cond_destroy(&lp->cv);
	}
	if (ls->wake != NULL)
		event_free(ls->wake);
	pthread_mutex_destroy(&ls->mu);
	free(ls);
}
