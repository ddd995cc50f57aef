/*
 * ocsp.h: the OCSP responder (RFC 6960, RFC 5019 profile) and the CRLs
 * (RFC 5280 5), the module's public face (docs/design.md "Status").
 *
 * ocsp/ knows nothing of the ledger: bridge/ hands it callbacks that read
 * a certificate's status and the revoked set, and one that signs.  It
 * keeps a signed response for every issued certificate (SHA-1 and SHA-256
 * CertIDs), so that a GET is answered from memory without a signature;
 * signatures are made on a worker thread, never on the event loop.
 *
 * Threads: every function here is called on the event loop's thread; only
 * the sign callbacks run on the worker thread.
 */
#ifndef KEYBRIDGE_OCSP_H
#define KEYBRIDGE_OCSP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#define OCSPR_MAX_BODY      10240	/* bytes of a POSTed request */
#define OCSPR_MAX_URI       16384	/* bytes of a GET request-URI */
#define OCSPR_MAX_CERTIDS   16		/* CertIDs answered in one request */
#define OCSPR_MAX_ISSUERS   8		/* issuing CAs one responder serves */
#define OCSPR_ISSUER_ID_MAX 64		/* hex of the issuer's SKI */
#define OCSPR_SERIAL_MAX    40		/* hex digits of a serial we issue */
#define OCSPR_MAX_LOOPS     8		/* event loops answering OCSP */
#define OCSPR_CRL_PARTS_MAX 256		/* CRL partitions per issuer */
#define OCSPR_URL_MAX       512		/* bytes of a CRL URL */

/* What the ledger says of one serial of one of our issuers. */
enum ocspr_state {
	OCSPR_GOOD = 1,
	OCSPR_REVOKED,		/* revoked_at and reason hold */
	OCSPR_NOT_ISSUED,	/* the ledger never recorded it */
};

struct ocspr_status {
	enum ocspr_state state;
	time_t revoked_at;
	int reason;		/* RFC 5280 CRLReason; 0 unspecified */
	time_t not_after;	/* the certificate's, for GOOD and REVOKED */
};

/* One entry of a CRL, as the revoked-set callback reports it. */
struct ocspr_revoked {
	char serial[OCSPR_SERIAL_MAX + 1];	/* lowercase hex */
	time_t at;
	int reason;
};

struct ocspr_ops {
	/* The status of serial (lowercase hex, no leading zeros) of issuer
	 * i.  0, or -1 when the ledger cannot be read (the client gets
	 * tryLater). */
	int (*status)(void *arg, int issuer, const char *serial,
	    struct ocspr_status *st);
	/* Calls add for every certificate of issuer i that is revoked and
	 * not yet expired.  0 or -1. */
	int (*revoked)(void *arg, int issuer,
	    int (*add)(const struct ocspr_revoked *, void *), void *add_arg);
	/* Sign with the delegated OCSP signer / with the issuing CA (worker
	 * thread): the object is replaced by the signed one (the old one
	 * freed), as a signer in another process hands back a new one.
	 * 0 or -1. */
	int (*sign_ocsp)(void *arg, OCSP_BASICRESP **bs);
	int (*sign_crl)(void *arg, int issuer, X509_CRL **crl);
	void *arg;
	/* Optional, both or neither: pre-signing at start sends bs[0..n)
	 * to be signed at once (one round trip to a key process for a
	 * slice of serials), and the worker builds the next slice before
	 * it receives them (oldest first, at most two in flight), each
	 * replaced as sign_ocsp does.  0 or -1 each. */
	int (*sign_ocsp_send)(void *arg, OCSP_BASICRESP **bs, int n);
	int (*sign_ocsp_recv)(void *arg, OCSP_BASICRESP **bs, int n);
};

struct ocspr_config {
	struct event_base *base;		/* borrowed; thread-enabled */
	X509 *issuers[OCSPR_MAX_ISSUERS];	/* borrowed */
	const char *issuer_ids[OCSPR_MAX_ISSUERS];	/* CRL names */
	int nissuers;
	long validity;		/* s from thisUpdate to nextUpdate */
	long max_age;		/* s, cap of HTTP Cache-Control max-age */
	long crl_validity;	/* s from a CRL's thisUpdate to nextUpdate */
	size_t live_max;	/* signatures queued for waiting clients */
	/* Issue 18: answers kept in memory (0: every one, as before), and
	 * the persistent store's SQLite file (NULL or "": none). */
	size_t cache_max;
	const char *store_path;
	/* Stored answers due for re-signing but not urgent are signed at
	 * most this many a second (ocsp/pace.c); 0: as fast as they go. */
	long resign_rate;
	struct ocspr_ops ops;
	/* Issue 18, CRLs at scale: the full CRL URL of each issuer as
	 * certificates carry it (".../crl/<id>.crl"), and the partitions
	 * (crlurl.c).  crl_partitions 0 or 1: one full CRL per issuer,
	 * remade at every revocation, no delta (as before).  More: the
	 * partition CRLs (RFC 5280 5.2.5 issuing distribution point) and a
	 * delta CRL of every base (5.2.4), the full CRL kept for the
	 * certificates that name it; crl_urls must be set. */
	const char *crl_urls[OCSPR_MAX_ISSUERS];
	int crl_partitions;
	/* The directory where every CRL served is kept (crlsave.c) and
	 * read back at start, so that a restart serves the last ones at
	 * once instead of 503; NULL or "": none (copied). */
	const char *crl_dir;
};

struct ocspr;

/* The responder over cfg (copied; the certificates stay borrowed).  Starts
 * its worker thread.  NULL with err set. */
