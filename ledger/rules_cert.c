/*
 * rules_cert.c: the ledger's rules for certificates (docs/design.md "The
 * trust rule"), part of ledger_rules_apply (rules.c).
 *
 * Whether a key may get a certificate is decided in one function,
 * rules_may_issue: a cert-issued entry on append and replay
 * (rules_cert_issued), and the bridge's question before it builds and
 * signs one (ledger_check_issue -> ledger_rules_check_issue, read-only),
 * so the bridge and the ledger can never disagree:
 *
 *  - the key is registered and not revoked, the profile its own, the
 *    ledger time inside its window;
 *  - a key has at most one current certificate per profile: a new one
 *    names the current one in `supersedes`, which it revokes (wave-2
 *    entries, ledger_rules_v2);
 *  - a superseded certificate is recorded, current, and of the same key
 *    or of a key registered as the same device (a rekey) and not revoked.
 *
 * What only an entry carries is checked around it: the certificate is
 * exactly what the entry says, its validity inside the key's window, its
 * serial new.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ledger/rules_int.h"

/* The lowercase hex serial of x without leading zeros (the ledger's
 * form) into out (41 bytes).  0 or -1. */
static int
rules_serial_hex(X509 *x, char out[41])
{
	BIGNUM *bn = NULL;
	char *ser = NULL, *h;
	int rc = -1;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) ==
	    NULL || (ser = BN_bn2hex(bn)) == NULL)
		goto out;
	for (h = ser; *h == '0' && h[1] != '\0'; h++)
		;
	for (char *q = h; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'F')
			*q = (char)(*q - 'A' + 'a');
	if (strlen(h) < 41) {
		memcpy(out, h, strlen(h) + 1);
		rc = 0;
	}
out:
	OPENSSL_free(ser);
	BN_free(bn);
	return rc;
}

/*
 * What a recorded certificate or TBS says must be exactly what the entry
 * says: its serial (lowercase hex, no leading zeros) serial, its validity
 * not-before/not-after, its public key (its SubjectPublicKeyInfo DER
 * kd[0..kn)) the key's registered SPKI, and its authority key identifier
 * the issuer.  NULL, or what it fails.
 */
static const char *
rules_cert_fields(X509 *x, const uint8_t *kd, int kn,
    const struct ledger_entry *e, const struct ledger_key_info *k)
{
	uint8_t spki[1600];
	char hex[65];
	const ASN1_OCTET_STRING *aki;
	time_t nb, na;
	struct tm tm;
	int sn;

	if (rules_serial_hex(x, hex) != 0)
		return "has no readable serial";
	if (strcmp(hex, ledger_entry_get(e, "serial")) != 0)
		return "has another serial";
	ledger_time_parse(ledger_entry_get(e, "not-before"), &nb);
	ledger_time_parse(ledger_entry_get(e, "not-after"), &na);
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) != 1 ||
	    timegm(&tm) != nb ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1 ||
	    timegm(&tm) != na)
		return "has another validity than not-before/not-after";
	sn = ledger_b64_decode(k->spki, strlen(k->spki), spki, sizeof(spki));
	if (sn <= 0 || kd == NULL || kn != sn ||
	    memcmp(kd, spki, (size_t)sn) != 0)
		return "is not for the registered key";
	aki = X509_get0_authority_key_id(x);
	if (aki == NULL || aki->length <= 0 || aki->length > 32)
		return "has no authority key identifier";
	ledger_hex(aki->data, (size_t)aki->length, hex);
	if (strcmp(hex, ledger_entry_get(e, "issuer")) != 0)
		return "is not from the issuer the entry names";
	return NULL;
}

/* 1 when GeneralName g is one of k's registered DNS names or IP
 * addresses (DNS case-insensitively, IP as addresses), else 0. */
