/* kbv.c: parsing and checking keybridge proof bundles on a device (kbv.h).
 * Every length is bounded; nothing is allocated. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "kbv.h"

#define EM_DASH		"\xe2\x80\x94"	/* a signed-note signature line */
#define ALG_ED25519	0x01		/* signed-note Ed25519 */
#define ALG_ECDSA	0x02		/* keybridge's P-256 log key */
#define ALG_COSIG	0x04		/* C2SP cosignature/v1 */
#define P256_SPKI	91		/* a P-256 key's SubjectPublicKeyInfo */
#define BODY_MAX	4096		/* a checkpoint body */
#define SIGS_MAX	64		/* signature lines looked at */
#define LOG_LEAF	"\x00", 1	/* hash prefixes: RFC 6962's, */
#define LOG_NODE	"\x01", 1
#define MAP_LEAF	"\x10", 1	/* the status map's (ledger/smt.h) */
#define MAP_NODE	"\x11", 1
#define HALVE(a, b)	((a) >>= 1, (b) >>= 1)
/* A refusal's reason into the caller's why[0..whylen). */
#define WHY(...)	(snprintf(why, whylen, __VA_ARGS__), -1)
#define REFUSE(...)	(snprintf(why, whylen, __VA_ARGS__), KBV_FAIL)
#define SPAN(s)		(int)(s).len, (s).p	/* for "%.*s" */
#define STR(s)		((struct kbv_span){ (s), strlen(s) })

/* The next '\n'-ended line of *s into *line (without it).  0 or -1. */
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

/* 1 when line is "key value", with *v the value. */
static int
keyed(struct kbv_span line, const char *key, struct kbv_span *v)
{
	size_t k = strlen(key);
	if (line.len <= k || memcmp(line.p, key, k) != 0 || line.p[k] != ' ')
		return 0;
	*v = (struct kbv_span){ line.p + k + 1, line.len - k - 1 };
	return 1;
}

