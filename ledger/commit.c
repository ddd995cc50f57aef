/*
 * commit.c: committing one block (split from writer.c, which keeps the
 * queue and the threads).
 *
 * A block is one database transaction: the entries that passed the rules,
 * the registry changes they made and the block's checkpoint row are
 * committed together, with one fsync; then the consensus seals the
 * checkpoint (solo: the key process signs; validators: a quorum
 * cosigns) and the signature is saved.  Nothing is acknowledged before
 * its block is committed and sealed.  A block stored but not sealed is
 * sealed again before any other (ledger_commit_sign_last); its entries
 * were answered 503 and become final with it (docs/design.md "Finality").
 *
 * Several processes on one database: ledger_catch_up (catchup.c) loads
 * the blocks the others committed since our last one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ledger_state.h"

/*
 * Whether a block that is not sealed yet leaves the last final checkpoint
 * published.  With validators, yes: a missing quorum is an outage that
 * passes, and reads (the checkpoint, proofs against it) go on meanwhile.
 * Solo, no (as before): the key process refusing to sign is a fork or a
 * rollback (test_ledger_rollback), and no older checkpoint is served as
 * the ledger's.
 */
int
ledger_commit_keeps_final(const struct ledger *l)
{
	return l->cons != NULL && strcmp(l->cons->ops->name, "validators") ==
	    0;
}

/* ---- committing a block ------------------------------------------------ */

/* Answers subs[0..n) (with only_ok, those still LEDGER_OK) with
 * LEDGER_ERR_STORAGE: "what: the store's message". */
static void
commit_fail(struct ledger_sub **subs, size_t n, int only_ok,
    const char *what, struct ledger_store *s)
{
	for (size_t i = 0; i < n; i++) {
		if (only_ok && subs[i]->st != LEDGER_OK)
			continue;
		subs[i]->st = LEDGER_ERR_STORAGE;
		snprintf(subs[i]->why, LEDGER_WHY_MAX, "%s: %s", what,
		    s->ops->errmsg(s));
	}
}

/* Answers subs[0..n) (with only_ok, those still LEDGER_OK) with st and
 * why: a block that could not be sealed. */
static void
commit_refuse(struct ledger_sub **subs, size_t n, int only_ok,
    enum ledger_status st, const char *why)
{
	for (size_t i = 0; i < n; i++) {
		if (only_ok && subs[i]->st != LEDGER_OK)
			continue;
		subs[i]->st = st;
		snprintf(subs[i]->why, LEDGER_WHY_MAX, "%s", why);
	}
}

/* What a submission gets when its block (or the one before it) cannot be
 * sealed: with validators, no quorum (503, retry later); solo, the key
 * process failed (storage, 503 too). */
static enum ledger_status
commit_seal_status(const struct ledger *l)
{
	return strcmp(l->cons->ops->name, "validators") == 0 ?
	    LEDGER_ERR_NO_QUORUM : LEDGER_ERR_STORAGE;
}

/* Remembers the accepted entries of a block that could not be sealed:
 * answered 503, they become final with it (commit_doubt_match). */
static void
commit_doubt_add(struct ledger *l, struct ledger_sub **subs, size_t n)
{
	if (l->doubt == NULL && (l->doubt = calloc(LEDGER_DOUBT_MAX,
	    sizeof(*l->doubt))) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (subs[i]->st != LEDGER_OK)
			continue;
		memcpy(l->doubt[l->doubt_next].leaf_hash, subs[i]->r.leaf_hash,
		    LEDGER_HASH_LEN);
		l->doubt[l->doubt_next].index = subs[i]->r.index;
		l->doubt_next = (l->doubt_next + 1) % LEDGER_DOUBT_MAX;
		if (l->ndoubt < LEDGER_DOUBT_MAX)
			l->ndoubt++;
	}
}

/* A single entry byte-identical to one answered 503 whose block is
 * sealed now: resolved with that entry's index (its receipt), not
 * applied again (the rules would refuse its sequence number).  1 when
 * it matched. */
