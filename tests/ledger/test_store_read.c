/*
 * test_store_read.c: every row type written through a store and read
 * back through it comes back field for field, on SQLite and on
 * PostgreSQL alike (store_read.c reads them for both), and the counts
 * follow the rows; the heal's query (certs_unsigned) finds exactly the
 * current TBS entries of one account never kept signed.  Runs on PostgreSQL when KB_TEST_PG_URL names a
 * server (scripts/run-unit.sh starts one), each test in a fresh schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "ledger/ledger_int.h"
#include "ledger/store_sqlite_int.h"
#include "tests/ledger/db_fx.h"	/* the SQL, for its query plan */

#define KEY_ID "k0000000000000000000000000000000000000000000000000000000000000a"

struct backend {
	const char *name;
	const char *pg_url;	/* NULL: SQLite */
};

struct fx {
	const struct backend *be;
	char dir[FX_DIR_LEN], db[FX_DB_LEN], schema[FX_SCHEMA_LEN];
	struct ledger_store *s;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	f->be = *state;
	fx_db_new(f->be->pg_url, "store", f->dir, f->db, f->schema);
	f->s = ledger_store_open(f->db, LEDGER_STORE_CREATE |
	    LEDGER_STORE_ASYNC_OK, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("ledger_store_open(%s): %s", f->be->name, err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	f->s->ops->close(f->s);
	fx_db_free(f->be->pg_url, f->dir, f->schema);
	free(f);
	return 0;
}

static void
key_fill(struct ledger_key_info *k, const char *id, const char *name)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->key_id, sizeof(k->key_id), "%s", id);
	snprintf(k->account, sizeof(k->account), "admin");
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->profile, sizeof(k->profile), "server");
	snprintf(k->spki, sizeof(k->spki), "MFkwEwYHKoZIzj0CAQ==");
	k->ndns = 2;
	snprintf(k->dns[0], sizeof(k->dns[0]), "a.example");
	snprintf(k->dns[1], sizeof(k->dns[1]), "b.example");
	k->nip = 1;
	snprintf(k->ip[0], sizeof(k->ip[0]), "192.0.2.7");
	k->not_before = 1700000000;
	k->not_after = 1900000000;
	k->status = LEDGER_KEY_ACTIVE;
	k->registered_index = 7;
	k->ngroups = 2;
	snprintf(k->groups[0], sizeof(k->groups[0]), "cams");
	snprintf(k->groups[1], sizeof(k->groups[1]), "doors.lobby");
}

static int
key_copy(const struct ledger_key_info *k, void *arg)
{
	struct ledger_key_info *out = arg;

	*out = *k;
	return 1;
}

static int
cert_copy(const struct ledger_cert_info *c, void *arg)
{
	struct ledger_cert_info *out = arg;

	*out = *c;
	return 1;
}

static int
config_copy(const struct ledger_config_info *c, void *arg)
{
	struct ledger_config_info *out = arg;

	*out = *c;
	return 1;
}

/* Accounts, keys (with and without a CSR), certificates, configs and
 * pre-authorisations read back as written, field for field. */