/* 1 when a is present and holds b's bytes. */
static int
same(struct kbv_span a, struct kbv_span b)
{
	return a.p != NULL && a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* A decimal with no sign, no leading zero.  0 or -1. */
static int
parse_dec(struct kbv_span v, unsigned long long *out)
{
	unsigned long long n = 0, d;
	size_t i;
	if (v.len == 0 || (v.len > 1 && v.p[0] == '0'))
		return -1;
	for (i = 0; i < v.len; i++, n = n * 10 + d)
		if ((d = (unsigned char)v.p[i] - (unsigned)'0') > 9 ||
		    n > (ULLONG_MAX - d) / 10)
			return -1;
	*out = n;
	return 0;
}

/* Strict base64 (one text per value) of v into out[0..cap): its length. */
static int
b64(struct kbv_span v, uint8_t *out, size_t cap)
{
	size_t n;
	return v.len > 0 && sodium_base642bin(out, cap, v.p, v.len, NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL) == 0 ? (int)n : -1;
}

/* The hash of v appended to l, if l holds fewer than max.  0 or -1. */
static int
add_hash(struct kbv_span v, struct kbv_hashes *l, size_t max)
{
	return l->n < max && b64(v, l->h[l->n], KBV_HASH) == KBV_HASH ?
	    (l->n++, 0) : -1;
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

/* A verifier key "NAME+HEX8+base64(alg || key)" (key ID SHA-256(NAME || '\n'
 * || alg || key)[:4]) into k: a 32-byte key of alg or, for the log, a P-256
 * key (ed25519 0).  The decoded length is checked before use.  0 or -1. */
static int
parse_vkey(struct kbv_span v, uint8_t alg, struct kbv_key *k)
{
	const char *p1 = memchr(v.p, '+', v.len), *end = v.p + v.len;
	uint8_t raw[1 + P256_SPKI], h[KBV_HASH];
	char hex[9];
	int n = -1;
	memset(k, 0, sizeof(*k));
	if (p1 != NULL && p1 != v.p && p1 - v.p <= KBV_NAME_MAX &&
	    end - p1 > 10 && p1[9] == '+')
		n = b64((struct kbv_span){ p1 + 10, (size_t)(end - p1 - 10) },
		    raw, sizeof(raw));
	if ((n != 33 || raw[0] != alg) && (n != 1 + P256_SPKI ||
	    raw[0] != ALG_ECDSA || alg != ALG_ED25519))
		return -1;
	memcpy(k->name, v.p, (size_t)(p1 - v.p));
	sha(h, k->name, strlen(k->name), "\n", 1, raw, (size_t)n);
	sodium_bin2hex(hex, sizeof(hex), h, 4);
	memcpy(k->id, h, 4);
	memcpy(k->pub, raw + 1, 32);
	k->ed25519 = raw[0] != ALG_ECDSA;
	return memcmp(hex, p1 + 1, 8) == 0 ? 0 : -1;
}

/* One "validator|witness NAME VKEY [URL]" value into p: 0, -1 malformed, or
 * -2 when a cosigner before has its name or key (it would count twice). */
static int
policy_cosigner(struct kbv_span v, struct kbv_policy *p)
{
	const char *sp = memchr(v.p, ' ', v.len), *sp2;
	struct kbv_key *k = &p->cos[p->ncos];
	struct kbv_span vk;
	size_t i;
	if (sp == NULL || p->ncos >= KBV_COSIGNERS_MAX)
		return -1;
	vk = (struct kbv_span){ sp + 1, v.len - (size_t)(sp + 1 - v.p) };
	if ((sp2 = memchr(vk.p, ' ', vk.len)) != NULL)
		vk.len = (size_t)(sp2 - vk.p);
	if (parse_vkey(vk, ALG_COSIG, k) != 0 ||
	    !same((struct kbv_span){ v.p, (size_t)(sp - v.p) }, STR(k->name)))
		return -1;
	for (i = 0; i < p->ncos; i++)
		if (strcmp(p->cos[i].name, k->name) == 0 ||
		    memcmp(p->cos[i].pub, k->pub, 32) == 0)
			return -2;
	p->ncos++;
	return 0;
}

/* See kbv.h.  The `keybridge-policy v1` text of docs/cli.md "policy". */
int
kbv_policy_parse(const char *text, size_t len, struct kbv_policy *p,
    char *why, size_t whylen)
{
	struct kbv_span s = { text, len }, line, v;
	unsigned long long q = 0;
	int n = 0, stage = 0, rc = 0;
	memset(p, 0, sizeof(*p));
	while (next_line(&s, &line) == 0) {
		if (n++, line.len == 0 || line.p[0] == '#')
			continue;
		if (stage == 0 && same(line, STR("keybridge-policy v1")))
			stage = 1;
		else if (stage == 1 && keyed(line, "origin", &v) &&
		    v.len <= KBV_ORIGIN_MAX)
			memcpy(p->origin, v.p, v.len), stage = 2;
		else if (stage == 2 && keyed(line, "log", &v) &&
		    parse_vkey(v, ALG_ED25519, &p->log) == 0)
			stage = 3;
		else if (stage == 3 && (keyed(line, "validator", &v) ||
		    keyed(line, "witness", &v)) &&
		    (rc = policy_cosigner(v, p)) == 0)
			;
		else if (stage == 3 && keyed(line, "quorum", &v) &&
		    parse_dec(v, &q) == 0 && q >= 1 && q <= p->ncos)
			stage = 4;
		else
			return WHY("policy line %d %s", n, rc == -2 ? "lists a "
			    "cosigner's name or key twice" : "is not what a "
			    "keybridge-policy v1 has there");
	}
	if (s.len != 0 || stage < 3 || (p->ncos > 0 && stage != 4))
		return WHY("the policy is incomplete (it needs its format "
		    "line, origin, log%s)", p->ncos > 0 ? " and quorum" : "");
	p->quorum = (unsigned)q;
	return 0;
}

/* See kbv.h.  C2SP tlog-proof (header, extra, index, proof, "", note); the
 * extra's keys (docs/api.md): a file's bundle has the first six, a status
 * bundle the last five, each once but the hash lists.  Nothing here is
 * trusted: kbv_verify checks what it uses; a part left out fails there. */
enum { X_ENTRY, X_SINCE, X_LATEST, X_LENTRY, X_CONS, X_LPROOF, X_KEY,
    X_CERT, X_VALUE, X_BITMAP, X_SIB, X_N };
static const char *const xnames[X_N] = { "entry", "since", "latest",
    "latest-entry", "consistency", "latest-proof", "key", "cert", "value",
    "bitmap", "sibling" };

int
kbv_bundle_parse(const char *text, size_t len, uint8_t *scratch, size_t cap,
    struct kbv_bundle *b, char *why, size_t whylen)
{
	struct kbv_span s = { text, len }, line, v, x, *dst[X_N] = { &b->entry,
	    [X_LENTRY] = &b->latest_entry, [X_VALUE] = &b->value };
	struct kbv_hashes *list[X_N + 1] = { [X_CONS] = &b->cons,
	    [X_LPROOF] = &b->lproof, [X_SIB] = &b->sib };
	unsigned seen = 0, once;
	size_t off;
	int n = 0, k;
	memset(b, 0, sizeof(*b));
	if (len > KBV_BUNDLE_MAX || next_line(&s, &line) != 0 ||
	    !same(line, STR("c2sp.org/tlog-proof@v1")))
		return WHY("malformed bundle: not a c2sp.org/tlog-proof@v1");
	if (next_line(&s, &line) != 0 || !keyed(line, "extra", &v) ||
	    (n = b64(v, scratch, cap)) <= 0)
		return WHY("malformed bundle: no keybridge extra");
	x = (struct kbv_span){ (const char *)scratch, off = (size_t)n };
	if (next_line(&s, &line) != 0 || !keyed(line, "index", &v) ||
	    parse_dec(v, &b->index) != 0)
		return WHY("malformed bundle: no index line");
	while (next_line(&s, &line) == 0 && line.len > 0)
		if (add_hash(line, &b->proof, KBV_PROOF_MAX) != 0)
			return WHY("malformed bundle: an inclusion proof line "
			    "is not a base64 SHA-256 hash");
	if (line.len != 0 || s.len == 0)
		return WHY("malformed bundle: no checkpoint after the proof");
	b->note = s;
	if (next_line(&x, &line) != 0 || (!(b->status = same(line,
	    STR("keybridge-status v1"))) && !same(line,
	    STR("keybridge-proof v1"))))
		n = -1;
	while (n >= 0 && next_line(&x, &line) == 0) {
		for (k = 0; k < X_N && !keyed(line, xnames[k], &v); k++)
			;
		once = list[k] != NULL ? 0 : 1u << (k == X_CERT ? X_KEY : k);
		if (k == X_N || (k >= X_KEY) != b->status || (seen & once))
			n = -1;
		else if (list[k] != NULL)
			n = add_hash(v, list[k], k == X_SIB ? KBV_MAP_DEPTH :
			    KBV_PROOF_MAX);
		else if (k == X_SINCE || k == X_LATEST)
			n = parse_dec(v, k == X_SINCE ? &b->since : &b->latest);
		else if (k == X_BITMAP)
			n = b64(v, b->bitmap, sizeof(b->bitmap)) == 32 ? 0 : -1;
		else if (k == X_KEY || k == X_CERT)
			b->id = v, b->cert = k == X_CERT;
		else if ((n = b64(v, scratch + off, cap - off)) > 0) {
			*dst[k] = (struct kbv_span){ (char *)scratch + off,
			    (size_t)n };
			off += (size_t)n;
		} else
			n = -1;
		seen |= once;
	}
	b->has_latest = seen >> X_LATEST & 1;	/* since 0: no proof */
	return n < 0 || x.len != 0 || b->id.len > KBV_ID_MAX || (b->status ?
	    b->id.p : b->entry.p) == NULL ? WHY("malformed bundle: its "
	    "keybridge extra") : 0;
}

/* RFC 9162 2.1.3.2 and 2.1.4.2 share this walk: from node fn of a tree whose
 * last node is sn, fr and sr climb with p[0..n).  0 when it ends there. */
static int
walk(unsigned long long fn, unsigned long long sn, uint8_t fr[KBV_HASH],
    uint8_t sr[KBV_HASH], const uint8_t (*p)[KBV_HASH], size_t n)
{
	for (size_t i = 0; i < n; i++, HALVE(fn, sn)) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			sha(fr, LOG_NODE, p[i], KBV_HASH, fr, KBV_HASH);
			sha(sr, LOG_NODE, p[i], KBV_HASH, sr, KBV_HASH);
			while (!(fn & 1) && fn != 0)
				HALVE(fn, sn);
		} else
			sha(sr, LOG_NODE, sr, KBV_HASH, p[i], KBV_HASH);
	}
	return sn == 0 ? 0 : -1;
}

