/*
 * api_configs.c: published configuration and firmware hashes, and the
 * check a device makes of a file it downloaded (docs/design.md "config
 * published").
 *
 *   GET /api/v1/configs                      every group, its current version
 *   GET /api/v1/configs/GROUP                the versions, newest first, and
 *                                            the current one's proof
 *   GET /api/v1/configs/GROUP/check?sha256=H is H the current version, an
 *                                            older one, or unknown?
 *   GET /api/v1/configs/GROUP/versions[/V[/content]]  api_config_versions.c
 *
 * A match carries everything a device needs to check it without trusting
 * the bridge: the entry's text, its leaf index, an RFC 9162 inclusion
 * proof to the root of the latest signed checkpoint, and that checkpoint
 * (a C2SP signed note, verified with the validator key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "bridge/api/api_int.h"

#define API_CONFIGS_MAX    LEDGER_LIST_MAX	/* groups in one answer */

static json_t *
api_config_json(const struct ledger_config_info *c)
{
	return json_pack("{s:s,s:s,s:o,s:s?,s:o}",
	    "version", c->version,
	    "sha256", c->sha256,
	    "size", c->size >= 0 ? json_integer(c->size) : json_null(),
	    "file", c->file[0] != '\0' ? c->file : NULL,
	    "index", render_json_u64(c->index));
}

struct api_entry_text {
	uint8_t leaf[LEDGER_HASH_LEN];
	json_t *text;
};

static int
api_entry_text_cb(const struct ledger_entry_info *e, void *arg)
{
	struct api_entry_text *t = arg;

	memcpy(t->leaf, e->leaf_hash, LEDGER_HASH_LEN);
	t->text = json_stringn(e->text, e->len);
	return 1;
}

/* See api_int.h. */
json_t *
api_proof_of(struct ledger *l, uint64_t index)
{
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t root[LEDGER_HASH_LEN];
	char note[API_CHECKPOINT_MAX], hex[2 * LEDGER_HASH_LEN + 1];
	char rhex[2 * LEDGER_HASH_LEN + 1];
	struct api_entry_text t;
	json_t *arr = NULL, *j = NULL;
	uint64_t size = 0;
	size_t n = 0;

	memset(&t, 0, sizeof(t));
	if (ledger_checkpoint(l, note, sizeof(note), &size) != 0 ||
	    index >= size ||
	    ledger_inclusion_proof(l, index, size, proof, &n) != 0 ||
	    n > LEDGER_PROOF_MAX || ledger_root(l, size, root) != 0 ||
	    ledger_entries(l, index, 1, api_entry_text_cb, &t) != 0 ||
	    t.text == NULL || (arr = api_proof_json(proof, n)) == NULL)
		goto fail;
	ledger_hex(t.leaf, LEDGER_HASH_LEN, hex);
	ledger_hex(root, LEDGER_HASH_LEN, rhex);
	/* "o" steals t.text and arr, also when json_pack fails */
	j = json_pack("{s:o,s:o,s:s,s:o,s:s,s:o,s:s}", "entry", t.text,
	    "index", render_json_u64(index), "leaf_hash", hex, "tree_size",
	    render_json_u64(size), "root_hash", rhex, "proof", arr,
	    "checkpoint", note);
	return j;
fail:
	json_decref(t.text);
	json_decref(arr);
	return NULL;
}

struct api_groups {
	json_t *arr;
	char last[LEDGER_NAME_MAX + 1];
	json_int_t versions;
	json_t *cur;
	int oom;
};

static int
api_groups_flush(struct api_groups *g)
{
	if (g->cur == NULL)
		return 0;
	if (json_object_set_new(g->cur, "versions",
	    json_integer(g->versions)) != 0 ||
	    json_array_append_new(g->arr, g->cur) != 0) {
		g->cur = NULL;
		return -1;
	}
	g->cur = NULL;
	return 0;
}

static int
api_groups_cb(const struct ledger_config_info *c, void *arg)
{
	struct api_groups *g = arg;

	if (strcmp(c->group, g->last) == 0) {
		g->versions++;
		return 0;
	}
	if (api_groups_flush(g) != 0) {
		g->oom = 1;
		return 1;
	}
	if (json_array_size(g->arr) >= API_CONFIGS_MAX)
		return 1;		/* the answer's bound */
	/* the first row of a group is its newest: the current version */
	snprintf(g->last, sizeof(g->last), "%s", c->group);
	g->versions = 1;
	if ((g->cur = json_pack("{s:s,s:o}", "group", c->group, "current",
	    api_config_json(c))) == NULL) {
		g->oom = 1;
		return 1;
	}
	return 0;
}

/* GET /api/v1/configs. */
void
api_configs(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct api_groups g;

	if (api_method(req, API_GET) != 0 || api_params(req, NULL) != 0)
		return;
	memset(&g, 0, sizeof(g));
	if ((g.arr = json_array()) == NULL) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (ledger_configs(ctx->ledger, NULL, api_groups_cb, &g) != 0 ||
	    g.oom || api_groups_flush(&g) != 0) {
		json_decref(g.cur);
		json_decref(g.arr);
		if (g.oom)
			server_reply_error(req, 500, "internal",
			    "out of memory");
		else
			api_reply_storage(req, "the configurations");
		return;
	}
	server_reply_json(req, 200, json_pack("{s:o}", "groups", g.arr));
}

