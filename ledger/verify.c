/*
 * verify.c: the auditor's replay (`keybridge ledger verify`).
 *
 * Trusts nothing in the database but the validator's verifier key given by
 * the caller: every entry is re-parsed and re-checked by the same rules the
 * daemon applies (ledger_rules_apply) into a fresh in-memory registry, leaf
 * hashes and the tree are recomputed, every block's root, time and
 * checkpoint signature are checked, and finally the stored registry tables
 * must equal the replayed ones.  The first broken point is reported with
 * its entry index (or block height) and what failed.
 *
 * A database is whole in itself after its last blocks were deleted (and
 * the registry rows put back to match): that undoes revocations and no
 * replay can see it.  Checkpoints kept from outside the database can
 * (struct ledger_trusted): the stored tree must be at least as large as
 * each and consistent with it, which is the RFC 9162 consistency proof a
 * remote client would check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "ledger/ledger_int.h"
#include "ledger/policy.h"
#include "ledger/verify_par.h"

#define VERIFY_PROGRESS_EVERY 10000

struct verify_ctx {
	struct ledger_store *stored, *replay;
	struct ledger_merkle *tree;
	struct ledger_smt *map;			/* the replay's status map */
	struct ledger_map_touch touch;
	const char *vkey;
	const struct ledger_policy *policy;	/* NULL: no cosigners */
	/* The latest solo block's verdicts, while no checkpoint is final. */
	int64_t solo_height;
	char solo_what[512];
	struct ledger_verify_report *rep;
	const struct ledger_block_row *block;
	uint64_t next_index, next_height, total;
	time_t last_time;
	char origin[256];
	void (*progress)(uint64_t, uint64_t, void *);
	void *arg;
	int broken;
	struct verify_par *par;		/* NULL: signatures checked here */
};

#define VERIFY_BREAK(ctx_, idx_, blk_, ...) do {			\
	(ctx_)->broken = 1;						\
	(ctx_)->rep->bad_index = (idx_);				\
	(ctx_)->rep->bad_block = (blk_);				\
	snprintf((ctx_)->rep->what, sizeof((ctx_)->rep->what),		\
	    __VA_ARGS__);						\
	return 1;							\
} while (0)

static int
verify_entry(const struct ledger_entry_info *info, void *arg)
{
	struct verify_ctx *v = arg;
	struct ledger_store *rs = v->replay;
	struct ledger_entry e;
	struct ledger_entry_info copy;
	uint8_t leaf[LEDGER_HASH_LEN];
	enum ledger_status st;
	char why[256];
	int64_t idx = (int64_t)info->index, blk = (int64_t)v->block->height;

	if (info->index != v->next_index)
		VERIFY_BREAK(v, (int64_t)v->next_index, blk, "entry %llu is "
		    "missing from the log", (unsigned long long)v->next_index);
	if (info->block != v->block->height)
		VERIFY_BREAK(v, idx, blk, "entry %lld: stored in block %llu "
		    "but block %lld covers it", (long long)idx,
		    (unsigned long long)info->block, (long long)blk);
	ledger_merkle_leaf_hash(info->text, info->len, leaf);
	if (memcmp(leaf, info->leaf_hash, LEDGER_HASH_LEN) != 0)
		VERIFY_BREAK(v, idx, blk, "entry %lld: its bytes do not match "
		    "its stored leaf hash (the entry was altered)",
		    (long long)idx);
	st = ledger_entry_parse(info->text, info->len, &e, why, sizeof(why));
	if (st != LEDGER_OK)
		VERIFY_BREAK(v, idx, blk, "entry %lld: %s: %s", (long long)idx,
		    ledger_status_code(st), why);
	if (e.type != info->type || e.seq != info->seq ||
	    strcmp(e.account, info->account) != 0) {
		ledger_entry_clear(&e);
		VERIFY_BREAK(v, idx, blk, "entry %lld: stored type, account "
		    "or seq columns differ from the entry text",
		    (long long)idx);
	}
	if (rs->ops->savepoint(rs) != 0)
		goto storage;
	if (v->par != NULL)
		verify_par_enter(v->par, info);
	st = ledger_rules_apply(rs, &e, info->index, v->block->time, why,
	    sizeof(why));
	if (v->par != NULL)
		verify_par_leave(v->par);
	ledger_entry_clear(&e);
	if (st != LEDGER_OK)
		VERIFY_BREAK(v, idx, blk, "entry %lld: %s: %s", (long long)idx,
		    ledger_status_code(st), why);
	copy = *info;
	memcpy(copy.leaf_hash, leaf, LEDGER_HASH_LEN);
	if (rs->ops->entry_put(rs, &copy) != 0 || rs->ops->release(rs) != 0 ||
	    ledger_merkle_append(v->tree, leaf) != 0)
		goto storage;
	v->next_index++;
	v->rep->entries++;
	if (v->progress != NULL && v->next_index % VERIFY_PROGRESS_EVERY == 0)
		v->progress(v->next_index, v->total, v->arg);
	return 0;
storage:
	VERIFY_BREAK(v, idx, blk, "replaying entry %lld: %s", (long long)idx,
	    rs->ops->errmsg(rs));
}

