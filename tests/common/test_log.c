/*
 * test_log.c: common/log.c and common/logreq.c: the text and JSON lines,
 * the targets, a failed switch keeping the old target, the reopen after a
 * rename (logrotate), the access log and request ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/log.h"
#include "tests/common/tmp_fx.h"

#define T_LINES	16

struct t_dir {
	char dir[64];
	char main[128], access[128], moved[128];
};

static int
t_setup(void **state)
{
	struct t_dir *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	fx_tmpdir(t->dir, sizeof(t->dir), "test_log");
	snprintf(t->main, sizeof(t->main), "%s/main.log", t->dir);
	snprintf(t->access, sizeof(t->access), "%s/access.log", t->dir);
	snprintf(t->moved, sizeof(t->moved), "%s/main.log.1", t->dir);
	*state = t;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t_dir *t = *state;
	struct log_config lc = { LOGL_INFO, LOG_FORMAT_TEXT, "stderr", NULL,
	    NULL, NULL };
	char err[256];

	assert_int_equal(log_configure(&lc, err, sizeof(err)), 0);
	fx_rmtree(t->dir);
	free(t);
	return 0;
}

/* The lines of path (at most T_LINES, each malloc'd); returns how many. */
static int
t_read(const char *path, char **lines)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	int n = 0;

	if (f == NULL)
		return 0;
	while (n < T_LINES && fgets(buf, sizeof(buf), f) != NULL) {
		assert_non_null(strchr(buf, '\n'));	/* whole lines */
		lines[n++] = strdup(buf);
	}
	fclose(f);
	return n;
}

static void
t_free(char **lines, int n)
{
	while (n-- > 0)
		free(lines[n]);
}

static void
t_configure(const char *target, const char *access, enum log_format fmt)
{
	struct log_config lc = { LOGL_INFO, fmt, target, access, NULL, NULL };
	char err[256];

	assert_int_equal(log_configure(&lc, err, sizeof(err)), 0);
}

static void
test_component_is_a_known_prefix_only(void **state)
{
	size_t skip;

	assert_string_equal(log_component("keyproc: refused x", &skip),
	    "keyproc");
	assert_int_equal(skip, strlen("keyproc: "));
	assert_string_equal(log_component("key process: gone", &skip),
	    "keyproc");
	assert_string_equal(log_component("EST: bad CSR", &skip), "est");
	assert_string_equal(log_component("https: 1.2.3.4 refused", &skip),
	    "http");
	assert_string_equal(log_component("signal 15: stopping", &skip),
	    "keybridge");
	assert_int_equal(skip, 0);
	assert_string_equal(log_component("/etc/x: No such file", &skip),
	    "keybridge");
	assert_string_equal(log_component("validator_name: bad", &skip),
	    "keybridge");
	assert_string_equal(log_component("ocsp:no space", &skip),
	    "keybridge");
}

static void
test_json_lines_carry_time_level_component_message(void **state)
{
	struct t_dir *t = *state;
	char *lines[T_LINES];
	json_t *o;
	json_error_t je;
	int n;

	t_configure(t->main, NULL, LOG_FORMAT_JSON);
	log_warn("ocsp: a peer sent \"%s\"", "x\ny\xff");
	log_debug("not at info");
	log_info("no prefix here");
	n = t_read(t->main, lines);
	assert_int_equal(n, 2);		/* the newline forged no line */
	assert_non_null(o = json_loads(lines[0], 0, &je));
	assert_string_equal(json_string_value(json_object_get(o, "level")),
	    "warn");
	assert_string_equal(json_string_value(json_object_get(o,
	    "component")), "ocsp");
	/* control characters and bytes that are not UTF-8 are marked */
	assert_string_equal(json_string_value(json_object_get(o, "message")),
	    "a peer sent \"x?y?\"");
	assert_int_equal(strlen(json_string_value(json_object_get(o,
	    "time"))), strlen("2026-11-21T14:07:08.123Z"));
	assert_int_equal(json_integer_value(json_object_get(o, "pid")),
	    getpid());
	json_decref(o);
	assert_non_null(o = json_loads(lines[1], 0, &je));
	assert_string_equal(json_string_value(json_object_get(o,
	    "component")), "keybridge");
	json_decref(o);
	t_free(lines, n);
}

