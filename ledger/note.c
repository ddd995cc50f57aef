/*
 * note.c: C2SP signed-note (https://c2sp.org/signed-note) and
 * tlog-checkpoint (https://c2sp.org/tlog-checkpoint).
 *
 * A note is a text ending in '\n', a blank line, then one or more lines
 *
 *     — <key name> base64(key hash (4 bytes) || signature)\n
 *
 * where "—" is U+2014 (E2 80 94).  The signature covers the text, final
 * newline included, blank line excluded.  Key hash = SHA-256(name || 0x0A ||
 * alg || key)[:4]; alg 0x01 is Ed25519 over the raw 32-byte key (C2SP),
 * alg 0x02 is ECDSA P-256 with SHA-256 over the SPKI DER (the type C2SP
 * assigns to github.com/transparency-dev/witness's ECDSA notes; the
 * signature is the DER ECDSA-Sig-Value).
 *
 * ledger_note_split() parses text from the network: every length is bounded
 * before it is used, and anything outside the grammar is refused.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "ledger/ledger_int.h"

#define NOTE_MAX_LEN		65536	/* one note; entries are 16 KiB */
#define NOTE_SIG_PREFIX		"\xe2\x80\x94 "	/* U+2014, space */
#define NOTE_SIG_PREFIX_LEN	4
#define NOTE_KEY_HASH_LEN	4
#define NOTE_SIG_BYTES_MAX	(NOTE_KEY_HASH_LEN + LEDGER_NOTE_SIG_MAX)
#define NOTE_SIG_B64_MAX	((NOTE_SIG_BYTES_MAX + 2) / 3 * 4)
#define NOTE_ED25519_KEY_LEN	32
#define NOTE_ED25519_SIG_LEN	64
#define NOTE_KEY_MAX		128	/* key bytes: P-256 SPKI is 91 */
#define NOTE_VKEY_B64_MAX	((1 + NOTE_KEY_MAX + 2) / 3 * 4)
#define NOTE_HASH_HEX_LEN	8
#define NOTE_GROUP_NAME_MAX	64
#define NOTE_UTF8_MAX		0x10FFFF
#define CHECKPOINT_TIME_KEY	"time "
#define CHECKPOINT_TIME_KEY_LEN	5
#define CHECKPOINT_ROOT_B64_LEN	44	/* base64 of 32 bytes */
#define CHECKPOINT_MAP_KEY	"map "	/* the status map's root */
#define CHECKPOINT_MAP_KEY_LEN	4

#define WHY(...)	do {						\
	if (why != NULL && whylen > 0)					\
		snprintf(why, whylen, __VA_ARGS__);			\
} while (0)

/*
 * Decodes one UTF-8 character at s (n bytes available) into *cp with
 * OpenSSL's UTF8_getc, refusing surrogates and values past U+10FFFF.
 * Returns its length or -1.
 */
static int
utf8_next(const unsigned char *s, size_t n, unsigned long *cp)
{
	int len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	len = UTF8_getc(s, n > INT_MAX ? INT_MAX : (int)n, cp);
	if (len <= 1 || *cp > NOTE_UTF8_MAX ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return -1;
	return len;
}

/* signed-note: valid UTF-8, no ASCII control character but '\n'.  0/-1. */
static int
note_text_ok(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned long cp;
	size_t i = 0;
	int n;

	while (i < len) {
		if ((n = utf8_next(s + i, len - i, &cp)) == -1)
			return -1;
		if (cp < 0x20 && cp != '\n')
			return -1;
		i += (size_t)n;
	}
	return 0;
}

/* Unicode White_Space (what Go's unicode.IsSpace says), beyond ASCII. */
static int
unicode_space(unsigned long cp)
{
	return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 ||
	    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000;
}

/* signed-note: key names are non-empty, have no Unicode space and no '+';
 * ours also fit LEDGER_NAME_MAX bytes.  0 or -1. */
static int
note_name_ok(const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	unsigned long cp;
	size_t i = 0;
	int n;

	if (len == 0 || len > LEDGER_NAME_MAX)
		return -1;
	while (i < len) {
		if ((n = utf8_next(s + i, len - i, &cp)) == -1)
			return -1;
		if (cp < 0x20 || cp == '+' || unicode_space(cp))
			return -1;
		i += (size_t)n;
	}
	return 0;
}

/* 1 for an EC key on P-256, 0 otherwise. */
static int
key_is_p256(EVP_PKEY *key)
{
	char group[NOTE_GROUP_NAME_MAX];

	return EVP_PKEY_is_a(key, "EC") == 1 &&
	    EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) == 1 &&
	    strcmp(group, SN_X9_62_prime256v1) == 0;
}

