/*
 * validators.c: the validators consensus (issue 14), the bridge's side.
 *
 * seal() runs on the ledger writer's thread (writer.c commit_seal), with
 * the block already committed.  It asks the key process for the node's
 * checkpoint signature (as solo does), then sends the block to every
 * configured validator at once over a private event_base of its own (one
 * evhttp_connection per peer), and runs that base, on this thread, until a
 * quorum has cosigned (vgather) or wait_ms has passed.  The event loop of
 * serve.c never waits for a validator.
 *
 * Each peer has at most one request out.  A request carries the entries
 * from the size the peer last cosigned (validator/core.h's format); a 409
 * with a size makes it start again from that size (a validator restarted
 * from its own state, or one that was down), at most BVAL_RESENDS_MAX
 * times per block.  A peer that does not answer in time keeps its request
 * out: its answer is taken at the next seal (its cosigned size and lag
 * stay current, and it is then sent the newest block), so a slow or dead
 * validator never holds the writer past wait_ms.
 *
 * Catch-up (bval_chunk): a validator more than chunk_max (4096) entries
 * behind is sent a step instead: the entries up to the last stored block
 * at most chunk_max further, with that block's stored checkpoint note and
 * the consistency proof between the two past sizes; its 200 sends the
 * next step at once while the seal waits (else at the next seal); a step
 * refused is not sent again in the same seal.
 *
 * Idle catch-up (bval_idle): while the ledger is idle, a peer known to
 * lag the last final block is sent that block, with its stored note, as
 * a step of its own (not gathered): a peer busy with an older block when
 * the last seals started would otherwise wait for the next block.
 *
 * Example, four validators, quorum 3, v4 killed:
 *   seal(size 120): v1..v3 answer 200 within ~2 ms: final, returns the
 *   note with 3 cosignatures; v4's connection is refused: unreachable.
 *   v4 restarted with its state at 100: at the next block (size 130) it
 *   is sent entries from 100 (its last known size), cosigns 130.
 *   v4 down for 9,000 entries, at 100: steps to the blocks ending at (or
 *   just below) 4196 and 8292, then the block being sealed.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "bridge/validators.h"
#include "validator/core.h"
#include "bridge/validators_int.h"


static double
bval_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- the entries a validator replays ---------------------------------- */

static void
bval_cache_clear(struct bval *v)
{
	for (size_t i = 0; i < v->ecount; i++)
		free(v->etext[i]);
	free(v->etext);
	free(v->elen);
	v->etext = NULL;
	v->elen = NULL;
	v->ecount = 0;
}

struct bval_load {
	struct bval *v;
	uint64_t next;
	int bad;
};

static int
bval_load_one(const struct ledger_entry_info *e, void *arg)
{
	struct bval_load *ld = arg;
	struct bval *v = ld->v;
	size_t k = v->ecount;

	if (e->index != ld->next || (v->etext[k] = malloc(e->len + 1)) ==
	    NULL) {
		ld->bad = 1;
		return 1;
	}
	memcpy(v->etext[k], e->text, e->len);
	v->etext[k][e->len] = '\0';
	v->elen[k] = e->len;
	v->ecount++;
	ld->next++;
	return 0;
}

/* Makes the cache hold entries [from, to) (to - from <=
 * VCORE_ENTRIES_MAX), reading from the store what it lacks: usually the
 * new block only, appended.  0 or -1. */
