/*
 * ledger_int.h: shared by the files of ledger/ only.  Never included from
 * outside this folder (tests excepted).
 */
#ifndef KEYBRIDGE_LEDGER_INT_H
#define KEYBRIDGE_LEDGER_INT_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "ledger/ledger.h"
#include "ledger/smt.h"

/* ---- merkle.c: RFC 6962 / RFC 9162 Merkle tree ------------------------- */

/* ledger_merkle_leaf_hash, _node_hash and _verify_consistency are in
 * ledger.h (the validator room uses them). */

/* An in-memory tree that keeps the hash of every complete (perfect, aligned)
 * subtree, level by level, so roots and proofs for any size <= the current
 * size cost O(log n) lookups.  Not thread-safe: the owner locks. */
struct ledger_merkle;

struct ledger_merkle *ledger_merkle_new(void);
void ledger_merkle_free(struct ledger_merkle *m);
/* Appends a leaf hash.  Returns 0 or -1 (out of memory). */
int ledger_merkle_append(struct ledger_merkle *m,
    const uint8_t leaf[LEDGER_HASH_LEN]);
/* Drops leaves so that the size becomes `size` (rollback of a failed
 * commit).  Returns 0, or -1 when size > current size. */
int ledger_merkle_truncate(struct ledger_merkle *m, uint64_t size);
uint64_t ledger_merkle_size(const struct ledger_merkle *m);
/* Leaf hash at index; -1 when out of range. */
int ledger_merkle_leaf(const struct ledger_merkle *m, uint64_t index,
    uint8_t out[LEDGER_HASH_LEN]);
/* MTH of the first `size` leaves (size 0: SHA-256 of the empty string). */
int ledger_merkle_root(const struct ledger_merkle *m, uint64_t size,
    uint8_t out[LEDGER_HASH_LEN]);
/* RFC 9162 2.1.3.1 inclusion proof; *n gets the count (<= LEDGER_PROOF_MAX).
 * -1 when index >= size or size > current size. */
int ledger_merkle_inclusion(const struct ledger_merkle *m, uint64_t index,
    uint64_t size, uint8_t proof[][LEDGER_HASH_LEN], size_t *n);
/* RFC 9162 2.1.4.1 consistency proof from m to n (0 < m <= n <= size). */
int ledger_merkle_consistency(const struct ledger_merkle *t, uint64_t m,
    uint64_t n, uint8_t proof[][LEDGER_HASH_LEN], size_t *nproof);
/* RFC 9162 2.1.3.2: returns 0 when the proof verifies, -1 otherwise. */
int ledger_merkle_verify_inclusion(const uint8_t leaf[LEDGER_HASH_LEN],
    uint64_t index, uint64_t size, const uint8_t proof[][LEDGER_HASH_LEN],
    size_t n, const uint8_t root[LEDGER_HASH_LEN]);

/* ---- note.c: C2SP signed-note and tlog-checkpoint ---------------------- */

#define LEDGER_NOTE_ALG_ED25519 0x01	/* C2SP signed-note */
#define LEDGER_NOTE_ALG_ECDSA   0x02	/* ours: ECDSA P-256, SHA-256, DER sig */
#define LEDGER_NOTE_SIG_MAX     80	/* ECDSA P-256 DER signature max 72 */

/* One signature line of a note, decoded. */
struct ledger_note_sig {
	char name[LEDGER_NAME_MAX + 1];
	uint8_t key_hash[4];
	uint8_t sig[LEDGER_NOTE_SIG_MAX];
	size_t siglen;
};

/* Splits a note into its body (text up to and including the newline before
 * the blank line) and its signature lines.  Checks the C2SP shape: UTF-8 text
 * without control characters but '\n', ends in '\n', lines "— name base64".
 * Returns 0 with *body_len and sigs[0..*nsigs) filled, -1 when malformed
 * (and `why` says how). */
int ledger_note_split(const char *note, size_t len, size_t *body_len,
    struct ledger_note_sig *sigs, size_t maxsigs, size_t *nsigs,
    char *why, size_t whylen);
