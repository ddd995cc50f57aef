/*
 * help.c: `keybridge --help`, `keybridge help [COMMAND [SUBCOMMAND]]` and
 * `keybridge COMMAND [SUBCOMMAND] --help` (issue 17; docs/cli.md "Help").
 *
 * Which options a command takes is not written here: it is the list the
 * command itself gives cli_only() (main.c), which with --help prints this
 * file's usage of the command and one line per option of that list, then
 * exits 0.  So an option a command starts accepting shows in its --help at
 * once; help_option() only supplies the text, and an option without one
 * says so ("(no description: add one to bridge/cli/help.c)"), which
 * test_cli_help catches.  This file holds the commands' synopses (the
 * only hand-kept list: a command added without one is listed as such)
 * and the options' descriptions.
 */
#include <stdio.h>
#include <string.h>

#include "bridge/cli/cli.h"

#define HELP_OPT_COL	28	/* where an option's description starts */
#define HELP_WIDTH	79	/* synopses wrap before this column */
#define HELP_INDENT	11	/* a wrapped synopsis's next lines */

/* The commands: cmd, sub (NULL: none), synopsis after "keybridge cmd
 * sub", and what it does in one line. */
static const struct help_cmd {
	const char *cmd, *sub, *synopsis, *what;
} help_cmds[] = {
	{ "init", NULL, "DIR [--name NAME] [--hostname H]... [--key-type ec-p256|rsa-3072] "
	  "[--est-listen ADDR:PORT] [--http-listen ADDR:PORT] [--db PATH|URL] "
	  "[--pkcs11-module SO --pkcs11-token LABEL --pkcs11-pin-file FILE] "
	  "[--validator NAME=VKEY@URL]... [--witness NAME=VKEY@URL]... [--quorum N] "
	  "[--subject-o ORG] [--subject-c CC] [--subject-ou OU] "
	  "[--root-key-out FILE]",
	  "create a data directory: keys, CA, TLS certificate, ledger, keybridge.conf" },
	{ "serve", NULL, "-d DIR [-n] [--est-listen ADDR:PORT] [--http-listen ADDR:PORT] "
	  "[--db PATH|URL] [--log-level error|warn|info|debug]",
	  "run the bridge in the foreground (EST, OCSP, CRLs, the JSON API) until SIGTERM; "
	  "SIGHUP reloads keybridge.conf" },
	{ "check", NULL, "-d DIR [--db PATH|URL]",
	  "check the configuration, every key and certificate and the database; start nothing "
	  "(exit 0 good, 1 problems)" },
	{ "account", "keygen", "--out FILE [--type ed25519|ec-p256]",
	  "make an account key pair: FILE (0600) and FILE.pub" },
	{ "account", "create", "-d DIR --name N --pubkey FILE... [--threshold M] "
	  "[--role admin|bridge]",
	  "create an account on the ledger" },
	{ "account", "update", "-d DIR --name N --pubkey FILE... [--threshold M]",
	  "replace an account's keys and threshold" },
	{ "account", "show", "-d DIR --name N [--json]", "show one account" },
	{ "account", "list", "-d DIR [--json]", "list the accounts" },
	{ "key", "register", "-d DIR (--pubkey FILE | --csr FILE) --name NAME "
	  "[--profile device|server|admin] [--dns N]... [--ip A]... "
	  "[--not-before T] [--not-after T | --days N] [--config-group G]... "
	  "[--allow-same-name]",
	  "register a public key, so that it may enroll" },
	{ "key", "revoke", "-d DIR --key-id ID [--reason R]",
	  "revoke a key and its certificates" },
	{ "key", "preauth", "-d DIR --name NAME [--profile P] [--dns N]... [--ip A]... "
	  "[--not-before T] [--not-after T | --days N] [--expires T] "
	  "[--config-group G]...",
	  "pre-authorise a name whose key the bridge generates (serverkeygen)" },
	{ "key", "show", "-d DIR --key-id ID|PREFIX [--json]",
	  "show one key (a unique prefix of its id will do)" },
	{ "key", "list", "-d DIR [--status active|revoked] [--after ID] [--limit N] [--json]",
	  "list the keys" },
	{ "config", "publish", "-d DIR --group G --file F [--version V] [--note TEXT]",
	  "publish a configuration or firmware file for a group" },
	{ "config", "history", "-d DIR --group G [--json]",
	  "list a group's published versions" },
	{ "config", "get", "-d DIR --group G [--version V] -o FILE",
	  "write a published version's bytes to FILE" },
	{ "config", "diff", "-d DIR --group G V1 V2",
	  "compare two published versions" },
	{ "config", "bundle", "-d DIR --group G --file F -o DIR2",
	  "write the current publication F and its proof bundle F.tlog-proof into DIR2" },
	{ "proof", "config", "-d DIR --group G (--file F | --sha256 H | --version V) "
	  "-o FILE [--since SIZE]",
	  "a proof bundle for a published file" },
	{ "proof", "key", "-d DIR --key-id ID -o FILE [--since SIZE]",
	  "a proof bundle for a key's registration" },
	{ "proof", "cert", "-d DIR --serial S -o FILE [--since SIZE]",
	  "a proof bundle for a certificate" },
	{ "proof", "status", "-d DIR (--key-id ID | --serial S) -o FILE",
	  "a key's or certificate's status with its map proof (or its absence)" },
	{ "ledger", "verify", "-d DIR [--vkey VKEY] [--checkpoint FILE]... "
	  "[--receipt FILE]... [--no-remember] [--policy FILE]",
	  "replay the whole ledger and check every signature, rule, root and checkpoint "
	  "(on KEYBRIDGE_VERIFY_THREADS threads, default one per CPU)" },
	{ "ledger", "log", "-d DIR [--from N] [--limit N] [--json]",
	  "list entries in log order" },
	{ "ledger", "checkpoint", "-d DIR", "print the latest signed checkpoint" },
	{ "policy", NULL, "-d DIR [--json]",
	  "print the verification policy: origin, node key, validators, quorum" },
	{ "ca", "move-to-token", "-d DIR --pkcs11-module SO --pkcs11-token LABEL "
	  "--pkcs11-pin-file FILE [--shred]",
	  "move the CA, OCSP, bridge and node keys into a PKCS#11 token" },
	{ "ca", "rollover", "-d DIR --root-key FILE",
	  "make a new issuing CA and OCSP signer under the root; serve takes it at its next start" },
	{ "validator", "init", "VDIR --name NAME --listen ADDR:PORT --ledger URL "
	  "--log-vkey VKEY [--ledger-ca FILE] [--origin ORIGIN] [--witness]",
	  "create a validator's directory and key" },
	{ "validator", "serve", "-d VDIR [--log-level error|warn|info|debug]",
	  "run a validator in the foreground until SIGTERM" },
	{ "backup", NULL, "-d DIR -o FILE [--with-keys] [--progress]",
	  "a consistent online backup of DIR (ledger, configuration, certificates) into FILE" },
	{ "restore", NULL, "-i FILE -d NEWDIR [--checkpoint FILE]...",
	  "a new data directory from a backup, its manifest checked and its ledger verified" },
	{ "validator", "status", "-d VDIR",
	  "a validator's state and lag (exit 0, 1 error, 2 equivocation, 3 unreachable)" },
};
#define HELP_NCMDS (sizeof(help_cmds) / sizeof(help_cmds[0]))

