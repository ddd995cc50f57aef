/*
 * ledger_state.h: struct ledger, the handle that ledger.c (opening,
 * closing, reading) and writer.c (the writer and follower threads, group
 * commit) share.  ledger/ only.
 */
#ifndef KEYBRIDGE_LEDGER_STATE_H
#define KEYBRIDGE_LEDGER_STATE_H

#include <pthread.h>

#include "ledger/ledger_int.h"

#define LEDGER_WHY_MAX   256

/* One submitted entry, from the queue to its answer. */
struct ledger_sub {
	char *text;
	size_t len;
	ledger_done_cb cb;
	void *arg;
	enum ledger_status st;
	struct ledger_receipt r;
	char why[LEDGER_WHY_MAX];
	/* ledger_submit_group: on its first entry, the number of entries
	 * that commit together (0 or 1: a single entry); cb is set on the
	 * last one only. */
	size_t group_n;
	/* ledger_cert_store: not an entry but a signed certificate to keep
	 * beside its row (text: its base64 DER), in the writer's next
	 * transaction. */
	int signed_cert;
	char serial[41];
	char sha256[65];
	/* A resubmission of an entry answered 503 whose block became final
	 * since (commit_doubt_match): answered with its receipt, not
	 * applied again. */
	int resolved;
	/* ingest.c: the verdicts of its signature lines checked ahead by
	 * the pool (owned; NULL: none), its place in the pool (under the
	 * pool's lock). */
	struct ledger_preverdict *pv;
	int pv_state, pv_inring;
	/* ledger_submit_own: never queued to the pool. */
	int own;
	struct ledger_sub *next;
};

/* The entries of blocks whose seal failed (answered 503, on the ledger,
 * final once the block is sealed): a byte-identical resubmission gets
 * the receipt of the stored entry (docs/api.md "No quorum"). */
#define LEDGER_DOUBT_MAX 4096
struct ledger_doubt {
	uint8_t leaf_hash[LEDGER_HASH_LEN];
	uint64_t index;
};

struct ledger {
	char *origin;
	char *db;			/* the db string, for the follower */
	char *map_snap;			/* the map's snapshot file, or NULL */
	/* The map was read from its snapshot, whose leaves' values the
	 * root does not cover (their ups are trusted): every proof is
	 * verified before it is served (ledger_status_proof). */
	int map_from_snap;
	/* Writing it while serving (mapsnap.c, the writer's thread): the
	 * settings, the tree size of the file on disk and when it was
	 * written or read (CLOCK_MONOTONIC seconds); snap_size is also
	 * that of the last attempt (the next is due from it), snap_disk
	 * only of one that succeeded (ledger_close skips that size). */
	uint64_t snap_every;
	unsigned snap_seconds;
	uint64_t snap_size, snap_disk;
	uint64_t snap_seen;		/* committed, at the last tick */
	/* The snapshot read on a thread of its own while the open reads
	 * the log's leaf hashes (ledger_map_prefetch), or NULL. */
	struct ledger_snap_pre *snap_pre;
	/* The snapshot being written on a thread of its own, of a frozen
	 * view of the map (mapsnap.c), or NULL: set and cleared by the
	 * writer's thread under tree_lock (write). */
	struct ledger_snap_job *snap_job;
	void (*snap_hook)(void *arg);	/* tests only: ledger_int.h */
	void *snap_hook_arg;
	double snap_time;
	int store_flags;		/* LEDGER_STORE_ASYNC_OK or 0 */
	struct ledger_consensus *cons;	/* borrowed; NULL: read-only */
	size_t batch_max;
	struct ledger_store *w;		/* writer's connection */
	struct ledger_store *r;		/* caller thread's connection */
	int read_depth;			/* ledger_read_begin nesting */
	int read_open;			/* a read transaction is open on r */
	struct ledger_store *f;		/* follower's connection, or NULL */

