/*
 * keyproc.h: the key process and its typed protocol (docs/design.md
 * "Processes").
 *
 * `keybridge serve` forks the key process first, before any thread, any
 * listener or the ledger.  The key process loads the issuing CA key, the
 * OCSP signer key (of every issuing CA of the data directory after a
 * rollover: bridge/ca/issuers.c), the bridge account's ledger key and the node's
 * checkpoint key (ca_key_load), closes every other descriptor, narrows
 * itself (sandbox_keyproc) and answers requests on socketpairs, one per
 * signing thread of the network process, as OpenBSD acme-client's keyproc
 * answers netproc.  Every request is checked on the key process's side:
 * what it refuses is listed per operation below.
 *
 * A message is a fixed header (payload length, operation, status; network
 * byte order) and a payload of at most KEYPROC_MSG_MAX bytes.  A payload
 * is a sequence of typed fields (proto.c): unsigned 64-bit integers and
 * length-prefixed byte strings.  An answer carries the request's operation
 * and KEYPROC_OK with the operation's result, or KEYPROC_REFUSED with a
 * one-line reason.
 */
#ifndef KEYBRIDGE_KEYPROC_H
#define KEYBRIDGE_KEYPROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bridge/config.h"

/* A CRL of ~400,000 revoked certificates; every other message is far
 * smaller (an OCSP request of OCSPR_MAX_CERTIDS answers: a few KiB). */
#define KEYPROC_MSG_MAX		(16u << 20)
#define KEYPROC_HDR_LEN		8	/* u32 length, u16 op, u16 status */
#define KEYPROC_WHY_MAX		256	/* a refusal's reason, one line */
/* SIGN_OCSP: responses in one request (OCSP pre-signing at start sends
 * OCSPR_PRESIGN_BATCH serials x 2 hashes), single responses in one
 * (OCSPR_MAX_CERTIDS). */
#define KEYPROC_OCSP_BATCH_MAX	64
#define KEYPROC_OCSP_SINGLES_MAX	64
/* Pipelined requests (keyproc_send_req): two in flight, each well under
 * the smallest AF_UNIX socket buffer. */
#define KEYPROC_PIPELINE	2
#define KEYPROC_PIPELINE_MAX	(32u << 10)
/* SIGN_CERT requests the event loop keeps in flight on KEYPROC_CHAN_CERT
 * (bridge/enroll_sign.c): at most this many requests of at most
 * KEYPROC_PIPELINE_MAX bytes, and their answers (a certificate of at most
 * LEDGER_CERT_DER_MAX bytes, or a refusal), fit the smallest AF_UNIX
 * socket buffer, so neither side ever blocks writing. */
#define KEYPROC_CERT_PIPELINE	8
/* SIGN_ENTRY requests the event loop keeps in flight on KEYPROC_CHAN_LOOP
 * (bridge/enroll_entry.c): an entry body is at most a few KiB, its
 * answer one line. */
#define KEYPROC_ENTRY_PIPELINE	8
/* After the key process died, serve keeps answering (EST 503, OCSP from
 * its cache) this long, then exits non-zero for its supervisor. */
#define KEYPROC_DEATH_GRACE_SEC	5
#define KEYPROC_RETRY_AFTER	10	/* seconds, on the 503 meanwhile */
#define KEYPROC_STATE_FILE	"keyproc.state"	/* in the data dir, 0600 */