struct ocspr *ocspr_new(const struct ocspr_config *cfg, char *err,
    size_t errlen);
/* Stops the worker (waiting for the job it runs) and frees everything;
 * waiting requests get tryLater.  NULL-safe. */
void ocspr_free(struct ocspr *r);

/* HTTP handlers (server_handler shape, arg is the struct ocspr):
 * OCSP at "/ocsp", "/ocsp/..." and the root "/..." (POST, GET, HEAD), the
 * CRLs at "/crl/<issuer-id>.crl". */
void ocspr_handle(struct evhttp_request *req, void *arg);
void ocspr_crl_handle(struct evhttp_request *req, void *arg);

/* The status of serial of issuer i may have changed, or it was just
 * issued: its cached responses are dropped and signed again in the
 * background.  0, or -1 on a malformed serial. */
int ocspr_refresh(struct ocspr *r, int issuer, const char *serial);
/* At start, for every certificate: queues it for pre-signing unless the
 * store holds an answer that is still fresh (before half its validity;
 * its status is checked when it is read).  0, or -1 on a malformed
 * serial. */
int ocspr_warm(struct ocspr *r, int issuer, const char *serial);
/* Whether a persistent store is in use. */
int ocspr_has_store(const struct ocspr *r);
/* Issuer i's revoked set changed: a new CRL is made within a second. */
void ocspr_crl_changed(struct ocspr *r, int issuer);
/* serial of issuer i was revoked: with partitions its partition's and
 * the full CRL's deltas list it within a second, their bases later
 * (OCSPR_CRL_BASE_SEC, OCSPR_CRL_DELTA_MAX); without, as
 * ocspr_crl_changed.  0, or -1 on a malformed serial. */
int ocspr_crl_revoked(struct ocspr *r, int issuer, const char *serial);

/* ---- crlurl.c: CRL partitions and their URLs --------------------------- */

/* 1 when n partitions are allowed: a power of two, 1 to
 * OCSPR_CRL_PARTS_MAX. */
int ocspr_crlurl_parts_ok(long n);
/* The partition (0 .. n - 1) of serial (lowercase hex without leading
 * zeros): its low byte modulo n.  -1 for a malformed serial or n. */
int ocspr_crlurl_partition(const char *serial, int n);
/* The URL of a CRL from the issuer's full CRL URL full (ending ".crl"):
 * partition p of n (p < 0: the full CRL), its delta when delta is set.
 * 0, or -1 when full is malformed or out is too small. */
int ocspr_crlurl_make(const char *full, int n, int p, int delta, char *out,
    size_t outlen);

/* Counters for the status API and metrics. */
struct ocspr_stats {
	uint64_t requests, cache_hits, cache_misses, signatures;
	uint64_t malformed, unauthorized, try_later;
	uint64_t cached, pending;	/* responses kept; queued re-signs */
	uint64_t paced;			/* due re-signs held to the pace */
	uint64_t crls;			/* CRLs made */
	/* Issue 18: the bounded cache and the persistent store. */
	uint64_t evictions;		/* answers evicted from memory */
	uint64_t store_hits, store_misses;	/* reads on a memory miss */
	uint64_t store_writes, store_errors;
	uint64_t store_stale;		/* store answers refused: status changed */
	/* Requests each OCSP loop received (0: the main loop); nloops: 1
	 * plus the loops made by ocspr_loop_new. */
	uint64_t loop_requests[OCSPR_MAX_LOOPS];
	int nloops;
};
void ocspr_stats(struct ocspr *r, struct ocspr_stats *st);

/*
 * More event loops answering OCSP (keybridge.conf ocsp_loops, ocsp/loops.c):
 * each on its own thread with its own listening socket; they answer from
 * the pre-signed cache themselves and hand everything else (a miss, a
 * nonce, several CertIDs, a malformed request) to the main loop, which
 * answers it with ocspr_handle while the loop waits.
 */
struct ocspr_loop;

/* Loop index (1 .. OCSPR_MAX_LOOPS - 1) of r, whose thread runs base
 * (thread-enabled).  Main thread, before that loop runs.  NULL on
 * error. */
struct ocspr_loop *ocspr_loop_new(struct ocspr *r, struct event_base *base,
    int index);
/* Loop thread: answers req from the cache when it can: 1, or 0 when the
 * main loop must (req untouched: its body is still unread). */
int ocspr_loop_answer(struct ocspr_loop *l, struct evhttp_request *req);
/* Main thread, while l's thread waits for it: ocspr_handle for req, a
 * request of l; an answer signed later is handed back to l's thread. */
void ocspr_loop_relayed(struct ocspr_loop *l, struct evhttp_request *req);
/* After l's thread has ended (and before its server is freed): live
 * answers still queued for it are sent, then l is freed.  NULL-safe;
 * before or after ocspr_free of its responder. */
void ocspr_loop_free(struct ocspr_loop *l);

/* ---- parts exposed for the unit tests ---------------------------------- */

/* Decodes the base64 of a GET request path (after "/ocsp/" or "/"):
 * percent-decoding, '+' that arrived as a space, leading slashes, with or
 * without padding.  Returns the DER length in *len (out holds outcap
 * bytes).  0 or -1. */
int ocspr_get_decode(const char *path, unsigned char *out, size_t outcap,
    size_t *len);

/* The lowercase hex of a positive serial without leading zeros, as the
 * ledger writes it; -1 for zero, negative or longer than
 * OCSPR_SERIAL_MAX digits. */
int ocspr_serial_hex(const ASN1_INTEGER *serial,
    char out[OCSPR_SERIAL_MAX + 1]);

#endif
