/*
 * verify_certs.c: `ledger verify`'s check of the certificates kept beside
 * the ledger (docs/design.md "The CA signs only what the ledger
 * committed").  A cert-issued entry records the TBS; the CA signs it only
 * once the entry is committed, and the bridge keeps the signed certificate
 * beside the registry row (ledger_cert_store), outside the log.  So each
 * kept certificate must be exactly its entry's TBS, byte for byte, with a
 * signature that verifies under the issuing CA the entry names: a kept
 * certificate the ledger did not commit, or one the CA did not sign, is
 * found here.
 *
 * Decoding a certificate and checking its signature cost far more than
 * reading it (a P-256 verify each), so the store's thread reads a page of
 * them and threads check the page; the verdicts are then taken in order,
 * so the first that fails is the one the serial check names.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ledger/verify_par.h"

struct vc_page {
	struct ledger_cert_info *c;
	size_t n;
};

static int
vc_page_cb(const struct ledger_cert_info *c, void *arg)
{
	struct vc_page *p = arg;

	p->c[p->n++] = *c;
	return 0;
}

/* The issuer of issuers[0..n) whose SKI (lowercase hex) is id, or NULL. */
static X509 *
vc_issuer(X509 *const *issuers, size_t n, const char *id)
{
	char hex[2 * LEDGER_NAME_MAX + 1];
	const ASN1_OCTET_STRING *ski;

	for (size_t i = 0; i < n; i++) {
		ski = X509_get0_subject_key_id(issuers[i]);
		if (ski == NULL || ski->length <= 0 ||
		    ski->length > LEDGER_NAME_MAX)
			continue;
		ledger_hex(ski->data, (size_t)ski->length, hex);
		if (strcmp(hex, id) == 0)
			return issuers[i];
	}
	return NULL;
}

/*
 * One kept certificate, read on the store's thread and checked on any:
 * the base64 certificate and the TBS its entry recorded (rc of
 * ledger_store_cert_field), then the verdict.
 */
struct vc_item {
	const struct ledger_cert_info *c;	/* the page's */
	char *b64;			/* NULL: no signed certificate kept */
	uint8_t *rec;
	size_t rlen;
	int rc;
	const char *fail;		/* NULL when it holds */
};

/* Item it's verdict, in the serial order of reasons; der is scratch. */
static const char *
vc_check(const struct vc_item *it, X509 *const *issuers, size_t n,
    uint8_t *der)
{
	const unsigned char *p = der;
	const uint8_t *t;
	size_t tlen;
	X509 *x = NULL, *iss;
	const char *fail = NULL;
	int len;

	if ((len = ledger_b64_decode(it->b64, strlen(it->b64), der,
	    LEDGER_CERT_DER_MAX)) <= 0 || (x = d2i_X509(NULL, &p, len)) ==
	    NULL || p != der + len ||
	    ledger_tbs_of_cert(der, (size_t)len, &t, &tlen) != 0)
		fail = "is not one DER certificate";
	else if (it->rc < 0)
		fail = "has no readable entry";
	else if (it->rc == 1)
		fail = "belongs to an entry without a TBS";
	else if (it->rlen != tlen || memcmp(it->rec, t, tlen) != 0)
		fail = "is not the TBS its entry recorded";
	else if (n > 0 && (iss = vc_issuer(issuers, n, it->c->issuer)) ==
	    NULL)
		fail = "names an issuer not given to verify";
	else if (n > 0 && X509_verify(x, X509_get0_pubkey(iss)) != 1)
		fail = "has a signature that does not verify under its issuer";
	X509_free(x);
	return fail;
}

/* A page's items [0, n) shared by threads: each takes every
 * stride-th from its first. */
struct vc_share {
	struct vc_item *it;
	size_t n, first, stride;
	X509 *const *issuers;
	size_t niss;
	int nomem;
};

static void *
vc_share_run(void *arg)
{
	struct vc_share *sh = arg;
	uint8_t *der = malloc(LEDGER_CERT_DER_MAX);

	if (der == NULL) {
		sh->nomem = 1;
		return NULL;
	}
	for (size_t i = sh->first; i < sh->n; i += sh->stride)
		if (sh->it[i].b64 != NULL)
			sh->it[i].fail = vc_check(&sh->it[i], sh->issuers,
			    sh->niss, der);
	free(der);
	return NULL;
}

/* Checks items [0, n) on `threads` threads (this one among them).
 * 0, or -1 out of memory. */
