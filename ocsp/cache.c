/*
 * cache.c: the pre-signed responses, one per (issuer, CertID hash,
 * serial), in an OpenSSL LHASH.  The main event loop's thread is its
 * one writer (the worker hands finished entries back through the loop) and
 * reads it without a lock; with ocsp_loops > 1 the other OCSP loops read
 * it too (ocspr_cache_get1), under a read-write lock that only put and
 * drop take for writing: lookups, hundreds of thousands a second, share
 * it; revocations and re-signs, a few a second, wait for the readers
 * of the moment.  Writers are preferred, so a revocation is never held
 * back by a stream of lookups.  The alias memory is not locked: each loop
 * has its own (an ocspr_cache of its own used for its aliases only).
 *
 * Bounded (issue 18: memory must not grow with the fleet) when made with
 * max > 0: the entries also sit in a ring of max slots swept by a clock
 * hand (the CLOCK approximation of LRU): a hit sets an entry's reference
 * bit (atomic: the loops' lookups set it under the read lock), the hand
 * clears set bits as it passes and evicts the first entry whose bit is
 * clear, under the write lock.  An evicted answer is still in the store,
 * or is signed again on demand.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ocsp/ocsp_int.h"

struct ocspr_cache {
	pthread_rwlock_t lock;		/* lh: written by the main loop */
	_Atomic uint64_t gen;		/* ocspr_cache_gen */
	LHASH_OF(ocspr_entry) *lh;
	LHASH_OF(ocspr_alias) *aliases;
	struct ocspr_entry **ring;	/* max slots, or NULL: unbounded */
	size_t max, hand;
	uint64_t evictions;
};

static unsigned long
ocspr_alias_hash(const struct ocspr_alias *a)
{
	return OPENSSL_LH_strhash(a->path);
}

static int
ocspr_alias_cmp(const struct ocspr_alias *a, const struct ocspr_alias *b)
{
	return strcmp(a->path, b->path);
}

static void
ocspr_alias_free(struct ocspr_alias *a)
{
	if (a == NULL)
		return;
	ocspr_entry_free(a->memo);
	free(a->path);
	free(a);
}

const struct ocspr_alias *
ocspr_cache_alias_get(struct ocspr_cache *c, const char *path)
{
	struct ocspr_alias key;

	key.path = (char *)path;
	return lh_ocspr_alias_retrieve(c->aliases, &key);
}

void
ocspr_cache_alias_put(struct ocspr_cache *c, const char *path, int issuer,
    int md, const char *serial)
{
	struct ocspr_alias *a;

	if (strlen(path) > OCSPR_ALIAS_PATH_MAX)
		return;
	if (lh_ocspr_alias_num_items(c->aliases) >= OCSPR_ALIAS_MAX) {
		lh_ocspr_alias_doall(c->aliases, ocspr_alias_free);
		lh_ocspr_alias_flush(c->aliases);
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->path = strdup(path)) == NULL) {
		ocspr_alias_free(a);
		return;
	}
	a->issuer = issuer;
	a->md = md;
	snprintf(a->serial, sizeof(a->serial), "%s", serial);
	a = lh_ocspr_alias_insert(c->aliases, a);
	ocspr_alias_free(a);	/* the one replaced, if any */
}

static unsigned long
ocspr_entry_hash(const struct ocspr_entry *e)
{
	return OPENSSL_LH_strhash(e->serial) ^
	    ((unsigned long)e->issuer << 1 | (unsigned long)e->md);
}

static int
ocspr_entry_cmp(const struct ocspr_entry *a, const struct ocspr_entry *b)
{
	if (a->issuer != b->issuer)
		return a->issuer - b->issuer;
	if (a->md != b->md)
		return a->md - b->md;
	return strcmp(a->serial, b->serial);
}

void
ocspr_entry_free(struct ocspr_entry *e)
{
	if (e == NULL || --e->refs > 0)
		return;
	OPENSSL_free(e->der);
	free(e);
}

struct ocspr_cache *
ocspr_cache_new(size_t max)
{
	struct ocspr_cache *c = calloc(1, sizeof(*c));
	pthread_rwlockattr_t ra;

	if (c == NULL)
		return NULL;
	c->max = max;
	if (max > 0 && (c->ring = calloc(max, sizeof(*c->ring))) == NULL) {
		free(c);
		return NULL;
	}
	if (pthread_rwlockattr_init(&ra) != 0) {
		free(c->ring);
		free(c);
		return NULL;
	}
	(void)pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	if (pthread_rwlock_init(&c->lock, &ra) != 0) {
		pthread_rwlockattr_destroy(&ra);
		free(c->ring);
		free(c);
		return NULL;
	}
	pthread_rwlockattr_destroy(&ra);
	if ((c->lh = lh_ocspr_entry_new(ocspr_entry_hash,
	    ocspr_entry_cmp)) == NULL ||
	    (c->aliases = lh_ocspr_alias_new(ocspr_alias_hash,
	    ocspr_alias_cmp)) == NULL) {
		lh_ocspr_entry_free(c->lh);
		free(c->ring);
		pthread_rwlock_destroy(&c->lock);
		free(c);
		return NULL;
	}
	return c;
}

static void
ocspr_cache_free_one(struct ocspr_entry *e)
{
	ocspr_entry_free(e);
}

