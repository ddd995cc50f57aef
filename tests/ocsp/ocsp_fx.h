/*
 * ocsp_fx.h: the fixture of tests/ocsp/test_ocsp.c (ocsp_fx.c): the CA
 * chain and the OCSP signer `keybridge init` makes, the real signer, the
 * responder and the CRLs served over real HTTP on loopback from a loop
 * thread, and a table of statuses standing in for the ledger; and the
 * requests and responses built and checked with OpenSSL's own code.
 */
#ifndef KEYBRIDGE_TESTS_OCSP_OCSP_FX_H
#define KEYBRIDGE_TESTS_OCSP_OCSP_FX_H

#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"
#include "bridge/cli/cli.h"

#define ERRLEN		512
#define NSERIALS	4
#define REVOKED_AT	1780000000	/* 2026-05-28T20:26:40Z */
#define WAIT_USEC	20000
#define WAIT_TRIES	250		/* 5 s */

struct row {
	char serial[41];
	struct ocspr_status st;
};

struct fixture {
	char dir[PATH_MAX];
	struct bridge_config cfg;
	struct signer *signer;
	X509 *root, *iss;
	struct event_base *base;
	struct server *http;
	struct ocspr *r;
	pthread_t thread;
	char url[64];
	pthread_mutex_t mu;		/* rows: read on the loop thread */
	struct row rows[NSERIALS];
	int status_calls;
	int revoked_fail;		/* the revoked set cannot be read */
	/* the responder's configuration (ofx_do_restart makes it again) */
	struct ocspr_config oc;
	char crl_url[128];		/* the issuer's full CRL URL */
};

/* Row i of the ledger's stand-in: serial with state s (revoked at
 * REVOKED_AT for reason), unexpired. */
void ofx_set_row(struct fixture *f, int i, const char *serial,
    enum ocspr_state s, int reason);
/* The group's set-up: a data directory made by pki_init, the signer, the
 * responder on a loop thread; and its tear-down. */
int ofx_setup(void **state);
int ofx_teardown(void **state);
/* ofx_setup with crl_partitions = 4 and the CRL URL
 * http://crl.test/crl/<issuer id>.crl (issue 18). */
#define OFX_PARTS 4
int ofx_setup_parts(void **state);
/* Runs fn(f, arg) on the loop thread and waits for it. */
void ofx_run_on_loop(struct fixture *f,
    void (*fn)(struct fixture *, void *), void *arg);
/* For ofx_run_on_loop: the responder refreshes serial; the CRLs are
 * marked changed; the responder's statistics are read. */
void ofx_do_refresh(struct fixture *f, void *serial);
void ofx_do_crl_changed(struct fixture *f, void *arg);
void ofx_do_stats(struct fixture *f, void *arg);
/* For ofx_run_on_loop: ocspr_crl_revoked of serial; the responder freed
 * and made again from f->oc, as a restart of the bridge does. */
void ofx_do_crl_revoked(struct fixture *f, void *serial);
void ofx_do_restart(struct fixture *f, void *arg);
/* The CertID of serial under our issuer with hash md. */
OCSP_CERTID *ofx_certid(const struct fixture *f, const EVP_MD *md,
    const char *serial);
/* POSTs der to path; the HTTP status, the body in *out (malloc'd). */
int ofx_post(const struct fixture *f, const char *path,
    const unsigned char *der, size_t len, unsigned char **out,
    size_t *outlen);
/* GETs path; the HTTP status, the body in *out (malloc'd). */
int ofx_get(const struct fixture *f, const char *path, unsigned char **out,
    size_t *outlen);
/* Sends req by POST; returns the parsed response (status 200 asserted). */
OCSP_RESPONSE *ofx_ask(const struct fixture *f, OCSP_REQUEST *req);
/* The basic response of resp, verified against the root (the delegated
 * signer's certificate comes in the response). */
OCSP_BASICRESP *ofx_verified(const struct fixture *f, OCSP_RESPONSE *resp);
/* The status of cid in bs (asserted present) with its reason and time. */
int ofx_find(OCSP_BASICRESP *bs, OCSP_CERTID *cid, int *reason,
    time_t *rev);
/* A request for one serial's CertID with hash md. */
OCSP_REQUEST *ofx_request1(const struct fixture *f, const EVP_MD *md,
    const char *serial);

#endif
