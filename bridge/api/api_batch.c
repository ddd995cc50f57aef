/*
 * api_batch.c: POST /api/v1/entries with {"entries": ["<entry>", ...]}
 * (issue 18, batch ingest).  One HTTPS request, one TLS record stream and
 * one JSON parse for up to API_BATCH_MAX entries: a fleet admin
 * onboarding thousands of devices pays the per-request cost once per
 * batch instead of once per entry.
 *
 * Each entry is queued with ledger_submit exactly as a single POST would
 * queue it, in the order given (so seqs 5, 6, 7 of one account in one
 * batch commit in that order), and is accepted or refused on its own: a
 * batch is not a transaction.  The answer waits for every entry's
 * outcome, and an accepted entry's outcome only comes once its block is
 * sealed (durable), as for a single entry.  It is always 200 with
 *
 *   {"accepted": 2, "refused": 1, "results": [
 *     {"status": 201, "index": 41, "leaf_hash": "..", "tree_size": 42,
 *      "checkpoint": "..."},
 *     {"status": 409, "error": {"code": "sequence_conflict",
 *      "message": "..."}},
 *     ...]}
 *
 * where results[i] is entry i's outcome: its receipt with status 201, or
 * the status and error object a single POST of that entry would have
 * answered.  refused == 0 says everything was kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "bridge/render.h"
#include "bridge/api/api_int.h"

#define API_BATCH_MSG_MAX	256	/* bytes of one refusal's message */

/* The one answer an unauthenticated caller gets for an unknown account
 * and for a bad signature (as api_entries.c's). */
#define API_BATCH_BLIND_MSG "the entry's signatures do not verify " \
	"with its account's keys"

struct api_batch;

/* One entry of a batch in the ledger's queue: the callback's arg. */
struct api_batch_slot {
	struct api_batch *b;
	size_t i;		/* its place in results */
};

/* A batch waiting for its entries' outcomes. */
struct api_batch {
	struct evhttp_request *req;
	json_t *results;	/* n elements, null until entry i is done */
	size_t n, pending, accepted;
	int blind;		/* no token: account_not_found not told */
	struct api_batch_slot slots[];
};

/* See api_int.h. */
int
api_batch_of(json_t *json, const char **entries, size_t *lens, size_t *n,
    const char **code, char *msg, size_t msglen)
{
	json_t *arr, *e;
	size_t i;

	*n = 0;
	arr = json_object_get(json, "entries");
	if (!json_is_array(arr) || json_object_get(json, "entry") != NULL) {
		*code = "bad_batch";
		snprintf(msg, msglen, "send {\"entries\": [\"<entry>\", ...]} "
		    "(an array of strings, and no \"entry\" beside it)");
		return 400;
	}
	if (json_array_size(arr) == 0) {
		*code = "empty_batch";
		snprintf(msg, msglen, "the batch has no entries");
		return 400;
	}
	if (json_array_size(arr) > API_BATCH_MAX) {
		*code = "batch_too_large";
		snprintf(msg, msglen, "%zu entries: at most %d in one request",
		    json_array_size(arr), API_BATCH_MAX);
		return 400;
	}
	json_array_foreach(arr, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0) {
			*code = "bad_batch";
			snprintf(msg, msglen, "entries[%zu] is not a non-empty "
			    "string", i);
			*n = 0;
			return 400;
		}
		entries[i] = json_string_value(e);
		lens[i] = json_string_length(e);
	}
	*n = json_array_size(arr);
	return 0;
}

/* The refusal object of one entry: {"status", "error": {code, message}}
 * (message escaped: a ledger's why may quote the client's bytes). */
static json_t *
api_batch_refusal(int status, const char *code, const char *msg)
{
	char safe[API_BATCH_MSG_MAX];

	server_escape(safe, sizeof(safe), msg, strlen(msg));
	return json_pack("{s:i,s:{s:s,s:s}}", "status", status, "error",
	    "code", code, "message", safe);
}

/* Drops one hold on b; the last answers req and frees b. */
static void
api_batch_release(struct api_batch *b)
{
	if (--b->pending > 0)
		return;
	server_reply_json(b->req, 200, json_pack("{s:I,s:I,s:o}",
	    "accepted", (json_int_t)b->accepted,
	    "refused", (json_int_t)(b->n - b->accepted),
	    "results", b->results));
	free(b);
}

