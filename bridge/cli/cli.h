/*
 * cli.h: the command line's room (bridge/cli/): main.c parses the options,
 * cli.c holds what every command shares (the data directory, signing and
 * submitting entries, errors), cmd_*.c the commands, client.c the HTTPS
 * client to a running bridge.  It never calls into the API's handlers:
 * what both show (a key, an account, a certificate as JSON) is
 * bridge/render.h's.
 */
#ifndef KEYBRIDGE_CLI_H
#define KEYBRIDGE_CLI_H

#include "bridge/bridge.h"

/* ---- client.c: the CLI's HTTPS client to a running bridge -------------- */

struct client_response {
	int status;		/* HTTP status */
	char *body;		/* malloc'd, NUL-terminated */
	size_t len;
};

/* Sends one request to base_url ("https://127.0.0.1:8443") + path,
 * verifying the server against cafile (PEM).  body may be NULL.  Returns 0
 * when a response arrived (any status), -1 when no connection could be made
 * or TLS failed (err says which).  Free r->body. */
int client_request(const char *base_url, const char *cafile,
    const char *method, const char *path, const char *content_type,
    const char *body, size_t len, struct client_response *r, char *err,
    size_t errlen);
/* One request to a bridge: base_url + path, the server verified against
 * cafile (PEM), with "Authorization: Bearer <bearer>" when bearer is set
 * (the API's api_token); content_type, body may be NULL. */
struct client_req {
	const char *base_url;		/* "https://127.0.0.1:8443" */
	const char *cafile;
	const char *bearer;
	const char *method, *path;
	const char *content_type;
	const char *body;
	size_t len;
};
/* Sends q and waits for its answer: 0 when a response arrived (any
 * status; free r->body), -1 with err when no connection could be made or
 * TLS failed (err says which, with what to do). */
int client_send(const struct client_req *q, struct client_response *r,
    char *err, size_t errlen);
/* 0 when base_url's host and port accept a TCP connection now, else the
 * errno of the attempt (ECONNREFUSED: nothing listens there). */
int client_reachable(const char *base_url);

/* ---- cli.c, serve.c: the command line ---------------------------------- */

#define CLI_MAX_KEYS 16			/* --account files */

#define CLI_MAX_REPEAT 32		/* --dns, --ip, --pubkey, --hostname */
#define CLI_MAX_OPTS	128	/* long options main.c can tell apart */

#define CLI_MAX_ARGS 2			/* positional arguments (config diff) */

/* Every option of every command, as parsed by main.c; each command says
 * which it accepts (cli_only()). */
struct cli_opts {
	const char *dir, *name, *key_type, *est_listen, *http_listen, *db;
	const char *log_level, *csr, *profile, *not_before, *not_after;
	const char *days, *key_id, *reason, *status, *limit, *after;
	const char *threshold, *role, *out, *type, *group, *file, *version;
	const char *from, *vkey, *expires;
	/* validator init */
	const char *listen, *ledger, *ledger_ca, *origin, *log_vkey;
	int witness;
	const char *pkcs11_module, *pkcs11_token, *pkcs11_pin_file;
	int shred;			/* ca move-to-token --shred */
	/* issue 17: ca rollover --root-key, init --root-key-out */
	const char *root_key, *root_key_out;
	const char *hostname[CLI_MAX_REPEAT];
	int nhostname;
	const char *pubkey[CLI_MAX_REPEAT];
	int npubkey;
	const char *dns[CLI_MAX_REPEAT];
	int ndns;
	const char *ip[CLI_MAX_REPEAT];
	int nip;
	const char *checkpoint[CLI_MAX_REPEAT];	/* ledger verify */
	int ncheckpoint;
	const char *receipt[CLI_MAX_REPEAT];
	int nreceipt;
	int no_remember;
	int allow_same_name;		/* key register --allow-same-name */
	/* init --validator/--witness NAME=VKEY@URL, --quorum N; ledger
	 * verify --policy FILE (issue 14) */
	const char *validator[CLI_MAX_REPEAT];
	int nvalidator;
	const char *witnesses[CLI_MAX_REPEAT];	/* init --witness SPEC */
	int nwitnesses;
	const char *quorum, *policy;
	const char *since, *serial, *sha256;	/* proof (issue 15) */
	const char *note;		/* config publish --note */
	const char *groups[CLI_MAX_REPEAT];	/* key register --config-group */
	int ngroups;
	const char *args[CLI_MAX_ARGS];	/* config diff V1 V2 */
	int nargs;
	unsigned char seen[CLI_MAX_OPTS];	/* 1 per option given */
	const char *wait;		/* --wait SECONDS (cli.c) */
	int with_keys, progress;	/* backup (issue 17) */
	/* init --subject-o ORG --subject-c CC --subject-ou OU (PROF17) */
	const char *subject_o, *subject_c, *subject_ou;
};

