/*
 * test_note.c: ledger/note.c against the known answers of
 * golang.org/x/mod/sumdb/note (note_test.go), a real sum.golang.org
 * checkpoint with witness cosignatures (transparency-dev/formats
 * log/note_test.go), our own round trips, and hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "ledger/ledger_int.h"

#define LINE_MAX_LEN 256
#define FUZZ_ROUNDS 20000

/* golang.org/x/mod/sumdb/note note_test.go */
static const char *peter_vkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/* The key part of its PRIVATE+KEY+PeterNeumann+c74f20a3+... signer key:
 * base64(0x01 || Ed25519 seed). */
static const char *peter_skey_b64 =
    "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char *enoch_vkey =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
static const char *go_text =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
static const char *peter_sig =
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZIn"
    "NIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char *enoch_sig =
    "\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2t"
    "iOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/* transparency-dev/formats log/note_test.go: a sum.golang.org checkpoint
 * and three cosignatures over the same text. */
static const char *sumdb_vkey =
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
static const char *sumdb_note =
    "go.sum database tree\n"
    "6476701\n"
    "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n"
    "\n"
    "\xe2\x80\x94 sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9"
    "LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n";
static const char *witness_vkeys[3] = {
	"monkeys+db4d9f7e+AULaJMvTtDLHPUcUrjdDad9vDlh/PTfC2VV60JUtCfWT",
	"bananas+cf639f13+AaPjhFnPCQnid/Ql32KWhmh+uk72FVRfK+2DLmO3BI3M",
	"witness+f13a86db+AdYV1Ztajd9BvyjP2HgpwrqYL6TjOwIjGMOq8Bu42xbN",
};
static const char *witness_sigs[3] = {
	"\xe2\x80\x94 monkeys 202ffh9ve46Mqbhuyb4wnC2Pwdan5EsXQym/tF1ggXJqhjGos"
	"U4T5intH4iKMRgDLxrnXuIjRaU2NbvAnaepM6Y+8ww=\n",
	"\xe2\x80\x94 bananas z2OfE+2bbsBZ7NLgfuslc0v7NFW2QyexJ7fhePpoL2N/P7N/C"
	"Od5S+JNHbQEAlYzz2C5sg0E+x/MggS1mDR6t3/9rQw=\n",
	"\xe2\x80\x94 witness 8TqG25yWGFLdT7WPf/WoyeG3LwqtkXP+8S3yykOVm6EMh4hPg"
	"Cke6eSVPU4BdtXNMPJBXKF+UpDbGgCdcpR8SVSoqAU=\n",
};

/* Concatenates up to 4 strings (NULL ends early) into a new buffer. */
static char *
cat(const char *a, const char *b, const char *c, const char *d)
{
	const char *parts[4] = { a, b, c, d };
	size_t len = 0, i;
	char *s;

	for (i = 0; i < 4; i++)
		if (parts[i] != NULL)
			len += strlen(parts[i]);
	s = malloc(len + 1);
	assert_non_null(s);
	s[0] = '\0';
	for (i = 0; i < 4; i++)
		if (parts[i] != NULL)
			strcat(s, parts[i]);
	return s;
}

static int
verify_str(const char *note, const char *vkey)
{
	return ledger_note_verify_vkey(note, strlen(note), vkey);
}

static EVP_PKEY *
peter_private_key(void)
{
	uint8_t raw[33];
	EVP_PKEY *key;

	assert_int_equal(ledger_b64_decode(peter_skey_b64,
	    strlen(peter_skey_b64), raw, sizeof(raw)), 33);
	assert_int_equal(raw[0], LEDGER_NOTE_ALG_ED25519);
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 1, 32);
	assert_non_null(key);
	return key;
}

/* ---- known answers ----------------------------------------------------- */

static void
test_go_sumdb_note_vector_verifies(void **state)
{
	char *note = cat(go_text, "\n", peter_sig, NULL);

	assert_int_equal(verify_str(note, peter_vkey), 0);
	/* One byte of the text changed. */
	note[3] = 'Y';
	assert_int_equal(verify_str(note, peter_vkey), -1);
	note[3] = 'y';
	assert_int_equal(verify_str(note, peter_vkey), 0);
	/* The last byte of the text (the signed newline) dropped. */
	free(note);
	note = cat("If you think cryptography is the answer to your problem,\n"
	    "then you don't know what your problem is.", "\n", peter_sig, NULL);
	assert_int_equal(verify_str(note, peter_vkey), -1);
	free(note);
}

