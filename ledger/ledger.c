/*
 * ledger.c: opening and closing the ledger, and the read side.  Blocks
 * are committed by writer.c (group commit, the writer thread, the
 * follower of other processes' blocks).
 */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_state.h"

static int
load_leaf(uint64_t idx, const uint8_t *h, void *arg)
{
	struct ledger_merkle *t = arg;

	if (idx != ledger_merkle_size(t))
		return -1;
	return ledger_merkle_append(t, h);
}

/* load_latest_signed's callback: the last signed block seen. */
static int
load_signed_cb(const struct ledger_block_row *b, void *arg)
{
	struct ledger_block_row *last = arg;

	if (b->checkpoint[0] != '\0')
		*last = *b;
	return 0;
}

/* The checkpoint of the latest signed block among the few before height
 * (LEDGER_SIGNED_LOOKBACK), when there is one. */
#define LEDGER_SIGNED_LOOKBACK 4
static void
load_latest_signed(struct ledger *l, uint64_t height)
{
	struct ledger_block_row last;

	memset(&last, 0, sizeof(last));
	if (height == 0 || l->r->ops->blocks(l->r, height >
	    LEDGER_SIGNED_LOOKBACK ? height - LEDGER_SIGNED_LOOKBACK : 0,
	    load_signed_cb, &last) != 0 || last.checkpoint[0] == '\0')
		return;
	snprintf(l->checkpoint, sizeof(l->checkpoint), "%s", last.checkpoint);
	l->final_size = last.size;
}

/* Loads the tree from the stored leaf hashes and checks it against the
 * last block: a database whose log and blocks disagree is not served. */
static int
ledger_load_state(struct ledger *l, char *err, size_t errlen)
{
	struct ledger_block_row b;
	uint8_t root[LEDGER_HASH_LEN];
	int rc;

	if (l->r->ops->leaf_hashes(l->r, 0, load_leaf, l->tree) != 0) {
		snprintf(err, errlen, "reading the log: entries are missing or "
		    "damaged (run `keybridge ledger verify`)");
		return -1;
	}
	if ((rc = l->r->ops->block_last(l->r, &b)) < 0) {
		snprintf(err, errlen, "reading blocks: %s",
		    l->r->ops->errmsg(l->r));
		return -1;
	}
	if (rc == 1) {
		if (ledger_merkle_size(l->tree) != 0) {
			snprintf(err, errlen, "entries without a block");
			return -1;
		}
		return ledger_map_open(l, err, errlen);
	}
	if (b.size != ledger_merkle_size(l->tree) ||
	    ledger_merkle_root(l->tree, b.size, root) != 0 ||
	    memcmp(root, b.root, LEDGER_HASH_LEN) != 0) {
		snprintf(err, errlen, "the log does not match block %llu's "
		    "root hash (run `keybridge ledger verify`)",
		    (unsigned long long)b.height);
		return -1;
	}
	l->committed = b.size;
	l->height = b.height + 1;
	l->last_time = b.time;
	snprintf(l->checkpoint, sizeof(l->checkpoint), "%s", b.checkpoint);
	l->final_size = b.checkpoint[0] != '\0' ? b.size : 0;
	/* Stored, but the process stopped before it signed it: the writer
	 * signs it when it starts (the same size and root it committed). */
	if (b.checkpoint[0] == '\0') {
		l->unsigned_blk = b;
		l->has_unsigned = 1;
		/* A reader (no consensus: a backup's copy, `ledger
		 * checkpoint`) of a database a bridge writes: with the
		 * pipelined seal the last block's signature is stored with
		 * the next block (ledger/pipe.c), so under load the last
		 * block is mostly unsigned; the latest signed one is the
		 * ledger's checkpoint here. */
		if (l->cons == NULL)
			load_latest_signed(l, b.height);
	}
	return ledger_map_open(l, err, errlen);
}

/* ledger_load_state inside one transaction: the log and the last block
 * of one moment, while other processes may be appending (PostgreSQL). */
static int
ledger_load(struct ledger *l, char *err, size_t errlen)
{
	int rc;

	if (l->r->ops->begin(l->r) != 0) {
		snprintf(err, errlen, "reading the log: %s",
		    l->r->ops->errmsg(l->r));
		return -1;
	}
	ledger_map_prefetch(l);
	rc = ledger_load_state(l, err, errlen);
	ledger_map_prefetch_end(l);	/* when the open did not take it */
	l->r->ops->rollback(l->r);
	return rc;
}

