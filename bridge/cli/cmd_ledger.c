/*
 * cmd_ledger.c: `keybridge ledger verify|log|checkpoint`.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bridge/cli/cli.h"
#include "ledger/policy.h"

static void
verify_progress(uint64_t done, uint64_t total, void *arg)
{
	if (isatty(STDERR_FILENO) || done == total)
		fprintf(stderr, "verify: %llu of %llu entries replayed\n",
		    (unsigned long long)done, (unsigned long long)total);
}

/* KEYBRIDGE_VERIFY_THREADS: the threads that check signatures ahead of
 * the replay, 1 to VERIFY_THREADS_MAX (1: the replay alone); unset or
 * empty, one per online CPU (0).  0, or -1 told when it is not a count. */
#define VERIFY_THREADS_MAX 64
static int
verify_threads(unsigned *threads)
{
	const char *e = getenv("KEYBRIDGE_VERIFY_THREADS");
	char *end;
	unsigned long n;

	*threads = 0;
	if (e == NULL || e[0] == '\0')
		return 0;
	n = strtoul(e, &end, 10);
	if (*end != '\0' || e[0] == '-' || n < 1 ||
	    n > VERIFY_THREADS_MAX) {
		cli_fail("usage", "KEYBRIDGE_VERIFY_THREADS must be 1 to %d",
		    VERIFY_THREADS_MAX);
		return -1;
	}
	*threads = (unsigned)n;
	return 0;
}

/*
 * The published files' check (config_verify_blobs) beside the replay, on
 * a thread of its own with its report in a buffer: it reads the ledger
 * on its own connection and does not depend on the replay, and after the
 * replay it would leave one core idle (about a second for 100,000
 * entries).  Its report is printed where the serial path prints it, after
 * the kept certificates', and only when those hold.
 */
struct verify_blobs {
	struct cli *c;
	FILE *out;
	char *buf;
	size_t len;
	int rc, started;
	pthread_t th;
};

static void *
verify_blobs_run(void *arg)
{
	struct verify_blobs *b = arg;

	b->rc = config_verify_blobs(b->c, b->out);
	return NULL;
}

/* Starts the check on a thread when threads (0: the online CPUs) is
 * more than one; else, or when it cannot, verify_blobs_finish runs it. */
static void
verify_blobs_start(struct verify_blobs *b, struct cli *c, unsigned threads)
{
	memset(b, 0, sizeof(*b));
	b->c = c;
	if (threads == 0 && sysconf(_SC_NPROCESSORS_ONLN) > 1)
		threads = 2;
	if (threads < 2 || (b->out = open_memstream(&b->buf, &b->len)) ==
	    NULL)
		return;
	if (pthread_create(&b->th, NULL, verify_blobs_run, b) != 0) {
		fclose(b->out);
		free(b->buf);
		b->out = NULL;
		b->buf = NULL;
		return;
	}
	b->started = 1;
}

/* The check's result (config_verify_blobs'), its report printed when
 * print is set; without print only waits for it (the ledger is broken). */
static int
verify_blobs_finish(struct verify_blobs *b, int print)
{
	int rc;

	if (!b->started)
		return print ? config_verify_blobs(b->c, stdout) : 0;
	pthread_join(b->th, NULL);
	b->started = 0;
	fclose(b->out);
	if (print && b->len > 0)
		fwrite(b->buf, 1, b->len, stdout);
	free(b->buf);
	b->buf = NULL;
	rc = b->rc;
	return rc;
}

/* Seconds of the monotonic clock, for the phases' times. */
static double
verify_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Trusted checkpoints of one verify: --checkpoint, --receipt and the
 * remembered one. */
#define VERIFY_TRUSTED_MAX (2 * CLI_MAX_REPEAT + 1)
/* What to do when the remembered checkpoint cannot be read. */
#define VERIFY_TRUST_HINT "(the checkpoint remembered by serve and " \
	"verify: restore it from a copy, or move it away and verify with " \
	"--checkpoint FILE of a checkpoint you trust; verify then remembers " \
	"that one)"

