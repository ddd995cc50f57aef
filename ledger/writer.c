/*
 * writer.c: committing blocks, the writer thread and the follower.
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

#include "ledger/ledger_state.h"

#define LEDGER_QUEUE_MAX 65536		/* submissions waiting */
#define LEDGER_FOLLOW_WAIT_MS 250	/* follower: one wait, and stop delay */
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

/* ---- other writers' blocks --------------------------------------------- */

/* Leaf hashes read for a catch-up, before they join the tree. */
struct catch_up {
	uint8_t (*h)[LEDGER_HASH_LEN];
	size_t n, cap;
	uint64_t next, end;	/* indexes [next, end) wanted, in order */
	int bad;
};

static int
catch_up_leaf(uint64_t idx, const uint8_t *h, void *arg)
{
	struct catch_up *c = arg;
	void *p;

	if (idx >= c->end)	/* committed after the block we read */
		return 0;
	if (idx != c->next) {
		c->bad = 1;
		return -1;
	}
	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 64 : c->cap * 2;
		if ((p = realloc(c->h, c->cap * sizeof(*c->h))) == NULL) {
			c->bad = 1;
			return -1;
		}
		c->h = p;
	}
	memcpy(c->h[c->n++], h, LEDGER_HASH_LEN);
	c->next++;
	return 0;
}

/*
 * Under commit_mu: loads from store s the blocks that another process
 * committed after ours, once they prove to extend our tree (the root of
 * their last block over our leaves and theirs is the stored one).  The
 * tree lock is taken only to append, not while reading.  Returns the
 * number of entries added (0: none), or -1 when they could not be read or
 * do not extend the tree (nothing changes then).
 */
static int64_t
ledger_catch_up(struct ledger *l, struct ledger_store *s)
{
	struct ledger_block_row b;
	struct catch_up c;
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t base = l->committed;
	int64_t rc = -1;
	int st;

	if ((st = s->ops->block_last(s, &b)) != 0)
		return st == 1 ? 0 : -1;
	/* The last block we know, signed since by its writer. */
	if (b.height + 1 == l->height && b.size == l->committed &&
	    l->checkpoint[0] == '\0' && b.checkpoint[0] != '\0') {
		pthread_rwlock_wrlock(&l->tree_lock);
		snprintf(l->checkpoint, sizeof(l->checkpoint), "%s",
		    b.checkpoint);
		pthread_rwlock_unlock(&l->tree_lock);
	}
	if (b.height < l->height)
		return 0;
	if (b.size < base)
		return -1;	/* the stored log shrank: not ours to follow */
	memset(&c, 0, sizeof(c));
	c.next = base;
	c.end = b.size;
	if (s->ops->leaf_hashes(s, base, catch_up_leaf, &c) != 0 || c.bad ||
	    c.next != b.size)
		goto out;
	pthread_rwlock_wrlock(&l->tree_lock);
	for (size_t i = 0; i < c.n; i++)
		if (ledger_merkle_append(l->tree, c.h[i]) != 0)
			break;
	if (ledger_merkle_size(l->tree) != b.size ||
	    ledger_merkle_root(l->tree, b.size, root) != 0 ||
	    memcmp(root, b.root, LEDGER_HASH_LEN) != 0) {
		ledger_merkle_truncate(l->tree, base);
		pthread_rwlock_unlock(&l->tree_lock);
		goto out;
	}
	l->committed = b.size;
	l->height = b.height + 1;
	l->last_time = b.time;
	/* Another process's block may not be signed yet (commit_sign):
	 * then no checkpoint until it is. */
	snprintf(l->checkpoint, sizeof(l->checkpoint), "%s", b.checkpoint);
	pthread_rwlock_unlock(&l->tree_lock);
	rc = (int64_t)(b.size - base);
out:
	free(c.h);
	return rc;
}

/* ---- committing a block ------------------------------------------------ */

/* Answers subs[0..n) (with only_ok, those still LEDGER_OK) with
 * LEDGER_ERR_STORAGE: "what: the store's message". */
static void
commit_fail(struct ledger_sub **subs, size_t n, int only_ok,
    const char *what, struct ledger_store *s)
{
	for (size_t i = 0; i < n; i++) {
		if (only_ok && subs[i]->st != LEDGER_OK)
			continue;
		subs[i]->st = LEDGER_ERR_STORAGE;
		snprintf(subs[i]->why, LEDGER_WHY_MAX, "%s: %s", what,
		    s->ops->errmsg(s));
	}
}

