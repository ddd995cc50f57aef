/*
 * config.c: DIR/keybridge.conf, driven by one declarative table.
 *
 * Like Redis's config.c, every setting is one row of config_table: its name,
 * its type, where it lives in struct bridge_config, its bounds, its default
 * and a one-line help text.  Parsing, defaults and config_write() all walk
 * the same table, so adding a setting is one line here and one field in
 * bridge.h, and the written file can never drift from what the parser
 * accepts.
 *
 * The format is deliberately small:
 *
 *	# a comment (only at the start of a line)
 *	batch_max = 1024
 *	public_https_url = https://bridge.example:8443
 *
 * Values run from the first non-blank after '=' to the end of the line,
 * trailing blanks removed; there is no quoting and no inline comment (a '#'
 * inside a value is part of it).  An unknown key, a key given twice, a value
 * out of bounds and a line without '=' are errors that name the file, the
 * line and the key, so a typo never silently falls back to a default.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/version.h"
#include "ledger/ledger.h"
#include "bridge/config.h"
#include "bridge/ca/ca.h"
#include "bridge/config_int.h"
#include "ocsp/ocsp.h"		/* OCSPR_MAX_LOOPS */
#include "common/workq.h"	/* WORKQ_MAX_THREADS */

/* Bounds of the numeric settings. */
#define CONFIG_BATCH_MIN	1L
#define CONFIG_BATCH_MAX	4096L	/* = LEDGER_BATCH_MAX */
#define CONFIG_BATCH_DEF	1024L
#define CONFIG_BODY_MIN		1024L
#define CONFIG_BODY_MAX		1048576L
#define CONFIG_BODY_DEF		65536L
#define CONFIG_BLOB_MAX		(1L << 40)	/* 1 TiB: config/blob_max_bytes */
#define CONFIG_QUEUE_MIN	16L
#define CONFIG_QUEUE_MAX	1048576L
#define CONFIG_QUEUE_DEF	65536L

/* 0600: the file may hold secrets (est_*_basic_auth passwords,
 * api_token), not only key paths. */
#define CONFIG_FILE_MODE	0600

enum config_type {
	CONFIG_T_STR,		/* char[]; min/max bound the length */
	CONFIG_T_LONG,		/* long; min/max bound the value */
	CONFIG_T_LOGLEVEL,	/* char[]; one of log_level_parse()'s names */
	CONFIG_T_LOGFORMAT,	/* char[]; one of log_format_parse()'s names */
};

struct config_field {
	const char *name;
	enum config_type type;
	size_t offset;		/* into struct bridge_config */
	size_t size;		/* of the field, bytes */
	long min, max;
	const char *def_str;	/* default of a string or log level */
	long def_long;		/* default of a long */
	const char *help;	/* written above the key by config_write() */
};

#define CONFIG_FSIZE(f) sizeof(((struct bridge_config *)NULL)->f)
/* A string that must not be empty. */
#define CSTR(f, def, help) { #f, CONFIG_T_STR, \
	offsetof(struct bridge_config, f), CONFIG_FSIZE(f), \
	1, (long)CONFIG_FSIZE(f) - 1, def, 0, help }
/* A string that may be empty. */
#define CSTR0(f, def, help) { #f, CONFIG_T_STR, \
	offsetof(struct bridge_config, f), CONFIG_FSIZE(f), \
	0, (long)CONFIG_FSIZE(f) - 1, def, 0, help }
#define CLONG(f, lo, hi, def, help) { #f, CONFIG_T_LONG, \
	offsetof(struct bridge_config, f), CONFIG_FSIZE(f), \
	lo, hi, NULL, def, help }
#define CLEVEL(f, def, help) { #f, CONFIG_T_LOGLEVEL, \
	offsetof(struct bridge_config, f), CONFIG_FSIZE(f), \
	0, 0, def, 0, help }
#define CLOGFMT(f, def, help) { #f, CONFIG_T_LOGFORMAT, \
	offsetof(struct bridge_config, f), CONFIG_FSIZE(f), \
	0, 0, def, 0, help }

