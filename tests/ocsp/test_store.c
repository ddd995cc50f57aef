/*
 * test_store.c: ocsp/store.c, the persistent OCSP store (a real SQLite
 * file in a temporary directory, damaged by hand the way a disk or an
 * operator would), and ocsp/cache.c's bound (CLOCK eviction).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "ocsp/ocsp_int.h"
#include "ocsp/store.h"
#include "tests/common/tmp_fx.h"

#define ISS "0782cb266780c19f2cb7cc53aef20a2a1d9e0b63"
#define NOW ((time_t)1800000000)

struct fx {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	fx_tmpdir(f->dir, sizeof(f->dir), "test_store");
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	fx_rmtree(f->dir);
	free(f);
	return 0;
}

static struct ocspr_store *
open_ok(struct fx *f, int want_rebuilt)
{
	char err[512] = "";
	int rebuilt = -1;
	struct ocspr_store *s = ocspr_store_open(f->path, &rebuilt, err,
	    sizeof(err));

	if (s == NULL)
		fail_msg("open: %s", err);
	assert_int_equal(rebuilt, want_rebuilt);
	if (want_rebuilt)
		assert_non_null(strstr(err, "set aside"));
	return s;
}

static const struct ocspr_status GOOD = { OCSPR_GOOD, 0, 0, NOW + 86400 };
static const struct ocspr_status REVOKED = { OCSPR_REVOKED, NOW - 60, 1,
    NOW + 86400 };

/* Puts a 600-byte answer for serial whose bytes start with tag. */
static void
put(struct ocspr_store *s, int md, const char *serial, unsigned char tag,
    const struct ocspr_status *st, time_t tu, time_t nu)
{
	unsigned char der[600];

	memset(der, 0x5a, sizeof(der));
	der[0] = tag;
	assert_int_equal(ocspr_store_put(s, ISS, md, serial, st, der,
	    sizeof(der), tu, nu), 0);
}

static void
test_stored_answer_comes_back_whole(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s = open_ok(f, 0);
	struct ocspr_stored row;

	put(s, 0, "1a2b", 0x30, &REVOKED, NOW - 100, NOW + 3500);
	put(s, 1, "1a2b", 0x31, &REVOKED, NOW - 100, NOW + 3500);
	assert_int_equal(ocspr_store_flush(s), 0);
	ocspr_store_close(s);
	/* across a close: the point of the store */
	s = open_ok(f, 0);
	assert_int_equal(ocspr_store_get(s, ISS, 1, "1a2b", NOW, &row), 1);
	assert_int_equal(row.len, 600);
	assert_int_equal(row.der[0], 0x31);
	assert_int_equal(row.st.state, OCSPR_REVOKED);
	assert_int_equal(row.st.revoked_at, NOW - 60);
	assert_int_equal(row.st.reason, 1);
	assert_int_equal(row.this_update, NOW - 100);
	assert_int_equal(row.next_update, NOW + 3500);
	/* another serial, another issuer: nothing */
	assert_int_equal(ocspr_store_get(s, ISS, 1, "1a2c", NOW, &row), 0);
	assert_int_equal(ocspr_store_get(s, "ffff", 1, "1a2b", NOW, &row), 0);
	ocspr_store_close(s);
}

/* An expired answer is never served, but its row stays (the certificate
 * is known: it is re-signed at the pace, issue 18); a fresh read finds it
 * again. */
static void
test_expired_answer_is_not_returned_but_kept(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s = open_ok(f, 0);
	struct ocspr_stored row;

	put(s, 0, "aa", 0x30, &GOOD, NOW - 3600, NOW);
	assert_int_equal(ocspr_store_get(s, ISS, 0, "aa", NOW, &row), 0);
	assert_int_equal(row.expired, 1);
	assert_int_equal(row.st.state, OCSPR_GOOD);
	assert_int_equal(ocspr_store_count(s), 1);
	assert_int_equal(ocspr_store_get(s, ISS, 0, "aa", NOW - 1, &row), 1);
	assert_int_equal(row.expired, 0);
	/* none at all: not expired */
	assert_int_equal(ocspr_store_get(s, ISS, 0, "ab", NOW, &row), 0);
	assert_int_equal(row.expired, 0);
	ocspr_store_close(s);
}

