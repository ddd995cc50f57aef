/*
 * test_blob.c: ledger/blob.c, the content-addressed folder of published
 * bytes: a file stored under its SHA-256 and read back byte for byte, the
 * same bytes stored once, a file over the limit refused leaving nothing
 * (an endless one once the limit is passed),
 * an altered, a resized and a missing blob found by blob_check (an
 * altered one repaired by publishing the same bytes again), a copy
 * out refused when the stored bytes were altered, text sniffed, and bad
 * hashes refused as names; and the same on PostgreSQL large objects (when
 * KB_TEST_PG_URL names a server): stored and read back (a seek too),
 * stored once, over the limit refused leaving no row, altered (lo_put)
 * and missing found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "ledger/blob.h"
#include "ledger/ledger.h"
#include "tests/common/tmp_fx.h"
#include "tests/ledger/db_fx.h"

#define BIG_LEN	(3 * BLOB_CHUNK + 17)	/* spans several chunks */

struct fx {
	char root[64];		/* a temporary folder */
	char dir[96];		/* root/blobs */
	char src[96];		/* a source file */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_tmpdir(f->root, sizeof(f->root), "test_blob");
	snprintf(f->dir, sizeof(f->dir), "%s/blobs", f->root);
	snprintf(f->src, sizeof(f->src), "%s/src", f->root);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	fx_rmtree(f->root);
	free(f);
	return 0;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* The lowercase hex SHA-256 of p. */
static void
sha_hex(const void *p, size_t n, char hex[BLOB_HEX_LEN + 1])
{
	unsigned char md[32];

	assert_int_equal(EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL), 1);
	ledger_hex(md, sizeof(md), hex);
}

/* Entries in the folder, dot files included ("." and ".." not). */
static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static unsigned char *
big_bytes(void)
{
	unsigned char *b = malloc(BIG_LEN);

	assert_non_null(b);
	for (size_t i = 0; i < BIG_LEN; i++)
		b[i] = (unsigned char)(i * 131 + (i >> 9));
	return b;
}

static void
test_a_file_is_stored_under_its_sha256_and_read_back(void **state)
{
	struct fx *f = *state;
	unsigned char *b = big_bytes(), *back;
	char hex[BLOB_HEX_LEN + 1], want[BLOB_HEX_LEN + 1], err[256];
	char out[128];
	int64_t size = 0;
	int text = -1, fd;
	FILE *fp;

	write_file(f->src, b, BIG_LEN);
	sha_hex(b, BIG_LEN, want);
	assert_int_equal(blob_put_file(f->dir, f->src, BIG_LEN, hex, &size,
	    &text, err, sizeof(err)), 0);
	assert_string_equal(hex, want);
	assert_int_equal(size, BIG_LEN);
	assert_int_equal(text, 0);
	assert_int_equal(blob_check(f->dir, hex, BIG_LEN), BLOB_OK);
	assert_int_equal(blob_check(f->dir, hex, -1), BLOB_OK);
	assert_true((fd = blob_open(f->dir, hex, &size)) >= 0);
	close(fd);
	assert_int_equal(size, BIG_LEN);
	snprintf(out, sizeof(out), "%s/out", f->root);
	assert_int_equal(blob_get_file(f->dir, hex, out, err, sizeof(err)), 0);
	back = malloc(BIG_LEN + 1);
	assert_non_null(back);
	assert_non_null(fp = fopen(out, "rb"));
	assert_int_equal(fread(back, 1, BIG_LEN + 1, fp), BIG_LEN);
	fclose(fp);
	assert_memory_equal(back, b, BIG_LEN);
	free(back);
	free(b);
}

static void
test_the_same_bytes_are_stored_once(void **state)
{
	struct fx *f = *state;
	char hex[BLOB_HEX_LEN + 1], hex2[BLOB_HEX_LEN + 1], err[256];
	int64_t size;
	int text;

	write_file(f->src, "mode = 1\n", 9);
	assert_int_equal(blob_put_file(f->dir, f->src, 1024, hex, &size,
	    &text, err, sizeof(err)), 0);
	assert_int_equal(text, 1);
	assert_int_equal(blob_put_file(f->dir, f->src, 1024, hex2, &size,
	    &text, err, sizeof(err)), 0);
	assert_string_equal(hex, hex2);
	assert_int_equal(count_entries(f->dir), 1);
	write_file(f->src, "mode = 2\n", 9);
	assert_int_equal(blob_put_file(f->dir, f->src, 1024, hex2, &size,
	    &text, err, sizeof(err)), 0);
	assert_string_not_equal(hex, hex2);
	assert_int_equal(count_entries(f->dir), 2);
}