/* The options: name, its argument (NULL: a flag), what it does.  An entry
 * with a command ("key register") applies there only and wins over the
 * general one. */
static const struct help_opt {
	const char *cmd, *name, *arg, *what;
} help_opts[] = {
	{ NULL, "dir", "DIR", "the data directory (VDIR for a validator)" },
	{ NULL, "as", "ACCOUNT", "sign as this account (default admin)" },
	{ NULL, "account", "KEYFILE", "a key of that account (repeatable; default DIR/admin.key)" },
	{ NULL, "json", NULL, "print JSON instead of text" },
	{ NULL, "remote", NULL, "go through the running bridge's API even when not needed" },
	{ NULL, "wait", "SECONDS", "wait that long for a starting bridge that holds the lock (default 10, or KEYBRIDGE_WAIT)" },
	{ NULL, "name", "NAME", "the name (account, key, bridge or validator)" },
	{ "init", "name", "NAME", "the bridge's name, prefix of its CA names (default keybridge)" },
	{ "account create", "name", "NAME", "the account's name" },
	{ "account update", "name", "NAME", "the account's name" },
	{ "account show", "name", "NAME", "the account's name" },
	{ "key register", "name", "NAME", "the key's name (its certificates' CN)" },
	{ "key preauth", "name", "NAME", "the name the generated key will have" },
	{ "validator init", "name", "NAME", "the cosigner name (1-64 characters, no space or +)" },
	{ NULL, "hostname", "H", "a name of the TLS certificate (repeatable)" },
	{ NULL, "key-type", "TYPE", "the CA keys: ec-p256 (default) or rsa-3072" },
	{ NULL, "subject-o", "ORG", "the CA names' organizationName (at most 64 characters)" },
	{ NULL, "subject-c", "CC", "the CA names' countryName, ISO 3166 alpha-2 (DE, US, ...)" },
	{ NULL, "subject-ou", "OU", "the CA names' organizationalUnitName (with --subject-o)" },
	{ NULL, "est-listen", "ADDR:PORT", "HTTPS listener: EST, the API, the dashboard" },
	{ NULL, "http-listen", "ADDR:PORT", "plain-HTTP listener: OCSP, CRLs, /metrics" },
	{ NULL, "db", "PATH|URL", "the ledger: an SQLite file or a postgresql:// URL (default: db of keybridge.conf)" },
	{ NULL, "log-level", "LEVEL", "error, warn, info or debug" },
	{ NULL, "pubkey", "FILE", "a public key, PEM (repeatable for accounts)" },
	{ NULL, "csr", "FILE", "a PKCS#10 request whose key is registered (PEM or DER)" },
	{ NULL, "profile", "P", "device (default), server or admin" },
	{ NULL, "dns", "NAME", "a DNS name the certificates may carry (repeatable)" },
	{ NULL, "ip", "ADDR", "an IP address the certificates may carry (repeatable)" },
	{ NULL, "not-before", "T", "start of the key's window, RFC 3339 UTC" },
	{ NULL, "not-after", "T", "end of the key's window, RFC 3339 UTC" },
	{ NULL, "days", "N", "the window ends N days from now" },
	{ NULL, "key-id", "ID", "a key id: SHA-256 of the public key, hex" },
	{ "key show", "key-id", "ID", "a key id, or a unique prefix of one (4 hex digits at least)" },
	{ NULL, "reason", "R", "RFC 5280 reason: unspecified, keyCompromise, superseded, ..." },
	{ NULL, "status", "S", "only keys of this status: active or revoked" },
	{ NULL, "limit", "N", "at most N lines" },
	{ NULL, "after", "ID", "continue after this key id (paging)" },
	{ NULL, "threshold", "M", "signatures needed (default 1)" },
	{ NULL, "role", "ROLE", "admin (default) or bridge" },
	{ NULL, "out", "FILE", "write to FILE (also -o)" },
	{ NULL, "type", "TYPE", "the key type: ed25519 (default) or ec-p256" },
	{ NULL, "group", "G", "the configuration group" },
	{ NULL, "file", "F", "the file" },
	{ NULL, "version", "V", "the version name (publish: default its SHA-256 prefix)" },
	{ NULL, "from", "N", "start at entry index N (default 0)" },
	{ NULL, "vkey", "VKEY", "trust this node verifier key instead of keybridge.conf's" },
	{ NULL, "expires", "T", "the pre-authorisation ends at T, RFC 3339 UTC" },
	{ NULL, "checkpoint", "FILE", "the ledger must extend this signed checkpoint (repeatable)" },
	{ NULL, "receipt", "FILE", "the ledger must hold this receipt's entry (repeatable)" },
	{ NULL, "no-remember", NULL, "neither read nor advance DIR/checkpoint.trusted" },
	{ NULL, "pkcs11-module", "SO", "the PKCS#11 module" },
	{ NULL, "pkcs11-token", "LABEL", "the token's label" },
	{ NULL, "pkcs11-pin-file", "FILE", "the user PIN, in a 0600 file" },
	{ NULL, "shred", NULL, "overwrite and remove the key files once moved" },
	{ NULL, "validator", "NAME=VKEY@URL", "a validator that cosigns every checkpoint (repeatable)" },
	{ NULL, "witness", "NAME=VKEY@URL", "a witness that cosigns every checkpoint (repeatable)" },
	{ "validator init", "witness", NULL, "check consistency only (a witness), keep no registry" },
	{ NULL, "quorum", "N", "cosignatures every checkpoint needs (default: 3 of 4)" },
	{ NULL, "policy", "FILE", "a verification policy: every checkpoint needs its quorum" },
	{ NULL, "listen", "ADDR:PORT", "where the validator listens" },
	{ NULL, "ledger", "URL", "the bridge, https://HOST:PORT" },
	{ NULL, "ledger-ca", "FILE", "the CA (PEM) that verifies the bridge (default: the system's)" },
	{ NULL, "origin", "ORIGIN", "the log's origin (default: the bridge's checkpoint's)" },
	{ NULL, "log-vkey", "VKEY", "the bridge node's checkpoint verifier key" },
	{ NULL, "since", "SIZE", "add a consistency proof from tree size SIZE" },
	{ NULL, "serial", "S", "a certificate serial number, hex" },
	{ NULL, "sha256", "H", "the file's SHA-256, hex" },
	{ NULL, "note", "TEXT", "a note recorded with the publication" },
	{ NULL, "config-group", "G", "a configuration group its device may read (repeatable, at most 16)" },
	{ NULL, "allow-same-name", NULL, "register even when an active key already has the name" },
	{ "serve", "n", NULL, "check DIR as keybridge check does, start nothing, exit 0 or 1" },
	{ "backup", "out", "FILE", "the archive to write (refused when it exists)" },
	{ "restore", "checkpoint", "FILE", "a checkpoint this node signed after the backup: the restored key process is fenced at it (repeatable)" },
	{ "restore", "file", "FILE", "the archive of keybridge backup to restore" },
	{ "restore", "dir", "NEWDIR", "the data directory to make (new, or empty)" },
	{ NULL, "with-keys", NULL, "add the private keys (the archive holds them: keep it as the keys)" },
	{ NULL, "progress", NULL, "show the ledger pages copied on stderr (default: when it is a terminal)" },
	{ NULL, "root-key", "FILE", "the root CA's key (kept offline; init wrote it)" },
	{ NULL, "root-key-out", "FILE", "write the root CA's key there, not DIR/ca/root.key (then move it offline)" },
	{ NULL, "help", NULL, "print this help" },
};
#define HELP_NOPTS (sizeof(help_opts) / sizeof(help_opts[0]))

