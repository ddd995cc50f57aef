/*
 * cmd_ca.c: keys in a PKCS#11 token: `keybridge init --pkcs11-*` (the
 * issuing CA and OCSP signer keys made in the token) and `keybridge ca
 * move-to-token` (an existing data directory's keys copied into a token,
 * the configuration pointed at them).  docs/operations.md "Keys in a
 * PKCS#11 token".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bridge/cli/cli.h"

#define CA_SHRED_BLOCK	4096	/* bytes overwritten per write */

/* The keys that may live in a token: the config field, its label there. */
struct ca_slot {
	char *value;			/* in cfg: a path or a URI */
	size_t size;
	const char *what;		/* for messages */
	const char *label;		/* CKA_LABEL in the token */
};

/* Copies the absolute form of path (which must exist) into out.  0, or
 * 1 after a message naming opt. */
static int
ca_abs(const char *path, const char *opt, char *out, size_t outlen)
{
	char buf[PATH_MAX];

	if (realpath(path, buf) == NULL)
		return cli_fail("usage", "--%s %s: %s", opt, path,
		    strerror(errno));
	if ((size_t)snprintf(out, outlen, "%s", buf) >= outlen)
		return cli_fail("usage", "--%s %s: the path is longer than "
		    "%zu bytes", opt, buf, outlen - 1);
	return 0;
}

/* See cli.h. */
int
cli_token_check(struct cli *c, char pin[CA_PIN_MAX + 1])
{
	char err[512];
	int n = (c->o.pkcs11_module != NULL) + (c->o.pkcs11_token != NULL) +
	    (c->o.pkcs11_pin_file != NULL);

	pin[0] = '\0';
	if (n == 0)
		return 0;
	if (n != 3)
		return cli_fail("usage", "--pkcs11-module, --pkcs11-token and "
		    "--pkcs11-pin-file go together");
	if (ca_token_pin(c->o.pkcs11_pin_file, pin, err, sizeof(err)) != 0)
		return cli_fail("pkcs11", "%s", err);
	return 0;
}

/* Points cfg at the module and PIN file of the options (absolute paths:
 * the data directory may be used from anywhere).  0 or 1. */
static int
ca_set_token(struct cli *c)
{
	struct bridge_config *cfg = &c->cfg;
	char mod[sizeof(cfg->pkcs11_module)];

	if (ca_abs(c->o.pkcs11_module, "pkcs11-module", mod, sizeof(mod)) ||
	    ca_abs(c->o.pkcs11_pin_file, "pkcs11-pin-file",
	    cfg->pkcs11_pin_file, sizeof(cfg->pkcs11_pin_file)))
		return 1;
	if (cfg->pkcs11_module[0] != '\0' &&
	    strcmp(cfg->pkcs11_module, mod) != 0)
		return cli_fail("pkcs11", "keybridge.conf already uses the "
		    "PKCS#11 module %s; every key must use one module",
		    cfg->pkcs11_module);
	snprintf(cfg->pkcs11_module, sizeof(cfg->pkcs11_module), "%s", mod);
	return 0;
}

/* Refuses a label the token already uses: a second key of that label
 * would make its URI name two keys.  0 or 1. */
static int
ca_label_free(struct p11make *m, const char *label, const char *token)
{
	char err[512];
	int n;

	if (p11make_count(m, label, &n, err, sizeof(err)) != 0)
		return cli_fail("pkcs11", "%s", err);
	if (n != 0)
		return cli_fail("pkcs11", "token \"%s\" already holds %d "
		    "object(s) labelled %s: use another token (or delete them "
		    "with pkcs11-tool --delete-object)", token, n, label);
	return 0;
}

