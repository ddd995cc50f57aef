/*
 * ratelog.c: at most one log line per interval for a repeated message
 * (ratelog.h).  Only the loop thread of a module calls one limiter; there
 * is no locking.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "common/ratelog.h"

void
ratelog_init(struct ratelog *rl, double interval)
{
	rl->interval = interval;
	rl->last = -1;
	rl->swallowed = 0;
	rl->level = LOGL_WARN;
	rl->text[0] = '\0';
}

double
ratelog_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
ratelog_allow(struct ratelog *rl, double now, unsigned long *swallowed)
{
	if (rl->last >= 0 && now - rl->last < rl->interval) {
		rl->swallowed++;
		return 0;
	}
	*swallowed = rl->swallowed;
	rl->swallowed = 0;
	rl->last = now;
	return 1;
}

/* Writes text with the count of swallowed messages and the span they
 * came in. */
static void
ratelog_write(const struct ratelog *rl, enum log_level lv, const char *text,
    unsigned long n, double span)
{
	if (n == 0)
		log_msg(lv, "%s", text);
	else
		log_msg(lv, "%s (and %lu more like it in the last %.0f s)",
		    text, n, span);
}

void
ratelog_msg(struct ratelog *rl, enum log_level lv, const char *fmt, ...)
{
	char text[RATELOG_TEXT];
	unsigned long n = 0;
	double now, span;
	va_list ap;

	if ((int)lv > log_verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	now = ratelog_now();
	span = rl->last >= 0 ? now - rl->last : 0;
	if (!ratelog_allow(rl, now, &n)) {
		/* kept for the flush: the latest says most */
		snprintf(rl->text, sizeof(rl->text), "%s", text);
		rl->level = lv;
		return;
	}
	ratelog_write(rl, lv, text, n, span);
	rl->text[0] = '\0';
}

void
ratelog_flush(struct ratelog *rl)
{
	unsigned long n = 0;
	double now, span;

	if (rl->swallowed == 0)
		return;
	now = ratelog_now();
	span = now - rl->last;
	if (!ratelog_allow(rl, now, &n)) {
		rl->swallowed--;	/* the flush itself is no message */
		return;
	}
	/* The last swallowed one is written: n - 1 more besides it. */
	ratelog_write(rl, rl->level, rl->text, n - 1, span);
	rl->text[0] = '\0';
}
