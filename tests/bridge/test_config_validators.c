/*
 * test_config_validators.c: bridge/config_validators.c, the `validator =`,
 * `witness =`, `quorum =` and `validator_wait_ms =` lines of
 * keybridge.conf (issue 14).
 */
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
#include "bridge/validators.h"
#include "ledger/cosign.h"

#define ERRLEN	512
#define NV	5

struct fx {
	char dir[PATH_MAX];
	char vkey[NV][LEDGER_COSIGN_VKEY_MAX];	/* v1.test ... v5.test */
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char name[32];
	EVP_PKEY *k;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kb-test-cfgval-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	for (int i = 0; i < NV; i++) {
		snprintf(name, sizeof(name), "v%d.test", i + 1);
		if ((k = ledger_key_generate("ed25519")) == NULL ||
		    ledger_cosign_vkey_format(k, name, f->vkey[i],
		    sizeof(f->vkey[i])) != 0)
			return -1;
		EVP_PKEY_free(k);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Writes text (a printf format) as the data directory's keybridge.conf
 * and loads it: 0, or -1 with err. */
static int
load(struct fx *f, struct bridge_config *c, char *err, const char *fmt, ...)
{
	char path[PATH_MAX + 32];
	va_list ap;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, CONFIG_FILE);
	assert_non_null(fp = fopen(path, "w"));
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(fp), 0);
	err[0] = '\0';
	return config_load(c, f->dir, err, ERRLEN);
}

/* n validator lines v1..vn on ports 7001.. */
static void
lines(struct fx *f, char *out, size_t outlen, int n)
{
	size_t off = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, outlen - off,
		    "validator = v%d.test %s http://127.0.0.%d:%d\n", i + 1,
		    f->vkey[i], i + 1, 7001 + i);
}

static void
test_no_validator_lines_means_solo(void **state)
{
	struct fx *f = *state;
	struct bridge_config c;
	char err[ERRLEN];

	assert_int_equal(load(f, &c, err, "name = x\n"), 0);
	assert_int_equal(c.nvalidators, 0);
	assert_int_equal(c.quorum, 0);
	assert_int_equal(c.validator_wait_ms, BVAL_WAIT_MS_DEFAULT);
	/* a quorum without validators is a mistake */
	assert_int_equal(load(f, &c, err, "quorum = 1\n"), -1);
	assert_non_null(strstr(err, "without validator lines"));
}

static void
test_validator_lines_load_and_write_back(void **state)
{
	struct fx *f = *state;
	struct bridge_config c, d;
	char err[ERRLEN], text[4096], path[PATH_MAX + 32];

	lines(f, text, sizeof(text), 4);
	assert_int_equal(load(f, &c, err, "%switness = v5.test %s "
	    "http://wit.example:8000/w/\nquorum = 4\nvalidator_wait_ms = 750\n",
	    text, f->vkey[4]), 0);
	assert_int_equal(c.nvalidators, 5);
	assert_string_equal(c.validators[2].name, "v3.test");
	assert_string_equal(c.validators[2].vkey, f->vkey[2]);
	assert_string_equal(c.validators[2].url, "http://127.0.0.3:7003");
	assert_int_equal(c.validators[2].witness, 0);
	assert_int_equal(c.validators[4].witness, 1);
	assert_int_equal(c.quorum, 4);
	assert_int_equal(c.validator_wait_ms, 750);
	snprintf(path, sizeof(path), "%s/%s", f->dir, CONFIG_FILE);
	assert_int_equal(config_write(&c, path), 0);
	assert_int_equal(config_load(&d, f->dir, err, sizeof(err)), 0);
	assert_int_equal(d.nvalidators, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(d.validators[i].name, c.validators[i].name);
		assert_string_equal(d.validators[i].vkey, c.validators[i].vkey);
		assert_string_equal(d.validators[i].url, c.validators[i].url);
		assert_int_equal(d.validators[i].witness,
		    c.validators[i].witness);
	}
	assert_int_equal(d.quorum, 4);
	assert_int_equal(d.validator_wait_ms, 750);
}