/* Appends each cosigner's verdict on a checkpoint to out: "v1 valid,
 * v2 bad-signature, v3 missing", with lines that name no cosigner
 * (malformed) and duplicates counted after. */
static void
verify_describe(const struct ledger_policy *p,
    const struct ledger_cosign_result *res, size_t nres, char *out,
    size_t outlen)
{
	size_t off = strlen(out), i, j, dup = 0, malformed = 0;
	const char *what;
	int n;

	for (i = 0; i < p->ncosigners && off < outlen; i++, off += (size_t)n) {
		what = "missing";
		for (j = 0; j < nres; j++) {
			if (strcmp(res[j].name, p->cosigners[i].name) != 0)
				continue;
			if (res[j].verdict == LEDGER_COSIGN_DUPLICATE) {
				dup++;
				continue;
			}
			/* a valid line wins over a bad one of the same name */
			if (strcmp(what, "valid") != 0)
				what = ledger_cosign_verdict_name(
				    res[j].verdict);
		}
		if ((n = snprintf(out + off, outlen - off, "%s%s %s",
		    i > 0 ? ", " : "", p->cosigners[i].name, what)) < 0)
			return;
	}
	for (j = 0; j < nres; j++)
		if (res[j].verdict == LEDGER_COSIGN_MALFORMED)
			malformed++;
	if (off < outlen && (dup > 0 || malformed > 0))
		snprintf(out + off, outlen - off, "; %zu duplicate and %zu "
		    "malformed line%s not counted", dup, malformed,
		    dup + malformed == 1 ? "" : "s");
}

/* Block b's checkpoint must be final under the policy: its origin, and
 * a quorum of distinct cosigners (ledger/cosign.h).  0, or 1 broken. */
static int
verify_final(struct verify_ctx *v, const struct ledger_block_row *b)
{
	const struct ledger_policy *p = v->policy;
	struct ledger_cosign_result res[LEDGER_COSIGN_LINES_MAX];
	size_t nres = 0, nvalid = 0, len = strlen(b->checkpoint), i, named;
	int64_t h = (int64_t)b->height;
	char *what = v->rep->what;

	if (strcmp(v->origin, p->origin) != 0)
		VERIFY_BREAK(v, (int64_t)b->size - 1, h, "block %lld: the "
		    "checkpoints are of ledger \"%.120s\", the policy's of "
		    "\"%.120s\"", (long long)h, v->origin, p->origin);
	if (p->ncosigners == 0)
		return 0;
	if (ledger_cosign_quorum(b->checkpoint, len, p->cosigners,
	    p->ncosigners, p->quorum, res, LEDGER_COSIGN_LINES_MAX, &nres,
	    &nvalid) == 0) {
		v->rep->final_blocks++;
		return 0;
	}
	for (i = named = 0; i < nres; i++)
		named += res[i].verdict != LEDGER_COSIGN_UNKNOWN;
	/* Signed by the node alone before any final checkpoint: a later
	 * final one must cover it (checked at the end). */
	if (named == 0 && v->rep->final_blocks == 0) {
		v->rep->solo_blocks++;
		v->solo_height = h;
		what = v->solo_what;
	} else {
		v->broken = 1;
		v->rep->bad_index = (int64_t)b->size - 1;
		v->rep->bad_block = h;
	}
	snprintf(what, sizeof(v->rep->what), "block %lld (tree size %llu): "
	    "checkpoint is not final: %zu of the %zu cosignatures needed are "
	    "valid (", (long long)h, (unsigned long long)b->size, nvalid,
	    p->quorum);
	verify_describe(p, res, nres, what, sizeof(v->rep->what) - 1);
	len = strlen(what);
	if (len + 1 < sizeof(v->rep->what))
		memcpy(what + len, ")", 2);
	return v->broken;
}

