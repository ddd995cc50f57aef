/*
 * store_sqlite.c: the embedded storage backend (DESIGN.md "Storage").
 *
 * One file in the data directory, WAL mode with synchronous=FULL, so an
 * acknowledged block survives a crash or a power cut.  Every statement is
 * prepared once with bind parameters; no SQL is ever built from data.
 * The schema is versioned in meta('schema') and migrated forward on open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ledger/ledger_int.h"

#define SQLITE_BUSY_MS 10000
#define STORE_SYNC_FULL 2	/* PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL */

/* Schema migrations, applied in order; index + 1 is the version. */
static const char *const migrations[] = {
	/* 1: the log, its blocks and the registry derived from it. */
	"CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
	"CREATE TABLE entries(idx INTEGER PRIMARY KEY, block INTEGER NOT NULL,"
	" type INTEGER NOT NULL, account TEXT NOT NULL, seq INTEGER NOT NULL,"
	" leaf_hash BLOB NOT NULL, data BLOB NOT NULL);"
	"CREATE TABLE blocks(height INTEGER PRIMARY KEY, first INTEGER NOT NULL,"
	" size INTEGER NOT NULL, time INTEGER NOT NULL, root BLOB NOT NULL,"
	" checkpoint TEXT NOT NULL);"
	"CREATE TABLE accounts(name TEXT PRIMARY KEY, role TEXT NOT NULL,"
	" threshold INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" created_idx INTEGER NOT NULL, keys TEXT NOT NULL);"
	"CREATE TABLE keys(key_id TEXT PRIMARY KEY, account TEXT NOT NULL,"
	" name TEXT NOT NULL, profile TEXT NOT NULL, spki TEXT NOT NULL,"
	" dns TEXT NOT NULL, ip TEXT NOT NULL,"
	" not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
	" status INTEGER NOT NULL, revoked_at INTEGER, reason INTEGER,"
	" registered_idx INTEGER NOT NULL, revoked_idx INTEGER, csr TEXT);"
	"CREATE INDEX keys_by_status ON keys(status, key_id);"
	"CREATE INDEX keys_by_name ON keys(name);"
	"CREATE TABLE certs(serial TEXT PRIMARY KEY, issuer TEXT NOT NULL,"
	" key_id TEXT NOT NULL, profile TEXT NOT NULL,"
	" not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
	" cert_sha256 TEXT NOT NULL, revoked INTEGER NOT NULL,"
	" revoked_at INTEGER, reason INTEGER, issued_idx INTEGER NOT NULL,"
	" revoked_idx INTEGER);"
	"CREATE INDEX certs_by_key ON certs(key_id);"
	"CREATE TABLE configs(grp TEXT NOT NULL, version TEXT NOT NULL,"
	" sha256 TEXT NOT NULL, size INTEGER, file TEXT, idx INTEGER NOT NULL,"
	" PRIMARY KEY(grp, version));",
	/* 2: pre-authorisations for keys the bridge generates (serverkeygen). */
	"CREATE TABLE preauths(id TEXT PRIMARY KEY, account TEXT NOT NULL,"
	" name TEXT NOT NULL, profile TEXT NOT NULL, dns TEXT NOT NULL,"
	" ip TEXT NOT NULL, not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL, expires INTEGER NOT NULL,"
	" secret_sha256 TEXT NOT NULL, created_idx INTEGER NOT NULL,"
	" used_key TEXT, used_idx INTEGER);",
	/* 3: the CRL's revoked set without a scan of every certificate. */
	"CREATE INDEX IF NOT EXISTS certs_revoked ON certs(issuer, not_after)"
	" WHERE revoked = 1;",
	/*
	 * 4: counts kept as the rows change, so that /api/v1/status and
	 * /metrics read a few rows instead of counting 100,000 certificates
	 * with a join on every request.  The triggers run inside the block's
	 * transaction: the counts are always those of the committed rows.
	 * A certificate counts as revoked when it or its key is (as OCSP
	 * answers); a key is never un-revoked.  Seeded from the rows there.
	 */
	"CREATE TABLE counters(name TEXT PRIMARY KEY, n INTEGER NOT NULL);"
	"INSERT INTO counters(name, n)"
	" SELECT 'entries', count(*) FROM entries"
	" UNION ALL SELECT 'blocks', count(*) FROM blocks"
	" UNION ALL SELECT 'keys_active', count(*) FROM keys WHERE status = 1"
	" UNION ALL SELECT 'keys_revoked', count(*) FROM keys WHERE status = 2"
	" UNION ALL SELECT 'certs_good', count(*) FROM certs c JOIN keys k"
	"  ON k.key_id = c.key_id WHERE c.revoked = 0 AND k.status = 1"
	" UNION ALL SELECT 'certs_revoked', count(*) FROM certs c JOIN keys k"
	"  ON k.key_id = c.key_id WHERE c.revoked = 1 OR k.status = 2"
	" UNION ALL SELECT 'type:' || type, count(*) FROM entries"
	"  GROUP BY type;"
	"CREATE TRIGGER count_entries AFTER INSERT ON entries BEGIN"
	" UPDATE counters SET n = n + 1 WHERE name = 'entries';"
	" INSERT INTO counters(name, n) VALUES ('type:' || NEW.type, 1)"
	"  ON CONFLICT(name) DO UPDATE SET n = n + 1;"
	" END;"
	"CREATE TRIGGER count_blocks AFTER INSERT ON blocks BEGIN"
	" UPDATE counters SET n = n + 1 WHERE name = 'blocks';"
	" END;"
	"CREATE TRIGGER count_keys AFTER INSERT ON keys BEGIN"
	" UPDATE counters SET n = n + 1 WHERE name ="
	"  CASE NEW.status WHEN 1 THEN 'keys_active' ELSE 'keys_revoked' END;"
	" END;"
	"CREATE TRIGGER count_key_revoked AFTER UPDATE OF status ON keys"
	" WHEN OLD.status = 1 AND NEW.status = 2 BEGIN"
	" UPDATE counters SET n = n - 1 WHERE name = 'keys_active';"
	" UPDATE counters SET n = n + 1 WHERE name = 'keys_revoked';"
	" UPDATE counters SET n = n + CASE name WHEN 'certs_good' THEN -1"
	"  ELSE 1 END * (SELECT count(*) FROM certs WHERE key_id = NEW.key_id"
	"  AND revoked = 0) WHERE name IN ('certs_good', 'certs_revoked');"
	" END;"
	"CREATE TRIGGER count_certs AFTER INSERT ON certs BEGIN"
	" UPDATE counters SET n = n + 1 WHERE name = CASE WHEN NEW.revoked = 0"
	"  AND (SELECT status FROM keys WHERE key_id = NEW.key_id) = 1"
	"  THEN 'certs_good' ELSE 'certs_revoked' END;"
	" END;"
	"CREATE TRIGGER count_cert_revoked AFTER UPDATE OF revoked ON certs"
	" WHEN OLD.revoked = 0 AND NEW.revoked = 1 AND"
	" (SELECT status FROM keys WHERE key_id = NEW.key_id) = 1 BEGIN"
	" UPDATE counters SET n = n + CASE name WHEN 'certs_good' THEN -1"
	"  ELSE 1 END WHERE name IN ('certs_good', 'certs_revoked');"
	" END;"
	/* Certificates expiring soon: a range of this index, not a scan. */
	"CREATE INDEX certs_good_by_expiry ON certs(not_after)"
	" WHERE revoked = 0;",
	/*
	 * 5: one counter statement per appended entry, not two, and none per
	 * block (appending is the hot path): the entries count is the sum
	 * of the per-type counts, the blocks count the last height + 1.
	 */
	"DROP TRIGGER count_entries;"
	"DROP TRIGGER count_blocks;"
	"DELETE FROM counters WHERE name IN ('entries', 'blocks');"
	"CREATE TRIGGER count_entries AFTER INSERT ON entries BEGIN"
	" INSERT INTO counters(name, n) VALUES ('type:' || NEW.type, 1)"
	"  ON CONFLICT(name) DO UPDATE SET n = n + 1;"
	" END;",
};
#define SCHEMA_VERSION (sizeof(migrations) / sizeof(migrations[0]))

