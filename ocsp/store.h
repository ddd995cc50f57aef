/*
 * store.h: the persistent OCSP store (issue 18, docs/design.md "Status"):
 * signed answers kept in an SQLite file across restarts, so that a
 * restarted bridge answers every certificate at once from the file
 * instead of signing them all again.
 *
 * A row is one signed OCSPResponse of one CertID, named by (issuer id,
 * hash, serial): the issuer's key hash is fixed by its id (its SKI), so
 * the triple names the CertID's (hashAlgorithm, issuerKeyHash,
 * serialNumber).  The status the answer states is kept beside it, and the
 * SHA-256 of its bytes: a reader checks both (ocspr_store_get) and a row
 * that fails either is not an answer.
 *
 * The store is a cache, never the truth: losing it costs signatures, not
 * answers.  It is written without fsync (synchronous=OFF), and a file
 * SQLite finds corrupt is set aside and started again.
 *
 * Threads: the loop thread only (one sqlite3 handle, no locking).
 */
#ifndef KEYBRIDGE_OCSP_STORE_H
#define KEYBRIDGE_OCSP_STORE_H

#include <stddef.h>
#include <time.h>

#include "ocsp/ocsp.h"

/* Rows written per transaction before a commit is forced; the rest wait
 * for ocspr_store_flush (the loop calls it every OCSPR_STORE_FLUSH_MS). */
#define OCSPR_STORE_TXN_MAX  4096
#define OCSPR_STORE_FLUSH_MS 500
/* Rows of an issuer no longer served deleted per call (a bounded piece
 * of loop work). */
#define OCSPR_STORE_GONE_MAX 4096
/* Largest answer kept: ours are well under 2 KB. */
#define OCSPR_STORE_DER_MAX  8192

struct ocspr_store;

/* One row: the answer's bytes (a borrowed pointer into the statement,
 * valid until the next call on the store) and what it says; expired set
 * by ocspr_store_get when the row is intact but past its nextUpdate. */
struct ocspr_stored {
	const unsigned char *der;
	size_t len;
	time_t this_update, next_update;
	struct ocspr_status st;
	int expired;
};

/* Opens (creating) the store at path.  A file that is not an SQLite
 * database or fails PRAGMA quick_check is renamed to path.corrupt and a
 * new one made (logged in err, which then holds a warning, with *rebuilt
 * set).  NULL with err set when neither works. */
struct ocspr_store *ocspr_store_open(const char *path, int *rebuilt,
    char *err, size_t errlen);
/* How the open found the file: closed cleanly (no quick_check), left
 * open by a process that died on this boot (no quick_check: only a
 * system crash tears pages under SQLite's log), or left open before the
 * system restarted, or of unknown origin (read by a quick_check). */
enum { OCSPR_OPEN_CLEAN, OCSPR_OPEN_SAME_BOOT, OCSPR_OPEN_CHECKED };
int ocspr_store_opened(const struct ocspr_store *s);
/* Commits what is pending and closes.  NULL-safe. */
void ocspr_store_close(struct ocspr_store *s);

/* The row of (issuer id, md, serial) into *out: 1 found, intact (its
 * bytes' hash matches) and not past its nextUpdate at now; 0 none, or
 * damaged (the row is then deleted), or expired (out->expired set, the
 * row kept: the certificate is known, and ocspr_store_due finds it to
 * be re-signed at the pace); -1 on a read error. */
int ocspr_store_get(struct ocspr_store *s, const char *issuer, int md,
    const char *serial, time_t now, struct ocspr_stored *out);
/* Writes (replaces) one row, in the open transaction.  0 or -1. */
int ocspr_store_put(struct ocspr_store *s, const char *issuer, int md,
    const char *serial, const struct ocspr_status *st,
    const unsigned char *der, size_t len, time_t this_update,
    time_t next_update);
/* Deletes every hash's row of (issuer id, serial).  0 or -1. */
int ocspr_store_drop(struct ocspr_store *s, const char *issuer,
    const char *serial);
/* Commits the open transaction, if any.  0 or -1. */
int ocspr_store_flush(struct ocspr_store *s);
/* Calls fn for at most max serials whose answers are due for re-signing
 * at now (past half their validity), with the stored answer's nextUpdate
 * (how urgent it is), soonest nextUpdate first, among
 * those whose nextUpdate is at most horizon (now + half the validity
 * answers are signed with: the index range the query reads).  Expired
 * rows are due too, first of all (after a downtime longer than the
 * validity, every row: issue 18).  The number reported, or -1. */
int ocspr_store_due(struct ocspr_store *s, time_t now, time_t horizon,
    int max,
    void (*fn)(const char *issuer, const char *serial, time_t next_update,
    void *), void *arg);
/* Deletes at most max rows of issuer id (one no longer served), in the
 * open transaction.  0 or -1. */
int ocspr_store_drop_issuer(struct ocspr_store *s, const char *issuer,
    int max);
/* Rows in the store (SHA-1 and SHA-256 ones each count), or -1. */
long ocspr_store_count(struct ocspr_store *s);

#endif
