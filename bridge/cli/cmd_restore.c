/*
 * cmd_restore.c: `keybridge restore -i FILE -d NEWDIR` (issue 17;
 * docs/operations.md "Backup and restore"): recreates a data directory
 * from a `keybridge backup` archive.
 *
 * NEWDIR must not exist or be empty.  The archive is unpacked by tar(1)
 * into a private staging directory beside NEWDIR; every file there must
 * be in the manifest and be a regular file (no links), and every file of
 * the manifest must be there with its size and SHA-256: a damaged
 * archive is refused before anything becomes NEWDIR.  Keys and the
 * database get mode 0600, the rest at most the mode recorded; the stage
 * is then renamed to NEWDIR and the ledger verified as `ledger verify`
 * does, and its tree size and root printed and compared with the
 * manifest's.  The manifest detects damage, not malice: whoever can
 * rewrite the archive can rewrite its manifest (and keybridge.conf's
 * node key); keep backups where only operators write.
 *
 * The key process's promise (bridge/keyproc/state.c): the archive's
 * keyproc.state never claims more than its ledger (backup copies it
 * first); restore refuses one that does.  The restored node promises no
 * more than the backup's ledger, while the node that was backed up may
 * have signed (and its validators cosigned) larger trees since: restore
 * says so, with what to do, every time.
 */
#include <dirent.h>
#include <errno.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bridge/cli/cli.h"
#include "bridge/keyproc/keyproc.h"

#define RESTORE_MANIFEST	"manifest.json"
#define RESTORE_MANIFEST_MAX	(64L * 1024 * 1024)
#define RESTORE_PATH_MAX	1024	/* a manifest path's length */

/* 0 when dir does not exist or is an empty directory, else 1 after a
 * message. */
static int
restore_target_ok(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return cli_fail("restore", "%s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") !=
		    0)
			n++;
	closedir(d);
	if (n > 0)
		return cli_fail("exists", "%s is not empty: restore makes a new "
		    "data directory (give a new or empty one)", dir);
	return 0;
}

/* 1 when p is a safe relative path of a manifest: not empty, not
 * absolute, no "." or ".." component, no empty component. */
static int
restore_path_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > RESTORE_PATH_MAX || p[0] == '/' || p[n - 1] == '/' ||
	    strstr(p, "//") != NULL)
		return 0;
	for (const char *s = p; s != NULL; s = strchr(s, '/')) {
		if (*s == '/')
			s++;
		if (strncmp(s, "./", 2) == 0 || strcmp(s, ".") == 0 ||
		    strncmp(s, "../", 3) == 0 || strcmp(s, "..") == 0)
			return 0;
	}
	return strcmp(p, RESTORE_MANIFEST) != 0;
}

/* Every entry of the stage is a directory or a regular file (no link
 * to follow out of it), and, unless index is NULL, the manifest or a
 * file the manifest lists (index: its paths).  0, or 1 after a
 * message. */
static int
restore_only_listed(const char *stage, json_t *index)
{
	char *const paths[] = { (char *)stage, NULL };
	size_t base = strlen(stage) + 1;
	FTS *fts;
	FTSENT *e;
	int rc = 1;

	if ((fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL)) == NULL)
		return cli_fail("restore", "%s: %s", stage, strerror(errno));
	while ((e = fts_read(fts)) != NULL) {
		const char *rel = e->fts_pathlen > base ? e->fts_path + base :
		    "";

		if (e->fts_level == 0 || e->fts_info == FTS_D ||
		    e->fts_info == FTS_DP)
			continue;
		if (e->fts_info != FTS_F) {
			cli_fail("damaged", "the archive holds %s, which is not "
			    "a regular file: refused", rel);
			goto out;
		}
		if (index != NULL && strcmp(rel, RESTORE_MANIFEST) != 0 &&
		    json_object_get(index, rel) == NULL) {
			cli_fail("damaged", "the archive holds %s, which its "
			    "manifest does not list: refused", rel);
			goto out;
		}
	}
	rc = 0;
out:
	fts_close(fts);
	return rc;
}

/* Checks every file of the manifest in the stage (size, SHA-256) and
 * sets its mode: 0600 for keys and the database.  0, or 1 after a
 * message. */
