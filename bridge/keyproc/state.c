/*
 * state.c: the key process's promise, kept across restarts (keyproc.h,
 * docs/design.md "Processes"): the size and root of the last checkpoint
 * it signed and the number of the last CRL, in DIR/keyproc.state (0600):
 *
 *	keybridge-keyproc-state v1
 *	checkpoint <size> <root, lowercase hex>
 *	crl <number>
 *
 * Written whole to a temporary file, fsync'ed, renamed over the old one
 * and the directory fsync'ed, before the answer that depends on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bridge/keyproc/keyproc_int.h"

#define STATE_MAGIC	"keybridge-keyproc-state v1"
#define STATE_MAX	512

int
keyproc_state_read(const char *path, struct keyproc_state *st, char *err,
    size_t errlen)
{
	char buf[STATE_MAX], hex[2 * LEDGER_HASH_LEN + 2];
	FILE *fp;
	size_t n;
	int have;

	memset(st, 0, sizeof(*st));
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if (sscanf(buf, STATE_MAGIC "\ncheckpoint %d %" SCNu64 " %65s\ncrl %"
	    SCNu64 "\n", &have, &st->cp_size, hex, &st->crl_number) != 4 ||
	    (have != 0 && have != 1) || strlen(hex) != 2 * LEDGER_HASH_LEN ||
	    ledger_unhex(hex, st->cp_root, LEDGER_HASH_LEN) != 0) {
		snprintf(err, errlen, "%s is damaged: the key process does "
		    "not know what it promised, and signs nothing", path);
		return -1;
	}
	st->have_cp = have;
	return 0;
}

int
keyproc_state_write(const char *path, const struct keyproc_state *st,
    char *err, size_t errlen)
{
	char buf[STATE_MAX], hex[2 * LEDGER_HASH_LEN + 1];
	char tmp[PATH_MAX + 48], dir[PATH_MAX + 32], *slash;
	int fd = -1, dfd = -1, n, rc = -1;

	ledger_hex(st->cp_root, LEDGER_HASH_LEN, hex);
	n = snprintf(buf, sizeof(buf), STATE_MAGIC "\ncheckpoint %d %" PRIu64
	    " %s\ncrl %" PRIu64 "\n", st->have_cp, st->cp_size, hex,
	    st->crl_number);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || fchmod(fd, 0600) != 0 ||
	    write(fd, buf, (size_t)n) != n || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "renaming %s: %s", tmp, strerror(errno));
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (rc != 0)
		(void)unlink(tmp);
	return rc;
}

/* See keyproc.h. */
int
keyproc_signed_size(const struct bridge_config *cfg, uint64_t *size,
    char *err, size_t errlen)
{
	struct keyproc_state st;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", cfg->dir, KEYPROC_STATE_FILE);
	if (keyproc_state_read(path, &st, err, errlen) != 0)
		return -1;
	*size = st.have_cp ? st.cp_size : 0;
	return 0;
}
