/*
 * config.c: DIR/keybridge.conf, driven by one declarative table.
 *
 * Like Redis's config.c, every setting is one row of config_table
 * (config_table.c): its name, its type, where it lives in struct
 * bridge_config, its bounds, its default and a one-line help text.
 * Parsing, defaults and config_write() all walk the same table, so adding
 * a setting is one row there and one field in bridge.h, and the written
 * file can never drift from what the parser accepts.
 *
 * The format is deliberately small:
 *
 *	# a comment (only at the start of a line)
 *	batch_max = 1024
 *	public_https_url = https://bridge.example:8443
 *
 * Values run from the first non-blank after '=' to the end of the line,
 * trailing blanks removed; there is no quoting and no inline comment (a '#'
 * inside a value is part of it).  An unknown key, a key given twice, a value
 * out of bounds and a line without '=' are errors that name the file, the
 * line and the key, so a typo never silently falls back to a default.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/version.h"
#include "bridge/config.h"
#include "bridge/ca/ca.h"
#include "bridge/config_int.h"

/* 0600: the file may hold secrets (est_*_basic_auth passwords,
 * api_token), not only key paths. */
#define CONFIG_FILE_MODE	0600

static char *
config_str(struct bridge_config *c, const struct config_field *f)
{
	return (char *)c + f->offset;
}

static const char *
config_cstr(const struct bridge_config *c, const struct config_field *f)
{
	return (const char *)c + f->offset;
}

static long *
config_long(struct bridge_config *c, const struct config_field *f)
{
	return (long *)(void *)((char *)c + f->offset);
}

/* Fills c with the defaults of config_table for data directory dir (cut
 * at PATH_MAX - 1 bytes; config_load() refuses such a dir). */
void
config_defaults(struct bridge_config *c, const char *dir)
{
	const struct config_field *f;
	size_t i;

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", dir != NULL ? dir : ".");
	for (i = 0; i < config_nfields; i++) {
		f = &config_table[i];
		if (f->type == CONFIG_T_LONG)
			*config_long(c, f) = f->def_long;
		else
			snprintf(config_str(c, f), f->size, "%s", f->def_str);
	}
}

/* Checks that string value v fits field f and survives a write/parse round
 * trip (no control characters, no blanks at either end).  Returns NULL when
 * it does, or the complaint, to follow "<key> ". */
static const char *
config_check_str(const struct config_field *f, const char *v, char *why,
    size_t whylen)
{
	size_t i, len = strlen(v);

	if (f->type == CONFIG_T_LOGLEVEL) {
		if (log_level_parse(v) < 0)
			return "must be one of error, warn, info, debug";
		return NULL;
	}
	if (f->type == CONFIG_T_LOGFORMAT) {
		if (log_format_parse(v) < 0)
			return "must be text or json";
		return NULL;
	}
	if ((long)len < f->min)
		return "must not be empty";
	if ((long)len > f->max) {
		snprintf(why, whylen, "is too long (at most %ld bytes)",
		    f->max);
		return why;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] == 0x7f)
			return "must not contain control characters";
	if (len > 0 && (v[0] == ' ' || v[0] == '\t' || v[len - 1] == ' ' ||
	    v[len - 1] == '\t'))
		return "must not begin or end with blanks";
	return NULL;
}

/* Sets field f of c from the text v.  Returns 0, or -1 with the complaint
 * about the value in why (to follow "<key> "). */
static int
config_set(struct bridge_config *c, const struct config_field *f,
    const char *v, char *why, size_t whylen)
{
	const char *bad;
	char *end;
	long n;

	if (f->type == CONFIG_T_LONG) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (v[0] == '\0' || *end != '\0') {
			snprintf(why, whylen, "must be a whole number between "
			    "%ld and %ld", f->min, f->max);
			return -1;
		}
		if (errno == ERANGE || n < f->min || n > f->max) {
			snprintf(why, whylen, "must be between %ld and %ld",
			    f->min, f->max);
			return -1;
		}
		*config_long(c, f) = n;
		return 0;
	}
	if ((bad = config_check_str(f, v, why, whylen)) != NULL) {
		if (bad != why)
			snprintf(why, whylen, "%s", bad);
		return -1;
	}
	memcpy(config_str(c, f), v, strlen(v) + 1);
	return 0;
}

