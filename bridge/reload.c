/*
 * reload.c: SIGHUP in `keybridge serve` (docs/operations.md "Reloading
 * the configuration").
 *
 * As OpenBSD's httpd and relayd, and nginx: the signal rereads the
 * configuration; when the new one does not parse or check, the daemon
 * says why (file and line) and keeps the one it runs.  A good one is
 * taken in one step on the event loop, where everything it changes
 * lives, so no request ever sees half of it:
 *
 *   log_level            log_verbosity (the other threads read it; one
 *                        aligned int, stored atomically)
 *   http_* deadlines,    limits.c: connections already timed keep their
 *   body rate, per-      deadline, the next ones get the new values
 *   address cap
 *   api_token, api_auth  the API's bearer check, from the next request
 *   tls_cert, tls_key    a new SSL_CTX for new handshakes; an
 *   (and the files)      established connection's SSL holds a reference
 *                        to the context it was made with and keeps it
 *
 * Everything else needs a restart and is named in the log: the listen
 * addresses (bound before the bridge dropped root), the database and
 * the writer's settings, the key process's keys and certificates (read
 * by a process that has narrowed itself with seccomp), the validators
 * and the quorum (the key process admits certificates under the policy
 * it read at start), the connection cap and reserve (they size the
 * connection table), the data directory.  Changed there, they are logged
 * ("needs a restart") and the running value stays in force.
 *
 * Example (log):
 *
 *	reload: log_level: info -> debug
 *	reload: TLS certificate: serial 3f1c... until 2027-02-01 -> serial
 *	    71aa... until 2027-03-04
 *	reload: http_listen changed (127.0.0.1:8080 -> 0.0.0.0:8080) but
 *	    needs a restart: still 127.0.0.1:8080
 *	reload: done (2 settings changed, 1 needs a restart)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "bridge/bridge.h"
#include "bridge/reload.h"

/* Settings a reload applies; any other change needs a restart. */
static const char *const reload_keys[] = {
	"log_level", "api_token", "api_auth", "tls_cert", "tls_key",
	"http_header_timeout", "http_body_timeout", "http_body_min_rate",
	"http_tls_handshake_timeout", "http_keepalive_timeout",
	"http_max_conns_per_addr", "log_format", "log_target", "access_log",
};

/* One reload's tally (config_changes's callback). */
struct reload_diff {
	unsigned changed, restart;
};

static int
reload_key(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(reload_keys) / sizeof(reload_keys[0]); i++)
		if (strcmp(reload_keys[i], key) == 0)
			return 1;
	return 0;
}

/* See reload.h. */
void
reload_init(struct reload *rl, const struct bridge_config *cfg,
    const struct config_overrides *ov)
{
	rl->cur = *cfg;
	rl->ov = ov;
	check_apply_overrides(&rl->cur, ov);
}

/* See reload.h. */
int
reload_limits_config(const struct bridge_config *cfg,
    struct limits_config *lc, long *nofile, long *reserve)
{
	*reserve = cfg->http_fd_reserve + 2 * (long)cfg->nvalidators;
	memset(lc, 0, sizeof(*lc));
	lc->header_timeout = cfg->http_header_timeout;
	lc->body_timeout = cfg->http_body_timeout;
	lc->body_min_rate = cfg->http_body_min_rate;
	lc->tls_timeout = cfg->http_tls_handshake_timeout;
	lc->keepalive_timeout = cfg->http_keepalive_timeout;
	lc->max_per_addr = cfg->http_max_conns_per_addr;
	lc->max_conns = limits_fd_budget(cfg->http_max_conns, *reserve,
	    nofile);
	return lc->max_conns < 0 ? -1 : 0;
}

/* check_config's and config_load_each's findings: the log. */
static void
reload_emit(void *arg, int problem, const char *line)
{
	if (problem)
		log_err("reload: %s", line);
	else
		log_warn("reload: %s", line);
}

static void
reload_conf_problem(void *arg, const char *why)
{
	struct check_report *r = arg;

	r->problems++;
	log_err("reload: %s", why);
}

/* config_changes's callback: logs each change, counts what needs a
 * restart. */
