/*
 * tmp_fx.c: temporary directories for tests (tmp_fx.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tests/common/tmp_fx.h"

#define FX_RMTREE_FDS	16	/* descriptors nftw may hold */

void
fx_tmpdir(char *dir, size_t len, const char *tag)
{
	assert_true((size_t)snprintf(dir, len, "/tmp/%s.XXXXXX", tag) < len);
	assert_non_null(mkdtemp(dir));
}

/* nftw callback: removes one file or (after its contents) directory. */
static int
rmtree_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	return remove(path) == 0 ? 0 : -1;
}

void
fx_rmtree(const char *dir)
{
	struct stat sb;

	assert_int_equal(nftw(dir, rmtree_one, FX_RMTREE_FDS,
	    FTW_DEPTH | FTW_PHYS), 0);
	/* gone, not merely walked */
	assert_int_equal(lstat(dir, &sb), -1);
	assert_int_equal(errno, ENOENT);
}
