/*
 * events.c: GET /api/v1/events, a Server-Sent Events stream of the ledger
 * (WHATWG HTML "Server-sent events").
 *
 * Every entry becomes one event whose id is its leaf index and whose data
 * is the entry as /api/v1/ledger/entries shows it; the event name says
 * what happened: key_revoked, cert_issued, cert_revoked, or entry for the
 * other types.  After each batch a "checkpoint" event (no id) carries the
 * new tree size, root and signed checkpoint.  A client that reconnects
 * with Last-Event-ID: N (browsers do it by themselves) gets every entry
 * after N, then the live ones: nothing missed, nothing twice.  Without it
 * (or ?from=INDEX) the stream starts at the next entry.
 *
 * Bounds: EVENTS_MAX_SUBS streams; a resume at most EVENTS_BACKLOG_MAX
 * entries behind (further back, read /api/v1/ledger/entries first); a
 * client that lets more than EVENTS_MAX_QUEUED bytes pile up is ended (it
 * resumes with Last-Event-ID).  A comment line every EVENTS_PING_SEC keeps
 * idle streams and the proxies on their way open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <jansson.h>

#include "bridge/api/api_int.h"

#define EVENTS_MAX_SUBS    256
#define EVENTS_BACKLOG_MAX 10000
#define EVENTS_MAX_QUEUED  (4u << 20)
#define EVENTS_PING_SEC    15
#define EVENTS_CHECKPOINT_MAX 4096

struct events_sub {
	TAILQ_ENTRY(events_sub) link;
	struct events *ev;
	struct evhttp_request *req;
	uint64_t next;			/* the next leaf index to send */
};

struct events {
	struct ledger *ledger;		/* borrowed */
	struct server *server;		/* borrowed: the HTTPS listener */
	TAILQ_HEAD(, events_sub) subs;
	size_t nsubs;
	uint64_t seen;			/* tree size the live stream is at */
	struct event *ping;
	int closing;			/* shutting down: no new streams */
};

static const char *
events_name(enum ledger_entry_type t)
{
	switch (t) {
	case LEDGER_KEY_REVOKE:
		return "key_revoked";
	case LEDGER_CERT_ISSUED:
		return "cert_issued";
	case LEDGER_CERT_REVOKED:
		return "cert_revoked";
	default:
		return "entry";
	}
}

/* One "event:/id:/data:" block; data is one line of compact JSON. */
static int
events_add(struct evbuffer *b, const char *name, const char *id, json_t *j)
{
	char *data = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc = -1;

	if (data != NULL && evbuffer_add_printf(b, "event: %s\n%s%s%sdata: "
	    "%s\n\n", name, id != NULL ? "id: " : "", id != NULL ? id : "",
	    id != NULL ? "\n" : "", data) >= 0)
		rc = 0;
	free(data);
	json_decref(j);
	return rc;
}

static int
events_entry_cb(const struct ledger_entry_info *e, void *arg)
{
	char id[24];

	snprintf(id, sizeof(id), "%llu", (unsigned long long)e->index);
	return events_add(arg, events_name(e->type), id, api_entry_json(e));
}

/* The events of entries [from, to) then the checkpoint, into b.  0/-1. */
static int
events_format(struct events *ev, uint64_t from, uint64_t to,
    struct evbuffer *b)
{
	char note[EVENTS_CHECKPOINT_MAX];
	uint64_t size = 0;

	while (from < to) {
		size_t n = to - from < LEDGER_LIST_MAX ? (size_t)(to - from) :
		    LEDGER_LIST_MAX;

		if (ledger_entries(ev->ledger, from, n, events_entry_cb, b) != 0)
			return -1;
		from += n;
	}
	if (ledger_checkpoint(ev->ledger, note, sizeof(note), &size) == 0)
		events_add(b, "checkpoint", NULL, json_pack("{s:o,s:s}",
		    "tree_size", render_json_u64(size), "checkpoint", note));
	return 0;
}

