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
#include <sys/resource.h>
#include <sys/stat.h>

#include <pthread.h>
#include <stdatomic.h>

#include "common/log.h"
#include "ledger/ledger_state.h"

#define SNAP_MAGIC	"keybridge-map-snapshot 1\n"
#define SNAP_MAGIC_LEN	(sizeof(SNAP_MAGIC) - 1)
#define SNAP_MODE	0600
#define H		LEDGER_SMT_HASH
/* A replay of K entries costs ~50 us of CPU an entry, a build ~30 us a
 * leaf (docs/benchmarks.md "Crash restart"): beyond half the snapshot's
 * leaves (and this many, which replay in well under a second) the build
 * is the cheaper. */
#define SNAP_REPLAY_MIN	1024
/* The nice of the thread that writes a snapshot while serving. */
#define SNAP_NICE	10

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

/* ledger_map_snapshot_write of the map m, or (m NULL) of the frozen
 * view v (another thread may be setting its map meanwhile). */
static int
snap_write(const struct ledger_smt *m, const struct ledger_smt_view *v,
    uint64_t size, const char *path, char *err, size_t errlen)
{
	char tmp[LEDGER_MAP_SNAP_PATH_MAX];
	struct snap_head h;
	FILE *f = NULL;
	int fd, rc = -1;

	memset(&h, 0, sizeof(h));
	h.size = size;
	h.count = m != NULL ? ledger_smt_count(m) : ledger_smt_view_count(v);
	if (m != NULL)
		ledger_smt_root(m, h.root);
	else
		ledger_smt_view_root(v, h.root);
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
	if (head_put(f, &h) != 0 || (m != NULL ? ledger_smt_save(m, f,
	    h.digest) : ledger_smt_view_save(v, f, h.digest)) != 0 ||
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
int
ledger_map_snapshot_write(const struct ledger_smt *m, uint64_t size,
    const char *path, char *err, size_t errlen)
{
	return snap_write(m, NULL, size, path, err, errlen);
}

/* See ledger_int.h. */
struct ledger_smt *
ledger_map_snapshot_load(const char *path, uint64_t max_size, uint64_t *size,
    uint8_t root[LEDGER_SMT_HASH], char *why, size_t whylen)
{
	struct ledger_smt *m = NULL;
	struct snap_head h;
	uint8_t digest[H];
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(why, whylen, "%s", errno == ENOENT ? "none" :
		    strerror(errno));
		return NULL;
	}
	if (head_get(f, &h) != 0)
		snprintf(why, whylen, "not a snapshot, or another version");
	else if (h.size > max_size)
		snprintf(why, whylen, "of tree size %llu, beyond the ledger's "
		    "%llu", (unsigned long long)h.size,
		    (unsigned long long)max_size);
	else if ((m = ledger_smt_load(f, digest)) == NULL)
		snprintf(why, whylen, "damaged or truncated");
	else if (fgetc(f) != EOF || memcmp(digest, h.digest, H) != 0)
		snprintf(why, whylen, "its body's digest differs");
	else if (ledger_smt_count(m) != h.count)
		snprintf(why, whylen, "its leaf count differs");
	else if (ledger_smt_root(m, root), memcmp(root, h.root, H) != 0)
		snprintf(why, whylen, "its nodes do not give its root");
	else {
		*size = h.size;
		fclose(f);
		return m;
	}
	ledger_smt_free(m);
	fclose(f);
	return NULL;
}

/* See ledger_int.h. */
struct ledger_smt *
ledger_map_snapshot_read(const char *path, uint64_t size,
    const uint8_t want[LEDGER_SMT_HASH], char *why, size_t whylen)
{
	struct ledger_smt *m;
	uint8_t root[H];
	uint64_t got = 0;

	if ((m = ledger_map_snapshot_load(path, size, &got, root, why,
	    whylen)) == NULL)
		return NULL;
	if (got != size)
		snprintf(why, whylen, "of tree size %llu, the ledger's is %llu",
		    (unsigned long long)got, (unsigned long long)size);
	else if (memcmp(root, want, H) != 0)
		snprintf(why, whylen, "its root is not the signed checkpoint's");
	else
		return m;
	ledger_smt_free(m);
	return NULL;
}

/* ---- at open and at close (ledger.c) ---------------------------------- */

/* A snapshot read ahead (ledger_map_prefetch): the load's outcome. */
struct ledger_snap_pre {
	pthread_t th;
	const char *path;
	struct ledger_smt *m;
	uint64_t size;
	uint8_t root[H];
	char why[256];
};

static void *
prefetch_main(void *arg)
{
	struct ledger_snap_pre *p = arg;

	/* no bound on its size yet: map_from_snapshot checks it */
	p->m = ledger_map_snapshot_load(p->path, UINT64_MAX, &p->size,
	    p->root, p->why, sizeof(p->why));
	return NULL;
}

/* See ledger_state.h. */
void
ledger_map_prefetch(struct ledger *l)
{
	struct ledger_snap_pre *p;

	if (l->map_snap == NULL || l->snap_pre != NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return;
	p->path = l->map_snap;
	if (pthread_create(&p->th, NULL, prefetch_main, p) != 0) {
		free(p);
		return;
	}
	l->snap_pre = p;
}

/* The prefetched load's outcome (joined), or NULL when none was started;
 * the caller owns the result.  Clears l->snap_pre. */
static struct ledger_snap_pre *
prefetch_take(struct ledger *l)
{
	struct ledger_snap_pre *p = l->snap_pre;

	if (p != NULL)
		(void)pthread_join(p->th, NULL);
	l->snap_pre = NULL;
	return p;
}

/* See ledger_state.h. */
void
ledger_map_prefetch_end(struct ledger *l)
{
	struct ledger_snap_pre *p = prefetch_take(l);

	if (p != NULL)
		ledger_smt_free(p->m);
	free(p);
}

/* The snapshot as ledger_map_snapshot_load gives it, bounded by the
 * committed size: from the prefetch when one ran, else read now. */
static struct ledger_smt *
snapshot_at_open(struct ledger *l, uint64_t *size, uint8_t root[H],
    char *why, size_t whylen)
{
	struct ledger_snap_pre *p = prefetch_take(l);
	struct ledger_smt *m;

	if (p == NULL)
		return ledger_map_snapshot_load(l->map_snap, l->committed,
		    size, root, why, whylen);
	m = p->m;
	if (m == NULL)
		snprintf(why, whylen, "%s", p->why);
	else if (p->size > l->committed) {
		snprintf(why, whylen, "of tree size %llu, beyond the ledger's "
		    "%llu", (unsigned long long)p->size,
		    (unsigned long long)l->committed);
		ledger_smt_free(m);
		m = NULL;
	} else {
		*size = p->size;
		memcpy(root, p->root, H);
	}
	free(p);
	return m;
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* first_block's callback: the first block row, then stop. */
struct first_block {
	struct ledger_block_row b;
	int found;
};

static int
first_block_cb(const struct ledger_block_row *b, void *arg)
{
	struct first_block *fb = arg;

	fb->b = *b;
	fb->found = 1;
	return 1;
}

/* The first block at height h or above into fb (fb->found 0: none).
 * 0 or -1. */
static int
first_block(struct ledger *l, uint64_t h, struct first_block *fb)
{
	fb->found = 0;
	return l->r->ops->blocks(l->r, h, first_block_cb, fb);
}

/* The map root of the signed checkpoint of the block that ends at tree
 * size `size`, found by bisection on heights (sizes grow with them): 0,
 * or -1 when there is no such block, it is unsigned, or a read failed. */
static int
signed_root_at(struct ledger *l, uint64_t size, uint8_t want[H])
{
	struct first_block *fb;
	uint64_t lo = 0, hi = l->height, mid;
	int rc = -1;

	if ((fb = malloc(sizeof(*fb))) == NULL)
		return -1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (first_block(l, mid, fb) != 0)
			goto out;
		if (fb->found && fb->b.size < size)
			lo = fb->b.height + 1;
		else
			hi = mid;
	}
	if (first_block(l, lo, fb) == 0 && fb->found && fb->b.size == size &&
	    fb->b.checkpoint[0] != '\0' && ledger_checkpoint_map_root(
	    fb->b.checkpoint, strlen(fb->b.checkpoint), want) == 0)
		rc = 0;
out:
	free(fb);
	return rc;
}

/*
 * The map from the snapshot, brought to the committed size: read (never
 * beyond the ledger's size; its digest and recomputed root checked), its
 * root checked against the signed checkpoint of the block it is of when
 * that block is signed, the entries after it replayed from the registry
 * (ledger_map_replay), and the result checked against the signed
 * checkpoint of the last block when that one is signed.  One of the two
 * signed roots must be there.  0 with l->map, or -1 with why.
 */
static int
map_from_snapshot(struct ledger *l, char *why, size_t whylen)
{
	uint8_t root[H], anchor[H], want[H];
	struct ledger_smt *m;
	uint64_t size = 0;
	int anchored, final;

	final = l->final_size == l->committed && l->checkpoint[0] != '\0' &&
	    ledger_checkpoint_map_root(l->checkpoint, strlen(l->checkpoint),
	    want) == 0;
	if ((m = snapshot_at_open(l, &size, root, why, whylen)) == NULL)
		return -1;
	anchored = signed_root_at(l, size, anchor) == 0;
	if (anchored && memcmp(root, anchor, H) != 0)
		snprintf(why, whylen, "its root is not the signed checkpoint's "
		    "of its tree size %llu", (unsigned long long)size);
	else if (!anchored && !final)
		snprintf(why, whylen, "neither the block of its tree size "
		    "%llu nor the last block is signed",
		    (unsigned long long)size);
	else if (l->committed - size > SNAP_REPLAY_MIN &&
	    l->committed - size > ledger_smt_count(m) / 2)
		snprintf(why, whylen, "%llu entries after it, more than half "
		    "its %zu leaves: a build is cheaper",
		    (unsigned long long)(l->committed - size),
		    ledger_smt_count(m));
	else if (size < l->committed && ledger_map_replay(m, l->r, size,
	    l->committed) != 0)
		snprintf(why, whylen, "replaying entries %llu to %llu onto it "
		    "failed", (unsigned long long)size,
		    (unsigned long long)l->committed);
	else if (final && (ledger_smt_root(m, root), memcmp(root, want,
	    H) != 0))
		snprintf(why, whylen, "its root after replaying %llu entries "
		    "is not the signed checkpoint's",
		    (unsigned long long)(l->committed - size));
	else {
		l->map = m;
		l->snap_size = l->snap_disk = size;
		return 0;
	}
	ledger_smt_free(m);
	return -1;
}

/* See ledger_state.h.  The map as it is without a snapshot, unless the
 * snapshot passes map_from_snapshot. */
int
ledger_map_open(struct ledger *l, char *err, size_t errlen)
{
	struct timespec t0;
	char why[256];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	l->snap_time = (double)t0.tv_sec + (double)t0.tv_nsec / 1e9;
	l->snap_size = l->snap_disk = 0;
	if (l->map_snap != NULL && l->committed > 0 &&
	    map_from_snapshot(l, why, sizeof(why)) == 0) {
		l->stats.map_loaded = 1;
		l->map_from_snap = 1;
		l->stats.map_load_seconds = seconds_since(&t0);
		l->stats.map_snap_size = l->snap_size;
		l->stats.map_replayed = l->committed - l->snap_size;
		log_info("ledger: status map of %zu leaves read from %s in "
		    "%.3f s: replayed %llu entries onto a snapshot of size "
		    "%llu", ledger_smt_count(l->map), l->map_snap,
		    l->stats.map_load_seconds,
		    (unsigned long long)l->stats.map_replayed,
		    (unsigned long long)l->snap_size);
		return 0;
	}
	if (l->map_snap != NULL)
		log_info("ledger: status map snapshot %s not used (%s): "
		    "building the map from the registry", l->map_snap,
		    l->committed > 0 ? why : "an empty ledger");
	if (ledger_map_reload(l, l->r) != 0) {
		snprintf(err, errlen, "reading the registry for the status "
		    "map: %s", l->r->ops->errmsg(l->r));
		return -1;
	}
	return 0;
}

/* ---- while serving (writer.c) ----------------------------------------- */

static double
now_mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Whether a snapshot of the committed size (read under tree_lock) is
 * due: by entries, or when idle by time. */
static int
snap_due(struct ledger *l, uint64_t committed, int idle)
{
	if (l->map_snap == NULL || committed <= l->snap_size)
		return 0;
	if (l->snap_every > 0 && committed - l->snap_size >= l->snap_every)
		return 1;
	return idle && l->snap_seconds > 0 &&
	    now_mono() - l->snap_time >= (double)l->snap_seconds;
}

/*
 * A snapshot written on a thread of its own (issue 18: written on the
 * writer's thread it paused every commit, 0.16-0.41 s at 100k leaves and
 * 2.4 s at a million, past the 1 s a revocation has to reach OCSP and the
 * CRL).  It writes a frozen view of the map (smt.h: copy-on-write), so
 * the writer goes on committing, and setting the map, meanwhile; readers
 * (status proofs, under tree_lock) read the live map as before.  The
 * writer's thread starts and reaps the job; the map changes under
 * tree_lock (write) only: set by the writer (commit.c), replaced by a
 * reload (commit.c, or a follower's catch-up on its own thread,
 * catchup.c), which leaves a frozen map to the job
 * (ledger_map_snapshot_drop).  So the freeze, the thaw and l->snap_job
 * are under tree_lock (write) too: the freeze is O(1), the thaw frees
 * the nodes copied meanwhile (their count is logged).  One at a time.
 */
struct ledger_snap_job {
	pthread_t th;
	struct ledger_smt *m;		/* frozen: l->map, or one put aside */
	const struct ledger_smt_view *v;
	uint64_t size;
	const char *path;
	pthread_mutex_t *mu;		/* l->mu, l->cv: wakes an idle */
	pthread_cond_t *cv;		/* writer to reap it */
	void (*hook)(void *);		/* tests only */
	void *hook_arg;
	struct timespec t0;
	atomic_int done;
	int unjoinable;			/* written on the writer's thread */
	int rc;
	char err[512];
};

static void *
job_main(void *arg)
{
	struct ledger_snap_job *j = arg;

	/* Below the writer, the sealer and the OCSP loops on a machine of
	 * few cores: the snapshot may take longer, they should not (a
	 * thread's own nice on Linux; failing, it runs at theirs). */
	if (!j->unjoinable)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), SNAP_NICE);
	if (j->hook != NULL)
		j->hook(j->hook_arg);
	j->rc = snap_write(NULL, j->v, j->size, j->path, j->err,
	    sizeof(j->err));
	atomic_store(&j->done, 1);
	pthread_mutex_lock(j->mu);
	pthread_cond_broadcast(j->cv);	/* writer_idle */
	pthread_mutex_unlock(j->mu);
	return NULL;
}

