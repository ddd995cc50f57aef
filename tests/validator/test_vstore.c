/*
 * test_vstore.c: the validator daemon's persistence (validator/vstore.c,
 * vconf.c, ledger_replay_commit_meta): a state with a border, evidence
 * and a refusal survives JSON and a reopened SQLite registry unchanged;
 * a refused block is not committed with the state written after it; a
 * damaged state, a bad config line and a key file others may touch are
 * refused with their reason.
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

#include "ledger/replay.h"
#include "validator/daemon.h"
#include "tests/common/tmp_fx.h"

#define ORIGIN	"keybridge.test/ledger"

/* A fresh temporary directory (mkdtemp), in dir. */
static void
tmpdir(char dir[64])
{
	fx_tmpdir(dir, 64, "test_vstore");
}

static void
rmrf(const char *dir)
{
	fx_rmtree(dir);
}

/* A state with something in every field. */
static void
full_state(struct vcore_state *st, struct vd_meta *m)
{
	size_t i;

	assert_int_equal(vcore_state_init(st, VCORE_VALIDATOR, "v1.test",
	    ORIGIN, 600, 60), 0);
	st->size = 0x2b;	/* bits 0, 1, 3, 5 of the border */
	for (i = 0; i < VCORE_FRONTIER_MAX; i++)
		if ((st->size >> i) & 1)
			memset(st->frontier[i], (int)i + 1, LEDGER_HASH_LEN);
	memset(st->root, 0xab, LEDGER_HASH_LEN);
	st->cp_time = 1800000000;
	snprintf(st->checkpoint, sizeof(st->checkpoint), "%s\n43\nq83v\n\n"
	    "\xe2\x80\x94 log x\n", ORIGIN);
	st->nevidence = 2;
	for (i = 0; i < 2; i++) {
		st->evidence[i].size = 40 + i;
		snprintf(st->evidence[i].cosigned, VCORE_NOTE_MAX, "ours %zu\n", i);
		snprintf(st->evidence[i].offered, VCORE_NOTE_MAX, "\"theirs\" %zu\n",
		    i);
	}
	st->equivocations = 5;
	snprintf(st->last_refusal, sizeof(st->last_refusal), "rule-broken: "
	    "entry 7 breaks key_revoked: \"k\"");
	m->last_refusal_at = 1800000100;
	m->refusals = 9;
}

static void
test_state_survives_json_unchanged(void **unused)
{
	struct vcore_state *a = calloc(1, sizeof(*a)), *b = calloc(1,
	    sizeof(*b));
	struct vd_meta ma, mb;
	char err[256], *js;

	assert_non_null(a);
	assert_non_null(b);
	memset(&ma, 0, sizeof(ma));
	full_state(a, &ma);
	assert_non_null(js = vd_state_to_json(a, &ma));
	assert_int_equal(vd_state_from_json(js, b, &mb, err, sizeof(err)), 0);
	assert_memory_equal(a, b, sizeof(*a));
	assert_memory_equal(&ma, &mb, sizeof(ma));
	free(js);
	free(a);
	free(b);
}

