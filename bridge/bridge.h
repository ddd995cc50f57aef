/*
 * bridge.h: shared by the files of bridge/ (the daemon and the CLI).  Only
 * bridge/ wires the modules together (docs/design.md "Components and layout").
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
 * cfg too).  Reads the CA chain for cacerts.  Certificates are signed
 * without blocking base's loop (the key process's answers are a read
 * event on it; base NULL: blocking calls).  NULL with err set. */
struct enroll_ctx *enroll_new(struct ledger *l, struct signer *s,
    struct event_base *base, const struct bridge_config *cfg, char *err,
    size_t errlen);
/* Answers every enrollment whose certificate is still being signed,
 * waiting for the key process: once the ledger's writer has stopped,
 * before the listeners and their connections are freed. */
void enroll_flush(struct enroll_ctx *ctx);
void enroll_free(struct enroll_ctx *ctx);
/* server_handler for "/.well-known/est/". */
void enroll_handle(struct evhttp_request *req, void *arg);

/* ---- heal.c: TBS entries committed and never signed ------------------- */

/* At serve's start, with the writer running and before the loop takes
 * requests: revokes (cert-revoked, cessationOfOperation, signed by the
 * bridge account through sg) every current TBS certificate of
 * cfg->bridge_account that a previous run committed below the key
 * process's last signed tree size and never had signed, so that its key
 * can enroll again; logs each.  Waits for the revocations' commit.  0
 * (nothing to do, or done; a failure to sign one is logged), -1 when the
 * registry cannot be read or the revocations are not committed. */
int heal_unsigned(struct ledger *l, struct signer *sg,
    const struct bridge_config *cfg);

/* ---- serve.c: the daemon ---------------------------------------------- */

/* `keybridge serve`: runs the bridge of cfg (borrowed) until SIGTERM or
 * SIGINT, committing what is queued before it returns.  The exit status:
 * 0 after a clean stop, 1 when it could not start (logged). */
int serve_run(const struct bridge_config *cfg);
/* serve_run, ov (borrowed, for its lifetime; NULL: none) being the
 * command line's settings over keybridge.conf's, which SIGHUP keeps when
 * it rereads the file (bridge/reload.c). */
struct config_overrides;
int serve_run_with(const struct bridge_config *cfg,
    const struct config_overrides *ov);

/* An event base for a serving loop (serve.c; the main loop and the
 * OCSP loops): epoll's changelist, so a descriptor evhttp disables and
 * enables again within one turn costs no epoll_ctl.  Falls back to the
 * default base. */
struct event_base *serve_event_base(void);

/* ---- serve_loops.c: ocsp_loops, more loops for the plain listener ------ */

struct serve_loops;
struct metrics;
/* Loops 1 .. nloops - 1 for main_http (the main loop's plain listener,
 * all its routes registered; borrowed), each with its own socket on
 * http_listen's address and main_http's port (main_http must have been
 * made with server_new_reuseport), its own front door with
 * serve_loops_share of lc's max_conns, the routes of main_http (OCSP
 * answered by ocsp/loops.c over r, the rest by the main loop), evhttp's
 * hard body limit hard.  Not running yet.  NULL with err set. */
struct serve_loops *serve_loops_new(struct event_base *main_base,
    struct server *main_http, struct ocspr *r, const char *http_listen,
    int nloops, size_t hard, const struct limits_config *lc, char *err,
    size_t errlen);
/* Each loop's connections cap for max_conns in all over nloops loops;
 * the main loop's (both listeners) in *main_share. */
long serve_loops_share(long max_conns, long nloops, long *main_share);
/* Starts the loops' threads, their requests counted in m's slot of
 * their index (metrics_observer_arg).  0 or -1. */
int serve_loops_start(struct serve_loops *ls, struct metrics *m);
/* SIGHUP: the loops' front doors take lc's deadlines and caps (their
 * share of max_conns kept).  NULL-safe. */
void serve_loops_reconfigure(struct serve_loops *ls,
    const struct limits_config *lc);
/* Adds the loops' limits figures (as of the last second) to *sum and
 * their front checks' refusals, by reason, to refused[0 .. the strict
 * check's number of reasons).  NULL-safe. */
void serve_loops_stats(struct serve_loops *ls, struct limits_stats *sum,
    uint64_t *refused);
/* Stops the loops' threads: a request waiting for the main loop gets a
 * 503.  Main thread, before the responder is freed.  NULL-safe. */
void serve_loops_stop(struct serve_loops *ls);
/* Stops them if need be, sends the answers signed for them, frees
 * everything.  After the responder.  NULL-safe. */
void serve_loops_free(struct serve_loops *ls);

/* ---- metrics.c: /metrics in the Prometheus text format ----------------- */

struct metrics;
struct server;

/* What /metrics reads besides its own counters (all borrowed; any may be
 * NULL). */
struct metrics_sources {
	struct ledger *ledger;
	struct status_ctx *status;
	struct server *https, *http;
	struct limits *limits;		/* the listeners' (issue 16), or NULL */
	struct signer *signer;		/* the key process's client */
	time_t started;
	/* The validators consensus (bridge/validators.h: bval_peers,
	 * bval_stats), or NULL when solo.  Borrowed. */
	struct bval *validators;
	/* ocsp_loops > 1: the other loops (their front doors' figures), or
	 * NULL.  Borrowed; may be set after metrics_new (metrics_set_loops). */
	struct serve_loops *loops;
};

struct metrics *metrics_new(const struct metrics_sources *src);
void metrics_set_loops(struct metrics *m, struct serve_loops *loops);
/* The observer argument of loop i's server (0: the main loop's, the one
 * metrics_observe took before ocsp_loops): each loop counts in a slot of
 * its own, summed at scrape time. */
void *metrics_observer_arg(struct metrics *m, int i);
void metrics_free(struct metrics *m);
/* One answered request of a route family (enum server_family), on the
 * loop thread: a server observer (server_set_observer, arg: a
 * metrics_observer_arg). */
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

/* ---- trust.c: the checkpoint remembered beside the data directory ------ */

#define TRUST_FILE      "checkpoint.trusted"
/* The status map's snapshot (issue 18): written at a clean stop, read at
 * start when it matches; never backed up (a start without it rebuilds). */
#define MAP_SNAP_FILE   "map.snap"
#define TRUST_FILE_MODE 0644	/* public, as the API serves it */
#define TRUST_NOTE_MAX  LEDGER_NOTE_MAX	/* a checkpoint note (ledger_receipt's) */

/* DIR/checkpoint.trusted of cfg into out.  Returns out. */
const char *trust_path(const struct bridge_config *cfg, char *out,
    size_t outlen);
/* Reads the note in path into note (NUL-terminated): 0, 1 when there is
 * no such file, -1 with err (naming path) when it cannot be read or is
 * not a short text. */
int trust_read(const char *path, char *note, size_t notelen, char *err,
    size_t errlen);
/* Replaces path with note atomically (a temp file, fsync, rename, then
 * the directory synced), mode TRUST_FILE_MODE.  0, or -1 with err. */
int trust_write(const char *path, const char *note, char *err,
    size_t errlen);

#endif
