/*
 * api_keys.c: GET /api/v1/accounts[/NAME] and /api/v1/keys[/ID]: the registry's
 * accounts and keys (their JSON shapes are bridge/render.c's, shared with
 * the command line).
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

/* ---- accounts ---------------------------------------------------------- */

static int
api_accounts_cb(const struct ledger_account_info *a, void *arg)
{
	json_t *arr = arg;

	/* append_new steals; a NULL (no memory) is refused and stops us */
	return json_array_append_new(arr, render_account_json(a)) != 0;
}

void
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

void
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
		server_reply_json(req, 200, render_account_json(&a));
out:
	free(name);
}

/* ---- keys -------------------------------------------------------------- */

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
	    render_key_revoked_at(k, pg->size) ? "revoked" : "active") != 0)
		return 0;
	if (json_array_size(pg->arr) >= pg->limit) {
		pg->more = 1;		/* one match past the page: stop */
		return 1;
	}
	if (json_array_append_new(pg->arr, render_key_json_at(k, pg->size)) !=
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
void
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
	    render_json_u64(size), "keys", pg.arr, "next", pg.more ?
	    api_json_cursor(pg.last, size) : !end && !pg.more ?
	    api_json_cursor(pg.pos, size) : json_null()));
}

/* GET /api/v1/keys/ID: the key and its certificates. */
void
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
	j = render_key_json(k);
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

