/*
 * server.h: the strict query strings (bridge/query.c).
 *
 * The rest of the server's interface (listeners, routes, replies,
 * server_query_str and server_query_u64) is declared in bridge.h; this
 * header holds what the handlers need to refuse a query as a whole.
 *
 * A query is application/x-www-form-urlencoded (WHATWG URL, "urlencoded
 * parsing"): name=value pairs joined by '&', '+' for a space, %XX escapes;
 * empty pairs ("a=1&&b=2", a trailing '&') are skipped and a pair without
 * '=' is a name with an empty value.  Stricter than WHATWG: a '%' must
 * start a two-hex-digit escape, a decoded name or value holds no NUL or
 * other control character, a value is at most SERVER_QUERY_VALUE_MAX
 * bytes, a name SERVER_QUERY_NAME_MAX, the whole query
 * SERVER_QUERY_MAX bytes in SERVER_QUERY_PARAMS pairs at most, and a
 * name appears once.
 */
#ifndef KEYBRIDGE_SERVER_H
#define KEYBRIDGE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>

#define SERVER_QUERY_MAX	2048	/* bytes of the raw query string */
#define SERVER_QUERY_PARAMS	16	/* name=value pairs in one query */
#define SERVER_QUERY_NAME_MAX	32	/* bytes of a decoded name */
#define SERVER_QUERY_VALUE_MAX	256	/* bytes of a decoded value */

/*
 * Checks the whole query of req against the rules above and the parameter
 * names a resource takes (names: NULL-terminated; NULL or empty: none).
 * Returns 0 when it passes; -1 with a one-line message in msg (msglen
 * bytes) that names the offending parameter (undecodable bytes shown as
 * %XX), for a 400.
 */
int server_query_check(struct evhttp_request *req, const char *const *names,
    char *msg, size_t msglen);

/* Strict unsigned decimal: digits only, at least one, no sign, no
 * overflow.  Returns 0 with *v set, or -1. */
int server_parse_u64(const char *s, uint64_t *v);

#endif