static void
test_a_file_over_the_limit_is_refused_leaving_nothing(void **state)
{
	struct fx *f = *state;
	unsigned char *b = big_bytes();
	char hex[BLOB_HEX_LEN + 1], err[256];
	int64_t size;
	int text;

	write_file(f->src, b, BIG_LEN);
	assert_int_equal(blob_put_file(f->dir, f->src, BIG_LEN - 1, hex,
	    &size, &text, err, sizeof(err)), -2);
	assert_non_null(strstr(err, "blob_max_bytes"));
	assert_int_equal(count_entries(f->dir), 0);
	/* exactly at the limit passes */
	assert_int_equal(blob_put_file(f->dir, f->src, BIG_LEN, hex, &size,
	    &text, err, sizeof(err)), 0);
	assert_int_equal(count_entries(f->dir), 1);
	free(b);
}

/* An endless source (/dev/zero) over the limit: refused once the limit is
 * passed, not read to its end. */
static void
test_an_endless_file_is_refused_at_the_limit(void **state)
{
	struct fx *f = *state;
	char hex[BLOB_HEX_LEN + 1], err[256];
	int64_t size;
	int text;

	assert_int_equal(blob_put_file(f->dir, "/dev/zero", 1 << 20, hex,
	    &size, &text, err, sizeof(err)), -2);
	assert_int_equal(count_entries(f->dir), 0);
}

static void
test_altered_resized_and_missing_blobs_are_found(void **state)
{
	struct fx *f = *state;
	unsigned char *b = big_bytes();
	char hex[BLOB_HEX_LEN + 1], err[256], path[256], out[128];
	int64_t size;
	int text, fd;

	write_file(f->src, b, BIG_LEN);
	assert_int_equal(blob_put_file(f->dir, f->src, BIG_LEN, hex, &size,
	    &text, err, sizeof(err)), 0);
	assert_int_equal(blob_path(f->dir, hex, path, sizeof(path)), 0);
	/* one byte changed in the last chunk, same size */
	assert_true((fd = open(path, O_WRONLY)) >= 0);
	assert_int_equal(pwrite(fd, "X", 1, BIG_LEN - 2), 1);
	close(fd);
	assert_int_equal(blob_check(f->dir, hex, BIG_LEN), BLOB_ALTERED);
	assert_int_equal(blob_check(f->dir, hex, -1), BLOB_ALTERED);
	snprintf(out, sizeof(out), "%s/out", f->root);
	assert_int_equal(blob_get_file(f->dir, hex, out, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "altered"));
	assert_int_equal(access(out, F_OK), -1);	/* nothing written */
	/* the right bytes, but the entry says another size */
	write_file(path, b, BIG_LEN);
	assert_int_equal(blob_check(f->dir, hex, BIG_LEN), BLOB_OK);
	assert_int_equal(blob_check(f->dir, hex, BIG_LEN + 1), BLOB_ALTERED);
	/* publishing the same bytes again repairs an altered copy */
	assert_true((fd = open(path, O_WRONLY)) >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 7), 1);
	close(fd);
	assert_int_equal(blob_check(f->dir, hex, BIG_LEN), BLOB_ALTERED);
	assert_int_equal(blob_put_file(f->dir, f->src, BIG_LEN, hex, &size,
	    &text, err, sizeof(err)), 0);
	assert_int_equal(blob_check(f->dir, hex, BIG_LEN), BLOB_OK);
	assert_int_equal(count_entries(f->dir), 1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(blob_check(f->dir, hex, BIG_LEN), BLOB_MISSING);
	free(b);
}

