/*
 * store_sqlite_registry.c: the registry on SQLite: accounts, keys,
 * certificates, configs, pre-authorisations, counts, and the rows that
 * `ledger verify` compares.
 */
#include <stdlib.h>
#include <string.h>

#include "ledger/store_sqlite_int.h"

/* Steps an UPDATE that must change exactly one row (as pg_cmd's `one`);
 * 0 or -1. */
static int
run_one(struct ledger_store *s, sqlite3_stmt *q)
{
	if (ss_run(q) != 0 || sqlite3_changes(SS(s)->db) != 1)
		return -1;
	return 0;
}

/* The one row iterator of this backend's listings: steps q (bound)
 * and visits each row until the visit returns non-zero, then resets q.
 * 0, or -1 on a step error. */
static int
ss_each(sqlite3_stmt *q, const struct ledger_store_each *e)
{
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (e->visit(e, SS_ROW(q)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
ss_account_get(struct ledger_store *s, const char *name,
    struct ledger_account_info *a)
{
	sqlite3_stmt *q = ss_stmt(s, ST_ACCOUNT_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		ledger_store_read_account(SS_ROW(q), a);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
ss_account_put(struct ledger_store *s, const struct ledger_account_info *a)
{
	sqlite3_stmt *q = ss_stmt(s, ST_ACCOUNT_PUT);
	char keys[LEDGER_STORE_ACCT_KEYS_LEN];

	if (q == NULL)
		return -1;
	ledger_store_account_keys(a, keys, sizeof(keys));
	sqlite3_bind_text(q, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, a->role, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, a->threshold);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)a->seq);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)a->created_index);
	sqlite3_bind_text(q, 6, keys, -1, SQLITE_TRANSIENT);
	return ss_run(q);
}

int
ss_account_seq(struct ledger_store *s, const char *name, uint64_t seq)
{
	sqlite3_stmt *q = ss_stmt(s, ST_ACCOUNT_SEQ);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
	return run_one(s, q);
}

int
ss_accounts(struct ledger_store *s,
    int (*cb)(const struct ledger_account_info *, void *), void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, ST_ACCOUNTS);
	struct ledger_account_info a;

	struct ledger_store_each e;

	if (q == NULL)
		return -1;
	ledger_store_each_account(&e, cb, arg, &a);
	return ss_each(q, &e);
}

int
ss_key_get(struct ledger_store *s, const char *key_id,
    struct ledger_key_info *k, char *csr, size_t csrlen)
{
	sqlite3_stmt *q = ss_stmt(s, ST_KEY_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, key_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		ledger_store_read_key(SS_ROW(q), k, csr, csrlen);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
ss_key_put(struct ledger_store *s, const struct ledger_key_info *k,
    const char *csr)
{
	sqlite3_stmt *q = ss_stmt(s, ST_KEY_PUT);
	char dns[LEDGER_MAX_SANS * 255], ip[LEDGER_MAX_SANS * 47];
	char groups[LEDGER_MAX_CONFIG_GROUPS * (LEDGER_NAME_MAX + 1)];

	if (q == NULL)
		return -1;
	ledger_store_join_list(dns, sizeof(dns), &k->dns[0][0],
	    sizeof(k->dns[0]), k->ndns);
	ledger_store_join_list(ip, sizeof(ip), &k->ip[0][0], sizeof(k->ip[0]),
	    k->nip);
	sqlite3_bind_text(q, 1, k->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, k->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, k->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, k->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, k->spki, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, dns, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 7, ip, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)k->not_before);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)k->not_after);
	sqlite3_bind_int(q, 10, (int)k->status);
	sqlite3_bind_int64(q, 11, (sqlite3_int64)k->registered_index);
	if (csr != NULL)
		sqlite3_bind_text(q, 12, csr, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 12);
	ledger_store_join_list(groups, sizeof(groups), &k->groups[0][0],
	    sizeof(k->groups[0]), k->ngroups);
	sqlite3_bind_text(q, 13, groups, -1, SQLITE_TRANSIENT);
	return ss_run(q);
}

