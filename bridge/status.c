/*
 * status.c: OCSP and CRLs answered from the ledger (docs/design.md "Status").
 *
 * ocsp/ asks; this file answers from the ledger's registry: a serial's
 * status (trust rules 2-4: the certificate was recorded, neither it nor
 * its key is revoked), the revoked set of the CRL, and signatures through
 * the signer.  After every commit status_sync() reads the new entries and
 * tells the responder what changed, so a revocation reaches OCSP and the
 * CRL within the commit plus one signature.
 *
 * At start every certificate's responses are signed in the background, a
 * page of certificates per loop turn, so that GETs are answered from the
 * cache; a request that comes first is signed for on demand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/x509.h>

#include "bridge/bridge.h"

#define STATUS_PAGE 500		/* certificates per pre-signing turn */
#define STATUS_ISSUING_DER "/ca/issuing.der"

struct status_ctx {
	struct ledger *ledger;		/* borrowed */
	struct signer *signer;		/* borrowed */
	struct ocspr *r;
	uint64_t seen;			/* entries read by status_sync */
	void (*on_change)(void *, const char *);
	void *on_change_arg;
	char cursor[41];		/* pre-signing: last serial queued */
	struct event *presign;
	/* The served issuers' DER (issue 17: the signer's, after
	 * signer_retire_expired; ocspr's issuer i is the signer's i):
	 * GET /ca/<id>.der, and /ca/issuing.der for init's CA. */
	unsigned char *der[OCSPR_MAX_ISSUERS];
	size_t der_len[OCSPR_MAX_ISSUERS];
	int original;			/* the index of init's CA, or -1 */
	/* Each issuer's full CRL URL, as its certificates name it (the
	 * partitions' are made from it, ocsp/crlurl.c). */
	char crl_url[OCSPR_MAX_ISSUERS][OCSPR_URL_MAX];
};

/* The served issuer index of issuer id id, or -1. */
static int
status_index(struct status_ctx *sc, const char *id)
{
	for (size_t i = 0; i < signer_nissuers(sc->signer); i++)
		if (strcmp(id, signer_issuer_id_at(sc->signer, i)) == 0)
			return (int)i;
	return -1;
}

/* The served issuer index of the certificate serial, or -1. */
static int
status_serial_index(struct status_ctx *sc, const char *serial)
{
	struct ledger_cert_info c;

	if (ledger_cert_get(sc->ledger, serial, &c) != 0)
		return -1;
	return status_index(sc, c.issuer);
}

static int
status_lookup(void *arg, int issuer, const char *serial,
    struct ocspr_status *st)
{
	struct status_ctx *sc = arg;
	struct ledger_cert_info c;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = ledger_cert_get(sc->ledger, serial, &c)) < 0)
		return -1;
	if (rc == 1 || strcmp(c.issuer, signer_issuer_id_at(sc->signer,
	    (size_t)issuer)) != 0) {
		st->state = OCSPR_NOT_ISSUED;
		return 0;
	}
	st->not_after = c.not_after;
	st->state = ledger_cert_revoked(&c, &st->revoked_at, &st->reason) ?
	    OCSPR_REVOKED : OCSPR_GOOD;
	return 0;
}

struct status_revoked_arg {
	int (*add)(const struct ocspr_revoked *, void *);
	void *arg;
};

static int
status_revoked_one(const struct ledger_cert_info *c, void *arg)
{
	struct status_revoked_arg *a = arg;
	struct ocspr_revoked rv;

	memset(&rv, 0, sizeof(rv));
	snprintf(rv.serial, sizeof(rv.serial), "%s", c->serial);
	if (!ledger_cert_revoked(c, &rv.at, &rv.reason))
		return 0;
	return a->add(&rv, a->arg) != 0;
}

static int
status_revoked(void *arg, int issuer,
    int (*add)(const struct ocspr_revoked *, void *), void *add_arg)
{
	struct status_ctx *sc = arg;
	struct status_revoked_arg a = { add, add_arg };

	return ledger_certs_revoked(sc->ledger, signer_issuer_id_at(sc->signer,
	    (size_t)issuer), time(NULL), status_revoked_one, &a);
}

