/*
 * test_smt.c: ledger/smt.c, the sparse Merkle tree of the status map,
 * against a plain recursive reference written from smt.h's definition,
 * property-style: seeded random inserts and updates; after each round
 * every held path's proof of presence and random paths' proofs of
 * absence verify, and every tampered proof (a sibling's bit, the bitmap,
 * the value, the root, a sibling more or less) fails.  Also the "map"
 * line of a checkpoint body, and the copy-on-write of a frozen view (a
 * snapshot written while the map changes).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/sha.h>

#include "ledger/ledger_int.h"

#define H		LEDGER_SMT_HASH
#define N_KEYS		300	/* distinct paths */
#define ROUNDS		6	/* insert/update rounds, all checked */
#define N_ABSENT	50	/* absent paths proven per round */

struct ref_leaf {
	uint8_t path[H];
	char value[64];
	size_t len;
	int set;
};

static uint64_t rng_state;
static uint8_t ref_empty[257][H];	/* empty subtrees, made once */
static int ref_empty_made;

static uint32_t
rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}

static void
rng_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rng();
}

static void
ref_node(const uint8_t *l, const uint8_t *r, uint8_t out[H])
{
	uint8_t in[1 + 2 * H];

	in[0] = 0x11;
	memcpy(in + 1, l, H);
	memcpy(in + 1 + H, r, H);
	SHA256(in, sizeof(in), out);
}

static int
ref_bit(const uint8_t *p, int d)
{
	return (p[d / 8] >> (7 - d % 8)) & 1;
}

/* The reference: the root of the leaves v[0..n) under prefix at depth,
 * straight from the definition, nothing cached. */
static void
ref_root(struct ref_leaf **v, size_t n, int depth, uint8_t out[H])
{
	struct ref_leaf **left, **right;
	uint8_t l[H], r[H], in[1 + 64];
	size_t nl = 0, nr = 0;

	if (n == 0) {
		if (!ref_empty_made) {
			memset(ref_empty[256], 0, H);
			for (int d = 255; d >= 0; d--)
				ref_node(ref_empty[d + 1], ref_empty[d + 1],
				    ref_empty[d]);
			ref_empty_made = 1;
		}
		memcpy(out, ref_empty[depth], H);
		return;
	}
	if (depth == 256) {
		in[0] = 0x10;
		memcpy(in + 1, v[0]->value, v[0]->len);
		SHA256(in, 1 + v[0]->len, out);
		return;
	}
	left = malloc(n * sizeof(*left));
	right = malloc(n * sizeof(*right));
	assert_non_null(left);
	assert_non_null(right);
	for (size_t i = 0; i < n; i++) {
		if (ref_bit(v[i]->path, depth))
			right[nr++] = v[i];
		else
			left[nl++] = v[i];
	}
	ref_root(left, nl, depth + 1, l);
	ref_root(right, nr, depth + 1, r);
	ref_node(l, r, out);
	free(left);
	free(right);
}

/* Every tampering of a good proof p of (path, value) against root that
 * must fail. */
static void
check_tampered(const uint8_t path[H], const char *value, size_t len,
    const struct ledger_smt_proof *p, const uint8_t root[H])
{
	struct ledger_smt_proof *t = malloc(sizeof(*t));
	uint8_t r2[H];
	int d;

	assert_non_null(t);
	if (p->nsib > 0) {
		*t = *p;
		t->sib[rng() % t->nsib][rng() % H] ^= (uint8_t)(1 << rng() % 8);
		assert_int_equal(ledger_smt_verify(path, value, len, t, root), -1);
		*t = *p;
		t->nsib--;	/* a sibling less */
		assert_int_equal(ledger_smt_verify(path, value, len, t, root), -1);
	}
	*t = *p;
	memset(t->sib[t->nsib++], 0xab, H);	/* a sibling more */
	assert_int_equal(ledger_smt_verify(path, value, len, t, root), -1);
	*t = *p;
	d = (int)(rng() % 256);		/* one bit of the bitmap */
	t->bitmap[d / 8] ^= (uint8_t)(0x80 >> d % 8);
	assert_int_equal(ledger_smt_verify(path, value, len, t, root), -1);
	memcpy(r2, root, H);
	r2[rng() % H] ^= 1;
	assert_int_equal(ledger_smt_verify(path, value, len, p, r2), -1);
	if (value != NULL) {	/* another value; present said absent */
		*t = *p;
		assert_int_equal(ledger_smt_verify(path, "forged", 6, t, root),
		    -1);
		memset(t->leaf, 0, H);
		assert_int_equal(ledger_smt_verify(path, NULL, 0, t, root), -1);
		assert_int_equal(ledger_smt_verify(path, NULL, 0, p, root), -1);
	} else {		/* absent said present */
		*t = *p;
		ledger_smt_leaf_hash("active", 6, t->leaf);
		assert_int_equal(ledger_smt_verify(path, "active", 6, t, root),
		    -1);
	}
	free(t);
}

