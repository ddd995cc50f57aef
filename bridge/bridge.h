/*
 * bridge.h: shared by the files of bridge/ (the daemon and the CLI).  Only
 * bridge/ wires the modules together (DESIGN.md "Components and layout").
 */
#ifndef KEYBRIDGE_BRIDGE_H
#define KEYBRIDGE_BRIDGE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "est/est.h"
#include "ocsp/ocsp.h"
#include "ledger/ledger.h"

#define KEYBRIDGE_VERSION "0.1.0"

/* ---- log.c: leveled logging to stderr ---------------------------------- */

enum log_level { LOGL_ERR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };
extern int log_verbosity;		/* the one mutable global besides signals */

/* Parses "error|warn|info|debug"; returns the level or -1. */
int log_level_parse(const char *s);
/* "2026-11-21T14:07:08Z keybridge[pid] level: message\n" on stderr. */
void log_msg(enum log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define log_err(...)   log_msg(LOGL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)
/* Logs the OpenSSL error queue at LOGL_WARN (with a prefix) and clears it. */
void log_openssl(const char *prefix);

/* ---- config.c: DIR/keybridge.conf -------------------------------------- */

#define CONFIG_FILE "keybridge.conf"
#define CONFIG_STR  256

/* Every setting of keybridge.conf ("key = value" lines, '#' comments).
 * Paths are stored as written; config_path() resolves them against dir. */
struct bridge_config {
	char dir[PATH_MAX];		/* the data directory */
	char name[CONFIG_STR];		/* this bridge's name */
	char origin[CONFIG_STR];	/* checkpoint origin line */
	char est_listen[CONFIG_STR];	/* HTTPS: EST + API, ADDR:PORT */
	char http_listen[CONFIG_STR];	/* HTTP: OCSP, CRL, metrics */
	char public_https_url[CONFIG_STR];
	char public_http_url[CONFIG_STR];
	char db[CONFIG_STR];		/* sqlite file (relative to dir) or URL */
	long db_allow_async_commit;	/* PostgreSQL may lose acknowledged
					 * commits: run anyway */
	char validator_name[CONFIG_STR];
	char validator_key[CONFIG_STR];	/* node.key: signs checkpoints */
	char validator_vkey[CONFIG_STR];	/* its signed-note verifier key */
	char bridge_account[CONFIG_STR];	/* account of cert-issued entries */
	char bridge_key[CONFIG_STR];
	char admin_key[CONFIG_STR];	/* default --account for the CLI */
	char tls_cert[CONFIG_STR];	/* server cert + issuing CA, PEM */
	char tls_key[CONFIG_STR];
	char ca_root[CONFIG_STR];
	char ca_issuing[CONFIG_STR];
	char ca_issuing_key[CONFIG_STR];
	char ocsp_cert[CONFIG_STR];
	char ocsp_key[CONFIG_STR];
	char ca_chain[CONFIG_STR];	/* issuing then root */
	char est_basic_auth[CONFIG_STR];	/* "user:pass" or "" */
	char api_token[CONFIG_STR];	/* bearer token for API reads, or "" */
	char api_auth[16];		/* "auto", "token" or "open" */
	char dashboard[8];		/* "on" or "off": /dashboard/ */
	char est_device_basic_auth[CONFIG_STR];
	char est_server_basic_auth[CONFIG_STR];
	char log_level[16];
	long batch_max;			/* entries per block */
	long max_body;			/* bytes of a request body */
	long queue_max;			/* submissions waiting for the writer */
	long api_cache_entries;		/* certs/SERIAL answers kept */
	long ocsp_validity;		/* s, thisUpdate to nextUpdate */
	long ocsp_max_age;		/* s, HTTP max-age cap */
	long crl_validity;		/* s, CRL thisUpdate to nextUpdate */
};

/* Fills c with the defaults for data directory dir. */
void config_defaults(struct bridge_config *c, const char *dir);
/* Loads DIR/keybridge.conf over the defaults.  Unknown keys, values out of
 * bounds and malformed lines are errors naming the line.  0 or -1. */
int config_load(struct bridge_config *c, const char *dir, char *err,
    size_t errlen);
/* Writes c to path (mode 0644).  0 or -1. */
int config_write(const struct bridge_config *c, const char *path);
/* Resolves a configured path against c->dir into out.  Returns out. */
const char *config_path(const struct bridge_config *c, const char *p,
    char *out, size_t outlen);

/* ---- pki.c: the CA chain, OCSP signer and TLS certificate for init ----- */

struct pki_init_opts {
	const char *name;		/* CN prefix, e.g. "keybridge" */
	const char *const *hostnames;	/* extra TLS SANs (DNS or IP) */
	size_t nhostnames;
	const char *key_type;		/* "ec-p256" (default) or "rsa-3072" */
};

/* Sets serial to PKI_SERIAL_BYTES (16) from the CSPRNG with the top bit
 * cleared (a positive INTEGER of at most 16 octets, RFC 5280 4.1.2.2; 127
 * bits of entropy, well above the CA/B Forum's 64) and not zero.  Every
 * certificate keybridge makes takes its serial from here.  0 or -1. */
int pki_serial(ASN1_INTEGER *serial);

/* Creates, under the paths of c (resolved against c->dir): a root CA, an
 * issuing CA signed by it, a delegated OCSP signer (EKU OCSPSigning,
 * id-pkix-ocsp-nocheck) and the bridge's TLS server certificate (SANs
 * 127.0.0.1, ::1, localhost and every hostname), each key 0600, plus the
 * TLS chain file (leaf then issuing).  Returns 0 or -1 with err set. */
int pki_init(const struct bridge_config *c, const struct pki_init_opts *o,
    char *err, size_t errlen);

/* ---- signer.c: the private keys, behind an interface ------------------- */

/*
 * Every use of the issuing CA key and of the bridge account's ledger key
 * goes through a signer; network-facing code holds a struct signer * and
 * never key bytes.  This implementation keeps the keys in-process; the
 * interface is shaped so it can move into a key process reached over a
 * socketpair (as OpenBSD acme-client's keyproc) or a PKCS#11 token: each
 * call hands over what to sign and gets the signed object back.
 */
struct signer;

/* Loads the issuing CA (cert + key) and the bridge account key named in
 * cfg.  NULL with err set. */
struct signer *signer_open(const struct bridge_config *cfg, char *err,
    size_t errlen);
void signer_free(struct signer *s);
/* Signs cert (issuer name, validity, extensions already set) with the
 * issuing CA key: ECDSA with SHA-256, or RSA PKCS#1 v1.5 with SHA-256.
 * 0 or -1. */
int signer_sign_cert(struct signer *s, X509 *cert);
/* Appends the bridge account's signature line to an entry note (as
 * ledger_entry_sign does).  Returns the new malloc'd note (note is freed)
 * or NULL. */
char *signer_sign_entry(struct signer *s, char *note);
/* Signs an OCSP basic response with the delegated OCSP signer (ECDSA or
 * RSA with SHA-256, responderID byKey, the signer certificate in certs).
 * Safe to call from another thread than the other calls.  0 or -1. */
int signer_sign_ocsp(struct signer *s, OCSP_BASICRESP *bs);
/* Signs a CRL naming the issuing CA with its key (SHA-256).  Safe to call
 * from another thread.  0 or -1. */
int signer_sign_crl(struct signer *s, X509_CRL *crl);
/* The delegated OCSP signer's certificate (get0). */
X509 *signer_ocsp_cert(struct signer *s);
/* The issuing CA certificate (get0) and its issuer id: lowercase hex of
 * its subjectKeyIdentifier (the <issuer> of CRL URLs and ledger entries). */
X509 *signer_issuer(struct signer *s);
const char *signer_issuer_id(struct signer *s);

/* ---- issue.c: certificates from a registration ------------------------- */

#define ISSUE_DEVICE_DAYS 365
#define ISSUE_SERVER_DAYS 90
#define ISSUE_ADMIN_DAYS 30		/* operators' API client certs */
#define ISSUE_BACKDATE    300	/* notBefore this far back: clock skew */

struct issue_params {
	enum est_profile profile;
	const char *cn;			/* subject CN: the registered name */
	const struct est_names *names;	/* SANs: the registered names */
	EVP_PKEY *pubkey;		/* the CSR's key (borrowed) */
	/* The CSR's SubjectPublicKeyInfo as parsed (borrowed), or NULL.
	 * When set it is copied into the certificate field by field: the
	 * same key as pubkey, without OpenSSL 3.0's encoder and decoder
	 * round trip that X509_set_pubkey() makes (a third of an
	 * enrollment's CPU time on the event loop). */
	const X509_PUBKEY *spki;
	X509 *issuer;			/* issuing CA certificate (borrowed) */
	time_t now;
	time_t key_not_before, key_not_after;	/* the key's ledger window */
	const char *ocsp_url;		/* AIA OCSP */
	const char *ca_issuers_url;	/* AIA caIssuers */
	const char *crl_url;		/* CRL distribution point */
};

/* Builds the unsigned certificate: v3, a fresh 128-bit positive serial
 * from the CSPRNG, validity [now - ISSUE_BACKDATE, now + profile days]
 * capped to the key's window, basicConstraints CA:FALSE (critical),
 * keyUsage and extendedKeyUsage from the profile (device: clientAuth,
 * server: serverAuth), SKI, AKI, SAN, AIA, CRL DP.  Returns a new X509
 * (get1) or NULL with err set. */
X509 *issue_build(const struct issue_params *p, char *err, size_t errlen);
/* Lowercase hex of a certificate's serial without leading zeros (the
 * ledger's form).  out holds 41 bytes.  0 or -1. */
int issue_serial_hex(const X509 *cert, char out[41]);

/* ---- enroll.c: EST answered from the ledger ---------------------------- */

struct enroll_ctx;

/* The EST side of the bridge over ledger l and signer s (both borrowed;
 * cfg too).  Reads the CA chain for cacerts.  NULL with err set. */
struct enroll_ctx *enroll_new(struct ledger *l, struct signer *s,
    const struct bridge_config *cfg, char *err, size_t errlen);
void enroll_free(struct enroll_ctx *ctx);
/* server_handler for "/.well-known/est/". */
void enroll_handle(struct evhttp_request *req, void *arg);

/* ---- metrics.c: /metrics in the Prometheus text format ----------------- */

/* Endpoint groups of the request metrics (label "endpoint"). */
enum metrics_group {
	METRICS_EST, METRICS_OCSP, METRICS_CRL, METRICS_API, METRICS_OTHER,
	METRICS_NGROUPS
};

struct metrics;
struct server;

/* What /metrics reads besides its own counters (all borrowed; any may be
 * NULL). */
struct metrics_sources {
	struct ledger *ledger;
	struct status_ctx *status;
	struct server *https, *http;
	time_t started;
};

struct metrics *metrics_new(const struct metrics_sources *src);
void metrics_free(struct metrics *m);
/* The group of a route path ("/.well-known/est/": METRICS_EST, ...). */
int metrics_group_of(const char *route);
/* One answered request (loop thread). */
void metrics_observe(struct metrics *m, int group, int code, double seconds);
/* server_handler for GET /metrics (arg: the struct metrics). */
void metrics_handle(struct evhttp_request *req, void *arg);

/* ---- events.c: GET /api/v1/events (Server-Sent Events) ----------------- */

struct events;

/* The event streams of ledger l served through https (both borrowed).
 * NULL on failure. */
struct events *events_new(struct event_base *base, struct ledger *l,
    struct server *https);
/* Ends every stream now, and takes no new one: at shutdown, while the
 * loop still runs to write their last bytes.  NULL-safe. */
void events_end_all(struct events *ev);
/* Ends what streams are left and frees; before https is freed. */
void events_free(struct events *ev);
/* Sends the entries committed since the last call (after ledger_drain). */
void events_sync(struct events *ev);
/* server_handler for /api/v1/events (arg: the struct events). */
void events_handle(struct evhttp_request *req, void *arg);

/* ---- status.c: OCSP and CRLs answered from the ledger ------------------ */

struct status_ctx;
struct server;

/* The OCSP responder and CRLs over ledger l and signer s (borrowed), on
 * base.  Pre-signs every certificate's responses in the background.
 * NULL with err set. */
struct status_ctx *status_new(struct event_base *base, struct ledger *l,
    struct signer *s, const struct bridge_config *cfg, char *err,
    size_t errlen);
void status_free(struct status_ctx *st);
/* fn(arg, serial) for every certificate whose status a new ledger entry
 * changes (issued, revoked on its own or through its key), after the
 * OCSP answers were told: the API's cached answers follow. */
void status_on_change(struct status_ctx *st,
    void (*fn)(void *arg, const char *serial), void *arg);
/* Reads the entries committed since the last call and refreshes what
 * they change (call after ledger_drain). */
void status_sync(struct status_ctx *st);
/* Routes /ocsp, /, /crl/ and /ca/issuing.der on the plain-HTTP server. */
int status_register(struct status_ctx *st, struct server *http);
/* The responder (get0), for stats. */
struct ocspr *status_responder(struct status_ctx *st);

/* ---- server.c: HTTP(S) listeners on libevent evhttp -------------------- */

struct server;
typedef void (*server_handler)(struct evhttp_request *req, void *arg);

/* A TLS server context for cert (chain PEM) and key: TLS 1.2 and 1.3,
 * session resumption on.  With client_ca (a PEM bundle) a client
 * certificate is requested but optional; its verification outcome is left
 * in SSL_get_verify_result().  NULL with err set on failure. */
SSL_CTX *server_tls_ctx(const char *cert_chain, const char *key,
    const char *client_ca, char *err, size_t errlen);
/* Listens on "ADDR:PORT" ("[::1]:PORT" for IPv6).  With tls non-NULL every
 * connection is TLS through bufferevent_openssl (tls is borrowed; the SSL
 * objects are owned by their bufferevents).  NULL with err set. */
struct server *server_new(struct event_base *base, const char *listen,
    SSL_CTX *tls, size_t max_body, char *err, size_t errlen);
/* Stops accepting and frees the listener and its connections. */
void server_free(struct server *s);
/* With quiet set, requests are logged only at log level debug (the OCSP
 * listener: tens of thousands of lines a second say nothing useful). */
void server_set_quiet(struct server *s, int quiet);
/* fn(arg) runs if req's connection closes before its reply is complete
 * (a long-lived reply such as an event stream); req must not be touched
 * after.  0, or -1 when req is not one of s's requests in flight. */
int server_req_on_close(struct server *s, struct evhttp_request *req,
    void (*fn)(void *), void *arg);
/* Every answered request is counted and timed into m (borrowed). */
void server_set_metrics(struct server *s, struct metrics *m);
/* Routes requests whose path is `path` exactly, or starts with `path` when
 * it ends in '/', to h.  The longest match wins; no match: 404 JSON error. */
int server_route(struct server *s, const char *path, server_handler h,
    void *arg);
/* server_route for a route that answers HEAD too (its replies go through
 * server_send_reply); HEAD elsewhere is a 405. */
int server_route_head(struct server *s, const char *path, server_handler h,
    void *arg);
/* The bound port (useful with port 0). */
int server_port(struct server *s);

/* Replies with a JSON body (body is stolen: json_decref'd here). */
void server_reply_json(struct evhttp_request *req, int status, json_t *body);
/* The same with the JSON already as text (len bytes; a newline is added). */
void server_reply_json_text(struct evhttp_request *req, int status,
    const char *text, size_t len);
/* evhttp_send_reply, with the reply made one TLS record on a TLS
 * connection.  req must not be used afterwards. */
void server_send_reply(struct evhttp_request *req, int status,
    const char *reason, struct evbuffer *body);
/* Replies {"error":{"code":code,"message":...}} with status. */
void server_reply_error(struct evhttp_request *req, int status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Copies the request body (NUL-terminated) into a malloc'd buffer when it is
 * at most max bytes.  Returns 0, 1 when too large, -1 on error. */
int server_body(struct evhttp_request *req, size_t max, char **buf,
    size_t *len);
/* Query parameter `name` of req, copied into buf.  Returns 1 when absent,
 * 0 when present, -1 when the query is malformed or the value too long. */
int server_query_str(struct evhttp_request *req, const char *name, char *buf,
    size_t len);
/* Parses query parameter `name` of req as an unsigned integer in [min,max].
 * Returns 1 when absent (v untouched), 0 when valid, -1 when malformed or
 * out of range. */
int server_query_u64(struct evhttp_request *req, const char *name,
    uint64_t min, uint64_t max, uint64_t *v);

/* ---- client.c: the CLI's HTTPS client to a running bridge -------------- */

struct client_response {
	int status;		/* HTTP status */
	char *body;		/* malloc'd, NUL-terminated */
	size_t len;
};

/* Sends one request to base_url ("https://127.0.0.1:8443") + path,
 * verifying the server against cafile (PEM).  body may be NULL.  Returns 0
 * when a response arrived (any status), -1 when no connection could be made
 * or TLS failed (err says which).  Free r->body. */
int client_request(const char *base_url, const char *cafile,
    const char *method, const char *path, const char *content_type,
    const char *body, size_t len, struct client_response *r, char *err,
    size_t errlen);
/* The same with "Authorization: Bearer <bearer>" when bearer is set (the
 * API's api_token). */
int client_request_auth(const char *base_url, const char *cafile,
    const char *bearer, const char *method, const char *path,
    const char *content_type, const char *body, size_t len,
    struct client_response *r, char *err, size_t errlen);

/* ---- api.c: /api/v1 on the HTTPS listener ------------------------------ */

struct api_ctx {
	struct ledger *ledger;		/* borrowed */
	const struct bridge_config *cfg;
	time_t started;
	const char *storage;		/* "sqlite" */
	const char *consensus;		/* "solo" */
	X509 *issuer, *root;		/* borrowed: the CA chain, or NULL */
	const char *issuer_id;
	/* Reads need "Authorization: Bearer <token>" when need_token. */
	int need_token;
	const char *token;
	struct events *events;		/* /api/v1/events, or NULL */
	struct api_cert_cache *certs;	/* certs/SERIAL answers, or NULL */
	/* The last status answer, reused while the tree size and the second
	 * are the same (every field is a function of those two). */
	char status_text[8192];
	size_t status_len;
	uint64_t status_tree;
	time_t status_at;
	struct api_route {
		server_handler h;
		void *arg;
		struct api_ctx *ctx;
	} routes[24];
};

/* The cache of GET /api/v1/certs/SERIAL answers (api_cache.c): a table of
 * at most max answers; NULL when max is 0 (no cache) or out of memory
 * (every call takes NULL and does nothing).  _forget drops serial's
 * answer, or every answer when serial is NULL; status.c has it called for
 * every certificate a ledger entry issues or revokes. */
struct api_cert_cache *api_cert_cache_new(size_t max);
void api_cert_cache_free(struct api_cert_cache *c);
void api_cert_cache_forget(struct api_cert_cache *c, const char *serial);

/* 1 when "ADDR:PORT" is a loopback address (127.0.0.0/8, ::1). */
int api_listen_is_loopback(const char *listen);

/* The HTTP status that answers a ledger refusal (409 for a duplicate key,
 * 403 for a bad signature, ...). */
int api_http_status(enum ledger_status st);
/* The JSON shapes of the API, shared with the CLI's --json output: a new
 * reference, or NULL when out of memory. */
json_t *api_account_json(const struct ledger_account_info *a);
json_t *api_key_json(const struct ledger_key_info *k);
/* Registers every /api/v1 route on s.  Returns 0 or -1. */
int api_register(struct server *s, struct api_ctx *ctx);

/* ---- trust.c: the checkpoint remembered beside the data directory ------ */

#define TRUST_FILE      "checkpoint.trusted"
#define TRUST_FILE_MODE 0644	/* public, as the API serves it */
#define TRUST_NOTE_MAX  1024	/* a checkpoint note (ledger_receipt's) */

/* DIR/checkpoint.trusted of cfg into out.  Returns out. */
const char *trust_path(const struct bridge_config *cfg, char *out,
    size_t outlen);
/* Reads the note in path into note (NUL-terminated): 0, 1 when there is
 * no such file, -1 with err (naming path) when it cannot be read or is
 * not a short text. */
int trust_read(const char *path, char *note, size_t notelen, char *err,
    size_t errlen);
/* Replaces path with note atomically (a temp file, fsync, rename, then
 * the directory synced), mode TRUST_FILE_MODE.  0, or -1 with err. */
int trust_write(const char *path, const char *note, char *err,
    size_t errlen);

/* ---- cli.c, serve.c: the command line ---------------------------------- */

#define CLI_MAX_KEYS 16			/* --account files */

#define CLI_MAX_REPEAT 32		/* --dns, --ip, --pubkey, --hostname */

/* Every option of every command, as parsed by main.c; each command says
 * which it accepts (cli_only()). */
struct cli_opts {
	const char *dir, *name, *key_type, *est_listen, *http_listen, *db;
	const char *log_level, *csr, *profile, *not_before, *not_after;
	const char *days, *key_id, *reason, *status, *limit, *after;
	const char *threshold, *role, *out, *type, *group, *file, *version;
	const char *from, *vkey, *expires;
	const char *hostname[CLI_MAX_REPEAT];
	int nhostname;
	const char *pubkey[CLI_MAX_REPEAT];
	int npubkey;
	const char *dns[CLI_MAX_REPEAT];
	int ndns;
	const char *ip[CLI_MAX_REPEAT];
	int nip;
	const char *checkpoint[CLI_MAX_REPEAT];	/* ledger verify */
	int ncheckpoint;
	const char *receipt[CLI_MAX_REPEAT];
	int nreceipt;
	int no_remember;
	unsigned long long seen;	/* bit per option given */
};

/* What every command has: the loaded config and the signing options. */
struct cli {
	struct cli_opts o;
	const char *cmd;		/* "key register", for messages */
	struct bridge_config cfg;
	int have_dir;
	const char *as;			/* --as: the signing account */
	const char *keyfiles[CLI_MAX_KEYS];	/* --account */
	int nkeyfiles;
	int json;			/* --json */
	int remote;			/* --remote */
	EVP_PKEY *vkey;			/* validator key while appending */
	struct ledger_consensus *cons;	/* solo, sealing with vkey */
	char admin[PATH_MAX];		/* resolved default --account */
};

/* Takes DIR/keybridge.lock.  0 locked (caller closes *fd), 1 when another
 * process holds it (a bridge is running), -1 on error. */
int cli_lock(const struct bridge_config *cfg, int *fd);
int cmd_serve(struct cli *c);
int cmd_init(struct cli *c);
int cmd_account(struct cli *c, const char *sub);
int cmd_key(struct cli *c, const char *sub);
int cmd_config(struct cli *c, const char *sub);
int cmd_ledger(struct cli *c, const char *sub);
/* Fails (returns 1 after a message) when an option outside the
 * space-separated list `allowed` was given. */
int cli_only(struct cli *c, const char *allowed);
/* Loads DIR/keybridge.conf (-d); returns 0 or 1 after a message. */
int cli_load_config(struct cli *c);
/* Opens the data directory's ledger (writable: with the validator key). */
struct ledger *cli_ledger_open(struct cli *c, int writable);
void cli_ledger_close(struct cli *c, struct ledger *l);
/* GET path from the running bridge; a new JSON reference or NULL. */
json_t *cli_api_get(struct cli *c, const char *path, int *status);
/* Signs an entry of type with fields as c->as with every --account key and
 * appends it, through the running bridge or directly (one set of rules).
 * Returns 0 with r filled, or 1 after a message. */
int cli_submit(struct cli *c, enum ledger_entry_type type,
    const struct ledger_field *f, size_t nf, struct ledger_receipt *r);
/* Prints a receipt: one human line, or JSON with --json. */
void cli_print_receipt(struct cli *c, const struct ledger_receipt *r,
    const char *what, const char *key_id);
/* Prints "keybridge: code: message" on stderr; returns 1 (exit status). */
int cli_fail(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
