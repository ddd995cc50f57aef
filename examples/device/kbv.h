/*
 * kbv.h: the device-side verifier of keybridge proof bundles (issue 15,
 * examples/device/README.md).  A firmware embeds kbv.c: it parses a
 * verification policy (`keybridge policy`) and a proof bundle
 * (docs/api.md "Proof bundles": C2SP tlog-proof with keybridge's extra)
 * and checks them.  Its only cryptography is libsodium's SHA-256 and
 * Ed25519; it does no I/O and allocates nothing: parsed items point into
 * the caller's text, decoded bytes go into the caller's scratch buffer.
 */
#ifndef KBV_H
#define KBV_H

#include <stddef.h>
#include <stdint.h>

#define KBV_HASH	32
#define KBV_PROOF_MAX	64		/* hashes in a proof (tree < 2^64) */
#define KBV_NAME_MAX	64
#define KBV_ORIGIN_MAX	255
#define KBV_COSIGNERS_MAX 32
#define KBV_BUNDLE_MAX	(128 * 1024)	/* as LEDGER_BUNDLE_MAX */
#define KBV_SCRATCH_MAX	(2 * KBV_BUNDLE_MAX)	/* decoded extra, entries */
#define KBV_WHY_MAX	256

enum kbv_verdict { KBV_CURRENT = 0, KBV_FAIL = 1, KBV_SUPERSEDED = 2 };

struct kbv_span {
	const char *p;
	size_t len;
};

/* A signed-note key: name, key ID (4 bytes), Ed25519 public key. */
struct kbv_key {
	char name[KBV_NAME_MAX + 1];
	uint8_t id[4];
	uint8_t pub[32];
	int ed25519;		/* log key: 0 when not Ed25519 (P-256) */
};

struct kbv_policy {
	char origin[KBV_ORIGIN_MAX + 1];
	struct kbv_key log;
	struct kbv_key cos[KBV_COSIGNERS_MAX];	/* validators, witnesses */
	size_t ncos;
	unsigned quorum;
};

struct kbv_bundle {
	uint64_t index;
	uint8_t proof[KBV_PROOF_MAX][KBV_HASH];
	size_t nproof;
	struct kbv_span entry, note;
	int has_since;
	uint64_t since;
	uint8_t cons[KBV_PROOF_MAX][KBV_HASH];
	size_t ncons;
	int has_latest;
	uint64_t latest;
	struct kbv_span latest_entry;
	uint8_t lproof[KBV_PROOF_MAX][KBV_HASH];
	size_t nlproof;
};

/* The last checkpoint a device accepted (its state file). */
struct kbv_state {
	uint64_t size;
	uint8_t root[KBV_HASH];
};

/* What a device asks: the file's SHA-256, and the group it expects
 * (NULL: any). */
struct kbv_ask {
	uint8_t sha256[KBV_HASH];
	const char *group;
	const struct kbv_state *state;	/* NULL: none remembered */
};

/* Parses policy text[0..len) into p.  0, or -1 with why. */
int kbv_policy_parse(const char *text, size_t len, struct kbv_policy *p,
    char *why, size_t whylen);
/* Parses bundle text[0..len) into b; entries are decoded into
 * scratch[0..cap), the rest points into text.  0, or -1 with why. */
int kbv_bundle_parse(const char *text, size_t len, uint8_t *scratch,
    size_t cap, struct kbv_bundle *b, char *why, size_t whylen);
/* Parses a state file's text into s.  0 or -1. */
int kbv_state_parse(const char *text, size_t len, struct kbv_state *s);
/* The state file's text for s into out.  Its length, or -1. */
int kbv_state_format(const struct kbv_state *s, char *out, size_t outlen);
/* Checks bundle b for ask against policy p: KBV_CURRENT or KBV_SUPERSEDED
 * with *next the checkpoint to remember, or KBV_FAIL; msg gets the one
 * line to print either way. */
enum kbv_verdict kbv_verify(const struct kbv_policy *p,
    const struct kbv_bundle *b, const struct kbv_ask *ask,
    struct kbv_state *next, char *msg, size_t msglen);

#endif