static int
restore_check_files(const char *stage, json_t *man, json_t *index)
{
	json_t *files = json_object_get(man, "files"), *f;
	const char *db = json_string_value(json_object_get(man, "db"));
	char path[PATH_MAX], hex[2 * LEDGER_HASH_LEN + 1], err[PATH_MAX + 128];
	uint64_t size;
	size_t i;

	if (!json_is_array(files))
		return cli_fail("damaged", "the manifest has no file list");
	json_array_foreach(files, i, f) {
		const char *p = NULL, *sum = NULL, *mode = NULL;
		json_int_t want = -1;
		unsigned long m;
		char *end;
		int key = 0;

		if (json_unpack(f, "{s:s, s:I, s:s, s:s, s?b}", "path", &p,
		    "size", &want, "sha256", &sum, "mode", &mode, "key",
		    &key) != 0 || !restore_path_ok(p) || strlen(sum) !=
		    2 * LEDGER_HASH_LEN || want < 0 ||
		    (m = strtoul(mode, &end, 8), *end != '\0') || m > 0777)
			return cli_fail("damaged", "the manifest's file %zu is "
			    "malformed", i);
		if (json_object_get(index, p) != NULL)
			return cli_fail("damaged", "the manifest lists %s "
			    "twice", p);
		json_object_set_new(index, p, json_true());
		snprintf(path, sizeof(path), "%s/%s", stage, p);
		if (archive_sha256(path, hex, &size, err, sizeof(err)) != 0)
			return cli_fail("damaged", "%s is missing from the "
			    "archive (%s)", p, err);
		if (size != (uint64_t)want || strcmp(hex, sum) != 0)
			return cli_fail("damaged", "manifest hash mismatch: %s "
			    "has SHA-256 %s (%llu bytes), the manifest says %s "
			    "(%lld bytes): the archive is damaged", p, hex,
			    (unsigned long long)size, sum, (long long)want);
		if (chmod(path, key || (db != NULL && strcmp(p, db) == 0) ?
		    0600 : (mode_t)(m & 0644)) != 0)
			return cli_fail("restore", "%s: %s", path,
			    strerror(errno));
	}
	return 0;
}

/* The directories' modes of the manifest (at most 0755; those of an
 * older manifest without them stay 0700).  0, or 1 after a message. */
static int
restore_dir_modes(const char *stage, json_t *man)
{
	json_t *dirs = json_object_get(man, "dirs"), *d;
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	json_array_foreach(dirs, i, d) {
		const char *p = NULL, *mode = NULL;
		unsigned long m;
		char *end;

		if (json_unpack(d, "{s:s, s:s}", "path", &p, "mode", &mode) !=
		    0 || !restore_path_ok(p) || (m = strtoul(mode, &end, 8),
		    *end != '\0') || m > 0777)
			return cli_fail("damaged", "the manifest's directory "
			    "%zu is malformed", i);
		snprintf(path, sizeof(path), "%s/%s", stage, p);
		if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;	/* an empty one: not in the archive */
		if (chmod(path, (mode_t)(m & 0755)) != 0)
			return cli_fail("restore", "%s: %s", path,
			    strerror(errno));
	}
	return 0;
}

/* The manifest of the stage, checked for its format.  NULL after a
 * message. */
static json_t *
restore_manifest(const char *stage)
{
	char path[PATH_MAX];
	json_error_t jerr;
	struct stat st;
	json_t *man;
	const char *fmt = NULL;
	json_int_t v = 0;

	snprintf(path, sizeof(path), "%s/%s", stage, RESTORE_MANIFEST);
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > RESTORE_MANIFEST_MAX) {
		cli_fail("damaged", "the archive has no manifest.json: not a "
		    "keybridge backup");
		return NULL;
	}
	if ((man = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		cli_fail("damaged", "manifest.json: %s (line %d)", jerr.text,
		    jerr.line);
		return NULL;
	}
	if (json_unpack(man, "{s:s, s:I}", "format", &fmt, "version", &v) !=
	    0 || strcmp(fmt, "keybridge-backup") != 0) {
		cli_fail("damaged", "manifest.json is not a keybridge backup's");
		json_decref(man);
		return NULL;
	}
	if (v != 1) {
		cli_fail("version", "the backup's format is version %lld; this "
		    "keybridge reads version 1", (long long)v);
		json_decref(man);
		return NULL;
	}
	return man;
}