/* The checkpoint's status map line, when it has one (checkpoints from
 * before the map have none), must be the root of the replayed registry's
 * map.  0, or 1 broken. */
static int
verify_map(struct verify_ctx *v, const struct ledger_block_row *b)
{
	uint8_t ours[LEDGER_HASH_LEN], theirs[LEDGER_HASH_LEN];
	int rc = ledger_checkpoint_map_root(b->checkpoint,
	    strlen(b->checkpoint), theirs);

	ledger_smt_root(v->map, ours);
	if (rc == 1 || (rc == 0 && memcmp(ours, theirs, LEDGER_HASH_LEN) == 0))
		return 0;
	VERIFY_BREAK(v, (int64_t)b->size - 1, (int64_t)b->height, "block "
	    "%llu: the checkpoint's status map root is not the one of the "
	    "replayed registry", (unsigned long long)b->height);
}

static int
verify_block(const struct ledger_block_row *b, void *arg)
{
	struct verify_ctx *v = arg;
	uint8_t root[LEDGER_HASH_LEN], croot[LEDGER_HASH_LEN];
	char origin[256];
	uint64_t csize;
	time_t ctime;
	int64_t h = (int64_t)b->height, first = (int64_t)b->first;

	if (b->height != v->next_height)
		VERIFY_BREAK(v, (int64_t)v->next_index, (int64_t)v->next_height,
		    "block %llu is missing", (unsigned long long)v->next_height);
	if (b->first != v->next_index || b->size <= b->first)
		VERIFY_BREAK(v, first, h, "block %lld covers entries [%llu, "
		    "%llu) but the log is at %llu", (long long)h,
		    (unsigned long long)b->first, (unsigned long long)b->size,
		    (unsigned long long)v->next_index);
	if (b->time < v->last_time)
		VERIFY_BREAK(v, first, h, "block %lld: ledger time goes "
		    "backwards", (long long)h);
	/* The rules bind entries to the origin the checkpoints name (checked
	 * below, block by block): the first block's, before its entries. */
	if (v->origin[0] == '\0' && ledger_checkpoint_parse(b->checkpoint,
	    strlen(b->checkpoint), v->origin, sizeof(v->origin), &csize, croot,
	    &ctime) != 0)
		v->origin[0] = '\0';
	v->block = b;
	if (v->stored->ops->entries(v->stored, b->first,
	    (size_t)(b->size - b->first), verify_entry, v) != 0 && !v->broken)
		VERIFY_BREAK(v, (int64_t)v->next_index, h, "entry %llu cannot "
		    "be read: %s", (unsigned long long)v->next_index,
		    v->stored->ops->errmsg(v->stored));
	if (v->broken)
		return 1;
	if (v->next_index != b->size)
		VERIFY_BREAK(v, (int64_t)v->next_index, h, "entry %llu is "
		    "missing from the log", (unsigned long long)v->next_index);
	if (ledger_map_update(v->map, v->replay, &v->touch) != 0)
		VERIFY_BREAK(v, (int64_t)b->size - 1, h, "block %lld: the "
		    "status map cannot be computed", (long long)h);
	if (ledger_merkle_root(v->tree, b->size, root) != 0 ||
	    memcmp(root, b->root, LEDGER_HASH_LEN) != 0)
		VERIFY_BREAK(v, (int64_t)b->size - 1, h, "block %lld: stored "
		    "root hash does not match the entries", (long long)h);
	/* Committed, not signed yet (ledger/writer.c commit_sign: another
	 * bridge on the database between its two transactions, or one that
	 * stopped between them and signs it when it starts).  Its entries
	 * are checked above; a later signed checkpoint covers them, and the
	 * report counts it. */
	if (b->checkpoint[0] == '\0') {
		v->rep->unsigned_blocks++;
		v->last_time = b->time;
		v->next_height++;
		v->rep->blocks++;
		return 0;
	}
	if (ledger_checkpoint_parse(b->checkpoint, strlen(b->checkpoint),
	    origin, sizeof(origin), &csize, croot, &ctime) != 0 ||
	    csize != b->size || memcmp(croot, root, LEDGER_HASH_LEN) != 0 ||
	    ctime != b->time)
		VERIFY_BREAK(v, (int64_t)b->size - 1, h, "block %lld: "
		    "checkpoint does not state the block's size, root and time",
		    (long long)h);
	if (verify_map(v, b) != 0)
		return 1;
	if (v->origin[0] == '\0')
		snprintf(v->origin, sizeof(v->origin), "%s", origin);
	else if (strcmp(origin, v->origin) != 0)
		VERIFY_BREAK(v, (int64_t)b->size - 1, h, "block %lld: "
		    "checkpoint origin changes", (long long)h);
	if (ledger_note_verify_vkey(b->checkpoint, strlen(b->checkpoint),
	    v->vkey) != 0)
		VERIFY_BREAK(v, (int64_t)b->size - 1, h, "block %lld: "
		    "checkpoint is not signed by the validator key",
		    (long long)h);
	if (v->policy != NULL && verify_final(v, b) != 0)
		return 1;
	memcpy(v->rep->checkpoint, b->checkpoint, sizeof(v->rep->checkpoint));
	v->last_time = b->time;
	v->next_height++;
	v->rep->blocks++;
	return 0;
}

