/*
 * token.c: where a private key lives: a file (mode 0600) or, by an RFC
 * 7512 `pkcs11:` URI, a PKCS#11 token (docs/operations.md "Keys in a
 * PKCS#11 token").  Only the key process calls ca_key_load(); `init` and
 * `ca move-to-token` read the PIN file through ca_token_pin().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bridge/ca/ca.h"

/* The PIN file may be readable by its owner only, like a key file. */
#define TOKEN_PIN_GROUP_OTHER	077

/* See ca.h. */
int
ca_is_token_uri(const char *value)
{
	return value != NULL && strncasecmp(value, CA_TOKEN_SCHEME,
	    strlen(CA_TOKEN_SCHEME)) == 0;
}

/* See ca.h.  The file is opened once and checked by fstat (no window to
 * swap it); one trailing newline (CR LF or LF) is not part of the PIN. */
int
ca_token_pin(const char *path, char pin[CA_PIN_MAX + 1], char *err,
    size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd = -1, rc = -1;

	pin[0] = '\0';
	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "no PIN file: set pkcs11_pin_file in "
		    "keybridge.conf");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "PIN file %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "PIN file %s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & TOKEN_PIN_GROUP_OTHER) != 0) {
		snprintf(err, errlen, "PIN file %s is accessible by group or "
		    "others (mode %04o): run chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if ((n = read(fd, pin, CA_PIN_MAX + 1)) < 0) {
		snprintf(err, errlen, "PIN file %s: %s", path, strerror(errno));
		goto out;
	}
	if ((size_t)n > CA_PIN_MAX) {
		snprintf(err, errlen, "PIN file %s: the PIN is longer than %d "
		    "bytes", path, CA_PIN_MAX);
		goto out;
	}
	pin[n] = '\0';
	if (n > 0 && pin[n - 1] == '\n')
		pin[--n] = '\0';
	if (n > 0 && pin[n - 1] == '\r')
		pin[--n] = '\0';
	if (n == 0 || strlen(pin) != (size_t)n) {
		snprintf(err, errlen, "PIN file %s: %s", path, n == 0 ?
		    "empty" : "holds a NUL byte");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		OPENSSL_cleanse(pin, CA_PIN_MAX + 1);
	if (fd != -1)
		close(fd);
	return rc;
}

/* See ca.h. */
EVP_PKEY *
ca_key_load(const struct bridge_config *cfg, const char *value,
    const char *what, char *err, size_t errlen)
{
	char path[PATH_MAX], why[512];
	EVP_PKEY *k;

	if (ca_is_token_uri(value)) {
		if ((k = p11load_key(cfg, value, why, sizeof(why))) == NULL)
			snprintf(err, errlen, "%s: %s", what, why);
		return k;
	}
	if (config_path(cfg, value, path, sizeof(path))[0] == '\0') {
		snprintf(err, errlen, "the %s path is empty or too long", what);
		return NULL;
	}
	if ((k = ledger_key_load(path, why, sizeof(why))) == NULL)
		snprintf(err, errlen, "%s: %s", what, why);
	return k;
}
