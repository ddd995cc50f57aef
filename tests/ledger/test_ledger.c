/*
 * test_ledger.c: the ledger around its rules (ledger/ledger.c and the
 * stores): submissions committed in groups, rows of a block read again
 * within it, groups that commit together or not at all, verify naming
 * what was edited behind the ledger's back, a truncated database, an old
 * schema migrated forward, a block no consensus sealed, and (PostgreSQL)
 * several writers sharing one tree.  On both storage backends
 * (rules_fx.h); KB_TEST_PG_WRITERS runs the writers' test alone, scaled
 * (tests/integration/test_pg_concurrency.sh).
 */
#include "rules_fx.h"

/* ---- group commit ------------------------------------------------------ */

static void
done_cb(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	int *ok = arg;

	if (st == LEDGER_OK && r != NULL && r->tree_size > r->index)
		(*ok)++;
}

/* The last checkpoint's status map root is the root of the map built
 * afresh from the stored registry (ledger_map_build): the writer's
 * per-block updates (ledger_map_update, which verify's replay shares)
 * left no leaf behind. */
static void
assert_map_matches_a_rebuild(struct fx *f)
{
	struct ledger_store *s;
	struct ledger_smt *m;
	uint8_t want[LEDGER_SMT_HASH], got[LEDGER_SMT_HASH];
	char cp[LEDGER_NOTE_MAX], err[256];
	uint64_t size;

	assert_int_equal(ledger_checkpoint(f->l, cp, sizeof(cp), &size), 0);
	assert_int_equal(ledger_checkpoint_map_root(cp, strlen(cp), got), 0);
	s = ledger_store_open(f->db, LEDGER_STORE_READONLY, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_non_null(m = ledger_map_build(s));
	ledger_smt_root(m, want);
	assert_memory_equal(got, want, LEDGER_SMT_HASH);
	ledger_smt_free(m);
	s->ops->close(s);
}

/* Many submissions queued at once land in few blocks (group commit), all
 * acknowledged, and the result verifies. */
static void
test_group_commit_batches_submissions(void **state)
{
	struct fx *f = *state;
	struct ledger_counts c;
	struct ledger_verify_report rep;
	enum { N = 200 };
	int ok = 0;

	assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);
	for (int i = 0; i < N; i++) {
		struct reg r;
		char *note;

		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		note = ledger_entry_body(LEDGER_KEY_REGISTER, "admin",
		    f->seq_admin++, time(NULL), TEST_ORIGIN, r.fl, 6);
		note = ledger_entry_sign(note, "admin", f->admin);
		assert_int_equal(ledger_submit(f->l, note, strlen(note),
		    done_cb, &ok), 0);
		free(note);
	}
	ledger_writer_stop(f->l);
	assert_int_equal(ok, N);
	assert_int_equal(ledger_size(f->l), 3 + N);
	assert_int_equal(ledger_counts(f->l, &c), 0);
	assert_true(c.blocks < 3 + N);		/* batched */
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
	assert_int_equal(rep.entries, 3 + N);
	assert_map_matches_a_rebuild(f);
}

struct block_results {
	int n;
	enum ledger_status st[8];
};

static void
block_results_cb(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct block_results *a = arg;

	if (a->n < 8)
		a->st[a->n++] = st;
}

/* Rows written by an entry are read afresh by the next entry of the same
 * block (the PostgreSQL store reads a block's rows ahead): a replayed seq
 * and a duplicate config version in one block are refused.  The four
 * submissions usually make one block; a few tries make sure one did. */
