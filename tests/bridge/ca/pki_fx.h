/*
 * pki_fx.h: a data directory with the CA chain `keybridge init` makes
 * (pki_init), for the tests that sign with it (tbs_fx.c, issue_fx.c,
 * tests/ocsp/ocsp_fx.c); pki_fx.c.
 */
#ifndef KEYBRIDGE_TESTS_BRIDGE_CA_PKI_FX_H
#define KEYBRIDGE_TESTS_BRIDGE_CA_PKI_FX_H

#include <limits.h>

#include "bridge/bridge.h"

/* A fresh /tmp/kb-test-TAG-XXXXXX in dir, cfg's defaults for it, and
 * pki_init's CA chain and OCSP signer in it.  0, or -1 (pki_init's
 * reason printed on stderr). */
int fx_pki_dir(struct bridge_config *cfg, char dir[PATH_MAX],
    const char *tag);
/* The first PEM object of file rel of cfg's data directory: a private
 * key when key is set (an EVP_PKEY *), else a certificate (an X509 *);
 * the caller frees it.  NULL when it cannot be read. */
void *fx_pki_pem(const struct bridge_config *cfg, const char *rel, int key);
/* Removes dir and everything under it. */
void fx_pki_rm(const char *dir);

#endif
