/*
 * store_sqlite_log.c: meta, the log and its blocks on SQLite.
 */
#include <stdlib.h>
#include <string.h>

#include "ledger/store_sqlite_int.h"

int
ss_meta_get(struct ledger_store *s, const char *k, char *v, size_t vlen)
{
	sqlite3_stmt *q = ss_stmt(s, ST_META_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		col_text(q, 0, v, vlen);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
ss_meta_set(struct ledger_store *s, const char *k, const char *v)
{
	sqlite3_stmt *q = ss_stmt(s, ST_META_SET);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, v, -1, SQLITE_STATIC);
	return ss_run(q);
}

int
ss_entry_put(struct ledger_store *s, const struct ledger_entry_info *e)
{
	sqlite3_stmt *q = ss_stmt(s, ST_ENTRY_PUT);

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)e->index);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)e->block);
	sqlite3_bind_int(q, 3, (int)e->type);
	sqlite3_bind_text(q, 4, e->account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)e->seq);
	sqlite3_bind_blob(q, 6, e->leaf_hash, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(q, 7, e->text, (int)e->len, SQLITE_STATIC);
	return ss_run(q);
}

int
ss_entries(struct ledger_store *s, uint64_t from, size_t limit,
    int (*cb)(const struct ledger_entry_info *, void *), void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, ST_ENTRIES);
	struct ledger_entry_info e;
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)from);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		ledger_store_read_entry(SS_ROW(q), &e);
		e.text = sqlite3_column_blob(q, 6);
		e.len = (size_t)sqlite3_column_bytes(q, 6);
		if (e.text == NULL)
			e.text = "";
		if (cb(&e, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
ss_block_put(struct ledger_store *s, const struct ledger_block_row *b)
{
	sqlite3_stmt *q = ss_stmt(s, ST_BLOCK_PUT);

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)b->height);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)b->first);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)b->size);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)b->time);
	sqlite3_bind_blob(q, 5, b->root, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, b->checkpoint, -1, SQLITE_STATIC);
	return ss_run(q);
}

int
ss_block_last(struct ledger_store *s, struct ledger_block_row *b)
{
	sqlite3_stmt *q = ss_stmt(s, ST_BLOCK_LAST);
	int rc;

	if (q == NULL)
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		ledger_store_read_block(SS_ROW(q), b);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
ss_blocks(struct ledger_store *s, uint64_t from,
    int (*cb)(const struct ledger_block_row *, void *), void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, ST_BLOCKS);
	struct ledger_block_row b;
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)from);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		ledger_store_read_block(SS_ROW(q), &b);
		if (cb(&b, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
ss_leaf_hashes(struct ledger_store *s, uint64_t from,
    int (*cb)(uint64_t, const uint8_t *, void *), void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, ST_LEAVES);
	int rc;

	if (q == NULL)
		return -1;
	/* A scan from the start (the open's, verify's count) reads every
	 * entry's row, most of the file: through the map those pages would
	 * stay in the resident set (the whole map at a million, issue
	 * 18).  read() them through the page cache instead, then map again
	 * for the point reads. */
	if (from == 0)
		ss_scan_map(s, 0);
	sqlite3_bind_int64(q, 1, (sqlite3_int64)from);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(q, 1) != LEDGER_HASH_LEN ||
		    cb((uint64_t)sqlite3_column_int64(q, 0),
		    sqlite3_column_blob(q, 1), arg) != 0) {
			rc = SQLITE_ERROR;
			break;
		}
	}
	sqlite3_reset(q);
	if (from == 0)
		ss_scan_map(s, 1);
	return rc == SQLITE_DONE ? 0 : -1;
}
