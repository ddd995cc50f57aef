/*
 * api.c: the JSON API under /api/v1 (DESIGN.md "JSON API and dashboard").
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
 * method_not_allowed, not_found, unauthorized, account_not_found,
 * key_not_found, cert_not_found, config_not_found, entry_not_found,
 * empty_ledger, storage_error, unavailable and internal.  Messages say
 * what was wrong with the request in the API's words: never SQL, a path
 * or a trace.
 *
 * Every read handler first refuses a query that is malformed or has a
 * parameter it does not take (api_params, server.h's rules): a typo in a
 * filter must not silently list everything.
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

#include "bridge/bridge.h"
#include "bridge/api_int.h"


#define API_HEX_LEN		(2 * LEDGER_HASH_LEN + 1)

/* ---- helpers ----------------------------------------------------------- */

/* RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" of t into buf (API_TIME_LEN bytes). */
const char *
api_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
	return buf;
}

/* A new JSON string of the RFC 3339 time t. */
json_t *
api_json_time(time_t t)
{
	char buf[API_TIME_LEN];

	return json_string(api_time(t, buf, sizeof(buf)));
}

/* A new JSON string of the lowercase hex of a hash. */
json_t *
api_json_hash(const uint8_t h[LEDGER_HASH_LEN])
{
	char hex[API_HEX_LEN];

	ledger_hex(h, LEDGER_HASH_LEN, hex);
	return json_string(hex);
}

/* JSON integers are signed 64-bit (and JavaScript's exact range is 2^53):
 * every count and index here is far below either. */
json_t *
api_json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

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

/* ---- status ------------------------------------------------------------ */

/* One CA certificate for the status: its subject, notAfter, days left. */
static json_t *
api_ca_json(X509 *x, const char *role, const char *id, time_t now)
{
	char subject[256];
	struct tm tm;
	time_t na;

	if (X509_NAME_oneline(X509_get_subject_name(x), subject,
	    sizeof(subject)) == NULL ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1 ||
	    (na = timegm(&tm)) == -1)
		return NULL;
	return json_pack("{s:s,s:s?,s:s,s:o,s:I}", "role", role, "id", id,
	    "subject", subject, "not_after", api_json_time(na),
	    "days_left", (json_int_t)((na - now) / 86400));
}

/* The CA chain the bridge issues from, with expiry (an array). */
static json_t *
api_issuers_json(const struct api_ctx *ctx, time_t now)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	if (ctx->issuer != NULL)
		json_array_append_new(arr, api_ca_json(ctx->issuer, "issuing",
		    ctx->issuer_id, now));
	if (ctx->root != NULL)
		json_array_append_new(arr, api_ca_json(ctx->root, "root", NULL,
		    now));
	return arr;
}

/*
 * GET /api/v1/status.  Dashboards and monitors poll it, many at once: the
 * answer is built at most once per second and per tree size (the counts
 * change only with the tree, the ages and uptime only with the second)
 * and the text reused in between.
 */
