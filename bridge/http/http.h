/*
 * http.h: the HTTP front door (bridge/http/): listeners, TLS, routing,
 * limits, replies (server.c, server_route.c) and the strict query strings
 * (query.c).  The one place where connections are accepted and timed.
 * It knows nothing of the ledger, the API or the metrics: a server reports
 * each answered request to an observer (server_set_observer).
 *
 * Query strings:
 * A query is application/x-www-form-urlencoded (WHATWG URL, "urlencoded
 * parsing"): name=value pairs joined by '&', '+' for a space, %XX escapes;
 * empty pairs ("a=1&&b=2", a trailing '&') are skipped and a pair without
 * '=' is a name with an empty value.  Stricter than WHATWG: a '%' must
 * start a two-hex-digit escape, a decoded name or value holds no NUL or
 * other control character, a value is at most SERVER_QUERY_VALUE_MAX
 * bytes, a name SERVER_QUERY_NAME_MAX, the whole query
 * SERVER_QUERY_MAX bytes in SERVER_QUERY_PARAMS pairs at most, and a
 * name appears once.
 */
#ifndef KEYBRIDGE_HTTP_H
#define KEYBRIDGE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#define SERVER_QUERY_MAX	2048	/* bytes of the raw query string */
#define SERVER_QUERY_PARAMS	16	/* name=value pairs in one query */
#define SERVER_QUERY_NAME_MAX	32	/* bytes of a decoded name */
#define SERVER_QUERY_VALUE_MAX	256	/* bytes of a decoded value */

/*
 * Checks the whole query of req against the rules above and the parameter
 * names a resource takes (names: NULL-terminated; NULL or empty: none).
 * Returns 0 when it passes; -1 with a one-line message in msg (msglen
 * bytes) that names the offending parameter (undecodable bytes shown as
 * %XX), for a 400.
 */
int server_query_check(struct evhttp_request *req, const char *const *names,
    char *msg, size_t msglen);
/* The same check of a raw query string (the part after '?', still
 * %-encoded; NULL: no query), without a request: what the fuzz target
 * tests/fuzz/fuzz_query.c drives. */
int server_query_check_str(const char *query, const char *const *names,
    char *msg, size_t msglen);

/* Strict unsigned decimal: digits only, at least one, no sign, no
 * overflow.  Returns 0 with *v set, or -1. */
int server_parse_u64(const char *s, uint64_t *v);

/* ---- server.c, server_route.c: HTTP(S) listeners on libevent evhttp --- */

/* The families of routes, by path (server_family_of): what the metrics
 * label a request with, and which methods a route takes. */
enum server_family {
	SERVER_EST, SERVER_OCSP, SERVER_CRL, SERVER_API, SERVER_OTHER,
	SERVER_NFAMILIES
};
/* The family of a route path ("/.well-known/est/": SERVER_EST, ...). */
int server_family_of(const char *route);

struct server;
typedef void (*server_handler)(struct evhttp_request *req, void *arg);

/* A TLS server context for cert (chain PEM) and key: TLS 1.2 and 1.3,
 * session resumption on.  With client_ca (a PEM bundle) a client
 * certificate is requested but optional; its verification outcome is left
 * in SSL_get_verify_result().  NULL with err set on failure. */
SSL_CTX *server_tls_ctx(const char *cert_chain, const char *key,
    const char *client_ca, char *err, size_t errlen);
/* SIGHUP: server_tls_ctx for another certificate and key, with like's
 * client CAs and their store (shared, up-ref'd) in place of a client_ca
 * file.  NULL with err set. */
SSL_CTX *server_tls_ctx_like(SSL_CTX *like, const char *cert_chain,
    const char *key, char *err, size_t errlen);
/* Trusts x (a CA certificate) for client certificates too and names it
 * in the CertificateRequest (issue 17: every served issuing CA, so a
 * device of an issuer rolled over from still re-enrolls).  0 or -1. */