/* See cli.h. */
int
cli_token_init(struct cli *c, const char *key_type, const char *pin,
    EVP_PKEY **iss, EVP_PKEY **ocsp)
{
	struct bridge_config *cfg = &c->cfg;
	struct p11make *m = NULL;
	unsigned char id[CA_TOKEN_ID_LEN];
	char err[512];
	const char *tok = c->o.pkcs11_token;
	int rc = 1;

	*iss = *ocsp = NULL;
	if (ca_set_token(c) != 0)
		return 1;
	if ((m = p11make_open(cfg->pkcs11_module, tok, pin, err,
	    sizeof(err))) == NULL) {
		cli_fail("pkcs11", "%s", err);
		goto out;
	}
	if (ca_label_free(m, CA_LABEL_ISSUING, tok) != 0 ||
	    ca_label_free(m, CA_LABEL_OCSP, tok) != 0)
		goto out;
	if (p11make_new_id(id) != 0 ||
	    p11make_generate(m, key_type, CA_LABEL_ISSUING, id, sizeof(id),
	    err, sizeof(err)) != 0 ||
	    p11make_uri(m, CA_LABEL_ISSUING, cfg->ca_issuing_key,
	    sizeof(cfg->ca_issuing_key)) != 0 ||
	    p11make_new_id(id) != 0 ||
	    p11make_generate(m, key_type, CA_LABEL_OCSP, id, sizeof(id), err,
	    sizeof(err)) != 0 ||
	    p11make_uri(m, CA_LABEL_OCSP, cfg->ocsp_key,
	    sizeof(cfg->ocsp_key)) != 0) {
		cli_fail("pkcs11", "cannot make the keys in token \"%s\": %s",
		    tok, err[0] != '\0' ? err : "no URI");
		goto out;
	}
	/* The module is let go before libp11 loads it (p11make.c). */
	p11make_close(m);
	m = NULL;
	if ((*iss = ca_key_load(cfg, cfg->ca_issuing_key, "issuing CA key",
	    err, sizeof(err))) == NULL ||
	    (*ocsp = ca_key_load(cfg, cfg->ocsp_key, "OCSP signer key", err,
	    sizeof(err))) == NULL) {
		cli_fail("pkcs11", "%s", err);
		goto out;
	}
	printf("token keys  %s\n            %s\n", cfg->ca_issuing_key,
	    cfg->ocsp_key);
	rc = 0;
out:
	p11make_close(m);
	if (rc != 0) {
		EVP_PKEY_free(*iss);
		EVP_PKEY_free(*ocsp);
		*iss = *ocsp = NULL;
	}
	return rc;
}

/* ---- ca move-to-token --------------------------------------------------- */

/* Overwrites the file path with random bytes, fsyncs and removes it.
 * On a journalling or copy-on-write file system, or an SSD, old blocks
 * may survive: docs/operations.md says so.  0 or -1 (errno). */
static int
ca_shred(const char *path)
{
	unsigned char buf[CA_SHRED_BLOCK];
	struct stat st;
	off_t left;
	size_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto out;
	for (left = st.st_size; left > 0; left -= (off_t)n) {
		n = left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf);
		if (RAND_bytes(buf, (int)n) != 1 || write(fd, buf, n) !=
		    (ssize_t)n)
			goto out;
	}
	if (fsync(fd) == -1 || unlink(path) == -1)
		goto out;
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Moves the key of slot s from its file into m's token: imported, then
 * loaded back through the token and compared with the file's public
 * key.  *moved is set when it was; a key already in a token or of a type
 * no token takes here (Ed25519) is left, with a note.  0 or 1. */