/* Entry slot->i's outcome is res (stolen); drops its hold. */
static void
api_batch_set(struct api_batch_slot *slot, json_t *res)
{
	if (res == NULL)	/* out of memory: still one outcome */
		res = json_pack("{s:i,s:{s:s,s:s}}", "status", 500, "error",
		    "code", "internal", "message", "out of memory");
	json_array_set_new(slot->b->results, slot->i, res != NULL ? res :
	    json_null());
	api_batch_release(slot->b);
}

/* ledger_submit's completion for one entry (event loop thread). */
static void
api_batch_done(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct api_batch_slot *slot = arg;
	json_t *res;

	if (slot->b->blind && (st == LEDGER_ERR_UNKNOWN_ACCOUNT ||
	    st == LEDGER_ERR_SIGNATURE))
		res = api_batch_refusal(api_http_status(LEDGER_ERR_SIGNATURE),
		    ledger_status_code(LEDGER_ERR_SIGNATURE),
		    API_BATCH_BLIND_MSG);
	else if (st != LEDGER_OK)
		res = api_batch_refusal(api_http_status(st),
		    ledger_status_code(st), why != NULL && *why != '\0' ?
		    why : ledger_status_code(st));
	else {
		res = json_pack("{s:i,s:o,s:o,s:o,s:s}", "status", 201,
		    "index", render_json_u64(r->index),
		    "leaf_hash", render_json_hash(r->leaf_hash),
		    "tree_size", render_json_u64(r->tree_size),
		    "checkpoint", r->checkpoint);
		slot->b->accepted++;
	}
	api_batch_set(slot, res);
}

/* A new batch of n entries for req, every result null; NULL. */
static struct api_batch *
api_batch_new(struct evhttp_request *req, size_t n)
{
	struct api_batch *b;
	size_t i;

	if ((b = calloc(1, sizeof(*b) + n * sizeof(b->slots[0]))) == NULL)
		return NULL;
	if ((b->results = json_array()) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (json_array_append_new(b->results, json_null()) != 0)
			goto fail;
		b->slots[i].b = b;
		b->slots[i].i = i;
	}
	b->req = req;
	b->n = n;
	return b;
fail:
	json_decref(b->results);
	free(b);
	return NULL;
}

void
api_batch_submit(struct api_ctx *ctx, struct evhttp_request *req,
    json_t *json)
{
	const char **entries = NULL, *code;
	char msg[API_BATCH_MSG_MAX];
	struct api_batch *b = NULL;
	size_t *lens = NULL, n, i, cap;
	int st, allow;

	/* Sized by the request's array (api_batch_of refuses one above
	 * API_BATCH_MAX before it writes a slot). */
	cap = json_array_size(json_object_get(json, "entries"));
	cap = cap == 0 ? 1 : cap > API_BATCH_MAX ? API_BATCH_MAX : cap;
	if ((entries = calloc(cap, sizeof(*entries))) == NULL ||
	    (lens = calloc(cap, sizeof(*lens))) == NULL) {
		server_reply_error(req, 503, ledger_status_code(
		    LEDGER_ERR_UNAVAILABLE), "out of memory; retry");
		goto out;
	}
	if ((st = api_batch_of(json, entries, lens, &n, &code, msg,
	    sizeof(msg))) != 0) {
		server_reply_error(req, st, code, "%s", msg);
		goto out;
	}
	if (api_name_allowed(req, &allow) != 0)
		goto out;
	if ((b = api_batch_new(req, n)) == NULL) {
		server_reply_error(req, 503, ledger_status_code(
		    LEDGER_ERR_UNAVAILABLE), "out of memory; retry");
		goto out;
	}
	b->blind = !api_caller_known(ctx, req);
	/* One hold for this loop: no completion can answer req before every
	 * entry is queued (ledger_drain runs later on this thread anyway). */
	b->pending = 1;
	for (i = 0; i < n; i++) {
		b->pending++;
		if (!allow && (st = api_name_verdict(ctx, entries[i], lens[i],
		    &code, msg, sizeof(msg))) != 0)
			api_batch_set(&b->slots[i], api_batch_refusal(st, code,
			    msg));
		/* The ledger copies the entry. */
		else if (ledger_submit(ctx->ledger, entries[i], lens[i],
		    api_batch_done, &b->slots[i]) != 0)
			api_batch_set(&b->slots[i], api_batch_refusal(503,
			    ledger_status_code(LEDGER_ERR_UNAVAILABLE),
			    "the ledger is not accepting entries right now; "
			    "retry"));
	}
	api_batch_release(b);	/* the loop's hold: maybe answers here */
out:
	free(entries);
	free(lens);
}