static const struct config_field config_table[] = {
	CSTR(name, "keybridge",
	    "This bridge's name: the prefix of its CA and certificate names."),
	CSTR(origin, "keybridge/ledger",
	    "First line of every checkpoint (C2SP tlog-checkpoint origin); "
	    "every entry names it (origin line).  No spaces."),
	CSTR(est_listen, "127.0.0.1:8443",
	    "HTTPS listener for EST and the JSON API, ADDR:PORT ([::1]:PORT)."),
	CSTR(http_listen, "127.0.0.1:8080",
	    "Plain HTTP listener for OCSP, CRLs and /metrics, ADDR:PORT."),
	CSTR(public_https_url, "https://127.0.0.1:8443",
	    "How clients reach est_listen (written into certificates)."),
	CSTR(public_http_url, "http://127.0.0.1:8080",
	    "How clients reach http_listen (OCSP URL and CRL point in certs)."),
	CSTR(db, "ledger.db",
	    "Ledger database: an sqlite file, or a postgresql:// URL."),
	CLONG(db_allow_async_commit, 0, 1, 0,
	    "1: run on a PostgreSQL whose synchronous_commit or fsync is off "
	    "(acknowledged entries may be lost in a crash); 0: refuse."),
	CSTR(validator_name, "keybridge-node",
	    "Name of this node's validator key in checkpoint signatures."),
	CSTR(validator_key, "node.key",
	    "Validator private key (signs checkpoints): a file, mode 0600, "
	    "or a pkcs11: URI."),
	CSTR0(validator_vkey, "",
	    "Signed-note verifier key of validator_key (set by init)."),
	CSTR(bridge_account, "bridge",
	    "Ledger account that signs certificate-issued entries."),
	CSTR(bridge_key, "bridge.key",
	    "Private key of bridge_account: a file, mode 0600, or a pkcs11: "
	    "URI."),
	CSTR(admin_key, "admin.key",
	    "Default --account key of the admin commands, mode 0600."),
	CSTR(tls_cert, "tls/server.pem",
	    "TLS server certificate followed by the issuing CA, PEM."),
	CSTR(tls_key, "tls/server.key",
	    "TLS server private key, mode 0600."),
	CSTR(ca_root, "ca/root.pem",
	    "Root CA certificate: the trust anchor clients install."),
	CSTR(ca_issuing, "ca/issuing.pem",
	    "Issuing CA certificate (signs device and server certificates)."),
	CSTR(ca_issuing_key, "ca/issuing.key",
	    "Issuing CA private key: a file, mode 0600, or a pkcs11: URI; "
	    "used only by the signer."),
	CSTR(ocsp_cert, "ca/ocsp.pem",
	    "Delegated OCSP signer certificate (id-kp-OCSPSigning)."),
	CSTR(ocsp_key, "ca/ocsp.key",
	    "OCSP signer private key: a file, mode 0600, or a pkcs11: URI; "
	    "used only by the signer."),
	CSTR0(ca_chain, "ca/chain.pem",
	    "Issuing CA then root, PEM: cacerts and client-certificate trust."),
	CSTR0(pkcs11_module, "",
	    "PKCS#11 module (a .so path) of the keys given as pkcs11: URIs "
	    "(RFC 7512) above, or empty."),
	CSTR0(pkcs11_pin_file, "",
	    "File holding that token's user PIN, mode 0600 (refused "
	    "otherwise), or empty."),
	CSTR0(est_basic_auth, "",
	    "user:password required on /.well-known/est/ (empty: none)."),
	CSTR0(est_device_basic_auth, "",
	    "user:password required under the device label (empty: none)."),
	CSTR0(est_server_basic_auth, "",
	    "user:password required under the server label (empty: none)."),
	CSTR0(api_token, "",
	    "Bearer token that reads of /api/v1 need (see api_auth), or empty."),
	CSTR(api_auth, "auto",
	    "auto: API reads need api_token unless est_listen is loopback; "
	    "token: always; open: never."),
	CSTR(dashboard, "on",
	    "on: serve the dashboard at /dashboard/ on est_listen; off: not."),
	CLEVEL(log_level, "info",
	    "error, warn, info or debug."),
	/* LOG17: docs/operations.md "Logs" */
	CLOGFMT(log_format, "text",
	    "text: one line per message; json: one JSON object per line "
	    "(time, level, component, message; requests: request_id, client, "
	    "method, route, status, bytes, duration_ms)."),
	CSTR(log_target, "stderr",
	    "stderr, syslog (syslog(3), facility daemon) or a file (appended "
	    "to, created 0640, reopened on SIGUSR1; relative to the data "
	    "directory)."),
	CSTR0(access_log, "",
	    "A file for one line per HTTP request of both listeners (created "
	    "0640, reopened on SIGUSR1); empty: request lines go to the main "
	    "log at info (OCSP's and CRLs' at debug)."),
	CSTR(user, "keybridge",
	    "Started as root, serve drops to this user once its keys are "
	    "read and its ports bound (create it: useradd --system "
	    "--home-dir /var/lib/keybridge --shell /usr/sbin/nologin "
	    "keybridge)."),
	CLONG(batch_max, CONFIG_BATCH_MIN, CONFIG_BATCH_MAX, CONFIG_BATCH_DEF,
	    "Most entries committed in one ledger block."),
	CLONG(max_body, CONFIG_BODY_MIN, CONFIG_BODY_MAX, CONFIG_BODY_DEF,
	    "Largest accepted HTTP request body, bytes."),
	CLONG(queue_max, CONFIG_QUEUE_MIN, CONFIG_QUEUE_MAX, CONFIG_QUEUE_DEF,
	    "Most submitted entries waiting for the ledger writer."),
	CLONG(api_cache_entries, 0, 4194304, 131072,
	    "GET /api/v1/certs/SERIAL answers kept in memory (about 600 "
	    "bytes each; 0: none)."),
	CLONG(ocsp_validity, 300, 7 * 86400, 3600,
	    "Seconds from an OCSP response's thisUpdate to its nextUpdate."),
	CLONG(ocsp_max_age, 0, 86400, 60,
	    "Most seconds HTTP caches may keep an OCSP response or CRL."),
	CLONG(crl_validity, 7200, 30 * 86400, 86400,
	    "Seconds from a CRL's thisUpdate to its nextUpdate."),
	/* issue 18: docs/operations.md "CRL partitions and delta CRLs" */
	CLONG(crl_partitions, 1, 256, 1,
	    "CRL partitions per issuer (a power of two; 1: one full CRL). "
	    "More: partition and delta CRLs, named by new certificates."),
	/* issue 18: docs/operations.md "OCSP at scale" */
	CSTR(ocsp_store, "off",
	    "SQLite file keeping signed OCSP answers across restarts "
	    "(relative to the data directory), or off."),
	CLONG(ocsp_cache_max, 0, 100000000, 0,
	    "Signed OCSP answers kept in memory (two per certificate), the "
	    "least recently used evicted first; 0: every one."),
	/* issue 18: docs/operations.md "Status map snapshot while
	 * serving" */
	CLONG(map_snapshot_entries, 0, 1000000000, 50000,
	    "Write the status map snapshot while serving once this many "
	    "entries were committed since the last one; 0: not by count."),
	CLONG(map_snapshot_seconds, 0, 86400, 300,
	    "Write it when idle this many seconds after the last one, if "
	    "entries came since; 0: not by time."),
	/* issue 18: docs/design.md "Re-signing at a pace" */
	CLONG(ocsp_resign_rate, 0, 10000000, 2000,
	    "Stored OCSP answers re-signed per second while not urgent (more "
	    "than a quarter of their validity left); 0: as fast as they go."),
	/* LOOPS18: event loops of the plain listener (docs/operations.md
	 * "OCSP loops") */
	CLONG(ocsp_loops, 1, OCSPR_MAX_LOOPS, 1,
	    "Event loops (threads) answering OCSP on http_listen, each with "
	    "its own socket (SO_REUSEPORT); 2 on a 2-core machine."),
	/* issue 18: docs/design.md "Enrollment on two cores" */
	CLONG(est_workers, 0, WORKQ_MAX_THREADS, 2,
	    "Threads that decode and check enrollment CSRs off the event "
	    "loop; 0: on the loop."),
	/* issue 18: docs/operations.md "Ingest pipeline" */
	CLONG(ingest_threads, 0, LEDGER_INGEST_THREADS_MAX, 2,
	    "Threads checking submitted entries' signatures ahead of the "
	    "ledger writer; 0: the writer checks every one."),
	CLONG(ingest_pipeline, 0, 1, 1,
	    "1: a block is sealed (its checkpoint signed) while the writer "
	    "makes the next; 0: on the writer's thread."),
	CLONG(quorum, 0, CONFIG_VALIDATORS_MAX, 0,
	    "Validators: cosignatures that make a checkpoint final (0: 2f+1 "
	    "of the validator and witness lines, n = 3f+1)."),
	CLONG(validator_wait_ms, 100, 600000, 5000,
	    "Validators: how long a block waits for a quorum before its "
	    "writes are answered 503 with Retry-After (milliseconds)."),
	/* CONN16: the front door's limits (docs/operations.md "Connection
	 * limits") */
	CLONG(http_header_timeout, 1, 300, 10,
	    "Seconds a client has to send a whole request head (from its "
	    "connection's start, or a kept-alive request's first byte)."),
	CLONG(http_body_timeout, 1, 300, 10,
	    "Seconds a request body has before http_body_min_rate counts."),
	CLONG(http_body_min_rate, 0, 1L << 30, 1024,
	    "Bytes per second a body must keep up after its grace: it has "
	    "http_body_timeout seconds plus one per this many bytes (0: the "
	    "whole body within http_body_timeout)."),
	CLONG(http_tls_handshake_timeout, 1, 300, 5,
	    "Seconds a TLS handshake may take."),
	CLONG(http_keepalive_timeout, 1, 3600, 30,
	    "Seconds an idle kept-alive connection waits for its next "
	    "request."),
	CLONG(http_max_conns_per_addr, 1, 1000000, 64,
	    "Connections from one client address (IPv6: one /64), loopback "
	    "included; more are closed at once."),
	CLONG(http_max_conns, 0, 1000000, 0,
	    "Connections in all (0: the descriptor limit, raised to its hard "
	    "limit, less http_fd_reserve); past it the one waiting longest "
	    "for a request is closed."),
	CLONG(http_fd_reserve, 0, 65536, 64,
	    "Descriptors kept from the connections for the store, the key "
	    "process and the logs (two more per validator line)."),
	/* BLOBS15: published configuration and firmware bytes */
	CSTR(blob_dir, "blobs",
	    "Folder of published configuration and firmware bytes, named by "
	    "SHA-256."),
	CLONG(config_max_bytes, 1024, CONFIG_BLOB_MAX, 16L << 20,
	    "Largest version compared as text by config diff and the "
	    "dashboard, bytes."),
	CLONG(blob_max_bytes, 1024, CONFIG_BLOB_MAX, 1L << 30,
	    "Largest file config publish stores, bytes."),
	/* PROF17: CA names and the certificate profiles' options
	 * (bridge/ca/profile.c checks them once the file is read) */
	CSTR0(ca_subject_o, "",
	    "organizationName of the CA certificates (init --subject-o): at "
	    "most 64 characters, or empty."),
	CSTR0(ca_subject_c, "",
	    "countryName of the CA certificates (init --subject-c): an ISO "
	    "3166 alpha-2 code such as DE, or empty."),
	CSTR0(ca_subject_ou, "",
	    "organizationalUnitName of the CA certificates (init "
	    "--subject-ou): at most 64 characters, or empty."),
	CLONG(device_validity_hours, 0, CA_DEVICE_HOURS_MAX, 0,
	    "Validity of device certificates in hours (0: 365 days)."),
	CLONG(server_validity_hours, 0, CA_SERVER_HOURS_MAX, 0,
	    "Validity of server certificates in hours, at most 2160 (0: 90 "
	    "days)."),
	CLONG(admin_validity_hours, 0, CA_ADMIN_HOURS_MAX, 0,
	    "Validity of admin certificates in hours, at most 720 (0: 30 "
	    "days)."),
	CLONG(device_no_rev_avail, 0, 1, 0,
	    "1: device certificates carry no OCSP URL and no CRL point but "
	    "noRevAvail (RFC 9608); needs device_validity_hours 1..168."),
	CLONG(server_no_rev_avail, 0, 1, 0,
	    "1: as device_no_rev_avail, for server certificates."),
	CLONG(admin_no_rev_avail, 0, 1, 0,
	    "1: as device_no_rev_avail, for admin certificates."),
	CSTR0(device_policy_oid, "",
	    "Certificate policy OID of device certificates "
	    "(certificatePolicies), dotted (1.3.6.1.4.1.N...), or empty."),
	CSTR0(server_policy_oid, "",
	    "Certificate policy OID of server certificates, or empty."),
	CSTR0(admin_policy_oid, "",
	    "Certificate policy OID of admin certificates, or empty."),
};
#define CONFIG_NFIELDS (sizeof(config_table) / sizeof(config_table[0]))

