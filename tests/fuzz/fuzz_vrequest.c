/*
 * fuzz_vrequest.c: a validator's requests (validator/core.c): the body
 * of a tlog-witness add-checkpoint or of keybridge's add-block
 * (vcore_request_parse), then the whole decision (vcore_add) as the
 * daemon makes it (validator/daemon.c's ops: the status map root of the
 * replayed registry checked against the checkpoint's "map" line),
 * replaying the block's entries through the ledger's rules
 * (ledger/replay.c, in-memory registries).
 *
 * The log's signature is taken as valid: the sequencer that holds the log
 * key is one of the attackers a validator stands against, so what follows
 * the signature check is what must hold.  Such a sequencer also signs
 * whatever root, consistency proof and map line it likes, which random
 * mutation cannot make (they are hashes of the rest): the first byte asks
 * the harness to make them, as that sequencer would.
 *
 * The first byte:
 *   bit 0  witness (else validator)
 *   bit 1  the state after one cosigned block (its registry holding the
 *          block's entry, fuzz_base below), else a fresh validator, so
 *          that old > 0, consistency proofs, equivocation and "not
 *          extending" are reached
 *   bit 2  fix the tree: the checkpoint's size and root become those of
 *          the base's leaves up to `old` plus the request's entries, and
 *          the proof lines a consistency proof from `old` to that size
 *   bit 3  fix the map: the request runs once to learn the status map
 *          root its entries make in the registry, then again with the
 *          checkpoint's map line set to it
 * Each input meets the same state: the state is copied from a template
 * and the registry's staging dropped after each run.  Properties: an
 * answer has an HTTP status; a 200 carries one cosignature line; a
 * refusal names its reason; a checkpoint whose map line is the one the
 * registry makes is never refused for its map.
 */
#include "tests/fuzz/fuzz.h"

#include <inttypes.h>

#include <openssl/evp.h>

#include "ledger/ledger_int.h"
#include "ledger/replay.h"
#include "validator/core.h"

#define FUZZ_ORIGIN "fuzz/ledger"
#define FUZZ_NOW    ((time_t)1796342400)
#define FUZZ_BASE_TIME (FUZZ_NOW - 100)		/* the base block's */

#define FLAG_WITNESS  0x01
#define FLAG_BASE     0x02
#define FLAG_FIX_TREE 0x04
#define FLAG_FIX_MAP  0x08

#define MAP_KEY     "map "
#define MAP_KEY_LEN 4

/* A starting point: a validator's state and its registry. */
struct fuzz_start {
	struct vcore_state st;
	struct ledger_replay *reg;
};

static struct fuzz_start fuzz_fresh, fuzz_base;
static struct vcore_state fuzz_st;
static char *fuzz_base_entry;			/* entry 0 of fuzz_base */
static uint8_t fuzz_base_leaf[LEDGER_HASH_LEN];
static uint8_t fuzz_kid[LEDGER_COSIGN_KEY_ID_LEN];

/* What the map_root callback saw (the root the registry made). */
static int fuzz_map_seen;
static uint8_t fuzz_map[LEDGER_HASH_LEN];

static int
fuzz_sign(void *arg, const char *msg, size_t len,
    uint8_t sig[LEDGER_COSIGN_ED_SIG_LEN])
{
	memset(sig, 0x42, LEDGER_COSIGN_ED_SIG_LEN);	/* any 64 bytes */
	return 0;
}

static int
fuzz_log_verify(void *arg, const char *note, size_t len)
{
	return 0;
}

static int
fuzz_stage(void *arg, uint64_t index, const char *text, size_t len,
    time_t t, char *code, size_t codelen, char *why, size_t whylen)
{
	return ledger_replay_stage(arg, index, text, len, t, code, codelen,
	    why, whylen);
}

static void
fuzz_abort(void *arg)
{
	ledger_replay_abort(arg);
}

/* validator/daemon.c's vd_map_root, remembering the root it gave. */
static int
fuzz_map_root(void *arg, uint8_t root[LEDGER_HASH_LEN])
{
	if (ledger_replay_map_root(arg, root) != 0)
		return -1;
	memcpy(fuzz_map, root, LEDGER_HASH_LEN);
	fuzz_map_seen = 1;
	return 0;
}