static void
test_rows_written_in_a_block_are_read_again(void **state)
{
	static const char *const vers[4] = { "v1", "v1", "v2", "v2" };
	struct fx *f = *state;
	struct ledger_counts c0, c1;
	struct ledger_field fl[3];
	struct block_results a;
	uint64_t seqs[4];
	char grp[32], *notes[4];
	int one_block = 0, i;

	for (int attempt = 0; attempt < 20 && !one_block; attempt++) {
		memset(&a, 0, sizeof(a));
		snprintf(grp, sizeof(grp), "sameblock%d", attempt);
		seqs[0] = seqs[1] = f->seq_admin;
		seqs[2] = f->seq_admin + 1;
		seqs[3] = f->seq_admin + 2;
		f->seq_admin += 2;
		for (i = 0; i < 4; i++) {
			fl[0] = (struct ledger_field){ "group", grp };
			fl[1] = (struct ledger_field){ "version", vers[i] };
			fl[2] = (struct ledger_field){ "sha256", i == 1 ?
			    "1111111111111111111111111111111111111111111111111111111111111111" :
			    "2222222222222222222222222222222222222222222222222222222222222222" };
			notes[i] = ledger_entry_sign(ledger_entry_body(
			    LEDGER_CONFIG_PUBLISH, "admin", seqs[i], time(NULL),
			    TEST_ORIGIN, fl, 3), "admin", f->admin);
			assert_non_null(notes[i]);
		}
		assert_int_equal(ledger_counts(f->l, &c0), 0);
		assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);
		for (i = 0; i < 4; i++)
			assert_int_equal(ledger_submit(f->l, notes[i],
			    strlen(notes[i]), block_results_cb, &a), 0);
		ledger_writer_stop(f->l);
		for (i = 0; i < 4; i++)
			free(notes[i]);
		assert_int_equal(a.n, 4);
		assert_int_equal(a.st[0], LEDGER_OK);
		assert_int_equal(a.st[1], LEDGER_ERR_SEQUENCE);
		assert_int_equal(a.st[2], LEDGER_OK);
		assert_int_equal(a.st[3], LEDGER_ERR_DUPLICATE_CONFIG);
		assert_int_equal(ledger_counts(f->l, &c1), 0);
		one_block = c1.blocks == c0.blocks + 1;
	}
	assert_true(one_block);
}

/* ---- one read transaction for several reads (EST18) -------------------- */

/* Submits a key-register of a new key and waits for its commit; its key
 * id into id. */
static void
register_one(struct fx *f, char id[LEDGER_KEYID_LEN + 1])
{
	struct reg r;
	char *note;
	int ok = 0;

	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	memcpy(id, r.id, LEDGER_KEYID_LEN + 1);
	note = ledger_entry_sign(ledger_entry_body(LEDGER_KEY_REGISTER,
	    "admin", f->seq_admin++, time(NULL), TEST_ORIGIN, r.fl, 6),
	    "admin", f->admin);
	assert_non_null(note);
	assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);
	assert_int_equal(ledger_submit(f->l, note, strlen(note), done_cb,
	    &ok), 0);
	ledger_writer_stop(f->l);
	free(note);
	assert_int_equal(ok, 1);
}

/* Reads between ledger_read_begin and ledger_read_end (nested) see one
 * state on SQLite, and the outermost end ends it: a later read sees the
 * writer's later commit (a transaction left open would hide it). */
static void
test_read_transaction_ends_and_sees_later_commits(void **state)
{
	struct fx *f = *state;
	struct ledger_key_info *k = malloc(sizeof(*k));
	char id1[LEDGER_KEYID_LEN + 1], id2[LEDGER_KEYID_LEN + 1];

	assert_non_null(k);
	register_one(f, id1);
	ledger_read_begin(f->l);
	ledger_read_begin(f->l);
	assert_int_equal(ledger_key_get(f->l, id1, k), 0);
	register_one(f, id2);
	/* SQLite: the snapshot began at the first read, before id2; each
	 * read on its own (PostgreSQL) sees it. */
	assert_int_equal(ledger_key_get(f->l, id2, k),
	    f->be->pg_url == NULL ? 1 : 0);
	ledger_read_end(f->l);
	assert_int_equal(ledger_key_get(f->l, id2, k),
	    f->be->pg_url == NULL ? 1 : 0);
	ledger_read_end(f->l);
	assert_int_equal(ledger_key_get(f->l, id2, k), 0);
	/* and a new pair reads the present again */
	ledger_read_begin(f->l);
	assert_int_equal(ledger_key_get(f->l, id1, k), 0);
	assert_int_equal(ledger_key_get(f->l, id2, k), 0);
	ledger_read_end(f->l);
	free(k);
}

