/*
 * daemon.h: the validator daemon around the I/O-free core (issue 14):
 * `keybridge validator init|serve|status` (bridge/cli/cmd_validator.c)
 * use it.
 *
 * A validator directory VDIR holds
 *   validator.conf   its configuration (vconf.c), "key = value" lines
 *   validator.key    its Ed25519 cosigning key, PKCS#8 PEM, mode 0600
 *   validator.db     SQLite: its copy of the log and the registry replayed
 *                    through the rules (ledger/replay.h), and its state
 *                    (struct vcore_state as JSON, vstore.c) in the same
 *                    file, committed in the same transaction as the
 *                    entries it replayed: after a crash the two agree.
 *
 * The daemon (daemon.c) answers, over plain HTTP (libevent evhttp):
 *   POST /add-checkpoint   C2SP tlog-witness (core.h's request, no entries)
 *   POST /add-block        core.h's request with the entries
 *   GET  /status           JSON: name, vkey, mode, size, root, last refusal
 *   GET  /evidence         JSON: the kept equivocation pairs
 * Cosignatures are self-authenticating, so plain HTTP is enough; TLS in
 * front (a reverse proxy) is the operator's choice.
 */
#ifndef KEYBRIDGE_VALIDATOR_DAEMON_H
#define KEYBRIDGE_VALIDATOR_DAEMON_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "ledger/cosign.h"
#include "validator/core.h"

#define VD_CONF_FILE		"validator.conf"
#define VD_KEY_FILE		"validator.key"
#define VD_DB_FILE		"validator.db"
#define VD_STATE_KEY		"validator_state"	/* meta key in the db */
#define VD_MAX_PAST_DEFAULT	3600	/* seconds a checkpoint may be old */
#define VD_MAX_FUTURE_DEFAULT	60	/* seconds ahead of our clock */
#define VD_BODY_MAX_DEFAULT	(64u << 20)	/* one add-block request */
#define VD_BODY_MAX_LIMIT	(1024u << 20)
#define VD_STR			512
#define VD_STATE_JSON_MAX	(256 * 1024)	/* the state as JSON: 9 notes
						 * of VCORE_NOTE_MAX, escaped */

struct vd_config {
	char dir[PATH_MAX];
	enum vcore_mode mode;
	char name[LEDGER_NAME_MAX + 1];
	char listen[VD_STR];		/* ADDR:PORT, [V6]:PORT */
	char ledger[VD_STR];		/* the bridge's URL, for status */
	char ledger_ca[PATH_MAX];	/* "" for the system's CAs */
	char origin[LEDGER_ORIGIN_MAX + 1];
	char log_vkey[VD_STR];		/* the bridge node's signed-note vkey */
	int64_t max_past, max_future;
	size_t max_body;
	/* the front door's limits (bridge/http/limits.c), keybridge.conf's
	 * keys of the same names and defaults */
	long http_header_timeout, http_body_timeout, http_body_min_rate;
	long http_keepalive_timeout, http_max_conns_per_addr, http_max_conns;
	char key_path[PATH_MAX];	/* resolved: dir/validator.key */
	char db_path[PATH_MAX];		/* resolved: dir/validator.db */
	/* LOG17: as keybridge.conf's (docs/operations.md "Logs") */
	char log_level[16];		/* error, warn, info, debug */
	char log_format[8];		/* text or json */
	char log_target[PATH_MAX];	/* stderr, syslog or a file,
					 * resolved against dir */
};

/* ---- vconf.c ------------------------------------------------------------ */

/* Defaults for dir (mode validator, bounds, body limit, paths). */
void vd_config_defaults(struct vd_config *c, const char *dir);
/* Reads dir/validator.conf into c.  0, or -1 with why in err (the line). */
int vd_config_load(const char *dir, struct vd_config *c, char *err,
    size_t errlen);
/* The log set up from c (log_configure): level (or c->log_level when
 * level < 0), log_format, log_target.  0, or -1 with why in err. */
int vd_config_log(const struct vd_config *c, int level, char *err,
    size_t errlen);
/* Writes c->dir/validator.conf (refuses to overwrite).  0 or -1. */
int vd_config_write(const struct vd_config *c, char *err, size_t errlen);
/* vd_config_load over the file's bytes in memory, text[0..len) (the fuzz
 * target's entry point): the same parse, errors naming `name`. */
int vd_config_load_mem(const char *dir, const char *text, size_t len,
    const char *name, struct vd_config *c, char *err, size_t errlen);
/* The settings of c as validator.conf's lines, to f. */
void vd_config_emit(const struct vd_config *c, FILE *f);
/* Splits "ADDR:PORT" or "[V6]:PORT" into host and port.  0 or -1. */
int vd_listen_split(const char *listen, char *host, size_t hostlen,
    unsigned short *port);

/* ---- vstore.c: the persistent state ------------------------------------- */

/* What the daemon keeps beside struct vcore_state. */
struct vd_meta {
	time_t last_refusal_at;		/* 0: never */
	uint64_t refusals;		/* answered refusals, all */
};

/* The state as JSON text (malloc'd; the caller frees), or NULL. */
char *vd_state_to_json(const struct vcore_state *st, const struct vd_meta *m);
/* Parses vd_state_to_json's text.  0, or -1 with why. */
int vd_state_from_json(const char *text, struct vcore_state *st,
    struct vd_meta *m, char *err, size_t errlen);
/* Reads the state of c's db read-only (beside a running daemon).  0, or
 * -1 with err. */
int vd_state_read(const struct vd_config *c, struct vcore_state *st,
    struct vd_meta *m, char *err, size_t errlen);
/* The validator's key (refusing a file group or others may read or
 * write): a new reference, or NULL with err. */
EVP_PKEY *vd_key_load(const char *path, char *err, size_t errlen);

/* ---- daemon.c ------------------------------------------------------------ */

/* Runs the daemon for c until SIGTERM or SIGINT.  Returns the exit status
 * (0 after a signal, 1 when it could not start). */
int vd_serve(const struct vd_config *c);

#endif