/* Key hash: first 4 bytes of SHA-256(name || 0x0A || alg || key bytes),
 * where key bytes are the raw 32-byte key for Ed25519 (C2SP) and the SPKI
 * DER for ECDSA.  Returns 0 or -1 (unsupported key). */
int ledger_note_key_hash(const char *name, EVP_PKEY *pub, uint8_t out[4]);
/* Signs body with key; writes the signature line "— name base64\n"
 * (NUL-terminated) into line.  Returns 0 or -1. */
int ledger_note_sign_line(const char *body, size_t body_len,
    const char *name, EVP_PKEY *key, char *line, size_t linelen);
/* Verifies one decoded signature over body with pub (which the caller
 * matched by name and key hash).  Returns 0 when valid, -1 otherwise. */
int ledger_note_verify_sig(const char *body, size_t body_len,
    const struct ledger_note_sig *sig, EVP_PKEY *pub);

/* Verifier keys "name+hash8hex+base64(alg || key)" (signed-note). */
EVP_PKEY *ledger_note_vkey_parse(const char *vkey, char *name,
    size_t namelen);
int ledger_note_vkey_format(EVP_PKEY *pub, const char *name, char *out,
    size_t outlen);
/* Verifies that `note` carries a valid signature by the holder of `vkey`.
 * Returns 0 when so, -1 otherwise. */
int ledger_note_verify_vkey(const char *note, size_t len, const char *vkey);

/* C2SP tlog-checkpoint body:
 *   origin\n size\n base64(root)\n [time <unix seconds>\n]
 * We always write the "time" extension line: it is the block's ledger time. */
int ledger_checkpoint_body(const char *origin, uint64_t size,
    const uint8_t root[LEDGER_HASH_LEN], time_t t, char *out, size_t outlen);
/* The same with the status map's root as a "map BASE64" line after the
 * time (map NULL: none). */
int ledger_checkpoint_body_map(const char *origin, uint64_t size,
    const uint8_t root[LEDGER_HASH_LEN], time_t t,
    const uint8_t *map, char *out, size_t outlen);
/* ledger_checkpoint_parse: ledger.h. */

/* ---- crypto.c: account keys -------------------------------------------- */


/* ---- entry.c: parsing entries ------------------------------------------ */

#define LEDGER_ENTRY_FORMAT  "keybridge-entry v1"
#define LEDGER_ENTRY_FIELDS  96		/* lines in one entry body */
#define LEDGER_MAX_SKEW      300	/* entry time may lead ledger time */
#define LEDGER_MAX_AGE       86400	/* and may trail it by this much */
/*
 * Entries dated from this time on (2026-12-03T00:00:00Z) follow the wave-2
 * rules: they name the ledger's origin, and a key has at most one current
 * certificate.  Older entries keep the rules they were written under, so a
 * ledger from before replays as it did.  The cut is by the entry's own
 * signed time, which the ledger accepts only within LEDGER_MAX_AGE of its
 * monotonic block time: a day after this instant no entry in the old form
 * can join any ledger, whoever writes it.  ledger_rules_v2() tells.
 */
#define LEDGER_RULES_V2_TIME ((time_t)1796256000)
#define ledger_rules_v2(e)   ((e)->time >= LEDGER_RULES_V2_TIME)

/* A parsed entry.  Field keys/values point into buf (owned). */
struct ledger_entry {
	enum ledger_entry_type type;
	char account[LEDGER_NAME_MAX + 1];
	uint64_t seq;
	time_t time;
	const char *text;		/* borrowed: the whole note */
	size_t len, body_len;
	struct ledger_note_sig sigs[LEDGER_MAX_SIGS];
	size_t nsigs;
	struct ledger_field fields[LEDGER_ENTRY_FIELDS];
	size_t nfields;
	char *buf;
};