static void
test_registry_rows_read_back_as_written(void **state)
{
	struct fx *f = *state;
	struct ledger_store *s = f->s;
	struct ledger_account_info a, ga;
	struct ledger_key_info k, gk;
	struct ledger_cert_info c, gc;
	struct ledger_config_info gcf;
	struct ledger_preauth_info p, gp;
	struct ledger_key_filter kf = { .status = "active" };
	char csr[64];

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "admin");
	snprintf(a.role, sizeof(a.role), "admin");
	a.threshold = 2;
	a.nkeys = 2;
	snprintf(a.keys[0], sizeof(a.keys[0]), "AAAA");
	snprintf(a.keys[1], sizeof(a.keys[1]), "BBBB");
	a.seq = 5;
	a.created_index = 3;
	key_fill(&k, KEY_ID, "web");
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "1f2e");
	snprintf(c.issuer, sizeof(c.issuer), "bridge");
	snprintf(c.key_id, sizeof(c.key_id), "%s", KEY_ID);
	snprintf(c.profile, sizeof(c.profile), "server");
	c.not_before = 1700000100;
	c.not_after = 1700086500;
	memset(c.cert_sha256, 'c', 64);
	c.issued_index = 9;
	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "00000000000000000000000000000001");
	snprintf(p.account, sizeof(p.account), "admin");
	snprintf(p.name, sizeof(p.name), "gen");
	snprintf(p.profile, sizeof(p.profile), "device");
	p.ndns = 1;
	snprintf(p.dns[0], sizeof(p.dns[0]), "d.example");
	p.nip = 2;
	snprintf(p.ip[0], sizeof(p.ip[0]), "2001:db8::1");
	snprintf(p.ip[1], sizeof(p.ip[1]), "198.51.100.2");
	p.not_before = 1700000200;
	p.not_after = 1700000300;
	p.expires = 1700000400;
	memset(p.secret_sha256, 'e', 64);
	p.ngroups = 1;
	snprintf(p.groups[0], sizeof(p.groups[0]), "cams");
	p.created_index = 11;

	assert_int_equal(s->ops->begin(s), 0);
	assert_int_equal(s->ops->account_put(s, &a), 0);
	assert_int_equal(s->ops->key_put(s, &k, "CSRDATA"), 0);
	key_fill(&gk, KEY_ID "b", "nocsr");
	assert_int_equal(s->ops->key_put(s, &gk, NULL), 0);
	assert_int_equal(s->ops->cert_put(s, &c), 0);
	assert_int_equal(s->ops->config_put(s, "grp", "v1", "abcd", -1, NULL,
	    12), 0);
	assert_int_equal(s->ops->preauth_put(s, &p), 0);
	assert_int_equal(s->ops->preauth_use(s, p.id, KEY_ID, 13), 0);
	assert_int_equal(s->ops->commit(s), 0);

	assert_int_equal(s->ops->account_get(s, "admin", &ga), 0);
	assert_memory_equal(&ga, &a, sizeof(a));
	assert_int_equal(s->ops->account_get(s, "nobody", &ga), 1);

	assert_int_equal(s->ops->key_get(s, KEY_ID, &gk, csr, sizeof(csr)), 0);
	k.has_csr = 1;
	assert_memory_equal(&gk, &k, sizeof(k));
	assert_string_equal(csr, "CSRDATA");
	assert_int_equal(s->ops->key_get(s, KEY_ID "b", &gk, NULL, 0), 0);
	assert_int_equal(gk.has_csr, 0);
	assert_int_equal(s->ops->keys(s, &kf, key_copy, &gk), 0);
	assert_string_equal(gk.key_id, KEY_ID);

	assert_int_equal(s->ops->cert_get(s, "1f2e", &gc), 0);
	assert_memory_equal(&gc, &c, sizeof(c));

	assert_int_equal(s->ops->configs(s, "grp", config_copy, &gcf), 0);
	assert_string_equal(gcf.version, "v1");
	assert_string_equal(gcf.sha256, "abcd");
	assert_int_equal(gcf.size, -1);
	assert_string_equal(gcf.file, "");
	assert_int_equal(gcf.index, 12);

	assert_int_equal(s->ops->preauth_get(s, p.id, &gp), 0);
	snprintf(p.used_key, sizeof(p.used_key), "%s", KEY_ID);
	p.used_index = 13;
	assert_memory_equal(&gp, &p, sizeof(p));
}

/* A key's revocation reaches its certificates as they are read, and the
 * counts move with the rows: keys, certificates, entries by type. */
