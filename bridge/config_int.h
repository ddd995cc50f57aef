/*
 * config_int.h: between config.c, config_validators.c and config_dir.c only.
 */
#ifndef KEYBRIDGE_CONFIG_INT_H
#define KEYBRIDGE_CONFIG_INT_H

#include <stdio.h>

#include "bridge/config.h"

/* Writes the validator and witness lines of c to fp.  0 or -1 (logged). */
int config_validators_emit(const struct bridge_config *c, FILE *fp);

/* The `validator =` and `witness =` lines of c as one text, for
 * config_changes: "NAME URL, NAME URL (witness)", or "none". */
void config_validators_text(const struct bridge_config *c, char *out,
    size_t outlen);

#endif
