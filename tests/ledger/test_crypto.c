/*
 * test_crypto.c: ledger/crypto.c: key files and their modes, strict base64
 * and hex, and which public keys are account keys.
 */
#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ledger/ledger_int.h"

#define B64_MAX 1024
#define ERR_MAX 512

struct dir {
	char path[64];
	char key[128];
};

static int
setup_dir(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	strcpy(d->path, "/tmp/kb-test-crypto-XXXXXX");
	if (mkdtemp(d->path) == NULL) {
		free(d);
		return -1;
	}
	snprintf(d->key, sizeof(d->key), "%s/admin.key", d->path);
	*state = d;
	return 0;
}

static int
teardown_dir(void **state)
{
	struct dir *d = *state;
	char p[192];

	snprintf(p, sizeof(p), "%s/link.key", d->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s/target.key", d->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s/enc.key", d->path);
	unlink(p);
	unlink(d->key);
	rmdir(d->path);
	free(d);
	return 0;
}

static size_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* ---- key files --------------------------------------------------------- */

static void
test_key_save_creates_0600_and_refuses_to_overwrite(void **state)
{
	struct dir *d = *state;
	EVP_PKEY *a = ledger_key_generate("ed25519");
	EVP_PKEY *b = ledger_key_generate("ed25519"), *back;
	char err[ERR_MAX];
	struct stat st;
	mode_t old = umask(0);	/* a permissive umask must not matter */
	size_t before;

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(ledger_key_save(a, d->key), 0);
	umask(old);
	assert_int_equal(stat(d->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	before = file_size(d->key);
	/* A second save, even of another key, leaves the first alone. */
	assert_int_equal(ledger_key_save(b, d->key), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(file_size(d->key), before);
	back = ledger_key_load(d->key, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, a), 1);
	assert_int_equal(EVP_PKEY_eq(back, b), 0);
	EVP_PKEY_free(back);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static void
test_key_save_does_not_follow_a_dangling_symlink(void **state)
{
	struct dir *d = *state;
	EVP_PKEY *a = ledger_key_generate("ec-p256");
	char link[192], target[192];
	struct stat st;

	assert_non_null(a);
	snprintf(link, sizeof(link), "%s/link.key", d->path);
	snprintf(target, sizeof(target), "%s/target.key", d->path);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(ledger_key_save(a, link), -1);
	assert_int_equal(lstat(target, &st), -1);
	EVP_PKEY_free(a);
}

static void
test_key_load_refuses_0644_file_and_says_chmod_600(void **state)
{
	struct dir *d = *state;
	EVP_PKEY *a = ledger_key_generate("ec-p256"), *back;
	char err[ERR_MAX];

	assert_non_null(a);
	assert_int_equal(ledger_key_save(a, d->key), 0);
	assert_int_equal(chmod(d->key, 0644), 0);
	assert_null(ledger_key_load(d->key, err, sizeof(err)));
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(d->key, 0640), 0);
	assert_null(ledger_key_load(d->key, err, sizeof(err)));
	assert_int_equal(chmod(d->key, 0602), 0);
	assert_null(ledger_key_load(d->key, err, sizeof(err)));
	/* Back to 0600 (and 0400): loads, the same key. */
	assert_int_equal(chmod(d->key, 0400), 0);
	back = ledger_key_load(d->key, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, a), 1);
	EVP_PKEY_free(back);
	EVP_PKEY_free(a);
}

static void
test_key_load_refuses_missing_garbage_dirs_and_encrypted_keys(void **state)
{
	struct dir *d = *state;
	EVP_PKEY *a = ledger_key_generate("ed25519");
	char err[ERR_MAX], enc[192];
	FILE *fp;

	assert_non_null(a);
	assert_null(ledger_key_load(d->key, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	assert_null(ledger_key_load(d->path, err, sizeof(err)));
	assert_null(ledger_key_load(NULL, err, sizeof(err)));
	fp = fopen(d->key, "w");
	assert_non_null(fp);
	fputs("-----BEGIN PRIVATE KEY-----\nnot a key\n", fp);
	fclose(fp);
	assert_int_equal(chmod(d->key, 0600), 0);
	assert_null(ledger_key_load(d->key, err, sizeof(err)));
	assert_true(err[0] != '\0');
	/* An encrypted key is refused without asking for a passphrase. */
	snprintf(enc, sizeof(enc), "%s/enc.key", d->path);
	fp = fopen(enc, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PKCS8PrivateKey(fp, a, EVP_aes_256_cbc(),
	    "secret", 6, NULL, NULL), 1);
	fclose(fp);
	assert_int_equal(chmod(enc, 0600), 0);
	assert_null(ledger_key_load(enc, err, sizeof(err)));
	/* err may be NULL. */
	assert_null(ledger_key_load(enc, NULL, 0));
	EVP_PKEY_free(a);
}

static void
test_key_generate_makes_the_two_account_key_types(void **state)
{
	EVP_PKEY *ed = ledger_key_generate("ed25519");
	EVP_PKEY *ec = ledger_key_generate("ec-p256");
	char group[64];

	assert_non_null(ed);
	assert_non_null(ec);
	assert_int_equal(EVP_PKEY_is_a(ed, "ED25519"), 1);
	assert_int_equal(EVP_PKEY_is_a(ec, "EC"), 1);
	assert_int_equal(EVP_PKEY_get_group_name(ec, group, sizeof(group),
	    NULL), 1);
	assert_string_equal(group, "prime256v1");
	assert_null(ledger_key_generate("rsa-3072"));
	assert_null(ledger_key_generate("ec-p384"));
	assert_null(ledger_key_generate(""));
	assert_null(ledger_key_generate(NULL));
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ec);
}

static void
test_key_vkey_is_the_go_note_verifier_key(void **state)
{
	/* golang.org/x/mod/sumdb/note note_test.go: PeterNeumann's key. */
	static const char *skey = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
	uint8_t raw[33];
	EVP_PKEY *k;
	char vkey[256];

	assert_int_equal(ledger_b64_decode(skey, strlen(skey), raw,
	    sizeof(raw)), 33);
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 1, 32);
	assert_non_null(k);
	assert_int_equal(ledger_key_vkey(k, "PeterNeumann", vkey,
	    sizeof(vkey)), 0);
	assert_string_equal(vkey,
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	assert_int_equal(ledger_key_vkey(k, "PeterNeumann", vkey, 20), -1);
	assert_int_equal(ledger_key_vkey(k, "Peter Neumann", vkey,
	    sizeof(vkey)), -1);
	EVP_PKEY_free(k);
}

/* ---- base64 and hex ---------------------------------------------------- */

static void
test_b64_matches_rfc4648_vectors(void **state)
{
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba",
	    "foobar" };
	static const char *enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
	    "Zm9vYmE=", "Zm9vYmFy" };
	char out[16];
	uint8_t back[16];
	size_t i;

	for (i = 0; i < 7; i++) {
		assert_int_equal(ledger_b64_encode((const uint8_t *)plain[i],
		    strlen(plain[i]), out, sizeof(out)), 0);
		assert_string_equal(out, enc[i]);
		assert_int_equal(ledger_b64_decode(enc[i], strlen(enc[i]), back,
		    sizeof(back)), (int)strlen(plain[i]));
		assert_memory_equal(back, plain[i], strlen(plain[i]));
	}
	/* The output buffer must hold the NUL too. */
	assert_int_equal(ledger_b64_encode((const uint8_t *)"foo", 3, out, 4),
	    -1);
	assert_int_equal(ledger_b64_encode((const uint8_t *)"foo", 3, out, 5),
	    0);
}

