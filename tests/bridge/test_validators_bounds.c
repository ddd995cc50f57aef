/*
 * test_validators_bounds.c: bridge/validators.c within its bounds: queued
 * submissions answered within the seal waits when there is no quorum, a
 * validator far behind caught up in bounded steps, and one down longer
 * than max_past refused, then resynced.  The validators and the ledger
 * are validators_fx.h's (see test_validators.c).
 */

#include "tests/bridge/validators_fx.h"

struct answers {
	pthread_mutex_t mu;
	int n, ok, no_quorum, other;
};

static void
count_done(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct answers *a = arg;

	a->n++;
	if (st == LEDGER_OK)
		a->ok++;
	else if (st == LEDGER_ERR_NO_QUORUM)
		a->no_quorum++;
	else
		a->other++;
}

/* Through the writer thread, two down: every queued submission is
 * answered no_quorum within about two seal waits, none acknowledged;
 * one back: the next ones are final. */
static void
test_queued_submissions_are_answered_within_the_bound(void **state)
{
	struct fx *f = *state;
	struct ledger_account_info ai;
	struct answers a;
	struct timespec t0;
	char *e;
	int n = 40;

	memset(&a, 0, sizeof(a));
	assert_int_equal(append(f, NULL), LEDGER_OK);
	assert_int_equal(ledger_writer_start(f->l, no_wake, NULL), 0);
	tv_stop(&f->v[0]);
	tv_stop(&f->v[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		e = entry(f);
		assert_int_equal(ledger_submit(f->l, e, strlen(e), count_done,
		    &a), 0);
		free(e);
		if (i % 10 == 0)
			usleep(20000);
	}
	while (a.n < n && ms_since(&t0) < 4 * WAIT_MS + 2000) {
		usleep(10000);
		ledger_drain(f->l);
	}
	assert_int_equal(a.n, n);
	assert_int_equal(a.ok, 0);
	assert_int_equal(a.other, 0);
	assert_int_equal(a.no_quorum, n);
	assert_true(ms_since(&t0) < 2 * WAIT_MS + 1000);
	tv_start(&f->v[0]);
	memset(&a, 0, sizeof(a));
	/* the first batch is stored (the unsealed block, final later):
	 * its sequence numbers are used; the others' are not */
	assert_int_equal(ledger_account_get(f->l, "admin", &ai), 0);
	assert_true(ai.seq < f->seq);
	f->seq = ai.seq;
	for (int i = 0; i < 5; i++) {
		e = entry(f);
		assert_int_equal(ledger_submit(f->l, e, strlen(e), count_done,
		    &a), 0);
		free(e);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (a.n < 5 && ms_since(&t0) < 4 * WAIT_MS + 2000) {
		usleep(10000);
		ledger_drain(f->l);
	}
	assert_int_equal(a.ok, 5);
	ledger_writer_stop(f->l);
}

#define CHUNK		8	/* entries of one catch-up step, lowered */

/* Appends until v's size reaches the newest block (at most n blocks);
 * returns the last receipt's size. */
static uint64_t
append_until_caught_up(struct fx *f, struct tv *v, int n)
{
	struct ledger_receipt r;

	for (int i = 0; i < n; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		assert_true(cosigned_by(f, r.checkpoint) >= 3);
		if (tv_size(v) == r.tree_size)
			return r.tree_size;
		usleep(5000);	/* its answer may come after the quorum */
	}
	return r.tree_size;
}

/* v4 misses more than 3 catch-up steps' worth of entries: back, it is
 * walked forward through the stored blocks, never more than CHUNK
 * entries a request, each step cosigned, until it cosigns the newest
 * checkpoint; its registry holds every entry.  Finality never waits
 * for it. */
static void
test_validator_far_behind_catches_up_in_bounded_steps(void **state)
{
	struct fx *f = *state;
	struct ledger_receipt r;
	struct bval_peer_status ps[NV];
	struct tv *v4 = &f->v[3];
	uint64_t before, missed = 5 * CHUNK + 3, answers, size;

	bval_set_chunk_max(f->bv, CHUNK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(append(f, &r), LEDGER_OK);
	append_until_caught_up(f, v4, 5);
	tv_stop(v4);
	before = tv_size(v4);
	for (uint64_t i = 0; i < missed; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		assert_true(cosigned_by(f, r.checkpoint) >= 3);
	}
	assert_int_equal(tv_size(v4), before);
	assert_true(r.tree_size - before > 3 * CHUNK);
	pthread_mutex_lock(&v4->mu);
	answers = v4->answers;
	v4->max_entries = 0;
	pthread_mutex_unlock(&v4->mu);
	tv_start(v4);
	size = append_until_caught_up(f, v4, CATCHUP_APPENDS);
	if (tv_size(v4) != size)
		fail_msg("v4 at %llu, the log at %llu",
		    (unsigned long long)tv_size(v4),
		    (unsigned long long)size);
	pthread_mutex_lock(&v4->mu);
	/* in steps: at least missed / CHUNK requests, none over CHUNK */
	assert_true(v4->answers - answers >= missed / CHUNK);
	if (v4->max_entries > CHUNK)
		fail_msg("a request of %zu entries (steps of %d)",
		    v4->max_entries, CHUNK);
	assert_int_equal(ledger_replay_size(v4->r), size);
	pthread_mutex_unlock(&v4->mu);
	/* the bridge takes its last answer at a next block (the next on a
	 * quiet machine; a later one under load) */
	for (int i = 0; i < CATCHUP_APPENDS; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		bval_peers(f->bv, ps, NV);
		if (ps[3].lag <= 1)
			break;
		usleep(5000);
	}
	assert_int_equal(ps[3].up, 1);
	assert_int_equal(ps[3].refused, 0);
	assert_true(ps[3].cosigned_size >= size);
	assert_true(ps[3].lag <= 1);
}

/* The validator's time bound is kept: down longer than its max_past, v4
 * refuses the old stored checkpoints of the first step (time out of
 * bounds), the bridge says so and goes on with three; the operator's
 * resync (a larger max_past while it catches up) brings it back. */
static void
test_validator_down_longer_than_max_past_refuses_then_resyncs(void **state)
{
	struct fx *f = *state;
	struct ledger_receipt r;
	struct bval_peer_status ps[NV];
	struct tv *v4 = &f->v[3];
	uint64_t size;

	bval_set_chunk_max(f->bv, CHUNK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(append(f, &r), LEDGER_OK);
	append_until_caught_up(f, v4, 5);
	tv_stop(v4);
	for (int i = 0; i < 3 * CHUNK; i++)
		assert_int_equal(append(f, &r), LEDGER_OK);
	pthread_mutex_lock(&v4->mu);
	v4->st.max_past = 1;
	pthread_mutex_unlock(&v4->mu);
	sleep(3);
	tv_start(v4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		assert_true(cosigned_by(f, r.checkpoint) >= 3);
		usleep(5000);
	}
	assert_true(tv_size(v4) < r.tree_size - 3 * CHUNK + 1);
	bval_peers(f->bv, ps, NV);
	assert_true(ps[3].refused > 0);
	if (strstr(ps[3].last_refusal, "time-out-of-bounds") == NULL)
		fail_msg("last refusal: %s", ps[3].last_refusal);
	pthread_mutex_lock(&v4->mu);
	v4->st.max_past = 600;
	pthread_mutex_unlock(&v4->mu);
	size = append_until_caught_up(f, v4, CATCHUP_APPENDS);
	assert_int_equal(tv_size(v4), size);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_queued_submissions_are_answered_within_the_bound,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_validator_far_behind_catches_up_in_bounded_steps,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_validator_down_longer_than_max_past_refuses_then_resyncs,
		    setup, teardown),
	};

	if (evthread_use_pthreads() != 0)
		return 1;
	return cmocka_run_group_tests_name("bridge/validators_bounds", tests, NULL,
	    NULL);
}