/* Prints head then text on f, wrapped at spaces before HELP_WIDTH, the
 * lines after the first indented by HELP_INDENT; a group in brackets or
 * parentheses stays on one line. */
static void
help_wrap(FILE *f, const char *head, const char *text)
{
	size_t col = strlen(head), w;
	const char *p = text, *e;
	int depth;

	fputs(head, f);
	while (*p != '\0') {
		/* a bracketed group ("[--db PATH|URL]") is not broken */
		for (e = p, depth = 0; *e != '\0' && (*e != ' ' || depth > 0);
		    e++)
			depth += (*e == '[' || *e == '(') - (*e == ']' ||
			    *e == ')');
		w = (size_t)(e - p);
		if (col > HELP_INDENT && col + 1 + w >= HELP_WIDTH) {
			fprintf(f, "\n%*s", HELP_INDENT, "");
			col = HELP_INDENT;
		} else if (p != text || col > 0) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, w, f);
		col += w;
		p = *e == ' ' ? e + 1 : e;
	}
	fputc('\n', f);
}

/* The table entry of cmd [sub], or NULL. */
static const struct help_cmd *
help_find(const char *cmd, const char *sub)
{
	size_t i;

	for (i = 0; i < HELP_NCMDS; i++)
		if (strcmp(help_cmds[i].cmd, cmd) == 0 &&
		    (sub == NULL ? help_cmds[i].sub == NULL :
		    help_cmds[i].sub != NULL && strcmp(help_cmds[i].sub,
		    sub) == 0))
			return &help_cmds[i];
	return NULL;
}

