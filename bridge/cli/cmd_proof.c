/*
 * cmd_proof.c: proof bundles from the command line (issue 15,
 * docs/cli.md "proof", "config bundle"):
 *
 *   keybridge proof config -d DIR --group G (--file F | --sha256 H |
 *                          --version V) [--since SIZE] -o FILE
 *   keybridge proof key -d DIR --key-id ID [--since SIZE] -o FILE
 *   keybridge proof cert -d DIR --serial S [--since SIZE] -o FILE
 *   keybridge proof status -d DIR (--key-id ID | --serial S) -o FILE
 *   keybridge config bundle -d DIR --group G --file F -o DIR2
 *
 * They read the data directory's ledger (as the API does: the latest
 * final checkpoint) and write ledger/bundle.h's text.  `config bundle`
 * is for a configuration server: the current file and its bundle side by
 * side, so a device needs nothing from the bridge.  Until the bridge
 * keeps the configuration bytes itself (issue 15's first part), the file
 * is given with --file and must hash to the group's current publication.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bridge/cli/cli.h"
#include "ledger/bundle.h"

#define PROOF_CHUNK 65536

/* Hex SHA-256 of the file at path into hex (65 bytes).  0 or -1. */
static int
proof_file_sha256(const char *path, char hex[2 * LEDGER_HASH_LEN + 1])
{
	uint8_t md[LEDGER_HASH_LEN], *buf = NULL;
	EVP_MD_CTX *ctx = NULL;
	FILE *fp = NULL;
	size_t n;
	int rc = -1;

	if ((buf = malloc(PROOF_CHUNK)) == NULL ||
	    (fp = fopen(path, "rb")) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = fread(buf, 1, PROOF_CHUNK, fp)) > 0)
		if (EVP_DigestUpdate(ctx, buf, n) != 1)
			goto out;
	if (ferror(fp) || EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		goto out;
	ledger_hex(md, sizeof(md), hex);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	if (fp != NULL)
		fclose(fp);
	free(buf);
	return rc;
}

/* Writes data[0..len) to path atomically (path.tmp, fsync, rename), so a
 * server publishing the folder never serves half a file.  0 or -1. */
