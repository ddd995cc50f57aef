/*
 * client.c: the CLI's blocking HTTP(S) client to a running bridge.
 *
 * One request per call on a private event_base, following libevent's
 * sample/https-client.c: evhttp_connection_base_bufferevent_new() over a
 * bufferevent_openssl in the connecting state, which owns the SSL object.
 * The server is verified against a CA file: the chain (SSL_VERIFY_PEER) and
 * the URL's host, as a DNS name (with SNI) or an IP address (RFC 6125; no
 * SNI for addresses, RFC 6066 3).
 *
 * evhttp reports most failures as "no response" without saying why, so the
 * reason is reconstructed from what we observed ourselves: the certificate
 * verify callback, whether the server sent any TLS bytes, errno at the time
 * of the failure, and the clock.
 */
#include <sys/socket.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <openssl/crypto.h>

#include "bridge/cli/cli.h"

#define CLIENT_TIMEOUT	30		/* seconds, connect to last byte */
#define CLIENT_MAX_URI	2048
#define CLIENT_HOST_MAX	256
#define CLIENT_PROBE_MS	5000		/* diagnostic reconnect */

/* What one request saw; shared by the callbacks and client_request. */
struct client_state {
	struct event_base *base;
	struct client_response *r;
	int done;			/* a response arrived */
	int failed;			/* no response: see below */
	int evreq_error;		/* enum evhttp_request_error + 1, or 0 */
	int tls_bytes_in;		/* the server sent TLS records */
	long verify_error;		/* X509_V_OK or the first failure */
	char verify_subject[256];	/* of the certificate that failed */
	int oom;
};

/* Records the first certificate failure instead of letting it vanish into
 * a generic handshake error.  The handshake still fails (we return
 * preverify_ok). */
static int
client_verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct client_state *st = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *cert;

	if (preverify_ok != 1 && st != NULL && st->verify_error == X509_V_OK) {
		st->verify_error = X509_STORE_CTX_get_error(xs);
		if ((cert = X509_STORE_CTX_get_current_cert(xs)) != NULL)
			X509_NAME_oneline(X509_get_subject_name(cert),
			    st->verify_subject, sizeof(st->verify_subject));
	}
	return preverify_ok;
}

/* Notes that the peer spoke TLS at all (any record received). */
static void
client_msg_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct client_state *st = SSL_get_app_data(ssl);

	if (write_p == 0 && st != NULL)
		st->tls_bytes_in = 1;
}

static void
client_error_cb(enum evhttp_request_error e, void *arg)
{
	struct client_state *st = arg;

	st->evreq_error = (int)e + 1;
}

/* evhttp's request callback: req is NULL, or has response code 0, when no
 * response arrived.  The response is freed by evhttp after we return. */
static void
client_done_cb(struct evhttp_request *req, void *arg)
{
	struct client_state *st = arg;
	struct evbuffer *in;
	size_t n;

	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		st->failed = 1;
		goto out;
	}
	in = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(in);
	if ((st->r->body = malloc(n + 1)) == NULL) {
		st->oom = 1;
		goto out;
	}
	if (n > 0 && evbuffer_copyout(in, st->r->body, n) != (ev_ssize_t)n) {
		st->oom = 1;
		goto out;
	}
	st->r->body[n] = '\0';
	st->r->len = n;
	st->r->status = evhttp_request_get_response_code(req);
	st->done = 1;
out:
	event_base_loopbreak(st->base);
}

static int
client_method(const char *m, enum evhttp_cmd_type *cmd)
{
	static const struct {
		const char *name;
		enum evhttp_cmd_type cmd;
	} tab[] = {
		{ "GET", EVHTTP_REQ_GET }, { "POST", EVHTTP_REQ_POST },
		{ "HEAD", EVHTTP_REQ_HEAD }, { "PUT", EVHTTP_REQ_PUT },
		{ "DELETE", EVHTTP_REQ_DELETE },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(m, tab[i].name) == 0) {
			*cmd = tab[i].cmd;
			return 0;
		}
	return -1;
}

