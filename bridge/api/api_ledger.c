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

#include "bridge/api/api_int.h"

json_t *
api_entry_json(const struct ledger_entry_info *e)
{
	return json_pack("{s:o,s:o,s:o,s:s,s:s,s:o,s:o,s:s%}",
	    "index", render_json_u64(e->index),
	    "block", render_json_u64(e->block),
	    "ledger_time", render_json_time(e->ledger_time),
	    "type", ledger_entry_type_name(e->type),
	    "account", e->account,
	    "seq", render_json_u64(e->seq),
	    "leaf_hash", render_json_hash(e->leaf_hash),
	    "entry", e->text, e->len);
}

static int
api_entries_cb(const struct ledger_entry_info *e, void *arg)
{
	return json_array_append_new(arg, api_entry_json(e)) != 0;
}

/*
 * GET /api/v1/ledger/entries?from=N&limit=N: entries [from, from+limit)
 * of the tree as it is now.  The log only grows, so paging by index is
 * stable by itself: "next" is the index to ask for next, null once the
 * page reaches the end of this answer's tree_size (entries appended later
 * follow from there, in order).
 */
void
api_entries(struct evhttp_request *req, void *arg)
{
	static const char *const params[] = { "from", "limit", NULL };
	struct api_ctx *ctx = arg;
	uint64_t from, limit, size, next;
	json_t *arr;

	if (api_method(req, API_GET) != 0 || api_params(req, params) != 0)
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
	next = from + json_array_size(arr);
	server_reply_json(req, 200, json_pack("{s:o,s:o,s:o}", "tree_size",
	    render_json_u64(size), "entries", arr, "next", from < size &&
	    next < size ? render_json_u64(next) : json_null()));
}

static int
api_entry_cb(const struct ledger_entry_info *e, void *arg)
{
	json_t **j = arg;

	*j = api_entry_json(e);
	return 1;
}

/* GET /api/v1/ledger/entries/INDEX: one entry, as the list shows it. */
void
api_entry(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	const char *rest;
	uint64_t index, size;
	json_t *j = NULL, *proof;

	if (api_method(req, API_GET) != 0 || api_params(req, NULL) != 0)
		return;
	rest = api_path_rest(req, "/api/v1/ledger/entries/");
	if (server_parse_u64(rest, &index) != 0) {
		server_reply_error(req, 400, "bad_parameter", "an entry index "
		    "is a decimal integer from 0 to 18446744073709551615");
		return;
	}
	size = ledger_size(ctx->ledger);
	if (index >= size) {
		server_reply_error(req, 404, "entry_not_found", "no entry %llu: "
		    "the ledger holds entries 0 to %llu",
		    (unsigned long long)index, (unsigned long long)size - 1);
		return;
	}
	if (ledger_entries(ctx->ledger, index, 1, api_entry_cb, &j) != 0) {
		json_decref(j);
		api_reply_storage(req, "the entry");
		return;
	}
	if (j == NULL) {
		server_reply_error(req, 500, "internal", "cannot encode entry "
		    "%llu", (unsigned long long)index);
		return;
	}
	/* with its inclusion proof against the latest signed checkpoint, so
	 * that one answer is enough to check the entry */
	if ((proof = api_proof_of(ctx->ledger, index)) == NULL) {
		json_decref(j);
		api_reply_storage(req, "the inclusion proof");
		return;
	}
	if (json_object_set_new(j, "inclusion", proof) != 0) {
		json_decref(j);
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	server_reply_json(req, 200, j);
}

/* A weight of RFC 9110 12.4.2, qvalue = ("0" ["." 0*3DIGIT]) /
 * ("1" ["." 0*3("0")]), in thousandths; -1 when malformed. */
static int
api_qvalue(const char *s, size_t n)
{
	int q = 0, scale = 100;
	size_t i;

	if (n == 0 || (s[0] != '0' && s[0] != '1') || n > 5 ||
	    (n > 1 && s[1] != '.'))
		return -1;
	for (i = 2; i < n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9' || (s[0] == '1' && s[i] != '0'))
			return -1;
		q += (s[i] - '0') * scale;
	}
	return s[0] == '1' ? 1000 : q;
}

/* How specifically the media range r[0..n) matches type: 2 exactly, 1 as
 * "type/ *", 0 as "* / *" (without the spaces), -1 not at all. */
static int
api_range_match(const char *r, size_t n, const char *type)
{
	size_t major = (size_t)(strchr(type, '/') - type);

	if (n == 3 && strncmp(r, "*/*", 3) == 0)
		return 0;
	if (n == major + 2 && strncasecmp(r, type, major + 1) == 0 &&
	    r[major + 1] == '*')
		return 1;
	if (n == strlen(type) && strncasecmp(r, type, n) == 0)
		return 2;
	return -1;
}

/* See api_int.h. */
int
api_accept_q(const char *a, const char *type)
{
	const char *end, *p, *semi;
	size_t n;
	int best = -1, bestspec = -1, spec, q;

	for (; *a != '\0'; a = *end != '\0' ? end + 1 : end) {
		end = a + strcspn(a, ",");
		a += strspn(a, " \t");
		n = strcspn(a, ";,");
		while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
			n--;
		spec = api_range_match(a, n, type);
		q = 1000;
		for (p = a + strcspn(a, ";,"); p < end && *p == ';'; p = semi) {
			p++;
			p += strspn(p, " \t");
			semi = p + strcspn(p, ";,");
			if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
				n = (size_t)(semi - p - 2);
				while (n > 0 && (p[2 + n - 1] == ' ' ||
				    p[2 + n - 1] == '\t'))
					n--;
				q = api_qvalue(p + 2, n);
			}
		}
		if (spec < 0 || q < 0)
			continue;
		if (spec > bestspec || (spec == bestspec && q > best)) {
			bestspec = spec;
			best = q;
		}
	}
	return best;
}

