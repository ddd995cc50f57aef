/*
 * mapsnap.c: the status map's snapshot (issue 18, docs/design.md "Status
 * map snapshot"): the map's nodes written when the ledger closes, so that
 * the next open reads them instead of rebuilding the map from the whole
 * registry (~256 hashes and a row read per key and certificate).
 *
 * The file: a header of SNAP_MAGIC, the ledger tree size the map is of,
 * the leaves, the root and the SHA-256 of the body (all integers 8 bytes
 * big-endian), then ledger_smt_save's body, then nothing.  It is used
 * only when its size is the ledger's, its body is the one digested, and
 * the root recomputed from its nodes is both the recorded one and the
 * latest signed checkpoint's map root; else the caller rebuilds.  Also
 * the ledger's side: ledger_map_open at open, ledger_map_snapshot_close
 * at close.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/stat.h>

#include "common/log.h"
#include "ledger/ledger_state.h"

#define SNAP_MAGIC	"keybridge-map-snapshot 1\n"
#define SNAP_MAGIC_LEN	(sizeof(SNAP_MAGIC) - 1)
#define SNAP_MODE	0600
#define H		LEDGER_SMT_HASH

struct snap_head {
	uint64_t size, count;
	uint8_t root[H], digest[H];
};

static void
be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int
head_put(FILE *f, const struct snap_head *h)
{
	uint8_t b[LEDGER_MAP_SNAP_HEAD];

	memcpy(b, SNAP_MAGIC, SNAP_MAGIC_LEN);
	be64_put(b + SNAP_MAGIC_LEN, h->size);
	be64_put(b + SNAP_MAGIC_LEN + 8, h->count);
	memcpy(b + SNAP_MAGIC_LEN + 16, h->root, H);
	memcpy(b + SNAP_MAGIC_LEN + 16 + H, h->digest, H);
	return fwrite(b, 1, sizeof(b), f) == sizeof(b) ? 0 : -1;
}

static int
head_get(FILE *f, struct snap_head *h)
{
	uint8_t b[LEDGER_MAP_SNAP_HEAD];

	if (fread(b, 1, sizeof(b), f) != sizeof(b) ||
	    memcmp(b, SNAP_MAGIC, SNAP_MAGIC_LEN) != 0)
		return -1;
	h->size = be64_get(b + SNAP_MAGIC_LEN);
	h->count = be64_get(b + SNAP_MAGIC_LEN + 8);
	memcpy(h->root, b + SNAP_MAGIC_LEN + 16, H);
	memcpy(h->digest, b + SNAP_MAGIC_LEN + 16 + H, H);
	return 0;
}

/* fsync of path's directory (the rename in it).  0 or -1. */
static int
dir_sync(const char *path)
{
	char d[LEDGER_MAP_SNAP_PATH_MAX];
	int fd, rc = -1;

	snprintf(d, sizeof(d), "%s", path);
	if ((fd = open(dirname(d), O_RDONLY | O_DIRECTORY)) >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	return rc;
}

/* See ledger_int.h. */
int
ledger_map_snapshot_write(const struct ledger_smt *m, uint64_t size,
    const char *path, char *err, size_t errlen)
{
	char tmp[LEDGER_MAP_SNAP_PATH_MAX];
	struct snap_head h;
	FILE *f = NULL;
	int fd, rc = -1;

	memset(&h, 0, sizeof(h));
	h.size = size;
	h.count = ledger_smt_count(m);
	ledger_smt_root(m, h.root);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, SNAP_MODE)) < 0 || (f = fdopen(fd, "wb")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (head_put(f, &h) != 0 || ledger_smt_save(m, f, h.digest) != 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || head_put(f, &h) != 0 ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0)
		snprintf(err, errlen, "writing %s: %s", tmp, strerror(errno));
	else
		rc = 0;
	if (fclose(f) != 0 && rc == 0) {
		snprintf(err, errlen, "closing %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && (rename(tmp, path) != 0 || dir_sync(path) != 0)) {
		snprintf(err, errlen, "renaming to %s: %s", path,
		    strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		(void)unlink(tmp);
	return rc;
}

/* See ledger_int.h. */
struct ledger_smt *
ledger_map_snapshot_read(const char *path, uint64_t size,
    const uint8_t want[LEDGER_SMT_HASH], char *why, size_t whylen)
{
	struct ledger_smt *m = NULL;
	struct snap_head h;
	uint8_t digest[H], root[H];
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(why, whylen, "%s", errno == ENOENT ? "none" :
		    strerror(errno));
		return NULL;
	}
	if (head_get(f, &h) != 0)
		snprintf(why, whylen, "not a snapshot, or another version");
	else if (h.size != size)
		snprintf(why, whylen, "of tree size %llu, the ledger's is %llu",
		    (unsigned long long)h.size, (unsigned long long)size);
	else if ((m = ledger_smt_load(f, digest)) == NULL)
		snprintf(why, whylen, "damaged or truncated");
	else if (fgetc(f) != EOF || memcmp(digest, h.digest, H) != 0)
		snprintf(why, whylen, "its body's digest differs");
	else if (ledger_smt_count(m) != h.count)
		snprintf(why, whylen, "its leaf count differs");
	else if (ledger_smt_root(m, root), memcmp(root, h.root, H) != 0)
		snprintf(why, whylen, "its nodes do not give its root");
	else if (memcmp(root, want, H) != 0)
		snprintf(why, whylen, "its root is not the signed checkpoint's");
	else {
		fclose(f);
		return m;
	}
	ledger_smt_free(m);
	fclose(f);
	return NULL;
}

/* ---- at open and at close (ledger.c) ---------------------------------- */

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* See ledger_state.h.  The map as it is without a snapshot, unless the
 * snapshot is of the committed size and gives the map root of the
 * latest signed checkpoint, which must be of that size. */
int
ledger_map_open(struct ledger *l, char *err, size_t errlen)
{
	uint8_t want[LEDGER_SMT_HASH];
	struct timespec t0;
	char why[256];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(why, sizeof(why), "no signed checkpoint of the last block");
	if (l->map_snap != NULL && l->final_size == l->committed &&
	    l->checkpoint[0] != '\0' && ledger_checkpoint_map_root(
	    l->checkpoint, strlen(l->checkpoint), want) == 0 &&
	    (l->map = ledger_map_snapshot_read(l->map_snap, l->committed, want,
	    why, sizeof(why))) != NULL) {
		l->stats.map_loaded = 1;
		l->map_from_snap = 1;
		l->stats.map_load_seconds = seconds_since(&t0);
		log_info("ledger: status map of %zu leaves read from %s in "
		    "%.3f s", ledger_smt_count(l->map), l->map_snap,
		    l->stats.map_load_seconds);
		return 0;
	}
	if (l->map_snap != NULL)
		log_info("ledger: status map snapshot %s not used (%s): "
		    "building the map from the registry", l->map_snap, why);
	if (ledger_map_reload(l, l->r) != 0) {
		snprintf(err, errlen, "reading the registry for the status "
		    "map: %s", l->r->ops->errmsg(l->r));
		return -1;
	}
	return 0;
}

/* See ledger_state.h.  Only when the map is the committed block's (its
 * root the one the signed checkpoint of it carries; a ledger that failed
 * to open or a map left behind by a failed block writes none, and the
 * next open rebuilds). */
void
ledger_map_snapshot_close(struct ledger *l)
{
	uint8_t want[LEDGER_SMT_HASH], ours[LEDGER_SMT_HASH];
	struct timespec t0;
	char err[512];

	if (l->map_snap == NULL || l->map == NULL || l->committed == 0 ||
	    l->final_size != l->committed || ledger_checkpoint_map_root(
	    l->checkpoint, strlen(l->checkpoint), want) != 0)
		return;
	ledger_smt_root(l->map, ours);
	if (memcmp(ours, want, LEDGER_SMT_HASH) != 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ledger_map_snapshot_write(l->map, l->committed, l->map_snap, err,
	    sizeof(err)) != 0)
		log_warn("ledger: status map snapshot: %s", err);
	else
		log_info("ledger: status map snapshot of size %llu written to "
		    "%s in %.3f s", (unsigned long long)l->committed,
		    l->map_snap, seconds_since(&t0));
}