struct ledger *
ledger_open(const struct ledger_config *cfg, char *err, size_t errlen)
{
	struct ledger *l;
	int wflags = LEDGER_STORE_CREATE, aflag = 0;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_rwlock_init(&l->tree_lock, NULL);
	pthread_mutex_init(&l->commit_mu, NULL);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->pending_tail = &l->pending;
	l->done_tail = &l->done;
	l->cons = cfg->consensus;
	l->batch_max = cfg->batch_max > 0 && cfg->batch_max <= LEDGER_BATCH_MAX
	    ? cfg->batch_max : LEDGER_BATCH_MAX;
	l->ingest_threads = cfg->ingest_threads;
	l->serial_seal = cfg->serial_seal != 0;
	/* Every entry carries the origin on an "origin" line (rules.c):
	 * one token of printable ASCII, as C2SP asks of checkpoint origins. */
	for (const char *p = cfg->origin; p != NULL && *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || p - cfg->origin >=
		    LEDGER_ORIGIN_MAX) {
			snprintf(err, errlen, "the ledger origin must be 1 to %d "
			    "printable characters without spaces",
			    LEDGER_ORIGIN_MAX);
			goto fail;
		}
	if (cfg->origin != NULL && cfg->origin[0] == '\0') {
		snprintf(err, errlen, "the ledger origin is empty");
		goto fail;
	}
	if ((l->origin = strdup(cfg->origin != NULL ? cfg->origin :
	    "keybridge/ledger")) == NULL ||
	    (l->db = strdup(cfg->db != NULL ? cfg->db : "")) == NULL ||
	    (cfg->map_snapshot != NULL &&
	    (l->map_snap = strdup(cfg->map_snapshot)) == NULL) ||
	    (l->tree = ledger_merkle_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	l->snap_every = cfg->map_snapshot_entries;
	l->snap_seconds = cfg->map_snapshot_seconds;
	if (l->cons == NULL)
		wflags = LEDGER_STORE_READONLY;
	if (cfg->allow_async_commit)
		aflag = LEDGER_STORE_ASYNC_OK;
	l->store_flags = aflag;
	if ((l->w = ledger_store_open(cfg->db, wflags | aflag, err,
	    errlen)) == NULL)
		goto fail;
	l->w->origin = l->origin;	/* the rules bind entries to it */
	l->w->touch = &l->touch;	/* what they change, for the map */
	if ((l->r = ledger_store_open(cfg->db, (l->cons == NULL ?
	    LEDGER_STORE_READONLY : 0) | aflag, err, errlen)) == NULL)
		goto fail;
	if (ledger_load(l, err, errlen) != 0)
		goto fail;
	return l;
fail:
	ledger_close(l);
	return NULL;
}

void
ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	ledger_writer_stop(l);
	ledger_map_snapshot_close(l);
	if (l->r != NULL)
		l->r->ops->close(l->r);
	if (l->w != NULL)
		l->w->ops->close(l->w);
	if (l->f != NULL)
		l->f->ops->close(l->f);
	ledger_merkle_free(l->tree);
	ledger_smt_free(l->map);
	ledger_map_touch_clear(&l->touch);
	pthread_rwlock_destroy(&l->tree_lock);
	pthread_mutex_destroy(&l->commit_mu);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l->doubt);
	free(l->origin);
	free(l->db);
	free(l->map_snap);
	free(l);
}

