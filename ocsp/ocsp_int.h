/*
 * ocsp_int.h: what the files of ocsp/ share (never included from outside
 * the folder).
 */
#ifndef KEYBRIDGE_OCSP_INT_H
#define KEYBRIDGE_OCSP_INT_H

#include <pthread.h>
#include <sys/queue.h>

#include <openssl/lhash.h>

#include "ocsp/ocsp.h"
#include "ocsp/store.h"

#define OCSPR_NSTATUS        7		/* OCSPResponseStatus 0..6 */
#define OCSPR_NMD            2		/* CertID hashes kept: SHA-1, SHA-256 */
#define OCSPR_ETAG_MAX       48
#define OCSPR_DATE_MAX       40		/* an HTTP-date */
#define OCSPR_ALIAS_MAX      65536	/* GET paths remembered */
/* Longer paths are answered but not remembered: base64 decoding skips
 * whitespace, so one CertID has endless spellings, and memory for them
 * must stay bounded (65536 x 512 bytes at most). */
#define OCSPR_ALIAS_PATH_MAX 512
#define OCSPR_FEED_MAX       64		/* background jobs in the worker */
#define OCSPR_SWEEP_SEC      30		/* re-sign check interval */
/* Without a store, serials the sweep queues at the pace at most: two
 * sweeps' worth of cfg.resign_rate (the rest wait for the next sweep;
 * urgent ones are queued whatever the count). */
#define OCSPR_SWEEP_PACED    2
#define OCSPR_DUE_MAX        8192	/* store rows queued per due check */
#define OCSPR_DUE_MIN        64		/* ... at least, when paced */
#define OCSPR_CRL_DELAY_USEC 100000	/* coalesce revocations into a CRL */
#define OCSPR_CRL_MIN_SEC    3600	/* a CRL is remade at least this often */
/* With partitions (issue 18): a base whose delta lists revocations is
 * remade after this long, or at once when its delta lists this many. */
#define OCSPR_CRL_BASE_SEC   300
/* pace.c: an answer with at most validity / OCSPR_PACE_URGENT_DIV left is
 * re-signed at once; the token bucket holds OCSPR_PACE_BURST_MS worth of
 * cfg.resign_rate. */
#define OCSPR_PACE_URGENT_DIV 4
#define OCSPR_PACE_BURST_MS   50
#define OCSPR_CRL_DELTA_MAX  1024

/* ---- cache.c: pre-signed responses -------------------------------------- */

/* One signed OCSPResponse for one (issuer, hash, serial). */
struct ocspr_entry {
	int issuer, md;			/* md: 0 SHA-1, 1 SHA-256 */
	char serial[OCSPR_SERIAL_MAX + 1];
	unsigned char *der;
	size_t len;
	time_t this_update, next_update;
	char etag[OCSPR_ETAG_MAX];	/* "\"hex\"" */
	char last_modified[OCSPR_DATE_MAX], expires[OCSPR_DATE_MAX];
	char cache_control[80];		/* with max-age = the configured cap */
	/* References: the cache's, plus one per reply whose body still
	 * points at der (evbuffer_add_reference).  Atomic: with ocsp_loops
	 * > 1 the OCSP loops' replies hold references too (ocsp/loops.c). */
	_Atomic int refs;
	/* A bounded cache's ring slot, and the CLOCK reference bit set by
	 * every get (atomic: the loops' lookups set it side by side). */
	size_t slot;
	_Atomic int clock_ref;
	/* Without a store: queued for re-signing by the sweep (main loop
	 * only; a re-signed answer is a new entry, without it). */
	int queued;
};

/* OpenSSL's LHASH macros paste the element type's name: a typedef is
 * the only way in (the one typedef of the module). */
typedef struct ocspr_entry ocspr_entry;
DEFINE_LHASH_OF(ocspr_entry);

struct ocspr_cache;

/* max > 0: at most max entries, the least recently used evicted first
 * (CLOCK); 0: unbounded. */
struct ocspr_cache *ocspr_cache_new(size_t max);
void ocspr_cache_free(struct ocspr_cache *c);
/* The entry for the key (get0; valid until the next put/drop), or NULL;
 * marks it used.  The main loop's thread only: it is the one writer, so
 * it reads without the lock. */
const struct ocspr_entry *ocspr_cache_get(struct ocspr_cache *c, int issuer,
    int md, const char *serial);
/* The same from any thread (an OCSP loop, ocsp/loops.c): the entry with
 * a reference taken under the read lock (get1: ocspr_entry_free it), or
 * NULL.  A put or drop that returned is seen by every later get1. */
struct ocspr_entry *ocspr_cache_get1(struct ocspr_cache *c, int issuer,
    int md, const char *serial);
