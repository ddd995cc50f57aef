/*
 * store_sqlite_int.h: the SQLite backend's store and what its files
 * share (store_sqlite*.c only; docs/design.md "Storage").
 *
 *   store_sqlite.c           opening, statements, transactions, the ops
 *   store_sqlite_schema.c    migrations and the statements' SQL
 *   store_sqlite_log.c       meta, the log and its blocks
 *   store_sqlite_registry.c  accounts, keys, certificates, configs, preauths
 */
#ifndef KEYBRIDGE_STORE_SQLITE_INT_H
#define KEYBRIDGE_STORE_SQLITE_INT_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <sqlite3.h>

#include "ledger/ledger_int.h"
#include "ledger/store_read.h"

/* The prepared statements; their SQL in the backend's *_schema.c. */
enum stmt_id {
	ST_BEGIN, ST_BEGIN_READ, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE,
	ST_ROLLBACK_TO, ST_META_GET, ST_META_SET, ST_ENTRY_PUT, ST_ENTRIES,
	ST_BLOCK_PUT, ST_BLOCK_SIGN, ST_BLOCK_LAST, ST_BLOCKS, ST_LEAVES, ST_ACCOUNT_GET,
	ST_ACCOUNT_PUT, ST_ACCOUNT_SEQ, ST_ACCOUNTS, ST_KEY_GET, ST_KEY_PUT,
	ST_KEY_REVOKE, ST_KEYS, ST_CERT_GET, ST_CERT_PUT, ST_CERT_REVOKE,
	ST_KEY_CERTS, ST_CONFIG_GET, ST_CONFIG_PUT, ST_PREAUTH_GET,
	ST_PREAUTH_PUT, ST_PREAUTH_USE, ST_CERTS, ST_CERTS_REVOKED, ST_CONFIGS,
	ST_CONFIGS_GROUP, ST_CERT_SIGNED_PUT, ST_CERT_SIGNED_GET, ST_CERTS_UNSIGNED,
	ST_SYNC_NORMAL, ST_SYNC_FULL, ST_CERTS_LATEST, ST_REG_FIRST,
	ST_COUNT = ST_REG_FIRST + LEDGER_REG_N
};

/* An SQLite store: one connection and its prepared statements. */
struct store_sqlite {
	struct ledger_store base;	/* first: the interface */
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int readonly;			/* LEDGER_STORE_READONLY */
	int sync_normal;		/* synchronous=NORMAL not undone yet
					 * (ss_block_sign): no write
					 * transaction begins so */
	int sync_deferred;		/* ss_sync_defer: NORMAL kept, the
					 * log fsynced by ss_sync_log */
	int wal_fd;			/* the -wal file, or -1 */
};

#define SS(s) ((struct store_sqlite *)(s))
/* The file mapped for point reads (store_sqlite.c); a scan of the whole
 * log turns it off (ss_leaf_hashes).  256 MiB, not more: every mapped
 * page a read touched stays in serve's resident set, and at a million
 * certificates (a 2 GB ledger.db) the status reads of OCSP's re-signing
 * and store hits touch all of it: with 1 GiB, VmRSS 1.93-1.97 GB, with
 * 256 MiB 1.24 GB (issue 18's bound is 1.5 GB) and the same OCSP rate
 * (docs/benchmarks.md "The ledger's map and RSS at a million").  Reads
 * past it go through read() and the page cache. */
#define SS_MMAP_PRAGMA "PRAGMA mmap_size=268435456"

/* A scan over much of the file (the log's leaf hashes, every certificate
 * for the start-up pass, an issuer's revoked ones for its CRL) reads
 * through read() and the page cache, not the map: every mapped page it
 * touched would stay in serve's resident set (~1 GB at a million
 * certificates, issue 18).  ss_scan_map(s, 0) before it, (s, 1) after:
 * the point reads keep the map. */
static inline void
ss_scan_map(struct ledger_store *s, int on)
{
	(void)sqlite3_exec(SS(s)->db, on ? SS_MMAP_PRAGMA :
	    "PRAGMA mmap_size=0", NULL, NULL, NULL);
}

/* A text column ("" for NULL) into out. */
static inline void
col_text(sqlite3_stmt *q, int col, char *out, size_t outlen)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	snprintf(out, outlen, "%s", t != NULL ? (const char *)t : "");
}

/* ---- store_sqlite.c: statements ----------------------------------------- */

/* Returns the prepared (and reset) statement id, or NULL. */
sqlite3_stmt *ss_stmt(struct ledger_store *s, enum stmt_id id);
/* Steps a statement that returns no rows; 0 or -1. */
int ss_run(sqlite3_stmt *q);
/* The current row of stepped statement q, for the readers of
 * store_read.h (valid in the enclosing block). */
