/*
 * bundle.c: proof bundles in the shape of C2SP tlog-proof (bundle.h,
 * docs/api.md "Proof bundles"), from the ledger's checkpoint, entries and
 * RFC 9162 proofs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/bundle.h"
#include "ledger/smt.h"

#define CHECKPOINT_MAX	8192	/* a note with up to 32 cosignatures */
#define B64_HASH_LEN	45	/* 44 characters and a NUL */

/* A bounded text being written. */
struct buf {
	char *p;
	size_t len, cap;
	int full;
};

static void
buf_add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->full = 1;
	else
		b->len += (size_t)n;
}

/* "KEY BASE64(data)\n" */
static void
buf_b64(struct buf *b, const char *key, const void *data, size_t len)
{
	size_t need = 4 * ((len + 2) / 3) + 1;

	if (b->full)
		return;
	buf_add(b, "%s ", key);
	if (b->full || b->cap - b->len < need + 1 ||
	    ledger_b64_encode(data, len, b->p + b->len, b->cap - b->len) != 0) {
		b->full = 1;
		return;
	}
	b->len += strlen(b->p + b->len);
	buf_add(b, "\n");
}

/* One "KEY BASE64(hash)\n" line per hash ("" key: the hash alone). */
static void
buf_hashes(struct buf *b, const char *key, uint8_t (*h)[LEDGER_HASH_LEN],
    size_t n)
{
	char s[B64_HASH_LEN];
	size_t i;

	for (i = 0; i < n; i++) {
		if (ledger_b64_encode(h[i], LEDGER_HASH_LEN, s, sizeof(s)) != 0) {
			b->full = 1;
			return;
		}
		buf_add(b, "%s%s%s\n", key, key[0] != '\0' ? " " : "", s);
	}
}

struct entry_copy {
	char *text;
	size_t len;
};

static int
entry_cb(const struct ledger_entry_info *e, void *arg)
{
	struct entry_copy *c = arg;

	if ((c->text = malloc(e->len + 1)) != NULL) {
		memcpy(c->text, e->text, e->len);
		c->len = e->len;
	}
	return 1;
}

/* The text of entry index (a new copy in *c) and its inclusion proof in
 * the tree of size.  0 or -1. */
static int
entry_and_proof(struct ledger *l, uint64_t index, uint64_t size,
    struct entry_copy *c, uint8_t (*proof)[LEDGER_HASH_LEN], size_t *n)
{
	c->text = NULL;
	if (ledger_inclusion_proof(l, index, size, proof, n) != 0 ||
	    *n > LEDGER_PROOF_MAX ||
	    ledger_entries(l, index, 1, entry_cb, c) != 0 || c->text == NULL)
		return -1;
	return 0;
}

/* The keybridge extra (bundle.h) into x.  0 or -1 (storage). */
static int
bundle_extra(struct ledger *l, const struct ledger_bundle_ask *a,
    uint64_t size, const struct entry_copy *entry, struct buf *x)
{
	uint8_t (*proof)[LEDGER_HASH_LEN] = NULL;
	struct entry_copy lt = { NULL, 0 };
	size_t n = 0;
	int rc = -1;

	if ((proof = calloc(LEDGER_PROOF_MAX, LEDGER_HASH_LEN)) == NULL)
		goto out;
	buf_add(x, "%s\n", LEDGER_BUNDLE_EXTRA);
	buf_b64(x, "entry", entry->text, entry->len);
	if (a->since > 0) {
		if (ledger_consistency_proof(l, a->since, size, proof, &n) != 0 ||
		    n > LEDGER_PROOF_MAX)
			goto out;
		buf_add(x, "since %llu\n", (unsigned long long)a->since);
		buf_hashes(x, "consistency", proof, n);
	}
	if (a->latest != LEDGER_BUNDLE_NONE) {
		if (entry_and_proof(l, a->latest, size, &lt, proof, &n) != 0)
			goto out;
		buf_add(x, "latest %llu\n", (unsigned long long)a->latest);
		buf_b64(x, "latest-entry", lt.text, lt.len);
		buf_hashes(x, "latest-proof", proof, n);
	}
	rc = 0;
out:
	free(lt.text);
	free(proof);
	return rc;
}

