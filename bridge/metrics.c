/*
 * metrics.c: GET /metrics in the Prometheus text exposition format
 * (version 0.0.4), on the plain-HTTP listener.
 *
 * Request counters and latency histograms are kept here, fed by server.c
 * when a reply has been written: one slot per event loop (ocsp_loops),
 * each written by its loop only (relaxed atomics, no locked instruction:
 * one writer) and summed when /metrics is read;
 * everything else is read at scrape time from its owner: the ledger's
 * writer statistics and registry counts, the OCSP responder's counters,
 * the kernel's count of established TCP connections per listener
 * port (socket diagnostics; evhttp has no hook for a connection's end,
 * the kernel knows),
 * and the signer's count of the key process's refusals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include <stdatomic.h>

#include "bridge/bridge.h"
#include "bridge/http/strict.h"
#include "bridge/keyproc/keyproc.h"
#include "bridge/validators.h"

#define METRICS_CODES    500		/* status codes 100..599 */
#define METRICS_NBUCKETS 14
#define METRICS_CTYPE    "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_DIAG_BUF 32768	/* one recv of the socket dump */

/* Request latency bucket bounds, seconds. */
static const double metrics_bounds[METRICS_NBUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5,
};

static const char *const metrics_group_names[SERVER_NFAMILIES] = {
	[SERVER_EST] = "est", [SERVER_OCSP] = "ocsp", [SERVER_CRL] = "crl",
	[SERVER_API] = "api", [SERVER_OTHER] = "other",
};

struct metrics_hist {
	uint64_t bucket[METRICS_NBUCKETS + 1];	/* last: +Inf only */
	uint64_t count;
	double sum;
};

/* One loop's counters (its server's observer argument); written by that
 * loop only, read by the scrape on the main loop. */
struct metrics_slot {
	_Atomic uint64_t requests[SERVER_NFAMILIES][METRICS_CODES];
	_Atomic uint64_t bucket[SERVER_NFAMILIES][METRICS_NBUCKETS + 1];
	_Atomic uint64_t count[SERVER_NFAMILIES];
	_Atomic double sum[SERVER_NFAMILIES];
};

struct metrics {
	struct metrics_sources src;
	struct metrics_slot slot[OCSPR_MAX_LOOPS];
};

/* One more on a counter one thread writes: no locked instruction. */
#define METRICS_ADD(a, v) atomic_store_explicit(&(a), \
	atomic_load_explicit(&(a), memory_order_relaxed) + (v), \
	memory_order_relaxed)
#define METRICS_GET(a) atomic_load_explicit(&(a), memory_order_relaxed)

struct metrics *
metrics_new(const struct metrics_sources *src)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m != NULL && src != NULL)
		m->src = *src;
	return m;
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

void
metrics_set_loops(struct metrics *m, struct serve_loops *loops)
{
	m->src.loops = loops;
}

void *
metrics_observer_arg(struct metrics *m, int i)
{
	return i >= 0 && i < OCSPR_MAX_LOOPS ? &m->slot[i] : NULL;
}

void
metrics_observe(void *arg, int group, int code, double seconds)
{
	struct metrics_slot *sl = arg;
	size_t i;

	if (group < 0 || group >= SERVER_NFAMILIES)
		group = SERVER_OTHER;
	if (code >= 100 && code < 100 + METRICS_CODES)
		METRICS_ADD(sl->requests[group][code - 100], 1);
	for (i = 0; i < METRICS_NBUCKETS && seconds > metrics_bounds[i]; i++)
		;
	METRICS_ADD(sl->bucket[group][i], 1);
	METRICS_ADD(sl->count[group], 1);
	METRICS_ADD(sl->sum[group], seconds);
}

/* The loops' slots summed: family g's histogram into h. */
static void
metrics_hist_sum(const struct metrics *m, int g, struct metrics_hist *h)
{
	memset(h, 0, sizeof(*h));
	for (int k = 0; k < OCSPR_MAX_LOOPS; k++) {
		for (int i = 0; i <= METRICS_NBUCKETS; i++)
			h->bucket[i] += METRICS_GET(m->slot[k].bucket[g][i]);
		h->count += METRICS_GET(m->slot[k].count[g]);
		h->sum += METRICS_GET(m->slot[k].sum[g]);
	}
}