/* Which answer the request's Accept header prefers: 1 the checkpoint
 * note as text/plain (transparency-log tooling), 0 JSON (also without
 * the header, and on a tie), -1 neither is acceptable. */
static int
api_wants_text(struct evhttp_request *req)
{
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Accept");
	int qt, qj;

	if (a == NULL)
		return 0;
	qt = api_accept_q(a, "text/plain");
	qj = api_accept_q(a, "application/json");
	if (qt <= 0 && qj <= 0)
		return -1;
	return qt > qj;
}

void
api_checkpoint(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct ledger_counts c;
	char note[API_CHECKPOINT_MAX];
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t size = 0;
	size_t nvalid = 0;
	json_t *cos;
	int text;

	if (api_method(req, API_GET) != 0 || api_params(req, NULL) != 0)
		return;
	if ((text = api_wants_text(req)) < 0) {
		server_reply_error(req, 406, "not_acceptable", "the checkpoint "
		    "is application/json or text/plain (the signed note)");
		return;
	}
	if (ledger_checkpoint(ctx->ledger, note, sizeof(note), &size) != 0) {
		if (ledger_size(ctx->ledger) == 0)
			server_reply_error(req, 404, "empty_ledger",
			    "the ledger has no checkpoint yet");
		else
			api_reply_storage(req, "the checkpoint");
		return;
	}
	if (text) {
		api_reply_text(req, note);
		return;
	}
	memset(&c, 0, sizeof(c));
	if (ledger_root(ctx->ledger, size, root) != 0 ||
	    ledger_counts(ctx->ledger, &c) != 0) {
		api_reply_storage(req, "the checkpoint");
		return;
	}
	/* With validators the stored checkpoint is the latest final one
	 * (the writer stores a note only with its quorum): its cosigners,
	 * as the bridge's own check counts them. */
	if ((cos = api_cosignatures_json(ctx->validators, note,
	    &nvalid)) == NULL) {
		server_reply_error(req, 500, "internal", "cannot build the "
		    "checkpoint");
		return;
	}
	/* "o" steals cos, also when json_pack fails */
	server_reply_json(req, 200, json_pack("{s:o,s:o,s:o,s:s,s:o,s:I}",
	    "tree_size", render_json_u64(size), "root_hash", render_json_hash(root),
	    "time", render_json_time(c.last_block_time), "checkpoint", note,
	    "cosignatures", cos, "valid_cosignatures", (json_int_t)nvalid));
}