int server_tls_add_client_ca(SSL_CTX *ctx, X509 *x);
/* Listens on "ADDR:PORT" ("[::1]:PORT" for IPv6).  With tls non-NULL every
 * connection is TLS through bufferevent_openssl (tls is borrowed; the SSL
 * objects are owned by their bufferevents).  NULL with err set. */
struct server *server_new(struct event_base *base, const char *listen,
    SSL_CTX *tls, size_t max_body, char *err, size_t errlen);
/* server_new with SO_REUSEPORT on the listening socket: several servers
 * (one per event loop, ocsp_loops) listen on one address and the kernel
 * spreads the connections among them.  Every socket on the address must
 * be made so, by the same user (Linux refuses another's). */
struct server *server_new_reuseport(struct event_base *base,
    const char *listen, SSL_CTX *tls, size_t max_body, char *err,
    size_t errlen);
/* Stops accepting and frees the listener and its connections. */
void server_free(struct server *s);
/* With quiet set, requests are logged only at log level debug (the OCSP
 * listener: tens of thousands of lines a second say nothing useful). */
void server_set_quiet(struct server *s, int quiet);
/* With plain set, every request the front check refuses is answered with
 * one line of text, on every route (a validator's listener: its protocol
 * is text), not only on EST, OCSP and CRL routes. */
void server_set_plain(struct server *s, int plain);
/* A GET or HEAD of "/" that no route takes is answered 302 Found to
 * location (copied; NULL: the 404 as before).  The dashboard's redirect
 * of https://HOST:PORT/ (issue 17).  0 or -1. */
int server_set_root_redirect(struct server *s, const char *location);
/* fn(arg) runs if req's connection closes before its reply is complete
 * (a long-lived reply such as an event stream); req must not be touched
 * after.  0, or -1 when req is not one of s's requests in flight. */
int server_req_on_close(struct server *s, struct evhttp_request *req,
    void (*fn)(void *), void *arg);
/* fn(arg, family, status, seconds) runs for every answered request of s
 * (on the loop thread); arg is borrowed.  NULL fn: none. */
void server_set_observer(struct server *s,
    void (*fn)(void *arg, int family, int code, double seconds), void *arg);
/* Routes requests whose path is `path` exactly, or starts with `path` when
 * it ends in '/', to h.  The longest match wins; no match: 404 JSON error. */
int server_route(struct server *s, const char *path, server_handler h,
    void *arg);
/* server_route for a route that answers HEAD too (its replies go through
 * server_send_reply); HEAD elsewhere is a 405. */
int server_route_head(struct server *s, const char *path, server_handler h,
    void *arg);
/* Runs the handler of s's route for req's path, as s's dispatch would
 * after its checks (no log line, no limits: req is another server's,
 * which did those; bridge/serve_loops.c hands the main loop the requests
 * of the other OCSP loops so).  0, or -1 when no route matches. */
int server_route_run(struct server *s, struct evhttp_request *req);
/* The path of s's i-th route (server_route's), NULL past the last. */
const char *server_route_at(const struct server *s, size_t i);
/* The bound port (useful with port 0). */
int server_port(struct server *s);

/* ---- strict framing (front.c, strict.c) -------------------------------- */

/* The declared body limit of requests to routes without their own
 * (default: server_new's max_body).  A Content-Length over a route's limit
 * is answered 413 before the body is read, and a chunked body past it is
 * refused as soon as it passes it (docs/design.md "Front door"). */
void server_set_body_limit(struct server *s, size_t max);
/* The body limit of the route registered at path (server_route's path).
 * 0, or -1 when there is no such route. */
int server_route_limit(struct server *s, const char *path, size_t max);
/* Requests s's front check refused for reason number r (0 ..), or 0. */
uint64_t server_refused(const struct server *s, int r);
/* The label of refusal reason r ("bare_lf"), NULL past the last one: the
 * metrics loop over r = 1, 2, ... until NULL. */
const char *server_refusal_name(int r);

/* Copies srclen bytes of client input into dst (dstlen bytes, always
 * NUL-terminated) for an error message: well-formed UTF-8 kept, other
 * bytes and control characters as %XX, cut between characters when dst
 * is full.  Returns the bytes written. */
