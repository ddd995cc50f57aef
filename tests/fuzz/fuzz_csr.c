/*
 * fuzz_csr.c: the CSR path of an EST enrollment (est/csr.c, est/b64.c):
 * the body as a client sends it (base64 with or without line breaks,
 * RFC 8951) through est_csr_decode, then, for a request that decodes,
 * every check an enrollment makes (est_csr_check: proof of possession,
 * key policy, hash, subject; est_csr_key_id; est_csr_names).  The first
 * input byte picks how the rest is taken:
 *   0..127   the body itself;
 *   128..191 DER: encoded in lines of 64 (est_b64_lines), decoded back
 *            (the same bytes, the property), then as a body;
 *   192..255 strict base64 without blanks (est_b64_decode, skip_ws 0):
 *            whatever it accepts, the blank-tolerant mode accepts the
 *            same way, and re-encoding gives back the input.
 */
#include "tests/fuzz/fuzz.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "est/est.h"
#include "est/est_int.h"

/* Every check of an enrollment on body[0..len). */
static void
fuzz_body(const char *body, size_t len)
{
	enum est_csr_status st;
	struct est_names *names = NULL;
	char why[256], id[65];
	X509_REQ *req;

	why[0] = '\0';
	if ((req = est_csr_decode(body, len, &st, why, sizeof(why))) == NULL) {
		FUZZ_CHECK(st != EST_CSR_OK && why[0] != '\0');
		return;
	}
	FUZZ_CHECK(st == EST_CSR_OK);
	if (est_csr_check(req, why, sizeof(why)) == EST_CSR_OK) {
		FUZZ_CHECK(est_csr_key_id(req, id) == 0 && strlen(id) == 64);
		FUZZ_CHECK((names = calloc(1, sizeof(*names))) != NULL);
		if (est_csr_names(req, names) == 0)
			FUZZ_CHECK(names->ndns >= 0 && names->nip >= 0 &&
			    names->ndns + names->nip <= EST_MAX_NAMES);
		free(names);
	}
	X509_REQ_free(req);
	ERR_clear_error();
}

/* der[0..len) in lines and back: the same bytes. */
static void
fuzz_der(const uint8_t *der, size_t len)
{
	unsigned char *back;
	size_t blen = 0, b64len = 0;
	char *b64;

	if (len == 0 || (b64 = est_b64_lines(der, len, &b64len,
	    EST_EOL_BODY)) == NULL)
		return;
	FUZZ_CHECK((back = malloc(b64len)) != NULL);
	FUZZ_CHECK(est_b64_decode(b64, b64len, 1, back, b64len, &blen) == 0);
	FUZZ_CHECK(blen == len && memcmp(back, der, len) == 0);
	free(back);
	if (b64len <= EST_MAX_BODY)
		fuzz_body(b64, b64len);
	est_b64_lines_free(b64);
}

/* Strict base64: agrees with the tolerant mode and re-encodes to itself. */
static void
fuzz_strict(const char *in, size_t len)
{
	unsigned char *a, *b;
	size_t alen = 0, blen = 0, cap = len / 4 * 3 + 3, elen;
	char *enc;

	FUZZ_CHECK((a = malloc(cap)) != NULL && (b = malloc(cap)) != NULL);
	if (est_b64_decode(in, len, 0, a, cap, &alen) == 0) {
		FUZZ_CHECK(est_b64_decode(in, len, 1, b, cap, &blen) == 0);
		FUZZ_CHECK(alen == blen && memcmp(a, b, alen) == 0);
		if (alen > 0 && (enc = est_b64_lines(a, alen, &elen, "")) !=
		    NULL) {
			/* not byte for byte: "QR==" is taken as "QQ==" */
			FUZZ_CHECK(elen == len && est_b64_decode(enc, elen, 0,
			    b, cap, &blen) == 0 && blen == alen &&
			    memcmp(a, b, alen) == 0);
			est_b64_lines_free(enc);
		}
	}
	free(a);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	if (data[0] < 128)
		fuzz_body((const char *)data + 1, len - 1);
	else if (data[0] < 192)
		fuzz_der(data + 1, len - 1);
	else
		fuzz_strict((const char *)data + 1, len - 1);
	return 0;
}