/* Marks one row revoked (key or certificate): the UPDATE matches only a
 * row not yet revoked, so exactly one row must change. */
static int
revoke_row(struct ledger_store *s, enum stmt_id id, const char *key,
    time_t at, int reason, uint64_t index)
{
	sqlite3_stmt *q = ss_stmt(s, id);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)at);
	sqlite3_bind_int(q, 3, reason);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)index);
	return run_one(s, q);
}

int
ss_key_revoke(struct ledger_store *s, const char *key_id, time_t at,
    int reason, uint64_t index)
{
	return revoke_row(s, ST_KEY_REVOKE, key_id, at, reason, index);
}

int
ss_keys(struct ledger_store *s, const struct ledger_key_filter *f,
    int (*cb)(const struct ledger_key_info *, void *), void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, ST_KEYS);
	struct ledger_store_key_query kq;
	struct ledger_store_each e;
	struct ledger_key_info *k;
	int rc;

	if (q == NULL || (k = malloc(sizeof(*k))) == NULL)
		return -1;
	ledger_store_read_key_filter(f, &kq);
	sqlite3_bind_text(q, 1, kq.after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, kq.limit);
	if (kq.status != 0)
		sqlite3_bind_int(q, 3, kq.status);
	else
		sqlite3_bind_null(q, 3);
	if (kq.profile != NULL)
		sqlite3_bind_text(q, 4, kq.profile, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 4);
	if (kq.name_prefix != NULL)
		sqlite3_bind_text(q, 5, kq.name_prefix, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	ledger_store_each_key(&e, cb, arg, k);
	rc = ss_each(q, &e);
	free(k);
	return rc;
}

/* Runs q (bound) and calls cb per certificate until it returns
 * non-zero. */
static int
cert_rows(sqlite3_stmt *q, int (*cb)(const struct ledger_cert_info *, void *),
    void *arg)
{
	struct ledger_cert_info c;
	struct ledger_store_each e;

	ledger_store_each_cert(&e, cb, arg, &c);
	return ss_each(q, &e);
}

/* cert_rows for a scan over many certificates (ss_scan_map). */
static int
cert_scan(struct ledger_store *s, sqlite3_stmt *q,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	int rc;

	ss_scan_map(s, 0);
	rc = cert_rows(q, cb, arg);
	ss_scan_map(s, 1);
	return rc;
}

int
ss_cert_get(struct ledger_store *s, const char *serial,
    struct ledger_cert_info *c)
{
	sqlite3_stmt *q = ss_stmt(s, ST_CERT_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		ledger_store_read_cert(SS_ROW(q), c);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
ss_key_certs(struct ledger_store *s, const char *key_id,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, ST_KEY_CERTS);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, key_id, -1, SQLITE_STATIC);
	return cert_rows(q, cb, arg);
}

int
ss_certs(struct ledger_store *s, const char *after, size_t limit,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, ST_CERTS);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
	return cert_scan(s, q, cb, arg);
}

int
ss_certs_revoked(struct ledger_store *s, const char *issuer, time_t now,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, ST_CERTS_REVOKED);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, issuer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)now);
	return cert_scan(s, q, cb, arg);
}

int
ss_certs_latest(struct ledger_store *s, const char *issuer,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, ST_CERTS_LATEST);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, issuer, -1, SQLITE_STATIC);
	return cert_rows(q, cb, arg);
}

int
ss_certs_unsigned(struct ledger_store *s, const char *account, time_t now,
    uint64_t below, int (*cb)(const struct ledger_cert_info *, void *),
    void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, ST_CERTS_UNSIGNED);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)now);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)below);
	/* A scan of every good certificate's row (bridge/heal.c at the
	 * start): through the map (1 GiB then) it put all of the map in
	 * serve's resident set for a second, VmHWM 1.98 GB at a million
	 * (issue 18). */
	return cert_scan(s, q, cb, arg);
}

