/*
 * kbv.c: parsing and checking keybridge proof bundles on a device
 * (kbv.h).  Every length is bounded; nothing is allocated.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "kbv.h"

#define EM_DASH		"\xe2\x80\x94 "	/* a signed-note signature line */
#define ALG_ED25519	0x01		/* signed-note Ed25519 */
#define ALG_COSIG	0x04		/* C2SP cosignature/v1 */
#define BODY_MAX	4096		/* a checkpoint body */
#define SIGS_MAX	64		/* signature lines looked at */
#define HALVE(a, b)	((a) >>= 1, (b) >>= 1)

static int
whyf(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* The next line of *s (without its '\n') into *line; -1 at the end or on
 * a last line without '\n'. */
static int
next_line(struct kbv_span *s, struct kbv_span *line)
{
	const char *nl;

	if (s->len == 0 || (nl = memchr(s->p, '\n', s->len)) == NULL)
		return -1;
	line->p = s->p;
	line->len = (size_t)(nl - s->p);
	s->p = nl + 1;
	s->len -= line->len + 1;
	return 0;
}

/* 1 when line is exactly lit. */
static int
is(const struct kbv_span *line, const char *lit)
{
	return line->len == strlen(lit) && memcmp(line->p, lit, line->len) == 0;
}

/* 1 when line is "key value...", with *v the value. */
static int
keyed(const struct kbv_span *line, const char *key, struct kbv_span *v)
{
	size_t k = strlen(key);

	if (line->len <= k || memcmp(line->p, key, k) != 0 || line->p[k] != ' ')
		return 0;
	v->p = line->p + k + 1;
	v->len = line->len - k - 1;
	return 1;
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

/* SHA-256(name || '\n' || alg || pub)[:4]: a signed-note key ID. */
static void
key_id(const char *name, uint8_t alg, const uint8_t pub[32], uint8_t id[4])
{
	uint8_t in[KBV_NAME_MAX + 34], h[KBV_HASH];
	size_t n = strlen(name);

	memcpy(in, name, n);
	in[n] = '\n';
	in[n + 1] = alg;
	memcpy(in + n + 2, pub, 32);
	crypto_hash_sha256(h, in, n + 34);
	memcpy(id, h, 4);
}

/* A verifier key "name+hex8+base64(alg || key)" of alg into k.  A log
 * key of another algorithm (P-256) is kept with ed25519 = 0.  0 or -1. */
static int
parse_vkey(const struct kbv_span *v, uint8_t alg, struct kbv_key *k)
{
	const char *p1 = memchr(v->p, '+', v->len), *p2;
	uint8_t raw[128], id[4];
	struct kbv_span kb;
	char hex[9];
	long n;

	memset(k, 0, sizeof(*k));
	if (p1 == NULL || p1 == v->p || (size_t)(p1 - v->p) > KBV_NAME_MAX ||
	    (size_t)(v->p + v->len - p1) < 10 || p1[9] != '+')
		return -1;
	p2 = p1 + 9;
	memcpy(k->name, v->p, (size_t)(p1 - v->p));
	kb.p = p2 + 1;
	kb.len = (size_t)(v->p + v->len - kb.p);
	if ((n = b64(&kb, raw, sizeof(raw))) < 2)
		return -1;
	if (raw[0] != alg || n != 33)
		return alg == ALG_ED25519 && raw[0] != ALG_ED25519 ? 0 : -1;
	memcpy(k->pub, raw + 1, 32);
	key_id(k->name, alg, k->pub, id);
	snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", id[0], id[1], id[2],
	    id[3]);
	if (memcmp(hex, p1 + 1, 8) != 0)
		return -1;
	memcpy(k->id, id, 4);
	k->ed25519 = 1;
	return 0;
}

/* One "validator|witness NAME VKEY [URL]" value into p. 0 or -1. */
static int
policy_cosigner(struct kbv_span v, struct kbv_policy *p)
{
	const char *sp = memchr(v.p, ' ', v.len), *sp2;
	struct kbv_span vk;
	size_t i;

	if (sp == NULL || p->ncos >= KBV_COSIGNERS_MAX)
		return -1;
	vk.p = sp + 1;
	vk.len = v.len - (size_t)(vk.p - v.p);
	if ((sp2 = memchr(vk.p, ' ', vk.len)) != NULL)
		vk.len = (size_t)(sp2 - vk.p);
	if (parse_vkey(&vk, ALG_COSIG, &p->cos[p->ncos]) != 0 ||
	    strlen(p->cos[p->ncos].name) != (size_t)(sp - v.p) ||
	    memcmp(p->cos[p->ncos].name, v.p, (size_t)(sp - v.p)) != 0)
		return -1;
	for (i = 0; i < p->ncos; i++)
		if (strcmp(p->cos[i].name, p->cos[p->ncos].name) == 0 ||
		    memcmp(p->cos[i].pub, p->cos[p->ncos].pub, 32) == 0)
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
	int n = 0, stage = 0, have_q = 0;

	memset(p, 0, sizeof(*p));
	while (next_line(&s, &line) == 0) {
		n++;
		if (line.len == 0 || line.p[0] == '#')
			continue;
		if (stage == 0 && is(&line, "keybridge-policy v1"))
			stage = 1;
		else if (stage == 1 && keyed(&line, "origin", &v) &&
		    v.len <= KBV_ORIGIN_MAX) {
			memcpy(p->origin, v.p, v.len);
			stage = 2;
		} else if (stage == 2 && keyed(&line, "log", &v) &&
		    parse_vkey(&v, ALG_ED25519, &p->log) == 0)
			stage = 3;
		else if (stage == 3 && (keyed(&line, "validator", &v) ||
		    keyed(&line, "witness", &v)) && policy_cosigner(v, p) == 0)
			;
		else if (stage == 3 && keyed(&line, "quorum", &v) &&
		    parse_u64(&v, &q) == 0 && q >= 1 && q <= p->ncos) {
			have_q = 1;
			stage = 4;
		} else
			return whyf(why, whylen, "policy line %d is not what a "
			    "keybridge-policy v1 has there", n);
	}
	if (s.len != 0 || stage < 3 || (p->ncos > 0 && !have_q))
		return whyf(why, whylen, "the policy is incomplete (it needs "
		    "its format line, origin, log%s)", p->ncos > 0 ?
		    " and quorum" : "");
	p->quorum = (unsigned)q;
	return 0;
}

/* Hash lines "KEY B64" (key "" : the hash alone) from *s into h while they
 * come.  The count, or -1 on a bad hash or too many. */
static long
hash_lines(struct kbv_span *s, const char *key, uint8_t (*h)[KBV_HASH])
{
	struct kbv_span save, line, v;
	size_t n = 0;

	for (;;) {
		save = *s;
		if (next_line(s, &line) != 0 || line.len == 0 ||
		    (key[0] != '\0' && !keyed(&line, key, &v))) {
			*s = save;
			return (long)n;
		}
		if (key[0] == '\0')
			v = line;
		if (n >= KBV_PROOF_MAX || b64_hash(&v, h[n]) != 0)
			return -1;
		n++;
	}
}

/* "KEY B64" decoded into scratch at *off as *out.  0 or -1. */
static int
b64_field(struct kbv_span *s, const char *key, uint8_t *scratch, size_t cap,
    size_t *off, struct kbv_span *out)
{
	struct kbv_span line, v;
	long n;

	if (next_line(s, &line) != 0 || !keyed(&line, key, &v) ||
	    (n = b64(&v, scratch + *off, cap - *off)) <= 0)
		return -1;
	out->p = (const char *)scratch + *off;
	out->len = (size_t)n;
	*off += (size_t)n;
	return 0;
}

/* The keybridge extra (docs/api.md) x into b; entries at scratch+*off. */
static int
parse_extra(struct kbv_span x, uint8_t *scratch, size_t cap, size_t *off,
    struct kbv_bundle *b, char *why, size_t whylen)
{
	struct kbv_span line, v, save;
	long n;

	if (next_line(&x, &line) != 0 || !is(&line, "keybridge-proof v1") ||
	    b64_field(&x, "entry", scratch, cap, off, &b->entry) != 0)
		return whyf(why, whylen, "malformed bundle: extra is not a "
		    "keybridge-proof v1 with its entry");
	save = x;
	if (next_line(&x, &line) == 0 && keyed(&line, "since", &v)) {
		if (parse_u64(&v, &b->since) != 0 || b->since == 0 ||
		    (n = hash_lines(&x, "consistency", b->cons)) < 0)
			return whyf(why, whylen, "malformed bundle: since or "
			    "consistency");
		b->has_since = 1;
		b->ncons = (size_t)n;
		save = x;
	} else
		x = save;
	if (next_line(&x, &line) == 0 && keyed(&line, "latest", &v)) {
		if (parse_u64(&v, &b->latest) != 0 ||
		    b64_field(&x, "latest-entry", scratch, cap, off,
		    &b->latest_entry) != 0 ||
		    (n = hash_lines(&x, "latest-proof", b->lproof)) < 0)
			return whyf(why, whylen, "malformed bundle: latest");
		b->has_latest = 1;
		b->nlproof = (size_t)n;
	} else
		x = save;
	if (x.len != 0)
		return whyf(why, whylen, "malformed bundle: an unknown line "
		    "in extra");
	return 0;
}

/* See kbv.h.  C2SP tlog-proof: header, extra, index, proof, "", note. */
int
kbv_bundle_parse(const char *text, size_t len, uint8_t *scratch, size_t cap,
    struct kbv_bundle *b, char *why, size_t whylen)
{
	struct kbv_span s = { text, len }, line, v, x;
	size_t off = 0;
	long n;

	memset(b, 0, sizeof(*b));
	if (len > KBV_BUNDLE_MAX || next_line(&s, &line) != 0 ||
	    !is(&line, "c2sp.org/tlog-proof@v1"))
		return whyf(why, whylen, "malformed bundle: not a "
		    "c2sp.org/tlog-proof@v1");
	if (next_line(&s, &line) != 0 || !keyed(&line, "extra", &v) ||
	    (n = b64(&v, scratch, cap)) <= 0)
		return whyf(why, whylen, "malformed bundle: no keybridge extra");
	x.p = (const char *)scratch;
	x.len = (size_t)n;
	off = (size_t)n;
	if (next_line(&s, &line) != 0 || !keyed(&line, "index", &v) ||
	    parse_u64(&v, &b->index) != 0)
		return whyf(why, whylen, "malformed bundle: no index line");
	if ((n = hash_lines(&s, "", b->proof)) < 0)
		return whyf(why, whylen, "malformed bundle: an inclusion proof "
		    "line is not a base64 SHA-256 hash");
	b->nproof = (size_t)n;
	if (next_line(&s, &line) != 0 || line.len != 0 || s.len == 0)
		return whyf(why, whylen, "malformed bundle: no checkpoint after "
		    "the proof");
	b->note = s;
	return parse_extra(x, scratch, cap, &off, b, why, whylen);
}

static void
node(uint8_t out[KBV_HASH], const uint8_t *l, const uint8_t *r)
{
	uint8_t in[1 + 2 * KBV_HASH];

	in[0] = 0x01;
	memcpy(in + 1, l, KBV_HASH);
	memcpy(in + 1 + KBV_HASH, r, KBV_HASH);
	crypto_hash_sha256(out, in, sizeof(in));
}

/* RFC 9162 2.1.3.2: 0 when leaf is at index of the tree (size, root). */
static int
inclusion(const uint8_t leaf[KBV_HASH], uint64_t index, uint64_t size,
    const uint8_t (*proof)[KBV_HASH], size_t n, const uint8_t root[KBV_HASH])
{
	uint8_t r[KBV_HASH];
	uint64_t fn = index, sn = size - 1;
	size_t i;

	if (index >= size)
		return -1;
	memcpy(r, leaf, KBV_HASH);
	for (i = 0; i < n; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			node(r, proof[i], r);
			while (!(fn & 1) && fn != 0)
				HALVE(fn, sn);
		} else
			node(r, r, proof[i]);
		HALVE(fn, sn);
	}
	return sn == 0 && sodium_memcmp(r, root, KBV_HASH) == 0 ? 0 : -1;
}