/* n = 3f+1: 2f+1; otherwise the smallest q with 2q - n > f. */
static void
test_default_quorum_is_2f_plus_1(void **state)
{
	assert_int_equal(config_quorum_default(1), 1);
	assert_int_equal(config_quorum_default(2), 2);
	assert_int_equal(config_quorum_default(3), 2);
	assert_int_equal(config_quorum_default(4), 3);
	assert_int_equal(config_quorum_default(5), 4);
	assert_int_equal(config_quorum_default(7), 5);
	assert_int_equal(config_quorum_default(10), 7);
	for (size_t n = 1; n <= CONFIG_VALIDATORS_MAX; n++) {
		size_t q = config_quorum_default(n), f = (n - 1) / 3;

		assert_true(2 * q > n + f);		/* intersecting */
		assert_true(q <= n);
		assert_true(2 * (q - 1) <= n + f);	/* the smallest */
	}
}

/* Two quorums of 2 among 4 may share no honest validator: refused, with
 * why; 3 and 4 are accepted; 5 is more than there are. */
static void
test_quorum_whose_two_quorums_may_not_share_an_honest_validator_is_refused(
    void **state)
{
	struct fx *f = *state;
	struct bridge_config c;
	char err[ERRLEN], text[4096];

	lines(f, text, sizeof(text), 4);
	assert_int_equal(load(f, &c, err, "%squorum = 2\n", text), -1);
	assert_non_null(strstr(err, "quorum = 2 of 4 validators"));
	assert_non_null(strstr(err, "use at least 3"));
	assert_int_equal(load(f, &c, err, "%squorum = 3\n", text), 0);
	assert_int_equal(load(f, &c, err, "%squorum = 4\n", text), 0);
	assert_int_equal(load(f, &c, err, "%squorum = 5\n", text), -1);
	assert_non_null(strstr(err, "only 4 validator lines"));
	assert_int_equal(load(f, &c, err, "%squorum = 1\n", text), -1);
}

static void
test_bad_validator_lines_are_refused_with_the_line(void **state)
{
	struct fx *f = *state;
	struct bridge_config c;
	char err[ERRLEN];

	assert_int_equal(load(f, &c, err, "validator = v1.test %s\n",
	    f->vkey[0]), -1);
	assert_non_null(strstr(err, ":1: validator must be NAME VKEY URL"));
	assert_int_equal(load(f, &c, err, "validator = v1.test %s "
	    "http://a:1 extra\n", f->vkey[0]), -1);
	assert_non_null(strstr(err, "must be NAME VKEY URL"));
	/* not a vkey, another validator's, a broken hash */
	assert_int_equal(load(f, &c, err, "validator = v1.test "
	    "v1.test+00000000+AAAA http://a:1\n"), -1);
	assert_non_null(strstr(err, "not a cosignature/v1"));
	assert_int_equal(load(f, &c, err, "validator = v1.test %s "
	    "http://a:1\n", f->vkey[1]), -1);
	assert_non_null(strstr(err, "v2.test's"));
	/* URLs: https (not yet), no port, port out of range, junk host */
	assert_int_equal(load(f, &c, err, "validator = v1.test %s "
	    "https://a:1\n", f->vkey[0]), -1);
	assert_non_null(strstr(err, "plain HTTP only"));
	assert_int_equal(load(f, &c, err, "validator = v1.test %s "
	    "http://a\n", f->vkey[0]), -1);
	assert_int_equal(load(f, &c, err, "validator = v1.test %s "
	    "http://a:70000\n", f->vkey[0]), -1);
	assert_int_equal(load(f, &c, err, "validator = v1.test %s "
	    "http://a@b:80\n", f->vkey[0]), -1);
	/* listed twice */
	assert_int_equal(load(f, &c, err, "validator = v1.test %s "
	    "http://a:1\nvalidator = v1.test %s http://a:2\n", f->vkey[0],
	    f->vkey[0]), -1);
	assert_non_null(strstr(err, ":2: validator v1.test: listed twice"));
	assert_int_equal(load(f, &c, err, "validator_wait_ms = 5\n"), -1);
}

