/*
 * enroll.c: what EST asks of the ledger, and issuance (docs/design.md
 * "Issuance", "The trust rule").
 *
 * est/ decodes and checks the request; the ledger decides.  Before
 * anything is built or signed the bridge asks the ledger's trust rule
 * (ledger_check_issue: the same function that decides the cert-issued
 * entry on append and replay) whether the CSR's key may get a certificate
 * of the profile, superseding the client certificate on re-enrollment,
 * and maps a refusal to EST's status (enroll_status) with the ledger's
 * code first ("current_cert_exists: ...").  est/ then checks what is its
 * own: the CSR asks only for registered names (est_authorize over a view
 * of the registration).  What stays here is authentication: for
 * re-enrollment the TLS client certificate must be the exact certificate
 * the ledger recorded, still good; for serverkeygen the pre-authorisation's
 * secret must match.
 *
 * The CA signs only what the ledger committed (docs/design.md): the
 * certificate is built from the registration (issue_build) and its TBS
 * recorded by a cert-issued entry signed by the bridge's account.  Once
 * that entry's block and its signed checkpoint are committed, the signer
 * is shown the entry, the key's key-register entry, their inclusion
 * proofs in the checkpoint's tree (from the ledger's in-memory tree:
 * O(log n) hashes, no database read) and the checkpoint, and signs the
 * TBS only if all of it holds (signer_sign_committed, ca_cert_admit):
 * that part is enroll_sign.c's.
 * The signed certificate is answered, and kept beside its registry row
 * (ledger_cert_store) in the writer's next transaction.  The ledger applies the
 * trust rule again at commit: the loser of racing enrollments gets 409
 * from there.  A failed commit, or a key process that cannot answer,
 * answers 503 with Retry-After and no certificate; a refusal to sign, 500
 * with its reason.
 *
 * simplereenroll (RFC 7030 4.2.2) names the client certificate in the new
 * entry's `supersedes`, and the ledger revokes it in the same step.  Its
 * CSR is for the client certificate's own key (a renewal) or for another
 * key registered as the same device (a rekey); the ledger's rule says
 * which (not_same_device).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "bridge/enroll_int.h"
#include "bridge/keyproc/keyproc.h"
#include "common/workq.h"

/* Asks the ledger's trust rule (ledger_check_issue) before issuance: 0,
 * or the EST status with "code: why". */
static int
enroll_ask(struct enroll_ctx *ctx, const struct ledger_issue_ask *a,
    time_t now, char *why, size_t whylen)
{
	char lwhy[ENROLL_LEDGER_WHY];
	enum ledger_status st = ledger_check_issue(ctx->ledger, a, now, lwhy,
	    sizeof(lwhy));
	int status = enroll_status(st);

	if (st == LEDGER_OK)
		return 0;
	if (status == 503) {
		ratelog_msg(&ctx->rl_ledger, LOGL_WARN, "enroll: the ledger "
		    "cannot answer: %s: %s", ledger_status_code(st), lwhy);
		snprintf(why, whylen, "the ledger cannot be read; retry");
	} else
		snprintf(why, whylen, "%s: %s", ledger_status_code(st), lwhy);
	return status;
}

/* Fills the view reg from the ledger's fields (a key's or a
 * pre-authorisation's: the same names, profile and window). */
static void
enroll_view(struct est_registration *reg, const char *name,
    const char *profile, time_t not_before, time_t not_after,
    const char (*dns)[254], int ndns, const char (*ip)[46], int nip)
{
	reg->profile = (enum est_profile)est_profile_parse(profile);
	snprintf(reg->name, sizeof(reg->name), "%s", name);
	reg->not_before = not_before;
	reg->not_after = not_after;
	for (int i = 0; i < ndns && i < EST_MAX_NAMES; i++)
		snprintf(reg->names.dns[reg->names.ndns++],
		    sizeof(reg->names.dns[0]), "%s", dns[i]);
	for (int i = 0; i < nip && i < EST_MAX_NAMES; i++)
		snprintf(reg->names.ip[reg->names.nip++],
		    sizeof(reg->names.ip[0]), "%s", ip[i]);
}

