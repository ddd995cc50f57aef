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
#include <string.h>

#include <event2/http.h>

#include "bridge/api/api_int.h"

#define API_ALLOW_SAME_NAME	"allow_same_name"

int
api_name_check(struct api_ctx *ctx, struct evhttp_request *req,
    const char *entry, size_t len)
{
	struct ledger_entry *e = NULL;
	const char *name, *kid;
	char allow[8], id[LEDGER_KEYID_LEN + 1], why[128];
	int rc = 0, r;

	r = server_query_str(req, API_ALLOW_SAME_NAME, allow, sizeof(allow));
	if (r == 0 && strcmp(allow, "1") == 0)
		return 0;
	if (r == 0) {
		server_reply_error(req, 400, "bad_parameter", "%s must be 1",
		    API_ALLOW_SAME_NAME);
		return -1;
	}
	/* an entry that does not parse is the ledger's to refuse */
	if ((e = ledger_entry_new(entry, len, why, sizeof(why))) == NULL)
		return 0;
	if (ledger_entry_type_of(e) != LEDGER_KEY_REGISTER ||
	    (name = ledger_entry_get(e, "name")) == NULL)
		goto out;
	kid = ledger_entry_get(e, "key-id");
	if ((r = ledger_key_active_named(ctx->ledger, name, kid, id)) < 0) {
		api_reply_storage(req, "the keys");
		rc = -1;
	} else if (r == 0) {
		server_reply_error(req, 409, "name_in_use", "the active key %s "
		    "is already named %.128s: revoke it first, or send the "
		    "entry with ?%s=1", id, name, API_ALLOW_SAME_NAME);
		rc = -1;
	}
out:
	ledger_entry_free(e);
	return rc;
}