static int
commit_doubt_match(struct ledger *l, struct ledger_sub *sub)
{
	uint8_t h[LEDGER_HASH_LEN];

	if (l->ndoubt == 0 || sub->st != LEDGER_OK)
		return 0;
	ledger_merkle_leaf_hash(sub->text, sub->len, h);
	for (size_t i = 0; i < l->ndoubt; i++)
		if (memcmp(l->doubt[i].leaf_hash, h, LEDGER_HASH_LEN) == 0 &&
		    l->doubt[i].index < l->committed) {
			sub->resolved = 1;
			sub->r.index = l->doubt[i].index;
			memcpy(sub->r.leaf_hash, h, LEDGER_HASH_LEN);
			return 1;
		}
	return 0;
}

/* Applies sub's parsed entry e at leaf index *size: the rules, then the
 * log row.  On success its receipt's index and leaf hash are set and
 * *size advances; otherwise sub->st and sub->why say why. */
static void
ledger_apply(struct ledger *l, struct ledger_store *s, struct ledger_sub *sub,
    const struct ledger_entry *e, uint64_t *size, time_t now)
{
	struct ledger_entry_info info;

	ledger_ingest_enter(l->ing, sub);
	sub->st = ledger_rules_apply(s, e, *size, now, sub->why,
	    LEDGER_WHY_MAX);
	ledger_ingest_leave(l->ing);
	if (sub->st != LEDGER_OK)
		return;
	memset(&info, 0, sizeof(info));
	info.index = *size;
	info.block = l->height;
	info.type = e->type;
	snprintf(info.account, sizeof(info.account), "%s", e->account);
	info.seq = e->seq;
	info.text = sub->text;
	info.len = sub->len;
	ledger_merkle_leaf_hash(sub->text, sub->len, info.leaf_hash);
	if (s->ops->entry_put(s, &info) != 0) {
		commit_fail(&sub, 1, 0, "storage", s);
		return;
	}
	sub->r.index = (*size)++;
	memcpy(sub->r.leaf_hash, info.leaf_hash, LEDGER_HASH_LEN);
}

/*
 * Applies subs[0..g) (a single entry, or a group that commits together)
 * inside one savepoint: when one is refused (or did not parse), the
 * savepoint is rolled back, *size returns to where it was, and every
 * entry of the group gets that refusal.
 */
static void
ledger_apply_group(struct ledger *l, struct ledger_store *s,
    struct ledger_sub **subs, const struct ledger_entry *es, size_t g,
    uint64_t *size, time_t now)
{
	uint64_t first = *size;
	size_t bad = g;

	if (s->ops->savepoint(s) != 0) {
		commit_fail(subs, g, 0, "storage", s);
		return;
	}
	for (size_t j = 0; j < g && bad == g; j++) {
		if (subs[j]->st == LEDGER_OK)
			ledger_apply(l, s, subs[j], &es[j], size, now);
		if (subs[j]->st != LEDGER_OK)
			bad = j;
	}
	if (bad < g) {
		s->ops->rollback_to(s);
		*size = first;
		for (size_t j = 0; j < g; j++)
			if (j != bad) {
				subs[j]->st = subs[bad]->st;
				memcpy(subs[j]->why, subs[bad]->why,
				    LEDGER_WHY_MAX);
			}
	}
	s->ops->release(s);
}

/* In the block's transaction: parses each entry, lets the store read
 * ahead what their rules will look up, and catches up with the blocks
 * other processes committed.  0, or -1 with every entry answered and the
 * transaction rolled back. */
