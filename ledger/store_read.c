/*
 * store_read.c: the row readers both storage backends share
 * (store_read.h): a row type read one way from either database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/store_read.h"

/* Column accessors, short. */
#define TEXT(r, c) ((r)->ops->text((r), (c)))
#define I64(r, c)  ((r)->ops->i64((r), (c)))

static void
col_copy(const struct ledger_store_cols *r, int col, char *out,
    size_t outlen)
{
	snprintf(out, outlen, "%s", TEXT(r, col));
}

void
ledger_store_read_entry(const struct ledger_store_cols *r,
    struct ledger_entry_info *e)
{
	memset(e, 0, sizeof(*e));
	e->index = (uint64_t)I64(r, 0);
	e->block = (uint64_t)I64(r, 1);
	e->type = (enum ledger_entry_type)I64(r, 2);
	col_copy(r, 3, e->account, sizeof(e->account));
	e->seq = (uint64_t)I64(r, 4);
	(void)r->ops->blob(r, 5, e->leaf_hash, LEDGER_HASH_LEN);
	/* column 6 is the text */
	e->ledger_time = (time_t)I64(r, 7);
}

void
ledger_store_read_block(const struct ledger_store_cols *r,
    struct ledger_block_row *b)
{
	memset(b, 0, sizeof(*b));
	b->height = (uint64_t)I64(r, 0);
	b->first = (uint64_t)I64(r, 1);
	b->size = (uint64_t)I64(r, 2);
	b->time = (time_t)I64(r, 3);
	(void)r->ops->blob(r, 4, b->root, LEDGER_HASH_LEN);
	col_copy(r, 5, b->checkpoint, sizeof(b->checkpoint));
}

/* Account keys are stored as one space-separated column: they are only
 * ever read and written together. */
void
ledger_store_read_account(const struct ledger_store_cols *r,
    struct ledger_account_info *a)
{
	char keys[LEDGER_STORE_ACCT_KEYS_LEN], *tok, *save = NULL;

	memset(a, 0, sizeof(*a));
	col_copy(r, 0, a->name, sizeof(a->name));
	col_copy(r, 1, a->role, sizeof(a->role));
	a->threshold = (int)I64(r, 2);
	a->seq = (uint64_t)I64(r, 3);
	a->created_index = (uint64_t)I64(r, 4);
	col_copy(r, 5, keys, sizeof(keys));
	for (tok = strtok_r(keys, " ", &save); tok != NULL &&
	    a->nkeys < LEDGER_MAX_ACCT_KEYS; tok = strtok_r(NULL, " ", &save))
		snprintf(a->keys[a->nkeys++], sizeof(a->keys[0]), "%s", tok);
}

void
ledger_store_account_keys(const struct ledger_account_info *a, char *out,
    size_t outlen)
{
	ledger_store_join_list(out, outlen, &a->keys[0][0], sizeof(a->keys[0]),
	    a->nkeys);
}

void
ledger_store_read_key(const struct ledger_store_cols *r,
    struct ledger_key_info *k, char *csr, size_t csrlen)
{
	memset(k, 0, sizeof(*k));
	col_copy(r, 0, k->key_id, sizeof(k->key_id));
	col_copy(r, 1, k->account, sizeof(k->account));
	col_copy(r, 2, k->name, sizeof(k->name));
	col_copy(r, 3, k->profile, sizeof(k->profile));
	col_copy(r, 4, k->spki, sizeof(k->spki));
	k->ndns = ledger_store_split_list(TEXT(r, 5), &k->dns[0][0],
	    sizeof(k->dns[0]), LEDGER_MAX_SANS);
	k->nip = ledger_store_split_list(TEXT(r, 6), &k->ip[0][0],
	    sizeof(k->ip[0]), LEDGER_MAX_SANS);
	k->not_before = (time_t)I64(r, 7);
	k->not_after = (time_t)I64(r, 8);
	k->status = (enum ledger_key_status)I64(r, 9);
	k->revoked_at = (time_t)I64(r, 10);
	k->reason = (int)I64(r, 11);
	k->registered_index = (uint64_t)I64(r, 12);
	k->revoked_index = (uint64_t)I64(r, 13);
	k->has_csr = !r->ops->null(r, 14);
	if (csr != NULL && csrlen > 0)
		col_copy(r, 14, csr, csrlen);
	k->ngroups = ledger_store_split_list(TEXT(r, 15), &k->groups[0][0],
	    sizeof(k->groups[0]), LEDGER_MAX_CONFIG_GROUPS);
}