/* Applies sub's parsed entry e at leaf index *size: the rules, then the
 * log row.  On success its receipt's index and leaf hash are set and
 * *size advances; otherwise sub->st and sub->why say why. */
static void
ledger_apply(struct ledger *l, struct ledger_store *s, struct ledger_sub *sub,
    const struct ledger_entry *e, uint64_t *size, time_t now)
{
	struct ledger_entry_info info;

	sub->st = ledger_rules_apply(s, e, *size, now, sub->why,
	    LEDGER_WHY_MAX);
	if (sub->st != LEDGER_OK)
		return;
	memset(&info, 0, sizeof(info));
	info.index = *size;
	info.block = l->height;
	info.type = e->type;
	snprintf(info.account, sizeof(info.account), "%s", e->account);
	info.seq = e->seq;
	info.text = sub->text;
	info.len = sub->len;
	ledger_merkle_leaf_hash(sub->text, sub->len, info.leaf_hash);
	if (s->ops->entry_put(s, &info) != 0) {
		commit_fail(&sub, 1, 0, "storage", s);
		return;
	}
	sub->r.index = (*size)++;
	memcpy(sub->r.leaf_hash, info.leaf_hash, LEDGER_HASH_LEN);
}

/*
 * Applies subs[0..g) (a single entry, or a group that commits together)
 * inside one savepoint: when one is refused (or did not parse), the
 * savepoint is rolled back, *size returns to where it was, and every
 * entry of the group gets that refusal.
 */
static void
ledger_apply_group(struct ledger *l, struct ledger_store *s,
    struct ledger_sub **subs, const struct ledger_entry *es, size_t g,
    uint64_t *size, time_t now)
{
	uint64_t first = *size;
	size_t bad = g;

	if (s->ops->savepoint(s) != 0) {
		commit_fail(subs, g, 0, "storage", s);
		return;
	}
	for (size_t j = 0; j < g && bad == g; j++) {
		if (subs[j]->st == LEDGER_OK)
			ledger_apply(l, s, subs[j], &es[j], size, now);
		if (subs[j]->st != LEDGER_OK)
			bad = j;
	}
	if (bad < g) {
		s->ops->rollback_to(s);
		*size = first;
		for (size_t j = 0; j < g; j++)
			if (j != bad) {
				subs[j]->st = subs[bad]->st;
				memcpy(subs[j]->why, subs[bad]->why,
				    LEDGER_WHY_MAX);
			}
	}
	s->ops->release(s);
}

/* In the block's transaction: parses each entry, lets the store read
 * ahead what their rules will look up, and catches up with the blocks
 * other processes committed.  0, or -1 with every entry answered and the
 * transaction rolled back. */
static int
commit_prepare(struct ledger *l, struct ledger_store *s,
    struct ledger_sub **subs, struct ledger_entry *es,
    const struct ledger_entry **parsed, size_t n)
{
	size_t nparsed = 0;

	/* Parsed first, so that the store can read what the rules will look
	 * up for the whole block at once (PostgreSQL: with the last block's
	 * read of the catch-up, in the round trip after BEGIN). */
	for (size_t i = 0; i < n; i++) {
		subs[i]->st = ledger_entry_parse(subs[i]->text, subs[i]->len,
		    &es[i], subs[i]->why, LEDGER_WHY_MAX);
		if (subs[i]->st == LEDGER_OK)
			parsed[nparsed++] = &es[i];
	}
	if (s->ops->prefetch != NULL && nparsed > 0)
		s->ops->prefetch(s, parsed, nparsed);
	/* The writers' lock is ours: what others committed is final. */
	if (ledger_catch_up(l, s) < 0) {
		commit_fail(subs, n, 0, "the stored log cannot be followed", s);
		s->ops->rollback(s);
		return -1;
	}
	return 0;
}

/* Applies subs[0..n), group by group, from leaf index *size on. */
static void
commit_apply(struct ledger *l, struct ledger_store *s,
    struct ledger_sub **subs, struct ledger_entry *es, size_t n,
    uint64_t *size, time_t now)
{
	for (size_t i = 0, g; i < n; i += g) {
		g = subs[i]->group_n > 1 ? subs[i]->group_n : 1;
		if (g > n - i)
			g = n - i;	/* never: groups are taken whole */
		if (g == 1 && subs[i]->st != LEDGER_OK)
			continue;
		ledger_apply_group(l, s, subs + i, es + i, g, size, now);
	}
}