static const struct config_field *
config_find(const char *name)
{
	size_t i;

	for (i = 0; i < config_nfields; i++)
		if (strcmp(config_table[i].name, name) == 0)
			return &config_table[i];
	return NULL;
}

static int
config_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int config_read(struct bridge_config *c, const char *dir,
    void (*each)(void *, const char *), void *arg, char *err, size_t errlen);

/* Parses one line (modified in place) into c.  seen[] holds the line on
 * which each field was set, 0 when it was not.  Returns 0, or -1 with err
 * set to "path:lineno: ...". */
static int
config_parse_line(struct bridge_config *c, char *line, const char *path,
    unsigned long lineno, unsigned long *seen, char *err, size_t errlen)
{
	const struct config_field *f;
	char why[CONFIG_STR];
	char *key, *val, *eq, *p;

	key = line;
	while (config_blank((unsigned char)*key))
		key++;
	p = key + strlen(key);
	while (p > key && config_blank((unsigned char)p[-1]))
		*--p = '\0';
	if (*key == '\0' || *key == '#')
		return 0;

	if ((eq = strchr(key, '=')) == NULL) {
		snprintf(err, errlen, "%s:%lu: expected \"key = value\"",
		    path, lineno);
		return -1;
	}
	val = eq + 1;
	while (config_blank((unsigned char)*val))
		val++;
	for (p = eq; p > key && config_blank((unsigned char)p[-1]); p--)
		;
	*p = '\0';
	if (*key == '\0') {
		snprintf(err, errlen, "%s:%lu: missing key before '='", path,
		    lineno);
		return -1;
	}

	/* repeatable: one per validator (config_validators.c) */
	if (strcmp(key, "validator") == 0 || strcmp(key, "witness") == 0) {
		if (config_validator_line(c, val, key[0] == 'w', why,
		    sizeof(why)) != 0) {
			snprintf(err, errlen, "%s:%lu: %s %s", path, lineno,
			    key, why);
			return -1;
		}
		return 0;
	}
	if ((f = config_find(key)) == NULL) {
		snprintf(err, errlen, "%s:%lu: unknown key \"%.64s\"", path,
		    lineno, key);
		return -1;
	}
	if (seen[f - config_table] != 0) {
		snprintf(err, errlen, "%s:%lu: %s is already set on line %lu",
		    path, lineno, f->name, seen[f - config_table]);
		return -1;
	}
	if (config_set(c, f, val, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s:%lu: %s %s", path, lineno, f->name,
		    why);
		return -1;
	}
	seen[f - config_table] = lineno;
	return 0;
}

/* Reads the lines of fp over c (already holding its defaults), errors
 * naming `name` and the line, then checks the validator lines (the error
 * at the quorum line when there is one).  With each NULL: 0, or -1 at the
 * first problem with err set.  With each set, every bad line is given to
 * each (err is its buffer), counted in *bad, and the read goes on: 0, or
 * -1 when the file cannot be read or the validator lines are wrong. */
