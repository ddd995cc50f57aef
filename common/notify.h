/*
 * notify.h: telling the service manager where a daemon is (sd_notify(3),
 * systemd's Type=notify): `keybridge serve` and `keybridge validator
 * serve` say READY=1 once their listeners accept connections and
 * STOPPING=1 when a clean stop begins (docs/operations.md "Running under
 * systemd").  Without NOTIFY_SOCKET in the environment (a terminal, a
 * container runtime, the tests) every call does nothing.
 */
#ifndef KEYBRIDGE_NOTIFY_H
#define KEYBRIDGE_NOTIFY_H

/* READY=1 with STATUS=status (NULL: "serving").  Only the main process
 * may notify (systemd's default NotifyAccess=main): call it there. */
void notify_ready(const char *status);
/* STOPPING=1: a clean stop has begun (queued entries are being
 * committed).  Once per process; later calls do nothing. */
void notify_stopping(void);

#endif
