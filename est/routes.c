/*
 * routes.c: /.well-known/est/[label/]operation (RFC 7030 3.2.2).
 *
 * Strict on output, tolerant on input (docs/design.md "Issuance"): answers carry
 * Content-Length (evhttp adds it; never chunked), PKCS#7 certs-only in
 * base64 lines of 64 with Content-Transfer-Encoding: base64; a CSR is taken
 * with or without line breaks and with or without that header (RFC 8951).
 * What the ledger decides arrives through struct est_ops; refusals are one
 * line of text with a specific status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "common/workq.h"
#include "est/est.h"
#include "est/est_int.h"

#define EST_PREFIX     "/.well-known/est/"
#define EST_REALM      "Basic realm=\"keybridge EST\""
#define EST_WHY_MAX    256

static const struct {
	const char *name;
	enum est_op op;
	int post;
} est_ops_table[] = {
	{ "cacerts", EST_OP_CACERTS, 0 },
	{ "simpleenroll", EST_OP_SIMPLEENROLL, 1 },
	{ "simplereenroll", EST_OP_SIMPLEREENROLL, 1 },
	{ "csrattrs", EST_OP_CSRATTRS, 0 },
	{ "serverkeygen", EST_OP_SERVERKEYGEN, 1 },
};

/* The CSR check's verdicts (est_csr_work). */
enum est_csr_verdict {
	EST_CHECK_OK,
	EST_CHECK_MALFORMED,		/* est_csr_read refused it: why */
	EST_CHECK_NAMES,		/* its key id or names unreadable */
};

/* One enrollment in flight: lives until ops->enroll calls est_done. */
struct est_pending {
	struct evhttp_request *req;
	const struct est_ops *ops;
	char *body;			/* the CSR as received, until checked */
	size_t len;
	enum est_csr_verdict verdict;
	char why[EST_WHY_MAX];		/* EST_CHECK_MALFORMED's reason */
	X509_REQ *csr;
	EVP_PKEY *pubkey;		/* csr's key */
	X509 *client_cert;
	struct est_enroll e;
};

/* Sends body (may be NULL) with status and content type. */
static void
est_reply(struct evhttp_request *req, int status, const char *ctype,
    const char *body, size_t len, int base64)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(h, "Content-Type", ctype);
	if (base64)
		evhttp_add_header(h, "Content-Transfer-Encoding", "base64");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (out != NULL && body != NULL)
		evbuffer_add(out, body, len);
	evhttp_send_reply(req, status, NULL, out);
	if (out != NULL)
		evbuffer_free(out);
}