static void
test_altered_bytes_are_refused_and_dropped(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s = open_ok(f, 0);
	struct ocspr_stored row;
	sqlite3 *db;

	put(s, 0, "bb", 0x30, &GOOD, NOW - 10, NOW + 3590);
	put(s, 0, "cc", 0x30, &GOOD, NOW - 10, NOW + 3590);
	assert_int_equal(ocspr_store_flush(s), 0);
	/* one byte of bb's answer changed in a sound database */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE ocsp_answers SET der = "
	    "x'31' || substr(der, 2) WHERE serial = 'bb'", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(ocspr_store_get(s, ISS, 0, "bb", NOW, &row), 0);
	assert_int_equal(ocspr_store_count(s), 1);
	assert_int_equal(ocspr_store_get(s, ISS, 0, "cc", NOW, &row), 1);
	ocspr_store_close(s);
}

static void
test_drop_removes_every_hash(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s = open_ok(f, 0);
	struct ocspr_stored row;

	put(s, 0, "dd", 0x30, &GOOD, NOW, NOW + 3600);
	put(s, 1, "dd", 0x30, &GOOD, NOW, NOW + 3600);
	put(s, 0, "ee", 0x30, &GOOD, NOW, NOW + 3600);
	assert_int_equal(ocspr_store_drop(s, ISS, "dd"), 0);
	assert_int_equal(ocspr_store_get(s, ISS, 0, "dd", NOW, &row), 0);
	assert_int_equal(ocspr_store_get(s, ISS, 1, "dd", NOW, &row), 0);
	assert_int_equal(ocspr_store_get(s, ISS, 0, "ee", NOW, &row), 1);
	ocspr_store_close(s);
}

static int
plan_cb(void *arg, int n, char **v, char **names)
{
	char *out = arg;

	(void)names;
	if (n >= 4 && v[3] != NULL)
		snprintf(out + strlen(out), 256 - strlen(out), "%s;", v[3]);
	return 0;
}

/* A cold start drops every serial once: a drop that scanned the issuer's
 * rows made the start quadratic (100k certificates: 10 minutes). */
static void
test_drop_is_a_key_range_not_a_scan(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s = open_ok(f, 0);
	char plan[256] = "";
	sqlite3 *db;

	ocspr_store_close(s);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "EXPLAIN QUERY PLAN DELETE FROM "
	    "ocsp_answers WHERE issuer = 'a' AND serial = 'b'", plan_cb, plan,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_non_null(strstr(plan, "(issuer=? AND serial=?)"));
}

struct due { char serial[8][8]; time_t next[8]; int n; };

static void
due_cb(const char *issuer, const char *serial, time_t next_update, void *arg)
{
	struct due *d = arg;

	assert_string_equal(issuer, ISS);
	assert_true(d->n < 8);
	d->next[d->n] = next_update;
	snprintf(d->serial[d->n++], sizeof(d->serial[0]), "%s", serial);
}

