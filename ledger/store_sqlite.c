/*
 * store_sqlite.c: the embedded storage backend (docs/design.md "Storage"):
 * opening the file, running statements, transactions, the operations
 * table (the other jobs: store_sqlite_int.h lists the files).
 *
 * One file in the data directory, WAL mode with synchronous=FULL, so an
 * acknowledged block survives a crash or a power cut.  Every statement is
 * prepared once with bind parameters; no SQL is ever built from data.
 * The schema is versioned in meta('schema') and migrated forward on open.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/store_sqlite_int.h"

#define SQLITE_BUSY_MS 10000
#define STORE_SYNC_FULL 2	/* PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL */
#define STORE_DB_MODE	0600	/* the database and its -wal and -shm */
#define STORE_DB_GROUP_OTHER 0077

/* Returns the prepared (and reset) statement id, or NULL. */
sqlite3_stmt *
ss_stmt(struct ledger_store *s, enum stmt_id id)
{
	struct store_sqlite *ss = SS(s);

	if (ss->st[id] == NULL) {
		if (sqlite3_prepare_v3(ss->db, ss_stmt_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &ss->st[id], NULL) != SQLITE_OK)
			return NULL;
	} else {
		sqlite3_reset(ss->st[id]);
		sqlite3_clear_bindings(ss->st[id]);
	}
	return ss->st[id];
}

