/*
 * api_int.h: helpers shared by the files of the JSON API (api.c,
 * api_ledger.c, api_certs.c, api_configs.c, events.c); not for the rest
 * of the bridge.
 */
#ifndef KEYBRIDGE_API_INT_H
#define KEYBRIDGE_API_INT_H

#include "common/log.h"
#include "ledger/ledger.h"
#include "bridge/http/http.h"
#include "bridge/render.h"
#include "bridge/api/api.h"

#define API_LIMIT_DEFAULT	100
#define API_LIMIT_MAX		LEDGER_LIST_MAX
#define API_CHECKPOINT_MAX	LEDGER_NOTE_MAX	/* a signed checkpoint note */
/* Rows one list request reads at most while it looks for matches: a
 * filtered page stops there (short, maybe empty, with "next"). */
#define API_SCAN_MAX		(10 * LEDGER_LIST_MAX)

/* Which methods a route takes (HEAD goes with GET: evhttp drops the body). */
#define API_GET		0x1
#define API_POST	0x2

/* Answers 405 with Allow unless req's method is in methods: 0 go on, -1
 * answered. */
int api_method(struct evhttp_request *req, int methods);
/* Refuses (400 bad_parameter, -1) a query that breaks http.h's query rules or
 * has a parameter not in names (NULL-terminated; NULL: none); 0 when it
 * passes.  Every handler calls it first. */
int api_params(struct evhttp_request *req, const char *const *names);
/*
 * The weight, in thousandths, that the Accept header a gives type: that
 * of its most specific matching media range (RFC 9110 12.5.1), or -1
 * when no range matches.  A range with a malformed weight is skipped;
 * media type parameters other than q are not compared.
 */
int api_accept_q(const char *a, const char *type);
/* The list cursor "after": ID, or ID@SIZE as a page's "next" gives it.
 * valid() checks ID; what says what ID is, for the message.  Fills id
 * (idlen bytes; "" without a cursor) and *size, the snapshot the list is
 * read at (cur, the tree size now, without "@SIZE").  Answers 400 and
 * returns -1 when it is malformed or SIZE is not in 1..cur. */
int api_cursor(struct evhttp_request *req, int (*valid)(const char *),
    const char *what, uint64_t cur, char *id, size_t idlen, uint64_t *size);
/* The "next" of a page: "ID@SIZE", a new JSON string. */
json_t *api_json_cursor(const char *id, uint64_t size);
/* Query parameter name in [min,max] into *v (def when absent); answers
 * 400 and returns -1 when malformed. */
int api_param_u64(struct evhttp_request *req, const char *name, uint64_t min,
    uint64_t max, uint64_t def, uint64_t *v);
/* GET /api/v1/configs/GROUP/versions + rest ("", "/V", "/V/content"):
 * api_config_versions.c. */
void api_config_versions(struct evhttp_request *req, struct api_ctx *ctx,
    const char *group, const char *rest);
/* The path after a registered prefix. */
const char *api_path_rest(struct evhttp_request *req, const char *prefix);
/* POST /api/v1/entries (api_names.c): 409 name_in_use for a key-register
 * entry whose name an active key has, unless ?allow_same_name=1; 0 go on,
 * -1 answered. */
int api_name_check(struct api_ctx *ctx, struct evhttp_request *req,
    const char *entry, size_t len);
/* ?allow_same_name of req: *allow 1 when it is "1", 0 when absent;
 * -1 (answered 400) for another value. */
int api_name_allowed(struct evhttp_request *req, int *allow);
/* api_name_check's verdict without answering: 0 go on, or the HTTP
 * status (409 name_in_use, 503 storage_error) with its code (static) in
 * *code and a one-line message in msg (a batch answers it per entry). */
int api_name_verdict(struct api_ctx *ctx, const char *entry, size_t len,
    const char **code, char *msg, size_t msglen);
/* 503 storage_error: the ledger could not be read. */
void api_reply_storage(struct evhttp_request *req, const char *what);
/* A new JSON array of the hex of proof[0..n). */
json_t *api_proof_json(uint8_t proof[][LEDGER_HASH_LEN], size_t n);
/* {"entry", "index", "leaf_hash", "tree_size", "root_hash", "proof",
 * "checkpoint"} (the shape of /api/v1/ledger/proof/inclusion plus the
 * entry and the checkpoint note) for the entry at index against the
 * latest checkpoint, or NULL (api_configs.c). */
json_t *api_proof_of(struct ledger *l, uint64_t index);
/* Answers 200 text/plain (the checkpoint note for transparency-log
 * tools). */
void api_reply_text(struct evhttp_request *req, const char *text);
/* 1 when s is 64 lowercase hex digits. */
int api_is_key_id(const char *s);
/* 1 when s is a name as the ledger takes it for accounts, devices and
 * groups: 1 to LEDGER_NAME_MAX of A-Z a-z 0-9 . _ @ - (SYN_NAME). */
int api_is_name(const char *s);

/* An entry as GET /api/v1/ledger/entries shows it (a new object). */
json_t *api_entry_json(const struct ledger_entry_info *e);

/* ---- api_access.c: client certificates in place of the token ----------- */

