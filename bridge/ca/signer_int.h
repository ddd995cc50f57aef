/*
 * signer_int.h: the signer's state, shared by signer.c (the requests) and
 * signer_iss.c (its issuing CAs, issue 17).  Never included outside
 * bridge/ca/.
 */
#ifndef KEYBRIDGE_SIGNER_INT_H
#define KEYBRIDGE_SIGNER_INT_H

#include <stdatomic.h>

#include <openssl/ocsp.h>

#include "bridge/ca/ca.h"
#include "bridge/keyproc/keyproc.h"

/* One issuing CA of the key process (issue 17: [0] the current one,
 * then those rolled over from). */
struct signer_iss {
	X509 *issuer;			/* issuing CA certificate */
	X509 *ocsp_cert;		/* its delegated OCSP responder */
	uint8_t responder[SHA_DIGEST_LENGTH];	/* its key hash */
	OCSP_CERTID *cid[2];		/* its CertID templates, SHA-1/256 */
	char issuer_id[LEDGER_NAME_MAX + 1];
	int original;			/* init's CA */
};

struct signer {
	struct keyproc *kp;
	int own_kp;			/* signer_open started it */
	struct signer_iss iss[CA_ISSUERS_MAX];
	size_t niss;
	EVP_PKEY *placeholder;		/* throwaway, see above */
	char vkey[512];
	char account[LEDGER_NAME_MAX + 1];
	char account_pub[512];
	/* The last checkpoint the key process signed (writer thread). */
	uint64_t cp_size;
	uint8_t cp_root[LEDGER_HASH_LEN];
	/* Requests the key process refused, per operation (any thread;
	 * /metrics reads them). */
	atomic_uint_least64_t refused[KEYPROC_OP_MAX];
};

/* One issuer's certificates of INFO's answer into is (its id from its
 * SKI, its CertID templates, its responder's key hash).  0 or -1. */
int signer_info_iss(struct signer_iss *is, struct keyproc_rd *r);
/* The issuer whose CertID bs's first single response names, or NULL. */
const struct signer_iss *signer_ocsp_issuer(struct signer *s,
    OCSP_BASICRESP *bs);

#endif
