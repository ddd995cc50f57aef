/*
 * ledger_int.h: shared by the files of ledger/ only.  Never included from
 * outside this folder (tests excepted).
 */
#ifndef KEYBRIDGE_LEDGER_INT_H
#define KEYBRIDGE_LEDGER_INT_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "ledger/ledger.h"

/* ---- merkle.c: RFC 6962 / RFC 9162 Merkle tree ------------------------- */

/* RFC 9162 2.1.1: leaf hash = SHA-256(0x00 || data). */
void ledger_merkle_leaf_hash(const void *data, size_t len,
    uint8_t out[LEDGER_HASH_LEN]);
/* RFC 9162 2.1.1: node hash = SHA-256(0x01 || left || right). */
void ledger_merkle_node_hash(const uint8_t left[LEDGER_HASH_LEN],
    const uint8_t right[LEDGER_HASH_LEN], uint8_t out[LEDGER_HASH_LEN]);

/* An in-memory tree that keeps the hash of every complete (perfect, aligned)
 * subtree, level by level, so roots and proofs for any size <= the current
 * size cost O(log n) lookups.  Not thread-safe: the owner locks. */
struct ledger_merkle;

struct ledger_merkle *ledger_merkle_new(void);
void ledger_merkle_free(struct ledger_merkle *m);
/* Appends a leaf hash.  Returns 0 or -1 (out of memory). */
int ledger_merkle_append(struct ledger_merkle *m,
    const uint8_t leaf[LEDGER_HASH_LEN]);
/* Drops leaves so that the size becomes `size` (rollback of a failed
 * commit).  Returns 0, or -1 when size > current size. */
int ledger_merkle_truncate(struct ledger_merkle *m, uint64_t size);
uint64_t ledger_merkle_size(const struct ledger_merkle *m);
/* Leaf hash at index; -1 when out of range. */
int ledger_merkle_leaf(const struct ledger_merkle *m, uint64_t index,
    uint8_t out[LEDGER_HASH_LEN]);
/* MTH of the first `size` leaves (size 0: SHA-256 of the empty string). */
int ledger_merkle_root(const struct ledger_merkle *m, uint64_t size,
    uint8_t out[LEDGER_HASH_LEN]);
/* RFC 9162 2.1.3.1 inclusion proof; *n gets the count (<= LEDGER_PROOF_MAX).
 * -1 when index >= size or size > current size. */
int ledger_merkle_inclusion(const struct ledger_merkle *m, uint64_t index,
    uint64_t size, uint8_t proof[][LEDGER_HASH_LEN], size_t *n);
/* RFC 9162 2.1.4.1 consistency proof from m to n (0 < m <= n <= size). */
int ledger_merkle_consistency(const struct ledger_merkle *t, uint64_t m,
    uint64_t n, uint8_t proof[][LEDGER_HASH_LEN], size_t *nproof);
/* RFC 9162 2.1.3.2: returns 0 when the proof verifies, -1 otherwise. */
int ledger_merkle_verify_inclusion(const uint8_t leaf[LEDGER_HASH_LEN],
    uint64_t index, uint64_t size, const uint8_t proof[][LEDGER_HASH_LEN],
    size_t n, const uint8_t root[LEDGER_HASH_LEN]);
/* RFC 9162 2.1.4.2: returns 0 when the proof verifies, -1 otherwise. */
int ledger_merkle_verify_consistency(uint64_t m, uint64_t n,
    const uint8_t root_m[LEDGER_HASH_LEN],
    const uint8_t root_n[LEDGER_HASH_LEN],
    const uint8_t proof[][LEDGER_HASH_LEN], size_t nproof);

/* ---- note.c: C2SP signed-note and tlog-checkpoint ---------------------- */

#define LEDGER_NOTE_ALG_ED25519 0x01	/* C2SP signed-note */
#define LEDGER_NOTE_ALG_ECDSA   0x02	/* ours: ECDSA P-256, SHA-256, DER sig */
#define LEDGER_NOTE_SIG_MAX     80	/* ECDSA P-256 DER signature max 72 */

