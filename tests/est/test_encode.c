/*
 * test_encode.c: est/pkcs7.c, est/csrattrs.c and est/keygen.c: what the
 * bridge sends back.  Each encoding is read back by an independent
 * decoder: the openssl command (pkcs7 -print_certs, asn1parse) and
 * OpenSSL's own d2i, and the framing (64 columns, CRLF, the multipart
 * boundary) is checked byte by byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "est/est.h"

#define OUT_MAX 65536

struct chain {
	EVP_PKEY *root_key, *sub_key, *leaf_key;
	STACK_OF(X509) *certs;		/* leaf, sub, root */
};

static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long serial)
{
	X509 *x = X509_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial),
	    1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : X509_get_subject_name(x)), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

static int
group_setup(void **state)
{
	struct chain *c = calloc(1, sizeof(*c));
	X509 *root, *sub, *leaf;

	if (c == NULL)
		return -1;
	c->root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	c->sub_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	c->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (c->root_key == NULL || c->sub_key == NULL || c->leaf_key == NULL)
		return -1;
	root = make_cert("test root", c->root_key, NULL, c->root_key, 1);
	sub = make_cert("test issuing", c->sub_key, root, c->root_key, 2);
	leaf = make_cert("cam-001", c->leaf_key, sub, c->sub_key, 3);
	c->certs = sk_X509_new_null();
	if (c->certs == NULL || sk_X509_push(c->certs, leaf) <= 0 ||
	    sk_X509_push(c->certs, sub) <= 0 ||
	    sk_X509_push(c->certs, root) <= 0)
		return -1;
	*state = c;
	return 0;
}

static int
group_teardown(void **state)
{
	struct chain *c = *state;

	sk_X509_pop_free(c->certs, X509_free);
	EVP_PKEY_free(c->root_key);
	EVP_PKEY_free(c->sub_key);
	EVP_PKEY_free(c->leaf_key);
	free(c);
	return 0;
}

/* Lines of at most 64 characters, all but the last exactly 64, each
 * ended by eol ("\n" for bodies, "\r\n" inside MIME), nothing else. */
static void
assert_b64_lines_eol(const char *b64, size_t len, const char *eol_s)
{
	const char *p = b64, *eol;
	size_t el = strlen(eol_s);

	assert_int_equal(strlen(b64), len);
	assert_true(len > 0);
	while (*p != '\0') {
		eol = strstr(p, eol_s);
		assert_non_null(eol);
		assert_true(eol - p <= 64);
		assert_null(memchr(p, '\n', (size_t)(eol - p)));
		assert_null(memchr(p, '\r', (size_t)(eol - p)));
		if (eol[el] != '\0')
			assert_int_equal(eol - p, 64);
		p = eol + el;
	}
}

static void
assert_b64_lines(const char *b64, size_t len)
{
	assert_b64_lines_eol(b64, len, "\n");
}

/* Test-side decoder: drop CR/LF, EVP_DecodeBlock, take the pad off. */
static unsigned char *
unb64(const char *b64, size_t len, size_t *outlen)
{
	char *clean = malloc(len + 1);
	unsigned char *out = malloc(len);
	size_t i, n = 0;
	int got;

	assert_non_null(clean);
	assert_non_null(out);
	for (i = 0; i < len; i++)
		if (b64[i] != '\r' && b64[i] != '\n')
			clean[n++] = b64[i];
	assert_int_equal(n % 4, 0);
	got = EVP_DecodeBlock(out, (unsigned char *)clean, (int)n);
	assert_true(got >= 0);
	*outlen = (size_t)got;
	if (n > 0 && clean[n - 1] == '=')
		(*outlen)--;
	if (n > 1 && clean[n - 2] == '=')
		(*outlen)--;
	free(clean);
	return out;
}

/* Writes der to a temporary file, runs `openssl <args> -in FILE` and
 * returns its standard output (malloc'd). */
static char *
openssl_read(const unsigned char *der, size_t len, const char *args)
{
	char path[] = "/tmp/keybridge-test-encode-XXXXXX", cmd[512];
	char *out = calloc(1, OUT_MAX);
	size_t n = 0, got;
	FILE *f, *pf;
	int fd;

	assert_non_null(out);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "wb"));
	assert_int_equal(fwrite(der, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "openssl %s -in %s", args, path);
	assert_non_null(pf = popen(cmd, "r"));
	while ((got = fread(out + n, 1, OUT_MAX - 1 - n, pf)) > 0)
		n += got;
	assert_int_equal(pclose(pf), 0);
	unlink(path);
	return out;
}

