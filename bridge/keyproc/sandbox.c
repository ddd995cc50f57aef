/*
 * sandbox.c: what `keybridge serve`'s processes give up once set up.
 *
 * The model is OpenBSD's acme-client, whose key process ends its start-up
 * with pledge("stdio") once the key is loaded.  Linux has no pledge; the
 * nearest is a seccomp filter (libseccomp) listing the system calls the
 * key process still makes, with every other call killing the process.
 * Both processes also become undumpable (no core file, no ptrace and no
 * /proc/PID/mem for their user: PR_SET_DUMPABLE 0 makes the kernel hand
 * /proc/PID/ to root) and, when started as root, drop to an unprivileged
 * user (keybridge.conf `user`, default keybridge).
 *
 * The key process's list (sandbox_keyproc_calls[]) was written from what
 * a key process really calls: strace -f of tests/bridge/keyproc/
 * test_sandbox.c's signing loop (ECDSA P-256, Ed25519 and RSA signatures,
 * socketpair messages, a state file replaced atomically, a log line) and
 * of a SoftHSM2 key signing through libp11 after the filter.  The table
 * says which calls strace saw and why the others are kept.
 * docs/operations.md "The bridge's user and the sandbox" explains how to
 * see a kill.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>
#include <valgrind/valgrind.h>

#include "common/log.h"

#include "ledger/ledger.h"
#include "bridge/keyproc/sandbox.h"

/* getpwnam_r's buffer: a passwd line with NSS's extra fields. */
#define SANDBOX_PW_BUF		4096
/* Supplementary groups read back to check that group 0 is gone. */
#define SANDBOX_MAX_GROUPS	256
/* The files sandbox_hand_over() gives the user, relative to the data
 * directory (the SQLite database is added from cfg->db).  The key
 * process's state file belongs here too (bridge/keyproc/). */
static const char *const sandbox_state_files[] = {
	"checkpoint.trusted",		/* TRUST_FILE (bridge.h) */
	"keybridge.lock",		/* config_lock() */
	"keyproc.state",		/* KEYPROC_STATE_FILE (keyproc.h) */
};
/* SQLite's companions of a database file. */
static const char *const sandbox_db_suffixes[] = {
	"", "-wal", "-shm", "-journal",
};

/*
 * The key process's system calls, each with why.  Names, not numbers:
 * libseccomp resolves them for the running architecture and a name the
 * architecture lacks (poll, rename and unlink on arm64) is skipped.
 */
