/*
 * render.h: the JSON shapes of the ledger's records (bridge/render.c),
 * one place for the API and the command line.  A leaf: ledger.h and
 * jansson only.  Every json_t * returned is a new reference (NULL when out
 * of memory).
 */
#ifndef KEYBRIDGE_RENDER_H
#define KEYBRIDGE_RENDER_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "ledger/ledger.h"

#define RENDER_TIME_LEN	sizeof("YYYY-MM-DDTHH:MM:SSZ")

/* RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" of t into buf (RENDER_TIME_LEN bytes);
 * returns buf. */
const char *render_time(time_t t, char *buf, size_t len);
/* A JSON string of the RFC 3339 time t. */
json_t *render_json_time(time_t t);
/* A JSON string of the lowercase hex of a hash. */
json_t *render_json_hash(const uint8_t h[LEDGER_HASH_LEN]);
/* A JSON integer of v (every count and index is far below 2^53). */
json_t *render_json_u64(uint64_t v);

/* An account: name, role, threshold, keys, seq, next_seq, created_index. */
json_t *render_account_json(const struct ledger_account_info *a);
/* 1 when k was revoked by an entry before index size (a snapshot). */
int render_key_revoked_at(const struct ledger_key_info *k, uint64_t size);
/* k as it stood when the ledger held entries [0, size): a revocation from
 * size on is not shown. */
json_t *render_key_json_at(const struct ledger_key_info *k, uint64_t size);
/* k as it stands. */
json_t *render_key_json(const struct ledger_key_info *k);
/* A certificate with the status OCSP gives it at now; key_rev is the leaf
 * index of its key's revocation (UINT64_MAX: none or unknown). */
json_t *render_cert_json(const struct ledger_cert_info *c, uint64_t key_rev,
    time_t now);

#endif
