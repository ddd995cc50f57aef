/*
 * test_sandbox.c: bridge/keyproc/sandbox.c, in real child processes.
 *
 * Each test forks; the child narrows itself with sandbox_keyproc() (after
 * loading keys, as the key process does) and then either does what a key
 * process does (it must live and exit 0) or one forbidden call (it must
 * die of SIGSYS: SCMP_ACT_KILL_PROCESS).  The parent checks the child's
 * /proc/PID/status (Seccomp: 2, NoNewPrivs: 1), /proc/PID/limits (core
 * size 0) and that it is undumpable: the kernel then gives /proc/PID/ to
 * root, so with the child running as an unprivileged user (dropped with
 * sandbox_drop_user() when the test runs as root) the owner of
 * /proc/PID/status tells.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/rand.h>

#include "common/log.h"
#include "bridge/keyproc/sandbox.h"

#define ERRLEN		1024
#define RSA_BITS	2048
#define BIG_ALLOC	(8u << 20)	/* past malloc's mmap threshold */
#define STATUS_LINE	256
/* Any unprivileged user every Debian system has, for the drop. */
#define TEST_USER	"nobody"
#define NO_SUCH_USER	"kb-test-no-such-user"
/* Child exit codes naming the step that failed. */
enum child_rc {
	CHILD_OK = 0,
	CHILD_SANDBOX = 10,
	CHILD_SIGN,
	CHILD_RANDOM,
	CHILD_CHANNEL,
	CHILD_STATE,
	CHILD_MEMORY,
	CHILD_TIME,
	CHILD_FORBIDDEN_LIVED,
	CHILD_DROP,
	CHILD_YIELD,
};

/* A forbidden call, made by a sandboxed child. */
typedef void (*forbidden_fn)(int fd);

/* Runs child(arg, fd) in a forked process, with fd one end of a
 * socketpair whose other end the parent gets in *pfd.  Returns the pid. */
static pid_t
spawn(int (*child)(void *, int), void *arg, int *pfd)
{
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	/* stdio buffers flushed: the child must not write them twice */
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		/* _exit: no atexit handlers (cmocka's, LeakSanitizer's) */
		_exit(child(arg, sv[1]));
	}
	close(sv[1]);
	*pfd = sv[0];
	return pid;
}