static int
rules_san_registered(const GENERAL_NAME *g, const struct ledger_key_info *k)
{
	unsigned char ip[16];
	const unsigned char *d;
	int len, af;

	if (g->type == GEN_DNS) {
		d = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		for (int i = 0; i < k->ndns; i++)
			if ((size_t)len == strlen(k->dns[i]) &&
			    memchr(d, '\0', (size_t)len) == NULL &&
			    strncasecmp((const char *)d, k->dns[i],
			    (size_t)len) == 0)
				return 1;
		return 0;
	}
	if (g->type != GEN_IPADD)
		return 0;
	d = ASN1_STRING_get0_data(g->d.iPAddress);
	len = ASN1_STRING_length(g->d.iPAddress);
	for (int i = 0; i < k->nip; i++) {
		af = strchr(k->ip[i], ':') != NULL ? AF_INET6 : AF_INET;
		if (inet_pton(af, k->ip[i], ip) == 1 &&
		    len == (af == AF_INET6 ? 16 : 4) &&
		    memcmp(ip, d, (size_t)len) == 0)
			return 1;
	}
	return 0;
}

/*
 * A TBS the CA has not signed yet asks for more than the certificates
 * recorded before it: its subject is exactly CN=<registered name>, every
 * subjectAltName is a registered DNS name or IP address, it is no CA, and
 * its extended key usage is the entry's profile's (server: serverAuth;
 * device and admin: clientAuth), so the ledger records nothing the
 * registration does not allow.  NULL, or what it fails.
 */
static const char *
rules_tbs_names(X509 *x, const struct ledger_entry *e,
    const struct ledger_key_info *k)
{
	const X509_NAME *subj = X509_get_subject_name(x);
	const X509_NAME_ENTRY *ne;
	GENERAL_NAMES *san = NULL;
	const char *fail = NULL;
	const ASN1_STRING *cn;
	int crit = -1, server;
	uint32_t xku;

	if (X509_NAME_entry_count(subj) != 1 ||
	    (ne = X509_NAME_get_entry(subj, 0)) == NULL ||
	    OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne)) != NID_commonName ||
	    (cn = X509_NAME_ENTRY_get_data(ne)) == NULL ||
	    (size_t)ASN1_STRING_length(cn) != strlen(k->name) ||
	    memcmp(ASN1_STRING_get0_data(cn), k->name,
	    strlen(k->name)) != 0)
		return "has another subject than CN=<the registered name>";
	san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (san == NULL && crit != -1)
		return "has a malformed subjectAltName";
	for (int i = 0; san != NULL && i < sk_GENERAL_NAME_num(san); i++)
		if (!rules_san_registered(sk_GENERAL_NAME_value(san, i), k)) {
			fail = "names a subjectAltName the key's registration "
			    "does not hold";
			break;
		}
	GENERAL_NAMES_free(san);
	if (fail != NULL)
		return fail;
	if (X509_check_ca(x) != 0)
		return "is a CA certificate";
	xku = X509_get_extended_key_usage(x);
	server = strcmp(ledger_entry_get(e, "profile"), "server") == 0;
	if (xku != (server ? XKU_SSL_SERVER : XKU_SSL_CLIENT))
		return "has another extended key usage than its profile's";
	return NULL;
}

/*
 * The certificate or the TBS an entry records must be exactly what the
 * other fields say (rules_cert_fields), so that an auditor can check
 * every certificate against its registered key from the ledger alone.
 * Three forms, by when the entry was written:
 *   - cert-sha256 alone: the oldest entries; nothing more to check;
 *   - cert-sha256 and "cert" (base64 DER): a certificate signed before it
 *     was recorded; it must hash to cert-sha256;
 *   - "tbs" alone (base64 DER TBSCertificate): the CA signs it only once
 *     this entry is committed (bridge/ca/admit.c); it must also keep to
 *     the registration's names and the entry's profile (rules_tbs_names).
 * Both older forms stay valid at any date: a cert-form entry records a
 * certificate already signed, which the key process, signing only TBS
 * entries it is shown committed, never produces.
 */