/* Established TCP connections whose local port is port (IPv4 and IPv6),
 * from the kernel's socket diagnostics (NETLINK_SOCK_DIAG, the interface
 * of ss(8)): the kernel dumps only sockets in the ESTABLISHED state, in
 * binary.  /proc/net/tcp{,6} listed every socket as text, TIME_WAIT ones
 * too: 25-35 ms on the event loop per scrape after a load test's churn
 * (issue 18).  -1 when they cannot be read. */
static long
metrics_tcp_established(int port)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[METRICS_DIAG_BUF];
	struct nlmsghdr *h;
	long n = 0;
	ssize_t got;
	int fd, done;

	if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) < 0)
		return -1;
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		memset(&req, 0, sizeof(req));
		req.nlh.nlmsg_len = sizeof(req);
		req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
		req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		req.nlh.nlmsg_seq = (uint32_t)f + 1;
		req.r.sdiag_family = (uint8_t)families[f];
		req.r.sdiag_protocol = IPPROTO_TCP;
		req.r.idiag_states = 1u << TCP_ESTABLISHED;
		if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa,
		    sizeof(sa)) != (ssize_t)sizeof(req))
			goto fail;
		for (done = 0; !done;) {
			if ((got = recv(fd, buf, sizeof(buf), 0)) <= 0)
				goto fail;
			for (h = (struct nlmsghdr *)buf; NLMSG_OK(h,
			    (size_t)got); h = NLMSG_NEXT(h, got)) {
				const struct inet_diag_msg *d;

				if (h->nlmsg_type == NLMSG_DONE) {
					done = 1;
					break;
				}
				if (h->nlmsg_type == NLMSG_ERROR ||
				    h->nlmsg_len < NLMSG_LENGTH(sizeof(*d)))
					goto fail;
				d = NLMSG_DATA(h);
				if (ntohs(d->id.idiag_sport) == port)
					n++;
			}
		}
	}
	close(fd);
	return n;
fail:
	close(fd);
	return -1;
}

static void
metrics_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* One unlabelled sample with its HELP and TYPE. */
static void
metrics_one(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	metrics_head(b, name, type, help);
	evbuffer_add_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void
metrics_hist_out(struct evbuffer *b, const char *name, const char *labels,
    const double *bounds, const char *const *bound_text, size_t nb,
    const uint64_t *bucket, uint64_t count, double sum)
{
	uint64_t cum = 0;
	char le[32];

	for (size_t i = 0; i < nb; i++) {
		cum += bucket[i];
		if (bound_text != NULL)
			snprintf(le, sizeof(le), "%s", bound_text[i]);
		else
			snprintf(le, sizeof(le), "%g", bounds[i]);
		evbuffer_add_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name,
		    labels, labels[0] ? "," : "", le,
		    (unsigned long long)cum);
	}
	evbuffer_add_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name,
	    labels, labels[0] ? "," : "", (unsigned long long)count);
	evbuffer_add_printf(b, "%s_sum%s%s%s %.9g\n", name, labels[0] ? "{" :
	    "", labels, labels[0] ? "}" : "", sum);
	evbuffer_add_printf(b, "%s_count%s%s%s %llu\n", name, labels[0] ?
	    "{" : "", labels, labels[0] ? "}" : "", (unsigned long long)count);
}

/* The front door's limits (bridge/http/limits.c): connections, the cap,
 * and the connections it closed, by why. */