/* ---- pkcs7.c ---------------------------------------------------------- */

static void
test_certs_only_is_read_by_openssl_in_chain_order(void **state)
{
	struct chain *c = *state;
	char *b64, *text, *leaf, *sub, *root;
	unsigned char *der;
	size_t len, derlen;

	b64 = est_pkcs7_certs_b64(c->certs, &len);
	assert_non_null(b64);
	assert_b64_lines(b64, len);
	der = unb64(b64, len, &derlen);
	text = openssl_read(der, derlen,
	    "pkcs7 -inform DER -print_certs -noout");
	leaf = strstr(text, "subject=CN = cam-001");
	sub = strstr(text, "subject=CN = test issuing");
	root = strstr(text, "subject=CN = test root");
	assert_non_null(leaf);
	assert_non_null(sub);
	assert_non_null(root);
	assert_true(leaf < sub && sub < root);
	free(text);
	free(der);
	free(b64);
}

static void
test_certs_only_is_a_degenerate_signed_data(void **state)
{
	struct chain *c = *state;
	const unsigned char *p;
	unsigned char *der;
	PKCS7 *p7;
	size_t len, derlen;
	char *b64;
	int i;

	b64 = est_pkcs7_certs_b64(c->certs, &len);
	assert_non_null(b64);
	der = unb64(b64, len, &derlen);
	p = der;
	p7 = d2i_PKCS7(NULL, &p, (long)derlen);
	assert_non_null(p7);
	assert_ptr_equal(p, der + derlen);
	assert_true(PKCS7_type_is_signed(p7));
	/* RFC 5652 5: no signers, no encapsulated content. */
	assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info),
	    0);
	assert_true(PKCS7_type_is_data(p7->d.sign->contents));
	assert_null(p7->d.sign->contents->d.data);
	assert_int_equal(sk_X509_num(p7->d.sign->cert), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(X509_cmp(sk_X509_value(p7->d.sign->cert, i),
		    sk_X509_value(c->certs, i)), 0);
	PKCS7_free(p7);
	free(der);
	free(b64);
}

static void
test_certs_only_needs_certificates(void **state)
{
	STACK_OF(X509) *none = sk_X509_new_null();
	size_t len;

	assert_null(est_pkcs7_certs_b64(NULL, &len));
	assert_null(est_pkcs7_certs_b64(none, &len));
	sk_X509_free(none);
}

/* ---- csrattrs.c ------------------------------------------------------- */

/* An independent decoder for RFC 7030 4.5.2's CsrAttrs. */
typedef struct {
	int type;
	union {
		ASN1_OBJECT *oid;
		X509_ATTRIBUTE *attribute;
	} value;
} TEST_ATTR_OR_OID;

DEFINE_STACK_OF(TEST_ATTR_OR_OID)
typedef STACK_OF(TEST_ATTR_OR_OID) TEST_CSRATTRS;

ASN1_CHOICE(TEST_ATTR_OR_OID) = {
	ASN1_SIMPLE(TEST_ATTR_OR_OID, value.oid, ASN1_OBJECT),
	ASN1_SIMPLE(TEST_ATTR_OR_OID, value.attribute, X509_ATTRIBUTE),
} static_ASN1_CHOICE_END(TEST_ATTR_OR_OID)

ASN1_ITEM_TEMPLATE(TEST_CSRATTRS) =
	ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, CsrAttrs,
	    TEST_ATTR_OR_OID)
static_ASN1_ITEM_TEMPLATE_END(TEST_CSRATTRS)

IMPLEMENT_STATIC_ASN1_ENCODE_FUNCTIONS(TEST_CSRATTRS)

static void
TEST_CSRATTRS_free(TEST_CSRATTRS *a)
{
	ASN1_item_free((ASN1_VALUE *)a, ASN1_ITEM_rptr(TEST_CSRATTRS));
}

static void
assert_oid(TEST_CSRATTRS *a, int i, int nid)
{
	TEST_ATTR_OR_OID *e = sk_TEST_ATTR_OR_OID_value(a, i);

	assert_int_equal(e->type, 0);
	assert_int_equal(OBJ_obj2nid(e->value.oid), nid);
}