static void
test_damaged_state_is_refused(void **unused)
{
	struct vcore_state *st = calloc(1, sizeof(*st));
	struct vd_meta m;
	char err[256], *js, *p;

	assert_non_null(st);
	memset(&m, 0, sizeof(m));
	full_state(st, &m);
	assert_non_null(js = vd_state_to_json(st, &m));
	assert_int_equal(vd_state_from_json("{", st, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON"));
	/* a size whose border the frontier does not hold */
	assert_non_null(p = strstr(js, "\"size\":\"43\""));
	memcpy(p, "\"size\":\"47\"", 11);
	assert_int_equal(vd_state_from_json(js, st, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "frontier"));
	memcpy(p, "\"size\":\"-1\"", 11);
	assert_int_equal(vd_state_from_json(js, st, &m, err, sizeof(err)), -1);
	free(js);
	free(st);
}

static void
test_state_commits_without_a_refused_block(void **unused)
{
	struct ledger_replay *r;
	char dir[64], db[128], err[256], v[64];

	tmpdir(dir);
	snprintf(db, sizeof(db), "%s/v.db", dir);
	assert_non_null(r = ledger_replay_open(db, ORIGIN, err, sizeof(err)));
	assert_int_equal(ledger_replay_meta_get(r, VD_STATE_KEY, v,
	    sizeof(v)), 1);
	assert_int_equal(ledger_replay_commit_meta(r, VD_STATE_KEY, "one"), 0);
	/* a staged entry that breaks a rule rolls back the block: the
	 * state written after it alone is committed, and reads back */
	assert_int_equal(ledger_replay_stage(r, 0, "not an entry", 12, 1,
	    err, sizeof(err), v, sizeof(v)), -1);
	assert_int_equal(ledger_replay_commit_meta(r, VD_STATE_KEY, "two"), 0);
	assert_int_equal(ledger_replay_size(r), 0);
	ledger_replay_close(r);
	assert_int_equal(ledger_replay_meta_read(db, VD_STATE_KEY, v,
	    sizeof(v), err, sizeof(err)), 0);
	assert_string_equal(v, "two");
	/* a value that does not fit is an error, not a cut state */
	assert_int_equal(ledger_replay_meta_read(db, VD_STATE_KEY, v, 3,
	    err, sizeof(err)), -1);
	assert_int_equal(ledger_replay_meta_read(db, "absent", v, sizeof(v),
	    err, sizeof(err)), 1);
	rmrf(dir);
}

/* Writes text as dir/validator.conf. */
static void
write_conf(const char *dir, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, VD_CONF_FILE);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
test_config_round_trip_and_bad_lines(void **unused)
{
	struct vd_config a, b;
	char dir[64], err[512];

	tmpdir(dir);
	vd_config_defaults(&a, dir);
	a.mode = VCORE_WITNESS;
	snprintf(a.name, sizeof(a.name), "w1.test");
	snprintf(a.listen, sizeof(a.listen), "[::1]:7001");
	snprintf(a.ledger, sizeof(a.ledger), "https://127.0.0.1:8443");
	snprintf(a.origin, sizeof(a.origin), ORIGIN);
	snprintf(a.log_vkey, sizeof(a.log_vkey), "log+01020304+AQID");
	a.max_body = 4096;
	assert_int_equal(vd_config_write(&a, err, sizeof(err)), 0);
	assert_int_equal(vd_config_write(&a, err, sizeof(err)), -1);
	assert_int_equal(vd_config_load(dir, &b, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));

	write_conf(dir, "name = v\nlisten = 1:2\norigin = o\nlog_vkey = k\n"
	    "colour = blue\n");
	assert_int_equal(vd_config_load(dir, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":5: unknown key \"colour\""));
	write_conf(dir, "name = v\nmax_body = 10\n");
	assert_int_equal(vd_config_load(dir, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: max_body"));
	write_conf(dir, "name = v\n");
	assert_int_equal(vd_config_load(dir, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "required"));
	/* the front door's keys: the bridge's names, bounds and defaults */
	vd_config_defaults(&b, dir);
	assert_int_equal(b.http_header_timeout, 10);
	assert_int_equal(b.http_max_conns_per_addr, 64);
	write_conf(dir, "name = v\nlisten = 1:2\norigin = o\nlog_vkey = k\n"
	    "http_header_timeout = 2\nhttp_max_conns_per_addr = 4\n");
	assert_int_equal(vd_config_load(dir, &b, err, sizeof(err)), 0);
	assert_int_equal(b.http_header_timeout, 2);
	assert_int_equal(b.http_max_conns_per_addr, 4);
	write_conf(dir, "name = v\nhttp_header_timeout = 0\n");
	assert_int_equal(vd_config_load(dir, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: http_header_timeout must be 1 to 300"));
	rmrf(dir);
}

/* vd_config_load_mem (the fuzz target's entry point) is vd_config_load
 * without the file: the same settings and the same errors. */
static void
test_config_from_memory_is_the_file(void **unused)
{
	static const char *const texts[] = {
		"name = v\nlisten = 1:2\norigin = o\nlog_vkey = k\n",
		"name = v\nlisten = 1:2\norigin = o\nlog_vkey = k\n"
		    "mode = witness\nmax_body = 2048",
		"name = v\nmax_body = 10\n",
		"name = v\ncolour = blue\n",
		"# nothing\n",
		"",
	};
	struct vd_config a, b;
	char dir[64], ea[512], eb[512], path[128];
	size_t i;
	int ra, rb;

	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/validator.conf", dir);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		write_conf(dir, texts[i]);
		ea[0] = eb[0] = '\0';
		ra = vd_config_load(dir, &a, ea, sizeof(ea));
		rb = vd_config_load_mem(dir, texts[i], strlen(texts[i]), path,
		    &b, eb, sizeof(eb));
		assert_int_equal(ra, rb);
		assert_string_equal(ea, eb);
		assert_memory_equal(&a, &b, sizeof(a));
	}
	rmrf(dir);
}

static void
test_listen_addresses(void **unused)
{
	char host[64];
	unsigned short port;

	assert_int_equal(vd_listen_split("127.0.0.2:7001", host, sizeof(host),
	    &port), 0);
	assert_string_equal(host, "127.0.0.2");
	assert_int_equal(port, 7001);
	assert_int_equal(vd_listen_split("[::1]:80", host, sizeof(host),
	    &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(vd_listen_split("127.0.0.1", host, sizeof(host),
	    &port), -1);
	assert_int_equal(vd_listen_split("127.0.0.1:0", host, sizeof(host),
	    &port), -1);
	assert_int_equal(vd_listen_split(":80", host, sizeof(host), &port),
	    -1);
	assert_int_equal(vd_listen_split("h:65536", host, sizeof(host),
	    &port), -1);
}

static void
test_key_file_others_may_touch_is_refused(void **unused)
{
	char dir[64], path[128], err[512];
	EVP_PKEY *k;

	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, VD_KEY_FILE);
	assert_non_null(k = ledger_key_generate("ed25519"));
	assert_int_equal(ledger_key_save(k, path), 0);
	EVP_PKEY_free(k);
	assert_non_null(k = vd_key_load(path, err, sizeof(err)));
	EVP_PKEY_free(k);
	assert_int_equal(chmod(path, 0602), 0);
	assert_null(vd_key_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "must be 0600"));
	rmrf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_survives_json_unchanged),
		cmocka_unit_test(test_damaged_state_is_refused),
		cmocka_unit_test(test_state_commits_without_a_refused_block),
		cmocka_unit_test(test_config_round_trip_and_bad_lines),
		cmocka_unit_test(test_config_from_memory_is_the_file),
		cmocka_unit_test(test_listen_addresses),
		cmocka_unit_test(test_key_file_others_may_touch_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
