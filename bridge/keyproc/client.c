/*
 * client.c: the network process's side of the key process (keyproc.h).
 *
 * One channel per signing thread, each with its own lock (a blocking
 * call per request: a request is written whole and its answer read whole
 * under the lock).  The first EOF or I/O error on any channel marks the
 * key process dead, once and for all: every later call answers -2 at
 * once, and the callers answer 503 (docs/design.md "Processes": serve
 * exits after KEYPROC_DEATH_GRACE_SEC for its supervisor to restart it).
 *
 * Each channel counts its blocking calls and the wall time its callers
 * spent in them (lock, request, answer); keyproc_free logs them, so a
 * benchmark can tell how long the event loop waited on the key process
 * (tests/bench/est.sh).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "common/log.h"
#include "bridge/keyproc/client_int.h"

#define KEYPROC_REAP_TRIES	100	/* x 10 ms at close */

struct keyproc {
	pid_t pid;
	int fd[KEYPROC_NCHAN];
	pthread_mutex_t mu[KEYPROC_NCHAN];
	atomic_int dead;
	int reaped;
	atomic_uint_least64_t calls[KEYPROC_NCHAN];	/* keyproc_call */
	atomic_uint_least64_t wait_ns[KEYPROC_NCHAN];	/* ... their time */
};

