/*
 * smt.c: the sparse Merkle tree of smt.h.  A node of the trie stands for
 * the subtree at its own depth (a leaf: 256; a branching: the depth where
 * its two children part); seen from its parent, a node sits higher, with
 * empty siblings on the way, so it keeps `up`, its hash folded up to the
 * depth just below its parent (the `top` the recursion passes down).
 */
/* SHA256_Init/Update/Final (deprecated in OpenSSL 3, kept through 3.x):
 * a change hashes ~256 times 65 bytes, and the low-level calls take 100
 * ns of CPU each here against 140 ns through EVP_DigestInit_ex2 with a
 * fetched EVP_MD and 450 ns through SHA256(), which fetches every time
 * (tests/bench/map.sh; docs/benchmarks.md). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "ledger/smt.h"

#define H LEDGER_SMT_HASH
#define SMT_CHK 32	/* a leaf keeps one fold, at a multiple of 32 */

/* set()'s outcomes */
#define SET_REPLACED	0	/* a leaf's value changed */
#define SET_ADDED	1	/* a new leaf */
#define SET_SAME	2	/* the leaf held that value: nothing rehashed */

/*
 * Memory (issue 18, docs/design.md "Status map memory"): two nodes a
 * certificate (a leaf and, on average, one branching) make most of a
 * bridge's heap at a million, so a branching carries only its children
 * and what set() and prove() compare (path, depth, up), and a leaf keeps
 * its value inline and one folded checkpoint.  Hashes that can be
 * recomputed are not kept: a branching's own hash (one hash of its
 * children's ups, needed only when a split above it moves its top) and
 * a leaf's (one hash of its value).
 */
struct smt_node {		/* the head of a leaf or of a branching */
	uint8_t up[H];			/* at the top its parent gives */
	uint8_t path[H];		/* a leaf's; a branching: one below */
	uint16_t depth;			/* LEDGER_SMT_DEPTH: a smt_leaf */
	uint16_t gen;			/* the map's generation at its making */
};

struct smt_branch {
	struct smt_node n;
	struct smt_node *child[2];
};

struct smt_leaf {
	struct smt_node n;
	uint16_t len;
	/* The leaf's hash folded up to depth chk_d, the first multiple of
	 * SMT_CHK at or below the last top it was folded to (chk_d 256:
	 * none): a new sibling below its top but above chk_d, which moves
	 * the top down, then costs < SMT_CHK hashes instead of ~256.  A
	 * trie of n random paths parts near depth log2(n) (21 at 2M
	 * leaves), so one checkpoint at 32 serves nearly every split. */
	uint16_t chk_d;
	uint8_t chk[H];
	char value[];			/* len bytes */
};

/* A map's SHA-256 context (the writer's, under its lock; prove and
 * verify make their own). */
struct smt_hasher {
	SHA256_CTX c;
};

/* A frozen view (ledger_smt_freeze): nodes no set changes or frees
 * until the thaw. */
struct ledger_smt_view {
	const struct smt_node *root;
	size_t count;
};

/*
 * Copy-on-write (docs/design.md "Status map snapshot"): while a view is
 * out (frozen), a node whose gen is not the map's is shared with it, so
 * set() copies it before changing it (own(); its parents first, which
 * point at it) and retires the original, freed at the thaw.  A node made
 * since the freeze (gen the map's) is the live map's alone and changes in
 * place, as every node does when no view is out.
 */
struct ledger_smt {
	struct smt_node *root;		/* top 0 */
	size_t count;
	struct smt_hasher hs;		/* the writer's (under its lock) */
	uint16_t gen;			/* bumped by each freeze */
	int frozen;			/* the view is out */
	struct ledger_smt_view view;
	struct smt_node **retired;	/* the view's, replaced since */
	size_t nretired, cap;
};

/* empty[d]: the hash of an empty subtree at depth d (constant once made). */
static uint8_t empty[LEDGER_SMT_DEPTH + 1][H];
static pthread_once_t empty_once = PTHREAD_ONCE_INIT;

