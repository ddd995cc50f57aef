/*
 * api_proofs.c: proof bundles (issue 15, docs/api.md "Proof bundles"):
 *
 *   GET /api/v1/proofs/config/GROUP?sha256=HEX[&since=SIZE]
 *   GET /api/v1/proofs/key/KEYID[?since=SIZE]
 *   GET /api/v1/proofs/cert/SERIAL[?since=SIZE]
 *   GET /api/v1/proofs/status/KEYID
 *   GET /api/v1/proofs/status/cert/SERIAL
 *
 * Each answers text/plain: a C2SP tlog-proof (ledger/bundle.h) of the
 * entry against the latest final checkpoint with all its cosignatures,
 * which a device checks offline (examples/device/kbverify).  They reveal
 * nothing the ledger does not publish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "bridge/api/api_int.h"
#include "ledger/bundle.h"

#define API_PROOFS_PREFIX	"/api/v1/proofs/"
#define API_SERIAL_MAX		40

/* 1 when s is a serial as the ledger writes it (1 to 40 lowercase hex
 * digits, no leading zero). */
static int
api_proof_serial(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n > 0 && n <= API_SERIAL_MAX && s[n] == '\0' && s[0] != '0';
}

/* The config part: GROUP and ?sha256 into *a.  0, or -1 answered. */
static int
api_proof_config(struct evhttp_request *req, struct ledger *l,
    const char *group, struct ledger_bundle_ask *a)
{
	char sha[2 * LEDGER_HASH_LEN + 2];
	int rc;

	if (!api_is_name(group)) {
		server_reply_error(req, 400, "bad_parameter", "a group is 1 to "
		    "%d of A-Z a-z 0-9 . _ @ -", LEDGER_NAME_MAX);
		return -1;
	}
	if (server_query_str(req, "sha256", sha, sizeof(sha)) != 0 ||
	    !api_is_key_id(sha)) {
		server_reply_error(req, 400, "bad_parameter", "sha256 is "
		    "required: the file's SHA-256 in 64 lowercase hex digits");
		return -1;
	}
	if ((rc = ledger_bundle_config(l, group, sha, NULL, a)) < 0) {
		api_reply_storage(req, "the publications");
		return -1;
	}
	if (rc == 1) {
		server_reply_error(req, 404, "config_not_found", "group %s has "
		    "no publication with sha256 %s", group, sha);
		return -1;
	}
	return 0;
}

/* KIND/ID of the path into *a.  0, or -1 answered. */
static int
api_proof_ask(struct evhttp_request *req, struct ledger *l,
    struct ledger_bundle_ask *a)
{
	const char *rest = api_path_rest(req, API_PROOFS_PREFIX);
	int rc;

	if (strncmp(rest, "config/", 7) == 0)
		return api_proof_config(req, l, rest + 7, a);
	if (server_query_str(req, "sha256", NULL, 0) != 1) {
		server_reply_error(req, 400, "bad_parameter", "sha256 is for "
		    "config proofs only");
		return -1;
	}
	if (strncmp(rest, "key/", 4) == 0 && api_is_key_id(rest + 4))
		rc = ledger_bundle_key(l, rest + 4, a);
	else if (strncmp(rest, "cert/", 5) == 0 && api_proof_serial(rest + 5))
		rc = ledger_bundle_cert(l, rest + 5, a);
	else {
		server_reply_error(req, 404, "not_found", "proofs are "
		    "config/GROUP?sha256=HEX, key/KEYID (64 lowercase hex) or "
		    "cert/SERIAL (lowercase hex)");
		return -1;
	}
	if (rc < 0)
		api_reply_storage(req, "the registry");
	else if (rc == 1)
		server_reply_error(req, 404, rest[0] == 'k' ? "key_not_found" :
		    "cert_not_found", "no %s", rest);
	return rc == 0 ? 0 : -1;
}

/* status/KEYID or status/cert/SERIAL (rest: after "status/"): the
 * status bundle (ledger_bundle_status), a proof of absence for an id the
 * registry never held. */
static void
api_proof_status(struct evhttp_request *req, struct ledger *l,
    const char *rest)
{
	enum ledger_map_kind kind = LEDGER_MAP_KEY;
	char why[256], *text = NULL;
	size_t len = 0;
	int rc;

	if (strncmp(rest, "cert/", 5) == 0 && api_proof_serial(rest + 5)) {
		kind = LEDGER_MAP_CERT;
		rest += 5;
	} else if (!api_is_key_id(rest)) {
		server_reply_error(req, 404, "not_found", "status proofs are "
		    "status/KEYID (64 lowercase hex) or status/cert/SERIAL "
		    "(lowercase hex)");
		return;
	}
	if (server_query_str(req, "sha256", NULL, 0) != 1 ||
	    server_query_str(req, "since", NULL, 0) != 1) {
		server_reply_error(req, 400, "bad_parameter", "a status proof "
		    "takes no parameters");
		return;
	}
	rc = ledger_bundle_status(l, kind, rest, &text, &len, why, sizeof(why));
	if (rc == 1)
		server_reply_error(req, 409, "not_final", "%s", why);
	else if (rc != 0)
		api_reply_storage(req, "the status proof");
	else
		api_reply_text(req, text);
	free(text);
}

void
api_proof(struct evhttp_request *req, void *arg)
{
	static const char *const params[] = { "sha256", "since", NULL };
	struct api_ctx *ctx = arg;
	struct ledger_bundle_ask a;
	char why[256], *text = NULL;
	size_t len = 0;
	uint64_t since = 0;
	int rc;

	if (api_method(req, API_GET) != 0 || api_params(req, params) != 0)
		return;
	if (api_param_u64(req, "since", 1, UINT64_MAX, 0, &since) != 0)
		return;
	if (strncmp(api_path_rest(req, API_PROOFS_PREFIX), "status/", 7) == 0) {
		api_proof_status(req, ctx->ledger,
		    api_path_rest(req, API_PROOFS_PREFIX) + 7);
		return;
	}
	memset(&a, 0, sizeof(a));
	if (api_proof_ask(req, ctx->ledger, &a) != 0)
		return;
	a.since = since;
	rc = ledger_bundle(ctx->ledger, &a, &text, &len, why, sizeof(why));
	if (rc == 1)
		server_reply_error(req, since > 0 ? 400 : 409, since > 0 ?
		    "bad_parameter" : "not_final", "%s", why);
	else if (rc != 0)
		api_reply_storage(req, "the proof bundle");
	else
		api_reply_text(req, text);
	free(text);
}