static const char *const chan_name[KEYPROC_NCHAN] = {
	[KEYPROC_CHAN_LOOP] = "LOOP",
	[KEYPROC_CHAN_OCSP] = "OCSP",
	[KEYPROC_CHAN_WRITER] = "WRITER",
	[KEYPROC_CHAN_CERT] = "CERT",
	[KEYPROC_CHAN_SPARE] = "SPARE",
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct keyproc *
keyproc_client_new(pid_t pid, const int *fds)
{
	struct keyproc *kp = calloc(1, sizeof(*kp));

	if (kp == NULL)
		return NULL;
	kp->pid = pid;
	for (int i = 0; i < KEYPROC_NCHAN; i++) {
		kp->fd[i] = fds[i];
		pthread_mutex_init(&kp->mu[i], NULL);
		atomic_init(&kp->calls[i], 0);
		atomic_init(&kp->wait_ns[i], 0);
	}
	atomic_init(&kp->dead, 0);
	return kp;
}

/* Marks the key process gone; logs it the first time. */
static void
keyproc_gone(struct keyproc *kp, const char *how)
{
	if (atomic_exchange(&kp->dead, 1) == 0)
		log_err("the key process (pid %ld) is gone (%s): issuance and "
		    "signatures are unavailable", (long)kp->pid, how);
}

/* Writes a request on channel ch; the caller holds its lock.  0, -1
 * (a request too big), -2 (the key process is gone). */
static int
chan_send(struct keyproc *kp, enum keyproc_chan ch, enum keyproc_op op,
    const struct keyproc_buf *req, char *why, size_t whylen)
{
	if (req != NULL && req->err) {
		snprintf(why, whylen, "the request does not fit a message");
		return -1;
	}
	if (keyproc_send(kp->fd[ch], (uint16_t)op, KEYPROC_OK,
	    req != NULL ? req->p : NULL, req != NULL ? req->len : 0) != 0) {
		keyproc_gone(kp, strerror(errno));
		snprintf(why, whylen, "the key process is unavailable");
		return -2;
	}
	return 0;
}

/* Reads the answer to op on channel ch; the caller holds its lock.  As
 * keyproc_call. */
static int
chan_recv(struct keyproc *kp, enum keyproc_chan ch, enum keyproc_op op,
    uint8_t **ans, size_t *anslen, char *why, size_t whylen)
{
	char rwhy[KEYPROC_WHY_MAX];
	uint16_t aop = 0, status = 0;
	uint8_t *p = NULL;
	size_t len = 0;
	int r;

	r = keyproc_recv(kp->fd[ch], &aop, &status, &p, &len, rwhy,
	    sizeof(rwhy));
	if (r != 0 || aop != (uint16_t)op) {
		keyproc_gone(kp, r == 1 ? "end of file" : r < 0 ? rwhy :
		    "an answer to another operation");
		snprintf(why, whylen, "the key process is unavailable");
		free(p);
		return -2;
	}
	if (status != KEYPROC_OK) {
		snprintf(why, whylen, "%.*s", (int)(len < KEYPROC_WHY_MAX ?
		    len : KEYPROC_WHY_MAX), p != NULL ? (const char *)p : "");
		free(p);
		return -1;
	}
	*ans = p;
	*anslen = len;
	return 0;
}

/* 0 when ch of kp can be used, else -2 with why set. */
static int
chan_ok(struct keyproc *kp, enum keyproc_chan ch, char *why, size_t whylen)
{
	if (kp == NULL || ch >= KEYPROC_NCHAN || atomic_load(&kp->dead)) {
		snprintf(why, whylen, "the key process is unavailable");
		return -2;
	}
	return 0;
}

int
keyproc_call(struct keyproc *kp, enum keyproc_chan ch, enum keyproc_op op,
    const struct keyproc_buf *req, uint8_t **ans, size_t *anslen,
    char *why, size_t whylen)
{
	uint64_t t0;
	int rc;

	*ans = NULL;
	*anslen = 0;
	if ((rc = chan_ok(kp, ch, why, whylen)) != 0)
		return rc;
	t0 = mono_ns();
	pthread_mutex_lock(&kp->mu[ch]);
	if ((rc = chan_send(kp, ch, op, req, why, whylen)) == 0)
		rc = chan_recv(kp, ch, op, ans, anslen, why, whylen);
	pthread_mutex_unlock(&kp->mu[ch]);
	atomic_fetch_add(&kp->calls[ch], 1);
	atomic_fetch_add(&kp->wait_ns[ch], mono_ns() - t0);
	return rc;
}

int
keyproc_send_req(struct keyproc *kp, enum keyproc_chan ch, enum keyproc_op op,
    const struct keyproc_buf *req, char *why, size_t whylen)
{
	int rc;

	if ((rc = chan_ok(kp, ch, why, whylen)) != 0)
		return rc;
	if (req != NULL && req->len > KEYPROC_PIPELINE_MAX) {
		snprintf(why, whylen, "a pipelined request of %zu bytes (at "
		    "most %u)", req->len, KEYPROC_PIPELINE_MAX);
		return -1;
	}
	pthread_mutex_lock(&kp->mu[ch]);
	rc = chan_send(kp, ch, op, req, why, whylen);
	pthread_mutex_unlock(&kp->mu[ch]);
	return rc;
}

int
keyproc_recv_ans(struct keyproc *kp, enum keyproc_chan ch, enum keyproc_op op,
    uint8_t **ans, size_t *anslen, char *why, size_t whylen)
{
	int rc;

	*ans = NULL;
	*anslen = 0;
	if ((rc = chan_ok(kp, ch, why, whylen)) != 0)
		return rc;
	pthread_mutex_lock(&kp->mu[ch]);
	rc = chan_recv(kp, ch, op, ans, anslen, why, whylen);
	pthread_mutex_unlock(&kp->mu[ch]);
	return rc;
}

pid_t
keyproc_pid(const struct keyproc *kp)
{
	return kp->pid;
}

int
keyproc_fd(const struct keyproc *kp, enum keyproc_chan ch)
{
	return kp->fd[ch];
}

int
keyproc_dead(struct keyproc *kp)
{
	return kp == NULL || atomic_load(&kp->dead);
}

int
keyproc_reap(struct keyproc *kp, int *wstatus)
{
	if (kp->reaped || waitpid(kp->pid, wstatus, WNOHANG) != kp->pid)
		return 0;
	kp->reaped = 1;
	if (WIFSIGNALED(*wstatus))
		keyproc_gone(kp, strsignal(WTERMSIG(*wstatus)));
	else
		keyproc_gone(kp, "exited");
	return 1;
}

void
keyproc_free(struct keyproc *kp)
{
	struct timespec ten = { 0, 10 * 1000 * 1000 };
	int st, i;

	if (kp == NULL)
		return;
	for (i = 0; i < KEYPROC_NCHAN; i++) {
		uint64_t n = atomic_load(&kp->calls[i]);
		uint64_t ns = atomic_load(&kp->wait_ns[i]);

		if (n > 0)
			log_info("keyproc: channel %s: %llu blocking calls, "
			    "%.1f ms waited in them, %.0f us each", chan_name[i],
			    (unsigned long long)n, (double)ns / 1e6,
			    (double)ns / 1e3 / (double)n);
	}
	for (i = 0; i < KEYPROC_NCHAN; i++) {
		pthread_mutex_lock(&kp->mu[i]);
		if (kp->fd[i] >= 0)
			close(kp->fd[i]);
		kp->fd[i] = -1;
		pthread_mutex_unlock(&kp->mu[i]);
	}
	for (i = 0; !kp->reaped && i < KEYPROC_REAP_TRIES; i++) {
		if (waitpid(kp->pid, &st, WNOHANG) == kp->pid)
			kp->reaped = 1;
		else
			nanosleep(&ten, NULL);
	}
	if (!kp->reaped) {
		kill(kp->pid, SIGKILL);
		(void)waitpid(kp->pid, &st, 0);
	}
	for (i = 0; i < KEYPROC_NCHAN; i++)
		pthread_mutex_destroy(&kp->mu[i]);
	free(kp);
}