struct sandbox_call {
	const char *name;
	const char *why;
};
static const struct sandbox_call sandbox_keyproc_calls[] = {
	/* Seen under strace -f (test_sandbox.c's key process loop, and a
	 * SoftHSM2 token's signatures through libp11): */
	{ "read", "requests on the socketpairs; the state file" },
	{ "write", "answers; the state file; log lines on stderr" },
	{ "recvfrom", "recv() on a socketpair" },
	{ "sendto", "send() on a socketpair" },
	{ "poll", "waiting on the channels (one per signing thread)" },
	{ "close", "the state file; a channel the network process closed" },
	{ "mmap", "malloc of large blocks" },
	{ "munmap", "free of large blocks" },
	{ "mremap", "realloc of large blocks" },
	{ "openat", "the state file's temporary; SoftHSM2's token files" },
	{ "newfstatat", "stdio's fstat of a new FILE; SoftHSM2" },
	{ "lseek", "stdio; the time zone file of the first log line" },
	{ "fsync", "the state file and its directory reach the disk" },
	{ "pwrite64", "a slot of the state file (bridge/keyproc/state.c)" },
	{ "rename", "the temporary replaces the state file" },
	{ "fchmod", "the state file's temporary is 0600 whatever umask and an old copy said" },
	{ "fcntl", "SoftHSM2 locks its token files at every signature" },
	{ "getrandom", "OpenSSL's DRBG (ECDSA nonces, RSA blinding)" },
	{ "getpid", "OpenSSL's fork check; the log line's [pid]" },
	{ "sigaltstack", "AddressSanitizer's exit path (make sanitize)" },
	{ "exit_group", "exit() and _exit()" },
	/* Not seen, but what the same work reaches on another path: */
	{ "recvmsg", "a framed read on a socketpair" },
	{ "sendmsg", "a framed write on a socketpair" },
	{ "writev", "glibc's fatal messages (malloc corruption)" },
	{ "ppoll", "poll() on architectures without poll (arm64)" },
	{ "brk", "malloc growing the main heap" },
	{ "madvise", "free returning pages to the kernel" },
	{ "mprotect", "malloc growing a thread arena's heap" },
	{ "renameat", "the same rename through renameat()" },
	{ "renameat2", "rename() on architectures without rename" },
	{ "unlink", "removing a temporary after a failed write" },
	{ "unlinkat", "unlink() on architectures without unlink" },
	{ "fdatasync", "a slot of the state file reaches the disk" },
	{ "clock_gettime", "time when the vDSO falls back to the kernel" },
	{ "gettimeofday", "the same" },
	{ "time", "the same" },
	{ "futex", "OpenSSL's and glibc's locks when contended" },
	{ "gettid", "abort(), before it raises SIGABRT (tgkill below)" },
	{ "rt_sigprocmask", "abort() and glibc's internal signal masks" },
	{ "rt_sigreturn", "returning from a signal handler (SIGTERM)" },
	{ "restart_syscall", "a poll interrupted by SIGSTOP and SIGCONT" },
	{ "exit", "a thread's end" },
	{ "sched_yield", "AddressSanitizer's allocator lock when two channel threads contend (make sanitize)" },
	{ "getdents64", "SoftHSM2 lists its token directory again when another process (ca rollover, issue 17) added objects to the token" },
	{ "rseq", "glibc unregisters a thread's restartable sequences at its end (the writer channel's thread)" },
};
#define SANDBOX_NCALLS \
	(sizeof(sandbox_keyproc_calls) / sizeof(sandbox_keyproc_calls[0]))

/* No core file and no ptrace/proc access for the process's user. */
static int
sandbox_undumpable(char *err, size_t errlen)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0) {
		snprintf(err, errlen, "setrlimit(RLIMIT_CORE, 0): %s",
		    strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_DUMPABLE, 0): %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The refusal for a user that is not in the passwd database. */
static void
sandbox_no_user(const char *user, char *err, size_t errlen)
{
	snprintf(err, errlen, "started as root, keybridge drops to user "
	    "\"%s\" (keybridge.conf `user`), which does not exist: create it "
	    "with `useradd --system --home-dir /var/lib/keybridge --shell "
	    "/usr/sbin/nologin %s`, or set user = <an unprivileged user> in "
	    "keybridge.conf", user, user);
}

/* Looks user up into pw (strings in buf).  0, or -1 with err set. */
static int
sandbox_lookup(const char *user, struct passwd *pw, char *buf,
    size_t buflen, char *err, size_t errlen)
{
	struct passwd *res = NULL;
	int e;

	if (user == NULL || user[0] == '\0') {
		snprintf(err, errlen, "keybridge.conf `user` is empty");
		return -1;
	}
	if ((e = getpwnam_r(user, pw, buf, buflen, &res)) != 0 ||
	    res == NULL) {
		if (e != 0 && e != ENOENT && e != ESRCH)
			snprintf(err, errlen, "looking up user \"%s\": %s",
			    user, strerror(e));
		else
			sandbox_no_user(user, err, errlen);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user \"%s\" has uid 0: keybridge.conf "
		    "`user` must name an unprivileged user", user);
		return -1;
	}
	return 0;
}

/* Whether the process holds root: a uid or euid of 0. */
static int
sandbox_is_root(void)
{
	return getuid() == 0 || geteuid() == 0;
}

