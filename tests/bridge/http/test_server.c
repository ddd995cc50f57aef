/*
 * test_server.c: bridge/server.c and bridge/client.c over real loopback
 * sockets.  A server runs on its own event_base in a second thread; the test
 * thread talks to it with client_request() and with raw OpenSSL clients.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"
#include "bridge/cli/cli.h"
#include "bridge/http/http.h"

#define TEST_MAX_BODY 1024

struct fixture {
	char dir[64];
	char cert[128], key[128], other_cert[128], other_key[128];
	struct event_base *base;
	SSL_CTX *tls;
	struct server *https, *http;
	pthread_t thread;
	char https_url[64], http_url[64];
};

/* ---- a throwaway self-signed certificate ------------------------------ */

static int
make_cert(const char *cert_path, const char *key_path, const char *cn)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_EXTENSION *ext = NULL;
	X509V3_CTX v3;
	FILE *f = NULL;
	int ret = -1;

	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (x = X509_new()) == NULL)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    X509_set_pubkey(x, pk) != 1)
		goto out;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    "IP:127.0.0.1,IP:::1,DNS:localhost")) == NULL ||
	    X509_add_ext(x, ext, -1) != 1 ||
	    X509_sign(x, pk, EVP_sha256()) <= 0)
		goto out;
	if ((f = fopen(cert_path, "w")) == NULL ||
	    PEM_write_X509(f, x) != 1 || fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	/* a key file is 0600, or server_tls_ctx refuses it */
	if ((f = fopen(key_path, "w")) == NULL || fchmod(fileno(f), 0600) != 0 ||
	    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	X509_EXTENSION_free(ext);
	X509_free(x);
	EVP_PKEY_free(pk);
	return ret;
}

/* ---- test routes ------------------------------------------------------- */

static void
h_echo(struct evhttp_request *req, void *arg)
{
	char *body = NULL;
	size_t len = 0;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		server_reply_json(req, 200, json_pack("{s:s}", "hello",
		    "world"));
		return;
	}
	if (server_body(req, TEST_MAX_BODY, &body, &len) != 0) {
		server_reply_error(req, 413, "body_too_large", "too large");
		return;
	}
	server_reply_json(req, 200, json_pack("{s:I,s:s}", "len",
	    (json_int_t)len, "body", body));
	free(body);
}

static void
h_tag(struct evhttp_request *req, void *arg)
{
	server_reply_json(req, 200, json_pack("{s:s}", "route",
	    (const char *)arg));
}

/* Replies with server_query_u64(n, 1, 1000) as {"rc":..,"v":..}. */
static void
h_u64(struct evhttp_request *req, void *arg)
{
	uint64_t v = 42;
	int rc = server_query_u64(req, "n", 1, 1000, &v);

	server_reply_json(req, 200, json_pack("{s:i,s:I}", "rc", rc, "v",
	    (json_int_t)v));
}

static void
h_busy(struct evhttp_request *req, void *arg)
{
	server_reply_error(req, 503, "unavailable", "try again");
}