struct verify_trust {
	struct ledger_trusted t[VERIFY_TRUSTED_MAX];
	char note[VERIFY_TRUSTED_MAX][TRUST_NOTE_MAX];
	size_t n;
	int remembered;			/* t[] index of the remembered one, -1 */
};

/* Adds the checkpoint note in file path.  0, or 1 after a message. */
static int
verify_add_checkpoint(struct verify_trust *vt, const char *path)
{
	struct ledger_trusted *t = &vt->t[vt->n];
	char err[PATH_MAX + 128];
	int r = trust_read(path, vt->note[vt->n], TRUST_NOTE_MAX, err,
	    sizeof(err));

	if (r == 1)
		return cli_fail("checkpoint", "%s: no such file", path);
	if (r != 0)
		return cli_fail("checkpoint", "%s", err);
	t->source = path;
	t->note = vt->note[vt->n++];
	return 0;
}

/* Adds the receipt in file path: the JSON `--json` prints after a write,
 * {"index", "leaf_hash", "tree_size", "checkpoint"}.  0, or 1 after a
 * message. */
static int
verify_add_receipt(struct verify_trust *vt, const char *path)
{
	struct ledger_trusted *t = &vt->t[vt->n];
	json_error_t jerr;
	json_t *j;
	json_int_t index, size;
	const char *leaf, *cp;
	int rc = 1;

	if ((j = json_load_file(path, 0, &jerr)) == NULL)
		return cli_fail("receipt", "%s: %s", path, jerr.text);
	if (json_unpack(j, "{s:I, s:s, s:I, s:s}", "index", &index,
	    "leaf_hash", &leaf, "tree_size", &size, "checkpoint", &cp) != 0 ||
	    index < 0 || size < 0 ||
	    ledger_unhex(leaf, t->leaf_hash, LEDGER_HASH_LEN) != 0 ||
	    strlen(leaf) != 2 * LEDGER_HASH_LEN ||
	    strlen(cp) >= TRUST_NOTE_MAX) {
		rc = cli_fail("receipt", "%s: not a receipt ({\"index\": N, "
		    "\"leaf_hash\": 64 hex digits, \"tree_size\": N, "
		    "\"checkpoint\": the signed note}, as --json prints it)",
		    path);
		goto out;
	}
	snprintf(vt->note[vt->n], TRUST_NOTE_MAX, "%s", cp);
	t->source = path;
	t->note = vt->note[vt->n++];
	t->receipt = 1;
	t->index = (uint64_t)index;
	t->tree_size = (uint64_t)size;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* 1 when verify reads the data directory's own database (no --db, or
 * --db naming the configured one): only that one's checkpoint is
 * remembered in DIR. */
static int
verify_db_is_dirs(struct cli *c, const char *db)
{
	struct bridge_config *conf;
	char err[512], p[PATH_MAX];
	int same = 0;

	if (c->o.db == NULL)
		return 1;
	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return 0;
	if (config_load(conf, c->o.dir, err, sizeof(err)) == 0)
		same = strcmp(config_path(conf, conf->db, p, sizeof(p)),
		    db) == 0;
	free(conf);
	return same;
}

/* After a verify that held: DIR/checkpoint.trusted advances to the
 * verified tree, unless serve replaced it meanwhile (with a later one). */
static void
verify_remember(const char *path, const struct verify_trust *vt,
    const struct ledger_verify_report *rep)
{
	char now[TRUST_NOTE_MAX], err[PATH_MAX + 128];
	const char *before = vt->remembered >= 0 ?
	    vt->note[vt->remembered] : NULL;
	int r = trust_read(path, now, sizeof(now), err, sizeof(err));

	if (before != NULL && strcmp(before, rep->checkpoint) == 0)
		return;
	if (r < 0 || (r == 1) != (before == NULL) ||
	    (before != NULL && strcmp(now, before) != 0))
		return;
	if (trust_write(path, rep->checkpoint, err, sizeof(err)) != 0)
		fprintf(stderr, "keybridge: warning: cannot remember the "
		    "verified checkpoint: %s\n", err);
	else
		fprintf(stderr, "verify: %s now holds the checkpoint of tree "
		    "size %llu\n", path, (unsigned long long)rep->entries);
}

