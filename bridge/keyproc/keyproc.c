/*
 * keyproc.c: the key process (keyproc.h; docs/design.md "Processes").
 *
 * Forked by keyproc_start() before the network process starts a thread:
 * the child keeps only its ends of the channels and stderr (the log),
 * loads the keys, narrows itself (sandbox_keyproc) and answers requests
 * until every channel is closed.  The main thread polls the loop's and
 * the spare channel, one request per ready channel per pass.  The OCSP
 * worker's and the writer's channels have a thread each, started before
 * the seccomp filter (which TSYNC puts on them too): a batch of OCSP
 * pre-signing never holds up an enrollment's SIGN_ENTRY or SIGN_CERT on
 * the loop's channel, nor a checkpoint's promise reaching the disk (an
 * fdatasync), nor they the next block.  Each of those threads answers
 * its channel's operations only (chan_ops): what else the key process
 * keeps between requests (SIGN_CERT's last checkpoint and lowest index)
 * is the main thread's alone, and the promise the threads share is under
 * a lock (ops.c).
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

/* The operations a channel answers: a bit per operation; 0 for the loop's
 * and the spare channel, which answer all.  The main thread answers the
 * loop's, the certificate and the spare channel, the others have a thread
 * of their own. */
#define OP_BIT(op)	(1u << (op))
static const unsigned chan_ops[KEYPROC_NCHAN] = {
	[KEYPROC_CHAN_OCSP] = OP_BIT(KEYPROC_OP_SIGN_OCSP) |
	    OP_BIT(KEYPROC_OP_SIGN_CRL),
	[KEYPROC_CHAN_WRITER] = OP_BIT(KEYPROC_OP_SIGN_CHECKPOINT),
	[KEYPROC_CHAN_CERT] = OP_BIT(KEYPROC_OP_SIGN_CERT),
};
static const char *const chan_name[KEYPROC_NCHAN] = {
	[KEYPROC_CHAN_LOOP] = "loop's",
	[KEYPROC_CHAN_OCSP] = "OCSP worker's",
	[KEYPROC_CHAN_WRITER] = "writer's",
	[KEYPROC_CHAN_CERT] = "certificate",
	[KEYPROC_CHAN_SPARE] = "spare",
};

/* Answers one request on channel ch's fd; ops is what it may answer (0:
 * all).  0, or -1 when the channel must be closed (EOF, or a message
 * that cannot be followed: truncated or oversize, which is answered with
 * a refusal first when the peer still reads). */
static int
serve_one(struct keyproc_keys *k, int fd, enum keyproc_chan ch,
    unsigned ops)
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
	} else if (ops != 0 && (op >= KEYPROC_OP_MAX ||
	    (ops & OP_BIT(op)) == 0)) {
		snprintf(why, sizeof(why), "operation %u is not answered on "
		    "the %s channel", op, chan_name[ch]);
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
			if (serve_one(k, fds[i], (enum keyproc_chan)i,
			    chan_ops[i]) != 0) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
		start = (start + 1) % n;
	}
}

/* A channel's own thread (see above). */
struct chan_thread {
	struct keyproc_keys *k;
	enum keyproc_chan ch;
	int fd;
	pthread_t t;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int running;
};

static void *
chan_main(void *arg)
{
	struct chan_thread *c = arg;

	/* glibc's start of a thread (set_robust_list, rseq) is behind us:
	 * the filter may come now. */
	pthread_mutex_lock(&c->mu);
	c->running = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	while (serve_one(c->k, c->fd, c->ch, chan_ops[c->ch]) == 0)
		;
	close(c->fd);
	return NULL;
}

/* Starts c's thread on channel ch (fds[ch], then -1 for the main loop)
 * and waits until it runs.  Without a thread the main loop serves the
 * channel, with every check all the same. */
static void
chan_thread_start(struct chan_thread *c, struct keyproc_keys *k, int *fds,
    enum keyproc_chan ch)
{
	memset(c, 0, sizeof(*c));
	c->k = k;
	c->ch = ch;
	c->fd = fds[ch];
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->t, NULL, chan_main, c) != 0) {
		log_warn("keyproc: no thread for the %s channel: the main "
		    "thread answers it", chan_name[ch]);
		return;
	}
	c->started = 1;
	fds[ch] = -1;
	pthread_mutex_lock(&c->mu);
	while (!c->running)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

/* Waits for c's thread to end: its channel closed, or (wake, when the
 * start failed before the filter) its read ended here. */
static void
chan_thread_join(struct chan_thread *c, int wake)
{
	if (!c->started)
		return;
	if (wake)
		(void)shutdown(c->fd, SHUT_RDWR);
	pthread_join(c->t, NULL);
	c->started = 0;
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
	struct chan_thread ct[2];
	char err[512];
	int rc = 1;

	/* The network process stops it by closing the channels, after its
	 * last checkpoint is signed: a terminal's ^C or a SIGTERM to the
	 * process group must not end it first. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* logrotate's reopen, which `systemctl kill -s USR1` sends to every
	 * process of the unit: the network process's business */
	signal(SIGUSR1, SIG_IGN);
	memset(ct, 0, sizeof(ct));
	/* The log file and syslog's socket are about to be closed: never
	 * write to a number close_others() frees for the state file. */
	log_detach();
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
	/* Before the filter, which then covers them (TSYNC). */
	chan_thread_start(&ct[0], k, fds, KEYPROC_CHAN_WRITER);
	chan_thread_start(&ct[1], k, fds, KEYPROC_CHAN_OCSP);
	if (sandbox_keyproc(err, sizeof(err)) != 0) {
		log_err("key process: sandbox: %s", err);
		start_failed(fds[KEYPROC_CHAN_LOOP], err);
		goto out;
	}
	serve_loop(k, fds, n);
	/* Until their channels are closed too. */
	chan_thread_join(&ct[0], 0);
	chan_thread_join(&ct[1], 0);
	rc = 0;
out:
	/* The start failed (before the filter): their reads end before the
	 * keys are cleared. */
	chan_thread_join(&ct[0], 1);
	chan_thread_join(&ct[1], 1);
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
