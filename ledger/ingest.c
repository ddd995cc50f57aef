/*
 * ingest.c: the signature checks of submitted entries, done on a small
 * pool of threads before the writer applies them (docs/design.md
 * "Ingest pipeline").
 *
 * The writer must apply entries one after the other, in order: each
 * entry's rules read the registry the entries before it made.  But the
 * costly part of an entry, its Ed25519 signature check, is a pure
 * function of the key, the body and the signature, so it can be done
 * earlier, on another core, as long as the keys to try are known.  This
 * is verify_par.c's memo, for the live ledger:
 *
 *   - ledger_submit_group queues each entry here as well as to the
 *     writer (in order there: the pool never reorders anything);
 *   - a worker takes the oldest entry no one took, parses it and checks
 *     each signature line against the candidate keys of its signer in a
 *     directory of (account, key hash) -> SPKI text, with its own key
 *     cache (ledger_keycache_verify, the very function the rules call);
 *   - the writer, before its rules run on an entry, waits for a worker
 *     that took it (or takes it back when none did yet) and installs the
 *     verdicts as the memo of its key cache (ledger_ingest_enter).
 *
 * Entries the process made and signed itself (ledger_submit_own: the
 * bridge's cert-issued entries) are never queued: checking them ahead
 * would only add a parse and two thread hand-offs to every enrollment,
 * for a signature the key process made a moment before.  The writer
 * checks them as it checks everything the pool did not.
 *
 * The directory is filled by the writer itself: every key its rules ask
 * to verify with (so the keys of accounts as the registry has them, old
 * ones included).  An account's first entry is checked by the writer,
 * the next ones by the pool.
 *
 * Why the answer is the serial one: the rules still decide which keys
 * count, in order, and ask for every verification they asked before; the
 * memo only answers for exactly the same account name, key text, body
 * bytes and signature (all compared), and anything it does not know (a
 * key not in the directory, an entry no worker took) is computed on the
 * spot.  A bad signature gives the same refusal, with the same reason.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/ledger_state.h"

#define INGEST_THREADS_MAX LEDGER_INGEST_THREADS_MAX
#define INGEST_CANDS	4		/* keys tried per line */
#define INGEST_DIR_BUCKETS 4096		/* power of two */
#define INGEST_DIR_MAX	65536		/* keys noted; more: checked by
					 * the writer */

/* The verdicts of one entry's signature lines (owned by its sub). */
struct ledger_preverdict {
	size_t nlines;
	size_t body_len;
	struct {
		struct ledger_note_sig sig;
		char *b64[INGEST_CANDS];	/* owned copies */
		int verdict[INGEST_CANDS];	/* 0 valid, -1 invalid */
		size_t n;
	} line[LEDGER_MAX_SIGS];
};

struct ingest_key {
	char *name, *b64;
	uint8_t kh[4];
	struct ingest_key *next;
};

/* A sub's place in the pool (sub->pv_state, under ing->mu). */
enum {
	PV_QUEUED = 0,		/* no one took it yet */
	PV_CLAIMED,		/* a worker is checking it */
	PV_DONE,		/* sub->pv holds its verdicts (or none) */
	PV_WRITER,		/* the writer took it back: left alone */
};

struct ledger_ingest {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct ledger_sub **q;		/* ring of queued subs */
	size_t qcap, qhead, qn;
	int stop;
	pthread_t th[INGEST_THREADS_MAX];
	struct ledger_keycache *kc[INGEST_THREADS_MAX];
	unsigned nth;
	pthread_rwlock_t dir_lock;
	struct ingest_key *dir[INGEST_DIR_BUCKETS];
	size_t ndir;
	struct ledger_sub *cur;		/* the writer's entry */
	uint64_t ahead, self;		/* checked by the pool / writer */
	uint64_t own;			/* of self: ledger_submit_own's */
};

static size_t
ingest_hash(const char *name, const uint8_t kh[4])
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *q = name; *q != '\0'; q++)
		h = (h ^ (unsigned char)*q) * 1099511628211ULL;
	for (int i = 0; i < 4; i++)
		h = (h ^ kh[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32)) & (INGEST_DIR_BUCKETS - 1);
}