/* The writer's thread (or the close, after it): the job ended, or
 * (wait) once it ends: its map thawed (or, put aside by a reload, freed),
 * its outcome logged and counted. */
static void
job_reap(struct ledger *l, int wait)
{
	struct ledger_snap_job *j = l->snap_job;
	struct ledger_smt *aside = NULL;
	size_t retired;

	if (j == NULL || (!wait && !atomic_load(&j->done)))
		return;
	if (!j->unjoinable)
		(void)pthread_join(j->th, NULL);
	pthread_rwlock_wrlock(&l->tree_lock);
	retired = ledger_smt_retired(j->m);
	if (j->m == l->map)
		ledger_smt_thaw(j->m);
	else
		aside = j->m;	/* replaced meanwhile: no one else's */
	l->snap_job = NULL;
	pthread_rwlock_unlock(&l->tree_lock);
	ledger_smt_free(aside);
	l->snap_time = now_mono();
	if (j->rc != 0)
		log_warn("ledger: status map snapshot: %s", j->err);
	else {
		l->snap_disk = j->size;
		pthread_mutex_lock(&l->mu);
		l->stats.map_snaps_written++;
		l->stats.map_snap_last = j->size;
		pthread_mutex_unlock(&l->mu);
		log_info("ledger: status map snapshot of size %llu written to "
		    "%s in %.3f s on a thread of its own, %zu nodes copied "
		    "meanwhile (while serving)", (unsigned long long)j->size,
		    j->path, seconds_since(&j->t0), retired);
	}
	free(j);
}