static enum ledger_status
rules_cert_der(const struct ledger_entry *e, const struct ledger_key_info *k,
    char *why, size_t whylen)
{
	const char *cert = ledger_entry_get(e, "cert");
	const char *tbs = ledger_entry_get(e, "tbs");
	const char *sha = ledger_entry_get(e, "cert-sha256");
	const char *b64 = tbs != NULL ? tbs : cert;
	const char *what = tbs != NULL ? "TBS" : "certificate";
	uint8_t *der = NULL, *kd = NULL, md[32];
	const unsigned char *p;
	const char *fail = NULL;
	char hex[65];
	X509 *x = NULL;
	int n, kn = 0;

	if ((tbs == NULL) == (sha == NULL) || (tbs != NULL && cert != NULL)) {
		snprintf(why, whylen, "a cert-issued entry carries either "
		    "cert-sha256 (and cert) or tbs");
		return LEDGER_ERR_MALFORMED;
	}
	if (b64 == NULL)
		return LEDGER_OK;
	if ((der = malloc(LEDGER_CERT_DER_MAX)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return LEDGER_ERR_STORAGE;
	}
	if ((n = ledger_b64_decode(b64, strlen(b64), der,
	    LEDGER_CERT_DER_MAX)) <= 0) {
		fail = "is not base64 DER";
		goto out;
	}
	if (tbs != NULL) {
		/* Read without decoding its key: its SPKI as bytes. */
		if (ledger_tbs_read(der, (size_t)n, &x, &kd, &kn) != 0) {
			fail = "is not one DER TBSCertificate";
			goto out;
		}
	} else {
		p = der;
		if ((x = d2i_X509(NULL, &p, n)) == NULL || p != der + n) {
			fail = "is not one DER certificate";
			goto out;
		}
		kn = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &kd);
		SHA256(der, (size_t)n, md);
		ledger_hex(md, sizeof(md), hex);
		if (strcmp(hex, sha) != 0) {
			fail = "does not hash to cert-sha256";
			goto out;
		}
	}
	if ((fail = rules_cert_fields(x, kd, kn, e, k)) == NULL && tbs != NULL)
		fail = rules_tbs_names(x, e, k);
out:
	if (fail != NULL)
		snprintf(why, whylen, "the recorded %s %s", what, fail);
	free(der);
	OPENSSL_free(kd);
	X509_free(x);
	return fail != NULL ? LEDGER_ERR_MALFORMED : LEDGER_OK;
}

/* See ledger.h. */
int
ledger_cert_current(const struct ledger_cert_info *c, time_t now)
{
	return !c->revoked && c->not_after > now;
}

/* 1 when every one of the n names of a (width bytes apart) is among the
 * n names of b. */