static void
events_sub_free(struct events_sub *s)
{
	TAILQ_REMOVE(&s->ev->subs, s, link);
	s->ev->nsubs--;
	free(s);
}

/* The connection went away.  When the client closed it, libevent has
 * detached the request (its reply was not finished) and leaves freeing it
 * to the reply's end, which frees a detached request; when the server
 * frees the connection, the request goes with it. */
static void
events_closed(void *arg)
{
	struct events_sub *s = arg;
	struct evhttp_request *req = s->req;

	events_sub_free(s);
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_send_reply_end(req);
}

/* Ends a stream (a slow client, or shutdown): the reply completes. */
static void
events_end(struct events_sub *s)
{
	struct evhttp_request *req = s->req;

	/* The reply completes once its last bytes are written, maybe after
	 * the connection is gone: s must not be called back then. */
	server_req_on_close(s->ev->server, req, NULL, NULL);
	events_sub_free(s);
	evhttp_send_reply_end(req);
}

/* Sends b (a copy) to s, unless s has fallen too far behind. */
static void
events_send(struct events_sub *s, struct evbuffer *b)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(s->req);
	struct bufferevent *bev = evcon != NULL ?
	    evhttp_connection_get_bufferevent(evcon) : NULL;
	struct evbuffer *copy;

	if (bev != NULL && evbuffer_get_length(bufferevent_get_output(bev)) >
	    EVENTS_MAX_QUEUED) {
		log_info("events: ending a stream that does not keep up");
		events_end(s);
		return;
	}
	if ((copy = evbuffer_new()) == NULL)
		return;
	if (evbuffer_add_buffer_reference(copy, b) == 0)
		evhttp_send_reply_chunk(s->req, copy);
	evbuffer_free(copy);
}

/* See bridge.h: the new entries to every stream. */
void
events_sync(struct events *ev)
{
	uint64_t size = ledger_size(ev->ledger);
	struct events_sub *s, *tmp;
	struct evbuffer *b;

	if (size <= ev->seen)
		return;
	/* No stream open: nothing to read or format (each new entry read
	 * back and dumped as JSON, ~3% of the event loop's work per EST
	 * enrollment, for no reader); a stream opened later reads its
	 * backlog itself (events_handle). */
	if (TAILQ_EMPTY(&ev->subs)) {
		ev->seen = size;
		return;
	}
	if ((b = evbuffer_new()) == NULL ||
	    events_format(ev, ev->seen, size, b) != 0) {
		log_warn("events: cannot read ledger entries from %llu",
		    (unsigned long long)ev->seen);
		if (b != NULL)
			evbuffer_free(b);
		return;
	}
	for (s = TAILQ_FIRST(&ev->subs); s != NULL; s = tmp) {
		tmp = TAILQ_NEXT(s, link);
		if (s->next == ev->seen) {
			s->next = size;
			events_send(s, b);
		}
	}
	ev->seen = size;
	evbuffer_free(b);
}

static void
events_ping(evutil_socket_t fd, short what, void *arg)
{
	struct events *ev = arg;
	struct events_sub *s, *tmp;
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		return;
	evbuffer_add_printf(b, ": ping\n\n");
	for (s = TAILQ_FIRST(&ev->subs); s != NULL; s = tmp) {
		tmp = TAILQ_NEXT(s, link);
		events_send(s, b);
	}
	evbuffer_free(b);
}

/* The first entry a new stream wants: after Last-Event-ID, or ?from, or
 * the next one.  0, or -1 after answering 400. */
