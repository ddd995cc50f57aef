/*
 * tbs_fx.h: TBSCertificates for the pre-issuance lint's tests, good ones
 * from issue_build and crafted bad ones, one way of being bad per check,
 * each with the refusal it must get.  test_lint.c feeds them to
 * ca_lint_tbs; a key process test can send the same ones through its
 * typed protocol.  The bad ones are built with OpenSSL calls on the
 * certificate issue_build makes, and, for the DER checks, by editing the
 * bytes of a good TBS (test input only).
 */
#ifndef KEYBRIDGE_TESTS_TBS_FX_H
#define KEYBRIDGE_TESTS_TBS_FX_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "bridge/bridge.h"

/* A CA made by pki_init in a temporary directory, and keys. */
struct tbs_fx {
	char dir[PATH_MAX];
	struct bridge_config cfg;
	X509 *root, *iss;		/* pki_init's root and issuing CA */
	EVP_PKEY *iss_key;
	X509 *rsa_iss;			/* an RSA issuing CA (self-signed) */
	EVP_PKEY *rsa_iss_key;
	EVP_PKEY *ec, *rsa, *other;	/* subject keys */
	time_t now;
	/* The URLs of every want (tbs_fx_setup's defaults; a key process
	 * test sets the ones its key process derives from its config). */
	const char *ocsp_url, *ca_issuers_url, *crl_url;
};

/* The TBSs: the good ones first, then one per way of being bad. */
enum tbs_fx_case {
	TBS_FX_GOOD_DEVICE_EC,
	TBS_FX_GOOD_SERVER_RSA,
	TBS_FX_GOOD_ADMIN_NO_NAMES,
	TBS_FX_GOOD_RSA_ISSUER,
	TBS_FX_GOOD_SPKI_COPIED,	/* issue_params.spki, as enroll.c */
	TBS_FX_GOOD_WINDOW_CAPPED,	/* notAfter = the key's window end */
	TBS_FX_NGOOD,
	TBS_FX_VERSION_1 = TBS_FX_NGOOD,
	TBS_FX_VERSION_2,
	TBS_FX_SIGALG_RSA,		/* EC issuer, RSA algorithm */
	TBS_FX_SIGALG_PARAMS,		/* ecdsa-with-SHA256 with NULL */
	TBS_FX_SERIAL_ZERO,
	TBS_FX_SERIAL_NEGATIVE,
	TBS_FX_SERIAL_21_OCTETS,
	TBS_FX_SERIAL_4_OCTETS,
	TBS_FX_ISSUER_OTHER,
	TBS_FX_NOT_BEFORE_AHEAD,
	TBS_FX_VALIDITY_TOO_LONG,
	TBS_FX_BEFORE_KEY_WINDOW,
	TBS_FX_AFTER_KEY_WINDOW,
	TBS_FX_TIME_GENERALIZED,
	TBS_FX_SUBJECT_OTHER_CN,
	TBS_FX_SUBJECT_EXTRA_RDN,
	TBS_FX_SUBJECT_PRINTABLE,
	TBS_FX_SPKI_OTHER,
	TBS_FX_UNIQUE_ID,
	TBS_FX_EXT_MISSING,
	TBS_FX_EXT_DUPLICATE,
	TBS_FX_EXT_EXTRA,
	TBS_FX_SAN_EXTRA,
	TBS_FX_SAN_MISSING,
	TBS_FX_SAN_ABSENT,
	TBS_FX_SAN_UNREGISTERED,
	TBS_FX_BC_NOT_CRITICAL,
	TBS_FX_BC_CA_TRUE,
	TBS_FX_KU_WRONG,
	TBS_FX_KU_RSA_NO_KE,
	TBS_FX_KU_NOT_CRITICAL,
	TBS_FX_KU_NOT_DER,
	TBS_FX_EKU_WRONG,
	TBS_FX_EKU_TWO,
	TBS_FX_SKI_METHOD_2,
	TBS_FX_SKI_CRITICAL,
	TBS_FX_AKI_OTHER,
	TBS_FX_AKI_ISSUER_SERIAL,
	TBS_FX_AIA_OCSP_URL,
	TBS_FX_AIA_CA_ISSUERS_URL,
	TBS_FX_CDP_URL,
	TBS_FX_DER_BOOLEAN,
	TBS_FX_DER_LONG_LENGTH,
	TBS_FX_DER_TRAILING,
	TBS_FX_DER_EXT_VALUE,
	TBS_FX_NOT_TBS,			/* a whole certificate */
	TBS_FX_NCASES,
};

/* A case's name and, for a bad one, how its refusal begins. */
struct tbs_fx_info {
	const char *name;
	const char *why;		/* NULL for a good one */
};
const struct tbs_fx_info *tbs_fx_info(enum tbs_fx_case c);

/* One built case: the TBS and what it is checked against.  want points
 * into this struct: do not copy it. */
struct tbs_fx_tbs {
	struct ca_lint_want want;
	struct est_names names;
	unsigned char *spki;
	uint8_t *der;
	size_t len;
	EVP_PKEY *sign_key;		/* the want's issuer's key (get0) */
};

/* Makes the CA under a new /tmp directory and the keys.  0 or -1. */
int tbs_fx_setup(struct tbs_fx *f);
/* Frees f's contents and removes its directory. */
void tbs_fx_teardown(struct tbs_fx *f);
/* Builds case c into t.  0 or -1 (with a message on stderr). */
int tbs_fx_build(const struct tbs_fx *f, enum tbs_fx_case c,
    struct tbs_fx_tbs *t);
void tbs_fx_tbs_free(struct tbs_fx_tbs *t);

#endif
