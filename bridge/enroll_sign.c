/*
 * enroll_sign.c: an enrollment after its cert-issued entry is committed
 * (docs/design.md "The life of an enrollment", "The CA signs only what
 * the ledger committed").  The receipt gives the block's signed
 * checkpoint; the inclusion proofs of the entry and of its key's
 * key-register entry come from the ledger's in-memory tree; the signer
 * checks it all (ca_cert_admit) and signs the TBS.  The answer leaves
 * then, and the certificate is kept beside its row in the writer's next
 * transaction.  A TBS the CA does not sign is revoked by the bridge, so
 * that the key can enroll again; a ledger refusal maps to EST's status.
 *
 * The event loop does not wait for the CA's signature: the SIGN_CERT
 * request goes out on the key process's certificate channel (at most
 * KEYPROC_CERT_PIPELINE in flight, the rest queued), the loop goes back
 * to its connections, and the answer, a read event on that channel,
 * finishes the enrollment.  The key process answers a channel's requests
 * in order, so answers are matched to jobs by order.  If it dies, every
 * job in flight or queued is answered 503 at once.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "bridge/enroll_int.h"
#include "bridge/keyproc/keyproc.h"


void
enroll_job_free(struct enroll_job *j)
{
	if (j == NULL)
		return;
	X509_free(j->cert);
	X509_free(j->unsigned_cert);
	EVP_PKEY_free(j->key);
	free(j->entry);
	free(j->reg);
	free(j->checkpoint);
	free(j);
}

/* Answers the job with its certificate, and frees it. */
static void
enroll_answer(struct enroll_job *j)
{
	STACK_OF(X509) *certs = sk_X509_new_null();

	if (certs == NULL || sk_X509_push(certs, j->cert) <= 0)
		j->done(j->token, 503, "out of memory", ENROLL_RETRY_AFTER,
		    NULL, NULL);
	else
		j->done(j->token, 200, NULL, 0, certs, j->key);
	sk_X509_free(certs);		/* the stack only; j owns the cert */
	enroll_job_free(j);
}

/* The EST status of a ledger refusal (ledger_check_issue before issuance,
 * or the commit of the bridge's entry): the key may not have this
 * certificate, 403; another enrollment got there first (a current
 * certificate, or the superseded one revoked meanwhile), 409; anything
 * else is the ledger failing, 503. */
int
enroll_status(enum ledger_status st)
{
	switch (st) {
	case LEDGER_ERR_UNKNOWN_KEY:
	case LEDGER_ERR_KEY_REVOKED:
	case LEDGER_ERR_WINDOW:
	case LEDGER_ERR_PERMISSION:	/* another profile */
	case LEDGER_ERR_NOT_SAME_DEVICE:
	case LEDGER_ERR_UNKNOWN_CERT:
	case LEDGER_ERR_PREAUTH:	/* unknown, used or expired */
		return 403;
	case LEDGER_ERR_CERT_CURRENT:
	case LEDGER_ERR_CERT_REVOKED:
		return 409;
	default:
		return 503;
	}
}

/* The HTTP answer for a ledger refusal of the bridge's own entries:
 * "code: why" with the ledger's code. */
static void
enroll_refused(struct enroll_job *j, enum ledger_status st, const char *why)
{
	struct enroll_ctx *ctx = j->ctx;
	char line[ENROLL_WHY_MAX];
	uint64_t next;
	int status = enroll_status(st);

	snprintf(line, sizeof(line), "%s: %s", ledger_status_code(st), why);
	if (status != 503) {
		j->done(j->token, status, line, 0, NULL, NULL);
	} else {
		/* Someone else used our account's seq: catch up, retry. */
		if (st == LEDGER_ERR_SEQUENCE && (next = ledger_next_seq(
		    ctx->ledger, ctx->cfg->bridge_account)) > ctx->next_seq)
			ctx->next_seq = next;
		log_warn("enroll: the ledger refused the bridge's entry: %s",
		    line);
		j->done(j->token, 503, "the issuance could not be recorded on "
		    "the ledger; retry", ENROLL_RETRY_AFTER, NULL, NULL);
	}
	enroll_job_free(j);
}

/* The bridge account's entry of type with seq ctx->next_seq + k, signed:
 * a malloc'd note, or NULL. */
char *
enroll_body(struct enroll_ctx *ctx, enum ledger_entry_type type,
    const struct ledger_field *f, size_t n, uint64_t k)
{
	return ledger_entry_body(type, ctx->cfg->bridge_account,
	    ctx->next_seq + k, time(NULL), ctx->cfg->origin, f, n);
}