static int
commit_prepare(struct ledger *l, struct ledger_store *s,
    struct ledger_sub **subs, struct ledger_entry *es,
    const struct ledger_entry **parsed, size_t n)
{
	size_t nparsed = 0;

	/* Parsed first, so that the store can read what the rules will look
	 * up for the whole block at once (PostgreSQL: with the last block's
	 * read of the catch-up, in the round trip after BEGIN). */
	for (size_t i = 0; i < n; i++) {
		subs[i]->st = ledger_entry_parse(subs[i]->text, subs[i]->len,
		    &es[i], subs[i]->why, LEDGER_WHY_MAX);
		if (subs[i]->st == LEDGER_OK)
			parsed[nparsed++] = &es[i];
	}
	if (s->ops->prefetch != NULL && nparsed > 0)
		s->ops->prefetch(s, parsed, nparsed);
	/* The writers' lock is ours: what others committed is final. */
	if (ledger_catch_up(l, s) < 0) {
		commit_fail(subs, n, 0, "the stored log cannot be followed", s);
		s->ops->rollback(s);
		return -1;
	}
	return 0;
}

/* Applies subs[0..n), group by group, from leaf index *size on. */
static void
commit_apply(struct ledger *l, struct ledger_store *s,
    struct ledger_sub **subs, struct ledger_entry *es, size_t n,
    uint64_t *size, time_t now)
{
	for (size_t i = 0, g; i < n; i += g) {
		g = subs[i]->group_n > 1 ? subs[i]->group_n : 1;
		if (g > n - i)
			g = n - i;	/* never: groups are taken whole */
		if (g == 1 && (subs[i]->st != LEDGER_OK ||
		    commit_doubt_match(l, subs[i])))
			continue;
		ledger_apply_group(l, s, subs + i, es + i, g, size, now);
	}
}

/* ledger_seal's consistency: under commit_mu, the only writer of the
 * tree, so it is read without the tree lock. */
static int
commit_consistency(const struct ledger_seal *sl, uint64_t m,
    uint8_t root_m[LEDGER_HASH_LEN], uint8_t proof[][LEDGER_HASH_LEN],
    size_t *nproof)
{
	const struct ledger_merkle *t = sl->tree;

	*nproof = 0;
	if (m == 0 || m > sl->size || ledger_merkle_root(t, m, root_m) != 0)
		return -1;
	if (m == sl->size)
		return 0;
	return ledger_merkle_consistency(t, m, sl->size, proof, nproof);
}

/* ledger_seal's consistency_between: as commit_consistency, from m to a
 * past size n (<= the block's). */
static int
commit_consistency_between(const struct ledger_seal *sl, uint64_t m,
    uint64_t n, uint8_t root_m[LEDGER_HASH_LEN],
    uint8_t proof[][LEDGER_HASH_LEN], size_t *nproof)
{
	const struct ledger_merkle *t = sl->tree;

	*nproof = 0;
	if (m == 0 || m > n || n > sl->size ||
	    ledger_merkle_root(t, m, root_m) != 0)
		return -1;
	if (m == n)
		return 0;
	return ledger_merkle_consistency(t, m, n, proof, nproof);
}

/* The block of the accepted entries, leaves [base, size): appends them
 * to the tree and fills *b with its root, without a checkpoint yet.  0,
 * or -1 (the caller truncates the tree back to base). */
static int
commit_tree(struct ledger *l, struct ledger_sub **subs, size_t n,
    uint64_t base, uint64_t size, time_t now, struct ledger_block_row *b)
{
	pthread_rwlock_wrlock(&l->tree_lock);
	for (size_t i = 0; i < n; i++)
		if (subs[i]->st == LEDGER_OK && !subs[i]->resolved)
			ledger_merkle_append(l->tree, subs[i]->r.leaf_hash);
	pthread_rwlock_unlock(&l->tree_lock);
	memset(b, 0, sizeof(*b));
	b->height = l->height;
	b->first = base;
	b->size = size;
	b->time = now;
	if (ledger_merkle_size(l->tree) != size ||
	    ledger_merkle_root(l->tree, size, b->root) != 0)
		return -1;
	return 0;
}

/* In the block's transaction: the status map takes the registry rows
 * the block's rules changed (made again from them all when a change was
 * lost).  0 or -1 (the block is undone). */