/*
 * The note algorithm byte and key bytes of a key: the raw key for Ed25519,
 * the SPKI DER for P-256.  Returns 0 with *alg and key[0..*keylen), -1 for
 * any other key.
 */
static int
note_key_bytes(EVP_PKEY *key, uint8_t *alg, uint8_t key_out[NOTE_KEY_MAX],
    size_t *keylen)
{
	unsigned char *der = NULL;
	size_t len = NOTE_KEY_MAX;
	int dlen, rc = -1;

	if (key == NULL)
		return -1;
	if (EVP_PKEY_is_a(key, "ED25519") == 1) {
		if (EVP_PKEY_get_raw_public_key(key, key_out, &len) != 1 ||
		    len != NOTE_ED25519_KEY_LEN)
			goto out;
		*alg = LEDGER_NOTE_ALG_ED25519;
		*keylen = len;
		rc = 0;
	} else if (key_is_p256(key)) {
		if ((dlen = i2d_PUBKEY(key, &der)) <= 0 || dlen > NOTE_KEY_MAX)
			goto out;
		memcpy(key_out, der, (size_t)dlen);
		*alg = LEDGER_NOTE_ALG_ECDSA;
		*keylen = (size_t)dlen;
		rc = 0;
	}
out:
	OPENSSL_free(der);
	if (rc == -1)
		ERR_clear_error();
	return rc;
}

/* SHA-256(name || 0x0A || alg || key)[:4].  0 or -1. */
static int
note_hash(const char *name, uint8_t alg, const uint8_t *key, size_t keylen,
    uint8_t out[NOTE_KEY_HASH_LEN])
{
	static const unsigned char nl = '\n';
	uint8_t md[LEDGER_HASH_LEN];
	EVP_MD_CTX *ctx;
	int rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, name, strlen(name)) != 1 ||
	    EVP_DigestUpdate(ctx, &nl, 1) != 1 ||
	    EVP_DigestUpdate(ctx, &alg, 1) != 1 ||
	    EVP_DigestUpdate(ctx, key, keylen) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		goto out;
	memcpy(out, md, NOTE_KEY_HASH_LEN);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Key hash: first 4 bytes of SHA-256(name || 0x0A || alg || key bytes).
 * Returns 0 or -1 (unsupported key or name). */
int
ledger_note_key_hash(const char *name, EVP_PKEY *pub, uint8_t out[4])
{
	uint8_t key[NOTE_KEY_MAX], alg;
	size_t keylen;

	if (name == NULL || note_name_ok(name, strlen(name)) == -1 ||
	    note_key_bytes(pub, &alg, key, &keylen) == -1)
		return -1;
	return note_hash(name, alg, key, keylen, out);
}

/*
 * Parses one signature line (without its '\n') into sig.  0 or -1 with why.
 */
