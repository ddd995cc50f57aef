/*
 * test_strict.c: bridge/http/strict.c, the request-head check in front of
 * evhttp and the chunked-body tracker: one test per rule of strict.h, each
 * on the exact reason and status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bridge/http/strict.h"

#define TEST_LIMIT 100		/* the test routes' body limit */

/* A route "/small" takes TEST_LIMIT bytes; "/refuse" is refused; other
 * targets take any body. */
static int
test_limit(void *arg, const char *target, size_t len, uint64_t *max)
{
	(void)arg;
	if (len >= 6 && memcmp(target, "/small", 6) == 0)
		*max = TEST_LIMIT;
	else if (len >= 7 && memcmp(target, "/refuse", 7) == 0)
		return -1;
	else
		*max = UINT64_MAX;
	return 0;
}

static const struct http_strict_limits test_lim = {
	.max_head = 1024, .max_line = 256, .body_limit = test_limit,
};

/* The verdict on s (len bytes) in one call; res filled. */
static enum http_strict_verdict
check(const char *s, size_t len, struct http_strict_head *res)
{
	memset(res, 0, sizeof(*res));
	return http_strict_head(s, len, &test_lim, res);
}

#define CHECK(lit, res) check((lit), sizeof(lit) - 1, (res))

/* s is refused for reason r with status st. */
#define REFUSED(lit, r, st) do {					\
	struct http_strict_head res_;					\
	assert_int_equal(CHECK(lit, &res_), HTTP_STRICT_REFUSE);	\
	assert_string_equal(http_strict_reason_name(res_.reason),	\
	    http_strict_reason_name(r));				\
	assert_int_equal(res_.status, (st));				\
} while (0)

#define PASSES(lit) do {						\
	struct http_strict_head res_;					\
	assert_int_equal(CHECK(lit, &res_), HTTP_STRICT_PASS);		\
} while (0)

static void
test_clean_get_passes_with_its_head_length(void **state)
{
	static const char req[] = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\nNEXT";
	struct http_strict_head res;

	(void)state;
	assert_int_equal(CHECK(req, &res), HTTP_STRICT_PASS);
	assert_int_equal(res.head_len, sizeof(req) - 1 - 4);
	assert_int_equal(res.skip, 0);
	assert_int_equal(res.body, HTTP_STRICT_BODY_NONE);
	assert_int_equal(res.http_minor, 1);
	assert_int_equal(res.target_len, 6);
	assert_memory_equal(res.target, "/a?b=1", 6);
}

static void
test_head_in_pieces_needs_more_then_passes(void **state)
{
	static const char req[] = "POST /x HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5\r\n\r\nhello";
	struct http_strict_head res;
	size_t i;

	(void)state;
	memset(&res, 0, sizeof(res));
	/* byte by byte, as a slow client sends it */
	for (i = 1; i < sizeof(req) - 1 - 5; i++)
		assert_int_equal(http_strict_head(req, i, &test_lim, &res),
		    HTTP_STRICT_MORE);
	assert_int_equal(http_strict_head(req, i, &test_lim, &res),
	    HTTP_STRICT_PASS);
	assert_int_equal(res.head_len, i);
	assert_int_equal(res.body, HTTP_STRICT_BODY_LENGTH);
	assert_int_equal(res.content_length, 5);
}

static void
test_leading_empty_lines_are_skipped(void **state)
{
	static const char req[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_strict_head res;

	(void)state;
	assert_int_equal(CHECK(req, &res), HTTP_STRICT_PASS);
	assert_int_equal(res.skip, 4);
	assert_int_equal(res.head_len, sizeof(req) - 1);
}

static void
test_repeated_or_conflicting_content_length_is_400(void **state)
{
	(void)state;
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\nxx", HTTP_STRICT_CONTENT_LENGTH, 400);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "Content-Length: 1\r\n\r\nx", HTTP_STRICT_CONTENT_LENGTH, 400);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\nx",
	    HTTP_STRICT_CONTENT_LENGTH, 400);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\nx",
	    HTTP_STRICT_CONTENT_LENGTH, 400);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
	    HTTP_STRICT_CONTENT_LENGTH, 400);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
	    HTTP_STRICT_CONTENT_LENGTH, 400);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	    "99999999999999999999999\r\n\r\n", HTTP_STRICT_CONTENT_LENGTH,
	    400);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n",
	    HTTP_STRICT_CONTENT_LENGTH, 400);
}

