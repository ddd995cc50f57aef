/*
 * test_rules_certs.c: the ledger's rules on certificates (ledger/rules.c):
 * cert-issued entries follow their key (the bridge role, an active key,
 * inside its window, once per serial), carry exactly the certificate they
 * describe, are revoked on their own or through the key (what OCSP and
 * the CRL read), by the key's owner; a key has one current certificate,
 * superseded only by the same device; entries from before the wave-2 cut
 * replay as written.  On both storage backends (rules_fx.h).
 */
#include "rules_fx.h"

/* ---- certificates follow their key ------------------------------------- */

/* Certificates are recorded by the bridge role only, for an active key,
 * inside its window, once per serial; then revoked on their own once. */
static void
test_certificate_entries_follow_the_key(void **state)
{
	struct fx *f = *state;
	struct ledger_field rv[2];
	struct ledger_counts cnt;
	struct reg r;
	struct cert c;
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);

	reg_fields(&r, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);

	cert_fields(&c, "1f2e3d", r.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	/* the same serial again */
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_ERR_DUPLICATE_SERIAL);
	/* a certificate that outlives the key's window */
	cert_fields(&c, "2a", r.id, now, now + 2 * 86400);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_ERR_WINDOW);
	/* an unregistered key */
	cert_fields(&c, "2b", "00000000000000000000000000000000000000000000000"
	    "00000000000000000", now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_ERR_UNKNOWN_KEY);
	/* revoked on its own (superseded), once */
	rv[0] = (struct ledger_field){ "serial", "1f2e3d" };
	rv[1] = (struct ledger_field){ "reason", "superseded" };
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "bridge", bseq++, now,
	    &f->bridge, 1, rv, 2, NULL), LEDGER_OK);
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "bridge", bseq, now,
	    &f->bridge, 1, rv, 2, NULL), LEDGER_ERR_CERT_REVOKED);
	/* after the key is revoked, no new certificate for it */
	rv[0] = (struct ledger_field){ "key-id", r.id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	cert_fields(&c, "3c", r.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_ERR_KEY_REVOKED);
	assert_int_equal(ledger_counts(f->l, &cnt), 0);
	assert_int_equal(cnt.certs_good, 0);
	assert_int_equal(cnt.certs_revoked, 1);
}

/* cert-revoked by an admin account: only the account that owns the
 * certificate's key may revoke it (the bridge may, on re-key). */
static void
test_only_the_key_owner_revokes_its_certificate(void **state)
{
	struct fx *f = *state;
	struct ledger_cert_info ci;
	struct ledger_field rv[2];
	struct reg r;
	struct cert c;
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);

	reg_fields(&r, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	cert_fields(&c, "5e", r.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	rv[0] = (struct ledger_field){ "serial", "5e" };
	rv[1] = (struct ledger_field){ "reason", "cessationOfOperation" };
	/* "other" is an admin account, but not the key's owner */
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "other", f->seq_other,
	    now, &f->other, 1, rv, 2, NULL), LEDGER_ERR_NOT_OWNER);
	assert_int_equal(ledger_cert_get(f->l, "5e", &ci), 0);
	assert_int_equal(ci.revoked, 0);
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	assert_int_equal(ledger_cert_get(f->l, "5e", &ci), 0);
	assert_int_equal(ci.revoked, 1);
}

/* ---- certificates carried by cert-issued entries ----------------------- */

/* A CA (key and self-signed certificate with a subject key identifier)
 * and a leaf for key k signed by it: serial, validity nb..na. */
static X509 *
make_cert(EVP_PKEY *cakey, X509 *ca, EVP_PKEY *k, uint64_t serial, time_t nb,
    time_t na)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	assert_non_null(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)(ca == NULL ? "ca" : "leaf"), -1, -1, 0), 1);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
	    serial), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), na));
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, ca == NULL ? n :
	    X509_get_subject_name(ca)), 1);
	assert_int_equal(X509_set_pubkey(x, k), 1);
	X509V3_set_ctx(&ctx, ca == NULL ? x : ca, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, ca == NULL ?
	    NID_subject_key_identifier : NID_authority_key_identifier,
	    ca == NULL ? "hash" : "keyid:always");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, cakey, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

/* Fields of a cert-issued entry that carries x (DER, base64); c's text
 * buffers hold the values. */
struct certrec {
	char serial[41], issuer[65], sha[65], nb[21], na[21], b64[4096];
	struct ledger_field fl[8];
};

