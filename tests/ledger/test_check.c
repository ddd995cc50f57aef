/*
 * test_check.c: ledger_check_issue, the trust rule the bridge asks before
 * it builds and signs a certificate.  Each case asks the check and then
 * appends the cert-issued entry it is about: the two must agree (the same
 * rule in ledger/rules.c decides both), and the check writes nothing.  On
 * both storage backends: SQLite in a temporary directory, and PostgreSQL
 * when KB_TEST_PG_URL names a server (scripts/run-unit.sh starts one),
 * each test in a fresh schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "ledger/ledger.h"
#include "tests/ledger/db_fx.h"
#include "tests/ledger/ledger_fx.h"

#define TEST_ORIGIN "test/check"
#define WHY_MAX     256
#define DAY         86400
#define NO_KEY      "00000000000000000000000000000000" \
		    "00000000000000000000000000000000"

struct backend {
	const char *name;
	const char *pg_url;	/* NULL: SQLite */
};

struct fx {
	const struct backend *be;
	char dir[FX_DIR_LEN], db[FX_DB_LEN], schema[FX_SCHEMA_LEN];
	EVP_PKEY *node, *admin, *bridge;
	struct ledger_consensus *cons;
	struct ledger *l;
	uint64_t seq_admin, seq_bridge;
	char why[WHY_MAX];	/* the last check's or append's reason */
};

/* Signs with key and appends an entry of account `as`; the status. */
static enum ledger_status
put(struct fx *f, enum ledger_entry_type t, const char *as, uint64_t *seq,
    EVP_PKEY *key, const struct ledger_field *fl, size_t n)
{
	char *note = ledger_entry_body(t, as, *seq, time(NULL), TEST_ORIGIN,
	    fl, n);
	enum ledger_status st;

	note = ledger_entry_sign(note, as, key);
	assert_non_null(note);
	st = ledger_append(f->l, note, strlen(note), NULL, f->why,
	    sizeof(f->why));
	free(note);
	if (st == LEDGER_OK)
		(*seq)++;
	return st;
}

/* An account-create by admin (or admin itself at genesis). */
static void
account(struct fx *f, const char *name, const char *role, EVP_PKEY *k)
{
	struct ledger_field fl[4];
	char b64[256];

	assert_int_equal(ledger_pubkey_to_b64(k, b64, sizeof(b64)), 0);
	fl[0] = (struct ledger_field){ "name", name };
	fl[1] = (struct ledger_field){ "role", role };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", b64 };
	assert_int_equal(put(f, LEDGER_ACCOUNT_CREATE, "admin", &f->seq_admin,
	    f->admin, fl, 4), LEDGER_OK);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->be = *state;
	fx_db_new(f->be->pg_url, "check", f->dir, f->db, f->schema);
	f->node = ledger_key_generate("ed25519");
	f->admin = ledger_key_generate("ed25519");
	f->bridge = ledger_key_generate("ed25519");
	f->l = fx_ledger_solo(f->be->name, f->db, TEST_ORIGIN, f->node,
	    "test-node", 0, &f->cons);
	f->seq_admin = f->seq_bridge = 1;
	account(f, "admin", "admin", f->admin);
	account(f, "bridge", "bridge", f->bridge);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ledger_close(f->l);
	ledger_consensus_free(f->cons);
	EVP_PKEY_free(f->node);
	EVP_PKEY_free(f->admin);
	EVP_PKEY_free(f->bridge);
	fx_db_free(f->be->pg_url, f->dir, f->schema);
	free(f);
	return 0;
}

/* A registration: a fresh P-256 key named name, profile, window. */
struct reg {
	char spki[256], id[LEDGER_KEYID_LEN + 1], nb[21], na[21];
	const char *name, *profile, *dns;	/* dns: one name or NULL */
};

/* Registers r (by admin) for a fresh key; r->id gets its key id. */
static void
reg_key(struct fx *f, struct reg *r, const char *name, const char *profile,
    time_t nb, time_t na)
{
	EVP_PKEY *k = ledger_key_generate("ec-p256");
	struct ledger_field fl[7];
	uint8_t der[256];
	size_t n = 0;
	int len;

	assert_int_equal(ledger_pubkey_to_b64(k, r->spki, sizeof(r->spki)), 0);
	EVP_PKEY_free(k);
	len = ledger_b64_decode(r->spki, strlen(r->spki), der, sizeof(der));
	assert_true(len > 0);
	ledger_spki_key_id(der, (size_t)len, r->id);
	ledger_time_format(nb, r->nb);
	ledger_time_format(na, r->na);
	r->name = name;
	r->profile = profile;
	fl[n++] = (struct ledger_field){ "key-id", r->id };
	fl[n++] = (struct ledger_field){ "spki", r->spki };
	fl[n++] = (struct ledger_field){ "name", name };
	fl[n++] = (struct ledger_field){ "profile", profile };
	if (r->dns != NULL)
		fl[n++] = (struct ledger_field){ "dns", r->dns };
	fl[n++] = (struct ledger_field){ "not-before", r->nb };
	fl[n++] = (struct ledger_field){ "not-after", r->na };
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "admin", &f->seq_admin,
	    f->admin, fl, n), LEDGER_OK);
}