/* ---- groups that commit together --------------------------------------- */

struct group_result {
	int calls;
	enum ledger_status st;
	struct ledger_receipt r;
};

static void
group_cb(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct group_result *g = arg;

	g->calls++;
	g->st = st;
	if (r != NULL)
		g->r = *r;
}

/* serverkeygen's two entries (the bridge's key-register under a
 * pre-authorisation, and the cert-issued) go as one group: when the
 * second is refused, the first is not kept either (no key, the slot still
 * unused), and the group succeeds whole once both are right.  One
 * callback per group. */
static void
test_group_commits_together_or_not_at_all(void **state)
{
	struct fx *f = *state;
	static const char id[] = "00112233445566778899aabbccddeeff";
	struct ledger_field pf[7], kf[7];
	struct ledger_key_info ki;
	struct ledger_preauth_info pa;
	struct ledger_verify_report rep;
	struct group_result g;
	struct reg r;
	struct cert c;
	char nb[21], na[21], ex[21], *notes[2];
	size_t lens[2];
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f), size;

	ledger_time_format(now - 60, nb);
	ledger_time_format(now + 86400, na);
	ledger_time_format(now + 3600, ex);
	pf[0] = (struct ledger_field){ "preauth-id", id };
	pf[1] = (struct ledger_field){ "name", "cam-1" };
	pf[2] = (struct ledger_field){ "profile", "device" };
	pf[3] = (struct ledger_field){ "not-before", nb };
	pf[4] = (struct ledger_field){ "not-after", na };
	pf[5] = (struct ledger_field){ "expires", ex };
	pf[6] = (struct ledger_field){ "secret-sha256", "aa00000000000000000000"
	    "00000000000000000000000000000000000000000a" };
	assert_int_equal(put(f, LEDGER_KEY_PREAUTH, "admin", f->seq_admin++,
	    now, &f->admin, 1, pf, 7, NULL), LEDGER_OK);
	reg_fields(&r, NULL, now - 60, now + 86400);
	memcpy(kf, r.fl, sizeof(r.fl));
	kf[6] = (struct ledger_field){ "preauth", id };
	assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);

	/* the certificate outlives the key's window: both refused */
	size = ledger_size(f->l);
	notes[0] = signed_note(LEDGER_KEY_REGISTER, "bridge", bseq, now,
	    f->bridge, kf, 7);
	cert_fields(&c, "91", r.id, now, now + 2 * 86400);
	notes[1] = signed_note(LEDGER_CERT_ISSUED, "bridge", bseq + 1, now,
	    f->bridge, c.fl, 7);
	lens[0] = strlen(notes[0]);
	lens[1] = strlen(notes[1]);
	memset(&g, 0, sizeof(g));
	assert_int_equal(ledger_submit_group(f->l, (const char *const *)notes,
	    lens, 2, group_cb, &g), 0);
	while (g.calls == 0) {
		usleep(1000);
		ledger_drain(f->l);
	}
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.st, LEDGER_ERR_WINDOW);
	assert_int_equal(ledger_size(f->l), size);
	assert_int_equal(ledger_key_get(f->l, r.id, &ki), 1);
	assert_int_equal(ledger_preauth_get(f->l, id, &pa), 0);
	assert_string_equal(pa.used_key, "");
	free(notes[1]);

	/* right: both committed, in order, in one block; the slot used */
	cert_fields(&c, "91", r.id, now, now + 3600);
	notes[1] = signed_note(LEDGER_CERT_ISSUED, "bridge", bseq + 1, now,
	    f->bridge, c.fl, 7);
	lens[1] = strlen(notes[1]);
	memset(&g, 0, sizeof(g));
	assert_int_equal(ledger_submit_group(f->l, (const char *const *)notes,
	    lens, 2, group_cb, &g), 0);
	ledger_writer_stop(f->l);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.st, LEDGER_OK);
	assert_int_equal(g.r.index, size + 1);
	assert_int_equal(g.r.tree_size, size + 2);
	assert_int_equal(ledger_key_get(f->l, r.id, &ki), 0);
	assert_true(cert_good(f, "91"));
	assert_int_equal(ledger_preauth_get(f->l, id, &pa), 0);
	assert_string_equal(pa.used_key, r.id);
	/* an empty group is not taken */
	assert_int_equal(ledger_submit_group(f->l, (const char *const *)notes,
	    lens, 0, group_cb, &g), -1);
	free(notes[0]);
	free(notes[1]);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
	/* the key and its certificate, set in one block */
	assert_map_matches_a_rebuild(f);
}

