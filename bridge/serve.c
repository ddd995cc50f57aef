/*
 * serve.c: `keybridge serve`, the daemon.
 *
 * One libevent loop serves every listener (with ocsp_loops > 1 more
 * loops share the plain listener's address: bridge/serve_loops.c).  The
 * ledger's writer thread
 * commits blocks and wakes the loop through an event made active from
 * that thread (libevent is set up for pthreads), and the loop answers the
 * waiting requests.  SIGTERM/SIGINT: the writer commits what is queued, the
 * answers are flushed, then the process exits; no acknowledged entry and
 * no queued entry is lost.
 *
 * The private keys are in the key process (bridge/keyproc/), forked
 * before anything else; this process asks it through the signer.  When
 * the key process dies, this one answers EST with 503 and OCSP from its
 * cache for KEYPROC_DEATH_GRACE_SEC, then stops and exits non-zero so
 * its supervisor restarts both (docs/design.md "Processes").
 *
 * SIGHUP rereads keybridge.conf and reloads what can change without a
 * restart (bridge/reload.c); SIGUSR1 reopens the log.  Both are ignored
 * until the loop runs, so that a log rotation during start-up does not
 * kill the bridge (the default action of either).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <event2/thread.h>
#include <openssl/pem.h>

#include <sqlite3.h>

#include "bridge/bridge.h"
#include "bridge/check.h"
#include "bridge/config_blob.h"
#include "bridge/reload.h"
#include "bridge/keyproc/sandbox.h"
#include "bridge/keyproc/keyproc.h"
#include "bridge/validators.h"
#include "common/notify.h"

#define SERVE_FLUSH_USEC 300000		/* time to flush answers on exit */
/* evhttp refuses bodies past this multiple of max_body before any handler
 * runs (with an HTML page); between the two the API answers a JSON 413. */
#define SERVE_HARD_BODY_FACTOR 4
/* The remembered checkpoint is written at most this often: an fsync and
 * a rename per block would cost more than the block under the EST and
 * ledger benchmarks (README "The remembered checkpoint"). */
#define SERVE_TRUST_SEC 1
/* Fewer connections than this left by the descriptor limit: warned. */
#define SERVE_MIN_CONNS 64

struct serve_ctx {
	struct event_base *base;
	struct ledger *ledger;
	struct status_ctx *status;
	struct events *events;
	struct event *wake;
	int stopping;
	/* DIR/checkpoint.trusted (trust.c), rewritten at most every
	 * SERVE_TRUST_SEC when the tree grew, and at a clean stop. */
	struct event *trust_ev;
	char trust_path[PATH_MAX + 32];
	uint64_t trust_size;		/* tree size of the note written */
	int trust_on;
	/* The key process died: stop after the grace, exit non-zero. */
	struct keyproc *kp;
	struct event *kp_grace;
	int kp_lost;
};

/* From the writer thread: make the loop drain completions. */
static void
serve_wake(void *arg)
{
	event_active(arg, EV_READ, 0);
}

static void
serve_drain(evutil_socket_t fd, short what, void *arg)
{
	struct serve_ctx *sc = arg;

	/* The callbacks' reads in one read transaction (enrollments read
	 * the key-register entry SIGN_CERT proves earlier, in enroll_start,
	 * since issue 18); status_sync reads up to the size the writer set
	 * since, which a snapshot taken before may not hold. */
	ledger_read_begin(sc->ledger);
	ledger_drain(sc->ledger);
	ledger_read_end(sc->ledger);
	if (sc->status != NULL)
		status_sync(sc->status);
	if (sc->events != NULL)
		events_sync(sc->events);
}

/* status.c: a ledger entry changed serial's status. */
static void
serve_cert_changed(void *arg, const char *serial)
{
	api_cert_cache_forget(arg, serial);
}

/* Writes the latest checkpoint to DIR/checkpoint.trusted when the tree
 * grew since the last write. */
static void
serve_trust_save(struct serve_ctx *sc)
{
	char note[TRUST_NOTE_MAX], err[PATH_MAX + 128];
	uint64_t size;

	if (!sc->trust_on || ledger_checkpoint(sc->ledger, note, sizeof(note),
	    &size) != 0 || size <= sc->trust_size)
		return;
	if (trust_write(sc->trust_path, note, err, sizeof(err)) != 0) {
		log_warn("cannot remember the checkpoint: %s", err);
		return;
	}
	sc->trust_size = size;
}

