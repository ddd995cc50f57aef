/*
 * log_int.h: what common/log.c shares with common/logreq.c only.
 */
#ifndef KEYBRIDGE_COMMON_LOG_INT_H
#define KEYBRIDGE_COMMON_LOG_INT_H

#include <limits.h>
#include <stddef.h>

#include <jansson.h>

#include "common/log.h"

#define LOG_LINE_MAX	2048	/* bytes of one line, newline included */
#define LOG_TIME_MAX	sizeof("2026-11-21T14:07:08.123Z")

enum log_kind { LOG_TO_STDERR = 0, LOG_TO_SYSLOG, LOG_TO_FILE };

/* RFC 3339 UTC with milliseconds ("2026-11-21T14:07:08.123Z") into ts
 * (LOG_TIME_MAX bytes). */
void log_time_ms(char *ts, size_t len);
/* The level's name ("error", ...). */
const char *log_level_name(enum log_level lv);
/* A JSON string of s; bytes that are not UTF-8 become '?'.  New
 * reference, or NULL without memory. */
json_t *log_json_str(const char *s);
/* Writes line (len bytes, its newline included) to the access log.
 * 0, or -1 when there is none (nothing written). */
int log_access_write(const char *line, size_t len);
/* The line of object o with its time, level and pid added: malloc'd,
 * *len bytes ending in '\n' (no NUL); NULL without memory.  Steals o
 * (NULL: none). */
char *log_json_line(enum log_level lv, json_t *o, size_t *len);
/* Writes the object o (time, level and pid are added) to the main log;
 * steals o. */
void log_emit_json(enum log_level lv, json_t *o);

#endif