/*
 * The tree a trusted checkpoint is checked against: its origin, size and
 * root, and the proofs of it (the replayed tree in verify, the open
 * ledger's in serve), so both ask what a remote client would ask.
 */
struct trust_tree {
	const char *origin;		/* "" when the ledger is empty */
	uint64_t size;
	uint8_t root[LEDGER_HASH_LEN];
	int (*consistency)(void *, uint64_t m, uint64_t n,
	    uint8_t proof[][LEDGER_HASH_LEN], size_t *np);
	int (*inclusion)(void *, uint64_t index, uint64_t n,
	    uint8_t proof[][LEDGER_HASH_LEN], size_t *np);
	void *arg;
};

/* Checks trusted checkpoint t against tree tt: 0, or -1 with why. */
static int
trust_check(const struct trust_tree *tt, const char *vkey,
    const struct ledger_trusted *t, char *why, size_t whylen)
{
	uint8_t root[LEDGER_HASH_LEN], proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t empty[LEDGER_HASH_LEN];
	char origin[256];
	uint64_t size;
	time_t ct;
	size_t np = 0;
	int bad;

	if (t->note == NULL || ledger_checkpoint_parse(t->note,
	    strlen(t->note), origin, sizeof(origin), &size, root, &ct) != 0) {
		snprintf(why, whylen, "%s: not a checkpoint note (C2SP "
		    "tlog-checkpoint: origin, size, base64 root)", t->source);
		return -1;
	}
	if (ledger_note_verify_vkey(t->note, strlen(t->note), vkey) != 0) {
		snprintf(why, whylen, "%s: the trusted checkpoint is not signed "
		    "by the validator key", t->source);
		return -1;
	}
	if (tt->origin[0] != '\0' && strcmp(origin, tt->origin) != 0) {
		snprintf(why, whylen, "%s: the trusted checkpoint is of ledger "
		    "\"%s\", not of this ledger (\"%s\")", t->source, origin,
		    tt->origin);
		return -1;
	}
	if (size > tt->size) {
		snprintf(why, whylen, "the stored ledger has %llu entries, "
		    "fewer than the trusted checkpoint's %llu (%s): it was "
		    "rolled back", (unsigned long long)tt->size,
		    (unsigned long long)size, t->source);
		return -1;
	}
	/* RFC 9162 2.1.4.2; the empty tree has one root, SHA-256 of the
	 * empty string (RFC 9162 2.1.1), which no proof can stand for. */
	if (size == 0) {
		SHA256((const unsigned char *)"", 0, empty);
		bad = CRYPTO_memcmp(root, empty, LEDGER_HASH_LEN) != 0;
	} else
		bad = (size < tt->size && tt->consistency(tt->arg, size,
		    tt->size, proof, &np) != 0) ||
		    ledger_merkle_verify_consistency(size, tt->size, root,
		    tt->root, proof, np) != 0;
	if (bad) {
		snprintf(why, whylen, "root at size %llu differs from the "
		    "trusted checkpoint (%s): the ledger was rewritten",
		    (unsigned long long)size, t->source);
		return -1;
	}
	if (!t->receipt)
		return 0;
	if (t->tree_size != size || t->index >= size) {
		snprintf(why, whylen, "%s: the receipt's index %llu and "
		    "tree_size %llu do not fit its checkpoint of size %llu",
		    t->source, (unsigned long long)t->index,
		    (unsigned long long)t->tree_size, (unsigned long long)size);
		return -1;
	}
	/* RFC 9162 2.1.3.2: the stored leaf at index is the receipt's. */
	if (tt->inclusion(tt->arg, t->index, size, proof, &np) != 0 ||
	    ledger_merkle_verify_inclusion(t->leaf_hash, t->index, size,
	    proof, np, root) != 0) {
		snprintf(why, whylen, "%s: entry %llu of the stored ledger is "
		    "not the receipt's (its leaf hash differs)", t->source,
		    (unsigned long long)t->index);
		return -1;
	}
	return 0;
}

