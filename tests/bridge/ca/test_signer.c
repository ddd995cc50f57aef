/*
 * test_signer.c: bridge/signer.c, the issuing CA key and the bridge
 * account's ledger key behind the signer interface, over a data directory
 * made the way `keybridge init` makes it (config_write + pki_init + an
 * Ed25519 bridge.key).
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"
#include "ledger/ledger_int.h"

#define ERRLEN		512
#define DAY		(24L * 60 * 60)
#define KEY_MODE	0600
#define LOOSE_MODE	0644
#define ISSUER_ID_LEN	40	/* SHA-1 SKI of pki_init, in hex */

/* One initialised data directory (EC or RSA chain). */
struct dir {
	char path[PATH_MAX];
	struct bridge_config cfg;
};

struct fixture {
	struct dir ec, rsa;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* A data directory as init leaves it: keybridge.conf with the defaults,
 * the CA chain of key_type, and the bridge account's Ed25519 key. */
static int
dir_init(struct dir *d, const char *key_type)
{
	struct pki_init_opts o = { .name = "keybridge",
	    .key_type = key_type };
	char err[ERRLEN] = "", path[PATH_MAX];
	EVP_PKEY *k;
	int rc;

	snprintf(d->path, sizeof(d->path), "/tmp/kb-test-signer-XXXXXX");
	if (mkdtemp(d->path) == NULL)
		return -1;
	config_defaults(&d->cfg, d->path);
	if (config_write(&d->cfg, config_path(&d->cfg, CONFIG_FILE, path,
	    sizeof(path))) != 0 ||
	    config_load(&d->cfg, d->path, err, sizeof(err)) != 0 ||
	    pki_init(&d->cfg, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "init %s: %s\n", d->path, err);
		return -1;
	}
	if ((k = ledger_key_generate("ed25519")) == NULL)
		return -1;
	rc = ledger_key_save(k, config_path(&d->cfg, d->cfg.bridge_key, path,
	    sizeof(path)));
	EVP_PKEY_free(k);
	/* The node's checkpoint key: the key process loads it too. */
	if (rc != 0 || (k = ledger_key_generate("ed25519")) == NULL)
		return -1;
	rc = ledger_key_save(k, config_path(&d->cfg, d->cfg.validator_key,
	    path, sizeof(path)));
	EVP_PKEY_free(k);
	return rc;
}

static void
dir_free(struct dir *d)
{
	if (d->path[0] != '\0')
		nftw(d->path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	log_verbosity = LOGL_ERR;
	*state = f;
	if (f == NULL || dir_init(&f->ec, NULL) != 0 ||
	    dir_init(&f->rsa, "rsa-3072") != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	if (f != NULL) {
		dir_free(&f->ec);
		dir_free(&f->rsa);
	}
	free(f);
	return 0;
}

static X509 *
load_cert(const struct bridge_config *c, const char *rel)
{
	char path[PATH_MAX];
	X509 *x;
	FILE *fp;

	fp = fopen(config_path(c, rel, path, sizeof(path)), "r");
	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *
load_key(const struct bridge_config *c, const char *rel)
{
	char path[PATH_MAX], err[ERRLEN];
	EVP_PKEY *k;

	k = ledger_key_load(config_path(c, rel, path, sizeof(path)), err,
	    sizeof(err));
	if (k == NULL)
		fail_msg("%s", err);
	return k;
}

static struct signer *
open_ok(const struct bridge_config *c)
{
	char err[ERRLEN] = "";
	struct signer *s = signer_open(c, err, sizeof(err));

	if (s == NULL)
		fail_msg("signer_open: %s", err);
	return s;
}

static void
test_issuer_id_is_the_hex_ski(void **state)
{
	struct fixture *f = *state;
	struct signer *s = open_ok(&f->ec.cfg);
	X509 *iss = load_cert(&f->ec.cfg, f->ec.cfg.ca_issuing);
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(iss);
	char want[2 * ISSUER_ID_LEN + 1];
	const char *id = signer_issuer_id(s);

	assert_non_null(ski);
	assert_int_equal(ASN1_STRING_length(ski) * 2, ISSUER_ID_LEN);
	ledger_hex(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski),
	    want);
	assert_string_equal(id, want);
	assert_int_equal(strlen(id), ISSUER_ID_LEN);
	assert_int_equal(strspn(id, "0123456789abcdef"), ISSUER_ID_LEN);
	assert_int_equal(X509_cmp(signer_issuer(s), iss), 0);
	X509_free(iss);
	signer_free(s);
}

static void
test_signs_entries_as_the_bridge_account(void **state)
{
	struct fixture *f = *state;
	const struct bridge_config *c = &f->ec.cfg;
	struct signer *s = open_ok(c);
	EVP_PKEY *key = load_key(c, c->bridge_key);
	struct ledger_note_sig sigs[LEDGER_MAX_SIGS];
	struct ledger_entry e;
	struct ledger_field fl[] = {
		{ "serial", "7f01" },
		{ "issuer", signer_issuer_id(s) },
		{ "key-id", "00112233445566778899aabbccddeeff"
		    "00112233445566778899aabbccddeeff" },
		{ "profile", "device" },
		{ "not-before", "2026-01-01T00:00:00Z" },
		{ "not-after", "2027-01-01T00:00:00Z" },
		{ "cert-sha256", "ffeeddccbbaa99887766554433221100"
		    "ffeeddccbbaa99887766554433221100" },
	};
	char *body, *note, *ref, why[ERRLEN] = "";
	size_t body_len, nsigs;
	uint8_t kh[4];

	body = ledger_entry_body(LEDGER_CERT_ISSUED, c->bridge_account, 1,
	    time(NULL), c->origin, fl, sizeof(fl) / sizeof(fl[0]));
	assert_non_null(body);
	note = signer_sign_entry(s, strdup(body));
	assert_non_null(note);

	/* One signature line by "bridge" that verifies over the body. */
	assert_int_equal(ledger_note_split(note, strlen(note), &body_len, sigs,
	    LEDGER_MAX_SIGS, &nsigs, why, sizeof(why)), 0);
	assert_int_equal(nsigs, 1);
	assert_int_equal(body_len, strlen(body));
	assert_memory_equal(note, body, body_len);
	assert_string_equal(sigs[0].name, c->bridge_account);
	assert_int_equal(ledger_note_key_hash(c->bridge_account, key, kh), 0);
	assert_memory_equal(sigs[0].key_hash, kh, sizeof(kh));
	assert_int_equal(ledger_note_verify_sig(note, body_len, &sigs[0], key),
	    0);
	/* A well-formed entry for the ledger's parser. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(ledger_entry_parse(note, strlen(note), &e, why,
	    sizeof(why)), LEDGER_OK);
	assert_string_equal(e.account, c->bridge_account);
	ledger_entry_clear(&e);
	/* Ed25519 is deterministic: the same bytes as ledger_entry_sign. */
	ref = ledger_entry_sign(strdup(body), c->bridge_account, key);
	assert_non_null(ref);
	assert_string_equal(note, ref);
	/* Negative control: a changed body does not verify. */
	note[strlen(LEDGER_ENTRY_FORMAT) + 1] ^= 1;
	assert_int_equal(ledger_note_verify_sig(note, body_len, &sigs[0], key),
	    -1);
	ERR_clear_error();
	free(ref);
	free(note);
	free(body);
	EVP_PKEY_free(key);
	signer_free(s);
}

/* signer_open with file `rel` of c at mode; err must contain want. */
static void
open_fails_with_mode(const struct bridge_config *c, const char *rel,
    mode_t mode, const char *want)
{
	char path[PATH_MAX], err[ERRLEN] = "";

	config_path(c, rel, path, sizeof(path));
	assert_int_equal(chmod(path, mode), 0);
	assert_null(signer_open(c, err, sizeof(err)));
	assert_int_equal(chmod(path, KEY_MODE), 0);
	if (strstr(err, want) == NULL || strstr(err, path) == NULL)
		fail_msg("unexpected error: %s", err);
	ERR_clear_error();
}

static void
test_refuses_key_files_readable_by_others(void **state)
{
	struct fixture *f = *state;
	const struct bridge_config *c = &f->ec.cfg;

	open_fails_with_mode(c, c->ca_issuing_key, LOOSE_MODE,
	    "group or others");
	open_fails_with_mode(c, c->bridge_key, LOOSE_MODE,
	    "group or others");
	/* Positive control: back at 0600 both load. */
	signer_free(open_ok(c));
}

static void
test_refuses_a_mismatched_issuing_key(void **state)
{
	struct fixture *f = *state;
	struct bridge_config c = f->ec.cfg;
	char err[ERRLEN] = "";

	/* The OCSP signer's key: a valid EC key file, the wrong key. */
	snprintf(c.ca_issuing_key, sizeof(c.ca_issuing_key), "%s",
	    c.ocsp_key);
	assert_null(signer_open(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "does not match"));

	/* The RSA chain's issuing key with the EC chain's certificate. */
	config_path(&f->rsa.cfg, f->rsa.cfg.ca_issuing_key, c.ca_issuing_key,
	    sizeof(c.ca_issuing_key));
	err[0] = '\0';
	assert_null(signer_open(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "does not match"));
	ERR_clear_error();
}

static void
test_refuses_missing_files_and_non_ca_issuers(void **state)
{
	struct fixture *f = *state;
	struct bridge_config c = f->ec.cfg;
	char err[ERRLEN] = "";

	snprintf(c.bridge_key, sizeof(c.bridge_key), "%s", "nope.key");
	assert_null(signer_open(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "nope.key"));

	c = f->ec.cfg;
	snprintf(c.ca_issuing, sizeof(c.ca_issuing), "%s", "nope.pem");
	err[0] = '\0';
	assert_null(signer_open(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "nope.pem"));

	/* The OCSP signer's certificate and key match, but it is no CA. */
	c = f->ec.cfg;
	snprintf(c.ca_issuing, sizeof(c.ca_issuing), "%s", c.ocsp_cert);
	snprintf(c.ca_issuing_key, sizeof(c.ca_issuing_key), "%s", c.ocsp_key);
	err[0] = '\0';
	assert_null(signer_open(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "not a CA"));
	ERR_clear_error();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issuer_id_is_the_hex_ski),
		cmocka_unit_test(test_signs_entries_as_the_bridge_account),
		cmocka_unit_test(test_refuses_key_files_readable_by_others),
		cmocka_unit_test(test_refuses_a_mismatched_issuing_key),
		cmocka_unit_test(
		    test_refuses_missing_files_and_non_ca_issuers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