static void
metrics_limits_out(const struct metrics *m, struct evbuffer *b)
{
	struct limits_stats st;
	int i;

	if (m->src.limits == NULL)
		return;
	limits_stats(m->src.limits, &st);
	/* ocsp_loops: the other loops' front doors, as of their last
	 * second */
	serve_loops_stats(m->src.loops, &st, NULL);
	metrics_head(b, "keybridge_http_connections", "gauge",
	    "Connections the front door counts, both listeners.");
	evbuffer_add_printf(b, "keybridge_http_connections %zu\n", st.conns);
	metrics_head(b, "keybridge_http_connections_max", "gauge",
	    "The cap of connections (http_max_conns, below RLIMIT_NOFILE).");
	evbuffer_add_printf(b, "keybridge_http_connections_max %ld\n",
	    st.max_conns);
	metrics_head(b, "keybridge_http_connections_closed_total", "counter",
	    "Connections closed by a deadline or a cap, by why.");
	for (i = 0; i < LIMITS_NWHY; i++)
		evbuffer_add_printf(b, "keybridge_http_connections_closed_total{"
		    "reason=\"%s\"} %lu\n", limits_why_name(i), st.closed[i]);
	metrics_head(b, "keybridge_http_accept_pauses_total", "counter",
	    "Times accept() failed (EMFILE, ENFILE, ...) and accepts paused.");
	evbuffer_add_printf(b, "keybridge_http_accept_pauses_total %lu\n",
	    st.accept_pauses);
}

/* One listener's refusals, every reason (zeros too: a rate needs them). */
static void
metrics_refused(struct evbuffer *b, const char *listener,
    const struct server *s, const uint64_t *more)
{
	const char *name;
	int r;

	if (s == NULL)
		return;
	for (r = 1; (name = server_refusal_name(r)) != NULL; r++)
		evbuffer_add_printf(b, "keybridge_http_refused_total{listener="
		    "\"%s\",reason=\"%s\"} %llu\n", listener, name,
		    (unsigned long long)(server_refused(s, r) +
		    (more != NULL && r < HTTP_STRICT_NREASONS ? more[r] : 0)));
}

static void
metrics_http(struct metrics *m, struct evbuffer *b)
{
	struct metrics_hist h;
	struct limits_stats lst;
	uint64_t more[HTTP_STRICT_NREASONS];
	char labels[64];
	uint64_t n;
	int g, c;

	metrics_head(b, "keybridge_http_requests_total", "counter",
	    "HTTP requests answered, by endpoint group and status code.");
	for (g = 0; g < SERVER_NFAMILIES; g++)
		for (c = 0; c < METRICS_CODES; c++) {
			n = 0;
			for (int k = 0; k < OCSPR_MAX_LOOPS; k++)
				n += METRICS_GET(m->slot[k].requests[g][c]);
			if (n != 0)
				evbuffer_add_printf(b, "keybridge_http_requests_"
				    "total{endpoint=\"%s\",code=\"%d\"} %llu\n",
				    metrics_group_names[g], c + 100,
				    (unsigned long long)n);
		}
	metrics_head(b, "keybridge_http_request_duration_seconds",
	    "histogram", "Time from a request's dispatch to its reply "
	    "written, by endpoint group.");
	for (g = 0; g < SERVER_NFAMILIES; g++) {
		snprintf(labels, sizeof(labels), "endpoint=\"%s\"",
		    metrics_group_names[g]);
		metrics_hist_sum(m, g, &h);
		metrics_hist_out(b, "keybridge_http_request_duration_seconds",
		    labels, metrics_bounds, NULL, METRICS_NBUCKETS,
		    h.bucket, h.count, h.sum);
	}
	metrics_limits_out(m, b);
	metrics_head(b, "keybridge_http_refused_total", "counter",
	    "Requests the strict front check refused before evhttp, by "
	    "listener and reason (docs/operations.md).");
	memset(&lst, 0, sizeof(lst));
	memset(more, 0, sizeof(more));
	serve_loops_stats(m->src.loops, &lst, more);
	metrics_refused(b, "https", m->src.https, NULL);
	metrics_refused(b, "http", m->src.http, more);
	metrics_head(b, "keybridge_http_open_connections", "gauge",
	    "Established TCP connections on each listener.");
	if (m->src.https != NULL)
		evbuffer_add_printf(b, "keybridge_http_open_connections{"
		    "listener=\"https\"} %ld\n", metrics_tcp_established(
		    server_port(m->src.https)));
	if (m->src.http != NULL)
		evbuffer_add_printf(b, "keybridge_http_open_connections{"
		    "listener=\"http\"} %ld\n", metrics_tcp_established(
		    server_port(m->src.http)));
}