static void
test_content_length_with_transfer_encoding_is_400(void **state)
{
	(void)state;
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", HTTP_STRICT_CL_AND_TE, 400);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n", HTTP_STRICT_CL_AND_TE, 400);
}

static void
test_transfer_encoding_other_than_chunked_is_501(void **state)
{
	(void)state;
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked"
	    "\r\n\r\n", HTTP_STRICT_TRANSFER_ENCODING, 501);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, "
	    "chunked\r\n\r\n", HTTP_STRICT_TRANSFER_ENCODING, 501);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, "
	    "gzip\r\n\r\n", HTTP_STRICT_TRANSFER_ENCODING, 501);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity"
	    "\r\n\r\n", HTTP_STRICT_TRANSFER_ENCODING, 501);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n",
	    HTTP_STRICT_TRANSFER_ENCODING, 501);
	/* HTTP/1.0 has no chunked coding (RFC 9112 6.1) */
	REFUSED("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	    HTTP_STRICT_TRANSFER_ENCODING, 501);
}

static void
test_chunked_in_any_case_passes(void **state)
{
	struct http_strict_head res;
	static const char req[] = "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding:  Chunked \r\n\r\n";

	(void)state;
	assert_int_equal(CHECK(req, &res), HTTP_STRICT_PASS);
	assert_int_equal(res.body, HTTP_STRICT_BODY_CHUNKED);
}

static void
test_whitespace_before_colon_is_400(void **state)
{
	(void)state;
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc",
	    HTTP_STRICT_HEADER_NAME, 400);
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked"
	    "\r\n\r\n", HTTP_STRICT_HEADER_NAME, 400);
	REFUSED("GET / HTTP/1.1\r\nHost: x\r\nX(y): z\r\n\r\n",
	    HTTP_STRICT_HEADER_NAME, 400);
	REFUSED("GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
	    HTTP_STRICT_HEADER_NAME, 400);
}

static void
test_obs_fold_is_400(void **state)
{
	(void)state;
	REFUSED("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
	    HTTP_STRICT_OBS_FOLD, 400);
	REFUSED("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tb\r\n\r\n",
	    HTTP_STRICT_OBS_FOLD, 400);
	/* whitespace between the request line and the first header */
	REFUSED("GET / HTTP/1.1\r\n Host: x\r\n\r\n", HTTP_STRICT_OBS_FOLD,
	    400);
}

