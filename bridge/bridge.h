/*
 * bridge.h: shared by the files of bridge/ (the daemon and the CLI).  Only
 * bridge/ wires the modules together (DESIGN.md "Components and layout").
 */
#ifndef KEYBRIDGE_BRIDGE_H
#define KEYBRIDGE_BRIDGE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "est/est.h"
#include "ocsp/ocsp.h"
#include "ledger/ledger.h"
#include "common/log.h"
#include "common/version.h"
#include "bridge/config.h"
#include "bridge/ca/ca.h"
#include "bridge/http/http.h"
#include "bridge/render.h"
#include "bridge/api/api.h"

/* ---- enroll.c: EST answered from the ledger ---------------------------- */

struct enroll_ctx;

/* The EST side of the bridge over ledger l and signer s (both borrowed;
 * cfg too).  Reads the CA chain for cacerts.  NULL with err set. */
struct enroll_ctx *enroll_new(struct ledger *l, struct signer *s,
    const struct bridge_config *cfg, char *err, size_t errlen);
void enroll_free(struct enroll_ctx *ctx);
/* server_handler for "/.well-known/est/". */
void enroll_handle(struct evhttp_request *req, void *arg);

/* ---- metrics.c: /metrics in the Prometheus text format ----------------- */

struct metrics;
struct server;

/* What /metrics reads besides its own counters (all borrowed; any may be
 * NULL). */
struct metrics_sources {
	struct ledger *ledger;
	struct status_ctx *status;
	struct server *https, *http;
	time_t started;
};

struct metrics *metrics_new(const struct metrics_sources *src);
void metrics_free(struct metrics *m);
/* One answered request of a route family (enum server_family), on the
 * loop thread: a server observer (server_set_observer, arg: the struct
 * metrics). */
void metrics_observe(void *m, int family, int code, double seconds);
/* server_handler for GET /metrics (arg: the struct metrics). */
void metrics_handle(struct evhttp_request *req, void *arg);

/* ---- status.c: OCSP and CRLs answered from the ledger ------------------ */

struct status_ctx;
struct server;

/* The OCSP responder and CRLs over ledger l and signer s (borrowed), on
 * base.  Pre-signs every certificate's responses in the background.
 * NULL with err set. */
struct status_ctx *status_new(struct event_base *base, struct ledger *l,
    struct signer *s, const struct bridge_config *cfg, char *err,
    size_t errlen);
void status_free(struct status_ctx *st);
/* fn(arg, serial) for every certificate whose status a new ledger entry
 * changes (issued, revoked on its own or through its key), after the
 * OCSP answers were told: the API's cached answers follow. */
void status_on_change(struct status_ctx *st,
    void (*fn)(void *arg, const char *serial), void *arg);
/* Reads the entries committed since the last call and refreshes what
 * they change (call after ledger_drain). */
void status_sync(struct status_ctx *st);
/* Routes /ocsp, /, /crl/ and /ca/issuing.der on the plain-HTTP server. */
int status_register(struct status_ctx *st, struct server *http);
/* The responder (get0), for stats. */
struct ocspr *status_responder(struct status_ctx *st);

/* ---- client.c: the CLI's HTTPS client to a running bridge -------------- */

struct client_response {
	int status;		/* HTTP status */
	char *body;		/* malloc'd, NUL-terminated */
	size_t len;
};

/* Sends one request to base_url ("https://127.0.0.1:8443") + path,
 * verifying the server against cafile (PEM).  body may be NULL.  Returns 0
 * when a response arrived (any status), -1 when no connection could be made
 * or TLS failed (err says which).  Free r->body. */
int client_request(const char *base_url, const char *cafile,
    const char *method, const char *path, const char *content_type,
    const char *body, size_t len, struct client_response *r, char *err,
    size_t errlen);
/* The same with "Authorization: Bearer <bearer>" when bearer is set (the
 * API's api_token). */
int client_request_auth(const char *base_url, const char *cafile,
    const char *bearer, const char *method, const char *path,
    const char *content_type, const char *body, size_t len,
    struct client_response *r, char *err, size_t errlen);

/* ---- cli.c, serve.c: the command line ---------------------------------- */

#define CLI_MAX_KEYS 16			/* --account files */

#define CLI_MAX_REPEAT 32		/* --dns, --ip, --pubkey, --hostname */

/* Every option of every command, as parsed by main.c; each command says
 * which it accepts (cli_only()). */
struct cli_opts {
	const char *dir, *name, *key_type, *est_listen, *http_listen, *db;
	const char *log_level, *csr, *profile, *not_before, *not_after;
	const char *days, *key_id, *reason, *status, *limit, *after;
	const char *threshold, *role, *out, *type, *group, *file, *version;
	const char *from, *vkey, *expires;
	const char *hostname[CLI_MAX_REPEAT];
	int nhostname;
	const char *pubkey[CLI_MAX_REPEAT];
	int npubkey;
	const char *dns[CLI_MAX_REPEAT];
	int ndns;
	const char *ip[CLI_MAX_REPEAT];
	int nip;
	unsigned long long seen;	/* bit per option given */
};

/* What every command has: the loaded config and the signing options. */
struct cli {
	struct cli_opts o;
	const char *cmd;		/* "key register", for messages */
	struct bridge_config cfg;
	int have_dir;
	const char *as;			/* --as: the signing account */
	const char *keyfiles[CLI_MAX_KEYS];	/* --account */
	int nkeyfiles;
	int json;			/* --json */
	int remote;			/* --remote */
	EVP_PKEY *vkey;			/* validator key while appending */
	struct ledger_consensus *cons;	/* solo, sealing with vkey */
	char admin[PATH_MAX];		/* resolved default --account */
};

/* Takes DIR/keybridge.lock.  0 locked (caller closes *fd), 1 when another
 * process holds it (a bridge is running), -1 on error. */
int cli_lock(const struct bridge_config *cfg, int *fd);
int cmd_serve(struct cli *c);
int cmd_init(struct cli *c);
int cmd_account(struct cli *c, const char *sub);
int cmd_key(struct cli *c, const char *sub);
int cmd_config(struct cli *c, const char *sub);
int cmd_ledger(struct cli *c, const char *sub);
/* Fails (returns 1 after a message) when an option outside the
 * space-separated list `allowed` was given. */
int cli_only(struct cli *c, const char *allowed);
/* Loads DIR/keybridge.conf (-d); returns 0 or 1 after a message. */
int cli_load_config(struct cli *c);
/* Opens the data directory's ledger (writable: with the validator key). */
struct ledger *cli_ledger_open(struct cli *c, int writable);
void cli_ledger_close(struct cli *c, struct ledger *l);
/* GET path from the running bridge; a new JSON reference or NULL. */
json_t *cli_api_get(struct cli *c, const char *path, int *status);
/* Signs an entry of type with fields as c->as with every --account key and
 * appends it, through the running bridge or directly (one set of rules).
 * Returns 0 with r filled, or 1 after a message. */
int cli_submit(struct cli *c, enum ledger_entry_type type,
    const struct ledger_field *f, size_t nf, struct ledger_receipt *r);
/* Prints a receipt: one human line, or JSON with --json. */
void cli_print_receipt(struct cli *c, const struct ledger_receipt *r,
    const char *what, const char *key_id);
/* Prints "keybridge: code: message" on stderr; returns 1 (exit status). */
int cli_fail(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