/* The cache's generation: moves with every put and drop (which bump it
 * before they return).  Any thread.  An entry found at generation g is
 * still the one a lookup would find while the generation is g. */
uint64_t ocspr_cache_gen(struct ocspr_cache *c);
/* Takes e (add0): replaces any entry of its key.  0 or -1 (e freed).
 * Main loop only; under the write lock. */
int ocspr_cache_put(struct ocspr_cache *c, struct ocspr_entry *e);
/* Takes e (add0): replaces the entry of its key, keeping its place and
 * its use.  0, or 1 when there was none (e freed: nothing is added, so
 * nothing is evicted).  Main loop only; under the write lock. */
int ocspr_cache_replace(struct ocspr_cache *c, struct ocspr_entry *e);
/* Drops both hashes' entries of (issuer, serial).  Main loop only; under
 * the write lock. */
void ocspr_cache_drop(struct ocspr_cache *c, int issuer, const char *serial);
size_t ocspr_cache_count(struct ocspr_cache *c);
/* Entries evicted to keep within max. */
uint64_t ocspr_cache_evictions(struct ocspr_cache *c);
/* Calls fn for every entry whose re-sign time (half its validity) has
 * come by now and that is not queued, once per (issuer, serial): the
 * SHA-1 entry (get0; fn may set its queued). */
void ocspr_cache_stale(struct ocspr_cache *c, time_t now,
    void (*fn)(struct ocspr_entry *, void *), void *arg);
/* Drops a reference; frees e with the last.  NULL-safe. */
void ocspr_entry_free(struct ocspr_entry *e);
/* The HTTP-date of t (RFC 9110 5.6.7) into buf. */
void ocspr_http_date(time_t t, char *buf, size_t len);

/* A GET path already seen, and the CertID it asked for: the next GET of
 * the same bytes skips decoding and parsing. */
struct ocspr_alias {
	char *path;
	int issuer, md;
	char serial[OCSPR_SERIAL_MAX + 1];
	/* An OCSP loop's (ocsp/loops.c): the entry last found for it (a
	 * reference, released with the alias) and the cache's generation
	 * then; NULL in the main loop's aliases. */
	struct ocspr_entry *memo;
	uint64_t memo_gen;
};
typedef struct ocspr_alias ocspr_alias;
DEFINE_LHASH_OF(ocspr_alias);

/* The CertID remembered for path, or NULL. */
const struct ocspr_alias *ocspr_cache_alias_get(struct ocspr_cache *c,
    const char *path);
/* Remembers path (copied); past OCSPR_ALIAS_MAX the memory starts over. */
void ocspr_cache_alias_put(struct ocspr_cache *c, const char *path,
    int issuer, int md, const char *serial);

/* ---- worker.c: one thread that signs ------------------------------------ */

enum ocspr_job_kind { OCSPR_JOB_PRESIGN, OCSPR_JOB_LIVE, OCSPR_JOB_CRL };

struct ocspr_job {
	TAILQ_ENTRY(ocspr_job) link;
	enum ocspr_job_kind kind;
	struct ocspr *r;
	uint64_t epoch;			/* r->epoch when the status was read */
	int failed;
	time_t now;
	/* PRESIGN: one serial, both hashes. */
	int issuer;
	char serial[OCSPR_SERIAL_MAX + 1];
	struct ocspr_status st;
	struct ocspr_entry *out[OCSPR_NMD];
	/* LIVE: a waiting request answered by a fresh signature; relay:
	 * the OCSP loop whose request it is (NULL: the main loop's). */
	struct evhttp_request *req;
	struct ocspr_loop *relay;
	OCSP_REQUEST *oreq;
	int ncid;
	int cid_issuer[OCSPR_MAX_CERTIDS];
	struct ocspr_status cid_st[OCSPR_MAX_CERTIDS];
	unsigned char *der;
	size_t len;
	/* CRL: the revoked set of issuer, its number; the partition
	 * (-1: the full CRL), and for a delta the number of its base. */
	struct ocspr_revoked *revoked;
	size_t nrevoked, caprevoked;
	uint64_t crl_number;
	int crl_part, crl_delta;
	uint64_t crl_base;
};

TAILQ_HEAD(ocspr_jobq, ocspr_job);

struct ocspr_worker;

/* Background jobs the worker hands to work() at once (pre-signing: one
 * batch of signatures, one round trip to a key process). */
#define OCSPR_PRESIGN_BATCH 32

/* Starts the thread; work(js, n) runs one urgent job, or up to
 * OCSPR_PRESIGN_BATCH background ones; done jobs go back to done() on
 * the loop of base. */
struct ocspr_worker *ocspr_worker_new(struct event_base *base,
    void (*work)(struct ocspr_job **, size_t), void (*done)(struct ocspr_job *));
