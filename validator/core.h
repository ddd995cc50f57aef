/*
 * core.h: the validator's protocol core, free of I/O (issue 14).
 *
 * A validator (or a plain C2SP tlog-witness) holds a small state: the last
 * checkpoint it cosigned and, when it replays, the right border of its
 * Merkle tree.  vcore_add() takes that state, one request and the clock,
 * and gives the answer and the new state; nothing else happens in it but
 * calls to the caller's callbacks (the signature primitive, the log key's
 * check, and the staging of each replayed entry into the caller's
 * registry).  The daemon (libevent, SQLite) is the caller: it persists
 * the state (and commits what it staged) before it sends a 200, and the
 * deterministic simulation (tests/validator/test_sim.c) is another.
 *
 * Requests (one format for both endpoints, text):
 *   "old <size>\n"
 *   ("entry <len>\n" <len bytes of one entry>)*      add-block only
 *   (base64(hash) "\n")*  at most 63: consistency proof old -> size
 *   "\n"
 *   <checkpoint note>                                 C2SP tlog-checkpoint
 * With no entry lines it is exactly C2SP tlog-witness add-checkpoint.
 *
 * Answers: 200 with the cosignature line; 409 with "<size>\n" (the size
 * of the last cosigned checkpoint: the sender starts again from it) or an
 * equivocation; 400, 403, 404, 422 with one line saying why.
 *
 * The gatherer (vgather_*) is the bridge's side: it collects the answers
 * of n validators for one checkpoint, keeps the valid cosignatures, names
 * why it drops the others, and says when the checkpoint is final.
 */
#ifndef KEYBRIDGE_VALIDATOR_CORE_H
#define KEYBRIDGE_VALIDATOR_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ledger/cosign.h"
#include "ledger/ledger.h"

#define VCORE_NOTE_MAX		LEDGER_NOTE_MAX	/* a note with its signatures */
#define VCORE_EVIDENCE_MAX	4	/* equivocation pairs kept */
#define VCORE_REASON_MAX	192
#define VCORE_RULE_MAX		48	/* a rule's code ("key_revoked") */
#define VCORE_PROOF_LINES_MAX	63	/* tlog-witness */
#define VCORE_ENTRIES_MAX	4096	/* entries in one add-block */
#define VCORE_ANSWER_MAX	(LEDGER_COSIGN_LINE_MAX + VCORE_REASON_MAX)
#define VCORE_FRONTIER_MAX	64	/* perfect subtrees on the right border */

enum vcore_mode {
	VCORE_WITNESS = 0,	/* consistency only (tlog-witness) */
	VCORE_VALIDATOR,	/* also replays every entry through the rules */
};

enum vcore_refusal {
	VCORE_OK = 0,		/* 200: cosigned */
	VCORE_MALFORMED,	/* 400: not a request, or old > size */
	VCORE_UNKNOWN_ORIGIN,	/* 404 */
	VCORE_NOT_SIGNED,	/* 403: no valid signature of the log's key */
	VCORE_NOT_EXTENDING,	/* 409: smaller than the last cosigned
				 * checkpoint (a rollback); body: our size */
	VCORE_SIZE_MISMATCH,	/* 409: old is not our size; body: our size */
	VCORE_INCONSISTENT,	/* 422: the consistency proof fails */
	VCORE_EQUIVOCATION,	/* 409: another checkpoint of a size we
				 * cosigned; both kept as evidence */
	VCORE_TIME_BOUNDS,	/* 422: time outside our clock's bounds, or
				 * before the last cosigned checkpoint's */
	VCORE_NEEDS_ENTRIES,	/* 422: a validator is asked to go past its
				 * replay without the entries */
	VCORE_ROOT_MISMATCH,	/* 422: the entries' root is another */
	VCORE_RULE_BROKEN,	/* 422: entry N breaks a rule (its code) */
	VCORE_INTERNAL,		/* 500: the signer failed; nothing changed */
	VCORE_MAP_MISMATCH,	/* 422: the checkpoint's status map line is
				 * not the replayed registry's map root */
	VCORE_REFUSALS
};

