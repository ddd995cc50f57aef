/*
 * strict.c: the strict request-head check and the chunked-body tracker
 * (strict.h), over Debian's http-parser.
 *
 * http_strict_head scans the bytes once, line by line, for what the
 * parser (built non-strict by Debian) lets through: bare LF, bare CR,
 * controls, obs-fold, an over-long request line or head.  When the blank
 * line that ends the head has arrived, the head alone goes through
 * http_parser_execute, whose callbacks look at each header as the parser
 * hands it over (names must be tokens; Content-Length, Transfer-Encoding,
 * Host and Expect as strict.h says), and the request line's shape, the
 * method and the version are checked against the parser's reading.
 */
#include <string.h>
#include <strings.h>

#include "bridge/http/strict.h"

#define STRICT_CL_DIGITS	19	/* a u64 Content-Length, no overflow */

struct strict_reason_ent {
	const char *name;
	int status;
	const char *text;
};

static const struct strict_reason_ent strict_reasons[HTTP_STRICT_NREASONS] = {
	[HTTP_STRICT_NONE] = { "none", 200, "no error" },
	[HTTP_STRICT_REQUEST_LINE] = { "request_line", 400,
	    "the request line is not METHOD SP TARGET SP HTTP/1.x" },
	[HTTP_STRICT_METHOD] = { "method", 501,
	    "method not implemented" },
	[HTTP_STRICT_VERSION] = { "version", 505,
	    "only HTTP/1.0 and HTTP/1.1 are served" },
	[HTTP_STRICT_TARGET] = { "target", 400,
	    "the request target is not a path or an http(s) URI" },
	[HTTP_STRICT_URI_TOO_LONG] = { "uri_too_long", 414,
	    "the request line is too long" },
	[HTTP_STRICT_HEAD_TOO_LARGE] = { "head_too_large", 431,
	    "the request head is too large" },
	[HTTP_STRICT_BARE_LF] = { "bare_lf", 400,
	    "a line ends in LF without CR" },
	[HTTP_STRICT_CONTROL_CHAR] = { "control_char", 400,
	    "a control character in the request head" },
	[HTTP_STRICT_OBS_FOLD] = { "obs_fold", 400,
	    "a header line starts with whitespace (obs-fold)" },
	[HTTP_STRICT_HEADER_NAME] = { "header_name", 400,
	    "a header name is not a token (whitespace before the colon?)" },
	[HTTP_STRICT_CONTENT_LENGTH] = { "content_length", 400,
	    "Content-Length is repeated or not a decimal number" },
	[HTTP_STRICT_CL_AND_TE] = { "cl_and_te", 400,
	    "Content-Length together with Transfer-Encoding" },
	[HTTP_STRICT_TRANSFER_ENCODING] = { "transfer_encoding", 501,
	    "only a single Transfer-Encoding: chunked is implemented" },
	[HTTP_STRICT_HOST] = { "host", 400,
	    "HTTP/1.1 needs exactly one Host header" },
	[HTTP_STRICT_EXPECT] = { "expect", 417,
	    "only Expect: 100-continue is understood" },
	[HTTP_STRICT_BODY_TOO_LARGE] = { "body_too_large", 413,
	    "the request body is over this resource's limit" },
	[HTTP_STRICT_CHUNKED] = { "chunked_body", 400,
	    "the chunked body is malformed, or has chunk extensions or "
	    "trailer fields" },
};

const char *
http_strict_reason_name(enum http_strict_reason r)
{
	return (unsigned)r < HTTP_STRICT_NREASONS ? strict_reasons[r].name :
	    "none";
}

int
http_strict_reason_status(enum http_strict_reason r)
{
	return (unsigned)r < HTTP_STRICT_NREASONS ?
	    strict_reasons[r].status : 400;
}

const char *
http_strict_reason_text(enum http_strict_reason r)
{
	return (unsigned)r < HTTP_STRICT_NREASONS ? strict_reasons[r].text :
	    "bad request";
}

/* ---- the line scan ------------------------------------------------------ */

/* RFC 9110 5.6.2 tchar. */
static int
strict_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static enum http_strict_verdict
strict_refuse(struct http_strict_head *res, enum http_strict_reason r)
{
	res->reason = r;
	res->status = http_strict_reason_status(r);
	return HTTP_STRICT_REFUSE;
}

/*
 * Scans buf from res->scanned for the blank line that ends the head.
 * MORE (res's scan state saved), PASS with res->skip and res->head_len
 * set, or REFUSE.
 */
