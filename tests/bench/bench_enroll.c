/*
 * bench_enroll.c: EST enrollments per second through POST
 * /.well-known/est/simpleenroll of a running bridge, with C concurrent TLS
 * clients.
 *
 *   bench_enroll DIR CLIENTS PER_CLIENT CSRFILE MODE
 *
 * CSRFILE holds one base64 DER PKCS#10 per line (bench_register writes it)
 * for keys registered on the ledger; the first CLIENTS * PER_CLIENT lines
 * are used, client i taking lines i*PER_CLIENT .. (i+1)*PER_CLIENT-1, each
 * re-wrapped into 64-column lines and built into its request body before
 * the clock starts.  Each client posts its CSRs one after the other; every
 * answer must be 200 (the cert-issued entry committed with fsync before the
 * answer).
 *
 * MODE keepalive: each client opens one TLS connection and sends all its
 * requests on it.  MODE newconn: a fresh TCP connection and full TLS
 * handshake per enrollment (a new SSL from a client SSL_CTX that caches no
 * sessions, so nothing is resumed), closed after the answer.
 *
 * Each client's first answer is also decoded: base64 of a certs-only
 * PKCS#7 holding a certificate.
 *
 * Prints enrollments_ok, failures, seconds, enrollments_per_second, p50_ms,
 * p99_ms and client_cpu_seconds (this process's user + system CPU time
 * over the timed part) on stdout (latency: request sent, or connection started, to
 * answer); the first few failed answers go to stderr and the exit status is
 * then 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <netinet/tcp.h>

#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/pkcs7.h>

#include "bridge/bridge.h"

#define BENCH_MAX_CLIENTS 256
#define BENCH_PATH "/.well-known/est/simpleenroll"

struct bclient {
	struct bench *b;
	struct evhttp_connection *conn;	/* keepalive: the one connection */
	char **bodies;			/* wrapped base64 CSRs */
	size_t *lens;
	int next, n;
	double sent_at;
};

struct bench {
	struct event_base *base;
	SSL_CTX *ctx;
	char host[64];
	int port, running, failures, newconn;
	double *lat;
	size_t nlat;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A new HTTPS connection to the bridge (connects on the first request). */
static struct evhttp_connection *
bench_conn(struct bench *b)
{
	struct evhttp_connection *conn;
	SSL *ssl;

	if ((ssl = SSL_new(b->ctx)) == NULL ||
	    (conn = evhttp_connection_base_bufferevent_new(b->base, NULL,
	    bufferevent_openssl_socket_new(b->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS), b->host, (unsigned short)b->port)) ==
	    NULL) {
		fprintf(stderr, "bench: cannot create a connection\n");
		exit(1);
	}
	evhttp_connection_set_timeout(conn, 60);
	return conn;
}

/* No Nagle wait on our request's header and body records (the server side
 * sets TCP_NODELAY on its listener).  The socket exists as soon as
 * evhttp_make_request() started the connect. */
static void
bench_nodelay(struct evhttp_connection *conn)
{
	evutil_socket_t fd = bufferevent_getfd(
	    evhttp_connection_get_bufferevent(conn));

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
		    sizeof(int));
}

static void bclient_send(struct bclient *c);

/* 1 when body is base64 (line breaks allowed) of a certs-only PKCS#7 with
 * at least one certificate: checked on each client's first answer only,
 * to keep the load client's CPU out of the figure. */
static int
is_certs_only(struct evbuffer *body)
{
	size_t n = evbuffer_get_length(body), k = 0;
	unsigned char *in = evbuffer_pullup(body, -1), *der;
	const unsigned char *p;
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	PKCS7 *p7 = NULL;
	int len = 0, fin = 0, ok = 0;

	if (ctx == NULL || in == NULL || (der = malloc(n + 1)) == NULL) {
		EVP_ENCODE_CTX_free(ctx);
		return 0;
	}
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, der, &len, in, (int)n) >= 0 &&
	    EVP_DecodeFinal(ctx, der + len, &fin) == 1) {
		k = (size_t)len + (size_t)fin;
		p = der;
		if ((p7 = d2i_PKCS7(NULL, &p, (long)k)) != NULL &&
		    PKCS7_type_is_signed(p7) && p7->d.sign->cert != NULL &&
		    sk_X509_num(p7->d.sign->cert) >= 1)
			ok = 1;
	}
	PKCS7_free(p7);
	EVP_ENCODE_CTX_free(ctx);
	free(der);
	return ok;
}