/* Steps a statement that returns no rows; 0 or -1. */
int
ss_run(sqlite3_stmt *q)
{
	int rc;

	if (q == NULL)
		return -1;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- store_read.h's columns of a stepped statement ------------------ */

static const char *
ss_col_text(const struct ledger_store_cols *r, int col)
{
	const unsigned char *t = sqlite3_column_text((sqlite3_stmt *)r->res,
	    col);

	return t != NULL ? (const char *)t : "";
}

static int64_t
ss_col_i64(const struct ledger_store_cols *r, int col)
{
	return sqlite3_column_int64((sqlite3_stmt *)r->res, col);
}

static int
ss_col_null(const struct ledger_store_cols *r, int col)
{
	return sqlite3_column_type((sqlite3_stmt *)r->res, col) ==
	    SQLITE_NULL;
}

static int
ss_col_blob(const struct ledger_store_cols *r, int col, uint8_t *out,
    size_t len)
{
	sqlite3_stmt *q = (sqlite3_stmt *)r->res;

	if ((size_t)sqlite3_column_bytes(q, col) != len)
		return -1;
	memcpy(out, sqlite3_column_blob(q, col), len);
	return 0;
}

const struct ledger_store_cols_ops ss_cols_ops = {
	.text = ss_col_text,
	.i64 = ss_col_i64,
	.null = ss_col_null,
	.blob = ss_col_blob,
};

static int
run_id(struct ledger_store *s, enum stmt_id id)
{
	return ss_run(ss_stmt(s, id));
}

/* The connection's PRAGMA synchronous back to FULL after ss_block_sign.
 * 0, or -1 (it stays marked, and no write transaction begins). */
static int
ss_sync_full(struct ledger_store *s)
{
	if (SS(s)->sync_deferred) {	/* ss_sync_defer: NORMAL stays */
		if (!SS(s)->sync_normal && run_id(s, ST_SYNC_NORMAL) == 0)
			SS(s)->sync_normal = 1;
		return SS(s)->sync_normal ? 0 : -1;
	}
	if (SS(s)->sync_normal && run_id(s, ST_SYNC_FULL) == 0)
		SS(s)->sync_normal = 0;
	return SS(s)->sync_normal ? -1 : 0;
}

/*
 * See ledger_int.h.  The signature's transaction runs with PRAGMA
 * synchronous=NORMAL, FULL again after: its commit writes the log
 * without an fsync of its own (one of the three a block waited for,
 * with the block's commit and the key process's promise), and the next
 * block's commit, whose fsync covers everything written to the log
 * before it, makes it durable.  So a power cut can lose only the last
 * block's signature, never a block's; that block is then stored
 * without its signature, as after a crash between the two commits,
 * and the writer has the same signer sign it again when it starts
 * (ledger_commit_sign_last: the same size, root and time).  A killed
 * process loses nothing: the write is in the page cache.
 */
int
ss_block_sign(struct ledger_store *s, uint64_t height, const char *checkpoint)
{
	sqlite3_stmt *q;
	int rc = -1;

	if (run_id(s, ST_SYNC_NORMAL) != 0)
		return -1;
	SS(s)->sync_normal = 1;
	if (run_id(s, ST_BEGIN) == 0) {
		if ((q = ss_stmt(s, ST_BLOCK_SIGN)) != NULL) {
			sqlite3_bind_int64(q, 1, (sqlite3_int64)height);
			sqlite3_bind_text(q, 2, checkpoint, -1, SQLITE_STATIC);
			rc = ss_run(q);
		}
		if (rc != 0 || run_id(s, ST_COMMIT) != 0) {
			(void)run_id(s, ST_ROLLBACK);
			rc = -1;
		}
	}
	if (ss_sync_full(s) != 0)
		rc = -1;
	return rc;
}

/* See ledger_int.h: the block's UPDATE in the open transaction. */
static int
ss_block_sign_in(struct ledger_store *s, uint64_t height,
    const char *checkpoint)
{
	sqlite3_stmt *q;

	if ((q = ss_stmt(s, ST_BLOCK_SIGN)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)height);
	sqlite3_bind_text(q, 2, checkpoint, -1, SQLITE_STATIC);
	return ss_run(q);
}

/*
 * See ledger_int.h.  The pipelined seal's fsync (ledger/pipe.c): with
 * synchronous=NORMAL a WAL commit writes its frames without an fsync;
 * fdatasync of the -wal file afterwards, from the sealer's thread, makes
 * every frame written before it durable, while the writer goes on with
 * the next transaction.  A checkpoint in between (NORMAL syncs the log
 * before it and the database after it) leaves the frames in the synced
 * database; the log is rewritten from its start only after such a
 * checkpoint.  The -wal file stays while the bridge's connections are
 * open (only the last one to close deletes it).
 */
static int
ss_sync_defer(struct ledger_store *s, int on)
{
	struct store_sqlite *ss = SS(s);
	const char *db;
	char wal[PATH_MAX];

	if (!on) {
		ss->sync_deferred = 0;
		return ss_sync_full(s);
	}
	if (ss->readonly)
		return -1;
	if (ss->wal_fd < 0) {
		if ((db = sqlite3_db_filename(ss->db, "main")) == NULL ||
		    *db == '\0' || (size_t)snprintf(wal, sizeof(wal),
		    "%s-wal", db) >= sizeof(wal) ||
		    (ss->wal_fd = open(wal, O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
	}
	ss->sync_deferred = 1;
	return 0;
}

static int
ss_sync_log(struct ledger_store *s)
{
	return SS(s)->wal_fd >= 0 && fdatasync(SS(s)->wal_fd) == 0 ? 0 : -1;
}

static int
ss_begin(struct ledger_store *s)
{
	if (SS(s)->readonly)
		return run_id(s, ST_BEGIN_READ);
	return ss_sync_full(s) != 0 ? -1 : run_id(s, ST_BEGIN);
}

static int ss_commit(struct ledger_store *s) { return run_id(s, ST_COMMIT); }
static int ss_savepoint(struct ledger_store *s)
{ return run_id(s, ST_SAVEPOINT); }
static int ss_release(struct ledger_store *s)
{ return run_id(s, ST_RELEASE); }
static int ss_rollback_to(struct ledger_store *s)
{ return run_id(s, ST_ROLLBACK_TO); }

static int
ss_rollback(struct ledger_store *s)
{
	/* A failed COMMIT may already have rolled back. */
	if (sqlite3_get_autocommit(SS(s)->db))
		return 0;
	return run_id(s, ST_ROLLBACK);
}

/* See ledger_int.h: a deferred BEGIN, whose snapshot starts at the
 * first read; nothing is written in it. */
static int
ss_read_begin(struct ledger_store *s)
{
	if (!sqlite3_get_autocommit(SS(s)->db))
		return -1;
	return run_id(s, ST_BEGIN_READ);
}

static int
ss_read_end(struct ledger_store *s)
{
	/* A statement's error may have ended it already. */
	if (sqlite3_get_autocommit(SS(s)->db))
		return 0;
	return run_id(s, ST_COMMIT);
}

static const char *
ss_errmsg(struct ledger_store *s)
{
	return sqlite3_errmsg(SS(s)->db);
}

static void
ss_close(struct ledger_store *s)
{
	struct store_sqlite *ss = SS(s);

	if (ss == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(ss->st[i]);
	ledger_keycache_free(ss->base.keys);
	sqlite3_close(ss->db);
	if (ss->wal_fd >= 0)
		close(ss->wal_fd);
	free(ss);
}

static const struct ledger_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = ss_close,
	.begin = ss_begin,
	.commit = ss_commit,
	.rollback = ss_rollback,
	.savepoint = ss_savepoint,
	.release = ss_release,
	.rollback_to = ss_rollback_to,
	.read_begin = ss_read_begin,
	.read_end = ss_read_end,
	.meta_get = ss_meta_get,
	.meta_set = ss_meta_set,
	.entry_put = ss_entry_put,
	.entries = ss_entries,
	.block_put = ss_block_put,
	.block_sign = ss_block_sign,
	.block_sign_in = ss_block_sign_in,
	.sync_defer = ss_sync_defer,
	.sync_log = ss_sync_log,
	.block_last = ss_block_last,
	.blocks = ss_blocks,
	.leaf_hashes = ss_leaf_hashes,
	.account_get = ss_account_get,
	.account_put = ss_account_put,
	.account_seq = ss_account_seq,
	.accounts = ss_accounts,
	.key_get = ss_key_get,
	.key_put = ss_key_put,
	.key_revoke = ss_key_revoke,
	.keys = ss_keys,
	.cert_get = ss_cert_get,
	.cert_put = ss_cert_put,
	.cert_revoke = ss_cert_revoke,
	.cert_signed_put = ss_cert_signed_put,
	.cert_signed_get = ss_cert_signed_get,
	.key_certs = ss_key_certs,
	.certs = ss_certs,
	.certs_revoked = ss_certs_revoked,
	.certs_unsigned = ss_certs_unsigned,
	.certs_latest = ss_certs_latest,
	.config_exists = ss_config_exists,
	.config_put = ss_config_put,
	.configs = ss_configs,
	.preauth_get = ss_preauth_get,
	.preauth_put = ss_preauth_put,
	.preauth_use = ss_preauth_use,
	.counts = ss_counts,
	.registry_rows = ss_registry_rows,
	.errmsg = ss_errmsg,
};

int
ledger_store_sqlite_pragma(struct ledger_store *s, const char *name)
{
	sqlite3_stmt *q = NULL;
	char sql[64];
	int v = -1;

	snprintf(sql, sizeof(sql), "PRAGMA %s", name);
	if (sqlite3_prepare_v2(SS(s)->db, sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

int
ledger_store_sqlite_synchronous(struct ledger_store *s)
{
	return ledger_store_sqlite_pragma(s, "synchronous");
}

/*
 * The database file and its -wal and -shm companions are the writer's
 * alone (issue 16): a new database is created 0600 before SQLite opens it
 * (SQLite gives the -wal and -shm files the database file's mode), and a
 * writer refuses a database, -wal or -shm that group or others may use,
 * with the chmod that fixes it.  Readers (verify, the API's reader) take
 * any mode.  ":memory:", "" (a temporary file, verify's replay) and URI
 * names are left to SQLite.  0, or -1 with
 * err set.
 */
static int
store_sqlite_mode(const char *path, int flags, char *err, size_t errlen)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char p[PATH_MAX];
	struct stat st;
	size_t i;
	int fd;

	if ((flags & LEDGER_STORE_READONLY) || strcmp(path, ":memory:") == 0 ||
	    path[0] == '\0' || strncmp(path, "file:", 5) == 0)
		return 0;
	if ((flags & LEDGER_STORE_CREATE) && (fd = open(path, O_RDWR |
	    O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, STORE_DB_MODE)) >= 0)
		close(fd);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >=
		    sizeof(p)) {
			snprintf(err, errlen, "%s: path too long", path);
			return -1;
		}
		if (stat(p, &st) != 0) {
			if (errno == ENOENT)
				continue;
			snprintf(err, errlen, "%s: %s", p, strerror(errno));
			return -1;
		}
		if ((st.st_mode & STORE_DB_GROUP_OTHER) != 0) {
			snprintf(err, errlen, "%s is open to group or others "
			    "(mode %04o): run chmod 600 %s %s-wal %s-shm (the "
			    "database must be 0600)", p,
			    (unsigned)(st.st_mode & 07777), path, path, path);
			return -1;
		}
	}
	return 0;
}

struct ledger_store *
ledger_store_sqlite_open(const char *path, int flags, char *err,
    size_t errlen)
{
	struct store_sqlite *ss = NULL;
	int oflags;

	if ((ss = calloc(1, sizeof(*ss))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ss->base.ops = &sqlite_ops;
	ss->wal_fd = -1;
	ss->readonly = (flags & LEDGER_STORE_READONLY) != 0;
	if ((ss->base.keys = ledger_keycache_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(ss);
		return NULL;
	}
	oflags = (flags & LEDGER_STORE_READONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | ((flags & LEDGER_STORE_CREATE) ?
	    SQLITE_OPEN_CREATE : 0);
	if (store_sqlite_mode(path, flags, err, errlen) != 0)
		goto fail;
	if (sqlite3_open_v2(path, &ss->db, oflags | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    ss->db != NULL ? sqlite3_errmsg(ss->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(ss->db, SQLITE_BUSY_MS);
	sqlite3_extended_result_codes(ss->db, 1);
	/* Registry reads are point lookups anywhere in the file (the API,
	 * OCSP's misses): the file is mapped rather than read() a page at a
	 * time through a 2 MB cache.  Best effort: plain reads otherwise. */
	if (path[0] != '\0')	/* verify's temporary registry: not mapped */
		(void)sqlite3_exec(ss->db, SS_MMAP_PRAGMA, NULL, NULL,
		    NULL);
	(void)sqlite3_exec(ss->db, "PRAGMA cache_size=-16384", NULL, NULL,
	    NULL);
	/* Each entry is applied inside a savepoint, whose statement journal
	 * SQLite writes to a temporary file once it passes 64 KiB: one
	 * entry's rules touch about 15 pages of the log, the registry and
	 * their indexes, so every entry rewrote that file (a quarter of
	 * `ledger verify`'s replay in pwrite(2)).  Kept in memory; it only
	 * ever holds one entry's pages, and a crash loses the transaction
	 * either way (the WAL is what makes a commit durable). */
	(void)sqlite3_exec(ss->db, "PRAGMA temp_store=MEMORY", NULL, NULL,
	    NULL);
	if (!(flags & LEDGER_STORE_READONLY) &&
	    sqlite3_exec(ss->db, "PRAGMA journal_mode=WAL", NULL, NULL,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(ss->db));
		goto fail;
	}
	/* Every connection, readers too: in WAL mode the last one to close
	 * checkpoints the log into the file, with its own setting.  Read
	 * back, since a build's defaults or a later edit could leave less:
	 * kill -9 cannot show a missing fsync, only a power cut can. */
	if (sqlite3_exec(ss->db, "PRAGMA synchronous=FULL", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    ledger_store_sqlite_synchronous(&ss->base) < STORE_SYNC_FULL) {
		snprintf(err, errlen, "%s: cannot run with PRAGMA synchronous="
		    "FULL: %s", path, sqlite3_errmsg(ss->db));
		goto fail;
	}
	if (ss_schema_open(ss, path, flags, err, errlen) != 0)
		goto fail;
	return &ss->base;
fail:
	ss_close(&ss->base);
	return NULL;
}