void
ledger_smt_sha256(const void *in, size_t len, uint8_t out[H])
{
	SHA256_CTX c;

	if (SHA256_Init(&c) != 1 || SHA256_Update(&c, in, len) != 1 ||
	    SHA256_Final(out, &c) != 1)
		abort();	/* the built-in SHA-256 does not fail */
}

static int
hasher_open(struct smt_hasher *hs)
{
	memset(hs, 0, sizeof(*hs));
	return 0;
}

static void
hasher_close(struct smt_hasher *hs)
{
	(void)hs;
}

static void
node_hash(struct smt_hasher *hs, const uint8_t *l, const uint8_t *r,
    uint8_t out[H])
{
	uint8_t in[1 + 2 * H];

	in[0] = LEDGER_SMT_PREFIX_NODE;
	memcpy(in + 1, l, H);
	memcpy(in + 1 + H, r, H);
	if (SHA256_Init(&hs->c) != 1 || SHA256_Update(&hs->c, in,
	    sizeof(in)) != 1 || SHA256_Final(out, &hs->c) != 1)
		abort();	/* the built-in SHA-256 does not fail */
}

static void
empty_init(void)
{
	struct smt_hasher hs;

	if (hasher_open(&hs) != 0)
		abort();	/* out of memory at the first map */
	memset(empty[LEDGER_SMT_DEPTH], 0, H);
	for (int d = LEDGER_SMT_DEPTH - 1; d >= 0; d--)
		node_hash(&hs, empty[d + 1], empty[d + 1], empty[d]);
	hasher_close(&hs);
}

static int
bit(const uint8_t path[H], int d)
{
	return (path[d / 8] >> (7 - d % 8)) & 1;
}

/* h, the hash of the subtree at depth `from` on path, as seen at depth
 * `to` (<= from) with empty siblings between, into out; keep (a leaf, or
 * NULL) records the fold at the first multiple of SMT_CHK at or below
 * `to` on the way. */
static void
fold(struct smt_hasher *hs, const uint8_t path[H], const uint8_t h[H],
    int from, int to, uint8_t out[H], struct smt_leaf *keep)
{
	uint8_t x[H];

	memcpy(x, h, H);
	for (int d = from; d > to; d--) {
		if (bit(path, d - 1))
			node_hash(hs, empty[d], x, x);
		else
			node_hash(hs, x, empty[d], x);
		if (keep != NULL && (d - 1) % SMT_CHK == 0) {
			memcpy(keep->chk, x, H);
			keep->chk_d = (uint16_t)(d - 1);
		}
	}
	memcpy(out, x, H);
}

static int
is_leaf(const struct smt_node *n)
{
	return n->depth == LEDGER_SMT_DEPTH;
}

/* n's hash as seen from depth `to` (<= its depth) into out: a
 * branching's from its children's ups; a leaf's from its checkpoint
 * when that sits at the first multiple of SMT_CHK at or below `to`,
 * else from its value, recording the checkpoint in keep (n, or NULL). */
static void
up_of(struct smt_hasher *hs, const struct smt_node *n, int to,
    uint8_t out[H], struct smt_leaf *keep)
{
	const struct smt_branch *b = (const struct smt_branch *)n;
	const struct smt_leaf *lf = (const struct smt_leaf *)n;
	uint8_t h[H];
	int c = (to + SMT_CHK - 1) / SMT_CHK * SMT_CHK;

	if (!is_leaf(n)) {
		node_hash(hs, b->child[0]->up, b->child[1]->up, h);
		fold(hs, n->path, h, n->depth, to, out, NULL);
	} else if (c < LEDGER_SMT_DEPTH && c == lf->chk_d)
		fold(hs, n->path, lf->chk, c, to, out, NULL);
	else {
		ledger_smt_leaf_hash(lf->value, lf->len, h);
		fold(hs, n->path, h, LEDGER_SMT_DEPTH, to, out, keep);
	}
}

