/*
 * store_pg_cache.c: the rows a write transaction reads ahead (see
 * store_pg.c's top): prefetch queues the reads of what the rules will look
 * up, account_get and config_exists answer from them.
 */
#include <string.h>

#include "ledger/store_pg_int.h"

/* A prefetched row's answer into its cache slot. */
void
pg_cache_fill(struct store_pg *sp, int slot, const PGresult *res)
{
	struct pg_cached *c = &sp->cache[slot];

	if (PQntuples(res) == 0)
		c->state = 2;
	else {
		if (c->id == ST_ACCOUNT_GET)
			ledger_store_read_account(PG_ROW(res, 0), &c->a);
		c->state = 1;
	}
}

/* The cache key of a row: a name, or group \1 version.  0, or -1 when it
 * cannot be one (too long, or holding \1): such a row is never cached. */
static int
pg_cache_key(char *key, const char *a, const char *b)
{
	int n;

	if (a == NULL || strchr(a, '\1') != NULL || (b != NULL &&
	    strchr(b, '\1') != NULL))
		return -1;
	n = b == NULL ? snprintf(key, PG_CACHE_KEY, "%s", a) :
	    snprintf(key, PG_CACHE_KEY, "%s\1%s", a, b);
	return n < 0 || n >= PG_CACHE_KEY ? -1 : 0;
}

static struct pg_cached *
pg_cache_find(struct store_pg *sp, enum stmt_id id, const char *key)
{
	for (size_t i = 0; i < sp->ncache; i++)
		if (sp->cache[i].id == id && strcmp(sp->cache[i].key, key) == 0)
			return &sp->cache[i];
	return NULL;
}

/* The prefetched answer for row (id, a, b), or NULL: read the server. */
const struct pg_cached *
pg_cache_get(struct store_pg *sp, enum stmt_id id, const char *a,
    const char *b)
{
	char key[PG_CACHE_KEY];
	const struct pg_cached *c;

	if (!sp->pipe || sp->pipe_failed || sp->ncache == 0 ||
	    pg_cache_key(key, a, b) != 0)
		return NULL;
	c = pg_cache_find(sp, id, key);
	return c != NULL && c->state != 0 ? c : NULL;
}

/* This transaction writes row (id, a, b): a prefetched answer is stale
 * (even once the write is rolled back to a savepoint: dropping is always
 * safe, the next lookup reads the server). */
void
pg_cache_drop(struct store_pg *sp, enum stmt_id id, const char *a,
    const char *b)
{
	char key[PG_CACHE_KEY];
	struct pg_cached *c;

	if (sp->ncache > 0 && pg_cache_key(key, a, b) == 0 &&
	    (c = pg_cache_find(sp, id, key)) != NULL)
		c->state = 0;
}

/* Queues the read of row (id, a, b) into the next cache slot (once). */
static void
pg_prefetch_one(struct store_pg *sp, enum stmt_id id, const char *a,
    const char *b)
{
	struct pg_params p = { 0 };
	struct pg_cached *c;
	char key[PG_CACHE_KEY];

	if (sp->pipe_failed || sp->ncache >= PG_CACHE_MAX ||
	    pg_cache_key(key, a, b) != 0 || pg_cache_find(sp, id, key) != NULL)
		return;
	c = &sp->cache[sp->ncache];
	c->id = id;
	memcpy(c->key, key, sizeof(c->key));
	c->state = 0;
	p_text(&p, a);
	if (b != NULL)
		p_text(&p, b);
	if (pg_send_slot(sp, id, &p, 0, (int)sp->ncache) != 0)
		return;
	sp->ncache++;
	/* as pg_cmd: room for the next statement and its preparation */
	if (sp->npend + 2 > PG_PIPE_MAX)
		(void)pg_pipe_flush(sp);
}

/* ledger_store_ops.prefetch: every entry's account and every config
 * version published (rules.c looks up both), queued: their answers come
 * with the next read's round trip (the writer's catch-up). */
void
sp_prefetch(struct ledger_store *s, const struct ledger_entry *const *e,
    size_t n)
{
	struct store_pg *sp = SP(s);

	sp->ncache = 0;
	if (!sp->pipe || sp->pipe_failed || (sp->cache == NULL &&
	    (sp->cache = calloc(PG_CACHE_MAX, sizeof(*sp->cache))) == NULL))
		return;
	for (size_t i = 0; i < n; i++) {
		pg_prefetch_one(sp, ST_ACCOUNT_GET, e[i]->account, NULL);
		if (e[i]->type == LEDGER_CONFIG_PUBLISH)
			pg_prefetch_one(sp, ST_CONFIG_GET,
			    ledger_entry_get(e[i], "group"),
			    ledger_entry_get(e[i], "version"));
	}
}
