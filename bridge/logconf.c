/*
 * logconf.c: keybridge.conf's log keys (log_level, log_format,
 * log_target, access_log) applied to common/log.c, at start and on a
 * reload, or checked (docs/operations.md "Logs").
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "bridge/config.h"

/* The two paths a struct log_config points into. */
struct logconf_paths {
	char target[PATH_MAX];
	char access[PATH_MAX];
};

/* lc from cfg (level: see logconf_apply), its strings in p.  0, or -1
 * with err. */
static int
logconf_fill(const struct bridge_config *cfg, int level,
    struct log_config *lc, struct logconf_paths *p, char *err,
    size_t errlen)
{
	int fmt;

	memset(lc, 0, sizeof(*lc));
	lc->level = level >= 0 ? level : log_level_parse(cfg->log_level);
	if (lc->level < 0 || (fmt = log_format_parse(cfg->log_format)) < 0) {
		snprintf(err, errlen, "log_level or log_format is not valid");
		return -1;
	}
	lc->format = (enum log_format)fmt;
	/* stderr and syslog are names; anything else a file, relative to
	 * the data directory like every path of keybridge.conf */
	if (strcmp(cfg->log_target, LOG_TARGET_STDERR) == 0 ||
	    strcmp(cfg->log_target, LOG_TARGET_SYSLOG) == 0)
		snprintf(p->target, sizeof(p->target), "%s", cfg->log_target);
	else if (config_path(cfg, cfg->log_target, p->target,
	    sizeof(p->target))[0] == '\0') {
		snprintf(err, errlen, "log_target: path too long");
		return -1;
	}
	p->access[0] = '\0';
	if (cfg->access_log[0] != '\0' && config_path(cfg, cfg->access_log,
	    p->access, sizeof(p->access))[0] == '\0') {
		snprintf(err, errlen, "access_log: path too long");
		return -1;
	}
	lc->target = p->target;
	lc->access_log = p->access;
	lc->ident = "keybridge";
	return 0;
}

/* See config.h. */
int
logconf_apply(const struct bridge_config *cfg, int level, char *err,
    size_t errlen)
{
	struct logconf_paths p;
	struct log_config lc;

	if (logconf_fill(cfg, level, &lc, &p, err, errlen) != 0)
		return -1;
	return log_configure(&lc, err, errlen);
}

/* See config.h. */
int
logconf_check(const struct bridge_config *cfg, char *err, size_t errlen)
{
	struct logconf_paths p;
	struct log_config lc;

	if (logconf_fill(cfg, -1, &lc, &p, err, errlen) != 0)
		return -1;
	return log_config_check(&lc, err, errlen);
}
