/*
 * map.c: the status map (docs/design.md "The status map"): the registry's
 * keys and certificates as leaves of a sparse Merkle tree (smt.h), each
 * leaf a short text a device reads, at a path only its key id or serial
 * gives.  The rules note what a block changes (ledger_store_touch); the
 * writer, a validator's replay and `ledger verify` then set those leaves
 * from the rows, so the three compute the same root from the same
 * entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_int.h"

#define MAP_TOUCH_MIN	16

/* See ledger_int.h. */
void
ledger_map_path(enum ledger_map_kind kind, const char *id,
    uint8_t path[LEDGER_SMT_HASH])
{
	char in[LEDGER_MAP_ID_MAX + 32];
	int n;

	n = snprintf(in, sizeof(in), "%s\n%s", kind == LEDGER_MAP_KEY ?
	    LEDGER_MAP_KEY_DOMAIN : LEDGER_MAP_CERT_DOMAIN, id);
	if (n < 0 || (size_t)n >= sizeof(in))
		n = 0;		/* never: ids are bounded */
	ledger_smt_sha256(in, (size_t)n, path);
}

/* The revocation lines of a leaf: "revoked-at", "reason",
 * "revoked-index". */
static int
revoked_lines(char *out, size_t outlen, time_t at, int reason, uint64_t idx)
{
	const char *r = ledger_reason_name(reason);

	return snprintf(out, outlen, "revoked-at %lld\nreason %s\n"
	    "revoked-index %llu\n", (long long)at, r != NULL ? r :
	    "unspecified", (unsigned long long)idx);
}

int
ledger_map_key_value(const struct ledger_key_info *k, char *out,
    size_t outlen)
{
	int n, m = 0;

	n = snprintf(out, outlen, LEDGER_MAP_FORMAT "\nkey %s\nstatus %s\n"
	    "not-before %lld\nnot-after %lld\nindex %llu\n", k->key_id,
	    k->status == LEDGER_KEY_REVOKED ? "revoked" : "active",
	    (long long)k->not_before, (long long)k->not_after,
	    (unsigned long long)k->registered_index);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	if (k->status == LEDGER_KEY_REVOKED && ((m = revoked_lines(out + n,
	    outlen - (size_t)n, k->revoked_at, k->reason,
	    k->revoked_index)) < 0 || (size_t)m >= outlen - (size_t)n))
		return -1;
	return n + m;
}

int
ledger_map_cert_value(const struct ledger_cert_info *c, char *out,
    size_t outlen)
{
	time_t at = 0;
	int reason = 0, revoked = ledger_cert_revoked(c, &at, &reason), n, m = 0;

	n = snprintf(out, outlen, LEDGER_MAP_FORMAT "\ncert %s\nkey %s\n"
	    "status %s\nnot-before %lld\nnot-after %lld\nindex %llu\n",
	    c->serial, c->key_id, revoked ? "revoked" : "good",
	    (long long)c->not_before, (long long)c->not_after,
	    (unsigned long long)c->issued_index);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	/* revoked through its key: the key's entry is the one to look at */
	if (revoked && ((m = revoked_lines(out + n, outlen - (size_t)n, at,
	    reason, c->revoked && c->revoked_at == at ? c->revoked_index :
	    0)) < 0 || (size_t)m >= outlen - (size_t)n))
		return -1;
	return n + m;
}

/* Adds kind/id to t (NULL: not tracked); a lost one marks t failed. */
static void
map_touch_add(struct ledger_map_touch *t, enum ledger_map_kind kind,
    const char *id)
{
	struct ledger_map_id *v;
	size_t cap;

	if (t == NULL || t->failed || strlen(id) > LEDGER_MAP_ID_MAX)
		return;
	if (t->n == t->cap) {
		cap = t->cap == 0 ? MAP_TOUCH_MIN : 2 * t->cap;
		if ((v = realloc(t->v, cap * sizeof(*v))) == NULL) {
			t->failed = 1;	/* the caller rebuilds the map */
			return;
		}
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n].kind = kind;
	snprintf(t->v[t->n].id, sizeof(t->v[t->n].id), "%s", id);
	t->n++;
}