/* RFC 9162 2.1.4.2: 0 when the tree (m, r1) is a prefix of (n, r2). */
static int
consistency(uint64_t m, uint64_t n, const uint8_t r1[KBV_HASH],
    const uint8_t r2[KBV_HASH], const uint8_t (*proof)[KBV_HASH], size_t np)
{
	uint8_t fr[KBV_HASH], sr[KBV_HASH];
	uint64_t fn, sn;
	size_t i = 0;

	if (m == 0 || m > n)
		return -1;
	if (m == n)
		return np == 0 && sodium_memcmp(r1, r2, KBV_HASH) == 0 ? 0 : -1;
	if (np == 0)
		return -1;
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		HALVE(fn, sn);
	}
	/* m a power of two: the path starts with r1 itself */
	if ((m & (m - 1)) == 0) {
		memcpy(fr, r1, KBV_HASH);
	} else {
		memcpy(fr, proof[0], KBV_HASH);
		i = 1;
	}
	memcpy(sr, fr, KBV_HASH);
	for (; i < np; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			node(fr, proof[i], fr);
			node(sr, proof[i], sr);
			while (!(fn & 1) && fn != 0)
				HALVE(fn, sn);
		} else
			node(sr, sr, proof[i]);
		HALVE(fn, sn);
	}
	return sn == 0 && sodium_memcmp(fr, r1, KBV_HASH) == 0 &&
	    sodium_memcmp(sr, r2, KBV_HASH) == 0 ? 0 : -1;
}