static char *
config_str(struct bridge_config *c, const struct config_field *f)
{
	return (char *)c + f->offset;
}

static const char *
config_cstr(const struct bridge_config *c, const struct config_field *f)
{
	return (const char *)c + f->offset;
}

static long *
config_long(struct bridge_config *c, const struct config_field *f)
{
	return (long *)(void *)((char *)c + f->offset);
}

/* Fills c with the defaults of config_table for data directory dir (cut
 * at PATH_MAX - 1 bytes; config_load() refuses such a dir). */
void
config_defaults(struct bridge_config *c, const char *dir)
{
	const struct config_field *f;
	size_t i;

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", dir != NULL ? dir : ".");
	for (i = 0; i < CONFIG_NFIELDS; i++) {
		f = &config_table[i];
		if (f->type == CONFIG_T_LONG)
			*config_long(c, f) = f->def_long;
		else
			snprintf(config_str(c, f), f->size, "%s", f->def_str);
	}
}

/* Checks that string value v fits field f and survives a write/parse round
 * trip (no control characters, no blanks at either end).  Returns NULL when
 * it does, or the complaint, to follow "<key> ". */
static const char *
config_check_str(const struct config_field *f, const char *v, char *why,
    size_t whylen)
{
	size_t i, len = strlen(v);

	if (f->type == CONFIG_T_LOGLEVEL) {
		if (log_level_parse(v) < 0)
			return "must be one of error, warn, info, debug";
		return NULL;
	}
	if (f->type == CONFIG_T_LOGFORMAT) {
		if (log_format_parse(v) < 0)
			return "must be text or json";
		return NULL;
	}
	if ((long)len < f->min)
		return "must not be empty";
	if ((long)len > f->max) {
		snprintf(why, whylen, "is too long (at most %ld bytes)",
		    f->max);
		return why;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] == 0x7f)
			return "must not contain control characters";
	if (len > 0 && (v[0] == ' ' || v[0] == '\t' || v[len - 1] == ' ' ||
	    v[len - 1] == '\t'))
		return "must not begin or end with blanks";
	return NULL;
}

