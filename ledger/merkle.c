/*
 * merkle.c: the RFC 6962 / RFC 9162 Merkle tree of the ledger.
 *
 * The tree keeps, level by level, the hash of every complete aligned
 * subtree: level 0 holds the leaf hashes, level k holds the hash of each
 * block of 2^k leaves [j*2^k, (j+1)*2^k) that is complete.  A tree of n
 * leaves therefore holds n + n/2 + n/4 + ... < 2n hashes, and level k has
 * exactly n >> k of them, which makes truncation (rollback) a matter of
 * resetting counts.
 *
 * RFC 9162 2.1.1 defines MTH recursively by splitting n leaves at k, the
 * largest power of two smaller than n.  The left part D[0:k] is always a
 * complete aligned subtree (one lookup); following the right part down, the
 * tree of n leaves is the fold of its "peaks", one complete subtree per set
 * bit of n, from the largest on the left:
 *
 *     n = 13 = 8 + 4 + 1:  MTH = H(P8 || H(P4 || P1))
 *
 * so the root, and every hash a proof needs, costs O(log n) lookups and at
 * most O(log n) node hashes, for any size up to the current one.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ledger/ledger_int.h"

#define MERKLE_LEVELS	64	/* level k: subtrees of 2^k leaves, n < 2^64 */
#define MERKLE_MIN_CAP	64	/* first allocation of a level, in hashes */
#define MERKLE_LEAF_PREFIX 0x00	/* RFC 9162 2.1.1 domain separation */
#define MERKLE_NODE_PREFIX 0x01

struct merkle_level {
	uint8_t (*h)[LEDGER_HASH_LEN];
	uint64_t n;		/* == size >> level */
	uint64_t cap;
};

struct ledger_merkle {
	uint64_t size;
	struct merkle_level lv[MERKLE_LEVELS];
};

/* RFC 9162 2.1.1: leaf hash = SHA-256(0x00 || data). */
void
ledger_merkle_leaf_hash(const void *data, size_t len,
    uint8_t out[LEDGER_HASH_LEN])
{
	static const unsigned char prefix = MERKLE_LEAF_PREFIX;
	EVP_MD_CTX *ctx;
	unsigned int outlen = 0;
	int ok;

	ok = (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, &prefix, 1) == 1 &&
	    (len == 0 || EVP_DigestUpdate(ctx, data, len) == 1) &&
	    EVP_DigestFinal_ex(ctx, out, &outlen) == 1 &&
	    outlen == LEDGER_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	/* The contract has no error return, and a made-up hash would be
	 * written into the log: SHA-256 failing (out of memory inside
	 * libcrypto) is fatal. */
	if (!ok)
		abort();
}

/* RFC 9162 2.1.1: node hash = SHA-256(0x01 || left || right). */
void
ledger_merkle_node_hash(const uint8_t left[LEDGER_HASH_LEN],
    const uint8_t right[LEDGER_HASH_LEN], uint8_t out[LEDGER_HASH_LEN])
{
	uint8_t buf[1 + 2 * LEDGER_HASH_LEN];

	buf[0] = MERKLE_NODE_PREFIX;
	memcpy(buf + 1, left, LEDGER_HASH_LEN);
	memcpy(buf + 1 + LEDGER_HASH_LEN, right, LEDGER_HASH_LEN);
	/* Same reasoning as the leaf hash: no error return, so fatal. */
	if (SHA256(buf, sizeof(buf), out) == NULL)
		abort();
}

