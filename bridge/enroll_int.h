/*
 * enroll_int.h: between bridge/enroll.c (authenticating an enrollment,
 * asking the ledger, recording the TBS) and bridge/enroll_sign.c (after
 * the commit: the proofs, the CA's signature, the answer).  Nothing else
 * includes it.
 */
#ifndef KEYBRIDGE_BRIDGE_ENROLL_INT_H
#define KEYBRIDGE_BRIDGE_ENROLL_INT_H

#include "bridge/bridge.h"
#include "common/ratelog.h"

#define ENROLL_RETRY_AFTER 1	/* seconds, on 503 */
#define ENROLL_LOG_INTERVAL 10	/* s between two rate-limited warnings */
#define ENROLL_WHY_MAX     320	/* a refusal line: code, then why */
#define ENROLL_LEDGER_WHY  256	/* the why, as the ledger says it */
#define ENROLL_DOUBT_MAX   256	/* no_quorum TBSs remembered (see below) */

/* A registration may hold LEDGER_MAX_SANS DNS names and as many IP
 * addresses, and issuance takes them all (est_names holds as many). */
_Static_assert(EST_MAX_NAMES == LEDGER_MAX_SANS,
    "issuance must take every name a registration may hold");

struct enroll_ctx {
	struct ledger *ledger;		/* borrowed */
	struct signer *signer;		/* borrowed */
	const struct bridge_config *cfg;
	STACK_OF(X509) *cacerts;	/* issuing, root */
	uint64_t next_seq;		/* the bridge account's next seq */
	char ocsp_url[CONFIG_STR + 16];
	char ca_issuers_url[CONFIG_STR + 32];
	char crl_url[CONFIG_STR + 96];
	/* HTTP Basic per label: none, device, server; user "" = none. */
	char auth_user[3][CONFIG_STR], auth_pass[3][CONFIG_STR];
	struct est_ops ops;
	/* Warnings of a 503 that clients retry every ENROLL_RETRY_AFTER
	 * (the ledger cannot answer, the CA cannot sign, a server-keygen
	 * pre-authorisation fails): one line per ENROLL_LOG_INTERVAL and
	 * kind, with the count of the others (common/ratelog.h). */
	struct ratelog rl_ledger, rl_sign, rl_keygen;
	/* Enrollments answered no_quorum (enroll_sign.c enroll_doubt_add):
	 * their TBS may be in the block the validators had not cosigned,
	 * and so become the key's current certificate although no one got
	 * it.  A later enrollment of the same key supersedes it (a ring,
	 * the oldest forgotten first; a restart's heal covers the rest). */
	struct enroll_doubt {
		char key_id[65];
		char serial[41];
	} doubt[ENROLL_DOUBT_MAX];
	size_t doubt_next;
	/* Certificates being signed (enroll_sign.c): SIGN_CERT requests in
	 * flight on the key process's certificate channel (nsent of them,
	 * oldest first) and jobs waiting for room among them.  cert_ev: the
	 * channel's read event (NULL: no event loop, blocking calls). */
	struct event *cert_ev;
	struct enroll_job *sent_head, **sent_tail;
	struct enroll_job *wait_head, **wait_tail;
	int nsent;
	/* Entries being signed (enroll_entry.c), the same way on the loop's
	 * channel: ensent SIGN_ENTRY requests in flight, then the queued. */
	struct event *entry_ev;
	struct enroll_job *esent_head, **esent_tail;
	struct enroll_job *ewait_head, **ewait_tail;
	int ensent;
	/* The threads that check CSRs off the loop (issue 18; ops.workers;
	 * NULL without an event loop). */
	struct workq *workers;
};

/* Look up the TBS an enrollment of key_id answered no_quorum left
 * (enroll_doubt_add), or NULL; enroll_doubt_drop forgets it once an
 * entry superseding it is committed. */
const char *enroll_doubt_find(struct enroll_ctx *ctx, const char *key_id);
void enroll_doubt_drop(struct enroll_ctx *ctx, const char *serial);

/* One issuance from submission to the answer. */
struct enroll_job {
	struct enroll_ctx *ctx;
	X509 *cert;			/* signed, once committed */
	X509 *unsigned_cert;		/* as built: its TBS is recorded */
	est_done_fn done;
	void *token;
	char old_serial[41];		/* re-enrollment: to supersede */
	char serial[41];
	char key_id[65];		/* the enrolled key (not serverkeygen) */
	EVP_PKEY *key;			/* serverkeygen: the generated key */
	char *entry;			/* the cert-issued note submitted */
	/* The key's key-register entry: serverkeygen submits it in the
	 * same group, just before (reg set); otherwise it is read at
	 * reg_index once the entry is committed. */
	char *reg;
	uint64_t reg_index;
	/* Once committed: the entry's index, the block's checkpoint and its
	 * tree size; the next job in the signing queue (enroll_sign.c). */
	uint64_t index, tree_size;
	char *checkpoint;
	struct enroll_job *next;
};

/* Frees j and what it holds. */
void enroll_job_free(struct enroll_job *j);
/* The EST status of a ledger refusal: 403, 409 or 503. */
int enroll_status(enum ledger_status st);
/* The bridge account's entry of type with seq ctx->next_seq + k, signed
 * by a blocking call (after enroll_entries_drain): a malloc'd note, or
 * NULL. */
char *enroll_note(struct enroll_ctx *ctx, enum ledger_entry_type type,
    const struct ledger_field *f, size_t n, uint64_t k);
/* The same entry's body, unsigned (malloc'd), or NULL. */
char *enroll_body(struct enroll_ctx *ctx, enum ledger_entry_type type,
    const struct ledger_field *f, size_t n, uint64_t k);
/* Submits notes[0..n) (from enroll_note, seqs next_seq on) to commit
 * together or not at all; once committed the CA signs j's TBS and j is
 * answered (enroll_sign.c).  0 or -1. */
int enroll_submit(struct enroll_ctx *ctx, const char *const *notes,
    size_t n, struct enroll_job *j);
/* enroll_submit for notes whose seqs were reserved already (next_seq
 * unchanged).  0 or -1. */
int enroll_submit_group(struct enroll_ctx *ctx, const char *const *notes,
    size_t n, struct enroll_job *j);
/* Queues j, whose j->entry is the unsigned body of seq ctx->next_seq
 * (which it reserves), to be signed without blocking the loop and then
 * submitted (enroll_entry.c); j is answered on any failure. */
void enroll_entry_queue(struct enroll_ctx *ctx, struct enroll_job *j);
/* Reads every SIGN_ENTRY answer due on the loop's channel and submits
 * those entries (blocking): before a blocking call on that channel, and
 * at shutdown. */
void enroll_entries_drain(struct enroll_ctx *ctx);
/* The entry queue of ctx on base's loop (NULL: blocking calls).  0 or
 * -1. */
int enroll_entry_init(struct enroll_ctx *ctx, struct event_base *base);
/* The signing queue of ctx (enroll_sign.c) on base's loop (NULL:
 * blocking calls).  0 or -1. */
int enroll_sign_init(struct enroll_ctx *ctx, struct event_base *base);
/* Waits for every certificate being signed and answers its enrollment
 * (at shutdown, while the connections still exist). */
void enroll_sign_flush(struct enroll_ctx *ctx);

#endif
