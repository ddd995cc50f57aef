/*
 * main.c: `keybridge COMMAND [SUBCOMMAND] [OPTIONS]` (docs/design.md "The command
 * line", a contract that tests and operators rely on).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "bridge/check.h"
#include "bridge/cli/cli.h"

enum {
	O_DIR = 'd', O_AS = 256, O_ACCOUNT, O_JSON, O_REMOTE, O_NAME,
	O_HOSTNAME, O_KEY_TYPE, O_EST_LISTEN, O_HTTP_LISTEN, O_DB,
	O_LOG_LEVEL, O_PUBKEY, O_CSR, O_PROFILE, O_DNS, O_IP, O_NOT_BEFORE,
	O_NOT_AFTER, O_DAYS, O_KEY_ID, O_REASON, O_STATUS, O_LIMIT, O_AFTER,
	O_THRESHOLD, O_ROLE, O_OUT, O_TYPE, O_GROUP, O_FILE, O_VERSION,
	O_FROM, O_VKEY, O_EXPIRES, O_CHECKPOINT, O_RECEIPT, O_NO_REMEMBER,
	O_PKCS11_MODULE, O_PKCS11_TOKEN, O_PKCS11_PIN_FILE, O_SHRED,
	O_VALIDATOR, O_QUORUM, O_POLICY,
	O_LISTEN, O_LEDGER, O_LEDGER_CA, O_ORIGIN, O_WITNESS, O_LOG_VKEY,
	O_SINCE, O_SERIAL, O_SHA256,
	O_NOTE, O_CONFIG_GROUP,
	O_ALLOW_SAME_NAME, O_WAIT,
	O_WITH_KEYS, O_PROGRESS,
	O_SUBJECT_O, O_SUBJECT_C, O_SUBJECT_OU,
	O_ROOT_KEY, O_ROOT_KEY_OUT,
	O_HELP,
};

static struct option long_opts[] = {
	{ "dir", required_argument, NULL, O_DIR },
	{ "as", required_argument, NULL, O_AS },
	{ "account", required_argument, NULL, O_ACCOUNT },
	{ "json", no_argument, NULL, O_JSON },
	{ "remote", no_argument, NULL, O_REMOTE },
	{ "wait", required_argument, NULL, O_WAIT },
	{ "name", required_argument, NULL, O_NAME },
	{ "hostname", required_argument, NULL, O_HOSTNAME },
	{ "key-type", required_argument, NULL, O_KEY_TYPE },
	{ "est-listen", required_argument, NULL, O_EST_LISTEN },
	{ "http-listen", required_argument, NULL, O_HTTP_LISTEN },
	{ "db", required_argument, NULL, O_DB },
	{ "log-level", required_argument, NULL, O_LOG_LEVEL },
	{ "pubkey", required_argument, NULL, O_PUBKEY },
	{ "csr", required_argument, NULL, O_CSR },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "dns", required_argument, NULL, O_DNS },
	{ "ip", required_argument, NULL, O_IP },
	{ "not-before", required_argument, NULL, O_NOT_BEFORE },
	{ "not-after", required_argument, NULL, O_NOT_AFTER },
	{ "days", required_argument, NULL, O_DAYS },
	{ "key-id", required_argument, NULL, O_KEY_ID },
	{ "reason", required_argument, NULL, O_REASON },
	{ "status", required_argument, NULL, O_STATUS },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "after", required_argument, NULL, O_AFTER },
	{ "threshold", required_argument, NULL, O_THRESHOLD },
	{ "role", required_argument, NULL, O_ROLE },
	{ "out", required_argument, NULL, O_OUT },
	{ "type", required_argument, NULL, O_TYPE },
	{ "group", required_argument, NULL, O_GROUP },
	{ "file", required_argument, NULL, O_FILE },
	{ "version", required_argument, NULL, O_VERSION },
	{ "from", required_argument, NULL, O_FROM },
	{ "vkey", required_argument, NULL, O_VKEY },
	{ "expires", required_argument, NULL, O_EXPIRES },
	{ "checkpoint", required_argument, NULL, O_CHECKPOINT },
	{ "receipt", required_argument, NULL, O_RECEIPT },
	{ "no-remember", no_argument, NULL, O_NO_REMEMBER },
	{ "pkcs11-module", required_argument, NULL, O_PKCS11_MODULE },
	{ "pkcs11-token", required_argument, NULL, O_PKCS11_TOKEN },
	{ "pkcs11-pin-file", required_argument, NULL, O_PKCS11_PIN_FILE },
	{ "shred", no_argument, NULL, O_SHRED },
	{ "validator", required_argument, NULL, O_VALIDATOR },
	{ "quorum", required_argument, NULL, O_QUORUM },
	{ "policy", required_argument, NULL, O_POLICY },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "ledger", required_argument, NULL, O_LEDGER },
	{ "ledger-ca", required_argument, NULL, O_LEDGER_CA },
	{ "origin", required_argument, NULL, O_ORIGIN },
	/* init --witness NAME=VKEY@URL; validator init --witness
	 * (a flag): main() sets has_arg for the command */
	{ "witness", required_argument, NULL, O_WITNESS },
	{ "log-vkey", required_argument, NULL, O_LOG_VKEY },
	{ "since", required_argument, NULL, O_SINCE },
	{ "serial", required_argument, NULL, O_SERIAL },
	{ "sha256", required_argument, NULL, O_SHA256 },
	{ "note", required_argument, NULL, O_NOTE },
	{ "config-group", required_argument, NULL, O_CONFIG_GROUP },
	{ "allow-same-name", no_argument, NULL, O_ALLOW_SAME_NAME },
	{ "with-keys", no_argument, NULL, O_WITH_KEYS },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "subject-o", required_argument, NULL, O_SUBJECT_O },
	{ "subject-c", required_argument, NULL, O_SUBJECT_C },
	{ "subject-ou", required_argument, NULL, O_SUBJECT_OU },
	{ "root-key", required_argument, NULL, O_ROOT_KEY },
	{ "root-key-out", required_argument, NULL, O_ROOT_KEY_OUT },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* The usage texts are help.c's (help_overview, help_command). */