/* A checkpoint note's parts: its body (with the final '\n') and the
 * values of its first three lines. */
struct checkpoint {
	struct kbv_span body, sigs;
	uint64_t size;
	uint8_t root[KBV_HASH];
};

static int
parse_checkpoint(const struct kbv_policy *p, struct kbv_span note,
    struct checkpoint *c, char *why, size_t whylen)
{
	struct kbv_span s, line, v;
	size_t i;

	for (i = 0; i + 1 < note.len; i++)
		if (note.p[i] == '\n' && note.p[i + 1] == '\n')
			break;
	if (i + 1 >= note.len || i + 1 > BODY_MAX)
		return whyf(why, whylen, "malformed checkpoint: no signatures");
	c->body.p = note.p;
	c->body.len = i + 1;
	c->sigs.p = note.p + i + 2;
	c->sigs.len = note.len - i - 2;
	s = c->body;
	if (next_line(&s, &line) != 0 || line.len != strlen(p->origin) ||
	    memcmp(line.p, p->origin, line.len) != 0)
		return whyf(why, whylen, "the checkpoint is not of origin %s",
		    p->origin);
	if (next_line(&s, &v) != 0 || parse_u64(&v, &c->size) != 0 ||
	    next_line(&s, &v) != 0 || b64_hash(&v, c->root) != 0)
		return whyf(why, whylen, "malformed checkpoint body");
	return 0;
}