static int
bval_entries(struct bval *v, uint64_t from, uint64_t to)
{
	struct bval_load ld;
	void *a, *b;

	if (v->ecount > 0 && from >= v->efrom && to <= v->efrom + v->ecount)
		return 0;
	if (v->ecount == 0 || from < v->efrom ||
	    from > v->efrom + v->ecount ||
	    to - v->efrom > BVAL_CACHE_MAX) {
		bval_cache_clear(v);
		v->efrom = from;
	}
	a = realloc(v->etext, (size_t)(to - v->efrom) * sizeof(*v->etext));
	if (a != NULL)
		v->etext = a;
	b = realloc(v->elen, (size_t)(to - v->efrom) * sizeof(*v->elen));
	if (b != NULL)
		v->elen = b;
	if (a == NULL || b == NULL)
		return -1;
	memset(&ld, 0, sizeof(ld));
	ld.v = v;
	ld.next = v->efrom + v->ecount;
	while (ld.next < to && !ld.bad) {
		uint64_t before = ld.next;

		if (ledger_reader_entries(v->rd, ld.next, (size_t)(to -
		    ld.next), bval_load_one, &ld) != 0 || ld.next == before)
			ld.bad = 1;
	}
	return ld.bad ? -1 : 0;
}

/* ---- one peer ----------------------------------------------------------- */

static void bval_answer(struct evhttp_request *req, void *arg);

/* The idle step's pace for p: after progress, at once; else a wait of
 * BVAL_IDLE_RETRY_MIN_MS, doubled each time up to BVAL_IDLE_RETRY_MAX_MS
 * (a peer down or refusing is not asked every LEDGER_IDLE_MS). */
static void
bval_idle_backoff(struct bval_peer *p, int progress)
{
	long ms;

	if (progress) {
		p->idle_backoff_ms = 0;
		memset(&p->idle_next, 0, sizeof(p->idle_next));
		return;
	}
	ms = p->idle_backoff_ms == 0 ? BVAL_IDLE_RETRY_MIN_MS :
	    p->idle_backoff_ms * 2;
	p->idle_backoff_ms = ms < BVAL_IDLE_RETRY_MAX_MS ? ms :
	    BVAL_IDLE_RETRY_MAX_MS;
	clock_gettime(CLOCK_MONOTONIC, &p->idle_next);
	p->idle_next.tv_sec += p->idle_backoff_ms / 1000;
	p->idle_next.tv_nsec += (p->idle_backoff_ms % 1000) * 1000000L;
	if (p->idle_next.tv_nsec >= 1000000000L) {
		p->idle_next.tv_sec++;
		p->idle_next.tv_nsec -= 1000000000L;
	}
}

/* Under nothing: records a refusal (or a reason it was not asked). */
static void
bval_refusal(struct bval_peer *p, const char *why)
{
	pthread_mutex_lock(&p->v->mu);
	snprintf(p->st.last_refusal, sizeof(p->st.last_refusal), "%s", why);
	p->st.last_refusal_at = time(NULL);
	p->st.refused++;
	pthread_mutex_unlock(&p->v->mu);
}

/*
 * Catch-up: a validator more than chunk_max entries behind is walked
 * forward through the stored blocks, each step to the last block that
 * ends at most chunk_max (or, when no block ends that close, at most
 * VCORE_ENTRIES_MAX) entries past its size, with that block's stored
 * checkpoint note (node-signed, with its cosignatures).  Sets *to and
 * v->chunk_note.  0, 1 when the peer is within VCORE_ENTRIES_MAX of the
 * block being sealed (send it that), -1 with why.
 */
static int
bval_chunk(struct bval *v, uint64_t from, uint64_t *to, char *why,
    size_t whylen)
{
	uint64_t size = 0, bound = from + v->chunk_max;
	int rc;

	rc = ledger_reader_block_upto(v->rd, from, bound, &size,
	    v->chunk_note, sizeof(v->chunk_note));
	if (rc == 1 && v->sl->size - from <= VCORE_ENTRIES_MAX)
		return 1;
	if (rc == 1 && v->chunk_max < VCORE_ENTRIES_MAX)
		rc = ledger_reader_block_upto(v->rd, from, from +
		    VCORE_ENTRIES_MAX, &size, v->chunk_note,
		    sizeof(v->chunk_note));
	if (rc != 0 || size <= from || size >= v->sl->size) {
		snprintf(why, whylen, "%" PRIu64 " entries behind, and %s",
		    v->sl->size - from, rc < 0 ? "the stored blocks cannot "
		    "be read" : "no signed stored block ends within 4096 "
		    "entries of its size");
		return -1;
	}
	*to = size;
	return 0;
}