enum stmt_id {
	ST_BEGIN, ST_BEGIN_READ, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE,
	ST_ROLLBACK_TO, ST_META_GET, ST_META_SET, ST_ENTRY_PUT, ST_ENTRIES,
	ST_BLOCK_PUT, ST_BLOCK_LAST, ST_BLOCKS, ST_LEAVES, ST_ACCOUNT_GET,
	ST_ACCOUNT_PUT, ST_ACCOUNT_SEQ, ST_ACCOUNTS, ST_KEY_GET, ST_KEY_PUT, ST_KEY_REVOKE,
	ST_KEYS, ST_CERT_GET, ST_CERT_PUT, ST_CERT_REVOKE,
	ST_KEY_CERTS, ST_CONFIG_GET, ST_CONFIG_PUT, ST_PREAUTH_GET,
	ST_PREAUTH_PUT, ST_PREAUTH_USE, ST_CERTS, ST_CERTS_REVOKED, ST_CONFIGS,
	ST_CONFIGS_GROUP, ST_REG_FIRST,
	ST_COUNT = ST_REG_FIRST + LEDGER_REG_N
};

/* A certificate with its key's revocation (ledger_cert_info). */
#define CERT_COLS "SELECT c.serial, c.issuer, c.key_id, c.profile," \
	" c.not_before, c.not_after, c.cert_sha256, c.revoked, c.revoked_at," \
	" c.reason, c.issued_idx, c.revoked_idx, k.status, k.revoked_at," \
	" k.reason FROM certs c LEFT JOIN keys k ON k.key_id = c.key_id"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",	/* the snapshot starts at the first read */
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT entry",
	[ST_RELEASE] = "RELEASE entry",
	[ST_ROLLBACK_TO] = "ROLLBACK TO entry",
	[ST_META_GET] = "SELECT v FROM meta WHERE k = ?1",
	[ST_META_SET] = "INSERT OR REPLACE INTO meta(k, v) VALUES (?1, ?2)",
	[ST_ENTRY_PUT] = "INSERT INTO entries(idx, block, type, account, seq,"
	    " leaf_hash, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_ENTRIES] = "SELECT e.idx, e.block, e.type, e.account, e.seq,"
	    " e.leaf_hash, e.data, b.time FROM entries e"
	    " LEFT JOIN blocks b ON b.height = e.block"
	    " WHERE e.idx >= ?1 ORDER BY e.idx LIMIT ?2",
	[ST_BLOCK_PUT] = "INSERT INTO blocks(height, first, size, time, root,"
	    " checkpoint) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_BLOCK_LAST] = "SELECT height, first, size, time, root, checkpoint"
	    " FROM blocks ORDER BY height DESC LIMIT 1",
	[ST_BLOCKS] = "SELECT height, first, size, time, root, checkpoint"
	    " FROM blocks WHERE height >= ?1 ORDER BY height",
	[ST_LEAVES] = "SELECT idx, leaf_hash FROM entries WHERE idx >= ?1"
	    " ORDER BY idx",
	[ST_ACCOUNT_GET] = "SELECT name, role, threshold, seq, created_idx,"
	    " keys FROM accounts WHERE name = ?1",
	[ST_ACCOUNT_PUT] = "INSERT OR REPLACE INTO accounts(name, role,"
	    " threshold, seq, created_idx, keys) VALUES (?1,?2,?3,?4,?5,?6)",
	[ST_ACCOUNT_SEQ] = "UPDATE accounts SET seq = ?2 WHERE name = ?1",
	[ST_ACCOUNTS] = "SELECT name, role, threshold, seq, created_idx, keys"
	    " FROM accounts ORDER BY name",
	[ST_KEY_GET] = "SELECT key_id, account, name, profile, spki, dns, ip,"
	    " not_before, not_after, status, revoked_at, reason,"
	    " registered_idx, revoked_idx, csr FROM keys WHERE key_id = ?1",
	[ST_KEY_PUT] = "INSERT INTO keys(key_id, account, name, profile, spki,"
	    " dns, ip, not_before, not_after, status, registered_idx, csr)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
	[ST_KEY_REVOKE] = "UPDATE keys SET status = 2, revoked_at = ?2,"
	    " reason = ?3, revoked_idx = ?4 WHERE key_id = ?1 AND status = 1",
	/* filters: ?3 status, ?4 profile, ?5 name prefix; NULL: any */
	[ST_KEYS] = "SELECT key_id, account, name, profile, spki, dns, ip,"
	    " not_before, not_after, status, revoked_at, reason,"
	    " registered_idx, revoked_idx, csr FROM keys WHERE key_id > ?1"
	    " AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR profile = ?4)"
	    " AND (?5 IS NULL OR substr(name, 1, length(?5)) = ?5)"
	    " ORDER BY key_id LIMIT ?2",
	[ST_CERT_GET] = CERT_COLS " WHERE c.serial = ?1",
	[ST_KEY_CERTS] = CERT_COLS " WHERE c.key_id = ?1 ORDER BY c.issued_idx",
	[ST_CERTS] = CERT_COLS " WHERE c.serial > ?1 ORDER BY c.serial"
	    " LIMIT ?2",
	/* Revoked on their own (partial index certs_revoked), then through
	 * their key (keys_by_status, certs_by_key); unexpired only. */
	/* newest first within a group: the current version leads */
	[ST_CONFIGS] = "SELECT grp, version, sha256, size, file, idx FROM"
	    " configs WHERE grp > ?1 ORDER BY grp, idx DESC",
	[ST_CONFIGS_GROUP] = "SELECT grp, version, sha256, size, file, idx"
	    " FROM configs WHERE grp = ?1 ORDER BY idx DESC",
	[ST_CERTS_REVOKED] = CERT_COLS " WHERE c.issuer = ?1 AND"
	    " c.not_after > ?2 AND c.revoked = 1"
	    " UNION ALL " CERT_COLS " WHERE k.status = 2 AND c.revoked = 0"
	    " AND c.issuer = ?1 AND c.not_after > ?2",
	[ST_CERT_PUT] = "INSERT INTO certs(serial, issuer, key_id, profile,"
	    " not_before, not_after, cert_sha256, revoked, issued_idx)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,0,?8)",
	[ST_CERT_REVOKE] = "UPDATE certs SET revoked = 1, revoked_at = ?2,"
	    " reason = ?3, revoked_idx = ?4 WHERE serial = ?1 AND revoked = 0",
	[ST_PREAUTH_GET] = "SELECT id, account, name, profile, dns, ip,"
	    " not_before, not_after, expires, secret_sha256, created_idx,"
	    " used_key, used_idx FROM preauths WHERE id = ?1",
	[ST_PREAUTH_PUT] = "INSERT INTO preauths(id, account, name, profile,"
	    " dns, ip, not_before, not_after, expires, secret_sha256,"
	    " created_idx) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
	[ST_PREAUTH_USE] = "UPDATE preauths SET used_key = ?2, used_idx = ?3"
	    " WHERE id = ?1 AND used_key IS NULL",
	[ST_CONFIG_GET] = "SELECT 1 FROM configs WHERE grp = ?1 AND"
	    " version = ?2",
	[ST_CONFIG_PUT] = "INSERT INTO configs(grp, version, sha256, size,"
	    " file, idx) VALUES (?1,?2,?3,?4,?5,?6)",
	/* verify's walk: the key, then every column (ledger_int.h) */
	[ST_REG_FIRST + LEDGER_REG_ACCOUNTS] = "SELECT name, "
	    LEDGER_REG_COLS_ACCOUNTS " FROM accounts WHERE name > ?1"
	    " ORDER BY name LIMIT ?2",
	[ST_REG_FIRST + LEDGER_REG_KEYS] = "SELECT key_id, "
	    LEDGER_REG_COLS_KEYS " FROM keys WHERE key_id > ?1"
	    " ORDER BY key_id LIMIT ?2",
	[ST_REG_FIRST + LEDGER_REG_CERTS] = "SELECT serial, "
	    LEDGER_REG_COLS_CERTS " FROM certs WHERE serial > ?1"
	    " ORDER BY serial LIMIT ?2",
	/* configs: the key "grp\1version" orders as (grp, version) (names
	 * hold no control character), and the row value walks the primary
	 * key's index instead of sorting the table for every page */
	[ST_REG_FIRST + LEDGER_REG_CONFIGS] = "SELECT grp || char(1) ||"
	    " version, " LEDGER_REG_COLS_CONFIGS " FROM configs WHERE"
	    " (grp, version) > (?1, ?3) ORDER BY grp, version LIMIT ?2",
	[ST_REG_FIRST + LEDGER_REG_PREAUTHS] = "SELECT id, "
	    LEDGER_REG_COLS_PREAUTHS " FROM preauths WHERE id > ?1"
	    " ORDER BY id LIMIT ?2",
};

