/*
 * keyproc.c: the key process (keyproc.h; docs/design.md "Processes").
 *
 * Forked by keyproc_start() before the network process starts a thread:
 * the child keeps only its ends of the channels and stderr (the log),
 * loads the keys, narrows itself (sandbox_keyproc) and answers requests
 * until every channel is closed.  The main thread polls the loop's, the
 * OCSP worker's and the spare channel, one request per ready channel per
 * pass, so that the OCSP worker's burst of pre-signing and an enrollment
 * on the loop's channel take turns.  The writer's channel has a thread
 * of its own, started before the seccomp filter (which TSYNC puts on it
 * too): a checkpoint's promise reaching the disk (an fdatasync) never
 * holds up an enrollment's SIGN_ENTRY or SIGN_CERT, nor they the next
 * block.  That thread answers SIGN_CHECKPOINT only: what else the key
 * process keeps between requests (SIGN_CERT's last checkpoint and lowest
 * index) is the main thread's alone, and the promise both threads touch
 * is under a lock (ops.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "common/log.h"
#include "bridge/keyproc/keyproc_int.h"
#include "bridge/keyproc/client_int.h"

/* Closes every descriptor but stdin, stdout, stderr and keep[0..n): the
 * key process holds no file, socket or database of the parent. */
static void
close_others(const int *keep, size_t n)
{
	DIR *d;
	struct dirent *de;
	int fd, dfd, k;

	if ((d = opendir("/proc/self/fd")) == NULL) {
		for (fd = 3; fd < 1024; fd++) {
			for (k = 0; k < (int)n && keep[k] != fd; k++)
				;
			if (k == (int)n)
				(void)close(fd);
		}
		return;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd <= 2 || fd == dfd)
			continue;
		for (k = 0; k < (int)n && keep[k] != fd; k++)
			;
		if (k == (int)n)
			(void)close(fd);
	}
	closedir(d);
}

/* Answers one request on fd.  0, or -1 when the channel must be closed
 * (EOF, or a message that cannot be followed: truncated or oversize,
 * which is answered with a refusal first when the peer still reads). */
static int
serve_one(struct keyproc_keys *k, int fd, int writer)
{
	struct keyproc_buf ans = { 0 };
	char why[KEYPROC_WHY_MAX];
	uint16_t op = 0, status = 0;
	uint8_t *req = NULL;
	size_t len;
	int rc;

	why[0] = '\0';
	if ((rc = keyproc_recv(fd, &op, &status, &req, &len, why,
	    sizeof(why))) != 0) {
		if (rc < 0) {
			log_warn("keyproc: refused: %s", why);
			(void)keyproc_send(fd, op, KEYPROC_REFUSED, why,
			    strlen(why));
		}
		return -1;
	}
	if (status != KEYPROC_OK) {
		snprintf(why, sizeof(why), "a request carries no status");
		rc = -1;
	} else if (writer && op != KEYPROC_OP_SIGN_CHECKPOINT) {
		snprintf(why, sizeof(why), "operation %u is not answered on "
		    "the writer's channel", op);
		rc = -1;
	} else
		rc = keyproc_handle(k, op, req, len, &ans, why, sizeof(why));
	free(req);
	if (rc != 0) {
		log_warn("keyproc: refused operation %u: %s", op, why);
		rc = keyproc_send(fd, op, KEYPROC_REFUSED, why, strlen(why));
	} else
		rc = keyproc_send(fd, op, KEYPROC_OK, ans.p, ans.len);
	keyproc_buf_free(&ans);
	return rc;
}

/* The loop: poll every open channel; one request from each ready one,
 * starting one further along each pass.  Returns when all are closed. */
static void
serve_loop(struct keyproc_keys *k, int *fds, size_t n)
{
	struct pollfd pfd[KEYPROC_NCHAN];
	size_t open, start = 0, i, c;

	for (;;) {
		for (open = 0, i = 0; i < n; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			open += fds[i] >= 0;
		}
		if (open == 0)
			return;
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("keyproc: poll: %s", strerror(errno));
			return;
		}
		for (c = 0; c < n; c++) {
			i = (start + c) % n;
			if (fds[i] < 0 || pfd[i].revents == 0)
				continue;
			if (serve_one(k, fds[i], 0) != 0) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
		start = (start + 1) % n;
	}
}

/* The writer channel's thread (see above). */
struct writer_thread {
	struct keyproc_keys *k;
	int fd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int running;
};

