/*
 * fuzz_strict.c: the strict request-head check and the chunked-body
 * tracker in front of evhttp (bridge/http/strict.c, issue 16).  The
 * input is what a client sends on a connection: its first byte picks
 * where the bytes are cut in two, as they may arrive.  Properties:
 *   - incremental: the head checked with the first part (MORE) and then
 *     with all of it gets the verdict it gets from all of it at once;
 *   - a PASS points inside the input: the head ends within it, the
 *     target lies inside the head, a declared body within the route's
 *     limit (its limit from a table of three routes, one refused);
 *   - a refusal has a reason and a 4xx or 5xx status;
 *   - a chunked body, fed in the same two parts, ends at most at what
 *     was fed, and never takes more than the route allows.
 * Built only when bridge/http/strict.c exists (tests/fuzz/fuzz.mk).
 */
#include "tests/fuzz/fuzz.h"

#include "bridge/http/strict.h"

#define FUZZ_API_MAX	1024	/* /api/: a small limit to cross */
#define FUZZ_EST_MAX	65536

static int
fuzz_limit(void *arg, const char *target, size_t len, uint64_t *max)
{
	if (len >= 2 && memcmp(target, "/x", 2) == 0)
		return -1;		/* a target the routes refuse */
	*max = len >= 5 && memcmp(target, "/api/", 5) == 0 ? FUZZ_API_MAX :
	    FUZZ_EST_MAX;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct http_strict_limits lim = { 0, 0, fuzz_limit, NULL };
	struct http_strict_head a, b;
	struct http_strict_chunked c;
	enum http_strict_verdict va, vb, vc;
	enum http_strict_reason why;
	const char *buf;
	size_t cut, used, rest;

	if (len < 1)
		return 0;
	cut = len > 1 ? data[0] % len : 0;
	buf = (const char *)data + 1;
	len--;
	if (cut > len)
		cut = len;
	memset(&a, 0, sizeof(a));
	va = http_strict_head(buf, len, &lim, &a);
	memset(&b, 0, sizeof(b));
	if ((vb = http_strict_head(buf, cut, &lim, &b)) == HTTP_STRICT_MORE)
		vb = http_strict_head(buf, len, &lim, &b);
	/* a head complete in the first part may PASS or REFUSE there
	 * already; otherwise both readings agree */
	if (vb != HTTP_STRICT_MORE && va != HTTP_STRICT_MORE &&
	    !(b.head_len > 0 && b.head_len <= cut))
		FUZZ_CHECK(va == vb && a.reason == b.reason);
	if (va == HTTP_STRICT_REFUSE)
		FUZZ_CHECK(a.reason != HTTP_STRICT_NONE && a.status >= 400 &&
		    a.status < 600 && http_strict_reason_name(a.reason) != NULL);
	if (va != HTTP_STRICT_PASS)
		return 0;
	FUZZ_CHECK(a.head_len <= len && a.skip < a.head_len);
	FUZZ_CHECK(a.target >= buf && a.target + a.target_len <= buf +
	    a.head_len);
	if (a.body == HTTP_STRICT_BODY_LENGTH)
		FUZZ_CHECK(a.content_length <= a.body_max);
	if (a.body != HTTP_STRICT_BODY_CHUNKED ||
	    http_strict_chunked_init(&c, buf + a.skip, a.head_len - a.skip,
	    a.body_max) != 0)
		return 0;
	rest = len - a.head_len;
	used = 0;
	why = HTTP_STRICT_NONE;
	vc = http_strict_chunked_feed(&c, buf + a.head_len, rest / 2, &used,
	    &why);
	if (vc == HTTP_STRICT_MORE) {
		used = 0;
		vc = http_strict_chunked_feed(&c, buf + a.head_len + rest / 2,
		    rest - rest / 2, &used, &why);
		if (vc == HTTP_STRICT_PASS)
			FUZZ_CHECK(used <= rest - rest / 2);
	} else if (vc == HTTP_STRICT_PASS)
		FUZZ_CHECK(used <= rest / 2);
	if (vc == HTTP_STRICT_REFUSE)
		FUZZ_CHECK(why == HTTP_STRICT_CHUNKED ||
		    why == HTTP_STRICT_BODY_TOO_LARGE);
	FUZZ_CHECK(c.body <= c.max || vc == HTTP_STRICT_REFUSE);
	return 0;
}
