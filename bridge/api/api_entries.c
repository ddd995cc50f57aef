/*
 * api_entries.c: POST /api/v1/entries: a signed entry queued for the ledger's
 * group-commit writer, answered from its callback on the event loop; and
 * the HTTP status of each ledger refusal.
 */
#include <sys/queue.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/version.h"
#include "bridge/ca/ca.h"
#include "bridge/api/api_int.h"


#define RENDER_HEX_LEN		(2 * LEDGER_HASH_LEN + 1)
#define API_ENTRY_MSG_MAX	256	/* bytes of a refusal's message */

/* ---- submitting -------------------------------------------------------- */

int
api_http_status(enum ledger_status st)
{
	switch (st) {
	case LEDGER_OK:			return 201;
	case LEDGER_ERR_MALFORMED:
	case LEDGER_ERR_DUPLICATE_SIGNATURE:
	case LEDGER_ERR_KEY_NOT_CANONICAL:
	case LEDGER_ERR_WRONG_ORIGIN:	return 400;
	case LEDGER_ERR_TOO_LARGE:	return 413;
	case LEDGER_ERR_UNKNOWN_ACCOUNT:
	case LEDGER_ERR_SIGNATURE:
	case LEDGER_ERR_THRESHOLD:
	case LEDGER_ERR_PERMISSION:
	case LEDGER_ERR_PREAUTH:
	case LEDGER_ERR_NOT_SAME_DEVICE:
	case LEDGER_ERR_NOT_OWNER:	return 403;
	case LEDGER_ERR_SEQUENCE:
	case LEDGER_ERR_ACCOUNT_EXISTS:
	case LEDGER_ERR_CERT_CURRENT:
	case LEDGER_ERR_DUPLICATE_KEY:
	case LEDGER_ERR_KEY_REVOKED:
	case LEDGER_ERR_DUPLICATE_SERIAL:
	case LEDGER_ERR_CERT_REVOKED:
	case LEDGER_ERR_PREAUTH_EXISTS:
	case LEDGER_ERR_DUPLICATE_CONFIG: return 409;
	case LEDGER_ERR_TIME:
	case LEDGER_ERR_WINDOW:		return 422;
	case LEDGER_ERR_UNKNOWN_KEY:
	case LEDGER_ERR_UNKNOWN_CERT:	return 404;
	case LEDGER_ERR_STORAGE:
	case LEDGER_ERR_NO_QUORUM:	/* validators (issue 14) */
	case LEDGER_ERR_UNAVAILABLE:	return 503;	/* + Retry-After */
	}
	return 500;
}

/* An entry in the ledger's queue: its request, and whether the caller
 * may learn that an account does not exist. */
struct api_submission {
	struct evhttp_request *req;
	int blind;		/* no token: account_not_found not told */
};

/* The one answer an unauthenticated caller gets for an entry of an
 * account that does not exist and for one whose signatures do not
 * verify (with api_auth = token the account list is not public, and
 * POST /api/v1/entries must not tell it either). */
#define API_BLIND_SIGNATURE_MSG "the entry's signatures do not verify " \
	"with its account's keys"

/*
 * ledger_submit's completion, on the event loop thread (ledger_drain).
 * arg is the submission: libevent 2.1 keeps its deferred request alive
 * even when the client has gone (req->evcon = NULL) and frees it in the
 * reply, so it is answered exactly once here and not touched after.
 */
static void
api_submit_done(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct api_submission *sub = arg;
	struct evhttp_request *req = sub->req;
	int blind = sub->blind;

	free(sub);
	if (blind && (st == LEDGER_ERR_UNKNOWN_ACCOUNT ||
	    st == LEDGER_ERR_SIGNATURE)) {
		server_reply_error(req, api_http_status(LEDGER_ERR_SIGNATURE),
		    ledger_status_code(LEDGER_ERR_SIGNATURE), "%s",
		    API_BLIND_SIGNATURE_MSG);
		return;
	}
	if (st != LEDGER_OK) {
		server_reply_error(req, api_http_status(st),
		    ledger_status_code(st), "%s",
		    why != NULL && *why != '\0' ? why : ledger_status_code(st));
		return;
	}
	server_reply_json(req, 201, json_pack("{s:o,s:o,s:o,s:s}",
	    "index", render_json_u64(r->index),
	    "leaf_hash", render_json_hash(r->leaf_hash),
	    "tree_size", render_json_u64(r->tree_size),
	    "checkpoint", r->checkpoint));
}

