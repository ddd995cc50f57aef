/*
 * ocsp.c: the responder's state: its issuers, the pre-signed cache kept
 * fresh in the background, and the jobs that go through the worker.
 *
 * Freshness: a serial whose status may have changed (ocspr_refresh, from
 * bridge/ after every ledger commit that touches it) loses its cached
 * responses at once, so the next request reads the ledger; it is queued
 * to be signed again.  A pre-signing job read the status before it was
 * signed: when any refresh happened meanwhile (the epoch moved), the
 * status is read again before the result is cached, and a changed status
 * sends the serial back to the queue instead.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "common/log.h"
#include "ocsp/ocsp_int.h"

#define OCSPR_DEFAULT_LIVE_MAX 256

static void ocspr_work(struct ocspr_job **js, size_t n);
static void ocspr_done(struct ocspr_job *j);

/* See ocsp_int.h. */
struct ocspr_entry *
ocspr_entry_make(struct ocspr *r, int issuer, int md, const char *serial,
    unsigned char *der, size_t len, time_t this_update, time_t next_update)
{
	struct ocspr_entry *e = calloc(1, sizeof(*e));
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0, i;
	char *p;

	if (e == NULL) {
		OPENSSL_free(der);
		return NULL;
	}
	e->issuer = issuer;
	e->md = md;
	snprintf(e->serial, sizeof(e->serial), "%s", serial);
	e->der = der;
	e->len = len;
	e->refs = 1;
	e->this_update = this_update;
	e->next_update = next_update;
	ocspr_http_date(e->this_update, e->last_modified,
	    sizeof(e->last_modified));
	ocspr_http_date(e->next_update, e->expires, sizeof(e->expires));
	snprintf(e->cache_control, sizeof(e->cache_control), "max-age=%ld, "
	    "public, no-transform, must-revalidate", r->cfg.max_age);
	/* ETag: a strong validator of these exact bytes (RFC 9110 8.8.3). */
	EVP_Digest(der, len, h, &hl, EVP_sha256(), NULL);
	p = e->etag;
	*p++ = '"';
	for (i = 0; i < 16 && i < hl; i++, p += 2)
		snprintf(p, 3, "%02x", h[i]);
	*p++ = '"';
	*p = '\0';
	return e;
}

static struct ocspr_entry *
ocspr_entry_new(const struct ocspr_job *j, int md, unsigned char *der,
    size_t len)
{
	return ocspr_entry_make(j->r, j->issuer, md, j->serial, der, len,
	    j->now, j->now + j->r->cfg.validity);
}

/* Jobs per SIGN_OCSP request when pre-signing (two answers each). */
#define OCSPR_PRESIGN_SLICE 8

/* One slice of a pre-signing batch: jobs [lo, hi) and their answers
 * bs[(lo..hi) * OCSPR_NMD], built, then sent to be signed. */
struct ocspr_slice {
	size_t lo, hi;
	int sent;
};

/* Builds the unsigned answers of slice sl into bs.  0 or -1. */
static int
ocspr_slice_build(struct ocspr_job **js, const struct ocspr_slice *sl,
    OCSP_BASICRESP **bs)
{
	struct ocspr *r = js[0]->r;

	for (size_t i = sl->lo; i < sl->hi; i++) {
		js[i]->now = time(NULL);
		for (int md = 0; md < OCSPR_NMD; md++) {
			OCSP_CERTID *cid = ocspr_certid(r, js[i]->issuer, md,
			    js[i]->serial);
			size_t k = i * OCSPR_NMD + (size_t)md;

			if (cid != NULL)
				bs[k] = ocspr_basic_new(r, NULL, &cid,
				    &js[i]->st, 1, js[i]->now);
			OCSP_CERTID_free(cid);
			if (bs[k] == NULL)
				return -1;
		}
	}
	return 0;
}

/* Encodes the signed answers of slice sl into its jobs' entries. */
static void
ocspr_slice_done(struct ocspr_job **js, const struct ocspr_slice *sl,
    OCSP_BASICRESP **bs)
{
	unsigned char *der;
	size_t len;

	for (size_t i = sl->lo; i < sl->hi; i++)
		for (int md = 0; md < OCSPR_NMD; md++)
			if (ocspr_encode(bs[i * OCSPR_NMD + (size_t)md], &der,
			    &len) != 0 || (js[i]->out[md] = ocspr_entry_new(
			    js[i], md, der, len)) == NULL)
				js[i]->failed = 1;
}

