/*
 * serve.c: `keybridge serve`, the daemon.
 *
 * One libevent loop serves every listener.  The ledger's writer thread
 * commits blocks and wakes the loop through an event made active from
 * that thread (libevent is set up for pthreads), and the loop answers the
 * waiting requests.  SIGTERM/SIGINT: the writer commits what is queued, the
 * answers are flushed, then the process exits; no acknowledged entry and
 * no queued entry is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <event2/thread.h>
#include <openssl/pem.h>

#include <sqlite3.h>

#include "bridge/bridge.h"
#include "bridge/cli/cli.h"

#define SERVE_FLUSH_USEC 300000		/* time to flush answers on exit */
/* evhttp refuses bodies past this multiple of max_body before any handler
 * runs (with an HTML page); between the two the API answers a JSON 413. */
#define SERVE_HARD_BODY_FACTOR 4
/* The remembered checkpoint is written at most this often: an fsync and
 * a rename per block would cost more than the block under the EST and
 * ledger benchmarks (README "The remembered checkpoint"). */
#define SERVE_TRUST_SEC 1

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

	ledger_drain(sc->ledger);
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
    EVP_PKEY *node)
{
	struct timeval every = { SERVE_TRUST_SEC, 0 };
	struct ledger_trusted t;
	char note[TRUST_NOTE_MAX], vkey[512], why[PATH_MAX + 512];
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
	if (r == 0 && (ledger_key_vkey(node, cfg->validator_name, vkey,
	    sizeof(vkey)) != 0 || ledger_trusted_check(sc->ledger, vkey, &t,
	    why, sizeof(why)) != 0)) {
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

/* Whether API reads need the bearer token (api_auth: auto = unless
 * est_listen is loopback).  -1 after a message when the configuration
 * cannot be served safely. */
static int
serve_api_auth(const struct bridge_config *cfg, int *need)
{
	if (strcmp(cfg->api_auth, "open") == 0)
		*need = 0;
	else if (strcmp(cfg->api_auth, "token") == 0)
		*need = 1;
	else if (strcmp(cfg->api_auth, "auto") == 0)
		*need = !api_listen_is_loopback(cfg->est_listen);
	else {
		log_err("api_auth must be auto, token or open, not \"%s\"",
		    cfg->api_auth);
		return -1;
	}
	if (*need && cfg->api_token[0] == '\0') {
		log_err("est_listen %s %s: set api_token in %s/keybridge.conf "
		    "(reads of /api/v1 then need \"Authorization: Bearer "
		    "<api_token>\"), or api_auth = open behind a proxy that "
		    "authenticates", cfg->est_listen,
		    strcmp(cfg->api_auth, "token") == 0 ? "with api_auth = "
		    "token" : "is not a loopback address", cfg->dir);
		return -1;
	}
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
static struct event_base *
serve_base(void)
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

static void
serve_signal(evutil_socket_t sig, short what, void *arg)
{
	struct serve_ctx *sc = arg;
	struct timeval flush = { 0, SERVE_FLUSH_USEC };

	if (sc->stopping)
		return;
	sc->stopping = 1;
	log_info("signal %d: committing queued entries and stopping",
	    (int)sig);
	/* Commits everything queued and runs the callbacks, which queue the
	 * answers; then the loop runs a little longer to send them. */
	ledger_writer_stop(sc->ledger);
	/* event streams end now, so their last bytes go out in the flush */
	events_end_all(sc->events);
	event_base_loopexit(sc->base, &flush);
}

int
cli_lock(const struct bridge_config *cfg, int *fd)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/keybridge.lock", cfg->dir);
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		int busy = errno == EWOULDBLOCK;

		close(*fd);
		*fd = -1;
		return busy ? 1 : -1;
	}
	return 0;
}

int
cmd_serve(struct cli *c)
{
	struct serve_ctx sc;
	struct api_ctx api;
	struct ledger_config lc;
	struct bridge_config *cfg = &c->cfg;
	struct server *https = NULL, *http = NULL;
	struct event *sigterm = NULL, *sigint = NULL;
	SSL_CTX *tls = NULL;
	EVP_PKEY *vkey = NULL;
	struct ledger_consensus *cons = NULL;
	char err[512], p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
	struct signer *signer = NULL;
	struct enroll_ctx *enroll = NULL;
	struct metrics_sources msrc;
	struct metrics *metrics = NULL;
	X509 *root = NULL;
	int lockfd = -1, rc = 1, need_token = 0;

	memset(&sc, 0, sizeof(sc));
	memset(&msrc, 0, sizeof(msrc));
	signal(SIGPIPE, SIG_IGN);
	/* SQLite's allocation statistics take a global mutex on every
	 * malloc; nothing reads them.  Before the first database opens. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (evthread_use_pthreads() != 0) {
		log_err("libevent has no thread support");
		return 1;
	}
	if (serve_api_auth(cfg, &need_token) != 0)
		return 1;
	if (cli_lock(cfg, &lockfd) != 0) {
		log_err("%s is in use by another keybridge serve (or cannot "
		    "be locked)", cfg->dir);
		return 1;
	}
	if ((vkey = ledger_key_load(config_path(cfg, cfg->validator_key, p1,
	    sizeof(p1)), err, sizeof(err))) == NULL) {
		log_err("validator key: %s", err);
		goto out;
	}
	memset(&lc, 0, sizeof(lc));
	lc.db = config_path(cfg, cfg->db, p2, sizeof(p2));
	lc.origin = cfg->origin;
	if ((cons = ledger_consensus_solo_new(vkey, cfg->validator_name)) ==
	    NULL) {
		log_err("validator key: unusable for signing");
		goto out;
	}
	lc.consensus = cons;
	lc.batch_max = (size_t)cfg->batch_max;
	lc.allow_async_commit = cfg->db_allow_async_commit != 0;
	if ((sc.ledger = ledger_open(&lc, err, sizeof(err))) == NULL) {
		log_err("ledger: %s", err);
		goto out;
	}
	if ((sc.base = serve_base()) == NULL ||
	    (sc.wake = event_new(sc.base, -1, 0, serve_drain, &sc)) == NULL)
		goto out;
	if (ledger_writer_start(sc.ledger, serve_wake, sc.wake) != 0) {
		log_err("cannot start the ledger writer");
		goto out;
	}
	if (serve_trust_start(&sc, cfg, vkey) != 0)
		goto out;
	if ((signer = signer_open(cfg, err, sizeof(err))) == NULL) {
		log_err("signer: %s", err);
		goto out;
	}
	if ((enroll = enroll_new(sc.ledger, signer, cfg, err,
	    sizeof(err))) == NULL) {
		log_err("EST: %s", err);
		goto out;
	}
	if ((tls = server_tls_ctx(config_path(cfg, cfg->tls_cert, p1,
	    sizeof(p1)), config_path(cfg, cfg->tls_key, p2, sizeof(p2)),
	    config_path(cfg, cfg->ca_chain, p3, sizeof(p3)), err,
	    sizeof(err))) == NULL) {
		log_err("TLS: %s", err);
		goto out;
	}
	if ((https = server_new(sc.base, cfg->est_listen, tls,
	    (size_t)cfg->max_body * SERVE_HARD_BODY_FACTOR, err,
	    sizeof(err))) == NULL) {
		log_err("%s", err);
		goto out;
	}
	if ((sc.status = status_new(sc.base, sc.ledger, signer, cfg, err,
	    sizeof(err))) == NULL) {
		log_err("OCSP: %s", err);
		goto out;
	}
	if ((http = server_new(sc.base, cfg->http_listen, NULL,
	    (size_t)cfg->max_body * SERVE_HARD_BODY_FACTOR, err,
	    sizeof(err))) == NULL) {
		log_err("%s", err);
		goto out;
	}
	server_set_quiet(http, 1);
	if (status_register(sc.status, http) != 0)
		goto out;
	memset(&api, 0, sizeof(api));
	api.ledger = sc.ledger;
	api.est_listen = cfg->est_listen;
	api.http_listen = cfg->http_listen;
	api.max_body = cfg->max_body;
	api.started = time(NULL);
	api.storage = ledger_db_is_postgres(cfg->db) ? "postgresql" : "sqlite";
	api.consensus = cons->ops->name;
	api.need_token = need_token;
	api.token = cfg->api_token;
	api.issuer = signer_issuer(signer);
	api.issuer_id = signer_issuer_id(signer);
	api.root = root = serve_read_cert(config_path(cfg, cfg->ca_root, p1,
	    sizeof(p1)));
	msrc.ledger = sc.ledger;
	msrc.status = sc.status;
	msrc.https = https;
	msrc.http = http;
	msrc.started = api.started;
	if ((metrics = metrics_new(&msrc)) == NULL)
		goto out;
	server_set_observer(https, metrics_observe, metrics);
	server_set_observer(http, metrics_observe, metrics);
	if (server_route(http, "/metrics", metrics_handle, metrics) != 0)
		goto out;
	if ((sc.events = events_new(sc.base, sc.ledger, https)) == NULL)
		goto out;
	api.events = sc.events;
	if (cfg->api_cache_entries > 0 && (api.certs =
	    api_cert_cache_new((size_t)cfg->api_cache_entries)) == NULL) {
		log_err("out of memory for api_cache_entries = %ld",
		    cfg->api_cache_entries);
		goto out;
	}
	status_on_change(sc.status, serve_cert_changed, api.certs);
	if (api_register(https, &api) != 0 ||
	    dashboard_register(https, cfg->dashboard) != 0 ||
	    server_route(https, "/.well-known/est/", enroll_handle,
	    enroll) != 0)
		goto out;
	sigterm = evsignal_new(sc.base, SIGTERM, serve_signal, &sc);
	sigint = evsignal_new(sc.base, SIGINT, serve_signal, &sc);
	if (sigterm == NULL || sigint == NULL ||
	    evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0)
		goto out;
	log_info("keybridge %s serving %s: API and EST on https://%s, OCSP "
	    "and CRLs on http://%s (tree size %llu)", KEYBRIDGE_VERSION,
	    cfg->dir, cfg->est_listen, cfg->http_listen,
	    (unsigned long long)ledger_size(sc.ledger));
	if (event_base_dispatch(sc.base) < 0)
		goto out;
	log_info("stopped cleanly at tree size %llu",
	    (unsigned long long)ledger_size(sc.ledger));
	rc = 0;
out:
	if (sc.ledger != NULL) {
		ledger_writer_stop(sc.ledger);
		serve_trust_save(&sc);
	}
	/* The responder first: requests waiting for a signature are
	 * answered while their connections still exist. */
	status_free(sc.status);
	api_cert_cache_free(api.certs);
	events_free(sc.events);
	server_free(https);
	server_free(http);
	metrics_free(metrics);
	enroll_free(enroll);
	signer_free(signer);
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (sc.wake != NULL)
		event_free(sc.wake);
	if (sc.trust_ev != NULL)
		event_free(sc.trust_ev);
	ledger_close(sc.ledger);
	ledger_consensus_free(cons);
	if (sc.base != NULL)
		event_base_free(sc.base);
	SSL_CTX_free(tls);
	X509_free(root);
	EVP_PKEY_free(vkey);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}