/*
 * Builds peer p's request for the block being sealed: from the size it
 * last cosigned (or, not known yet, the last block sealed), its entries
 * (a validator) and the consistency proof; for a validator far behind,
 * the next catch-up step instead (bval_chunk; *to is then that step's
 * size, p->out_chunk set).  Returns its length in *buf (malloc'd), or -1
 * with why.
 */
static int
bval_request(struct bval *v, struct bval_peer *p, char **buf, uint64_t *to,
    char *why, size_t whylen)
{
	const struct ledger_seal *sl = v->sl;
	uint8_t proof[VCORE_PROOF_LINES_MAX][LEDGER_HASH_LEN];
	uint8_t root_m[LEDGER_HASH_LEN];
	struct vcore_entry *es = NULL;
	size_t nproof = 0, n = 0, cap = BVAL_REQ_SLACK;
	uint64_t from = p->known ? p->cosigned : v->prev_size;
	const char *note = v->sl_note;
	int len = -1, rc;

	*buf = NULL;
	*to = sl->size;
	p->out_chunk = 0;
	if (from > sl->size) {
		snprintf(why, whylen, "it cosigned size %" PRIu64 ", beyond "
		    "the log's %" PRIu64, from, sl->size);
		return -1;
	}
	/* Not known and far behind, or down and needing a catch-up step:
	 * ask without entries (no step read while it is down); its 409
	 * says where it is, and the step follows. */
	if (!p->st.witness && ((!p->known && sl->size - from >
	    VCORE_ENTRIES_MAX) || (!p->st.up && sl->size - from >
	    v->chunk_max)))
		from = sl->size;
	if (!p->st.witness && sl->size - from > v->chunk_max) {
		if ((rc = bval_chunk(v, from, to, why, whylen)) < 0)
			return -1;
		if (rc == 0) {
			p->out_chunk = 1;
			note = v->chunk_note;
		}
	}
	if (from > 0 && from < *to && (*to == sl->size ?
	    sl->consistency(sl, from, root_m, proof, &nproof) :
	    sl->consistency_between == NULL ? -1 :
	    sl->consistency_between(sl, from, *to, root_m, proof,
	    &nproof)) != 0) {
		snprintf(why, whylen, "no consistency proof from %" PRIu64
		    " to %" PRIu64, from, *to);
		return -1;
	}
	if (!p->st.witness && from < *to) {
		n = (size_t)(*to - from);
		if (bval_entries(v, from, *to) != 0 ||
		    (es = calloc(n, sizeof(*es))) == NULL) {
			snprintf(why, whylen, "cannot read entries %" PRIu64
			    "..%" PRIu64 " of the ledger", from, *to);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			es[i].text = v->etext[from - v->efrom + i];
			es[i].len = v->elen[from - v->efrom + i];
			cap += es[i].len + 32;
		}
	}
	if ((*buf = malloc(cap)) == NULL ||
	    (len = vcore_request_format(from, (const uint8_t (*)[
	    LEDGER_HASH_LEN])proof, nproof, es, n, note, *buf, cap)) < 0) {
		snprintf(why, whylen, "cannot format the request");
		free(*buf);
		*buf = NULL;
		len = -1;
	}
	free(es);
	return len;
}