/* See bundle.h. */
int
ledger_bundle(struct ledger *l, const struct ledger_bundle_ask *a,
    char **out, size_t *outlen, char *why, size_t whylen)
{
	uint8_t (*proof)[LEDGER_HASH_LEN] = NULL;
	struct entry_copy entry = { NULL, 0 };
	struct buf b = { NULL, 0, LEDGER_BUNDLE_MAX, 0 };
	struct buf x = { NULL, 0, LEDGER_BUNDLE_MAX, 0 };
	char *note = NULL;
	uint64_t size = 0;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	if ((note = malloc(CHECKPOINT_MAX)) == NULL ||
	    (proof = calloc(LEDGER_PROOF_MAX, LEDGER_HASH_LEN)) == NULL ||
	    (b.p = malloc(b.cap)) == NULL || (x.p = malloc(x.cap)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (ledger_checkpoint(l, note, CHECKPOINT_MAX, &size) != 0) {
		snprintf(why, whylen, "the ledger has no final checkpoint");
		rc = ledger_size(l) == 0 ? 1 : -1;
		goto out;
	}
	/* Only what a final checkpoint covers is proven: an entry the
	 * validators have not cosigned yet waits. */
	if (a->index >= size || (a->latest != LEDGER_BUNDLE_NONE &&
	    a->latest >= size) || a->since > size) {
		snprintf(why, whylen, "entry %llu%s is not in the final "
		    "checkpoint of size %llu, or since %llu is above it",
		    (unsigned long long)a->index, a->latest !=
		    LEDGER_BUNDLE_NONE ? " or its latest" : "",
		    (unsigned long long)size, (unsigned long long)a->since);
		rc = 1;
		goto out;
	}
	if (entry_and_proof(l, a->index, size, &entry, proof, &n) != 0 ||
	    bundle_extra(l, a, size, &entry, &x) != 0) {
		snprintf(why, whylen, "cannot read entry %llu or its proofs",
		    (unsigned long long)a->index);
		goto out;
	}
	buf_add(&b, "%s\n", LEDGER_BUNDLE_HEADER);
	if (!x.full)
		buf_b64(&b, "extra", x.p, x.len);
	buf_add(&b, "index %llu\n", (unsigned long long)a->index);
	buf_hashes(&b, "", proof, n);
	buf_add(&b, "\n%s", note);
	if (x.full || b.full) {
		snprintf(why, whylen, "the bundle is over %d bytes",
		    LEDGER_BUNDLE_MAX);
		rc = 1;
		goto out;
	}
	*out = b.p;
	*outlen = b.len;
	b.p = NULL;
	rc = 0;
out:
	free(entry.text);
	free(proof);
	free(note);
	free(b.p);
	free(x.p);
	return rc;
}

struct config_find {
	const char *sha256, *version;
	int n;				/* rows seen */
	uint64_t current, found;
	int have;
};

static int
config_cb(const struct ledger_config_info *c, void *arg)
{
	struct config_find *f = arg;

	if (f->n++ == 0)
		f->current = c->index;
	if ((f->sha256 != NULL && strcmp(c->sha256, f->sha256) == 0) ||
	    (f->version != NULL && strcmp(c->version, f->version) == 0)) {
		f->found = c->index;
		f->have = 1;
		return 1;	/* newest first: the first match is newest */
	}
	return 0;
}

/* See bundle.h. */
int
ledger_bundle_config(struct ledger *l, const char *group, const char *sha256,
    const char *version, struct ledger_bundle_ask *a)
{
	struct config_find f;

	memset(&f, 0, sizeof(f));
	f.sha256 = sha256;
	f.version = version;
	if (ledger_configs(l, group, config_cb, &f) != 0)
		return -1;
	if (!f.have)
		return 1;
	a->index = f.found;
	a->since = 0;
	a->latest = f.current != f.found ? f.current : LEDGER_BUNDLE_NONE;
	return 0;
}

int
ledger_bundle_key(struct ledger *l, const char *key_id,
    struct ledger_bundle_ask *a)
{
	struct ledger_key_info *k;
	int rc;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -1;
	if ((rc = ledger_key_get(l, key_id, k)) == 0) {
		a->index = k->registered_index;
		a->since = 0;
		a->latest = k->status == LEDGER_KEY_REVOKED ? k->revoked_index :
		    LEDGER_BUNDLE_NONE;
	}
	free(k);
	return rc;
}

int
ledger_bundle_cert(struct ledger *l, const char *serial,
    struct ledger_bundle_ask *a)
{
	struct ledger_cert_info c;
	int rc;

	if ((rc = ledger_cert_get(l, serial, &c)) == 0) {
		a->index = c.issued_index;
		a->since = 0;
		a->latest = c.revoked ? c.revoked_index : LEDGER_BUNDLE_NONE;
	}
	return rc;
}

/* The value's "KEY N" line (key with its '\n' before and ' ' after), or
 * 0 when it has none. */
static uint64_t
value_u64(const char *value, const char *key)
{
	const char *p = strstr(value, key);

	return p != NULL ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* The status extra (bundle.h) of proof p into x. */
static void
status_extra(enum ledger_map_kind kind, const char *id, const char *value,
    size_t vlen, const struct ledger_smt_proof *p, struct buf *x)
{
	buf_add(x, "%s\n%s %s\n", LEDGER_BUNDLE_STATUS, kind == LEDGER_MAP_KEY ?
	    "key" : "cert", id);
	if (vlen > 0)
		buf_b64(x, "value", value, vlen);
	buf_b64(x, "bitmap", p->bitmap, sizeof(p->bitmap));
	buf_hashes(x, "sibling", (uint8_t (*)[LEDGER_HASH_LEN])p->sib,
	    p->nsib);
}

/* See bundle.h. */
int
ledger_bundle_status(struct ledger *l, enum ledger_map_kind kind,
    const char *id, char **out, size_t *outlen, char *why, size_t whylen)
{
	struct ledger_smt_proof *p = NULL;
	struct buf b = { NULL, 0, LEDGER_BUNDLE_MAX, 0 };
	struct buf x = { NULL, 0, LEDGER_BUNDLE_MAX, 0 };
	char *note = NULL, value[LEDGER_SMT_VALUE_MAX + 1];
	uint64_t size = 0, index;
	size_t vlen = 0;
	int rc = -1;

	*out = NULL;
	if ((note = malloc(CHECKPOINT_MAX)) == NULL ||
	    (p = malloc(sizeof(*p))) == NULL ||
	    (b.p = malloc(b.cap)) == NULL || (x.p = malloc(x.cap)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if ((rc = ledger_status_proof(l, kind, id, note, CHECKPOINT_MAX, &size,
	    p, value, sizeof(value), &vlen)) != 0) {
		snprintf(why, whylen, rc == 1 ? "the status map is not final "
		    "yet (a block is being sealed or waits for its quorum); "
		    "retry" : "the status map cannot be read");
		goto out;
	}
	rc = -1;
	index = value_u64(value, "\nrevoked-index ");
	if (index == 0)
		index = vlen > 0 ? value_u64(value, "\nindex ") : size;
	status_extra(kind, id, value, vlen, p, &x);
	buf_add(&b, "%s\n", LEDGER_BUNDLE_HEADER);
	if (!x.full)
		buf_b64(&b, "extra", x.p, x.len);
	buf_add(&b, "index %llu\n\n%s", (unsigned long long)index, note);
	if (x.full || b.full) {
		snprintf(why, whylen, "the bundle is over %d bytes",
		    LEDGER_BUNDLE_MAX);
		goto out;
	}
	*out = b.p;
	*outlen = b.len;
	b.p = NULL;
	rc = 0;
out:
	free(p);
	free(note);
	free(b.p);
	free(x.p);
	return rc;
}
