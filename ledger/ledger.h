/*
 * ledger.h: the ledger module's public face (docs/design.md "The ledger").
 *
 * The ledger is an append-only log of signed text entries (signed-note
 * shape), hashed into one RFC 6962 Merkle tree, committed in blocks that each
 * end in a C2SP tlog-checkpoint signed by the validator key, with the
 * registry state (accounts, keys, certificates, configs) derived from it in
 * indexed tables.  It uses libcrypto, sqlite3 and libpq only: no HTTP, no
 * libevent, no libssl, no X.509 issuance.
 *
 * Threads: one struct ledger may be used from one "caller" thread (reads,
 * ledger_append, ledger_submit, ledger_drain) while its writer thread, when
 * started, commits batches.  Reads use their own database connection.
 */
#ifndef KEYBRIDGE_LEDGER_H
#define KEYBRIDGE_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define LEDGER_HASH_LEN      32
#define LEDGER_ENTRY_MAX     16384	/* bytes of one entry, signatures included */
#define LEDGER_PROOF_MAX     64		/* hashes in any proof (tree < 2^64) */
#define LEDGER_NAME_MAX      64		/* account, device and group names */
#define LEDGER_ORIGIN_MAX    255	/* a ledger's (checkpoint) origin */
/* A checkpoint note with its signatures, NUL included: the body (origin,
 * size, root, time: LEDGER_NOTE_BODY_MAX), the blank line, the log's
 * signature line and one cosignature line per validator, up to 32 with
 * names of LEDGER_NAME_MAX (ledger/cosign.h checks the sum: about 6.3
 * KiB).  Every buffer, row and receipt that holds a final checkpoint
 * uses it. */
#define LEDGER_NOTE_MAX      8192
#define LEDGER_NOTE_BODY_MAX (LEDGER_ORIGIN_MAX + 1 + 21 + 45 + 64)
#define LEDGER_KEYID_LEN     64		/* hex SHA-256 of an SPKI */
#define LEDGER_MAX_SANS      32		/* dns lines, and ip lines, in one
					 * registration: 32 of each */
#define LEDGER_CERT_DER_MAX  9000	/* bytes of the certificate a
					 * cert-issued entry carries (its
					 * base64 is a field of at most 12000) */
#define LEDGER_MAX_SIGS      16		/* signature lines in one entry */
#define LEDGER_MAX_CONFIG_GROUPS 16	/* config-group lines in one
					 * registration: the configuration
					 * groups its device may read */
#define LEDGER_MAX_ACCT_KEYS 16		/* public keys of one account */
#define LEDGER_BATCH_MAX     4096	/* entries in one block */
#define LEDGER_LIST_MAX      1000	/* rows in one list call */

/* Entry types; the wire names are in ledger_entry_type_name(). */
enum ledger_entry_type {
	LEDGER_ACCOUNT_CREATE = 1,
	LEDGER_ACCOUNT_UPDATE,
	LEDGER_KEY_REGISTER,
	LEDGER_KEY_REVOKE,
	LEDGER_CERT_ISSUED,
	LEDGER_CERT_REVOKED,
	LEDGER_CONFIG_PUBLISH,
	LEDGER_KEY_PREAUTH,		/* a one-time slot for serverkeygen */
};
#define LEDGER_TYPE_MAX LEDGER_KEY_PREAUTH

/* Outcome of an append: which rule an entry broke.  Stable; the code strings
 * from ledger_status_code() are part of the API. */
enum ledger_status {
	LEDGER_OK = 0,
	LEDGER_ERR_MALFORMED,		/* not a well-formed entry */
	LEDGER_ERR_TOO_LARGE,		/* over LEDGER_ENTRY_MAX */
	LEDGER_ERR_UNKNOWN_ACCOUNT,	/* signing account does not exist */
	LEDGER_ERR_SIGNATURE,		/* a signature line does not verify */
	LEDGER_ERR_THRESHOLD,		/* fewer valid signers than m */
	LEDGER_ERR_SEQUENCE,		/* seq is not the account's next */
	LEDGER_ERR_TIME,		/* entry time too far from ledger time */
	LEDGER_ERR_PERMISSION,		/* account role may not do this */
	LEDGER_ERR_ACCOUNT_EXISTS,	/* account-create of an existing name */
	LEDGER_ERR_DUPLICATE_KEY,	/* SPKI registered before, ever */
	LEDGER_ERR_UNKNOWN_KEY,		/* key id not registered */
	LEDGER_ERR_NOT_OWNER,		/* only the registering account may */
	LEDGER_ERR_KEY_REVOKED,		/* key is revoked (and stays so) */
	LEDGER_ERR_WINDOW,		/* outside the key's validity window */
	LEDGER_ERR_DUPLICATE_SERIAL,	/* serial recorded before */
	LEDGER_ERR_UNKNOWN_CERT,	/* serial not recorded */
	LEDGER_ERR_CERT_REVOKED,	/* certificate already revoked */
	LEDGER_ERR_DUPLICATE_CONFIG,	/* group+version published before */
	LEDGER_ERR_PREAUTH_EXISTS,	/* pre-authorisation id used before */
	LEDGER_ERR_PREAUTH,		/* no usable pre-authorisation */
	LEDGER_ERR_STORAGE,		/* the database failed; nothing committed */
	LEDGER_ERR_UNAVAILABLE,		/* shutting down or queue full; retry */
	LEDGER_ERR_KEY_NOT_CANONICAL,	/* spki not in the one encoding */
	LEDGER_ERR_WRONG_ORIGIN,	/* entry not for this ledger's origin */
	LEDGER_ERR_CERT_CURRENT,	/* the key has a current certificate
					 * the entry does not supersede */
	LEDGER_ERR_NOT_SAME_DEVICE,	/* supersedes a certificate of a key
					 * registered as another device */
	LEDGER_ERR_NO_QUORUM,		/* validators: no quorum cosigned the
					 * block in time; retry (503) */
	LEDGER_ERR_DUPLICATE_SIGNATURE,	/* two signature lines by one key */
};

