/*
 * api.c: the JSON API under /api/v1 (docs/design.md "JSON API"): the shared
 * helpers, access control and the routes; the resources are in api_*.c.
 *
 * Read handlers answer from the ledger's indexed state on the event loop
 * (the ledger reads on its own connection).  POST /api/v1/entries queues the
 * entry for the ledger's group-commit writer and answers from its callback,
 * which ledger_drain() runs on the event loop thread.
 *
 * Every error is {"error":{"code":..., "message":...}} with a stable code
 * (docs/api.md "Errors" lists them all): ledger refusals use
 * ledger_status_code(); the API's own are bad_parameter, bad_request,
 * invalid_json, body_too_large, unsupported_media_type, not_acceptable,
 * method_not_allowed, not_found, unauthorized, forbidden (a device
 * certificate outside what it may read), account_not_found,
 * key_not_found, cert_not_found, config_not_found, entry_not_found,
 * empty_ledger, storage_error, unavailable and internal.  Messages say
 * what was wrong with the request in the API's words: never SQL, a path
 * or a trace.
 *
 * Every read handler first refuses a query that is malformed or has a
 * parameter it does not take (api_params, http.h's query rules): a typo in a
 * filter must not silently list everything.
 */
#include <sys/queue.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "common/version.h"
#include "bridge/api/api_int.h"


#define RENDER_HEX_LEN		(2 * LEDGER_HASH_LEN + 1)

/* ---- helpers ----------------------------------------------------------- */

/* Answers 405 with Allow unless req's method is in `methods`.  Returns 0
 * when the handler should go on, -1 when it has been answered. */
int
api_method(struct evhttp_request *req, int methods)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (((methods & API_GET) &&
	    (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)) ||
	    ((methods & API_POST) && cmd == EVHTTP_REQ_POST))
		return 0;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    methods == API_POST ? "POST" : "GET, HEAD");
	server_reply_error(req, 405, "method_not_allowed",
	    "use %s on this resource", methods == API_POST ? "POST" : "GET");
	return -1;
}

/* Reads query parameter `name` in [min,max] into *v (default def when
 * absent).  Answers 400 and returns -1 when it is malformed. */
int
api_param_u64(struct evhttp_request *req, const char *name, uint64_t min,
    uint64_t max, uint64_t def, uint64_t *v)
{
	int rc = server_query_u64(req, name, min, max, v);

	if (rc == 1)
		*v = def;
	if (rc >= 0)
		return 0;
	server_reply_error(req, 400, "bad_parameter", "%s must be a decimal "
	    "integer from %llu to %llu", name, (unsigned long long)min,
	    (unsigned long long)max);
	return -1;
}

/* See api_int.h. */
int
api_params(struct evhttp_request *req, const char *const *names)
{
	char msg[512];

	if (server_query_check(req, names, msg, sizeof(msg)) == 0)
		return 0;
	server_reply_error(req, 400, "bad_parameter", "%s", msg);
	return -1;
}

/* See api_int.h. */
int
api_cursor(struct evhttp_request *req, int (*valid)(const char *),
    const char *what, uint64_t cur, char *id, size_t idlen, uint64_t *size)
{
	char buf[SERVER_QUERY_VALUE_MAX + 1], *at;
	uint64_t snap = cur;
	int rc = server_query_str(req, "after", buf, sizeof(buf));

	id[0] = '\0';
	*size = cur;
	if (rc == 1)
		return 0;
	if (rc == 0 && (at = strchr(buf, '@')) != NULL) {
		*at++ = '\0';
		if (server_parse_u64(at, &snap) != 0 || snap == 0 || snap > cur)
			rc = -1;
	}
	if (rc != 0 || !valid(buf) || strlen(buf) >= idlen) {
		server_reply_error(req, 400, "bad_parameter", "after must be %s, "
		    "or that and @TREE_SIZE (1 to %llu) as a page's \"next\" "
		    "gives it", what, (unsigned long long)cur);
		return -1;
	}
	memcpy(id, buf, strlen(buf) + 1);
	*size = snap;
	return 0;
}

/* See api_int.h. */
json_t *
api_json_cursor(const char *id, uint64_t size)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s@%llu", id, (unsigned long long)size);
	return json_string(buf);
}

/* 1 when s is a key id: exactly 64 lowercase hex digits. */
int
api_is_key_id(const char *s)
{
	size_t i;

	for (i = 0; i < LEDGER_KEYID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* See api_int.h. */
int
api_is_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789._@-");

	return n > 0 && n <= LEDGER_NAME_MAX && s[n] == '\0';
}

/* The part of the request path after `prefix` (a registered prefix route,
 * so it is there). */
const char *
api_path_rest(struct evhttp_request *req, const char *prefix)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *p = u ? evhttp_uri_get_path(u) : NULL;

	if (p == NULL || strncmp(p, prefix, strlen(prefix)) != 0)
		return "";
	return p + strlen(prefix);
}