static void
test_control_characters_are_400(void **state)
{
	(void)state;
	REFUSED("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n",
	    HTTP_STRICT_CONTROL_CHAR, 400);
	REFUSED("GET / HTTP/1.1\r\nHost: x\r\nX\0: b\r\n\r\n",
	    HTTP_STRICT_CONTROL_CHAR, 400);
	REFUSED("GET / HTTP/1.1\r\nHost: x\r\nX: a\x01z\r\n\r\n",
	    HTTP_STRICT_CONTROL_CHAR, 400);
	REFUSED("GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fz\r\n\r\n",
	    HTTP_STRICT_CONTROL_CHAR, 400);
	REFUSED("GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n",
	    HTTP_STRICT_CONTROL_CHAR, 400);
	REFUSED("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
	    HTTP_STRICT_CONTROL_CHAR, 400);
	/* a TLS ClientHello on the plain port */
	REFUSED("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	    HTTP_STRICT_CONTROL_CHAR, 400);
}

static void
test_tab_and_obs_text_in_values_pass(void **state)
{
	(void)state;
	PASSES("GET / HTTP/1.1\r\nHost: x\r\nX:\ta\tb\xff\r\n\r\n");
}

static void
test_bare_lf_is_400(void **state)
{
	(void)state;
	REFUSED("GET / HTTP/1.1\nHost: x\n\n", HTTP_STRICT_BARE_LF, 400);
	REFUSED("GET / HTTP/1.1\r\nHost: x\n\r\n", HTTP_STRICT_BARE_LF, 400);
	REFUSED("GET / HTTP/1.1\r\nHost: x\r\n\n", HTTP_STRICT_BARE_LF, 400);
}

static void
test_bare_lf_is_refused_before_the_head_ends(void **state)
{
	struct http_strict_head res;

	(void)state;
	assert_int_equal(CHECK("GET / HTTP/1.1\nHo", &res),
	    HTTP_STRICT_REFUSE);
	assert_int_equal(res.reason, HTTP_STRICT_BARE_LF);
}

static void
test_host_missing_or_repeated_is_400(void **state)
{
	(void)state;
	REFUSED("GET / HTTP/1.1\r\n\r\n", HTTP_STRICT_HOST, 400);
	REFUSED("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	    HTTP_STRICT_HOST, 400);
	REFUSED("GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n",
	    HTTP_STRICT_HOST, 400);
	PASSES("GET / HTTP/1.0\r\n\r\n");
}

static void
test_expect_other_than_100_continue_is_417(void **state)
{
	struct http_strict_head res;

	(void)state;
	REFUSED("POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n",
	    HTTP_STRICT_EXPECT, 417);
	assert_int_equal(CHECK("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:"
	    " 3\r\nExpect: 100-Continue\r\n\r\n", &res), HTTP_STRICT_PASS);
	assert_int_equal(res.expect_continue, 1);
}

static void
test_body_over_the_route_limit_is_413_before_it_is_read(void **state)
{
	struct http_strict_head res;

	(void)state;
	/* no byte of the body has come: the head alone decides */
	REFUSED("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n"
	    "\r\n", HTTP_STRICT_BODY_TOO_LARGE, 413);
	REFUSED("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n"
	    "Expect: 100-continue\r\n\r\n", HTTP_STRICT_BODY_TOO_LARGE, 413);
	assert_int_equal(CHECK("POST /small HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 100\r\n\r\n", &res), HTTP_STRICT_PASS);
	assert_int_equal(res.body_max, TEST_LIMIT);
	assert_int_equal(CHECK("POST /big HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 100000\r\n\r\n", &res), HTTP_STRICT_PASS);
}

static void
test_target_the_route_refuses_is_400(void **state)
{
	(void)state;
	REFUSED("GET /refuse HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_STRICT_TARGET,
	    400);
	REFUSED("GET * HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_STRICT_TARGET, 400);
	REFUSED("GET ftp://a/ HTTP/1.1\r\nHost: x\r\n\r\n",
	    HTTP_STRICT_TARGET, 400);
	PASSES("GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n");
}

static void
test_methods_outside_the_list_are_501(void **state)
{
	(void)state;
	REFUSED("TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_STRICT_METHOD,
	    501);
	REFUSED("CONNECT a:1 HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_STRICT_METHOD,
	    501);
	REFUSED("BREW / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_STRICT_METHOD, 501);
	REFUSED("get / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_STRICT_METHOD, 501);
	REFUSED("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_STRICT_REQUEST_LINE,
	    400);
	PASSES("PATCH / HTTP/1.1\r\nHost: x\r\n\r\n");
	PASSES("OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n");
}

static void
test_versions_other_than_1_0_and_1_1_are_refused(void **state)
{
	(void)state;
	REFUSED("GET / HTTP/2.0\r\nHost: x\r\n\r\n", HTTP_STRICT_VERSION, 505);
	REFUSED("GET / HTTP/1.2\r\nHost: x\r\n\r\n", HTTP_STRICT_VERSION, 505);
	REFUSED("GET / HTTP/0.9\r\nHost: x\r\n\r\n", HTTP_STRICT_VERSION, 505);
	REFUSED("GET /\r\n\r\n", HTTP_STRICT_REQUEST_LINE, 400);
	REFUSED("GET / HTTP/1.10\r\nHost: x\r\n\r\n", HTTP_STRICT_REQUEST_LINE,
	    400);
	REFUSED("GET / HTTPS/1.1\r\nHost: x\r\n\r\n", HTTP_STRICT_REQUEST_LINE,
	    400);
}

static void
test_request_line_shape_is_strict(void **state)
{
	(void)state;
	REFUSED("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_STRICT_REQUEST_LINE,
	    400);
	REFUSED("GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
	    HTTP_STRICT_REQUEST_LINE, 400);
	REFUSED("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
	    HTTP_STRICT_REQUEST_LINE, 400);
	REFUSED("GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_STRICT_REQUEST_LINE,
	    400);
}

static void
test_long_request_line_is_414_and_long_head_431(void **state)
{
	char buf[2048];
	struct http_strict_head res;
	size_t n;

	(void)state;
	/* a line over max_line: refused before its end has come */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	assert_int_equal(check(buf, 300, &res), HTTP_STRICT_REFUSE);
	assert_int_equal(res.reason, HTTP_STRICT_URI_TOO_LONG);
	assert_int_equal(res.status, 414);
	/* a head over max_head in short header lines */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n");
	while (n + 8 < sizeof(buf)) {
		memcpy(buf + n, "X: 1234\r\n", 9);
		n += 9;
	}
	assert_int_equal(check(buf, n, &res), HTTP_STRICT_REFUSE);
	assert_int_equal(res.reason, HTTP_STRICT_HEAD_TOO_LARGE);
	assert_int_equal(res.status, 431);
	/* endless empty lines count against the head too */
	memset(buf, '\r', sizeof(buf));
	for (n = 1; n < sizeof(buf); n += 2)
		buf[n] = '\n';
	assert_int_equal(check(buf, sizeof(buf), &res), HTTP_STRICT_REFUSE);
	assert_int_equal(res.reason, HTTP_STRICT_HEAD_TOO_LARGE);
}

static void
test_reason_names_and_statuses_cover_every_reason(void **state)
{
	int r;

	(void)state;
	for (r = HTTP_STRICT_REQUEST_LINE; r < HTTP_STRICT_NREASONS; r++) {
		assert_string_not_equal(http_strict_reason_name(r), "none");
		assert_true((http_strict_reason_status(r) >= 400 &&
		    http_strict_reason_status(r) < 500) ||
		    http_strict_reason_status(r) == 501 ||
		    http_strict_reason_status(r) == 505);
		assert_non_null(http_strict_reason_text(r));
	}
	assert_string_equal(http_strict_reason_name(HTTP_STRICT_NREASONS),
	    "none");
}

/* ---- chunked bodies ---------------------------------------------------- */

static const char chunk_head[] = "POST /x HTTP/1.1\r\nHost: x\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

static void
test_chunked_body_end_is_found_and_the_rest_left(void **state)
{
	static const char body[] = "5\r\nhello\r\n0\r\n"
	    "\r\nGET / HTTP/1.1\r\n";
	struct http_strict_chunked c;
	enum http_strict_reason why;
	size_t used, i, total = 0;

	(void)state;
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 1000), 0);
	/* byte by byte up to the end, then the end */
	for (i = 0; i < sizeof(body) - 1; i++) {
		enum http_strict_verdict v = http_strict_chunked_feed(&c,
		    body + i, 1, &used, &why);

		total += used;
		if (v == HTTP_STRICT_PASS)
			break;
		assert_int_equal(v, HTTP_STRICT_MORE);
	}
	assert_int_equal(total, sizeof(body) - 1 - 16);
	assert_int_equal(c.body, 5);
	/* in one piece: stops at the same byte */
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 1000), 0);
	assert_int_equal(http_strict_chunked_feed(&c, body, sizeof(body) - 1,
	    &used, &why), HTTP_STRICT_PASS);
	assert_int_equal(used, sizeof(body) - 1 - 16);
}

static void
test_chunked_feed_of_nothing_needs_more(void **state)
{
	struct http_strict_chunked c;
	enum http_strict_reason why;
	size_t used = 7;

	(void)state;
	/* 0 bytes is the end of the stream to http-parser, which then
	 * answered 1 byte used: past the buffer */
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 1000), 0);
	assert_int_equal(http_strict_chunked_feed(&c, chunk_head +
	    sizeof(chunk_head) - 1, 0, &used, &why), HTTP_STRICT_MORE);
	assert_int_equal(used, 0);
}