/* 0 when entry e is at index of the tree (size, root). */
static int
inclusion(struct kbv_span e, unsigned long long index,
    unsigned long long size, const struct kbv_hashes *l, const uint8_t *root)
{
	uint8_t fr[KBV_HASH], sr[KBV_HASH];
	sha(fr, LOG_LEAF, e.p, e.len, "", 0);
	memcpy(sr, fr, KBV_HASH);
	return index < size && walk(index, size - 1, fr, sr, l->h, l->n) == 0 &&
	    sodium_memcmp(sr, root, KBV_HASH) == 0 ? 0 : -1;
}

/* 0 when the tree (m, r1) is a prefix of (n, r2). */
static int
consistency(unsigned long long m, unsigned long long n, const uint8_t *r1,
    const uint8_t *r2, const struct kbv_hashes *l)
{
	uint8_t fr[KBV_HASH], sr[KBV_HASH];
	unsigned long long fn = m - 1, sn = n - 1;
	size_t i = 0;
	if (m == 0 || m > n || (m < n) != (l->n > 0))
		return -1;
	if (m == n)	/* no proof: the same tree */
		return sodium_memcmp(r1, r2, KBV_HASH) == 0 ? 0 : -1;
	while (fn & 1)
		HALVE(fn, sn);
	/* m a power of two: the path starts with r1 itself */
	memcpy(fr, (m & (m - 1)) == 0 ? r1 : l->h[i++], KBV_HASH);
	memcpy(sr, fr, KBV_HASH);
	return walk(fn, sn, fr, sr, l->h + i, l->n - i) == 0 &&
	    sodium_memcmp(fr, r1, KBV_HASH) == 0 &&
	    sodium_memcmp(sr, r2, KBV_HASH) == 0 ? 0 : -1;
}

