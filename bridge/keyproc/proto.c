/*
 * proto.c: the key process's framing and typed fields (keyproc.h).
 *
 * Header: u32 payload length, u16 operation, u16 status, network byte
 * order.  Payload fields: u64 (8 bytes, big-endian) and byte strings (u32
 * length then the bytes).  Every length is checked against what is left
 * before it is used, so a short or lying payload is an error, never a
 * read past the buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge/keyproc/keyproc.h"

static void
put_raw(struct keyproc_buf *b, const void *p, size_t len)
{
	size_t cap;
	uint8_t *n;

	if (b->err)
		return;
	if (len > KEYPROC_MSG_MAX || b->len + len > KEYPROC_MSG_MAX) {
		b->err = 1;
		return;
	}
	if (b->len + len > b->cap) {
		cap = b->cap == 0 ? 256 : b->cap;
		while (cap < b->len + len)
			cap *= 2;
		if ((n = realloc(b->p, cap)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = n;
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
}

void
keyproc_put_u64(struct keyproc_buf *b, uint64_t v)
{
	uint8_t x[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		x[i] = (uint8_t)v;
	put_raw(b, x, sizeof(x));
}

void
keyproc_put_bytes(struct keyproc_buf *b, const void *p, size_t len)
{
	uint8_t x[4];

	if (len > KEYPROC_MSG_MAX) {
		b->err = 1;
		return;
	}
	x[0] = (uint8_t)(len >> 24);
	x[1] = (uint8_t)(len >> 16);
	x[2] = (uint8_t)(len >> 8);
	x[3] = (uint8_t)len;
	put_raw(b, x, sizeof(x));
	put_raw(b, p, len);
}

void
keyproc_put_str(struct keyproc_buf *b, const char *s)
{
	keyproc_put_bytes(b, s, s != NULL ? strlen(s) : 0);
}

void
keyproc_buf_free(struct keyproc_buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	memset(b, 0, sizeof(*b));
}

uint64_t
keyproc_get_u64(struct keyproc_rd *r)
{
	uint64_t v = 0;

	if (r->err || r->len - r->off < 8) {
		r->err = 1;
		return 0;
	}
	for (int i = 0; i < 8; i++)
		v = v << 8 | r->p[r->off + (size_t)i];
	r->off += 8;
	return v;
}

const uint8_t *
keyproc_get_bytes(struct keyproc_rd *r, size_t *len)
{
	const uint8_t *p;
	size_t n;

	*len = 0;
	if (r->err || r->len - r->off < 4) {
		r->err = 1;
		return NULL;
	}
	p = r->p + r->off;
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    (size_t)p[3];
	r->off += 4;
	if (r->len - r->off < n) {
		r->err = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	*len = n;
	return p;
}

int
keyproc_get_str(struct keyproc_rd *r, char *out, size_t outlen)
{
	const uint8_t *p;
	size_t n;

	p = keyproc_get_bytes(r, &n);
	if (r->err || n >= outlen || (n > 0 && memchr(p, '\0', n) != NULL)) {
		r->err = 1;
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	if (n > 0)
		memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

char *
keyproc_get_strdup(struct keyproc_rd *r)
{
	const uint8_t *p;
	size_t n;
	char *s;

	p = keyproc_get_bytes(r, &n);
	if (r->err || (n > 0 && memchr(p, '\0', n) != NULL) ||
	    (s = malloc(n + 1)) == NULL) {
		r->err = 1;
		return NULL;
	}
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Writes all of p, retrying on EINTR and short writes.  0 or -1. */
static int
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes.  0; 1 at EOF before the first byte; -1 at EOF
 * after some (truncated) or on an error. */
static int
read_all(int fd, uint8_t *p, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = read(fd, p + got, len - got)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return got == 0 ? 1 : -1;
		got += (size_t)n;
	}
	return 0;
}

int
keyproc_send(int fd, uint16_t op, uint16_t status, const void *p, size_t len)
{
	uint8_t h[KEYPROC_HDR_LEN];

	if (len > KEYPROC_MSG_MAX)
		return -1;
	h[0] = (uint8_t)(len >> 24);
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
	h[4] = (uint8_t)(op >> 8);
	h[5] = (uint8_t)op;
	h[6] = (uint8_t)(status >> 8);
	h[7] = (uint8_t)status;
	if (write_all(fd, h, sizeof(h)) != 0 ||
	    (len > 0 && write_all(fd, p, len) != 0))
		return -1;
	return 0;
}

int
keyproc_recv(int fd, uint16_t *op, uint16_t *status, uint8_t **p,
    size_t *len, char *why, size_t whylen)
{
	uint8_t h[KEYPROC_HDR_LEN];
	size_t n;
	int rc;

	*p = NULL;
	*len = 0;
	if ((rc = read_all(fd, h, sizeof(h))) != 0) {
		if (rc < 0)
			snprintf(why, whylen, "truncated message header");
		return rc;
	}
	n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 |
	    (size_t)h[3];
	*op = (uint16_t)(h[4] << 8 | h[5]);
	*status = (uint16_t)(h[6] << 8 | h[7]);
	if (n > KEYPROC_MSG_MAX) {
		snprintf(why, whylen, "oversize message: %zu bytes, at most "
		    "%u", n, KEYPROC_MSG_MAX);
		return -1;
	}
	if (n == 0)
		return 0;
	if ((*p = malloc(n)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (read_all(fd, *p, n) != 0) {
		snprintf(why, whylen, "truncated message: fewer than the %zu "
		    "bytes its header announces", n);
		free(*p);
		*p = NULL;
		return -1;
	}
	*len = n;
	return 0;
}
