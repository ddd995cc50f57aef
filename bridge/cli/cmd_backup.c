/*
 * cmd_backup.c: `keybridge backup -d DIR -o FILE [--with-keys]
 * [--progress]` (issue 17; docs/operations.md "Backup and restore").
 *
 * A consistent online backup of a data directory while its bridge
 * serves, as one tar archive (archive.c) holding manifest.json and the
 * directory's files.  The order is the point:
 *
 * 1. keyproc.state (the key process's promise: the last checkpoint it
 *    signed) and checkpoint.trusted (the last one serve and verify saw)
 *    are copied first.  Both only ever grow, and each is written after
 *    the ledger it describes, with one exception: the key process
 *    persists a checkpoint it signs before the writer stores that
 *    signature beside the block.
 * 2. then the ledger, through SQLite's online backup API from one read
 *    snapshot (ledger/snapshot.c), never a file copy;
 * 3. then the snapshot's checkpoint is compared with the promise copied
 *    in 1: the backup's keyproc.state must never claim a checkpoint the
 *    backed-up ledger does not hold (a restored key process would then
 *    refuse to sign its own ledger's next block).  When the copy caught
 *    1's exception (signed, the signature not stored yet), the
 *    snapshot is taken again, a few times, until it holds the promise.
 * 4. then every other file of the directory: the configuration, ca/ and
 *    tls/ certificates, the blob folder, and private keys only with
 *    --with-keys (key files: those keybridge.conf names, and any file
 *    holding a PEM "PRIVATE KEY").
 * The manifest records the format's version, the ledger's tree size and
 * root, the promise, and the size, mode and SHA-256 of every file; the
 * archive is created 0600 (keybridge.conf holds the API token and EST
 * passwords too) and written beside FILE, then renamed to FILE.
 *
 * With PostgreSQL the ledger (and the published files) live in the
 * database: the backup holds the data directory's files only and says
 * so; pg_dump or point-in-time recovery back the database up.
 */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bridge/cli/cli.h"
#include "bridge/keyproc/keyproc.h"

#define BACKUP_FORMAT		"keybridge-backup"
#define BACKUP_VERSION		1
#define BACKUP_SNAPSHOT_TRIES	20	/* step 3's retakes */
#define BACKUP_RETRY_US		50000
#define BACKUP_KEYSCAN		65536	/* bytes read looking for a PEM key */
#define BACKUP_NKEYS		7	/* key settings of keybridge.conf */

struct backup {
	struct cli *c;
	char stage[PATH_MAX];		/* the private staging directory */
	char dir[PATH_MAX];		/* realpath of -d */
	char db[PATH_MAX];		/* the sqlite file, "" for PostgreSQL */
	char db_rel[PATH_MAX];		/* its name in the archive */
	char keys[BACKUP_NKEYS][PATH_MAX];	/* realpaths of key files */
	char out[PATH_MAX], part[PATH_MAX];	/* realpath-ish of -o */
	json_t *keyset;			/* rel paths of the keys copied */
	json_t *left_out;		/* rel paths of the keys left out */
	json_t *dirs;			/* {path, mode} of every directory */
	int progress;			/* show pages copied on stderr */
	int postgres;
};

static void
backup_progress(uint64_t done, uint64_t total, void *arg)
{
	struct backup *b = arg;

	if (b->progress)
		fprintf(stderr, "backup: %llu of %llu ledger pages copied\n",
		    (unsigned long long)done, (unsigned long long)total);
}

/* 1 when path holds a PEM private key in its first BACKUP_KEYSCAN
 * bytes. */
static int
backup_holds_key(const char *path)
{
	static const char mark[] = "PRIVATE KEY-----";
	char *buf;
	ssize_t n;
	int fd, yes = 0;

	if ((buf = malloc(BACKUP_KEYSCAN)) == NULL)
		return 1;	/* unknown: treated as a key */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if ((n = read(fd, buf, BACKUP_KEYSCAN)) > 0)
			yes = memmem(buf, (size_t)n, mark, sizeof(mark) - 1) !=
			    NULL;
		close(fd);
	}
	free(buf);
	return yes;
}

/* 1 when the file at abs (a realpath) is a private key or PIN file. */
static int
backup_is_key(const struct backup *b, const char *abs)
{
	for (int i = 0; i < BACKUP_NKEYS; i++)
		if (b->keys[i][0] != '\0' && strcmp(b->keys[i], abs) == 0)
			return 1;
	return backup_holds_key(abs);
}

