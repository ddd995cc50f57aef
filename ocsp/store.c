/*
 * store.c: the persistent OCSP store in SQLite (store.h).  Every value
 * goes through bind parameters; the schema has one table, keyed by the
 * CertID (issuer id, serial, hash: in that order, so that dropping a
 * serial's hashes is one range of the key, not a scan of the issuer's
 * rows, which made a cold start quadratic), and an index on nextUpdate
 * for the background re-signing, which goes soonest-expiring first.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "ocsp/store.h"

#define OCSPR_STORE_SCHEMA \
	"CREATE TABLE IF NOT EXISTS ocsp_answers (" \
	" issuer TEXT NOT NULL, md INTEGER NOT NULL, serial TEXT NOT NULL," \
	" state INTEGER NOT NULL, revoked_at INTEGER NOT NULL," \
	" reason INTEGER NOT NULL, not_after INTEGER NOT NULL," \
	" this_update INTEGER NOT NULL, next_update INTEGER NOT NULL," \
	" sha256 BLOB NOT NULL, der BLOB NOT NULL," \
	" PRIMARY KEY (issuer, serial, md)) WITHOUT ROWID;" \
	"CREATE INDEX IF NOT EXISTS ocsp_answers_next" \
	" ON ocsp_answers (next_update);"

/* PRAGMA user_version of a store closed by ocspr_store_close; while it
 * is open, this boot's mark (ocspr_store_boot_mark), or 0.  See
 * ocspr_store_clean. */
#define OCSPR_STORE_CLEAN	1
#define OCSPR_STORE_CLEAN_TEXT	"1"
#define OCSPR_BOOT_ID		"/proc/sys/kernel/random/boot_id"

enum { Q_GET, Q_PUT, Q_DROP, Q_DUE, Q_GONE, Q_COUNT, Q_N };

static const char *const ocspr_store_sql[Q_N] = {
	[Q_GET] = "SELECT state, revoked_at, reason, not_after, this_update,"
	    " next_update, sha256, der FROM ocsp_answers"
	    " WHERE issuer = ?1 AND md = ?2 AND serial = ?3",
	[Q_PUT] = "INSERT OR REPLACE INTO ocsp_answers VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[Q_DROP] = "DELETE FROM ocsp_answers WHERE issuer = ?1 AND"
	    " serial = ?2",
	/* Half the validity passed: this_update + (next - this) / 2 <= now,
	 * written as 2 * now >= this + next to stay in integers.  The
	 * bound on next_update (?3, now + half the validity) makes it a
	 * range of the index: without it, when nothing was due, SQLite
	 * walked every row (4.9 s at a million certificates, once a second
	 * on the loop: issue 18). */
	[Q_DUE] = "SELECT issuer, serial, next_update FROM ocsp_answers"
	    " WHERE md = 0 AND"
	    " next_update <= ?3 AND this_update + next_update <= 2 * ?1"
	    " ORDER BY next_update LIMIT ?2",
	/* An issuer no longer served: its rows are never signed again nor
	 * read (a request names a served issuer), so they go, at most ?2 a
	 * call (one statement deleting 2M rows held the loop for seconds:
	 * issue 18).  A range of the primary key. */
	[Q_GONE] = "DELETE FROM ocsp_answers WHERE (issuer, serial, md) IN"
	    " (SELECT issuer, serial, md FROM ocsp_answers"
	    " WHERE issuer = ?1 LIMIT ?2)",
	[Q_COUNT] = "SELECT count(*) FROM ocsp_answers",
};

struct ocspr_store {
	sqlite3 *db;
	sqlite3_stmt *q[Q_N];
	int in_txn;
	int txn_rows;
	int unclean;	/* not closed cleanly before this open */
	int checked;	/* and a quick_check read it (another boot) */
};

/* One integer of a PRAGMA; -1 when it cannot be read. */
static long long
ocspr_store_pragma(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * The mark an open leaves in the store until its clean close: 2 plus a
 * 30-bit FNV-1a hash of the kernel's boot id, so that an open after a
 * crash can tell whether the system has restarted since.  0 when the
 * boot id cannot be read (every unclean open is then checked).
 */
static long long
ocspr_store_boot_mark(void)
{
	char id[64];
	uint32_t h = 2166136261u;
	size_t n;
	FILE *f;

	if ((f = fopen(OCSPR_BOOT_ID, "r")) == NULL)
		return 0;
	n = fread(id, 1, sizeof(id), f);
	fclose(f);
	if (n < 16)
		return 0;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)id[i]) * 16777619u;
	return 2 + (long long)(h & 0x3fffffff);
}

