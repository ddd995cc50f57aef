/*
 * test_authorize.c: est/authorize.c: a CSR asks only for registered names,
 * each refusal with its reason, and the allowed cases that are their
 * negative controls (names as a subset, DNS case-insensitive, IPv6
 * compared as addresses).  Whether the key may enroll at all (registered,
 * revoked, window, profile) is the ledger's rule: tests/ledger/test_check.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "est/est.h"

#define WHY_MAX 256
#define NOW     1795270716	/* 2026-11-21T14:18:36Z */
#define DAY     86400

/* An active server registration for cam-001.example, 10.0.0.5, 2001:db8::1. */
static void
registration(struct est_registration *r)
{
	memset(r, 0, sizeof(*r));
	r->profile = EST_PROFILE_SERVER;
	snprintf(r->name, sizeof(r->name), "cam-001");
	r->names.ndns = 1;
	snprintf(r->names.dns[0], sizeof(r->names.dns[0]), "cam-001.example");
	r->names.nip = 2;
	snprintf(r->names.ip[0], sizeof(r->names.ip[0]), "10.0.0.5");
	snprintf(r->names.ip[1], sizeof(r->names.ip[1]), "2001:db8::1");
	r->not_before = NOW - DAY;
	r->not_after = NOW + DAY;
}

static void
ask(struct est_names *n, const char *dns, const char *ip)
{
	memset(n, 0, sizeof(*n));
	if (dns != NULL)
		snprintf(n->dns[n->ndns++], sizeof(n->dns[0]), "%s", dns);
	if (ip != NULL)
		snprintf(n->ip[n->nip++], sizeof(n->ip[0]), "%s", ip);
}

static void
refused(const struct est_registration *r, const struct est_names *n,
    const char *reason)
{
	char why[WHY_MAX] = "";

	assert_int_equal(est_authorize(r, n, why, sizeof(why)), 403);
	assert_string_equal(why, reason);
}

static void
allowed(const struct est_registration *r, const struct est_names *n)
{
	char why[WHY_MAX] = "";

	assert_int_equal(est_authorize(r, n, why, sizeof(why)), 0);
}

static void
test_registered_active_key_with_its_names_may_enroll(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	ask(&n, "cam-001.example", "10.0.0.5");
	allowed(&r, &n);
}

static void
test_unregistered_names_cannot_be_asked(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	ask(&n, "evil.example", NULL);
	refused(&r, &n,
	    "name evil.example not registered for this key");
	ask(&n, "cam-001.example", "10.0.0.6");
	refused(&r, &n,
	    "name 10.0.0.6 not registered for this key");
	ask(&n, NULL, "2001:db8::2");
	refused(&r, &n,
	    "name 2001:db8::2 not registered for this key");
	/* An IPv4 address written as IPv4-mapped IPv6 is another name. */
	ask(&n, NULL, "::ffff:10.0.0.5");
	refused(&r, &n,
	    "name ::ffff:10.0.0.5 not registered for this key");
	ask(&n, NULL, "not-an-address");
	refused(&r, &n,
	    "name not-an-address not registered for this key");
}

static void
test_names_are_a_subset_and_none_is_allowed(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	memset(&n, 0, sizeof(n));
	allowed(&r, &n);
	allowed(&r, NULL);
	ask(&n, NULL, "2001:db8::1");
	allowed(&r, &n);
	/* A registration without names grants none. */
	memset(&r.names, 0, sizeof(r.names));
	ask(&n, "cam-001.example", NULL);
	refused(&r, &n,
	    "name cam-001.example not registered for this key");
}

static void
test_dns_names_compare_case_insensitively(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	ask(&n, "CAM-001.Example", NULL);
	allowed(&r, &n);
}

static void
test_ipv6_compares_as_an_address(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	ask(&n, NULL, "2001:0db8:0:0:0:0:0:0001");
	allowed(&r, &n);
	snprintf(r.names.ip[1], sizeof(r.names.ip[1]), "0:0:0:0:0:0:0:1");
	ask(&n, NULL, "::1");
	allowed(&r, &n);
}

/* The first name not registered is the one named, DNS before IP. */
static void
test_the_first_unregistered_name_is_named(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	ask(&n, "evil.example", "10.9.9.9");
	refused(&r, &n, "name evil.example not registered for this key");
	ask(&n, "cam-001.example", "10.9.9.9");
	refused(&r, &n, "name 10.9.9.9 not registered for this key");
}

static void
test_profile_names_parse_both_ways(void **state)
{
	assert_int_equal(est_profile_parse("device"), EST_PROFILE_DEVICE);
	assert_int_equal(est_profile_parse("server"), EST_PROFILE_SERVER);
	assert_int_equal(est_profile_parse("Server"), -1);
	assert_int_equal(est_profile_parse(""), -1);
	assert_int_equal(est_profile_parse(NULL), -1);
	assert_string_equal(est_profile_name(EST_PROFILE_DEVICE), "device");
	assert_string_equal(est_profile_name(EST_PROFILE_SERVER), "server");
	assert_string_equal(est_profile_name((enum est_profile)0), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_registered_active_key_with_its_names_may_enroll),
		cmocka_unit_test(test_unregistered_names_cannot_be_asked),
		cmocka_unit_test(test_names_are_a_subset_and_none_is_allowed),
		cmocka_unit_test(test_dns_names_compare_case_insensitively),
		cmocka_unit_test(test_ipv6_compares_as_an_address),
		cmocka_unit_test(test_the_first_unregistered_name_is_named),
		cmocka_unit_test(test_profile_names_parse_both_ways),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
