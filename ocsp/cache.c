/*
 * cache.c: the pre-signed responses, one per (issuer, CertID hash,
 * serial), in an OpenSSL LHASH.  Only the event loop's thread touches it:
 * the worker hands finished entries back through the loop.
 *
 * Bounded (issue 18: memory must not grow with the fleet) when made with
 * max > 0: the entries also sit in a ring of max slots swept by a clock
 * hand (the CLOCK approximation of LRU): a hit sets an entry's reference
 * bit, the hand clears set bits as it passes and evicts the first entry
 * whose bit is clear.  An evicted answer is still in the store, or is
 * signed again on demand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ocsp/ocsp_int.h"

struct ocspr_cache {
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

	if (c == NULL)
		return NULL;
	c->max = max;
	if ((max > 0 && (c->ring = calloc(max, sizeof(*c->ring))) == NULL) ||
	    (c->lh = lh_ocspr_entry_new(ocspr_entry_hash,
	    ocspr_entry_cmp)) == NULL ||
	    (c->aliases = lh_ocspr_alias_new(ocspr_alias_hash,
	    ocspr_alias_cmp)) == NULL) {
		lh_ocspr_entry_free(c->lh);
		free(c->ring);
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
	if (e != NULL)
		e->clock_ref = 1;
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

int
ocspr_cache_put(struct ocspr_cache *c, struct ocspr_entry *e)
{
	struct ocspr_entry *old;

	old = lh_ocspr_entry_insert(c->lh, e);
	if (old == NULL && lh_ocspr_entry_error(c->lh) > 0) {
		ocspr_entry_free(e);
		return -1;
	}
	if (c->ring != NULL) {
		/* The replaced entry's slot, else one the hand frees. */
		e->slot = old != NULL ? old->slot : ocspr_cache_victim(c);
		c->ring[e->slot] = e;
	}
	ocspr_entry_free(old);
	return 0;
}

void
ocspr_cache_drop(struct ocspr_cache *c, int issuer, const char *serial)
{
	struct ocspr_entry key;

	memset(&key, 0, sizeof(key));
	key.issuer = issuer;
	if (strlen(serial) > OCSPR_SERIAL_MAX)
		return;
	strcpy(key.serial, serial);
	for (key.md = 0; key.md < OCSPR_NMD; key.md++) {
		struct ocspr_entry *e = lh_ocspr_entry_delete(c->lh, &key);

		if (e != NULL && c->ring != NULL)
			c->ring[e->slot] = NULL;
		ocspr_entry_free(e);
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
	void (*fn)(int, const char *, void *);
	void *arg;
};

static void
ocspr_cache_stale_one(struct ocspr_entry *e, void *arg)
{
	struct ocspr_stale_arg *a = arg;

	/* RFC 5019 and docs/design.md: re-signed when half the validity has
	 * passed.  Both hashes are signed together: report the SHA-1 one. */
	if (e->md == 0 && a->now >= e->this_update +
	    (e->next_update - e->this_update) / 2)
		a->fn(e->issuer, e->serial, a->arg);
}

void
ocspr_cache_stale(struct ocspr_cache *c, time_t now,
    void (*fn)(int issuer, const char *serial, void *), void *arg)
{
	struct ocspr_stale_arg a = { now, fn, arg };

	lh_ocspr_entry_doall_arg(c->lh, ocspr_cache_stale_one, &a);
}
