/*
 * api_names.c: POST /api/v1/entries refuses a key-register entry whose
 * name an active key already has (issue 17), unless the request says
 * ?allow_same_name=1 (as `keybridge key register --allow-same-name` does).
 *
 * Names are in the signed entry and the ledger's rules allow a name twice
 * (a replacement key is registered before the old one is revoked), so
 * this is the API's check, before the entry is queued, not a rule: a
 * replay or a validator never applies it.  It reads the registry as of
 * now; two registrations of one name racing each other may both pass.
 */
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "bridge/api/api_int.h"

#define API_ALLOW_SAME_NAME	"allow_same_name"

/* See api_int.h. */
int
api_name_allowed(struct evhttp_request *req, int *allow)
{
	char v[8];
	int r;

	*allow = 0;
	r = server_query_str(req, API_ALLOW_SAME_NAME, v, sizeof(v));
	if (r == 0 && strcmp(v, "1") == 0)
		*allow = 1;
	else if (r == 0) {
		server_reply_error(req, 400, "bad_parameter", "%s must be 1",
		    API_ALLOW_SAME_NAME);
		return -1;
	}
	return 0;
}

/* See api_int.h. */
int
api_name_verdict(struct api_ctx *ctx, const char *entry, size_t len,
    const char **code, char *msg, size_t msglen)
{
	struct ledger_entry *e = NULL;
	const char *name, *kid;
	char id[LEDGER_KEYID_LEN + 1], why[128];
	int rc = 0, r;

	/* an entry that does not parse is the ledger's to refuse */
	if ((e = ledger_entry_new(entry, len, why, sizeof(why))) == NULL)
		return 0;
	if (ledger_entry_type_of(e) != LEDGER_KEY_REGISTER ||
	    (name = ledger_entry_get(e, "name")) == NULL)
		goto out;
	kid = ledger_entry_get(e, "key-id");
	if ((r = ledger_key_active_named(ctx->ledger, name, kid, id)) < 0) {
		*code = ledger_status_code(LEDGER_ERR_STORAGE);
		snprintf(msg, msglen, "cannot read the keys from the ledger");
		rc = 503;
	} else if (r == 0) {
		*code = "name_in_use";
		snprintf(msg, msglen, "the active key %s is already named "
		    "%.128s: revoke it first, or send the entry with ?%s=1",
		    id, name, API_ALLOW_SAME_NAME);
		rc = 409;
	}
out:
	ledger_entry_free(e);
	return rc;
}

int
api_name_check(struct api_ctx *ctx, struct evhttp_request *req,
    const char *entry, size_t len)
{
	const char *code;
	char msg[256];
	int allow, st;

	if (api_name_allowed(req, &allow) != 0)
		return -1;
	if (allow)
		return 0;
	if ((st = api_name_verdict(ctx, entry, len, &code, msg,
	    sizeof(msg))) != 0) {
		server_reply_error(req, st, code, "%s", msg);
		return -1;
	}
	return 0;
}