static void
serve_trust_tick(evutil_socket_t fd, short what, void *arg)
{
	serve_trust_save(arg);
}

/*
 * Starts remembering checkpoints, unless DIR/checkpoint.trusted holds one
 * this ledger does not extend (the database was rolled back or replaced
 * while the bridge was stopped): that file is the evidence, so it is kept
 * as it is and `ledger verify` reports it.  0, or -1 on an internal error.
 */
static int
serve_trust_start(struct serve_ctx *sc, const struct bridge_config *cfg,
    const char *vkey)
{
	struct timeval every = { SERVE_TRUST_SEC, 0 };
	struct ledger_trusted t;
	char note[TRUST_NOTE_MAX], why[PATH_MAX + 512];
	int r;

	trust_path(cfg, sc->trust_path, sizeof(sc->trust_path));
	if ((r = trust_read(sc->trust_path, note, sizeof(note), why,
	    sizeof(why))) < 0) {
		log_err("%s: not replacing it (keybridge ledger verify -d %s "
		    "reports it)", why, cfg->dir);
		return 0;
	}
	memset(&t, 0, sizeof(t));
	t.source = sc->trust_path;
	t.note = note;
	if (r == 0 && ledger_trusted_check(sc->ledger, vkey, &t, why,
	    sizeof(why)) != 0) {
		log_err("%s; keeping that checkpoint as it is (keybridge "
		    "ledger verify -d %s reports it)", why, cfg->dir);
		return 0;
	}
	sc->trust_on = 1;
	if ((sc->trust_ev = event_new(sc->base, -1, EV_PERSIST,
	    serve_trust_tick, sc)) == NULL ||
	    event_add(sc->trust_ev, &every) != 0)
		return -1;
	serve_trust_save(sc);
	return 0;
}

/* The first certificate of a PEM file, or NULL (the status shows what it
 * can). */
