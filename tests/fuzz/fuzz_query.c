/*
 * fuzz_query.c: the API's strict query strings (bridge/http/query.c).
 * The input is a request-target as a client sends it; evhttp's own URI
 * parser splits it, as evhttp does for a request, and the query goes
 * through server_query_check_str against the names one resource takes
 * (/api/v1/keys's).  Properties: a refusal always has a message, and
 * that message is valid UTF-8 without control characters (it is echoed
 * in the JSON answer); every value the check passes for a numeric name
 * parses or is refused by server_parse_u64 without overflow.
 */
#include "tests/fuzz/fuzz.h"

#include <event2/http.h>

#include "bridge/http/http.h"

static const char *const fuzz_names[] = { "account", "status", "after",
    "limit", "profile", NULL };

/* 1 when s is printable ASCII only (qshow escapes everything else). */
static int
fuzz_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *target = fuzz_cstr(data, len), msg[512];
	struct evhttp_uri *u;
	uint64_t v;

	/* the raw bytes as a query, then as a whole request-target */
	msg[0] = '\0';
	if (server_query_check_str(target, fuzz_names, msg, sizeof(msg)) != 0)
		FUZZ_CHECK(msg[0] != '\0' && fuzz_printable(msg));
	msg[0] = '\0';
	if (server_query_check_str(target, NULL, msg, sizeof(msg)) != 0)
		FUZZ_CHECK(msg[0] != '\0' && fuzz_printable(msg));
	if ((u = evhttp_uri_parse_with_flags(target, 0)) != NULL) {
		msg[0] = '\0';
		if (server_query_check_str(evhttp_uri_get_query(u),
		    fuzz_names, msg, sizeof(msg)) != 0)
			FUZZ_CHECK(msg[0] != '\0' && fuzz_printable(msg));
		evhttp_uri_free(u);
	}
	if (server_parse_u64(target, &v) == 0)
		FUZZ_CHECK(target[0] != '\0' &&
		    strspn(target, "0123456789") == strlen(target));
	free(target);
	return 0;
}