/* Sends the block being sealed to p.  0, or -1 (p is not asked). */
static int
bval_send(struct bval *v, struct bval_peer *p)
{
	struct evhttp_request *req = NULL;
	struct evkeyvalq *h;
	char *buf = NULL, why[BVAL_REASON_MAX], path[BVAL_PATH_MAX];
	struct timespec t0;
	uint64_t to;
	int len;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((len = bval_request(v, p, &buf, &to, why, sizeof(why))) < 0) {
		bval_refusal(p, why);
		p->want = 0;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", p->prefix, p->st.witness ?
	    "add-checkpoint" : "add-block");
	if ((req = evhttp_request_new(bval_answer, p)) == NULL)
		goto fail;
	h = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(h, "Host", p->host) != 0 ||
	    evhttp_add_header(h, "Content-Type", "text/plain") != 0 ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), buf,
	    (size_t)len) != 0)
		goto fail;
	if (p->out_chunk)
		log_debug("validators: %s catching up: entries %" PRIu64 "..%"
		    PRIu64 " of %" PRIu64 " (%.1f ms to read and format)",
		    p->st.name, p->known ? p->cosigned : v->prev_size, to,
		    v->sl->size, bval_ms_since(&t0));
	p->out_seal = v->idling ? BVAL_SEAL_IDLE : v->seal_id;
	p->out_idle = v->idling;
	p->out_size = to;
	clock_gettime(CLOCK_MONOTONIC, &p->out_at);
	p->inflight = 1;
	/* evhttp_make_request owns req from here, even when it fails */
	if (evhttp_make_request(p->conn, req, EVHTTP_REQ_POST, path) != 0) {
		p->inflight = 0;
		req = NULL;
		goto fail;
	}
	free(buf);
	return 0;
fail:
	if (req != NULL)
		evhttp_request_free(req);
	free(buf);
	p->want = 0;
	bval_refusal(p, "cannot send the request");
	return -1;
}

/* "<size>\n": the size a 409 names.  0, or -1 when it is another 409
 * (an equivocation). */
static int
bval_size_answer(const char *body, uint64_t *size)
{
	char *end;

	if (body[0] < '0' || body[0] > '9')
		return -1;
	errno = 0;
	*size = strtoull(body, &end, 10);
	return errno == 0 && (*end == '\n' || *end == '\0') ? 0 : -1;
}


/* Takes p's answer into gatherer g: counted as accepted or discarded by
 * reason (p's status and /metrics), and a 200 that did not count is p's
 * last refusal.  The verdict. */
static enum vgather_verdict
bval_gather(struct bval *v, struct bval_peer *p, struct vgather *g,
    int status, const char *body, size_t len)
{
	struct vgather_counts before = g->counts;
	char why[BVAL_REASON_MAX];
	enum vgather_verdict r;

	r = vgather_answer(g, p->idx, status, body, len, why, sizeof(why));
	pthread_mutex_lock(&v->mu);
	p->st.accepted += g->counts.accepted - before.accepted;
	for (size_t i = 0; i < LEDGER_COSIGN_VERDICTS; i++)
		p->st.discarded[i] += g->counts.discarded[i] -
		    before.discarded[i];
	pthread_mutex_unlock(&v->mu);
	if (status == 200 && g->counts.accepted == before.accepted)
		bval_refusal(p, why);	/* a 200 that did not count */
	return r;
}
/* Peer p's answer (req NULL or status 0: no answer).  Updates its status;
 * when it answers the block being sealed, gathers it (a 409 with a size:
 * sent again from there); an answer to an older block, or a catch-up
 * step cosigned, lets p be sent the current one (or its next step) now;
 * a catch-up step refused is not sent again for this block. */