static int
note_parse_sig(const char *line, size_t len, struct ledger_note_sig *sig,
    char *why, size_t whylen)
{
	uint8_t buf[NOTE_SIG_BYTES_MAX];
	const char *name, *sp, *b64;
	size_t namelen, b64len;
	int n;

	if (len < NOTE_SIG_PREFIX_LEN ||
	    memcmp(line, NOTE_SIG_PREFIX, NOTE_SIG_PREFIX_LEN) != 0) {
		WHY("signature line does not start with an em dash and space");
		return -1;
	}
	name = line + NOTE_SIG_PREFIX_LEN;
	if ((sp = memchr(name, ' ', len - NOTE_SIG_PREFIX_LEN)) == NULL) {
		WHY("signature line has no signature");
		return -1;
	}
	namelen = (size_t)(sp - name);
	if (note_name_ok(name, namelen) == -1) {
		WHY("bad key name in signature line");
		return -1;
	}
	b64 = sp + 1;
	b64len = len - (size_t)(b64 - line);
	if (b64len > NOTE_SIG_B64_MAX) {
		WHY("signature too long");
		return -1;
	}
	if ((n = ledger_b64_decode(b64, b64len, buf, sizeof(buf))) == -1) {
		WHY("bad base64 in signature line");
		return -1;
	}
	if (n <= NOTE_KEY_HASH_LEN) {
		WHY("signature too short");
		return -1;
	}
	memcpy(sig->name, name, namelen);
	sig->name[namelen] = '\0';
	memcpy(sig->key_hash, buf, NOTE_KEY_HASH_LEN);
	sig->siglen = (size_t)n - NOTE_KEY_HASH_LEN;
	memcpy(sig->sig, buf + NOTE_KEY_HASH_LEN, sig->siglen);
	return 0;
}

/*
 * Splits a note into its body (text up to and including the newline before
 * the last blank line) and its signature lines.  Returns 0 with *body_len
 * and sigs[0..*nsigs) filled, -1 when malformed (and `why` says how).
 */
int
ledger_note_split(const char *note, size_t len, size_t *body_len,
    struct ledger_note_sig *sigs, size_t maxsigs, size_t *nsigs,
    char *why, size_t whylen)
{
	const char *p, *end, *nl;
	size_t i, split, count = 0;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (note == NULL || body_len == NULL || nsigs == NULL ||
	    (sigs == NULL && maxsigs > 0)) {
		WHY("no note");
		return -1;
	}
	if (len > NOTE_MAX_LEN) {
		WHY("note longer than %d bytes", NOTE_MAX_LEN);
		return -1;
	}
	if (len == 0 || note[len - 1] != '\n') {
		WHY("note does not end in a newline");
		return -1;
	}
	if (note_text_ok(note, len) == -1) {
		WHY("note is not UTF-8 text without control characters");
		return -1;
	}
	/* The text ends at the last blank line (signed-note "Format"). */
	for (i = len - 1; i > 0; i--)
		if (note[i - 1] == '\n' && note[i] == '\n')
			break;
	if (i == 0) {
		WHY("note has no blank line before its signatures");
		return -1;
	}
	split = i;		/* note[split] is the blank line */
	p = note + split + 1;
	end = note + len;
	if (p == end) {
		WHY("note has no signature");
		return -1;
	}
	while (p < end) {
		/* Always found: the note ends in '\n'. */
		nl = memchr(p, '\n', (size_t)(end - p));
		if (count == maxsigs) {
			WHY("more than %zu signatures", maxsigs);
			return -1;
		}
		if (note_parse_sig(p, (size_t)(nl - p), &sigs[count], why,
		    whylen) == -1)
			return -1;
		count++;
		p = nl + 1;
	}
	*body_len = split;
	*nsigs = count;
	return 0;
}

/* Signs msg with key the way its note algorithm says; 0 or -1. */
static int
note_sign(EVP_PKEY *key, uint8_t alg, const char *msg, size_t len,
    uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(ctx, NULL, alg == LEDGER_NOTE_ALG_ECDSA ?
	    EVP_sha256() : NULL, NULL, key) != 1)
		goto out;
	if (EVP_DigestSign(ctx, sig, siglen, (const unsigned char *)msg,
	    len) != 1)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Signs body with key; writes the signature line "— name base64\n"
 * (NUL-terminated) into line.  The body must be note text ending in '\n'.
 * Returns 0 or -1. */
