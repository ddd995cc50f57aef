/*
 * test_policy.c: the verification policy's text form (ledger/policy.c):
 * what `keybridge policy` writes reads back the same, and every way a
 * policy could quietly weaken the check (a cosigner listed twice, a name
 * that is not its key's, no quorum line, a quorum above the cosigners, an
 * unknown line) is refused, naming the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/ledger_int.h"
#include "ledger/policy.h"

#define NVAL 4

struct fx {
	char log[256];
	char vk[NVAL][LEDGER_COSIGN_VKEY_MAX];
	char text[LEDGER_POLICY_TEXT_MAX];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	EVP_PKEY *k;
	char name[16];
	size_t off;

	assert_non_null(f);
	assert_non_null(k = ledger_key_generate("ed25519"));
	assert_int_equal(ledger_key_vkey(k, "node", f->log, sizeof(f->log)), 0);
	EVP_PKEY_free(k);
	off = (size_t)snprintf(f->text, sizeof(f->text), "keybridge-policy v1\n"
	    "# a comment\n\norigin kb/ledger\nlog %s\n", f->log);
	for (int i = 0; i < NVAL; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		assert_non_null(k = ledger_key_generate("ed25519"));
		assert_int_equal(ledger_cosign_vkey_format(k, name, f->vk[i],
		    sizeof(f->vk[i])), 0);
		EVP_PKEY_free(k);
		off += (size_t)snprintf(f->text + off, sizeof(f->text) - off,
		    "%s %s %s%s\n", i == 3 ? "witness" : "validator", name,
		    f->vk[i], i == 2 ? "" : " http://127.0.0.1:7001");
	}
	snprintf(f->text + off, sizeof(f->text) - off, "quorum 3\n");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

static void
expect_refused(const char *text, const char *why)
{
	struct ledger_policy p;
	char err[512];

	if (ledger_policy_parse(text, strlen(text), &p, err, sizeof(err)) ==
	    0) {
		ledger_policy_clear(&p);
		fail_msg("accepted a policy that should fail with \"%s\"", why);
	}
	if (strstr(err, why) == NULL)
		fail_msg("expected \"%s\", got \"%s\"", why, err);
}

static void
test_policy_reads_back_what_it_writes(void **state)
{
	struct fx *f = *state;
	struct ledger_policy p, q;
	char err[256], out[LEDGER_POLICY_TEXT_MAX], out2[LEDGER_POLICY_TEXT_MAX];

	if (ledger_policy_parse(f->text, strlen(f->text), &p, err,
	    sizeof(err)) != 0)
		fail_msg("parse: %s", err);
	assert_string_equal(p.origin, "kb/ledger");
	assert_string_equal(p.log_vkey, f->log);
	assert_int_equal(p.ncosigners, NVAL);
	assert_int_equal(p.quorum, 3);
	assert_int_equal(p.witness[3], 1);
	assert_int_equal(p.witness[0], 0);
	assert_string_equal(p.url[0], "http://127.0.0.1:7001");
	assert_string_equal(p.url[2], "");
	assert_string_equal(p.cosigners[1].vkey, f->vk[1]);
	assert_int_equal(ledger_policy_format(&p, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "validator v2 "));
	assert_non_null(strstr(out, " -\nwitness v3 "));
	assert_int_equal(ledger_policy_parse(out, strlen(out), &q, err,
	    sizeof(err)), 0);
	assert_int_equal(ledger_policy_format(&q, out2, sizeof(out2)), 0);
	assert_string_equal(out, out2);
	/* too small a buffer is an error, not a truncated policy */
	assert_int_equal(ledger_policy_format(&p, out, 64), -1);
	ledger_policy_clear(&p);
	ledger_policy_clear(&q);
}