static void
metrics_ocsp(struct metrics *m, struct evbuffer *b)
{
	struct ocspr_stats st;

	if (m->src.status == NULL)
		return;
	ocspr_stats(status_responder(m->src.status), &st);
	metrics_one(b, "keybridge_ocsp_requests_total", "counter",
	    "OCSP requests received.", st.requests);
	metrics_one(b, "keybridge_ocsp_cache_hits_total", "counter",
	    "OCSP requests answered from a pre-signed response.",
	    st.cache_hits);
	metrics_one(b, "keybridge_ocsp_cache_misses_total", "counter",
	    "OCSP requests that needed the ledger or a live signature.",
	    st.cache_misses);
	metrics_one(b, "keybridge_ocsp_signatures_total", "counter",
	    "OCSP responses signed (pre-signed and live).", st.signatures);
	metrics_head(b, "keybridge_ocsp_errors_total", "counter",
	    "Unsigned OCSP error answers, by responseStatus.");
	evbuffer_add_printf(b, "keybridge_ocsp_errors_total{status=\""
	    "malformedRequest\"} %llu\n", (unsigned long long)st.malformed);
	evbuffer_add_printf(b, "keybridge_ocsp_errors_total{status=\""
	    "unauthorized\"} %llu\n", (unsigned long long)st.unauthorized);
	evbuffer_add_printf(b, "keybridge_ocsp_errors_total{status=\""
	    "tryLater\"} %llu\n", (unsigned long long)st.try_later);
	metrics_one(b, "keybridge_ocsp_responses_cached", "gauge",
	    "Pre-signed OCSP responses kept (one per certificate and hash).",
	    st.cached);
	metrics_one(b, "keybridge_ocsp_resign_pending", "gauge",
	    "Certificates waiting for their responses to be signed again.",
	    st.pending);
	metrics_one(b, "keybridge_ocsp_resign_paced", "gauge",
	    "Certificates whose due answers wait for ocsp_resign_rate "
	    "(still valid, answered from the store; or expired after a "
	    "long downtime, signed on demand).", st.paced);
	metrics_one(b, "keybridge_crls_made_total", "counter",
	    "CRLs made and signed.", st.crls);
	/* issue 18: the bounded cache and the persistent store */
	metrics_one(b, "keybridge_ocsp_cache_evictions_total", "counter",
	    "OCSP answers evicted from memory (ocsp_cache_max).",
	    st.evictions);
	metrics_one(b, "keybridge_ocsp_store_hits_total", "counter",
	    "OCSP answers read from the persistent store on a memory miss.",
	    st.store_hits);
	metrics_one(b, "keybridge_ocsp_store_misses_total", "counter",
	    "Persistent store reads that found no sound, fresh answer.",
	    st.store_misses);
	metrics_one(b, "keybridge_ocsp_store_stale_total", "counter",
	    "Stored answers refused: the ledger says another status.",
	    st.store_stale);
	metrics_one(b, "keybridge_ocsp_store_writes_total", "counter",
	    "OCSP answers written to the persistent store.",
	    st.store_writes);
	metrics_one(b, "keybridge_ocsp_store_errors_total", "counter",
	    "Persistent store reads or writes that failed.",
	    st.store_errors);
	metrics_head(b, "keybridge_ocsp_loop_requests_total", "counter",
	    "OCSP requests each event loop received (ocsp_loops; 0: the "
	    "main loop).");
	for (int i = 0; i < st.nloops && i < OCSPR_MAX_LOOPS; i++)
		evbuffer_add_printf(b, "keybridge_ocsp_loop_requests_total{"
		    "loop=\"%d\"} %llu\n", i,
		    (unsigned long long)st.loop_requests[i]);
}