static const char *const opt_names[] = {
	[O_AS - 256] = "as", [O_ACCOUNT - 256] = "account",
	[O_JSON - 256] = "json", [O_REMOTE - 256] = "remote",
	[O_WAIT - 256] = "wait",
	[O_NAME - 256] = "name", [O_HOSTNAME - 256] = "hostname",
	[O_KEY_TYPE - 256] = "key-type", [O_EST_LISTEN - 256] = "est-listen",
	[O_HTTP_LISTEN - 256] = "http-listen", [O_DB - 256] = "db",
	[O_LOG_LEVEL - 256] = "log-level", [O_PUBKEY - 256] = "pubkey",
	[O_CSR - 256] = "csr", [O_PROFILE - 256] = "profile",
	[O_DNS - 256] = "dns", [O_IP - 256] = "ip",
	[O_NOT_BEFORE - 256] = "not-before", [O_NOT_AFTER - 256] = "not-after",
	[O_DAYS - 256] = "days", [O_KEY_ID - 256] = "key-id",
	[O_REASON - 256] = "reason", [O_STATUS - 256] = "status",
	[O_LIMIT - 256] = "limit", [O_AFTER - 256] = "after",
	[O_THRESHOLD - 256] = "threshold", [O_ROLE - 256] = "role",
	[O_OUT - 256] = "out", [O_TYPE - 256] = "type",
	[O_GROUP - 256] = "group", [O_FILE - 256] = "file",
	[O_VERSION - 256] = "version", [O_FROM - 256] = "from",
	[O_VKEY - 256] = "vkey", [O_EXPIRES - 256] = "expires",
	[O_CHECKPOINT - 256] = "checkpoint", [O_RECEIPT - 256] = "receipt",
	[O_NO_REMEMBER - 256] = "no-remember",
	[O_PKCS11_MODULE - 256] = "pkcs11-module",
	[O_PKCS11_TOKEN - 256] = "pkcs11-token",
	[O_PKCS11_PIN_FILE - 256] = "pkcs11-pin-file",
	[O_SHRED - 256] = "shred",
	[O_VALIDATOR - 256] = "validator",
	[O_QUORUM - 256] = "quorum", [O_POLICY - 256] = "policy",
	[O_LISTEN - 256] = "listen", [O_LEDGER - 256] = "ledger",
	[O_LEDGER_CA - 256] = "ledger-ca", [O_ORIGIN - 256] = "origin",
	[O_WITNESS - 256] = "witness", [O_LOG_VKEY - 256] = "log-vkey",
	[O_SINCE - 256] = "since", [O_SERIAL - 256] = "serial",
	[O_SHA256 - 256] = "sha256",
	[O_NOTE - 256] = "note",
	[O_CONFIG_GROUP - 256] = "config-group",
	[O_ALLOW_SAME_NAME - 256] = "allow-same-name",
	[O_WITH_KEYS - 256] = "with-keys", [O_PROGRESS - 256] = "progress",
	[O_SUBJECT_O - 256] = "subject-o", [O_SUBJECT_C - 256] = "subject-c",
	[O_SUBJECT_OU - 256] = "subject-ou",
	[O_ROOT_KEY - 256] = "root-key",
	[O_ROOT_KEY_OUT - 256] = "root-key-out",
};
/* c->o.seen has a byte per option */
_Static_assert(O_HELP - 256 <= CLI_MAX_OPTS,
    "more options than cli_opts.seen holds");