/* See ledger_state.h.  An empty ledger's map is empty. */
int
ledger_map_reload(struct ledger *l, struct ledger_store *s)
{
	struct timespec t0, t1;
	struct ledger_smt *m;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((m = ledger_map_build(s)) == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ledger_map_snapshot_drop(l);
	l->map = m;
	l->map_from_snap = 0;
	pthread_mutex_lock(&l->mu);
	l->stats.map_build_seconds = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	pthread_mutex_unlock(&l->mu);
	return 0;
}

/* ---- reading ----------------------------------------------------------- */

/* See ledger.h. */
int
ledger_status_proof(struct ledger *l, enum ledger_map_kind kind,
    const char *id, char *note, size_t notelen, uint64_t *size,
    struct ledger_smt_proof *p, char *value, size_t vcap, size_t *vlen)
{
	uint8_t path[LEDGER_SMT_HASH], root[LEDGER_SMT_HASH],
	    ours[LEDGER_SMT_HASH];
	const char *v;
	size_t len;
	int rc = -1;

	if (strlen(id) > LEDGER_MAP_ID_MAX)
		return -1;
	ledger_map_path(kind, id, path);
	pthread_rwlock_rdlock(&l->tree_lock);
	if (strlen(l->checkpoint) >= notelen)
		goto out;
	/* The map is the last committed block's: it proves against the
	 * final checkpoint only when that is the block's (none yet, or one
	 * from before the map, without a map line: not final either). */
	rc = 1;
	ledger_smt_root(l->map, ours);
	if (l->final_size == 0 || l->checkpoint[0] == '\0' ||
	    l->final_size != l->committed || ledger_checkpoint_map_root(
	    l->checkpoint, strlen(l->checkpoint), root) != 0 ||
	    memcmp(root, ours, LEDGER_SMT_HASH) != 0)
		goto out;
	rc = -1;
	if (ledger_smt_prove(l->map, path, p, &v, &len) != 0 ||
	    (v != NULL && len >= vcap))
		goto out;
	/* A leaf read from the snapshot: its value against its stored up
	 * (~256 hashes), so that a value changed in the file is refused
	 * here rather than served with a proof a device rejects. */
	if (l->map_from_snap && ledger_smt_verify(path, v, len, p, ours) != 0)
		goto out;
	memcpy(value, v != NULL ? v : "", v != NULL ? len : 0);
	value[v != NULL ? len : 0] = '\0';
	*vlen = v != NULL ? len : 0;
	memcpy(note, l->checkpoint, strlen(l->checkpoint) + 1);
	*size = l->final_size;
	rc = 0;
out:
	pthread_rwlock_unlock(&l->tree_lock);
	return rc;
}

uint64_t
ledger_size(struct ledger *l)
{
	uint64_t n;

	pthread_rwlock_rdlock(&l->tree_lock);
	n = l->committed;
	pthread_rwlock_unlock(&l->tree_lock);
	return n;
}

int
ledger_checkpoint(struct ledger *l, char *buf, size_t buflen, uint64_t *size)
{
	int rc = -1;

	pthread_rwlock_rdlock(&l->tree_lock);
	if (l->final_size > 0 && l->checkpoint[0] != '\0' &&
	    strlen(l->checkpoint) < buflen) {
		memcpy(buf, l->checkpoint, strlen(l->checkpoint) + 1);
		if (size != NULL)
			*size = l->final_size;
		rc = 0;
	}
	pthread_rwlock_unlock(&l->tree_lock);
	return rc;
}

int
ledger_inclusion_proof(struct ledger *l, uint64_t index, uint64_t size,
    uint8_t proof[][LEDGER_HASH_LEN], size_t *n)
{
	int rc = -1;

	pthread_rwlock_rdlock(&l->tree_lock);
	if (size <= l->committed && index < size)
		rc = ledger_merkle_inclusion(l->tree, index, size, proof, n);
	pthread_rwlock_unlock(&l->tree_lock);
	return rc;
}

int
ledger_consistency_proof(struct ledger *l, uint64_t m, uint64_t n,
    uint8_t proof[][LEDGER_HASH_LEN], size_t *nproof)
{
	int rc = -1;

	pthread_rwlock_rdlock(&l->tree_lock);
	if (m > 0 && m <= n && n <= l->committed)
		rc = ledger_merkle_consistency(l->tree, m, n, proof, nproof);
	pthread_rwlock_unlock(&l->tree_lock);
	return rc;
}

int
ledger_root(struct ledger *l, uint64_t size, uint8_t root[LEDGER_HASH_LEN])
{
	int rc = -1;

	pthread_rwlock_rdlock(&l->tree_lock);
	if (size <= l->committed)
		rc = ledger_merkle_root(l->tree, size, root);
	pthread_rwlock_unlock(&l->tree_lock);
	return rc;
}

int
ledger_entries(struct ledger *l, uint64_t from, size_t limit,
    int (*cb)(const struct ledger_entry_info *, void *), void *arg)
{
	uint64_t committed = ledger_size(l);

	if (limit > LEDGER_LIST_MAX)
		limit = LEDGER_LIST_MAX;
	if (from >= committed)
		return 0;
	if (limit > committed - from)
		limit = (size_t)(committed - from);
	return l->r->ops->entries(l->r, from, limit, cb, arg);
}

/* See ledger.h. */
void
ledger_read_begin(struct ledger *l)
{
	if (l->read_depth++ > 0 || l->r->ops->read_begin == NULL)
		return;
	l->read_open = l->r->ops->read_begin(l->r) == 0;
}

/* See ledger.h. */
void
ledger_read_end(struct ledger *l)
{
	assert(l->read_depth > 0);
	if (--l->read_depth > 0 || !l->read_open)
		return;
	l->read_open = 0;
	/* Never left open: it would hide every later commit. */
	if (l->r->ops->read_end(l->r) != 0)
		(void)l->r->ops->rollback(l->r);
}

int
ledger_account_get(struct ledger *l, const char *name,
    struct ledger_account_info *a)
{
	return l->r->ops->account_get(l->r, name, a);
}

int
ledger_accounts(struct ledger *l,
    int (*cb)(const struct ledger_account_info *, void *), void *arg)
{
	return l->r->ops->accounts(l->r, cb, arg);
}

int
ledger_key_get(struct ledger *l, const char *key_id, struct ledger_key_info *k)
{
	return l->r->ops->key_get(l->r, key_id, k, NULL, 0);
}

int
ledger_keys(struct ledger *l, const struct ledger_key_filter *f,
    int (*cb)(const struct ledger_key_info *, void *), void *arg)
{
	return l->r->ops->keys(l->r, f, cb, arg);
}

/* What key_named_cb looks for, and the paging cursor. */
struct key_named {
	const char *name, *except;
	char *id;			/* "" until found */
	char last[LEDGER_KEYID_LEN + 1];
	size_t rows;
};

static int
key_named_cb(const struct ledger_key_info *k, void *arg)
{
	struct key_named *kn = arg;

	snprintf(kn->last, sizeof(kn->last), "%s", k->key_id);
	kn->rows++;
	if (kn->id[0] == '\0' && strcmp(k->name, kn->name) == 0 &&
	    (kn->except == NULL || strcmp(k->key_id, kn->except) != 0))
		snprintf(kn->id, LEDGER_KEYID_LEN + 1, "%s", k->key_id);
	return 0;
}

int
ledger_key_active_named(struct ledger *l, const char *name,
    const char *except, char id[LEDGER_KEYID_LEN + 1])
{
	struct ledger_key_filter f;
	struct key_named kn;

	memset(&kn, 0, sizeof(kn));
	kn.name = name;
	kn.except = except;
	kn.id = id;
	id[0] = '\0';
	memset(&f, 0, sizeof(f));
	f.status = "active";
	f.name_prefix = name;
	f.limit = LEDGER_LIST_MAX;
	do {			/* page through the names that start so */
		kn.rows = 0;
		f.after = kn.last[0] != '\0' ? kn.last : NULL;
		if (ledger_keys(l, &f, key_named_cb, &kn) != 0)
			return -1;
	} while (id[0] == '\0' && kn.rows == LEDGER_LIST_MAX);
	return id[0] != '\0' ? 0 : 1;
}

int
ledger_counts(struct ledger *l, struct ledger_counts *c)
{
	return l->r->ops->counts(l->r, c);
}

int
ledger_cert_get(struct ledger *l, const char *serial,
    struct ledger_cert_info *c)
{
	return l->r->ops->cert_get(l->r, serial, c);
}

/* What cert_der_cb takes out of a cert-issued entry: "cert" or "tbs". */
struct cert_der_arg {
	const char *field;
	uint8_t *der;
	size_t cap, len;
	int found;
};

static int
cert_der_cb(const struct ledger_entry_info *ei, void *arg)
{
	struct cert_der_arg *a = arg;
	struct ledger_entry e;
	const char *b64;
	char why[64];
	int n;

	if (ledger_entry_parse(ei->text, ei->len, &e, why, sizeof(why)) !=
	    LEDGER_OK)
		return 1;
	if (e.type == LEDGER_CERT_ISSUED &&
	    (b64 = ledger_entry_get(&e, a->field)) != NULL &&
	    (n = ledger_b64_decode(b64, strlen(b64), a->der, a->cap)) > 0) {
		a->len = (size_t)n;
		a->found = 1;
	}
	ledger_entry_clear(&e);
	return 0;
}

/* See ledger_int.h. */
int
ledger_store_cert_field(struct ledger_store *s, uint64_t index,
    const char *field, uint8_t *der, size_t cap, size_t *len)
{
	struct cert_der_arg a = { field, der, cap, 0, 0 };

	if (s->ops->entries(s, index, 1, cert_der_cb, &a) != 0)
		return -1;
	*len = a.len;
	return a.found ? 0 : 1;
}

/* The DER of field ("cert" or "tbs") of c's entry: 0, 1 absent, -1. */
static int
cert_entry_field(struct ledger *l, const struct ledger_cert_info *c,
    const char *field, uint8_t *der, size_t cap, size_t *len)
{
	return ledger_store_cert_field(l->r, c->issued_index, field, der, cap,
	    len);
}

int
ledger_cert_der(struct ledger *l, const struct ledger_cert_info *c,
    uint8_t *der, size_t cap, size_t *len)
{
	char *b64 = NULL;
	size_t b64cap = LEDGER_CERT_DER_MAX * 4 / 3 + 8;
	int rc, n;

	if ((b64 = malloc(b64cap)) == NULL)
		return -1;
	rc = l->r->ops->cert_signed_get(l->r, c->serial, b64, b64cap);
	if (rc == 0) {
		n = ledger_b64_decode(b64, strlen(b64), der, cap);
		*len = n > 0 ? (size_t)n : 0;
		rc = n > 0 ? 0 : -1;
	} else if (rc == 1)
		rc = cert_entry_field(l, c, "cert", der, cap, len);
	free(b64);
	return rc;
}

int
ledger_cert_tbs(struct ledger *l, const struct ledger_cert_info *c,
    uint8_t *tbs, size_t cap, size_t *len)
{
	const uint8_t *t;
	size_t tlen;
	int rc;

	if ((rc = cert_entry_field(l, c, "tbs", tbs, cap, len)) != 1)
		return rc;
	if ((rc = cert_entry_field(l, c, "cert", tbs, cap, len)) != 0)
		return rc;
	if (ledger_tbs_of_cert(tbs, *len, &t, &tlen) != 0)
		return -1;
	memmove(tbs, t, tlen);
	*len = tlen;
	return 0;
}

int
ledger_cert_matches(struct ledger *l, const struct ledger_cert_info *c,
    const uint8_t *der, size_t len)
{
	uint8_t *rec = NULL, md[LEDGER_HASH_LEN];
	const uint8_t *t;
	char hex[65];
	size_t rlen = 0, tlen;
	int rc = -1;

	if ((rec = malloc(LEDGER_CERT_DER_MAX)) == NULL)
		goto out;
	switch (ledger_cert_tbs(l, c, rec, LEDGER_CERT_DER_MAX, &rlen)) {
	case 0:
		rc = ledger_tbs_of_cert(der, len, &t, &tlen) == 0 &&
		    tlen == rlen && memcmp(t, rec, rlen) == 0;
		break;
	case 1:		/* an entry with the certificate's hash only */
		if (EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL) != 1)
			goto out;
		ledger_hex(md, sizeof(md), hex);
		rc = strcmp(hex, c->cert_sha256) == 0;
		break;
	default:
		break;
	}
out:
	free(rec);
	return rc;
}

