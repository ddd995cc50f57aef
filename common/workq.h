/*
 * workq.h: a small pool of worker threads for an event loop's CPU work
 * (issue 18: an enrollment's CSR check off the loop, so the loop only does
 * I/O and routing and both cores work).
 *
 * A job is two functions and their argument: work(arg) runs on one of the
 * pool's threads, then done(arg) runs on the event loop's thread, from
 * an event the worker activates.  Jobs may finish out of order (one per
 * thread at a time); each done runs exactly once.  work must touch nothing
 * the loop touches meanwhile: the job's own memory and thread-safe
 * libraries (OpenSSL's parsing and verification are).
 *
 * The queue is bounded (WORKQ_MAX_JOBS queued or running): a full pool
 * refuses, and the caller answers 503 instead of queueing without bound.
 * libevent must have thread support (evthread_use_pthreads) before
 * workq_new.
 */
#ifndef KEYBRIDGE_COMMON_WORKQ_H
#define KEYBRIDGE_COMMON_WORKQ_H

#include <stddef.h>

#include <event2/event.h>

#define WORKQ_MAX_THREADS 8	/* threads of one pool */
#define WORKQ_MAX_JOBS    4096	/* jobs queued or running at once */

struct workq;

typedef void (*workq_fn)(void *arg);

/* A pool of nthreads (1..WORKQ_MAX_THREADS) threads whose done callbacks
 * run on base's loop (base borrowed, outlives the pool).  NULL on error. */
struct workq *workq_new(struct event_base *base, int nthreads);

/* Queues work(arg) then done(arg).  0, or -1 when the pool is full or
 * stopped (nothing runs: the caller still owns arg). */
int workq_push(struct workq *q, workq_fn work, workq_fn done, void *arg);

/* Waits for every job queued or running and runs their done callbacks
 * here (the loop's thread), at shutdown, while the connections the jobs
 * answer still exist.  Safe on NULL. */
void workq_drain(struct workq *q);

/* workq_drain, then stops and joins the threads and frees q.  Safe on
 * NULL. */
void workq_free(struct workq *q);

#endif