/* RFC 5280 5.3.1 CRLReason values used by key and certificate revocation. */
enum ledger_reason {
	LEDGER_REASON_UNSPECIFIED = 0,
	LEDGER_REASON_KEY_COMPROMISE = 1,
	LEDGER_REASON_CA_COMPROMISE = 2,
	LEDGER_REASON_AFFILIATION_CHANGED = 3,
	LEDGER_REASON_SUPERSEDED = 4,
	LEDGER_REASON_CESSATION = 5,
	LEDGER_REASON_PRIVILEGE_WITHDRAWN = 9,
};

const char *ledger_status_code(enum ledger_status st);	/* "signature_invalid" */
const char *ledger_entry_type_name(enum ledger_entry_type t);	/* "key-register" */
/* Returns the reason for its RFC 5280 name ("keyCompromise"), or -1. */
int ledger_reason_parse(const char *name);
/* Returns the RFC 5280 name of a reason, or NULL when not one we allow. */
const char *ledger_reason_name(int reason);

/* ---- opening ---------------------------------------------------------- */

struct ledger;

/* ---- checkpoints and Merkle hashes (also the validator room's) ------- */

/* note.c: parses a checkpoint body (or a whole note: stops at the blank
 * line).  t is 0 when there is no time line.  Returns 0 or -1. */
int ledger_checkpoint_parse(const char *text, size_t len, char *origin,
    size_t originlen, uint64_t *size, uint8_t root[LEDGER_HASH_LEN],
    time_t *t);
/* merkle.c, RFC 9162 2.1.1: leaf hash = SHA-256(0x00 || data). */
void ledger_merkle_leaf_hash(const void *data, size_t len,
    uint8_t out[LEDGER_HASH_LEN]);
/* RFC 9162 2.1.1: node hash = SHA-256(0x01 || left || right). */
void ledger_merkle_node_hash(const uint8_t left[LEDGER_HASH_LEN],
    const uint8_t right[LEDGER_HASH_LEN], uint8_t out[LEDGER_HASH_LEN]);
/* RFC 9162 2.1.4.2: returns 0 when the proof verifies, -1 otherwise. */
int ledger_merkle_verify_consistency(uint64_t m, uint64_t n,
    const uint8_t root_m[LEDGER_HASH_LEN],
    const uint8_t root_n[LEDGER_HASH_LEN],
    const uint8_t proof[][LEDGER_HASH_LEN], size_t nproof);

/* ---- consensus -------------------------------------------------------- */

/*
 * How blocks are ordered and sealed.  The writer checks a block's entries,
 * writes and commits them with the block (its checkpoint empty), then asks
 * the consensus to seal the block's checkpoint body, and saves the signed
 * note; entries are acknowledged only once it is signed.  Committing
 * first means a signer that keeps promises about what it signed (the key
 * process, a validator) is never asked for a tree the database may lose;
 * a block left unsigned (a crash, a refusal) is sealed again before any
 * other (writer.c commit_sign_last).  `solo`: this node is the only
 * validator and signs alone.  A `pbft` implementation runs the
 * pre-prepare / prepare / commit rounds among 3f+1 validators inside seal()
 * and returns the note with 2f+1 cosignatures (or -1 without a quorum, so
 * nothing is acknowledged); the ledger and its callers do not change.
 */
struct ledger_consensus;

/* A block to seal: its checkpoint body, and the tree it commits to, so a
 * signer that only signs checkpoints extending its last one (the key
 * process, a validator) can be shown a consistency proof. */
