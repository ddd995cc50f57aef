/*
 * cmd_config.c: `keybridge config publish|history|get|diff`: published
 * configuration and firmware, their bytes kept in the data directory's
 * blob folder (ledger/blob.h, docs/design.md "Configuration and firmware
 * bytes").
 *
 * The CLI stores the bytes itself, then submits the entry (to the running
 * bridge or the ledger directly, as every writing command): it runs on the
 * bridge's own data directory, so it streams the file straight into the
 * folder, and the bridge never buffers an upload (libevent 2.1's server
 * reads a whole request body before any handler runs).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bridge/cli/cli.h"
#include "bridge/config_blob.h"

#define CONFIG_DIFF_TMP	"/tmp/keybridge-diff-XXXXXX"

/* config publish: the bytes into the blob folder, then the entry. */
static int
config_publish(struct cli *c)
{
	struct ledger_field f[7];
	struct ledger_receipt r;
	char hex[BLOB_HEX_LEN + 1], version[32], size[24], what[256];
	char dir[PATH_MAX], err[PATH_MAX + 128], note[CONFIG_TEXT_MAX];
	const char *base;
	int64_t len;
	int text, rc;
	size_t n = 0;

	if (cli_only(c, "as account json remote group file version db note")
	    != 0)
		return 1;
	if (c->o.group == NULL || c->o.file == NULL)
		return cli_fail("usage", "config publish needs --group and "
		    "--file");
	if (c->o.note != NULL && (c->o.note[0] == '\0' ||
	    config_note_encode(c->o.note, note, sizeof(note)) != 0))
		return cli_fail("usage", "--note must be 1 to %d bytes once "
		    "spaces and other bytes are written %%XX", CONFIG_TEXT_MAX - 1);
	if (config_blob_store(&c->cfg, dir, sizeof(dir)) != 0)
		return cli_fail("config", "blob_dir is too long");
	if ((rc = blob_put(dir, c->o.file, c->cfg.blob_max_bytes, hex,
	    &len, &text, err, sizeof(err))) != 0)
		return cli_fail(rc == -2 ? "too_large" : "usage", "%s", err);
	/* Default version: the content's own hash, so publishing the same
	 * file twice is refused as the same version. */
	snprintf(version, sizeof(version), "sha256-%.16s", hex);
	snprintf(size, sizeof(size), "%lld", (long long)len);
	base = strrchr(c->o.file, '/') != NULL ? strrchr(c->o.file, '/') + 1 :
	    c->o.file;
	f[n++] = (struct ledger_field){ "group", c->o.group };
	f[n++] = (struct ledger_field){ "version",
	    c->o.version != NULL ? c->o.version : version };
	f[n++] = (struct ledger_field){ "sha256", hex };
	f[n++] = (struct ledger_field){ "size", size };
	f[n++] = (struct ledger_field){ "file", base };
	f[n++] = (struct ledger_field){ "media-type", text ? "text/plain" :
	    "application/octet-stream" };
	if (c->o.note != NULL)
		f[n++] = (struct ledger_field){ "note", note };
	if (cli_submit(c, LEDGER_CONFIG_PUBLISH, f, n, &r) != 0)
		return 1;
	snprintf(what, sizeof(what), "published %s version %s (sha256 %s)",
	    c->o.group, f[1].value, hex);
	cli_print_receipt(c, &r, what, NULL);
	return 0;
}

static int
config_history_cb(const struct config_version *v, void *arg)
{
	struct cli *c = arg;
	char t[21];
	json_t *j;

	if (c->json) {
		if ((j = config_version_json(v)) != NULL)
			json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
		return 0;
	}
	ledger_time_format(v->time, t);
	printf("%s  %s  leaf %llu  %lld bytes  %s  sha256 %s%s%s\n",
	    v->info.version, t, (unsigned long long)v->info.index,
	    (long long)v->info.size, v->media_type[0] ? v->media_type : "-",
	    v->info.sha256, v->note[0] ? "  " : "", v->note);
	return 0;
}

/* config history: every version, newest first. */
static int
config_history(struct cli *c, struct ledger *l)
{
	struct config_version v;
	int rc;

	if ((rc = config_version_find(l, c->o.group, NULL, &v)) != 0)
		return rc < 0 ? cli_fail("storage_error", "cannot read the "
		    "configurations") : cli_fail("config_not_found", "nothing "
		    "is published for group %s", c->o.group);
	if (config_versions(l, c->o.group, config_history_cb, c) != 0)
		return cli_fail("storage_error", "cannot read the "
		    "configurations");
	return 0;
}

