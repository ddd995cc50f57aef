/*
 * p11load.c: a private key in a PKCS#11 token as an EVP_PKEY, by an RFC
 * 7512 URI (`pkcs11:token=keybridge;object=issuing-ca;type=private`).
 *
 * The URI is parsed and matched by p11-kit (p11_kit_uri_parse, _match_*),
 * the token is reached through libp11 (Debian libp11-dev 0.4.12): its
 * EVP_PKEY carries the public key and an RSA_METHOD / EC_KEY_METHOD that
 * sends every private operation to the token with C_Sign, so X509_sign,
 * OCSP_basic_sign and EVP_DigestSign work unchanged and the key's bytes
 * never leave the token (it is CKA_SENSITIVE, not CKA_EXTRACTABLE).
 *
 * One libp11 context per process, kept until the process exits.  That is
 * this file's one piece of global state, and it has to be: PKCS#11 v2.40
 * 5.4 lets a process C_Initialize a module once, C_Finalize ends every
 * session of every caller, and the EVP_PKEYs handed out refer to the
 * context's slots and keys for their whole life.  The mutex covers loads
 * from several threads; libp11 itself (0.4.12) serialises the token's
 * sessions, so signing may happen on any thread.
 *
 * Fork: a context made before fork() is not usable in the child without
 * libp11's re-initialisation (it re-logs in with the PIN it kept): the key
 * process loads its token keys after it is forked (docs/operations.md).
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <libp11.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "common/log.h"
#include "bridge/ca/ca.h"

/* CK_TOKEN_INFO's blank-padded fields (PKCS#11 v2.40 3.2). */
#define P11LOAD_LABEL_LEN	32
#define P11LOAD_MANUF_LEN	32
#define P11LOAD_MODEL_LEN	16
#define P11LOAD_SERIAL_LEN	16

static struct {
	pthread_mutex_t lock;
	PKCS11_CTX *ctx;		/* NULL until the first load */
	char module[PATH_MAX];		/* the module ctx loaded */
	PKCS11_SLOT *slots;
	unsigned int nslots;
} p11load = { PTHREAD_MUTEX_INITIALIZER, NULL, "", NULL, 0 };

/* The reason of the last OpenSSL / libp11 error, for a message. */
static const char *
p11load_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "no detail from the module");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* Copies s into the blank-padded field f of len bytes. */
static void
p11load_pad(unsigned char *f, size_t len, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	memset(f, ' ', len);
	memcpy(f, s, n < len ? n : len);
}

/* Loads module (once per process) and enumerates its slots.  0, or -1
 * with err set.  Called with the lock held. */