static void
ocspr_slice_fail(struct ocspr_job **js, const struct ocspr_slice *sl)
{
	for (size_t i = sl->lo; i < sl->hi; i++)
		js[i]->failed = 1;
}

/* Signs slice sl's answers one by one (a signer without batches).  0 or
 * -1. */
static int
ocspr_slice_sign(struct ocspr *r, const struct ocspr_slice *sl,
    OCSP_BASICRESP **bs)
{
	OCSP_BASICRESP **b = bs + sl->lo * OCSPR_NMD;
	int n = (int)((sl->hi - sl->lo) * OCSPR_NMD);

	for (int i = 0; i < n; i++)
		if (r->cfg.ops.sign_ocsp(r->cfg.ops.arg, &b[i]) != 0)
			return -1;
	return 0;
}

/*
 * Worker thread: pre-signs the answers of js[0..n), both hashes each, in
 * slices of OCSPR_PRESIGN_SLICE jobs.  With a signer in another process
 * (sign_ocsp_send/recv) slice s+1 is built and sent before slice s's
 * signatures are read, so this thread and the key process work at the
 * same time.  A job whose answers could not be made is failed (and
 * pre-signed again later).
 */
static void
ocspr_presign(struct ocspr_job **js, size_t n)
{
	OCSP_BASICRESP *bs[OCSPR_PRESIGN_BATCH * OCSPR_NMD];
	/* A slice is of one issuer (each issuer's responder signs its own
	 * CertIDs only): at most one slice per job. */
	struct ocspr_slice sl[OCSPR_PRESIGN_BATCH];
	struct ocspr *r = js[0]->r;
	size_t ns = 0, s, lo;
	int pipe = r->cfg.ops.sign_ocsp_send != NULL &&
	    r->cfg.ops.sign_ocsp_recv != NULL, cnt;

	memset(bs, 0, sizeof(bs));
	for (lo = 0; lo < n && ns < OCSPR_PRESIGN_BATCH; ns++) {
		sl[ns].lo = lo;
		while (++lo < n && lo - sl[ns].lo < OCSPR_PRESIGN_SLICE &&
		    js[lo]->issuer == js[sl[ns].lo]->issuer)
			;
		sl[ns].hi = lo;
		sl[ns].sent = 0;
	}
	for (s = 0; s <= ns; s++) {
		if (s < ns) {
			cnt = (int)((sl[s].hi - sl[s].lo) * OCSPR_NMD);
			if (ocspr_slice_build(js, &sl[s], bs) != 0)
				ocspr_slice_fail(js, &sl[s]);
			else if (!pipe) {
				if (ocspr_slice_sign(r, &sl[s], bs) != 0)
					ocspr_slice_fail(js, &sl[s]);
				else
					ocspr_slice_done(js, &sl[s], bs);
			} else if (r->cfg.ops.sign_ocsp_send(r->cfg.ops.arg,
			    bs + sl[s].lo * OCSPR_NMD, cnt) != 0)
				ocspr_slice_fail(js, &sl[s]);
			else
				sl[s].sent = 1;
		}
		if (!pipe || s == 0 || !sl[s - 1].sent)
			continue;
		cnt = (int)((sl[s - 1].hi - sl[s - 1].lo) * OCSPR_NMD);
		if (r->cfg.ops.sign_ocsp_recv(r->cfg.ops.arg,
		    bs + sl[s - 1].lo * OCSPR_NMD, cnt) != 0)
			ocspr_slice_fail(js, &sl[s - 1]);
		else
			ocspr_slice_done(js, &sl[s - 1], bs);
	}
	for (size_t k = 0; k < n * OCSPR_NMD; k++)
		OCSP_BASICRESP_free(bs[k]);
	ERR_clear_error();
}

/* Worker thread: js[0..n) are one urgent job, or background
 * (pre-signing) jobs. */
