/*
 * ratelog.h: a warning that may repeat thousands of times a second (a
 * client flooding the front door, accept() failing) written at most once
 * per interval, with a count of the ones swallowed (common/ratelog.c).
 *
 *	static-free use: one struct ratelog per kind of message, in the
 *	context struct of its module, ratelog_init()ed once;
 *	ratelog_msg(&rl, LOGL_WARN, "http: %s: ...", addr) where the message
 *	would be logged; ratelog_flush(&rl) from a periodic timer, so the
 *	count of an episode that stopped is still told.
 *
 * The first message of a quiet period is written at once; those that
 * follow within the interval are counted; the next one after it is
 * written with "(and N more like it in the last S s)".  So a flood of any
 * rate costs at most one line per interval (plus the flush's one).
 */
#ifndef KEYBRIDGE_COMMON_RATELOG_H
#define KEYBRIDGE_COMMON_RATELOG_H

#include <time.h>

#include "common/log.h"

#define RATELOG_TEXT	256	/* bytes of the last swallowed message kept */

struct ratelog {
	double interval;		/* seconds between two lines */
	double last;			/* monotonic s of the last line; <0: none */
	unsigned long swallowed;	/* messages since that line */
	enum log_level level;		/* of the swallowed ones */
	char text[RATELOG_TEXT];	/* the last swallowed message */
};

/* An empty limiter writing at most one line per interval seconds. */
void ratelog_init(struct ratelog *rl, double interval);

/*
 * The pure decision, for tests: at monotonic time now (seconds), may a
 * line be written?  1: yes, with *swallowed set to the messages swallowed
 * since the last line (and the count reset); 0: no, the message is
 * counted.  now never goes backwards.
 */
int ratelog_allow(struct ratelog *rl, double now, unsigned long *swallowed);

/* log_msg() through the limiter: written now (with the count of the ones
 * swallowed before it), or counted and kept for ratelog_flush(). */
void ratelog_msg(struct ratelog *rl, enum log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* When messages were swallowed and the interval since the last line has
 * passed, writes the last of them with their count.  Cheap when idle. */
void ratelog_flush(struct ratelog *rl);

/* CLOCK_MONOTONIC in seconds. */
double ratelog_now(void);

#endif