extern const struct ledger_store_cols_ops ss_cols_ops;
#define SS_ROW(q) (&(struct ledger_store_cols){ &ss_cols_ops, (q), 0 })

/* ---- store_sqlite_schema.c: migrations and statements ------------------- */

/* The SQL of each prepared statement. */
extern const char *const ss_stmt_sql[ST_COUNT];
/* Migrates (LEDGER_STORE_CREATE in flags) or checks that the file holds
 * a ledger of this schema version; 0, or -1 with err. */
int ss_schema_open(struct store_sqlite *ss, const char *path, int flags,
    char *err, size_t errlen);

/* The ledger_store_ops below do what ledger_int.h says of each. */

/* ---- store_sqlite_log.c: meta, the log, blocks -------------------------- */

int ss_meta_get(struct ledger_store *s, const char *k, char *v, size_t vlen);
int ss_meta_set(struct ledger_store *s, const char *k, const char *v);
int ss_entry_put(struct ledger_store *s, const struct ledger_entry_info *e);
int ss_entries(struct ledger_store *s, uint64_t from, size_t limit,
    int (*cb)(const struct ledger_entry_info *, void *), void *arg);
int ss_block_put(struct ledger_store *s, const struct ledger_block_row *b);
int ss_block_sign(struct ledger_store *s, uint64_t height,
    const char *checkpoint);
int ss_block_last(struct ledger_store *s, struct ledger_block_row *b);
int ss_blocks(struct ledger_store *s, uint64_t from,
    int (*cb)(const struct ledger_block_row *, void *), void *arg);
int ss_leaf_hashes(struct ledger_store *s, uint64_t from,
    int (*cb)(uint64_t, const uint8_t *, void *), void *arg);

/* ---- store_sqlite_registry.c: the registry ------------------------------ */

int ss_account_get(struct ledger_store *s, const char *name,
    struct ledger_account_info *a);
int ss_account_put(struct ledger_store *s,
    const struct ledger_account_info *a);
int ss_account_seq(struct ledger_store *s, const char *name, uint64_t seq);
int ss_accounts(struct ledger_store *s,
    int (*cb)(const struct ledger_account_info *, void *), void *arg);
int ss_key_get(struct ledger_store *s, const char *key_id,
    struct ledger_key_info *k, char *csr, size_t csrlen);
int ss_key_put(struct ledger_store *s, const struct ledger_key_info *k,
    const char *csr);
int ss_key_revoke(struct ledger_store *s, const char *key_id, time_t at,
    int reason, uint64_t index);
int ss_keys(struct ledger_store *s, const struct ledger_key_filter *f,
    int (*cb)(const struct ledger_key_info *, void *), void *arg);
int ss_cert_get(struct ledger_store *s, const char *serial,
    struct ledger_cert_info *c);
int ss_key_certs(struct ledger_store *s, const char *key_id,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
int ss_certs(struct ledger_store *s, const char *after, size_t limit,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
int ss_certs_latest(struct ledger_store *s, const char *issuer,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
int ss_certs_unsigned(struct ledger_store *s, const char *account,
    time_t now, uint64_t below,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
int ss_certs_revoked(struct ledger_store *s, const char *issuer, time_t now,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
int ss_cert_put(struct ledger_store *s, const struct ledger_cert_info *c);
int ss_cert_signed_put(struct ledger_store *s, const char *serial,
    const char *b64, const char *sha256);
int ss_cert_signed_get(struct ledger_store *s, const char *serial, char *b64,
    size_t cap);
int ss_cert_revoke(struct ledger_store *s, const char *serial, time_t at,
    int reason, uint64_t index);
int ss_config_exists(struct ledger_store *s, const char *group,
    const char *version);
int ss_config_put(struct ledger_store *s, const char *group,
    const char *version, const char *sha256, int64_t size, const char *file,
    uint64_t index);
int ss_configs(struct ledger_store *s, const char *group,
    int (*cb)(const struct ledger_config_info *, void *), void *arg);
int ss_preauth_get(struct ledger_store *s, const char *id,
    struct ledger_preauth_info *p);
int ss_preauth_put(struct ledger_store *s,
    const struct ledger_preauth_info *p);
int ss_preauth_use(struct ledger_store *s, const char *id,
    const char *key_id, uint64_t index);
int ss_counts(struct ledger_store *s, struct ledger_counts *c);
int ss_registry_rows(struct ledger_store *s, int t, const char *after,
    size_t limit, int (*cb)(const char *, const char *, void *), void *arg);

#endif