static void
test_chunked_body_bad_size_is_refused(void **state)
{
	struct http_strict_chunked c;
	enum http_strict_reason why;
	size_t used;

	(void)state;
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 1000), 0);
	assert_int_equal(http_strict_chunked_feed(&c, "zz\r\n", 4, &used,
	    &why), HTTP_STRICT_REFUSE);
	assert_int_equal(why, HTTP_STRICT_CHUNKED);
}

static void
test_chunk_extensions_are_refused_but_not_semicolons_in_data(void **state)
{
	static const char ext[] = "5;a=b\r\nhello\r\n0\r\n\r\n";
	static const char last[] = "5\r\nhello\r\n0;a\r\n\r\n";
	static const char data[] = "5\r\nh;l;o\r\n0\r\n\r\n";
	struct http_strict_chunked c;
	enum http_strict_reason why;
	size_t used, i;

	(void)state;
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 1000), 0);
	assert_int_equal(http_strict_chunked_feed(&c, ext, sizeof(ext) - 1,
	    &used, &why), HTTP_STRICT_REFUSE);
	assert_int_equal(why, HTTP_STRICT_CHUNKED);
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 1000), 0);
	assert_int_equal(http_strict_chunked_feed(&c, last, sizeof(last) - 1,
	    &used, &why), HTTP_STRICT_REFUSE);
	assert_int_equal(why, HTTP_STRICT_CHUNKED);
	/* byte by byte, the data's ';' is data */
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 1000), 0);
	for (i = 0; i + 1 < sizeof(data) - 1; i++)
		assert_int_equal(http_strict_chunked_feed(&c, data + i, 1,
		    &used, &why), HTTP_STRICT_MORE);
	assert_int_equal(http_strict_chunked_feed(&c, data + i, 1, &used,
	    &why), HTTP_STRICT_PASS);
}

