/*
 * vconf.c: VDIR/validator.conf (see daemon.h): "key = value" lines, '#'
 * comments, every key known (a typo is an error, not a default).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "validator/daemon.h"

#define CONF_LINE_MAX	1024
#define CONF_MODE	0644

#define ERR(...)	snprintf(err, errlen, __VA_ARGS__)

/* The front door's limits: the bridge's keys, bounds and defaults
 * (bridge/config.c), for the same code (bridge/http/limits.c). */
static const struct conf_long {
	const char *key;
	size_t off;
	long lo, hi, def;
	const char *help;
} conf_longs[] = {
	{ "http_header_timeout", offsetof(struct vd_config,
	    http_header_timeout), 1, 300, 10, "seconds for a whole request "
	    "head" },
	{ "http_body_timeout", offsetof(struct vd_config, http_body_timeout),
	    1, 300, 10, "seconds a body has before http_body_min_rate counts" },
	{ "http_body_min_rate", offsetof(struct vd_config, http_body_min_rate),
	    0, 1L << 30, 1024, "bytes per second a body keeps up after that "
	    "(0: the whole body within http_body_timeout)" },
	{ "http_keepalive_timeout", offsetof(struct vd_config,
	    http_keepalive_timeout), 1, 3600, 30, "seconds an idle kept-alive "
	    "connection waits" },
	{ "http_max_conns_per_addr", offsetof(struct vd_config,
	    http_max_conns_per_addr), 1, 1000000, 64, "connections from one "
	    "client address (loopback included)" },
	{ "http_max_conns", offsetof(struct vd_config, http_max_conns), 0,
	    1000000, 0, "connections in all (0: the descriptor limit less a "
	    "reserve)" },
};
#define CONF_NLONGS	(sizeof(conf_longs) / sizeof(conf_longs[0]))

static long *
conf_long_at(struct vd_config *c, const struct conf_long *l)
{
	return (long *)(void *)((char *)c + l->off);
}

static long
conf_long_get(const struct vd_config *c, const struct conf_long *l)
{
	return *(const long *)(const void *)((const char *)c + l->off);
}

void
vd_config_defaults(struct vd_config *c, const char *dir)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	c->mode = VCORE_VALIDATOR;
	c->max_past = VD_MAX_PAST_DEFAULT;
	c->max_future = VD_MAX_FUTURE_DEFAULT;
	c->max_body = VD_BODY_MAX_DEFAULT;
	for (size_t i = 0; i < CONF_NLONGS; i++)
		*conf_long_at(c, &conf_longs[i]) = conf_longs[i].def;
	snprintf(c->key_path, sizeof(c->key_path), "%s/%s", dir, VD_KEY_FILE);
	snprintf(c->db_path, sizeof(c->db_path), "%s/%s", dir, VD_DB_FILE);
	snprintf(c->log_level, sizeof(c->log_level), "info");
	snprintf(c->log_format, sizeof(c->log_format), "text");
	snprintf(c->log_target, sizeof(c->log_target), LOG_TARGET_STDERR);
}

/* A decimal in [lo, hi].  0 or -1. */
static int
conf_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