/* 1 when word is one of the blank-separated words of allowed. */
static int
cli_allows(const char *allowed, const char *word)
{
	size_t len = strlen(word);
	const char *p;

	for (p = allowed; (p = strstr(p, word)) != NULL; p += len)
		if ((p == allowed || p[-1] == ' ') &&
		    (p[len] == ' ' || p[len] == '\0'))
			return 1;
	return 0;
}

int
cli_only(struct cli *c, const char *allowed)
{
	/* --help: the command's own usage, one line per option it takes */
	if (c->help) {
		help_command(c->help_cmd, c->help_sub, allowed);
		exit(0);
	}
	/* -n (serve -n) has no long form, nor a bit in seen: "n" in
	 * allowed takes it */
	if (c->check_only && !cli_allows(allowed, "n"))
		return cli_fail("usage", "%s does not take -n", c->cmd);
	for (int o = O_AS; o < O_HELP; o++) {
		/* --wait (for a starting bridge) goes with --remote: every
		 * command that may write through the bridge takes both */
		const char *n = opt_names[o - 256], *m = o == O_WAIT ?
		    opt_names[O_REMOTE - 256] : n;

		if (!c->o.seen[o - 256])
			continue;
		if (!cli_allows(allowed, m))
			return cli_fail("usage", "%s does not take --%s", c->cmd,
			    n);
	}
	return 0;
}

static int
add_repeat(const char **arr, int *n, const char *v, const char *opt)
{
	if (*n >= CLI_MAX_REPEAT) {
		cli_fail("usage", "--%s given more than %d times", opt,
		    CLI_MAX_REPEAT);
		return -1;
	}
	arr[(*n)++] = v;
	return 0;
}

/* The options that take one value, into their field of o.  1 when ch is
 * one of them, 0 when not. */