/* Sets field f of c from the text v.  Returns 0, or -1 with the complaint
 * about the value in why (to follow "<key> "). */
static int
config_set(struct bridge_config *c, const struct config_field *f,
    const char *v, char *why, size_t whylen)
{
	const char *bad;
	char *end;
	long n;

	if (f->type == CONFIG_T_LONG) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (v[0] == '\0' || *end != '\0') {
			snprintf(why, whylen, "must be a whole number between "
			    "%ld and %ld", f->min, f->max);
			return -1;
		}
		if (errno == ERANGE || n < f->min || n > f->max) {
			snprintf(why, whylen, "must be between %ld and %ld",
			    f->min, f->max);
			return -1;
		}
		*config_long(c, f) = n;
		return 0;
	}
	if ((bad = config_check_str(f, v, why, whylen)) != NULL) {
		if (bad != why)
			snprintf(why, whylen, "%s", bad);
		return -1;
	}
	memcpy(config_str(c, f), v, strlen(v) + 1);
	return 0;
}

static const struct config_field *
config_find(const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_NFIELDS; i++)
		if (strcmp(config_table[i].name, name) == 0)
			return &config_table[i];
	return NULL;
}

static int
config_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int config_read(struct bridge_config *c, const char *dir,
    void (*each)(void *, const char *), void *arg, char *err, size_t errlen);

