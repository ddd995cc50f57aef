/*
 * store_pg_schema.c: the PostgreSQL schema, its migrations and the SQL of
 * every prepared statement.
 */
#include <string.h>

#include "ledger/store_pg_int.h"

/* Schema migrations, applied in order; index + 1 is the version.  They
 * follow store_sqlite_schema.c's one for one. */
static const char *const migrations[] = {
	/* 1: the log, its blocks and the registry derived from it. */
	"CREATE TABLE meta(k TEXT COLLATE \"C\" PRIMARY KEY, v TEXT NOT NULL);"
	"CREATE TABLE entries(idx BIGINT PRIMARY KEY, block BIGINT NOT NULL,"
	" type INTEGER NOT NULL, account TEXT NOT NULL, seq BIGINT NOT NULL,"
	" leaf_hash BYTEA NOT NULL, data BYTEA NOT NULL);"
	"CREATE TABLE blocks(height BIGINT PRIMARY KEY, first BIGINT NOT NULL,"
	" size BIGINT NOT NULL, time BIGINT NOT NULL, root BYTEA NOT NULL,"
	" checkpoint TEXT NOT NULL);"
	"CREATE TABLE accounts(name TEXT COLLATE \"C\" PRIMARY KEY,"
	" role TEXT NOT NULL, threshold INTEGER NOT NULL, seq BIGINT NOT NULL,"
	" created_idx BIGINT NOT NULL, keys TEXT NOT NULL);"
	"CREATE TABLE keys(key_id TEXT COLLATE \"C\" PRIMARY KEY,"
	" account TEXT NOT NULL, name TEXT COLLATE \"C\" NOT NULL,"
	" profile TEXT NOT NULL, spki TEXT NOT NULL,"
	" dns TEXT NOT NULL, ip TEXT NOT NULL,"
	" not_before BIGINT NOT NULL, not_after BIGINT NOT NULL,"
	" status INTEGER NOT NULL, revoked_at BIGINT, reason INTEGER,"
	" registered_idx BIGINT NOT NULL, revoked_idx BIGINT, csr TEXT);"
	"CREATE INDEX keys_by_status ON keys(status, key_id);"
	"CREATE INDEX keys_by_name ON keys(name);"
	"CREATE TABLE certs(serial TEXT COLLATE \"C\" PRIMARY KEY,"
	" issuer TEXT NOT NULL, key_id TEXT COLLATE \"C\" NOT NULL,"
	" profile TEXT NOT NULL,"
	" not_before BIGINT NOT NULL, not_after BIGINT NOT NULL,"
	" cert_sha256 TEXT NOT NULL, revoked INTEGER NOT NULL,"
	" revoked_at BIGINT, reason INTEGER, issued_idx BIGINT NOT NULL,"
	" revoked_idx BIGINT);"
	"CREATE INDEX certs_by_key ON certs(key_id);"
	"CREATE TABLE configs(grp TEXT COLLATE \"C\" NOT NULL,"
	" version TEXT COLLATE \"C\" NOT NULL, sha256 TEXT NOT NULL,"
	" size BIGINT, file TEXT, idx BIGINT NOT NULL,"
	" PRIMARY KEY(grp, version));",
	/* 2: pre-authorisations for keys the bridge generates (serverkeygen). */
	"CREATE TABLE preauths(id TEXT COLLATE \"C\" PRIMARY KEY,"
	" account TEXT NOT NULL, name TEXT NOT NULL, profile TEXT NOT NULL,"
	" dns TEXT NOT NULL, ip TEXT NOT NULL, not_before BIGINT NOT NULL,"
	" not_after BIGINT NOT NULL, expires BIGINT NOT NULL,"
	" secret_sha256 TEXT NOT NULL, created_idx BIGINT NOT NULL,"
	" used_key TEXT, used_idx BIGINT);",
	/* 3: the CRL's revoked set without a scan of every certificate. */
	"CREATE INDEX IF NOT EXISTS certs_revoked ON certs(issuer, not_after)"
	" WHERE revoked = 1;",
	/*
	 * 4: counts kept as the rows change (store_sqlite_schema.c migration
	 * 4, the same counter and trigger names).  PostgreSQL triggers call a
	 * function, and a trigger's WHEN may not hold a subquery: those
	 * conditions move into the function.  The triggers run inside the
	 * block's transaction: the counts are those of the committed rows.
	 */
	"CREATE TABLE counters(name TEXT COLLATE \"C\" PRIMARY KEY,"
	" n BIGINT NOT NULL);"
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
	"CREATE FUNCTION count_entries() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	" UPDATE counters SET n = n + 1 WHERE name = 'entries';"
	" INSERT INTO counters(name, n) VALUES ('type:' || NEW.type, 1)"
	"  ON CONFLICT(name) DO UPDATE SET n = counters.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER count_entries AFTER INSERT ON entries FOR EACH ROW"
	" EXECUTE FUNCTION count_entries();"
	"CREATE FUNCTION count_blocks() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	" UPDATE counters SET n = n + 1 WHERE name = 'blocks';"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER count_blocks AFTER INSERT ON blocks FOR EACH ROW"
	" EXECUTE FUNCTION count_blocks();"
	"CREATE FUNCTION count_keys() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	" UPDATE counters SET n = n + 1 WHERE name ="
	"  CASE NEW.status WHEN 1 THEN 'keys_active' ELSE 'keys_revoked' END;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER count_keys AFTER INSERT ON keys FOR EACH ROW"
	" EXECUTE FUNCTION count_keys();"
	"CREATE FUNCTION count_key_revoked() RETURNS trigger LANGUAGE plpgsql"
	" AS $$ BEGIN"
	" UPDATE counters SET n = n - 1 WHERE name = 'keys_active';"
	" UPDATE counters SET n = n + 1 WHERE name = 'keys_revoked';"
	" UPDATE counters SET n = n + CASE name WHEN 'certs_good' THEN -1"
	"  ELSE 1 END * (SELECT count(*) FROM certs WHERE key_id = NEW.key_id"
	"  AND revoked = 0) WHERE name IN ('certs_good', 'certs_revoked');"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER count_key_revoked AFTER UPDATE OF status ON keys"
	" FOR EACH ROW WHEN (OLD.status = 1 AND NEW.status = 2)"
	" EXECUTE FUNCTION count_key_revoked();"
	"CREATE FUNCTION count_certs() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	" UPDATE counters SET n = n + 1 WHERE name = CASE WHEN NEW.revoked = 0"
	"  AND (SELECT status FROM keys WHERE key_id = NEW.key_id) = 1"
	"  THEN 'certs_good' ELSE 'certs_revoked' END;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER count_certs AFTER INSERT ON certs FOR EACH ROW"
	" EXECUTE FUNCTION count_certs();"
	"CREATE FUNCTION count_cert_revoked() RETURNS trigger LANGUAGE plpgsql"
	" AS $$ BEGIN"
	" IF (SELECT status FROM keys WHERE key_id = NEW.key_id) = 1 THEN"
	" UPDATE counters SET n = n + CASE name WHEN 'certs_good' THEN -1"
	"  ELSE 1 END WHERE name IN ('certs_good', 'certs_revoked');"
	" END IF;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER count_cert_revoked AFTER UPDATE OF revoked ON certs"
	" FOR EACH ROW WHEN (OLD.revoked = 0 AND NEW.revoked = 1)"
	" EXECUTE FUNCTION count_cert_revoked();"
	/* Certificates expiring soon: a range of this index, not a scan. */
	"CREATE INDEX certs_good_by_expiry ON certs(not_after)"
	" WHERE revoked = 0;",
	/* 5: one counter statement per appended entry, none per block (see
	 * store_sqlite_schema.c's migration 5). */
	"DROP TRIGGER count_entries ON entries;"
	"DROP TRIGGER count_blocks ON blocks;"
	"DROP FUNCTION count_blocks();"
	"DELETE FROM counters WHERE name IN ('entries', 'blocks');"
	"CREATE OR REPLACE FUNCTION count_entries() RETURNS trigger"
	" LANGUAGE plpgsql AS $$ BEGIN"
	" INSERT INTO counters(name, n) VALUES ('type:' || NEW.type, 1)"
	"  ON CONFLICT(name) DO UPDATE SET n = counters.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER count_entries AFTER INSERT ON entries FOR EACH ROW"
	" EXECUTE FUNCTION count_entries();",
	/* 6: the signed certificate beside its registry row (see
	 * store_sqlite_schema.c's migration 6). */
	"CREATE TABLE certs_signed(serial TEXT COLLATE \"C\" PRIMARY KEY,"
	" cert TEXT NOT NULL, sha256 TEXT NOT NULL);",
	/* 7: the configuration groups a device key may read (see
	 * store_sqlite_schema.c's migration 7). */
	"ALTER TABLE keys ADD COLUMN groups TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE preauths ADD COLUMN groups TEXT NOT NULL DEFAULT '';",
};
#define SCHEMA_VERSION (sizeof(migrations) / sizeof(migrations[0]))