static int
ca_move_one(struct cli *c, struct p11make *m, const struct ca_slot *s,
    char *uri, size_t urilen, int *moved)
{
	unsigned char id[CA_TOKEN_ID_LEN];
	char err[512];
	EVP_PKEY *k = NULL;
	int rc = 1;

	*moved = 0;
	if (ca_is_token_uri(s->value)) {
		printf("%-20s already in a token: %s\n", s->what, s->value);
		return 0;
	}
	if ((k = ca_key_load(&c->cfg, s->value, s->what, err,
	    sizeof(err))) == NULL)
		return cli_fail("key", "%s", err);
	if (EVP_PKEY_is_a(k, "ED25519") == 1) {
		printf("%-20s stays in %s: an Ed25519 key, which libp11 0.4.12 "
		    "cannot use in a token\n", s->what, s->value);
		rc = 0;
		goto out;
	}
	if (ca_label_free(m, s->label, c->o.pkcs11_token) != 0)
		goto out;
	if (p11make_new_id(id) != 0 || p11make_import(m, k, s->label, id,
	    sizeof(id), err, sizeof(err)) != 0) {
		cli_fail("pkcs11", "%s: %s", s->what, err);
		goto out;
	}
	if (p11make_uri(m, s->label, uri, urilen) != 0) {
		cli_fail("pkcs11", "%s: the URI is too long", s->what);
		goto out;
	}
	*moved = 1;
	rc = 0;
out:
	EVP_PKEY_free(k);
	return rc;
}

/* 0 when the key uri names has the public key of the file path; 1 after
 * a message. */
