/*
 * store_pg_int.h: the PostgreSQL backend's store and what its files
 * share (store_pg*.c only; docs/design.md "Storage").
 *
 *   store_pg.c           connection set-up, reconnection, LISTEN, the ops
 *   store_pg_exec.c      running statements: pipeline mode, transactions
 *   store_pg_cache.c     the rows a write transaction reads ahead
 *   store_pg_schema.c    migrations and the statements' SQL
 *   store_pg_log.c       meta, the log and its blocks
 *   store_pg_registry.c  accounts, keys, certificates, configs, preauths
 */
#ifndef KEYBRIDGE_STORE_PG_INT_H
#define KEYBRIDGE_STORE_PG_INT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libpq-fe.h>

#include "ledger/ledger_int.h"
#include "ledger/store_read.h"

#define PG_MAX_PARAMS    16
#define PG_PAGE          1000		/* log rows fetched per statement */
#define PG_CONNECT_TIMEOUT "10"		/* seconds, unless the URL says */
#define PG_BACKOFF_MIN_MS 100		/* reconnect backoff, doubling */
#define PG_BACKOFF_MAX_MS 2000
/* pg_advisory_xact_lock key of the ledger's writers: "kbridge1". */
#define PG_WRITER_LOCK   "7720773228669159729"
#define PG_CHANNEL       "keybridge_ledger"	/* NOTIFY of a new block */
#define PG_PIPE_MAX      256		/* queued statements, then read back */
#define PG_CACHE_MAX     128		/* rows one prefetch reads ahead */
#define PG_CACHE_KEY     (2 * LEDGER_NAME_MAX + 2)

/* The prepared statements; their SQL in the backend's *_schema.c. */
enum stmt_id {
	ST_BEGIN, ST_BEGIN_READ, ST_LOCK, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT,
	ST_RELEASE, ST_ROLLBACK_TO, ST_META_GET, ST_META_SET, ST_ENTRY_PUT,
	ST_ENTRIES, ST_BLOCK_PUT, ST_BLOCK_SIGN, ST_BLOCK_LAST, ST_BLOCKS, ST_LEAVES, ST_ACCOUNT_GET,
	ST_ACCOUNT_PUT, ST_ACCOUNT_SEQ, ST_ACCOUNTS, ST_KEY_GET, ST_KEY_PUT,
	ST_KEY_REVOKE, ST_KEYS, ST_CERT_GET, ST_CERT_PUT, ST_CERT_REVOKE,
	ST_KEY_CERTS, ST_CONFIG_GET, ST_CONFIG_PUT, ST_PREAUTH_GET,
	ST_PREAUTH_PUT, ST_PREAUTH_USE, ST_CERTS, ST_CERTS_REVOKED, ST_CONFIGS,
	ST_CONFIGS_GROUP, ST_CERT_SIGNED_PUT, ST_CERT_SIGNED_GET, ST_CERTS_UNSIGNED, ST_CERTS_LATEST, ST_COUNTERS, ST_COUNT_AGG, ST_NOTIFY, ST_REG_FIRST,
	ST_COUNT = ST_REG_FIRST + LEDGER_REG_N
};

/* A PostgreSQL store: one connection and its session's state. */
struct store_pg {
	struct ledger_store base;	/* first: the interface */
	PGconn *conn;
	int flags;			/* LEDGER_STORE_* */
	unsigned char prepared[ST_COUNT];
	struct timespec retry_at;	/* next reconnect attempt */
	long backoff_ms;
	int in_tx;			/* begin succeeded, no commit/rollback */
	int wrote_block;		/* this transaction: NOTIFY at commit */
	int listening;			/* LISTEN PG_CHANNEL on this session */
	/* Pipeline mode (a write transaction): what was sent and whose
	 * answer is still to be read, in order. */
	int pipe;			/* in pipeline mode */
	int pipe_failed;		/* a statement failed: err says why */
	size_t npend;
	struct pg_pending {
		enum stmt_id id;
		unsigned char prepare;	/* PQsendPrepare of id */
		unsigned char one;	/* exactly one row must change */
		short slot;		/* its answer fills cache[slot]; -1 */
	} pend[PG_PIPE_MAX];
	/* Rows read ahead by prefetch in this transaction (see
	 * store_pg.c's top). */
	struct pg_cached {
		enum stmt_id id;	/* ST_ACCOUNT_GET or ST_CONFIG_GET */
		char key[PG_CACHE_KEY];	/* name, or group \1 version */
		int state;		/* 0 unknown, 1 found, 2 absent */
		struct ledger_account_info a;
	} *cache;
	size_t ncache;
	char err[512];
};

