/*
 * heal.c: at serve's start, revokes the TBS entries a previous run
 * committed and never had signed (docs/design.md "The heal at start").
 *
 * An enrollment records its cert-issued entry (the TBS) before the CA
 * signs it.  When the key process dies between the two (or serve itself
 * does), the client got 503 and no certificate, but the ledger shows a
 * current certificate for its key: every new enrollment of that key is
 * refused with current_cert_exists.  The enrollment's own give-up
 * (enroll_sign.c) needs the key process that just died.  So the next
 * start does it: every current TBS of the bridge account whose signed
 * certificate was never kept beside its row (ledger_certs_unsigned) gets
 * a cert-revoked entry (cessationOfOperation) signed by the bridge
 * account through the key process, before the loop takes any request.
 *
 * Which entries: only those below the tree size of the last checkpoint
 * this data directory's key process signed, read after the writer
 * started (it re-signs a block a crash left without its signature).
 * With SQLite every such entry is from a previous run, all of whose
 * enrollments are gone.  With several bridges on one PostgreSQL
 * database, another bridge's enrollment may be between its commit and
 * its signature right now; its entry is below our bound only if it was
 * committed before our key process signed its last checkpoint, that is
 * before this bridge stopped (or in the one block our writer re-signed
 * at start): a signature pending across a whole restart.  The heal would
 * revoke it, and that client's certificate would then show revoked.
 * docs/operations.md "Several bridges" says so.
 *
 * A certificate that was delivered but whose copy was not kept (the
 * keep failed and was logged, or serve was killed in the instant between
 * the answer and the writer's next transaction) looks the same, and is
 * revoked too: the safe direction, the device enrolls again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridge/bridge.h"
#include "bridge/keyproc/keyproc.h"

/* Revocations waited for at once, and how long the start waits for the
 * writer to commit them. */
#define HEAL_MAX	4096
#define HEAL_WAIT_MS	30000
#define HEAL_POLL_US	2000

struct heal {
	char (*serials)[41];
	size_t n;
	size_t pending;			/* submitted, not yet answered */
	size_t revoked;
};

/* ledger_certs_unsigned: collects the serials, HEAL_MAX at most. */
static int
heal_collect(const struct ledger_cert_info *c, void *arg)
{
	struct heal *h = arg;

	if (h->n >= HEAL_MAX)
		return 1;
	snprintf(h->serials[h->n++], sizeof(h->serials[0]), "%s", c->serial);
	return 0;
}

/* ledger_submit's answer for one revocation (arg: its serial, borrowed
 * from the heal's array, which outlives the wait). */
struct heal_one {
	struct heal *h;
	const char *serial;
};

static void
heal_done(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct heal_one *o = arg;

	if (st == LEDGER_OK) {
		log_info("heal: revoked certificate %s (by entry %llu): its TBS "
		    "was committed but never signed", o->serial,
		    (unsigned long long)r->index);
		o->h->revoked++;
	} else
		log_warn("heal: the unsigned TBS %s stays current: %s: %s",
		    o->serial, ledger_status_code(st), why);
	o->h->pending--;
}

/* Submits the cert-revoked entry of serial with seq; 0 or -1. */
static int
heal_submit(struct ledger *l, struct signer *sg,
    const struct bridge_config *cfg, uint64_t seq, struct heal_one *o)
{
	struct ledger_field f[2];
	const char *t;
	char *note;
	size_t len;
	int rc;

	f[0] = (struct ledger_field){ "serial", o->serial };
	f[1] = (struct ledger_field){ "reason", "cessationOfOperation" };
	if ((note = ledger_entry_body(LEDGER_CERT_REVOKED, cfg->bridge_account,
	    seq, time(NULL), cfg->origin, f, 2)) == NULL ||
	    (note = signer_sign_entry(sg, note)) == NULL) {
		log_warn("heal: the unsigned TBS %s stays current: the key "
		    "process did not sign its revocation", o->serial);
		return -1;
	}
	t = note;
	len = strlen(note);
	rc = ledger_submit_own(l, &t, &len, 1, heal_done, o);
	if (rc != 0)
		log_warn("heal: the unsigned TBS %s stays current: the ledger "
		    "is busy", o->serial);
	free(note);
	return rc;
}

/* See bridge.h. */
int
heal_unsigned(struct ledger *l, struct signer *sg,
    const struct bridge_config *cfg)
{
	struct heal *h = NULL;
	struct heal_one *one = NULL;
	char err[512];
	uint64_t below, seq;
	long waited = 0;
	int rc = -1;

	if (keyproc_signed_size(cfg, &below, err, sizeof(err)) != 0) {
		log_warn("heal: %s: not looking for unsigned TBS entries", err);
		return 0;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL || (h->serials =
	    calloc(HEAL_MAX, sizeof(*h->serials))) == NULL ||
	    (one = calloc(HEAL_MAX, sizeof(*one))) == NULL) {
		log_err("heal: out of memory");
		goto out;
	}
	if (ledger_certs_unsigned(l, cfg->bridge_account, time(NULL), below,
	    heal_collect, h) != 0) {
		log_err("heal: cannot list the unsigned TBS entries");
		goto out;
	}
	rc = 0;
	if (h->n == 0)
		goto out;
	log_warn("heal: %zu certificate(s) recorded below tree size %llu "
	    "were never signed (a crash between commit and signature): "
	    "revoking them so their keys can enroll again", h->n,
	    (unsigned long long)below);
	seq = ledger_next_seq(l, cfg->bridge_account);
	for (size_t i = 0; i < h->n && seq != 0; i++) {
		one[i].h = h;
		one[i].serial = h->serials[i];
		if (heal_submit(l, sg, cfg, seq, &one[i]) == 0) {
			h->pending++;
			seq++;
		}
	}
	/* The answers come through ledger_drain; the loop does not run yet,
	 * so no request is taken before they are in. */
	while (h->pending > 0 && waited < HEAL_WAIT_MS * 1000L) {
		ledger_drain(l);
		if (h->pending == 0)
			break;
		usleep(HEAL_POLL_US);
		waited += HEAL_POLL_US;
	}
	if (h->pending > 0) {
		/* Their callbacks still point into h and one[]: both are
		 * left allocated for the writer's stop, which runs them. */
		log_err("heal: %zu revocation(s) not committed after %d s",
		    h->pending, HEAL_WAIT_MS / 1000);
		return -1;
	}
	log_info("heal: %zu of %zu unsigned TBS entries revoked", h->revoked,
	    h->n);
out:
	free(one);
	if (h != NULL)
		free(h->serials);
	free(h);
	return rc;
}
