/*
 * test_file.c: common/file.c, reading a small file whole: absent, exactly
 * full, one byte too long (refused, never cut), unreadable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/file.h"

static char tmpdir[] = "/tmp/test_file.XXXXXX";

static void
put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
test_a_missing_file_is_told_apart_from_an_error(void **state)
{
	char path[256], buf[8], err[128] = "";
	size_t n = 99;

	snprintf(path, sizeof(path), "%s/none", tmpdir);
	assert_int_equal(file_read_small(path, buf, sizeof(buf), &n, err,
	    sizeof(err)), 1);
	assert_int_equal(n, 0);
	assert_string_equal(buf, "");
}

static void
test_a_file_that_fills_the_buffer_is_read_whole(void **state)
{
	char path[256], buf[8], err[128] = "";
	size_t n;

	snprintf(path, sizeof(path), "%s/full", tmpdir);
	put(path, "1234567");
	assert_int_equal(file_read_small(path, buf, sizeof(buf), &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 7);
	assert_string_equal(buf, "1234567");
}

static void
test_one_byte_too_long_is_refused_not_cut(void **state)
{
	char path[256], buf[8], err[128] = "";
	size_t n;

	snprintf(path, sizeof(path), "%s/long", tmpdir);
	put(path, "12345678");
	assert_int_equal(file_read_small(path, buf, sizeof(buf), &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 7 bytes"));
	assert_int_equal(n, 0);
	assert_string_equal(buf, "");
}

static void
test_a_directory_is_an_error_with_the_path(void **state)
{
	char buf[8], err[128] = "";
	size_t n;

	assert_int_equal(file_read_small(tmpdir, buf, sizeof(buf), &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, tmpdir));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_missing_file_is_told_apart_from_an_error),
		cmocka_unit_test(test_a_file_that_fills_the_buffer_is_read_whole),
		cmocka_unit_test(test_one_byte_too_long_is_refused_not_cut),
		cmocka_unit_test(test_a_directory_is_an_error_with_the_path),
	};
	char cmd[128];
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