static int
status_sign_ocsp(void *arg, OCSP_BASICRESP **bs)
{
	struct status_ctx *sc = arg;

	return signer_sign_ocsp(sc->signer, bs);
}

static int
status_sign_ocsp_send(void *arg, OCSP_BASICRESP **bs, int n)
{
	struct status_ctx *sc = arg;

	return signer_ocsp_send(sc->signer, bs, n);
}

static int
status_sign_ocsp_recv(void *arg, OCSP_BASICRESP **bs, int n)
{
	struct status_ctx *sc = arg;

	return signer_ocsp_recv(sc->signer, bs, n);
}

static int
status_sign_crl(void *arg, int issuer, X509_CRL **crl)
{
	struct status_ctx *sc = arg;

	return signer_sign_crl_of(sc->signer, (size_t)issuer, crl);
}

static int
status_key_cert(const struct ledger_cert_info *c, void *arg)
{
	struct status_ctx *sc = arg;
	int i = status_index(sc, c->issuer);

	if (i >= 0) {
		ocspr_refresh(sc->r, i, c->serial);
		ocspr_crl_revoked(sc->r, i, c->serial);
	}
	if (sc->on_change != NULL)
		sc->on_change(sc->on_change_arg, c->serial);
	return 0;
}

/* A certificate's status changed: its issuer's responses, and its CRL
 * when crl is set. */
static void
status_changed(struct status_ctx *sc, const char *serial, int crl)
{
	int i = status_serial_index(sc, serial);

	if (i >= 0) {
		ocspr_refresh(sc->r, i, serial);
		if (crl)
			ocspr_crl_revoked(sc->r, i, serial);
	}
	if (sc->on_change != NULL)
		sc->on_change(sc->on_change_arg, serial);
}

static int
status_change(const struct ledger_change *ch, void *arg)
{
	struct status_ctx *sc = arg;

	switch (ch->type) {
	case LEDGER_CERT_ISSUED:
		/* A new certificate is not pre-signed here: two OCSP
		 * signatures per enrollment were a tenth of its CPU
		 * (docs/benchmarks.md "EST18"), for answers most
		 * certificates are never asked.  Its first request is
		 * signed live with the ledger's status of that moment and
		 * queues the pre-signing (ocsp/routes.c ocspr_live).
		 * Nothing stale can be cached for it: a serial not issued
		 * is never pre-signed (ocspr_feed) and live answers are
		 * not kept.  Revocations, below, still refresh at once. */
		if (sc->on_change != NULL)
			sc->on_change(sc->on_change_arg, ch->serial);
		/* A renewal or rekey revokes the certificate it supersedes
		 * in the same entry: a revocation like cert-revoked's (of
		 * its own issuer, maybe one rolled over from). */
		if (ch->supersedes[0] != '\0')
			status_changed(sc, ch->supersedes, 1);
		break;
	case LEDGER_CERT_REVOKED:
		status_changed(sc, ch->serial, 1);
		break;
	case LEDGER_KEY_REVOKE:
		if (ledger_key_certs(sc->ledger, ch->key_id, status_key_cert,
		    sc) != 0)
			log_warn("status: cannot read the certificates of "
			    "key %s", ch->key_id);
		break;
	default:
		break;
	}
	return 0;
}

/* See bridge.h. */
void
status_sync(struct status_ctx *sc)
{
	uint64_t size = ledger_size(sc->ledger), next;

	while (sc->seen < size) {
		if (ledger_changes(sc->ledger, sc->seen, LEDGER_LIST_MAX,
		    &next, status_change, sc) != 0 || next <= sc->seen) {
			log_warn("status: cannot read ledger entries from %llu",
			    (unsigned long long)sc->seen);
			return;
		}
		sc->seen = next;
	}
}

