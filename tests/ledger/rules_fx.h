/*
 * rules_fx.h: the fixture the ledger's rule suites share (test_rules.c,
 * test_rules_keys.c, test_rules_certs.c, test_ledger.c): a fresh ledger
 * per test on either storage backend (a real SQLite file in a temporary
 * directory, or a real PostgreSQL server in a fresh schema of its own),
 * with the accounts admin, ops (2-of-3) and other; the helpers that build
 * and sign entries; and fx_main(), which runs a binary's suite on both
 * backends.  Included by one .c file per binary: its functions are static
 * inline, so a binary that does not use one still builds with -Werror.
 * rules_fx.c (in the fixtures' archive) holds the TBS fixture that
 * test_rules_tbs.c and tests/bridge/ca/test_admit.c share.
 */
#ifndef KEYBRIDGE_TESTS_LEDGER_RULES_FX_H
#define KEYBRIDGE_TESTS_LEDGER_RULES_FX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ledger/ledger_int.h"
#include "tests/ledger/db_fx.h"
#include "tests/ledger/ledger_fx.h"

#define TEST_ORIGIN "test/ledger"	/* the origin of every test ledger */

/* The backend a group of tests runs on (the tests' prestate). */
struct backend {
	const char *name;
	const char *pg_url;	/* NULL: SQLite */
};

struct fx {
	const struct backend *be;
	char dir[FX_DIR_LEN], db[FX_DB_LEN], vkey[256];
	char schema[FX_SCHEMA_LEN];	/* PostgreSQL: this test's schema */
	EVP_PKEY *node, *admin, *ops[3], *other, *bridge;
	struct ledger_consensus *cons;
	struct ledger *l;
	uint64_t seq_admin, seq_ops, seq_other;
};

/* Signs and appends an entry; returns the status. */
static inline enum ledger_status
put(struct fx *f, enum ledger_entry_type t, const char *as, uint64_t seq,
    time_t when, EVP_PKEY **keys, int nkeys, const struct ledger_field *fl,
    size_t n, struct ledger_receipt *r)
{
	struct ledger_receipt rr;
	enum ledger_status st;
	char why[256], *note = ledger_entry_body(t, as, seq, when, TEST_ORIGIN, fl, n);

	for (int i = 0; i < nkeys; i++)
		note = ledger_entry_sign(note, as, keys[i]);
	assert_non_null(note);
	st = ledger_append(f->l, note, strlen(note), r != NULL ? r : &rr, why,
	    sizeof(why));
	free(note);
	return st;
}

static inline void
b64key(EVP_PKEY *k, char *out)
{
	assert_int_equal(ledger_pubkey_to_b64(k, out, 256), 0);
}

static inline int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ledger_field fl[6];
	char k[4][256];

	f->be = *state;
	fx_db_new(f->be->pg_url, "test", f->dir, f->db, f->schema);
	f->node = ledger_key_generate("ed25519");
	f->admin = ledger_key_generate("ed25519");
	f->other = ledger_key_generate("ec-p256");
	for (int i = 0; i < 3; i++)
		f->ops[i] = ledger_key_generate(i == 1 ? "ec-p256" : "ed25519");
	assert_int_equal(ledger_key_vkey(f->node, "test-node", f->vkey,
	    sizeof(f->vkey)), 0);
	f->l = fx_ledger_solo(f->be->name, f->db, TEST_ORIGIN, f->node,
	    "test-node", 0, &f->cons);

	b64key(f->admin, k[0]);
	fl[0] = (struct ledger_field){ "name", "admin" };
	fl[1] = (struct ledger_field){ "role", "admin" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k[0] };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", 1, time(NULL),
	    &f->admin, 1, fl, 4, NULL), LEDGER_OK);
	/* ops: a 2-of-3 multi-signature admin account (Ed25519 + P-256). */
	for (int i = 0; i < 3; i++)
		b64key(f->ops[i], k[i + 1]);
	fl[0] = (struct ledger_field){ "name", "ops" };
	fl[2] = (struct ledger_field){ "threshold", "2" };
	fl[3] = (struct ledger_field){ "pubkey", k[1] };
	fl[4] = (struct ledger_field){ "pubkey", k[2] };
	fl[5] = (struct ledger_field){ "pubkey", k[3] };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", 2, time(NULL),
	    &f->admin, 1, fl, 6, NULL), LEDGER_OK);
	b64key(f->other, k[0]);
	fl[0] = (struct ledger_field){ "name", "other" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k[0] };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", 3, time(NULL),
	    &f->admin, 1, fl, 4, NULL), LEDGER_OK);
	f->seq_admin = 4;
	f->bridge = ledger_key_generate("ed25519");
	f->seq_ops = 1;
	f->seq_other = 1;
	*state = f;
	return 0;
}