struct store_sqlite {
	struct ledger_store base;	/* first: the interface */
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int readonly;			/* LEDGER_STORE_READONLY */
};

#define SS(s) ((struct store_sqlite *)(s))

/* Returns the prepared (and reset) statement id, or NULL. */
static sqlite3_stmt *
stmt(struct ledger_store *s, enum stmt_id id)
{
	struct store_sqlite *ss = SS(s);

	if (ss->st[id] == NULL) {
		if (sqlite3_prepare_v3(ss->db, stmt_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &ss->st[id], NULL) != SQLITE_OK)
			return NULL;
	} else {
		sqlite3_reset(ss->st[id]);
		sqlite3_clear_bindings(ss->st[id]);
	}
	return ss->st[id];
}

/* Steps a statement that returns no rows; 0 or -1. */
static int
run(sqlite3_stmt *q)
{
	int rc;

	if (q == NULL)
		return -1;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
run_id(struct ledger_store *s, enum stmt_id id)
{
	return run(stmt(s, id));
}

static int
ss_begin(struct ledger_store *s)
{
	return run_id(s, SS(s)->readonly ? ST_BEGIN_READ : ST_BEGIN);
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

static const char *
ss_errmsg(struct ledger_store *s)
{
	return sqlite3_errmsg(SS(s)->db);
}

static void
col_text(sqlite3_stmt *q, int col, char *out, size_t outlen)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	snprintf(out, outlen, "%s", t != NULL ? (const char *)t : "");
}

static int
ss_meta_get(struct ledger_store *s, const char *k, char *v, size_t vlen)
{
	sqlite3_stmt *q = stmt(s, ST_META_GET);
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

static int
ss_meta_set(struct ledger_store *s, const char *k, const char *v)
{
	sqlite3_stmt *q = stmt(s, ST_META_SET);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, v, -1, SQLITE_STATIC);
	return run(q);
}

static int
ss_entry_put(struct ledger_store *s, const struct ledger_entry_info *e)
{
	sqlite3_stmt *q = stmt(s, ST_ENTRY_PUT);

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)e->index);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)e->block);
	sqlite3_bind_int(q, 3, (int)e->type);
	sqlite3_bind_text(q, 4, e->account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)e->seq);
	sqlite3_bind_blob(q, 6, e->leaf_hash, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(q, 7, e->text, (int)e->len, SQLITE_STATIC);
	return run(q);
}