static int
commit_map(struct ledger *l, struct ledger_store *s)
{
	struct timespec t0, t1;
	size_t n = l->touch.n;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_rwlock_wrlock(&l->tree_lock);
	if (ledger_map_update(l->map, s, &l->touch) != 0)
		rc = ledger_map_reload(l, s);
	pthread_rwlock_unlock(&l->tree_lock);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_mutex_lock(&l->mu);
	l->stats.map_seconds_sum += (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	l->stats.map_leaves += n;
	pthread_mutex_unlock(&l->mu);
	return rc;
}

/* Signs committed block b's checkpoint through the consensus into
 * b->checkpoint: its body carries the status map's root (the map is the
 * last committed block's, which b is).  0 or -1. */
int
ledger_commit_seal(struct ledger *l, struct ledger_block_row *b)
{
	struct ledger_seal sl;
	uint8_t map[LEDGER_SMT_HASH];
	char body[512];

	ledger_smt_root(l->map, map);
	if (ledger_checkpoint_body_map(l->origin, b->size, b->root, b->time,
	    map, body, sizeof(body)) != 0)
		return -1;
	memset(&sl, 0, sizeof(sl));
	sl.height = b->height;
	sl.body = body;
	sl.size = b->size;
	sl.root = b->root;
	sl.consistency = commit_consistency;
	sl.consistency_between = commit_consistency_between;
	sl.tree = l->tree;
	return l->cons->ops->seal(l->cons, &sl, b->checkpoint,
	    sizeof(b->checkpoint));
}

/* See ledger_state.h. */
int
ledger_commit_last_final(struct ledger *l, struct ledger_seal *sl,
    uint8_t root[LEDGER_HASH_LEN], char *note, size_t notelen)
{
	int rc = 1;

	memset(sl, 0, sizeof(*sl));
	pthread_rwlock_rdlock(&l->tree_lock);
	if (l->checkpoint[0] != '\0' && l->final_size > 0) {
		rc = ledger_merkle_root(l->tree, l->final_size, root) != 0 ||
		    (size_t)snprintf(note, notelen, "%s", l->checkpoint) >=
		    notelen ? -1 : 0;
		sl->size = l->final_size;
	}
	pthread_rwlock_unlock(&l->tree_lock);
	if (rc != 0)
		return rc;
	sl->root = root;
	sl->note = note;
	sl->consistency = commit_consistency;
	sl->consistency_between = commit_consistency_between;
	sl->tree = l->tree;
	return 0;
}

/*
 * Signs committed block b (unless b->checkpoint already holds its
 * signature) and saves the signature in its own transaction.  The block
 * is committed before its checkpoint is signed, so a signer that keeps a
 * promise about what it signed (the key process: never two roots for a
 * size, never a smaller size) is never asked for a tree the database
 * may lose: a crash between the two leaves a stored block without its
 * signature, which the same signer signs again when the writer starts
 * (the same size and root).  0 signed and saved; 1 signed, not saved;
 * -1 not signed.
 */
static int
commit_sign(struct ledger *l, struct ledger_store *s,
    struct ledger_block_row *b)
{
	if (b->checkpoint[0] == '\0' && (ledger_pipe_durable(l) != 0 ||
	    ledger_commit_seal(l, b) != 0)) {
		b->checkpoint[0] = '\0';
		return -1;
	}
	return s->ops->block_sign(s, b->height, b->checkpoint) != 0 ? 1 : 0;
}

/* Under commit_mu: signs and saves our last block if it is stored
 * without its signature.  0 when there is none (left), else -1. */
int
ledger_commit_sign_last(struct ledger *l, struct ledger_store *s)
{
	struct ledger_block_row *b = &l->unsigned_blk;
	int rc;

	if (!l->has_unsigned)
		return 0;
	if ((rc = commit_sign(l, s, b)) < 0)
		return -1;
	pthread_rwlock_wrlock(&l->tree_lock);
	snprintf(l->checkpoint, sizeof(l->checkpoint), "%s", b->checkpoint);
	l->final_size = b->size;
	pthread_rwlock_unlock(&l->tree_lock);
	if (rc > 0)
		return -1;
	l->has_unsigned = 0;
	return 0;
}

/* The block b is committed: the ledger's state moves to it and every
 * accepted entry's receipt gets its tree size and checkpoint. */
static void
commit_publish(struct ledger *l, struct ledger_sub **subs, size_t n,
    const struct ledger_block_row *b)
{
	pthread_rwlock_wrlock(&l->tree_lock);
	l->committed = b->size;
	l->height++;
	l->last_time = b->time;
	if (b->checkpoint[0] != '\0') {
		snprintf(l->checkpoint, sizeof(l->checkpoint), "%s", b->checkpoint);
		l->final_size = b->size;
	} else if (!ledger_commit_keeps_final(l)) {
		l->checkpoint[0] = '\0';
		l->final_size = 0;
	}
	pthread_rwlock_unlock(&l->tree_lock);
	for (size_t i = 0; i < n; i++) {
		if (subs[i]->st != LEDGER_OK)
			continue;
		subs[i]->r.tree_size = b->size;
		snprintf(subs[i]->r.checkpoint, sizeof(subs[i]->r.checkpoint),
		    "%s", b->checkpoint);
	}
}

/* No block was made: the resolved resubmissions of subs[0..n) get the
 * latest checkpoint (it covers their entries). */
static void
commit_publish_resolved(struct ledger *l, struct ledger_sub **subs,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (subs[i]->st != LEDGER_OK || !subs[i]->resolved)
			continue;
		pthread_rwlock_rdlock(&l->tree_lock);
		subs[i]->r.tree_size = l->final_size;
		snprintf(subs[i]->r.checkpoint, sizeof(subs[i]->r.checkpoint),
		    "%s", l->checkpoint);
		pthread_rwlock_unlock(&l->tree_lock);
	}
}

