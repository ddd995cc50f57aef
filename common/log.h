/*
 * log.h: leveled logging shared by every module (common/log.c), and the
 * request lines of the HTTP listeners (common/logreq.c).
 *
 * A leaf header: it includes nothing of the project, so est/, ocsp/ and
 * ledger/ may log without reaching into bridge/.
 *
 * Where lines go and how they look is set once by log_configure() (and
 * again by a configuration reload); until then, text lines on stderr.
 *
 *	log_format = text	"2026-11-21T14:07:08Z keybridge[4711] info:
 *				 http: message"
 *	log_format = json	{"time":"2026-11-21T14:07:08.123Z",
 *				 "level":"info","component":"http",
 *				 "message":"message","pid":4711}
 *	log_target = stderr | syslog | /a/file (O_APPEND, created 0640)
 *	access_log = /a/file	one line per HTTP request, in the same format
 *
 * The component of a line is the "component: " prefix of its message
 * when that names a known part (log_component()), else the configured
 * default ("keybridge"; the validator daemon's: "validator").
 */
#ifndef KEYBRIDGE_COMMON_LOG_H
#define KEYBRIDGE_COMMON_LOG_H

#include <stddef.h>

enum log_level { LOGL_ERR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };
extern int log_verbosity;		/* the one mutable global besides signals */

enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

#define LOG_TARGET_STDERR	"stderr"
#define LOG_TARGET_SYSLOG	"syslog"
#define LOG_FILE_MODE		0640	/* a log file we create */
#define LOG_REQID_MAX		24	/* bytes of a request id, NUL included */

/* What log_configure() sets up.  Strings are copied. */
struct log_config {
	int level;			/* enum log_level */
	enum log_format format;
	const char *target;		/* "stderr", "syslog" or a file path */
	const char *access_log;		/* a file path; NULL or "": none */
	const char *ident;		/* syslog's ident; NULL: "keybridge" */
	/* the component of a line whose message names none (static
	 * storage: kept as a pointer); NULL: "keybridge" */
	const char *component;
};

/* Parses "error|warn|info|debug"; returns the level or -1. */
int log_level_parse(const char *s);
/* Parses "text|json"; returns the enum log_format or -1. */
int log_format_parse(const char *s);
/* 0 when s is a usable log_target (stderr, syslog or an absolute or
 * relative path without control characters), -1 otherwise. */
int log_target_check(const char *s);

/*
 * Switches level, format, target and access log to lc's.  The new files
 * are opened (O_APPEND, created LOG_FILE_MODE, no symlink followed)
 * before anything changes: on failure the old set-up stays whole and err
 * says why (the path and errno).  The same file path as before is
 * reopened, so a reload is also a reopen.  0 or -1.  Thread-safe.
 */
int log_configure(const struct log_config *lc, char *err, size_t errlen);
/* What log_configure(lc) would check and open, without switching: the
 * files are opened (created when absent) and closed again (`keybridge
 * check`, `serve -n`).  0, or -1 with err. */
int log_config_check(const struct log_config *lc, char *err, size_t errlen);
/*
 * Reopens the log file and the access log under their paths (SIGUSR1,
 * after logrotate moved them away); the descriptors keep their numbers,
 * so a line being written by another thread lands in the old file or the
 * new one, never nowhere.  A file that cannot be reopened keeps its old
 * descriptor, and a warning says why.  0, or -1 when one failed.
 */
int log_reopen(void);
/* In a child that is to close every descriptor it inherited (the key
 * process): forgets the log file, the access log and syslog's socket
 * without writing to them, and logs to stderr from here on, in the same
 * format.  Not thread-safe: call it right after fork(). */
void log_detach(void);
/* The format lines are written in now. */
enum log_format log_current_format(void);

/* "2026-11-21T14:07:08Z keybridge[pid] level: message\n" (or its JSON
 * object) to the log target. */
void log_msg(enum log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define log_err(...)   log_msg(LOGL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)
/* Logs the OpenSSL error queue at LOGL_WARN (with a prefix) and clears it. */
void log_openssl(const char *prefix);
/* Sets err to "what: <the first OpenSSL reason queued>" (or just what, when
 * the queue is empty), for an error a caller reports; the queue is left
 * as it is. */
void log_openssl_why(char *err, size_t errlen, const char *what);
/* The component msg names by its "component: " prefix and the length of
 * that prefix (to skip), or the default component and 0.  Known components only
 * (http, est, ocsp, keyproc, writer, validators, ...): "signal 15: ..." or
 * "/etc/x: No such file" name none. */
const char *log_component(const char *msg, size_t *skip);

/* ---- common/logreq.c: HTTP request lines -------------------------------- */

/* One answered (or abandoned) request. */
struct log_request {
	const char *id;			/* log_request_id() */
	const char *client;		/* peer address */
	const char *listener;		/* "https" or "http" */
	const char *method;
	const char *path;		/* printable, cut */
	const char *route;		/* the matched route; NULL: none */
	int status;			/* 0: closed before the reply */
	const char *bytes;		/* Content-Length sent; NULL: 0 */
	double ms;			/* from dispatch to the reply written */
};

/* A new request id, "b00tcafe-1f": this process's random boot id and a
 * counter, so ids never repeat across restarts.  Writes at most
 * LOG_REQID_MAX bytes into buf; returns buf. */
char *log_request_id(char *buf, size_t len);
/* Whether request lines go to an access log (then every request is
 * logged there, whatever its listener and the level). */
int log_access_on(void);
/* The request line of r: to the access log when there is one, else to
 * the main log at level lv (when lv is logged). */
void log_request(enum log_level lv, const struct log_request *r);

#endif