static int
ca_move_check(struct cli *c, const struct ca_slot *s, const char *file,
    const char *uri)
{
	EVP_PKEY *a = NULL, *b = NULL;
	char err[512];
	int rc = 1;

	if ((a = ca_key_load(&c->cfg, file, s->what, err, sizeof(err))) ==
	    NULL || (b = ca_key_load(&c->cfg, uri, s->what, err,
	    sizeof(err))) == NULL) {
		cli_fail("pkcs11", "%s", err);
		goto out;
	}
	if (EVP_PKEY_eq(a, b) != 1) {
		cli_fail("pkcs11", "%s: the key %s is not the one of %s",
		    s->what, uri, file);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	ERR_clear_error();
	return rc;
}

/* The four keys that may move, in the order they are moved. */
static size_t
ca_slots(struct bridge_config *cfg, struct ca_slot *s)
{
	s[0] = (struct ca_slot){ cfg->ca_issuing_key,
	    sizeof(cfg->ca_issuing_key), "issuing CA key", CA_LABEL_ISSUING };
	s[1] = (struct ca_slot){ cfg->ocsp_key, sizeof(cfg->ocsp_key),
	    "OCSP signer key", CA_LABEL_OCSP };
	s[2] = (struct ca_slot){ cfg->bridge_key, sizeof(cfg->bridge_key),
	    "bridge account key", CA_LABEL_BRIDGE };
	s[3] = (struct ca_slot){ cfg->validator_key,
	    sizeof(cfg->validator_key), "validator key", CA_LABEL_NODE };
	return 4;
}

#define CA_NSLOTS 4

/* Writes the new configuration and says (or does, --shred) what becomes
 * of the old key files.  0 or 1. */
static int
ca_move_finish(struct cli *c, char files[CA_NSLOTS][CONFIG_STR],
    size_t nfiles)
{
	char path[PATH_MAX], conf[PATH_MAX];
	size_t i;
	int rc = 0;

	if (config_write(&c->cfg, config_path(&c->cfg, CONFIG_FILE, conf,
	    sizeof(conf))) != 0)
		return cli_fail("config", "cannot write %s", conf);
	printf("%s now names the token's keys (pkcs11_module %s, "
	    "pkcs11_pin_file %s)\n", conf, c->cfg.pkcs11_module,
	    c->cfg.pkcs11_pin_file);
	for (i = 0; i < nfiles; i++) {
		config_path(&c->cfg, files[i], path, sizeof(path));
		if (!c->o.shred) {
			printf("old key file %s still holds the key: keep it "
			    "offline as a backup or remove it (shred -u %s)\n",
			    path, path);
		} else if (ca_shred(path) == 0) {
			printf("shredded %s\n", path);
		} else {
			rc = cli_fail("shred", "%s: %s (the key is in the "
			    "token; remove the file by hand)", path,
			    strerror(errno));
		}
	}
	return rc;
}

/* `keybridge ca move-to-token -d DIR --pkcs11-module SO --pkcs11-token
 * LABEL --pkcs11-pin-file F [--shred]`. */
static int
ca_move_to_token(struct cli *c)
{
	struct ca_slot s[CA_NSLOTS];
	struct p11make *m = NULL;
	char files[CA_NSLOTS][CONFIG_STR], uris[CA_NSLOTS][CONFIG_STR];
	char pin[CA_PIN_MAX + 1] = "", err[512];
	size_t i, n, nmoved = 0;
	int moved[CA_NSLOTS] = { 0 }, lockfd = -1, locked, rc = 1;

	if (cli_only(c, "pkcs11-module pkcs11-token pkcs11-pin-file shred") ||
	    cli_load_config(c))
		return 1;
	if (c->o.pkcs11_module == NULL)
		return cli_fail("usage", "ca move-to-token needs "
		    "--pkcs11-module, --pkcs11-token and --pkcs11-pin-file");
	if (cli_token_check(c, pin) != 0)
		return 1;
	if ((locked = config_lock(&c->cfg, &lockfd)) != 0) {
		cli_fail("busy", locked == 1 ? "a bridge is running on %s: "
		    "stop it first" : "cannot lock %s", c->cfg.dir);
		goto out;
	}
	if (ca_set_token(c) != 0)
		goto out;
	if ((m = p11make_open(c->cfg.pkcs11_module, c->o.pkcs11_token, pin,
	    err, sizeof(err))) == NULL) {
		cli_fail("pkcs11", "%s", err);
		goto out;
	}
	n = ca_slots(&c->cfg, s);
	for (i = 0; i < n; i++)
		if (ca_move_one(c, m, &s[i], uris[i], sizeof(uris[i]),
		    &moved[i]) != 0)
			goto out;
	p11make_close(m);
	m = NULL;
	/* Nothing in keybridge.conf changes until every moved key is back
	 * from the token and is the file's key. */
	for (i = 0; i < n; i++) {
		if (!moved[i])
			continue;
		if (ca_move_check(c, &s[i], s[i].value, uris[i]) != 0)
			goto out;
		snprintf(files[nmoved++], sizeof(files[0]), "%s", s[i].value);
		snprintf(s[i].value, s[i].size, "%s", uris[i]);
		printf("%-20s moved: %s\n", s[i].what, uris[i]);
	}
	if (nmoved == 0) {
		printf("no key to move\n");
		rc = 0;
		goto out;
	}
	rc = ca_move_finish(c, files, nmoved);
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	p11make_close(m);
	if (lockfd != -1)
		close(lockfd);
	return rc;
}

/* `ca rollover -d DIR --root-key FILE` (issue 17): a new issuing CA and
 * OCSP signer, current from the bridge's next start. */
static int
ca_rollover_cmd(struct cli *c)
{
	char err[512], id[CA_ISSUER_ID_MAX + 1];

	if (cli_only(c, "root-key") != 0 || cli_load_config(c) != 0)
		return 1;
	if (c->o.root_key == NULL)
		return cli_fail("usage", "ca rollover needs --root-key FILE, "
		    "the root CA's key init wrote (DIR/ca/root.key unless "
		    "--root-key-out said otherwise)");
	if (ca_rollover(&c->cfg, c->o.root_key, id, err, sizeof(err)) != 0)
		return cli_fail("ca rollover", "%s", err);
	printf("new issuing CA %s\n"
	    "  files      %s/%s/%s/ (issuing.pem, ocsp.pem, their keys)\n"
	    "  current    from the next start of serve: restart the bridge "
	    "(new certificates then come from it)\n"
	    "  old CA     still served (OCSP, CRL, cacerts) until its last "
	    "certificate expires\n"
	    "  root key   %s: move it offline again\n", id, c->cfg.dir,
	    CA_ISSUERS_DIR, id, c->o.root_key);
	return 0;
}

int
cmd_ca(struct cli *c, const char *sub)
{
	if (strcmp(sub, "move-to-token") == 0)
		return ca_move_to_token(c);
	if (strcmp(sub, "rollover") == 0)
		return ca_rollover_cmd(c);
	return cli_fail("usage", "ca move-to-token | ca rollover");
}