/* ledger/smt.h: 0 when b's map proof leads from b->id's leaf (zeros when
 * absent) to root, the empty subtree of each depth (e) made on the way. */
static int
map_proof(const struct kbv_bundle *b, const uint8_t *root)
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
		if ((b->bitmap[d / 8] >> (7 - d % 8) & 1) &&
		    (s = k < b->sib.n ? b->sib.h[k++] : NULL) == NULL)
			return -1;
		right = path[d / 8] >> (7 - d % 8) & 1;
		sha(x, MAP_NODE, right ? s : x, KBV_HASH, right ? x : s,
		    KBV_HASH);
		sha(e, MAP_NODE, e, KBV_HASH, e, KBV_HASH);
	}
	return k == b->sib.n && sodium_memcmp(x, root, KBV_HASH) == 0 ? 0 : -1;
}

/* A checkpoint's body (with its last '\n'), size, root, map, cosigners. */
struct checkpoint {
	struct kbv_span body;
	unsigned long long size;
	uint8_t root[KBV_HASH], map[KBV_HASH];
	unsigned has_map, nvalid;
};

/* 1 when name and raw[0..n) (key ID || [time ||] signature, length checked
 * first) are k's signed-note Ed25519 signature of body or, with cosig, its
 * C2SP cosignature/v1 (Ed25519 over "cosignature/v1\ntime T\n" || body). */
