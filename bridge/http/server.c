/*
 * server.c: the HTTP(S) listeners, on libevent's evhttp: their sockets,
 * their connections and the record of each request until its log line.
 * Routing and dispatch are in server_route.c, the TLS context in
 * server_tls.c.
 *
 * One struct server is one listening socket with its evhttp.  TLS follows
 * libevent's sample/https-server.c: evhttp_set_bevcb() hands evhttp a
 * bufferevent_openssl in the accepting state for every new connection, and
 * that bufferevent owns (and frees) the SSL object.
 *
 * Every request that reaches the dispatcher gets a request id, returned in
 * X-Request-Id, and is logged once with it (log_request: the main log or
 * the access log), after its reply has been written (evhttp's on-complete
 * callback), or when its connection closes before that.
 *
 * Every byte a client sends is checked before evhttp parses it, by the
 * strict front check (front.c, strict.c; docs/design.md "Front door:
 * strict framing"), which server_bevcb puts on every connection.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "bridge/http/front.h"
#include "bridge/http/http.h"
#include "bridge/http/server_int.h"

#define SERVER_MAX_HEADERS	(16 * 1024)	/* bytes of request headers */
#define SERVER_TIMEOUT		30		/* seconds: read, write, idle */

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
void
server_req_done(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;

	if (evhttp_request_get_connection(req) != NULL)
		limits_req_done(s->limits, evhttp_request_get_connection(req));
}

/* Starts the log record of req, whose id is id and matched route r
 * (NULL: none).  Without memory the request is served unlogged.  0 when
 * req has its on-complete callback, -1 when not. */
int
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