static void
test_random_updates_prove_and_tampering_fails(void **state)
{
	static struct ref_leaf keys[N_KEYS];
	struct ref_leaf *held[N_KEYS];
	struct ledger_smt_proof *p = malloc(sizeof(*p));
	struct ledger_smt *m = ledger_smt_new();
	uint8_t root[H], want[H], path[H];
	const char *v;
	size_t n, len, count = 0;

	(void)state;
	assert_non_null(p);
	assert_non_null(m);
	rng_state = 15;
	for (size_t i = 0; i < N_KEYS; i++)
		rng_bytes(keys[i].path, H);
	/* two paths that part only at the last bit, and at the first */
	memcpy(keys[1].path, keys[0].path, H);
	keys[1].path[H - 1] ^= 1;
	memcpy(keys[3].path, keys[2].path, H);
	keys[3].path[0] ^= 0x80;
	for (int round = 0; round < ROUNDS; round++) {
		for (size_t j = 0; j < N_KEYS / 3; j++) {
			struct ref_leaf *k = &keys[rng() % N_KEYS];

			if (round == 0 && j < 4)
				k = &keys[j];
			k->len = (size_t)snprintf(k->value, sizeof(k->value),
			    "status %u round %d", rng() % 3, round);
			count += !k->set;
			k->set = 1;
			assert_int_equal(ledger_smt_set(m, k->path, k->value,
			    k->len), 0);
		}
		assert_int_equal(ledger_smt_count(m), count);
		for (n = 0, len = 0; len < N_KEYS; len++)
			if (keys[len].set)
				held[n++] = &keys[len];
		ref_root(held, n, 0, want);
		ledger_smt_root(m, root);
		assert_memory_equal(root, want, H);
		for (size_t i = 0; i < N_KEYS; i++) {
			assert_int_equal(ledger_smt_prove(m, keys[i].path, p, &v,
			    &len), 0);
			if (!keys[i].set) {
				assert_null(v);
				assert_int_equal(ledger_smt_verify(keys[i].path,
				    NULL, 0, p, root), 0);
				continue;
			}
			assert_non_null(v);
			assert_int_equal(len, keys[i].len);
			assert_memory_equal(v, keys[i].value, len);
			assert_int_equal(ledger_smt_verify(keys[i].path,
			    keys[i].value, keys[i].len, p, root), 0);
			check_tampered(keys[i].path, keys[i].value,
			    keys[i].len, p, root);
		}
		for (int i = 0; i < N_ABSENT; i++) {
			rng_bytes(path, H);
			assert_int_equal(ledger_smt_prove(m, path, p, &v,
			    &len), 0);
			assert_null(v);
			assert_int_equal(ledger_smt_verify(path, NULL, 0, p,
			    root), 0);
			check_tampered(path, NULL, 0, p, root);
		}
	}
	/* the same value again changes nothing */
	ledger_smt_root(m, want);
	assert_int_equal(ledger_smt_set(m, keys[0].path, keys[0].value,
	    keys[0].len), 0);
	ledger_smt_root(m, root);
	assert_memory_equal(root, want, H);
	ledger_smt_free(m);
	free(p);
}

/* A leaf set again: to the value it holds, nothing changes (set() skips
 * the rehash); to a prefix of it or another value of its length, the
 * root is the reference's for the new value (the skip compares the
 * whole value, length too). */