static void
bclient_done(struct evhttp_request *req, void *arg)
{
	struct bclient *c = arg;
	struct bench *b = c->b;

	if (req != NULL && evhttp_request_get_response_code(req) == 200 &&
	    c->next == 0 && !is_certs_only(evhttp_request_get_input_buffer(
	    req))) {
		if (b->failures++ < 5)
			fprintf(stderr, "bench: answer 200 without a certs-only "
			    "PKCS#7 in base64\n");
	} else if (req == NULL ||
	    evhttp_request_get_response_code(req) != 200) {
		if (b->failures++ < 5) {
			char buf[512] = "";

			if (req != NULL)
				evbuffer_copyout(evhttp_request_get_input_buffer(
				    req), buf, sizeof(buf) - 1);
			fprintf(stderr, "bench: answer %d: %s\n", req != NULL ?
			    evhttp_request_get_response_code(req) : -1, buf);
		}
	} else
		b->lat[b->nlat++] = now_s() - c->sent_at;
	if (++c->next < c->n)
		bclient_send(c);
	else if (--b->running == 0)
		event_base_loopbreak(b->base);
}

static void
bclient_send(struct bclient *c)
{
	struct evhttp_request *req = evhttp_request_new(bclient_done, c);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evhttp_connection *conn;

	evhttp_add_header(h, "Host", c->b->host);
	evhttp_add_header(h, "Content-Type", "application/pkcs10");
	evbuffer_add_reference(evhttp_request_get_output_buffer(req),
	    c->bodies[c->next], c->lens[c->next], NULL, NULL);
	if (c->b->newconn) {
		/* One-shot: the server closes after answering, and libevent
		 * frees the connection once this request completed. */
		evhttp_add_header(h, "Connection", "close");
		conn = bench_conn(c->b);
	} else
		conn = c->conn;
	c->sent_at = now_s();
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, BENCH_PATH) != 0) {
		fprintf(stderr, "bench: cannot send\n");
		exit(1);
	}
	if (c->b->newconn) {
		evhttp_connection_free_on_completion(conn);
		bench_nodelay(conn);
	} else if (c->next == 0)
		bench_nodelay(conn);
}

/* This process's CPU time (user + system), in seconds. */
static double
cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0.0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* line (one base64 CSR) re-wrapped into 64-column lines, each ending in
 * CRLF, as the EST body; malloc'd, its length in *len. */
static char *
wrap64(const char *line, size_t n, size_t *len)
{
	char *out = malloc(n + (n / 64 + 1) * 2 + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i += 64) {
		size_t k = n - i < 64 ? n - i : 64;

		memcpy(p, line + i, k);
		p += k;
		*p++ = '\r';
		*p++ = '\n';
	}
	*p = '\0';
	*len = (size_t)(p - out);
	return out;
}

