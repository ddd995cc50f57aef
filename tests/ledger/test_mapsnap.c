/*
 * test_mapsnap.c: ledger/mapsnap.c, the status map's snapshot (issue 18):
 * written when the ledger closes and read at the next open instead of a
 * build (map_loaded), with the root and the proofs of a build; one older
 * than the ledger read and the entries after it replayed onto it; and
 * in every other case refused with the map built as without it: a
 * snapshot beyond the ledger's size or claiming another, one whose leaf
 * hash was changed (its digest made
 * right again: its recorded root catches it; and that root made right
 * too: the signed checkpoint's catches it), a truncated one, and, fuzz-ish,
 * every truncation and seeded byte flips (the reader never crashes and
 * never returns a map).  On both storage backends (rules_fx.h).
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <sys/stat.h>

#include <openssl/sha.h>

#include "rules_fx.h"
#include "mapsnap_fx.h"
#include "ledger/ledger_state.h"

#define N_FLIPS		300
#define N_DEEP		1000000	/* branchings in a misshapen chain */

static uint64_t rng_state = 18;

static uint32_t
rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}


/* A snapshot written at close is read at the next open (not built), 0600,
 * with a build's root and proofs, and the writer's updates go on from it. */
static void
test_snapshot_written_at_close_and_read_at_open(void **state)
{
	struct fx *f = *state;
	char ids[N_KEYS][LEDGER_KEYID_LEN + 1], p[128];
	struct ledger_smt *m;
	struct stat sb;

	register_keys(f, N_KEYS, ids);
	assert_int_equal(reopen(f, 1), 0);	/* none yet: built */
	assert_int_equal(reopen(f, 1), 1);	/* written at close: read */
	snap_path(f, p, sizeof(p));
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_root_is_a_builds(f);
	m = rebuild(f);
	for (int i = 0; i < N_KEYS; i++)
		assert_proof_is_a_builds(f, m, ids[i]);
	assert_proof_is_a_builds(f, m, "absent");
	ledger_smt_free(m);
	register_keys(f, 3, NULL);		/* on the loaded trie */
	assert_root_is_a_builds(f);
	assert_int_equal(reopen(f, 1), 1);
	assert_root_is_a_builds(f);
}

/* The offset of the first leaf's up in a snapshot (b, len). */
static size_t
first_up(const uint8_t *b, size_t len)
{
	size_t o = LEDGER_MAP_SNAP_HEAD;

	while (o + 2 < len && b[o] == 'B')
		o += 2;
	assert_int_equal(b[o], 'L');
	return o + 1 + LEDGER_SMT_HASH;
}

/* The offset of the up of the leaf of key id in a snapshot (b, len): the
 * body walked in preorder ('B' depth; 'L' path up len value). */
static size_t
key_up(const uint8_t *b, size_t len, const char *id)
{
	uint8_t path[LEDGER_SMT_HASH];
	size_t o = LEDGER_MAP_SNAP_HEAD;

	ledger_map_path(LEDGER_MAP_KEY, id, path);
	while (o < len) {
		if (b[o] == 'B') {
			o += 2;
			continue;
		}
		assert_int_equal(b[o], 'L');
		if (memcmp(b + o + 1, path, LEDGER_SMT_HASH) == 0)
			return o + 1 + LEDGER_SMT_HASH;
		o += 1 + 2 * LEDGER_SMT_HASH;
		o += 2 + ((size_t)b[o] << 8 | b[o + 1]);
	}
	fail_msg("no leaf for key %s", id);
	return 0;
}

/* Makes a snapshot's recorded root and digest those of its body. */
static void
remake_root(uint8_t *b, size_t len)
{
	uint8_t digest[LEDGER_SMT_HASH];
	struct ledger_smt *m;
	FILE *fp = fmemopen(b + LEDGER_MAP_SNAP_HEAD,
	    len - LEDGER_MAP_SNAP_HEAD, "rb");

	assert_non_null(fp);
	assert_non_null(m = ledger_smt_load(fp, digest));
	fclose(fp);
	ledger_smt_root(m, b + LEDGER_MAP_SNAP_HEAD - 2 * LEDGER_SMT_HASH);
	memcpy(b + LEDGER_MAP_SNAP_HEAD - LEDGER_SMT_HASH, digest,
	    LEDGER_SMT_HASH);
	ledger_smt_free(m);
}

/* Issues certificate serial for key id as the bridge (sup: the one it
 * supersedes, or NULL). */
