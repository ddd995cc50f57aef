/*
 * bench_entries.c: entries accepted per second through POST /api/v1/entries
 * of a running bridge, with C concurrent keep-alive TLS clients.
 *
 *   bench_entries DIR CLIENTS PER_CLIENT
 *
 * Each client gets an account of its own (created through the API, signed
 * by DIR/admin.key), pre-signs PER_CLIENT config-publish entries with seq
 * 1..N, and posts them one after the other on one connection; every answer
 * must be 201 (acknowledged = committed with synchronous=FULL).  Prints
 * "entries_per_second N" and latency percentiles on stdout.
 *
 * With BENCH_BATCH=K (issue 18, batch ingest): each request carries K
 * entries as {"entries": [...]} (the last one of a client fewer), and
 * must be answered 200 with "refused": 0; the latencies are per request,
 * the rate per entry.  The bodies are built before the clock starts.
 *
 * With BENCH_ACKS=FILE (the crash tests): each acknowledged entry is
 * written to FILE at once as "account seq index leaf_hash", and a client
 * stops at its first failure (the bridge killed under the load).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/rand.h>

#include "bridge/bridge.h"
#include "bridge/cli/cli.h"

#define BENCH_MAX_CLIENTS 256

struct bclient {
	struct bench *b;
	struct evhttp_connection *conn;
	char **notes;
	char **bodies;		/* BENCH_BATCH: the JSON bodies, or NULL */
	int next, n;
	double sent_at;
	int nodelay;
	char name[48];
};

struct bench {
	struct event_base *base;
	SSL_CTX *ctx;
	char host[64];
	int port, running, failures;
	double *lat;
	size_t nlat;
	size_t nacked;		/* entries acknowledged */
	FILE *acks;		/* BENCH_ACKS, or NULL */
	int batch;		/* BENCH_BATCH: entries per request (1: text) */
};

/* The answer to a batch, parsed; NULL unless 200 with "refused": 0 and
 * one result per entry sent. */