/* A verifying client context: TLS 1.2+, chain checked against cafile. */
static SSL_CTX *
client_tls_ctx(const char *cafile, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL, *ret = NULL;
	char buf[256] = "";

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		snprintf(err, errlen, "cannot create TLS context");
		goto out;
	}
	if (cafile != NULL ? SSL_CTX_load_verify_locations(ctx, cafile,
	    NULL) != 1 : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
		snprintf(err, errlen, "cannot load CA file %s: %s",
		    cafile ? cafile : "(system default)", buf);
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, client_verify_cb);
	SSL_CTX_set_msg_callback(ctx, client_msg_cb);
	ret = ctx;
	ctx = NULL;
out:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return ret;
}

/* A new SSL for host (brackets already stripped) with name checks and SNI.
 * The caller hands it to a bufferevent. */
static SSL *
client_ssl(SSL_CTX *ctx, const char *host, struct client_state *st,
    char *err, size_t errlen)
{
	SSL *ssl = NULL, *ret = NULL;
	X509_VERIFY_PARAM *vp;
	unsigned char a[sizeof(struct in6_addr)];
	int is_ip;

	/* The callbacks find the request's state through the app data. */
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_app_data(ssl, st) != 1) {
		snprintf(err, errlen, "cannot create TLS connection");
		goto out;
	}
	vp = SSL_get0_param(ssl);
	is_ip = inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
	if (is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
			snprintf(err, errlen, "bad IP address %s", host);
			goto out;
		}
	} else {
		X509_VERIFY_PARAM_set_hostflags(vp,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (X509_VERIFY_PARAM_set1_host(vp, host, 0) != 1 ||
		    SSL_set_tlsext_host_name(ssl, host) != 1) {
			snprintf(err, errlen, "bad host name %s", host);
			goto out;
		}
	}
	ret = ssl;
	ssl = NULL;
out:
	ERR_clear_error();
	SSL_free(ssl);
	return ret;
}

/*
 * Why could we not connect?  evhttp does not keep the socket error (by the
 * time it reports, errno belongs to a later call), so ask the network once
 * more with a plain TCP connect.  Returns 0 when host:port accepts a
 * connection now, else the errno of the attempt.  Diagnostic only.
 */
static int
client_probe(const char *host, int port)
{
	struct addrinfo hints, *res = NULL;
	struct pollfd pfd;
	char portstr[8];
	socklen_t len = sizeof(int);
	int fd = -1, e = 0, ret;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host, portstr, &hints, &res) != 0 || res == NULL) {
		ret = EHOSTUNREACH;
		goto out;
	}
	if ((fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0) {
		ret = errno;
		goto out;
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
		ret = 0;
		goto out;
	}
	if (errno != EINPROGRESS) {
		ret = errno;
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, CLIENT_PROBE_MS) != 1) {
		ret = ETIMEDOUT;
		goto out;
	}
	ret = getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 ? e : errno;
out:
	if (fd >= 0)
		close(fd);
	if (res != NULL)
		freeaddrinfo(res);
	return ret;
}

/* Explains a request that got no response, in err. */
static void
client_explain(const struct client_state *st, const char *url,
    const char *host, int port, int tls, time_t t0, char *err, size_t errlen)
{
	int e;

	if (st->verify_error != X509_V_OK) {
		snprintf(err, errlen, "TLS certificate of %s does not verify: "
		    "%s (certificate %s); is the CA file right?", url,
		    X509_verify_cert_error_string(st->verify_error),
		    st->verify_subject);
		return;
	}
	if (st->evreq_error == EVREQ_HTTP_TIMEOUT + 1 ||
	    time(NULL) - t0 >= CLIENT_TIMEOUT) {
		snprintf(err, errlen, "no answer from %s within %d s", url,
		    CLIENT_TIMEOUT);
		return;
	}
	if (tls && st->tls_bytes_in) {
		snprintf(err, errlen, "%s to %s failed", st->evreq_error ?
		    "connection" : "TLS handshake", url);
		return;
	}
	if ((e = client_probe(host, port)) == ECONNREFUSED)
		snprintf(err, errlen, "cannot connect to %s: connection "
		    "refused; is keybridge serve running?", url);
	else if (e != 0)
		snprintf(err, errlen, "cannot connect to %s: %s", url,
		    strerror(e));
	else
		snprintf(err, errlen, "connection to %s closed without %s",
		    url, tls ? "a TLS handshake" : "a response");
}