static void
certrec_fields(struct certrec *c, X509 *x, X509 *ca, const char *key_id)
{
	unsigned char *der = NULL, md[32];
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	struct tm tm;
	int len = i2d_X509(x, &der);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = BN_bn2hex(bn);

	assert_true(len > 0 && ski != NULL && hex != NULL);
	for (char *p = hex; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	snprintf(c->serial, sizeof(c->serial), "%s", hex + (hex[0] == '0'));
	ledger_hex(ski->data, (size_t)ski->length, c->issuer);
	SHA256(der, (size_t)len, md);
	ledger_hex(md, sizeof(md), c->sha);
	assert_int_equal(ledger_b64_encode(der, (size_t)len, c->b64,
	    sizeof(c->b64)), 0);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm), 1);
	ledger_time_format(timegm(&tm), c->nb);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	ledger_time_format(timegm(&tm), c->na);
	c->fl[0] = (struct ledger_field){ "serial", c->serial };
	c->fl[1] = (struct ledger_field){ "issuer", c->issuer };
	c->fl[2] = (struct ledger_field){ "key-id", key_id };
	c->fl[3] = (struct ledger_field){ "profile", "device" };
	c->fl[4] = (struct ledger_field){ "not-before", c->nb };
	c->fl[5] = (struct ledger_field){ "not-after", c->na };
	c->fl[6] = (struct ledger_field){ "cert-sha256", c->sha };
	c->fl[7] = (struct ledger_field){ "cert", c->b64 };
	OPENSSL_free(der);
	OPENSSL_free(hex);
	BN_free(bn);
}

/* ledger_cert_der for a serial: 1 also when it is not recorded. */
static int
cert_der(struct fx *f, const char *serial, uint8_t *der, size_t cap,
    size_t *len)
{
	struct ledger_cert_info ci;
	int rc = ledger_cert_get(f->l, serial, &ci);

	return rc != 0 ? rc : ledger_cert_der(f->l, &ci, der, cap, len);
}

/* A cert-issued entry may carry the certificate; then it must be exactly
 * what the entry says: its hash, serial, validity, the registered key and
 * the issuer.  The ledger hands the recorded DER back. */
static void
test_recorded_certificate_must_match_its_entry(void **state)
{
	struct fx *f = *state;
	struct reg r, r2;
	struct certrec c;
	EVP_PKEY *k = ledger_key_generate("ec-p256"), *other =
	    ledger_key_generate("ec-p256"), *cakey =
	    ledger_key_generate("ec-p256");
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);
	X509 *ca = make_cert(cakey, NULL, cakey, 1, now - 60, now + 86400);
	X509 *x = make_cert(cakey, ca, k, 0x1f2e3d4c5b, now, now + 3600);
	uint8_t der[4096], want[4096], *p = want;
	struct cert h;
	size_t len = 0;
	int wantlen;
	char bad[65];

	reg_fields(&r, k, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	reg_fields(&r2, other, now - 60, now + 86400);
	r2.fl[2] = (struct ledger_field){ "name", "cam-2" };
	assert_int_equal(register_as_admin(f, &r2), LEDGER_OK);

	/* each field in turn made wrong: refused, nothing recorded */
	certrec_fields(&c, x, ca, r.id);
	snprintf(bad, sizeof(bad), "%s", c.sha);
	bad[0] = bad[0] == '0' ? '1' : '0';
	c.fl[6].value = bad;
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	certrec_fields(&c, x, ca, r.id);
	c.fl[0].value = "1f2e3d4c5c";
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	certrec_fields(&c, x, ca, r.id);
	c.fl[1].value = "issuing-1";
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	certrec_fields(&c, x, ca, r2.id);	/* the other key's entry */
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	certrec_fields(&c, x, ca, r.id);
	ledger_time_format(now + 1800, c.na);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	certrec_fields(&c, x, ca, r.id);
	c.fl[7].value = "MAMCAQA=";		/* DER, but no certificate */
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_ERR_MALFORMED);
	assert_int_equal(cert_der(f, c.serial, der, sizeof(der),
	    &len), 1);

	/* the right one: recorded, and its DER comes back */
	certrec_fields(&c, x, ca, r.id);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_OK);
	assert_int_equal(cert_der(f, c.serial, der, sizeof(der),
	    &len), 0);
	wantlen = i2d_X509(x, &p);
	assert_int_equal(len, (size_t)wantlen);
	assert_memory_equal(der, want, len);
	/* a record by hash only (older entries) has no DER to give */
	cert_fields(&h, "77", r2.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, h.fl, 7, NULL), LEDGER_OK);
	assert_int_equal(cert_der(f, "77", der, sizeof(der), &len),
	    1);
	assert_int_equal(cert_der(f, "78", der, sizeof(der), &len),
	    1);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	EVP_PKEY_free(cakey);
}