/* The block could not be sealed or committed: rolled back, the tree
 * truncated to base, and every accepted entry answered with the
 * store's reason. */
static void
commit_undo(struct ledger *l, struct ledger_store *s,
    struct ledger_sub **subs, size_t n, uint64_t base)
{
	s->ops->rollback(s);
	pthread_rwlock_wrlock(&l->tree_lock);
	ledger_merkle_truncate(l->tree, base);
	l->touch.n = 0;
	if (ledger_map_reload(l, s) != 0)
		l->touch.failed = 1;
	pthread_rwlock_unlock(&l->tree_lock);
	commit_fail(subs, n, 1, "the block could not be committed", s);
}

/* Moves the signed certificates of subs[0..n) after the entries, both in
 * their order, and returns how many entries lead. */
static size_t
commit_partition(struct ledger_sub **subs, size_t n)
{
	size_t k = 0, j = 0;
	struct ledger_sub *tmp[LEDGER_BATCH_MAX + LEDGER_GROUP_MAX];

	if (n > sizeof(tmp) / sizeof(tmp[0]))
		return n;	/* never: the writer's batches are smaller */
	for (size_t i = 0; i < n; i++)
		if (subs[i]->signed_cert)
			tmp[j++] = subs[i];
		else
			subs[k++] = subs[i];
	memcpy(subs + k, tmp, j * sizeof(*tmp));
	return k;
}

/* In the block's transaction: keeps certs[0..n)'s signed certificates.
 * 0, or -1 (the caller rolls back and answers). */
static int
commit_signed(struct ledger_store *s, struct ledger_sub **certs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s->ops->cert_signed_put(s, certs[i]->serial, certs[i]->text,
		    certs[i]->sha256) != 0)
			return -1;
	return 0;
}

/* Kept certificates make no block (their TBS is in a sealed one: the CA
 * signed it against its checkpoint) and their clients have them: when
 * the block cannot be made, they are kept all the same, in a transaction
 * of their own, so a restart's heal never revokes them. */