static void *
loop_thread(void *arg)
{
	struct fixture *fx = arg;

	event_base_dispatch(fx->base);
	return NULL;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_server.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->cert, sizeof(fx->cert), "%s/cert.pem", fx->dir);
	snprintf(fx->key, sizeof(fx->key), "%s/key.pem", fx->dir);
	snprintf(fx->other_cert, sizeof(fx->other_cert), "%s/other.pem",
	    fx->dir);
	snprintf(fx->other_key, sizeof(fx->other_key), "%s/other.key",
	    fx->dir);
	if (make_cert(fx->cert, fx->key, "test server") != 0 ||
	    make_cert(fx->other_cert, fx->other_key, "someone else") != 0)
		return -1;

	if (evthread_use_pthreads() != 0 ||
	    (fx->base = event_base_new()) == NULL)
		return -1;
	if ((fx->tls = server_tls_ctx(fx->cert, fx->key, NULL, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "server_tls_ctx: %s\n", err);
		return -1;
	}
	fx->https = server_new(fx->base, "127.0.0.1:0", fx->tls,
	    TEST_MAX_BODY, err, sizeof(err));
	fx->http = server_new(fx->base, "127.0.0.1:0", NULL, TEST_MAX_BODY,
	    err, sizeof(err));
	if (fx->https == NULL || fx->http == NULL) {
		fprintf(stderr, "server_new: %s\n", err);
		return -1;
	}
	if (server_route(fx->https, "/echo", h_echo, NULL) != 0 ||
	    server_route(fx->https, "/t/", h_tag, "t") != 0 ||
	    server_route(fx->https, "/t/deeper/", h_tag, "deeper") != 0 ||
	    server_route(fx->https, "/u64", h_u64, NULL) != 0 ||
	    server_route(fx->https, "/busy", h_busy, NULL) != 0 ||
	    server_route(fx->http, "/echo", h_echo, NULL) != 0)
		return -1;
	snprintf(fx->https_url, sizeof(fx->https_url), "https://127.0.0.1:%d",
	    server_port(fx->https));
	snprintf(fx->http_url, sizeof(fx->http_url), "http://127.0.0.1:%d",
	    server_port(fx->http));
	if (pthread_create(&fx->thread, NULL, loop_thread, fx) != 0)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	if (fx == NULL)
		return -1;
	event_base_loopbreak(fx->base);
	pthread_join(fx->thread, NULL);
	server_free(fx->https);
	server_free(fx->http);
	event_base_free(fx->base);
	SSL_CTX_free(fx->tls);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

/* GETs path from the HTTPS server; asserts a response and returns it
 * parsed (NULL when the body is not JSON). */
static json_t *
get_json(struct fixture *fx, const char *path, int *status)
{
	struct client_response r;
	char err[256] = "";
	json_t *j;

	assert_int_equal(client_request(fx->https_url, fx->cert, "GET", path,
	    NULL, NULL, 0, &r, err, sizeof(err)), 0);
	*status = r.status;
	j = json_loads(r.body, 0, NULL);
	free(r.body);
	return j;
}

/* ---- tests ------------------------------------------------------------- */

static void
test_json_round_trip_over_tls(void **state)
{
	struct fixture *fx = *state;
	struct client_response r;
	char err[256] = "";
	const char *body = "{\"x\":\"\\u00e9\"}";
	json_t *j;

	assert_int_equal(client_request(fx->https_url, fx->cert, "POST",
	    "/echo", "application/json", body, strlen(body), &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(j = json_loads(r.body, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(j, "len")),
	    (json_int_t)strlen(body));
	assert_string_equal(json_string_value(json_object_get(j, "body")),
	    body);
	/* compact: no space after ':' or ',' */
	assert_null(strstr(r.body, "\": "));
	json_decref(j);
	free(r.body);
}

static void
test_plain_http_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct client_response r;
	char err[256] = "";

	assert_int_equal(client_request(fx->http_url, NULL, "GET", "/echo",
	    NULL, NULL, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"hello\":\"world\"}\n");
	free(r.body);
}

static void
test_unknown_route_is_json_404(void **state)
{
	struct fixture *fx = *state;
	json_t *j;
	int status;

	assert_non_null(j = get_json(fx, "/x?y=1", &status));
	assert_int_equal(status, 404);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "error"), "code")), "not_found");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "error"), "message")), "no route for /x");
	json_decref(j);

	/* "/echo" is exact: "/echo/" and "/echox" are not it. */
	assert_non_null(j = get_json(fx, "/echo/", &status));
	assert_int_equal(status, 404);
	json_decref(j);
	assert_non_null(j = get_json(fx, "/echox", &status));
	assert_int_equal(status, 404);
	json_decref(j);
	/* a prefix route does not match its own name without the slash */
	assert_non_null(j = get_json(fx, "/t", &status));
	assert_int_equal(status, 404);
	json_decref(j);
}

static void
test_longest_prefix_wins(void **state)
{
	struct fixture *fx = *state;
	json_t *j;
	int status;

	assert_non_null(j = get_json(fx, "/t/a", &status));
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "route")),
	    "t");
	json_decref(j);
	assert_non_null(j = get_json(fx, "/t/deeper/b?q=1", &status));
	assert_string_equal(json_string_value(json_object_get(j, "route")),
	    "deeper");
	json_decref(j);
	assert_non_null(j = get_json(fx, "/t/deeper", &status));
	assert_string_equal(json_string_value(json_object_get(j, "route")),
	    "t");
	json_decref(j);
}