static int
ss_entries(struct ledger_store *s, uint64_t from, size_t limit,
    int (*cb)(const struct ledger_entry_info *, void *), void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_ENTRIES);
	struct ledger_entry_info e;
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)from);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.index = (uint64_t)sqlite3_column_int64(q, 0);
		e.block = (uint64_t)sqlite3_column_int64(q, 1);
		e.type = (enum ledger_entry_type)sqlite3_column_int(q, 2);
		col_text(q, 3, e.account, sizeof(e.account));
		e.seq = (uint64_t)sqlite3_column_int64(q, 4);
		if (sqlite3_column_bytes(q, 5) == LEDGER_HASH_LEN)
			memcpy(e.leaf_hash, sqlite3_column_blob(q, 5),
			    LEDGER_HASH_LEN);
		e.text = sqlite3_column_blob(q, 6);
		e.len = (size_t)sqlite3_column_bytes(q, 6);
		if (e.text == NULL)
			e.text = "";
		e.ledger_time = (time_t)sqlite3_column_int64(q, 7);
		if (cb(&e, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
ss_block_put(struct ledger_store *s, const struct ledger_block_row *b)
{
	sqlite3_stmt *q = stmt(s, ST_BLOCK_PUT);

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)b->height);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)b->first);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)b->size);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)b->time);
	sqlite3_bind_blob(q, 5, b->root, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, b->checkpoint, -1, SQLITE_STATIC);
	return run(q);
}

static void
block_row(sqlite3_stmt *q, struct ledger_block_row *b)
{
	memset(b, 0, sizeof(*b));
	b->height = (uint64_t)sqlite3_column_int64(q, 0);
	b->first = (uint64_t)sqlite3_column_int64(q, 1);
	b->size = (uint64_t)sqlite3_column_int64(q, 2);
	b->time = (time_t)sqlite3_column_int64(q, 3);
	if (sqlite3_column_bytes(q, 4) == LEDGER_HASH_LEN)
		memcpy(b->root, sqlite3_column_blob(q, 4), LEDGER_HASH_LEN);
	col_text(q, 5, b->checkpoint, sizeof(b->checkpoint));
}

