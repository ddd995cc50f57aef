/*
 * policy.h: a ledger's verification policy (issue 14), what a device or
 * an auditor needs to accept a checkpoint as final: the origin, the log's
 * (node's) checkpoint key, the cosigners (validators that replay, plain
 * C2SP tlog-witnesses) and how many of them must cosign.
 *
 * `keybridge policy -d DIR` prints it; `keybridge ledger verify --policy
 * FILE` and a device's verifier read it back.  The text form, one item a
 * line, '#' comments and blank lines ignored, items in this order:
 *
 *     keybridge-policy v1
 *     origin keybridge/ledger
 *     log keybridge-node+1a2b3c4d+AXk...          (signed-note vkey)
 *     validator v1.example v1.example+8f9e..+BN.. http://10.0.0.1:7001
 *     witness w.example w.example+0a1b..+BA.. https://w.example/
 *     quorum 3
 *
 * The first line names the format (a later incompatible one gets v2).
 * NAME must be the name inside its cosignature/v1 VKEY; the URL is for
 * the operator's eyes only and may be "-" (unknown).  Validators and
 * witnesses both count toward the quorum; a checkpoint is final when at
 * least `quorum` distinct listed cosigners signed it (C2SP
 * tlog-cosignature), see ledger/cosign.h.
 */
#ifndef KEYBRIDGE_LEDGER_POLICY_H
#define KEYBRIDGE_LEDGER_POLICY_H

#include <stddef.h>

#include "ledger/cosign.h"

#define LEDGER_POLICY_MAGIC	"keybridge-policy v1"
#define LEDGER_POLICY_TEXT_MAX	16384	/* a policy file, bytes */
#define LEDGER_POLICY_URL_MAX	256
#define LEDGER_POLICY_VKEY_MAX	256	/* the log's signed-note vkey */

struct ledger_policy {
	char origin[LEDGER_ORIGIN_MAX + 1];
	char log_vkey[LEDGER_POLICY_VKEY_MAX];
	struct ledger_cosigner cosigners[LEDGER_COSIGN_POLICY_MAX];
	char url[LEDGER_COSIGN_POLICY_MAX][LEDGER_POLICY_URL_MAX];
	int witness[LEDGER_COSIGN_POLICY_MAX];	/* 1: a plain witness */
	size_t ncosigners;
	size_t quorum;			/* 0: none given (solo) */
};

/* The default quorum of n cosigners: the smallest q with 2q - n > f,
 * f = floor((n - 1) / 3) the faults tolerated, so that any two quorums
 * share an honest cosigner; 2f+1 when n = 3f+1 (3 of 4).  0 for n = 0.
 * The bridge's (config_quorum_default). */
size_t ledger_policy_default_quorum(size_t n);

/* An empty policy (no cosigners). */
void ledger_policy_init(struct ledger_policy *p);
/* Frees the cosigners' keys; p is empty afterwards. */
void ledger_policy_clear(struct ledger_policy *p);

/* Adds a cosigner: vkey must be a cosignature/v1 verifier key whose name
 * is `name`; url may be NULL or "" (written "-").  0, or -1 with why (a
 * duplicate name or key, a malformed vkey, too many, a URL with blanks). */
int ledger_policy_add(struct ledger_policy *p, const char *name,
    const char *vkey, const char *url, int witness, char *why, size_t whylen);

/* Checks p as a whole: an origin, a log key that parses, and 1 <= quorum
 * <= ncosigners when there are cosigners (quorum 0 then becomes the
 * default).  0, or -1 with why. */
int ledger_policy_check(struct ledger_policy *p, char *why, size_t whylen);

/* Parses the text form (above) into p (ledger_policy_init'ed here).
 * Unknown items, a repeated origin/log/quorum, items out of order and
 * overlong lines are errors naming the line.  0, or -1 with why. */
int ledger_policy_parse(const char *text, size_t len, struct ledger_policy *p,
    char *why, size_t whylen);

/* Writes the text form of p into out (NUL-terminated).  0, or -1 when it
 * does not fit. */
int ledger_policy_format(const struct ledger_policy *p, char *out,
    size_t outlen);

/* The policy in the shape ledger/cosign.h's checks take (borrowing p). */
void ledger_policy_cosign(const struct ledger_policy *p,
    struct ledger_cosign_policy *cp);

#endif