/* The largest power of two strictly smaller than n (n >= 2). */
static uint64_t
merkle_split(uint64_t n)
{
	assert(n >= 2);
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* A new empty tree, or NULL (out of memory); ledger_merkle_free() it. */
struct ledger_merkle *
ledger_merkle_new(void)
{
	return calloc(1, sizeof(struct ledger_merkle));
}

/* Frees the tree and its levels; NULL is fine. */
void
ledger_merkle_free(struct ledger_merkle *m)
{
	size_t k;

	if (m == NULL)
		return;
	for (k = 0; k < MERKLE_LEVELS; k++)
		free(m->lv[k].h);
	free(m);
}

/* Makes room for `need` hashes in a level.  0 or -1. */
static int
level_reserve(struct merkle_level *l, uint64_t need)
{
	uint8_t (*h)[LEDGER_HASH_LEN];
	uint64_t cap;

	if (need <= l->cap)
		return 0;
	cap = l->cap != 0 ? l->cap : MERKLE_MIN_CAP;
	while (cap < need) {
		if (cap > UINT64_MAX / 2)
			return -1;
		cap *= 2;
	}
	if (cap > SIZE_MAX / LEDGER_HASH_LEN)
		return -1;
	if ((h = realloc(l->h, (size_t)cap * LEDGER_HASH_LEN)) == NULL)
		return -1;
	l->h = h;
	l->cap = cap;
	return 0;
}

/*
 * Appends a leaf hash: it completes one subtree on each level k where the
 * new size is a multiple of 2^k.  Room is made on all those levels first,
 * so a failure leaves the tree unchanged.  Returns 0 or -1.
 */
int
ledger_merkle_append(struct ledger_merkle *m,
    const uint8_t leaf[LEDGER_HASH_LEN])
{
	uint64_t size;
	size_t k, top;

	if (m == NULL || m->size == UINT64_MAX)
		return -1;
	size = m->size + 1;
	top = (size_t)__builtin_ctzll(size);	/* levels 0..top grow */
	for (k = 0; k <= top; k++)
		if (level_reserve(&m->lv[k], m->lv[k].n + 1) == -1)
			return -1;
	memcpy(m->lv[0].h[m->lv[0].n++], leaf, LEDGER_HASH_LEN);
	for (k = 1; k <= top; k++) {
		struct merkle_level *lo = &m->lv[k - 1], *hi = &m->lv[k];

		assert(lo->n == 2 * (hi->n + 1));
		ledger_merkle_node_hash(lo->h[lo->n - 2], lo->h[lo->n - 1],
		    hi->h[hi->n]);
		hi->n++;
	}
	m->size = size;
	return 0;
}

/* Drops leaves so that the size becomes `size` (rollback of a failed
 * commit).  Returns 0, or -1 when size > current size. */
int
ledger_merkle_truncate(struct ledger_merkle *m, uint64_t size)
{
	size_t k;

	if (m == NULL || size > m->size)
		return -1;
	for (k = 0; k < MERKLE_LEVELS; k++)
		m->lv[k].n = size >> k;
	m->size = size;
	return 0;
}

/* Number of leaves (0 for NULL). */
uint64_t
ledger_merkle_size(const struct ledger_merkle *m)
{
	return m != NULL ? m->size : 0;
}

/* Leaf hash at index; -1 when out of range. */
int
ledger_merkle_leaf(const struct ledger_merkle *m, uint64_t index,
    uint8_t out[LEDGER_HASH_LEN])
{
	if (m == NULL || index >= m->size)
		return -1;
	memcpy(out, m->lv[0].h[index], LEDGER_HASH_LEN);
	return 0;
}

/*
 * MTH(D[start:start+n]) for n >= 1, where start is a multiple of the
 * smallest power of two >= n: true of every subtree the RFC 9162
 * recursion visits.  Folds the peaks right to left (lowest bit of n first).
 */
static void
merkle_range(const struct ledger_merkle *m, uint64_t start, uint64_t n,
    uint8_t out[LEDGER_HASH_LEN])
{
	uint64_t pos = start + n;
	size_t b;
	int have = 0;

	assert(n >= 1 && start + n >= start && start + n <= m->size);
	for (b = 0; b < MERKLE_LEVELS; b++) {
		if ((n >> b & 1) == 0)
			continue;
		pos -= (uint64_t)1 << b;
		assert((pos >> b) < m->lv[b].n && (pos & (((uint64_t)1 << b) -
		    1)) == 0);
		if (!have) {
			memcpy(out, m->lv[b].h[pos >> b], LEDGER_HASH_LEN);
			have = 1;
		} else
			ledger_merkle_node_hash(m->lv[b].h[pos >> b], out, out);
	}
}

/* MTH of the first `size` leaves (size 0: SHA-256 of the empty string).
 * Returns 0, or -1 when size > current size. */
int
ledger_merkle_root(const struct ledger_merkle *m, uint64_t size,
    uint8_t out[LEDGER_HASH_LEN])
{
	if (m == NULL || size > m->size)
		return -1;
	if (size == 0) {
		/* RFC 9162 2.1.1: MTH({}) = HASH(). */
		if (SHA256((const unsigned char *)"", 0, out) == NULL)
			return -1;
		return 0;
	}
	merkle_range(m, 0, size, out);
	return 0;
}

/* Reverses proof[0..n): the walks below go root first, proofs leaf first. */
static void
proof_reverse(uint8_t proof[][LEDGER_HASH_LEN], size_t n)
{
	uint8_t t[LEDGER_HASH_LEN];
	size_t i;

	for (i = 0; i < n / 2; i++) {
		memcpy(t, proof[i], LEDGER_HASH_LEN);
		memcpy(proof[i], proof[n - 1 - i], LEDGER_HASH_LEN);
		memcpy(proof[n - 1 - i], t, LEDGER_HASH_LEN);
	}
}

/*
 * RFC 9162 2.1.3.1 inclusion proof of leaf `index` in the tree of `size`:
 *   PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])       for m < k
 *   PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])   for m >= k
 * walked from the root down, so the hashes come out in reverse.
 * Returns 0 with *n hashes (<= LEDGER_PROOF_MAX), -1 when index >= size or
 * size > current size.
 */
int
ledger_merkle_inclusion(const struct ledger_merkle *m, uint64_t index,
    uint64_t size, uint8_t proof[][LEDGER_HASH_LEN], size_t *n)
{
	uint64_t start = 0, len = size, idx = index, k;
	size_t count = 0;

	if (m == NULL || n == NULL || size > m->size || index >= size)
		return -1;
	while (len > 1) {
		if (count == LEDGER_PROOF_MAX)
			return -1;
		k = merkle_split(len);
		if (idx < k) {
			merkle_range(m, start + k, len - k, proof[count++]);
			len = k;
		} else {
			merkle_range(m, start, k, proof[count++]);
			start += k;
			idx -= k;
			len -= k;
		}
	}
	proof_reverse(proof, count);
	*n = count;
	return 0;
}

/*
 * RFC 9162 2.1.4.1 consistency proof from m to n (0 < m <= n <= size):
 *   SUBPROOF(m, D[m], true)  = {}
 *   SUBPROOF(m, D[m], false) = {MTH(D[m])}
 *   SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])  for m <= k
 *   SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
 * Returns 0 with *nproof hashes, -1 on out-of-range sizes.
 */
int
ledger_merkle_consistency(const struct ledger_merkle *t, uint64_t m,
    uint64_t n, uint8_t proof[][LEDGER_HASH_LEN], size_t *nproof)
{
	uint64_t start = 0, mm = m, nn = n, k;
	size_t count = 0;
	int whole = 1;		/* b: the subtree of m is the old root */

	if (t == NULL || nproof == NULL || m == 0 || m > n || n > t->size)
		return -1;
	while (mm < nn) {
		if (count == LEDGER_PROOF_MAX)
			return -1;
		k = merkle_split(nn);
		if (mm <= k) {
			merkle_range(t, start + k, nn - k, proof[count++]);
			nn = k;
		} else {
			merkle_range(t, start, k, proof[count++]);
			start += k;
			mm -= k;
			nn -= k;
			whole = 0;
		}
	}
	if (!whole) {
		if (count == LEDGER_PROOF_MAX)
			return -1;
		merkle_range(t, start, mm, proof[count++]);
	}
	proof_reverse(proof, count);
	*nproof = count;
	return 0;
}

/* Shifts fn and sn right until fn's low bit is set or fn is 0. */
static void
shift_to_set_bit(uint64_t *fn, uint64_t *sn)
{
	while ((*fn & 1) == 0 && *fn != 0) {
		*fn >>= 1;
		*sn >>= 1;
	}
}

/* RFC 9162 2.1.3.2: returns 0 when the proof verifies, -1 otherwise. */
int
ledger_merkle_verify_inclusion(const uint8_t leaf[LEDGER_HASH_LEN],
    uint64_t index, uint64_t size, const uint8_t proof[][LEDGER_HASH_LEN],
    size_t n, const uint8_t root[LEDGER_HASH_LEN])
{
	uint8_t r[LEDGER_HASH_LEN];
	uint64_t fn, sn;
	size_t i;

	if (leaf == NULL || root == NULL || (proof == NULL && n > 0) ||
	    index >= size || n > LEDGER_PROOF_MAX)
		return -1;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, LEDGER_HASH_LEN);
	for (i = 0; i < n; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) != 0 || fn == sn) {
			ledger_merkle_node_hash(proof[i], r, r);
			shift_to_set_bit(&fn, &sn);
		} else
			ledger_merkle_node_hash(r, proof[i], r);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || CRYPTO_memcmp(r, root, LEDGER_HASH_LEN) != 0)
		return -1;
	return 0;
}