/* Parses and checks the shape of an entry: signed-note framing, the header
 * lines, the fields allowed for its type with their counts and syntax.  No
 * state is consulted.  Returns LEDGER_OK or MALFORMED/TOO_LARGE with why. */
enum ledger_status ledger_entry_parse(const char *text, size_t len,
    struct ledger_entry *e, char *why, size_t whylen);
void ledger_entry_clear(struct ledger_entry *e);

/* ---- store: the storage interface --------------------------------------- */

/*
 * Everything the rules and the ledger need from a database, as operations
 * rather than SQL, so a backend (sqlite3 now, libpq next) owns its dialect.
 * Each returns 0 on success and -1 on a database error; getters return 1
 * when the row does not exist.  Calls happen on one thread per store.
 */
struct ledger_store;


struct ledger_block_row {
	uint64_t height, first, size;	/* entries [first, size) */
	time_t time;
	uint8_t root[LEDGER_HASH_LEN];
	char checkpoint[LEDGER_NOTE_MAX];
};

struct ledger_store_ops {
	const char *name;
	void (*close)(struct ledger_store *);
	/* A write transaction that holds the writers' lock of the database;
	 * on a read-only store, a read snapshot (verify reads one state). */
	int (*begin)(struct ledger_store *);
	int (*commit)(struct ledger_store *);
	int (*rollback)(struct ledger_store *);
	int (*savepoint)(struct ledger_store *);
	int (*release)(struct ledger_store *);
	int (*rollback_to)(struct ledger_store *);
	/* One read transaction around a caller's several reads
	 * (ledger_read_begin): SQLite starts a snapshot at its first read
	 * and ends it at read_end, instead of one per statement, each of
	 * which after another connection's commit re-maps the file.  NULL:
	 * each read stays on its own (PostgreSQL).  0 or -1. */
	int (*read_begin)(struct ledger_store *);
	int (*read_end)(struct ledger_store *);
	/* meta */
	int (*meta_get)(struct ledger_store *, const char *k, char *v, size_t);
	int (*meta_set)(struct ledger_store *, const char *k, const char *v);
	/* log */
	int (*entry_put)(struct ledger_store *, const struct ledger_entry_info *);
	int (*entries)(struct ledger_store *, uint64_t from, size_t limit,
	    int (*cb)(const struct ledger_entry_info *, void *), void *arg);
	int (*block_put)(struct ledger_store *, const struct ledger_block_row *);
	/* Sets the signed checkpoint of a block stored without one, in a
	 * transaction of its own.  PostgreSQL: durable like every other (a
	 * signature lost with a database crash while the bridge runs on
	 * would leave a block in the middle of the log unsigned).  SQLite,
	 * in the bridge's own process: durable with the next block's
	 * commit (ss_block_sign), since a power cut that loses it stops
	 * the bridge too, and its start signs the last block again. */
	int (*block_sign)(struct ledger_store *, uint64_t height,
	    const char *checkpoint);
	/* The same inside the open transaction (durable with it: the
	 * pipelined seal saves block N's in block N+1's, ledger/pipe.c);
	 * NULL: the store has none (then blocks are sealed serially). */
	int (*block_sign_in)(struct ledger_store *, uint64_t height,
	    const char *checkpoint);
	/* on: the writer's commits no longer fsync the log; sync_log does
	 * it, from any thread, and nothing is acknowledged or signed
	 * before it returned 0 (ledger/pipe.c).  off: every commit fsyncs
	 * again.  0/-1; NULL: the store has none (commits fsync). */
	int (*sync_defer)(struct ledger_store *, int on);
	int (*sync_log)(struct ledger_store *);
	int (*block_last)(struct ledger_store *, struct ledger_block_row *);
	int (*blocks)(struct ledger_store *, uint64_t from_height,
	    int (*cb)(const struct ledger_block_row *, void *), void *arg);
	/* leaf hashes of entries from index `from` on, in order */
	int (*leaf_hashes)(struct ledger_store *, uint64_t from,
	    int (*cb)(uint64_t idx, const uint8_t *h, void *), void *arg);
	/* registry */
	int (*account_get)(struct ledger_store *, const char *name,
	    struct ledger_account_info *);
	int (*account_put)(struct ledger_store *,
	    const struct ledger_account_info *);	/* insert or replace */
	int (*account_seq)(struct ledger_store *, const char *name,
	    uint64_t seq);
	int (*accounts)(struct ledger_store *,
	    int (*cb)(const struct ledger_account_info *, void *), void *arg);
	int (*key_get)(struct ledger_store *, const char *key_id,
	    struct ledger_key_info *, char *csr, size_t csrlen);
	int (*key_put)(struct ledger_store *, const struct ledger_key_info *,
	    const char *csr);
	int (*key_revoke)(struct ledger_store *, const char *key_id,
	    time_t at, int reason, uint64_t index);
	int (*keys)(struct ledger_store *, const struct ledger_key_filter *,
	    int (*cb)(const struct ledger_key_info *, void *), void *arg);
	int (*cert_get)(struct ledger_store *, const char *serial,
	    struct ledger_cert_info *);
	int (*cert_put)(struct ledger_store *, const struct ledger_cert_info *);
	int (*key_certs)(struct ledger_store *, const char *key_id,
	    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
	int (*certs)(struct ledger_store *, const char *after, size_t limit,
	    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
	int (*certs_revoked)(struct ledger_store *, const char *issuer,
	    time_t now, int (*cb)(const struct ledger_cert_info *, void *),
	    void *arg);
	int (*cert_revoke)(struct ledger_store *, const char *serial,
	    time_t at, int reason, uint64_t index);
	/* The signed certificate of a TBS entry, kept beside its row
	 * (base64 DER, its hex SHA-256): insert or replace; and read back
	 * into b64[0..cap) (0, 1 none, -1). */
	int (*cert_signed_put)(struct ledger_store *, const char *serial,
	    const char *b64, const char *sha256);
	int (*cert_signed_get)(struct ledger_store *, const char *serial,
	    char *b64, size_t cap);
	/* Current TBS certificates recorded by account's entries below index
	 * `below` with no signed certificate kept (ledger_certs_unsigned),
	 * oldest first; cb stops by returning non-zero.  0 or -1. */
	/* The certificate of issuer that expires last (issue 17). */
	int (*certs_latest)(struct ledger_store *, const char *issuer,
	    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
	int (*certs_unsigned)(struct ledger_store *, const char *account,
	    time_t now, uint64_t below,
	    int (*cb)(const struct ledger_cert_info *, void *), void *arg);
	int (*config_exists)(struct ledger_store *, const char *group,
	    const char *version);
	int (*config_put)(struct ledger_store *, const char *group,
	    const char *version, const char *sha256, int64_t size,
	    const char *file, uint64_t index);
	int (*configs)(struct ledger_store *, const char *group,
	    int (*cb)(const struct ledger_config_info *, void *), void *arg);
	int (*preauth_get)(struct ledger_store *, const char *id,
	    struct ledger_preauth_info *);
	int (*preauth_put)(struct ledger_store *,
	    const struct ledger_preauth_info *);
	int (*preauth_use)(struct ledger_store *, const char *id,
	    const char *key_id, uint64_t index);
	int (*counts)(struct ledger_store *, struct ledger_counts *);
	/* verify: the rows of registry table t (enum ledger_reg_table) whose
	 * key sorts after `after` ("" from the start) in byte order, at most
	 * limit, in that order: cb gets the key and the row rendered by
	 * ledger_store_row_add (every column of LEDGER_REG_COLS_*), and
	 * stops the walk by returning non-zero.  0 or -1. */
	int (*registry_rows)(struct ledger_store *, int t, const char *after,
	    size_t limit, int (*cb)(const char *key, const char *row, void *),
	    void *arg);
	const char *(*errmsg)(struct ledger_store *);
	/* Optional (NULL: nothing to do), in a write transaction: the writer
	 * is about to apply e[0..n) (parsed entries, borrowed for the call),
	 * so the store may read ahead, in one round trip, what their rules
	 * will look up (PostgreSQL: each entry's account, each config
	 * version), and answer those lookups from it until a write changes
	 * the row or the transaction ends.  A hint: a failure shows in the
	 * reads that follow. */
	void (*prefetch)(struct ledger_store *,
	    const struct ledger_entry *const *e, size_t n);
	/* Waits at most timeout_ms for another process to commit a block
	 * (PostgreSQL: LISTEN/NOTIFY): 1 notified, 0 timed out, -1 error.
	 * NULL for a backend with one writer process (sqlite3). */
	int (*wait_change)(struct ledger_store *, int timeout_ms);
};

struct ledger_store {
	const struct ledger_store_ops *ops;
	struct ledger_keycache *keys;	/* parsed account keys (rules.c) */
	/* The origin of the ledger whose rules are applied in this store
	 * (borrowed; rules.c: entries from LEDGER_RULES_V2_TIME on must
	 * name it).  Set by ledger_open for its writer, by ledger_verify
	 * for its replay. */
	const char *origin;
	/* What the rules changed in the registry, for the status map
	 * (map.c); NULL: not tracked. */
	struct ledger_map_touch *touch;
};

/* ---- map.c: the status map (docs/design.md "The status map") ---------- */

#define LEDGER_MAP_FORMAT	"keybridge-status v1"	/* a leaf's first line */
#define LEDGER_MAP_KEY_DOMAIN	"keybridge-map key"	/* path = SHA-256(.. */
#define LEDGER_MAP_CERT_DOMAIN	"keybridge-map cert"	/*  "\n" id) */
#define LEDGER_MAP_ID_MAX	LEDGER_KEYID_LEN	/* a key id or serial */

struct ledger_map_id {
	enum ledger_map_kind kind;
	char id[LEDGER_MAP_ID_MAX + 1];
};

/* The key ids and serials a block changed (repeats allowed). */
struct ledger_map_touch {
	struct ledger_map_id *v;
	size_t n, cap;
	int failed;		/* one was lost (memory): rebuild */
};

/* The path of a key id or serial: SHA-256(domain || "\n" || id). */
void ledger_map_path(enum ledger_map_kind kind, const char *id,
    uint8_t path[LEDGER_SMT_HASH]);
/* A leaf's value text for a key or certificate row (docs/api.md "Status
 * proofs") into out: its length, or -1 when it does not fit. */
int ledger_map_key_value(const struct ledger_key_info *k, char *out,
    size_t outlen);
int ledger_map_cert_value(const struct ledger_cert_info *c, char *out,
    size_t outlen);
/* The rules: a key's or certificate's row changed (nothing when s does
 * not track). */
void ledger_store_touch(struct ledger_store *s, enum ledger_map_kind kind,
    const char *id);
void ledger_map_touch_clear(struct ledger_map_touch *t);
/* Sets the leaves t names from s's rows and empties t.  0, or -1 (the
 * map is then partly updated: rebuild it). */
int ledger_map_update(struct ledger_smt *m, struct ledger_store *s,
    struct ledger_map_touch *t);
/* A new map of every key and certificate of s, or NULL. */
struct ledger_smt *ledger_map_build(struct ledger_store *s);
/* Replays the log's entries [from, to) onto m, the map of s's registry
 * when the ledger was of size from: the leaves they changed set from s's
 * rows (the registry of size to).  0, or -1 (a read failed, an entry is
 * missing or does not parse; m is then partly updated: drop it). */
int ledger_map_replay(struct ledger_smt *m, struct ledger_store *s,
    uint64_t from, uint64_t to);

/* ---- mapsnap.c: the map's snapshot (docs/design.md "Status map
 * snapshot", issue 18) ---- */
#define LEDGER_MAP_SNAP_HEAD	(25 + 16 + 2 * LEDGER_SMT_HASH)	/* bytes */
#define LEDGER_MAP_SNAP_PATH_MAX	4096
/* Writes m, the map of a ledger of size entries, to path atomically
 * (a 0600 temporary file, fsync, rename, the directory's fsync).  0, or
 * -1 with err. */
int ledger_map_snapshot_write(const struct ledger_smt *m, uint64_t size,
    const char *path, char *err, size_t errlen);
/* The map read from the snapshot at path when it is of size and gives
 * the root want (the signed checkpoint's); else NULL with why (one line;
 * "none": no file), and the caller rebuilds. */
struct ledger_smt *ledger_map_snapshot_read(const char *path, uint64_t size,
    const uint8_t want[LEDGER_SMT_HASH], char *why, size_t whylen);
/* The map read from the snapshot at path when it is well formed, its
 * body the one digested, its leaf count and recomputed root the recorded
 * ones, and its tree size (*size) at most max_size (never beyond the
 * ledger); root: that root.  Whether the root is a signed one is the
 * caller's to check.  Else NULL with why. */
struct ledger_smt *ledger_map_snapshot_load(const char *path,
    uint64_t max_size, uint64_t *size, uint8_t root[LEDGER_SMT_HASH],
    char *why, size_t whylen);
/* Tests only, before the first entry: fn(arg) is called on the thread
 * that writes a snapshot while serving, before it writes (a test holds
 * it there to see the writer commit meanwhile). */
void ledger_map_snapshot_set_hook(struct ledger *l, void (*fn)(void *arg),
    void *arg);

/* ---- keycache.c: parsed account keys ----------------------------------- */

struct ledger_keycache *ledger_keycache_new(void);
void ledger_keycache_free(struct ledger_keycache *kc);
/* The parsed key for base64 SPKI b64 of account name, with its signed-note
 * key hash.  get0: the cache keeps the key; valid until the next call.
 * NULL when b64 is not a usable account key. */
EVP_PKEY *ledger_keycache_get(struct ledger_keycache *kc, const char *name,
    const char *b64, uint8_t key_hash[4]);
/* Verifies sig over body[0..len) with the cached key (same key hash
 * required).  0 when valid, -1 otherwise. */
int ledger_keycache_verify(struct ledger_keycache *kc, const char *name,
    const char *b64, const char *body, size_t len,
    const struct ledger_note_sig *sig);
/* A verdict already computed by ledger_keycache_verify on another thread
 * for exactly (name, b64, body[0..len), sig): 0 valid, -1 invalid, 1 not
 * known (then kc verifies itself).  The parallel replay of ledger verify
 * (verify_par.c) installs one on its replay store's cache; borrowed. */
typedef int (*ledger_keycache_memo_fn)(void *arg, const char *name,
    const char *b64, const char *body, size_t len,
    const struct ledger_note_sig *sig);
void ledger_keycache_set_memo(struct ledger_keycache *kc,
    ledger_keycache_memo_fn memo, void *arg);

/* ---- store.c, store_sqlite.c, store_pg.c: opening a store -------------- */

#define LEDGER_STORE_CREATE   0x1	/* create and migrate the schema */
#define LEDGER_STORE_READONLY 0x2
#define LEDGER_STORE_ASYNC_OK 0x4	/* PostgreSQL: accept synchronous_commit
					 * or fsync off (the operator said so) */

/* Opens the store named by db: a postgresql:// or postgres:// URL opens
 * the PostgreSQL backend, anything else is an sqlite3 file (":memory:"
 * for replay).  flags: LEDGER_STORE_*.  NULL with a reason in err. */
struct ledger_store *ledger_store_open(const char *db, int flags, char *err,
    size_t errlen);
/* 1 when db names a PostgreSQL database (a libpq URL), else 0. */
int ledger_store_is_pg(const char *db);
struct ledger_store *ledger_store_sqlite_open(const char *path, int flags,
    char *err, size_t errlen);
/* PRAGMA synchronous of sqlite store s's connection (2 FULL, 3 EXTRA),
 * or -1.  Every connection the store opens runs with FULL or refuses to
 * open (docs/design.md "Storage": an acknowledged entry survives a power
 * cut). */
int ledger_store_sqlite_synchronous(struct ledger_store *s);
/* PRAGMA name's integer value on s's connection, -1 when unread (tests). */
int ledger_store_sqlite_pragma(struct ledger_store *s, const char *name);
struct ledger_store *ledger_store_pg_open(const char *url, int flags,
    char *err, size_t errlen);

/* Space-separated list columns (SANs): split into at most max strings of
 * width bytes each (returns the count), and join n of them back. */
int ledger_store_split_list(const char *s, char *out, size_t width, int max);
void ledger_store_join_list(char *out, size_t outlen, const char *items,
    size_t width, int n);

/*
 * The registry tables that `ledger verify` compares between the replayed
 * and the stored state, and the columns each backend renders for it, in
 * this order (one list for both backends, so the renderings match).
 */
enum ledger_reg_table {
	LEDGER_REG_ACCOUNTS, LEDGER_REG_KEYS, LEDGER_REG_CERTS,
	LEDGER_REG_CONFIGS, LEDGER_REG_PREAUTHS, LEDGER_REG_N
};
#define LEDGER_REG_COLS_ACCOUNTS "name, role, threshold, seq, created_idx, keys"
#define LEDGER_REG_COLS_KEYS "key_id, account, name, profile, spki, dns," \
	" ip, not_before, not_after, status, revoked_at, reason," \
	" registered_idx, revoked_idx, csr, groups"
#define LEDGER_REG_COLS_CERTS "serial, issuer, key_id, profile, not_before," \
	" not_after, cert_sha256, revoked, revoked_at, reason, issued_idx," \
	" revoked_idx"
#define LEDGER_REG_COLS_CONFIGS "grp, version, sha256, size, file, idx"
#define LEDGER_REG_COLS_PREAUTHS "id, account, name, profile, dns, ip," \
	" not_before, not_after, expires, secret_sha256, created_idx," \
	" used_key, used_idx, groups"
#define LEDGER_REG_ROW_MAX 65536	/* bytes of one rendered row */

/* Appends one column value to a rendered row at *off: "LEN:VALUE;", or
 * "~;" for NULL (v NULL), so that no two rows render alike.  0, or -1 when
 * it does not fit in rowlen. */
int ledger_store_row_add(char *row, size_t rowlen, size_t *off,
    const char *v, size_t len);
/* Compares the registry of the replayed store with the stored one, table
 * by table in key order, through registry_rows.  0 equal, 1 different
 * (what names the table and the key of the first difference), -1 error. */
int ledger_store_compare(struct ledger_store *replayed,
    struct ledger_store *stored, char *what, size_t whatlen);

/* ---- rules.c: the rules of the ledger ---------------------------------- */

/* Checks entry e (index `index`, in a block of ledger time `now`) against
 * every rule and, when it holds, applies its effect to the registry in s
 * (whose `origin` is the ledger's: entries from LEDGER_RULES_V2_TIME on
 * must name it).
 * The caller brackets it in a savepoint and stores the entry itself.
 * Returns LEDGER_OK or the broken rule with `why`. */
enum ledger_status ledger_rules_apply(struct ledger_store *s,
    const struct ledger_entry *e, uint64_t index, time_t now, char *why,
    size_t whylen);
/* ledger_check_issue on store s: the rule rules_cert_issued applies to a
 * wave-2 cert-issued entry, without writing. */
enum ledger_status ledger_rules_check_issue(struct ledger_store *s,
    const struct ledger_issue_ask *a, time_t now, char *why, size_t whylen);

/* ledger.c: the DER of field ("cert" or "tbs", base64 in the entry) of
 * the cert-issued entry at index in s, into der[0..cap).  0, 1 when the
 * entry has no such field (or is not cert-issued), -1 on a read error. */
int ledger_store_cert_field(struct ledger_store *s, uint64_t index,
    const char *field, uint8_t *der, size_t cap, size_t *len);

#endif
