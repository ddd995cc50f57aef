/*
 * test_keyproc.c: the key process (bridge/keyproc/), a real forked
 * process with the keys `keybridge init` makes (pki_init, an Ed25519
 * bridge account key and node key) in a temporary data directory, driven
 * through its typed protocol: every operation's refusals, each beside the
 * positive control that the same request, put right, is signed; the
 * promise kept across a restart; malformed messages.  The fixture is
 * keyproc_fx.h's struct keyproc_fx_kp; SIGN_CHECKPOINT's refusals are in
 * test_keyproc_checkpoint.c.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"
#include "bridge/keyproc/keyproc.h"
#include "ledger/ledger_int.h"
#include "tests/bridge/keyproc/keyproc_fx.h"

#define ERRLEN		512
#define DAY		(24L * 60 * 60)

/* ---- INFO ------------------------------------------------------------------------ */

static void
test_info_gives_the_issuer_and_the_node_vkey(void **state)
{
	struct keyproc_fx_kp *f = *state;
	char path[PATH_MAX], err[ERRLEN], vkey[512];
	EVP_PKEY *node;

	node = ledger_key_load(config_path(&f->cfg, f->cfg.validator_key, path,
	    sizeof(path)), err, sizeof(err));
	assert_non_null(node);
	assert_int_equal(ledger_key_vkey(node, f->cfg.validator_name, vkey,
	    sizeof(vkey)), 0);
	assert_string_equal(signer_vkey(f->s), vkey);
	assert_int_equal(strlen(signer_issuer_id(f->s)), 40);
	assert_int_equal(X509_check_issued(signer_issuer(f->s),
	    signer_ocsp_cert(f->s)), X509_V_OK);
	EVP_PKEY_free(node);
}

/* ---- SIGN_ENTRY --------------------------------------------------------------------- */

static struct keyproc_buf
entry_req(enum ledger_entry_type t, const char *account, const char *origin)
{
	struct keyproc_buf b = { 0 };
	struct ledger_field fl[] = { { "serial", "7f01" } };
	char *body = ledger_entry_body(t, account, 1, time(NULL), origin, fl,
	    1);

	assert_non_null(body);
	keyproc_put_bytes(&b, body, strlen(body));
	free(body);
	return b;
}

static void
test_entry_of_a_type_the_bridge_may_not_sign_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	const char *acct = f->cfg.bridge_account, *org = f->cfg.origin;
	enum ledger_entry_type no[] = { LEDGER_ACCOUNT_CREATE,
	    LEDGER_ACCOUNT_UPDATE, LEDGER_KEY_REVOKE, LEDGER_CONFIG_PUBLISH,
	    LEDGER_KEY_PREAUTH };
	enum ledger_entry_type yes[] = { LEDGER_CERT_ISSUED,
	    LEDGER_KEY_REGISTER, LEDGER_CERT_REVOKED };
	struct keyproc_buf b;

	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = entry_req(no[i], acct, org);
		assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b,
		    "does not sign"), -1);
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = entry_req(yes[i], acct, org);
		assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b,
		    NULL), 0);
	}
}

static void
test_entry_of_another_account_or_origin_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	struct keyproc_buf b;

	b = entry_req(LEDGER_CERT_ISSUED, "admin", f->cfg.origin);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b,
	    "account admin"),
	    -1);
	b = entry_req(LEDGER_CERT_ISSUED, f->cfg.bridge_account,
	    "other/ledger");
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b,
	    "origin"), -1);
	b = entry_req(LEDGER_CERT_ISSUED, f->cfg.bridge_account, NULL);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b,
	    "origin"), -1);
	/* A signed note is not a body to sign. */
	keyproc_put_str(&b, "keybridge-entry v1\ntype cert-issued\n\n— x y\n");
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b,
	    "unsigned"), -1);
}

/* ---- SIGN_OCSP ----------------------------------------------------------------------- */

/* A good-status request for serial 5 of issuer's CertID, as responder,
 * with the response extension ext (DER) when not NULL. */