int
ledger_key_certs(struct ledger *l, const char *key_id,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	return l->r->ops->key_certs(l->r, key_id, cb, arg);
}

int
ledger_cert_revoked(const struct ledger_cert_info *c, time_t *at, int *reason)
{
	int rc = 0;

	if (c->revoked) {
		*at = c->revoked_at;
		*reason = c->reason;
		rc = 1;
	}
	if (c->key_revoked && (!rc || c->key_revoked_at < *at)) {
		*at = c->key_revoked_at;
		*reason = c->key_reason;
		rc = 1;
	}
	return rc;
}

int
ledger_certs(struct ledger *l, const char *after, size_t limit,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	if (limit > LEDGER_LIST_MAX)
		limit = LEDGER_LIST_MAX;
	return l->r->ops->certs(l->r, after, limit, cb, arg);
}

int
ledger_certs_revoked(struct ledger *l, const char *issuer, time_t now,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg)
{
	return l->r->ops->certs_revoked(l->r, issuer, now, cb, arg);
}

static int
ledger_latest_cb(const struct ledger_cert_info *c, void *arg)
{
	*(time_t *)arg = c->not_after;
	return 0;
}

int
ledger_issuer_last_expiry(struct ledger *l, const char *issuer, time_t *t)
{
	*t = (time_t)-1;
	if (l->r->ops->certs_latest(l->r, issuer, ledger_latest_cb, t) != 0)
		return -1;
	return *t == (time_t)-1 ? 1 : 0;
}