/* ledger_seal's consistency: under commit_mu, the only writer of the
 * tree, so it is read without the tree lock. */
static int
commit_consistency(const struct ledger_seal *sl, uint64_t m,
    uint8_t root_m[LEDGER_HASH_LEN], uint8_t proof[][LEDGER_HASH_LEN],
    size_t *nproof)
{
	const struct ledger_merkle *t = sl->tree;

	*nproof = 0;
	if (m == 0 || m > sl->size || ledger_merkle_root(t, m, root_m) != 0)
		return -1;
	if (m == sl->size)
		return 0;
	return ledger_merkle_consistency(t, m, sl->size, proof, nproof);
}

/* The block of the accepted entries, leaves [base, size): appends them
 * to the tree and fills *b with its root, without a checkpoint yet.  0,
 * or -1 (the caller truncates the tree back to base). */
static int
commit_tree(struct ledger *l, struct ledger_sub **subs, size_t n,
    uint64_t base, uint64_t size, time_t now, struct ledger_block_row *b)
{
	pthread_rwlock_wrlock(&l->tree_lock);
	for (size_t i = 0; i < n; i++)
		if (subs[i]->st == LEDGER_OK)
			ledger_merkle_append(l->tree, subs[i]->r.leaf_hash);
	pthread_rwlock_unlock(&l->tree_lock);
	memset(b, 0, sizeof(*b));
	b->height = l->height;
	b->first = base;
	b->size = size;
	b->time = now;
	if (ledger_merkle_size(l->tree) != size ||
	    ledger_merkle_root(l->tree, size, b->root) != 0)
		return -1;
	return 0;
}

/* Signs committed block b's checkpoint through the consensus into
 * b->checkpoint.  0 or -1. */
static int
commit_seal(struct ledger *l, struct ledger_block_row *b)
{
	struct ledger_seal sl;
	char body[512];

	if (ledger_checkpoint_body(l->origin, b->size, b->root, b->time, body,
	    sizeof(body)) != 0)
		return -1;
	memset(&sl, 0, sizeof(sl));
	sl.height = b->height;
	sl.body = body;
	sl.size = b->size;
	sl.root = b->root;
	sl.consistency = commit_consistency;
	sl.tree = l->tree;
	return l->cons->ops->seal(l->cons, &sl, b->checkpoint,
	    sizeof(b->checkpoint));
}

/*
 * Signs committed block b (unless b->checkpoint already holds its
 * signature) and saves the signature in its own transaction.  The block
 * is committed before its checkpoint is signed, so a signer that keeps a
 * promise about what it signed (the key process: never two roots for a
 * size, never a smaller size) is never asked for a tree the database
 * may lose: a crash between the two leaves a stored block without its
 * signature, which the same signer signs again when the writer starts
 * (the same size and root).  0 signed and saved; 1 signed, not saved;
 * -1 not signed.
 */
static int
commit_sign(struct ledger *l, struct ledger_store *s,
    struct ledger_block_row *b)
{
	if (b->checkpoint[0] == '\0' && commit_seal(l, b) != 0) {
		b->checkpoint[0] = '\0';
		return -1;
	}
	return s->ops->block_sign(s, b->height, b->checkpoint) != 0 ? 1 : 0;
}

/* Under commit_mu: signs and saves our last block if it is stored
 * without its signature.  0 when there is none (left), else -1. */
static int
commit_sign_last(struct ledger *l, struct ledger_store *s)
{
	struct ledger_block_row *b = &l->unsigned_blk;
	int rc;

	if (!l->has_unsigned)
		return 0;
	if ((rc = commit_sign(l, s, b)) < 0)
		return -1;
	pthread_rwlock_wrlock(&l->tree_lock);
	memcpy(l->checkpoint, b->checkpoint, sizeof(l->checkpoint));
	pthread_rwlock_unlock(&l->tree_lock);
	if (rc > 0)
		return -1;
	l->has_unsigned = 0;
	return 0;
}

/* The block b is committed: the ledger's state moves to it and every
 * accepted entry's receipt gets its tree size and checkpoint. */
