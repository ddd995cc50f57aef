/*
 * spki.h: EC public keys read without OpenSSL 3.0's decoder chain
 * (common/spki.c).
 *
 * On OpenSSL 3.0 (Debian 12) d2i_PUBKEY of a P-256 SubjectPublicKeyInfo
 * runs the provider decoder chain and costs 90-340 us, and the canonical
 * re-encoding (i2d_PUBKEY) more again: several times the Ed25519 check of
 * the entry that carries the key.  The keys devices use, EC P-256 or
 * P-384 on a named curve with an uncompressed point, are read here with
 * an ASN.1 template that keeps the key as bytes, and the key is made
 * from the point on a group built once (EVP_PKEY_set1_encoded_public_key,
 * which refuses a point off the curve).  Anything else is NULL, and the
 * caller reads it the slow way: the refusals, and their words, stay the
 * slow path's.
 */
#ifndef KEYBRIDGE_COMMON_SPKI_H
#define KEYBRIDGE_COMMON_SPKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The key of alg + bits when it is EC P-256 or P-384, a named curve, an
 * uncompressed point on it and no unused bits; else NULL. */
EVP_PKEY *spki_ec_key(const X509_ALGOR *alg, const ASN1_BIT_STRING *bits);

/* The key of der[0..len) when it is one whole SubjectPublicKeyInfo of
 * such a key in its one DER encoding (the bytes i2d_PUBKEY writes for
 * it); else NULL.  Safe from any thread. */
EVP_PKEY *spki_ec_read(const uint8_t *der, size_t len);

#endif
