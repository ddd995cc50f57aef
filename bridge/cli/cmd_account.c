/*
 * cmd_account.c: `keybridge init` and `keybridge account ...`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "bridge/cli/cli.h"
#include "bridge/keyproc/sandbox.h"

/* Writes the public half of key as PEM to path (0644). */
static int
pubkey_save(EVP_PKEY *key, const char *path)
{
	FILE *fp = fopen(path, "wx");
	int rc = -1;

	if (fp == NULL)
		return -1;
	if (PEM_write_PUBKEY(fp, key) == 1)
		rc = 0;
	if (fclose(fp) != 0)
		rc = -1;
	return rc;
}

/* Base64 SPKI of a PEM public key file (Ed25519 or P-256). */
static int
pubkey_file_b64(const char *path, char *out, size_t outlen)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *pk = NULL;
	char why[160];
	int rc = -1;

	if (fp == NULL) {
		cli_fail("usage", "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	pk = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
	fclose(fp);
	if (pk == NULL || ledger_pubkey_to_b64(pk, out, outlen) != 0) {
		cli_fail("bad_key", "%s is not a PEM public key", path);
		goto out;
	}
	EVP_PKEY_free(pk);
	/* Only the account key types the ledger verifies. */
	if ((pk = ledger_account_key_parse(out, why, sizeof(why))) == NULL) {
		cli_fail("bad_key", "%s: %s (account keys are Ed25519 or "
		    "ECDSA P-256)", path, why);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pk);
	return rc;
}

/* The body of an account-create or -update entry. */
static int
account_write(struct cli *c, enum ledger_entry_type type)
{
	struct ledger_field f[3 + CLI_MAX_REPEAT];
	struct ledger_receipt r;
	char keys[CLI_MAX_REPEAT][256], what[128];
	size_t n = 0;

	if (cli_only(c, type == LEDGER_ACCOUNT_CREATE ?
	    "as account json remote name pubkey threshold role db" :
	    "as account json remote name pubkey threshold db") != 0)
		return 1;
	if (c->o.name == NULL || c->o.npubkey == 0)
		return cli_fail("usage", "account %s needs --name and at least "
		    "one --pubkey", type == LEDGER_ACCOUNT_CREATE ? "create" :
		    "update");
	if (c->o.npubkey > LEDGER_MAX_ACCT_KEYS)
		return cli_fail("usage", "an account has at most %d keys",
		    LEDGER_MAX_ACCT_KEYS);
	f[n++] = (struct ledger_field){ "name", c->o.name };
	if (type == LEDGER_ACCOUNT_CREATE) {
		const char *role = c->o.role != NULL ? c->o.role : "admin";

		if (strcmp(role, "admin") != 0 && strcmp(role, "bridge") != 0)
			return cli_fail("usage", "--role must be admin or "
			    "bridge");
		f[n++] = (struct ledger_field){ "role", role };
	}
	f[n++] = (struct ledger_field){ "threshold",
	    c->o.threshold != NULL ? c->o.threshold : "1" };
	for (int i = 0; i < c->o.npubkey; i++) {
		if (pubkey_file_b64(c->o.pubkey[i], keys[i],
		    sizeof(keys[i])) != 0)
			return 1;
		f[n++] = (struct ledger_field){ "pubkey", keys[i] };
	}
	if (type == LEDGER_ACCOUNT_UPDATE && c->as != NULL &&
	    strcmp(c->as, "admin") == 0 && strcmp(c->o.name, "admin") != 0)
		c->as = c->o.name;	/* an account updates itself */
	if (cli_submit(c, type, f, n, &r) != 0)
		return 1;
	snprintf(what, sizeof(what), "%s account %s",
	    type == LEDGER_ACCOUNT_CREATE ? "created" : "updated", c->o.name);
	cli_print_receipt(c, &r, what, NULL);
	return 0;
}

static int
account_print(const struct ledger_account_info *a, void *arg)
{
	struct cli *c = arg;
	json_t *j;

	if (!c->json) {
		printf("%-20s role %-6s %d of %d keys, seq %llu, created at "
		    "leaf %llu\n", a->name, a->role, a->threshold, a->nkeys,
		    (unsigned long long)a->seq,
		    (unsigned long long)a->created_index);
		return 0;
	}
	if ((j = render_account_json(a)) != NULL) {
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
	}
	json_decref(j);
	return 0;
}

static int
account_read(struct cli *c, int show)
{
	struct ledger_account_info a;
	struct ledger *l;
	int rc = 1, found;

	if (cli_only(c, show ? "json name db" : "json db") != 0)
		return 1;
	if (show && c->o.name == NULL)
		return cli_fail("usage", "account show needs --name");
	if ((l = cli_ledger_open(c, 0)) == NULL)
		return 1;
	if (show) {
		if ((found = ledger_account_get(l, c->o.name, &a)) == 1)
			rc = cli_fail("account_not_found", "no account %s",
			    c->o.name);
		else if (found == 0)
			rc = account_print(&a, c);
	} else
		rc = ledger_accounts(l, account_print, c) == 0 ? 0 : 1;
	cli_ledger_close(c, l);
	return rc;
}

/* account keygen: a new account key pair for an operator. */
static int
account_keygen(struct cli *c)
{
	const char *type = c->o.type != NULL ? c->o.type : "ed25519";
	char pub[PATH_MAX];
	EVP_PKEY *k;
	int rc = 1;

	if (cli_only(c, "out type") != 0)
		return 1;
	if (c->o.out == NULL)
		return cli_fail("usage", "account keygen needs --out FILE");
	if (strcmp(type, "ed25519") != 0 && strcmp(type, "ec-p256") != 0)
		return cli_fail("usage", "--type must be ed25519 or ec-p256");
	snprintf(pub, sizeof(pub), "%s.pub", c->o.out);
	if ((k = ledger_key_generate(type)) == NULL)
		return cli_fail("key", "cannot generate a key");
	if (ledger_key_save(k, c->o.out) != 0)
		cli_fail("key", "cannot create %s (%s)", c->o.out,
		    errno == EEXIST ? "it exists" : strerror(errno));
	else if (pubkey_save(k, pub) != 0)
		cli_fail("key", "cannot create %s", pub);
	else {
		printf("private key %s (mode 0600), public key %s\n", c->o.out,
		    pub);
		rc = 0;
	}
	EVP_PKEY_free(k);
	return rc;
}

int
cmd_account(struct cli *c, const char *sub)
{
	c->cmd = "account";
	if (strcmp(sub, "keygen") == 0)
		return account_keygen(c);
	if (cli_load_config(c) != 0)
		return 1;
	if (strcmp(sub, "create") == 0)
		return account_write(c, LEDGER_ACCOUNT_CREATE);
	if (strcmp(sub, "update") == 0)
		return account_write(c, LEDGER_ACCOUNT_UPDATE);
	if (strcmp(sub, "show") == 0)
		return account_read(c, 1);
	if (strcmp(sub, "list") == 0)
		return account_read(c, 0);
	return cli_fail("usage", "account keygen|create|update|show|list");
}

/* ---- init -------------------------------------------------------------- */

/* Appends one genesis entry signed by key as account `as`. */
static int
init_append(struct ledger *l, const char *origin, const char *as,
    uint64_t seq, EVP_PKEY *key, const struct ledger_field *f, size_t n)
{
	struct ledger_receipt r;
	enum ledger_status st;
	char why[256], *note;

	note = ledger_entry_body(LEDGER_ACCOUNT_CREATE, as, seq, time(NULL),
	    origin, f, n);
	if (note != NULL)
		note = ledger_entry_sign(note, as, key);
	if (note == NULL)
		return cli_fail("init", "cannot sign the genesis entries");
	st = ledger_append(l, note, strlen(note), &r, why, sizeof(why));
	free(note);
	if (st != LEDGER_OK)
		return cli_fail(ledger_status_code(st), "genesis: %s", why);
	return 0;
}

/* The genesis block: the admin account creates itself (entry 0), then the
 * bridge's own account, which records issued certificates (entry 1). */
static int
init_genesis(struct bridge_config *cfg, EVP_PKEY *node, EVP_PKEY *admin,
    EVP_PKEY *bridge, char *err, size_t errlen)
{
	struct ledger_config lc;
	struct ledger *l = NULL;
	struct ledger_consensus *cons;
	struct ledger_field f[4];
	char akey[256], bkey[256], db[PATH_MAX];
	int rc = 1;

	memset(&lc, 0, sizeof(lc));
	lc.db = config_path(cfg, cfg->db, db, sizeof(db));
	lc.origin = cfg->origin;
	lc.allow_async_commit = cfg->db_allow_async_commit != 0;
	if ((cons = ledger_consensus_solo_new(node, cfg->validator_name)) ==
	    NULL)
		return 1;
	lc.consensus = cons;
	if ((l = ledger_open(&lc, err, errlen)) == NULL)
		goto out;
	/* A PostgreSQL database outlives data directories: never mix two
	 * ledgers in one. */
	if (ledger_size(l) > 0) {
		snprintf(err, errlen, "the database already holds a ledger "
		    "(%llu entries); give init an empty one",
		    (unsigned long long)ledger_size(l));
		goto out;
	}
	if (ledger_pubkey_to_b64(admin, akey, sizeof(akey)) != 0 ||
	    ledger_pubkey_to_b64(bridge, bkey, sizeof(bkey)) != 0)
		goto out;
	f[0] = (struct ledger_field){ "name", "admin" };
	f[1] = (struct ledger_field){ "role", "admin" };
	f[2] = (struct ledger_field){ "threshold", "1" };
	f[3] = (struct ledger_field){ "pubkey", akey };
	if (init_append(l, cfg->origin, "admin", 1, admin, f, 4) != 0)
		goto out;
	f[0] = (struct ledger_field){ "name", cfg->bridge_account };
	f[1] = (struct ledger_field){ "role", "bridge" };
	f[3] = (struct ledger_field){ "pubkey", bkey };
	if (init_append(l, cfg->origin, "admin", 2, admin, f, 4) != 0)
		goto out;
	rc = 0;
out:
	ledger_close(l);
	ledger_consensus_free(cons);
	return rc;
}

/* Generates and saves (0600) a key at the configured path. */
static EVP_PKEY *
init_key(struct bridge_config *cfg, const char *rel)
{
	char path[PATH_MAX];
	EVP_PKEY *k = ledger_key_generate("ed25519");

	if (k == NULL || ledger_key_save(k, config_path(cfg, rel, path,
	    sizeof(path))) != 0) {
		cli_fail("init", "cannot create %s", path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* "https://" + a listen address, with a wildcard made loopback. */
static void
init_url(char *out, size_t outlen, const char *scheme, const char *listen)
{
	if (strncmp(listen, "0.0.0.0:", 8) == 0)
		snprintf(out, outlen, "%s://127.0.0.1:%s", scheme, listen + 8);
	else
		snprintf(out, outlen, "%s://%s", scheme, listen);
}

/* The configuration init writes: the defaults, then --name, --est-listen,
 * --http-listen and --db.  0, or 1 after a message (the new directory
 * removed). */
static int
init_settings(struct cli *c)
{
	struct bridge_config *cfg = &c->cfg;

	config_defaults(cfg, c->o.dir);
	if (c->o.name != NULL) {
		snprintf(cfg->name, sizeof(cfg->name), "%s", c->o.name);
		snprintf(cfg->validator_name, sizeof(cfg->validator_name),
		    "%s-node", c->o.name);
	}
	if (c->o.est_listen != NULL) {
		snprintf(cfg->est_listen, sizeof(cfg->est_listen), "%s",
		    c->o.est_listen);
		init_url(cfg->public_https_url, sizeof(cfg->public_https_url),
		    "https", c->o.est_listen);
	}
	if (c->o.db != NULL &&
	    (size_t)snprintf(cfg->db, sizeof(cfg->db), "%s", c->o.db) >=
	    sizeof(cfg->db)) {
		rmdir(c->o.dir);
		return cli_fail("usage", "--db is longer than %zu bytes",
		    sizeof(cfg->db) - 1);
	}
	if (c->o.http_listen != NULL) {
		snprintf(cfg->http_listen, sizeof(cfg->http_listen), "%s",
		    c->o.http_listen);
		init_url(cfg->public_http_url, sizeof(cfg->public_http_url),
		    "http", c->o.http_listen);
	}
	/* The CA names, kept for a later issuing CA (init_subject_check
	 * bounded them). */
	if (c->o.subject_o != NULL)
		snprintf(cfg->ca_subject_o, sizeof(cfg->ca_subject_o), "%s",
		    c->o.subject_o);
	if (c->o.subject_c != NULL)
		snprintf(cfg->ca_subject_c, sizeof(cfg->ca_subject_c), "%s",
		    c->o.subject_c);
	if (c->o.subject_ou != NULL)
		snprintf(cfg->ca_subject_ou, sizeof(cfg->ca_subject_ou), "%s",
		    c->o.subject_ou);
	return 0;
}

/* --subject-o, --subject-c, --subject-ou against X.520's bounds (and
 * ISO 3166 for C), before anything is created.  0, or 1 after a
 * message. */
static int
init_subject_check(struct cli *c)
{
	const struct { const char *v, *opt; int country; } s[] = {
		{ c->o.subject_o, "subject-o", 0 },
		{ c->o.subject_c, "subject-c", 1 },
		{ c->o.subject_ou, "subject-ou", 0 },
	};
	char why[CONFIG_STR];
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i].v != NULL && (strlen(s[i].v) >= CONFIG_STR ||
		    ca_subject_check(s[i].v, s[i].country, why,
		    sizeof(why)) != 0))
			return cli_fail("usage", "--%s %s", s[i].opt,
			    strlen(s[i].v) >= CONFIG_STR ? "is too long" :
			    why);
	if (c->o.subject_ou != NULL && c->o.subject_o == NULL)
		return cli_fail("usage", "--subject-ou needs --subject-o (a "
		    "unit of which organisation?)");
	return 0;
}

/* init's checks of its options, before anything is made; the token's
 * PIN into pin when it takes one.  0, or 1 after a message. */
static int
init_check(struct cli *c, char pin[CA_PIN_MAX + 1])
{
	struct stat st;

	if (cli_only(c, "name hostname key-type est-listen http-listen db "
	    "pkcs11-module pkcs11-token pkcs11-pin-file validator witness "
	    "quorum subject-o subject-c subject-ou root-key-out") != 0)
		return 1;
	if (c->o.dir == NULL)
		return cli_fail("usage", "keybridge init DIR");
	if (stat(c->o.dir, &st) == 0 && !(S_ISDIR(st.st_mode) &&
	    rmdir(c->o.dir) == 0))
		return cli_fail("init", "%s exists and is not an empty "
		    "directory; choose a new one", c->o.dir);
	if (c->o.key_type != NULL && strcmp(c->o.key_type, "ec-p256") != 0 &&
	    strcmp(c->o.key_type, "rsa-3072") != 0)
		return cli_fail("usage", "--key-type must be ec-p256 or "
		    "rsa-3072");
	if (init_subject_check(c) != 0)
		return 1;
	if (cli_token_check(c, pin) != 0)
		return 1;
	return 0;
}

/* --root-key-out FILE, made absolute into root_key (relative to where
 * init runs, not to DIR); "" without it.  0, or 1 after a message. */
static int
init_root_key_out(struct cli *c, char *root_key, size_t len)
{
	char cwd[PATH_MAX];

	root_key[0] = '\0';
	if (c->o.root_key_out == NULL)
		return 0;
	if (c->o.root_key_out[0] == '/')
		snprintf(root_key, len, "%s", c->o.root_key_out);
	else if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    (size_t)snprintf(root_key, len, "%s/%s", cwd,
	    c->o.root_key_out) >= len)
		return cli_fail("usage", "--root-key-out %s: the path "
		    "is too long", c->o.root_key_out);
	return 0;
}

/* Everything init makes in the new directory c->o.dir: the settings, the
 * keys (in the token when pin is set), the PKI, config file and genesis.
 * 0, or 1 after a message. */
static int
init_make(struct cli *c, const char *pin, const char *root_key)
{
	struct bridge_config *cfg = &c->cfg;
	struct pki_init_opts po;
	EVP_PKEY *node = NULL, *admin = NULL, *bridge = NULL;
	EVP_PKEY *iss = NULL, *ocsp = NULL;	/* keys in a PKCS#11 token */
	char err[512], path[PATH_MAX];
	int rc = 1;

	memset(&po, 0, sizeof(po));
	if (init_settings(c) != 0)
		goto out;
	if (cli_init_validators(c) != 0) {
		rmdir(c->o.dir);
		goto out;
	}
	if (pin[0] != '\0' && cli_token_init(c, c->o.key_type != NULL ?
	    c->o.key_type : "ec-p256", pin, &iss, &ocsp) != 0)
		goto out;
	if ((node = init_key(cfg, cfg->validator_key)) == NULL ||
	    (admin = init_key(cfg, cfg->admin_key)) == NULL ||
	    (bridge = init_key(cfg, cfg->bridge_key)) == NULL)
		goto out;
	if (ledger_key_vkey(node, cfg->validator_name, cfg->validator_vkey,
	    sizeof(cfg->validator_vkey)) != 0) {
		cli_fail("init", "cannot format the validator key");
		goto out;
	}
	po.name = cfg->name;
	po.hostnames = c->o.hostname;
	po.nhostnames = (size_t)c->o.nhostname;
	po.key_type = c->o.key_type != NULL ? c->o.key_type : "ec-p256";
	po.root_key_out = root_key[0] != '\0' ? root_key : NULL;
	if (pki_init_token(cfg, &po, iss, ocsp, err, sizeof(err)) != 0) {
		cli_fail("init", "%s", err);
		goto out;
	}
	if (config_write(cfg, config_path(cfg, CONFIG_FILE, path,
	    sizeof(path))) != 0) {
		cli_fail("init", "cannot write %s", path);
		goto out;
	}
	if (init_genesis(cfg, node, admin, bridge, err, sizeof(err)) != 0) {
		cli_fail("init", "%s", err);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(iss);
	EVP_PKEY_free(ocsp);
	EVP_PKEY_free(node);
	EVP_PKEY_free(admin);
	EVP_PKEY_free(bridge);
	return rc;
}

/* What init made, and where the root key is (root_key, or DIR's). */
static void
init_report(struct cli *c, const char *root_key)
{
	const struct bridge_config *cfg = &c->cfg;

	printf("initialised %s\n"
	    "  ledger     %s (genesis: accounts admin and %s)\n"
	    "  admin key  %s/%s (mode 0600: keep it safe)\n"
	    "  root CA    %s/%s\n"
	    "  validator  %s\n"
	    "start it:    keybridge serve -d %s\n",
	    c->o.dir, cfg->db, cfg->bridge_account, c->o.dir, cfg->admin_key,
	    c->o.dir, cfg->ca_root, cfg->validator_vkey, c->o.dir);
	/* Issue 17: the root key is for `ca rollover` only. */
	if (root_key[0] != '\0')
		printf("root key:    %s (mode 0600): move it offline; `keybridge "
		    "ca rollover --root-key` needs it, serve never reads it\n",
		    root_key);
	else
		printf("root key:    %s/ca/root.key (mode 0600): move it "
		    "offline; `keybridge ca rollover --root-key` needs it, "
		    "serve never reads it\n", c->o.dir);
	if (cfg->nvalidators > 0)
		printf("cosigners:   %zu, quorum %ld (`keybridge policy -d %s` "
		    "prints the verification policy)\n", cfg->nvalidators,
		    cfg->quorum, c->o.dir);
}

int
cmd_init(struct cli *c)
{
	char err[512], pin[CA_PIN_MAX + 1] = "";
	static char root_key[PATH_MAX + 256];	/* --root-key-out, absolute */
	int rc = 1;

	if (init_check(c, pin) != 0 ||
	    init_root_key_out(c, root_key, sizeof(root_key)) != 0)
		goto out;
	if (mkdir(c->o.dir, 0700) != 0) {
		cli_fail("init", "cannot create %s: %s", c->o.dir,
		    strerror(errno));
		goto out;
	}
	if (init_make(c, pin, root_key) != 0)
		goto out;
	/* Run as root: the directory and the database become the bridge's
	 * user's; the keys stay root's (serve reads them before it drops). */
	if (sandbox_hand_over(&c->cfg, err, sizeof(err)) != 0)
		fprintf(stderr, "keybridge: warning: %s; until then %s stays "
		    "root's (serve hands it over when it starts)\n", err,
		    c->o.dir);
	init_report(c, root_key);
	rc = 0;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	return rc;
}