static int
status_presign_one(const struct ledger_cert_info *c, void *arg)
{
	struct status_ctx *sc = arg;
	time_t at;
	int reason;

	int i = status_index(sc, c->issuer);

	snprintf(sc->cursor, sizeof(sc->cursor), "%s", c->serial);
	/* Expired ones are answered on demand only; with a store, those
	 * whose stored answers are fresh and right are not signed again
	 * (issue 18). */
	if (i >= 0 && (c->not_after > time(NULL) ||
	    ledger_cert_revoked(c, &at, &reason)))
		ocspr_warm(sc->r, i, c->serial);
	return 0;
}

/* One page of certificates into the pre-signing queue per loop turn.
 * The next page is a zero timer, not event_active: libevent runs an
 * event activated from a callback in the same pass, before it polls the
 * sockets again, so the whole pass ran as one turn and no OCSP request
 * was answered until it ended (4.5 s at 100,000 certificates with the
 * store, ~45 s at a million: issue 18).  A timer waits for the poll. */
static void
status_presign(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval next_page = { 0, 0 };
	struct status_ctx *sc = arg;
	char before[41];

	memcpy(before, sc->cursor, sizeof(before));
	if (ledger_certs(sc->ledger, sc->cursor, STATUS_PAGE,
	    status_presign_one, sc) != 0) {
		log_warn("status: cannot list certificates to pre-sign");
		return;
	}
	if (strcmp(before, sc->cursor) != 0) {
		if (event_add(sc->presign, &next_page) != 0)
			log_warn("status: cannot schedule pre-signing");
	} else
		log_info("status: OCSP responses queued for every "
		    "certificate");
}

/* Answers GET/HEAD with issuer i's certificate (DER). */
static void
status_send_der(struct evhttp_request *req, struct status_ctx *sc, int i)
{
	struct evbuffer *body = NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);

	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET");
		server_reply_error(req, 405, "method_not_allowed",
		    "use GET on /ca/");
		return;
	}
	body = evbuffer_new();
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/pkix-cert");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "max-age=86400, public");
	if (body == NULL || evbuffer_add(body, sc->der[i],
	    sc->der_len[i]) != 0)
		evhttp_send_error(req, 500, "out of memory");
	else
		evhttp_send_reply(req, 200, "OK", body);
	if (body != NULL)
		evbuffer_free(body);
}

/* GET /ca/issuing.der: the AIA caIssuers URL of the certificates of
 * init's CA (the current one once that is retired). */
static void
status_issuing(struct evhttp_request *req, void *arg)
{
	struct status_ctx *sc = arg;

	status_send_der(req, sc, sc->original >= 0 ? sc->original : 0);
}

/* GET /ca/<issuer id>.der: the AIA caIssuers URL of the certificates of
 * a CA made by `ca rollover` (any served issuer answers). */
static void
status_ca_der(struct evhttp_request *req, void *arg)
{
	struct status_ctx *sc = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(
	    req));
	char id[OCSPR_ISSUER_ID_MAX + 1];
	size_t len;
	int i;

	if (path == NULL || strncmp(path, "/ca/", 4) != 0 ||
	    (len = strlen(path + 4)) <= 4 || len - 4 > OCSPR_ISSUER_ID_MAX ||
	    strcmp(path + 4 + len - 4, ".der") != 0) {
		server_reply_error(req, 404, "not_found", "GET /ca/<issuer "
		    "id>.der, the URL in issued certificates");
		return;
	}
	memcpy(id, path + 4, len - 4);
	id[len - 4] = '\0';
	if ((i = status_index(sc, id)) < 0) {
		server_reply_error(req, 404, "not_found", "no issuer of that "
		    "id is served here");
		return;
	}
	status_send_der(req, sc, i);
}

