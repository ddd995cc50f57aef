/*
 * issuers.c: the issuing CAs the key process holds (issue 17, CA
 * rollover; bridge/ca/issuers.c says where they live).
 *
 * Each is loaded with its own delegated OCSP signer and checked as one:
 * the CA fits its key, is a CA, has an SKI that names it on the ledger;
 * its OCSP signer is issued by it for OCSPSigning and fits its key.  Its
 * CertID hashes and responder key hash are computed once: SIGN_OCSP picks
 * the issuer by the responder hash it is asked for and then signs only
 * CertIDs of that issuer; SIGN_CRL picks it by id and signs only its
 * name with a number above its own last one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bridge/ca/ca.h"
#include "bridge/keyproc/keyproc_int.h"

static X509 *
read_cert(const struct bridge_config *cfg, const char *value, const char *what,
    char *err, size_t errlen)
{
	char path[PATH_MAX];
	X509 *x = NULL;
	FILE *fp;

	if (config_path(cfg, value, path, sizeof(path))[0] == '\0' ||
	    (fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot open the %s %s", what, value);
		return NULL;
	}
	if ((x = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL)
		snprintf(err, errlen, "%s holds no PEM certificate", path);
	fclose(fp);
	return x;
}

/* The issuing CA fits its key, is a CA, and has an SKI that names it on
 * the ledger; the OCSP signer is issued by it for OCSPSigning (RFC 6960
 * 4.2.2.2) and fits its key.  0, or -1 with err set. */
static int
issuer_check(struct keyproc_issuer *is, char *err, size_t errlen)
{
	const ASN1_OCTET_STRING *ski;
	const ASN1_BIT_STRING *bits;
	int type = EVP_PKEY_get_base_id(is->ca_key);

	if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA) {
		snprintf(err, errlen, "the issuing CA key of %s is neither EC "
		    "nor RSA", is->cert_name);
		return -1;
	}
	if (X509_check_private_key(is->issuer, is->ca_key) != 1) {
		snprintf(err, errlen, "the issuing CA key does not match the "
		    "certificate %s", is->cert_name);
		return -1;
	}
	/* 1: CA:TRUE (3, 4, 5 are v1 / keyUsage-only / Netscape forms). */
	if (X509_check_ca(is->issuer) != 1) {
		snprintf(err, errlen, "%s is not a CA certificate "
		    "(basicConstraints CA:TRUE)", is->cert_name);
		return -1;
	}
	ski = X509_get0_subject_key_id(is->issuer);
	if (ski == NULL || ASN1_STRING_length(ski) <= 0 ||
	    ASN1_STRING_length(ski) > KEYPROC_SKI_MAX) {
		snprintf(err, errlen, "the issuing CA %s has no subjectKey"
		    "Identifier of 1 to %d bytes", is->cert_name,
		    KEYPROC_SKI_MAX);
		return -1;
	}
	ledger_hex(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski),
	    is->issuer_id);
	if (X509_check_issued(is->issuer, is->ocsp_cert) != X509_V_OK ||
	    !(X509_get_extended_key_usage(is->ocsp_cert) & XKU_OCSP_SIGN) ||
	    X509_check_private_key(is->ocsp_cert, is->ocsp_key) != 1) {
		snprintf(err, errlen, "the OCSP signer of %s is not an "
		    "OCSPSigning certificate of that CA for its OCSP key",
		    is->cert_name);
		return -1;
	}
	/* The issuer part of our CertIDs in the two hashes clients use
	 * (RFC 5019 2.1.1 SHA-1, and SHA-256), computed once. */
	if ((is->ours[0] = OCSP_cert_to_id(EVP_sha1(), NULL, is->issuer)) ==
	    NULL || (is->ours[1] = OCSP_cert_to_id(EVP_sha256(), NULL,
	    is->issuer)) == NULL) {
		snprintf(err, errlen, "cannot hash the issuing CA's name and "
		    "key");
		return -1;
	}
	/* RFC 6960 4.2.2.3: ResponderID byKey, SHA-1 of the key's bits. */
	bits = X509_get0_pubkey_bitstr(is->ocsp_cert);
	if (bits == NULL || EVP_Digest(bits->data, (size_t)bits->length,
	    is->responder, NULL, EVP_sha1(), NULL) != 1) {
		snprintf(err, errlen, "cannot hash the OCSP signer's key");
		return -1;
	}
	return 0;
}