static enum ledger_status
check(struct fx *f, const char *key_id, const char *profile,
    const char *supersedes)
{
	struct ledger_issue_ask a = { key_id, NULL, profile, supersedes };

	return ledger_check_issue(f->l, &a, time(NULL), f->why,
	    sizeof(f->why));
}

/* The cert-issued entry for serial of key_id (an hour inside the window
 * from now), superseding `supersedes` when not NULL. */
static enum ledger_status
issue(struct fx *f, const char *serial, const char *key_id,
    const char *profile, const char *supersedes)
{
	struct ledger_field fl[8];
	char nb[21], na[21];
	time_t now = time(NULL);
	size_t n = 0;

	ledger_time_format(now, nb);
	ledger_time_format(now + 3600, na);
	fl[n++] = (struct ledger_field){ "serial", serial };
	fl[n++] = (struct ledger_field){ "issuer", "issuing-1" };
	fl[n++] = (struct ledger_field){ "key-id", key_id };
	fl[n++] = (struct ledger_field){ "profile", profile };
	fl[n++] = (struct ledger_field){ "not-before", nb };
	fl[n++] = (struct ledger_field){ "not-after", na };
	fl[n++] = (struct ledger_field){ "cert-sha256", key_id };
	if (supersedes != NULL)
		fl[n++] = (struct ledger_field){ "supersedes", supersedes };
	return put(f, LEDGER_CERT_ISSUED, "bridge", &f->seq_bridge, f->bridge,
	    fl, n);
}

/* The check says want (with a reason containing `says` when not NULL),
 * writes nothing, and the entry it is about is decided the same. */
static void
agree(struct fx *f, const char *serial, const char *key_id,
    const char *profile, const char *supersedes, enum ledger_status want,
    const char *says)
{
	uint64_t size = ledger_size(f->l);
	enum ledger_status st = check(f, key_id, profile, supersedes);

	if (st != want)
		fail_msg("check of %s: %s (%s), want %s", serial,
		    ledger_status_code(st), f->why, ledger_status_code(want));
	if (says != NULL && strstr(f->why, says) == NULL)
		fail_msg("check of %s: \"%s\" does not say \"%s\"", serial,
		    f->why, says);
	assert_int_equal(ledger_size(f->l), size);
	st = issue(f, serial, key_id, profile, supersedes);
	if (st != want)
		fail_msg("entry for %s: %s (%s), the check said %s", serial,
		    ledger_status_code(st), f->why, ledger_status_code(want));
}

/* 1 when serial is recorded and not revoked on its own. */
static int
cert_good(struct fx *f, const char *serial)
{
	struct ledger_cert_info c;

	return ledger_cert_get(f->l, serial, &c) == 0 && !c.revoked;
}

static void
key_revoke(struct fx *f, const char *key_id)
{
	struct ledger_field fl[2] = {
		{ "key-id", key_id }, { "reason", "keyCompromise" },
	};

	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", &f->seq_admin,
	    f->admin, fl, 2), LEDGER_OK);
}

static void
test_registered_active_key_may_get_a_certificate(void **state)
{
	struct fx *f = *state;
	struct reg r = { 0 };
	time_t now = time(NULL);

	reg_key(f, &r, "cam-1", "device", now - 60, now + DAY);
	agree(f, "a1", r.id, "device", NULL, LEDGER_OK, NULL);
	assert_true(cert_good(f, "a1"));
}

static void
test_unregistered_key_cannot_get_a_certificate(void **state)
{
	struct fx *f = *state;

	agree(f, "b1", NO_KEY, "device", NULL, LEDGER_ERR_UNKNOWN_KEY,
	    "is not registered");
}

static void
test_revoked_key_cannot_get_a_certificate(void **state)
{
	struct fx *f = *state;
	struct reg r = { 0 };
	time_t now = time(NULL);

	reg_key(f, &r, "cam-1", "device", now - 60, now + DAY);
	agree(f, "c1", r.id, "device", NULL, LEDGER_OK, NULL);
	key_revoke(f, r.id);
	/* revoked comes first: a current certificate is not the reason */
	agree(f, "c2", r.id, "device", "c1", LEDGER_ERR_KEY_REVOKED,
	    "is revoked");
}