static void
test_b64_strict_decode_rejects_garbage(void **state)
{
	static const char *bad[] = {
		"Zm9", "Zm9vY", "Zm9v\n", " Zm9v", "Zm9v ", "Zm 9v", "Zm9\tv",
		"Zm=v", "Z===", "====", "Zg=a", "Zm9v====", "Zm9-", "Zm9_",
		"Zm9.", "Zm8\x80", "Zh==", "Zm9=", "=Zm9",
	};
	uint8_t out[16];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ledger_b64_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out)), -1);
	/* An embedded NUL is not skipped. */
	assert_int_equal(ledger_b64_decode("Zm\0v", 4, out, sizeof(out)), -1);
	/* Output too small for the decoded length. */
	assert_int_equal(ledger_b64_decode("Zm9vYmFy", 8, out, 5), -1);
	/* Exactly the decoded length (less than EVP's padded output). */
	assert_int_equal(ledger_b64_decode("Zm9vYg==", 8, out, 4), 4);
	assert_memory_equal(out, "foob", 4);
}

static void
test_hex_round_trip_and_strict_parse(void **state)
{
	uint8_t in[4] = { 0x00, 0x9f, 0xa0, 0xff }, out[4];
	char hex[9];

	ledger_hex(in, 4, hex);
	assert_string_equal(hex, "009fa0ff");
	assert_int_equal(ledger_unhex(hex, out, 4), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(ledger_unhex("009FA0FF", out, 4), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(ledger_unhex("009fa0f", out, 4), -1);
	assert_int_equal(ledger_unhex("009fa0fff", out, 4), -1);
	assert_int_equal(ledger_unhex("009fa0fg", out, 4), -1);
	assert_int_equal(ledger_unhex("009fa0f ", out, 4), -1);
	assert_int_equal(ledger_unhex("+09fa0ff", out, 4), -1);
	assert_int_equal(ledger_unhex("", out, 0), 0);
}

/* ---- public keys ------------------------------------------------------- */

static char *
spki_b64(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	char *b64 = malloc(B64_MAX);
	int len = i2d_PUBKEY(k, &der);

	assert_non_null(b64);
	assert_true(len > 0);
	assert_int_equal(ledger_b64_encode(der, (size_t)len, b64, B64_MAX), 0);
	OPENSSL_free(der);
	return b64;
}

static void
test_pubkey_b64_round_trip_for_account_keys(void **state)
{
	const char *types[2] = { "ed25519", "ec-p256" };
	char out[B64_MAX], *b64;
	EVP_PKEY *k, *back;
	size_t i;

	for (i = 0; i < 2; i++) {
		k = ledger_key_generate(types[i]);
		assert_non_null(k);
		assert_int_equal(ledger_pubkey_to_b64(k, out, sizeof(out)), 0);
		b64 = spki_b64(k);
		assert_string_equal(out, b64);
		back = ledger_pubkey_from_b64(out);
		assert_non_null(back);
		assert_int_equal(EVP_PKEY_eq(back, k), 1);
		/* The public half only. */
		assert_int_equal(EVP_PKEY_get_raw_private_key(back, NULL,
		    &(size_t){ 0 }), 0);
		assert_int_equal(ledger_pubkey_to_b64(k, out, 10), -1);
		free(b64);
		EVP_PKEY_free(back);
		EVP_PKEY_free(k);
	}
}

static void
test_pubkey_from_b64_rejects_rsa_p384_and_other_encodings(void **state)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *p256 = ledger_key_generate("ec-p256");
	EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519"), *ok;
	unsigned char *der = NULL;
	char *b64, buf[B64_MAX];
	uint8_t raw[512];
	int len;

	assert_non_null(rsa);
	assert_non_null(p384);
	assert_non_null(p256);
	assert_non_null(x25519);
	b64 = spki_b64(rsa);
	assert_null(ledger_pubkey_from_b64(b64));
	free(b64);
	b64 = spki_b64(p384);
	assert_null(ledger_pubkey_from_b64(b64));
	free(b64);
	b64 = spki_b64(x25519);
	assert_null(ledger_pubkey_from_b64(b64));
	free(b64);

	/* Positive control, then the same key with one byte appended. */
	b64 = spki_b64(p256);
	ok = ledger_pubkey_from_b64(b64);
	assert_non_null(ok);
	EVP_PKEY_free(ok);
	len = ledger_b64_decode(b64, strlen(b64), raw, sizeof(raw));
	assert_true(len > 0);
	raw[len] = 0;
	assert_int_equal(ledger_b64_encode(raw, (size_t)len + 1, buf,
	    sizeof(buf)), 0);
	assert_null(ledger_pubkey_from_b64(buf));
	/* Truncated. */
	assert_int_equal(ledger_b64_encode(raw, (size_t)len - 1, buf,
	    sizeof(buf)), 0);
	assert_null(ledger_pubkey_from_b64(buf));
	free(b64);

	/* The same P-256 key with a compressed point: another DER, so another
	 * key id, for the same key.  Refused. */
	assert_int_equal(EVP_PKEY_set_utf8_string_param(p256,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED), 1);
	len = i2d_PUBKEY(p256, &der);
	assert_true(len > 0 && len < 91);
	assert_int_equal(ledger_b64_encode(der, (size_t)len, buf, sizeof(buf)),
	    0);
	assert_null(ledger_pubkey_from_b64(buf));
	OPENSSL_free(der);
	der = NULL;
	/* And with explicit curve parameters. */
	assert_int_equal(EVP_PKEY_set_utf8_string_param(p256,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED), 1);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(p256,
	    OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_EXPLICIT), 1);
	len = i2d_PUBKEY(p256, &der);
	assert_true(len > 91);
	assert_int_equal(ledger_b64_encode(der, (size_t)len, buf, sizeof(buf)),
	    0);
	assert_null(ledger_pubkey_from_b64(buf));
	OPENSSL_free(der);

	/* PeterNeumann's Ed25519 SPKI with its outer length in long form
	 * (0x81 0x2a): libcrypto parses that BER, but it is another key id
	 * for the same key.  The minimal DER is the positive control. */
	assert_null(ledger_pubkey_from_b64(
	    "MIEqMAUGAytlcAMhABpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
	ok = ledger_pubkey_from_b64(
	    "MCowBQYDK2VwAyEAGlzZBxQ8OExB6DDFvOEqqIF+xWSaqr8sMTiLNbLXRNY=");
	assert_non_null(ok);
	EVP_PKEY_free(ok);

	/* Not base64, empty, absurdly long. */
	assert_null(ledger_pubkey_from_b64(NULL));
	assert_null(ledger_pubkey_from_b64(""));
	assert_null(ledger_pubkey_from_b64("MCowBQYDK2VwAyEA!"));
	memset(buf, 'A', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_null(ledger_pubkey_from_b64(buf));

	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(x25519);
}

static void
test_key_id_is_sha256_of_the_spki_der(void **state)
{
	/* `openssl pkey -pubin -inform DER -pubout -outform DER | sha256sum`
	 * of PeterNeumann's Ed25519 key (golang.org/x/mod/sumdb/note). */
	static const char *peter_spki =
	    "MCowBQYDK2VwAyEAGlzZBxQ8OExB6DDFvOEqqIF+xWSaqr8sMTiLNbLXRNY=";
	uint8_t der[128], md[32];
	char id[LEDGER_KEYID_LEN + 1], want[LEDGER_KEYID_LEN + 1];
	unsigned char *d = NULL;
	EVP_PKEY *k;
	int len;

	len = ledger_b64_decode(peter_spki, strlen(peter_spki), der,
	    sizeof(der));
	assert_int_equal(len, 44);
	ledger_spki_key_id(der, (size_t)len, id);
	assert_string_equal(id,
	    "936e684eb42e417e979f9071c5fc7fb2a3e385fc559341d150f81f6d1244534c");
	k = ledger_pubkey_from_b64(peter_spki);
	assert_non_null(k);
	EVP_PKEY_free(k);

	/* A fresh P-256 key: compare with a separate EVP_Digest. */
	k = ledger_key_generate("ec-p256");
	assert_non_null(k);
	len = i2d_PUBKEY(k, &d);
	assert_int_equal(len, 91);
	assert_int_equal(EVP_Digest(d, (size_t)len, md, NULL, EVP_sha256(),
	    NULL), 1);
	ledger_hex(md, sizeof(md), want);
	ledger_spki_key_id(d, (size_t)len, id);
	assert_string_equal(id, want);
	assert_int_equal(strlen(id), LEDGER_KEYID_LEN);
	/* One bit of the SPKI: another id. */
	d[len - 1] ^= 1;
	ledger_spki_key_id(d, (size_t)len, id);
	assert_string_not_equal(id, want);
	OPENSSL_free(d);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_key_save_creates_0600_and_refuses_to_overwrite,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_key_save_does_not_follow_a_dangling_symlink,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_key_load_refuses_0644_file_and_says_chmod_600,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		 test_key_load_refuses_missing_garbage_dirs_and_encrypted_keys,
		    setup_dir, teardown_dir),
		cmocka_unit_test(
		    test_key_generate_makes_the_two_account_key_types),
		cmocka_unit_test(test_key_vkey_is_the_go_note_verifier_key),
		cmocka_unit_test(test_b64_matches_rfc4648_vectors),
		cmocka_unit_test(test_b64_strict_decode_rejects_garbage),
		cmocka_unit_test(test_hex_round_trip_and_strict_parse),
		cmocka_unit_test(test_pubkey_b64_round_trip_for_account_keys),
		cmocka_unit_test(
		    test_pubkey_from_b64_rejects_rsa_p384_and_other_encodings),
		cmocka_unit_test(test_key_id_is_sha256_of_the_spki_der),
	};

	return cmocka_run_group_tests_name("ledger/crypto", tests, NULL, NULL);
}
