/*
 * cosign.c: C2SP tlog-cosignature, Ed25519 cosignature/v1 (see cosign.h
 * for the bytes).  Signing and verifying go through OpenSSL's EVP as in
 * note.c; the key hash and the parsing of one signature line are note.c's
 * (ledger_note_hash_alg, ledger_note_sig_parse).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include <sodium.h>

#include "ledger/cosign.h"
#include "ledger/ledger_int.h"

#define COSIGN_HEADER		"cosignature/v1\n"
#define COSIGN_SIG_PREFIX	"\xe2\x80\x94 "	/* U+2014, space */
#define COSIGN_ED_KEY_LEN	32
#define COSIGN_HASH_HEX_LEN	8
#define COSIGN_TS_MAX		((uint64_t)INT64_MAX)	/* 2^63 - 1 */
#define COSIGN_RAW_LEN		(LEDGER_COSIGN_KEY_ID_LEN + LEDGER_COSIGN_SIG_LEN)
#define COSIGN_B64_MAX		((COSIGN_RAW_LEN + 2) / 3 * 4)
#define COSIGN_VKEY_B64_MAX	44	/* base64 of 33 bytes */

static const char *const verdict_names[LEDGER_COSIGN_VERDICTS] = {
	[LEDGER_COSIGN_VALID] = "valid",
	[LEDGER_COSIGN_UNKNOWN] = "unknown",
	[LEDGER_COSIGN_MALFORMED] = "malformed",
	[LEDGER_COSIGN_WRONG_KEY] = "wrong-key",
	[LEDGER_COSIGN_BAD_SIG] = "bad-signature",
	[LEDGER_COSIGN_DUPLICATE] = "duplicate",
	[LEDGER_COSIGN_STALE] = "stale",
};

const char *
ledger_cosign_verdict_name(enum ledger_cosign_verdict v)
{
	if ((unsigned)v >= LEDGER_COSIGN_VERDICTS)
		return "?";
	return verdict_names[v];
}

int
ledger_cosign_message(const char *body, size_t body_len, uint64_t ts,
    char *out, size_t outlen, size_t *msglen)
{
	int n;

	if (body == NULL || out == NULL || msglen == NULL || body_len == 0 ||
	    body[body_len - 1] != '\n' || ts > COSIGN_TS_MAX)
		return -1;
	n = snprintf(out, outlen, COSIGN_HEADER "time %" PRIu64 "\n", ts);
	if (n < 0 || (size_t)n >= outlen || outlen - (size_t)n < body_len)
		return -1;
	memcpy(out + n, body, body_len);
	*msglen = (size_t)n + body_len;
	return 0;
}

/* The raw 32-byte public key of an Ed25519 key.  0 or -1. */
static int
ed25519_raw(EVP_PKEY *key, uint8_t raw[COSIGN_ED_KEY_LEN])
{
	size_t len = COSIGN_ED_KEY_LEN;

	if (key == NULL || EVP_PKEY_is_a(key, "ED25519") != 1 ||
	    EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 ||
	    len != COSIGN_ED_KEY_LEN) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

int
ledger_cosign_key_id(const char *name, EVP_PKEY *pub,
    uint8_t out[LEDGER_COSIGN_KEY_ID_LEN])
{
	uint8_t raw[COSIGN_ED_KEY_LEN];

	if (ed25519_raw(pub, raw) == -1)
		return -1;
	return ledger_note_hash_alg(name, LEDGER_COSIGN_ALG, raw, sizeof(raw),
	    out);
}

int
ledger_cosign_line_from_sig(const char *name,
    const uint8_t key_id[LEDGER_COSIGN_KEY_ID_LEN], uint64_t ts,
    const uint8_t sig64[LEDGER_COSIGN_ED_SIG_LEN], char *line,
    size_t linelen)
{
	uint8_t raw[COSIGN_RAW_LEN];
	char b64[COSIGN_B64_MAX + 1];
	int i, n;

	if (name == NULL || key_id == NULL || sig64 == NULL || line == NULL ||
	    ts > COSIGN_TS_MAX)
		return -1;
	memcpy(raw, key_id, LEDGER_COSIGN_KEY_ID_LEN);
	for (i = 0; i < LEDGER_COSIGN_TS_LEN; i++)
		raw[LEDGER_COSIGN_KEY_ID_LEN + i] =
		    (uint8_t)(ts >> (8 * (LEDGER_COSIGN_TS_LEN - 1 - i)));
	memcpy(raw + LEDGER_COSIGN_KEY_ID_LEN + LEDGER_COSIGN_TS_LEN, sig64,
	    LEDGER_COSIGN_ED_SIG_LEN);
	if (ledger_b64_encode(raw, sizeof(raw), b64, sizeof(b64)) == -1)
		return -1;
	n = snprintf(line, linelen, COSIGN_SIG_PREFIX "%s %s\n", name, b64);
	if (n < 0 || (size_t)n >= linelen)
		return -1;
	return 0;
}

int
ledger_cosign_line(const char *body, size_t body_len, const char *name,
    EVP_PKEY *key, uint64_t ts, char *line, size_t linelen)
{
	char msg[LEDGER_COSIGN_NOTE_MAX + 64];
	uint8_t kid[LEDGER_COSIGN_KEY_ID_LEN], sig[LEDGER_COSIGN_ED_SIG_LEN];
	size_t msglen, siglen = sizeof(sig);
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;

	if (line != NULL && linelen > 0)
		line[0] = '\0';
	if (body_len > LEDGER_COSIGN_NOTE_MAX ||
	    ledger_cosign_key_id(name, key, kid) == -1 ||
	    ledger_cosign_message(body, body_len, ts, msg, sizeof(msg),
	    &msglen) == -1)
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg,
	    msglen) != 1 || siglen != sizeof(sig))
		goto out;
	rc = ledger_cosign_line_from_sig(name, kid, ts, sig, line, linelen);
