/*
 * api_access.c: which client certificates may read the API, and what
 * (docs/api.md "Authentication" and "Device access").
 *
 * Where reads need the bearer token (api_guard in api.c), a TLS client
 * certificate may stand in for it.  Both kinds are checked against the
 * ledger the same way, as OCSP would answer for them now: the listener
 * verified the chain to our CA (so the CA's signature), and the ledger
 * holds a record of exactly this certificate (its serial, and its TBS
 * byte for byte: what the CA signed only once the ledger committed it;
 * SHA-256 for entries with a hash only), neither it nor its key revoked,
 * inside its validity.  Then its profile decides:
 *
 *   admin   every read, as the token (an operator's certificate);
 *   device  only what a device fetches (issue 15, "Which devices may
 *           fetch what"): the configuration routes of the groups its
 *           key's registration names (config-group lines), and the proof
 *           bundles, which reveal nothing the ledger does not publish.
 *           Its key must be active and inside its registered window too.
 *           Any other read is a 403: the device is known, and refused.
 *
 * Writes (POST /api/v1/entries) are signed entries, checked by the
 * ledger's rules whoever sends them; nothing here looks at them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bridge/ca/ca.h"
#include "bridge/api/api_int.h"

#define ACCESS_CONFIGS_PREFIX	"/api/v1/configs/"
#define ACCESS_PROOFS_PREFIX	"/api/v1/proofs/"

/*
 * 1 when the TLS client presented a certificate that the ledger recorded
 * and that OCSP would answer good for at `now` (see the comment above),
 * with *c its record; 0 otherwise (no certificate, another CA, not
 * recorded, revoked, expired, or a read error).
 */
static int
access_peer_cert(const struct api_ctx *ctx, struct evhttp_request *req,
    time_t now, struct ledger_cert_info *c)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	unsigned char *der = NULL;
	char serial[41];
	X509 *peer;
	SSL *ssl;
	time_t at;
	int reason, len, ok = 0;

	if (evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL ||
	    (peer = SSL_get0_peer_certificate(ssl)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK ||
	    issue_serial_hex(peer, serial) != 0 ||
	    ledger_cert_get(ctx->ledger, serial, c) != 0 ||
	    ledger_cert_revoked(c, &at, &reason) ||
	    now < c->not_before || now >= c->not_after ||
	    (len = i2d_X509(peer, &der)) <= 0)
		goto out;
	ok = ledger_cert_matches(ctx->ledger, c, der, (size_t)len) == 1;
out:
	OPENSSL_free(der);
	return ok;
}

/* 1 when group (len bytes, not terminated) is one of k's groups. */
static int
access_has_group(const struct ledger_key_info *k, const char *group,
    size_t len)
{
	for (int i = 0; i < k->ngroups; i++)
		if (strlen(k->groups[i]) == len &&
		    memcmp(k->groups[i], group, len) == 0)
			return 1;
	return 0;
}

/*
 * What a device whose key is k may read at path: API_ACCESS_OK for a
 * proof bundle, or a configuration route of one of its groups (the group
 * is the path's segment after /api/v1/configs/, as api_config reads it);
 * API_ACCESS_FORBIDDEN with why otherwise.
 */
static enum api_access
access_device_path(const struct ledger_key_info *k, const char *path,
    char *why, size_t whylen)
{
	const char *group, *end;
	size_t n;

	if (strncmp(path, ACCESS_PROOFS_PREFIX,
	    strlen(ACCESS_PROOFS_PREFIX)) == 0)
		return API_ACCESS_OK;
	if (strncmp(path, ACCESS_CONFIGS_PREFIX,
	    strlen(ACCESS_CONFIGS_PREFIX)) != 0) {
		snprintf(why, whylen, "a device certificate reads only "
		    "/api/v1/configs/GROUP/... of its configuration groups "
		    "and /api/v1/proofs/...");
		return API_ACCESS_FORBIDDEN;
	}
	group = path + strlen(ACCESS_CONFIGS_PREFIX);
	end = strchr(group, '/');
	n = end != NULL ? (size_t)(end - group) : strlen(group);
	if (access_has_group(k, group, n))
		return API_ACCESS_OK;
	snprintf(why, whylen, "the device key %.16s... may not read "
	    "configuration group %.*s (%s)", k->key_id,
	    (int)(n > LEDGER_NAME_MAX ? LEDGER_NAME_MAX : n), group,
	    k->ngroups == 0 ? "its registration names no config-group" :
	    "not one of its registration's config-group lines");
	return API_ACCESS_FORBIDDEN;
}

/* See api_int.h. */
enum api_access
api_access_cert(const struct api_ctx *ctx, struct evhttp_request *req,
    char *why, size_t whylen)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	struct ledger_key_info *k = NULL;
	struct ledger_cert_info c;
	enum api_access a = API_ACCESS_NONE;
	time_t now = time(NULL);

	if (!access_peer_cert(ctx, req, now, &c))
		goto out;
	if (strcmp(c.profile, "admin") == 0) {
		a = API_ACCESS_OK;
		goto out;
	}
	/* A device's key must be active and inside its window: a key
	 * revoked revokes the certificate already (access_peer_cert) */
	if (strcmp(c.profile, "device") != 0 ||
	    (k = malloc(sizeof(*k))) == NULL ||
	    ledger_key_get(ctx->ledger, c.key_id, k) != 0 ||
	    k->status != LEDGER_KEY_ACTIVE ||
	    now < k->not_before || now >= k->not_after)
		goto out;
	a = access_device_path(k, path != NULL ? path : "", why, whylen);
out:
	free(k);
	return a;
}