static void
test_oversized_body_is_413_and_server_keeps_serving(void **state)
{
	struct fixture *fx = *state;
	struct client_response r;
	char err[256] = "";
	char *big = malloc(4 * TEST_MAX_BODY);

	assert_non_null(big);
	memset(big, 'a', 4 * TEST_MAX_BODY);
	assert_int_equal(client_request(fx->https_url, fx->cert, "POST",
	    "/echo", "text/plain", big, 4 * TEST_MAX_BODY, &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.status, 413);
	free(r.body);
	/* exactly the limit is fine */
	assert_int_equal(client_request(fx->https_url, fx->cert, "POST",
	    "/echo", "text/plain", big, TEST_MAX_BODY, &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.status, 200);
	free(r.body);
	free(big);
	assert_int_equal(client_request(fx->https_url, fx->cert, "GET",
	    "/echo", NULL, NULL, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(r.status, 200);
	free(r.body);
}

static void
test_503_says_retry_after(void **state)
{
	struct fixture *fx = *state;
	char cmd[512], out[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "curl -s -o /dev/null -D - --cacert %s "
	    "%s/busy | tr -d '\\r' | grep -i '^retry-after:'", fx->cert,
	    fx->https_url);
	assert_non_null(p = popen(cmd, "r"));
	if (fgets(out, sizeof(out), p) == NULL)
		out[0] = '\0';
	pclose(p);
	assert_string_equal(out, "Retry-After: 1\n");
}

/* One raw OpenSSL handshake with the protocol pinned to version; returns
 * the negotiated version, or -1.  With *sess set, offers it and reports
 * reuse in *reused; returns the new session in *sess. */
static int
raw_handshake(struct fixture *fx, int version, SSL_SESSION **sess,
    int *reused)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	struct sockaddr_in sin;
	int fd = -1, ret = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)server_port(fx->https));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, version) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, version) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, fx->cert, NULL) != 1)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    (ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
	    "127.0.0.1") != 1)
		goto out;
	if (sess != NULL && *sess != NULL)
		SSL_set_session(ssl, *sess);
	if (SSL_connect(ssl) != 1)
		goto out;
	if (reused != NULL)
		*reused = SSL_session_reused(ssl);
	if (sess != NULL) {
		SSL_SESSION_free(*sess);
		*sess = SSL_get1_session(ssl);
	}
	ret = SSL_version(ssl);
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	return ret;
}

static void
test_tls12_and_tls13_accepted_and_tls12_resumes(void **state)
{
	struct fixture *fx = *state;
	SSL_SESSION *sess = NULL;
	int reused = -1;

	assert_int_equal(raw_handshake(fx, TLS1_3_VERSION, NULL, NULL),
	    TLS1_3_VERSION);
	assert_int_equal(raw_handshake(fx, TLS1_2_VERSION, &sess, &reused),
	    TLS1_2_VERSION);
	assert_int_equal(reused, 0);
	assert_int_equal(raw_handshake(fx, TLS1_2_VERSION, &sess, &reused),
	    TLS1_2_VERSION);
	assert_int_equal(reused, 1);
	SSL_SESSION_free(sess);
	/* negative control: TLS 1.1 is refused */
	assert_int_equal(raw_handshake(fx, TLS1_1_VERSION, NULL, NULL), -1);
}

static void
test_client_reports_connection_refused(void **state)
{
	struct fixture *fx = *state;
	struct client_response r;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char url[64], want[128], err[256] = "";
	int fd;

	/* a port that was just free: bind, read it, close */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d",
	    ntohs(sin.sin_port));
	assert_int_equal(client_request(url, fx->cert, "GET", "/echo", NULL,
	    NULL, 0, &r, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot connect to %s: connection "
	    "refused", url);
	if (strstr(err, want) == NULL)
		fail_msg("err: %s", err);
	assert_null(r.body);

	/* and over plain http */
	url[4] = ':';
	memmove(url + 4, url + 5, strlen(url + 5) + 1);
	assert_int_equal(client_request(url, NULL, "GET", "/echo", NULL,
	    NULL, 0, &r, err, sizeof(err)), -1);
	if (strstr(err, "connection refused") == NULL)
		fail_msg("err: %s", err);
}

static void
test_client_refuses_unverified_certificate(void **state)
{
	struct fixture *fx = *state;
	struct client_response r;
	char err[256] = "";

	assert_int_equal(client_request(fx->https_url, fx->other_cert, "GET",
	    "/echo", NULL, NULL, 0, &r, err, sizeof(err)), -1);
	if (strstr(err, "does not verify") == NULL)
		fail_msg("err: %s", err);
	assert_null(r.body);
	/* and the server is fine afterwards */
	assert_int_equal(client_request(fx->https_url, fx->cert, "GET",
	    "/echo", NULL, NULL, 0, &r, err, sizeof(err)), 0);
	free(r.body);
}

static void
test_client_checks_host_name(void **state)
{
	struct fixture *fx = *state;
	struct client_response r;
	char url[64], err[256] = "";

	/* the certificate names localhost: that works */
	snprintf(url, sizeof(url), "https://localhost:%d",
	    server_port(fx->https));
	if (client_request(url, fx->cert, "GET", "/echo", NULL, NULL, 0, &r,
	    err, sizeof(err)) == 0) {
		assert_int_equal(r.status, 200);
		free(r.body);
	} else if (strstr(err, "connection refused") == NULL)
		fail_msg("err: %s", err);	/* localhost may be ::1 only */
}