/*
 * 1 when path's store was closed cleanly and looks whole without reading
 * it: the clean mark, no write-ahead log left, and a file exactly as long
 * as its header's page count says (a truncation).  A quick_check reads
 * every page: ~3 s at 100,000 certificates (219 MB), half a minute at a
 * million, before the first OCSP answer (issue 18).  A page damaged
 * inside a whole file is still never served: every row read is checked
 * against its SHA-256 (ocspr_store_row), and a damaged one is signed
 * again.  Any doubt: 0, and the caller runs the quick_check.
 */
static int
ocspr_store_clean(sqlite3 *db, const char *path)
{
	char wal[4096];
	struct stat st, ws;
	long long pages, psize;

	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", path) >= sizeof(wal) ||
	    (stat(wal, &ws) == 0 && ws.st_size > 0) || stat(path, &st) != 0 ||
	    ocspr_store_pragma(db, "PRAGMA user_version") !=
	    OCSPR_STORE_CLEAN ||
	    (pages = ocspr_store_pragma(db, "PRAGMA page_count")) <= 0 ||
	    (psize = ocspr_store_pragma(db, "PRAGMA page_size")) <= 0)
		return 0;
	return (long long)st.st_size == pages * psize;
}

/*
 * 1 when the process that had path's store open ended without closing it
 * (killed, crashed) and the system has not restarted since: its mark is
 * this boot's.  SQLite's write-ahead log keeps a database whole across
 * a process's death whatever the synchronous setting (the kernel still
 * holds every write), so only a system crash can have left a torn page;
 * at a million certificates the quick_check was 1.4 s of a crash
 * restart (issue 18).  Rows are still checked against their SHA-256.
 */
static int
ocspr_store_same_boot(sqlite3 *db)
{
	long long mark = ocspr_store_boot_mark();

	return mark != 0 && ocspr_store_pragma(db, "PRAGMA user_version") ==
	    mark;
}

/* Opens path as a store: schema, statements, and, unless it was closed
 * cleanly (ocspr_store_clean), a quick_check that the file is whole; the
 * clean mark is cleared until ocspr_store_close.  0, or -1 with err set
 * (*corrupt set when the file is not a sound database, as opposed to not
 * openable at all). */
static int
ocspr_store_try(struct ocspr_store *s, const char *path, int *corrupt,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *ok = NULL;
	char mark[64];
	int rc, ret = -1;

	*corrupt = 0;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "OCSP store %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(s->db, 1000);
	s->unclean = !ocspr_store_clean(s->db, path) &&
	    ocspr_store_pragma(s->db, "PRAGMA page_count") > 0;
	s->checked = s->unclean && !ocspr_store_same_boot(s->db);
	if (s->checked &&
	    ((rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st,
	    NULL)) != SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_ROW ||
	    (ok = sqlite3_column_text(st, 0)) == NULL ||
	    strcmp((const char *)ok, "ok") != 0)) {
		*corrupt = rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ||
		    rc == SQLITE_ROW || rc == SQLITE_OK;
		snprintf(err, errlen, "OCSP store %s: %s", path,
		    ok != NULL ? (const char *)ok : sqlite3_errmsg(s->db));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* A cache: a crash may lose the last writes (they are signed
	 * again), never the ledger's truth. */
	snprintf(mark, sizeof(mark), "PRAGMA user_version=%lld;",
	    ocspr_store_boot_mark());
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=OFF;" OCSPR_STORE_SCHEMA, NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, mark, NULL, NULL, NULL) != SQLITE_OK) {
		rc = sqlite3_errcode(s->db);
		*corrupt = rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ||
		    rc == SQLITE_ERROR;
		snprintf(err, errlen, "OCSP store %s: %s", path,
		    sqlite3_errmsg(s->db));
		goto out;
	}
	for (int i = 0; i < Q_N; i++)
		if (sqlite3_prepare_v2(s->db, ocspr_store_sql[i], -1, &s->q[i],
		    NULL) != SQLITE_OK) {
			/* a table of the same name but another shape */
			*corrupt = 1;
			snprintf(err, errlen, "OCSP store %s: %s", path,
			    sqlite3_errmsg(s->db));
			goto out;
		}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