/* What every command has: the loaded config and the signing options. */
struct cli {
	struct cli_opts o;
	const char *cmd;		/* "key register", for messages */
	struct bridge_config cfg;
	int have_dir;
	const char *as;			/* --as: the signing account */
	const char *keyfiles[CLI_MAX_KEYS];	/* --account */
	int nkeyfiles;
	int json;			/* --json */
	int remote;			/* --remote */
	EVP_PKEY *vkey;			/* validator key while appending */
	struct ledger_consensus *cons;	/* solo, sealing with vkey */
	char admin[PATH_MAX];		/* resolved default --account */
	int help;			/* --help, -h, `help COMMAND` */
	const char *help_cmd, *help_sub;	/* the command as typed */
	int check_only;			/* serve -n (bridge/check.c) */
};

int cmd_init(struct cli *c);
int cmd_account(struct cli *c, const char *sub);
int cmd_key(struct cli *c, const char *sub);
int cmd_config(struct cli *c, const char *sub);
int cmd_ledger(struct cli *c, const char *sub);
int cmd_ca(struct cli *c, const char *sub);
/* cmd_proof.c (issue 15): `proof config|key|cert` and `config bundle`. */
int cmd_proof(struct cli *c, const char *sub);
int cmd_config_bundle(struct cli *c);
/* ---- backup and restore (issue 17): cmd_backup.c, cmd_restore.c ------- */
/* `keybridge backup -d DIR -o FILE [--with-keys] [--progress]`: a
 * consistent online backup of DIR into the tar archive FILE (0600).
 * 0, or 1 after a message. */
int cmd_backup(struct cli *c);
/* `keybridge restore -i FILE -d NEWDIR`: a new data directory from a
 * backup, its manifest checked and its ledger verified.  0, or 1 after
 * a message. */
int cmd_restore(struct cli *c);
/* `ledger verify` of c's data directory (cmd_ledger.c): prints its
 * report; 0 when the ledger holds, 1 otherwise (after a message). */
int cli_ledger_verify(struct cli *c);
/* ---- archive.c: what backup and restore share ------------------------- */
/* Removes path and everything under it, links not followed.  0, or -1
 * when something stayed. */
int archive_rmtree(const char *path);
/* Makes the directories (0700) of relative file path rel under root.
 * 0, or -1 with err set. */
int archive_mkparents(const char *root, const char *rel, char *err,
    size_t errlen);
/* Copies the regular file src (not a link) into the new file dst with
 * mode.  0, or -1 with err set. */
int archive_copy(const char *src, const char *dst, mode_t mode, char *err,
    size_t errlen);
/* The SHA-256 (hex) and size of the regular file path (not a link).
 * 0, or -1 with err set. */
int archive_sha256(const char *path, char hex[2 * LEDGER_HASH_LEN + 1],
    uint64_t *size, char *err, size_t errlen);
/* Runs argv (argv[0] found in PATH: tar) with no shell, its stdout on
 * stdout_fd (-1: ours), and waits.  0 when it exited 0, else -1 with
 * err set (its own message went to our stderr). */
int archive_tar(const char *const argv[], int stdout_fd, char *err,
    size_t errlen);
/* Makes a private (0700) directory ".keybridge-WHAT-XXXXXX" beside the
 * file or directory next_to, into out.  0, or -1 with err set. */
int archive_staging(const char *next_to, const char *what, char *out,
    size_t outlen, char *err, size_t errlen);
