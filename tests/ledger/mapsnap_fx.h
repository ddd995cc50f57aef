/*
 * mapsnap_fx.h: what test_mapsnap.c and test_mapsnap_live.c share: the
 * snapshot's path, a reopen with or without it, keys registered, a map
 * built afresh from the registry and the checks against it, a file read
 * and written whole.  Static inline, as rules_fx.h (included first).
 */
#ifndef KEYBRIDGE_TESTS_LEDGER_MAPSNAP_FX_H
#define KEYBRIDGE_TESTS_LEDGER_MAPSNAP_FX_H

#define SNAP_NAME	"map.snap"
#define N_KEYS		24	/* keys of a test ledger */

static inline void
snap_path(struct fx *f, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", f->dir, SNAP_NAME);
}

/* Closes f's ledger (writing its snapshot when it had one) and opens it
 * again with the snapshot file (snap) or without, written while serving
 * every `every` entries (0: only at close); its map_loaded. */
static inline int
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

static inline int
reopen(struct fx *f, int snap)
{
	return reopen_every(f, snap, 0);
}

static inline void
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
static inline struct ledger_smt *
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
static inline void
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
static inline void
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

static inline uint8_t *
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

static inline void
spill(const char *p, const uint8_t *b, size_t len)
{
	FILE *fp = fopen(p, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* The ledger's (in-memory) map value of kind/id contains want. */
static inline void
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

#endif
