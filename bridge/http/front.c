/*
 * front.c: the strict front check in front of evhttp (docs/design.md
 * "Front door: strict framing").
 *
 * libevent 2.1's evhttp parses heads leniently and its public API shows
 * no raw header bytes.  So the bytes are taken from evhttp's own
 * bufferevent (the connection's socket or TLS one, made in server.c's
 * bevcb) before evhttp reads them: a callback on its input buffer runs as
 * soon as bytes are added, before the bufferevent calls evhttp's read
 * callback, moves the new bytes aside, and puts back only checked ones.
 * It follows the requests' boundaries: it holds a request head until its
 * blank line has come and strict.c has checked it, passes a
 * Content-Length body through as it comes, and holds a chunked body until
 * its last chunk (bounded by the route's limit), so the head of every
 * pipelined request is checked, not only the first.
 *
 * Why not a filter bufferevent (bufferevent_filter_new) between evhttp
 * and the socket: evhttp 2.1 takes a reply as written when its own
 * bufferevent's output is empty, and a filter empties it into the
 * bufferevent below, not into the kernel; evhttp then closes the socket
 * (shutdown, close) and a reply with "Connection: close" is lost.  Here
 * the output side is evhttp's as before.
 *
 * Each connection's state lives until evhttp has freed its bufferevent:
 * the front holds a reference to the bufferevent (so its socket and TLS
 * state stay until then) and frees both when it finds evhttp's callbacks
 * gone, at the next accepted connection or at the next sweep
 * (FRONT_SWEEP_MS), whichever comes first.
 *
 * A refused request never reaches evhttp.  In its place the front hands
 * evhttp a stand-in, a clean "GET" with "Connection: close" that carries
 * the reason and this listener's random token in X-Keybridge-Refused.
 * evhttp dispatches it in order, after the answers to the requests before
 * it on the connection, and server.c answers it with the JSON error of
 * the reason (one line of text on the routes that answer so: the
 * stand-in says whether, and the route's body limit), then evhttp closes
 * the connection.  Everything the client
 * sends after a refusal is read and dropped.  A client cannot forge a
 * stand-in: it does not know the token (CRYPTO_memcmp).
 *
 * Each refusal is counted by reason (front_count, the metrics'
 * keybridge_http_refused_total) and logged once, at most
 * FRONT_LOG_BURST lines a second per listener, with a count of the
 * lines left out.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/log.h"
#include "bridge/http/front.h"

#define FRONT_TOKEN_BYTES	16
#define FRONT_TOKEN_HEX		(2 * FRONT_TOKEN_BYTES)
#define FRONT_HEADER		"X-Keybridge-Refused"
#define FRONT_LOG_BURST		10	/* refusal lines a second */
#define FRONT_PEER		64
#define FRONT_SWEEP_MS		100	/* closed connections freed */

struct front {
	const char *name;
	front_limit_fn limit;
	void *arg;
	char token[FRONT_TOKEN_HEX + 1];
	uint64_t count[HTTP_STRICT_NREASONS];
	time_t log_sec;			/* the second being logged */
	unsigned log_n;			/* lines in it */
	uint64_t log_dropped;		/* lines left out of it */
	struct event *sweep;		/* frees the closed connections */
	TAILQ_HEAD(, front_conn) conns;
};

enum front_state {
	FRONT_HEAD,		/* reading a head */
	FRONT_LENGTH,		/* passing a Content-Length body */
	FRONT_CHUNKED,		/* holding a chunked message */
	FRONT_DEAD		/* refused: dropping everything */
};

struct front_conn {
	TAILQ_ENTRY(front_conn) next;
	struct front *f;
	struct bufferevent *bev;	/* evhttp's; one reference is ours */
	struct evbuffer *hold;		/* bytes not yet checked */
	struct evbuffer *tmp;		/* for moving bytes around */
	struct evbuffer_cb_entry *cb;	/* on bev's input */
	int busy;			/* in front_input_cb */
	enum front_state state;
	struct http_strict_head head;
	uint64_t left;			/* FRONT_LENGTH: body bytes to pass */
	struct http_strict_chunked chunked;
	size_t held;			/* FRONT_CHUNKED: bytes checked */
	int routed;			/* the head's route is known: */
	int plain;			/*   its errors are text */
	uint64_t limit;			/*   its body limit */
};