static enum http_strict_verdict
strict_scan(const unsigned char *buf, size_t len, size_t max_head,
    size_t max_line, struct http_strict_head *res)
{
	size_t i, line_len;
	unsigned char c;

	for (i = res->scanned; i < len; i++) {
		c = buf[i];
		if (c == '\r') {
			if (i + 1 == len)
				break;		/* its LF may follow */
			if (buf[i + 1] != '\n')
				return strict_refuse(res,
				    HTTP_STRICT_CONTROL_CHAR);
			continue;
		}
		if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
			return strict_refuse(res, HTTP_STRICT_CONTROL_CHAR);
		if (c != '\n')
			continue;
		if (i == 0 || buf[i - 1] != '\r')
			return strict_refuse(res, HTTP_STRICT_BARE_LF);
		line_len = i - 1 - res->line_start;
		if (line_len == 0 && !res->seen_line) {
			/* RFC 9112 2.2: empty lines before a request line
			 * are skipped (a client's CRLF after a body) */
			res->skip = i + 1;
		} else if (line_len == 0) {
			res->head_len = i + 1;
			return HTTP_STRICT_PASS;
		} else if (!res->seen_line) {
			if (line_len > max_line)
				return strict_refuse(res,
				    HTTP_STRICT_URI_TOO_LONG);
			res->seen_line = 1;
		} else if (buf[res->line_start] == ' ' ||
		    buf[res->line_start] == '\t')
			return strict_refuse(res, HTTP_STRICT_OBS_FOLD);
		res->line_start = i + 1;
	}
	res->scanned = i;
	if (!res->seen_line && len - res->line_start > max_line)
		return strict_refuse(res, HTTP_STRICT_URI_TOO_LONG);
	if (len > max_head)
		return strict_refuse(res, HTTP_STRICT_HEAD_TOO_LARGE);
	return HTTP_STRICT_MORE;
}

/* ---- the parse ---------------------------------------------------------- */

/* What the parser's callbacks gather of one head. */
struct strict_parse {
	struct http_strict_head *res;
	const struct http_strict_limits *lim;
	const char *name, *value;	/* the header being read */
	size_t name_len, value_len;
	int in_value;
	int n_cl, n_te, n_host, n_expect;
	int url_seen;
	enum http_strict_reason why;	/* first refusal by a callback */
};

static int
strict_on_url(http_parser *p, const char *at, size_t len)
{
	struct strict_parse *sp = p->data;

	if (sp->url_seen) {		/* one piece: the head is contiguous */
		sp->res->target_len += len;
		return 0;
	}
	sp->url_seen = 1;
	sp->res->target = at;
	sp->res->target_len = len;
	return 0;
}

/* Trims optional whitespace (RFC 9110 5.5) off both ends. */
static void
strict_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static int
strict_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

/* One Content-Length value: 1 to STRICT_CL_DIGITS digits. */
static int
strict_content_length(const char *v, size_t len, uint64_t *n)
{
	size_t i;

	if (len == 0 || len > STRICT_CL_DIGITS)
		return -1;
	*n = 0;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		*n = *n * 10 + (uint64_t)(v[i] - '0');
	}
	return 0;
}

/* The header just read (name, value).  0, or -1 with sp->why set. */
static int
strict_header_done(struct strict_parse *sp)
{
	const char *v = sp->value;
	size_t i, vlen = sp->value_len;
	uint64_t n;

	for (i = 0; i < sp->name_len; i++)
		if (!strict_tchar((unsigned char)sp->name[i])) {
			sp->why = HTTP_STRICT_HEADER_NAME;
			return -1;
		}
	strict_trim(&v, &vlen);
	if (strict_is(sp->name, sp->name_len, "content-length")) {
		if (++sp->n_cl > 1 || strict_content_length(v, vlen, &n) != 0)
			sp->why = HTTP_STRICT_CONTENT_LENGTH;
		else
			sp->res->content_length = n;
	} else if (strict_is(sp->name, sp->name_len, "transfer-encoding")) {
		if (++sp->n_te > 1 || !strict_is(v, vlen, "chunked"))
			sp->why = HTTP_STRICT_TRANSFER_ENCODING;
	} else if (strict_is(sp->name, sp->name_len, "host")) {
		if (++sp->n_host > 1)
			sp->why = HTTP_STRICT_HOST;
	} else if (strict_is(sp->name, sp->name_len, "expect")) {
		if (++sp->n_expect > 1 || !strict_is(v, vlen, "100-continue"))
			sp->why = HTTP_STRICT_EXPECT;
		else
			sp->res->expect_continue = 1;
	}
	if (sp->n_cl > 0 && sp->n_te > 0 && sp->why == HTTP_STRICT_NONE)
		sp->why = HTTP_STRICT_CL_AND_TE;
	sp->name = sp->value = NULL;
	sp->name_len = sp->value_len = 0;
	sp->in_value = 0;
	return sp->why == HTTP_STRICT_NONE ? 0 : -1;
}