static void
test_go_signer_reproduces_the_exact_signature_line(void **state)
{
	EVP_PKEY *key = peter_private_key();
	char line[LINE_MAX_LEN], vkey[LINE_MAX_LEN];
	uint8_t kh[4];

	/* Ed25519 is deterministic: same key, same text, same line. */
	assert_int_equal(ledger_note_sign_line(go_text, strlen(go_text),
	    "PeterNeumann", key, line, sizeof(line)), 0);
	assert_string_equal(line, peter_sig);
	assert_int_equal(ledger_note_vkey_format(key, "PeterNeumann", vkey,
	    sizeof(vkey)), 0);
	assert_string_equal(vkey, peter_vkey);
	assert_int_equal(ledger_key_vkey(key, "PeterNeumann", vkey,
	    sizeof(vkey)), 0);
	assert_string_equal(vkey, peter_vkey);
	assert_int_equal(ledger_note_key_hash("PeterNeumann", key, kh), 0);
	assert_memory_equal(kh, "\xc7\x4f\x20\xa3", 4);
	/* A line that does not fit is refused, not truncated. */
	assert_int_equal(ledger_note_sign_line(go_text, strlen(go_text),
	    "PeterNeumann", key, line, 40), -1);
	/* Text that is not a note text is not signed. */
	assert_int_equal(ledger_note_sign_line("abc", 3, "PeterNeumann", key,
	    line, sizeof(line)), -1);
	assert_int_equal(ledger_note_sign_line(go_text, strlen(go_text),
	    "Peter Neumann", key, line, sizeof(line)), -1);
	assert_int_equal(ledger_note_sign_line(go_text, strlen(go_text),
	    "a+b", key, line, sizeof(line)), -1);
	EVP_PKEY_free(key);
}

static void
test_unknown_signers_are_ignored_and_each_key_finds_its_line(void **state)
{
	char *note = cat(go_text, "\n", peter_sig, enoch_sig);
	char *wrong_hash, *p;
	size_t body_len, nsigs;
	struct ledger_note_sig sigs[LEDGER_MAX_SIGS];

	assert_int_equal(verify_str(note, peter_vkey), 0);
	assert_int_equal(verify_str(note, enoch_vkey), 0);
	assert_int_equal(ledger_note_split(note, strlen(note), &body_len, sigs,
	    LEDGER_MAX_SIGS, &nsigs, NULL, 0), 0);
	assert_int_equal(body_len, strlen(go_text));
	assert_int_equal(nsigs, 2);
	assert_string_equal(sigs[0].name, "PeterNeumann");
	assert_memory_equal(sigs[0].key_hash, "\xc7\x4f\x20\xa3", 4);
	assert_int_equal(sigs[0].siglen, 64);
	assert_string_equal(sigs[1].name, "EnochRoot");
	assert_memory_equal(sigs[1].key_hash, "\xaf\x0c\xfe\x78", 4);
	free(note);

	/* Only Enoch signed: Peter's key finds nothing. */
	note = cat(go_text, "\n", enoch_sig, NULL);
	assert_int_equal(verify_str(note, peter_vkey), -1);
	free(note);

	/* The right name with another key hash is someone else's line. */
	wrong_hash = cat(go_text, "\n", peter_sig, NULL);
	p = strstr(wrong_hash, "x08g");
	assert_non_null(p);
	memcpy(p, "xxxx", 4);
	assert_int_equal(verify_str(wrong_hash, peter_vkey), -1);
	free(wrong_hash);
}

static void
test_bad_signature_by_the_known_key_rejects_the_note(void **state)
{
	char line[LINE_MAX_LEN], *note;
	size_t at = 60;

	/* note_test.go: "ABCD" inserted at byte 60 of Peter's line. */
	memcpy(line, peter_sig, at);
	memcpy(line + at, "ABCD", 4);
	strcpy(line + at + 4, peter_sig + at);
	note = cat(go_text, "\n", line, NULL);
	assert_int_equal(verify_str(note, peter_vkey), -1);
	free(note);
	/* A good and a bad line by the same key: signed-note says reject. */
	note = cat(go_text, "\n", peter_sig, line);
	assert_int_equal(verify_str(note, peter_vkey), -1);
	free(note);
}