static void
bval_answer(struct evhttp_request *req, void *arg)
{
	struct bval_peer *p = arg;
	struct bval *v = p->v;
	struct evbuffer *in;
	char body[VCORE_ANSWER_MAX], why[BVAL_REASON_MAX], *nl;
	int status = req != NULL ? evhttp_request_get_response_code(req) : 0;
	/* same: the seal in progress asked it (resends and `want`);
	 * current: and for its checkpoint, not a catch-up step; g: the
	 * gatherer of the seal it answers, the current one or the one
	 * before, kept until the next seal (an answer after the quorum, or
	 * during the next seal, is counted too) */
	int same = v->sl != NULL && !p->out_idle && p->out_seal ==
	    v->seal_id, was_up;
	int current = same && !p->out_chunk;
	struct vgather *g = p->out_chunk ? NULL : p->out_idle ?
	    (v->have_idle && v->gidle.size == p->out_size ? &v->gidle :
	    NULL) : !v->gathering ? NULL :
	    p->out_seal == v->seal_id ? &v->g :
	    v->have_prev && p->out_seal == v->prev_id ? &v->gprev : NULL;
	int counted = 0;
	size_t len = 0;
	ev_ssize_t got;
	uint64_t size, was = p->cosigned;

	p->inflight = 0;
	body[0] = '\0';
	if (status != 0 && (in = evhttp_request_get_input_buffer(req)) !=
	    NULL) {
		got = evbuffer_copyout(in, body, sizeof(body) - 1);
		len = got > 0 ? (size_t)got : 0;
		body[len] = '\0';
	}
	pthread_mutex_lock(&v->mu);
	was_up = p->st.up;
	p->st.up = status != 0;
	if (status == 0)
		p->st.unreachable++;
	else
		p->st.latency_ms = bval_ms_since(&p->out_at);
	pthread_mutex_unlock(&v->mu);
	/* A kept-alive connection the peer closed while we were not
	 * looking (it restarted between two blocks) fails at once: one
	 * new connection.  A peer that was down already is not retried. */
	if (status == 0 && was_up && same && p->want &&
	    p->resends++ < BVAL_RESENDS_MAX) {
		(void)bval_send(v, p);
		goto status;
	}
	/* An idle answer moves the peer only when its cosignature verifies
	 * over the block sent (a liar's 200 is counted as discarded, as in
	 * a seal, and leaves it behind). */
	if (status == 200 && p->out_idle && g != NULL) {
		counted = 1;
		if (bval_gather(v, p, g, status, body, len) !=
		    VGATHER_ACCEPTED) {
			p->idle_lied = 1;
			goto status;
		}
	}
	if (status == 200) {
		if (p->out_idle)
			log_info("validators: %s caught up to %" PRIu64 " while "
			    "idle%s", p->st.name, p->out_size, p->out_chunk ?
			    " (a catch-up step)" : "");
		else if (p->out_chunk)
			log_info("validators: %s caught up to %" PRIu64 " (a "
			    "step of at most %zu entries)", p->st.name,
			    p->out_size, v->chunk_max);
		p->known = 1;
		p->cosigned = p->out_size;
	} else if (status == 409 && bval_size_answer(body, &size) == 0) {
		p->known = 1;
		p->cosigned = size;
		if (same && p->want && p->resends++ < BVAL_RESENDS_MAX) {
			(void)bval_send(v, p);
			goto status;
		}
	} else if (status != 0) {
		if ((nl = strchr(body, '\n')) != NULL)
			*nl = '\0';
		snprintf(why, sizeof(why), "%d %s", status, body);
		bval_refusal(p, why);
	}
	if (g != NULL && status != 0 && !counted)
		(void)bval_gather(v, p, g, status, body, len);
	if (current || (same && status != 200))
		p->want = 0;
	else if (p->want && v->sl != NULL)
		(void)bval_send(v, p);	/* it was busy with an older block */
status:
	/* an idle request that moved nothing waits before the next */
	if (p->out_idle || p->cosigned != was)
		bval_idle_backoff(p, status != 0 && p->cosigned != was);
	pthread_mutex_lock(&v->mu);
	p->st.cosigned_size = p->cosigned;
	pthread_mutex_unlock(&v->mu);
}

/* ---- seal --------------------------------------------------------------- */

void
bval_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct bval *v = arg;

	v->timed_out = 1;
	event_base_loopbreak(v->evb);
}

/* Under mu: one seal's outcome in the statistics. */
static void
bval_count(struct bval *v, const struct ledger_seal *sl, int final,
    double ms)
{
	v->stats.seals++;
	if (!final) {
		v->stats.seal_failures++;
		return;
	}
	v->stats.final_size = sl->size;
	v->lat[v->lat_next] = ms;
	v->lat_next = (v->lat_next + 1) % BVAL_LAT_N;
	if (v->nlat < BVAL_LAT_N)
		v->nlat++;
}

