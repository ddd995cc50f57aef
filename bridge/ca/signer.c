/*
 * signer.c: the network process's signer, the client of the key process
 * (bridge/keyproc/keyproc.h; docs/design.md "Processes").
 *
 * Network-facing code (enroll.c, status.c, the ledger writer) holds a
 * struct signer * and asks it to sign; the private keys are in the key
 * process, which checks every request on its side.  This file turns each
 * call into one typed request on the calling thread's channel:
 *
 *	signer_sign_entry      loop    entry body -> signature line
 *	signer_entry_send/recv loop    the same in two halves, pipelined
 *	                               from the event loop (enroll_entry.c)
 *	signer_sign_committed  loop    struct ca_cert_req -> certificate
 *	signer_cert_send/recv  cert    the same in two halves, pipelined
 *	                               from the event loop (enroll_sign.c)
 *	signer_sign_cert       loop    legacy: X509 -> signed X509
 *	signer_sign_ocsp       OCSP    the responses' typed fields -> signed
 *	                               BasicOCSPResponse (certs added here)
 *	signer_sign_crl        OCSP    CRL -> signed CRL
 *	signer_sign_checkpoint writer  checkpoint body + consistency proof
 *	                               from the last signed one -> signature
 *
 * What the network process needs to know (the certificates, the issuer
 * id, the node's vkey, the bridge account's public key, the last signed
 * checkpoint) comes from INFO once at start.  The SIGN_CRL request
 * carries DER that OpenSSL can only encode signed: it is signed
 * here first with a throwaway Ed25519 key made at start (a placeholder,
 * no secret: the key process replaces that signature).
 */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "bridge/ca/ca.h"
#include "bridge/keyproc/keyproc.h"

#include "bridge/ca/signer_int.h"

/* Reads INFO's answer into s.  0, or -1 with err set. */
static int
signer_info(struct signer *s, const uint8_t *p, size_t len, char *err,
    size_t errlen)
{
	struct keyproc_rd r = { p, len, 0, 0 };
	char id[LEDGER_NAME_MAX + 1];
	const uint8_t *root;
	size_t rlen;
	uint64_t n;

	s->niss = 1;
	if (signer_info_iss(&s->iss[0], &r) != 0)
		goto bad;
	if (keyproc_get_str(&r, id, sizeof(id)) != 0 ||
	    strcmp(id, s->iss[0].issuer_id) != 0 ||
	    keyproc_get_str(&r, s->vkey, sizeof(s->vkey)) != 0 ||
	    keyproc_get_str(&r, s->account, sizeof(s->account)) != 0 ||
	    keyproc_get_str(&r, s->account_pub, sizeof(s->account_pub)) != 0)
		goto bad;
	s->cp_size = keyproc_get_u64(&r);
	root = keyproc_get_bytes(&r, &rlen);
	if (r.err || rlen != LEDGER_HASH_LEN)
		goto bad;
	memcpy(s->cp_root, root, LEDGER_HASH_LEN);
	s->iss[0].original = keyproc_get_u64(&r) != 0;
	n = keyproc_get_u64(&r);
	if (r.err || n > CA_ISSUERS_MAX - 1)
		goto bad;
	for (uint64_t i = 0; i < n; i++) {
		s->niss++;
		if (signer_info_iss(&s->iss[s->niss - 1], &r) != 0)
			goto bad;
		s->iss[s->niss - 1].original = keyproc_get_u64(&r) != 0;
	}
	if (r.err || r.off != r.len)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "the key process's INFO answer is malformed");
	return -1;
}

