/*
 * config_dir.c: the data directory's paths (config_path) and the lock
 * that keeps two writers of one directory apart (config_lock), beside
 * the parser of keybridge.conf (config.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/log.h"
#include "ledger/ledger.h"
#include "bridge/config.h"
#include "bridge/keyproc/sandbox.h"

/* Resolves p against c->dir into out (outlen bytes): an absolute p is
 * copied, a relative one becomes "dir/p", an empty one stays empty.  When
 * the result does not fit, out is set to "" (so that opening it fails
 * rather than opening a truncated path).  Returns out. */
const char *
config_path(const struct bridge_config *c, const char *p, char *out,
    size_t outlen)
{
	int n;

	if (out == NULL || outlen == 0)
		return out;
	if (p == NULL || p[0] == '\0')
		n = snprintf(out, outlen, "%s", "");
	else if (p[0] == '/' || ledger_db_is_postgres(p))	/* db URL */
		n = snprintf(out, outlen, "%s", p);
	else
		n = snprintf(out, outlen, "%s/%s", c->dir, p);
	if (n < 0 || (size_t)n >= outlen)
		out[0] = '\0';
	return out;
}

/* See config.h. */
int
config_lock(const struct bridge_config *cfg, int *fd)
{
	char path[PATH_MAX + 32];

	char why[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/keybridge.lock", cfg->dir);
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	/* Created by a root command, it stays openable by the user a
	 * dropped `serve` runs as (the data directory's owner). */
	if (sandbox_adopt_dir_owner(*fd, cfg->dir, why, sizeof(why)) != 0)
		log_warn("%s", why);
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		int busy = errno == EWOULDBLOCK;

		close(*fd);
		*fd = -1;
		return busy ? 1 : -1;
	}
	return 0;
}