/* A certificate with its key's revocation (ledger_cert_info). */
/* cert_sha256: the entry's, or for a TBS entry the signed certificate's
 * kept beside the row ("" until it is). */
#define CERT_COLS "SELECT c.serial, c.issuer, c.key_id, c.profile," \
	" c.not_before, c.not_after, CASE WHEN c.cert_sha256 <> '' THEN" \
	" c.cert_sha256 ELSE coalesce(s.sha256, '') END, c.revoked," \
	" c.revoked_at, c.reason, c.issued_idx, c.revoked_idx, k.status," \
	" k.revoked_at, k.reason FROM certs c LEFT JOIN keys k" \
	" ON k.key_id = c.key_id LEFT JOIN certs_signed s" \
	" ON s.serial = c.serial"
#define KEY_COLS "SELECT key_id, account, name, profile, spki, dns, ip," \
	" not_before, not_after, status, revoked_at, reason," \
	" registered_idx, revoked_idx, csr, groups FROM keys"

const char *const pg_stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN",
	[ST_BEGIN_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	[ST_LOCK] = "SELECT pg_advisory_xact_lock(" PG_WRITER_LOCK ")",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT entry",
	[ST_RELEASE] = "RELEASE SAVEPOINT entry",
	[ST_ROLLBACK_TO] = "ROLLBACK TO SAVEPOINT entry",
	[ST_META_GET] = "SELECT v FROM meta WHERE k = $1",
	[ST_META_SET] = "INSERT INTO meta(k, v) VALUES ($1, $2)"
	    " ON CONFLICT(k) DO UPDATE SET v = EXCLUDED.v",
	[ST_ENTRY_PUT] = "INSERT INTO entries(idx, block, type, account, seq,"
	    " leaf_hash, data) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	[ST_ENTRIES] = "SELECT e.idx, e.block, e.type, e.account, e.seq,"
	    " e.leaf_hash, e.data, b.time FROM entries e"
	    " LEFT JOIN blocks b ON b.height = e.block"
	    " WHERE e.idx >= $1 ORDER BY e.idx LIMIT $2",
	[ST_BLOCK_PUT] = "INSERT INTO blocks(height, first, size, time, root,"
	    " checkpoint) VALUES ($1, $2, $3, $4, $5, $6)",
	[ST_BLOCK_SIGN] = "UPDATE blocks SET checkpoint = $2 WHERE height = $1",
	[ST_BLOCK_LAST] = "SELECT height, first, size, time, root, checkpoint"
	    " FROM blocks ORDER BY height DESC LIMIT 1",
	[ST_BLOCKS] = "SELECT height, first, size, time, root, checkpoint"
	    " FROM blocks WHERE height >= $1 ORDER BY height LIMIT $2",
	[ST_LEAVES] = "SELECT idx, leaf_hash FROM entries WHERE idx >= $1"
	    " ORDER BY idx LIMIT $2",
	[ST_ACCOUNT_GET] = "SELECT name, role, threshold, seq, created_idx,"
	    " keys FROM accounts WHERE name = $1",
	[ST_ACCOUNT_PUT] = "INSERT INTO accounts(name, role, threshold, seq,"
	    " created_idx, keys) VALUES ($1, $2, $3, $4, $5, $6)"
	    " ON CONFLICT(name) DO UPDATE SET role = EXCLUDED.role,"
	    " threshold = EXCLUDED.threshold, seq = EXCLUDED.seq,"
	    " created_idx = EXCLUDED.created_idx, keys = EXCLUDED.keys",
	[ST_ACCOUNT_SEQ] = "UPDATE accounts SET seq = $2 WHERE name = $1",
	[ST_ACCOUNTS] = "SELECT name, role, threshold, seq, created_idx, keys"
	    " FROM accounts ORDER BY name",
	[ST_KEY_GET] = KEY_COLS " WHERE key_id = $1",
	[ST_KEY_PUT] = "INSERT INTO keys(key_id, account, name, profile, spki,"
	    " dns, ip, not_before, not_after, status, registered_idx, csr,"
	    " groups) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
	[ST_KEY_REVOKE] = "UPDATE keys SET status = 2, revoked_at = $2,"
	    " reason = $3, revoked_idx = $4 WHERE key_id = $1 AND status = 1",
	/* filters: $3 status, $4 profile, $5 name prefix; NULL: any */
	[ST_KEYS] = KEY_COLS " WHERE key_id > $1"
	    " AND ($3::integer IS NULL OR status = $3::integer)"
	    " AND ($4::text IS NULL OR profile = $4::text)"
	    " AND ($5::text IS NULL OR starts_with(name, $5::text))"
	    " ORDER BY key_id LIMIT $2",
	[ST_CERT_GET] = CERT_COLS " WHERE c.serial = $1",
	[ST_KEY_CERTS] = CERT_COLS " WHERE c.key_id = $1 ORDER BY c.issued_idx",
	[ST_CERTS] = CERT_COLS " WHERE c.serial > $1 ORDER BY c.serial"
	    " LIMIT $2",
	[ST_CONFIGS] = "SELECT grp, version, sha256, size, file, idx FROM"
	    " configs WHERE grp > $1 ORDER BY grp, idx DESC",
	[ST_CONFIGS_GROUP] = "SELECT grp, version, sha256, size, file, idx"
	    " FROM configs WHERE grp = $1 ORDER BY idx DESC",
	[ST_CERTS_REVOKED] = CERT_COLS " WHERE c.issuer = $1 AND"
	    " c.not_after > $2 AND c.revoked = 1"
	    " UNION ALL " CERT_COLS " WHERE k.status = 2 AND c.revoked = 0"
	    " AND c.issuer = $1 AND c.not_after > $2",
	[ST_CERT_PUT] = "INSERT INTO certs(serial, issuer, key_id, profile,"
	    " not_before, not_after, cert_sha256, revoked, issued_idx)"
	    " VALUES ($1,$2,$3,$4,$5,$6,$7,0,$8)",
	[ST_CERT_SIGNED_PUT] = "INSERT INTO certs_signed(serial, cert, sha256)"
	    " VALUES ($1, $2, $3) ON CONFLICT(serial) DO UPDATE SET"
	    " cert = EXCLUDED.cert, sha256 = EXCLUDED.sha256",
	[ST_CERT_SIGNED_GET] = "SELECT cert FROM certs_signed WHERE"
	    " serial = $1",
	/* The heal at serve's start (bridge/heal.c): current TBS entries of
	 * account $1 below index $3 whose signed certificate was never
	 * kept.  The condition matches the partial index
	 * certs_good_by_expiry (current certificates, at most one per key);
	 * certs_signed and entries by their primary keys. */
	/* Issue 17: the issuer's certificate that expires last (the old
	 * issuer retires after it); a scan, once per old issuer at start. */
	[ST_CERTS_LATEST] = CERT_COLS " WHERE c.issuer = $1"
	    " ORDER BY c.not_after DESC LIMIT 1",
	[ST_CERTS_UNSIGNED] = CERT_COLS " WHERE c.revoked = 0 AND"
	    " c.not_after > $2 AND c.cert_sha256 = '' AND s.serial IS NULL"
	    " AND c.issued_idx < $3 AND EXISTS (SELECT 1 FROM entries e"
	    " WHERE e.idx = c.issued_idx AND e.account = $1)"
	    " ORDER BY c.issued_idx",
	[ST_CERT_REVOKE] = "UPDATE certs SET revoked = 1, revoked_at = $2,"
	    " reason = $3, revoked_idx = $4 WHERE serial = $1 AND revoked = 0",
	[ST_PREAUTH_GET] = "SELECT id, account, name, profile, dns, ip,"
	    " not_before, not_after, expires, secret_sha256, created_idx,"
	    " used_key, used_idx, groups FROM preauths WHERE id = $1",
	[ST_PREAUTH_PUT] = "INSERT INTO preauths(id, account, name, profile,"
	    " dns, ip, not_before, not_after, expires, secret_sha256,"
	    " created_idx, groups)"
	    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
	[ST_PREAUTH_USE] = "UPDATE preauths SET used_key = $2, used_idx = $3"
	    " WHERE id = $1 AND used_key IS NULL",
	[ST_CONFIG_GET] = "SELECT 1 FROM configs WHERE grp = $1 AND"
	    " version = $2",
	[ST_CONFIG_PUT] = "INSERT INTO configs(grp, version, sha256, size,"
	    " file, idx) VALUES ($1,$2,$3,$4,$5,$6)",
	[ST_COUNTERS] = "SELECT name, n FROM counters",
	[ST_NOTIFY] = "NOTIFY " PG_CHANNEL,
	/* Small tables, the expiring range of a partial index, the last
	 * block's time; $1 is now. */
	[ST_COUNT_AGG] = "SELECT (SELECT count(*) FROM accounts),"
	    " (SELECT count(*) FROM configs),"
	    " (SELECT count(*) FROM certs c JOIN keys k ON k.key_id = c.key_id"
	    "  WHERE c.revoked = 0 AND k.status = 1 AND c.not_after > $1"
	    "  AND c.not_after <= $1 + 2592000),"
	    " coalesce((SELECT time FROM blocks ORDER BY height DESC LIMIT 1),"
	    "  0),"
	    " coalesce((SELECT height FROM blocks ORDER BY height DESC LIMIT 1)"
	    "  + 1, 0)",
	/* verify's walk: the key, then every column (ledger_int.h) */
	[ST_REG_FIRST + LEDGER_REG_ACCOUNTS] = "SELECT name, "
	    LEDGER_REG_COLS_ACCOUNTS " FROM accounts WHERE name > $1"
	    " ORDER BY name LIMIT $2",
	[ST_REG_FIRST + LEDGER_REG_KEYS] = "SELECT key_id, "
	    LEDGER_REG_COLS_KEYS " FROM keys WHERE key_id > $1"
	    " ORDER BY key_id LIMIT $2",
	[ST_REG_FIRST + LEDGER_REG_CERTS] = "SELECT serial, "
	    LEDGER_REG_COLS_CERTS " FROM certs WHERE serial > $1"
	    " ORDER BY serial LIMIT $2",
	/* configs: the key "grp\1version" orders as (grp, version); the row
	 * value walks the primary key's index (see store_sqlite_schema.c) */
	[ST_REG_FIRST + LEDGER_REG_CONFIGS] = "SELECT grp || chr(1) ||"
	    " version, " LEDGER_REG_COLS_CONFIGS " FROM configs WHERE"
	    " (grp, version) > ($1, $3) ORDER BY grp, version LIMIT $2",
	[ST_REG_FIRST + LEDGER_REG_PREAUTHS] = "SELECT id, "
	    LEDGER_REG_COLS_PREAUTHS " FROM preauths WHERE id > $1"
	    " ORDER BY id LIMIT $2",
};

