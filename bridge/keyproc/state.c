/*
 * state.c: the key process's promise, kept across restarts (keyproc.h,
 * docs/design.md "Processes"): the size and root of the last checkpoint
 * it signed and the number of the last CRL, in DIR/keyproc.state (0600).
 *
 * Format v2: two slots of STATE_SLOT bytes (at 0 and at STATE_SLOT, each
 * in its own disk block), each
 *
 *	keybridge-keyproc-state v2
 *	seq <n>
 *	checkpoint <0|1> <size> <root, lowercase hex>
 *	crl <number>
 *	sha256 <lowercase hex of the lines above>
 *
 * padded with NUL bytes.  The reader takes the intact slot (its sha256
 * holds) with the higher seq.  A write goes to the other slot (seq + 1)
 * with pwrite and fdatasync on a descriptor kept open: one flush of one
 * block per checkpoint, no new file, no rename, no directory flush.  The
 * answer that depends on it waits for the flush, so a write torn by a
 * crash only damages a slot whose promise nobody saw; the other slot
 * holds the last promise made.
 *
 * The first write of a process (and any v1 file, which is read as it was:
 * magic, checkpoint, crl, written whole) makes the v2 file as v1 files
 * were made: a 0600 temporary, fsync, rename over, fsync of the
 * directory.  Both slots then hold the state.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/sha.h>

#include "common/file.h"
#include "bridge/keyproc/keyproc_int.h"

#define STATE_MAGIC_V1	"keybridge-keyproc-state v1"
#define STATE_MAGIC	"keybridge-keyproc-state v2"
#define STATE_SLOT	4096	/* one slot, one disk block */
#define STATE_TEXT_MAX	512	/* a slot's text and its NUL */
#define STATE_NSLOTS	2

/* A v1 file's state.  0, or -1 (damaged). */
static int
state_parse_v1(const char *buf, struct keyproc_state *st)
{
	char hex[2 * LEDGER_HASH_LEN + 2];
	int have;

	if (sscanf(buf, STATE_MAGIC_V1 "\ncheckpoint %d %" SCNu64 " %65s\n"
	    "crl %" SCNu64 "\n", &have, &st->cp_size, hex,
	    &st->crl_number) != 4 || (have != 0 && have != 1) ||
	    strlen(hex) != 2 * LEDGER_HASH_LEN ||
	    ledger_unhex(hex, st->cp_root, LEDGER_HASH_LEN) != 0)
		return -1;
	st->have_cp = have;
	st->seq = 0;
	return 0;
}

/* The text of a v2 slot for st, with its sha256 line, NUL-padded to
 * STATE_TEXT_MAX in out.  Its length. */
static size_t
state_format(const struct keyproc_state *st, char out[STATE_TEXT_MAX])
{
	char hex[2 * LEDGER_HASH_LEN + 1], sum[2 * SHA256_DIGEST_LENGTH + 1];
	uint8_t md[SHA256_DIGEST_LENGTH];
	int n;

	memset(out, 0, STATE_TEXT_MAX);
	ledger_hex(st->cp_root, LEDGER_HASH_LEN, hex);
	n = snprintf(out, STATE_TEXT_MAX, STATE_MAGIC "\nseq %" PRIu64
	    "\ncheckpoint %d %" PRIu64 " %s\ncrl %" PRIu64 "\n", st->seq,
	    st->have_cp, st->cp_size, hex, st->crl_number);
	SHA256((const uint8_t *)out, (size_t)n, md);
	ledger_hex(md, sizeof(md), sum);
	n += snprintf(out + n, STATE_TEXT_MAX - (size_t)n, "sha256 %s\n",
	    sum);
	return (size_t)n;
}

/* One v2 slot's state.  0, or -1 (torn, damaged or empty). */
static int
state_parse_slot(const char *slot, struct keyproc_state *st)
{
	char text[STATE_TEXT_MAX], again[STATE_TEXT_MAX];
	char hex[2 * LEDGER_HASH_LEN + 2];
	size_t n = strnlen(slot, STATE_TEXT_MAX);
	int have;

	if (n == 0 || n == STATE_TEXT_MAX)
		return -1;
	memcpy(text, slot, n);
	text[n] = '\0';
	if (sscanf(text, STATE_MAGIC "\nseq %" SCNu64 "\ncheckpoint %d %"
	    SCNu64 " %65s\ncrl %" SCNu64 "\n", &st->seq, &have,
	    &st->cp_size, hex, &st->crl_number) != 5 ||
	    (have != 0 && have != 1) || strlen(hex) != 2 * LEDGER_HASH_LEN ||
	    ledger_unhex(hex, st->cp_root, LEDGER_HASH_LEN) != 0)
		return -1;
	st->have_cp = have;
	/* The same state formats to the same bytes, sha256 line included:
	 * a flipped or torn byte anywhere fails here. */
	if (state_format(st, again) != n || memcmp(again, text, n) != 0)
		return -1;
	return 0;
}