static int
tree_consistency(void *arg, uint64_t m, uint64_t n,
    uint8_t proof[][LEDGER_HASH_LEN], size_t *np)
{
	return ledger_merkle_consistency(arg, m, n, proof, np);
}

static int
tree_inclusion(void *arg, uint64_t index, uint64_t n,
    uint8_t proof[][LEDGER_HASH_LEN], size_t *np)
{
	return ledger_merkle_inclusion(arg, index, n, proof, np);
}

static int
ledger_consistency(void *arg, uint64_t m, uint64_t n,
    uint8_t proof[][LEDGER_HASH_LEN], size_t *np)
{
	return ledger_consistency_proof(arg, m, n, proof, np);
}

static int
ledger_inclusion(void *arg, uint64_t index, uint64_t n,
    uint8_t proof[][LEDGER_HASH_LEN], size_t *np)
{
	return ledger_inclusion_proof(arg, index, n, proof, np);
}

int
ledger_trusted_check(struct ledger *l, const char *vkey,
    const struct ledger_trusted *t, char *why, size_t whylen)
{
	struct trust_tree tt;
	char note[LEDGER_NOTE_MAX], origin[256] = "";
	time_t ct;

	memset(&tt, 0, sizeof(tt));
	tt.origin = origin;
	tt.consistency = ledger_consistency;
	tt.inclusion = ledger_inclusion;
	tt.arg = l;
	if (ledger_checkpoint(l, note, sizeof(note), NULL) == 0 &&
	    ledger_checkpoint_parse(note, strlen(note), origin,
	    sizeof(origin), &tt.size, tt.root, &ct) != 0) {
		snprintf(why, whylen, "the ledger's own checkpoint cannot be "
		    "read");
		return -1;
	}
	return trust_check(&tt, vkey, t, why, whylen);
}

static int
count_cb(uint64_t idx, const uint8_t *h, void *arg)
{
	(*(uint64_t *)arg)++;
	return 0;
}

/* A trusted checkpoint that does not parse is a bad argument, told before
 * the long replay, not a broken ledger: 0, or -1 with rep's what and
 * bad_trusted set. */
static int
trust_parse_all(const struct ledger_trusted *t, size_t n,
    struct ledger_verify_report *rep)
{
	uint8_t root[LEDGER_HASH_LEN];
	char origin[256];
	uint64_t size;
	time_t ct;

	for (size_t i = 0; i < n; i++)
		if (t[i].note == NULL || ledger_checkpoint_parse(t[i].note,
		    strlen(t[i].note), origin, sizeof(origin), &size, root,
		    &ct) != 0) {
			snprintf(rep->what, sizeof(rep->what), "%s: not a "
			    "checkpoint note (C2SP tlog-checkpoint: origin, "
			    "tree size and base64 root lines, a blank line, "
			    "signatures)", t[i].source);
			rep->bad_trusted = (int)i;
			return -1;
		}
	return 0;
}

/* Checks trusted t[0..n) against the replayed tree: 0, or -1 with the
 * report's what and bad_trusted set. */
