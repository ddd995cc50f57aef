/*
 * config_int.h: between config.c and config_validators.c only.
 */
#ifndef KEYBRIDGE_CONFIG_INT_H
#define KEYBRIDGE_CONFIG_INT_H

#include <stdio.h>

#include "bridge/config.h"

/* Writes the validator and witness lines of c to fp.  0 or -1 (logged). */
int config_validators_emit(const struct bridge_config *c, FILE *fp);

#endif
