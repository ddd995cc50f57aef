/*
 * core.c: the validator's transition function (see core.h): parse a
 * request, check it against the state in the order C2SP tlog-witness
 * gives (origin 404, log signature 403, old > size 400, old not ours 409,
 * proof 422, same size other checkpoint 409), then ours (time bounds,
 * the replay's root and rules), and cosign (C2SP tlog-cosignature).
 * No I/O: the caller's callbacks sign, check the log key and stage
 * entries.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "validator/core.h"

#define OLD_PREFIX		"old "
#define OLD_PREFIX_LEN		4
#define ENTRY_PREFIX		"entry "
#define ENTRY_PREFIX_LEN	6
#define ENTRY_LEN_MAX		65536
#define HASH_B64_LEN		44
#define U64_DIGITS_MAX		20
#define MSG_MAX			(VCORE_NOTE_MAX + 64)
/* The border holds one hash per bit of the size: keep the top bit free. */
#define VCORE_REPLAY_SIZE_MAX	(UINT64_MAX >> 1)

#define WHY(...)	do {						\
	if (why != NULL && whylen > 0)					\
		snprintf(why, whylen, __VA_ARGS__);			\
} while (0)

static const char *const refusal_names[VCORE_REFUSALS] = {
	[VCORE_OK] = "ok",
	[VCORE_MALFORMED] = "malformed",
	[VCORE_UNKNOWN_ORIGIN] = "unknown-origin",
	[VCORE_NOT_SIGNED] = "not-signed",
	[VCORE_NOT_EXTENDING] = "not-extending",
	[VCORE_SIZE_MISMATCH] = "size-mismatch",
	[VCORE_INCONSISTENT] = "inconsistent",
	[VCORE_EQUIVOCATION] = "equivocation",
	[VCORE_TIME_BOUNDS] = "time-out-of-bounds",
	[VCORE_NEEDS_ENTRIES] = "needs-entries",
	[VCORE_ROOT_MISMATCH] = "root-mismatch",
	[VCORE_RULE_BROKEN] = "rule-broken",
	[VCORE_INTERNAL] = "internal",
	[VCORE_MAP_MISMATCH] = "map-mismatch",
};

static const int refusal_status[VCORE_REFUSALS] = {
	[VCORE_OK] = 200,
	[VCORE_MALFORMED] = 400,
	[VCORE_UNKNOWN_ORIGIN] = 404,
	[VCORE_NOT_SIGNED] = 403,
	[VCORE_NOT_EXTENDING] = 409,
	[VCORE_SIZE_MISMATCH] = 409,
	[VCORE_INCONSISTENT] = 422,
	[VCORE_EQUIVOCATION] = 409,
	[VCORE_TIME_BOUNDS] = 422,
	[VCORE_NEEDS_ENTRIES] = 422,
	[VCORE_ROOT_MISMATCH] = 422,
	[VCORE_RULE_BROKEN] = 422,
	[VCORE_INTERNAL] = 500,
	[VCORE_MAP_MISMATCH] = 422,
};

const char *
vcore_refusal_name(enum vcore_refusal r)
{
	return (unsigned)r < VCORE_REFUSALS ? refusal_names[r] : "?";
}

int
vcore_refusal_status(enum vcore_refusal r)
{
	return (unsigned)r < VCORE_REFUSALS ? refusal_status[r] : 500;
}

int
vcore_state_init(struct vcore_state *st, enum vcore_mode mode,
    const char *name, const char *origin, int64_t max_past,
    int64_t max_future)
{
	if (st == NULL || name == NULL || origin == NULL ||
	    strlen(name) == 0 || strlen(name) > LEDGER_NAME_MAX ||
	    strlen(origin) == 0 || strlen(origin) > LEDGER_ORIGIN_MAX ||
	    max_past < 0 || max_future < 0)
		return -1;
	memset(st, 0, sizeof(*st));
	st->mode = mode;
	memcpy(st->name, name, strlen(name) + 1);
	memcpy(st->origin, origin, strlen(origin) + 1);
	SHA256(NULL, 0, st->root);	/* the empty tree */
	st->max_past = max_past;
	st->max_future = max_future;
	return 0;
}