enum api_access {
	API_ACCESS_NONE,	/* no certificate that counts: 401 */
	API_ACCESS_OK,		/* an admin's, or a device's for this path */
	API_ACCESS_FORBIDDEN,	/* a device's, not for this path: 403 */
};
/*
 * What the TLS client certificate of req may read at req's path
 * (api_access.c's comment: recorded on the ledger and good now; an admin
 * certificate reads everything, a device certificate the configuration
 * routes of its key's config-group lines and the proof bundles).  For
 * API_ACCESS_FORBIDDEN, why says what it may not read.
 */
enum api_access api_access_cert(const struct api_ctx *ctx,
    struct evhttp_request *req, char *why, size_t whylen);

/* ---- api_validators.c: the validators (issue 14) ------------------------ */

struct bval;
/* Sets "validators" (each one's health, [] when solo), "quorum" (0
 * solo), "final_size" (solo_final when solo: every checkpoint is final)
 * and "finality" ({p50_ms, p99_ms, seals, seals_without_quorum}, null
 * solo) in the status object j.  0, or -1 out of memory. */
int api_validators_status(struct bval *v, uint64_t solo_final, json_t *j);
/* The cosignature lines of checkpoint note by the configured validators
 * and witnesses: [{name, timestamp, verdict}] (a new array, [] solo, NULL
 * out of memory); *nvalid the distinct valid ones. */
json_t *api_cosignatures_json(struct bval *v, const char *note,
    size_t *nvalid);

/* ---- api_ledger.c ------------------------------------------------------- */

void api_entries(struct evhttp_request *req, void *arg);
void api_entry(struct evhttp_request *req, void *arg);
void api_checkpoint(struct evhttp_request *req, void *arg);
void api_inclusion(struct evhttp_request *req, void *arg);
void api_consistency(struct evhttp_request *req, void *arg);

/* ---- api_cache.c: GET /api/v1/certs/SERIAL answers as text ------------- */

#define API_CACHE_TEXT_MAX 4096		/* longer answers are not kept */
#define API_CACHE_FOREVER ((time_t)INT64_MAX)

/* The kept answer for serial, valid at now, or NULL. */
const char *api_cert_cache_get(struct api_cert_cache *c, const char *serial,
    time_t now, size_t *len);
/* Keeps text (len bytes) as serial's answer while now < until. */
void api_cert_cache_put(struct api_cert_cache *c, const char *serial,
    const char *text, size_t len, time_t until);

/* ---- api_certs.c -------------------------------------------------------- */

/* The certificates of key k, oldest first (a new array), or NULL. */
json_t *api_key_certs_json(struct ledger *l, const struct ledger_key_info *k,
    time_t now);
void api_certs(struct evhttp_request *req, void *arg);
void api_cert(struct evhttp_request *req, void *arg);

/* ---- api_configs.c ------------------------------------------------------ */

void api_configs(struct evhttp_request *req, void *arg);
void api_config(struct evhttp_request *req, void *arg);

/* ---- api_proofs.c: proof bundles (issue 15) ---------------------------- */

void api_proof(struct evhttp_request *req, void *arg);

/* ---- the handlers of api_status.c, api_keys.c, api_entries.c ------------ */

void api_status(struct evhttp_request *req, void *arg);
void api_accounts(struct evhttp_request *req, void *arg);
void api_account(struct evhttp_request *req, void *arg);
void api_keys(struct evhttp_request *req, void *arg);
void api_key(struct evhttp_request *req, void *arg);
void api_submit(struct evhttp_request *req, void *arg);
/* POST /api/v1/entries with {"entries": [...]} (api_batch.c): json is
 * the parsed body (borrowed); each entry queued as one submission, req
 * answered 200 {"accepted", "refused", "results"} once all have their
 * outcome, or 400 for a malformed batch. */
void api_batch_submit(struct api_ctx *ctx, struct evhttp_request *req,
    json_t *json);
/* The entries of a batch body: 0 with entries[i], lens[i] pointing into
 * json (borrowed) and *n set, or 400 with its code (static) and a
 * one-line message.  entries and lens hold API_BATCH_MAX.  Pure. */
#define API_BATCH_MAX	1024	/* entries in one POST /api/v1/entries */
int api_batch_of(json_t *json, const char **entries, size_t *lens,
    size_t *n, const char **code, char *msg, size_t msglen);
/* 1 when the caller of req may read the API: the API is open (no
 * api_auth = token), or req carries the bearer token or an admin client
 * certificate.  Who may not is told nothing about accounts
 * (api_entries.c: account_not_found is answered as signature_invalid). */
int api_caller_known(const struct api_ctx *ctx, struct evhttp_request *req);
/* The signed entry a POST /api/v1/entries body carries: the body itself
 * (text/plain, or no Content-Type), or the string field "entry" of a
 * JSON object (application/json).  *entry points into body or into
 * *json (a new reference the caller decrefs; NULL for text).  Returns 0,
 * or the HTTP status of the refusal (415, 400) with its error code
 * (static) in *code and a one-line message in msg.  A pure function:
 * tests/fuzz/fuzz_entry.c drives it. */
int api_entry_of(const char *ctype, const char *body, size_t len,
    const char **entry, size_t *elen, json_t **json, const char **code,
    char *msg, size_t msglen);

#endif