/* ---- verify finds what was edited -------------------------------------- */

static void
test_verify_names_the_tampered_entry(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct reg r;

	for (int i = 0; i < 5; i++) {
		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	}
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
	/* a wrong validator key: every checkpoint fails */
	assert_int_equal(ledger_verify(f->db, "x+00000000+AQ", &rep, NULL,
	    NULL), 0);
	assert_false(rep.ok);
	/* change one byte of entry 5 (and its stored hash, to hide it) */
	db_exec(f, "UPDATE entries SET data = CAST(replace(CAST(data AS "
	    "TEXT), 'cam-1', 'cam-9') AS BLOB) WHERE idx = 5",
	    "UPDATE entries SET data = convert_to(replace(convert_from(data, "
	    "'UTF8'), 'cam-1', 'cam-9'), 'UTF8') WHERE idx = 5");
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_int_equal(rep.bad_index, 5);
	assert_non_null(strstr(rep.what, "entry 5"));
	db_exec(f, "UPDATE entries SET leaf_hash = zeroblob(32) WHERE idx = 5",
	    "UPDATE entries SET leaf_hash = decode(repeat('00', 32), 'hex') "
	    "WHERE idx = 5");
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_int_equal(rep.bad_index, 5);
}

static void
test_verify_finds_a_missing_entry_and_edited_state(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct reg r;

	for (int i = 0; i < 3; i++) {
		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	}
	db_exec(f, "UPDATE keys SET status = 1, name = 'evil'",
	    "UPDATE keys SET status = 1, name = 'evil'");
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_non_null(strstr(rep.what, "keys"));
	db_exec(f, "DELETE FROM entries WHERE idx = 4",
	    "DELETE FROM entries WHERE idx = 4");
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_int_equal(rep.bad_index, 4);
}

/* verify walks the configs table in pages ordered by (group, version),
 * past the page size, and names an edited row by its group and version. */
static void
test_verify_names_an_edited_config_row(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct ledger_field fl[3];
	char grp[16], ver[16];
	int i;

	for (i = 0; i < 300; i++) {		/* more than one page */
		snprintf(grp, sizeof(grp), "g%d", i % 3);
		snprintf(ver, sizeof(ver), "v%03d", i);
		fl[0] = (struct ledger_field){ "group", grp };
		fl[1] = (struct ledger_field){ "version", ver };
		fl[2] = (struct ledger_field){ "sha256", "2222222222222222222222"
		    "222222222222222222222222222222222222222222" };
		assert_int_equal(put(f, LEDGER_CONFIG_PUBLISH, "admin",
		    f->seq_admin++, time(NULL), &f->admin, 1, fl, 3, NULL),
		    LEDGER_OK);
	}
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
	db_exec(f, "UPDATE configs SET sha256 = '3333333333333333333333333333"
	    "333333333333333333333333333333333333' WHERE grp = 'g2' AND"
	    " version = 'v299'", "UPDATE configs SET sha256 = '3333333333333"
	    "333333333333333333333333333333333333333333333333333' WHERE grp ="
	    " 'g2' AND version = 'v299'");
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_non_null(strstr(rep.what, "configs"));
	assert_non_null(strstr(rep.what, "g2,v299"));
}