static int
strict_on_field(http_parser *p, const char *at, size_t len)
{
	struct strict_parse *sp = p->data;

	if (sp->in_value && strict_header_done(sp) != 0)
		return -1;
	if (sp->name == NULL)
		sp->name = at;
	sp->name_len += len;
	return 0;
}

static int
strict_on_value(http_parser *p, const char *at, size_t len)
{
	struct strict_parse *sp = p->data;

	if (sp->value == NULL)
		sp->value = at;
	sp->value_len += len;
	sp->in_value = 1;
	return 0;
}

static int
strict_on_headers(http_parser *p)
{
	struct strict_parse *sp = p->data;

	if (sp->name != NULL && strict_header_done(sp) != 0)
		return -1;
	return 0;
}

/* The methods that reach the handlers (they answer 405 where a route
 * does not take one). */
static int
strict_method_ok(unsigned m)
{
	return m == HTTP_GET || m == HTTP_HEAD || m == HTTP_POST ||
	    m == HTTP_PUT || m == HTTP_DELETE || m == HTTP_OPTIONS ||
	    m == HTTP_PATCH;
}

/* The refusal for a method the parser did not know: 501 for a token (an
 * extension method), 400 for anything else. */
static enum http_strict_reason
strict_bad_method(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len && line[i] != ' '; i++)
		if (!strict_tchar((unsigned char)line[i]))
			return HTTP_STRICT_REQUEST_LINE;
	return i > 0 && i < len ? HTTP_STRICT_METHOD :
	    HTTP_STRICT_REQUEST_LINE;
}

/* The parser's error, as a reason. */
static enum http_strict_reason
strict_parser_reason(enum http_errno e, const struct strict_parse *sp,
    const char *line, size_t len)
{
	switch (e) {
	case HPE_INVALID_METHOD:
		return strict_bad_method(line, len);
	case HPE_INVALID_URL:
		return HTTP_STRICT_TARGET;
	case HPE_INVALID_HEADER_TOKEN:
		return HTTP_STRICT_HEADER_NAME;
	case HPE_INVALID_CONTENT_LENGTH:
		return HTTP_STRICT_CONTENT_LENGTH;
	case HPE_UNEXPECTED_CONTENT_LENGTH:
		return sp->n_te > 0 ? HTTP_STRICT_CL_AND_TE :
		    HTTP_STRICT_CONTENT_LENGTH;
	case HPE_INVALID_TRANSFER_ENCODING:
		return HTTP_STRICT_TRANSFER_ENCODING;
	case HPE_LF_EXPECTED:
	case HPE_STRICT:
		return HTTP_STRICT_CONTROL_CHAR;
	case HPE_HEADER_OVERFLOW:
		return HTTP_STRICT_HEAD_TOO_LARGE;
	default:
		return HTTP_STRICT_REQUEST_LINE;
	}
}

/* The request line is exactly METHOD SP TARGET SP HTTP/D.D, the target
 * where the parser found it. */
static int
strict_line_shape(const char *line, size_t len, const struct http_strict_head
    *res)
{
	size_t mlen = (size_t)(res->target - line) - 1;
	const char *v;

	if (res->target <= line || res->target > line + len ||
	    line[mlen] != ' ' || mlen == 0 || memchr(line, ' ', mlen) != NULL)
		return -1;
	if (len != mlen + 1 + res->target_len + 9)
		return -1;
	v = res->target + res->target_len;
	return memcmp(v, " HTTP/", 6) == 0 && v[6] >= '0' && v[6] <= '9' &&
	    v[7] == '.' && v[8] >= '0' && v[8] <= '9' ? 0 : -1;
}

/* Origin-form or absolute-form with an http(s) scheme (RFC 9112 3.2). */
static int
strict_target_form(const char *t, size_t len)
{
	if (len > 0 && t[0] == '/')
		return 0;
	if (len > 7 && strncasecmp(t, "http://", 7) == 0)
		return 0;
	if (len > 8 && strncasecmp(t, "https://", 8) == 0)
		return 0;
	return -1;
}

