/*
 * policy.c: the verification policy's text form (ledger/policy.h), read
 * by `ledger verify --policy` and a device's verifier, written by
 * `keybridge policy`.  Strict on purpose: a typo in a policy must never
 * turn into a weaker check (a quorum silently defaulted, a cosigner
 * silently dropped).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_int.h"
#include "ledger/policy.h"

#define POLICY_LINE_MAX	1024		/* one line of the text form */
#define POLICY_QUORUM_DIGITS 3		/* quorum <= LEDGER_COSIGN_POLICY_MAX */

/* Where an item may come: each item's rank is at least the last one's. */
enum policy_rank {
	RANK_MAGIC, RANK_ORIGIN, RANK_LOG, RANK_COSIGNER, RANK_QUORUM,
};

size_t
ledger_policy_default_quorum(size_t n)
{
	size_t f = n > 0 ? (n - 1) / 3 : 0;

	/* as bridge/config_validators.c's config_quorum_default */
	return n == 0 ? 0 : (n + f) / 2 + 1;
}

void
ledger_policy_init(struct ledger_policy *p)
{
	memset(p, 0, sizeof(*p));
}

void
ledger_policy_clear(struct ledger_policy *p)
{
	for (size_t i = 0; i < p->ncosigners; i++)
		ledger_cosigner_clear(&p->cosigners[i]);
	ledger_policy_init(p);
}

/* 1 when s has a blank or a control character (a field of a line). */
static int
has_blank(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 1;
	return 0;
}

int
ledger_policy_add(struct ledger_policy *p, const char *name,
    const char *vkey, const char *url, int witness, char *why, size_t whylen)
{
	struct ledger_cosigner c;
	size_t i;

	if (p->ncosigners >= LEDGER_COSIGN_POLICY_MAX) {
		snprintf(why, whylen, "more than %d cosigners",
		    LEDGER_COSIGN_POLICY_MAX);
		return -1;
	}
	if (url == NULL || strcmp(url, "-") == 0)
		url = "";
	if (strlen(url) >= LEDGER_POLICY_URL_MAX || has_blank(url)) {
		snprintf(why, whylen, "%s: the URL must be under %d bytes, "
		    "without blanks", name, LEDGER_POLICY_URL_MAX);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	if (strlen(vkey) >= LEDGER_COSIGN_VKEY_MAX ||
	    ledger_cosigner_parse(vkey, &c) != 0) {
		snprintf(why, whylen, "%s: \"%.80s\" is not a cosignature/v1 "
		    "verifier key (NAME+HASH8HEX+base64 of 0x04 and a 32-byte "
		    "Ed25519 key, as `keybridge validator init` prints it)",
		    name, vkey);
		return -1;
	}
	if (strcmp(c.name, name) != 0) {
		snprintf(why, whylen, "%s: the verifier key is named \"%s\", "
		    "not \"%s\"", name, c.name, name);
		goto fail;
	}
	for (i = 0; i < p->ncosigners; i++)
		if (strcmp(p->cosigners[i].name, name) == 0 ||
		    memcmp(p->cosigners[i].key_id, c.key_id,
		    LEDGER_COSIGN_KEY_ID_LEN) == 0 ||
		    EVP_PKEY_eq(p->cosigners[i].pub, c.pub) == 1) {
			snprintf(why, whylen, "%s: listed twice (a cosigner "
			    "counts once toward the quorum: give each its own "
			    "name and key)", name);
			goto fail;
		}
	i = p->ncosigners++;
	p->cosigners[i] = c;
	snprintf(p->url[i], sizeof(p->url[i]), "%s", url);
	p->witness[i] = witness != 0;
	return 0;
fail:
	ledger_cosigner_clear(&c);
	return -1;
}

int
ledger_policy_check(struct ledger_policy *p, char *why, size_t whylen)
{
	char name[LEDGER_NAME_MAX + 1];
	EVP_PKEY *pk;

	if (p->origin[0] == '\0' || has_blank(p->origin)) {
		snprintf(why, whylen, "the policy names no origin (a line "
		    "\"origin ORIGIN\", the checkpoints' first line)");
		return -1;
	}
	if ((pk = ledger_note_vkey_parse(p->log_vkey, name,
	    sizeof(name))) == NULL) {
		snprintf(why, whylen, "the policy's log key \"%.80s\" is not a "
		    "signed-note verifier key (a line \"log VKEY\", the node's "
		    "validator_vkey)", p->log_vkey);
		return -1;
	}
	EVP_PKEY_free(pk);
	if (p->ncosigners > 0 && p->quorum == 0)
		p->quorum = ledger_policy_default_quorum(p->ncosigners);
	if (p->quorum > p->ncosigners || (p->ncosigners > 0 &&
	    p->quorum < 1)) {
		snprintf(why, whylen, "quorum %zu with %zu cosigner%s: it must "
		    "be 1 to %zu", p->quorum, p->ncosigners,
		    p->ncosigners == 1 ? "" : "s", p->ncosigners);
		return -1;
	}
	return 0;
}

/* Splits line into at most max blank-separated fields (in place). */
static size_t
split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " \t", &save); t != NULL;
	    t = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return max + 1;
		f[n++] = t;
	}
	return n;
}

