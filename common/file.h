/*
 * common/file.h: reading a small file whole (a state file, a checkpoint
 * note, a one-line pointer such as ca/issuers/current).
 */
#ifndef COMMON_FILE_H
#define COMMON_FILE_H

#include <stddef.h>

/* Reads the file at path into buf, at most size - 1 bytes, then a NUL;
 * *len gets its length.  Returns 1 when there is no such file (buf ""),
 * 0 when it was read, -1 with err set when it cannot be opened or read or
 * is longer than size - 1 bytes (never silently cut). */
int file_read_small(const char *path, char *buf, size_t size, size_t *len,
    char *err, size_t errlen);

#endif