/* The key settings' files (realpath; "" for pkcs11: URIs or missing
 * ones), with a note for those in a token or outside the directory. */
static void
backup_key_paths(struct backup *b)
{
	const struct bridge_config *cfg = &b->c->cfg;
	const char *k[BACKUP_NKEYS] = { cfg->validator_key, cfg->bridge_key,
	    cfg->admin_key, cfg->tls_key, cfg->ca_issuing_key, cfg->ocsp_key,
	    cfg->pkcs11_pin_file };
	char p[PATH_MAX];
	int token = 0;

	for (int i = 0; i < BACKUP_NKEYS; i++) {
		b->keys[i][0] = '\0';
		if (k[i][0] == '\0')
			continue;
		if (strncmp(k[i], "pkcs11:", 7) == 0) {
			token = 1;
			continue;
		}
		if (realpath(config_path(cfg, k[i], p, sizeof(p)),
		    b->keys[i]) == NULL)
			b->keys[i][0] = '\0';
	}
	if (token)
		fprintf(stderr, "backup: some keys live in the PKCS#11 token of "
		    "%s: the backup holds their pkcs11: URIs, not the keys; "
		    "back the token up as its maker says (SoftHSM2: its token "
		    "directory)\n", cfg->pkcs11_module);
}

/* Says which configured files live outside the directory: the walk
 * does not reach them, so the archive does not hold them. */
static void
backup_outside(struct backup *b)
{
	const struct bridge_config *cfg = &b->c->cfg;
	const char *f[] = { cfg->tls_cert, cfg->ca_root, cfg->ca_issuing,
	    cfg->ocsp_cert, cfg->ca_chain, cfg->blob_dir };
	char p[PATH_MAX], real[PATH_MAX];
	size_t n = strlen(b->dir);

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i][0] == '\0' || (i == 5 && b->postgres) ||
		    realpath(config_path(cfg, f[i], p, sizeof(p)), real) ==
		    NULL)
			continue;
		if (strncmp(real, b->dir, n) != 0 || real[n] != '/')
			fprintf(stderr, "backup: %s is outside %s: not in the "
			    "backup (back it up beside it)\n", real, b->dir);
	}
	for (int i = 0; b->c->o.with_keys && i < BACKUP_NKEYS; i++)
		if (b->keys[i][0] != '\0' && (strncmp(b->keys[i], b->dir,
		    n) != 0 || b->keys[i][n] != '/'))
			fprintf(stderr, "backup: %s is outside %s: not in the "
			    "backup (back it up beside it)\n", b->keys[i],
			    b->dir);
}

/* 1 when walk entry rel (relative to the directory) stays out: the
 * database and its companions (copied by step 2), the lock, the promise
 * files (step 1), temporaries, our staging and output files. */