static void
api_status(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct ledger_counts c;
	char note[API_CHECKPOINT_MAX], *text;
	json_t *j = NULL, *bytype = NULL, *cp = NULL;
	uint64_t cpsize = 0, tree = ledger_size(ctx->ledger);
	time_t now = time(NULL);
	size_t len;
	int t;

	if (api_method(req, API_GET) != 0 || api_params(req, NULL) != 0)
		return;
	if (ctx->status_len > 0 && ctx->status_tree == tree &&
	    ctx->status_at == now) {
		server_reply_json_text(req, 200, ctx->status_text,
		    ctx->status_len);
		return;
	}
	memset(&c, 0, sizeof(c));
	if (ledger_counts(ctx->ledger, &c) != 0) {
		api_reply_storage(req, "counts");
		return;
	}
	if ((bytype = json_object()) == NULL)
		goto oom;
	for (t = LEDGER_ACCOUNT_CREATE; t <= LEDGER_TYPE_MAX; t++)
		/* json_object_set_new steals the value, also on failure */
		if (json_object_set_new(bytype, ledger_entry_type_name(t),
		    api_json_u64(c.by_type[t])) != 0)
			goto oom;
	if (ledger_checkpoint(ctx->ledger, note, sizeof(note), &cpsize) == 0)
		cp = json_pack("{s:o,s:o,s:I,s:s}", "tree_size",
		    api_json_u64(cpsize), "time", api_json_time(c.last_block_time),
		    "age_seconds", (json_int_t)(now - c.last_block_time),
		    "note", note);
	else
		cp = json_null();
	if (cp == NULL)
		goto oom;
	/* "o" steals bytype and cp, also when json_pack fails. */
	j = json_pack("{s:s,s:I,s:o,s:o,s:o,s:{s:o,s:o},s:o,s:{s:o,s:o},s:o,"
	    "s:s?,s:s?,s:{s:s,s:s}}",
	    "version", KEYBRIDGE_VERSION,
	    "uptime_seconds", (json_int_t)(now - ctx->started),
	    "tree_size", api_json_u64(tree),
	    "checkpoint", cp,
	    "entries_by_type", bytype,
	    "keys", "active", api_json_u64(c.keys_active),
	    "revoked", api_json_u64(c.keys_revoked),
	    "accounts", api_json_u64(c.accounts),
	    "certificates", "good", api_json_u64(c.certs_good),
	    "revoked", api_json_u64(c.certs_revoked),
	    "configs", api_json_u64(c.configs),
	    "storage", ctx->storage,
	    "consensus", ctx->consensus,
	    "listeners", "https", ctx->cfg->est_listen,
	    "http", ctx->cfg->http_listen);
	bytype = cp = NULL;
	if (j == NULL)
		goto oom;
	if (json_object_set_new(json_object_get(j, "certificates"),
	    "expiring_30d", api_json_u64(c.certs_expiring_30d)) != 0 ||
	    json_object_set_new(j, "issuers", api_issuers_json(ctx, now)) != 0)
		goto oom_j;
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		goto oom;
	len = strlen(text);
	ctx->status_len = 0;
	if (len < sizeof(ctx->status_text)) {
		memcpy(ctx->status_text, text, len + 1);
		ctx->status_len = len;
		ctx->status_tree = tree;
		ctx->status_at = now;
	}
	server_reply_json_text(req, 200, text, len);
	free(text);
	return;
oom_j:
	json_decref(j);
oom:
	json_decref(bytype);
	json_decref(cp);
	server_reply_error(req, 500, "internal", "cannot build the status");
}

/* ---- accounts ---------------------------------------------------------- */

json_t *
api_account_json(const struct ledger_account_info *a)
{
	json_t *keys = json_array();
	int i;

	if (keys == NULL)
		return NULL;
	for (i = 0; i < a->nkeys && i < LEDGER_MAX_ACCT_KEYS; i++)
		if (json_array_append_new(keys, json_string(a->keys[i])) != 0) {
			json_decref(keys);
			return NULL;
		}
	return json_pack("{s:s,s:s,s:i,s:o,s:o,s:o,s:o}", "name", a->name,
	    "role", a->role, "threshold", a->threshold, "keys", keys,
	    "seq", api_json_u64(a->seq), "next_seq", api_json_u64(a->seq + 1),
	    "created_index", api_json_u64(a->created_index));
}

static int
api_accounts_cb(const struct ledger_account_info *a, void *arg)
{
	json_t *arr = arg;

	/* append_new steals; a NULL (no memory) is refused and stops us */
	return json_array_append_new(arr, api_account_json(a)) != 0;
}

static void
api_accounts(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	json_t *arr;

	if (api_method(req, API_GET) != 0 || api_params(req, NULL) != 0)
		return;
	if ((arr = json_array()) == NULL) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (ledger_accounts(ctx->ledger, api_accounts_cb, arr) != 0) {
		json_decref(arr);
		api_reply_storage(req, "accounts");
		return;
	}
	server_reply_json(req, 200, json_pack("{s:o}", "accounts", arr));
}