enum keyproc_op {
	/* -> nothing.  <- issuer certificate DER, OCSP signer certificate
	 * DER, issuer id, the node's vkey, bridge account name, its public
	 * key (base64 SPKI), last signed checkpoint size and root; then
	 * (issue 17) whether that issuer is init's (u64 0/1), how many
	 * other issuers it holds (rolled over from), and each one's CA
	 * DER, OCSP signer DER and init's flag.  The first issuer is the
	 * current one. */
	KEYPROC_OP_INFO = 1,
	/* -> unsigned entry body.  <- its signature line ("— bridge ...\n").
	 * Refused: not an entry body, a type the bridge account may not sign
	 * (only cert-issued, key-register, cert-revoked), another account,
	 * another origin. */
	KEYPROC_OP_SIGN_ENTRY,
	/* -> responder key hash (SHA-1, RFC 6960 ResponderID byKey), then a
	 * batch of responses, each its single responses (CertID, status,
	 * times) and extensions.  <- each BasicOCSPResponse DER, signed,
	 * without certs.  The responder names the issuer (each issuer has
	 * its own delegated responder).  Refused: a responder of no issuer
	 * held, a CertID of another issuer than the responder's, an
	 * extension other than nonce and extended-revoke. */
	KEYPROC_OP_SIGN_OCSP,
	/* -> issuer id, CRL DER (placeholder signature, its CRL number).
	 * <- CRL DER.  Refused: an id of no issuer held, a CRL name not
	 * that issuer's, a number not above that issuer's last signed one
	 * (persisted per issuer: init's CA in keyproc.state, a rolled one
	 * in DIR/keyproc-crl.<id>.state). */
	KEYPROC_OP_SIGN_CRL,
	/* -> checkpoint body, the size of the last one the key process signed
	 * and an RFC 9162 consistency proof from it.  <- signature line.
	 * Refused: another origin, a smaller size, the same size with another
	 * root, a bigger one without a valid proof from the last (persisted
	 * before the answer). */
	KEYPROC_OP_SIGN_CHECKPOINT,
	/* -> struct ca_cert_req.  <- certificate DER.  Refused unless
	 * ca_cert_admit() and ca_sign_tbs_der() accept it, for the current
	 * issuer only (an entry naming an issuer rolled over from is
	 * refused).  The only way to an issuing CA key's signature on a
	 * certificate. */
	KEYPROC_OP_SIGN_CERT,
	KEYPROC_OP_MAX
};

enum keyproc_status {
	KEYPROC_OK = 0,
	KEYPROC_REFUSED = 1,
};

/* One channel per signing thread, so that a burst of OCSP pre-signing
 * never queues an enrollment behind it. */
enum keyproc_chan {
	KEYPROC_CHAN_LOOP,		/* event loop: entries, certificates */
	KEYPROC_CHAN_OCSP,		/* OCSP worker: responses, CRLs */
	KEYPROC_CHAN_WRITER,		/* ledger writer: checkpoints */
	KEYPROC_CHAN_CERT,		/* event loop, pipelined: SIGN_CERT */
	KEYPROC_CHAN_SPARE,		/* tools and tests */
	KEYPROC_NCHAN
};

/* ---- proto.c: framing and typed fields ---------------------------------- */

/* An outgoing payload.  Any failed put sets err; keyproc_send refuses
 * a payload with err set. */
struct keyproc_buf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

/* A payload being read.  Any failed get sets err (and returns 0/NULL). */
struct keyproc_rd {
	const uint8_t *p;
	size_t len, off;
	int err;
};

void keyproc_put_u64(struct keyproc_buf *b, uint64_t v);
void keyproc_put_bytes(struct keyproc_buf *b, const void *p, size_t len);
void keyproc_put_str(struct keyproc_buf *b, const char *s);
void keyproc_buf_free(struct keyproc_buf *b);
uint64_t keyproc_get_u64(struct keyproc_rd *r);
/* Borrows into the payload; *len gets the length. */
const uint8_t *keyproc_get_bytes(struct keyproc_rd *r, size_t *len);
/* Copies a string field without NUL bytes that fits outlen. 0 or -1. */
int keyproc_get_str(struct keyproc_rd *r, char *out, size_t outlen);
/* A string field as a malloc'd C string (no NUL inside), or NULL. */
char *keyproc_get_strdup(struct keyproc_rd *r);

/* Sends one message: every byte written, EINTR retried.  0, or -1 (the
 * peer is gone, or len > KEYPROC_MSG_MAX). */
int keyproc_send(int fd, uint16_t op, uint16_t status, const void *p,
    size_t len);
/* Reads one message; *p is malloc'd (NULL when empty).  0; 1 at EOF on
 * a message boundary; -1 with why set: a truncated message, a length
 * above KEYPROC_MSG_MAX (the stream cannot be followed after either), or
 * a read error. */
int keyproc_recv(int fd, uint16_t *op, uint16_t *status, uint8_t **p,
    size_t *len, char *why, size_t whylen);

/* ---- keyproc.c: the key process ------------------------------------------- */