static int
opt_set_str(struct cli_opts *o, int ch, const char *v)
{
	switch (ch) {
	case O_DIR: o->dir = v; break;
	case O_NAME: o->name = v; break;
	case O_KEY_TYPE: o->key_type = v; break;
	case O_EST_LISTEN: o->est_listen = v; break;
	case O_HTTP_LISTEN: o->http_listen = v; break;
	case O_DB: o->db = v; break;
	case O_LOG_LEVEL: o->log_level = v; break;
	case O_CSR: o->csr = v; break;
	case O_PROFILE: o->profile = v; break;
	case O_NOT_BEFORE: o->not_before = v; break;
	case O_NOT_AFTER: o->not_after = v; break;
	case O_DAYS: o->days = v; break;
	case O_KEY_ID: o->key_id = v; break;
	case O_REASON: o->reason = v; break;
	case O_STATUS: o->status = v; break;
	case O_LIMIT: o->limit = v; break;
	case O_AFTER: o->after = v; break;
	case O_THRESHOLD: o->threshold = v; break;
	case O_ROLE: o->role = v; break;
	case O_OUT: o->out = v; break;
	case O_NOTE: o->note = v; break;
	case O_WAIT: o->wait = v; break;
	case O_TYPE: o->type = v; break;
	case O_GROUP: o->group = v; break;
	case O_FILE: o->file = v; break;
	case O_VERSION: o->version = v; break;
	case O_FROM: o->from = v; break;
	case O_VKEY: o->vkey = v; break;
	case O_EXPIRES: o->expires = v; break;
	case O_PKCS11_MODULE: o->pkcs11_module = v; break;
	case O_PKCS11_TOKEN: o->pkcs11_token = v; break;
	case O_PKCS11_PIN_FILE: o->pkcs11_pin_file = v; break;
	case O_ROOT_KEY: o->root_key = v; break;
	case O_ROOT_KEY_OUT: o->root_key_out = v; break;
	case O_QUORUM: o->quorum = v; break;
	case O_POLICY: o->policy = v; break;
	case O_LISTEN: o->listen = v; break;
	case O_LEDGER: o->ledger = v; break;
	case O_LEDGER_CA: o->ledger_ca = v; break;
	case O_ORIGIN: o->origin = v; break;
	case O_LOG_VKEY: o->log_vkey = v; break;
	case O_SINCE: o->since = v; break;
	case O_SERIAL: o->serial = v; break;
	case O_SHA256: o->sha256 = v; break;
	case O_SUBJECT_O: o->subject_o = v; break;
	case O_SUBJECT_C: o->subject_c = v; break;
	case O_SUBJECT_OU: o->subject_ou = v; break;
	default: return 0;
	}
	return 1;
}

/* The options that may be given again and again (up to CLI_MAX_REPEAT),
 * added to their list in o.  0 when added, -1 after a message, 1 when ch
 * is not one of them. */
static int
opt_add_repeat(struct cli_opts *o, int ch, const char *v)
{
	switch (ch) {
	case O_HOSTNAME:
		return add_repeat(o->hostname, &o->nhostname, v, "hostname");
	case O_PUBKEY:
		return add_repeat(o->pubkey, &o->npubkey, v, "pubkey");
	case O_DNS:
		return add_repeat(o->dns, &o->ndns, v, "dns");
	case O_IP:
		return add_repeat(o->ip, &o->nip, v, "ip");
	case O_CONFIG_GROUP:
		return add_repeat(o->groups, &o->ngroups, v, "config-group");
	case O_CHECKPOINT:
		return add_repeat(o->checkpoint, &o->ncheckpoint, v,
		    "checkpoint");
	case O_RECEIPT:
		return add_repeat(o->receipt, &o->nreceipt, v, "receipt");
	case O_VALIDATOR:
		return add_repeat(o->validator, &o->nvalidator, v,
		    "validator");
	default:
		return 1;
	}
}

/* The options that are neither one value nor a list: flags, short forms
 * and --account.  0, or 1 after a message (an unknown option). */
static int
opt_other(struct cli *c, int ch, const char *v, char **argv)
{
	struct cli_opts *o = &c->o;

	switch (ch) {
	case O_AS: c->as = v; break;
	case O_ACCOUNT:
		if (c->nkeyfiles >= CLI_MAX_KEYS)
			return cli_fail("usage", "too many --account");
		c->keyfiles[c->nkeyfiles++] = v;
		break;
	case O_JSON: c->json = 1; break;
	case O_REMOTE: c->remote = 1; break;
	case 'o':	/* -o FILE: --out */
		o->seen[O_OUT - 256] = 1;
		o->out = v;
		break;
	case 'i':	/* -i FILE: --file (restore's archive) */
		o->seen[O_FILE - 256] = 1;
		o->file = v;
		break;
	case O_WITH_KEYS: o->with_keys = 1; break;
	case O_PROGRESS: o->progress = 1; break;
	case O_NO_REMEMBER: o->no_remember = 1; break;
	case O_ALLOW_SAME_NAME: o->allow_same_name = 1; break;
	case O_SHRED: o->shred = 1; break;
	case O_WITNESS:
		o->witness = 1;
		if (v != NULL && add_repeat(o->witnesses, &o->nwitnesses, v,
		    "witness") != 0)
			return 1;
		break;
	case 'n':	/* serve -n: check, start nothing */
		c->check_only = 1;
		break;
	case 'h':
	case O_HELP:
		c->help = 1;	/* cli_only prints the command's usage */
		break;
	default:
		return cli_fail("usage", "unknown option %s (see "
		    "keybridge --help)", argv[optind - 1]);
	}
	return 0;
}