/* The signature line's name and decoded bytes (into raw).  Their length,
 * or -1 when it is not "— NAME BASE64". */
static long
sig_line(const struct kbv_span *line, struct kbv_span *name, uint8_t *raw,
    size_t cap)
{
	const char *sp;
	struct kbv_span v;

	if (line->len < 5 || memcmp(line->p, EM_DASH, 4) != 0)
		return -1;
	name->p = line->p + 4;
	if ((sp = memchr(name->p, ' ', line->len - 4)) == NULL)
		return -1;
	name->len = (size_t)(sp - name->p);
	v.p = sp + 1;
	v.len = line->len - 4 - name->len - 1;
	return b64(&v, raw, cap);
}

static int
named(const struct kbv_span *n, const struct kbv_key *k, const uint8_t *id)
{
	return n->len == strlen(k->name) && memcmp(n->p, k->name, n->len) == 0 &&
	    memcmp(id, k->id, 4) == 0;
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
	struct kbv_span s = c->sigs, line, name;
	uint64_t ts;
	size_t i, k, lines = 0, mlen;
	int log_ok = 0;
	long n;

	*nvalid = 0;
	while (next_line(&s, &line) == 0 && lines++ < SIGS_MAX) {
		if ((n = sig_line(&line, &name, raw, sizeof(raw))) < 4)
			continue;
		if (n == 68 && p->log.ed25519 && named(&name, &p->log, raw) &&
		    crypto_sign_verify_detached(raw + 4,
		    (const uint8_t *)c->body.p, c->body.len, p->log.pub) == 0)
			log_ok = 1;
		for (k = 0; n == 76 && k < p->ncos; k++) {
			if (!named(&name, &p->cos[k], raw) || (seen >> k) & 1)
				continue;
			for (ts = 0, i = 0; i < 8; i++)
				ts = ts << 8 | raw[4 + i];
			mlen = (size_t)snprintf((char *)msg, 64,
			    "cosignature/v1\ntime %llu\n",
			    (unsigned long long)ts);
			memcpy(msg + mlen, c->body.p, c->body.len);
			if (crypto_sign_verify_detached(raw + 12, msg,
			    mlen + c->body.len, p->cos[k].pub) == 0) {
				seen |= (uint32_t)1 << k;
				(*nvalid)++;
			}
		}
	}
	if (p->ncos > 0 && *nvalid < p->quorum)
		return whyf(why, whylen, "no quorum: %u valid cosignatures of "
		    "the %u the policy needs", *nvalid, p->quorum);
	if (p->ncos == 0 && !p->log.ed25519)
		return whyf(why, whylen, "the policy's log key is not Ed25519 "
		    "and it names no cosigners");
	if (p->ncos == 0 && !log_ok)
		return whyf(why, whylen, "the checkpoint is not signed by the "
		    "log key %s", p->log.name);
	return 0;
}

