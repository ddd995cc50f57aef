/*
 * bench_fill.c: appends N signed entries to the ledger of a stopped
 * bridge's data directory, through the group-commit writer (the same path
 * the daemon uses), for the benchmarks that need a big ledger.
 *
 *   bench_fill DIR N           N config-publish entries (ledger verify)
 *   bench_fill DIR N certs     N device keys, each registered by the admin
 *                              with a fresh P-256 key, and one certificate
 *                              record per key signed by the bridge, as EST
 *                              would write it (2N entries; the API
 *                              benchmark).  Prints the serials, one a line,
 *                              to DIR/fill-serials.txt.
 *   bench_fill DIR N certs P   the same, and P percent of the certificates
 *                              (every (100/P)th) revoked by a cert-revoked
 *                              entry of the bridge (keyCompromise), their
 *                              serials in DIR/fill-revoked.txt (the scale
 *                              benchmark, issue 18).
 * Then the writer's statistics (its commit time, the status map's share)
 * and the time the map takes to build from the whole registry (not with
 * BENCH_FILL_MAP_BUILD=0: 90 s at a million).  The map's snapshot is
 * written at the close, as a serving bridge keeps one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

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

/* A full queue: its completions handed back, then a pause.  Retried at
 * once, the loop spun a core the writer and its ingest pool needed (two
 * cores in all on the machines this runs on). */
static void
queue_full(struct ledger *l)
{
	static const struct timespec pause = { 0, 200000 };	/* 200 us */

	ledger_drain(l);
	nanosleep(&pause, NULL);
}

/* Submits a signed note; a full queue is drained first. */
static void
submit(struct ledger *l, char *note, long *ok)
{
	if (note == NULL) {
		fprintf(stderr, "bench_fill: could not sign an entry\n");
		exit(1);
	}
	while (ledger_submit(l, note, strlen(note), done, ok) != 0)
		queue_full(l);
	free(note);
}

/* One device key registered by the admin and one certificate record for
 * it by the bridge; the serial goes to out. */
static void
fill_cert(struct ledger *l, struct signer *sg, EVP_PKEY *admin,
    EVP_PKEY_CTX *gen, const char *origin, const char *bridge_account, uint64_t *aseq, uint64_t *bseq, long i,
    FILE *out, FILE *rout, long *ok)
{
	struct ledger_field f[7];
	EVP_PKEY *k = NULL;
	unsigned char *der = NULL;
	char id[LEDGER_KEYID_LEN + 1], spki[256], name[32], nb[21], na[21],
	    serial[33], sha[65];
	uint8_t rnd[32];
	time_t now = time(NULL);
	int len;

	/* one context for every key: EVP_EC_gen fetches the algorithm and
	 * builds the group anew each time (twice the cost) */
	if (EVP_PKEY_keygen(gen, &k) != 1 ||
	    (len = i2d_PUBKEY(k, &der)) <= 0 ||
	    ledger_b64_encode(der, (size_t)len, spki, sizeof(spki)) != 0) {
		fprintf(stderr, "bench_fill: key generation failed\n");
		exit(1);
	}
	ledger_spki_key_id(der, (size_t)len, id);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	snprintf(name, sizeof(name), "fill-%06ld", i);
	ledger_time_format(now - 60, nb);
	ledger_time_format(now + 365 * 86400, na);
	f[0] = (struct ledger_field){ "key-id", id };
	f[1] = (struct ledger_field){ "spki", spki };
	f[2] = (struct ledger_field){ "name", name };
	f[3] = (struct ledger_field){ "profile", "device" };
	f[4] = (struct ledger_field){ "not-before", nb };
	f[5] = (struct ledger_field){ "not-after", na };
	submit(l, ledger_entry_sign(ledger_entry_body(LEDGER_KEY_REGISTER,
	    "admin", (*aseq)++, now, origin, f, 6), "admin", admin), ok);

	RAND_bytes(rnd, sizeof(rnd));
	rnd[0] &= 0x7f;			/* a positive serial, as issue.c */
	rnd[0] |= 0x10;			/* and 16 bytes long in hex */
	ledger_hex(rnd, 16, serial);
	ledger_hex(rnd, 32, sha);
	ledger_time_format(now, nb);
	ledger_time_format(now + 90 * 86400, na);
	f[0] = (struct ledger_field){ "serial", serial };
	f[1] = (struct ledger_field){ "issuer", signer_issuer_id(sg) };
	f[2] = (struct ledger_field){ "key-id", id };
	f[3] = (struct ledger_field){ "profile", "device" };
	f[4] = (struct ledger_field){ "not-before", nb };
	f[5] = (struct ledger_field){ "not-after", na };
	f[6] = (struct ledger_field){ "cert-sha256", sha };
	submit(l, signer_sign_entry(sg, ledger_entry_body(LEDGER_CERT_ISSUED,
	    bridge_account, (*bseq)++, now, origin, f, 7)), ok);
	fprintf(out, "%s\n", serial);
	if (rout == NULL)
		return;
	f[0] = (struct ledger_field){ "serial", serial };
	f[1] = (struct ledger_field){ "reason", "keyCompromise" };
	submit(l, signer_sign_entry(sg, ledger_entry_body(LEDGER_CERT_REVOKED,
	    bridge_account, (*bseq)++, now, origin, f, 2)), ok);
	fprintf(rout, "%s\n", serial);
}

