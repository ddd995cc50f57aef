/*
 * limits.c: the front door's deadlines and connection caps (http.h).
 *
 * libevent 2.1's evhttp has one timeout, restarted by every byte, so a
 * client sending a header byte every few seconds held its connection for
 * ever, and nothing counted connections: 600 slow ones per listener used
 * up `ulimit -n 1024`, then accept() failed with EMFILE and libevent
 * retried it at once, for ever (issue 16).  This file adds what nginx has
 * (client_header_timeout, client_body_timeout, keepalive_timeout,
 * limit_conn, worker_connections) around evhttp, through its public API:
 *
 * - Every connection is seen at accept: evhttp's bevcb (server.c) hands
 *   the new bufferevent to limits_conn_new, and on the loop's next turn,
 *   once evhttp has given it its socket and its evhttp_connection (the
 *   bufferevent's callback argument), the connection is counted by client
 *   address and in all, gets its close callback and a timer, and its
 *   input buffer a callback that sees every byte as it arrives.
 * - One timer per connection, armed for the deadline of its phase:
 *     HANDSHAKE  TLS: the handshake within tls_timeout of accept;
 *     HEAD       the request head complete within header_timeout of
 *                accept (first request) or of its first byte (later
 *                ones): a whole-head deadline, like nginx's
 *                client_header_timeout, not reset by each byte;
 *     BODY       body_timeout after the head, plus one second per
 *                body_min_rate bytes received (Apache mod_reqtimeout's
 *                "body=10,MinRate=1024"), checked when the timer fires;
 *     BUSY       the handler runs (server.c's dispatch): none here;
 *     IDLE       keep-alive: the next request's first byte within
 *                keepalive_timeout of the last reply.
 *   The head's end is found by scanning the bytes as they come in
 *   (limits_head_scan); evhttp itself says nothing until the body is read
 *   too.  A connection past its deadline is closed without an answer, as
 *   nginx does: its client is not reading answers anyway.
 * - Caps: a connection over max_per_addr from its address is closed at
 *   once, before anything is read (no 503: answering means doing the TLS
 *   handshake and reading a request for a client already over its share,
 *   and keeping the descriptor meanwhile).  Over max_conns, the connection
 *   that has waited longest for a request (HANDSHAKE, HEAD, BODY or IDLE,
 *   never one whose request runs) is closed to make room, which is what
 *   nginx does when worker_connections run out (ngx_drain_connections):
 *   slow clients from many addresses then cannot lock others out.
 * - max_conns is kept below RLIMIT_NOFILE (limits_fd_budget), so accept()
 *   does not run out of descriptors; when it still fails (ENFILE, ENOMEM,
 *   or another part of the process took them), the listener pauses
 *   LIMITS_ACCEPT_PAUSE_MS instead of spinning (both in limits_fd.c).
 * - Each kind of warning goes through a ratelog: one line per
 *   LIMITS_LOG_INTERVAL with a count.
 * - After a storm (the count fell to a quarter of a peak of at least
 *   LIMITS_TRIM_PEAK and stayed there a tick), malloc_trim() gives the freed connections' memory
 *   back to the system: glibc keeps it otherwise.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/ratelog.h"
#include "bridge/http/limits_int.h"

#define LIMITS_TICK_MS		1000	/* flushes and trims */
#define LIMITS_TRIM_PEAK	256	/* connections: a storm worth a trim */
#define LIMITS_EVHTTP_MIN	30	/* s: evhttp's own (write) timeout */
#define LIMITS_PEEK_VECS	8

enum limits_phase { LP_PENDING, LP_HANDSHAKE, LP_HEAD, LP_BODY, LP_BUSY,
	LP_IDLE };

/* Why a connection was closed: the log's words and the config key. */
enum limits_why { LW_TLS, LW_HEAD, LW_BODY, LW_IDLE, LW_ADDR, LW_FULL,
	LW_N };
