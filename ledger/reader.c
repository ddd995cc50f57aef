/*
 * reader.c: a read connection of its own to the ledger's store, for a
 * thread that must not share the caller thread's (ledger.c's l->r): the
 * validators consensus reads the entries it sends to a validator from the
 * ledger writer's thread, inside seal(), after the block was committed and
 * before ledger_size() moves to it, so ledger_entries() (capped at the
 * published size, on the loop's connection) cannot serve it.
 */
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_int.h"

struct ledger_reader {
	struct ledger_store *s;
};

/* See ledger.h. */
struct ledger_reader *
ledger_reader_open(const char *db, char *err, size_t errlen)
{
	struct ledger_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((r->s = ledger_store_open(db, LEDGER_STORE_READONLY |
	    LEDGER_STORE_ASYNC_OK, err, errlen)) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

/* See ledger.h. */
int
ledger_reader_entries(struct ledger_reader *r, uint64_t from, size_t limit,
    int (*cb)(const struct ledger_entry_info *, void *), void *arg)
{
	return r->s->ops->entries(r->s, from, limit, cb, arg);
}

/* ledger_reader_block_upto's walk. */
struct block_upto {
	uint64_t from, to;
	uint64_t height;	/* of the block that holds entry `from` */
	int found;
	struct ledger_block_row best;
};

static int
block_upto_entry(const struct ledger_entry_info *e, void *arg)
{
	struct block_upto *u = arg;

	u->height = e->block;
	u->found = 1;
	return 1;
}

static int
block_upto_block(const struct ledger_block_row *b, void *arg)
{
	struct block_upto *u = arg;

	if (b->size > u->to)
		return 1;		/* past the bound: stop */
	if (b->size > u->from && b->checkpoint[0] != '\0') {
		u->best = *b;
		u->found = 2;
	}
	return 0;
}

/* See ledger.h.  From the block that holds entry `from` (its height read
 * off the entry), forward while the sizes stay within `to`. */
int
ledger_reader_block_upto(struct ledger_reader *r, uint64_t from,
    uint64_t to, uint64_t *size, char *note, size_t notelen)
{
	struct block_upto *u;
	int rc = -1;

	if (to <= from || (u = calloc(1, sizeof(*u))) == NULL)
		return -1;
	u->from = from;
	u->to = to;
	if (r->s->ops->entries(r->s, from, 1, block_upto_entry, u) != 0)
		goto out;
	rc = 1;
	if (!u->found)
		goto out;
	u->found = 0;
	if (r->s->ops->blocks(r->s, u->height, block_upto_block, u) != 0) {
		rc = -1;
		goto out;
	}
	if (u->found != 2 || strlen(u->best.checkpoint) >= notelen)
		goto out;
	*size = u->best.size;
	memcpy(note, u->best.checkpoint, strlen(u->best.checkpoint) + 1);
	rc = 0;
out:
	free(u);
	return rc;
}

/* See ledger.h. */
void
ledger_reader_close(struct ledger_reader *r)
{
	if (r == NULL)
		return;
	r->s->ops->close(r->s);
	free(r);
}