static void
issue(struct fx *f, uint64_t *bseq, const char *serial, const char *id,
    const char *sup)
{
	struct cert c;
	time_t now = time(NULL);

	cert_fields(&c, serial, id, now, now + 3600);
	if (sup != NULL)
		cert_supersedes(&c, sup);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", (*bseq)++, now,
	    &f->bridge, 1, c.fl, sup != NULL ? 8 : 7, NULL), LEDGER_OK);
}

/* Revokes certificate serial (as the bridge) or, serial NULL, key id (as
 * the admin). */
static void
revoke_one(struct fx *f, uint64_t *bseq, const char *serial, const char *id)
{
	struct ledger_field rv[2];

	rv[0] = serial != NULL ? (struct ledger_field){ "serial", serial } :
	    (struct ledger_field){ "key-id", id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	if (serial != NULL)
		assert_int_equal(put(f, LEDGER_CERT_REVOKED, "bridge",
		    (*bseq)++, time(NULL), &f->bridge, 1, rv, 2, NULL),
		    LEDGER_OK);
	else
		assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin",
		    f->seq_admin++, time(NULL), &f->admin, 1, rv, 2, NULL),
		    LEDGER_OK);
}

/* A ledger with N_KEYS keys, three certificates and a snapshot of it
 * on disk (its bytes in *b, *len), then more entries: keys, a
 * certificate, a certificate revoked, a key revoked (its certificate
 * with it), a certificate superseded.  The snapshot's tree size. */
static uint64_t
stale_snapshot(struct fx *f, char ids[][LEDGER_KEYID_LEN + 1],
    uint8_t **b, size_t *len)
{
	char more[3][LEDGER_KEYID_LEN + 1], p[128];
	uint64_t bseq = make_bridge(f), size;
	struct ledger_counts cnt;

	register_keys(f, N_KEYS, ids);
	issue(f, &bseq, "a1", ids[0], NULL);
	issue(f, &bseq, "a2", ids[1], NULL);
	issue(f, &bseq, "a3", ids[2], NULL);
	assert_int_equal(reopen(f, 1), 0);
	assert_int_equal(reopen(f, 0), 0);	/* writes it; opens without */
	size = ledger_size(f->l);
	snap_path(f, p, sizeof(p));
	*b = slurp(p, len);
	register_keys(f, 3, more);
	issue(f, &bseq, "b1", more[0], NULL);
	revoke_one(f, &bseq, "a1", NULL);
	revoke_one(f, &bseq, NULL, ids[1]);
	issue(f, &bseq, "a3b", ids[2], "a3");
	assert_int_equal(ledger_counts(f->l, &cnt), 0);
	assert_true(ledger_size(f->l) == size + 7);
	return size;
}

/* A snapshot older than the ledger is read and the entries after it
 * replayed onto it (not built): its revocations, issuances and
 * supersessions are in the map, which the writer goes on from. */
static void
test_older_snapshot_is_replayed_onto(void **state)
{
	struct fx *f = *state;
	char ids[N_KEYS][LEDGER_KEYID_LEN + 1];
	struct ledger_stats st;
	struct ledger_smt *m;
	uint64_t size;
	uint8_t *b;
	size_t len;

	size = stale_snapshot(f, ids, &b, &len);
	free(b);
	assert_int_equal(reopen(f, 1), 1);	/* the old one, replayed */
	ledger_stats(f->l, &st);
	assert_true(st.map_snap_size == size);
	assert_true(st.map_replayed == 7);
	assert_value_has(f, LEDGER_MAP_CERT, "a1", "status revoked");
	assert_value_has(f, LEDGER_MAP_CERT, "a2", "status revoked");
	assert_value_has(f, LEDGER_MAP_KEY, ids[1], "status revoked");
	assert_value_has(f, LEDGER_MAP_CERT, "a3", "status revoked");
	assert_value_has(f, LEDGER_MAP_CERT, "a3b", "status good");
	assert_value_has(f, LEDGER_MAP_CERT, "b1", "status good");
	m = rebuild(f);
	for (int i = 0; i < N_KEYS; i++)
		assert_proof_is_a_builds(f, m, ids[i]);
	ledger_smt_free(m);
	register_keys(f, 1, NULL);		/* the writer goes on from it */
	assert_root_is_a_builds(f);
	assert_int_equal(reopen(f, 1), 1);	/* written at close: current */
	ledger_stats(f->l, &st);
	assert_true(st.map_replayed == 0);
}

/* A snapshot more than SNAP_REPLAY_MIN (1024) entries and half its
 * leaves behind is not replayed: the map is built (cheaper); 1,024
 * behind is. */
