/*
 * test_merkle.c: ledger/merkle.c against the RFC 6962 known answers of the
 * Certificate Transparency reference implementation
 * (google/certificate-transparency cpp/merkletree/merkle_tree_test.cc), a
 * straightforward recursive reference written from RFC 9162 2.1, and
 * negative controls for every verifier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/sha.h>

#include "ledger/ledger_int.h"

#define H LEDGER_HASH_LEN
#define REF_MAX 64		/* leaves in the exhaustive tests */
#define LARGE_N 1000003		/* leaves in the large test (odd size) */

/* CT merkle_tree_test.cc kInputs: the 8 leaves of the reference tree. */
static const char *ct_inputs[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
static const char *ct_empty =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/* kSHA256Roots: roots of sizes 1..8. */
static const char *ct_roots[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* kSHA256Paths, with CT's 1-based leaf turned into a 0-based index. */
static const struct {
	uint64_t index, size;
	size_t n;
	const char *path[3];
} ct_paths[] = {
	{ 0, 1, 0, { NULL } },
	{ 0, 8, 3, {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, 3, {
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, 1, {
	    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1, 5, 3, {
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

/* kSHA256Proofs. */
static const struct {
	uint64_t m, n;
	size_t len;
	const char *proof[3];
} ct_proofs[] = {
	{ 1, 1, 0, { NULL } },
	{ 1, 8, 3, {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, 3, {
	    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, 2, {
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

static void
unhex32(const char *hex, uint8_t out[H])
{
	assert_int_equal(ledger_unhex(hex, out, H), 0);
}

/* The CT reference tree, leaf by leaf. */
static struct ledger_merkle *
ct_tree(uint8_t leaves[8][H])
{
	struct ledger_merkle *m = ledger_merkle_new();
	uint8_t data[16];
	size_t i, len;

	assert_non_null(m);
	for (i = 0; i < 8; i++) {
		len = strlen(ct_inputs[i]) / 2;
		assert_int_equal(ledger_unhex(ct_inputs[i], data, len), 0);
		ledger_merkle_leaf_hash(data, len, leaves[i]);
		assert_int_equal(ledger_merkle_append(m, leaves[i]), 0);
	}
	return m;
}

/* ---- a recursive reference, straight from RFC 9162 2.1 ---------------- */

static uint64_t
ref_split(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void
ref_mth(uint8_t (*d)[H], uint64_t n, uint8_t out[H])
{
	uint8_t l[H], r[H];
	uint64_t k;

	if (n == 0) {
		SHA256((const unsigned char *)"", 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], H);
		return;
	}
	k = ref_split(n);
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	ledger_merkle_node_hash(l, r, out);
}

static void
ref_path(uint8_t (*d)[H], uint64_t m, uint64_t n, uint8_t out[][H],
    size_t *len)
{
	uint64_t k;

	if (n <= 1)
		return;
	k = ref_split(n);
	if (m < k) {
		ref_path(d, m, k, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_path(d + k, m - k, n - k, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

static void
ref_subproof(uint8_t (*d)[H], uint64_t m, uint64_t n, int b,
    uint8_t out[][H], size_t *len)
{
	uint64_t k;

	if (m == n) {
		if (!b)
			ref_mth(d, m, out[(*len)++]);
		return;
	}
	k = ref_split(n);
	if (m <= k) {
		ref_subproof(d, m, k, b, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_subproof(d + k, m - k, n - k, 0, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

/* Leaf i of the generated trees: the hash of the 4 bytes of i. */
static void
gen_leaf(uint64_t i, uint8_t out[H])
{
	uint8_t b[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16),
	    (uint8_t)(i >> 8), (uint8_t)i };

	ledger_merkle_leaf_hash(b, sizeof(b), out);
}

/* ---- known answers ----------------------------------------------------- */

static void
test_empty_tree_root_is_sha256_of_nothing(void **state)
{
	struct ledger_merkle *m = ledger_merkle_new();
	uint8_t root[H], want[H];

	assert_non_null(m);
	assert_int_equal(ledger_merkle_size(m), 0);
	assert_int_equal(ledger_merkle_root(m, 0, root), 0);
	unhex32(ct_empty, want);
	assert_memory_equal(root, want, H);
	assert_int_equal(ledger_merkle_root(m, 1, root), -1);
	ledger_merkle_free(m);
	ledger_merkle_free(NULL);
}

static void
test_leaf_and_node_hashes_are_domain_separated(void **state)
{
	uint8_t leaf[H], want[H], in[1 + 2 * H], node[H];

	/* leaf 0 of the CT tree is "", so its hash is SHA-256(0x00). */
	ledger_merkle_leaf_hash("", 0, leaf);
	unhex32(ct_roots[0], want);
	assert_memory_equal(leaf, want, H);
	in[0] = 0x01;
	memcpy(in + 1, leaf, H);
	memcpy(in + 1 + H, want, H);
	SHA256(in, sizeof(in), want);
	ledger_merkle_node_hash(leaf, leaf, node);
	assert_memory_equal(node, want, H);
}

static void
test_roots_match_ct_vectors_for_every_size(void **state)
{
	uint8_t leaves[8][H], root[H], want[H];
	struct ledger_merkle *m = ledger_merkle_new();
	size_t i, j;

	assert_non_null(m);
	/* Grow leaf by leaf; after each append every earlier size is asked. */
	for (i = 0; i < 8; i++) {
		uint8_t data[16];
		size_t len = strlen(ct_inputs[i]) / 2;

		assert_int_equal(ledger_unhex(ct_inputs[i], data, len), 0);
		ledger_merkle_leaf_hash(data, len, leaves[i]);
		assert_int_equal(ledger_merkle_append(m, leaves[i]), 0);
		assert_int_equal(ledger_merkle_size(m), i + 1);
		for (j = 0; j <= i; j++) {
			assert_int_equal(ledger_merkle_root(m, j + 1, root), 0);
			unhex32(ct_roots[j], want);
			assert_memory_equal(root, want, H);
		}
		assert_int_equal(ledger_merkle_root(m, i + 2, root), -1);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(ledger_merkle_leaf(m, i, root), 0);
		assert_memory_equal(root, leaves[i], H);
	}
	assert_int_equal(ledger_merkle_leaf(m, 8, root), -1);
	ledger_merkle_free(m);
}

static void
test_inclusion_proofs_match_ct_vectors(void **state)
{
	uint8_t leaves[8][H], proof[LEDGER_PROOF_MAX][H], want[H], root[H];
	struct ledger_merkle *m = ct_tree(leaves);
	size_t i, j, n;

	for (i = 0; i < sizeof(ct_paths) / sizeof(ct_paths[0]); i++) {
		assert_int_equal(ledger_merkle_inclusion(m, ct_paths[i].index,
		    ct_paths[i].size, proof, &n), 0);
		assert_int_equal(n, ct_paths[i].n);
		for (j = 0; j < n; j++) {
			unhex32(ct_paths[i].path[j], want);
			assert_memory_equal(proof[j], want, H);
		}
		unhex32(ct_roots[ct_paths[i].size - 1], root);
		assert_int_equal(ledger_merkle_verify_inclusion(
		    leaves[ct_paths[i].index], ct_paths[i].index,
		    ct_paths[i].size, (const uint8_t (*)[H])proof, n, root), 0);
	}
	/* Out of range: index >= size, size > tree size. */
	assert_int_equal(ledger_merkle_inclusion(m, 8, 8, proof, &n), -1);
	assert_int_equal(ledger_merkle_inclusion(m, 0, 9, proof, &n), -1);
	assert_int_equal(ledger_merkle_inclusion(m, 0, 0, proof, &n), -1);
	ledger_merkle_free(m);
}

static void
test_consistency_proofs_match_ct_vectors(void **state)
{
	uint8_t leaves[8][H], proof[LEDGER_PROOF_MAX][H], want[H];
	uint8_t r1[H], r2[H];
	struct ledger_merkle *m = ct_tree(leaves);
	size_t i, j, n;

	for (i = 0; i < sizeof(ct_proofs) / sizeof(ct_proofs[0]); i++) {
		assert_int_equal(ledger_merkle_consistency(m, ct_proofs[i].m,
		    ct_proofs[i].n, proof, &n), 0);
		assert_int_equal(n, ct_proofs[i].len);
		for (j = 0; j < n; j++) {
			unhex32(ct_proofs[i].proof[j], want);
			assert_memory_equal(proof[j], want, H);
		}
		unhex32(ct_roots[ct_proofs[i].m - 1], r1);
		unhex32(ct_roots[ct_proofs[i].n - 1], r2);
		assert_int_equal(ledger_merkle_verify_consistency(
		    ct_proofs[i].m, ct_proofs[i].n, r1, r2,
		    (const uint8_t (*)[H])proof, n), 0);
	}
	assert_int_equal(ledger_merkle_consistency(m, 0, 8, proof, &n), -1);
	assert_int_equal(ledger_merkle_consistency(m, 5, 4, proof, &n), -1);
	assert_int_equal(ledger_merkle_consistency(m, 4, 9, proof, &n), -1);
	ledger_merkle_free(m);
}

/* ---- exhaustive round trips with negative controls --------------------- */

static void
test_inclusion_round_trip_and_tampering_for_all_sizes_to_64(void **state)
{
	uint8_t d[REF_MAX][H], proof[LEDGER_PROOF_MAX][H];
	uint8_t ref[LEDGER_PROOF_MAX + 1][H], root[H], bad[H];
	struct ledger_merkle *m = ledger_merkle_new();
	const uint8_t (*p)[H] = (const uint8_t (*)[H])proof;
	uint64_t size, i;
	size_t n, rn, j;

	assert_non_null(m);
	for (i = 0; i < REF_MAX; i++) {
		gen_leaf(i, d[i]);
		assert_int_equal(ledger_merkle_append(m, d[i]), 0);
	}
	for (size = 1; size <= REF_MAX; size++) {
		assert_int_equal(ledger_merkle_root(m, size, root), 0);
		ref_mth(d, size, bad);
		assert_memory_equal(root, bad, H);
		for (i = 0; i < size; i++) {
			assert_int_equal(ledger_merkle_inclusion(m, i, size,
			    proof, &n), 0);
			rn = 0;
			ref_path(d, i, size, ref, &rn);
			assert_int_equal(n, rn);
			if (n > 0)
				assert_memory_equal(proof, ref, n * H);
			assert_int_equal(ledger_merkle_verify_inclusion(d[i],
			    i, size, p, n, root), 0);

			/* Wrong leaf, wrong root. */
			assert_int_equal(ledger_merkle_verify_inclusion(
			    d[(i + 1) % REF_MAX], i, size, p, n, root), -1);
			memcpy(bad, root, H);
			bad[H - 1] ^= 1;
			assert_int_equal(ledger_merkle_verify_inclusion(d[i],
			    i, size, p, n, bad), -1);
			/* Wrong index. */
			if (i > 0)
				assert_int_equal(ledger_merkle_verify_inclusion(
				    d[i], i - 1, size, p, n, root), -1);
			if (i + 1 < size)
				assert_int_equal(ledger_merkle_verify_inclusion(
				    d[i], i + 1, size, p, n, root), -1);
			assert_int_equal(ledger_merkle_verify_inclusion(d[i],
			    size, size, p, n, root), -1);
			/* Wrong size (the same proof can hold for a few
			 * sizes that share the path, so check the strict
			 * doubling and halving of RFC 9162 tests). */
			assert_int_equal(ledger_merkle_verify_inclusion(d[i],
			    i, size * 2, p, n, root), -1);
			if (size / 2 > i)
				assert_int_equal(
				    ledger_merkle_verify_inclusion(d[i], i,
				    size / 2, p, n, root), -1);
			/* A flipped bit anywhere in the proof. */
			for (j = 0; j < n; j++) {
				proof[j][j % H] ^= 0x80;
				assert_int_equal(
				    ledger_merkle_verify_inclusion(d[i], i,
				    size, p, n, root), -1);
				proof[j][j % H] ^= 0x80;
			}
			/* One hash too few, one too many. */
			if (n > 0)
				assert_int_equal(
				    ledger_merkle_verify_inclusion(d[i], i,
				    size, p, n - 1, root), -1);
			memcpy(proof[n], root, H);
			assert_int_equal(ledger_merkle_verify_inclusion(d[i],
			    i, size, p, n + 1, root), -1);
		}
	}
	ledger_merkle_free(m);
}

static void
test_consistency_round_trip_and_tampering_for_all_sizes_to_64(void **state)
{
	uint8_t d[REF_MAX][H], proof[LEDGER_PROOF_MAX][H];
	uint8_t ref[LEDGER_PROOF_MAX + 1][H], r1[H], r2[H], bad[H];
	struct ledger_merkle *m = ledger_merkle_new();
	const uint8_t (*p)[H] = (const uint8_t (*)[H])proof;
	uint64_t a, b, i;
	size_t n, rn, j;

	assert_non_null(m);
	for (i = 0; i < REF_MAX; i++) {
		gen_leaf(i, d[i]);
		assert_int_equal(ledger_merkle_append(m, d[i]), 0);
	}
	for (b = 1; b <= REF_MAX; b++) {
		assert_int_equal(ledger_merkle_root(m, b, r2), 0);
		for (a = 1; a <= b; a++) {
			assert_int_equal(ledger_merkle_root(m, a, r1), 0);
			assert_int_equal(ledger_merkle_consistency(m, a, b,
			    proof, &n), 0);
			rn = 0;
			ref_subproof(d, a, b, 1, ref, &rn);
			assert_int_equal(n, rn);
			if (n > 0)
				assert_memory_equal(proof, ref, n * H);
			assert_int_equal(ledger_merkle_verify_consistency(a, b,
			    r1, r2, p, n), 0);
			if (a == b) {
				assert_int_equal(n, 0);
				memcpy(bad, r1, H);
				bad[0] ^= 1;
				assert_int_equal(
				    ledger_merkle_verify_consistency(a, b, r1,
				    bad, p, 0), -1);
				continue;
			}
			/* Swapped or tampered roots. */
			assert_int_equal(ledger_merkle_verify_consistency(a, b,
			    r2, r1, p, n), -1);
			memcpy(bad, r1, H);
			bad[7] ^= 4;
			assert_int_equal(ledger_merkle_verify_consistency(a, b,
			    bad, r2, p, n), -1);
			memcpy(bad, r2, H);
			bad[7] ^= 4;
			assert_int_equal(ledger_merkle_verify_consistency(a, b,
			    r1, bad, p, n), -1);
			/* Wrong sizes. */
			assert_int_equal(ledger_merkle_verify_consistency(
			    a - 1, b, r1, r2, p, n), -1);
			if (a + 1 < b)
				assert_int_equal(
				    ledger_merkle_verify_consistency(a + 1, b,
				    r1, r2, p, n), -1);
			assert_int_equal(ledger_merkle_verify_consistency(a,
			    b * 2, r1, r2, p, n), -1);
			assert_int_equal(ledger_merkle_verify_consistency(b,
			    a, r1, r2, p, n), -1);
			/* Empty, short, long and bit-flipped proofs. */
			assert_int_equal(ledger_merkle_verify_consistency(a, b,
			    r1, r2, p, 0), -1);
			assert_int_equal(ledger_merkle_verify_consistency(a, b,
			    r1, r2, p, n - 1), -1);
			memcpy(proof[n], proof[n - 1], H);
			assert_int_equal(ledger_merkle_verify_consistency(a, b,
			    r1, r2, p, n + 1), -1);
			for (j = 0; j < n; j++) {
				proof[j][(j * 5) % H] ^= 0x10;
				assert_int_equal(
				    ledger_merkle_verify_consistency(a, b, r1,
				    r2, p, n), -1);
				proof[j][(j * 5) % H] ^= 0x10;
			}
		}
	}
	ledger_merkle_free(m);
}

static void
test_verifiers_refuse_impossible_arguments(void **state)
{
	uint8_t leaf[H] = { 0 }, root[H] = { 0 };
	uint8_t proof[LEDGER_PROOF_MAX + 1][H];
	const uint8_t (*p)[H] = (const uint8_t (*)[H])proof;

	memset(proof, 0, sizeof(proof));
	/* An empty tree includes nothing. */
	assert_int_equal(ledger_merkle_verify_inclusion(leaf, 0, 0, p, 0,
	    root), -1);
	/* A one-leaf tree: the root is the leaf, the proof is empty. */
	assert_int_equal(ledger_merkle_verify_inclusion(leaf, 0, 1, p, 0,
	    root), 0);
	assert_int_equal(ledger_merkle_verify_inclusion(leaf, 0, 1, p, 1,
	    root), -1);
	assert_int_equal(ledger_merkle_verify_inclusion(leaf, 0, UINT64_MAX,
	    p, LEDGER_PROOF_MAX + 1, root), -1);
	assert_int_equal(ledger_merkle_verify_consistency(1, 2, root, root, p,
	    LEDGER_PROOF_MAX + 1), -1);
	/* From the empty tree: consistent only with the empty tree's root
	 * and an empty proof. */
	assert_int_equal(ledger_merkle_verify_consistency(0, 5, root, leaf, p,
	    0), -1);
	SHA256((const unsigned char *)"", 0, root);
	assert_int_equal(ledger_merkle_verify_consistency(0, 5, root, leaf, p,
	    0), 0);
	assert_int_equal(ledger_merkle_verify_consistency(0, 5, root, leaf, p,
	    1), -1);
}

static void
test_truncate_then_reappend_gives_the_same_roots(void **state)
{
	struct ledger_merkle *m = ledger_merkle_new();
	uint8_t d[200][H], roots[201][H], r[H], proof[LEDGER_PROOF_MAX][H];
	uint64_t i, cut;
	size_t n;

	assert_non_null(m);
	for (i = 0; i < 200; i++) {
		gen_leaf(i, d[i]);
		assert_int_equal(ledger_merkle_append(m, d[i]), 0);
	}
	for (i = 0; i <= 200; i++)
		assert_int_equal(ledger_merkle_root(m, i, roots[i]), 0);
	assert_int_equal(ledger_merkle_truncate(m, 201), -1);
	assert_int_equal(ledger_merkle_size(m), 200);
	for (cut = 200;; cut = cut > 37 ? cut - 37 : cut - 1) {
		/* Roll back, append different leaves, roll back again. */
		assert_int_equal(ledger_merkle_truncate(m, cut), 0);
		assert_int_equal(ledger_merkle_size(m), cut);
		assert_int_equal(ledger_merkle_root(m, cut, r), 0);
		assert_memory_equal(r, roots[cut], H);
		assert_int_equal(ledger_merkle_root(m, cut + 1, r), -1);
		for (i = cut; i < cut + 5; i++) {
			gen_leaf(i + 1000, r);
			assert_int_equal(ledger_merkle_append(m, r), 0);
		}
		if (cut + 5 <= 200) {
			assert_int_equal(ledger_merkle_root(m, cut + 5, r), 0);
			assert_memory_not_equal(r, roots[cut + 5], H);
		}
		assert_int_equal(ledger_merkle_truncate(m, cut), 0);
		for (i = cut; i < 200; i++)
			assert_int_equal(ledger_merkle_append(m, d[i]), 0);
		for (i = 0; i <= 200; i++) {
			assert_int_equal(ledger_merkle_root(m, i, r), 0);
			assert_memory_equal(r, roots[i], H);
		}
		assert_int_equal(ledger_merkle_inclusion(m, 123, 200, proof,
		    &n), 0);
		assert_int_equal(ledger_merkle_verify_inclusion(d[123], 123,
		    200, (const uint8_t (*)[H])proof, n, roots[200]), 0);
		if (cut == 0)
			break;
	}
	ledger_merkle_free(m);
}

/* The root of n leaves computed the compact way (a stack of peaks), an
 * algorithm independent of the level arrays. */
static void
compact_root(uint64_t n, uint8_t out[H])
{
	uint8_t stack[64][H], leaf[H];
	uint64_t i, c;
	size_t top = 0;

	if (n == 0) {
		SHA256((const unsigned char *)"", 0, out);
		return;
	}
	for (i = 0; i < n; i++) {
		gen_leaf(i, leaf);
		memcpy(stack[top++], leaf, H);
		for (c = i + 1; (c & 1) == 0; c >>= 1) {
			ledger_merkle_node_hash(stack[top - 2], stack[top - 1],
			    stack[top - 2]);
			top--;
		}
	}
	if (top == 0) {		/* cannot happen: n >= 1 */
		memset(out, 0, H);
		return;
	}
	memcpy(out, stack[--top], H);
	while (top > 0) {
		ledger_merkle_node_hash(stack[top - 1], out, out);
		top--;
	}
}

static void
test_million_leaves_roots_and_proofs_stay_cheap(void **state)
{
	struct ledger_merkle *m = ledger_merkle_new();
	uint8_t leaf[H], root[H], want[H], old[H];
	uint8_t proof[LEDGER_PROOF_MAX][H];
	const uint8_t (*p)[H] = (const uint8_t (*)[H])proof;
	uint64_t i, idx, sizes[] = { 1, 1000, 65536, 999999, LARGE_N };
	size_t n, k;
	clock_t t0;
	double secs;

	assert_non_null(m);
	t0 = clock();
	for (i = 0; i < LARGE_N; i++) {
		gen_leaf(i, leaf);
		assert_int_equal(ledger_merkle_append(m, leaf), 0);
	}
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	print_message("appended %d leaves in %.2f s\n", LARGE_N, secs);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		compact_root(sizes[k], want);
		assert_int_equal(ledger_merkle_root(m, sizes[k], root), 0);
		assert_memory_equal(root, want, H);
	}
	/* Many proofs against the full tree: O(log n) each. */
	assert_int_equal(ledger_merkle_root(m, LARGE_N, root), 0);
	assert_int_equal(ledger_merkle_root(m, 999999, old), 0);
	t0 = clock();
	for (i = 0; i < 10000; i++) {
		idx = (i * 7919) % LARGE_N;
		assert_int_equal(ledger_merkle_inclusion(m, idx, LARGE_N,
		    proof, &n), 0);
		assert_true(n <= 20);
		gen_leaf(idx, leaf);
		assert_int_equal(ledger_merkle_verify_inclusion(leaf, idx,
		    LARGE_N, p, n, root), 0);
	}
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	print_message("10000 inclusion proofs + checks in %.2f s\n", secs);
	assert_int_equal(ledger_merkle_consistency(m, 999999, LARGE_N, proof,
	    &n), 0);
	assert_int_equal(ledger_merkle_verify_consistency(999999, LARGE_N, old,
	    root, p, n), 0);
	/* Rolling back half a million leaves is a count reset. */
	assert_int_equal(ledger_merkle_truncate(m, 65536), 0);
	compact_root(65536, want);
	assert_int_equal(ledger_merkle_root(m, 65536, root), 0);
	assert_memory_equal(root, want, H);
	ledger_merkle_free(m);
}

/* From the empty tree only its own root (RFC 9162 2.1.1: SHA-256 of the
 * empty string) is consistent, with an empty proof: any other "root of
 * size 0" must be refused, or a forged history could start anywhere. */
static void
test_consistency_from_size_zero_needs_the_empty_root(void **state)
{
	uint8_t leaf[H], empty[H], r1[H], r3[H], other[H];
	const uint8_t (*none)[H] = NULL;
	struct ledger_merkle *m = ledger_merkle_new();

	assert_non_null(m);
	for (uint64_t i = 0; i < 3; i++) {
		gen_leaf(i, leaf);
		assert_int_equal(ledger_merkle_append(m, leaf), 0);
	}
	assert_int_equal(ledger_merkle_root(m, 0, empty), 0);
	assert_int_equal(ledger_merkle_root(m, 1, r1), 0);
	assert_int_equal(ledger_merkle_root(m, 3, r3), 0);
	SHA256((const unsigned char *)"", 0, other);
	assert_memory_equal(empty, other, H);
	assert_int_equal(ledger_merkle_verify_consistency(0, 3, empty, r3,
	    none, 0), 0);
	assert_int_equal(ledger_merkle_verify_consistency(0, 0, empty, empty,
	    none, 0), 0);
	/* Any other old root of size 0: the new root, another tree's root,
	 * a root with one bit flipped. */
	assert_int_equal(ledger_merkle_verify_consistency(0, 3, r3, r3, none,
	    0), -1);
	assert_int_equal(ledger_merkle_verify_consistency(0, 3, r1, r3, none,
	    0), -1);
	memcpy(other, empty, H);
	other[31] ^= 1;
	assert_int_equal(ledger_merkle_verify_consistency(0, 3, other, r3,
	    none, 0), -1);
	assert_int_equal(ledger_merkle_verify_consistency(0, 0, other, other,
	    none, 0), -1);
	/* The empty root with a proof is still refused. */
	assert_int_equal(ledger_merkle_verify_consistency(0, 3, empty, r3,
	    (const uint8_t (*)[H])r1, 1), -1);
	ledger_merkle_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_tree_root_is_sha256_of_nothing),
		cmocka_unit_test(
		    test_leaf_and_node_hashes_are_domain_separated),
		cmocka_unit_test(test_roots_match_ct_vectors_for_every_size),
		cmocka_unit_test(test_inclusion_proofs_match_ct_vectors),
		cmocka_unit_test(test_consistency_proofs_match_ct_vectors),
		cmocka_unit_test(
		 test_inclusion_round_trip_and_tampering_for_all_sizes_to_64),
		cmocka_unit_test(
		 test_consistency_round_trip_and_tampering_for_all_sizes_to_64),
		cmocka_unit_test(test_verifiers_refuse_impossible_arguments),
		cmocka_unit_test(
		    test_consistency_from_size_zero_needs_the_empty_root),
		cmocka_unit_test(
		    test_truncate_then_reappend_gives_the_same_roots),
		cmocka_unit_test(
		    test_million_leaves_roots_and_proofs_stay_cheap),
	};

	return cmocka_run_group_tests_name("ledger/merkle", tests, NULL,
	    NULL);
}
