/*
 * test_cosign.c: ledger/cosign.c (C2SP tlog-cosignature, cosignature/v1)
 * against a known answer made by tests/validator/verify_cosig.py (Python's
 * `cryptography`, no project code) from a fixed Ed25519 seed, and the
 * quorum count with every kind of bad line beside good ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "ledger/cosign.h"
#include "ledger/ledger_int.h"

#define NOTE_BUF	8192
#define NCOSIGNERS	4
#define CP_TIME		1700000000
#define LOG_NAME	"keybridge.test/log"

/* C2SP tlog-cosignature's example body, cosigned at the example's time
 * by the Ed25519 key of seed 00 01 .. 1f as witness.example/w1:
 *   verify_cosig.py --sign 000102..1f witness.example/w1 1679315147 BODY */
static const char *kat_body =
    "example.com/behind-the-sofa\n20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
static const uint64_t kat_ts = 1679315147;
static const char *kat_line =
    "\xe2\x80\x94 witness.example/w1 519lMgAAAABkGFDLBuRDazBLVac2NE+Y+IjbjQ"
    "OcXLfF9CSDZVUIoS83rE1nFZsVE8YiWV6Ngr7lV8H6bdoBQGP/l73euDMQ9k+bBQ==\n";
static const char *kat_vkey =
    "witness.example/w1+e75f6532+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";

static EVP_PKEY *
seed_key(uint8_t first)
{
	uint8_t seed[32];
	size_t i;

	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(first + i);
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed));
}

static void
test_cosign_line_matches_independent_known_answer(void **state)
{
	struct ledger_cosigner c;
	char line[LEDGER_COSIGN_LINE_MAX], vkey[LEDGER_COSIGN_VKEY_MAX];
	EVP_PKEY *key = seed_key(0);

	(void)state;
	assert_non_null(key);
	assert_int_equal(ledger_cosign_line(kat_body, strlen(kat_body),
	    "witness.example/w1", key, kat_ts, line, sizeof(line)), 0);
	assert_string_equal(line, kat_line);
	assert_int_equal(ledger_cosign_vkey_format(key, "witness.example/w1",
	    vkey, sizeof(vkey)), 0);
	assert_string_equal(vkey, kat_vkey);
	/* and the known answer verifies through the parsed vkey */
	assert_int_equal(ledger_cosigner_parse(kat_vkey, &c), 0);
	assert_int_equal(ledger_cosign_check_line(kat_body, strlen(kat_body),
	    kat_line, strlen(kat_line) - 1, &c, 1, 0, NULL, NULL),
	    LEDGER_COSIGN_VALID);
	ledger_cosigner_clear(&c);
	EVP_PKEY_free(key);
}