static void
metrics_ledger(struct metrics *m, struct evbuffer *b, time_t now)
{
	static const char *const ctr[][3] = {
		{ "keybridge_ledger_blocks_total", "counter",
		    "Blocks committed by this bridge's writer." },
		{ "keybridge_ledger_entries_appended_total", "counter",
		    "Entries committed by this bridge's writer." },
		{ "keybridge_ledger_entries_refused_total", "counter",
		    "Submitted entries refused by the ledger's rules." },
		{ "keybridge_ledger_commit_failures_total", "counter",
		    "Entries not committed because the database failed." },
	};
	char text[LEDGER_STAT_COMMIT_N][24];
	const char *bt[LEDGER_STAT_COMMIT_N];
	double bounds[LEDGER_STAT_BATCH_N];
	struct ledger_stats st;
	struct ledger_counts c;
	uint64_t vals[4];
	size_t i;

	if (m->src.ledger == NULL)
		return;
	ledger_stats(m->src.ledger, &st);
	vals[0] = st.blocks;
	vals[1] = st.entries;
	vals[2] = st.refused;
	vals[3] = st.failed;
	for (i = 0; i < 4; i++)
		metrics_one(b, ctr[i][0], ctr[i][1], ctr[i][2], vals[i]);
	metrics_one(b, "keybridge_ledger_queue_entries", "gauge",
	    "Submitted entries waiting for the writer.", st.pending);
	for (i = 0; i < LEDGER_STAT_BATCH_N; i++)
		bounds[i] = LEDGER_BATCH_BOUNDS[i];
	metrics_head(b, "keybridge_ledger_block_entries", "histogram",
	    "Entries per committed block (group commit).");
	metrics_hist_out(b, "keybridge_ledger_block_entries", "", bounds,
	    NULL, LEDGER_STAT_BATCH_N, st.batch, st.blocks,
	    (double)st.batch_sum);
	for (i = 0; i < LEDGER_STAT_COMMIT_N; i++) {
		snprintf(text[i], sizeof(text[i]), "%g",
		    LEDGER_COMMIT_BOUNDS_US[i] / 1e6);
		bt[i] = text[i];
	}
	metrics_head(b, "keybridge_ledger_commit_duration_seconds",
	    "histogram", "Time to commit a block: rules, tree, checkpoint "
	    "signature, fsync.");
	metrics_hist_out(b, "keybridge_ledger_commit_duration_seconds", "",
	    NULL, bt, LEDGER_STAT_COMMIT_N, st.commit_us, st.blocks,
	    st.commit_seconds_sum);
	metrics_head(b, "keybridge_ledger_tree_size", "gauge",
	    "Entries in the ledger.");
	evbuffer_add_printf(b, "keybridge_ledger_tree_size %llu\n",
	    (unsigned long long)ledger_size(m->src.ledger));
	if (ledger_counts(m->src.ledger, &c) != 0)
		return;
	metrics_head(b, "keybridge_ledger_entries", "gauge",
	    "Entries in the ledger by type.");
	for (i = LEDGER_ACCOUNT_CREATE; i <= LEDGER_TYPE_MAX; i++)
		evbuffer_add_printf(b, "keybridge_ledger_entries{type="
			    "\"%s\"} %llu\n", ledger_entry_type_name(
			    (enum ledger_entry_type)i),
			    (unsigned long long)c.by_type[i]);
	metrics_head(b, "keybridge_keys", "gauge",
	    "Registered keys by status.");
	evbuffer_add_printf(b, "keybridge_keys{status=\"active\"} %llu\n"
	    "keybridge_keys{status=\"revoked\"} %llu\n",
	    (unsigned long long)c.keys_active,
	    (unsigned long long)c.keys_revoked);
	metrics_head(b, "keybridge_certificates", "gauge",
	    "Recorded certificates by status.");
	evbuffer_add_printf(b, "keybridge_certificates{status=\"good\"} %llu\n"
	    "keybridge_certificates{status=\"revoked\"} %llu\n",
	    (unsigned long long)c.certs_good,
	    (unsigned long long)c.certs_revoked);
	metrics_head(b, "keybridge_checkpoint_age_seconds", "gauge",
	    "Seconds since the latest checkpoint's block time.");
	evbuffer_add_printf(b, "keybridge_checkpoint_age_seconds %lld\n",
	    c.last_block_time > 0 ? (long long)(now - c.last_block_time) : 0);
}