static int
signed_by(const struct kbv_key *k, int cosig, struct kbv_span name,
    const uint8_t *raw, int n, struct kbv_span body)
{
	uint8_t msg[64 + BODY_MAX];
	unsigned long long ts = 0;
	size_t i, mlen = 0;
	if (n != (cosig ? 76 : 68) || !k->ed25519 ||
	    !same(name, STR(k->name)) || memcmp(raw, k->id, 4) != 0)
		return 0;
	for (i = 4; cosig && i < 12; i++)
		ts = ts << 8 | raw[i];
	if (cosig)
		mlen = (size_t)snprintf((char *)msg, 64, "cosignature/v1\n"
		    "time %llu\n", ts);
	memcpy(msg + mlen, body.p, body.len);
	return crypto_sign_verify_detached(raw + n - 64, msg, mlen + body.len,
	    k->pub) == 0;
}

/* The checkpoint of note into c, final when signed by a quorum of distinct
 * cosigners of the policy, or solo by its log key.  0 or -1. */
static int
check_checkpoint(const struct kbv_policy *p, struct kbv_span note,
    struct checkpoint *c, char *why, size_t whylen)
{
	const char *end = memmem(note.p, note.len, "\n\n", 2), *sp;
	struct kbv_span s, line, v;
	uint8_t raw[128];
	uint32_t seen = 0;
	size_t k, lines = 0;
	int log_ok = 0, n;
	memset(c, 0, sizeof(*c));
	if (end == NULL || end + 1 - note.p > BODY_MAX)
		return WHY("malformed checkpoint: no signatures");
	s = c->body = (struct kbv_span){ note.p, (size_t)(end + 1 - note.p) };
	if (next_line(&s, &line) != 0 || !same(line, STR(p->origin)))
		return WHY("the checkpoint is not of origin %s", p->origin);
	if (next_line(&s, &v) != 0 || parse_dec(v, &c->size) != 0 ||
	    next_line(&s, &v) != 0 || b64(v, c->root, KBV_HASH) != KBV_HASH)
		return WHY("malformed checkpoint body");
	while (next_line(&s, &line) == 0)	/* extension lines */
		if (keyed(line, "map", &v) && (c->has_map++ ||
		    b64(v, c->map, KBV_HASH) != KBV_HASH))
			return WHY("malformed checkpoint map line");
	s = (struct kbv_span){ end + 2, note.len - c->body.len - 1 };
	while (next_line(&s, &line) == 0 && lines++ < SIGS_MAX) {
		/* "— NAME BASE64(key ID || [timestamp ||] signature)" */
		if (!keyed(line, EM_DASH, &v) ||
		    (sp = memchr(v.p, ' ', v.len)) == NULL)
			continue;
		n = b64((struct kbv_span){ sp + 1, (size_t)(v.p + v.len - sp -
		    1) }, raw, sizeof(raw));
		v.len = (size_t)(sp - v.p);
		log_ok |= signed_by(&p->log, 0, v, raw, n, c->body);
		for (k = 0; k < p->ncos; k++)	/* each cosigner once */
			if (!(seen >> k & 1) && signed_by(&p->cos[k], 1, v, raw,
			    n, c->body))
				seen |= (uint32_t)1 << k, c->nvalid++;
	}
	if (p->ncos > 0 && c->nvalid < p->quorum)
		return WHY("no quorum: %u valid cosignatures of the %u the "
		    "policy needs", c->nvalid, p->quorum);
	if (p->ncos == 0 && !log_ok)
		return WHY(p->log.ed25519 ? "the checkpoint is not signed by "
		    "the log key %s" : "the policy's log key %s is not Ed25519 "
		    "and it names no cosigners", p->log.name);
	return 0;
}

/* "KEY VALUE" lines (an entry's body, a status leaf, a state): each first. */
enum { F_TYPE, F_GROUP, F_VERSION, F_SHA, F_KEY, F_CERT, F_STATUS, F_INDEX,
    F_AT, F_REASON, F_RINDEX, F_NB, F_NA, F_SIZE, F_ROOT, F_N };
static const char *const fnames[F_N] = { "type", "group", "version", "sha256",
    "key", "cert", "status", "index", "revoked-at", "reason", "revoked-index",
    "not-before", "not-after", "size", "root" };

