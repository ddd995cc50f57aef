/*
 * test_escape.c: bridge/http/escape.c, client bytes made safe to echo in
 * a JSON error message: valid UTF-8 kept, the rest as %XX, cut between
 * characters, and jansson takes every result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "bridge/http/http.h"

/* server_escape of the literal s into a buffer of n bytes. */
static const char *
esc(const char *s, size_t len, size_t n)
{
	static char out[1024];

	assert_true(n <= sizeof(out));
	server_escape(out, n, s, len);
	return out;
}

#define ESC(lit, n) esc((lit), sizeof(lit) - 1, (n))

static void
test_valid_utf8_is_kept(void **state)
{
	(void)state;
	assert_string_equal(ESC("/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80",
	    100), "/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80");
	assert_string_equal(ESC("/a%20b\"\\", 100), "/a%20b\"\\");
}

static void
test_invalid_bytes_become_percent_escapes(void **state)
{
	(void)state;
	assert_string_equal(ESC("/\xff", 100), "/%FF");
	assert_string_equal(ESC("/a\xc3", 100), "/a%C3");
	/* overlong '/', a surrogate, past U+10FFFF, a lone continuation */
	assert_string_equal(ESC("\xc0\xaf", 100), "%C0%AF");
	assert_string_equal(ESC("\xed\xa0\x80", 100), "%ED%A0%80");
	assert_string_equal(ESC("\xf4\x90\x80\x80", 100), "%F4%90%80%80");
	assert_string_equal(ESC("\x80z", 100), "%80z");
}

static void
test_control_characters_become_percent_escapes(void **state)
{
	(void)state;
	assert_string_equal(ESC("a\x01\x1b\x7f\tb", 100), "a%01%1B%7F%09b");
	assert_string_equal(esc("a\0b", 3, 100), "a%00b");
}

static void
test_cut_falls_between_characters(void **state)
{
	(void)state;
	/* room for "/" and one 2-byte character, not half of the next */
	assert_string_equal(ESC("/\xc3\xa9\xc3\xa9", 5), "/\xc3\xa9");
	assert_string_equal(ESC("/\xc3\xa9\xc3\xa9", 4), "/\xc3\xa9");
	/* an escape is never cut either */
	assert_string_equal(ESC("/\xff\xff", 6), "/%FF");
	assert_string_equal(ESC("abc", 1), "");
}

static void
test_every_byte_pair_gives_a_string_jansson_takes(void **state)
{
	char in[4], out[64];
	json_t *j;
	unsigned a, b;

	(void)state;
	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++) {
			in[0] = (char)a;
			in[1] = (char)b;
			in[2] = (char)0xe2;	/* a cut 3-byte character */
			in[3] = (char)0x82;
			server_escape(out, sizeof(out), in, sizeof(in));
			j = json_string(out);
			assert_non_null(j);
			json_decref(j);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_utf8_is_kept),
		cmocka_unit_test(test_invalid_bytes_become_percent_escapes),
		cmocka_unit_test(
		    test_control_characters_become_percent_escapes),
		cmocka_unit_test(test_cut_falls_between_characters),
		cmocka_unit_test(
		    test_every_byte_pair_gives_a_string_jansson_takes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