/* Parses one line (modified in place) into c.  seen[] holds the line on
 * which each field was set, 0 when it was not.  Returns 0, or -1 with err
 * set to "path:lineno: ...". */
static int
config_parse_line(struct bridge_config *c, char *line, const char *path,
    unsigned long lineno, unsigned long *seen, char *err, size_t errlen)
{
	const struct config_field *f;
	char why[CONFIG_STR];
	char *key, *val, *eq, *p;

	key = line;
	while (config_blank((unsigned char)*key))
		key++;
	p = key + strlen(key);
	while (p > key && config_blank((unsigned char)p[-1]))
		*--p = '\0';
	if (*key == '\0' || *key == '#')
		return 0;

	if ((eq = strchr(key, '=')) == NULL) {
		snprintf(err, errlen, "%s:%lu: expected \"key = value\"",
		    path, lineno);
		return -1;
	}
	val = eq + 1;
	while (config_blank((unsigned char)*val))
		val++;
	for (p = eq; p > key && config_blank((unsigned char)p[-1]); p--)
		;
	*p = '\0';
	if (*key == '\0') {
		snprintf(err, errlen, "%s:%lu: missing key before '='", path,
		    lineno);
		return -1;
	}

	/* repeatable: one per validator (config_validators.c) */
	if (strcmp(key, "validator") == 0 || strcmp(key, "witness") == 0) {
		if (config_validator_line(c, val, key[0] == 'w', why,
		    sizeof(why)) != 0) {
			snprintf(err, errlen, "%s:%lu: %s %s", path, lineno,
			    key, why);
			return -1;
		}
		return 0;
	}
	if ((f = config_find(key)) == NULL) {
		snprintf(err, errlen, "%s:%lu: unknown key \"%.64s\"", path,
		    lineno, key);
		return -1;
	}
	if (seen[f - config_table] != 0) {
		snprintf(err, errlen, "%s:%lu: %s is already set on line %lu",
		    path, lineno, f->name, seen[f - config_table]);
		return -1;
	}
	if (config_set(c, f, val, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s:%lu: %s %s", path, lineno, f->name,
		    why);
		return -1;
	}
	seen[f - config_table] = lineno;
	return 0;
}