static int
config_read_lines(struct bridge_config *c, FILE *fp, const char *name,
    void (*each)(void *, const char *), void *arg, int *bad, char *err,
    size_t errlen)
{
	unsigned long seen[CONFIG_FIELDS_MAX] = { 0 };
	const struct config_field *q;
	const char *bad_key = "";
	char why[CONFIG_STR * 2];
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int rc = -1;

	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		if (config_parse_line(c, line, name, lineno, seen, err,
		    errlen) == -1) {
			if (each == NULL)
				goto out;
			each(arg, err);
			(*bad)++;
		}
	}
	if (ferror(fp) != 0) {
		snprintf(err, errlen, "%s: read error", name);
		goto out;
	}
	if (config_validators_check(c, why, sizeof(why)) != 0) {
		q = config_find("quorum");
		if (q != NULL && seen[q - config_table] != 0)
			snprintf(err, errlen, "%s:%lu: %s", name,
			    seen[q - config_table], why);
		else
			snprintf(err, errlen, "%s: %s", name, why);
		goto out;
	}
	/* Bounds that tie keys together (noRevAvail needs a short
	 * validity) or need more than a length (an OID, a country code). */
	if (ca_profile_config_check(c, &bad_key, why, sizeof(why)) != 0) {
		q = config_find(bad_key);
		if (q != NULL && seen[q - config_table] != 0)
			snprintf(err, errlen, "%s:%lu: %s %s", name,
			    seen[q - config_table], bad_key, why);
		else
			snprintf(err, errlen, "%s: %s %s", name, bad_key, why);
		goto out;
	}
	rc = 0;
out:
	free(line);
	return rc;
}

/* Fills c with the defaults for dir, then reads dir/keybridge.conf over
 * them.  The first bad line stops the load.  Returns 0, or -1 with err set
 * to one line ("DIR/keybridge.conf:7: batch_max must be between 1 and
 * 4096"); c then holds a partial result and must not be used. */
int
config_load(struct bridge_config *c, const char *dir, char *err,
    size_t errlen)
{
	return config_read(c, dir, NULL, NULL, err, errlen) == 0 ? 0 : -1;
}

/* See config.h. */
int
config_load_each(struct bridge_config *c, const char *dir,
    void (*each)(void *arg, const char *why), void *arg)
{
	char err[PATH_MAX + CONFIG_STR];

	return config_read(c, dir, each, arg, err, sizeof(err));
}

/* config_load, and with each set config_load_each: every bad line is
 * given to each (err is its buffer) and the load goes on with the next.
 * Returns the number of problems (0: c is good), or with each NULL 0 or
 * -1 at the first. */
static int
config_read(struct bridge_config *c, const char *dir,
    void (*each)(void *, const char *), void *arg, char *err, size_t errlen)
{
	char path[PATH_MAX];
	FILE *fp = NULL;
	int n, rc = -1, bad = 0;

	if (dir == NULL || strlen(dir) >= sizeof(c->dir)) {
		snprintf(err, errlen, "data directory name is too long");
		goto out;
	}
	config_defaults(c, dir);
	n = snprintf(path, sizeof(path), "%s/%s", dir, CONFIG_FILE);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%s/%s: path too long", dir,
		    CONFIG_FILE);
		goto out;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: %s (create the data "
			    "directory with `keybridge init %s`)", path,
			    strerror(errno), dir);
		else
			snprintf(err, errlen, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	rc = config_read_lines(c, fp, path, each, arg, &bad, err, errlen);
out:
	if (fp != NULL)
		fclose(fp);
	if (each == NULL)
		return rc;
	if (rc != 0) {
		each(arg, err);
		bad++;
	}
	return bad;
}

/* config_load's parse of a file's bytes held in memory (text[0..len), NULs
 * and all, read line by line as the file is): the same settings and the
 * same errors, named `name`. */