static void
test_counts_and_key_revocation_follow_the_rows(void **state)
{
	struct fx *f = *state;
	struct ledger_store *s = f->s;
	struct ledger_key_info k, gk;
	struct ledger_cert_info c, gc;
	struct ledger_counts n;
	struct ledger_entry_info e;
	struct ledger_key_filter kf = { .status = "revoked" };

	key_fill(&k, KEY_ID, "web");
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "2a");
	snprintf(c.issuer, sizeof(c.issuer), "bridge");
	snprintf(c.key_id, sizeof(c.key_id), "%s", KEY_ID);
	snprintf(c.profile, sizeof(c.profile), "server");
	c.not_after = time(NULL) + 86400;
	memset(c.cert_sha256, 'c', 64);
	memset(&e, 0, sizeof(e));
	e.index = 0;
	e.type = LEDGER_KEY_REGISTER;
	snprintf(e.account, sizeof(e.account), "admin");
	e.seq = 1;
	e.text = "entry";
	e.len = 5;

	assert_int_equal(s->ops->begin(s), 0);
	assert_int_equal(s->ops->entry_put(s, &e), 0);
	assert_int_equal(s->ops->key_put(s, &k, NULL), 0);
	assert_int_equal(s->ops->cert_put(s, &c), 0);
	assert_int_equal(s->ops->commit(s), 0);
	assert_int_equal(s->ops->counts(s, &n), 0);
	assert_int_equal(n.entries, 1);
	assert_int_equal(n.by_type[LEDGER_KEY_REGISTER], 1);
	assert_int_equal(n.keys_active, 1);
	assert_int_equal(n.keys_revoked, 0);
	assert_int_equal(n.certs_good, 1);
	assert_int_equal(n.certs_revoked, 0);
	assert_int_equal(n.certs_expiring_30d, 1);

	assert_int_equal(s->ops->begin(s), 0);
	assert_int_equal(s->ops->key_revoke(s, KEY_ID, 1700000500, 1, 4), 0);
	assert_int_equal(s->ops->commit(s), 0);

	assert_int_equal(s->ops->cert_get(s, "2a", &gc), 0);
	assert_int_equal(gc.revoked, 0);
	assert_int_equal(gc.key_revoked, 1);
	assert_int_equal(gc.key_revoked_at, 1700000500);
	assert_int_equal(gc.key_reason, 1);
	assert_int_equal(s->ops->key_certs(s, KEY_ID, cert_copy, &gc), 0);
	assert_string_equal(gc.serial, "2a");
	assert_int_equal(s->ops->keys(s, &kf, key_copy, &gk), 0);
	assert_string_equal(gk.key_id, KEY_ID);
	assert_int_equal(gk.status, LEDGER_KEY_REVOKED);
	assert_int_equal(gk.revoked_index, 4);
	assert_int_equal(s->ops->counts(s, &n), 0);
	assert_int_equal(n.keys_active, 0);
	assert_int_equal(n.keys_revoked, 1);
	assert_int_equal(n.certs_good, 0);
	assert_int_equal(n.certs_revoked, 1);
	assert_int_equal(n.certs_expiring_30d, 0);
}

static int
entry_copy(const struct ledger_entry_info *e, void *arg)
{
	struct ledger_entry_info *out = arg;

	*out = *e;
	out->text = NULL;	/* borrowed for the call only */
	return strcmp(e->text, "hello") == 0 ? 1 : -1;
}

/* An entry and its block read back: leaf hash, ledger time, root and
 * checkpoint. */
static void
test_log_rows_read_back_as_written(void **state)
{
	struct fx *f = *state;
	struct ledger_store *s = f->s;
	struct ledger_entry_info e, ge;
	struct ledger_block_row b, gb;

	memset(&e, 0, sizeof(e));
	e.index = 0;
	e.block = 0;
	e.type = LEDGER_ACCOUNT_CREATE;
	snprintf(e.account, sizeof(e.account), "admin");
	e.seq = 1;
	memset(e.leaf_hash, 0xab, sizeof(e.leaf_hash));
	e.text = "hello";
	e.len = 5;
	memset(&b, 0, sizeof(b));
	b.height = 0;
	b.first = 0;
	b.size = 1;
	b.time = 1700000600;
	memset(b.root, 0xcd, sizeof(b.root));
	snprintf(b.checkpoint, sizeof(b.checkpoint), "origin\n1\nroot\n");

	assert_int_equal(s->ops->begin(s), 0);
	assert_int_equal(s->ops->entry_put(s, &e), 0);
	assert_int_equal(s->ops->block_put(s, &b), 0);
	assert_int_equal(s->ops->commit(s), 0);
	assert_int_equal(s->ops->entries(s, 0, 10, entry_copy, &ge), 0);
	assert_int_equal(ge.len, 5);
	assert_memory_equal(ge.leaf_hash, e.leaf_hash, LEDGER_HASH_LEN);
	assert_int_equal(ge.ledger_time, b.time);
	assert_int_equal(ge.type, LEDGER_ACCOUNT_CREATE);
	assert_string_equal(ge.account, "admin");
	assert_int_equal(s->ops->block_last(s, &gb), 0);
	assert_memory_equal(&gb, &b, sizeof(b));
}

/* certs_unsigned: one cert-issued row and its entry at index idx. */
static void
unsigned_row(struct ledger_store *s, const char *serial, uint64_t idx,
    const char *account, const char *sha256, time_t not_after)
{
	struct ledger_entry_info e;
	struct ledger_cert_info c;

	memset(&e, 0, sizeof(e));
	e.index = idx;
	e.type = LEDGER_CERT_ISSUED;
	snprintf(e.account, sizeof(e.account), "%s", account);
	e.seq = idx + 1;
	e.text = "x";
	e.len = 1;
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "%s", serial);
	snprintf(c.issuer, sizeof(c.issuer), "issuer");
	snprintf(c.key_id, sizeof(c.key_id), "k%s", serial);
	snprintf(c.profile, sizeof(c.profile), "device");
	snprintf(c.cert_sha256, sizeof(c.cert_sha256), "%s", sha256);
	c.not_before = 1700000000;
	c.not_after = not_after;
	c.issued_index = idx;
	assert_int_equal(s->ops->entry_put(s, &e), 0);
	assert_int_equal(s->ops->cert_put(s, &c), 0);
}