static void
test_sumdb_checkpoint_verifies_and_parses(void **state)
{
	char origin[LEDGER_NAME_MAX + 1];
	uint8_t root[LEDGER_HASH_LEN], want[LEDGER_HASH_LEN];
	uint64_t size = 0;
	time_t t = 1;
	char *note;

	assert_int_equal(verify_str(sumdb_note, sumdb_vkey), 0);
	assert_int_equal(ledger_checkpoint_parse(sumdb_note,
	    strlen(sumdb_note), origin, sizeof(origin), &size, root, &t), 0);
	assert_string_equal(origin, "go.sum database tree");
	assert_int_equal(size, 6476701);
	assert_int_equal(ledger_b64_decode(
	    "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=", 44, want,
	    sizeof(want)), LEDGER_HASH_LEN);
	assert_memory_equal(root, want, LEDGER_HASH_LEN);
	assert_int_equal(t, 0);
	/* The tree size changed by one digit. */
	note = strdup(sumdb_note);
	assert_non_null(note);
	note[strlen("go.sum database tree\n") + 6] = '2';
	assert_int_equal(verify_str(note, sumdb_vkey), -1);
	free(note);
}

static void
test_multi_signature_checkpoint_verifies_for_every_signer(void **state)
{
	char *note, *tmp;
	struct ledger_note_sig sigs[LEDGER_MAX_SIGS];
	size_t body_len, nsigs, i;

	tmp = cat(sumdb_note, witness_sigs[0], witness_sigs[1],
	    witness_sigs[2]);
	note = tmp;
	assert_int_equal(ledger_note_split(note, strlen(note), &body_len, sigs,
	    LEDGER_MAX_SIGS, &nsigs, NULL, 0), 0);
	assert_int_equal(nsigs, 4);
	assert_int_equal(verify_str(note, sumdb_vkey), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(verify_str(note, witness_vkeys[i]), 0);
	/* Cosignatures cover the text only, so a tampered text fails for
	 * all four signers. */
	note[0] = 'G';
	assert_int_equal(verify_str(note, sumdb_vkey), -1);
	for (i = 0; i < 3; i++)
		assert_int_equal(verify_str(note, witness_vkeys[i]), -1);
	free(tmp);
}

static void
test_go_vkey_manglings_are_all_rejected(void **state)
{
	char name[LEDGER_NAME_MAX + 1], buf[LINE_MAX_LEN];
	size_t len = strlen(peter_vkey), i, j;
	EVP_PKEY *k;

	k = ledger_note_vkey_parse(peter_vkey, name, sizeof(name));
	assert_non_null(k);
	assert_string_equal(name, "PeterNeumann");
	EVP_PKEY_free(k);
	/* Every proper substring. */
	for (i = 0; i <= len; i++) {
		for (j = i + 1; j <= len; j++) {
			if (i == 0 && j == len)
				continue;
			memcpy(buf, peter_vkey + i, j - i);
			buf[j - i] = '\0';
			assert_null(ledger_note_vkey_parse(buf, NULL, 0));
		}
	}
	/* Every single-byte increment. */
	for (i = 0; i < len; i++) {
		strcpy(buf, peter_vkey);
		buf[i]++;
		assert_null(ledger_note_vkey_parse(buf, NULL, 0));
	}
	/* Wrong key length and unknown algorithm, hashes adjusted (Go). */
	assert_null(ledger_note_vkey_parse("PeterNeumann+cc469956+ARpc2QcUPDhMQ"
	    "egwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", NULL, 0));
	assert_null(ledger_note_vkey_parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQ"
	    "egwxbzhKqiBfsVkmqq/LDE4izWy10TW", NULL, 0));
	/* A name buffer too small is an error, not a truncation. */
	assert_null(ledger_note_vkey_parse(peter_vkey, name, 12));
	assert_null(ledger_note_vkey_parse(NULL, NULL, 0));
}

