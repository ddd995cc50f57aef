/*
 * keyside.h: for the key process (bridge/keyproc/), the validators,
 * devices and auditors: an entry parsed, its head, signature lines,
 * checkpoints and Merkle proofs checked without a database (keyside.c,
 * entry.c).  Included by ledger.h (it uses ledger.h's types): include
 * ledger.h, not this file.
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

/* ---- an entry, a checkpoint and a proof without the database ----------- */

/*
 * What the key process (before the CA key signs a certificate), a device
 * or an auditor checks with a checkpoint note, an entry's text, its leaf
 * index and its inclusion proof alone (docs/design.md "The CA signs only
 * what the ledger committed").
 */
struct ledger_entry;

/* Parses an entry as the ledger does (ledger_entry_parse: shape, fields
 * and their syntax; no signature or state is checked).  text must outlive
 * the result.  A new entry (ledger_entry_free), or NULL with why. */
struct ledger_entry *ledger_entry_new(const char *text, size_t len,
    char *why, size_t whylen);
void ledger_entry_free(struct ledger_entry *e);
enum ledger_entry_type ledger_entry_type_of(const struct ledger_entry *e);
/* The account line (the entry's signer). */
const char *ledger_entry_account_of(const struct ledger_entry *e);
/* The value of a single-valued field, or NULL. */
const char *ledger_entry_get(const struct ledger_entry *e, const char *key);
/* Up to max values of a repeatable field, in order; returns the count. */
size_t ledger_entry_all(const struct ledger_entry *e, const char *key,
    const char **out, size_t max);

/* 0 when entry text[0..len) is leaf `index` of the tree of `size` whose
 * root is root, by the RFC 9162 2.1.3.2 inclusion proof proof[0..n);
 * -1 otherwise. */
int ledger_proof_entry(const char *text, size_t len, uint64_t index,
    uint64_t size, const uint8_t (*proof)[LEDGER_HASH_LEN], size_t n,
    const uint8_t root[LEDGER_HASH_LEN]);
/* 0 when checkpoint note carries a valid signature by the holder of
 * vkey (a signed-note verifier key), with its origin, size, root and time
 * (0 without a time line) filled; -1 with why otherwise. */
int ledger_proof_checkpoint(const char *note, const char *vkey,
    char *origin, size_t originlen, uint64_t *size,
    uint8_t root[LEDGER_HASH_LEN], time_t *t, char *why, size_t whylen);

#endif
