/*
 * reload.h: SIGHUP in `keybridge serve` (bridge/reload.c), between
 * serve.c and reload.c only.
 */
#ifndef KEYBRIDGE_RELOAD_H
#define KEYBRIDGE_RELOAD_H

#include <openssl/ssl.h>

#include "bridge/check.h"
#include "bridge/config.h"

struct server;
struct limits;
struct limits_config;
struct api_ctx;

/* What a reload reads and changes; every field the event loop's. */
struct reload {
	/* The configuration running: keybridge.conf's at start (with the
	 * command line's settings over it), then each reload's reloadable
	 * settings; a setting that needs a restart keeps its running
	 * value here. */
	struct bridge_config cur;
	const struct config_overrides *ov;	/* borrowed; NULL: none */
	struct server *https, *http;	/* borrowed */
	struct limits *limits;		/* borrowed */
	struct api_ctx *api;		/* borrowed: token, need_token */
	SSL_CTX **tls;			/* serve's (owned there): replaced */
	X509 *root;			/* the running root CA (borrowed) */
	unsigned long done, refused;	/* reloads taken and refused */
};

/* Fills rl->cur from cfg with ov over it; the rest is serve's to set. */
void reload_init(struct reload *rl, const struct bridge_config *cfg,
    const struct config_overrides *ov);
/* The front door's limits of cfg (issue 16): RLIMIT_NOFILE raised to its
 * hard limit, the connections kept below it less the reserve.  0, or -1
 * with errno (the limit cannot be read). */
int reload_limits_config(const struct bridge_config *cfg,
    struct limits_config *lc, long *nofile, long *reserve);
/* SIGHUP, on the loop: rereads keybridge.conf, checks it as `keybridge
 * check` does (without the key process's keys or the database, which a
 * reload never changes), and when every check passes applies what can
 * change without a restart, logging each change (old -> new) and naming
 * what needs a restart; otherwise logs every problem and keeps running
 * with rl->cur.  Established connections are never dropped. */
void reload_run(struct reload *rl);

#endif