/* ---- the request's text ------------------------------------------------ */

/* Decimal, no sign, no leading zero but "0".  0 or -1. */
static int
parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > U64_DIGITS_MAX || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

void
vcore_request_free(struct vcore_request *req)
{
	if (req == NULL)
		return;
	free(req->entries);
	req->entries = NULL;
	req->nentries = 0;
}

/* Appends one entry to req (growing its array).  0 or -1. */
static int
request_add_entry(struct vcore_request *req, size_t *cap, const char *text,
    size_t len)
{
	struct vcore_entry *n;
	size_t ncap;

	if (req->nentries == VCORE_ENTRIES_MAX)
		return -1;
	if (req->nentries == *cap) {
		ncap = *cap == 0 ? 16 : *cap * 2;
		if ((n = realloc(req->entries, ncap * sizeof(*n))) == NULL)
			return -1;
		req->entries = n;
		*cap = ncap;
	}
	req->entries[req->nentries].text = text;
	req->entries[req->nentries].len = len;
	req->nentries++;
	return 0;
}

int
vcore_request_parse(const char *text, size_t len, struct vcore_request *req,
    char *why, size_t whylen)
{
	const char *p, *end, *nl;
	size_t cap = 0, llen;
	uint64_t elen;

	if (req == NULL)
		return -1;
	memset(req, 0, sizeof(*req));
	if (text == NULL) {
		WHY("no request");
		return -1;
	}
	p = text;
	end = text + len;
	if ((nl = memchr(p, '\n', len)) == NULL ||
	    (size_t)(nl - p) < OLD_PREFIX_LEN ||
	    memcmp(p, OLD_PREFIX, OLD_PREFIX_LEN) != 0 ||
	    parse_u64(p + OLD_PREFIX_LEN, (size_t)(nl - p) - OLD_PREFIX_LEN,
	    &req->old) == -1) {
		WHY("the first line is not \"old <size>\"");
		goto fail;
	}
	p = nl + 1;
	/* entry lines, each followed by its bytes */
	while (p < end && (size_t)(end - p) > ENTRY_PREFIX_LEN &&
	    memcmp(p, ENTRY_PREFIX, ENTRY_PREFIX_LEN) == 0) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    parse_u64(p + ENTRY_PREFIX_LEN, (size_t)(nl - p) -
		    ENTRY_PREFIX_LEN, &elen) == -1 || elen == 0 ||
		    elen > ENTRY_LEN_MAX || elen > (uint64_t)(end - nl - 1)) {
			WHY("bad \"entry <len>\" line after %zu entries",
			    req->nentries);
			goto fail;
		}
		if (request_add_entry(req, &cap, nl + 1, (size_t)elen) == -1) {
			WHY("more than %d entries", VCORE_ENTRIES_MAX);
			goto fail;
		}
		p = nl + 1 + elen;
	}
	/* proof lines up to the blank line */
	for (;;) {
		if (p >= end || (nl = memchr(p, '\n', (size_t)(end - p))) ==
		    NULL) {
			WHY("no blank line before the checkpoint");
			goto fail;
		}
		llen = (size_t)(nl - p);
		if (llen == 0)
			break;
		if (req->nproof == VCORE_PROOF_LINES_MAX) {
			WHY("more than %d proof lines", VCORE_PROOF_LINES_MAX);
			goto fail;
		}
		if (llen != HASH_B64_LEN || ledger_b64_decode(p, llen,
		    req->proof[req->nproof], LEDGER_HASH_LEN) !=
		    LEDGER_HASH_LEN) {
			WHY("proof line %zu is not a base64 hash",
			    req->nproof + 1);
			goto fail;
		}
		req->nproof++;
		p = nl + 1;
	}
	p = nl + 1;
	if (p >= end || (size_t)(end - p) >= VCORE_NOTE_MAX) {
		WHY("no checkpoint, or one over %d bytes", VCORE_NOTE_MAX - 1);
		goto fail;
	}
	req->note = p;
	req->note_len = (size_t)(end - p);
	return 0;