/* One item of the text form into p.  0, or -1 with why (no line). */
static int
parse_item(struct ledger_policy *p, char *line, enum policy_rank *rank,
    char *why, size_t whylen)
{
	char *f[5], *end;
	size_t n = split(line, f, 4);
	unsigned long q;

	if (*rank == RANK_MAGIC) {
		if (n != 2 || strcmp(f[0], "keybridge-policy") != 0 ||
		    strcmp(f[1], "v1") != 0) {
			snprintf(why, whylen, "not a keybridge policy (the "
			    "first line must be \"%s\")", LEDGER_POLICY_MAGIC);
			return -1;
		}
		*rank = RANK_ORIGIN;
		return 0;
	}
	if (n == 2 && strcmp(f[0], "origin") == 0 && *rank == RANK_ORIGIN &&
	    p->origin[0] == '\0') {
		if (strlen(f[1]) > LEDGER_ORIGIN_MAX)
			goto toolong;
		memcpy(p->origin, f[1], strlen(f[1]) + 1);
		*rank = RANK_LOG;
		return 0;
	}
	if (n == 2 && strcmp(f[0], "log") == 0 && *rank == RANK_LOG &&
	    p->log_vkey[0] == '\0') {
		if (strlen(f[1]) >= sizeof(p->log_vkey))
			goto toolong;
		memcpy(p->log_vkey, f[1], strlen(f[1]) + 1);
		*rank = RANK_COSIGNER;
		return 0;
	}
	if ((n == 3 || n == 4) && (strcmp(f[0], "validator") == 0 ||
	    strcmp(f[0], "witness") == 0) && *rank == RANK_COSIGNER)
		return ledger_policy_add(p, f[1], f[2], n == 4 ? f[3] : NULL,
		    f[0][0] == 'w', why, whylen);
	if (n == 2 && strcmp(f[0], "quorum") == 0 && *rank == RANK_COSIGNER) {
		q = strtoul(f[1], &end, 10);
		if (*end != '\0' || f[1][0] < '0' || f[1][0] > '9' ||
		    strlen(f[1]) > POLICY_QUORUM_DIGITS) {
			snprintf(why, whylen, "quorum must be a number");
			return -1;
		}
		p->quorum = (size_t)q;
		*rank = RANK_QUORUM;
		return 0;
	}
	snprintf(why, whylen, "expected %s", *rank == RANK_ORIGIN ?
	    "\"origin ORIGIN\"" : *rank == RANK_LOG ? "\"log VKEY\"" :
	    *rank == RANK_COSIGNER ? "\"validator NAME VKEY [URL]\", "
	    "\"witness NAME VKEY [URL]\" or \"quorum N\"" :
	    "nothing after the quorum");
	return -1;
toolong:
	snprintf(why, whylen, "%s is too long", f[0]);
	return -1;
}

