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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ledger/ledger_int.h"

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

/* One kept certificate of c: NULL when it holds, else what fails. */
static const char *
vc_check(struct ledger_store *s, const struct ledger_cert_info *c,
    X509 *const *issuers, size_t n, char *b64, uint8_t *der, uint8_t *rec)
{
	const unsigned char *p = der;
	const uint8_t *t;
	size_t tlen, rlen = 0;
	X509 *x = NULL, *iss;
	const char *fail = NULL;
	int len, rc;

	if ((len = ledger_b64_decode(b64, strlen(b64), der,
	    LEDGER_CERT_DER_MAX)) <= 0 || (x = d2i_X509(NULL, &p, len)) ==
	    NULL || p != der + len ||
	    ledger_tbs_of_cert(der, (size_t)len, &t, &tlen) != 0)
		return "is not one DER certificate";
	if ((rc = ledger_store_cert_field(s, c->issued_index, "tbs", rec,
	    LEDGER_CERT_DER_MAX, &rlen)) < 0)
		fail = "has no readable entry";
	else if (rc == 1)
		fail = "belongs to an entry without a TBS";
	else if (rlen != tlen || memcmp(rec, t, tlen) != 0)
		fail = "is not the TBS its entry recorded";
	else if (n > 0 && (iss = vc_issuer(issuers, n, c->issuer)) == NULL)
		fail = "names an issuer not given to verify";
	else if (n > 0 && X509_verify(x, X509_get0_pubkey(iss)) != 1)
		fail = "has a signature that does not verify under its issuer";
	X509_free(x);
	return fail;
}

/* See ledger.h. */
int
ledger_verify_certs(const char *db, X509 *const *issuers, size_t n,
    struct ledger_verify_report *rep, uint64_t *checked)
{
	struct ledger_store *s = NULL;
	struct vc_page pg = { NULL, 0 };
	char after[41] = "", err[256], *b64 = NULL;
	uint8_t *der = NULL, *rec = NULL;
	size_t b64cap = LEDGER_CERT_DER_MAX * 4 / 3 + 8;
	const char *fail = NULL;
	int rc = -1, got;

	memset(rep, 0, sizeof(*rep));
	rep->bad_index = rep->bad_block = -1;
	rep->bad_trusted = -1;
	*checked = 0;
	if ((s = ledger_store_open(db, LEDGER_STORE_READONLY, err,
	    sizeof(err))) == NULL) {
		snprintf(rep->what, sizeof(rep->what), "%s", err);
		return -1;
	}
	if ((pg.c = calloc(LEDGER_LIST_MAX, sizeof(*pg.c))) == NULL ||
	    (b64 = malloc(b64cap)) == NULL ||
	    (der = malloc(LEDGER_CERT_DER_MAX)) == NULL ||
	    (rec = malloc(LEDGER_CERT_DER_MAX)) == NULL ||
	    s->ops->begin(s) != 0)
		goto out;
	do {
		pg.n = 0;
		if (s->ops->certs(s, after, LEDGER_LIST_MAX, vc_page_cb,
		    &pg) != 0)
			goto out;
		for (size_t i = 0; i < pg.n && fail == NULL; i++) {
			got = s->ops->cert_signed_get(s, pg.c[i].serial, b64,
			    b64cap);
			if (got < 0)
				goto out;
			if (got == 1)
				continue;
			fail = vc_check(s, &pg.c[i], issuers, n, b64, der, rec);
			if (fail != NULL) {
				rep->bad_index = (int64_t)pg.c[i].issued_index;
				snprintf(rep->what, sizeof(rep->what), "the "
				    "certificate %s kept beside the ledger %s",
				    pg.c[i].serial, fail);
			} else
				(*checked)++;
		}
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
	s->ops->rollback(s);
	s->ops->close(s);
	free(pg.c);
	free(b64);
	free(der);
	free(rec);
	return rc;
}