out:
	EVP_MD_CTX_free(ctx);
	if (rc == -1)
		ERR_clear_error();
	return rc;
}

int
ledger_cosign_vkey_format(EVP_PKEY *pub, const char *name, char *out,
    size_t outlen)
{
	uint8_t raw[1 + COSIGN_ED_KEY_LEN], kid[LEDGER_COSIGN_KEY_ID_LEN];
	char b64[COSIGN_VKEY_B64_MAX + 1], hex[COSIGN_HASH_HEX_LEN + 1];
	int n;

	if (out == NULL || ed25519_raw(pub, raw + 1) == -1 ||
	    ledger_cosign_key_id(name, pub, kid) == -1)
		return -1;
	raw[0] = LEDGER_COSIGN_ALG;
	if (ledger_b64_encode(raw, sizeof(raw), b64, sizeof(b64)) == -1)
		return -1;
	ledger_hex(kid, sizeof(kid), hex);
	n = snprintf(out, outlen, "%s+%s+%s", name, hex, b64);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

void
ledger_cosigner_clear(struct ledger_cosigner *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_free(c->pub);
	memset(c, 0, sizeof(*c));
}

int
ledger_cosigner_from_key(const char *name, EVP_PKEY *pub,
    struct ledger_cosigner *c)
{
	if (c == NULL || name == NULL || strlen(name) > LEDGER_NAME_MAX)
		return -1;
	memset(c, 0, sizeof(*c));
	if (ledger_cosign_key_id(name, pub, c->key_id) == -1 ||
	    ledger_cosign_vkey_format(pub, name, c->vkey, sizeof(c->vkey)) == -1)
		return -1;
	if (EVP_PKEY_up_ref(pub) != 1)
		return -1;
	c->pub = pub;
	memcpy(c->name, name, strlen(name) + 1);
	return 0;
}

int
ledger_cosigner_parse(const char *vkey, struct ledger_cosigner *c)
{
	char name[LEDGER_NAME_MAX + 1], hex[COSIGN_HASH_HEX_LEN + 1];
	uint8_t raw[1 + COSIGN_ED_KEY_LEN + 1], want[LEDGER_COSIGN_KEY_ID_LEN];
	const char *p1, *p2;
	EVP_PKEY *pub = NULL;
	size_t nlen, klen;
	int rc = -1;

	if (vkey == NULL || c == NULL || (p1 = strchr(vkey, '+')) == NULL ||
	    (p2 = strchr(p1 + 1, '+')) == NULL)
		return -1;
	nlen = (size_t)(p1 - vkey);
	if (nlen == 0 || nlen > LEDGER_NAME_MAX ||
	    p2 - p1 - 1 != COSIGN_HASH_HEX_LEN)
		return -1;
	memcpy(name, vkey, nlen);
	name[nlen] = '\0';
	memcpy(hex, p1 + 1, COSIGN_HASH_HEX_LEN);
	hex[COSIGN_HASH_HEX_LEN] = '\0';
	klen = strnlen(p2 + 1, COSIGN_VKEY_B64_MAX + 1);
	if (ledger_unhex(hex, want, sizeof(want)) == -1 ||
	    klen > COSIGN_VKEY_B64_MAX ||
	    ledger_b64_decode(p2 + 1, klen, raw, sizeof(raw)) !=
	    1 + COSIGN_ED_KEY_LEN || raw[0] != LEDGER_COSIGN_ALG)
		return -1;
	if ((pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw + 1,
	    COSIGN_ED_KEY_LEN)) == NULL)
		goto out;
	if (ledger_cosigner_from_key(name, pub, c) == -1)
		goto out;
	if (memcmp(c->key_id, want, sizeof(want)) != 0) {
		ledger_cosigner_clear(c);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pub);
	ERR_clear_error();
	return rc;
}