static const struct {
	const char *pre, *post, *key;	/* "pre VALUE post (key)" */
	enum log_level level;
	const char *metric;		/* /metrics label */
} limits_whys[LW_N] = {
	[LW_TLS] = { "TLS handshake not done within", "s",
	    "http_tls_handshake_timeout", LOGL_WARN, "tls_handshake_timeout" },
	[LW_HEAD] = { "request head not complete within", "s",
	    "http_header_timeout", LOGL_WARN, "header_timeout" },
	[LW_BODY] = { "request body slower than", "bytes/s after its grace",
	    "http_body_min_rate", LOGL_WARN, "body_min_rate" },
	[LW_IDLE] = { "idle between requests for", "s",
	    "http_keepalive_timeout", LOGL_DEBUG, "keepalive_timeout" },
	[LW_ADDR] = { "over", "connections from its address",
	    "http_max_conns_per_addr", LOGL_WARN, "max_conns_per_addr" },
	[LW_FULL] = { "closed to make room for a new one:",
	    "connections in all", "http_max_conns", LOGL_WARN, "max_conns" },
};
_Static_assert(LW_N == LIMITS_NWHY, "limits_stats' closed[] is by why");

struct limits_conn {
	TAILQ_ENTRY(limits_conn) next;	/* in pending or waiting */
	int listed;			/* in one of them */
	struct limits *l;
	struct bufferevent *bev;	/* borrowed: evhttp's */
	struct evhttp_connection *evcon;
	struct evbuffer_cb_entry *incb;	/* on bev's input */
	struct event *timer;
	void (*closecb)(struct evhttp_connection *, void *);
	void *closearg;
	int fd;
	int tls;
	int counted;			/* in the address table */
	enum limits_phase phase;
	double head_by, tls_by, idle_by;	/* monotonic deadlines, s */
	double body_t0;			/* the head's end */
	unsigned long body;		/* bytes since */
	unsigned scan;			/* limits_head_scan's state */
	unsigned char key[ADDRTAB_KEY];
	char addr[INET6_ADDRSTRLEN];
};




/* ---- the head's end ---------------------------------------------------- */

/* limits_head_scan's states: nothing yet, inside a line, after a line's
 * LF, after LF then CR. */
enum { LS_START, LS_LINE, LS_LF, LS_LFCR };

long
limits_head_scan(unsigned *st, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (*st) {
		case LS_START:
			if (p[i] != '\r' && p[i] != '\n')
				*st = LS_LINE;
			break;
		case LS_LINE:
			if (p[i] == '\n')
				*st = LS_LF;
			break;
		case LS_LF:
			if (p[i] == '\n')
				return (long)(i + 1);
			*st = p[i] == '\r' ? LS_LFCR : LS_LINE;
			break;
		default:	/* LS_LFCR */
			if (p[i] == '\n')
				return (long)(i + 1);
			*st = LS_LINE;
			break;
		}
	}
	return -1;
}

/* ---- a connection ------------------------------------------------------ */

static void
limits_unlist(struct limits_conn *c)
{
	if (!c->listed)
		return;
	TAILQ_REMOVE(c->phase == LP_PENDING ? &c->l->pending :
	    &c->l->waiting, c, next);
	c->listed = 0;
}

/* Arms c's timer for monotonic time at (now: already past). */
static void
limits_arm(struct limits_conn *c, double at, double now)
{
	struct timeval tv = { 0, 0 };
	double d = at - now;

	if (d > 0) {
		tv.tv_sec = (time_t)d;
		tv.tv_usec = (suseconds_t)((d - (double)tv.tv_sec) * 1e6) + 1;
		if (tv.tv_usec >= 1000000) {
			tv.tv_sec++;
			tv.tv_usec -= 1000000;
		}
	}
	evtimer_add(c->timer, &tv);
}