/* Reads the lines of fp over c (already holding its defaults), errors
 * naming `name` and the line, then checks the validator lines (the error
 * at the quorum line when there is one).  With each NULL: 0, or -1 at the
 * first problem with err set.  With each set, every bad line is given to
 * each (err is its buffer), counted in *bad, and the read goes on: 0, or
 * -1 when the file cannot be read or the validator lines are wrong. */
static int
config_read_lines(struct bridge_config *c, FILE *fp, const char *name,
    void (*each)(void *, const char *), void *arg, int *bad, char *err,
    size_t errlen)
{
	unsigned long seen[CONFIG_NFIELDS] = { 0 };
	const struct config_field *q;
	const char *bad_key = "";
	char why[CONFIG_STR * 2];
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int rc = -1;

	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		if (config_parse_line(c, line, name, lineno, seen, err,
		    errlen) == -1) {
			if (each == NULL)
				goto out;
			each(arg, err);
			(*bad)++;
		}
	}
	if (ferror(fp) != 0) {
		snprintf(err, errlen, "%s: read error", name);
		goto out;
	}
	if (config_validators_check(c, why, sizeof(why)) != 0) {
		q = config_find("quorum");
		if (q != NULL && seen[q - config_table] != 0)
			snprintf(err, errlen, "%s:%lu: %s", name,
			    seen[q - config_table], why);
		else
			snprintf(err, errlen, "%s: %s", name, why);
		goto out;
	}
	/* Bounds that tie keys together (noRevAvail needs a short
	 * validity) or need more than a length (an OID, a country code). */
	if (ca_profile_config_check(c, &bad_key, why, sizeof(why)) != 0) {
		q = config_find(bad_key);
		if (q != NULL && seen[q - config_table] != 0)
			snprintf(err, errlen, "%s:%lu: %s %s", name,
			    seen[q - config_table], bad_key, why);
		else
			snprintf(err, errlen, "%s: %s %s", name, bad_key, why);
		goto out;
	}
	rc = 0;