static struct keyproc_buf
ocsp_req_ext(struct keyproc_fx_kp *f, X509 *issuer, const uint8_t *responder,
    const unsigned char *ext, int extlen)
{
	struct keyproc_buf b = { 0 };
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	OCSP_CERTID *cid;
	unsigned char *der = NULL;
	time_t now = time(NULL);
	int len;

	assert_int_equal(ASN1_INTEGER_set(sn, 5), 1);
	cid = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
	    X509_get0_pubkey_bitstr(issuer), sn);
	assert_non_null(cid);
	len = i2d_OCSP_CERTID(cid, &der);
	assert_true(len > 0);
	keyproc_put_bytes(&b, responder, SHA_DIGEST_LENGTH);
	keyproc_put_u64(&b, 1);		/* one response */
	keyproc_put_u64(&b, 1);		/* of one single response */
	keyproc_put_bytes(&b, der, (size_t)len);
	keyproc_put_u64(&b, 0);		/* good */
	keyproc_put_u64(&b, 0);
	keyproc_put_u64(&b, 0);
	keyproc_put_u64(&b, (uint64_t)now);
	keyproc_put_u64(&b, (uint64_t)now + 3600);
	keyproc_put_u64(&b, ext != NULL);
	if (ext != NULL)
		keyproc_put_bytes(&b, ext, (size_t)extlen);
	OPENSSL_free(der);
	OCSP_CERTID_free(cid);
	ASN1_INTEGER_free(sn);
	return b;
}

static struct keyproc_buf
ocsp_req(struct keyproc_fx_kp *f, X509 *issuer, const uint8_t *responder)
{
	return ocsp_req_ext(f, issuer, responder, NULL, 0);
}

static void
key_hash(X509 *x, uint8_t out[SHA_DIGEST_LENGTH])
{
	const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(x);

	assert_int_equal(EVP_Digest(bits->data, (size_t)bits->length, out,
	    NULL, EVP_sha1(), NULL), 1);
}

static void
test_ocsp_for_another_issuer_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	uint8_t rid[SHA_DIGEST_LENGTH];
	struct keyproc_buf b;

	key_hash(signer_ocsp_cert(f->s), rid);
	b = ocsp_req(f, f->root, rid);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b,
	    "another issuer"),
	    -1);
	b = ocsp_req(f, signer_issuer(f->s), rid);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b, NULL),
	    0);
}

static void
test_ocsp_of_another_responder_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	uint8_t rid[SHA_DIGEST_LENGTH];
	struct keyproc_buf b;

	key_hash(signer_issuer(f->s), rid);	/* the CA's own key */
	b = ocsp_req(f, signer_issuer(f->s), rid);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b,
	    "another responder"), -1);
}

/* Only the nonce and the extended revoked definition go into a
 * response: here an OCSP CRL reference (RFC 6960 4.4.2). */
static void
test_ocsp_with_another_extension_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	uint8_t rid[SHA_DIGEST_LENGTH];
	struct keyproc_buf b;
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;
	unsigned char *der = NULL;
	int len;

	key_hash(signer_ocsp_cert(f->s), rid);
	assert_int_equal(ASN1_OCTET_STRING_set(os, (unsigned char *)"\x30\x00",
	    2), 1);
	ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_CrlID, 0,
	    os);
	assert_non_null(ext);
	len = i2d_X509_EXTENSION(ext, &der);
	assert_true(len > 0);
	b = ocsp_req_ext(f, signer_issuer(f->s), rid, der, len);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b,
	    "neither a nonce"),
	    -1);
	X509_EXTENSION_free(ext);
	OPENSSL_free(der);
	/* Positive control: the extended revoked definition. */
	ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_valid, 0,
	    os);
	der = NULL;
	len = i2d_X509_EXTENSION(ext, &der);
	b = ocsp_req_ext(f, signer_issuer(f->s), rid, der, len);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, &b, NULL),
	    0);
	X509_EXTENSION_free(ext);
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(os);
}

/* The signer's path end to end: the answer verifies as the delegated
 * responder's, byKey. */