static int
backup_skip(const struct backup *b, const char *rel, const char *abs)
{
	static const char *const skip[] = { "keybridge.lock", "keyproc.state",
	    TRUST_FILE };
	static const char *const dbsuf[] = { "", "-wal", "-shm", "-journal" };
	const char *base = strrchr(rel, '/') != NULL ? strrchr(rel, '/') + 1 :
	    rel;
	size_t n = strlen(rel);
	char p[PATH_MAX + 16];

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strcmp(rel, skip[i]) == 0)
			return 1;
	for (size_t i = 0; b->db[0] != '\0' && i < sizeof(dbsuf) /
	    sizeof(dbsuf[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", b->db, dbsuf[i]);
		if (strcmp(abs, p) == 0)
			return 1;
	}
	return strncmp(base, ".keybridge-", 11) == 0 ||
	    (n > 4 && strcmp(rel + n - 4, ".tmp") == 0) ||
	    strcmp(abs, b->out) == 0 || strcmp(abs, b->part) == 0;
}

/* Step 4: every other regular file of the directory into the stage.
 * 0, or 1 after a message. */
static int
backup_files(struct backup *b)
{
	char *const paths[] = { b->dir, NULL };
	char dst[PATH_MAX * 2], err[PATH_MAX + 128];
	size_t base = strlen(b->dir) + 1;
	FTS *fts;
	FTSENT *e;
	int rc = 1, key;

	if ((fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL)) == NULL)
		return cli_fail("backup", "%s: %s", b->dir, strerror(errno));
	while ((e = fts_read(fts)) != NULL) {
		const char *rel = e->fts_pathlen > base ? e->fts_path + base :
		    "";

		if (e->fts_level == 0)
			continue;
		if (e->fts_info == FTS_D) {
			char mode[8];

			if (strncmp(e->fts_name, ".keybridge-", 11) == 0) {
				(void)fts_set(fts, e, FTS_SKIP);
				continue;
			}
			/* ca/ and tls/ are 0700, blobs/ 0755: restore makes
			 * them so (the stage's are 0700) */
			snprintf(mode, sizeof(mode), "%04o", (unsigned)
			    (e->fts_statp->st_mode & 0755));
			json_array_append_new(b->dirs, json_pack("{s:s, s:s}",
			    "path", rel, "mode", mode));
			continue;
		}
		if (e->fts_info == FTS_DP)
			continue;
		if (e->fts_info == FTS_SL || e->fts_info == FTS_SLNONE) {
			fprintf(stderr, "backup: %s is a symbolic link: not "
			    "in the backup\n", e->fts_path);
			continue;
		}
		if (e->fts_info != FTS_F) {
			if (e->fts_info == FTS_NS || e->fts_info == FTS_ERR ||
			    e->fts_info == FTS_DNR) {
				cli_fail("backup", "%s: %s", e->fts_path,
				    strerror(e->fts_errno));
				goto out;
			}
			continue;	/* sockets, fifos: nothing to keep */
		}
		if (backup_skip(b, rel, e->fts_path))
			continue;
		key = backup_is_key(b, e->fts_path);
		if (key && !b->c->o.with_keys) {
			json_array_append_new(b->left_out, json_string(rel));
			continue;
		}
		snprintf(dst, sizeof(dst), "%s/%s", b->stage, rel);
		if (archive_mkparents(b->stage, rel, err, sizeof(err)) != 0 ||
		    archive_copy(e->fts_path, dst, key ? 0600 :
		    e->fts_statp->st_mode & 0644, err, sizeof(err)) != 0) {
			cli_fail("backup", "%s", err);
			goto out;
		}
		if (key)
			json_object_set_new(b->keyset, rel, json_true());
	}
	rc = 0;
out:
	fts_close(fts);
	return rc;
}

/* Step 1: the promise files into the stage, the key process's promise
 * read from the copy.  0, or 1 after a message. */
static int
backup_promise(struct backup *b, int *have, uint64_t *size,
    uint8_t root[LEDGER_HASH_LEN])
{
	const char *files[] = { KEYPROC_STATE_FILE, TRUST_FILE };
	char src[PATH_MAX + 32], dst[PATH_MAX + 32], err[PATH_MAX + 128];

	*have = 0;
	*size = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(src, sizeof(src), "%s/%s", b->dir, files[i]);
		snprintf(dst, sizeof(dst), "%s/%s", b->stage, files[i]);
		if (access(src, F_OK) != 0)
			continue;
		/* a checkpoint is public (0644); the promise is the key
		 * process's (0600) */
		if (archive_copy(src, dst, i == 0 ? 0600 : 0644, err,
		    sizeof(err)) != 0)
			return cli_fail("backup", "%s", err);
	}
	snprintf(dst, sizeof(dst), "%s/%s", b->stage, KEYPROC_STATE_FILE);
	if (keyproc_promise_read(dst, have, size, root, err, sizeof(err)) != 0)
		return cli_fail("backup", "%s", err);
	return 0;
}

/* The latest checkpoint of the staged database: note, size, root.
 * 0, or 1 after a message. */
static int
backup_checkpoint(struct backup *b, const char *db, char *note,
    size_t notelen, uint64_t *size, uint8_t root[LEDGER_HASH_LEN])
{
	struct ledger_config lc;
	struct ledger *l;
	char err[512], origin[CONFIG_STR];
	int rc = 1;

	memset(&lc, 0, sizeof(lc));
	lc.db = db;
	lc.origin = b->c->cfg.origin;
	lc.batch_max = 1;
	if ((l = ledger_open(&lc, err, sizeof(err))) == NULL)
		return cli_fail("backup", "the copied ledger: %s", err);
	*size = 0;
	memset(root, 0, LEDGER_HASH_LEN);
	note[0] = '\0';
	if (ledger_checkpoint(l, note, notelen, NULL) == 0 &&
	    ledger_checkpoint_read(note, strlen(note), origin,
	    sizeof(origin), size, root) != 0) {
		cli_fail("backup", "the copied ledger's checkpoint does not "
		    "parse");
		goto out;
	}
	rc = 0;
out:
	ledger_close(l);
	return rc;
}

