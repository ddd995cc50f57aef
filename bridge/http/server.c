/*
 * server.c: the HTTP(S) listeners, on libevent's evhttp.
 *
 * One struct server is one listening socket with its evhttp.  TLS follows
 * libevent's sample/https-server.c: evhttp_set_bevcb() hands evhttp a
 * bufferevent_openssl in the accepting state for every new connection, and
 * that bufferevent owns (and frees) the SSL object.
 *
 * Routing is a small table with longest-prefix match, served from one
 * evhttp "generic" callback so that an unknown path gets our JSON 404 rather
 * than evhttp's HTML one.  Every request that reaches the dispatcher gets
 * a request id, returned in X-Request-Id, and is logged once with it
 * (log_request: the main log or the access log), after its reply has been
 * written (evhttp's on-complete callback), or when its connection closes
 * before that.
 *
 * Every byte a client sends is checked before evhttp parses it, by the
 * strict front check (front.c, strict.c; docs/design.md "Front door:
 * strict framing"): a request it refuses reaches the dispatcher as a
 * stand-in (front_standin) that is answered here, with the API's JSON
 * error or, on EST, OCSP and CRL routes, one line of text, so evhttp's
 * own HTML error pages (libevent 2.1 has no evhttp_set_errorcb) are not
 * reached by anything the front knows of: methods, versions, header
 * sizes, declared bodies over a route's limit (server_route_limit),
 * chunk extensions and trailers, targets evhttp's URI parser refuses.
 *
 * Query strings are parsed here, strictly (http.h), for every handler.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "bridge/http/front.h"
#include "bridge/http/http.h"

#define SERVER_MAX_HEADERS	(16 * 1024)	/* bytes of request headers */
#define SERVER_TIMEOUT		30		/* seconds: read, write, idle */
#define SERVER_MAX_ROUTES	64
#define SERVER_LOG_PATH		256		/* bytes of path kept for the log */
#define SERVER_ECHO_PATH	200		/* bytes of a path echoed back */

struct server_route_ent {
	char *path;
	size_t len;
	int prefix;		/* path ends in '/': match as a prefix */
	int group;		/* server_family_of(path) */
	int head;		/* answers HEAD itself (server_route_head) */
	size_t max_body;	/* declared body limit; 0: the server's */
	server_handler h;
	void *arg;
};

/* One in-flight request, from dispatch to its log line. */
struct server_reqlog {
	TAILQ_ENTRY(server_reqlog) next;
	struct server *s;
	struct evhttp_connection *evcon;	/* to sweep on close */
	struct timespec t0;
	const char *method;			/* static string */
	const char *route;			/* the route's path, or NULL */
	int group;				/* the route's family */
	int log;				/* write the request line */
	struct evhttp_request *req;
	void (*on_close)(void *);		/* server_req_on_close */
	void *on_close_arg;
	char path[SERVER_LOG_PATH];
	char peer[64];
	char id[LOG_REQID_MAX];			/* X-Request-Id */
};

struct server {
	struct event_base *base;	/* borrowed */
	struct evhttp *http;
	struct evhttp_bound_socket *bound;	/* owned by http */
	SSL_CTX *tls;			/* borrowed */
	const char *name;		/* "https" or "http", for the log */
	struct server_route_ent routes[SERVER_MAX_ROUTES];
	size_t nroutes;
	int quiet;			/* request lines at debug only */
	int plain;			/* every refusal as text */
	/* server_set_observer: told of every answered request */
	void (*observe)(void *, int, int, double);
	char *root_redirect;		/* server_set_root_redirect */
	void *observe_arg;
	TAILQ_HEAD(, server_reqlog) inflight;
	struct limits *limits;		/* borrowed; NULL: none */
	struct front *front;		/* the strict check (front.c) */
	size_t max_body;		/* evhttp's hard body limit */
	size_t body_limit;		/* routes' default declared limit */
};

static void server_conn_closed(struct evhttp_connection *evcon, void *arg);

/* ---- TLS (server_tls_ctx is in server_tls.c) --------------------------- */

