/*
 * kbv.c: parsing and checking keybridge proof bundles on a device
 * (kbv.h).  Every length is bounded; nothing is allocated.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "kbv.h"

#define EM_DASH		"\xe2\x80\x94 "	/* a signed-note signature line */
#define ALG_ED25519	0x01		/* signed-note Ed25519 */
#define ALG_COSIG	0x04		/* C2SP cosignature/v1 */
#define BODY_MAX	4096		/* a checkpoint body */
#define SIGS_MAX	64		/* signature lines looked at */
/* Hash prefixes: RFC 6962's, the status map's (ledger/smt.h). */
#define LOG_LEAF	"\x00", 1
#define LOG_NODE	"\x01", 1
#define MAP_LEAF	"\x10", 1
#define MAP_NODE	"\x11", 1
#define HALVE(a, b)	((a) >>= 1, (b) >>= 1)
/* The reason of a refusal into the caller's why[0..whylen). */
#define WHY(...)	(snprintf(why, whylen, __VA_ARGS__), -1)
#define REFUSE(...)	(snprintf(why, whylen, __VA_ARGS__), KBV_FAIL)
#define SPAN(s)		(int)(s).len, (s).p	/* for "%.*s" */

/* The next line of *s (without its '\n') into *line; -1 at the end or on
 * a last line without '\n'. */
static int
next_line(struct kbv_span *s, struct kbv_span *line)
{
	const char *nl;

	if (s->len == 0 || (nl = memchr(s->p, '\n', s->len)) == NULL)
		return -1;
	*line = (struct kbv_span){ s->p, (size_t)(nl - s->p) };
	s->p = nl + 1;
	s->len -= line->len + 1;
	return 0;
}

/* 1 when line is "key value..." with *v the value, or (v NULL) key. */
static int
keyed(const struct kbv_span *line, const char *key, struct kbv_span *v)
{
	size_t k = strlen(key);

	if (line->len < k || memcmp(line->p, key, k) != 0 ||
	    (line->len == k) != (v == NULL) || (v != NULL && line->p[k] != ' '))
		return 0;
	if (v != NULL)
		*v = (struct kbv_span){ line->p + k + 1, line->len - k - 1 };
	return 1;
}

static int
same(const struct kbv_span *a, const char *b, size_t blen)
{
	return a->p != NULL && a->len == blen && memcmp(a->p, b, blen) == 0;
}

