/*
 * trust.c: the checkpoint remembered beside the data directory.
 *
 * A ledger whose last blocks were deleted (and its registry put back to
 * match) is whole in itself: only a checkpoint kept outside the database
 * shows that it was larger once.  `serve` keeps the latest signed
 * checkpoint in DIR/checkpoint.trusted (TRUST_FILE), and `ledger verify`
 * checks the database against it and then advances it to the tree it
 * verified (trust on first use).  The file is public (a checkpoint is what
 * GET /api/v1/ledger/checkpoint gives anyone): mode 0644, replaced whole
 * by a rename, so a reader sees the old note or the new one, never a part.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/file.h"
#include "bridge/bridge.h"
#include "bridge/keyproc/sandbox.h"

const char *
trust_path(const struct bridge_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", cfg->dir, TRUST_FILE);
	return out;
}

int
trust_read(const char *path, char *note, size_t notelen, char *err,
    size_t errlen)
{
	size_t n;
	int r;

	if ((r = file_read_small(path, note, notelen, &n, err, errlen)) != 0)
		return r;
	if (n == 0 || memchr(note, '\0', n) != NULL) {
		snprintf(err, errlen, "%s: empty, or not text", path);
		return -1;
	}
	return 0;
}

int
trust_write(const char *path, const char *note, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 32], dir[PATH_MAX], *slash;
	size_t len = strlen(note);
	int fd = -1, dfd = -1, rc = -1;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	/* A name of our own: serve and verify may both be writing.  Written
	 * by root (`ledger verify`), the file takes the data directory's
	 * owner, the user a dropped `serve` runs as. */
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    TRUST_FILE_MODE)) >= 0 &&
	    sandbox_adopt_dir_owner(fd, dir, err, errlen) != 0) {
		(void)close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if (fd < 0 || fchmod(fd, TRUST_FILE_MODE) != 0 ||
	    write(fd, note, len) != (ssize_t)len || fsync(fd) != 0 ||
	    close(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "renaming %s to %s: %s", tmp, path,
		    strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	/* The rename itself survives a crash once the directory is synced. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0)
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
	else
		rc = 0;
	if (dfd >= 0)
		close(dfd);
	return rc;
}
