/*
 * server_route.c: the routing table of a listener (server.c) and the
 * dispatcher evhttp calls for every request.
 *
 * Routing is a small table with longest-prefix match, served from one
 * evhttp "generic" callback so that an unknown path gets our JSON 404 rather
 * than evhttp's HTML one.
 *
 * A request the strict front check (front.c, strict.c) refused reaches the
 * dispatcher as a stand-in (front_standin) that is answered here, with the
 * API's JSON error or, on EST, OCSP and CRL routes, one line of text, so
 * evhttp's own HTML error pages (libevent 2.1 has no evhttp_set_errorcb)
 * are not reached by anything the front knows of: methods, versions,
 * header sizes, declared bodies over a route's limit (server_route_limit),
 * chunk extensions and trailers, targets evhttp's URI parser refuses.
 *
 * Query strings are parsed strictly (http.h, query.c), for every handler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "bridge/http/front.h"
#include "bridge/http/http.h"
#include "bridge/http/server_int.h"

#define SERVER_ECHO_PATH	200		/* bytes of a path echoed back */

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

void
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
int
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
