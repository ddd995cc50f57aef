/*
 * api.h: the JSON API under /api/v1, its event stream and the dashboard
 * (bridge/api/): the room's face for the daemon's wiring (serve.c).  It
 * includes the ledger, the HTTP front door and the JSON shapes
 * (bridge/render.h), never bridge.h.
 */
#ifndef KEYBRIDGE_API_H
#define KEYBRIDGE_API_H

#define API_LOG_INTERVAL	10	/* s between two rate-limited warnings */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/x509.h>

#include "common/ratelog.h"
#include "ledger/ledger.h"
#include "bridge/http/http.h"

/* ---- events.c: GET /api/v1/events (Server-Sent Events) ----------------- */

struct events;

/* The event streams of ledger l served through https (both borrowed).
 * NULL on failure. */
struct events *events_new(struct event_base *base, struct ledger *l,
    struct server *https);
/* Ends every stream now, and takes no new one: at shutdown, while the
 * loop still runs to write their last bytes.  NULL-safe. */
void events_end_all(struct events *ev);
/* Ends what streams are left and frees; before https is freed. */
void events_free(struct events *ev);
/* Sends the entries committed since the last call (after ledger_drain). */
void events_sync(struct events *ev);
/* server_handler for /api/v1/events (arg: the struct events). */
void events_handle(struct evhttp_request *req, void *arg);

/* ---- api.c: /api/v1 on the HTTPS listener ------------------------------ */

struct bval;

struct api_ctx {
	struct ledger *ledger;		/* borrowed */
	const char *est_listen, *http_listen;	/* for the status */
	long max_body;			/* bytes of a POSTed entry */
	time_t started;
	const char *storage;		/* "sqlite" */
	const char *consensus;		/* "solo" */
	X509 *issuer, *root;		/* borrowed: the CA chain, or NULL */
	const char *issuer_id;
	/* Issue 17: issuers rolled over from, still served (borrowed). */
	X509 *old_issuers[8];
	const char *old_issuer_ids[8];
	size_t nold_issuers;
	/* Reads need "Authorization: Bearer <token>" when need_token. */
	int need_token;
	const char *token;
	struct events *events;		/* /api/v1/events, or NULL */
	struct api_cert_cache *certs;	/* certs/SERIAL answers, or NULL */
	/* The validators consensus (bridge/validators.h: bval_peers,
	 * bval_stats), or NULL when solo.  Borrowed. */
	struct bval *validators;
	const char *blob_dir;		/* published bytes (ledger/blob.h) */
	/* A stored blob that cannot be read or does not match its entry
	 * is warned at every GET a client repeats: at most one line per
	 * API_LOG_INTERVAL (api_register initialises it). */
	struct ratelog rl_blob;
	struct server *server;		/* the HTTPS listener (api_register) */
	/* The last status answer, reused while the tree size and the second
	 * are the same (every field is a function of those two). */
	char status_text[8192];
	size_t status_len;
	uint64_t status_tree;
	time_t status_at;
	struct api_route {
		server_handler h;
		void *arg;
		struct api_ctx *ctx;
	} routes[24];
};

/* The cache of GET /api/v1/certs/SERIAL answers (api_cache.c): a table of
 * at most max answers; NULL when max is 0 (no cache) or out of memory
 * (every call takes NULL and does nothing).  _forget drops serial's
 * answer, or every answer when serial is NULL; status.c has it called for
 * every certificate a ledger entry issues or revokes. */
struct api_cert_cache *api_cert_cache_new(size_t max);
void api_cert_cache_free(struct api_cert_cache *c);
void api_cert_cache_forget(struct api_cert_cache *c, const char *serial);

/* 1 when "ADDR:PORT" is a loopback address (127.0.0.0/8, ::1). */
int api_listen_is_loopback(const char *listen);

/* The HTTP status that answers a ledger refusal (409 for a duplicate key,
 * 403 for a bad signature, ...). */
int api_http_status(enum ledger_status st);
/* Registers every /api/v1 route on s.  Returns 0 or -1. */
int api_register(struct server *s, struct api_ctx *ctx);

/* ---- dashboard.c: the dashboard page ------------------------------------ */

/* Routes /dashboard and /dashboard/ on https when setting (keybridge.conf
 * `dashboard`) is "on"; nothing when "off".  Returns 0, or -1 (logged)
 * for another value or when a route cannot be added. */
int dashboard_register(struct server *https, const char *setting);

#endif