/* config-publish with the blob store's optional media-type and note
 * fields appends and replays beside one without them (an older ledger's
 * form); a note with a space (not percent-encoded) is malformed. */
static void
test_config_publish_media_type_and_note_are_optional(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct ledger_field fl[6];
	static const char sha[] = "2222222222222222222222222222222222222222"
	    "222222222222222222222222";

	fl[0] = (struct ledger_field){ "group", "cams" };
	fl[1] = (struct ledger_field){ "version", "1" };
	fl[2] = (struct ledger_field){ "sha256", sha };
	assert_int_equal(put(f, LEDGER_CONFIG_PUBLISH, "admin",
	    f->seq_admin++, time(NULL), &f->admin, 1, fl, 3, NULL), LEDGER_OK);
	fl[1] = (struct ledger_field){ "version", "2" };
	fl[3] = (struct ledger_field){ "size", "12" };
	fl[4] = (struct ledger_field){ "media-type", "text/plain" };
	fl[5] = (struct ledger_field){ "note", "level%20two,%25" };
	assert_int_equal(put(f, LEDGER_CONFIG_PUBLISH, "admin",
	    f->seq_admin++, time(NULL), &f->admin, 1, fl, 6, NULL), LEDGER_OK);
	fl[1] = (struct ledger_field){ "version", "3" };
	fl[5] = (struct ledger_field){ "note", "level two" };
	assert_int_equal(put(f, LEDGER_CONFIG_PUBLISH, "admin",
	    f->seq_admin, time(NULL), &f->admin, 1, fl, 6, NULL),
	    LEDGER_ERR_MALFORMED);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
}

static void
test_truncated_database_is_reported_not_crashed_on(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct reg r;
	char cmd[1400], copy[160];
	struct stat st;

	for (int i = 0; i < 50; i++) {
		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	}
	ledger_close(f->l);	/* checkpoint the WAL into the file */
	f->l = NULL;
	if (f->be->pg_url != NULL) {
		/* PostgreSQL's files are the server's: lose a table instead. */
		db_exec(f, NULL, "DROP TABLE blocks");
		assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL,
		    NULL), 0);
		assert_false(rep.ok);
		assert_non_null(strstr(rep.what, "blocks"));
		return;
	}
	snprintf(copy, sizeof(copy), "%s/copy.db", f->dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", f->db, copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(stat(copy, &st), 0);
	assert_true(st.st_size > 8192);
	assert_int_equal(truncate(copy, st.st_size / 2), 0);
	assert_int_equal(ledger_verify(copy, f->vkey, &rep, NULL, NULL), 0);
	assert_false(rep.ok);
	assert_true(strlen(rep.what) > 0);
}

/* ---- schema and consensus ---------------------------------------------- */

/* A schema-1 database (before pre-authorisations, the CRL's index and the
 * kept counts) is migrated forward when opened for writing, keeping
 * everything; the counts are seeded from the rows and then kept. */
