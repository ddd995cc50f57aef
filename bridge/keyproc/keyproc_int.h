/*
 * keyproc_int.h: the key process's own state, shared by keyproc.c (the
 * process), ops.c (the checks and signatures) and state.c (the promise
 * kept across restarts).  Never included outside bridge/keyproc/.
 */
#ifndef KEYBRIDGE_KEYPROC_INT_H
#define KEYBRIDGE_KEYPROC_INT_H

#include <limits.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "ledger/ledger.h"
#include "ledger/cosign.h"
#include "bridge/keyproc/keyproc.h"

#define KEYPROC_VKEY_MAX	512
#define KEYPROC_SKI_MAX		(LEDGER_NAME_MAX / 2)

/* What the key process has promised: persisted in KEYPROC_STATE_FILE
 * before any answer that depends on it. */
struct keyproc_state {
	int have_cp;			/* a checkpoint was signed */
	uint64_t cp_size;		/* the last signed checkpoint */
	uint8_t cp_root[LEDGER_HASH_LEN];
	uint64_t crl_number;		/* the last signed CRL's number */
};

struct keyproc_keys {
	struct bridge_config cfg;	/* a copy: the parent's may change */
	X509 *issuer;
	EVP_PKEY *ca_key;
	X509 *ocsp_cert;
	EVP_PKEY *ocsp_key;
	uint8_t responder[SHA_DIGEST_LENGTH];	/* SHA-1 of its key bits */
	OCSP_CERTID *ours[2];		/* our issuer's, SHA-1 and SHA-256 */
	EVP_PKEY *ledger_key;
	EVP_PKEY *node_key;
	char vkey[KEYPROC_VKEY_MAX];
	char issuer_id[LEDGER_NAME_MAX + 1];
	char ocsp_url[CONFIG_STR + 16];
	char ca_issuers_url[CONFIG_STR + 32];
	char crl_url[CONFIG_STR + 96];
	char state_path[PATH_MAX + 32];
	struct keyproc_state st;
	/* SIGN_CERT: entries below this index were signed or given up. */
	uint64_t min_index;
	/* The last checkpoint note whose signature checked out, with its
	 * size and root: a block's enrollments all show the same one, and
	 * one Ed25519 verification per block is enough. */
	char *cp_ok;
	uint64_t cp_ok_size;
	uint8_t cp_ok_root[LEDGER_HASH_LEN];
	/* The validators of cfg's `validator =` lines and the quorum
	 * (issue 14): SIGN_CERT needs a quorum of their cosignatures on
	 * the entry's checkpoint.  ncosigners 0: solo. */
	struct ledger_cosigner cosigners[LEDGER_COSIGN_POLICY_MAX];
	size_t ncosigners, quorum;
};

/* ops.c: answers one request into ans.  0 (ans is the result), or -1
 * refused with why set (one line). */
int keyproc_handle(struct keyproc_keys *k, uint16_t op, const uint8_t *req,
    size_t len, struct keyproc_buf *ans, char *why, size_t whylen);
/* ops.c: loads the keys and certificates cfg names and checks that they
 * fit together.  0, or -1 with err set. */
int keyproc_keys_load(struct keyproc_keys *k, const struct bridge_config *cfg,
    char *err, size_t errlen);
void keyproc_keys_clear(struct keyproc_keys *k);

/* state.c: reads path into st (all zero when the file does not exist).
 * 0, or -1 with err set (a damaged file: nothing is signed then). */
int keyproc_state_read(const char *path, struct keyproc_state *st,
    char *err, size_t errlen);
/* Writes st to path durably: a 0600 temporary file, fsync, rename, fsync
 * of the directory.  0, or -1 with err set. */
int keyproc_state_write(const char *path, const struct keyproc_state *st,
    char *err, size_t errlen);

#endif
