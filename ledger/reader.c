/*
 * reader.c: a read connection of its own to the ledger's store, for a
 * thread that must not share the caller thread's (ledger.c's l->r): the
 * validators consensus reads the entries it sends to a validator from the
 * ledger writer's thread, inside seal(), after the block was committed and
 * before ledger_size() moves to it, so ledger_entries() (capped at the
 * published size, on the loop's connection) cannot serve it.
 */
#include <stdlib.h>

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

/* See ledger.h. */
void
ledger_reader_close(struct ledger_reader *r)
{
	if (r == NULL)
		return;
	r->s->ops->close(r->s);
	free(r);
}
