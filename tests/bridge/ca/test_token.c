/*
 * test_token.c: bridge/ca/token.c and the URI checks of p11load.c that
 * come before any module is loaded: the PIN file (mode 0600 or refused,
 * one trailing newline, no empty or oversized PIN), which configured
 * values are URIs, and the URIs ca_key_load refuses with a message that
 * says what to change.  The token itself (SoftHSM2) is exercised by
 * tests/integration/test_pkcs11.sh.
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
#include <unistd.h>

#include <cmocka.h>

#include "bridge/bridge.h"

#define ERRLEN		512
#define PIN_MODE	0600
#define LOOSE_MODE	0644
#define GROUP_MODE	0640
#define DIR_MAX		64	/* the mkdtemp name: short, so paths fit */

struct fixture {
	char dir[DIR_MAX];
	char pin[DIR_MAX + 16];
	struct bridge_config cfg;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Writes len bytes of s to f->pin with mode. */
static void
write_pin(struct fixture *f, const char *s, size_t len, mode_t mode)
{
	FILE *fp;

	unlink(f->pin);
	assert_non_null(fp = fopen(f->pin, "w"));
	assert_int_equal(fwrite(s, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(f->pin, mode), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kb-test-token-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->pin, sizeof(f->pin), "%s/pin", f->dir);
	config_defaults(&f->cfg, f->dir);
	snprintf(f->cfg.pkcs11_module, sizeof(f->cfg.pkcs11_module),
	    "/nonexistent/module.so");
	snprintf(f->cfg.pkcs11_pin_file, sizeof(f->cfg.pkcs11_pin_file),
	    "%s", f->pin);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
test_pin_file_readable_by_others_is_refused(void **state)
{
	struct fixture *f = *state;
	char pin[CA_PIN_MAX + 1], err[ERRLEN] = "";

	write_pin(f, "1234\n", 5, LOOSE_MODE);
	assert_int_equal(ca_token_pin(f->pin, pin, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0644"));
	assert_non_null(strstr(err, "chmod 600"));
	assert_string_equal(pin, "");
	write_pin(f, "1234\n", 5, GROUP_MODE);
	assert_int_equal(ca_token_pin(f->pin, pin, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0640"));
	write_pin(f, "1234\n", 5, PIN_MODE);
	assert_int_equal(ca_token_pin(f->pin, pin, err, sizeof(err)), 0);
	assert_string_equal(pin, "1234");
}

static void
test_pin_file_loses_one_trailing_newline_only(void **state)
{
	struct fixture *f = *state;
	char pin[CA_PIN_MAX + 1], err[ERRLEN] = "";

	write_pin(f, "ab cd\r\n", 7, PIN_MODE);
	assert_int_equal(ca_token_pin(f->pin, pin, err, sizeof(err)), 0);
	assert_string_equal(pin, "ab cd");
	write_pin(f, "ab\n\n", 4, PIN_MODE);
	assert_int_equal(ca_token_pin(f->pin, pin, err, sizeof(err)), 0);
	assert_string_equal(pin, "ab\n");
	write_pin(f, "nonewline", 9, PIN_MODE);
	assert_int_equal(ca_token_pin(f->pin, pin, err, sizeof(err)), 0);
	assert_string_equal(pin, "nonewline");
}

static void
test_empty_long_or_binary_pins_are_refused(void **state)
{
	struct fixture *f = *state;
	char pin[CA_PIN_MAX + 1], err[ERRLEN] = "", big[CA_PIN_MAX + 2];

	write_pin(f, "\n", 1, PIN_MODE);
	assert_int_equal(ca_token_pin(f->pin, pin, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
	memset(big, '7', sizeof(big));
	write_pin(f, big, sizeof(big), PIN_MODE);
	assert_int_equal(ca_token_pin(f->pin, pin, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than"));
	write_pin(f, "12\0" "34", 5, PIN_MODE);
	assert_int_equal(ca_token_pin(f->pin, pin, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
	assert_int_equal(ca_token_pin(NULL, pin, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "pkcs11_pin_file"));
}

static void
test_pin_file_symlink_or_missing_is_refused(void **state)
{
	struct fixture *f = *state;
	char pin[CA_PIN_MAX + 1], err[ERRLEN] = "", link[DIR_MAX + 16];

	write_pin(f, "1234\n", 5, PIN_MODE);
	snprintf(link, sizeof(link), "%s/pin.link", f->dir);
	assert_int_equal(symlink(f->pin, link), 0);
	assert_int_equal(ca_token_pin(link, pin, err, sizeof(err)), -1);
	snprintf(link, sizeof(link), "%s/nope", f->dir);
	assert_int_equal(ca_token_pin(link, pin, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

static void
test_only_pkcs11_values_are_token_uris(void **state)
{
	assert_true(ca_is_token_uri("pkcs11:token=a;object=b"));
	assert_true(ca_is_token_uri("PKCS11:token=a;object=b"));
	assert_false(ca_is_token_uri("ca/issuing.key"));
	assert_false(ca_is_token_uri("/keys/pkcs11:x"));
	assert_false(ca_is_token_uri(""));
	assert_false(ca_is_token_uri(NULL));
}

/* ca_key_load(value) must fail with err containing want. */
static void
refused(struct fixture *f, const char *value, const char *want)
{
	char err[ERRLEN] = "";

	assert_null(ca_key_load(&f->cfg, value, "test key", err,
	    sizeof(err)));
	if (strstr(err, want) == NULL)
		fail_msg("%s: expected \"%s\" in: %s", value, want, err);
	assert_non_null(strstr(err, "test key: "));
}

static void
test_uris_the_bridge_cannot_use_are_refused_by_name(void **state)
{
	struct fixture *f = *state;

	refused(f, "pkcs11:token=kb;type=private", "names no key");
	refused(f, "pkcs11:token=kb;object=a;type=cert",
	    "does not name a private key");
	refused(f, "pkcs11:token=kb;object=a;type=public",
	    "does not name a private key");
	refused(f, "pkcs11:token=kb;object=a?pin-value=1234",
	    "carries a PIN");
	refused(f, "pkcs11:token=kb;object=a?pin-source=file:/p",
	    "carries a PIN");
	refused(f, "pkcs11:token=kb;object=%zz", "is not a PKCS#11 URI");
	refused(f, "pkcs11:token=kb;object=a;colour=red",
	    "does not know");
	/* A good URI gets as far as the module. */
	refused(f, "pkcs11:token=kb;object=a;type=private",
	    "cannot load the PKCS#11 module /nonexistent/module.so");
	f->cfg.pkcs11_module[0] = '\0';
	refused(f, "pkcs11:token=kb;object=a;type=private",
	    "set pkcs11_module");
}

static void
test_file_values_load_as_before(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN] = "", path[DIR_MAX + 16];
	EVP_PKEY *k, *back;

	assert_non_null(k = ledger_key_generate("ec-p256"));
	snprintf(path, sizeof(path), "%s/k.key", f->dir);
	assert_int_equal(ledger_key_save(k, path), 0);
	assert_non_null(back = ca_key_load(&f->cfg, "k.key", "test key", err,
	    sizeof(err)));
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	assert_int_equal(chmod(path, LOOSE_MODE), 0);
	assert_null(ca_key_load(&f->cfg, "k.key", "test key", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "test key: "));
	assert_non_null(strstr(err, "chmod 600"));
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_pin_file_readable_by_others_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_pin_file_loses_one_trailing_newline_only, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_empty_long_or_binary_pins_are_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_pin_file_symlink_or_missing_is_refused, setup,
		    teardown),
		cmocka_unit_test(test_only_pkcs11_values_are_token_uris),
		cmocka_unit_test_setup_teardown(
		    test_uris_the_bridge_cannot_use_are_refused_by_name,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_file_values_load_as_before, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
