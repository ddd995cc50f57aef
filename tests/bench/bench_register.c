/*
 * bench_register.c: prepares the EST enrollment benchmark on the data
 * directory of a STOPPED bridge.  Generates N ECDSA P-256 device keys,
 * writes one PKCS#10 CSR per key (subject CN=bench-i, SHA-256 signature) to
 * OUTDIR/csrs.txt as single-line base64 DER, one CSR per line, and registers
 * every key on the ledger (key-register, profile device, signed by
 * DIR/admin.key as account "admin") through the group-commit writer, the
 * same path the daemon uses (as bench_fill.c does).  Key generation and
 * signing are not what the benchmark times, so they happen here.
 *
 *   bench_register DIR N OUTDIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bridge/bridge.h"

#define REG_DAYS 30

static void
done(enum ledger_status st, const struct ledger_receipt *r, const char *why,
    void *arg)
{
	if (st != LEDGER_OK) {
		fprintf(stderr, "bench_register: refused: %s: %s\n",
		    ledger_status_code(st), why);
		exit(1);
	}
	(*(long *)arg)++;
}

/* A CSR for key with subject CN=cn, signed with SHA-256: its DER (malloc'd
 * by OpenSSL) and length, or -1. */
static int
make_csr(EVP_PKEY *key, const char *cn, uint8_t **der)
{
	X509_REQ *req;
	X509_NAME *subj;
	int len = -1;

	*der = NULL;
	if ((req = X509_REQ_new()) == NULL)
		return -1;
	subj = X509_REQ_get_subject_name(req);
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) == 1 &&
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) == 1 &&
	    X509_REQ_set_pubkey(req, key) == 1 &&
	    X509_REQ_sign(req, key, EVP_sha256()) > 0)
		len = i2d_X509_REQ(req, der);
	X509_REQ_free(req);
	return len;
}

int
main(int argc, char **argv)
{
	struct bridge_config cfg;
	struct ledger_config lc;
	struct ledger *l;
	struct ledger_field f[6];
	EVP_PKEY *node, *admin, *key;
	FILE *out;
	uint8_t *der;
	char err[512], p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX], path[PATH_MAX],
	    id[LEDGER_KEYID_LEN + 1], spki[512], csr[2048], name[32], nb[21],
	    na[21], *note;
	uint64_t seq;
	time_t now = time(NULL);
	long n, ok = 0;
	int len;

	if (argc != 4 || (n = atol(argv[2])) < 1) {
		fprintf(stderr, "usage: bench_register DIR N OUTDIR\n");
		return 1;
	}
	if (mkdir(argv[3], 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "bench_register: mkdir %s: %s\n", argv[3],
		    strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/csrs.txt", argv[3]);
	if ((out = fopen(path, "w")) == NULL) {
		fprintf(stderr, "bench_register: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	if (config_load(&cfg, argv[1], err, sizeof(err)) != 0 ||
	    (node = ledger_key_load(config_path(&cfg, cfg.validator_key, p1,
	    sizeof(p1)), err, sizeof(err))) == NULL ||
	    (admin = ledger_key_load(config_path(&cfg, cfg.admin_key, p2,
	    sizeof(p2)), err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_register: %s\n", err);
		return 1;
	}
	memset(&lc, 0, sizeof(lc));
	lc.db = config_path(&cfg, cfg.db, p3, sizeof(p3));
	lc.origin = cfg.origin;
	lc.consensus = ledger_consensus_solo_new(node, cfg.validator_name);
	lc.batch_max = 1024;
	if ((l = ledger_open(&lc, err, sizeof(err))) == NULL ||
	    ledger_writer_start(l, NULL, NULL) != 0) {
		fprintf(stderr, "bench_register: %s\n", err);
		return 1;
	}
	ledger_time_format(now - 60, nb);
	ledger_time_format(now + REG_DAYS * 86400, na);
	seq = ledger_next_seq(l, "admin");
	for (long i = 0; i < n; i++) {
		if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) ==
		    NULL) {
			fprintf(stderr, "bench_register: keygen failed\n");
			return 1;
		}
		snprintf(name, sizeof(name), "bench-%ld", i);
		/* The CSR, one base64 line of its DER. */
		if ((len = make_csr(key, name, &der)) <= 0 ||
		    ledger_b64_encode(der, (size_t)len, csr, sizeof(csr)) != 0) {
			fprintf(stderr, "bench_register: cannot make a CSR\n");
			return 1;
		}
		OPENSSL_free(der);
		fprintf(out, "%s\n", csr);
		/* The key's registration: id and base64 of the SPKI DER. */
		der = NULL;
		if ((len = i2d_PUBKEY(key, &der)) <= 0 ||
		    ledger_b64_encode(der, (size_t)len, spki, sizeof(spki)) != 0) {
			fprintf(stderr, "bench_register: cannot encode SPKI\n");
			return 1;
		}
		ledger_spki_key_id(der, (size_t)len, id);
		OPENSSL_free(der);
		EVP_PKEY_free(key);
		f[0] = (struct ledger_field){ "key-id", id };
		f[1] = (struct ledger_field){ "spki", spki };
		f[2] = (struct ledger_field){ "name", name };
		f[3] = (struct ledger_field){ "profile", "device" };
		f[4] = (struct ledger_field){ "not-before", nb };
		f[5] = (struct ledger_field){ "not-after", na };
		note = ledger_entry_sign(ledger_entry_body(LEDGER_KEY_REGISTER,
		    "admin", seq++, time(NULL), cfg.origin, f, 6), "admin", admin);
		if (note == NULL) {
			fprintf(stderr, "bench_register: cannot sign entry\n");
			return 1;
		}
		while (ledger_submit(l, note, strlen(note), done, &ok) != 0)
			ledger_drain(l);	/* queue full: wait */
		free(note);
		if (i % 1024 == 0)
			ledger_drain(l);
	}
	ledger_writer_stop(l);
	ledger_close(l);
	ledger_consensus_free(lc.consensus);
	if (fclose(out) != 0) {
		fprintf(stderr, "bench_register: %s: write failed\n", path);
		return 1;
	}
	printf("registered %ld keys; CSRs in %s\n", ok, path);
	EVP_PKEY_free(node);
	EVP_PKEY_free(admin);
	return ok == n ? 0 : 1;
}
