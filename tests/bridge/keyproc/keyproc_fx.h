/*
 * keyproc_fx.h: a real forked key process (signer_open) and the network
 * process a key process test plays against it: entries signed by the
 * bridge account's key, a ledger of two leaves (a key-register entry, then
 * a cert-issued entry carrying a TBS of tbs_fx.h) in a Merkle tree of its
 * own, its checkpoint signed with the node's key, sent as SIGN_CERT
 * through the typed protocol.  Shared by test_keyproc_lint.c and
 * test_keyproc_quorum.c.
 *
 * struct keyproc_fx_kp: the key process test_keyproc.c and
 * test_keyproc_checkpoint.c drive with raw requests: the keys `keybridge
 * init` makes in a temporary data directory (the group's), a key process
 * started afresh for each test, and a tree of KEYPROC_FX_NLEAVES leaves.
 */
#ifndef KEYBRIDGE_TESTS_KEYPROC_FX_H
#define KEYBRIDGE_TESTS_KEYPROC_FX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "bridge/bridge.h"
#include "bridge/keyproc/keyproc.h"
#include "ledger/ledger_int.h"
#include "tests/bridge/ca/tbs_fx.h"

#define KL_URL		"http://bridge.example:8080"
#define KL_SERIAL	"102030405060708090a0b0c0d0e0f10"
#define KL_NFIELDS	(8 + 2 * EST_MAX_NAMES)
#define KL_B64_MAX	8192
#define KEYPROC_FX_NLEAVES 12

struct keyproc_fx {
	struct tbs_fx fx;
	EVP_PKEY *bridge, *node;
	struct signer *s;
	char crl_url[CONFIG_STR + 96];
	char ocsp_url[CONFIG_STR + 16], cai_url[CONFIG_STR + 32];
	/* The cert-issued entry's issuer; NULL: the signer's (issue 17:
	 * a test names an issuer rolled over from). */
	const char *issuer_id;
};

/* tbs_fx_setup, the want's public URL, the bridge and node keys saved
 * where the config names them.  The caller may edit k->fx.cfg, then
 * keyproc_fx_open. */
void keyproc_fx_init(struct keyproc_fx *k);
/* signer_open on k->fx.cfg, and tbs_fx told the URLs it derives. */
void keyproc_fx_open(struct keyproc_fx *k);
void keyproc_fx_fini(struct keyproc_fx *k);

/* A signed entry of type t by the bridge account (malloc'd). */
char *keyproc_fx_entry(struct keyproc_fx *k, enum ledger_entry_type t,
    uint64_t seq, const struct ledger_field *fl, size_t n);
/* The key-register entry of t's want. */
char *keyproc_fx_reg(struct keyproc_fx *k, const struct tbs_fx_tbs *t,
    char id[65]);
/* The cert-issued entry carrying t's TBS, whatever it holds. */
char *keyproc_fx_cert(struct keyproc_fx *k, const struct tbs_fx_tbs *t,
    const char *id);

/* Appends lines (cosignatures) to the signed checkpoint note, given the
 * checkpoint's body and time. */
typedef void keyproc_fx_cosign_fn(void *arg, const char *body, time_t now,
    char *note, size_t notelen);

/*
 * Builds case c, its ledger of two leaves (the registration, then the
 * certificate entry) and the node's checkpoint (with cosign's lines when
 * cosign is not NULL), and asks the key process to sign it.  0 with
 * *cert, or -1 / -2 with why.
 */
int keyproc_fx_sign(struct keyproc_fx *k, enum tbs_fx_case c,
    keyproc_fx_cosign_fn *cosign, void *arg, X509 **cert, char *why,
    size_t whylen);

struct keyproc_fx_kp {
	char dir[PATH_MAX];
	struct bridge_config cfg;
	struct keyproc *kp;
	struct signer *s;
	X509 *root;
	struct ledger_merkle *tree;	/* KEYPROC_FX_NLEAVES leaves */
	enum keyproc_chan chan;		/* keyproc_fx_call()'s: the spare one */
};

/* cmocka group setup and teardown: the data directory, its keys, the
 * tree; the state a struct keyproc_fx_kp. */
int keyproc_fx_group_setup(void **state);
int keyproc_fx_group_teardown(void **state);
/* A key process and its signer; stopped. */
void keyproc_fx_up(struct keyproc_fx_kp *f);
void keyproc_fx_down(struct keyproc_fx_kp *f);
/* Each test starts a key process with no promise yet. */
int keyproc_fx_setup(void **state);
int keyproc_fx_teardown(void **state);
/* One request on f->chan (the spare channel unless a test says): 0
 * signed, -1 refused (why must contain want), -2 gone.  The answer is
 * freed. */
int keyproc_fx_call(struct keyproc_fx_kp *f, enum keyproc_op op,
    struct keyproc_buf *req, const char *want);
/* A checkpoint request for the first size leaves of the tree, proven
 * from old (proof NULL: none; bad: one hash flipped). */
int keyproc_fx_cp_call(struct keyproc_fx_kp *f, uint64_t size,
    const uint8_t *root_override, uint64_t old, int with_proof, int bad,
    const char *want);

#endif