struct ledger_seal {
	uint64_t height;
	const char *body;		/* the checkpoint body */
	uint64_t size;
	const uint8_t *root;		/* LEDGER_HASH_LEN bytes */
	/* RFC 9162 2.1.4 consistency proof from size m (0 < m <= size) to
	 * size in this block's tree, and the root of size m.  0 or -1. */
	int (*consistency)(const struct ledger_seal *s, uint64_t m,
	    uint8_t root_m[LEDGER_HASH_LEN],
	    uint8_t proof[][LEDGER_HASH_LEN], size_t *nproof);
	/* The same between two past sizes m <= n <= size (a lagging
	 * validator's catch-up to a stored block): the proof from m to n
	 * and the root of m.  0 or -1. */
	int (*consistency_between)(const struct ledger_seal *s, uint64_t m,
	    uint64_t n, uint8_t root_m[LEDGER_HASH_LEN],
	    uint8_t proof[][LEDGER_HASH_LEN], size_t *nproof);
	void *tree;			/* the writer's, for consistency */
	/* idle's last final block only (NULL in seal): its stored
	 * checkpoint note, signed and cosigned; body and height are then
	 * unset (NULL, 0) */
	const char *note;
};

struct ledger_consensus_ops {
	const char *name;			/* "solo" */
	/* Ledger time of the next block; never before last. */
	time_t (*block_time)(struct ledger_consensus *, time_t last);
	/* Seals the block s describes: writes the signed checkpoint note
	 * into note.  0, or -1 (not sealed). */
	int (*seal)(struct ledger_consensus *, const struct ledger_seal *s,
	    char *note, size_t notelen);
	/* One line for the status API. */
	void (*describe)(struct ledger_consensus *, char *buf, size_t len);
	/* Optional: called on the writer's thread about every
	 * LEDGER_IDLE_MS while nothing is queued, under commit_mu (the tree
	 * does not grow meanwhile), with the ledger's last final block
	 * (last->note its stored checkpoint), or NULL when it has none: the
	 * validators take the answers that came after the last seal's
	 * quorum, and send a peer that lags that block without waiting for
	 * the next one. */
	void (*idle)(struct ledger_consensus *, const struct ledger_seal *last);
	void (*free)(struct ledger_consensus *);
};

struct ledger_consensus {
	const struct ledger_consensus_ops *ops;
};

/* The solo consensus: key (up-ref'd: get1) signs every checkpoint as the
 * signed-note key `name`.  NULL on error. */
struct ledger_consensus *ledger_consensus_solo_new(EVP_PKEY *key,
    const char *name);
/* The solo consensus whose checkpoint key is elsewhere (the key process):
 * sign(arg, s, line, linelen) writes the signature line "— name ...\n"
 * for s->body.  NULL on error. */
struct ledger_consensus *ledger_consensus_solo_signer(const char *name,
    int (*sign)(void *arg, const struct ledger_seal *s, char *line,
    size_t linelen), void *arg);
void ledger_consensus_free(struct ledger_consensus *c);

struct ledger_config {
	const char *db;		/* sqlite file path, or a postgresql:// URL */
	const char *origin;	/* checkpoint origin line, e.g. "keybridge/ledger" */
	struct ledger_consensus *consensus;	/* borrowed; NULL: read-only */
	size_t batch_max;	/* 0: LEDGER_BATCH_MAX */
	/* PostgreSQL: run even when the server's synchronous_commit or
	 * fsync is off (acknowledged entries may then be lost in a crash);
	 * without it ledger_open refuses such a server. */
	int allow_async_commit;
	/* The status map's snapshot file (docs/design.md "Status map
	 * snapshot"): read at open when it matches, written at close.
	 * NULL: none (the map is built from the registry). */
	const char *map_snapshot;
	/* While serving, the writer writes it again (docs/design.md
	 * "Status map snapshot while serving"): after a block that leaves
	 * it map_snapshot_entries or more entries behind, and when idle
	 * map_snapshot_seconds after the last one with entries since.
	 * 0: not on that ground. */
	uint64_t map_snapshot_entries;
	unsigned map_snapshot_seconds;
	/* The ingest pipeline (docs/design.md "Ingest pipeline"), started
	 * with the writer: ingest_threads threads checking signatures
	 * ahead (LEDGER_INGEST_AUTO, as in a zeroed config: one per online
	 * CPU, at most LEDGER_INGEST_THREADS_MAX; LEDGER_INGEST_NONE: the
	 * writer checks every signature), and serial_seal 1 to seal each
	 * block on the writer's thread instead of the pipelined sealer's. */
	int ingest_threads;
	int serial_seal;
};
#define LEDGER_INGEST_AUTO	0
#define LEDGER_INGEST_NONE	(-1)
#define LEDGER_INGEST_THREADS_MAX 8

/* 1 when db names a PostgreSQL database (a postgresql:// or postgres://
 * URL), 0 when it is an sqlite file path. */
int ledger_db_is_postgres(const char *db);

