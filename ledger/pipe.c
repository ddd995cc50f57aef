/*
 * pipe.c: the pipelined seal (docs/design.md "Ingest pipeline").
 *
 * A block's latency was: its rules, its commit (the fsync), then the
 * checkpoint's signature by the key process, then the answers.  Entries
 * that came during the signature waited for all of it.  Here the
 * writer hands block N, once committed (durable), to a sealer thread,
 * and goes on with block N+1 at once: its batch, its rules (their
 * signature checks ahead on the ingest pool), in its own transaction.
 * Before block N+1 touches the tree or the status map (which N's seal
 * reads: its body carries the map's root, the key process wants a
 * consistency proof), the writer waits for N's seal and saves N's
 * signature inside N+1's transaction (ledger_pipe_sync).
 *
 *   writer:  [rules N][commit N]  [rules N+1]   |sync|[tree,map N+1][commit N+1]
 *   sealer:                    [sign N][answer N]
 *
 * What does not change: an entry is answered 2xx only once its block is
 * committed and its checkpoint signed (the sealer answers after both);
 * one block is outstanding at most; no block is built on a block whose
 * seal failed (N+1's transaction is rolled back and its entries answered
 * as ledger_commit answers them when the last block is unsigned); a
 * crash after N's commit leaves N stored without its signature, the last
 * block, which the writer signs again when it starts.
 *
 * Only with the solo consensus (its seal is the key process's signature;
 * the validators' runs its own exchanges with the writer's idle step)
 * and a store that saves a signature inside a transaction (SQLite).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ledger_state.h"

struct ledger_pipe {
	pthread_t th;
	pthread_cond_t cv;		/* the sealer's; with l->mu */
	pthread_cond_t sealed;		/* ledger_pipe_sync's; with l->mu:
					 * not l->cv, which every submission
					 * signals (a wake-up for nothing
					 * while the writer waits for a
					 * seal) */
	/* Under l->mu: */
	int has;			/* a block is held */
	int busy;			/* its seal runs */
	int stop;
	int rc;				/* its seal's result */
	int sync;			/* the store's log fsynced here
					 * (sync_defer), not by its commit */
	struct ledger_block_row b;
	struct ledger_sub **subs;
	size_t nall, n;
};

/* Under l->mu: subs[0..n) to the done list, for the caller's thread. */
static void
pipe_answer(struct ledger *l, struct ledger_sub **subs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		subs[i]->next = NULL;
		*l->done_tail = subs[i];
		l->done_tail = &subs[i]->next;
	}
	if (l->wake != NULL)
		l->wake(l->wake_arg);
}

/* The block is final: the checkpoint published, the receipts filled. */
static void
pipe_publish(struct ledger *l, struct ledger_pipe *p)
{
	pthread_rwlock_wrlock(&l->tree_lock);
	snprintf(l->checkpoint, sizeof(l->checkpoint), "%s", p->b.checkpoint);
	l->final_size = p->b.size;
	pthread_rwlock_unlock(&l->tree_lock);
	for (size_t i = 0; i < p->n; i++) {
		if (p->subs[i]->st != LEDGER_OK)
			continue;
		p->subs[i]->r.tree_size = p->b.size;
		snprintf(p->subs[i]->r.checkpoint,
		    sizeof(p->subs[i]->r.checkpoint), "%s", p->b.checkpoint);
	}
}

