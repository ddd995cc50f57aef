/*
 * cmd_validator.c: `keybridge validator init|serve|status` (issue 14;
 * docs/cli.md "Validators"), around validator/daemon.h.
 *
 *   validator init VDIR --name NAME --listen ADDR:PORT --ledger URL
 *       --log-vkey VKEY [--ledger-ca FILE] [--origin ORIGIN] [--witness]
 *   validator serve -d VDIR
 *   validator status -d VDIR
 *
 * The log's verifier key (the bridge node's, `validator_vkey` in its
 * keybridge.conf) is given with --log-vkey: a checkpoint does not carry
 * its key, so it cannot be learnt from the bridge without trusting the
 * first answer.  When the bridge answers, init checks that its current
 * checkpoint verifies under that key and takes the origin from it.
 */
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge/cli/cli.h"
#include "ledger/replay.h"
#include "validator/daemon.h"

#define CHECKPOINT_PATH	"/api/v1/ledger/checkpoint"
#define VDIR_MODE	0700
/* the ledger's checkpoint with its cosignatures (32 at most) */
#define FETCH_NOTE_MAX	(VCORE_NOTE_MAX + LEDGER_COSIGN_POLICY_MAX * \
	LEDGER_COSIGN_LINE_MAX)

/* Exit statuses of `validator status` (docs/cli.md). */
#define ST_OK		0
#define ST_ERROR	1	/* no VDIR, no state */
#define ST_EVIDENCE	2	/* equivocation evidence kept */
#define ST_UNREACHABLE	3	/* the ledger did not answer */

/* The ledger's current checkpoint: note (NUL-terminated) and size.  0, or
 * -1 with why (unreachable, no checkpoint yet, not JSON). */
static int
fetch_checkpoint(const char *url, const char *ca, char *note, size_t cap,
    uint64_t *size, char *why, size_t whylen)
{
	struct client_response r;
	json_t *j = NULL;
	const char *n;
	json_int_t ts;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (client_request(url, ca != NULL && *ca ? ca : NULL, "GET",
	    CHECKPOINT_PATH, NULL, NULL, 0, &r, why, whylen) != 0)
		goto out;
	if (r.status != 200) {
		snprintf(why, whylen, "GET %s answered %d", CHECKPOINT_PATH,
		    r.status);
		goto out;
	}
	if ((j = json_loads(r.body, 0, NULL)) == NULL ||
	    (n = json_string_value(json_object_get(j, "checkpoint"))) ==
	    NULL || strlen(n) >= cap ||
	    !json_is_integer(json_object_get(j, "tree_size")) ||
	    (ts = json_integer_value(json_object_get(j, "tree_size"))) < 0) {
		snprintf(why, whylen, "GET %s: not a checkpoint", CHECKPOINT_PATH);
		goto out;
	}
	memcpy(note, n, strlen(n) + 1);
	*size = (uint64_t)ts;
	rc = 0;
out:
	json_decref(j);
	free(r.body);
	return rc;
}

/* Creates VDIR (mode 0700), or takes an empty one.  0 or 1 after a
 * message. */
