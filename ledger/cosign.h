/*
 * cosign.h: C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature),
 * Ed25519 cosignature/v1, on the C2SP checkpoints of ledger/note.c.
 *
 * A cosignature is a signed-note signature line
 *
 *     — <name> base64(key ID (4) || timestamp (8, big-endian) || sig (64))\n
 *
 * key ID = SHA-256(name || 0x0A || 0x04 || 32-byte Ed25519 key)[:4], and the
 * Ed25519 signature covers the message
 *
 *     "cosignature/v1\n" "time <timestamp>\n" <checkpoint body>
 *
 * (the body with its final newline, without the signature lines).  A
 * cosigner's verifier key is "name+hash8hex+base64(0x04 || key)".
 *
 * Part of ledger/'s face (with ledger.h): the validator room
 * (validator/) and, later, the bridge include it.
 */
#ifndef KEYBRIDGE_LEDGER_COSIGN_H
#define KEYBRIDGE_LEDGER_COSIGN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "ledger/ledger.h"

#define LEDGER_COSIGN_ALG	0x04	/* signed-note type: cosignature/v1 */
#define LEDGER_COSIGN_KEY_ID_LEN 4
#define LEDGER_COSIGN_TS_LEN	8
#define LEDGER_COSIGN_ED_SIG_LEN 64
#define LEDGER_COSIGN_SIG_LEN	(LEDGER_COSIGN_TS_LEN + LEDGER_COSIGN_ED_SIG_LEN)
/* "— " name " " base64(76 bytes: 104 chars) "\n" NUL */
#define LEDGER_COSIGN_LINE_MAX	(4 + LEDGER_NAME_MAX + 1 + 104 + 2)
#define LEDGER_COSIGN_VKEY_MAX	(LEDGER_NAME_MAX + 1 + 8 + 1 + 44 + 1)
#define LEDGER_COSIGN_NOTE_MAX	65536	/* as NOTE_MAX_LEN in note.c */
#define LEDGER_COSIGN_POLICY_MAX 32	/* cosigners in one policy */
#define LEDGER_COSIGN_LINES_MAX	64	/* signature lines looked at */
/* A final checkpoint's worst case: the body, the blank line, the log's
 * signature line (a name of LEDGER_NAME_MAX, base64 of at most 76 bytes,
 * as a cosignature's) and LEDGER_COSIGN_POLICY_MAX cosignature lines. */
#define LEDGER_COSIGN_NOTE_WORST						\
	(LEDGER_NOTE_BODY_MAX + 1 +						\
	(1 + LEDGER_COSIGN_POLICY_MAX) * (LEDGER_COSIGN_LINE_MAX - 1) + 1)
_Static_assert(LEDGER_COSIGN_NOTE_WORST <= LEDGER_NOTE_MAX,
    "LEDGER_NOTE_MAX holds a checkpoint cosigned by a full policy");
/* The length of a signature line of a cosigner (or the log) named
 * name_len bytes, newline included. */
#define LEDGER_COSIGN_LINE_LEN(name_len) (4 + (name_len) + 1 + 104 + 1)

/* One cosigner of a policy: name, Ed25519 public key, key ID. */
struct ledger_cosigner {
	char name[LEDGER_NAME_MAX + 1];
	EVP_PKEY *pub;			/* owned; ledger_cosigner_clear() */
	uint8_t key_id[LEDGER_COSIGN_KEY_ID_LEN];
	char vkey[LEDGER_COSIGN_VKEY_MAX];
};

/* Why a signature line of a note counts or not toward a quorum. */
enum ledger_cosign_verdict {
	LEDGER_COSIGN_VALID = 0,
	LEDGER_COSIGN_UNKNOWN,		/* name not in the policy: ignored */
	LEDGER_COSIGN_MALFORMED,	/* not a signature line, bad base64,
					 * not 4 + 72 bytes */
	LEDGER_COSIGN_WRONG_KEY,	/* policy name, another key ID */
	LEDGER_COSIGN_BAD_SIG,		/* does not verify over this body:
					 * another root, an old checkpoint */
	LEDGER_COSIGN_DUPLICATE,	/* cosigner already counted */
	LEDGER_COSIGN_STALE,		/* timestamp before the checkpoint's
					 * time, or past 2^63-1 */
	LEDGER_COSIGN_VERDICTS
};

/* Short stable name of a verdict ("valid", "unknown", "malformed", ...). */
const char *ledger_cosign_verdict_name(enum ledger_cosign_verdict v);

/* One line's verdict (ledger_cosign_quorum). */
struct ledger_cosign_result {
	size_t line;			/* 0-based among the signature lines */
	char name[LEDGER_NAME_MAX + 1];	/* "" when malformed */
	enum ledger_cosign_verdict verdict;
	uint64_t timestamp;		/* valid or stale */
};

/* The signed message "cosignature/v1\ntime T\n" || body into out; *msglen
 * gets its length.  body must end in '\n'.  0 or -1 (out too small). */
int ledger_cosign_message(const char *body, size_t body_len, uint64_t ts,
    char *out, size_t outlen, size_t *msglen);

/* SHA-256(name || 0x0A || 0x04 || raw key)[:4] of an Ed25519 key. 0/-1. */
int ledger_cosign_key_id(const char *name, EVP_PKEY *pub,
    uint8_t out[LEDGER_COSIGN_KEY_ID_LEN]);

