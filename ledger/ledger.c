/*
 * ledger.c: opening the ledger, committing blocks (group commit) and the
 * read side.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_int.h"

#define LEDGER_QUEUE_MAX 65536		/* submissions waiting */
#define LEDGER_WHY_MAX   256
#define LEDGER_FOLLOW_WAIT_MS 250	/* follower: one wait, and stop delay */
#define LEDGER_FOLLOW_IDLE_N  4		/* look anyway after this many waits:
					 * a NOTIFY lost in a reconnection */

struct ledger_sub {
	char *text;
	size_t len;
	ledger_done_cb cb;
	void *arg;
	enum ledger_status st;
	struct ledger_receipt r;
	char why[LEDGER_WHY_MAX];
	/* ledger_submit_group: on its first entry, the number of entries
	 * that commit together (0 or 1: a single entry); cb is set on the
	 * last one only. */
	size_t group_n;
	struct ledger_sub *next;
};

struct ledger {
	char *origin;
	char *db;			/* the db string, for the follower */
	int store_flags;		/* LEDGER_STORE_ASYNC_OK or 0 */
	struct ledger_consensus *cons;	/* borrowed; NULL: read-only */
	size_t batch_max;
	struct ledger_store *w;		/* writer's connection */
	struct ledger_store *r;		/* caller thread's connection */
	struct ledger_store *f;		/* follower's connection, or NULL */

	/* The tree and the last commit, read by the caller thread. */
	pthread_rwlock_t tree_lock;
	struct ledger_merkle *tree;
	uint64_t committed;		/* entries in committed blocks */
	uint64_t height;		/* next block height */
	time_t last_time;		/* ledger time of the last block */
	char checkpoint[1024];

	pthread_mutex_t commit_mu;	/* one committer at a time */

	/* Group-commit queue. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread, follower;
	int running, stopping, following;
	struct ledger_sub *pending, **pending_tail;
	size_t npending;
	struct ledger_sub *done, **done_tail;
	void (*wake)(void *);
	void *wake_arg;

	/* Statistics, under mu. */
	struct ledger_stats stats;
};

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

static int
load_leaf(uint64_t idx, const uint8_t *h, void *arg)
{
	struct ledger_merkle *t = arg;

	if (idx != ledger_merkle_size(t))
		return -1;
	return ledger_merkle_append(t, h);
}

/* Loads the tree from the stored leaf hashes and checks it against the
 * last block: a database whose log and blocks disagree is not served. */
static int
ledger_load_state(struct ledger *l, char *err, size_t errlen)
{
	struct ledger_block_row b;
	uint8_t root[LEDGER_HASH_LEN];
	int rc;

	if (l->r->ops->leaf_hashes(l->r, 0, load_leaf, l->tree) != 0) {
		snprintf(err, errlen, "reading the log: entries are missing or "
		    "damaged (run `keybridge ledger verify`)");
		return -1;
	}
	if ((rc = l->r->ops->block_last(l->r, &b)) < 0) {
		snprintf(err, errlen, "reading blocks: %s",
		    l->r->ops->errmsg(l->r));
		return -1;
	}
	if (rc == 1) {
		if (ledger_merkle_size(l->tree) != 0) {
			snprintf(err, errlen, "entries without a block");
			return -1;
		}
		return 0;
	}
	if (b.size != ledger_merkle_size(l->tree) ||
	    ledger_merkle_root(l->tree, b.size, root) != 0 ||
	    memcmp(root, b.root, LEDGER_HASH_LEN) != 0) {
		snprintf(err, errlen, "the log does not match block %llu's "
		    "root hash (run `keybridge ledger verify`)",
		    (unsigned long long)b.height);
		return -1;
	}
	l->committed = b.size;
	l->height = b.height + 1;
	l->last_time = b.time;
	snprintf(l->checkpoint, sizeof(l->checkpoint), "%s", b.checkpoint);
	return 0;
}

/* ledger_load_state inside one transaction: the log and the last block
 * of one moment, while other processes may be appending (PostgreSQL). */
static int
ledger_load(struct ledger *l, char *err, size_t errlen)
{
	int rc;

	if (l->r->ops->begin(l->r) != 0) {
		snprintf(err, errlen, "reading the log: %s",
		    l->r->ops->errmsg(l->r));
		return -1;
	}
	rc = ledger_load_state(l, err, errlen);
	l->r->ops->rollback(l->r);
	return rc;
}

