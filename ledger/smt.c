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
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "ledger/smt.h"

#define H LEDGER_SMT_HASH
#define SMT_CHK 32	/* a leaf keeps its fold at every 32nd depth */

/* set()'s outcomes */
#define SET_REPLACED	0	/* a leaf's value changed */
#define SET_ADDED	1	/* a new leaf */
#define SET_SAME	2	/* the leaf held that value: nothing rehashed */

struct smt_node {
	struct smt_node *child[2];	/* both NULL: a leaf */
	uint8_t path[H];		/* a leaf's; a branching: one below */
	int depth;			/* 256 for a leaf */
	uint8_t hash[H];		/* at depth */
	uint8_t up[H];			/* at the top its parent gives */
	char *value;			/* a leaf's */
	size_t len;
	/* A leaf's hash folded up to depth SMT_CHK * i, for those depths
	 * >= chk_min: a new sibling far below its top, which moves the top
	 * down, then costs < SMT_CHK hashes instead of ~256. */
	uint8_t chk[LEDGER_SMT_DEPTH / SMT_CHK][H];
	int chk_min;
};

/* A map's SHA-256 context (the writer's, under its lock; prove and
 * verify make their own). */
struct smt_hasher {
	SHA256_CTX c;
};

struct ledger_smt {
	struct smt_node *root;		/* top 0 */
	size_t count;
	struct smt_hasher hs;		/* the writer's (under its lock) */
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
 * `to` (<= from) with empty siblings between, into out. */
static void
fold(struct smt_hasher *hs, const uint8_t path[H], const uint8_t h[H],
    int from, int to, uint8_t out[H], struct smt_node *keep)
{
	uint8_t x[H];

	memcpy(x, h, H);
	for (int d = from; d > to; d--) {
		if (bit(path, d - 1))
			node_hash(hs, empty[d], x, x);
		else
			node_hash(hs, x, empty[d], x);
		if (keep != NULL && (d - 1) % SMT_CHK == 0) {
			memcpy(keep->chk[(d - 1) / SMT_CHK], x, H);
			if (d - 1 < keep->chk_min)
				keep->chk_min = d - 1;
		}
	}
	memcpy(out, x, H);
}

/* n's hash as seen from depth `to` (<= its depth) into out: a leaf's
 * from its kept fold at the first multiple of SMT_CHK at or below `to`
 * when it has it; keep (n, or NULL) records a leaf's folds on the way. */
static void
up_of(struct smt_hasher *hs, const struct smt_node *n, int to,
    uint8_t out[H], struct smt_node *keep)
{
	int c = (to + SMT_CHK - 1) / SMT_CHK * SMT_CHK;

	if (n->child[0] == NULL && c < n->depth && c >= n->chk_min)
		fold(hs, n->path, n->chk[c / SMT_CHK], c, to, out, NULL);
	else
		fold(hs, n->path, n->hash, n->depth, to, out,
		    n->child[0] == NULL ? keep : NULL);
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
	node_free(n->child[0]);
	node_free(n->child[1]);
	free(n->value);
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
	hasher_close(&m->hs);
	free(m);
}

/* A new leaf of path and value, seen from depth top; NULL (memory). */
static struct smt_node *
leaf_new(struct smt_hasher *hs, const uint8_t path[H], const char *value,
    size_t len, int top)
{
	struct smt_node *n = calloc(1, sizeof(*n));

	if (n == NULL || (n->value = malloc(len)) == NULL) {
		free(n);
		return NULL;
	}
	memcpy(n->path, path, H);
	memcpy(n->value, value, len);
	n->len = len;
	n->depth = LEDGER_SMT_DEPTH;
	ledger_smt_leaf_hash(value, len, n->hash);
	n->chk_min = LEDGER_SMT_DEPTH;
	up_of(hs, n, top, n->up, n);
	return n;
}

/* A branching's hash from its children's, and its up from top. */
static void
branch_rehash(struct smt_hasher *hs, struct smt_node *n, int top)
{
	node_hash(hs, n->child[0]->up, n->child[1]->up, n->hash);
	up_of(hs, n, top, n->up, NULL);
}

/*
 * Sets path to value in the subtree *np seen from depth top: a new leaf
 * where there is none; beside a node whose path parts from ours above
 * its depth, a new branching there; the same leaf, a new value; else
 * down the branching's side.  Every node on the way is rehashed, unless
 * the leaf held that value already (a block that sets a leaf twice: a
 * key and its certificate).  SET_ADDED, SET_REPLACED, SET_SAME, or -1
 * out of memory (nothing changed).
 */
static int
set(struct smt_hasher *hs, struct smt_node **np, const uint8_t path[H],
    const char *value, size_t len, int top)
{
	struct smt_node *n = *np, *b, *leaf;
	char *v;
	int d, rc;

	if (n == NULL)
		return (*np = leaf_new(hs, path, value, len, top)) == NULL ?
		    -1 : SET_ADDED;
	d = parting(path, n->path, top, n->depth);
	if (d < n->depth) {
		if ((b = calloc(1, sizeof(*b))) == NULL ||
		    (leaf = leaf_new(hs, path, value, len, d + 1)) == NULL) {
			free(b);
			return -1;
		}
		up_of(hs, n, d + 1, n->up, n);
		b->child[bit(path, d)] = leaf;
		b->child[!bit(path, d)] = n;
		memcpy(b->path, path, H);
		b->depth = d;
		branch_rehash(hs, b, top);
		*np = b;
		return SET_ADDED;
	}
	if (n->child[0] == NULL) {
		if (n->len == len && memcmp(n->value, value, len) == 0)
			return SET_SAME;
		if ((v = malloc(len)) == NULL)
			return -1;
		memcpy(v, value, len);
		free(n->value);
		n->value = v;
		n->len = len;
		ledger_smt_leaf_hash(value, len, n->hash);
		n->chk_min = LEDGER_SMT_DEPTH;
		up_of(hs, n, top, n->up, n);
		return SET_REPLACED;
	}
	if ((rc = set(hs, &n->child[bit(path, n->depth)], path, value, len,
	    n->depth + 1)) == SET_ADDED || rc == SET_REPLACED)
		branch_rehash(hs, n, top);
	return rc;
}

int
ledger_smt_set(struct ledger_smt *m, const uint8_t path[H], const char *value,
    size_t len)
{
	int rc;

	if (m == NULL || value == NULL || len == 0 ||
	    len > LEDGER_SMT_VALUE_MAX || (rc = set(&m->hs, &m->root, path,
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
		if (n->child[0] == NULL) {
			memcpy(p->leaf, n->hash, H);
			*value = n->value;
			*len = n->len;
			break;
		}
		sib_at(p, bydepth, n->depth + 1,
		    n->child[!bit(path, n->depth)]->up);
		top = n->depth + 1;
		n = n->child[bit(path, n->depth)];
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
	uint8_t tag, len[2];

	if (n->child[0] != NULL) {
		tag = SNAP_BRANCH;
		len[0] = (uint8_t)n->depth;	/* < 256 */
		io_put(io, &tag, 1);
		io_put(io, len, 1);
		save_node(io, n->child[0]);
		save_node(io, n->child[1]);
		return;
	}
	tag = SNAP_LEAF;
	len[0] = (uint8_t)(n->len >> 8);
	len[1] = (uint8_t)n->len;
	io_put(io, &tag, 1);
	io_put(io, n->path, H);
	io_put(io, n->up, H);
	io_put(io, len, 2);
	io_put(io, n->value, n->len);
}

int
ledger_smt_save(const struct ledger_smt *m, FILE *f, uint8_t digest[H])
{
	struct smt_io io = { .f = f };
	uint8_t tag = SNAP_EMPTY;

	if (m == NULL || SHA256_Init(&io.c) != 1)
		return -1;
	if (m->root == NULL)
		io_put(&io, &tag, 1);
	else
		save_node(&io, m->root);
	if (SHA256_Final(digest, &io.c) != 1)
		io.err = 1;
	return io.err ? -1 : 0;
}

/* A leaf read after its tag, seen from top (its stored up trusted: the
 * root checks it); NULL. */
static struct smt_node *
load_leaf(struct smt_io *io)
{
	struct smt_node *n;
	uint8_t len[2];
	size_t vlen;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	if (io_get(io, n->path, H) != 0 || io_get(io, n->up, H) != 0 ||
	    io_get(io, len, 2) != 0 ||
	    (vlen = (size_t)len[0] << 8 | len[1]) == 0 ||
	    vlen > LEDGER_SMT_VALUE_MAX || (n->value = malloc(vlen)) == NULL ||
	    io_get(io, n->value, vlen) != 0) {
		free(n->value);
		free(n);
		return NULL;
	}
	n->len = vlen;
	n->depth = LEDGER_SMT_DEPTH;
	n->chk_min = LEDGER_SMT_DEPTH;	/* no kept folds: a split refolds */
	ledger_smt_leaf_hash(n->value, vlen, n->hash);
	return n;
}

/*
 * The subtree read from io, seen from depth top, into *np; *count its
 * leaves.  A branching's depth is >= top and < 256 (so the recursion is
 * at most 256 deep), its children's paths part exactly there, left 0,
 * right 1: by induction every leaf under it shares its path above its
 * depth, the trie set() and prove() walk.  Its hash and up are
 * recomputed.  0 or -1 (*np NULL or a tree for the caller to free).
 */
static int
load_node(struct smt_io *io, struct smt_hasher *hs, struct smt_node **np,
    int top, size_t *count)
{
	struct smt_node *n;
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
	*np = n;
	n->depth = d;
	if (load_node(io, hs, &n->child[0], d + 1, count) != 0 ||
	    n->child[0] == NULL ||
	    load_node(io, hs, &n->child[1], d + 1, count) != 0 ||
	    n->child[1] == NULL ||
	    parting(n->child[0]->path, n->child[1]->path, 0,
	    LEDGER_SMT_DEPTH) != d || bit(n->child[0]->path, d) != 0)
		return -1;
	memcpy(n->path, n->child[0]->path, H);
	branch_rehash(hs, n, top);
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