/* The certificates kept beside the ledger: each its entry's TBS, signed
 * by the issuing CA of the configuration (ledger_verify_certs).  0 when
 * they hold (printing how many), 1 when one does not (printed), -1 when
 * they cannot be read. */
static int
verify_kept_certs(struct cli *c, const char *db, unsigned threads)
{
	struct ledger_verify_report rep;
	struct ca_issuer_files f[CA_ISSUERS_MAX];
	char path[PATH_MAX], err[512];
	uint64_t n = 0;
	X509 *iss[CA_ISSUERS_MAX];
	size_t niss = 0, nf = 0;
	FILE *fp;
	int rc = -1;

	/* Every issuing CA of the data directory (issue 17: those rolled
	 * over from too).  Without them (an auditor's copy of the
	 * database), the TBS is still compared; the signatures are not. */
	if (ca_issuers_scan(&c->cfg, f, CA_ISSUERS_MAX, &nf, err,
	    sizeof(err)) != 0)
		fprintf(stderr, "keybridge: warning: %s\n", err);
	for (size_t i = 0; i < nf; i++)
		if ((fp = fopen(config_path(&c->cfg, f[i].cert, path,
		    sizeof(path)), "r")) != NULL) {
			if ((iss[niss] = PEM_read_X509(fp, NULL, NULL,
			    NULL)) != NULL)
				niss++;
			fclose(fp);
		}
	/* All or none: a certificate of an issuer left out would read as
	 * "names an issuer not given to verify". */
	if (niss != nf) {
		if (niss > 0)
			fprintf(stderr, "keybridge: warning: cannot read every "
			    "issuing CA certificate of %s: the certificates' "
			    "signatures are not checked\n", c->cfg.dir);
		for (size_t i = 0; i < niss; i++)
			X509_free(iss[i]);
		niss = 0;
	}
	if (ledger_verify_certs(db, iss, niss, threads, &rep, &n) != 0) {
		cli_fail("verify", "%s", rep.what);
		goto out;
	}
	if (!rep.ok) {
		printf("ledger BROKEN at entry %lld: %s\n",
		    (long long)rep.bad_index, rep.what);
		rc = 1;
		goto out;
	}
	printf("%llu kept certificate%s: each its entry's TBS%s\n",
	    (unsigned long long)n, n == 1 ? "" : "s", niss > 1 ?
	    ", signed by its issuing CA" : niss == 1 ?
	    ", signed by the issuing CA" : " (no issuing CA to check the "
	    "signatures)");
	rc = 0;
out:
	for (size_t i = 0; i < niss; i++)
		X509_free(iss[i]);
	return rc;
}

/* The policy verify checks the checkpoints' cosignatures against:
 * --policy FILE, else the validators of keybridge.conf; *have 0 when
 * there is none (solo).  The log key is --vkey's when given (it must
 * then be the policy file's).  0, or 1 after a message. */
static int
verify_policy_load(struct cli *c, const char *vkey, struct ledger_policy *p,
    int *have)
{
	char why[512], *text = NULL;
	size_t len;
	FILE *fp = NULL;
	int rc = 1;

	*have = 0;
	if (c->o.policy == NULL) {
		if (c->cfg.nvalidators == 0)
			return 0;
		if (cli_config_policy(&c->cfg, vkey, p, why, sizeof(why)) != 0)
			return cli_fail("config", "%s", why);
		*have = 1;
		return 0;
	}
	if ((text = malloc(LEDGER_POLICY_TEXT_MAX + 1)) == NULL)
		return cli_fail("policy", "out of memory");
	if ((fp = fopen(c->o.policy, "r")) == NULL) {
		cli_fail("policy", "cannot read %s: %s", c->o.policy,
		    strerror(errno));
		goto out;
	}
	len = fread(text, 1, LEDGER_POLICY_TEXT_MAX + 1, fp);
	if (ferror(fp) || len > LEDGER_POLICY_TEXT_MAX) {
		cli_fail("policy", "%s: %s", c->o.policy, ferror(fp) ?
		    "read error" : "longer than the largest policy");
		goto out;
	}
	if (ledger_policy_parse(text, len, p, why, sizeof(why)) != 0) {
		cli_fail("policy", "%s: %s", c->o.policy, why);
		goto out;
	}
	*have = 1;
	if (c->o.vkey != NULL && strcmp(c->o.vkey, p->log_vkey) != 0) {
		cli_fail("policy", "%s: its log key is not --vkey's",
		    c->o.policy);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && *have)
		ledger_policy_clear(p);
	if (rc != 0)
		*have = 0;
	if (fp != NULL)
		fclose(fp);
	free(text);
	return rc;
}

