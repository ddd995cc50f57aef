/*
 * daemon.c: `keybridge validator serve` (daemon.h): the bridge's front
 * door at the edge (bridge/http/: server.c on libevent's evhttp, with the
 * strict framing check of front.c and strict.c and the deadlines and
 * connection caps of limits.c, the same code as the bridge's listeners),
 * vcore_add in the middle, SQLite underneath.
 *
 * One request at a time: evhttp runs on one thread and a request goes
 * through vcore_add, the registry's commit and the answer before the next
 * one is read, so checking the old size and persisting the new
 * checkpoint are one step (C2SP tlog-witness: "must be performed
 * atomically").  The state (JSON) is committed in the same SQLite
 * transaction as the replayed entries (WAL, synchronous=FULL) before a
 * 200 leaves: after kill -9 the daemon restarts from what it answered.
 * A failed commit puts the previous state back and answers 503: nothing
 * is cosigned that is not on disk.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "common/log.h"
#include "common/notify.h"
#include "bridge/http/http.h"
#include "ledger/replay.h"
#include "validator/daemon.h"

#define VD_FD_RESERVE		32	/* descriptors kept from the
					 * connections: the registry, logs */
#define VD_TOO_MANY_PREFIX	"more than"	/* vcore_request_parse's why */
#define VD_STORAGE_CODE		"storage_error"	/* ledger_status_code() */
#define CT_TEXT			"text/plain; charset=utf-8"
#define CT_SIZE			"text/x.tlog.size"	/* tlog-witness 409 */
#define CT_JSON			"application/json"

struct vd {
	const struct vd_config *cfg;
	struct event_base *base;
	struct server *srv;		/* the listener (bridge/http/) */
	struct limits *limits;		/* its deadlines and caps */
	struct ledger_replay *r;
	EVP_PKEY *key;
	struct ledger_vkey *log_key;	/* cfg->log_vkey, parsed once */
	/* key's libsodium form: one signature per block without OpenSSL's
	 * context and provider fetch (Ed25519 is deterministic: the same
	 * signature) */
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct ledger_cosigner me;	/* name, key ID, vkey */
	struct vcore_state st;
	struct vd_meta meta;
	uint64_t cosigned;		/* 200s since start */
};

/* ---- the core's callbacks ------------------------------------------------ */

static int
vd_sign(void *arg, const char *msg, size_t len,
    uint8_t sig[LEDGER_COSIGN_ED_SIG_LEN])
{
	struct vd *d = arg;

	if (crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len,
	    d->sk) != 0) {
		log_err("validator: signing failed");
		return -1;
	}
	return 0;
}

static int
vd_log_verify(void *arg, const char *note, size_t len)
{
	struct vd *d = arg;

	return ledger_checkpoint_verify_key(note, len, d->log_key);
}

static int
vd_stage(void *arg, uint64_t index, const char *text, size_t len, time_t t,
    char *code, size_t codelen, char *why, size_t whylen)
{
	struct vd *d = arg;

	return ledger_replay_stage(d->r, index, text, len, t, code, codelen,
	    why, whylen);
}

static void
vd_abort(void *arg)
{
	struct vd *d = arg;

	ledger_replay_abort(d->r);
}

static int
vd_map_root(void *arg, uint8_t root[LEDGER_HASH_LEN])
{
	struct vd *d = arg;

	return ledger_replay_map_root(d->r, root);
}

/* ---- persistence --------------------------------------------------------- */

/* Commits what was staged with the state, in one transaction.  0 or -1. */
static int
vd_persist(struct vd *d)
{
	char *js = vd_state_to_json(&d->st, &d->meta);
	int rc = -1;

	if (js != NULL && strlen(js) < VD_STATE_JSON_MAX)
		rc = ledger_replay_commit_meta(d->r, VD_STATE_KEY, js);
	free(js);
	return rc;
}

/* ---- answers ------------------------------------------------------------- */

static void
vd_reply(struct evhttp_request *req, int status, const char *ctype,
    const char *body)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (b != NULL)
		evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
}

