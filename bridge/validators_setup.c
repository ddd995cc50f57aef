/*
 * validators_setup.c: the validators consensus made from keybridge.conf's
 * `validator =` and `witness =` lines (each peer's cosigner, URL and
 * connection), and the snapshots of its status for the API, /metrics and
 * the dashboard.  The seal itself is validators.c.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "bridge/validators_int.h"

/* ---- setting up --------------------------------------------------------- */

/* See validators.h (bval_url_parse). */
int
bval_url_parse(const char *url, char *host, size_t hostlen, int *port,
    char *prefix, size_t prefixlen)
{
	const char *p, *colon, *slash;
	char *end;
	long n;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	if ((colon = strchr(p, ':')) == NULL || (slash != NULL &&
	    colon > slash) || colon == p || (size_t)(colon - p) >= hostlen)
		return -1;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-") != strlen(host))
		return -1;
	errno = 0;
	n = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || errno != 0 || n < 1 || n > 65535 ||
	    (*end != '\0' && *end != '/'))
		return -1;
	*port = (int)n;
	snprintf(prefix, prefixlen, "%s", *end == '/' ? end : "");
	/* no trailing slash: the path is prefix "/add-block" */
	for (size_t k = strlen(prefix); k > 0 && prefix[k - 1] == '/'; k--)
		prefix[k - 1] = '\0';
	return 0;
}

/* Peer i from cfg's line: its cosigner in the policy, its URL and its
 * connection.  0 or -1 with why. */
static int
bval_peer_init(struct bval *v, size_t i, const struct config_validator *cv,
    char *err, size_t errlen)
{
	struct bval_peer *p = &v->peers[i];
	ev_uint32_t secs = (ev_uint32_t)((v->wait_ms + 999) / 1000);

	p->v = v;
	p->idx = i;
	if (ledger_cosigner_parse(cv->vkey, &v->policy[i]) != 0 ||
	    strcmp(v->policy[i].name, cv->name) != 0) {
		snprintf(err, errlen, "validator %s: not a cosignature/v1 "
		    "verifier key of that name", cv->name);
		return -1;
	}
	if (bval_url_parse(cv->url, p->host, sizeof(p->host), &p->port,
	    p->prefix, sizeof(p->prefix)) != 0) {
		snprintf(err, errlen, "validator %s: %s is not "
		    "http://HOST:PORT", cv->name, cv->url);
		return -1;
	}
	snprintf(p->st.name, sizeof(p->st.name), "%s", cv->name);
	snprintf(p->st.url, sizeof(p->st.url), "%s", cv->url);
	snprintf(p->st.vkey, sizeof(p->st.vkey), "%s", cv->vkey);
	p->st.witness = cv->witness;
	if ((p->conn = evhttp_connection_base_new(v->evb, NULL, p->host,
	    (ev_uint16_t)p->port)) == NULL) {
		snprintf(err, errlen, "validator %s: cannot make a connection",
		    cv->name);
		return -1;
	}
	evhttp_connection_set_timeout(p->conn, secs > 0 ? (int)secs : 1);
	evhttp_connection_set_retries(p->conn, 0);
	return 0;
}

/* See validators.h. */
struct ledger_consensus *
bval_consensus_new(const struct bridge_config *cfg,
    int (*node_sign)(void *arg, const struct ledger_seal *s, char *line,
    size_t linelen), void *node_arg, struct bval **out, char *err,
    size_t errlen)
{
	struct bval *v;
	char db[PATH_MAX];

	*out = NULL;
	if (cfg->nvalidators == 0 || cfg->nvalidators >
	    LEDGER_COSIGN_POLICY_MAX || node_sign == NULL) {
		snprintf(err, errlen, "no validators (or more than %d)",
		    LEDGER_COSIGN_POLICY_MAX);
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&v->mu, NULL);
	v->base.ops = &bval_ops;
	v->node_sign = node_sign;
	v->node_arg = node_arg;
	v->npeers = cfg->nvalidators;
	v->quorum = cfg->quorum > 0 ? (size_t)cfg->quorum :
	    config_quorum_default(cfg->nvalidators);
	v->wait_ms = cfg->validator_wait_ms > 0 ? cfg->validator_wait_ms :
	    BVAL_WAIT_MS_DEFAULT;
	v->chunk_max = VCORE_ENTRIES_MAX;
	v->stats.npeers = v->npeers;
	v->stats.quorum = v->quorum;
	if ((v->peers = calloc(v->npeers, sizeof(*v->peers))) == NULL ||
	    (v->evb = event_base_new()) == NULL ||
	    (v->deadline = evtimer_new(v->evb, bval_deadline, v)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < v->npeers; i++)
		if (bval_peer_init(v, i, &cfg->validators[i], err, errlen) !=
		    0)
			goto fail;
	if ((v->rd = ledger_reader_open(config_path(cfg, cfg->db, db,
	    sizeof(db)), err, errlen)) == NULL)
		goto fail;
	*out = v;
	return &v->base;
fail:
	bval_free(&v->base);
	return NULL;
}

/* See validators.h. */
void
bval_set_chunk_max(struct bval *v, size_t n)
{
	if (v != NULL)
		v->chunk_max = n > 0 && n < VCORE_ENTRIES_MAX ? n :
		    VCORE_ENTRIES_MAX;
}

/* ---- status ------------------------------------------------------------- */

static int
bval_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* See validators.h. */
void
bval_stats(struct bval *v, struct bval_stats *st)
{
	double sorted[BVAL_LAT_N];
	size_t n;

	memset(st, 0, sizeof(*st));
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->mu);
	*st = v->stats;
	n = v->nlat;
	memcpy(sorted, v->lat, n * sizeof(*sorted));
	pthread_mutex_unlock(&v->mu);
	if (n == 0)
		return;
	qsort(sorted, n, sizeof(*sorted), bval_cmp_double);
	st->finality_p50_ms = sorted[(n - 1) / 2];
	st->finality_p99_ms = sorted[(n * 99 + 99) / 100 - 1];
}

/* See validators.h. */
size_t
bval_peers(struct bval *v, struct bval_peer_status *out, size_t max)
{
	size_t n = 0;

	if (v == NULL)
		return 0;
	pthread_mutex_lock(&v->mu);
	for (; n < v->npeers && n < max; n++)
		out[n] = v->peers[n].st;
	pthread_mutex_unlock(&v->mu);
	return n;
}
