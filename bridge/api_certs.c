/*
 * api_certs.c: GET /api/v1/certs and /api/v1/certs/SERIAL, and a key's
 * certificates in /api/v1/keys/ID.  A certificate's "status" is what the
 * OCSP responder answers for it (good, or revoked with the time and reason
 * of its own revocation or its key's, whichever came first); "expired"
 * says whether its notAfter has passed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "bridge/api_int.h"

#define API_SERIAL_MAX 40	/* hex digits of our serials */

/* See api_int.h. */
json_t *
api_cert_json(const struct ledger_cert_info *c, time_t now)
{
	time_t at = 0;
	int reason = 0, revoked = ledger_cert_revoked(c, &at, &reason);

	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:o,s:s,s:o,s:s?,"
	    "s:o,s:b}",
	    "serial", c->serial,
	    "issuer", c->issuer,
	    "key_id", c->key_id,
	    "profile", c->profile,
	    "not_before", api_json_time(c->not_before),
	    "not_after", api_json_time(c->not_after),
	    "cert_sha256", c->cert_sha256,
	    "issued_index", api_json_u64(c->issued_index),
	    "status", revoked ? "revoked" : "good",
	    "revoked_at", revoked ? api_json_time(at) : json_null(),
	    "reason", revoked ? ledger_reason_name(reason) : NULL,
	    "revoked_index", c->revoked ? api_json_u64(c->revoked_index) :
	    json_null(),
	    "expired", c->not_after <= now);
}

struct api_cert_list {
	json_t *arr;
	time_t now;
	const char *status;		/* filter, or NULL */
	const char *key_id;		/* filter, or NULL */
	size_t limit, scanned;
	char last[API_SERIAL_MAX + 1];
	int more, oom;
};

static int
api_cert_cb(const struct ledger_cert_info *c, void *arg)
{
	struct api_cert_list *pl = arg;
	time_t at;
	int reason, revoked;

	if (pl->scanned == pl->limit) {
		pl->more = 1;			/* the probe row */
		return 1;
	}
	pl->scanned++;
	snprintf(pl->last, sizeof(pl->last), "%s", c->serial);
	revoked = ledger_cert_revoked(c, &at, &reason);
	if (pl->status != NULL && strcmp(pl->status, revoked ? "revoked" :
	    "good") != 0)
		return 0;
	if (pl->key_id != NULL && strcmp(pl->key_id, c->key_id) != 0)
		return 0;
	if (json_array_append_new(pl->arr, api_cert_json(c, pl->now)) != 0) {
		pl->oom = 1;
		return 1;
	}
	return 0;
}

/* See api_int.h. */
json_t *
api_key_certs_json(struct ledger *l, const char *key_id, time_t now)
{
	struct api_cert_list pl;

	memset(&pl, 0, sizeof(pl));
	pl.now = now;
	pl.limit = (size_t)-1;
	if ((pl.arr = json_array()) == NULL)
		return NULL;
	if (ledger_key_certs(l, key_id, api_cert_cb, &pl) != 0 || pl.oom) {
		json_decref(pl.arr);
		return NULL;
	}
	return pl.arr;
}

/* 1 when s is a serial as the ledger writes it: 1 to 40 lowercase hex
 * digits without a leading zero. */
static int
api_is_serial(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n > 0 && n <= API_SERIAL_MAX && s[n] == '\0' && s[0] != '0';
}

/*
 * GET /api/v1/certs?status=good|revoked&key_id=ID&after=SERIAL&limit=N:
 * certificates in serial order.  The filters apply within the scanned
 * page, so a page may hold fewer than limit; "next" (the last serial
 * scanned) is there while more certificates follow.
 */
void
api_certs(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct api_cert_list pl;
	char status[16], key_id[LEDGER_KEYID_LEN + 2], after[API_SERIAL_MAX + 2];
	uint64_t limit;
	int rc;

	if (api_method(req, API_GET) != 0)
		return;
	memset(&pl, 0, sizeof(pl));
	if (api_param_u64(req, "limit", 1, API_LIMIT_MAX, API_LIMIT_DEFAULT,
	    &limit) != 0)
		return;
	if ((rc = server_query_str(req, "status", status, sizeof(status))) < 0 ||
	    (rc == 0 && strcmp(status, "good") != 0 &&
	    strcmp(status, "revoked") != 0)) {
		server_reply_error(req, 400, "bad_parameter",
		    "status must be good or revoked");
		return;
	}
	pl.status = rc == 0 ? status : NULL;
	if ((rc = server_query_str(req, "key_id", key_id, sizeof(key_id))) < 0 ||
	    (rc == 0 && !api_is_key_id(key_id))) {
		server_reply_error(req, 400, "bad_parameter", "key_id must be "
		    "64 lowercase hex digits");
		return;
	}
	pl.key_id = rc == 0 ? key_id : NULL;
	if ((rc = server_query_str(req, "after", after, sizeof(after))) < 0 ||
	    (rc == 0 && !api_is_serial(after))) {
		server_reply_error(req, 400, "bad_parameter", "after must be a "
		    "serial: lowercase hex without leading zeros");
		return;
	}
	pl.now = time(NULL);
	pl.limit = (size_t)limit;
	if ((pl.arr = json_array()) == NULL) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	/* one row more than the page tells whether another page follows */
	if (ledger_certs(ctx->ledger, rc == 0 ? after : "", (size_t)limit + 1,
	    api_cert_cb, &pl) != 0 && !pl.more && !pl.oom) {
		json_decref(pl.arr);
		api_reply_storage(req, "certificates");
		return;
	}
	if (pl.oom) {
		json_decref(pl.arr);
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	server_reply_json(req, 200, json_pack("{s:o,s:s?}", "certificates",
	    pl.arr, "next", pl.more ? pl.last : NULL));
}

/* GET /api/v1/certs/SERIAL. */
void
api_cert(struct evhttp_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct ledger_cert_info c;
	char norm[API_SERIAL_MAX + 2];
	const char *serial;
	size_t n;
	int rc;

	if (api_method(req, API_GET) != 0)
		return;
	/* openssl prints serials in uppercase with whole octets ("0E09..."):
	 * take that spelling too */
	serial = api_path_rest(req, "/api/v1/certs/");
	n = strspn(serial, "0123456789abcdefABCDEF");
	if (serial[n] == '\0' && n <= API_SERIAL_MAX + 1) {
		while (*serial == '0' && serial[1] != '\0')
			serial++;
		for (n = 0; serial[n] != '\0'; n++)
			norm[n] = (char)tolower((unsigned char)serial[n]);
		norm[n] = '\0';
		serial = norm;
	}
	if (!api_is_serial(serial)) {
		server_reply_error(req, 400, "bad_parameter", "a serial is 1 to "
		    "40 lowercase hex digits without leading zeros");
		return;
	}
	if ((rc = ledger_cert_get(ctx->ledger, serial, &c)) < 0)
		api_reply_storage(req, "the certificate");
	else if (rc == 1)
		server_reply_error(req, 404, "cert_not_found",
		    "no certificate %s on the ledger", serial);
	else
		server_reply_json(req, 200, api_cert_json(&c, time(NULL)));
}