static X509 *
serve_read_cert(const char *path)
{
	X509 *x = NULL;
	FILE *fp;

	if ((fp = fopen(path, "re")) != NULL) {
		x = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	if (x == NULL)
		log_warn("cannot read the root CA certificate %s", path);
	return x;
}

/* The loop's base: with epoll's changelist, a descriptor that evhttp
 * disables and enables again within one loop turn (every request) costs
 * no epoll_ctl call.  Falls back to the default base. */
struct event_base *
serve_event_base(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *b = NULL;

	if (ec != NULL && event_config_set_flag(ec,
	    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
		b = event_base_new_with_config(ec);
	if (ec != NULL)
		event_config_free(ec);
	return b != NULL ? b : event_base_new();
}

/* Commits what is queued, ends the event streams and stops the loop once
 * the answers are flushed. */
static void
serve_stop(struct serve_ctx *sc)
{
	struct timeval flush = { 0, SERVE_FLUSH_USEC };

	/* Commits everything queued and runs the callbacks, which queue the
	 * answers; then the loop runs a little longer to send them. */
	notify_stopping();
	ledger_writer_stop(sc->ledger);
	/* event streams end now, so their last bytes go out in the flush */
	events_end_all(sc->events);
	event_base_loopexit(sc->base, &flush);
}

static void
serve_signal(evutil_socket_t sig, short what, void *arg)
{
	struct serve_ctx *sc = arg;

	if (sc->stopping)
		return;
	sc->stopping = 1;
	log_info("signal %d: committing queued entries and stopping",
	    (int)sig);
	serve_stop(sc);
}

/* The grace after the key process's death is over. */
static void
serve_kp_grace(evutil_socket_t fd, short what, void *arg)
{
	struct serve_ctx *sc = arg;

	if (sc->stopping)
		return;
	sc->stopping = 1;
	log_err("stopping: the key process is gone; exiting non-zero so "
	    "the supervisor restarts keybridge");
	serve_stop(sc);
}

/* SIGCHLD: the key process is the only child.  Its death is logged at
 * once (keyproc_reap); EST answers 503 from then on (signer_available),
 * OCSP answers from its cache, and after KEYPROC_DEATH_GRACE_SEC serve
 * stops and exits non-zero (docs/design.md "Processes": why not a new
 * key process). */
static void
serve_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct serve_ctx *sc = arg;
	struct timeval grace = { KEYPROC_DEATH_GRACE_SEC, 0 };
	int st;

	if (sc->kp_lost || keyproc_reap(sc->kp, &st) == 0)
		return;
	sc->kp_lost = 1;
	log_err("the key process (pid %ld) %s %d: answering EST with 503 "
	    "and OCSP from the cache for %d s, then exiting",
	    (long)keyproc_pid(sc->kp), WIFSIGNALED(st) ? "was killed by "
	    "signal" : "exited with status", WIFSIGNALED(st) ? WTERMSIG(st) :
	    WEXITSTATUS(st), KEYPROC_DEATH_GRACE_SEC);
	if ((sc->kp_grace = evtimer_new(sc->base, serve_kp_grace, sc)) ==
	    NULL || evtimer_add(sc->kp_grace, &grace) != 0)
		serve_kp_grace(-1, 0, sc);
}

/* Everything the daemon holds, zeroed before the first step so that the
 * one cleanup path (serve_close) may run after any of them. */
struct serve {
	struct serve_ctx sc;
	struct api_ctx api;
	struct server *https, *http;
	struct limits *limits;		/* both listeners' (issue 16) */
	struct serve_loops *loops;	/* ocsp_loops > 1, or NULL */
	struct limits_config loops_lc;	/* the front door's, unsplit */
	struct event *sigterm, *sigint, *sigchld, *sighup, *sigusr1;
	SSL_CTX *tls;
	struct ledger_consensus *cons;
	struct bval *validators;	/* in cons, or NULL: solo */
	struct signer *signer;
	struct enroll_ctx *enroll;
	struct metrics *metrics;
	X509 *root;
	int lockfd;
	struct reload rl;		/* SIGHUP: the running configuration */
};

/* The consensus: solo (the checkpoints signed by the key process), or
 * with `validator =` lines the validators' (bridge/validators.c: the
 * key process's signature, then a quorum of cosignatures).  0, or -1
 * after a message. */
static int
serve_consensus(struct serve *s, const struct bridge_config *cfg)
{
	char err[512];

	if (cfg->nvalidators > 0) {
		if ((s->cons = bval_consensus_new(cfg, signer_sign_checkpoint,
		    s->signer, &s->validators, err, sizeof(err))) == NULL) {
			log_err("validators: %s", err);
			return -1;
		}
		log_info("validators: %zu, quorum %ld%s, wait %ld ms",
		    cfg->nvalidators, cfg->quorum > 0 ? cfg->quorum :
		    (long)config_quorum_default(cfg->nvalidators),
		    cfg->quorum > 0 ? "" : " (2f+1)", cfg->validator_wait_ms);
		return 0;
	}
	if ((s->cons = ledger_consensus_solo_signer(cfg->validator_name,
	    signer_sign_checkpoint, s->signer)) == NULL) {
		log_err("validator_name: unusable for signing");
		return -1;
	}
	return 0;
}

/* The consensus, the ledger and its writer, the loop and the remembered
 * checkpoint.  0, or -1 after a message. */
static int
serve_open_ledger(struct serve *s, const struct bridge_config *cfg)
{
	struct ledger_config lc;
	char err[512], p2[PATH_MAX], p3[PATH_MAX];

	if (serve_consensus(s, cfg) != 0)
		return -1;
	memset(&lc, 0, sizeof(lc));
	lc.db = config_path(cfg, cfg->db, p2, sizeof(p2));
	lc.origin = cfg->origin;
	lc.consensus = s->cons;
	lc.batch_max = (size_t)cfg->batch_max;
	lc.allow_async_commit = cfg->db_allow_async_commit != 0;
	lc.map_snapshot = config_path(cfg, MAP_SNAP_FILE, p3, sizeof(p3));
	lc.map_snapshot_entries = (uint64_t)cfg->map_snapshot_entries;
	lc.map_snapshot_seconds = (unsigned)cfg->map_snapshot_seconds;
	lc.ingest_threads = cfg->ingest_threads > 0 ?
	    (int)cfg->ingest_threads : LEDGER_INGEST_NONE;
	lc.serial_seal = cfg->ingest_pipeline == 0;
	if ((s->sc.ledger = ledger_open(&lc, err, sizeof(err))) == NULL) {
		log_err("ledger: %s", err);
		return -1;
	}
	if ((s->sc.base = serve_event_base()) == NULL || (s->sc.wake =
	    event_new(s->sc.base, -1, 0, serve_drain, &s->sc)) == NULL) {
		log_err("cannot set up the event loop");
		return -1;
	}
	if (ledger_writer_start(s->sc.ledger, serve_wake, s->sc.wake) != 0) {
		log_err("cannot start the ledger writer");
		return -1;
	}
	return serve_trust_start(&s->sc, cfg, signer_vkey(s->signer));
}

/* The front door's limits from cfg: RLIMIT_NOFILE raised to its hard
 * limit, the connections kept below it (docs/operations.md "Connection
 * limits").  0, or -1 after a message. */
static int
serve_limits(struct serve *s, const struct bridge_config *cfg)
{
	struct limits_config lc;
	long nofile = 0, reserve;

	if (reload_limits_config(cfg, &lc, &nofile, &reserve) != 0) {
		log_err("cannot read RLIMIT_NOFILE: %s", strerror(errno));
		return -1;
	}
	if (nofile - reserve < SERVE_MIN_CONNS)
		log_warn("http: only %ld descriptors (ulimit -n) for %ld "
		    "kept by http_fd_reserve: at most %ld connections",
		    nofile, reserve, lc.max_conns);
	/* ocsp_loops: the other loops take their shares of the cap */
	s->loops_lc = lc;
	if (cfg->ocsp_loops > 1)
		(void)serve_loops_share(s->loops_lc.max_conns, cfg->ocsp_loops,
		    &lc.max_conns);
	if ((s->limits = limits_new(s->sc.base, &lc)) == NULL) {
		log_err("out of memory for the connection limits");
		return -1;
	}
	log_info("http: at most %ld connections (descriptor limit %ld, %ld "
	    "kept), %ld per address; deadlines: TLS %ld s, head %ld s, body "
	    "%ld s + 1 s per %ld bytes, keep-alive %ld s", lc.max_conns,
	    nofile, reserve, lc.max_per_addr, lc.tls_timeout,
	    lc.header_timeout, lc.body_timeout, lc.body_min_rate,
	    lc.keepalive_timeout);
	return 0;
}

/* EST, OCSP and CRLs, and both listeners.  0, or -1 after a message. */
static int
serve_open_listeners(struct serve *s, const struct bridge_config *cfg)
{
	char err[512], p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
	size_t hard = (size_t)cfg->max_body * SERVE_HARD_BODY_FACTOR;

	/* Issue 17: an issuer rolled over from is served (OCSP, CRL,
	 * cacerts, client certificates) until its last certificate has
	 * expired; the current one always. */
	if (signer_retire_expired(s->signer, s->sc.ledger, time(NULL)) != 0) {
		log_err("cannot read the ledger's certificates of the old "
		    "issuers");
		return -1;
	}
	if ((s->enroll = enroll_new(s->sc.ledger, s->signer, s->sc.base,
	    cfg, err, sizeof(err))) == NULL) {
		log_err("EST: %s", err);
		return -1;
	}
	if ((s->tls = server_tls_ctx(config_path(cfg, cfg->tls_cert, p1,
	    sizeof(p1)), config_path(cfg, cfg->tls_key, p2, sizeof(p2)),
	    config_path(cfg, cfg->ca_chain, p3, sizeof(p3)), err,
	    sizeof(err))) == NULL) {
		log_err("TLS: %s", err);
		return -1;
	}
	for (size_t i = 1; i < signer_nissuers(s->signer); i++)
		if (server_tls_add_client_ca(s->tls, signer_issuer_at(
		    s->signer, i)) != 0) {
			log_err("TLS: cannot trust issuer %s for client "
			    "certificates", signer_issuer_id_at(s->signer, i));
			return -1;
		}
	if (serve_limits(s, cfg) != 0)
		return -1;
	if ((s->https = server_new(s->sc.base, cfg->est_listen, s->tls, hard,
	    err, sizeof(err))) == NULL ||
	    server_set_limits(s->https, s->limits, cfg->est_listen) != 0) {
		log_err("%s", s->https == NULL ? err : "cannot limit "
		    "est_listen's connections");
		return -1;
	}
	if ((s->sc.status = status_new(s->sc.base, s->sc.ledger, s->signer,
	    cfg, err, sizeof(err))) == NULL) {
		log_err("OCSP: %s", err);
		return -1;
	}
	if ((s->http = (cfg->ocsp_loops > 1 ? server_new_reuseport :
	    server_new)(s->sc.base, cfg->http_listen, NULL, hard, err,
	    sizeof(err))) == NULL ||
	    server_set_limits(s->http, s->limits, cfg->http_listen) != 0) {
		log_err("%s", s->http == NULL ? err : "cannot limit "
		    "http_listen's connections");
		return -1;
	}
	server_set_quiet(s->http, 1);
	return status_register(s->sc.status, s->http);
}

/* The API, the event stream, /metrics, the dashboard and EST's routes.
 * 0, or -1 after a message. */
static int
serve_routes(struct serve *s, const struct bridge_config *cfg,
    int need_token)
{
	struct metrics_sources msrc;
	struct api_ctx *api = &s->api;
	char p1[PATH_MAX];

	api->ledger = s->sc.ledger;
	api->est_listen = cfg->est_listen;
	api->http_listen = cfg->http_listen;
	api->max_body = cfg->max_body;
	{
		static char blob_dir[PATH_MAX];	/* lives as long as serve */

		api->blob_dir = config_blob_store(cfg, blob_dir,
		    sizeof(blob_dir)) == 0 ? blob_dir : NULL;
	}
	api->started = time(NULL);
	api->storage = ledger_db_is_postgres(cfg->db) ? "postgresql" :
	    "sqlite";
	api->consensus = s->cons->ops->name;
	api->need_token = need_token;
	api->token = s->rl.cur.api_token;	/* SIGHUP replaces it */
	api->issuer = signer_issuer(s->signer);
	api->issuer_id = signer_issuer_id(s->signer);
	for (size_t i = 1; i < signer_nissuers(s->signer) &&
	    api->nold_issuers < sizeof(api->old_issuers) /
	    sizeof(api->old_issuers[0]); i++) {
		api->old_issuers[api->nold_issuers] = signer_issuer_at(
		    s->signer, i);
		api->old_issuer_ids[api->nold_issuers++] =
		    signer_issuer_id_at(s->signer, i);
	}
	api->root = s->root = serve_read_cert(config_path(cfg, cfg->ca_root,
	    p1, sizeof(p1)));
	memset(&msrc, 0, sizeof(msrc));
	msrc.ledger = s->sc.ledger;
	msrc.status = s->sc.status;
	msrc.https = s->https;
	msrc.http = s->http;
	msrc.limits = s->limits;
	msrc.signer = s->signer;
	msrc.started = api->started;
	msrc.validators = api->validators = s->validators;
	if ((s->metrics = metrics_new(&msrc)) == NULL ||
	    (s->sc.events = events_new(s->sc.base, s->sc.ledger,
	    s->https)) == NULL) {
		log_err("out of memory for the metrics and event streams");
		return -1;
	}
	server_set_observer(s->https, metrics_observe,
	    metrics_observer_arg(s->metrics, 0));
	server_set_observer(s->http, metrics_observe,
	    metrics_observer_arg(s->metrics, 0));
	api->events = s->sc.events;
	if (cfg->api_cache_entries > 0 && (api->certs =
	    api_cert_cache_new((size_t)cfg->api_cache_entries)) == NULL) {
		log_err("out of memory for api_cache_entries = %ld",
		    cfg->api_cache_entries);
		return -1;
	}
	status_on_change(s->sc.status, serve_cert_changed, api->certs);
	if (server_route(s->http, "/metrics", metrics_handle,
	    s->metrics) != 0 || api_register(s->https, api) != 0 ||
	    dashboard_register(s->https, cfg->dashboard) != 0 ||
	    server_route(s->https, "/.well-known/est/", enroll_handle,
	    s->enroll) != 0) {
		log_err("cannot add the routes");
		return -1;
	}
	/* Declared bodies over these are answered 413 before they are read
	 * (bridge/http/front.c): the API's entries, EST's CSRs, OCSP's
	 * requests (the only bodies of the plain listener). */
	server_set_body_limit(s->https, (size_t)cfg->max_body);
	server_set_body_limit(s->http, OCSPR_MAX_BODY);
	if (server_route_limit(s->https, "/.well-known/est/",
	    EST_MAX_BODY) != 0) {
		log_err("cannot set EST's body limit");
		return -1;
	}
	return 0;
}

/* ocsp_loops > 1: loops 1 .. ocsp_loops - 1 on the plain listener's
 * address, once its routes are all there.  0, or -1 after a message. */
static int
serve_open_loops(struct serve *s, const struct bridge_config *cfg)
{
	char err[512];
	size_t hard = (size_t)cfg->max_body * SERVE_HARD_BODY_FACTOR;

	if (cfg->ocsp_loops <= 1)
		return 0;
	if ((s->loops = serve_loops_new(s->sc.base, s->http,
	    status_responder(s->sc.status), cfg->http_listen,
	    (int)cfg->ocsp_loops, hard, &s->loops_lc, err,
	    sizeof(err))) == NULL) {
		log_err("%s", err);
		return -1;
	}
	metrics_set_loops(s->metrics, s->loops);
	if (serve_loops_start(s->loops, s->metrics) != 0)
		return -1;
	log_info("http: %ld event loops answer OCSP on %s (SO_REUSEPORT)",
	    cfg->ocsp_loops, cfg->http_listen);
	return 0;
}

/* SIGHUP: reload keybridge.conf (bridge/reload.c), on the loop; the
 * other OCSP loops take the new deadlines on their own threads. */
static void
serve_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct serve *s = arg;
	struct limits_config lc;
	long nofile, reserve;

	if (s->sc.stopping)
		return;
	reload_run(&s->rl);
	if (s->loops != NULL && reload_limits_config(&s->rl.cur, &lc,
	    &nofile, &reserve) == 0)
		serve_loops_reconfigure(s->loops, &lc);
}

/* SIGUSR1: reopen the log (a rotated log file). */
static void
serve_sigusr1(evutil_socket_t sig, short what, void *arg)
{
	if (log_reopen() != 0)
		log_warn("SIGUSR1: cannot reopen the log");
}

/* SIGTERM and SIGINT stop the loop cleanly; SIGCHLD is the key
 * process's death; SIGHUP reloads, SIGUSR1 reopens the log.  0 or -1. */
static int
serve_signals(struct serve *s)
{
	s->sigterm = evsignal_new(s->sc.base, SIGTERM, serve_signal, &s->sc);
	s->sigint = evsignal_new(s->sc.base, SIGINT, serve_signal, &s->sc);
	s->sigchld = evsignal_new(s->sc.base, SIGCHLD, serve_sigchld, &s->sc);
	s->sighup = evsignal_new(s->sc.base, SIGHUP, serve_sighup, s);
	s->sigusr1 = evsignal_new(s->sc.base, SIGUSR1, serve_sigusr1, s);
	if (s->sigterm == NULL || s->sigint == NULL || s->sigchld == NULL ||
	    s->sighup == NULL || s->sigusr1 == NULL ||
	    evsignal_add(s->sigterm, NULL) != 0 ||
	    evsignal_add(s->sigint, NULL) != 0 ||
	    evsignal_add(s->sigchld, NULL) != 0 ||
	    evsignal_add(s->sighup, NULL) != 0 ||
	    evsignal_add(s->sigusr1, NULL) != 0) {
		log_err("cannot catch SIGTERM, SIGINT, SIGCHLD, SIGHUP and "
		    "SIGUSR1");
		return -1;
	}
	s->rl.https = s->https;
	s->rl.http = s->http;
	s->rl.limits = s->limits;
	s->rl.api = &s->api;
	s->rl.tls = &s->tls;
	s->rl.root = s->root;
	/* It may have died before the handler was there. */
	serve_sigchld(SIGCHLD, 0, &s->sc);
	return 0;
}

/* Commits what is queued, remembers the checkpoint and frees everything
 * s holds, whichever step it reached. */
static void
serve_close(struct serve *s)
{
	if (s->sc.ledger != NULL) {
		ledger_writer_stop(s->sc.ledger);
		serve_trust_save(&s->sc);
	}
	/* Certificates still being signed: answered while their
	 * connections exist. */
	enroll_flush(s->enroll);
	/* The other OCSP loops' threads end first (they read the
	 * responder's cache); then the responder: requests waiting for a
	 * signature are answered while their connections still exist, the
	 * other loops' ones by serve_loops_free. */
	serve_loops_stop(s->loops);
	status_free(s->sc.status);
	serve_loops_free(s->loops);
	api_cert_cache_free(s->api.certs);
	events_free(s->sc.events);
	server_free(s->https);
	server_free(s->http);
	limits_free(s->limits);		/* after its servers */
	metrics_free(s->metrics);
	enroll_free(s->enroll);
	signer_free(s->signer);
	if (s->sigterm != NULL)
		event_free(s->sigterm);
	if (s->sigint != NULL)
		event_free(s->sigint);
	if (s->sigchld != NULL)
		event_free(s->sigchld);
	if (s->sighup != NULL)
		event_free(s->sighup);
	if (s->sigusr1 != NULL)
		event_free(s->sigusr1);
	if (s->sc.kp_grace != NULL)
		event_free(s->sc.kp_grace);
	if (s->sc.wake != NULL)
		event_free(s->sc.wake);
	if (s->sc.trust_ev != NULL)
		event_free(s->sc.trust_ev);
	ledger_close(s->sc.ledger);
	ledger_consensus_free(s->cons);
	if (s->sc.base != NULL)
		event_base_free(s->sc.base);
	SSL_CTX_free(s->tls);
	X509_free(s->root);
	/* Last: the writer's final checkpoint was signed above. */
	keyproc_free(s->sc.kp);
	if (s->lockfd >= 0)
		close(s->lockfd);
}

/* See bridge.h. */
int
serve_run(const struct bridge_config *cfg)
{
	return serve_run_with(cfg, NULL);
}

/* See bridge.h. */
int
serve_run_with(const struct bridge_config *cfg,
    const struct config_overrides *ov)
{
	struct serve *s;
	char err[1024];
	int rc = 1, need_token = 0;

	signal(SIGPIPE, SIG_IGN);
	/* until the loop catches them (serve_signals); the key process,
	 * forked next, keeps ignoring them */
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	/* The log first, so every later line goes where it is configured;
	 * the level is serve --log-level's or log_level's (cli.c) */
	if (logconf_apply(cfg, log_verbosity, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return 1;
	}
	if (check_api_auth(cfg, &need_token, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return 1;
	}
	/* ~9 KiB of answers kept by the status endpoint: not on the stack */
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_err("out of memory");
		return 1;
	}
	s->lockfd = -1;
	reload_init(&s->rl, cfg, ov);
	if (config_lock(cfg, &s->lockfd) != 0) {
		log_err("%s is in use by another keybridge serve (or cannot "
		    "be locked)", cfg->dir);
		goto out;
	}
	/* Started as root: what the bridge writes becomes the user's before
	 * anything (the key process too) opens it (docs/operations.md "The bridge's user"). */
	if (sandbox_hand_over(cfg, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto out;
	}
	/* The key process next: before any thread, listener or database,
	 * so it inherits none of them (docs/design.md "Processes"). */
	if ((s->sc.kp = keyproc_start(cfg, KEYPROC_DROP_USER, err,
	    sizeof(err))) == NULL ||
	    (s->signer = signer_new(s->sc.kp, err, sizeof(err))) == NULL) {
		log_err("key process: %s", err);
		goto out;
	}
	/* SQLite's allocation statistics take a global mutex on every
	 * malloc; nothing reads them.  Before the first database opens. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (evthread_use_pthreads() != 0) {
		log_err("libevent has no thread support");
		goto out;
	}
	/* The heal before EST's context reads the bridge account's next
	 * seq, and before the loop takes any request. */
	if (serve_open_ledger(s, cfg) != 0 ||
	    heal_unsigned(s->sc.ledger, s->signer, cfg) != 0 ||
	    serve_open_listeners(s, cfg) != 0 ||
	    serve_routes(s, cfg, need_token) != 0 ||
	    serve_open_loops(s, cfg) != 0 || serve_signals(s) != 0)
		goto out;
	/* Ports bound and every key read: undumpable, and root no more. */
	if (sandbox_network(cfg, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto out;
	}
	log_info("keybridge %s serving %s: API and EST on https://%s, OCSP "
	    "and CRLs on http://%s (tree size %llu)", KEYBRIDGE_VERSION,
	    cfg->dir, cfg->est_listen, cfg->http_listen,
	    (unsigned long long)ledger_size(s->sc.ledger));
	notify_ready(NULL);	/* Type=notify: the listeners accept now */
	if (event_base_dispatch(s->sc.base) < 0)
		goto out;
	if (s->sc.kp_lost)
		goto out;	/* non-zero: the supervisor restarts us */
	log_info("stopped cleanly at tree size %llu",
	    (unsigned long long)ledger_size(s->sc.ledger));
	rc = 0;
out:
	serve_close(s);
	free(s);
	return rc;
}