/* Copies v into a field of cap bytes.  0 or -1 (too long). */
static int
conf_str(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* One "key = value".  0, or -1 with why. */
static int
conf_set(struct vd_config *c, const char *k, const char *v, char *err,
    size_t errlen)
{
	int64_t n;

	if (strcmp(k, "name") == 0) {
		if (*v == '\0' || conf_str(c->name, sizeof(c->name), v) != 0)
			return ERR("name must be 1 to %d bytes",
			    LEDGER_NAME_MAX), -1;
	} else if (strcmp(k, "mode") == 0) {
		if (strcmp(v, "validator") == 0)
			c->mode = VCORE_VALIDATOR;
		else if (strcmp(v, "witness") == 0)
			c->mode = VCORE_WITNESS;
		else
			return ERR("mode must be validator or witness"), -1;
	} else if (strcmp(k, "listen") == 0) {
		if (conf_str(c->listen, sizeof(c->listen), v) != 0)
			return ERR("listen is too long"), -1;
	} else if (strcmp(k, "ledger") == 0) {
		if (conf_str(c->ledger, sizeof(c->ledger), v) != 0)
			return ERR("ledger is too long"), -1;
	} else if (strcmp(k, "ledger_ca") == 0) {
		if (conf_str(c->ledger_ca, sizeof(c->ledger_ca), v) != 0)
			return ERR("ledger_ca is too long"), -1;
	} else if (strcmp(k, "origin") == 0) {
		if (*v == '\0' || conf_str(c->origin, sizeof(c->origin), v) != 0)
			return ERR("origin must be 1 to %d bytes",
			    LEDGER_ORIGIN_MAX), -1;
	} else if (strcmp(k, "log_vkey") == 0) {
		if (conf_str(c->log_vkey, sizeof(c->log_vkey), v) != 0)
			return ERR("log_vkey is too long"), -1;
	} else if (strcmp(k, "max_past") == 0) {
		if (conf_int(v, 0, INT32_MAX, &c->max_past) != 0)
			return ERR("max_past must be seconds, 0 to %d",
			    INT32_MAX), -1;
	} else if (strcmp(k, "max_future") == 0) {
		if (conf_int(v, 0, INT32_MAX, &c->max_future) != 0)
			return ERR("max_future must be seconds, 0 to %d",
			    INT32_MAX), -1;
	} else if (strcmp(k, "max_body") == 0) {
		if (conf_int(v, 1024, VD_BODY_MAX_LIMIT, &n) != 0)
			return ERR("max_body must be bytes, 1024 to %u",
			    VD_BODY_MAX_LIMIT), -1;
		c->max_body = (size_t)n;
	} else if (strcmp(k, "log_level") == 0) {
		if (log_level_parse(v) < 0)
			return ERR("log_level must be error, warn, info or "
			    "debug"), -1;
		snprintf(c->log_level, sizeof(c->log_level), "%s", v);
	} else if (strcmp(k, "log_format") == 0) {
		if (log_format_parse(v) < 0)
			return ERR("log_format must be text or json"), -1;
		snprintf(c->log_format, sizeof(c->log_format), "%s", v);
	} else if (strcmp(k, "log_target") == 0) {
		if (log_target_check(v) != 0 || conf_str(c->log_target,
		    sizeof(c->log_target), v) != 0)
			return ERR("log_target must be stderr, syslog or a "
			    "file"), -1;
	} else {
		for (size_t i = 0; i < CONF_NLONGS; i++) {
			if (strcmp(k, conf_longs[i].key) != 0)
				continue;
			if (conf_int(v, conf_longs[i].lo, conf_longs[i].hi,
			    &n) != 0)
				return ERR("%s must be %ld to %ld", k,
				    conf_longs[i].lo, conf_longs[i].hi), -1;
			*conf_long_at(c, &conf_longs[i]) = (long)n;
			return 0;
		}
		return ERR("unknown key \"%s\"", k), -1;
	}
	return 0;
}

int
vd_config_log(const struct vd_config *c, int level, char *err,
    size_t errlen)
{
	struct log_config lc;
	char target[PATH_MAX];
	int n;

	memset(&lc, 0, sizeof(lc));
	lc.level = level >= 0 ? level : log_level_parse(c->log_level);
	lc.format = (enum log_format)log_format_parse(c->log_format);
	/* a file relative to VDIR, as the key and the database are */
	if (strcmp(c->log_target, LOG_TARGET_STDERR) == 0 ||
	    strcmp(c->log_target, LOG_TARGET_SYSLOG) == 0 ||
	    c->log_target[0] == '/')
		n = snprintf(target, sizeof(target), "%s", c->log_target);
	else
		n = snprintf(target, sizeof(target), "%s/%s", c->dir,
		    c->log_target);
	if (n < 0 || (size_t)n >= sizeof(target))
		return ERR("log_target: path too long"), -1;
	lc.target = target;
	lc.ident = "keybridge-validator";
	lc.component = "validator";
	return log_configure(&lc, err, errlen);
}

/* Trims spaces at both ends of s in place; returns s. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Reads the lines of f over c (already holding its defaults), errors
 * naming `name` and the line.  0, or -1 with err set. */
static int
vd_config_read(FILE *f, const char *name, struct vd_config *c, char *err,
    size_t errlen)
{
	char line[CONF_LINE_MAX], why[256], *k, *v, *eq;
	int n = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			ERR("%s:%d: line too long", name, n);
			return -1;
		}
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			ERR("%s:%d: not \"key = value\"", name, n);
			return -1;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (conf_set(c, k, v, why, sizeof(why)) != 0) {
			ERR("%s:%d: %s", name, n, why);
			return -1;
		}
	}
	if (c->name[0] == '\0' || c->listen[0] == '\0' ||
	    c->origin[0] == '\0' || c->log_vkey[0] == '\0') {
		ERR("%s: name, listen, origin and log_vkey are required", name);
		return -1;
	}
	return 0;
}