static void
test_text_lines_keep_their_format(void **state)
{
	struct t_dir *t = *state;
	struct log_request r = { "0000abcd-7", "192.0.2.1", "https", "GET",
	    "/api/v1/status", "/api/v1/status", 200, "12", 3.7 };
	char *lines[T_LINES];
	int n;

	t_configure(t->main, NULL, LOG_FORMAT_TEXT);
	log_info("http: hello");
	log_request(LOGL_INFO, &r);
	log_request(LOGL_DEBUG, &r);		/* a quiet listener's */
	n = t_read(t->main, lines);
	assert_int_equal(n, 2);
	assert_non_null(strstr(lines[0], "] info: http: hello\n"));
	assert_non_null(strstr(lines[1], "] info: 192.0.2.1 \"GET "
	    "/api/v1/status\" 200 12 bytes 3 ms id=0000abcd-7\n"));
	t_free(lines, n);
}

static void
test_file_is_created_0640_and_symlinks_refused(void **state)
{
	struct t_dir *t = *state;
	struct log_config lc = { LOGL_INFO, LOG_FORMAT_TEXT, t->moved, NULL,
	    NULL, NULL };
	struct stat st;
	char err[256];
	mode_t old = umask(022);

	t_configure(t->main, NULL, LOG_FORMAT_TEXT);
	assert_int_equal(stat(t->main, &st), 0);
	assert_int_equal(st.st_mode & 07777, LOG_FILE_MODE);
	assert_int_equal(symlink(t->main, t->moved), 0);
	assert_int_equal(log_configure(&lc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));
	umask(old);
}

