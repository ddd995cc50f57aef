/*
 * cli.c: what the admin commands share: the config, the signing keys and
 * the one path by which an entry reaches the ledger.
 *
 * A writing command builds the entry body, signs it with every --account
 * key and then either POSTs it to the running bridge (which holds the data
 * directory's lock) or, when no bridge runs, appends it to the data
 * directory itself while holding that lock.  Both paths end in the same
 * ledger rules (ledger_rules_apply), so they accept and refuse alike.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bridge/cli/cli.h"

/*
 * Another client of the same account took our seq (bad_sequence): sign
 * again with a fresh one (above the account's next as the bridge says it
 * and above the one refused: the bridge's view lags its queued entries)
 * after a jittered exponential backoff (full jitter: a random wait in
 * [CLI_BACKOFF_MIN_MS, min(CLI_BACKOFF_MAX_MS, CLI_BACKOFF_MIN_MS << (n +
 * 1))] before the n-th retry, 0-based), so that writers that collided do
 * not collide again at once: 32 attempts, at most about 25 s of waiting.
 * Eight writers on one account (tests/integration/test_cli_writers.sh):
 * 0 of 480 writes failed; with the 5 immediate retries from the bridge's
 * view this replaces, 60 of 240.
 */
#define CLI_SEQ_RETRIES		32
#define CLI_BACKOFF_MIN_MS	5
#define CLI_BACKOFF_MAX_MS	1000
/* A bridge that holds the data directory's lock but does not listen yet
 * (starting: its key process, the ledger, the OCSP signatures come
 * first): a writing command waits for it this long (--wait SECONDS,
 * KEYBRIDGE_WAIT), polling its port. */
#define CLI_WAIT_DEFAULT_S	10
#define CLI_WAIT_MAX_S		3600
#define CLI_WAIT_POLL_MS	100
#define CLI_WAIT_ENV		"KEYBRIDGE_WAIT"

int
cli_fail(const char *code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "keybridge: %s: ", code);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
cli_load_config(struct cli *c)
{
	char err[512];

	if (c->help)
		return 0;	/* cli_only prints the usage next */
	if (c->o.dir == NULL)
		return cli_fail("usage", "%s needs -d DIR (the data directory)",
		    c->cmd);
	if (config_load(&c->cfg, c->o.dir, err, sizeof(err)) != 0)
		return cli_fail("config", "%s", err);
	c->have_dir = 1;
	if (c->o.est_listen != NULL)
		snprintf(c->cfg.est_listen, sizeof(c->cfg.est_listen), "%s",
		    c->o.est_listen);
	if (c->o.http_listen != NULL)
		snprintf(c->cfg.http_listen, sizeof(c->cfg.http_listen), "%s",
		    c->o.http_listen);
	if (c->o.db != NULL)
		snprintf(c->cfg.db, sizeof(c->cfg.db), "%s", c->o.db);
	if (c->o.log_level == NULL &&
	    (log_verbosity = log_level_parse(c->cfg.log_level)) < 0)
		log_verbosity = LOGL_INFO;
	return 0;
}

/* Opens the ledger of the data directory; writable (with the validator
 * key) or read-only.  NULL after a message. */
struct ledger *
cli_ledger_open(struct cli *c, int writable)
{
	struct ledger_config lc;
	struct ledger *l;
	char err[512], p2[PATH_MAX];

	memset(&lc, 0, sizeof(lc));
	if (writable && (c->vkey = ca_key_load(&c->cfg, c->cfg.validator_key,
	    "validator key", err, sizeof(err))) == NULL) {
		cli_fail("key", "%s", err);
		return NULL;
	}
	if (writable && (c->cons = ledger_consensus_solo_new(c->vkey,
	    c->cfg.validator_name)) == NULL) {
		cli_fail("key", "validator key: unusable for signing");
		return NULL;
	}
	lc.db = config_path(&c->cfg, c->cfg.db, p2, sizeof(p2));
	lc.origin = c->cfg.origin;
	lc.consensus = c->cons;
	lc.batch_max = 1;
	lc.allow_async_commit = c->cfg.db_allow_async_commit != 0;
	if ((l = ledger_open(&lc, err, sizeof(err))) == NULL)
		cli_fail("ledger", "%s", err);
	return l;
}

