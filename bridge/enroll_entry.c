/*
 * enroll_entry.c: the bridge account's signature on an enrollment's
 * cert-issued entry, without blocking the event loop (docs/design.md
 * "The life of an enrollment").
 *
 * enroll_start builds the entry's body with the account's next seq,
 * reserves that seq, and queues the job here.  The SIGN_ENTRY request
 * goes out on the key process's loop channel (at most
 * KEYPROC_ENTRY_PIPELINE in flight, the rest queued), the loop goes back
 * to its connections, and each answer, a read event on that channel,
 * submits its entry to the ledger.  The key process answers a channel in
 * order, so the entries are submitted in the order of their seqs, which
 * the ledger requires (each above the account's last); an entry that
 * cannot be signed leaves its seq unused, which the ledger allows.
 *
 * The loop's channel also carries blocking calls (enroll_note: the
 * revocation of a TBS the CA did not sign, serverkeygen's two entries).
 * Before one, enroll_entries_drain reads every answer due and submits
 * those entries, so the blocking call gets its own answer and its seq
 * follows theirs.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/enroll_int.h"
#include "bridge/keyproc/keyproc.h"

/* j's entry signed (rc 0, out the signed note) or not: submitted to the
 * ledger, whose commit goes on as before (enroll_committed); or j is
 * answered 503 and freed. */
static void
enroll_entry_done(struct enroll_job *j, int rc, char *out, const char *why)
{
	struct enroll_ctx *ctx = j->ctx;
	const char *note;

	if (rc != 0) {
		log_warn("enroll: certificate %s: the bridge's entry could not "
		    "be signed: %s", j->serial, why);
		j->done(j->token, 503, "the entry could not be signed; retry",
		    rc == -2 ? KEYPROC_RETRY_AFTER : ENROLL_RETRY_AFTER, NULL,
		    NULL);
		enroll_job_free(j);
		return;
	}
	free(j->entry);
	j->entry = out;
	note = out;
	if (enroll_submit_group(ctx, &note, 1, j) != 0) {
		j->done(j->token, 503, "the ledger is busy; retry",
		    ENROLL_RETRY_AFTER, NULL, NULL);
		enroll_job_free(j);
	}
}

/* Sends the SIGN_ENTRY of queued jobs while fewer than
 * KEYPROC_ENTRY_PIPELINE are in flight; a job whose request cannot be
 * sent is answered at once. */
static void
enroll_entry_pump(struct enroll_ctx *ctx)
{
	char why[ENROLL_WHY_MAX];
	struct enroll_job *j;
	int rc;

	while (ctx->ensent < KEYPROC_ENTRY_PIPELINE &&
	    ctx->ewait_head != NULL) {
		j = ctx->ewait_head;
		if ((ctx->ewait_head = j->next) == NULL)
			ctx->ewait_tail = &ctx->ewait_head;
		j->next = NULL;
		why[0] = '\0';
		if ((rc = signer_entry_send(ctx->signer, j->entry, why,
		    sizeof(why))) != 0) {
			enroll_entry_done(j, rc, NULL, why);
			continue;
		}
		*ctx->esent_tail = j;
		ctx->esent_tail = &j->next;
		ctx->ensent++;
	}
	if (ctx->entry_ev != NULL && ctx->ensent > 0)
		(void)event_add(ctx->entry_ev, NULL);
}

/* Reads the answer to the oldest SIGN_ENTRY in flight (blocking: call it
 * when the channel is readable, or to drain) and finishes its job.  The
 * job leaves the queue first: finishing it may drain again. */
static void
enroll_entry_recv_one(struct enroll_ctx *ctx)
{
	struct enroll_job *j = ctx->esent_head;
	char why[ENROLL_WHY_MAX] = "", *out = NULL;
	int rc;

	if ((ctx->esent_head = j->next) == NULL)
		ctx->esent_tail = &ctx->esent_head;
	j->next = NULL;
	ctx->ensent--;
	rc = signer_entry_recv(ctx->signer, j->entry, &out, why, sizeof(why));
	enroll_entry_done(j, rc, out, why);
}

/* The loop's channel is readable: every answer already there, in order
 * (after the key process's death, each at once), then more requests
 * out. */
static void
enroll_entry_ready(evutil_socket_t fd, short what, void *arg)
{
	struct enroll_ctx *ctx = arg;
	struct pollfd pfd = { fd, POLLIN, 0 };

	(void)what;
	while (ctx->ensent > 0) {
		enroll_entry_recv_one(ctx);
		if (signer_available(ctx->signer) && poll(&pfd, 1, 0) <= 0)
			break;
	}
	enroll_entry_pump(ctx);
	if (ctx->ensent == 0 && ctx->entry_ev != NULL)
		(void)event_del(ctx->entry_ev);
}

/* See enroll_int.h. */
void
enroll_entry_queue(struct enroll_ctx *ctx, struct enroll_job *j)
{
	ctx->next_seq++;		/* the body's, reserved */
	if (ctx->entry_ev == NULL) {	/* no event loop: at once */
		char why[ENROLL_WHY_MAX] = "", *out;

		out = signer_sign_entry(ctx->signer, j->entry);
		j->entry = NULL;	/* freed by signer_sign_entry */
		snprintf(why, sizeof(why), "refused or unavailable");
		enroll_entry_done(j, out != NULL ? 0 : -2, out, why);
		return;
	}
	*ctx->ewait_tail = j;
	ctx->ewait_tail = &j->next;
	enroll_entry_pump(ctx);
}

/* See enroll_int.h. */
void
enroll_entries_drain(struct enroll_ctx *ctx)
{
	if (ctx->ewait_tail == NULL)	/* enroll_new failed before init */
		return;
	while (ctx->ensent > 0 || ctx->ewait_head != NULL) {
		enroll_entry_pump(ctx);
		if (ctx->ensent > 0)
			enroll_entry_recv_one(ctx);
	}
	if (ctx->entry_ev != NULL)
		(void)event_del(ctx->entry_ev);
}

/* See enroll_int.h. */
int
enroll_entry_init(struct enroll_ctx *ctx, struct event_base *base)
{
	ctx->esent_tail = &ctx->esent_head;
	ctx->ewait_tail = &ctx->ewait_head;
	if (base == NULL || signer_loop_fd(ctx->signer) < 0)
		return 0;
	ctx->entry_ev = event_new(base, signer_loop_fd(ctx->signer),
	    EV_READ | EV_PERSIST, enroll_entry_ready, ctx);
	return ctx->entry_ev != NULL ? 0 : -1;
}