char *
enroll_note(struct enroll_ctx *ctx, enum ledger_entry_type type,
    const struct ledger_field *f, size_t n, uint64_t k)
{
	char *note;

	/* The loop's channel: the answers due first, and their seqs. */
	enroll_entries_drain(ctx);
	note = enroll_body(ctx, type, f, n, k);
	return note != NULL ? signer_sign_entry(ctx->signer, note) : NULL;
}

/* ledger_cert_store's answer (arg: the serial, malloc'd): the
 * certificate is kept beside its row, or could not be (the ledger holds
 * its TBS all the same, and the client the certificate). */
static void
enroll_stored(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	char *serial = arg;

	if (st != LEDGER_OK)
		log_warn("enroll: certificate %s: not kept beside the ledger: "
		    "%s", serial, why);
	free(serial);
}

static void
enroll_given_up(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	char *serial = arg;

	if (st != LEDGER_OK)
		log_warn("enroll: the unsigned TBS %s stays current on the "
		    "ledger: %s: %s", serial, ledger_status_code(st), why);
	free(serial);
}

/*
 * The CA could not sign (or refused) a TBS the ledger committed: the
 * ledger shows a current certificate nobody holds, which would keep the
 * key from enrolling again (current_cert_exists) and a re-enrolled device
 * without any.  The bridge revokes it with a cert-revoked entry of its
 * own, as a CA revokes a precertificate it did not issue (RFC 9162 3.1),
 * so the device can enroll anew.
 */
static void
enroll_give_up(struct enroll_ctx *ctx, const char *serial)
{
	struct ledger_field f[2];
	char *note, *arg = strdup(serial);
	const char *t;
	size_t len;

	f[0] = (struct ledger_field){ "serial", serial };
	f[1] = (struct ledger_field){ "reason", "cessationOfOperation" };
	if (arg == NULL || (note = enroll_note(ctx, LEDGER_CERT_REVOKED, f, 2,
	    0)) == NULL) {
		free(arg);
		return;
	}
	t = note;
	len = strlen(note);
	if (ledger_submit_own(ctx->ledger, &t, &len, 1, enroll_given_up,
	    arg) == 0)
		ctx->next_seq++;
	else {
		log_warn("enroll: the unsigned TBS %s stays current on the "
		    "ledger: the ledger is busy", serial);
		free(arg);
	}
	free(note);
}

/* The job's certificate, signed: kept in the writer's next transaction,
 * without waiting for it (a second commit in every enrollment's latency
 * would halve what kept-alive clients get), and answered.  Until then
 * the API has no PEM for it and its cert_sha256 is empty.  Frees j. */
static void
enroll_keep(struct enroll_job *j)
{
	unsigned char *der = NULL;
	char *serial;
	int len;

	if ((serial = strdup(j->serial)) == NULL ||
	    (len = i2d_X509(j->cert, &der)) <= 0 ||
	    ledger_cert_store(j->ctx->ledger, serial, der, (size_t)len,
	    enroll_stored, serial) != 0) {
		log_warn("enroll: certificate %s: cannot be kept beside the "
		    "ledger (busy)", j->serial);
		free(serial);
	}
	OPENSSL_free(der);
	enroll_answer(j);
}

/* The signer's outcome for j (signer_sign_committed's rc and why):
 * keeps and answers the certificate; or answers 500 with the CA's
 * refusal, or 503 when the key process cannot answer, and the bridge
 * revokes the TBS the CA did not sign.  Frees j. */
static void
enroll_signed(struct enroll_job *j, int rc, const char *why)
{
	struct enroll_ctx *ctx = j->ctx;

	if (rc == 0) {
		enroll_keep(j);
		return;
	}
	if (rc == -1) {
		/* The ledger holds a TBS the CA refused: a bug, or someone
		 * else's hand in the network process.  Never a certificate. */
		log_warn("enroll: the CA refused the committed TBS %s: %s",
		    j->serial, why);
		enroll_give_up(ctx, j->serial);
		j->done(j->token, 500, why, 0, NULL, NULL);
	} else {
		ratelog_msg(&ctx->rl_sign, LOGL_WARN, "enroll: certificate "
		    "%s: the CA cannot sign now", j->serial);
		enroll_give_up(ctx, j->serial);
		j->done(j->token, 503, "the certificate was recorded but could "
		    "not be signed; retry", ENROLL_RETRY_AFTER, NULL, NULL);
	}
	enroll_job_free(j);
}

/*
 * The request that shows the signer j's committed entry: the entry, the
 * key-register entry, their inclusion proofs in the checkpoint's tree
 * (j->tree_size, into ep and rp) and the checkpoint.  0, or -1 (the
 * ledger cannot give them: 503).
 */