static int
trust_check_tree(struct verify_ctx *v, const struct ledger_trusted *t,
    size_t n)
{
	struct trust_tree tt;

	memset(&tt, 0, sizeof(tt));
	tt.origin = v->origin;
	tt.size = v->total;
	tt.consistency = tree_consistency;
	tt.inclusion = tree_inclusion;
	tt.arg = v->tree;
	if (ledger_merkle_root(v->tree, v->total, tt.root) != 0) {
		snprintf(v->rep->what, sizeof(v->rep->what), "the replayed "
		    "tree has no root at size %llu",
		    (unsigned long long)v->total);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (trust_check(&tt, v->vkey, &t[i], v->rep->what,
		    sizeof(v->rep->what)) != 0) {
			v->rep->bad_trusted = (int)i;
			return -1;
		}
	return 0;
}

int
ledger_verify(const char *db, const char *vkey,
    struct ledger_verify_report *rep,
    void (*progress)(uint64_t, uint64_t, void *), void *arg)
{
	return ledger_verify_trusted(db, vkey, NULL, 0, rep, progress, arg);
}

/* Opens the stored ledger read-only at one snapshot, and an empty
 * registry and tree to replay into.  The registry is SQLite's private
 * temporary file (""), not ":memory:": at a million certificates the
 * replayed rows (their DER) are gigabytes that the page cache can hold
 * and drop, where the heap could not (issue 18).  0; 1 with the reason in
 * v->rep; -1 on an internal error. */
static int
verify_open(struct verify_ctx *v, const char *db)
{
	struct ledger_verify_report *rep = v->rep;
	char err[256];

	if ((v->stored = ledger_store_open(db, LEDGER_STORE_READONLY, err,
	    sizeof(err))) == NULL) {
		snprintf(rep->what, sizeof(rep->what), "%s", err);
		return 1;
	}
	/* One state of a database that bridges may be appending to: the
	 * log and the registry compared must be of the same moment. */
	if (v->stored->ops->begin(v->stored) != 0) {
		snprintf(rep->what, sizeof(rep->what), "cannot read a snapshot: "
		    "%s", v->stored->ops->errmsg(v->stored));
		return 1;
	}
	if ((v->replay = ledger_store_sqlite_open("",
	    LEDGER_STORE_CREATE, err, sizeof(err))) == NULL ||
	    (v->tree = ledger_merkle_new()) == NULL ||
	    (v->map = ledger_smt_new()) == NULL) {
		snprintf(rep->what, sizeof(rep->what), "%s", err);
		return -1;
	}
	v->replay->origin = v->origin;
	v->replay->touch = &v->touch;
	return 0;
}

/* Replays every block of the stored log into v's registry and tree.  0
 * when the whole log is sound, 1 with the first broken point in v->rep. */
static int
verify_replay(struct verify_ctx *v)
{
	struct ledger_verify_report *rep = v->rep;
	int rc;

	/* Counting first gives progress a total and finds a damaged file
	 * before the long part. */
	if (v->stored->ops->leaf_hashes(v->stored, 0, count_cb,
	    &v->total) != 0) {
		snprintf(rep->what, sizeof(rep->what), "the log cannot be read: "
		    "%s", v->stored->ops->errmsg(v->stored));
		return 1;
	}
	if (v->replay->ops->begin(v->replay) != 0)
		return 1;
	rc = v->stored->ops->blocks(v->stored, 0, verify_block, v);
	if (!v->broken && rc != 0) {
		snprintf(rep->what, sizeof(rep->what), "block %llu cannot be "
		    "read: %s", (unsigned long long)v->next_height,
		    v->stored->ops->errmsg(v->stored));
		rep->bad_block = (int64_t)v->next_height;
		return 1;
	}
	if (v->broken)
		return 1;
	if (v->total != v->next_index) {
		rep->bad_index = (int64_t)v->next_index;
		snprintf(rep->what, sizeof(rep->what), "entry %llu and after "
		    "are in no block (%llu entries, blocks cover %llu)",
		    (unsigned long long)v->next_index,
		    (unsigned long long)v->total,
		    (unsigned long long)v->next_index);
		return 1;
	}
	if (v->total == 0) {
		snprintf(rep->what, sizeof(rep->what), "the ledger is empty");
		return 1;
	}
	return 0;
}

int
ledger_verify_trusted(const char *db, const char *vkey,
    const struct ledger_trusted *trusted, size_t ntrusted,
    struct ledger_verify_report *rep,
    void (*progress)(uint64_t, uint64_t, void *), void *arg)
{
	return ledger_verify_policy(db, vkey, NULL, trusted, ntrusted, rep,
	    progress, arg);
}

int
ledger_verify_policy(const char *db, const char *vkey,
    const struct ledger_policy *policy, const struct ledger_trusted *trusted,
    size_t ntrusted, struct ledger_verify_report *rep,
    void (*progress)(uint64_t, uint64_t, void *), void *arg)
{
	return ledger_verify_threads(db, vkey, policy, trusted, ntrusted, 1,
	    rep, progress, arg);
}

int
ledger_verify_threads(const char *db, const char *vkey,
    const struct ledger_policy *policy, const struct ledger_trusted *trusted,
    size_t ntrusted, unsigned threads, struct ledger_verify_report *rep,
    void (*progress)(uint64_t, uint64_t, void *), void *arg)
{
	struct verify_ctx v;
	char name[LEDGER_NAME_MAX + 1];
	EVP_PKEY *pk = NULL;
	int rc;

	memset(rep, 0, sizeof(*rep));
	memset(&v, 0, sizeof(v));
	rep->bad_index = rep->bad_block = -1;
	rep->bad_trusted = -1;
	if (vkey == NULL && policy != NULL)
		vkey = policy->log_vkey;
	if (vkey == NULL)
		vkey = "";
	v.rep = rep;
	v.vkey = vkey;
	v.policy = policy;
	v.progress = progress;
	v.arg = arg;
	if ((pk = ledger_note_vkey_parse(vkey, name, sizeof(name))) == NULL) {
		snprintf(rep->what, sizeof(rep->what), "the validator key "
		    "\"%s\" is not a signed-note verifier key", vkey);
		goto out;
	}
	if (trust_parse_all(trusted, ntrusted, rep) != 0) {
		rc = -1;
		goto done;
	}
	if ((rc = verify_open(&v, db)) != 0) {
		rc = rc < 0 ? -1 : 0;
		goto done;
	}
	/* The signatures ahead on other threads; without them (one CPU,
	 * threads 1, no memory) the same replay checks them itself. */
	if ((v.par = verify_par_start(db, threads)) != NULL)
		ledger_keycache_set_memo(v.replay->keys, verify_par_memo,
		    v.par);
	rc = verify_replay(&v);
	verify_par_stats(v.par, &rep->sigs_ahead, &rep->sigs_here);
	if (v.par == NULL)
		rep->sigs_here = rep->entries;
	if (v.par != NULL) {
		ledger_keycache_set_memo(v.replay->keys, NULL, NULL);
		verify_par_stop(v.par);
	}
	if (rc != 0)
		goto out;
	/* No final checkpoint at all: the latest solo one is the point. */
	if (policy != NULL && policy->ncosigners > 0 &&
	    rep->final_blocks == 0 && rep->solo_blocks > 0) {
		rep->bad_block = v.solo_height;
		rep->bad_index = (int64_t)v.total - 1;
		memcpy(rep->what, v.solo_what, sizeof(rep->what));
		goto out;
	}
	/* The whole tree is sound; now it must also be the tree that the
	 * holders of trusted checkpoints saw, or a later one. */
	if (trust_check_tree(&v, trusted, ntrusted) != 0)
		goto out;
	if (v.replay->ops->commit(v.replay) != 0)
		goto out;
	rc = ledger_store_compare(v.replay, v.stored, rep->what,
	    sizeof(rep->what));
	if (rc != 0)
		goto out;
	rep->ok = 1;
out:
	rc = 0;
done:
	if (!rep->ok)
		rep->checkpoint[0] = '\0';
	if (progress != NULL && rep->ok)
		progress(v.next_index, v.total, arg);
	if (v.replay != NULL)
		v.replay->ops->close(v.replay);
	if (v.stored != NULL) {
		v.stored->ops->rollback(v.stored);
		v.stored->ops->close(v.stored);
	}
	ledger_merkle_free(v.tree);
	ledger_smt_free(v.map);
	ledger_map_touch_clear(&v.touch);
	EVP_PKEY_free(pk);
	return rc;
}