/* Opens (creating and migrating when validator_key is set) the ledger.
 * Returns NULL with a one-line reason in err on failure. */
struct ledger *ledger_open(const struct ledger_config *cfg, char *err,
    size_t errlen);
/* Stops the writer (committing what is queued) and frees everything. */
void ledger_close(struct ledger *l);

/* ---- appending --------------------------------------------------------- */

struct ledger_receipt {
	uint64_t index;				/* leaf index of the entry */
	uint8_t leaf_hash[LEDGER_HASH_LEN];
	uint64_t tree_size;			/* size of the checkpoint below */
	char checkpoint[LEDGER_NOTE_MAX];	/* signed checkpoint note text */
};

/* Appends one entry as a block of its own, synchronously (the CLI's offline
 * path and tests).  Same rules as ledger_submit.  On a refusal `why` gets one
 * line naming the broken rule. */
enum ledger_status ledger_append(struct ledger *l, const char *entry,
    size_t len, struct ledger_receipt *r, char *why, size_t whylen);

/* Called on the caller's thread from ledger_drain() with the outcome. */
typedef void (*ledger_done_cb)(enum ledger_status st,
    const struct ledger_receipt *r, const char *why, void *arg);

/* Starts the group-commit writer thread.  `wake` is called from the writer
 * thread whenever completions are ready; it must make the caller's thread
 * call ledger_drain() soon (libevent: event_active on a thread-safe base). */
int ledger_writer_start(struct ledger *l, void (*wake)(void *), void *wake_arg);
/* Queues an entry (copied).  Returns 0, or -1 when the writer is stopped or
 * the queue is full (the caller answers 503). */
int ledger_submit(struct ledger *l, const char *entry, size_t len,
    ledger_done_cb cb, void *arg);
/* Queues n entries (copied; 1 <= n <= LEDGER_GROUP_MAX) that commit
 * together or not at all: the writer puts them in one block, in order, and
 * when the rules refuse one of them, none is kept.  cb runs once, with the
 * last entry's receipt, or with the first refusal's status and why (every
 * entry of a refused group is refused).  0, or -1 as ledger_submit. */
#define LEDGER_GROUP_MAX 4
int ledger_submit_group(struct ledger *l, const char *const *entries,
    const size_t *lens, size_t n, ledger_done_cb cb, void *arg);
/* As ledger_submit_group, for entries this process made and signed just
 * before (the bridge's cert-issued, key-register and cert-revoked
 * entries): kept out of the ingest pool (docs/design.md "Ingest
 * pipeline"), whose check ahead would parse them once more and hand them
 * across two threads for a signature no one else made.  The writer
 * applies exactly the same rules to them, its own Ed25519 check
 * included: a bad one is refused as from anyone. */
int ledger_submit_own(struct ledger *l, const char *const *entries,
    const size_t *lens, size_t n, ledger_done_cb cb, void *arg);
/* Runs the callbacks of completed submissions on the caller's thread. */
void ledger_drain(struct ledger *l);
/* The caller thread's reads between ledger_read_begin and the matching
 * ledger_read_end (nested pairs count) share one read transaction, on
 * SQLite: one snapshot, and one re-mapping of the file after the
 * writer's commit instead of one per statement.  Begin and end within
 * one event callback: a transaction left open would hide every later
 * commit from the caller.  When the transaction cannot start, each read
 * goes on alone, as without the pair; PostgreSQL: no-ops. */
void ledger_read_begin(struct ledger *l);
void ledger_read_end(struct ledger *l);
/* Commits everything queued, stops and joins the writer, runs callbacks. */
void ledger_writer_stop(struct ledger *l);

/* ---- reading ----------------------------------------------------------- */

/* Committed tree size. */
uint64_t ledger_size(struct ledger *l);
/* Latest signed checkpoint note (copied into buf); -1 when the log is empty. */
int ledger_checkpoint(struct ledger *l, char *buf, size_t buflen,
    uint64_t *size);
/* RFC 9162 2.1.3 inclusion proof of leaf `index` in the tree of `size`.
 * Returns 0, or -1 when index >= size or size > ledger_size(). */
int ledger_inclusion_proof(struct ledger *l, uint64_t index, uint64_t size,
    uint8_t proof[][LEDGER_HASH_LEN], size_t *n);
/* RFC 9162 2.1.4 consistency proof between sizes m <= n. */
int ledger_consistency_proof(struct ledger *l, uint64_t m, uint64_t n,
    uint8_t proof[][LEDGER_HASH_LEN], size_t *nproof);
/* Root hash of the tree of `size` (<= ledger_size). */
int ledger_root(struct ledger *l, uint64_t size, uint8_t root[LEDGER_HASH_LEN]);

