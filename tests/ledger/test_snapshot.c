/*
 * test_snapshot.c: ledger/snapshot.c, the online copy `keybridge backup`
 * takes of an SQLite ledger (issue 17): the copy is the one snapshot the
 * read transaction began with, although another connection commits rows
 * between two of its steps (it neither restarts nor takes them in); the
 * copy is a stand-alone 0600 file in rollback-journal mode; an existing
 * destination is refused and left alone; a missing source is an error
 * that leaves no destination.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "ledger/ledger.h"

#define ERRLEN		512
#define ROWS		6000	/* of ROW_BYTES: many 512-byte pages */
#define ROW_BYTES	400
#define MORE_ROWS	500	/* committed while the copy runs */

struct fx {
	char dir[64];
	char src[128], dst[128];
	sqlite3 *w;		/* the "bridge": a writer on src */
	int steps;		/* progress calls */
	uint64_t done, total;	/* the last progress */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kb-snap-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->src, sizeof(f->src), "%s/ledger.db", f->dir);
	snprintf(f->dst, sizeof(f->dst), "%s/copy.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	const char *sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[160];

	if (f->w != NULL)
		sqlite3_close(f->w);
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->src, sfx[i]);
		(void)unlink(p);
		snprintf(p, sizeof(p), "%s%s", f->dst, sfx[i]);
		(void)unlink(p);
	}
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

/* Inserts n rows through connection db in one transaction. */
static void
insert_rows(sqlite3 *db, int n)
{
	sqlite3_stmt *st = NULL;
	char pad[ROW_BYTES + 1];

	memset(pad, 'x', ROW_BYTES);
	pad[ROW_BYTES] = '\0';
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES (?)",
	    -1, &st, NULL), SQLITE_OK);
	for (int i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, pad, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
}

/* Rows of table t in the database at path. */
static int
count_rows(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1,
	    &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* A WAL database of ROWS rows in 512-byte pages (several copy steps),
 * its writer connection kept open in f->w as a running bridge's is. */
static void
make_ledger(struct fx *f)
{
	assert_int_equal(sqlite3_open(f->src, &f->w), SQLITE_OK);
	assert_int_equal(sqlite3_exec(f->w, "PRAGMA page_size=512; "
	    "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; "
	    "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", NULL, NULL,
	    NULL), SQLITE_OK);
	insert_rows(f->w, ROWS);
}

/* Between two steps of the copy, the writer commits more rows. */
static void
progress_writes(uint64_t done, uint64_t total, void *arg)
{
	struct fx *f = arg;

	if (f->steps++ == 0 && done < total)
		insert_rows(f->w, MORE_ROWS);
	f->done = done;
	f->total = total;
}

static void
test_the_copy_is_the_snapshot_it_began_with_while_a_writer_commits(
    void **state)
{
	struct fx *f = *state;
	char err[ERRLEN] = "";
	struct stat st;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	make_ledger(f);
	assert_int_equal(ledger_snapshot(f->src, f->dst, progress_writes, f,
	    err, sizeof(err)), 0);
	/* more than one step, the last one the whole file */
	assert_true(f->steps >= 2);
	assert_true(f->total > 4096);
	assert_int_equal(f->done, f->total);
	/* the copy: the rows at its start, not the ones committed during */
	assert_int_equal(count_rows(f->dst), ROWS);
	assert_int_equal(count_rows(f->src), ROWS + MORE_ROWS);
	assert_int_equal(stat(f->dst, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* stands alone: rollback journal, intact */
	assert_int_equal(sqlite3_open_v2(f->dst, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "delete");
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1,
	    &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void
test_an_existing_destination_is_refused_and_kept(void **state)
{
	struct fx *f = *state;
	char err[ERRLEN] = "";
	FILE *fp;

	make_ledger(f);
	assert_non_null(fp = fopen(f->dst, "w"));
	fputs("mine", fp);
	fclose(fp);
	assert_int_equal(ledger_snapshot(f->src, f->dst, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "File exists"));
	assert_non_null(fp = fopen(f->dst, "r"));
	assert_non_null(fgets(err, sizeof(err), fp));
	fclose(fp);
	assert_string_equal(err, "mine");
}

static void
test_a_missing_source_leaves_no_destination(void **state)
{
	struct fx *f = *state;
	char err[ERRLEN] = "";

	assert_int_equal(ledger_snapshot(f->src, f->dst, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read"));
	assert_int_equal(access(f->dst, F_OK), -1);
	assert_int_equal(access(f->src, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_the_copy_is_the_snapshot_it_began_with_while_a_writer_commits,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_existing_destination_is_refused_and_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_missing_source_leaves_no_destination, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