int
keyproc_state_read(const char *path, struct keyproc_state *st, char *err,
    size_t errlen)
{
	char buf[STATE_NSLOTS * STATE_SLOT + 1];
	struct keyproc_state s[STATE_NSLOTS];
	int ok[STATE_NSLOTS], i, r;
	size_t n;

	memset(st, 0, sizeof(*st));
	if ((r = file_read_small(path, buf, sizeof(buf), &n, err, errlen)) != 0)
		return r == 1 ? 0 : -1;
	if (strncmp(buf, STATE_MAGIC_V1 "\n", strlen(STATE_MAGIC_V1) + 1) ==
	    0) {
		if (state_parse_v1(buf, st) != 0)
			goto damaged;
		return 0;
	}
	for (i = 0; i < STATE_NSLOTS; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		ok[i] = n >= (size_t)(i + 1) * STATE_SLOT &&
		    state_parse_slot(buf + (size_t)i * STATE_SLOT, &s[i]) == 0;
	}
	if (!ok[0] && !ok[1])
		goto damaged;
	*st = ok[0] && (!ok[1] || s[0].seq > s[1].seq) ? s[0] : s[1];
	return 0;
damaged:
	memset(st, 0, sizeof(*st));
	snprintf(err, errlen, "%s is damaged: the key process does not know "
	    "what it promised, and signs nothing", path);
	return -1;
}

/* Makes path a v2 file with st in both slots (a 0600 temporary, fsync,
 * rename, fsync of the directory) and opens it for the next writes into
 * *fd.  0, or -1 with err set. */
static int
state_create(const char *path, const struct keyproc_state *st, int *fd,
    char *err, size_t errlen)
{
	char file[STATE_NSLOTS * STATE_SLOT];
	char tmp[PATH_MAX + 48], dir[PATH_MAX + 32], *slash;
	int tfd = -1, dfd = -1, rc = -1;

	memset(file, 0, sizeof(file));
	for (int i = 0; i < STATE_NSLOTS; i++)
		(void)state_format(st, file + (size_t)i * STATE_SLOT);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((tfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || fchmod(tfd, 0600) != 0 ||
	    write(tfd, file, sizeof(file)) != (ssize_t)sizeof(file) ||
	    fsync(tfd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(tfd) != 0) {
		tfd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	tfd = -1;
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
	if ((*fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (tfd >= 0)
		close(tfd);
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

/* See keyproc.h. */
int
keyproc_promise_read(const char *path, int *have, uint64_t *size,
    uint8_t root[32], char *err, size_t errlen)
{
	struct keyproc_state st;

	_Static_assert(LEDGER_HASH_LEN == 32, "a promise's root is SHA-256");
	if (keyproc_state_read(path, &st, err, errlen) != 0)
		return -1;
	*have = st.have_cp;
	*size = st.have_cp ? st.cp_size : 0;
	memcpy(root, st.cp_root, LEDGER_HASH_LEN);
	return 0;
}

/* See keyproc.h. */
int
keyproc_promise_raise(const char *path, uint64_t size,
    const uint8_t root[32], char *err, size_t errlen)
{
	struct keyproc_state st;
	int fd = -1, rc;

	if (keyproc_state_read(path, &st, err, errlen) != 0)
		return -1;
	if (st.have_cp && st.cp_size >= size)
		return 0;
	st.have_cp = 1;
	st.cp_size = size;
	memcpy(st.cp_root, root, LEDGER_HASH_LEN);
	rc = keyproc_state_write(path, &fd, &st, err, errlen);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* See keyproc.h. */
int
keyproc_state_write(const char *path, int *fd, struct keyproc_state *st,
    char *err, size_t errlen)
{
	char text[STATE_TEXT_MAX];
	off_t at;

	st->seq++;
	if (*fd < 0)
		return state_create(path, st, fd, err, errlen);
	(void)state_format(st, text);
	at = (off_t)(st->seq % STATE_NSLOTS) * STATE_SLOT;
	if (pwrite(*fd, text, sizeof(text), at) != (ssize_t)sizeof(text) ||
	    fdatasync(*fd) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
