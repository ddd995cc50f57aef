/*
 * test_mapsnap_live.c: the status map's snapshot written while the ledger
 * goes on (issue 18, docs/design.md "Status map snapshot without pausing
 * the writer"): a test-only hook holds the snapshot's thread while the
 * writer commits, serves and proves new keys; and the map replaced (a
 * reload) while a snapshot of it is being written.  On both storage
 * backends (rules_fx.h).
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <sys/stat.h>

#include "rules_fx.h"
#include "mapsnap_fx.h"
#include "ledger/ledger_state.h"

#define HOLD_MAX	20	/* seconds the hook holds the snapshot at most */
#define N_DURING	6	/* keys registered while it is held */
#define HOLD_ALL	1000	/* released: every snapshot */

/* The snapshot's thread held in the test's hook until released (the
 * n-th snapshot by released >= n), or HOLD_MAX seconds, then timed_out: a writer paused by the snapshot
 * could not commit before that); the writer's wake-ups and answers. */
struct hold {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, released, timed_out, woken;
	int ok;				/* answered LEDGER_OK (drain) */
};

static void
hold_hook(void *arg)
{
	struct hold *h = arg;
	struct timespec until;
	int n;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HOLD_MAX;
	pthread_mutex_lock(&h->mu);
	n = ++h->started;
	pthread_cond_broadcast(&h->cv);
	while (h->released < n && !h->timed_out)
		if (pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
			h->timed_out = 1;
	pthread_mutex_unlock(&h->mu);
}

static void
hold_wake(void *arg)
{
	struct hold *h = arg;

	pthread_mutex_lock(&h->mu);
	h->woken = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void
hold_done(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct hold *h = arg;

	(void)r;
	(void)why;
	if (st == LEDGER_OK)
		h->ok++;	/* the caller's thread (ledger_drain) */
}

/* Waits (at most HOLD_MAX seconds) for *flag under h->mu; 1 when set
 * (then clears it when clear). */
static int
hold_wait(struct hold *h, int *flag, int clear)
{
	struct timespec until;
	int v;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HOLD_MAX;
	pthread_mutex_lock(&h->mu);
	while (*flag == 0 && pthread_cond_timedwait(&h->cv, &h->mu,
	    &until) != ETIMEDOUT)
		;
	v = *flag != 0;
	if (clear)
		*flag = 0;
	pthread_mutex_unlock(&h->mu);
	return v;
}

/* n keys registered through the writer (ledger_submit), their ids in
 * ids; waits for their answers, at most HOLD_MAX seconds between two. */
static void
submit_keys(struct fx *f, struct hold *h, int n,
    char ids[][LEDGER_KEYID_LEN + 1])
{
	int want = h->ok + n;
	struct reg r;
	char *note;

	for (int i = 0; i < n; i++) {
		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		note = ledger_entry_body(LEDGER_KEY_REGISTER, "admin",
		    f->seq_admin++, time(NULL), TEST_ORIGIN, r.fl, 6);
		note = ledger_entry_sign(note, "admin", f->admin);
		assert_non_null(note);
		assert_int_equal(ledger_submit(f->l, note, strlen(note),
		    hold_done, h), 0);
		free(note);
		memcpy(ids[i], r.id, sizeof(r.id));
	}
	while (h->ok < want && hold_wait(h, &h->woken, 1))
		ledger_drain(f->l);
	assert_int_equal(h->ok, want);
}

/*
 * A snapshot due while serving is written on a thread of its own: held
 * there (the hook), the writer commits N_DURING more keys, each readable
 * (status proofs) and the root a build's, before it is released (not
 * timed: the hook holds it until the test releases it, and a writer that
 * waited for the snapshot would make the hook time out first).  Once
 * released, the file is the map of the size at which it was due (the
 * writer's first idle tick: every entry is due), with that checkpoint's
 * root, and an open from it replays the entries after it.
 */
static void
writer_commits_while_a_snapshot_is_written(struct fx *f, int reload)
{
	char ids[N_DURING][LEDGER_KEYID_LEN + 1], p[128], why[256];
	char cp[LEDGER_NOTE_MAX];
	struct hold h = { .started = 0 };
	struct ledger_stats st;
	struct ledger_smt *m;
	uint8_t want[LEDGER_SMT_HASH], root[LEDGER_SMT_HASH];
	uint64_t size0, size;
	uint8_t *held;
	size_t len;

	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	register_keys(f, N_KEYS, NULL);		/* a trie to copy from */
	(void)reopen_every(f, 1, 1);
	assert_int_equal(ledger_checkpoint(f->l, cp, sizeof(cp), &size0), 0);
	assert_int_equal(ledger_checkpoint_map_root(cp, strlen(cp), want), 0);
	assert_true(size0 > 0 && size0 == ledger_size(f->l));
	ledger_map_snapshot_set_hook(f->l, hold_hook, &h);
	assert_int_equal(ledger_writer_start(f->l, hold_wake, &h), 0);
	assert_int_equal(hold_wait(&h, &h.started, 0), 1);
	submit_keys(f, &h, N_DURING, ids);	/* the writer, not paused */
	if (reload) {	/* as a follower's catch-up does (catchup.c) */
		pthread_rwlock_wrlock(&f->l->tree_lock);
		assert_int_equal(ledger_map_reload(f->l, f->l->r), 0);
		pthread_rwlock_unlock(&f->l->tree_lock);
	}
	for (int i = 0; i < N_DURING; i++)
		assert_value_has(f, LEDGER_MAP_KEY, ids[i], "status active");
	assert_root_is_a_builds(f);
	ledger_stats(f->l, &st);
	assert_true(st.map_snaps_written == 0);	/* still in flight */
	pthread_mutex_lock(&h.mu);
	assert_int_equal(h.timed_out, 0);
	assert_int_equal(h.started, 1);		/* one at a time */
	h.released = 1;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	for (int i = 0; i < HOLD_MAX * 100 && st.map_snaps_written == 0; i++) {
		usleep(10000);
		ledger_stats(f->l, &st);
	}
	assert_true(st.map_snaps_written == 1);	/* the next one held */
	assert_true(st.map_snap_last == size0);
	snap_path(f, p, sizeof(p));
	m = ledger_map_snapshot_load(p, UINT64_MAX, &size, root, why,
	    sizeof(why));
	if (m == NULL)
		fail_msg("%s", why);
	assert_true(size == size0);
	assert_memory_equal(root, want, LEDGER_SMT_HASH);
	ledger_smt_free(m);
	assert_true(ledger_size(f->l) == size0 + N_DURING);
	held = slurp(p, &len);
	pthread_mutex_lock(&h.mu);
	h.released = HOLD_ALL;		/* the next ones (due after it) */
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	assert_int_equal(reopen(f, 0), 0);	/* writes a current one */
	spill(p, held, len);			/* the one written while held */
	free(held);
	assert_int_equal(reopen(f, 1), 1);
	ledger_stats(f->l, &st);
	assert_true(st.map_snap_size == size0);
	assert_true(st.map_replayed == N_DURING);
	assert_root_is_a_builds(f);
	pthread_cond_destroy(&h.cv);
	pthread_mutex_destroy(&h.mu);
}

static void
test_writer_commits_while_a_snapshot_is_written(void **state)
{
	writer_commits_while_a_snapshot_is_written(*state, 0);
}

/* The same with the map replaced while the snapshot is held (a
 * follower's catch-up, a failed block's reload): the snapshot is still
 * of the map it froze, which is freed after it (ASan: not before). */
static void
test_map_replaced_while_a_snapshot_is_written(void **state)
{
	writer_commits_while_a_snapshot_is_written(*state, 1);
}

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = {
		T(test_writer_commits_while_a_snapshot_is_written),
		T(test_map_replaced_while_a_snapshot_is_written),
	};
	char name[64];

	snprintf(name, sizeof(name), "ledger/mapsnap_live (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	return fx_main("test_mapsnap_live", run_suite, NULL);
}