static void
commit_keep_certs(struct ledger_store *s, struct ledger_sub **certs,
    size_t ncerts)
{
	if (ncerts > 0 && (s->ops->begin(s) != 0 ||
	    commit_signed(s, certs, ncerts) != 0 ||
	    s->ops->commit(s) != 0)) {
		s->ops->rollback(s);
		commit_fail(certs, ncerts, 0, "cannot keep the certificates",
		    s);
	}
}

/* Inside the block's transaction, before it touches the tree and the
 * map: the pipe's outstanding block sealed and its signature saved in
 * this transaction (*saved: 1 then).  0, or -1 when that block is not
 * final: this one is rolled back and answered as when the last block is
 * unsigned (ledger_commit's first step). */
static int
commit_sync(struct ledger *l, struct ledger_store *s,
    struct ledger_sub **subs, size_t n, size_t ncerts, int *saved)
{
	int rc = ledger_pipe_sync(l, s, 1);

	*saved = rc == 1;
	if (rc >= 0)
		return 0;
	s->ops->rollback(s);
	l->touch.n = 0;
	commit_refuse(subs, n, 1, l->seal_status, "the block before this "
	    "one was stored but its checkpoint could not be signed");
	commit_keep_certs(s, subs + n, ncerts);
	return -1;
}

/* The committed block b is the ledger's last; its checkpoint comes with
 * its seal (the pipe's). */
static void
commit_advance(struct ledger *l, const struct ledger_block_row *b)
{
	pthread_rwlock_wrlock(&l->tree_lock);
	l->committed = b->size;
	l->height++;
	l->last_time = b->time;
	pthread_rwlock_unlock(&l->tree_lock);
}

/* Block b of subs[0..nall) (n entries first) is committed: held for the
 * pipe's sealer (with defer and a pipe: 1, the sealer answers), or
 * sealed here and published (0, answered in place). */
static int
commit_seal_or_hold(struct ledger *l, struct ledger_store *s,
    struct ledger_sub **subs, size_t nall, size_t n,
    struct ledger_block_row *b, int defer)
{
	int rc;

	if (defer && l->pipe != NULL) {
		commit_advance(l, b);
		ledger_pipe_hold(l, subs, nall, n, b);
		return 1;
	}
	if ((rc = commit_sign(l, s, b)) != 0) {
		l->unsigned_blk = *b;
		l->has_unsigned = 1;
	}
	commit_publish(l, subs, n, b);
	if (rc < 0)
		ledger_commit_seal_failed(l, subs, n);
	return 0;
}

/* See ledger_state.h.  Stored, not final: answered 503; they become
 * final with the block, and a byte-identical resubmission then gets its
 * receipt (commit_doubt_match). */
void
ledger_commit_seal_failed(struct ledger *l, struct ledger_sub **subs,
    size_t n)
{
	if (!ledger_commit_keeps_final(l)) {
		pthread_rwlock_wrlock(&l->tree_lock);
		l->checkpoint[0] = '\0';
		l->final_size = 0;
		pthread_rwlock_unlock(&l->tree_lock);
	}
	commit_doubt_add(l, subs, n);
	l->seal_failed = 1;
	l->seal_status = commit_seal_status(l);
	commit_refuse(subs, n, 1, l->seal_status, l->seal_status ==
	    LEDGER_ERR_NO_QUORUM ? "no quorum: the block is stored "
	    "but its validators did not cosign it in time; it becomes "
	    "final when they do (resubmit the same entry to get its "
	    "receipt then)" : "the block was stored but its "
	    "checkpoint could not be signed");
}

/*
 * Commits subs[0..n) as one block: parses each, applies the rules inside a
 * savepoint (a refused entry leaves no trace), appends the accepted ones to
 * the log and the tree, commits, then signs the checkpoint (commit_sign).
 * On a failed commit the tree is truncated back and every accepted entry
 * is answered LEDGER_ERR_STORAGE: nothing is acknowledged that is not
 * durable, and nothing is signed that is not.  A block stored but not
 * signed is answered LEDGER_ERR_STORAGE too (its entries are on the
 * ledger; the writer builds nothing on it until it is signed).
 */
