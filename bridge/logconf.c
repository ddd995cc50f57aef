/*
 * logconf.c: keybridge.conf's log keys (log_level, log_format,
 * log_target, access_log) applied to common/log.c, at start and on a
 * reload (docs/operations.md "Logs").
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "bridge/config.h"

/* See config.h. */
int
logconf_apply(const struct bridge_config *cfg, int level, char *err,
    size_t errlen)
{
	char target[PATH_MAX], access[PATH_MAX];
	struct log_config lc;
	int fmt;

	memset(&lc, 0, sizeof(lc));
	lc.level = level >= 0 ? level : log_level_parse(cfg->log_level);
	if (lc.level < 0 || (fmt = log_format_parse(cfg->log_format)) < 0) {
		snprintf(err, errlen, "log_level or log_format is not valid");
		return -1;
	}
	lc.format = (enum log_format)fmt;
	/* stderr and syslog are names; anything else a file, relative to
	 * the data directory like every path of keybridge.conf */
	if (strcmp(cfg->log_target, LOG_TARGET_STDERR) == 0 ||
	    strcmp(cfg->log_target, LOG_TARGET_SYSLOG) == 0)
		snprintf(target, sizeof(target), "%s", cfg->log_target);
	else if (config_path(cfg, cfg->log_target, target,
	    sizeof(target))[0] == '\0') {
		snprintf(err, errlen, "log_target: path too long");
		return -1;
	}
	access[0] = '\0';
	if (cfg->access_log[0] != '\0' && config_path(cfg, cfg->access_log,
	    access, sizeof(access))[0] == '\0') {
		snprintf(err, errlen, "access_log: path too long");
		return -1;
	}
	lc.target = target;
	lc.access_log = access;
	lc.ident = "keybridge";
	return log_configure(&lc, err, errlen);
}