static void
test_ocsp_response_is_signed_by_the_delegated_responder(void **state)
{
	struct keyproc_fx_kp *f = *state;
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *cid;
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_STORE *st = X509_STORE_new();

	assert_int_equal(ASN1_INTEGER_set(sn, 9), 1);
	cid = OCSP_cert_id_new(EVP_sha256(), X509_get_subject_name(
	    signer_issuer(f->s)), X509_get0_pubkey_bitstr(signer_issuer(f->s)),
	    sn);
	assert_non_null(OCSP_basic_add1_status(bs, cid,
	    V_OCSP_CERTSTATUS_REVOKED, 1, t, t, NULL));
	assert_int_equal(signer_sign_ocsp(f->s, &bs), 0);
	assert_int_equal(X509_STORE_add_cert(st, f->root), 1);
	assert_true(sk_X509_push(chain, signer_issuer(f->s)) > 0);
	assert_int_equal(OCSP_basic_verify(bs, chain, st, 0), 1);
	sk_X509_free(chain);
	X509_STORE_free(st);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(sn);
	OCSP_CERTID_free(cid);
	OCSP_BASICRESP_free(bs);
}

/* ---- SIGN_CRL --------------------------------------------------------------------------- */

/* A CRL naming name with number num, as the signer would send it. */
static X509_CRL *
crl_new(X509_NAME *name, uint64_t num)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_INTEGER *n = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));

	assert_non_null(crl);
	assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, name), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	assert_int_equal(ASN1_INTEGER_set_uint64(n, num), 1);
	assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0, 0),
	    1);
	ASN1_INTEGER_free(n);
	ASN1_TIME_free(t);
	return crl;
}

static int
sign_crl(struct keyproc_fx_kp *f, X509_NAME *name, uint64_t num)
{
	X509_CRL *crl = crl_new(name, num);
	int rc = signer_sign_crl(f->s, &crl);

	if (rc == 0)
		assert_int_equal(X509_CRL_verify(crl,
		    X509_get0_pubkey(signer_issuer(f->s))), 1);
	X509_CRL_free(crl);
	return rc;
}

static void
test_crl_for_another_issuer_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	struct keyproc_buf b = { 0 };
	X509_CRL *crl = crl_new(X509_get_subject_name(signer_issuer(f->s)),
	    10);
	EVP_PKEY *tmp = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char *der = NULL;
	int len;

	/* The root's name. */
	assert_int_equal(sign_crl(f, X509_get_subject_name(f->root), 10), -1);
	/* Our name, another issuer id. */
	assert_true(X509_CRL_sign(crl, tmp, NULL) > 0);
	len = i2d_X509_CRL(crl, &der);
	assert_true(len > 0);
	keyproc_put_str(&b, "00112233445566778899aabbccddeeff00112233");
	keyproc_put_bytes(&b, der, (size_t)len);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_CRL, &b,
	    "another issuer"),
	    -1);
	/* Positive control. */
	assert_int_equal(sign_crl(f, X509_get_subject_name(
	    signer_issuer(f->s)), 10), 0);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	EVP_PKEY_free(tmp);
}

static void
test_crl_number_not_above_the_last_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	X509_NAME *ours = X509_get_subject_name(signer_issuer(f->s));

	assert_int_equal(sign_crl(f, ours, 100), 0);
	assert_int_equal(sign_crl(f, ours, 100), -1);
	assert_int_equal(sign_crl(f, ours, 99), -1);
	assert_int_equal(sign_crl(f, ours, 101), 0);
}

/* Issue 18: sign_crl of a CRL with a deltaCRLIndicator of base (crit)
 * or, base 0, an issuingDistributionPoint (crit). */
static int
sign_scoped_crl(struct keyproc_fx_kp *f, uint64_t num, uint64_t base,
    int crit)
{
	X509_CRL *crl = crl_new(X509_get_subject_name(signer_issuer(f->s)),
	    num);
	ASN1_INTEGER *n = ASN1_INTEGER_new();
	ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
	int rc;

	assert_non_null(n);
	assert_non_null(idp);
	idp->onlyuser = 0xff;
	assert_int_equal(ASN1_INTEGER_set_uint64(n, base), 1);
	if (base > 0)
		assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_delta_crl, n,
		    crit, 0), 1);
	else
		assert_int_equal(X509_CRL_add1_ext_i2d(crl,
		    NID_issuing_distribution_point, idp, crit, 0), 1);
	rc = signer_sign_crl(f->s, &crl);
	ASN1_INTEGER_free(n);
	ISSUING_DIST_POINT_free(idp);
	X509_CRL_free(crl);
	return rc;
}

