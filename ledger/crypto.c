/*
 * crypto.c: account keys and the small encodings around them (base64, hex,
 * SubjectPublicKeyInfo), all through libcrypto.
 *
 * Account keys are Ed25519 or ECDSA P-256 only.  A public key travels as the
 * base64 of its DER SubjectPublicKeyInfo and is identified by the SHA-256 of
 * that DER (docs/design.md "Entries": a key can be registered once, ever, by SPKI
 * hash).  For that rule to hold, one key must have exactly one accepted
 * encoding, so ledger_pubkey_from_b64() takes only canonical DER: a named
 * curve, an uncompressed point, nothing after the SPKI, and canonical base64.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <sodium.h>

#include "ledger/ledger_int.h"

#define CRYPTO_PUBKEY_B64_MAX	512	/* P-256 SPKI: 124 chars; Ed25519: 60 */
#define CRYPTO_SPKI_MAX		384	/* decoded SPKI bytes we accept */
#define CRYPTO_B64_IN_MAX	(INT_MAX / 4 * 3) /* EVP_EncodeBlock: int */
#define CRYPTO_KEY_MODE		0600	/* key files: owner read/write only */
#define CRYPTO_KEY_GROUP_OTHER	077	/* bits that make a key file shared */
#define CRYPTO_GROUP_NAME_MAX	64
#define CRYPTO_ED25519_LEN	32	/* RFC 8032 5.1.5: a public key */

static const char hexdigits[] = "0123456789abcdef";

/* RFC 4648 4 alphabet, without the pad. */
static int
b64_alphabet(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Base64 (no line breaks) with OpenSSL's EVP_Encode; 0 or -1. */
int
ledger_b64_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t need;

	if (out == NULL || (in == NULL && len > 0) || len > CRYPTO_B64_IN_MAX)
		return -1;
	need = (len + 2) / 3 * 4 + 1;
	if (outlen < need)
		return -1;
	/* EVP_EncodeBlock writes the pad and a NUL; it never fails. */
	if (EVP_EncodeBlock((unsigned char *)out, in, (int)len) !=
	    (int)(need - 1))
		return -1;
	return 0;
}

/*
 * Strict base64 decode of a single line; returns the length or -1.
 * EVP_DecodeBlock skips surrounding whitespace, accepts a stray '=' in the
 * middle and returns the padded length, so the text is checked here first:
 * a multiple of 4 characters from the RFC 4648 alphabet, at most two '='
 * and only at the end, and canonical (unused bits zero, checked by
 * re-encoding), so that one byte string has exactly one accepted encoding.
 */
int
ledger_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	uint8_t *tmp = NULL, *dst;
	char *again = NULL;
	size_t i, npad = 0, padded, n;
	int rc = -1;

	if (in == NULL || out == NULL || inlen % 4 != 0 ||
	    inlen > (size_t)INT_MAX)
		return -1;
	if (inlen == 0)
		return 0;
	while (npad < 2 && in[inlen - 1 - npad] == '=')
		npad++;
	for (i = 0; i < inlen - npad; i++)
		if (!b64_alphabet((unsigned char)in[i]))
			return -1;
	padded = inlen / 4 * 3;
	n = padded - npad;
	if (n > outlen)
		return -1;
	if (padded <= outlen)
		dst = out;
	else if ((dst = tmp = malloc(padded)) == NULL)
		goto out;
	if (EVP_DecodeBlock(dst, (const unsigned char *)in, (int)inlen) !=
	    (int)padded)
		goto out;
	if ((again = malloc(inlen + 1)) == NULL)
		goto out;
	if (ledger_b64_encode(dst, n, again, inlen + 1) == -1 ||
	    memcmp(again, in, inlen) != 0)
		goto out;
	if (dst != out)
		memcpy(out, dst, n);
	rc = (int)n;
out:
	free(tmp);
	free(again);
	return rc;
}

