/*
 * log.c: leveled logging, one line per message, as text or JSON, to
 * stderr, syslog(3) or a file.
 *
 * A text line is "2026-11-21T14:07:08Z keybridge[4711] info: message\n",
 * built in a local buffer and handed to the kernel with a single write(2);
 * a JSON line is one object built with jansson (log_format = json).  The
 * target (log_target) and the access log are swapped and reopened under
 * log_mu, and every write holds it, so a line of one thread (the ledger
 * writer, the event loop) never interleaves with another's, and a line
 * being written while logrotate's SIGUSR1 reopens the file lands in the
 * old file or the new one, never in a closed descriptor.
 *
 * stderr is what systemd's journal, docker and a terminal capture: the
 * default.  syslog(3) gets the message without our time stamp and pid
 * (syslogd adds its own), at the priority of its level.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>

#include "common/log.h"
#include "common/log_int.h"

#define LOG_TRUNC_MARK	"..."	/* ends a line cut at LOG_LINE_MAX */
#define LOG_ERRSTR_MAX	256	/* one OpenSSL error string */
#define LOG_IDENT_MAX	32	/* bytes of syslog's ident */
#define LOG_DEFAULT_IDENT "keybridge"
#define LOG_NO_COMPONENT "keybridge"
/* A file we open: appended to, never through a symlink (a log directory
 * writable by the dropped user must not let it point a root start's
 * writes at another file), not our controlling terminal. */
#define LOG_OPEN_FLAGS	(O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | \
			 O_NOCTTY | O_NOFOLLOW)
/* JSON lines: compact, and the duration with 6 significant digits. */
#define LOG_JSON_FLAGS	(JSON_COMPACT | JSON_REAL_PRECISION(6))

int log_verbosity = LOGL_INFO;

/* Where lines go.  Module state like log_verbosity: one process, one log;
 * changed only under log_mu. */
struct log_sink {
	int format;			/* enum log_format */
	enum log_kind kind;
	int fd;				/* STDERR_FILENO or the file's */
	int access_fd;			/* -1: no access log */
	char path[PATH_MAX];		/* of the file, LOG_TO_FILE */
	char access_path[PATH_MAX];
	char ident[LOG_IDENT_MAX];	/* openlog() keeps the pointer */
	const char *component;		/* of lines naming none */
};
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct log_sink log_sink = {
	LOG_FORMAT_TEXT, LOG_TO_STDERR, STDERR_FILENO, -1, "", "",
	LOG_DEFAULT_IDENT, LOG_NO_COMPONENT,
};

/* Indexed by enum log_level; also the names log_level_parse() accepts. */
static const char *const log_names[] = {
	[LOGL_ERR] = "error",
	[LOGL_WARN] = "warn",
	[LOGL_INFO] = "info",
	[LOGL_DEBUG] = "debug",
};
#define LOG_NLEVELS (sizeof(log_names) / sizeof(log_names[0]))

/* syslog(3) priorities of the levels. */
static const int log_prios[] = {
	[LOGL_ERR] = LOG_ERR,
	[LOGL_WARN] = LOG_WARNING,
	[LOGL_INFO] = LOG_INFO,
	[LOGL_DEBUG] = LOG_DEBUG,
};

/* The "prefix: " of a message naming a part of keybridge, and the
 * component it stands for in a JSON line.  Compared without case
 * ("EST: ", "OCSP: ").  The listeners' own names (front.c's "https: ")
 * and server.c's "server: " are the http component. */
static const struct {
	const char *prefix;
	const char *component;
} log_components[] = {
	{ "api", "api" },		{ "config", "config" },
	{ "crl", "crl" },		{ "dashboard", "dashboard" },
	{ "enroll", "est" },		{ "est", "est" },
	{ "events", "api" },		{ "heal", "ledger" },
	{ "http", "http" },		{ "https", "http" },
	{ "key process", "keyproc" },	{ "keyproc", "keyproc" },
	{ "ledger", "ledger" },		{ "log", "log" },
	{ "metrics", "metrics" },	{ "ocsp", "ocsp" },
	{ "pkcs11", "keyproc" },	{ "pki", "ca" },
	{ "sandbox", "sandbox" },	{ "server", "http" },
	{ "serverkeygen", "est" },	{ "signer", "signer" },
	{ "status", "ocsp" },		{ "tls", "http" },
	{ "trust", "ledger" },		{ "validator", "validator" },
	{ "validators", "validators" },	{ "writer", "writer" },
};
#define LOG_NCOMPONENTS (sizeof(log_components) / sizeof(log_components[0]))