static int
enroll_cert_req(struct enroll_job *j, struct ca_cert_req *req,
    uint8_t (*ep)[LEDGER_HASH_LEN], uint8_t (*rp)[LEDGER_HASH_LEN])
{
	struct enroll_ctx *ctx = j->ctx;

	memset(req, 0, sizeof(*req));
	req->checkpoint = j->checkpoint;
	req->entry = j->entry;
	req->entry_index = j->index;
	req->reg = j->reg;
	req->reg_index = j->reg_index;
	req->cert = j->unsigned_cert;	/* the signer may sign it in place */
	req->entry_proof = (const uint8_t (*)[LEDGER_HASH_LEN])ep;
	req->reg_proof = (const uint8_t (*)[LEDGER_HASH_LEN])rp;
	if (ledger_inclusion_proof(ctx->ledger, j->index, j->tree_size, ep,
	    &req->entry_nproof) != 0 || ledger_inclusion_proof(ctx->ledger,
	    j->reg_index, j->tree_size, rp, &req->reg_nproof) != 0)
		return -1;
	return 0;
}

/* Sends the SIGN_CERT of queued jobs while fewer than
 * KEYPROC_CERT_PIPELINE are in flight; a job whose request cannot be
 * made or sent is answered at once. */
static void
enroll_pump(struct enroll_ctx *ctx)
{
	uint8_t ep[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t rp[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	struct ca_cert_req req;
	char why[ENROLL_WHY_MAX];
	struct enroll_job *j;
	int rc;

	while (ctx->nsent < KEYPROC_CERT_PIPELINE && ctx->wait_head != NULL) {
		j = ctx->wait_head;
		if ((ctx->wait_head = j->next) == NULL)
			ctx->wait_tail = &ctx->wait_head;
		j->next = NULL;
		why[0] = '\0';
		rc = enroll_cert_req(j, &req, ep, rp) != 0 ? -2 :
		    signer_cert_send(ctx->signer, &req, why, sizeof(why));
		if (rc != 0) {
			enroll_signed(j, rc, why);
			continue;
		}
		*ctx->sent_tail = j;
		ctx->sent_tail = &j->next;
		ctx->nsent++;
	}
	if (ctx->cert_ev != NULL && ctx->nsent > 0)
		(void)event_add(ctx->cert_ev, NULL);
}

/* Reads the answer to the oldest request in flight (blocking: call it
 * when the channel is readable, or to flush) and finishes its job. */
static void
enroll_recv_one(struct enroll_ctx *ctx)
{
	struct enroll_job *j = ctx->sent_head;
	char why[ENROLL_WHY_MAX] = "";
	int rc;

	if ((ctx->sent_head = j->next) == NULL)
		ctx->sent_tail = &ctx->sent_head;
	j->next = NULL;
	ctx->nsent--;
	rc = signer_cert_recv(ctx->signer, j->unsigned_cert, &j->cert, why,
	    sizeof(why));
	enroll_signed(j, rc, why);
}

/* The certificate channel is readable: every answer already there, in
 * order (after the key process's death, each at once: 503), then more
 * requests out. */
static void
enroll_cert_ready(evutil_socket_t fd, short what, void *arg)
{
	struct enroll_ctx *ctx = arg;
	struct pollfd pfd = { fd, POLLIN, 0 };

	(void)what;
	while (ctx->nsent > 0) {
		enroll_recv_one(ctx);
		if (signer_available(ctx->signer) && poll(&pfd, 1, 0) <= 0)
			break;
	}
	enroll_pump(ctx);
	if (ctx->nsent == 0 && ctx->cert_ev != NULL)
		(void)event_del(ctx->cert_ev);
}

/* See enroll_int.h. */
void
enroll_sign_flush(struct enroll_ctx *ctx)
{
	enroll_entries_drain(ctx);
	if (ctx->sent_tail == NULL)	/* enroll_new failed before init */
		return;
	while (ctx->nsent > 0 || ctx->wait_head != NULL) {
		enroll_pump(ctx);
		if (ctx->nsent > 0)
			enroll_recv_one(ctx);
	}
	if (ctx->cert_ev != NULL)
		(void)event_del(ctx->cert_ev);
}

/* See enroll_int.h. */
int
enroll_sign_init(struct enroll_ctx *ctx, struct event_base *base)
{
	ctx->sent_tail = &ctx->sent_head;
	ctx->wait_tail = &ctx->wait_head;
	if (base == NULL || signer_cert_fd(ctx->signer) < 0)
		return 0;
	ctx->cert_ev = event_new(base, signer_cert_fd(ctx->signer),
	    EV_READ | EV_PERSIST, enroll_cert_ready, ctx);
	return ctx->cert_ev != NULL ? 0 : -1;
}

/*
 * The cert-issued entry is committed (r): the signer is to be shown the
 * entry, the key-register entry, their inclusion proofs in r's
 * checkpoint and the checkpoint.  With an event loop the job joins the
 * signing queue (enroll_pump) and the answer finishes it when it arrives
 * (enroll_cert_ready); without one the call blocks.  Frees j, one way or
 * another.
 */
static void
enroll_sign(struct enroll_job *j, const struct ledger_receipt *r)
{
	struct enroll_ctx *ctx = j->ctx;
	uint8_t ep[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t rp[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	struct ca_cert_req req;
	char why[ENROLL_WHY_MAX] = "";
	int rc;

	j->index = r->index;
	j->tree_size = r->tree_size;
	/* The key-register entry: read by enroll_start (its index and text,
	 * in the read transaction it had open), or serverkeygen's own,
	 * committed just before. */
	if (j->key != NULL)
		j->reg_index = r->index - 1;
	if (j->reg == NULL) {
		enroll_signed(j, -2, why);
		return;
	}
	if ((j->checkpoint = strdup(r->checkpoint)) == NULL) {
		enroll_signed(j, -2, why);
		return;
	}
	if (ctx->cert_ev != NULL) {
		*ctx->wait_tail = j;
		ctx->wait_tail = &j->next;
		enroll_pump(ctx);
		return;
	}
	rc = enroll_cert_req(j, &req, ep, rp) != 0 ? -2 :
	    signer_sign_committed(ctx->signer, &req, &j->cert, why,
	    sizeof(why));
	enroll_signed(j, rc, why);
}

/*
 * Without a quorum the writer answers the block it could not seal and the
 * whole queue no_quorum: a TBS in that block stays stored and becomes
 * final once the validators are back (docs/api.md "No quorum"), the key's
 * current certificate although its client got 503.  Remembered here, the
 * key's next enrollment supersedes it (enroll.c), which revokes it
 * (reason superseded) in the same entry; a TBS that was only queued was
 * never stored, and the next enrollment's ask simply passes.
 */
static void
enroll_doubt_add(struct enroll_ctx *ctx, const char *key_id,
    const char *serial)
{
	struct enroll_doubt *d = &ctx->doubt[ctx->doubt_next++ %
	    ENROLL_DOUBT_MAX];

	snprintf(d->key_id, sizeof(d->key_id), "%s", key_id);
	snprintf(d->serial, sizeof(d->serial), "%s", serial);
}

/* See enroll_int.h. */
const char *
enroll_doubt_find(struct enroll_ctx *ctx, const char *key_id)
{
	/* the newest first: one key may have been tried more than once */
	for (size_t i = 0; i < ENROLL_DOUBT_MAX; i++) {
		struct enroll_doubt *d = &ctx->doubt[(ctx->doubt_next - 1 -
		    i) % ENROLL_DOUBT_MAX];

		if (d->key_id[0] != '\0' && strcmp(d->key_id, key_id) == 0)
			return d->serial;
	}
	return NULL;
}

/* See enroll_int.h. */
void
enroll_doubt_drop(struct enroll_ctx *ctx, const char *serial)
{
	for (size_t i = 0; i < ENROLL_DOUBT_MAX; i++)
		if (strcmp(ctx->doubt[i].serial, serial) == 0)
			memset(&ctx->doubt[i], 0, sizeof(ctx->doubt[i]));
}

static void
enroll_committed(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct enroll_job *j = arg;

	if (st == LEDGER_ERR_NO_QUORUM && j->key_id[0] != '\0')
		enroll_doubt_add(j->ctx, j->key_id, j->serial);
	if (st == LEDGER_OK && j->old_serial[0] != '\0')
		enroll_doubt_drop(j->ctx, j->old_serial);	/* superseded */
	if (st != LEDGER_OK)
		enroll_refused(j, st, why);
	else
		enroll_sign(j, r);
}

/* See enroll_int.h. */
int
enroll_submit(struct enroll_ctx *ctx, const char *const *notes, size_t n,
    struct enroll_job *j)
{
	if (enroll_submit_group(ctx, notes, n, j) != 0)
		return -1;
	ctx->next_seq += n;
	return 0;
}

/* Submits notes[0..n) to commit together or not at all;
 * enroll_committed answers j.  0 or -1. */
int
enroll_submit_group(struct enroll_ctx *ctx, const char *const *notes,
    size_t n, struct enroll_job *j)
{
	const char *t[LEDGER_GROUP_MAX];
	size_t len[LEDGER_GROUP_MAX];

	for (size_t i = 0; i < n && i < LEDGER_GROUP_MAX; i++) {
		t[i] = notes[i];
		len[i] = strlen(notes[i]);
	}
	/* Signed by the key process for this enrollment just now: the
	 * writer checks it, the ingest pool need not (ledger.h). */
	if (ledger_submit_own(ctx->ledger, t, len, n, enroll_committed,
	    j) != 0)
		return -1;
	return 0;
}
