/*
 * test_keyproc_own_checkpoint.c: SIGN_CERT takes a checkpoint whose tree
 * head (size and root) the key process itself signed (SIGN_CHECKPOINT)
 * without checking the node's signature on it again (issue 18,
 * bridge/keyproc/ops.c cert_checkpoint_signed_here), and only then: the
 * test plays the network process as test_keyproc_quorum.c does (a ledger
 * of two leaves and its checkpoint), but shows a note whose signature
 * line is made with a key that is not the node's.  Signed when the key
 * process signed that tree head before; refused ("not signed by") when it
 * did not, and when validators are configured (their quorum, not this
 * process, makes a checkpoint final).
 */
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

#include "ledger/cosign.h"
#include "tests/bridge/keyproc/keyproc_fx.h"

#define ERRLEN		512

struct own {
	struct keyproc_fx kp;
	EVP_PKEY *other;		/* not the node's key: the forged line */
	EVP_PKEY *third;		/* OWN_VKEY_OTHER's verifier key */
	EVP_PKEY *validator;
	/* SIGN_CHECKPOINT first: 1 the body shown, 2 another tree head
	 * (of one leaf), 0 none. */
	int sign_first;
};

/* validator_vkey of own_setup: none, the node's own (as `keybridge
 * init` writes it), another key's. */
enum own_vkey { OWN_VKEY_NONE, OWN_VKEY_NODE, OWN_VKEY_OTHER };

static int
own_setup(struct own **out, int with_validator, enum own_vkey vk)
{
	struct own *o = calloc(1, sizeof(*o));
	struct config_validator *cv;

	log_verbosity = LOGL_ERR;
	assert_non_null(o);
	keyproc_fx_init(&o->kp);
	assert_non_null(o->other = ledger_key_generate("ed25519"));
	assert_non_null(o->third = ledger_key_generate("ed25519"));
	if (vk != OWN_VKEY_NONE)
		assert_int_equal(ledger_key_vkey(vk == OWN_VKEY_NODE ?
		    o->kp.node : o->third, o->kp.fx.cfg.validator_name,
		    o->kp.fx.cfg.validator_vkey,
		    sizeof(o->kp.fx.cfg.validator_vkey)), 0);
	if (with_validator) {
		assert_non_null(o->validator = ledger_key_generate("ed25519"));
		cv = &o->kp.fx.cfg.validators[0];
		snprintf(cv->name, sizeof(cv->name), "v1.test");
		assert_int_equal(ledger_cosign_vkey_format(o->validator,
		    cv->name, cv->vkey, sizeof(cv->vkey)), 0);
		snprintf(cv->url, sizeof(cv->url), "http://127.0.0.1:7001");
		o->kp.fx.cfg.nvalidators = 1;
		o->kp.fx.cfg.quorum = 0;
	}
	keyproc_fx_open(&o->kp);
	*out = o;
	return 0;
}

static int
setup_solo(void **state)
{
	return own_setup((struct own **)state, 0, OWN_VKEY_NONE);
}

static int
setup_solo_init_vkey(void **state)
{
	return own_setup((struct own **)state, 0, OWN_VKEY_NODE);
}

static int
setup_solo_other_vkey(void **state)
{
	return own_setup((struct own **)state, 0, OWN_VKEY_OTHER);
}

static int
setup_validators(void **state)
{
	return own_setup((struct own **)state, 1, OWN_VKEY_NONE);
}

static int
teardown(void **state)
{
	struct own *o = *state;

	keyproc_fx_fini(&o->kp);
	EVP_PKEY_free(o->other);
	EVP_PKEY_free(o->third);
	EVP_PKEY_free(o->validator);
	free(o);
	return 0;
}

/* keyproc_fx_cosign_fn: the key process signs body's tree head first
 * (when sign_first), then the note shown is body with a line by o->other
 * in the node's name, and the validator's cosignature when there is one
 * (so that only the node's line is wrong). */
