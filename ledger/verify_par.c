/*
 * verify_par.c: `ledger verify` on every core.  The replay (verify.c)
 * must apply entries one after the other, in order: each entry's rules
 * read the registry the entries before it made.  But the costly part of
 * an entry, its Ed25519 (or P-256) signature check, is a pure function of
 * the key, the body and the signature, so it can be done earlier, on
 * another thread, as long as the keys to try are known.
 *
 * Three kinds of thread:
 *   - a reader, on its own read-only connection, reads the log from entry
 *     0 in order into a ring of jobs, parses each entry and notes every
 *     pubkey an account-create or -update declares (a directory by
 *     account name: a superset of any account's keys at any point);
 *     each signature line gets the candidate keys of its signer name with
 *     its key hash;
 *   - workers check each job's lines against its candidates with
 *     ledger_keycache_verify, the very function the replay calls;
 *   - the replay, before applying an entry, waits for its job (or checks
 *     it itself when no worker has taken it yet) and installs the
 *     verdicts as the memo of its key cache.
 *
 * Why the result is the serial one: the replay still runs every rule in
 * order and asks for every verification it asked before; the memo only
 * answers for exactly the same account name, key text, body bytes and
 * signature (all compared), and anything it does not know (an entry the
 * reader read differently, a key the directory lacks) is computed on the
 * spot.  So the first bad entry, its index and reason, are the serial
 * path's whichever thread found the bad signature.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/verify_par.h"

#define VP_RING		512	/* entries read ahead of the replay */
#define VP_REFILL	128	/* a full ring waits for this much room:
				 * not one wake-up of the reader per entry */
#define VP_CHUNK	1024	/* entries per read of the reader */
#define VP_CANDS	4	/* keys tried per line (same name, key hash) */
#define VP_DIR_BUCKETS	4096	/* power of two */
#define VP_DIR_MAX	(1u << 20)	/* keys noted; more: checked serially */

struct vp_line {
	const char *b64[VP_CANDS];	/* borrowed from the directory */
	int verdict[VP_CANDS];		/* ledger_keycache_verify's */
	size_t n;
};

struct vp_job {
	uint64_t index;
	char *text;			/* owned copy; e borrows it */
	struct ledger_entry e;
	int parsed;			/* e is valid */
	int done;			/* verdicts ready (under mu) */
	struct vp_line line[LEDGER_MAX_SIGS];
};

struct vp_key {
	char *name, *b64;
	uint8_t kh[4];
	struct vp_key *next;
};

struct verify_par;

struct vp_worker {
	struct verify_par *p;
	struct ledger_keycache *kc;
	pthread_t thread;
};

struct verify_par {
	pthread_mutex_t mu;
	pthread_cond_t space, work, ready;
	struct vp_job *ring;
	uint64_t produced, claimed, consumed;	/* job counters, under mu */
	int eof, stop;
	struct ledger_store *src;		/* the reader's connection */
	struct ledger_keycache *rkc, *hkc;	/* reader's; replay's help */
	struct vp_key *dir[VP_DIR_BUCKETS];	/* the reader's only */
	size_t ndir;
	pthread_t reader;
	struct vp_worker wk[VERIFY_PAR_THREADS_MAX];
	unsigned nworkers;
	int reader_started;
	struct vp_job *cur;			/* the replay's entry */
	int taken;
	uint64_t ahead, self;
};

unsigned
verify_par_threads(unsigned threads)
{
	long n;

	if (threads == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n < 1 ? 1 : (unsigned)n;
	}
	return threads > VERIFY_PAR_THREADS_MAX ? VERIFY_PAR_THREADS_MAX :
	    threads;
}

static size_t
vp_hash(const char *name)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *q = name; *q != '\0'; q++)
		h = (h ^ (unsigned char)*q) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32)) & (VP_DIR_BUCKETS - 1);
}

/* Notes key b64 of account name (once).  Unusable keys are left out: the
 * replay refuses them itself. */
static void
vp_dir_add(struct verify_par *p, const char *name, const char *b64)
{
	size_t b = vp_hash(name);
	struct vp_key *k;
	uint8_t kh[4];

	for (k = p->dir[b]; k != NULL; k = k->next)
		if (strcmp(k->name, name) == 0 && strcmp(k->b64, b64) == 0)
			return;
	if (p->ndir >= VP_DIR_MAX ||
	    ledger_keycache_get(p->rkc, name, b64, kh) == NULL ||
	    (k = calloc(1, sizeof(*k))) == NULL)
		return;
	if ((k->name = strdup(name)) == NULL || (k->b64 = strdup(b64)) ==
	    NULL) {
		free(k->name);
		free(k);
		return;
	}
	memcpy(k->kh, kh, 4);
	k->next = p->dir[b];
	p->dir[b] = k;
	p->ndir++;
}