/*
 * RFC 9162 2.1.4.2: returns 0 when the proof verifies, -1 otherwise.
 * Beyond the RFC (which has 0 < m < n): m == n holds with an empty proof
 * and equal roots, and m == 0 with an empty proof and, as the old root,
 * the empty tree's (SHA-256 of the empty string).
 */
int
ledger_merkle_verify_consistency(uint64_t m, uint64_t n,
    const uint8_t root_m[LEDGER_HASH_LEN],
    const uint8_t root_n[LEDGER_HASH_LEN],
    const uint8_t proof[][LEDGER_HASH_LEN], size_t nproof)
{
	uint8_t fr[LEDGER_HASH_LEN], sr[LEDGER_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (root_m == NULL || root_n == NULL || (proof == NULL && nproof > 0) ||
	    m > n || nproof > LEDGER_PROOF_MAX)
		return -1;
	/* RFC 9162 2.1.4.2 starts at m > 0: the tree of size 0 has one root,
	 * MTH({}) = SHA-256() (2.1.1), and no proof.  Any other "old root"
	 * of size 0 was never a root of this log. */
	if (m == 0) {
		uint8_t empty[LEDGER_HASH_LEN];

		if (EVP_Digest("", 0, empty, NULL, EVP_sha256(), NULL) != 1 ||
		    CRYPTO_memcmp(root_m, empty, LEDGER_HASH_LEN) != 0)
			return -1;
	}
	if (m == n) {
		if (nproof != 0 ||
		    CRYPTO_memcmp(root_m, root_n, LEDGER_HASH_LEN) != 0)
			return -1;
		return 0;
	}
	if (m == 0)
		return nproof == 0 ? 0 : -1;
	/* 1. an empty path fails. */
	if (nproof == 0)
		return -1;
	/* 2. when m is a power of two, the old root starts the path. */
	if ((m & (m - 1)) == 0)
		memcpy(fr, root_m, LEDGER_HASH_LEN);
	else
		memcpy(fr, proof[i++], LEDGER_HASH_LEN);
	memcpy(sr, fr, LEDGER_HASH_LEN);
	/* 3, 4. */
	fn = m - 1;
	sn = n - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	/* 6. */
	for (; i < nproof; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) != 0 || fn == sn) {
			ledger_merkle_node_hash(proof[i], fr, fr);
			ledger_merkle_node_hash(proof[i], sr, sr);
			shift_to_set_bit(&fn, &sn);
		} else
			ledger_merkle_node_hash(sr, proof[i], sr);
		fn >>= 1;
		sn >>= 1;
	}
	/* 7. */
	if (sn != 0 || CRYPTO_memcmp(fr, root_m, LEDGER_HASH_LEN) != 0 ||
	    CRYPTO_memcmp(sr, root_n, LEDGER_HASH_LEN) != 0)
		return -1;
	return 0;
}