int
client_request(const char *base_url, const char *cafile,
    const char *method, const char *path, const char *content_type,
    const char *body, size_t len, struct client_response *r, char *err,
    size_t errlen)
{
	struct client_req q = { base_url, cafile, NULL, method, path,
	    content_type, body, len };

	return client_send(&q, r, err, errlen);
}

/* Where a request goes: base_url + path taken apart. */
struct client_target {
	char host[CLIENT_HOST_MAX];		/* no IPv6 brackets */
	char hosthdr[CLIENT_HOST_MAX + 8];	/* Host: header */
	char uri[CLIENT_MAX_URI];		/* base path + path */
	int port, tls;
};

/* Parses base_url ("https://HOST[:PORT][/prefix]") and path into t.
 * 0, or -1 with err. */
static int
client_target(const char *base_url, const char *path,
    struct client_target *t, char *err, size_t errlen)
{
	struct evhttp_uri *u;
	const char *scheme, *uhost, *upath;
	size_t hl, pl;
	int ret = -1;

	if ((u = evhttp_uri_parse(base_url)) == NULL ||
	    (scheme = evhttp_uri_get_scheme(u)) == NULL ||
	    (uhost = evhttp_uri_get_host(u)) == NULL || *uhost == '\0') {
		snprintf(err, errlen, "bad URL \"%s\": want https://HOST:PORT",
		    base_url);
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0)
		t->tls = 1;
	else if (strcasecmp(scheme, "http") == 0)
		t->tls = 0;
	else {
		snprintf(err, errlen, "bad URL \"%s\": scheme must be https or "
		    "http", base_url);
		goto out;
	}
	if ((t->port = evhttp_uri_get_port(u)) == -1)
		t->port = t->tls ? 443 : 80;
	/* libevent keeps an IPv6 literal's brackets in the host. */
	hl = strlen(uhost);
	if (uhost[0] == '[' && hl > 2 && uhost[hl - 1] == ']')
		snprintf(t->host, sizeof(t->host), "%.*s", (int)(hl - 2),
		    uhost + 1);
	else
		snprintf(t->host, sizeof(t->host), "%s", uhost);
	if (strchr(t->host, ':') != NULL)
		snprintf(t->hosthdr, sizeof(t->hosthdr), "[%s]:%d", t->host,
		    t->port);
	else
		snprintf(t->hosthdr, sizeof(t->hosthdr), "%s:%d", t->host,
		    t->port);
	/* base path ("https://h/prefix/") + path, one slash between. */
	upath = evhttp_uri_get_path(u);
	upath = upath ? upath : "";
	pl = strlen(upath);
	if (pl > 0 && upath[pl - 1] == '/' && path[0] == '/')
		pl--;
	if ((size_t)snprintf(t->uri, sizeof(t->uri), "%.*s%s", (int)pl, upath,
	    path) >= sizeof(t->uri) || t->uri[0] != '/') {
		snprintf(err, errlen, "bad request path %s", path);
		goto out;
	}
	ret = 0;
out:
	if (u != NULL)
		evhttp_uri_free(u);
	return ret;
}

/* A connection to t on base, over TLS verified against cafile when t says
 * https (*ctx is set: the caller frees it after the connection).  NULL
 * with err. */
static struct evhttp_connection *
client_connect(struct event_base *base, const struct client_target *t,
    const char *cafile, struct client_state *st, SSL_CTX **ctx, char *err,
    size_t errlen)
{
	struct bufferevent *bev = NULL;
	struct evhttp_connection *evcon;
	SSL *ssl;

	if (t->tls) {
		if ((*ctx = client_tls_ctx(cafile, err, errlen)) == NULL ||
		    (ssl = client_ssl(*ctx, t->host, st, err, errlen)) == NULL)
			return NULL;
		bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (bev == NULL) {
			SSL_free(ssl);
			snprintf(err, errlen, "cannot create TLS bufferevent");
			return NULL;
		}
		/* Framing comes from Content-Length; a missing close_notify
		 * after the response is not an error. */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	}
	/* evcon takes bev (NULL: a plain socket bufferevent of its own). */
	if ((evcon = evhttp_connection_base_bufferevent_new(base, NULL, bev,
	    t->host, (unsigned short)t->port)) == NULL) {
		if (bev != NULL)
			bufferevent_free(bev);	/* frees its SSL */
		snprintf(err, errlen, "cannot create HTTP connection");
		return NULL;
	}
	evhttp_connection_set_timeout(evcon, CLIENT_TIMEOUT);
	evhttp_connection_set_retries(evcon, 0);
	return evcon;
}