void
cli_ledger_close(struct cli *c, struct ledger *l)
{
	ledger_close(l);
	ledger_consensus_free(c->cons);
	c->cons = NULL;
	EVP_PKEY_free(c->vkey);
	c->vkey = NULL;
}

/* Loads the --account keys (default: the config's admin key). */
static int
cli_signers(struct cli *c, EVP_PKEY **keys, int *n)
{
	char err[512], path[PATH_MAX];

	*n = 0;
	if (c->nkeyfiles == 0) {
		c->keyfiles[0] = config_path(&c->cfg, c->cfg.admin_key, c->admin,
		    sizeof(c->admin));
		c->nkeyfiles = 1;
	}
	for (int i = 0; i < c->nkeyfiles; i++) {
		snprintf(path, sizeof(path), "%s", c->keyfiles[i]);
		if ((keys[i] = ledger_key_load(path, err, sizeof(err))) ==
		    NULL) {
			while (--i >= 0)
				EVP_PKEY_free(keys[i]);
			return cli_fail("key", "%s", err);
		}
		*n = i + 1;
	}
	return 0;
}

/* Builds and signs the entry with seq. */
static char *
cli_build(struct cli *c, enum ledger_entry_type type, uint64_t seq,
    const struct ledger_field *f, size_t nf, EVP_PKEY **keys, int nkeys)
{
	/* The data directory's origin: a running bridge (--remote) serves
	 * the same directory, so it is its ledger's origin too. */
	char *note = ledger_entry_body(type, c->as, seq, time(NULL),
	    c->cfg.origin, f, nf);

	for (int i = 0; i < nkeys && note != NULL; i++)
		note = ledger_entry_sign(note, c->as, keys[i]);
	return note;
}

/* Offline: append directly to the data directory (lock held). */
static int
cli_submit_local(struct cli *c, enum ledger_entry_type type,
    const struct ledger_field *f, size_t nf, EVP_PKEY **keys, int nkeys,
    struct ledger_receipt *r)
{
	struct ledger *l;
	enum ledger_status st;
	char why[512], *note;
	int rc = 1;

	if ((l = cli_ledger_open(c, 1)) == NULL)
		return 1;
	if ((note = cli_build(c, type, ledger_next_seq(l, c->as), f, nf, keys,
	    nkeys)) == NULL) {
		rc = cli_fail("sign", "cannot sign the entry");
		goto out;
	}
	st = ledger_append(l, note, strlen(note), r, why, sizeof(why));
	if (st != LEDGER_OK)
		rc = cli_fail(ledger_status_code(st), "%s", why);
	else
		rc = 0;
out:
	free(note);
	cli_ledger_close(c, l);
	return rc;
}

/* Reads a JSON error answer {"error":{"code","message"}} into a message. */
static int
cli_api_error(const struct client_response *resp)
{
	json_t *j = json_loads(resp->body, 0, NULL);
	const char *code = NULL, *msg = NULL;
	int rc;

	if (j != NULL)
		json_unpack(json_object_get(j, "error"), "{s:s, s:s}", "code",
		    &code, "message", &msg);
	rc = cli_fail(code != NULL ? code : "http", "%s (HTTP %d)",
	    msg != NULL ? msg : "unexpected answer from the bridge",
	    resp->status);
	json_decref(j);
	return rc;
}

/* GETs a JSON document from the running bridge; NULL after a message. */
json_t *
cli_api_get(struct cli *c, const char *path, int *status)
{
	struct client_response resp;
	char err[512], ca[PATH_MAX];
	json_t *j = NULL;

	struct client_req q = { c->cfg.public_https_url, config_path(&c->cfg,
	    c->cfg.ca_root, ca, sizeof(ca)), c->cfg.api_token, "GET", path,
	    NULL, NULL, 0 };

	memset(&resp, 0, sizeof(resp));
	if (client_send(&q, &resp, err, sizeof(err)) != 0) {
		cli_fail("unavailable", "%s", err);
		return NULL;
	}
	*status = resp.status;
	if (resp.status != 200)
		cli_api_error(&resp);
	else if ((j = json_loads(resp.body, 0, NULL)) == NULL)
		cli_fail("http", "the bridge answered something not JSON");
	free(resp.body);
	return j;
}

