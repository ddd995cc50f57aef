/*
 * verify.h: the auditor's side of ledger/ (verify.c, verify_certs.c):
 * replaying a whole ledger from its entries, checking trusted checkpoints
 * and receipts against it, and the quorum of cosignatures a policy asks of
 * every final checkpoint.  Part of ledger/'s face: ledger.h includes it.
 */
#ifndef KEYBRIDGE_LEDGER_VERIFY_H
#define KEYBRIDGE_LEDGER_VERIFY_H

#include "ledger/ledger.h"

/* ---- verifying (auditor) ----------------------------------------------- */

struct ledger_verify_report {
	uint64_t entries, blocks;
	/* Blocks stored without a signed checkpoint yet (the writer
	 * commits a block, then signs it): checked by their root only. */
	uint64_t unsigned_blocks;
	int ok;				/* 1: everything replayed and matched */
	int64_t bad_index;		/* first broken entry, -1 if none */
	int64_t bad_block;		/* first broken block, -1 if none */
	int bad_trusted;		/* the trusted[] item that failed, or -1 */
	char what[512];			/* the first broken point, one line */
	char checkpoint[LEDGER_NOTE_MAX];	/* ok: the verified tree's */
	/* With a policy of cosigners (ledger_verify_policy): the signed
	 * checkpoints found final (a quorum of valid cosignatures), and
	 * those before the first final one signed by the node alone (the
	 * genesis `init` writes, a ledger from before its validators). */
	uint64_t final_blocks, solo_blocks;
	/* ledger_verify_threads: entries whose signatures worker threads
	 * had checked before the replay reached them, and those the replay
	 * checked itself (all of them with one thread). */
	uint64_t sigs_ahead, sigs_here;
};

/*
 * A checkpoint the auditor trusts from outside the database: one kept
 * from an earlier look at the ledger (`--checkpoint FILE`, the remembered
 * one), or the checkpoint of a receipt a client holds, in which case the
 * entry at `index` must have `leaf_hash` and be included in it.  The
 * stored tree must not be smaller than it and must be consistent with it
 * (RFC 9162 2.1.4): a ledger whose last blocks were deleted, or rewritten,
 * fails here even when it is whole in itself.
 */
struct ledger_trusted {
	const char *source;		/* its file, for messages */
	const char *note;		/* the signed checkpoint note */
	int receipt;			/* 1: index, leaf_hash, tree_size set */
	uint64_t index;
	uint8_t leaf_hash[LEDGER_HASH_LEN];
	uint64_t tree_size;		/* the receipt's; its checkpoint's size */
};

/* Replays the whole log in `db` from genesis into a fresh state: every
 * signature and rule, leaf hashes, every block's root and checkpoint
 * signature (by `vkey`, a signed-note verifier key "name+hash+base64"),
 * then compares the derived state with the stored tables.  `progress`
 * (may be NULL) is called now and then with entries done / total.
 * Returns 0 when the check ran (see report->ok), -1 when it could not. */
int ledger_verify(const char *db, const char *vkey,
    struct ledger_verify_report *report,
    void (*progress)(uint64_t done, uint64_t total, void *), void *arg);
/* ledger_verify, and then every trusted[0..ntrusted) checkpoint must be
 * signed by `vkey`, name the ledger's origin and be consistent with the
 * replayed tree (report->bad_trusted names the first that is not).  On
 * success report->checkpoint holds the verified tree's latest checkpoint. */
int ledger_verify_trusted(const char *db, const char *vkey,
    const struct ledger_trusted *trusted, size_t ntrusted,
    struct ledger_verify_report *report,
    void (*progress)(uint64_t done, uint64_t total, void *), void *arg);
/*
 * ledger_verify_trusted, and with a verification policy (ledger/policy.h;
 * NULL: none) the checkpoints must name the policy's origin and every
 * block's stored checkpoint must carry a quorum of valid cosignatures by
 * the policy's cosigners (C2SP tlog-cosignature, ledger/cosign.h): the
 * first that does not is the broken point (report->bad_block, and
 * report->what with its tree size and each cosigner's verdict: valid,
 * bad-signature, wrong-key, stale, missing; duplicates count once).
 * One exception: blocks before the first final checkpoint that carry no
 * cosignature at all (signed by the node alone: the genesis, a ledger
 * from before its validators) are counted in report->solo_blocks; the
 * later final checkpoint covers their entries, and without one the
 * latest checkpoint is the broken point.  `vkey` is the log key; NULL
 * takes the policy's.
 */
struct ledger_policy;
int ledger_verify_policy(const char *db, const char *vkey,
    const struct ledger_policy *policy, const struct ledger_trusted *trusted,
    size_t ntrusted, struct ledger_verify_report *report,
    void (*progress)(uint64_t done, uint64_t total, void *), void *arg);
/*
 * ledger_verify_policy with the entries' signatures checked ahead of the
 * replay on `threads` worker threads (ledger/verify_par.c; 0: one per
 * online CPU, 1: none, the replay checks each itself).  The report is the
 * serial one in every field but sigs_ahead and sigs_here: the replay
 * still applies every entry in order and names the same first broken
 * point, whichever thread checked the bad signature.
 */
int ledger_verify_threads(const char *db, const char *vkey,
    const struct ledger_policy *policy, const struct ledger_trusted *trusted,
    size_t ntrusted, unsigned threads, struct ledger_verify_report *report,
    void (*progress)(uint64_t done, uint64_t total, void *), void *arg);
/* The signed certificates kept beside the ledger (ledger_cert_store):
 * each must be exactly its cert-issued entry's TBS, and, when issuers[0..n)
 * are given (the issuing CA certificates; n 0 skips this), carry a
 * signature that verifies under the one the entry names.  *checked counts
 * those that hold.  0 when the check ran (see report->ok, report->what and
 * report->bad_index: the entry of the first that fails), -1 when it could
 * not.  The certificates are checked on `threads` threads (0: one per
 * online CPU); the first that fails is the same on any count. */
int ledger_verify_certs(const char *db, X509 *const *issuers, size_t n,
    unsigned threads, struct ledger_verify_report *report,
    uint64_t *checked);
/* The same checks of one trusted checkpoint against the open ledger l
 * (`serve` before it replaces the remembered checkpoint).  0 when it
 * holds, -1 with the reason in why. */
int ledger_trusted_check(struct ledger *l, const char *vkey,
    const struct ledger_trusted *t, char *why, size_t whylen);

#endif
