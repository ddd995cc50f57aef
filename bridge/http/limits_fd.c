/*
 * limits_fd.c: the front door's descriptors (http.h): RLIMIT_NOFILE
 * raised to its hard limit and the connection cap kept below it, and
 * accept() errors answered by a pause instead of libevent's retry at
 * once, which spun at 90% of a core logging "Error from accept() call:
 * Too many open files" 20 million times a minute (issue 16).  nginx
 * likewise disables its accept events for a while on EMFILE.
 */
#include <sys/resource.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "common/log.h"
#include "common/ratelog.h"
#include "bridge/http/limits_int.h"

/*
 * libevent calls a listener's error callback with the listener and its
 * user pointer, which evhttp_bind_listener has made the evhttp: there is
 * no way to reach our state from it but this table of the listeners
 * paused on errors (loop thread only).  The one mutable static of the
 * front door, forced by that signature.
 */
static struct limits_listener *limits_registry[LIMITS_LISTENERS_MAX];

/* ---- descriptors ------------------------------------------------------- */

long
limits_cap_for(long nofile, long reserve, long configured)
{
	long cap = nofile - reserve;

	if (configured > 0 && configured < cap)
		cap = configured;
	return cap > 0 ? cap : 1;
}

long
limits_fd_budget(long configured, long reserve, long *nofile)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* "unlimited" and the huge hard limits of some containers: what
	 * the process can really open is bounded by the kernel's nr_open */
	*nofile = rl.rlim_cur > (rlim_t)(1L << 30) ? (1L << 30) :
	    (long)rl.rlim_cur;
	return limits_cap_for(*nofile, reserve, configured);
}
/* ---- accept errors ------------------------------------------------------ */

static void
limits_resume(evutil_socket_t fd, short what, void *arg)
{
	struct limits_listener *ll = arg;

	evconnlistener_enable(ll->lev);
}

/* libevent's listener error callback (arg: evhttp's, unused). */
static void
limits_accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval pause = { 0, LIMITS_ACCEPT_PAUSE_MS * 1000 };
	struct limits_listener *ll = NULL;
	int err = errno;
	size_t i;

	for (i = 0; i < LIMITS_LISTENERS_MAX; i++)
		if (limits_registry[i] != NULL &&
		    limits_registry[i]->lev == lev)
			ll = limits_registry[i];
	if (ll == NULL)
		return;
	evconnlistener_disable(lev);
	evtimer_add(ll->resume, &pause);
	ll->l->pauses++;
	ratelog_msg(&ll->rl, LOGL_WARN, "http: accept() on %s failed: %s "
	    "(%zu connections open); accepts paused %d ms", ll->name,
	    strerror(err), ll->l->nconns, LIMITS_ACCEPT_PAUSE_MS);
}

int
limits_listen(struct limits *l, struct evconnlistener *lev, const char *name)
{
	struct limits_listener *ll;
	size_t i;

	if (l->nlis >= LIMITS_LISTENERS_MAX)
		return -1;
	for (i = 0; i < LIMITS_LISTENERS_MAX && limits_registry[i] != NULL;
	    i++)
		;
	if (i == LIMITS_LISTENERS_MAX)
		return -1;
	ll = &l->lis[l->nlis];
	if ((ll->resume = evtimer_new(l->base, limits_resume, ll)) == NULL)
		return -1;
	ll->l = l;
	ll->lev = lev;
	ratelog_init(&ll->rl, LIMITS_LOG_INTERVAL);
	snprintf(ll->name, sizeof(ll->name), "%s", name);
	limits_registry[i] = ll;
	l->nlis++;
	evconnlistener_set_error_cb(lev, limits_accept_error);
	return 0;
}

void
limits_unlisten(struct limits *l, struct evconnlistener *lev)
{
	size_t i;

	for (i = 0; i < LIMITS_LISTENERS_MAX; i++)
		if (limits_registry[i] != NULL &&
		    limits_registry[i]->lev == lev) {
			event_free(limits_registry[i]->resume);
			limits_registry[i]->resume = NULL;
			limits_registry[i]->lev = NULL;
			limits_registry[i] = NULL;
		}
}