/* Writer: notes key b64 of account name (key hash kh), once. */
static void
ingest_dir_add(struct ledger_ingest *ing, const char *name, const char *b64,
    const uint8_t kh[4])
{
	size_t b = ingest_hash(name, kh);
	struct ingest_key *k;

	pthread_rwlock_rdlock(&ing->dir_lock);
	for (k = ing->dir[b]; k != NULL; k = k->next)
		if (strcmp(k->name, name) == 0 && strcmp(k->b64, b64) == 0)
			break;
	pthread_rwlock_unlock(&ing->dir_lock);
	if (k != NULL || ing->ndir >= INGEST_DIR_MAX ||
	    (k = calloc(1, sizeof(*k))) == NULL)
		return;
	if ((k->name = strdup(name)) == NULL ||
	    (k->b64 = strdup(b64)) == NULL) {
		free(k->name);
		free(k);
		return;
	}
	memcpy(k->kh, kh, 4);
	/* Only the writer adds: no other add can race this one. */
	pthread_rwlock_wrlock(&ing->dir_lock);
	k->next = ing->dir[b];
	ing->dir[b] = k;
	ing->ndir++;
	pthread_rwlock_unlock(&ing->dir_lock);
}

void
ledger_preverdict_free(struct ledger_preverdict *pv)
{
	if (pv == NULL)
		return;
	for (size_t i = 0; i < pv->nlines; i++)
		for (size_t k = 0; k < pv->line[i].n; k++)
			free(pv->line[i].b64[k]);
	free(pv);
}

/* Worker: the verdicts of sub's signature lines against the directory's
 * candidates, or NULL (it did not parse; the writer says why). */
static struct ledger_preverdict *
ingest_check(struct ledger_ingest *ing, struct ledger_keycache *kc,
    const struct ledger_sub *sub)
{
	struct ledger_preverdict *pv = NULL;
	struct ledger_entry e;
	struct ingest_key *k;
	char why[LEDGER_WHY_MAX];

	if (ledger_entry_parse(sub->text, sub->len, &e, why, sizeof(why)) !=
	    LEDGER_OK)
		return NULL;
	if ((pv = calloc(1, sizeof(*pv))) == NULL)
		goto out;
	pv->body_len = e.body_len;
	pv->nlines = e.nsigs;
	for (size_t n = 0; n < e.nsigs; n++) {
		const struct ledger_note_sig *sig = &e.sigs[n];
		const char *cand[INGEST_CANDS];
		size_t nc = 0;

		pv->line[n].sig = *sig;
		pthread_rwlock_rdlock(&ing->dir_lock);
		for (k = ing->dir[ingest_hash(sig->name, sig->key_hash)];
		    k != NULL && nc < INGEST_CANDS; k = k->next)
			if (strcmp(k->name, sig->name) == 0 &&
			    memcmp(k->kh, sig->key_hash, 4) == 0)
				cand[nc++] = k->b64;	/* never freed while
							 * the pool runs */
		pthread_rwlock_unlock(&ing->dir_lock);
		for (size_t c = 0; c < nc; c++) {
			size_t m = pv->line[n].n;

			if ((pv->line[n].b64[m] = strdup(cand[c])) == NULL)
				break;
			pv->line[n].verdict[m] = ledger_keycache_verify(kc,
			    sig->name, cand[c], e.text, e.body_len, sig);
			pv->line[n].n++;
		}
	}
out:
	ledger_entry_clear(&e);
	return pv;
}