/* Loads f into is.  0, or -1 with err set. */
static int
issuer_load(struct keyproc_keys *k, struct keyproc_issuer *is,
    const struct ca_issuer_files *f, char *err, size_t errlen)
{
	const struct bridge_config *c = &k->cfg;

	is->crl_fd = -1;
	is->original = f->original;
	snprintf(is->cert_name, sizeof(is->cert_name), "%s", f->cert);
	if ((is->issuer = read_cert(c, f->cert, "issuing CA certificate", err,
	    errlen)) == NULL ||
	    (is->ocsp_cert = read_cert(c, f->ocsp_cert, "OCSP signer "
	    "certificate", err, errlen)) == NULL ||
	    (is->ca_key = ca_key_load(c, f->key, "issuing CA key", err,
	    errlen)) == NULL ||
	    (is->ocsp_key = ca_key_load(c, f->ocsp_key, "OCSP signer key", err,
	    errlen)) == NULL ||
	    issuer_check(is, err, errlen) != 0)
		return -1;
	if (!f->original && strcmp(f->id, is->issuer_id) != 0) {
		snprintf(err, errlen, "%s: the CA's key id is %s, not its "
		    "directory's name", f->cert, is->issuer_id);
		return -1;
	}
	ca_issuer_urls(c->public_http_url, is->issuer_id, is->original,
	    is->ca_issuers_url, sizeof(is->ca_issuers_url), is->crl_url,
	    sizeof(is->crl_url));
	if (!f->original) {
		config_path(c, f->crl_state, is->crl_path,
		    sizeof(is->crl_path));
		if (keyproc_state_read(is->crl_path, &is->crl_st, err,
		    errlen) != 0)
			return -1;
	}
	return 0;
}

/* See keyproc_int.h. */
int
keyproc_issuers_load(struct keyproc_keys *k, char *err, size_t errlen)
{
	struct ca_issuer_files f[KEYPROC_ISSUERS_MAX];
	size_t n;

	if (ca_issuers_scan(&k->cfg, f, KEYPROC_ISSUERS_MAX, &n, err,
	    errlen) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (issuer_load(k, &k->iss[i], &f[i], err, errlen) != 0) {
			k->niss = i + 1;	/* cleared by the caller */
			return -1;
		}
		k->niss = i + 1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(k->iss[j].issuer_id,
			    k->iss[i].issuer_id) == 0) {
				snprintf(err, errlen, "%s and %s are the same "
				    "CA", k->iss[j].cert_name,
				    k->iss[i].cert_name);
				return -1;
			}
	}
	return 0;
}

void
keyproc_issuers_clear(struct keyproc_keys *k)
{
	for (size_t i = 0; i < k->niss; i++) {
		struct keyproc_issuer *is = &k->iss[i];

		X509_free(is->issuer);
		X509_free(is->ocsp_cert);
		OCSP_CERTID_free(is->ours[0]);
		OCSP_CERTID_free(is->ours[1]);
		/* EVP_PKEY_free cleanses the key material. */
		EVP_PKEY_free(is->ca_key);
		EVP_PKEY_free(is->ocsp_key);
		if (is->crl_fd >= 0)
			close(is->crl_fd);
	}
	k->niss = 0;
}

/* See keyproc_int.h. */
struct keyproc_issuer *
keyproc_issuer_by_responder(struct keyproc_keys *k, const uint8_t *rid,
    size_t len)
{
	for (size_t i = 0; i < k->niss; i++)
		if (len == sizeof(k->iss[i].responder) &&
		    memcmp(rid, k->iss[i].responder, len) == 0)
			return &k->iss[i];
	return NULL;
}

/* See keyproc_int.h. */
struct keyproc_issuer *
keyproc_issuer_by_id(struct keyproc_keys *k, const char *id)
{
	for (size_t i = 0; i < k->niss; i++)
		if (strcmp(id, k->iss[i].issuer_id) == 0)
			return &k->iss[i];
	return NULL;
}
