/*
 * config_validators.c: the `validator =` and `witness =` lines of
 * keybridge.conf (issue 14), which repeat, unlike config.c's table rows:
 *
 *	validator = v1.example v1.example+1a2b3c4d+BASE64 http://10.0.0.5:7001
 *	witness = w.example w.example+5e6f7a8b+BASE64 http://10.0.0.9:7001
 *	quorum = 3
 *
 * NAME is the cosigner name its cosignatures carry, VKEY its C2SP
 * cosignature/v1 verifier key (the last line `keybridge validator init`
 * prints), URL where it listens: plain http://HOST:PORT[/PREFIX] only for
 * now (no TLS to validators yet; put them on a trusted network, the
 * cosignatures themselves are signed).  A witness only checks
 * consistency (C2SP tlog-witness add-checkpoint); it counts toward the
 * quorum like a validator.
 *
 * The quorum: with n cosigners of which at most f = (n - 1) / 3 are
 * faulty, two quorums of q share 2q - n cosigners; they share an honest
 * one only when 2q - n > f.  A smaller quorum would let two conflicting
 * checkpoints both become final, so it is refused.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "ledger/cosign.h"
#include "bridge/config_int.h"
#include "bridge/validators.h"

/* See config.h. */
size_t
config_quorum_default(size_t n)
{
	size_t f = n > 0 ? (n - 1) / 3 : 0;

	return (n + f) / 2 + 1;
}

/* The next blank-separated word of *p into out (outlen bytes).  0 or -1
 * (none, or too long). */
static int
config_word(const char **p, char *out, size_t outlen)
{
	const char *s = *p, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	for (e = s; *e != '\0' && *e != ' ' && *e != '\t'; e++)
		;
	if (e == s || (size_t)(e - s) >= outlen)
		return -1;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	*p = e;
	return 0;
}

/* See config.h. */
int
config_validator_line(struct bridge_config *c, const char *val,
    int witness, char *why, size_t whylen)
{
	struct config_validator *cv;
	struct ledger_cosigner cs;
	char host[BVAL_URL_MAX], prefix[BVAL_URL_MAX];
	const char *p = val;
	int port;

	if (c->nvalidators >= CONFIG_VALIDATORS_MAX) {
		snprintf(why, whylen, "lines: at most %d",
		    CONFIG_VALIDATORS_MAX);
		return -1;
	}
	cv = &c->validators[c->nvalidators];
	memset(cv, 0, sizeof(*cv));
	if (config_word(&p, cv->name, sizeof(cv->name)) != 0 ||
	    config_word(&p, cv->vkey, sizeof(cv->vkey)) != 0 ||
	    config_word(&p, cv->url, sizeof(cv->url)) != 0 ||
	    p[strspn(p, " \t")] != '\0') {
		snprintf(why, whylen, "must be NAME VKEY URL");
		return -1;
	}
	if (strlen(cv->name) > LEDGER_NAME_MAX) {
		snprintf(why, whylen, "%s: name longer than %d bytes",
		    cv->name, LEDGER_NAME_MAX);
		return -1;
	}
	memset(&cs, 0, sizeof(cs));
	if (ledger_cosigner_parse(cv->vkey, &cs) != 0) {
		snprintf(why, whylen, "%s: %.64s is not a cosignature/v1 "
		    "(Ed25519) verifier key", cv->name, cv->vkey);
		return -1;
	}
	if (strcmp(cs.name, cv->name) != 0) {
		snprintf(why, whylen, "%s: the verifier key is %s's",
		    cv->name, cs.name);
		ledger_cosigner_clear(&cs);
		return -1;
	}
	ledger_cosigner_clear(&cs);
	if (bval_url_parse(cv->url, host, sizeof(host), &port, prefix,
	    sizeof(prefix)) != 0) {
		snprintf(why, whylen, "%s: %.64s is not http://HOST:PORT "
		    "(plain HTTP only for now)", cv->name, cv->url);
		return -1;
	}
	for (size_t i = 0; i < c->nvalidators; i++)
		if (strcmp(c->validators[i].name, cv->name) == 0 ||
		    strcmp(c->validators[i].vkey, cv->vkey) == 0) {
			snprintf(why, whylen, "%s: listed twice", cv->name);
			return -1;
		}
	cv->witness = witness;
	c->nvalidators++;
	return 0;
}

