/*
 * cmd_policy.c: the operator's side of the validators (issue 14):
 * `keybridge init --validator NAME=VKEY@URL --witness ... --quorum N`
 * writes the `validator =` / `witness =` lines and `quorum =` of
 * keybridge.conf, and `keybridge policy -d DIR` prints the verification
 * policy (ledger/policy.h) that a device or an auditor needs: the origin,
 * the node's checkpoint key, each cosigner's key and the quorum.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/cli/cli.h"
#include "bridge/validators.h"
#include "ledger/policy.h"

/* Splits "NAME=VKEY@URL" (arg, of option opt) into cfg's next cosigner
 * line.  0, or 1 after a message. */
static int
init_cosigner(struct bridge_config *cfg, struct ledger_policy *p,
    const char *arg, const char *opt, int witness)
{
	struct config_validator *cv;
	const char *eq = strchr(arg, '='), *at;
	char why[512], host[BVAL_URL_MAX], prefix[BVAL_URL_MAX];
	int port;

	/* base64 ends a vkey with '=' padding: the name ends at the first
	 * '=', the key at the first '@' after it (base64 has none). */
	if (eq == NULL || eq == arg || (at = strchr(eq + 1, '@')) == NULL ||
	    at == eq + 1 || at[1] == '\0')
		return cli_fail("usage", "--%s %s: expected NAME=VKEY@URL (the "
		    "verifier key `keybridge validator init` prints, and the "
		    "URL of its API)", opt, arg);
	if (cfg->nvalidators >= CONFIG_VALIDATORS_MAX)
		return cli_fail("usage", "more than %d --validator and "
		    "--witness", CONFIG_VALIDATORS_MAX);
	cv = &cfg->validators[cfg->nvalidators];
	memset(cv, 0, sizeof(*cv));
	if ((size_t)(eq - arg) >= sizeof(cv->name) ||
	    (size_t)(at - eq - 1) >= sizeof(cv->vkey) ||
	    strlen(at + 1) >= sizeof(cv->url))
		return cli_fail("usage", "--%s %s: NAME, VKEY and URL must each "
		    "be under %zu bytes", opt, arg, sizeof(cv->name));
	memcpy(cv->name, arg, (size_t)(eq - arg));
	memcpy(cv->vkey, eq + 1, (size_t)(at - eq - 1));
	memcpy(cv->url, at + 1, strlen(at + 1) + 1);
	/* what serve will accept (bridge/validators.c) */
	if (bval_url_parse(cv->url, host, sizeof(host), &port, prefix,
	    sizeof(prefix)) != 0)
		return cli_fail("usage", "--%s %s: the URL must be "
		    "http://HOST:PORT[/PREFIX] (plain HTTP to validators for "
		    "now)", opt, arg);
	if (ledger_policy_add(p, cv->name, cv->vkey, cv->url, witness, why,
	    sizeof(why)) != 0)
		return cli_fail("usage", "--%s %s", opt, why);
	cv->witness = witness;
	cfg->nvalidators++;
	return 0;
}