static void
test_old_schema_is_migrated_forward(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct ledger_config lc;
	struct ledger_counts c;
	char err[256];
	struct reg r;

	ledger_close(f->l);
	f->l = NULL;
	db_exec(f, "DROP TABLE certs_signed; ALTER TABLE keys DROP COLUMN groups; "
	    "DROP TABLE preauths; DROP INDEX certs_revoked; "
	    "DROP TABLE counters; DROP TRIGGER count_entries; "
	    "DROP TRIGGER IF EXISTS count_blocks; DROP TRIGGER count_keys; "
	    "DROP TRIGGER count_key_revoked; DROP TRIGGER count_certs; "
	    "DROP TRIGGER count_cert_revoked; "
	    "DROP INDEX certs_good_by_expiry; "
	    "UPDATE meta SET v = '1' WHERE k = 'schema'",
	    /* the triggers go with their functions */
	    "DROP TABLE certs_signed; ALTER TABLE keys DROP COLUMN groups; "
	    "DROP TABLE preauths; DROP INDEX certs_revoked; "
	    "DROP TABLE counters; DROP FUNCTION IF EXISTS count_entries, "
	    "count_blocks, count_keys, count_key_revoked, count_certs, "
	    "count_cert_revoked CASCADE; DROP INDEX certs_good_by_expiry; "
	    "UPDATE meta SET v = '1' WHERE k = 'schema'");
	memset(&lc, 0, sizeof(lc));
	lc.db = f->db;
	lc.origin = TEST_ORIGIN;
	/* read-only cannot migrate: a clear refusal */
	assert_null(ledger_open(&lc, err, sizeof(err)));
	assert_non_null(strstr(err, "schema"));
	lc.consensus = f->cons;
	f->l = ledger_open(&lc, err, sizeof(err));
	assert_non_null(f->l);
	assert_int_equal(ledger_size(f->l), 3);
	assert_int_equal(ledger_counts(f->l, &c), 0);
	assert_int_equal(c.entries, 3);
	assert_int_equal(c.by_type[LEDGER_ACCOUNT_CREATE], 3);
	assert_int_equal(c.keys_active, 0);
	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	assert_int_equal(ledger_counts(f->l, &c), 0);
	assert_int_equal(c.entries, 4);
	assert_int_equal(c.keys_active, 1);
	assert_int_equal(ledger_preauth_get(f->l,
	    "00000000000000000000000000000000",
	    &(struct ledger_preauth_info){ 0 }), 1);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
}

/* A consensus that never reaches a quorum (a PBFT with too few live
 * validators, say): nothing may be acknowledged or kept. */
static time_t
noq_time(struct ledger_consensus *c, time_t last)
{
	return time(NULL) < last ? last : time(NULL);
}

static int
noq_seal(struct ledger_consensus *c, const struct ledger_seal *sl,
    char *note, size_t len)
{
	return -1;
}

/* A block is committed before its checkpoint is signed (a signer that
 * keeps promises about what it signed is never asked for a tree the
 * database may lose).  When the signature fails the entries are stored
 * but not acknowledged, there is no checkpoint, and nothing is built on
 * that block until a working consensus signs it (the same size and
 * root); then the ledger goes on and verifies. */
static void
test_unsigned_block_is_not_acknowledged_and_waits_for_its_signature(
    void **state)
{
	struct fx *f = *state;
	static const struct ledger_consensus_ops noq_ops = {
		.name = "noquorum", .block_time = noq_time, .seal = noq_seal,
	};
	struct ledger_consensus noq = { &noq_ops };
	struct ledger_config lc;
	struct ledger_verify_report rep;
	struct ledger *good = f->l;
	struct reg r, r2;
	char err[256], note[1024];
	uint64_t size;

	memset(&lc, 0, sizeof(lc));
	lc.db = f->db;
	lc.origin = TEST_ORIGIN;
	lc.consensus = &noq;
	ledger_close(good);
	f->l = ledger_open(&lc, err, sizeof(err));
	assert_non_null(f->l);
	reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_ERR_STORAGE);
	f->seq_admin++;			/* stored: its seq is used */
	assert_int_equal(ledger_size(f->l), 4);
	assert_int_equal(ledger_checkpoint(f->l, note, sizeof(note), &size),
	    -1);
	/* nothing is built on the unsigned block */
	reg_fields(&r2, NULL, time(NULL), time(NULL) + 86400);
	assert_int_equal(register_as_admin(f, &r2), LEDGER_ERR_STORAGE);
	assert_int_equal(ledger_size(f->l), 4);
	assert_int_equal(ledger_key_get(f->l, r2.id,
	    &(struct ledger_key_info){ 0 }), 1);
	ledger_close(f->l);
	/* with a working consensus the stored block is signed first */
	lc.consensus = f->cons;
	f->l = ledger_open(&lc, err, sizeof(err));
	assert_non_null(f->l);
	assert_int_equal(register_as_admin(f, &r2), LEDGER_OK);
	assert_int_equal(ledger_size(f->l), 5);
	assert_int_equal(ledger_checkpoint(f->l, note, sizeof(note), &size),
	    0);
	assert_int_equal(size, 5);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	assert_true(rep.ok);
}

