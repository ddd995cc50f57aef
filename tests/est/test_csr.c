/*
 * test_csr.c: est/csr.c: decoding (RFC 8951 framing), the CSR policy
 * (proof of possession, key types and sizes, hashes, subject), the key id
 * and the names a request asks for.  Every CSR, good or bad, is built here
 * with OpenSSL, so each refusal has a matching accepted control.
 */
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "est/est.h"

#define WHY_MAX 256

/* Keys made once for the whole group (RSA keygen is slow). */
struct keys {
	EVP_PKEY *p256, *p384, *k256, *p521, *ed25519, *rsa2048, *rsa1024,
	    *rsa2050;
};

static EVP_PKEY *
gen_ec(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

static EVP_PKEY *
gen_rsa(unsigned int bits)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1 ||
	    EVP_PKEY_keygen(ctx, &pk) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static int
group_setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	k->p256 = gen_ec("P-256");
	k->p384 = gen_ec("P-384");
	k->k256 = gen_ec("secp256k1");
	k->p521 = gen_ec("P-521");
	k->ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k->rsa2048 = gen_rsa(2048);
	k->rsa1024 = gen_rsa(1024);
	k->rsa2050 = gen_rsa(2050);	/* not a whole number of bytes */
	*state = k;
	return k->p256 && k->p384 && k->k256 && k->p521 && k->ed25519 &&
	    k->rsa2048 && k->rsa1024 && k->rsa2050 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->p256);
	EVP_PKEY_free(k->p384);
	EVP_PKEY_free(k->k256);
	EVP_PKEY_free(k->p521);
	EVP_PKEY_free(k->ed25519);
	EVP_PKEY_free(k->rsa2048);
	EVP_PKEY_free(k->rsa1024);
	EVP_PKEY_free(k->rsa2050);
	free(k);
	return 0;
}

/* A CSR for pk signed with md (NULL for Ed25519), subject CN=cn (none if
 * NULL), with a subjectAltName extension request of san (x509v3 config
 * syntax, e.g. "DNS:a.example,IP:10.0.0.1") when not NULL. */
static X509_REQ *
make_csr(EVP_PKEY *pk, const EVP_MD *md, const char *cn, const char *san)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;

	assert_non_null(req);
	assert_int_equal(X509_REQ_set_version(req, X509_REQ_VERSION_1), 1);
	if (cn != NULL)
		assert_int_equal(X509_NAME_add_entry_by_txt(
		    X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
		    (const unsigned char *)cn, -1, -1, 0), 1);
	if (san != NULL) {
		exts = sk_X509_EXTENSION_new_null();
		ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
		    san);
		assert_non_null(exts);
		assert_non_null(ext);
		assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	assert_int_equal(X509_REQ_set_pubkey(req, pk), 1);
	assert_true(X509_REQ_sign(req, pk, md) > 0);
	return req;
}

static unsigned char *
req_der(X509_REQ *req, int *len)
{
	unsigned char *der = NULL;

	*len = i2d_X509_REQ(req, &der);
	assert_true(*len > 0);
	return der;
}

/* Base64 of der: in lines of `cols` characters ended by `eol` (cols 0:
 * one line, no break). */
static char *
b64(const unsigned char *der, size_t len, int cols, const char *eol)
{
	size_t n = (len + 2) / 3 * 4, i, o = 0;
	char *one = malloc(n + 1), *out = malloc(n * 3 + 8);

	assert_non_null(one);
	assert_non_null(out);
	assert_int_equal(EVP_EncodeBlock((unsigned char *)one, der,
	    (int)len), (int)n);
	for (i = 0; i < n; i++) {
		out[o++] = one[i];
		if (cols > 0 && (i + 1) % (size_t)cols == 0) {
			memcpy(out + o, eol, strlen(eol));
			o += strlen(eol);
		}
	}
	out[o] = '\0';
	free(one);
	return out;
}

/* est_csr_read, the event loop's reader, gives the verdict and reason
 * est_csr_decode and est_csr_check gave (st, why), and for an accepted
 * request the same key id and a key. */
static void
same_as_read(const char *text, enum est_csr_status st, const char *why,
    X509_REQ *req)
{
	char why2[WHY_MAX] = "", id[65], id2[65];
	X509_REQ *r2 = NULL;
	EVP_PKEY *pk2 = NULL;

	assert_int_equal(est_csr_read(text, strlen(text), &r2, &pk2, why2,
	    WHY_MAX), st);
	if (st != EST_CSR_OK) {
		assert_string_equal(why2, why);
		assert_null(r2);
		assert_null(pk2);
		return;
	}
	assert_non_null(pk2);
	assert_int_equal(est_csr_key_id(req, id), 0);
	assert_int_equal(est_csr_key_id(r2, id2), 0);
	assert_string_equal(id, id2);
	assert_int_equal(EVP_PKEY_eq(pk2, X509_REQ_get0_pubkey(req)), 1);
	X509_REQ_free(r2);
	EVP_PKEY_free(pk2);
}