/* Parses every option into c->o; returns 0, or 1 after a message. */
static int
parse_opts(struct cli *c, int argc, char **argv)
{
	int ch, r;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "d:hi:no:", long_opts, NULL)) != -1) {
		if (c->help && ch == '?')
			continue;	/* --help wins over a bad option */
		if (ch >= 256 && ch < O_HELP)
			c->o.seen[ch - 256] = 1;
		if (opt_set_str(&c->o, ch, optarg))
			continue;
		if ((r = opt_add_repeat(&c->o, ch, optarg)) != 1) {
			if (r != 0)
				return 1;
			continue;
		}
		if (opt_other(c, ch, optarg, argv) != 0)
			return 1;
	}
	return 0;
}

/* `serve [-n]` and `check`: the daemon, or the check of its data
 * directory (bridge/check.c) that starts nothing.  The exit status. */
static int
cmd_serve(struct cli *c)
{
	struct config_overrides ov = { c->o.est_listen, c->o.http_listen,
	    c->o.db, c->o.log_level };
	int check = strcmp(c->cmd, "check") == 0;

	if (cli_only(c, check ? "db" : "n est-listen http-listen db "
	    "log-level") != 0)
		return 1;
	if (check || c->check_only) {
		if (c->o.dir == NULL)
			return cli_fail("usage", "%s needs -d DIR (the data "
			    "directory)", c->cmd);
		return check_run(check ? "check" : "serve -n", c->o.dir, &ov,
		    CHECK_ALL);
	}
	return cli_load_config(c) ? 1 : serve_run_with(&c->cfg, &ov);
}

/* config bundle is cmd_proof.c's; config's other subcommands cmd_config's. */
static int
run_config(struct cli *c, const char *sub)
{
	return strcmp(sub, "bundle") == 0 ? cmd_config_bundle(c) :
	    cmd_config(c, sub);
}

/* The commands, by their first word: with a subcommand (run_sub) or
 * without (run). */
static const struct {
	const char *name;
	int (*run_sub)(struct cli *c, const char *sub);
	int (*run)(struct cli *c);
} commands[] = {
	{ "init", NULL, cmd_init },
	{ "serve", NULL, cmd_serve },
	{ "check", NULL, cmd_serve },
	{ "account", cmd_account, NULL },
	{ "key", cmd_key, NULL },
	{ "config", run_config, NULL },
	{ "proof", cmd_proof, NULL },
	{ "ledger", cmd_ledger, NULL },
	{ "ca", cmd_ca, NULL },
	{ "policy", NULL, cmd_policy },
	{ "validator", cmd_validator, NULL },
	{ "backup", NULL, cmd_backup },
	{ "restore", NULL, cmd_restore },
};

/* Runs command cmd (subcommand sub, or NULL); the exit status. */
static int
run_command(struct cli *c, const char *cmd, const char *sub)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run_sub != NULL ?
			    commands[i].run_sub(c, sub) : commands[i].run(c);
	return cli_fail("usage", "unknown command \"%s\" (see keybridge "
	    "--help)", cmd);
}

/* `keybridge`, `--help`, `help`, `--version`: answered before any command
 * is looked at.  1 with *rc set when argv was one of them, 0 when not. */
static int
main_early(int argc, char **argv, int *rc)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 ||
	    (strcmp(argv[1], "help") == 0 && argc == 2)) {
		help_overview(argc < 2 ? stderr : stdout);
		*rc = argc < 2 ? 1 : 0;
		return 1;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("keybridge %s\n", KEYBRIDGE_VERSION);
		*rc = 0;
		return 1;
	}
	return 0;
}