/* 1 when the Content-Type (parameters ignored) is type. */
static int
api_ctype_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	return strncasecmp(ct, type, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* See api_int.h. */
int
api_entry_of(const char *ct, const char *body, size_t len,
    const char **entry, size_t *elen, json_t **json, const char **code,
    char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *e;

	*json = NULL;
	*entry = body;
	*elen = len;
	if (ct != NULL && !api_ctype_is(ct, "text/plain") &&
	    !api_ctype_is(ct, "application/json")) {
		*code = "unsupported_media_type";
		snprintf(msg, msglen, "send the entry as text/plain or as "
		    "application/json {\"entry\": ...}");
		return 415;
	}
	if (ct != NULL && api_ctype_is(ct, "application/json")) {
		if ((*json = json_loadb(body, len, JSON_REJECT_DUPLICATES,
		    &jerr)) == NULL) {
			*code = "invalid_json";
			snprintf(msg, msglen, "line %d column %d: %s",
			    jerr.line, jerr.column, jerr.text);
			return 400;
		}
		if (!json_is_string(e = json_object_get(*json, "entry"))) {
			*code = "bad_request";
			snprintf(msg, msglen, "the JSON body needs a string "
			    "field \"entry\"");
			return 400;
		}
		*entry = json_string_value(e);
		*elen = json_string_length(e);
	}
	if (*elen == 0) {
		*code = "bad_request";
		snprintf(msg, msglen, "the body is empty: send a signed entry");
		return 400;
	}
	return 0;
}

void
api_submit(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	const char *ct, *entry, *code;
	char *body = NULL, msg[API_ENTRY_MSG_MAX];
	struct api_submission *sub;
	size_t len = 0, elen;
	json_t *j = NULL;
	int rc;

	static const char *const params[] = { "allow_same_name", NULL };

	if (api_method(req, API_POST) != 0 || api_params(req, params) != 0)
		return;
	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (ct != NULL && !api_ctype_is(ct, "text/plain") &&
	    !api_ctype_is(ct, "application/json")) {
		server_reply_error(req, 415, "unsupported_media_type",
		    "send the entry as text/plain or as application/json "
		    "{\"entry\": ...}");
		return;
	}
	if ((rc = server_body(req, (size_t)ctx->max_body, &body,
	    &len)) == 1) {
		server_reply_error(req, 413, "body_too_large", "the body is "
		    "over %ld bytes", ctx->max_body);
		return;
	} else if (rc != 0) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	rc = api_entry_of(ct, body, len, &entry, &elen, &j, &code, msg,
	    sizeof(msg));
	/* {"entries": [...]}: a batch (api_batch.c), which also refuses an
	 * object with both "entry" and "entries" */
	if (j != NULL && json_object_get(j, "entries") != NULL) {
		api_batch_submit(ctx, req, j);
		goto out;
	}
	if (rc != 0) {
		server_reply_error(req, rc, code, "%s", msg);
		goto out;
	}
	if (api_name_check(ctx, req, entry, elen) != 0)
		goto out;
	if ((sub = malloc(sizeof(*sub))) == NULL) {
		server_reply_error(req, 503,
		    ledger_status_code(LEDGER_ERR_UNAVAILABLE), "out of "
		    "memory; retry");
		goto out;
	}
	sub->req = req;
	sub->blind = !api_caller_known(ctx, req);
	/* The ledger copies the entry; req is answered in api_submit_done,
	 * which frees sub. */
	if (ledger_submit(ctx->ledger, entry, elen, api_submit_done,
	    sub) != 0) {
		free(sub);
		server_reply_error(req, 503,
		    ledger_status_code(LEDGER_ERR_UNAVAILABLE), "the ledger "
		    "is not accepting entries right now; retry");
	}
out:
	json_decref(j);
	free(body);
}
