/*
 * smt.h: a sparse Merkle tree of 2^256 leaves (issue 15, docs/design.md
 * "The status map"): the registry's key and certificate status, keyed by
 * a SHA-256 path, so that a device can check one key's status (or that it
 * was never registered) against a checkpoint's map root.
 *
 * Hashing (SHA-256, domain-separated from the log's RFC 6962 0x00/0x01):
 *     leaf     = SHA-256(0x10 || value)
 *     node     = SHA-256(0x11 || left || right)
 *     empty[256] = 32 zero bytes (an empty leaf)
 *     empty[d] = node(empty[d+1], empty[d+1])  (an empty subtree at depth d)
 * Depth 0 is the root, 256 the leaves; bit d of the path (most significant
 * first) chooses the child of a node at depth d (0 left, 1 right).
 *
 * A proof is the map's leaf hash (zero: absent), a 256-bit bitmap whose
 * bit d-1 (byte (d-1)/8, mask 0x80 >> (d-1)%8) says that the sibling at
 * depth d is not empty, and those siblings, deepest first.
 *
 * In memory a compressed (PATRICIA) trie: one node per leaf and per
 * branching, each caching its hash as seen from its parent, so that a
 * change costs the 256 hashes of its path and a proof a walk of about
 * log2(n) nodes.  Not thread-safe: the owner locks.
 */
#ifndef KEYBRIDGE_LEDGER_SMT_H
#define KEYBRIDGE_LEDGER_SMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LEDGER_SMT_HASH		32
#define LEDGER_SMT_DEPTH	256
#define LEDGER_SMT_BITMAP	(LEDGER_SMT_DEPTH / 8)
#define LEDGER_SMT_VALUE_MAX	1024	/* a leaf's value text */
#define LEDGER_SMT_PREFIX_LEAF	0x10
#define LEDGER_SMT_PREFIX_NODE	0x11

struct ledger_smt;

struct ledger_smt_proof {
	uint8_t leaf[LEDGER_SMT_HASH];		/* zero: absent */
	uint8_t bitmap[LEDGER_SMT_BITMAP];
	uint8_t sib[LEDGER_SMT_DEPTH][LEDGER_SMT_HASH];	/* deepest first */
	size_t nsib;
};

/* An empty map, or NULL (out of memory). */
struct ledger_smt *ledger_smt_new(void);
void ledger_smt_free(struct ledger_smt *m);
/* Sets the leaf at path to value[0..len) (copied; 0 < len <=
 * LEDGER_SMT_VALUE_MAX), inserting or replacing (a leaf that holds that
 * value already costs a walk, not a rehash).  0 or -1. */
int ledger_smt_set(struct ledger_smt *m, const uint8_t path[LEDGER_SMT_HASH],
    const char *value, size_t len);
/* The root (empty[0] for an empty map). */
void ledger_smt_root(const struct ledger_smt *m, uint8_t root[LEDGER_SMT_HASH]);
/* Leaves held. */
size_t ledger_smt_count(const struct ledger_smt *m);
/* The proof for path; *value (get0, valid until the next set) and *len
 * its value, NULL when absent.  0 or -1. */
int ledger_smt_prove(const struct ledger_smt *m,
    const uint8_t path[LEDGER_SMT_HASH], struct ledger_smt_proof *p,
    const char **value, size_t *len);
/* 0 when p proves that path holds value[0..len) (value NULL: that it is
 * absent) in the map of root.  Needs no map. */
int ledger_smt_verify(const uint8_t path[LEDGER_SMT_HASH], const char *value,
    size_t len, const struct ledger_smt_proof *p,
    const uint8_t root[LEDGER_SMT_HASH]);
/*
 * A map's nodes as a byte stream (the snapshot of map.c, issue 18), in
 * preorder: 'E' an empty map; 'B' depth(1 byte) then the two children,
 * left first; 'L' path(32) up(32) len(2, big-endian) value(len), up
 * being the leaf's hash as seen from its parent (its ~256 hashes, the
 * cost of a build).  A branching's hash is never stored: a load
 * recomputes it from its children's ups, so the root it gives vouches
 * for every stored up (docs/design.md "Status map snapshot").
 */
/* Writes m to f; digest: SHA-256 of the bytes written.  0 or -1. */
int ledger_smt_save(const struct ledger_smt *m, FILE *f,
    uint8_t digest[LEDGER_SMT_HASH]);
/* A map read from f as ledger_smt_save wrote it, with digest the
 * SHA-256 of the bytes read; NULL when they are not a well-formed trie
 * (a depth out of order, children that do not part at their branching,
 * a length out of bounds, a short read) or out of memory. */
struct ledger_smt *ledger_smt_load(FILE *f, uint8_t digest[LEDGER_SMT_HASH]);
/*
 * Copy-on-write, for a snapshot written while the map goes on changing
 * (docs/design.md "Status map snapshot"): ledger_smt_freeze gives a view
 * of m as it is (get0, owned by m; NULL when one is out already, one at
 * a time), whose nodes no later ledger_smt_set changes or frees: a set
 * copies a node it shares with the view (and the path above it) and
 * retires the original.  The view may be read (ledger_smt_view_save,
 * _root, _count) on another thread without the owner's lock while the
 * owner sets m under it; ledger_smt_thaw, under the owner's lock once
 * that reader is done, frees the retired nodes and ends the view.
 * ledger_smt_free frees a frozen map whole (view included).
 */
struct ledger_smt_view;
const struct ledger_smt_view *ledger_smt_freeze(struct ledger_smt *m);
void ledger_smt_thaw(struct ledger_smt *m);
/* Nodes retired since the freeze (0: none, or no view out). */
size_t ledger_smt_retired(const struct ledger_smt *m);
void ledger_smt_view_root(const struct ledger_smt_view *v,
    uint8_t root[LEDGER_SMT_HASH]);
size_t ledger_smt_view_count(const struct ledger_smt_view *v);
/* As ledger_smt_save, of the view.  0 or -1. */
int ledger_smt_view_save(const struct ledger_smt_view *v, FILE *f,
    uint8_t digest[LEDGER_SMT_HASH]);
/* SHA-256 of in[0..len), through OpenSSL's low-level calls (SHA256()
 * fetches its implementation on every call: 4x slower). */
void ledger_smt_sha256(const void *in, size_t len, uint8_t out[LEDGER_SMT_HASH]);
/* The leaf hash of value[0..len). */
void ledger_smt_leaf_hash(const char *value, size_t len,
    uint8_t out[LEDGER_SMT_HASH]);

#endif