static void
test_cosign_message_is_header_time_then_body(void **state)
{
	char msg[256];
	size_t len;
	static const char want[] = "cosignature/v1\ntime 1679315147\n"
	    "example.com/behind-the-sofa\n20852163\n"
	    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

	(void)state;
	assert_int_equal(ledger_cosign_message(kat_body, strlen(kat_body),
	    kat_ts, msg, sizeof(msg), &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(msg, want, len);
	/* no final newline, a too small buffer, a timestamp past 2^63-1 */
	assert_int_equal(ledger_cosign_message(kat_body, strlen(kat_body) - 1,
	    kat_ts, msg, sizeof(msg), &len), -1);
	assert_int_equal(ledger_cosign_message(kat_body, strlen(kat_body),
	    kat_ts, msg, 40, &len), -1);
	assert_int_equal(ledger_cosign_message(kat_body, strlen(kat_body),
	    (uint64_t)INT64_MAX + 1, msg, sizeof(msg), &len), -1);
}

static void
test_cosigner_parse_refuses_other_types_and_bad_hashes(void **state)
{
	struct ledger_cosigner c;
	char vkey[LEDGER_COSIGN_VKEY_MAX], note_vkey[256];
	EVP_PKEY *key = seed_key(0);

	(void)state;
	/* the same key as a plain signed-note key (type 0x01) */
	assert_int_equal(ledger_note_vkey_format(key, "witness.example/w1",
	    note_vkey, sizeof(note_vkey)), 0);
	assert_int_equal(ledger_cosigner_parse(note_vkey, &c), -1);
	/* a hash that is not the key's */
	strcpy(vkey, kat_vkey);
	vkey[strlen("witness.example/w1+")] ^= 1;
	assert_int_equal(ledger_cosigner_parse(vkey, &c), -1);
	/* another name under the same hash */
	strcpy(vkey, kat_vkey);
	vkey[0] = 'W';
	assert_int_equal(ledger_cosigner_parse(vkey, &c), -1);
	assert_int_equal(ledger_cosigner_parse("no-plus-at-all", &c), -1);
	assert_int_equal(ledger_cosigner_parse("a+e75f6532+", &c), -1);
	EVP_PKEY_free(key);
}

/* A checkpoint note signed by a log key, and four cosigners. */
struct fx {
	EVP_PKEY *log_key, *keys[NCOSIGNERS], *other;
	struct ledger_cosigner policy[NCOSIGNERS];
	char body[512], note[NOTE_BUF];
	size_t body_len;
};

static void
fx_setup(struct fx *f, uint64_t size)
{
	uint8_t root[LEDGER_HASH_LEN];
	char name[32], line[512];
	int i;

	memset(f, 0, sizeof(*f));
	memset(root, (int)size, sizeof(root));
	assert_non_null(f->log_key = seed_key(100));
	assert_non_null(f->other = seed_key(200));
	for (i = 0; i < NCOSIGNERS; i++) {
		assert_non_null(f->keys[i] = seed_key((uint8_t)(10 * i + 1)));
		snprintf(name, sizeof(name), "v%d.test", i);
		assert_int_equal(ledger_cosigner_from_key(name, f->keys[i],
		    &f->policy[i]), 0);
	}
	assert_int_equal(ledger_checkpoint_body("keybridge.test/ledger", size,
	    root, CP_TIME, f->body, sizeof(f->body)), 0);
	f->body_len = strlen(f->body);
	assert_int_equal(ledger_note_sign_line(f->body, f->body_len, LOG_NAME,
	    f->log_key, line, sizeof(line)), 0);
	snprintf(f->note, sizeof(f->note), "%s\n%s", f->body, line);
}

static void
fx_free(struct fx *f)
{
	int i;

	for (i = 0; i < NCOSIGNERS; i++) {
		ledger_cosigner_clear(&f->policy[i]);
		EVP_PKEY_free(f->keys[i]);
	}
	EVP_PKEY_free(f->log_key);
	EVP_PKEY_free(f->other);
}

/* Appends the cosignature of body by key as name at ts to f->note. */
static void
fx_cosign(struct fx *f, const char *body, const char *name, EVP_PKEY *key,
    uint64_t ts)
{
	char line[LEDGER_COSIGN_LINE_MAX];

	assert_int_equal(ledger_cosign_line(body, strlen(body), name, key, ts,
	    line, sizeof(line)), 0);
	assert_true(strlen(f->note) + strlen(line) < sizeof(f->note));
	strcat(f->note, line);
}

static void
test_quorum_counts_distinct_valid_and_names_each_discard(void **state)
{
	struct ledger_cosign_result res[16];
	struct fx f, old;
	size_t nres, nvalid;
	static const enum ledger_cosign_verdict want[] = {
		LEDGER_COSIGN_UNKNOWN,		/* the log's own line */
		LEDGER_COSIGN_VALID,		/* v0 */
		LEDGER_COSIGN_VALID,		/* v1 */
		LEDGER_COSIGN_DUPLICATE,	/* v0 again */
		LEDGER_COSIGN_WRONG_KEY,	/* "v2" by another key */
		LEDGER_COSIGN_BAD_SIG,		/* v3 over an old checkpoint */
		LEDGER_COSIGN_MALFORMED,	/* not a line */
		LEDGER_COSIGN_UNKNOWN,		/* a stranger */
		LEDGER_COSIGN_STALE,		/* v2 before the checkpoint */
	};
	size_t i;

	(void)state;
	fx_setup(&f, 10);
	fx_setup(&old, 9);
	fx_cosign(&f, f.body, "v0.test", f.keys[0], CP_TIME + 1);
	fx_cosign(&f, f.body, "v1.test", f.keys[1], CP_TIME + 1);
	fx_cosign(&f, f.body, "v0.test", f.keys[0], CP_TIME + 2);
	fx_cosign(&f, f.body, "v2.test", f.other, CP_TIME + 1);
	fx_cosign(&f, old.body, "v3.test", f.keys[3], CP_TIME + 1);
	strcat(f.note, "\xe2\x80\x94 v3.test !!notbase64!!\n");
	fx_cosign(&f, f.body, "stranger.test", f.other, CP_TIME + 1);
	fx_cosign(&f, f.body, "v2.test", f.keys[2], CP_TIME - 1);
	assert_int_equal(ledger_cosign_quorum(f.note, strlen(f.note), f.policy,
	    NCOSIGNERS, 3, res, 16, &nres, &nvalid), -1);
	assert_int_equal(nvalid, 2);
	assert_int_equal(nres, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < nres; i++) {
		assert_int_equal(res[i].line, i);
		assert_string_equal(ledger_cosign_verdict_name(res[i].verdict),
		    ledger_cosign_verdict_name(want[i]));
	}
	assert_string_equal(res[4].name, "v2.test");
	assert_int_equal(res[1].timestamp, CP_TIME + 1);
	/* one more good line: three of four */
	fx_cosign(&f, f.body, "v3.test", f.keys[3], CP_TIME);
	assert_int_equal(ledger_cosign_quorum(f.note, strlen(f.note), f.policy,
	    NCOSIGNERS, 3, res, 16, &nres, &nvalid), 0);
	assert_int_equal(nvalid, 3);
	assert_int_equal(ledger_cosign_quorum(f.note, strlen(f.note), f.policy,
	    NCOSIGNERS, 4, NULL, 0, NULL, &nvalid), -1);
	fx_free(&f);
	fx_free(&old);
}

static void
test_quorum_refuses_what_is_not_a_checkpoint(void **state)
{
	struct fx f;
	size_t nvalid = 99;

	(void)state;
	fx_setup(&f, 3);
	assert_int_equal(ledger_cosign_quorum("hello\n", 6, f.policy,
	    NCOSIGNERS, 1, NULL, 0, NULL, &nvalid), -1);
	assert_int_equal(nvalid, 0);
	strcpy(f.note, "a\n1\nroot\n\n\xe2\x80\x94 x y\n");
	assert_int_equal(ledger_cosign_quorum(f.note, strlen(f.note), f.policy,
	    NCOSIGNERS, 1, NULL, 0, NULL, NULL), -1);
	fx_free(&f);
	fx_setup(&f, 3);
	assert_int_equal(ledger_cosign_quorum(f.note, strlen(f.note), f.policy,
	    NCOSIGNERS, 0, NULL, 0, NULL, NULL), -1);
	fx_free(&f);
}

static void
test_checkpoint_ok_wants_the_log_key_and_a_quorum(void **state)
{
	struct ledger_cosign_policy p;
	struct fx f;
	char vkey[256], why[256];
	uint8_t root[LEDGER_HASH_LEN], want[LEDGER_HASH_LEN];
	uint64_t size;

	(void)state;
	fx_setup(&f, 7);
	memset(want, 7, sizeof(want));
	assert_int_equal(ledger_note_vkey_format(f.log_key, LOG_NAME, vkey,
	    sizeof(vkey)), 0);
	p = (struct ledger_cosign_policy){ vkey, f.policy, NCOSIGNERS, 3 };
	fx_cosign(&f, f.body, "v0.test", f.keys[0], CP_TIME);
	fx_cosign(&f, f.body, "v1.test", f.keys[1], CP_TIME);
	fx_cosign(&f, f.body, "v2.test", f.other, CP_TIME);
	assert_int_equal(ledger_cosign_checkpoint_ok(&p, f.note, &size, root,
	    why, sizeof(why)), -1);
	assert_string_equal(why, "2 of 3 cosignatures: v2.test wrong-key");
	fx_cosign(&f, f.body, "v3.test", f.keys[3], CP_TIME);
	assert_int_equal(ledger_cosign_checkpoint_ok(&p, f.note, &size, root,
	    why, sizeof(why)), 0);
	assert_int_equal(size, 7);
	assert_memory_equal(root, want, sizeof(want));
	/* the same cosignatures on a checkpoint the log key did not sign */
	assert_int_equal(ledger_note_vkey_format(f.other, LOG_NAME, vkey,
	    sizeof(vkey)), 0);
	assert_int_equal(ledger_cosign_checkpoint_ok(&p, f.note, &size, root,
	    why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not signed by the log's key"));
	fx_free(&f);
}

/* Runs the independent Python checker on a note the C code made. */
static int
run_py(const char *note, const struct ledger_cosigner *policy, size_t n,
    int quorum)
{
	char path[] = "/tmp/kb-cosign-note.XXXXXX", cmd[2048];
	FILE *fp;
	size_t i, off;
	int fd, rc;

	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	assert_int_equal(fwrite(note, 1, strlen(note), fp), strlen(note));
	fclose(fp);
	off = (size_t)snprintf(cmd, sizeof(cmd),
	    "python3 tests/validator/verify_cosig.py %s %d", path, quorum);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, " '%s'",
		    policy[i].vkey);
	off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, " >/dev/null");
	assert_true(off < sizeof(cmd));
	rc = system(cmd);
	unlink(path);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void
test_independent_python_checker_agrees_on_c_notes(void **state)
{
	struct fx f;
	int i;

	(void)state;
	fx_setup(&f, 42);
	for (i = 0; i < 2; i++)
		fx_cosign(&f, f.body, f.policy[i].name, f.keys[i], CP_TIME + 5);
	fx_cosign(&f, f.body, "v2.test", f.other, CP_TIME + 5);
	/* two valid, one wrong key: 2 of 3 is not a quorum of 3 */
	assert_int_equal(run_py(f.note, f.policy, NCOSIGNERS, 3), 1);
	assert_int_equal(run_py(f.note, f.policy, NCOSIGNERS, 2), 0);
	fx_cosign(&f, f.body, "v3.test", f.keys[3], CP_TIME + 5);
	assert_int_equal(run_py(f.note, f.policy, NCOSIGNERS, 3), 0);
	/* one flipped bit in the body: nothing verifies any more */
	f.note[strlen("keybridge.test/ledger\n4")] = '3';
	assert_int_equal(run_py(f.note, f.policy, NCOSIGNERS, 1), 1);
	fx_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cosign_line_matches_independent_known_answer),
		cmocka_unit_test(test_cosign_message_is_header_time_then_body),
		cmocka_unit_test(test_cosigner_parse_refuses_other_types_and_bad_hashes),
		cmocka_unit_test(test_quorum_counts_distinct_valid_and_names_each_discard),
		cmocka_unit_test(test_quorum_refuses_what_is_not_a_checkpoint),
		cmocka_unit_test(test_checkpoint_ok_wants_the_log_key_and_a_quorum),
		cmocka_unit_test(test_independent_python_checker_agrees_on_c_notes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
