/*
 * test_authorize.c: est/authorize.c: each refusal with its reason, and
 * the allowed cases that are their negative controls (names as a subset,
 * DNS case-insensitive, IPv6 compared as addresses).
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
	r->found = 1;
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
refused(const struct est_registration *r, enum est_profile p,
    const struct est_names *n, time_t now, const char *reason)
{
	char why[WHY_MAX] = "";

	assert_int_equal(est_authorize(r, p, n, now, why, sizeof(why)), 403);
	assert_string_equal(why, reason);
}

static void
allowed(const struct est_registration *r, enum est_profile p,
    const struct est_names *n, time_t now)
{
	char why[WHY_MAX] = "";

	assert_int_equal(est_authorize(r, p, n, now, why, sizeof(why)), 0);
}

static void
test_registered_active_key_with_its_names_may_enroll(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	ask(&n, "cam-001.example", "10.0.0.5");
	allowed(&r, EST_PROFILE_SERVER, &n, NOW);
}

static void
test_unregistered_key_cannot_enroll(void **state)
{
	struct est_registration r;

	registration(&r);
	r.found = 0;
	refused(&r, EST_PROFILE_SERVER, NULL, NOW,
	    "the CSR's key is not registered on the ledger");
	refused(NULL, EST_PROFILE_SERVER, NULL, NOW,
	    "the CSR's key is not registered on the ledger");
}

static void
test_revoked_key_cannot_enroll(void **state)
{
	struct est_registration r;

	registration(&r);
	r.revoked = 1;
	refused(&r, EST_PROFILE_SERVER, NULL, NOW,
	    "key is revoked on the ledger");
}

static void
test_key_outside_its_window_cannot_enroll(void **state)
{
	struct est_registration r;
	char why[WHY_MAX];

	registration(&r);
	/* [not_before, not_after): the start is in, the end is out. */
	allowed(&r, EST_PROFILE_SERVER, NULL, r.not_before);
	allowed(&r, EST_PROFILE_SERVER, NULL, r.not_after - 1);
	assert_int_equal(est_authorize(&r, EST_PROFILE_SERVER, NULL,
	    r.not_after, why, sizeof(why)), 403);
	assert_string_equal(why, "outside the key's validity window "
	    "(2026-11-20T14:18:36Z to 2026-11-22T14:18:36Z)");
	assert_int_equal(est_authorize(&r, EST_PROFILE_SERVER, NULL,
	    r.not_before - 1, why, sizeof(why)), 403);
	assert_non_null(strstr(why, "outside the key's validity window"));
}

static void
test_other_profile_cannot_enroll(void **state)
{
	struct est_registration r;

	registration(&r);
	r.profile = EST_PROFILE_DEVICE;
	refused(&r, EST_PROFILE_SERVER, NULL, NOW,
	    "registered for profile device, not server");
	allowed(&r, EST_PROFILE_DEVICE, NULL, NOW);
	allowed(&r, 0, NULL, NOW);	/* no label: the registered one */
}

static void
test_unregistered_names_cannot_be_asked(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	ask(&n, "evil.example", NULL);
	refused(&r, EST_PROFILE_SERVER, &n, NOW,
	    "name evil.example not registered for this key");
	ask(&n, "cam-001.example", "10.0.0.6");
	refused(&r, EST_PROFILE_SERVER, &n, NOW,
	    "name 10.0.0.6 not registered for this key");
	ask(&n, NULL, "2001:db8::2");
	refused(&r, EST_PROFILE_SERVER, &n, NOW,
	    "name 2001:db8::2 not registered for this key");
	/* An IPv4 address written as IPv4-mapped IPv6 is another name. */
	ask(&n, NULL, "::ffff:10.0.0.5");
	refused(&r, EST_PROFILE_SERVER, &n, NOW,
	    "name ::ffff:10.0.0.5 not registered for this key");
	ask(&n, NULL, "not-an-address");
	refused(&r, EST_PROFILE_SERVER, &n, NOW,
	    "name not-an-address not registered for this key");
}

static void
test_names_are_a_subset_and_none_is_allowed(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	memset(&n, 0, sizeof(n));
	allowed(&r, EST_PROFILE_SERVER, &n, NOW);
	allowed(&r, EST_PROFILE_SERVER, NULL, NOW);
	ask(&n, NULL, "2001:db8::1");
	allowed(&r, EST_PROFILE_SERVER, &n, NOW);
	/* A registration without names grants none. */
	memset(&r.names, 0, sizeof(r.names));
	ask(&n, "cam-001.example", NULL);
	refused(&r, EST_PROFILE_SERVER, &n, NOW,
	    "name cam-001.example not registered for this key");
}

static void
test_dns_names_compare_case_insensitively(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	ask(&n, "CAM-001.Example", NULL);
	allowed(&r, EST_PROFILE_SERVER, &n, NOW);
}

static void
test_ipv6_compares_as_an_address(void **state)
{
	struct est_registration r;
	struct est_names n;

	registration(&r);
	ask(&n, NULL, "2001:0db8:0:0:0:0:0:0001");
	allowed(&r, EST_PROFILE_SERVER, &n, NOW);
	snprintf(r.names.ip[1], sizeof(r.names.ip[1]), "0:0:0:0:0:0:0:1");
	ask(&n, NULL, "::1");
	allowed(&r, EST_PROFILE_SERVER, &n, NOW);
}

static void
test_refusals_come_in_order_of_the_trust_rule(void **state)
{
	struct est_registration r;
	struct est_names n;

	/* Revoked and out of window and wrong names: "revoked" first. */
	registration(&r);
	r.revoked = 1;
	ask(&n, "evil.example", NULL);
	refused(&r, EST_PROFILE_DEVICE, &n, NOW + 2 * DAY,
	    "key is revoked on the ledger");
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
		cmocka_unit_test(test_unregistered_key_cannot_enroll),
		cmocka_unit_test(test_revoked_key_cannot_enroll),
		cmocka_unit_test(test_key_outside_its_window_cannot_enroll),
		cmocka_unit_test(test_other_profile_cannot_enroll),
		cmocka_unit_test(test_unregistered_names_cannot_be_asked),
		cmocka_unit_test(test_names_are_a_subset_and_none_is_allowed),
		cmocka_unit_test(test_dns_names_compare_case_insensitively),
		cmocka_unit_test(test_ipv6_compares_as_an_address),
		cmocka_unit_test(test_refusals_come_in_order_of_the_trust_rule),
		cmocka_unit_test(test_profile_names_parse_both_ways),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