/* Forgets c (its connection is closing or was never attached). */
static void
limits_release(struct limits_conn *c)
{
	struct limits *l = c->l;

	limits_unlist(c);
	if (c->incb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev),
		    c->incb);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->counted) {
		if (addrtab_del(l->addrs, c->key) != 0)
			log_err("http: connection table out of step for %s",
			    c->addr);
		l->nconns--;
	}
	if (c->fd >= 0 && (size_t)c->fd < l->nbyfd && l->byfd[c->fd] == c)
		l->byfd[c->fd] = NULL;
	free(c);
}

/* Closes c's connection, saying why (the setting's value in the line). */
static void
limits_close(struct limits_conn *c, enum limits_why why, long value)
{
	struct limits *l = c->l;
	int fd = c->fd;

	l->closed[why]++;
	ratelog_msg(&l->rl[why], limits_whys[why].level,
	    "http: closed a connection from %s: %s %ld %s (%s)", c->addr,
	    limits_whys[why].pre, value, limits_whys[why].post,
	    limits_whys[why].key);
	/* evhttp runs the close callback, which releases c */
	evhttp_connection_free(c->evcon);
	if ((size_t)fd < l->nbyfd && l->byfd[fd] == c) {
		log_err("http: no close callback for %s's connection",
		    c->addr);
		limits_release(c);
	}
}

/* The phase's deadline (for BODY: as of the bytes received so far). */
static double
limits_deadline(const struct limits_conn *c)
{
	const struct limits_config *lc = &c->l->c;

	switch (c->phase) {
	case LP_HANDSHAKE:
		return c->tls_by < c->head_by ? c->tls_by : c->head_by;
	case LP_HEAD:
		return c->head_by;
	case LP_BODY:
		return c->body_t0 + (double)lc->body_timeout +
		    (lc->body_min_rate > 0 ? (double)c->body /
		    (double)lc->body_min_rate : 0);
	case LP_IDLE:
		return c->idle_by;
	default:
		return -1;
	}
}

/* The SSL of a TLS connection (also under a filter), or NULL. */
static SSL *
limits_ssl(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	struct bufferevent *u;

	if (ssl == NULL && (u = bufferevent_get_underlying(bev)) != NULL)
		ssl = bufferevent_openssl_get_ssl(u);
	return ssl;
}

static void
limits_timer(evutil_socket_t fd, short what, void *arg)
{
	struct limits_conn *c = arg;
	const struct limits_config *lc = &c->l->c;
	double now = ratelog_now(), by;
	SSL *ssl;

	if (c->phase == LP_HANDSHAKE && (ssl = limits_ssl(c->bev)) != NULL &&
	    SSL_is_init_finished(ssl))
		c->phase = LP_HEAD;
	if ((by = limits_deadline(c)) < 0)
		return;
	if (now < by) {
		limits_arm(c, by, now);
		return;
	}
	switch (c->phase) {
	case LP_HANDSHAKE:
		if (c->tls_by <= c->head_by) {
			limits_close(c, LW_TLS, lc->tls_timeout);
			break;
		}
		/* FALLTHROUGH */
	case LP_HEAD:
		limits_close(c, LW_HEAD, lc->header_timeout);
		break;
	case LP_BODY:
		limits_close(c, LW_BODY, lc->body_min_rate);
		break;
	default:
		limits_close(c, LW_IDLE, lc->keepalive_timeout);
		break;
	}
}

/* Bytes at offset off..off+n of buf: the head scanned, the body counted. */
static void
limits_see(struct limits_conn *c, struct evbuffer *buf, size_t off,
    size_t n, double now)
{
	struct evbuffer_iovec v[LIMITS_PEEK_VECS];
	struct evbuffer_ptr pos;
	long end;
	int i, nv;

	while (n > 0 && c->phase == LP_HEAD) {
		if (evbuffer_ptr_set(buf, &pos, off, EVBUFFER_PTR_SET) != 0 ||
		    (nv = evbuffer_peek(buf, (ev_ssize_t)n, &pos, v,
		    LIMITS_PEEK_VECS)) <= 0)
			return;
		for (i = 0; i < nv && i < LIMITS_PEEK_VECS && n > 0; i++) {
			if (v[i].iov_len > n)
				v[i].iov_len = n;
			end = limits_head_scan(&c->scan, v[i].iov_base,
			    v[i].iov_len);
			if (end >= 0) {
				c->phase = LP_BODY;
				c->body_t0 = now;
				c->body = 0;
				off += (size_t)end;
				n -= (size_t)end;
				break;
			}
			off += v[i].iov_len;
			n -= v[i].iov_len;
		}
	}
	if (c->phase == LP_BODY)
		c->body += n;
}

