/* kbv.h: the device-side verifier (README.md) of keybridge proof bundles
 * (docs/api.md "Proof bundles", "Status proofs") against a `keybridge
 * policy`, with libsodium's SHA-256 and Ed25519 only.  No I/O, no
 * allocation: what is parsed points into the caller's text or scratch. */
#ifndef KBV_H
#define KBV_H

#include <stddef.h>
#include <stdint.h>

#define KBV_HASH	32
#define KBV_PROOF_MAX	64		/* hashes in a proof (tree < 2^64) */
#define KBV_MAP_DEPTH	256		/* the status map's (ledger/smt.h) */
#define KBV_ID_MAX	64		/* a key id or serial */
#define KBV_NAME_MAX	64
#define KBV_ORIGIN_MAX	255
#define KBV_COSIGNERS_MAX 32
#define KBV_BUNDLE_MAX	(128 * 1024)	/* as LEDGER_BUNDLE_MAX */
#define KBV_SCRATCH_MAX	(2 * KBV_BUNDLE_MAX)	/* decoded extra, entries */
#define KBV_WHY_MAX	256
#define KBV_STATE_MAX	128		/* a state file's text */

/* Also kbverify's exit codes.  SUPERSEDED: a genuine older file, or a key
 * or certificate proven revoked or never registered. */
enum kbv_verdict { KBV_CURRENT = 0, KBV_FAIL = 1, KBV_SUPERSEDED = 2 };

struct kbv_span { const char *p; size_t len; };
/* Proof hashes: inclusion, consistency (KBV_PROOF_MAX), map siblings. */
struct kbv_hashes { size_t n; uint8_t h[KBV_MAP_DEPTH][KBV_HASH]; };

/* A signed-note key: name, key ID, Ed25519 key (ed25519 0: a P-256 log). */
struct kbv_key {
	char name[KBV_NAME_MAX + 1];
	uint8_t id[4], pub[32];
	int ed25519;
};
struct kbv_policy {
	char origin[KBV_ORIGIN_MAX + 1];
	struct kbv_key log, cos[KBV_COSIGNERS_MAX];	/* cosigners */
	size_t ncos;
	unsigned quorum;
};

/* A file's bundle (status 0) or a status bundle (1: id, a serial with cert;
 * value, len 0 when absent; bitmap and sib of ledger/smt.h). */
struct kbv_bundle {
	unsigned long long index, since, latest;
	int has_latest, status, cert;
	struct kbv_span entry, note, latest_entry, id, value;
	struct kbv_hashes proof, cons, lproof, sib;
	uint8_t bitmap[KBV_MAP_DEPTH / 8];
};

/* What to check: a file (its SHA-256, group or NULL) or a status (key id,
 * or serial with cert, or NULL); the state file's text (p NULL: none yet). */
struct kbv_ask {
	uint8_t sha256[KBV_HASH];
	const char *group, *id;
	int status, cert;
	struct kbv_span state;
};

/* Policy, bundle (decoded parts into scratch[0..cap)): 0, or -1 (why). */
int kbv_policy_parse(const char *text, size_t len, struct kbv_policy *p,
    char *why, size_t whylen);
int kbv_bundle_parse(const char *text, size_t len, uint8_t *scratch,
    size_t cap, struct kbv_bundle *b, char *why, size_t whylen);
/* Checks b for ask against p: KBV_CURRENT or KBV_SUPERSEDED (the new state
 * file's text in state[0..statelen)), or KBV_FAIL; msg: the line to print. */
enum kbv_verdict kbv_verify(const struct kbv_policy *p,
    const struct kbv_bundle *b, const struct kbv_ask *ask, char *state,
    size_t statelen, char *msg, size_t msglen);

#endif
