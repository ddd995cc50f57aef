/*
 * gather.c: the bridge's side of validation (see core.h): the answers of
 * n validators for one checkpoint, the valid cosignatures kept (one per
 * validator, by its own name and key, over this checkpoint's body, not
 * older than the checkpoint), every other answer counted by why.  Final
 * at the quorum.  No I/O.
 */
#include <stdio.h>
#include <string.h>

#include "validator/core.h"

#define WHY(...)	do {						\
	if (why != NULL && whylen > 0)					\
		snprintf(why, whylen, __VA_ARGS__);			\
} while (0)

int
vgather_init(struct vgather *g, const char *note, size_t len,
    const struct ledger_cosigner *policy, size_t npolicy, size_t quorum)
{
	char origin[LEDGER_ORIGIN_MAX + 1];

	if (g == NULL || note == NULL || policy == NULL || npolicy == 0 ||
	    npolicy > LEDGER_COSIGN_POLICY_MAX || quorum == 0 ||
	    quorum > npolicy || len >= sizeof(g->note))
		return -1;
	memset(g, 0, sizeof(*g));
	if ((g->body_len = ledger_cosign_body_len(note, len)) == 0 ||
	    ledger_checkpoint_parse(note, g->body_len, origin, sizeof(origin),
	    &g->size, g->root, &g->time) == -1)
		return -1;
	memcpy(g->note, note, len);
	g->note_len = len;
	g->policy = policy;
	g->npolicy = npolicy;
	g->quorum = quorum;
	g->verify = ledger_cosign_ed25519_verify;
	return 0;
}

enum vgather_verdict
vgather_answer(struct vgather *g, size_t from, int status, const char *body,
    size_t len, char *why, size_t whylen)
{
	enum ledger_cosign_verdict v, first = LEDGER_COSIGN_MALFORMED;
	const char *p, *end, *nl;
	uint64_t ts;
	size_t who, llen;
	int accepted = 0, lines = 0;

	if (g == NULL || from >= g->npolicy) {
		WHY("no such validator");
		return VGATHER_DISCARDED;
	}
	if (status != 200) {
		g->counts.refused++;
		WHY("%s refused (%d)", g->policy[from].name, status);
		return VGATHER_REFUSED;
	}
	end = body == NULL ? NULL : body + len;
	for (p = body; p != NULL && p < end; p = nl + 1, lines++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		llen = (size_t)(nl - p);
		who = 1;
		/* only the answering validator's own line counts */
		v = ledger_cosign_check_line_fn(g->note, g->body_len, p, llen,
		    &g->policy[from], 1, (uint64_t)g->time, &who, &ts,
		    g->verify, g->verify_arg);
		if (v == LEDGER_COSIGN_VALID && g->have[from])
			v = LEDGER_COSIGN_DUPLICATE;
		if (v == LEDGER_COSIGN_VALID && llen + 2 <=
		    sizeof(g->lines[from])) {
			memcpy(g->lines[from], p, llen + 1);
			g->lines[from][llen + 1] = '\0';
			g->have[from] = 1;
			g->nhave++;
			g->counts.accepted++;
			accepted = 1;
			continue;
		}
		if (lines == 0)
			first = v;
		g->counts.discarded[v]++;
	}
	if (accepted)
		return VGATHER_ACCEPTED;
	if (lines == 0)
		g->counts.discarded[LEDGER_COSIGN_MALFORMED]++;
	WHY("%s: %s cosignature discarded", g->policy[from].name,
	    ledger_cosign_verdict_name(first));
	return VGATHER_DISCARDED;
}

int
vgather_final(const struct vgather *g)
{
	return g != NULL && g->nhave >= g->quorum;
}

int
vgather_note(const struct vgather *g, char *out, size_t outlen)
{
	size_t off, i, n;

	if (g == NULL || out == NULL || outlen <= g->note_len)
		return -1;
	memcpy(out, g->note, g->note_len);
	off = g->note_len;
	for (i = 0; i < g->npolicy; i++) {
		if (!g->have[i])
			continue;
		n = strlen(g->lines[i]);
		if (outlen - off <= n)
			return -1;
		memcpy(out + off, g->lines[i], n);
		off += n;
	}
	out[off] = '\0';
	return 0;
}