fail:
	vcore_request_free(req);
	return -1;
}

int
vcore_request_format(uint64_t old, const uint8_t proof[][LEDGER_HASH_LEN],
    size_t nproof, const struct vcore_entry *entries, size_t nentries,
    const char *note, char *out, size_t outlen)
{
	char b64[HASH_B64_LEN + 1];
	size_t off, i, nlen;
	int n;

	if (out == NULL || note == NULL || nproof > VCORE_PROOF_LINES_MAX)
		return -1;
	n = snprintf(out, outlen, OLD_PREFIX "%" PRIu64 "\n", old);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	off = (size_t)n;
	for (i = 0; i < nentries; i++) {
		n = snprintf(out + off, outlen - off, ENTRY_PREFIX "%zu\n",
		    entries[i].len);
		if (n < 0 || (size_t)n >= outlen - off ||
		    outlen - off - (size_t)n <= entries[i].len)
			return -1;
		off += (size_t)n;
		memcpy(out + off, entries[i].text, entries[i].len);
		off += entries[i].len;
	}
	for (i = 0; i < nproof; i++) {
		if (ledger_b64_encode(proof[i], LEDGER_HASH_LEN, b64,
		    sizeof(b64)) == -1 || outlen - off <= HASH_B64_LEN + 1)
			return -1;
		memcpy(out + off, b64, HASH_B64_LEN);
		out[off + HASH_B64_LEN] = '\n';
		off += HASH_B64_LEN + 1;
	}
	nlen = strlen(note);
	if (outlen - off <= nlen + 1)
		return -1;
	out[off++] = '\n';
	memcpy(out + off, note, nlen);
	off += nlen;
	out[off] = '\0';
	return off > INT32_MAX ? -1 : (int)off;
}

/* ---- the tree's right border ------------------------------------------- */

/* Appends a leaf to the border of a tree of *size leaves. */
static void
frontier_append(uint8_t fr[][LEDGER_HASH_LEN], uint64_t *size,
    const uint8_t leaf[LEDGER_HASH_LEN])
{
	uint8_t carry[LEDGER_HASH_LEN];
	unsigned i = 0;

	memcpy(carry, leaf, LEDGER_HASH_LEN);
	while (i < VCORE_FRONTIER_MAX && (*size >> i) & 1) {
		ledger_merkle_node_hash(fr[i], carry, carry);
		i++;
	}
	memcpy(fr[i], carry, LEDGER_HASH_LEN);
	(*size)++;
}

/* RFC 6962 MTH of the tree the border describes. */
static void
frontier_root(uint8_t fr[][LEDGER_HASH_LEN], uint64_t size,
    uint8_t root[LEDGER_HASH_LEN])
{
	uint8_t acc[LEDGER_HASH_LEN];
	int have = 0;
	unsigned i;

	if (size == 0) {
		SHA256(NULL, 0, root);
		return;
	}
	for (i = 0; i < VCORE_FRONTIER_MAX; i++) {
		if (!((size >> i) & 1))
			continue;
		if (!have)
			memcpy(acc, fr[i], LEDGER_HASH_LEN);
		else
			ledger_merkle_node_hash(fr[i], acc, acc);
		have = 1;
	}
	memcpy(root, acc, LEDGER_HASH_LEN);
}

/* ---- the transition ---------------------------------------------------- */