int
vd_config_load(const char *dir, struct vd_config *c, char *err,
    size_t errlen)
{
	char path[PATH_MAX + sizeof(VD_CONF_FILE) + 1];
	FILE *f;
	int rc;

	vd_config_defaults(c, dir);
	snprintf(path, sizeof(path), "%s/%s", dir, VD_CONF_FILE);
	if ((f = fopen(path, "r")) == NULL) {
		ERR("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	rc = vd_config_read(f, path, c, err, errlen);
	fclose(f);
	return rc;
}

int
vd_config_load_mem(const char *dir, const char *text, size_t len,
    const char *name, struct vd_config *c, char *err, size_t errlen)
{
	static char empty[1];
	FILE *f;
	int rc;

	vd_config_defaults(c, dir);
	/* read-only ("r"): fmemopen never writes to the buffer */
	if ((f = fmemopen(len > 0 ? (void *)(uintptr_t)text : empty, len,
	    "r")) == NULL) {
		ERR("cannot read %s: %s", name, strerror(errno));
		return -1;
	}
	rc = vd_config_read(f, name, c, err, errlen);
	fclose(f);
	return rc;
}

void
vd_config_emit(const struct vd_config *c, FILE *f)
{
	fprintf(f, "# keybridge validator (docs/operations.md \"Running a "
	    "validator\")\n"
	    "name = %s\n"
	    "mode = %s\n"
	    "listen = %s\n"
	    "# the bridge this validator follows (for `validator status`)\n"
	    "ledger = %s\n"
	    "ledger_ca = %s\n"
	    "# its checkpoints: origin and the node's verifier key\n"
	    "origin = %s\n"
	    "log_vkey = %s\n"
	    "# a checkpoint's time must be within [now - max_past, now + "
	    "max_future]\n"
	    "max_past = %" PRId64 "\n"
	    "max_future = %" PRId64 "\n"
	    "# bytes of one request (larger ones are answered 413)\n"
	    "max_body = %zu\n",
	    c->name, c->mode == VCORE_WITNESS ? "witness" : "validator",
	    c->listen, c->ledger, c->ledger_ca, c->origin, c->log_vkey,
	    c->max_past, c->max_future, c->max_body);
	fprintf(f, "# the front door (keybridge.conf's keys of the same "
	    "names)\n");
	for (size_t i = 0; i < CONF_NLONGS; i++)
		fprintf(f, "# %s\n%s = %ld\n", conf_longs[i].help,
		    conf_longs[i].key,
		    conf_long_get(c, &conf_longs[i]));
}

int
vd_config_write(const struct vd_config *c, char *err, size_t errlen)
{
	char path[PATH_MAX + sizeof(VD_CONF_FILE) + 1];
	FILE *f = NULL;
	int fd, rc = -1;

	snprintf(path, sizeof(path), "%s/%s", c->dir, VD_CONF_FILE);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    CONF_MODE)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		ERR("cannot create %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	vd_config_emit(c, f);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		ERR("cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fclose(f) != 0 && rc == 0) {
		ERR("cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

int
vd_listen_split(const char *listen, char *host, size_t hostlen,
    unsigned short *port)
{
	const char *colon, *h = listen;
	size_t hl;
	int64_t p;

	if ((colon = strrchr(listen, ':')) == NULL)
		return -1;
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen || conf_int(colon + 1, 1, 65535, &p) != 0)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned short)p;
	return 0;
}