static TEST_CSRATTRS *
csrattrs_decode(enum est_profile p, char **asn1text)
{
	TEST_CSRATTRS *a;
	const unsigned char *q;
	unsigned char *der, *again = NULL;
	size_t len, derlen;
	char *b64;

	b64 = est_csrattrs_b64(p, &len);
	assert_non_null(b64);
	assert_b64_lines(b64, len);
	der = unb64(b64, len, &derlen);
	*asn1text = openssl_read(der, derlen, "asn1parse -inform DER");
	q = der;
	a = d2i_TEST_CSRATTRS(NULL, &q, (long)derlen);
	assert_non_null(a);
	assert_ptr_equal(q, der + derlen);
	/* DER: re-encoding gives the same bytes. */
	assert_int_equal(i2d_TEST_CSRATTRS(a, &again), (int)derlen);
	assert_memory_equal(again, der, derlen);
	OPENSSL_free(again);
	free(der);
	free(b64);
	return a;
}

static void
test_device_csrattrs_ask_for_p256_sha256_or_rsa(void **state)
{
	TEST_CSRATTRS *a;
	TEST_ATTR_OR_OID *e;
	ASN1_TYPE *v;
	char *text;

	a = csrattrs_decode(EST_PROFILE_DEVICE, &text);
	assert_non_null(strstr(text, ":ecdsa-with-SHA256"));
	assert_non_null(strstr(text, ":id-ecPublicKey"));
	assert_non_null(strstr(text, ":prime256v1"));
	assert_non_null(strstr(text, ":sha256WithRSAEncryption"));
	assert_null(strstr(text, "Subject Alternative Name"));
	assert_non_null(strstr(text, ":ED25519"));
	assert_int_equal(sk_TEST_ATTR_OR_OID_num(a), 4);
	assert_oid(a, 0, NID_ecdsa_with_SHA256);
	e = sk_TEST_ATTR_OR_OID_value(a, 1);
	assert_int_equal(e->type, 1);
	assert_int_equal(OBJ_obj2nid(X509_ATTRIBUTE_get0_object(
	    e->value.attribute)), NID_X9_62_id_ecPublicKey);
	assert_int_equal(X509_ATTRIBUTE_count(e->value.attribute), 1);
	v = X509_ATTRIBUTE_get0_type(e->value.attribute, 0);
	assert_int_equal(ASN1_TYPE_get(v), V_ASN1_OBJECT);
	assert_int_equal(OBJ_obj2nid(v->value.object), NID_X9_62_prime256v1);
	assert_oid(a, 2, NID_sha256WithRSAEncryption);
	assert_oid(a, 3, NID_ED25519);		/* RFC 8410: devices only */
	TEST_CSRATTRS_free(a);
	free(text);
}

static void
test_server_csrattrs_also_ask_for_subject_alt_names(void **state)
{
	TEST_CSRATTRS *a;
	char *text;

	a = csrattrs_decode(EST_PROFILE_SERVER, &text);
	assert_non_null(strstr(text, ":X509v3 Subject Alternative Name"));
	assert_null(strstr(text, ":ED25519"));	/* not for servers */
	assert_int_equal(sk_TEST_ATTR_OR_OID_num(a), 4);
	assert_oid(a, 3, NID_subject_alt_name);
	TEST_CSRATTRS_free(a);
	free(text);
}

static void
test_csrattrs_of_unknown_profile_is_null(void **state)
{
	size_t len;

	assert_null(est_csrattrs_b64((enum est_profile)0, &len));
}

/* ---- keygen.c --------------------------------------------------------- */

/* One part of the multipart body: headers, then the base64 content. */
struct part {
	char *headers, *content;
};

/* Splits body on "--boundary" delimiters (RFC 2046 5.1.1): two parts and
 * the close delimiter, nothing after it. */
static void
split_parts(char *body, const char *boundary, struct part parts[2])
{
	char open[128], delim[128], close[128], *p, *next, *sep;
	int i;

	snprintf(open, sizeof(open), "--%s\r\n", boundary);
	snprintf(delim, sizeof(delim), "\r\n--%s\r\n", boundary);
	snprintf(close, sizeof(close), "\r\n--%s--\r\n", boundary);
	assert_memory_equal(body, open, strlen(open));
	p = body + strlen(open);
	for (i = 0; i < 2; i++) {
		next = strstr(p, i == 0 ? delim : close);
		assert_non_null(next);
		*next = '\0';
		sep = strstr(p, "\r\n\r\n");
		assert_non_null(sep);
		*sep = '\0';
		parts[i].headers = p;
		parts[i].content = sep + 4;
		p = next + strlen(i == 0 ? delim : close);
	}
	assert_string_equal(p, "");
}