/* An entry signed by the fixed admin key (as fuzz_entry.c's). */
static char *
fuzz_entry(EVP_PKEY *k, uint64_t seq, const char *name, const char *role)
{
	char pub[128], *body;
	struct ledger_field f[4] = { { "name", name }, { "role", role },
	    { "threshold", "1" }, { "pubkey", pub } };

	FUZZ_CHECK(ledger_pubkey_to_b64(k, pub, sizeof(pub)) == 0);
	FUZZ_CHECK((body = ledger_entry_body(LEDGER_ACCOUNT_CREATE, "admin",
	    seq, FUZZ_NOW - 120, FUZZ_ORIGIN, f, 4)) != NULL);
	return ledger_entry_sign(body, "admin", k);
}

/*
 * The body of request `req` with its note replaced: the checkpoint body
 * rebuilt from the note's (its origin and extension lines kept), with
 * size and root when root is not NULL, and with one map line `map` when
 * map is not NULL (any other map line dropped); the note's signature
 * lines kept; the proof lines proof[0..nproof) when proof is not NULL.
 * A malloc'd request text (*outlen bytes), or NULL when the note cannot
 * be rebuilt (no body, a NUL in it) or the result is too long.
 */
static char *
fuzz_rebuild(const struct vcore_request *req, uint64_t size,
    const uint8_t *root, const uint8_t *map,
    const uint8_t (*proof)[LEDGER_HASH_LEN], size_t nproof, size_t *outlen)
{
	static char note[2 * VCORE_NOTE_MAX];
	char b64[64];
	const char *p, *end, *nl;
	size_t body_len, off = 0, line, cap;
	char *out;
	int n;

	if (memchr(req->note, '\0', req->note_len) != NULL ||
	    (body_len = ledger_cosign_body_len(req->note, req->note_len)) == 0)
		return NULL;
	p = req->note;
	end = req->note + body_len;
	for (line = 0; p < end; line++, p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(nl != NULL);		/* a body ends with '\n' */
		if (map != NULL && (size_t)(nl - p) >= MAP_KEY_LEN &&
		    memcmp(p, MAP_KEY, MAP_KEY_LEN) == 0)
			continue;
		if (root != NULL && line == 1)
			n = snprintf(note + off, sizeof(note) - off,
			    "%" PRIu64 "\n", size);
		else if (root != NULL && line == 2) {
			FUZZ_CHECK(ledger_b64_encode(root, LEDGER_HASH_LEN,
			    b64, sizeof(b64)) == 0);
			n = snprintf(note + off, sizeof(note) - off, "%s\n",
			    b64);
		} else
			n = snprintf(note + off, sizeof(note) - off, "%.*s\n",
			    (int)(nl - p), p);
		if (n < 0 || (size_t)n >= sizeof(note) - off)
			return NULL;
		off += (size_t)n;
	}
	if (map != NULL) {
		FUZZ_CHECK(ledger_b64_encode(map, LEDGER_HASH_LEN, b64,
		    sizeof(b64)) == 0);
		n = snprintf(note + off, sizeof(note) - off, MAP_KEY "%s\n",
		    b64);
		if (n < 0 || (size_t)n >= sizeof(note) - off)
			return NULL;
		off += (size_t)n;
	}
	/* the signature lines, after the blank line */
	if (off + req->note_len - body_len >= sizeof(note))
		return NULL;
	memcpy(note + off, req->note + body_len, req->note_len - body_len);
	off += req->note_len - body_len;
	note[off] = '\0';
	/* a longer size or root line can take a note past the limit: no
	 * request (found by the fuzzer: the parser refuses it, rightly) */
	if (off >= VCORE_NOTE_MAX)
		return NULL;

	cap = off + 64;
	for (size_t i = 0; i < req->nentries; i++)
		cap += req->entries[i].len + 32;
	cap += (proof != NULL ? nproof : req->nproof) * 64;
	out = malloc(cap);
	FUZZ_CHECK(out != NULL);
	n = vcore_request_format(req->old, proof != NULL ? proof :
	    (const uint8_t (*)[LEDGER_HASH_LEN])req->proof, proof != NULL ?
	    nproof : req->nproof, req->entries, req->nentries, note, out, cap);
	if (n <= 0) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)n;
	return out;
}

/* The tree a sequencer would sign for req from `start`: the base's
 * leaves up to req->old, then the request's entries; its size, root and
 * the consistency proof from old into *size, root, proof, *nproof.
 * 0, or -1 when old is past the base's leaves or the tree too large. */