	/* The tree and the last commit, read by the caller thread. */
	pthread_rwlock_t tree_lock;
	struct ledger_merkle *tree;
	/* The status map of the registry as of the last committed block
	 * (map.c; under tree_lock), and what the writer's rules change in
	 * the block being made (l->w->touch). */
	struct ledger_smt *map;
	struct ledger_map_touch touch;
	uint64_t committed;		/* entries in committed blocks */
	uint64_t height;		/* next block height */
	time_t last_time;		/* ledger time of the last block */
	/* The latest final (signed, with validators cosigned) checkpoint
	 * and the tree size it covers: a block that is not final yet
	 * (no quorum) leaves the previous one published.  "": none. */
	char checkpoint[LEDGER_NOTE_MAX];
	uint64_t final_size;
	/* Our last block, stored without its signed checkpoint (the
	 * signature failed, or a crash came between commit and signature),
	 * or signed but not yet saved (checkpoint set): no block is built
	 * on it until both are done (writer.c commit_sign). */
	struct ledger_block_row unsigned_blk;
	int has_unsigned;
	/* The last commit could not seal (writer thread): the queue is
	 * answered with seal_status at once, not one seal wait per batch. */
	int seal_failed;
	enum ledger_status seal_status;
	struct ledger_doubt *doubt;	/* ring of LEDGER_DOUBT_MAX */
	size_t ndoubt, doubt_next;

	pthread_mutex_t commit_mu;	/* one committer at a time */

	/* Group-commit queue. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread, follower;
	int running, stopping, following;
	struct ledger_sub *pending, **pending_tail;
	size_t npending;
	size_t nkept;			/* of them, ledger_cert_store's */
	struct ledger_sub *done, **done_tail;
	void (*wake)(void *);
	void *wake_arg;

	/* Statistics, under mu. */
	struct ledger_stats stats;

	/* The ingest pipeline (docs/design.md "Ingest pipeline"): the pool
	 * checking signatures ahead of the writer, and the thread sealing
	 * block N while the writer makes block N+1.  NULL: serial. */
	struct ledger_ingest *ing;
	struct ledger_pipe *pipe;
	int wait_entries;		/* under mu: the writer waits for
					 * entries to keep certificates with */
	int ingest_threads;		/* ledger_config's */
	int serial_seal;
};

/* ---- ingest.c: signature checks ahead of the writer --------------------- */

#define LEDGER_INGEST_QUEUE_MAX 65536	/* more: the writer checks them */
/* The pool's thread count for `threads` (0: the online CPUs). */
unsigned ledger_ingest_threads(unsigned threads);
/* The threads the running pool has. */
unsigned ledger_ingest_nthreads(const struct ledger_ingest *ing);
/* Starts the pool and makes it the memo of writer_kc (the writer store's
 * key cache); NULL on failure (then everything is checked serially). */
struct ledger_ingest *ledger_ingest_start(struct ledger_keycache *writer_kc,
    unsigned threads);
/* Joins the pool, after every sub queued to it was forgotten. */
void ledger_ingest_stop(struct ledger_ingest *ing,
    struct ledger_keycache *writer_kc);
/* Queues n subs from first on (linked by next) for checking. */
void ledger_ingest_queue(struct ledger_ingest *ing, struct ledger_sub *first,
    size_t n);
/* Writer: about to apply sub's rules: its verdicts become the memo
 * (waits for a worker checking it; takes it back when none took it). */
void ledger_ingest_enter(struct ledger_ingest *ing, struct ledger_sub *sub);
void ledger_ingest_leave(struct ledger_ingest *ing);
/* Before sub is freed: out of the pool, its verdicts freed. */
void ledger_ingest_forget(struct ledger_ingest *ing, struct ledger_sub *sub);
void ledger_preverdict_free(struct ledger_preverdict *pv);
/* Entries checked by the pool, by the writer itself, and of those the
 * process's own (ledger_submit_own, never queued to the pool). */
void ledger_ingest_stats(struct ledger_ingest *ing, uint64_t *ahead,
    uint64_t *self, uint64_t *own);

/* ---- pipe.c: sealing block N while the writer makes block N+1 ----------- */

/* Starts the sealer thread when the consensus and the store allow it
 * (solo, a store that saves a signature inside a transaction): 0, or -1
 * (l->pipe stays NULL: blocks are sealed on the writer's thread). */
int ledger_pipe_start(struct ledger *l);
/* Joins the sealer; nothing may be outstanding (ledger_pipe_sync). */
void ledger_pipe_stop(struct ledger *l);
/* Writer: what the writer's last commits wrote made durable, when the
 * pipe fsyncs the store's log itself (sync_defer); before answering in
 * place.  0, or -1. */
int ledger_pipe_durable(struct ledger *l);
/* Under l->mu: whether a block is held, and its seal done. */
enum { LEDGER_PIPE_EMPTY, LEDGER_PIPE_SEALING, LEDGER_PIPE_SEALED };
int ledger_pipe_state(struct ledger *l);
/* Under commit_mu: block b, committed, with subs[0..nall) (its n entries
 * first) is held for the sealer (copied; the subs now belong to the
 * pipe, which answers them).  ledger_pipe_go starts its seal. */