/* ---- several writers on one database ----------------------------------- */

/* Queues n key registrations signed by account `as` (key k, seqs from
 * *seq on) on ledger l; ok counts the acknowledged ones. */
static void
submit_regs(struct ledger *l, const char *as, EVP_PKEY *k, uint64_t *seq,
    int n, int *ok)
{
	for (int i = 0; i < n; i++) {
		struct reg r;
		char *note;

		reg_fields(&r, NULL, time(NULL), time(NULL) + 86400);
		note = ledger_entry_body(LEDGER_KEY_REGISTER, as, (*seq)++,
		    time(NULL), TEST_ORIGIN, r.fl, 6);
		note = ledger_entry_sign(note, as, k);
		assert_int_equal(ledger_submit(l, note, strlen(note), done_cb,
		    ok), 0);
		free(note);
	}
}

static uint64_t
ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Reads a positive count from the environment, or def. */
static int
env_count(const char *name, int def, int max)
{
	const char *v = getenv(name);
	int n = v != NULL ? atoi(v) : 0;

	return n > 0 && n <= max ? n : def;
}

#define WRITERS_MAX 16

/*
 * PostgreSQL: several ledgers on one database (several bridges: each its
 * writer, follower and connections) append at once, each for an account
 * of its own.  Every entry is acknowledged and lands in one tree without
 * a gap or a fork, each ledger sees the others' entries within a second
 * without writing (its follower), their roots agree and the whole
 * verifies.  2 writers x 300 entries here; KB_TEST_PG_WRITERS and
 * KB_TEST_PG_ENTRIES scale it (test_pg_concurrency.sh: 4 x 2,500).
 */
