/*
 * store_pg.c: the PostgreSQL storage backend over libpq (DESIGN.md
 * "Storage"), selected by a postgresql:// or postgres:// URL.
 *
 * The same tables, columns and semantics as store_sqlite.c (BIGINT for
 * integers, BYTEA for blobs, text keys in the "C" collation so that
 * orderings and cursors match SQLite's byte order), the same versioned
 * migrations in meta('schema') applied forward on open, and the same
 * counters kept by PL/pgSQL triggers.  Every statement is prepared once
 * per connection (PQprepare) and run with bind parameters
 * (PQexecPrepared); no SQL is ever built from data.
 *
 * Durability: a block is acknowledged only after COMMIT returned the
 * COMMIT tag (PostgreSQL answers a COMMIT of a failed transaction with a
 * ROLLBACK tag and no error), and only on a server whose
 * synchronous_commit and fsync are on, which open checks (unless the
 * operator allowed otherwise: LEDGER_STORE_ASYNC_OK).
 *
 * Writers: begin takes a transaction-level advisory lock, so one block is
 * written at a time across every process on the database, and migrations
 * take the same lock.  A transaction that wrote a block sends NOTIFY on
 * PG_CHANNEL, delivered at its commit: the other bridges' followers
 * (wait_change, LISTEN) learn of it at once.  A lost connection is
 * re-established with backoff by the next call outside a transaction;
 * calls fail meanwhile.
 *
 * Round trips: a write transaction runs in libpq's pipeline mode.  A
 * statement whose answer the caller does not need (savepoints, INSERTs,
 * UPDATEs: every write) is only queued; a read sends the queue with it
 * and waits for the one round trip; COMMIT sends the rest, and its answer
 * is checked as before.  Each entry of a block then costs its rules'
 * reads (an account, a config or key lookup), not 7-8 round trips.  A
 * queued statement that fails aborts the transaction on the server (the
 * pipeline skips the statements after it): the next read, or COMMIT,
 * reports it, and the whole block is rolled back and answered as a
 * storage failure, where a failing write used to fail its own entry
 * only (writes are checked by the rules' reads first: such a failure
 * means a broken server or connection, not a refused entry).
 *
 * The reads themselves: before applying a block's entries the writer
 * hands them to prefetch, which queues the reads of every entry's
 * account and every config version they publish behind BEGIN and the
 * advisory lock (so they see every other writer's commits, and no one
 * changes them meanwhile); they go with the writer's read of the last
 * block.  A block costs two round trips whatever its size: that one,
 * and COMMIT with the block's writes.  account_get and config_exists
 * answer from the rows read ahead until this transaction writes the
 * same row (the cached row is dropped then, and the next lookup reads
 * the server); the cache ends with the transaction.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "ledger/ledger_int.h"

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

/* Schema migrations, applied in order; index + 1 is the version.  They
 * follow store_sqlite.c's one for one. */
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
	 * 4: counts kept as the rows change (store_sqlite.c migration 4, the
	 * same counter and trigger names).  PostgreSQL triggers call a
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
	 * store_sqlite.c's migration 5). */
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
};
#define SCHEMA_VERSION (sizeof(migrations) / sizeof(migrations[0]))

enum stmt_id {
	ST_BEGIN, ST_BEGIN_READ, ST_LOCK, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE,
	ST_ROLLBACK_TO, ST_META_GET, ST_META_SET, ST_ENTRY_PUT, ST_ENTRIES,
	ST_BLOCK_PUT, ST_BLOCK_LAST, ST_BLOCKS, ST_LEAVES, ST_ACCOUNT_GET,
	ST_ACCOUNT_PUT, ST_ACCOUNT_SEQ, ST_ACCOUNTS, ST_KEY_GET, ST_KEY_PUT,
	ST_KEY_REVOKE, ST_KEYS, ST_CERT_GET, ST_CERT_PUT, ST_CERT_REVOKE,
	ST_KEY_CERTS, ST_CONFIG_GET, ST_CONFIG_PUT, ST_PREAUTH_GET,
	ST_PREAUTH_PUT, ST_PREAUTH_USE, ST_CERTS, ST_CERTS_REVOKED, ST_CONFIGS,
	ST_CONFIGS_GROUP, ST_COUNTERS, ST_COUNT_AGG, ST_NOTIFY, ST_REG_FIRST,
	ST_COUNT = ST_REG_FIRST + LEDGER_REG_N
};

/* A certificate with its key's revocation (ledger_cert_info). */
#define CERT_COLS "SELECT c.serial, c.issuer, c.key_id, c.profile," \
	" c.not_before, c.not_after, c.cert_sha256, c.revoked, c.revoked_at," \
	" c.reason, c.issued_idx, c.revoked_idx, k.status, k.revoked_at," \
	" k.reason FROM certs c LEFT JOIN keys k ON k.key_id = c.key_id"
#define KEY_COLS "SELECT key_id, account, name, profile, spki, dns, ip," \
	" not_before, not_after, status, revoked_at, reason," \
	" registered_idx, revoked_idx, csr FROM keys"

static const char *const stmt_sql[ST_COUNT] = {
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
	    " dns, ip, not_before, not_after, status, registered_idx, csr)"
	    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
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
	[ST_CERT_REVOKE] = "UPDATE certs SET revoked = 1, revoked_at = $2,"
	    " reason = $3, revoked_idx = $4 WHERE serial = $1 AND revoked = 0",
	[ST_PREAUTH_GET] = "SELECT id, account, name, profile, dns, ip,"
	    " not_before, not_after, expires, secret_sha256, created_idx,"
	    " used_key, used_idx FROM preauths WHERE id = $1",
	[ST_PREAUTH_PUT] = "INSERT INTO preauths(id, account, name, profile,"
	    " dns, ip, not_before, not_after, expires, secret_sha256,"
	    " created_idx) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
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
	 * value walks the primary key's index (see store_sqlite.c) */
	[ST_REG_FIRST + LEDGER_REG_CONFIGS] = "SELECT grp || chr(1) ||"
	    " version, " LEDGER_REG_COLS_CONFIGS " FROM configs WHERE"
	    " (grp, version) > ($1, $3) ORDER BY grp, version LIMIT $2",
	[ST_REG_FIRST + LEDGER_REG_PREAUTHS] = "SELECT id, "
	    LEDGER_REG_COLS_PREAUTHS " FROM preauths WHERE id > $1"
	    " ORDER BY id LIMIT $2",
};

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
	/* Rows read ahead by prefetch in this transaction (see the top). */
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

static void
p_text(struct pg_params *p, const char *s)
{
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n++] = 0;
}

static void
p_i64(struct pg_params *p, int64_t x)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)x);
	p_text(p, p->num[p->n]);
}