/* The first depth in [from, to) where a and b part, or to. */
static int
parting(const uint8_t a[H], const uint8_t b[H], int from, int to)
{
	int d = from;

	while (d < to && d % 8 != 0 && bit(a, d) == bit(b, d))
		d++;
	while (d + 8 <= to && a[d / 8] == b[d / 8])
		d += 8;
	while (d < to && bit(a, d) == bit(b, d))
		d++;
	return d;
}

void
ledger_smt_leaf_hash(const char *value, size_t len, uint8_t out[H])
{
	uint8_t in[1 + LEDGER_SMT_VALUE_MAX];

	if (len > LEDGER_SMT_VALUE_MAX)
		len = LEDGER_SMT_VALUE_MAX;	/* never: callers check */
	in[0] = LEDGER_SMT_PREFIX_LEAF;
	memcpy(in + 1, value, len);
	ledger_smt_sha256(in, 1 + len, out);
}

static void
node_free(struct smt_node *n)
{
	if (n == NULL)
		return;
	if (!is_leaf(n)) {
		node_free(((struct smt_branch *)n)->child[0]);
		node_free(((struct smt_branch *)n)->child[1]);
	}
	free(n);
}

struct ledger_smt *
ledger_smt_new(void)
{
	struct ledger_smt *m;

	pthread_once(&empty_once, empty_init);
	if ((m = calloc(1, sizeof(*m))) != NULL && hasher_open(&m->hs) != 0) {
		hasher_close(&m->hs);
		free(m);
		m = NULL;
	}
	return m;
}

void
ledger_smt_free(struct ledger_smt *m)
{
	if (m == NULL)
		return;
	node_free(m->root);
	ledger_smt_thaw(m);
	hasher_close(&m->hs);
	free(m);
}

/* A leaf of len value bytes (path, depth and value for the caller). */
static struct smt_leaf *
leaf_alloc(struct smt_leaf *old, size_t len)
{
	return realloc(old, offsetof(struct smt_leaf, value) + len);
}

/* A new leaf of path and value, seen from depth top; NULL (memory). */
static struct smt_leaf *
leaf_new(struct ledger_smt *m, const uint8_t path[H], const char *value,
    size_t len, int top)
{
	struct smt_leaf *n = leaf_alloc(NULL, len);

	if (n == NULL)
		return NULL;
	memcpy(n->n.path, path, H);
	n->n.depth = LEDGER_SMT_DEPTH;
	n->n.gen = m->gen;
	n->len = (uint16_t)len;		/* <= LEDGER_SMT_VALUE_MAX */
	n->chk_d = LEDGER_SMT_DEPTH;
	memcpy(n->value, value, len);
	up_of(&m->hs, &n->n, top, n->n.up, n);
	return n;
}

/* Room for one more retired node.  0 or -1 (memory). */
static int
retired_room(struct ledger_smt *m)
{
	struct smt_node **r;
	size_t cap;

	if (m->nretired < m->cap)
		return 0;
	cap = m->cap == 0 ? 1024 : 2 * m->cap;
	if ((r = realloc(m->retired, cap * sizeof(*r))) == NULL)
		return -1;
	m->retired = r;
	m->cap = cap;
	return 0;
}

/* *np made the live map's own: a node shared with the frozen view is
 * copied, the copy put in its place (*np is in a node the caller owns
 * already, or the root) and the original retired.  0 or -1 (memory;
 * nothing changed). */
static int
own(struct ledger_smt *m, struct smt_node **np)
{
	struct smt_node *n = *np, *c;
	size_t sz;

	if (!m->frozen || n->gen == m->gen)
		return 0;
	sz = is_leaf(n) ? offsetof(struct smt_leaf, value) +
	    ((const struct smt_leaf *)n)->len : sizeof(struct smt_branch);
	if (retired_room(m) != 0 || (c = malloc(sz)) == NULL)
		return -1;
	memcpy(c, n, sz);
	c->gen = m->gen;
	m->retired[m->nretired++] = n;
	*np = c;
	return 0;
}

