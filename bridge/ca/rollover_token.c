/*
 * rollover_token.c: `keybridge ca rollover` when the issuing CA key is in
 * a PKCS#11 token (issue 17, issue 13's tokens): the new issuing CA and
 * OCSP signer keys are generated in the same token (sensitive, not
 * extractable, as init --pkcs11-* makes them: p11make.c), each under a
 * label of its own ("issuing-ca-1a2b3c4d"), and reached through libp11
 * (p11load.c) to sign the new certificates.  The module and PIN file are
 * keybridge.conf's.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bridge/ca/ca.h"

#define RT_LABEL_MAX	64	/* "issuing-ca-" and 8 hex digits */
#define RT_TOKEN_MAX	33	/* CK_TOKEN_INFO label, 32 bytes + NUL */

/* label "<base>-<8 hex of id>", free in the token.  0 or -1. */
static int
rt_label(struct p11make *m, const char *base, const unsigned char *id,
    char label[RT_LABEL_MAX], char *err, size_t errlen)
{
	int n;

	snprintf(label, RT_LABEL_MAX, "%s-%02x%02x%02x%02x", base, id[0],
	    id[1], id[2], id[3]);
	if (p11make_count(m, label, &n, err, errlen) != 0)
		return -1;
	if (n != 0) {
		snprintf(err, errlen, "the token already holds a key labelled "
		    "%s", label);
		return -1;
	}
	return 0;
}

/* See ca.h. */
int
ca_rollover_token_keys(const struct bridge_config *cfg, const char *cur,
    const char *key_type, EVP_PKEY **ikey, EVP_PKEY **okey,
    char iuri[CONFIG_STR], char ouri[CONFIG_STR], char *err, size_t errlen)
{
	struct p11make *m = NULL;
	unsigned char iid[CA_TOKEN_ID_LEN], oid[CA_TOKEN_ID_LEN];
	char pin[CA_PIN_MAX + 1] = "", token[RT_TOKEN_MAX];
	char ilabel[RT_LABEL_MAX], olabel[RT_LABEL_MAX];
	int rc = -1;

	*ikey = *okey = NULL;
	if (cfg->pkcs11_module[0] == '\0' || cfg->pkcs11_pin_file[0] == '\0') {
		snprintf(err, errlen, "the issuing CA key is a pkcs11: URI but "
		    "keybridge.conf names no pkcs11_module and "
		    "pkcs11_pin_file");
		goto out;
	}
	if (p11make_uri_token(cur, token, sizeof(token)) != 0) {
		snprintf(err, errlen, "cannot read the token label of %s", cur);
		goto out;
	}
	if (ca_token_pin(cfg->pkcs11_pin_file, pin, err, errlen) != 0 ||
	    (m = p11make_open(cfg->pkcs11_module, token, pin, err,
	    errlen)) == NULL)
		goto out;
	if (p11make_new_id(iid) != 0 || p11make_new_id(oid) != 0 ||
	    rt_label(m, CA_LABEL_ISSUING, iid, ilabel, err, errlen) != 0 ||
	    rt_label(m, CA_LABEL_OCSP, oid, olabel, err, errlen) != 0)
		goto out;
	if (p11make_generate(m, key_type, ilabel, iid, sizeof(iid), err,
	    errlen) != 0 || p11make_uri(m, ilabel, iuri, CONFIG_STR) != 0 ||
	    p11make_generate(m, key_type, olabel, oid, sizeof(oid), err,
	    errlen) != 0 || p11make_uri(m, olabel, ouri, CONFIG_STR) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "no URI for the new keys");
		goto out;
	}
	/* The module is let go before libp11 loads it (p11make.c). */
	p11make_close(m);
	m = NULL;
	if ((*ikey = ca_key_load(cfg, iuri, "new issuing CA key", err,
	    errlen)) == NULL || (*okey = ca_key_load(cfg, ouri,
	    "new OCSP signer key", err, errlen)) == NULL)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	p11make_close(m);
	if (rc != 0) {
		EVP_PKEY_free(*ikey);
		EVP_PKEY_free(*okey);
		*ikey = *okey = NULL;
	}
	return rc;
}