struct ledger_entry_info {
	uint64_t index;
	uint64_t block;		/* height of the block that holds it */
	time_t ledger_time;	/* that block's time */
	enum ledger_entry_type type;
	char account[LEDGER_NAME_MAX + 1];
	uint64_t seq;
	uint8_t leaf_hash[LEDGER_HASH_LEN];
	const char *text;	/* borrowed for the callback's duration */
	size_t len;
};

/* Calls cb for entries [from, from+limit) in order; limit is capped at
 * LEDGER_LIST_MAX.  cb returning non-zero stops.  Returns 0 or -1. */
int ledger_entries(struct ledger *l, uint64_t from, size_t limit,
    int (*cb)(const struct ledger_entry_info *, void *), void *arg);

/* A read connection of its own (ledger/reader.c), for a thread other than
 * the caller's: the validators consensus reads a block's entries on the
 * writer's thread, before ledger_size() counts them.  NULL with why in
 * err.  Entries [from, from+limit) as ledger_entries, without its cap at
 * the published size (what is committed is there).  0 or -1. */
struct ledger_reader;
struct ledger_reader *ledger_reader_open(const char *db, char *err,
    size_t errlen);
int ledger_reader_entries(struct ledger_reader *r, uint64_t from,
    size_t limit, int (*cb)(const struct ledger_entry_info *, void *),
    void *arg);
/* The last stored block whose size is in (from, to] and that carries its
 * signed checkpoint: its size and note (copied, notelen >= 1024), for a
 * lagging validator's next catch-up step.  0, 1 when there is none, -1
 * on a database error. */
int ledger_reader_block_upto(struct ledger_reader *r, uint64_t from,
    uint64_t to, uint64_t *size, char *note, size_t notelen);
void ledger_reader_close(struct ledger_reader *r);

struct ledger_account_info {
	char name[LEDGER_NAME_MAX + 1];
	char role[16];			/* "admin" or "bridge" */
	int threshold;
	int nkeys;
	char keys[LEDGER_MAX_ACCT_KEYS][128];	/* base64 SPKI DER */
	uint64_t seq;			/* last sequence number used */
	uint64_t created_index;
};

/* Fills *a; returns 0, 1 when there is no such account, -1 on error. */
int ledger_account_get(struct ledger *l, const char *name,
    struct ledger_account_info *a);
int ledger_accounts(struct ledger *l,
    int (*cb)(const struct ledger_account_info *, void *), void *arg);

enum ledger_key_status { LEDGER_KEY_ACTIVE = 1, LEDGER_KEY_REVOKED };

struct ledger_key_info {
	char key_id[LEDGER_KEYID_LEN + 1];
	char account[LEDGER_NAME_MAX + 1];	/* owning account */
	char name[LEDGER_NAME_MAX + 1];
	char profile[16];			/* "device" or "server" */
	char spki[2048];			/* base64 SPKI DER */
	int ndns, nip;
	char dns[LEDGER_MAX_SANS][254];
	char ip[LEDGER_MAX_SANS][46];
	time_t not_before, not_after;
	enum ledger_key_status status;
	time_t revoked_at;
	int reason;
	uint64_t registered_index;
	uint64_t revoked_index;		/* 0 and status ACTIVE when not revoked */
	int has_csr;
	/* The configuration groups the key's device may read over the API
	 * with its client certificate (config-group lines, in entry order,
	 * each once). */
	int ngroups;
	char groups[LEDGER_MAX_CONFIG_GROUPS][LEDGER_NAME_MAX + 1];
};

int ledger_key_get(struct ledger *l, const char *key_id,
    struct ledger_key_info *k);		/* 0, 1 absent, -1 error */

struct ledger_key_filter {
	const char *status;	/* "active", "revoked" or NULL */
	const char *profile;	/* "device", "server" or NULL */
	const char *name_prefix;	/* names starting with it, or NULL */
	const char *after;	/* key id cursor (exclusive), or NULL */
	size_t limit;		/* capped at LEDGER_LIST_MAX */
};
int ledger_keys(struct ledger *l, const struct ledger_key_filter *f,
    int (*cb)(const struct ledger_key_info *, void *), void *arg);
/* An active key named name other than key id `except` (NULL: none), its
 * id into id: 0 found, 1 none, -1 error.  The registry's keys whose name
 * starts with name, paged (issue 17: `key register` and POST
 * /api/v1/entries refuse a name in use unless told otherwise; the rules
 * allow it). */
int ledger_key_active_named(struct ledger *l, const char *name,
    const char *except, char id[LEDGER_KEYID_LEN + 1]);

/* A certificate the bridge recorded (cert-issued), and its own revocation
 * (cert-revoked); the key's status is separate (ledger_key_get). */
struct ledger_cert_info {
	char serial[41];		/* lowercase hex, no leading zeros */
	char issuer[LEDGER_NAME_MAX + 1];
	char key_id[LEDGER_KEYID_LEN + 1];
	char profile[16];
	time_t not_before, not_after;
	char cert_sha256[65];
	int revoked;
	time_t revoked_at;
	int reason;
	uint64_t issued_index, revoked_index;
	/* The key's own revocation, which revokes all its certificates. */
	int key_revoked;
	time_t key_revoked_at;
	int key_reason;
};