/* Leaf *np's value set to value[0..len), seen from top: SET_SAME,
 * SET_REPLACED (*np may have moved), or -1 (memory; nothing changed). */
static int
leaf_replace(struct ledger_smt *m, struct smt_node **np, const char *value,
    size_t len, int top)
{
	struct smt_leaf *lf = (struct smt_leaf *)*np;

	if (lf->len == len && memcmp(lf->value, value, len) == 0)
		return SET_SAME;
	if (own(m, np) != 0)
		return -1;
	lf = (struct smt_leaf *)*np;
	if (lf->len != len && (lf = leaf_alloc(lf, len)) == NULL)
		return -1;
	*np = &lf->n;
	memcpy(lf->value, value, len);
	lf->len = (uint16_t)len;
	lf->chk_d = LEDGER_SMT_DEPTH;	/* the old value's fold */
	up_of(&m->hs, &lf->n, top, lf->n.up, lf);
	return SET_REPLACED;
}

/*
 * Sets path to value in the subtree *np seen from depth top: a new leaf
 * where there is none; beside a node whose path parts from ours above
 * its depth, a new branching there; the same leaf, a new value; else
 * down the branching's side.  Every node on the way is rehashed, unless
 * the leaf held that value already (a block that sets a leaf twice: a
 * key and its certificate).  A node shared with a frozen view is
 * copied first (own()).  SET_ADDED, SET_REPLACED, SET_SAME, or -1 out of
 * memory (the map's leaves and root unchanged; a copy made on the way
 * stays, equal to its original).
 */
static int
set(struct ledger_smt *m, struct smt_node **np, const uint8_t path[H],
    const char *value, size_t len, int top)
{
	struct smt_node *n = *np;
	struct smt_branch *b = NULL;
	struct smt_leaf *leaf;
	int d, rc;

	if (n == NULL) {
		if ((leaf = leaf_new(m, path, value, len, top)) == NULL)
			return -1;
		*np = &leaf->n;
		return SET_ADDED;
	}
	d = parting(path, n->path, top, n->depth);
	if (d < n->depth) {
		if ((b = malloc(sizeof(*b))) == NULL || own(m, np) != 0 ||
		    (leaf = leaf_new(m, path, value, len, d + 1)) == NULL) {
			free(b);
			return -1;
		}
		n = *np;
		up_of(&m->hs, n, d + 1, n->up, is_leaf(n) ?
		    (struct smt_leaf *)n : NULL);
		b->child[bit(path, d)] = &leaf->n;
		b->child[!bit(path, d)] = n;
		memcpy(b->n.path, path, H);
		b->n.depth = (uint16_t)d;
		b->n.gen = m->gen;
		up_of(&m->hs, &b->n, top, b->n.up, NULL);
		*np = &b->n;
		return SET_ADDED;
	}
	if (is_leaf(n))
		return leaf_replace(m, np, value, len, top);
	if (own(m, np) != 0)
		return -1;
	n = *np;
	b = (struct smt_branch *)n;
	if ((rc = set(m, &b->child[bit(path, n->depth)], path, value, len,
	    n->depth + 1)) == SET_ADDED || rc == SET_REPLACED)
		up_of(&m->hs, n, top, n->up, NULL);
	return rc;
}

int
ledger_smt_set(struct ledger_smt *m, const uint8_t path[H], const char *value,
    size_t len)
{
	int rc;

	if (m == NULL || value == NULL || len == 0 ||
	    len > LEDGER_SMT_VALUE_MAX || (rc = set(m, &m->root, path,
	    value, len, 0)) < 0)
		return -1;
	if (rc == SET_ADDED)
		m->count++;
	return 0;
}

void
ledger_smt_root(const struct ledger_smt *m, uint8_t root[H])
{
	pthread_once(&empty_once, empty_init);
	memcpy(root, m == NULL || m->root == NULL ? empty[0] : m->root->up, H);
}