/*
 * evhttp's bevcb: a fresh TLS bufferevent for an accepted connection.  The
 * bufferevent takes ownership of the SSL (freed with it, BEV_OPT_CLOSE_ON_FREE
 * also closes the socket that evhttp sets on it).
 *
 * Returning NULL is not an option: evhttp 2.1 then falls back to a plain
 * socket bufferevent and would speak cleartext HTTP on the TLS port.  The
 * only failure here is memory exhaustion, so we stop rather than fail open.
 */
static struct bufferevent *
server_bevcb(struct event_base *base, void *arg)
{
	struct server *s = arg;
	struct bufferevent *bev = NULL;
	SSL *ssl = NULL;

	if ((ssl = SSL_new(s->tls)) == NULL)
		goto fail;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		goto fail;
	/* owns ssl now; the front check reads ahead of evhttp, then
	 * limits.c times the connection (not tracked: limits_conn_new
	 * logged nothing; no memory for its record is like none for its
	 * SSL) */
	if (front_watch(s->front, bev) != 0 || (s->limits != NULL &&
	    limits_conn_new(s->limits, bev, 1, server_conn_closed, s) != 0)) {
		bufferevent_free(bev);
		ssl = NULL;
		goto fail;
	}
	return bev;
fail:
	SSL_free(ssl);
	log_openssl("server: cannot set up TLS for a connection");
	log_err("server: out of memory accepting a TLS connection");
	abort();
}

/* evhttp's bevcb on the plain listener: a socket bufferevent that the
 * front check reads ahead of evhttp and limits.c times.  Never NULL (evhttp
 * would make an unchecked one): without memory the process stops, as in
 * server_bevcb. */
static struct bufferevent *
server_bevcb_plain(struct event_base *base, void *arg)
{
	struct server *s = arg;
	struct bufferevent *bev;

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL || front_watch(s->front, bev) != 0 || (s->limits != NULL &&
	    limits_conn_new(s->limits, bev, 0, server_conn_closed, s) != 0)) {
		log_err("server: out of memory accepting a connection");
		abort();
	}
	return bev;
}

/* ---- request log ------------------------------------------------------- */

static double
server_elapsed_s(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The request line of rl: status 0 when its connection closed before
 * the reply; bytes the Content-Length sent (NULL: none).  At info, or at
 * debug on a quiet listener (OCSP's and CRLs', issue 13). */
static void
server_log_request(const struct server_reqlog *rl, int status,
    const char *bytes)
{
	struct log_request lr;

	lr.id = rl->id;
	lr.client = rl->peer;
	lr.listener = rl->s->name;
	lr.method = rl->method;
	lr.path = rl->path;
	lr.route = rl->route;
	lr.status = status;
	lr.bytes = bytes;
	lr.ms = server_elapsed_s(&rl->t0) * 1000;
	log_request(rl->s->quiet ? LOGL_DEBUG : LOGL_INFO, &lr);
}

static void
server_reqlog_free(struct server_reqlog *rl)
{
	TAILQ_REMOVE(&rl->s->inflight, rl, next);
	free(rl);
}

/* evhttp on-complete callback: the reply has been written.  req is still
 * valid here; evhttp frees it right after. */
static void
server_log_complete(struct evhttp_request *req, void *arg)
{
	struct server_reqlog *rl = arg;
	const char *cl;

	if (rl->s->limits != NULL && evhttp_request_get_connection(req))
		limits_req_done(rl->s->limits,
		    evhttp_request_get_connection(req));
	if (rl->s->observe != NULL)
		rl->s->observe(rl->s->observe_arg, rl->group,
		    evhttp_request_get_response_code(req),
		    server_elapsed_s(&rl->t0));
	if (rl->log) {
		cl = evhttp_find_header(evhttp_request_get_output_headers(req),
		    "Content-Length");
		server_log_request(rl, evhttp_request_get_response_code(req),
		    cl);
	}
	server_reqlog_free(rl);
}

/*
 * evhttp close callback of an incoming connection.  Requests on it that
 * have not completed never will: evhttp frees them without calling the
 * on-complete callback (a deferred request is detached, req->evcon = NULL,
 * and freed by its eventual evhttp_send_reply).  Log and forget them here;
 * their evhttp_request must not be touched.
 */
static void
server_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct server *s = arg;
	struct server_reqlog *rl, *tmp;

	if (s->limits != NULL)
		limits_conn_closed(s->limits, evcon);
	for (rl = TAILQ_FIRST(&s->inflight); rl != NULL; rl = tmp) {
		tmp = TAILQ_NEXT(rl, next);
		if (rl->evcon != evcon)
			continue;
		if (rl->on_close != NULL)
			rl->on_close(rl->on_close_arg);
		if (rl->log)
			server_log_request(rl, 0, NULL);
		server_reqlog_free(rl);
	}
}