/* ledger_entries: copies the one entry's text into *(char **)arg. */
static int
enroll_reg_cb(const struct ledger_entry_info *ei, void *arg)
{
	char **out = arg;

	if ((*out = malloc(ei->len + 1)) != NULL) {
		memcpy(*out, ei->text, ei->len);
		(*out)[ei->len] = '\0';
	}
	return 1;
}

/* The ledger's view of a key, for est_authorize and issue_build, and the
 * index of its key-register entry; left empty when the key is not
 * registered (ledger_check_issue says so). */
static int
enroll_registration(struct enroll_ctx *ctx, const char *key_id,
    struct est_registration *reg, uint64_t *reg_index)
{
	struct ledger_key_info *k = malloc(sizeof(*k));
	int rc;

	memset(reg, 0, sizeof(*reg));
	if (k == NULL || (rc = ledger_key_get(ctx->ledger, key_id, k)) < 0) {
		free(k);
		return -1;
	}
	if (rc == 0) {
		enroll_view(reg, k->name, k->profile, k->not_before,
		    k->not_after, k->dns, k->ndns, k->ip, k->nip);
		*reg_index = k->registered_index;
	}
	free(k);
	return 0;
}

/*
 * Re-enrollment is authenticated by the TLS client certificate (RFC 7030
 * 3.3.2): it must be the very certificate the ledger recorded (serial and
 * its TBS, byte for byte: the TLS handshake checked the CA's signature),
 * revoked neither on its own nor through its key,
 * and not expired.  Returns 0 with its serial and profile, or the HTTP
 * status with why.  Whether it may be superseded, and by which key, is
 * the ledger's trust rule (ledger_check_issue).
 */
static int
enroll_client_cert(struct enroll_ctx *ctx, X509 *cert, time_t now,
    char serial[41], enum est_profile *profile, char *why, size_t whylen)
{
	struct ledger_cert_info c;
	const char *reason;
	unsigned char *der = NULL;
	int rc = 403, len, match = 0;

	if (issue_serial_hex(cert, serial) != 0 ||
	    (len = i2d_X509(cert, &der)) <= 0) {
		snprintf(why, whylen, "the client certificate is unreadable");
		return 400;
	}
	if (ledger_cert_get(ctx->ledger, serial, &c) == 0)
		match = ledger_cert_matches(ctx->ledger, &c, der, (size_t)len);
	OPENSSL_free(der);
	if (match < 0) {
		snprintf(why, whylen, "the ledger cannot be read; retry");
		return 503;
	}
	if (match == 0) {
		snprintf(why, whylen, "the client certificate (serial %s) is "
		    "not one the ledger recorded", serial);
		return 403;
	}
	reason = ledger_reason_name(c.revoked ? c.reason : c.key_reason);
	if (reason == NULL)
		reason = "unspecified";
	if (c.revoked)
		snprintf(why, whylen, "the client certificate %s is revoked "
		    "on the ledger (%s)", serial, reason);
	else if (c.key_revoked)
		snprintf(why, whylen, "the key of the client certificate is "
		    "revoked on the ledger (%s)", reason);
	else if (now >= c.not_after)
		snprintf(why, whylen, "the client certificate %s has expired; "
		    "enroll anew", serial);
	else {
		*profile = (enum est_profile)est_profile_parse(c.profile);
		rc = 0;
	}
	return rc;
}

/* What issue_build makes the certificate from: the registration, never
 * the CSR, but for its public key. */