struct signer *
signer_new(struct keyproc *kp, char *err, size_t errlen)
{
	struct signer *s = NULL, *ret = NULL;
	char why[KEYPROC_WHY_MAX];
	uint8_t *ans = NULL;
	size_t len;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	s->kp = kp;
	switch (keyproc_call(kp, KEYPROC_CHAN_LOOP, KEYPROC_OP_INFO, NULL,
	    &ans, &len, why, sizeof(why))) {
	case 0:
		break;
	case -1:		/* its start-up error */
		snprintf(err, errlen, "%s", why);
		goto out;
	default:
		snprintf(err, errlen, "the key process did not start");
		goto out;
	}
	if (signer_info(s, ans, len, err, errlen) != 0)
		goto out;
	if ((s->placeholder = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) ==
	    NULL) {
		snprintf(err, errlen, "cannot make the placeholder key");
		goto out;
	}
	ret = s;
	s = NULL;
out:
	free(ans);
	signer_free(s);
	ERR_clear_error();
	return ret;
}

struct signer *
signer_open(const struct bridge_config *cfg, char *err, size_t errlen)
{
	struct keyproc *kp;
	struct signer *s;

	if ((kp = keyproc_start(cfg, 0, err, errlen)) == NULL)
		return NULL;
	if ((s = signer_new(kp, err, errlen)) == NULL) {
		keyproc_free(kp);
		return NULL;
	}
	s->own_kp = 1;
	return s;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->niss; i++) {
		X509_free(s->iss[i].issuer);
		X509_free(s->iss[i].ocsp_cert);
		OCSP_CERTID_free(s->iss[i].cid[0]);
		OCSP_CERTID_free(s->iss[i].cid[1]);
	}
	EVP_PKEY_free(s->placeholder);
	if (s->own_kp)
		keyproc_free(s->kp);
	free(s);
}

int
signer_available(struct signer *s)
{
	return s != NULL && !keyproc_dead(s->kp);
}

struct keyproc *
signer_keyproc(struct signer *s)
{
	return s->kp;
}

/* A refusal of op by the key process: logged with its reason (the
 * failed check), counted for /metrics. */
static void
signer_refused(struct signer *s, int op, const char *why)
{
	log_warn("signer: the key process refused %s: %s",
	    signer_op_name(op), why);
	if (op > 0 && op < KEYPROC_OP_MAX)
		atomic_fetch_add_explicit(&s->refused[op], 1,
		    memory_order_relaxed);
}

/* See ca.h. */
const char *
signer_op_name(int op)
{
	static const char *const names[KEYPROC_OP_MAX] = {
		[KEYPROC_OP_INFO] = "info",
		[KEYPROC_OP_SIGN_ENTRY] = "sign_entry",
		[KEYPROC_OP_SIGN_OCSP] = "sign_ocsp",
		[KEYPROC_OP_SIGN_CRL] = "sign_crl",
		[KEYPROC_OP_SIGN_CHECKPOINT] = "sign_checkpoint",
		[KEYPROC_OP_SIGN_CERT] = "sign_cert",
	};

	return op > 0 && op < KEYPROC_OP_MAX && names[op] != NULL ?
	    names[op] : "unknown";
}

/* See ca.h. */
uint64_t
signer_refusals(struct signer *s, int op)
{
	return s != NULL && op > 0 && op < KEYPROC_OP_MAX ?
	    atomic_load_explicit(&s->refused[op], memory_order_relaxed) : 0;
}

/* One call; logs and counts a refusal.  0, -1 refused, -2 unavailable. */
static int
signer_call(struct signer *s, enum keyproc_chan ch, enum keyproc_op op,
    struct keyproc_buf *req, uint8_t **ans, size_t *len, char *why,
    size_t whylen)
{
	int rc = keyproc_call(s->kp, ch, op, req, ans, len, why, whylen);

	if (rc == -1)
		signer_refused(s, op, why);
	keyproc_buf_free(req);
	return rc;
}

/* The signed note of SIGN_ENTRY's answer ans[0..len) for note: note,
 * the blank line and the signature line (as ledger_entry_sign makes it),
 * malloc'd; or NULL. */