/* One signature line of a note, decoded. */
struct ledger_note_sig {
	char name[LEDGER_NAME_MAX + 1];
	uint8_t key_hash[4];
	uint8_t sig[LEDGER_NOTE_SIG_MAX];
	size_t siglen;
};

/* Splits a note into its body (text up to and including the newline before
 * the blank line) and its signature lines.  Checks the C2SP shape: UTF-8 text
 * without control characters but '\n', ends in '\n', lines "— name base64".
 * Returns 0 with *body_len and sigs[0..*nsigs) filled, -1 when malformed
 * (and `why` says how). */
int ledger_note_split(const char *note, size_t len, size_t *body_len,
    struct ledger_note_sig *sigs, size_t maxsigs, size_t *nsigs,
    char *why, size_t whylen);
/* Key hash: first 4 bytes of SHA-256(name || 0x0A || alg || key bytes),
 * where key bytes are the raw 32-byte key for Ed25519 (C2SP) and the SPKI
 * DER for ECDSA.  Returns 0 or -1 (unsupported key). */
int ledger_note_key_hash(const char *name, EVP_PKEY *pub, uint8_t out[4]);
/* Signs body with key; writes the signature line "— name base64\n"
 * (NUL-terminated) into line.  Returns 0 or -1. */
int ledger_note_sign_line(const char *body, size_t body_len,
    const char *name, EVP_PKEY *key, char *line, size_t linelen);
/* Verifies one decoded signature over body with pub (which the caller
 * matched by name and key hash).  Returns 0 when valid, -1 otherwise. */
int ledger_note_verify_sig(const char *body, size_t body_len,
    const struct ledger_note_sig *sig, EVP_PKEY *pub);

/* Verifier keys "name+hash8hex+base64(alg || key)" (signed-note). */
EVP_PKEY *ledger_note_vkey_parse(const char *vkey, char *name,
    size_t namelen);
int ledger_note_vkey_format(EVP_PKEY *pub, const char *name, char *out,
    size_t outlen);
/* Verifies that `note` carries a valid signature by the holder of `vkey`.
 * Returns 0 when so, -1 otherwise. */
int ledger_note_verify_vkey(const char *note, size_t len, const char *vkey);

/* C2SP tlog-checkpoint body:
 *   origin\n size\n base64(root)\n [time <unix seconds>\n]
 * We always write the "time" extension line: it is the block's ledger time. */
int ledger_checkpoint_body(const char *origin, uint64_t size,
    const uint8_t root[LEDGER_HASH_LEN], time_t t, char *out, size_t outlen);
/* Parses a checkpoint body (or a whole note: stops at the blank line).
 * t is 0 when there is no time line.  Returns 0 or -1. */
int ledger_checkpoint_parse(const char *text, size_t len, char *origin,
    size_t originlen, uint64_t *size, uint8_t root[LEDGER_HASH_LEN],
    time_t *t);

/* ---- crypto.c: account keys -------------------------------------------- */

/* Parses a base64 SPKI DER public key; only Ed25519 and ECDSA P-256 are
 * accepted as account keys.  Returns a new key or NULL. */
EVP_PKEY *ledger_pubkey_from_b64(const char *b64);
/* Base64 SPKI DER of a key (public part), NUL-terminated.  0 or -1. */
int ledger_pubkey_to_b64(EVP_PKEY *key, char *out, size_t outlen);
/* Hex SHA-256 of a DER SPKI (the key id of a registered key). */
void ledger_spki_key_id(const uint8_t *der, size_t len,
    char out[LEDGER_KEYID_LEN + 1]);
/* Base64 (no line breaks) with OpenSSL's EVP_Encode; 0 or -1. */
int ledger_b64_encode(const uint8_t *in, size_t len, char *out,
    size_t outlen);
/* Strict base64 decode of a single line; returns the length or -1. */
int ledger_b64_decode(const char *in, size_t inlen, uint8_t *out,
    size_t outlen);
void ledger_hex(const uint8_t *in, size_t len, char *out);
/* Parses exactly 2*len hex digits; 0 or -1. */
int ledger_unhex(const char *hex, uint8_t *out, size_t len);

#endif
