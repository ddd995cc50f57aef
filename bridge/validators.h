/*
 * validators.h: the bridge's side of issue 14 (validators that replay and
 * cosign the ledger).
 *
 * The validators consensus is a struct ledger_consensus (ledger.h): its
 * seal() runs on the ledger writer's thread, never on the event loop.  It
 * gets the node's own checkpoint signature from the key process (as solo
 * does), then sends the block to every configured validator in parallel
 * (its own event_base and evhttp connections, loopback or not):
 *
 *   POST URL/add-block       validator/core.h request with the entries
 *                            from the validator's last cosigned size
 *   POST URL/add-checkpoint  the same without entries (C2SP tlog-witness),
 *                            for a peer configured as a plain witness
 *
 * A 409 with a size makes it start again from that size (a lagging
 * validator catches up).  The answers go through vgather (validator/
 * gather.c); seal() returns the note with the valid cosignatures once a
 * quorum has cosigned, or -1 after `wait_ms` without one (the writer then
 * keeps the block unsealed, seals it again before any other, and answers
 * its waiters 503 with Retry-After: nothing is acknowledged without a
 * quorum).
 *
 * With no validator lines in keybridge.conf the bridge stays solo.
 */
#ifndef KEYBRIDGE_VALIDATORS_H
#define KEYBRIDGE_VALIDATORS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bridge/config.h"
#include "ledger/cosign.h"
#include "ledger/ledger.h"

#define BVAL_URL_MAX		256
#define BVAL_REASON_MAX		192
#define BVAL_WAIT_MS_DEFAULT	5000	/* seal() waits this long for a quorum */

/* One validator's health, as /api/v1/status, /metrics and the dashboard
 * show it.  A snapshot (copied under the consensus's lock). */
struct bval_peer_status {
	char name[LEDGER_NAME_MAX + 1];
	char url[BVAL_URL_MAX];
	char vkey[LEDGER_COSIGN_VKEY_MAX];
	int witness;			/* 1: add-checkpoint only */
	int up;				/* its last exchange got an answer */
	uint64_t cosigned_size;		/* last size it cosigned, 0 none */
	uint64_t lag;			/* ledger size - cosigned_size */
	double latency_ms;		/* its last answer's round trip */
	char last_refusal[BVAL_REASON_MAX];	/* "rule-broken: ..." or "" */
	time_t last_refusal_at;		/* 0: never */
	uint64_t accepted;		/* cosignatures counted */
	uint64_t refused;		/* answers that were refusals */
	uint64_t discarded[LEDGER_COSIGN_VERDICTS];	/* 200s not counted,
							 * by verdict */
	uint64_t unreachable;		/* no answer (connect, timeout) */
};

struct bval_stats {
	size_t npeers, quorum;
	uint64_t final_size;		/* latest final checkpoint's size */
	uint64_t seals, seal_failures;	/* seal() calls, and without quorum */
	double finality_p50_ms, finality_p99_ms;	/* seal start -> final,
							 * last 1024 seals */
};

struct bval;

/*
 * The validators consensus for cfg's `validator =` lines and `quorum`:
 * node_sign signs the checkpoint body as the node (the key process, as
 * ledger_consensus_solo_signer's sign), and entries are read from the
 * ledger through read_db (its own read connection, opened inside).  NULL
 * with a reason in err.  *out gets the handle for the status calls.
 */
struct ledger_consensus *bval_consensus_new(const struct bridge_config *cfg,
    int (*node_sign)(void *arg, const struct ledger_seal *s, char *line,
    size_t linelen), void *node_arg, struct bval **out, char *err,
    size_t errlen);

/* Splits a validator URL "http://HOST:PORT[/PREFIX]" (plain HTTP only for
 * now: no TLS to validators yet).  0 or -1 (not of that form). */
int bval_url_parse(const char *url, char *host, size_t hostlen, int *port,
    char *prefix, size_t prefixlen);

/* Entries of one catch-up step of a validator far behind (default and
 * at most VCORE_ENTRIES_MAX; tests lower it to walk many steps over few
 * entries).  Before the first seal. */
void bval_set_chunk_max(struct bval *v, size_t n);
/* Snapshots (any thread).  bval_peers returns how many it filled. */
void bval_stats(struct bval *v, struct bval_stats *st);
size_t bval_peers(struct bval *v, struct bval_peer_status *out, size_t max);

#endif