static void
enroll_params(struct enroll_ctx *ctx, EVP_PKEY *pubkey,
    const X509_PUBKEY *spki, const struct est_registration *reg,
    enum est_profile profile, time_t now, struct ca_profile *prof,
    struct issue_params *ip)
{
	memset(ip, 0, sizeof(*ip));
	/* The profile's configured options (the key process lints against
	 * its own copy of the same configuration); out of bounds, the
	 * defaults, which the key process then refuses to sign. */
	if (ca_profile_get(ctx->cfg, profile, prof) == 0)
		ip->prof = prof;
	ip->profile = profile;
	ip->cn = reg->name;
	ip->names = &reg->names;
	ip->pubkey = pubkey;
	ip->spki = spki;
	ip->issuer = signer_issuer(ctx->signer);
	ip->now = now;
	ip->key_not_before = reg->not_before;
	ip->key_not_after = reg->not_after;
	ip->ocsp_url = ctx->ocsp_url;
	ip->ca_issuers_url = ctx->ca_issuers_url;
	ip->crl_url = ctx->crl_url;
}

/*
 * Builds the certificate for a registration, unsigned, and its cert-issued
 * entry carrying the TBS (seq ctx->next_seq + k; `supersedes`
 * j->old_serial when set) into j->entry (malloc'd; signed by the bridge
 * account when sign, a blocking call, else its body for
 * enroll_entry_queue), its serial into j->serial.  Nothing is signed by
 * the CA and nothing is submitted.  0, or the HTTP status with why.
 */
static int
enroll_cert_entry(struct enroll_ctx *ctx, EVP_PKEY *pubkey,
    const X509_PUBKEY *spki, const char *key_id,
    const struct est_registration *reg, enum est_profile profile,
    time_t now, struct enroll_job *j, uint64_t k, int sign, char *why,
    size_t whylen)
{
	struct issue_params ip;
	struct ca_profile prof;
	struct ledger_field f[9];
	char nb[21], na[21], *b64 = NULL;
	uint8_t *tbs = NULL;
	size_t tbslen = 0, n = 0, cap;
	X509 *cert = NULL;
	const ASN1_TIME *t;
	struct tm tm;
	time_t tnb, tna;
	int rc = 503;

	enroll_params(ctx, pubkey, spki, reg, profile, now, &prof, &ip);
	if ((cert = issue_build(&ip, why, whylen)) == NULL)
		return 403;
	snprintf(why, whylen, "the certificate could not be encoded");
	if (issue_serial_hex(cert, j->serial) != 0 ||
	    ca_tbs_der(cert, signer_issuer(ctx->signer), &tbs, &tbslen) != 0)
		goto out;
	t = X509_get0_notBefore(cert);
	if (ASN1_TIME_to_tm(t, &tm) != 1 || (tnb = timegm(&tm)) == -1)
		goto out;
	t = X509_get0_notAfter(cert);
	if (ASN1_TIME_to_tm(t, &tm) != 1 || (tna = timegm(&tm)) == -1)
		goto out;
	/* The ledger keeps the TBS in the entry, which bounds its size: a
	 * registration whose names (with the URLs and the key) make a
	 * larger one cannot be issued. */
	if (tbslen > LEDGER_CERT_DER_MAX) {
		snprintf(why, whylen, "certificate_too_large: the registration's "
		    "names make a certificate of %zu bytes; the ledger records "
		    "at most %d", tbslen, LEDGER_CERT_DER_MAX);
		rc = 403;
		goto out;
	}
	cap = tbslen * 4 / 3 + 8;
	if ((b64 = malloc(cap)) == NULL ||
	    ledger_b64_encode(tbs, tbslen, b64, cap) != 0)
		goto out;
	ledger_time_format(tnb, nb);
	ledger_time_format(tna, na);
	f[n++] = (struct ledger_field){ "serial", j->serial };
	f[n++] = (struct ledger_field){ "issuer",
	    signer_issuer_id(ctx->signer) };
	f[n++] = (struct ledger_field){ "key-id", key_id };
	f[n++] = (struct ledger_field){ "profile", est_profile_name(profile) };
	f[n++] = (struct ledger_field){ "not-before", nb };
	f[n++] = (struct ledger_field){ "not-after", na };
	/* Re-enrollment: the ledger revokes the client certificate as
	 * superseded when it records this one. */
	if (j->old_serial[0] != '\0')
		f[n++] = (struct ledger_field){ "supersedes", j->old_serial };
	/* The TBS itself, last: the CA signs these bytes once the entry is
	 * committed, and anyone can check the certificate against them. */
	f[n++] = (struct ledger_field){ "tbs", b64 };
	snprintf(why, whylen, "the entry could not be signed; retry");
	if ((j->entry = sign ? enroll_note(ctx, LEDGER_CERT_ISSUED, f, n, k) :
	    enroll_body(ctx, LEDGER_CERT_ISSUED, f, n, k)) == NULL)
		goto out;
	j->unsigned_cert = cert;	/* its TBS is the entry's */
	cert = NULL;
	rc = 0;
out:
	X509_free(cert);
	OPENSSL_free(tbs);
	free(b64);
	return rc;
}