static void
test_far_older_snapshot_is_not_replayed(void **state)
{
	struct fx *f = *state;
	char ids[N_KEYS][LEDGER_KEYID_LEN + 1], p[128];
	struct ledger_stats st;
	uint8_t *b;
	size_t len;

	(void)stale_snapshot(f, ids, &b, &len);	/* 7 entries behind */
	snap_path(f, p, sizeof(p));
	register_keys(f, 1024 - 7, NULL);
	assert_int_equal(reopen(f, 1), 1);
	ledger_stats(f->l, &st);
	assert_true(st.map_replayed == 1024);
	assert_int_equal(reopen(f, 0), 0);	/* a current one written */
	spill(p, b, len);			/* the old one back */
	register_keys(f, 1, NULL);
	assert_int_equal(reopen(f, 1), 0);	/* 1,025 behind: built */
	assert_root_is_a_builds(f);
	free(b);
}

/* An older snapshot that is not sound is refused and the map built: its
 * tree size beyond the ledger's, its body not the one digested, its
 * recorded root not its nodes', a leaf's up changed with its root and
 * digest made right (the signed checkpoint of its size refuses it), and
 * its size made an earlier one's (whose checkpoint's root differs). */
static void
test_unsound_older_snapshot_is_refused(void **state)
{
	struct fx *f = *state;
	char ids[N_KEYS][LEDGER_KEYID_LEN + 1], p[128];
	uint8_t *b, *c, *cur;
	uint64_t size, big;
	size_t len, curlen;

	size = stale_snapshot(f, ids, &b, &len);
	snap_path(f, p, sizeof(p));
	assert_int_equal(reopen(f, 1), 1);
	assert_int_equal(reopen(f, 0), 0);	/* a current one written */
	cur = slurp(p, &curlen);
	assert_non_null(c = malloc(len > curlen ? len : curlen));
	for (int k = 0; k < 5; k++) {
		/* 0: the current map, said to be of one entry more */
		memcpy(c, k == 0 ? cur : b, k == 0 ? curlen : len);
		big = k == 0 ? ledger_size(f->l) + 1 : size - 1;
		if (k == 0 || k == 4)
			for (int i = 7; i >= 0; i--, big >>= 8)
				c[25 + i] = (uint8_t)big;
		if (k == 1)
			c[len - 1] ^= 0x01;
		if (k == 2)
			c[LEDGER_MAP_SNAP_HEAD - 2 * LEDGER_SMT_HASH] ^= 0x01;
		if (k == 3) {	/* a leaf no later entry touches */
			c[key_up(c, len, ids[5]) + 5] ^= 0x20;
			remake_root(c, len);
		}
		spill(p, c, k == 0 ? curlen : len);
		if (reopen(f, 1) != 0)
			fail_msg("unsound snapshot %d was used", k);
		assert_root_is_a_builds(f);
		assert_int_equal(reopen(f, 0), 0);	/* writes a current one */
	}
	spill(p, b, len);			/* the intact one is used */
	assert_int_equal(reopen(f, 1), 1);
	free(b);
	free(c);
	free(cur);
}

/* An older snapshot whose own block is unsigned (its checkpoint lost)
 * has only the last block's signed checkpoint to answer to: used when
 * the replay gives that root, refused when a leaf's up was changed (its
 * root and digest made right), and refused when the last block is
 * unsigned too (nothing signed vouches for it). */
static void
test_older_snapshot_of_an_unsigned_block_answers_to_the_last(void **state)
{
	struct fx *f = *state;
	char ids[N_KEYS][LEDGER_KEYID_LEN + 1], p[128], sql[160], err[256];
	uint8_t digest[LEDGER_SMT_HASH], path[LEDGER_SMT_HASH], *b;
	struct ledger_smt *m;
	uint64_t size, last;
	size_t len;
	FILE *fp;

	size = stale_snapshot(f, ids, &b, &len);
	last = ledger_size(f->l);
	snap_path(f, p, sizeof(p));
	snprintf(sql, sizeof(sql), "UPDATE blocks SET checkpoint = '' WHERE "
	    "size = %llu", (unsigned long long)size);
	db_exec(f, sql, sql);
	assert_int_equal(reopen(f, 1), 1);
	assert_int_equal(reopen(f, 0), 0);
	/* a sound snapshot of size S with a leaf the ledger never had: no
	 * replay removes it (a changed up could be healed, when a replayed
	 * leaf lands next to it and refolds it from its value) */
	assert_non_null(fp = fmemopen(b + LEDGER_MAP_SNAP_HEAD,
	    len - LEDGER_MAP_SNAP_HEAD, "rb"));
	assert_non_null(m = ledger_smt_load(fp, digest));
	fclose(fp);
	ledger_map_path(LEDGER_MAP_KEY, "never-registered", path);
	assert_int_equal(ledger_smt_set(m, path, "x", 1), 0);
	assert_int_equal(ledger_map_snapshot_write(m, size, p, err,
	    sizeof(err)), 0);
	ledger_smt_free(m);
	assert_int_equal(reopen(f, 1), 0);
	assert_root_is_a_builds(f);
	assert_int_equal(reopen(f, 0), 0);
	spill(p, b, len);
	snprintf(sql, sizeof(sql), "UPDATE blocks SET checkpoint = '' WHERE "
	    "size = %llu", (unsigned long long)last);
	db_exec(f, sql, sql);
	assert_int_equal(reopen(f, 1), 0);
	register_keys(f, 1, NULL);	/* the writer signs the last again */
	assert_root_is_a_builds(f);
	free(b);
}