/* ---- round trips ------------------------------------------------------- */

static void
sign_and_verify(const char *type)
{
	EVP_PKEY *key = ledger_key_generate(type), *pub;
	char line[LINE_MAX_LEN], vkey[LINE_MAX_LEN], name[LEDGER_NAME_MAX + 1];
	char *note;
	uint8_t kh[4];
	struct ledger_note_sig sig;
	size_t body_len, nsigs;
	const char *body = "keybridge-entry v1\ntype key-revoke\n";

	assert_non_null(key);
	assert_int_equal(ledger_note_sign_line(body, strlen(body),
	    "example.com/admin", key, line, sizeof(line)), 0);
	assert_int_equal(ledger_note_vkey_format(key, "example.com/admin",
	    vkey, sizeof(vkey)), 0);
	note = cat(body, "\n", line, NULL);
	assert_int_equal(verify_str(note, vkey), 0);

	/* The parsed vkey is the same public key, with the same hash. */
	pub = ledger_note_vkey_parse(vkey, name, sizeof(name));
	assert_non_null(pub);
	assert_string_equal(name, "example.com/admin");
	assert_int_equal(EVP_PKEY_eq(pub, key), 1);
	assert_int_equal(ledger_note_split(note, strlen(note), &body_len, &sig,
	    1, &nsigs, NULL, 0), 0);
	assert_int_equal(ledger_note_key_hash(name, pub, kh), 0);
	assert_memory_equal(kh, sig.key_hash, 4);
	assert_int_equal(ledger_note_verify_sig(note, body_len, &sig, pub), 0);
	/* Negative controls: text, signature, key hash, name. */
	assert_int_equal(ledger_note_verify_sig("keybridge-entry v1\n", 19,
	    &sig, pub), -1);
	sig.sig[sig.siglen / 2] ^= 1;
	assert_int_equal(ledger_note_verify_sig(note, body_len, &sig, pub), -1);
	sig.sig[sig.siglen / 2] ^= 1;
	sig.key_hash[0] ^= 1;
	assert_int_equal(ledger_note_verify_sig(note, body_len, &sig, pub), -1);
	sig.key_hash[0] ^= 1;
	strcpy(sig.name, "example.com/other");
	assert_int_equal(ledger_note_verify_sig(note, body_len, &sig, pub), -1);
	note[5] ^= 0x20;
	assert_int_equal(verify_str(note, vkey), -1);
	free(note);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
}

/* The algorithm byte of a vkey: the first byte of its base64 part. */
static int
vkey_alg(const char *vkey)
{
	const char *b64 = strchr(strchr(vkey, '+') + 1, '+') + 1;
	uint8_t raw[LINE_MAX_LEN];

	assert_true(ledger_b64_decode(b64, strlen(b64), raw, sizeof(raw)) > 1);
	return raw[0];
}

static void
test_ed25519_sign_verify_round_trip(void **state)
{
	sign_and_verify("ed25519");
}

static void
test_ecdsa_p256_sign_verify_round_trip(void **state)
{
	EVP_PKEY *ed = ledger_key_generate("ed25519");
	EVP_PKEY *ec = ledger_key_generate("ec-p256");
	char vkey[LINE_MAX_LEN], vkey2[LINE_MAX_LEN];

	sign_and_verify("ec-p256");
	/* The algorithm byte keeps the two kinds of vkey apart. */
	assert_int_equal(ledger_note_vkey_format(ec, "n", vkey, sizeof(vkey)),
	    0);
	assert_int_equal(ledger_note_vkey_format(ed, "n", vkey2,
	    sizeof(vkey2)), 0);
	assert_int_equal(vkey_alg(vkey), LEDGER_NOTE_ALG_ECDSA);
	assert_int_equal(vkey_alg(vkey2), LEDGER_NOTE_ALG_ED25519);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ec);
}