static inline int
teardown(void **state)
{
	struct fx *f = *state;

	ledger_close(f->l);
	ledger_consensus_free(f->cons);
	EVP_PKEY_free(f->node);
	EVP_PKEY_free(f->admin);
	EVP_PKEY_free(f->other);
	EVP_PKEY_free(f->bridge);
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(f->ops[i]);
	fx_db_free(f->be->pg_url, f->dir, f->schema);
	free(f);
	return 0;
}

/* Fields of a key-register entry for a fresh key; id gets its key id. */
struct reg {
	char spki[256], id[LEDGER_KEYID_LEN + 1], nb[21], na[21];
	struct ledger_field fl[6];
};

static inline void
reg_fields(struct reg *r, EVP_PKEY *k, time_t nb, time_t na)
{
	uint8_t der[256];
	int len;

	if (k == NULL)
		k = ledger_key_generate("ec-p256");
	else
		EVP_PKEY_up_ref(k);
	b64key(k, r->spki);
	len = ledger_b64_decode(r->spki, strlen(r->spki), der, sizeof(der));
	assert_true(len > 0);
	ledger_spki_key_id(der, (size_t)len, r->id);
	EVP_PKEY_free(k);
	ledger_time_format(nb, r->nb);
	ledger_time_format(na, r->na);
	r->fl[0] = (struct ledger_field){ "key-id", r->id };
	r->fl[1] = (struct ledger_field){ "spki", r->spki };
	r->fl[2] = (struct ledger_field){ "name", "cam-1" };
	r->fl[3] = (struct ledger_field){ "profile", "device" };
	r->fl[4] = (struct ledger_field){ "not-before", r->nb };
	r->fl[5] = (struct ledger_field){ "not-after", r->na };
}

static inline enum ledger_status
register_as_admin(struct fx *f, struct reg *r)
{
	enum ledger_status st = put(f, LEDGER_KEY_REGISTER, "admin",
	    f->seq_admin, time(NULL), &f->admin, 1, r->fl, 6, NULL);

	if (st == LEDGER_OK)
		f->seq_admin++;
	return st;
}

/* Edits the test's database behind the ledger's back: sqlite on SQLite,
 * pg on PostgreSQL (their dialects differ). */
static inline void
db_exec(struct fx *f, const char *sqlite, const char *pg)
{
	fx_db_exec(f->be->pg_url, f->db, sqlite, pg);
}

/* ---- certificates ------------------------------------------------------ */

/* Creates the bridge account (role bridge); returns its next seq. */
static inline uint64_t
make_bridge(struct fx *f)
{
	struct ledger_field fl[4];
	char bk[256];

	b64key(f->bridge, bk);
	fl[0] = (struct ledger_field){ "name", "bridge" };
	fl[1] = (struct ledger_field){ "role", "bridge" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", bk };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", f->seq_admin++,
	    time(NULL), &f->admin, 1, fl, 4, NULL), LEDGER_OK);
	return 1;
}

/* Fields of a cert-issued entry for key id, valid [nb, na). */
struct cert {
	char nb[21], na[21], serial[41];
	struct ledger_field fl[8];	/* 7, and 8 with cert_supersedes */
};

static inline void
cert_fields(struct cert *c, const char *serial, const char *key_id,
    time_t nb, time_t na)
{
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	ledger_time_format(nb, c->nb);
	ledger_time_format(na, c->na);
	c->fl[0] = (struct ledger_field){ "serial", c->serial };
	c->fl[1] = (struct ledger_field){ "issuer", "issuing-1" };
	c->fl[2] = (struct ledger_field){ "key-id", key_id };
	c->fl[3] = (struct ledger_field){ "profile", "device" };
	c->fl[4] = (struct ledger_field){ "not-before", c->nb };
	c->fl[5] = (struct ledger_field){ "not-after", c->na };
	c->fl[6] = (struct ledger_field){ "cert-sha256", key_id };
}