static void
ocspr_work(struct ocspr_job **js, size_t n)
{
	struct ocspr_job *j = js[0];
	struct ocspr *r = j->r;
	OCSP_CERTID *cids[OCSPR_MAX_CERTIDS];
	int i;

	j->now = time(NULL);
	switch (j->kind) {
	case OCSPR_JOB_PRESIGN:
		ocspr_presign(js, n);
		break;
	case OCSPR_JOB_LIVE:
		for (i = 0; i < j->ncid; i++)
			cids[i] = OCSP_onereq_get0_id(OCSP_request_onereq_get0(
			    j->oreq, i));
		if (ocspr_build(r, j->oreq, cids, j->cid_st, j->ncid, j->now,
		    &j->der, &j->len) != 0)
			j->failed = 1;
		break;
	case OCSPR_JOB_CRL:
		if (ocspr_crl_build(r, j) != 0)
			j->failed = 1;
		break;
	}
	ERR_clear_error();
}

static void
ocspr_job_free(struct ocspr_job *j)
{
	if (j == NULL)
		return;
	for (int md = 0; md < OCSPR_NMD; md++)
		ocspr_entry_free(j->out[md]);
	OCSP_REQUEST_free(j->oreq);
	OPENSSL_free(j->der);
	free(j->revoked);
	free(j);
}

static int
ocspr_same_status(const struct ocspr_status *a, const struct ocspr_status *b)
{
	return a->state == b->state && (a->state != OCSPR_REVOKED ||
	    (a->revoked_at == b->revoked_at && a->reason == b->reason));
}

/* A live job's answer, on the thread of the loop its request came in on
 * (ocsp/loops.c): a request of another loop is not this thread's to
 * write. */
static void
ocspr_answer(struct ocspr_job *j, const unsigned char *der, size_t len)
{
	if (j->relay != NULL)
		ocspr_loop_reply(j->relay, j->req, der, len);
	else
		ocspr_reply_der(j->req, der, len, NULL, 0);
}

/* Loop thread: a job is finished (or failed at shutdown). */
static void
ocspr_done(struct ocspr_job *j)
{
	struct ocspr *r = j->r;
	struct ocspr_status now;

	switch (j->kind) {
	case OCSPR_JOB_PRESIGN:
		if (j->failed) {
			/* the next sweep queues it again */
			struct ocspr_entry *e = (struct ocspr_entry *)
			    ocspr_cache_get(r->cache, j->issuer, 0, j->serial);

			if (e != NULL)
				e->queued = 0;
			break;
		}
		if (j->epoch != r->epoch) {
			if (r->cfg.ops.status(r->cfg.ops.arg, j->issuer,
			    j->serial, &now) != 0)
				break;
			if (!ocspr_same_status(&now, &j->st)) {
				ocspr_pend(r, j->issuer, j->serial, 0);
				break;
			}
		}
		for (int md = 0; md < OCSPR_NMD; md++) {
			struct ocspr_entry *e = j->out[md];

			if (r->store != NULL) {
				if (ocspr_store_put(r->store,
				    r->issuers[j->issuer].id, md, j->serial,
				    &j->st, e->der, e->len, e->this_update,
				    e->next_update) != 0)
					r->stats.store_errors++;
				else
					r->stats.store_writes++;
			}
			/* Issue 18: with the store holding every answer, a
			 * bounded cache keeps the answers asked for; a
			 * background signature of another one (a re-signing
			 * wave: 2M answers at a million) would evict them. */
			if (r->store != NULL && r->cfg.cache_max > 0)
				ocspr_cache_replace(r->cache, e);
			else
				ocspr_cache_put(r->cache, e);
			j->out[md] = NULL;
		}
		r->stats.signatures += OCSPR_NMD;
		break;
	case OCSPR_JOB_LIVE:
		if (j->failed) {
			r->stats.try_later++;
			ocspr_answer(j, r->errder[OCSP_RESPONSE_STATUS_TRYLATER],
			    r->errlen[OCSP_RESPONSE_STATUS_TRYLATER]);
		} else {
			r->stats.signatures++;
			ocspr_answer(j, j->der, j->len);
		}
		j->req = NULL;
		break;
	case OCSPR_JOB_CRL:
		ocspr_crl_done(r->crls, j);
		break;
	}
	ocspr_job_free(j);
	if (r->worker != NULL)
		ocspr_feed(r);
}