static void
test_delta_and_partition_crls_must_be_marked_critical(void **state)
{
	struct keyproc_fx_kp *f = *state;

	assert_int_equal(sign_scoped_crl(f, 1000, 999, 1), 0);
	assert_int_equal(sign_scoped_crl(f, 1001, 999, 0), -1);
	assert_int_equal(sign_scoped_crl(f, 1002, 1002, 1), -1);
	assert_int_equal(sign_scoped_crl(f, 1003, 5000, 1), -1);
	assert_int_equal(sign_scoped_crl(f, 1004, 0, 0), -1);
	assert_int_equal(sign_scoped_crl(f, 1005, 0, 1), 0);
}

/* ---- SIGN_CHECKPOINT ------------------------------------------------------------------------ */

/* The OCSP worker's and the writer's channels each have a thread of
 * their own in the key process, which answers their operations and
 * nothing else; the promise is one for all threads. */
static void
test_the_ocsp_and_writer_channels_answer_their_operations_only(
    void **state)
{
	struct keyproc_fx_kp *f = *state;
	X509_NAME *ours = X509_get_subject_name(signer_issuer(f->s));
	struct keyproc_buf b;
	uint8_t other[LEDGER_HASH_LEN];

	memset(other, 0xab, sizeof(other));
	f->chan = KEYPROC_CHAN_WRITER;
	b = entry_req(LEDGER_CERT_ISSUED, f->cfg.bridge_account,
	    f->cfg.origin);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b,
	    "not answered on the writer's channel"), -1);
	memset(&b, 0, sizeof(b));
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_INFO, &b,
	    "not answered on the writer's channel"), -1);
	f->chan = KEYPROC_CHAN_OCSP;
	b = entry_req(LEDGER_CERT_ISSUED, f->cfg.bridge_account,
	    f->cfg.origin);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b,
	    "not answered on the OCSP worker's channel"), -1);
	assert_int_equal(keyproc_fx_cp_call(f, 8, NULL, 0, 0, 0,
	    "not answered on the OCSP worker's channel"), -1);
	/* The channels still answer what they are for (signer_sign_crl
	 * and the checkpoints below go through OCSP and WRITER). */
	assert_int_equal(sign_crl(f, ours, 5), 0);
	f->chan = KEYPROC_CHAN_WRITER;
	assert_int_equal(keyproc_fx_cp_call(f, 8, NULL, 0, 0, 0, NULL), 0);
	f->chan = KEYPROC_CHAN_SPARE;
	assert_int_equal(keyproc_fx_cp_call(f, 7, NULL, 8, 0, 0, "smaller"),
	    -1);
	assert_int_equal(keyproc_fx_cp_call(f, 8, other, 8, 0, 0,
	    "another root"), -1);
	assert_int_equal(sign_crl(f, ours, 5), -1);
	b = entry_req(LEDGER_CERT_ISSUED, f->cfg.bridge_account,
	    f->cfg.origin);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b, NULL),
	    0);
	f->chan = KEYPROC_CHAN_WRITER;
	assert_int_equal(keyproc_fx_cp_call(f, 8, other, 8, 0, 0,
	    "another root"), -1);
	assert_int_equal(keyproc_fx_cp_call(f, 10, NULL, 8, 1, 0, NULL), 0);
}

/* The event loop's pipelined channel (bridge/enroll_sign.c) answers
 * SIGN_CERT only: an entry, INFO or a checkpoint sent there is refused, and the same entry on the loop's channel is signed. */
static void
test_the_certificate_channel_answers_sign_cert_only(void **state)
{
	struct keyproc_fx_kp *f = *state;
	struct keyproc_buf b;

	f->chan = KEYPROC_CHAN_CERT;
	b = entry_req(LEDGER_CERT_ISSUED, f->cfg.bridge_account,
	    f->cfg.origin);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b,
	    "not answered on the certificate channel"), -1);
	memset(&b, 0, sizeof(b));
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_INFO, &b,
	    "not answered on the certificate channel"), -1);
	assert_int_equal(keyproc_fx_cp_call(f, 8, NULL, 0, 0, 0,
	    "not answered on the certificate channel"), -1);
	f->chan = KEYPROC_CHAN_LOOP;
	b = entry_req(LEDGER_CERT_ISSUED, f->cfg.bridge_account,
	    f->cfg.origin);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b, NULL),
	    0);
}

