/*
 * render.c: the JSON shapes of accounts, keys and certificates, shared by
 * the API (bridge/api/) and the command line's --json output (bridge/cli/),
 * so the two can never drift apart.  Every function returns a new
 * reference, or NULL when out of memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "bridge/render.h"

#define RENDER_HEX_LEN	(2 * LEDGER_HASH_LEN + 1)

/* RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" of t into buf (RENDER_TIME_LEN bytes). */
const char *
render_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
	return buf;
}

/* A new JSON string of the RFC 3339 time t. */
json_t *
render_json_time(time_t t)
{
	char buf[RENDER_TIME_LEN];

	return json_string(render_time(t, buf, sizeof(buf)));
}

/* A new JSON string of the lowercase hex of a hash. */
json_t *
render_json_hash(const uint8_t h[LEDGER_HASH_LEN])
{
	char hex[RENDER_HEX_LEN];

	ledger_hex(h, LEDGER_HASH_LEN, hex);
	return json_string(hex);
}

/* JSON integers are signed 64-bit (and JavaScript's exact range is 2^53):
 * every count and index here is far below either. */
json_t *
render_json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

json_t *
render_account_json(const struct ledger_account_info *a)
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
	    "seq", render_json_u64(a->seq), "next_seq", render_json_u64(a->seq + 1),
	    "created_index", render_json_u64(a->created_index));
}

/* A new JSON array of n strings from a fixed-width table. */
static json_t *
render_strings(const char *tab, size_t width, int n)
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
int
render_key_revoked_at(const struct ledger_key_info *k, uint64_t size)
{
	return k->status == LEDGER_KEY_REVOKED && k->revoked_index < size;
}

/* k as it stood when the ledger held entries [0, size): a revocation
 * from size on is not shown yet. */
json_t *
render_key_json_at(const struct ledger_key_info *k, uint64_t size)
{
	int revoked = render_key_revoked_at(k, size);
	const char *reason = revoked ? ledger_reason_name(k->reason) : NULL;

	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:o,"
	    "s:s?,s:o,s:o,s:b,s:o}",
	    "key_id", k->key_id,
	    "account", k->account,
	    "name", k->name,
	    "profile", k->profile,
	    "spki", k->spki,
	    "dns", render_strings(&k->dns[0][0], sizeof(k->dns[0]), k->ndns),
	    "ip", render_strings(&k->ip[0][0], sizeof(k->ip[0]), k->nip),
	    "not_before", render_json_time(k->not_before),
	    "not_after", render_json_time(k->not_after),
	    "status", revoked ? "revoked" : "active",
	    "revoked_at", revoked ? render_json_time(k->revoked_at) : json_null(),
	    "reason", reason,
	    "registered_index", render_json_u64(k->registered_index),
	    "revoked_index", revoked ? render_json_u64(k->revoked_index) :
	    json_null(),
	    "has_csr", k->has_csr != 0,
	    "config_groups", render_strings(&k->groups[0][0],
	    sizeof(k->groups[0]), k->ngroups));
}

json_t *
render_key_json(const struct ledger_key_info *k)
{
	return render_key_json_at(k, UINT64_MAX);
}

json_t *
render_cert_json(const struct ledger_cert_info *c, uint64_t key_rev, time_t now)
{
	time_t at = 0;
	int reason = 0, revoked = ledger_cert_revoked(c, &at, &reason);
	/* the revocation ledger_cert_revoked() took: the key's when it is
	 * the only one or the earlier one */
	int by_key = revoked && c->key_revoked && (!c->revoked ||
	    c->key_revoked_at < c->revoked_at);
	json_t *idx = json_null();

	if (revoked && !by_key)
		idx = render_json_u64(c->revoked_index);
	else if (by_key && key_rev != UINT64_MAX)
		idx = render_json_u64(key_rev);
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s?,s:o,s:s,s:o,s:s?,"
	    "s:o,s:s?,s:b}",
	    "serial", c->serial,
	    "issuer", c->issuer,
	    "key_id", c->key_id,
	    "profile", c->profile,
	    "not_before", render_json_time(c->not_before),
	    "not_after", render_json_time(c->not_after),
	    /* null while a TBS entry's signed certificate is not kept */
	    "cert_sha256", c->cert_sha256[0] != '\0' ? c->cert_sha256 : NULL,
	    "issued_index", render_json_u64(c->issued_index),
	    "status", revoked ? "revoked" : "good",
	    "revoked_at", revoked ? render_json_time(at) : json_null(),
	    "reason", revoked ? ledger_reason_name(reason) : NULL,
	    "revoked_index", idx,
	    "revoked_by", !revoked ? NULL : by_key ? "key" : "certificate",
	    "expired", c->not_after <= now);
}