void
ledger_store_touch(struct ledger_store *s, enum ledger_map_kind kind,
    const char *id)
{
	map_touch_add(s->touch, kind, id);
}

void
ledger_map_touch_clear(struct ledger_map_touch *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

struct map_walk {
	struct ledger_smt *m;
	char last[LEDGER_MAP_ID_MAX + 1];
	size_t n;
	int failed;
};

static int
map_set(struct ledger_smt *m, enum ledger_map_kind kind, const char *id,
    const char *value, int len)
{
	uint8_t path[LEDGER_SMT_HASH];

	if (len <= 0)
		return -1;
	ledger_map_path(kind, id, path);
	return ledger_smt_set(m, path, value, (size_t)len);
}

static int
walk_cert(const struct ledger_cert_info *c, void *arg)
{
	struct map_walk *w = arg;
	char v[LEDGER_SMT_VALUE_MAX];

	snprintf(w->last, sizeof(w->last), "%s", c->serial);
	w->n++;
	if (map_set(w->m, LEDGER_MAP_CERT, c->serial, v,
	    ledger_map_cert_value(c, v, sizeof(v))) != 0)
		w->failed = 1;
	return w->failed;
}

static int
walk_key(const struct ledger_key_info *k, void *arg)
{
	struct map_walk *w = arg;
	char v[LEDGER_SMT_VALUE_MAX];

	snprintf(w->last, sizeof(w->last), "%s", k->key_id);
	w->n++;
	if (map_set(w->m, LEDGER_MAP_KEY, k->key_id, v,
	    ledger_map_key_value(k, v, sizeof(v))) != 0)
		w->failed = 1;
	return w->failed;
}

/* Sets the leaves of touched key or certificate id from s's rows (a
 * key's certificates with it: its revocation is theirs).  0 or -1. */
static int
map_update_one(struct ledger_smt *m, struct ledger_store *s,
    const struct ledger_map_id *t)
{
	struct ledger_key_info *k;
	struct ledger_cert_info c;
	struct map_walk w;
	char v[LEDGER_SMT_VALUE_MAX];
	int rc = -1;

	memset(&w, 0, sizeof(w));
	w.m = m;
	if (t->kind == LEDGER_MAP_CERT) {
		if (s->ops->cert_get(s, t->id, &c) != 0)
			return -1;
		return map_set(m, LEDGER_MAP_CERT, c.serial, v,
		    ledger_map_cert_value(&c, v, sizeof(v)));
	}
	if ((k = malloc(sizeof(*k))) == NULL)
		return -1;
	if (s->ops->key_get(s, t->id, k, NULL, 0) == 0 &&
	    map_set(m, LEDGER_MAP_KEY, k->key_id, v,
	    ledger_map_key_value(k, v, sizeof(v))) == 0 &&
	    s->ops->key_certs(s, k->key_id, walk_cert, &w) == 0 && !w.failed)
		rc = 0;
	free(k);
	return rc;
}

/* Whether t->v[i] was touched before in the same block: its rows were
 * read and its leaves set once already (with the block's last state). */
static int
map_touched_before(const struct ledger_map_touch *t, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (t->v[j].kind == t->v[i].kind &&
		    strcmp(t->v[j].id, t->v[i].id) == 0)
			return 1;
	return 0;
}

int
ledger_map_update(struct ledger_smt *m, struct ledger_store *s,
    struct ledger_map_touch *t)
{
	int rc = 0;

	if (t->failed)
		rc = -1;
	for (size_t i = 0; i < t->n && rc == 0; i++)
		if (!map_touched_before(t, i) &&
		    map_update_one(m, s, &t->v[i]) != 0)
			rc = -1;
	t->n = 0;
	t->failed = 0;
	return rc;
}

struct ledger_smt *
ledger_map_build(struct ledger_store *s)
{
	struct ledger_key_filter f;
	struct map_walk w;
	size_t before;

	memset(&w, 0, sizeof(w));
	if ((w.m = ledger_smt_new()) == NULL)
		return NULL;
	do {		/* keys, a page at a time in key id order */
		memset(&f, 0, sizeof(f));
		f.after = w.last;
		f.limit = LEDGER_LIST_MAX;
		before = w.n;
		if (s->ops->keys(s, &f, walk_key, &w) != 0)
			w.failed = 1;
	} while (!w.failed && w.n - before == LEDGER_LIST_MAX);
	w.last[0] = '\0';
	do {
		before = w.n;
		if (s->ops->certs(s, w.last, LEDGER_LIST_MAX, walk_cert,
		    &w) != 0)
			w.failed = 1;
	} while (!w.failed && w.n - before == LEDGER_LIST_MAX);
	if (w.failed) {
		ledger_smt_free(w.m);
		return NULL;
	}
	return w.m;
}

/* ---- replaying a stretch of the log onto a map (mapsnap.c) ------------ */

/* Entries read and noted per ledger_map_update: its repeat check is
 * quadratic in the ids noted, ~2 an entry. */
#define MAP_REPLAY_CHUNK	256

struct map_replay {
	struct ledger_entry *e;		/* one parse buffer, reused */
	struct ledger_map_touch t;
	uint64_t next;			/* the index expected next */
	int failed;
};

/* What an entry's rules changed in the map, as they note it
 * (ledger_store_touch in rules.c and rules_cert.c): a key registered or
 * revoked (its leaf and its certificates'), a certificate issued (and
 * the one it supersedes) or revoked.  Every entry on the log was
 * applied: its rules passed. */
static int
replay_note(const struct ledger_entry_info *ei, void *arg)
{
	struct map_replay *r = arg;
	const char *v;
	char why[256];

	if (ei->index != r->next++) {
		r->failed = 1;		/* a gap: the log is not whole */
		return 1;
	}
	if (ei->type != LEDGER_KEY_REGISTER && ei->type != LEDGER_KEY_REVOKE &&
	    ei->type != LEDGER_CERT_ISSUED && ei->type != LEDGER_CERT_REVOKED)
		return 0;
	if (ledger_entry_parse(ei->text, ei->len, r->e, why, sizeof(why)) !=
	    LEDGER_OK) {
		r->failed = 1;
		return 1;
	}
	if (ei->type == LEDGER_KEY_REGISTER || ei->type == LEDGER_KEY_REVOKE) {
		if ((v = ledger_entry_get(r->e, "key-id")) != NULL)
			map_touch_add(&r->t, LEDGER_MAP_KEY, v);
	} else {
		if ((v = ledger_entry_get(r->e, "supersedes")) != NULL)
			map_touch_add(&r->t, LEDGER_MAP_CERT, v);
		if ((v = ledger_entry_get(r->e, "serial")) != NULL)
			map_touch_add(&r->t, LEDGER_MAP_CERT, v);
	}
	ledger_entry_clear(r->e);
	return 0;
}

/* See ledger_int.h.  Sets every leaf the entries [from, to) changed from
 * s's rows as they are now: the map of a registry at size `from`, with
 * those leaves set, is the map of the registry at size `to` (a leaf is
 * never removed; the last value of each touched one is the row's). */
int
ledger_map_replay(struct ledger_smt *m, struct ledger_store *s,
    uint64_t from, uint64_t to)
{
	struct map_replay r;
	uint64_t start;
	size_t n;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	if ((r.e = calloc(1, sizeof(*r.e))) == NULL)
		return -1;
	r.next = from;
	while (rc == 0 && r.next < to) {
		start = r.next;
		n = to - start < MAP_REPLAY_CHUNK ? (size_t)(to - start) :
		    MAP_REPLAY_CHUNK;
		/* fewer than n: entries missing, the log is not whole */
		if (s->ops->entries(s, start, n, replay_note, &r) != 0 ||
		    r.failed || r.next != start + n ||
		    ledger_map_update(m, s, &r.t) != 0)
			rc = -1;
	}
	ledger_map_touch_clear(&r.t);
	free(r.e);
	return rc;
}
