/*
 * snapshot.c: a consistent copy of an SQLite ledger while a writer
 * appends to it (`keybridge backup`, issue 17; docs/operations.md
 * "Backup and restore").
 *
 * Copying the file is not safe: in WAL mode the newest pages live in
 * ledger.db-wal until a checkpoint moves them, and a copy of the two
 * files taken at different instants is not a state the database ever
 * had.  SQLite's online backup API (sqlite3_backup_*) copies pages
 * through the library instead.  It is run from inside a read transaction
 * held on the source connection for the whole copy: in WAL mode a reader
 * keeps the snapshot it began with and does not block the writer, and a
 * backup whose source connection already has a transaction open uses it
 * rather than opening (and re-checking) one per step.  So the copy is
 * the one snapshot the BEGIN saw, however long it takes, and it is taken
 * in steps of SNAPSHOT_STEP_PAGES so that progress can be shown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger/ledger.h"

#define SNAPSHOT_STEP_PAGES	4096	/* 16 MiB of 4 KiB pages per step */
#define SNAPSHOT_BUSY_MS	10000	/* the writer's lock, at BEGIN */
#define SNAPSHOT_BUSY_TRIES	1000	/* a step that met a lock: retries */
#define SNAPSHOT_BUSY_SLEEP_US	10000

/* See ledger.h. */
int
ledger_snapshot(const char *src, const char *dst,
    ledger_snapshot_progress_fn progress, void *arg, char *err,
    size_t errlen)
{
	sqlite3 *s = NULL, *d = NULL;
	sqlite3_backup *b = NULL;
	int fd = -1, rc = -1, step, tries = 0, in_txn = 0;

	if (access(src, R_OK) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", src,
		    strerror(errno));
		goto out;
	}
	/* The copy holds every key's registration: created 0600, and never
	 * over an existing file. */
	if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
		goto out;
	}
	/* Read-write without CREATE: a read-only connection cannot open a
	 * WAL database whose -shm it may not write.  Nothing is written. */
	if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(s, SNAPSHOT_BUSY_MS) != SQLITE_OK ||
	    sqlite3_exec(s, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", src, s != NULL ?
		    sqlite3_errmsg(s) : "out of memory");
		goto out;
	}
	in_txn = 1;
	/* The read transaction starts at the first read: this one fixes
	 * the snapshot the whole copy is taken from. */
	if (sqlite3_exec(s, "SELECT count(*) FROM sqlite_master", NULL, NULL,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read %s: %s", src,
		    sqlite3_errmsg(s));
		goto out;
	}
	/* The destination is new and ours alone, flushed once at the end
	 * (fsync below): no journal and no syncs while it is written,
	 * which would double its writes. */
	if (sqlite3_open_v2(dst, &d, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(d, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF",
	    NULL, NULL, NULL) != SQLITE_OK ||
	    (b = sqlite3_backup_init(d, "main", s, "main")) == NULL) {
		snprintf(err, errlen, "cannot start the copy into %s: %s", dst,
		    d != NULL ? sqlite3_errmsg(d) : "out of memory");
		goto out;
	}
	for (;;) {
		step = sqlite3_backup_step(b, SNAPSHOT_STEP_PAGES);
		if (step == SQLITE_DONE)
			break;
		if (step == SQLITE_BUSY || step == SQLITE_LOCKED) {
			/* the destination is ours alone; kept for safety */
			if (++tries > SNAPSHOT_BUSY_TRIES) {
				snprintf(err, errlen, "%s stayed locked", dst);
				goto out;
			}
			usleep(SNAPSHOT_BUSY_SLEEP_US);
			continue;
		}
		if (step != SQLITE_OK) {
			snprintf(err, errlen, "copying %s: %s", src,
			    sqlite3_errstr(step));
			goto out;
		}
		if (progress != NULL)
			progress((uint64_t)(sqlite3_backup_pagecount(b) -
			    sqlite3_backup_remaining(b)),
			    (uint64_t)sqlite3_backup_pagecount(b), arg);
	}
	if (progress != NULL)
		progress((uint64_t)sqlite3_backup_pagecount(b),
		    (uint64_t)sqlite3_backup_pagecount(b), arg);
	step = sqlite3_backup_finish(b);
	b = NULL;
	if (step != SQLITE_OK) {
		snprintf(err, errlen, "copying %s: %s", src,
		    sqlite3_errstr(step));
		goto out;
	}
	/* The copy stands alone: a rollback journal, so that reading it
	 * (the manifest's checkpoint, restore's verify) leaves no -wal or
	 * -shm beside it.  serve sets WAL again when it opens it. */
	if (sqlite3_exec(d, "PRAGMA journal_mode=DELETE", NULL, NULL,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", dst, sqlite3_errmsg(d));
		goto out;
	}
	if (sqlite3_close(d) != SQLITE_OK) {
		snprintf(err, errlen, "closing %s", dst);
		goto out;
	}
	d = NULL;
	if (fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (b != NULL)
		(void)sqlite3_backup_finish(b);
	if (d != NULL)
		(void)sqlite3_close(d);
	if (in_txn)
		(void)sqlite3_exec(s, "COMMIT", NULL, NULL, NULL);
	if (s != NULL)
		(void)sqlite3_close(s);
	if (fd >= 0)
		close(fd);
	if (rc != 0 && fd >= 0)
		(void)unlink(dst);
	return rc;
}
