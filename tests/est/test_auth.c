/*
 * test_auth.c: est/auth.c: HTTP Basic (RFC 7617) as EST uses it: the right
 * credentials pass, and every near miss (user, password, length, scheme,
 * encoding, bounds) fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "est/est.h"

#define HDR_MAX 4096

/* "<scheme> base64(creds)" */
static char *
header(const char *scheme, const char *creds, size_t len)
{
	char *h = malloc(HDR_MAX);
	int n;

	assert_non_null(h);
	n = snprintf(h, HDR_MAX, "%s", scheme);
	assert_true((len + 2) / 3 * 4 + (size_t)n < HDR_MAX);
	EVP_EncodeBlock((unsigned char *)h + n, (const unsigned char *)creds,
	    (int)len);
	return h;
}

static int
check(const char *scheme, const char *creds, const char *user,
    const char *pass)
{
	char *h = header(scheme, creds, strlen(creds));
	int ok = est_basic_check(h, user, pass);

	free(h);
	return ok;
}

static void
test_right_credentials_pass(void **state)
{
	assert_int_equal(check("Basic ", "estuser:s3cret", "estuser",
	    "s3cret"), 1);
}

static void
test_scheme_is_case_insensitive_and_blanks_tolerated(void **state)
{
	assert_int_equal(check("basic ", "u:p", "u", "p"), 1);
	assert_int_equal(check("BASIC\t ", "u:p", "u", "p"), 1);
	assert_int_equal(check("  bAsIc ", "u:p", "u", "p"), 1);
}

static void
test_near_misses_fail(void **state)
{
	assert_int_equal(check("Basic ", "estuser:s3creT", "estuser",
	    "s3cret"), 0);
	assert_int_equal(check("Basic ", "estuser:s3cre", "estuser",
	    "s3cret"), 0);
	assert_int_equal(check("Basic ", "estuser:s3cret!", "estuser",
	    "s3cret"), 0);
	assert_int_equal(check("Basic ", "Estuser:s3cret", "estuser",
	    "s3cret"), 0);
	assert_int_equal(check("Basic ", "estuse:rs3cret", "estuser",
	    "s3cret"), 0);
	assert_int_equal(check("Basic ", "estuser:", "estuser", "s3cret"),
	    0);
}

static void
test_password_may_hold_colons_and_be_empty(void **state)
{
	assert_int_equal(check("Basic ", "u:a:b:c", "u", "a:b:c"), 1);
	assert_int_equal(check("Basic ", "u:", "u", ""), 1);
	assert_int_equal(check("Basic ", "u:", "u", NULL), 1);
	assert_int_equal(check("Basic ", ":p", "", "p"), 1);
}

static void
test_malformed_headers_fail(void **state)
{
	assert_int_equal(est_basic_check(NULL, "u", "p"), 0);
	assert_int_equal(est_basic_check("", "u", "p"), 0);
	assert_int_equal(est_basic_check("Basic", "u", "p"), 0);
	assert_int_equal(est_basic_check("Basic ", "u", "p"), 0);
	assert_int_equal(est_basic_check("Basic dTpw", "u", "p"), 1);
	assert_int_equal(est_basic_check("Basicx dTpw", "u", "p"), 0);
	assert_int_equal(est_basic_check("Bearer dTpw", "u", "p"), 0);
	assert_int_equal(est_basic_check("Basic dT pw", "u", "p"), 0);
	assert_int_equal(est_basic_check("Basic dTp", "u", "p"), 0);
	assert_int_equal(est_basic_check("Basic dTpw!", "u", "p"), 0);
	/* No colon at all. */
	assert_int_equal(check("Basic ", "up", "u", "p"), 0);
	/* A NUL inside the credentials. */
	{
		char *h = header("Basic ", "u:p\0x", 5);

		assert_int_equal(est_basic_check(h, "u", "p"), 0);
		free(h);
	}
	/* No expected user: nothing can match. */
	assert_int_equal(check("Basic ", "u:p", NULL, "p"), 0);
}

static void
test_oversized_credentials_fail(void **state)
{
	char *creds = malloc(2048);

	assert_non_null(creds);
	memset(creds, 'a', 2047);
	creds[0] = 'u';
	creds[1] = ':';
	creds[2047] = '\0';
	assert_int_equal(check("Basic ", creds, "u", creds + 2), 0);
	/* Just under the bound passes. */
	creds[1000] = '\0';
	assert_int_equal(check("Basic ", creds, "u", creds + 2), 1);
	free(creds);
}

static void
test_parse_splits_at_the_first_colon_and_respects_bounds(void **state)
{
	char user[8], pass[8], *h = header("Basic ", "abc:d:e", 7);

	assert_int_equal(est_basic_parse(h, user, sizeof(user), pass,
	    sizeof(pass)), 0);
	assert_string_equal(user, "abc");
	assert_string_equal(pass, "d:e");
	assert_int_equal(est_basic_parse(h, user, 3, pass, sizeof(pass)),
	    -1);
	assert_string_equal(user, "");
	assert_int_equal(est_basic_parse(h, user, sizeof(user), pass, 3),
	    -1);
	assert_string_equal(pass, "");
	assert_int_equal(est_basic_parse(NULL, user, sizeof(user), pass,
	    sizeof(pass)), -1);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_right_credentials_pass),
		cmocka_unit_test(
		    test_scheme_is_case_insensitive_and_blanks_tolerated),
		cmocka_unit_test(test_near_misses_fail),
		cmocka_unit_test(test_password_may_hold_colons_and_be_empty),
		cmocka_unit_test(test_malformed_headers_fail),
		cmocka_unit_test(test_oversized_credentials_fail),
		cmocka_unit_test(
		    test_parse_splits_at_the_first_colon_and_respects_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