/* What OCSP and the CRL read: a certificate is revoked on its own or
 * through its key (the earlier revocation wins), the revoked set of an
 * issuer lists exactly those, and ledger_changes reports the entries that
 * change a status with their serial and key. */
struct seen_changes {
	int issued, revoked, key_revoked, other, superseded;
	char last_serial[41], supersedes[41];
};

static int
collect_change(const struct ledger_change *ch, void *arg)
{
	struct seen_changes *s = arg;

	if (ch->type == LEDGER_CERT_ISSUED) {
		s->issued++;
		assert_string_equal(ch->issuer, "issuing-1");
		assert_int_equal(strlen(ch->key_id), 64);
		if (ch->supersedes[0] != '\0') {
			s->superseded++;
			snprintf(s->supersedes, sizeof(s->supersedes), "%s",
			    ch->supersedes);
		}
	} else if (ch->type == LEDGER_CERT_REVOKED)
		s->revoked++;
	else if (ch->type == LEDGER_KEY_REVOKE)
		s->key_revoked++;
	else
		s->other++;
	snprintf(s->last_serial, sizeof(s->last_serial), "%s", ch->serial);
	return 0;
}

struct seen_revoked {
	int n;
	char serial[4][41];
	int reason[4];
};

static int
collect_revoked(const struct ledger_cert_info *c, void *arg)
{
	struct seen_revoked *s = arg;
	time_t at;
	int reason;

	assert_true(s->n < 4);
	assert_int_equal(ledger_cert_revoked(c, &at, &reason), 1);
	snprintf(s->serial[s->n], sizeof(s->serial[0]), "%s", c->serial);
	s->reason[s->n++] = reason;
	return 0;
}

static void
test_revocation_reaches_certificates_and_changes(void **state)
{
	struct fx *f = *state;
	struct ledger_field rv[2];
	struct ledger_cert_info ci;
	struct seen_changes ch;
	struct seen_revoked sr;
	struct reg a, b, d;
	struct cert c;
	time_t now = time(NULL), at;
	uint64_t bseq = make_bridge(f), from, next;
	int reason;

	reg_fields(&a, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &a), LEDGER_OK);
	reg_fields(&b, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &b), LEDGER_OK);
	reg_fields(&d, NULL, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &d), LEDGER_OK);
	from = ledger_size(f->l);
	cert_fields(&c, "a1", a.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	/* a renewal: a2 supersedes a1, which is revoked in the same entry */
	cert_fields(&c, "a2", a.id, now, now + 3600);
	cert_supersedes(&c, "a1");
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 8, NULL), LEDGER_OK);
	cert_fields(&c, "b1", b.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	cert_fields(&c, "d1", d.id, now, now + 3600);
	assert_int_equal(put(f, LEDGER_CERT_ISSUED, "bridge", bseq++, now,
	    &f->bridge, 1, c.fl, 7, NULL), LEDGER_OK);
	assert_int_equal(ledger_cert_get(f->l, "a2", &ci), 0);
	assert_int_equal(ledger_cert_revoked(&ci, &at, &reason), 0);

	rv[0] = (struct ledger_field){ "serial", "d1" };
	rv[1] = (struct ledger_field){ "reason", "cessationOfOperation" };
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "bridge", bseq++, now,
	    &f->bridge, 1, rv, 2, NULL), LEDGER_OK);
	rv[0] = (struct ledger_field){ "key-id", a.id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);

	/* a2 is revoked through its key, a1 keeps its own earlier reason */
	assert_int_equal(ledger_cert_get(f->l, "a2", &ci), 0);
	assert_int_equal(ledger_cert_revoked(&ci, &at, &reason), 1);
	assert_int_equal(reason, LEDGER_REASON_KEY_COMPROMISE);
	assert_int_equal(ledger_cert_get(f->l, "a1", &ci), 0);
	assert_int_equal(ledger_cert_revoked(&ci, &at, &reason), 1);
	assert_int_equal(reason, LEDGER_REASON_SUPERSEDED);
	/* negative control: b1 stays good */
	assert_int_equal(ledger_cert_get(f->l, "b1", &ci), 0);
	assert_int_equal(ledger_cert_revoked(&ci, &at, &reason), 0);

	memset(&sr, 0, sizeof(sr));
	assert_int_equal(ledger_certs_revoked(f->l, "issuing-1", now,
	    collect_revoked, &sr), 0);
	assert_int_equal(sr.n, 3);
	for (int i = 0; i < 3; i++)
		assert_true(strcmp(sr.serial[i], "a1") == 0 ||
		    strcmp(sr.serial[i], "a2") == 0 ||
		    strcmp(sr.serial[i], "d1") == 0);
	/* expired certificates leave the CRL; another issuer has none */
	memset(&sr, 0, sizeof(sr));
	assert_int_equal(ledger_certs_revoked(f->l, "issuing-1", now + 7200,
	    collect_revoked, &sr), 0);
	assert_int_equal(sr.n, 0);
	assert_int_equal(ledger_certs_revoked(f->l, "issuing-2", now,
	    collect_revoked, &sr), 0);
	assert_int_equal(sr.n, 0);

	memset(&ch, 0, sizeof(ch));
	assert_int_equal(ledger_changes(f->l, from, LEDGER_LIST_MAX, &next,
	    collect_change, &ch), 0);
	assert_int_equal(next, ledger_size(f->l));
	assert_int_equal(ch.issued, 4);
	assert_int_equal(ch.revoked, 1);
	assert_int_equal(ch.key_revoked, 1);
	assert_int_equal(ch.other, 0);
	/* the renewal reports the certificate it revoked */
	assert_int_equal(ch.superseded, 1);
	assert_string_equal(ch.supersedes, "a1");
	/* the key registrations before `from` are not changes */
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(ledger_changes(f->l, 0, LEDGER_LIST_MAX, &next,
	    collect_change, &ch), 0);
	assert_int_equal(ch.issued, 4);
	assert_int_equal(ch.other, 0);
}

