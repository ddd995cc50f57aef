/*
 * store_sqlite_schema.c: the SQLite schema, its migrations and the SQL of
 * every prepared statement.
 */
#include <stdlib.h>
#include <string.h>

#include "ledger/store_sqlite_int.h"

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
	/*
	 * 6: the signed certificate beside its registry row.  The ledger
	 * records the TBS, and the CA signs it only once that entry is
	 * committed, so the signature is not on the ledger: the bridge
	 * keeps the certificate here (base64 DER) for the API, and `ledger
	 * verify` checks it against its entry's TBS and the issuing CA.
	 * Not derived from the log, so not compared by verify's replay.
	 */
	"CREATE TABLE certs_signed(serial TEXT PRIMARY KEY,"
	" cert TEXT NOT NULL, sha256 TEXT NOT NULL);",
	/* 7: the configuration groups a device key may read (its
	 * registration's config-group lines, space-separated as dns), and
	 * those a pre-authorisation fixes for the key it allows. */
	"ALTER TABLE keys ADD COLUMN groups TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE preauths ADD COLUMN groups TEXT NOT NULL DEFAULT '';",
};
#define SCHEMA_VERSION (sizeof(migrations) / sizeof(migrations[0]))

/* A certificate with its key's revocation (ledger_cert_info). */
/* cert_sha256: the entry's, or for a TBS entry the signed certificate's
 * kept beside the row ("" until it is). */
/* CERT_COLS_FROM(hint): with an index hint on certs ("" for none). */
#define CERT_COLS_FROM(hint) "SELECT c.serial, c.issuer, c.key_id," \
	" c.profile, c.not_before, c.not_after, CASE WHEN c.cert_sha256" \
	" <> '' THEN c.cert_sha256 ELSE coalesce(s.sha256, '') END," \
	" c.revoked, c.revoked_at, c.reason, c.issued_idx, c.revoked_idx," \
	" k.status, k.revoked_at, k.reason FROM certs c" hint \
	" LEFT JOIN keys k ON k.key_id = c.key_id LEFT JOIN certs_signed s" \
	" ON s.serial = c.serial"
#define CERT_COLS CERT_COLS_FROM("")

const char *const ss_stmt_sql[ST_COUNT] = {
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
	[ST_BLOCK_SIGN] = "UPDATE blocks SET checkpoint = ?2 WHERE height = ?1",
	/* ss_block_sign: a signature's own transaction, without its fsync */
	[ST_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
	[ST_SYNC_FULL] = "PRAGMA synchronous=FULL",
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
	    " registered_idx, revoked_idx, csr, groups FROM keys"
	    " WHERE key_id = ?1",
	[ST_KEY_PUT] = "INSERT INTO keys(key_id, account, name, profile, spki,"
	    " dns, ip, not_before, not_after, status, registered_idx, csr,"
	    " groups) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
	[ST_KEY_REVOKE] = "UPDATE keys SET status = 2, revoked_at = ?2,"
	    " reason = ?3, revoked_idx = ?4 WHERE key_id = ?1 AND status = 1",
	/* filters: ?3 status, ?4 profile, ?5 name prefix; NULL: any */
	[ST_KEYS] = "SELECT key_id, account, name, profile, spki, dns, ip,"
	    " not_before, not_after, status, revoked_at, reason,"
	    " registered_idx, revoked_idx, csr, groups FROM keys"
	    " WHERE key_id > ?1"
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
	[ST_CERT_SIGNED_PUT] = "INSERT OR REPLACE INTO certs_signed(serial,"
	    " cert, sha256) VALUES (?1, ?2, ?3)",
	[ST_CERT_SIGNED_GET] = "SELECT cert FROM certs_signed WHERE"
	    " serial = ?1",
	/* The heal at serve's start (bridge/heal.c): current TBS entries of
	 * account ?1 below index ?3 whose signed certificate was never
	 * kept.  A range of certs_good_by_expiry (current certificates,
	 * at most one per key), not a scan of every certificate ever
	 * issued; certs_signed and entries by their primary keys. */
	/* Issue 17: the issuer's certificate that expires last (the old
	 * issuer retires after it); a scan, once per old issuer at start. */
	[ST_CERTS_LATEST] = CERT_COLS " WHERE c.issuer = ?1"
	    " ORDER BY c.not_after DESC LIMIT 1",
	[ST_CERTS_UNSIGNED] = CERT_COLS_FROM(" INDEXED BY certs_good_by_expiry")
	    " WHERE c.revoked = 0 AND c.not_after > ?2 AND"
	    " c.cert_sha256 = '' AND s.serial IS NULL AND c.issued_idx < ?3"
	    " AND EXISTS (SELECT 1 FROM entries e WHERE e.idx = c.issued_idx"
	    " AND e.account = ?1) ORDER BY c.issued_idx",
	[ST_CERT_REVOKE] = "UPDATE certs SET revoked = 1, revoked_at = ?2,"
	    " reason = ?3, revoked_idx = ?4 WHERE serial = ?1 AND revoked = 0",
	[ST_PREAUTH_GET] = "SELECT id, account, name, profile, dns, ip,"
	    " not_before, not_after, expires, secret_sha256, created_idx,"
	    " used_key, used_idx, groups FROM preauths WHERE id = ?1",
	[ST_PREAUTH_PUT] = "INSERT INTO preauths(id, account, name, profile,"
	    " dns, ip, not_before, not_after, expires, secret_sha256,"
	    " created_idx, groups)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
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
ss_schema_open(struct store_sqlite *ss, const char *path, int flags,
    char *err, size_t errlen)
{
	char v[32];

	if (flags & LEDGER_STORE_CREATE)
		return store_migrate(ss, err, errlen);
	if (ss_meta_get(&ss->base, "schema", v, sizeof(v)) != 0 ||
	    strtol(v, NULL, 10) != (long)SCHEMA_VERSION) {
		snprintf(err, errlen, "%s is not a keybridge ledger of schema "
		    "%zu (an older one is migrated by any writing command, "
		    "e.g. keybridge serve): %s", path, SCHEMA_VERSION,
		    sqlite3_errmsg(ss->db));
		return -1;
	}
	return 0;
}