/* Decodes text and runs the policy; returns the first failure. */
static enum est_csr_status
decode_and_check(const char *text, char *why)
{
	enum est_csr_status st = EST_CSR_OK;
	X509_REQ *req;

	why[0] = '\0';
	req = est_csr_decode(text, strlen(text), &st, why, WHY_MAX);
	if (req == NULL) {
		assert_int_not_equal(st, EST_CSR_OK);
		assert_true(why[0] != '\0');
		same_as_read(text, st, why, NULL);
		return st;
	}
	assert_int_equal(st, EST_CSR_OK);
	st = est_csr_check(req, why, WHY_MAX);
	same_as_read(text, st, why, req);
	X509_REQ_free(req);
	return st;
}

/* The whole path for a CSR object: DER, base64 one line, decode, check. */
static enum est_csr_status
roundtrip(X509_REQ *req, char *why)
{
	enum est_csr_status st;
	unsigned char *der;
	char *text;
	int len;

	der = req_der(req, &len);
	text = b64(der, (size_t)len, 0, "");
	st = decode_and_check(text, why);
	free(text);
	OPENSSL_free(der);
	return st;
}

static void
expect(EVP_PKEY *pk, const EVP_MD *md, const char *cn, enum est_csr_status
    want, const char *why_has)
{
	char why[WHY_MAX];
	X509_REQ *req = make_csr(pk, md, cn, NULL);

	assert_int_equal(roundtrip(req, why), want);
	if (why_has != NULL)
		assert_non_null(strstr(why, why_has));
	X509_REQ_free(req);
}

/* ---- accepted -------------------------------------------------------- */

static void
test_p256_sha256_csr_is_accepted(void **state)
{
	struct keys *k = *state;

	expect(k->p256, EVP_sha256(), "cam-001", EST_CSR_OK, NULL);
}

static void
test_p384_sha384_csr_is_accepted(void **state)
{
	struct keys *k = *state;

	expect(k->p384, EVP_sha384(), "cam-001", EST_CSR_OK, NULL);
}

static void
test_rsa2048_sha256_csr_is_accepted(void **state)
{
	struct keys *k = *state;

	expect(k->rsa2048, EVP_sha256(), "host.example", EST_CSR_OK, NULL);
}

static void
test_rsa_pss_sha256_csr_is_accepted_and_pss_sha1_is_not(void **state)
{
	struct keys *k = *state;
	const EVP_MD *mds[] = { EVP_sha256(), EVP_sha1() };
	enum est_csr_status want[] = { EST_CSR_OK, EST_CSR_WEAK_HASH };
	char why[WHY_MAX];
	size_t i;

	for (i = 0; i < 2; i++) {
		X509_REQ *req = make_csr(k->rsa2048, EVP_sha256(), "h", NULL);
		EVP_MD_CTX *mctx = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = NULL;

		assert_non_null(mctx);
		assert_int_equal(EVP_DigestSignInit(mctx, &pctx, mds[i], NULL,
		    k->rsa2048), 1);
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING) > 0);
		assert_true(X509_REQ_sign_ctx(req, mctx) > 0);
		assert_int_equal(X509_REQ_get_signature_nid(req),
		    NID_rsassaPss);
		assert_int_equal(roundtrip(req, why), want[i]);
		EVP_MD_CTX_free(mctx);
		X509_REQ_free(req);
	}
}

static void
test_base64_with_lf_crlf_blanks_or_none_all_decode(void **state)
{
	struct keys *k = *state;
	X509_REQ *req = make_csr(k->p256, EVP_sha256(), "cam-001", NULL);
	const struct { int cols; const char *eol; } forms[] = {
		{ 0, "" }, { 64, "\n" }, { 64, "\r\n" }, { 76, "\r\n" },
		{ 16, " \t" },
	};
	char why[WHY_MAX], *text;
	unsigned char *der;
	size_t i;
	int len;

	der = req_der(req, &len);
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		text = b64(der, (size_t)len, forms[i].cols, forms[i].eol);
		assert_int_equal(decode_and_check(text, why), EST_CSR_OK);
		free(text);
	}
	OPENSSL_free(der);
	X509_REQ_free(req);
}

