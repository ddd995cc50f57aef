/*
 * strict.h: the strict check of an HTTP/1.1 request head (RFC 9112) that
 * runs in front of evhttp on both listeners (front.c), and the tracker of
 * a chunked body's end.  Pure functions over bytes: no libevent, no I/O,
 * no allocation, so a fuzzer can drive them (tests/fuzz/).
 *
 * The grammar is Debian's http-parser (nodejs http-parser 2.9,
 * libhttp-parser-dev).  Debian builds it with HTTP_PARSER_STRICT=0, so it
 * takes a space before a header's colon as part of the name, bare LF line
 * ends, obs-fold, "Transfer-Encoding: gzip, chunked", two spaces in the
 * request line and any HTTP/x.y; those checks, the method list, Host and
 * Expect are made here over the same bytes.  What the parser does refuse
 * (a repeated or invalid Content-Length, Content-Length with chunked, a
 * coding after chunked, NUL and other controls, bad chunk sizes) keeps
 * its verdict, named by the reasons below.
 *
 * A head is refused when:
 *   - a line ends in a bare LF (bare_lf) or a CR is not followed by LF, or
 *     a name, value or the request line holds a control character other
 *     than HT, or DEL (control_char);
 *   - a header line starts with a space or tab: obs-fold (obs_fold);
 *   - a name is not a token, e.g. "Content-Length :" (header_name);
 *   - Content-Length is repeated, conflicting or not plain digits
 *     (content_length), or comes with Transfer-Encoding (cl_and_te);
 *   - Transfer-Encoding is anything but one "chunked" (transfer_encoding,
 *     501), or is sent by an HTTP/1.0 client;
 *   - Host is missing on HTTP/1.1 or repeated (host);
 *   - Expect is anything but "100-continue" (expect, 417);
 *   - the method is not GET, HEAD, POST, PUT, DELETE, OPTIONS or PATCH
 *     (method, 501); the version is not HTTP/1.0 or 1.1 (version, 505);
 *     the request line is not METHOD SP TARGET SP HTTP/D.D (request_line);
 *     the target is not origin-form ("/...") or absolute-form
 *     ("http[s]://...") or the caller refuses it (target);
 *   - the request line is over max_line bytes (uri_too_long, 414) or the
 *     head over max_head (head_too_large, 431);
 *   - Content-Length is over the route's limit (body_too_large, 413): the
 *     caller's body_limit callback names the limit for the target.
 */
#ifndef KEYBRIDGE_HTTP_STRICT_H
#define KEYBRIDGE_HTTP_STRICT_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#define HTTP_STRICT_MAX_HEAD	(16 * 1024)	/* bytes of a request head */
#define HTTP_STRICT_MAX_LINE	(8 * 1024)	/* bytes of a request line */
/* A chunked body may carry this much framing (sizes, extensions, CRLFs)
 * beyond twice its limit before it is refused as too large. */
#define HTTP_STRICT_CHUNK_SLACK	(16 * 1024)

/* Why a request was refused; HTTP_STRICT_NONE when it was not.  The names
 * (http_strict_reason_name) are the metrics' labels. */
enum http_strict_reason {
	HTTP_STRICT_NONE,
	HTTP_STRICT_REQUEST_LINE,
	HTTP_STRICT_METHOD,
	HTTP_STRICT_VERSION,
	HTTP_STRICT_TARGET,
	HTTP_STRICT_URI_TOO_LONG,
	HTTP_STRICT_HEAD_TOO_LARGE,
	HTTP_STRICT_BARE_LF,
	HTTP_STRICT_CONTROL_CHAR,
	HTTP_STRICT_OBS_FOLD,
	HTTP_STRICT_HEADER_NAME,
	HTTP_STRICT_CONTENT_LENGTH,
	HTTP_STRICT_CL_AND_TE,
	HTTP_STRICT_TRANSFER_ENCODING,
	HTTP_STRICT_HOST,
	HTTP_STRICT_EXPECT,
	HTTP_STRICT_BODY_TOO_LARGE,
	HTTP_STRICT_CHUNKED,
	HTTP_STRICT_NREASONS
};