static void
test_names_that_are_not_a_sha256_are_refused(void **state)
{
	struct fx *f = *state;
	char path[256];
	int64_t size;
	static const char *const bad[] = {
		"", "abc", "../../../../etc/passwd",
		"4A73850FDE34AAD40FF8649B93A66523A5FE744357A3931CAEA0F10609D0D930",
		"4a73850fde34aad40ff8649b93a66523a5fe744357a3931caea0f10609d0d93",
		"4a73850fde34aad40ff8649b93a66523a5fe744357a3931caea0f10609d0d9300",
		"4a73850fde34aad40ff8649b93a66523a5fe744357a3931caea0f10609d0d9/.",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(blob_path(f->dir, bad[i], path, sizeof(path)),
		    -1);
		assert_int_equal(blob_open(f->dir, bad[i], &size), -1);
	}
}

/* ---- PostgreSQL large objects ---------------------------------------- */

struct pgfx {
	const char *url;		/* the server */
	char dir[FX_DIR_LEN], db[FX_DB_LEN], schema[FX_SCHEMA_LEN];
	char src[FX_DIR_LEN + 8];
};

static int
pg_setup(void **state)
{
	struct pgfx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->url = getenv("KB_TEST_PG_URL");
	fx_db_new(f->url, "blob", f->dir, f->db, f->schema);
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	*state = f;
	return 0;
}

/* One number from sql on the test's schema. */
static long
pg_count(struct pgfx *f, const char *sql)
{
	PGconn *c = PQconnectdbParams((const char *[]){ "dbname", NULL },
	    (const char *[]){ f->db, NULL }, 1);
	PGresult *r;
	long n = -1;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return n;
}

static int
pg_teardown(void **state)
{
	struct pgfx *f = *state;

	/* the large objects outlive the schema: unlink them first */
	(void)pg_count(f, "SELECT count(lo_unlink(oid)) FROM blobs");
	fx_db_free(f->url, f->dir, f->schema);
	free(f);
	return 0;
}

static void
test_pg_a_file_is_a_large_object_read_back(void **state)
{
	struct pgfx *f = *state;
	unsigned char *b = big_bytes(), *back;
	char hex[BLOB_HEX_LEN + 1], want[BLOB_HEX_LEN + 1], err[256];
	char out[FX_DIR_LEN + 8], part[16];
	struct blob_reader r;
	int64_t size;
	int text;
	FILE *fp;

	write_file(f->src, b, BIG_LEN);
	sha_hex(b, BIG_LEN, want);
	assert_int_equal(blob_put(f->db, f->src, BIG_LEN, hex, &size, &text,
	    err, sizeof(err)), 0);
	assert_string_equal(hex, want);
	assert_int_equal(size, BIG_LEN);
	assert_int_equal(blob_check(f->db, hex, BIG_LEN), BLOB_OK);
	snprintf(out, sizeof(out), "%s/out", f->dir);
	assert_int_equal(blob_get_file(f->db, hex, out, err, sizeof(err)), 0);
	assert_non_null(back = malloc(BIG_LEN + 1));
	assert_non_null(fp = fopen(out, "rb"));
	assert_int_equal(fread(back, 1, BIG_LEN + 1, fp), BIG_LEN);
	fclose(fp);
	assert_memory_equal(back, b, BIG_LEN);
	/* a seek into the second chunk */
	assert_int_equal(blob_reader_open(&r, f->db, hex, err, sizeof(err)),
	    0);
	assert_int_equal(r.size, BIG_LEN);
	assert_int_equal(blob_reader_seek(&r, BLOB_CHUNK + 5), 0);
	assert_int_equal(blob_reader_read(&r, part, sizeof(part)),
	    sizeof(part));
	assert_memory_equal(part, b + BLOB_CHUNK + 5, sizeof(part));
	blob_reader_close(&r);
	free(back);
	free(b);
}