/* Makes c name the certificate it supersedes (its 8th field). */
static inline void
cert_supersedes(struct cert *c, const char *serial)
{
	c->fl[7] = (struct ledger_field){ "supersedes", serial };
}

/* 1 when serial is recorded and good (neither it nor its key revoked). */
static inline int
cert_good(struct fx *f, const char *serial)
{
	struct ledger_cert_info ci;
	time_t at;
	int reason;

	if (ledger_cert_get(f->l, serial, &ci) != 0)
		return 0;
	return !ledger_cert_revoked(&ci, &at, &reason);
}

/* A signed note of account `as` (malloc'd). */
static inline char *
signed_note(enum ledger_entry_type t, const char *as, uint64_t seq,
    time_t when, EVP_PKEY *key, const struct ledger_field *fl, size_t n)
{
	/* entries from the wave-2 cut name the ledger's origin */
	char *note = ledger_entry_body(t, as, seq, when,
	    when >= LEDGER_RULES_V2_TIME ? TEST_ORIGIN : NULL, fl, n);

	note = ledger_entry_sign(note, as, key);
	assert_non_null(note);
	return note;
}

/* ---- running a suite on both backends ---------------------------------- */

/* A test of fn on the backend `be` in scope, each in a fresh ledger. */
/* ---- rules_fx.c: cert-issued entries that carry a TBS ------------------- */

#define FX_TBS_URL "http://127.0.0.1:1"	/* the OCSP, AIA and CRL URLs */

/* A test issuing CA certificate for key: a subject key identifier (its
 * issuer id), CA:TRUE.  The caller frees it. */
X509 *fx_tbs_ca(EVP_PKEY *key);

/* The fields of a cert-issued entry carrying the TBS issue_build makes
 * under ca for key k (key id key_id; the key registered for [now - 60,
 * now + 86400)): name cn, profile (an enum est_profile), one DNS name or
 * NULL.  fl[0..7): serial, issuer, key-id, profile ("device"; a test
 * may change it), not-before, not-after, tbs; der[0..len) the TBS. */
struct fx_tbs {
	char serial[41], issuer[65], nb[21], na[21], b64[4096];
	uint8_t der[4096];
	size_t len;
	struct ledger_field fl[8];
};
void fx_tbs_fields(struct fx_tbs *t, X509 *ca, EVP_PKEY *k,
    const char *key_id, const char *cn, int profile, const char *dns,
    time_t now);

#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, \
	(void *)be)

/* One binary's tests on one backend; returns cmocka's result. */
typedef int (*fx_suite_fn)(const struct backend *be);

/*
 * The whole suite once per backend: SQLite always, PostgreSQL when
 * KB_TEST_PG_URL is set (scripts/run-unit.sh sets it).  The PostgreSQL
 * group is part of the suite: without a server the binary fails rather
 * than passing on SQLite alone, unless KB_TEST_SQLITE_ONLY is set.  With
 * KB_TEST_PG_WRITERS set, a binary that has a scaled run (scaled not
 * NULL: test_ledger's writers, for test_pg_concurrency.sh) runs it alone.
 */
static inline int
fx_main(const char *prog, fx_suite_fn suite, fx_suite_fn scaled)
{
	static const struct backend sqlite = { "sqlite", NULL };
	static struct backend pg = { "postgresql", NULL };
	int rc;

	pg.pg_url = getenv("KB_TEST_PG_URL");
	if (pg.pg_url == NULL || pg.pg_url[0] == '\0') {
		if (getenv("KB_TEST_SQLITE_ONLY") != NULL)
			return suite(&sqlite);
		fprintf(stderr, "%s: KB_TEST_PG_URL is not set, so the "
		    "PostgreSQL group cannot run (scripts/run-unit.sh starts a "
		    "server; KB_TEST_SQLITE_ONLY=1 runs SQLite alone)\n", prog);
		return 1;
	}
	if (scaled != NULL && getenv("KB_TEST_PG_WRITERS") != NULL)
		return scaled(&pg);
	rc = suite(&sqlite);
	rc |= suite(&pg);
	return rc;
}

#endif
