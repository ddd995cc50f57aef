/*
 * test_limits.c: the pure parts of the front door's limits
 * (bridge/http/addrtab.c, limits.c): connections counted per address,
 * the head's end found in bytes as they arrive, the cap kept below the
 * descriptor limit.  The deadlines themselves run against the real
 * daemon in tests/integration/test_hostile_conn.sh.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bridge/http/http.h"

static void
key4(const char *a, unsigned char k[ADDRTAB_KEY])
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &s.sin_addr), 1);
	assert_int_equal(addrtab_key((struct sockaddr *)&s, k), 0);
}

static void
key6(const char *a, unsigned char k[ADDRTAB_KEY])
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, a, &s.sin6_addr), 1);
	assert_int_equal(addrtab_key((struct sockaddr *)&s, k), 0);
}

static void
test_addrtab_counts_each_address_apart(void **state)
{
	struct addrtab *t = addrtab_new(8);
	unsigned char a[ADDRTAB_KEY], b[ADDRTAB_KEY], lo[ADDRTAB_KEY];

	assert_non_null(t);
	key4("127.0.0.2", a);
	key4("127.0.0.3", b);
	key4("127.0.0.1", lo);
	assert_int_equal(addrtab_add(t, a), 1);
	assert_int_equal(addrtab_add(t, a), 2);
	assert_int_equal(addrtab_add(t, b), 1);
	assert_int_equal(addrtab_add(t, lo), 1);	/* loopback counts too */
	assert_int_equal(addrtab_count(t, a), 2);
	assert_int_equal(addrtab_size(t), 3);
	assert_int_equal(addrtab_del(t, a), 0);
	assert_int_equal(addrtab_count(t, a), 1);
	assert_int_equal(addrtab_del(t, a), 0);
	assert_int_equal(addrtab_count(t, a), 0);
	assert_int_equal(addrtab_size(t), 2);
	assert_int_equal(addrtab_del(t, a), -1);	/* none left */
	assert_int_equal(addrtab_count(t, b), 1);
	addrtab_free(t);
}

static void
test_addrtab_refuses_a_new_address_when_full(void **state)
{
	struct addrtab *t = addrtab_new(2);
	unsigned char a[ADDRTAB_KEY], b[ADDRTAB_KEY], c[ADDRTAB_KEY];

	key4("10.0.0.1", a);
	key4("10.0.0.2", b);
	key4("10.0.0.3", c);
	assert_int_equal(addrtab_add(t, a), 1);
	assert_int_equal(addrtab_add(t, b), 1);
	assert_int_equal(addrtab_add(t, c), 0);
	assert_int_equal(addrtab_add(t, a), 2);		/* known: counted */
	assert_int_equal(addrtab_del(t, b), 0);
	assert_int_equal(addrtab_add(t, c), 1);
	addrtab_free(t);
}

static void
test_addrtab_counts_ipv6_by_its_64(void **state)
{
	struct addrtab *t = addrtab_new(4);
	unsigned char a[ADDRTAB_KEY], b[ADDRTAB_KEY], c[ADDRTAB_KEY];
	unsigned char m[ADDRTAB_KEY], v4[ADDRTAB_KEY];

	key6("2001:db8:1:2::1", a);
	key6("2001:db8:1:2:ffff::7", b);	/* same /64 */
	key6("2001:db8:1:3::1", c);
	key6("::ffff:192.0.2.1", m);
	key4("192.0.2.1", v4);
	assert_memory_equal(m, v4, ADDRTAB_KEY);	/* one address */
	assert_int_equal(addrtab_add(t, a), 1);
	assert_int_equal(addrtab_add(t, b), 2);
	assert_int_equal(addrtab_add(t, c), 1);
	addrtab_free(t);
}

/* Many addresses in and out: deletion keeps every probe run whole (a
 * wrong backward shift loses a count or finds a stale one). */
