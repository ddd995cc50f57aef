/*
 * worker.c: the thread that signs OCSP responses and CRLs, so that no
 * signature ever runs on the event loop (docs/design.md "Status": cached
 * answers are never delayed by signing work).
 *
 * Two queues: urgent (a client waits, or a CRL after a revocation) and
 * background (pre-signing); urgent jobs always go first.  Finished jobs
 * go to a done list and the loop is woken with event_active() on a
 * thread-enabled base (evthread_use_pthreads in serve.c), where done()
 * runs.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "ocsp/ocsp_int.h"

struct ocspr_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ocspr_jobq urgent, background, done;
	size_t load[OCSPR_JOB_CRL + 1];		/* queued or running */
	int stop, started;
	struct event *wake;
	void (*work)(struct ocspr_job **, size_t);
	void (*donefn)(struct ocspr_job *);
};

static void *
ocspr_worker_main(void *arg)
{
	struct ocspr_worker *w = arg;
	struct ocspr_job *js[OCSPR_PRESIGN_BATCH], *j;
	size_t n;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && TAILQ_EMPTY(&w->urgent) &&
		    TAILQ_EMPTY(&w->background))
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		n = 0;
		if ((j = TAILQ_FIRST(&w->urgent)) != NULL) {
			TAILQ_REMOVE(&w->urgent, j, link);
			js[n++] = j;
		} else
			while (n < OCSPR_PRESIGN_BATCH &&
			    (j = TAILQ_FIRST(&w->background)) != NULL) {
				TAILQ_REMOVE(&w->background, j, link);
				js[n++] = j;
			}
		pthread_mutex_unlock(&w->mu);
		w->work(js, n);
		pthread_mutex_lock(&w->mu);
		for (size_t i = 0; i < n; i++)
			TAILQ_INSERT_TAIL(&w->done, js[i], link);
		event_active(w->wake, EV_READ, 0);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Loop thread: hands the finished jobs to done(). */
static void
ocspr_worker_drain(evutil_socket_t fd, short what, void *arg)
{
	struct ocspr_worker *w = arg;
	struct ocspr_jobq q;
	struct ocspr_job *j;

	TAILQ_INIT(&q);
	pthread_mutex_lock(&w->mu);
	TAILQ_CONCAT(&q, &w->done, link);
	pthread_mutex_unlock(&w->mu);
	while ((j = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, j, link);
		pthread_mutex_lock(&w->mu);
		w->load[j->kind]--;
		pthread_mutex_unlock(&w->mu);
		w->donefn(j);
	}
}

struct ocspr_worker *
ocspr_worker_new(struct event_base *base,
    void (*work)(struct ocspr_job **, size_t), void (*done)(struct ocspr_job *))
{
	struct ocspr_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	TAILQ_INIT(&w->urgent);
	TAILQ_INIT(&w->background);
	TAILQ_INIT(&w->done);
	w->work = work;
	w->donefn = done;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((w->wake = event_new(base, -1, 0, ocspr_worker_drain, w)) ==
	    NULL || pthread_create(&w->thread, NULL, ocspr_worker_main,
	    w) != 0) {
		ocspr_worker_free(w);
		return NULL;
	}
	w->started = 1;
	return w;
}

void
ocspr_worker_push(struct ocspr_worker *w, struct ocspr_job *j)
{
	pthread_mutex_lock(&w->mu);
	if (j->kind == OCSPR_JOB_PRESIGN)
		TAILQ_INSERT_TAIL(&w->background, j, link);
	else
		TAILQ_INSERT_TAIL(&w->urgent, j, link);
	w->load[j->kind]++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

size_t
ocspr_worker_load(struct ocspr_worker *w, enum ocspr_job_kind k)
{
	size_t n;

	pthread_mutex_lock(&w->mu);
	n = w->load[k];
	pthread_mutex_unlock(&w->mu);
	return n;
}

void
ocspr_worker_free(struct ocspr_worker *w)
{
	struct ocspr_job *j;

	if (w == NULL)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	/* What never ran is failed; what ran is done: both go to done(). */
	TAILQ_CONCAT(&w->done, &w->urgent, link);
	while ((j = TAILQ_FIRST(&w->background)) != NULL) {
		TAILQ_REMOVE(&w->background, j, link);
		j->failed = 1;
		TAILQ_INSERT_TAIL(&w->done, j, link);
	}
	TAILQ_FOREACH(j, &w->done, link)
		if (j->der == NULL && j->out[0] == NULL)
			j->failed = 1;
	while ((j = TAILQ_FIRST(&w->done)) != NULL) {
		TAILQ_REMOVE(&w->done, j, link);
		w->donefn(j);
	}
	if (w->wake != NULL)
		event_free(w->wake);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
