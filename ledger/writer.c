/*
 * writer.c: the writer thread, its queue, and the follower (one block's
 * commit is commit.c).
 *
 * A block is one database transaction: the entries that passed the rules,
 * the registry changes they made and the block's signed checkpoint are
 * committed together, with one fsync.  Many concurrent submissions are
 * queued to one writer thread, which takes everything waiting (up to
 * batch_max) into the next block, so N clients cost one fsync per block,
 * not one each.  Nothing is acknowledged before its block is committed.
 *
 * Several processes on one database (bridges on PostgreSQL): the store's
 * begin holds the writers' lock of the database, and the writer first
 * loads the blocks the others committed since its last one (catch-up), so
 * every block extends the one tree, without a gap or a fork.  A follower
 * thread waits for the others' commits (the store's wait_change: LISTEN /
 * NOTIFY) and catches up too, then wakes the caller's thread like the
 * writer does, so that OCSP, the CRL and the event stream see them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ledger/ledger_state.h"

#define LEDGER_QUEUE_MAX 65536		/* submissions waiting */
#define LEDGER_FOLLOW_WAIT_MS 250	/* follower: one wait, and stop delay */
#define LEDGER_IDLE_MS 50		/* the consensus's idle step, while idle */
#define LEDGER_KEEP_WAIT_MS 25		/* signed certificates alone wait this
					 * long for a block to ride with */
#define LEDGER_FOLLOW_IDLE_N  4		/* look anyway after this many waits:
					 * a NOTIFY lost in a reconnection */

/* ---- statistics -------------------------------------------------------- */

const unsigned LEDGER_BATCH_BOUNDS[LEDGER_STAT_BATCH_N] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512,
};
const unsigned LEDGER_COMMIT_BOUNDS_US[LEDGER_STAT_COMMIT_N] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000,
};

/* Index of the first bound >= v (n: above them all). */
static size_t
ledger_bucket(const unsigned *bounds, size_t n, uint64_t v)
{
	size_t i;

	for (i = 0; i < n && v > bounds[i]; i++)
		;
	return i;
}

/* Under l->mu: one block's worth of statistics. */
static void
ledger_count_block(struct ledger *l, struct ledger_sub **subs, size_t n,
    uint64_t us)
{
	struct ledger_stats *st = &l->stats;
	size_t ok = 0;

	for (size_t i = 0; i < n; i++) {
		if (subs[i]->signed_cert)
			continue;
		if (subs[i]->st == LEDGER_OK)
			ok++;
		else if (subs[i]->st == LEDGER_ERR_STORAGE)
			st->failed++;
		else
			st->refused++;
	}
	if (ok == 0)
		return;
	st->blocks++;
	st->entries += ok;
	st->batch[ledger_bucket(LEDGER_BATCH_BOUNDS, LEDGER_STAT_BATCH_N,
	    ok)]++;
	st->batch_sum += ok;
	st->commit_us[ledger_bucket(LEDGER_COMMIT_BOUNDS_US,
	    LEDGER_STAT_COMMIT_N, us)]++;
	st->commit_seconds_sum += (double)us / 1e6;
	st->last_block_time = time(NULL);
}

void
ledger_stats(struct ledger *l, struct ledger_stats *st)
{
	pthread_mutex_lock(&l->mu);
	*st = l->stats;
	st->pending = l->npending;
	pthread_mutex_unlock(&l->mu);
}

/*
 * Under l->mu: when only signed certificates are waiting (ledger_cert_store,
 * right after a block's enrollments were answered), waits at most
 * LEDGER_KEEP_WAIT_MS for entries to put in the same transaction: a
 * transaction (an fsync) of their own between every two blocks would
 * double the latency, and halve what kept-alive clients get.
 */
static void
writer_wait_for_entries(struct ledger *l)
{
	struct timespec until;

	if (l->stopping || l->npending != l->nkept)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)LEDGER_KEEP_WAIT_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	/* ledger_cert_store leaves this wait alone: a certificate more
	 * does not end it, an entry (or the stop) does. */
	l->wait_entries = 1;
	while (!l->stopping && l->npending == l->nkept &&
	    pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
		;
	l->wait_entries = 0;
}