static void
reload_changed(void *arg, const char *key, const char *old,
    const char *new_, int secret)
{
	struct reload_diff *d = arg;

	if (reload_key(key)) {
		d->changed++;
		if (secret)
			log_info("reload: %s changed", key);
		else
			log_info("reload: %s: %s -> %s", key, old, new_);
		return;
	}
	d->restart++;
	if (secret)
		log_warn("reload: %s changed but needs a restart: the running "
		    "value stays", key);
	else
		log_warn("reload: %s changed (%s -> %s) but needs a restart: "
		    "still %s", key, old, new_, old);
}

/* "serial S until T" of ctx's certificate into out. */
static const char *
reload_cert_text(SSL_CTX *ctx, char *out, size_t outlen)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	char serial[41] = "?", until[32] = "?";
	struct tm tm;

	if (x != NULL) {
		(void)issue_serial_hex(x, serial);
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
			strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ",
			    &tm);
	}
	snprintf(out, outlen, "serial %s until %s", serial, until);
	return out;
}

/* 1 when keybridge.conf, or nc's TLS certificate or key, exists but
 * cannot be read (EACCES): the user the bridge dropped to. */
static int
reload_unreadable(const struct reload *rl, const struct bridge_config *nc)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/%s", rl->cur.dir, CONFIG_FILE);
	if (access(p, R_OK) != 0 && errno == EACCES)
		return 1;
	if (nc == NULL)
		return 0;
	if (access(config_path(nc, nc->tls_cert, p, sizeof(p)), R_OK) != 0 &&
	    errno == EACCES)
		return 1;
	return access(config_path(nc, nc->tls_key, p, sizeof(p)), R_OK) !=
	    0 && errno == EACCES;
}

/* The TLS context of nc's certificate and key, with the running one's
 * client CAs (ca_chain is not reread: the dropped user may not read it,
 * and cacerts needs a restart anyway), or NULL after a message. */
static SSL_CTX *
reload_tls(struct reload *rl, const struct bridge_config *nc)
{
	char p1[PATH_MAX], p2[PATH_MAX], err[PATH_MAX + 512];
	SSL_CTX *ctx;

	if ((ctx = server_tls_ctx_like(*rl->tls, config_path(nc, nc->tls_cert,
	    p1, sizeof(p1)), config_path(nc, nc->tls_key, p2, sizeof(p2)),
	    err, sizeof(err))) == NULL)
		log_err("reload: TLS: %s", err);
	return ctx;
}

/* The log's level of nc from now on (one aligned int the other threads
 * read as they log); its format and target were switched before
 * reload_apply (logconf_apply), since opening a file may fail. */
static void
reload_log(const struct bridge_config *nc, int level)
{
	(void)nc;
	__atomic_store_n(&log_verbosity, level, __ATOMIC_RELAXED);
}

/* Takes nc's reloadable settings (everything checked: nothing fails
 * from here) and ctx (owned from now on). */
static void
reload_apply(struct reload *rl, const struct bridge_config *nc,
    SSL_CTX *ctx, const struct limits_config *lc, int need_token)
{
	struct bridge_config *c = &rl->cur;
	char was[128], now[128];
	X509 *ox = SSL_CTX_get0_certificate(*rl->tls);
	X509 *nx = SSL_CTX_get0_certificate(ctx);

	if (ox == NULL || nx == NULL || X509_cmp(ox, nx) != 0)
		log_info("reload: TLS certificate: %s -> %s",
		    reload_cert_text(*rl->tls, was, sizeof(was)),
		    reload_cert_text(ctx, now, sizeof(now)));
	server_set_tls(rl->https, ctx);
	SSL_CTX_free(*rl->tls);		/* its connections hold theirs */
	*rl->tls = ctx;
	snprintf(c->tls_cert, sizeof(c->tls_cert), "%s", nc->tls_cert);
	snprintf(c->tls_key, sizeof(c->tls_key), "%s", nc->tls_key);

	snprintf(c->log_level, sizeof(c->log_level), "%s", nc->log_level);

	limits_reconfigure(rl->limits, lc);
	server_limits_changed(rl->https);
	server_limits_changed(rl->http);
	c->http_header_timeout = nc->http_header_timeout;
	c->http_body_timeout = nc->http_body_timeout;
	c->http_body_min_rate = nc->http_body_min_rate;
	c->http_tls_handshake_timeout = nc->http_tls_handshake_timeout;
	c->http_keepalive_timeout = nc->http_keepalive_timeout;
	c->http_max_conns_per_addr = nc->http_max_conns_per_addr;

	/* rl->api->token points into c: the next request reads it */
	snprintf(c->api_token, sizeof(c->api_token), "%s", nc->api_token);
	snprintf(c->api_auth, sizeof(c->api_auth), "%s", nc->api_auth);
	rl->api->need_token = need_token;
}