/* The checkpoints verify trusts, into vt: --checkpoint, --receipt, and
 * when *remember (set here: verify reads DIR's own database) the one
 * remembered at path (trust_path).  0, or 1 after a message. */
static int
verify_trust_load(struct cli *c, struct verify_trust *vt, const char *db,
    char *path, size_t pathlen, int *remember)
{
	char err[PATH_MAX + 128];
	int r;

	*remember = 0;
	vt->remembered = -1;
	for (int i = 0; i < c->o.ncheckpoint; i++)
		if (verify_add_checkpoint(vt, c->o.checkpoint[i]) != 0)
			return 1;
	for (int i = 0; i < c->o.nreceipt; i++)
		if (verify_add_receipt(vt, c->o.receipt[i]) != 0)
			return 1;
	/* Read before the database: serve writes it only after a commit,
	 * so it never runs ahead of the snapshot verify reads. */
	*remember = !c->o.no_remember && verify_db_is_dirs(c, db);
	trust_path(&c->cfg, path, pathlen);
	if (*remember && (r = trust_read(path, vt->note[vt->n],
	    TRUST_NOTE_MAX, err, sizeof(err))) != 1) {
		if (r < 0)
			return cli_fail("trusted_checkpoint", "%s %s", err,
			    VERIFY_TRUST_HINT);
		vt->t[vt->n].source = path;
		vt->t[vt->n].note = vt->note[vt->n];
		vt->remembered = (int)vt->n++;
	}
	return 0;
}

/* The report of a ledger that does not hold (rep.ok 0); path is the
 * remembered checkpoint's file. */
static void
verify_print_broken(const struct ledger_verify_report *rep,
    const struct verify_trust *vt, const char *path)
{
	if (rep->bad_index >= 0)
		printf("ledger BROKEN at entry %lld (block %lld): %s\n",
		    (long long)rep->bad_index, (long long)rep->bad_block,
		    rep->what);
	else
		printf("ledger BROKEN: %s\n", rep->what);
	if (rep->bad_trusted >= 0 && rep->bad_trusted == vt->remembered)
		fprintf(stderr, "keybridge: %s is the checkpoint this "
		    "ledger was last seen at (by serve or verify); if "
		    "the database was restored from a backup on "
		    "purpose, move it away once you have checked the "
		    "ledger otherwise\n", path);
}

/* The line of a ledger that holds: its size, the trusted checkpoints it
 * extends, and with a policy (pol, or NULL) its final checkpoints. */
static void
verify_print_ok(const struct cli *c, const struct ledger_verify_report *rep,
    const struct verify_trust *vt, const struct ledger_policy *pol)
{
	printf("ledger OK: %llu entries in %llu blocks replayed; every "
	    "signature, rule, root and checkpoint holds and the registry "
	    "matches", (unsigned long long)rep->entries,
	    (unsigned long long)rep->blocks);
	if (vt->n > 0)
		printf("; it extends %zu trusted checkpoint%s", vt->n,
		    vt->n == 1 ? "" : "s");
	if (rep->unsigned_blocks > 0)
		printf("; %llu block%s committed but not signed yet",
		    (unsigned long long)rep->unsigned_blocks,
		    rep->unsigned_blocks == 1 ? " is" : "s are");
	if (pol != NULL && pol->ncosigners > 0)
		printf("; %llu checkpoint%s final, with a quorum of %zu of the "
		    "%zu cosigners of %s, the first after %llu signed by the "
		    "node alone", (unsigned long long)rep->final_blocks,
		    rep->final_blocks == 1 ? " is" : "s are", pol->quorum,
		    pol->ncosigners, c->o.policy != NULL ? c->o.policy :
		    "keybridge.conf", (unsigned long long)rep->solo_blocks);
	putchar('\n');
}