/*
 * Under l->mu, after a block could not be sealed: every entry still
 * queued is answered now with the same status (503: no quorum), not
 * after a seal wait of its own per batch, so none waits longer than
 * about two seal waits (the one in progress when it came, and the one
 * that failed).  The next submission tries the unsealed block again.
 * Signed certificates to keep stay queued: they make no block, and
 * ledger_commit keeps them even while the last block is unsealed (their
 * client has the certificate already).
 */
static void
writer_refuse_queue(struct ledger *l)
{
	struct ledger_sub *sub, *keep = NULL, **keep_tail = &keep;

	l->seal_failed = 0;
	while ((sub = l->pending) != NULL) {
		l->pending = sub->next;
		if (sub->signed_cert) {
			sub->next = NULL;
			*keep_tail = sub;
			keep_tail = &sub->next;
			continue;
		}
		l->npending--;
		sub->st = l->seal_status;
		snprintf(sub->why, LEDGER_WHY_MAX, "%s", l->seal_status ==
		    LEDGER_ERR_NO_QUORUM ? "no quorum: the ledger's last block "
		    "is not final yet (its validators did not cosign in "
		    "time); retry later" : "the last block's checkpoint is "
		    "not signed yet");
		sub->next = NULL;
		*l->done_tail = sub;
		l->done_tail = &sub->next;
	}
	l->pending = keep;
	l->pending_tail = keep != NULL ? keep_tail : &l->pending;
}

/* Not under l->mu: the consensus's idle step, shown the last final block
 * (a validator that missed the last seals is sent it now, not at the
 * next block, which an idle ledger may not make for hours).  Under
 * commit_mu: the block's consistency proofs read the tree unlocked. */
static void
writer_idle_step(struct ledger *l)
{
	struct ledger_seal sl;
	uint8_t root[LEDGER_HASH_LEN];
	char note[LEDGER_NOTE_MAX];
	int rc;

	pthread_mutex_lock(&l->commit_mu);
	rc = ledger_commit_last_final(l, &sl, root, note, sizeof(note));
	l->cons->ops->idle(l->cons, rc == 0 ? &sl : NULL);
	pthread_mutex_unlock(&l->commit_mu);
}

/*
 * Under l->mu, nothing queued: waits for a submission; a consensus with
 * an idle step gets it about every LEDGER_IDLE_MS meanwhile (outside the
 * lock: it may take answers off the network).
 */
static void
writer_idle(struct ledger *l)
{
	struct timespec until, snap;
	int has_snap;

	/* the status map's snapshot, when due by time (mapsnap.c) */
	pthread_mutex_unlock(&l->mu);
	ledger_map_snapshot_tick(l, 1);
	pthread_mutex_lock(&l->mu);
	if (l->pending != NULL || l->stopping)
		return;
	has_snap = ledger_map_snapshot_deadline(l, &snap);
	if (l->cons == NULL || l->cons->ops->idle == NULL) {
		if (has_snap)
			(void)pthread_cond_timedwait(&l->cv, &l->mu, &snap);
		else
			pthread_cond_wait(&l->cv, &l->mu);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)LEDGER_IDLE_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	if (has_snap && (snap.tv_sec < until.tv_sec || (snap.tv_sec ==
	    until.tv_sec && snap.tv_nsec < until.tv_nsec)))
		until = snap;
	if (pthread_cond_timedwait(&l->cv, &l->mu, &until) == ETIMEDOUT &&
	    l->pending == NULL && !l->stopping) {
		pthread_mutex_unlock(&l->mu);
		writer_idle_step(l);
		pthread_mutex_lock(&l->mu);
	}
}

/* Not under l->mu: the pipe's outstanding block synced (its signature
 * saved in a transaction of its own, as commit_sign does); a seal that
 * failed refuses the queue. */
