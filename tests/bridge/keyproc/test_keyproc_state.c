/*
 * test_keyproc_state.c: the key process's promise on disk
 * (bridge/keyproc/state.c): the v2 file of two checksummed slots written
 * in turn, read back as the newest intact slot; a torn or damaged newest
 * slot falls back to the promise before it; both damaged is refused; a
 * v1 file (before the slots) is read and rewritten as v2 unchanged.
 */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "bridge/keyproc/keyproc_int.h"
#include "bridge/keyproc/keyproc.h"

#define ERRLEN		512
#define SLOT		4096	/* state.c's STATE_SLOT */

struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX + 32];
	int fd;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kb-kpstate-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir,
	    KEYPROC_STATE_FILE);
	f->fd = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char tmp[PATH_MAX + 48];

	if (f->fd >= 0)
		close(f->fd);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	(void)unlink(tmp);
	(void)unlink(f->path);
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

/* A promise of checkpoint size n (root all n) and CRL number n. */
static void
promise(struct keyproc_state *st, uint64_t n)
{
	st->have_cp = 1;
	st->cp_size = n;
	memset(st->cp_root, (int)n, sizeof(st->cp_root));
	st->crl_number = n;
}

static void
assert_promise(const struct keyproc_state *st, uint64_t n)
{
	uint8_t root[LEDGER_HASH_LEN];

	memset(root, (int)n, sizeof(root));
	assert_int_equal(st->have_cp, 1);
	assert_int_equal(st->cp_size, n);
	assert_memory_equal(st->cp_root, root, sizeof(root));
	assert_int_equal(st->crl_number, n);
}

/* Writes promises 1..n in turn. */
static void
write_promises(struct fx *f, struct keyproc_state *st, uint64_t n)
{
	char err[ERRLEN] = "";

	for (uint64_t i = 1; i <= n; i++) {
		promise(st, i);
		assert_int_equal(keyproc_state_write(f->path, &f->fd, st, err,
		    sizeof(err)), 0);
	}
}