/* The writer's thread: a snapshot of the map (of committed entries)
 * started on a thread of its own; without one, written here. */
static void
job_start(struct ledger *l, uint64_t committed)
{
	struct ledger_snap_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_warn("ledger: status map snapshot: out of memory");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	pthread_rwlock_wrlock(&l->tree_lock);
	/* a follower's catch-up in between: due again at the next tick */
	if (l->committed == committed)
		j->v = ledger_smt_freeze(l->map);
	if (j->v != NULL) {
		j->m = l->map;
		l->snap_job = j;
	}
	pthread_rwlock_unlock(&l->tree_lock);
	if (j->v == NULL) {
		free(j);
		return;
	}
	/* tried again only at the next bound, not after every block */
	l->snap_size = committed;
	l->snap_time = now_mono();
	j->size = committed;
	j->path = l->map_snap;
	j->mu = &l->mu;
	j->cv = &l->cv;
	j->hook = l->snap_hook;
	j->hook_arg = l->snap_hook_arg;
	atomic_init(&j->done, 0);
	if (pthread_create(&j->th, NULL, job_main, j) != 0) {
		/* no thread: written now, the writer paused as before */
		j->unjoinable = 1;
		(void)job_main(j);
		job_reap(l, 1);
	}
}

/* See ledger_state.h. */
void
ledger_map_snapshot_tick(struct ledger *l, int idle)
{
	uint64_t committed;
	int due;

	job_reap(l, 0);
	pthread_rwlock_rdlock(&l->tree_lock);
	committed = l->snap_seen = l->committed;
	due = l->snap_job == NULL && snap_due(l, committed, idle);
	pthread_rwlock_unlock(&l->tree_lock);
	if (due)
		job_start(l, committed);
}