static int
rules_names_within(const char *a, const char *b, size_t width, int n)
{
	for (int i = 0; i < n; i++) {
		int found = 0;

		for (int j = 0; j < n && !found; j++)
			found = strcmp(a + (size_t)i * width,
			    b + (size_t)j * width) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* 1 when a and b hold the same set of n names each, in any order. */
static int
rules_same_name_set(const char *a, const char *b, size_t width, int n)
{
	return rules_names_within(a, b, width, n) &&
	    rules_names_within(b, a, width, n);
}

/* See ledger.h. */
int
ledger_key_same_device(const struct ledger_key_info *a,
    const struct ledger_key_info *b, char *why, size_t whylen)
{
	const char *diff = NULL;

	if (strcmp(a->account, b->account) != 0)
		diff = "another owning account";
	else if (strcmp(a->name, b->name) != 0)
		diff = "another name";
	else if (strcmp(a->profile, b->profile) != 0)
		diff = "another profile";
	else if (a->ndns != b->ndns || !rules_same_name_set(a->dns[0],
	    b->dns[0], sizeof(a->dns[0]), a->ndns))
		diff = "other DNS names";
	else if (a->nip != b->nip || !rules_same_name_set(a->ip[0],
	    b->ip[0], sizeof(a->ip[0]), a->nip))
		diff = "other IP addresses";
	if (diff != NULL)
		snprintf(why, whylen, "key %.16s... is registered with %s "
		    "than key %.16s... (not the same device)", b->key_id, diff,
		    a->key_id);
	return diff == NULL;
}

/* A key's current certificates of one profile, but `except`. */
struct rules_current {
	time_t now;
	const char *profile, *except;
	char serial[41];
};

static int
rules_current_cb(const struct ledger_cert_info *c, void *arg)
{
	struct rules_current *a = arg;

	if (ledger_cert_current(c, a->now) && strcmp(c->profile,
	    a->profile) == 0 && (a->except == NULL ||
	    strcmp(c->serial, a->except) != 0)) {
		snprintf(a->serial, sizeof(a->serial), "%s", c->serial);
		return 1;
	}
	return 0;
}

/*
 * The certificate a new one supersedes (`supersedes SERIAL`, renewal or
 * rekey, RFC 7030 4.2.2): recorded, current at ledger time, and for key k
 * itself or for a key registered as the same device
 * (ledger_key_same_device) and not revoked.  Read-only: applying the
 * entry revokes it afterwards (rules_cert_issued).
 */
static enum ledger_status
rules_supersede_check(struct ledger_store *s, const char *serial,
    const struct ledger_key_info *k, time_t now, char *why, size_t whylen)
{
	struct ledger_cert_info old;
	struct ledger_key_info *ok = NULL;
	enum ledger_status st = LEDGER_OK;
	const char *reason;
	int rc;

	if ((rc = s->ops->cert_get(s, serial, &old)) < 0)
		RULES_FAIL(LEDGER_ERR_STORAGE, "storage: %s",
		    s->ops->errmsg(s));
	if (rc == 1)
		RULES_FAIL(LEDGER_ERR_UNKNOWN_CERT, "the superseded serial %s "
		    "is not recorded", serial);
	reason = ledger_reason_name(old.reason);
	if (old.revoked)
		RULES_FAIL(LEDGER_ERR_CERT_REVOKED, "the superseded "
		    "certificate %s is already revoked (%s)", serial,
		    reason != NULL ? reason : "unspecified");
	if (!ledger_cert_current(&old, now))
		RULES_FAIL(LEDGER_ERR_WINDOW, "the superseded certificate %s "
		    "has expired", serial);
	if (strcmp(old.key_id, k->key_id) != 0) {
		if ((ok = malloc(sizeof(*ok))) == NULL)
			RULES_FAIL(LEDGER_ERR_STORAGE, "out of memory");
		if (s->ops->key_get(s, old.key_id, ok, NULL, 0) != 0)
			RULES_FAIL(LEDGER_ERR_STORAGE, "storage: %s",
			    s->ops->errmsg(s));
		if (ok->status == LEDGER_KEY_REVOKED)
			RULES_FAIL(LEDGER_ERR_KEY_REVOKED, "the key of the "
			    "superseded certificate %s is revoked", serial);
		if (!ledger_key_same_device(ok, k, why, whylen)) {
			st = LEDGER_ERR_NOT_SAME_DEVICE;
			goto out;
		}
	}
out:
	free(ok);
	return st;
}

/*
 * The trust rule for a new certificate (DESIGN "The trust rule"), the one
 * place that decides it, read-only: may registered key k get a
 * certificate of `profile` at ledger time now, superseding `supersedes`
 * (a serial, or NULL)?  The key is not revoked, the profile is its own,
 * the ledger time is inside its window; under the wave-2 rules (v2) it
 * has no current certificate of that profile but `supersedes`; and
 * `supersedes` passes rules_supersede_check.  rules_cert_issued (append
 * and replay) and ledger_rules_check_issue (the bridge, before it builds
 * and signs) both ask here, so they cannot disagree.
 */
static enum ledger_status
rules_may_issue(struct ledger_store *s, const struct ledger_key_info *k,
    const char *profile, const char *supersedes, int v2, time_t now,
    char *why, size_t whylen)
{
	struct rules_current cur;
	char nb[21], na[21];

	if (k->status == LEDGER_KEY_REVOKED) {
		snprintf(why, whylen, "key %s is revoked", k->key_id);
		return LEDGER_ERR_KEY_REVOKED;
	}
	if (strcmp(profile, k->profile) != 0) {
		snprintf(why, whylen, "key %s may enroll for profile %s only, "
		    "not %s", k->key_id, k->profile, profile);
		return LEDGER_ERR_PERMISSION;
	}
	if (now < k->not_before || now >= k->not_after) {
		ledger_time_format(k->not_before, nb);
		ledger_time_format(k->not_after, na);
		snprintf(why, whylen, "the ledger time is outside the validity "
		    "window of key %s (%s to %s)", k->key_id, nb, na);
		return LEDGER_ERR_WINDOW;
	}
	if (v2) {
		memset(&cur, 0, sizeof(cur));
		cur.now = now;
		cur.profile = profile;
		cur.except = supersedes;
		if (s->ops->key_certs(s, k->key_id, rules_current_cb,
		    &cur) != 0) {
			snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
			return LEDGER_ERR_STORAGE;
		}
		if (cur.serial[0] != '\0') {
			snprintf(why, whylen, "key %s already has the current "
			    "certificate %s (profile %s); a new one must "
			    "supersede it", k->key_id, cur.serial, profile);
			return LEDGER_ERR_CERT_CURRENT;
		}
	}
	if (supersedes != NULL)
		return rules_supersede_check(s, supersedes, k, now, why,
		    whylen);
	return LEDGER_OK;
}

/* The registration a pre-authorisation fixes, as rules_may_issue sees
 * the key it will register: active, owned by the pre-authorising account,
 * with no certificate yet (no key id). */
static void
rules_preauth_key(const struct ledger_preauth_info *pa,
    struct ledger_key_info *k)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->account, sizeof(k->account), "%s", pa->account);
	snprintf(k->name, sizeof(k->name), "%s", pa->name);
	snprintf(k->profile, sizeof(k->profile), "%s", pa->profile);
	k->ndns = pa->ndns;
	memcpy(k->dns, pa->dns, sizeof(k->dns));
	k->nip = pa->nip;
	memcpy(k->ip, pa->ip, sizeof(k->ip));
	k->not_before = pa->not_before;
	k->not_after = pa->not_after;
	k->status = LEDGER_KEY_ACTIVE;
}