static void
test_default_quorum_tolerates_a_third_faulty(void **state)
{
	(void)state;
	assert_int_equal(ledger_policy_default_quorum(0), 0);
	assert_int_equal(ledger_policy_default_quorum(1), 1);
	assert_int_equal(ledger_policy_default_quorum(2), 2);
	assert_int_equal(ledger_policy_default_quorum(3), 2);
	assert_int_equal(ledger_policy_default_quorum(4), 3);
	assert_int_equal(ledger_policy_default_quorum(7), 5);
	assert_int_equal(ledger_policy_default_quorum(10), 7);
}

/* Replaces the first `from` in f->text by `to` into out. */
static void
edit(const struct fx *f, const char *from, const char *to, char *out,
    size_t len)
{
	const char *p = strstr(f->text, from);

	assert_non_null(p);
	snprintf(out, len, "%.*s%s%s", (int)(p - f->text), f->text, to,
	    p + strlen(from));
}

static void
test_policy_that_would_weaken_the_check_is_refused(void **state)
{
	struct fx *f = *state;
	char t[LEDGER_POLICY_TEXT_MAX], line[512];

	edit(f, "quorum 3\n", "", t, sizeof(t));
	expect_refused(t, "lists cosigners but no \"quorum N\" line");
	edit(f, "quorum 3", "quorum 5", t, sizeof(t));
	expect_refused(t, "quorum 5 with 4 cosigners: it must be 1 to 4");
	edit(f, "quorum 3", "quorum 0", t, sizeof(t));
	expect_refused(t, "quorum 0 with 4 cosigners");
	edit(f, "quorum 3", "quorum three", t, sizeof(t));
	expect_refused(t, "line 10: quorum must be a number");
	/* v1 listed a second time, under its own name */
	snprintf(line, sizeof(line), "validator v1 %s\nquorum 3", f->vk[1]);
	edit(f, "quorum 3", line, t, sizeof(t));
	expect_refused(t, "line 10: v1: listed twice");
	/* another key under v1's name: two lines, one name */
	{
		char vk[LEDGER_COSIGN_VKEY_MAX];
		EVP_PKEY *k = ledger_key_generate("ed25519");

		assert_non_null(k);
		assert_int_equal(ledger_cosign_vkey_format(k, "v1", vk,
		    sizeof(vk)), 0);
		EVP_PKEY_free(k);
		snprintf(line, sizeof(line), "validator v1 %s\nquorum 3", vk);
		edit(f, "quorum 3", line, t, sizeof(t));
		expect_refused(t, "line 10: v1: listed twice");
	}
	/* v1's key under another name: the name must be the key's */
	snprintf(line, sizeof(line), "validator v9 %s\nquorum 3", f->vk[1]);
	edit(f, "quorum 3", line, t, sizeof(t));
	expect_refused(t, "v9: the verifier key is named \"v1\", not \"v9\"");
	edit(f, "validator v0 v0+", "validator v0 v0+00", t, sizeof(t));
	expect_refused(t, "line 6: v0: \"v0+00");
	edit(f, "keybridge-policy v1", "keybridge-policy v2", t, sizeof(t));
	expect_refused(t, "line 1: not a keybridge policy");
	edit(f, "origin kb/ledger\n", "", t, sizeof(t));
	expect_refused(t, "line 4: expected \"origin ORIGIN\"");
	edit(f, "quorum 3", "quorum 3\nquorum 3", t, sizeof(t));
	expect_refused(t, "line 11: expected nothing after the quorum");
	edit(f, "# a comment", "trust everything", t, sizeof(t));
	expect_refused(t, "line 2: expected \"origin ORIGIN\"");
	edit(f, "log ", "log x", t, sizeof(t));
	expect_refused(t, "is not a signed-note verifier key");
	expect_refused("", "empty: not a keybridge policy");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_policy_reads_back_what_it_writes, setup, teardown),
		cmocka_unit_test(test_default_quorum_tolerates_a_third_faulty),
		cmocka_unit_test_setup_teardown(
		    test_policy_that_would_weaken_the_check_is_refused, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