static void *
pipe_main(void *arg)
{
	struct ledger *l = arg;
	struct ledger_pipe *p = l->pipe;
	struct timespec t0, t1;
	int rc;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!p->busy && !p->stop)
			pthread_cond_wait(&p->cv, &l->mu);
		if (!p->busy)
			break;
		pthread_mutex_unlock(&l->mu);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* The writer touches neither the tree nor the map until
		 * it synced with this seal.  Durable first: the key
		 * process never signs a block the database may lose
		 * (commit.c commit_sign). */
		if (p->sync && l->w->ops->sync_log(l->w) != 0)
			rc = -1;
		else if ((rc = ledger_commit_seal(l, &p->b)) == 0)
			pipe_publish(l, p);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		pthread_mutex_lock(&l->mu);
		/* The block's commit time (ledger_stats) kept its meaning:
		 * rules, SQL, fsync and signature, the last two here. */
		l->stats.commit_seconds_sum += (double)(t1.tv_sec -
		    t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		p->rc = rc;
		/* Answered here, at once: durable and signed.  A failure
		 * is the writer's to answer (ledger_pipe_sync). */
		if (rc == 0)
			pipe_answer(l, p->subs, p->nall);
		p->busy = 0;
		pthread_cond_broadcast(&l->cv);	/* writer_wait */
		pthread_cond_signal(&p->sealed);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int
ledger_pipe_start(struct ledger *l)
{
	struct ledger_pipe *p;

	if (l->pipe != NULL || l->cons == NULL ||
	    strcmp(l->cons->ops->name, "solo") != 0 ||
	    l->w->ops->block_sign_in == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	if ((p->subs = calloc(l->batch_max + LEDGER_GROUP_MAX,
	    sizeof(*p->subs))) == NULL) {
		free(p);
		return -1;
	}
	pthread_cond_init(&p->cv, NULL);
	pthread_cond_init(&p->sealed, NULL);
	/* The block's fsync on the sealer's thread too, when the store
	 * can (else its commit fsyncs, as without the pipe). */
	p->sync = l->w->ops->sync_defer != NULL &&
	    l->w->ops->sync_defer(l->w, 1) == 0;
	l->pipe = p;
	if (pthread_create(&p->th, NULL, pipe_main, l) != 0) {
		l->pipe = NULL;
		if (p->sync)
			(void)l->w->ops->sync_defer(l->w, 0);
		pthread_cond_destroy(&p->cv);
		pthread_cond_destroy(&p->sealed);
		free(p->subs);
		free(p);
		return -1;
	}
	return 0;
}

void
ledger_pipe_stop(struct ledger *l)
{
	struct ledger_pipe *p = l->pipe;

	if (p == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(p->th, NULL);
	if (p->sync)	/* every commit fsyncs again */
		(void)l->w->ops->sync_defer(l->w, 0);
	pthread_cond_destroy(&p->cv);
	pthread_cond_destroy(&p->sealed);
	free(p->subs);
	free(p);
	l->pipe = NULL;
}

int
ledger_pipe_durable(struct ledger *l)
{
	if (l->pipe == NULL || !l->pipe->sync)
		return 0;
	return l->w->ops->sync_log(l->w);
}

int
ledger_pipe_state(struct ledger *l)
{
	struct ledger_pipe *p = l->pipe;

	if (p == NULL || !p->has)
		return LEDGER_PIPE_EMPTY;
	return p->busy ? LEDGER_PIPE_SEALING : LEDGER_PIPE_SEALED;
}

void
ledger_pipe_hold(struct ledger *l, struct ledger_sub **subs, size_t nall,
    size_t n, const struct ledger_block_row *b)
{
	struct ledger_pipe *p = l->pipe;

	pthread_mutex_lock(&l->mu);
	if (p->has || nall > l->batch_max + LEDGER_GROUP_MAX)
		abort();	/* never: synced before every block */
	memcpy(p->subs, subs, nall * sizeof(*subs));
	p->nall = nall;
	p->n = n;
	p->b = *b;
	p->has = 1;
	p->busy = 0;
	pthread_mutex_unlock(&l->mu);
}

void
ledger_pipe_go(struct ledger *l)
{
	pthread_mutex_lock(&l->mu);
	l->pipe->busy = 1;
	pthread_cond_signal(&l->pipe->cv);
	pthread_mutex_unlock(&l->mu);
}

int
ledger_pipe_sync(struct ledger *l, struct ledger_store *s, int in_tx)
{
	struct ledger_pipe *p = l->pipe;
	int rc, saved;

	if (p == NULL)
		return 0;
	pthread_mutex_lock(&l->mu);
	if (!p->has) {
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	while (p->busy)
		pthread_cond_wait(&p->sealed, &l->mu);
	p->has = 0;
	rc = p->rc;
	pthread_mutex_unlock(&l->mu);
	if (rc == 0) {
		/* Inside the next block's transaction: durable with it,
		 * and a crash before leaves this block the last one,
		 * signed again at start.  Not saved: kept for
		 * ledger_commit_sign_last (signed already). */
		saved = in_tx ? s->ops->block_sign_in(s, p->b.height,
		    p->b.checkpoint) : s->ops->block_sign(s, p->b.height,
		    p->b.checkpoint);
		if (saved == 0) {
			/* in_tx: the caller marks it unsigned again when
			 * that transaction is rolled back */
			l->unsigned_blk = p->b;
			return 1;
		}
		/* Not saved: nothing is built on it until it is (the
		 * next ledger_commit's ledger_commit_sign_last). */
		l->unsigned_blk = p->b;
		l->has_unsigned = 1;
		l->seal_failed = 1;
		l->seal_status = LEDGER_ERR_STORAGE;
		return -1;
	}
	p->b.checkpoint[0] = '\0';
	l->unsigned_blk = p->b;
	l->has_unsigned = 1;
	ledger_commit_seal_failed(l, p->subs, p->n);
	pthread_mutex_lock(&l->mu);
	pipe_answer(l, p->subs, p->nall);
	pthread_mutex_unlock(&l->mu);
	return -1;
}