void
ledger_store_read_key_filter(const struct ledger_key_filter *f,
    struct ledger_store_key_query *kq)
{
	size_t limit = f != NULL && f->limit > 0 ? f->limit : LEDGER_LIST_MAX;

	memset(kq, 0, sizeof(*kq));
	kq->after = f != NULL && f->after != NULL ? f->after : "";
	kq->limit = (int64_t)(limit > LEDGER_LIST_MAX ? LEDGER_LIST_MAX : limit);
	if (f != NULL && f->status != NULL)
		kq->status = strcmp(f->status, "revoked") == 0 ?
		    LEDGER_KEY_REVOKED : LEDGER_KEY_ACTIVE;
	if (f != NULL) {
		kq->profile = f->profile;
		kq->name_prefix = f->name_prefix;
	}
}

/* A certificate with its key's revocation (the backends' CERT_COLS). */
void
ledger_store_read_cert(const struct ledger_store_cols *r,
    struct ledger_cert_info *c)
{
	memset(c, 0, sizeof(*c));
	col_copy(r, 0, c->serial, sizeof(c->serial));
	col_copy(r, 1, c->issuer, sizeof(c->issuer));
	col_copy(r, 2, c->key_id, sizeof(c->key_id));
	col_copy(r, 3, c->profile, sizeof(c->profile));
	c->not_before = (time_t)I64(r, 4);
	c->not_after = (time_t)I64(r, 5);
	col_copy(r, 6, c->cert_sha256, sizeof(c->cert_sha256));
	c->revoked = (int)I64(r, 7);
	c->revoked_at = (time_t)I64(r, 8);
	c->reason = (int)I64(r, 9);
	c->issued_index = (uint64_t)I64(r, 10);
	c->revoked_index = (uint64_t)I64(r, 11);
	c->key_revoked = I64(r, 12) == LEDGER_KEY_REVOKED;
	c->key_revoked_at = (time_t)I64(r, 13);
	c->key_reason = (int)I64(r, 14);
}

void
ledger_store_read_config(const struct ledger_store_cols *r,
    struct ledger_config_info *c)
{
	memset(c, 0, sizeof(*c));
	col_copy(r, 0, c->group, sizeof(c->group));
	col_copy(r, 1, c->version, sizeof(c->version));
	col_copy(r, 2, c->sha256, sizeof(c->sha256));
	c->size = r->ops->null(r, 3) ? -1 : I64(r, 3);
	col_copy(r, 4, c->file, sizeof(c->file));
	c->index = (uint64_t)I64(r, 5);
}

void
ledger_store_read_preauth(const struct ledger_store_cols *r,
    struct ledger_preauth_info *p)
{
	memset(p, 0, sizeof(*p));
	col_copy(r, 0, p->id, sizeof(p->id));
	col_copy(r, 1, p->account, sizeof(p->account));
	col_copy(r, 2, p->name, sizeof(p->name));
	col_copy(r, 3, p->profile, sizeof(p->profile));
	p->ndns = ledger_store_split_list(TEXT(r, 4), &p->dns[0][0],
	    sizeof(p->dns[0]), LEDGER_MAX_SANS);
	p->nip = ledger_store_split_list(TEXT(r, 5), &p->ip[0][0],
	    sizeof(p->ip[0]), LEDGER_MAX_SANS);
	p->not_before = (time_t)I64(r, 6);
	p->not_after = (time_t)I64(r, 7);
	p->expires = (time_t)I64(r, 8);
	col_copy(r, 9, p->secret_sha256, sizeof(p->secret_sha256));
	p->created_index = (uint64_t)I64(r, 10);
	col_copy(r, 11, p->used_key, sizeof(p->used_key));
	p->used_index = (uint64_t)I64(r, 12);
	p->ngroups = ledger_store_split_list(TEXT(r, 13), &p->groups[0][0],
	    sizeof(p->groups[0]), LEDGER_MAX_CONFIG_GROUPS);
}