static int
proof_write(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	ssize_t n;
	size_t off = 0;
	int fd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return -1;
	while (off < len && (n = write(fd, (const char *)data + off,
	    len - off)) > 0)
		off += (size_t)n;
	if (off == len && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0 || rc != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Copies the file src to dst atomically, in chunks (a firmware image
 * is never held whole).  0 or -1. */
static int
proof_copy(const char *src, const char *dst)
{
	char tmp[PATH_MAX], *buf = NULL;
	FILE *in = NULL, *o = NULL;
	size_t n;
	int rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= (int)sizeof(tmp) ||
	    (buf = malloc(PROOF_CHUNK)) == NULL ||
	    (in = fopen(src, "rb")) == NULL || (o = fopen(tmp, "wb")) == NULL)
		goto out;
	while ((n = fread(buf, 1, PROOF_CHUNK, in)) > 0)
		if (fwrite(buf, 1, n, o) != n)
			goto out;
	if (!ferror(in) && fflush(o) == 0 && fsync(fileno(o)) == 0)
		rc = 0;
out:
	if (o != NULL && fclose(o) != 0)
		rc = -1;
	if (in != NULL)
		fclose(in);
	if (o != NULL && (rc != 0 || rename(tmp, dst) != 0)) {
		unlink(tmp);
		rc = -1;
	}
	free(buf);
	return rc;
}

/* The --since option into *since (0 when absent).  0, or 1 after a
 * message. */
static int
proof_since(struct cli *c, uint64_t *since)
{
	char *end;
	unsigned long long v;

	*since = 0;
	if (c->o.since == NULL)
		return 0;
	errno = 0;
	v = strtoull(c->o.since, &end, 10);
	if (errno != 0 || *end != '\0' || end == c->o.since || v == 0 ||
	    c->o.since[0] == '-')
		return cli_fail("usage", "--since is a tree size from 1");
	*since = v;
	return 0;
}

/* What sub (config, key, cert) asks to prove, into *a.  0, or 1 after a
 * message. */
static int
proof_ask(struct cli *c, struct ledger *l, const char *sub,
    struct ledger_bundle_ask *a)
{
	char hex[2 * LEDGER_HASH_LEN + 1];
	const char *sha = c->o.sha256;
	int rc;

	if (strcmp(sub, "config") == 0) {
		if (c->o.group == NULL || (c->o.file != NULL) + (sha != NULL) +
		    (c->o.version != NULL) != 1)
			return cli_fail("usage", "proof config needs --group and "
			    "one of --file, --sha256, --version");
		if (c->o.file != NULL) {
			if (proof_file_sha256(c->o.file, hex) != 0)
				return cli_fail("usage", "cannot read %s: %s",
				    c->o.file, strerror(errno));
			sha = hex;
		}
		rc = ledger_bundle_config(l, c->o.group, sha, c->o.version, a);
	} else if (strcmp(sub, "key") == 0 && c->o.key_id != NULL)
		rc = ledger_bundle_key(l, c->o.key_id, a);
	else if (strcmp(sub, "cert") == 0 && c->o.serial != NULL)
		rc = ledger_bundle_cert(l, c->o.serial, a);
	else
		return cli_fail("usage", "proof config --group G (--file F | "
		    "--sha256 H | --version V), proof key --key-id ID or proof "
		    "cert --serial S, with -o FILE");
	if (rc < 0)
		return cli_fail("ledger", "cannot read the registry");
	if (rc == 1)
		return cli_fail("not_found", "the ledger has no such %s", sub);
	return 0;
}

/* The bundle of a into *text (free it).  0, or 1 after a message. */
static int
proof_make(struct ledger *l, const struct ledger_bundle_ask *a, char **text,
    size_t *len)
{
	char why[256];
	int rc;

	if ((rc = ledger_bundle(l, a, text, len, why, sizeof(why))) != 0)
		return cli_fail(rc == 1 ? "not_final" : "ledger", "%s", why);
	return 0;
}

/* proof status: the status bundle of a key or certificate (a proof of
 * absence for one the registry never held).  0, or 1 after a message. */
static int
proof_status(struct cli *c, struct ledger *l)
{
	char why[256], *text = NULL;
	size_t len = 0;
	int rc;

	if ((c->o.key_id != NULL) + (c->o.serial != NULL) != 1 ||
	    c->o.since != NULL)
		return cli_fail("usage", "proof status needs --key-id ID or "
		    "--serial S, and -o FILE");
	if ((rc = ledger_bundle_status(l, c->o.key_id != NULL ?
	    LEDGER_MAP_KEY : LEDGER_MAP_CERT, c->o.key_id != NULL ?
	    c->o.key_id : c->o.serial, &text, &len, why, sizeof(why))) != 0)
		return cli_fail(rc == 1 ? "not_final" : "ledger", "%s", why);
	rc = proof_write(c->o.out, text, len) != 0 ?
	    cli_fail("write", "cannot write %s", c->o.out) : 0;
	if (rc == 0)
		printf("wrote %s: status of %s %s\n", c->o.out, c->o.key_id !=
		    NULL ? "key" : "certificate", c->o.key_id != NULL ?
		    c->o.key_id : c->o.serial);
	free(text);
	return rc;
}

int
cmd_proof(struct cli *c, const char *sub)
{
	struct ledger_bundle_ask a;
	struct ledger *l = NULL;
	char *text = NULL;
	size_t len = 0;
	uint64_t since;
	int rc = 1;

	c->cmd = "proof";
	/* status proves a state as of the final checkpoint: no file, no
	 * consistency proof */
	if (cli_load_config(c) != 0 || cli_only(c, strcmp(sub, "status") == 0 ?
	    "key-id serial out db" : "group file sha256 version key-id "
	    "serial since out db") != 0 || proof_since(c, &since) != 0)
		return 1;
	if (c->o.out == NULL)
		return cli_fail("usage", "proof needs -o FILE");
	if ((l = cli_ledger_open(c, 0)) == NULL)
		return 1;
	if (strcmp(sub, "status") == 0) {
		rc = proof_status(c, l);
		goto out;
	}
	memset(&a, 0, sizeof(a));
	if (proof_ask(c, l, sub, &a) != 0)
		goto out;
	a.since = since;
	if (proof_make(l, &a, &text, &len) != 0)
		goto out;
	if (proof_write(c->o.out, text, len) != 0) {
		rc = cli_fail("write", "cannot write %s", c->o.out);
		goto out;
	}
	printf("wrote %s: entry %llu\n", c->o.out, (unsigned long long)a.index);
	rc = 0;
out:
	free(text);
	cli_ledger_close(c, l);
	return rc;
}

int
cmd_config_bundle(struct cli *c)
{
	struct ledger_bundle_ask a;
	struct ledger *l = NULL;
	char hex[2 * LEDGER_HASH_LEN + 1], path[PATH_MAX], *text = NULL;
	const char *base;
	size_t len = 0;
	int rc = 1, r;

	c->cmd = "config bundle";
	if (cli_load_config(c) != 0 || cli_only(c, "group file out db") != 0)
		return 1;
	if (c->o.group == NULL || c->o.file == NULL || c->o.out == NULL)
		return cli_fail("usage", "config bundle needs --group, --file "
		    "(the current file, until the bridge keeps it) and -o DIR");
	if (proof_file_sha256(c->o.file, hex) != 0)
		return cli_fail("usage", "cannot read %s: %s", c->o.file,
		    strerror(errno));
	if ((l = cli_ledger_open(c, 0)) == NULL)
		return 1;
	memset(&a, 0, sizeof(a));
	if ((r = ledger_bundle_config(l, c->o.group, hex, NULL, &a)) != 0 ||
	    a.latest != LEDGER_BUNDLE_NONE) {
		rc = r < 0 ? cli_fail("ledger", "cannot read the publications") :
		    cli_fail("not_current", "%s (sha256 %s) is not the current "
		    "publication of group %s", c->o.file, hex, c->o.group);
		goto out;
	}
	if (proof_make(l, &a, &text, &len) != 0)
		goto out;
	base = strrchr(c->o.file, '/') != NULL ? strrchr(c->o.file, '/') + 1 :
	    c->o.file;
	if (snprintf(path, sizeof(path), "%s/%s", c->o.out, base) >=
	    (int)sizeof(path) - 12 || proof_copy(c->o.file, path) != 0) {
		rc = cli_fail("write", "cannot write %s/%s", c->o.out, base);
		goto out;
	}
	strcat(path, ".tlog-proof");
	if (proof_write(path, text, len) != 0) {
		rc = cli_fail("write", "cannot write %s", path);
		goto out;
	}
	printf("wrote %s/%s and %s: entry %llu\n", c->o.out, base, path,
	    (unsigned long long)a.index);
	rc = 0;
out:
	free(text);
	cli_ledger_close(c, l);
	return rc;
}