/* A config-publish entry's fields (its body: up to the blank line). */
struct config {
	struct kbv_span group, version, sha256;
};

static int
parse_config(const struct kbv_span *entry, struct config *c)
{
	struct kbv_span s = *entry, line, v, type = { NULL, 0 };
	int n = 0;

	memset(c, 0, sizeof(*c));
	while (next_line(&s, &line) == 0 && line.len > 0 && n++ < 64) {
		if (keyed(&line, "type", &v))
			type = v;
		else if (keyed(&line, "group", &v) && c->group.p == NULL)
			c->group = v;
		else if (keyed(&line, "version", &v) && c->version.p == NULL)
			c->version = v;
		else if (keyed(&line, "sha256", &v) && c->sha256.p == NULL)
			c->sha256 = v;
	}
	if (type.len != 14 || memcmp(type.p, "config-publish", 14) != 0 ||
	    c->group.p == NULL || c->version.p == NULL ||
	    c->sha256.len != 2 * KBV_HASH)
		return -1;
	return 0;
}

static void
leaf_hash(const struct kbv_span *e, uint8_t out[KBV_HASH])
{
	crypto_hash_sha256_state st;
	uint8_t zero = 0;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &zero, 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)e->p, e->len);
	crypto_hash_sha256_final(&st, out);
}