/* See config.h. */
size_t
config_note_worst(const struct bridge_config *c)
{
	size_t len = LEDGER_NOTE_BODY_MAX + 1 +
	    LEDGER_COSIGN_LINE_LEN(strlen(c->validator_name)) + 1;

	for (size_t i = 0; i < c->nvalidators; i++)
		len += LEDGER_COSIGN_LINE_LEN(strlen(c->validators[i].name));
	return len;
}

/* See config.h. */
int
config_validators_check(const struct bridge_config *c, char *why,
    size_t whylen)
{
	size_t n = c->nvalidators, q = (size_t)c->quorum, f;

	/* every buffer of a final checkpoint is LEDGER_NOTE_MAX: a list
	 * whose cosignatures would not fit is refused here, not cut later */
	if (config_note_worst(c) > LEDGER_NOTE_MAX) {
		snprintf(why, whylen, "%zu validator lines: a checkpoint with "
		    "all their cosignatures could take %zu bytes, over the "
		    "%d a checkpoint note may have", n, config_note_worst(c),
		    LEDGER_NOTE_MAX);
		return -1;
	}

	if (n == 0) {
		if (q != 0) {
			snprintf(why, whylen, "quorum = %zu without validator "
			    "lines", q);
			return -1;
		}
		return 0;
	}
	if (q == 0)
		return 0;	/* config_quorum_default(n) */
	f = (n - 1) / 3;
	if (q > n) {
		snprintf(why, whylen, "quorum = %zu: only %zu validator lines",
		    q, n);
		return -1;
	}
	if (2 * q <= n + f) {
		snprintf(why, whylen, "quorum = %zu of %zu validators: two "
		    "quorums would share %zu, not more than the %zu that may "
		    "be faulty, so two conflicting checkpoints could both be "
		    "final; use at least %zu", q, n, 2 * q > n ? 2 * q - n :
		    0, f, config_quorum_default(n));
		return -1;
	}
	return 0;
}

/* See config_int.h. */
int
config_validators_emit(const struct bridge_config *c, FILE *fp)
{
	const struct config_validator *cv;

	if (c->nvalidators == 0)
		return 0;
	fprintf(fp, "\n# Validators: NAME VKEY http://HOST:PORT, one line "
	    "each (witness: consistency only).\n");
	for (size_t i = 0; i < c->nvalidators; i++) {
		cv = &c->validators[i];
		if (strpbrk(cv->name, " \t\n") != NULL ||
		    strpbrk(cv->vkey, " \t\n") != NULL ||
		    strpbrk(cv->url, " \t\n") != NULL) {
			log_err("config: validator %s: blanks in a field",
			    cv->name);
			return -1;
		}
		fprintf(fp, "%s = %s %s %s\n", cv->witness ? "witness" :
		    "validator", cv->name, cv->vkey, cv->url);
	}
	return 0;
}

/* See config_int.h. */
void
config_validators_text(const struct bridge_config *c, char *out,
    size_t outlen)
{
	size_t i, off = 0;
	int n;

	snprintf(out, outlen, "none");
	for (i = 0; i < c->nvalidators && off < outlen; i++) {
		n = snprintf(out + off, outlen - off, "%s%s %s%s", i > 0 ?
		    ", " : "", c->validators[i].name, c->validators[i].url,
		    c->validators[i].witness ? " (witness)" : "");
		if (n < 0)
			break;
		off += (size_t)n;
	}
}