uint64_t
front_count(const struct front *f, enum http_strict_reason r)
{
	return (unsigned)r < HTTP_STRICT_NREASONS ? f->count[r] : 0;
}

/* ---- refusals ----------------------------------------------------------- */

/* The peer of c as "ADDR" for a log line. */
static void
front_peer(const struct front_conn *c, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	const void *a = NULL;

	snprintf(buf, len, "-");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET)
		a = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (a != NULL && inet_ntop(ss.ss_family, a, buf, (socklen_t)len) ==
	    NULL)
		snprintf(buf, len, "-");
}

/* One log line for a refusal, FRONT_LOG_BURST a second at most. */
static void
front_log(struct front *f, const struct front_conn *c,
    enum http_strict_reason r)
{
	char peer[FRONT_PEER];
	time_t now = time(NULL);

	if (now != f->log_sec) {
		if (f->log_dropped > 0)
			log_warn("%s: %llu more refused requests not logged",
			    f->name, (unsigned long long)f->log_dropped);
		f->log_sec = now;
		f->log_n = 0;
		f->log_dropped = 0;
	}
	if (f->log_n >= FRONT_LOG_BURST) {
		f->log_dropped++;
		return;
	}
	f->log_n++;
	front_peer(c, peer, sizeof(peer));
	log_info("%s: %s refused: %s (%d, %s)", f->name, peer,
	    http_strict_reason_name(r), http_strict_reason_status(r),
	    http_strict_reason_text(r));
}

/* ---- refusals, and what comes before them ------------------------------- */

/* strict.h's body_limit: the route of target by evhttp's own reading of
 * it (the path the dispatcher routes on); a target evhttp would not
 * parse is refused here, as JSON, instead of by evhttp, as HTML. */
static int
front_body_limit(void *arg, const char *target, size_t len, uint64_t *max)
{
	struct front_conn *c = arg;
	struct front *f = c->f;
	struct evhttp_uri *u = NULL;
	const char *path;
	char *t = NULL;
	int ret = -1;

	if ((t = malloc(len + 1)) == NULL)
		goto out;
	memcpy(t, target, len);
	t[len] = '\0';
	if ((u = evhttp_uri_parse_with_flags(t, EVHTTP_URI_NONCONFORMANT)) ==
	    NULL)
		goto out;
	path = evhttp_uri_get_path(u);
	ret = f->limit(f->arg, path != NULL && *path != '\0' ? path : "/",
	    max, &c->plain);
	c->limit = *max;
	c->routed = 1;
out:
	if (u != NULL)
		evhttp_uri_free(u);
	free(t);
	return ret;
}

/* Refuses the request at the front of src: counts and logs it, hands
 * evhttp its stand-in, drops the rest.  0, or -1 without memory. */
static int
front_refuse(struct front_conn *c, struct evbuffer *src, struct evbuffer *dst,
    enum http_strict_reason r)
{
	struct front *f = c->f;
	uint64_t max;

	f->count[r]++;
	front_log(f, c, r);
	/* the route, when the request line was read, for the answer's form
	 * (the target points into src, still whole here) */
	if (!c->routed && c->head.target != NULL)
		(void)front_body_limit(c, c->head.target, c->head.target_len,
		    &max);
	c->state = FRONT_DEAD;
	evbuffer_drain(src, evbuffer_get_length(src));
	return evbuffer_add_printf(dst, "GET /.keybridge/refused HTTP/1.1\r\n"
	    "Host: keybridge\r\nConnection: close\r\n" FRONT_HEADER
	    ": %s %d %d %llu\r\n\r\n", f->token, (int)r, c->routed && c->plain,
	    c->routed && c->limit != UINT64_MAX ?
	    (unsigned long long)c->limit : 0ULL) < 0 ? -1 : 0;
}

int
front_standin(const struct front *f, struct evhttp_request *req,
    struct front_refusal *fr)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(
	    req), FRONT_HEADER);
	unsigned long long limit;
	int r, plain, n = 0;

	if (v == NULL || strlen(v) < FRONT_TOKEN_HEX + 2 ||
	    v[FRONT_TOKEN_HEX] != ' ' ||
	    CRYPTO_memcmp(v, f->token, FRONT_TOKEN_HEX) != 0)
		return 0;
	if (sscanf(v + FRONT_TOKEN_HEX, " %d %d %llu%n", &r, &plain, &limit,
	    &n) != 3 || v[FRONT_TOKEN_HEX + n] != '\0' ||
	    r <= HTTP_STRICT_NONE || r >= HTTP_STRICT_NREASONS)
		return 0;
	fr->reason = (enum http_strict_reason)r;
	fr->plain = plain != 0;
	fr->limit = limit;
	return 1;
}