/* The longest list the lines allow (32 validators, names of
 * LEDGER_NAME_MAX, the node's name of CONFIG_STR - 1) cosigns a note that
 * fits LEDGER_NOTE_MAX; a list whose note would not (names the lines
 * refuse, set directly) is refused by the check, not cut later. */
static void
test_validator_list_whose_checkpoint_would_not_fit_is_refused(void **state)
{
	static struct bridge_config c;
	char why[ERRLEN];
	size_t i;

	config_defaults(&c, "/nonexistent");
	memset(c.validator_name, 'n', CONFIG_STR - 1);
	c.validator_name[CONFIG_STR - 1] = '\0';
	for (i = 0; i < CONFIG_VALIDATORS_MAX; i++) {
		snprintf(c.validators[i].name, sizeof(c.validators[i].name),
		    "%02zu%0*d", i, LEDGER_NAME_MAX - 2, 0);
		assert_int_equal(strlen(c.validators[i].name), LEDGER_NAME_MAX);
	}
	c.nvalidators = CONFIG_VALIDATORS_MAX;
	c.quorum = 0;
	assert_true(config_note_worst(&c) <= LEDGER_NOTE_MAX);
	assert_true(config_note_worst(&c) > 6 * LEDGER_COSIGN_LINE_MAX);
	assert_int_equal(config_validators_check(&c, why, sizeof(why)), 0);
	for (i = 0; i < CONFIG_VALIDATORS_MAX; i++) {
		memset(c.validators[i].name, 'a' + (int)(i % 26), CONFIG_STR - 1);
		c.validators[i].name[CONFIG_STR - 1] = '\0';
	}
	assert_true(config_note_worst(&c) > LEDGER_NOTE_MAX);
	assert_int_equal(config_validators_check(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "over the 8192 a checkpoint note may have"));
}

static void
test_url_parse(void **state)
{
	char host[BVAL_URL_MAX], prefix[BVAL_URL_MAX];
	int port;

	assert_int_equal(bval_url_parse("http://127.0.0.2:7001", host,
	    sizeof(host), &port, prefix, sizeof(prefix)), 0);
	assert_string_equal(host, "127.0.0.2");
	assert_int_equal(port, 7001);
	assert_string_equal(prefix, "");
	assert_int_equal(bval_url_parse("http://w.example:80/a/b/", host,
	    sizeof(host), &port, prefix, sizeof(prefix)), 0);
	assert_string_equal(prefix, "/a/b");
	assert_int_equal(bval_url_parse("http://:80", host, sizeof(host),
	    &port, prefix, sizeof(prefix)), -1);
	assert_int_equal(bval_url_parse("http://h:0", host, sizeof(host),
	    &port, prefix, sizeof(prefix)), -1);
	assert_int_equal(bval_url_parse("http://h:8x", host, sizeof(host),
	    &port, prefix, sizeof(prefix)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_no_validator_lines_means_solo, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_validator_lines_load_and_write_back, setup, teardown),
		cmocka_unit_test(test_default_quorum_is_2f_plus_1),
		cmocka_unit_test_setup_teardown(
		    test_quorum_whose_two_quorums_may_not_share_an_honest_validator_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_validator_lines_are_refused_with_the_line, setup,
		    teardown),
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test(
		    test_validator_list_whose_checkpoint_would_not_fit_is_refused),
	};

	log_verbosity = LOGL_ERR;
	return cmocka_run_group_tests_name("bridge/config_validators", tests,
	    NULL, NULL);
}