/* The --checkpoint files (checkpoints this node signed, kept elsewhere:
 * a validator's, an auditor's checkpoint.trusted, a device's bundle),
 * each signed by the restored configuration's node key: those the
 * backed-up ledger (tree size have) must extend stay in c->o.checkpoint
 * for verify; of those past it, the largest is the fence f (size 0:
 * none).  c->cfg is the restored configuration.  0, or 1 after a message. */
struct restore_fence {
	uint64_t size;			/* 0: none */
	uint8_t root[LEDGER_HASH_LEN];
	const char *path;		/* its --checkpoint file */
};

static int
restore_checkpoints(struct cli *c, uint64_t have, struct restore_fence *f)
{
	char note[TRUST_NOTE_MAX], err[PATH_MAX + 128], origin[CONFIG_STR];
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t size;
	int keep = 0, r;

	f->size = 0;
	for (int i = 0; i < c->o.ncheckpoint; i++) {
		const char *p = c->o.checkpoint[i];

		if ((r = trust_read(p, note, sizeof(note), err,
		    sizeof(err))) != 0)
			return cli_fail("checkpoint", "%s", r == 1 ?
			    "no such file" : err);
		if (ledger_checkpoint_read(note, strlen(note), origin,
		    sizeof(origin), &size, root) != 0 ||
		    strcmp(origin, c->cfg.origin) != 0 ||
		    ledger_checkpoint_verify(note, strlen(note),
		    c->cfg.validator_vkey) != 0)
			return cli_fail("checkpoint", "%s is not a checkpoint "
			    "of %s signed by its node key (%s)", p,
			    c->cfg.origin, c->cfg.validator_name);
		if (size <= have)
			c->o.checkpoint[keep++] = p;
		else if (size > f->size) {
			f->size = size;
			memcpy(f->root, root, LEDGER_HASH_LEN);
			f->path = p;
		}
	}
	c->o.ncheckpoint = keep;
	return 0;
}

/* The restored ledger: verified as `ledger verify` does, then its
 * checkpoint compared with the manifest's and printed; the promise
 * checked against it.  0, or 1 after a message. */
