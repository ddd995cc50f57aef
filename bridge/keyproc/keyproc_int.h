/*
 * keyproc_int.h: the key process's own state, shared by keyproc.c (the
 * process), ops.c (the checks and signatures) and state.c (the promise
 * kept across restarts).  Never included outside bridge/keyproc/.
 */
#ifndef KEYBRIDGE_KEYPROC_INT_H
#define KEYBRIDGE_KEYPROC_INT_H

#include <limits.h>
#include <pthread.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "ledger/ledger.h"
#include "ledger/cosign.h"
#include "bridge/keyproc/keyproc.h"

#define KEYPROC_VKEY_MAX	512
#define KEYPROC_SKI_MAX		(LEDGER_NAME_MAX / 2)
#define KEYPROC_ISSUERS_MAX	8	/* CA_ISSUERS_MAX */

/* What the key process has promised: persisted in KEYPROC_STATE_FILE
 * before any answer that depends on it. */
struct keyproc_state {
	int have_cp;			/* a checkpoint was signed */
	uint64_t cp_size;		/* the last signed checkpoint */
	uint8_t cp_root[LEDGER_HASH_LEN];
	uint64_t crl_number;		/* the last signed CRL's number */
	uint64_t seq;			/* writes so far (state.c's slots) */
};

/* One issuing CA the key process holds (issue 17: after a rollover,
 * the current one and those whose certificates still need OCSP and
 * CRLs).  Every check of SIGN_OCSP and SIGN_CRL holds per issuer. */
struct keyproc_issuer {
	X509 *issuer;
	EVP_PKEY *ca_key;
	X509 *ocsp_cert;		/* its own delegated responder */
	EVP_PKEY *ocsp_key;
	uint8_t responder[SHA_DIGEST_LENGTH];	/* SHA-1 of its key bits */
	OCSP_CERTID *ours[2];		/* its CertID hashes, SHA-1, SHA-256 */
	char issuer_id[LEDGER_NAME_MAX + 1];
	int original;			/* init's CA (keyproc.state's CRL) */
	char cert_name[CONFIG_STR];	/* its certificate file, messages */
	char ca_issuers_url[CONFIG_STR + 96];
	char crl_url[CONFIG_STR + 96];
	/* A rolled issuer's last CRL number, in its own state file
	 * (CA_ISSUER_CRL_STATE); the original's is st.crl_number. */
	struct keyproc_state crl_st;
	char crl_path[PATH_MAX + 32];
	int crl_fd;
};

#define KEYPROC_SIGNED_CP 64	/* tree heads signed, remembered */

struct keyproc_keys {
	struct bridge_config cfg;	/* a copy: the parent's may change */
	/* iss[0] is the current issuer: the only one SIGN_CERT signs for. */
	struct keyproc_issuer iss[KEYPROC_ISSUERS_MAX];
	size_t niss;
	EVP_PKEY *ledger_key;
	EVP_PKEY *node_key;
	char vkey[KEYPROC_VKEY_MAX];
	char ocsp_url[CONFIG_STR + 16];
	char state_path[PATH_MAX + 32];
	/* The promise: SIGN_CHECKPOINT's (the writer channel's thread),
	 * SIGN_CRL's and INFO's (the main thread), under state_mu.  The
	 * rest is the main thread's alone. */
	pthread_mutex_t state_mu;
	struct keyproc_state st;
	int state_fd;			/* state.c's, after the first write */
	/* SIGN_CERT: entries below this index were signed or given up. */
	uint64_t min_index;
	/* The last checkpoint note whose signature checked out, with its
	 * size and root: a block's enrollments all show the same one, and
	 * one Ed25519 verification per block is enough. */
	char *cp_ok;
	uint64_t cp_ok_size;
	uint8_t cp_ok_root[LEDGER_HASH_LEN];
	/* The tree heads this process signed (SIGN_CHECKPOINT, on the
	 * writer channel's thread, under state_mu), a ring: solo, SIGN_CERT
	 * takes a checkpoint of one of them as authentic without checking
	 * the node's Ed25519 signature on it again (issue 18: this process
	 * made that signature; the check was ~9% of its CPU). */
	struct keyproc_signed_cp {
		uint64_t size;
		uint8_t root[LEDGER_HASH_LEN];
	} signed_cp[KEYPROC_SIGNED_CP];
	size_t signed_next;
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

/* issuers.c: loads every issuing CA of the data directory
 * (ca_issuers_scan) into k->iss, each checked as keys_check did for the
 * one CA, and its CRL promise.  0, or -1 with err set. */
int keyproc_issuers_load(struct keyproc_keys *k, char *err, size_t errlen);
void keyproc_issuers_clear(struct keyproc_keys *k);
/* The issuer whose responder key hash is rid / whose id is id, or
 * NULL. */
struct keyproc_issuer *keyproc_issuer_by_responder(struct keyproc_keys *k,
    const uint8_t *rid, size_t len);
struct keyproc_issuer *keyproc_issuer_by_id(struct keyproc_keys *k,
    const char *id);

/* state.c: reads path into st (all zero when the file does not exist).
 * 0, or -1 with err set (a damaged file: nothing is signed then). */
int keyproc_state_read(const char *path, struct keyproc_state *st,
    char *err, size_t errlen);
/* Writes st (its seq advanced) to path durably before it returns: the
 * first time (*fd < 0) as a new file (a 0600 temporary, fsync, rename,
 * fsync of the directory) then opened into *fd, and after that into the
 * older of the file's two slots with pwrite and fdatasync.  0, or -1 with
 * err set. */
int keyproc_state_write(const char *path, int *fd, struct keyproc_state *st,
    char *err, size_t errlen);

#endif