/* See ledger_int.h. */
enum ledger_status
ledger_rules_check_issue(struct ledger_store *s,
    const struct ledger_issue_ask *a, time_t now, char *why, size_t whylen)
{
	struct ledger_key_info *k = malloc(sizeof(*k));
	struct ledger_preauth_info *pa = NULL;
	enum ledger_status st = LEDGER_OK;
	int rc;

	if (k == NULL || a->profile == NULL ||
	    (a->key_id == NULL) == (a->preauth == NULL))
		RULES_FAIL(LEDGER_ERR_MALFORMED, "the question names no key "
		    "or pre-authorisation, or no profile");
	if (a->preauth != NULL) {
		if ((pa = malloc(sizeof(*pa))) == NULL)
			RULES_FAIL(LEDGER_ERR_STORAGE, "out of memory");
		if ((st = rules_preauth_usable(s, a->preauth, now, pa, why,
		    whylen)) != LEDGER_OK)
			goto out;
		rules_preauth_key(pa, k);
	} else if ((rc = s->ops->key_get(s, a->key_id, k, NULL, 0)) != 0) {
		if (rc < 0)
			RULES_FAIL(LEDGER_ERR_STORAGE, "storage: %s",
			    s->ops->errmsg(s));
		RULES_FAIL(LEDGER_ERR_UNKNOWN_KEY, "key %s is not registered",
		    a->key_id);
	}
	st = rules_may_issue(s, k, a->profile, a->supersedes, 1, now, why,
	    whylen);
out:
	free(pa);
	free(k);
	return st;
}

/*
 * The bridge records a certificate it issued.  What the entry itself
 * carries is checked first: the certificate is what the entry says
 * (rules_cert_der), its validity inside the key's window, its serial new.
 * Then the trust rule decides (rules_may_issue; the one-current-certificate
 * part for wave-2 entries only: older entries renewed with a cert-issued
 * and then a cert-revoked entry, and replay as they were written).
 * Applying it revokes the superseded certificate, reason superseded, at
 * the same ledger time and index: there is no moment with two good
 * certificates, and no cert-revoked entry is needed.
 */