static int
vc_check_page(struct vc_item *it, size_t n, X509 *const *issuers,
    size_t niss, unsigned threads)
{
	struct vc_share sh[VERIFY_PAR_THREADS_MAX];
	pthread_t th[VERIFY_PAR_THREADS_MAX];
	int started[VERIFY_PAR_THREADS_MAX] = { 0 }, rc = 0;

	for (unsigned k = 0; k < threads; k++) {
		sh[k] = (struct vc_share){ it, n, k, threads, issuers, niss,
		    0 };
		if (k > 0 && pthread_create(&th[k], NULL, vc_share_run,
		    &sh[k]) == 0)
			started[k] = 1;
	}
	/* A thread that did not start: its share here. */
	for (unsigned k = 0; k < threads; k++)
		if (!started[k])
			vc_share_run(&sh[k]);
	for (unsigned k = 1; k < threads; k++)
		if (started[k])
			pthread_join(th[k], NULL);
	for (unsigned k = 0; k < threads; k++)
		rc |= sh[k].nomem ? -1 : 0;
	return rc;
}

static void
vc_items_clear(struct vc_item *it, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(it[i].b64);
		free(it[i].rec);
		memset(&it[i], 0, sizeof(it[i]));
	}
}

/* Reads page pg's kept certificates and TBS into it[]; 0 or -1. */
static int
vc_read_page(struct ledger_store *s, const struct vc_page *pg,
    struct vc_item *it, char *b64, size_t b64cap, uint8_t *rec)
{
	int got;

	for (size_t i = 0; i < pg->n; i++) {
		it[i].c = &pg->c[i];
		if ((got = s->ops->cert_signed_get(s, pg->c[i].serial, b64,
		    b64cap)) < 0)
			return -1;
		if (got == 1)
			continue;
		it[i].rc = ledger_store_cert_field(s, pg->c[i].issued_index,
		    "tbs", rec, LEDGER_CERT_DER_MAX, &it[i].rlen);
		if ((it[i].b64 = strdup(b64)) == NULL ||
		    (it[i].rc == 0 && (it[i].rec = malloc(it[i].rlen > 0 ?
		    it[i].rlen : 1)) == NULL))
			return -1;
		if (it[i].rc == 0)
			memcpy(it[i].rec, rec, it[i].rlen);
	}
	return 0;
}

/* See verify.h. */
int
ledger_verify_certs(const char *db, X509 *const *issuers, size_t n,
    unsigned threads, struct ledger_verify_report *rep, uint64_t *checked)
{
	struct ledger_store *s = NULL;
	struct vc_page pg = { NULL, 0 };
	struct vc_item *it = NULL;
	char after[41] = "", err[256], *b64 = NULL;
	uint8_t *rec = NULL;
	size_t b64cap = LEDGER_CERT_DER_MAX * 4 / 3 + 8;
	const char *fail = NULL;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	rep->bad_index = rep->bad_block = -1;
	rep->bad_trusted = -1;
	*checked = 0;
	threads = verify_par_threads(threads);
	if ((s = ledger_store_open(db, LEDGER_STORE_READONLY, err,
	    sizeof(err))) == NULL) {
		snprintf(rep->what, sizeof(rep->what), "%s", err);
		return -1;
	}
	if ((pg.c = calloc(LEDGER_LIST_MAX, sizeof(*pg.c))) == NULL ||
	    (it = calloc(LEDGER_LIST_MAX, sizeof(*it))) == NULL ||
	    (b64 = malloc(b64cap)) == NULL ||
	    (rec = malloc(LEDGER_CERT_DER_MAX)) == NULL ||
	    s->ops->begin(s) != 0)
		goto out;
	do {
		pg.n = 0;
		if (s->ops->certs(s, after, LEDGER_LIST_MAX, vc_page_cb,
		    &pg) != 0 || vc_read_page(s, &pg, it, b64, b64cap,
		    rec) != 0 || vc_check_page(it, pg.n, issuers, n,
		    threads) != 0)
			goto out;
		for (size_t i = 0; i < pg.n && fail == NULL; i++) {
			if (it[i].b64 == NULL)
				continue;
			if ((fail = it[i].fail) != NULL) {
				rep->bad_index = (int64_t)pg.c[i].issued_index;
				snprintf(rep->what, sizeof(rep->what), "the "
				    "certificate %s kept beside the ledger %s",
				    pg.c[i].serial, fail);
			} else
				(*checked)++;
		}
		vc_items_clear(it, pg.n);
		if (pg.n > 0)
			snprintf(after, sizeof(after), "%s",
			    pg.c[pg.n - 1].serial);
	} while (pg.n == LEDGER_LIST_MAX && fail == NULL);
	rep->ok = fail == NULL;
	rc = 0;
out:
	if (rc != 0)
		snprintf(rep->what, sizeof(rep->what), "the certificates "
		    "cannot be read: %s", s->ops->errmsg(s));
	if (it != NULL)
		vc_items_clear(it, LEDGER_LIST_MAX);
	s->ops->rollback(s);
	s->ops->close(s);
	free(pg.c);
	free(it);
	free(b64);
	free(rec);
	return rc;
}