static void
test_due_is_soonest_expiry_first(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s = open_ok(f, 0);
	struct due d = { .n = 0 };

	/* validity 3600: due from thisUpdate + 1800 */
	put(s, 0, "01", 0x30, &GOOD, NOW - 1000, NOW + 2600);	/* not due */
	put(s, 0, "02", 0x30, &GOOD, NOW - 3000, NOW + 600);
	put(s, 0, "03", 0x30, &GOOD, NOW - 2000, NOW + 1600);
	put(s, 1, "03", 0x30, &GOOD, NOW - 2000, NOW + 1600);
	put(s, 0, "04", 0x30, &GOOD, NOW - 3300, NOW + 300);
	put(s, 0, "05", 0x30, &GOOD, NOW - 3700, NOW - 100);	/* expired */
	assert_int_equal(ocspr_store_due(s, NOW, NOW + 1800, 8, due_cb, &d),
	    4);
	/* the expired row first: it is due most of all (issue 18) */
	assert_string_equal(d.serial[0], "05");
	assert_string_equal(d.serial[1], "04");
	assert_string_equal(d.serial[2], "02");
	assert_string_equal(d.serial[3], "03");
	/* with each its nextUpdate: how urgent it is (the pacing's input) */
	assert_int_equal(d.next[0], NOW - 100);
	assert_int_equal(d.next[1], NOW + 300);
	assert_int_equal(d.next[3], NOW + 1600);
	/* nothing deleted; the limit holds */
	assert_int_equal(ocspr_store_count(s), 6);
	d.n = 0;
	assert_int_equal(ocspr_store_due(s, NOW, NOW + 1800, 1, due_cb, &d),
	    1);
	assert_string_equal(d.serial[0], "05");
	ocspr_store_drop(s, ISS, "05");
	/* the horizon bounds the rows looked at (an index range, not a walk
	 * of the whole store): a row due but with a later nextUpdate (a
	 * longer validity) waits until it is inside */
	put(s, 0, "06", 0x30, &GOOD, NOW - 7200, NOW + 7100);
	d.n = 0;
	assert_int_equal(ocspr_store_due(s, NOW, NOW + 1800, 8, due_cb, &d),
	    3);
	d.n = 0;
	assert_int_equal(ocspr_store_due(s, NOW, NOW + 7200, 8, due_cb, &d),
	    4);
	assert_string_equal(d.serial[3], "06");
	ocspr_store_close(s);
}

/* After a long downtime every row is expired: the due query hands them
 * out a bounded batch at a time, soonest first, none deleted (each is a
 * known certificate to re-sign at the pace, issue 18). */
static void
test_expired_rows_come_due_a_bounded_batch_a_call(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s = open_ok(f, 0);
	struct due d = { .n = 0 };
	const int n = 5000;
	char x[16];

	for (int i = 0; i < n; i++) {
		snprintf(x, sizeof(x), "%x", i + 1);
		put(s, 0, x, 0x30, &GOOD, NOW - 3600 - n + i, NOW - n + i);
	}
	put(s, 0, "ffff0", 0x30, &GOOD, NOW - 2000, NOW + 1600);
	assert_int_equal(ocspr_store_count(s), n + 1);
	assert_int_equal(ocspr_store_due(s, NOW, NOW + 1800, 8, due_cb, &d),
	    8);
	assert_string_equal(d.serial[0], "1");
	assert_string_equal(d.serial[7], "8");
	assert_int_equal(ocspr_store_count(s), n + 1);
	ocspr_store_close(s);
}

/* The rows of an issuer no longer served go, a bounded number a call,
 * and only that issuer's. */
static void
test_drop_issuer_is_bounded_and_of_one_issuer(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s = open_ok(f, 0);
	char x[16];

	for (int i = 0; i < 10; i++) {
		snprintf(x, sizeof(x), "%x", i + 1);
		put(s, 0, x, 0x30, &GOOD, NOW - 7200, NOW - 3600);
	}
	assert_int_equal(ocspr_store_put(s, "ffff", 0, "1", &GOOD,
	    (const unsigned char *)"0", 1, NOW - 7200, NOW - 3600), 0);
	assert_int_equal(ocspr_store_drop_issuer(s, "ffff", 4), 0);
	assert_int_equal(ocspr_store_count(s), 10);
	assert_int_equal(ocspr_store_drop_issuer(s, ISS, 4), 0);
	assert_int_equal(ocspr_store_count(s), 6);
	ocspr_store_close(s);
}