/* After the drop: no id of 0 left anywhere and setuid(0) refused. */
static int
sandbox_check_dropped(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	gid_t groups[SANDBOX_MAX_GROUPS];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int i, n;

	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid) {
		snprintf(err, errlen, "the user or group ids did not all "
		    "change");
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
		snprintf(err, errlen, "root could be regained after the drop");
		return -1;
	}
	if ((n = getgroups(SANDBOX_MAX_GROUPS, groups)) < 0) {
		snprintf(err, errlen, "getgroups: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++)
		if (groups[i] == 0) {
			snprintf(err, errlen, "the user is in group 0 (root): "
			    "choose a user outside it");
			return -1;
		}
	return 0;
}

/* See sandbox.h. */
int
sandbox_drop_user(const char *user, char *err, size_t errlen)
{
	struct passwd pw;
	char buf[SANDBOX_PW_BUF];

	if (!sandbox_is_root())
		return 0;
	if (sandbox_lookup(user, &pw, buf, sizeof(buf), err, errlen) != 0)
		return -1;
	/* groups, then the gid, then the uid: each needs root */
	if (initgroups(pw.pw_name, pw.pw_gid) != 0 ||
	    setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0 ||
	    setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0) {
		snprintf(err, errlen, "dropping to user \"%s\": %s", user,
		    strerror(errno));
		return -1;
	}
	if (sandbox_check_dropped(pw.pw_uid, pw.pw_gid, err, errlen) != 0)
		return -1;
	/* A credential change sets dumpable from fs.suid_dumpable. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_DUMPABLE, 0): %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* See sandbox.h. */
int
sandbox_network(const struct bridge_config *cfg, char *err, size_t errlen)
{
	if (sandbox_undumpable(err, errlen) != 0 ||
	    sandbox_drop_user(cfg->user, err, errlen) != 0)
		return -1;
	/* Dropped, the bridge still creates files in the data directory:
	 * a parent closed to the user (/root) fails here, not at the first
	 * checkpoint it cannot remember. */
	if (access(cfg->dir, R_OK | W_OK | X_OK) != 0) {
		snprintf(err, errlen, "the data directory %s is not writable "
		    "by user \"%s\" (%s): it, and every parent, must let "
		    "that user in; move it (e.g. /var/lib/keybridge) or set "
		    "user in keybridge.conf", cfg->dir, cfg->user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Calls that fail with EACCES instead of killing (see below). */
static const char *const sandbox_refused[] = { "socket", "connect" };

/* The filter of sandbox_keyproc_calls[], loaded.  0, or -1 with err. */
static int
sandbox_load_filter(char *err, size_t errlen)
{
	struct scmp_arg_cmp self;
	scmp_filter_ctx ctx;
	size_t i;
	int nr, rc = -1, e;

	/* KILL_PROCESS, not KILL (the thread only): a violation ends the
	 * key process at once, which the network process sees. */
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* every thread of the process, not only the caller */
	if ((e = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		snprintf(err, errlen, "seccomp TSYNC: %s", strerror(-e));
		goto out;
	}
	for (i = 0; i < SANDBOX_NCALLS; i++) {
		nr = seccomp_syscall_resolve_name(sandbox_keyproc_calls[i].name);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue;	/* not a call of this architecture */
		if ((e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) != 0) {
			snprintf(err, errlen, "seccomp rule for %s: %s",
			    sandbox_keyproc_calls[i].name, strerror(-e));
			goto out;
		}
	}
	/* No socket at all: socket() and connect() fail with EACCES rather
	 * than kill, because a PKCS#11 module (SoftHSM2) may try syslog's
	 * /dev/log on its own; the key process still reaches nothing. */
	for (i = 0; i < sizeof(sandbox_refused) / sizeof(sandbox_refused[0]);
	    i++) {
		nr = seccomp_syscall_resolve_name(sandbox_refused[i]);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue;
		if ((e = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr,
		    0)) != 0) {
			snprintf(err, errlen, "seccomp rule for %s: %s",
			    sandbox_refused[i], strerror(-e));
			goto out;
		}
	}
	/* raise() after abort(): only a signal to this process itself */
	self.arg = 0;
	self.op = SCMP_CMP_EQ;
	self.datum_a = (scmp_datum_t)getpid();
	self.datum_b = 0;
	if ((e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    self)) != 0) {
		snprintf(err, errlen, "seccomp rule for tgkill: %s",
		    strerror(-e));
		goto out;
	}
	if ((e = seccomp_load(ctx)) != 0) {
		snprintf(err, errlen, "seccomp_load: %s", strerror(-e));
		goto out;
	}
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}

/* See sandbox.h. */
int
sandbox_keyproc(char *err, size_t errlen)
{
	if (sandbox_undumpable(err, errlen) != 0)
		return -1;
	/* no execve can give the process more rights than it has now */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s",
		    strerror(errno));
		return -1;
	}
	/* Valgrind cannot run a process under seccomp (it does not know
	 * the call): under it, and only there, the filter is left out, with
	 * a warning (tests/integration/test_serve_start.sh). */
	if (RUNNING_ON_VALGRIND) {
		log_warn("key process: running under valgrind: no seccomp "
		    "filter");
		return 0;
	}
	return sandbox_load_filter(err, errlen);
}

/* Gives the file name (relative to dfd; no symbolic link followed) to
 * uid:gid when it exists as a regular file with one link and is not
 * theirs yet.  0 (also when absent), or -1 with err. */
static int
sandbox_give(int dfd, const char *dir, const char *name, uid_t uid,
    gid_t gid, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = -1;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			snprintf(err, errlen, "%s/%s: a symbolic link; not "
			    "handing it to the bridge's user", dir, name);
		else
			snprintf(err, errlen, "%s/%s: %s", dir, name,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0)
		snprintf(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
	else if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		snprintf(err, errlen, "%s/%s: not a regular file with one "
		    "link; not handing it to the bridge's user", dir, name);
	else if ((st.st_uid != uid || st.st_gid != gid) &&
	    fchown(fd, uid, gid) != 0)
		snprintf(err, errlen, "chown %s/%s: %s", dir, name,
		    strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

/* The SQLite database of cfg and its companions, given to uid:gid. */
static int
sandbox_give_db(const struct bridge_config *cfg, uid_t uid, gid_t gid,
    char *err, size_t errlen)
{
	char path[PATH_MAX], name[PATH_MAX + 16];
	size_t i;

	if (ledger_db_is_postgres(cfg->db))
		return 0;
	config_path(cfg, cfg->db, path, sizeof(path));
	if (path[0] == '\0') {
		snprintf(err, errlen, "db path too long");
		return -1;
	}
	for (i = 0; i < sizeof(sandbox_db_suffixes) /
	    sizeof(sandbox_db_suffixes[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", path,
		    sandbox_db_suffixes[i]);
		if (sandbox_give(AT_FDCWD, ".", name, uid, gid, err,
		    errlen) != 0)
			return -1;
	}
	return 0;
}

/* See sandbox.h. */
int
sandbox_hand_over(const struct bridge_config *cfg, char *err, size_t errlen)
{
	struct passwd pw;
	struct stat st;
	char buf[SANDBOX_PW_BUF];
	size_t i;
	int dfd = -1, rc = -1;

	if (!sandbox_is_root())
		return 0;
	if (sandbox_lookup(cfg->user, &pw, buf, sizeof(buf), err,
	    errlen) != 0)
		return -1;
	if ((dfd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fstat(dfd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", cfg->dir, strerror(errno));
		goto out;
	}
	if ((st.st_uid != pw.pw_uid || st.st_gid != pw.pw_gid) &&
	    fchown(dfd, pw.pw_uid, pw.pw_gid) != 0) {
		snprintf(err, errlen, "chown %s: %s", cfg->dir,
		    strerror(errno));
		goto out;
	}
	for (i = 0; i < sizeof(sandbox_state_files) /
	    sizeof(sandbox_state_files[0]); i++)
		if (sandbox_give(dfd, cfg->dir, sandbox_state_files[i],
		    pw.pw_uid, pw.pw_gid, err, errlen) != 0)
			goto out;
	if (sandbox_give_db(cfg, pw.pw_uid, pw.pw_gid, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* See sandbox.h. */
int
sandbox_adopt_dir_owner(int fd, const char *dir, char *err, size_t errlen)
{
	struct stat ds, fs;

	if (geteuid() != 0)
		return 0;
	if (stat(dir, &ds) != 0 || fstat(fd, &fs) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((fs.st_uid != ds.st_uid || fs.st_gid != ds.st_gid) &&
	    fchown(fd, ds.st_uid, ds.st_gid) != 0) {
		snprintf(err, errlen, "chown to the owner of %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}
