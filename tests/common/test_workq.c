/*
 * test_workq.c: common/workq.c, worker threads whose results come back to
 * the event loop: every job's work runs on a worker, its done on the
 * loop's thread, once; a full pool refuses; a drain finishes everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "common/workq.h"

#define NJOBS 2000

struct tjob {
	pthread_t loop;			/* the thread done must run on */
	pthread_t worker;		/* where work ran */
	int worked, done, on_loop;
	int *ndone;
	struct event_base *base;
	int total;
	unsigned delay_us;
};

static void
tjob_work(void *arg)
{
	struct tjob *j = arg;

	j->worker = pthread_self();
	if (j->delay_us > 0)
		usleep(j->delay_us);
	j->worked++;
}

static void
tjob_done(void *arg)
{
	struct tjob *j = arg;

	j->done++;
	j->on_loop = pthread_equal(pthread_self(), j->loop) &&
	    !pthread_equal(j->worker, j->loop);
	if (++*j->ndone == j->total && j->base != NULL)
		event_base_loopbreak(j->base);
}

static void
test_every_job_works_on_a_worker_and_is_done_once_on_the_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct tjob *jobs = calloc(NJOBS, sizeof(*jobs));
	struct workq *q;
	int ndone = 0;

	assert_non_null(base);
	assert_non_null(jobs);
	assert_non_null(q = workq_new(base, 2));
	for (int i = 0; i < NJOBS; i++) {
		jobs[i].loop = pthread_self();
		jobs[i].ndone = &ndone;
		jobs[i].base = base;
		jobs[i].total = NJOBS;
		assert_int_equal(workq_push(q, tjob_work, tjob_done, &jobs[i]),
		    0);
	}
	/* the pool's event is only ever activated, never added */
	assert_int_equal(event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY), 0);
	assert_int_equal(ndone, NJOBS);
	for (int i = 0; i < NJOBS; i++) {
		assert_int_equal(jobs[i].worked, 1);
		assert_int_equal(jobs[i].done, 1);
		assert_int_equal(jobs[i].on_loop, 1);
	}
	workq_free(q);
	event_base_free(base);
	free(jobs);
}

static void
test_a_full_pool_refuses_and_a_drain_finishes_every_job(void **state)
{
	struct event_base *base = event_base_new();
	struct tjob *jobs = calloc(WORKQ_MAX_JOBS + 1, sizeof(*jobs));
	struct workq *q;
	int ndone = 0;

	assert_non_null(base);
	assert_non_null(jobs);
	assert_non_null(q = workq_new(base, 1));
	for (int i = 0; i <= WORKQ_MAX_JOBS; i++) {
		jobs[i].loop = pthread_self();
		jobs[i].ndone = &ndone;
		jobs[i].total = -1;
		jobs[i].delay_us = i == 0 ? 20000 : 0;	/* the pool fills */
	}
	for (int i = 0; i < WORKQ_MAX_JOBS; i++)
		assert_int_equal(workq_push(q, tjob_work, tjob_done, &jobs[i]),
		    0);
	/* the bound: the next is refused, and nothing of it runs */
	assert_int_equal(workq_push(q, tjob_work, tjob_done,
	    &jobs[WORKQ_MAX_JOBS]), -1);
	/* without running the loop: the drain waits and calls every done */
	workq_drain(q);
	assert_int_equal(ndone, WORKQ_MAX_JOBS);
	for (int i = 0; i < WORKQ_MAX_JOBS; i++) {
		assert_int_equal(jobs[i].done, 1);
		assert_int_equal(jobs[i].on_loop, 1);
	}
	assert_int_equal(jobs[WORKQ_MAX_JOBS].worked, 0);
	assert_int_equal(jobs[WORKQ_MAX_JOBS].done, 0);
	/* room again once done has run */
	assert_int_equal(workq_push(q, tjob_work, tjob_done,
	    &jobs[WORKQ_MAX_JOBS]), 0);
	workq_free(q);			/* drains it */
	assert_int_equal(jobs[WORKQ_MAX_JOBS].done, 1);
	assert_int_equal(ndone, WORKQ_MAX_JOBS + 1);
	event_base_free(base);
	free(jobs);
}

static void
test_thread_counts_out_of_bounds_are_refused(void **state)
{
	struct event_base *base = event_base_new();

	assert_non_null(base);
	assert_null(workq_new(base, 0));
	assert_null(workq_new(base, WORKQ_MAX_THREADS + 1));
	workq_free(NULL);
	workq_drain(NULL);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_every_job_works_on_a_worker_and_is_done_once_on_the_loop),
		cmocka_unit_test(
		    test_a_full_pool_refuses_and_a_drain_finishes_every_job),
		cmocka_unit_test(test_thread_counts_out_of_bounds_are_refused),
	};

	if (evthread_use_pthreads() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