static void
test_three_signers_on_one_note_all_verify(void **state)
{
	const char *types[3] = { "ed25519", "ec-p256", "ed25519" };
	const char *names[3] = { "alice", "bob", "carol" };
	const char *body = "keybridge-entry v1\naccount root\n";
	char lines[3][LINE_MAX_LEN], vkeys[3][LINE_MAX_LEN], *note;
	EVP_PKEY *keys[3];
	size_t i;

	for (i = 0; i < 3; i++) {
		keys[i] = ledger_key_generate(types[i]);
		assert_non_null(keys[i]);
		assert_int_equal(ledger_note_sign_line(body, strlen(body),
		    names[i], keys[i], lines[i], sizeof(lines[i])), 0);
		assert_int_equal(ledger_note_vkey_format(keys[i], names[i],
		    vkeys[i], sizeof(vkeys[i])), 0);
	}
	note = malloc(strlen(body) + 1 + 3 * LINE_MAX_LEN);
	assert_non_null(note);
	sprintf(note, "%s\n%s%s%s", body, lines[0], lines[1], lines[2]);
	for (i = 0; i < 3; i++)
		assert_int_equal(verify_str(note, vkeys[i]), 0);
	/* Carol's key under Alice's name: no line matches. */
	vkeys[2][0] = 'x';
	assert_int_equal(verify_str(note, vkeys[2]), -1);
	free(note);
	for (i = 0; i < 3; i++)
		EVP_PKEY_free(keys[i]);
}

/* ---- malformed and hostile notes --------------------------------------- */

static void
expect_malformed(const char *note, size_t len)
{
	struct ledger_note_sig sigs[LEDGER_MAX_SIGS];
	size_t body_len = 12345, nsigs = 12345;
	char why[128] = "";

	assert_int_equal(ledger_note_split(note, len, &body_len, sigs,
	    LEDGER_MAX_SIGS, &nsigs, why, sizeof(why)), -1);
	assert_true(why[0] != '\0');
	assert_int_equal(ledger_note_verify_vkey(note, len, peter_vkey), -1);
}

static void
test_malformed_notes_are_rejected(void **state)
{
	char *s;
	size_t i;
	const char *bad_lines[] = {
		/* Go note_test.go badMsgs, and more. */
		"\xe2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcE"
		"lZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
		"Unexpected line.\n",
		"- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIu"
		"GUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
		"\xe2\x80\x94 PeterNeumann\n",
		"\xe2\x80\x94  x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUg"
		"YN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
		"\xe2\x80\x94 Peter+Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAc"
		"ElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
		"\xe2\x80\x94 Peter\xc2\xa0Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFu"
		"pLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
		"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAc"
		"ElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM= \n",
		"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAc"
		"ElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
		"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAc"
		"ElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnA*=\n",
		"\xe2\x80\x94 PeterNeumann x08g\n",		/* 3 bytes */
		"\xe2\x80\x94 PeterNeumann x08gAA==\n",		/* 4 bytes */
	};

	/* No blank line; blank line but no signature. */
	expect_malformed(go_text, strlen(go_text));
	s = cat(go_text, "\n", NULL, NULL);
	expect_malformed(s, strlen(s));
	free(s);
	/* No final newline. */
	s = cat(go_text, "\n", peter_sig, NULL);
	expect_malformed(s, strlen(s) - 1);
	free(s);
	/* Control characters, invalid UTF-8, a NUL inside. */
	s = cat("\x01", go_text, "\n", peter_sig);
	expect_malformed(s, strlen(s));
	s[0] = '\xff';
	expect_malformed(s, strlen(s));
	s[0] = '\t';
	expect_malformed(s, strlen(s));
	s[0] = '\r';
	expect_malformed(s, strlen(s));
	s[0] = '\0';
	expect_malformed(s, strlen(s + 1) + 1);
	free(s);
	s = cat("\xed\xa0\x80 surrogate\n", "\n", peter_sig, NULL);
	expect_malformed(s, strlen(s));
	free(s);
	s = cat("\xc0\xaf overlong\n", "\n", peter_sig, NULL);
	expect_malformed(s, strlen(s));
	free(s);
	s = cat("\xf4\x90\x80\x80 past U+10FFFF\n", "\n", peter_sig, NULL);
	expect_malformed(s, strlen(s));
	free(s);
	s = cat("truncated \xe2\x80\n", "\n", peter_sig, NULL);
	expect_malformed(s, strlen(s));
	free(s);
	/* Bad signature lines after a good one. */
	for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		s = cat(go_text, "\n", peter_sig, bad_lines[i]);
		expect_malformed(s, strlen(s));
		free(s);
	}
	/* Signature longer than any we know. */
	s = malloc(strlen(go_text) + 400);
	assert_non_null(s);
	strcpy(s, go_text);
	strcat(s, "\n\xe2\x80\x94 PeterNeumann ");
	for (i = 0; i < 30; i++)
		strcat(s, "AAAA");
	strcat(s, "\n");
	expect_malformed(s, strlen(s));
	free(s);
	expect_malformed("", 0);
	expect_malformed("\n", 1);
	expect_malformed("\n\n", 2);
}

