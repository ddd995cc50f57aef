/*
 * sandbox.h: narrowing the processes of `keybridge serve` once they are
 * set up (bridge/keyproc/sandbox.c; docs/design.md "Sandbox").
 *
 * The order, in each process:
 *
 *   key process      load the keys, sandbox_drop_user(cfg->user),
 *                    sandbox_keyproc() (seccomp last: the filter has no
 *                    setuid and no prctl)
 *   network process  sandbox_hand_over(cfg) before anything opens a file
 *                    of the data directory, bind the ports, then
 *                    sandbox_network(cfg)
 *
 * Every function returns 0, or -1 with a one-line reason in err.
 */
#ifndef KEYBRIDGE_KEYPROC_SANDBOX_H
#define KEYBRIDGE_KEYPROC_SANDBOX_H

#include <stddef.h>

#include "bridge/config.h"

/* The user a root-started bridge runs as when keybridge.conf says nothing. */
#define SANDBOX_DEFAULT_USER "keybridge"

/*
 * For the key process, after it has loaded its keys: no core dumps
 * (RLIMIT_CORE 0, PR_SET_DUMPABLE 0), PR_SET_NO_NEW_PRIVS, then a seccomp
 * filter allowing only the system calls of sandbox.c's list (socketpair
 * I/O and poll, memory, an atomically written state file, time, random
 * bytes, stderr, exit); any other call kills the whole process with
 * SIGSYS.  Call sandbox_drop_user() first when running as root: the
 * filter forbids changing credentials.  Applies to every thread.
 */
int sandbox_keyproc(char *err, size_t errlen);

/*
 * When the process runs as root: becomes user (its uid, gid and
 * supplementary groups, from the passwd database), checks that root cannot
 * be regained (setuid(0) fails, no uid or gid 0 left, no group 0), and
 * makes the process undumpable again (a credential change resets it).
 * Refuses a user that does not exist (the message says how to create it)
 * and a user whose uid is 0.  Not root: nothing to do, 0.  Every thread of
 * the process changes (glibc's setxid broadcast).
 */
int sandbox_drop_user(const char *user, char *err, size_t errlen);

/*
 * For the network process, after its ports are bound and every key file
 * it reads (the TLS key) has been read: no core dumps (RLIMIT_CORE 0,
 * PR_SET_DUMPABLE 0), then sandbox_drop_user(cfg->user), then checks
 * that the data directory is still writable (a parent such as /root may
 * be closed to the user).
 */
int sandbox_network(const struct bridge_config *cfg, char *err,
    size_t errlen);

/*
 * When the process runs as root: hands what a dropped bridge writes to
 * cfg->user: the data directory itself, the SQLite database with its
 * -wal, -shm and -journal, checkpoint.trusted and keybridge.lock (those
 * that exist).  Key files, keybridge.conf, ca/ and tls/ stay as they are
 * (root's, 0600/0700): the processes read them before dropping.  A file
 * is changed only when it is a regular file with one link, opened without
 * following a symbolic link (the user owns the directory and could plant
 * either).  Refuses, with the message of sandbox_drop_user(), when the
 * user does not exist.  Not root: nothing to do, 0.
 */
int sandbox_hand_over(const struct bridge_config *cfg, char *err,
    size_t errlen);

/*
 * When the process runs as root: gives the file open as fd the owner and
 * group of the directory dir, so that a file a root CLI command creates in
 * a data directory handed to the bridge's user stays the user's (SQLite
 * does the same for its journals).  0 also when not root; -1 with err.
 */
int sandbox_adopt_dir_owner(int fd, const char *dir, char *err,
    size_t errlen);

#endif