static int
ss_block_last(struct ledger_store *s, struct ledger_block_row *b)
{
	sqlite3_stmt *q = stmt(s, ST_BLOCK_LAST);
	int rc;

	if (q == NULL)
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		block_row(q, b);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

static int
ss_blocks(struct ledger_store *s, uint64_t from,
    int (*cb)(const struct ledger_block_row *, void *), void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_BLOCKS);
	struct ledger_block_row b;
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)from);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		block_row(q, &b);
		if (cb(&b, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
ss_leaf_hashes(struct ledger_store *s, uint64_t from,
    int (*cb)(uint64_t, const uint8_t *, void *), void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_LEAVES);
	int rc;

	if (q == NULL)
		return -1;
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
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Account keys are stored as one space-separated column: they are only
 * ever read and written together. */
static void
account_row(sqlite3_stmt *q, struct ledger_account_info *a)
{
	char keys[LEDGER_MAX_ACCT_KEYS * 130], *tok, *save = NULL;

	memset(a, 0, sizeof(*a));
	col_text(q, 0, a->name, sizeof(a->name));
	col_text(q, 1, a->role, sizeof(a->role));
	a->threshold = sqlite3_column_int(q, 2);
	a->seq = (uint64_t)sqlite3_column_int64(q, 3);
	a->created_index = (uint64_t)sqlite3_column_int64(q, 4);
	col_text(q, 5, keys, sizeof(keys));
	for (tok = strtok_r(keys, " ", &save); tok != NULL &&
	    a->nkeys < LEDGER_MAX_ACCT_KEYS; tok = strtok_r(NULL, " ", &save))
		snprintf(a->keys[a->nkeys++], sizeof(a->keys[0]), "%s", tok);
}

static int
ss_account_get(struct ledger_store *s, const char *name,
    struct ledger_account_info *a)
{
	sqlite3_stmt *q = stmt(s, ST_ACCOUNT_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		account_row(q, a);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

static int
ss_account_put(struct ledger_store *s, const struct ledger_account_info *a)
{
	sqlite3_stmt *q = stmt(s, ST_ACCOUNT_PUT);
	char keys[LEDGER_MAX_ACCT_KEYS * 130];
	size_t off = 0;

	if (q == NULL)
		return -1;
	keys[0] = '\0';
	for (int i = 0; i < a->nkeys; i++)
		off += (size_t)snprintf(keys + off, sizeof(keys) - off, "%s%s",
		    i > 0 ? " " : "", a->keys[i]);
	sqlite3_bind_text(q, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, a->role, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, a->threshold);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)a->seq);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)a->created_index);
	sqlite3_bind_text(q, 6, keys, -1, SQLITE_TRANSIENT);
	return run(q);
}

static int
ss_account_seq(struct ledger_store *s, const char *name, uint64_t seq)
{
	sqlite3_stmt *q = stmt(s, ST_ACCOUNT_SEQ);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
	if (run(q) != 0 || sqlite3_changes(SS(s)->db) != 1)
		return -1;
	return 0;
}

static int
ss_accounts(struct ledger_store *s,
    int (*cb)(const struct ledger_account_info *, void *), void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_ACCOUNTS);
	struct ledger_account_info a;
	int rc;

	if (q == NULL)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		account_row(q, &a);
		if (cb(&a, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
key_row(sqlite3_stmt *q, struct ledger_key_info *k, char *csr, size_t csrlen)
{
	memset(k, 0, sizeof(*k));
	col_text(q, 0, k->key_id, sizeof(k->key_id));
	col_text(q, 1, k->account, sizeof(k->account));
	col_text(q, 2, k->name, sizeof(k->name));
	col_text(q, 3, k->profile, sizeof(k->profile));
	col_text(q, 4, k->spki, sizeof(k->spki));
	k->ndns = ledger_store_split_list((const char *)sqlite3_column_text(q, 5),
	    &k->dns[0][0], sizeof(k->dns[0]), LEDGER_MAX_SANS);
	k->nip = ledger_store_split_list((const char *)sqlite3_column_text(q, 6),
	    &k->ip[0][0], sizeof(k->ip[0]), LEDGER_MAX_SANS);
	k->not_before = (time_t)sqlite3_column_int64(q, 7);
	k->not_after = (time_t)sqlite3_column_int64(q, 8);
	k->status = (enum ledger_key_status)sqlite3_column_int(q, 9);
	k->revoked_at = (time_t)sqlite3_column_int64(q, 10);
	k->reason = sqlite3_column_int(q, 11);
	k->registered_index = (uint64_t)sqlite3_column_int64(q, 12);
	k->revoked_index = (uint64_t)sqlite3_column_int64(q, 13);
	k->has_csr = sqlite3_column_type(q, 14) != SQLITE_NULL;
	if (csr != NULL && csrlen > 0)
		col_text(q, 14, csr, csrlen);
}

static int
ss_key_get(struct ledger_store *s, const char *key_id,
    struct ledger_key_info *k, char *csr, size_t csrlen)
{
	sqlite3_stmt *q = stmt(s, ST_KEY_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, key_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		key_row(q, k, csr, csrlen);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

static int
ss_key_put(struct ledger_store *s, const struct ledger_key_info *k,
    const char *csr)
{
	sqlite3_stmt *q = stmt(s, ST_KEY_PUT);
	char dns[LEDGER_MAX_SANS * 255], ip[LEDGER_MAX_SANS * 47];

	if (q == NULL)
		return -1;
	ledger_store_join_list(dns, sizeof(dns), &k->dns[0][0], sizeof(k->dns[0]), k->ndns);
	ledger_store_join_list(ip, sizeof(ip), &k->ip[0][0], sizeof(k->ip[0]), k->nip);
	sqlite3_bind_text(q, 1, k->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, k->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, k->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, k->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, k->spki, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, dns, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 7, ip, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)k->not_before);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)k->not_after);
	sqlite3_bind_int(q, 10, (int)k->status);
	sqlite3_bind_int64(q, 11, (sqlite3_int64)k->registered_index);
	if (csr != NULL)
		sqlite3_bind_text(q, 12, csr, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 12);
	return run(q);
}

/* Marks one row revoked (key or certificate): the UPDATE matches only a
 * row not yet revoked, so exactly one row must change. */
static int
revoke_row(struct ledger_store *s, enum stmt_id id, const char *key,
    time_t at, int reason, uint64_t index)
{
	sqlite3_stmt *q = stmt(s, id);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)at);
	sqlite3_bind_int(q, 3, reason);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)index);
	if (run(q) != 0 || sqlite3_changes(SS(s)->db) != 1)
		return -1;
	return 0;
}