static void
test_setting_a_leaf_again_changes_the_root_only_for_another_value(
    void **state)
{
	static struct ref_leaf k[2];
	static const char *const values[] = {
		"status good", "status good", "status goo", "status goX",
		"status good",
	};
	struct ref_leaf *held[2] = { &k[0], &k[1] };
	struct ledger_smt *m = ledger_smt_new();
	uint8_t root[H], want[H];

	(void)state;
	assert_non_null(m);
	rng_state = 42;
	rng_bytes(k[0].path, H);
	rng_bytes(k[1].path, H);
	k[1].len = (size_t)snprintf(k[1].value, sizeof(k[1].value), "other");
	assert_int_equal(ledger_smt_set(m, k[1].path, k[1].value, k[1].len),
	    0);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		k[0].len = (size_t)snprintf(k[0].value, sizeof(k[0].value),
		    "%s", values[i]);
		assert_int_equal(ledger_smt_set(m, k[0].path, k[0].value,
		    k[0].len), 0);
		assert_int_equal(ledger_smt_count(m), 2);
		ref_root(held, 2, 0, want);
		ledger_smt_root(m, root);
		assert_memory_equal(root, want, H);
	}
	ledger_smt_free(m);
}

/* A leaf keeps one folded checkpoint (smt.c, issue 18): neighbours that
 * part from it ever deeper (at depths 10, 40, 70, 200: below, at and
 * past the checkpoint's multiples of 32) move its top down each time,
 * and a new value drops the checkpoint; the root is the reference's
 * after every step, and every proof verifies. */
static void
test_deeper_and_deeper_neighbours_keep_the_root_right(void **state)
{
	static struct ref_leaf k[5];
	static const int flip[5] = { -1, 10, 40, 70, 200 };
	struct ref_leaf *held[5];
	struct ledger_smt_proof *p = malloc(sizeof(*p));
	struct ledger_smt *m = ledger_smt_new();
	uint8_t root[H], want[H];
	const char *v;
	size_t len;

	(void)state;
	assert_non_null(p);
	assert_non_null(m);
	rng_state = 77;
	rng_bytes(k[0].path, H);
	for (int i = 0; i < 5; i++) {
		if (i > 0) {
			memcpy(k[i].path, k[0].path, H);
			k[i].path[flip[i] / 8] ^= (uint8_t)(0x80 >> flip[i] % 8);
		}
		k[i].len = (size_t)snprintf(k[i].value, sizeof(k[i].value),
		    "leaf %d", i);
		assert_int_equal(ledger_smt_set(m, k[i].path, k[i].value,
		    k[i].len), 0);
		held[i] = &k[i];
		ref_root(held, (size_t)i + 1, 0, want);
		ledger_smt_root(m, root);
		assert_memory_equal(root, want, H);
		/* the first leaf's value changes: its checkpoint goes */
		k[0].len = (size_t)snprintf(k[0].value, sizeof(k[0].value),
		    "leaf 0 round %d", i);
		assert_int_equal(ledger_smt_set(m, k[0].path, k[0].value,
		    k[0].len), 0);
		ref_root(held, (size_t)i + 1, 0, want);
		ledger_smt_root(m, root);
		assert_memory_equal(root, want, H);
	}
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ledger_smt_prove(m, k[i].path, p, &v, &len), 0);
		assert_int_equal(len, k[i].len);
		assert_int_equal(ledger_smt_verify(k[i].path, k[i].value,
		    k[i].len, p, root), 0);
	}
	ledger_smt_free(m);
	free(p);
}

static void
test_empty_map_proves_absence(void **state)
{
	struct ledger_smt_proof p;
	struct ledger_smt *m = ledger_smt_new();
	struct ref_leaf *none[1];
	uint8_t root[H], want[H], path[H] = { 1, 2, 3 };
	const char *v;
	size_t len;

	(void)state;
	ledger_smt_root(m, root);
	ref_root(none, 0, 0, want);
	assert_memory_equal(root, want, H);
	assert_int_equal(ledger_smt_prove(m, path, &p, &v, &len), 0);
	assert_null(v);
	assert_int_equal(p.nsib, 0);
	assert_int_equal(ledger_smt_verify(path, NULL, 0, &p, root), 0);
	assert_int_equal(ledger_smt_verify(path, "x", 1, &p, root), -1);
	assert_int_equal(ledger_smt_set(m, path, "", 0), -1);
	ledger_smt_free(m);
}