int
main(int argc, char **argv)
{
	static struct bclient cl[BENCH_MAX_CLIENTS];
	struct bridge_config cfg;
	struct bench b;
	struct evhttp_uri *uri;
	char err[512], ca[PATH_MAX], *line = NULL;
	size_t cap = 0;
	ssize_t got;
	FILE *fp;
	int nclients, per;
	double t0, t1, c0, c1;

	if (argc != 6 || (nclients = atoi(argv[2])) < 1 ||
	    nclients > BENCH_MAX_CLIENTS || (per = atoi(argv[3])) < 1 ||
	    (strcmp(argv[5], "keepalive") != 0 &&
	    strcmp(argv[5], "newconn") != 0)) {
		fprintf(stderr, "usage: bench_enroll DIR CLIENTS PER_CLIENT "
		    "CSRFILE keepalive|newconn\n");
		return 1;
	}
	if (config_load(&cfg, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	config_path(&cfg, cfg.ca_root, ca, sizeof(ca));
	memset(&b, 0, sizeof(b));
	b.newconn = strcmp(argv[5], "newconn") == 0;
	if ((uri = evhttp_uri_parse(cfg.public_https_url)) == NULL) {
		fprintf(stderr, "bench: bad public_https_url\n");
		return 1;
	}
	snprintf(b.host, sizeof(b.host), "%s", evhttp_uri_get_host(uri));
	b.port = evhttp_uri_get_port(uri);
	evhttp_uri_free(uri);
	b.lat = calloc((size_t)nclients * (size_t)per, sizeof(double));
	b.base = event_base_new();
	b.ctx = SSL_CTX_new(TLS_client_method());
	if (b.lat == NULL || b.base == NULL || b.ctx == NULL ||
	    SSL_CTX_load_verify_locations(b.ctx, ca, NULL) != 1) {
		fprintf(stderr, "bench: cannot set up (CA file %s)\n", ca);
		return 1;
	}
	SSL_CTX_set_verify(b.ctx, SSL_VERIFY_PEER, NULL);
	/* No client-side session cache: every newconn handshake is full. */
	SSL_CTX_set_session_cache_mode(b.ctx, SSL_SESS_CACHE_OFF);

	/* Pre-built bodies: reading and wrapping are not what we time. */
	if ((fp = fopen(argv[4], "r")) == NULL) {
		fprintf(stderr, "bench: %s: cannot open\n", argv[4]);
		return 1;
	}
	for (int i = 0; i < nclients; i++) {
		cl[i].b = &b;
		cl[i].n = per;
		cl[i].bodies = calloc((size_t)per, sizeof(char *));
		cl[i].lens = calloc((size_t)per, sizeof(size_t));
		for (int s = 0; s < per; s++) {
			if ((got = getline(&line, &cap, fp)) <= 1) {
				fprintf(stderr, "bench: %s: fewer than %d CSRs\n",
				    argv[4], nclients * per);
				return 1;
			}
			while (got > 0 && (line[got - 1] == '\n' ||
			    line[got - 1] == '\r'))
				got--;
			if ((cl[i].bodies[s] = wrap64(line, (size_t)got,
			    &cl[i].lens[s])) == NULL)
				return 1;
		}
		if (!b.newconn)
			cl[i].conn = bench_conn(&b);
	}
	free(line);
	fclose(fp);

	b.running = nclients;
	c0 = cpu_s();
	t0 = now_s();
	for (int i = 0; i < nclients; i++)
		bclient_send(&cl[i]);
	event_base_dispatch(b.base);
	t1 = now_s();
	c1 = cpu_s();
	qsort(b.lat, b.nlat, sizeof(double), cmp_double);
	printf("mode %s\nenrollments_ok %zu\nfailures %d\nseconds %.3f\n"
	    "enrollments_per_second %.0f\np50_ms %.2f\np99_ms %.2f\n"
	    "client_cpu_seconds %.3f\n",
	    argv[5], b.nlat, b.failures, t1 - t0, (double)b.nlat / (t1 - t0),
	    b.nlat ? b.lat[b.nlat / 2] * 1e3 : 0.0,
	    b.nlat ? b.lat[(size_t)((double)b.nlat * 0.99)] * 1e3 : 0.0,
	    c1 - c0);
	for (int i = 0; i < nclients; i++) {
		if (cl[i].conn != NULL)
			evhttp_connection_free(cl[i].conn);
		for (int s = 0; s < per; s++)
			free(cl[i].bodies[s]);
		free(cl[i].bodies);
		free(cl[i].lens);
	}
	event_base_free(b.base);
	SSL_CTX_free(b.ctx);
	free(b.lat);
	return b.failures != 0;
}