/* The registration a pre-authorisation fixes, as est_authorize sees it. */
static void
enroll_preauth_view(const struct ledger_preauth_info *pa,
    struct est_registration *reg)
{
	memset(reg, 0, sizeof(*reg));
	enroll_view(reg, pa->name, pa->profile, pa->not_before, pa->not_after,
	    pa->dns, pa->ndns, pa->ip, pa->nip);
}

/* Authenticates "Basic id:secret" against the pre-authorisation: it
 * exists and SHA-256(secret) matches in constant time; fills *pa.  Whether
 * it is still usable (unused, unexpired) is the ledger's rule, asked
 * next.  Returns 0, or the HTTP status with why. */
static int
enroll_preauth_auth(struct enroll_ctx *ctx, const char *authz,
    struct ledger_preauth_info *pa, char *why, size_t whylen)
{
	char id[LEDGER_PREAUTH_ID_LEN + 2], secret[256], hex[65];
	unsigned char md[32];
	int rc = 401, got;

	if (est_basic_parse(authz, id, sizeof(id), secret,
	    sizeof(secret)) != 0 || strlen(id) != LEDGER_PREAUTH_ID_LEN) {
		snprintf(why, whylen, "serverkeygen needs HTTP Basic with the "
		    "pre-authorisation id and secret");
		goto out;
	}
	/* Nothing about a pre-authorisation (whether it exists, is used or
	 * expired) is told before its secret is shown: an unknown id and a
	 * wrong secret get the same 401. */
	if ((got = ledger_preauth_get(ctx->ledger, id, pa)) < 0 ||
	    EVP_Digest(secret, strlen(secret), md, NULL, EVP_sha256(),
	    NULL) != 1) {
		rc = 503;
		snprintf(why, whylen, "the ledger cannot be read; retry");
		goto out;
	}
	ledger_hex(md, sizeof(md), hex);
	if (got == 1 || CRYPTO_memcmp(hex, pa->secret_sha256, 64) != 0) {
		snprintf(why, whylen, "unknown pre-authorisation or wrong "
		    "secret");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

/*
 * serverkeygen (RFC 7030 4.4): for a device that cannot make keys.  Under
 * an admin's pre-authorisation the bridge generates the key, registers it
 * with a key-register entry citing the pre-authorisation (the ledger's
 * rules check the entry matches it exactly and consume it; the key is the
 * admin's), records the certificate, and answers both.  All or nothing:
 * the ledger's trust rule is asked for the key the pre-authorisation will
 * register (still unused, unexpired, inside its window, its profile) and
 * the TBS built before anything is submitted, and the two entries (the
 * key-register entry, then the cert-issued one with the TBS, which the CA
 * signs once both are committed) go as one group that
 * the ledger commits together or refuses together, so a failure never
 * leaves a registered key whose private half was thrown away, nor a spent
 * pre-authorisation.
 */
static int
enroll_keygen(struct enroll_ctx *ctx, const struct est_enroll *e, time_t now,
    struct enroll_job *j, char *why, size_t whylen)
{
	struct ledger_preauth_info *pa = malloc(sizeof(*pa));
	struct est_registration reg;
	struct ledger_issue_ask ask;
	struct ledger_field f[8 + 2 * EST_MAX_NAMES + LEDGER_MAX_CONFIG_GROUPS];
	char spki[256], id[LEDGER_KEYID_LEN + 1], nb[21], na[21];
	const char *notes[2];
	unsigned char *der = NULL;
	enum est_profile profile;
	size_t n = 0;
	int len, rc = 503;

	if (pa == NULL)
		goto out;
	if ((rc = enroll_preauth_auth(ctx, e->authorization, pa, why,
	    whylen)) != 0)
		goto out;
	enroll_preauth_view(pa, &reg);
	profile = e->profile != 0 ? e->profile : reg.profile;
	memset(&ask, 0, sizeof(ask));
	ask.preauth = pa->id;
	ask.profile = est_profile_name(profile);
	if ((rc = enroll_ask(ctx, &ask, now, why, whylen)) != 0 ||
	    (rc = est_authorize(&reg, &e->asked, why, whylen)) != 0)
		goto out;
	rc = 503;
	snprintf(why, whylen, "cannot generate a key; retry");
	if ((j->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (len = i2d_PUBKEY(j->key, &der)) <= 0 ||
	    ledger_b64_encode(der, (size_t)len, spki, sizeof(spki)) != 0)
		goto out;
	ledger_spki_key_id(der, (size_t)len, id);
	ledger_time_format(pa->not_before, nb);
	ledger_time_format(pa->not_after, na);
	f[n++] = (struct ledger_field){ "key-id", id };
	f[n++] = (struct ledger_field){ "spki", spki };
	f[n++] = (struct ledger_field){ "name", pa->name };
	f[n++] = (struct ledger_field){ "profile", pa->profile };
	for (int i = 0; i < pa->ndns; i++)
		f[n++] = (struct ledger_field){ "dns", pa->dns[i] };
	for (int i = 0; i < pa->nip; i++)
		f[n++] = (struct ledger_field){ "ip", pa->ip[i] };
	f[n++] = (struct ledger_field){ "not-before", nb };
	f[n++] = (struct ledger_field){ "not-after", na };
	f[n++] = (struct ledger_field){ "preauth", pa->id };
	for (int i = 0; i < pa->ngroups; i++)
		f[n++] = (struct ledger_field){ "config-group", pa->groups[i] };
	snprintf(why, whylen, "the entry could not be signed; retry");
	if ((j->reg = enroll_note(ctx, LEDGER_KEY_REGISTER, f, n, 0)) == NULL)
		goto out;
	if ((rc = enroll_cert_entry(ctx, j->key, NULL, id, &reg, profile, now,
	    j, 1, 1, why, whylen)) != 0) {
		ratelog_msg(&ctx->rl_keygen, LOGL_WARN, "serverkeygen: "
		    "pre-authorisation %s: %s", pa->id, why);
		goto out;
	}
	rc = 503;
	notes[0] = j->reg;
	notes[1] = j->entry;
	if (enroll_submit(ctx, notes, 2, j) != 0) {
		snprintf(why, whylen, "the ledger is busy; retry");
		goto out;
	}
	rc = 0;		/* enroll_committed answers */
out:
	OPENSSL_free(der);
	free(pa);
	return rc;
}

/* enroll_start's work: authenticate, ask the ledger, check the names,
 * issue, record, answer. */
static void
enroll_start_read(void *arg, const struct est_enroll *e, est_done_fn done,
    void *token)
{
	struct enroll_ctx *ctx = arg;
	struct est_registration reg;
	struct ledger_issue_ask ask;
	struct enroll_job *j = NULL;
	enum est_profile profile = e->profile, cur = 0;
	char why[ENROLL_WHY_MAX] = "";
	const char *doubt;
	time_t now = time(NULL);
	int status;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		done(token, 503, "out of memory", ENROLL_RETRY_AFTER, NULL,
		    NULL);
		return;
	}
	j->ctx = ctx;
	j->done = done;
	j->token = token;
	/* The key process died: nothing can be signed until the supervisor
	 * has restarted keybridge (docs/design.md "Processes"). */
	if (!signer_available(ctx->signer)) {
		done(token, 503, "the key process is unavailable; retry",
		    KEYPROC_RETRY_AFTER, NULL, NULL);
		enroll_job_free(j);
		return;
	}
	if (e->op == EST_OP_SERVERKEYGEN) {
		if ((status = enroll_keygen(ctx, e, now, j, why,
		    sizeof(why))) != 0)
			goto refuse;
		return;
	}
	if (e->op == EST_OP_SIMPLEREENROLL &&
	    (status = enroll_client_cert(ctx, e->client_cert, now,
	    j->old_serial, &cur, why, sizeof(why))) != 0)
		goto refuse;
	if (enroll_registration(ctx, e->key_id, &reg, &j->reg_index) != 0) {
		status = 503;
		snprintf(why, sizeof(why), "the ledger cannot be read; retry");
		goto refuse;
	}
	if (profile == 0)
		profile = e->op == EST_OP_SIMPLEREENROLL ? cur : reg.profile;
	if (profile == 0)
		profile = EST_PROFILE_DEVICE;
	/* The trust rule, before anything is built or signed.  Racing
	 * enrollments all pass here; the ledger takes one at commit. */
	memset(&ask, 0, sizeof(ask));
	ask.key_id = e->key_id;
	ask.profile = est_profile_name(profile);
	ask.supersedes = j->old_serial[0] != '\0' ? j->old_serial : NULL;
	if ((status = enroll_ask(ctx, &ask, now, why, sizeof(why))) == 409 &&
	    ask.supersedes == NULL && (doubt = enroll_doubt_find(ctx,
	    e->key_id)) != NULL) {
		/* The current certificate is a TBS of ours no one got (it was
		 * answered no_quorum): this enrollment supersedes it, if the
		 * rule agrees that it is this key's current one. */
		ask.supersedes = doubt;
		if ((status = enroll_ask(ctx, &ask, now, why,
		    sizeof(why))) == 0) {
			log_info("enroll: key %s: superseding %s, recorded "
			    "while the validators had no quorum and never "
			    "delivered", e->key_id, doubt);
			snprintf(j->old_serial, sizeof(j->old_serial), "%s",
			    doubt);
		}
	}
	if (status != 0 ||
	    (status = est_authorize(&reg, &e->asked, why, sizeof(why))) != 0)
		goto refuse;
	snprintf(j->key_id, sizeof(j->key_id), "%s", e->key_id);
	/* The key-register entry SIGN_CERT proves, read now, in this read
	 * transaction, rather than in a transaction of its own once the
	 * entry is committed (issue 18: a fresh snapshot after each commit
	 * cost the loop ~7% of its time per enrollment).  Entries never
	 * change once committed. */
	status = 503;
	snprintf(why, sizeof(why), "the ledger cannot be read; retry");
	if (ledger_entries(ctx->ledger, j->reg_index, 1, enroll_reg_cb,
	    &j->reg) != 0 || j->reg == NULL)
		goto refuse;
	if ((status = enroll_cert_entry(ctx, e->pubkey,
	    X509_REQ_get_X509_PUBKEY(e->csr), e->key_id, &reg, profile, now,
	    j, 0, 0, why, sizeof(why))) != 0)
		goto refuse;
	/* Signed by the bridge account without blocking the loop, then
	 * submitted (enroll_entry.c). */
	enroll_entry_queue(ctx, j);
	return;
refuse:
	done(token, status, why, status == 503 ? ENROLL_RETRY_AFTER : 0, NULL,
	    NULL);
	enroll_job_free(j);
}

/* est_ops.enroll: enroll_start_read with its reads of the ledger (the
 * client certificate, the registration, the trust rule's) in one read
 * transaction (docs/design.md "EST18"). */
static void
enroll_start(void *arg, const struct est_enroll *e, est_done_fn done,
    void *token)
{
	struct enroll_ctx *ctx = arg;

	ledger_read_begin(ctx->ledger);
	enroll_start_read(arg, e, done, token);
	ledger_read_end(ctx->ledger);
}

static STACK_OF(X509) *
enroll_cacerts(void *arg)
{
	return ((struct enroll_ctx *)arg)->cacerts;
}

/* est_ops.basic_auth: the credentials of a label, split at start. */
static void
enroll_basic_auth(void *arg, const char *label, const char **user,
    const char **pass)
{
	struct enroll_ctx *ctx = arg;
	int i = strcmp(label, "device") == 0 ? 1 :
	    strcmp(label, "server") == 0 ? 2 : 0;

	*user = *pass = NULL;
	if (ctx->auth_user[i][0] != '\0') {
		*user = ctx->auth_user[i];
		*pass = ctx->auth_pass[i];
	}
}

/* Splits "user:pass" (empty: no authentication).  0 or -1. */
static int
enroll_split_auth(const char *v, char *user, char *pass)
{
	const char *colon = strchr(v, ':');

	user[0] = pass[0] = '\0';
	if (v[0] == '\0')
		return 0;
	if (colon == NULL || colon == v || colon[1] == '\0')
		return -1;
	snprintf(user, CONFIG_STR, "%.*s", (int)(colon - v), v);
	snprintf(pass, CONFIG_STR, "%s", colon + 1);
	return 0;
}

void
enroll_handle(struct evhttp_request *req, void *arg)
{
	est_handle(req, &((struct enroll_ctx *)arg)->ops);
}

/* 1 when x is one of the key process's issuing CAs (served or not: a
 * retired one is left out of cacerts). */
static int
enroll_is_issuer(struct signer *s, X509 *x)
{
	for (size_t i = 0; i < signer_nissuers(s); i++)
		if (X509_cmp(x, signer_issuer_at(s, i)) == 0)
			return 1;
	/* init's CA retired (signer_retire_expired dropped it): chain.pem
	 * still holds it; a CA certificate that is not self-signed is an
	 * issuing CA here, never the root. */
	return X509_check_issued(x, x) != X509_V_OK;
}

struct enroll_ctx *
enroll_new(struct ledger *l, struct signer *s, struct event_base *base,
    const struct bridge_config *cfg, char *err, size_t errlen)
{
	struct enroll_ctx *ctx = calloc(1, sizeof(*ctx));
	char path[PATH_MAX];
	STACK_OF(X509_INFO) *infos = NULL;
	BIO *bio = NULL;

	if (ctx == NULL)
		goto fail;
	ctx->ledger = l;
	ctx->signer = s;
	ctx->cfg = cfg;
	ratelog_init(&ctx->rl_ledger, ENROLL_LOG_INTERVAL);
	ratelog_init(&ctx->rl_sign, ENROLL_LOG_INTERVAL);
	ratelog_init(&ctx->rl_keygen, ENROLL_LOG_INTERVAL);
	ctx->next_seq = ledger_next_seq(l, cfg->bridge_account);
	if (ctx->next_seq == 0) {
		snprintf(err, errlen, "the ledger has no account %s for the "
		    "bridge", cfg->bridge_account);
		goto fail;
	}
	snprintf(ctx->ocsp_url, sizeof(ctx->ocsp_url), "%s/ocsp",
	    cfg->public_http_url);
	/* The current issuer's URLs (issue 17: a rolled-over CA's
	 * caIssuers is /ca/<id>.der), as the key process's lint wants. */
	ca_issuer_urls(cfg->public_http_url, signer_issuer_id(s),
	    signer_issuer_original(s, 0), ctx->ca_issuers_url,
	    sizeof(ctx->ca_issuers_url), ctx->crl_url, sizeof(ctx->crl_url));
	/* cacerts: every served issuing CA, the current one first (issue
	 * 17: both chains during a rollover's overlap), then the rest of
	 * ca/chain.pem (the root).  init's chain.pem is issuing then root. */
	for (size_t i = 0; i < signer_nissuers(s); i++) {
		X509 *x = signer_issuer_at(s, i);

		if ((ctx->cacerts == NULL && (ctx->cacerts =
		    sk_X509_new_null()) == NULL) || X509_up_ref(x) != 1)
			goto fail;
		if (sk_X509_push(ctx->cacerts, x) <= 0) {
			X509_free(x);
			goto fail;
		}
	}
	if ((bio = BIO_new_file(config_path(cfg, cfg->ca_chain, path,
	    sizeof(path)), "r")) == NULL ||
	    (infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "cannot read the CA chain %s", path);
		goto fail;
	}
	for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);

		if (xi->x509 != NULL && !enroll_is_issuer(s, xi->x509) &&
		    sk_X509_push(ctx->cacerts, xi->x509) > 0)
			xi->x509 = NULL;	/* moved */
	}
	if (sk_X509_num(ctx->cacerts) < 2) {
		snprintf(err, errlen, "%s must hold the issuing CA and the root",
		    path);
		goto fail;
	}
	if (enroll_split_auth(cfg->est_basic_auth, ctx->auth_user[0],
	    ctx->auth_pass[0]) != 0 ||
	    enroll_split_auth(cfg->est_device_basic_auth, ctx->auth_user[1],
	    ctx->auth_pass[1]) != 0 ||
	    enroll_split_auth(cfg->est_server_basic_auth, ctx->auth_user[2],
	    ctx->auth_pass[2]) != 0) {
		snprintf(err, errlen, "est_*basic_auth must be user:password");
		goto fail;
	}
	ctx->ops.arg = ctx;
	ctx->ops.cacerts = enroll_cacerts;
	ctx->ops.basic_auth = enroll_basic_auth;
	ctx->ops.enroll = enroll_start;
	if (enroll_sign_init(ctx, base) != 0 ||
	    enroll_entry_init(ctx, base) != 0) {
		snprintf(err, errlen, "cannot watch the key process's "
		    "certificate channel");
		goto fail;
	}
	/* The CSR's decoding and signature check on worker threads, so
	 * the loop only does I/O and routing (docs/design.md "Enrollment
	 * on two cores"). */
	if (base != NULL && cfg->est_workers > 0 &&
	    (ctx->ops.workers = ctx->workers = workq_new(base,
	    (int)cfg->est_workers)) == NULL) {
		snprintf(err, errlen, "cannot start the enrollment workers");
		goto fail;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	return ctx;
fail:
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	enroll_free(ctx);
	return NULL;
}

void
enroll_flush(struct enroll_ctx *ctx)
{
	if (ctx == NULL)
		return;
	workq_drain(ctx->workers);	/* CSRs being checked: on to enroll */
	enroll_sign_flush(ctx);
}

void
enroll_free(struct enroll_ctx *ctx)
{
	if (ctx == NULL)
		return;
	workq_free(ctx->workers);	/* drained: its jobs call enroll */
	enroll_sign_flush(ctx);		/* nothing left after serve's */
	if (ctx->cert_ev != NULL)
		event_free(ctx->cert_ev);
	if (ctx->entry_ev != NULL)
		event_free(ctx->entry_ev);
	sk_X509_pop_free(ctx->cacerts, X509_free);
	free(ctx);
}