/* A new JSON array of n hex hashes. */
json_t *
api_proof_json(uint8_t proof[][LEDGER_HASH_LEN], size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < n; i++)
		if (json_array_append_new(arr, render_json_hash(proof[i])) != 0) {
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

/*
 * The two sizes of a proof request: lo (required, from lo_min) and hi
 * (default: the tree's size cur), hi at most cur, and lo below hi
 * (inclusion: an index in a tree of size hi) or at most hi (consistency:
 * from <= to).  0, or -1 after a 400 that names the parameter.
 */
static int
api_proof_range(struct evhttp_request *req, uint64_t cur, const char *lo_name,
    uint64_t lo_min, const char *hi_name, int lo_is_index, uint64_t *lo,
    uint64_t *hi)
{
	int rc;

	if ((rc = server_query_u64(req, lo_name, lo_min, UINT64_MAX, lo)) != 0) {
		server_reply_error(req, 400, "bad_parameter", "%s %s", lo_name,
		    rc == 1 ? "is required" : lo_min == 0 ? "must be a decimal "
		    "integer from 0 to 18446744073709551615" : "must be a "
		    "decimal integer from 1 to 18446744073709551615");
		return -1;
	}
	if (api_param_u64(req, hi_name, 1, UINT64_MAX, cur, hi) != 0)
		return -1;
	if (*hi > cur) {
		server_reply_error(req, 400, "bad_parameter", "%s %llu is "
		    "larger than the tree (%llu)", hi_name,
		    (unsigned long long)*hi, (unsigned long long)cur);
		return -1;
	}
	if (lo_is_index && *lo >= *hi) {
		server_reply_error(req, 400, "bad_parameter", "%s %llu is "
		    "not in a tree of size %llu", lo_name,
		    (unsigned long long)*lo, (unsigned long long)*hi);
		return -1;
	}
	if (!lo_is_index && *lo > *hi) {
		server_reply_error(req, 400, "bad_parameter", "%s %llu is "
		    "larger than %s %llu", lo_name, (unsigned long long)*lo,
		    hi_name, (unsigned long long)*hi);
		return -1;
	}
	return 0;
}

void
api_inclusion(struct evhttp_request *req, void *arg)
{
	static const char *const params[] = { "index", "size", NULL };
	struct api_ctx *ctx = arg;
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	uint64_t index, size;
	size_t n = 0;

	if (api_method(req, API_GET) != 0 || api_params(req, params) != 0)
		return;
	/* RFC 9162 2.1.3: a leaf of a tree no larger than ours. */
	if (api_proof_range(req, ledger_size(ctx->ledger), "index", 0, "size",
	    1, &index, &size) != 0)
		return;
	memset(leaf, 0, sizeof(leaf));
	if (ledger_inclusion_proof(ctx->ledger, index, size, proof, &n) != 0 ||
	    n > LEDGER_PROOF_MAX ||
	    ledger_entries(ctx->ledger, index, 1, api_leaf_cb, leaf) != 0 ||
	    ledger_root(ctx->ledger, size, root) != 0) {
		api_reply_storage(req, "the inclusion proof");
		return;
	}
	server_reply_json(req, 200, json_pack("{s:o,s:o,s:o,s:o,s:o}",
	    "index", render_json_u64(index), "tree_size", render_json_u64(size),
	    "leaf_hash", render_json_hash(leaf), "root_hash", render_json_hash(root),
	    "proof", api_proof_json(proof, n)));
}

void
api_consistency(struct evhttp_request *req, void *arg)
{
	static const char *const params[] = { "from", "to", NULL };
	struct api_ctx *ctx = arg;
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t r1[LEDGER_HASH_LEN], r2[LEDGER_HASH_LEN];
	uint64_t from, to;
	size_t n = 0;

	if (api_method(req, API_GET) != 0 || api_params(req, params) != 0)
		return;
	/* RFC 9162 2.1.4: a proof from the empty tree is meaningless. */
	if (api_proof_range(req, ledger_size(ctx->ledger), "from", 1, "to", 0,
	    &from, &to) != 0)
		return;
	if (ledger_consistency_proof(ctx->ledger, from, to, proof, &n) != 0 ||
	    n > LEDGER_PROOF_MAX || ledger_root(ctx->ledger, from, r1) != 0 ||
	    ledger_root(ctx->ledger, to, r2) != 0) {
		api_reply_storage(req, "the consistency proof");
		return;
	}
	server_reply_json(req, 200, json_pack("{s:o,s:o,s:o,s:o,s:o}",
	    "from", render_json_u64(from), "to", render_json_u64(to),
	    "root_from", render_json_hash(r1), "root_to", render_json_hash(r2),
	    "proof", api_proof_json(proof, n)));
}

