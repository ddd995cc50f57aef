/*
 * workq.c: worker threads for an event loop's CPU work (common/workq.h).
 *
 * One mutex guards two lists: the jobs to run (FIFO, taken by whichever
 * thread is free) and the jobs run, waiting for the loop.  A worker that
 * finishes a job appends it to the second list and, when the list was not
 * already announced, activates the pool's event (event_active is
 * thread-safe once libevent has thread support): the loop then runs every
 * finished job's done in one callback, so a burst of jobs costs the loop
 * one wake-up, not one per job.
 */
#include <pthread.h>
#include <stdlib.h>

#include "common/workq.h"

struct wq_job {
	workq_fn work, done;
	void *arg;
	struct wq_job *next;
};

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t more;		/* todo grew, or stop */
	pthread_cond_t idle;		/* busy reached 0 */
	struct wq_job *todo, **todo_tail;
	struct wq_job *done, **done_tail;
	size_t busy;			/* queued or running */
	size_t held;			/* busy + run, done not yet called */
	int announced;			/* ev activated, not yet run */
	int stop;
	int nthreads;
	pthread_t th[WORKQ_MAX_THREADS];
	struct event *ev;
};

/* Takes the finished jobs (caller holds mu). */
static struct wq_job *
wq_take_done(struct workq *q)
{
	struct wq_job *j = q->done;

	q->done = NULL;
	q->done_tail = &q->done;
	q->announced = 0;
	return j;
}

/* Runs the done callbacks of the list j, in the order the jobs ended. */
static void
wq_run_done(struct workq *q, struct wq_job *j)
{
	struct wq_job *next;

	for (; j != NULL; j = next) {
		next = j->next;
		j->done(j->arg);
		free(j);
		pthread_mutex_lock(&q->mu);
		q->held--;
		pthread_mutex_unlock(&q->mu);
	}
}

/* The loop's side: every job finished so far. */
static void
wq_ready(evutil_socket_t fd, short what, void *arg)
{
	struct workq *q = arg;
	struct wq_job *j;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&q->mu);
	j = wq_take_done(q);
	pthread_mutex_unlock(&q->mu);
	wq_run_done(q, j);
}

static void *
wq_main(void *arg)
{
	struct workq *q = arg;
	struct wq_job *j;
	int wake;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->todo == NULL && !q->stop)
			pthread_cond_wait(&q->more, &q->mu);
		if (q->todo == NULL)	/* stop, nothing left */
			break;
		j = q->todo;
		if ((q->todo = j->next) == NULL)
			q->todo_tail = &q->todo;
		j->next = NULL;
		pthread_mutex_unlock(&q->mu);
		j->work(j->arg);
		pthread_mutex_lock(&q->mu);
		*q->done_tail = j;
		q->done_tail = &j->next;
		wake = !q->announced;
		q->announced = 1;
		if (--q->busy == 0)
			pthread_cond_broadcast(&q->idle);
		if (wake)
			event_active(q->ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

struct workq *
workq_new(struct event_base *base, int nthreads)
{
	struct workq *q;

	if (nthreads < 1 || nthreads > WORKQ_MAX_THREADS ||
	    (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->todo_tail = &q->todo;
	q->done_tail = &q->done;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->more, NULL);
	pthread_cond_init(&q->idle, NULL);
	if ((q->ev = event_new(base, -1, 0, wq_ready, q)) == NULL) {
		workq_free(q);
		return NULL;
	}
	for (; q->nthreads < nthreads; q->nthreads++)
		if (pthread_create(&q->th[q->nthreads], NULL, wq_main,
		    q) != 0) {
			workq_free(q);
			return NULL;
		}
	return q;
}

int
workq_push(struct workq *q, workq_fn work, workq_fn done, void *arg)
{
	struct wq_job *j;
	int rc = -1;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&q->mu);
	if (!q->stop && q->held < WORKQ_MAX_JOBS) {
		*q->todo_tail = j;
		q->todo_tail = &j->next;
		q->busy++;
		q->held++;
		pthread_cond_signal(&q->more);
		j = NULL;
		rc = 0;
	}
	pthread_mutex_unlock(&q->mu);
	free(j);
	return rc;
}

void
workq_drain(struct workq *q)
{
	struct wq_job *j;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	while (q->busy > 0)
		pthread_cond_wait(&q->idle, &q->mu);
	j = wq_take_done(q);
	pthread_mutex_unlock(&q->mu);
	wq_run_done(q, j);
}

void
workq_free(struct workq *q)
{
	if (q == NULL)
		return;
	if (q->ev != NULL)
		workq_drain(q);
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->more);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->th[i], NULL);
	if (q->ev != NULL)
		event_free(q->ev);
	pthread_cond_destroy(&q->idle);
	pthread_cond_destroy(&q->more);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
