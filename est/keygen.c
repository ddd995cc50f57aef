/*
 * keygen.c: the serverkeygen answer (RFC 7030 4.4.2): multipart/mixed
 * (RFC 2046 5.1) with the private key as base64 PKCS#8 (application/pkcs8,
 * RFC 5958) and the certificate as a certs-only PKCS#7, CRLF throughout.
 * The key's DER and base64 are cleansed before they are freed; the copy in
 * the caller's evbuffer is the caller's to send and drop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "est/est.h"
#include "est/est_int.h"

#define EST_KEYGEN_BOUNDARY_BYTES 16	/* 128 random bits, 32 hex digits */
#define EST_KEYGEN_BOUNDARY_MAX   (sizeof(EST_KEYGEN_BOUNDARY_PREFIX) + \
    2 * EST_KEYGEN_BOUNDARY_BYTES)
#define EST_KEYGEN_BOUNDARY_PREFIX "est-"

/* A boundary that cannot occur in base64 text: '-' is not in the base64
 * alphabet, so "--est-..." never appears inside a part (RFC 2046 5.1.1). */
static int
est_keygen_boundary(char *b, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[EST_KEYGEN_BOUNDARY_BYTES];
	size_t i, off = strlen(EST_KEYGEN_BOUNDARY_PREFIX);

	if (len < EST_KEYGEN_BOUNDARY_MAX ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	memcpy(b, EST_KEYGEN_BOUNDARY_PREFIX, off);
	for (i = 0; i < sizeof(rnd); i++) {
		b[off + 2 * i] = hex[rnd[i] >> 4];
		b[off + 2 * i + 1] = hex[rnd[i] & 0xf];
	}
	b[off + 2 * sizeof(rnd)] = '\0';
	return 0;
}

/* The unencrypted PKCS#8 PrivateKeyInfo of key, base64 lines (secret:
 * free with est_b64_lines_free), or NULL. */
static char *
est_keygen_pkcs8_b64(EVP_PKEY *key)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	char *b64 = NULL;
	int derlen = 0;

	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL ||
	    (derlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0)
		goto out;
	b64 = est_b64_lines(der, (size_t)derlen, NULL, EST_EOL_MIME);
out:
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)derlen);
	PKCS8_PRIV_KEY_INFO_free(p8);	/* cleanses the key octets */
	return b64;
}

/* RFC 7030 4.4.2 multipart body into out, its Content-Type into ctype;
 * key and certs are borrowed.  0 or -1 (out may then hold part of the
 * body: the caller drops it). */
int
est_serverkeygen_body(EVP_PKEY *key, STACK_OF(X509) *certs,
    struct evbuffer *out, char *ctype, size_t ctypelen)
{
	char boundary[EST_KEYGEN_BOUNDARY_MAX], *keyb64 = NULL, *p7 = NULL;
	int n, rc = -1;

	if (key == NULL || certs == NULL || out == NULL || ctype == NULL)
		goto out;
	if (est_keygen_boundary(boundary, sizeof(boundary)) != 0)
		goto out;
	n = snprintf(ctype, ctypelen, "multipart/mixed; boundary=%s",
	    boundary);
	if (n < 0 || (size_t)n >= ctypelen)
		goto out;
	if ((keyb64 = est_keygen_pkcs8_b64(key)) == NULL ||
	    (p7 = est_pkcs7_certs_b64_eol(certs, NULL, EST_EOL_MIME)) == NULL)
		goto out;
	/* Each base64 text ends in CRLF, which the next delimiter's leading
	 * CRLF (RFC 2046 5.1.1) takes. */
	if (evbuffer_add_printf(out,
	    "--%s\r\n"
	    "Content-Type: application/pkcs8\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "%s"
	    "--%s\r\n"
	    "Content-Type: application/pkcs7-mime; smime-type=certs-only\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "%s"
	    "--%s--\r\n", boundary, keyb64, boundary, p7, boundary) < 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	est_b64_lines_free(keyb64);
	free(p7);
	return rc;
}
