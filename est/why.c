/*
 * why.c: the one-line reasons that est/'s checks give with a refusal.
 */
#include <stdarg.h>
#include <stdio.h>

#include "est/est_int.h"

/* See est_int.h. */
void
est_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}
