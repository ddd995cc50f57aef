/*
 * catchup.c: the blocks other writers committed (split from commit.c).
 *
 * Several processes on one database: ledger_catch_up loads the blocks the
 * others committed since our last one, under the writers' lock, before
 * this process makes a block of its own.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_state.h"

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
int64_t
ledger_catch_up(struct ledger *l, struct ledger_store *s)
{
	struct ledger_block_row b;
	struct catch_up c;
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t base = l->committed;
	int64_t rc = -1;
	int st, behind = 0;

	if ((st = s->ops->block_last(s, &b)) != 0)
		return st == 1 ? 0 : -1;
	/* The last block we know, signed since by its writer (under the
	 * tree lock: the pipe's sealer publishes too, ledger/pipe.c). */
	if (b.height + 1 == l->height && b.size == l->committed &&
	    b.checkpoint[0] != '\0') {
		pthread_rwlock_rdlock(&l->tree_lock);
		behind = l->final_size < b.size;
		pthread_rwlock_unlock(&l->tree_lock);
	}
	if (behind) {
		pthread_rwlock_wrlock(&l->tree_lock);
		if (l->final_size < b.size) {
			snprintf(l->checkpoint, sizeof(l->checkpoint), "%s",
			    b.checkpoint);
			l->final_size = b.size;
		}
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
	/* Their registry changes, which our rules did not see: the map is
	 * made again (a stale one would only refuse status proofs and our
	 * next checkpoint; docs/design.md "The status map"). */
	if (ledger_map_reload(l, s) != 0)
		l->touch.failed = 1;
	l->committed = b.size;
	l->height = b.height + 1;
	l->last_time = b.time;
	/* Another process's block may not be signed yet (commit_sign):
	 * then no checkpoint until it is (validators: the last final one
	 * stays, commit_keeps_final). */
	if (b.checkpoint[0] != '\0') {
		snprintf(l->checkpoint, sizeof(l->checkpoint), "%s",
		    b.checkpoint);
		l->final_size = b.size;
	} else if (!ledger_commit_keeps_final(l)) {
		l->checkpoint[0] = '\0';
		l->final_size = 0;
	}
	pthread_rwlock_unlock(&l->tree_lock);
	rc = (int64_t)(b.size - base);
out:
	free(c.h);
	return rc;
}
