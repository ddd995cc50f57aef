/*
 * server_int.h: between server.c (the listeners, their connections and
 * the record of each request until its log line) and server_route.c (the
 * routing table, the dispatcher and the strict front check's hooks) only.
 */
#ifndef KEYBRIDGE_HTTP_SERVER_INT_H
#define KEYBRIDGE_HTTP_SERVER_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/http.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "bridge/http/http.h"

#define SERVER_MAX_ROUTES	64
#define SERVER_LOG_PATH		256		/* bytes of path kept for the log */


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

/* server_route.c */

/* evhttp's generic callback of every listener: the strict check's
 * stand-ins, the longest-prefix route, HEAD, 404 and the root redirect. */
void server_dispatch(struct evhttp_request *req, void *arg);
/* front_limit_fn: the declared body limit of path's route, and whether
 * the route answers errors as text (EST, OCSP and CRLs do). */
int server_limit_of(void *arg, const char *path, uint64_t *max, int *plain);

/* server.c */

/* Starts the log record of req, whose id is id and matched route r
 * (NULL: none).  Without memory the request is served unlogged.  0 when
 * req has its on-complete callback, -1 when not. */
int server_reqlog_start(struct server *s, struct evhttp_request *req,
    const char *path, const char *id, const struct server_route_ent *r,
    int log);
/* On-complete callback of a request that has no log record. */
void server_req_done(struct evhttp_request *req, void *arg);

#endif
