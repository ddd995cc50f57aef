/*
 * keycache.c: parsed account keys, so that checking an entry's signatures
 * does not run OpenSSL 3's decoder (d2i_PUBKEY) and encoder for every entry:
 * those cost more than the Ed25519 verification itself.
 *
 * The cache is content-addressed: an entry is found by the account name and
 * the base64 SPKI text exactly as stored, so a key that changes is simply a
 * different entry and nothing can go stale.  One cache per store, used by
 * that store's thread only: no locking.
 *
 * Ed25519 signatures are checked by libsodium (crypto_sign_verify_detached,
 * about half the CPU of OpenSSL 3's EVP_DigestVerify on these machines:
 * every validator checks every entry).  It is the stricter of the two: it
 * also refuses an R of small order and a non-canonical R, which no honest
 * signer produces; the keys were already checked to be valid points when
 * they were registered (crypto.c pubkey_is_valid_ed25519).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ledger/ledger_int.h"

#define KEYCACHE_SLOTS 1024		/* power of two */

struct keycache_slot {
	char *name;
	char *b64;
	EVP_PKEY *pk;
	int ed25519;		/* raw holds its public key */
	unsigned char raw[crypto_sign_PUBLICKEYBYTES];
	uint8_t key_hash[4];
};

struct ledger_keycache {
	struct keycache_slot slot[KEYCACHE_SLOTS];
	ledger_keycache_memo_fn memo;	/* NULL: none (see ledger_int.h) */
	void *memo_arg;
};

struct ledger_keycache *
ledger_keycache_new(void)
{
	/* thread-safe, idempotent; libsodium's verify needs it once */
	if (sodium_init() < 0)
		return NULL;
	return calloc(1, sizeof(struct ledger_keycache));
}

static void
slot_clear(struct keycache_slot *s)
{
	free(s->name);
	free(s->b64);
	EVP_PKEY_free(s->pk);
	memset(s, 0, sizeof(*s));
}

void
ledger_keycache_free(struct ledger_keycache *kc)
{
	if (kc == NULL)
		return;
	for (size_t i = 0; i < KEYCACHE_SLOTS; i++)
		slot_clear(&kc->slot[i]);
	free(kc);
}

/* FNV-1a over name, NUL, b64: only picks a slot; the slot's content is
 * compared exactly, so collisions cost a re-parse, never a wrong key. */
static size_t
keycache_hash(const char *name, const char *b64)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = name; ; p++) {
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		if (*p == '\0')
			break;
	}
	for (const char *p = b64; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32));
}

static struct keycache_slot *
keycache_slot(struct ledger_keycache *kc, const char *name, const char *b64)
{
	struct keycache_slot *s;
	EVP_PKEY *pk;
	size_t rawlen = sizeof(s->raw);

	s = &kc->slot[keycache_hash(name, b64) & (KEYCACHE_SLOTS - 1)];
	if (s->pk != NULL && strcmp(s->name, name) == 0 &&
	    strcmp(s->b64, b64) == 0)
		return s;
	if ((pk = ledger_pubkey_from_b64(b64)) == NULL)
		return NULL;
	slot_clear(s);
	s->pk = pk;
	if ((s->name = strdup(name)) == NULL ||
	    (s->b64 = strdup(b64)) == NULL ||
	    ledger_note_key_hash(name, pk, s->key_hash) != 0)
		goto fail;
	if (EVP_PKEY_is_a(pk, "ED25519") == 1) {
		if (EVP_PKEY_get_raw_public_key(pk, s->raw, &rawlen) != 1 ||
		    rawlen != sizeof(s->raw))
			goto fail;
		s->ed25519 = 1;
	}
	return s;
fail:
	slot_clear(s);
	return NULL;
}

EVP_PKEY *
ledger_keycache_get(struct ledger_keycache *kc, const char *name,
    const char *b64, uint8_t key_hash[4])
{
	struct keycache_slot *s = keycache_slot(kc, name, b64);

	if (s == NULL)
		return NULL;
	memcpy(key_hash, s->key_hash, 4);
	return s->pk;
}

int
ledger_keycache_verify(struct ledger_keycache *kc, const char *name,
    const char *b64, const char *body, size_t len,
    const struct ledger_note_sig *sig)
{
	struct keycache_slot *s = keycache_slot(kc, name, b64);
	int memo;

	if (s == NULL || memcmp(s->key_hash, sig->key_hash, 4) != 0)
		return -1;
	/* Answered already by another thread (ledger/verify_par.c), for
	 * exactly this key, body and signature. */
	if (kc->memo != NULL && (memo = kc->memo(kc->memo_arg, name, b64,
	    body, len, sig)) != 1)
		return memo;
	if (!s->ed25519)
		return ledger_note_verify_sig(body, len, sig, s->pk);
	if (sig->siglen != crypto_sign_BYTES ||
	    crypto_sign_verify_detached(sig->sig, (const unsigned char *)body,
	    len, s->raw) != 0)
		return -1;
	return 0;
}

void
ledger_keycache_set_memo(struct ledger_keycache *kc,
    ledger_keycache_memo_fn memo, void *arg)
{
	kc->memo = memo;
	kc->memo_arg = arg;
}