int
ledger_cosign_ed25519_verify(void *arg, const struct ledger_cosigner *c,
    const char *msg, size_t msglen,
    const uint8_t sig[LEDGER_COSIGN_ED_SIG_LEN])
{
	unsigned char raw[crypto_sign_PUBLICKEYBYTES];
	size_t rawlen = sizeof(raw);

	/* libsodium: half OpenSSL's CPU (the bridge checks every answer
	 * of every block), and stricter (no small-order or non-canonical
	 * R, no small-order key), which an honest cosigner never hits */
	(void)arg;
	if (c == NULL || c->pub == NULL || sodium_init() < 0 ||
	    EVP_PKEY_get_raw_public_key(c->pub, raw, &rawlen) != 1 ||
	    rawlen != sizeof(raw)) {
		ERR_clear_error();
		return -1;
	}
	return crypto_sign_verify_detached(sig, (const unsigned char *)msg,
	    msglen, raw) == 0 ? 0 : -1;
}

enum ledger_cosign_verdict
ledger_cosign_check_line(const char *body, size_t body_len, const char *line,
    size_t len, const struct ledger_cosigner *policy, size_t npolicy,
    uint64_t not_before, size_t *who, uint64_t *ts)
{
	return ledger_cosign_check_line_fn(body, body_len, line, len, policy,
	    npolicy, not_before, who, ts, ledger_cosign_ed25519_verify, NULL);
}

enum ledger_cosign_verdict
ledger_cosign_check_line_fn(const char *body, size_t body_len,
    const char *line, size_t len, const struct ledger_cosigner *policy,
    size_t npolicy, uint64_t not_before, size_t *who, uint64_t *ts,
    ledger_cosign_verify_fn verify, void *arg)
{
	struct ledger_note_sig sig;
	char msg[LEDGER_COSIGN_NOTE_MAX + 64];
	size_t i, msglen, named = npolicy;
	uint64_t t = 0;

	if (ledger_note_sig_parse(line, len, &sig, NULL, 0) == -1)
		return LEDGER_COSIGN_MALFORMED;
	for (i = 0; i < npolicy; i++) {
		if (strcmp(policy[i].name, sig.name) != 0)
			continue;
		named = i;
		if (memcmp(policy[i].key_id, sig.key_hash,
		    LEDGER_COSIGN_KEY_ID_LEN) == 0)
			break;
	}
	if (named == npolicy)
		return LEDGER_COSIGN_UNKNOWN;
	if (who != NULL)
		*who = named;
	if (i == npolicy)
		return LEDGER_COSIGN_WRONG_KEY;
	if (sig.siglen != LEDGER_COSIGN_SIG_LEN)
		return LEDGER_COSIGN_MALFORMED;
	for (i = 0; i < LEDGER_COSIGN_TS_LEN; i++)
		t = t << 8 | sig.sig[i];
	if (ts != NULL)
		*ts = t;
	if (t > COSIGN_TS_MAX)
		return LEDGER_COSIGN_STALE;
	if (ledger_cosign_message(body, body_len, t, msg, sizeof(msg),
	    &msglen) == -1 || verify == NULL || verify(arg, &policy[named],
	    msg, msglen, sig.sig + LEDGER_COSIGN_TS_LEN) == -1)
		return LEDGER_COSIGN_BAD_SIG;
	if (t < not_before)
		return LEDGER_COSIGN_STALE;
	return LEDGER_COSIGN_VALID;
}

size_t
ledger_cosign_body_len(const char *note, size_t len)
{
	size_t i;

	if (note == NULL || len < 2 || note[len - 1] != '\n')
		return 0;
	for (i = len - 1; i > 0; i--)
		if (note[i - 1] == '\n' && note[i] == '\n')
			return i;
	return 0;
}

