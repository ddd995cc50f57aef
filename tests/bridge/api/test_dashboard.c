/*
 * test_dashboard.c: bridge/dashboard.c and the table of embedded files
 * generated from examples/dashboard/ by scripts/embed-dashboard.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bridge/bridge.h"
#include "bridge/api/api.h"
#include "bridge/api/dashboard.h"

#ifndef KEYBRIDGE_SRCDIR
#define KEYBRIDGE_SRCDIR "."
#endif

#define MAX_FILE (1024 * 1024)

/* The bytes of KEYBRIDGE_SRCDIR/examples/dashboard/name (malloc'd). */
static unsigned char *
read_source(const char *name, size_t *len)
{
	char path[512];
	unsigned char *buf;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/examples/dashboard/%s",
	    KEYBRIDGE_SRCDIR, name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	buf = malloc(MAX_FILE);
	assert_non_null(buf);
	*len = fread(buf, 1, MAX_FILE, fp);
	assert_int_equal(ferror(fp), 0);
	fclose(fp);
	return buf;
}

static void
test_the_page_and_its_assets_are_embedded_byte_for_byte(void **state)
{
	static const char *const names[] = {
		"index.html", "app.js", "style.css", "favicon.svg",
	};
	const struct dashboard_file *f;
	unsigned char *src;
	size_t i, len;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		f = dashboard_find(names[i]);
		assert_non_null(f);
		src = read_source(names[i], &len);
		assert_int_equal(f->len, len);
		assert_memory_equal(f->data, src, len);
		free(src);
	}
}

static void
test_every_file_has_a_quoted_sha256_etag(void **state)
{
	size_t i, j;
	const char *e;

	assert_true(dashboard_nfiles >= 4);
	for (i = 0; i < dashboard_nfiles; i++) {
		e = dashboard_files[i].etag;
		assert_int_equal(strlen(e), 66);
		assert_int_equal(e[0], '"');
		assert_int_equal(e[65], '"');
		for (j = 1; j < 65; j++)
			assert_non_null(strchr("0123456789abcdef", e[j]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(dashboard_files[i].name,
			    dashboard_files[j].name);
	}
}

static void
test_names_outside_the_table_are_never_found(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "../keybridge.conf", "%2e%2e", "%2e%2e/x",
		"index.html/", "/index.html", "./index.html", "INDEX.HTML",
		"index.htm", "index.html\n", "app.js%00", "keybridge.conf",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(dashboard_find(bad[i]));
}

static void
test_content_type_follows_the_extension(void **state)
{
	assert_string_equal(dashboard_mime("index.html"),
	    "text/html; charset=utf-8");
	assert_string_equal(dashboard_mime("app.js"),
	    "text/javascript; charset=utf-8");
	assert_string_equal(dashboard_mime("style.css"),
	    "text/css; charset=utf-8");
	assert_string_equal(dashboard_mime("favicon.svg"), "image/svg+xml");
	assert_string_equal(dashboard_mime("app.js.bak"),
	    "application/octet-stream");
	assert_string_equal(dashboard_mime("README"),
	    "application/octet-stream");
}

static void
test_the_setting_is_on_or_off(void **state)
{
	struct bridge_config c;

	config_defaults(&c, "/nonexistent");
	assert_string_equal(c.dashboard, "on");
	/* off: nothing is routed (no server needed) */
	snprintf(c.dashboard, sizeof(c.dashboard), "off");
	assert_int_equal(dashboard_register(NULL, c.dashboard), 0);
	/* anything else refuses to serve */
	snprintf(c.dashboard, sizeof(c.dashboard), "yes");
	assert_int_equal(dashboard_register(NULL, c.dashboard), -1);
	snprintf(c.dashboard, sizeof(c.dashboard), "On");
	assert_int_equal(dashboard_register(NULL, c.dashboard), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_the_page_and_its_assets_are_embedded_byte_for_byte),
		cmocka_unit_test(test_every_file_has_a_quoted_sha256_etag),
		cmocka_unit_test(test_names_outside_the_table_are_never_found),
		cmocka_unit_test(test_content_type_follows_the_extension),
		cmocka_unit_test(test_the_setting_is_on_or_off),
	};

	log_verbosity = -1;	/* the refusals log errors: not here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