int
help_has_subcommands(const char *cmd)
{
	size_t i;

	for (i = 0; i < HELP_NCMDS; i++)
		if (strcmp(help_cmds[i].cmd, cmd) == 0 &&
		    help_cmds[i].sub != NULL)
			return 1;
	return 0;
}

int
help_is_command(const char *cmd)
{
	size_t i;

	for (i = 0; i < HELP_NCMDS; i++)
		if (strcmp(help_cmds[i].cmd, cmd) == 0)
			return 1;
	return 0;
}

/* The description of option name in "cmd sub" (full), or NULL. */
static const struct help_opt *
help_option(const char *full, const char *name)
{
	const struct help_opt *gen = NULL;
	size_t i;

	for (i = 0; i < HELP_NOPTS; i++) {
		if (strcmp(help_opts[i].name, name) != 0)
			continue;
		if (help_opts[i].cmd == NULL)
			gen = &help_opts[i];
		else if (strcmp(help_opts[i].cmd, full) == 0)
			return &help_opts[i];
	}
	return gen;
}

/* One option line: "  --name ARG    what". */
static void
help_option_line(FILE *f, const char *full, const char *name)
{
	const struct help_opt *o = help_option(full, name);
	char left[64];

	snprintf(left, sizeof(left), "%s%s%s%s%s",
	    strcmp(name, "dir") == 0 ? "-d, " : strcmp(name, "out") == 0 ?
	    "-o, " : strcmp(name, "help") == 0 ? "-h, " :
	    strcmp(name, "file") == 0 && strcmp(full, "restore") == 0 ?
	    "-i, " : "",
	    name[1] == '\0' ? "-" : "--",	/* -n: no long form */
	    name, o != NULL && o->arg != NULL ? " " : "",
	    o != NULL && o->arg != NULL ? o->arg : "");
	fprintf(f, "  %-*s %s\n", HELP_OPT_COL - 3, left, o != NULL ?
	    o->what : "(no description: add one to bridge/cli/help.c)");
}