static void
api_account(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct ledger_account_info a;
	const char *rest;
	char *name = NULL;
	size_t n = 0;
	int rc;

	if (api_method(req, API_GET) != 0 || api_params(req, NULL) != 0)
		return;
	rest = api_path_rest(req, "/api/v1/accounts/");
	/* Names are percent-decoded; a NUL or '/' inside is not a name. */
	if ((name = evhttp_uridecode(rest, 0, &n)) == NULL) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (strlen(name) != n || !api_is_name(name)) {
		server_reply_error(req, 400, "bad_parameter", "an account "
		    "name is 1 to %d of A-Z a-z 0-9 . _ @ -", LEDGER_NAME_MAX);
		goto out;
	}
	memset(&a, 0, sizeof(a));
	if ((rc = ledger_account_get(ctx->ledger, name, &a)) < 0)
		api_reply_storage(req, "the account");
	else if (rc == 1)
		server_reply_error(req, 404, "account_not_found",
		    "no account named %s", name);
	else
		server_reply_json(req, 200, api_account_json(&a));
out:
	free(name);
}

/* ---- keys -------------------------------------------------------------- */

/* A new JSON array of n strings from a fixed-width table. */
static json_t *
api_strings(const char *tab, size_t width, int n)
{
	json_t *arr = json_array();
	int i;

	for (i = 0; arr != NULL && i < n && i < LEDGER_MAX_SANS; i++)
		if (json_array_append_new(arr,
		    json_string(tab + (size_t)i * width)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	return arr;
}

/* 1 when k was revoked by an entry before index size (the snapshot). */
static int
api_key_revoked_at(const struct ledger_key_info *k, uint64_t size)
{
	return k->status == LEDGER_KEY_REVOKED && k->revoked_index < size;
}

/* k as it stood when the ledger held entries [0, size): a revocation
 * from size on is not shown yet. */
static json_t *
api_key_json_at(const struct ledger_key_info *k, uint64_t size)
{
	int revoked = api_key_revoked_at(k, size);
	const char *reason = revoked ? ledger_reason_name(k->reason) : NULL;

	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:o,"
	    "s:s?,s:o,s:o,s:b}",
	    "key_id", k->key_id,
	    "account", k->account,
	    "name", k->name,
	    "profile", k->profile,
	    "spki", k->spki,
	    "dns", api_strings(&k->dns[0][0], sizeof(k->dns[0]), k->ndns),
	    "ip", api_strings(&k->ip[0][0], sizeof(k->ip[0]), k->nip),
	    "not_before", api_json_time(k->not_before),
	    "not_after", api_json_time(k->not_after),
	    "status", revoked ? "revoked" : "active",
	    "revoked_at", revoked ? api_json_time(k->revoked_at) : json_null(),
	    "reason", reason,
	    "registered_index", api_json_u64(k->registered_index),
	    "revoked_index", revoked ? api_json_u64(k->revoked_index) :
	    json_null(),
	    "has_csr", k->has_csr != 0);
}

json_t *
api_key_json(const struct ledger_key_info *k)
{
	return api_key_json_at(k, UINT64_MAX);
}

/* One page of GET /api/v1/keys, read at a snapshot of the ledger. */
struct api_key_page {
	json_t *arr;
	uint64_t size;			/* the snapshot: entries [0, size) */
	const char *status;		/* as of the snapshot, or NULL */
	size_t limit;			/* keys wanted on the page */
	size_t rows;			/* rows read by this ledger_keys call */
	char pos[LEDGER_KEYID_LEN + 1];	/* the last row read */
	char last[LEDGER_KEYID_LEN + 1];	/* the last key on the page */
	int more;			/* a match follows the page */
	int oom;
};

static int
api_keys_cb(const struct ledger_key_info *k, void *arg)
{
	struct api_key_page *pg = arg;

	pg->rows++;
	snprintf(pg->pos, sizeof(pg->pos), "%s", k->key_id);
	if (k->registered_index >= pg->size)
		return 0;		/* registered after the snapshot */
	if (pg->status != NULL && strcmp(pg->status,
	    api_key_revoked_at(k, pg->size) ? "revoked" : "active") != 0)
		return 0;
	if (json_array_size(pg->arr) >= pg->limit) {
		pg->more = 1;		/* one match past the page: stop */
		return 1;
	}
	if (json_array_append_new(pg->arr, api_key_json_at(k, pg->size)) !=
	    0) {
		pg->oom = 1;
		return 1;
	}
	snprintf(pg->last, sizeof(pg->last), "%s", k->key_id);
	return 0;
}

/*
 * GET /api/v1/keys?status&profile&name&after&limit: keys in key id order,
 * as the ledger stood at one tree size (the snapshot: "tree_size" of the
 * answer, carried by "next" as ID@SIZE), so that paging while entries are
 * appended neither skips nor repeats a key: keys registered later are
 * not listed, revocations made later not shown.  profile and name are
 * filtered by the ledger, status here (a key revoked after the snapshot
 * is still active in it); pages are read until the page is full and one
 * more match is seen, or the end, or API_SCAN_MAX rows.  "next" is null
 * exactly when nothing more matches (short of that scan bound).
 */
static void
api_keys(struct evhttp_request *req, void *arg)
{
	static const char *const params[] = { "status", "profile", "name",
	    "after", "limit", NULL };
	struct api_ctx *ctx = arg;
	struct ledger_key_filter f;
	struct api_key_page pg;
	char status[16], profile[16], name[LEDGER_NAME_MAX + 1];
	char after[LEDGER_KEYID_LEN + 1];
	uint64_t limit, size;
	size_t scanned = 0;
	int rc, end = 0;

	if (api_method(req, API_GET) != 0 || api_params(req, params) != 0)
		return;
	memset(&f, 0, sizeof(f));
	memset(&pg, 0, sizeof(pg));
	if (api_param_u64(req, "limit", 1, API_LIMIT_MAX, API_LIMIT_DEFAULT,
	    &limit) != 0)
		return;
	if ((rc = server_query_str(req, "status", status, sizeof(status))) < 0 ||
	    (rc == 0 && strcmp(status, "active") != 0 &&
	    strcmp(status, "revoked") != 0)) {
		server_reply_error(req, 400, "bad_parameter",
		    "status must be active or revoked");
		return;
	}
	pg.status = rc == 0 ? status : NULL;
	/* Revoked in the snapshot implies revoked now: the ledger may narrow
	 * that; active in the snapshot may be revoked now. */
	f.status = pg.status != NULL && strcmp(pg.status, "revoked") == 0 ?
	    pg.status : NULL;
	if ((rc = server_query_str(req, "profile", profile,
	    sizeof(profile))) < 0 || (rc == 0 && strcmp(profile, "device") != 0 &&
	    strcmp(profile, "server") != 0 && strcmp(profile, "admin") != 0)) {
		server_reply_error(req, 400, "bad_parameter",
		    "profile must be device, server or admin");
		return;
	}
	f.profile = rc == 0 ? profile : NULL;
	if ((rc = server_query_str(req, "name", name, sizeof(name))) < 0 ||
	    (rc == 0 && !api_is_name(name))) {
		server_reply_error(req, 400, "bad_parameter", "name is a prefix "
		    "of device names: 1 to 64 of A-Z a-z 0-9 . _ @ -");
		return;
	}
	f.name_prefix = rc == 0 ? name : NULL;
	if (api_cursor(req, api_is_key_id, "a key id (64 lowercase hex "
	    "digits)", ledger_size(ctx->ledger), after, sizeof(after),
	    &size) != 0)
		return;
	pg.size = size;
	pg.limit = (size_t)limit;
	snprintf(pg.pos, sizeof(pg.pos), "%s", after);
	if ((pg.arr = json_array()) == NULL) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	while (!pg.more && !pg.oom && !end && scanned < API_SCAN_MAX) {
		pg.rows = 0;
		f.after = pg.pos[0] != '\0' ? pg.pos : NULL;
		f.limit = LEDGER_LIST_MAX;
		if (ledger_keys(ctx->ledger, &f, api_keys_cb, &pg) != 0 &&
		    !pg.more && !pg.oom) {
			json_decref(pg.arr);
			api_reply_storage(req, "keys");
			return;
		}
		scanned += pg.rows;
		end = pg.rows < LEDGER_LIST_MAX;
	}
	if (pg.oom) {
		json_decref(pg.arr);
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	/* more: resume after the page's last key; the scan bound: after the
	 * last row read (the rows between did not match) */
	server_reply_json(req, 200, json_pack("{s:o,s:o,s:o}", "tree_size",
	    api_json_u64(size), "keys", pg.arr, "next", pg.more ?
	    api_json_cursor(pg.last, size) : !end && !pg.more ?
	    api_json_cursor(pg.pos, size) : json_null()));
}

/* GET /api/v1/keys/ID: the key and its certificates. */
static void
api_key(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct ledger_key_info *k = NULL;	/* ~10 KiB: not on the stack */
	json_t *j, *certs;
	const char *id;
	int rc;

	if (api_method(req, API_GET) != 0 || api_params(req, NULL) != 0)
		return;
	id = api_path_rest(req, "/api/v1/keys/");
	if (!api_is_key_id(id)) {
		server_reply_error(req, 400, "bad_parameter", "a key id is 64 "
		    "lowercase hex digits (SHA-256 of the SPKI)");
		return;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if ((rc = ledger_key_get(ctx->ledger, id, k)) < 0) {
		api_reply_storage(req, "the key");
		goto out;
	}
	if (rc == 1) {
		server_reply_error(req, 404, "key_not_found", "no key %s", id);
		goto out;
	}
	j = api_key_json(k);
	certs = api_key_certs_json(ctx->ledger, k, time(NULL));
	/* json_object_set_new steals certs, also when it fails */
	if (j == NULL || certs == NULL) {
		json_decref(j);
		json_decref(certs);
		api_reply_storage(req, "the key's certificates");
	} else if (json_object_set_new(j, "certificates", certs) != 0) {
		json_decref(j);
		server_reply_error(req, 500, "internal", "out of memory");
	} else
		server_reply_json(req, 200, j);
out:
	free(k);
}

/* ---- submitting -------------------------------------------------------- */

int
api_http_status(enum ledger_status st)
{
	switch (st) {
	case LEDGER_OK:			return 201;
	case LEDGER_ERR_MALFORMED:	return 400;
	case LEDGER_ERR_TOO_LARGE:	return 413;
	case LEDGER_ERR_UNKNOWN_ACCOUNT:
	case LEDGER_ERR_SIGNATURE:
	case LEDGER_ERR_THRESHOLD:
	case LEDGER_ERR_PERMISSION:
	case LEDGER_ERR_PREAUTH:
	case LEDGER_ERR_NOT_OWNER:	return 403;
	case LEDGER_ERR_SEQUENCE:
	case LEDGER_ERR_ACCOUNT_EXISTS:
	case LEDGER_ERR_DUPLICATE_KEY:
	case LEDGER_ERR_KEY_REVOKED:
	case LEDGER_ERR_DUPLICATE_SERIAL:
	case LEDGER_ERR_CERT_REVOKED:
	case LEDGER_ERR_CERT_CURRENT:
	case LEDGER_ERR_PREAUTH_EXISTS:
	case LEDGER_ERR_DUPLICATE_CONFIG: return 409;
	case LEDGER_ERR_TIME:
	case LEDGER_ERR_WINDOW:		return 422;
	case LEDGER_ERR_UNKNOWN_KEY:
	case LEDGER_ERR_UNKNOWN_CERT:	return 404;
	case LEDGER_ERR_STORAGE:
	case LEDGER_ERR_UNAVAILABLE:	return 503;	/* + Retry-After */
	}
	return 500;
}

/*
 * ledger_submit's completion, on the event loop thread (ledger_drain).
 * arg is the deferred request: libevent 2.1 keeps it alive even when the
 * client has gone (req->evcon = NULL) and frees it in the reply, so it is
 * answered exactly once here and not touched after.
 */
static void
api_submit_done(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct evhttp_request *req = arg;

	if (st != LEDGER_OK) {
		server_reply_error(req, api_http_status(st),
		    ledger_status_code(st), "%s",
		    why != NULL && *why != '\0' ? why : ledger_status_code(st));
		return;
	}
	server_reply_json(req, 201, json_pack("{s:o,s:o,s:o,s:s}",
	    "index", api_json_u64(r->index),
	    "leaf_hash", api_json_hash(r->leaf_hash),
	    "tree_size", api_json_u64(r->tree_size),
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

static void
api_submit(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	const char *ct, *entry;
	char *body = NULL;
	size_t len = 0, elen;
	json_t *j = NULL, *e;
	json_error_t jerr;
	int rc;

	if (api_method(req, API_POST) != 0 || api_params(req, NULL) != 0)
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
	if ((rc = server_body(req, (size_t)ctx->cfg->max_body, &body,
	    &len)) == 1) {
		server_reply_error(req, 413, "body_too_large", "the body is "
		    "over %ld bytes", ctx->cfg->max_body);
		return;
	} else if (rc != 0) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	entry = body;
	elen = len;
	if (ct != NULL && api_ctype_is(ct, "application/json")) {
		if ((j = json_loadb(body, len, JSON_REJECT_DUPLICATES,
		    &jerr)) == NULL) {
			server_reply_error(req, 400, "invalid_json",
			    "line %d column %d: %s", jerr.line, jerr.column,
			    jerr.text);
			goto out;
		}
		if (!json_is_string(e = json_object_get(j, "entry"))) {
			server_reply_error(req, 400, "bad_request", "the JSON "
			    "body needs a string field \"entry\"");
			goto out;
		}
		entry = json_string_value(e);
		elen = json_string_length(e);
	}
	if (elen == 0) {
		server_reply_error(req, 400, "bad_request", "the body is empty: "
		    "send a signed entry");
		goto out;
	}
	/* The ledger copies the entry; req is answered in api_submit_done. */
	if (ledger_submit(ctx->ledger, entry, elen, api_submit_done,
	    req) != 0)
		server_reply_error(req, 503,
		    ledger_status_code(LEDGER_ERR_UNAVAILABLE), "the ledger "
		    "is not accepting entries right now; retry");
out:
	json_decref(j);
	free(body);
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

/*
 * 1 when the TLS client presented a certificate of the admin profile that
 * OCSP would answer good for now: the listener verified its chain to our
 * CA, and the ledger holds a record of exactly this certificate (serial
 * and SHA-256) with the admin profile, neither it nor its key revoked,
 * inside its validity.  The alternative to the bearer token for
 * operators (DESIGN.md: keys registered on the ledger, not secrets in a
 * file).
 */
static int
api_admin_cert_ok(const struct api_ctx *ctx, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	struct ledger_cert_info c;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char serial[41], hex[2 * EVP_MAX_MD_SIZE + 1];
	X509 *peer;
	SSL *ssl;
	time_t now = time(NULL), at;
	int reason;

	if (evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL ||
	    (peer = SSL_get0_peer_certificate(ssl)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK ||
	    issue_serial_hex(peer, serial) != 0 ||
	    X509_digest(peer, EVP_sha256(), md, &mdlen) != 1 ||
	    ledger_cert_get(ctx->ledger, serial, &c) != 0)
		return 0;
	ledger_hex(md, mdlen, hex);
	return strcmp(c.profile, "admin") == 0 &&
	    strcmp(c.cert_sha256, hex) == 0 &&
	    !ledger_cert_revoked(&c, &at, &reason) &&
	    now >= c.not_before && now < c.not_after;
}

/* Every API route goes through here: reads need the bearer token or an
 * admin client certificate when the configuration asks for it (writes
 * are signed entries, checked by the ledger's rules whoever sends them). */
static void
api_guard(struct evhttp_request *req, void *arg)
{
	struct api_route *r = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (r->ctx->need_token && cmd != EVHTTP_REQ_POST &&
	    !api_bearer_ok(r->ctx, req) && !api_admin_cert_ok(r->ctx, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"keybridge API\"");
		server_reply_error(req, 401, "unauthorized", "reads of the API "
		    "need Authorization: Bearer <api_token> or a client "
		    "certificate of the admin profile");
		return;
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
		{ "/api/v1/entries", api_submit },
		{ "/api/v1/events", events_handle },	/* arg: ctx->events */
	};
	size_t i, n = sizeof(routes) / sizeof(routes[0]);

	if (n > sizeof(ctx->routes) / sizeof(ctx->routes[0]))
		return -1;
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