/* The promise survives a new key process on the same data directory. */
static void
test_restart_keeps_the_promise(void **state)
{
	struct keyproc_fx_kp *f = *state;
	X509_NAME *ours;
	uint8_t other[LEDGER_HASH_LEN];
	char path[PATH_MAX + 32];
	struct stat st;

	memset(other, 0xcd, sizeof(other));
	/* Each in turn the last thing written before the restart. */
	assert_int_equal(keyproc_fx_cp_call(f, 7, NULL, 0, 0, 0, NULL), 0);
	assert_int_equal(sign_crl(f, X509_get_subject_name(
	    signer_issuer(f->s)), 500), 0);
	snprintf(path, sizeof(path), "%s/%s", f->dir, KEYPROC_STATE_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	keyproc_fx_down(f);
	keyproc_fx_up(f);
	ours = X509_get_subject_name(signer_issuer(f->s));
	assert_int_equal(sign_crl(f, ours, 500), -1);
	assert_int_equal(sign_crl(f, ours, 600), 0);
	assert_int_equal(keyproc_fx_cp_call(f, 10, NULL, 7, 1, 0, NULL), 0);
	keyproc_fx_down(f);
	keyproc_fx_up(f);
	ours = X509_get_subject_name(signer_issuer(f->s));
	assert_int_equal(keyproc_fx_cp_call(f, 10, other, 10, 0, 0,
	    "another root"), -1);
	assert_int_equal(keyproc_fx_cp_call(f, 9, NULL, 10, 0, 0, "smaller"),
	    -1);
	assert_int_equal(sign_crl(f, ours, 600), -1);
	/* Positive controls: what extends the promise is signed. */
	assert_int_equal(keyproc_fx_cp_call(f, 12, NULL, 10, 1, 0, NULL), 0);
	assert_int_equal(sign_crl(f, ours, 601), 0);
}

/* ---- SIGN_CERT -------------------------------------------------------------------------------- */

static void
test_committed_issuance_goes_through_ca_cert_admit(void **state)
{
	struct keyproc_fx_kp *f = *state;
	struct ca_cert_req q;
	uint8_t proof[1][LEDGER_HASH_LEN];
	char why[KEYPROC_WHY_MAX] = "";
	X509 *x = NULL;

	memset(&q, 0, sizeof(q));
	memset(proof, 0, sizeof(proof));
	q.checkpoint = "keybridge/ledger\n1\nAAAA\n\n— node x\n";
	q.entry = "not an entry";
	q.entry_proof = proof;
	q.entry_nproof = 1;
	q.reg = "not an entry either";
	assert_int_equal(signer_sign_committed(f->s, &q, &x, why,
	    sizeof(why)), -1);
	assert_null(x);
	assert_true(why[0] != '\0');
}

/* ---- malformed messages ---------------------------------------------------------------------------- */

/* Reads one answer on fd: its status, its text in why. */
static int
raw_answer(int fd, char *why, size_t whylen)
{
	uint16_t op, status;
	uint8_t *p = NULL;
	size_t len;
	char rwhy[KEYPROC_WHY_MAX];

	if (keyproc_recv(fd, &op, &status, &p, &len, rwhy, sizeof(rwhy)) !=
	    0)
		return -1;
	snprintf(why, whylen, "%.*s", (int)len, p != NULL ? (char *)p : "");
	free(p);
	return status;
}

static void
raw_header(int fd, uint32_t len, uint16_t op)
{
	uint8_t h[KEYPROC_HDR_LEN] = { (uint8_t)(len >> 24),
	    (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
	    (uint8_t)(op >> 8), (uint8_t)op, 0, 0 };

	assert_int_equal(write(fd, h, sizeof(h)), sizeof(h));
}

static void
test_oversize_message_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	int fd = keyproc_fd(f->kp, KEYPROC_CHAN_SPARE);
	char why[KEYPROC_WHY_MAX], buf[1];

	raw_header(fd, KEYPROC_MSG_MAX + 1, KEYPROC_OP_SIGN_ENTRY);
	assert_int_equal(raw_answer(fd, why, sizeof(why)), KEYPROC_REFUSED);
	assert_non_null(strstr(why, "oversize"));
	/* The stream cannot be followed: that channel is closed ... */
	assert_int_equal(read(fd, buf, 1), 0);
	/* ... the others still answer. */
	assert_int_equal(signer_available(f->s), 1);
	assert_non_null(signer_sign_entry(f->s, strdup("x")) == NULL ?
	    "refused, as a body must be" : NULL);
}

static void
test_truncated_message_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	int fd = keyproc_fd(f->kp, KEYPROC_CHAN_SPARE);
	char why[KEYPROC_WHY_MAX];

	raw_header(fd, 100, KEYPROC_OP_SIGN_ENTRY);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_int_equal(raw_answer(fd, why, sizeof(why)), KEYPROC_REFUSED);
	assert_non_null(strstr(why, "truncated"));
}