/* Returns the level named by s ("error", "warn", "info", "debug"), or -1
 * when s is NULL or names no level. */
int
log_level_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < LOG_NLEVELS; i++)
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

/* See log.h. */
int
log_format_parse(const char *s)
{
	if (s != NULL && strcmp(s, "text") == 0)
		return LOG_FORMAT_TEXT;
	if (s != NULL && strcmp(s, "json") == 0)
		return LOG_FORMAT_JSON;
	return -1;
}

/* See log.h. */
int
log_target_check(const char *s)
{
	size_t i, len;

	if (s == NULL || (len = strlen(s)) == 0 || len >= PATH_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return -1;
	return 0;
}

/* See log_int.h. */
const char *
log_level_name(enum log_level lv)
{
	return (unsigned)lv < LOG_NLEVELS ? log_names[lv] : log_names[0];
}

/* See log.h. */
const char *
log_component(const char *msg, size_t *skip)
{
	const char *colon = strchr(msg, ':');
	const char *none = __atomic_load_n(&log_sink.component,
	    __ATOMIC_RELAXED);
	size_t i, n;

	*skip = 0;
	if (colon == NULL || colon[1] != ' ')
		return none;
	n = (size_t)(colon - msg);
	for (i = 0; i < LOG_NCOMPONENTS; i++)
		if (strlen(log_components[i].prefix) == n &&
		    strncasecmp(msg, log_components[i].prefix, n) == 0) {
			*skip = n + 2;
			return log_components[i].component;
		}
	return none;
}

/* See log_int.h. */
void
log_time_ms(char *ts, size_t len)
{
	struct timespec now;
	struct tm tm;
	size_t n;

	if (clock_gettime(CLOCK_REALTIME, &now) != 0 ||
	    gmtime_r(&now.tv_sec, &tm) == NULL ||
	    (n = strftime(ts, len, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		snprintf(ts, len, "-");
		return;
	}
	snprintf(ts + n, len - n, ".%03ldZ", now.tv_nsec / 1000000);
}

/* See log_int.h. */
json_t *
log_json_str(const char *s)
{
	json_t *j;
	char *copy;
	size_t i;

	if ((j = json_string(s)) != NULL || (copy = strdup(s)) == NULL)
		return j;
	/* Not UTF-8 (a peer's bytes): keep the ASCII, mark the rest. */
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* Writes all of buf to fd, retrying short writes and EINTR.  Best effort:
 * a logger has nowhere to report its own failure. */
static void
log_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Writes a finished line (len bytes, newline included) or, to syslog,
 * the message (its msglen bytes at msg) at lv's priority.  Holds log_mu
 * for the write. */
static void
log_put(enum log_level lv, const char *line, size_t len, const char *msg,
    size_t msglen)
{
	pthread_mutex_lock(&log_mu);
	if (log_sink.kind == LOG_TO_SYSLOG)
		syslog(log_prios[lv], "%.*s", (int)msglen, msg);
	else
		log_write_all(log_sink.fd, line, len);
	pthread_mutex_unlock(&log_mu);
}

/* See log_int.h. */
char *
log_json_line(enum log_level lv, json_t *o, size_t *len)
{
	char ts[LOG_TIME_MAX];
	char *s = NULL;

	if (o == NULL)
		return NULL;
	log_time_ms(ts, sizeof(ts));
	if (json_object_set_new(o, "time", json_string(ts)) != 0 ||
	    json_object_set_new(o, "level",
	    json_string(log_level_name(lv))) != 0 ||
	    json_object_set_new(o, "pid", json_integer(getpid())) != 0 ||
	    (s = json_dumps(o, LOG_JSON_FLAGS | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	/* json_dumps ends with the NUL: room for the newline there. */
	*len = strlen(s);
	s[(*len)++] = '\n';
out:
	json_decref(o);
	return s;
}

/* See log_int.h. */
void
log_emit_json(enum log_level lv, json_t *o)
{
	char *s;
	size_t len;

	if ((s = log_json_line(lv, o, &len)) == NULL)
		return;
	log_put(lv, s, len, s, len - 1);
	free(s);
}

/* The JSON line of a message: its component split off its text. */
static void
log_msg_json(enum log_level lv, const char *msg)
{
	const char *comp;
	size_t skip;
	json_t *o;

	comp = log_component(msg, &skip);
	/* time and level first, as a reader's eye expects */
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "time", json_null()) != 0 ||
	    json_object_set_new(o, "level", json_null()) != 0 ||
	    json_object_set_new(o, "component", json_string(comp)) != 0 ||
	    json_object_set_new(o, "message", log_json_str(msg + skip)) != 0) {
		json_decref(o);
		return;
	}
	log_emit_json(lv, o);
}

/* Formats and writes one line at level lv when lv <= log_verbosity.
 * Control characters in the message (a newline from a peer's input, for
 * one) become '?', so a message can never forge a second log line.  errno
 * is preserved, so callers may log and then still look at it. */
void
log_msg(enum log_level lv, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	char ts[sizeof("2026-11-21T14:07:08Z")];
	struct tm tm;
	time_t now;
	va_list ap;
	size_t len, start, i, msglen;
	int n, saved_errno = errno;

	if ((int)lv > log_verbosity)
		goto out;
	if ((unsigned)lv >= LOG_NLEVELS)
		lv = LOGL_ERR;

	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(ts, sizeof(ts), "-");

	n = snprintf(line, sizeof(line), "%s keybridge[%ld] %s: ", ts,
	    (long)getpid(), log_names[lv]);
	if (n < 0 || (size_t)n >= sizeof(line))
		goto out;
	start = (size_t)n;

	/* Keep one byte for the newline (vsnprintf needs one for its NUL). */
	va_start(ap, fmt);
	n = vsnprintf(line + start, sizeof(line) - start - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(line) - start - 1) {
		len = sizeof(line) - 2;	/* the text vsnprintf kept */
		memcpy(line + len - strlen(LOG_TRUNC_MARK), LOG_TRUNC_MARK,
		    strlen(LOG_TRUNC_MARK));
	} else
		len = start + (size_t)n;

	for (i = start; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
		else if ((unsigned char)line[i] == 0x7f)
			line[i] = '?';
	line[len] = '\0';
	msglen = len - start;

	if (__atomic_load_n(&log_sink.format, __ATOMIC_RELAXED) ==
	    LOG_FORMAT_JSON) {
		log_msg_json(lv, line + start);
		goto out;
	}
	line[len++] = '\n';
	log_put(lv, line, len, line + start, msglen);
out:
	errno = saved_errno;
}

/* Opens path for appending.  The descriptor, or -1 with err set. */
static int
log_open(const char *path, const char *what, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, LOG_OPEN_FLAGS, LOG_FILE_MODE)) < 0)
		snprintf(err, errlen, "%s %s: %s%s", what, path,
		    strerror(errno), errno == ELOOP ? " (a symbolic link: "
		    "give the file's own path)" : "");
	return fd;
}

/* Checks lc and opens its files into *fd and *afd (-1: none).  The kind
 * of target in *kind.  0, or -1 with err (nothing left open). */
static int
log_config_open(const struct log_config *lc, enum log_kind *kind, int *fd,
    int *afd, char *err, size_t errlen)
{
	const char *ident = lc->ident != NULL ? lc->ident : LOG_DEFAULT_IDENT;
	int access = lc->access_log != NULL && lc->access_log[0] != '\0';

	*fd = *afd = -1;
	*kind = LOG_TO_FILE;
	if (lc->level < LOGL_ERR || lc->level > LOGL_DEBUG ||
	    (lc->format != LOG_FORMAT_TEXT && lc->format != LOG_FORMAT_JSON)) {
		snprintf(err, errlen, "log: bad level or format");
		return -1;
	}
	if (log_target_check(lc->target) != 0 ||
	    (access && log_target_check(lc->access_log) != 0) ||
	    strlen(ident) >= LOG_IDENT_MAX) {
		snprintf(err, errlen, "log: bad log_target or access_log");
		return -1;
	}
	if (strcmp(lc->target, LOG_TARGET_STDERR) == 0)
		*kind = LOG_TO_STDERR;
	else if (strcmp(lc->target, LOG_TARGET_SYSLOG) == 0)
		*kind = LOG_TO_SYSLOG;
	if (*kind == LOG_TO_FILE &&
	    (*fd = log_open(lc->target, "log_target", err, errlen)) < 0)
		return -1;
	if (access &&
	    (*afd = log_open(lc->access_log, "access_log", err, errlen)) < 0) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

/* See log.h. */
int
log_config_check(const struct log_config *lc, char *err, size_t errlen)
{
	enum log_kind kind;
	int fd, afd;

	if (log_config_open(lc, &kind, &fd, &afd, err, errlen) != 0)
		return -1;
	if (fd >= 0)
		close(fd);
	if (afd >= 0)
		close(afd);
	return 0;
}

/* See log.h. */
int
log_configure(const struct log_config *lc, char *err, size_t errlen)
{
	enum log_kind kind;
	const char *ident = lc->ident != NULL ? lc->ident : LOG_DEFAULT_IDENT;
	int fd = -1, afd = -1, oldfd = -1, oldafd = -1, rc = -1;
	int access = lc->access_log != NULL && lc->access_log[0] != '\0';

	/* Both opened before anything changes: a failure keeps the old. */
	if (log_config_open(lc, &kind, &fd, &afd, err, errlen) != 0)
		goto out;

	pthread_mutex_lock(&log_mu);
	if (log_sink.kind == LOG_TO_FILE)
		oldfd = log_sink.fd;
	if (log_sink.kind == LOG_TO_SYSLOG && (kind != LOG_TO_SYSLOG ||
	    strcmp(log_sink.ident, ident) != 0))
		closelog();
	if (kind == LOG_TO_SYSLOG && (log_sink.kind != LOG_TO_SYSLOG ||
	    strcmp(log_sink.ident, ident) != 0)) {
		snprintf(log_sink.ident, sizeof(log_sink.ident), "%s", ident);
		/* connected now: after a drop of root or in a sandbox the
		 * socket is already there */
		openlog(log_sink.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
	log_sink.kind = kind;
	log_sink.fd = kind == LOG_TO_FILE ? fd : STDERR_FILENO;
	snprintf(log_sink.path, sizeof(log_sink.path), "%s",
	    kind == LOG_TO_FILE ? lc->target : "");
	oldafd = log_sink.access_fd;
	__atomic_store_n(&log_sink.access_fd, afd, __ATOMIC_RELAXED);
	snprintf(log_sink.access_path, sizeof(log_sink.access_path), "%s",
	    access ? lc->access_log : "");
	__atomic_store_n(&log_sink.format, (int)lc->format, __ATOMIC_RELAXED);
	__atomic_store_n(&log_sink.component, lc->component != NULL ?
	    lc->component : LOG_NO_COMPONENT, __ATOMIC_RELAXED);
	log_verbosity = lc->level;
	pthread_mutex_unlock(&log_mu);
	fd = afd = -1;		/* the sink's now */
	rc = 0;
out:
	if (oldfd >= 0)
		close(oldfd);
	if (oldafd >= 0)
		close(oldafd);
	if (fd >= 0)
		close(fd);
	if (afd >= 0)
		close(afd);
	return rc;
}

/* Reopens one of the sink's files: its descriptor *fdp is replaced, under
 * log_mu, by a new one of path when the sink's path (sinkpath) is still
 * path (log_configure may have run meanwhile).  0, or -1 with err. */
static int
log_reopen_one(int *fdp, const char *sinkpath, const char *path,
    const char *what, char *err, size_t errlen)
{
	int fd, old = -1;

	if ((fd = log_open(path, what, err, errlen)) < 0)
		return -1;
	pthread_mutex_lock(&log_mu);
	if (*fdp >= 0 && strcmp(sinkpath, path) == 0) {
		old = *fdp;
		__atomic_store_n(fdp, fd, __ATOMIC_RELAXED);
		fd = -1;
	}
	pthread_mutex_unlock(&log_mu);
	if (old >= 0)
		close(old);
	if (fd >= 0)
		close(fd);
	return 0;
}

/* See log.h. */
int
log_reopen(void)
{
	char path[PATH_MAX], apath[PATH_MAX], err[PATH_MAX + 128];
	int file, rc = 0;

	pthread_mutex_lock(&log_mu);
	file = log_sink.kind == LOG_TO_FILE;
	snprintf(path, sizeof(path), "%s", log_sink.path);
	snprintf(apath, sizeof(apath), "%s", log_sink.access_fd >= 0 ?
	    log_sink.access_path : "");
	pthread_mutex_unlock(&log_mu);
	if (file && log_reopen_one(&log_sink.fd, log_sink.path, path,
	    "log_target", err, sizeof(err)) != 0) {
		log_warn("log: cannot reopen %s; still writing to the old "
		    "file", err);
		rc = -1;
	}
	if (apath[0] != '\0' && log_reopen_one(&log_sink.access_fd,
	    log_sink.access_path, apath, "access_log", err, sizeof(err)) != 0) {
		log_warn("log: cannot reopen %s; still writing to the old "
		    "file", err);
		rc = -1;
	}
	if (rc == 0 && (file || apath[0] != '\0'))
		log_info("log: reopened%s%s%s%s", file ? " " : "", file ?
		    path : "", apath[0] != '\0' ? " and " : "", apath);
	return rc;
}

/* See log.h. */
void
log_detach(void)
{
	if (log_sink.kind == LOG_TO_SYSLOG)
		closelog();
	if (log_sink.kind == LOG_TO_FILE)
		close(log_sink.fd);
	if (log_sink.access_fd >= 0)
		close(log_sink.access_fd);
	log_sink.kind = LOG_TO_STDERR;
	log_sink.fd = STDERR_FILENO;
	log_sink.access_fd = -1;
	log_sink.path[0] = log_sink.access_path[0] = '\0';
}

/* See log.h. */
enum log_format
log_current_format(void)
{
	return (enum log_format)__atomic_load_n(&log_sink.format,
	    __ATOMIC_RELAXED);
}

/* See log_int.h. */
int
log_access_write(const char *line, size_t len)
{
	int rc = -1;

	pthread_mutex_lock(&log_mu);
	if (log_sink.access_fd >= 0) {
		log_write_all(log_sink.access_fd, line, len);
		rc = 0;
	}
	pthread_mutex_unlock(&log_mu);
	return rc;
}

/* See log.h. */
int
log_access_on(void)
{
	return __atomic_load_n(&log_sink.access_fd, __ATOMIC_RELAXED) >= 0;
}

/* Logs every entry of this thread's OpenSSL error queue as a warn line
 * "prefix: error:...:reason (extra data)" and leaves the queue empty.
 * prefix may be NULL. */
void
log_openssl(const char *prefix)
{
	char buf[LOG_ERRSTR_MAX];
	const char *file = NULL, *func = NULL, *data = NULL;
	unsigned long e;
	int line = 0, flags = 0;

	if (prefix == NULL)
		prefix = "openssl";
	while ((e = ERR_get_error_all(&file, &line, &func, &data,
	    &flags)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		if (data != NULL && (flags & ERR_TXT_STRING) != 0 &&
		    data[0] != '\0')
			log_warn("%s: %s (%s)", prefix, buf, data);
		else
			log_warn("%s: %s", prefix, buf);
		log_debug("%s: at %s:%d %s()", prefix,
		    file != NULL ? file : "?", line,
		    func != NULL ? func : "?");
	}
}

/* See log.h. */
void
log_openssl_why(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (reason != NULL)
		snprintf(err, errlen, "%s: %s", what, reason);
	else
		snprintf(err, errlen, "%s", what);
}
