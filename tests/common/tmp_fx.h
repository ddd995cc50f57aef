/*
 * tmp_fx.h: a temporary directory for one test, and its removal
 * (tmp_fx.c, in the fixtures' archive).  Shared by the tests that keep
 * files (test_log.c, test_blob.c, test_store.c, test_vstore.c, ...) and
 * by db_fx.c.
 */
#ifndef KEYBRIDGE_TESTS_COMMON_TMP_FX_H
#define KEYBRIDGE_TESTS_COMMON_TMP_FX_H

#include <stddef.h>

/* A fresh directory "/tmp/<tag>.XXXXXX" (mkdtemp, 0700) into dir (len
 * bytes).  Fails the test on error. */
void fx_tmpdir(char *dir, size_t len, const char *tag);
/* Removes dir and everything under it, links not followed.  Fails the
 * test when something stays. */
void fx_rmtree(const char *dir);

#endif