/* The wait status of pid. */
static int
reap(pid_t pid)
{
	int st = 0;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/* Drops to TEST_USER when root (so that /proc/PID/'s owner shows the
 * dumpable flag), then sandbox_keyproc().  0 or CHILD_*. */
static int
child_narrow(void)
{
	char err[ERRLEN];

	if (sandbox_drop_user(TEST_USER, err, sizeof(err)) != 0) {
		fprintf(stderr, "drop: %s\n", err);
		return CHILD_DROP;
	}
	if (sandbox_keyproc(err, sizeof(err)) != 0) {
		fprintf(stderr, "sandbox: %s\n", err);
		return CHILD_SANDBOX;
	}
	return 0;
}

/* One signature by key over msg; 0 when it verifies. */
static int
sign_once(EVP_PKEY *key, const EVP_MD *md)
{
	static const unsigned char msg[] = "a checkpoint to sign";
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	ok = c != NULL && EVP_DigestSignInit(c, NULL, md, NULL, key) == 1 &&
	    EVP_DigestSign(c, sig, &siglen, msg, sizeof(msg)) == 1;
	EVP_MD_CTX_free(c);
	if (!ok || (c = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestVerifyInit(c, NULL, md, NULL, key) == 1 &&
	    EVP_DigestVerify(c, sig, siglen, msg, sizeof(msg)) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

/* The state file written as the key process writes it: a temporary,
 * fsync'd, renamed over the old one, the directory synced. */
static int
write_state(const char *dir)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	static const char body[] = "size 42\nroot abcd\n";
	FILE *fp;
	int fd, dfd;

	snprintf(tmp, sizeof(tmp), "%s/state.tmp", dir);
	snprintf(path, sizeof(path), "%s/state", dir);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || write(fd, body, sizeof(body) - 1) !=
	    (ssize_t)(sizeof(body) - 1) || fsync(fd) != 0 || close(fd) != 0 ||
	    rename(tmp, path) != 0)
		return -1;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0 || close(dfd) != 0)
		return -1;
	/* read back through stdio, as a restart would */
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	fd = fgetc(fp);
	fclose(fp);
	return fd == 's' ? 0 : -1;
}

/* The keys a key process holds, generated before the narrowing. */
struct keys {
	EVP_PKEY *ec, *ed, *rsa;
	const char *dir;	/* writable by the child (state file) */
};

/* What a key process does once narrowed; 0 or the CHILD_* that failed. */
static int
child_key_process(void *arg, int fd)
{
	struct keys *k = arg;
	struct pollfd pfd = { fd, POLLIN, 0 };
	struct timespec ts;
	unsigned char rnd[32], *big;
	char req[16];
	int rc;

	if ((rc = child_narrow()) != 0)
		return rc;
	log_info("key process narrowed");
	/* AddressSanitizer's allocator yields when two threads contend:
	 * the CI's sanitizer build lost its key process to this call */
	if (sched_yield() != 0)
		return CHILD_YIELD;
	if (sign_once(k->ec, EVP_sha256()) != 0 ||
	    sign_once(k->ed, NULL) != 0 || sign_once(k->rsa,
	    EVP_sha256()) != 0)
		return CHILD_SIGN;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return CHILD_RANDOM;
	if ((big = malloc(BIG_ALLOC)) == NULL)
		return CHILD_MEMORY;
	memset(big, 0xa5, BIG_ALLOC);
	if ((big = realloc(big, 2 * BIG_ALLOC)) == NULL)
		return CHILD_MEMORY;
	free(big);
	if (time(NULL) < 0 || clock_gettime(CLOCK_MONOTONIC, &ts) != 0 ||
	    clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return CHILD_TIME;
	if (write_state(k->dir) != 0)
		return CHILD_STATE;
	/* a request and an answer on the channel, both ways */
	if (send(fd, "ready", 5, 0) != 5 || poll(&pfd, 1, 10000) != 1 ||
	    recv(fd, req, sizeof(req), 0) <= 0 || write(fd, "bye", 3) != 3)
		return CHILD_CHANNEL;
	return CHILD_OK;
}

/* The first line of file that begins with prefix, into out; 0 or -1. */
static int
proc_line(const char *file, const char *prefix, char *out, size_t outlen)
{
	FILE *fp = fopen(file, "re");
	char line[STATUS_LINE];
	int rc = -1;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, prefix, strlen(prefix)) == 0) {
			snprintf(out, outlen, "%s", line);
			rc = 0;
			break;
		}
	fclose(fp);
	return rc;
}

static int
setup_keys(void **state)
{
	static struct keys k;
	static char dir[] = "/tmp/kb-sandbox-XXXXXX";

	k.ec = EVP_EC_gen("P-256");
	k.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k.rsa = EVP_RSA_gen(RSA_BITS);
	if (k.ec == NULL || k.ed == NULL || k.rsa == NULL ||
	    mkdtemp(dir) == NULL)
		return -1;
	/* the dropped child writes its state file here */
	if (chmod(dir, 0777) != 0)
		return -1;
	k.dir = dir;
	*state = &k;
	return 0;
}

static int
teardown_keys(void **state)
{
	struct keys *k = *state;
	char path[PATH_MAX];

	EVP_PKEY_free(k->ec);
	EVP_PKEY_free(k->ed);
	EVP_PKEY_free(k->rsa);
	snprintf(path, sizeof(path), "%s/state", k->dir);
	unlink(path);
	rmdir(k->dir);
	return 0;
}

/* Signing, randomness, memory, time, the state file, the channel and a log
 * line all work inside the filter; and the narrowed process shows
 * Seccomp 2, NoNewPrivs 1, a core limit of 0 and an undumpable /proc. */