/* On-complete callback of a request that has no log record. */
static void
server_req_done(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;

	if (evhttp_request_get_connection(req) != NULL)
		limits_req_done(s->limits, evhttp_request_get_connection(req));
}

/* Starts the log record of req, whose id is id and matched route r
 * (NULL: none).  Without memory the request is served unlogged.  0 when
 * req has its on-complete callback, -1 when not. */
static int
server_reqlog_start(struct server *s, struct evhttp_request *req,
    const char *path, const char *id, const struct server_route_ent *r,
    int log)
{
	struct server_reqlog *rl;
	struct evhttp_connection *evcon;
	char *addr = NULL;
	ev_uint16_t port = 0;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return -1;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return -1;
	rl->s = s;
	rl->evcon = evcon;
	rl->req = req;
	clock_gettime(CLOCK_MONOTONIC, &rl->t0);
	rl->group = r != NULL ? r->group : SERVER_OTHER;
	rl->route = r != NULL ? r->path : NULL;
	rl->log = log;
	memcpy(rl->id, id, sizeof(rl->id));
	rl->method = server_method_name(evhttp_request_get_command(req));
	if (log) {
		server_log_copy(rl->path, sizeof(rl->path), path);
		evhttp_connection_get_peer(evcon, &addr, &port);
		snprintf(rl->peer, sizeof(rl->peer), "%s", addr ? addr : "-");
	}
	TAILQ_INSERT_TAIL(&s->inflight, rl, next);
	evhttp_request_set_on_complete_cb(req, server_log_complete, rl);
	evhttp_connection_set_closecb(evcon, server_conn_closed, s);
	return 0;
}

/* ---- routing ----------------------------------------------------------- */

/* The request's path without query; never NULL. */
static const char *
server_req_path(struct evhttp_request *req)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *p = u ? evhttp_uri_get_path(u) : NULL;

	return (p != NULL && *p != '\0') ? p : "/";
}

/* The longest registered path matching p, or NULL. */
static const struct server_route_ent *
server_match(const struct server *s, const char *p)
{
	const struct server_route_ent *best = NULL, *r;
	size_t i;

	for (i = 0; i < s->nroutes; i++) {
		r = &s->routes[i];
		if (r->prefix ? strncmp(p, r->path, r->len) != 0 :
		    strcmp(p, r->path) != 0)
			continue;
		if (best == NULL || r->len > best->len)
			best = r;
	}
	return best;
}

/* The answer to a request the front check refused: the API's JSON error,
 * or one line of text on the routes that answer so (EST, OCSP, CRLs). */