/* Sleeps ms milliseconds. */
static void
cli_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The backoff before retry `attempt` (0-based), see CLI_SEQ_RETRIES. */
static void
cli_backoff(int attempt)
{
	long cap = CLI_BACKOFF_MAX_MS;
	uint32_t r = 0;

	if (attempt < 16 && ((long)CLI_BACKOFF_MIN_MS << (attempt + 1)) < cap)
		cap = (long)CLI_BACKOFF_MIN_MS << (attempt + 1);
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)getpid() * 2654435761u + (uint32_t)attempt;
	cli_sleep_ms(CLI_BACKOFF_MIN_MS + (long)(r % (uint32_t)(cap -
	    CLI_BACKOFF_MIN_MS + 1)));
}

/* Milliseconds of the monotonic clock. */
static long long
cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long to wait for a starting bridge: --wait, else KEYBRIDGE_WAIT,
 * else CLI_WAIT_DEFAULT_S.  0, or 1 after a message (not a whole number
 * of seconds in [0, CLI_WAIT_MAX_S]). */
static int
cli_wait_seconds(const struct cli *c, long *secs)
{
	const char *v = c->o.wait != NULL ? c->o.wait : getenv(CLI_WAIT_ENV);
	char *end;

	*secs = CLI_WAIT_DEFAULT_S;
	if (v == NULL)
		return 0;
	errno = 0;
	*secs = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || *secs < 0 ||
	    *secs > CLI_WAIT_MAX_S)
		return cli_fail("usage", "%s must be seconds, 0 to %d: %s",
		    c->o.wait != NULL ? "--wait" : CLI_WAIT_ENV, CLI_WAIT_MAX_S,
		    v);
	return 0;
}

/*
 * The bridge holds the data directory's lock; a starting one does not
 * listen yet.  Waits, saying so once on stderr, until its HTTPS port
 * takes connections or the wait is over.  0 (it listens, or the port
 * says something other than "refused": the request will tell), or 1
 * after a message.
 */
static int
cli_wait_bridge(struct cli *c)
{
	const char *url = c->cfg.public_https_url;
	long long start = cli_now_ms();
	long secs;
	int told = 0;

	if (cli_wait_seconds(c, &secs) != 0)
		return 1;
	while (client_reachable(url) == ECONNREFUSED) {
		if (cli_now_ms() - start >= (long long)secs * 1000)
			return cli_fail("unavailable", "the bridge of %s holds "
			    "its lock but did not listen on %s within %ld s "
			    "(--wait SECONDS or %s to wait longer)",
			    c->cfg.dir, url, secs, CLI_WAIT_ENV);
		if (!told) {
			fprintf(stderr, "keybridge: the bridge of %s is "
			    "starting (it holds keybridge.lock, %s does not "
			    "listen yet): waiting up to %ld s\n", c->cfg.dir,
			    url, secs);
			told = 1;
		}
		cli_sleep_ms(CLI_WAIT_POLL_MS);
	}
	if (told)
		fprintf(stderr, "keybridge: the bridge listens after %.1f s\n",
		    (double)(cli_now_ms() - start) / 1000);
	return 0;
}

/* Online: through POST /api/v1/entries of the running bridge. */
static int
cli_submit_remote(struct cli *c, enum ledger_entry_type type,
    const struct ledger_field *f, size_t nf, EVP_PKEY **keys, int nkeys,
    struct ledger_receipt *r)
{
	struct client_response resp;
	char err[512], ca[PATH_MAX], path[256], *note = NULL;
	const char *code = NULL, *leaf = NULL, *cp = NULL;
	json_t *j = NULL, *acct;
	json_int_t next = 0, index = 0, size = 0;
	uint64_t seq, refused = 0;
	int status, rc = 1;