static void
test_pg_the_same_bytes_are_one_large_object(void **state)
{
	struct pgfx *f = *state;
	char hex[BLOB_HEX_LEN + 1], hex2[BLOB_HEX_LEN + 1], err[256];
	int64_t size;
	long los;
	int text;

	write_file(f->src, "mode = 1\n", 9);
	assert_int_equal(blob_put(f->db, f->src, 1024, hex, &size, &text, err,
	    sizeof(err)), 0);
	assert_int_equal(text, 1);
	los = pg_count(f, "SELECT count(*) FROM pg_largeobject_metadata");
	assert_int_equal(blob_put(f->db, f->src, 1024, hex2, &size, &text, err,
	    sizeof(err)), 0);
	assert_string_equal(hex, hex2);
	assert_int_equal(pg_count(f, "SELECT count(*) FROM blobs"), 1);
	/* the second object was rolled back, not left behind */
	assert_int_equal(pg_count(f, "SELECT count(*) FROM "
	    "pg_largeobject_metadata"), los);
}

static void
test_pg_over_the_limit_leaves_no_row(void **state)
{
	struct pgfx *f = *state;
	char hex[BLOB_HEX_LEN + 1], err[256];
	int64_t size;
	int text;

	assert_int_equal(blob_put(f->db, "/dev/zero", 1 << 20, hex, &size,
	    &text, err, sizeof(err)), -2);
	assert_int_equal(pg_count(f, "SELECT count(*) FROM blobs"), 0);
}

static void
test_pg_altered_and_missing_objects_are_found(void **state)
{
	struct pgfx *f = *state;
	char hex[BLOB_HEX_LEN + 1], err[256], out[FX_DIR_LEN + 8];
	struct blob_reader r;
	int64_t size;
	int text;

	write_file(f->src, "mode = 1\n", 9);
	assert_int_equal(blob_put(f->db, f->src, 1024, hex, &size, &text, err,
	    sizeof(err)), 0);
	assert_int_equal(pg_count(f, "SELECT count(lo_put(oid, 2, "
	    "'\\x58'::bytea)) FROM blobs"), 1);
	assert_int_equal(blob_check(f->db, hex, 9), BLOB_ALTERED);
	snprintf(out, sizeof(out), "%s/out", f->dir);
	assert_int_equal(blob_get_file(f->db, hex, out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "altered"));
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(pg_count(f, "WITH d AS (DELETE FROM blobs RETURNING "
	    "lo_unlink(oid)) SELECT count(*) FROM d"), 1);
	assert_int_equal(blob_check(f->db, hex, 9), BLOB_MISSING);
	assert_int_equal(blob_reader_open(&r, f->db, hex, err, sizeof(err)),
	    1);
}

static void
test_pg_nothing_published_yet_is_missing_not_an_error(void **state)
{
	struct pgfx *f = *state;

	/* no table blobs in a fresh schema */
	assert_int_equal(blob_check(f->db, "4a73850fde34aad40ff8649b93a66523"
	    "a5fe744357a3931caea0f10609d0d930", -1), BLOB_MISSING);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_file_is_stored_under_its_sha256_and_read_back,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_the_same_bytes_are_stored_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_file_over_the_limit_is_refused_leaving_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_endless_file_is_refused_at_the_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_altered_resized_and_missing_blobs_are_found, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_names_that_are_not_a_sha256_are_refused, setup,
		    teardown),
	};

	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_pg_a_file_is_a_large_object_read_back, pg_setup,
		    pg_teardown),
		cmocka_unit_test_setup_teardown(
		    test_pg_the_same_bytes_are_one_large_object, pg_setup,
		    pg_teardown),
		cmocka_unit_test_setup_teardown(
		    test_pg_over_the_limit_leaves_no_row, pg_setup,
		    pg_teardown),
		cmocka_unit_test_setup_teardown(
		    test_pg_altered_and_missing_objects_are_found, pg_setup,
		    pg_teardown),
		cmocka_unit_test_setup_teardown(
		    test_pg_nothing_published_yet_is_missing_not_an_error,
		    pg_setup, pg_teardown),
	};
	const char *pg = getenv("KB_TEST_PG_URL");
	int rc = cmocka_run_group_tests_name("ledger/blob (folder)", tests,
	    NULL, NULL);

	if (pg != NULL && pg[0] != '\0')
		rc |= cmocka_run_group_tests_name("ledger/blob (postgresql)",
		    pg_tests, NULL, NULL);
	return rc;
}