static void
server_reply_refusal(struct evhttp_request *req, const struct front_refusal *fr)
{
	int status = http_strict_reason_status(fr->reason);
	struct evbuffer *b;
	char msg[SERVER_ERRMSG];

	if (fr->limit > 0 && fr->reason == HTTP_STRICT_BODY_TOO_LARGE)
		snprintf(msg, sizeof(msg), "%s (%llu bytes)",
		    http_strict_reason_text(fr->reason),
		    (unsigned long long)fr->limit);
	else
		snprintf(msg, sizeof(msg), "%s",
		    http_strict_reason_text(fr->reason));
	if (!fr->plain) {
		server_reply_error(req, status,
		    http_strict_reason_name(fr->reason), "%s", msg);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	if ((b = evbuffer_new()) == NULL ||
	    evbuffer_add_printf(b, "%s\n", msg) < 0)
		server_send_reply(req, status, server_reason(status), NULL);
	else
		server_send_reply(req, status, server_reason(status), b);
	if (b != NULL)
		evbuffer_free(b);
}

static void
server_dispatch(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	const struct server_route_ent *r;
	const char *path = server_req_path(req);
	int log, done = -1;
	struct front_refusal fr;
	char echo[SERVER_ECHO_PATH], id[LOG_REQID_MAX];

	/* Every answer carries its id: a client's complaint quoting it
	 * finds the request's log line. */
	log_request_id(id, sizeof(id));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "X-Request-Id", id);
	log = log_access_on() || !s->quiet || log_verbosity >= LOGL_DEBUG;

	/* The head and body are in: no deadline while the handler runs
	 * (limits.c), the keep-alive one once the reply is written. */
	if (s->limits != NULL && evhttp_request_get_connection(req) != NULL)
		limits_req_started(s->limits,
		    evhttp_request_get_connection(req));
	/* A request the front check refused (logged there, once, and in
	 * the access log); its connection closes after the answer. */
	if (front_standin(s->front, req, &fr)) {
		if (s->observe != NULL || log_access_on())
			server_reqlog_start(s, req, path, id, NULL,
			    log_access_on());
		fr.plain = fr.plain || s->plain;	/* unrouted too */
		server_reply_refusal(req, &fr);
		return;
	}
	r = server_match(s, path);
	/* A record per request for the log line and the observer; a quiet
	 * listener without an observer needs none. */
	if (log || s->observe != NULL)
		done = server_reqlog_start(s, req, path, id, r, log);
	if (done != 0 && s->limits != NULL)
		evhttp_request_set_on_complete_cb(req, server_req_done, s);
	if (r == NULL && s->root_redirect != NULL && strcmp(path, "/") == 0 &&
	    (evhttp_request_get_command(req) == EVHTTP_REQ_GET ||
	    evhttp_request_get_command(req) == EVHTTP_REQ_HEAD)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Location", s->root_redirect);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Cache-Control", "no-cache");
		server_send_reply(req, HTTP_MOVETEMP, "Found", NULL);
		return;
	}
	if (r == NULL) {
		server_escape(echo, sizeof(echo), path, strlen(path));
		server_reply_error(req, HTTP_NOTFOUND, "not_found",
		    "no route for %s", echo);
		return;
	}
	/* evhttp 2.1 sends a HEAD reply's body (and no Content-Length):
	 * only routes whose replies go through server_send_reply, which
	 * strips it, take HEAD; the others say so instead of desyncing a
	 * kept-alive connection. */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD && !r->head) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", r->group == SERVER_OCSP ||
		    r->group == SERVER_EST ? "GET, POST" : "GET");
		server_reply_error(req, 405, "method_not_allowed",
		    "HEAD is not served here; use GET");
		return;
	}
	r->h(req, r->arg);
}

int
server_route_run(struct server *s, struct evhttp_request *req)
{
	const struct server_route_ent *r = server_match(s,
	    server_req_path(req));

	if (r == NULL)
		return -1;
	r->h(req, r->arg);
	return 0;
}

const char *
server_route_at(const struct server *s, size_t i)
{
	return i < s->nroutes ? s->routes[i].path : NULL;
}

void
server_set_quiet(struct server *s, int quiet)
{
	s->quiet = quiet;
}

void
server_set_plain(struct server *s, int plain)
{
	s->plain = plain;
}

int
server_set_root_redirect(struct server *s, const char *location)
{
	char *dup = NULL;

	if (location != NULL && (dup = strdup(location)) == NULL)
		return -1;
	free(s->root_redirect);
	s->root_redirect = dup;
	return 0;
}

int
server_req_on_close(struct server *s, struct evhttp_request *req,
    void (*fn)(void *), void *arg)
{
	struct server_reqlog *rl;

	TAILQ_FOREACH(rl, &s->inflight, next)
		if (rl->req == req) {
			rl->on_close = fn;
			rl->on_close_arg = arg;
			return 0;
		}
	return -1;
}

int
server_family_of(const char *route)
{
	if (strncmp(route, "/.well-known/est", 16) == 0)
		return SERVER_EST;
	if (strncmp(route, "/api/", 5) == 0)
		return SERVER_API;
	if (strncmp(route, "/crl/", 5) == 0)
		return SERVER_CRL;
	if (strcmp(route, "/ocsp") == 0 || strcmp(route, "/ocsp/") == 0 ||
	    strcmp(route, "/") == 0)
		return SERVER_OCSP;
	return SERVER_OTHER;
}

void
server_set_observer(struct server *s,
    void (*fn)(void *arg, int family, int code, double seconds), void *arg)
{
	s->observe = fn;
	s->observe_arg = arg;
}