/* Cosigns body at time ts with the Ed25519 key: writes the line
 * "— name base64(...)\n" (NUL-terminated) into line.  0 or -1. */
int ledger_cosign_line(const char *body, size_t body_len, const char *name,
    EVP_PKEY *key, uint64_t ts, char *line, size_t linelen);

/* The line from a raw signature made elsewhere (a key process, a
 * test's signer): sig64 over ledger_cosign_message(body, ts).  0 or -1. */
int ledger_cosign_line_from_sig(const char *name,
    const uint8_t key_id[LEDGER_COSIGN_KEY_ID_LEN], uint64_t ts,
    const uint8_t sig64[LEDGER_COSIGN_ED_SIG_LEN], char *line,
    size_t linelen);

/* Verifier key "name+hash8hex+base64(0x04 || key)": format and parse. */
int ledger_cosign_vkey_format(EVP_PKEY *pub, const char *name, char *out,
    size_t outlen);
/* Parses a cosignature/v1 vkey into c (name, key, key ID).  0 or -1 (not
 * a 0x04 Ed25519 vkey, or its hash is not the key's). */
int ledger_cosigner_parse(const char *vkey, struct ledger_cosigner *c);
/* A cosigner from a name and a public key.  0 or -1. */
int ledger_cosigner_from_key(const char *name, EVP_PKEY *pub,
    struct ledger_cosigner *c);
void ledger_cosigner_clear(struct ledger_cosigner *c);

/* The verdict of one signature line (without its '\n') over body for the
 * policy: matched by name, then key ID, then the signature; the caller
 * tracks duplicates.  *who gets the policy index (valid, wrong key, bad
 * sig, stale), *ts the timestamp.  `not_before` is the checkpoint's
 * time: a timestamp before it is stale (0: no lower bound). */
enum ledger_cosign_verdict ledger_cosign_check_line(const char *body,
    size_t body_len, const char *line, size_t len,
    const struct ledger_cosigner *policy, size_t npolicy, uint64_t not_before,
    size_t *who, uint64_t *ts);

/* The signature check itself, replaceable by a caller that brings its
 * own primitive (the deterministic simulation's cheap stand-in): 0 when
 * sig64 over msg[0..len) is c's.  ledger_cosign_ed25519_verify is the
 * real one, which ledger_cosign_check_line uses. */
typedef int (*ledger_cosign_verify_fn)(void *arg,
    const struct ledger_cosigner *c, const char *msg, size_t len,
    const uint8_t sig64[LEDGER_COSIGN_ED_SIG_LEN]);
int ledger_cosign_ed25519_verify(void *arg, const struct ledger_cosigner *c,
    const char *msg, size_t len,
    const uint8_t sig64[LEDGER_COSIGN_ED_SIG_LEN]);
enum ledger_cosign_verdict ledger_cosign_check_line_fn(const char *body,
    size_t body_len, const char *line, size_t len,
    const struct ledger_cosigner *policy, size_t npolicy, uint64_t not_before,
    size_t *who, uint64_t *ts, ledger_cosign_verify_fn verify, void *arg);

/*
 * Counts the distinct policy cosigners whose cosignature in `note` is
 * valid.  Lines of other signers (the log's own key), malformed lines,
 * wrong keys, bad signatures, duplicates and stale ones are set aside,
 * each with its verdict in res[0..*nres) (at most maxres; res may be NULL).
 * Returns 0 when at least `quorum` are valid, -1 otherwise (or when the
 * note itself is not a note: no body, not text); *nvalid the count.
 */
int ledger_cosign_quorum(const char *note, size_t len,
    const struct ledger_cosigner *policy, size_t npolicy, size_t quorum,
    struct ledger_cosign_result *res, size_t maxres, size_t *nres,
    size_t *nvalid);

/* A verification policy: the log's (node's) checkpoint key, the
 * cosigners and the quorum (what `keybridge policy` will print). */
struct ledger_cosign_policy {
	const char *log_vkey;		/* signed-note vkey; NULL: not checked */
	const struct ledger_cosigner *cosigners;
	size_t ncosigners, quorum;
};

/* The shape of checkpoint_ok in bridge/ca/ca.h's struct ca_admit_ctx,
 * with arg a struct ledger_cosign_policy: 0 when the note is a checkpoint
 * signed by the log key that carries a quorum of valid cosignatures, with
 * its size and root; -1 with why ("2 of 3 cosignatures: v2.test
 * wrong-key, ..."). */
int ledger_cosign_checkpoint_ok(void *arg, const char *note, uint64_t *size,
    uint8_t root[LEDGER_HASH_LEN], char *why, size_t whylen);

/* The length of a note's body (through the newline before the last blank
 * line), or 0 when there is none. */
size_t ledger_cosign_body_len(const char *note, size_t len);

/* The checkpoint parser and the RFC 6962 hashes and consistency check
 * the validator room uses are in ledger.h ("checkpoints and Merkle
 * hashes"). */

/* From ledger/note.c (declared here to keep ledger_int.h untouched):
 * the key hash for any algorithm byte, and one signature line parsed on
 * its own.  0 or -1. */
struct ledger_note_sig;
int ledger_note_hash_alg(const char *name, uint8_t alg, const uint8_t *key,
    size_t keylen, uint8_t out[4]);
int ledger_note_sig_parse(const char *line, size_t len,
    struct ledger_note_sig *sig, char *why, size_t whylen);

#endif
