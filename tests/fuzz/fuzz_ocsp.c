/*
 * fuzz_ocsp.c: OCSP requests (ocsp/routes.c, ocsp/respond.c): a GET
 * path's decoding (ocspr_get_decode: %-escapes, '+' as a space, missing
 * padding) or a POSTed body, then the DER of an OCSPRequest, then what
 * the responder reads of it: every CertID's issuer against one issuing
 * CA (made in LLVMFuzzerInitialize, the same in every run), its serial
 * as the ledger writes it, and the unsigned BasicOCSPResponse built over
 * the request's own CertIDs and nonce, encoded.  The first input byte
 * picks GET (even) or POST (odd).  FUZZ_OCSP_SEEDS=DIR writes requests
 * for that CA's certificates as seeds (tests/fuzz/seeds.sh).
 * Properties: a decoded path fits its buffer; a serial that converts is
 * lowercase hex without leading zeros.
 */
#include "tests/fuzz/fuzz.h"

#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "ocsp/ocsp_int.h"

static struct ocspr fuzz_r;

/* A self-signed CA certificate of a fixed Ed25519 key and name, or NULL:
 * its CertID hashes (name and key) are the same in every run, so that
 * seeds written once name it. */
static X509 *
fuzz_issuer(void)
{
	static const unsigned char seed[32] = "keybridge fuzz OCSP issuer key.";
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    seed, sizeof(seed));
	X509 *x = X509_new();
	X509_NAME *n;

	if (k == NULL || x == NULL ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    (n = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"fuzz issuing CA", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, n) != 1 || X509_set_pubkey(x, k) != 1 ||
	    X509_sign(x, k, NULL) <= 0) {
		X509_free(x);
		x = NULL;
	}
	EVP_PKEY_free(k);
	return x;
}

/* A request for serials[0..n) of the issuer with hash md, a nonce or
 * not, written to DIR/name as POST (DER) and as GET (base64). */
static void
fuzz_seed(const char *dir, const char *name, const EVP_MD *md,
    const long *serials, int n, int nonce)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	ASN1_INTEGER *ai;
	OCSP_CERTID *cid;
	unsigned char *der = NULL;
	char path[4096], b64[4096];
	FILE *f;
	int i, len;

	FUZZ_CHECK(req != NULL);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK((ai = ASN1_INTEGER_new()) != NULL &&
		    ASN1_INTEGER_set(ai, serials[i]) == 1);
		FUZZ_CHECK((cid = OCSP_cert_id_new(md, X509_get_subject_name(
		    fuzz_r.issuers[0].cert), X509_get0_pubkey_bitstr(
		    fuzz_r.issuers[0].cert), ai)) != NULL);
		FUZZ_CHECK(OCSP_request_add0_id(req, cid) != NULL);
		ASN1_INTEGER_free(ai);
	}
	if (nonce)
		FUZZ_CHECK(OCSP_request_add1_nonce(req, NULL, 16) == 1);
	FUZZ_CHECK((len = i2d_OCSP_REQUEST(req, &der)) > 0);
	snprintf(path, sizeof(path), "%s/post-%s", dir, name);
	FUZZ_CHECK((f = fopen(path, "w")) != NULL);
	fputc(1, f);
	fwrite(der, 1, (size_t)len, f);
	fclose(f);
	FUZZ_CHECK(EVP_EncodeBlock((unsigned char *)b64, der, len) > 0);
	snprintf(path, sizeof(path), "%s/get-%s", dir, name);
	FUZZ_CHECK((f = fopen(path, "w")) != NULL);
	fprintf(f, "%c%s", 0, b64);
	fclose(f);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ocspr_issuer *is = &fuzz_r.issuers[0];
	const char *dir;

	FUZZ_CHECK((is->cert = fuzz_issuer()) != NULL);
	strcpy(is->id, "fuzz");
	FUZZ_CHECK((is->cid[0] = OCSP_cert_to_id(EVP_sha1(), NULL,
	    is->cert)) != NULL);
	FUZZ_CHECK((is->cid[1] = OCSP_cert_to_id(EVP_sha256(), NULL,
	    is->cert)) != NULL);
	fuzz_r.nissuers = 1;
	fuzz_r.cfg.validity = 3600;
	if ((dir = getenv("FUZZ_OCSP_SEEDS")) != NULL) {
		static const long one[] = { 0x1234abcd }, many[] = { 1, 0x7fff,
		    -5, 0, 0x10 };

		fuzz_seed(dir, "ours-sha1", EVP_sha1(), one, 1, 0);
		fuzz_seed(dir, "ours-sha256-nonce", EVP_sha256(), one, 1, 1);
		fuzz_seed(dir, "ours-many", EVP_sha1(), many, 5, 1);
		fuzz_seed(dir, "ours-sha384", EVP_sha384(), one, 1, 0);
	}
	return 0;
}

/* What the responder reads of a parsed request, and its answer. */
static void
fuzz_request(OCSP_REQUEST *req)
{
	OCSP_CERTID *cids[OCSPR_MAX_CERTIDS];
	struct ocspr_status sts[OCSPR_MAX_CERTIDS];
	char hex[OCSPR_SERIAL_MAX + 1];
	ASN1_INTEGER *serial = NULL;
	OCSP_BASICRESP *bs;
	unsigned char *der = NULL;
	size_t len;
	int i, n, md;

	n = OCSP_request_onereq_count(req);
	if (n < 1 || n > OCSPR_MAX_CERTIDS)
		return;
	memset(sts, 0, sizeof(sts));
	for (i = 0; i < n; i++) {
		cids[i] = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req,
		    i));
		(void)ocspr_issuer_of(&fuzz_r, cids[i], &md);
		sts[i].state = OCSPR_GOOD;
		if (OCSP_id_get0_info(NULL, NULL, NULL, &serial, cids[i]) !=
		    1 || ocspr_serial_hex(serial, hex) != 0) {
			sts[i].state = OCSPR_NOT_ISSUED;
			continue;
		}
		FUZZ_CHECK(hex[0] != '0' && strspn(hex, "0123456789abcdef") ==
		    strlen(hex));
		if (i % 2 == 1) {
			sts[i].state = OCSPR_REVOKED;
			sts[i].reason = i % 11;
			sts[i].revoked_at = 1700000000;
		}
	}
	if ((bs = ocspr_basic_new(&fuzz_r, req, cids, sts, n,
	    1700000000)) != NULL) {
		if (ocspr_encode(bs, &der, &len) == 0)
			OPENSSL_free(der);
		OCSP_BASICRESP_free(bs);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	unsigned char buf[OCSPR_MAX_URI];
	const unsigned char *der = buf, *p;
	size_t dlen = 0;
	OCSP_REQUEST *req;
	char *path = NULL;

	if (len == 0)
		return 0;
	if (data[0] % 2 == 0) {
		path = fuzz_cstr(data + 1, len - 1);
		if (ocspr_get_decode(path, buf, sizeof(buf), &dlen) != 0)
			goto out;
		FUZZ_CHECK(dlen > 0 && dlen <= sizeof(buf));
	} else {
		if (len - 1 > OCSPR_MAX_BODY)
			goto out;
		der = data + 1;
		dlen = len - 1;
	}
	p = der;
	if ((req = d2i_OCSP_REQUEST(NULL, &p, (long)dlen)) != NULL) {
		if (p == der + dlen)
			fuzz_request(req);
		OCSP_REQUEST_free(req);
	}
out:
	free(path);
	ERR_clear_error();
	return 0;
}
