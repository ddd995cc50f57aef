/*
 * query.c: the strict query strings of the API (see http.h): parsing
 * application/x-www-form-urlencoded queries with every length bounded,
 * refusing what is malformed, repeated or unknown by name, and reading
 * one parameter as text or as an unsigned integer.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "ledger/ledger.h"
#include "bridge/http/http.h"

#define QUERY_ERRMSG 512	/* bytes of a refusal's reason */

/* See http.h. */
int
server_parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;
	unsigned d;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* ---- query strings (http.h) ------------------------------------------ */

#define SERVER_QSHOW	48	/* bytes of a parameter name in a message */

/* One decoded name=value pair of a query. */
struct server_qpair {
	char name[SERVER_QUERY_NAME_MAX + 1];
	char value[SERVER_QUERY_VALUE_MAX + 1];
};

struct server_query {
	struct server_qpair p[SERVER_QUERY_PARAMS];
	size_t n;
};

/* Decodes src[0..n) ('+' is a space, %XX an octet) into dst, dstlen
 * bytes with the NUL.  Returns 0; -1 for a '%' that does not start an
 * escape or a decoded control character (NUL included); -2 when the
 * result does not fit. */
static int
server_qdecode(const char *src, size_t n, char *dst, size_t dstlen)
{
	size_t i, o = 0;
	int c, hi, lo;

	for (i = 0; i < n; i++) {
		c = (unsigned char)src[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (n - i < 3)
				return -1;
			if ((hi = ledger_hexval((unsigned char)src[i + 1])) < 0 ||
			    (lo = ledger_hexval((unsigned char)src[i + 2])) < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (o + 1 >= dstlen)
			return -2;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

/* s[0..n) for a message: printable ASCII as it is, other octets as %XX,
 * cut with "..." when it does not fit outlen (at least 8) bytes: the
 * message goes into JSON, which needs valid UTF-8. */
static void
server_qshow(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;
	int c;

	for (i = 0; i < n; i++) {
		if (o + 7 >= outlen) {		/* %XX, then "..." and NUL */
			memcpy(out + o, "...", 4);
			return;
		}
		c = (unsigned char)s[i];
		if (c > 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else {
			snprintf(out + o, 4, "%%%02X", c);
			o += 3;
		}
	}
	out[o] = '\0';
}

/* req's raw query string, or NULL when it has none. */
static const char *
server_query_of(struct evhttp_request *req)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);

	return u != NULL ? evhttp_uri_get_query(u) : NULL;
}

/* Splits and decodes the raw query s (NULL: none) into q (http.h has the
 * rules).  Returns 0, or -1 with a message naming the offending pair in
 * msg. */
static int
server_query_parse(const char *s, struct server_query *q, char *msg,
    size_t msglen)
{
	const char *end, *eq, *amp;
	char show[SERVER_QSHOW + 4];
	struct server_qpair *p;
	size_t len;
	int rc;

	q->n = 0;
	if (s == NULL)
		return 0;
	/* Pair by pair first, so that an overlong value is refused by its
	 * name; evhttp bounds the request line (SERVER_MAX_HEADERS). */
	len = strlen(s);
	for (end = s + len; s < end; s = amp + 1) {
		if ((amp = memchr(s, '&', (size_t)(end - s))) == NULL)
			amp = end;
		if (amp == s)
			continue;		/* an empty pair: "a=1&&b=2" */
		if (q->n == SERVER_QUERY_PARAMS) {
			snprintf(msg, msglen, "more than %d query parameters",
			    SERVER_QUERY_PARAMS);
			return -1;
		}
		p = &q->p[q->n];
		if ((eq = memchr(s, '=', (size_t)(amp - s))) == NULL)
			eq = amp;
		if (eq == s) {
			server_qshow(s, (size_t)(amp - s), show, sizeof(show));
			snprintf(msg, msglen, "a query parameter without a "
			    "name: %s", show);
			return -1;
		}
		if ((rc = server_qdecode(s, (size_t)(eq - s), p->name,
		    sizeof(p->name))) != 0) {
			server_qshow(s, (size_t)(eq - s), show, sizeof(show));
			snprintf(msg, msglen, rc == -2 ? "unknown parameter %s "
			    "(a name is at most %d bytes)" : "parameter name %s: "
			    "bad %%-escape or a control character", show,
			    SERVER_QUERY_NAME_MAX);
			return -1;
		}
		p->value[0] = '\0';
		if (eq < amp && (rc = server_qdecode(eq + 1,
		    (size_t)(amp - eq - 1), p->value, sizeof(p->value))) != 0) {
			server_qshow(p->name, strlen(p->name), show,
			    sizeof(show));
			if (rc == -2)
				snprintf(msg, msglen, "%s is over %d bytes", show,
				    SERVER_QUERY_VALUE_MAX);
			else
				snprintf(msg, msglen, "%s: bad %%-escape, NUL or "
				    "control character in the value", show);
			return -1;
		}
		q->n++;
	}
	if (len > SERVER_QUERY_MAX) {
		snprintf(msg, msglen, "the query string is over %d bytes",
		    SERVER_QUERY_MAX);
		return -1;
	}
	return 0;
}

/* See http.h. */
int
server_query_check(struct evhttp_request *req, const char *const *names,
    char *msg, size_t msglen)
{
	return server_query_check_str(server_query_of(req), names, msg,
	    msglen);
}

/* See http.h. */
int
server_query_check_str(const char *query, const char *const *names,
    char *msg, size_t msglen)
{
	struct server_query q;
	char show[SERVER_QSHOW + 4], takes[256];
	size_t i, j, o;
	int known;

	if (server_query_parse(query, &q, msg, msglen) != 0)
		return -1;
	for (i = 0; i < q.n; i++) {
		server_qshow(q.p[i].name, strlen(q.p[i].name), show,
		    sizeof(show));
		for (j = 0; j < i; j++)
			if (strcmp(q.p[j].name, q.p[i].name) == 0) {
				snprintf(msg, msglen, "%s is given more than "
				    "once", show);
				return -1;
			}
		known = 0;
		for (j = 0; names != NULL && names[j] != NULL; j++)
			if (strcmp(names[j], q.p[i].name) == 0)
				known = 1;
		if (known)
			continue;
		o = (size_t)snprintf(takes, sizeof(takes), "%s",
		    names == NULL || names[0] == NULL ? "no parameters" : "");
		for (j = 0; names != NULL && names[j] != NULL &&
		    o < sizeof(takes); j++)
			o += (size_t)snprintf(takes + o, sizeof(takes) - o,
			    "%s%s", j > 0 ? ", " : "", names[j]);
		snprintf(msg, msglen, "unknown parameter %s: this resource "
		    "takes %s", show, takes);
		return -1;
	}
	return 0;
}

int
server_query_str(struct evhttp_request *req, const char *name, char *buf,
    size_t len)
{
	struct server_query q;
	const struct server_qpair *found = NULL;
	char msg[QUERY_ERRMSG];
	size_t i;

	if (server_query_parse(server_query_of(req), &q, msg,
	    sizeof(msg)) != 0)
		return -1;
	for (i = 0; i < q.n; i++) {
		if (strcmp(q.p[i].name, name) != 0)
			continue;
		if (found != NULL)
			return -1;		/* given twice: which one? */
		found = &q.p[i];
	}
	if (found == NULL)
		return 1;
	if (strlen(found->value) >= len)
		return -1;
	memcpy(buf, found->value, strlen(found->value) + 1);
	return 0;
}

int
server_query_u64(struct evhttp_request *req, const char *name,
    uint64_t min, uint64_t max, uint64_t *v)
{
	char buf[32];
	uint64_t x;
	int rc = server_query_str(req, name, buf, sizeof(buf));

	if (rc != 0)
		return rc;
	if (server_parse_u64(buf, &x) != 0 || x < min || x > max)
		return -1;
	*v = x;
	return 0;
}
