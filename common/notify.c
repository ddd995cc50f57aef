/*
 * notify.c: sd_notify(3) for Type=notify units (common/notify.h).
 *
 * libsystemd's sd_notify sends one datagram to the AF_UNIX socket named by
 * NOTIFY_SOCKET and returns 0 when the variable is unset, so outside
 * systemd these are no-ops.  A failure to send is logged at debug level
 * and otherwise ignored: the daemon serves the same either way, and
 * systemd reports a unit that never became ready by itself.
 */
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "common/notify.h"

#define NOTIFY_STATUS_MAX	256	/* the STATUS= line we send */

static int notify_stopped;	/* STOPPING=1 sent (signal-side flag) */

void
notify_ready(const char *status)
{
	char msg[NOTIFY_STATUS_MAX + 32];
	int r;

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%.*s",
	    NOTIFY_STATUS_MAX, status != NULL ? status : "serving");
	if ((r = sd_notify(0, msg)) < 0)
		log_debug("sd_notify READY=1: error %d", r);
}

void
notify_stopping(void)
{
	int r;

	if (notify_stopped)
		return;
	notify_stopped = 1;
	if ((r = sd_notify(0, "STOPPING=1\nSTATUS=stopping")) < 0)
		log_debug("sd_notify STOPPING=1: error %d", r);
}