static void
test_signature_count_is_bounded(void **state)
{
	struct ledger_note_sig sigs[LEDGER_MAX_SIGS + 1];
	size_t body_len, nsigs, i, len;
	char *note, why[128];

	len = strlen(go_text) + 1 + (LEDGER_MAX_SIGS + 1) * strlen(peter_sig);
	note = malloc(len + 1);
	assert_non_null(note);
	strcpy(note, go_text);
	strcat(note, "\n");
	for (i = 0; i < LEDGER_MAX_SIGS; i++)
		strcat(note, peter_sig);
	/* 16 (signed-note's minimum to accept) are fine... */
	assert_int_equal(ledger_note_split(note, strlen(note), &body_len, sigs,
	    LEDGER_MAX_SIGS, &nsigs, why, sizeof(why)), 0);
	assert_int_equal(nsigs, LEDGER_MAX_SIGS);
	assert_int_equal(verify_str(note, peter_vkey), 0);
	/* ...one more is refused, and maxsigs is never overrun. */
	strcat(note, peter_sig);
	assert_int_equal(ledger_note_split(note, strlen(note), &body_len, sigs,
	    LEDGER_MAX_SIGS, &nsigs, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "signatures"));
	assert_int_equal(verify_str(note, peter_vkey), -1);
	assert_int_equal(ledger_note_split(note, strlen(note), &body_len, sigs,
	    2, &nsigs, why, sizeof(why)), -1);
	assert_int_equal(ledger_note_split(note, strlen(note), &body_len, NULL,
	    0, &nsigs, why, sizeof(why)), -1);
	free(note);
}

static void
test_huge_note_is_rejected_before_parsing(void **state)
{
	size_t len = 8 * 1024 * 1024, i;
	char *note = malloc(len), why[128];
	struct ledger_note_sig sigs[LEDGER_MAX_SIGS];
	size_t body_len, nsigs;

	assert_non_null(note);
	for (i = 0; i < len; i++)
		note[i] = (i % 64 == 63) ? '\n' : 'a';
	memcpy(note + len - strlen(peter_sig) - 1, "\n", 1);
	memcpy(note + len - strlen(peter_sig), peter_sig, strlen(peter_sig));
	assert_int_equal(ledger_note_split(note, len, &body_len, sigs,
	    LEDGER_MAX_SIGS, &nsigs, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer"));
	assert_int_equal(ledger_note_verify_vkey(note, len, peter_vkey), -1);
	free(note);
}

/* xorshift64: a fixed sequence, so a failure can be replayed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_mutated_notes_never_crash_nor_verify(void **state)
{
	char *orig = cat(go_text, "\n", peter_sig, enoch_sig);
	size_t olen = strlen(orig), len, i, body_len, nsigs;
	size_t plen = strlen(go_text) + 1 + strlen(peter_sig);
	char buf[1024], origin[LEDGER_NAME_MAX + 1];
	struct ledger_note_sig sigs[LEDGER_MAX_SIGS];
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t seed = 0x9e3779b97f4a7c15ULL, size, r;
	time_t t;
	int round, k;

	for (round = 0; round < FUZZ_ROUNDS; round++) {
		memcpy(buf, orig, olen);
		len = olen;
		for (k = 0; k < 1 + (int)(rnd(&seed) % 3); k++) {
			r = rnd(&seed);
			i = (size_t)(r >> 8) % len;
			switch (r % 4) {
			case 0:		/* flip a bit */
				buf[i] ^= (char)(1 << (r >> 40) % 8);
				break;
			case 1:		/* truncate */
				len = i + 1;
				break;
			case 2:		/* delete a byte */
				memmove(buf + i, buf + i + 1, len - i - 1);
				len--;
				break;
			default:	/* insert a byte */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + i + 1, buf + i, len - i);
					buf[i] = "\n\xe2 +=A\x80\x94"[(r >> 32) % 8];
					len++;
				}
				break;
			}
			if (len == 0)
				len = 1;
		}
		(void)ledger_note_split(buf, len, &body_len, sigs,
		    LEDGER_MAX_SIGS, &nsigs, NULL, 0);
		(void)ledger_checkpoint_parse(buf, len, origin, sizeof(origin),
		    &size, root, &t);
		/* Mutations confined to Enoch's line may keep Peter's
		 * signature valid; anything else must not verify. */
		if (ledger_note_verify_vkey(buf, len, peter_vkey) == 0) {
			assert_true(len >= plen);
			assert_memory_equal(buf, orig, plen);
		}
	}
	free(orig);
}