int
ss_cert_put(struct ledger_store *s, const struct ledger_cert_info *c)
{
	sqlite3_stmt *q = ss_stmt(s, ST_CERT_PUT);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, c->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, c->issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, c->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, c->profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)c->not_before);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)c->not_after);
	sqlite3_bind_text(q, 7, c->cert_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)c->issued_index);
	return ss_run(q);
}

int
ss_cert_signed_put(struct ledger_store *s, const char *serial,
    const char *b64, const char *sha256)
{
	sqlite3_stmt *q = ss_stmt(s, ST_CERT_SIGNED_PUT);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, b64, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, sha256, -1, SQLITE_STATIC);
	return ss_run(q);
}

int
ss_cert_signed_get(struct ledger_store *s, const char *serial, char *b64,
    size_t cap)
{
	sqlite3_stmt *q = ss_stmt(s, ST_CERT_SIGNED_GET);
	const unsigned char *t;
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		t = sqlite3_column_text(q, 0);
		if (t == NULL || strlen((const char *)t) >= cap)
			rc = SQLITE_ERROR;
		else
			memcpy(b64, t, strlen((const char *)t) + 1);
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
ss_cert_revoke(struct ledger_store *s, const char *serial, time_t at,
    int reason, uint64_t index)
{
	return revoke_row(s, ST_CERT_REVOKE, serial, at, reason, index);
}

int
ss_config_exists(struct ledger_store *s, const char *group,
    const char *version)
{
	sqlite3_stmt *q = ss_stmt(s, ST_CONFIG_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
ss_config_put(struct ledger_store *s, const char *group, const char *version,
    const char *sha256, int64_t size, const char *file, uint64_t index)
{
	sqlite3_stmt *q = ss_stmt(s, ST_CONFIG_PUT);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, sha256, -1, SQLITE_STATIC);
	if (size >= 0)
		sqlite3_bind_int64(q, 4, size);
	else
		sqlite3_bind_null(q, 4);
	if (file != NULL)
		sqlite3_bind_text(q, 5, file, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)index);
	return ss_run(q);
}

int
ss_configs(struct ledger_store *s, const char *group,
    int (*cb)(const struct ledger_config_info *, void *), void *arg)
{
	sqlite3_stmt *q = ss_stmt(s, group != NULL ? ST_CONFIGS_GROUP :
	    ST_CONFIGS);
	struct ledger_config_info c;
	struct ledger_store_each e;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, group != NULL ? group : "", -1,
	    SQLITE_STATIC);
	ledger_store_each_config(&e, cb, arg, &c);
	return ss_each(q, &e);
}

int
ss_preauth_get(struct ledger_store *s, const char *id,
    struct ledger_preauth_info *p)
{
	sqlite3_stmt *q = ss_stmt(s, ST_PREAUTH_GET);
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		ledger_store_read_preauth(SS_ROW(q), p);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
ss_preauth_put(struct ledger_store *s, const struct ledger_preauth_info *p)
{
	sqlite3_stmt *q = ss_stmt(s, ST_PREAUTH_PUT);
	char dns[LEDGER_MAX_SANS * 255], ip[LEDGER_MAX_SANS * 47];
	char groups[LEDGER_MAX_CONFIG_GROUPS * (LEDGER_NAME_MAX + 1)];

	if (q == NULL)
		return -1;
	ledger_store_join_list(dns, sizeof(dns), &p->dns[0][0],
	    sizeof(p->dns[0]), p->ndns);
	ledger_store_join_list(ip, sizeof(ip), &p->ip[0][0], sizeof(p->ip[0]),
	    p->nip);
	sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, p->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, p->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, dns, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 6, ip, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)p->not_before);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)p->not_after);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)p->expires);
	sqlite3_bind_text(q, 10, p->secret_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 11, (sqlite3_int64)p->created_index);
	ledger_store_join_list(groups, sizeof(groups), &p->groups[0][0],
	    sizeof(p->groups[0]), p->ngroups);
	sqlite3_bind_text(q, 12, groups, -1, SQLITE_TRANSIENT);
	return ss_run(q);
}