/* FRONT_HEAD: checks the head at the front of src; a clean one goes to
 * dst (a chunked one is held).  1 when bytes moved, 0 when more are
 * needed, -1 on error. */
static int
front_head(struct front_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
	struct http_strict_limits lim = {
		.body_limit = front_body_limit, .arg = c,
	};
	size_t n = evbuffer_get_length(src), take, hlen;
	enum http_strict_verdict v;
	const char *p;

	take = n < HTTP_STRICT_MAX_HEAD + 1 ? n : HTTP_STRICT_MAX_HEAD + 1;
	if ((p = (const char *)evbuffer_pullup(src, (ev_ssize_t)take)) ==
	    NULL)
		return -1;
	v = http_strict_head(p, take, &lim, &c->head);
	if (v == HTTP_STRICT_MORE)
		return 0;
	if (v == HTTP_STRICT_REFUSE)
		return front_refuse(c, src, dst, c->head.reason) == 0 ? 1 : -1;
	hlen = c->head.head_len - c->head.skip;
	if (c->head.body == HTTP_STRICT_BODY_CHUNKED) {
		if (http_strict_chunked_init(&c->chunked, p + c->head.skip,
		    hlen, c->head.body_max) != 0)
			return front_refuse(c, src, dst, HTTP_STRICT_CHUNKED) ==
			    0 ? 1 : -1;
		evbuffer_drain(src, c->head.skip);
		c->held = hlen;
		c->state = FRONT_CHUNKED;
		return 1;
	}
	evbuffer_drain(src, c->head.skip);
	if (evbuffer_remove_buffer(src, dst, hlen) != (int)hlen)
		return -1;
	c->left = c->head.body == HTTP_STRICT_BODY_LENGTH ?
	    c->head.content_length : 0;
	c->state = c->left > 0 ? FRONT_LENGTH : FRONT_HEAD;
	memset(&c->head, 0, sizeof(c->head));
	c->routed = 0;
	return 1;
}

/* FRONT_CHUNKED: follows the held message to its end, then passes it
 * whole.  As front_head. */
static int
front_chunked(struct front_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
	size_t n = evbuffer_get_length(src), used;
	enum http_strict_reason why;
	enum http_strict_verdict v;
	const char *p;

	if (n <= c->held)
		return 0;
	if ((p = (const char *)evbuffer_pullup(src, (ev_ssize_t)n)) == NULL)
		return -1;
	v = http_strict_chunked_feed(&c->chunked, p + c->held, n - c->held,
	    &used, &why);
	c->held += used;
	if (v == HTTP_STRICT_MORE)
		return 0;
	if (v == HTTP_STRICT_REFUSE)
		return front_refuse(c, src, dst, why) == 0 ? 1 : -1;
	if (evbuffer_remove_buffer(src, dst, c->held) != (int)c->held)
		return -1;
	c->held = 0;
	c->state = FRONT_HEAD;
	memset(&c->head, 0, sizeof(c->head));
	c->routed = 0;
	return 1;
}

/* The state machine over c->hold: checked bytes out to dst, request by
 * request.  0, or -1 without memory. */
static int
front_run(struct front_conn *c, struct evbuffer *dst)
{
	struct evbuffer *src = c->hold;
	size_t n;
	int rc = 1;

	while (rc > 0 && (n = evbuffer_get_length(src)) > 0) {
		switch (c->state) {
		case FRONT_HEAD:
			rc = front_head(c, src, dst);
			break;
		case FRONT_LENGTH:
			if (n > c->left)
				n = (size_t)c->left;
			rc = evbuffer_remove_buffer(src, dst, n) == (int)n ?
			    1 : -1;
			c->left -= n;
			if (c->left == 0)
				c->state = FRONT_HEAD;
			break;
		case FRONT_CHUNKED:
			rc = front_chunked(c, src, dst);
			break;
		case FRONT_DEAD:
			evbuffer_drain(src, n);
			rc = 0;
			break;
		}
	}
	return rc < 0 ? -1 : 0;
}