/* The request q for t, with its headers and body; NULL when out of
 * memory. */
static struct evhttp_request *
client_build(const struct client_req *q, const struct client_target *t,
    struct client_state *st)
{
	struct evhttp_request *req;
	struct evkeyvalq *h;

	if ((req = evhttp_request_new(client_done_cb, st)) == NULL)
		return NULL;
	evhttp_request_set_error_cb(req, client_error_cb);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", t->hosthdr);
	evhttp_add_header(h, "User-Agent", "keybridge/" KEYBRIDGE_VERSION);
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "Connection", "close");
	if (q->content_type != NULL)
		evhttp_add_header(h, "Content-Type", q->content_type);
	if (q->bearer != NULL && q->bearer[0] != '\0') {
		char auth[CONFIG_STR + 16];

		snprintf(auth, sizeof(auth), "Bearer %s", q->bearer);
		evhttp_add_header(h, "Authorization", auth);
		OPENSSL_cleanse(auth, sizeof(auth));
	}
	if (q->body != NULL && evbuffer_add(evhttp_request_get_output_buffer(
	    req), q->body, q->len) != 0) {
		evhttp_request_free(req);
		return NULL;
	}
	return req;
}

/* See cli.h. */
int
client_reachable(const char *base_url)
{
	struct client_target t;
	char err[256];

	if (client_target(base_url, "/", &t, err, sizeof(err)) != 0)
		return EINVAL;
	return client_probe(t.host, t.port);
}

/* See cli.h. */
int
client_send(const struct client_req *q, struct client_response *r,
    char *err, size_t errlen)
{
	struct client_state st;
	struct client_target t;
	struct event_base *base = NULL;
	struct evhttp_connection *evcon = NULL;
	struct evhttp_request *req;
	SSL_CTX *ctx = NULL;
	enum evhttp_cmd_type cmd;
	int ret = -1;
	time_t t0;

	memset(&st, 0, sizeof(st));
	memset(&t, 0, sizeof(t));
	st.verify_error = X509_V_OK;
	st.r = r;
	memset(r, 0, sizeof(*r));
	if (client_method(q->method, &cmd) != 0) {
		snprintf(err, errlen, "unsupported HTTP method %s", q->method);
		goto out;
	}
	if (client_target(q->base_url, q->path, &t, err, errlen) != 0)
		goto out;
	if ((base = event_base_new()) == NULL) {
		snprintf(err, errlen, "cannot create event base");
		goto out;
	}
	st.base = base;
	if ((evcon = client_connect(base, &t, q->cafile, &st, &ctx, err,
	    errlen)) == NULL)
		goto out;
	if ((req = client_build(q, &t, &st)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	t0 = time(NULL);
	/* evcon owns req from here, even when this fails. */
	if (evhttp_make_request(evcon, req, cmd, t.uri) != 0) {
		snprintf(err, errlen, "cannot send request to %s", q->base_url);
		goto out;
	}
	event_base_dispatch(base);
	if (st.oom) {
		snprintf(err, errlen, "out of memory reading the response");
		goto out;
	}
	if (!st.done) {
		client_explain(&st, q->base_url, t.host, t.port, t.tls, t0, err,
		    errlen);
		goto out;
	}
	ret = 0;
out:
	if (ret != 0) {
		free(r->body);
		memset(r, 0, sizeof(*r));
	}
	if (evcon != NULL)
		evhttp_connection_free(evcon);	/* frees its bufferevent, SSL */
	SSL_CTX_free(ctx);			/* the SSL holds its own ref */
	if (base != NULL)
		event_base_free(base);
	ERR_clear_error();
	return ret;
}