void
help_command(const char *cmd, const char *sub, const char *allowed)
{
	const struct help_cmd *h = help_find(cmd, sub);
	char full[64], name[64], head[96];
	const char *p, *e;
	size_t len;

	snprintf(full, sizeof(full), "%s%s%s", cmd, sub != NULL ? " " : "",
	    sub != NULL ? sub : "");
	snprintf(head, sizeof(head), "usage: keybridge %s", full);
	help_wrap(stdout, head, h != NULL ? h->synopsis : "[options]");
	if (h != NULL)
		printf("%s\n", h->what);
	printf("\noptions:\n");
	/* -d when the command names a data directory */
	if (h != NULL && strstr(h->synopsis, "-d ") != NULL)
		help_option_line(stdout, full, "dir");
	for (p = allowed; *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		if (len == 0 || len >= sizeof(name))
			continue;
		memcpy(name, p, len);
		name[len] = '\0';
		help_option_line(stdout, full, name);
	}
	help_option_line(stdout, full, "help");
	printf("\nman keybridge, or docs/cli.md, says more.\n");
}

void
help_subcommands(FILE *f, const char *cmd)
{
	size_t i;

	fprintf(f, "usage: keybridge %s SUBCOMMAND [options]\n\n", cmd);
	for (i = 0; i < HELP_NCMDS; i++)
		if (strcmp(help_cmds[i].cmd, cmd) == 0 &&
		    help_cmds[i].sub != NULL)
			fprintf(f, "  %-14s %s\n", help_cmds[i].sub,
			    help_cmds[i].what);
	fprintf(f, "\nkeybridge %s SUBCOMMAND --help (or keybridge help %s "
	    "SUBCOMMAND): its options\n", cmd, cmd);
}

void
help_overview(FILE *f)
{
	char head[64];
	size_t i;

	fprintf(f, "usage: keybridge COMMAND [SUBCOMMAND] [options]\n\n");
	for (i = 0; i < HELP_NCMDS; i++) {
		snprintf(head, sizeof(head), "  %s%s%s", help_cmds[i].cmd,
		    help_cmds[i].sub != NULL ? " " : "",
		    help_cmds[i].sub != NULL ? help_cmds[i].sub : "");
		help_wrap(f, head, help_cmds[i].synopsis);
	}
	fprintf(f, "\n"
	    "keybridge COMMAND [SUBCOMMAND] --help, or keybridge help COMMAND "
	    "[SUBCOMMAND]:\n  what it does and one line per option.\n"
	    "keybridge -V, --version: the version.\n"
	    "signing options (commands that write): --as ACCOUNT (default "
	    "admin),\n  --account KEYFILE (repeatable; default DIR/admin.key), "
	    "--json, --remote,\n  --wait SECONDS\n"
	    "database: --db PATH|URL (every -d DIR command): an sqlite file, "
	    "or a\n  postgresql://user@host:port/dbname URL (default: db in "
	    "keybridge.conf)\n"
	    "times are RFC 3339 UTC: 2026-11-21T14:07:08Z\n");
}