static void
test_failed_switch_keeps_the_old_target(void **state)
{
	struct t_dir *t = *state;
	struct log_config lc = { LOGL_DEBUG, LOG_FORMAT_JSON,
	    "/nonexistent/dir/x.log", NULL, NULL, NULL };
	char err[256], *lines[T_LINES];
	int n;

	t_configure(t->main, NULL, LOG_FORMAT_TEXT);
	assert_int_equal(log_configure(&lc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/dir/x.log"));
	assert_non_null(strstr(err, "No such file"));
	lc.target = t->main;
	lc.access_log = "/nonexistent/a.log";	/* the access log fails */
	assert_int_equal(log_configure(&lc, err, sizeof(err)), -1);
	log_info("still text");
	log_debug("still at info");
	n = t_read(t->main, lines);
	assert_int_equal(n, 1);
	assert_non_null(strstr(lines[0], "info: still text"));
	assert_int_equal(log_access_on(), 0);
	t_free(lines, n);
}

static void
test_check_opens_without_switching(void **state)
{
	struct t_dir *t = *state;
	struct log_config lc = { LOGL_DEBUG, LOG_FORMAT_JSON, t->moved,
	    t->access, NULL, NULL };
	char err[256], *lines[T_LINES];
	struct stat st;
	int n;

	t_configure(t->main, NULL, LOG_FORMAT_TEXT);
	assert_int_equal(log_config_check(&lc, err, sizeof(err)), 0);
	assert_int_equal(stat(t->moved, &st), 0);	/* created */
	assert_int_equal(stat(t->access, &st), 0);
	log_debug("not at debug: the level did not change");
	log_info("still text, still here");
	assert_int_equal(log_access_on(), 0);
	n = t_read(t->main, lines);
	assert_int_equal(n, 1);
	assert_non_null(strstr(lines[0], "info: still text, still here"));
	t_free(lines, n);
	lc.access_log = "/nonexistent/a.log";
	assert_int_equal(log_config_check(&lc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "access_log /nonexistent/a.log"));
}

static void
test_reopen_follows_a_rename(void **state)
{
	struct t_dir *t = *state;
	char *lines[T_LINES];
	int n;

	t_configure(t->main, NULL, LOG_FORMAT_TEXT);
	log_info("before");
	assert_int_equal(rename(t->main, t->moved), 0);
	log_info("after the mv, before SIGUSR1");
	assert_int_equal(log_reopen(), 0);
	log_info("after the reopen");
	n = t_read(t->moved, lines);
	assert_int_equal(n, 2);
	assert_non_null(strstr(lines[1], "before SIGUSR1"));
	t_free(lines, n);
	n = t_read(t->main, lines);
	assert_int_equal(n, 2);		/* "log: reopened ..." and ours */
	assert_non_null(strstr(lines[0], "log: reopened"));
	assert_non_null(strstr(lines[1], "after the reopen"));
	t_free(lines, n);
}

static void
test_access_log_takes_every_request_line(void **state)
{
	struct t_dir *t = *state;
	struct log_request r = { "0000abcd-8", "192.0.2.1", "http", "POST",
	    "/ocsp", "/ocsp", 200, NULL, 0.25 };
	char *lines[T_LINES];
	json_t *o;
	json_error_t je;
	int n;

	t_configure(t->main, t->access, LOG_FORMAT_JSON);
	assert_int_equal(log_access_on(), 1);
	log_request(LOGL_DEBUG, &r);	/* a quiet listener's: logged here */
	r.status = 0;			/* closed before the reply */
	log_request(LOGL_INFO, &r);
	assert_int_equal(t_read(t->main, lines), 0);
	n = t_read(t->access, lines);
	assert_int_equal(n, 2);
	assert_non_null(o = json_loads(lines[0], 0, &je));
	assert_string_equal(json_string_value(json_object_get(o,
	    "request_id")), "0000abcd-8");
	assert_int_equal(json_integer_value(json_object_get(o, "status")),
	    200);
	assert_int_equal(json_integer_value(json_object_get(o, "bytes")), 0);
	assert_true(json_number_value(json_object_get(o, "duration_ms")) ==
	    0.25);
	assert_string_equal(json_string_value(json_object_get(o, "route")),
	    "/ocsp");
	json_decref(o);
	t_free(lines, n);
	/* text: one line, the status "-" when the connection closed */
	t_configure(t->main, t->access, LOG_FORMAT_TEXT);
	log_request(LOGL_INFO, &r);
	n = t_read(t->access, lines);
	assert_int_equal(n, 3);
	assert_non_null(strstr(lines[2], " 192.0.2.1 0000abcd-8 http "
	    "\"POST /ocsp\" - 0 0.250\n"));
	t_free(lines, n);
}

static void
test_request_ids_differ_and_share_the_boot_id(void **state)
{
	char a[LOG_REQID_MAX], b[LOG_REQID_MAX];

	log_request_id(a, sizeof(a));
	log_request_id(b, sizeof(b));
	assert_string_not_equal(a, b);
	assert_int_equal(strchr(a, '-') - a, 8);
	assert_memory_equal(a, b, 9);
	assert_true(strlen(a) < LOG_REQID_MAX);
}

static void
test_parsers_refuse_what_they_do_not_know(void **state)
{
	assert_int_equal(log_format_parse("json"), LOG_FORMAT_JSON);
	assert_int_equal(log_format_parse("text"), LOG_FORMAT_TEXT);
	assert_int_equal(log_format_parse("JSON"), -1);
	assert_int_equal(log_format_parse(NULL), -1);
	assert_int_equal(log_target_check("syslog"), 0);
	assert_int_equal(log_target_check("/var/log/k.log"), 0);
	assert_int_equal(log_target_check(""), -1);
	assert_int_equal(log_target_check("a\nb"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_component_is_a_known_prefix_only),
		cmocka_unit_test_setup_teardown(
		    test_json_lines_carry_time_level_component_message,
		    t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(
		    test_text_lines_keep_their_format, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(
		    test_file_is_created_0640_and_symlinks_refused, t_setup,
		    t_teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_switch_keeps_the_old_target, t_setup,
		    t_teardown),
		cmocka_unit_test_setup_teardown(
		    test_check_opens_without_switching, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_reopen_follows_a_rename,
		    t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(
		    test_access_log_takes_every_request_line, t_setup,
		    t_teardown),
		cmocka_unit_test(test_request_ids_differ_and_share_the_boot_id),
		cmocka_unit_test(test_parsers_refuse_what_they_do_not_know),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