/* The issuer index of issuer id id, or -1. */
static int
ocspr_issuer_index(struct ocspr *r, const char *id)
{
	for (int i = 0; i < r->nissuers; i++)
		if (strcmp(r->issuers[i].id, id) == 0)
			return i;
	return -1;
}

static void
ocspr_due_cb(const char *issuer, const char *serial, time_t next_update,
    void *arg)
{
	struct ocspr *r = arg;
	int i = ocspr_issuer_index(r, issuer);

	/* An issuer no longer served: its rows are never read nor signed
	 * again, and, kept expired, they would come first in every due
	 * batch: they go after the query (ocspr_due). */
	if (i < 0) {
		snprintf(r->due_gone, sizeof(r->due_gone), "%s", issuer);
		return;
	}
	ocspr_pend(r, i, serial, next_update);
	if (ocspr_pace_urgent(r, next_update, time(NULL)))
		r->due_urgent = 1;
}

/* With a store and nothing else to sign, at most once a second: the
 * stored answers past half their validity, soonest to expire first. */
static void
ocspr_due(struct ocspr *r, time_t now)
{
	int max;

	if (r->store == NULL || r->npending > 0 || now < r->due_next ||
	    ocspr_worker_load(r->worker, OCSPR_JOB_PRESIGN) > 0)
		return;
	r->due_next = now + 1;
	/* Paced (pace.c), two seconds' worth of rows is enough (the look
	 * comes once a second at most): each costs the query a lookup in
	 * the table (8,192 took 25-35 ms at 1M, on the loop).  Urgent rows
	 * come first (nextUpdate order): after a batch with one, the next
	 * is full-sized. */
	max = OCSPR_DUE_MAX;
	if (r->cfg.resign_rate > 0 && !r->due_urgent &&
	    r->cfg.resign_rate < OCSPR_DUE_MAX)
		max = r->cfg.resign_rate < OCSPR_DUE_MIN ? OCSPR_DUE_MIN :
		    (int)r->cfg.resign_rate;
	r->due_urgent = 0;
	/* Rows signed with a longer validity than today's are found later,
	 * at today's half-validity before their nextUpdate: still fresh. */
	r->due_gone[0] = '\0';
	if (ocspr_store_due(r->store, now, now + r->cfg.validity / 2,
	    max, ocspr_due_cb, r) < 0)
		r->stats.store_errors++;
	if (r->due_gone[0] != '\0' && ocspr_store_drop_issuer(r->store,
	    r->due_gone, OCSPR_STORE_GONE_MAX) != 0)
		r->stats.store_errors++;
}

/* See ocsp_int.h.  The status is read here, on the loop, just before the
 * job goes to the worker. */
void
ocspr_feed(struct ocspr *r)
{
	struct ocspr_pend *p;
	struct ocspr_job *j;
	time_t now = time(NULL);

	ocspr_due(r, now);
	while (ocspr_worker_load(r->worker, OCSPR_JOB_PRESIGN) <
	    OCSPR_FEED_MAX && (p = ocspr_pend_next(r)) != NULL) {
		if ((j = calloc(1, sizeof(*j))) == NULL) {
			free(p);
			break;
		}
		j->kind = OCSPR_JOB_PRESIGN;
		j->r = r;
		j->epoch = r->epoch;
		j->issuer = p->issuer;
		memcpy(j->serial, p->serial, sizeof(j->serial));
		free(p);
		/* Not issued (never cached), or expired for longer than a
		 * response lives: nothing to keep. */
		if (r->cfg.ops.status(r->cfg.ops.arg, j->issuer, j->serial,
		    &j->st) != 0 || j->st.state == OCSPR_NOT_ISSUED ||
		    j->st.not_after + r->cfg.validity < now) {
			ocspr_cache_drop(r->cache, j->issuer, j->serial);
			if (r->store != NULL)
				ocspr_store_drop(r->store,
				    r->issuers[j->issuer].id, j->serial);
			ocspr_job_free(j);
			continue;
		}
		ocspr_worker_push(r->worker, j);
	}
}

