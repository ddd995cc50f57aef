/*
 * issue_fx.h: the fixture of tests/bridge/ca/test_issue.c (issue_fx.c):
 * a CA chain made once by pki_init() (the one `keybridge init` writes),
 * two subject keys, issue parameters, and the checks of an issued
 * certificate with OpenSSL's own parsers and verifier.
 */
#ifndef KEYBRIDGE_TESTS_BRIDGE_CA_ISSUE_FX_H
#define KEYBRIDGE_TESTS_BRIDGE_CA_ISSUE_FX_H

#include <arpa/inet.h>
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
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"

#define ERRLEN		512
#define DAY		(24L * 60 * 60)
#define OCSP_URL	"http://bridge.example:8080/ocsp"
#define CAISSUERS_URL	"http://bridge.example:8080/ca/issuing.der"
#define CRL_URL		"http://bridge.example:8080/crl/00ff.crl"
#define SERIAL_RUNS	10000
#define SERIAL_MAX_BITS	127	/* 16 random bytes, top bit cleared */
#define SERIAL_WIDE_BITS 120	/* 2^-7 of serials fall below this */
#define RSA_BITS	2048
#define CN_MAX		64	/* RFC 5280 ub-common-name */

/* The CA made once for the whole group, and the two subject keys. */
struct fixture {
	char dir[PATH_MAX];
	struct bridge_config cfg;
	X509 *root, *iss;
	EVP_PKEY *iss_key, *ec, *rsa;
	time_t now;
};

/* The registered names of the tests that use some. */
const struct est_names *ifx_names_sample(void);
int ifx_group_setup(void **state);
int ifx_group_teardown(void **state);
/* Issue parameters for key under profile, with a wide key window. */
struct issue_params ifx_params(const struct fixture *f, enum est_profile profile, EVP_PKEY *key,
    const struct est_names *names);
/* issue_build + sign with the issuing key, then a DER round trip so that
 * the checks see what a client would parse. */
X509 *ifx_issue(const struct fixture *f, const struct issue_params *p);
time_t ifx_asn1_time(const ASN1_TIME *t);
/* The extension nid of x: present exactly once, with criticality crit. */
void ifx_assert_ext(X509 *x, int nid, int crit);
/* SAN of x is exactly the DNS names then the IP addresses of n. */
void ifx_assert_san(X509 *x, const struct est_names *n);
/* AIA: OCSP then caIssuers; CRL DP: one fullName URI. */
void ifx_assert_urls(X509 *x);
/* What every issued certificate has, whatever the profile and key. */
void ifx_assert_common(const struct fixture *f, X509 *x, const char *cn);
/* EKU is exactly one OID, the profile's. */
void ifx_assert_eku(X509 *x, uint32_t xku, int nid);
/* X509_verify_cert() of leaf to the root through the issuing CA, strict,
 * for purpose.  Returns the verify error (X509_V_OK when it verifies). */
int ifx_verify_chain(const struct fixture *f, X509 *leaf, int purpose);

#endif
