/*
 * auth.c: HTTP Basic (RFC 7617) for EST (RFC 7030 3.2.3), and for the
 * serverkeygen pre-authorisation's "Basic id:secret".
 *
 * The header is untrusted input: the scheme is matched case-insensitively
 * (RFC 7235 2.1), the credentials are bounded (EST_BASIC_MAX decoded
 * bytes) and strict base64, and the decoded copy is cleansed.  Checking
 * compares SHA-256 digests of both sides with CRYPTO_memcmp, so neither
 * where the first difference is nor a difference in length shows in the
 * time taken beyond the hashing of the secret itself.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "est/est.h"
#include "est/est_int.h"

#define EST_BASIC_SCHEME "Basic"
#define EST_BASIC_MAX    1024	/* decoded "user:pass" bytes */
#define EST_BASIC_B64_MAX ((EST_BASIC_MAX + 2) / 3 * 4)
#define EST_BASIC_MD_LEN 32	/* SHA-256 */

/* Splits "Basic base64(user:pass)"; see est.h.  user and pass are
 * cleansed on failure too. */
int
est_basic_parse(const char *authorization, char *user, size_t userlen,
    char *pass, size_t passlen)
{
	unsigned char dec[EST_BASIC_B64_MAX];
	const char *p, *end, *colon;
	size_t slen = strlen(EST_BASIC_SCHEME), declen = 0, ulen, plen;
	int rc = -1;

	if (user == NULL || pass == NULL || userlen == 0 || passlen == 0)
		return -1;
	user[0] = pass[0] = '\0';
	if (authorization == NULL)
		goto out;
	p = authorization;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, EST_BASIC_SCHEME, slen) != 0 ||
	    (p[slen] != ' ' && p[slen] != '\t'))
		goto out;
	for (p += slen; *p == ' ' || *p == '\t'; p++)
		;
	for (end = p + strlen(p); end > p && (end[-1] == ' ' ||
	    end[-1] == '\t'); end--)
		;
	if ((size_t)(end - p) > EST_BASIC_B64_MAX ||
	    est_b64_decode(p, (size_t)(end - p), 0, dec, sizeof(dec),
	    &declen) != 0)
		goto out;
	/* RFC 7617 2: the user-id cannot contain ':'; the password can. */
	if ((colon = memchr(dec, ':', declen)) == NULL ||
	    memchr(dec, '\0', declen) != NULL)
		goto out;
	ulen = (size_t)(colon - (const char *)dec);
	plen = declen - ulen - 1;
	if (ulen >= userlen || plen >= passlen)
		goto out;
	memcpy(user, dec, ulen);
	user[ulen] = '\0';
	memcpy(pass, colon + 1, plen);
	pass[plen] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(dec, sizeof(dec));
	if (rc != 0) {
		OPENSSL_cleanse(user, userlen);
		OPENSSL_cleanse(pass, passlen);
		user[0] = pass[0] = '\0';
	}
	return rc;
}

/* SHA-256 of s; 0 or -1. */
static int
est_basic_md(const char *s, unsigned char md[EST_BASIC_MD_LEN])
{
	unsigned int len = 0;

	if (EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1 ||
	    len != EST_BASIC_MD_LEN)
		return -1;
	return 0;
}

/* 1 when authorization carries exactly user:pass; see est.h. */
int
est_basic_check(const char *authorization, const char *user,
    const char *pass)
{
	char u[EST_BASIC_MAX + 1], pw[EST_BASIC_MAX + 1];
	unsigned char mu[EST_BASIC_MD_LEN], mp[EST_BASIC_MD_LEN];
	unsigned char eu[EST_BASIC_MD_LEN], ep[EST_BASIC_MD_LEN];
	int ok = 0, diff;

	if (user == NULL)
		goto out;
	if (pass == NULL)
		pass = "";
	if (est_basic_parse(authorization, u, sizeof(u), pw,
	    sizeof(pw)) != 0)
		goto out;
	if (est_basic_md(u, mu) != 0 || est_basic_md(pw, mp) != 0 ||
	    est_basic_md(user, eu) != 0 || est_basic_md(pass, ep) != 0)
		goto out;
	/* Both comparisons always run: no early exit on the user. */
	diff = CRYPTO_memcmp(mu, eu, sizeof(mu));
	diff |= CRYPTO_memcmp(mp, ep, sizeof(mp));
	ok = diff == 0;
out:
	OPENSSL_cleanse(u, sizeof(u));
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(mp, sizeof(mp));
	OPENSSL_cleanse(ep, sizeof(ep));
	return ok;
}
