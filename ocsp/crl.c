/*
 * crl.c: the CRLs of every issuer (RFC 5280 5), made from the ledger's
 * revoked set, built and signed on the worker (crlbuild.c).  The
 * revocations of the next OCSPR_CRL_DELAY_USEC are coalesced; every
 * OCSPR_CRL_MIN_SEC the CRLs are made again whatever happened, well
 * inside their nextUpdate.
 *
 * Without partitions (crl_partitions = 1, the default) an issuer has one
 * full CRL, read whole from the ledger and made again after every
 * revocation, as before issue 18.
 *
 * With n partitions (docs/design.md "Partitioned and delta CRLs") an
 * issuer has n + 1 scopes: the full CRL (kept for the certificates that
 * name it) and the n partitions (crlurl.c), each a base CRL and a delta
 * CRL (5.2.4).  A revocation adds the serial to the "since" list of its
 * partition and of the full CRL, and only their deltas are made again:
 * the status of the serials in the list, read one by one, not the whole
 * revoked set.  A base is made again when its delta lists
 * OCSPR_CRL_DELTA_MAX serials, OCSPR_CRL_BASE_SEC after its delta
 * started to list any, and hourly; the bases due together share one
 * read of the revoked set.
 *
 * A base's snapshot is the revoked set read when its job starts; the
 * revocations that come while it is being built are kept in "next",
 * which becomes its "since" when it is served.
 *
 * crlNumber must strictly increase (RFC 5280 5.2.3) across restarts too,
 * and bases and deltas share one sequence (5.2.4): per issuer, the time
 * in milliseconds, or the previous number plus one when that is not
 * larger.  The worker signs jobs in the order they were queued, so the
 * key process sees them rising too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "ocsp/ocsp_int.h"

#define OCSPR_CRL_PREFIX "/crl/"
#define OCSPR_CRL_LIST_MIN 16
#define OCSPR_CRL_DIGITS 3		/* of n and p in a partition path */

/* Serials revoked since a base's snapshot. */
struct ocspr_since {
	char (*s)[OCSPR_SERIAL_MAX + 1];
	size_t n, cap;
};

/* One signed CRL as served. */
struct ocspr_crl_doc {
	unsigned char *der;
	size_t len;
	uint64_t number;
	time_t this_update, next_update;
};

/* One scope: the full CRL (part -1) or a partition. */
struct ocspr_crl {
	int part;
	struct ocspr_crl_doc base, delta;
	int base_dirty, delta_dirty, base_building, delta_building;
	/* base read back at start (crlsave.c): served until the first
	 * base is made, never the base of a new delta (the revocations its
	 * old delta listed would be lost) */
	int base_loaded;
	struct ocspr_since since, next;
};

struct ocspr_crl_issuer {
	struct ocspr_crls *cs;
	int issuer;
	struct ocspr_crl *scope;	/* [0] full, [1 + p] partition p */
	int nscope;
	uint64_t number;		/* the last crlNumber given */
	struct event *timer;
};

struct ocspr_crls {
	struct ocspr *r;
	int parts;			/* > 1: partitions and deltas */
	char *dir;			/* crl_dir, or NULL */
	int save_failing;		/* the last write to dir failed */
	struct ocspr_crl_issuer is[OCSPR_MAX_ISSUERS];
	struct event *refresh, *basetick;
};

static int
ocspr_since_add(struct ocspr_since *s, const char *serial)
{
	char (*n)[OCSPR_SERIAL_MAX + 1];
	size_t cap;

	if (s->n == s->cap) {
		cap = s->cap ? 2 * s->cap : OCSPR_CRL_LIST_MIN;
		if ((n = reallocarray(s->s, cap, sizeof(*n))) == NULL)
			return -1;
		s->s = n;
		s->cap = cap;
	}
	snprintf(s->s[s->n++], sizeof(s->s[0]), "%s", serial);
	return 0;
}

static void
ocspr_since_swap(struct ocspr_since *a, struct ocspr_since *b)
{
	struct ocspr_since t = *a;

	*a = *b;
	*b = t;
}

