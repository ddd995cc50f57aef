/*
 * front.h: the strict front check of a listener (front.c), internal to
 * bridge/http/: server.c hands it every accepted connection's bufferevent
 * and asks it, for each request evhttp dispatches, whether the request
 * is the stand-in of a refusal.
 */
#ifndef KEYBRIDGE_HTTP_FRONT_H
#define KEYBRIDGE_HTTP_FRONT_H

#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "bridge/http/strict.h"

struct front;

/* The body limit of the route of path (NUL-terminated, as evhttp's URI
 * parser reads it) in *max, and in *plain whether the route answers its
 * errors as one line of text (EST, OCSP) rather than JSON: 0, or -1 to
 * refuse the request. */
typedef int (*front_limit_fn)(void *arg, const char *path, uint64_t *max,
    int *plain);

/* What a stand-in says of the request it stands for. */
struct front_refusal {
	enum http_strict_reason reason;
	int plain;			/* answer as text, not JSON */
	uint64_t limit;			/* the route's body limit, 0: unknown */
};

/* A front for one listener (name: for its log lines, borrowed, static)
 * on base.  NULL without memory. */
struct front *front_new(struct event_base *base, const char *name,
    front_limit_fn limit, void *arg);
/* Frees f and what it keeps of the connections; after evhttp_free. */
void front_free(struct front *f);
/*
 * Checks every request on bev (a new connection's bufferevent, made for
 * evhttp by the bevcb) before evhttp reads it.  f holds a reference to
 * bev until evhttp has freed it.  0, or -1 without memory.
 */
int front_watch(struct front *f, struct bufferevent *bev);
/* 1 with *fr set when req is the stand-in of a refused request, which the
 * caller answers (the connection closes after it); 0 otherwise. */
int front_standin(const struct front *f, struct evhttp_request *req,
    struct front_refusal *fr);
/* Requests refused for reason r since the start. */
uint64_t front_count(const struct front *f, enum http_strict_reason r);

#endif
