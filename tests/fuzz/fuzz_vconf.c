/*
 * fuzz_vconf.c: a validator's configuration file (validator/vconf.c):
 * the input written as DIR/validator.conf in a directory made once
 * (under /dev/shm when it exists) and read by vd_config_load.
 * Property: a configuration that loads is written back by
 * vd_config_write and that file loads again to the same settings.
 */
#include "tests/fuzz/fuzz.h"

#include <limits.h>
#include <unistd.h>

#include "validator/daemon.h"

static char fuzz_dir[PATH_MAX], fuzz_dir2[PATH_MAX];

/* Removes the two directories and their files when the run ends. */
static void
fuzz_cleanup(void)
{
	static const char *const files[] = { "validator.conf", NULL };
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

	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/kb-fuzz-vconf.XXXXXX", base);
	snprintf(fuzz_dir2, sizeof(fuzz_dir2), "%s/kb-fuzz-vconf.XXXXXX", base);
	FUZZ_CHECK(mkdtemp(fuzz_dir) != NULL && mkdtemp(fuzz_dir2) != NULL);
	atexit(fuzz_cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct vd_config c, c2;
	char path[PATH_MAX + 32], err[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/validator.conf", fuzz_dir);
	FUZZ_CHECK((f = fopen(path, "w")) != NULL);
	FUZZ_CHECK(fwrite(data, 1, len, f) == len || len == 0);
	fclose(f);
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	if (vd_config_load(fuzz_dir, &c, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	snprintf(path, sizeof(path), "%s/validator.conf", fuzz_dir2);
	unlink(path);
	memcpy(c.dir, fuzz_dir2, sizeof(c.dir));
	FUZZ_CHECK(vd_config_write(&c, err, sizeof(err)) == 0);
	memset(&c2, 0, sizeof(c2));
	FUZZ_CHECK(vd_config_load(fuzz_dir2, &c2, err, sizeof(err)) == 0);
	/* the same settings (a string field keeps bytes of an earlier,
	 * longer value past its NUL: compared as strings) */
	FUZZ_CHECK(c.mode == c2.mode && strcmp(c.name, c2.name) == 0 &&
	    strcmp(c.listen, c2.listen) == 0 &&
	    strcmp(c.ledger, c2.ledger) == 0 &&
	    strcmp(c.ledger_ca, c2.ledger_ca) == 0 &&
	    strcmp(c.origin, c2.origin) == 0 &&
	    strcmp(c.log_vkey, c2.log_vkey) == 0 &&
	    c.max_past == c2.max_past && c.max_future == c2.max_future &&
	    c.max_body == c2.max_body);
	return 0;
}