int
server_route(struct server *s, const char *path, server_handler h,
    void *arg)
{
	struct server_route_ent *r;
	size_t len = strlen(path);

	if (s->nroutes >= SERVER_MAX_ROUTES || len == 0 || path[0] != '/')
		return -1;
	r = &s->routes[s->nroutes];
	if ((r->path = strdup(path)) == NULL)
		return -1;
	r->len = len;
	r->prefix = path[len - 1] == '/';
	r->group = server_family_of(path);
	r->h = h;
	r->arg = arg;
	s->nroutes++;
	return 0;
}

int
server_route_head(struct server *s, const char *path, server_handler h,
    void *arg)
{
	if (server_route(s, path, h, arg) != 0)
		return -1;
	s->routes[s->nroutes - 1].head = 1;
	return 0;
}

/* ---- strict framing's hooks (front.c) ---------------------------------- */

/* front_limit_fn: the declared body limit of path's route, and whether
 * the route answers errors as text (EST, OCSP and CRLs do). */
static int
server_limit_of(void *arg, const char *path, uint64_t *max, int *plain)
{
	struct server *s = arg;
	const struct server_route_ent *r = server_match(s, path);

	*max = r != NULL && r->max_body > 0 ? r->max_body : s->body_limit;
	*plain = s->plain || (r != NULL && (r->group == SERVER_EST ||
	    r->group == SERVER_OCSP || r->group == SERVER_CRL));
	return 0;
}

/* evhttp's own limit stays at least every route's, so that a body the
 * front passed is never cut by evhttp's HTML 413. */
static void
server_raise_hard_limit(struct server *s, size_t max)
{
	if (max > s->max_body) {
		s->max_body = max;
		evhttp_set_max_body_size(s->http, (ev_ssize_t)max);
	}
}

void
server_set_body_limit(struct server *s, size_t max)
{
	s->body_limit = max;
	server_raise_hard_limit(s, max);
}

int
server_route_limit(struct server *s, const char *path, size_t max)
{
	size_t i;

	for (i = 0; i < s->nroutes; i++)
		if (strcmp(s->routes[i].path, path) == 0) {
			s->routes[i].max_body = max;
			server_raise_hard_limit(s, max);
			return 0;
		}
	return -1;
}

uint64_t
server_refused(const struct server *s, int r)
{
	return front_count(s->front, (enum http_strict_reason)r);
}

const char *
server_refusal_name(int r)
{
	return r > HTTP_STRICT_NONE && r < HTTP_STRICT_NREASONS ?
	    http_strict_reason_name((enum http_strict_reason)r) : NULL;
}

/* ---- listener ---------------------------------------------------------- */

/*
 * Parses "ADDR:PORT" or "[V6ADDR]:PORT" with a numeric address and a port
 * in 0..65535 (0: any free port).  evutil_parse_sockaddr_port() parses the
 * address but refuses port 0, so the port is split off and parsed here.
 */
static int
server_parse_listen(const char *listen, struct sockaddr_storage *ss,
    int *sslen)
{
	char addr[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(listen, ':');
	uint64_t port;
	size_t alen;

	memset(ss, 0, sizeof(*ss));
	*sslen = sizeof(*ss);
	if (colon == NULL || (alen = (size_t)(colon - listen)) == 0 ||
	    alen >= sizeof(addr) || server_parse_u64(colon + 1, &port) != 0 ||
	    port > 65535)
		return -1;
	memcpy(addr, listen, alen);
	addr[alen] = '\0';
	/* "::1:8443" is ambiguous: IPv6 needs brackets. */
	if (strchr(addr, ':') != NULL && addr[0] != '[')
		return -1;
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)ss,
	    sslen) != 0)
		return -1;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		return -1;
	return 0;
}

/* server_new, with SO_REUSEPORT on the listening socket when reuseport
 * is set. */
