/*
 * fuzz_config.c: the bridge's configuration file (bridge/config.c,
 * bridge/config_validators.c): the input is written as
 * DIR/keybridge.conf in a directory made once (under /dev/shm when it
 * exists) and read by config_load, line by line as `serve` reads it.
 * Property: a configuration that loads is written back by config_write,
 * that file loads again, and written once more it is the same file (what
 * `init` and a later `serve` rely on).
 */
#include "tests/fuzz/fuzz.h"

#include <limits.h>
#include <unistd.h>

#include "bridge/config.h"

static char fuzz_dir[PATH_MAX], fuzz_dir2[PATH_MAX];

/* Removes the two directories and their files when the run ends. */
static void
fuzz_cleanup(void)
{
	static const char *const files[] = { "keybridge.conf", "keybridge.conf.2", NULL };
	char path[PATH_MAX + 32];

	for (size_t i = 0; files[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, files[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir2, files[i]);
		unlink(path);
	}
	rmdir(fuzz_dir);
	rmdir(fuzz_dir2);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/kb-fuzz-config.XXXXXX", base);
	snprintf(fuzz_dir2, sizeof(fuzz_dir2), "%s/kb-fuzz-config.XXXXXX",
	    base);
	FUZZ_CHECK(mkdtemp(fuzz_dir) != NULL && mkdtemp(fuzz_dir2) != NULL);
	atexit(fuzz_cleanup);
	return 0;
}

/* 1 when files a and b hold the same bytes. */
static int
fuzz_same_file(const char *a, const char *b)
{
	static char ba[1 << 20], bb[1 << 20];
	FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
	size_t na = 0, nb = 0;

	if (fa != NULL)
		na = fread(ba, 1, sizeof(ba), fa);
	if (fb != NULL)
		nb = fread(bb, 1, sizeof(bb), fb);
	if (fa != NULL)
		fclose(fa);
	if (fb != NULL)
		fclose(fb);
	return fa != NULL && fb != NULL && na == nb && memcmp(ba, bb, na) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct bridge_config c, c2;
	char path[PATH_MAX + 32], path2[PATH_MAX + 32], err[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/keybridge.conf", fuzz_dir);
	FUZZ_CHECK((f = fopen(path, "w")) != NULL);
	FUZZ_CHECK(fwrite(data, 1, len, f) == len || len == 0);
	fclose(f);
	err[0] = '\0';
	if (config_load(&c, fuzz_dir, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	snprintf(path, sizeof(path), "%s/keybridge.conf", fuzz_dir2);
	unlink(path);
	FUZZ_CHECK(config_write(&c, path) == 0);
	FUZZ_CHECK(config_load(&c2, fuzz_dir2, err, sizeof(err)) == 0);
	/* written again: the same file (a fixed point) */
	snprintf(path2, sizeof(path2), "%s/keybridge.conf.2", fuzz_dir2);
	unlink(path2);
	FUZZ_CHECK(config_write(&c2, path2) == 0);
	FUZZ_CHECK(fuzz_same_file(path, path2));
	return 0;
}
