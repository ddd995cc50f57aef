/*
 * test_admit.c: ca_cert_admit (bridge/ca/admit.c), the CA signs only what
 * the ledger committed.  A real ledger (SQLite, and PostgreSQL when
 * KB_TEST_PG_URL is set: tests/ledger/rules_fx.h) records a key and a
 * cert-issued entry carrying a TBS built by issue_build; the request is
 * made from its real receipt, inclusion proofs and checkpoint.  Then each
 * negative control of issue 13: a TBS not on the ledger, a TBS one byte
 * off, a forged checkpoint, a proof for another leaf, an entry below the
 * last one signed, another key's registration, another origin, another
 * account, another entry type.
 */
#include "tests/ledger/rules_fx.h"

#include "bridge/ca/ca.h"

#define AFX_URL FX_TBS_URL

/* Everything a request is made of, from a real ledger. */
struct afx {
	EVP_PKEY *cakey, *k, *k2;
	X509 *ca;
	char issuer_id[65];
	char *entry, *reg, *reg2, *cp;
	uint64_t entry_index, reg_index, reg2_index, size;
	uint8_t ep[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t rp[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t r2p[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	size_t nep, nrp, nr2p;
	struct ca_cert_req req;
	struct ca_admit_ctx ctx;
	const char *vkey;
	time_t now;		/* of the keys' registration */
};

static int
afx_copy_cb(const struct ledger_entry_info *ei, void *arg)
{
	char **out = arg;

	assert_non_null(*out = strndup(ei->text, ei->len));
	return 1;
}

/* The text of entry index (malloc'd). */
static char *
afx_entry(struct fx *f, uint64_t index)
{
	char *t = NULL;

	assert_int_equal(ledger_entries(f->l, index, 1, afx_copy_cb, &t), 0);
	assert_non_null(t);
	return t;
}

/* A cert-issued entry (signed by the bridge, seq) with the TBS issue_build
 * makes for key k registered as cam-1 (device); *serial gets its serial.
 * A signed note (malloc'd). */
static char *
afx_cert_note(struct fx *f, struct afx *a, EVP_PKEY *k, uint64_t seq,
    const char *key_id, char serial[41])
{
	struct fx_tbs *t = malloc(sizeof(*t));
	char *note;

	assert_non_null(t);
	fx_tbs_fields(t, a->ca, k, key_id, "cam-1", EST_PROFILE_DEVICE, NULL,
	    a->now);
	assert_string_equal(t->issuer, a->issuer_id);
	memcpy(serial, t->serial, sizeof(t->serial));
	note = ledger_entry_body(LEDGER_CERT_ISSUED, "bridge", seq, a->now,
	    TEST_ORIGIN, t->fl, 7);
	assert_non_null(note = ledger_entry_sign(note, "bridge", f->bridge));
	free(t);
	return note;
}

static int
afx_checkpoint_ok(void *arg, const char *note, uint64_t *size,
    uint8_t root[LEDGER_HASH_LEN], char *why, size_t whylen)
{
	char origin[LEDGER_ORIGIN_MAX + 1];
	time_t t;

	return ledger_proof_checkpoint(note, arg, origin, sizeof(origin), size,
	    root, &t, why, whylen);
}

/* Records two keys (cam-1 and cam-2) and cam-1's certificate entry, and
 * makes the request and the context of the key's side from the ledger. */
static struct afx *
afx_new(struct fx *f)
{
	struct afx *a = calloc(1, sizeof(*a));
	struct ledger_receipt rc;
	struct ledger_key_info *ki = malloc(sizeof(*ki));
	const ASN1_OCTET_STRING *ski;
	struct reg r, r2;
	char serial[41], why[256];
	time_t now = time(NULL);
	uint64_t bseq = make_bridge(f);

	assert_non_null(a);
	a->now = now;
	assert_non_null(ki);
	a->cakey = ledger_key_generate("ec-p256");
	a->k = ledger_key_generate("ec-p256");
	a->k2 = ledger_key_generate("ec-p256");
	a->ca = fx_tbs_ca(a->cakey);
	ski = X509_get0_subject_key_id(a->ca);
	ledger_hex(ski->data, (size_t)ski->length, a->issuer_id);
	reg_fields(&r, a->k, now - 60, now + 86400);
	assert_int_equal(register_as_admin(f, &r), LEDGER_OK);
	reg_fields(&r2, a->k2, now - 60, now + 86400);
	r2.fl[2] = (struct ledger_field){ "name", "cam-2" };
	assert_int_equal(register_as_admin(f, &r2), LEDGER_OK);
	assert_int_equal(ledger_key_get(f->l, r.id, ki), 0);
	a->reg_index = ki->registered_index;
	assert_int_equal(ledger_key_get(f->l, r2.id, ki), 0);
	a->reg2_index = ki->registered_index;
	free(ki);
	a->entry = afx_cert_note(f, a, a->k, bseq, r.id, serial);
	assert_int_equal(ledger_append(f->l, a->entry, strlen(a->entry), &rc,
	    why, sizeof(why)), LEDGER_OK);
	a->entry_index = rc.index;
	a->size = rc.tree_size;
	assert_non_null(a->cp = strdup(rc.checkpoint));
	a->reg = afx_entry(f, a->reg_index);
	a->reg2 = afx_entry(f, a->reg2_index);
	assert_int_equal(ledger_inclusion_proof(f->l, a->entry_index, a->size,
	    a->ep, &a->nep), 0);
	assert_int_equal(ledger_inclusion_proof(f->l, a->reg_index, a->size,
	    a->rp, &a->nrp), 0);
	assert_int_equal(ledger_inclusion_proof(f->l, a->reg2_index, a->size,
	    a->r2p, &a->nr2p), 0);
	a->req.checkpoint = a->cp;
	a->req.entry = a->entry;
	a->req.entry_index = a->entry_index;
	a->req.entry_proof = (const uint8_t (*)[LEDGER_HASH_LEN])a->ep;
	a->req.entry_nproof = a->nep;
	a->req.reg = a->reg;
	a->req.reg_index = a->reg_index;
	a->req.reg_proof = (const uint8_t (*)[LEDGER_HASH_LEN])a->rp;
	a->req.reg_nproof = a->nrp;
	a->ctx.issuer = a->ca;
	a->ctx.issuer_id = a->issuer_id;
	a->ctx.origin = TEST_ORIGIN;
	a->ctx.checkpoint_ok = afx_checkpoint_ok;
	a->ctx.checkpoint_arg = f->vkey;
	a->ctx.ocsp_url = AFX_URL "/ocsp";
	a->ctx.ca_issuers_url = AFX_URL "/ca/issuing.der";
	a->ctx.crl_url = AFX_URL "/crl/x.crl";
	a->ctx.account = "bridge";
	a->ctx.now = now;
	a->ctx.min_index = 0;
	return a;
}

static void
afx_free(struct afx *a)
{
	EVP_PKEY_free(a->cakey);
	EVP_PKEY_free(a->k);
	EVP_PKEY_free(a->k2);
	X509_free(a->ca);
	free(a->entry);
	free(a->reg);
	free(a->reg2);
	free(a->cp);
	free(a);
}

/* ca_cert_admit on a's request: -1 with why containing want, or 0 when
 * want is NULL. */
static void
admit_expect(struct afx *a, const char *want)
{
	uint8_t *tbs = NULL;
	size_t len = 0;
	char why[512] = "";
	int rc = ca_cert_admit(&a->req, &a->ctx, &tbs, &len, why,
	    sizeof(why));

	if (want == NULL) {
		if (rc != 0)
			fail_msg("refused: %s", why);
	} else {
		if (rc != -1)
			fail_msg("admitted, wanted a refusal: %s", want);
		if (strstr(why, want) == NULL)
			fail_msg("refused with \"%s\", wanted \"%s\"", why,
			    want);
		assert_null(tbs);
	}
	free(tbs);
}

/* The committed TBS is admitted and handed back byte for byte; signed,
 * it makes a certificate whose TBS is the ledger's and whose signature
 * verifies under the CA; the ledger's rules accept the same TBS. */
static void
test_admits_the_committed_tbs_and_signs_exactly_it(void **state)
{
	struct fx *f = *state;
	struct afx *a = afx_new(f);
	struct ledger_entry *e;
	uint8_t *tbs = NULL, rec[4096];
	const uint8_t *t;
	size_t len = 0, tlen;
	unsigned char *der = NULL;
	char why[512];
	X509 *cert;
	int n, dlen;

	assert_int_equal(ca_cert_admit(&a->req, &a->ctx, &tbs, &len, why,
	    sizeof(why)), 0);
	assert_non_null(e = ledger_entry_new(a->entry, strlen(a->entry), why,
	    sizeof(why)));
	n = ledger_b64_decode(ledger_entry_get(e, "tbs"),
	    strlen(ledger_entry_get(e, "tbs")), rec, sizeof(rec));
	assert_int_equal((size_t)n, len);
	assert_memory_equal(rec, tbs, len);
	assert_non_null(cert = ca_sign_tbs(tbs, len, a->cakey, why,
	    sizeof(why)));
	assert_true((dlen = i2d_X509(cert, &der)) > 0);
	assert_int_equal(ledger_tbs_of_cert(der, (size_t)dlen, &t, &tlen), 0);
	assert_int_equal(tlen, len);
	assert_memory_equal(t, tbs, len);
	assert_int_equal(X509_verify(cert, a->cakey), 1);
	ledger_entry_free(e);
	OPENSSL_free(der);
	X509_free(cert);
	free(tbs);
	afx_free(a);
}

/* A cert-issued entry signed by our bridge account, well formed, but
 * never committed: no proof in the checkpoint's tree holds for it. */
static void
test_refuses_a_tbs_not_on_the_ledger(void **state)
{
	struct fx *f = *state;
	struct afx *a = afx_new(f);
	struct ledger_entry *e;
	char serial[41], why[256], *other;

	assert_non_null(e = ledger_entry_new(a->reg, strlen(a->reg), why,
	    sizeof(why)));
	other = afx_cert_note(f, a, a->k, 2, ledger_entry_get(e, "key-id"),
	    serial);
	a->req.entry = other;
	admit_expect(a, "the cert-issued entry is not in the checkpoint's "
	    "tree");
	ledger_entry_free(e);
	free(other);
	afx_free(a);
}

/* The recorded entry with one byte of its TBS changed. */
static void
test_refuses_a_tbs_one_byte_off(void **state)
{
	struct fx *f = *state;
	struct afx *a = afx_new(f);
	char *p = strstr(a->entry, "\ntbs ");

	assert_non_null(p);
	p += 40;		/* inside the base64 of the TBS */
	*p = *p == 'A' ? 'B' : 'A';
	admit_expect(a, "the cert-issued entry is not in the checkpoint's "
	    "tree");
	afx_free(a);
}

/* A checkpoint with the ledger's body signed by another key under the
 * node's name, and the real one with its root changed. */
static void
test_refuses_a_forged_checkpoint(void **state)
{
	struct fx *f = *state;
	struct afx *a = afx_new(f);
	EVP_PKEY *forger = ledger_key_generate("ed25519");
	char *body = strdup(a->cp), *sep, *forged, *p;

	assert_non_null(body);
	assert_non_null(sep = strstr(body, "\n\n"));
	sep[1] = '\0';
	assert_non_null(forged = ledger_entry_sign(body, "test-node", forger));
	a->req.checkpoint = forged;
	admit_expect(a, "checkpoint: the checkpoint is not signed");
	/* the real signature over another root */
	a->req.checkpoint = a->cp;
	p = strchr(strchr(a->cp, '\n') + 1, '\n') + 1;	/* the root line */
	*p = *p == 'A' ? 'B' : 'A';
	admit_expect(a, "checkpoint: the checkpoint is not signed");
	free(forged);
	EVP_PKEY_free(forger);
	afx_free(a);
}

/* The entry's proof given for another leaf index, and the other key's
 * registration shown with the entry's proof. */
static void
test_refuses_a_proof_for_another_leaf(void **state)
{
	struct fx *f = *state;
	struct afx *a = afx_new(f);

	a->req.entry_proof = (const uint8_t (*)[LEDGER_HASH_LEN])a->rp;
	a->req.entry_nproof = a->nrp;
	admit_expect(a, "the cert-issued entry is not in the checkpoint's "
	    "tree");
	a->req.entry_proof = (const uint8_t (*)[LEDGER_HASH_LEN])a->ep;
	a->req.entry_nproof = a->nep;
	a->req.reg_index = a->reg2_index;
	admit_expect(a, "the key-register entry is not in the checkpoint's "
	    "tree");
	afx_free(a);
}

/* An entry below the last one signed: each committed TBS is signed once,
 * and an old checkpoint cannot bring one back. */
static void
test_refuses_an_entry_below_the_last_signed(void **state)
{
	struct fx *f = *state;
	struct afx *a = afx_new(f);

	a->ctx.min_index = a->entry_index + 1;
	admit_expect(a, "older than the last one signed");
	a->ctx.min_index = a->entry_index;
	admit_expect(a, NULL);
	afx_free(a);
}

/* Another key's key-register entry, committed and properly proven. */
static void
test_refuses_another_keys_registration(void **state)
{
	struct fx *f = *state;
	struct afx *a = afx_new(f);

	a->req.reg = a->reg2;
	a->req.reg_index = a->reg2_index;
	a->req.reg_proof = (const uint8_t (*)[LEDGER_HASH_LEN])a->r2p;
	a->req.reg_nproof = a->nr2p;
	admit_expect(a, "not the certificate's key's");
	afx_free(a);
}

/* Another ledger's origin, another bridge account, another issuer. */
static void
test_refuses_another_origin_account_or_issuer(void **state)
{
	struct fx *f = *state;
	struct afx *a = afx_new(f);

	a->ctx.origin = "other/ledger";
	admit_expect(a, "the checkpoint is for another ledger's origin");
	a->ctx.origin = TEST_ORIGIN;
	a->ctx.account = "bridge2";
	admit_expect(a, "not signed by our bridge account");
	a->ctx.account = "bridge";
	a->ctx.issuer_id = "00112233";
	admit_expect(a, "names another issuer");
	afx_free(a);
}

/* The key-register entry shown as the certificate entry (both proven). */
static void
test_refuses_an_entry_of_another_type(void **state)
{
	struct fx *f = *state;
	struct afx *a = afx_new(f);

	a->req.entry = a->reg;
	a->req.entry_index = a->reg_index;
	a->req.entry_proof = (const uint8_t (*)[LEDGER_HASH_LEN])a->rp;
	a->req.entry_nproof = a->nrp;
	admit_expect(a, "not a cert-issued entry");
	afx_free(a);
}

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = {
		T(test_admits_the_committed_tbs_and_signs_exactly_it),
		T(test_refuses_a_tbs_not_on_the_ledger),
		T(test_refuses_a_tbs_one_byte_off),
		T(test_refuses_a_forged_checkpoint),
		T(test_refuses_a_proof_for_another_leaf),
		T(test_refuses_an_entry_below_the_last_signed),
		T(test_refuses_another_keys_registration),
		T(test_refuses_another_origin_account_or_issuer),
		T(test_refuses_an_entry_of_another_type),
	};
	char name[64];

	snprintf(name, sizeof(name), "bridge/ca/admit (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	return fx_main("test_admit", run_suite, NULL);
}