static int
ss_key_revoke(struct ledger_store *s, const char *key_id, time_t at,
    int reason, uint64_t index)
{
	return revoke_row(s, ST_KEY_REVOKE, key_id, at, reason, index);
}

static int
ss_keys(struct ledger_store *s, const struct ledger_key_filter *f,
    int (*cb)(const struct ledger_key_info *, void *), void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_KEYS);
	size_t limit = f != NULL && f->limit > 0 ? f->limit : LEDGER_LIST_MAX;
	struct ledger_key_info *k;
	int rc;

	if (q == NULL || (k = malloc(sizeof(*k))) == NULL)
		return -1;
	if (limit > LEDGER_LIST_MAX)
		limit = LEDGER_LIST_MAX;
	sqlite3_bind_text(q, 1, f != NULL && f->after != NULL ? f->after : "",
	    -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
	if (f != NULL && f->status != NULL)
		sqlite3_bind_int(q, 3, strcmp(f->status, "revoked") == 0 ?
		    LEDGER_KEY_REVOKED : LEDGER_KEY_ACTIVE);
	else
		sqlite3_bind_null(q, 3);
	if (f != NULL && f->profile != NULL)
		sqlite3_bind_text(q, 4, f->profile, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 4);
	if (f != NULL && f->name_prefix != NULL)
		sqlite3_bind_text(q, 5, f->name_prefix, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		key_row(q, k, NULL, 0);
		if (cb(k, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	free(k);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
cert_row(sqlite3_stmt *q, struct ledger_cert_info *c)
{
	memset(c, 0, sizeof(*c));
	col_text(q, 0, c->serial, sizeof(c->serial));
	col_text(q, 1, c->issuer, sizeof(c->issuer));
	col_text(q, 2, c->key_id, sizeof(c->key_id));
	col_text(q, 3, c->profile, sizeof(c->profile));
	c->not_before = (time_t)sqlite3_column_int64(q, 4);
	c->not_after = (time_t)sqlite3_column_int64(q, 5);
	col_text(q, 6, c->cert_sha256, sizeof(c->cert_sha256));
	c->revoked = sqlite3_column_int(q, 7);
	c->revoked_at = (time_t)sqlite3_column_int64(q, 8);
	c->reason = sqlite3_column_int(q, 9);
	c->issued_index = (uint64_t)sqlite3_column_int64(q, 10);
	c->revoked_index = (uint64_t)sqlite3_column_int64(q, 11);
	c->key_revoked = sqlite3_column_int(q, 12) == 2;
	c->key_revoked_at = (time_t)sqlite3_column_int64(q, 13);
	c->key_reason = sqlite3_column_int(q, 14);
}

/* Runs q (bound) and calls cb per row until it returns non-zero. */
static int
cert_rows(sqlite3_stmt *q, int (*cb)(const struct ledger_cert_info *, void *),
    void *arg)
{
	struct ledger_cert_info c;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		cert_row(q, &c);
		if (cb(&c, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
ss_cert_get(struct ledger_store *s, const char *serial,
    struct ledger_cert_info *c)
{
	sqlite3_stmt *q = stmt(s, ST_CERT_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		cert_row(q, c);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

static int
ss_key_certs(struct ledger_store *s, const char *key_id,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_KEY_CERTS);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, key_id, -1, SQLITE_STATIC);
	return cert_rows(q, cb, arg);
}


static int
ss_certs(struct ledger_store *s, const char *after, size_t limit,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_CERTS);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
	return cert_rows(q, cb, arg);
}

static int
ss_certs_revoked(struct ledger_store *s, const char *issuer, time_t now,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_CERTS_REVOKED);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, issuer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)now);
	return cert_rows(q, cb, arg);
}

static int
ss_cert_put(struct ledger_store *s, const struct ledger_cert_info *c)
{
	sqlite3_stmt *q = stmt(s, ST_CERT_PUT);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, c->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, c->issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, c->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, c->profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)c->not_before);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)c->not_after);
	sqlite3_bind_text(q, 7, c->cert_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)c->issued_index);
	return run(q);
}

static int
ss_cert_revoke(struct ledger_store *s, const char *serial, time_t at,
    int reason, uint64_t index)
{
	return revoke_row(s, ST_CERT_REVOKE, serial, at, reason, index);
}

static int
ss_config_exists(struct ledger_store *s, const char *group,
    const char *version)
{
	sqlite3_stmt *q = stmt(s, ST_CONFIG_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

static int
ss_config_put(struct ledger_store *s, const char *group, const char *version,
    const char *sha256, int64_t size, const char *file, uint64_t index)
{
	sqlite3_stmt *q = stmt(s, ST_CONFIG_PUT);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, sha256, -1, SQLITE_STATIC);
	if (size >= 0)
		sqlite3_bind_int64(q, 4, size);
	else
		sqlite3_bind_null(q, 4);
	if (file != NULL)
		sqlite3_bind_text(q, 5, file, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)index);
	return run(q);
}

