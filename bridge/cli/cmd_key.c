/*
 * cmd_key.c: `keybridge key register|revoke|show|list` (config publish
 * is cmd_config.c's).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "bridge/cli/cli.h"

#define KEY_DEFAULT_DAYS 365
#define KEY_MAX_DAYS     36500
/* key show --key-id PREFIX: the shortest prefix taken (the dashboard shows
 * 12 hex digits), and how many matches an ambiguous one lists. */
#define KEY_PREFIX_MIN   4
#define KEY_PREFIX_LIST  10

/* What key_prefix_cb collects: the keys whose id starts with prefix. */
struct key_prefix {
	const char *prefix;
	size_t len;
	int n;					/* matches seen */
	char id[KEY_PREFIX_LIST][LEDGER_KEYID_LEN + 1];
	char name[KEY_PREFIX_LIST][LEDGER_NAME_MAX + 1];
};

/* ledger_keys callback: rows come in key id order from the first id
 * after the prefix, so the matches are the first rows. */
static int
key_prefix_cb(const struct ledger_key_info *k, void *arg)
{
	struct key_prefix *kp = arg;

	if (strncmp(k->key_id, kp->prefix, kp->len) != 0)
		return 1;	/* past the matches */
	if (kp->n < KEY_PREFIX_LIST) {
		snprintf(kp->id[kp->n], sizeof(kp->id[0]), "%s", k->key_id);
		snprintf(kp->name[kp->n], sizeof(kp->name[0]), "%s", k->name);
	}
	kp->n++;
	return 0;
}

/* The one key whose id starts with prefix (lowercase hex, at least
 * KEY_PREFIX_MIN digits), into full: a bound range query (key_id > prefix
 * in id order, ledger_keys), both backends.  0; 1 after a message (none,
 * ambiguous: each match listed, not hex); -1 when the ledger fails. */
static int
key_resolve_prefix(struct cli *c, struct ledger *l, const char *prefix,
    char full[LEDGER_KEYID_LEN + 1])
{
	struct ledger_key_filter f;
	struct key_prefix *kp;
	size_t len = strlen(prefix);
	int rc = 1;

	if (len < KEY_PREFIX_MIN || len > LEDGER_KEYID_LEN ||
	    strspn(prefix, "0123456789abcdef") != len)
		return cli_fail("usage", "--key-id must be a key id or a prefix "
		    "of at least %d lowercase hex digits, not \"%.80s\"",
		    KEY_PREFIX_MIN, prefix);
	if ((kp = calloc(1, sizeof(*kp))) == NULL)
		return -1;
	kp->prefix = prefix;
	kp->len = len;
	memset(&f, 0, sizeof(f));
	f.after = prefix;	/* every id with the prefix sorts after it */
	f.limit = KEY_PREFIX_LIST + 1;
	if (ledger_keys(l, &f, key_prefix_cb, kp) != 0) {
		rc = -1;
	} else if (kp->n == 0) {
		rc = cli_fail("key_not_found", "no key %s on the ledger (nor "
		    "one whose id starts with it)", prefix);
	} else if (kp->n > 1) {
		cli_fail("key_ambiguous", "%d%s keys start with %s: give more "
		    "of the id", kp->n, kp->n > KEY_PREFIX_LIST ? " or more" :
		    "", prefix);
		for (int i = 0; i < kp->n && i < KEY_PREFIX_LIST; i++)
			fprintf(stderr, "  %s  %s\n", kp->id[i], kp->name[i]);
	} else {
		snprintf(full, LEDGER_KEYID_LEN + 1, "%s", kp->id[0]);
		rc = 0;
	}
	free(kp);
	return rc;
}

/* key register: refuses (1 after a message) a name an active key already
 * has, unless --allow-same-name.  Names are in the signed entry and the
 * ledger's rules allow repeats (a replacement key may be registered before
 * the old one is revoked), so this is the command line's check, not a
 * rule.  self is the key being registered (its own row is not another).
 * Through a running bridge (--remote, or one holds the lock) the API
 * checks it (409 name_in_use), and the command reads no database: it may
 * be one only the bridge can reach, or one that is down (the API's 503).
 * 0 when the name is free or allowed, 1 after a message. */