int
ledger_note_sign_line(const char *body, size_t body_len,
    const char *name, EVP_PKEY *key, char *line, size_t linelen)
{
	uint8_t keyb[NOTE_KEY_MAX], alg, buf[NOTE_SIG_BYTES_MAX];
	char b64[NOTE_SIG_B64_MAX + 1];
	size_t keylen, siglen = LEDGER_NOTE_SIG_MAX;
	int n, rc = -1;

	if (body == NULL || name == NULL || line == NULL || body_len == 0 ||
	    body_len > NOTE_MAX_LEN || body[body_len - 1] != '\n' ||
	    note_text_ok(body, body_len) == -1 ||
	    note_name_ok(name, strlen(name)) == -1)
		goto out;
	if (note_key_bytes(key, &alg, keyb, &keylen) == -1 ||
	    note_hash(name, alg, keyb, keylen, buf) == -1)
		goto out;
	if (note_sign(key, alg, body, body_len, buf + NOTE_KEY_HASH_LEN,
	    &siglen) == -1)
		goto out;
	if (ledger_b64_encode(buf, NOTE_KEY_HASH_LEN + siglen, b64,
	    sizeof(b64)) == -1)
		goto out;
	n = snprintf(line, linelen, NOTE_SIG_PREFIX "%s %s\n", name, b64);
	if (n < 0 || (size_t)n >= linelen)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		if (line != NULL && linelen > 0)
			line[0] = '\0';
		ERR_clear_error();
	}
	return rc;
}

/* Verifies one decoded signature over body with pub (which the caller
 * matched by name and key hash; both are checked again).  Returns 0 when
 * valid, -1 otherwise. */
int
ledger_note_verify_sig(const char *body, size_t body_len,
    const struct ledger_note_sig *sig, EVP_PKEY *pub)
{
	uint8_t keyb[NOTE_KEY_MAX], alg, kh[NOTE_KEY_HASH_LEN];
	EVP_MD_CTX *ctx = NULL;
	size_t keylen;
	int rc = -1;

	if (body == NULL || sig == NULL || sig->siglen > LEDGER_NOTE_SIG_MAX ||
	    memchr(sig->name, '\0', sizeof(sig->name)) == NULL)
		goto out;
	if (note_key_bytes(pub, &alg, keyb, &keylen) == -1 ||
	    note_hash(sig->name, alg, keyb, keylen, kh) == -1 ||
	    memcmp(kh, sig->key_hash, NOTE_KEY_HASH_LEN) != 0)
		goto out;
	if (alg == LEDGER_NOTE_ALG_ED25519 &&
	    sig->siglen != NOTE_ED25519_SIG_LEN)
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, NULL, alg == LEDGER_NOTE_ALG_ECDSA ?
	    EVP_sha256() : NULL, NULL, pub) != 1)
		goto out;
	if (EVP_DigestVerify(ctx, sig->sig, sig->siglen,
	    (const unsigned char *)body, body_len) != 1)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	if (rc == -1)
		ERR_clear_error();
	return rc;
}

/*
 * Parses a verifier key "name+hash8hex+base64(alg || key)" (the format of
 * golang.org/x/mod/sumdb/note): the hash must be the key's.  Copies the
 * name into name (namelen bytes, may be NULL).  Returns a new key or NULL.
 */