int
ss_preauth_use(struct ledger_store *s, const char *id, const char *key_id,
    uint64_t index)
{
	sqlite3_stmt *q = ss_stmt(s, ST_PREAUTH_USE);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, key_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)index);
	return run_one(s, q);
}

/* One-off aggregate queries (not prepared: the status endpoint only). */
static int
count_query(sqlite3 *db, const char *sql, uint64_t *out)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(q, 0);
		rc = 0;
	}
	sqlite3_finalize(q);
	return rc;
}

int
ss_counts(struct ledger_store *s, struct ledger_counts *c)
{
	sqlite3 *db = SS(s)->db;
	sqlite3_stmt *q = NULL;
	uint64_t t = 0;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if (sqlite3_prepare_v2(db, "SELECT name, n FROM counters", -1, &q,
	    NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(q) == SQLITE_ROW) {
		ledger_store_read_counter(c, (const char *)
		    sqlite3_column_text(q, 0), (uint64_t)sqlite3_column_int64(q, 1));
	}
	sqlite3_finalize(q);
	ledger_store_read_counters_end(c);
	/* Small tables, and the expiring range of a partial index. */
	rc |= count_query(db, "SELECT count(*) FROM accounts", &c->accounts);
	rc |= count_query(db, "SELECT count(*) FROM configs", &c->configs);
	rc |= count_query(db, "SELECT coalesce(max(height) + 1, 0) FROM blocks",
	    &c->blocks);
	rc |= count_query(db, "SELECT count(*) FROM certs c"
	    " INDEXED BY certs_good_by_expiry JOIN keys k ON"
	    " k.key_id = c.key_id WHERE c.revoked = 0 AND k.status = 1 AND"
	    " c.not_after > CAST(strftime('%s', 'now') AS INTEGER) AND"
	    " c.not_after <= CAST(strftime('%s', 'now') AS INTEGER) + 2592000",
	    &c->certs_expiring_30d);
	rc |= count_query(db, "SELECT coalesce((SELECT time FROM blocks"
	    " ORDER BY height DESC LIMIT 1), 0)", &t);
	c->last_block_time = (time_t)t;
	return rc != 0 ? -1 : 0;
}

int
ss_registry_rows(struct ledger_store *s, int t, const char *after,
    size_t limit, int (*cb)(const char *, const char *, void *), void *arg)
{
	sqlite3_stmt *q;
	char *row = NULL;
	size_t off;
	int rc = SQLITE_ERROR;

	if (t < 0 || t >= LEDGER_REG_N ||
	    (q = ss_stmt(s, (enum stmt_id)(ST_REG_FIRST + t))) == NULL ||
	    (row = malloc(LEDGER_REG_ROW_MAX)) == NULL)
		return -1;
	if (t == LEDGER_REG_CONFIGS) {
		const char *v = strchr(after, '\1');

		sqlite3_bind_text(q, 1, after, v != NULL ? (int)(v - after) :
		    -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, v != NULL ? v + 1 : "", -1,
		    SQLITE_STATIC);
	} else
		sqlite3_bind_text(q, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(q, 0);

		off = 0;
		row[0] = '\0';
		for (int c = 1; c < sqlite3_column_count(q); c++) {
			const char *v = sqlite3_column_type(q, c) ==
			    SQLITE_NULL ? NULL :
			    (const char *)sqlite3_column_text(q, c);

			if (ledger_store_row_add(row, LEDGER_REG_ROW_MAX, &off,
			    v, v != NULL ? (size_t)sqlite3_column_bytes(q, c) :
			    0) != 0) {
				rc = SQLITE_TOOBIG;
				goto out;
			}
		}
		if (cb(key != NULL ? key : "", row, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
out:
	sqlite3_reset(q);
	free(row);
	return rc == SQLITE_DONE ? 0 : -1;
}