/* Fills job j's candidates, after noting the keys its entry declares
 * (they sign entries after it, never itself but the genesis: its
 * account signs its own creation). */
static void
vp_job_prepare(struct verify_par *p, struct vp_job *j)
{
	const char *keys[LEDGER_MAX_ACCT_KEYS], *name;
	size_t nk;
	struct vp_key *k;

	if (j->e.type == LEDGER_ACCOUNT_CREATE ||
	    j->e.type == LEDGER_ACCOUNT_UPDATE) {
		name = ledger_entry_get(&j->e, "name");
		nk = ledger_entry_all(&j->e, "pubkey", keys,
		    LEDGER_MAX_ACCT_KEYS);
		for (size_t i = 0; name != NULL && i < nk; i++)
			vp_dir_add(p, name, keys[i]);
	}
	for (size_t n = 0; n < j->e.nsigs; n++) {
		const struct ledger_note_sig *sig = &j->e.sigs[n];
		struct vp_line *ln = &j->line[n];

		ln->n = 0;
		for (k = p->dir[vp_hash(sig->name)]; k != NULL &&
		    ln->n < VP_CANDS; k = k->next)
			if (strcmp(k->name, sig->name) == 0 &&
			    memcmp(k->kh, sig->key_hash, 4) == 0) {
				/* not known until a worker checks it */
				ln->verdict[ln->n] = 1;
				ln->b64[ln->n++] = k->b64;
			}
	}
}

static void
vp_job_clear(struct vp_job *j)
{
	if (j->parsed)
		ledger_entry_clear(&j->e);
	free(j->text);
	j->text = NULL;
	j->parsed = 0;
}

/* The reader's callback: one entry into the ring, waiting for room. */
static int
vp_read_cb(const struct ledger_entry_info *info, void *arg)
{
	struct verify_par *p = arg;
	struct vp_job *j;
	char why[256];
	int stop;

	pthread_mutex_lock(&p->mu);
	if (p->produced - p->consumed >= VP_RING)
		while (!p->stop &&
		    p->produced - p->consumed > VP_RING - VP_REFILL)
			pthread_cond_wait(&p->space, &p->mu);
	stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	if (stop)
		return 1;
	j = &p->ring[p->produced % VP_RING];
	memset(j->line, 0, sizeof(j->line));
	j->index = info->index;
	j->done = 0;
	if ((j->text = malloc(info->len + 1)) != NULL) {
		memcpy(j->text, info->text, info->len);
		j->text[info->len] = '\0';
		j->parsed = ledger_entry_parse(j->text, info->len, &j->e, why,
		    sizeof(why)) == LEDGER_OK;
	}
	if (j->parsed)
		vp_job_prepare(p, j);
	pthread_mutex_lock(&p->mu);
	p->produced++;
	pthread_cond_signal(&p->work);
	pthread_cond_broadcast(&p->ready);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static void *
vp_reader(void *arg)
{
	struct verify_par *p = arg;
	uint64_t from = 0, before;

	for (;;) {
		before = p->produced;	/* only this thread changes it */
		if (p->src->ops->entries(p->src, from, VP_CHUNK, vp_read_cb,
		    p) != 0 || p->produced == before)
			break;
		from += p->produced - before;
	}
	pthread_mutex_lock(&p->mu);
	p->eof = 1;
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->ready);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Every verdict of job j, with key cache kc. */
static void
vp_check(struct vp_job *j, struct ledger_keycache *kc)
{
	for (size_t n = 0; j->parsed && n < j->e.nsigs; n++)
		for (size_t c = 0; c < j->line[n].n; c++)
			j->line[n].verdict[c] = ledger_keycache_verify(kc,
			    j->e.sigs[n].name, j->line[n].b64[c], j->e.text,
			    j->e.body_len, &j->e.sigs[n]);
}

static void *
vp_worker(void *arg)
{
	struct vp_worker *w = arg;
	struct verify_par *p = w->p;
	struct vp_job *j;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && !p->eof && p->claimed == p->produced)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop || p->claimed == p->produced)
			break;
		j = &p->ring[p->claimed++ % VP_RING];
		pthread_mutex_unlock(&p->mu);
		vp_check(j, w->kc);
		pthread_mutex_lock(&p->mu);
		j->done = 1;
		pthread_cond_broadcast(&p->ready);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct verify_par *