static struct server *
server_new_opt(struct event_base *base, const char *listen, SSL_CTX *tls,
    size_t max_body, int reuseport, char *err, size_t errlen)
{
	struct server *s = NULL, *ret = NULL;
	struct evconnlistener *lev = NULL;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);

	if (server_parse_listen(listen, &ss, &sslen) != 0) {
		snprintf(err, errlen, "bad listen address \"%s\": want "
		    "ADDR:PORT or [IPv6]:PORT with a numeric address", listen);
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	s->base = base;
	s->tls = tls;
	s->name = tls != NULL ? "https" : "http";
	s->max_body = s->body_limit = max_body;
	TAILQ_INIT(&s->inflight);
	if ((s->front = front_new(base, tls != NULL ? "https" : "http",
	    server_limit_of, s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((s->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "cannot create HTTP server");
		goto out;
	}
	evhttp_set_max_body_size(s->http, (ev_ssize_t)max_body);
	evhttp_set_max_headers_size(s->http, SERVER_MAX_HEADERS);
	evhttp_set_timeout(s->http, SERVER_TIMEOUT);
	/* The methods a client may plausibly send reach the handlers, which
	 * answer 405 with Allow (RFC 9110 15.5.6); evhttp itself answers 501
	 * to the rest (TRACE, CONNECT). */
	evhttp_set_allowed_methods(s->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_OPTIONS);
	/* Read (and discard) an oversized body before answering 413, so the
	 * client is not reset mid-upload and actually sees the 413. */
	evhttp_set_flags(s->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(s->http, server_dispatch, s);
	evhttp_set_bevcb(s->http, tls != NULL ? server_bevcb :
	    server_bevcb_plain, s);

	lev = evconnlistener_new_bind(base, NULL, NULL,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	    (reuseport ? LEV_OPT_REUSEABLE_PORT : 0), -1,
	    (struct sockaddr *)&ss, sslen);
	if (lev == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(errno));
		goto out;
	}
	/* Accepted sockets inherit TCP_NODELAY from the listener (Linux).
	 * Without it evhttp's reply, written as a header record and a body
	 * record, waits for the client's delayed ACK: ~40 ms per request. */
	if (setsockopt(evconnlistener_get_fd(lev), IPPROTO_TCP, TCP_NODELAY,
	    &(int){ 1 }, sizeof(int)) != 0)
		log_warn("server: TCP_NODELAY on %s: %s", listen,
		    strerror(errno));
	/* evhttp owns the listener from here (freed by evhttp_free). */
	if ((s->bound = evhttp_bind_listener(s->http, lev)) == NULL) {
		snprintf(err, errlen, "cannot listen on %s", listen);
		goto out;
	}
	lev = NULL;
	ret = s;
	s = NULL;
out:
	if (lev != NULL)
		evconnlistener_free(lev);
	server_free(s);
	return ret;
}

struct server *
server_new(struct event_base *base, const char *listen, SSL_CTX *tls,
    size_t max_body, char *err, size_t errlen)
{
	return server_new_opt(base, listen, tls, max_body, 0, err, errlen);
}

struct server *
server_new_reuseport(struct event_base *base, const char *listen,
    SSL_CTX *tls, size_t max_body, char *err, size_t errlen)
{
	return server_new_opt(base, listen, tls, max_body, 1, err, errlen);
}

void
server_free(struct server *s)
{
	struct server_reqlog *rl;
	size_t i;

	if (s == NULL)
		return;
	if (s->limits != NULL && s->bound != NULL)
		limits_unlisten(s->limits,
		    evhttp_bound_socket_get_listener(s->bound));
	/* evhttp_free closes the connections (running server_conn_closed). */
	if (s->http != NULL)
		evhttp_free(s->http);
	while ((rl = TAILQ_FIRST(&s->inflight)) != NULL)
		server_reqlog_free(rl);
	for (i = 0; i < s->nroutes; i++)
		free(s->routes[i].path);
	free(s->root_redirect);
	front_free(s->front);
	free(s);
}

int
server_set_limits(struct server *s, struct limits *l, const char *name)
{
	if (limits_listen(l, evhttp_bound_socket_get_listener(s->bound),
	    name) != 0)
		return -1;
	s->limits = l;
	evhttp_set_timeout(s->http, limits_evhttp_timeout(l));
	return 0;
}

void
server_limits_changed(struct server *s)
{
	if (s->limits != NULL)
		evhttp_set_timeout(s->http, limits_evhttp_timeout(s->limits));
}

void
server_set_tls(struct server *s, SSL_CTX *tls)
{
	s->tls = tls;
}

int
server_port(struct server *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd = evhttp_bound_socket_get_fd(s->bound);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}