static void
parse_fields(struct kbv_span s, struct kbv_span f[F_N])
{
	struct kbv_span line, v;
	int k;
	memset(f, 0, F_N * sizeof(*f));
	while (next_line(&s, &line) == 0 && line.len > 0)
		for (k = 0; k < F_N; k++)
			if (f[k].p == NULL && keyed(line, fnames[k], &v))
				f[k] = v;
}

/* A config-publish entry's fields into f.  0 or -1. */
static int
parse_config(struct kbv_span entry, struct kbv_span f[F_N])
{
	parse_fields(entry, f);
	return same(f[F_TYPE], STR("config-publish")) && f[F_GROUP].p != NULL &&
	    f[F_VERSION].p != NULL && f[F_SHA].len == 2 * KBV_HASH ? 0 : -1;
}

/* A file's bundle: its entry in the tree, a config publication of the group
 * and the file's hash, and the group's latest when the bundle names it. */
static enum kbv_verdict
check_config(const struct kbv_bundle *b, const struct kbv_ask *ask,
    const struct checkpoint *c, char *why, size_t whylen)
{
	struct kbv_span e[F_N], l[F_N];
	char hex[2 * KBV_HASH + 1];
	int n;
	if (inclusion(b->entry, b->index, c->size, &b->proof, c->root) != 0)
		return REFUSE("tampered: entry %llu is not in the checkpoint's "
		    "tree", b->index);
	if (parse_config(b->entry, e) != 0)
		return REFUSE("the entry is not a config publication");
	if (ask->group != NULL && !same(e[F_GROUP], STR(ask->group)))
		return REFUSE("wrong group: the entry publishes for %.*s",
		    SPAN(e[F_GROUP]));
	sodium_bin2hex(hex, sizeof(hex), ask->sha256, KBV_HASH);
	if (!same(e[F_SHA], STR(hex)))
		return REFUSE("the file's SHA-256 %s is not the published "
		    "%.*s", hex, SPAN(e[F_SHA]));
	if (b->has_latest && (b->latest <= b->index || inclusion(
	    b->latest_entry, b->latest, c->size, &b->lproof, c->root) != 0 ||
	    parse_config(b->latest_entry, l) != 0 || !same(l[F_GROUP],
	    e[F_GROUP])))
		return REFUSE("tampered: the bundle's latest publication does "
		    "not check");
	n = snprintf(why, whylen, "%s: %.*s version %.*s (index %llu)",
	    b->has_latest ? "superseded" : "current", SPAN(e[F_GROUP]),
	    SPAN(e[F_VERSION]), b->index);
	if (b->has_latest && n > 0 && (size_t)n < whylen)
		snprintf(why + n, whylen - (size_t)n, "; current is version "
		    "%.*s (sha256 %.*s, index %llu)", SPAN(l[F_VERSION]),
		    SPAN(l[F_SHA]), b->latest);
	return b->has_latest ? KBV_SUPERSEDED : KBV_CURRENT;
}

/* A status bundle: the id asked, its leaf in the map, the bundle's index
 * the entry the leaf names (nothing printed unproven). */
static enum kbv_verdict
check_status(const struct kbv_bundle *b, const struct kbv_ask *ask,
    const struct checkpoint *c, char *why, size_t whylen)
{
	const char *kind = b->cert ? "certificate" : "key";
	struct kbv_span f[F_N];
	unsigned long long idx = c->size, ri = 0;
	if (ask->id != NULL && (b->cert != ask->cert ||
	    !same(b->id, STR(ask->id))))
		return REFUSE("the bundle is the status of %s %.*s", kind,
		    SPAN(b->id));
	if (!c->has_map || map_proof(b, c->map) != 0)
		return REFUSE("tampered: the status of %s %.*s is not in the "
		    "checkpoint's map", kind, SPAN(b->id));
	parse_fields(b->value, f);
	if (b->value.len > 0 && (!same(f[b->cert ? F_CERT : F_KEY], b->id) ||
	    parse_dec(f[F_INDEX], &idx) != 0 || (f[F_RINDEX].p != NULL &&
	    parse_dec(f[F_RINDEX], &ri) != 0)))
		return REFUSE("malformed status leaf");
	if (b->index != (ri != 0 ? ri : idx))
		return REFUSE("tampered: the bundle's index is not its "
		    "status's entry");
	if (b->value.len == 0)
		snprintf(why, whylen, "absent: %s %.*s was never registered",
		    kind, SPAN(b->id));
	else if (same(f[F_STATUS], STR("revoked")))
		snprintf(why, whylen, "revoked: %s %.*s, reason %.*s at %.*s "
		    "(entry %llu)", kind, SPAN(b->id), SPAN(f[F_REASON]),
		    SPAN(f[F_AT]), b->index);
	else
		snprintf(why, whylen, "%.*s: %s %.*s, valid from %.*s to %.*s "
		    "(entry %llu)", SPAN(f[F_STATUS]), kind, SPAN(b->id),
		    SPAN(f[F_NB]), SPAN(f[F_NA]), b->index);
	return same(f[F_STATUS], STR("active")) || same(f[F_STATUS],
	    STR("good")) ? KBV_CURRENT : KBV_SUPERSEDED;
}