static void *
ingest_worker(void *arg)
{
	struct ledger_ingest *ing = arg;
	struct ledger_keycache *kc;
	struct ledger_sub *sub;
	unsigned me;

	pthread_mutex_lock(&ing->mu);
	for (me = 0; me < ing->nth && !pthread_equal(ing->th[me],
	    pthread_self()); me++)
		;
	kc = ing->kc[me < ing->nth ? me : 0];
	for (;;) {
		while (!ing->stop && ing->qn == 0)
			pthread_cond_wait(&ing->work, &ing->mu);
		if (ing->stop)
			break;
		sub = ing->q[ing->qhead];
		ing->qhead = (ing->qhead + 1) % ing->qcap;
		ing->qn--;
		if (sub == NULL)
			continue;	/* freed before anyone took it */
		sub->pv_inring = 0;
		if (sub->pv_state != PV_QUEUED)
			continue;	/* the writer took it back */
		sub->pv_state = PV_CLAIMED;
		pthread_mutex_unlock(&ing->mu);
		sub->pv = ingest_check(ing, kc, sub);
		pthread_mutex_lock(&ing->mu);
		sub->pv_state = PV_DONE;
		ing->ahead++;
		pthread_cond_broadcast(&ing->done);
	}
	pthread_mutex_unlock(&ing->mu);
	return NULL;
}

/* ledger_keycache_memo_fn over the writer's current entry's verdicts;
 * notes every key the writer verifies with in the directory. */
static int
ingest_memo(void *arg, const char *name, const char *b64, const char *body,
    size_t len, const struct ledger_note_sig *sig)
{
	struct ledger_ingest *ing = arg;
	const struct ledger_sub *sub = ing->cur;
	const struct ledger_preverdict *pv;

	ingest_dir_add(ing, name, b64, sig->key_hash);
	if (sub == NULL || (pv = sub->pv) == NULL || body != sub->text ||
	    len != pv->body_len)
		return 1;
	for (size_t n = 0; n < pv->nlines; n++) {
		const struct ledger_note_sig *s = &pv->line[n].sig;

		if (s->siglen != sig->siglen || strcmp(s->name, name) != 0 ||
		    memcmp(s->key_hash, sig->key_hash, 4) != 0 ||
		    memcmp(s->sig, sig->sig, s->siglen) != 0)
			continue;
		for (size_t k = 0; k < pv->line[n].n; k++)
			if (strcmp(pv->line[n].b64[k], b64) == 0)
				return pv->line[n].verdict[k];
	}
	return 1;
}

unsigned
ledger_ingest_threads(unsigned threads)
{
	long n;

	if (threads == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n < 1 ? 1 : (unsigned)n;
	}
	return threads > INGEST_THREADS_MAX ? INGEST_THREADS_MAX : threads;
}

struct ledger_ingest *
ledger_ingest_start(struct ledger_keycache *writer_kc, unsigned threads)
{
	struct ledger_ingest *ing;

	if (threads == 0 || (ing = calloc(1, sizeof(*ing))) == NULL)
		return NULL;
	pthread_mutex_init(&ing->mu, NULL);
	pthread_cond_init(&ing->work, NULL);
	pthread_cond_init(&ing->done, NULL);
	pthread_rwlock_init(&ing->dir_lock, NULL);
	ing->qcap = LEDGER_INGEST_QUEUE_MAX;
	if ((ing->q = calloc(ing->qcap, sizeof(*ing->q))) == NULL)
		goto fail;
	pthread_mutex_lock(&ing->mu);
	for (ing->nth = 0; ing->nth < ledger_ingest_threads(threads);
	    ing->nth++)
		if ((ing->kc[ing->nth] = ledger_keycache_new()) == NULL ||
		    pthread_create(&ing->th[ing->nth], NULL, ingest_worker,
		    ing) != 0) {
			ledger_keycache_free(ing->kc[ing->nth]);
			ing->kc[ing->nth] = NULL;
			break;
		}
	pthread_mutex_unlock(&ing->mu);
	if (ing->nth == 0)
		goto fail;
	ledger_keycache_set_memo(writer_kc, ingest_memo, ing);
	return ing;
fail:
	ledger_ingest_stop(ing, writer_kc);
	return NULL;
}

