/*
 * consensus.c: how blocks are sealed.  `solo`, the embedded default: this
 * node is the only validator and signs each block's checkpoint alone with
 * its validator key (docs/design.md "The log, blocks and checkpoints").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_int.h"

struct consensus_solo {
	struct ledger_consensus base;	/* first: the interface */
	EVP_PKEY *key;			/* NULL: sign() holds it */
	int (*sign)(void *, const struct ledger_seal *, char *, size_t);
	void *sign_arg;
	char name[LEDGER_NAME_MAX + 1];
	uint64_t sealed;
};

#define SOLO(c) ((struct consensus_solo *)(c))

static time_t
solo_block_time(struct ledger_consensus *c, time_t last)
{
	time_t now = time(NULL);

	return now < last ? last : now;	/* ledger time never goes back */
}

static int
solo_seal(struct ledger_consensus *c, const struct ledger_seal *sl,
    char *note, size_t notelen)
{
	struct consensus_solo *s = SOLO(c);
	char line[256];

	if (s->key != NULL) {
		if (ledger_note_sign_line(sl->body, strlen(sl->body), s->name,
		    s->key, line, sizeof(line)) != 0)
			return -1;
	} else if (s->sign(s->sign_arg, sl, line, sizeof(line)) != 0)
		return -1;
	if ((size_t)snprintf(note, notelen, "%s\n%s", sl->body, line) >=
	    notelen)
		return -1;
	s->sealed = sl->height;
	return 0;
}

static void
solo_describe(struct ledger_consensus *c, char *buf, size_t len)
{
	snprintf(buf, len, "solo: %s is the only validator, last sealed "
	    "block %llu", SOLO(c)->name, (unsigned long long)SOLO(c)->sealed);
}

static void
solo_free(struct ledger_consensus *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_free(SOLO(c)->key);
	free(c);
}

static const struct ledger_consensus_ops solo_ops = {
	.name = "solo",
	.block_time = solo_block_time,
	.seal = solo_seal,
	.describe = solo_describe,
	.free = solo_free,
};

struct ledger_consensus *
ledger_consensus_solo_new(EVP_PKEY *key, const char *name)
{
	struct consensus_solo *s;

	if (key == NULL || strlen(name) > LEDGER_NAME_MAX ||
	    (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->base.ops = &solo_ops;
	if (EVP_PKEY_up_ref(key) != 1) {
		free(s);
		return NULL;
	}
	s->key = key;
	snprintf(s->name, sizeof(s->name), "%s", name);
	return &s->base;
}

struct ledger_consensus *
ledger_consensus_solo_signer(const char *name,
    int (*sign)(void *, const struct ledger_seal *, char *, size_t),
    void *arg)
{
	struct consensus_solo *s;

	if (sign == NULL || strlen(name) > LEDGER_NAME_MAX ||
	    (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->base.ops = &solo_ops;
	s->sign = sign;
	s->sign_arg = arg;
	snprintf(s->name, sizeof(s->name), "%s", name);
	return &s->base;
}

void
ledger_consensus_free(struct ledger_consensus *c)
{
	if (c != NULL)
		c->ops->free(c);
}
