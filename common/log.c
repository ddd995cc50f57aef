/*
 * log.c: leveled logging to stderr, one line per message.
 *
 * Every line is "2026-11-21T14:07:08Z keybridge[4711] info: message\n",
 * built in a local buffer and handed to the kernel with a single write(2),
 * so lines from concurrent threads (the ledger writer, the event loop) never
 * interleave mid-line.  stderr is what systemd's journal, docker and a
 * terminal all capture; no files, no syslog.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/log.h"

#define LOG_LINE_MAX	2048	/* bytes of one line, newline included */
#define LOG_TRUNC_MARK	"..."	/* ends a line cut at LOG_LINE_MAX */
#define LOG_ERRSTR_MAX	256	/* one OpenSSL error string */

int log_verbosity = LOGL_INFO;

/* Indexed by enum log_level; also the names log_level_parse() accepts. */
static const char *const log_names[] = {
	[LOGL_ERR] = "error",
	[LOGL_WARN] = "warn",
	[LOGL_INFO] = "info",
	[LOGL_DEBUG] = "debug",
};
#define LOG_NLEVELS (sizeof(log_names) / sizeof(log_names[0]))

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
	size_t len, start, i;
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
	line[len++] = '\n';

	log_write_all(STDERR_FILENO, line, len);
out:
	errno = saved_errno;
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

/* See log.h. */
int
log_reopen(void)
{
	return 0;
}
