/*
 * limits_int.h: between limits.c (the connections, their deadlines and
 * caps) and limits_fd.c (descriptors and accept errors) only.
 */
#ifndef KEYBRIDGE_HTTP_LIMITS_INT_H
#define KEYBRIDGE_HTTP_LIMITS_INT_H

#include <sys/queue.h>

#include <event2/event.h>

#include "common/ratelog.h"
#include "bridge/http/http.h"

#define LIMITS_ACCEPT_PAUSE_MS	250	/* accepts paused after an error */
#define LIMITS_LOG_INTERVAL	10.0	/* s between two lines of a kind */
#define LIMITS_LISTENERS_MAX	16	/* listeners paused on accept errors:
					 * https, http and 7 more OCSP loops */

struct limits_conn;
TAILQ_HEAD(limits_connq, limits_conn);

/* A listener whose accept errors pause it (limits_listen). */
struct limits_listener {
	struct limits *l;
	struct evconnlistener *lev;	/* borrowed */
	struct event *resume;
	struct ratelog rl;
	char name[32];
};

struct limits {
	struct event_base *base;	/* borrowed */
	struct limits_config c;
	struct addrtab *addrs;
	struct limits_connq pending;	/* accepted, not yet attached */
	struct limits_connq waiting;	/* not BUSY: oldest first */
	struct limits_conn **byfd;	/* attached, by descriptor */
	size_t nbyfd;
	size_t nconns, peak;
	int trim_armed;			/* the count fell: trim next tick */
	struct event *attach, *tick;
	struct ratelog rl[LIMITS_NWHY];
	unsigned long closed[LIMITS_NWHY];	/* limits_stats */
	unsigned long pauses;
	struct limits_listener lis[LIMITS_LISTENERS_MAX];
	size_t nlis;
};

#endif