/* Steps 2 and 3: the ledger's snapshot, taken again while it does not
 * hold the promise (size, root).  0, or 1 after a message. */
static int
backup_ledger(struct backup *b, int have, uint64_t psize,
    const uint8_t proot[LEDGER_HASH_LEN], json_t *man)
{
	char dst[PATH_MAX * 2], err[PATH_MAX + 128], note[LEDGER_NOTE_MAX];
	char hex[2 * LEDGER_HASH_LEN + 1];
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t size = 0;

	snprintf(dst, sizeof(dst), "%s/%s", b->stage, b->db_rel);
	if (archive_mkparents(b->stage, b->db_rel, err, sizeof(err)) != 0)
		return cli_fail("backup", "%s", err);
	for (int t = 0; t < BACKUP_SNAPSHOT_TRIES; t++) {
		if (t > 0) {
			(void)unlink(dst);
			usleep(BACKUP_RETRY_US);
		}
		if (ledger_snapshot(b->db, dst, backup_progress, b, err,
		    sizeof(err)) != 0)
			return cli_fail("backup", "%s", err);
		if (backup_checkpoint(b, dst, note, sizeof(note), &size,
		    root) != 0)
			return 1;
		if (!have || psize < size)
			break;
		if (psize == size) {
			if (memcmp(root, proot, LEDGER_HASH_LEN) != 0)
				return cli_fail("backup", "the key process "
				    "signed another root for tree size %llu "
				    "than the ledger holds: run keybridge "
				    "ledger verify -d %s", (unsigned long long)
				    size, b->dir);
			break;
		}
		/* signed, the signature not stored yet: take it again */
		size = 0;
	}
	if (have && psize > size)
		return cli_fail("backup", "the key process signed tree size "
		    "%llu but the ledger's latest signed checkpoint is %llu "
		    "after %d tries: a writer that cannot store its "
		    "signatures, or a node fenced by restore --checkpoint "
		    "(docs/operations.md \"Backup and restore\")",
		    (unsigned long long)psize, (unsigned long long)size,
		    BACKUP_SNAPSHOT_TRIES);
	ledger_hex(root, LEDGER_HASH_LEN, hex);
	json_object_set_new(man, "ledger", json_pack("{s:I, s:s, s:s}",
	    "tree_size", (json_int_t)size, "root", hex, "checkpoint", note));
	return 0;
}

/* The manifest's files: every staged file with its size, mode and
 * SHA-256 (and "key": true for private keys).  0, or 1 after a message. */
static int
backup_manifest_files(struct backup *b, json_t *files)
{
	char *const paths[] = { b->stage, NULL };
	char hex[2 * LEDGER_HASH_LEN + 1], mode[8], err[PATH_MAX + 128];
	size_t base = strlen(b->stage) + 1;
	uint64_t size;
	FTS *fts;
	FTSENT *e;
	int rc = 1;

	if ((fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL)) == NULL)
		return cli_fail("backup", "%s: %s", b->stage, strerror(errno));
	while ((e = fts_read(fts)) != NULL) {
		json_t *f;

		if (e->fts_info != FTS_F)
			continue;
		if (archive_sha256(e->fts_path, hex, &size, err,
		    sizeof(err)) != 0) {
			cli_fail("backup", "%s", err);
			goto out;
		}
		snprintf(mode, sizeof(mode), "%04o",
		    (unsigned)(e->fts_statp->st_mode & 0777));
		f = json_pack("{s:s, s:I, s:s, s:s}", "path", e->fts_path +
		    base, "size", (json_int_t)size, "mode", mode, "sha256",
		    hex);
		if (f == NULL) {
			cli_fail("backup", "out of memory");
			goto out;
		}
		if (json_object_get(b->keyset, e->fts_path + base) != NULL)
			json_object_set_new(f, "key", json_true());
		json_array_append_new(files, f);
	}
	rc = 0;
