/*
 * client_int.h: between keyproc.c (which forks) and client.c (which
 * holds the parent's ends).  Never included outside bridge/keyproc/.
 */
#ifndef KEYBRIDGE_KEYPROC_CLIENT_INT_H
#define KEYBRIDGE_KEYPROC_CLIENT_INT_H

#include "bridge/keyproc/keyproc.h"

/* The handle for child pid reached over fds[0..KEYPROC_NCHAN) (taken).
 * NULL when out of memory. */
struct keyproc *keyproc_client_new(pid_t pid, const int *fds);

#endif