/* A read of the ledger failed: the database is the only way it can. */
void
api_reply_storage(struct evhttp_request *req, const char *what)
{
	server_reply_error(req, 503, ledger_status_code(LEDGER_ERR_STORAGE),
	    "cannot read %s from the ledger", what);
}

/* Answers text/plain (the checkpoint note for transparency-log tools). */
void
api_reply_text(struct evhttp_request *req, const char *text)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();

	if (buf == NULL || evbuffer_add(buf, text, strlen(text)) != 0) {
		if (buf != NULL)
			evbuffer_free(buf);
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	server_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

/* ---- routes ------------------------------------------------------------ */

/* 1 when req carries "Authorization: Bearer <ctx->token>"; the token is
 * compared in constant time (over the longer of the two lengths). */
static int
api_bearer_ok(const struct api_ctx *ctx, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(
	    req), "Authorization");
	size_t want, got;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 ||
	    ctx->token == NULL || ctx->token[0] == '\0')
		return 0;
	h += 7;
	want = strlen(ctx->token);
	got = strlen(h);
	return got == want && CRYPTO_memcmp(h, ctx->token, want) == 0;
}

/* See api_int.h: the callers who may read the account list (the token,
 * or a client certificate that may read /api/v1/entries: an admin's). */
int
api_caller_known(const struct api_ctx *ctx, struct evhttp_request *req)
{
	char why[256];

	return !ctx->need_token || api_bearer_ok(ctx, req) ||
	    api_access_cert(ctx, req, why, sizeof(why)) == API_ACCESS_OK;
}

/* Every API route goes through here: reads need the bearer token, an
 * admin client certificate, or a device's for what a device may read
 * (api_access.c), when the configuration asks for it (writes are signed
 * entries, checked by the ledger's rules whoever sends them). */
static void
api_guard(struct evhttp_request *req, void *arg)
{
	struct api_route *r = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char why[256];

	if (r->ctx->need_token && cmd != EVHTTP_REQ_POST &&
	    !api_bearer_ok(r->ctx, req)) {
		switch (api_access_cert(r->ctx, req, why, sizeof(why))) {
		case API_ACCESS_OK:
			break;
		case API_ACCESS_FORBIDDEN:
			server_reply_error(req, 403, "forbidden", "%s", why);
			return;
		case API_ACCESS_NONE:
		default:
			evhttp_add_header(evhttp_request_get_output_headers(
			    req), "WWW-Authenticate",
			    "Bearer realm=\"keybridge API\"");
			server_reply_error(req, 401, "unauthorized", "reads of "
			    "the API need Authorization: Bearer <api_token>, "
			    "or a client certificate of the admin profile (a "
			    "device's for its configurations and proofs)");
			return;
		}
	}
	r->h(req, r->arg);
}

int
api_listen_is_loopback(const char *listen)
{
	char addr[64];
	const char *colon = strrchr(listen, ':');
	size_t n = colon != NULL ? (size_t)(colon - listen) : 0;
	struct in_addr a4;
	struct in6_addr a6;

	if (n == 0 || n >= sizeof(addr))
		return 0;
	memcpy(addr, listen, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (addr[0] == '[' && n > 2 && addr[n - 1] == ']') {
		addr[n - 1] = '\0';
		if (inet_pton(AF_INET6, addr + 1, &a6) == 1)
			return IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return 0;
}

int
api_register(struct server *s, struct api_ctx *ctx)
{
	static const struct {
		const char *path;
		server_handler h;
	} routes[] = {
		{ "/api/v1/status", api_status },
		{ "/api/v1/accounts", api_accounts },
		{ "/api/v1/accounts/", api_account },
		{ "/api/v1/keys", api_keys },
		{ "/api/v1/keys/", api_key },
		{ "/api/v1/certs", api_certs },
		{ "/api/v1/certs/", api_cert },
		{ "/api/v1/configs", api_configs },
		{ "/api/v1/configs/", api_config },
		{ "/api/v1/ledger/entries", api_entries },
		{ "/api/v1/ledger/entries/", api_entry },
		{ "/api/v1/ledger/checkpoint", api_checkpoint },
		{ "/api/v1/ledger/proof/inclusion", api_inclusion },
		{ "/api/v1/ledger/proof/consistency", api_consistency },
		{ "/api/v1/proofs/", api_proof },
		{ "/api/v1/entries", api_submit },
		{ "/api/v1/events", events_handle },	/* arg: ctx->events */
	};
	size_t i, n = sizeof(routes) / sizeof(routes[0]);

	ratelog_init(&ctx->rl_blob, API_LOG_INTERVAL);
	if (n > sizeof(ctx->routes) / sizeof(ctx->routes[0]))
		return -1;
	ctx->server = s;
	for (i = 0; i < n; i++) {
		struct api_route *r = &ctx->routes[i];

		r->h = routes[i].h;
		r->arg = routes[i].h == events_handle ? (void *)ctx->events :
		    (void *)ctx;
		r->ctx = ctx;
		if (r->arg == NULL)
			continue;	/* no event streams */
		if (server_route_head(s, routes[i].path, api_guard, r) != 0)
			return -1;
	}
	return 0;
}