out:
	fts_close(fts);
	return rc;
}

/* Writes the manifest and the archive: FILE.part (0600), renamed to
 * FILE once complete and on disk.  0, or 1 after a message. */
static int
backup_write(struct backup *b, json_t *man)
{
	const char *argv[] = { "tar", "--create", "--format=posix",
	    "--sort=name", "--numeric-owner", "--owner=0", "--group=0",
	    "--file=-", "-C", b->stage, ".", NULL };
	char path[PATH_MAX + 16], err[PATH_MAX + 128];
	int fd = -1, rc = 1;

	snprintf(path, sizeof(path), "%s/manifest.json", b->stage);
	if (json_dump_file(man, path, JSON_INDENT(1) | JSON_SORT_KEYS) != 0 ||
	    chmod(path, 0600) != 0)
		return cli_fail("backup", "cannot write %s", path);
	if ((fd = open(b->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0)
		return cli_fail("backup", "%s: %s", b->part, strerror(errno));
	if (archive_tar(argv, fd, err, sizeof(err)) != 0) {
		cli_fail("backup", "%s", err);
		goto out;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		cli_fail("backup", "%s: %s", b->part, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(b->part, b->out) != 0) {
		cli_fail("backup", "renaming %s: %s", b->part,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		(void)unlink(b->part);
	return rc;
}

/* -o FILE into b->out (its directory's realpath and its name) and
 * b->part; refuses an existing FILE.  0, or 1 after a message. */
static int
backup_out_path(struct backup *b, const char *out)
{
	char parent[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(out, '/'), *name = slash ? slash + 1 : out;

	if (access(out, F_OK) == 0)
		return cli_fail("exists", "%s exists: choose another name or "
		    "remove it", out);
	if (*name == '\0')
		return cli_fail("usage", "-o needs a file name, not %s", out);
	snprintf(parent, sizeof(parent), "%.*s", slash == NULL ? 1 :
	    slash == out ? 1 : (int)(slash - out), slash == NULL ? "." : out);
	if (realpath(parent, real) == NULL)
		return cli_fail("backup", "%s: %s", parent, strerror(errno));
	if (snprintf(b->out, sizeof(b->out), "%s/%s", real, name) >=
	    (int)sizeof(b->out) || snprintf(b->part, sizeof(b->part),
	    "%s.part", b->out) >= (int)sizeof(b->part))
		return cli_fail("usage", "%s: path too long", out);
	return 0;
}

/* Where backup reads and writes: the data directory and the ledger's
 * database (their real paths), the archive, the database's name in it,
 * the key files and what lies outside the directory.  0, or -1 after a
 * message. */
static int
backup_locate(struct backup *b)
{
	struct cli *c = b->c;
	char p[PATH_MAX];

	if (realpath(c->o.dir, b->dir) == NULL) {
		cli_fail("backup", "%s: %s", c->o.dir, strerror(errno));
		return -1;
	}
	if (backup_out_path(b, c->o.out) != 0)
		return -1;
	config_path(&c->cfg, c->cfg.db, p, sizeof(p));
	b->postgres = ledger_db_is_postgres(p);
	if (!b->postgres && realpath(p, b->db) == NULL) {
		cli_fail("backup", "the ledger %s: %s", p, strerror(errno));
		return -1;
	}
	/* the database keeps its name when it is inside the directory */
	snprintf(b->db_rel, sizeof(b->db_rel), "%s", !b->postgres &&
	    strncmp(b->db, b->dir, strlen(b->dir)) == 0 &&
	    b->db[strlen(b->dir)] == '/' ? b->db + strlen(b->dir) + 1 :
	    "ledger.db");
	backup_key_paths(b);
	backup_outside(b);
	return 0;
}

/* The manifest's first fields: its format, who wrote it when, the
 * storage, and the ledger's promise (tree size and root; null without). */
static void
backup_manifest_head(const struct backup *b, json_t *man, int have,
    uint64_t psize, const uint8_t proot[LEDGER_HASH_LEN])
{
	char hex[2 * LEDGER_HASH_LEN + 1];

	json_object_set_new(man, "format", json_string(BACKUP_FORMAT));
	json_object_set_new(man, "version", json_integer(BACKUP_VERSION));
	json_object_set_new(man, "keybridge", json_string(KEYBRIDGE_VERSION));
	json_object_set_new(man, "created", json_integer((json_int_t)
	    time(NULL)));
	json_object_set_new(man, "storage", json_string(b->postgres ?
	    "postgresql" : "sqlite"));
	ledger_hex(proot, LEDGER_HASH_LEN, hex);
	json_object_set_new(man, "promise", have ? json_pack("{s:I, s:s}",
	    "tree_size", (json_int_t)psize, "root", hex) : json_null());
}

/* The lines of a backup written: what it holds, and about its keys. */
static void
backup_report(const struct backup *b, json_t *man, json_t *files)
{
	printf("backup: %s: %zu files", b->out, json_array_size(files));
	if (!b->postgres)
		printf(", the ledger at tree size %lld, root %s",
		    (long long)json_integer_value(json_object_get(
		    json_object_get(man, "ledger"), "tree_size")),
		    json_string_value(json_object_get(json_object_get(man,
		    "ledger"), "root")));
	putchar('\n');
	if (b->c->o.with_keys)
		fprintf(stderr, "backup: %s holds private keys (mode 0600): "
		    "keep it as you keep the keys\n", b->out);
	else if (json_array_size(b->left_out) > 0)
		fprintf(stderr, "backup: private keys left out (--with-keys "
		    "adds them): %zu files, listed in the manifest's "
		    "keys_left_out\n", json_array_size(b->left_out));
}

/* See cli.h. */
int
cmd_backup(struct cli *c)
{
	struct backup *b = NULL;
	json_t *man = NULL, *files = NULL;
	char err[PATH_MAX + 128];
	uint8_t proot[LEDGER_HASH_LEN];
	uint64_t psize;
	int have, rc = 1;

	if (cli_only(c, "out with-keys progress db") != 0 ||
	    cli_load_config(c) != 0)
		return 1;
	if (c->o.out == NULL)
		return cli_fail("usage", "backup needs -o FILE (the archive to "
		    "write)");
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return cli_fail("backup", "out of memory");
	b->c = c;
	b->progress = c->o.progress || isatty(STDERR_FILENO);
	b->keyset = json_object();
	b->left_out = json_array();
	b->dirs = json_array();
	man = json_object();
	files = json_array();
	if (b->keyset == NULL || b->left_out == NULL || b->dirs == NULL ||
	    man == NULL ||
	    files == NULL) {
		cli_fail("backup", "out of memory");
		goto out;
	}
	if (backup_locate(b) != 0)
		goto out;
	if (archive_staging(b->out, "backup", b->stage, sizeof(b->stage), err,
	    sizeof(err)) != 0) {
		cli_fail("backup", "%s", err);
		goto out;
	}
	if (backup_promise(b, &have, &psize, proot) != 0)
		goto out;
	backup_manifest_head(b, man, have, psize, proot);
	if (b->postgres) {
		fprintf(stderr, "backup: the ledger and the published files are "
		    "in PostgreSQL: this backup holds the data directory's "
		    "files only; back the database up with pg_dump or "
		    "point-in-time recovery (docs/operations.md \"Backup and "
		    "restore\")\n");
		json_object_set_new(man, "db", json_null());
		json_object_set_new(man, "ledger", json_null());
	} else {
		json_object_set_new(man, "db", json_string(b->db_rel));
		if (backup_ledger(b, have, psize, proot, man) != 0)
			goto out;
	}
	if (backup_files(b) != 0 || backup_manifest_files(b, files) != 0)
		goto out;
	json_object_set_new(man, "with_keys", json_boolean(c->o.with_keys));
	json_object_set(man, "keys_left_out", b->left_out);
	json_object_set(man, "files", files);
	json_object_set(man, "dirs", b->dirs);
	if (backup_write(b, man) != 0)
		goto out;
	backup_report(b, man, files);
	rc = 0;
out:
	if (b != NULL && b->stage[0] != '\0' && archive_rmtree(b->stage) != 0)
		fprintf(stderr, "keybridge: warning: cannot remove %s\n",
		    b->stage);
	if (b != NULL) {
		json_decref(b->keyset);
		json_decref(b->left_out);
		json_decref(b->dirs);
	}
	json_decref(files);
	json_decref(man);
	free(b);
	return rc;
}