static void
own_note(void *arg, const char *body, time_t now, char *note, size_t notelen)
{
	struct own *o = arg;
	struct ledger_seal sl;
	char origin[CONFIG_STR], line[LEDGER_COSIGN_LINE_MAX], *forged;
	char other[512];
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t size;

	if (o->sign_first) {
		assert_int_equal(ledger_checkpoint_read(body, strlen(body),
		    origin, sizeof(origin), &size, root), 0);
		if (o->sign_first == 2) {
			/* a tree of one leaf, not the body's */
			memset(root, 0x5a, sizeof(root));
			size = 1;
			assert_int_equal(ledger_checkpoint_body(origin, size,
			    root, now, other, sizeof(other)), 0);
		}
		memset(&sl, 0, sizeof(sl));
		sl.body = o->sign_first == 2 ? other : body;
		sl.size = size;
		sl.root = root;
		assert_int_equal(signer_sign_checkpoint(o->kp.s, &sl, line,
		    sizeof(line)), 0);
	}
	assert_non_null(forged = ledger_entry_sign(strdup(body),
	    o->kp.fx.cfg.validator_name, o->other));
	snprintf(note, notelen, "%s", forged);
	free(forged);
	if (o->validator != NULL) {
		assert_int_equal(ledger_cosign_line(body, strlen(body),
		    o->kp.fx.cfg.validators[0].name, o->validator,
		    (uint64_t)now, line, sizeof(line)), 0);
		assert_true(strlen(note) + strlen(line) < notelen);
		strcat(note, line);
	}
}

/* Solo, the tree head signed by this key process: the CA signs. */
static void
test_a_tree_head_it_signed_needs_no_second_check(void **state)
{
	struct own *o = *state;
	char why[ERRLEN] = "";
	X509 *cert = NULL;

	o->sign_first = 1;
	if (keyproc_fx_sign(&o->kp, TBS_FX_GOOD_DEVICE_EC, own_note, o, &cert,
	    why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_non_null(cert);
	assert_int_equal(X509_verify(cert,
	    X509_get0_pubkey(signer_issuer(o->kp.s))), 1);
	X509_free(cert);
}

/* The key process, having signed sign_first tree heads, refuses to sign
 * a certificate whose checkpoint it checked and found not signed by the
 * verifier key. */
static void
assert_checked_and_refused(struct own *o, int sign_first)
{
	char why[ERRLEN] = "";
	X509 *cert = NULL;

	o->sign_first = sign_first;
	assert_int_equal(keyproc_fx_sign(&o->kp, TBS_FX_GOOD_DEVICE_EC,
	    own_note, o, &cert, why, sizeof(why)), -1);
	assert_null(cert);
	if (strstr(why, "checkpoint: the checkpoint is not signed by") == NULL)
		fail_msg("refused for another reason: %s", why);
}

/* The negative control: the same note, a tree head it never signed. */
static void
test_a_tree_head_it_did_not_sign_is_checked_and_refused(void **state)
{
	/* it signed one, but not this one */
	assert_checked_and_refused(*state, 2);
}

/* validator_vkey naming another key: that key's signature is what
 * counts, not this process's; checked (and refused: the line is not
 * that key's) as before. */
static void
test_with_another_verifier_key_its_own_tree_head_is_checked(void **state)
{
	assert_checked_and_refused(*state, 1);
}

/* With validators the node's own signature is not what makes the
 * checkpoint final: always checked, even on a tree head it signed. */
static void
test_with_validators_its_own_tree_head_is_still_checked(void **state)
{
	assert_checked_and_refused(*state, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_tree_head_it_signed_needs_no_second_check,
		    setup_solo, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_tree_head_it_signed_needs_no_second_check,
		    setup_solo_init_vkey, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_tree_head_it_did_not_sign_is_checked_and_refused,
		    setup_solo, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_tree_head_it_did_not_sign_is_checked_and_refused,
		    setup_solo_init_vkey, teardown),
		cmocka_unit_test_setup_teardown(
		    test_with_another_verifier_key_its_own_tree_head_is_checked,
		    setup_solo_other_vkey, teardown),
		cmocka_unit_test_setup_teardown(
		    test_with_validators_its_own_tree_head_is_still_checked,
		    setup_validators, teardown),
	};

	return cmocka_run_group_tests_name("bridge/keyproc/own_checkpoint",
	    tests, NULL, NULL);
}