void ledger_pipe_hold(struct ledger *l, struct ledger_sub **subs, size_t nall,
    size_t n, const struct ledger_block_row *b);
void ledger_pipe_go(struct ledger *l);
/* Under commit_mu: waits for the outstanding block's seal and saves its
 * signature in s (in_tx: inside the open transaction).  0: nothing was
 * outstanding; 1: saved, the block copied to l->unsigned_blk (with
 * has_unsigned still 0: the caller sets it when that transaction is
 * rolled back); -1: the seal (or the save) failed, the block is stored
 * unsigned (has_unsigned), seal_failed is set, and a failed seal's
 * entries were answered like ledger_commit's. */
int ledger_pipe_sync(struct ledger *l, struct ledger_store *s, int in_tx);

/* commit.c, for pipe.c: the checkpoint of committed block b signed
 * through the consensus (0/-1); the answer of a block that could not be
 * sealed (its entries remembered, seal_failed set). */
int ledger_commit_seal(struct ledger *l, struct ledger_block_row *b);
/* Under commit_mu: *sl describes the last final block (size, root, the
 * tree's consistency proofs, its stored checkpoint note copied into
 * note), for the consensus's idle step; root and note must outlive sl.
 * 0, 1 when there is none yet, -1 on error. */
int ledger_commit_last_final(struct ledger *l, struct ledger_seal *sl,
    uint8_t root[LEDGER_HASH_LEN], char *note, size_t notelen);
void ledger_commit_seal_failed(struct ledger *l, struct ledger_sub **subs,
    size_t n);

/* commit.c, for writer.c: commits subs[0..n) as one block and seals it
 * (every sub answered in place; with defer and a pipe, 1: the block is
 * held for the pipe's sealer, which answers them); seals our last block if it is stored
 * without its signature (0 when none is left, else -1); loads the blocks
 * other processes committed (entries added, or -1).  Under commit_mu. */
int ledger_commit(struct ledger *l, struct ledger_sub **subs, size_t n,
    int defer);
int ledger_commit_sign_last(struct ledger *l, struct ledger_store *s);
int64_t ledger_catch_up(struct ledger *l, struct ledger_store *s);
/* Whether an unsealed block leaves the last final checkpoint published
 * (with validators: yes; solo: no). */
int ledger_commit_keeps_final(const struct ledger *l);
/* Under tree_lock (write): the map made again from s's registry.  0/-1. */
int ledger_map_reload(struct ledger *l, struct ledger_store *s);
/* mapsnap.c: the map at open, read from its snapshot when that matches
 * (docs/design.md "Status map snapshot") or else built (after a log line
 * saying why): 0, or -1 with err.  At close, after the writer stopped,
 * once the snapshot being written (if any) is done, the snapshot written
 * when the map is the final checkpoint's. */
int ledger_map_open(struct ledger *l, char *err, size_t errlen);
void ledger_map_snapshot_close(struct ledger *l);
/* At open, before the log's leaf hashes are read: starts reading the
 * map's snapshot file on a thread, for ledger_map_open (both are most of
 * a large ledger's open, and they do not depend on each other).  Without
 * a thread, ledger_map_open reads it itself.  ledger_map_prefetch_end
 * joins and drops what ledger_map_open did not take. */
void ledger_map_prefetch(struct ledger *l);
void ledger_map_prefetch_end(struct ledger *l);
/* The writer's thread, not under l->mu: writes the snapshot when one is
 * due (idle: the writer has nothing queued and no block at the sealer,
 * the time bound counts; else only the entries bound).  Never fails the
 * writer: a failure is logged and tried again at the next bound. */
void ledger_map_snapshot_tick(struct ledger *l, int idle);
/* Under tree_lock (write), the map being replaced (ledger_map_reload:
 * the writer's thread, or a follower's catch-up on its own): frees
 * l->map, or leaves it to the snapshot being written of it, which frees
 * it when done; l->map is NULL after. */
void ledger_map_snapshot_drop(struct ledger *l);
/* Under l->mu, idle: 1 with *until (CLOCK_REALTIME) when a snapshot
 * will be due by time, or now when the one written on its own thread is
 * done (the next tick reaps it), for the writer's timed wait; else 0. */
int ledger_map_snapshot_deadline(struct ledger *l, struct timespec *until);

#endif
