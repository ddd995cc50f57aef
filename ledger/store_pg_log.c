/*
 * store_pg_log.c: meta, the log and its blocks on PostgreSQL.
 */
#include <string.h>

#include "ledger/store_pg_int.h"

/* ---- meta and the log --------------------------------------------------- */

int
sp_meta_get(struct ledger_store *s, const char *k, char *v, size_t vlen)
{
	struct pg_params p = { 0 };
	PGresult *res;
	int rc = 1;

	p_text(&p, k);
	if ((res = pg_run(SP(s), ST_META_GET, &p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		col_text(res, 0, 0, v, vlen);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
sp_meta_set(struct ledger_store *s, const char *k, const char *v)
{
	struct pg_params p = { 0 };

	p_text(&p, k);
	p_text(&p, v);
	return pg_cmd(SP(s), ST_META_SET, &p, 0);
}

int
sp_entry_put(struct ledger_store *s, const struct ledger_entry_info *e)
{
	struct pg_params p = { 0 };

	if (e->len > LEDGER_ENTRY_MAX) {
		snprintf(SP(s)->err, sizeof(SP(s)->err), "entry too large");
		return -1;
	}
	p_i64(&p, (int64_t)e->index);
	p_i64(&p, (int64_t)e->block);
	p_i64(&p, (int64_t)e->type);
	p_text(&p, e->account);
	p_i64(&p, (int64_t)e->seq);
	p_blob(&p, e->leaf_hash, LEDGER_HASH_LEN);
	p_blob(&p, e->text, e->len);
	return pg_cmd(SP(s), ST_ENTRY_PUT, &p, 0);
}

/* Entries [from, from + limit), a page per statement so that a long walk
 * (verify) holds one page in memory, and callbacks may use the store. */
int
sp_entries(struct ledger_store *s, uint64_t from, size_t limit,
    int (*cb)(const struct ledger_entry_info *, void *), void *arg)
{
	struct ledger_entry_info e;
	size_t done = 0;

	while (done < limit) {
		struct pg_params p = { 0 };
		size_t want = limit - done < PG_PAGE ? limit - done : PG_PAGE;
		PGresult *res;
		int n, stop = 0;

		p_i64(&p, (int64_t)(from + done));
		p_i64(&p, (int64_t)want);
		if ((res = pg_run(SP(s), ST_ENTRIES, &p)) == NULL)
			return -1;
		n = PQntuples(res);
		for (int i = 0; i < n && !stop; i++) {
			char *text;

			/* A damaged hash stays zero: verify reports it. */
			ledger_store_read_entry(PG_ROW(res, i), &e);
			if ((text = pg_col_blob_dup(res, i, 6, &e.len)) == NULL) {
				snprintf(SP(s)->err, sizeof(SP(s)->err),
				    "entry %llu: unreadable data",
				    (unsigned long long)e.index);
				PQclear(res);
				return -1;
			}
			e.text = text;
			stop = cb(&e, arg) != 0;
			free(text);
		}
		PQclear(res);
		if (stop || (size_t)n < want)
			break;
		done += want;
	}
	return 0;
}

int
sp_block_put(struct ledger_store *s, const struct ledger_block_row *b)
{
	struct pg_params p = { 0 };

	p_i64(&p, (int64_t)b->height);
	p_i64(&p, (int64_t)b->first);
	p_i64(&p, (int64_t)b->size);
	p_i64(&p, (int64_t)b->time);
	p_blob(&p, b->root, LEDGER_HASH_LEN);
	p_text(&p, b->checkpoint);
	if (pg_cmd(SP(s), ST_BLOCK_PUT, &p, 0) != 0)
		return -1;
	SP(s)->wrote_block = 1;
	return 0;
}

int
sp_block_sign(struct ledger_store *s, uint64_t height, const char *checkpoint)
{
	struct pg_params p = { 0 };

	p_i64(&p, (int64_t)height);
	p_text(&p, checkpoint);
	if (sp_begin(s) != 0)
		return -1;
	if (pg_cmd(SP(s), ST_BLOCK_SIGN, &p, 0) != 0) {
		sp_rollback(s);
		return -1;
	}
	SP(s)->wrote_block = 1;		/* followers read the signature */
	if (sp_commit(s) != 0) {
		sp_rollback(s);
		return -1;
	}
	return 0;
}

int
sp_block_last(struct ledger_store *s, struct ledger_block_row *b)
{
	PGresult *res;
	int rc = 1;

	if ((res = pg_run(SP(s), ST_BLOCK_LAST, NULL)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		ledger_store_read_block(PG_ROW(res, 0), b);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
sp_blocks(struct ledger_store *s, uint64_t from,
    int (*cb)(const struct ledger_block_row *, void *), void *arg)
{
	struct ledger_block_row b;

	for (;;) {
		struct pg_params p = { 0 };
		PGresult *res;
		int n, stop = 0;

		p_i64(&p, (int64_t)from);
		p_i64(&p, PG_PAGE);
		if ((res = pg_run(SP(s), ST_BLOCKS, &p)) == NULL)
			return -1;
		n = PQntuples(res);
		for (int i = 0; i < n && !stop; i++) {
			ledger_store_read_block(PG_ROW(res, i), &b);
			from = b.height + 1;
			stop = cb(&b, arg) != 0;
		}
		PQclear(res);
		if (stop || n < PG_PAGE)
			return 0;
	}
}

int
sp_leaf_hashes(struct ledger_store *s, uint64_t from,
    int (*cb)(uint64_t, const uint8_t *, void *), void *arg)
{
	uint8_t h[LEDGER_HASH_LEN];
	uint64_t idx = from;

	for (;;) {
		struct pg_params p = { 0 };
		PGresult *res;
		int n, rc = 0;

		p_i64(&p, (int64_t)from);
		p_i64(&p, PG_PAGE);
		if ((res = pg_run(SP(s), ST_LEAVES, &p)) == NULL)
			return -1;
		n = PQntuples(res);
		for (int i = 0; i < n && rc == 0; i++) {
			idx = (uint64_t)col_i64(res, i, 0);
			if (pg_col_blob(res, i, 1, h, sizeof(h)) != 0 ||
			    cb(idx, h, arg) != 0)
				rc = -1;
			from = idx + 1;
		}
		PQclear(res);
		if (rc != 0) {
			snprintf(SP(s)->err, sizeof(SP(s)->err), "entry %llu: "
			    "damaged leaf hash", (unsigned long long)idx);
			return -1;
		}
		if (n < PG_PAGE)
			return 0;
	}
}