static int
make_vdir(const char *dir)
{
	char probe[PATH_MAX];
	struct stat sb;

	if (mkdir(dir, VDIR_MODE) == 0)
		return 0;
	if (errno != EEXIST || stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return cli_fail("init", "cannot create %s: %s", dir,
		    strerror(errno));
	snprintf(probe, sizeof(probe), "%s/%s", dir, VD_CONF_FILE);
	if (access(probe, F_OK) == 0)
		return cli_fail("init", "%s is already a validator directory",
		    dir);
	return 0;
}

/* The origin: --origin, or the ledger's checkpoint's (which must verify
 * under the log key).  0 or 1 after a message. */
static int
init_origin(struct cli *c, struct vd_config *v)
{
	char note[FETCH_NOTE_MAX], why[512], *nl;
	uint64_t size;

	if (fetch_checkpoint(v->ledger, v->ledger_ca, note, sizeof(note),
	    &size, why, sizeof(why)) != 0) {
		if (c->o.origin == NULL)
			return cli_fail("init", "the ledger gave no checkpoint "
			    "(%s): give --origin ORIGIN", why);
		fprintf(stderr, "keybridge: warning: the ledger gave no "
		    "checkpoint (%s); --log-vkey not checked\n", why);
		return 0;
	}
	if (ledger_checkpoint_verify(note, strlen(note), v->log_vkey) != 0)
		return cli_fail("init", "the ledger's checkpoint does not "
		    "verify under --log-vkey %s", v->log_vkey);
	if ((nl = strchr(note, '\n')) == NULL ||
	    (size_t)(nl - note) > LEDGER_ORIGIN_MAX)
		return cli_fail("init", "the ledger's checkpoint has no origin");
	*nl = '\0';
	if (c->o.origin != NULL && strcmp(c->o.origin, note) != 0)
		return cli_fail("init", "--origin %s, but the ledger's "
		    "checkpoints say %s", c->o.origin, note);
	snprintf(v->origin, sizeof(v->origin), "%s", note);
	return 0;
}

/* The key, the state and the registry of a new VDIR.  0 or 1. */
static int
init_files(struct vd_config *v, char *vkey, size_t vkeylen)
{
	struct ledger_replay *r = NULL;
	struct ledger_cosigner me;
	struct vcore_state *st = NULL;
	struct vd_meta m;
	EVP_PKEY *k = NULL;
	char err[512], *js = NULL;
	int rc = 1;

	memset(&me, 0, sizeof(me));
	memset(&m, 0, sizeof(m));
	if ((k = ledger_key_generate("ed25519")) == NULL ||
	    ledger_key_save(k, v->key_path) != 0) {
		cli_fail("init", "cannot create %s", v->key_path);
		goto out;
	}
	if (ledger_cosigner_from_key(v->name, k, &me) != 0) {
		cli_fail("init", "no verifier key for the name %s", v->name);
		goto out;
	}
	snprintf(vkey, vkeylen, "%s", me.vkey);
	if (vd_config_write(v, err, sizeof(err)) != 0) {
		cli_fail("init", "%s", err);
		goto out;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    vcore_state_init(st, v->mode, v->name, v->origin, v->max_past,
	    v->max_future) != 0 || (js = vd_state_to_json(st, &m)) == NULL) {
		cli_fail("init", "bad name or origin");
		goto out;
	}
	if ((r = ledger_replay_open(v->db_path, v->origin, err,
	    sizeof(err))) == NULL ||
	    ledger_replay_commit_meta(r, VD_STATE_KEY, js) != 0) {
		cli_fail("init", "%s: %s", v->db_path, r == NULL ? err :
		    "cannot write the state");
		goto out;
	}
	rc = 0;
out:
	ledger_replay_close(r);
	ledger_cosigner_clear(&me);
	EVP_PKEY_free(k);
	free(st);
	free(js);
	return rc;
}

static int
validator_init(struct cli *c)
{
	struct vd_config v;
	char vkey[LEDGER_COSIGN_VKEY_MAX], host[VD_STR];
	struct in6_addr addr;
	unsigned short port;

	if (cli_only(c, "name listen ledger ledger-ca origin witness "
	    "log-vkey") != 0)
		return 1;
	if (c->o.dir == NULL || c->o.name == NULL || c->o.listen == NULL ||
	    c->o.ledger == NULL || c->o.log_vkey == NULL)
		return cli_fail("usage", "validator init VDIR --name NAME "
		    "--listen ADDR:PORT --ledger URL --log-vkey VKEY "
		    "[--ledger-ca FILE] [--origin ORIGIN] [--witness] (the "
		    "log vkey is the bridge's validator_vkey)");
	vd_config_defaults(&v, c->o.dir);
	v.mode = c->o.witness ? VCORE_WITNESS : VCORE_VALIDATOR;
	if (strlen(c->o.name) == 0 || strlen(c->o.name) > LEDGER_NAME_MAX ||
	    strpbrk(c->o.name, " +\t\n") != NULL)
		return cli_fail("usage", "--name must be 1 to %d characters, "
		    "no space or '+'", LEDGER_NAME_MAX);
	/* a numeric address: serve's listener takes no host name (the
	 * bridge's server_new) */
	if (vd_listen_split(c->o.listen, host, sizeof(host), &port) != 0 ||
	    (inet_pton(AF_INET, host, &addr) != 1 &&
	    inet_pton(AF_INET6, host, &addr) != 1))
		return cli_fail("usage", "--listen must be ADDR:PORT or "
		    "[V6ADDR]:PORT with a numeric address");
	if (strncmp(c->o.ledger, "https://", 8) != 0 &&
	    strncmp(c->o.ledger, "http://", 7) != 0)
		return cli_fail("usage", "--ledger must be an http(s):// URL");
	if (c->o.ledger_ca != NULL && access(c->o.ledger_ca, R_OK) != 0)
		return cli_fail("usage", "--ledger-ca %s: %s", c->o.ledger_ca,
		    strerror(errno));
	snprintf(v.name, sizeof(v.name), "%s", c->o.name);
	snprintf(v.listen, sizeof(v.listen), "%s", c->o.listen);
	snprintf(v.ledger, sizeof(v.ledger), "%s", c->o.ledger);
	snprintf(v.log_vkey, sizeof(v.log_vkey), "%s", c->o.log_vkey);
	if (c->o.ledger_ca != NULL) {
		if (c->o.ledger_ca[0] == '/' ||
		    realpath(c->o.ledger_ca, v.ledger_ca) == NULL)
			snprintf(v.ledger_ca, sizeof(v.ledger_ca), "%s",
			    c->o.ledger_ca);
	}
	if (c->o.origin != NULL) {
		if (strlen(c->o.origin) == 0 ||
		    strlen(c->o.origin) > LEDGER_ORIGIN_MAX)
			return cli_fail("usage", "--origin must be 1 to %d "
			    "bytes", LEDGER_ORIGIN_MAX);
		snprintf(v.origin, sizeof(v.origin), "%s", c->o.origin);
	}
	if (init_origin(c, &v) != 0 || make_vdir(c->o.dir) != 0 ||
	    init_files(&v, vkey, sizeof(vkey)) != 0)
		return 1;
	printf("validator %s (%s) of %s in %s\n"
	    "  key      %s (mode 0600)\n"
	    "  listen   %s\n"
	    "  add it to the bridge's keybridge.conf:\n"
	    "    validator = %s %s http://%s\n"
	    "%s\n", v.name, v.mode == VCORE_WITNESS ? "witness" : "validator",
	    v.origin, v.dir, v.key_path, v.listen, v.name, vkey, v.listen,
	    vkey);
	return 0;
}

static int
validator_serve(struct cli *c)
{
	struct vd_config v;
	char err[PATH_MAX + 256];

	if (cli_only(c, "log-level") != 0)
		return 1;
	if (c->o.dir == NULL)
		return cli_fail("usage", "validator serve -d VDIR");
	if (vd_config_load(c->o.dir, &v, err, sizeof(err)) != 0)
		return cli_fail("config", "%s", err);
	/* --log-level, when given, over validator.conf's log_level */
	if (vd_config_log(&v, c->o.log_level != NULL ? log_verbosity : -1,
	    err, sizeof(err)) != 0)
		return cli_fail("config", "%s", err);
	return vd_serve(&v);
}

/* The status lines; returns the exit status (ST_*). */
static int
validator_status(struct cli *c)
{
	struct vd_config v;
	struct vcore_state *st = NULL;
	struct vd_meta m;
	char err[PATH_MAX + 256], root[64] = "", at[21];
	char note[FETCH_NOTE_MAX], why[512];
	uint64_t lsize;
	int rc = ST_ERROR;

	if (cli_only(c, "") != 0)
		return ST_ERROR;
	if (c->o.dir == NULL)
		return cli_fail("usage", "validator status -d VDIR");
	if (vd_config_load(c->o.dir, &v, err, sizeof(err)) != 0)
		return cli_fail("config", "%s", err);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return cli_fail("status", "out of memory");
	if (vd_state_read(&v, st, &m, err, sizeof(err)) != 0) {
		cli_fail("state", "%s", err);
		goto out;
	}
	ledger_b64_encode(st->root, LEDGER_HASH_LEN, root, sizeof(root));
	printf("validator      %s (%s) of %s\n", st->name,
	    st->mode == VCORE_WITNESS ? "witness" : "validator", st->origin);
	printf("cosigned size  %" PRIu64 "\n", st->size);
	printf("cosigned root  %s\n", root);
	if (fetch_checkpoint(v.ledger, v.ledger_ca, note, sizeof(note), &lsize,
	    why, sizeof(why)) == 0) {
		printf("ledger         %s size %" PRIu64 "\n", v.ledger, lsize);
		printf("lag            %" PRIu64 "\n", lsize > st->size ?
		    lsize - st->size : 0);
		rc = ST_OK;
	} else {
		printf("ledger         %s unreachable: %s\n", v.ledger, why);
		printf("lag            unknown\n");
		rc = ST_UNREACHABLE;
	}
	if (st->last_refusal[0] != '\0') {
		ledger_time_format(m.last_refusal_at, at);
		printf("last refusal   %s (at %s)\n", st->last_refusal, at);
	} else
		printf("last refusal   none\n");
	printf("refusals       %" PRIu64 "\n", m.refusals);
	printf("equivocations  %" PRIu64 " (evidence kept: %zu; GET "
	    "http://%s/evidence)\n", st->equivocations, st->nevidence,
	    v.listen);
	if (st->nevidence > 0)
		rc = ST_EVIDENCE;
out:
	free(st);
	return rc;
}

int
cmd_validator(struct cli *c, const char *sub)
{
	if (strcmp(sub, "init") == 0)
		return validator_init(c);
	if (strcmp(sub, "serve") == 0)
		return validator_serve(c);
	if (strcmp(sub, "status") == 0)
		return validator_status(c);
	return cli_fail("usage", "unknown subcommand \"validator %s\" (init, "
	    "serve, status)", sub);
}