/* Finds group's version (NULL: current) into v.  0 or 1 after a
 * message. */
static int
config_find(struct cli *c, struct ledger *l, const char *version,
    struct config_version *v)
{
	int rc = config_version_find(l, c->o.group, version, v);

	if (rc < 0)
		return cli_fail("storage_error", "cannot read the "
		    "configurations");
	if (rc > 0 && version != NULL)
		return cli_fail("config_not_found", "group %s has no version "
		    "%s", c->o.group, version);
	if (rc > 0)
		return cli_fail("config_not_found", "nothing is published for "
		    "group %s", c->o.group);
	return 0;
}

/* config get: a version's bytes into -o FILE, their hash checked. */
static int
config_get(struct cli *c, struct ledger *l, const char *dir)
{
	struct config_version v;
	char err[PATH_MAX + 128];

	if (c->o.out == NULL)
		return cli_fail("usage", "config get needs -o FILE");
	if (config_find(c, l, c->o.version, &v) != 0)
		return 1;
	if (blob_get_file(dir, v.info.sha256, c->o.out, err, sizeof(err)) != 0)
		return cli_fail("blob", "%s", err);
	if (!c->json)
		printf("wrote %s version %s (%lld bytes, sha256 %s) to %s\n",
		    c->o.group, v.info.version, (long long)v.info.size,
		    v.info.sha256, c->o.out);
	return 0;
}

/* 1 when blob hex of dir is text and at most max bytes. */
static int
config_is_text(const char *dir, const char *hex, long max)
{
	unsigned char buf[BLOB_SNIFF];
	struct blob_reader r;
	char err[256];
	ssize_t n;
	int text = 1;

	if (blob_reader_open(&r, dir, hex, err, sizeof(err)) != 0)
		return 0;
	if (r.size > max)
		text = 0;
	else if ((n = blob_reader_read(&r, buf, sizeof(buf))) < 0)
		text = 0;
	else
		for (ssize_t i = 0; i < n && text; i++)
			if (buf[i] < 0x20 && buf[i] != '\t' && buf[i] != '\n' &&
			    buf[i] != '\r' && buf[i] != '\f')
				text = 0;
	blob_reader_close(&r);
	return text;
}

/* Runs diff -u on the two files, labelled; its exit status (0 same, 1
 * different), or 2 when it cannot run. */
