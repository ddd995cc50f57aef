/*
 * test_sign_committed.c: signer_sign_committed (bridge/ca/ca.h), the
 * signer's side of "the CA signs only what the ledger committed", over a
 * data directory made as `keybridge init` makes it and a real ledger
 * sealed by the node's checkpoint key.  What the signer adds to
 * ca_cert_admit (test_admit.c): the checkpoint is checked with the node's
 * verifier key, each committed TBS is signed once, and a checkpoint older
 * than the largest seen is refused.  The KEYPROC part implements the same
 * function over the key process's protocol: these tests are its contract.
 */
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "bridge/bridge.h"

#define ERRLEN 512
#define NCERTS 3

struct sfx {
	char path[PATH_MAX];
	struct bridge_config cfg;
	EVP_PKEY *node, *admin, *bridge, *keys[NCERTS];
	struct ledger_consensus *cons;
	struct ledger *l;
	struct signer *s;
	char *entry[NCERTS], *reg[NCERTS], *cp[NCERTS];
	X509 *unsigned_cert[NCERTS];	/* as issue_build made them */
	uint64_t idx[NCERTS], reg_idx[NCERTS], size[NCERTS];
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Appends a note of account as signed by key; its receipt in *r. */
static void
sfx_put(struct sfx *f, enum ledger_entry_type t, const char *as,
    uint64_t seq, EVP_PKEY *key, const struct ledger_field *fl, size_t n,
    struct ledger_receipt *r, char **text)
{
	char why[256], *note = ledger_entry_body(t, as, seq, time(NULL),
	    f->cfg.origin, fl, n);

	assert_non_null(note = ledger_entry_sign(note, as, key));
	if (ledger_append(f->l, note, strlen(note), r, why, sizeof(why)) !=
	    LEDGER_OK)
		fail_msg("append: %s", why);
	if (text != NULL)
		*text = note;
	else
		free(note);
}

/* Registers keys[i] (cam-i, device) and records the TBS issue_build makes
 * for it; one block each. */
static void
sfx_record(struct sfx *f, int i, uint64_t aseq, uint64_t bseq)
{
	struct ledger_field fl[7];
	struct ledger_receipt r;
	struct issue_params ip;
	struct est_names names;
	char spki[256], id[65], nb[21], na[21], name[16], serial[41];
	char b64[4096], ocsp[CONFIG_STR + 16], cai[CONFIG_STR + 32];
	char crl[CONFIG_STR + 96], err[ERRLEN];
	uint8_t der[256], *tbs = NULL;
	size_t tbslen;
	time_t now = time(NULL);
	struct tm tm;
	X509 *x;
	int len;

	assert_int_equal(ledger_pubkey_to_b64(f->keys[i], spki,
	    sizeof(spki)), 0);
	len = ledger_b64_decode(spki, strlen(spki), der, sizeof(der));
	ledger_spki_key_id(der, (size_t)len, id);
	snprintf(name, sizeof(name), "cam-%d", i);
	ledger_time_format(now - 60, nb);
	ledger_time_format(now + 86400, na);
	fl[0] = (struct ledger_field){ "key-id", id };
	fl[1] = (struct ledger_field){ "spki", spki };
	fl[2] = (struct ledger_field){ "name", name };
	fl[3] = (struct ledger_field){ "profile", "device" };
	fl[4] = (struct ledger_field){ "not-before", nb };
	fl[5] = (struct ledger_field){ "not-after", na };
	sfx_put(f, LEDGER_KEY_REGISTER, "admin", aseq, f->admin, fl, 6, &r,
	    &f->reg[i]);
	f->reg_idx[i] = r.index;

	snprintf(ocsp, sizeof(ocsp), "%s/ocsp", f->cfg.public_http_url);
	snprintf(cai, sizeof(cai), "%s/ca/issuing.der",
	    f->cfg.public_http_url);
	snprintf(crl, sizeof(crl), "%s/crl/%s.crl", f->cfg.public_http_url,
	    signer_issuer_id(f->s));
	memset(&names, 0, sizeof(names));
	memset(&ip, 0, sizeof(ip));
	ip.profile = EST_PROFILE_DEVICE;
	ip.cn = name;
	ip.names = &names;
	ip.pubkey = f->keys[i];
	ip.issuer = signer_issuer(f->s);
	ip.now = now;
	ip.key_not_before = now - 60;
	ip.key_not_after = now + 86400;
	ip.ocsp_url = ocsp;
	ip.ca_issuers_url = cai;
	ip.crl_url = crl;
	assert_non_null(x = issue_build(&ip, err, sizeof(err)));
	assert_int_equal(issue_serial_hex(x, serial), 0);
	assert_int_equal(ca_tbs_der(x, signer_issuer(f->s), &tbs, &tbslen),
	    0);
	assert_int_equal(ledger_b64_encode(tbs, tbslen, b64, sizeof(b64)), 0);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm), 1);
	ledger_time_format(timegm(&tm), nb);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	ledger_time_format(timegm(&tm), na);
	fl[0] = (struct ledger_field){ "serial", serial };
	fl[1] = (struct ledger_field){ "issuer", signer_issuer_id(f->s) };
	fl[2] = (struct ledger_field){ "key-id", id };
	fl[3] = (struct ledger_field){ "profile", "device" };
	fl[4] = (struct ledger_field){ "not-before", nb };
	fl[5] = (struct ledger_field){ "not-after", na };
	fl[6] = (struct ledger_field){ "tbs", b64 };
	sfx_put(f, LEDGER_CERT_ISSUED, f->cfg.bridge_account, bseq, f->bridge,
	    fl, 7, &r, &f->entry[i]);
	f->idx[i] = r.index;
	f->size[i] = r.tree_size;
	assert_non_null(f->cp[i] = strdup(r.checkpoint));
	OPENSSL_free(tbs);
	f->unsigned_cert[i] = x;
}