/* Lowercase hex of in[0..len) into out (2*len + 1 bytes, NUL-terminated). */
void
ledger_hex(const uint8_t *in, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* See ledger.h. */
int
ledger_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses exactly 2*len hex digits (a NUL must follow them); 0 or -1. */
int
ledger_unhex(const char *hex, uint8_t *out, size_t len)
{
	size_t i;
	int hi, lo;

	if (hex == NULL || out == NULL || len > SIZE_MAX / 2 - 1 ||
	    strnlen(hex, 2 * len + 1) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		if ((hi = ledger_hexval((unsigned char)hex[2 * i])) < 0 ||
		    (lo = ledger_hexval((unsigned char)hex[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Hex SHA-256 of a DER SPKI (the key id of a registered key). */
void
ledger_spki_key_id(const uint8_t *der, size_t len,
    char out[LEDGER_KEYID_LEN + 1])
{
	uint8_t md[LEDGER_HASH_LEN];

	if (EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL) != 1) {
		/* Never hand out an id we did not compute. */
		out[0] = '\0';
		ERR_clear_error();
		return;
	}
	ledger_hex(md, sizeof(md), out);
}

/* 1 when key is an EC key on P-256 with a named curve and an uncompressed
 * point (the one encoding we accept), 0 otherwise. */
static int
pubkey_is_canonical_p256(EVP_PKEY *key)
{
	char s[CRYPTO_GROUP_NAME_MAX];

	if (EVP_PKEY_is_a(key, "EC") != 1)
		return 0;
	if (EVP_PKEY_get_group_name(key, s, sizeof(s), NULL) != 1 ||
	    strcmp(s, SN_X9_62_prime256v1) != 0)
		return 0;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING,
	    s, sizeof(s), NULL) != 1 ||
	    strcmp(s, OSSL_PKEY_EC_ENCODING_GROUP) != 0)
		return 0;
	if (EVP_PKEY_get_utf8_string_param(key,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, s, sizeof(s),
	    NULL) != 1 ||
	    strcmp(s, OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 0)
		return 0;
	return 1;
}

/*
 * 1 when key is an Ed25519 public key that a private key can have: the
 * canonical encoding of a point of the prime-order subgroup, not of small
 * order (libsodium's crypto_core_ed25519_is_valid_point).  The identity
 * point 01 00..00 and the other small-order points verify a signature
 * (R, S) = (that point, 0) over any message under a lax verifier, so such
 * a "key" lets anyone sign; a non-canonical encoding (y >= p) is a second
 * name for a key.  0 otherwise, and when libsodium cannot start.
 */
static int
pubkey_is_valid_ed25519(EVP_PKEY *key)
{
	unsigned char raw[CRYPTO_ED25519_LEN];
	size_t len = sizeof(raw);

	/* sodium_init() may be called from any thread, any number of times:
	 * after the first it only answers 1, so no state is kept here. */
	if (sodium_init() < 0)
		return 0;
	if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 ||
	    len != sizeof(raw))
		return 0;
	return crypto_core_ed25519_is_valid_point(raw) == 1;
}

/* See ledger.h. */
EVP_PKEY *
ledger_account_key_parse(const char *b64, char *why, size_t whylen)
{
	uint8_t der[CRYPTO_SPKI_MAX];
	unsigned char *again = NULL;
	const unsigned char *p = der;
	const char *fail = "is not base64 of a DER SubjectPublicKeyInfo";
	EVP_PKEY *key = NULL;
	size_t len;
	int n, alen;

	if (b64 == NULL || (len = strnlen(b64, CRYPTO_PUBKEY_B64_MAX + 1)) >
	    CRYPTO_PUBKEY_B64_MAX)
		goto fail;
	if ((n = ledger_b64_decode(b64, len, der, sizeof(der))) <= 0)
		goto fail;
	if ((key = d2i_PUBKEY(NULL, &p, n)) == NULL || p != der + n)
		goto fail;
	if (EVP_PKEY_is_a(key, "ED25519") == 1) {
		if (!pubkey_is_valid_ed25519(key)) {
			fail = "is an Ed25519 key of small order or in a "
			    "non-canonical encoding (no private key has it)";
			goto fail;
		}
	} else if (!pubkey_is_canonical_p256(key)) {
		fail = "is not an Ed25519 or ECDSA P-256 key (named curve, "
		    "uncompressed point)";
		goto fail;
	}
	/* One key, one DER: the key id must not depend on the encoding. */
	if ((alen = i2d_PUBKEY(key, &again)) != n ||
	    memcmp(again, der, (size_t)n) != 0) {
		fail = "is not in canonical DER";
		goto fail;
	}
	OPENSSL_free(again);
	return key;
fail:
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", fail);
	OPENSSL_free(again);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return NULL;
}

/*
 * Parses a base64 SPKI DER public key; only Ed25519 and ECDSA P-256 are
 * accepted as account keys, in their canonical DER only.  Returns a new key
 * (the caller frees it) or NULL.
 */
EVP_PKEY *
ledger_pubkey_from_b64(const char *b64)
{
	return ledger_account_key_parse(b64, NULL, 0);
}

/* 1 when key is EC on P-256 or P-384 (by name), the curves EST issues
 * for; 0 otherwise, with why. */
static int
spki_ec_curve_ok(EVP_PKEY *key, char *why, size_t whylen)
{
	char g[CRYPTO_GROUP_NAME_MAX];

	if (EVP_PKEY_get_group_name(key, g, sizeof(g), NULL) != 1) {
		snprintf(why, whylen, "the EC key's curve is not a named one: "
		    "use P-256 or P-384");
		return 0;
	}
	if (strcmp(g, SN_X9_62_prime256v1) != 0 &&
	    strcmp(g, SN_secp384r1) != 0) {
		snprintf(why, whylen, "the EC key is on curve %s: use P-256 "
		    "or P-384", g);
		return 0;
	}
	return 1;
}

/* See ledger.h. */
int
ledger_spki_canonical(EVP_PKEY *key, unsigned char **der, char *why,
    size_t whylen)
{
	EVP_PKEY *dup = NULL;
	int len = -1;

	*der = NULL;
	if (key == NULL) {
		snprintf(why, whylen, "no key");
		return -1;
	}
	if (EVP_PKEY_is_a(key, "EC") != 1) {
		if ((len = i2d_PUBKEY(key, der)) <= 0) {
			snprintf(why, whylen, "the key cannot be encoded");
			len = -1;
		}
		goto out;
	}
	if (!spki_ec_curve_ok(key, why, whylen))
		goto out;
	/* The same key, named curve and uncompressed point (SEC 1 2.3.3),
	 * re-encoded: OpenSSL keeps both forms of the input otherwise. */
	if ((dup = EVP_PKEY_dup(key)) == NULL ||
	    EVP_PKEY_set_utf8_string_param(dup, OSSL_PKEY_PARAM_EC_ENCODING,
	    OSSL_PKEY_EC_ENCODING_GROUP) != 1 ||
	    EVP_PKEY_set_utf8_string_param(dup,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 1 ||
	    (len = i2d_PUBKEY(dup, der)) <= 0) {
		snprintf(why, whylen, "the EC key cannot be re-encoded");
		len = -1;
	}
out:
	if (len < 0) {
		OPENSSL_free(*der);
		*der = NULL;
	}
	EVP_PKEY_free(dup);
	ERR_clear_error();
	return len;
}

/* See ledger.h. */
int
ledger_spki_check(EVP_PKEY *key, const uint8_t *der, size_t len, char *why,
    size_t whylen)
{
	unsigned char *canon = NULL;
	char s[CRYPTO_GROUP_NAME_MAX];
	int n, rc = -1;

	/* A device's Ed25519 key (RFC 8410): a point a private key can
	 * have, as for an account key (pubkey_is_valid_ed25519). */
	if (EVP_PKEY_is_a(key, "ED25519") == 1 &&
	    !pubkey_is_valid_ed25519(key)) {
		snprintf(why, whylen, "the Ed25519 key is of small order or in "
		    "a non-canonical encoding (no private key has it)");
		goto out;
	}
	if (EVP_PKEY_is_a(key, "EC") == 1) {
		if (!spki_ec_curve_ok(key, why, whylen))
			goto out;
		if (EVP_PKEY_get_utf8_string_param(key,
		    OSSL_PKEY_PARAM_EC_ENCODING, s, sizeof(s), NULL) != 1 ||
		    strcmp(s, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
			snprintf(why, whylen, "the EC key carries explicit "
			    "curve parameters: name the curve (namedCurve, "
			    "RFC 5480 2.1.1)");
			goto out;
		}
		if (EVP_PKEY_get_utf8_string_param(key,
		    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, s, sizeof(s),
		    NULL) != 1 || strcmp(s,
		    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 0) {
			snprintf(why, whylen, "the EC point is %s: use the "
			    "uncompressed form (RFC 5480 2.2)", s);
			goto out;
		}
	}
	if ((n = ledger_spki_canonical(key, &canon, why, whylen)) < 0)
		goto out;
	if ((size_t)n != len || memcmp(canon, der, len) != 0) {
		snprintf(why, whylen, "the SubjectPublicKeyInfo is not in "
		    "canonical DER");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(canon);
	ERR_clear_error();
	return rc;
}

/* Base64 SPKI DER of a key (public part), NUL-terminated.  0 or -1. */
int
ledger_pubkey_to_b64(EVP_PKEY *key, char *out, size_t outlen)
{
	unsigned char *der = NULL;
	int len, rc = -1;

	if (key == NULL || out == NULL)
		return -1;
	if ((len = i2d_PUBKEY(key, &der)) <= 0)
		goto out;
	rc = ledger_b64_encode(der, (size_t)len, out, outlen);
out:
	OPENSSL_free(der);
	if (rc == -1)
		ERR_clear_error();
	return rc;
}

/* Generates an Ed25519 ("ed25519") or ECDSA P-256 ("ec-p256") key; a new
 * key or NULL. */
EVP_PKEY *
ledger_key_generate(const char *type)
{
	EVP_PKEY *key = NULL;

	if (type == NULL)
		return NULL;
	if (strcmp(type, "ed25519") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (strcmp(type, "ec-p256") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL)
		ERR_clear_error();
	return key;
}

/*
 * Writes a private key as PKCS#8 PEM (unencrypted: the file mode is the
 * protection), created with mode 0600; refuses to overwrite an existing file
 * or follow a symlink.  A partly written file is removed.  Returns 0 or -1
 * (errno says why when the file could not be created).
 */
int
ledger_key_save(EVP_PKEY *key, const char *path)
{
	FILE *fp = NULL;
	int fd = -1, rc = -1, created = 0, saved;

	if (key == NULL || path == NULL) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    CRYPTO_KEY_MODE);
	if (fd == -1)
		goto out;
	created = 1;
	/* umask can only remove bits; make the mode exact anyway. */
	if (fchmod(fd, CRYPTO_KEY_MODE) == -1)
		goto out;
	if ((fp = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	if (PEM_write_PKCS8PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	if (fflush(fp) != 0 || fsync(fileno(fp)) == -1)
		goto out;
	rc = 0;
out:
	saved = errno;
	if (fp != NULL && fclose(fp) != 0)
		rc = -1;
	if (fd != -1)
		close(fd);
	if (rc == -1) {
		if (created)
			unlink(path);
		ERR_clear_error();
	}
	errno = saved;
	return rc;
}

/* Writes one line into err (which may be NULL). */
static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Never prompt on a terminal for a passphrase: encrypted keys are refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/*
 * Reads a PEM private key; refuses a file that is not a regular file or is
 * readable or writable by group or others.  Returns a new key or NULL with
 * one line in err that says what to do.
 */
EVP_PKEY *
ledger_key_load(const char *path, char *err, size_t errlen)
{
	struct stat st;
	EVP_PKEY *key = NULL;
	FILE *fp = NULL;
	int fd = -1;
	unsigned long e;
	char ebuf[256];

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL) {
		set_err(err, errlen, "no key file given");
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* fstat the open file, not the name: no window to swap it. */
	if (fstat(fd, &st) == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & CRYPTO_KEY_GROUP_OTHER) != 0) {
		set_err(err, errlen,
		    "%s: key file is accessible by group or others (mode "
		    "%04o): run chmod 600 %s (a key file must be 0600)", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if ((key = PEM_read_PrivateKey(fp, NULL, no_passphrase, NULL)) ==
	    NULL) {
		e = ERR_peek_last_error();
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		set_err(err, errlen,
		    "%s: not an unencrypted PEM private key (%s)", path,
		    e != 0 ? ebuf : "no key found");
	}
out:
	if (fp != NULL)
		fclose(fp);
	if (fd != -1)
		close(fd);
	ERR_clear_error();
	return key;
}

/* The signed-note verifier key "name+hash+base64" of an Ed25519 key (or of
 * a P-256 key, in our ECDSA variant).  0 or -1. */
int
ledger_key_vkey(EVP_PKEY *key, const char *name, char *out, size_t outlen)
{
	return ledger_note_vkey_format(key, name, out, outlen);
}
