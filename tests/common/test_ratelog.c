/*
 * test_ratelog.c: common/ratelog.c, one line per interval for a repeated
 * message, with the count of the ones swallowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/ratelog.h"

static void
test_first_message_written_then_counted_until_the_interval(void **state)
{
	struct ratelog rl;
	unsigned long n = 99;

	ratelog_init(&rl, 10);
	assert_int_equal(ratelog_allow(&rl, 100.0, &n), 1);
	assert_int_equal(n, 0);
	assert_int_equal(ratelog_allow(&rl, 100.5, &n), 0);
	assert_int_equal(ratelog_allow(&rl, 105.0, &n), 0);
	assert_int_equal(ratelog_allow(&rl, 109.9, &n), 0);
	assert_int_equal(ratelog_allow(&rl, 110.0, &n), 1);
	assert_int_equal(n, 3);			/* the three swallowed */
	assert_int_equal(ratelog_allow(&rl, 130.0, &n), 1);
	assert_int_equal(n, 0);			/* a quiet period */
}

static void
test_a_flood_costs_one_line_per_interval(void **state)
{
	struct ratelog rl;
	unsigned long n, total = 0, lines = 0;
	double t;

	ratelog_init(&rl, 10);
	/* a million messages over 60 s */
	for (t = 0; t < 60; t += 0.00006)
		if (ratelog_allow(&rl, t, &n)) {
			lines++;
			total += n + 1;
		}
	assert_true(lines >= 6 && lines <= 7);
	assert_true(total + rl.swallowed > 990000);	/* none lost */
}

static void
test_flush_tells_the_count_of_a_stopped_flood(void **state)
{
	struct ratelog rl;

	ratelog_init(&rl, 0);		/* every call may write */
	ratelog_msg(&rl, LOGL_DEBUG, "quiet");	/* below the level: no-op */
	assert_int_equal(rl.swallowed, 0);
	ratelog_init(&rl, 3600);
	ratelog_msg(&rl, LOGL_ERR, "first");
	ratelog_msg(&rl, LOGL_ERR, "second");
	ratelog_msg(&rl, LOGL_ERR, "third");
	assert_int_equal(rl.swallowed, 2);
	assert_string_equal(rl.text, "third");
	ratelog_flush(&rl);		/* within the interval: kept */
	assert_int_equal(rl.swallowed, 2);
	rl.last -= 3600;		/* the interval is over */
	ratelog_flush(&rl);
	assert_int_equal(rl.swallowed, 0);
	assert_string_equal(rl.text, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_first_message_written_then_counted_until_the_interval),
		cmocka_unit_test(test_a_flood_costs_one_line_per_interval),
		cmocka_unit_test(test_flush_tells_the_count_of_a_stopped_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