static int
fuzz_tree(const struct fuzz_start *start, const struct vcore_request *req,
    uint64_t *size, uint8_t root[LEDGER_HASH_LEN],
    uint8_t proof[][LEDGER_HASH_LEN], size_t *nproof)
{
	struct ledger_merkle *m;
	uint8_t leaf[LEDGER_HASH_LEN];
	int rc = -1;

	if (req->old > start->st.size || req->nentries > VCORE_ENTRIES_MAX)
		return -1;
	FUZZ_CHECK((m = ledger_merkle_new()) != NULL);
	if (req->old == 1)
		FUZZ_CHECK(ledger_merkle_append(m, fuzz_base_leaf) == 0);
	for (size_t i = 0; i < req->nentries; i++) {
		ledger_merkle_leaf_hash(req->entries[i].text,
		    req->entries[i].len, leaf);
		FUZZ_CHECK(ledger_merkle_append(m, leaf) == 0);
	}
	*size = ledger_merkle_size(m);
	*nproof = 0;
	if (*size == 0 || ledger_merkle_root(m, *size, root) != 0)
		goto out;
	if (req->old > 0 && req->old < *size &&
	    ledger_merkle_consistency(m, req->old, *size, proof, nproof) != 0)
		goto out;
	rc = 0;
out:
	ledger_merkle_free(m);
	return rc;
}

/* One decision of `start`'s validator (in `mode`) on req, checked; the
 * registry's staging dropped after it.  The answer in *ans. */
static void
fuzz_decide(const struct fuzz_start *start, enum vcore_mode mode,
    const struct vcore_request *req, struct vcore_answer *ans)
{
	const struct vcore_ops ops = { fuzz_sign, fuzz_log_verify,
	    fuzz_stage, fuzz_abort, start->reg, fuzz_map_root };

	memcpy(&fuzz_st, &start->st, sizeof(fuzz_st));
	fuzz_st.mode = mode;
	memset(ans, 0, sizeof(*ans));
	fuzz_map_seen = 0;
	FUZZ_CHECK(vcore_add(&fuzz_st, &ops, fuzz_kid, req, FUZZ_NOW,
	    ans) == 0);
	FUZZ_CHECK(ans->status >= 200 && ans->status < 600);
	if (ans->status == 200)
		FUZZ_CHECK(ans->refusal == VCORE_OK &&
		    strchr(ans->body, '\n') != NULL);
	else
		FUZZ_CHECK(ans->refusal != VCORE_OK && ans->reason[0] != '\0');
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%d %s\n", ans->status, ans->reason);
	ledger_replay_abort(start->reg);
}

/* Parses text as a request; 0 or -1, with the parser's properties. */
static int
fuzz_parse(const char *text, size_t len, struct vcore_request *req)
{
	char why[256];

	why[0] = '\0';
	if (vcore_request_parse(text, len, req, why, sizeof(why)) != 0) {
		FUZZ_CHECK(why[0] != '\0');
		return -1;
	}
	FUZZ_CHECK(req->note != NULL && req->note_len > 0 &&
	    req->note_len < VCORE_NOTE_MAX);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct vcore_answer ans;
	static uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	const struct fuzz_start *start;
	struct vcore_request req, req2;
	enum vcore_mode mode;
	uint8_t root[LEDGER_HASH_LEN], flags;
	uint64_t size;
	size_t nproof, tlen;
	char *text = NULL, *text2 = NULL;

	if (len == 0)
		return 0;
	flags = data[0];
	mode = flags & FLAG_WITNESS ? VCORE_WITNESS : VCORE_VALIDATOR;
	start = flags & FLAG_BASE ? &fuzz_base : &fuzz_fresh;
	if (fuzz_parse((const char *)data + 1, len - 1, &req) != 0)
		return 0;
	/* the tree the sequencer signs: the request made again */
	if ((flags & FLAG_FIX_TREE) && fuzz_tree(start, &req, &size, root,
	    proof, &nproof) == 0 && nproof <= VCORE_PROOF_LINES_MAX &&
	    (text = fuzz_rebuild(&req, size, root, NULL,
	    (const uint8_t (*)[LEDGER_HASH_LEN])proof, nproof,
	    &tlen)) != NULL) {
		vcore_request_free(&req);
		FUZZ_CHECK(fuzz_parse(text, tlen, &req) == 0);
	}
	fuzz_decide(start, mode, &req, &ans);
	/* the map line the registry makes: never refused for the map */
	if ((flags & FLAG_FIX_MAP) && fuzz_map_seen &&
	    (text2 = fuzz_rebuild(&req, 0, NULL, fuzz_map, NULL, 0,
	    &tlen)) != NULL && fuzz_parse(text2, tlen, &req2) == 0) {
		fuzz_decide(start, mode, &req2, &ans);
		FUZZ_CHECK(ans.refusal != VCORE_MAP_MISMATCH);
		vcore_request_free(&req2);
	}
	vcore_request_free(&req);
	free(text);
	free(text2);
	return 0;
}