/* A decimal with no sign, no leading zero.  0 or -1. */
static int
parse_u64(const struct kbv_span *v, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (v->len == 0 || v->len > 20 || (v->len > 1 && v->p[0] == '0'))
		return -1;
	for (i = 0; i < v->len; i++) {
		if (v->p[i] < '0' || v->p[i] > '9' ||
		    n > (UINT64_MAX - (uint64_t)(v->p[i] - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(v->p[i] - '0');
	}
	*out = n;
	return 0;
}

/* Strict base64 of v into out[0..cap): its length, or -1. */
static long
b64(const struct kbv_span *v, uint8_t *out, size_t cap)
{
	size_t n;

	if (v->len == 0 || sodium_base642bin(out, cap, v->p, v->len, NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return (long)n;
}

static int
b64_hash(const struct kbv_span *v, uint8_t out[KBV_HASH])
{
	return b64(v, out, KBV_HASH) == KBV_HASH && v->len == 44 ? 0 : -1;
}

/* SHA-256(a || b || c) into out (which may be one of them). */
static void
sha(uint8_t out[KBV_HASH], const void *a, size_t alen, const void *b,
    size_t blen, const void *c, size_t clen)
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, a, alen);
	crypto_hash_sha256_update(&st, b, blen);
	crypto_hash_sha256_update(&st, c, clen);
	crypto_hash_sha256_final(&st, out);
}

/* A verifier key "name+hex8+base64(alg || key)" of alg into k, its key ID
 * SHA-256(name || '\n' || alg || key)[:4].  A log key of another
 * algorithm (P-256) is kept with ed25519 = 0.  0 or -1. */
static int
parse_vkey(const struct kbv_span *v, uint8_t alg, struct kbv_key *k)
{
	const char *p1 = memchr(v->p, '+', v->len);
	uint8_t raw[128], h[KBV_HASH];
	struct kbv_span kb;
	char hex[9];
	long n;

	memset(k, 0, sizeof(*k));
	if (p1 == NULL || p1 == v->p || (size_t)(p1 - v->p) > KBV_NAME_MAX ||
	    (size_t)(v->p + v->len - p1) < 10 || p1[9] != '+')
		return -1;
	memcpy(k->name, v->p, (size_t)(p1 - v->p));
	kb = (struct kbv_span){ p1 + 10, (size_t)(v->p + v->len - p1 - 10) };
	if ((n = b64(&kb, raw, sizeof(raw))) < 2 || raw[0] != alg || n != 33)
		return n >= 2 && alg == ALG_ED25519 && raw[0] != alg ? 0 : -1;
	sha(h, k->name, strlen(k->name), "\n", 1, raw, 33);
	sodium_bin2hex(hex, sizeof(hex), h, 4);
	if (memcmp(hex, p1 + 1, 8) != 0)
		return -1;
	memcpy(k->pub, raw + 1, 32);
	memcpy(k->id, h, 4);
	k->ed25519 = 1;
	return 0;
}

/* One "validator|witness NAME VKEY [URL]" value into p: a key of its own
 * (one key twice would count twice).  0 or -1. */
static int
policy_cosigner(struct kbv_span v, struct kbv_policy *p)
{
	const char *sp = memchr(v.p, ' ', v.len), *sp2;
	struct kbv_key *k = &p->cos[p->ncos];
	struct kbv_span vk;

	if (sp == NULL || p->ncos >= KBV_COSIGNERS_MAX)
		return -1;
	vk = (struct kbv_span){ sp + 1, v.len - (size_t)(sp + 1 - v.p) };
	if ((sp2 = memchr(vk.p, ' ', vk.len)) != NULL)
		vk.len = (size_t)(sp2 - vk.p);
	if (parse_vkey(&vk, ALG_COSIG, k) != 0 ||
	    !same(&(struct kbv_span){ v.p, (size_t)(sp - v.p) }, k->name,
	    strlen(k->name)))
		return -1;
	for (size_t i = 0; i < p->ncos; i++)
		if (memcmp(p->cos[i].pub, k->pub, 32) == 0)
			return -1;
	p->ncos++;
	return 0;
}

/* See kbv.h.  The `keybridge-policy v1` text of docs/cli.md "policy". */
int
kbv_policy_parse(const char *text, size_t len, struct kbv_policy *p,
    char *why, size_t whylen)
{
	struct kbv_span s = { text, len }, line, v;
	uint64_t q = 0;
	int n = 0, stage = 0;

	memset(p, 0, sizeof(*p));
	while (next_line(&s, &line) == 0) {
		if (n++, line.len == 0 || line.p[0] == '#')
			continue;
		if (stage == 0 && keyed(&line, "keybridge-policy v1", NULL))
			stage = 1;
		else if (stage == 1 && keyed(&line, "origin", &v) &&
		    v.len <= KBV_ORIGIN_MAX)
			memcpy(p->origin, v.p, v.len), stage = 2;
		else if (stage == 2 && keyed(&line, "log", &v) &&
		    parse_vkey(&v, ALG_ED25519, &p->log) == 0)
			stage = 3;
		else if (stage == 3 && (keyed(&line, "validator", &v) ||
		    keyed(&line, "witness", &v)) && policy_cosigner(v, p) == 0)
			;
		else if (stage == 3 && keyed(&line, "quorum", &v) &&
		    parse_u64(&v, &q) == 0 && q >= 1 && q <= p->ncos)
			stage = 4;
		else
			return WHY("policy line %d is not what a "
			    "keybridge-policy v1 has there", n);
	}
	if (s.len != 0 || stage < 3 || (p->ncos > 0 && stage != 4))
		return WHY("the policy is incomplete (it needs its format line, "
		    "origin, log%s)", p->ncos > 0 ? " and quorum" : "");
	p->quorum = (unsigned)q;
	return 0;
}

/* The extra's keys (docs/api.md "Proof bundles", "Status proofs"): a
 * file's bundle has the first six, a status bundle the last five, each
 * once but the hash lists.  Nothing in it is trusted: kbv_verify checks
 * what it uses, and a part left out fails there. */
enum { X_ENTRY, X_SINCE, X_LATEST, X_LENTRY, X_CONS, X_LPROOF, X_KEY,
    X_CERT, X_VALUE, X_BITMAP, X_SIB, X_N };
static const char *const xnames[X_N] = { "entry", "since", "latest",
    "latest-entry", "consistency", "latest-proof", "key", "cert", "value",
    "bitmap", "sibling" };

/* The hash of v appended to h[0..max) at *n.  0 or -1. */
static int
add_hash(const struct kbv_span *v, uint8_t (*h)[KBV_HASH], size_t *n,
    size_t max)
{
	return *n < max && b64_hash(v, h[*n]) == 0 ? ((*n)++, 0) : -1;
}

/* The keybridge extra x into b, its entries and value decoded into
 * scratch from off.  0 or -1. */
static int
parse_extra(struct kbv_span x, uint8_t *scratch, size_t cap, size_t off,
    struct kbv_bundle *b)
{
	struct kbv_span line, v, *dst[X_N] = { &b->entry, NULL, NULL,
	    &b->latest_entry, NULL, NULL, &b->id, &b->id, &b->value };
	unsigned seen = 0, once;
	long n = 0;
	int k;

	if (next_line(&x, &line) != 0 || (!(b->status = keyed(&line,
	    "keybridge-status v1", NULL)) && !keyed(&line,
	    "keybridge-proof v1", NULL)))
		return -1;
	while (n >= 0 && next_line(&x, &line) == 0) {
		for (k = 0; k < X_N && !keyed(&line, xnames[k], &v); k++)
			;
		once = k == X_CONS || k == X_LPROOF || k == X_SIB ? 0 :
		    1u << (k == X_CERT ? X_KEY : k);
		if (k == X_N || (k >= X_KEY) != b->status || (seen & once))
			return -1;
		seen |= once;
		if (k == X_SINCE || k == X_LATEST)
			n = parse_u64(&v, k == X_SINCE ? &b->since : &b->latest);
		else if (k == X_CONS)
			n = add_hash(&v, b->cons, &b->ncons, KBV_PROOF_MAX);
		else if (k == X_LPROOF)
			n = add_hash(&v, b->lproof, &b->nlproof, KBV_PROOF_MAX);
		else if (k == X_SIB)
			n = add_hash(&v, b->sib, &b->nsib, KBV_MAP_DEPTH);
		else if (k == X_BITMAP)
			n = b64(&v, b->bitmap, sizeof(b->bitmap)) == 32 ? 0 : -1;
		else if (k == X_KEY || k == X_CERT) {
			*dst[k] = v;
			b->cert = k == X_CERT;
			n = v.len <= KBV_ID_MAX ? 0 : -1;
		} else if ((n = b64(&v, scratch + off, cap - off)) > 0) {
			*dst[k] = (struct kbv_span){ (char *)scratch + off,
			    (size_t)n };
			off += (size_t)n;
		} else
			n = -1;
	}
	b->has_since = (seen >> X_SINCE & 1) && b->since > 0;
	b->has_latest = seen >> X_LATEST & 1;
	return n < 0 || x.len != 0 || (b->status ? b->id.p : b->entry.p) ==
	    NULL ? -1 : 0;
}

/* See kbv.h.  C2SP tlog-proof: header, extra, index, proof, "", note. */
int
kbv_bundle_parse(const char *text, size_t len, uint8_t *scratch, size_t cap,
    struct kbv_bundle *b, char *why, size_t whylen)
{
	struct kbv_span s = { text, len }, line, v, x;
	long n = 0;

	memset(b, 0, sizeof(*b));
	if (len > KBV_BUNDLE_MAX || next_line(&s, &line) != 0 ||
	    !keyed(&line, "c2sp.org/tlog-proof@v1", NULL))
		return WHY("malformed bundle: not a c2sp.org/tlog-proof@v1");
	if (next_line(&s, &line) != 0 || !keyed(&line, "extra", &v) ||
	    (n = b64(&v, scratch, cap)) <= 0)
		return WHY("malformed bundle: no keybridge extra");
	x = (struct kbv_span){ (const char *)scratch, (size_t)n };
	if (next_line(&s, &line) != 0 || !keyed(&line, "index", &v) ||
	    parse_u64(&v, &b->index) != 0)
		return WHY("malformed bundle: no index line");
	while (next_line(&s, &line) == 0 && line.len > 0)
		if (add_hash(&line, b->proof, &b->nproof, KBV_PROOF_MAX) != 0)
			return WHY("malformed bundle: an inclusion proof line "
			    "is not a base64 SHA-256 hash");
	if (line.len != 0 || s.len == 0)
		return WHY("malformed bundle: no checkpoint after the proof");
	b->note = s;
	return parse_extra(x, scratch, cap, (size_t)n, b) == 0 ? 0 :
	    WHY("malformed bundle: its keybridge extra");
}

/* RFC 9162 2.1.3.2 and 2.1.4.2 share this walk: from node fn of a tree
 * whose last node is sn, fr and sr climb with proof p[0..n).  0 when it
 * ends at the root. */
static int
walk(uint64_t fn, uint64_t sn, uint8_t fr[KBV_HASH], uint8_t sr[KBV_HASH],
    const uint8_t (*p)[KBV_HASH], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			sha(fr, LOG_NODE, p[i], KBV_HASH, fr, KBV_HASH);
			sha(sr, LOG_NODE, p[i], KBV_HASH, sr, KBV_HASH);
			while (!(fn & 1) && fn != 0)
				HALVE(fn, sn);
		} else
			sha(sr, LOG_NODE, sr, KBV_HASH, p[i], KBV_HASH);
		HALVE(fn, sn);
	}
	return sn == 0 ? 0 : -1;
}

/* 0 when entry e is at index of the tree (size, root). */
static int
inclusion(const struct kbv_span *e, uint64_t index, uint64_t size,
    const uint8_t (*proof)[KBV_HASH], size_t n, const uint8_t root[KBV_HASH])
{
	uint8_t fr[KBV_HASH], sr[KBV_HASH];

	sha(fr, LOG_LEAF, e->p, e->len, "", 0);
	memcpy(sr, fr, KBV_HASH);
	return index < size && walk(index, size - 1, fr, sr, proof, n) == 0 &&
	    sodium_memcmp(sr, root, KBV_HASH) == 0 ? 0 : -1;
}

/* 0 when the tree (m, r1) is a prefix of (n, r2). */
static int
consistency(uint64_t m, uint64_t n, const uint8_t r1[KBV_HASH],
    const uint8_t r2[KBV_HASH], const uint8_t (*proof)[KBV_HASH], size_t np)
{
	uint8_t fr[KBV_HASH], sr[KBV_HASH];
	uint64_t fn = m - 1, sn = n - 1;
	size_t i = 0;

	if (m == 0 || m > n || (m < n && np == 0))
		return -1;
	if (m == n)
		return np == 0 && sodium_memcmp(r1, r2, KBV_HASH) == 0 ? 0 : -1;
	while (fn & 1)
		HALVE(fn, sn);
	/* m a power of two: the path starts with r1 itself */
	memcpy(fr, (m & (m - 1)) == 0 ? r1 : proof[i++], KBV_HASH);
	memcpy(sr, fr, KBV_HASH);
	return walk(fn, sn, fr, sr, proof + i, np - i) == 0 &&
	    sodium_memcmp(fr, r1, KBV_HASH) == 0 &&
	    sodium_memcmp(sr, r2, KBV_HASH) == 0 ? 0 : -1;
}

/* ledger/smt.h: 0 when b's map proof leads from the leaf of b->id (the
 * value's, or the empty leaf: zeros) to root, the empty subtree of each
 * depth (e) made on the way up. */
static int
map_proof(const struct kbv_bundle *b, const uint8_t root[KBV_HASH])
{
	uint8_t path[KBV_HASH], x[KBV_HASH] = { 0 }, e[KBV_HASH] = { 0 };
	const uint8_t *s;
	size_t k = 0;
	int d, right;

	sha(path, b->cert ? "keybridge-map cert\n" : "keybridge-map key\n",
	    b->cert ? 19 : 18, b->id.p, b->id.len, "", 0);
	if (b->value.len > 0)
		sha(x, MAP_LEAF, b->value.p, b->value.len, "", 0);
	for (d = KBV_MAP_DEPTH - 1; d >= 0; d--) {	/* bit d: x's side */
		s = e;
		if ((b->bitmap[d / 8] >> (7 - d % 8) & 1) && (s = k <
		    b->nsib ? b->sib[k++] : NULL) == NULL)
			return -1;
		right = path[d / 8] >> (7 - d % 8) & 1;
		sha(x, MAP_NODE, right ? s : x, KBV_HASH, right ? x : s,
		    KBV_HASH);
		sha(e, MAP_NODE, e, KBV_HASH, e, KBV_HASH);
	}
	return k == b->nsib && sodium_memcmp(x, root, KBV_HASH) == 0 ? 0 : -1;
}

/* A checkpoint note's parts: its body (with the final '\n'), its
 * signature lines, the values of its first three lines and of its "map"
 * extension line (has_map 0: none). */
struct checkpoint {
	struct kbv_span body, sigs;
	uint64_t size;
	uint8_t root[KBV_HASH], map[KBV_HASH];
	int has_map;
};

static int
parse_checkpoint(const struct kbv_policy *p, struct kbv_span note,
    struct checkpoint *c, char *why, size_t whylen)
{
	const char *end = memmem(note.p, note.len, "\n\n", 2);
	struct kbv_span s, line, v;

	if (end == NULL || end + 1 - note.p > BODY_MAX)
		return WHY("malformed checkpoint: no signatures");
	c->body = (struct kbv_span){ note.p, (size_t)(end + 1 - note.p) };
	c->sigs = (struct kbv_span){ end + 2, note.len - c->body.len - 1 };
	s = c->body;
	if (next_line(&s, &line) != 0 || !same(&line, p->origin,
	    strlen(p->origin)))
		return WHY("the checkpoint is not of origin %s", p->origin);
	if (next_line(&s, &v) != 0 || parse_u64(&v, &c->size) != 0 ||
	    next_line(&s, &v) != 0 || b64_hash(&v, c->root) != 0)
		return WHY("malformed checkpoint body");
	c->has_map = 0;
	while (next_line(&s, &line) == 0)	/* extension lines */
		if (keyed(&line, "map", &v) && (c->has_map++ ||
		    b64_hash(&v, c->map) != 0))
			return WHY("malformed checkpoint map line");
	return 0;
}

/* 1 when a signature line's name and key ID are k's. */
static int
named(const struct kbv_span *n, const struct kbv_key *k, const uint8_t *id)
{
	return same(n, k->name, strlen(k->name)) && memcmp(id, k->id, 4) == 0;
}

/*
 * The signatures that make the checkpoint final: with cosigners in the
 * policy, valid C2SP cosignature/v1 lines of at least quorum distinct
 * cosigners (Ed25519 over "cosignature/v1\ntime T\n" || body); solo, the
 * log key's Ed25519 signed-note signature over the body.  0 or -1.
 */
static int
check_signatures(const struct kbv_policy *p, const struct checkpoint *c,
    unsigned *nvalid, char *why, size_t whylen)
{
	uint8_t raw[128], msg[64 + BODY_MAX];
	uint32_t seen = 0;
	struct kbv_span s = c->sigs, line, name, v;
	uint64_t ts;
	size_t i, k, lines = 0, mlen;
	int log_ok = 0;
	long n = 0;

	*nvalid = 0;
	while (next_line(&s, &line) == 0 && lines++ < SIGS_MAX) {
		/* "— NAME BASE64(key ID || signature)" */
		if (line.len < 5 || memcmp(line.p, EM_DASH, 4) != 0 ||
		    (v.p = memchr(line.p + 4, ' ', line.len - 4)) == NULL)
			continue;
		name = (struct kbv_span){ line.p + 4, (size_t)(v.p++ -
		    line.p - 4) };
		v.len = line.len - 5 - name.len;
		if ((n = b64(&v, raw, sizeof(raw))) == 68 && p->log.ed25519 &&
		    named(&name, &p->log, raw) && crypto_sign_verify_detached(
		    raw + 4, (const uint8_t *)c->body.p, c->body.len,
		    p->log.pub) == 0)
			log_ok = 1;
		for (k = 0; n == 76 && k < p->ncos; k++) {
			if (!named(&name, &p->cos[k], raw) || (seen >> k) & 1)
				continue;
			for (ts = 0, i = 0; i < 8; i++)
				ts = ts << 8 | raw[4 + i];
			mlen = (size_t)snprintf((char *)msg, 64, "cosignature/v1"
			    "\ntime %llu\n", (unsigned long long)ts);
			memcpy(msg + mlen, c->body.p, c->body.len);
			if (crypto_sign_verify_detached(raw + 12, msg,
			    mlen + c->body.len, p->cos[k].pub) == 0) {
				seen |= (uint32_t)1 << k;
				(*nvalid)++;
			}
		}
	}
	if (p->ncos > 0 && *nvalid < p->quorum)
		return WHY("no quorum: %u valid cosignatures of the %u the "
		    "policy needs", *nvalid, p->quorum);
	if (p->ncos == 0 && !p->log.ed25519)
		return WHY("the policy's log key is not Ed25519 and it names "
		    "no cosigners");
	if (p->ncos == 0 && !log_ok)
		return WHY("the checkpoint is not signed by the log key %s",
		    p->log.name);
	return 0;
}

/* The "KEY VALUE" lines of an entry's body (up to the blank line), a
 * status leaf or a state file: the first value of each key. */
enum { F_TYPE, F_GROUP, F_VERSION, F_SHA, F_KEY, F_CERT, F_STATUS, F_INDEX,
    F_AT, F_REASON, F_RINDEX, F_NB, F_NA, F_SIZE, F_ROOT, F_N };
static const char *const fnames[F_N] = { "type", "group", "version", "sha256",
    "key", "cert", "status", "index", "revoked-at", "reason", "revoked-index",
    "not-before", "not-after", "size", "root" };
struct config { struct kbv_span f[F_N]; };

static void
parse_fields(struct kbv_span s, struct config *c)
{
	struct kbv_span line, v;
	int k;

	memset(c, 0, sizeof(*c));
	while (next_line(&s, &line) == 0 && line.len > 0)
		for (k = 0; k < F_N; k++)
			if (c->f[k].p == NULL && keyed(&line, fnames[k], &v))
				c->f[k] = v;
}

/* A config-publish entry's fields into c.  0 or -1. */
static int
parse_config(const struct kbv_span *entry, struct config *c)
{
	parse_fields(*entry, c);
	return same(&c->f[F_TYPE], "config-publish", 14) &&
	    c->f[F_GROUP].p != NULL && c->f[F_VERSION].p != NULL &&
	    c->f[F_SHA].len == 2 * KBV_HASH ? 0 : -1;
}

/* The checkpoint against the remembered state: not older, not another
 * tree of the same size, and consistent when the bundle proves it. */
static int
check_state(const struct kbv_bundle *b, const struct kbv_state *st,
    const struct checkpoint *c, char *why, size_t whylen)
{
	unsigned long long n = c->size, m = st != NULL ? st->size : 0;

	if (m == 0)
		return 0;
	if (n < m)
		return WHY("rollback: checkpoint size %llu is older than the "
		    "remembered %llu", n, m);
	if (n == m && sodium_memcmp(c->root, st->root, KBV_HASH) != 0)
		return WHY("fork: checkpoint size %llu has another root than "
		    "the remembered one", n);
	if (b->has_since && b->since != m)
		return WHY("the consistency proof starts at %llu, the "
		    "remembered checkpoint is %llu",
		    (unsigned long long)b->since, m);
	if (b->has_since && consistency(m, n, st->root, c->root,
	    (const uint8_t (*)[KBV_HASH])b->cons, b->ncons) != 0)
		return WHY("inconsistent: checkpoint %llu does not extend the "
		    "remembered %llu", n, m);
	return 0;
}

/* A file's bundle: its entry in the checkpoint's tree, a config
 * publication of the group and of the file's hash, and the group's
 * latest one when the bundle names it.  The verdict, the line in why. */
static enum kbv_verdict
check_config(const struct kbv_bundle *b, const struct kbv_ask *ask,
    const struct checkpoint *c, char *why, size_t whylen)
{
	struct config e, l;
	char hex[2 * KBV_HASH + 1];

	if (inclusion(&b->entry, b->index, c->size, (const uint8_t (*)
	    [KBV_HASH])b->proof, b->nproof, c->root) != 0)
		return REFUSE("tampered: entry %llu is not in the checkpoint's "
		    "tree", (unsigned long long)b->index);
	if (parse_config(&b->entry, &e) != 0)
		return REFUSE("the entry is not a config publication");
	if (ask->group != NULL && !same(&e.f[F_GROUP], ask->group,
	    strlen(ask->group)))
		return REFUSE("wrong group: the entry publishes for %.*s",
		    SPAN(e.f[F_GROUP]));
	sodium_bin2hex(hex, sizeof(hex), ask->sha256, KBV_HASH);
	if (!same(&e.f[F_SHA], hex, 2 * KBV_HASH))
		return REFUSE("the file's SHA-256 %s is not the published "
		    "%.*s", hex, SPAN(e.f[F_SHA]));
	if (b->has_latest && (b->latest <= b->index ||
	    inclusion(&b->latest_entry, b->latest, c->size, (const uint8_t (*)
	    [KBV_HASH])b->lproof, b->nlproof, c->root) != 0 ||
	    parse_config(&b->latest_entry, &l) != 0 || !same(&l.f[F_GROUP],
	    e.f[F_GROUP].p, e.f[F_GROUP].len)))
		return REFUSE("tampered: the bundle's latest publication does "
		    "not check");
	snprintf(why, whylen, "%s: %.*s version %.*s (index %llu)",
	    b->has_latest ? "superseded" : "current", SPAN(e.f[F_GROUP]),
	    SPAN(e.f[F_VERSION]), (unsigned long long)b->index);
	if (!b->has_latest)
		return KBV_CURRENT;
	snprintf(why + strlen(why), whylen - strlen(why), "; current is "
	    "version %.*s (sha256 %.*s, index %llu)", SPAN(l.f[F_VERSION]),
	    SPAN(l.f[F_SHA]), (unsigned long long)b->latest);
	return KBV_SUPERSEDED;
}

/* A status bundle: the status of the id asked, its leaf in the
 * checkpoint's map, the bundle's index the entry the leaf names (nothing
 * printed unproven).  The verdict, the line in why. */
static enum kbv_verdict
check_status(const struct kbv_bundle *b, const struct kbv_ask *ask,
    const struct checkpoint *c, char *why, size_t whylen)
{
	const char *kind = b->cert ? "certificate" : "key";
	struct config v;
	uint64_t idx = c->size, ri = 0;

	if (ask->id != NULL && (b->cert != ask->cert ||
	    !same(&b->id, ask->id, strlen(ask->id))))
		return REFUSE("the bundle is the status of %s %.*s", kind,
		    SPAN(b->id));
	if (!c->has_map || map_proof(b, c->map) != 0)
		return REFUSE("tampered: the status of %s %.*s is not in the "
		    "checkpoint's map", kind, SPAN(b->id));
	parse_fields(b->value, &v);
	if (b->value.len > 0 && (!same(&v.f[b->cert ? F_CERT : F_KEY],
	    b->id.p, b->id.len) || parse_u64(&v.f[F_INDEX], &idx) != 0 ||
	    (v.f[F_RINDEX].p != NULL && parse_u64(&v.f[F_RINDEX], &ri) != 0)))
		return REFUSE("malformed status leaf");
	if (b->index != (ri != 0 ? ri : idx))
		return REFUSE("tampered: the bundle's index is not its "
		    "status's entry");
	if (b->value.len == 0)
		snprintf(why, whylen, "absent: %s %.*s was never registered",
		    kind, SPAN(b->id));
	else if (same(&v.f[F_STATUS], "revoked", 7))
		snprintf(why, whylen, "revoked: %s %.*s, reason %.*s at %.*s "
		    "(entry %llu)", kind, SPAN(b->id), SPAN(v.f[F_REASON]),
		    SPAN(v.f[F_AT]), (unsigned long long)b->index);
	else
		snprintf(why, whylen, "%.*s: %s %.*s, valid from %.*s to %.*s "
		    "(entry %llu)", SPAN(v.f[F_STATUS]), kind, SPAN(b->id),
		    SPAN(v.f[F_NB]), SPAN(v.f[F_NA]),
		    (unsigned long long)b->index);
	return same(&v.f[F_STATUS], "active", 6) || same(&v.f[F_STATUS],
	    "good", 4) ? KBV_CURRENT : KBV_SUPERSEDED;
}

/* See kbv.h. */
enum kbv_verdict
kbv_verify(const struct kbv_policy *p, const struct kbv_bundle *b,
    const struct kbv_ask *ask, struct kbv_state *next, char *msg,
    size_t msglen)
{
	struct checkpoint c;
	char why[2 * KBV_WHY_MAX];
	size_t whylen = sizeof(why);
	unsigned nvalid = 0;
	enum kbv_verdict v = KBV_FAIL;

	if (parse_checkpoint(p, b->note, &c, why, whylen) != 0 ||
	    check_signatures(p, &c, &nvalid, why, whylen) != 0)
		;
	else if (b->status != ask->status)
		(void)WHY("the bundle is %s", b->status ? "a status proof, not "
		    "a file's" : "not a status proof");
	else if ((v = (b->status ? check_status : check_config)(b, ask, &c,
	    why, whylen)) != KBV_FAIL && check_state(b, ask->state, &c, why,
	    whylen) != 0)
		v = KBV_FAIL;
	if (v == KBV_FAIL) {
		snprintf(msg, msglen, "refused: %s", why);
		return KBV_FAIL;
	}
	next->size = c.size;
	memcpy(next->root, c.root, KBV_HASH);
	snprintf(msg, msglen, p->ncos == 0 ? "%s, checkpoint %llu, signed by "
	    "the log key" : "%s, checkpoint %llu, %u valid cosignatures "
	    "(quorum %u)", why, (unsigned long long)c.size, nvalid, p->quorum);
	return v;
}

/* See kbv.h.  "keybridge-state v1\nsize N\nroot BASE64\n" */
int
kbv_state_parse(const char *text, size_t len, struct kbv_state *st)
{
	struct config f;

	parse_fields((struct kbv_span){ text, len }, &f);
	return len < 19 || memcmp(text, "keybridge-state v1\n", 19) != 0 ||
	    parse_u64(&f.f[F_SIZE], &st->size) != 0 ||
	    b64_hash(&f.f[F_ROOT], st->root) != 0 ? -1 : 0;
}

int
kbv_state_format(const struct kbv_state *st, char *out, size_t outlen)
{
	char r[64];
	int n;

	sodium_bin2base64(r, sizeof(r), st->root, KBV_HASH,
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(out, outlen, "keybridge-state v1\nsize %llu\nroot %s\n",
	    (unsigned long long)st->size, r);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}