/* The counter names of migration 4 (and 5) in both backends. */
void
ledger_store_read_counter(struct ledger_counts *c, const char *name,
    uint64_t n)
{
	int type;

	if (name == NULL)
		return;
	if (strcmp(name, "keys_active") == 0)
		c->keys_active = n;
	else if (strcmp(name, "keys_revoked") == 0)
		c->keys_revoked = n;
	else if (strcmp(name, "certs_good") == 0)
		c->certs_good = n;
	else if (strcmp(name, "certs_revoked") == 0)
		c->certs_revoked = n;
	else if (strncmp(name, "type:", 5) == 0 &&
	    (type = atoi(name + 5)) >= LEDGER_ACCOUNT_CREATE &&
	    type <= LEDGER_TYPE_MAX)
		c->by_type[type] = n;
}

/* Migration 5: the entries count is the sum of the per-type counts. */
void
ledger_store_read_counters_end(struct ledger_counts *c)
{
	c->entries = 0;
	for (int t = LEDGER_ACCOUNT_CREATE; t <= LEDGER_TYPE_MAX; t++)
		c->entries += c->by_type[t];
}

/* ---- the listings' visits (ledger_store_each) ------------------------------ */

static int
visit_account(const struct ledger_store_each *e,
    const struct ledger_store_cols *r)
{
	ledger_store_read_account(r, e->buf);
	return e->cb.account(e->buf, e->arg);
}

static int
visit_key(const struct ledger_store_each *e, const struct ledger_store_cols *r)
{
	ledger_store_read_key(r, e->buf, NULL, 0);
	return e->cb.key(e->buf, e->arg);
}

static int
visit_cert(const struct ledger_store_each *e, const struct ledger_store_cols *r)
{
	ledger_store_read_cert(r, e->buf);
	return e->cb.cert(e->buf, e->arg);
}

static int
visit_config(const struct ledger_store_each *e,
    const struct ledger_store_cols *r)
{
	ledger_store_read_config(r, e->buf);
	return e->cb.config(e->buf, e->arg);
}

void
ledger_store_each_account(struct ledger_store_each *e,
    int (*cb)(const struct ledger_account_info *, void *), void *arg,
    struct ledger_account_info *buf)
{
	*e = (struct ledger_store_each){ .visit = visit_account,
	    .cb.account = cb, .arg = arg, .buf = buf };
}

void
ledger_store_each_key(struct ledger_store_each *e,
    int (*cb)(const struct ledger_key_info *, void *), void *arg,
    struct ledger_key_info *buf)
{
	*e = (struct ledger_store_each){ .visit = visit_key, .cb.key = cb,
	    .arg = arg, .buf = buf };
}

void
ledger_store_each_cert(struct ledger_store_each *e,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg,
    struct ledger_cert_info *buf)
{
	*e = (struct ledger_store_each){ .visit = visit_cert, .cb.cert = cb,
	    .arg = arg, .buf = buf };
}

void
ledger_store_each_config(struct ledger_store_each *e,
    int (*cb)(const struct ledger_config_info *, void *), void *arg,
    struct ledger_config_info *buf)
{
	*e = (struct ledger_store_each){ .visit = visit_config,
	    .cb.config = cb, .arg = arg, .buf = buf };
}