static char *
signer_entry_ans(const char *note, const uint8_t *ans, size_t len)
{
	struct keyproc_rd r = { ans, len, 0, 0 };
	char line[256], *out;
	size_t nlen = strlen(note);

	if (keyproc_get_str(&r, line, sizeof(line)) != 0)
		return NULL;
	if ((out = malloc(nlen + strlen(line) + 2)) != NULL)
		snprintf(out, nlen + strlen(line) + 2, "%s\n%s", note, line);
	return out;
}

/* See ca.h.  note is freed in every case (ledger_entry_sign's
 * contract). */
char *
signer_sign_entry(struct signer *s, char *note)
{
	struct keyproc_buf req = { 0 };
	char why[KEYPROC_WHY_MAX];
	uint8_t *ans = NULL;
	size_t len;
	char *out = NULL;

	if (s == NULL || note == NULL)
		goto out;
	keyproc_put_bytes(&req, note, strlen(note));
	if (signer_call(s, KEYPROC_CHAN_LOOP, KEYPROC_OP_SIGN_ENTRY, &req,
	    &ans, &len, why, sizeof(why)) != 0)
		goto out;
	out = signer_entry_ans(note, ans, len);
out:
	free(ans);
	free(note);
	return out;
}

/* See ca.h. */
int
signer_entry_send(struct signer *s, const char *note, char *why,
    size_t whylen)
{
	struct keyproc_buf req = { 0 };
	int rc;

	keyproc_put_bytes(&req, note, strlen(note));
	rc = keyproc_send_req(s->kp, KEYPROC_CHAN_LOOP, KEYPROC_OP_SIGN_ENTRY,
	    &req, why, whylen);
	keyproc_buf_free(&req);
	return rc;
}

/* See ca.h. */
int
signer_entry_recv(struct signer *s, const char *note, char **out, char *why,
    size_t whylen)
{
	uint8_t *ans = NULL;
	size_t len;
	int rc;

	*out = NULL;
	rc = keyproc_recv_ans(s->kp, KEYPROC_CHAN_LOOP, KEYPROC_OP_SIGN_ENTRY,
	    &ans, &len, why, whylen);
	if (rc == -1)
		signer_refused(s, KEYPROC_OP_SIGN_ENTRY, why);
	else if (rc == 0 && (*out = signer_entry_ans(note, ans, len)) == NULL) {
		snprintf(why, whylen, "the key process's answer is malformed");
		rc = -1;
	}
	free(ans);
	return rc;
}

/* See ca.h. */
int
signer_loop_fd(struct signer *s)
{
	return s->kp != NULL ? keyproc_fd(s->kp, KEYPROC_CHAN_LOOP) : -1;
}

/* time_t of an ASN1_TIME, or -1. */
static int64_t
signer_time(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

/* Puts one SingleResponse's typed fields (ops.c ocsp_single). */
static int
signer_put_single(struct keyproc_buf *b, OCSP_SINGLERESP *one)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *t1 = NULL, *t2 = NULL;
	unsigned char *der = NULL;
	int st, reason = -1, len;
	int64_t r = 0, a, z;

	st = OCSP_single_get0_status(one, &reason, &rev, &t1, &t2);
	if ((len = i2d_OCSP_CERTID((OCSP_CERTID *)OCSP_SINGLERESP_get0_id(
	    one), &der)) <= 0)
		return -1;
	a = signer_time(t1);
	z = t2 != NULL ? signer_time(t2) : 0;	/* 0: no nextUpdate */
	if (st == V_OCSP_CERTSTATUS_REVOKED)
		r = signer_time(rev);
	keyproc_put_bytes(b, der, (size_t)len);
	OPENSSL_free(der);
	if (a < 0 || z < 0 || r < 0 || reason < -1 || reason > 10)
		return -1;
	keyproc_put_u64(b, st == V_OCSP_CERTSTATUS_GOOD ? 0 :
	    st == V_OCSP_CERTSTATUS_REVOKED ? 1 : 2);
	keyproc_put_u64(b, (uint64_t)r);
	keyproc_put_u64(b, st == V_OCSP_CERTSTATUS_REVOKED ?
	    (uint64_t)(reason + 1) : 0);
	keyproc_put_u64(b, (uint64_t)a);
	keyproc_put_u64(b, (uint64_t)z);
	return 0;
}