/* ---- the states and the seeds ------------------------------------------ */

/* A request from old over entries ents[0..nents) to a checkpoint of
 * (size, root, time t, map line `map` or none) signed by the fuzz log
 * key k, as text into out (outlen bytes).  Its length. */
static size_t
fuzz_request(EVP_PKEY *k, uint64_t old, const uint8_t (*proof)[32],
    size_t nproof, const struct vcore_entry *ents, size_t nents,
    uint64_t size, const uint8_t root[LEDGER_HASH_LEN], time_t t,
    const uint8_t *map, char *out, size_t outlen)
{
	char body[512], line[512], note[1024];
	int n;

	FUZZ_CHECK(ledger_checkpoint_body_map(FUZZ_ORIGIN, size, root, t, map,
	    body, sizeof(body)) == 0);
	FUZZ_CHECK(ledger_note_sign_line(body, strlen(body), "fuzz-log", k,
	    line, sizeof(line)) == 0);
	snprintf(note, sizeof(note), "%s\n%s", body, line);
	n = vcore_request_format(old, proof, nproof, ents, nents, note, out,
	    outlen);
	FUZZ_CHECK(n > 0);
	return (size_t)n;
}

/* The root of the status map of start's registry with ents staged. */
static void
fuzz_map_of(struct fuzz_start *start, const struct vcore_entry *ents,
    size_t nents, uint8_t map[LEDGER_HASH_LEN])
{
	char code[64], why[256];

	for (size_t i = 0; i < nents; i++)
		FUZZ_CHECK(ledger_replay_stage(start->reg, start->st.size + i,
		    ents[i].text, ents[i].len, FUZZ_NOW - 10, code,
		    sizeof(code), why, sizeof(why)) == 0);
	FUZZ_CHECK(ledger_replay_map_root(start->reg, map) == 0);
	ledger_replay_abort(start->reg);
}

static void
fuzz_seed(const char *dir, const char *name, uint8_t flags, const char *text,
    size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FUZZ_CHECK((f = fopen(path, "w")) != NULL);
	fputc(flags, f);
	fwrite(text, 1, len, f);
	fclose(f);
}

/*
 * Seeds: from a fresh validator, add-blocks of one entry and of two
 * (without and with the map line), an add-checkpoint; from the base
 * state, an add-block and an add-checkpoint growing it with a
 * consistency proof, another checkpoint of its size (equivocation) and
 * one with a wrong map line.
 */