static void
test_chunked_trailer_fields_are_refused(void **state)
{
	static const char body[] = "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n";
	struct http_strict_chunked c;
	enum http_strict_reason why;
	size_t used;

	(void)state;
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 1000), 0);
	assert_int_equal(http_strict_chunked_feed(&c, body, sizeof(body) - 1,
	    &used, &why), HTTP_STRICT_REFUSE);
	assert_int_equal(why, HTTP_STRICT_CHUNKED);
}

static void
test_chunked_body_over_the_limit_is_413(void **state)
{
	static const char body[] = "20\r\n0123456789abcdef0123456789abcdef"
	    "\r\n0\r\n\r\n";
	struct http_strict_chunked c;
	enum http_strict_reason why;
	size_t used;

	(void)state;
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 31), 0);
	assert_int_equal(http_strict_chunked_feed(&c, body, sizeof(body) - 1,
	    &used, &why), HTTP_STRICT_REFUSE);
	assert_int_equal(why, HTTP_STRICT_BODY_TOO_LARGE);
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 32), 0);
	assert_int_equal(http_strict_chunked_feed(&c, body, sizeof(body) - 1,
	    &used, &why), HTTP_STRICT_PASS);
}

static void
test_chunked_framing_overhead_is_bounded(void **state)
{
	struct http_strict_chunked c;
	enum http_strict_reason why;
	enum http_strict_verdict v = HTTP_STRICT_MORE;
	size_t used, i;
	char ext[1024];

	(void)state;
	/* one data byte per 1 KiB of chunk size written with leading
	 * zeros, over and over */
	memset(ext, '0', sizeof(ext));
	memcpy(ext + sizeof(ext) - 6, "1\r\nx\r\n", 6);
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 1 << 20), 0);
	for (i = 0; i < 64 && v == HTTP_STRICT_MORE; i++)
		v = http_strict_chunked_feed(&c, ext, sizeof(ext), &used,
		    &why);
	assert_int_equal(v, HTTP_STRICT_MORE);
	assert_int_equal(http_strict_chunked_init(&c, chunk_head,
	    sizeof(chunk_head) - 1, 100), 0);
	for (i = 0; i < 64 && v == HTTP_STRICT_MORE; i++)
		v = http_strict_chunked_feed(&c, ext, sizeof(ext), &used,
		    &why);
	assert_int_equal(v, HTTP_STRICT_REFUSE);
	assert_int_equal(why, HTTP_STRICT_BODY_TOO_LARGE);
}

