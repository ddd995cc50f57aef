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
#include "ledger/ledger_state.h"

#define N_KEYS		24
#define N_FLIPS		300
#define N_DEEP		1000000	/* branchings in a misshapen chain */
#define SNAP_NAME	"map.snap"

static uint64_t rng_state = 18;

static uint32_t
rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}

static void
snap_path(struct fx *f, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", f->dir, SNAP_NAME);
}

/* Closes f's ledger (writing its snapshot when it had one) and opens it
 * again with the snapshot file (snap) or without, written while serving
 * every `every` entries (0: only at close); its map_loaded. */
static int
reopen_every(struct fx *f, int snap, uint64_t every)
{
	struct ledger_config lc;
	struct ledger_stats st;
	char err[256], p[128];

	ledger_close(f->l);
	snap_path(f, p, sizeof(p));
	memset(&lc, 0, sizeof(lc));
	lc.db = f->db;
	lc.origin = TEST_ORIGIN;
	lc.consensus = f->cons;
	lc.map_snapshot = snap ? p : NULL;
	lc.map_snapshot_entries = every;
	if ((f->l = ledger_open(&lc, err, sizeof(err))) == NULL)
		fail_msg("ledger_open: %s", err);
	ledger_stats(f->l, &st);
	return st.map_loaded;
}

static int
reopen(struct fx *f, int snap)
{
	return reopen_every(f, snap, 0);
}

static void
register_keys(struct fx *f, int n, char ids[][LEDGER_KEYID_LEN + 1])
{
	struct reg r;

	for (int i = 0; i < n; i++) {
		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
		if (ids != NULL)
			memcpy(ids[i], r.id, sizeof(r.id));
	}
}