static void
test_key_process_work_is_allowed_and_it_is_narrowed(void **state)
{
	char buf[16], path[64], line[STATUS_LINE];
	struct stat st;
	int fd, ws;
	pid_t pid;

	pid = spawn(child_key_process, *state, &fd);
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	/* the child is narrowed and waiting for our request */
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	assert_int_equal(proc_line(path, "Seccomp:", line, sizeof(line)), 0);
	assert_string_equal(line, "Seccomp:\t2\n");
	assert_int_equal(proc_line(path, "NoNewPrivs:", line, sizeof(line)),
	    0);
	assert_string_equal(line, "NoNewPrivs:\t1\n");
	assert_int_equal(stat(path, &st), 0);
	/* undumpable: /proc/PID/ belongs to root, not to the process's uid */
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(proc_line(path, "Uid:", line, sizeof(line)), 0);
	assert_string_not_equal(line, "Uid:\t0\t0\t0\t0\n");
	snprintf(path, sizeof(path), "/proc/%ld/limits", (long)pid);
	assert_int_equal(proc_line(path, "Max core file size", line,
	    sizeof(line)), 0);
	assert_non_null(strstr(line, " 0 "));
	assert_int_equal(write(fd, "sign", 4), 4);
	assert_int_equal(read(fd, buf, sizeof(buf)), 3);
	ws = reap(pid);
	close(fd);
	if (WIFSIGNALED(ws))
		fail_msg("the key process died of signal %d", WTERMSIG(ws));
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), CHILD_OK);
}

/* socket() and connect() are refused with EACCES, not killed (a
 * PKCS#11 module's syslog attempt must not end the key process): the
 * child exits CHILD_REFUSED when the call failed so, else lives on. */
#define CHILD_REFUSED 42

static void
call_socket(int fd)
{
	if (socket(AF_INET, SOCK_STREAM, 0) == -1 && errno == EACCES)
		_exit(CHILD_REFUSED);
}

static void
call_connect(int fd)
{
	struct sockaddr_un a;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "/nonexistent");
	if (connect(fd, (struct sockaddr *)(void *)&a, sizeof(a)) == -1 &&
	    errno == EACCES)
		_exit(CHILD_REFUSED);
}

static void
call_execve(int fd)
{
	char *argv[] = { "/bin/true", NULL }, *envp[] = { NULL };

	(void)execve(argv[0], argv, envp);
}

static void
call_ptrace(int fd)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void
call_fork(int fd)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
}

static void
call_dumpable(int fd)
{
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

static void
call_kill_parent(int fd)
{
	(void)kill(getppid(), 0);
}

static void
call_setuid(int fd)
{
	(void)setuid(0);
}

/* A sandboxed child making call; the exit code says it survived. */
static int
child_forbidden(void *arg, int fd)
{
	forbidden_fn call = *(forbidden_fn *)arg;
	int rc;

	if ((rc = child_narrow()) != 0)
		return rc;
	call(fd);
	return CHILD_FORBIDDEN_LIVED;
}

/* Each forbidden call kills the key process with SIGSYS. */
static void
expect_sigsys(forbidden_fn call, const char *what)
{
	int fd, ws;
	pid_t pid;

	pid = spawn(child_forbidden, &call, &fd);
	ws = reap(pid);
	close(fd);
	if (WIFEXITED(ws))
		fail_msg("%s: the key process lived (exit %d)", what,
		    WEXITSTATUS(ws));
	assert_true(WIFSIGNALED(ws));
	if (WTERMSIG(ws) != SIGSYS)
		fail_msg("%s: killed by signal %d, not SIGSYS", what,
		    WTERMSIG(ws));
}

/* A refused call fails with EACCES and the child goes on (to exit). */
static void
expect_eacces(forbidden_fn call, const char *what)
{
	int fd, ws;
	pid_t pid;

	pid = spawn(child_forbidden, &call, &fd);
	ws = reap(pid);
	close(fd);
	if (WIFSIGNALED(ws))
		fail_msg("%s: killed by signal %d", what, WTERMSIG(ws));
	if (WEXITSTATUS(ws) != CHILD_REFUSED)
		fail_msg("%s: not refused with EACCES (exit %d)", what,
		    WEXITSTATUS(ws));
}

static void
test_socket_is_refused_in_the_key_process(void **state)
{
	expect_eacces(call_socket, "socket()");
}

static void
test_connect_is_refused_in_the_key_process(void **state)
{
	expect_eacces(call_connect, "connect()");
}

static void
test_execve_kills_the_key_process(void **state)
{
	expect_sigsys(call_execve, "execve()");
}

static void
test_ptrace_kills_the_key_process(void **state)
{
	expect_sigsys(call_ptrace, "ptrace()");
}

static void
test_fork_kills_the_key_process(void **state)
{
	expect_sigsys(call_fork, "fork()");
}

static void
test_becoming_dumpable_kills_the_key_process(void **state)
{
	expect_sigsys(call_dumpable, "prctl(PR_SET_DUMPABLE, 1)");
}

static void
test_signalling_another_process_kills_the_key_process(void **state)
{
	expect_sigsys(call_kill_parent, "kill(parent)");
}

static void
test_setuid_kills_the_key_process(void **state)
{
	expect_sigsys(call_setuid, "setuid(0)");
}

/* abort() inside the filter: SIGABRT (tgkill to itself is allowed),
 * not SIGSYS, so a broken invariant still reads as one. */
static int
child_abort(void *arg, int fd)
{
	int rc;

	if ((rc = child_narrow()) != 0)
		return rc;
	abort();
}

static void
test_abort_in_the_key_process_is_sigabrt(void **state)
{
	int fd, ws;

	ws = reap(spawn(child_abort, NULL, &fd));
	close(fd);
	if (WIFEXITED(ws))
		fail_msg("the key process exited %d", WEXITSTATUS(ws));
	assert_true(WIFSIGNALED(ws));
	assert_int_equal(WTERMSIG(ws), SIGABRT);
}

/* Root drops for good: ids all changed, setuid(0) refused. */
static int
child_drop(void *arg, int fd)
{
	char err[ERRLEN];
	struct passwd *pw = getpwnam(TEST_USER);

	if (pw == NULL || sandbox_drop_user(TEST_USER, err,
	    sizeof(err)) != 0)
		return CHILD_DROP;
	if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid ||
	    getgid() != pw->pw_gid || setuid(0) == 0 || setgid(0) == 0)
		return CHILD_DROP;
	return CHILD_OK;
}