static void
test_chunked_init_refuses_a_head_without_chunked(void **state)
{
	struct http_strict_chunked c;
	static const char head[] = "POST / HTTP/1.1\r\nHost: x\r\n\r\n";

	(void)state;
	assert_int_equal(http_strict_chunked_init(&c, head, sizeof(head) - 1,
	    10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_get_passes_with_its_head_length),
		cmocka_unit_test(test_head_in_pieces_needs_more_then_passes),
		cmocka_unit_test(test_leading_empty_lines_are_skipped),
		cmocka_unit_test(
		    test_repeated_or_conflicting_content_length_is_400),
		cmocka_unit_test(
		    test_content_length_with_transfer_encoding_is_400),
		cmocka_unit_test(
		    test_transfer_encoding_other_than_chunked_is_501),
		cmocka_unit_test(test_chunked_in_any_case_passes),
		cmocka_unit_test(test_whitespace_before_colon_is_400),
		cmocka_unit_test(test_obs_fold_is_400),
		cmocka_unit_test(test_control_characters_are_400),
		cmocka_unit_test(test_tab_and_obs_text_in_values_pass),
		cmocka_unit_test(test_bare_lf_is_400),
		cmocka_unit_test(test_bare_lf_is_refused_before_the_head_ends),
		cmocka_unit_test(test_host_missing_or_repeated_is_400),
		cmocka_unit_test(test_expect_other_than_100_continue_is_417),
		cmocka_unit_test(
		    test_body_over_the_route_limit_is_413_before_it_is_read),
		cmocka_unit_test(test_target_the_route_refuses_is_400),
		cmocka_unit_test(test_methods_outside_the_list_are_501),
		cmocka_unit_test(
		    test_versions_other_than_1_0_and_1_1_are_refused),
		cmocka_unit_test(test_request_line_shape_is_strict),
		cmocka_unit_test(test_long_request_line_is_414_and_long_head_431),
		cmocka_unit_test(
		    test_reason_names_and_statuses_cover_every_reason),
		cmocka_unit_test(
		    test_chunked_body_end_is_found_and_the_rest_left),
		cmocka_unit_test(test_chunked_feed_of_nothing_needs_more),
		cmocka_unit_test(test_chunked_body_bad_size_is_refused),
		cmocka_unit_test(test_chunked_trailer_fields_are_refused),
		cmocka_unit_test(
		    test_chunk_extensions_are_refused_but_not_semicolons_in_data),
		cmocka_unit_test(test_chunked_body_over_the_limit_is_413),
		cmocka_unit_test(test_chunked_framing_overhead_is_bounded),
		cmocka_unit_test(
		    test_chunked_init_refuses_a_head_without_chunked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