enum http_strict_verdict {
	HTTP_STRICT_MORE,	/* no complete head yet, nothing wrong so far */
	HTTP_STRICT_PASS,	/* a complete, clean head */
	HTTP_STRICT_REFUSE	/* res->reason, res->status */
};

enum http_strict_body {
	HTTP_STRICT_BODY_NONE,
	HTTP_STRICT_BODY_LENGTH,	/* content_length bytes */
	HTTP_STRICT_BODY_CHUNKED
};

struct http_strict_limits {
	size_t max_head;		/* bytes; 0: HTTP_STRICT_MAX_HEAD */
	size_t max_line;		/* bytes; 0: HTTP_STRICT_MAX_LINE */
	/* The body limit of the route target (len bytes, not terminated)
	 * goes to *max; 0, or -1 when the target is refused (400).  NULL:
	 * no limit. */
	int (*body_limit)(void *arg, const char *target, size_t len,
	    uint64_t *max);
	void *arg;
};

/* The verdict on one head.  Zero it before the first call for a head. */
struct http_strict_head {
	enum http_strict_reason reason;
	int status;			/* the answer to a refusal */
	size_t skip;			/* empty lines before the request line */
	size_t head_len;		/* bytes from buf, blank line included */
	enum http_strict_body body;
	uint64_t content_length;
	uint64_t body_max;		/* the route's limit (UINT64_MAX: none) */
	int expect_continue;		/* "Expect: 100-continue" */
	int http_minor;			/* HTTP/1.x */
	const char *target;		/* into buf, target_len bytes */
	size_t target_len;
	/* the scan's progress between calls (MORE): bytes checked, where
	 * the current line starts, whether the request line was seen */
	size_t scanned, line_start;
	int seen_line;
};

/*
 * Checks the request head at the start of buf (len bytes, the head and
 * maybe more).  res must be zeroed for a new head; after MORE, call again
 * with the same bytes and more, res as it was left.  PASS fills res (the
 * head is buf[skip, head_len)), REFUSE sets res->reason and res->status.
 * lim may be NULL (the defaults, no body limit).
 */
enum http_strict_verdict http_strict_head(const char *buf, size_t len,
    const struct http_strict_limits *lim, struct http_strict_head *res);

/* The metrics' label of a reason ("bare_lf"); "none" out of range. */
const char *http_strict_reason_name(enum http_strict_reason r);
/* The status a reason is answered with (400, 413, 414, 417, 431, 501,
 * 505). */
int http_strict_reason_status(enum http_strict_reason r);
/* A one-line explanation of a reason, for the error answer. */
const char *http_strict_reason_text(enum http_strict_reason r);

/* Follows a chunked body to its end (the last chunk and trailers). */
struct http_strict_chunked {
	http_parser p;
	uint64_t body;			/* decoded bytes so far */
	uint64_t raw;			/* bytes fed since the head */
	uint64_t max;			/* decoded bytes allowed */
	int in_body;			/* past the head */
	const char *cursor;		/* during a feed: framing bytes from */
	int done;
};

/* Starts c on the head of a PASSed chunked request (head, head_len bytes
 * from its request line) with the route's limit max.  0, or -1 when the
 * head does not parse as a chunked request. */
int http_strict_chunked_init(struct http_strict_chunked *c, const char *head,
    size_t head_len, uint64_t max);
/*
 * Feeds len bytes of the body.  MORE: all taken, the body goes on.  PASS:
 * the body ended after *used bytes (the rest is the next request).
 * REFUSE: *reason is HTTP_STRICT_CHUNKED (bad framing, or a chunk
 * extension or trailer field, which evhttp 2.1 cannot take) or
 * HTTP_STRICT_BODY_TOO_LARGE.
 */
enum http_strict_verdict http_strict_chunked_feed(struct http_strict_chunked *c,
    const char *buf, size_t len, size_t *used,
    enum http_strict_reason *reason);

#endif