out:
	free(line);
	return rc;
}

/* Fills c with the defaults for dir, then reads dir/keybridge.conf over
 * them.  The first bad line stops the load.  Returns 0, or -1 with err set
 * to one line ("DIR/keybridge.conf:7: batch_max must be between 1 and
 * 4096"); c then holds a partial result and must not be used. */
int
config_load(struct bridge_config *c, const char *dir, char *err,
    size_t errlen)
{
	return config_read(c, dir, NULL, NULL, err, errlen) == 0 ? 0 : -1;
}

/* See config.h. */
int
config_load_each(struct bridge_config *c, const char *dir,
    void (*each)(void *arg, const char *why), void *arg)
{
	char err[PATH_MAX + CONFIG_STR];

	return config_read(c, dir, each, arg, err, sizeof(err));
}

/* config_load, and with each set config_load_each: every bad line is
 * given to each (err is its buffer) and the load goes on with the next.
 * Returns the number of problems (0: c is good), or with each NULL 0 or
 * -1 at the first. */
static int
config_read(struct bridge_config *c, const char *dir,
    void (*each)(void *, const char *), void *arg, char *err, size_t errlen)
{
	char path[PATH_MAX];
	FILE *fp = NULL;
	int n, rc = -1, bad = 0;

	if (dir == NULL || strlen(dir) >= sizeof(c->dir)) {
		snprintf(err, errlen, "data directory name is too long");
		goto out;
	}
	config_defaults(c, dir);
	n = snprintf(path, sizeof(path), "%s/%s", dir, CONFIG_FILE);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%s/%s: path too long", dir,
		    CONFIG_FILE);
		goto out;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: %s (create the data "
			    "directory with `keybridge init %s`)", path,
			    strerror(errno), dir);
		else
			snprintf(err, errlen, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	rc = config_read_lines(c, fp, path, each, arg, &bad, err, errlen);
out:
	if (fp != NULL)
		fclose(fp);
	if (each == NULL)
		return rc;
	if (rc != 0) {
		each(arg, err);
		bad++;
	}
	return bad;
}

/* config_load's parse of a file's bytes held in memory (text[0..len), NULs
 * and all, read line by line as the file is): the same settings and the
 * same errors, named `name`. */