static int
bval_seal(struct ledger_consensus *c, const struct ledger_seal *sl,
    char *note, size_t notelen)
{
	struct bval *v = BVAL(c);
	struct timeval tv;
	struct timespec t0;
	char line[LEDGER_COSIGN_LINE_MAX + 64];
	int final = 0, n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the last seal's late answers, counted before its gatherer goes */
	(void)event_base_loop(v->evb, EVLOOP_NONBLOCK);
	if (v->node_sign(v->node_arg, sl, line, sizeof(line)) != 0)
		return -1;
	/* the last seal's gatherer stays for its answers still out */
	if (v->gathering) {
		v->gprev = v->g;
		v->prev_id = v->seal_id;
		v->have_prev = 1;
	}
	n = snprintf(v->note, sizeof(v->note), "%s\n%s", sl->body, line);
	if (n < 0 || (size_t)n >= sizeof(v->note) ||
	    vgather_init(&v->g, v->note, (size_t)n, v->policy, v->npeers,
	    v->quorum) != 0)
		return -1;
	v->seal_id++;
	v->gathering = 1;
	v->sl = sl;
	v->sl_note = v->note;
	v->timed_out = 0;
	/* the wait counts from before the requests are built (a catch-up
	 * step reads and formats up to 4096 entries) */
	tv.tv_sec = v->wait_ms / 1000;
	tv.tv_usec = (v->wait_ms % 1000) * 1000;
	if (evtimer_add(v->deadline, &tv) != 0)
		v->timed_out = 1;
	for (size_t i = 0; i < v->npeers; i++) {
		v->peers[i].want = 1;
		v->peers[i].idle_lied = 0;
		v->peers[i].resends = 0;
		if (!v->peers[i].inflight)
			(void)bval_send(v, &v->peers[i]);
	}
	while (!vgather_final(&v->g) && !v->timed_out)
		if (event_base_loop(v->evb, EVLOOP_ONCE) < 0)
			break;
	evtimer_del(v->deadline);
	/* The answers already here (the stragglers'): their status is
	 * current without waiting for them. */
	(void)event_base_loop(v->evb, EVLOOP_NONBLOCK);
	final = vgather_final(&v->g);
	if (final && vgather_note(&v->g, note, notelen) != 0)
		final = 0;
	v->sl = NULL;
	v->sl_note = NULL;
	if (final)
		v->prev_size = sl->size;
	pthread_mutex_lock(&v->mu);
	bval_count(v, sl, final, bval_ms_since(&t0));
	for (size_t i = 0; i < v->npeers; i++)
		v->peers[i].st.lag = sl->size > v->peers[i].cosigned ?
		    sl->size - v->peers[i].cosigned : 0;
	pthread_mutex_unlock(&v->mu);
	if (!final)
		log_warn("validators: block %" PRIu64 " (size %" PRIu64 "): "
		    "%zu of %zu cosignatures in %ld ms, quorum %zu: not final",
		    sl->height, sl->size, v->g.nhave, v->npeers, v->wait_ms,
		    v->quorum);
	return final ? 0 : -1;
}

/* Whether p is due an idle step's request for a block of size size. */
static int
bval_idle_due(const struct bval_peer *p, uint64_t size,
    const struct timespec *now)
{
	if (!p->known || p->inflight || p->cosigned >= size || p->idle_lied)
		return 0;
	return now->tv_sec > p->idle_next.tv_sec || (now->tv_sec ==
	    p->idle_next.tv_sec && now->tv_nsec >= p->idle_next.tv_nsec);
}