/* "ok", "malformed", ..., "rule-broken": stable, for logs and metrics. */
const char *vcore_refusal_name(enum vcore_refusal r);
int vcore_refusal_status(enum vcore_refusal r);	/* its HTTP status */

/* Kept proof that the log equivocated: two checkpoint notes, both signed
 * by the log key, that cannot both be true (same size, other roots, or a
 * consistency proof that fails between them). */
struct vcore_evidence {
	uint64_t size;
	char cosigned[VCORE_NOTE_MAX];	/* the one we cosigned */
	char offered[VCORE_NOTE_MAX];	/* the one we refused */
};

/*
 * The whole persistent state: plain data, no pointers, so a copy is a
 * snapshot (the daemon writes it atomically; the simulation copies it to
 * "crash" and restores it to "restart").
 */
struct vcore_state {
	enum vcore_mode mode;
	char name[LEDGER_NAME_MAX + 1];		/* our cosigner name */
	char origin[LEDGER_ORIGIN_MAX + 1];	/* the log we follow */
	uint64_t size;				/* last cosigned */
	uint8_t root[LEDGER_HASH_LEN];
	time_t cp_time;				/* its checkpoint's time */
	char checkpoint[VCORE_NOTE_MAX];	/* its note, "" for none */
	/* VCORE_VALIDATOR: the right border of the tree of `size` leaves:
	 * frontier[i] is the perfect subtree for bit i of size. */
	uint8_t frontier[VCORE_FRONTIER_MAX][LEDGER_HASH_LEN];
	int64_t max_past, max_future;		/* time bounds, seconds */
	struct vcore_evidence evidence[VCORE_EVIDENCE_MAX];
	size_t nevidence;			/* kept (the first ones) */
	uint64_t equivocations;			/* seen, all */
	char last_refusal[VCORE_REASON_MAX + 32];	/* "name: reason" */
};

/* What the core asks of its caller.  Every callback gets `arg`. */
struct vcore_ops {
	/* The Ed25519 signature of msg by our cosigning key (the key stays
	 * with the caller: a key process, a token).  0 or -1. */
	int (*sign)(void *arg, const char *msg, size_t len,
	    uint8_t sig64[LEDGER_COSIGN_ED_SIG_LEN]);
	/* 0 when the checkpoint note carries a valid signature of the
	 * log's key (ledger_note_verify_vkey for the real one). */
	int (*log_verify)(void *arg, const char *note, size_t len);
	/* VCORE_VALIDATOR: checks entry `index` (0-based in the log) of a
	 * block of time t against the rules and stages its effect in the
	 * caller's registry.  0, or -1 with the rule's code and why. */
	int (*stage)(void *arg, uint64_t index, const char *entry, size_t len,
	    time_t t, char *code, size_t codelen, char *why, size_t whylen);
	/* Drops everything staged since the last answer (a refusal). */
	void (*abort)(void *arg);
	void *arg;
	/* VCORE_VALIDATOR, optional (NULL: not checked): the root of the
	 * status map of the caller's registry with what was staged
	 * (ledger_replay_map_root), which the checkpoint's "map" line, when
	 * it has one, must carry (docs/design.md "The status map").  0/-1. */
	int (*map_root)(void *arg, uint8_t root[LEDGER_HASH_LEN]);
};

/* One entry of an add-block request (borrowed from the request text). */
struct vcore_entry {
	const char *text;
	size_t len;
};

/* A parsed request; vcore_request_free() releases the entry array. */
struct vcore_request {
	uint64_t old;
	uint8_t proof[VCORE_PROOF_LINES_MAX][LEDGER_HASH_LEN];
	size_t nproof;
	struct vcore_entry *entries;		/* NULL when none */
	size_t nentries;
	const char *note;			/* borrowed */
	size_t note_len;
};