static void
p_blob(struct pg_params *p, const void *b, size_t len)
{
	p->v[p->n] = b;
	p->len[p->n] = (int)len;
	p->fmt[p->n++] = 1;
}

/* Keeps the message of a failed result (one line) for errmsg. */
static void
pg_seterr(struct store_pg *sp, const PGresult *res)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : "";
	size_t n;

	if (m == NULL || m[0] == '\0')
		m = PQerrorMessage(sp->conn);
	if (m == NULL || m[0] == '\0')
		m = "no answer from the server";
	snprintf(sp->err, sizeof(sp->err), "%s", m);
	n = strlen(sp->err);
	while (n > 0 && (sp->err[n - 1] == '\n' || sp->err[n - 1] == ' '))
		sp->err[--n] = '\0';
	for (char *c = sp->err; *c != '\0'; c++)
		if (*c == '\n')
			*c = ' ';
}

static const char *
sp_errmsg(struct ledger_store *s)
{
	return SP(s)->err;
}

/* Runs a constant statement without parameters (session settings,
 * migrations); 0 or -1. */
static int
pg_simple(struct store_pg *sp, const char *sql)
{
	PGresult *res;
	ExecStatusType st;
	int rc = 0;

	assert(!sp->pipe);	/* PQexec is not allowed in pipeline mode */
	res = PQexec(sp->conn, sql);
	st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_seterr(sp, res);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Session settings of a (re)established connection: hex bytea output
 * (col_blob reads it), UTF-8, no notices on stderr (warnings and errors
 * only), and read-only transactions for a read-only store. */
static int
pg_session(struct store_pg *sp)
{
	memset(sp->prepared, 0, sizeof(sp->prepared));
	sp->listening = 0;
	if (pg_simple(sp, "SET bytea_output = 'hex'") != 0 ||
	    pg_simple(sp, "SET client_encoding = 'UTF8'") != 0 ||
	    pg_simple(sp, "SET client_min_messages = warning") != 0)
		return -1;
	if ((sp->flags & LEDGER_STORE_READONLY) &&
	    pg_simple(sp, "SET default_transaction_read_only = on") != 0)
		return -1;
	return 0;
}

static long
ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (t->tv_sec - now.tv_sec) * 1000 +
	    (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* The connection is usable: 0, or -1 (lost, and not back yet).  A lost
 * connection is reset outside a transaction only (an open one is gone
 * with it: its caller rolls back), at most once per backoff period. */
static int
pg_ready(struct store_pg *sp)
{
	struct timespec now;

	if (PQstatus(sp->conn) == CONNECTION_OK)
		return 0;
	/* A new session would run the rest of the transaction's statements
	 * each on its own, committed outside the block: the caller must roll
	 * back first. */
	if (sp->in_tx) {
		snprintf(sp->err, sizeof(sp->err), "the connection to "
		    "PostgreSQL was lost in a transaction");
		return -1;
	}
	if (ms_until(&sp->retry_at) > 0) {
		snprintf(sp->err, sizeof(sp->err), "the connection to "
		    "PostgreSQL is lost; reconnecting");
		return -1;
	}
	PQreset(sp->conn);
	if (PQstatus(sp->conn) == CONNECTION_OK && pg_session(sp) == 0) {
		sp->backoff_ms = 0;
		return 0;
	}
	pg_seterr(sp, NULL);
	sp->backoff_ms = sp->backoff_ms == 0 ? PG_BACKOFF_MIN_MS :
	    sp->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS :
	    sp->backoff_ms * 2;
	clock_gettime(CLOCK_MONOTONIC, &now);
	now.tv_sec += sp->backoff_ms / 1000;
	now.tv_nsec += (sp->backoff_ms % 1000) * 1000000;
	if (now.tv_nsec >= 1000000000) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000;
	}
	sp->retry_at = now;
	return -1;
}

/* Sends prepared statement id (preparing it on first use) with p (may be
 * NULL) in pipeline mode, queued behind the others: 0, or -1 (the
 * connection failed; the transaction is lost). */
static int
pg_send_slot(struct store_pg *sp, enum stmt_id id, const struct pg_params *p,
    int one, int slot)
{
	char name[16];

	/* room for a PQsendPrepare and the statement */
	assert(sp->npend + 2 <= PG_PIPE_MAX);
	snprintf(name, sizeof(name), "kb%d", (int)id);
	if (!sp->prepared[id]) {
		if (PQsendPrepare(sp->conn, name, stmt_sql[id], 0, NULL) != 1)
			goto fail;
		sp->pend[sp->npend++] = (struct pg_pending){ id, 1, 0, -1 };
		sp->prepared[id] = 1;	/* undone if the answer says so */
	}
	if (PQsendQueryPrepared(sp->conn, name, p != NULL ? p->n : 0,
	    p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
	    p != NULL ? p->fmt : NULL, 0) != 1)
		goto fail;
	sp->pend[sp->npend++] = (struct pg_pending){ id, 0, (unsigned char)one,
	    (short)slot };
	return 0;
fail:
	pg_seterr(sp, NULL);
	sp->pipe_failed = 1;
	return -1;
}

static int
pg_send(struct store_pg *sp, enum stmt_id id, const struct pg_params *p,
    int one)
{
	return pg_send_slot(sp, id, p, one, -1);
}

static void account_row(const PGresult *, int, struct ledger_account_info *);

/* A prefetched row's answer into its cache slot. */
static void
pg_cache_fill(struct store_pg *sp, int slot, const PGresult *res)
{
	struct pg_cached *c = &sp->cache[slot];

	if (PQntuples(res) == 0)
		c->state = 2;
	else {
		if (c->id == ST_ACCOUNT_GET)
			account_row(res, 0, &c->a);
		c->state = 1;
	}
}

/* Pipeline mode: the first failure of the transaction is the one kept. */
static void
pg_pipe_fail(struct store_pg *sp, const PGresult *res, const char *why)
{
	if (sp->pipe_failed)
		return;
	sp->pipe_failed = 1;
	if (why != NULL)
		snprintf(sp->err, sizeof(sp->err), "%s", why);
	else
		pg_seterr(sp, res);
}

/* Pipeline mode: reads the answers of the queued statements in order,
 * checking each, but the last one's when keep_last, which is returned
 * (the caller PQclears it; NULL when it failed, with the reason in
 * errmsg).  The queue is empty after. */
static PGresult *
pg_drain(struct store_pg *sp, int keep_last)
{
	PGresult *res, *kept = NULL;
	ExecStatusType st;

	for (size_t i = 0; i < sp->npend; i++) {
		const struct pg_pending *q = &sp->pend[i];

		if ((res = PQgetResult(sp->conn)) == NULL) {
			/* the connection is gone: no more answers */
			pg_pipe_fail(sp, NULL, NULL);
			for (size_t j = i; j < sp->npend; j++)
				if (sp->pend[j].prepare)
					sp->prepared[sp->pend[j].id] = 0;
			break;
		}
		st = PQresultStatus(res);
		if (q->prepare) {
			if (st != PGRES_COMMAND_OK) {
				sp->prepared[q->id] = 0;
				pg_pipe_fail(sp, res, NULL);
			}
		} else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			pg_pipe_fail(sp, res, NULL);
		else if (q->one && strcmp(PQcmdTuples(res), "1") != 0)
			pg_pipe_fail(sp, res, "no row to change");
		else if (q->slot >= 0 && !sp->pipe_failed)
			pg_cache_fill(sp, q->slot, res);
		if (keep_last && i + 1 == sp->npend && !sp->pipe_failed)
			kept = res;
		else
			PQclear(res);
		/* the end of this statement's answers */
		while ((res = PQgetResult(sp->conn)) != NULL)
			PQclear(res);
	}
	sp->npend = 0;
	return kept;
}

/* Pipeline mode: sends what is queued and waits for its answers (one
 * round trip); 0, or -1 when a statement failed. */
static int
pg_pipe_flush(struct store_pg *sp)
{
	if (PQsendFlushRequest(sp->conn) != 1 || PQflush(sp->conn) != 0) {
		pg_seterr(sp, NULL);
		sp->pipe_failed = 1;
	}
	(void)pg_drain(sp, 0);
	return sp->pipe_failed ? -1 : 0;
}

/* Leaves pipeline mode: a Sync (which ends the skipping of statements
 * after a failed one), every answer read, back to one statement at a
 * time.  With last, the last queued statement's result is kept there
 * (as pg_drain(sp, 1) returns it).  The transaction itself is not ended
 * by this.  A connection that cannot leave it is reset (its transaction
 * is gone with it). */
static void
pg_pipe_end(struct store_pg *sp, PGresult **last)
{
	PGresult *res;
	int synced = 0;

	if (last != NULL)
		*last = NULL;
	if (!sp->pipe)
		return;
	sp->pipe = 0;
	sp->ncache = 0;		/* the transaction's reads end with it */
	if (PQstatus(sp->conn) != CONNECTION_OK) {
		/* PQreset leaves pipeline mode (pg_ready, outside the
		 * transaction) */
		pg_pipe_fail(sp, NULL, NULL);
		sp->npend = 0;
		return;
	}
	if (PQpipelineSync(sp->conn) != 1)
		pg_pipe_fail(sp, NULL, NULL);
	else {
		res = pg_drain(sp, last != NULL);
		if (last != NULL)
			*last = res;
		/* the Sync's own answer */
		for (int i = 0; i < 4 && !synced; i++) {
			if ((res = PQgetResult(sp->conn)) == NULL) {
				if (PQstatus(sp->conn) != CONNECTION_OK)
					break;
				continue;
			}
			synced = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
			PQclear(res);
		}
	}
	sp->npend = 0;
	if (PQstatus(sp->conn) != CONNECTION_OK)
		return;		/* lost: pg_ready resets it, with backoff */
	if (!synced || PQexitPipelineMode(sp->conn) != 1) {
		/* Not expected of a live connection; a fresh one is in a
		 * known state. */
		pg_pipe_fail(sp, NULL, NULL);
		PQreset(sp->conn);
		if (PQstatus(sp->conn) != CONNECTION_OK || pg_session(sp) != 0)
			memset(sp->prepared, 0, sizeof(sp->prepared));
	}
}

/* Runs prepared statement id (preparing it on first use) with p (may be
 * NULL).  Returns the result of a successful command or query (the caller
 * PQclears it), or NULL with the reason in errmsg.  In pipeline mode the
 * queued statements go with it, and fail it when one of them failed. */
static PGresult *
pg_run(struct store_pg *sp, enum stmt_id id, const struct pg_params *p)
{
	PGresult *res;
	ExecStatusType st;
	char name[16];

	if (sp->pipe) {
		if (sp->pipe_failed || pg_send(sp, id, p, 0) != 0)
			return NULL;
		if (PQsendFlushRequest(sp->conn) != 1 ||
		    PQflush(sp->conn) != 0) {
			pg_seterr(sp, NULL);
			sp->pipe_failed = 1;
		}
		return pg_drain(sp, 1);
	}
	if (pg_ready(sp) != 0)
		return NULL;
	snprintf(name, sizeof(name), "kb%d", (int)id);
	if (!sp->prepared[id]) {
		res = PQprepare(sp->conn, name, stmt_sql[id], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pg_seterr(sp, res);
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		sp->prepared[id] = 1;
	}
	res = PQexecPrepared(sp->conn, name, p != NULL ? p->n : 0,
	    p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
	    p != NULL ? p->fmt : NULL, 0);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_seterr(sp, res);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Runs a statement that returns no rows; 0 or -1.  With `one`, exactly
 * one row must have changed.  In pipeline mode it is only queued (and
 * checked when the answers are read): 0 means sent. */
static int
pg_cmd(struct store_pg *sp, enum stmt_id id, const struct pg_params *p,
    int one)
{
	PGresult *res;
	int rc = 0;

	if (sp->pipe) {
		if (sp->pipe_failed || pg_send(sp, id, p, one) != 0)
			return -1;
		if (sp->npend + 2 > PG_PIPE_MAX)
			return pg_pipe_flush(sp);
		return 0;
	}
	if ((res = pg_run(sp, id, p)) == NULL)
		return -1;
	if (one && strcmp(PQcmdTuples(res), "1") != 0) {
		snprintf(sp->err, sizeof(sp->err), "no row to change");
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* ---- columns ------------------------------------------------------------ */

static void
col_text(const PGresult *r, int row, int col, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", PQgetvalue(r, row, col));
}

static int64_t
col_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 :
	    strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* A bytea of exactly len bytes ("\x" and hex, bytea_output = hex); 0, or
 * -1 when it is NULL or of another length. */
static int
col_blob(const PGresult *r, int row, int col, uint8_t *out, size_t len)
{
	const char *v = PQgetvalue(r, row, col);

	if (PQgetisnull(r, row, col) || (size_t)PQgetlength(r, row, col) !=
	    2 + 2 * len || v[0] != '\\' || v[1] != 'x')
		return -1;
	return ledger_unhex(v + 2, out, len);
}

/* A bytea of any length, decoded into a new NUL-terminated buffer (the
 * caller frees it); NULL when it is not hex bytea. */
static char *
col_blob_dup(const PGresult *r, int row, int col, size_t *len)
{
	const char *v = PQgetvalue(r, row, col);
	size_t hl = (size_t)PQgetlength(r, row, col);
	char *out;

	if (PQgetisnull(r, row, col) || hl < 2 || hl % 2 != 0 ||
	    v[0] != '\\' || v[1] != 'x')
		return NULL;
	*len = (hl - 2) / 2;
	if ((out = malloc(*len + 1)) == NULL)
		return NULL;
	if (ledger_unhex(v + 2, (uint8_t *)out, *len) != 0) {
		free(out);
		return NULL;
	}
	out[*len] = '\0';
	return out;
}

/* ---- the prefetched rows of a write transaction ---------------------- */

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
static const struct pg_cached *
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
static void
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
static void
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

/* ---- transactions ------------------------------------------------------- */

static int sp_rollback(struct ledger_store *);

/* BEGIN, then the writers' advisory lock: one block at a time on this
 * database, whichever process writes it; with pipe, in pipeline mode
 * until the commit or rollback (both go with the first read, and the
 * writes that follow with the next read or COMMIT).  A read-only store begins a snapshot instead:
 * every read until the rollback sees one state. */
static int
pg_begin(struct store_pg *sp, int pipe)
{
	sp->wrote_block = 0;
	if (sp->flags & LEDGER_STORE_READONLY) {
		if (pg_cmd(sp, ST_BEGIN_READ, NULL, 0) != 0)
			return -1;
		sp->in_tx = 1;
		return 0;
	}
	if (pipe) {
		/* reconnects here, outside a transaction, if need be */
		if (pg_ready(sp) != 0)
			return -1;
		if (PQenterPipelineMode(sp->conn) != 1) {
			pg_seterr(sp, NULL);
			return -1;
		}
		sp->pipe = 1;
		sp->pipe_failed = 0;
		sp->npend = 0;
		sp->ncache = 0;
		sp->in_tx = 1;
		/* Sent with the first read (the caller's catch-up): their
		 * failure, or the wait for the lock, shows there. */
		if (pg_cmd(sp, ST_BEGIN, NULL, 0) != 0 ||
		    pg_cmd(sp, ST_LOCK, NULL, 0) != 0) {
			sp_rollback(&sp->base);
			return -1;
		}
		return 0;
	}
	if (pg_cmd(sp, ST_BEGIN, NULL, 0) != 0)
		return -1;
	sp->in_tx = 1;
	if (pg_cmd(sp, ST_LOCK, NULL, 0) != 0) {
		sp_rollback(&sp->base);
		return -1;
	}
	return 0;
}

static int
sp_begin(struct ledger_store *s)
{
	return pg_begin(SP(s), 1);
}

/* Committed only when the server answers with the COMMIT tag: a COMMIT
 * of a transaction that failed earlier answers ROLLBACK, without error
 * (in pipeline mode, it is skipped after a failed statement). */
static int
sp_commit(struct ledger_store *s)
{
	struct store_pg *sp = SP(s);
	PGresult *res = NULL;
	int rc = -1;

	if (sp->pipe && sp->pipe_failed)
		return -1;	/* the caller rolls back */
	/* Inside the transaction: sent to the listeners at its commit. */
	if (sp->wrote_block && pg_cmd(sp, ST_NOTIFY, NULL, 0) != 0)
		return -1;
	sp->wrote_block = 0;
	if (sp->pipe) {
		if (pg_send(sp, ST_COMMIT, NULL, 0) == 0)
			pg_pipe_end(sp, &res);
		else
			pg_pipe_end(sp, NULL);
	} else
		res = pg_run(sp, ST_COMMIT, NULL);
	sp->in_tx = 0;		/* committed, rolled back, or lost */
	if (res == NULL)
		return -1;
	if (strcmp(PQcmdStatus(res), "COMMIT") == 0)
		rc = 0;
	else
		snprintf(sp->err, sizeof(sp->err), "the transaction was "
		    "rolled back by the server");
	PQclear(res);
	return rc;
}

static int
sp_rollback(struct ledger_store *s)
{
	struct store_pg *sp = SP(s);

	pg_pipe_end(sp, NULL);
	sp->in_tx = 0;
	/* A failed COMMIT or a lost connection has already ended it. */
	if (PQstatus(sp->conn) != CONNECTION_OK ||
	    PQtransactionStatus(sp->conn) == PQTRANS_IDLE)
		return 0;
	return pg_cmd(sp, ST_ROLLBACK, NULL, 0);
}

static int sp_savepoint(struct ledger_store *s)
{ return pg_cmd(SP(s), ST_SAVEPOINT, NULL, 0); }
static int sp_release(struct ledger_store *s)
{ return pg_cmd(SP(s), ST_RELEASE, NULL, 0); }
static int sp_rollback_to(struct ledger_store *s)
{ return pg_cmd(SP(s), ST_ROLLBACK_TO, NULL, 0); }

/* ---- meta and the log --------------------------------------------------- */

static int
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

static int
sp_meta_set(struct ledger_store *s, const char *k, const char *v)
{
	struct pg_params p = { 0 };

	p_text(&p, k);
	p_text(&p, v);
	return pg_cmd(SP(s), ST_META_SET, &p, 0);
}

static int
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
static int
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

			memset(&e, 0, sizeof(e));
			e.index = (uint64_t)col_i64(res, i, 0);
			e.block = (uint64_t)col_i64(res, i, 1);
			e.type = (enum ledger_entry_type)col_i64(res, i, 2);
			col_text(res, i, 3, e.account, sizeof(e.account));
			e.seq = (uint64_t)col_i64(res, i, 4);
			/* A damaged hash stays zero: verify reports it. */
			(void)col_blob(res, i, 5, e.leaf_hash, LEDGER_HASH_LEN);
			if ((text = col_blob_dup(res, i, 6, &e.len)) == NULL) {
				snprintf(SP(s)->err, sizeof(SP(s)->err),
				    "entry %llu: unreadable data",
				    (unsigned long long)e.index);
				PQclear(res);
				return -1;
			}
			e.text = text;
			e.ledger_time = (time_t)col_i64(res, i, 7);
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

static int
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

static void
block_row(const PGresult *r, int i, struct ledger_block_row *b)
{
	memset(b, 0, sizeof(*b));
	b->height = (uint64_t)col_i64(r, i, 0);
	b->first = (uint64_t)col_i64(r, i, 1);
	b->size = (uint64_t)col_i64(r, i, 2);
	b->time = (time_t)col_i64(r, i, 3);
	(void)col_blob(r, i, 4, b->root, LEDGER_HASH_LEN);
	col_text(r, i, 5, b->checkpoint, sizeof(b->checkpoint));
}

static int
sp_block_last(struct ledger_store *s, struct ledger_block_row *b)
{
	PGresult *res;
	int rc = 1;

	if ((res = pg_run(SP(s), ST_BLOCK_LAST, NULL)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		block_row(res, 0, b);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

static int
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
			block_row(res, i, &b);
			from = b.height + 1;
			stop = cb(&b, arg) != 0;
		}
		PQclear(res);
		if (stop || n < PG_PAGE)
			return 0;
	}
}

static int
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
			if (col_blob(res, i, 1, h, sizeof(h)) != 0 ||
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

/* ---- registry ----------------------------------------------------------- */

/* Account keys are one space-separated column, as in store_sqlite.c. */
static void
account_row(const PGresult *r, int i, struct ledger_account_info *a)
{
	char keys[LEDGER_MAX_ACCT_KEYS * 130], *tok, *save = NULL;

	memset(a, 0, sizeof(*a));
	col_text(r, i, 0, a->name, sizeof(a->name));
	col_text(r, i, 1, a->role, sizeof(a->role));
	a->threshold = (int)col_i64(r, i, 2);
	a->seq = (uint64_t)col_i64(r, i, 3);
	a->created_index = (uint64_t)col_i64(r, i, 4);
	col_text(r, i, 5, keys, sizeof(keys));
	for (tok = strtok_r(keys, " ", &save); tok != NULL &&
	    a->nkeys < LEDGER_MAX_ACCT_KEYS; tok = strtok_r(NULL, " ", &save))
		snprintf(a->keys[a->nkeys++], sizeof(a->keys[0]), "%s", tok);
}

static int
sp_account_get(struct ledger_store *s, const char *name,
    struct ledger_account_info *a)
{
	const struct pg_cached *c;
	struct pg_params p = { 0 };
	PGresult *res;
	int rc = 1;

	if ((c = pg_cache_get(SP(s), ST_ACCOUNT_GET, name, NULL)) != NULL) {
		if (c->state == 2)
			return 1;
		*a = c->a;
		return 0;
	}
	p_text(&p, name);
	if ((res = pg_run(SP(s), ST_ACCOUNT_GET, &p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		account_row(res, 0, a);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

static int
sp_account_put(struct ledger_store *s, const struct ledger_account_info *a)
{
	struct pg_params p = { 0 };
	char keys[LEDGER_MAX_ACCT_KEYS * 130];
	size_t off = 0;

	pg_cache_drop(SP(s), ST_ACCOUNT_GET, a->name, NULL);
	keys[0] = '\0';
	for (int i = 0; i < a->nkeys && off < sizeof(keys); i++)
		off += (size_t)snprintf(keys + off, sizeof(keys) - off, "%s%s",
		    i > 0 ? " " : "", a->keys[i]);
	p_text(&p, a->name);
	p_text(&p, a->role);
	p_i64(&p, a->threshold);
	p_i64(&p, (int64_t)a->seq);
	p_i64(&p, (int64_t)a->created_index);
	p_text(&p, keys);
	return pg_cmd(SP(s), ST_ACCOUNT_PUT, &p, 0);
}

static int
sp_account_seq(struct ledger_store *s, const char *name, uint64_t seq)
{
	struct pg_params p = { 0 };

	pg_cache_drop(SP(s), ST_ACCOUNT_GET, name, NULL);
	p_text(&p, name);
	p_i64(&p, (int64_t)seq);
	return pg_cmd(SP(s), ST_ACCOUNT_SEQ, &p, 1);
}

static int
sp_accounts(struct ledger_store *s,
    int (*cb)(const struct ledger_account_info *, void *), void *arg)
{
	struct ledger_account_info a;
	PGresult *res;

	if ((res = pg_run(SP(s), ST_ACCOUNTS, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		account_row(res, i, &a);
		if (cb(&a, arg) != 0)
			break;
	}
	PQclear(res);
	return 0;
}

static void
key_row(const PGresult *r, int i, struct ledger_key_info *k, char *csr,
    size_t csrlen)
{
	memset(k, 0, sizeof(*k));
	col_text(r, i, 0, k->key_id, sizeof(k->key_id));
	col_text(r, i, 1, k->account, sizeof(k->account));
	col_text(r, i, 2, k->name, sizeof(k->name));
	col_text(r, i, 3, k->profile, sizeof(k->profile));
	col_text(r, i, 4, k->spki, sizeof(k->spki));
	k->ndns = ledger_store_split_list(PQgetvalue(r, i, 5), &k->dns[0][0],
	    sizeof(k->dns[0]), LEDGER_MAX_SANS);
	k->nip = ledger_store_split_list(PQgetvalue(r, i, 6), &k->ip[0][0],
	    sizeof(k->ip[0]), LEDGER_MAX_SANS);
	k->not_before = (time_t)col_i64(r, i, 7);
	k->not_after = (time_t)col_i64(r, i, 8);
	k->status = (enum ledger_key_status)col_i64(r, i, 9);
	k->revoked_at = (time_t)col_i64(r, i, 10);
	k->reason = (int)col_i64(r, i, 11);
	k->registered_index = (uint64_t)col_i64(r, i, 12);
	k->revoked_index = (uint64_t)col_i64(r, i, 13);
	k->has_csr = !PQgetisnull(r, i, 14);
	if (csr != NULL && csrlen > 0)
		col_text(r, i, 14, csr, csrlen);
}

static int
sp_key_get(struct ledger_store *s, const char *key_id,
    struct ledger_key_info *k, char *csr, size_t csrlen)
{
	struct pg_params p = { 0 };
	PGresult *res;
	int rc = 1;

	p_text(&p, key_id);
	if ((res = pg_run(SP(s), ST_KEY_GET, &p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		key_row(res, 0, k, csr, csrlen);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

static int
sp_key_put(struct ledger_store *s, const struct ledger_key_info *k,
    const char *csr)
{
	struct pg_params p = { 0 };
	char dns[LEDGER_MAX_SANS * 255], ip[LEDGER_MAX_SANS * 47];

	ledger_store_join_list(dns, sizeof(dns), &k->dns[0][0],
	    sizeof(k->dns[0]), k->ndns);
	ledger_store_join_list(ip, sizeof(ip), &k->ip[0][0], sizeof(k->ip[0]),
	    k->nip);
	p_text(&p, k->key_id);
	p_text(&p, k->account);
	p_text(&p, k->name);
	p_text(&p, k->profile);
	p_text(&p, k->spki);
	p_text(&p, dns);
	p_text(&p, ip);
	p_i64(&p, (int64_t)k->not_before);
	p_i64(&p, (int64_t)k->not_after);
	p_i64(&p, (int64_t)k->status);
	p_i64(&p, (int64_t)k->registered_index);
	p_text(&p, csr);	/* NULL binds SQL NULL */
	return pg_cmd(SP(s), ST_KEY_PUT, &p, 0);
}

/* Marks one row revoked (key or certificate): exactly one row, not yet
 * revoked, must change. */
static int
revoke_row(struct ledger_store *s, enum stmt_id id, const char *key,
    time_t at, int reason, uint64_t index)
{
	struct pg_params p = { 0 };

	p_text(&p, key);
	p_i64(&p, (int64_t)at);
	p_i64(&p, reason);
	p_i64(&p, (int64_t)index);
	return pg_cmd(SP(s), id, &p, 1);
}

static int
sp_key_revoke(struct ledger_store *s, const char *key_id, time_t at,
    int reason, uint64_t index)
{
	return revoke_row(s, ST_KEY_REVOKE, key_id, at, reason, index);
}

static int
sp_keys(struct ledger_store *s, const struct ledger_key_filter *f,
    int (*cb)(const struct ledger_key_info *, void *), void *arg)
{
	struct pg_params p = { 0 };
	size_t limit = f != NULL && f->limit > 0 ? f->limit : LEDGER_LIST_MAX;
	struct ledger_key_info *k;
	PGresult *res;

	if (limit > LEDGER_LIST_MAX)
		limit = LEDGER_LIST_MAX;
	p_text(&p, f != NULL && f->after != NULL ? f->after : "");
	p_i64(&p, (int64_t)limit);
	if (f != NULL && f->status != NULL)
		p_i64(&p, strcmp(f->status, "revoked") == 0 ?
		    LEDGER_KEY_REVOKED : LEDGER_KEY_ACTIVE);
	else
		p_text(&p, NULL);
	p_text(&p, f != NULL ? f->profile : NULL);
	p_text(&p, f != NULL ? f->name_prefix : NULL);
	if ((k = malloc(sizeof(*k))) == NULL)
		return -1;
	if ((res = pg_run(SP(s), ST_KEYS, &p)) == NULL) {
		free(k);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		key_row(res, i, k, NULL, 0);
		if (cb(k, arg) != 0)
			break;
	}
	PQclear(res);
	free(k);
	return 0;
}

static void
cert_row(const PGresult *r, int i, struct ledger_cert_info *c)
{
	memset(c, 0, sizeof(*c));
	col_text(r, i, 0, c->serial, sizeof(c->serial));
	col_text(r, i, 1, c->issuer, sizeof(c->issuer));
	col_text(r, i, 2, c->key_id, sizeof(c->key_id));
	col_text(r, i, 3, c->profile, sizeof(c->profile));
	c->not_before = (time_t)col_i64(r, i, 4);
	c->not_after = (time_t)col_i64(r, i, 5);
	col_text(r, i, 6, c->cert_sha256, sizeof(c->cert_sha256));
	c->revoked = (int)col_i64(r, i, 7);
	c->revoked_at = (time_t)col_i64(r, i, 8);
	c->reason = (int)col_i64(r, i, 9);
	c->issued_index = (uint64_t)col_i64(r, i, 10);
	c->revoked_index = (uint64_t)col_i64(r, i, 11);
	c->key_revoked = col_i64(r, i, 12) == 2;
	c->key_revoked_at = (time_t)col_i64(r, i, 13);
	c->key_reason = (int)col_i64(r, i, 14);
}

/* Runs statement id with p and calls cb per certificate row until it
 * returns non-zero; 0 or -1. */
static int
cert_rows(struct ledger_store *s, enum stmt_id id, const struct pg_params *p,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	struct ledger_cert_info c;
	PGresult *res;

	if ((res = pg_run(SP(s), id, p)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		cert_row(res, i, &c);
		if (cb(&c, arg) != 0)
			break;
	}
	PQclear(res);
	return 0;
}

static int
sp_cert_get(struct ledger_store *s, const char *serial,
    struct ledger_cert_info *c)
{
	struct pg_params p = { 0 };
	PGresult *res;
	int rc = 1;

	p_text(&p, serial);
	if ((res = pg_run(SP(s), ST_CERT_GET, &p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		cert_row(res, 0, c);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

static int
sp_key_certs(struct ledger_store *s, const char *key_id,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	struct pg_params p = { 0 };

	p_text(&p, key_id);
	return cert_rows(s, ST_KEY_CERTS, &p, cb, arg);
}

static int
sp_certs(struct ledger_store *s, const char *after, size_t limit,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	struct pg_params p = { 0 };

	p_text(&p, after);
	p_i64(&p, (int64_t)limit);
	return cert_rows(s, ST_CERTS, &p, cb, arg);
}

static int
sp_certs_revoked(struct ledger_store *s, const char *issuer, time_t now,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	struct pg_params p = { 0 };

	p_text(&p, issuer);
	p_i64(&p, (int64_t)now);
	return cert_rows(s, ST_CERTS_REVOKED, &p, cb, arg);
}

static int
sp_cert_put(struct ledger_store *s, const struct ledger_cert_info *c)
{
	struct pg_params p = { 0 };

	p_text(&p, c->serial);
	p_text(&p, c->issuer);
	p_text(&p, c->key_id);
	p_text(&p, c->profile);
	p_i64(&p, (int64_t)c->not_before);
	p_i64(&p, (int64_t)c->not_after);
	p_text(&p, c->cert_sha256);
	p_i64(&p, (int64_t)c->issued_index);
	return pg_cmd(SP(s), ST_CERT_PUT, &p, 0);
}

static int
sp_cert_revoke(struct ledger_store *s, const char *serial, time_t at,
    int reason, uint64_t index)
{
	return revoke_row(s, ST_CERT_REVOKE, serial, at, reason, index);
}

static int
sp_config_exists(struct ledger_store *s, const char *group,
    const char *version)
{
	const struct pg_cached *c;
	struct pg_params p = { 0 };
	PGresult *res;
	int rc;

	if ((c = pg_cache_get(SP(s), ST_CONFIG_GET, group, version)) != NULL)
		return c->state == 1 ? 0 : 1;
	p_text(&p, group);
	p_text(&p, version);
	if ((res = pg_run(SP(s), ST_CONFIG_GET, &p)) == NULL)
		return -1;
	rc = PQntuples(res) > 0 ? 0 : 1;
	PQclear(res);
	return rc;
}

static int
sp_config_put(struct ledger_store *s, const char *group, const char *version,
    const char *sha256, int64_t size, const char *file, uint64_t index)
{
	struct pg_params p = { 0 };

	pg_cache_drop(SP(s), ST_CONFIG_GET, group, version);
	p_text(&p, group);
	p_text(&p, version);
	p_text(&p, sha256);
	if (size >= 0)
		p_i64(&p, size);
	else
		p_text(&p, NULL);
	p_text(&p, file);
	p_i64(&p, (int64_t)index);
	return pg_cmd(SP(s), ST_CONFIG_PUT, &p, 0);
}

static int
sp_configs(struct ledger_store *s, const char *group,
    int (*cb)(const struct ledger_config_info *, void *), void *arg)
{
	struct pg_params p = { 0 };
	struct ledger_config_info c;
	PGresult *res;

	p_text(&p, group != NULL ? group : "");
	if ((res = pg_run(SP(s), group != NULL ? ST_CONFIGS_GROUP : ST_CONFIGS,
	    &p)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		memset(&c, 0, sizeof(c));
		col_text(res, i, 0, c.group, sizeof(c.group));
		col_text(res, i, 1, c.version, sizeof(c.version));
		col_text(res, i, 2, c.sha256, sizeof(c.sha256));
		c.size = PQgetisnull(res, i, 3) ? -1 : col_i64(res, i, 3);
		col_text(res, i, 4, c.file, sizeof(c.file));
		c.index = (uint64_t)col_i64(res, i, 5);
		if (cb(&c, arg) != 0)
			break;
	}
	PQclear(res);
	return 0;
}

static int
sp_preauth_get(struct ledger_store *s, const char *id,
    struct ledger_preauth_info *pa)
{
	struct pg_params p = { 0 };
	PGresult *res;
	int rc = 1;

	p_text(&p, id);
	if ((res = pg_run(SP(s), ST_PREAUTH_GET, &p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		memset(pa, 0, sizeof(*pa));
		col_text(res, 0, 0, pa->id, sizeof(pa->id));
		col_text(res, 0, 1, pa->account, sizeof(pa->account));
		col_text(res, 0, 2, pa->name, sizeof(pa->name));
		col_text(res, 0, 3, pa->profile, sizeof(pa->profile));
		pa->ndns = ledger_store_split_list(PQgetvalue(res, 0, 4),
		    &pa->dns[0][0], sizeof(pa->dns[0]), LEDGER_MAX_SANS);
		pa->nip = ledger_store_split_list(PQgetvalue(res, 0, 5),
		    &pa->ip[0][0], sizeof(pa->ip[0]), LEDGER_MAX_SANS);
		pa->not_before = (time_t)col_i64(res, 0, 6);
		pa->not_after = (time_t)col_i64(res, 0, 7);
		pa->expires = (time_t)col_i64(res, 0, 8);
		col_text(res, 0, 9, pa->secret_sha256,
		    sizeof(pa->secret_sha256));
		pa->created_index = (uint64_t)col_i64(res, 0, 10);
		col_text(res, 0, 11, pa->used_key, sizeof(pa->used_key));
		pa->used_index = (uint64_t)col_i64(res, 0, 12);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

static int
sp_preauth_put(struct ledger_store *s, const struct ledger_preauth_info *pa)
{
	struct pg_params p = { 0 };
	char dns[LEDGER_MAX_SANS * 255], ip[LEDGER_MAX_SANS * 47];

	ledger_store_join_list(dns, sizeof(dns), &pa->dns[0][0],
	    sizeof(pa->dns[0]), pa->ndns);
	ledger_store_join_list(ip, sizeof(ip), &pa->ip[0][0],
	    sizeof(pa->ip[0]), pa->nip);
	p_text(&p, pa->id);
	p_text(&p, pa->account);
	p_text(&p, pa->name);
	p_text(&p, pa->profile);
	p_text(&p, dns);
	p_text(&p, ip);
	p_i64(&p, (int64_t)pa->not_before);
	p_i64(&p, (int64_t)pa->not_after);
	p_i64(&p, (int64_t)pa->expires);
	p_text(&p, pa->secret_sha256);
	p_i64(&p, (int64_t)pa->created_index);
	return pg_cmd(SP(s), ST_PREAUTH_PUT, &p, 0);
}

static int
sp_preauth_use(struct ledger_store *s, const char *id, const char *key_id,
    uint64_t index)
{
	struct pg_params p = { 0 };

	p_text(&p, id);
	p_text(&p, key_id);
	p_i64(&p, (int64_t)index);
	return pg_cmd(SP(s), ST_PREAUTH_USE, &p, 1);
}

static int
sp_counts(struct ledger_store *s, struct ledger_counts *c)
{
	struct pg_params p = { 0 };
	PGresult *res;

	memset(c, 0, sizeof(*c));
	if ((res = pg_run(SP(s), ST_COUNTERS, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		uint64_t n = (uint64_t)col_i64(res, i, 1);
		int type;

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
	PQclear(res);
	for (int t = LEDGER_ACCOUNT_CREATE; t <= LEDGER_TYPE_MAX; t++)
		c->entries += c->by_type[t];
	p_i64(&p, (int64_t)time(NULL));
	if ((res = pg_run(SP(s), ST_COUNT_AGG, &p)) == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		c->accounts = (uint64_t)col_i64(res, 0, 0);
		c->configs = (uint64_t)col_i64(res, 0, 1);
		c->certs_expiring_30d = (uint64_t)col_i64(res, 0, 2);
		c->last_block_time = (time_t)col_i64(res, 0, 3);
		c->blocks = (uint64_t)col_i64(res, 0, 4);
	}
	PQclear(res);
	return 0;
}

static int
sp_registry_rows(struct ledger_store *s, int t, const char *after,
    size_t limit, int (*cb)(const char *, const char *, void *), void *arg)
{
	struct pg_params p = { 0 };
	PGresult *res;
	char *row, grp[LEDGER_NAME_MAX + 1];
	const char *v = NULL;
	size_t off;
	int rc = 0;

	if (t < 0 || t >= LEDGER_REG_N)
		return -1;
	if (t == LEDGER_REG_CONFIGS && (v = strchr(after, '\1')) != NULL) {
		if ((size_t)(v - after) >= sizeof(grp))
			return -1;
		memcpy(grp, after, (size_t)(v - after));
		grp[v - after] = '\0';
		v++;
	}
	p_text(&p, v != NULL ? grp : after);
	p_i64(&p, (int64_t)limit);
	if (t == LEDGER_REG_CONFIGS)
		p_text(&p, v != NULL ? v : "");
	if ((res = pg_run(SP(s), (enum stmt_id)(ST_REG_FIRST + t), &p)) ==
	    NULL)
		return -1;
	if ((row = malloc(LEDGER_REG_ROW_MAX)) == NULL) {
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		off = 0;
		row[0] = '\0';
		for (int c = 1; c < PQnfields(res) && rc == 0; c++)
			rc = ledger_store_row_add(row, LEDGER_REG_ROW_MAX, &off,
			    PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c),
			    (size_t)PQgetlength(res, i, c));
		if (rc != 0)
			snprintf(SP(s)->err, sizeof(SP(s)->err), "a registry "
			    "row is too large");
		else if (cb(PQgetvalue(res, i, 0), row, arg) != 0)
			break;
	}
	free(row);
	PQclear(res);
	return rc;
}

/* Drains the notifications that arrived; 1 when there was one, 0 when
 * none, -1 when the connection failed. */
static int
pg_notified(struct store_pg *sp)
{
	PGnotify *n;
	int got = 0;

	if (PQconsumeInput(sp->conn) != 1) {
		pg_seterr(sp, NULL);
		return -1;
	}
	while ((n = PQnotifies(sp->conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

/* LISTENs on the first call (and after a reconnection), then waits for a
 * NOTIFY from a committing writer.  A failure waits out timeout_ms, so
 * that a caller looping on it does not spin while the server is away. */
static int
sp_wait_change(struct ledger_store *s, int timeout_ms)
{
	struct store_pg *sp = SP(s);
	struct pollfd pfd;
	int rc;

	if (pg_ready(sp) != 0 || (!sp->listening &&
	    pg_simple(sp, "LISTEN " PG_CHANNEL) != 0)) {
		(void)poll(NULL, 0, timeout_ms);
		return -1;
	}
	if (!sp->listening) {
		sp->listening = 1;
		return 1;	/* a block may have come before we listened */
	}
	if ((rc = pg_notified(sp)) != 0)
		return rc;
	pfd.fd = PQsocket(sp->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0) {
		(void)poll(NULL, 0, timeout_ms);
		return -1;
	}
	if (poll(&pfd, 1, timeout_ms) < 0)
		return errno == EINTR ? 0 : -1;
	return pfd.revents != 0 ? pg_notified(sp) : 0;
}

static void
sp_close(struct ledger_store *s)
{
	struct store_pg *sp = SP(s);

	if (sp == NULL)
		return;
	ledger_keycache_free(sp->base.keys);
	free(sp->cache);
	PQfinish(sp->conn);
	free(sp);
}

static const struct ledger_store_ops pg_ops = {
	.name = "postgresql",
	.close = sp_close,
	.begin = sp_begin,
	.commit = sp_commit,
	.rollback = sp_rollback,
	.savepoint = sp_savepoint,
	.release = sp_release,
	.rollback_to = sp_rollback_to,
	.meta_get = sp_meta_get,
	.meta_set = sp_meta_set,
	.entry_put = sp_entry_put,
	.entries = sp_entries,
	.block_put = sp_block_put,
	.block_last = sp_block_last,
	.blocks = sp_blocks,
	.leaf_hashes = sp_leaf_hashes,
	.account_get = sp_account_get,
	.account_put = sp_account_put,
	.account_seq = sp_account_seq,
	.accounts = sp_accounts,
	.key_get = sp_key_get,
	.key_put = sp_key_put,
	.key_revoke = sp_key_revoke,
	.keys = sp_keys,
	.cert_get = sp_cert_get,
	.cert_put = sp_cert_put,
	.cert_revoke = sp_cert_revoke,
	.key_certs = sp_key_certs,
	.certs = sp_certs,
	.certs_revoked = sp_certs_revoked,
	.config_exists = sp_config_exists,
	.config_put = sp_config_put,
	.configs = sp_configs,
	.preauth_get = sp_preauth_get,
	.preauth_put = sp_preauth_put,
	.preauth_use = sp_preauth_use,
	.counts = sp_counts,
	.registry_rows = sp_registry_rows,
	.errmsg = sp_errmsg,
	.prefetch = sp_prefetch,
	.wait_change = sp_wait_change,
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

/* Refuses a server that may lose acknowledged commits: 0 or -1. */
static int
check_durability(struct store_pg *sp, char *err, size_t errlen)
{
	static const char *const settings[] = { "synchronous_commit", "fsync" };
	PGresult *res;
	char sql[64];

	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		/* The setting name is one of the constants above. */
		snprintf(sql, sizeof(sql), "SHOW %s", settings[i]);
		res = PQexec(sp->conn, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK ||
		    PQntuples(res) != 1) {
			pg_seterr(sp, res);
			PQclear(res);
			snprintf(err, errlen, "cannot read %s: %s", settings[i],
			    sp->err);
			return -1;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "off") == 0) {
			snprintf(err, errlen, "PostgreSQL runs with %s = off: "
			    "an acknowledged entry could be lost in a crash; "
			    "turn it on, or set db_allow_async_commit = 1 in "
			    "keybridge.conf to accept that", settings[i]);
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return 0;
}

struct ledger_store *
ledger_store_pg_open(const char *url, int flags, char *err, size_t errlen)
{
	/* The URL comes last: what it says overrides these defaults. */
	const char *keys[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char *vals[] = { PG_CONNECT_TIMEOUT, "keybridge", url, NULL };
	struct store_pg *sp;
	char v[32];

	if ((sp = calloc(1, sizeof(*sp))) == NULL ||
	    (sp->base.keys = ledger_keycache_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(sp);
		return NULL;
	}
	sp->base.ops = &pg_ops;
	sp->flags = flags;
	sp->conn = PQconnectdbParams(keys, vals, 1);
	if (sp->conn == NULL || PQstatus(sp->conn) != CONNECTION_OK) {
		pg_seterr(sp, NULL);
		/* Not the URL: it may hold a password. */
		snprintf(err, errlen, "cannot connect to PostgreSQL: %s",
		    sp->conn != NULL ? sp->err : "out of memory");
		goto fail;
	}
	if (pg_session(sp) != 0) {
		snprintf(err, errlen, "PostgreSQL session: %s", sp->err);
		goto fail;
	}
	if (!(flags & (LEDGER_STORE_READONLY | LEDGER_STORE_ASYNC_OK)) &&
	    check_durability(sp, err, errlen) != 0)
		goto fail;
	if (flags & LEDGER_STORE_CREATE) {
		if (store_migrate(sp, err, errlen) != 0)
			goto fail;
	} else if (schema_version(sp) != (long)SCHEMA_VERSION ||
	    sp_meta_get(&sp->base, "schema", v, sizeof(v)) != 0) {
		snprintf(err, errlen, "database %s on %s is not a keybridge "
		    "ledger of schema %zu (an older one is migrated by any "
		    "writing command, e.g. keybridge serve)%s%s",
		    PQdb(sp->conn), PQhost(sp->conn), SCHEMA_VERSION,
		    sp->err[0] != '\0' ? ": " : "", sp->err);
		goto fail;
	}
	return &sp->base;
fail:
	sp_close(&sp->base);
	return NULL;
}