verify_par_start(const char *db, unsigned threads)
{
	struct verify_par *p = NULL;
	char err[256];

	threads = verify_par_threads(threads);
	if (threads < 2 || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->space, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->ready, NULL);
	if ((p->ring = calloc(VP_RING, sizeof(*p->ring))) == NULL ||
	    (p->rkc = ledger_keycache_new()) == NULL ||
	    (p->hkc = ledger_keycache_new()) == NULL ||
	    (p->src = ledger_store_open(db, LEDGER_STORE_READONLY, err,
	    sizeof(err))) == NULL)
		goto fail;
	for (; p->nworkers < threads; p->nworkers++) {
		struct vp_worker *w = &p->wk[p->nworkers];

		w->p = p;
		if ((w->kc = ledger_keycache_new()) == NULL ||
		    pthread_create(&w->thread, NULL, vp_worker, w) != 0) {
			ledger_keycache_free(w->kc);
			w->kc = NULL;
			goto fail;
		}
	}
	if (pthread_create(&p->reader, NULL, vp_reader, p) != 0)
		goto fail;
	p->reader_started = 1;
	return p;
fail:
	verify_par_stop(p);
	return NULL;
}

void
verify_par_enter(struct verify_par *p, const struct ledger_entry_info *info)
{
	struct vp_job *j;
	int mine = 0;

	p->cur = NULL;
	p->taken = 0;
	pthread_mutex_lock(&p->mu);
	while (!p->eof && p->consumed == p->produced)
		pthread_cond_wait(&p->ready, &p->mu);
	if (p->consumed == p->produced) {
		pthread_mutex_unlock(&p->mu);
		p->self++;
		return;
	}
	j = &p->ring[p->consumed % VP_RING];
	while (!j->done) {
		/* No worker took it yet: rather than wait, check it here. */
		if (p->claimed == p->consumed) {
			p->claimed++;
			mine = 1;
			break;
		}
		/* A worker has it: check a later one meanwhile rather than
		 * sleep (a sleep and a wake-up per entry otherwise, when
		 * the workers are just ahead). */
		if (p->claimed < p->produced) {
			struct vp_job *k = &p->ring[p->claimed++ % VP_RING];

			pthread_mutex_unlock(&p->mu);
			vp_check(k, p->hkc);
			pthread_mutex_lock(&p->mu);
			k->done = 1;
			continue;
		}
		pthread_cond_wait(&p->ready, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	if (mine)
		vp_check(j, p->hkc);
	p->taken = 1;
	if (j->parsed && j->index == info->index) {
		p->cur = j;
		p->ahead += !mine;
		p->self += mine;
	} else
		p->self++;
}

void
verify_par_leave(struct verify_par *p)
{
	if (!p->taken)
		return;
	vp_job_clear(&p->ring[p->consumed % VP_RING]);
	p->cur = NULL;
	p->taken = 0;
	pthread_mutex_lock(&p->mu);
	p->consumed++;
	if (p->produced - p->consumed == VP_RING - VP_REFILL)
		pthread_cond_signal(&p->space);
	pthread_mutex_unlock(&p->mu);
}

int
verify_par_memo(void *arg, const char *name, const char *b64,
    const char *body, size_t len, const struct ledger_note_sig *sig)
{
	struct verify_par *p = arg;
	const struct vp_job *j = p->cur;

	if (j == NULL || len != j->e.body_len || memcmp(body, j->text, len) !=
	    0)
		return 1;
	for (size_t n = 0; n < j->e.nsigs; n++) {
		const struct ledger_note_sig *s = &j->e.sigs[n];

		if (s->siglen != sig->siglen || strcmp(s->name, name) != 0 ||
		    strcmp(sig->name, name) != 0 ||
		    memcmp(s->key_hash, sig->key_hash, 4) != 0 ||
		    memcmp(s->sig, sig->sig, s->siglen) != 0)
			continue;
		for (size_t c = 0; c < j->line[n].n; c++)
			if (strcmp(j->line[n].b64[c], b64) == 0)
				return j->line[n].verdict[c];
	}
	return 1;
}

void
verify_par_stats(const struct verify_par *p, uint64_t *ahead, uint64_t *self)
{
	*ahead = p == NULL ? 0 : p->ahead;
	*self = p == NULL ? 0 : p->self;
}

void
verify_par_stop(struct verify_par *p)
{
	struct vp_key *k, *next;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->space);
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->ready);
	pthread_mutex_unlock(&p->mu);
	if (p->reader_started)
		pthread_join(p->reader, NULL);
	for (unsigned i = 0; i < p->nworkers; i++) {
		pthread_join(p->wk[i].thread, NULL);
		ledger_keycache_free(p->wk[i].kc);
	}
	for (size_t i = 0; p->ring != NULL && i < VP_RING; i++)
		vp_job_clear(&p->ring[i]);
	for (size_t b = 0; b < VP_DIR_BUCKETS; b++)
		for (k = p->dir[b]; k != NULL; k = next) {
			next = k->next;
			free(k->name);
			free(k->b64);
			free(k);
		}
	if (p->src != NULL)
		p->src->ops->close(p->src);
	ledger_keycache_free(p->rkc);
	ledger_keycache_free(p->hkc);
	free(p->ring);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->space);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->ready);
	free(p);
}