/* Puts one response's single responses and extensions (ops.c
 * ocsp_one).  0 or -1. */
static int
signer_put_ocsp(struct keyproc_buf *b, OCSP_BASICRESP *bs)
{
	unsigned char *der = NULL;
	int n, m, i, dlen;

	if ((n = OCSP_resp_count(bs)) <= 0)
		return -1;
	keyproc_put_u64(b, (uint64_t)n);
	for (i = 0; i < n; i++)
		if (signer_put_single(b, OCSP_resp_get0(bs, i)) != 0)
			return -1;
	m = OCSP_BASICRESP_get_ext_count(bs);
	keyproc_put_u64(b, (uint64_t)m);
	for (i = 0; i < m; i++) {
		if ((dlen = i2d_X509_EXTENSION(OCSP_BASICRESP_get_ext(bs, i),
		    &der)) <= 0)
			return -1;
		keyproc_put_bytes(b, der, (size_t)dlen);
		OPENSSL_free(der);
		der = NULL;
	}
	return 0;
}

/* The SIGN_OCSP request for bs[0..n) into req.  0 or -1. */
static int
signer_ocsp_req(struct signer *s, OCSP_BASICRESP **bs, int n,
    struct keyproc_buf *req)
{
	const struct signer_iss *is;

	if (s == NULL || n <= 0 || n > KEYPROC_OCSP_BATCH_MAX ||
	    (is = signer_ocsp_issuer(s, bs[0])) == NULL)
		return -1;
	keyproc_put_bytes(req, is->responder, sizeof(is->responder));
	keyproc_put_u64(req, (uint64_t)n);
	for (int i = 0; i < n; i++)
		if (signer_put_ocsp(req, bs[i]) != 0)
			return -1;
	return req->err ? -1 : 0;
}

/* Replaces bs[0..n) by the signed responses of answer ans, each with
 * the OCSP signer's certificate in certs (RFC 6960 4.2.2.2); nothing
 * changes unless all parse.  0 or -1. */