/* See ocsp.h. */
int
ocspr_refresh(struct ocspr *r, int issuer, const char *serial)
{
	if (issuer < 0 || issuer >= r->nissuers || serial == NULL ||
	    serial[0] == '\0' || strlen(serial) > OCSPR_SERIAL_MAX ||
	    strspn(serial, "0123456789abcdef") != strlen(serial))
		return -1;
	r->epoch++;
	ocspr_cache_drop(r->cache, issuer, serial);
	/* A revocation must never meet its good answer again, even after a
	 * restart: the stored one goes with the cached one. */
	if (r->store != NULL && ocspr_store_drop(r->store,
	    r->issuers[issuer].id, serial) != 0)
		r->stats.store_errors++;
	ocspr_pend(r, issuer, serial, 0);
	ocspr_feed(r);
	return 0;
}

/* Without a store: a cached answer past half its validity is queued, at
 * the pace of cfg.resign_rate while it is not urgent (pace.c), as the
 * store's due query queues them; OCSPR_SWEEP_PACED sweeps' worth of
 * paced serials at most, so that answers signed together (2M at a
 * million, every half validity) never sit in the queue all at once. */
static void
ocspr_stale_cb(struct ocspr_entry *e, void *arg)
{
	struct ocspr *r = arg;
	time_t now = time(NULL);
	double cap = (double)r->cfg.resign_rate * OCSPR_SWEEP_SEC *
	    OCSPR_SWEEP_PACED / OCSPR_NMD;
	size_t before = r->npending;

	if (!ocspr_pace_urgent(r, e->next_update, now) &&
	    (double)r->npaced >= cap)
		return;
	ocspr_pend(r, e->issuer, e->serial, e->next_update);
	e->queued = r->npending > before;
}

/* Every OCSPR_SWEEP_SEC: responses past half their validity are signed
 * again (RFC 5019 / docs/design.md). */
static void
ocspr_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct ocspr *r = arg;

	/* With a store every signed answer is in it: ocspr_due finds them. */
	if (r->store == NULL)
		ocspr_cache_stale(r->cache, time(NULL), ocspr_stale_cb, r);
	ocspr_feed(r);
}

/* The pace's timer (pace.c): tokens are back for a paced serial. */
static void
ocspr_pace_cb(evutil_socket_t fd, short what, void *arg)
{
	ocspr_feed(arg);
}

/* Every OCSPR_STORE_FLUSH_MS: the store's open transaction is committed,
 * and stored answers due for re-signing are looked for. */
static void
ocspr_flush(evutil_socket_t fd, short what, void *arg)
{
	struct ocspr *r = arg;

	if (ocspr_store_flush(r->store) != 0)
		r->stats.store_errors++;
	ocspr_feed(r);
}

/* See ocsp_int.h. */
const struct ocspr_entry *
ocspr_from_store(struct ocspr *r, int issuer, int md, const char *serial)
{
	struct ocspr_stored row;
	struct ocspr_status now;
	struct ocspr_entry *e;
	unsigned char *der;
	time_t t = time(NULL);
	int rc;

	if (r->store == NULL)
		return NULL;
	if ((rc = ocspr_store_get(r->store, r->issuers[issuer].id, md,
	    serial, t, &row)) <= 0) {
		if (rc < 0)
			r->stats.store_errors++;
		r->stats.store_misses++;
		return NULL;
	}
	/* Checked against the ledger on every read: a certificate revoked
	 * while the bridge was down (or by another node) has a good answer
	 * in the store that must never be served. */
	if (r->cfg.ops.status(r->cfg.ops.arg, issuer, serial, &now) != 0)
		return NULL;
	if (!ocspr_same_status(&now, &row.st)) {
		r->stats.store_stale++;
		ocspr_refresh(r, issuer, serial);
		return NULL;
	}
	if ((der = OPENSSL_memdup(row.der, row.len)) == NULL ||
	    (e = ocspr_entry_make(r, issuer, md, serial, der, row.len,
	    row.this_update, row.next_update)) == NULL ||
	    ocspr_cache_put(r->cache, e) != 0)
		return NULL;
	r->stats.store_hits++;
	return e;
}