void
ocspr_cache_free(struct ocspr_cache *c)
{
	if (c == NULL)
		return;
	lh_ocspr_entry_doall(c->lh, ocspr_cache_free_one);
	lh_ocspr_entry_free(c->lh);
	lh_ocspr_alias_doall(c->aliases, ocspr_alias_free);
	lh_ocspr_alias_free(c->aliases);
	free(c->ring);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

const struct ocspr_entry *
ocspr_cache_get(struct ocspr_cache *c, int issuer, int md, const char *serial)
{
	struct ocspr_entry key, *e;

	memset(&key, 0, sizeof(key));
	key.issuer = issuer;
	key.md = md;
	if (strlen(serial) > OCSPR_SERIAL_MAX)
		return NULL;
	strcpy(key.serial, serial);
	e = lh_ocspr_entry_retrieve(c->lh, &key);
	if (e != NULL && !e->clock_ref)
		e->clock_ref = 1;	/* atomic; written only when clear */
	return e;
}

/* The ring slot for a new entry: the hand's first empty slot or first
 * entry not used since the hand last passed, which is evicted.  Ends
 * within two turns: the first turn clears every bit. */
static size_t
ocspr_cache_victim(struct ocspr_cache *c)
{
	struct ocspr_entry *v;
	size_t slot;

	for (;;) {
		slot = c->hand;
		c->hand = (c->hand + 1) % c->max;
		if ((v = c->ring[slot]) == NULL)
			return slot;
		if (v->clock_ref) {
			v->clock_ref = 0;
			continue;
		}
		c->ring[slot] = NULL;
		ocspr_entry_free(lh_ocspr_entry_delete(c->lh, v));
		c->evictions++;
		return slot;
	}
}

uint64_t
ocspr_cache_gen(struct ocspr_cache *c)
{
	return atomic_load_explicit(&c->gen, memory_order_acquire);
}

struct ocspr_entry *
ocspr_cache_get1(struct ocspr_cache *c, int issuer, int md,
    const char *serial)
{
	struct ocspr_entry *e;

	pthread_rwlock_rdlock(&c->lock);
	/* LHASH lookups may run side by side (OpenSSL counts them with
	 * atomics); the reference is taken before a put or drop can free
	 * the entry. */
	if ((e = (struct ocspr_entry *)ocspr_cache_get(c, issuer, md,
	    serial)) != NULL)
		e->refs++;
	pthread_rwlock_unlock(&c->lock);
	return e;
}

int
ocspr_cache_put(struct ocspr_cache *c, struct ocspr_entry *e)
{
	struct ocspr_entry *old;
	int err;

	pthread_rwlock_wrlock(&c->lock);
	old = lh_ocspr_entry_insert(c->lh, e);
	err = old == NULL && lh_ocspr_entry_error(c->lh) > 0;
	if (!err && c->ring != NULL) {
		/* The replaced entry's slot, else one the hand frees (the
		 * victim leaves the hash under this same write lock). */
		e->slot = old != NULL ? old->slot : ocspr_cache_victim(c);
		c->ring[e->slot] = e;
	}
	atomic_fetch_add_explicit(&c->gen, 1, memory_order_release);
	pthread_rwlock_unlock(&c->lock);
	if (err) {
		ocspr_entry_free(e);
		return -1;
	}
	ocspr_entry_free(old);
	return 0;
}

int
ocspr_cache_replace(struct ocspr_cache *c, struct ocspr_entry *e)
{
	struct ocspr_entry *old;
	int rc = 1;

	pthread_rwlock_wrlock(&c->lock);
	if ((old = lh_ocspr_entry_retrieve(c->lh, e)) != NULL) {
		/* Same key, so the same hash slot: insert replaces old. */
		(void)lh_ocspr_entry_insert(c->lh, e);
		if (c->ring != NULL) {
			e->slot = old->slot;
			c->ring[e->slot] = e;
		}
		e->clock_ref = old->clock_ref;
		atomic_fetch_add_explicit(&c->gen, 1, memory_order_release);
		rc = 0;
	}
	pthread_rwlock_unlock(&c->lock);
	ocspr_entry_free(rc == 0 ? old : e);
	return rc;
}

void
ocspr_cache_drop(struct ocspr_cache *c, int issuer, const char *serial)
{
	struct ocspr_entry key, *gone;

	memset(&key, 0, sizeof(key));
	key.issuer = issuer;
	if (strlen(serial) > OCSPR_SERIAL_MAX)
		return;
	strcpy(key.serial, serial);
	for (key.md = 0; key.md < OCSPR_NMD; key.md++) {
		pthread_rwlock_wrlock(&c->lock);
		if ((gone = lh_ocspr_entry_delete(c->lh, &key)) != NULL &&
		    c->ring != NULL)
			c->ring[gone->slot] = NULL;
		atomic_fetch_add_explicit(&c->gen, 1, memory_order_release);
		pthread_rwlock_unlock(&c->lock);
		ocspr_entry_free(gone);
	}
}

uint64_t
ocspr_cache_evictions(struct ocspr_cache *c)
{
	return c->evictions;
}

size_t
ocspr_cache_count(struct ocspr_cache *c)
{
	return (size_t)lh_ocspr_entry_num_items(c->lh);
}

struct ocspr_stale_arg {
	time_t now;
	void (*fn)(struct ocspr_entry *, void *);
	void *arg;
};

static void
ocspr_cache_stale_one(struct ocspr_entry *e, void *arg)
{
	struct ocspr_stale_arg *a = arg;

	/* RFC 5019 and docs/design.md: re-signed when half the validity has
	 * passed.  Both hashes are signed together: report the SHA-1 one,
	 * unless it is queued already. */
	if (e->md == 0 && !e->queued && a->now >= e->this_update +
	    (e->next_update - e->this_update) / 2)
		a->fn(e, a->arg);
}

void
ocspr_cache_stale(struct ocspr_cache *c, time_t now,
    void (*fn)(struct ocspr_entry *, void *), void *arg)
{
	struct ocspr_stale_arg a = { now, fn, arg };

	lh_ocspr_entry_doall_arg(c->lh, ocspr_cache_stale_one, &a);
}