/* A refusal: one line of text saying which rule. */
static void
est_refuse(struct evhttp_request *req, int status, int retry_after,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
est_refuse(struct evhttp_request *req, int status, int retry_after,
    const char *fmt, ...)
{
	char line[EST_WHY_MAX + 2], ra[16];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';
	if (status == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", EST_REALM);
	if (retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", retry_after);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", ra);
	}
	est_reply(req, status, "text/plain; charset=utf-8", line, (size_t)n,
	    0);
}

/* The TLS client certificate, when one was presented and verified against
 * our CAs (get1), else NULL. */
static X509 *
est_client_cert(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl;

	if (evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	return SSL_get1_peer_certificate(ssl);
}

static void
est_pending_free(struct est_pending *p)
{
	if (p == NULL)
		return;
	X509_REQ_free(p->csr);
	EVP_PKEY_free(p->pubkey);
	X509_free(p->client_cert);
	free(p->body);
	free(p);
}

/* ops->enroll's answer: the issued certificate (and key), or a refusal. */
static void
est_done(void *token, int status, const char *reason, int retry_after,
    STACK_OF(X509) *certs, EVP_PKEY *key)
{
	struct est_pending *p = token;
	struct evbuffer *body = NULL;
	char ctype[128], *b64 = NULL;
	size_t len = 0;

	if (status != 200) {
		est_refuse(p->req, status, retry_after, "%s",
		    reason != NULL ? reason : "refused");
		goto out;
	}
	if (p->e.op == EST_OP_SERVERKEYGEN) {
		/* RFC 7030 4.4.2: the key and the certificate, multipart. */
		if ((body = evbuffer_new()) == NULL || key == NULL ||
		    est_serverkeygen_body(key, certs, body, ctype,
		    sizeof(ctype)) != 0) {
			est_refuse(p->req, 500, 0, "cannot encode the answer");
			goto out;
		}
		evhttp_add_header(evhttp_request_get_output_headers(p->req),
		    "Content-Type", ctype);
		evhttp_add_header(evhttp_request_get_output_headers(p->req),
		    "Cache-Control", "no-store");
		evhttp_send_reply(p->req, 200, NULL, body);
		goto out;
	}
	if ((b64 = est_pkcs7_certs_b64(certs, &len)) == NULL) {
		est_refuse(p->req, 500, 0, "cannot encode the certificate");
		goto out;
	}
	est_reply(p->req, 200, "application/pkcs7-mime; smime-type=certs-only",
	    b64, len, 1);
out:
	if (body != NULL)
		evbuffer_free(body);
	free(b64);
	est_pending_free(p);
}

/* RFC 7030 4.2.1: the body is application/pkcs10; parameters allowed.
 * See est_int.h. */
int
est_route_is_pkcs10(const char *ctype)
{
	size_t n = strlen("application/pkcs10");

	return ctype != NULL && strncasecmp(ctype, "application/pkcs10",
	    n) == 0 && (ctype[n] == '\0' || ctype[n] == ';' ||
	    ctype[n] == ' ');
}

/*
 * The CPU part of an enrollment's request: decode the CSR, check its
 * signature (est_csr_read), read its key id and the names it asks for.
 * Touches only p's own fields, so it runs on a worker thread when
 * ops->workers is set (issue 18), else on the loop.
 */
static void
est_csr_work(void *arg)
{
	struct est_pending *p = arg;

	p->verdict = EST_CHECK_MALFORMED;
	if (est_csr_read(p->body, p->len, &p->csr, &p->pubkey, p->why,
	    sizeof(p->why)) != EST_CSR_OK)
		return;
	p->verdict = EST_CHECK_NAMES;
	if (est_csr_key_id(p->csr, p->e.key_id) != 0 ||
	    est_csr_names(p->csr, &p->e.asked) != 0)
		return;
	p->verdict = EST_CHECK_OK;
}

/* Back on the loop after est_csr_work: a refusal, or the rest of the
 * checks (the TLS client certificate, serverkeygen's credentials) and
 * ops->enroll. */
static void
est_csr_checked(void *arg)
{
	struct est_pending *p = arg;
	struct evhttp_request *req = p->req;
	enum est_op op = p->e.op;

	free(p->body);
	p->body = NULL;
	if (p->verdict == EST_CHECK_MALFORMED) {
		est_refuse(req, 400, 0, "malformed CSR: %s", p->why);
		goto out;
	}
	if (p->verdict != EST_CHECK_OK) {
		est_refuse(req, 400, 0, "malformed CSR: its subjectAltName "
		    "request is unreadable or asks for names that cannot be "
		    "granted");
		goto out;
	}
	p->client_cert = est_client_cert(req);
	if (op == EST_OP_SIMPLEREENROLL && p->client_cert == NULL) {
		est_refuse(req, 401, 0, "simplereenroll needs TLS client "
		    "authentication with the current certificate");
		goto out;
	}
	p->e.csr = p->csr;
	p->e.pubkey = p->pubkey;
	p->e.client_cert = p->client_cert;
	if (op == EST_OP_SERVERKEYGEN) {
		/* Borrowed from the request, which outlives the enrollment. */
		p->e.authorization = evhttp_find_header(
		    evhttp_request_get_input_headers(req), "Authorization");
		if (p->e.authorization == NULL) {
			est_refuse(req, 401, 0, "serverkeygen needs HTTP Basic "
			    "with the pre-authorisation id and secret");
			goto out;
		}
	}
	p->ops->enroll(p->ops->arg, &p->e, est_done, p);
	return;
out:
	est_pending_free(p);
}

/* POST simpleenroll / simplereenroll / serverkeygen: the framing checks
 * here, the CSR's on a worker (or here), the rest in est_csr_checked. */
static void
est_enroll_start(struct evhttp_request *req, const struct est_ops *ops,
    enum est_op op, enum est_profile profile)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct est_pending *p = NULL;
	size_t len = evbuffer_get_length(in);

	if (!est_route_is_pkcs10(evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type"))) {
		est_refuse(req, 415, 0, "the body must be application/pkcs10 "
		    "(a base64 PKCS#10 request)");
		goto out;
	}
	if (len > EST_MAX_BODY) {
		est_refuse(req, 413, 0, "the request is %zu bytes, at most %d "
		    "are accepted", len, EST_MAX_BODY);
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->body = malloc(len + 1)) == NULL) {
		est_refuse(req, 503, 1, "out of memory");
		goto out;
	}
	evbuffer_copyout(in, p->body, len);
	p->body[len] = '\0';
	p->len = len;
	p->req = req;
	p->ops = ops;
	p->e.op = op;
	p->e.profile = profile;
	if (ops->workers == NULL) {
		est_csr_work(p);
		est_csr_checked(p);
		return;
	}
	if (workq_push(ops->workers, est_csr_work, est_csr_checked, p) != 0) {
		est_refuse(req, 503, 1, "too many enrollments in progress; "
		    "retry");
		goto out;
	}
	return;
out:
	est_pending_free(p);
}

/* See est_int.h: splits "label/op" or "op" after the prefix. */
int
est_route_parse(const char *path, char *label, size_t labellen)
{
	const char *rest, *slash, *op;

	label[0] = '\0';
	if (path == NULL || strncmp(path, EST_PREFIX, strlen(EST_PREFIX)) != 0)
		return -1;
	rest = op = path + strlen(EST_PREFIX);
	slash = strchr(rest, '/');
	if (slash != NULL) {
		size_t n = (size_t)(slash - rest);

		if (n == 0 || n >= labellen || strchr(slash + 1, '/') != NULL)
			return -1;
		memcpy(label, rest, n);
		label[n] = '\0';
		op = slash + 1;
	}
	for (size_t i = 0; i < sizeof(est_ops_table) /
	    sizeof(est_ops_table[0]); i++)
		if (strcmp(op, est_ops_table[i].name) == 0)
			return (int)i;
	return -1;
}

void
est_handle(struct evhttp_request *req, const struct est_ops *ops)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *user = NULL, *pass = NULL;
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	char label[EST_LABEL_MAX], *b64 = NULL;
	int i, profile = 0;
	size_t len;

	if ((i = est_route_parse(path, label, sizeof(label))) < 0) {
		est_refuse(req, 404, 0, "no such EST operation");
		return;
	}
	if (label[0] != '\0' && (profile = est_profile_parse(label)) < 0) {
		est_refuse(req, 404, 0, "unknown EST label \"%s\" (device, "
		    "server or admin)", label);
		return;
	}
	if (est_ops_table[i].post ? method != EVHTTP_REQ_POST :
	    (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", est_ops_table[i].post ? "POST" : "GET");
		est_refuse(req, 405, 0, "%s takes %s", est_ops_table[i].name,
		    est_ops_table[i].post ? "POST" : "GET");
		return;
	}
	/* serverkeygen authenticates with its pre-authorisation instead. */
	ops->basic_auth(ops->arg, label, &user, &pass);
	if (user != NULL && est_ops_table[i].op != EST_OP_SERVERKEYGEN &&
	    est_basic_check(evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization"), user,
	    pass) != 1) {
		est_refuse(req, 401, 0, "HTTP Basic credentials required");
		return;
	}
	switch (est_ops_table[i].op) {
	case EST_OP_CACERTS:
		/* RFC 7030 4.1.3: the whole chain, root included. */
		if ((b64 = est_pkcs7_certs_b64(ops->cacerts(ops->arg),
		    &len)) == NULL)
			est_refuse(req, 500, 0, "cannot encode the CA chain");
		else
			est_reply(req, 200, "application/pkcs7-mime; "
			    "smime-type=certs-only", b64, len, 1);
		break;
	case EST_OP_CSRATTRS:
		if ((b64 = est_csrattrs_b64(profile > 0 ?
		    (enum est_profile)profile : EST_PROFILE_DEVICE, &len)) ==
		    NULL)
			est_refuse(req, 500, 0, "cannot encode csrattrs");
		else
			est_reply(req, 200, "application/csrattrs", b64, len,
			    1);
		break;
	default:
		est_enroll_start(req, ops, est_ops_table[i].op,
		    (enum est_profile)profile);
		break;
	}
	free(b64);
}
