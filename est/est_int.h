/*
 * est_int.h: helpers shared by the files of est/ only (docs/design.md layout
 * rules: never included from outside the folder).
 */
#ifndef KEYBRIDGE_EST_INT_H
#define KEYBRIDGE_EST_INT_H

#include <stddef.h>

#include <openssl/x509.h>

#define EST_B64_LINE_BYTES 48	/* input bytes per 64-character line */

#define EST_EOL_BODY "\n"		/* a plain HTTP body: what base64(1) reads */
#define EST_EOL_MIME "\r\n"	/* inside multipart/mixed (RFC 2046) */

/* Base64 of der in lines of 64 characters, each ending in eol (RFC 7030
 * 4.1.3's "base64 with line breaks"; RFC 2045 6.8 allows at most 76).
 * Bodies use LF: RFC 8951 has receivers take any line break, and common
 * tools (GNU base64 -d) refuse CR; MIME parts keep CRLF.
 * Returns a malloc'd NUL-terminated string (length in *len, may be NULL)
 * or NULL.  Free it with est_b64_lines_free (which cleanses: the text may
 * carry a private key). */
char *est_b64_lines(const unsigned char *der, size_t derlen, size_t *len,
    const char *eol);
/* est_pkcs7_certs_b64 with the line end of choice. */
char *est_pkcs7_certs_b64_eol(STACK_OF(X509) *certs, size_t *len,
    const char *eol);
/* Cleanses and frees an est_b64_lines result; NULL-safe. */
void est_b64_lines_free(char *b64);

/* Decodes padded base64 (RFC 4648 4) from in[0..inlen) into out (outcap
 * bytes; inlen / 4 * 3 always suffice), the length in *outlen.  With
 * skip_ws, CR, LF, space and tab anywhere are ignored (RFC 8951); any
 * other character outside the alphabet, '=' other than one or two at the
 * end, or a length that is not a multiple of 4 fails.  0 or -1. */
int est_b64_decode(const char *in, size_t inlen, int skip_ws,
    unsigned char *out, size_t outcap, size_t *outlen);

/* routes.c: the operation a request path names
 * ("/.well-known/est/[label/]op"): its index in routes.c's table of
 * operations, with the label (NUL-terminated, "" for none) in label,
 * labellen bytes; -1 when the path names none (a 404).  A pure function,
 * so that tests/fuzz/fuzz_est_route.c reaches it without a request. */
#define EST_LABEL_MAX  32
int est_route_parse(const char *path, char *label, size_t labellen);
/* 1 when a Content-Type value is application/pkcs10 (RFC 7030 4.2.1;
 * parameters allowed), else 0; NULL is 0. */
int est_route_is_pkcs10(const char *ctype);

/* Formats a refusal's reason into why (whylen bytes, truncated); nothing
 * when why is NULL or whylen 0.  One place for every check of est/. */
void est_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