static int
key_check_name(struct cli *c, const char *self)
{
	char id[LEDGER_KEYID_LEN + 1];
	struct ledger *l;
	int rc = 0, r, fd = -1;

	if (c->o.allow_same_name || c->remote)
		return 0;
	r = config_lock(&c->cfg, &fd);
	if (fd >= 0)
		close(fd);
	if (r == 1)
		return 0;
	if ((l = cli_ledger_open(c, 0)) == NULL)
		return 1;
	if ((r = ledger_key_active_named(l, c->o.name, self, id)) < 0)
		rc = cli_fail("ledger", "cannot list keys");
	else if (r == 0)
		rc = cli_fail("name_in_use", "the active key %s is already "
		    "named %s: revoke it first, or register this one too with "
		    "--allow-same-name", id, c->o.name);
	cli_ledger_close(c, l);
	return rc;
}

/* Reads the public key of --pubkey (PEM) or --csr (PEM or DER; its
 * signature must verify: it is the proof of possession).  On success *der
 * holds the key's canonical SPKI DER (ledger_spki_canonical: an EC key in
 * any encoding, compressed or with explicit curve parameters, becomes its
 * named curve and uncompressed point, so one key has one key id) and, for
 * a CSR, *csr_b64 its base64 DER. */
static int
key_read(struct cli *c, uint8_t **der, int *derlen, char **csr_b64)
{
	const char *path = c->o.csr != NULL ? c->o.csr : c->o.pubkey[0];
	EVP_PKEY *pk = NULL;
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	uint8_t *csrder = NULL;
	char why[160];
	int n, rc = 1;

	if ((bio = BIO_new_file(path, "rb")) == NULL) {
		rc = cli_fail("usage", "cannot read %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (c->o.csr != NULL) {
		if ((req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) ==
		    NULL) {
			BIO_reset(bio);
			req = d2i_X509_REQ_bio(bio, NULL);
		}
		if (req == NULL) {
			rc = cli_fail("bad_csr", "%s is not a PKCS#10 request",
			    path);
			goto out;
		}
		if (X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1) {
			rc = cli_fail("bad_csr", "the signature of %s does not "
			    "verify (no proof of possession)", path);
			goto out;
		}
		if ((n = i2d_X509_REQ(req, &csrder)) <= 0 ||
		    (*csr_b64 = malloc((size_t)n * 4 / 3 + 8)) == NULL ||
		    ledger_b64_encode(csrder, (size_t)n, *csr_b64,
		    (size_t)n * 4 / 3 + 8) != 0)
			goto out;
		if ((pk = X509_REQ_get_pubkey(req)) == NULL)
			goto out;
	} else if ((pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		rc = cli_fail("bad_key", "%s is not a PEM public key (make one "
		    "with: openssl pkey -in KEY -pubout)", path);
		goto out;
	}
	if ((*derlen = ledger_spki_canonical(pk, der, why, sizeof(why))) <
	    0) {
		rc = cli_fail("bad_key", "%s: %s", path, why);
		goto out;
	}
	/* RFC 8410 keys get device certificates only (issue_build): TLS
	 * servers and API clients keep to keys every stack accepts. */
	if (EVP_PKEY_is_a(pk, "ED25519") == 1 && c->o.profile != NULL &&
	    strcmp(c->o.profile, "device") != 0) {
		rc = cli_fail("bad_key", "%s is an Ed25519 key: the %s profile "
		    "takes EC or RSA keys (Ed25519 is for devices)", path,
		    c->o.profile);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && *csr_b64 != NULL) {
		free(*csr_b64);
		*csr_b64 = NULL;
	}
	OPENSSL_free(csrder);
	EVP_PKEY_free(pk);
	X509_REQ_free(req);
	BIO_free(bio);
	return rc;
}

/* The key window of --not-before / --not-after / --days (default: now
 * for a year).  0, or 1 after a message. */
static int
key_window(struct cli *c, time_t *nb, time_t *na)
{
	long days = KEY_DEFAULT_DAYS;

	*nb = time(NULL);
	if (c->o.not_before != NULL && ledger_time_parse(c->o.not_before,
	    nb) != 0)
		return cli_fail("usage", "--not-before must be like "
		    "2026-11-21T14:07:08Z");
	if (c->o.days != NULL) {
		char *end;

		days = strtol(c->o.days, &end, 10);
		if (*end != '\0' || days < 1 || days > KEY_MAX_DAYS)
			return cli_fail("usage", "--days must be 1 to %d",
			    KEY_MAX_DAYS);
	}
	*na = *nb + days * 86400;
	if (c->o.not_after != NULL && (c->o.days != NULL ||
	    ledger_time_parse(c->o.not_after, na) != 0))
		return cli_fail("usage", "--not-after must be like "
		    "2026-11-21T14:07:08Z (and not given with --days)");
	return 0;
}

/* Appends the name, profile, names, window and config-group fields
 * shared by key-register and key-preauth. */
static size_t
key_common_fields(struct cli *c, struct ledger_field *f, size_t n,
    const char *nb, const char *na)
{
	f[n++] = (struct ledger_field){ "name", c->o.name };
	f[n++] = (struct ledger_field){ "profile",
	    c->o.profile != NULL ? c->o.profile : "device" };
	for (int i = 0; i < c->o.ndns; i++)
		f[n++] = (struct ledger_field){ "dns", c->o.dns[i] };
	for (int i = 0; i < c->o.nip; i++)
		f[n++] = (struct ledger_field){ "ip", c->o.ip[i] };
	f[n++] = (struct ledger_field){ "not-before", nb };
	f[n++] = (struct ledger_field){ "not-after", na };
	for (int i = 0; i < c->o.ngroups; i++)
		f[n++] = (struct ledger_field){ "config-group", c->o.groups[i] };
	return n;
}

/* --config-group at most LEDGER_MAX_CONFIG_GROUPS times (the ledger's
 * bound; it checks the rest).  0, or 1 after a message. */
static int
key_groups_ok(struct cli *c)
{
	if (c->o.ngroups > LEDGER_MAX_CONFIG_GROUPS)
		return cli_fail("usage", "--config-group given more than %d "
		    "times", LEDGER_MAX_CONFIG_GROUPS);
	return 0;
}

#define PREAUTH_SECRET_BYTES 24
#define PREAUTH_DEFAULT_DAYS 7

/* key preauth: a one-time slot for a key the bridge will generate (EST
 * serverkeygen).  The secret is printed once and only its SHA-256 goes on
 * the ledger. */
static int
key_preauth(struct cli *c)
{
	struct ledger_field f[8 + 2 * CLI_MAX_REPEAT +
	    LEDGER_MAX_CONFIG_GROUPS];
	struct ledger_receipt r;
	uint8_t rnd[PREAUTH_SECRET_BYTES], md[32];
	char id[LEDGER_PREAUTH_ID_LEN + 1], secret[2 * PREAUTH_SECRET_BYTES + 1],
	    sha[65], nb[21], na[21], ex[21], what[256];
	time_t tnb, tna, tex = time(NULL) + PREAUTH_DEFAULT_DAYS * 86400;
	size_t n = 0;
	json_t *j;

	if (cli_only(c, "as account json remote name profile dns ip "
	    "not-before not-after days expires config-group db") != 0 ||
	    key_groups_ok(c) != 0)
		return 1;
	if (c->o.name == NULL)
		return cli_fail("usage", "key preauth needs --name (the device "
		    "or host name)");
	if (key_window(c, &tnb, &tna) != 0)
		return 1;
	if (c->o.expires != NULL && ledger_time_parse(c->o.expires, &tex) != 0)
		return cli_fail("usage", "--expires must be like "
		    "2026-11-28T14:07:08Z");
	if (RAND_bytes(rnd, LEDGER_PREAUTH_ID_LEN / 2) != 1)
		return cli_fail("random", "no randomness");
	ledger_hex(rnd, LEDGER_PREAUTH_ID_LEN / 2, id);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return cli_fail("random", "no randomness");
	ledger_hex(rnd, sizeof(rnd), secret);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (EVP_Digest(secret, strlen(secret), md, NULL, EVP_sha256(), NULL) !=
	    1)
		return cli_fail("hash", "cannot hash the secret");
	ledger_hex(md, sizeof(md), sha);
	ledger_time_format(tnb, nb);
	ledger_time_format(tna, na);
	ledger_time_format(tex, ex);
	f[n++] = (struct ledger_field){ "preauth-id", id };
	n = key_common_fields(c, f, n, nb, na);
	f[n++] = (struct ledger_field){ "expires", ex };
	f[n++] = (struct ledger_field){ "secret-sha256", sha };
	if (cli_submit(c, LEDGER_KEY_PREAUTH, f, n, &r) != 0) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return 1;
	}
	if (c->json) {
		cli_print_receipt(c, &r, "", NULL);
		j = json_pack("{s:s, s:s, s:s}", "preauth_id", id, "secret",
		    secret, "expires", ex);
		if (j != NULL)
			json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else {
		snprintf(what, sizeof(what), "pre-authorised %s", c->o.name);
		cli_print_receipt(c, &r, what, NULL);
		printf("preauth id %s\nsecret     %s  (shown once)\n"
		    "valid until %s.  The device enrolls with HTTP Basic "
		    "\"id:secret\" on /.well-known/est/serverkeygen.\n", id,
		    secret, ex);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	return 0;
}

static int
key_register(struct cli *c)
{
	struct ledger_field f[8 + 2 * CLI_MAX_REPEAT +
	    LEDGER_MAX_CONFIG_GROUPS];
	struct ledger_receipt r;
	uint8_t *der = NULL;
	char *spki = NULL, *csr = NULL, id[LEDGER_KEYID_LEN + 1], nb[21],
	    na[21], what[128];
	time_t not_before, not_after;
	size_t n = 0;
	int derlen = 0, rc = 1;

	if (cli_only(c, "as account json remote pubkey csr name profile dns "
	    "ip not-before not-after days config-group db allow-same-name") != 0 ||
	    key_groups_ok(c) != 0)
		return 1;
	if ((c->o.npubkey == 1) == (c->o.csr != NULL) || c->o.npubkey > 1)
		return cli_fail("usage", "key register needs one of --pubkey "
		    "FILE or --csr FILE");
	if (c->o.name == NULL)
		return cli_fail("usage", "key register needs --name (the "
		    "device or host name)");
	if (key_window(c, &not_before, &not_after) != 0)
		return 1;
	if (key_read(c, &der, &derlen, &csr) != 0)
		goto out;
	ledger_spki_key_id(der, (size_t)derlen, id);
	if (key_check_name(c, id) != 0)
		goto out;
	if ((spki = malloc((size_t)derlen * 2 + 8)) == NULL ||
	    ledger_b64_encode(der, (size_t)derlen, spki,
	    (size_t)derlen * 2 + 8) != 0)
		goto out;
	ledger_time_format(not_before, nb);
	ledger_time_format(not_after, na);
	f[n++] = (struct ledger_field){ "key-id", id };
	f[n++] = (struct ledger_field){ "spki", spki };
	n = key_common_fields(c, f, n, nb, na);
	if (csr != NULL)
		f[n++] = (struct ledger_field){ "csr", csr };
	if ((rc = cli_submit(c, LEDGER_KEY_REGISTER, f, n, &r)) != 0)
		goto out;
	snprintf(what, sizeof(what), "registered key %s", id);
	cli_print_receipt(c, &r, what, id);
out:
	OPENSSL_free(der);
	free(spki);
	free(csr);
	return rc;
}

static int
key_revoke(struct cli *c)
{
	struct ledger_field f[2];
	struct ledger_receipt r;
	char what[128];
	const char *reason = c->o.reason != NULL ? c->o.reason : "unspecified";

	if (cli_only(c, "as account json remote key-id reason db") != 0)
		return 1;
	if (c->o.key_id == NULL)
		return cli_fail("usage", "key revoke needs --key-id ID");
	if (ledger_reason_parse(reason) < 0)
		return cli_fail("usage", "--reason must be one of unspecified, "
		    "keyCompromise, cACompromise, affiliationChanged, "
		    "superseded, cessationOfOperation, privilegeWithdrawn");
	f[0] = (struct ledger_field){ "key-id", c->o.key_id };
	f[1] = (struct ledger_field){ "reason", reason };
	if (cli_submit(c, LEDGER_KEY_REVOKE, f, 2, &r) != 0)
		return 1;
	snprintf(what, sizeof(what), "revoked key %s (%s)", c->o.key_id,
	    reason);
	cli_print_receipt(c, &r, what, c->o.key_id);
	return 0;
}

static void
key_print(struct cli *c, const struct ledger_key_info *k, int verbose)
{
	json_t *j;

	if (c->json) {
		if ((j = render_key_json(k)) != NULL) {
			json_dumpf(j, stdout, JSON_COMPACT);
			putchar('\n');
		}
		json_decref(j);
		return;
	}
	printf("%s  %-7s  %-6s  %s", k->key_id, k->status == LEDGER_KEY_REVOKED
	    ? "revoked" : "active", k->profile, k->name);
	if (verbose) {
		char nb[21], na[21];

		ledger_time_format(k->not_before, nb);
		ledger_time_format(k->not_after, na);
		printf("\n  account %s, registered at leaf %llu\n  valid %s to "
		    "%s", k->account, (unsigned long long)k->registered_index,
		    nb, na);
		for (int i = 0; i < k->ndns; i++)
			printf("\n  dns %s", k->dns[i]);
		for (int i = 0; i < k->nip; i++)
			printf("\n  ip %s", k->ip[i]);
		for (int i = 0; i < k->ngroups; i++)
			printf("\n  config-group %s", k->groups[i]);
		if (k->status == LEDGER_KEY_REVOKED)
			printf("\n  revoked at leaf %llu, reason %s",
			    (unsigned long long)k->revoked_index,
			    ledger_reason_name(k->reason) != NULL ?
			    ledger_reason_name(k->reason) : "unspecified");
	}
	putchar('\n');
}

static int
key_list_cb(const struct ledger_key_info *k, void *arg)
{
	key_print(arg, k, 0);
	return 0;
}

static int
key_show_list(struct cli *c, int show)
{
	struct ledger_key_info *k = NULL;
	struct ledger_key_filter f;
	struct ledger *l;
	char *end, full[LEDGER_KEYID_LEN + 1];
	int rc = 1, found;

	if (cli_only(c, show ? "json key-id db" : "json status after limit db")
	    != 0)
		return 1;
	if (show && c->o.key_id == NULL)
		return cli_fail("usage", "key show needs --key-id ID");
	memset(&f, 0, sizeof(f));
	f.status = c->o.status;
	f.after = c->o.after;
	f.limit = LEDGER_LIST_MAX;
	if (f.status != NULL && strcmp(f.status, "active") != 0 &&
	    strcmp(f.status, "revoked") != 0)
		return cli_fail("usage", "--status must be active or revoked");
	if (c->o.limit != NULL && ((f.limit = strtoul(c->o.limit, &end, 10)) <
	    1 || *end != '\0' || f.limit > LEDGER_LIST_MAX))
		return cli_fail("usage", "--limit must be 1 to %d",
		    LEDGER_LIST_MAX);
	if ((l = cli_ledger_open(c, 0)) == NULL)
		return 1;
	if (show) {
		if ((k = malloc(sizeof(*k))) == NULL)
			goto out;
		found = ledger_key_get(l, c->o.key_id, k);
		/* not a whole id: a unique prefix of one (the dashboard
		 * shows them cut short) */
		if (found == 1 && (found = key_resolve_prefix(c, l,
		    c->o.key_id, full)) == 0)
			found = ledger_key_get(l, full, k);
		if (found == 1)
			rc = 1;		/* said by key_resolve_prefix */
		else if (found == 0) {
			key_print(c, k, 1);
			rc = 0;
		}
	} else if (ledger_keys(l, &f, key_list_cb, c) == 0)
		rc = 0;
	if (rc != 0 && !show)
		cli_fail("ledger", "cannot list keys");
out:
	free(k);
	cli_ledger_close(c, l);
	return rc;
}

int
cmd_key(struct cli *c, const char *sub)
{
	if (cli_load_config(c) != 0)
		return 1;
	c->cmd = "key";
	if (strcmp(sub, "register") == 0)
		return key_register(c);
	if (strcmp(sub, "revoke") == 0)
		return key_revoke(c);
	if (strcmp(sub, "preauth") == 0)
		return key_preauth(c);
	if (strcmp(sub, "show") == 0)
		return key_show_list(c, 1);
	if (strcmp(sub, "list") == 0)
		return key_show_list(c, 0);
	return cli_fail("usage", "key register|revoke|preauth|show|list");
}