static void
ocspr_store_shut(struct ocspr_store *s)
{
	for (int i = 0; i < Q_N; i++) {
		sqlite3_finalize(s->q[i]);
		s->q[i] = NULL;
	}
	sqlite3_close(s->db);
	s->db = NULL;
}

/* See store.h. */
struct ocspr_store *
ocspr_store_open(const char *path, int *rebuilt, char *err, size_t errlen)
{
	struct ocspr_store *s = calloc(1, sizeof(*s));
	char aside[4096], why[512];
	int corrupt = 0, n;

	*rebuilt = 0;
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ocspr_store_try(s, path, &corrupt, why, sizeof(why)) == 0)
		return s;
	ocspr_store_shut(s);
	n = snprintf(aside, sizeof(aside), "%s.corrupt", path);
	if (!corrupt || n < 0 || (size_t)n >= sizeof(aside) ||
	    rename(path, aside) != 0) {
		snprintf(err, errlen, "%s", why);
		free(s);
		return NULL;
	}
	/* The WAL and shared-memory files belong to the file set aside. */
	snprintf(aside, sizeof(aside), "%s-wal", path);
	remove(aside);
	snprintf(aside, sizeof(aside), "%s-shm", path);
	remove(aside);
	if (ocspr_store_try(s, path, &corrupt, err, errlen) != 0) {
		ocspr_store_shut(s);
		free(s);
		return NULL;
	}
	*rebuilt = 1;
	snprintf(err, errlen, "%s: set aside as %s.corrupt, started again",
	    why, path);
	return s;
}

/* See store.h. */
int
ocspr_store_opened(const struct ocspr_store *s)
{
	return !s->unclean ? OCSPR_OPEN_CLEAN : s->checked ?
	    OCSPR_OPEN_CHECKED : OCSPR_OPEN_SAME_BOOT;
}

/* See store.h. */
void
ocspr_store_close(struct ocspr_store *s)
{
	if (s == NULL)
		return;
	/* The mark last: the close that follows checkpoints the log. */
	if (ocspr_store_flush(s) == 0)
		(void)sqlite3_exec(s->db, "PRAGMA user_version="
		    OCSPR_STORE_CLEAN_TEXT, NULL, NULL, NULL);
	ocspr_store_shut(s);
	free(s);
}

/* See store.h. */
int
ocspr_store_flush(struct ocspr_store *s)
{
	int rc = 0;

	if (s->in_txn && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) !=
	    SQLITE_OK)
		rc = -1;
	s->in_txn = 0;
	s->txn_rows = 0;
	return rc;
}

/* Opens a transaction if none is; past OCSPR_STORE_TXN_MAX rows commits
 * first.  0 or -1. */
static int
ocspr_store_txn(struct ocspr_store *s)
{
	if (s->in_txn && s->txn_rows >= OCSPR_STORE_TXN_MAX &&
	    ocspr_store_flush(s) != 0)
		return -1;
	if (!s->in_txn) {
		if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) !=
		    SQLITE_OK)
			return -1;
		s->in_txn = 1;
	}
	s->txn_rows++;
	return 0;
}

/* Runs a bound statement that returns no row, and resets it. */
static int
ocspr_store_run(sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* See store.h. */
int
ocspr_store_put(struct ocspr_store *s, const char *issuer, int md,
    const char *serial, const struct ocspr_status *st,
    const unsigned char *der, size_t len, time_t this_update,
    time_t next_update)
{
	sqlite3_stmt *q = s->q[Q_PUT];
	unsigned char h[32];

	if (len == 0 || len > OCSPR_STORE_DER_MAX ||
	    EVP_Digest(der, len, h, NULL, EVP_sha256(), NULL) != 1 ||
	    ocspr_store_txn(s) != 0)
		return -1;
	sqlite3_bind_text(q, 1, issuer, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, md);
	sqlite3_bind_text(q, 3, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, (int)st->state);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)st->revoked_at);
	sqlite3_bind_int(q, 6, st->reason);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)st->not_after);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)this_update);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)next_update);
	sqlite3_bind_blob(q, 10, h, sizeof(h), SQLITE_STATIC);
	sqlite3_bind_blob(q, 11, der, (int)len, SQLITE_STATIC);
	return ocspr_store_run(q);
}