/* Overwrites byte off of the file with c. */
static void
poke(struct fx *f, off_t off, char c)
{
	int fd = open(f->path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void
test_the_newest_promise_is_read_back_after_each_write(void **state)
{
	struct fx *f = *state;
	struct keyproc_state st, back;
	char err[ERRLEN] = "";
	struct stat sb;

	memset(&st, 0, sizeof(st));
	for (uint64_t i = 1; i <= 5; i++) {
		promise(&st, i);
		assert_int_equal(keyproc_state_write(f->path, &f->fd, &st, err,
		    sizeof(err)), 0);
		assert_int_equal(keyproc_state_read(f->path, &back, err,
		    sizeof(err)), 0);
		assert_promise(&back, i);
		assert_int_equal(back.seq, st.seq);
	}
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 2 * SLOT);
}

/* A crash in the middle of a write leaves the slot it was writing torn:
 * its promise was never answered, and the one before it stands. */
static void
test_a_torn_newest_slot_falls_back_to_the_promise_before(void **state)
{
	struct fx *f = *state;
	struct keyproc_state st, back;
	char err[ERRLEN] = "";
	off_t newest;

	memset(&st, 0, sizeof(st));
	write_promises(f, &st, 4);
	newest = (off_t)(st.seq % 2) * SLOT;
	/* a byte of the root's hex ("0404..."): a flipped byte */
	poke(f, newest + 80, 'f');
	assert_int_equal(keyproc_state_read(f->path, &back, err, sizeof(err)),
	    0);
	assert_promise(&back, 3);
	/* the byte back, the text cut short: a write that stopped */
	poke(f, newest + 80, '0');
	assert_int_equal(keyproc_state_read(f->path, &back, err, sizeof(err)),
	    0);
	assert_promise(&back, 4);
	poke(f, newest + 100, '\0');
	assert_int_equal(keyproc_state_read(f->path, &back, err, sizeof(err)),
	    0);
	assert_promise(&back, 3);
	/* Positive control: rewritten whole, the newest slot is read. */
	promise(&st, 9);
	st.seq--;			/* the same slot again */
	assert_int_equal(keyproc_state_write(f->path, &f->fd, &st, err,
	    sizeof(err)), 0);
	assert_int_equal(keyproc_state_read(f->path, &back, err, sizeof(err)),
	    0);
	assert_promise(&back, 9);
}

static void
test_both_slots_damaged_is_refused(void **state)
{
	struct fx *f = *state;
	struct keyproc_state st, back;
	char err[ERRLEN] = "";

	memset(&st, 0, sizeof(st));
	write_promises(f, &st, 3);
	poke(f, 40, '7');
	poke(f, SLOT + 40, '7');
	assert_int_equal(keyproc_state_read(f->path, &back, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "is damaged"));
	assert_int_equal(back.have_cp, 0);
}

/* A key process of before the slots left a v1 file: its promise is read,
 * and the first write makes the v2 file keeping it. */
static void
test_a_v1_file_is_read_and_rewritten_as_v2(void **state)
{
	struct fx *f = *state;
	struct keyproc_state st, back;
	char err[ERRLEN] = "", hex[2 * LEDGER_HASH_LEN + 1];
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	memset(hex, 'a', 2 * LEDGER_HASH_LEN);
	hex[2 * LEDGER_HASH_LEN] = '\0';
	fprintf(fp, "keybridge-keyproc-state v1\ncheckpoint 1 42 %s\n"
	    "crl 7\n", hex);
	fclose(fp);
	assert_int_equal(keyproc_state_read(f->path, &st, err, sizeof(err)),
	    0);
	assert_int_equal(st.have_cp, 1);
	assert_int_equal(st.cp_size, 42);
	assert_int_equal(st.cp_root[0], 0xaa);
	assert_int_equal(st.crl_number, 7);
	st.crl_number = 8;
	assert_int_equal(keyproc_state_write(f->path, &f->fd, &st, err,
	    sizeof(err)), 0);
	assert_int_equal(keyproc_state_read(f->path, &back, err, sizeof(err)),
	    0);
	assert_int_equal(back.cp_size, 42);
	assert_int_equal(back.cp_root[31], 0xaa);
	assert_int_equal(back.crl_number, 8);
	/* A damaged v1 file is refused as before. */
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fprintf(fp, "keybridge-keyproc-state v1\ncheckpoint 1 42 zz\ncrl 7\n");
	fclose(fp);
	assert_int_equal(keyproc_state_read(f->path, &st, err, sizeof(err)),
	    -1);
}

/* restore --checkpoint (issue 17): a later checkpoint raises the
 * promise, keeping the CRL number; an earlier one never lowers it; the
 * raised file reads back through the public reader. */
static void
test_a_restore_fence_raises_the_promise_and_never_lowers_it(void **state)
{
	struct fx *f = *state;
	struct keyproc_state st;
	char err[ERRLEN] = "";
	uint8_t root[LEDGER_HASH_LEN], got[LEDGER_HASH_LEN];
	uint64_t size;
	int have;

	memset(&st, 0, sizeof(st));
	write_promises(f, &st, 5);
	close(f->fd);
	f->fd = -1;
	memset(root, 0x77, sizeof(root));
	assert_int_equal(keyproc_promise_raise(f->path, 9, root, err,
	    sizeof(err)), 0);
	assert_int_equal(keyproc_state_read(f->path, &st, err, sizeof(err)),
	    0);
	assert_int_equal(st.cp_size, 9);
	assert_memory_equal(st.cp_root, root, sizeof(root));
	assert_int_equal(st.crl_number, 5);
	/* an older checkpoint: the promise stays */
	memset(root, 0x11, sizeof(root));
	assert_int_equal(keyproc_promise_raise(f->path, 7, root, err,
	    sizeof(err)), 0);
	assert_int_equal(keyproc_promise_read(f->path, &have, &size, got, err,
	    sizeof(err)), 0);
	assert_int_equal(have, 1);
	assert_int_equal(size, 9);
	memset(root, 0x77, sizeof(root));
	assert_memory_equal(got, root, sizeof(root));
	/* no file yet: the fence makes one */
	(void)unlink(f->path);
	assert_int_equal(keyproc_promise_raise(f->path, 3, root, err,
	    sizeof(err)), 0);
	assert_int_equal(keyproc_promise_read(f->path, &have, &size, got, err,
	    sizeof(err)), 0);
	assert_int_equal(have, 1);
	assert_int_equal(size, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_the_newest_promise_is_read_back_after_each_write,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_torn_newest_slot_falls_back_to_the_promise_before,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_both_slots_damaged_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_v1_file_is_read_and_rewritten_as_v2, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_restore_fence_raises_the_promise_and_never_lowers_it,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
