/*
 * fuzz_config.c: the bridge's configuration file (bridge/config.c,
 * bridge/config_validators.c): the input is the bytes of
 * DIR/keybridge.conf, parsed from memory by config_load_mem (config_load's
 * own line reader over an fmemopen stream: the same parse as `serve`'s,
 * without a file per input, so the target runs at memory speed).
 * Property: a configuration that loads is written back by config_emit
 * (config_write's text), that text loads again, and written once more it
 * is the same text (what `init` and a later `serve` rely on).
 */
#include "tests/fuzz/fuzz.h"

#include "bridge/config.h"

#define FUZZ_DIR  "/var/lib/keybridge"
#define FUZZ_NAME FUZZ_DIR "/keybridge.conf"

/* c written by config_emit into a malloc'd buffer (*len bytes). */
static char *
fuzz_emit(const struct bridge_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(config_emit(c, f) == 0);
	FUZZ_CHECK(fclose(f) == 0);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct bridge_config c, c2;
	char err[512], *t1, *t2;
	size_t n1, n2;

	err[0] = '\0';
	if (config_load_mem(&c, FUZZ_DIR, (const char *)data, len, FUZZ_NAME,
	    err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	t1 = fuzz_emit(&c, &n1);
	if (config_load_mem(&c2, FUZZ_DIR, t1, n1, FUZZ_NAME, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "written text refused: %s\n", err);
		FUZZ_CHECK(!"the written text loads again");
	}
	/* written again: the same text (a fixed point) */
	t2 = fuzz_emit(&c2, &n2);
	FUZZ_CHECK(n1 == n2 && memcmp(t1, t2, n1) == 0);
	free(t1);
	free(t2);
	return 0;
}