static int
ss_configs(struct ledger_store *s, const char *group,
    int (*cb)(const struct ledger_config_info *, void *), void *arg)
{
	sqlite3_stmt *q = stmt(s, group != NULL ? ST_CONFIGS_GROUP :
	    ST_CONFIGS);
	struct ledger_config_info c;
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, group != NULL ? group : "", -1,
	    SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		col_text(q, 0, c.group, sizeof(c.group));
		col_text(q, 1, c.version, sizeof(c.version));
		col_text(q, 2, c.sha256, sizeof(c.sha256));
		c.size = sqlite3_column_type(q, 3) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(q, 3);
		col_text(q, 4, c.file, sizeof(c.file));
		c.index = (uint64_t)sqlite3_column_int64(q, 5);
		if (cb(&c, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
ss_preauth_get(struct ledger_store *s, const char *id,
    struct ledger_preauth_info *p)
{
	sqlite3_stmt *q = stmt(s, ST_PREAUTH_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		memset(p, 0, sizeof(*p));
		col_text(q, 0, p->id, sizeof(p->id));
		col_text(q, 1, p->account, sizeof(p->account));
		col_text(q, 2, p->name, sizeof(p->name));
		col_text(q, 3, p->profile, sizeof(p->profile));
		p->ndns = ledger_store_split_list((const char *)sqlite3_column_text(q, 4),
		    &p->dns[0][0], sizeof(p->dns[0]), LEDGER_MAX_SANS);
		p->nip = ledger_store_split_list((const char *)sqlite3_column_text(q, 5),
		    &p->ip[0][0], sizeof(p->ip[0]), LEDGER_MAX_SANS);
		p->not_before = (time_t)sqlite3_column_int64(q, 6);
		p->not_after = (time_t)sqlite3_column_int64(q, 7);
		p->expires = (time_t)sqlite3_column_int64(q, 8);
		col_text(q, 9, p->secret_sha256, sizeof(p->secret_sha256));
		p->created_index = (uint64_t)sqlite3_column_int64(q, 10);
		col_text(q, 11, p->used_key, sizeof(p->used_key));
		p->used_index = (uint64_t)sqlite3_column_int64(q, 12);
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

static int
ss_preauth_put(struct ledger_store *s, const struct ledger_preauth_info *p)
{
	sqlite3_stmt *q = stmt(s, ST_PREAUTH_PUT);
	char dns[LEDGER_MAX_SANS * 255], ip[LEDGER_MAX_SANS * 47];

	if (q == NULL)
		return -1;
	ledger_store_join_list(dns, sizeof(dns), &p->dns[0][0], sizeof(p->dns[0]), p->ndns);
	ledger_store_join_list(ip, sizeof(ip), &p->ip[0][0], sizeof(p->ip[0]), p->nip);
	sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, p->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, p->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, dns, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 6, ip, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)p->not_before);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)p->not_after);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)p->expires);
	sqlite3_bind_text(q, 10, p->secret_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 11, (sqlite3_int64)p->created_index);
	return run(q);
}

static int
ss_preauth_use(struct ledger_store *s, const char *id, const char *key_id,
    uint64_t index)
{
	sqlite3_stmt *q = stmt(s, ST_PREAUTH_USE);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, key_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)index);
	if (run(q) != 0 || sqlite3_changes(SS(s)->db) != 1)
		return -1;
	return 0;
}

/* One-off aggregate queries (not prepared: the status endpoint only). */
static int
count_query(sqlite3 *db, const char *sql, uint64_t *out)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(q, 0);
		rc = 0;
	}
	sqlite3_finalize(q);
	return rc;
}