static void
write_file(const char *path, const void *buf, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
test_garbage_file_is_set_aside_and_rebuilt(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s;
	struct ocspr_stored row;
	unsigned char junk[65536];
	char aside[160];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7919 >> 3);
	write_file(f->path, junk, sizeof(junk));
	s = open_ok(f, 1);
	snprintf(aside, sizeof(aside), "%s.corrupt", f->path);
	assert_int_equal(access(aside, F_OK), 0);
	assert_int_equal(ocspr_store_count(s), 0);
	put(s, 0, "ab", 0x30, &GOOD, NOW, NOW + 3600);
	assert_int_equal(ocspr_store_get(s, ISS, 0, "ab", NOW, &row), 1);
	ocspr_store_close(s);
}

/* Fills a new store with 3,000 good answers, closes it cleanly and
 * returns the file's size (more than 100 KB: pages to damage). */
static long
fill_3000_closed(struct fx *f)
{
	struct ocspr_store *s = open_ok(f, 0);
	struct stat st;
	char serial[16];

	for (int i = 0; i < 3000; i++) {
		snprintf(serial, sizeof(serial), "%x", i + 1);
		put(s, 0, serial, 0x30, &GOOD, NOW, NOW + 3600);
	}
	ocspr_store_close(s);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(st.st_size > 100000);
	return (long)st.st_size;
}

static void
test_truncated_store_is_set_aside(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s;
	long size = fill_3000_closed(f);

	assert_int_equal(truncate(f->path, size / 2), 0);
	s = open_ok(f, 1);
	assert_int_equal(ocspr_store_count(s), 0);
	ocspr_store_close(s);
}

/* PRAGMA user_version of the store file at path, read by a connection
 * of its own (beside an open store, too). */
static long long
mark_of(const char *path, const char *set)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	if (set != NULL)
		assert_int_equal(sqlite3_exec(db, set, NULL, NULL, NULL),
		    SQLITE_OK);
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The clean mark that lets an open skip the quick_check is there only
 * between a close and the next open: a crash leaves this boot's mark
 * (2 or more), never the clean one. */
static void
test_clean_close_is_marked_and_an_open_clears_the_mark(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s = open_ok(f, 0);
	long long boot;

	assert_int_equal(ocspr_store_opened(s), OCSPR_OPEN_CLEAN); /* new */
	put(s, 0, "ab", 0x30, &GOOD, NOW, NOW + 3600);
	assert_int_equal(ocspr_store_flush(s), 0);
	assert_true((boot = mark_of(f->path, NULL)) >= 2);
	ocspr_store_close(s);
	assert_int_equal(mark_of(f->path, NULL), 1);
	s = open_ok(f, 0);
	assert_int_equal(ocspr_store_opened(s), OCSPR_OPEN_CLEAN);
	assert_int_equal(mark_of(f->path, NULL), boot);
	ocspr_store_close(s);
	assert_int_equal(mark_of(f->path, NULL), 1);
}

/*
 * A store left open by a bridge that died (kill -9) on this boot is not
 * read by a quick_check at the next open: SQLite's log keeps it whole
 * across a process's death (issue 18: 1.4 s of a crash restart at a
 * million certificates).  Left open before the system restarted (another
 * boot's mark) or by an unknown writer (0), it is checked, and a damaged
 * page sets it aside.
 */
static void
test_crash_on_this_boot_is_not_rechecked_another_boot_is(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s = open_ok(f, 0);
	char set[64];
	long long boot = mark_of(f->path, NULL);

	ocspr_store_close(s);
	(void)fill_3000_closed(f);
	snprintf(set, sizeof(set), "PRAGMA user_version=%lld", boot);
	assert_int_equal(mark_of(f->path, set), boot);	/* as a kill -9 */
	s = open_ok(f, 0);
	assert_int_equal(ocspr_store_opened(s), OCSPR_OPEN_SAME_BOOT);
	assert_int_equal(ocspr_store_count(s), 3000);
	ocspr_store_close(s);
	snprintf(set, sizeof(set), "PRAGMA user_version=%lld",
	    boot == 2 ? 3 : boot - 1);	/* another boot's */
	(void)mark_of(f->path, set);
	s = open_ok(f, 0);
	assert_int_equal(ocspr_store_opened(s), OCSPR_OPEN_CHECKED);
	assert_int_equal(ocspr_store_count(s), 3000);
	ocspr_store_close(s);
	(void)mark_of(f->path, "PRAGMA user_version=0");
	s = open_ok(f, 0);
	assert_int_equal(ocspr_store_opened(s), OCSPR_OPEN_CHECKED);
	ocspr_store_close(s);
}