static void
test_addrtab_survives_churn(void **state)
{
	enum { N = 600 };
	struct addrtab *t = addrtab_new(N);
	unsigned char k[ADDRTAB_KEY];
	unsigned counts[N];
	char a[32];
	unsigned i, j, x = 1;

	memset(counts, 0, sizeof(counts));
	for (j = 0; j < 20000; j++) {
		x = x * 1103515245u + 12345u;
		i = (x >> 8) % N;
		snprintf(a, sizeof(a), "10.%u.%u.%u", i >> 16, (i >> 8) & 255,
		    i & 255);
		key4(a, k);
		if ((x >> 4) & 1 || counts[i] == 0) {
			assert_int_equal(addrtab_add(t, k), ++counts[i]);
		} else {
			assert_int_equal(addrtab_del(t, k), 0);
			counts[i]--;
		}
	}
	for (i = 0; i < N; i++) {
		snprintf(a, sizeof(a), "10.%u.%u.%u", i >> 16, (i >> 8) & 255,
		    i & 255);
		key4(a, k);
		assert_int_equal(addrtab_count(t, k), counts[i]);
	}
	addrtab_free(t);
}

/* Feeds s to the scanner in pieces of step bytes: the offset in s just
 * past the head, or -1. */
static long
scan_in_steps(const char *s, size_t step)
{
	size_t off = 0, len = strlen(s), n;
	unsigned st = 0;
	long end;

	while (off < len) {
		n = len - off < step ? len - off : step;
		if ((end = limits_head_scan(&st, (const unsigned char *)s +
		    off, n)) >= 0)
			return (long)off + end;
		off += n;
	}
	return -1;
}

static void
test_head_end_found_in_any_pieces(void **state)
{
	static const char crlf[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY";
	static const char lf[] = "GET / HTTP/1.1\nHost: x\n\nBODY";
	static const char mixed[] = "GET / HTTP/1.1\r\nHost: x\n\r\nBODY";
	size_t step;

	for (step = 1; step <= 8; step++) {
		assert_int_equal(scan_in_steps(crlf, step),
		    (long)(strstr(crlf, "BODY") - crlf));
		assert_int_equal(scan_in_steps(lf, step),
		    (long)(strstr(lf, "BODY") - lf));
		assert_int_equal(scan_in_steps(mixed, step),
		    (long)(strstr(mixed, "BODY") - mixed));
	}
}

static void
test_head_not_ended_by_a_lone_cr_or_leading_blank_lines(void **state)
{
	/* "\r\r" is no empty line; blank lines before the request line do
	 * not end a head that has not begun */
	assert_int_equal(scan_in_steps("GET / HTTP/1.1\r\nA: b\r\r\nC: d", 3),
	    -1);
	assert_int_equal(scan_in_steps("\r\n\r\n\nGET / HTTP/1.1\r\n", 1), -1);
	assert_int_equal(scan_in_steps("GET / HTTP/1.1\r\nA: b\r\n", 1), -1);
}

static void
test_cap_stays_below_the_descriptor_limit(void **state)
{
	assert_int_equal(limits_cap_for(1024, 64, 0), 960);
	assert_int_equal(limits_cap_for(1024, 64, 100), 100);
	assert_int_equal(limits_cap_for(1024, 64, 5000), 960);
	assert_int_equal(limits_cap_for(256, 64, 0), 192);
	assert_int_equal(limits_cap_for(50, 64, 0), 1);	/* never 0 */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addrtab_counts_each_address_apart),
		cmocka_unit_test(test_addrtab_refuses_a_new_address_when_full),
		cmocka_unit_test(test_addrtab_counts_ipv6_by_its_64),
		cmocka_unit_test(test_addrtab_survives_churn),
		cmocka_unit_test(test_head_end_found_in_any_pieces),
		cmocka_unit_test(
		    test_head_not_ended_by_a_lone_cr_or_leading_blank_lines),
		cmocka_unit_test(test_cap_stays_below_the_descriptor_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