/*
 * The writer is idle: the answers that came after the last seal's
 * quorum (the stragglers', a liar's) are taken and counted now, so the
 * peers' status and the discard counts do not wait for the next block.
 * Then a peer known to lag the last final block is sent it (from its
 * size, or its next catch-up step) with the block's stored note: a peer
 * busy with an older block through the last seals (one request out per
 * peer), stopped, or down is otherwise sent nothing until the next
 * block, which an idle ledger may not make for hours.  Its answer is
 * taken at the next idle step (or seal); one that moved nothing makes
 * it wait (bval_idle_backoff).  A peer in step is sent nothing.  The
 * answer is checked as a seal's (gidle, the block sent): a cosignature
 * that does not verify is counted as discarded, does not move the peer,
 * and the peer is sent nothing more until the next seal (idle_lied).
 *
 * Example: v4 busy through the seals of 120 and 121, at 119; its 200
 * for 120 comes while idle; the next idle step sends it 121's entry with
 * 121's stored note; it cosigns 121: lag 0, no block made.
 */
static void
bval_idle(struct ledger_consensus *c, const struct ledger_seal *last)
{
	struct bval *v = BVAL(c);
	struct timespec now;
	int sent = 0;

	(void)event_base_loop(v->evb, EVLOOP_NONBLOCK);
	if (last == NULL || last->note == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* the answers to what is sent now are checked against this block */
	if (!v->have_idle || v->gidle.size != last->size)
		v->have_idle = vgather_init(&v->gidle, last->note,
		    strlen(last->note), v->policy, v->npeers, v->quorum) == 0;
	v->sl = last;
	v->sl_note = last->note;
	v->idling = 1;
	for (size_t i = 0; i < v->npeers; i++) {
		struct bval_peer *p = &v->peers[i];

		p->want = 0;	/* no seal: an answer sends nothing more */
		if (!bval_idle_due(p, last->size, &now))
			continue;
		if (bval_send(v, p) == 0)
			sent = 1;
		else
			bval_idle_backoff(p, 0);
	}
	v->idling = 0;
	v->sl = NULL;
	v->sl_note = NULL;
	if (sent)	/* the connections and writes under way */
		(void)event_base_loop(v->evb, EVLOOP_NONBLOCK);
	pthread_mutex_lock(&v->mu);
	for (size_t i = 0; i < v->npeers; i++)
		v->peers[i].st.lag = last->size > v->peers[i].cosigned ?
		    last->size - v->peers[i].cosigned : 0;
	pthread_mutex_unlock(&v->mu);
}

static time_t
bval_block_time(struct ledger_consensus *c, time_t last)
{
	time_t now = time(NULL);

	return now < last ? last : now;	/* ledger time never goes back */
}

static void
bval_describe(struct ledger_consensus *c, char *buf, size_t len)
{
	struct bval *v = BVAL(c);

	pthread_mutex_lock(&v->mu);
	snprintf(buf, len, "validators: %zu, quorum %zu, last final size "
	    "%" PRIu64, v->npeers, v->quorum, v->stats.final_size);
	pthread_mutex_unlock(&v->mu);
}

void
bval_free(struct ledger_consensus *c)
{
	struct bval *v = BVAL(c);

	if (v == NULL)
		return;
	for (size_t i = 0; v->peers != NULL && i < v->npeers; i++)
		if (v->peers[i].conn != NULL)
			evhttp_connection_free(v->peers[i].conn);
	free(v->peers);
	for (size_t i = 0; i < LEDGER_COSIGN_POLICY_MAX; i++)
		ledger_cosigner_clear(&v->policy[i]);
	if (v->deadline != NULL)
		event_free(v->deadline);
	if (v->evb != NULL)
		event_base_free(v->evb);
	bval_cache_clear(v);
	ledger_reader_close(v->rd);
	pthread_mutex_destroy(&v->mu);
	free(v);
}

const struct ledger_consensus_ops bval_ops = {
	.name = "validators",
	.block_time = bval_block_time,
	.seal = bval_seal,
	.describe = bval_describe,
	.idle = bval_idle,
	.free = bval_free,
};