size_t
ledger_smt_count(const struct ledger_smt *m)
{
	return m == NULL ? 0 : m->count;
}

/* Every node under n of generation 0 (the generation wraps). */
static void
gen_reset(struct smt_node *n)
{
	if (n == NULL)
		return;
	n->gen = 0;
	if (!is_leaf(n)) {
		gen_reset(((struct smt_branch *)n)->child[0]);
		gen_reset(((struct smt_branch *)n)->child[1]);
	}
}

/* See smt.h.  Every node there is becomes the view's: after the bump no
 * node has the map's generation.  At the wrap (every 65,535 freezes) the
 * nodes are renumbered 0 first, so that none made 65,536 freezes ago
 * passes for a new one. */
const struct ledger_smt_view *
ledger_smt_freeze(struct ledger_smt *m)
{
	if (m == NULL || m->frozen)
		return NULL;
	if (m->gen == UINT16_MAX) {
		gen_reset(m->root);
		m->gen = 0;
	}
	m->gen++;
	m->frozen = 1;
	m->view.root = m->root;
	m->view.count = m->count;
	return &m->view;
}

/* See smt.h.  The retired nodes only: the view's others are the live
 * map's too (each retired node's parent was retired with it, up to the
 * view's root, so nothing live points at one). */
void
ledger_smt_thaw(struct ledger_smt *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nretired; i++)
		free(m->retired[i]);
	free(m->retired);
	m->retired = NULL;
	m->nretired = m->cap = 0;
	m->frozen = 0;
	memset(&m->view, 0, sizeof(m->view));
}

size_t
ledger_smt_retired(const struct ledger_smt *m)
{
	return m == NULL ? 0 : m->nretired;
}

void
ledger_smt_view_root(const struct ledger_smt_view *v, uint8_t root[H])
{
	pthread_once(&empty_once, empty_init);
	memcpy(root, v->root == NULL ? empty[0] : v->root->up, H);
}

size_t
ledger_smt_view_count(const struct ledger_smt_view *v)
{
	return v->count;
}

/* Records the sibling at depth d (not empty) into the proof's by-depth
 * table. */
static void
sib_at(struct ledger_smt_proof *p, uint8_t (*bydepth)[H], int d,
    const uint8_t h[H])
{
	p->bitmap[(d - 1) / 8] |= (uint8_t)(0x80 >> ((d - 1) % 8));
	memcpy(bydepth[d - 1], h, H);
}

int
ledger_smt_prove(const struct ledger_smt *m, const uint8_t path[H],
    struct ledger_smt_proof *p, const char **value, size_t *len)
{
	static const uint8_t none[H];
	uint8_t (*bydepth)[H];
	const struct smt_node *n;
	const struct smt_branch *b;
	const struct smt_leaf *lf;
	struct smt_hasher hs;
	int top = 0, d;