static void
fuzz_write_seeds(EVP_PKEY *k, const char *dir)
{
	static char out[65536];
	struct vcore_entry ents[2];
	struct ledger_merkle *m;
	uint8_t leaf[2][LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	uint8_t map[LEDGER_HASH_LEN], proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	size_t n, np;
	char *e[2];
	int i;

	e[0] = fuzz_base_entry;
	e[1] = fuzz_entry(k, 2, "bridge", "bridge");
	for (i = 0; i < 2; i++) {
		FUZZ_CHECK(e[i] != NULL);
		ents[i].text = e[i];
		ents[i].len = strlen(e[i]);
		ledger_merkle_leaf_hash(e[i], strlen(e[i]), leaf[i]);
	}
	/* fresh: one entry, two entries (the last also with its map) */
	n = fuzz_request(k, 0, NULL, 0, ents, 1, 1, leaf[0], FUZZ_NOW - 10,
	    NULL, out, sizeof(out));
	fuzz_seed(dir, "add-block-1", 0, out, n);
	ledger_merkle_node_hash(leaf[0], leaf[1], root);
	n = fuzz_request(k, 0, NULL, 0, ents, 2, 2, root, FUZZ_NOW - 10,
	    NULL, out, sizeof(out));
	fuzz_seed(dir, "add-block-2", 0, out, n);
	fuzz_map_of(&fuzz_fresh, ents, 2, map);
	n = fuzz_request(k, 0, NULL, 0, ents, 2, 2, root, FUZZ_NOW - 10, map,
	    out, sizeof(out));
	fuzz_seed(dir, "add-block-2-map", 0, out, n);
	fuzz_seed(dir, "add-block-2-fixmap", FLAG_FIX_MAP, out, n);
	n = fuzz_request(k, 0, NULL, 0, NULL, 0, 1, leaf[0], FUZZ_NOW - 10,
	    NULL, out, sizeof(out));
	fuzz_seed(dir, "add-checkpoint-3", FLAG_WITNESS, out, n);

	/* from the base (entry 0 cosigned at size 1): 1 -> 2 */
	FUZZ_CHECK((m = ledger_merkle_new()) != NULL);
	FUZZ_CHECK(ledger_merkle_append(m, leaf[0]) == 0 &&
	    ledger_merkle_append(m, leaf[1]) == 0);
	FUZZ_CHECK(ledger_merkle_consistency(m, 1, 2, proof, &np) == 0);
	ledger_merkle_free(m);
	fuzz_map_of(&fuzz_base, ents + 1, 1, map);
	n = fuzz_request(k, 1, (const uint8_t (*)[32])proof, np, ents + 1, 1,
	    2, root, FUZZ_NOW - 10, map, out, sizeof(out));
	fuzz_seed(dir, "base-add-block", FLAG_BASE, out, n);
	fuzz_seed(dir, "base-add-block-fix", FLAG_BASE | FLAG_FIX_TREE |
	    FLAG_FIX_MAP, out, n);
	n = fuzz_request(k, 1, (const uint8_t (*)[32])proof, np, NULL, 0, 2,
	    root, FUZZ_NOW - 10, NULL, out, sizeof(out));
	fuzz_seed(dir, "base-add-checkpoint", FLAG_BASE | FLAG_WITNESS, out,
	    n);
	memset(map, 0x5a, sizeof(map));
	n = fuzz_request(k, 1, (const uint8_t (*)[32])proof, np, ents + 1, 1,
	    2, root, FUZZ_NOW - 10, map, out, sizeof(out));
	fuzz_seed(dir, "base-bad-map", FLAG_BASE, out, n);
	/* size 1 again, another root: equivocation */
	n = fuzz_request(k, 1, NULL, 0, NULL, 0, 1, leaf[1], FUZZ_NOW - 10,
	    NULL, out, sizeof(out));
	fuzz_seed(dir, "base-equivocation", FLAG_BASE, out, n);
	free(e[1]);
}

/* fuzz_base: a validator that cosigned entry 0 (a block of size 1), its
 * registry holding it. */
static void
fuzz_make_base(EVP_PKEY *k)
{
	static char out[65536];
	struct vcore_entry ent;
	struct vcore_request req;
	struct vcore_answer *ans = calloc(1, sizeof(*ans));
	const struct vcore_ops ops = { fuzz_sign, fuzz_log_verify,
	    fuzz_stage, fuzz_abort, fuzz_base.reg, fuzz_map_root };
	size_t n;

	FUZZ_CHECK(ans != NULL);
	FUZZ_CHECK((fuzz_base_entry = fuzz_entry(k, 1, "admin", "admin")) !=
	    NULL);
	ent.text = fuzz_base_entry;
	ent.len = strlen(fuzz_base_entry);
	ledger_merkle_leaf_hash(ent.text, ent.len, fuzz_base_leaf);
	n = fuzz_request(k, 0, NULL, 0, &ent, 1, 1, fuzz_base_leaf,
	    FUZZ_BASE_TIME, NULL, out, sizeof(out));
	FUZZ_CHECK(fuzz_parse(out, n, &req) == 0);
	FUZZ_CHECK(vcore_add(&fuzz_base.st, &ops, fuzz_kid, &req, FUZZ_NOW,
	    ans) == 0 && ans->status == 200);
	FUZZ_CHECK(ledger_replay_commit(fuzz_base.reg) == 0);
	vcore_request_free(&req);
	free(ans);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const unsigned char seed[32] = "keybridge fuzz admin key seed..";
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    seed, sizeof(seed));
	char err[256];

	FUZZ_CHECK(k != NULL);
	memset(fuzz_kid, 0x17, sizeof(fuzz_kid));
	FUZZ_CHECK((fuzz_fresh.reg = ledger_replay_open(":memory:",
	    FUZZ_ORIGIN, err, sizeof(err))) != NULL);
	FUZZ_CHECK((fuzz_base.reg = ledger_replay_open(":memory:",
	    FUZZ_ORIGIN, err, sizeof(err))) != NULL);
	FUZZ_CHECK(vcore_state_init(&fuzz_fresh.st, VCORE_VALIDATOR,
	    "v1.fuzz", FUZZ_ORIGIN, 86400, 300) == 0);
	FUZZ_CHECK(vcore_state_init(&fuzz_base.st, VCORE_VALIDATOR,
	    "v1.fuzz", FUZZ_ORIGIN, 86400, 300) == 0);
	fuzz_make_base(k);
	if (getenv("FUZZ_VREQUEST_SEEDS") != NULL)
		fuzz_write_seeds(k, getenv("FUZZ_VREQUEST_SEEDS"));
	EVP_PKEY_free(k);
	return 0;
}