/* Input callback: bytes arrived (or evhttp drained some). */
static void
limits_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct limits_conn *c = arg;
	double now;
	size_t len;

	if (info->n_added == 0 || c->phase == LP_BUSY)
		return;
	now = ratelog_now();
	len = evbuffer_get_length(buf);
	if (c->phase == LP_HANDSHAKE)
		c->phase = LP_HEAD;	/* head_by runs from accept */
	else if (c->phase == LP_IDLE) {
		c->phase = LP_HEAD;
		c->head_by = now + (double)c->l->c.header_timeout;
		c->scan = 0;
		limits_arm(c, c->head_by, now);
	}
	limits_see(c, buf, len >= info->n_added ? len - info->n_added : 0,
	    info->n_added, now);
}

/* The attached connection of evcon, or NULL. */
static struct limits_conn *
limits_of(const struct limits *l, struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	struct limits_conn *c;

	if (fd < 0 || (size_t)fd >= l->nbyfd || (c = l->byfd[fd]) == NULL ||
	    c->evcon != evcon)
		return NULL;
	return c;
}

/* ---- attaching at accept ------------------------------------------------ */

/* byfd[fd] = c, growing the table. */
static int
limits_byfd_set(struct limits *l, int fd, struct limits_conn *c)
{
	struct limits_conn **t;
	size_t n;

	if ((size_t)fd >= l->nbyfd) {
		n = l->nbyfd > 0 ? l->nbyfd : 256;
		while (n <= (size_t)fd)
			n *= 2;
		if ((t = realloc(l->byfd, n * sizeof(*t))) == NULL)
			return -1;
		memset(t + l->nbyfd, 0, (n - l->nbyfd) * sizeof(*t));
		l->byfd = t;
		l->nbyfd = n;
	}
	if (l->byfd[fd] != NULL) {
		/* its close callback never ran: should not happen */
		log_err("http: descriptor %d reused before its connection "
		    "was forgotten", fd);
		l->byfd[fd]->fd = -1;
		limits_release(l->byfd[fd]);
	}
	l->byfd[fd] = c;
	return 0;
}

/* Makes room for one more connection: closes the one that has waited
 * longest for a request, which may be the newest itself. */
static void
limits_make_room(struct limits *l)
{
	struct limits_conn *old = TAILQ_FIRST(&l->waiting);

	if (old != NULL)
		limits_close(old, LW_FULL, l->c.max_conns);
}

/* Attaches c: its descriptor, connection, address and deadlines.  0, or
 * -1 when it cannot be tracked (c is then to be freed). */
static int
limits_attach_one(struct limits *l, struct limits_conn *c, double now)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	void *cbarg = NULL;
	unsigned n;

	c->fd = bufferevent_getfd(c->bev);
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	c->evcon = cbarg;
	if (c->fd < 0 || c->evcon == NULL ||
	    evhttp_connection_get_bufferevent(c->evcon) != c->bev ||
	    getpeername(c->fd, (struct sockaddr *)&ss, &sslen) != 0 ||
	    addrtab_key((struct sockaddr *)&ss, c->key) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    c->addr, sizeof(c->addr));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    c->addr, sizeof(c->addr));
	if ((c->timer = evtimer_new(l->base, limits_timer, c)) == NULL ||
	    (c->incb = evbuffer_add_cb(bufferevent_get_input(c->bev),
	    limits_input, c)) == NULL || limits_byfd_set(l, c->fd, c) != 0)
		return -1;
	evhttp_connection_set_closecb(c->evcon, c->closecb, c->closearg);
	c->phase = c->tls ? LP_HANDSHAKE : LP_HEAD;
	c->head_by = now + (double)l->c.header_timeout;
	c->tls_by = now + (double)l->c.tls_timeout;
	TAILQ_INSERT_TAIL(&l->waiting, c, next);
	c->listed = 1;
	limits_arm(c, limits_deadline(c), now);
	/* counted last: a failure above leaves no count behind */
	n = addrtab_add(l->addrs, c->key);
	if (n > 0) {
		c->counted = 1;
		if (++l->nconns > l->peak)
			l->peak = l->nconns;
	}
	if (n == 0 || (long)n > l->c.max_per_addr)
		limits_close(c, n == 0 ? LW_FULL : LW_ADDR, n == 0 ?
		    l->c.max_conns : l->c.max_per_addr);
	else if ((long)l->nconns > l->c.max_conns)
		limits_make_room(l);
	return 0;
}