/* N device keys and their certificates (every every-th revoked: 0,
 * none), their serials in DIR/fill-serials.txt and DIR/fill-revoked.txt.
 * 0, or -1 with the reason on stderr. */
static int
fill_certs(struct ledger *l, const struct bridge_config *cfg, EVP_PKEY *admin,
    const char *dir, long n, long every, uint64_t *seq, long *ok)
{
	char p1[PATH_MAX], err[512];
	uint64_t bseq;
	struct signer *sg = NULL;
	FILE *out = NULL, *rout = NULL;
	EVP_PKEY_CTX *gen = NULL;
	int rc = -1;

	snprintf(p1, sizeof(p1), "%s/fill-serials.txt", dir);
	if ((sg = signer_open(cfg, err, sizeof(err))) == NULL ||
	    (out = fopen(p1, "w")) == NULL) {
		fprintf(stderr, "bench_fill: %s\n", sg == NULL ? err :
		    "cannot write fill-serials.txt");
		goto out;
	}
	snprintf(p1, sizeof(p1), "%s/fill-revoked.txt", dir);
	if (every > 0 && (rout = fopen(p1, "w")) == NULL) {
		fprintf(stderr, "bench_fill: cannot write fill-revoked.txt\n");
		goto out;
	}
	/* one context for every key: EVP_EC_gen fetches the algorithm and
	 * builds the group anew each time (twice the cost) */
	if ((gen = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_keygen_init(gen) != 1 ||
	    EVP_PKEY_CTX_set_group_name(gen, "P-256") != 1) {
		fprintf(stderr, "bench_fill: no P-256 key generator\n");
		goto out;
	}
	bseq = ledger_next_seq(l, cfg->bridge_account);
	for (long i = 0; i < n; i++) {
		fill_cert(l, sg, admin, gen, cfg->origin, cfg->bridge_account,
		    seq, &bseq, i, out, every > 0 && i % every == 0 ? rout :
		    NULL, ok);
		if (i % 2048 == 0)
			ledger_drain(l);
		if (i > 0 && i % 20000 == 0)
			fprintf(stderr, "bench_fill: %ld of %ld keys and "
			    "certificates\n", i, n);
	}
	rc = 0;
out:
	if (out != NULL && fclose(out) != 0)
		rc = -1;
	if (rout != NULL && fclose(rout) != 0)
		rc = -1;
	signer_free(sg);
	EVP_PKEY_CTX_free(gen);
	return rc;
}

int
main(int argc, char **argv)
{
	struct bridge_config cfg;
	struct ledger_config lc;
	struct ledger_stats st;
	struct ledger *l;
	struct ledger_field f[3];
	EVP_PKEY *node, *admin;
	char err[512], p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX],
	    p4[PATH_MAX], hex[65], ver[32], *note;
	uint8_t rnd[32];
	uint64_t seq;
	long n, ok = 0, want, pct = 0, every = 0, nrev = 0;
	const char *e;
	int certs;

	if (argc < 3 || argc > 5 || (n = atol(argv[2])) < 1 ||
	    (argc >= 4 && strcmp(argv[3], "certs") != 0) ||
	    (argc == 5 && ((pct = atol(argv[4])) < 1 || pct > 100))) {
		fprintf(stderr, "usage: bench_fill DIR N [certs [REVOKED%%]]\n");
		return 1;
	}
	certs = argc >= 4;
	if (pct > 0) {
		every = 100 / pct;
		nrev = (n + every - 1) / every;
	}
	want = certs ? 2 * n + nrev : n;
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
	/* the status map's snapshot written at the close, as a serving
	 * bridge keeps one (serve.c): a bridge started on the filled ledger
	 * loads it instead of building the map (90 s at a million) */
	lc.map_snapshot = config_path(&cfg, MAP_SNAP_FILE, p4, sizeof(p4));
	if ((l = ledger_open(&lc, err, sizeof(err))) == NULL ||
	    ledger_writer_start(l, NULL, NULL) != 0) {
		fprintf(stderr, "bench_fill: %s\n", err);
		return 1;
	}
	seq = ledger_next_seq(l, "admin");
	if (certs) {
		if (fill_certs(l, &cfg, admin, argv[1], n, every, &seq, &ok) !=
		    0)
			return 1;
		n = 0;			/* skip the config entries */
	}
	for (long i = 0; i < n; i++) {
		RAND_bytes(rnd, sizeof(rnd));
		ledger_hex(rnd, sizeof(rnd), hex);
		snprintf(ver, sizeof(ver), "v%ld", i);
		f[0] = (struct ledger_field){ "group", "fill" };
		f[1] = (struct ledger_field){ "version", ver };
		f[2] = (struct ledger_field){ "sha256", hex };
		note = ledger_entry_sign(ledger_entry_body(LEDGER_CONFIG_PUBLISH,
		    "admin", seq++, time(NULL), cfg.origin, f, 3), "admin", admin);
		while (ledger_submit(l, note, strlen(note), done, &ok) != 0)
			queue_full(l);
		free(note);
		if (i % 4096 == 0)
			ledger_drain(l);
	}
	ledger_writer_stop(l);
	ledger_stats(l, &st);
	ledger_close(l);
	printf("appended %ld entries\n", ok);
	/* the writer's time and the status map's share of it; then the map
	 * made from the whole registry, as when a bridge starts */
	printf("stats entries %llu commit_seconds %.6f map_seconds %.6f "
	    "map_leaves %llu\n", (unsigned long long)st.entries,
	    st.commit_seconds_sum, st.map_seconds_sum,
	    (unsigned long long)st.map_leaves);
	lc.consensus = NULL;
	lc.map_snapshot = NULL;		/* built, not read: the figure */
	e = getenv("BENCH_FILL_MAP_BUILD");
	if (e == NULL || strcmp(e, "0") != 0) {
		if ((l = ledger_open(&lc, err, sizeof(err))) == NULL) {
			fprintf(stderr, "bench_fill: reopen: %s\n", err);
			return 1;
		}
		ledger_stats(l, &st);
		printf("map_build_seconds %.6f\n", st.map_build_seconds);
		ledger_close(l);
	}
	EVP_PKEY_free(node);
	EVP_PKEY_free(admin);
	return ok == want ? 0 : 1;
}
