/*
 * fuzz_ocsp.c: OCSP requests (ocsp/routes.c, ocsp/respond.c): a GET
 * path's decoding (ocspr_get_decode: %-escapes, '+' as a space, missing
 * padding) or a POSTed body, then the DER of an OCSPRequest, then what
 * the responder reads of it: every CertID's issuer against one issuing
 * CA (made in LLVMFuzzerInitialize), its serial as the ledger writes
 * it, and the unsigned BasicOCSPResponse built over the request's own
 * CertIDs and nonce, encoded.  The first input byte picks GET (even) or
 * POST (odd).  Properties: a decoded path fits its buffer; a serial
 * that converts is lowercase hex without leading zeros.
 */
#include "tests/fuzz/fuzz.h"

#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "ocsp/ocsp_int.h"

static struct ocspr fuzz_r;

/* A self-signed P-256 CA certificate, or NULL. */
static X509 *
fuzz_issuer(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
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
	    X509_sign(x, k, EVP_sha256()) <= 0) {
		X509_free(x);
		x = NULL;
	}
	EVP_PKEY_free(k);
	return x;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ocspr_issuer *is = &fuzz_r.issuers[0];

	FUZZ_CHECK((is->cert = fuzz_issuer()) != NULL);
	strcpy(is->id, "fuzz");
	FUZZ_CHECK((is->cid[0] = OCSP_cert_to_id(EVP_sha1(), NULL,
	    is->cert)) != NULL);
	FUZZ_CHECK((is->cid[1] = OCSP_cert_to_id(EVP_sha256(), NULL,
	    is->cert)) != NULL);
	fuzz_r.nissuers = 1;
	fuzz_r.cfg.validity = 3600;
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
