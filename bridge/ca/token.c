/*
 * token.c: where a private key lives: a file (mode 0600) or, by an RFC
 * 7512 `pkcs11:` URI, a PKCS#11 token (docs/design.md "Processes").
 * Only the key process calls it.
 */
#include <limits.h>
#include <stdio.h>

#include "bridge/ca/ca.h"

/* See ca.h. */
EVP_PKEY *
ca_key_load(const struct bridge_config *cfg, const char *value,
    const char *what, char *err, size_t errlen)
{
	char path[PATH_MAX], why[512];
	EVP_PKEY *k;

	if (config_path(cfg, value, path, sizeof(path))[0] == '\0') {
		snprintf(err, errlen, "the %s path is empty or too long", what);
		return NULL;
	}
	if ((k = ledger_key_load(path, why, sizeof(why))) == NULL)
		snprintf(err, errlen, "%s: %s", what, why);
	return k;
}