/*
 * A store closed cleanly is opened without reading every page (issue 18:
 * the quick_check took half a minute at a million certificates), so a
 * page damaged inside it is not found at the open: it must still never
 * be served (each row is checked against its SHA-256, or SQLite reports
 * the damage).  The same file without the clean mark (a crash) is checked
 * and set aside.
 */
static void
test_clean_store_is_not_rechecked_and_damage_is_never_served(void **state)
{
	struct fx *f = *state;
	struct ocspr_store *s;
	struct ocspr_stored row;
	unsigned char junk[4096];
	char serial[16];
	int refused = 0, rc;
	long size = fill_3000_closed(f);
	FILE *fp;

	assert_non_null(fp = fopen(f->path, "r+"));
	memset(junk, 0xc3, sizeof(junk));
	assert_int_equal(fseek(fp, size / 2 / 4096 * 4096, SEEK_SET), 0);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	assert_int_equal(fclose(fp), 0);
	s = open_ok(f, 0);	/* no quick_check: not found here */
	for (int i = 0; i < 3000; i++) {
		snprintf(serial, sizeof(serial), "%x", i + 1);
		if ((rc = ocspr_store_get(s, ISS, 0, serial, NOW, &row)) !=
		    1) {
			refused++;
			continue;
		}
		assert_int_equal(row.len, 600);
		assert_int_equal(row.der[0], 0x30);
		for (size_t k = 1; k < row.len; k++)
			assert_int_equal(row.der[k], 0x5a);
	}
	assert_true(refused > 0);
	ocspr_store_close(s);
	/* as a crash leaves it: checked at the open, set aside */
	assert_int_equal(mark_of(f->path, "PRAGMA user_version=0"), 0);
	s = open_ok(f, 1);
	assert_int_equal(ocspr_store_count(s), 0);
	ocspr_store_close(s);
}

static void
test_unopenable_path_is_an_error(void **state)
{
	char err[512] = "";
	int rebuilt = -1;

	(void)state;
	assert_null(ocspr_store_open("/nonexistent-dir/x/store.db", &rebuilt,
	    err, sizeof(err)));
	assert_non_null(strstr(err, "OCSP store"));
	assert_int_equal(rebuilt, 0);
}

/* ---- the bounded cache -------------------------------------------------- */

static struct ocspr_entry *
entry(const char *serial)
{
	struct ocspr_entry *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	snprintf(e->serial, sizeof(e->serial), "%s", serial);
	e->refs = 1;
	e->der = OPENSSL_malloc(1);
	e->len = 1;
	return e;
}

static void
test_clock_evicts_the_unused_and_keeps_the_bound(void **state)
{
	struct ocspr_cache *c = ocspr_cache_new(4);
	const char *s[] = { "e1", "e2", "e3", "e4", "e5", "e6", "e7" };

	(void)state;
	assert_non_null(c);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ocspr_cache_put(c, entry(s[i])), 0);
	assert_non_null(ocspr_cache_get(c, 0, 0, "e1"));	/* used */
	assert_int_equal(ocspr_cache_put(c, entry("e5")), 0);
	assert_int_equal(ocspr_cache_count(c), 4);
	assert_int_equal(ocspr_cache_evictions(c), 1);
	assert_non_null(ocspr_cache_get(c, 0, 0, "e1"));
	assert_null(ocspr_cache_get(c, 0, 0, "e2"));
	/* a dropped entry's slot is taken without an eviction */
	ocspr_cache_drop(c, 0, "e3");
	assert_int_equal(ocspr_cache_put(c, entry("e6")), 0);
	assert_int_equal(ocspr_cache_evictions(c), 1);
	assert_int_equal(ocspr_cache_count(c), 4);
	/* a replaced entry keeps its slot */
	assert_int_equal(ocspr_cache_put(c, entry("e6")), 0);
	assert_int_equal(ocspr_cache_count(c), 4);
	for (int i = 0; i < 100; i++) {
		char x[8];

		snprintf(x, sizeof(x), "x%d", i);
		assert_int_equal(ocspr_cache_put(c, entry(x)), 0);
		assert_true(ocspr_cache_count(c) <= 4);
	}
	ocspr_cache_free(c);
	(void)s;
}