/* What the parser read of a complete head: method, version, line, target,
 * Host, framing, the body's limit. */
static enum http_strict_reason
strict_semantics(const http_parser *p, const struct strict_parse *sp,
    const char *line, size_t line_len, struct http_strict_head *res)
{
	if (res->target == NULL || strict_line_shape(line, line_len, res) != 0)
		return HTTP_STRICT_REQUEST_LINE;
	if (!strict_method_ok(p->method))
		return HTTP_STRICT_METHOD;
	if (p->http_major != 1 || p->http_minor > 1)
		return HTTP_STRICT_VERSION;
	res->http_minor = p->http_minor;
	if (strict_target_form(res->target, res->target_len) != 0)
		return HTTP_STRICT_TARGET;
	if (p->http_minor == 1 && sp->n_host != 1)
		return HTTP_STRICT_HOST;
	if (p->http_minor == 0 && sp->n_te > 0)
		return HTTP_STRICT_TRANSFER_ENCODING;
	res->body = sp->n_te > 0 ? HTTP_STRICT_BODY_CHUNKED :
	    sp->n_cl > 0 && res->content_length > 0 ?
	    HTTP_STRICT_BODY_LENGTH : HTTP_STRICT_BODY_NONE;
	res->body_max = UINT64_MAX;
	if (sp->lim != NULL && sp->lim->body_limit != NULL &&
	    sp->lim->body_limit(sp->lim->arg, res->target, res->target_len,
	    &res->body_max) != 0)
		return HTTP_STRICT_TARGET;
	if (res->body == HTTP_STRICT_BODY_LENGTH &&
	    res->content_length > res->body_max)
		return HTTP_STRICT_BODY_TOO_LARGE;
	return HTTP_STRICT_NONE;
}

static void
strict_settings(http_parser_settings *st)
{
	http_parser_settings_init(st);
	st->on_url = strict_on_url;
	st->on_header_field = strict_on_field;
	st->on_header_value = strict_on_value;
	st->on_headers_complete = strict_on_headers;
}

enum http_strict_verdict
http_strict_head(const char *buf, size_t len,
    const struct http_strict_limits *lim, struct http_strict_head *res)
{
	struct strict_parse sp;
	http_parser p;
	http_parser_settings st;
	enum http_strict_verdict v;
	enum http_strict_reason why;
	const char *line;
	size_t max_head, max_line, line_len, n, hlen;

	max_head = lim != NULL && lim->max_head > 0 ? lim->max_head :
	    HTTP_STRICT_MAX_HEAD;
	max_line = lim != NULL && lim->max_line > 0 ? lim->max_line :
	    HTTP_STRICT_MAX_LINE;
	v = strict_scan((const unsigned char *)buf, len, max_head, max_line,
	    res);
	if (v != HTTP_STRICT_PASS)
		return v;
	if (res->head_len > max_head)
		return strict_refuse(res, HTTP_STRICT_HEAD_TOO_LARGE);
	line = buf + res->skip;
	hlen = res->head_len - res->skip;
	line_len = (size_t)((const char *)memchr(line, '\r', hlen) - line);

	memset(&sp, 0, sizeof(sp));
	sp.res = res;
	sp.lim = lim;
	strict_settings(&st);
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &sp;
	n = http_parser_execute(&p, &st, line, hlen);
	/* the parser checks the framing headers together at the head's
	 * end, before the last header reaches strict_on_headers */
	if (sp.why == HTTP_STRICT_NONE && sp.name != NULL &&
	    (HTTP_PARSER_ERRNO(&p) == HPE_UNEXPECTED_CONTENT_LENGTH ||
	    HTTP_PARSER_ERRNO(&p) == HPE_INVALID_TRANSFER_ENCODING))
		(void)strict_header_done(&sp);
	if (sp.why != HTTP_STRICT_NONE)
		return strict_refuse(res, sp.why);
	if (HTTP_PARSER_ERRNO(&p) != HPE_OK || n != hlen)
		return strict_refuse(res, strict_parser_reason(
		    HTTP_PARSER_ERRNO(&p), &sp, line, line_len));
	if ((why = strict_semantics(&p, &sp, line, line_len, res)) !=
	    HTTP_STRICT_NONE)
		return strict_refuse(res, why);
	return HTTP_STRICT_PASS;
}