/* Replays the ledger at db with vkey (and pol, or NULL) against vt's
 * checkpoints into *rep, then checks the kept certificates and waits for
 * blobs' files.  0 when it all holds, 1 after a message or a report. */
static int
verify_run(struct cli *c, const char *db, const char *vkey,
    const struct ledger_policy *pol, struct verify_trust *vt,
    const char *path, unsigned threads, struct verify_blobs *blobs,
    struct ledger_verify_report *rep)
{
	double t[4];

	t[0] = verify_clock();
	verify_blobs_start(blobs, c, threads);
	if (ledger_verify_threads(db, vkey, pol, vt->t, vt->n, threads, rep,
	    verify_progress, NULL) != 0) {
		if (rep->bad_trusted >= 0 && rep->bad_trusted == vt->remembered)
			return cli_fail("trusted_checkpoint", "%s %s",
			    rep->what, VERIFY_TRUST_HINT);
		return cli_fail(rep->bad_trusted >= 0 ? "checkpoint" :
		    "verify", "%s", rep->what);
	}
	if (getenv("KEYBRIDGE_VERIFY_THREADS") != NULL)
		fprintf(stderr, "verify: signatures of %llu entries checked "
		    "ahead by worker threads, %llu by the replay\n",
		    (unsigned long long)rep->sigs_ahead,
		    (unsigned long long)rep->sigs_here);
	if (!rep->ok) {
		verify_print_broken(rep, vt, path);
		return 1;
	}
	t[1] = verify_clock();
	if (verify_kept_certs(c, db, threads) != 0)
		return 1;
	t[2] = verify_clock();
	if (verify_blobs_finish(blobs, 1) != 0)
		return 1;
	t[3] = verify_clock();
	/* The phases' times, for the benchmark (tests/bench/verify.sh);
	 * the files' is the wait for them after the certificates. */
	if (getenv("KEYBRIDGE_VERIFY_THREADS") != NULL)
		fprintf(stderr, "verify: replay %.3f s, kept certificates %.3f "
		    "s, published files %.3f s more\n", t[1] - t[0],
		    t[2] - t[1], t[3] - t[2]);
	return 0;
}

/* Replays the whole ledger and checks it against the trusted checkpoints;
 * exit 0 when it all holds, 1 at the first broken point, named by entry
 * index and block, or by the checkpoint it breaks. */
static int
ledger_cmd_verify(struct cli *c)
{
	struct ledger_verify_report rep;
	struct verify_trust *vt = NULL;
	struct ledger_policy *pol = NULL;
	const char *vkey = c->o.vkey != NULL ? c->o.vkey :
	    c->cfg.validator_vkey;
	char db[PATH_MAX], path[PATH_MAX + 32];
	int remember = 0, rc = 1, have_policy = 0;
	unsigned threads;
	struct verify_blobs blobs = { .started = 0 };

	if (cli_only(c, "vkey db json checkpoint receipt no-remember "
	    "policy") != 0 || verify_threads(&threads) != 0)
		return 1;
	if ((pol = calloc(1, sizeof(*pol))) == NULL)
		return cli_fail("verify", "out of memory");
	if (verify_policy_load(c, c->o.vkey != NULL ? c->o.vkey :
	    c->o.policy != NULL ? NULL : vkey, pol, &have_policy) != 0)
		goto out;
	if (have_policy)
		vkey = pol->log_vkey;
	config_path(&c->cfg, c->cfg.db, db, sizeof(db));
	if (!ledger_db_is_postgres(db) && access(db, R_OK) != 0) {
		cli_fail("verify", "cannot read %s", db);
		goto out;
	}
	if ((vt = calloc(1, sizeof(*vt))) == NULL) {
		cli_fail("verify", "out of memory");
		goto out;
	}
	if (verify_trust_load(c, vt, db, path, sizeof(path), &remember) != 0 ||
	    verify_run(c, db, vkey, have_policy ? pol : NULL, vt, path,
	    threads, &blobs, &rep) != 0)
		goto out;
	verify_print_ok(c, &rep, vt, have_policy ? pol : NULL);
	if (remember)
		verify_remember(path, vt, &rep);
	rc = 0;
out:
	if (blobs.started)
		verify_blobs_finish(&blobs, 0);
	if (have_policy)
		ledger_policy_clear(pol);
	free(pol);
	free(vt);
	return rc;
}

