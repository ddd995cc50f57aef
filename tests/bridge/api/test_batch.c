/*
 * test_batch.c: bridge/api/api_batch.c api_batch_of, the shape of a
 * POST /api/v1/entries batch body: 1..API_BATCH_MAX non-empty strings
 * under "entries", nothing else accepted (the integration test
 * tests/integration/test_api_batch.sh drives the answers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "bridge/api/api_int.h"

struct batch_out {
	const char *entries[API_BATCH_MAX];
	size_t lens[API_BATCH_MAX], n;
	const char *code;
	char msg[256];
};

/* api_batch_of on the JSON text; the status; o filled. */
static int
batch_of(const char *text, struct batch_out *o)
{
	json_t *j = json_loads(text, 0, NULL);
	int st;

	assert_non_null(j);
	memset(o, 0, sizeof(*o));
	st = api_batch_of(j, o->entries, o->lens, &o->n, &o->code, o->msg,
	    sizeof(o->msg));
	/* o->entries point into j: compare before it goes */
	if (st == 0 && o->n >= 2)
		assert_string_equal(o->entries[1], "second\n");
	json_decref(j);
	return st;
}

static void
test_entries_are_taken_in_order(void **state)
{
	struct batch_out o;

	(void)state;
	assert_int_equal(0, batch_of("{\"entries\": [\"first\\n\", "
	    "\"second\\n\", \"3\"]}", &o));
	assert_int_equal(3, o.n);
	assert_int_equal(6, o.lens[0]);
	assert_int_equal(7, o.lens[1]);
	assert_int_equal(1, o.lens[2]);
}

/* Each malformed body: 400 and its code, a message, no entries. */
static void
test_malformed_batches_are_400_with_their_code(void **state)
{
	static const struct { const char *body, *code; } bad[] = {
		{ "{\"entries\": \"x\"}", "bad_batch" },
		{ "{\"entries\": {}}", "bad_batch" },
		{ "{\"entries\": null}", "bad_batch" },
		{ "{\"entries\": [\"x\", 1]}", "bad_batch" },
		{ "{\"entries\": [\"x\", \"\"]}", "bad_batch" },
		{ "{\"entries\": [[\"x\"]]}", "bad_batch" },
		{ "{\"entry\": \"x\", \"entries\": [\"x\"]}", "bad_batch" },
		{ "{\"entries\": []}", "empty_batch" },
		{ "[\"x\"]", "bad_batch" },
	};
	struct batch_out o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(400, batch_of(bad[i].body, &o));
		assert_string_equal(bad[i].code, o.code);
		assert_true(o.msg[0] != '\0');
		assert_int_equal(0, o.n);
	}
}

static void
test_at_most_api_batch_max_entries(void **state)
{
	struct batch_out o;
	json_t *j = json_pack("{s:[]}", "entries");
	json_t *arr = json_object_get(j, "entries");
	size_t i;

	(void)state;
	for (i = 0; i < API_BATCH_MAX; i++)
		json_array_append_new(arr, json_string("x"));
	assert_int_equal(0, api_batch_of(j, o.entries, o.lens, &o.n, &o.code,
	    o.msg, sizeof(o.msg)));
	assert_int_equal(API_BATCH_MAX, o.n);
	json_array_append_new(arr, json_string("x"));
	assert_int_equal(400, api_batch_of(j, o.entries, o.lens, &o.n,
	    &o.code, o.msg, sizeof(o.msg)));
	assert_string_equal("batch_too_large", o.code);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries_are_taken_in_order),
		cmocka_unit_test(test_malformed_batches_are_400_with_their_code),
		cmocka_unit_test(test_at_most_api_batch_max_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