/* The key process, as the network process sees it: whether it answers,
 * and the requests it refused, per operation (each refusal is also
 * logged with the failed check). */
static void
metrics_keyproc(struct metrics *m, struct evbuffer *b)
{
	if (m->src.signer == NULL)
		return;
	metrics_one(b, "keybridge_keyproc_up", "gauge",
	    "1 while the key process answers, 0 once it is gone.",
	    (uint64_t)signer_available(m->src.signer));
	metrics_head(b, "keybridge_keyproc_refusals_total", "counter",
	    "Requests the key process refused, by operation.");
	for (int op = KEYPROC_OP_SIGN_ENTRY; op < KEYPROC_OP_MAX; op++)
		evbuffer_add_printf(b, "keybridge_keyproc_refusals_total{op="
		    "\"%s\"} %llu\n", signer_op_name(op),
		    (unsigned long long)signer_refusals(m->src.signer, op));
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void
metrics_label(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0' && o + 3 < outlen; in++) {
		if (*in == '\\' || *in == '"' || *in == '\n')
			out[o++] = '\\';
		out[o++] = *in == '\n' ? 'n' : *in;
	}
	out[o] = '\0';
}

/* One gauge or counter per validator: its HELP and TYPE, then a sample
 * for each of peers[0..n) from value(). */
static void
metrics_per_peer(struct evbuffer *b, const char *name, const char *type,
    const char *help, const struct bval_peer_status *peers, size_t n,
    char (*lab)[2 * LEDGER_NAME_MAX + 2],
    double (*value)(const struct bval_peer_status *))
{
	metrics_head(b, name, type, help);
	for (size_t i = 0; i < n; i++)
		evbuffer_add_printf(b, "%s{validator=\"%s\"} %.9g\n", name,
		    lab[i], value(&peers[i]));
}

static double pv_up(const struct bval_peer_status *p) { return p->up; }
static double pv_size(const struct bval_peer_status *p)
{ return (double)p->cosigned_size; }
static double pv_lag(const struct bval_peer_status *p)
{ return (double)p->lag; }
static double pv_latency(const struct bval_peer_status *p)
{ return p->latency_ms / 1e3; }
static double pv_accepted(const struct bval_peer_status *p)
{ return (double)p->accepted; }
static double pv_refused(const struct bval_peer_status *p)
{ return (double)p->refused; }
static double pv_unreachable(const struct bval_peer_status *p)
{ return (double)p->unreachable; }

/* The validators consensus (issue 14): each validator's health and what
 * the bridge discarded of its answers, and the time to finality.  Solo:
 * the quorum is 0 and there is no validator line. */