static void
test_key_outside_its_window_cannot_get_a_certificate(void **state)
{
	struct fx *f = *state;
	struct reg r = { 0 };
	char want[WHY_MAX];
	time_t now = time(NULL);

	/* a window that has not started yet */
	reg_key(f, &r, "cam-1", "device", now + DAY, now + 2 * DAY);
	snprintf(want, sizeof(want), "the ledger time is outside the "
	    "validity window of key %s (%s to %s)", r.id, r.nb, r.na);
	agree(f, "d1", r.id, "device", NULL, LEDGER_ERR_WINDOW, want);
}

static void
test_other_profile_cannot_be_issued(void **state)
{
	struct fx *f = *state;
	struct reg r = { 0 };
	time_t now = time(NULL);

	reg_key(f, &r, "cam-1", "device", now - 60, now + DAY);
	agree(f, "e1", r.id, "server", NULL, LEDGER_ERR_PERMISSION,
	    "may enroll for profile device only, not server");
	agree(f, "e2", r.id, "device", NULL, LEDGER_OK, NULL);
}

/* One current certificate per key and profile: another must name it in
 * supersedes, and the check itself supersedes nothing. */
static void
test_a_current_certificate_must_be_superseded(void **state)
{
	struct fx *f = *state;
	struct reg r = { 0 };
	time_t now = time(NULL);

	reg_key(f, &r, "cam-1", "device", now - 60, now + DAY);
	agree(f, "f1", r.id, "device", NULL, LEDGER_OK, NULL);
	agree(f, "f2", r.id, "device", NULL, LEDGER_ERR_CERT_CURRENT,
	    "already has the current certificate f1");
	/* asking with supersedes revokes nothing; the entry does */
	assert_int_equal(check(f, r.id, "device", "f1"), LEDGER_OK);
	assert_true(cert_good(f, "f1"));
	agree(f, "f3", r.id, "device", "f1", LEDGER_OK, NULL);
	assert_false(cert_good(f, "f1"));
	/* the renewal that lost the race names a certificate gone */
	agree(f, "f4", r.id, "device", "f1", LEDGER_ERR_CERT_CURRENT,
	    "already has the current certificate f3");
	/* with nothing current: an unrecorded or a revoked serial cannot
	 * be superseded */
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "bridge", &f->seq_bridge,
	    f->bridge, (struct ledger_field[]){ { "serial", "f3" },
	    { "reason", "cessationOfOperation" } }, 2), LEDGER_OK);
	agree(f, "f5", r.id, "device", "beef", LEDGER_ERR_UNKNOWN_CERT,
	    "the superseded serial beef is not recorded");
	agree(f, "f6", r.id, "device", "f3", LEDGER_ERR_CERT_REVOKED,
	    "the superseded certificate f3 is already revoked "
	    "(cessationOfOperation)");
	agree(f, "f7", r.id, "device", NULL, LEDGER_OK, NULL);
}

/* A rekey: superseding another key's certificate only for the same
 * device (account, name, profile, names). */
static void
test_rekey_only_onto_the_same_device(void **state)
{
	struct fx *f = *state;
	struct reg a = { 0 }, same = { 0 }, other = { 0 }, dns = { 0 };
	time_t now = time(NULL);

	reg_key(f, &a, "cam-1", "device", now - 60, now + DAY);
	reg_key(f, &same, "cam-1", "device", now - 60, now + DAY);
	reg_key(f, &other, "cam-2", "device", now - 60, now + DAY);
	dns.dns = "cam-1.example";
	reg_key(f, &dns, "cam-1", "device", now - 60, now + DAY);
	agree(f, "1a", a.id, "device", NULL, LEDGER_OK, NULL);
	agree(f, "2a", other.id, "device", "1a", LEDGER_ERR_NOT_SAME_DEVICE,
	    "another name");
	agree(f, "3a", dns.id, "device", "1a", LEDGER_ERR_NOT_SAME_DEVICE,
	    "other DNS names");
	assert_string_equal(ledger_status_code(LEDGER_ERR_NOT_SAME_DEVICE),
	    "not_same_device");
	assert_true(cert_good(f, "1a"));
	agree(f, "4a", same.id, "device", "1a", LEDGER_OK, NULL);
	assert_false(cert_good(f, "1a"));
}

/* The bridge registers a fresh key under pre-authorisation id (name,
 * profile device, window nb..na as the slot fixes them). */
