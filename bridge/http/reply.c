/*
 * reply.c: the front door's replies (bridge/http/, split from server.c):
 * reason phrases evhttp 2.1 lacks, a reply made one TLS record, JSON
 * bodies and the API's error shape, and reading a bounded request body.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "bridge/http/http.h"

/* ---- replies ----------------------------------------------------------- */

/* See http.h. */
const char *
server_reason(int status)
{
	switch (status) {
	case 201: return "Created";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	}
	return NULL;		/* evhttp's own phrase */
}

/* See bridge.h.  evhttp queues the status line and headers and the body
 * as separate chains of the connection's output buffer, and libevent's
 * TLS bufferevent makes one SSL_write, so one TLS record and one TCP
 * segment (TCP_NODELAY), of each chain.  The reply is written on a later
 * loop turn, so pulling it up into one chain here makes it one record and
 * one write: a third less kernel time per small reply. */
void
server_send_reply(struct evhttp_request *req, int status, const char *reason,
    struct evbuffer *body)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	char cl[24];

	bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* The length GET would have, no body (RFC 9110 9.3.2). */
		snprintf(cl, sizeof(cl), "%zu", body != NULL ?
		    evbuffer_get_length(body) : (size_t)0);
		evhttp_remove_header(evhttp_request_get_output_headers(req),
		    "Content-Length");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Length", cl);
		if (body != NULL)
			evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, status, reason, body);
	/* req may be gone; evcon and bev live until the write is done. */
	if (bev != NULL && bufferevent_openssl_get_ssl(bev) != NULL)
		(void)evbuffer_pullup(bufferevent_get_output(bev), -1);
}

/* The headers of every JSON reply. */
static void
server_json_headers(struct evhttp_request *req, int status)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (status == HTTP_SERVUNAVAIL)
		evhttp_add_header(h, "Retry-After", "1");
}

/* Sends len bytes of JSON text as the reply. */
static void
server_send_json(struct evhttp_request *req, int status, const char *text,
    size_t len)
{
	struct evbuffer *buf;

	server_json_headers(req, status);
	if ((buf = evbuffer_new()) == NULL ||
	    evbuffer_add(buf, text, len) != 0 ||
	    evbuffer_add(buf, "\n", 1) != 0) {
		/* No memory for a body: say so in the status line alone. */
		evhttp_send_reply(req, HTTP_INTERNAL, NULL, NULL);
		goto out;
	}
	/* evhttp adds Content-Length itself. */
	server_send_reply(req, status, server_reason(status), buf);
out:
	if (buf != NULL)
		evbuffer_free(buf);
}

static const char server_oom_json[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";

void
server_reply_json_text(struct evhttp_request *req, int status,
    const char *text, size_t len)
{
	server_send_json(req, status, text, len);
}

/* json_dump_callback's sink: straight into the reply's buffer. */
static int
server_json_sink(const char *buf, size_t len, void *arg)
{
	return evbuffer_add(arg, buf, len);
}

/* A reply this long or shorter is dumped into the stack and added to the
 * reply at once; longer ones go through json_dump_callback, piece by
 * piece (a few dozen evbuffer_add calls for a small object otherwise). */
#define SERVER_JSON_STACK 4096

void
server_reply_json(struct evhttp_request *req, int status, json_t *body)
{
	struct evbuffer *buf = evbuffer_new();
	char tmp[SERVER_JSON_STACK];
	size_t n = 0;
	int rc = -1;

	if (body != NULL && buf != NULL) {
		n = json_dumpb(body, tmp, sizeof(tmp) - 1, JSON_COMPACT);
		if (n > 0 && n < sizeof(tmp) - 1) {
			tmp[n++] = '\n';
			rc = evbuffer_add(buf, tmp, n);
		} else if (json_dump_callback(body, server_json_sink, buf,
		    JSON_COMPACT) == 0)
			rc = evbuffer_add(buf, "\n", 1);
	}
	json_decref(body);		/* stolen */
	if (rc != 0) {
		if (buf != NULL)
			evbuffer_free(buf);
		server_send_json(req, HTTP_INTERNAL, server_oom_json,
		    sizeof(server_oom_json) - 1);
		return;
	}
	server_json_headers(req, status);
	server_send_reply(req, status, server_reason(status), buf);
	evbuffer_free(buf);
}

void
server_reply_error(struct evhttp_request *req, int status, const char *code,
    const char *fmt, ...)
{
	char msg[SERVER_ERRMSG];

	char safe[SERVER_ERRMSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* json_pack fails (NULL) on invalid UTF-8, which server_reply_json
	 * would turn into a 500: a message that echoes client bytes, or
	 * that vsnprintf cut inside a character, is escaped first. */
	server_escape(safe, sizeof(safe), msg, strlen(msg));
	server_reply_json(req, status, json_pack("{s:{s:s,s:s}}", "error",
	    "code", code, "message", safe));
}

int
server_body(struct evhttp_request *req, size_t max, char **buf, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *b;

	*buf = NULL;
	*len = 0;
	if (n > max)
		return 1;
	if ((b = malloc(n + 1)) == NULL)
		return -1;
	if (n > 0 && evbuffer_copyout(in, b, n) != (ev_ssize_t)n) {
		free(b);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}