int
config_load_mem(struct bridge_config *c, const char *dir, const char *text,
    size_t len, const char *name, char *err, size_t errlen)
{
	static char empty[1];
	FILE *fp;
	int rc;

	if (dir == NULL || strlen(dir) >= sizeof(c->dir)) {
		snprintf(err, errlen, "data directory name is too long");
		return -1;
	}
	config_defaults(c, dir);
	/* read-only ("r"): fmemopen never writes to the buffer */
	if ((fp = fmemopen(len > 0 ? (void *)(uintptr_t)text : empty, len,
	    "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	rc = config_read_lines(c, fp, name, NULL, NULL, NULL, err, errlen);
	fclose(fp);
	return rc;
}

/* Writes every setting of c to fp, each under its help comment.  Returns
 * 0, or -1 (logged) when a value would not read back the same. */
int
config_emit(const struct bridge_config *c, FILE *fp)
{
	const struct config_field *f;
	const char *bad;
	char why[CONFIG_STR];
	size_t i;

	fprintf(fp, "# keybridge.conf: written by keybridge %s.\n"
	    "# One \"key = value\" per line; '#' starts a comment line.\n"
	    "# Relative paths are resolved against the data directory.\n",
	    KEYBRIDGE_VERSION);
	for (i = 0; i < config_nfields; i++) {
		f = &config_table[i];
		fprintf(fp, "\n# %s\n", f->help);
		if (f->type == CONFIG_T_LONG) {
			fprintf(fp, "%s = %ld\n", f->name,
			    *(const long *)(const void *)config_cstr(c, f));
			continue;
		}
		if ((bad = config_check_str(f, config_cstr(c, f), why,
		    sizeof(why))) != NULL) {
			log_err("config: %s %s", f->name, bad);
			return -1;
		}
		fprintf(fp, "%s = %s\n", f->name, config_cstr(c, f));
	}
	return config_validators_emit(c, fp);
}

/* Writes c to path, mode 0600, atomically: a temporary file in the same
 * directory, fsync'd, then renamed over path, so a crash leaves either the
 * old file or the new one.  Returns 0, or -1 (logged). */
int
config_write(const struct bridge_config *c, const char *path)
{
	char tmp[PATH_MAX];
	FILE *fp = NULL;
	int n, fd = -1, rc = -1;

	tmp[0] = '\0';
	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		log_err("config: %s: path too long", path);
		tmp[0] = '\0';
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		log_err("config: %s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, CONFIG_FILE_MODE) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		log_err("config: %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;		/* owned by fp now */
	if (config_emit(c, fp) == -1)
		goto out;
	if (fflush(fp) != 0 || ferror(fp) != 0 || fsync(fileno(fp)) == -1) {
		log_err("config: %s: %s", tmp, strerror(errno));
		goto out;
	}
	n = fclose(fp);
	fp = NULL;
	if (n != 0) {
		log_err("config: %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) == -1) {
		log_err("config: %s: %s", path, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';		/* renamed: nothing to remove */
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	if (fd != -1)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	return rc;
}

/* Settings whose values are never written to a log (config_changes). */
static const char *const config_secrets[] = {
	"api_token", "est_basic_auth", "est_device_basic_auth",
	"est_server_basic_auth",
};

static int
config_is_secret(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(config_secrets) / sizeof(config_secrets[0]);
	    i++)
		if (strcmp(config_secrets[i], name) == 0)
			return 1;
	return 0;
}

/* See config.h. */
void
config_changes(const struct bridge_config *a, const struct bridge_config *b,
    void (*cb)(void *arg, const char *key, const char *old,
    const char *new_, int secret), void *arg)
{
	const struct config_field *f;
	char va[CONFIG_STR * 2], vb[CONFIG_STR * 2];
	size_t i;
	int same;

	for (i = 0; i < config_nfields; i++) {
		f = &config_table[i];
		if (f->type == CONFIG_T_LONG) {
			snprintf(va, sizeof(va), "%ld", *(const long *)(const void *)
			    config_cstr(a, f));
			snprintf(vb, sizeof(vb), "%ld", *(const long *)(const void *)
			    config_cstr(b, f));
		} else {
			snprintf(va, sizeof(va), "%s", config_cstr(a, f));
			snprintf(vb, sizeof(vb), "%s", config_cstr(b, f));
		}
		if (strcmp(va, vb) != 0)
			cb(arg, f->name, va, vb, config_is_secret(f->name));
	}
	same = a->nvalidators == b->nvalidators;
	for (i = 0; same && i < a->nvalidators; i++)
		same = memcmp(&a->validators[i], &b->validators[i],
		    sizeof(a->validators[i])) == 0;
	if (!same) {
		config_validators_text(a, va, sizeof(va));
		config_validators_text(b, vb, sizeof(vb));
		cb(arg, "validator", va, vb, 0);
	}
}