struct vcore_answer {
	int status;				/* HTTP status */
	enum vcore_refusal refusal;
	char body[VCORE_ANSWER_MAX];		/* what goes on the wire */
	char reason[VCORE_REASON_MAX];		/* "" on 200 */
	uint64_t bad_entry;			/* VCORE_RULE_BROKEN: index */
	char rule[VCORE_RULE_MAX];		/* VCORE_RULE_BROKEN: code */
	int state_changed;			/* persist before answering */
};

/* A fresh state: nothing cosigned yet.  0 or -1 (bad name or origin). */
int vcore_state_init(struct vcore_state *st, enum vcore_mode mode,
    const char *name, const char *origin, int64_t max_past,
    int64_t max_future);

/* Parses a request (see above).  0, or -1 with why. */
int vcore_request_parse(const char *text, size_t len,
    struct vcore_request *req, char *why, size_t whylen);
void vcore_request_free(struct vcore_request *req);
/* Writes a request (the sender's side).  Returns its length or -1. */
int vcore_request_format(uint64_t old,
    const uint8_t proof[][LEDGER_HASH_LEN], size_t nproof,
    const struct vcore_entry *entries, size_t nentries, const char *note,
    char *out, size_t outlen);

/*
 * The transition: st and req at time now give *ans and the new st (st is
 * changed only as ans->state_changed says: a cosignature, or kept
 * evidence).  The key ID of our cosignatures is key_id (the caller's key).
 * Returns 0 (an answer was made, whatever it says) or -1 (bad arguments).
 */
int vcore_add(struct vcore_state *st, const struct vcore_ops *ops,
    const uint8_t key_id[LEDGER_COSIGN_KEY_ID_LEN],
    const struct vcore_request *req, time_t now, struct vcore_answer *ans);

/* ---- the bridge's side: gathering a quorum ------------------------------ */

enum vgather_verdict {
	VGATHER_ACCEPTED = 0,	/* a new valid cosignature */
	VGATHER_REFUSED,	/* the validator answered a refusal */
	VGATHER_DISCARDED,	/* a 200 whose line did not count */
};

/* Why answers were dropped, by verdict, for /metrics. */
struct vgather_counts {
	uint64_t discarded[LEDGER_COSIGN_VERDICTS];
	uint64_t refused;
	uint64_t accepted;
};

/* One checkpoint being gathered. */
struct vgather {
	char note[VCORE_NOTE_MAX];		/* the log-signed checkpoint */
	size_t note_len, body_len;
	uint64_t size;
	uint8_t root[LEDGER_HASH_LEN];
	time_t time;
	const struct ledger_cosigner *policy;	/* borrowed */
	size_t npolicy, quorum;
	char lines[LEDGER_COSIGN_POLICY_MAX][LEDGER_COSIGN_LINE_MAX];
	uint8_t have[LEDGER_COSIGN_POLICY_MAX];
	size_t nhave;
	ledger_cosign_verify_fn verify;		/* default: Ed25519 */
	void *verify_arg;
	struct vgather_counts counts;
};

/* Starts gathering for a log-signed checkpoint note.  0 or -1. */
int vgather_init(struct vgather *g, const char *note, size_t len,
    const struct ledger_cosigner *policy, size_t npolicy, size_t quorum);
/* Takes validator `from`'s answer (status and body).  A 200 body is one or
 * more cosignature lines: only a line by `from`'s name and key that
 * verifies over this checkpoint counts, once.  Says why in why. */
enum vgather_verdict vgather_answer(struct vgather *g, size_t from,
    int status, const char *body, size_t len, char *why, size_t whylen);
/* 1 when a quorum of distinct validators cosigned, 0 otherwise. */
int vgather_final(const struct vgather *g);
/* The checkpoint note with the valid cosignatures (policy order).  0/-1. */
int vgather_note(const struct vgather *g, char *out, size_t outlen);

#endif