int
config_load_mem(struct bridge_config *c, const char *dir, const char *text,
    size_t len, const char *name, char *err, size_t errlen)
{
	static char empty[1];
	FILE *fp;
	int rc;

	if (dir == NULL || strlen(dir) >= sizeof(c->dir)) {
		snprintf(err, errlen, "data directory name is too long");
		return -1;
	}
	config_defaults(c, dir);
	/* read-only ("r"): fmemopen never writes to the buffer */
	if ((fp = fmemopen(len > 0 ? (void *)(uintptr_t)text : empty, len,
	    "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	rc = config_read_lines(c, fp, name, NULL, NULL, NULL, err, errlen);
	fclose(fp);
	return rc;
}

/* Writes every setting of c to fp, each under its help comment.  Returns
 * 0, or -1 (logged) when a value would not read back the same. */
int
config_emit(const struct bridge_config *c, FILE *fp)
{
	const struct config_field *f;
	const char *bad;
	char why[CONFIG_STR];
	size_t i;

	fprintf(fp, "# keybridge.conf: written by keybridge %s.\n"
	    "# One \"key = value\" per line; '#' starts a comment line.\n"
	    "# Relative paths are resolved against the data directory.\n",
	    KEYBRIDGE_VERSION);
	for (i = 0; i < CONFIG_NFIELDS; i++) {
		f = &config_table[i];
		fprintf(fp, "\n# %s\n", f->help);
		if (f->type == CONFIG_T_LONG) {
			fprintf(fp, "%s = %ld\n", f->name,
			    *(const long *)(const void *)config_cstr(c, f));
			continue;
		}
		if ((bad = config_check_str(f, config_cstr(c, f), why,
		    sizeof(why))) != NULL) {
			log_err("config: %s %s", f->name, bad);
			return -1;
		}
		fprintf(fp, "%s = %s\n", f->name, config_cstr(c, f));
	}
	return config_validators_emit(c, fp);
}

/* Writes c to path, mode 0600, atomically: a temporary file in the same
 * directory, fsync'd, then renamed over path, so a crash leaves either the
 * old file or the new one.  Returns 0, or -1 (logged). */
int
config_write(const struct bridge_config *c, const char *path)
{
	char tmp[PATH_MAX];
	FILE *fp = NULL;
	int n, fd = -1, rc = -1;

	tmp[0] = '\0';
	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		log_err("config: %s: path too long", path);
		tmp[0] = '\0';
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		log_err("config: %s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, CONFIG_FILE_MODE) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		log_err("config: %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;		/* owned by fp now */
	if (config_emit(c, fp) == -1)
		goto out;
	if (fflush(fp) != 0 || ferror(fp) != 0 || fsync(fileno(fp)) == -1) {
		log_err("config: %s: %s", tmp, strerror(errno));
		goto out;
	}
	n = fclose(fp);
	fp = NULL;
	if (n != 0) {
		log_err("config: %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) == -1) {
		log_err("config: %s: %s", path, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';		/* renamed: nothing to remove */
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	if (fd != -1)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	return rc;
}

/* Settings whose values are never written to a log (config_changes). */
static const char *const config_secrets[] = {
	"api_token", "est_basic_auth", "est_device_basic_auth",
	"est_server_basic_auth",
};

static int
config_is_secret(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(config_secrets) / sizeof(config_secrets[0]);
	    i++)
		if (strcmp(config_secrets[i], name) == 0)
			return 1;
	return 0;
}

/* See config.h. */
void
config_changes(const struct bridge_config *a, const struct bridge_config *b,
    void (*cb)(void *arg, const char *key, const char *old,
    const char *new_, int secret), void *arg)
{
	const struct config_field *f;
	char va[CONFIG_STR * 2], vb[CONFIG_STR * 2];
	size_t i;
	int same;

	for (i = 0; i < CONFIG_NFIELDS; i++) {
		f = &config_table[i];
		if (f->type == CONFIG_T_LONG) {
			snprintf(va, sizeof(va), "%ld", *(const long *)(const void *)
			    config_cstr(a, f));
			snprintf(vb, sizeof(vb), "%ld", *(const long *)(const void *)
			    config_cstr(b, f));
		} else {
			snprintf(va, sizeof(va), "%s", config_cstr(a, f));
			snprintf(vb, sizeof(vb), "%s", config_cstr(b, f));
		}
		if (strcmp(va, vb) != 0)
			cb(arg, f->name, va, vb, config_is_secret(f->name));
	}
	same = a->nvalidators == b->nvalidators;
	for (i = 0; same && i < a->nvalidators; i++)
		same = memcmp(&a->validators[i], &b->validators[i],
		    sizeof(a->validators[i])) == 0;
	if (!same) {
		config_validators_text(a, va, sizeof(va));
		config_validators_text(b, vb, sizeof(vb));
		cb(arg, "validator", va, vb, 0);
	}
}