/* See ledger_state.h. */
void
ledger_map_snapshot_drop(struct ledger *l)
{
	if (l->snap_job == NULL || l->snap_job->m != l->map)
		ledger_smt_free(l->map);
	l->map = NULL;
}

/* See ledger_int.h. */
void
ledger_map_snapshot_set_hook(struct ledger *l, void (*fn)(void *arg),
    void *arg)
{
	l->snap_hook = fn;
	l->snap_hook_arg = arg;
}

/* See ledger_state.h.  From the committed size the last tick saw (the
 * writer calls one first): l->committed is tree_lock's, not l->mu's. */
int
ledger_map_snapshot_deadline(struct ledger *l, struct timespec *until)
{
	double wait;

	/* One being written: done, reaped at once (a tick); else its end
	 * wakes the writer (job_main broadcasts under l->mu, which the
	 * writer holds from this check to its wait). */
	if (l->snap_job != NULL) {
		if (!atomic_load(&l->snap_job->done))
			return 0;
		clock_gettime(CLOCK_REALTIME, until);
		return 1;
	}
	if (l->map_snap == NULL || l->snap_seconds == 0 ||
	    l->snap_seen <= l->snap_size)
		return 0;
	wait = l->snap_time + (double)l->snap_seconds - now_mono();
	if (wait < 0)
		wait = 0;
	clock_gettime(CLOCK_REALTIME, until);
	until->tv_sec += (time_t)wait;
	until->tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
	return 1;
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

	job_reap(l, 1);		/* the one being written, if any */
	/* written while serving already (the same map) */
	if (l->map_snap == NULL || l->map == NULL || l->committed == 0 ||
	    l->committed == l->snap_disk ||
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