void
ledger_ingest_stop(struct ledger_ingest *ing, struct ledger_keycache *wkc)
{
	struct ingest_key *k, *next;

	if (ing == NULL)
		return;
	pthread_mutex_lock(&ing->mu);
	ing->stop = 1;
	pthread_cond_broadcast(&ing->work);
	pthread_mutex_unlock(&ing->mu);
	for (unsigned i = 0; i < ing->nth; i++) {
		pthread_join(ing->th[i], NULL);
		ledger_keycache_free(ing->kc[i]);
	}
	if (wkc != NULL)
		ledger_keycache_set_memo(wkc, NULL, NULL);
	for (size_t b = 0; b < INGEST_DIR_BUCKETS; b++)
		for (k = ing->dir[b]; k != NULL; k = next) {
			next = k->next;
			free(k->name);
			free(k->b64);
			free(k);
		}
	free(ing->q);
	pthread_rwlock_destroy(&ing->dir_lock);
	pthread_cond_destroy(&ing->work);
	pthread_cond_destroy(&ing->done);
	pthread_mutex_destroy(&ing->mu);
	free(ing);
}

void
ledger_ingest_queue(struct ledger_ingest *ing, struct ledger_sub *first,
    size_t n)
{
	struct ledger_sub *sub = first;
	size_t queued = 0;

	pthread_mutex_lock(&ing->mu);
	for (size_t i = 0; i < n && sub != NULL; i++, sub = sub->next) {
		if (sub->own || ing->qn == ing->qcap) {
			/* the process's own entry, or the ring full: the
			 * writer checks it */
			sub->pv_state = PV_WRITER;
			continue;
		}
		sub->pv_state = PV_QUEUED;
		sub->pv_inring = 1;
		ing->q[(ing->qhead + ing->qn) % ing->qcap] = sub;
		ing->qn++;
		queued++;
	}
	/* Nothing queued (an enrollment's own entries): no worker woken
	 * for nothing, two context switches per enrollment on 2 cores. */
	if (queued > 0)
		pthread_cond_broadcast(&ing->work);
	pthread_mutex_unlock(&ing->mu);
}

void
ledger_ingest_enter(struct ledger_ingest *ing, struct ledger_sub *sub)
{
	if (ing == NULL)
		return;
	pthread_mutex_lock(&ing->mu);
	if (sub->pv_state == PV_QUEUED)
		sub->pv_state = PV_WRITER;
	while (sub->pv_state == PV_CLAIMED)
		pthread_cond_wait(&ing->done, &ing->mu);
	if (sub->pv_state == PV_WRITER) {
		ing->self++;
		ing->own += sub->own != 0;
	}
	pthread_mutex_unlock(&ing->mu);
	ing->cur = sub;
}

void
ledger_ingest_forget(struct ledger_ingest *ing, struct ledger_sub *sub)
{
	if (ing == NULL)
		return;
	pthread_mutex_lock(&ing->mu);
	while (sub->pv_state == PV_CLAIMED)
		pthread_cond_wait(&ing->done, &ing->mu);
	sub->pv_state = PV_WRITER;
	/* Near the head: the pool takes the oldest first, and subs are
	 * freed in about the order they came. */
	for (size_t i = 0; sub->pv_inring && i < ing->qn; i++)
		if (ing->q[(ing->qhead + i) % ing->qcap] == sub) {
			ing->q[(ing->qhead + i) % ing->qcap] = NULL;
			sub->pv_inring = 0;
		}
	pthread_mutex_unlock(&ing->mu);
	ledger_preverdict_free(sub->pv);
	sub->pv = NULL;
}

void
ledger_ingest_leave(struct ledger_ingest *ing)
{
	if (ing != NULL)
		ing->cur = NULL;
}

void
ledger_ingest_stats(struct ledger_ingest *ing, uint64_t *ahead,
    uint64_t *self, uint64_t *own)
{
	*ahead = *self = *own = 0;
	if (ing == NULL)
		return;
	pthread_mutex_lock(&ing->mu);
	*ahead = ing->ahead;
	*self = ing->self;
	*own = ing->own;
	pthread_mutex_unlock(&ing->mu);
}

unsigned
ledger_ingest_nthreads(const struct ledger_ingest *ing)
{
	return ing->nth;
}