/* See ocsp.h. */
int
ocspr_warm(struct ocspr *r, int issuer, const char *serial)
{
	struct ocspr_stored row;
	struct ocspr_status now;
	time_t t = time(NULL);
	int rc;

	if (issuer < 0 || issuer >= r->nissuers || serial == NULL ||
	    strlen(serial) > OCSPR_SERIAL_MAX)
		return -1;
	/* The status is not compared here: every read of the store does
	 * it (ocspr_from_store), the one guard a revocation made while the
	 * bridge was down has to pass.  With a pace, a stored answer still
	 * valid but due is left to the due query (ocspr_due), which signs
	 * it at that pace: a restart after downtime does not sign every
	 * due answer at once (pace.c). */
	if (r->store == NULL || (rc = ocspr_store_get(r->store,
	    r->issuers[issuer].id, 0, serial, t, &row)) < 0)
		return ocspr_refresh(r, issuer, serial);
	if (rc == 1 && (2 * t < row.this_update + row.next_update ||
	    !ocspr_pace_urgent(r, row.next_update, t)))
		return 0;
	/* Expired (a downtime longer than the validity): the row stays
	 * for the due query, which re-signs it at the pace, soonest first,
	 * a batch at a time, not a million at once (issue 18); a request
	 * meanwhile is signed on demand.  Unless its status changed while
	 * the bridge was down: a revocation goes at once, never paced. */
	if (rc == 0 && row.expired && r->cfg.resign_rate > 0 &&
	    r->cfg.ops.status(r->cfg.ops.arg, issuer, serial, &now) == 0 &&
	    ocspr_same_status(&now, &row.st))
		return 0;
	return ocspr_refresh(r, issuer, serial);
}

/* See ocsp.h. */
int
ocspr_has_store(const struct ocspr *r)
{
	return r->store != NULL;
}

/* See ocsp.h. */
struct ocspr *
ocspr_new(const struct ocspr_config *cfg, char *err, size_t errlen)
{
	struct ocspr *r = calloc(1, sizeof(*r));
	struct timeval tv = { OCSPR_SWEEP_SEC, 0 };
	struct timeval flush_tv = { 0, OCSPR_STORE_FLUSH_MS * 1000 };
	int i, md;

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->cfg = *cfg;
	TAILQ_INIT(&r->pending);
	TAILQ_INIT(&r->paced);
	if (cfg->nissuers < 1 || cfg->nissuers > OCSPR_MAX_ISSUERS ||
	    cfg->validity < 60 || cfg->max_age < 0 ||
	    cfg->crl_validity < 60 || cfg->ops.status == NULL ||
	    cfg->ops.revoked == NULL || cfg->ops.sign_ocsp == NULL ||
	    cfg->ops.sign_crl == NULL) {
		snprintf(err, errlen, "OCSP: bad configuration");
		goto fail;
	}
	if (r->cfg.live_max == 0)
		r->cfg.live_max = OCSPR_DEFAULT_LIVE_MAX;
	if (cfg->crl_partitions > 1) {
		char url[OCSPR_URL_MAX];

		for (i = 0; i < cfg->nissuers; i++)
			if (ocspr_crlurl_make(cfg->crl_urls[i],
			    cfg->crl_partitions, cfg->crl_partitions - 1, 1,
			    url, sizeof(url)) != 0) {
				snprintf(err, errlen, "OCSP: CRL partitions "
				    "need a power of two up to %d and every "
				    "issuer's CRL URL", OCSPR_CRL_PARTS_MAX);
				goto fail;
			}
	}
	for (i = 0; i < cfg->nissuers; i++) {
		struct ocspr_issuer *is = &r->issuers[i];

		is->cert = cfg->issuers[i];
		if (cfg->issuer_ids[i] == NULL ||
		    strlen(cfg->issuer_ids[i]) > OCSPR_ISSUER_ID_MAX) {
			snprintf(err, errlen, "OCSP: bad issuer id");
			goto fail;
		}
		strcpy(is->id, cfg->issuer_ids[i]);
		for (md = 0; md < OCSPR_NMD; md++)
			if ((is->cid[md] = OCSP_cert_to_id(md == 0 ?
			    EVP_sha1() : EVP_sha256(), NULL, is->cert)) ==
			    NULL) {
				snprintf(err, errlen, "OCSP: cannot hash the "
				    "issuer");
				goto fail;
			}
		r->nissuers++;
	}
	if (cfg->store_path != NULL && cfg->store_path[0] != '\0') {
		int rebuilt;

		if ((r->store = ocspr_store_open(cfg->store_path, &rebuilt,
		    err, errlen)) == NULL)
			goto fail;
		if (rebuilt)
			log_warn("%s", err);
		else if (ocspr_store_opened(r->store) != OCSPR_OPEN_CLEAN)
			log_info("OCSP store %s was not closed cleanly: %s",
			    cfg->store_path, ocspr_store_opened(r->store) ==
			    OCSPR_OPEN_SAME_BOOT ? "the bridge stopped on this "
			    "boot, no quick_check (each row is checked by its "
			    "SHA-256)" : "PRAGMA quick_check passed");
		if ((r->flush = event_new(cfg->base, -1, EV_PERSIST,
		    ocspr_flush, r)) == NULL || event_add(r->flush,
		    &flush_tv) != 0) {
			snprintf(err, errlen, "OCSP: out of memory");
			goto fail;
		}
	}
	/* The pace's timer: with a store or without (the sweep's answers
	 * are paced too). */
	if (ocspr_errors_init(r) != 0 ||
	    (r->pace = evtimer_new(cfg->base, ocspr_pace_cb, r)) == NULL ||
	    (r->cache = ocspr_cache_new(cfg->cache_max)) == NULL ||
	    (r->crls = ocspr_crls_new(r)) == NULL ||
	    (r->sweep = event_new(cfg->base, -1, EV_PERSIST, ocspr_sweep,
	    r)) == NULL || event_add(r->sweep, &tv) != 0 ||
	    (r->worker = ocspr_worker_new(cfg->base, ocspr_work,
	    ocspr_done)) == NULL) {
		snprintf(err, errlen, "OCSP: out of memory");
		goto fail;
	}
	return r;
fail:
	ocspr_free(r);
	return NULL;
}