/* See kbv.h.  The state ("keybridge-state v1\nsize N\nroot BASE64\n") is
 * read first; last, the checkpoint must not be older, another tree of its
 * size, or inconsistent with it when the bundle proves it. */
enum kbv_verdict
kbv_verify(const struct kbv_policy *p, const struct kbv_bundle *b,
    const struct kbv_ask *ask, char *state, size_t statelen, char *msg,
    size_t msglen)
{
	struct kbv_span f[F_N];
	struct checkpoint c;
	unsigned long long m = 0;
	uint8_t root[KBV_HASH];
	char why[2 * KBV_WHY_MAX], r[64];
	size_t whylen = sizeof(why);
	enum kbv_verdict v = KBV_FAIL;
	int n;
	parse_fields(ask->state, f);
	if (ask->state.p != NULL && (ask->state.len < 19 || memcmp(ask->state.p,
	    "keybridge-state v1\n", 19) != 0 || parse_dec(f[F_SIZE], &m) != 0 ||
	    b64(f[F_ROOT], root, KBV_HASH) != KBV_HASH))
		(void)WHY("the state is damaged");
	else if (check_checkpoint(p, b->note, &c, why, whylen) != 0)
		;
	else if (b->status != ask->status)
		(void)WHY("the bundle is %s", b->status ? "a status proof, not "
		    "a file's" : "not a status proof");
	else if ((v = (b->status ? check_status : check_config)(b, ask, &c,
	    why, whylen)) == KBV_FAIL)
		;
	else if (m > 0 && c.size < m)
		v = REFUSE("rollback: checkpoint size %llu is older than the "
		    "remembered %llu", c.size, m);
	else if (m > 0 && c.size == m && sodium_memcmp(c.root, root,
	    KBV_HASH) != 0)
		v = REFUSE("fork: checkpoint size %llu has another root than "
		    "the remembered one", m);
	else if (m > 0 && b->since > 0 && b->since != m)
		v = REFUSE("the consistency proof starts at %llu, the "
		    "remembered checkpoint is %llu", b->since, m);
	else if (m > 0 && b->since > 0 && consistency(m, c.size, root, c.root,
	    &b->cons) != 0)
		v = REFUSE("inconsistent: checkpoint %llu does not extend the "
		    "remembered %llu", c.size, m);
	else if (sodium_bin2base64(r, sizeof(r), c.root, KBV_HASH,
	    sodium_base64_VARIANT_ORIGINAL) == NULL || (n = snprintf(state,
	    statelen, "keybridge-state v1\nsize %llu\nroot %s\n", c.size,
	    r)) < 0 || (size_t)n >= statelen)
		v = REFUSE("the new state does not fit in %zu bytes", statelen);
	if (v == KBV_FAIL)
		return snprintf(msg, msglen, "refused: %s", why), KBV_FAIL;
	snprintf(msg, msglen, p->ncos == 0 ? "%s, checkpoint %llu, signed by "
	    "the log key" : "%s, checkpoint %llu, %u valid cosignatures "
	    "(quorum %u)", why, c.size, c.nvalid, p->quorum);
	return v;
}
