/*
 * archive.c: what `keybridge backup` and `restore` share (issue 17,
 * docs/operations.md "Backup and restore"): a private staging directory,
 * copying and hashing its files, removing it, and the system tar(1),
 * run with posix_spawnp and an argument vector (no shell), which writes
 * and reads the archive: the format is POSIX pax, not one of ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/evp.h>

#include "bridge/cli/cli.h"

#define ARCHIVE_BUF	65536	/* copy and hash buffer */
#define ARCHIVE_SYSTEM_TAR "/usr/bin/tar"	/* Debian's GNU tar */

extern char **environ;

/* See cli.h. */
int
archive_rmtree(const char *path)
{
	char *const paths[] = { (char *)path, NULL };
	FTS *fts;
	FTSENT *e;
	int rc = 0;

	if ((fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = fts_read(fts)) != NULL) {
		switch (e->fts_info) {
		case FTS_D:
			break;
		case FTS_DP:
			if (rmdir(e->fts_path) != 0)
				rc = -1;
			break;
		case FTS_NS:
		case FTS_ERR:
		case FTS_DNR:
			if (e->fts_errno != ENOENT)
				rc = -1;
			break;
		default:
			if (unlink(e->fts_path) != 0)
				rc = -1;
			break;
		}
	}
	fts_close(fts);
	return rc;
}

/* See cli.h. */
int
archive_mkparents(const char *root, const char *rel, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	size_t base = strlen(root) + 1;

	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "%s/%s: path too long", root, rel);
		return -1;
	}
	for (char *p = path + base; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* See cli.h. */
int
archive_copy(const char *src, const char *dst, mode_t mode, char *err,
    size_t errlen)
{
	char *buf = NULL;
	ssize_t n;
	int in = -1, out = -1, rc = -1;

	if ((buf = malloc(ARCHIVE_BUF)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		goto out;
	}
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) < 0 || fchmod(out, mode) != 0) {
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, ARCHIVE_BUF)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			snprintf(err, errlen, "%s: %s", dst, strerror(errno));
			goto out;
		}
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && rc == 0) {
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
		rc = -1;
	}
	free(buf);
	return rc;
}

/* See cli.h. */
int
archive_sha256(const char *path, char hex[2 * LEDGER_HASH_LEN + 1],
    uint64_t *size, char *err, size_t errlen)
{
	uint8_t md[LEDGER_HASH_LEN];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	char *buf = NULL;
	ssize_t n;
	int fd = -1, rc = -1;

	*size = 0;
	if ((buf = malloc(ARCHIVE_BUF)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((n = read(fd, buf, ARCHIVE_BUF)) > 0) {
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		*size += (uint64_t)n;
	}
	if (n < 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
	    mdlen != LEDGER_HASH_LEN) {
		snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(errno) :
		    "cannot hash");
		goto out;
	}
	ledger_hex(md, LEDGER_HASH_LEN, hex);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/* See cli.h. */
int
archive_tar(const char *const argv[], int stdout_fd, char *err,
    size_t errlen)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = 0, r, rc = -1;

	if (posix_spawn_file_actions_init(&fa) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (stdout_fd >= 0 && posix_spawn_file_actions_adddup2(&fa, stdout_fd,
	    STDOUT_FILENO) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* the system's tar, not one an operator's PATH puts first */
	if ((r = posix_spawnp(&pid, strcmp(argv[0], "tar") == 0 &&
	    access(ARCHIVE_SYSTEM_TAR, X_OK) == 0 ? ARCHIVE_SYSTEM_TAR :
	    argv[0], &fa, NULL, (char *const *)argv, environ)) != 0) {
		snprintf(err, errlen, "cannot run %s: %s (install it: apt-get "
		    "install tar)", argv[0], strerror(r));
		goto out;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "waiting for %s: %s", argv[0],
			    strerror(errno));
			goto out;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "%s %s failed (%s %d; its message is "
		    "above)", argv[0], argv[1], WIFEXITED(st) ? "status" :
		    "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		goto out;
	}
	rc = 0;
out:
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* See cli.h. */
int
archive_staging(const char *next_to, const char *what, char *out,
    size_t outlen, char *err, size_t errlen)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", next_to);
	/* trailing slashes of a directory name ("new/") go first */
	for (size_t n = strlen(parent); n > 1 && parent[n - 1] == '/'; n--)
		parent[n - 1] = '\0';
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if (snprintf(out, outlen, "%s/.keybridge-%s-XXXXXX", parent, what) >=
	    (int)outlen) {
		snprintf(err, errlen, "%s: path too long", parent);
		return -1;
	}
	/* mkdtemp makes it 0700: only its owner reads the keys in it */
	if (mkdtemp(out) == NULL) {
		snprintf(err, errlen, "cannot make a staging directory in %s: "
		    "%s", parent, strerror(errno));
		out[0] = '\0';
		return -1;
	}
	return 0;
}