EVP_PKEY *
ledger_note_vkey_parse(const char *vkey, char *name, size_t namelen)
{
	char nm[LEDGER_NAME_MAX + 1], hex[NOTE_HASH_HEX_LEN + 1];
	char b64[NOTE_VKEY_B64_MAX + 1];
	uint8_t raw[1 + NOTE_KEY_MAX], want[NOTE_KEY_HASH_LEN];
	uint8_t got[NOTE_KEY_HASH_LEN];
	const char *p1, *p2, *k64;
	EVP_PKEY *key = NULL;
	size_t nlen, klen;
	int n;

	if (vkey == NULL || (p1 = strchr(vkey, '+')) == NULL ||
	    (p2 = strchr(p1 + 1, '+')) == NULL)
		goto fail;
	nlen = (size_t)(p1 - vkey);
	if (note_name_ok(vkey, nlen) == -1)
		goto fail;
	memcpy(nm, vkey, nlen);
	nm[nlen] = '\0';
	if (p2 - p1 - 1 != NOTE_HASH_HEX_LEN)
		goto fail;
	memcpy(hex, p1 + 1, NOTE_HASH_HEX_LEN);
	hex[NOTE_HASH_HEX_LEN] = '\0';
	if (ledger_unhex(hex, want, sizeof(want)) == -1)
		goto fail;
	k64 = p2 + 1;
	if ((klen = strnlen(k64, NOTE_VKEY_B64_MAX + 1)) > NOTE_VKEY_B64_MAX)
		goto fail;
	if ((n = ledger_b64_decode(k64, klen, raw, sizeof(raw))) < 2)
		goto fail;
	if (raw[0] == LEDGER_NOTE_ALG_ED25519) {
		if (n != 1 + NOTE_ED25519_KEY_LEN)
			goto fail;
		key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    raw + 1, NOTE_ED25519_KEY_LEN);
	} else if (raw[0] == LEDGER_NOTE_ALG_ECDSA) {
		/* Through the account-key parser: P-256, canonical DER. */
		if (ledger_b64_encode(raw + 1, (size_t)n - 1, b64,
		    sizeof(b64)) == -1)
			goto fail;
		if ((key = ledger_pubkey_from_b64(b64)) != NULL &&
		    !key_is_p256(key))
			goto fail;
	}
	if (key == NULL)
		goto fail;
	if (note_hash(nm, raw[0], raw + 1, (size_t)n - 1, got) == -1 ||
	    memcmp(got, want, sizeof(want)) != 0)
		goto fail;
	if (name != NULL) {
		if (namelen <= nlen)
			goto fail;
		memcpy(name, nm, nlen + 1);
	}
	return key;
fail:
	EVP_PKEY_free(key);
	ERR_clear_error();
	return NULL;
}

/* Formats the verifier key "name+hash8hex+base64(alg || key)" of pub.
 * Returns 0 or -1. */
int
ledger_note_vkey_format(EVP_PKEY *pub, const char *name, char *out,
    size_t outlen)
{
	uint8_t raw[1 + NOTE_KEY_MAX], kh[NOTE_KEY_HASH_LEN];
	char b64[NOTE_VKEY_B64_MAX + 1], hex[NOTE_HASH_HEX_LEN + 1];
	size_t keylen;
	int n;

	if (name == NULL || out == NULL ||
	    note_name_ok(name, strlen(name)) == -1 ||
	    note_key_bytes(pub, &raw[0], raw + 1, &keylen) == -1 ||
	    note_hash(name, raw[0], raw + 1, keylen, kh) == -1 ||
	    ledger_b64_encode(raw, 1 + keylen, b64, sizeof(b64)) == -1)
		return -1;
	ledger_hex(kh, sizeof(kh), hex);
	n = snprintf(out, outlen, "%s+%s+%s", name, hex, b64);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

/*
 * Verifies that `note` carries a valid signature by the holder of `vkey`.
 * As signed-note asks, a signature line with the key's name and hash that
 * does not verify rejects the whole note.  Returns 0 when so, -1 otherwise.
 */
/* A parsed verifier key (ledger.h): its name, key and key hash. */
struct ledger_vkey {
	char name[LEDGER_NAME_MAX + 1];
	EVP_PKEY *pub;
	uint8_t kh[NOTE_KEY_HASH_LEN];
};

struct ledger_vkey *
ledger_vkey_new(const char *vkey)
{
	struct ledger_vkey *k = calloc(1, sizeof(*k));

	if (k == NULL || (k->pub = ledger_note_vkey_parse(vkey, k->name,
	    sizeof(k->name))) == NULL ||
	    ledger_note_key_hash(k->name, k->pub, k->kh) == -1) {
		ledger_vkey_free(k);
		return NULL;
	}
	return k;
}

void
ledger_vkey_free(struct ledger_vkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pub);
	free(k);
}

