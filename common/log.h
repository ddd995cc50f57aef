/*
 * log.h: leveled logging to stderr, shared by every module (common/log.c).
 *
 * A leaf header: it includes nothing of the project, so est/, ocsp/ and
 * ledger/ may log without reaching into bridge/.
 */
#ifndef KEYBRIDGE_COMMON_LOG_H
#define KEYBRIDGE_COMMON_LOG_H

#include <stddef.h>

enum log_level { LOGL_ERR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };
extern int log_verbosity;		/* the one mutable global besides signals */

/* Parses "error|warn|info|debug"; returns the level or -1. */
int log_level_parse(const char *s);
/* "2026-11-21T14:07:08Z keybridge[pid] level: message\n" on stderr. */
void log_msg(enum log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define log_err(...)   log_msg(LOGL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)
/* SIGUSR1: reopens the log's file (a rotated one).  0 or -1.  Logging to
 * stderr, there is nothing to reopen (the log_target work of issue 17
 * replaces this). */
int log_reopen(void);
/* Logs the OpenSSL error queue at LOGL_WARN (with a prefix) and clears it. */
void log_openssl(const char *prefix);
/* Sets err to "what: <the first OpenSSL reason queued>" (or just what, when
 * the queue is empty), for an error a caller reports; the queue is left
 * as it is. */
void log_openssl_why(char *err, size_t errlen, const char *what);

#endif