static int
events_start_index(struct evhttp_request *req, uint64_t size, uint64_t *next)
{
	const char *lei = evhttp_find_header(evhttp_request_get_input_headers(
	    req), "Last-Event-ID");
	char *end;
	unsigned long long v;
	uint64_t from;

	*next = size;
	if (lei != NULL && lei[0] != '\0') {
		v = strtoull(lei, &end, 10);
		if (lei[0] < '0' || lei[0] > '9' || *end != '\0' ||
		    v >= size) {
			server_reply_error(req, 400, "bad_parameter",
			    "Last-Event-ID must be the index of an entry "
			    "(0 to %llu)", (unsigned long long)size - 1);
			return -1;
		}
		*next = v + 1;
	} else {
		if (api_param_u64(req, "from", 0, size, size, &from) != 0)
			return -1;
		*next = from;
	}
	if (size - *next > EVENTS_BACKLOG_MAX) {
		server_reply_error(req, 400, "bad_parameter", "a stream starts "
		    "at most %d entries back; read /api/v1/ledger/entries "
		    "first", EVENTS_BACKLOG_MAX);
		return -1;
	}
	return 0;
}

/* GET /api/v1/events. */
void
events_handle(struct evhttp_request *req, void *arg)
{
	static const char *const params[] = { "from", NULL };
	struct events *ev = arg;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct events_sub *s = NULL;
	struct evbuffer *b = NULL;
	uint64_t size = ledger_size(ev->ledger), next;

	if (api_method(req, API_GET) != 0 || api_params(req, params) != 0)
		return;
	/* the live stream is at ev->seen; a new stream joins it there */
	events_sync(ev);
	size = ev->seen;
	if (events_start_index(req, size, &next) != 0)
		return;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* the headers a stream would start with; no stream */
		evhttp_add_header(h, "Content-Type",
		    "text/event-stream; charset=utf-8");
		evhttp_add_header(h, "Cache-Control", "no-store");
		server_send_reply(req, 200, "OK", NULL);
		return;
	}
	if (ev->nsubs >= EVENTS_MAX_SUBS || ev->closing) {
		/* server_reply_error adds Retry-After to a 503 */
		server_reply_error(req, 503, "unavailable", "too many event "
		    "streams (%d)", EVENTS_MAX_SUBS);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (b = evbuffer_new()) == NULL ||
	    server_req_on_close(ev->server, req, events_closed, s) != 0) {
		free(s);
		if (b != NULL)
			evbuffer_free(b);
		server_reply_error(req, 500, "internal", "cannot start a stream");
		return;
	}
	s->ev = ev;
	s->req = req;
	s->next = size;
	TAILQ_INSERT_TAIL(&ev->subs, s, link);
	ev->nsubs++;
	evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");
	/* the backlog, then a retry hint; live entries follow from size */
	evbuffer_add_printf(b, "retry: 2000\n\n");
	if (next < size && events_format(ev, next, size, b) != 0)
		log_warn("events: cannot read the backlog from %llu",
		    (unsigned long long)next);
	evhttp_send_reply_chunk(req, b);
	evbuffer_free(b);
}

struct events *
events_new(struct event_base *base, struct ledger *l, struct server *https)
{
	struct events *ev = calloc(1, sizeof(*ev));
	struct timeval tv = { EVENTS_PING_SEC, 0 };

	if (ev == NULL)
		return NULL;
	ev->ledger = l;
	ev->server = https;
	ev->seen = ledger_size(l);
	TAILQ_INIT(&ev->subs);
	if ((ev->ping = event_new(base, -1, EV_PERSIST, events_ping, ev)) ==
	    NULL || event_add(ev->ping, &tv) != 0) {
		events_free(ev);
		return NULL;
	}
	return ev;
}

/* See bridge.h. */
void
events_end_all(struct events *ev)
{
	struct events_sub *s;

	if (ev == NULL)
		return;
	ev->closing = 1;
	while ((s = TAILQ_FIRST(&ev->subs)) != NULL)
		events_end(s);
}

/* Ends what streams are left (their replies complete) and frees.  Call
 * before the HTTPS server is freed. */
void
events_free(struct events *ev)
{
	if (ev == NULL)
		return;
	events_end_all(ev);
	if (ev->ping != NULL)
		event_free(ev->ping);
	free(ev);
}