/* Creates the channels and forks the key process, which loads the keys
 * cfg names and serves until every channel is closed (it never returns
 * in the child).  Call before any thread starts.  The parent's end of
 * each channel is close-on-exec.  With KEYPROC_DROP_USER (serve, whose
 * data directory sandbox_hand_over gave to the user) the key process,
 * when started as root, drops to cfg->user once its keys are loaded;
 * tools and tests keep the caller's user.  A new handle, or NULL with err set
 * (the child's start-up failure reaches the parent as the INFO call's
 * EOF: signer_new says so). */
#define KEYPROC_DROP_USER 0x1	/* serve: drop to cfg->user after loading */
struct keyproc *keyproc_start(const struct bridge_config *cfg, int flags,
    char *err, size_t errlen);

/* ---- client.c: the network process's side --------------------------------- */

struct keyproc;

/* One request and its answer on channel ch, under the channel's lock.
 * 0 with *ans (malloc'd, caller frees) and *anslen; -1 refused, why set
 * to the key process's reason; -2 the key process is unavailable (EOF,
 * an I/O error: marks it dead and logs once). */
int keyproc_call(struct keyproc *kp, enum keyproc_chan ch,
    enum keyproc_op op, const struct keyproc_buf *req, uint8_t **ans,
    size_t *anslen, char *why, size_t whylen);
/* Pipelining on a channel that one thread owns (the OCSP worker's
 * pre-signing): keyproc_send_req writes a request without waiting for
 * its answer, keyproc_recv_ans reads the oldest outstanding answer.  At
 * most KEYPROC_PIPELINE requests in flight, each of at most
 * KEYPROC_PIPELINE_MAX bytes, so that neither side can block writing
 * while the other writes (socket buffers hold them).  Returns as
 * keyproc_call. */
int keyproc_send_req(struct keyproc *kp, enum keyproc_chan ch,
    enum keyproc_op op, const struct keyproc_buf *req, char *why,
    size_t whylen);
int keyproc_recv_ans(struct keyproc *kp, enum keyproc_chan ch,
    enum keyproc_op op, uint8_t **ans, size_t *anslen, char *why,
    size_t whylen);
pid_t keyproc_pid(const struct keyproc *kp);
/* 1 once the key process is known gone, else 0. */
int keyproc_dead(struct keyproc *kp);
/* The network process saw the key process exit (SIGCHLD): reaps it and
 * marks it dead.  1 when it had exited (status in *wstatus), else 0. */
int keyproc_reap(struct keyproc *kp, int *wstatus);
/* Closes every channel (the key process exits at EOF) and waits for it
 * up to a second, then kills it. */
void keyproc_free(struct keyproc *kp);

/* ---- state.c: the key process's promise, read from outside ---------------- */

/* The tree size of the last checkpoint the key process of cfg's data
 * directory signed (its KEYPROC_STATE_FILE, persisted before each
 * answer), into *size: 0 when it never signed one.  The network
 * process's heal at start (bridge/heal.c) bounds itself by it.  0, or
 * -1 with err set (a damaged file). */
int keyproc_signed_size(const struct bridge_config *cfg, uint64_t *size,
    char *err, size_t errlen);
/* The last checkpoint the key process whose state file is path signed
 * (backup and restore, issue 17): *have 0 when none (or no file), else
 * its size and root.  0, or -1 with err set (a damaged file). */
int keyproc_promise_read(const char *path, int *have, uint64_t *size,
    uint8_t root[32], char *err, size_t errlen);
/* Raises the promise in the state file path (restore --checkpoint, issue
 * 17) to the checkpoint (size, root) the node signed elsewhere, keeping
 * the CRL number: its key process then signs no checkpoint that does not
 * extend it.  A promise already at size or beyond is kept.  Not while a
 * key process runs on path.  0, or -1 with err set. */
int keyproc_promise_raise(const char *path, uint64_t size,
    const uint8_t root[32], char *err, size_t errlen);
/* The raw descriptor of a channel (tests: malformed messages). */
int keyproc_fd(const struct keyproc *kp, enum keyproc_chan ch);

/* ---- sandbox.c: the narrowing of both processes --------------------------- */

#include "bridge/keyproc/sandbox.h"

#endif
