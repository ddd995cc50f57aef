/*
 * api_int.h: helpers shared by the files of the JSON API (api.c,
 * api_certs.c); not for the rest of the bridge.
 */
#ifndef KEYBRIDGE_API_INT_H
#define KEYBRIDGE_API_INT_H

#include "bridge/bridge.h"

#define API_LIMIT_DEFAULT	100
#define API_LIMIT_MAX		LEDGER_LIST_MAX
#define API_TIME_LEN		sizeof("YYYY-MM-DDTHH:MM:SSZ")
#define API_CHECKPOINT_MAX	4096	/* a signed checkpoint note */

/* Which methods a route takes (HEAD goes with GET: evhttp drops the body). */
#define API_GET		0x1
#define API_POST	0x2

/* RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" of t into buf (API_TIME_LEN bytes). */
const char *api_time(time_t t, char *buf, size_t len);
/* New JSON values (jansson: the caller owns the reference). */
json_t *api_json_time(time_t t);
json_t *api_json_u64(uint64_t v);
/* Answers 405 with Allow unless req's method is in methods: 0 go on, -1
 * answered. */
int api_method(struct evhttp_request *req, int methods);
/* Query parameter name in [min,max] into *v (def when absent); answers
 * 400 and returns -1 when malformed. */
int api_param_u64(struct evhttp_request *req, const char *name, uint64_t min,
    uint64_t max, uint64_t def, uint64_t *v);
/* The path after a registered prefix. */
const char *api_path_rest(struct evhttp_request *req, const char *prefix);
/* 503 storage_error: the ledger could not be read. */
void api_reply_storage(struct evhttp_request *req, const char *what);
/* A new JSON string of the lowercase hex of a hash. */
json_t *api_json_hash(const uint8_t h[LEDGER_HASH_LEN]);
/* A new JSON array of the hex of proof[0..n). */
json_t *api_proof_json(uint8_t proof[][LEDGER_HASH_LEN], size_t n);
/* Answers 200 text/plain (the checkpoint note for transparency-log
 * tools). */
void api_reply_text(struct evhttp_request *req, const char *text);
/* 1 when s is 64 lowercase hex digits. */
int api_is_key_id(const char *s);

/* An entry as GET /api/v1/ledger/entries shows it (a new object). */
json_t *api_entry_json(const struct ledger_entry_info *e);

/* ---- api_ledger.c ------------------------------------------------------- */

void api_entries(struct evhttp_request *req, void *arg);
void api_checkpoint(struct evhttp_request *req, void *arg);
void api_inclusion(struct evhttp_request *req, void *arg);
void api_consistency(struct evhttp_request *req, void *arg);

/* ---- api_certs.c -------------------------------------------------------- */

/* A certificate as the API shows it, its status as OCSP answers it. */
json_t *api_cert_json(const struct ledger_cert_info *c, time_t now);
/* The certificates of a key, oldest first (a new array), or NULL. */
json_t *api_key_certs_json(struct ledger *l, const char *key_id, time_t now);
void api_certs(struct evhttp_request *req, void *arg);
void api_cert(struct evhttp_request *req, void *arg);

/* ---- api_configs.c ------------------------------------------------------ */

void api_configs(struct evhttp_request *req, void *arg);
void api_config(struct evhttp_request *req, void *arg);

#endif