static int
signer_ocsp_ans(struct signer *s, const uint8_t *ans, size_t len,
    OCSP_BASICRESP **bs, int n)
{
	struct keyproc_rd r = { ans, len, 0, 0 };
	OCSP_BASICRESP *out[KEYPROC_OCSP_BATCH_MAX];
	const struct signer_iss *is = signer_ocsp_issuer(s, bs[0]);
	const uint8_t *p;
	size_t dlen;
	int i, rc = -1;

	memset(out, 0, sizeof(out));
	for (i = 0; i < n && is != NULL; i++) {
		p = keyproc_get_bytes(&r, &dlen);
		if (r.err || (out[i] = d2i_OCSP_BASICRESP(NULL, &p,
		    (long)dlen)) == NULL ||
		    OCSP_basic_add1_cert(out[i], is->ocsp_cert) != 1)
			goto out;
	}
	if (is == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		OCSP_BASICRESP_free(bs[i]);
		bs[i] = out[i];
		out[i] = NULL;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		OCSP_BASICRESP_free(out[i]);
	ERR_clear_error();
	return rc;
}

/* See ca.h. */
int
signer_sign_ocsp_batch(struct signer *s, OCSP_BASICRESP **bs, int n)
{
	struct keyproc_buf req = { 0 };
	char why[KEYPROC_WHY_MAX];
	uint8_t *ans = NULL;
	size_t len;
	int rc = -1;

	if (signer_ocsp_req(s, bs, n, &req) != 0) {
		keyproc_buf_free(&req);
		return -1;
	}
	if (signer_call(s, KEYPROC_CHAN_OCSP, KEYPROC_OP_SIGN_OCSP, &req,
	    &ans, &len, why, sizeof(why)) == 0)
		rc = signer_ocsp_ans(s, ans, len, bs, n);
	free(ans);
	return rc;
}

/* See ca.h. */
int
signer_ocsp_send(struct signer *s, OCSP_BASICRESP **bs, int n)
{
	struct keyproc_buf req = { 0 };
	char why[KEYPROC_WHY_MAX];
	int rc = -1;

	if (signer_ocsp_req(s, bs, n, &req) == 0 &&
	    keyproc_send_req(s->kp, KEYPROC_CHAN_OCSP, KEYPROC_OP_SIGN_OCSP,
	    &req, why, sizeof(why)) == 0)
		rc = 0;
	keyproc_buf_free(&req);
	return rc;
}

/* See ca.h. */
int
signer_ocsp_recv(struct signer *s, OCSP_BASICRESP **bs, int n)
{
	char why[KEYPROC_WHY_MAX];
	uint8_t *ans = NULL;
	size_t len;
	int rc = -1;

	switch (keyproc_recv_ans(s->kp, KEYPROC_CHAN_OCSP,
	    KEYPROC_OP_SIGN_OCSP, &ans, &len, why, sizeof(why))) {
	case 0:
		rc = signer_ocsp_ans(s, ans, len, bs, n);
		break;
	case -1:
		signer_refused(s, KEYPROC_OP_SIGN_OCSP, why);
		break;
	}
	free(ans);
	return rc;
}

/* See ca.h. */
int
signer_sign_ocsp(struct signer *s, OCSP_BASICRESP **bs)
{
	return bs == NULL || *bs == NULL ? -1 :
	    signer_sign_ocsp_batch(s, bs, 1);
}

/* See ca.h. */
int
signer_sign_crl(struct signer *s, X509_CRL **crl)
{
	return signer_sign_crl_of(s, 0, crl);
}

/* See ca.h.  *crl is replaced by the signed CRL. */
int
signer_sign_crl_of(struct signer *s, size_t i, X509_CRL **crl)
{
	struct keyproc_buf req = { 0 };
	char why[KEYPROC_WHY_MAX];
	unsigned char *der = NULL;
	X509_CRL *out = NULL;
	uint8_t *ans = NULL;
	const uint8_t *p;
	size_t len;
	int dlen, rc = -1;

	if (s == NULL || i >= s->niss || crl == NULL || *crl == NULL ||
	    X509_CRL_sign(*crl, s->placeholder, NULL) <= 0 ||
	    (dlen = i2d_X509_CRL(*crl, &der)) <= 0)
		goto out;
	keyproc_put_str(&req, s->iss[i].issuer_id);
	keyproc_put_bytes(&req, der, (size_t)dlen);
	if (signer_call(s, KEYPROC_CHAN_OCSP, KEYPROC_OP_SIGN_CRL, &req, &ans,
	    &len, why, sizeof(why)) != 0)
		goto out;
	{
		struct keyproc_rd r = { ans, len, 0, 0 };

		p = keyproc_get_bytes(&r, &len);
		if (r.err)
			goto out;
	}
	if ((out = d2i_X509_CRL(NULL, &p, (long)len)) == NULL)
		goto out;
	X509_CRL_free(*crl);
	*crl = out;
	rc = 0;
out:
	keyproc_buf_free(&req);
	OPENSSL_free(der);
	free(ans);
	ERR_clear_error();
	return rc;
}

/* See ca.h.  Writer thread only (s->cp_* are its own). */
int
signer_sign_checkpoint(void *arg, const struct ledger_seal *sl, char *line,
    size_t linelen)
{
	struct signer *s = arg;
	struct keyproc_buf req = { 0 };
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t root_m[LEDGER_HASH_LEN], *ans = NULL;
	char why[KEYPROC_WHY_MAX];
	size_t n = 0, len;
	int rc = -1;

	/* The proof goes from the key process's last checkpoint; when this
	 * tree does not hold it, the key process refuses and says why. */
	if (s->cp_size > 0 && s->cp_size <= sl->size) {
		if (sl->consistency(sl, s->cp_size, root_m, proof, &n) != 0)
			n = 0;
		else if (memcmp(root_m, s->cp_root, LEDGER_HASH_LEN) != 0)
			log_err("signer: the key process's last checkpoint "
			    "(size %llu) is not in this ledger's tree",
			    (unsigned long long)s->cp_size);
	}
	keyproc_put_str(&req, sl->body);
	keyproc_put_u64(&req, s->cp_size);
	keyproc_put_bytes(&req, proof, n * LEDGER_HASH_LEN);
	if (signer_call(s, KEYPROC_CHAN_WRITER, KEYPROC_OP_SIGN_CHECKPOINT,
	    &req, &ans, &len, why, sizeof(why)) != 0)
		goto out;
	{
		struct keyproc_rd r = { ans, len, 0, 0 };

		if (keyproc_get_str(&r, line, linelen) != 0)
			goto out;
	}
	s->cp_size = sl->size;
	memcpy(s->cp_root, sl->root, LEDGER_HASH_LEN);
	rc = 0;
out:
	free(ans);
	return rc;
}

/* Puts a proof as one byte string. */
static void
signer_put_proof(struct keyproc_buf *b, const uint8_t (*p)[LEDGER_HASH_LEN],
    size_t n)
{
	keyproc_put_bytes(b, p, n * LEDGER_HASH_LEN);
}

/*
 * Sets the signature of the certificate der[0..len) (the key process's
 * answer) into x, the bridge's own unsigned certificate of the same TBS:
 * only when der's TBSCertificate is byte for byte x's.  d2i_X509 of the
 * answer would decode the subject's key again (OpenSSL 3.0 builds a
 * decoder chain for it: a tenth of an enrollment's CPU); the TLV headers
 * are read with ASN1_get_object and the signature with
 * d2i_ASN1_BIT_STRING.  0, or -1 (then the caller parses der).
 */
static int
signer_splice(X509 *x, const uint8_t *der, size_t len)
{
	const ASN1_BIT_STRING *csig;
	const X509_ALGOR *calg;
	ASN1_BIT_STRING *sig = NULL;
	const unsigned char *p = der, *tbs, *end;
	unsigned char *enc = NULL;
	long clen;
	int tag, cls, n, rc = -1;

	if (len > LONG_MAX || (ASN1_get_object(&p, &clen, &tag, &cls,
	    (long)len) & 0x80) != 0 || tag != V_ASN1_SEQUENCE)
		goto out;
	end = p + clen;
	tbs = p;			/* TBSCertificate */
	if ((ASN1_get_object(&p, &clen, &tag, &cls, end - p) & 0x80) != 0 ||
	    tag != V_ASN1_SEQUENCE || clen > end - p)
		goto out;
	p += clen;
	if ((n = i2d_re_X509_tbs(x, &enc)) <= 0 || n != p - tbs ||
	    memcmp(enc, tbs, (size_t)n) != 0)
		goto out;
	/* signatureAlgorithm: the TBS's own (ca_sign_tbs_der checked it) */
	if ((ASN1_get_object(&p, &clen, &tag, &cls, end - p) & 0x80) != 0 ||
	    tag != V_ASN1_SEQUENCE || clen > end - p)
		goto out;
	p += clen;
	if ((sig = d2i_ASN1_BIT_STRING(NULL, &p, end - p)) == NULL ||
	    p != end)
		goto out;
	/* OpenSSL has no setter for a certificate's signature but signing;
	 * these are x's own fields, outside its (cached) TBS. */
	X509_get0_signature(&csig, &calg, x);
	if (X509_ALGOR_copy((X509_ALGOR *)calg, X509_get0_tbs_sigalg(x)) != 1 ||
	    ASN1_STRING_copy((ASN1_BIT_STRING *)csig, sig) != 1)
		goto out;
	rc = 0;
out:
	ASN1_BIT_STRING_free(sig);
	OPENSSL_free(enc);
	ERR_clear_error();
	return rc;
}

/* The SIGN_CERT request for q into req. */
static void
signer_cert_req(const struct ca_cert_req *q, struct keyproc_buf *req)
{
	keyproc_put_str(req, q->checkpoint);
	keyproc_put_str(req, q->entry);
	keyproc_put_u64(req, q->entry_index);
	signer_put_proof(req, q->entry_proof, q->entry_nproof);
	keyproc_put_str(req, q->reg);
	keyproc_put_u64(req, q->reg_index);
	signer_put_proof(req, q->reg_proof, q->reg_nproof);
}

/* The certificate of SIGN_CERT's answer ans[0..len): the signature
 * spliced into unsigned_cert when its TBS is the same (get1), else the
 * answer parsed.  0, or -1 with why set. */
static int
signer_cert_ans(X509 *unsigned_cert, const uint8_t *ans, size_t len,
    X509 **cert, char *why, size_t whylen)
{
	struct keyproc_rd r = { ans, len, 0, 0 };
	const uint8_t *p;
	int rc = -1;

	p = keyproc_get_bytes(&r, &len);
	if (r.err) {
		snprintf(why, whylen, "the key process's answer is malformed");
		goto out;
	}
	if (unsigned_cert != NULL && signer_splice(unsigned_cert, p,
	    len) == 0 && X509_up_ref(unsigned_cert) == 1) {
		*cert = unsigned_cert;
	} else if ((*cert = d2i_X509(NULL, &p, (long)len)) == NULL) {
		snprintf(why, whylen, "the key process's certificate does "
		    "not parse");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	return rc;
}

/* See ca.h. */
int
signer_sign_committed(struct signer *s, const struct ca_cert_req *q,
    X509 **cert, char *why, size_t whylen)
{
	struct keyproc_buf req = { 0 };
	uint8_t *ans = NULL;
	size_t len;
	int rc;

	*cert = NULL;
	signer_cert_req(q, &req);
	if ((rc = signer_call(s, KEYPROC_CHAN_LOOP, KEYPROC_OP_SIGN_CERT, &req,
	    &ans, &len, why, whylen)) == 0)
		rc = signer_cert_ans(q->cert, ans, len, cert, why, whylen);
	free(ans);
	return rc;
}

/* See ca.h. */
int
signer_cert_send(struct signer *s, const struct ca_cert_req *q, char *why,
    size_t whylen)
{
	struct keyproc_buf req = { 0 };
	int rc;

	signer_cert_req(q, &req);
	rc = keyproc_send_req(s->kp, KEYPROC_CHAN_CERT, KEYPROC_OP_SIGN_CERT,
	    &req, why, whylen);
	keyproc_buf_free(&req);
	return rc;
}

/* See ca.h. */
int
signer_cert_recv(struct signer *s, X509 *unsigned_cert, X509 **cert,
    char *why, size_t whylen)
{
	uint8_t *ans = NULL;
	size_t len;
	int rc;

	*cert = NULL;
	rc = keyproc_recv_ans(s->kp, KEYPROC_CHAN_CERT, KEYPROC_OP_SIGN_CERT,
	    &ans, &len, why, whylen);
	if (rc == -1)
		signer_refused(s, KEYPROC_OP_SIGN_CERT, why);
	else if (rc == 0)
		rc = signer_cert_ans(unsigned_cert, ans, len, cert, why,
		    whylen);
	free(ans);
	return rc;
}

/* See ca.h. */
int
signer_cert_fd(struct signer *s)
{
	return s->kp != NULL ? keyproc_fd(s->kp, KEYPROC_CHAN_CERT) : -1;
}

const char *
signer_vkey(struct signer *s)
{
	return s->vkey;
}