/* A background re-signing (issue 18's waves) replaces the answers that
 * are in memory and adds none: the answers asked for stay. */
static void
test_replace_keeps_the_asked_for_and_adds_nothing(void **state)
{
	struct ocspr_cache *c = ocspr_cache_new(4);
	struct ocspr_entry *e;
	char x[8];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(x, sizeof(x), "e%d", i);
		assert_int_equal(ocspr_cache_put(c, entry(x)), 0);
	}
	for (int i = 0; i < 100; i++) {
		snprintf(x, sizeof(x), "w%d", i);
		assert_int_equal(ocspr_cache_replace(c, entry(x)), 1);
	}
	assert_int_equal(ocspr_cache_count(c), 4);
	assert_int_equal(ocspr_cache_evictions(c), 0);
	assert_null(ocspr_cache_get(c, 0, 0, "w1"));
	/* the one in memory is replaced in place: the new bytes served */
	e = entry("e2");
	e->len = 7;
	assert_int_equal(ocspr_cache_replace(c, e), 0);
	assert_ptr_equal(ocspr_cache_get(c, 0, 0, "e2"), e);
	assert_int_equal(ocspr_cache_get(c, 0, 0, "e2")->len, 7);
	for (int i = 0; i < 4; i++) {
		snprintf(x, sizeof(x), "e%d", i);
		assert_non_null(ocspr_cache_get(c, 0, 0, x));
	}
	/* its ring slot is its own: later puts evict within the bound */
	for (int i = 0; i < 20; i++) {
		snprintf(x, sizeof(x), "p%d", i);
		assert_int_equal(ocspr_cache_put(c, entry(x)), 0);
		assert_true(ocspr_cache_count(c) <= 4);
	}
	ocspr_cache_free(c);
}

static void
test_unbounded_cache_evicts_nothing(void **state)
{
	struct ocspr_cache *c = ocspr_cache_new(0);
	char x[8];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(x, sizeof(x), "%x", i + 1);
		assert_int_equal(ocspr_cache_put(c, entry(x)), 0);
	}
	assert_int_equal(ocspr_cache_count(c), 1000);
	assert_int_equal(ocspr_cache_evictions(c), 0);
	ocspr_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_stored_answer_comes_back_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_expired_answer_is_not_returned_but_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_altered_bytes_are_refused_and_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_drop_removes_every_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_due_is_soonest_expiry_first, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_expired_rows_come_due_a_bounded_batch_a_call, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_drop_issuer_is_bounded_and_of_one_issuer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_drop_is_a_key_range_not_a_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_garbage_file_is_set_aside_and_rebuilt, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_truncated_store_is_set_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_on_this_boot_is_not_rechecked_another_boot_is,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_clean_close_is_marked_and_an_open_clears_the_mark,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_clean_store_is_not_rechecked_and_damage_is_never_served,
		    setup, teardown),
		cmocka_unit_test(test_unopenable_path_is_an_error),
		cmocka_unit_test(
		    test_clock_evicts_the_unused_and_keeps_the_bound),
		cmocka_unit_test(test_unbounded_cache_evicts_nothing),
		cmocka_unit_test(
		    test_replace_keeps_the_asked_for_and_adds_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