/* One line "code: why\n" with a status. */
static void
vd_reply_line(struct evhttp_request *req, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
vd_reply_line(struct evhttp_request *req, int status, const char *code,
    const char *fmt, ...)
{
	char why[VCORE_REASON_MAX], line[VCORE_REASON_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s: %s\n", code, why);
	vd_reply(req, status, CT_TEXT, line);
}

static void
vd_reply_json(struct evhttp_request *req, json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;

	if (s == NULL)
		vd_reply_line(req, 500, "internal", "out of memory");
	else {
		vd_reply(req, 200, CT_JSON, s);
		free(s);
	}
	json_decref(j);
}

/* ---- the endpoints ------------------------------------------------------- */

/* Makes s printable ASCII in place: a refusal may quote what a client
 * sent, and the state is JSON, which takes UTF-8 only (a byte it
 * refused would stop every later commit of the state). */
static void
vd_ascii(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* Records a refusal that changed nothing but last_refusal; best effort
 * (the answer does not depend on it), and at most once a second: a
 * flood of refusals is not a flood of fsyncs.  A refusal that kept
 * evidence is persisted by the caller, always. */
static void
vd_note_refusal(struct vd *d, const struct vcore_answer *ans)
{
	time_t now = time(NULL), before = d->meta.last_refusal_at;

	d->meta.last_refusal_at = now;
	d->meta.refusals++;
	/* last_refusal, not the reason: it was made printable (a client's
	 * bytes go into the log only so) */
	log_info("validator: refused (%d %s): %s", ans->status,
	    vcore_refusal_name(ans->refusal), d->st.last_refusal);
	if (!ans->state_changed && now != before && vd_persist(d) != 0)
		log_warn("validator: cannot record the last refusal");
}

/* POST /add-checkpoint and /add-block: one request through the core. */
static void
vd_add(struct evhttp_request *req, void *arg)
{
	struct vd *d = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *text;
	struct vcore_ops ops = { vd_sign, vd_log_verify, vd_stage, vd_abort,
	    d, vd_map_root };
	struct vcore_request r;
	struct vcore_answer ans;
	struct vcore_state *saved = NULL;
	char why[VCORE_REASON_MAX];

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		vd_reply_line(req, 405, "method", "POST only");
		return;
	}
	if (len > d->cfg->max_body) {	/* evhttp stops most before here */
		vd_reply_line(req, 413, "too-large", "the request is over %zu "
		    "bytes", d->cfg->max_body);
		return;
	}
	if (len == 0 || (text = (const char *)evbuffer_pullup(in, -1)) ==
	    NULL) {
		vd_reply_line(req, 400, "malformed", "empty request");
		return;
	}
	if (vcore_request_parse(text, len, &r, why, sizeof(why)) != 0) {
		if (strncmp(why, VD_TOO_MANY_PREFIX,
		    strlen(VD_TOO_MANY_PREFIX)) == 0 && strstr(why, "entries"))
			vd_reply_line(req, 413, "too-large", "%s", why);
		else
			vd_reply_line(req, 400, "malformed", "%s", why);
		return;
	}
	if ((saved = malloc(sizeof(*saved))) == NULL) {
		vcore_request_free(&r);
		vd_reply_line(req, 503, "busy", "out of memory");
		return;
	}
	memcpy(saved, &d->st, sizeof(*saved));
	if (vcore_add(&d->st, &ops, d->me.key_id, &r, time(NULL), &ans) != 0) {
		vd_reply_line(req, 500, "internal", "bad arguments to the core");
		goto out;
	}
	if (ans.refusal == VCORE_RULE_BROKEN &&
	    strcmp(ans.rule, VD_STORAGE_CODE) == 0) {
		/* our registry failed, not the entry: say so (503), as a
		 * failed commit does; the state did not change */
		ledger_replay_abort(d->r);
		memcpy(&d->st, saved, sizeof(d->st));
		log_err("validator: the registry failed: %s", ans.reason);
		vd_reply_line(req, 503, "storage", "the registry failed; try "
		    "again");
		goto out;
	}
	if (ans.status != 200) {
		ledger_replay_abort(d->r);	/* nothing staged survives */
		vd_ascii(d->st.last_refusal);
		vd_note_refusal(d, &ans);
	}
	if (ans.state_changed && vd_persist(d) != 0) {
		/* not on disk: not said */
		ledger_replay_abort(d->r);
		memcpy(&d->st, saved, sizeof(d->st));
		log_err("validator: cannot persist the state; answering 503");
		vd_reply_line(req, 503, "storage", "the state could not be "
		    "persisted; try again");
		goto out;
	}
	if (ans.status == 200) {
		d->cosigned++;
		log_debug("validator: cosigned size %" PRIu64, d->st.size);
	}
	vd_reply(req, ans.status, ans.status == 409 &&
	    ans.refusal != VCORE_EQUIVOCATION ? CT_SIZE : CT_TEXT, ans.body);
out:
	vcore_request_free(&r);
	free(saved);
}

/* The kept evidence as a new JSON array, or NULL. */
static json_t *
vd_evidence_json(const struct vcore_state *st)
{
	json_t *a = json_array(), *e;
	size_t i;

	for (i = 0; a != NULL && i < st->nevidence; i++) {
		e = json_pack("{s:I,s:s,s:s}", "size",
		    (json_int_t)st->evidence[i].size, "cosigned",
		    st->evidence[i].cosigned, "offered",
		    st->evidence[i].offered);
		if (e == NULL || json_array_append_new(a, e) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static void
vd_status(struct evhttp_request *req, void *arg)
{
	struct vd *d = arg;
	char root[64] = "", at[21] = "", now[21];

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		vd_reply_line(req, 405, "method", "GET only");
		return;
	}
	ledger_b64_encode(d->st.root, LEDGER_HASH_LEN, root, sizeof(root));
	ledger_time_format(time(NULL), now);
	if (d->meta.last_refusal_at != 0)
		ledger_time_format(d->meta.last_refusal_at, at);
	vd_reply_json(req, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s?,"
	    "s:s?,s:I,s:I,s:I,s:I,s:s}",
	    "name", d->st.name, "vkey", d->me.vkey,
	    "mode", d->st.mode == VCORE_WITNESS ? "witness" : "validator",
	    "origin", d->st.origin,
	    "size", (json_int_t)d->st.size, "root", root,
	    "checkpoint", d->st.checkpoint,
	    "last_refusal", d->st.last_refusal[0] ? d->st.last_refusal : NULL,
	    "last_refusal_at", at[0] ? at : NULL,
	    "refusals", (json_int_t)d->meta.refusals,
	    "equivocations", (json_int_t)d->st.equivocations,
	    "evidence_kept", (json_int_t)d->st.nevidence,
	    "cosigned_since_start", (json_int_t)d->cosigned,
	    "time", now));
}

static void
vd_evidence(struct evhttp_request *req, void *arg)
{
	struct vd *d = arg;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		vd_reply_line(req, 405, "method", "GET only");
		return;
	}
	vd_reply_json(req, json_pack("{s:s,s:I,s:o}", "origin", d->st.origin,
	    "equivocations", (json_int_t)d->st.equivocations, "evidence",
	    vd_evidence_json(&d->st)));
}

static void
vd_notfound(struct evhttp_request *req, void *arg)
{
	vd_reply_line(req, 404, "not-found", "no such endpoint (POST "
	    "/add-checkpoint, POST /add-block, GET /status, GET /evidence)");
}

/* ---- start and stop ------------------------------------------------------ */

static void
vd_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vd *d = arg;

	log_info("validator: signal %d, stopping", (int)sig);
	notify_stopping();
	event_base_loopexit(d->base, NULL);
}

/* SIGUSR1: the log file reopened (logrotate). */
static void
vd_on_usr1(evutil_socket_t sig, short what, void *arg)
{
	(void)log_reopen();
}

/* d->sk from d->key (its 32-byte seed).  0 or -1. */
static int
vd_sodium_key(struct vd *d)
{
	unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char want[crypto_sign_PUBLICKEYBYTES];
	size_t len = sizeof(seed), plen = sizeof(want);
	int rc = -1;

	if (sodium_init() >= 0 &&
	    EVP_PKEY_get_raw_private_key(d->key, seed, &len) == 1 &&
	    len == sizeof(seed) &&
	    EVP_PKEY_get_raw_public_key(d->key, want, &plen) == 1 &&
	    plen == sizeof(want) &&
	    crypto_sign_seed_keypair(pk, d->sk, seed) == 0 &&
	    memcmp(pk, want, sizeof(pk)) == 0)
		rc = 0;
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* Loads the key, the registry and the state, and checks they agree.
 * 0, or -1 after a message. */
static int
vd_open(struct vd *d)
{
	const struct vd_config *c = d->cfg;
	char err[512], *text = NULL;
	int rc = -1, r;

	if ((d->key = vd_key_load(c->key_path, err, sizeof(err))) == NULL) {
		log_err("validator: %s", err);
		goto out;
	}
	if (ledger_cosigner_from_key(c->name, d->key, &d->me) != 0) {
		log_err("validator: no cosigner key ID for %s", c->name);
		goto out;
	}
	if (vd_sodium_key(d) != 0) {
		log_err("validator: %s is not an Ed25519 key", c->key_path);
		goto out;
	}
	if ((d->log_key = ledger_vkey_new(c->log_vkey)) == NULL) {
		log_err("validator: log_vkey is not a signed-note verifier key");
		goto out;
	}
	if ((d->r = ledger_replay_open(c->db_path, c->origin, err,
	    sizeof(err))) == NULL) {
		log_err("validator: %s", err);
		goto out;
	}
	if ((text = malloc(VD_STATE_JSON_MAX)) == NULL)
		goto out;
	if ((r = ledger_replay_meta_get(d->r, VD_STATE_KEY, text,
	    VD_STATE_JSON_MAX)) != 0) {
		log_err("validator: %s: %s (was it made by `keybridge "
		    "validator init`?)", c->db_path, r == 1 ? "no state" :
		    "the state cannot be read");
		goto out;
	}
	if (vd_state_from_json(text, &d->st, &d->meta, err,
	    sizeof(err)) != 0) {
		log_err("validator: %s: %s", c->db_path, err);
		goto out;
	}
	if (strcmp(d->st.name, c->name) != 0 ||
	    strcmp(d->st.origin, c->origin) != 0 || d->st.mode != c->mode) {
		log_err("validator: the state in %s is for %s of %s; "
		    "validator.conf says %s of %s", c->db_path, d->st.name,
		    d->st.origin, c->name, c->origin);
		goto out;
	}
	if (d->st.mode == VCORE_VALIDATOR &&
	    ledger_replay_size(d->r) != d->st.size) {
		log_err("validator: the registry holds %" PRIu64 " entries "
		    "but the state says %" PRIu64 " were cosigned",
		    ledger_replay_size(d->r), d->st.size);
		goto out;
	}
	/* the configuration's bounds win (an operator may widen them) */
	d->st.max_past = c->max_past;
	d->st.max_future = c->max_future;
	rc = 0;
out:
	free(text);
	return rc;
}

/* The front door's limits from the configuration: RLIMIT_NOFILE raised
 * to its hard limit, the connections kept below it (limits.c).  0, or -1
 * after a message. */
static int
vd_limits(struct vd *d)
{
	const struct vd_config *c = d->cfg;
	struct limits_config lc;
	long nofile = 0;

	memset(&lc, 0, sizeof(lc));
	lc.header_timeout = c->http_header_timeout;
	lc.body_timeout = c->http_body_timeout;
	lc.body_min_rate = c->http_body_min_rate;
	lc.tls_timeout = c->http_header_timeout;	/* no TLS here */
	lc.keepalive_timeout = c->http_keepalive_timeout;
	lc.max_per_addr = c->http_max_conns_per_addr;
	if ((lc.max_conns = limits_fd_budget(c->http_max_conns, VD_FD_RESERVE,
	    &nofile)) < 0) {
		log_err("validator: cannot read RLIMIT_NOFILE: %s",
		    strerror(errno));
		return -1;
	}
	if ((d->limits = limits_new(d->base, &lc)) == NULL) {
		log_err("validator: out of memory for the connection limits");
		return -1;
	}
	log_info("validator: at most %ld connections, %ld per address; "
	    "deadlines: head %ld s, body %ld s + 1 s per %ld bytes, "
	    "keep-alive %ld s", lc.max_conns, lc.max_per_addr,
	    lc.header_timeout, lc.body_timeout, lc.body_min_rate,
	    lc.keepalive_timeout);
	return 0;
}

/* Binds the listener and the routes.  0 or -1 after a message. */
static int
vd_listen(struct vd *d)
{
	char err[512];

	if ((d->srv = server_new(d->base, d->cfg->listen, NULL,
	    d->cfg->max_body, err, sizeof(err))) == NULL) {
		log_err("validator: %s", err);
		return -1;
	}
	/* requests logged at debug; refusals of the front check (logged
	 * there) answered as one line of text, as ours are */
	server_set_quiet(d->srv, 1);
	server_set_plain(d->srv, 1);
	/* every method reaches the handlers (a wrong one is 405), and any
	 * other path gets our 404 ("/" matches every path, last) */
	if (server_route(d->srv, "/add-checkpoint", vd_add, d) != 0 ||
	    server_route(d->srv, "/add-block", vd_add, d) != 0 ||
	    server_route(d->srv, "/status", vd_status, d) != 0 ||
	    server_route(d->srv, "/evidence", vd_evidence, d) != 0 ||
	    server_route(d->srv, "/", vd_notfound, d) != 0) {
		log_err("validator: out of memory for the routes");
		return -1;
	}
	if (vd_limits(d) != 0 ||
	    server_set_limits(d->srv, d->limits, d->cfg->listen) != 0) {
		log_err("validator: cannot set the connection limits");
		return -1;
	}
	return 0;
}

int
vd_serve(const struct vd_config *c)
{
	static struct vd d;	/* large (the state): off the stack */
	struct event *sigterm = NULL, *sigint = NULL, *sigusr1 = NULL;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.cfg = c;
	signal(SIGPIPE, SIG_IGN);
	/* a log rotation's or systemd's HUP must not kill it: a validator
	 * reloads nothing (restart it to read validator.conf again) */
	signal(SIGHUP, SIG_IGN);
	if (vd_open(&d) != 0 || (d.base = event_base_new()) == NULL ||
	    vd_listen(&d) != 0)
		goto out;
	if ((sigterm = evsignal_new(d.base, SIGTERM, vd_on_signal, &d)) ==
	    NULL || (sigint = evsignal_new(d.base, SIGINT, vd_on_signal,
	    &d)) == NULL || event_add(sigterm, NULL) != 0 ||
	    event_add(sigint, NULL) != 0 || (sigusr1 = evsignal_new(d.base,
	    SIGUSR1, vd_on_usr1, NULL)) == NULL || event_add(sigusr1,
	    NULL) != 0)
		goto out;
	log_info("validator %s (%s) of %s listening on %s, cosigned size %"
	    PRIu64, c->name, c->mode == VCORE_WITNESS ? "witness" :
	    "validator", c->origin, c->listen, d.st.size);
	log_info("validator vkey %s", d.me.vkey);
	notify_ready(NULL);	/* Type=notify: the listener accepts now */
	if (event_base_dispatch(d.base) != 0)
		goto out;
	rc = 0;
out:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (sigusr1 != NULL)
		event_free(sigusr1);
	/* the server before its limits (limits_free: after every server
	 * using them) */
	server_free(d.srv);
	if (d.limits != NULL)
		limits_free(d.limits);
	if (d.base != NULL)
		event_base_free(d.base);
	ledger_replay_close(d.r);
	ledger_cosigner_clear(&d.me);
	ledger_vkey_free(d.log_key);
	sodium_memzero(d.sk, sizeof(d.sk));
	EVP_PKEY_free(d.key);
	return rc;
}