struct api_versions {
	json_t *arr;
	const char *sha256;		/* check: the hash looked for */
	struct ledger_config_info first, match;
	int n, found, oom;
};

static int
api_versions_cb(const struct ledger_config_info *c, void *arg)
{
	struct api_versions *v = arg;

	if (v->n++ == 0)
		v->first = *c;
	if (v->sha256 != NULL) {
		if (!v->found && strcmp(c->sha256, v->sha256) == 0) {
			v->match = *c;
			v->found = 1;
		}
		return 0;
	}
	if (json_array_append_new(v->arr, api_config_json(c)) != 0) {
		v->oom = 1;
		return 1;
	}
	return 0;
}

/* GET /api/v1/configs/GROUP/check?sha256=HEX. */
static void
api_config_check(struct evhttp_request *req, struct api_ctx *ctx,
    const char *group)
{
	struct api_versions v;
	char sha[66];
	json_t *j, *proof;
	int rc;

	if ((rc = server_query_str(req, "sha256", sha, sizeof(sha))) != 0 ||
	    strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64) {
		server_reply_error(req, 400, "bad_parameter", "sha256 %s 64 "
		    "lowercase hex digits", rc == 1 ? "is required:" :
		    "must be");
		return;
	}
	memset(&v, 0, sizeof(v));
	v.sha256 = sha;
	if (ledger_configs(ctx->ledger, group, api_versions_cb, &v) != 0) {
		api_reply_storage(req, "the configurations");
		return;
	}
	if (v.n == 0) {
		server_reply_error(req, 404, "config_not_found",
		    "nothing is published for group %s", group);
		return;
	}
	if (!v.found) {
		server_reply_json(req, 200, json_pack("{s:s,s:s,s:s,s:s}",
		    "group", group, "sha256", sha, "match", "unknown",
		    "current_version", v.first.version));
		return;
	}
	if ((proof = api_proof_of(ctx->ledger, v.match.index)) == NULL) {
		api_reply_storage(req, "the inclusion proof");
		return;
	}
	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "group", group,
	    "sha256", sha, "match", v.match.index == v.first.index ?
	    "current" : "older", "version", v.match.version,
	    "current_version", v.first.version, "index",
	    render_json_u64(v.match.index), "proof", proof);
	server_reply_json(req, 200, j);
}

/* GET /api/v1/configs/GROUP and /api/v1/configs/GROUP/check. */
void
api_config(struct evhttp_request *req, void *arg)
{
	static const char *const check_params[] = { "sha256", NULL };
	struct api_ctx *ctx = arg;
	struct api_versions v;
	char group[LEDGER_NAME_MAX + 2];
	const char *rest, *slash;
	json_t *proof;
	size_t n;

	if (api_method(req, API_GET) != 0)
		return;
	rest = api_path_rest(req, "/api/v1/configs/");
	slash = strchr(rest, '/');
	n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	if (slash != NULL && strcmp(slash, "/check") != 0 &&
	    strncmp(slash, "/versions", 9) != 0) {
		server_reply_error(req, 404, "not_found", "want "
		    "/api/v1/configs/GROUP, /api/v1/configs/GROUP/check"
		    "?sha256=HEX or /api/v1/configs/GROUP/versions[/V[/content]]");
		return;
	}
	if (n < sizeof(group)) {
		memcpy(group, rest, n);
		group[n] = '\0';
	}
	if (n >= sizeof(group) || !api_is_name(group)) {
		server_reply_error(req, 400, "bad_parameter", "a group name is "
		    "1 to 64 of A-Z a-z 0-9 . _ @ -");
		return;
	}
	if (slash != NULL && strncmp(slash, "/versions", 9) == 0) {
		api_config_versions(req, ctx, group, slash + 9);
		return;
	}
	if (slash != NULL) {
		if (api_params(req, check_params) == 0)
			api_config_check(req, ctx, group);
		return;
	}
	if (api_params(req, NULL) != 0)
		return;
	memset(&v, 0, sizeof(v));
	if ((v.arr = json_array()) == NULL) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (ledger_configs(ctx->ledger, group, api_versions_cb, &v) != 0 ||
	    v.oom) {
		json_decref(v.arr);
		api_reply_storage(req, "the configurations");
		return;
	}
	if (v.n == 0) {
		json_decref(v.arr);
		server_reply_error(req, 404, "config_not_found",
		    "nothing is published for group %s", group);
		return;
	}
	if ((proof = api_proof_of(ctx->ledger, v.first.index)) == NULL) {
		json_decref(v.arr);
		api_reply_storage(req, "the inclusion proof");
		return;
	}
	server_reply_json(req, 200, json_pack("{s:s,s:o,s:o,s:o}", "group",
	    group, "current", api_config_json(&v.first), "proof", proof,
	    "versions", v.arr));
}