static void
writer_flush(struct ledger *l)
{
	pthread_mutex_lock(&l->commit_mu);
	(void)ledger_pipe_sync(l, l->w, 0);
	pthread_mutex_unlock(&l->commit_mu);
	pthread_mutex_lock(&l->mu);
	if (l->seal_failed)
		writer_refuse_queue(l);
	pthread_mutex_unlock(&l->mu);
}

/*
 * Under l->mu, nothing queued: with a block at the pipe's sealer, waits
 * for a submission (block N+1 starts at once, while N is sealed) or for
 * the seal (then saves its signature: nothing came to carry it);
 * otherwise idles.
 */
static void
writer_wait(struct ledger *l)
{
	int st = ledger_pipe_state(l);

	if (st == LEDGER_PIPE_EMPTY) {
		writer_idle(l);
		return;
	}
	if (st == LEDGER_PIPE_SEALING) {
		pthread_cond_wait(&l->cv, &l->mu);
		return;
	}
	pthread_mutex_unlock(&l->mu);
	writer_flush(l);
	pthread_mutex_lock(&l->mu);
}

static void *
ledger_writer_main(void *arg)
{
	struct ledger *l = arg;
	struct ledger_sub **batch;
	struct timespec t0, t1;
	int held;

	/* A group is taken whole: it may run past batch_max. */
	if ((batch = calloc(l->batch_max + LEDGER_GROUP_MAX,
	    sizeof(*batch))) == NULL)
		abort();	/* startup allocation; nothing to answer yet */
	pthread_mutex_lock(&l->mu);
	for (;;) {
		size_t n = 0;

		while (l->pending == NULL && !l->stopping)
			writer_wait(l);
		if (l->pending == NULL && l->stopping)
			break;
		writer_wait_for_entries(l);
		while (l->pending != NULL) {
			size_t g = l->pending->group_n > 1 ?
			    l->pending->group_n : 1;

			if (n > 0 && n + g > l->batch_max)
				break;
			for (size_t k = 0; k < g && l->pending != NULL; k++) {
				if (l->pending->signed_cert)
					l->nkept--;
				batch[n++] = l->pending;
				l->pending = l->pending->next;
				l->npending--;
			}
		}
		if (l->pending == NULL)
			l->pending_tail = &l->pending;
		pthread_mutex_unlock(&l->mu);

		clock_gettime(CLOCK_MONOTONIC, &t0);
		held = ledger_commit(l, batch, n, 1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ledger_map_snapshot_tick(l, 0);	/* due by entries */

		pthread_mutex_lock(&l->mu);
		if (l->seal_failed)
			writer_refuse_queue(l);
		ledger_count_block(l, batch, n, (uint64_t)((t1.tv_sec -
		    t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
		if (held) {
			/* counted first: the sealer answers (and frees) them */
			pthread_mutex_unlock(&l->mu);
			ledger_pipe_go(l);
			pthread_mutex_lock(&l->mu);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			batch[i]->next = NULL;
			*l->done_tail = batch[i];
			l->done_tail = &batch[i]->next;
		}
		if (l->wake != NULL)
			l->wake(l->wake_arg);
	}
	pthread_mutex_unlock(&l->mu);
	writer_flush(l);
	free(batch);
	return NULL;
}

/*
 * Follows the blocks other processes commit: waits for the store's
 * notification (or LEDGER_FOLLOW_IDLE_N waits at most), catches up, and
 * wakes the caller's thread when entries arrived.
 */
static void *
ledger_follower_main(void *arg)
{
	struct ledger *l = arg;
	int idle = 0, stop, rc;
	int64_t added;

	for (;;) {
		pthread_mutex_lock(&l->mu);
		stop = l->stopping;
		pthread_mutex_unlock(&l->mu);
		if (stop)
			break;
		rc = l->f->ops->wait_change(l->f, LEDGER_FOLLOW_WAIT_MS);
		if (rc != 1 && ++idle < LEDGER_FOLLOW_IDLE_N)
			continue;
		idle = 0;
		pthread_mutex_lock(&l->commit_mu);
		added = ledger_catch_up(l, l->f);
		pthread_mutex_unlock(&l->commit_mu);
		if (added > 0 && l->wake != NULL)
			l->wake(l->wake_arg);
	}
	return NULL;
}

int
ledger_writer_start(struct ledger *l, void (*wake)(void *), void *wake_arg)
{
	char err[256];

	if (l->cons == NULL || l->running)
		return -1;
	/* A block stored before a crash, without its signature: signed now
	 * (when that fails, every block waits for it: ledger_commit). */
	pthread_mutex_lock(&l->commit_mu);
	(void)ledger_commit_sign_last(l, l->w);
	pthread_mutex_unlock(&l->commit_mu);
	l->wake = wake;
	l->wake_arg = wake_arg;
	l->stopping = 0;
	/* Only a backend that other processes write to needs a follower. */
	if (l->w->ops->wait_change != NULL && l->f == NULL &&
	    (l->f = ledger_store_open(l->db, LEDGER_STORE_READONLY |
	    l->store_flags, err, sizeof(err))) == NULL)
		return -1;
	/* The ingest pipeline (ledger_config); without it, the same
	 * answers serially. */
	if (l->ingest_threads != LEDGER_INGEST_NONE)
		l->ing = ledger_ingest_start(l->w->keys,
		    ledger_ingest_threads(l->ingest_threads > 0 ?
		    (unsigned)l->ingest_threads : 0));
	if (!l->serial_seal)
		(void)ledger_pipe_start(l);
	log_info("ledger: ingest pipeline: %u threads checking signatures "
	    "ahead of the writer, blocks sealed %s", l->ing != NULL ?
	    ledger_ingest_nthreads(l->ing) : 0, l->pipe != NULL ?
	    "while the writer makes the next" : "on the writer's thread");
	if (pthread_create(&l->thread, NULL, ledger_writer_main, l) != 0) {
		ledger_pipe_stop(l);
		ledger_ingest_stop(l->ing, l->w->keys);
		l->ing = NULL;
		return -1;
	}
	l->running = 1;
	if (l->f != NULL) {
		if (pthread_create(&l->follower, NULL, ledger_follower_main,
		    l) != 0) {
			ledger_writer_stop(l);
			return -1;
		}
		l->following = 1;
	}
	return 0;
}

static void
ledger_sub_free(struct ledger *l, struct ledger_sub *sub)
{
	ledger_ingest_forget(l->ing, sub);
	free(sub->text);
	free(sub);
}

int
ledger_submit(struct ledger *l, const char *entry, size_t len,
    ledger_done_cb cb, void *arg)
{
	return ledger_submit_group(l, &entry, &len, 1, cb, arg);
}

/* ledger_submit_group, with own: ledger_submit_own's (out of the pool). */
static int
writer_submit(struct ledger *l, const char *const *entries,
    const size_t *lens, size_t n, ledger_done_cb cb, void *arg, int own)
{
	struct ledger_sub *subs[LEDGER_GROUP_MAX] = { NULL };
	size_t i;
	int rc = -1;

	if (n == 0 || n > LEDGER_GROUP_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if ((subs[i] = calloc(1, sizeof(*subs[i]))) == NULL ||
		    (subs[i]->text = malloc(lens[i] + 1)) == NULL)
			goto out;
		memcpy(subs[i]->text, entries[i], lens[i]);
		subs[i]->text[lens[i]] = '\0';
		subs[i]->len = lens[i];
		subs[i]->own = own;
		if (i > 0)
			subs[i - 1]->next = subs[i];
	}
	subs[0]->group_n = n;
	subs[n - 1]->cb = cb;
	subs[n - 1]->arg = arg;
	pthread_mutex_lock(&l->mu);
	if (l->running && !l->stopping &&
	    l->npending + n <= LEDGER_QUEUE_MAX) {
		/* Queued back to back, so the writer takes them together. */
		*l->pending_tail = subs[0];
		l->pending_tail = &subs[n - 1]->next;
		l->npending += n;
		/* Under l->mu: the pool sees them in the writer's order. */
		if (l->ing != NULL)
			ledger_ingest_queue(l->ing, subs[0], n);
		pthread_cond_signal(&l->cv);
		rc = 0;
	}
	pthread_mutex_unlock(&l->mu);
out:
	if (rc != 0)
		for (i = 0; i < n; i++)
			if (subs[i] != NULL)
				ledger_sub_free(l, subs[i]);
	return rc;
}

int
ledger_submit_group(struct ledger *l, const char *const *entries,
    const size_t *lens, size_t n, ledger_done_cb cb, void *arg)
{
	return writer_submit(l, entries, lens, n, cb, arg, 0);
}

int
ledger_submit_own(struct ledger *l, const char *const *entries,
    const size_t *lens, size_t n, ledger_done_cb cb, void *arg)
{
	return writer_submit(l, entries, lens, n, cb, arg, 1);
}

/* See ledger.h. */
int
ledger_cert_store(struct ledger *l, const char *serial, const uint8_t *der,
    size_t len, ledger_done_cb cb, void *arg)
{
	struct ledger_sub *sub = NULL;
	uint8_t md[LEDGER_HASH_LEN];
	size_t cap = len * 4 / 3 + 8;
	int rc = -1;

	if (len == 0 || len > LEDGER_CERT_DER_MAX || strlen(serial) > 40 ||
	    (sub = calloc(1, sizeof(*sub))) == NULL ||
	    (sub->text = malloc(cap)) == NULL ||
	    ledger_b64_encode(der, len, sub->text, cap) != 0 ||
	    EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL) != 1)
		goto out;
	sub->len = strlen(sub->text);
	sub->signed_cert = 1;
	snprintf(sub->serial, sizeof(sub->serial), "%s", serial);
	ledger_hex(md, sizeof(md), sub->sha256);
	sub->cb = cb;
	sub->arg = arg;
	pthread_mutex_lock(&l->mu);
	if (l->running && !l->stopping && l->npending < LEDGER_QUEUE_MAX) {
		*l->pending_tail = sub;
		l->pending_tail = &sub->next;
		l->npending++;
		l->nkept++;
		/* Woken only where it changes what the writer does: an
		 * enrollment's certificate would wake it for nothing while
		 * it waits for entries (writer_wait_for_entries), one
		 * context switch per enrollment on 2 cores. */
		if (!l->wait_entries)
			pthread_cond_signal(&l->cv);
		rc = 0;
	}
	pthread_mutex_unlock(&l->mu);
out:
	if (rc != 0 && sub != NULL)
		ledger_sub_free(l, sub);
	return rc;
}

void
ledger_drain(struct ledger *l)
{
	struct ledger_sub *list, *next;

	pthread_mutex_lock(&l->mu);
	list = l->done;
	l->done = NULL;
	l->done_tail = &l->done;
	pthread_mutex_unlock(&l->mu);
	for (; list != NULL; list = next) {
		next = list->next;
		if (list->cb != NULL)
			list->cb(list->st, list->st == LEDGER_OK ? &list->r :
			    NULL, list->why, list->arg);
		ledger_sub_free(l, list);
	}
}

void
ledger_writer_stop(struct ledger *l)
{
	if (!l->running)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);	/* its pipe synced */
	if (l->following)
		pthread_join(l->follower, NULL);
	l->running = l->following = 0;
	ledger_pipe_stop(l);
	ledger_drain(l);
	if (l->ing != NULL) {
		uint64_t ahead, self, own;

		ledger_ingest_stats(l->ing, &ahead, &self, &own);
		log_info("ledger: %llu entries' signatures checked ahead by "
		    "the ingest pool, %llu by the writer itself (%llu of them "
		    "the bridge's own)", (unsigned long long)ahead,
		    (unsigned long long)self, (unsigned long long)own);
	}
	ledger_ingest_stop(l->ing, l->w->keys);
	l->ing = NULL;
}