/* A map built afresh from f's registry. */
static struct ledger_smt *
rebuild(struct fx *f)
{
	struct ledger_store *s;
	struct ledger_smt *m;
	char err[256];

	s = ledger_store_open(f->db, LEDGER_STORE_READONLY, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	m = ledger_map_build(s);
	s->ops->close(s);
	assert_non_null(m);
	return m;
}

/* The latest checkpoint's map root is the root of a build. */
static void
assert_root_is_a_builds(struct fx *f)
{
	struct ledger_smt *m = rebuild(f);
	uint8_t want[LEDGER_SMT_HASH], got[LEDGER_SMT_HASH];
	char cp[LEDGER_NOTE_MAX];
	uint64_t size;

	assert_int_equal(ledger_checkpoint(f->l, cp, sizeof(cp), &size), 0);
	assert_int_equal(ledger_checkpoint_map_root(cp, strlen(cp), got), 0);
	ledger_smt_root(m, want);
	assert_memory_equal(got, want, LEDGER_SMT_HASH);
	ledger_smt_free(m);
}

/* The ledger's proof of key id is a build's, and verifies. */
static void
assert_proof_is_a_builds(struct fx *f, struct ledger_smt *m, const char *id)
{
	static struct ledger_smt_proof p, q;
	char note[LEDGER_NOTE_MAX], value[LEDGER_SMT_VALUE_MAX + 1];
	uint8_t path[LEDGER_SMT_HASH], root[LEDGER_SMT_HASH];
	const char *v;
	size_t vlen, len;
	uint64_t size;

	assert_int_equal(ledger_status_proof(f->l, LEDGER_MAP_KEY, id, note,
	    sizeof(note), &size, &p, value, sizeof(value), &vlen), 0);
	ledger_map_path(LEDGER_MAP_KEY, id, path);
	assert_int_equal(ledger_smt_prove(m, path, &q, &v, &len), 0);
	assert_int_equal(p.nsib, q.nsib);
	assert_memory_equal(p.leaf, q.leaf, LEDGER_SMT_HASH);
	assert_memory_equal(p.bitmap, q.bitmap, LEDGER_SMT_BITMAP);
	assert_memory_equal(p.sib, q.sib, p.nsib * LEDGER_SMT_HASH);
	assert_int_equal(vlen, v != NULL ? len : 0);
	ledger_smt_root(m, root);
	assert_int_equal(ledger_smt_verify(path, v, len, &p, root), 0);
}

static uint8_t *
slurp(const char *p, size_t *len)
{
	FILE *fp = fopen(p, "rb");
	uint8_t *b;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	b = malloc((size_t)n);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return b;
}

static void
spill(const char *p, const uint8_t *b, size_t len)
{
	FILE *fp = fopen(p, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
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

/* The ledger's (in-memory) map value of kind/id contains want. */
static void
assert_value_has(struct fx *f, enum ledger_map_kind kind, const char *id,
    const char *want)
{
	static struct ledger_smt_proof pr;
	char note[LEDGER_NOTE_MAX], value[LEDGER_SMT_VALUE_MAX + 1];
	uint64_t size;
	size_t vlen;

	assert_int_equal(ledger_status_proof(f->l, kind, id, note,
	    sizeof(note), &size, &pr, value, sizeof(value), &vlen), 0);
	assert_true(vlen > 0 && vlen < sizeof(value));
	value[vlen] = '\0';
	if (strstr(value, want) == NULL)
		fail_msg("%s: %s not in:\n%s", id, want, value);
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

/* ---- written while serving: the writer not paused (issue 18) -------- */

#define HOLD_MAX	20	/* seconds the hook holds the snapshot at most */
#define N_DURING	6	/* keys registered while it is held */
#define HOLD_ALL	1000	/* released: every snapshot */

/* The snapshot's thread held in the test's hook until released (the
 * n-th snapshot by released >= n), or HOLD_MAX seconds, then timed_out: a writer paused by the snapshot
 * could not commit before that); the writer's wake-ups and answers. */
struct hold {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, released, timed_out, woken;
	int ok;				/* answered LEDGER_OK (drain) */
};

static void
hold_hook(void *arg)
{
	struct hold *h = arg;
	struct timespec until;
	int n;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HOLD_MAX;
	pthread_mutex_lock(&h->mu);
	n = ++h->started;
	pthread_cond_broadcast(&h->cv);
	while (h->released < n && !h->timed_out)
		if (pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
			h->timed_out = 1;
	pthread_mutex_unlock(&h->mu);
}

static void
hold_wake(void *arg)
{
	struct hold *h = arg;

	pthread_mutex_lock(&h->mu);
	h->woken = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void
hold_done(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct hold *h = arg;

	(void)r;
	(void)why;
	if (st == LEDGER_OK)
		h->ok++;	/* the caller's thread (ledger_drain) */
}

/* Waits (at most HOLD_MAX seconds) for *flag under h->mu; 1 when set
 * (then clears it when clear). */
static int
hold_wait(struct hold *h, int *flag, int clear)
{
	struct timespec until;
	int v;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HOLD_MAX;
	pthread_mutex_lock(&h->mu);
	while (*flag == 0 && pthread_cond_timedwait(&h->cv, &h->mu,
	    &until) != ETIMEDOUT)
		;
	v = *flag != 0;
	if (clear)
		*flag = 0;
	pthread_mutex_unlock(&h->mu);
	return v;
}

/* n keys registered through the writer (ledger_submit), their ids in
 * ids; waits for their answers, at most HOLD_MAX seconds between two. */
static void
submit_keys(struct fx *f, struct hold *h, int n,
    char ids[][LEDGER_KEYID_LEN + 1])
{
	int want = h->ok + n;
	struct reg r;
	char *note;

	for (int i = 0; i < n; i++) {
		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		note = ledger_entry_body(LEDGER_KEY_REGISTER, "admin",
		    f->seq_admin++, time(NULL), TEST_ORIGIN, r.fl, 6);
		note = ledger_entry_sign(note, "admin", f->admin);
		assert_non_null(note);
		assert_int_equal(ledger_submit(f->l, note, strlen(note),
		    hold_done, h), 0);
		free(note);
		memcpy(ids[i], r.id, sizeof(r.id));
	}
	while (h->ok < want && hold_wait(h, &h->woken, 1))
		ledger_drain(f->l);
	assert_int_equal(h->ok, want);
}

/*
 * A snapshot due while serving is written on a thread of its own: held
 * there (the hook), the writer commits N_DURING more keys, each readable
 * (status proofs) and the root a build's, before it is released (not
 * timed: the hook holds it until the test releases it, and a writer that
 * waited for the snapshot would make the hook time out first).  Once
 * released, the file is the map of the size at which it was due (the
 * writer's first idle tick: every entry is due), with that checkpoint's
 * root, and an open from it replays the entries after it.
 */
static void
writer_commits_while_a_snapshot_is_written(struct fx *f, int reload)
{
	char ids[N_DURING][LEDGER_KEYID_LEN + 1], p[128], why[256];
	char cp[LEDGER_NOTE_MAX];
	struct hold h = { .started = 0 };
	struct ledger_stats st;
	struct ledger_smt *m;
	uint8_t want[LEDGER_SMT_HASH], root[LEDGER_SMT_HASH];
	uint64_t size0, size;
	uint8_t *held;
	size_t len;

	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	register_keys(f, N_KEYS, NULL);		/* a trie to copy from */
	(void)reopen_every(f, 1, 1);
	assert_int_equal(ledger_checkpoint(f->l, cp, sizeof(cp), &size0), 0);
	assert_int_equal(ledger_checkpoint_map_root(cp, strlen(cp), want), 0);
	assert_true(size0 > 0 && size0 == ledger_size(f->l));
	ledger_map_snapshot_set_hook(f->l, hold_hook, &h);
	assert_int_equal(ledger_writer_start(f->l, hold_wake, &h), 0);
	assert_int_equal(hold_wait(&h, &h.started, 0), 1);
	submit_keys(f, &h, N_DURING, ids);	/* the writer, not paused */
	if (reload) {	/* as a follower's catch-up does (catchup.c) */
		pthread_rwlock_wrlock(&f->l->tree_lock);
		assert_int_equal(ledger_map_reload(f->l, f->l->r), 0);
		pthread_rwlock_unlock(&f->l->tree_lock);
	}
	for (int i = 0; i < N_DURING; i++)
		assert_value_has(f, LEDGER_MAP_KEY, ids[i], "status active");
	assert_root_is_a_builds(f);
	ledger_stats(f->l, &st);
	assert_true(st.map_snaps_written == 0);	/* still in flight */
	pthread_mutex_lock(&h.mu);
	assert_int_equal(h.timed_out, 0);
	assert_int_equal(h.started, 1);		/* one at a time */
	h.released = 1;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	for (int i = 0; i < HOLD_MAX * 100 && st.map_snaps_written == 0; i++) {
		usleep(10000);
		ledger_stats(f->l, &st);
	}
	assert_true(st.map_snaps_written == 1);	/* the next one held */
	assert_true(st.map_snap_last == size0);
	snap_path(f, p, sizeof(p));
	m = ledger_map_snapshot_load(p, UINT64_MAX, &size, root, why,
	    sizeof(why));
	if (m == NULL)
		fail_msg("%s", why);
	assert_true(size == size0);
	assert_memory_equal(root, want, LEDGER_SMT_HASH);
	ledger_smt_free(m);
	assert_true(ledger_size(f->l) == size0 + N_DURING);
	held = slurp(p, &len);
	pthread_mutex_lock(&h.mu);
	h.released = HOLD_ALL;		/* the next ones (due after it) */
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	assert_int_equal(reopen(f, 0), 0);	/* writes a current one */
	spill(p, held, len);			/* the one written while held */
	free(held);
	assert_int_equal(reopen(f, 1), 1);
	ledger_stats(f->l, &st);
	assert_true(st.map_snap_size == size0);
	assert_true(st.map_replayed == N_DURING);
	assert_root_is_a_builds(f);
	pthread_cond_destroy(&h.cv);
	pthread_mutex_destroy(&h.mu);
}

static void
test_writer_commits_while_a_snapshot_is_written(void **state)
{
	writer_commits_while_a_snapshot_is_written(*state, 0);
}

/* The same with the map replaced while the snapshot is held (a
 * follower's catch-up, a failed block's reload): the snapshot is still
 * of the map it froze, which is freed after it (ASan: not before). */
static void
test_map_replaced_while_a_snapshot_is_written(void **state)
{
	writer_commits_while_a_snapshot_is_written(*state, 1);
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
		T(test_writer_commits_while_a_snapshot_is_written),
		T(test_map_replaced_while_a_snapshot_is_written),
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