static int
setup(void **state)
{
	/* the prestate: the CA's key type (NULL: EC P-256) */
	struct pki_init_opts o = { .name = "keybridge",
	    .key_type = *state };
	struct sfx *f = calloc(1, sizeof(*f));
	struct ledger_config lc;
	struct ledger_field fl[4];
	char err[ERRLEN] = "", path[PATH_MAX], db[PATH_MAX], pk[256];

	log_verbosity = LOGL_ERR;
	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/kb-test-signc-XXXXXX");
	assert_non_null(mkdtemp(f->path));
	config_defaults(&f->cfg, f->path);
	assert_int_equal(config_write(&f->cfg, config_path(&f->cfg,
	    CONFIG_FILE, path, sizeof(path))), 0);
	assert_int_equal(config_load(&f->cfg, f->path, err, sizeof(err)), 0);
	if (pki_init(&f->cfg, &o, err, sizeof(err)) != 0)
		fail_msg("pki_init: %s", err);
	f->bridge = ledger_key_generate("ed25519");
	f->node = ledger_key_generate("ed25519");
	f->admin = ledger_key_generate("ed25519");
	assert_int_equal(ledger_key_save(f->bridge, config_path(&f->cfg,
	    f->cfg.bridge_key, path, sizeof(path))), 0);
	assert_int_equal(ledger_key_save(f->node, config_path(&f->cfg,
	    f->cfg.validator_key, path, sizeof(path))), 0);
	for (int i = 0; i < NCERTS; i++)
		f->keys[i] = ledger_key_generate("ec-p256");
	if ((f->s = signer_open(&f->cfg, err, sizeof(err))) == NULL)
		fail_msg("signer_open: %s", err);
	f->cons = ledger_consensus_solo_new(f->node, f->cfg.validator_name);
	memset(&lc, 0, sizeof(lc));
	lc.db = config_path(&f->cfg, f->cfg.db, db, sizeof(db));
	lc.origin = f->cfg.origin;
	lc.consensus = f->cons;
	if ((f->l = ledger_open(&lc, err, sizeof(err))) == NULL)
		fail_msg("ledger_open: %s", err);
	assert_int_equal(ledger_pubkey_to_b64(f->admin, pk, sizeof(pk)), 0);
	fl[0] = (struct ledger_field){ "name", "admin" };
	fl[1] = (struct ledger_field){ "role", "admin" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", pk };
	sfx_put(f, LEDGER_ACCOUNT_CREATE, "admin", 1, f->admin, fl, 4, NULL,
	    NULL);
	assert_int_equal(ledger_pubkey_to_b64(f->bridge, pk, sizeof(pk)), 0);
	fl[0] = (struct ledger_field){ "name", f->cfg.bridge_account };
	fl[1] = (struct ledger_field){ "role", "bridge" };
	sfx_put(f, LEDGER_ACCOUNT_CREATE, "admin", 2, f->admin, fl, 4, NULL,
	    NULL);
	for (int i = 0; i < NCERTS; i++)
		sfx_record(f, i, 3 + (uint64_t)i, 1 + (uint64_t)i);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct sfx *f = *state;

	ledger_close(f->l);
	ledger_consensus_free(f->cons);
	signer_free(f->s);
	EVP_PKEY_free(f->node);
	EVP_PKEY_free(f->admin);
	EVP_PKEY_free(f->bridge);
	for (int i = 0; i < NCERTS; i++) {
		EVP_PKEY_free(f->keys[i]);
		free(f->entry[i]);
		free(f->reg[i]);
		free(f->cp[i]);
		X509_free(f->unsigned_cert[i]);
	}
	nftw(f->path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* signer_sign_committed for certificate i shown with checkpoint c (its
 * tree of size size); the certificate (or NULL) in *cert. */
static int
sign_with(struct sfx *f, int i, int c, X509 *unsigned_cert, X509 **cert,
    char *why, size_t whylen);

static int
sign(struct sfx *f, int i, int c, X509 **cert, char *why, size_t whylen)
{
	return sign_with(f, i, c, NULL, cert, why, whylen);
}

/* sign(), showing the signer unsigned_cert as the bridge's own unsigned
 * certificate of the TBS (ca_cert_req.cert). */
static int
sign_with(struct sfx *f, int i, int c, X509 *unsigned_cert, X509 **cert,
    char *why, size_t whylen)
{
	uint8_t ep[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t rp[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	struct ca_cert_req req;

	memset(&req, 0, sizeof(req));
	req.checkpoint = f->cp[c];
	req.entry = f->entry[i];
	req.entry_index = f->idx[i];
	req.reg = f->reg[i];
	req.reg_index = f->reg_idx[i];
	req.cert = unsigned_cert;
	assert_int_equal(ledger_inclusion_proof(f->l, f->idx[i], f->size[c],
	    ep, &req.entry_nproof), 0);
	assert_int_equal(ledger_inclusion_proof(f->l, f->reg_idx[i],
	    f->size[c], rp, &req.reg_nproof), 0);
	req.entry_proof = (const uint8_t (*)[LEDGER_HASH_LEN])ep;
	req.reg_proof = (const uint8_t (*)[LEDGER_HASH_LEN])rp;
	return signer_sign_committed(f->s, &req, cert, why, whylen);
}

/* The committed TBS is signed, once: the certificate's TBS is the
 * entry's and it verifies under the issuing CA; shown again, refused. */
static void
test_signs_a_committed_tbs_once(void **state)
{
	struct sfx *f = *state;
	X509 *cert = NULL;
	char why[ERRLEN] = "";

	if (sign(f, 0, 0, &cert, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_non_null(cert);
	assert_int_equal(X509_verify(cert,
	    X509_get0_pubkey(signer_issuer(f->s))), 1);
	X509_free(cert);
	cert = NULL;
	assert_int_equal(sign(f, 0, 0, &cert, why, sizeof(why)), -1);
	assert_null(cert);
	assert_non_null(strstr(why, "older than the last one signed"));
}

/* After a checkpoint of a larger tree, an older one is refused even for
 * an entry not signed yet; the newer one then serves. */
static void
test_refuses_a_checkpoint_older_than_the_last_seen(void **state)
{
	struct sfx *f = *state;
	X509 *cert = NULL;
	char why[ERRLEN] = "";

	if (sign(f, 0, 2, &cert, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	X509_free(cert);
	cert = NULL;
	assert_int_equal(sign(f, 1, 1, &cert, why, sizeof(why)), -1);
	assert_null(cert);
	assert_non_null(strstr(why, "older than the last one seen"));
	if (sign(f, 1, 2, &cert, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	X509_free(cert);
}

/* A checkpoint signed by a key that is not the node's. */
static void
test_refuses_a_checkpoint_not_signed_by_the_node(void **state)
{
	struct sfx *f = *state;
	EVP_PKEY *other = ledger_key_generate("ed25519");
	char why[ERRLEN] = "", *body = strdup(f->cp[0]), *sep;
	X509 *cert = NULL;

	assert_non_null(sep = strstr(body, "\n\n"));
	sep[1] = '\0';
	free(f->cp[0]);
	assert_non_null(f->cp[0] = ledger_entry_sign(body,
	    f->cfg.validator_name, other));
	assert_int_equal(sign(f, 0, 0, &cert, why, sizeof(why)), -1);
	assert_null(cert);
	assert_non_null(strstr(why, "checkpoint: the checkpoint is not signed by"));
	EVP_PKEY_free(other);
}

/* The TBS of cert, as encoded, equals the one entry i records. */
static void
assert_tbs_of_entry(struct sfx *f, int i, X509 *cert)
{
	unsigned char *der = NULL;
	const uint8_t *t;
	uint8_t rec[4096];
	size_t tlen;
	char why[64];
	struct ledger_entry *e;
	int len = i2d_X509(cert, &der), n;

	assert_true(len > 0);
	assert_int_equal(ledger_tbs_of_cert(der, (size_t)len, &t, &tlen), 0);
	assert_non_null(e = ledger_entry_new(f->entry[i], strlen(f->entry[i]),
	    why, sizeof(why)));
	n = ledger_b64_decode(ledger_entry_get(e, "tbs"),
	    strlen(ledger_entry_get(e, "tbs")), rec, sizeof(rec));
	assert_int_equal((size_t)n, tlen);
	assert_memory_equal(rec, t, tlen);
	ledger_entry_free(e);
	OPENSSL_free(der);
}

/* Shown the bridge's unsigned certificate of the TBS, the signer signs it
 * in place; shown another one (of another TBS), it signs the committed
 * TBS anew and leaves that one alone. */
static void
test_signs_the_bridges_own_certificate_only_when_it_is_the_tbs(void **state)
{
	struct sfx *f = *state;
	X509 *cert = NULL;
	char why[ERRLEN] = "";

	if (sign_with(f, 0, 0, f->unsigned_cert[0], &cert, why,
	    sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_ptr_equal(cert, f->unsigned_cert[0]);
	assert_int_equal(X509_verify(cert,
	    X509_get0_pubkey(signer_issuer(f->s))), 1);
	assert_tbs_of_entry(f, 0, cert);
	X509_free(cert);
	cert = NULL;
	if (sign_with(f, 1, 2, f->unsigned_cert[2], &cert, why,
	    sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_ptr_not_equal(cert, f->unsigned_cert[2]);
	assert_int_equal(X509_verify(cert,
	    X509_get0_pubkey(signer_issuer(f->s))), 1);
	assert_tbs_of_entry(f, 1, cert);
	assert_int_equal(X509_verify(f->unsigned_cert[2],
	    X509_get0_pubkey(signer_issuer(f->s))), 0);
	X509_free(cert);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_signs_a_committed_tbs_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refuses_a_checkpoint_older_than_the_last_seen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refuses_a_checkpoint_not_signed_by_the_node, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_signs_the_bridges_own_certificate_only_when_it_is_the_tbs,
		    setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(
		    test_signs_the_bridges_own_certificate_only_when_it_is_the_tbs,
		    setup, teardown, (void *)"rsa-3072"),
		/* an RSA issuing CA: sha256WithRSAEncryption inside and out */
		cmocka_unit_test_prestate_setup_teardown(
		    test_signs_a_committed_tbs_once, setup, teardown,
		    (void *)"rsa-3072"),
	};

	return cmocka_run_group_tests_name("bridge/ca/sign_committed", tests,
	    NULL, NULL);
}