/* See bridge.h. */
struct status_ctx *
status_new(struct event_base *base, struct ledger *l, struct signer *s,
    const struct bridge_config *cfg, char *err, size_t errlen)
{
	struct status_ctx *sc = calloc(1, sizeof(*sc));
	struct ocspr_config oc;
	char store_path[PATH_MAX], crl_dir[PATH_MAX];

	if (sc == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sc->ledger = l;
	sc->signer = s;
	sc->seen = ledger_size(l);
	memset(&oc, 0, sizeof(oc));
	oc.base = base;
	/* Every served issuer (issue 17): the current one first. */
	sc->original = -1;
	for (size_t i = 0; i < signer_nissuers(s) && i < OCSPR_MAX_ISSUERS;
	    i++) {
		char cai[OCSPR_URL_MAX];
		int len;

		oc.issuers[i] = signer_issuer_at(s, i);
		oc.issuer_ids[i] = signer_issuer_id_at(s, i);
		oc.nissuers++;
		if (signer_issuer_original(s, i))
			sc->original = (int)i;
		ca_issuer_urls(cfg->public_http_url, oc.issuer_ids[i],
		    signer_issuer_original(s, i), cai, sizeof(cai),
		    sc->crl_url[i], sizeof(sc->crl_url[i]));
		oc.crl_urls[i] = sc->crl_url[i];
		if ((len = i2d_X509(oc.issuers[i], &sc->der[i])) <= 0) {
			snprintf(err, errlen, "cannot encode an issuing CA");
			goto fail;
		}
		sc->der_len[i] = (size_t)len;
	}
	oc.validity = cfg->ocsp_validity;
	oc.max_age = cfg->ocsp_max_age;
	oc.crl_validity = cfg->crl_validity;
	oc.crl_partitions = (int)cfg->crl_partitions;
	oc.cache_max = (size_t)cfg->ocsp_cache_max;
	oc.resign_rate = cfg->ocsp_resign_rate;
	if (strcmp(cfg->ocsp_store, "off") != 0)
		oc.store_path = config_path(cfg, cfg->ocsp_store, store_path,
		    sizeof(store_path));
	/* the CRLs served, read back at the next start (ocsp/crlsave.c) */
	oc.crl_dir = config_path(cfg, "crls", crl_dir, sizeof(crl_dir));
	oc.ops.status = status_lookup;
	oc.ops.revoked = status_revoked;
	oc.ops.sign_ocsp = status_sign_ocsp;
	oc.ops.sign_crl = status_sign_crl;
	oc.ops.sign_ocsp_send = status_sign_ocsp_send;
	oc.ops.sign_ocsp_recv = status_sign_ocsp_recv;
	oc.ops.arg = sc;
	if ((sc->r = ocspr_new(&oc, err, errlen)) == NULL)
		goto fail;
	if ((sc->presign = event_new(base, -1, 0, status_presign, sc)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	event_active(sc->presign, EV_TIMEOUT, 0);
	return sc;
fail:
	status_free(sc);
	return NULL;
}

/* See bridge.h. */
void
status_on_change(struct status_ctx *sc,
    void (*fn)(void *arg, const char *serial), void *arg)
{
	sc->on_change = fn;
	sc->on_change_arg = arg;
}

void
status_free(struct status_ctx *sc)
{
	if (sc == NULL)
		return;
	if (sc->presign != NULL)
		event_free(sc->presign);
	ocspr_free(sc->r);
	for (int i = 0; i < OCSPR_MAX_ISSUERS; i++)
		OPENSSL_free(sc->der[i]);
	free(sc);
}

/* See bridge.h. */
int
status_register(struct status_ctx *sc, struct server *http)
{
	if (server_route(http, "/ocsp", ocspr_handle, sc->r) != 0 ||
	    server_route(http, "/ocsp/", ocspr_handle, sc->r) != 0 ||
	    server_route(http, "/", ocspr_handle, sc->r) != 0 ||
	    server_route(http, "/crl/", ocspr_crl_handle, sc->r) != 0 ||
	    server_route(http, STATUS_ISSUING_DER, status_issuing, sc) != 0 ||
	    server_route(http, "/ca/", status_ca_der, sc) != 0)
		return -1;
	return 0;
}

struct ocspr *
status_responder(struct status_ctx *sc)
{
	return sc->r;
}
