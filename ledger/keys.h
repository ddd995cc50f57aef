/*
 * keys.h: keys and their encodings, base64, hex and times (crypto.c,
 * entry.c), and a certificate's TBS (tbs.c), for every part of keybridge.
 * Included by ledger.h (it uses ledger.h's constants): include ledger.h,
 * not this file.
 */
#ifndef KEYBRIDGE_LEDGER_KEYS_H
#define KEYBRIDGE_LEDGER_KEYS_H

/* ---- the TBS of a certificate (tbs.c) ---------------------------------- */

/* The DER TBSCertificate inside certificate der[0..len), exactly as
 * encoded: *tbs points into der.  0, or -1 when der is not one DER
 * SEQUENCE whose first element is a SEQUENCE. */
int ledger_tbs_of_cert(const uint8_t *der, size_t len, const uint8_t **tbs,
    size_t *tbslen);
/* A DER TBSCertificate as an X509 to read with OpenSSL's accessors (get1;
 * its outer signature is empty: never to be used as a certificate), or
 * NULL when it does not parse as exactly one TBSCertificate. */
X509 *ledger_tbs_x509(const uint8_t *tbs, size_t len);
/* The same TBS, read without decoding its public key (the rules' reader,
 * tbs.c): *x as ledger_tbs_x509's but for its key, which stays unread,
 * and the SubjectPublicKeyInfo re-encoded in *spki[0..*spkilen)
 * (OPENSSL_malloc'd; the bytes i2d_X509_PUBKEY gives for *x of
 * ledger_tbs_x509).  0, or -1 when tbs does not parse as exactly one
 * TBSCertificate. */
int ledger_tbs_read(const uint8_t *tbs, size_t len, X509 **x, uint8_t **spki,
    int *spkilen);

/* ---- keys ------------------------------------------------------------- */

/* Parses a base64 SPKI DER public key; only Ed25519 and ECDSA P-256 are
 * accepted as account keys.  Returns a new key or NULL. */
EVP_PKEY *ledger_pubkey_from_b64(const char *b64);
/* The same, saying why a key is refused (why may be NULL): not canonical
 * DER, not Ed25519 or P-256 with a named curve and an uncompressed point,
 * or an Ed25519 point of small order or in a non-canonical encoding. */
EVP_PKEY *ledger_account_key_parse(const char *b64, char *why,
    size_t whylen);
/*
 * A registered key has one encoding, and its key id is the SHA-256 of it:
 * the DER SubjectPublicKeyInfo that i2d_PUBKEY writes, for EC keys with the
 * named curve (P-256 or P-384 only) and the uncompressed point.
 * ledger_spki_canonical() writes that DER for any encoding of key into
 * *der (a new buffer: OPENSSL_free it) and returns its length, or -1 with
 * why (an EC key on another curve).  key is not changed.
 */
int ledger_spki_canonical(EVP_PKEY *key, unsigned char **der, char *why,
    size_t whylen);
/* 0 when der[0..len), from which key was parsed, is that canonical
 * encoding; -1 with why naming what is not (explicit curve parameters, a
 * compressed or hybrid point, another curve, a non-DER encoding). */
int ledger_spki_check(EVP_PKEY *key, const uint8_t *der, size_t len,
    char *why, size_t whylen);
/* Base64 SPKI DER of a key (public part), NUL-terminated.  0 or -1. */
int ledger_pubkey_to_b64(EVP_PKEY *key, char *out, size_t outlen);
/* Base64 (no line breaks) with OpenSSL's EVP_Encode; 0 or -1. */
int ledger_b64_encode(const uint8_t *in, size_t len, char *out,
    size_t outlen);
/* Strict base64 decode of a single line; returns the length or -1. */
int ledger_b64_decode(const char *in, size_t inlen, uint8_t *out,
    size_t outlen);
/* RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (UTC only) to time_t; 0 or -1. */
int ledger_time_parse(const char *s, time_t *t);
void ledger_time_format(time_t t, char out[21]);
/* Hex SHA-256 of a DER SPKI (the key id of a registered key). */
void ledger_spki_key_id(const uint8_t *der, size_t len,
    char out[LEDGER_KEYID_LEN + 1]);
/* Lowercase hex of in (out holds 2*len+1). */
void ledger_hex(const uint8_t *in, size_t len, char *out);
/* The value of hex digit c (either case), or -1. */
int ledger_hexval(int c);
/* Parses exactly 2*len hex digits; 0 or -1. */
int ledger_unhex(const char *hex, uint8_t *out, size_t len);

/* Generates an Ed25519 ("ed25519") or ECDSA P-256 ("ec-p256") key. */
EVP_PKEY *ledger_key_generate(const char *type);
/* Writes a private key as PKCS#8 PEM, created with mode 0600 (refuses to
 * overwrite).  Returns 0 or -1. */
int ledger_key_save(EVP_PKEY *key, const char *path);
/* Reads a PEM private key; refuses a file readable by group or others. */
EVP_PKEY *ledger_key_load(const char *path, char *err, size_t errlen);
/* The signed-note verifier key "name+hash+base64" of an Ed25519 key. */
int ledger_key_vkey(EVP_PKEY *key, const char *name, char *out, size_t outlen);

#endif