/* See store.h. */
int
ocspr_store_drop(struct ocspr_store *s, const char *issuer,
    const char *serial)
{
	sqlite3_stmt *q = s->q[Q_DROP];

	if (ocspr_store_txn(s) != 0)
		return -1;
	sqlite3_bind_text(q, 1, issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, serial, -1, SQLITE_STATIC);
	return ocspr_store_run(q);
}

/* Checks the current row of Q_GET and fills out: 1 sound and fresh, 0
 * not (out->expired set when it is sound but past its nextUpdate). */
static int
ocspr_store_row(sqlite3_stmt *q, time_t now, struct ocspr_stored *out)
{
	unsigned char h[32];
	const void *want = sqlite3_column_blob(q, 6);
	int state = sqlite3_column_int(q, 0);

	out->der = sqlite3_column_blob(q, 7);
	out->len = (size_t)sqlite3_column_bytes(q, 7);
	out->st.state = (enum ocspr_state)state;
	out->st.revoked_at = (time_t)sqlite3_column_int64(q, 1);
	out->st.reason = sqlite3_column_int(q, 2);
	out->st.not_after = (time_t)sqlite3_column_int64(q, 3);
	out->this_update = (time_t)sqlite3_column_int64(q, 4);
	out->next_update = (time_t)sqlite3_column_int64(q, 5);
	out->expired = 0;
	if (out->der == NULL || out->len == 0 ||
	    out->len > OCSPR_STORE_DER_MAX || want == NULL ||
	    sqlite3_column_bytes(q, 6) != (int)sizeof(h) ||
	    (state != OCSPR_GOOD && state != OCSPR_REVOKED) ||
	    out->this_update > out->next_update)
		return 0;
	/* A damaged page would hand a client bytes nobody signed. */
	if (EVP_Digest(out->der, out->len, h, NULL, EVP_sha256(), NULL) != 1 ||
	    CRYPTO_memcmp(h, want, sizeof(h)) != 0)
		return 0;
	if (out->next_update <= now) {
		out->expired = 1;
		return 0;
	}
	return 1;
}

/* See store.h. */
int
ocspr_store_get(struct ocspr_store *s, const char *issuer, int md,
    const char *serial, time_t now, struct ocspr_stored *out)
{
	sqlite3_stmt *q = s->q[Q_GET];
	int rc, ret;

	out->expired = 0;
	/* A previous get's row stays readable until this reset. */
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, issuer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 2, md);
	sqlite3_bind_text(q, 3, serial, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		ret = 0;
	else if (rc != SQLITE_ROW)
		ret = -1;
	else if ((ret = ocspr_store_row(q, now, out)) == 0) {
		sqlite3_reset(q);
		/* A damaged row goes; an expired one stays: it says the
		 * certificate is known, and the due query re-signs it at
		 * the pace (ocspr_store_due, issue 18). */
		if (!out->expired)
			ocspr_store_drop(s, issuer, serial);
	}
	if (ret != 1)
		sqlite3_reset(q);
	return ret;
}

/* See store.h. */
int
ocspr_store_due(struct ocspr_store *s, time_t now, time_t horizon,
    int max,
    void (*fn)(const char *issuer, const char *serial, time_t next_update,
    void *), void *arg)
{
	sqlite3_stmt *q = s->q[Q_DUE];
	int n = 0, rc;

	sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
	sqlite3_bind_int(q, 2, max);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)horizon);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *is = (const char *)sqlite3_column_text(q, 0);
		const char *se = (const char *)sqlite3_column_text(q, 1);

		if (is != NULL && se != NULL) {
			fn(is, se, (time_t)sqlite3_column_int64(q, 2), arg);
			n++;
		}
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc == SQLITE_DONE ? n : -1;
}

/* See store.h. */
int
ocspr_store_drop_issuer(struct ocspr_store *s, const char *issuer, int max)
{
	sqlite3_stmt *q = s->q[Q_GONE];

	if (ocspr_store_txn(s) != 0)
		return -1;
	sqlite3_bind_text(q, 1, issuer, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, max);
	return ocspr_store_run(q);
}

/* See store.h. */
long
ocspr_store_count(struct ocspr_store *s)
{
	sqlite3_stmt *q = s->q[Q_COUNT];
	long n = -1;

	if (sqlite3_step(q) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return n;
}
