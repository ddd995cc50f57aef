/*
 * b64.c: base64 as EST carries it (RFC 7030 4.1.3, RFC 8951), through
 * OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock.  Output is conservative
 * (lines of 64, LF or CRLF); input is tolerant of line breaks and blanks but not
 * of anything else.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "est/est_int.h"

#define EST_B64_LINE_CHARS 64	/* EST_B64_LINE_BYTES / 3 * 4 */
#define EST_B64_MAX_PAD    2

/* Base64 lines of 64 + eol; see est_int.h. */
char *
est_b64_lines(const unsigned char *der, size_t derlen, size_t *len,
    const char *eol)
{
	size_t eollen = strlen(eol);

	char *b64 = NULL, *p;
	size_t lines, off, chunk;
	int n;

	if (der == NULL && derlen > 0)
		return NULL;
	lines = (derlen + EST_B64_LINE_BYTES - 1) / EST_B64_LINE_BYTES;
	if (eollen > 2 || lines > (SIZE_MAX - 1) / (EST_B64_LINE_CHARS + 2))
		return NULL;
	if ((b64 = malloc(lines * (EST_B64_LINE_CHARS + 2) + 1)) == NULL)
		return NULL;
	p = b64;
	for (off = 0; off < derlen; off += chunk) {
		chunk = derlen - off < EST_B64_LINE_BYTES ? derlen - off :
		    EST_B64_LINE_BYTES;
		/* Writes 4 * ceil(chunk / 3) characters and a NUL. */
		n = EVP_EncodeBlock((unsigned char *)p, der + off, (int)chunk);
		if (n <= 0) {
			free(b64);
			return NULL;
		}
		p += n;
		memcpy(p, eol, eollen);
		p += eollen;
	}
	*p = '\0';
	if (len != NULL)
		*len = (size_t)(p - b64);
	return b64;
}

/* Cleanse and free; NULL-safe. */
void
est_b64_lines_free(char *b64)
{
	if (b64 == NULL)
		return;
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
}

static int
est_b64_alphabet(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static int
est_b64_blank(unsigned char c)
{
	return c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

/* Strict padded base64, optionally ignoring blanks; see est_int.h. */
int
est_b64_decode(const char *in, size_t inlen, int skip_ws,
    unsigned char *out, size_t outcap, size_t *outlen)
{
	char *clean = NULL;
	size_t i, n = 0, pad = 0;
	int got, rc = -1;

	if (in == NULL || out == NULL || outlen == NULL || inlen > INT_MAX)
		return -1;
	if ((clean = malloc(inlen + 1)) == NULL)
		return -1;
	for (i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (skip_ws && est_b64_blank(c))
			continue;
		if (c == '=')
			pad++;
		else if (!est_b64_alphabet(c) || pad > 0)
			goto out;	/* a stranger, or data after '=' */
		clean[n++] = (char)c;
	}
	if (n == 0 || n % 4 != 0 || pad > EST_B64_MAX_PAD ||
	    n / 4 * 3 > outcap)
		goto out;
	/* EVP_DecodeBlock counts the pad as zero bytes: take them off. */
	if ((got = EVP_DecodeBlock(out, (unsigned char *)clean, (int)n)) < 0 ||
	    (size_t)got != n / 4 * 3)
		goto out;
	*outlen = (size_t)got - pad;
	rc = 0;
out:
	OPENSSL_cleanse(clean, inlen + 1);
	free(clean);
	return rc;
}