size_t server_escape(char *dst, size_t dstlen, const char *src,
    size_t srclen);
/* Copies src into dst for a log line: printable ASCII only, truncated. */
void server_log_copy(char *dst, size_t dstlen, const char *src);
/* "GET", "POST", ... of cmd ("?" for another). */
const char *server_method_name(enum evhttp_cmd_type cmd);

/* ---- reply.c ------------------------------------------------------------ */

#define SERVER_ERRMSG	512	/* bytes of an error message */


/* The reason phrase of status that evhttp 2.1 does not know (it says
 * "Unknown Status"), or NULL for evhttp's own. */
const char *server_reason(int status);
/* Replies with a JSON body (body is stolen: json_decref'd here). */
void server_reply_json(struct evhttp_request *req, int status, json_t *body);
/* The same with the JSON already as text (len bytes; a newline is added). */
void server_reply_json_text(struct evhttp_request *req, int status,
    const char *text, size_t len);
/* evhttp_send_reply, with the reply made one TLS record on a TLS
 * connection.  req must not be used afterwards. */
void server_send_reply(struct evhttp_request *req, int status,
    const char *reason, struct evbuffer *body);
/* Replies {"error":{"code":code,"message":...}} with status. */
void server_reply_error(struct evhttp_request *req, int status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Copies the request body (NUL-terminated) into a malloc'd buffer when it is
 * at most max bytes.  Returns 0, 1 when too large, -1 on error. */
int server_body(struct evhttp_request *req, size_t max, char **buf,
    size_t *len);
/* Query parameter `name` of req, copied into buf.  Returns 1 when absent,
 * 0 when present, -1 when the query is malformed or the value too long. */
int server_query_str(struct evhttp_request *req, const char *name, char *buf,
    size_t len);
/* Parses query parameter `name` of req as an unsigned integer in [min,max].
 * Returns 1 when absent (v untouched), 0 when valid, -1 when malformed or
 * out of range. */
int server_query_u64(struct evhttp_request *req, const char *name,
    uint64_t min, uint64_t max, uint64_t *v);

/* ---- addrtab.c: connections per client address ------------------------ */

#define ADDRTAB_KEY	16	/* bytes of a key: an IPv6 address (or /64) */

struct sockaddr;
struct addrtab;
/* A table for at most max_addrs distinct addresses.  NULL on error. */
struct addrtab *addrtab_new(size_t max_addrs);
void addrtab_free(struct addrtab *t);
/* The key of a peer: IPv4 as IPv4-mapped IPv6, IPv6 by its /64 (an
 * IPv4-mapped one whole).  0, or -1 for another family. */
int addrtab_key(const struct sockaddr *sa, unsigned char key[ADDRTAB_KEY]);
/* One more connection from key: its new count, or 0 when key is new and
 * the table already holds max_addrs addresses. */
unsigned addrtab_add(struct addrtab *t, const unsigned char key[ADDRTAB_KEY]);
/* One less: 0, or -1 when key holds none (an internal error). */
int addrtab_del(struct addrtab *t, const unsigned char key[ADDRTAB_KEY]);
/* Connections counted for key (0: none). */
unsigned addrtab_count(const struct addrtab *t,
    const unsigned char key[ADDRTAB_KEY]);
/* Distinct addresses held. */
size_t addrtab_size(const struct addrtab *t);

/* ---- limits.c: deadlines and connection caps of the listeners --------- */

/* The front door's limits (keybridge.conf's http_* keys, docs/operations.md
 * "Connection limits"). */
struct limits_config {
	long header_timeout;	/* s: a request head, whole */
	long body_timeout;	/* s: a body's grace before the rate counts */
	long body_min_rate;	/* bytes/s a body must keep up; 0: none */
	long tls_timeout;	/* s: a TLS handshake */
	long keepalive_timeout;	/* s: idle between two requests */
	long max_per_addr;	/* connections from one client address */
	long max_conns;		/* connections in all (limits_fd_budget) */
};

struct limits;
struct bufferevent;
struct evconnlistener;
struct evhttp_connection;

/* Raises RLIMIT_NOFILE to its hard limit and returns the global cap: the
 * limit less reserve descriptors (the store, the key process, the
 * validators), and at most configured when configured > 0; at least 1.
 * The raised limit is in *nofile.  -1 when the limit cannot be read. */
long limits_fd_budget(long configured, long reserve, long *nofile);
/* The cap of limits_fd_budget for a descriptor limit nofile. */
long limits_cap_for(long nofile, long reserve, long configured);

/* Limits on base with the settings of c (copied).  NULL on error. */
struct limits *limits_new(struct event_base *base,
    const struct limits_config *c);
/* After every server using l is freed. */
void limits_free(struct limits *l);
/* SIGHUP: c's deadlines, body rate and per-address cap from now on;
 * max_conns stays (the address table is sized for it).  Loop thread;
 * then server_limits_changed for each server of l. */
void limits_reconfigure(struct limits *l, const struct limits_config *c);
/* evhttp_set_timeout's value: above every deadline of l, so evhttp's own
 * idle timeout (reset by each byte) is only the write side's. */
int limits_evhttp_timeout(const struct limits *l);
/* Pauses lev's accepts briefly on accept errors (EMFILE, ENFILE, ENOMEM,
 * ENOBUFS) instead of libevent's retry-at-once; name is for the log.
 * lev is borrowed until limits_unlisten.  0 or -1. */
int limits_listen(struct limits *l, struct evconnlistener *lev,
    const char *name);
void limits_unlisten(struct limits *l, struct evconnlistener *lev);
/* From an evhttp bevcb: bev is the new connection's (borrowed; evhttp
 * gives it its socket right after).  The connection is counted and timed
 * from the loop's next turn on; closecb(evcon, arg) is set on it then and
 * must call limits_conn_closed.  0, or -1 (not tracked). */
int limits_conn_new(struct limits *l, struct bufferevent *bev, int tls,
    void (*closecb)(struct evhttp_connection *, void *), void *arg);
/* evcon closes (its close callback): forget it. */
void limits_conn_closed(struct limits *l, struct evhttp_connection *evcon);
/* A request of evcon reached its handler: no deadline while it runs. */
void limits_req_started(struct limits *l, struct evhttp_connection *evcon);
/* Its reply is written: the keep-alive deadline runs. */
void limits_req_done(struct limits *l, struct evhttp_connection *evcon);
/* Connections counted now. */
size_t limits_conns(const struct limits *l);

/* Why limits closed connections (limits_stats' closed[]). */
#define LIMITS_NWHY	6
/* What l has done, for /metrics. */
struct limits_stats {
	size_t conns;			/* open now */
	long max_conns;			/* the cap */
	unsigned long closed[LIMITS_NWHY];
	unsigned long accept_pauses;
};
void limits_stats(const struct limits *l, struct limits_stats *st);
/* The /metrics label of closed[i]: "tls_handshake_timeout", ... */
const char *limits_why_name(int i);

/* The end of a request head (an empty line after the request line, CRLF
 * or bare LF as evhttp reads them) in n more bytes at p: the offset just
 * past it, or -1 when not yet; *st carries the state between calls (0 at
 * a request's start). */
long limits_head_scan(unsigned *st, const unsigned char *p, size_t n);

/* Lets s's connections be counted and timed by l (borrowed; it outlives
 * s).  0 or -1. */
int server_set_limits(struct server *s, struct limits *l, const char *name);
/* After limits_reconfigure: evhttp's timeout above s's new deadlines. */
void server_limits_changed(struct server *s);
/* SIGHUP: new TLS connections of s use tls (borrowed, as server_new's);
 * established ones keep the context they were made with, since each SSL
 * holds a reference to its SSL_CTX: the caller may SSL_CTX_free the old
 * one at once.  Loop thread. */
void server_set_tls(struct server *s, SSL_CTX *tls);

#endif