static void
expect_u64(struct fixture *fx, const char *query, int rc, uint64_t v)
{
	char path[128];
	json_t *j;
	int status;

	snprintf(path, sizeof(path), "/u64%s", query);
	assert_non_null(j = get_json(fx, path, &status));
	assert_int_equal(status, 200);
	if (json_integer_value(json_object_get(j, "rc")) != rc)
		fail_msg("%s: rc %lld, want %d", query,
		    json_integer_value(json_object_get(j, "rc")), rc);
	assert_int_equal(json_integer_value(json_object_get(j, "v")), v);
	json_decref(j);
}

static void
test_query_u64_is_strict(void **state)
{
	struct fixture *fx = *state;

	expect_u64(fx, "?n=5", 0, 5);
	expect_u64(fx, "?n=1000", 0, 1000);
	expect_u64(fx, "?n=007", 0, 7);
	expect_u64(fx, "", 1, 42);
	expect_u64(fx, "?m=5", 1, 42);
	expect_u64(fx, "?n=-1", -1, 42);
	expect_u64(fx, "?n=1e3", -1, 42);
	expect_u64(fx, "?n=%205", -1, 42);
	expect_u64(fx, "?n=+5", -1, 42);
	expect_u64(fx, "?n=5%20", -1, 42);
	expect_u64(fx, "?n=99999999999999999999999", -1, 42);
	expect_u64(fx, "?n=18446744073709551616", -1, 42);
	expect_u64(fx, "?n=0x10", -1, 42);
	expect_u64(fx, "?n=", -1, 42);
	expect_u64(fx, "?n=0", -1, 42);		/* below min */
	expect_u64(fx, "?n=1001", -1, 42);	/* above max */
}

static void
test_tls_ctx_reports_bad_files(void **state)
{
	struct fixture *fx = *state;
	char err[256] = "";

	assert_null(server_tls_ctx("/nonexistent/cert.pem", fx->key, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/cert.pem"));
	/* key of another certificate */
	assert_null(server_tls_ctx(fx->cert, fx->other_key, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, fx->other_key));
	assert_non_null(strstr(err, "mismatch"));
}

/* The TLS key is loaded as every key file: refused when group or others
 * may read it (it used to be taken at 0644 while the CA keys were not). */
static void
test_tls_ctx_refuses_a_key_others_can_read(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	SSL_CTX *ctx;

	assert_int_equal(chmod(fx->key, 0644), 0);
	ctx = server_tls_ctx(fx->cert, fx->key, NULL, err, sizeof(err));
	assert_int_equal(chmod(fx->key, 0600), 0);
	assert_null(ctx);
	assert_non_null(strstr(err, "mode 0644"));
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(fx->key, 0640), 0);
	ctx = server_tls_ctx(fx->cert, fx->key, NULL, err, sizeof(err));
	assert_int_equal(chmod(fx->key, 0600), 0);
	assert_null(ctx);
	/* positive control: 0600 loads */
	assert_non_null(ctx = server_tls_ctx(fx->cert, fx->key, NULL, err,
	    sizeof(err)));
	SSL_CTX_free(ctx);
}

static void
test_server_new_parses_listen_addresses(void **state)
{
	struct event_base *base = event_base_new();	/* not the running one */
	struct server *s;
	char err[256] = "";

	assert_non_null(base);
	assert_null(server_new(base, "127.0.0.1", NULL, 10, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "bad listen address"));
	assert_null(server_new(base, "localhost:0", NULL, 10, err,
	    sizeof(err)));
	assert_null(server_new(base, "127.0.0.1:99999", NULL, 10, err,
	    sizeof(err)));
	/* IPv6 may be unavailable in a container: only check the parse */
	s = server_new(base, "[::1]:0", NULL, 10, err, sizeof(err));
	if (s == NULL)
		assert_null(strstr(err, "bad listen address"));
	else
		assert_true(server_port(s) > 0);
	server_free(s);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip_over_tls),
		cmocka_unit_test(test_plain_http_round_trip),
		cmocka_unit_test(test_unknown_route_is_json_404),
		cmocka_unit_test(test_longest_prefix_wins),
		cmocka_unit_test(
		    test_oversized_body_is_413_and_server_keeps_serving),
		cmocka_unit_test(test_503_says_retry_after),
		cmocka_unit_test(
		    test_tls12_and_tls13_accepted_and_tls12_resumes),
		cmocka_unit_test(test_client_reports_connection_refused),
		cmocka_unit_test(test_client_refuses_unverified_certificate),
		cmocka_unit_test(test_client_checks_host_name),
		cmocka_unit_test(test_query_u64_is_strict),
		cmocka_unit_test(test_tls_ctx_reports_bad_files),
		cmocka_unit_test(test_tls_ctx_refuses_a_key_others_can_read),
		cmocka_unit_test(test_server_new_parses_listen_addresses),
	};

	/* as keybridge's main() does: a peer that closes must not kill us */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