static void
test_serverkeygen_body_carries_the_key_and_its_certificate(void **state)
{
	struct chain *c = *state;
	struct evbuffer *out = evbuffer_new();
	struct part parts[2];
	PKCS8_PRIV_KEY_INFO *p8;
	const unsigned char *q;
	unsigned char *der;
	char ctype[128], *body, *boundary, *bare;
	EVP_PKEY *key;
	PKCS7 *p7;
	size_t len, derlen;

	assert_non_null(out);
	assert_int_equal(est_serverkeygen_body(c->leaf_key, c->certs, out,
	    ctype, sizeof(ctype)), 0);
	assert_memory_equal(ctype, "multipart/mixed; boundary=", 26);
	boundary = ctype + 26;
	assert_true(strlen(boundary) >= 16);
	len = evbuffer_get_length(out);
	body = calloc(1, len + 1);
	assert_non_null(body);
	assert_int_equal(evbuffer_remove(out, body, len), (int)len);
	/* CRLF everywhere: every LF follows a CR. */
	for (bare = strchr(body, '\n'); bare != NULL;
	    bare = strchr(bare + 1, '\n'))
		assert_int_equal(bare[-1], '\r');
	split_parts(body, boundary, parts);
	assert_string_equal(parts[0].headers,
	    "Content-Type: application/pkcs8\r\n"
	    "Content-Transfer-Encoding: base64");
	assert_string_equal(parts[1].headers,
	    "Content-Type: application/pkcs7-mime; smime-type=certs-only\r\n"
	    "Content-Transfer-Encoding: base64");

	/* Part 1: PKCS#8 of the very key. */
	der = unb64(parts[0].content, strlen(parts[0].content), &derlen);
	q = der;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)derlen);
	assert_non_null(p8);
	key = EVP_PKCS82PKEY(p8);
	assert_non_null(key);
	assert_int_equal(EVP_PKEY_eq(key, c->leaf_key), 1);
	/* ... which matches the certificate's public key. */
	assert_int_equal(EVP_PKEY_eq(key,
	    X509_get0_pubkey(sk_X509_value(c->certs, 0))), 1);
	assert_int_equal(X509_check_private_key(sk_X509_value(c->certs, 0),
	    key), 1);
	EVP_PKEY_free(key);
	PKCS8_PRIV_KEY_INFO_free(p8);
	free(der);

	/* Part 2: certs-only with the leaf first. */
	der = unb64(parts[1].content, strlen(parts[1].content), &derlen);
	q = der;
	p7 = d2i_PKCS7(NULL, &q, (long)derlen);
	assert_non_null(p7);
	assert_int_equal(X509_cmp(sk_X509_value(p7->d.sign->cert, 0),
	    sk_X509_value(c->certs, 0)), 0);
	PKCS7_free(p7);
	free(der);
	free(body);
	evbuffer_free(out);
}

static void
test_serverkeygen_boundaries_are_random(void **state)
{
	struct chain *c = *state;
	struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();
	char ca[128], cb[128], small[16];

	assert_int_equal(est_serverkeygen_body(c->leaf_key, c->certs, a, ca,
	    sizeof(ca)), 0);
	assert_int_equal(est_serverkeygen_body(c->leaf_key, c->certs, b, cb,
	    sizeof(cb)), 0);
	assert_string_not_equal(ca, cb);
	/* Refusals: no room for the Content-Type, no key, no certs. */
	assert_int_equal(est_serverkeygen_body(c->leaf_key, c->certs, b,
	    small, sizeof(small)), -1);
	assert_int_equal(est_serverkeygen_body(NULL, c->certs, b, ca,
	    sizeof(ca)), -1);
	assert_int_equal(est_serverkeygen_body(c->leaf_key, NULL, b, ca,
	    sizeof(ca)), -1);
	evbuffer_free(a);
	evbuffer_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_certs_only_is_read_by_openssl_in_chain_order),
		cmocka_unit_test(test_certs_only_is_a_degenerate_signed_data),
		cmocka_unit_test(test_certs_only_needs_certificates),
		cmocka_unit_test(
		    test_device_csrattrs_ask_for_p256_sha256_or_rsa),
		cmocka_unit_test(
		    test_server_csrattrs_also_ask_for_subject_alt_names),
		cmocka_unit_test(test_csrattrs_of_unknown_profile_is_null),
		cmocka_unit_test(
		    test_serverkeygen_body_carries_the_key_and_its_certificate),
		cmocka_unit_test(test_serverkeygen_boundaries_are_random),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