static int
config_run_diff(const char *a, const char *la, const char *b,
    const char *lb)
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) < 0)
		return 2;
	if (pid == 0) {
		execlp("diff", "diff", "-u", "--label", la, "--label", lb, a, b,
		    (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 2;
	return WIFEXITED(st) && WEXITSTATUS(st) <= 1 ? WEXITSTATUS(st) : 2;
}

/* config diff V1 V2: a unified diff of two text versions (the system's
 * diff -u on temporary copies), sizes and hashes otherwise. */
static int
config_diff(struct cli *c, struct ledger *l, const char *dir)
{
	struct config_version v[2];
	char tmp[2][sizeof(CONFIG_DIFF_TMP)], label[2][160];
	char err[PATH_MAX + 128];
	int rc = 1, d;

	tmp[0][0] = tmp[1][0] = '\0';
	if (c->o.nargs != 2)
		return cli_fail("usage", "config diff -d DIR --group G V1 V2");
	for (int i = 0; i < 2; i++)
		if (config_find(c, l, c->o.args[i], &v[i]) != 0)
			return 1;
	if (!config_is_text(dir, v[0].info.sha256, c->cfg.config_max_bytes) ||
	    !config_is_text(dir, v[1].info.sha256, c->cfg.config_max_bytes)) {
		for (int i = 0; i < 2; i++)
			printf("%s %s: %lld bytes, sha256 %s\n",
			    i == 0 ? "---" : "+++", v[i].info.version,
			    (long long)v[i].info.size, v[i].info.sha256);
		printf("binary versions %s\n", strcmp(v[0].info.sha256,
		    v[1].info.sha256) == 0 ? "are the same" : "differ");
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		int fd;

		memcpy(tmp[i], CONFIG_DIFF_TMP, sizeof(CONFIG_DIFF_TMP));
		if ((fd = mkstemp(tmp[i])) < 0) {
			tmp[i][0] = '\0';
			rc = cli_fail("diff", "cannot create a temporary file");
			goto out;
		}
		close(fd);
		if (blob_get_file(dir, v[i].info.sha256, tmp[i], err,
		    sizeof(err)) != 0) {
			rc = cli_fail("blob", "%s", err);
			goto out;
		}
		snprintf(label[i], sizeof(label[i]), "%s@%s", c->o.group,
		    v[i].info.version);
	}
	if ((d = config_run_diff(tmp[0], label[0], tmp[1], label[1])) > 1)
		rc = cli_fail("diff", "cannot run diff -u");
	else
		rc = 0;
out:
	for (int i = 0; i < 2; i++)
		if (tmp[i][0] != '\0')
			unlink(tmp[i]);
	return rc;
}

int
cmd_config(struct cli *c, const char *sub)
{
	char dir[PATH_MAX];
	struct ledger *l;
	int rc;

	if (cli_load_config(c) != 0)
		return 1;
	if (strcmp(sub, "publish") == 0) {
		c->cmd = "config publish";
		return config_publish(c);
	}
	if (strcmp(sub, "history") == 0) {
		c->cmd = "config history";
		rc = cli_only(c, "group db json");
	} else if (strcmp(sub, "get") == 0) {
		c->cmd = "config get";
		rc = cli_only(c, "group version out db json");
	} else if (strcmp(sub, "diff") == 0) {
		c->cmd = "config diff";
		rc = cli_only(c, "group db");
	} else
		return cli_fail("usage", "config publish|history|get|diff");
	if (rc != 0)
		return 1;
	if (c->o.group == NULL)
		return cli_fail("usage", "%s needs --group", c->cmd);
	if (c->o.nargs > 0 && strcmp(sub, "diff") != 0)
		return cli_fail("usage", "unexpected argument \"%s\"",
		    c->o.args[0]);
	if (config_blob_store(&c->cfg, dir, sizeof(dir)) != 0)
		return cli_fail("config", "blob_dir is too long");
	if ((l = cli_ledger_open(c, 0)) == NULL)
		return 1;
	if (strcmp(sub, "history") == 0)
		rc = config_history(c, l);
	else if (strcmp(sub, "get") == 0)
		rc = config_get(c, l, dir);
	else
		rc = config_diff(c, l, dir);
	cli_ledger_close(c, l);
	return rc;
}

struct config_check {
	const char *dir;
	FILE *out;
	uint64_t ok, bad, unstored;
};

static int
config_check_cb(const struct config_version *v, void *arg)
{
	struct config_check *k = arg;
	enum blob_state s = blob_check(k->dir, v->info.sha256, v->info.size);

	if (s == BLOB_OK) {
		k->ok++;
		return 0;
	}
	/* Entries without a media type predate the blob folder: the bytes
	 * were never kept, nothing is missing. */
	if (s == BLOB_MISSING && v->media_type[0] == '\0') {
		k->unstored++;
		return 0;
	}
	k->bad++;
	fprintf(k->out, "ledger BROKEN at entry %llu: the bytes of %s "
	    "version %s (sha256 %s) are %s in %s\n",
	    (unsigned long long)v->info.index, v->info.group,
	    v->info.version, v->info.sha256, s == BLOB_MISSING ? "missing" :
	    s == BLOB_ALTERED ? "altered" : "unreadable",
	    ledger_db_is_postgres(k->dir) ? "the database's large objects" :
	    k->dir);
	return 0;
}

/* See cli.h. */
int
config_verify_blobs(struct cli *c, FILE *out)
{
	struct config_check k;
	char dir[PATH_MAX];
	struct ledger *l;
	int rc;

	memset(&k, 0, sizeof(k));
	if (config_blob_store(&c->cfg, dir, sizeof(dir)) != 0) {
		cli_fail("config", "blob_dir is too long");
		return -1;
	}
	k.dir = dir;
	k.out = out;
	if ((l = cli_ledger_open(c, 0)) == NULL)
		return -1;
	rc = config_versions(l, NULL, config_check_cb, &k);
	cli_ledger_close(c, l);
	if (rc != 0) {
		cli_fail("verify", "cannot read the configurations");
		return -1;
	}
	if (k.bad > 0)
		return 1;
	fprintf(out, "%llu published file%s: each its entry's SHA-256 and "
	    "size in %s", (unsigned long long)k.ok, k.ok == 1 ? "" : "s",
	    ledger_db_is_postgres(dir) ? "the database's large objects" : dir);
	if (k.unstored > 0)
		fprintf(out, " (%llu published before the blob folder, hash "
		    "only)", (unsigned long long)k.unstored);
	fputc('\n', out);
	return 0;
}
