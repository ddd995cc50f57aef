/*
 * config.h: the settings of DIR/keybridge.conf (bridge/config.c).  A leaf
 * header, which every room of bridge/ may include without the rest of
 * bridge.h.
 */
#ifndef KEYBRIDGE_CONFIG_H
#define KEYBRIDGE_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#define CONFIG_FILE "keybridge.conf"
#define CONFIG_STR  256
#define CONFIG_VALIDATORS_MAX 32	/* validator/witness lines (issue 14) */

/* One `validator = NAME VKEY URL` (or `witness = ...`) line. */
struct config_validator {
	char name[CONFIG_STR];
	char vkey[CONFIG_STR];		/* C2SP cosignature/v1 verifier key */
	char url[CONFIG_STR];		/* http://ADDR:PORT of its API */
	int witness;			/* 1: add-checkpoint only, no replay */
};

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
	char pkcs11_module[CONFIG_STR];	/* PKCS#11 module path, or "" */
	char pkcs11_pin_file[CONFIG_STR];	/* its PIN, mode 0600, or "" */
	char est_basic_auth[CONFIG_STR];	/* "user:pass" or "" */
	char api_token[CONFIG_STR];	/* bearer token for API reads, or "" */
	char api_auth[16];		/* "auto", "token" or "open" */
	char dashboard[8];		/* "on" or "off": /dashboard/ */
	char est_device_basic_auth[CONFIG_STR];
	char est_server_basic_auth[CONFIG_STR];
	char log_level[16];
	char log_format[8];		/* "text" or "json" (common/log.h) */
	char log_target[CONFIG_STR];	/* "stderr", "syslog" or a file */
	char access_log[CONFIG_STR];	/* a file, or "": request lines in
					 * the main log */
	char user[CONFIG_STR];		/* unprivileged user a root start drops to */
	long batch_max;			/* entries per block */
	long max_body;			/* bytes of a request body */
	long queue_max;			/* submissions waiting for the writer */
	long api_cache_entries;		/* certs/SERIAL answers kept */
	long ocsp_validity;		/* s, thisUpdate to nextUpdate */
	long ocsp_max_age;		/* s, HTTP max-age cap */
	long crl_validity;		/* s, CRL thisUpdate to nextUpdate */
	long crl_partitions;		/* issue 18: CRL partitions, 1: none */
	char ocsp_store[CONFIG_STR];	/* SQLite file of signed answers, or "off" */
	long ocsp_cache_max;		/* answers kept in memory, 0: all */
	long map_snapshot_entries;	/* snapshot every N entries, 0: no */
	long map_snapshot_seconds;	/* or when idle after N s, 0: no */
	long ocsp_resign_rate;		/* answers/s re-signed when not urgent */
	char blob_dir[CONFIG_STR];	/* published bytes (ledger/blob.h) */
	long config_max_bytes;		/* largest version diffed as text */
	long blob_max_bytes;		/* largest file published */
	/* issue 14: none means solo */
	struct config_validator validators[CONFIG_VALIDATORS_MAX];
	size_t nvalidators;
	long quorum;			/* 0: 2f+1 of nvalidators */
	long validator_wait_ms;		/* seal() waits this long for quorum */
	/* issue 16: the front door's limits (bridge/http/limits.c) */
	long http_header_timeout;	/* s: a whole request head */
	long http_body_timeout;		/* s: a body's grace */
	long http_body_min_rate;	/* bytes/s after the grace; 0: none */
	long http_tls_handshake_timeout;	/* s */
	long http_keepalive_timeout;	/* s idle between requests */
	long http_max_conns_per_addr;	/* from one client address */
	long http_max_conns;		/* in all; 0: from RLIMIT_NOFILE */
	long http_fd_reserve;		/* descriptors kept for the rest */
	long ocsp_loops;		/* event loops on http_listen (LOOPS18) */
	long est_workers;		/* CSR-checking threads; 0: the loop */
	long ingest_threads;		/* signature checks ahead; 0: none */
	long ingest_pipeline;		/* 1: pipelined seal, 0: serial */
	/* PROF17: the CA names (init --subject-o/-c/-ou; "" none) and the
	 * certificate profiles' options (bridge/ca/profile.c) */
	char ca_subject_o[CONFIG_STR];	/* organizationName */
	char ca_subject_c[CONFIG_STR];	/* countryName, ISO 3166 alpha-2 */
	char ca_subject_ou[CONFIG_STR];	/* organizationalUnitName */
	long device_validity_hours;	/* 0: the profile's default days */
	long server_validity_hours;
	long admin_validity_hours;
	long device_no_rev_avail;	/* 1: no OCSP/CRL pointers, noRevAvail */
	long server_no_rev_avail;
	long admin_no_rev_avail;
	char device_policy_oid[CONFIG_STR];	/* certificatePolicies, or "" */
	char server_policy_oid[CONFIG_STR];
	char admin_policy_oid[CONFIG_STR];
};

