/*
 * store_read.h: one reader per row type for both storage backends
 * (store_pg*.c and store_sqlite*.c only).
 *
 * A backend hands one row of its result (a PGresult row, a stepped
 * sqlite3_stmt) as a struct ledger_store_cols: accessors that read a
 * column by number.  The readers fill the ledger's structs from the
 * columns in the order of the backends' SELECT lists, which are the same
 * in both dialects (store_pg_schema.c, store_sqlite_schema.c), so a row
 * type is read one way whatever the database.
 */
#ifndef KEYBRIDGE_STORE_READ_H
#define KEYBRIDGE_STORE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger_int.h"

/* An account's keys, stored as one space-separated column. */
#define LEDGER_STORE_ACCT_KEYS_LEN (LEDGER_MAX_ACCT_KEYS * 130)

struct ledger_store_cols;

struct ledger_store_cols_ops {
	/* The text of column col, "" for NULL; valid until the row moves. */
	const char *(*text)(const struct ledger_store_cols *, int col);
	/* An integer column, 0 for NULL. */
	int64_t (*i64)(const struct ledger_store_cols *, int col);
	/* 1 when column col is NULL, else 0. */
	int (*null)(const struct ledger_store_cols *, int col);
	/* A blob column of exactly len bytes into out: 0, or -1 (NULL, or
	 * another length). */
	int (*blob)(const struct ledger_store_cols *, int col, uint8_t *out,
	    size_t len);
};

/* One row of a backend's result (borrowed). */
struct ledger_store_cols {
	const struct ledger_store_cols_ops *ops;
	const void *res;	/* PGresult, or sqlite3_stmt */
	int row;		/* PostgreSQL: the row number */
};

/* Each reader zeroes *out, then fills it from the row's columns.  The
 * SELECT lists: the log's in the backends' ST_ENTRIES and ST_BLOCKS, the
 * registry's in ST_ACCOUNTS, KEY_COLS, CERT_COLS, ST_CONFIGS and
 * ST_PREAUTH_GET. */
/* An entry but its text and length (the backend owns or borrows those);
 * a damaged leaf hash stays zero (verify reports it). */
void ledger_store_read_entry(const struct ledger_store_cols *r,
    struct ledger_entry_info *e);
void ledger_store_read_block(const struct ledger_store_cols *r,
    struct ledger_block_row *b);
void ledger_store_read_account(const struct ledger_store_cols *r,
    struct ledger_account_info *a);
/* The CSR (column 14) is copied into csr when csr is not NULL. */
void ledger_store_read_key(const struct ledger_store_cols *r,
    struct ledger_key_info *k, char *csr, size_t csrlen);
void ledger_store_read_cert(const struct ledger_store_cols *r,
    struct ledger_cert_info *c);
void ledger_store_read_config(const struct ledger_store_cols *r,
    struct ledger_config_info *c);
void ledger_store_read_preauth(const struct ledger_store_cols *r,
    struct ledger_preauth_info *p);

/*
 * A listing's rows, each read into buf (owned by the caller) and handed
 * to the caller's callback, which stops the listing by returning
 * non-zero: what every backend's one row iterator (ss_each, pg_each)
 * calls per row.  Set up by ledger_store_each_account / _key / _cert /
 * _config.
 */
struct ledger_store_each {
	int (*visit)(const struct ledger_store_each *e,
	    const struct ledger_store_cols *r);
	union {
		int (*account)(const struct ledger_account_info *, void *);
		int (*key)(const struct ledger_key_info *, void *);
		int (*cert)(const struct ledger_cert_info *, void *);
		int (*config)(const struct ledger_config_info *, void *);
	} cb;
	void *arg;
	void *buf;		/* the struct the row is read into */
};
void ledger_store_each_account(struct ledger_store_each *e,
    int (*cb)(const struct ledger_account_info *, void *), void *arg,
    struct ledger_account_info *buf);
/* Without the CSR (the listings never carry it). */
void ledger_store_each_key(struct ledger_store_each *e,
    int (*cb)(const struct ledger_key_info *, void *), void *arg,
    struct ledger_key_info *buf);
void ledger_store_each_cert(struct ledger_store_each *e,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg,
    struct ledger_cert_info *buf);
void ledger_store_each_config(struct ledger_store_each *e,
    int (*cb)(const struct ledger_config_info *, void *), void *arg,
    struct ledger_config_info *buf);

/* One row (name, n) of the counters table into c (names it does not know
 * are skipped); after the last, ledger_store_read_counters_end sums the
 * entries of every type. */
void ledger_store_read_counter(struct ledger_counts *c, const char *name,
    uint64_t n);
void ledger_store_read_counters_end(struct ledger_counts *c);

/* The bind values of the keys listing (ST_KEYS in both backends) for
 * filter f (may be NULL): after "" from the start, limit within
 * LEDGER_LIST_MAX, status a LEDGER_KEY_* or 0 (any), profile and
 * name_prefix NULL (any); strings borrowed from f. */
struct ledger_store_key_query {
	const char *after;
	int64_t limit;
	int status;
	const char *profile, *name_prefix;
};
void ledger_store_read_key_filter(const struct ledger_key_filter *f,
    struct ledger_store_key_query *kq);

/* An account's keys joined into the column value (out of
 * LEDGER_STORE_ACCT_KEYS_LEN bytes). */
void ledger_store_account_keys(const struct ledger_account_info *a,
    char *out, size_t outlen);

#endif