/* See cli.h. */
int
cli_ledger_verify(struct cli *c)
{
	return ledger_cmd_verify(c);
}

static int
log_entry(const struct ledger_entry_info *e, void *arg)
{
	struct cli *c = arg;
	char t[21], hex[LEDGER_HASH_LEN * 2 + 1];

	ledger_time_format(e->ledger_time, t);
	ledger_hex(e->leaf_hash, LEDGER_HASH_LEN, hex);
	if (c->json) {
		json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:s, "
		    "s:s%}", "index", (json_int_t)e->index, "block",
		    (json_int_t)e->block, "ledger_time", t, "type",
		    ledger_entry_type_name(e->type), "account", e->account,
		    "seq", (json_int_t)e->seq, "leaf_hash", hex, "entry",
		    e->text, e->len);

		if (j != NULL) {
			json_dumpf(j, stdout, JSON_COMPACT);
			putchar('\n');
		}
		json_decref(j);
		return 0;
	}
	printf("%6llu  %s  block %-6llu %-15s %s seq %llu\n",
	    (unsigned long long)e->index, t, (unsigned long long)e->block,
	    ledger_entry_type_name(e->type), e->account,
	    (unsigned long long)e->seq);
	return 0;
}

int
cmd_ledger(struct cli *c, const char *sub)
{
	struct ledger *l;
	char cp[LEDGER_NOTE_MAX], *end;
	unsigned long long from = 0, limit = 100;
	int rc = 1;

	if (cli_load_config(c) != 0)
		return 1;
	c->cmd = "ledger";
	if (strcmp(sub, "verify") == 0)
		return ledger_cmd_verify(c);
	if (strcmp(sub, "log") == 0) {
		if (cli_only(c, "json from limit db") != 0)
			return 1;
		if (c->o.from != NULL && ((from = strtoull(c->o.from, &end,
		    10)), *end != '\0' || c->o.from[0] == '-'))
			return cli_fail("usage", "--from must be an index");
		if (c->o.limit != NULL && ((limit = strtoull(c->o.limit, &end,
		    10)), *end != '\0' || limit < 1 ||
		    limit > LEDGER_LIST_MAX))
			return cli_fail("usage", "--limit must be 1 to %d",
			    LEDGER_LIST_MAX);
		if ((l = cli_ledger_open(c, 0)) == NULL)
			return 1;
		rc = ledger_entries(l, from, (size_t)limit, log_entry, c) == 0 ?
		    0 : cli_fail("ledger", "cannot read the log");
		cli_ledger_close(c, l);
		return rc;
	}
	if (strcmp(sub, "checkpoint") == 0) {
		if (cli_only(c, "db") != 0 ||
		    (l = cli_ledger_open(c, 0)) == NULL)
			return 1;
		if (ledger_checkpoint(l, cp, sizeof(cp), NULL) == 0) {
			fputs(cp, stdout);
			rc = 0;
		} else
			rc = cli_fail("empty_ledger", "the ledger is empty");
		cli_ledger_close(c, l);
		return rc;
	}
	return cli_fail("usage", "ledger verify|log|checkpoint");
}