static void
commit_publish(struct ledger *l, struct ledger_sub **subs, size_t n,
    const struct ledger_block_row *b)
{
	pthread_rwlock_wrlock(&l->tree_lock);
	l->committed = b->size;
	l->height++;
	l->last_time = b->time;
	memcpy(l->checkpoint, b->checkpoint, sizeof(l->checkpoint));
	pthread_rwlock_unlock(&l->tree_lock);
	for (size_t i = 0; i < n; i++) {
		if (subs[i]->st != LEDGER_OK)
			continue;
		subs[i]->r.tree_size = b->size;
		memcpy(subs[i]->r.checkpoint, b->checkpoint,
		    sizeof(b->checkpoint));
	}
}

/* The block could not be sealed or committed: rolled back, the tree
 * truncated to base, and every accepted entry answered with the
 * store's reason. */
static void
commit_undo(struct ledger *l, struct ledger_store *s,
    struct ledger_sub **subs, size_t n, uint64_t base)
{
	s->ops->rollback(s);
	pthread_rwlock_wrlock(&l->tree_lock);
	ledger_merkle_truncate(l->tree, base);
	pthread_rwlock_unlock(&l->tree_lock);
	commit_fail(subs, n, 1, "the block could not be committed", s);
}

/* Moves the signed certificates of subs[0..n) after the entries, both in
 * their order, and returns how many entries lead. */
static size_t
commit_partition(struct ledger_sub **subs, size_t n)
{
	size_t k = 0, j = 0;
	struct ledger_sub *tmp[LEDGER_BATCH_MAX + LEDGER_GROUP_MAX];

	if (n > sizeof(tmp) / sizeof(tmp[0]))
		return n;	/* never: the writer's batches are smaller */
	for (size_t i = 0; i < n; i++)
		if (subs[i]->signed_cert)
			tmp[j++] = subs[i];
		else
			subs[k++] = subs[i];
	memcpy(subs + k, tmp, j * sizeof(*tmp));
	return k;
}

/* In the block's transaction: keeps certs[0..n)'s signed certificates.
 * 0, or -1 (the caller rolls back and answers). */
static int
commit_signed(struct ledger_store *s, struct ledger_sub **certs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s->ops->cert_signed_put(s, certs[i]->serial, certs[i]->text,
		    certs[i]->sha256) != 0)
			return -1;
	return 0;
}

/*
 * Commits subs[0..n) as one block: parses each, applies the rules inside a
 * savepoint (a refused entry leaves no trace), appends the accepted ones to
 * the log and the tree, commits, then signs the checkpoint (commit_sign).
 * On a failed commit the tree is truncated back and every accepted entry
 * is answered LEDGER_ERR_STORAGE: nothing is acknowledged that is not
 * durable, and nothing is signed that is not.  A block stored but not
 * signed is answered LEDGER_ERR_STORAGE too (its entries are on the
 * ledger; the writer builds nothing on it until it is signed).
 */
static void
ledger_commit(struct ledger *l, struct ledger_sub **subs, size_t nall)
{
	struct ledger_store *s = l->w;
	struct ledger_entry *es = NULL;
	const struct ledger_entry **parsed = NULL;
	struct ledger_block_row b;
	uint64_t base, size;
	size_t n = commit_partition(subs, nall), ncerts = nall - n;
	struct ledger_sub **certs = subs + n;
	time_t now;
	int rc;

	pthread_mutex_lock(&l->commit_mu);
	if (commit_sign_last(l, s) != 0) {
		commit_fail(subs, nall, 0, "the last block's checkpoint is not "
		    "signed yet", s);
		goto out;
	}
	if ((es = calloc(n + 1, sizeof(*es))) == NULL ||
	    (parsed = calloc(n + 1, sizeof(*parsed))) == NULL ||
	    s->ops->begin(s) != 0) {
		commit_fail(subs, nall, 0, "cannot start a transaction", s);
		goto out;
	}
	if (commit_prepare(l, s, subs, es, parsed, n) != 0) {
		commit_fail(certs, ncerts, 0, "cannot prepare the block", s);
		goto out;
	}
	now = l->cons->ops->block_time(l->cons, l->last_time);
	base = size = l->committed;
	commit_apply(l, s, subs, es, n, &size, now);
	if (size == base && ncerts == 0) {	/* nothing accepted */
		s->ops->rollback(s);
		goto out;
	}
	/* The kept certificates ride in the block's transaction; a
	 * transaction of kept certificates alone makes no block. */
	if (commit_signed(s, certs, ncerts) != 0 || (size > base &&
	    (commit_tree(l, subs, n, base, size, now, &b) != 0 ||
	    s->ops->block_put(s, &b) != 0)) || s->ops->commit(s) != 0) {
		commit_undo(l, s, subs, nall, base);
		goto out;
	}
	if (size == base)
		goto out;
	if ((rc = commit_sign(l, s, &b)) != 0) {
		l->unsigned_blk = b;
		l->has_unsigned = 1;
	}
	commit_publish(l, subs, n, &b);
	if (rc < 0)
		commit_fail(subs, n, 1, "the block was stored but its "
		    "checkpoint could not be signed", s);
out:
	pthread_mutex_unlock(&l->commit_mu);
	/* parsed entries, whether or not the block got that far */
	for (size_t i = 0; es != NULL && i < n; i++)
		ledger_entry_clear(&es[i]);
	free(es);
	free(parsed);
}