static int
restore_verify(struct cli *c, const char *dir, json_t *man,
    const struct restore_fence *f)
{
	json_t *lg = json_object_get(man, "ledger");
	const char *db = json_string_value(json_object_get(man, "db"));
	const char *want_root = NULL;
	json_int_t want_size = -1;
	char cp[LEDGER_NOTE_MAX], origin[CONFIG_STR], hex[2 * LEDGER_HASH_LEN +
	    1], path[PATH_MAX * 2], err[PATH_MAX + 128], dbp[PATH_MAX * 2];
	uint8_t root[LEDGER_HASH_LEN], proot[LEDGER_HASH_LEN];
	uint64_t size = 0, psize;
	struct ledger *l;
	int have;

	c->o.dir = dir;
	memset(c->o.seen, 0, sizeof(c->o.seen));	/* restore's, not verify's */
	if (cli_load_config(c) != 0)
		return 1;
	if (db == NULL) {
		printf("restore: %s: the data directory's files; the ledger is "
		    "in PostgreSQL (%s): restore it with pg_restore or "
		    "point-in-time recovery, then run keybridge ledger verify "
		    "-d %s\n", dir, c->cfg.db, dir);
		return 0;
	}
	if (json_unpack(lg, "{s:I, s:s}", "tree_size", &want_size, "root",
	    &want_root) != 0)
		return cli_fail("damaged", "the manifest has no ledger tree "
		    "size and root");
	/* verify the copy restored here, whatever keybridge.conf's db says
	 * (when it names that copy, exactly as `ledger verify -d NEWDIR`:
	 * with its checkpoint.trusted) */
	if (realpath(dir, path) == NULL ||
	    snprintf(dbp, sizeof(dbp), "%s/%s", path, db) >= PATH_MAX)
		return cli_fail("restore", "%s: %s", dir, strerror(errno));
	if (realpath(config_path(&c->cfg, c->cfg.db, path, sizeof(path)),
	    cp) == NULL || strcmp(cp, dbp) != 0) {
		fprintf(stderr, "restore: keybridge.conf's db is %s, not the "
		    "restored %s: set db = %s there before serve\n", c->cfg.db,
		    dbp, db);
		memcpy(c->cfg.db, dbp, strlen(dbp) + 1 < sizeof(c->cfg.db) ?
		    strlen(dbp) + 1 : 0);
		if (strcmp(c->cfg.db, dbp) != 0)
			return cli_fail("restore", "%s: path too long", dbp);
		c->o.db = c->cfg.db;
	}
	if (cli_ledger_verify(c) != 0)
		return cli_fail("verify", "the restored ledger in %s does not "
		    "verify (above): do not serve from it", dir);
	if ((l = cli_ledger_open(c, 0)) == NULL)
		return 1;
	if (ledger_checkpoint(l, cp, sizeof(cp), NULL) != 0 ||
	    ledger_checkpoint_read(cp, strlen(cp), origin, sizeof(origin),
	    &size, root) != 0)
		size = 0, memset(root, 0, sizeof(root));
	cli_ledger_close(c, l);
	ledger_hex(root, LEDGER_HASH_LEN, hex);
	if ((json_int_t)size != want_size || strcmp(hex, want_root) != 0)
		return cli_fail("damaged", "the restored ledger is at tree size "
		    "%llu, root %s; the manifest says %lld, %s",
		    (unsigned long long)size, hex, (long long)want_size,
		    want_root);
	printf("restore: %s: ledger OK at tree size %llu, root %s\n", dir,
	    (unsigned long long)size, hex);
	snprintf(path, sizeof(path), "%s/%s", dir, KEYPROC_STATE_FILE);
	if (keyproc_promise_read(path, &have, &psize, proot, err,
	    sizeof(err)) != 0)
		return cli_fail("damaged", "%s", err);
	/* backup copied the promise before the ledger: it never runs
	 * ahead, and at the same size it names the same root */
	if (have && (psize > size || (psize == size && memcmp(proot, root,
	    LEDGER_HASH_LEN) != 0)))
		return cli_fail("damaged", "%s promises tree size %llu, past "
		    "the restored ledger's %llu (or another root): the "
		    "archive was not made by keybridge backup", path,
		    (unsigned long long)psize, (unsigned long long)size);
	if (f->size > 0) {
		if (keyproc_promise_raise(path, f->size, f->root, err,
		    sizeof(err)) != 0)
			return cli_fail("restore", "%s", err);
		fprintf(stderr, "restore: fenced: %s (tree size %llu) is "
		    "past the restored ledger's %llu; %s now promises it, so "
		    "the key process signs no checkpoint that does not extend "
		    "it: a bridge on %s answers OCSP, CRLs and reads and "
		    "refuses every write (503) until entries %llu to %llu are "
		    "back (docs/operations.md \"Backup and restore\")\n", f->path,
		    (unsigned long long)f->size, (unsigned long long)size, path,
		    dir, (unsigned long long)size, (unsigned long long)f->size -
		    1);
	}
	return 0;
}

/* The node's promise, when no --checkpoint fenced it: what a restored
 * node must not do, and how to fence it. */
static void
restore_promise_advice(const char *dir, json_int_t size, json_int_t created)
{
	char when[32];
	time_t t = (time_t)created;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	fprintf(stderr, "restore: the node's promise: this ledger ends at the "
	    "backup's tree size %lld (%s). If the bridge that was backed up "
	    "served after that, its node key signed larger checkpoints (its "
	    "validators cosigned them, devices and auditors may hold them), "
	    "and a bridge started on %s would sign a different tree of those "
	    "sizes: a fork. Before serve, copy that bridge's keyproc.state "
	    "and checkpoint.trusted into %s if they survived, or restore again "
	    "with --checkpoint FILE, the latest checkpoint it signed (a "
	    "validator's, a monitor's): its key process then signs nothing "
	    "that forks, and the bridge answers OCSP, CRLs and reads and "
	    "refuses writes; see docs/operations.md \"Backup and restore\"\n",
	    (long long)size, when, dir, dir);
}