/* ---- one current certificate per key ----------------------------------- */

/* The cert-issued entry for serial with fields c (n of them) at `now`;
 * its receipt in *r.  Returns the status. */
static enum ledger_status
put_cert(struct fx *f, uint64_t *bseq, struct cert *c, size_t n,
    struct ledger_receipt *r)
{
	enum ledger_status st = put(f, LEDGER_CERT_ISSUED, "bridge", *bseq,
	    time(NULL), &f->bridge, 1, c->fl, n, r);

	if (st == LEDGER_OK)
		(*bseq)++;
	return st;
}

/* A key has at most one current certificate (not revoked on its own,
 * not expired at ledger time): another is recorded only by an entry that
 * names the current one in `supersedes`, and that entry revokes it
 * (superseded, at its own index).  A superseded, revoked, expired or
 * unknown certificate cannot be superseded. */
static void
test_a_key_has_one_current_certificate(void **state)
{
	struct fx *f = *state;
	struct ledger_cert_info ci;
	struct ledger_field rv[2];
	struct ledger_verify_report rep;
	struct ledger_receipt r2;
	struct reg r;
	struct cert c;
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);

	reg_fields(&r, NULL, now - 86400, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	cert_fields(&c, "c1", r.id, now, now + 3600);
	assert_int_equal(put_cert(f, &bseq, &c, 7, NULL), LEDGER_OK);
	/* a second one that does not name it: refused, nothing recorded */
	cert_fields(&c, "c2", r.id, now, now + 3600);
	assert_int_equal(put_cert(f, &bseq, &c, 7, NULL),
	    LEDGER_ERR_CERT_CURRENT);
	cert_supersedes(&c, "dead");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_CERT_CURRENT);
	assert_int_equal(ledger_cert_get(f->l, "c2", &ci), 1);
	assert_true(cert_good(f, "c1"));
	/* naming it: c2 recorded, c1 revoked as superseded by that entry */
	cert_supersedes(&c, "c1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, &r2), LEDGER_OK);
	assert_int_equal(ledger_cert_get(f->l, "c1", &ci), 0);
	assert_int_equal(ci.revoked, 1);
	assert_int_equal(ci.reason, LEDGER_REASON_SUPERSEDED);
	assert_int_equal(ci.revoked_index, r2.index);
	assert_true(cert_good(f, "c2"));
	/* a renewal that lost a race names the certificate already gone */
	cert_fields(&c, "c3", r.id, now, now + 3600);
	cert_supersedes(&c, "c1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_CERT_CURRENT);
	/* with no current certificate left, a revoked one cannot be named */
	rv[0] = (struct ledger_field){ "serial", "c2" };
	rv[1] = (struct ledger_field){ "reason", "cessationOfOperation" };
	assert_int_equal(put(f, LEDGER_CERT_REVOKED, "bridge", bseq++, now,
	    &f->bridge, 1, rv, 2, NULL), LEDGER_OK);
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_CERT_REVOKED);
	cert_supersedes(&c, "c2");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_CERT_REVOKED);
	cert_supersedes(&c, "beef");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_UNKNOWN_CERT);
	/* an expired certificate is not current, and cannot be superseded */
	cert_fields(&c, "e1", r.id, now - 7200, now - 3600);
	assert_int_equal(put_cert(f, &bseq, &c, 7, NULL), LEDGER_OK);
	cert_fields(&c, "c3", r.id, now, now + 3600);
	cert_supersedes(&c, "e1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL), LEDGER_ERR_WINDOW);
	assert_int_equal(put_cert(f, &bseq, &c, 7, NULL), LEDGER_OK);
	assert_true(cert_good(f, "c3"));
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
}