int
cli_init_validators(struct cli *c)
{
	struct bridge_config *cfg = &c->cfg;
	struct ledger_policy *p;
	char *end, why[512];
	long q;
	int rc = 1, i;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return cli_fail("init", "out of memory");
	ledger_policy_init(p);
	cfg->nvalidators = 0;
	for (i = 0; i < c->o.nvalidator; i++)
		if (init_cosigner(cfg, p, c->o.validator[i], "validator", 0))
			goto out;
	for (i = 0; i < c->o.nwitnesses; i++)
		if (init_cosigner(cfg, p, c->o.witnesses[i], "witness", 1))
			goto out;
	/* solo: no quorum line (config_load refuses one without validators) */
	cfg->quorum = cfg->nvalidators > 0 ?
	    (long)config_quorum_default(cfg->nvalidators) : 0;
	if (c->o.quorum != NULL) {
		q = strtol(c->o.quorum, &end, 10);
		if (cfg->nvalidators == 0) {
			cli_fail("usage", "--quorum needs --validator or "
			    "--witness");
			goto out;
		}
		if (*end != '\0' || c->o.quorum[0] < '0' ||
		    c->o.quorum[0] > '9' || q < 1 ||
		    q > (long)cfg->nvalidators) {
			cli_fail("usage", "--quorum must be 1 to %zu (the "
			    "validators and witnesses given)",
			    cfg->nvalidators);
			goto out;
		}
		cfg->quorum = q;
		/* the same refusal as serve's config_load: two quorums must
		 * share an honest cosigner */
		if (config_validators_check(cfg, why, sizeof(why)) != 0) {
			cli_fail("usage", "--quorum: %s", why);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		cfg->nvalidators = 0;
	ledger_policy_clear(p);
	free(p);
	return rc;
}

int
cli_config_policy(const struct bridge_config *cfg, const char *log_vkey,
    struct ledger_policy *p, char *why, size_t whylen)
{
	const struct config_validator *cv;
	char item[400];

	ledger_policy_init(p);
	snprintf(p->origin, sizeof(p->origin), "%s", cfg->origin);
	if ((size_t)snprintf(p->log_vkey, sizeof(p->log_vkey), "%s",
	    log_vkey != NULL ? log_vkey : cfg->validator_vkey) >=
	    sizeof(p->log_vkey)) {
		snprintf(why, whylen, "validator_vkey is too long");
		return -1;
	}
	for (size_t i = 0; i < cfg->nvalidators; i++) {
		cv = &cfg->validators[i];
		if (ledger_policy_add(p, cv->name, cv->vkey, cv->url,
		    cv->witness, item, sizeof(item)) != 0) {
			snprintf(why, whylen, "keybridge.conf: %s", item);
			goto fail;
		}
	}
	p->quorum = cfg->quorum > 0 ? (size_t)cfg->quorum : 0;
	if (ledger_policy_check(p, item, sizeof(item)) != 0) {
		snprintf(why, whylen, "keybridge.conf: %s", item);
		goto fail;
	}
	return 0;
fail:
	ledger_policy_clear(p);
	return -1;
}

/* The policy as JSON (a new reference, or NULL). */
static json_t *
policy_json(const struct ledger_policy *p)
{
	json_t *j, *arr = json_array();

	for (size_t i = 0; arr != NULL && i < p->ncosigners; i++)
		if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s?}",
		    "name", p->cosigners[i].name, "role", p->witness[i] ?
		    "witness" : "validator", "vkey", p->cosigners[i].vkey,
		    "url", p->url[i][0] != '\0' ? p->url[i] : NULL)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	if (arr == NULL)
		return NULL;
	/* "o" steals arr, also on failure */
	j = json_pack("{s:s,s:s,s:s,s:o,s:I,s:s}", "format",
	    LEDGER_POLICY_MAGIC, "origin", p->origin, "log", p->log_vkey,
	    "cosigners", arr, "quorum", (json_int_t)p->quorum, "mode",
	    p->ncosigners > 0 ? "validators" : "solo");
	return j;
}

int
cmd_policy(struct cli *c)
{
	struct ledger_policy *p = NULL;
	char why[512], *text = NULL;
	json_t *j;
	int rc = 1;

	if (cli_only(c, "json") != 0 || cli_load_config(c) != 0)
		return 1;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (text = malloc(LEDGER_POLICY_TEXT_MAX)) == NULL) {
		cli_fail("policy", "out of memory");
		goto out;
	}
	if (cli_config_policy(&c->cfg, NULL, p, why, sizeof(why)) != 0) {
		cli_fail("config", "%s", why);
		goto out;
	}
	if (c->json) {
		if ((j = policy_json(p)) == NULL) {
			cli_fail("policy", "out of memory");
			goto out;
		}
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		if (ledger_policy_format(p, text, LEDGER_POLICY_TEXT_MAX) != 0) {
			cli_fail("policy", "the policy is too long");
			goto out;
		}
		printf("# keybridge verification policy of %s (`keybridge "
		    "policy`, docs/cli.md)\n%s", c->o.dir, text);
	}
	rc = fflush(stdout) == 0 ? 0 : cli_fail("policy", "cannot write");
out:
	if (p != NULL)
		ledger_policy_clear(p);
	free(p);
	free(text);
	return rc;
}
