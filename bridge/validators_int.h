/*
 * validators_int.h: what validators.c (the seal, the peers' requests and
 * answers) and validators_setup.c (making the consensus from the config,
 * the status snapshots) share: the consensus's state.
 */
#ifndef KEYBRIDGE_VALIDATORS_INT_H
#define KEYBRIDGE_VALIDATORS_INT_H

#include <pthread.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>

#include "bridge/validators.h"
#include "validator/core.h"

#define BVAL_RESENDS_MAX	4	/* 409 restarts of one peer per block */
#define BVAL_LAT_N		1024	/* finality latencies kept */
#define BVAL_PATH_MAX		(BVAL_URL_MAX + 32)
#define BVAL_CACHE_MAX		(2 * VCORE_ENTRIES_MAX)	/* entries kept */
#define BVAL_REQ_SLACK		4096	/* request bytes beyond the entries */
/* An idle step's request that failed or was refused is not sent again
 * for this long, doubled at each failure up to the most. */
#define BVAL_IDLE_RETRY_MIN_MS	250
#define BVAL_IDLE_RETRY_MAX_MS	8000
#define BVAL_SEAL_IDLE		0	/* out_seal of an idle step's request */

struct bval_peer {
	struct bval *v;
	size_t idx;			/* in the policy */
	struct bval_peer_status st;	/* under v->mu */
	char host[BVAL_URL_MAX];
	int port;
	char prefix[BVAL_URL_MAX];	/* path before /add-block, "" */
	struct evhttp_connection *conn;
	/* writer thread only */
	int known;			/* cosigned is its answer, not a guess */
	uint64_t cosigned;
	int inflight;			/* a request is out */
	uint64_t out_seal;		/* the seal it belongs to */
	uint64_t out_size;		/* the checkpoint size it asks for */
	int out_chunk;			/* a catch-up step, not the block */
	int out_idle;			/* sent by the idle step */
	struct timespec idle_next;	/* no idle request before */
	long idle_backoff_ms;		/* 0: the last one made progress */
	int idle_lied;			/* its idle answer did not verify:
					 * none more until the next seal */
	struct timespec out_at;
	int want;			/* the current seal still needs it */
	int resends;
};

struct bval {
	struct ledger_consensus base;	/* first: the interface */
	pthread_mutex_t mu;		/* status and stats */
	struct event_base *evb;		/* private, writer thread only */
	struct event *deadline;
	int timed_out;
	struct bval_peer *peers;
	size_t npeers;
	struct ledger_cosigner policy[LEDGER_COSIGN_POLICY_MAX];
	size_t quorum;
	long wait_ms;
	int (*node_sign)(void *, const struct ledger_seal *, char *, size_t);
	void *node_arg;
	struct ledger_reader *rd;
	/* the block being sealed (writer thread) */
	uint64_t seal_id;
	int gathering;			/* g holds seal seal_id's answers */
	const struct ledger_seal *sl;
	const char *sl_note;		/* sent with sl: note, or idle's stored */
	int idling;			/* sl is idle's last final block */
	struct vgather g;
	struct vgather gprev;		/* the seal before, for late answers */
	struct vgather gidle;		/* idle's last final block: its
					 * answers checked and counted too */
	int have_idle;
	uint64_t prev_id;		/* its seal_id */
	int have_prev;
	char note[VCORE_NOTE_MAX];
	uint64_t prev_size;		/* last block sealed */
	size_t chunk_max;		/* entries of one catch-up step */
	char chunk_note[VCORE_NOTE_MAX];	/* its stored checkpoint */
	/* entries [efrom, efrom + ecount), texts owned */
	char **etext;
	size_t *elen;
	uint64_t efrom;
	size_t ecount;
	/* under mu */
	struct bval_stats stats;
	double lat[BVAL_LAT_N];
	size_t nlat, lat_next;
};

#define BVAL(c) ((struct bval *)(c))

/* validators.c */
extern const struct ledger_consensus_ops bval_ops;
/* evtimer callback: the seal's wait is over (arg: the struct bval). */
void bval_deadline(evutil_socket_t fd, short what, void *arg);
void bval_free(struct ledger_consensus *c);

#endif
