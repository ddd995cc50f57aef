/*
 * config_table.c: every setting of keybridge.conf, one row each: its name,
 * type, place in struct bridge_config, bounds, default and the help text
 * config_write() puts above it.  config.c parses, checks and writes by
 * walking this table (see there for the format).
 */
#include <stddef.h>

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

const struct config_field config_table[] = {
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
const size_t config_nfields = sizeof(config_table) / sizeof(config_table[0]);

_Static_assert(sizeof(config_table) / sizeof(config_table[0]) <=
    CONFIG_FIELDS_MAX, "config_table: raise CONFIG_FIELDS_MAX");