/* On the loop turn after the accepts: attach every pending connection. */
static void
limits_attach(evutil_socket_t fd, short what, void *arg)
{
	struct limits *l = arg;
	struct evhttp_connection *evcon;
	struct limits_conn *c;
	double now = ratelog_now();

	while ((c = TAILQ_FIRST(&l->pending)) != NULL) {
		limits_unlist(c);
		if (limits_attach_one(l, c, now) != 0) {
			/* untimed, it must not stay: closed (no request of
			 * it has reached a handler yet) */
			ratelog_msg(&l->rl[LW_FULL], LOGL_WARN, "http: a "
			    "connection could not be tracked (gone already, or "
			    "out of memory): closed");
			evcon = c->evcon;
			if (evcon == NULL ||
			    evhttp_connection_get_bufferevent(evcon) != c->bev)
				evcon = NULL;
			limits_release(c);
			if (evcon != NULL)
				evhttp_connection_free(evcon);
		}
	}
}

int
limits_conn_new(struct limits *l, struct bufferevent *bev, int tls,
    void (*closecb)(struct evhttp_connection *, void *), void *arg)
{
	struct limits_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->l = l;
	c->bev = bev;
	c->tls = tls;
	c->fd = -1;
	c->closecb = closecb;
	c->closearg = arg;
	c->phase = LP_PENDING;
	TAILQ_INSERT_TAIL(&l->pending, c, next);
	c->listed = 1;
	event_active(l->attach, EV_TIMEOUT, 0);
	return 0;
}

void
limits_conn_closed(struct limits *l, struct evhttp_connection *evcon)
{
	struct limits_conn *c = limits_of(l, evcon);

	if (c != NULL)
		limits_release(c);
}

void
limits_req_started(struct limits *l, struct evhttp_connection *evcon)
{
	struct limits_conn *c = limits_of(l, evcon);

	if (c == NULL)
		return;
	limits_unlist(c);
	c->phase = LP_BUSY;
	evtimer_del(c->timer);
}

void
limits_req_done(struct limits *l, struct evhttp_connection *evcon)
{
	struct limits_conn *c = limits_of(l, evcon);
	struct evbuffer *in;
	double now = ratelog_now();
	size_t n;

	if (c == NULL)
		return;
	limits_unlist(c);
	TAILQ_INSERT_TAIL(&l->waiting, c, next);
	c->listed = 1;
	c->scan = 0;
	in = bufferevent_get_input(c->bev);
	if ((n = evbuffer_get_length(in)) > 0) {
		/* a pipelined request is already here */
		c->phase = LP_HEAD;
		c->head_by = now + (double)l->c.header_timeout;
		limits_see(c, in, 0, n, now);
	} else {
		c->phase = LP_IDLE;
		c->idle_by = now + (double)l->c.keepalive_timeout;
	}
	limits_arm(c, limits_deadline(c), now);
}

size_t
limits_conns(const struct limits *l)
{
	return l->nconns;
}

void
limits_stats(const struct limits *l, struct limits_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->conns = l->nconns;
	st->max_conns = l->c.max_conns;
	memcpy(st->closed, l->closed, sizeof(st->closed));
	st->accept_pauses = l->pauses;
}