void
ocspr_free(struct ocspr *r)
{
	struct ocspr_pend *p;
	struct ocspr_worker *w;

	if (r == NULL)
		return;
	/* Jobs still queued come back through ocspr_done (answers for the
	 * other loops queued to them); nothing new is fed once worker is
	 * NULL. */
	w = r->worker;
	r->worker = NULL;
	ocspr_worker_free(w);
	while ((p = TAILQ_FIRST(&r->pending)) != NULL) {
		TAILQ_REMOVE(&r->pending, p, link);
		free(p);
	}
	while ((p = TAILQ_FIRST(&r->paced)) != NULL) {
		TAILQ_REMOVE(&r->paced, p, link);
		free(p);
	}
	if (r->sweep != NULL)
		event_free(r->sweep);
	if (r->flush != NULL)
		event_free(r->flush);
	if (r->pace != NULL)
		event_free(r->pace);
	ocspr_store_close(r->store);
	for (int i = 1; i < OCSPR_MAX_LOOPS; i++)
		if (r->loops[i] != NULL)
			ocspr_loop_detach(r->loops[i]);
	ocspr_crls_free(r->crls);
	ocspr_cache_free(r->cache);
	for (int i = 0; i < r->nissuers; i++)
		for (int md = 0; md < OCSPR_NMD; md++)
			OCSP_CERTID_free(r->issuers[i].cid[md]);
	free(r);
}

/* See ocsp.h. */
void
ocspr_stats(struct ocspr *r, struct ocspr_stats *st)
{
	uint64_t req, local;

	*st = r->stats;
	st->cached = ocspr_cache_count(r->cache);
	/* pending: what an answer may wait for (urgent, refreshes); paced:
	 * due answers still valid, answered from the store meanwhile. */
	st->pending = r->npending - r->npaced;
	st->paced = r->npaced;
	st->evictions = ocspr_cache_evictions(r->cache);
	/* The main loop counted the requests it answered for the others
	 * (relayed): the others count the ones they answered themselves. */
	st->loop_requests[0] = r->stats.requests - r->relayed;
	st->nloops = 1;
	for (int i = 1; i < OCSPR_MAX_LOOPS; i++) {
		if (r->loops[i] == NULL)
			continue;
		ocspr_loop_counts(r->loops[i], &req, &local);
		st->loop_requests[i] = req;
		st->requests += local;
		st->cache_hits += local;
		st->nloops = i + 1;
	}
}