/* ---- help.c: usage texts (issue 17) ------------------------------------ */
/* 1 when cmd is a command of the table / has subcommands. */
int help_is_command(const char *cmd);
int help_has_subcommands(const char *cmd);
/* `keybridge CMD [SUB] --help` on stdout: synopsis, what it does, then
 * -d when the synopsis has it, one line per option of `allowed` (the
 * list the command gives cli_only) and -h. */
void help_command(const char *cmd, const char *sub, const char *allowed);
/* The subcommands of cmd, one line each, on f. */
void help_subcommands(FILE *f, const char *cmd);
/* `keybridge --help`: every command's synopsis, on f. */
void help_overview(FILE *f);
/* ---- cmd_policy.c: validators and the verification policy (issue 14) -- */
struct ledger_policy;
/* `keybridge policy -d DIR [--json]`.  0, or 1 after a message. */
int cmd_policy(struct cli *c);
/* init: --validator/--witness NAME=VKEY@URL and --quorum N into c->cfg's
 * validators[], nvalidators and quorum (the default n - f written out
 * when --quorum is not given).  0, or 1 after a message. */
int cli_init_validators(struct cli *c);
/* The verification policy of cfg: its origin, log_vkey (NULL: cfg's
 * validator_vkey), its validator and witness lines and quorum, into p
 * (clear it with ledger_policy_clear).  0, or -1 with why. */
int cli_config_policy(const struct bridge_config *cfg, const char *log_vkey,
    struct ledger_policy *p, char *why, size_t whylen);
/* `validator init|serve|status` (cmd_validator.c); returns the exit status
 * (status: 0, 1 error, 2 equivocation evidence kept, 3 ledger unreachable). */
int cmd_validator(struct cli *c, const char *sub);
/* ledger verify: every published file's bytes in the blob folder against
 * its entry's SHA-256 and size (cmd_config.c); 0 all hold, 1 one does not
 * (each printed with its entry index), -1 after a message.  Its report
 * goes to out (stdout, or a buffer when it runs beside the replay). */
int config_verify_blobs(struct cli *c, FILE *out);
/* init --pkcs11-*: checks the three options (all or none) and reads the
 * PIN file before anything is created.  0 (pin set when the options were
 * given, "" otherwise), or 1 after a message. */
int cli_token_check(struct cli *c, char pin[CA_PIN_MAX + 1]);
/* init --pkcs11-*: generates the issuing CA and OCSP signer keys in the
 * token, points c->cfg at them (URIs, module, PIN file) and loads them
 * into *iss and *ocsp (get1).  0, or 1 after a message. */
int cli_token_init(struct cli *c, const char *key_type, const char *pin,
    EVP_PKEY **iss, EVP_PKEY **ocsp);
/* Fails (returns 1 after a message) when an option outside the
 * space-separated list `allowed` was given.  With --help (c->help) it
 * prints the command's usage with one line per option of `allowed`
 * instead, and exits 0: every command calls it before doing anything
 * else but cli_load_config (a no-op then). */
int cli_only(struct cli *c, const char *allowed);
/* Loads DIR/keybridge.conf (-d); returns 0 or 1 after a message. */
int cli_load_config(struct cli *c);
/* Opens the data directory's ledger (writable: with the validator key). */
struct ledger *cli_ledger_open(struct cli *c, int writable);
void cli_ledger_close(struct cli *c, struct ledger *l);
/* GET path from the running bridge; a new JSON reference or NULL. */
json_t *cli_api_get(struct cli *c, const char *path, int *status);
/* Signs an entry of type with fields as c->as with every --account key and
 * appends it, through the running bridge or directly (one set of rules).
 * Returns 0 with r filled, or 1 after a message. */
int cli_submit(struct cli *c, enum ledger_entry_type type,
    const struct ledger_field *f, size_t nf, struct ledger_receipt *r);
/* Prints a receipt: one human line, or JSON with --json. */
void cli_print_receipt(struct cli *c, const struct ledger_receipt *r,
    const char *what, const char *key_id);
/* Prints "keybridge: code: message" on stderr; returns 1 (exit status). */
int cli_fail(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