int
ledger_policy_parse(const char *text, size_t len, struct ledger_policy *p,
    char *why, size_t whylen)
{
	enum policy_rank rank = RANK_MAGIC;
	char line[POLICY_LINE_MAX], item[512];
	const char *s = text, *end = text + len, *nl;
	size_t lineno = 0, ll;

	ledger_policy_init(p);
	if (len > LEDGER_POLICY_TEXT_MAX) {
		snprintf(why, whylen, "the policy is longer than %d bytes",
		    LEDGER_POLICY_TEXT_MAX);
		return -1;
	}
	for (; s < end; s = nl + 1) {
		lineno++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		ll = (size_t)(nl - s);
		if (ll > 0 && s[ll - 1] == '\r')
			ll--;
		if (ll >= sizeof(line)) {
			snprintf(why, whylen, "line %zu: longer than %d bytes",
			    lineno, POLICY_LINE_MAX - 1);
			goto fail;
		}
		memcpy(line, s, ll);
		line[ll] = '\0';
		if (memchr(line, '\0', ll) != NULL) {
			snprintf(why, whylen, "line %zu: a NUL byte", lineno);
			goto fail;
		}
		if (line[strspn(line, " \t")] == '\0' ||
		    line[strspn(line, " \t")] == '#')
			continue;
		if (parse_item(p, line, &rank, item, sizeof(item)) != 0) {
			snprintf(why, whylen, "line %zu: %s", lineno, item);
			goto fail;
		}
	}
	if (rank == RANK_MAGIC) {
		snprintf(why, whylen, "empty: not a keybridge policy");
		goto fail;
	}
	if (p->ncosigners > 0 && rank != RANK_QUORUM) {
		/* Written out, never implied: a reader must not have to know
		 * the default to know what it checks. */
		snprintf(why, whylen, "the policy lists cosigners but no "
		    "\"quorum N\" line");
		goto fail;
	}
	if (p->ncosigners > 0 && p->quorum == 0) {
		snprintf(why, whylen, "quorum 0 with %zu cosigners: it must be "
		    "1 to %zu", p->ncosigners, p->ncosigners);
		goto fail;
	}
	if (ledger_policy_check(p, why, whylen) != 0)
		goto fail;
	return 0;
fail:
	ledger_policy_clear(p);
	return -1;
}

int
ledger_policy_format(const struct ledger_policy *p, char *out, size_t outlen)
{
	size_t off = 0, i;
	int n;

#define POLICY_PUT(...) do {						\
	n = snprintf(out + off, outlen - off, __VA_ARGS__);		\
	if (n < 0 || (size_t)n >= outlen - off)				\
		return -1;						\
	off += (size_t)n;						\
} while (0)
	if (outlen == 0)
		return -1;
	POLICY_PUT("%s\n", LEDGER_POLICY_MAGIC);
	POLICY_PUT("origin %s\n", p->origin);
	POLICY_PUT("log %s\n", p->log_vkey);
	for (i = 0; i < p->ncosigners; i++)
		POLICY_PUT("%s %s %s %s\n", p->witness[i] ? "witness" :
		    "validator", p->cosigners[i].name, p->cosigners[i].vkey,
		    p->url[i][0] != '\0' ? p->url[i] : "-");
	if (p->ncosigners > 0)
		POLICY_PUT("quorum %zu\n", p->quorum);
#undef POLICY_PUT
	return 0;
}

void
ledger_policy_cosign(const struct ledger_policy *p,
    struct ledger_cosign_policy *cp)
{
	cp->log_vkey = p->log_vkey;
	cp->cosigners = p->cosigners;
	cp->ncosigners = p->ncosigners;
	cp->quorum = p->quorum;
}