int
ledger_checkpoint_verify_key(const char *note, size_t len,
    const struct ledger_vkey *k)
{
	struct ledger_note_sig sigs[LEDGER_MAX_SIGS];
	size_t body_len, nsigs, i, good = 0;

	if (k == NULL || ledger_note_split(note, len, &body_len, sigs,
	    LEDGER_MAX_SIGS, &nsigs, NULL, 0) == -1)
		return -1;
	for (i = 0; i < nsigs; i++) {
		if (strcmp(sigs[i].name, k->name) != 0 ||
		    memcmp(sigs[i].key_hash, k->kh, sizeof(k->kh)) != 0)
			continue;
		if (ledger_note_verify_sig(note, body_len, &sigs[i],
		    k->pub) == -1)
			return -1;
		good++;
	}
	return good > 0 ? 0 : -1;
}

int
ledger_note_verify_vkey(const char *note, size_t len, const char *vkey)
{
	struct ledger_vkey *k = ledger_vkey_new(vkey);
	int rc = ledger_checkpoint_verify_key(note, len, k);

	ledger_vkey_free(k);
	return rc;
}

/* Parses a decimal uint64 with no sign and no leading zero.  0 or -1. */
static int
parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* C2SP tlog-checkpoint body:
 *   origin\n size\n base64(root)\n time <unix seconds>\n [map base64\n]
 * (we always write the "time" extension line: the block's ledger time;
 * and the status map's root, docs/design.md "The status map").
 * Returns 0 or -1 (bad origin or time, or out too small). */
int
ledger_checkpoint_body_map(const char *origin, uint64_t size,
    const uint8_t root[LEDGER_HASH_LEN], time_t t, const uint8_t *map,
    char *out, size_t outlen)
{
	char b64[CHECKPOINT_ROOT_B64_LEN + 1], mb64[CHECKPOINT_ROOT_B64_LEN + 1];
	size_t olen;
	int n;

	if (origin == NULL || root == NULL || out == NULL || t < 0)
		return -1;
	olen = strlen(origin);
	if (olen == 0 || memchr(origin, '\n', olen) != NULL ||
	    note_text_ok(origin, olen) == -1)
		return -1;
	if (ledger_b64_encode(root, LEDGER_HASH_LEN, b64, sizeof(b64)) == -1 ||
	    (map != NULL && ledger_b64_encode(map, LEDGER_HASH_LEN, mb64,
	    sizeof(mb64)) == -1))
		return -1;
	n = snprintf(out, outlen, "%s\n%" PRIu64 "\n%s\n" CHECKPOINT_TIME_KEY
	    "%" PRId64 "\n%s%s%s", origin, size, b64, (int64_t)t,
	    map != NULL ? CHECKPOINT_MAP_KEY : "", map != NULL ? mb64 : "",
	    map != NULL ? "\n" : "");
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

int
ledger_checkpoint_body(const char *origin, uint64_t size,
    const uint8_t root[LEDGER_HASH_LEN], time_t t, char *out, size_t outlen)
{
	return ledger_checkpoint_body_map(origin, size, root, t, NULL, out,
	    outlen);
}

/* Next line of [*p, end) without its '\n'; -1 when no '\n' ends it. */
static int
next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl;

	if (*p >= end || (nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		return -1;
	*line = *p;
	*len = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

/*
 * Parses a checkpoint body (or a whole note: stops at the blank line).
 * Unknown extension lines are ignored; t is 0 when there is no time line.
 * Outputs are written only on success.  Returns 0 or -1.
 */
int
ledger_checkpoint_parse(const char *text, size_t len, char *origin,
    size_t originlen, uint64_t *size, uint8_t root[LEDGER_HASH_LEN],
    time_t *t)
{
	const char *p = text, *end, *line, *o;
	uint8_t r[LEDGER_HASH_LEN];
	uint64_t sz, tv = 0;
	size_t llen, olen;
	int have_time = 0;

	if (text == NULL || origin == NULL || size == NULL || root == NULL ||
	    t == NULL || len > NOTE_MAX_LEN)
		return -1;
	end = text + len;
	if (next_line(&p, end, &o, &olen) == -1 || olen == 0 ||
	    olen >= originlen)
		return -1;
	if (next_line(&p, end, &line, &llen) == -1 ||
	    parse_u64(line, llen, &sz) == -1)
		return -1;
	if (next_line(&p, end, &line, &llen) == -1 ||
	    llen != CHECKPOINT_ROOT_B64_LEN ||
	    ledger_b64_decode(line, llen, r, sizeof(r)) != LEDGER_HASH_LEN)
		return -1;
	/* Extension lines, up to the blank line or the end. */
	while (p < end) {
		if (next_line(&p, end, &line, &llen) == -1)
			return -1;
		if (llen == 0)
			break;
		if (llen < CHECKPOINT_TIME_KEY_LEN || memcmp(line,
		    CHECKPOINT_TIME_KEY, CHECKPOINT_TIME_KEY_LEN) != 0)
			continue;
		if (have_time || parse_u64(line + CHECKPOINT_TIME_KEY_LEN,
		    llen - CHECKPOINT_TIME_KEY_LEN, &tv) == -1 ||
		    tv > INT64_MAX)
			return -1;
		have_time = 1;
	}
	if (note_text_ok(text, (size_t)(p - text)) == -1)
		return -1;
	memcpy(origin, o, olen);
	origin[olen] = '\0';
	*size = sz;
	memcpy(root, r, LEDGER_HASH_LEN);
	*t = (time_t)tv;
	return 0;
}

/* See ledger_int.h.  Only the body is looked at (up to the blank line);
 * two map lines are malformed. */
int
ledger_checkpoint_map_root(const char *text, size_t len,
    uint8_t root[LEDGER_HASH_LEN])
{
	const char *p = text, *end = text + len, *line;
	uint8_t r[LEDGER_HASH_LEN];
	size_t llen;
	int found = 0, n = 0;

	while (next_line(&p, end, &line, &llen) == 0 && llen > 0) {
		if (n++ < 3 || llen < CHECKPOINT_MAP_KEY_LEN || memcmp(line,
		    CHECKPOINT_MAP_KEY, CHECKPOINT_MAP_KEY_LEN) != 0)
			continue;
		if (found || llen != CHECKPOINT_MAP_KEY_LEN +
		    CHECKPOINT_ROOT_B64_LEN || ledger_b64_decode(line +
		    CHECKPOINT_MAP_KEY_LEN, CHECKPOINT_ROOT_B64_LEN, r,
		    sizeof(r)) != LEDGER_HASH_LEN)
			return -1;
		found = 1;
		memcpy(root, r, LEDGER_HASH_LEN);
	}
	return found ? 0 : 1;
}

/* For ledger/cosign.c: the signed-note key hash for any algorithm byte
 * (cosignature/v1 uses 0x04), and one signature line parsed on its own so
 * that a malformed line among others can be set aside.  0 or -1. */
int
ledger_note_hash_alg(const char *name, uint8_t alg, const uint8_t *key,
    size_t keylen, uint8_t out[4])
{
	if (name == NULL || key == NULL ||
	    note_name_ok(name, strlen(name)) == -1)
		return -1;
	return note_hash(name, alg, key, keylen, out);
}

int
ledger_note_sig_parse(const char *line, size_t len,
    struct ledger_note_sig *sig, char *why, size_t whylen)
{
	if (line == NULL || sig == NULL) {
		WHY("no signature line");
		return -1;
	}
	if (note_text_ok(line, len) == -1) {
		WHY("signature line is not UTF-8 text");
		return -1;
	}
	return note_parse_sig(line, len, sig, why, whylen);
}
