/*
 * test_config.c: bridge/config.c, keybridge.conf parsing and writing.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bridge/bridge.h"

#ifndef KEYBRIDGE_SRCDIR
#define KEYBRIDGE_SRCDIR "."
#endif

#define ERRLEN 512

/* A fresh temporary data directory per test (state). */
static int
setup_dir(void **state)
{
	char *dir = strdup("/tmp/kb-test-config-XXXXXX");

	if (dir == NULL || mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
teardown_dir(void **state)
{
	char *dir = *state;

	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return 0;
}

/* Writes text as dir/keybridge.conf. */
static void
write_conf(const char *dir, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, CONFIG_FILE);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
assert_configs_equal(const struct bridge_config *a,
    const struct bridge_config *b)
{
	assert_string_equal(a->dir, b->dir);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->origin, b->origin);
	assert_string_equal(a->est_listen, b->est_listen);
	assert_string_equal(a->http_listen, b->http_listen);
	assert_string_equal(a->public_https_url, b->public_https_url);
	assert_string_equal(a->public_http_url, b->public_http_url);
	assert_string_equal(a->db, b->db);
	assert_string_equal(a->validator_name, b->validator_name);
	assert_string_equal(a->validator_key, b->validator_key);
	assert_string_equal(a->validator_vkey, b->validator_vkey);
	assert_string_equal(a->bridge_account, b->bridge_account);
	assert_string_equal(a->bridge_key, b->bridge_key);
	assert_string_equal(a->admin_key, b->admin_key);
	assert_string_equal(a->tls_cert, b->tls_cert);
	assert_string_equal(a->tls_key, b->tls_key);
	assert_string_equal(a->ca_root, b->ca_root);
	assert_string_equal(a->ca_issuing, b->ca_issuing);
	assert_string_equal(a->ca_issuing_key, b->ca_issuing_key);
	assert_string_equal(a->ocsp_cert, b->ocsp_cert);
	assert_string_equal(a->ocsp_key, b->ocsp_key);
	assert_string_equal(a->log_level, b->log_level);
	assert_string_equal(a->user, b->user);
	assert_int_equal(a->batch_max, b->batch_max);
	assert_int_equal(a->max_body, b->max_body);
	assert_int_equal(a->queue_max, b->queue_max);
}

static void
test_defaults_are_the_documented_ones(void **state)
{
	struct bridge_config c;

	config_defaults(&c, "/var/lib/keybridge");
	assert_string_equal(c.dir, "/var/lib/keybridge");
	assert_string_equal(c.name, "keybridge");
	assert_string_equal(c.origin, "keybridge/ledger");
	assert_string_equal(c.est_listen, "127.0.0.1:8443");
	assert_string_equal(c.http_listen, "127.0.0.1:8080");
	assert_string_equal(c.public_https_url, "https://127.0.0.1:8443");
	assert_string_equal(c.public_http_url, "http://127.0.0.1:8080");
	assert_string_equal(c.db, "ledger.db");
	assert_string_equal(c.validator_name, "keybridge-node");
	assert_string_equal(c.validator_key, "node.key");
	assert_string_equal(c.validator_vkey, "");
	assert_string_equal(c.bridge_account, "bridge");
	assert_string_equal(c.bridge_key, "bridge.key");
	assert_string_equal(c.admin_key, "admin.key");
	assert_string_equal(c.tls_cert, "tls/server.pem");
	assert_string_equal(c.tls_key, "tls/server.key");
	assert_string_equal(c.ca_root, "ca/root.pem");
	assert_string_equal(c.ca_issuing, "ca/issuing.pem");
	assert_string_equal(c.ca_issuing_key, "ca/issuing.key");
	assert_string_equal(c.ocsp_cert, "ca/ocsp.pem");
	assert_string_equal(c.ocsp_key, "ca/ocsp.key");
	assert_string_equal(c.log_level, "info");
	assert_string_equal(c.user, "keybridge");
	assert_int_equal(c.batch_max, 1024);
	assert_int_equal(c.max_body, 65536);
	assert_int_equal(c.queue_max, 65536);
}

static void
test_write_then_load_round_trips(void **state)
{
	const char *dir = *state;
	struct bridge_config a, b;
	char path[PATH_MAX], err[ERRLEN] = "";
	struct stat st;

	config_defaults(&a, dir);
	snprintf(a.name, sizeof(a.name), "acme");
	snprintf(a.origin, sizeof(a.origin), "acme.example/ledger");
	snprintf(a.est_listen, sizeof(a.est_listen), "[::1]:9443");
	snprintf(a.public_https_url, sizeof(a.public_https_url),
	    "https://bridge.acme.example:9443/#frag");
	snprintf(a.validator_vkey, sizeof(a.validator_vkey),
	    "acme-node+1a2b3c4d+AbCdEf0123456789abcdef=");
	snprintf(a.tls_key, sizeof(a.tls_key), "/etc/keybridge/tls key.pem");
	snprintf(a.log_level, sizeof(a.log_level), "debug");
	snprintf(a.user, sizeof(a.user), "_keybridge");
	a.batch_max = 4096;
	a.max_body = 1024;
	a.queue_max = 16;

	snprintf(path, sizeof(path), "%s/%s", dir, CONFIG_FILE);
	assert_int_equal(config_write(&a, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);	/* may hold secrets */

	memset(&b, 0x5a, sizeof(b));
	assert_int_equal(config_load(&b, dir, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_configs_equal(&a, &b);

	/* Defaults written and read back are the defaults. */
	config_defaults(&a, dir);
	assert_int_equal(config_write(&a, path), 0);
	assert_int_equal(config_load(&b, dir, err, sizeof(err)), 0);
	assert_configs_equal(&a, &b);
}

static void
test_write_refuses_a_value_that_would_not_read_back(void **state)
{
	const char *dir = *state;
	struct bridge_config a;
	char path[PATH_MAX];

	config_defaults(&a, dir);
	snprintf(a.name, sizeof(a.name), "evil\nadmin_key = /tmp/x");
	snprintf(path, sizeof(path), "%s/%s", dir, CONFIG_FILE);
	assert_int_equal(config_write(&a, path), -1);
	assert_int_equal(access(path, F_OK), -1);	/* nothing left */
}

static void
test_comments_blanks_and_spacing_are_accepted(void **state)
{
	const char *dir = *state;
	struct bridge_config c;
	char err[ERRLEN] = "";

	write_conf(dir,
	    "# a comment\n"
	    "\n"
	    "   # an indented comment\n"
	    "name=acme\n"
	    "\tbatch_max   =   7  \r\n"
	    "public_http_url = http://ocsp.acme.example/#x\n"
	    "validator_vkey =\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_string_equal(c.name, "acme");
	assert_int_equal(c.batch_max, 7);
	assert_string_equal(c.public_http_url, "http://ocsp.acme.example/#x");
	assert_string_equal(c.validator_vkey, "");
	assert_string_equal(c.db, "ledger.db");		/* untouched default */
}

/* Loads text and checks that it fails with an error ending in want. */
static void
assert_load_fails(const char *dir, const char *text, const char *want)
{
	struct bridge_config c;
	char err[ERRLEN] = "";
	size_t el, wl;

	write_conf(dir, text);
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), -1);
	el = strlen(err);
	wl = strlen(want);
	if (el < wl || strcmp(err + el - wl, want) != 0)
		fail_msg("error \"%s\" does not end in \"%s\"", err, want);
	/* And it names the file with its full path. */
	assert_int_equal(strncmp(err, dir, strlen(dir)), 0);
}

static void
test_unknown_key_is_an_error(void **state)
{
	assert_load_fails(*state, "name = a\nbatch_maxx = 10\n",
	    "keybridge.conf:2: unknown key \"batch_maxx\"");
}

static void
test_out_of_range_value_names_file_line_and_key(void **state)
{
	const char *dir = *state;

	assert_load_fails(dir,
	    "# 1\n# 2\n# 3\n\nname = a\n\nbatch_max = 5000\n",
	    "keybridge.conf:7: batch_max must be between 1 and 4096");
	assert_load_fails(dir, "batch_max = 0\n",
	    "keybridge.conf:1: batch_max must be between 1 and 4096");
	assert_load_fails(dir, "max_body = 1023\n",
	    "keybridge.conf:1: max_body must be between 1024 and 1048576");
	assert_load_fails(dir, "queue_max = 99999999999999999999999\n",
	    "keybridge.conf:1: queue_max must be between 16 and 1048576");
}

/* ocsp_loops (issue 18): 1 by default, 1 .. OCSPR_MAX_LOOPS (8). */
static void
test_ocsp_loops_is_one_by_default_and_bounded(void **state)
{
	const char *dir = *state;
	struct bridge_config c;
	char err[ERRLEN];

	write_conf(dir, "name = a\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.ocsp_loops, 1);
	write_conf(dir, "ocsp_loops = 2\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.ocsp_loops, 2);
	write_conf(dir, "ocsp_loops = 8\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.ocsp_loops, OCSPR_MAX_LOOPS);
	assert_load_fails(dir, "ocsp_loops = 0\n",
	    "keybridge.conf:1: ocsp_loops must be between 1 and 8");
	assert_load_fails(dir, "ocsp_loops = 9\n",
	    "keybridge.conf:1: ocsp_loops must be between 1 and 8");
	assert_load_fails(dir, "ocsp_loops = -1\n",
	    "keybridge.conf:1: ocsp_loops must be between 1 and 8");
	assert_load_fails(dir, "ocsp_loops = two\n",
	    "keybridge.conf:1: ocsp_loops must be a whole number between 1 "
	    "and 8");
}

/* est_workers (issue 18): 2 by default, 0 (the loop) .. 8. */
static void
test_est_workers_is_two_by_default_and_bounded(void **state)
{
	const char *dir = *state;
	struct bridge_config c;
	char err[ERRLEN];

	write_conf(dir, "name = a\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.est_workers, 2);
	write_conf(dir, "est_workers = 0\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.est_workers, 0);
	assert_load_fails(dir, "est_workers = 9\n",
	    "keybridge.conf:1: est_workers must be between 0 and 8");
}

/* ingest_threads and ingest_pipeline (issue 18): 2 and 1 by default, a
 * value out of bounds or not a number is an error naming the key. */
static void
test_ingest_settings_default_and_bounds(void **state)
{
	const char *dir = *state;
	struct bridge_config c;
	char err[ERRLEN];

	write_conf(dir, "name = a\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.ingest_threads, 2);
	assert_int_equal(c.ingest_pipeline, 1);
	write_conf(dir, "ingest_threads = 0\ningest_pipeline = 0\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.ingest_threads, 0);
	assert_int_equal(c.ingest_pipeline, 0);
	write_conf(dir, "ingest_threads = 8\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.ingest_threads, 8);
	assert_load_fails(dir, "ingest_threads = 9\n",
	    "keybridge.conf:1: ingest_threads must be between 0 and 8");
	assert_load_fails(dir, "ingest_threads = -1\n",
	    "keybridge.conf:1: ingest_threads must be between 0 and 8");
	assert_load_fails(dir, "ingest_threads = auto\n",
	    "keybridge.conf:1: ingest_threads must be a whole number between "
	    "0 and 8");
	assert_load_fails(dir, "ingest_pipeline = 2\n",
	    "keybridge.conf:1: ingest_pipeline must be between 0 and 1");
	assert_load_fails(dir, "ingest_pipeline = on\n",
	    "keybridge.conf:1: ingest_pipeline must be a whole number between "
	    "0 and 1");
}

/* crl_partitions (issue 18): 1 by default, a power of two up to 256. */
static void
test_crl_partitions_is_one_by_default_and_a_power_of_two(void **state)
{
	const char *dir = *state;
	struct bridge_config c;
	char err[ERRLEN];

	write_conf(dir, "name = a\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.crl_partitions, 1);
	write_conf(dir, "crl_partitions = 16\n");
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.crl_partitions, 16);
	assert_load_fails(dir, "crl_partitions = 12\n",
	    "keybridge.conf:1: crl_partitions must be a power of two from 1 "
	    "to 256");
	assert_load_fails(dir, "crl_partitions = 512\n",
	    "keybridge.conf:1: crl_partitions must be between 1 and 256");
	assert_load_fails(dir, "crl_partitions = 0\n",
	    "keybridge.conf:1: crl_partitions must be between 1 and 256");
}

static void
test_malformed_values_and_lines_are_errors(void **state)
{
	const char *dir = *state;

	assert_load_fails(dir, "batch_max = 10 # ten\n",
	    "keybridge.conf:1: batch_max must be a whole number between 1 "
	    "and 4096");
	assert_load_fails(dir, "batch_max =\n",
	    "keybridge.conf:1: batch_max must be a whole number between 1 "
	    "and 4096");
	assert_load_fails(dir, "name\n",
	    "keybridge.conf:1: expected \"key = value\"");
	assert_load_fails(dir, " = x\n",
	    "keybridge.conf:1: missing key before '='");
	assert_load_fails(dir, "name =\n",
	    "keybridge.conf:1: name must not be empty");
	assert_load_fails(dir, "log_level = verbose\n",
	    "keybridge.conf:1: log_level must be one of error, warn, info, "
	    "debug");
	assert_load_fails(dir, "name = a\nname = b\n",
	    "keybridge.conf:2: name is already set on line 1");
}

static void
test_value_longer_than_its_field_is_an_error(void **state)
{
	char text[CONFIG_STR + 32];

	snprintf(text, sizeof(text), "origin = %0*d\n", CONFIG_STR, 0);
	assert_load_fails(*state, text,
	    "keybridge.conf:1: origin is too long (at most 255 bytes)");
}

static void
test_missing_file_is_an_error_that_says_what_to_do(void **state)
{
	const char *dir = *state;
	struct bridge_config c;
	char err[ERRLEN] = "";

	assert_int_equal(config_load(&c, dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "keybridge.conf: No such file"));
	assert_non_null(strstr(err, "keybridge init"));
}

static void
test_config_path_joins_relative_and_keeps_absolute(void **state)
{
	struct bridge_config c;
	char out[PATH_MAX], small[8];

	config_defaults(&c, "/srv/kb");
	assert_string_equal(config_path(&c, c.tls_cert, out, sizeof(out)),
	    "/srv/kb/tls/server.pem");
	assert_string_equal(config_path(&c, "/etc/kb/server.pem", out,
	    sizeof(out)), "/etc/kb/server.pem");
	assert_string_equal(config_path(&c, "", out, sizeof(out)), "");
	/* Never a truncated path. */
	assert_ptr_equal(config_path(&c, c.tls_cert, small, sizeof(small)),
	    small);
	assert_string_equal(small, "");
}

static void
test_example_config_loads(void **state)
{
	struct bridge_config c, d;
	char err[ERRLEN] = "";

	assert_int_equal(config_load(&c, KEYBRIDGE_SRCDIR "/examples", err,
	    sizeof(err)), 0);
	/* The example documents the defaults. */
	config_defaults(&d, KEYBRIDGE_SRCDIR "/examples");
	assert_configs_equal(&c, &d);
}

/* config_load_each's findings, kept in order. */
struct each_log {
	char lines[8][ERRLEN];
	int n;
};

static void
each_keep(void *arg, const char *why)
{
	struct each_log *l = arg;

	if (l->n < 8)
		snprintf(l->lines[l->n], sizeof(l->lines[0]), "%s", why);
	l->n++;
}

static void
test_load_each_reports_every_bad_line_and_keeps_the_good_ones(void **state)
{
	const char *dir = *state;
	struct bridge_config c;
	struct each_log l;
	char want[PATH_MAX + 64];

	memset(&l, 0, sizeof(l));
	write_conf(dir,
	    "name = acme\n"
	    "batch_max = 0\n"
	    "no_such_key = 1\n"
	    "queue_max = 32\n"
	    "name = again\n");
	assert_int_equal(config_load_each(&c, dir, each_keep, &l), 3);
	assert_int_equal(l.n, 3);
	snprintf(want, sizeof(want), "%s/%s:2: batch_max must be between",
	    dir, CONFIG_FILE);
	assert_int_equal(strncmp(l.lines[0], want, strlen(want)), 0);
	snprintf(want, sizeof(want), "%s/%s:3: unknown key \"no_such_key\"",
	    dir, CONFIG_FILE);
	assert_string_equal(l.lines[1], want);
	snprintf(want, sizeof(want), "%s/%s:5: name is already set on line 1",
	    dir, CONFIG_FILE);
	assert_string_equal(l.lines[2], want);
	/* the lines around the bad ones were read */
	assert_string_equal(c.name, "acme");
	assert_int_equal(c.queue_max, 32);
	assert_int_equal(c.batch_max, 1024);	/* the default stays */

	/* a good file: no finding */
	memset(&l, 0, sizeof(l));
	write_conf(dir, "name = acme\n");
	assert_int_equal(config_load_each(&c, dir, each_keep, &l), 0);
	assert_int_equal(l.n, 0);
	/* config_load still stops at the first */
	write_conf(dir, "batch_max = 0\nno_such_key = 1\n");
	assert_int_equal(config_load(&c, dir, want, sizeof(want)), -1);
	assert_non_null(strstr(want, ":1: batch_max"));
}

struct change_log {
	char lines[8][3 * CONFIG_STR];
	int n;
};

static void
change_keep(void *arg, const char *key, const char *old, const char *new_,
    int secret)
{
	struct change_log *l = arg;

	if (l->n < 8)
		snprintf(l->lines[l->n], sizeof(l->lines[0]), "%s %s %s %d",
		    key, old, new_, secret);
	l->n++;
}

static void
test_changes_lists_each_changed_key_and_flags_secrets(void **state)
{
	struct bridge_config a, b;
	struct change_log l;

	memset(&l, 0, sizeof(l));
	config_defaults(&a, "/d");
	config_defaults(&b, "/d");
	config_changes(&a, &b, change_keep, &l);
	assert_int_equal(l.n, 0);
	snprintf(b.log_level, sizeof(b.log_level), "debug");
	snprintf(b.api_token, sizeof(b.api_token), "s3cret");
	b.http_keepalive_timeout = 99;
	b.nvalidators = 1;
	snprintf(b.validators[0].name, sizeof(b.validators[0].name), "v1");
	snprintf(b.validators[0].url, sizeof(b.validators[0].url),
	    "http://10.0.0.5:7001");
	config_changes(&a, &b, change_keep, &l);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.lines[0], "api_token  s3cret 1");
	assert_string_equal(l.lines[1], "log_level info debug 0");
	assert_string_equal(l.lines[2], "http_keepalive_timeout 30 99 0");
	assert_string_equal(l.lines[3], "validator none v1 http://10.0.0.5:7001 0");
}

/* Writes len bytes of text as dir/keybridge.conf (NULs included). */
static void
write_conf_bytes(const char *dir, const char *text, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/keybridge.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* config_load_mem (the fuzz target's entry point) is config_load without
 * the file: the same settings, the same errors, a NUL inside a line cut
 * the same way; and config_emit is config_write's text. */
static void
test_loading_from_memory_is_loading_the_file(void **state)
{
	static const struct { const char *text; size_t len; } cases[] = {
#define T(s) { s, sizeof(s) - 1 }
		T(""),
		T("# only a comment\n\n"),
		T("batch_max = 7\n  origin = x/y  \r\n"),
		T("batch_max = 7\nbatch_max = 8\n"),
		T("batch_max = 0\n"),
		T("no equals sign\n"),
		T("origin = a\0b\nbatch_max = 9"),
		T("nope = 1\n"),
		T("validator = v1 bad\n"),
#undef T
	};
	const char *dir = *state;
	struct bridge_config a, b;
	char ea[ERRLEN], eb[ERRLEN], path[PATH_MAX], *text = NULL;
	char *file = NULL;
	size_t i, n = 0, fn = 0;
	FILE *f;
	int ra, rb;

	snprintf(path, sizeof(path), "%s/keybridge.conf", dir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_conf_bytes(dir, cases[i].text, cases[i].len);
		ea[0] = eb[0] = '\0';
		ra = config_load(&a, dir, ea, sizeof(ea));
		rb = config_load_mem(&b, dir, cases[i].text, cases[i].len,
		    path, eb, sizeof(eb));
		assert_int_equal(ra, rb);
		assert_string_equal(ea, eb);
		if (ra == 0)
			assert_configs_equal(&a, &b);
	}
	/* the emitted text is the written file */
	config_defaults(&a, dir);
	assert_int_equal(config_write(&a, path), 0);
	assert_non_null(f = open_memstream(&text, &n));
	assert_int_equal(config_emit(&a, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(file = malloc(n + 2));
	fn = fread(file, 1, n + 2, f);
	fclose(f);
	assert_int_equal(fn, n);
	assert_memory_equal(file, text, n);
	free(file);
	free(text);
}

static void
test_log_level_parse(void **state)
{
	assert_int_equal(log_level_parse("error"), LOGL_ERR);
	assert_int_equal(log_level_parse("warn"), LOGL_WARN);
	assert_int_equal(log_level_parse("info"), LOGL_INFO);
	assert_int_equal(log_level_parse("debug"), LOGL_DEBUG);
	assert_int_equal(log_level_parse("Info"), -1);
	assert_int_equal(log_level_parse(""), -1);
	assert_int_equal(log_level_parse(NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_the_documented_ones),
		cmocka_unit_test_setup_teardown(
		    test_write_then_load_round_trips, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_write_refuses_a_value_that_would_not_read_back,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_comments_blanks_and_spacing_are_accepted, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_unknown_key_is_an_error,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_out_of_range_value_names_file_line_and_key,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_malformed_values_and_lines_are_errors, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_crl_partitions_is_one_by_default_and_a_power_of_two,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_ocsp_loops_is_one_by_default_and_bounded, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_est_workers_is_two_by_default_and_bounded, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_ingest_settings_default_and_bounds, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_value_longer_than_its_field_is_an_error, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_missing_file_is_an_error_that_says_what_to_do,
		    setup_dir, teardown_dir),
		cmocka_unit_test(
		    test_config_path_joins_relative_and_keeps_absolute),
		cmocka_unit_test(test_example_config_loads),
		cmocka_unit_test_setup_teardown(
		    test_loading_from_memory_is_loading_the_file, setup_dir,
		    teardown_dir),
		cmocka_unit_test(test_log_level_parse),
		cmocka_unit_test_setup_teardown(
		    test_load_each_reports_every_bad_line_and_keeps_the_good_ones,
		    setup_dir, teardown_dir),
		cmocka_unit_test(
		    test_changes_lists_each_changed_key_and_flags_secrets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