struct ledger *
ledger_open(const struct ledger_config *cfg, char *err, size_t errlen)
{
	struct ledger *l;
	int wflags = LEDGER_STORE_CREATE, aflag = 0;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_rwlock_init(&l->tree_lock, NULL);
	pthread_mutex_init(&l->commit_mu, NULL);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->pending_tail = &l->pending;
	l->done_tail = &l->done;
	l->cons = cfg->consensus;
	l->batch_max = cfg->batch_max > 0 && cfg->batch_max <= LEDGER_BATCH_MAX
	    ? cfg->batch_max : LEDGER_BATCH_MAX;
	/* Every entry carries the origin on an "origin" line (rules.c):
	 * one token of printable ASCII, as C2SP asks of checkpoint origins. */
	for (const char *p = cfg->origin; p != NULL && *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || p - cfg->origin >=
		    LEDGER_ORIGIN_MAX) {
			snprintf(err, errlen, "the ledger origin must be 1 to %d "
			    "printable characters without spaces",
			    LEDGER_ORIGIN_MAX);
			goto fail;
		}
	if (cfg->origin != NULL && cfg->origin[0] == '\0') {
		snprintf(err, errlen, "the ledger origin is empty");
		goto fail;
	}
	if ((l->origin = strdup(cfg->origin != NULL ? cfg->origin :
	    "keybridge/ledger")) == NULL ||
	    (l->db = strdup(cfg->db != NULL ? cfg->db : "")) == NULL ||
	    (l->tree = ledger_merkle_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (l->cons == NULL)
		wflags = LEDGER_STORE_READONLY;
	if (cfg->allow_async_commit)
		aflag = LEDGER_STORE_ASYNC_OK;
	l->store_flags = aflag;
	if ((l->w = ledger_store_open(cfg->db, wflags | aflag, err,
	    errlen)) == NULL)
		goto fail;
	l->w->origin = l->origin;	/* the rules bind entries to it */
	if ((l->r = ledger_store_open(cfg->db, (l->cons == NULL ?
	    LEDGER_STORE_READONLY : 0) | aflag, err, errlen)) == NULL)
		goto fail;
	if (ledger_load(l, err, errlen) != 0)
		goto fail;
	return l;
fail:
	ledger_close(l);
	return NULL;
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
	snprintf(l->checkpoint, sizeof(l->checkpoint), "%s", b.checkpoint);
	pthread_rwlock_unlock(&l->tree_lock);
	rc = (int64_t)(b.size - base);
out:
	free(c.h);
	return rc;
}

/* ---- committing a block ------------------------------------------------ */

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
		sub->st = LEDGER_ERR_STORAGE;
		snprintf(sub->why, LEDGER_WHY_MAX, "storage: %s",
		    s->ops->errmsg(s));
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
		for (size_t j = 0; j < g; j++) {
			subs[j]->st = LEDGER_ERR_STORAGE;
			snprintf(subs[j]->why, LEDGER_WHY_MAX, "storage: %s",
			    s->ops->errmsg(s));
		}
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

/*
 * Commits subs[0..n) as one block: parses each, applies the rules inside a
 * savepoint (a refused entry leaves no trace), appends the accepted ones to
 * the log and the tree, signs the checkpoint and commits.  On a failed
 * commit the tree is truncated back and every accepted entry is answered
 * LEDGER_ERR_STORAGE: nothing is acknowledged that is not durable.
 */
static void
ledger_commit(struct ledger *l, struct ledger_sub **subs, size_t n)
{
	struct ledger_store *s = l->w;
	struct ledger_entry *es = NULL;
	const struct ledger_entry **parsed = NULL;
	struct ledger_block_row b;
	uint64_t base, size;
	size_t accepted = 0, nparsed = 0;
	time_t now;
	char body[512];

	pthread_mutex_lock(&l->commit_mu);
	if ((es = calloc(n, sizeof(*es))) == NULL ||
	    (parsed = calloc(n, sizeof(*parsed))) == NULL ||
	    s->ops->begin(s) != 0) {
		for (size_t i = 0; i < n; i++) {
			subs[i]->st = LEDGER_ERR_STORAGE;
			snprintf(subs[i]->why, LEDGER_WHY_MAX, "cannot start a "
			    "transaction: %s", s->ops->errmsg(s));
		}
		goto out;
	}
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
		for (size_t i = 0; i < n; i++) {
			subs[i]->st = LEDGER_ERR_STORAGE;
			snprintf(subs[i]->why, LEDGER_WHY_MAX, "the stored log "
			    "cannot be followed: %s", s->ops->errmsg(s));
		}
		s->ops->rollback(s);
		goto out;
	}
	now = l->cons->ops->block_time(l->cons, l->last_time);
	base = size = l->committed;
	for (size_t i = 0, g; i < n; i += g) {
		g = subs[i]->group_n > 1 ? subs[i]->group_n : 1;
		if (g > n - i)
			g = n - i;	/* never: groups are taken whole */
		if (g == 1 && subs[i]->st != LEDGER_OK)
			continue;
		ledger_apply_group(l, s, subs + i, es + i, g, &size, now);
	}
	accepted = size - base;
	if (accepted == 0) {
		s->ops->rollback(s);
		goto out;
	}

	/* The block: tree, checkpoint, commit. */
	pthread_rwlock_wrlock(&l->tree_lock);
	for (size_t i = 0; i < n; i++)
		if (subs[i]->st == LEDGER_OK)
			ledger_merkle_append(l->tree, subs[i]->r.leaf_hash);
	pthread_rwlock_unlock(&l->tree_lock);
	memset(&b, 0, sizeof(b));
	b.height = l->height;
	b.first = base;
	b.size = size;
	b.time = now;
	if (ledger_merkle_size(l->tree) != size ||
	    ledger_merkle_root(l->tree, size, b.root) != 0 ||
	    ledger_checkpoint_body(l->origin, size, b.root, now, body,
	    sizeof(body)) != 0 ||
	    l->cons->ops->seal(l->cons, b.height, body, b.checkpoint,
	    sizeof(b.checkpoint)) != 0)
		goto fail;
	if (s->ops->block_put(s, &b) != 0 || s->ops->commit(s) != 0)
		goto fail;

	pthread_rwlock_wrlock(&l->tree_lock);
	l->committed = size;
	l->height++;
	l->last_time = now;
	memcpy(l->checkpoint, b.checkpoint, sizeof(l->checkpoint));
	pthread_rwlock_unlock(&l->tree_lock);
	for (size_t i = 0; i < n; i++) {
		if (subs[i]->st != LEDGER_OK)
			continue;
		subs[i]->r.tree_size = size;
		memcpy(subs[i]->r.checkpoint, b.checkpoint,
		    sizeof(b.checkpoint));
	}
	goto out;
fail:
	s->ops->rollback(s);
	pthread_rwlock_wrlock(&l->tree_lock);
	ledger_merkle_truncate(l->tree, base);
	pthread_rwlock_unlock(&l->tree_lock);
	for (size_t i = 0; i < n; i++)
		if (subs[i]->st == LEDGER_OK) {
			subs[i]->st = LEDGER_ERR_STORAGE;
			snprintf(subs[i]->why, LEDGER_WHY_MAX, "the block could "
			    "not be committed: %s", s->ops->errmsg(s));
		}
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
		while (l->pending != NULL) {
			size_t g = l->pending->group_n > 1 ?
			    l->pending->group_n : 1;

			if (n > 0 && n + g > l->batch_max)
				break;
			for (size_t k = 0; k < g && l->pending != NULL; k++) {
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

void
ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	ledger_writer_stop(l);
	if (l->r != NULL)
		l->r->ops->close(l->r);
	if (l->w != NULL)
		l->w->ops->close(l->w);
	if (l->f != NULL)
		l->f->ops->close(l->f);
	ledger_merkle_free(l->tree);
	pthread_rwlock_destroy(&l->tree_lock);
	pthread_mutex_destroy(&l->commit_mu);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l->origin);
	free(l->db);
	free(l);
}

/* ---- reading ----------------------------------------------------------- */

uint64_t
ledger_size(struct ledger *l)
{
	uint64_t n;

	pthread_rwlock_rdlock(&l->tree_lock);
	n = l->committed;
	pthread_rwlock_unlock(&l->tree_lock);
	return n;
}

int
ledger_checkpoint(struct ledger *l, char *buf, size_t buflen, uint64_t *size)
{
	int rc = -1;

	pthread_rwlock_rdlock(&l->tree_lock);
	if (l->committed > 0 && strlen(l->checkpoint) < buflen) {
		memcpy(buf, l->checkpoint, strlen(l->checkpoint) + 1);
		if (size != NULL)
			*size = l->committed;
		rc = 0;
	}
	pthread_rwlock_unlock(&l->tree_lock);
	return rc;
}

int
ledger_inclusion_proof(struct ledger *l, uint64_t index, uint64_t size,
    uint8_t proof[][LEDGER_HASH_LEN], size_t *n)
{
	int rc = -1;

	pthread_rwlock_rdlock(&l->tree_lock);
	if (size <= l->committed && index < size)
		rc = ledger_merkle_inclusion(l->tree, index, size, proof, n);
	pthread_rwlock_unlock(&l->tree_lock);
	return rc;
}

int
ledger_consistency_proof(struct ledger *l, uint64_t m, uint64_t n,
    uint8_t proof[][LEDGER_HASH_LEN], size_t *nproof)
{
	int rc = -1;

	pthread_rwlock_rdlock(&l->tree_lock);
	if (m > 0 && m <= n && n <= l->committed)
		rc = ledger_merkle_consistency(l->tree, m, n, proof, nproof);
	pthread_rwlock_unlock(&l->tree_lock);
	return rc;
}

int
ledger_root(struct ledger *l, uint64_t size, uint8_t root[LEDGER_HASH_LEN])
{
	int rc = -1;

	pthread_rwlock_rdlock(&l->tree_lock);
	if (size <= l->committed)
		rc = ledger_merkle_root(l->tree, size, root);
	pthread_rwlock_unlock(&l->tree_lock);
	return rc;
}

int
ledger_entries(struct ledger *l, uint64_t from, size_t limit,
    int (*cb)(const struct ledger_entry_info *, void *), void *arg)
{
	uint64_t committed = ledger_size(l);

	if (limit > LEDGER_LIST_MAX)
		limit = LEDGER_LIST_MAX;
	if (from >= committed)
		return 0;
	if (limit > committed - from)
		limit = (size_t)(committed - from);
	return l->r->ops->entries(l->r, from, limit, cb, arg);
}

int
ledger_account_get(struct ledger *l, const char *name,
    struct ledger_account_info *a)
{
	return l->r->ops->account_get(l->r, name, a);
}

int
ledger_accounts(struct ledger *l,
    int (*cb)(const struct ledger_account_info *, void *), void *arg)
{
	return l->r->ops->accounts(l->r, cb, arg);
}

int
ledger_key_get(struct ledger *l, const char *key_id, struct ledger_key_info *k)
{
	return l->r->ops->key_get(l->r, key_id, k, NULL, 0);
}

int
ledger_keys(struct ledger *l, const struct ledger_key_filter *f,
    int (*cb)(const struct ledger_key_info *, void *), void *arg)
{
	return l->r->ops->keys(l->r, f, cb, arg);
}

int
ledger_counts(struct ledger *l, struct ledger_counts *c)
{
	return l->r->ops->counts(l->r, c);
}

int
ledger_cert_get(struct ledger *l, const char *serial,
    struct ledger_cert_info *c)
{
	return l->r->ops->cert_get(l->r, serial, c);
}

struct cert_der_arg {
	uint8_t *der;
	size_t cap, len;
	int found;
};

static int
cert_der_cb(const struct ledger_entry_info *ei, void *arg)
{
	struct cert_der_arg *a = arg;
	struct ledger_entry e;
	const char *b64;
	char why[64];
	int n;

	if (ledger_entry_parse(ei->text, ei->len, &e, why, sizeof(why)) !=
	    LEDGER_OK)
		return 1;
	if (e.type == LEDGER_CERT_ISSUED &&
	    (b64 = ledger_entry_get(&e, "cert")) != NULL &&
	    (n = ledger_b64_decode(b64, strlen(b64), a->der, a->cap)) > 0) {
		a->len = (size_t)n;
		a->found = 1;
	}
	ledger_entry_clear(&e);
	return 0;
}

int
ledger_cert_der(struct ledger *l, const struct ledger_cert_info *c,
    uint8_t *der, size_t cap, size_t *len)
{
	struct cert_der_arg a = { der, cap, 0, 0 };

	if (l->r->ops->entries(l->r, c->issued_index, 1, cert_der_cb, &a) != 0)
		return -1;
	*len = a.len;
	return a.found ? 0 : 1;
}

int
ledger_key_certs(struct ledger *l, const char *key_id,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	return l->r->ops->key_certs(l->r, key_id, cb, arg);
}

int
ledger_cert_revoked(const struct ledger_cert_info *c, time_t *at, int *reason)
{
	int rc = 0;

	if (c->revoked) {
		*at = c->revoked_at;
		*reason = c->reason;
		rc = 1;
	}
	if (c->key_revoked && (!rc || c->key_revoked_at < *at)) {
		*at = c->key_revoked_at;
		*reason = c->key_reason;
		rc = 1;
	}
	return rc;
}

int
ledger_certs(struct ledger *l, const char *after, size_t limit,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	if (limit > LEDGER_LIST_MAX)
		limit = LEDGER_LIST_MAX;
	return l->r->ops->certs(l->r, after, limit, cb, arg);
}

int
ledger_certs_revoked(struct ledger *l, const char *issuer, time_t now,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	return l->r->ops->certs_revoked(l->r, issuer, now, cb, arg);
}

struct changes_arg {
	int (*cb)(const struct ledger_change *, void *);
	void *arg;
	uint64_t next;
	int failed;
};

static int
ledger_changes_one(const struct ledger_entry_info *ei, void *arg)
{
	struct changes_arg *a = arg;
	struct ledger_entry *e = calloc(1, sizeof(*e));
	struct ledger_change ch;
	const char *v;
	char why[LEDGER_WHY_MAX];
	int rc = 0;

	a->next = ei->index + 1;
	if (ei->type != LEDGER_CERT_ISSUED && ei->type != LEDGER_CERT_REVOKED &&
	    ei->type != LEDGER_KEY_REVOKE) {
		free(e);
		return 0;
	}
	if (e == NULL || ledger_entry_parse(ei->text, ei->len, e, why,
	    sizeof(why)) != LEDGER_OK) {
		a->failed = 1;
		rc = 1;
		goto out;
	}
	memset(&ch, 0, sizeof(ch));
	ch.index = ei->index;
	ch.type = ei->type;
	if ((v = ledger_entry_get(e, "serial")) != NULL)
		snprintf(ch.serial, sizeof(ch.serial), "%s", v);
	if ((v = ledger_entry_get(e, "key-id")) != NULL)
		snprintf(ch.key_id, sizeof(ch.key_id), "%s", v);
	if ((v = ledger_entry_get(e, "issuer")) != NULL)
		snprintf(ch.issuer, sizeof(ch.issuer), "%s", v);
	if ((v = ledger_entry_get(e, "supersedes")) != NULL)
		snprintf(ch.supersedes, sizeof(ch.supersedes), "%s", v);
	rc = a->cb(&ch, a->arg);
out:
	if (e != NULL)
		ledger_entry_clear(e);
	free(e);
	return rc;
}

int
ledger_changes(struct ledger *l, uint64_t from, size_t limit, uint64_t *next,
    int (*cb)(const struct ledger_change *, void *), void *arg)
{
	struct changes_arg a = { cb, arg, from, 0 };

	if (ledger_entries(l, from, limit, ledger_changes_one, &a) != 0 ||
	    a.failed)
		return -1;
	*next = a.next;
	return 0;
}

int
ledger_configs(struct ledger *l, const char *group,
    int (*cb)(const struct ledger_config_info *, void *), void *arg)
{
	return l->r->ops->configs(l->r, group, cb, arg);
}

int
ledger_preauth_get(struct ledger *l, const char *id,
    struct ledger_preauth_info *p)
{
	return l->r->ops->preauth_get(l->r, id, p);
}

enum ledger_status
ledger_check_issue(struct ledger *l, const struct ledger_issue_ask *a,
    time_t now, char *why, size_t whylen)
{
	return ledger_rules_check_issue(l->r, a, now, why, whylen);
}

uint64_t
ledger_next_seq(struct ledger *l, const char *account)
{
	struct ledger_account_info a;

	if (ledger_account_get(l, account, &a) != 0)
		return 0;
	return a.seq + 1;
}
