/*
 * test_keyproc_checkpoint.c: SIGN_CHECKPOINT's refusals (split from
 * test_keyproc.c, whose fixture it shares through keyproc_fx.h): a real
 * forked key process with the keys `keybridge init` makes refuses a
 * checkpoint smaller than the last, of the same size with another root,
 * without a valid consistency proof or of another origin, each beside its
 * positive control.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bridge/bridge.h"
#include "bridge/keyproc/keyproc.h"
#include "ledger/ledger_int.h"
#include "tests/bridge/keyproc/keyproc_fx.h"

static void
test_checkpoint_smaller_than_the_last_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;

	assert_int_equal(keyproc_fx_cp_call(f, 6, NULL, 0, 0, 0, NULL), 0);
	assert_int_equal(keyproc_fx_cp_call(f, 5, NULL, 6, 0, 0, "smaller"),
	    -1);
	/* Positive control: the same checkpoint again (idempotent). */
	assert_int_equal(keyproc_fx_cp_call(f, 6, NULL, 6, 0, 0, NULL), 0);
}

static void
test_checkpoint_of_the_same_size_with_another_root_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	uint8_t other[LEDGER_HASH_LEN];

	memset(other, 0xab, sizeof(other));
	assert_int_equal(keyproc_fx_cp_call(f, 6, NULL, 0, 0, 0, NULL), 0);
	assert_int_equal(keyproc_fx_cp_call(f, 6, other, 6, 0, 0,
	    "another root"), -1);
}

static void
test_checkpoint_without_a_valid_consistency_proof_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;

	assert_int_equal(keyproc_fx_cp_call(f, 5, NULL, 0, 0, 0, NULL), 0);
	/* A flipped hash, no proof, a proof from another size. */
	assert_int_equal(keyproc_fx_cp_call(f, 9, NULL, 5, 1, 1,
	    "does not verify"), -1);
	assert_int_equal(keyproc_fx_cp_call(f, 9, NULL, 5, 0, 0,
	    "does not verify"), -1);
	assert_int_equal(keyproc_fx_cp_call(f, 9, NULL, 4, 1, 0,
	    "starts at size 4"),
	    -1);
	/* Positive control: the right proof. */
	assert_int_equal(keyproc_fx_cp_call(f, 9, NULL, 5, 1, 0, NULL), 0);
}

static void
test_checkpoint_of_another_origin_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	struct keyproc_buf b = { 0 };
	uint8_t root[LEDGER_HASH_LEN];
	char body[512];

	assert_int_equal(ledger_merkle_root(f->tree, 3, root), 0);
	assert_int_equal(ledger_checkpoint_body("other/ledger", 3, root,
	    time(NULL), body, sizeof(body)), 0);
	keyproc_put_str(&b, body);
	keyproc_put_u64(&b, 0);
	keyproc_put_bytes(&b, NULL, 0);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_CHECKPOINT, &b,
	    "origin"),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, keyproc_fx_setup, \
	    keyproc_fx_teardown)
		T(test_checkpoint_smaller_than_the_last_is_refused),
		T(test_checkpoint_of_the_same_size_with_another_root_is_refused),
		T(test_checkpoint_without_a_valid_consistency_proof_is_refused),
		T(test_checkpoint_of_another_origin_is_refused),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("bridge/keyproc/checkpoint", tests,
	    keyproc_fx_group_setup, keyproc_fx_group_teardown);
}