static void
test_root_drops_to_the_user_for_good(void **state)
{
	int fd, ws;

	if (geteuid() != 0)
		skip();
	ws = reap(spawn(child_drop, NULL, &fd));
	close(fd);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), CHILD_OK);
}

/* Writes sandbox_drop_user(arg)'s result and message to fd. */
static int
child_drop_refused(void *arg, int fd)
{
	char err[ERRLEN] = "";
	int r = sandbox_drop_user(arg, err, sizeof(err));

	(void)write(fd, err, strlen(err));
	return r == -1 && getuid() == 0 ? CHILD_OK : CHILD_DROP;
}

/* The message of a refused drop to user (read from the child). */
static void
drop_refused(const char *user, char *msg, size_t msglen)
{
	ssize_t n;
	int fd, ws;

	ws = reap(spawn(child_drop_refused, (void *)user, &fd));
	n = read(fd, msg, msglen - 1);
	close(fd);
	msg[n > 0 ? n : 0] = '\0';
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), CHILD_OK);
}

static void
test_missing_user_is_refused_with_how_to_create_it(void **state)
{
	char msg[ERRLEN];

	if (geteuid() != 0)
		skip();
	drop_refused(NO_SUCH_USER, msg, sizeof(msg));
	assert_non_null(strstr(msg, "\"" NO_SUCH_USER "\""));
	assert_non_null(strstr(msg, "useradd --system --home-dir "
	    "/var/lib/keybridge --shell /usr/sbin/nologin " NO_SUCH_USER));
	assert_non_null(strstr(msg, "set user = "));
}

static void
test_user_with_uid_0_is_refused(void **state)
{
	char msg[ERRLEN];

	if (geteuid() != 0)
		skip();
	drop_refused("root", msg, sizeof(msg));
	assert_non_null(strstr(msg, "uid 0"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_process_work_is_allowed_and_it_is_narrowed),
		cmocka_unit_test(test_socket_is_refused_in_the_key_process),
		cmocka_unit_test(test_connect_is_refused_in_the_key_process),
		cmocka_unit_test(test_execve_kills_the_key_process),
		cmocka_unit_test(test_ptrace_kills_the_key_process),
		cmocka_unit_test(test_fork_kills_the_key_process),
		cmocka_unit_test(test_becoming_dumpable_kills_the_key_process),
		cmocka_unit_test(test_signalling_another_process_kills_the_key_process),
		cmocka_unit_test(test_setuid_kills_the_key_process),
		cmocka_unit_test(test_abort_in_the_key_process_is_sigabrt),
		cmocka_unit_test(test_root_drops_to_the_user_for_good),
		cmocka_unit_test(test_missing_user_is_refused_with_how_to_create_it),
		cmocka_unit_test(test_user_with_uid_0_is_refused),
	};

	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