/* What the operator must know before serving: the node's promise, the
 * keys left out. */
static void
restore_advice(const char *dir, json_t *man, int fenced)
{
	json_t *left = json_object_get(man, "keys_left_out"), *k;
	size_t i;

	/* (PostgreSQL: the promise is the database's restore's to keep) */
	if (!fenced && json_is_string(json_object_get(man, "db")))
		restore_promise_advice(dir, json_integer_value(
		    json_object_get(json_object_get(man, "ledger"),
		    "tree_size")), json_integer_value(json_object_get(man,
		    "created")));
	if (json_array_size(left) > 0) {
		fprintf(stderr, "restore: the backup holds no private keys: %s "
		    "verifies and answers the read-only commands; before serve, "
		    "put these back (mode 0600):", dir);
		json_array_foreach(left, i, k)
			fprintf(stderr, " %s", json_string_value(k));
		fputc('\n', stderr);
	}
}

/* See cli.h. */
int
cmd_restore(struct cli *c)
{
	const char *argv[] = { "tar", "--extract", "--file", c->o.file, "-C",
	    NULL, "--no-same-owner", "--no-same-permissions", NULL };
	char stage[PATH_MAX], err[PATH_MAX + 128];
	json_t *man = NULL, *index = NULL;
	const char *dir = c->o.dir;
	struct restore_fence fence;
	int rc = 1, placed = 0;

	stage[0] = '\0';
	if (cli_only(c, "file checkpoint") != 0)
		return 1;
	if (dir == NULL || c->o.file == NULL)
		return cli_fail("usage", "restore needs -i FILE (the archive) "
		    "and -d NEWDIR (the data directory to make)");
	argv[3] = c->o.file;
	if (access(c->o.file, R_OK) != 0)
		return cli_fail("restore", "cannot read %s: %s", c->o.file,
		    strerror(errno));
	if (restore_target_ok(dir) != 0)
		return 1;
	if (archive_staging(dir, "restore", stage, sizeof(stage), err,
	    sizeof(err)) != 0)
		return cli_fail("restore", "%s", err);
	argv[5] = stage;
	if (archive_tar(argv, -1, err, sizeof(err)) != 0) {
		cli_fail("damaged", "%s: not a readable archive: %s", c->o.file,
		    err);
		goto out;
	}
	if (restore_only_listed(stage, NULL) != 0 ||
	    (man = restore_manifest(stage)) == NULL ||
	    (index = json_object()) == NULL ||
	    restore_check_files(stage, man, index) != 0 ||
	    restore_only_listed(stage, index) != 0 ||
	    restore_dir_modes(stage, man) != 0)
		goto out;
	/* --checkpoint against the restored configuration, before NEWDIR
	 * is made: a bad one leaves nothing behind */
	memset(&fence, 0, sizeof(fence));
	c->o.dir = stage;
	if (c->o.ncheckpoint > 0 && (cli_load_config(c) != 0 ||
	    restore_checkpoints(c, (uint64_t)json_integer_value(
	    json_object_get(json_object_get(man, "ledger"), "tree_size")),
	    &fence) != 0))
		goto out;
	snprintf(err, sizeof(err), "%s/%s", stage, RESTORE_MANIFEST);
	if (unlink(err) != 0 || chmod(stage, 0700) != 0 ||
	    (rmdir(dir) != 0 && errno != ENOENT) || rename(stage, dir) != 0) {
		cli_fail("restore", "cannot make %s: %s", dir, strerror(errno));
		goto out;
	}
	placed = 1;
	if (restore_verify(c, dir, man, &fence) != 0)
		goto out;
	restore_advice(dir, man, fence.size > 0);
	rc = 0;
out:
	if (!placed && stage[0] != '\0' && archive_rmtree(stage) != 0)
		fprintf(stderr, "keybridge: warning: cannot remove %s\n", stage);
	json_decref(index);
	json_decref(man);
	return rc;
}