/* Queues j (add0).  Live and CRL jobs go before background ones. */
void ocspr_worker_push(struct ocspr_worker *w, struct ocspr_job *j);
/* Jobs queued or running. */
size_t ocspr_worker_load(struct ocspr_worker *w, enum ocspr_job_kind k);
/* Stops the thread after its current job; every job not done is handed
 * to done() with failed set.  NULL-safe. */
void ocspr_worker_free(struct ocspr_worker *w);

/* ---- respond.c: building responses --------------------------------------- */

/* The single response of (cid, st) signed, DER in *der.  Runs on the
 * worker thread.  0 or -1. */
int ocspr_build(struct ocspr *r, OCSP_REQUEST *req, OCSP_CERTID **cids,
    const struct ocspr_status *sts, int n, time_t now, unsigned char **der,
    size_t *len);
/* ocspr_build's two halves: the unsigned basic response (a new one, or
 * NULL), and the DER of the OCSPResponse of a signed one.  0 or -1. */
OCSP_BASICRESP *ocspr_basic_new(struct ocspr *r, OCSP_REQUEST *req,
    OCSP_CERTID **cids, const struct ocspr_status *sts, int n, time_t now);
int ocspr_encode(OCSP_BASICRESP *bs, unsigned char **der, size_t *len);
/* The CertID of serial for issuer i with hash md (0 SHA-1, 1 SHA-256). */
OCSP_CERTID *ocspr_certid(struct ocspr *r, int issuer, int md,
    const char *serial);
/* Encodes the unsigned error responses (malformedRequest, internalError,
 * tryLater, sigRequired, unauthorized) into r->errder.  0 or -1. */
int ocspr_errors_init(struct ocspr *r);
long ocspr_validity(const struct ocspr *r);

/* ---- crlsave.c ----------------------------------------------------------- */

#define OCSPR_PATH_MAX 4096		/* bytes of a CRL file's path */

/* A CRL read back from its file: der (OPENSSL_malloc, the caller's),
 * its crlNumber, its deltaCRLIndicator (0 for a base), its times. */
struct ocspr_crlsave_doc {
	unsigned char *der;
	size_t len;
	uint64_t number, base;
	time_t this_update, next_update;
};
/* The file name of issuer id's CRL: partition p of n (p < 0: the full
 * CRL), its delta when delta is set.  0, or -1 when out is too small. */
int ocspr_crlsave_name(const char *id, int n, int p, int delta, char *out,
    size_t len);
/* Writes der to dir/name, 0600, through a temporary file and a rename;
 * makes dir (0700) if needed.  0, or -1 with errno set. */
int ocspr_crlsave_write(const char *dir, const char *name,
    const unsigned char *der, size_t len);
/* Reads dir/name into d when it holds a CRL of issuer with a good
 * signature, unexpired at now, with a crlNumber, and a delta exactly when
 * delta is set.  0, or -1 with d->der NULL and *why NULL when the file is
 * absent or unreadable, else what it failed (a static string). */
int ocspr_crlsave_read(const char *dir, const char *name, X509 *issuer,
    int delta, time_t now, struct ocspr_crlsave_doc *d, const char **why);

/* ---- crl.c --------------------------------------------------------------- */

struct ocspr_crls;
struct ocspr_crls *ocspr_crls_new(struct ocspr *r);
void ocspr_crls_free(struct ocspr_crls *c);
/* crlbuild.c, worker thread: builds and signs the CRL of job j (into
 * j->der).  0 or -1. */
int ocspr_crl_build(struct ocspr *r, struct ocspr_job *j);
/* Loop thread: the CRL job is done. */
void ocspr_crl_done(struct ocspr_crls *c, struct ocspr_job *j);

/* ---- ocsp.c: the responder's state, shared by the files ----------------- */

struct ocspr_pend {
	TAILQ_ENTRY(ocspr_pend) link;
	int issuer;
	int paced;			/* in r->paced: waits for a token */
	time_t next_update;		/* paced: the stored answer's */
	char serial[OCSPR_SERIAL_MAX + 1];
};

struct ocspr_issuer {
	X509 *cert;
	char id[OCSPR_ISSUER_ID_MAX + 1];
	OCSP_CERTID *cid[OCSPR_NMD];	/* serial-less templates to match */
};

