/*
 * api_status.c: GET /api/v1/status: the counts, the checkpoint, the CA chain's expiry
 * and the listeners, built at most once per second and tree size.
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
	    "subject", subject, "not_after", render_json_time(na),
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
	/* After a CA rollover: the older issuers still served (their
	 * certificates' OCSP and CRLs) until their last one expires. */
	for (size_t i = 0; i < ctx->nold_issuers; i++)
		json_array_append_new(arr, api_ca_json(ctx->old_issuers[i],
		    "issuing-previous", ctx->old_issuer_ids[i], now));
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
void
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
		    render_json_u64(c.by_type[t])) != 0)
			goto oom;
	if (ledger_checkpoint(ctx->ledger, note, sizeof(note), &cpsize) == 0)
		cp = json_pack("{s:o,s:o,s:I,s:s}", "tree_size",
		    render_json_u64(cpsize), "time", render_json_time(c.last_block_time),
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
	    "tree_size", render_json_u64(tree),
	    "checkpoint", cp,
	    "entries_by_type", bytype,
	    "keys", "active", render_json_u64(c.keys_active),
	    "revoked", render_json_u64(c.keys_revoked),
	    "accounts", render_json_u64(c.accounts),
	    "certificates", "good", render_json_u64(c.certs_good),
	    "revoked", render_json_u64(c.certs_revoked),
	    "configs", render_json_u64(c.configs),
	    "storage", ctx->storage,
	    "consensus", ctx->consensus,
	    "listeners", "https", ctx->est_listen,
	    "http", ctx->http_listen);
	bytype = cp = NULL;
	if (j == NULL)
		goto oom;
	if (json_object_set_new(json_object_get(j, "certificates"),
	    "expiring_30d", render_json_u64(c.certs_expiring_30d)) != 0 ||
	    json_object_set_new(j, "issuers", api_issuers_json(ctx, now)) != 0 ||
	    api_validators_status(ctx->validators, cpsize, j) != 0)
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