/* Takes the command word, its subcommand and the positional directory
 * off *argc, *argv ("help COMMAND" becomes "COMMAND --help").  -1 to go
 * on, or the exit status. */
static int
take_command(struct cli *c, int *argcp, char ***argvp, const char **cmdp,
    const char **subp)
{
	int argc = *argcp;
	char **argv = *argvp;
	const char *cmd, *sub = NULL;

	/* "help COMMAND [SUBCOMMAND]" is "COMMAND [SUBCOMMAND] --help" */
	if (strcmp(argv[1], "help") == 0) {
		if (!help_is_command(argv[2]))
			return cli_fail("usage", "no command \"%s\" (keybridge "
			    "--help lists them)", argv[2]);
		c->help = 1;
		argc--;
		argv++;
	}
	cmd = argv[1];
	argc--;
	argv++;
	for (int i = 1; i < argc && !c->help; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			c->help = 1;
	/* "init DIR": the directory is positional. */
	if (strcmp(cmd, "init") == 0 && argc > 1 && argv[1][0] != '-') {
		c->o.dir = argv[1];
		argc--;
		argv++;
	} else if (help_has_subcommands(cmd)) {
		if (argc < 2 || argv[1][0] == '-') {
			if (c->help) {
				help_subcommands(stdout, cmd);
				return 0;
			}
			cli_fail("usage", "%s needs a subcommand", cmd);
			help_subcommands(stderr, cmd);
			return 1;
		}
		sub = argv[1];
		argc--;
		argv++;
		/* "validator init VDIR": positional too */
		if (strcmp(cmd, "validator") == 0 && strcmp(sub, "init") == 0 &&
		    argc > 1 && argv[1][0] != '-') {
			c->o.dir = argv[1];
			argc--;
			argv++;
		}
	}
	*argcp = argc;
	*argvp = argv;
	*cmdp = cmd;
	*subp = sub;
	return -1;
}

/* After the options: the positional words config takes, none for the
 * others, and --log-level.  0, or 1 after a message. */
static int
take_rest(struct cli *c, const char *cmd, int argc, char **argv)
{
	if (c->help && !help_is_command(cmd))
		return cli_fail("usage", "unknown command \"%s\" (see keybridge "
		    "--help)", cmd);
	/* "config diff V1 V2": the two versions are positional. */
	while (strcmp(cmd, "config") == 0 && optind < argc &&
	    c->o.nargs < CLI_MAX_ARGS)
		c->o.args[c->o.nargs++] = argv[optind++];
	if (optind < argc)
		return cli_fail("usage", "unexpected argument \"%s\"",
		    argv[optind]);
	if (c->o.log_level != NULL &&
	    (log_verbosity = log_level_parse(c->o.log_level)) < 0)
		return cli_fail("usage", "--log-level must be error, warn, info "
		    "or debug");
	return 0;
}

int
main(int argc, char **argv)
{
	static struct cli c;	/* large: keep it off the stack */
	const char *cmd = NULL, *sub = NULL;
	int rc;

	/* A bridge that hangs up must not kill the CLI mid-request. */
	signal(SIGPIPE, SIG_IGN);
	if (main_early(argc, argv, &rc))
		return rc;
	if ((rc = take_command(&c, &argc, &argv, &cmd, &sub)) >= 0)
		return rc;
	c.help_cmd = cmd;
	c.help_sub = sub;
	/* `validator init --witness` is a flag; `init --witness` takes
	 * NAME=VKEY@URL */
	if (strcmp(cmd, "validator") == 0)
		for (struct option *lo = long_opts; lo->name != NULL; lo++)
			if (lo->val == O_WITNESS)
				lo->has_arg = no_argument;
	if (parse_opts(&c, argc, argv) != 0 ||
	    take_rest(&c, cmd, argc, argv) != 0)
		return 1;
	if (c.as == NULL)
		c.as = "admin";
	c.cmd = cmd;
	rc = run_command(&c, cmd, sub);
	ERR_clear_error();
	return rc;
}