/* See reload.h. */
void
reload_run(struct reload *rl)
{
	struct bridge_config *nc = NULL;
	struct check_report r;
	struct limits_config lc;
	struct reload_diff d;
	SSL_CTX *ctx = NULL;
	char why[PATH_MAX + 512], listen[CONFIG_STR], lerr[PATH_MAX + 256];
	long nofile, reserve;
	int need_token = 0, rc, level;
	struct passwd *pw;

	memset(&r, 0, sizeof(r));
	memset(&d, 0, sizeof(d));
	r.emit = reload_emit;
	log_info("reload: SIGHUP: rereading %s/%s", rl->cur.dir, CONFIG_FILE);
	if ((nc = calloc(1, sizeof(*nc))) == NULL) {
		log_err("reload: out of memory");
		r.problems++;
		goto out;
	}
	if (config_load_each(nc, rl->cur.dir, reload_conf_problem, &r) != 0)
		goto out;
	check_apply_overrides(nc, rl->ov);
	/* what a reload takes: the settings, the TLS certificate and key
	 * (the key process's keys and certificates, the database and the
	 * CA chain need a restart, and the dropped user may not read them:
	 * `keybridge check` checks those) */
	if (check_config(nc, 0, rl->root, &r) != 0)
		goto out;
	/* what serve refuses at start, against the running listener */
	snprintf(listen, sizeof(listen), "%s", nc->est_listen);
	snprintf(nc->est_listen, sizeof(nc->est_listen), "%s",
	    rl->cur.est_listen);
	rc = check_api_auth(nc, &need_token, why, sizeof(why));
	snprintf(nc->est_listen, sizeof(nc->est_listen), "%s", listen);
	if (rc != 0) {
		log_err("reload: %s", why);
		r.problems++;
		goto out;
	}
	/* max_conns is not reloaded: the budget's figure is not used */
	if ((ctx = reload_tls(rl, nc)) == NULL ||
	    reload_limits_config(nc, &lc, &nofile, &reserve) != 0) {
		if (ctx != NULL)
			log_err("reload: cannot read RLIMIT_NOFILE: %s",
			    strerror(errno));
		r.problems++;
		goto out;
	}
	/* the reload's own lines at the more verbose of both levels */
	level = log_level_parse(nc->log_level);
	/* the new format and target (opening a file may fail: then the
	 * whole reload is refused), the reload's own lines at the more
	 * verbose of both levels */
	if (logconf_apply(nc, level > log_verbosity ? level : log_verbosity,
	    lerr, sizeof(lerr)) != 0) {
		log_err("reload: %s", lerr);
		r.problems++;
		goto out;
	}
	config_changes(&rl->cur, nc, reload_changed, &d);
	reload_apply(rl, nc, ctx, &lc, need_token);
	ctx = NULL;
	rl->done++;
	log_info("reload: done (%u setting%s changed, %u need%s a restart)",
	    d.changed, d.changed == 1 ? "" : "s", d.restart, d.restart == 1 ?
	    "s" : "");
	reload_log(nc, level);
out:
	if (r.problems > 0 && geteuid() != 0 && reload_unreadable(rl, nc)) {
		pw = getpwuid(geteuid());
		log_err("reload: the bridge runs as user %s (it dropped root "
		    "at start): keybridge.conf, tls_cert and tls_key must be "
		    "readable by that user to be reloaded (docs/operations.md "
		    "\"Reloading the configuration\")", pw != NULL ?
		    pw->pw_name : "?");
	}
	if (r.problems > 0) {
		rl->refused++;
		log_err("reload: %u problem%s: keeping the running "
		    "configuration", r.problems, r.problems == 1 ? "" : "s");
	}
	SSL_CTX_free(ctx);
	free(nc);
}
