/*
 * sandbox.c: TEMPORARY no-op stand-ins.  The SANDBOX part writes the real
 * sandbox_keyproc (seccomp, RLIMIT_CORE 0, undumpable) and
 * sandbox_network (undumpable, privilege drop); the lead replaces this
 * whole file with theirs at merge.
 */
#include "bridge/keyproc/keyproc.h"

/* TEMPORARY: narrows nothing yet. */
int
sandbox_keyproc(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return 0;
}

/* TEMPORARY: narrows nothing yet. */
int
sandbox_network(const struct bridge_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	return 0;
}