static void
test_checkpoint_map_line(void **state)
{
	uint8_t root[32] = { 0 }, map[32], got[32];
	char body[512];

	(void)state;
	memset(map, 0x5a, sizeof(map));
	assert_int_equal(ledger_checkpoint_body_map("o", 3, root, 10, map,
	    body, sizeof(body)), 0);
	assert_int_equal(ledger_checkpoint_map_root(body, strlen(body), got),
	    0);
	assert_memory_equal(got, map, 32);
	assert_int_equal(ledger_checkpoint_body("o", 3, root, 10, body,
	    sizeof(body)), 0);
	assert_int_equal(ledger_checkpoint_map_root(body, strlen(body), got),
	    1);
	/* two map lines, or a short one: malformed */
	snprintf(body, sizeof(body), "o\n3\n%s\ntime 10\nmap %s\nmap %s\n",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	assert_int_equal(ledger_checkpoint_map_root(body, strlen(body), got),
	    -1);
	snprintf(body, sizeof(body), "o\n3\n%s\nmap AAAA\n",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	assert_int_equal(ledger_checkpoint_map_root(body, strlen(body), got),
	    -1);
}

/* ---- copy-on-write: a frozen view (smt.h) ----------------------------- */

#define COW_BASE	3000	/* leaves before the freeze */
#define COW_SETS	6000	/* sets while the view is out */
#define COW_PATHS	(COW_BASE + COW_SETS)
#define COW_WRAP	65535	/* freezes before the generation wraps */

struct cow_op {
	uint32_t key;		/* an index into cow_path */
	char value[40];
	size_t len;
};

static uint8_t cow_path[COW_PATHS][H];

/* Op i: the first COW_BASE make the frozen map; then inserts of new
 * paths, replacements of the frozen leaves and of ones added since, with
 * values of other lengths (a leaf that grows moves), and sets of a value
 * a leaf holds already. */
static void
cow_op(size_t i, struct cow_op *op)
{
	uint32_t r = rng();

	if (i < COW_BASE)
		op->key = (uint32_t)i;
	else if (r % 4 == 0)
		op->key = (uint32_t)i;			/* new */
	else if (r % 4 == 1)
		op->key = rng() % COW_BASE;		/* frozen */
	else
		op->key = rng() % (uint32_t)i;		/* any so far */
	op->len = (size_t)snprintf(op->value, sizeof(op->value), "v%u%.*s",
	    rng() % 4, (int)(rng() % 24), "xxxxxxxxxxxxxxxxxxxxxxxx");
}

/* The view saved to a temporary file, by a thread of its own. */
struct cow_saver {
	const struct ledger_smt_view *v;
	FILE *f;
	uint8_t digest[H];
	int rc;
};

static void *
cow_save_main(void *arg)
{
	struct cow_saver *s = arg;

	s->rc = ledger_smt_view_save(s->v, s->f, s->digest);
	return NULL;
}

/* The map in f (rewound) checked: root and count as given. */
static void
assert_file_holds(FILE *f, const uint8_t root[H], size_t count)
{
	struct ledger_smt *m;
	uint8_t digest[H], got[H];

	rewind(f);
	m = ledger_smt_load(f, digest);
	assert_non_null(m);
	ledger_smt_root(m, got);
	assert_memory_equal(got, root, H);
	assert_int_equal(ledger_smt_count(m), count);
	ledger_smt_free(m);
}

/* Applies ops [from, to) to m (and to ref, a map that never freezes). */
static void
cow_apply(struct ledger_smt *m, struct ledger_smt *ref, size_t from,
    size_t to)
{
	struct cow_op op;

	for (size_t i = from; i < to; i++) {
		cow_op(i, &op);
		assert_int_equal(ledger_smt_set(m, cow_path[op.key], op.value,
		    op.len), 0);
		assert_int_equal(ledger_smt_set(ref, cow_path[op.key],
		    op.value, op.len), 0);
	}
}

/*
 * A frozen view saved on another thread while thousands of sets change
 * the live map (inserts, and replacements of the view's leaves and of
 * new ones) reads back to exactly the root and count at the freeze, and
 * so does a second save after them all; the live map's root and count
 * are those of a map that made the same sets without a freeze, also
 * after the thaw and more sets.  Under ASan: no leak (retired nodes
 * freed at the thaw, or by a free while frozen), no use after free.
 */
static void
test_frozen_view_outlives_sets_on_the_live_map(void **state)
{
	struct ledger_smt *m = ledger_smt_new(), *ref = ledger_smt_new();
	const struct ledger_smt_view *v;
	struct cow_saver sv;
	pthread_t th;
	uint8_t froot[H], root[H], want[H], digest[H];
	size_t fcount;
	FILE *f2;

	(void)state;
	assert_non_null(m);
	assert_non_null(ref);
	rng_state = 18;
	for (size_t i = 0; i < COW_PATHS; i++)
		rng_bytes(cow_path[i], H);
	cow_apply(m, ref, 0, COW_BASE);
	ledger_smt_root(m, froot);
	fcount = ledger_smt_count(m);
	assert_non_null(v = ledger_smt_freeze(m));
	assert_null(ledger_smt_freeze(m));	/* one at a time */
	sv.v = v;
	assert_non_null(sv.f = tmpfile());
	assert_non_null(f2 = tmpfile());
	assert_int_equal(pthread_create(&th, NULL, cow_save_main, &sv), 0);
	cow_apply(m, ref, COW_BASE, COW_BASE + COW_SETS);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(sv.rc, 0);
	assert_true(ledger_smt_retired(m) > 0);
	ledger_smt_view_root(v, root);
	assert_memory_equal(root, froot, H);
	assert_int_equal(ledger_smt_view_count(v), fcount);
	assert_file_holds(sv.f, froot, fcount);
	assert_int_equal(ledger_smt_view_save(v, f2, digest), 0);
	assert_memory_equal(digest, sv.digest, H);
	assert_file_holds(f2, froot, fcount);
	ledger_smt_root(m, root);
	ledger_smt_root(ref, want);
	assert_memory_not_equal(root, froot, H);
	assert_memory_equal(root, want, H);
	assert_int_equal(ledger_smt_count(m), ledger_smt_count(ref));
	ledger_smt_thaw(m);
	assert_int_equal(ledger_smt_retired(m), 0);
	cow_apply(m, ref, COW_BASE, COW_BASE + COW_SETS / 4);
	ledger_smt_root(m, root);
	ledger_smt_root(ref, want);
	assert_memory_equal(root, want, H);
	/* frozen again and freed without a thaw: the view's nodes too */
	assert_non_null(ledger_smt_freeze(m));
	cow_apply(m, ref, COW_BASE, COW_BASE + COW_SETS / 4);
	assert_true(ledger_smt_retired(m) > 0);
	fclose(sv.f);
	fclose(f2);
	ledger_smt_free(m);
	ledger_smt_free(ref);
}

/* The 65,536th freeze wraps the generation: nodes made before it are
 * still the view's (renumbered), not taken for the live map's own. */
static void
test_frozen_view_survives_the_generation_wrap(void **state)
{
	struct ledger_smt *m = ledger_smt_new(), *ref = ledger_smt_new();
	const struct ledger_smt_view *v;
	uint8_t froot[H], root[H];

	(void)state;
	assert_non_null(m);
	assert_non_null(ref);
	rng_state = 19;
	for (size_t i = 0; i < COW_PATHS; i++)
		rng_bytes(cow_path[i], H);
	cow_apply(m, ref, 0, 64);
	for (int i = 0; i < COW_WRAP; i++) {
		assert_non_null(ledger_smt_freeze(m));
		ledger_smt_thaw(m);
	}
	ledger_smt_root(m, froot);
	assert_non_null(v = ledger_smt_freeze(m));
	for (uint32_t k = 0; k < 64; k++)
		assert_int_equal(ledger_smt_set(m, cow_path[k], "other", 5), 0);
	ledger_smt_view_root(v, root);
	assert_memory_equal(root, froot, H);
	assert_int_equal(ledger_smt_retired(m) > 64, 1);
	ledger_smt_thaw(m);
	ledger_smt_free(m);
	ledger_smt_free(ref);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_updates_prove_and_tampering_fails),
		cmocka_unit_test(
		    test_setting_a_leaf_again_changes_the_root_only_for_another_value),
		cmocka_unit_test(
		    test_deeper_and_deeper_neighbours_keep_the_root_right),
		cmocka_unit_test(test_empty_map_proves_absence),
		cmocka_unit_test(test_checkpoint_map_line),
		cmocka_unit_test(test_frozen_view_outlives_sets_on_the_live_map),
		cmocka_unit_test(test_frozen_view_survives_the_generation_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