static json_t *
bclient_batch_answer(struct bclient *c, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	json_t *j;
	json_int_t refused = -1;
	int k = c->n - c->next < c->b->batch ? c->n - c->next : c->b->batch;

	j = json_loadb((const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), 0, NULL);
	if (j == NULL || json_unpack(j, "{s:I}", "refused", &refused) != 0 ||
	    refused != 0 || json_array_size(json_object_get(j, "results")) !=
	    (size_t)k) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* BENCH_ACKS in batch mode: one line per acknowledged entry of req. */
static void
bclient_ack_batch(struct bclient *c, struct evhttp_request *req)
{
	json_t *j = bclient_batch_answer(c, req), *r;
	json_int_t idx;
	const char *lh;
	size_t i;

	json_array_foreach(json_object_get(j, "results"), i, r) {
		idx = -1;
		lh = "missing";
		(void)json_unpack(r, "{s:I, s:s}", "index", &idx, "leaf_hash",
		    &lh);
		fprintf(c->b->acks, "%s %d %lld %s\n", c->name,
		    c->next + (int)i + 1, (long long)idx, lh);
	}
	fflush(c->b->acks);
	json_decref(j);
}

/* BENCH_ACKS: one line for the entry c->next, acknowledged by req. */
static void
bclient_ack(struct bclient *c, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char buf[1024] = "";
	json_t *j;
	json_int_t idx = -1;
	const char *lh = "missing";

	evbuffer_copyout(in, buf, sizeof(buf) - 1);
	if ((j = json_loads(buf, 0, NULL)) != NULL)
		(void)json_unpack(j, "{s:I, s:s}", "index", &idx, "leaf_hash",
		    &lh);
	fprintf(c->b->acks, "%s %d %lld %s\n", c->name, c->next + 1,
	    (long long)idx, lh);
	fflush(c->b->acks);
	json_decref(j);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bclient_send(struct bclient *c);

static void
bclient_done(struct evhttp_request *req, void *arg)
{
	struct bclient *c = arg;
	struct bench *b = c->b;

	json_t *ans = NULL;
	int ok, k = c->n - c->next < b->batch ? c->n - c->next : b->batch;

	if (req == NULL)
		ok = 0;
	else if (b->batch > 1)
		ok = evhttp_request_get_response_code(req) == 200 &&
		    (ans = bclient_batch_answer(c, req)) != NULL;
	else
		ok = evhttp_request_get_response_code(req) == 201;
	json_decref(ans);
	if (!ok) {
		if (b->failures++ < 5) {
			char buf[256] = "";

			if (req != NULL)
				evbuffer_copyout(evhttp_request_get_input_buffer(
				    req), buf, sizeof(buf) - 1);
			fprintf(stderr, "bench: answer %d: %s\n", req != NULL ?
			    evhttp_request_get_response_code(req) : -1, buf);
		}
		if (b->acks != NULL) {	/* the crash: this client stops */
			if (--b->running == 0)
				event_base_loopbreak(b->base);
			return;
		}
	} else {
		b->lat[b->nlat++] = now_s() - c->sent_at;
		b->nacked += (size_t)k;
		if (b->acks != NULL && b->batch > 1)
			bclient_ack_batch(c, req);
		else if (b->acks != NULL)
			bclient_ack(c, req);
	}
	/* The socket exists once connected: no Nagle wait on our request's
	 * header and body records from now on. */
	if (!c->nodelay) {
		evutil_socket_t fd = bufferevent_getfd(
		    evhttp_connection_get_bufferevent(c->conn));

		if (fd >= 0)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
			    sizeof(int));
		c->nodelay = 1;
	}
	if ((c->next += k) < c->n)
		bclient_send(c);
	else if (--b->running == 0)
		event_base_loopbreak(b->base);
}

static void
bclient_send(struct bclient *c)
{
	struct evhttp_request *req = evhttp_request_new(bclient_done, c);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Host", c->b->host);
	const char *body = c->bodies != NULL ?
	    c->bodies[c->next / c->b->batch] : c->notes[c->next];

	evhttp_add_header(h, "Content-Type", c->bodies != NULL ?
	    "application/json" : "text/plain");
	evbuffer_add(evhttp_request_get_output_buffer(req), body,
	    strlen(body));
	c->sent_at = now_s();
	if (evhttp_make_request(c->conn, req, EVHTTP_REQ_POST,
	    "/api/v1/entries") != 0) {
		fprintf(stderr, "bench: cannot send\n");
		exit(1);
	}
}

/* The JSON bodies {"entries": [...]} of notes[0..n) by k; exits on
 * failure. */
static char **
bench_bodies(char **notes, int n, int k)
{
	char **bodies = calloc((size_t)(n + k - 1) / (size_t)k, sizeof(char *));
	json_t *arr, *j;

	for (int s = 0; bodies != NULL && s * k < n; s++) {
		arr = json_array();
		for (int e = s * k; e < n && e < (s + 1) * k; e++)
			json_array_append_new(arr, json_string(notes[e]));
		j = json_pack("{s:o}", "entries", arr);
		bodies[s] = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		if (bodies[s] == NULL) {
			fprintf(stderr, "bench: cannot build a batch\n");
			exit(1);
		}
	}
	if (bodies == NULL)
		exit(1);
	return bodies;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* POSTs one entry signed by admin; exits on failure. */
static void
post_admin(struct bridge_config *cfg, const char *ca, EVP_PKEY *admin,
    enum ledger_entry_type t, const struct ledger_field *f, size_t n)
{
	struct client_response r;
	char err[256], *note;
	json_t *j;
	json_int_t seq = 0;

	memset(&r, 0, sizeof(r));
	if (client_request(cfg->public_https_url, ca, "GET",
	    "/api/v1/accounts/admin", NULL, NULL, 0, &r, err,
	    sizeof(err)) != 0 || (j = json_loads(r.body, 0, NULL)) == NULL ||
	    json_unpack(j, "{s:I}", "next_seq", &seq) != 0) {
		fprintf(stderr, "bench: cannot read account admin: %s\n", err);
		exit(1);
	}
	json_decref(j);
	free(r.body);
	note = ledger_entry_sign(ledger_entry_body(t, "admin", (uint64_t)seq,
	    time(NULL), cfg->origin, f, n), "admin", admin);
	memset(&r, 0, sizeof(r));
	if (client_request(cfg->public_https_url, ca, "POST", "/api/v1/entries",
	    "text/plain", note, strlen(note), &r, err, sizeof(err)) != 0 ||
	    r.status != 201) {
		fprintf(stderr, "bench: setup entry refused: %d %s %s\n",
		    r.status, r.body != NULL ? r.body : "", err);
		exit(1);
	}
	free(r.body);
	free(note);
}

int
main(int argc, char **argv)
{
	static struct bclient cl[BENCH_MAX_CLIENTS];
	struct bridge_config cfg;
	struct bench b;
	struct evhttp_uri *uri;
	char err[512], ca[PATH_MAX], adminp[PATH_MAX], name[48], b64[256];
	EVP_PKEY *admin;
	int nclients, per;
	double t0, t1;
	const char *acks, *batch;

	if (argc != 4 || (nclients = atoi(argv[2])) < 1 ||
	    nclients > BENCH_MAX_CLIENTS || (per = atoi(argv[3])) < 1) {
		fprintf(stderr, "usage: bench_entries DIR CLIENTS PER_CLIENT\n");
		return 1;
	}
	if (config_load(&cfg, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	config_path(&cfg, cfg.ca_root, ca, sizeof(ca));
	if ((admin = ledger_key_load(config_path(&cfg, cfg.admin_key, adminp,
	    sizeof(adminp)), err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	memset(&b, 0, sizeof(b));
	uri = evhttp_uri_parse(cfg.public_https_url);
	snprintf(b.host, sizeof(b.host), "%s", evhttp_uri_get_host(uri));
	b.port = evhttp_uri_get_port(uri);
	evhttp_uri_free(uri);
	b.lat = calloc((size_t)nclients * (size_t)per, sizeof(double));
	if ((acks = getenv("BENCH_ACKS")) != NULL && *acks != '\0' &&
	    (b.acks = fopen(acks, "w")) == NULL) {
		fprintf(stderr, "bench: cannot write %s\n", acks);
		return 1;
	}
	b.batch = 1;
	if ((batch = getenv("BENCH_BATCH")) != NULL && *batch != '\0' &&
	    ((b.batch = atoi(batch)) < 1 || b.batch > 1024)) {
		fprintf(stderr, "bench: BENCH_BATCH must be 1..1024\n");
		return 1;
	}
	b.base = event_base_new();
	b.ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_load_verify_locations(b.ctx, ca, NULL);
	SSL_CTX_set_verify(b.ctx, SSL_VERIFY_PEER, NULL);

	/* Accounts and pre-signed entries: signing is not what we time. */
	for (int i = 0; i < nclients; i++) {
		EVP_PKEY *k = ledger_key_generate("ed25519");
		struct ledger_field f[4];
		uint8_t rnd[32];
		char hex[65], ver[32], grp[64];

		snprintf(name, sizeof(name), "bench%ld-%d", (long)time(NULL), i);
		ledger_pubkey_to_b64(k, b64, sizeof(b64));
		f[0] = (struct ledger_field){ "name", name };
		f[1] = (struct ledger_field){ "role", "admin" };
		f[2] = (struct ledger_field){ "threshold", "1" };
		f[3] = (struct ledger_field){ "pubkey", b64 };
		post_admin(&cfg, ca, admin, LEDGER_ACCOUNT_CREATE, f, 4);
		cl[i].b = &b;
		cl[i].n = per;
		snprintf(cl[i].name, sizeof(cl[i].name), "%s", name);
		cl[i].notes = calloc((size_t)per, sizeof(char *));
		snprintf(grp, sizeof(grp), "g-%s", name);
		for (int s = 0; s < per; s++) {
			RAND_bytes(rnd, sizeof(rnd));
			ledger_hex(rnd, sizeof(rnd), hex);
			snprintf(ver, sizeof(ver), "v%d", s);
			f[0] = (struct ledger_field){ "group", grp };
			f[1] = (struct ledger_field){ "version", ver };
			f[2] = (struct ledger_field){ "sha256", hex };
			cl[i].notes[s] = ledger_entry_sign(ledger_entry_body(
			    LEDGER_CONFIG_PUBLISH, name, (uint64_t)s + 1,
			    time(NULL), cfg.origin, f, 3), name, k);
		}
		EVP_PKEY_free(k);
		if (b.batch > 1)
			cl[i].bodies = bench_bodies(cl[i].notes, per, b.batch);
		cl[i].conn = evhttp_connection_base_bufferevent_new(b.base, NULL,
		    bufferevent_openssl_socket_new(b.base, -1, SSL_new(b.ctx),
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS), b.host, (unsigned short)b.port);
		evhttp_connection_set_timeout(cl[i].conn, 60);
	}
	b.running = nclients;
	t0 = now_s();
	for (int i = 0; i < nclients; i++)
		bclient_send(&cl[i]);
	event_base_dispatch(b.base);
	t1 = now_s();
	qsort(b.lat, b.nlat, sizeof(double), cmp_double);
	printf("entries_acknowledged %zu\nfailures %d\nseconds %.3f\n"
	    "entries_per_second %.0f\np50_ms %.2f\np99_ms %.2f\n", b.nacked,
	    b.failures, t1 - t0, (double)b.nacked / (t1 - t0),
	    b.nlat ? b.lat[b.nlat / 2] * 1e3 : 0.0,
	    b.nlat ? b.lat[(size_t)((double)b.nlat * 0.99)] * 1e3 : 0.0);
	for (int i = 0; i < nclients; i++) {
		evhttp_connection_free(cl[i].conn);
		for (int s = 0; s < per; s++)
			free(cl[i].notes[s]);
		for (int s = 0; cl[i].bodies != NULL && s * b.batch < per;
		    s++)
			free(cl[i].bodies[s]);
		free(cl[i].bodies);
		free(cl[i].notes);
	}
	event_base_free(b.base);
	SSL_CTX_free(b.ctx);
	EVP_PKEY_free(admin);
	free(b.lat);
	if (b.acks != NULL)
		fclose(b.acks);
	return b.failures != 0;
}