/* A changed leaf hash, its body's digest made right again, is refused by
 * the root check, and so is a truncated file: the map is built. */
static void
test_snapshot_with_a_changed_hash_or_truncated_is_refused(void **state)
{
	struct fx *f = *state;
	char p[128];
	uint8_t *b;
	size_t len;

	register_keys(f, N_KEYS, NULL);
	assert_int_equal(reopen(f, 1), 0);
	assert_int_equal(reopen(f, 0), 0);
	snap_path(f, p, sizeof(p));
	b = slurp(p, &len);
	b[first_up(b, len) + 5] ^= 0x20;
	SHA256(b + LEDGER_MAP_SNAP_HEAD, len - LEDGER_MAP_SNAP_HEAD,
	    b + LEDGER_MAP_SNAP_HEAD - LEDGER_SMT_HASH);
	spill(p, b, len);
	assert_int_equal(reopen(f, 1), 0);
	assert_root_is_a_builds(f);
	/* and with its recorded root made the changed nodes' too: the
	 * signed checkpoint's map root refuses it */
	assert_int_equal(reopen(f, 0), 0);	/* its own, written again */
	free(b);
	b = slurp(p, &len);
	b[first_up(b, len) + 5] ^= 0x20;
	remake_root(b, len);
	spill(p, b, len);
	assert_int_equal(reopen(f, 1), 0);
	assert_root_is_a_builds(f);
	assert_int_equal(reopen(f, 0), 0);
	free(b);
	b = slurp(p, &len);
	spill(p, b, len - 40);
	assert_int_equal(reopen(f, 1), 0);
	assert_root_is_a_builds(f);
	free(b);
}

/* The trie parser alone on a damaged body (no digest to stop it first):
 * it returns a map or NULL, and never reads out of bounds (ASan). */
static void
load_body(const uint8_t *b, size_t len)
{
	uint8_t digest[LEDGER_SMT_HASH];
	FILE *fp = fmemopen((void *)(b + LEDGER_MAP_SNAP_HEAD),
	    len - LEDGER_MAP_SNAP_HEAD, "rb");

	assert_non_null(fp);
	ledger_smt_free(ledger_smt_load(fp, digest));
	fclose(fp);
}

/* A leaf's value changed in the file, its digest made right again: the
 * root does not cover values (the stored ups stand for them), so the map
 * is read, but that leaf's proof is refused, never served, and every
 * other leaf's is. */
static void
test_snapshot_with_a_changed_value_serves_no_proof_of_it(void **state)
{
	struct fx *f = *state;
	static struct ledger_smt_proof pr;
	char ids[N_KEYS][LEDGER_KEYID_LEN + 1], p[128], note[LEDGER_NOTE_MAX],
	    value[LEDGER_SMT_VALUE_MAX + 1];
	size_t len, vlen;
	uint64_t size;
	uint8_t *b;
	int refused = 0;

	register_keys(f, N_KEYS, ids);
	assert_int_equal(reopen(f, 1), 0);
	assert_int_equal(reopen(f, 0), 0);
	snap_path(f, p, sizeof(p));
	b = slurp(p, &len);
	/* the first leaf's value: "...\nstatus active" -> "...\nstatus activf" */
	b[first_up(b, len) + LEDGER_SMT_HASH + 2 + 5] ^= 0x01;
	SHA256(b + LEDGER_MAP_SNAP_HEAD, len - LEDGER_MAP_SNAP_HEAD,
	    b + LEDGER_MAP_SNAP_HEAD - LEDGER_SMT_HASH);
	spill(p, b, len);
	free(b);
	assert_int_equal(reopen(f, 1), 1);
	for (int i = 0; i < N_KEYS; i++)
		if (ledger_status_proof(f->l, LEDGER_MAP_KEY, ids[i], note,
		    sizeof(note), &size, &pr, value, sizeof(value), &vlen) != 0)
			refused++;
	assert_int_equal(refused, 1);
}