struct serials {
	char s[8][41];
	int n;
};

static int
serial_add(const struct ledger_cert_info *c, void *arg)
{
	struct serials *out = arg;

	assert_true(out->n < 8);
	snprintf(out->s[out->n++], sizeof(out->s[0]), "%s", c->serial);
	return 0;
}

/* The heal's query (bridge/heal.c) lists the bridge account's current
 * TBS certificates below the bound whose signed certificate was never
 * kept, oldest first, and none of the look-alikes: kept, revoked,
 * expired, a whole-certificate entry, another account's, at or above
 * the bound.  On SQLite it reads the index of current certificates, not
 * the whole table. */
static void
test_unsigned_tbs_certs_are_listed(void **state)
{
	struct fx *f = *state;
	struct ledger_store *s = f->s;
	struct serials got;
	time_t now = 1800000000, later = 1900000000;
	char hash[65];

	memset(hash, 'a', 64);
	hash[64] = '\0';
	assert_int_equal(s->ops->begin(s), 0);
	unsigned_row(s, "a1", 5, "bridge", "", later);	/* listed, 2nd */
	unsigned_row(s, "a0", 1, "bridge", "", later);	/* listed, 1st */
	unsigned_row(s, "b0", 2, "bridge", "", later);	/* kept */
	assert_int_equal(s->ops->cert_signed_put(s, "b0", "MAA=", hash), 0);
	unsigned_row(s, "c0", 3, "bridge", "", later);	/* revoked */
	assert_int_equal(s->ops->cert_revoke(s, "c0", now, 5, 4), 0);
	unsigned_row(s, "d0", 6, "bridge", "", now - 1);	/* expired */
	unsigned_row(s, "e0", 7, "bridge", hash, later);	/* whole cert */
	unsigned_row(s, "f0", 8, "admin", "", later);	/* another account */
	unsigned_row(s, "g0", 9, "bridge", "", later);	/* at the bound */
	assert_int_equal(s->ops->commit(s), 0);

	memset(&got, 0, sizeof(got));
	assert_int_equal(s->ops->certs_unsigned(s, "bridge", now, 9,
	    serial_add, &got), 0);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.s[0], "a0");
	assert_string_equal(got.s[1], "a1");
	memset(&got, 0, sizeof(got));	/* the bound: index 9 < 10 */
	assert_int_equal(s->ops->certs_unsigned(s, "bridge", now, 10,
	    serial_add, &got), 0);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.s[2], "g0");
	memset(&got, 0, sizeof(got));
	assert_int_equal(s->ops->certs_unsigned(s, "admin", now, 10,
	    serial_add, &got), 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.s[0], "f0");

	if (f->be->pg_url == NULL) {
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;
		char sql[4096], plan[2048] = "";
		size_t used = 0;

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s",
		    ss_stmt_sql[ST_CERTS_UNSIGNED]);
		assert_int_equal(sqlite3_open_v2(f->db, &db,
		    SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL),
		    SQLITE_OK);
		while (sqlite3_step(q) == SQLITE_ROW && used < sizeof(plan))
			used += (size_t)snprintf(plan + used, sizeof(plan) -
			    used, "%s;", (const char *)sqlite3_column_text(q,
			    3));
		sqlite3_finalize(q);
		sqlite3_close(db);
		if (strstr(plan, "USING INDEX certs_good_by_expiry") ==
		    NULL || strstr(plan, "SCAN c ") != NULL)
			fail_msg("the heal's query scans certs: %s", plan);
	}
}

#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, \
    (void *)be)

static int
run(const struct backend *be)
{
	const struct CMUnitTest tests[] = {
		T(test_registry_rows_read_back_as_written),
		T(test_counts_and_key_revocation_follow_the_rows),
		T(test_log_rows_read_back_as_written),
		T(test_unsigned_tbs_certs_are_listed),
	};
	char name[64];

	snprintf(name, sizeof(name), "ledger/store_read (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	struct backend sqlite = { "sqlite", NULL };
	struct backend pg = { "postgresql", getenv("KB_TEST_PG_URL") };
	int rc = run(&sqlite);

	if (pg.pg_url != NULL && pg.pg_url[0] != '\0')
		rc |= run(&pg);
	return rc;
}