#define SP(s) ((struct store_pg *)(s))

/* Bind parameters, all text but blobs (binary bytea). */
struct pg_params {
	int n;
	const char *v[PG_MAX_PARAMS];
	int len[PG_MAX_PARAMS];
	int fmt[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][24];
};

/* Appends a text parameter (NULL binds SQL NULL), an integer, a blob. */
static inline void
p_text(struct pg_params *p, const char *s)
{
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n++] = 0;
}

static inline void
p_i64(struct pg_params *p, int64_t x)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)x);
	p_text(p, p->num[p->n]);
}

static inline void
p_blob(struct pg_params *p, const void *b, size_t len)
{
	p->v[p->n] = b;
	p->len[p->n] = (int)len;
	p->fmt[p->n++] = 1;
}

/* A text column ("" for NULL) into out; an integer column (0 for NULL). */
static inline void
col_text(const PGresult *r, int row, int col, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", PQgetvalue(r, row, col));
}

static inline int64_t
col_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 :
	    strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- store_pg.c: the connection ----------------------------------------- */

/* Session settings of a (re)established connection; 0 or -1. */
int pg_session(struct store_pg *sp);
/* The connection is usable: 0, or -1 (lost, and not back yet). */
int pg_ready(struct store_pg *sp);

/* ---- store_pg_schema.c: migrations and statements ----------------------- */

/* The SQL of each prepared statement. */
extern const char *const pg_stmt_sql[ST_COUNT];
/* Migrates (LEDGER_STORE_CREATE in flags) or checks that the database
 * holds a ledger of this schema version; 0, or -1 with err. */
int pg_schema_open(struct store_pg *sp, int flags, char *err,
    size_t errlen);

/* ---- store_pg_exec.c: running statements -------------------------------- */

/* Keeps the message of a failed result (one line) for errmsg. */
void pg_seterr(struct store_pg *sp, const PGresult *res);
/* Runs a constant statement without parameters; 0 or -1. */
int pg_simple(struct store_pg *sp, const char *sql);
/* Pipeline mode: queues statement id with p, its answer for cache slot
 * `slot` (-1: none); with `one`, exactly one row must change.  0 or -1. */
int pg_send_slot(struct store_pg *sp, enum stmt_id id,
    const struct pg_params *p, int one, int slot);
/* Pipeline mode: sends what is queued and reads the answers; 0 or -1. */
int pg_pipe_flush(struct store_pg *sp);
/* Runs statement id with p (may be NULL): the result (the caller
 * PQclears it), or NULL with the reason in errmsg. */
PGresult *pg_run(struct store_pg *sp, enum stmt_id id,
    const struct pg_params *p);
/* Runs a statement that returns no rows (queued in pipeline mode); with
 * `one`, exactly one row must change.  0 or -1. */
int pg_cmd(struct store_pg *sp, enum stmt_id id, const struct pg_params *p,
    int one);
/* Row i of result res, for the readers of store_read.h (valid in the
 * enclosing block). */
extern const struct ledger_store_cols_ops pg_cols_ops;
#define PG_ROW(res, i) (&(struct ledger_store_cols){ &pg_cols_ops, (res), (i) })
/* A bytea column of exactly len bytes; 0, or -1. */
int pg_col_blob(const PGresult *r, int row, int col, uint8_t *out,
    size_t len);
/* A bytea column of any length in a new NUL-terminated buffer (the
 * caller frees it), or NULL. */
char *pg_col_blob_dup(const PGresult *r, int row, int col, size_t *len);
/* BEGIN (and the writers' lock); with pipe, in pipeline mode.  0 or -1. */
int pg_begin(struct store_pg *sp, int pipe);
int sp_begin(struct ledger_store *s);
int sp_commit(struct ledger_store *s);
int sp_rollback(struct ledger_store *s);
int sp_savepoint(struct ledger_store *s);
int sp_release(struct ledger_store *s);
int sp_rollback_to(struct ledger_store *s);

/* ---- store_pg_cache.c: rows read ahead ---------------------------------- */