static int
ocspr_crl_add(const struct ocspr_revoked *rv, struct ocspr_job *j)
{
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
ocspr_crl_next_number(struct ocspr_crl_issuer *ci)
{
	struct timeval tv;
	uint64_t ms;

	gettimeofday(&tv, NULL);
	ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	ci->number = ms > ci->number ? ms : ci->number + 1;
	return ci->number;
}

static void
ocspr_crl_kick(struct ocspr_crl_issuer *ci)
{
	struct timeval tv = { 0, OCSPR_CRL_DELAY_USEC };

	if (ci->timer != NULL && !evtimer_pending(ci->timer, NULL))
		evtimer_add(ci->timer, &tv);
}

static struct ocspr_job *
ocspr_crl_job(struct ocspr_crl_issuer *ci, const struct ocspr_crl *c,
    int delta)
{
	struct ocspr_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->kind = OCSPR_JOB_CRL;
	j->r = ci->cs->r;
	j->issuer = ci->issuer;
	j->crl_part = c->part;
	j->crl_delta = delta;
	j->crl_base = c->base.number;
	return j;
}

/* The base jobs of one read of the revoked set, by scope. */
struct ocspr_crl_read {
	struct ocspr_job *job[1 + OCSPR_CRL_PARTS_MAX];
	int parts;
};

/* Hands one revoked entry to the full CRL's job and its partition's. */
static int
ocspr_crl_route(const struct ocspr_revoked *rv, void *arg)
{
	struct ocspr_crl_read *rd = arg;
	int p;

	if (rd->job[0] != NULL && ocspr_crl_add(rv, rd->job[0]) != 0)
		return -1;
	if (rd->parts <= 1)
		return 0;
	if ((p = ocspr_crlurl_partition(rv->serial, rd->parts)) < 0)
		return 0;		/* not a serial we issue */
	if (rd->job[1 + p] != NULL && ocspr_crl_add(rv, rd->job[1 + p]) != 0)
		return -1;
	return 0;
}

/* Loop thread: the bases due, from one read of the revoked set. */
static void
ocspr_crl_start_bases(struct ocspr_crl_issuer *ci)
{
	struct ocspr *r = ci->cs->r;
	struct ocspr_crl_read rd;
	struct ocspr_crl *c;
	int i, any = 0;

	memset(&rd, 0, sizeof(rd));
	rd.parts = ci->cs->parts;
	for (i = 0; i < ci->nscope; i++) {
		c = &ci->scope[i];
		if (!c->base_dirty || c->base_building)
			continue;
		if ((rd.job[i] = ocspr_crl_job(ci, c, 0)) == NULL)
			goto fail;
		any = 1;
	}
	if (!any)
		return;
	if (r->cfg.ops.revoked(r->cfg.ops.arg, ci->issuer, ocspr_crl_route,
	    &rd) != 0)
		goto fail;
	for (i = 0; i < ci->nscope; i++) {
		if (rd.job[i] == NULL)
			continue;
		c = &ci->scope[i];
		c->base_dirty = 0;
		c->base_building = 1;
		c->next.n = 0;
		rd.job[i]->crl_number = ocspr_crl_next_number(ci);
		ocspr_worker_push(r->worker, rd.job[i]);
	}
	return;
fail:
	for (i = 0; i < ci->nscope; i++)
		if (rd.job[i] != NULL) {
			free(rd.job[i]->revoked);
			free(rd.job[i]);
		}
	/* the ledger could not be read: try again shortly */
	ocspr_crl_kick(ci);
}

/* Loop thread: the delta of c, from the status of each serial in its
 * since list.  0, or -1 (the ledger could not be read). */
static int
ocspr_crl_start_delta(struct ocspr_crl_issuer *ci, struct ocspr_crl *c)
{
	struct ocspr *r = ci->cs->r;
	struct ocspr_job *j;
	struct ocspr_status st;
	struct ocspr_revoked rv;

	if ((j = ocspr_crl_job(ci, c, 1)) == NULL)
		return -1;
	for (size_t k = 0; k < c->since.n; k++) {
		if (r->cfg.ops.status(r->cfg.ops.arg, ci->issuer,
		    c->since.s[k], &st) != 0)
			goto fail;
		if (st.state != OCSPR_REVOKED)
			continue;
		memset(&rv, 0, sizeof(rv));
		snprintf(rv.serial, sizeof(rv.serial), "%s", c->since.s[k]);
		rv.at = st.revoked_at;
		rv.reason = st.reason;
		if (ocspr_crl_add(&rv, j) != 0)
			goto fail;
	}
	c->delta_dirty = 0;
	c->delta_building = 1;
	j->crl_number = ocspr_crl_next_number(ci);
	ocspr_worker_push(r->worker, j);
	return 0;
fail:
	free(j->revoked);
	free(j);
	return -1;
}

/* Loop thread: starts what issuer ci's CRLs need. */
static void
ocspr_crl_start(evutil_socket_t fd, short what, void *arg)
{
	struct ocspr_crl_issuer *ci = arg;
	struct ocspr_crl *c;

	if (ci->cs->r->worker == NULL)
		return;
	/* deltas first: the worker signs in queue order, and a base of
	 * the full CRL takes seconds at a million certificates */
	for (int i = 0; ci->cs->parts > 1 && i < ci->nscope; i++) {
		c = &ci->scope[i];
		if (c->delta_dirty && !c->delta_building && c->base.der !=
		    NULL && !c->base_loaded && ocspr_crl_start_delta(ci, c) !=
		    0) {
			ocspr_crl_kick(ci);
			break;
		}
	}
	ocspr_crl_start_bases(ci);
}

static struct ocspr_crl_issuer *
ocspr_crl_issuer(struct ocspr *r, int issuer)
{
	if (r->crls == NULL || issuer < 0 || issuer >= r->nissuers)
		return NULL;
	return &r->crls->is[issuer];
}

/* See ocsp.h. */
void
ocspr_crl_changed(struct ocspr *r, int issuer)
{
	struct ocspr_crl_issuer *ci = ocspr_crl_issuer(r, issuer);

	if (ci == NULL)
		return;
	for (int i = 0; i < ci->nscope; i++)
		ci->scope[i].base_dirty = 1;
	ocspr_crl_kick(ci);
}

/* A revocation in scope c: its delta, or its base when the delta has
 * grown long (or cannot grow). */
static void
ocspr_crl_note(struct ocspr_crl *c, const char *serial)
{
	if (ocspr_since_add(&c->since, serial) != 0 || (c->base_building &&
	    ocspr_since_add(&c->next, serial) != 0) ||
	    c->since.n >= OCSPR_CRL_DELTA_MAX)
		c->base_dirty = 1;
	c->delta_dirty = 1;
}

/* See ocsp.h. */
int
ocspr_crl_revoked(struct ocspr *r, int issuer, const char *serial)
{
	struct ocspr_crl_issuer *ci = ocspr_crl_issuer(r, issuer);
	int p;

	if (ci == NULL)
		return 0;
	if (ci->cs->parts <= 1) {
		ocspr_crl_changed(r, issuer);
		return 0;
	}
	if ((p = ocspr_crlurl_partition(serial, ci->cs->parts)) < 0)
		return -1;
	ocspr_crl_note(&ci->scope[0], serial);
	ocspr_crl_note(&ci->scope[1 + p], serial);
	ocspr_crl_kick(ci);
	return 0;
}

/* Hourly: every CRL made again. */
static void
ocspr_crl_refresh(evutil_socket_t fd, short what, void *arg)
{
	struct ocspr_crls *cs = arg;

	for (int i = 0; i < cs->r->nissuers; i++)
		ocspr_crl_changed(cs->r, i);
}

/* Every OCSPR_CRL_BASE_SEC: the bases whose deltas list anything.  (A
 * revocation just before the tick waits one tick more at most.) */
static void
ocspr_crl_basetick(evutil_socket_t fd, short what, void *arg)
{
	struct ocspr_crls *cs = arg;
	struct ocspr_crl_issuer *ci;

	for (int i = 0; i < cs->r->nissuers; i++) {
		ci = &cs->is[i];
		for (int k = 0; k < ci->nscope; k++)
			if (ci->scope[k].since.n > 0)
				ci->scope[k].base_dirty = 1;
		ocspr_crl_kick(ci);
	}
}

/* The file name of scope c of ci, its delta when delta is set. */
static int
ocspr_crl_file(const struct ocspr_crl_issuer *ci, const struct ocspr_crl *c,
    int delta, char *out, size_t len)
{
	return ocspr_crlsave_name(ci->cs->r->issuers[ci->issuer].id,
	    ci->cs->parts, c->part, delta, out, len);
}

/* d as served from what the file held (taking its DER). */
static void
ocspr_crl_doc_take(struct ocspr_crl_doc *d, struct ocspr_crlsave_doc *s)
{
	d->der = s->der;
	d->len = s->len;
	d->number = s->number;
	d->this_update = s->this_update;
	d->next_update = s->next_update;
	s->der = NULL;
}

/* At start: the CRLs of ci served before the stop, read back; a delta
 * only with the very base it completes.  The crlNumbers given go on
 * above theirs whatever the clock says.  One log line for the issuer:
 * a long stop leaves every file past its nextUpdate. */
static void
ocspr_crl_load(struct ocspr_crl_issuer *ci, time_t now)
{
	struct ocspr_crls *cs = ci->cs;
	struct ocspr_issuer *is = &cs->r->issuers[ci->issuer];
	struct ocspr_crlsave_doc doc;
	struct ocspr_crl *c;
	const char *why, *first = NULL;
	char name[OCSPR_URL_MAX];
	int served = 0, refused = 0;

	for (int k = 0; k < 2 * ci->nscope; k++) {
		c = &ci->scope[k / 2];
		if ((k % 2 == 1 && (cs->parts <= 1 || !c->base_loaded)) ||
		    ocspr_crl_file(ci, c, k % 2, name, sizeof(name)) != 0)
			continue;
		if (ocspr_crlsave_read(cs->dir, name, is->cert, k % 2, now,
		    &doc, &why) != 0) {
			refused += why != NULL;
			first = first != NULL ? first : why;
			continue;
		}
		if (k % 2 == 1 && doc.base != c->base.number) {
			refused++;
			first = first != NULL ? first : "a delta of another base";
			OPENSSL_free(doc.der);
			continue;
		}
		if (doc.number > ci->number)
			ci->number = doc.number;
		ocspr_crl_doc_take(k % 2 ? &c->delta : &c->base, &doc);
		c->base_loaded |= k % 2 == 0;
		served++;
	}
	if (served > 0 || refused > 0)
		log_info("CRL: issuer %s: %d kept CRLs served again, %d refused"
		    "%s%s%s", is->id, served, refused, first != NULL ?
		    " (first: " : "", first != NULL ? first : "",
		    first != NULL ? ")" : "");
}

/* See ocsp_int.h. */
struct ocspr_crls *
ocspr_crls_new(struct ocspr *r)
{
	struct ocspr_crls *cs = calloc(1, sizeof(*cs));
	struct timeval tv = { OCSPR_CRL_MIN_SEC, 0 };
	struct timeval btv = { OCSPR_CRL_BASE_SEC, 0 };
	struct ocspr_crl_issuer *ci;

	if (cs == NULL)
		return NULL;
	cs->r = r;
	cs->parts = r->cfg.crl_partitions > 1 ? r->cfg.crl_partitions : 1;
	for (int i = 0; i < r->nissuers; i++) {
		ci = &cs->is[i];
		ci->cs = cs;
		ci->issuer = i;
		ci->nscope = cs->parts > 1 ? 1 + cs->parts : 1;
		if ((ci->scope = calloc((size_t)ci->nscope,
		    sizeof(*ci->scope))) == NULL ||
		    (ci->timer = evtimer_new(r->cfg.base, ocspr_crl_start,
		    ci)) == NULL)
			goto fail;
		for (int k = 0; k < ci->nscope; k++)
			ci->scope[k].part = k - 1;
	}
	if (r->cfg.crl_dir != NULL && r->cfg.crl_dir[0] != '\0') {
		if ((cs->dir = strdup(r->cfg.crl_dir)) == NULL)
			goto fail;
		for (int i = 0; i < r->nissuers; i++)
			ocspr_crl_load(&cs->is[i], time(NULL));
	}
	if ((cs->refresh = event_new(r->cfg.base, -1, EV_PERSIST,
	    ocspr_crl_refresh, cs)) == NULL ||
	    event_add(cs->refresh, &tv) != 0)
		goto fail;
	if (cs->parts > 1 && ((cs->basetick = event_new(r->cfg.base, -1,
	    EV_PERSIST, ocspr_crl_basetick, cs)) == NULL ||
	    event_add(cs->basetick, &btv) != 0))
		goto fail;
	/* The first CRLs are made as soon as the loop runs. */
	r->crls = cs;
	for (int i = 0; i < r->nissuers; i++)
		ocspr_crl_changed(r, i);
	return cs;
fail:
	ocspr_crls_free(cs);
	return NULL;
}

void
ocspr_crls_free(struct ocspr_crls *cs)
{
	struct ocspr_crl *c;

	if (cs == NULL)
		return;
	for (int i = 0; i < OCSPR_MAX_ISSUERS; i++) {
		if (cs->is[i].timer != NULL)
			event_free(cs->is[i].timer);
		for (int k = 0; cs->is[i].scope != NULL &&
		    k < cs->is[i].nscope; k++) {
			c = &cs->is[i].scope[k];
			OPENSSL_free(c->base.der);
			OPENSSL_free(c->delta.der);
			free(c->since.s);
			free(c->next.s);
		}
		free(cs->is[i].scope);
	}
	if (cs->refresh != NULL)
		event_free(cs->refresh);
	if (cs->basetick != NULL)
		event_free(cs->basetick);
	free(cs->dir);
	free(cs);
}

/* Serves what job j made (taking its DER), and keeps it in its file.
 * (On the loop: a partition's CRL is kilobytes; the full CRL at a
 * million certificates megabytes, written to the page cache once per
 * OCSPR_CRL_BASE_SEC at most.) */
static void
ocspr_crl_keep(struct ocspr_crls *cs, struct ocspr_crl_issuer *ci,
    struct ocspr_crl *c, struct ocspr_job *j)
{
	struct ocspr_crl_doc *d = j->crl_delta ? &c->delta : &c->base;
	char name[OCSPR_URL_MAX];

	OPENSSL_free(d->der);
	d->der = j->der;
	d->len = j->len;
	j->der = NULL;
	d->number = j->crl_number;
	d->this_update = j->now;
	d->next_update = j->now + cs->r->cfg.crl_validity;
	cs->r->stats.crls++;
	if (cs->dir == NULL || ocspr_crl_file(ci, c, j->crl_delta, name,
	    sizeof(name)) != 0)
		return;
	if (ocspr_crlsave_write(cs->dir, name, d->der, d->len) == 0) {
		if (cs->save_failing)
			log_info("CRL: kept in %s again", cs->dir);
		cs->save_failing = 0;
	} else if (!cs->save_failing) {
		/* once per run of failures: CRLs are made every revocation */
		log_warn("CRL: cannot keep %s/%s: %s (a restart will answer "
		    "503 for the CRLs not kept until they are made again)",
		    cs->dir, name, strerror(errno));
		cs->save_failing = 1;
	}
}

/* See ocsp_int.h. */
void
ocspr_crl_done(struct ocspr_crls *cs, struct ocspr_job *j)
{
	struct ocspr_crl_issuer *ci = &cs->is[j->issuer];
	struct ocspr_crl *c = &ci->scope[j->crl_part + 1];

	if (j->crl_delta) {
		c->delta_building = 0;
		/* a delta of a base no longer served is made again */
		if (!j->failed && j->crl_base == c->base.number)
			ocspr_crl_keep(cs, ci, c, j);
		else
			c->delta_dirty = 1;
	} else {
		c->base_building = 0;
		if (!j->failed) {
			ocspr_crl_keep(cs, ci, c, j);
			c->base_loaded = 0;
			ocspr_since_swap(&c->since, &c->next);
			c->next.n = 0;
			c->delta_dirty = cs->parts > 1;
		} else
			c->base_dirty = 1;
	}
	if ((c->base_dirty || c->delta_dirty) && cs->r->worker != NULL)
		ocspr_crl_kick(ci);
}

/* The CRL a path after "/crl/" names (see crlurl.c), or NULL. */
static struct ocspr_crl_doc *
ocspr_crl_find(struct ocspr *r, const char *p)
{
	struct ocspr_crl_issuer *ci = NULL;
	struct ocspr_crl *c;
	char id[OCSPR_ISSUER_ID_MAX + 1];
	size_t n = strcspn(p, "./"), dn, dp;
	long parts, part = -1;
	int delta;

	if (n == 0 || n > OCSPR_ISSUER_ID_MAX)
		return NULL;
	memcpy(id, p, n);
	id[n] = '\0';
	for (int i = 0; i < r->nissuers; i++)
		if (strcmp(r->issuers[i].id, id) == 0)
			ci = &r->crls->is[i];
	if (ci == NULL)
		return NULL;
	p += n;
	if (p[0] == '/') {
		/* "/<n>/<p>": decimal without leading zeros, the one
		 * spelling crlurl.c writes; the configured n only, p below
		 * it */
		dn = strspn(p + 1, "0123456789");
		if (dn == 0 || dn > OCSPR_CRL_DIGITS || p[1 + dn] != '/' ||
		    (dn > 1 && p[1] == '0'))
			return NULL;
		dp = strspn(p + 2 + dn, "0123456789");
		if (dp == 0 || dp > OCSPR_CRL_DIGITS ||
		    (dp > 1 && p[2 + dn] == '0'))
			return NULL;
		parts = strtol(p + 1, NULL, 10);
		part = strtol(p + 2 + dn, NULL, 10);
		if (r->crls->parts <= 1 || parts != r->crls->parts ||
		    part >= parts)
			return NULL;
		p += 2 + dn + dp;
	}
	if (strcmp(p, ".crl") == 0)
		delta = 0;
	else if (strcmp(p, ".delta.crl") == 0 && r->crls->parts > 1)
		delta = 1;
	else
		return NULL;
	c = &ci->scope[part + 1];
	return delta ? &c->delta : &c->base;
}

/* See ocsp.h: GET /crl/<issuer-id>.crl and the partitions' URLs. */
void
ocspr_crl_handle(struct evhttp_request *req, void *arg)
{
	struct ocspr *r = arg;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *p = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *body = NULL;
	struct ocspr_crl_doc *d = NULL;
	char cc[64], date[OCSPR_DATE_MAX];

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_add_header(h, "Allow", "GET");
		ocspr_http_refuse(req, 405, "Method Not Allowed",
		    "CRLs take GET");
		return;
	}
	if (p != NULL && strncmp(p, OCSPR_CRL_PREFIX,
	    strlen(OCSPR_CRL_PREFIX)) == 0)
		d = ocspr_crl_find(r, p + strlen(OCSPR_CRL_PREFIX));
	if (d == NULL) {
		ocspr_http_refuse(req, 404, "Not Found", "no such CRL: GET "
		    "the URL in issued certificates (/crl/<issuer id>.crl, "
		    "or a partition's /crl/<issuer id>/<n>/<p>.crl)");
		return;
	}
	if (d->der == NULL) {
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
	ocspr_http_date(d->this_update, date, sizeof(date));
	evhttp_add_header(h, "Last-Modified", date);
	ocspr_http_date(d->next_update, date, sizeof(date));
	evhttp_add_header(h, "Expires", date);
	if ((body = evbuffer_new()) == NULL ||
	    evbuffer_add(body, d->der, d->len) != 0) {
		ocspr_http_refuse(req, 500, "Internal Server Error",
		    "out of memory");
	} else
		evhttp_send_reply(req, 200, "OK", body);
	if (body != NULL)
		evbuffer_free(body);
}