/* A certificate may be superseded by one for another key only when that
 * key is registered as the same device (RFC 7030 4.2.2 rekey): the same
 * owning account, name, profile and names, and not revoked. */
static void
test_rekey_supersedes_only_the_same_device(void **state)
{
	struct fx *f = *state;
	struct reg a, b, c2, d, o;
	struct ledger_field rv[2];
	struct ledger_verify_report rep;
	struct cert c;
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);
	enum ledger_status st;

	reg_fields(&a, NULL, now - 60, now + 86400);	/* "cam-1" */
	assert_int_equal(register_as_admin(f, &a), LEDGER_OK);
	reg_fields(&b, NULL, now - 60, now + 86400);	/* the same device */
	assert_int_equal(register_as_admin(f, &b), LEDGER_OK);
	reg_fields(&c2, NULL, now - 60, now + 86400);	/* another name */
	c2.fl[2] = (struct ledger_field){ "name", "cam-2" };
	assert_int_equal(register_as_admin(f, &c2), LEDGER_OK);
	reg_fields(&d, NULL, now - 60, now + 86400);	/* another name set */
	d.fl[4] = (struct ledger_field){ "dns", "cam-1.example" };
	d.fl[5] = (struct ledger_field){ "not-before", d.nb };
	st = put(f, LEDGER_KEY_REGISTER, "admin", f->seq_admin, now,
	    &f->admin, 1, (struct ledger_field[]){ d.fl[0], d.fl[1], d.fl[2],
	    d.fl[3], d.fl[4], d.fl[5], { "not-after", d.na } }, 7, NULL);
	assert_int_equal(st, LEDGER_OK);
	f->seq_admin++;
	reg_fields(&o, NULL, now - 60, now + 86400);	/* another owner */
	assert_int_equal(put(f, LEDGER_KEY_REGISTER, "other", f->seq_other++,
	    now, &f->other, 1, o.fl, 6, NULL), LEDGER_OK);

	cert_fields(&c, "a1", a.id, now, now + 3600);
	assert_int_equal(put_cert(f, &bseq, &c, 7, NULL), LEDGER_OK);
	cert_fields(&c, "f1", c2.id, now, now + 3600);
	cert_supersedes(&c, "a1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_NOT_SAME_DEVICE);
	cert_fields(&c, "f2", d.id, now, now + 3600);
	cert_supersedes(&c, "a1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_NOT_SAME_DEVICE);
	cert_fields(&c, "f3", o.id, now, now + 3600);
	cert_supersedes(&c, "a1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_NOT_SAME_DEVICE);
	assert_true(cert_good(f, "a1"));
	/* the same device: b1 takes over, a1 is superseded */
	cert_fields(&c, "b1", b.id, now, now + 3600);
	cert_supersedes(&c, "a1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL), LEDGER_OK);
	assert_false(cert_good(f, "a1"));
	assert_true(cert_good(f, "b1"));
	/* from a key revoked since: refused */
	rv[0] = (struct ledger_field){ "key-id", b.id };
	rv[1] = (struct ledger_field){ "reason", "keyCompromise" };
	assert_int_equal(put(f, LEDGER_KEY_REVOKE, "admin", f->seq_admin++,
	    now, &f->admin, 1, rv, 2, NULL), LEDGER_OK);
	cert_fields(&c, "a2", a.id, now, now + 3600);
	cert_supersedes(&c, "b1");
	assert_int_equal(put_cert(f, &bseq, &c, 8, NULL),
	    LEDGER_ERR_KEY_REVOKED);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
}

/* ledger_rules_apply of note (freed) at index, in a block of time now. */
static enum ledger_status
apply_note(struct ledger_store *s, char *note, uint64_t index, time_t now)
{
	struct ledger_entry e;
	enum ledger_status st;
	char why[256];

	assert_int_equal(ledger_entry_parse(note, strlen(note), &e, why,
	    sizeof(why)), LEDGER_OK);
	st = ledger_rules_apply(s, &e, index, now, why, sizeof(why));
	ledger_entry_clear(&e);
	free(note);
	return st;
}

/* Entries dated before the wave-2 cut renewed with a cert-issued entry
 * and then a cert-revoked one: such a ledger still replays.  The same
 * pair dated after the cut is refused.  (The rules run on the store
 * directly, with the old ledger time.) */
static void
test_v1_entries_may_renew_in_two_steps(void **state)
{
	struct fx *f = *state;
	struct ledger_store *s;
	struct ledger_field rv[2];
	struct reg r;
	struct cert c;
	time_t v1 = LEDGER_RULES_V2_TIME - 3600, v2 = LEDGER_RULES_V2_TIME + 60;
	uint64_t bseq = make_bridge(f), idx = ledger_size(f->l);
	char err[256];

	reg_fields(&r, NULL, v1 - 60, v1 + 30 * 86400);
	s = ledger_store_open(f->db, 0, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	s->origin = TEST_ORIGIN;
	assert_int_equal(s->ops->begin(s), 0);
	assert_int_equal(apply_note(s, signed_note(LEDGER_KEY_REGISTER, "admin",
	    f->seq_admin, v1, f->admin, r.fl, 6), idx++, v1), LEDGER_OK);
	cert_fields(&c, "71", r.id, v1, v1 + 86400);
	assert_int_equal(apply_note(s, signed_note(LEDGER_CERT_ISSUED, "bridge",
	    bseq++, v1, f->bridge, c.fl, 7), idx++, v1), LEDGER_OK);
	cert_fields(&c, "72", r.id, v1, v1 + 86400);
	assert_int_equal(apply_note(s, signed_note(LEDGER_CERT_ISSUED, "bridge",
	    bseq++, v1, f->bridge, c.fl, 7), idx++, v1), LEDGER_OK);
	rv[0] = (struct ledger_field){ "serial", "71" };
	rv[1] = (struct ledger_field){ "reason", "superseded" };
	assert_int_equal(apply_note(s, signed_note(LEDGER_CERT_REVOKED,
	    "bridge", bseq++, v1, f->bridge, rv, 2), idx++, v1), LEDGER_OK);
	/* after the cut: 72 is current, a new one must name it (no
	 * savepoint here: the refused entry's seq stays used) */
	cert_fields(&c, "73", r.id, v2, v2 + 86400);
	assert_int_equal(apply_note(s, signed_note(LEDGER_CERT_ISSUED, "bridge",
	    bseq++, v2, f->bridge, c.fl, 7), idx, v2),
	    LEDGER_ERR_CERT_CURRENT);
	cert_supersedes(&c, "72");
	assert_int_equal(apply_note(s, signed_note(LEDGER_CERT_ISSUED, "bridge",
	    bseq++, v2, f->bridge, c.fl, 8), idx++, v2), LEDGER_OK);
	assert_int_equal(s->ops->rollback(s), 0);
	s->ops->close(s);
}

#define CERTS_TESTS \
	T(test_certificate_entries_follow_the_key), \
	T(test_only_the_key_owner_revokes_its_certificate), \
	T(test_recorded_certificate_must_match_its_entry), \
	T(test_revocation_reaches_certificates_and_changes), \
	T(test_a_key_has_one_current_certificate), \
	T(test_rekey_supersedes_only_the_same_device), \
	T(test_v1_entries_may_renew_in_two_steps)

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = { CERTS_TESTS };
	char name[64];

	snprintf(name, sizeof(name), "ledger/rules_certs (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	return fx_main("test_rules_certs", run_suite, NULL);
}
