/*
 * store_pg_exec.c: running the PostgreSQL backend's statements (see
 * store_pg.c's top): prepared once per connection, one at a time or queued
 * in pipeline mode inside a write transaction; the transactions.
 */
#include <assert.h>
#include <string.h>

#include "ledger/store_pg_int.h"

/* Keeps the message of a failed result (one line) for errmsg. */
void
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

/* Runs a constant statement without parameters (session settings,
 * migrations); 0 or -1. */
int
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

/* Sends prepared statement id (preparing it on first use) with p (may be
 * NULL) in pipeline mode, queued behind the others: 0, or -1 (the
 * connection failed; the transaction is lost). */
int
pg_send_slot(struct store_pg *sp, enum stmt_id id, const struct pg_params *p,
    int one, int slot)
{
	char name[16];

	/* room for a PQsendPrepare and the statement */
	assert(sp->npend + 2 <= PG_PIPE_MAX);
	snprintf(name, sizeof(name), "kb%d", (int)id);
	if (!sp->prepared[id]) {
		if (PQsendPrepare(sp->conn, name, pg_stmt_sql[id], 0, NULL) != 1)
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
int
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
PGresult *
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
		res = PQprepare(sp->conn, name, pg_stmt_sql[id], 0, NULL);
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
int
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

/* A bytea of exactly len bytes ("\x" and hex, bytea_output = hex); 0, or
 * -1 when it is NULL or of another length. */
int
pg_col_blob(const PGresult *r, int row, int col, uint8_t *out, size_t len)
{
	const char *v = PQgetvalue(r, row, col);

	if (PQgetisnull(r, row, col) || (size_t)PQgetlength(r, row, col) !=
	    2 + 2 * len || v[0] != '\\' || v[1] != 'x')
		return -1;
	return ledger_unhex(v + 2, out, len);
}

/* A bytea of any length, decoded into a new NUL-terminated buffer (the
 * caller frees it); NULL when it is not hex bytea. */
char *
pg_col_blob_dup(const PGresult *r, int row, int col, size_t *len)
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

/* ---- store_read.h's columns of a result row ------------------------- */

static const char *
pg_col_text(const struct ledger_store_cols *r, int col)
{
	return PQgetvalue(r->res, r->row, col);
}

static int64_t
pg_col_i64(const struct ledger_store_cols *r, int col)
{
	return col_i64(r->res, r->row, col);
}

static int
pg_col_null(const struct ledger_store_cols *r, int col)
{
	return PQgetisnull(r->res, r->row, col);
}

static int
pg_col_blob_of(const struct ledger_store_cols *r, int col, uint8_t *out,
    size_t len)
{
	return pg_col_blob(r->res, r->row, col, out, len);
}

const struct ledger_store_cols_ops pg_cols_ops = {
	.text = pg_col_text,
	.i64 = pg_col_i64,
	.null = pg_col_null,
	.blob = pg_col_blob_of,
};

/* ---- transactions ------------------------------------------------------- */

int sp_rollback(struct ledger_store *);

/* BEGIN, then the writers' advisory lock: one block at a time on this
 * database, whichever process writes it; with pipe, in pipeline mode
 * until the commit or rollback (both go with the first read, and the
 * writes that follow with the next read or COMMIT).  A read-only store
 * begins a snapshot instead: every read until the rollback sees one
 * state. */
int
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

int
sp_begin(struct ledger_store *s)
{
	return pg_begin(SP(s), 1);
}

/* Committed only when the server answers with the COMMIT tag: a COMMIT
 * of a transaction that failed earlier answers ROLLBACK, without error
 * (in pipeline mode, it is skipped after a failed statement). */
int
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

int
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

int sp_savepoint(struct ledger_store *s)
{ return pg_cmd(SP(s), ST_SAVEPOINT, NULL, 0); }
int sp_release(struct ledger_store *s)
{ return pg_cmd(SP(s), ST_RELEASE, NULL, 0); }
int sp_rollback_to(struct ledger_store *s)
{ return pg_cmd(SP(s), ST_ROLLBACK_TO, NULL, 0); }