int
ledger_certs_unsigned(struct ledger *l, const char *account, time_t now,
    uint64_t below, int (*cb)(const struct ledger_cert_info *, void *),
    void *arg)
{
	return l->r->ops->certs_unsigned(l->r, account, now, below, cb, arg);
}

struct changes_arg {
	int (*cb)(const struct ledger_change *, void *);
	void *arg;
	uint64_t next;
	int failed;
};

static int
ledger_changes_one(const struct ledger_entry_info *ei, void *arg)
{
	struct changes_arg *a = arg;
	struct ledger_entry *e = calloc(1, sizeof(*e));
	struct ledger_change ch;
	const char *v;
	char why[LEDGER_WHY_MAX];
	int rc = 0;

	a->next = ei->index + 1;
	if (ei->type != LEDGER_CERT_ISSUED && ei->type != LEDGER_CERT_REVOKED &&
	    ei->type != LEDGER_KEY_REVOKE) {
		free(e);
		return 0;
	}
	if (e == NULL || ledger_entry_parse(ei->text, ei->len, e, why,
	    sizeof(why)) != LEDGER_OK) {
		a->failed = 1;
		rc = 1;
		goto out;
	}
	memset(&ch, 0, sizeof(ch));
	ch.index = ei->index;
	ch.type = ei->type;
	if ((v = ledger_entry_get(e, "serial")) != NULL)
		snprintf(ch.serial, sizeof(ch.serial), "%s", v);
	if ((v = ledger_entry_get(e, "key-id")) != NULL)
		snprintf(ch.key_id, sizeof(ch.key_id), "%s", v);
	if ((v = ledger_entry_get(e, "issuer")) != NULL)
		snprintf(ch.issuer, sizeof(ch.issuer), "%s", v);
	if ((v = ledger_entry_get(e, "supersedes")) != NULL)
		snprintf(ch.supersedes, sizeof(ch.supersedes), "%s", v);
	rc = a->cb(&ch, a->arg);
out:
	if (e != NULL)
		ledger_entry_clear(e);
	free(e);
	return rc;
}

int
ledger_changes(struct ledger *l, uint64_t from, size_t limit, uint64_t *next,
    int (*cb)(const struct ledger_change *, void *), void *arg)
{
	struct changes_arg a = { cb, arg, from, 0 };

	if (ledger_entries(l, from, limit, ledger_changes_one, &a) != 0 ||
	    a.failed)
		return -1;
	*next = a.next;
	return 0;
}

int
ledger_configs(struct ledger *l, const char *group,
    int (*cb)(const struct ledger_config_info *, void *), void *arg)
{
	return l->r->ops->configs(l->r, group, cb, arg);
}

int
ledger_preauth_get(struct ledger *l, const char *id,
    struct ledger_preauth_info *p)
{
	return l->r->ops->preauth_get(l->r, id, p);
}

enum ledger_status
ledger_check_issue(struct ledger *l, const struct ledger_issue_ask *a,
    time_t now, char *why, size_t whylen)
{
	return ledger_rules_check_issue(l->r, a, now, why, whylen);
}

uint64_t
ledger_next_seq(struct ledger *l, const char *account)
{
	struct ledger_account_info a;

	if (ledger_account_get(l, account, &a) != 0)
		return 0;
	return a.seq + 1;
}