/* The status OCSP and the CRL give c (docs/design.md trust rule 2 and 4):
 * revoked when the certificate or its key was, at the earlier of the two
 * times with that one's reason.  Returns 1 revoked (*at, *reason set) or
 * 0 good. */
int ledger_cert_revoked(const struct ledger_cert_info *c, time_t *at,
    int *reason);
/* Every certificate with a serial after `after` ("" from the start), in
 * serial order, at most limit (capped at LEDGER_LIST_MAX).  0 or -1. */
int ledger_certs(struct ledger *l, const char *after, size_t limit,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
/* Every unexpired (not_after > now) certificate of issuer that is revoked,
 * on its own or through its key: the CRL.  0 or -1. */
int ledger_certs_revoked(struct ledger *l, const char *issuer, time_t now,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);

/* The notAfter of issuer's certificate that expires last (issue 17: an
 * old issuer is retired once it has passed) into *t: 0, 1 when issuer
 * has no certificate, -1 on error. */
int ledger_issuer_last_expiry(struct ledger *l, const char *issuer,
    time_t *t);

/* The current certificates (not revoked, not_after > now) that account's
 * cert-issued entries below index `below` recorded as a TBS, and whose
 * signed certificate was never kept beside the row (ledger_cert_store):
 * a TBS the CA may never have signed (bridge/heal.c).  Oldest first;
 * cb returning non-zero stops.  0 or -1. */
int ledger_certs_unsigned(struct ledger *l, const char *account, time_t now,
    uint64_t below, int (*cb)(const struct ledger_cert_info *, void *),
    void *arg);

/* An entry that changes what OCSP and the CRL say (cert-issued,
 * cert-revoked, key-revoke), from ledger_changes. */
struct ledger_change {
	uint64_t index;
	enum ledger_entry_type type;
	char serial[41];			/* cert-issued, cert-revoked */
	char key_id[LEDGER_KEYID_LEN + 1];	/* key-revoke, cert-issued */
	char issuer[LEDGER_NAME_MAX + 1];	/* cert-issued */
	/* cert-issued: the certificate it revoked as superseded in the same
	 * step ("" when none): a status change of its own. */
	char supersedes[41];
};

/* Calls cb for the status-changing entries among [from, from + limit)
 * (limit capped at LEDGER_LIST_MAX) and sets *next to the index after the
 * last entry read.  0 or -1. */
int ledger_changes(struct ledger *l, uint64_t from, size_t limit,
    uint64_t *next, int (*cb)(const struct ledger_change *, void *),
    void *arg);

/* Fills *c for a serial (lowercase hex); 0, 1 absent, -1 error. */
int ledger_cert_get(struct ledger *l, const char *serial,
    struct ledger_cert_info *c);
/* The DER of recorded certificate c (from ledger_cert_get) into
 * der[0..cap) with its length in *len: the signed certificate kept beside
 * the row of a TBS entry (ledger_cert_store), or the one an older
 * cert-issued entry carries.  0, 1 when there is none (an entry with its
 * hash only, or a TBS not signed or not kept yet), -1 on error. */
int ledger_cert_der(struct ledger *l, const struct ledger_cert_info *c,
    uint8_t *der, size_t cap, size_t *len);
/* The DER TBSCertificate the ledger recorded for c into tbs[0..cap): the
 * entry's tbs, or the TBS of the certificate an older entry carries.  0,
 * 1 when the entry has a hash only, -1 on error. */
int ledger_cert_tbs(struct ledger *l, const struct ledger_cert_info *c,
    uint8_t *tbs, size_t cap, size_t *len);
/* Is certificate der[0..len) (whose CA signature the caller checked, as
 * a TLS handshake does) the one the ledger recorded as c?  By its TBS,
 * byte for byte (the ledger holds the TBS; the CA signed it after), or by
 * SHA-256 for entries with a hash only.  1 yes, 0 no, -1 error. */
int ledger_cert_matches(struct ledger *l, const struct ledger_cert_info *c,
    const uint8_t *der, size_t len);
/* Keeps the signed certificate der[0..len) of recorded serial beside its
 * registry row (not an entry: the ledger holds its TBS), in the writer's
 * next transaction.  cb runs on the caller's thread from ledger_drain
 * with LEDGER_OK or LEDGER_ERR_STORAGE (r NULL).  0, or -1 when the
 * writer is stopped or its queue full. */
int ledger_cert_store(struct ledger *l, const char *serial,
    const uint8_t *der, size_t len, ledger_done_cb cb, void *arg);
/* Calls cb for every certificate of a key, oldest first. 0 or -1. */
int ledger_key_certs(struct ledger *l, const char *key_id,
    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
/* 1 when certificate c is current at ledger time now: not revoked on its
 * own and not expired (not_after > now).  A key has at most one current
 * certificate (ledger/rules.c); its key's own revocation is separate. */
int ledger_cert_current(const struct ledger_cert_info *c, time_t now);
/* 1 when registrations a and b are the same device: the same owning
 * account, name, profile, and the same sets of DNS and IP names (a rekey
 * may move a certificate from a's key to b's, RFC 7030 4.2.2).  0 with
 * why naming the first difference otherwise. */
int ledger_key_same_device(const struct ledger_key_info *a,
    const struct ledger_key_info *b, char *why, size_t whylen);

/* A question for the trust rule: may this key get a certificate? */
struct ledger_issue_ask {
	const char *key_id;	/* the registered key; NULL with preauth */
	const char *preauth;	/* or: the pre-authorisation whose key
				 * (EST serverkeygen) is registered in the
				 * same group as its certificate */
	const char *profile;	/* "device" or "server" */
	const char *supersedes;	/* the serial it replaces, or NULL */
};

/*
 * The trust rule for a certificate, asked before building and signing it,
 * read-only on the caller thread's connection: the very function that
 * decides a cert-issued entry on append and replay (ledger/rules.c), for
 * an entry made at ledger time now.  LEDGER_OK, or the rule it would break
 * with why: LEDGER_ERR_UNKNOWN_KEY, _KEY_REVOKED, _WINDOW, _PERMISSION
 * (another profile), _CERT_CURRENT (a current certificate not superseded),
 * _UNKNOWN_CERT, _CERT_REVOKED, _NOT_SAME_DEVICE (about `supersedes`),
 * _PREAUTH (unknown, used or expired), _STORAGE.  A LEDGER_OK may still be
 * refused at commit when another entry is committed meanwhile.
 */
enum ledger_status ledger_check_issue(struct ledger *l,
    const struct ledger_issue_ask *a, time_t now, char *why, size_t whylen);

/*
 * A pre-authorisation (key-preauth): an admin account allows the bridge to
 * register one key it generates for a device that cannot (EST
 * serverkeygen).  The slot fixes everything the registration will say;
 * the device proves it holds the slot with a secret whose SHA-256 is here.
 */
#define LEDGER_PREAUTH_ID_LEN 32	/* hex of 16 random bytes */

struct ledger_preauth_info {
	char id[LEDGER_PREAUTH_ID_LEN + 1];
	char account[LEDGER_NAME_MAX + 1];	/* owner of the future key */
	char name[LEDGER_NAME_MAX + 1];
	char profile[16];
	int ndns, nip;
	char dns[LEDGER_MAX_SANS][254];
	char ip[LEDGER_MAX_SANS][46];
	time_t not_before, not_after;		/* the key's window */
	time_t expires;				/* the slot's own end */
	char secret_sha256[65];
	uint64_t created_index;
	char used_key[LEDGER_KEYID_LEN + 1];	/* "" while unused */
	uint64_t used_index;
	/* The configuration groups the key's registration will name
	 * (config-group lines, as ledger_key_info's). */
	int ngroups;
	char groups[LEDGER_MAX_CONFIG_GROUPS][LEDGER_NAME_MAX + 1];
};

/* Fills *p; 0, 1 absent, -1 error. */
int ledger_preauth_get(struct ledger *l, const char *id,
    struct ledger_preauth_info *p);

/* A published configuration or firmware hash (config-publish). */
struct ledger_config_info {
	char group[LEDGER_NAME_MAX + 1];
	char version[LEDGER_NAME_MAX + 1];
	char sha256[65];
	int64_t size;			/* -1 when not given */
	char file[201];			/* "" when not given (SYN_TEXT) */
	uint64_t index;			/* its entry's leaf index */
};

/* The published versions of group, newest first (the first is the
 * current one), or with group NULL every group's, by group then newest
 * first.  cb returning non-zero stops.  0 or -1. */
int ledger_configs(struct ledger *l, const char *group,
    int (*cb)(const struct ledger_config_info *, void *), void *arg);

/* Counts for the status endpoint. */
struct ledger_counts {
	uint64_t entries, blocks, accounts, keys_active, keys_revoked;
	uint64_t certs_good, certs_revoked, configs;
	uint64_t certs_expiring_30d;	/* good, notAfter within 30 days */
	uint64_t by_type[LEDGER_TYPE_MAX + 1];
	time_t last_block_time;
};
int ledger_counts(struct ledger *l, struct ledger_counts *c);

/* What the writer did since the ledger was opened, for /metrics: blocks
 * and entries committed, refusals, submissions waiting, block sizes (a
 * histogram: bucket i counts blocks of at most LEDGER_BATCH_BOUNDS[i]
 * entries, the last bucket the rest) and commit times (bucket i: at most
 * LEDGER_COMMIT_BOUNDS_US[i] microseconds). */
#define LEDGER_STAT_BATCH_N  10
#define LEDGER_STAT_COMMIT_N 10
extern const unsigned LEDGER_BATCH_BOUNDS[LEDGER_STAT_BATCH_N];
extern const unsigned LEDGER_COMMIT_BOUNDS_US[LEDGER_STAT_COMMIT_N];
struct ledger_stats {
	uint64_t blocks, entries, refused, failed, pending;
	uint64_t batch[LEDGER_STAT_BATCH_N + 1];
	uint64_t batch_sum;
	uint64_t commit_us[LEDGER_STAT_COMMIT_N + 1];
	double commit_seconds_sum;
	time_t last_block_time;
	/* The status map: time in its per-block updates (the rows read
	 * back and the leaves hashed), the leaves they set, and how long
	 * its last build from the whole registry took (at open, or after a
	 * catch-up or a failed block). */
	double map_seconds_sum, map_build_seconds;
	uint64_t map_leaves;
	/* 1 when the map was read from its snapshot at open (instead of a
	 * build), and how long that took. */
	int map_loaded;
	double map_load_seconds;
	/* Of it: the snapshot's tree size and the entries after it
	 * replayed onto it at open (a snapshot older than the ledger). */
	uint64_t map_snap_size, map_replayed;
	/* Snapshots written while serving (map_snapshot_entries,
	 * map_snapshot_seconds), and the last one's tree size. */
	uint64_t map_snaps_written, map_snap_last;
};
/* A consistent copy of the writer's statistics (any thread). */
void ledger_stats(struct ledger *l, struct ledger_stats *st);

/* Next sequence number for an account (its last + 1); 0 on error/absent. */
uint64_t ledger_next_seq(struct ledger *l, const char *account);

/* ---- building entries (the CLI and the bridge's own account) ----------- */

/* A key/value field of an entry body. */
struct ledger_field {
	const char *key;
	const char *value;
};

/* Formats the body of an entry: format line, type, account, seq, time,
 * "origin ORIGIN" (the origin of the ledger the entry is for, its
 * checkpoints' first line; NULL writes no origin line, which only entries
 * dated before LEDGER_RULES_V2_TIME may lack), then the fields in order.
 * Returns a malloc'd NUL-terminated body or NULL. */
char *ledger_entry_body(enum ledger_entry_type type, const char *account,
    uint64_t seq, time_t t, const char *origin,
    const struct ledger_field *fields, size_t n);
/* Appends a signature line by `key` (signer name = account) to a note.
 * Returns the new malloc'd note (the old one is freed) or NULL. */
char *ledger_entry_sign(char *note, const char *account, EVP_PKEY *key);

/* ---- the status map (docs/design.md "The status map") ----------------- */

/* The "map BASE64" extension line of a checkpoint body or note (the
 * status map's root): 0 with root, 1 when it has none, -1 when
 * malformed (two of them, or not a base64 SHA-256). */
int ledger_checkpoint_map_root(const char *text, size_t len,
    uint8_t root[LEDGER_HASH_LEN]);

enum ledger_map_kind { LEDGER_MAP_KEY, LEDGER_MAP_CERT };
struct ledger_smt_proof;

/*
 * The status of key id or certificate serial `id` with its map proof
 * against the latest final checkpoint (copied into note[0..notelen),
 * its size into *size): the leaf's value text into value[0..vcap) with
 * *vlen its length (0: never registered, a proof of absence).  0; 1 when
 * the map is not final yet (a block is being sealed, or did not get its
 * quorum); -1 on an error.
 */
int ledger_status_proof(struct ledger *l, enum ledger_map_kind kind,
    const char *id, char *note, size_t notelen, uint64_t *size,
    struct ledger_smt_proof *p, char *value, size_t vcap, size_t *vlen);

/* ---- backup (snapshot.c, issue 17) ------------------------------------ */

/* Pages copied so far of total (SQLite pages). */
typedef void (*ledger_snapshot_progress_fn)(uint64_t done, uint64_t total,
    void *arg);
/* Copies the SQLite ledger src, while others write to it, into the new
 * file dst (0600; refused when it exists): one consistent snapshot,
 * through SQLite's online backup API from a read transaction held for
 * the whole copy, progress (may be NULL) after each step.  0, or -1
 * with err set (dst removed). */
int ledger_snapshot(const char *src, const char *dst,
    ledger_snapshot_progress_fn progress, void *arg, char *err,
    size_t errlen);

/* The auditor's side (ledger verify, trusted checkpoints): verify.h; the
 * key process's (entries, signature lines, checkpoints and proofs checked
 * without a database): keyside.h; keys, encodings and a certificate's
 * TBS: keys.h. */
#include "ledger/verify.h"
#include "ledger/keyside.h"
#include "ledger/keys.h"

#endif
