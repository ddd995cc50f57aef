/*
 * replay.c: a validator's registry (see replay.h): what ledger/verify.c
 * does for every entry (parse, savepoint, ledger_rules_apply, entry_put,
 * release) for one block at a time, in a transaction that the caller
 * commits with its cosignature or drops with its refusal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_int.h"
#include "ledger/replay.h"

struct ledger_replay {
	struct ledger_store *s;
	char origin[LEDGER_ORIGIN_MAX + 1];
	uint64_t size;		/* entries committed */
	uint64_t staged;	/* entries staged in the open block */
	int open;		/* a transaction is open */
	/* The status map of what is committed (and, after
	 * ledger_replay_map_root, of what is staged: map_staged), and what
	 * the staged entries' rules changed. */
	struct ledger_smt *map;
	struct ledger_map_touch touch;
	int map_staged;
};

static int
count_cb(uint64_t idx, const uint8_t *h, void *arg)
{
	(*(uint64_t *)arg)++;
	return 0;
}

struct ledger_replay *
ledger_replay_open(const char *db, const char *origin, char *err,
    size_t errlen)
{
	struct ledger_replay *r;

	if (db == NULL || origin == NULL || strlen(origin) > LEDGER_ORIGIN_MAX) {
		snprintf(err, errlen, "no registry path or a bad origin");
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(r->origin, origin, strlen(origin) + 1);
	if ((r->s = ledger_store_sqlite_open(db, LEDGER_STORE_CREATE, err,
	    errlen)) == NULL) {
		free(r);
		return NULL;
	}
	r->s->origin = r->origin;
	r->s->touch = &r->touch;
	/* a registry kept from an earlier run: its entries so far */
	if (r->s->ops->leaf_hashes(r->s, 0, count_cb, &r->size) != 0 ||
	    (r->map = ledger_map_build(r->s)) == NULL) {
		snprintf(err, errlen, "the registry cannot be read: %s",
		    r->s->ops->errmsg(r->s));
		r->s->ops->close(r->s);
		free(r);
		return NULL;
	}
	return r;
}

void
ledger_replay_close(struct ledger_replay *r)
{
	if (r == NULL)
		return;
	ledger_replay_abort(r);
	r->s->ops->close(r->s);
	ledger_smt_free(r->map);
	ledger_map_touch_clear(&r->touch);
	free(r);
}

#define SET(buf, len, ...)	do {					\
	if ((buf) != NULL && (len) > 0)					\
		snprintf((buf), (len), __VA_ARGS__);			\
} while (0)

int
ledger_replay_stage(void *arg, uint64_t index, const char *text, size_t len,
    time_t t, char *code, size_t codelen, char *why, size_t whylen)
{
	struct ledger_replay *r = arg;
	struct ledger_store *s = r->s;
	struct ledger_entry e;
	struct ledger_entry_info info;
	enum ledger_status st;
	char w[256];
	int rc = -1;

	memset(&e, 0, sizeof(e));
	if (index != r->size + r->staged) {
		SET(code, codelen, "out_of_order");
		SET(why, whylen, "entry %llu, but the registry holds %llu",
		    (unsigned long long)index,
		    (unsigned long long)(r->size + r->staged));
		goto out;
	}
	if (!r->open) {
		if (s->ops->begin(s) != 0)
			goto storage;
		r->open = 1;
	}
	if ((st = ledger_entry_parse(text, len, &e, w, sizeof(w))) !=
	    LEDGER_OK) {
		SET(code, codelen, "%s", ledger_status_code(st));
		SET(why, whylen, "%s", w);
		goto out;
	}
	if (s->ops->savepoint(s) != 0)
		goto storage;
	if ((st = ledger_rules_apply(s, &e, index, t, w, sizeof(w))) !=
	    LEDGER_OK) {
		SET(code, codelen, "%s", ledger_status_code(st));
		SET(why, whylen, "%s", w);
		goto out;
	}
	memset(&info, 0, sizeof(info));
	info.index = index;
	info.block = r->size;	/* ours: the block's first index */
	info.ledger_time = t;
	info.type = e.type;
	snprintf(info.account, sizeof(info.account), "%s", e.account);
	info.seq = e.seq;
	ledger_merkle_leaf_hash(text, len, info.leaf_hash);
	info.text = text;
	info.len = len;
	if (s->ops->entry_put(s, &info) != 0 || s->ops->release(s) != 0)
		goto storage;
	r->staged++;
	rc = 0;
	goto out;
storage:
	SET(code, codelen, "%s", ledger_status_code(LEDGER_ERR_STORAGE));
	SET(why, whylen, "%s", s->ops->errmsg(s));
out:
	ledger_entry_clear(&e);
	if (rc == -1)
		ledger_replay_abort(r);
	return rc;
}

