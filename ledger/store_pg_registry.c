/*
 * store_pg_registry.c: the registry on PostgreSQL: accounts, keys,
 * certificates, configs, pre-authorisations, counts, and the rows that
 * `ledger verify` compares.
 */
#include <string.h>

#include "ledger/store_pg_int.h"

/* ---- registry ----------------------------------------------------------- */

/* The one row iterator of this backend's listings: runs statement id
 * with p and visits each row until the visit returns non-zero.  0 or
 * -1. */
static int
pg_each(struct ledger_store *s, enum stmt_id id, const struct pg_params *p,
    const struct ledger_store_each *e)
{
	PGresult *res;

	if ((res = pg_run(SP(s), id, p)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		if (e->visit(e, PG_ROW(res, i)) != 0)
			break;
	}
	PQclear(res);
	return 0;
}

int
sp_account_get(struct ledger_store *s, const char *name,
    struct ledger_account_info *a)
{
	const struct pg_cached *c;
	struct pg_params p = { 0 };
	PGresult *res;
	int rc = 1;

	if ((c = pg_cache_get(SP(s), ST_ACCOUNT_GET, name, NULL)) != NULL) {
		if (c->state == 2)
			return 1;
		*a = c->a;
		return 0;
	}
	p_text(&p, name);
	if ((res = pg_run(SP(s), ST_ACCOUNT_GET, &p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		ledger_store_read_account(PG_ROW(res, 0), a);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
sp_account_put(struct ledger_store *s, const struct ledger_account_info *a)
{
	struct pg_params p = { 0 };
	char keys[LEDGER_STORE_ACCT_KEYS_LEN];

	pg_cache_drop(SP(s), ST_ACCOUNT_GET, a->name, NULL);
	ledger_store_account_keys(a, keys, sizeof(keys));
	p_text(&p, a->name);
	p_text(&p, a->role);
	p_i64(&p, a->threshold);
	p_i64(&p, (int64_t)a->seq);
	p_i64(&p, (int64_t)a->created_index);
	p_text(&p, keys);
	return pg_cmd(SP(s), ST_ACCOUNT_PUT, &p, 0);
}

int
sp_account_seq(struct ledger_store *s, const char *name, uint64_t seq)
{
	struct pg_params p = { 0 };

	pg_cache_drop(SP(s), ST_ACCOUNT_GET, name, NULL);
	p_text(&p, name);
	p_i64(&p, (int64_t)seq);
	return pg_cmd(SP(s), ST_ACCOUNT_SEQ, &p, 1);
}

int
sp_accounts(struct ledger_store *s,
    int (*cb)(const struct ledger_account_info *, void *), void *arg)
{
	struct ledger_account_info a;
	struct ledger_store_each e;

	ledger_store_each_account(&e, cb, arg, &a);
	return pg_each(s, ST_ACCOUNTS, NULL, &e);
}

int
sp_key_get(struct ledger_store *s, const char *key_id,
    struct ledger_key_info *k, char *csr, size_t csrlen)
{
	struct pg_params p = { 0 };
	PGresult *res;
	int rc = 1;

	p_text(&p, key_id);
	if ((res = pg_run(SP(s), ST_KEY_GET, &p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		ledger_store_read_key(PG_ROW(res, 0), k, csr, csrlen);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
sp_key_put(struct ledger_store *s, const struct ledger_key_info *k,
    const char *csr)
{
	struct pg_params p = { 0 };
	char dns[LEDGER_MAX_SANS * 255], ip[LEDGER_MAX_SANS * 47];
	char groups[LEDGER_MAX_CONFIG_GROUPS * (LEDGER_NAME_MAX + 1)];

	ledger_store_join_list(dns, sizeof(dns), &k->dns[0][0],
	    sizeof(k->dns[0]), k->ndns);
	ledger_store_join_list(ip, sizeof(ip), &k->ip[0][0], sizeof(k->ip[0]),
	    k->nip);
	ledger_store_join_list(groups, sizeof(groups), &k->groups[0][0],
	    sizeof(k->groups[0]), k->ngroups);
	p_text(&p, k->key_id);
	p_text(&p, k->account);
	p_text(&p, k->name);
	p_text(&p, k->profile);
	p_text(&p, k->spki);
	p_text(&p, dns);
	p_text(&p, ip);
	p_i64(&p, (int64_t)k->not_before);
	p_i64(&p, (int64_t)k->not_after);
	p_i64(&p, (int64_t)k->status);
	p_i64(&p, (int64_t)k->registered_index);
	p_text(&p, csr);	/* NULL binds SQL NULL */
	p_text(&p, groups);
	return pg_cmd(SP(s), ST_KEY_PUT, &p, 0);
}

/* Marks one row revoked (key or certificate): exactly one row, not yet
 * revoked, must change. */
static int
revoke_row(struct ledger_store *s, enum stmt_id id, const char *key,
    time_t at, int reason, uint64_t index)
{
	struct pg_params p = { 0 };

	p_text(&p, key);
	p_i64(&p, (int64_t)at);
	p_i64(&p, reason);
	p_i64(&p, (int64_t)index);
	return pg_cmd(SP(s), id, &p, 1);
}

int
sp_key_revoke(struct ledger_store *s, const char *key_id, time_t at,
    int reason, uint64_t index)
{
	return revoke_row(s, ST_KEY_REVOKE, key_id, at, reason, index);
}

int
sp_keys(struct ledger_store *s, const struct ledger_key_filter *f,
    int (*cb)(const struct ledger_key_info *, void *), void *arg)
{
	struct pg_params p = { 0 };
	struct ledger_store_key_query kq;
	struct ledger_store_each e;
	struct ledger_key_info *k;
	int rc;

	ledger_store_read_key_filter(f, &kq);
	p_text(&p, kq.after);
	p_i64(&p, kq.limit);
	if (kq.status != 0)
		p_i64(&p, kq.status);
	else
		p_text(&p, NULL);
	p_text(&p, kq.profile);
	p_text(&p, kq.name_prefix);
	if ((k = malloc(sizeof(*k))) == NULL)
		return -1;
	ledger_store_each_key(&e, cb, arg, k);
	rc = pg_each(s, ST_KEYS, &p, &e);
	free(k);
	return rc;
}

/* Runs statement id with p and calls cb per certificate row until it
 * returns non-zero; 0 or -1. */
static int
cert_rows(struct ledger_store *s, enum stmt_id id, const struct pg_params *p,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	struct ledger_cert_info c;
	struct ledger_store_each e;

	ledger_store_each_cert(&e, cb, arg, &c);
	return pg_each(s, id, p, &e);
}

int
sp_cert_get(struct ledger_store *s, const char *serial,
    struct ledger_cert_info *c)
{
	struct pg_params p = { 0 };
	PGresult *res;
	int rc = 1;

	p_text(&p, serial);
	if ((res = pg_run(SP(s), ST_CERT_GET, &p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		ledger_store_read_cert(PG_ROW(res, 0), c);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
sp_key_certs(struct ledger_store *s, const char *key_id,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	struct pg_params p = { 0 };

	p_text(&p, key_id);
	return cert_rows(s, ST_KEY_CERTS, &p, cb, arg);
}

int
sp_certs(struct ledger_store *s, const char *after, size_t limit,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	struct pg_params p = { 0 };

	p_text(&p, after);
	p_i64(&p, (int64_t)limit);
	return cert_rows(s, ST_CERTS, &p, cb, arg);
}

int
sp_certs_revoked(struct ledger_store *s, const char *issuer, time_t now,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	struct pg_params p = { 0 };

	p_text(&p, issuer);
	p_i64(&p, (int64_t)now);
	return cert_rows(s, ST_CERTS_REVOKED, &p, cb, arg);
}

int
sp_certs_latest(struct ledger_store *s, const char *issuer,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	struct pg_params p = { 0 };

	p_text(&p, issuer);
	return cert_rows(s, ST_CERTS_LATEST, &p, cb, arg);
}

int
sp_certs_unsigned(struct ledger_store *s, const char *account, time_t now,
    uint64_t below, int (*cb)(const struct ledger_cert_info *, void *),
    void *arg)
{
	struct pg_params p = { 0 };

	p_text(&p, account);
	p_i64(&p, (int64_t)now);
	p_i64(&p, (int64_t)below);
	return cert_rows(s, ST_CERTS_UNSIGNED, &p, cb, arg);
}

int
sp_cert_put(struct ledger_store *s, const struct ledger_cert_info *c)
{
	struct pg_params p = { 0 };

	p_text(&p, c->serial);
	p_text(&p, c->issuer);
	p_text(&p, c->key_id);
	p_text(&p, c->profile);
	p_i64(&p, (int64_t)c->not_before);
	p_i64(&p, (int64_t)c->not_after);
	p_text(&p, c->cert_sha256);
	p_i64(&p, (int64_t)c->issued_index);
	return pg_cmd(SP(s), ST_CERT_PUT, &p, 0);
}

int
sp_cert_signed_put(struct ledger_store *s, const char *serial,
    const char *b64, const char *sha256)
{
	struct pg_params p = { 0 };

	p_text(&p, serial);
	p_text(&p, b64);
	p_text(&p, sha256);
	return pg_cmd(SP(s), ST_CERT_SIGNED_PUT, &p, 0);
}

int
sp_cert_signed_get(struct ledger_store *s, const char *serial, char *b64,
    size_t cap)
{
	struct pg_params p = { 0 };
	PGresult *res;
	int rc = 1;

	p_text(&p, serial);
	if ((res = pg_run(SP(s), ST_CERT_SIGNED_GET, &p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		rc = strlen(PQgetvalue(res, 0, 0)) < cap ? 0 : -1;
		if (rc == 0)
			snprintf(b64, cap, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

int
sp_cert_revoke(struct ledger_store *s, const char *serial, time_t at,
    int reason, uint64_t index)
{
	return revoke_row(s, ST_CERT_REVOKE, serial, at, reason, index);
}

int
sp_config_exists(struct ledger_store *s, const char *group,
    const char *version)
{
	const struct pg_cached *c;
	struct pg_params p = { 0 };
	PGresult *res;
	int rc;

	if ((c = pg_cache_get(SP(s), ST_CONFIG_GET, group, version)) != NULL)
		return c->state == 1 ? 0 : 1;
	p_text(&p, group);
	p_text(&p, version);
	if ((res = pg_run(SP(s), ST_CONFIG_GET, &p)) == NULL)
		return -1;
	rc = PQntuples(res) > 0 ? 0 : 1;
	PQclear(res);
	return rc;
}

int
sp_config_put(struct ledger_store *s, const char *group, const char *version,
    const char *sha256, int64_t size, const char *file, uint64_t index)
{
	struct pg_params p = { 0 };

	pg_cache_drop(SP(s), ST_CONFIG_GET, group, version);
	p_text(&p, group);
	p_text(&p, version);
	p_text(&p, sha256);
	if (size >= 0)
		p_i64(&p, size);
	else
		p_text(&p, NULL);
	p_text(&p, file);
	p_i64(&p, (int64_t)index);
	return pg_cmd(SP(s), ST_CONFIG_PUT, &p, 0);
}

int
sp_configs(struct ledger_store *s, const char *group,
    int (*cb)(const struct ledger_config_info *, void *), void *arg)
{
	struct pg_params p = { 0 };
	struct ledger_config_info c;
	struct ledger_store_each e;

	p_text(&p, group != NULL ? group : "");
	ledger_store_each_config(&e, cb, arg, &c);
	return pg_each(s, group != NULL ? ST_CONFIGS_GROUP : ST_CONFIGS, &p,
	    &e);
}

int
sp_preauth_get(struct ledger_store *s, const char *id,
    struct ledger_preauth_info *pa)
{
	struct pg_params p = { 0 };
	PGresult *res;
	int rc = 1;

	p_text(&p, id);
	if ((res = pg_run(SP(s), ST_PREAUTH_GET, &p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		ledger_store_read_preauth(PG_ROW(res, 0), pa);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
sp_preauth_put(struct ledger_store *s, const struct ledger_preauth_info *pa)
{
	struct pg_params p = { 0 };
	char dns[LEDGER_MAX_SANS * 255], ip[LEDGER_MAX_SANS * 47];
	char groups[LEDGER_MAX_CONFIG_GROUPS * (LEDGER_NAME_MAX + 1)];

	ledger_store_join_list(groups, sizeof(groups), &pa->groups[0][0],
	    sizeof(pa->groups[0]), pa->ngroups);
	ledger_store_join_list(dns, sizeof(dns), &pa->dns[0][0],
	    sizeof(pa->dns[0]), pa->ndns);
	ledger_store_join_list(ip, sizeof(ip), &pa->ip[0][0],
	    sizeof(pa->ip[0]), pa->nip);
	p_text(&p, pa->id);
	p_text(&p, pa->account);
	p_text(&p, pa->name);
	p_text(&p, pa->profile);
	p_text(&p, dns);
	p_text(&p, ip);
	p_i64(&p, (int64_t)pa->not_before);
	p_i64(&p, (int64_t)pa->not_after);
	p_i64(&p, (int64_t)pa->expires);
	p_text(&p, pa->secret_sha256);
	p_i64(&p, (int64_t)pa->created_index);
	p_text(&p, groups);
	return pg_cmd(SP(s), ST_PREAUTH_PUT, &p, 0);
}

int
sp_preauth_use(struct ledger_store *s, const char *id, const char *key_id,
    uint64_t index)
{
	struct pg_params p = { 0 };

	p_text(&p, id);
	p_text(&p, key_id);
	p_i64(&p, (int64_t)index);
	return pg_cmd(SP(s), ST_PREAUTH_USE, &p, 1);
}

int
sp_counts(struct ledger_store *s, struct ledger_counts *c)
{
	struct pg_params p = { 0 };
	PGresult *res;

	memset(c, 0, sizeof(*c));
	if ((res = pg_run(SP(s), ST_COUNTERS, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		ledger_store_read_counter(c, PQgetvalue(res, i, 0),
		    (uint64_t)col_i64(res, i, 1));
	}
	PQclear(res);
	ledger_store_read_counters_end(c);
	p_i64(&p, (int64_t)time(NULL));
	if ((res = pg_run(SP(s), ST_COUNT_AGG, &p)) == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		c->accounts = (uint64_t)col_i64(res, 0, 0);
		c->configs = (uint64_t)col_i64(res, 0, 1);
		c->certs_expiring_30d = (uint64_t)col_i64(res, 0, 2);
		c->last_block_time = (time_t)col_i64(res, 0, 3);
		c->blocks = (uint64_t)col_i64(res, 0, 4);
	}
	PQclear(res);
	return 0;
}

int
sp_registry_rows(struct ledger_store *s, int t, const char *after,
    size_t limit, int (*cb)(const char *, const char *, void *), void *arg)
{
	struct pg_params p = { 0 };
	PGresult *res;
	char *row, grp[LEDGER_NAME_MAX + 1];
	const char *v = NULL;
	size_t off;
	int rc = 0;

	if (t < 0 || t >= LEDGER_REG_N)
		return -1;
	if (t == LEDGER_REG_CONFIGS && (v = strchr(after, '\1')) != NULL) {
		if ((size_t)(v - after) >= sizeof(grp))
			return -1;
		memcpy(grp, after, (size_t)(v - after));
		grp[v - after] = '\0';
		v++;
	}
	p_text(&p, v != NULL ? grp : after);
	p_i64(&p, (int64_t)limit);
	if (t == LEDGER_REG_CONFIGS)
		p_text(&p, v != NULL ? v : "");
	if ((res = pg_run(SP(s), (enum stmt_id)(ST_REG_FIRST + t), &p)) ==
	    NULL)
		return -1;
	if ((row = malloc(LEDGER_REG_ROW_MAX)) == NULL) {
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		off = 0;
		row[0] = '\0';
		for (int c = 1; c < PQnfields(res) && rc == 0; c++)
			rc = ledger_store_row_add(row, LEDGER_REG_ROW_MAX, &off,
			    PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c),
			    (size_t)PQgetlength(res, i, c));
		if (rc != 0)
			snprintf(SP(s)->err, sizeof(SP(s)->err), "a registry "
			    "row is too large");
		else if (cb(PQgetvalue(res, i, 0), row, arg) != 0)
			break;
	}
	free(row);
	PQclear(res);
	return rc;
}