	memset(&resp, 0, sizeof(resp));
	config_path(&c->cfg, c->cfg.ca_root, ca, sizeof(ca));
	for (int attempt = 0; attempt < CLI_SEQ_RETRIES; attempt++) {
		if (attempt > 0)
			cli_backoff(attempt - 1);
		snprintf(path, sizeof(path), "/api/v1/accounts/%s", c->as);
		if ((acct = cli_api_get(c, path, &status)) == NULL)
			goto out;
		if (json_unpack(acct, "{s:I}", "next_seq", &next) != 0) {
			json_decref(acct);
			rc = cli_fail("http", "account answer without "
			    "next_seq");
			goto out;
		}
		json_decref(acct);
		/* fresh: above the one refused, whatever the view says */
		seq = (uint64_t)next > refused ? (uint64_t)next : refused + 1;
		free(note);
		if ((note = cli_build(c, type, seq, f, nf, keys,
		    nkeys)) == NULL) {
			rc = cli_fail("sign", "cannot sign the entry");
			goto out;
		}
		free(resp.body);
		memset(&resp, 0, sizeof(resp));
		/* the API checks names too (api_names.c) */
		if (client_request(c->cfg.public_https_url, ca, "POST",
		    c->o.allow_same_name ? "/api/v1/entries?allow_same_name=1" :
		    "/api/v1/entries", "text/plain", note, strlen(note), &resp,
		    err, sizeof(err)) != 0) {
			rc = cli_fail("unavailable", "%s", err);
			goto out;
		}
		json_decref(j);
		j = json_loads(resp.body, 0, NULL);
		code = NULL;
		if (resp.status != 201 && j != NULL)
			json_unpack(json_object_get(j, "error"), "{s:s}", "code",
			    &code);
		/* Another client of the same account took this seq. */
		if (code == NULL || strcmp(code, "bad_sequence") != 0)
			break;
		refused = seq;
	}
	if (resp.status != 201) {
		rc = cli_api_error(&resp);
		goto out;
	}
	if (j == NULL || json_unpack(j, "{s:I, s:s, s:I, s:s}", "index", &index,
	    "leaf_hash", &leaf, "tree_size", &size, "checkpoint", &cp) != 0 ||
	    ledger_unhex(leaf, r->leaf_hash, LEDGER_HASH_LEN) != 0) {
		rc = cli_fail("http", "the bridge answered a malformed receipt");
		goto out;
	}
	r->index = (uint64_t)index;
	r->tree_size = (uint64_t)size;
	snprintf(r->checkpoint, sizeof(r->checkpoint), "%s", cp);
	rc = 0;
out:
	json_decref(j);
	free(resp.body);
	free(note);
	return rc;
}

int
cli_submit(struct cli *c, enum ledger_entry_type type,
    const struct ledger_field *f, size_t nf, struct ledger_receipt *r)
{
	EVP_PKEY *keys[CLI_MAX_KEYS] = { NULL };
	int nkeys = 0, lockfd = -1, locked, rc = 1;

	memset(r, 0, sizeof(*r));
	if (cli_signers(c, keys, &nkeys) != 0)
		return 1;
	locked = config_lock(&c->cfg, &lockfd);
	if (locked < 0)
		rc = cli_fail("lock", "cannot lock %s/keybridge.lock", c->cfg.dir);
	else if (locked == 1)
		rc = cli_wait_bridge(c) != 0 ? 1 :
		    cli_submit_remote(c, type, f, nf, keys, nkeys, r);
	else if (c->remote)
		rc = cli_fail("unavailable", "--remote: no bridge is running on "
		    "%s (start it with keybridge serve -d %s)", c->cfg.dir,
		    c->cfg.dir);
	else
		rc = cli_submit_local(c, type, f, nf, keys, nkeys, r);
	if (lockfd >= 0)
		close(lockfd);
	for (int i = 0; i < nkeys; i++)
		EVP_PKEY_free(keys[i]);
	return rc;
}

void
cli_print_receipt(struct cli *c, const struct ledger_receipt *r,
    const char *what, const char *key_id)
{
	char hex[LEDGER_HASH_LEN * 2 + 1];
	json_t *j;

	ledger_hex(r->leaf_hash, LEDGER_HASH_LEN, hex);
	if (!c->json) {
		printf("%s: leaf %llu, tree size %llu\n", what,
		    (unsigned long long)r->index,
		    (unsigned long long)r->tree_size);
		return;
	}
	j = json_pack("{s:I, s:s, s:I, s:s}", "index", (json_int_t)r->index,
	    "leaf_hash", hex, "tree_size", (json_int_t)r->tree_size,
	    "checkpoint", r->checkpoint);
	if (j != NULL && key_id != NULL)
		json_object_set_new(j, "key_id", json_string(key_id));
	if (j != NULL)
		json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(j);
}