void
ledger_replay_abort(void *arg)
{
	struct ledger_replay *r = arg;

	struct ledger_smt *m;

	if (r->open)
		r->s->ops->rollback(r->s);
	r->open = 0;
	r->staged = 0;
	r->touch.n = 0;
	/* the map took what is dropped: made again from the committed rows
	 * (a refusal is rare; keeping the old map on failure only makes
	 * the next checkpoint refused, never a wrong one accepted) */
	if (r->map_staged && (m = ledger_map_build(r->s)) != NULL) {
		ledger_smt_free(r->map);
		r->map = m;
		r->map_staged = 0;
	}
}

int
ledger_replay_map_root(void *arg, uint8_t root[LEDGER_HASH_LEN])
{
	struct ledger_replay *r = arg;

	if (r->map_staged)
		return -1;	/* never: a refusal aborts first */
	if (r->touch.n > 0 || r->touch.failed) {
		r->map_staged = 1;
		if (ledger_map_update(r->map, r->s, &r->touch) != 0)
			return -1;
	}
	ledger_smt_root(r->map, root);
	return 0;
}

int
ledger_replay_commit(struct ledger_replay *r)
{
	if (!r->open)
		return 0;
	if (r->s->ops->commit(r->s) != 0) {
		ledger_replay_abort(r);
		return -1;
	}
	r->open = 0;
	r->size += r->staged;
	r->staged = 0;
	r->map_staged = 0;
	return 0;
}

uint64_t
ledger_replay_size(const struct ledger_replay *r)
{
	return r->size;
}

int
ledger_replay_commit_meta(struct ledger_replay *r, const char *k,
    const char *v)
{
	struct ledger_store *s = r->s;

	if (!r->open) {
		if (s->ops->begin(s) != 0)
			return -1;
		r->open = 1;
	}
	if (s->ops->meta_set(s, k, v) != 0) {
		ledger_replay_abort(r);
		return -1;
	}
	return ledger_replay_commit(r);
}

/* The meta value of k in s into v: 0, 1 absent, -1 (an error, or a value
 * that filled v: it may have been cut). */
static int
meta_get(struct ledger_store *s, const char *k, char *v, size_t vlen)
{
	int rc;

	if (vlen < 2)
		return -1;
	v[0] = '\0';
	if ((rc = s->ops->meta_get(s, k, v, vlen)) != 0)
		return rc;
	return strlen(v) >= vlen - 1 ? -1 : 0;
}

int
ledger_replay_meta_get(struct ledger_replay *r, const char *k, char *v,
    size_t vlen)
{
	return meta_get(r->s, k, v, vlen);
}

int
ledger_replay_meta_read(const char *db, const char *k, char *v, size_t vlen,
    char *err, size_t errlen)
{
	struct ledger_store *s;
	int rc;

	if ((s = ledger_store_sqlite_open(db, LEDGER_STORE_READONLY, err,
	    errlen)) == NULL)
		return -1;
	if ((rc = meta_get(s, k, v, vlen)) == -1)
		snprintf(err, errlen, "%s: cannot read %s: %s", db, k,
		    s->ops->errmsg(s));
	s->ops->close(s);
	return rc;
}
