/*
 * pkcs7.c: the certs-only answer of cacerts and simpleenroll (RFC 7030
 * 4.1.3 and 4.2.3): a degenerate PKCS#7 SignedData (RFC 5652 5: no
 * signers, no content) carrying certificates, built with OpenSSL's PKCS7
 * API and sent as base64 in lines of 64 with CRLF.
 */
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "est/est.h"
#include "est/est_int.h"

/* Certs-only PKCS#7 of certs, in their order; see est.h.  certs is
 * borrowed (each certificate is up-ref'd into the PKCS#7 and released
 * with it).  NULL for no or empty certs. */
char *
est_pkcs7_certs_b64(STACK_OF(X509) *certs, size_t *len)
{
	return est_pkcs7_certs_b64_eol(certs, len, EST_EOL_BODY);
}

char *
est_pkcs7_certs_b64_eol(STACK_OF(X509) *certs, size_t *len, const char *eol)
{
	PKCS7 *p7 = NULL;
	unsigned char *der = NULL;
	char *b64 = NULL;
	int i, derlen;

	if (certs == NULL || sk_X509_num(certs) <= 0)
		goto out;
	if ((p7 = PKCS7_new()) == NULL ||
	    PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1)
		goto out;
	/* RFC 5652 5.2: a degenerate SignedData has no eContent. */
	if (PKCS7_set_detached(p7, 1) != 1)
		goto out;
	/* The SignedData's certificates field is encoded as SEQUENCE OF
	 * under its [0] tag, so the order given here is the order sent:
	 * leaf first, then the chain. */
	for (i = 0; i < sk_X509_num(certs); i++)
		if (PKCS7_add_certificate(p7, sk_X509_value(certs, i)) != 1)
			goto out;
	if ((derlen = i2d_PKCS7(p7, &der)) <= 0)
		goto out;
	b64 = est_b64_lines(der, (size_t)derlen, len, eol);
out:
	if (b64 == NULL)
		ERR_clear_error();
	OPENSSL_free(der);
	PKCS7_free(p7);
	return b64;
}