/* evhttp has freed c's bufferevent (bufferevent_free clears the
 * callbacks; evhttp always has its error callback set). */
static int
front_conn_gone(struct front_conn *c)
{
	bufferevent_event_cb ecb = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
	return ecb == NULL;
}

/*
 * The callback on the input buffer of c's bufferevent: new bytes (the
 * last n_added) go aside into c->hold, the bytes evhttp has not read yet
 * stay, and the checked ones are added after them.  Our own moves call
 * it again (busy).  Without memory the connection is refused as a whole.
 */
static void
front_input_cb(struct evbuffer *in, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct front_conn *c = arg;
	size_t len = evbuffer_get_length(in), keep;

	if (c->busy || info->n_added == 0)
		return;
	c->busy = 1;
	if (front_conn_gone(c)) {
		evbuffer_drain(in, len);
		goto out;
	}
	keep = info->n_added < len ? len - info->n_added : 0;
	if (evbuffer_remove_buffer(in, c->tmp, keep) != (int)keep ||
	    evbuffer_add_buffer(c->hold, in) != 0 ||
	    evbuffer_add_buffer(in, c->tmp) != 0 ||
	    front_run(c, in) != 0) {
		log_warn("%s: out of memory checking a request", c->f->name);
		c->state = FRONT_DEAD;
		evbuffer_drain(c->hold, evbuffer_get_length(c->hold));
	}
out:
	c->busy = 0;
}

static void
front_conn_free(struct front_conn *c)
{
	TAILQ_REMOVE(&c->f->conns, c, next);
	if (c->cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->cb);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_decref(c->bev);	/* closes the socket, frees SSL */
	if (c->hold != NULL)
		evbuffer_free(c->hold);
	if (c->tmp != NULL)
		evbuffer_free(c->tmp);
	free(c);
}

/* Frees the state of every connection evhttp has closed. */
static void
front_sweep(struct front *f)
{
	struct front_conn *c, *tmp;

	for (c = TAILQ_FIRST(&f->conns); c != NULL; c = tmp) {
		tmp = TAILQ_NEXT(c, next);
		if (front_conn_gone(c))
			front_conn_free(c);
	}
}

/* Arms the sweep while there are connections (an idle bridge sleeps). */
static void
front_arm(struct front *f)
{
	struct timeval tv = { 0, FRONT_SWEEP_MS * 1000 };

	if (!TAILQ_EMPTY(&f->conns) && !event_pending(f->sweep, EV_TIMEOUT,
	    NULL))
		(void)event_add(f->sweep, &tv);
}

static void
front_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	front_sweep(arg);
	front_arm(arg);
}

int
front_watch(struct front *f, struct bufferevent *bev)
{
	struct front_conn *c;

	front_sweep(f);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->f = f;
	c->bev = bev;
	bufferevent_incref(bev);
	TAILQ_INSERT_TAIL(&f->conns, c, next);
	if ((c->hold = evbuffer_new()) == NULL ||
	    (c->tmp = evbuffer_new()) == NULL ||
	    (c->cb = evbuffer_add_cb(bufferevent_get_input(bev),
	    front_input_cb, c)) == NULL) {
		front_conn_free(c);
		return -1;
	}
	front_arm(f);
	return 0;
}

struct front *
front_new(struct event_base *base, const char *name, front_limit_fn limit,
    void *arg)
{
	struct front *f;
	unsigned char raw[FRONT_TOKEN_BYTES];
	size_t i;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	TAILQ_INIT(&f->conns);
	if (RAND_bytes(raw, sizeof(raw)) != 1 || (f->sweep = evtimer_new(base,
	    front_sweep_cb, f)) == NULL) {
		front_free(f);
		return NULL;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(f->token + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	f->name = name;
	f->limit = limit;
	f->arg = arg;
	return f;
}

void
front_free(struct front *f)
{
	if (f == NULL)
		return;
	/* evhttp_free has closed every connection already */
	while (!TAILQ_EMPTY(&f->conns))
		front_conn_free(TAILQ_FIRST(&f->conns));
	if (f->sweep != NULL)
		event_free(f->sweep);
	OPENSSL_cleanse(f->token, sizeof(f->token));
	free(f);
}
