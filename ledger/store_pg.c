/*
 * store_pg.c: the PostgreSQL storage backend over libpq (docs/design.md
 * "Storage"), selected by a postgresql:// or postgres:// URL: its
 * connection set-up, reconnection and LISTEN, and its operations table
 * (the other jobs: store_pg_int.h lists the files).
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
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "ledger/store_pg_int.h"

static const char *
sp_errmsg(struct ledger_store *s)
{
	return SP(s)->err;
}

/* Session settings of a (re)established connection: hex bytea output
 * (pg_col_blob reads it), UTF-8, no notices on stderr (warnings and
 * errors only), and read-only transactions for a read-only store. */
int
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
int
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
	.block_sign = sp_block_sign,
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
	.cert_signed_put = sp_cert_signed_put,
	.cert_signed_get = sp_cert_signed_get,
	.key_certs = sp_key_certs,
	.certs = sp_certs,
	.certs_revoked = sp_certs_revoked,
	.certs_unsigned = sp_certs_unsigned,
	.certs_latest = sp_certs_latest,
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
	if (pg_schema_open(sp, flags, err, errlen) != 0)
		goto fail;
	return &sp->base;
fail:
	sp_close(&sp->base);
	return NULL;
}