/* Fills c with the defaults for data directory dir. */
void config_defaults(struct bridge_config *c, const char *dir);
/* Loads DIR/keybridge.conf over the defaults.  Unknown keys, values out of
 * bounds and malformed lines are errors naming the line.  0 or -1. */
int config_load(struct bridge_config *c, const char *dir, char *err,
    size_t errlen);
/* config_load that goes on past a bad line: each(arg, why) is called for
 * every problem ("DIR/keybridge.conf:7: batch_max must be ...", or the
 * file that cannot be read), and c holds what the good lines set.
 * Returns the number of problems: 0 when c is good (keybridge check). */
int config_load_each(struct bridge_config *c, const char *dir,
    void (*each)(void *arg, const char *why), void *arg);
/* Calls cb for every setting whose value differs from a to b, in the
 * table's order: its key, both values as text, and secret = 1 for the
 * keys whose values must not be logged (api_token, the basic-auth
 * passwords).  The validator and witness lines come as one key,
 * "validator" (SIGHUP's log of what changed). */
void config_changes(const struct bridge_config *a, const struct bridge_config *b,
    void (*cb)(void *arg, const char *key, const char *old,
    const char *new_, int secret), void *arg);
/* config_load over a file's bytes in memory, text[0..len) (the fuzz
 * target's entry point): the same parse, errors naming `name`. */
int config_load_mem(struct bridge_config *c, const char *dir,
    const char *text, size_t len, const char *name, char *err,
    size_t errlen);
/* Writes every setting of c to fp as config_write does (a stream).  0, or
 * -1 (logged) when a value would not read back the same. */
int config_emit(const struct bridge_config *c, FILE *fp);
/* Writes c to path (mode 0644).  0 or -1. */
int config_write(const struct bridge_config *c, const char *path);
/* The default quorum of n cosigners (validator and witness lines): the
 * smallest q with 2q - n > f, f = (n - 1) / 3; 2f+1 when n = 3f+1. */
size_t config_quorum_default(size_t n);
/* config_validators.c: a `validator =` or `witness =` value "NAME VKEY
 * URL" into c (witness: 1 for a witness line).  0, or -1 with why. */
int config_validator_line(struct bridge_config *c, const char *val,
    int witness, char *why, size_t whylen);
/* The quorum against the lines: at most n, and any two quorums share an
 * honest cosigner (2q - n > f).  0, or -1 with why. */
/* The longest checkpoint note c's validators could cosign: the body, the
 * node's signature line and one cosignature line per validator. */
size_t config_note_worst(const struct bridge_config *c);
int config_validators_check(const struct bridge_config *c, char *why,
    size_t whylen);
/* Resolves a configured path against c->dir into out.  Returns out. */
const char *config_path(const struct bridge_config *c, const char *p,
    char *out, size_t outlen);

/* Takes DIR/keybridge.lock: held by a running `serve` for its lifetime.
 * 0 locked (the caller closes *fd), 1 when another process holds it (a
 * bridge is running), -1 on error. */
int config_lock(const struct bridge_config *cfg, int *fd);

/* logconf.c: the log keys of cfg applied (log_configure): level, or
 * cfg->log_level when level < 0 (serve --log-level passes its own),
 * log_format, log_target and access_log, relative paths against cfg->dir.
 * On failure nothing changes.  0, or -1 with err. */
int logconf_apply(const struct bridge_config *cfg, int level, char *err,
    size_t errlen);
/* logconf.c: cfg's log keys checked and its log files opened (created
 * when absent) and closed, without switching the log (`keybridge
 * check`).  0, or -1 with err naming the key, the path and why. */
int logconf_check(const struct bridge_config *cfg, char *err,
    size_t errlen);

#endif