	if (m == NULL || p == NULL || hasher_open(&hs) != 0 ||
	    (bydepth = malloc(LEDGER_SMT_DEPTH * H)) == NULL) {
		hasher_close(&hs);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	*value = NULL;
	*len = 0;
	for (n = m->root; n != NULL; ) {
		d = parting(path, n->path, top, n->depth);
		if (d < n->depth) {
			/* ours is empty below d: n hangs beside it at d + 1 */
			up_of(&hs, n, d + 1, bydepth[d], NULL);
			sib_at(p, bydepth, d + 1, bydepth[d]);
			break;
		}
		if (is_leaf(n)) {
			lf = (const struct smt_leaf *)n;
			ledger_smt_leaf_hash(lf->value, lf->len, p->leaf);
			*value = lf->value;
			*len = lf->len;
			break;
		}
		b = (const struct smt_branch *)n;
		sib_at(p, bydepth, n->depth + 1,
		    b->child[!bit(path, n->depth)]->up);
		top = n->depth + 1;
		n = b->child[bit(path, n->depth)];
	}
	if (*value == NULL)
		memcpy(p->leaf, none, H);
	for (d = LEDGER_SMT_DEPTH; d >= 1; d--)
		if (p->bitmap[(d - 1) / 8] & (0x80 >> ((d - 1) % 8)))
			memcpy(p->sib[p->nsib++], bydepth[d - 1], H);
	free(bydepth);
	hasher_close(&hs);
	return 0;
}

int
ledger_smt_verify(const uint8_t path[H], const char *value, size_t len,
    const struct ledger_smt_proof *p, const uint8_t root[H])
{
	struct smt_hasher hs;
	uint8_t x[H];
	const uint8_t *s;
	size_t k = 0;
	int rc = -1;

	pthread_once(&empty_once, empty_init);
	if (p == NULL || (value != NULL && (len == 0 ||
	    len > LEDGER_SMT_VALUE_MAX)) || hasher_open(&hs) != 0)
		goto out;
	if (value != NULL)
		ledger_smt_leaf_hash(value, len, x);
	else
		memset(x, 0, H);
	if (memcmp(x, p->leaf, H) != 0)
		goto out;
	for (int d = LEDGER_SMT_DEPTH; d >= 1; d--) {
		s = empty[d];
		if (p->bitmap[(d - 1) / 8] & (0x80 >> ((d - 1) % 8))) {
			if (k >= p->nsib)
				goto out;
			s = p->sib[k++];
		}
		if (bit(path, d - 1))
			node_hash(&hs, s, x, x);
		else
			node_hash(&hs, x, s, x);
	}
	rc = k == p->nsib && memcmp(x, root, H) == 0 ? 0 : -1;
out:
	hasher_close(&hs);
	return rc;
}

/* ---- the snapshot stream (smt.h) ------------------------------------- */

#define SNAP_EMPTY	'E'
#define SNAP_BRANCH	'B'
#define SNAP_LEAF	'L'

/* A stream and the SHA-256 of what went through it. */
struct smt_io {
	FILE *f;
	SHA256_CTX c;
	int err;
};

static void
io_put(struct smt_io *io, const void *p, size_t n)
{
	if (io->err || fwrite(p, 1, n, io->f) != n ||
	    SHA256_Update(&io->c, p, n) != 1)
		io->err = 1;
}

static int
io_get(struct smt_io *io, void *p, size_t n)
{
	if (io->err || fread(p, 1, n, io->f) != n ||
	    SHA256_Update(&io->c, p, n) != 1)
		io->err = 1;
	return io->err ? -1 : 0;
}

static void
save_node(struct smt_io *io, const struct smt_node *n)
{
	const struct smt_leaf *lf = (const struct smt_leaf *)n;
	uint8_t tag, len[2];

	if (!is_leaf(n)) {
		tag = SNAP_BRANCH;
		len[0] = (uint8_t)n->depth;	/* < 256 */
		io_put(io, &tag, 1);
		io_put(io, len, 1);
		save_node(io, ((const struct smt_branch *)n)->child[0]);
		save_node(io, ((const struct smt_branch *)n)->child[1]);
		return;
	}
	tag = SNAP_LEAF;
	len[0] = (uint8_t)(lf->len >> 8);
	len[1] = (uint8_t)lf->len;
	io_put(io, &tag, 1);
	io_put(io, n->path, H);
	io_put(io, n->up, H);
	io_put(io, len, 2);
	io_put(io, lf->value, lf->len);
}

/* The trie under root (NULL: empty) to f.  0 or -1. */
static int
save_root(const struct smt_node *root, FILE *f, uint8_t digest[H])
{
	struct smt_io io = { .f = f };
	uint8_t tag = SNAP_EMPTY;

	if (SHA256_Init(&io.c) != 1)
		return -1;
	if (root == NULL)
		io_put(&io, &tag, 1);
	else
		save_node(&io, root);
	if (SHA256_Final(digest, &io.c) != 1)
		io.err = 1;
	return io.err ? -1 : 0;
}

int
ledger_smt_save(const struct ledger_smt *m, FILE *f, uint8_t digest[H])
{
	return m == NULL ? -1 : save_root(m->root, f, digest);
}

int
ledger_smt_view_save(const struct ledger_smt_view *v, FILE *f,
    uint8_t digest[H])
{
	return v == NULL ? -1 : save_root(v->root, f, digest);
}

/* A leaf read after its tag, seen from top (its stored up trusted: the
 * root checks it); NULL. */
static struct smt_node *
load_leaf(struct smt_io *io)
{
	struct smt_leaf *n = NULL;
	uint8_t path[H], up[H], len[2];
	size_t vlen;

	if (io_get(io, path, H) != 0 || io_get(io, up, H) != 0 ||
	    io_get(io, len, 2) != 0 ||
	    (vlen = (size_t)len[0] << 8 | len[1]) == 0 ||
	    vlen > LEDGER_SMT_VALUE_MAX || (n = leaf_alloc(NULL, vlen)) == NULL ||
	    io_get(io, n->value, vlen) != 0) {
		free(n);
		return NULL;
	}
	memcpy(n->n.path, path, H);
	memcpy(n->n.up, up, H);
	n->n.depth = LEDGER_SMT_DEPTH;
	n->n.gen = 0;			/* a new map's */
	n->len = (uint16_t)vlen;
	n->chk_d = LEDGER_SMT_DEPTH;	/* no checkpoint: a split refolds */
	return &n->n;
}

/*
 * The subtree read from io, seen from depth top, into *np; *count its
 * leaves.  A branching's depth is >= top and < 256 (so the recursion is
 * at most 256 deep), its children's paths part exactly there, left 0,
 * right 1: by induction every leaf under it shares its path above its
 * depth, the trie set() and prove() walk.  Its up is recomputed from its
 * children's.  0 or -1 (*np NULL or a tree for the caller to free).
 */
static int
load_node(struct smt_io *io, struct smt_hasher *hs, struct smt_node **np,
    int top, size_t *count)
{
	struct smt_branch *n;
	uint8_t tag, d;

	*np = NULL;
	if (io_get(io, &tag, 1) != 0)
		return -1;
	if (tag == SNAP_LEAF) {
		if ((*np = load_leaf(io)) == NULL)
			return -1;
		(*count)++;
		return 0;
	}
	if (tag != SNAP_BRANCH || io_get(io, &d, 1) != 0 || d < top ||
	    (n = calloc(1, sizeof(*n))) == NULL)
		return -1;
	*np = &n->n;
	n->n.depth = d;
	if (load_node(io, hs, &n->child[0], d + 1, count) != 0 ||
	    n->child[0] == NULL ||
	    load_node(io, hs, &n->child[1], d + 1, count) != 0 ||
	    n->child[1] == NULL ||
	    parting(n->child[0]->path, n->child[1]->path, 0,
	    LEDGER_SMT_DEPTH) != d || bit(n->child[0]->path, d) != 0)
		return -1;
	memcpy(n->n.path, n->child[0]->path, H);
	up_of(hs, &n->n, top, n->n.up, NULL);
	return 0;
}

struct ledger_smt *
ledger_smt_load(FILE *f, uint8_t digest[H])
{
	struct smt_io io = { .f = f };
	struct ledger_smt *m;
	uint8_t tag;
	int rc = -1;

	if ((m = ledger_smt_new()) == NULL || SHA256_Init(&io.c) != 1)
		goto out;
	if (io_get(&io, &tag, 1) != 0)
		goto out;
	if (tag == SNAP_EMPTY)
		rc = 0;
	else if (ungetc(tag, f) == tag && SHA256_Init(&io.c) == 1)
		rc = load_node(&io, &m->hs, &m->root, 0, &m->count);
	if (SHA256_Final(digest, &io.c) != 1)
		rc = -1;
out:
	if (rc != 0) {
		ledger_smt_free(m);
		m = NULL;
	}
	return m;
}