/* ---- chunked bodies ----------------------------------------------------- */

/* A chunk extension (";name=value") in the framing bytes from c->cursor
 * up to end: evhttp 2.1 cannot parse them (it answers 413), so they are
 * refused as malformed.  The chunk data itself is skipped by the caller,
 * so a ';' in these bytes can only start an extension. */
static int
strict_chunk_ext(struct http_strict_chunked *c, const char *end)
{
	int ext = c->cursor != NULL && end > c->cursor &&
	    memchr(c->cursor, ';', (size_t)(end - c->cursor)) != NULL;

	c->cursor = end;
	return ext;
}

static int
strict_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_strict_chunked *c = p->data;

	if (strict_chunk_ext(c, at))
		return -1;
	c->cursor = at + len;
	c->body += len;
	return c->body > c->max ? -1 : 0;
}

/* A trailer field: evhttp 2.1 answers a chunked body with trailers 413
 * (HTML), so they are refused here, as malformed. */
static int
strict_on_trailer(http_parser *p, const char *at, size_t len)
{
	struct http_strict_chunked *c = p->data;

	return c->in_body ? -1 : 0;
}

static int
strict_on_chunked_head(http_parser *p)
{
	struct http_strict_chunked *c = p->data;

	c->in_body = 1;
	return 0;
}

static int
strict_on_complete(http_parser *p)
{
	struct http_strict_chunked *c = p->data;

	c->done = 1;
	http_parser_pause(p, 1);	/* stop at the message's end */
	return 0;
}

static void
strict_chunked_settings(http_parser_settings *st)
{
	http_parser_settings_init(st);
	st->on_body = strict_on_body;
	st->on_header_field = strict_on_trailer;
	st->on_headers_complete = strict_on_chunked_head;
	st->on_message_complete = strict_on_complete;
}

int
http_strict_chunked_init(struct http_strict_chunked *c, const char *head,
    size_t head_len, uint64_t max)
{
	http_parser_settings st;
	size_t n;

	memset(c, 0, sizeof(*c));
	c->max = max;
	strict_chunked_settings(&st);
	http_parser_init(&c->p, HTTP_REQUEST);
	c->p.data = c;
	n = http_parser_execute(&c->p, &st, head, head_len);
	if (n != head_len || HTTP_PARSER_ERRNO(&c->p) != HPE_OK ||
	    !(c->p.flags & F_CHUNKED) || c->done)
		return -1;
	return 0;
}

enum http_strict_verdict
http_strict_chunked_feed(struct http_strict_chunked *c, const char *buf,
    size_t len, size_t *used, enum http_strict_reason *reason)
{
	http_parser_settings st;
	uint64_t raw_max;
	size_t n;

	*used = 0;
	*reason = HTTP_STRICT_NONE;
	if (c->done)
		return HTTP_STRICT_PASS;
	/* http_parser_execute takes 0 bytes as the end of the stream, and
	 * answers it 1 in a chunked body (found by fuzzing) */
	if (len == 0)
		return HTTP_STRICT_MORE;
	strict_chunked_settings(&st);
	c->cursor = buf;
	n = http_parser_execute(&c->p, &st, buf, len);
	if (n > len)
		n = len;
	c->raw += n;
	*used = n;
	if (strict_chunk_ext(c, buf + n) || (c->body <= c->max &&
	    HTTP_PARSER_ERRNO(&c->p) == HPE_CB_body)) {
		c->cursor = NULL;
		*reason = HTTP_STRICT_CHUNKED;
		return HTTP_STRICT_REFUSE;
	}
	c->cursor = NULL;
	if (c->done)
		return HTTP_STRICT_PASS;	/* paused at the end */
	if (c->body > c->max) {
		*reason = HTTP_STRICT_BODY_TOO_LARGE;
		return HTTP_STRICT_REFUSE;
	}
	if (HTTP_PARSER_ERRNO(&c->p) != HPE_OK) {
		*reason = HTTP_STRICT_CHUNKED;
		return HTTP_STRICT_REFUSE;
	}
	raw_max = c->max > (UINT64_MAX - HTTP_STRICT_CHUNK_SLACK) / 2 ?
	    UINT64_MAX : 2 * c->max + HTTP_STRICT_CHUNK_SLACK;
	if (c->raw > raw_max) {
		*reason = HTTP_STRICT_BODY_TOO_LARGE;
		return HTTP_STRICT_REFUSE;
	}
	return HTTP_STRICT_MORE;
}
