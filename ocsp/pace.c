/*
 * pace.c: the pace of background re-signing, and its queue (issue 18,
 * docs/design.md "Re-signing at a pace").
 *
 * Every stored answer is re-signed once half its validity has passed.
 * Answers signed together (a first start, a restart after downtime) fall
 * due together, half a validity later, and again every half validity:
 * at a million certificates with the default hour, 2,000,000 answers
 * every 30 minutes.  Signed as fast as the worker and the key process
 * go (about 10,000 a second on this 2-core machine), such a wave takes
 * both cores for three to four minutes, and the event loop answering
 * OCSP waits for a core: random-serial GETs at 1M fell from 37,000 to
 * 3,000-14,000 a second with a p99 of 81-657 ms during one
 * (docs/benchmarks.md "OCSP p99 at a million").  Nothing needs that
 * speed: a due answer stays valid for the other half of its validity.
 *
 * So an answer that is due but not urgent (more than a quarter of its
 * validity left) is signed at most at cfg.resign_rate answers a second,
 * from a token bucket refilled by the monotonic clock; an urgent one
 * (a quarter or less left), a refresh (a revocation, an answer missing)
 * and everything with resign_rate 0 go at once, as before.  The wave is
 * spread over the quarter of the validity before the first of its
 * answers turns urgent, the rest of it going at full speed: never later
 * than before.
 *
 * An answer already expired goes at the pace too (ocspr_pace_urgent):
 * after a downtime longer than the validity, the stored answers are
 * re-signed soonest-expired first at cfg.resign_rate, a batch of the
 * store at a time (ocspr_due), while a request for any of them is signed
 * on demand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "ocsp/ocsp_int.h"

static double
ocspr_pace_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * See ocsp_int.h.  An answer already expired is not urgent: there is no
 * deadline left to meet.  After a downtime longer than the validity
 * every stored answer is expired (2M at a million certificates); signed
 * at once they took both cores and, queued all together, the memory
 * (issue 18).  Each stays answerable meanwhile: a request for one finds
 * no fresh answer and is signed on demand, at once (routes.c,
 * ocspr_live), like any cold miss.
 */
int
ocspr_pace_urgent(const struct ocspr *r, time_t next_update, time_t now)
{
	return r->cfg.resign_rate <= 0 || (next_update > now &&
	    next_update - now <= r->cfg.validity / OCSPR_PACE_URGENT_DIV);
}

/* See ocsp_int.h. */
int
ocspr_pace_take(struct ocspr *r)
{
	double now = ocspr_pace_now(), burst, wait;
	struct timeval tv;

	burst = (double)r->cfg.resign_rate * OCSPR_PACE_BURST_MS / 1000.0;
	if (burst < OCSPR_NMD)
		burst = OCSPR_NMD;
	if (r->pace_at == 0 || now < r->pace_at)
		r->pace_tokens = burst;		/* first use */
	else
		r->pace_tokens += (now - r->pace_at) *
		    (double)r->cfg.resign_rate;
	if (r->pace_tokens > burst)
		r->pace_tokens = burst;
	r->pace_at = now;
	if (r->pace_tokens >= OCSPR_NMD) {
		r->pace_tokens -= OCSPR_NMD;
		return 1;
	}
	/* Out of tokens: the feed is woken when one job's worth is back
	 * (the store's flush and finished jobs wake it too). */
	if (r->pace != NULL && !evtimer_pending(r->pace, NULL)) {
		wait = (OCSPR_NMD - r->pace_tokens) /
		    (double)r->cfg.resign_rate;
		tv.tv_sec = (time_t)wait;
		tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec) * 1e6) +
		    1;
		evtimer_add(r->pace, &tv);
	}
	return 0;
}

/* See ocsp_int.h. */
void
ocspr_pend(struct ocspr *r, int issuer, const char *serial,
    time_t next_update)
{
	struct ocspr_pend *p = calloc(1, sizeof(*p));
	int paced = next_update != 0 && !ocspr_pace_urgent(r, next_update,
	    time(NULL));

	if (p == NULL)
		return;
	p->issuer = issuer;
	p->paced = paced;
	p->next_update = next_update;
	snprintf(p->serial, sizeof(p->serial), "%s", serial);
	if (paced) {
		TAILQ_INSERT_TAIL(&r->paced, p, link);
		r->npaced++;
	} else
		TAILQ_INSERT_TAIL(&r->pending, p, link);
	r->npending++;
}

/* See ocsp_int.h. */
struct ocspr_pend *
ocspr_pend_next(struct ocspr *r)
{
	struct ocspr_pend *p;

	if ((p = TAILQ_FIRST(&r->pending)) != NULL)
		TAILQ_REMOVE(&r->pending, p, link);
	else if ((p = TAILQ_FIRST(&r->paced)) != NULL) {
		if (!ocspr_pace_urgent(r, p->next_update, time(NULL)) &&
		    !ocspr_pace_take(r))
			return NULL;
		TAILQ_REMOVE(&r->paced, p, link);
		r->npaced--;
	}
	if (p != NULL)
		r->npending--;
	return p;
}
