/*
 * bench_fill.c: appends N signed config-publish entries to the ledger of a
 * stopped bridge's data directory, through the group-commit writer (the
 * same path the daemon uses), for the `ledger verify` benchmark.
 *
 *   bench_fill DIR N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "bridge/bridge.h"

static void
done(enum ledger_status st, const struct ledger_receipt *r, const char *why,
    void *arg)
{
	if (st != LEDGER_OK) {
		fprintf(stderr, "bench_fill: refused: %s: %s\n",
		    ledger_status_code(st), why);
		exit(1);
	}
	(*(long *)arg)++;
}

int
main(int argc, char **argv)
{
	struct bridge_config cfg;
	struct ledger_config lc;
	struct ledger *l;
	struct ledger_field f[3];
	EVP_PKEY *node, *admin;
	char err[512], p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX], hex[65],
	    ver[32], *note;
	uint8_t rnd[32];
	uint64_t seq;
	long n, ok = 0;

	if (argc != 3 || (n = atol(argv[2])) < 1) {
		fprintf(stderr, "usage: bench_fill DIR N\n");
		return 1;
	}
	if (config_load(&cfg, argv[1], err, sizeof(err)) != 0 ||
	    (node = ledger_key_load(config_path(&cfg, cfg.validator_key, p1,
	    sizeof(p1)), err, sizeof(err))) == NULL ||
	    (admin = ledger_key_load(config_path(&cfg, cfg.admin_key, p2,
	    sizeof(p2)), err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_fill: %s\n", err);
		return 1;
	}
	memset(&lc, 0, sizeof(lc));
	lc.db = config_path(&cfg, cfg.db, p3, sizeof(p3));
	lc.origin = cfg.origin;
	lc.consensus = ledger_consensus_solo_new(node, cfg.validator_name);
	lc.batch_max = 1024;
	if ((l = ledger_open(&lc, err, sizeof(err))) == NULL ||
	    ledger_writer_start(l, NULL, NULL) != 0) {
		fprintf(stderr, "bench_fill: %s\n", err);
		return 1;
	}
	seq = ledger_next_seq(l, "admin");
	for (long i = 0; i < n; i++) {
		RAND_bytes(rnd, sizeof(rnd));
		ledger_hex(rnd, sizeof(rnd), hex);
		snprintf(ver, sizeof(ver), "v%ld", i);
		f[0] = (struct ledger_field){ "group", "fill" };
		f[1] = (struct ledger_field){ "version", ver };
		f[2] = (struct ledger_field){ "sha256", hex };
		note = ledger_entry_sign(ledger_entry_body(LEDGER_CONFIG_PUBLISH,
		    "admin", seq++, time(NULL), f, 3), "admin", admin);
		while (ledger_submit(l, note, strlen(note), done, &ok) != 0)
			ledger_drain(l);	/* queue full: wait */
		free(note);
		if (i % 4096 == 0)
			ledger_drain(l);
	}
	ledger_writer_stop(l);
	ledger_close(l);
	printf("appended %ld entries\n", ok);
	EVP_PKEY_free(node);
	EVP_PKEY_free(admin);
	return ok == n ? 0 : 1;
}
