/*
 * bundle.h: proof bundles (issue 15, docs/api.md "Proof bundles"): one
 * entry of the log with everything a device needs to check it offline,
 * in the text shape of C2SP tlog-proof (https://c2sp.org/tlog-proof):
 *
 *     c2sp.org/tlog-proof@v1
 *     extra BASE64(keybridge extra)
 *     index N
 *     BASE64(hash)            (the RFC 6962 inclusion proof, 0..64 lines)
 *                             (an empty line)
 *     <the final checkpoint note, verbatim, with every cosignature>
 *
 * The opaque `extra` of the spec carries keybridge's extension, itself a
 * text of lines:
 *
 *     keybridge-proof v1
 *     entry BASE64(the entry's text)      leaf = SHA-256(0x00 || text)
 *     since M                             (with ?since=M)
 *     consistency BASE64(hash)            (0..64 lines: M to the checkpoint)
 *     latest N                            (a later entry superseding it:
 *     latest-entry BASE64(text)            the group's current publication,
 *     latest-proof BASE64(hash)            a revocation), with its own
 *                                          inclusion proof, 0..64 lines
 *
 * Nothing in extra is trusted as such: the entries are checked by their
 * leaf hashes and inclusion proofs, the consistency proof by its roots.
 */
#ifndef KEYBRIDGE_LEDGER_BUNDLE_H
#define KEYBRIDGE_LEDGER_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"

#define LEDGER_BUNDLE_HEADER	"c2sp.org/tlog-proof@v1"
#define LEDGER_BUNDLE_EXTRA	"keybridge-proof v1"
#define LEDGER_BUNDLE_MAX	(128 * 1024)	/* bytes of a whole bundle */
#define LEDGER_BUNDLE_NONE	UINT64_MAX	/* no latest entry */
#define LEDGER_BUNDLE_STATUS	"keybridge-status v1"

/* What a bundle says besides the checkpoint the ledger holds. */
struct ledger_bundle_ask {
	uint64_t index;		/* the entry */
	uint64_t since;		/* 0: no consistency proof */
	uint64_t latest;	/* a later entry, or LEDGER_BUNDLE_NONE */
};

/*
 * The bundle of a->index against the ledger's latest final checkpoint
 * (ledger_checkpoint), into a new malloc'd NUL-terminated text (*out,
 * *outlen; free it).  0; 1 with why when the request cannot be answered
 * (the entry, or latest, is not in that checkpoint, since is above its
 * size); -1 with why when the ledger could not be read.
 */
int ledger_bundle(struct ledger *l, const struct ledger_bundle_ask *a,
    char **out, size_t *outlen, char *why, size_t whylen);

/*
 * What to prove, from the registry (since is left to the caller):
 *  config: the newest publication of group whose sha256 (lowercase hex)
 *          is sha256, or whose version is version (the other NULL); latest
 *          the group's current publication when that is another;
 *  key:    a key's registration; latest its revocation when revoked;
 *  cert:   a certificate's cert-issued entry; latest its own revocation.
 * 0 with a filled, 1 when there is no such thing, -1 on a storage error.
 */
int ledger_bundle_config(struct ledger *l, const char *group,
    const char *sha256, const char *version, struct ledger_bundle_ask *a);
int ledger_bundle_key(struct ledger *l, const char *key_id,
    struct ledger_bundle_ask *a);
int ledger_bundle_cert(struct ledger *l, const char *serial,
    struct ledger_bundle_ask *a);

/*
 * A status bundle (docs/api.md "Status proofs"): the status of key id or
 * serial `id` in the status map, with its map proof, against the latest
 * final checkpoint (whose "map" line is the map's root).  The same
 * tlog-proof shape, with this extra:
 *
 *     keybridge-status v1
 *     key KEYID | cert SERIAL
 *     value BASE64(the leaf's text)       (none: never registered)
 *     bitmap BASE64(32 bytes)             (ledger/smt.h: non-empty siblings)
 *     sibling BASE64(hash)                (0..256 lines, deepest first)
 *
 * and as index the entry that set the status (its revocation, else its
 * registration or issue; the checkpoint's size when absent), without an
 * inclusion proof: the map proof is the proof.  0 with *out (malloc'd,
 * NUL-terminated); 1 with why when the map is not final yet (a block is
 * being sealed, or lacks its quorum: retry); -1 with why on an error.
 */
int ledger_bundle_status(struct ledger *l, enum ledger_map_kind kind,
    const char *id, char **out, size_t *outlen, char *why, size_t whylen);

#endif