static void
test_key_id_is_sha256_of_the_spki(void **state)
{
	struct keys *k = *state;
	X509_REQ *req = make_csr(k->p256, EVP_sha256(), "cam-001", NULL);
	unsigned char *spki = NULL, md[32];
	char id[65], want[65];
	int len, i;

	len = i2d_PUBKEY(k->p256, &spki);
	assert_true(len > 0);
	assert_int_equal(EVP_Digest(spki, (size_t)len, md, NULL,
	    EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	assert_int_equal(est_csr_key_id(req, id), 0);
	assert_string_equal(id, want);
	OPENSSL_free(spki);
	X509_REQ_free(req);
}

/* ---- refused --------------------------------------------------------- */

static void
test_flipped_signature_bit_is_no_proof_of_possession(void **state)
{
	struct keys *k = *state;
	EVP_PKEY *keys[] = { k->p256, k->rsa2048 };
	char why[WHY_MAX], *text;
	unsigned char *der;
	size_t i;
	int len;

	for (i = 0; i < 2; i++) {
		X509_REQ *req = make_csr(keys[i], EVP_sha256(), "x", NULL);

		der = req_der(req, &len);
		/* The signature BIT STRING ends the DER. */
		der[len - 1] ^= 0x01;
		text = b64(der, (size_t)len, 64, "\r\n");
		assert_int_equal(decode_and_check(text, why),
		    EST_CSR_BAD_SIGNATURE);
		assert_non_null(strstr(why, "proof of possession"));
		free(text);
		OPENSSL_free(der);
		X509_REQ_free(req);
	}
}

static void
test_rsa1024_is_a_weak_key(void **state)
{
	struct keys *k = *state;

	expect(k->rsa1024, EVP_sha256(), "x", EST_CSR_WEAK_KEY,
	    "RSA key of 1024 bits: at least 2048 required");
}

static void
test_rsa_of_2050_bits_is_refused_as_not_whole_bytes(void **state)
{
	struct keys *k = *state;

	assert_int_equal(EVP_PKEY_get_bits(k->rsa2050), 2050);
	expect(k->rsa2050, EVP_sha256(), "x", EST_CSR_WEAK_KEY,
	    "multiple of 8");
}

static void
test_secp256k1_and_p521_are_unsupported_curves(void **state)
{
	struct keys *k = *state;

	expect(k->k256, EVP_sha256(), "x", EST_CSR_BAD_CURVE, "secp256k1");
	expect(k->p521, EVP_sha512(), "x", EST_CSR_BAD_CURVE, "secp521r1");
}

/* A copy of the P-256 key whose SubjectPublicKeyInfo OpenSSL writes with
 * the EC parameter `param` set to `value` (point form or curve encoding). */
static EVP_PKEY *
p256_encoded(EVP_PKEY *p256, const char *param, const char *value)
{
	EVP_PKEY *pk = EVP_PKEY_dup(p256);

	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(pk, param, value), 1);
	return pk;
}

/* The ledger knows a key by the hash of its one encoding (named curve,
 * uncompressed point); the certificate copies the CSR's, so a CSR in
 * another encoding of a registered key is refused, saying which. */
static void
test_ec_key_not_named_and_uncompressed_is_refused(void **state)
{
	struct keys *k = *state;
	EVP_PKEY *pk;

	pk = p256_encoded(k->p256, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED);
	expect(pk, EVP_sha256(), "x", EST_CSR_KEY_ENCODING, "compressed");
	EVP_PKEY_free(pk);
	pk = p256_encoded(k->p256, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_HYBRID);
	expect(pk, EVP_sha256(), "x", EST_CSR_KEY_ENCODING, "hybrid");
	EVP_PKEY_free(pk);
	pk = p256_encoded(k->p256, OSSL_PKEY_PARAM_EC_ENCODING,
	    OSSL_PKEY_EC_ENCODING_EXPLICIT);
	expect(pk, EVP_sha256(), "x", EST_CSR_KEY_ENCODING,
	    "explicit curve parameters");
	EVP_PKEY_free(pk);
	/* The control: the same key, named and uncompressed. */
	pk = p256_encoded(k->p256, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED);
	expect(pk, EVP_sha256(), "x", EST_CSR_OK, NULL);
	EVP_PKEY_free(pk);
}

/* RFC 8410: an Ed25519 device key is read (the general reader's path)
 * and accepted; its profile is the registration's business. */
static void
test_ed25519_key_is_accepted(void **state)
{
	struct keys *k = *state;

	expect(k->ed25519, NULL, "x", EST_CSR_OK, NULL);
}

/* Ed448 stays an unsupported key type: Ed25519 alone is allowed. */
static void
test_ed448_is_an_unsupported_key_type(void **state)
{
	EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");

	(void)state;
	assert_non_null(ed448);
	expect(ed448, NULL, "x", EST_CSR_BAD_KEY_TYPE, "ED448");
	EVP_PKEY_free(ed448);
}

static void
test_sha1_and_md5_signatures_are_weak_hashes(void **state)
{
	struct keys *k = *state;

	expect(k->p256, EVP_sha1(), "x", EST_CSR_WEAK_HASH, "SHA1");
	expect(k->rsa2048, EVP_md5(), "x", EST_CSR_WEAK_HASH, "MD5");
}

static void
test_empty_subject_is_refused(void **state)
{
	struct keys *k = *state;

	expect(k->p256, EVP_sha256(), NULL, EST_CSR_EMPTY_SUBJECT, "subject");
}

static void
test_text_that_is_not_base64_is_refused(void **state)
{
	struct keys *k = *state;
	X509_REQ *req = make_csr(k->p256, EVP_sha256(), "x", NULL);
	char why[WHY_MAX], *text, *pem;
	unsigned char *der;
	int len;

	assert_int_equal(decode_and_check("this is not base64!", why),
	    EST_CSR_BAD_BASE64);
	assert_int_equal(decode_and_check("", why), EST_CSR_BAD_BASE64);
	assert_int_equal(decode_and_check("QUJD=REVG", why),
	    EST_CSR_BAD_BASE64);	/* '=' inside */
	assert_int_equal(decode_and_check("QUJDR", why),
	    EST_CSR_BAD_BASE64);	/* not a multiple of 4 */
	/* PEM armour is not the EST body. */
	der = req_der(req, &len);
	text = b64(der, (size_t)len, 64, "\n");
	pem = malloc(strlen(text) + 128);
	assert_non_null(pem);
	sprintf(pem, "-----BEGIN CERTIFICATE REQUEST-----\n%s\n"
	    "-----END CERTIFICATE REQUEST-----\n", text);
	assert_int_equal(decode_and_check(pem, why), EST_CSR_BAD_BASE64);
	assert_int_equal(decode_and_check(text, why), EST_CSR_OK);
	free(pem);
	free(text);
	OPENSSL_free(der);
	X509_REQ_free(req);
}

static void
test_body_over_the_bound_is_refused(void **state)
{
	char *big = malloc(EST_MAX_BODY + 5), why[WHY_MAX];
	enum est_csr_status st;

	assert_non_null(big);
	memset(big, 'A', EST_MAX_BODY + 4);
	big[EST_MAX_BODY + 4] = '\0';
	assert_null(est_csr_decode(big, EST_MAX_BODY + 4, &st, why,
	    sizeof(why)));
	assert_int_equal(st, EST_CSR_BAD_BASE64);
	free(big);
}

static void
test_der_that_is_not_a_csr_is_refused(void **state)
{
	struct keys *k = *state;
	unsigned char *spki = NULL;
	char why[WHY_MAX], *text;
	int len;

	len = i2d_PUBKEY(k->p256, &spki);
	text = b64(spki, (size_t)len, 0, "");
	assert_int_equal(decode_and_check(text, why), EST_CSR_NOT_CSR);
	assert_int_equal(decode_and_check("aGVsbG8gd29ybGQ=", why),
	    EST_CSR_NOT_CSR);
	free(text);
	OPENSSL_free(spki);
}

static void
test_truncated_or_trailing_der_is_refused(void **state)
{
	struct keys *k = *state;
	X509_REQ *req = make_csr(k->p256, EVP_sha256(), "x", NULL);
	unsigned char *der, *longer;
	char why[WHY_MAX], *text;
	int len;

	der = req_der(req, &len);
	text = b64(der, (size_t)len - 10, 64, "\r\n");
	assert_int_equal(decode_and_check(text, why), EST_CSR_NOT_CSR);
	free(text);
	longer = malloc((size_t)len + 3);
	assert_non_null(longer);
	memcpy(longer, der, (size_t)len);
	memset(longer + len, 0, 3);
	text = b64(longer, (size_t)len + 3, 64, "\r\n");
	assert_int_equal(decode_and_check(text, why), EST_CSR_NOT_CSR);
	assert_non_null(strstr(why, "3 bytes follow"));
	free(text);
	free(longer);
	OPENSSL_free(der);
	X509_REQ_free(req);
}

/* ---- names ----------------------------------------------------------- */

static void
test_names_are_dns_lowercased_and_ips_printable(void **state)
{
	struct keys *k = *state;
	X509_REQ *req = make_csr(k->p256, EVP_sha256(), "x",
	    "DNS:Cam-001.Example,IP:10.0.0.5,IP:0:0:0:0:0:0:0:1,"
	    "DNS:b.example");
	struct est_names n;

	assert_int_equal(est_csr_names(req, &n), 0);
	assert_int_equal(n.ndns, 2);
	assert_int_equal(n.nip, 2);
	assert_string_equal(n.dns[0], "cam-001.example");
	assert_string_equal(n.dns[1], "b.example");
	assert_string_equal(n.ip[0], "10.0.0.5");
	assert_string_equal(n.ip[1], "::1");
	X509_REQ_free(req);
}

static void
test_no_san_means_no_names(void **state)
{
	struct keys *k = *state;
	X509_REQ *req = make_csr(k->p256, EVP_sha256(), "cam-001", NULL);
	struct est_names n;

	memset(&n, 0xff, sizeof(n));
	assert_int_equal(est_csr_names(req, &n), 0);
	assert_int_equal(n.ndns, 0);
	assert_int_equal(n.nip, 0);
	X509_REQ_free(req);
}

static void
test_names_we_cannot_grant_make_the_request_unreadable(void **state)
{
	struct keys *k = *state;
	const char *sans[] = { "email:a@example.org", "URI:https://x.example",
	    "DNS:ok.example,email:a@example.org" };
	struct est_names n;
	size_t i;

	for (i = 0; i < sizeof(sans) / sizeof(sans[0]); i++) {
		X509_REQ *req = make_csr(k->p256, EVP_sha256(), "x", sans[i]);

		assert_int_equal(est_csr_names(req, &n), -1);
		assert_int_equal(n.ndns + n.nip, 0);
		X509_REQ_free(req);
	}
}

static void
test_more_than_max_names_is_refused(void **state)
{
	struct keys *k = *state;
	char san[EST_MAX_NAMES * 32] = "", one[32];
	struct est_names n;
	X509_REQ *req;
	int i;

	/* Exactly EST_MAX_NAMES is fine; one more is not. */
	for (i = 0; i < EST_MAX_NAMES; i++) {
		snprintf(one, sizeof(one), "%sDNS:h%d.example", i ? "," : "",
		    i);
		strcat(san, one);
	}
	req = make_csr(k->p256, EVP_sha256(), "x", san);
	assert_int_equal(est_csr_names(req, &n), 0);
	assert_int_equal(n.ndns, EST_MAX_NAMES);
	X509_REQ_free(req);
	strcat(san, ",IP:10.0.0.1");
	req = make_csr(k->p256, EVP_sha256(), "x", san);
	assert_int_equal(est_csr_names(req, &n), -1);
	X509_REQ_free(req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p256_sha256_csr_is_accepted),
		cmocka_unit_test(test_p384_sha384_csr_is_accepted),
		cmocka_unit_test(test_rsa2048_sha256_csr_is_accepted),
		cmocka_unit_test(
		    test_rsa_pss_sha256_csr_is_accepted_and_pss_sha1_is_not),
		cmocka_unit_test(
		    test_base64_with_lf_crlf_blanks_or_none_all_decode),
		cmocka_unit_test(test_key_id_is_sha256_of_the_spki),
		cmocka_unit_test(
		    test_flipped_signature_bit_is_no_proof_of_possession),
		cmocka_unit_test(test_rsa1024_is_a_weak_key),
		cmocka_unit_test(
		    test_rsa_of_2050_bits_is_refused_as_not_whole_bytes),
		cmocka_unit_test(
		    test_secp256k1_and_p521_are_unsupported_curves),
		cmocka_unit_test(
		    test_ec_key_not_named_and_uncompressed_is_refused),
		cmocka_unit_test(test_ed25519_key_is_accepted),
		cmocka_unit_test(test_ed448_is_an_unsupported_key_type),
		cmocka_unit_test(test_sha1_and_md5_signatures_are_weak_hashes),
		cmocka_unit_test(test_empty_subject_is_refused),
		cmocka_unit_test(test_text_that_is_not_base64_is_refused),
		cmocka_unit_test(test_body_over_the_bound_is_refused),
		cmocka_unit_test(test_der_that_is_not_a_csr_is_refused),
		cmocka_unit_test(test_truncated_or_trailing_der_is_refused),
		cmocka_unit_test(
		    test_names_are_dns_lowercased_and_ips_printable),
		cmocka_unit_test(test_no_san_means_no_names),
		cmocka_unit_test(
		    test_names_we_cannot_grant_make_the_request_unreadable),
		cmocka_unit_test(test_more_than_max_names_is_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