/* The parser refuses a trie whose shape is wrong, whatever the digest
 * says: a branching whose children do not part at its depth, or one
 * above its parent (which also bounds the recursion); the intact body
 * parses. */
static void
test_misshapen_trie_is_refused_by_the_parser(void **state)
{
	struct fx *f = *state;
	uint8_t digest[LEDGER_SMT_HASH], *b;
	struct ledger_smt *m;
	char p[128];
	size_t len, o = LEDGER_MAP_SNAP_HEAD;
	FILE *fp;

	register_keys(f, N_KEYS, NULL);
	assert_int_equal(reopen(f, 1), 0);
	assert_int_equal(reopen(f, 0), 0);
	snap_path(f, p, sizeof(p));
	b = slurp(p, &len);
	assert_int_equal(b[o], 'B');
	assert_int_equal(b[o + 2], 'B');	/* 24 leaves: two levels */
	for (int k = 0; k < 3; k++) {
		if (k == 1)
			b[o + 1]++;		/* parts below its depth */
		if (k == 2) {
			b[o + 1]--;
			b[o + 3] = b[o + 1];	/* as deep as its parent */
		}
		assert_non_null(fp = fmemopen(b + o, len - o, "rb"));
		m = ledger_smt_load(fp, digest);
		fclose(fp);
		if (k == 0)
			assert_non_null(m);
		else
			assert_null(m);
		ledger_smt_free(m);
	}
	free(b);
	/* a chain of branchings all at depth 0: refused at the second,
	 * not followed a million frames deep */
	assert_non_null(b = malloc(2 * N_DEEP));
	for (size_t i = 0; i < N_DEEP; i++) {
		b[2 * i] = 'B';
		b[2 * i + 1] = 0;
	}
	assert_non_null(fp = fmemopen(b, 2 * N_DEEP, "rb"));
	assert_null(ledger_smt_load(fp, digest));
	fclose(fp);
	free(b);
}

/* Every truncation and N_FLIPS seeded byte flips (one to three bytes):
 * the reader refuses each, without crashing. */
static void
test_damaged_snapshots_are_never_read(void **state)
{
	struct fx *f = *state;
	uint8_t want[LEDGER_SMT_HASH], *b, *c;
	struct ledger_smt *m;
	char p[128], q[160], why[256], cp[LEDGER_NOTE_MAX];
	uint64_t size;
	size_t len;

	register_keys(f, N_KEYS, NULL);
	assert_int_equal(reopen(f, 1), 0);
	assert_int_equal(reopen(f, 0), 0);
	assert_int_equal(ledger_checkpoint(f->l, cp, sizeof(cp), &size), 0);
	assert_int_equal(ledger_checkpoint_map_root(cp, strlen(cp), want), 0);
	snap_path(f, p, sizeof(p));
	snprintf(q, sizeof(q), "%s.fuzz", p);
	b = slurp(p, &len);
	assert_non_null(c = malloc(len));
	m = ledger_map_snapshot_read(p, size, want, why, sizeof(why));
	assert_non_null(m);			/* the intact one is read */
	ledger_smt_free(m);
	for (size_t n = 0; n < len; n++) {
		spill(q, b, n);
		assert_null(ledger_map_snapshot_read(q, size, want, why,
		    sizeof(why)));
	}
	for (int i = 0; i < N_FLIPS; i++) {
		memcpy(c, b, len);
		for (uint32_t k = 0, nk = 1 + rng() % 3; k < nk; k++)
			c[rng() % len] ^= (uint8_t)(1 + rng() % 255);
		spill(q, c, len);
		assert_null(ledger_map_snapshot_read(q, size, want, why,
		    sizeof(why)));
		load_body(c, len);
	}
	unlink(q);
	free(b);
	free(c);
}



static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = {
		T(test_snapshot_written_at_close_and_read_at_open),
		T(test_older_snapshot_is_replayed_onto),
		T(test_unsound_older_snapshot_is_refused),
		T(test_far_older_snapshot_is_not_replayed),
		T(test_older_snapshot_of_an_unsigned_block_answers_to_the_last),
		T(test_snapshot_with_a_changed_hash_or_truncated_is_refused),
		T(test_snapshot_with_a_changed_value_serves_no_proof_of_it),
		T(test_misshapen_trie_is_refused_by_the_parser),
		T(test_damaged_snapshots_are_never_read),
	};
	char name[64];

	snprintf(name, sizeof(name), "ledger/mapsnap (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	return fx_main("test_mapsnap", run_suite, NULL);
}