static void
metrics_validators(struct metrics *m, struct evbuffer *b)
{
	struct bval_peer_status *peers = NULL;
	char (*lab)[2 * LEDGER_NAME_MAX + 2] = NULL;
	struct bval_stats st;
	size_t n = 0, i;
	int v;

	bval_stats(m->src.validators, &st);
	metrics_one(b, "keybridge_validators_quorum", "gauge",
	    "Cosignatures that make a checkpoint final (0: solo).", st.quorum);
	if (m->src.validators == NULL || st.npeers == 0)
		return;
	if ((peers = calloc(st.npeers, sizeof(*peers))) == NULL ||
	    (lab = calloc(st.npeers, sizeof(*lab))) == NULL)
		goto out;
	n = bval_peers(m->src.validators, peers, st.npeers);
	for (i = 0; i < n; i++)
		metrics_label(peers[i].name, lab[i], sizeof(lab[i]));
	metrics_one(b, "keybridge_ledger_final_size", "gauge",
	    "Entries under the latest final checkpoint.", st.final_size);
	metrics_per_peer(b, "keybridge_validator_up", "gauge", "1 when the "
	    "validator's last exchange got an answer.", peers, n, lab, pv_up);
	metrics_per_peer(b, "keybridge_validator_cosigned_size", "gauge",
	    "Tree size of the last checkpoint the validator cosigned.", peers,
	    n, lab, pv_size);
	metrics_per_peer(b, "keybridge_validator_lag", "gauge", "Entries the "
	    "validator is behind the ledger.", peers, n, lab, pv_lag);
	metrics_per_peer(b, "keybridge_validator_latency_seconds", "gauge",
	    "Round trip of the validator's last answer.", peers, n, lab,
	    pv_latency);
	metrics_per_peer(b, "keybridge_validator_cosignatures_total",
	    "counter", "Cosignatures of the validator counted toward a "
	    "quorum.", peers, n, lab, pv_accepted);
	metrics_per_peer(b, "keybridge_validator_refusals_total", "counter",
	    "Answers in which the validator refused to cosign.", peers, n, lab,
	    pv_refused);
	metrics_per_peer(b, "keybridge_validator_unreachable_total",
	    "counter", "Requests the validator did not answer (connect, "
	    "timeout).", peers, n, lab, pv_unreachable);
	metrics_head(b, "keybridge_validator_cosignatures_discarded_total",
	    "counter", "Cosignatures in 200 answers that did not count, by "
	    "reason (ledger/cosign.h verdict).");
	for (i = 0; i < n; i++)
		for (v = LEDGER_COSIGN_VALID + 1; v < LEDGER_COSIGN_VERDICTS;
		    v++)
			evbuffer_add_printf(b, "keybridge_validator_cosignatures_"
			    "discarded_total{validator=\"%s\",reason=\"%s\"} "
			    "%llu\n", lab[i], ledger_cosign_verdict_name(
			    (enum ledger_cosign_verdict)v),
			    (unsigned long long)peers[i].discarded[v]);
	metrics_one(b, "keybridge_seals_total", "counter", "Blocks sent to "
	    "the validators for a quorum.", st.seals);
	metrics_one(b, "keybridge_seals_without_quorum_total", "counter",
	    "Blocks that found no quorum in time (their writes got 503).",
	    st.seal_failures);
	/* gauges, not a summary: the consensus keeps the last seals'
	 * times, not their sum since start */
	metrics_head(b, "keybridge_finality_p50_seconds", "gauge", "Median "
	    "time from a block's seal to its quorum, over the last seals.");
	evbuffer_add_printf(b, "keybridge_finality_p50_seconds %.9g\n",
	    st.finality_p50_ms / 1e3);
	metrics_head(b, "keybridge_finality_p99_seconds", "gauge", "99th "
	    "percentile of the time from a block's seal to its quorum, over "
	    "the last seals.");
	evbuffer_add_printf(b, "keybridge_finality_p99_seconds %.9g\n",
	    st.finality_p99_ms / 1e3);
out:
	free(peers);
	free(lab);
}

/* See bridge.h. */
void
metrics_handle(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	struct evbuffer *b = evhttp_request_get_output_buffer(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	time_t now = time(NULL);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET");
		server_reply_error(req, 405, "method_not_allowed",
		    "use GET on /metrics");
		return;
	}
	metrics_head(b, "keybridge_build_info", "gauge",
	    "The running version (always 1).");
	evbuffer_add_printf(b, "keybridge_build_info{version=\"%s\"} 1\n",
	    KEYBRIDGE_VERSION);
	metrics_head(b, "keybridge_start_time_seconds", "gauge",
	    "When this process started, seconds since 1970.");
	evbuffer_add_printf(b, "keybridge_start_time_seconds %lld\n",
	    (long long)m->src.started);
	metrics_http(m, b);
	metrics_ocsp(m, b);
	metrics_ledger(m, b, now);
	metrics_keyproc(m, b);
	metrics_validators(m, b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", METRICS_CTYPE);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", NULL);
}