static void *
writer_main(void *arg)
{
	struct writer_thread *w = arg;

	/* glibc's start of a thread (set_robust_list, rseq) is behind us:
	 * the filter may come now. */
	pthread_mutex_lock(&w->mu);
	w->running = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	while (serve_one(w->k, w->fd, 1) == 0)
		;
	close(w->fd);
	return NULL;
}

/* The key process could not start: err answers the first request on the
 * loop's channel (signer_new's INFO), so the parent can say why. */
static void
start_failed(int fd, const char *err)
{
	char why[KEYPROC_WHY_MAX];
	uint16_t op = 0, status;
	uint8_t *req = NULL;
	size_t len;

	if (keyproc_recv(fd, &op, &status, &req, &len, why, sizeof(why)) ==
	    0)
		(void)keyproc_send(fd, op, KEYPROC_REFUSED, err, strnlen(err,
		    KEYPROC_WHY_MAX - 1));
	free(req);
}

/* The child: never returns. */
static void
keyproc_main(const struct bridge_config *cfg, int flags, int *fds, size_t n)
{
	struct keyproc_keys *k;
	struct writer_thread w;
	pthread_t wt;
	char err[512];
	int rc = 1, threaded = 0;

	/* The network process stops it by closing the channels, after its
	 * last checkpoint is signed: a terminal's ^C or a SIGTERM to the
	 * process group must not end it first. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	close_others(fds, n);
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		log_err("keyproc: out of memory");
		goto out;
	}
	if (keyproc_keys_load(k, cfg, err, sizeof(err)) != 0) {
		log_openssl("keyproc");
		start_failed(fds[KEYPROC_CHAN_LOOP], err);
		goto out;
	}
	/* The user first: the filter then forbids setuid and prctl. */
	if ((flags & KEYPROC_DROP_USER) != 0 &&
	    sandbox_drop_user(cfg->user, err, sizeof(err)) != 0) {
		log_err("key process: %s", err);
		start_failed(fds[KEYPROC_CHAN_LOOP], err);
		goto out;
	}
	/* Before the filter, which then covers it (TSYNC); without it the
	 * main thread polls the writer's channel too. */
	w.k = k;
	w.fd = fds[KEYPROC_CHAN_WRITER];
	w.running = 0;
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	if (pthread_create(&wt, NULL, writer_main, &w) == 0) {
		threaded = 1;
		fds[KEYPROC_CHAN_WRITER] = -1;
		pthread_mutex_lock(&w.mu);
		while (!w.running)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
	} else
		log_warn("keyproc: no thread for the writer's channel: "
		    "one thread answers all channels");
	if (sandbox_keyproc(err, sizeof(err)) != 0) {
		log_err("key process: sandbox: %s", err);
		start_failed(fds[KEYPROC_CHAN_LOOP], err);
		goto out;
	}
	serve_loop(k, fds, n);
	/* Until the writer's channel is closed too. */
	if (threaded)
		pthread_join(wt, NULL);
	threaded = 0;
	rc = 0;
out:
	if (threaded) {
		/* The start failed, before the filter: its read ends before
		 * the keys are cleared. */
		(void)shutdown(w.fd, SHUT_RDWR);
		pthread_join(wt, NULL);
	}
	if (k != NULL)
		keyproc_keys_clear(k);
	free(k);
	_exit(rc);
}

struct keyproc *
keyproc_start(const struct bridge_config *cfg, int flags, char *err,
    size_t errlen)
{
	int sv[KEYPROC_NCHAN][2], child[KEYPROC_NCHAN], parent[KEYPROC_NCHAN];
	struct keyproc *kp = NULL;
	pid_t pid;
	size_t i, made = 0;

	for (i = 0; i < KEYPROC_NCHAN; i++, made++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sv[i]) != 0) {
			snprintf(err, errlen, "socketpair: %s",
			    strerror(errno));
			goto fail;
		}
	for (i = 0; i < KEYPROC_NCHAN; i++) {
		parent[i] = sv[i][0];
		child[i] = sv[i][1];
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		for (i = 0; i < KEYPROC_NCHAN; i++)
			close(parent[i]);
		keyproc_main(cfg, flags, child, KEYPROC_NCHAN);
	}
	for (i = 0; i < KEYPROC_NCHAN; i++)
		close(child[i]);
	if ((kp = keyproc_client_new(pid, parent)) == NULL) {
		snprintf(err, errlen, "out of memory");
		for (i = 0; i < KEYPROC_NCHAN; i++)
			close(parent[i]);
		return NULL;
	}
	return kp;
fail:
	for (i = 0; i < made; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
	return NULL;
}