/* The parsed checkpoint of a request. */
struct offered {
	char origin[LEDGER_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t root[LEDGER_HASH_LEN];
	time_t time;
	size_t body_len;
};

/* Sets a refusal in ans and st->last_refusal; returns 0 (an answer). */
static int
refuse(struct vcore_state *st, struct vcore_answer *ans,
    enum vcore_refusal r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
refuse(struct vcore_state *st, struct vcore_answer *ans,
    enum vcore_refusal r, const char *fmt, ...)
{
	va_list ap;

	ans->refusal = r;
	ans->status = vcore_refusal_status(r);
	va_start(ap, fmt);
	vsnprintf(ans->reason, sizeof(ans->reason), fmt, ap);
	va_end(ap);
	if (ans->status == 409 && r != VCORE_EQUIVOCATION)
		/* tlog-witness: the body is our size (text/x.tlog.size) */
		snprintf(ans->body, sizeof(ans->body), "%" PRIu64 "\n",
		    st->size);
	else
		snprintf(ans->body, sizeof(ans->body), "%s: %s\n",
		    vcore_refusal_name(r), ans->reason);
	snprintf(st->last_refusal, sizeof(st->last_refusal), "%s: %s",
	    vcore_refusal_name(r), ans->reason);
	return 0;
}

/* Keeps (cosigned, offered) as evidence, once per offered note. */
static void
keep_evidence(struct vcore_state *st, const char *note, size_t len)
{
	struct vcore_evidence *e;
	size_t i;

	st->equivocations++;
	for (i = 0; i < st->nevidence; i++)
		if (strlen(st->evidence[i].offered) == len &&
		    memcmp(st->evidence[i].offered, note, len) == 0)
			return;
	if (st->nevidence == VCORE_EVIDENCE_MAX)
		return;
	e = &st->evidence[st->nevidence++];
	e->size = st->size;
	snprintf(e->cosigned, sizeof(e->cosigned), "%s", st->checkpoint);
	memcpy(e->offered, note, len);
	e->offered[len] = '\0';
}

/* 1 when the note's body is the body of the checkpoint we cosigned. */
static int
same_body(const struct vcore_state *st, const char *note, size_t body_len)
{
	size_t ours = ledger_cosign_body_len(st->checkpoint,
	    strlen(st->checkpoint));

	return ours == body_len && memcmp(st->checkpoint, note, ours) == 0;
}

/* The time checks: within [now - max_past, now + max_future] and not
 * before the last cosigned checkpoint.  0 or a refusal. */
static int
check_time(struct vcore_state *st, const struct offered *o, time_t now,
    struct vcore_answer *ans)
{
	if (o->time == 0) {
		if (st->mode == VCORE_WITNESS)
			return 0;	/* logs without a time line */
		refuse(st, ans, VCORE_TIME_BOUNDS, "checkpoint has no time "
		    "line");
		return -1;
	}
	if ((int64_t)o->time > (int64_t)now + st->max_future ||
	    (int64_t)o->time < (int64_t)now - st->max_past) {
		refuse(st, ans, VCORE_TIME_BOUNDS, "checkpoint time %" PRId64
		    " is outside [%" PRId64 ", %" PRId64 "]", (int64_t)o->time,
		    (int64_t)now - st->max_past, (int64_t)now + st->max_future);
		return -1;
	}
	if (o->time < st->cp_time) {
		refuse(st, ans, VCORE_TIME_BOUNDS, "checkpoint time %" PRId64
		    " is before the last cosigned one's %" PRId64,
		    (int64_t)o->time, (int64_t)st->cp_time);
		return -1;
	}
	return 0;
}

/* VCORE_VALIDATOR, after the entries were staged: a checkpoint's
 * status map root must be the one of our registry with them (the
 * cosignature then covers it: it is in the body).  A checkpoint without
 * a map line claims no status (those from before the map, a sequencer
 * that does not keep one): nothing to check, and nothing a device could
 * prove with it.  0, or -1 with a refusal (everything staged dropped). */
static int
check_map(struct vcore_state *st, const struct vcore_ops *ops,
    const struct vcore_request *req, const struct offered *o,
    struct vcore_answer *ans)
{
	uint8_t ours[LEDGER_HASH_LEN], theirs[LEDGER_HASH_LEN];
	int rc;

	if (ops->map_root == NULL)
		return 0;
	if (ops->map_root(ops->arg, ours) != 0) {
		if (ops->abort != NULL)
			ops->abort(ops->arg);
		refuse(st, ans, VCORE_INTERNAL, "the status map of the "
		    "replayed registry cannot be computed");
		return -1;
	}
	if ((rc = ledger_checkpoint_map_root(req->note, o->body_len,
	    theirs)) == 1 || (rc == 0 && memcmp(ours, theirs,
	    LEDGER_HASH_LEN) == 0))
		return 0;
	if (ops->abort != NULL)
		ops->abort(ops->arg);
	refuse(st, ans, VCORE_MAP_MISMATCH, rc == 0 ? "the checkpoint's "
	    "status map root is not the one of the registry its entries "
	    "make" : "the checkpoint's status map line is malformed");
	return -1;
}

/* VCORE_VALIDATOR: the entries' root and rules.  0 with the new border in
 * fr, or -1 with a refusal in ans (everything staged dropped). */
static int
replay(struct vcore_state *st, const struct vcore_ops *ops,
    const struct vcore_request *req, const struct offered *o,
    uint8_t fr[][LEDGER_HASH_LEN], struct vcore_answer *ans)
{
	uint8_t leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	char code[VCORE_RULE_MAX], why[VCORE_REASON_MAX / 2];
	uint64_t size = st->size, i;

	if (o->size == st->size)
		return 0;
	if (req->nentries == 0) {
		refuse(st, ans, VCORE_NEEDS_ENTRIES, "a validator cosigns "
		    "only what it replayed: send the %" PRIu64 " entries "
		    "from %" PRIu64, o->size - st->size, st->size);
		return -1;
	}
	if (o->size > VCORE_REPLAY_SIZE_MAX) {
		refuse(st, ans, VCORE_MALFORMED, "size %" PRIu64 " is past what "
		    "a replaying validator can hold", o->size);
		return -1;
	}
	if (req->nentries != o->size - st->size) {
		refuse(st, ans, VCORE_MALFORMED, "%zu entries for a growth "
		    "from %" PRIu64 " to %" PRIu64, req->nentries, st->size,
		    o->size);
		return -1;
	}
	for (i = 0; i < req->nentries; i++) {
		ledger_merkle_leaf_hash(req->entries[i].text,
		    req->entries[i].len, leaf);
		frontier_append(fr, &size, leaf);
	}
	frontier_root(fr, size, root);
	if (memcmp(root, o->root, LEDGER_HASH_LEN) != 0) {
		refuse(st, ans, VCORE_ROOT_MISMATCH, "the root of entries "
		    "%" PRIu64 "..%" PRIu64 " is not the checkpoint's",
		    st->size, o->size - 1);
		return -1;
	}
	for (i = 0; i < req->nentries; i++) {
		code[0] = why[0] = '\0';
		if (ops->stage(ops->arg, st->size + i, req->entries[i].text,
		    req->entries[i].len, o->time, code, sizeof(code), why,
		    sizeof(why)) == 0)
			continue;
		if (ops->abort != NULL)
			ops->abort(ops->arg);
		ans->bad_entry = st->size + i;
		snprintf(ans->rule, sizeof(ans->rule), "%s",
		    code[0] != '\0' ? code : "rule");
		refuse(st, ans, VCORE_RULE_BROKEN, "entry %" PRIu64 " breaks "
		    "%s: %s", st->size + i, ans->rule, why);
		return -1;
	}
	return check_map(st, ops, req, o, ans);
}

/* Signs o at max(now, its time), writes the line into ans->body.  0/-1. */
static int
cosign(const struct vcore_state *st, const struct vcore_ops *ops,
    const uint8_t key_id[LEDGER_COSIGN_KEY_ID_LEN], const char *note,
    const struct offered *o, time_t now, struct vcore_answer *ans)
{
	char msg[MSG_MAX];
	uint8_t sig[LEDGER_COSIGN_ED_SIG_LEN];
	uint64_t ts = (uint64_t)(now > o->time ? now : o->time);
	size_t msglen;

	if (ledger_cosign_message(note, o->body_len, ts, msg, sizeof(msg),
	    &msglen) == -1 || ops->sign(ops->arg, msg, msglen, sig) == -1)
		return -1;
	return ledger_cosign_line_from_sig(st->name, key_id, ts, sig,
	    ans->body, sizeof(ans->body));
}

int
vcore_add(struct vcore_state *st, const struct vcore_ops *ops,
    const uint8_t key_id[LEDGER_COSIGN_KEY_ID_LEN],
    const struct vcore_request *req, time_t now, struct vcore_answer *ans)
{
	uint8_t fr[VCORE_FRONTIER_MAX][LEDGER_HASH_LEN];
	struct offered o;

	if (st == NULL || ops == NULL || ops->sign == NULL ||
	    ops->log_verify == NULL || key_id == NULL || req == NULL ||
	    ans == NULL || (st->mode == VCORE_VALIDATOR && ops->stage == NULL))
		return -1;
	memset(ans, 0, sizeof(*ans));
	memset(&o, 0, sizeof(o));
	if (req->note == NULL || req->note_len >= VCORE_NOTE_MAX ||
	    (o.body_len = ledger_cosign_body_len(req->note,
	    req->note_len)) == 0 ||
	    ledger_checkpoint_parse(req->note, o.body_len, o.origin,
	    sizeof(o.origin), &o.size, o.root, &o.time) == -1)
		return refuse(st, ans, VCORE_MALFORMED, "not a checkpoint "
		    "note");
	if (strcmp(o.origin, st->origin) != 0)
		return refuse(st, ans, VCORE_UNKNOWN_ORIGIN, "unknown origin "
		    "\"%s\"", o.origin);
	if (ops->log_verify(ops->arg, req->note, req->note_len) == -1)
		return refuse(st, ans, VCORE_NOT_SIGNED, "no valid signature "
		    "of the log's key on the checkpoint");
	if (req->old > o.size)
		return refuse(st, ans, VCORE_MALFORMED, "old size %" PRIu64
		    " is past the checkpoint's %" PRIu64, req->old, o.size);
	/* Another checkpoint of the size we cosigned: evidence, whatever
	 * old says. */
	if (o.size == st->size && st->checkpoint[0] != '\0' &&
	    !same_body(st, req->note, o.body_len)) {
		keep_evidence(st, req->note, req->note_len);
		ans->state_changed = 1;
		return refuse(st, ans, VCORE_EQUIVOCATION, "another checkpoint "
		    "of size %" PRIu64 " than the one cosigned (kept as "
		    "evidence)", o.size);
	}
	if (o.size < st->size)
		return refuse(st, ans, VCORE_NOT_EXTENDING, "size %" PRIu64
		    " is below the last cosigned %" PRIu64, o.size, st->size);
	if (req->old != st->size)
		return refuse(st, ans, VCORE_SIZE_MISMATCH, "old size %" PRIu64
		    " is not the last cosigned %" PRIu64, req->old, st->size);
	if (o.size == st->size) {
		if (memcmp(o.root, st->root, LEDGER_HASH_LEN) != 0)
			return refuse(st, ans, VCORE_INCONSISTENT, "size %"
			    PRIu64 " with another root", o.size);
	} else if (req->old == 0 ? req->nproof != 0 :
	    ledger_merkle_verify_consistency(req->old, o.size, st->root,
	    o.root, req->proof, req->nproof) == -1)
		return refuse(st, ans, VCORE_INCONSISTENT, "the consistency "
		    "proof from %" PRIu64 " to %" PRIu64 " does not verify",
		    req->old, o.size);
	if (check_time(st, &o, now, ans) == -1)
		return 0;
	if (st->mode == VCORE_VALIDATOR) {
		memcpy(fr, st->frontier, sizeof(fr));
		if (replay(st, ops, req, &o, fr, ans) == -1)
			return 0;
	}
	if (cosign(st, ops, key_id, req->note, &o, now, ans) == -1) {
		if (st->mode == VCORE_VALIDATOR && ops->abort != NULL)
			ops->abort(ops->arg);
		memset(ans->body, 0, sizeof(ans->body));
		return refuse(st, ans, VCORE_INTERNAL, "the signer failed");
	}
	ans->status = 200;
	ans->refusal = VCORE_OK;
	ans->state_changed = 1;
	if (st->mode == VCORE_VALIDATOR)
		memcpy(st->frontier, fr, sizeof(fr));
	st->size = o.size;
	memcpy(st->root, o.root, LEDGER_HASH_LEN);
	st->cp_time = o.time;
	memcpy(st->checkpoint, req->note, req->note_len);
	st->checkpoint[req->note_len] = '\0';
	return 0;
}