/* The stored schema version: 0 when there is no meta table yet, -1 on
 * error. */
static long
schema_version(struct store_pg *sp)
{
	PGresult *res;
	char v[32];
	long have = -1;
	int rc;

	res = PQexec(sp->conn, "SELECT to_regclass('meta') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pg_seterr(sp, res);
		PQclear(res);
		return -1;
	}
	rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!rc)
		return 0;
	if ((rc = sp_meta_get(&sp->base, "schema", v, sizeof(v))) < 0)
		return -1;
	if (rc == 0)
		have = strtol(v, NULL, 10);
	else
		have = 0;
	return have;
}

/* Applies the migrations past the stored schema version, each in one
 * transaction under the writers' lock (several bridges may start at
 * once: the second finds the work done).  Refuses a newer database. */
static int
store_migrate(struct store_pg *sp, char *err, size_t errlen)
{
	long have;
	char v[32];

	for (size_t i = 0; i < SCHEMA_VERSION; i++) {
		/* not in pipeline mode: the migrations are PQexec'd */
		if (pg_begin(sp, 0) != 0)
			goto fail;
		if ((have = schema_version(sp)) < 0)
			goto fail;
		if (have > (long)SCHEMA_VERSION) {
			snprintf(err, errlen, "database schema %ld is newer "
			    "than this keybridge (%zu)", have, SCHEMA_VERSION);
			sp_rollback(&sp->base);
			return -1;
		}
		if ((size_t)have > i) {
			sp_rollback(&sp->base);
			continue;
		}
		snprintf(v, sizeof(v), "%zu", i + 1);
		if (pg_simple(sp, migrations[i]) != 0 ||
		    sp_meta_set(&sp->base, "schema", v) != 0 ||
		    sp_commit(&sp->base) != 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "migrating the database: %s", sp->err);
	sp_rollback(&sp->base);
	return -1;
}

int
pg_schema_open(struct store_pg *sp, int flags, char *err, size_t errlen)
{
	char v[32];

	if (flags & LEDGER_STORE_CREATE)
		return store_migrate(sp, err, errlen);
	if (schema_version(sp) != (long)SCHEMA_VERSION ||
	    sp_meta_get(&sp->base, "schema", v, sizeof(v)) != 0) {
		snprintf(err, errlen, "database %s on %s is not a keybridge "
		    "ledger of schema %zu (an older one is migrated by any "
		    "writing command, e.g. keybridge serve)%s%s",
		    PQdb(sp->conn), PQhost(sp->conn), SCHEMA_VERSION,
		    sp->err[0] != '\0' ? ": " : "", sp->err);
		return -1;
	}
	return 0;
}