enum ledger_status
ledger_append(struct ledger *l, const char *entry, size_t len,
    struct ledger_receipt *r, char *why, size_t whylen)
{
	struct ledger_sub sub, *p = &sub;

	memset(&sub, 0, sizeof(sub));
	if (l->cons == NULL) {
		snprintf(why, whylen, "the ledger is open read-only");
		return LEDGER_ERR_UNAVAILABLE;
	}
	sub.text = (char *)entry;
	sub.len = len;
	ledger_commit(l, &p, 1);
	if (r != NULL)
		*r = sub.r;
	snprintf(why, whylen, "%s", sub.why);
	return sub.st;
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
	while (!l->stopping && l->npending == l->nkept &&
	    pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
		;
}

static void *
ledger_writer_main(void *arg)
{
	struct ledger *l = arg;
	struct ledger_sub **batch;
	struct timespec t0, t1;

	/* A group is taken whole: it may run past batch_max. */
	if ((batch = calloc(l->batch_max + LEDGER_GROUP_MAX,
	    sizeof(*batch))) == NULL)
		abort();	/* startup allocation; nothing to answer yet */
	pthread_mutex_lock(&l->mu);
	for (;;) {
		size_t n = 0;

		while (l->pending == NULL && !l->stopping)
			pthread_cond_wait(&l->cv, &l->mu);
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
		ledger_commit(l, batch, n);
		clock_gettime(CLOCK_MONOTONIC, &t1);

		pthread_mutex_lock(&l->mu);
		ledger_count_block(l, batch, n, (uint64_t)((t1.tv_sec -
		    t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
		for (size_t i = 0; i < n; i++) {
			batch[i]->next = NULL;
			*l->done_tail = batch[i];
			l->done_tail = &batch[i]->next;
		}
		if (l->wake != NULL)
			l->wake(l->wake_arg);
	}
	pthread_mutex_unlock(&l->mu);
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
	(void)commit_sign_last(l, l->w);
	pthread_mutex_unlock(&l->commit_mu);
	l->wake = wake;
	l->wake_arg = wake_arg;
	l->stopping = 0;
	/* Only a backend that other processes write to needs a follower. */
	if (l->w->ops->wait_change != NULL && l->f == NULL &&
	    (l->f = ledger_store_open(l->db, LEDGER_STORE_READONLY |
	    l->store_flags, err, sizeof(err))) == NULL)
		return -1;
	if (pthread_create(&l->thread, NULL, ledger_writer_main, l) != 0)
		return -1;
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
ledger_sub_free(struct ledger_sub *sub)
{
	free(sub->text);
	free(sub);
}

int
ledger_submit(struct ledger *l, const char *entry, size_t len,
    ledger_done_cb cb, void *arg)
{
	return ledger_submit_group(l, &entry, &len, 1, cb, arg);
}

int
ledger_submit_group(struct ledger *l, const char *const *entries,
    const size_t *lens, size_t n, ledger_done_cb cb, void *arg)
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
		pthread_cond_signal(&l->cv);
		rc = 0;
	}
	pthread_mutex_unlock(&l->mu);
out:
	if (rc != 0)
		for (i = 0; i < n; i++)
			if (subs[i] != NULL)
				ledger_sub_free(subs[i]);
	return rc;
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
		pthread_cond_signal(&l->cv);
		rc = 0;
	}
	pthread_mutex_unlock(&l->mu);
out:
	if (rc != 0 && sub != NULL)
		ledger_sub_free(sub);
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
		ledger_sub_free(list);
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
	pthread_join(l->thread, NULL);
	if (l->following)
		pthread_join(l->follower, NULL);
	l->running = l->following = 0;
	ledger_drain(l);
}
