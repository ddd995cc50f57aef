/*
 * crl.c: one CRL per issuer (RFC 5280 5), made from the ledger's revoked
 * set: v2, crlNumber, authorityKeyIdentifier, thisUpdate/nextUpdate and a
 * reasonCode per entry.  A revocation marks the issuer's CRL changed; the
 * revocations of the next OCSPR_CRL_DELAY_USEC are coalesced into one new
 * CRL, read from the ledger on the loop and built and signed on the
 * worker.  Every OCSPR_CRL_MIN_SEC the CRLs are made again whatever
 * happened, well inside their nextUpdate.
 *
 * crlNumber must strictly increase (RFC 5280 5.2.3) across restarts too:
 * it is the time in milliseconds, or the previous number plus one when
 * that is not larger.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ocsp/ocsp_int.h"

#define OCSPR_CRL_PREFIX "/crl/"
#define OCSPR_CRL_SUFFIX ".crl"
#define OCSPR_CRL_LIST_MIN 16

struct ocspr_crl {
	struct ocspr *r;
	int issuer;
	unsigned char *der;
	size_t len;
	uint64_t number;
	time_t this_update, next_update;
	int dirty, building;
	struct event *timer;
};

struct ocspr_crls {
	struct ocspr *r;
	struct ocspr_crl crl[OCSPR_MAX_ISSUERS];
	struct event *refresh;
};

static int
ocspr_crl_add(const struct ocspr_revoked *rv, void *arg)
{
	struct ocspr_job *j = arg;
	struct ocspr_revoked *n;
	size_t cap;

	if (j->nrevoked == j->caprevoked) {
		cap = j->caprevoked ? 2 * j->caprevoked : OCSPR_CRL_LIST_MIN;
		if ((n = reallocarray(j->revoked, cap, sizeof(*n))) == NULL)
			return -1;
		j->revoked = n;
		j->caprevoked = cap;
	}
	j->revoked[j->nrevoked++] = *rv;
	return 0;
}

static uint64_t
ocspr_crl_next_number(uint64_t prev)
{
	struct timeval tv;
	uint64_t ms;

	gettimeofday(&tv, NULL);
	ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	return ms > prev ? ms : prev + 1;
}

/* Loop thread: reads the revoked set and hands the CRL to the worker. */
static void
ocspr_crl_start(evutil_socket_t fd, short what, void *arg)
{
	struct ocspr_crl *c = arg;
	struct ocspr *r = c->r;
	struct ocspr_job *j;

	if (c->building || r->worker == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->kind = OCSPR_JOB_CRL;
	j->r = r;
	j->issuer = c->issuer;
	if (r->cfg.ops.revoked(r->cfg.ops.arg, c->issuer, ocspr_crl_add,
	    j) != 0) {
		free(j->revoked);
		free(j);
		/* the ledger could not be read: try again shortly */
		ocspr_crl_changed(r, c->issuer);
		return;
	}
	c->dirty = 0;
	c->building = 1;
	j->crl_number = ocspr_crl_next_number(c->number);
	ocspr_worker_push(r->worker, j);
}

/* See ocsp.h. */
void
ocspr_crl_changed(struct ocspr *r, int issuer)
{
	struct ocspr_crl *c;
	struct timeval tv = { 0, OCSPR_CRL_DELAY_USEC };

	if (r->crls == NULL || issuer < 0 || issuer >= r->nissuers)
		return;
	c = &r->crls->crl[issuer];
	c->dirty = 1;
	if (!c->building && !evtimer_pending(c->timer, NULL))
		evtimer_add(c->timer, &tv);
}

static void
ocspr_crl_refresh(evutil_socket_t fd, short what, void *arg)
{
	struct ocspr_crls *cs = arg;

	for (int i = 0; i < cs->r->nissuers; i++)
		ocspr_crl_changed(cs->r, i);
}

struct ocspr_crls *
ocspr_crls_new(struct ocspr *r)
{
	struct ocspr_crls *cs = calloc(1, sizeof(*cs));
	struct timeval tv = { OCSPR_CRL_MIN_SEC, 0 };

	if (cs == NULL)
		return NULL;
	cs->r = r;
	for (int i = 0; i < r->nissuers; i++) {
		cs->crl[i].r = r;
		cs->crl[i].issuer = i;
		if ((cs->crl[i].timer = evtimer_new(r->cfg.base,
		    ocspr_crl_start, &cs->crl[i])) == NULL) {
			ocspr_crls_free(cs);
			return NULL;
		}
	}
	if ((cs->refresh = event_new(r->cfg.base, -1, EV_PERSIST,
	    ocspr_crl_refresh, cs)) == NULL ||
	    event_add(cs->refresh, &tv) != 0) {
		ocspr_crls_free(cs);
		return NULL;
	}
	/* The first CRLs are made as soon as the loop runs. */
	r->crls = cs;
	for (int i = 0; i < r->nissuers; i++)
		ocspr_crl_changed(r, i);
	return cs;
}

void
ocspr_crls_free(struct ocspr_crls *cs)
{
	if (cs == NULL)
		return;
	for (int i = 0; i < OCSPR_MAX_ISSUERS; i++) {
		if (cs->crl[i].timer != NULL)
			event_free(cs->crl[i].timer);
		OPENSSL_free(cs->crl[i].der);
	}
	if (cs->refresh != NULL)
		event_free(cs->refresh);
	free(cs);
}

/* One revoked entry: serial, date and (unless unspecified, RFC 5280
 * 5.3.1) its reasonCode. */
static int
ocspr_crl_entry(X509_CRL *crl, const struct ocspr_revoked *rv)
{
	X509_REVOKED *x = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_ENUMERATED *reason = NULL;
	ASN1_TIME *t = NULL;
	BIGNUM *bn = NULL;
	int rc = -1;

	if ((x = X509_REVOKED_new()) == NULL ||
	    BN_hex2bn(&bn, rv->serial) <= 0 ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_REVOKED_set_serialNumber(x, serial) != 1 ||
	    (t = ASN1_TIME_set(NULL, rv->at)) == NULL ||
	    X509_REVOKED_set_revocationDate(x, t) != 1)
		goto out;
	if (rv->reason > 0 && ((reason = ASN1_ENUMERATED_new()) == NULL ||
	    ASN1_ENUMERATED_set(reason, rv->reason) != 1 ||
	    X509_REVOKED_add1_ext_i2d(x, NID_crl_reason, reason, 0, 0) != 1))
		goto out;
	if (X509_CRL_add0_revoked(crl, x) != 1)
		goto out;
	x = NULL;
	rc = 0;
out:
	X509_REVOKED_free(x);
	ASN1_INTEGER_free(serial);
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(t);
	BN_free(bn);
	return rc;
}

/* See ocsp_int.h.  Worker thread. */
int
ocspr_crl_build(struct ocspr *r, struct ocspr_job *j)
{
	X509 *issuer = r->issuers[j->issuer].cert;
	X509_CRL *crl = NULL;
	AUTHORITY_KEYID *akid = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_TIME *t1 = NULL, *t2 = NULL;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);
	int len, rc = -1;

	if ((crl = X509_CRL_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
	    (t1 = ASN1_TIME_set(NULL, j->now)) == NULL ||
	    (t2 = ASN1_TIME_set(NULL, j->now + r->cfg.crl_validity)) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, t1) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, t2) != 1)
		goto out;
	for (size_t i = 0; i < j->nrevoked; i++)
		if (ocspr_crl_entry(crl, &j->revoked[i]) != 0)
			goto out;
	/* RFC 5280 5.2.1: the AKI is the issuer's SKI. */
	if (ski == NULL || (akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_dup(ski)) == NULL ||
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0,
	    0) != 1)
		goto out;
	if ((num = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set_uint64(num, j->crl_number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
		goto out;
	if (X509_CRL_sort(crl) != 1 ||
	    r->cfg.ops.sign_crl(r->cfg.ops.arg, j->issuer, &crl) != 0 ||
	    (len = i2d_X509_CRL(crl, &j->der)) <= 0)
		goto out;
	j->len = (size_t)len;
	rc = 0;
out:
	X509_CRL_free(crl);
	AUTHORITY_KEYID_free(akid);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	ERR_clear_error();
	return rc;
}

/* See ocsp_int.h. */
void
ocspr_crl_done(struct ocspr_crls *cs, struct ocspr_job *j)
{
	struct ocspr_crl *c = &cs->crl[j->issuer];

	c->building = 0;
	if (!j->failed) {
		OPENSSL_free(c->der);
		c->der = j->der;
		c->len = j->len;
		j->der = NULL;
		c->number = j->crl_number;
		c->this_update = j->now;
		c->next_update = j->now + cs->r->cfg.crl_validity;
		cs->r->stats.crls++;
	} else
		c->dirty = 1;
	if (c->dirty && cs->r->worker != NULL)
		ocspr_crl_changed(cs->r, j->issuer);
}

/* See ocsp.h: GET /crl/<issuer-id>.crl. */
void
ocspr_crl_handle(struct evhttp_request *req, void *arg)
{
	struct ocspr *r = arg;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *p = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *body = NULL;
	struct ocspr_crl *c = NULL;
	char id[OCSPR_ISSUER_ID_MAX + 1], cc[64], date[OCSPR_DATE_MAX];
	size_t n;
	int i;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_add_header(h, "Allow", "GET");
		ocspr_http_refuse(req, 405, "Method Not Allowed",
		    "CRLs take GET");
		return;
	}
	if (p != NULL && strncmp(p, OCSPR_CRL_PREFIX,
	    strlen(OCSPR_CRL_PREFIX)) == 0) {
		p += strlen(OCSPR_CRL_PREFIX);
		n = strlen(p);
		if (n > strlen(OCSPR_CRL_SUFFIX) && n - strlen(OCSPR_CRL_SUFFIX)
		    <= OCSPR_ISSUER_ID_MAX && strcmp(p + n -
		    strlen(OCSPR_CRL_SUFFIX), OCSPR_CRL_SUFFIX) == 0) {
			n -= strlen(OCSPR_CRL_SUFFIX);
			memcpy(id, p, n);
			id[n] = '\0';
			for (i = 0; i < r->nissuers; i++)
				if (strcmp(r->issuers[i].id, id) == 0)
					c = &r->crls->crl[i];
		}
	}
	if (c == NULL) {
		ocspr_http_refuse(req, 404, "Not Found", "no such CRL: GET "
		    "/crl/<issuer id>.crl, the URL in issued certificates");
		return;
	}
	if (c->der == NULL) {
		/* only in the first moments after start */
		evhttp_add_header(h, "Retry-After", "1");
		evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
		if ((body = evbuffer_new()) != NULL)
			evbuffer_add_printf(body, "the CRL is being made; "
			    "retry\n");
		evhttp_send_reply(req, 503, "Service Unavailable", body);
		if (body != NULL)
			evbuffer_free(body);
		return;
	}
	snprintf(cc, sizeof(cc), "max-age=%ld, public, no-transform",
	    r->cfg.max_age);
	evhttp_add_header(h, "Content-Type", "application/pkix-crl");
	evhttp_add_header(h, "Cache-Control", cc);
	ocspr_http_date(c->this_update, date, sizeof(date));
	evhttp_add_header(h, "Last-Modified", date);
	ocspr_http_date(c->next_update, date, sizeof(date));
	evhttp_add_header(h, "Expires", date);
	if ((body = evbuffer_new()) == NULL ||
	    evbuffer_add(body, c->der, c->len) != 0) {
		ocspr_http_refuse(req, 500, "Internal Server Error",
		    "out of memory");
	} else
		evhttp_send_reply(req, 200, "OK", body);
	if (body != NULL)
		evbuffer_free(body);
}
