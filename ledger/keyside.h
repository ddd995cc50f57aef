/*
 * keyside.h: keyside.c's functions, for the key process (bridge/keyproc/)
 * and the validators: an entry's head, signature lines, checkpoints and
 * Merkle proofs checked without a database.  Included by ledger.h (it
 * uses ledger.h's types): include ledger.h, not this file.
 */
#ifndef KEYBRIDGE_LEDGER_KEYSIDE_H
#define KEYBRIDGE_LEDGER_KEYSIDE_H

/* The head of an unsigned entry body (text ending in '\n', no blank
 * line): its type, account and origin line ("" when none).  0, or -1
 * with why set. */
int ledger_entry_head(const char *body, size_t len, enum ledger_entry_type *type,
    char account[LEDGER_NAME_MAX + 1], char *origin, size_t originlen,
    char *why, size_t whylen);
/* The signed-note signature line "— name base64\n" of body[0..len) by
 * key (an entry's, as ledger_entry_sign appends it; a checkpoint's).
 * 0 or -1. */
int ledger_sign_line(const char *body, size_t len, const char *account,
    EVP_PKEY *key, char *line, size_t linelen);
/* Parses a checkpoint body or note.  0 or -1. */
int ledger_checkpoint_read(const char *text, size_t len, char *origin,
    size_t originlen, uint64_t *size, uint8_t root[LEDGER_HASH_LEN]);
/* 0 when note carries a valid signature by vkey, else -1. */
int ledger_checkpoint_verify(const char *note, size_t len, const char *vkey);
/* The same with vkey parsed once (a validator checks the log's key on
 * every block: OpenSSL's decoder costs more than the verification). */
struct ledger_vkey;
struct ledger_vkey *ledger_vkey_new(const char *vkey);	/* NULL: bad */
void ledger_vkey_free(struct ledger_vkey *k);
int ledger_checkpoint_verify_key(const char *note, size_t len,
    const struct ledger_vkey *k);
/* RFC 9162 2.1.4.2 and 2.1.3.2: 0 when the proof verifies, else -1. */
int ledger_consistency_verify(uint64_t m, uint64_t n,
    const uint8_t root_m[LEDGER_HASH_LEN],
    const uint8_t root_n[LEDGER_HASH_LEN],
    const uint8_t proof[][LEDGER_HASH_LEN], size_t nproof);
int ledger_inclusion_verify(const uint8_t leaf[LEDGER_HASH_LEN],
    uint64_t index, uint64_t size, const uint8_t proof[][LEDGER_HASH_LEN],
    size_t n, const uint8_t root[LEDGER_HASH_LEN]);

#endif
