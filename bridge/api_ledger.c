/*
 * api_ledger.c: the log itself over the API: entries, the signed
 * checkpoint, and RFC 9162 inclusion and consistency proofs, for devices
 * and auditors that check without trusting the bridge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "bridge/api_int.h"

json_t *
api_entry_json(const struct ledger_entry_info *e)
{
	return json_pack("{s:o,s:o,s:o,s:s,s:s,s:o,s:o,s:s%}",
	    "index", api_json_u64(e->index),
	    "block", api_json_u64(e->block),
	    "ledger_time", api_json_time(e->ledger_time),
	    "type", ledger_entry_type_name(e->type),
	    "account", e->account,
	    "seq", api_json_u64(e->seq),
	    "leaf_hash", api_json_hash(e->leaf_hash),
	    "entry", e->text, e->len);
}

static int
api_entries_cb(const struct ledger_entry_info *e, void *arg)
{
	return json_array_append_new(arg, api_entry_json(e)) != 0;
}

void
api_entries(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	uint64_t from, limit, size;
	json_t *arr;

	if (api_method(req, API_GET) != 0)
		return;
	if (api_param_u64(req, "from", 0, UINT64_MAX, 0, &from) != 0 ||
	    api_param_u64(req, "limit", 1, API_LIMIT_MAX, API_LIMIT_DEFAULT,
	    &limit) != 0)
		return;
	size = ledger_size(ctx->ledger);
	if ((arr = json_array()) == NULL) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (from < size && ledger_entries(ctx->ledger, from, (size_t)limit,
	    api_entries_cb, arr) != 0) {
		json_decref(arr);
		api_reply_storage(req, "entries");
		return;
	}
	/* A callback that stopped early (no memory, or an entry that is not
	 * UTF-8) leaves a short page: say so rather than hide entries. */
	if (from < size && json_array_size(arr) < limit &&
	    json_array_size(arr) < size - from) {
		json_decref(arr);
		server_reply_error(req, 500, "internal", "cannot encode entry "
		    "%llu", (unsigned long long)(from + json_array_size(arr)));
		return;
	}
	server_reply_json(req, 200, json_pack("{s:o,s:o}", "tree_size",
	    api_json_u64(size), "entries", arr));
}

/* 1 when the request prefers text/plain (transparency-log tooling). */
static int
api_wants_text(struct evhttp_request *req)
{
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Accept");

	return a != NULL && strcasestr(a, "text/plain") != NULL &&
	    strcasestr(a, "application/json") == NULL;
}

void
api_checkpoint(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct ledger_counts c;
	char note[API_CHECKPOINT_MAX];
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t size = 0;

	if (api_method(req, API_GET) != 0)
		return;
	if (ledger_checkpoint(ctx->ledger, note, sizeof(note), &size) != 0) {
		if (ledger_size(ctx->ledger) == 0)
			server_reply_error(req, 404, "empty_ledger",
			    "the ledger has no checkpoint yet");
		else
			api_reply_storage(req, "the checkpoint");
		return;
	}
	if (api_wants_text(req)) {
		api_reply_text(req, note);
		return;
	}
	memset(&c, 0, sizeof(c));
	if (ledger_root(ctx->ledger, size, root) != 0 ||
	    ledger_counts(ctx->ledger, &c) != 0) {
		api_reply_storage(req, "the checkpoint");
		return;
	}
	server_reply_json(req, 200, json_pack("{s:o,s:o,s:o,s:s}",
	    "tree_size", api_json_u64(size), "root_hash", api_json_hash(root),
	    "time", api_json_time(c.last_block_time), "checkpoint", note));
}

/* A new JSON array of n hex hashes. */
json_t *
api_proof_json(uint8_t proof[][LEDGER_HASH_LEN], size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < n; i++)
		if (json_array_append_new(arr, api_json_hash(proof[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	return arr;
}

static int
api_leaf_cb(const struct ledger_entry_info *e, void *arg)
{
	memcpy(arg, e->leaf_hash, LEDGER_HASH_LEN);
	return 1;
}

void
api_inclusion(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	uint64_t index, size, cur;
	size_t n = 0;
	int rc;

	if (api_method(req, API_GET) != 0)
		return;
	cur = ledger_size(ctx->ledger);
	if ((rc = server_query_u64(req, "index", 0, UINT64_MAX, &index)) != 0) {
		server_reply_error(req, 400, "bad_parameter", "index %s",
		    rc == 1 ? "is required" : "must be a decimal integer");
		return;
	}
	if (api_param_u64(req, "size", 1, UINT64_MAX, cur, &size) != 0)
		return;
	if (size > cur) {
		server_reply_error(req, 400, "bad_parameter", "size %llu is "
		    "larger than the tree (%llu)", (unsigned long long)size,
		    (unsigned long long)cur);
		return;
	}
	if (index >= size) {
		server_reply_error(req, 400, "bad_parameter", "index %llu is "
		    "not in a tree of size %llu", (unsigned long long)index,
		    (unsigned long long)size);
		return;
	}
	memset(leaf, 0, sizeof(leaf));
	if (ledger_inclusion_proof(ctx->ledger, index, size, proof, &n) != 0 ||
	    n > LEDGER_PROOF_MAX ||
	    ledger_entries(ctx->ledger, index, 1, api_leaf_cb, leaf) != 0 ||
	    ledger_root(ctx->ledger, size, root) != 0) {
		api_reply_storage(req, "the inclusion proof");
		return;
	}
	server_reply_json(req, 200, json_pack("{s:o,s:o,s:o,s:o,s:o}",
	    "index", api_json_u64(index), "tree_size", api_json_u64(size),
	    "leaf_hash", api_json_hash(leaf), "root_hash", api_json_hash(root),
	    "proof", api_proof_json(proof, n)));
}

void
api_consistency(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t r1[LEDGER_HASH_LEN], r2[LEDGER_HASH_LEN];
	uint64_t from, to, cur;
	size_t n = 0;
	int rc;

	if (api_method(req, API_GET) != 0)
		return;
	cur = ledger_size(ctx->ledger);
	/* RFC 9162 2.1.4: a proof from the empty tree is meaningless. */
	if ((rc = server_query_u64(req, "from", 1, UINT64_MAX, &from)) != 0) {
		server_reply_error(req, 400, "bad_parameter", "from %s",
		    rc == 1 ? "is required" : "must be a decimal integer >= 1");
		return;
	}
	if (api_param_u64(req, "to", 1, UINT64_MAX, cur, &to) != 0)
		return;
	if (to > cur) {
		server_reply_error(req, 400, "bad_parameter", "to %llu is "
		    "larger than the tree (%llu)", (unsigned long long)to,
		    (unsigned long long)cur);
		return;
	}
	if (from > to) {
		server_reply_error(req, 400, "bad_parameter", "from %llu is "
		    "larger than to %llu", (unsigned long long)from,
		    (unsigned long long)to);
		return;
	}
	if (ledger_consistency_proof(ctx->ledger, from, to, proof, &n) != 0 ||
	    n > LEDGER_PROOF_MAX || ledger_root(ctx->ledger, from, r1) != 0 ||
	    ledger_root(ctx->ledger, to, r2) != 0) {
		api_reply_storage(req, "the consistency proof");
		return;
	}
	server_reply_json(req, 200, json_pack("{s:o,s:o,s:o,s:o,s:o}",
	    "from", api_json_u64(from), "to", api_json_u64(to),
	    "root_from", api_json_hash(r1), "root_to", api_json_hash(r2),
	    "proof", api_proof_json(proof, n)));
}