enum ledger_status
rules_cert_issued(struct ledger_store *s, const struct ledger_entry *e,
    uint64_t index, time_t now, char *why, size_t whylen)
{
	struct ledger_key_info k;
	struct ledger_cert_info c;
	enum ledger_status st;
	const char *sup = ledger_entry_get(e, "supersedes");
	int rc;

	if ((st = rules_key_lookup(s, e, &k, why, whylen)) != LEDGER_OK)
		return st;
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "%s",
	    ledger_entry_get(e, "serial"));
	snprintf(c.issuer, sizeof(c.issuer), "%s",
	    ledger_entry_get(e, "issuer"));
	snprintf(c.key_id, sizeof(c.key_id), "%s", k.key_id);
	snprintf(c.profile, sizeof(c.profile), "%s",
	    ledger_entry_get(e, "profile"));
	/* "" for a TBS entry: its certificate is signed after (the
	 * store keeps it beside the row, ledger_cert_signed). */
	if (ledger_entry_get(e, "cert-sha256") != NULL)
		snprintf(c.cert_sha256, sizeof(c.cert_sha256), "%s",
		    ledger_entry_get(e, "cert-sha256"));
	ledger_time_parse(ledger_entry_get(e, "not-before"), &c.not_before);
	ledger_time_parse(ledger_entry_get(e, "not-after"), &c.not_after);
	c.issued_index = index;
	if ((st = rules_cert_der(e, &k, why, whylen)) != LEDGER_OK)
		return st;
	if (c.not_before < k.not_before || c.not_after > k.not_after ||
	    c.not_after <= c.not_before) {
		snprintf(why, whylen, "the certificate's validity is outside "
		    "the validity window of key %s", k.key_id);
		return LEDGER_ERR_WINDOW;
	}
	if ((rc = s->ops->cert_get(s, c.serial, &(struct ledger_cert_info)
	    { 0 })) < 0)
		goto storage;
	if (rc == 0) {
		snprintf(why, whylen, "serial %s is already recorded",
		    c.serial);
		return LEDGER_ERR_DUPLICATE_SERIAL;
	}
	if ((st = rules_may_issue(s, &k, c.profile, sup, ledger_rules_v2(e),
	    now, why, whylen)) != LEDGER_OK)
		return st;
	if (sup != NULL && s->ops->cert_revoke(s, sup, now,
	    LEDGER_REASON_SUPERSEDED, index) != 0)
		goto storage;
	if (s->ops->cert_put(s, &c) != 0)
		goto storage;
	if (sup != NULL)
		ledger_store_touch(s, LEDGER_MAP_CERT, sup);
	ledger_store_touch(s, LEDGER_MAP_CERT, c.serial);
	return LEDGER_OK;
storage:
	snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
	return LEDGER_ERR_STORAGE;
}

/* A certificate is revoked on its own by the bridge (superseded on re-key)
 * or by the account that owns its key. */
enum ledger_status
rules_cert_revoked(struct ledger_store *s, const struct ledger_entry *e,
    const struct ledger_account_info *actor, uint64_t index, time_t now,
    char *why, size_t whylen)
{
	struct ledger_cert_info c;
	struct ledger_key_info k;
	const char *serial = ledger_entry_get(e, "serial");
	int rc;

	if ((rc = s->ops->cert_get(s, serial, &c)) < 0)
		goto storage;
	if (rc == 1) {
		snprintf(why, whylen, "serial %s is not recorded", serial);
		return LEDGER_ERR_UNKNOWN_CERT;
	}
	if (strcmp(actor->role, "bridge") != 0) {
		if ((rc = s->ops->key_get(s, c.key_id, &k, NULL, 0)) != 0)
			goto storage;
		if (strcmp(k.account, e->account) != 0) {
			snprintf(why, whylen, "certificate %s belongs to a key "
			    "of account %s", serial, k.account);
			return LEDGER_ERR_NOT_OWNER;
		}
	}
	if (c.revoked) {
		snprintf(why, whylen, "certificate %s is already revoked",
		    serial);
		return LEDGER_ERR_CERT_REVOKED;
	}
	if (s->ops->cert_revoke(s, serial, now,
	    ledger_reason_parse(ledger_entry_get(e, "reason")), index) != 0)
		goto storage;
	ledger_store_touch(s, LEDGER_MAP_CERT, serial);
	return LEDGER_OK;
storage:
	snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
	return LEDGER_ERR_STORAGE;
}