/* A prefetched row's answer into its cache slot. */
void pg_cache_fill(struct store_pg *sp, int slot, const PGresult *res);
/* The prefetched answer for row (id, a, b), or NULL: read the server. */
const struct pg_cached *pg_cache_get(struct store_pg *sp, enum stmt_id id,
    const char *a, const char *b);
/* This transaction writes row (id, a, b): its prefetched answer is stale. */
void pg_cache_drop(struct store_pg *sp, enum stmt_id id, const char *a,
    const char *b);
void sp_prefetch(struct ledger_store *s, const struct ledger_entry *const *e,
    size_t n);

/* The ledger_store_ops below do what ledger_int.h says of each. */

/* ---- store_pg_log.c: meta, the log, blocks ------------------------------ */

int sp_meta_get(struct ledger_store *s, const char *k, char *v, size_t vlen);
int sp_meta_set(struct ledger_store *s, const char *k, const char *v);
int sp_entry_put(struct ledger_store *s, const struct ledger_entry_info *e);
int sp_entries(struct ledger_store *s, uint64_t from, size_t limit,
    int (*cb)(const struct ledger_entry_info *, void *), void *arg);
int sp_block_put(struct ledger_store *s, const struct ledger_block_row *b);
int sp_block_sign(struct ledger_store *s, uint64_t height,
    const char *checkpoint);
int sp_block_last(struct ledger_store *s, struct ledger_block_row *b);
int sp_blocks(struct ledger_store *s, uint64_t from,
    int (*cb)(const struct ledger_block_row *, void *), void *arg);
int sp_leaf_hashes(struct ledger_store *s, uint64_t from,
    int (*cb)(uint64_t, const uint8_t *, void *), void *arg);

/* ---- store_pg_registry.c: the registry ---------------------------------- */

int sp_account_get(struct ledger_store *s, const char *name,
    struct ledger_account_info *a);
int sp_account_put(struct ledger_store *s,
    const struct ledger_account_info *a);
int sp_account_seq(struct ledger_store *s, const char *name, uint64_t seq);
int sp_accounts(struct ledger_store *s,
    int (*cb)(const struct ledger_account_info *, void *), void *arg);
int sp_key_get(struct ledger_store *s, const char *key_id,
    struct ledger_key_info *k, char *csr, size_t csrlen);
int sp_key_put(struct ledger_store *s, const struct ledger_key_info *k,
    const char *csr);
int sp_key_revoke(struct ledger_store *s, const char *key_id, time_t at,
    int reason, uint64_t index);
int sp_keys(struct ledger_store *s, const struct ledger_key_filter *f,
    int (*cb)(const struct ledger_key_info *, void *), void *arg);
int sp_cert_get(struct ledger_store *s, const char *serial,
    struct ledger_cert_info *c);
int sp_key_certs(struct ledger_store *s, const char *key_id,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
int sp_certs(struct ledger_store *s, const char *after, size_t limit,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
int sp_certs_latest(struct ledger_store *s, const char *issuer,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
int sp_certs_unsigned(struct ledger_store *s, const char *account,
    time_t now, uint64_t below,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
int sp_certs_revoked(struct ledger_store *s, const char *issuer, time_t now,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
int sp_cert_put(struct ledger_store *s, const struct ledger_cert_info *c);
int sp_cert_signed_put(struct ledger_store *s, const char *serial,
    const char *b64, const char *sha256);
int sp_cert_signed_get(struct ledger_store *s, const char *serial, char *b64,
    size_t cap);
int sp_cert_revoke(struct ledger_store *s, const char *serial, time_t at,
    int reason, uint64_t index);
int sp_config_exists(struct ledger_store *s, const char *group,
    const char *version);
int sp_config_put(struct ledger_store *s, const char *group,
    const char *version, const char *sha256, int64_t size, const char *file,
    uint64_t index);
int sp_configs(struct ledger_store *s, const char *group,
    int (*cb)(const struct ledger_config_info *, void *), void *arg);
int sp_preauth_get(struct ledger_store *s, const char *id,
    struct ledger_preauth_info *pa);
int sp_preauth_put(struct ledger_store *s,
    const struct ledger_preauth_info *pa);
int sp_preauth_use(struct ledger_store *s, const char *id,
    const char *key_id, uint64_t index);
int sp_counts(struct ledger_store *s, struct ledger_counts *c);
int sp_registry_rows(struct ledger_store *s, int t, const char *after,
    size_t limit, int (*cb)(const char *, const char *, void *), void *arg);

#endif