static void
test_writers_share_one_tree(void **state)
{
	struct fx *f = *state;
	struct ledger_config lc;
	struct ledger_verify_report rep;
	struct ledger *w[WRITERS_MAX];
	EVP_PKEY *k[WRITERS_MAX];
	struct ledger_field fl[4];
	uint8_t r0[LEDGER_HASH_LEN], ri[LEDGER_HASH_LEN];
	uint64_t t0, total, seq[WRITERS_MAX];
	int nw = env_count("KB_TEST_PG_WRITERS", 2, WRITERS_MAX);
	int per = env_count("KB_TEST_PG_ENTRIES", 300, 1000000);
	char err[256], name[WRITERS_MAX][16], pub[WRITERS_MAX][256];
	int ok = 0;

	for (int i = 0; i < nw; i++) {
		k[i] = ledger_key_generate("ed25519");
		b64key(k[i], pub[i]);
		snprintf(name[i], sizeof(name[i]), "w%d", i);
		fl[0] = (struct ledger_field){ "name", name[i] };
		fl[1] = (struct ledger_field){ "role", "admin" };
		fl[2] = (struct ledger_field){ "threshold", "1" };
		fl[3] = (struct ledger_field){ "pubkey", pub[i] };
		assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin",
		    f->seq_admin++, time(NULL), &f->admin, 1, fl, 4, NULL),
		    LEDGER_OK);
		seq[i] = 1;
	}
	memset(&lc, 0, sizeof(lc));
	lc.db = f->db;
	lc.origin = TEST_ORIGIN;
	lc.consensus = f->cons;
	w[0] = f->l;
	for (int i = 1; i < nw; i++)
		if ((w[i] = ledger_open(&lc, err, sizeof(err))) == NULL)
			fail_msg("ledger %d: %s", i, err);
	for (int i = 0; i < nw; i++)
		assert_int_equal(ledger_writer_start(w[i], NULL, NULL), 0);
	/* interleaved, in rounds, so that the writers overlap */
	for (int r = 0; r < 10; r++)
		for (int i = 0; i < nw; i++)
			submit_regs(w[i], name[i], k[i], &seq[i],
			    per / 10 + (r < per % 10), &ok);
	total = 3 + (uint64_t)nw + (uint64_t)nw * (uint64_t)per;
	for (t0 = ms_now(); ok < nw * per && ms_now() - t0 < 600000;
	    usleep(5000))
		for (int i = 0; i < nw; i++)
			ledger_drain(w[i]);
	assert_int_equal(ok, nw * per);
	/* the last blocks reach every ledger through its follower */
	for (t0 = ms_now(); ms_now() - t0 < 1000; usleep(5000)) {
		int behind = 0;

		for (int i = 0; i < nw; i++)
			behind |= ledger_size(w[i]) != total;
		if (!behind)
			break;
	}
	assert_int_equal(ledger_root(w[0], total, r0), 0);
	for (int i = 0; i < nw; i++) {
		assert_int_equal(ledger_size(w[i]), total);
		assert_int_equal(ledger_root(w[i], total, ri), 0);
		assert_memory_equal(r0, ri, LEDGER_HASH_LEN);
	}
	for (int i = 1; i < nw; i++)
		ledger_close(w[i]);
	ledger_writer_stop(f->l);
	for (int i = 0; i < nw; i++)
		EVP_PKEY_free(k[i]);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
	assert_int_equal(rep.entries, total);
}

#define LEDGER_TESTS \
	T(test_group_commit_batches_submissions), \
	T(test_rows_written_in_a_block_are_read_again), \
	T(test_read_transaction_ends_and_sees_later_commits), \
	T(test_group_commits_together_or_not_at_all), \
	T(test_verify_names_the_tampered_entry), \
	T(test_verify_finds_a_missing_entry_and_edited_state), \
	T(test_verify_names_an_edited_config_row), \
	T(test_config_publish_media_type_and_note_are_optional), \
	T(test_truncated_database_is_reported_not_crashed_on), \
	T(test_old_schema_is_migrated_forward), \
	T(test_unsigned_block_is_not_acknowledged_and_waits_for_its_signature)

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = { LEDGER_TESTS };
	const struct CMUnitTest pg_tests[] = {
		T(test_writers_share_one_tree),
	};
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "ledger/ledger (%s)", be->name);
	rc = cmocka_run_group_tests_name(name, tests, NULL, NULL);
	/* Several writers on one database: PostgreSQL only. */
	if (be->pg_url != NULL)
		rc |= cmocka_run_group_tests_name("ledger/ledger (postgresql, "
		    "several bridges)", pg_tests, NULL, NULL);
	return rc;
}

/* test_pg_concurrency.sh: the writers' test alone, scaled by
 * KB_TEST_PG_WRITERS and KB_TEST_PG_ENTRIES. */
static int
run_scaled(const struct backend *be)
{
	const struct CMUnitTest writers[] = {
		T(test_writers_share_one_tree),
	};

	return cmocka_run_group_tests_name("ledger/ledger (postgresql, "
	    "several bridges, scaled)", writers, NULL, NULL);
}

int
main(void)
{
	return fx_main("test_ledger", run_suite, run_scaled);
}
