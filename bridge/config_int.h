/*
 * config_int.h: between config.c, config_table.c, config_validators.c and
 * config_dir.c only.
 */
#ifndef KEYBRIDGE_CONFIG_INT_H
#define KEYBRIDGE_CONFIG_INT_H

#include <stdio.h>

#include <stddef.h>

#include "bridge/config.h"

enum config_type {
	CONFIG_T_STR,		/* char[]; min/max bound the length */
	CONFIG_T_LONG,		/* long; min/max bound the value */
	CONFIG_T_LOGLEVEL,	/* char[]; one of log_level_parse()'s names */
	CONFIG_T_LOGFORMAT,	/* char[]; one of log_format_parse()'s names */
};

struct config_field {
	const char *name;
	enum config_type type;
	size_t offset;		/* into struct bridge_config */
	size_t size;		/* of the field, bytes */
	long min, max;
	const char *def_str;	/* default of a string or log level */
	long def_long;		/* default of a long */
	const char *help;	/* written above the key by config_write() */
};

/* At most this many rows (config_table.c checks it at compile time). */
#define CONFIG_FIELDS_MAX	160

/* Every setting, one row each (config_table.c), and how many. */
extern const struct config_field config_table[];
extern const size_t config_nfields;

/* Writes the validator and witness lines of c to fp.  0 or -1 (logged). */
int config_validators_emit(const struct bridge_config *c, FILE *fp);

/* The `validator =` and `witness =` lines of c as one text, for
 * config_changes: "NAME URL, NAME URL (witness)", or "none". */
void config_validators_text(const struct bridge_config *c, char *out,
    size_t outlen);

#endif