static int
ss_counts(struct ledger_store *s, struct ledger_counts *c)
{
	sqlite3 *db = SS(s)->db;
	sqlite3_stmt *q = NULL;
	uint64_t t = 0;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if (sqlite3_prepare_v2(db, "SELECT name, n FROM counters", -1, &q,
	    NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		uint64_t n = (uint64_t)sqlite3_column_int64(q, 1);
		int type;

		if (name == NULL)
			continue;
		if (strcmp(name, "keys_active") == 0)
			c->keys_active = n;
		else if (strcmp(name, "keys_revoked") == 0)
			c->keys_revoked = n;
		else if (strcmp(name, "certs_good") == 0)
			c->certs_good = n;
		else if (strcmp(name, "certs_revoked") == 0)
			c->certs_revoked = n;
		else if (strncmp(name, "type:", 5) == 0 &&
		    (type = atoi(name + 5)) >= LEDGER_ACCOUNT_CREATE &&
		    type <= LEDGER_TYPE_MAX)
			c->by_type[type] = n;
	}
	sqlite3_finalize(q);
	for (int ty = LEDGER_ACCOUNT_CREATE; ty <= LEDGER_TYPE_MAX; ty++)
		c->entries += c->by_type[ty];
	/* Small tables, and the expiring range of a partial index. */
	rc |= count_query(db, "SELECT count(*) FROM accounts", &c->accounts);
	rc |= count_query(db, "SELECT count(*) FROM configs", &c->configs);
	rc |= count_query(db, "SELECT coalesce(max(height) + 1, 0) FROM blocks",
	    &c->blocks);
	rc |= count_query(db, "SELECT count(*) FROM certs c"
	    " INDEXED BY certs_good_by_expiry JOIN keys k ON"
	    " k.key_id = c.key_id WHERE c.revoked = 0 AND k.status = 1 AND"
	    " c.not_after > CAST(strftime('%s', 'now') AS INTEGER) AND"
	    " c.not_after <= CAST(strftime('%s', 'now') AS INTEGER) + 2592000",
	    &c->certs_expiring_30d);
	rc |= count_query(db, "SELECT coalesce((SELECT time FROM blocks"
	    " ORDER BY height DESC LIMIT 1), 0)", &t);
	c->last_block_time = (time_t)t;
	return rc != 0 ? -1 : 0;
}

static int
ss_registry_rows(struct ledger_store *s, int t, const char *after,
    size_t limit, int (*cb)(const char *, const char *, void *), void *arg)
{
	sqlite3_stmt *q;
	char *row = NULL;
	size_t off;
	int rc = SQLITE_ERROR;

	if (t < 0 || t >= LEDGER_REG_N ||
	    (q = stmt(s, (enum stmt_id)(ST_REG_FIRST + t))) == NULL ||
	    (row = malloc(LEDGER_REG_ROW_MAX)) == NULL)
		return -1;
	if (t == LEDGER_REG_CONFIGS) {
		const char *v = strchr(after, '\1');

		sqlite3_bind_text(q, 1, after, v != NULL ? (int)(v - after) :
		    -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, v != NULL ? v + 1 : "", -1,
		    SQLITE_STATIC);
	} else
		sqlite3_bind_text(q, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(q, 0);

		off = 0;
		row[0] = '\0';
		for (int c = 1; c < sqlite3_column_count(q); c++) {
			const char *v = sqlite3_column_type(q, c) ==
			    SQLITE_NULL ? NULL :
			    (const char *)sqlite3_column_text(q, c);

			if (ledger_store_row_add(row, LEDGER_REG_ROW_MAX, &off,
			    v, v != NULL ? (size_t)sqlite3_column_bytes(q, c) :
			    0) != 0) {
				rc = SQLITE_TOOBIG;
				goto out;
			}
		}
		if (cb(key != NULL ? key : "", row, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
out:
	sqlite3_reset(q);
	free(row);
	return rc == SQLITE_DONE ? 0 : -1;
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
	.meta_get = ss_meta_get,
	.meta_set = ss_meta_set,
	.entry_put = ss_entry_put,
	.entries = ss_entries,
	.block_put = ss_block_put,
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
	.key_certs = ss_key_certs,
	.certs = ss_certs,
	.certs_revoked = ss_certs_revoked,
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

/* Applies the migrations past the stored schema version, in one
 * transaction each.  Refuses a database newer than this program. */
static int
store_migrate(struct store_sqlite *ss, char *err, size_t errlen)
{
	char v[32];
	long have = 0;
	int rc;

	rc = sqlite3_exec(ss->db, "SELECT 1 FROM meta LIMIT 0", NULL, NULL,
	    NULL) == SQLITE_OK ? ss_meta_get(&ss->base, "schema", v,
	    sizeof(v)) : 1;
	if (rc < 0)
		goto fail;
	if (rc == 0)
		have = strtol(v, NULL, 10);
	if (have > (long)SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema %ld is newer than this "
		    "keybridge (%zu)", have, SCHEMA_VERSION);
		return -1;
	}
	for (size_t i = (size_t)have; i < SCHEMA_VERSION; i++) {
		if (sqlite3_exec(ss->db, "BEGIN IMMEDIATE", NULL, NULL,
		    NULL) != SQLITE_OK ||
		    sqlite3_exec(ss->db, migrations[i], NULL, NULL,
		    NULL) != SQLITE_OK)
			goto fail;
		snprintf(v, sizeof(v), "%zu", i + 1);
		if (ss_meta_set(&ss->base, "schema", v) != 0 ||
		    sqlite3_exec(ss->db, "COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "migrating the database: %s",
	    sqlite3_errmsg(ss->db));
	sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
ledger_store_sqlite_synchronous(struct ledger_store *s)
{
	sqlite3_stmt *q = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(SS(s)->db, "PRAGMA synchronous", -1, &q,
	    NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

struct ledger_store *
ledger_store_sqlite_open(const char *path, int flags, char *err,
    size_t errlen)
{
	struct store_sqlite *ss = NULL;
	int oflags;
	char v[32];

	if ((ss = calloc(1, sizeof(*ss))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ss->base.ops = &sqlite_ops;
	ss->readonly = (flags & LEDGER_STORE_READONLY) != 0;
	if ((ss->base.keys = ledger_keycache_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(ss);
		return NULL;
	}
	oflags = (flags & LEDGER_STORE_READONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | ((flags & LEDGER_STORE_CREATE) ?
	    SQLITE_OPEN_CREATE : 0);
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
	(void)sqlite3_exec(ss->db, "PRAGMA mmap_size=1073741824", NULL, NULL,
	    NULL);
	(void)sqlite3_exec(ss->db, "PRAGMA cache_size=-16384", NULL, NULL,
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
	if (flags & LEDGER_STORE_CREATE) {
		if (store_migrate(ss, err, errlen) != 0)
			goto fail;
	} else if (ss_meta_get(&ss->base, "schema", v, sizeof(v)) != 0 ||
	    strtol(v, NULL, 10) != (long)SCHEMA_VERSION) {
		snprintf(err, errlen, "%s is not a keybridge ledger of schema "
		    "%zu (an older one is migrated by any writing command, "
		    "e.g. keybridge serve): %s", path, SCHEMA_VERSION,
		    sqlite3_errmsg(ss->db));
		goto fail;
	}
	return &ss->base;
fail:
	ss_close(&ss->base);
	return NULL;
}