static int
p11load_ctx(const char *module, char *err, size_t errlen)
{
	char why[256];

	if (p11load.ctx != NULL) {
		if (strcmp(p11load.module, module) == 0)
			return 0;
		snprintf(err, errlen, "PKCS#11 module %s is already loaded; "
		    "every key must use the same module (pkcs11_module)",
		    p11load.module);
		return -1;
	}
	if ((p11load.ctx = PKCS11_CTX_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (PKCS11_CTX_load(p11load.ctx, module) != 0) {
		snprintf(err, errlen, "cannot load the PKCS#11 module %s "
		    "(pkcs11_module): %s", module, p11load_reason(why,
		    sizeof(why)));
		goto fail;
	}
	if (PKCS11_enumerate_slots(p11load.ctx, &p11load.slots,
	    &p11load.nslots) != 0) {
		snprintf(err, errlen, "PKCS#11 module %s: cannot list its "
		    "slots: %s", module, p11load_reason(why, sizeof(why)));
		PKCS11_CTX_unload(p11load.ctx);
		goto fail;
	}
	snprintf(p11load.module, sizeof(p11load.module), "%s", module);
	return 0;
fail:
	PKCS11_CTX_free(p11load.ctx);
	p11load.ctx = NULL;
	return -1;
}

/* The slot whose token the URI names: exactly one.  NULL with err set. */
static PKCS11_SLOT *
p11load_slot(P11KitUri *uri, const char *text, char *err, size_t errlen)
{
	CK_TOKEN_INFO ti;
	PKCS11_SLOT *found = NULL;
	PKCS11_TOKEN *t;
	unsigned int i, n = 0;

	for (i = 0; i < p11load.nslots; i++) {
		if ((t = p11load.slots[i].token) == NULL || !t->initialized)
			continue;
		memset(&ti, 0, sizeof(ti));
		p11load_pad(ti.label, P11LOAD_LABEL_LEN, t->label);
		p11load_pad(ti.manufacturerID, P11LOAD_MANUF_LEN,
		    t->manufacturer);
		p11load_pad(ti.model, P11LOAD_MODEL_LEN, t->model);
		p11load_pad(ti.serialNumber, P11LOAD_SERIAL_LEN, t->serialnr);
		if (p11_kit_uri_match_token_info(uri, &ti) == 1) {
			found = &p11load.slots[i];
			n++;
		}
	}
	if (n == 0)
		snprintf(err, errlen, "no token of PKCS#11 module %s matches "
		    "%s (list them: pkcs11-tool --module %s -L)", p11load.module,
		    text, p11load.module);
	else if (n > 1)
		snprintf(err, errlen, "%u tokens match %s: add token= (its "
		    "label) or serial= to the URI", n, text);
	return n == 1 ? found : NULL;
}

/* Logs in to slot's token with the PIN of cfg->pkcs11_pin_file, unless
 * a session of this process already is.  0, or -1 with err set. */
static int
p11load_login(const struct bridge_config *cfg, PKCS11_SLOT *slot,
    char *err, size_t errlen)
{
	char pin[CA_PIN_MAX + 1], path[PATH_MAX], why[256];
	int in = 0, rc = -1;

	if (PKCS11_is_logged_in(slot, 0, &in) == 0 && in)
		return 0;
	if (ca_token_pin(config_path(cfg, cfg->pkcs11_pin_file, path,
	    sizeof(path)), pin, err, errlen) == -1)
		return -1;
	if (PKCS11_open_session(slot, 0) != 0 ||
	    PKCS11_login(slot, 0, pin) != 0) {
		snprintf(err, errlen, "cannot log in to token \"%s\" with the "
		    "PIN of %s (wrong PIN, or the token is locked): %s",
		    slot->token->label, path, p11load_reason(why, sizeof(why)));
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	return rc;
}

/* The one private key of slot's token the URI names.  NULL with err. */
static PKCS11_KEY *
p11load_find(P11KitUri *uri, const char *text, PKCS11_SLOT *slot,
    char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE a[3];
	PKCS11_KEY *keys = NULL, *found = NULL;
	unsigned int i, nkeys = 0, n = 0;
	char why[256];

	if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0) {
		snprintf(err, errlen, "token \"%s\": cannot list its keys: %s",
		    slot->token->label, p11load_reason(why, sizeof(why)));
		return NULL;
	}
	for (i = 0; i < nkeys; i++) {
		a[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
		a[1] = (CK_ATTRIBUTE){ CKA_LABEL, keys[i].label,
		    keys[i].label != NULL ? strlen(keys[i].label) : 0 };
		a[2] = (CK_ATTRIBUTE){ CKA_ID, keys[i].id, keys[i].id_len };
		if (keys[i].isPrivate &&
		    p11_kit_uri_match_attributes(uri, a, 3) == 1) {
			found = &keys[i];
			n++;
		}
	}
	if (n == 0)
		snprintf(err, errlen, "token \"%s\" holds no private key "
		    "matching %s (list them: pkcs11-tool --module %s --login "
		    "--list-objects)", slot->token->label, text, p11load.module);
	else if (n > 1)
		snprintf(err, errlen, "%u private keys of token \"%s\" match "
		    "%s: name one (object= and id=)", n, slot->token->label,
		    text);
	return n == 1 ? found : NULL;
}

/* Parses text and refuses what keybridge does not take: no object named,
 * another object type than a private key, a PIN inside the URI.  A new
 * P11KitUri or NULL with err set. */
static P11KitUri *
p11load_uri(const char *text, char *err, size_t errlen)
{
	P11KitUri *uri;
	CK_ATTRIBUTE *cls;
	int r;

	if ((uri = p11_kit_uri_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((r = p11_kit_uri_parse(text, P11_KIT_URI_FOR_OBJECT_ON_TOKEN,
	    uri)) != P11_KIT_URI_OK) {
		snprintf(err, errlen, "%s is not a PKCS#11 URI (RFC 7512): %s",
		    text, p11_kit_uri_message(r));
		goto fail;
	}
	if (p11_kit_uri_any_unrecognized(uri)) {
		snprintf(err, errlen, "%s has an attribute keybridge does not "
		    "know (RFC 7512 2.3: token, manufacturer, model, serial, "
		    "object, id, type)", text);
		goto fail;
	}
	if (p11_kit_uri_get_pin_value(uri) != NULL ||
	    p11_kit_uri_get_pin_source(uri) != NULL) {
		snprintf(err, errlen, "%s carries a PIN: put it in the file "
		    "pkcs11_pin_file names (mode 0600) instead", text);
		goto fail;
	}
	cls = p11_kit_uri_get_attribute(uri, CKA_CLASS);
	if (cls != NULL && (cls->ulValueLen != sizeof(CK_OBJECT_CLASS) ||
	    *(CK_OBJECT_CLASS *)cls->pValue != CKO_PRIVATE_KEY)) {
		snprintf(err, errlen, "%s does not name a private key "
		    "(type=private)", text);
		goto fail;
	}
	if (p11_kit_uri_get_attribute(uri, CKA_LABEL) == NULL &&
	    p11_kit_uri_get_attribute(uri, CKA_ID) == NULL) {
		snprintf(err, errlen, "%s names no key: add object= (its "
		    "label) or id=", text);
		goto fail;
	}
	return uri;
fail:
	p11_kit_uri_free(uri);
	return NULL;
}

/* See ca.h. */
EVP_PKEY *
p11load_key(const struct bridge_config *cfg, const char *text, char *err,
    size_t errlen)
{
	char module[PATH_MAX], why[256];
	P11KitUri *uri = NULL;
	PKCS11_SLOT *slot;
	PKCS11_KEY *key;
	EVP_PKEY *pk = NULL;

	if ((uri = p11load_uri(text, err, errlen)) == NULL)
		return NULL;
	if (config_path(cfg, cfg->pkcs11_module, module,
	    sizeof(module))[0] == '\0') {
		snprintf(err, errlen, "%s needs a PKCS#11 module: set "
		    "pkcs11_module in keybridge.conf", text);
		p11_kit_uri_free(uri);
		return NULL;
	}
	pthread_mutex_lock(&p11load.lock);
	if (p11load_ctx(module, err, errlen) == -1 ||
	    (slot = p11load_slot(uri, text, err, errlen)) == NULL ||
	    p11load_login(cfg, slot, err, errlen) == -1 ||
	    (key = p11load_find(uri, text, slot, err, errlen)) == NULL)
		goto out;
	if ((pk = PKCS11_get_private_key(key)) == NULL) {
		snprintf(err, errlen, "token \"%s\": key %s is not usable "
		    "(RSA and EC keys are; libp11 %s has no EdDSA): %s",
		    slot->token->label, text, "0.4.12",
		    p11load_reason(why, sizeof(why)));
		goto out;
	}
	log_debug("pkcs11: %s loaded from token \"%s\"", text,
	    slot->token->label);
out:
	pthread_mutex_unlock(&p11load.lock);
	p11_kit_uri_free(uri);
	ERR_clear_error();
	return pk;
}
