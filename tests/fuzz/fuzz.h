/*
 * fuzz.h: what the libFuzzer targets (tests/fuzz/fuzz_*.c) share: the
 * entry points' prototypes, a check that stops the run on a broken
 * property, and a NUL-terminated copy of the input.  Each target builds
 * its state (keys, a configuration) once in LLVMFuzzerInitialize and
 * then only reads it, so a run is the same for the same input.
 */
#ifndef KEYBRIDGE_FUZZ_H
#define KEYBRIDGE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the parser promises and broke: libFuzzer saves the input
 * as a crash. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* data[0..len) as a malloc'd C string (a NUL inside cuts it, as a C
 * caller would see it); aborts on out of memory, which a 64 KiB input
 * never is. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	FUZZ_CHECK(s != NULL);
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

#endif
