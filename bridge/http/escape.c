/*
 * escape.c: client bytes made safe to echo in a JSON error message
 * (server_escape, http.h).
 *
 * jansson refuses a string that is not UTF-8 (json_pack returns NULL), so
 * an echoed path such as "/\xff", or one cut in the middle of a character
 * by a "%.200s", turned a 404 into a 500.  Here every well-formed UTF-8
 * character (RFC 3629: shortest form, no surrogates, at most U+10FFFF) is
 * kept, every other byte and every control character becomes %XX, and
 * the copy stops between characters when the room runs out.  Also the
 * request log's copies (server_log_copy) and method names.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "bridge/http/http.h"

#define ESCAPE_XX	3	/* bytes of "%XX" */

/* Bytes of the well-formed UTF-8 character at s (n bytes left), or 0. */
static size_t
escape_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

size_t
server_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, k;

	if (dstlen == 0)
		return 0;
	while (i < srclen) {
		k = escape_utf8_len(s + i, srclen - i);
		if (k == 1 && (s[i] < 0x20 || s[i] == 0x7f))
			k = 0;
		if (k == 0) {		/* one byte as %XX */
			if (o + ESCAPE_XX >= dstlen)
				break;
			snprintf(dst + o, ESCAPE_XX + 1, "%%%02X", s[i]);
			o += ESCAPE_XX;
			i++;
			continue;
		}
		if (o + k >= dstlen)
			break;
		memcpy(dst + o, s + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
	return o;
}

/* See http.h. */
const char *
server_method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:	 return "GET";
	case EVHTTP_REQ_POST:	 return "POST";
	case EVHTTP_REQ_HEAD:	 return "HEAD";
	case EVHTTP_REQ_PUT:	 return "PUT";
	case EVHTTP_REQ_DELETE:	 return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE:	 return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH:	 return "PATCH";
	}
	return "?";
}

/* See http.h. */
void
server_log_copy(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < dstlen && src[i] != '\0'; i++)
		dst[i] = (src[i] > 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}