int
ledger_commit(struct ledger *l, struct ledger_sub **subs, size_t nall,
    int defer)
{
	struct ledger_store *s = l->w;
	struct ledger_entry *es = NULL;
	const struct ledger_entry **parsed = NULL;
	struct ledger_block_row b;
	uint64_t base, size;
	size_t n = commit_partition(subs, nall), ncerts = nall - n;
	struct ledger_sub **certs = subs + n;
	time_t now;
	int held = 0, saved = 0;

	pthread_mutex_lock(&l->commit_mu);
	if (!defer)
		(void)ledger_pipe_sync(l, s, 0);
	if (ledger_commit_sign_last(l, s) != 0) {
		l->seal_failed = 1;
		l->seal_status = commit_seal_status(l);
		commit_refuse(subs, n, 0, l->seal_status, l->seal_status ==
		    LEDGER_ERR_NO_QUORUM ? "no quorum: the block before this "
		    "one is not final yet (its validators did not cosign in "
		    "time); retry later" : "the last block's checkpoint is "
		    "not signed yet");
		commit_keep_certs(s, certs, ncerts);
		goto out;
	}
	if ((es = calloc(n + 1, sizeof(*es))) == NULL ||
	    (parsed = calloc(n + 1, sizeof(*parsed))) == NULL ||
	    s->ops->begin(s) != 0) {
		commit_fail(subs, nall, 0, "cannot start a transaction", s);
		goto out;
	}
	if (commit_prepare(l, s, subs, es, parsed, n) != 0) {
		commit_fail(certs, ncerts, 0, "cannot prepare the block", s);
		goto out;
	}
	now = l->cons->ops->block_time(l->cons, l->last_time);
	base = size = l->committed;
	commit_apply(l, s, subs, es, n, &size, now);
	if (size == base && ncerts == 0) {	/* nothing accepted */
		s->ops->rollback(s);
		l->touch.n = 0;
		commit_publish_resolved(l, subs, n);
		goto out;
	}
	if (commit_sync(l, s, subs, n, ncerts, &saved) != 0)
		goto out;
	/* The kept certificates ride in the block's transaction; a
	 * transaction of kept certificates alone makes no block. */
	if (commit_signed(s, certs, ncerts) != 0 || (size > base &&
	    (commit_map(l, s) != 0 ||
	    commit_tree(l, subs, n, base, size, now, &b) != 0 ||
	    s->ops->block_put(s, &b) != 0)) || s->ops->commit(s) != 0) {
		commit_undo(l, s, subs, nall, base);
		if (saved)	/* its signature was in this transaction */
			l->has_unsigned = 1;
		goto out;
	}
	if (size == base) {
		commit_publish_resolved(l, subs, n);
		goto out;
	}
	held = commit_seal_or_hold(l, s, subs, nall, n, &b, defer);
out:
	/* Answered in place: what this call committed (kept certificates)
	 * durable first, when the pipe fsyncs the log itself. */
	if (!held && ledger_pipe_durable(l) != 0)
		commit_fail(subs, nall, 1, "the log cannot be made durable", s);
	pthread_mutex_unlock(&l->commit_mu);
	/* parsed entries, whether or not the block got that far */
	for (size_t i = 0; es != NULL && i < n; i++)
		ledger_entry_clear(&es[i]);
	free(es);
	free(parsed);
	return held;
}

enum ledger_status
ledger_append(struct ledger *l, const char *entry, size_t len,
    struct ledger_receipt *r, char *why, size_t whylen)
{
	struct ledger_sub sub, *p = &sub;

	memset(&sub, 0, sizeof(sub));
	if (l->cons == NULL) {
		snprintf(why, whylen, "the ledger is open read-only");
		return LEDGER_ERR_UNAVAILABLE;
	}
	sub.text = (char *)entry;
	sub.len = len;
	(void)ledger_commit(l, &p, 1, 0);
	if (r != NULL)
		*r = sub.r;
	snprintf(why, whylen, "%s", sub.why);
	return sub.st;
}