const char *
limits_why_name(int i)
{
	return i >= 0 && i < LW_N ? limits_whys[i].metric : "?";
}

/* ---- the whole -------------------------------------------------------- */

/* Every second: the swallowed warnings' counts, and memory after a storm. */
static void
limits_tick(evutil_socket_t fd, short what, void *arg)
{
	struct limits *l = arg;
	size_t i;

	for (i = 0; i < LW_N; i++)
		ratelog_flush(&l->rl[i]);
	for (i = 0; i < l->nlis; i++)
		if (l->lis[i].lev != NULL)
			ratelog_flush(&l->lis[i].rl);
	/* The storm's connections are gone but glibc keeps their memory
	 * (freed chunks below a live one at the heap's top stay mapped):
	 * give it back, one tick after the count fell, when the last of
	 * them have closed too. */
	if (l->peak < LIMITS_TRIM_PEAK || l->nconns > l->peak / 4)
		l->trim_armed = 0;
	else if (!l->trim_armed)
		l->trim_armed = 1;
	else {
		l->trim_armed = 0;
		(void)malloc_trim(0);
		log_info("http: %zu connections at the peak, %zu now: "
		    "returned freed memory", l->peak, l->nconns);
		l->peak = l->nconns;
	}
}

struct limits *
limits_new(struct event_base *base, const struct limits_config *c)
{
	struct timeval tick = { LIMITS_TICK_MS / 1000,
	    (LIMITS_TICK_MS % 1000) * 1000 };
	struct limits *l;
	size_t i;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->base = base;
	l->c = *c;
	TAILQ_INIT(&l->pending);
	TAILQ_INIT(&l->waiting);
	for (i = 0; i < LW_N; i++)
		ratelog_init(&l->rl[i], LIMITS_LOG_INTERVAL);
	if (c->max_conns < 1 || c->max_per_addr < 1 ||
	    (l->addrs = addrtab_new((size_t)c->max_conns)) == NULL ||
	    (l->attach = event_new(base, -1, 0, limits_attach, l)) == NULL ||
	    (l->tick = event_new(base, -1, EV_PERSIST, limits_tick,
	    l)) == NULL || event_add(l->tick, &tick) != 0) {
		limits_free(l);
		return NULL;
	}
	return l;
}

void
limits_free(struct limits *l)
{
	struct limits_conn *c;
	size_t i;

	if (l == NULL)
		return;
	while ((c = TAILQ_FIRST(&l->pending)) != NULL)
		limits_release(c);
	for (i = 0; i < l->nbyfd; i++)
		if (l->byfd[i] != NULL)
			limits_release(l->byfd[i]);
	for (i = 0; i < l->nlis; i++)
		if (l->lis[i].lev != NULL)
			limits_unlisten(l, l->lis[i].lev);
	if (l->attach != NULL)
		event_free(l->attach);
	if (l->tick != NULL)
		event_free(l->tick);
	addrtab_free(l->addrs);
	free(l->byfd);
	free(l);
}

int
limits_evhttp_timeout(const struct limits *l)
{
	long t = LIMITS_EVHTTP_MIN;

	if (l->c.keepalive_timeout + 1 > t)
		t = l->c.keepalive_timeout + 1;
	if (l->c.header_timeout + 1 > t)
		t = l->c.header_timeout + 1;
	if (l->c.body_timeout + 1 > t)
		t = l->c.body_timeout + 1;
	if (l->c.tls_timeout + 1 > t)
		t = l->c.tls_timeout + 1;
	return (int)t;
}

/* See http.h.  Connections already timed keep the deadlines they have;
 * their next ones (a kept-alive connection's next request) are c's. */
void
limits_reconfigure(struct limits *l, const struct limits_config *c)
{
	long max_conns = l->c.max_conns;	/* sizes addrs: kept */

	l->c = *c;
	l->c.max_conns = max_conns;
}
