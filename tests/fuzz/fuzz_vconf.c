/*
 * fuzz_vconf.c: a validator's configuration file (validator/vconf.c): the
 * input is the bytes of DIR/validator.conf, parsed from memory by
 * vd_config_load_mem (vd_config_load's own line reader over an fmemopen
 * stream: the same parse, without a file per input).  Property: a
 * configuration that loads is written back by vd_config_emit
 * (vd_config_write's text) and that text loads again to the same
 * settings.
 */
#include "tests/fuzz/fuzz.h"

#include "validator/daemon.h"

#define FUZZ_DIR  "/var/lib/keybridge-validator"
#define FUZZ_NAME FUZZ_DIR "/validator.conf"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct vd_config c, c2;
	char err[512], *text = NULL;
	size_t n = 0;
	FILE *f;

	err[0] = '\0';
	if (vd_config_load_mem(FUZZ_DIR, (const char *)data, len, FUZZ_NAME,
	    &c, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK((f = open_memstream(&text, &n)) != NULL);
	vd_config_emit(&c, f);
	FUZZ_CHECK(fclose(f) == 0);
	if (vd_config_load_mem(FUZZ_DIR, text, n, FUZZ_NAME, &c2, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "written text refused: %s\n", err);
		FUZZ_CHECK(!"the written text loads again");
	}
	/* the same settings (a string field keeps bytes of an earlier,
	 * longer value past its NUL: compared as strings) */
	FUZZ_CHECK(c.mode == c2.mode && strcmp(c.name, c2.name) == 0 &&
	    strcmp(c.listen, c2.listen) == 0 &&
	    strcmp(c.ledger, c2.ledger) == 0 &&
	    strcmp(c.ledger_ca, c2.ledger_ca) == 0 &&
	    strcmp(c.origin, c2.origin) == 0 &&
	    strcmp(c.log_vkey, c2.log_vkey) == 0 &&
	    c.max_past == c2.max_past && c.max_future == c2.max_future &&
	    c.max_body == c2.max_body &&
	    c.http_header_timeout == c2.http_header_timeout &&
	    c.http_body_timeout == c2.http_body_timeout &&
	    c.http_body_min_rate == c2.http_body_min_rate &&
	    c.http_keepalive_timeout == c2.http_keepalive_timeout &&
	    c.http_max_conns_per_addr == c2.http_max_conns_per_addr &&
	    c.http_max_conns == c2.http_max_conns &&
	    strcmp(c.key_path, c2.key_path) == 0 &&
	    strcmp(c.db_path, c2.db_path) == 0);
	free(text);
	return 0;
}