static void
preauth_register(struct fx *f, const char *id, const char *name,
    const char *nb, const char *na)
{
	EVP_PKEY *k = ledger_key_generate("ec-p256");
	char spki[256], kid[LEDGER_KEYID_LEN + 1];
	uint8_t der[256];
	int len;

	assert_int_equal(ledger_pubkey_to_b64(k, spki, sizeof(spki)), 0);
	EVP_PKEY_free(k);
	len = ledger_b64_decode(spki, strlen(spki), der, sizeof(der));
	assert_true(len > 0);
	ledger_spki_key_id(der, (size_t)len, kid);
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "bridge", &f->seq_bridge,
	    f->bridge, (struct ledger_field[]){ { "key-id", kid },
	    { "spki", spki }, { "name", name }, { "profile", "device" },
	    { "not-before", nb }, { "not-after", na }, { "preauth", id } },
	    7), LEDGER_OK);
}

/* serverkeygen asks for the key a pre-authorisation will register: the
 * slot must be usable and the profile its own.  (Its entry, a group with
 * the key-register, is in tests/integration/test_est_serverkeygen.sh.) */
static void
test_preauth_key_is_asked_by_its_slot(void **state)
{
	struct fx *f = *state;
	static const char id[] = "00112233445566778899aabbccddeeff";
	struct ledger_issue_ask a = { NULL, id, "device", NULL };
	struct ledger_field pf[7];
	char nb[21], na[21], ex[21];
	time_t now = time(NULL);

	a.preauth = id;
	assert_int_equal(ledger_check_issue(f->l, &a, now, f->why,
	    sizeof(f->why)), LEDGER_ERR_PREAUTH);
	assert_non_null(strstr(f->why, "no pre-authorisation"));
	ledger_time_format(now - 60, nb);
	ledger_time_format(now + DAY, na);
	ledger_time_format(now + 3600, ex);
	pf[0] = (struct ledger_field){ "preauth-id", id };
	pf[1] = (struct ledger_field){ "name", "cam-9" };
	pf[2] = (struct ledger_field){ "profile", "device" };
	pf[3] = (struct ledger_field){ "not-before", nb };
	pf[4] = (struct ledger_field){ "not-after", na };
	pf[5] = (struct ledger_field){ "expires", ex };
	pf[6] = (struct ledger_field){ "secret-sha256", "aa000000000000000000"
	    "00000000000000000000000000000000000000000000" };
	assert_int_equal(put(f, LEDGER_KEY_PREAUTH, "admin", &f->seq_admin,
	    f->admin, pf, 7), LEDGER_OK);
	assert_int_equal(ledger_check_issue(f->l, &a, now, f->why,
	    sizeof(f->why)), LEDGER_OK);
	a.profile = "server";
	assert_int_equal(ledger_check_issue(f->l, &a, now, f->why,
	    sizeof(f->why)), LEDGER_ERR_PERMISSION);
	/* after the slot expires */
	a.profile = "device";
	assert_int_equal(ledger_check_issue(f->l, &a, now + 7200, f->why,
	    sizeof(f->why)), LEDGER_ERR_PREAUTH);
	assert_non_null(strstr(f->why, "has expired"));
	/* once the bridge registered its key: used */
	preauth_register(f, id, "cam-9", nb, na);
	assert_int_equal(ledger_check_issue(f->l, &a, now, f->why,
	    sizeof(f->why)), LEDGER_ERR_PREAUTH);
	assert_non_null(strstr(f->why, "was used already"));
	/* a question with neither a key nor a slot, or both */
	a.key_id = NO_KEY;
	assert_int_equal(ledger_check_issue(f->l, &a, now, f->why,
	    sizeof(f->why)), LEDGER_ERR_MALFORMED);
}

#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, \
	teardown, (void *)be)

static int
run(const struct backend *be)
{
	const struct CMUnitTest tests[] = {
		T(test_registered_active_key_may_get_a_certificate),
		T(test_unregistered_key_cannot_get_a_certificate),
		T(test_revoked_key_cannot_get_a_certificate),
		T(test_key_outside_its_window_cannot_get_a_certificate),
		T(test_other_profile_cannot_be_issued),
		T(test_a_current_certificate_must_be_superseded),
		T(test_rekey_only_onto_the_same_device),
		T(test_preauth_key_is_asked_by_its_slot),
	};
	char name[64];

	snprintf(name, sizeof(name), "ledger/check (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	static const struct backend sqlite = { "sqlite", NULL };
	struct backend pg = { "postgresql", getenv("KB_TEST_PG_URL") };
	int rc;

	rc = run(&sqlite);
	if (pg.pg_url != NULL && pg.pg_url[0] != '\0')
		rc |= run(&pg);
	else if (getenv("KB_TEST_SQLITE_ONLY") == NULL) {
		fprintf(stderr, "test_check: KB_TEST_PG_URL is not set, so the "
		    "PostgreSQL group cannot run\n");
		rc = 1;
	}
	return rc;
}