static int
same(const struct kbv_span *a, const struct kbv_span *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* The checkpoint against the remembered state: not older, not another
 * tree of the same size, and consistent when the bundle proves it. */
static int
check_state(const struct kbv_bundle *b, const struct kbv_state *st,
    const struct checkpoint *c, char *why, size_t whylen)
{
	if (st == NULL || st->size == 0)
		return 0;
	if (c->size < st->size)
		return whyf(why, whylen, "rollback: checkpoint size %llu is "
		    "older than the remembered %llu",
		    (unsigned long long)c->size, (unsigned long long)st->size);
	if (c->size == st->size &&
	    sodium_memcmp(c->root, st->root, KBV_HASH) != 0)
		return whyf(why, whylen, "fork: checkpoint size %llu has "
		    "another root than the remembered one",
		    (unsigned long long)c->size);
	if (b->has_since && b->since != st->size)
		return whyf(why, whylen, "the consistency proof starts at %llu, "
		    "the remembered checkpoint is %llu",
		    (unsigned long long)b->since, (unsigned long long)st->size);
	if (b->has_since && consistency(st->size, c->size, st->root, c->root,
	    (const uint8_t (*)[KBV_HASH])b->cons, b->ncons) != 0)
		return whyf(why, whylen, "inconsistent: checkpoint %llu does "
		    "not extend the remembered %llu", (unsigned long long)c->size,
		    (unsigned long long)st->size);
	return 0;
}

/* See kbv.h. */
enum kbv_verdict
kbv_verify(const struct kbv_policy *p, const struct kbv_bundle *b,
    const struct kbv_ask *ask, struct kbv_state *next, char *msg,
    size_t msglen)
{
	struct checkpoint c;
	struct config e, l;
	struct kbv_span g;
	uint8_t leaf[KBV_HASH];
	char hex[2 * KBV_HASH + 1], why[KBV_WHY_MAX];
	unsigned nvalid = 0;

	if (parse_checkpoint(p, b->note, &c, why, sizeof(why)) != 0 ||
	    check_signatures(p, &c, &nvalid, why, sizeof(why)) != 0)
		goto refused;
	leaf_hash(&b->entry, leaf);
	if (inclusion(leaf, b->index, c.size,
	    (const uint8_t (*)[KBV_HASH])b->proof, b->nproof, c.root) != 0) {
		whyf(why, sizeof(why), "tampered: entry %llu is not in the "
		    "checkpoint's tree", (unsigned long long)b->index);
		goto refused;
	}
	if (parse_config(&b->entry, &e) != 0) {
		whyf(why, sizeof(why), "the entry is not a config publication");
		goto refused;
	}
	g.p = ask->group;
	g.len = ask->group != NULL ? strlen(ask->group) : 0;
	if (ask->group != NULL && !same(&e.group, &g)) {
		whyf(why, sizeof(why), "wrong group: the entry publishes for "
		    "%.*s", (int)e.group.len, e.group.p);
		goto refused;
	}
	sodium_bin2hex(hex, sizeof(hex), ask->sha256, KBV_HASH);
	if (memcmp(hex, e.sha256.p, 2 * KBV_HASH) != 0) {
		whyf(why, sizeof(why), "the file's SHA-256 %s is not the "
		    "published %.*s", hex, (int)e.sha256.len, e.sha256.p);
		goto refused;
	}
	if (check_state(b, ask->state, &c, why, sizeof(why)) != 0)
		goto refused;
	if (b->has_latest) {
		leaf_hash(&b->latest_entry, leaf);
		if (b->latest <= b->index || inclusion(leaf, b->latest, c.size,
		    (const uint8_t (*)[KBV_HASH])b->lproof, b->nlproof,
		    c.root) != 0 || parse_config(&b->latest_entry, &l) != 0 ||
		    !same(&l.group, &e.group)) {
			whyf(why, sizeof(why), "tampered: the bundle's latest "
			    "publication does not check");
			goto refused;
		}
	}
	next->size = c.size;
	memcpy(next->root, c.root, KBV_HASH);
	if (b->has_latest) {
		snprintf(msg, msglen, "superseded: %.*s version %.*s (index "
		    "%llu); current is version %.*s (sha256 %.*s, index %llu), "
		    "checkpoint %llu", (int)e.group.len, e.group.p,
		    (int)e.version.len, e.version.p,
		    (unsigned long long)b->index, (int)l.version.len,
		    l.version.p, (int)l.sha256.len, l.sha256.p,
		    (unsigned long long)b->latest, (unsigned long long)c.size);
		return KBV_SUPERSEDED;
	}
	snprintf(hex, sizeof(hex), p->ncos == 0 ? "signed by the log key" :
	    "%u valid cosignatures (quorum %u)", nvalid, p->quorum);
	snprintf(msg, msglen, "current: %.*s version %.*s (index %llu), "
	    "checkpoint %llu, %s", (int)e.group.len, e.group.p,
	    (int)e.version.len, e.version.p, (unsigned long long)b->index,
	    (unsigned long long)c.size, hex);
	return KBV_CURRENT;
refused:
	snprintf(msg, msglen, "refused: %s", why);
	return KBV_FAIL;
}

/* See kbv.h.  "keybridge-state v1\nsize N\nroot BASE64\n" */
int
kbv_state_parse(const char *text, size_t len, struct kbv_state *st)
{
	struct kbv_span s = { text, len }, line, v;

	if (next_line(&s, &line) != 0 || !is(&line, "keybridge-state v1") ||
	    next_line(&s, &line) != 0 || !keyed(&line, "size", &v) ||
	    parse_u64(&v, &st->size) != 0 || next_line(&s, &line) != 0 ||
	    !keyed(&line, "root", &v) || b64_hash(&v, st->root) != 0 ||
	    s.len != 0)
		return -1;
	return 0;
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