static void
test_unknown_operation_is_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	struct keyproc_buf b = { 0 };

	keyproc_put_u64(&b, 1);
	assert_int_equal(keyproc_fx_call(f, (enum keyproc_op)99, &b,
	    "unknown operation 99"), -1);
	assert_int_equal(keyproc_fx_call(f, (enum keyproc_op)0, NULL,
	    "unknown operation 0"), -1);
	/* The channel goes on: INFO answers. */
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_INFO, NULL, NULL), 0);
}

/* proto.c's reader never reads past the payload. */
static void
test_field_longer_than_the_payload_is_an_error(void **state)
{
	const uint8_t buf[9] = { 0, 0, 0, 100, 'a', 'b', 'c', 'd', 'e' };
	struct keyproc_rd r = { buf, sizeof(buf), 0, 0 };
	size_t len;

	assert_null(keyproc_get_bytes(&r, &len));
	assert_int_equal(r.err, 1);
	r = (struct keyproc_rd){ buf, 7, 0, 0 };
	(void)keyproc_get_u64(&r);
	assert_int_equal(r.err, 1);
	/* Positive control: a length that fits. */
	r = (struct keyproc_rd){ (const uint8_t *)"\0\0\0\5abcde", 9, 0, 0 };
	assert_non_null(keyproc_get_bytes(&r, &len));
	assert_int_equal(len, 5);
	assert_int_equal(r.err, 0);
}

static void
test_malformed_fields_are_refused(void **state)
{
	struct keyproc_fx_kp *f = *state;
	struct keyproc_buf b = { 0 };

	/* A byte string announcing more than the payload holds. */
	keyproc_put_u64(&b, 0xffffffffffffffffULL);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_ENTRY, &b,
	    "malformed"), -1);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_OCSP, NULL,
	    "malformed"), -1);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_CHECKPOINT, NULL,
	    "malformed"), -1);
	assert_int_equal(keyproc_fx_call(f, KEYPROC_OP_SIGN_CRL, NULL,
	    "malformed"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, keyproc_fx_setup, \
	    keyproc_fx_teardown)
		T(test_info_gives_the_issuer_and_the_node_vkey),
		T(test_entry_of_a_type_the_bridge_may_not_sign_is_refused),
		T(test_entry_of_another_account_or_origin_is_refused),
		T(test_ocsp_for_another_issuer_is_refused),
		T(test_ocsp_of_another_responder_is_refused),
		T(test_ocsp_with_another_extension_is_refused),
		T(test_ocsp_response_is_signed_by_the_delegated_responder),
		T(test_crl_for_another_issuer_is_refused),
		T(test_crl_number_not_above_the_last_is_refused),
		T(test_delta_and_partition_crls_must_be_marked_critical),
		T(test_the_ocsp_and_writer_channels_answer_their_operations_only),
		T(test_the_certificate_channel_answers_sign_cert_only),
		T(test_restart_keeps_the_promise),
		T(test_committed_issuance_goes_through_ca_cert_admit),
		T(test_oversize_message_is_refused),
		T(test_truncated_message_is_refused),
		T(test_unknown_operation_is_refused),
		T(test_malformed_fields_are_refused),
		cmocka_unit_test(test_field_longer_than_the_payload_is_an_error),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, keyproc_fx_group_setup,
	    keyproc_fx_group_teardown);
}