struct ocspr {
	struct ocspr_config cfg;
	struct ocspr_issuer issuers[OCSPR_MAX_ISSUERS];
	int nissuers;
	struct ocspr_cache *cache;
	struct ocspr_store *store;	/* NULL: none */
	struct event *flush;		/* commits the store's writes */
	time_t due_next;		/* next look for store rows to re-sign */
	int due_urgent;			/* the last look found an urgent row */
	/* the last look found a row of this issuer id, no longer served */
	char due_gone[OCSPR_ISSUER_ID_MAX + 1];
	struct ocspr_worker *worker;
	struct ocspr_crls *crls;
	uint64_t epoch;			/* bumped by every refresh */
	/* Serials waiting to be (re-)signed in the background: at once, and
	 * (pace.c) at cfg.resign_rate; npending counts both. */
	TAILQ_HEAD(, ocspr_pend) pending;
	TAILQ_HEAD(, ocspr_pend) paced;
	size_t npending, npaced;
	double pace_tokens, pace_at;	/* answers; monotonic s */
	struct event *pace;		/* wakes the feed when tokens are back */
	struct event *sweep;
	struct ocspr_stats stats;
	/* ocsp_loops > 1 (ocsp/loops.c): the other loops (index 1..), the
	 * one whose request the main loop is answering for it now, and how
	 * many it answered so (counted in stats.requests too). */
	struct ocspr_loop *loops[OCSPR_MAX_LOOPS];
	struct ocspr_loop *relay;
	uint64_t relayed;
	unsigned char errder[OCSPR_NSTATUS][8];
	size_t errlen[OCSPR_NSTATUS];
};

/* ---- pace.c: the pace of re-signing answers not yet urgent -------------- */

/* 1 when an answer expiring at next_update must be signed at once (or
 * there is no pace), 0 when it can wait for a token. */
int ocspr_pace_urgent(const struct ocspr *r, time_t next_update, time_t now);
/* Takes one job's tokens (OCSPR_NMD answers): 1, or 0 with r->pace armed
 * to call the feed again when they are there.  Loop thread. */
int ocspr_pace_take(struct ocspr *r);
/* Queues (issuer, serial) for background signing: at once (next_update
 * 0), or at the pace of cfg.resign_rate until its stored answer, expiring
 * at next_update, turns urgent.  Loop thread. */
void ocspr_pend(struct ocspr *r, int issuer, const char *serial,
    time_t next_update);
/* The next serial to sign (the caller frees it): the first one waiting to
 * go at once, else the first paced one (the soonest to expire: the due
 * query's order) when a token is there or it has turned urgent
 * meanwhile; NULL when none may go now. */
struct ocspr_pend *ocspr_pend_next(struct ocspr *r);

/* ---- loops.c ------------------------------------------------------------- */

/* Main loop: the live answer to a request of loop l (der copied), sent
 * by l's thread. */
void ocspr_loop_reply(struct ocspr_loop *l, struct evhttp_request *req,
    const unsigned char *der, size_t len);
/* r is being freed: l forgets it. */
void ocspr_loop_detach(struct ocspr_loop *l);
/* What loop l counted: requests it received, answered itself. */
void ocspr_loop_counts(struct ocspr_loop *l, uint64_t *requests,
    uint64_t *local);

/* ---- routes.c ------------------------------------------------------------ */

/* The path part of the request-URI (absolute-form taken too), raw. */
const char *ocspr_raw_path(struct evhttp_request *req);

/* Sends an application/ocsp-response 200 with der (copied); with e set
 * (a cached response to a GET) the RFC 5019 6.2 caching headers too. */
void ocspr_reply_der(struct evhttp_request *req, const unsigned char *der,
    size_t len, const struct ocspr_entry *e, long max_age);

/* An HTTP-level refusal: status code, reason and one line of text. */
void ocspr_http_refuse(struct evhttp_request *req, int code,
    const char *reason, const char *line);

/* ocsp.c: a cache entry of der (taken) for (issuer, md, serial) signed
 * from this_update to next_update, headers made; NULL (der freed) when
 * out of memory. */
struct ocspr_entry *ocspr_entry_make(struct ocspr *r, int issuer, int md,
    const char *serial, unsigned char *der, size_t len, time_t this_update,
    time_t next_update);
/* ocsp.c: the store's answer for (issuer, md, serial), put in the cache
 * (get0), when it states the ledger's status; NULL otherwise. */
const struct ocspr_entry *ocspr_from_store(struct ocspr *r, int issuer,
    int md, const char *serial);

/* Moves pending serials into the worker while it has room. */
void ocspr_feed(struct ocspr *r);
/* The issuer index a CertID names, or -1. */
int ocspr_issuer_of(struct ocspr *r, OCSP_CERTID *cid, int *md);
/* The cache key of oreq when the fast path may answer it (one CertID of
 * one of r's issuers, no nonce): issuer *is, hash *md, serial.  0, or -1
 * (sign it live).  Any thread: r's issuers never change once loops run. */
int ocspr_fast_key(struct ocspr *r, OCSP_REQUEST *oreq, int *is, int *md,
    char serial[OCSPR_SERIAL_MAX + 1]);

#endif