int
ledger_cosign_quorum(const char *note, size_t len,
    const struct ledger_cosigner *policy, size_t npolicy, size_t quorum,
    struct ledger_cosign_result *res, size_t maxres, size_t *nres,
    size_t *nvalid)
{
	char origin[LEDGER_ORIGIN_MAX + 1];
	uint8_t root[LEDGER_HASH_LEN], seen[LEDGER_COSIGN_POLICY_MAX] = {0};
	const char *p, *end, *nl;
	size_t body_len, who, count = 0, valid = 0, line = 0;
	enum ledger_cosign_verdict v;
	uint64_t size, ts;
	time_t t;

	if (nres != NULL)
		*nres = 0;
	if (nvalid != NULL)
		*nvalid = 0;
	if (note == NULL || len > LEDGER_COSIGN_NOTE_MAX ||
	    npolicy > LEDGER_COSIGN_POLICY_MAX ||
	    (body_len = ledger_cosign_body_len(note, len)) == 0 ||
	    ledger_checkpoint_parse(note, body_len, origin, sizeof(origin),
	    &size, root, &t) == -1)
		return -1;
	end = note + len;
	for (p = note + body_len + 1; p < end && line < LEDGER_COSIGN_LINES_MAX;
	    p = nl + 1, line++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		who = npolicy;
		ts = 0;
		v = ledger_cosign_check_line(note, body_len, p, (size_t)(nl - p),
		    policy, npolicy, (uint64_t)t, &who, &ts);
		if (v == LEDGER_COSIGN_VALID) {
			if (seen[who])
				v = LEDGER_COSIGN_DUPLICATE;
			else {
				seen[who] = 1;
				valid++;
			}
		}
		if (res != NULL && count < maxres) {
			res[count].line = line;
			res[count].verdict = v;
			res[count].timestamp = ts;
			res[count].name[0] = '\0';
			if (who < npolicy)
				memcpy(res[count].name, policy[who].name,
				    sizeof(res[count].name));
			count++;
		}
	}
	if (nres != NULL)
		*nres = count;
	if (nvalid != NULL)
		*nvalid = valid;
	return valid >= quorum && quorum > 0 ? 0 : -1;
}

int
ledger_cosign_checkpoint_ok(void *arg, const char *note, uint64_t *size,
    uint8_t root[LEDGER_HASH_LEN], char *why, size_t whylen)
{
	const struct ledger_cosign_policy *p = arg;
	struct ledger_cosign_result res[LEDGER_COSIGN_LINES_MAX];
	char origin[LEDGER_ORIGIN_MAX + 1];
	size_t len, body_len, nres = 0, nvalid = 0, i;
	int off;
	time_t t;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (p == NULL || note == NULL || size == NULL || root == NULL ||
	    (len = strnlen(note, LEDGER_COSIGN_NOTE_MAX + 1)) >
	    LEDGER_COSIGN_NOTE_MAX ||
	    (body_len = ledger_cosign_body_len(note, len)) == 0 ||
	    ledger_checkpoint_parse(note, body_len, origin, sizeof(origin),
	    size, root, &t) == -1) {
		if (why != NULL)
			snprintf(why, whylen, "not a checkpoint note");
		return -1;
	}
	if (p->log_vkey != NULL &&
	    ledger_note_verify_vkey(note, len, p->log_vkey) == -1) {
		if (why != NULL)
			snprintf(why, whylen, "the checkpoint is not signed by "
			    "the log's key");
		return -1;
	}
	if (ledger_cosign_quorum(note, len, p->cosigners, p->ncosigners,
	    p->quorum, res, LEDGER_COSIGN_LINES_MAX, &nres, &nvalid) == 0)
		return 0;
	if (why == NULL || whylen == 0)
		return -1;
	off = snprintf(why, whylen, "%zu of %zu cosignatures", nvalid,
	    p->quorum);
	for (i = 0; i < nres && off > 0 && (size_t)off < whylen; i++) {
		if (res[i].verdict == LEDGER_COSIGN_VALID ||
		    res[i].verdict == LEDGER_COSIGN_UNKNOWN)
			continue;
		off += snprintf(why + off, whylen - (size_t)off, "%s %s %s",
		    off > 0 && strchr(why, ':') == NULL ? ":" : ",",
		    res[i].name[0] != '\0' ? res[i].name : "a line",
		    ledger_cosign_verdict_name(res[i].verdict));
	}
	return -1;
}