/* ---- checkpoints ------------------------------------------------------- */

static void
test_checkpoint_body_is_exact_and_parses_back(void **state)
{
	uint8_t root[LEDGER_HASH_LEN], back[LEDGER_HASH_LEN];
	char body[256], origin[LEDGER_NAME_MAX + 1];
	uint64_t size;
	time_t t;
	size_t i;

	for (i = 0; i < sizeof(root); i++)
		root[i] = (uint8_t)i;
	assert_int_equal(ledger_checkpoint_body("keybridge/ledger", 42, root,
	    1700000000, body, sizeof(body)), 0);
	assert_string_equal(body, "keybridge/ledger\n42\n"
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\ntime 1700000000\n");
	assert_int_equal(ledger_checkpoint_parse(body, strlen(body), origin,
	    sizeof(origin), &size, back, &t), 0);
	assert_string_equal(origin, "keybridge/ledger");
	assert_int_equal(size, 42);
	assert_memory_equal(back, root, sizeof(root));
	assert_int_equal(t, 1700000000);
	/* Refusals: no room, bad origin, negative time. */
	assert_int_equal(ledger_checkpoint_body("keybridge/ledger", 42, root,
	    1, body, 40), -1);
	assert_int_equal(ledger_checkpoint_body("", 42, root, 1, body,
	    sizeof(body)), -1);
	assert_int_equal(ledger_checkpoint_body("a\nb", 42, root, 1, body,
	    sizeof(body)), -1);
	assert_int_equal(ledger_checkpoint_body("a\tb", 42, root, 1, body,
	    sizeof(body)), -1);
	assert_int_equal(ledger_checkpoint_body("o", 42, root, -1, body,
	    sizeof(body)), -1);
}

static void
test_signed_checkpoint_round_trip_for_both_key_types(void **state)
{
	const char *types[2] = { "ed25519", "ec-p256" };
	uint8_t root[LEDGER_HASH_LEN] = { 1, 2, 3 }, back[LEDGER_HASH_LEN];
	char body[256], line[LINE_MAX_LEN], vkey[LINE_MAX_LEN], *note;
	char origin[LEDGER_NAME_MAX + 1];
	uint64_t size;
	time_t t;
	size_t i;

	for (i = 0; i < 2; i++) {
		EVP_PKEY *key = ledger_key_generate(types[i]);

		assert_non_null(key);
		assert_int_equal(ledger_checkpoint_body("example.com/kb",
		    UINT64_MAX, root, 0, body, sizeof(body)), 0);
		assert_int_equal(ledger_note_sign_line(body, strlen(body),
		    "example.com/kb", key, line, sizeof(line)), 0);
		assert_int_equal(ledger_key_vkey(key, "example.com/kb", vkey,
		    sizeof(vkey)), 0);
		note = cat(body, "\n", line, NULL);
		assert_int_equal(verify_str(note, vkey), 0);
		assert_int_equal(ledger_checkpoint_parse(note, strlen(note),
		    origin, sizeof(origin), &size, back, &t), 0);
		assert_int_equal(size, UINT64_MAX);
		assert_memory_equal(back, root, sizeof(root));
		assert_int_equal(t, 0);
		free(note);
		EVP_PKEY_free(key);
	}
}

static void
expect_bad_checkpoint(const char *text)
{
	char origin[LEDGER_NAME_MAX + 1] = "unchanged";
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t size = 7;
	time_t t = 7;

	assert_int_equal(ledger_checkpoint_parse(text, strlen(text), origin,
	    sizeof(origin), &size, root, &t), -1);
	assert_string_equal(origin, "unchanged");
	assert_int_equal(size, 7);
	assert_int_equal(t, 7);
}

#define ROOT64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static void
test_checkpoint_parse_ignores_extensions_and_rejects_bad_fields(void **state)
{
	const char *ok = "o\n0\n" ROOT64 "\nfoo bar\ntime 5\nbaz\n\n"
	    "\xe2\x80\x94 x AAAAAAAA\n";
	char origin[LEDGER_NAME_MAX + 1];
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t size = 7;
	time_t t;

	assert_int_equal(ledger_checkpoint_parse(ok, strlen(ok), origin,
	    sizeof(origin), &size, root, &t), 0);
	assert_string_equal(origin, "o");
	assert_int_equal(size, 0);
	assert_int_equal(t, 5);
	/* An origin longer than the caller's buffer. */
	assert_int_equal(ledger_checkpoint_parse(ok, strlen(ok), origin, 1,
	    &size, root, &t), -1);

	expect_bad_checkpoint("");
	expect_bad_checkpoint("o\n1\n" ROOT64);			/* no newline */
	expect_bad_checkpoint("\n1\n" ROOT64 "\n");		/* no origin */
	expect_bad_checkpoint("o\n01\n" ROOT64 "\n");		/* leading 0 */
	expect_bad_checkpoint("o\n-1\n" ROOT64 "\n");
	expect_bad_checkpoint("o\n+1\n" ROOT64 "\n");
	expect_bad_checkpoint("o\n 1\n" ROOT64 "\n");
	expect_bad_checkpoint("o\n\n" ROOT64 "\n");
	expect_bad_checkpoint("o\n18446744073709551616\n" ROOT64 "\n");
	expect_bad_checkpoint("o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n");
	expect_bad_checkpoint("o\n1\n" ROOT64 "AAAA\n");
	expect_bad_checkpoint("o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n");
	expect_bad_checkpoint("o\n1\n" ROOT64 "\ntime x\n");
	expect_bad_checkpoint("o\n1\n" ROOT64 "\ntime 1\ntime 1\n");
	expect_bad_checkpoint("o\n1\n" ROOT64 "\ntime 9223372036854775808\n");
	expect_bad_checkpoint("o\x01\n1\n" ROOT64 "\n");
	expect_bad_checkpoint("o\n1\n" ROOT64 "\next\x7f\x01\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_sumdb_note_vector_verifies),
		cmocka_unit_test(
		    test_go_signer_reproduces_the_exact_signature_line),
		cmocka_unit_test(
		 test_unknown_signers_are_ignored_and_each_key_finds_its_line),
		cmocka_unit_test(
		    test_bad_signature_by_the_known_key_rejects_the_note),
		cmocka_unit_test(test_sumdb_checkpoint_verifies_and_parses),
		cmocka_unit_test(
		    test_multi_signature_checkpoint_verifies_for_every_signer),
		cmocka_unit_test(test_go_vkey_manglings_are_all_rejected),
		cmocka_unit_test(test_ed25519_sign_verify_round_trip),
		cmocka_unit_test(test_ecdsa_p256_sign_verify_round_trip),
		cmocka_unit_test(test_three_signers_on_one_note_all_verify),
		cmocka_unit_test(test_malformed_notes_are_rejected),
		cmocka_unit_test(test_signature_count_is_bounded),
		cmocka_unit_test(test_huge_note_is_rejected_before_parsing),
		cmocka_unit_test(test_mutated_notes_never_crash_nor_verify),
		cmocka_unit_test(test_checkpoint_body_is_exact_and_parses_back),
		cmocka_unit_test(
		    test_signed_checkpoint_round_trip_for_both_key_types),
		cmocka_unit_test(
	    test_checkpoint_parse_ignores_extensions_and_rejects_bad_fields),
	};

	return cmocka_run_group_tests_name("ledger/note", tests, NULL, NULL);
}
