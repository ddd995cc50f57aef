/*
 * lint.c: the checks before the CA key signs a certificate (pre-issuance
 * lint, docs/design.md "Checks before every signature"), and the two ends
 * of a signature over a TBSCertificate: the network side's DER TBS
 * (ca_tbs_der) and the key side's signature over exactly those bytes
 * (ca_sign_tbs_der, ca_sign_tbs).
 *
 * ca_lint_tbs refuses a TBSCertificate unless it is, field by field, the
 * certificate issue_build makes for the registration described by a
 * struct ca_lint_want: RFC 5280 profile, the registration's subject, names
 * and key, the configured URLs, the issuer's name, key type and SKI.  It
 * trusts nothing of the TBS: a compromised network process chooses every
 * byte of it, so every field is compared with what it must be, and the
 * DER is re-encoded to make sure the bytes the CA signs say only what the
 * parsed fields say (X.690 11: one encoding per value).
 *
 * The TBS is parsed with a template of its own (lint_int.h), OpenSSL's
 * X509_CINF but for the SubjectPublicKeyInfo, which stays bytes: OpenSSL
 * 3.0 decodes the key of an X509_PUBKEY as it parses it, which would cost
 * the key process four times the rest of the lint (docs/benchmarks.md).
 *
 * OpenSSL keeps two parts of a parsed TBS as they arrived: an X509_NAME
 * returns its original bytes, and an extension value is an OCTET STRING
 * it never looks into.  So the names are compared byte for
 * byte with the expected names, and each extension value is parsed and
 * re-encoded on its own.  A BOOLEAN (the critical flag) is re-encoded with
 * the octet it arrived with, so each extension is also rebuilt from its
 * parts, which encode TRUE as 0xff (X.690 11.1).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bridge/ca/ca.h"
#include "bridge/ca/lint_int.h"

#define LINT_TBS_MAX		65536	/* bytes; a TBS is ~1 KiB */
#define LINT_FUTURE_MAX		ISSUE_FUTURE_MAX	/* notBefore ahead */
#define LINT_SERIAL_MIN		8	/* octets: at least 2^56, not small */
#define LINT_SERIAL_MAX		20	/* octets, RFC 5280 4.1.2.2 */
#define LINT_ED25519_LEN	32	/* RFC 8410 3: the public key */
#define LINT_UTC_LEN		13	/* YYMMDDHHMMSSZ */
#define LINT_GEN_LEN		15	/* YYYYMMDDHHMMSSZ */
#define LINT_GEN_FIRST_YEAR	2050	/* RFC 5280 4.1.2.5 */

/*
 * The TBSCertificate of lint_int.h, and a Certificate (RFC 5280 4.1)
 * around it.  The TBS keeps the encoding it was parsed from
 * (ASN1_SEQUENCE_enc), so a Certificate encoded from it holds the bytes
 * that were signed exactly.  The macros need typedef'd names.
 */
typedef struct lint_spki LINT_SPKI;
typedef struct lint_tbs LINT_TBS;

ASN1_SEQUENCE(LINT_SPKI) = {
	ASN1_SIMPLE(LINT_SPKI, alg, X509_ALGOR),
	ASN1_SIMPLE(LINT_SPKI, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(LINT_SPKI)

ASN1_SEQUENCE_enc(LINT_TBS, enc, 0) = {
	ASN1_EXP_OPT(LINT_TBS, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(LINT_TBS, serial, ASN1_INTEGER),
	ASN1_SIMPLE(LINT_TBS, sigalg, X509_ALGOR),
	ASN1_SIMPLE(LINT_TBS, issuer, X509_NAME),
	ASN1_SIMPLE(LINT_TBS, validity, X509_VAL),
	ASN1_SIMPLE(LINT_TBS, subject, X509_NAME),
	ASN1_SIMPLE(LINT_TBS, spki, LINT_SPKI),
	ASN1_IMP_OPT(LINT_TBS, iuid, ASN1_BIT_STRING, 1),
	ASN1_IMP_OPT(LINT_TBS, suid, ASN1_BIT_STRING, 2),
	ASN1_EXP_SEQUENCE_OF_OPT(LINT_TBS, exts, X509_EXTENSION, 3),
} static_ASN1_SEQUENCE_END_ref(LINT_TBS, LINT_TBS)

struct lint_cert {
	struct lint_tbs *tbs;
	X509_ALGOR *alg;
	ASN1_BIT_STRING *sig;
};
typedef struct lint_cert LINT_CERT;

ASN1_SEQUENCE(LINT_CERT) = {
	ASN1_SIMPLE(LINT_CERT, tbs, LINT_TBS),
	ASN1_SIMPLE(LINT_CERT, alg, X509_ALGOR),
	ASN1_SIMPLE(LINT_CERT, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(LINT_CERT)

/* See lint_int.h. */
int
lint_refuse(char *why, size_t whylen, const char *check, const char *fmt,
    ...)
{
	char detail[LINT_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(why, whylen, "lint: %s: %s", check, detail);
	return -1;
}

/* See lint_int.h. */
int
lint_sigalg(const EVP_PKEY *key, X509_ALGOR *alg)
{
	/* RFC 5758 3.2: ecdsa-with-SHA256 without parameters; RFC 4055 5:
	 * sha256WithRSAEncryption with NULL parameters. */
	/* By name: a key in a token (an engine's or a provider's) is one
	 * too. */
	if (key != NULL && EVP_PKEY_is_a(key, "EC"))
		return X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256),
		    V_ASN1_UNDEF, NULL) == 1 ? 0 : -1;
	if (key != NULL && EVP_PKEY_is_a(key, "RSA"))
		return X509_ALGOR_set0(alg,
		    OBJ_nid2obj(NID_sha256WithRSAEncryption), V_ASN1_NULL,
		    NULL) == 1 ? 0 : -1;
	return -1;
}

static void
lint_tbs_free(struct lint_tbs *t)
{
	ASN1_item_free((ASN1_VALUE *)t, ASN1_ITEM_rptr(LINT_TBS));
}

/*
 * Parses tbs (all len bytes) as a TBSCertificate in DER: re-encoding its
 * fields must give the same bytes.  Returns it (free with lint_tbs_free)
 * or NULL with why set ("lint: der: ...").
 */
static struct lint_tbs *
lint_parse(const uint8_t *tbs, size_t len, char *why, size_t whylen)
{
	const unsigned char *p = tbs;
	unsigned char *re = NULL;
	struct lint_tbs *t = NULL, *ret = NULL;
	int relen;

	if (tbs == NULL || len == 0 || len > LINT_TBS_MAX) {
		lint_refuse(why, whylen, "der", "%zu bytes (1 to %d)", len,
		    LINT_TBS_MAX);
		goto out;
	}
	if ((t = (struct lint_tbs *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(LINT_TBS))) == NULL) {
		lint_refuse(why, whylen, "der", "not a TBSCertificate");
		goto out;
	}
	if (p != tbs + len) {
		lint_refuse(why, whylen, "der", "%zu bytes after the "
		    "TBSCertificate", len - (size_t)(p - tbs));
		goto out;
	}
	/* Encoded from its fields, not from the bytes it keeps. */
	t->enc.modified = 1;
	relen = ASN1_item_i2d((ASN1_VALUE *)t, &re, ASN1_ITEM_rptr(LINT_TBS));
	t->enc.modified = 0;
	if (relen <= 0 || (size_t)relen != len || memcmp(re, tbs, len) != 0) {
		lint_refuse(why, whylen, "der", "not DER: re-encoding gives "
		    "other bytes (%d, not %zu)", relen, len);
		goto out;
	}
	ret = t;
	t = NULL;
out:
	lint_tbs_free(t);
	OPENSSL_free(re);
	ERR_clear_error();
	return ret;
}

/* The TBS's signature field: the issuing CA's algorithm (RFC 5280
 * 4.1.2.3), for the key type it signs with. */
static int
lint_signature(struct lint_ctx *c)
{
	X509_ALGOR *want = X509_ALGOR_new();
	const X509_ALGOR *got = c->t->sigalg;
	const ASN1_OBJECT *oid = NULL;
	char name[LINT_NAME_MAX] = "";
	int rc = -1;

	if (want == NULL ||
	    lint_sigalg(X509_get0_pubkey(c->w->issuer), want) != 0) {
		lint_refuse(c->why, c->whylen, "signature", "the issuing CA's "
		    "key is neither EC nor RSA");
		goto out;
	}
	if (X509_ALGOR_cmp(got, want) != 0) {
		X509_ALGOR_get0(&oid, NULL, NULL, got);
		OBJ_obj2txt(name, sizeof(name), oid, 0);
		X509_ALGOR_get0(&oid, NULL, NULL, want);
		lint_refuse(c->why, c->whylen, "signature", "%s is not the "
		    "issuing CA's algorithm (%s, %s parameters)", name,
		    OBJ_nid2sn(OBJ_obj2nid(oid)), OBJ_obj2nid(oid) ==
		    NID_ecdsa_with_SHA256 ? "absent" : "NULL");
		goto out;
	}
	rc = 0;
out:
	X509_ALGOR_free(want);
	return rc;
}

/*
 * RFC 5280 4.1.2.2: a positive INTEGER of at most 20 octets.  issue_build
 * (pki_serial) draws 16 octets from the CSPRNG with the top bit cleared;
 * fewer than LINT_SERIAL_MIN octets is a small or chosen number, not one
 * of those (the chance that a random one is that short is 2^-63).  That
 * the serial was never used before is the ledger's rule (rules.c refuses
 * a cert-issued entry whose serial the ledger holds) and the key process
 * signs only TBSs the ledger committed.
 */
static int
lint_serial(struct lint_ctx *c)
{
	const ASN1_INTEGER *s = c->t->serial;
	const unsigned char *d = ASN1_STRING_get0_data(s);
	int n = ASN1_STRING_length(s), i, octets;

	if (ASN1_STRING_type(s) == V_ASN1_NEG_INTEGER)
		return lint_refuse(c->why, c->whylen, "serial", "negative");
	for (i = 0; i < n && d[i] == 0; i++)
		;
	if (i == n)
		return lint_refuse(c->why, c->whylen, "serial", "zero");
	/* The DER content: the magnitude, and a 0x00 before a top bit. */
	octets = n - i + ((d[i] & 0x80) != 0);
	if (octets > LINT_SERIAL_MAX)
		return lint_refuse(c->why, c->whylen, "serial", "%d octets, "
		    "at most %d", octets, LINT_SERIAL_MAX);
	if (octets < LINT_SERIAL_MIN)
		return lint_refuse(c->why, c->whylen, "serial", "%d octets, "
		    "at least %d (random, from the CSPRNG)", octets,
		    LINT_SERIAL_MIN);
	return 0;
}

/* 1 when the DER of a and b are the same bytes (an X509_NAME gives the
 * bytes it was parsed from). */
static int
lint_name_eq(const X509_NAME *a, const X509_NAME *b)
{
	const unsigned char *da = NULL, *db = NULL;
	size_t la = 0, lb = 0;

	if (X509_NAME_get0_der(a, &da, &la) != 1 ||
	    X509_NAME_get0_der(b, &db, &lb) != 1)
		return 0;
	return la == lb && memcmp(da, db, la) == 0;
}

/* RFC 5280 4.1.2.4: the issuer is the issuing CA's subject, exactly. */
static int
lint_issuer(struct lint_ctx *c)
{
	if (!lint_name_eq(c->t->issuer,
	    X509_get_subject_name(c->w->issuer)))
		return lint_refuse(c->why, c->whylen, "issuer", "not the "
		    "issuing CA's subject");
	return 0;
}

/* One validity time as RFC 5280 4.1.2.5 wants it written: UTCTime
 * YYMMDDHHMMSSZ through 2049, GeneralizedTime YYYYMMDDHHMMSSZ from 2050.
 * Its value in *t.  0, or -1 with why set. */
static int
lint_time(struct lint_ctx *c, const ASN1_TIME *at, const char *which,
    time_t *t)
{
	const unsigned char *d = ASN1_STRING_get0_data(at);
	int n = ASN1_STRING_length(at), type = ASN1_STRING_type(at), i;
	struct tm tm;

	if (type != V_ASN1_UTCTIME && type != V_ASN1_GENERALIZEDTIME)
		return lint_refuse(c->why, c->whylen, "validity", "%s is no "
		    "time", which);
	if (n != (type == V_ASN1_UTCTIME ? LINT_UTC_LEN : LINT_GEN_LEN) ||
	    d[n - 1] != 'Z')
		return lint_refuse(c->why, c->whylen, "validity", "%s is not "
		    "written as RFC 5280 4.1.2.5 wants (seconds, Z)", which);
	for (i = 0; i < n - 1; i++)
		if (d[i] < '0' || d[i] > '9')
			return lint_refuse(c->why, c->whylen, "validity",
			    "%s is not written as RFC 5280 4.1.2.5 wants "
			    "(digits)", which);
	if (ASN1_TIME_to_tm(at, &tm) != 1 || (*t = timegm(&tm)) == -1)
		return lint_refuse(c->why, c->whylen, "validity", "%s is no "
		    "date", which);
	if (type == V_ASN1_GENERALIZEDTIME &&
	    tm.tm_year + 1900 < LINT_GEN_FIRST_YEAR)
		return lint_refuse(c->why, c->whylen, "validity", "%s is a "
		    "GeneralizedTime before 2050 (UTCTime, RFC 5280 4.1.2.5)",
		    which);
	return 0;
}

/*
 * The validity issue_build gives: inside the key's ledger window, no
 * longer than the profile's validity (its days, or the configured hours:
 * ca_profile_get) plus the ISSUE_BACKDATE that notBefore goes back for
 * clock skew, notBefore not more than LINT_FUTURE_MAX ahead of the key
 * process's clock.
 */
static int
lint_validity(struct lint_ctx *c)
{
	const struct ca_lint_want *w = c->w;
	time_t nb, na;

	if (lint_time(c, c->t->validity->notBefore, "notBefore", &nb) != 0 ||
	    lint_time(c, c->t->validity->notAfter, "notAfter", &na) != 0)
		return -1;
	if (na <= nb)
		return lint_refuse(c->why, c->whylen, "validity", "notAfter "
		    "is not after notBefore");
	if (nb > w->now + LINT_FUTURE_MAX)
		return lint_refuse(c->why, c->whylen, "validity", "notBefore "
		    "is %lld s ahead (at most %d)", (long long)(nb - w->now),
		    LINT_FUTURE_MAX);
	if (nb < w->key_not_before)
		return lint_refuse(c->why, c->whylen, "validity", "notBefore "
		    "is before the key's window");
	if (na > w->key_not_after)
		return lint_refuse(c->why, c->whylen, "validity", "notAfter "
		    "is after the key's window");
	if (na - nb > c->prof->validity + ISSUE_BACKDATE)
		return lint_refuse(c->why, c->whylen, "validity", "longer "
		    "than the %s profile's maximum (%lld s, at most %lld)",
		    est_profile_name(w->profile), (long long)(na - nb),
		    (long long)(c->prof->validity + ISSUE_BACKDATE));
	c->nb = nb;
	c->na = na;
	return 0;
}

/*
 * The subject issue_build writes: one RDN holding one CN, the registered
 * name as a UTF8String (RFC 5280 4.1.2.6, 4.1.2.4's DirectoryString).
 * Compared as bytes with that name built here, then told apart for why.
 */
static int
lint_subject(struct lint_ctx *c)
{
	const X509_NAME *got = c->t->subject;
	const ASN1_STRING *cn;
	X509_NAME *want = NULL;
	size_t n = strlen(c->w->cn);
	int rc = -1;

	if ((want = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_NID(want, NID_commonName,
	    V_ASN1_UTF8STRING, (const unsigned char *)c->w->cn, (int)n, -1,
	    0) != 1) {
		lint_refuse(c->why, c->whylen, "subject", "cannot build the "
		    "registered name");
		goto out;
	}
	if (lint_name_eq(got, want)) {
		rc = 0;
		goto out;
	}
	if (X509_NAME_entry_count(got) != 1 ||
	    OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(got,
	    0))) != NID_commonName) {
		lint_refuse(c->why, c->whylen, "subject", "%d attributes, "
		    "not CN alone", X509_NAME_entry_count(got));
		goto out;
	}
	cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(got, 0));
	if ((size_t)ASN1_STRING_length(cn) != n ||
	    memcmp(ASN1_STRING_get0_data(cn), c->w->cn, n) != 0)
		lint_refuse(c->why, c->whylen, "subject", "CN is not the "
		    "registered name");
	else if (ASN1_STRING_type(cn) != V_ASN1_UTF8STRING)
		lint_refuse(c->why, c->whylen, "subject", "CN is a %s, not a "
		    "UTF8String", ASN1_tag2str(ASN1_STRING_type(cn)));
	else
		lint_refuse(c->why, c->whylen, "subject", "not in DER");
out:
	X509_NAME_free(want);
	return rc;
}

/* The SubjectPublicKeyInfo is the registered key's canonical DER
 * (ledger_spki_canonical), byte for byte, EC, RSA, or Ed25519 in the
 * device profile (RFC 8410 3: no parameters, 32 octets); notes which. */
static int
lint_spki(struct lint_ctx *c)
{
	const ASN1_OBJECT *alg = NULL;
	unsigned char *der = NULL;
	int len, rc = -1, nid, ptype = V_ASN1_UNDEF;

	if ((len = ASN1_item_i2d((ASN1_VALUE *)c->t->spki, &der,
	    ASN1_ITEM_rptr(LINT_SPKI))) <= 0 ||
	    (size_t)len != c->w->spki_len ||
	    memcmp(der, c->w->spki, c->w->spki_len) != 0) {
		lint_refuse(c->why, c->whylen, "spki", "not the registered "
		    "key");
		goto out;
	}
	X509_ALGOR_get0(&alg, &ptype, NULL, c->t->spki->alg);
	if ((nid = OBJ_obj2nid(alg)) == NID_ED25519) {
		if (c->w->profile != EST_PROFILE_DEVICE) {
			lint_refuse(c->why, c->whylen, "spki", "an Ed25519 "
			    "key in the %s profile (device only)",
			    est_profile_name(c->w->profile));
			goto out;
		}
		if (ptype != V_ASN1_UNDEF ||
		    ASN1_STRING_length(c->t->spki->key) != LINT_ED25519_LEN) {
			lint_refuse(c->why, c->whylen, "spki", "an Ed25519 "
			    "key with parameters or not of %d octets (RFC "
			    "8410 3)", LINT_ED25519_LEN);
			goto out;
		}
	} else if (nid != NID_rsaEncryption &&
	    nid != NID_X9_62_id_ecPublicKey) {
		lint_refuse(c->why, c->whylen, "spki", "neither EC, RSA nor "
		    "Ed25519");
		goto out;
	}
	c->rsa = nid == NID_rsaEncryption;
	c->ed25519 = nid == NID_ED25519;
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

/* RFC 5280 4.1.2.8: conforming CAs generate no unique identifiers. */
static int
lint_uid(struct lint_ctx *c)
{
	if (c->t->iuid != NULL || c->t->suid != NULL)
		return lint_refuse(c->why, c->whylen, "uid", "%s present",
		    c->t->iuid != NULL ? "issuerUniqueID" : "subjectUniqueID");
	return 0;
}

/* See ca.h. */
int
ca_lint_tbs(const uint8_t *tbs, size_t len, const struct ca_lint_want *w,
    char *why, size_t whylen)
{
	struct lint_ctx c = { .w = w, .why = why, .whylen = whylen };
	struct ca_profile defprof;
	long version;
	int rc = -1;

	if (w == NULL || w->issuer == NULL || w->cn == NULL ||
	    w->spki == NULL || ca_profile_get(NULL, w->profile,
	    &defprof) != 0) {
		lint_refuse(why, whylen, "want", "no issuer, name, key or "
		    "profile to check against");
		goto out;
	}
	/* The profile's options as configured, never beyond its days nor
	 * noRevAvail on a long life (ca_profile_get's bounds again: the
	 * want is the key process's, but cheap to hold to). */
	c.prof = w->prof != NULL ? w->prof : &defprof;
	if (c.prof->validity <= 0 || c.prof->validity > defprof.max ||
	    (c.prof->no_rev_avail && c.prof->validity >
	    CA_NOREVAVAIL_HOURS_MAX * CA_HOUR_SECS)) {
		lint_refuse(why, whylen, "want", "the %s profile's options "
		    "are out of bounds", est_profile_name(w->profile));
		goto out;
	}
	if ((c.t = lint_parse(tbs, len, why, whylen)) == NULL)
		goto out;
	/* RFC 5280 4.1.2.1: v3 (2) when there are extensions. */
	version = c.t->version == NULL ? X509_VERSION_1 :
	    ASN1_INTEGER_get(c.t->version);
	if (version != X509_VERSION_3) {
		lint_refuse(why, whylen, "version", "v%ld, not v3",
		    version + 1);
		goto out;
	}
	if (lint_signature(&c) != 0 || lint_serial(&c) != 0 ||
	    lint_issuer(&c) != 0 || lint_validity(&c) != 0 ||
	    lint_subject(&c) != 0 || lint_spki(&c) != 0 || lint_uid(&c) != 0 ||
	    lint_exts(&c) != 0)
		goto out;
	rc = 0;
out:
	lint_tbs_free(c.t);
	ERR_clear_error();
	return rc;
}

/* See ca.h. */
int
ca_tbs_der(X509 *cert, X509 *issuer, uint8_t **der, size_t *len)
{
	/*
	 * OpenSSL 3.0 sets the TBS's signature field only in X509_sign,
	 * which needs a private key.  X509_get0_tbs_sigalg points into the
	 * certificate's own TBS, and X509_ALGOR_set0 on it is what
	 * X509_sign does there; i2d_re_X509_tbs then encodes the TBS anew.
	 */
	X509_ALGOR *alg = (X509_ALGOR *)X509_get0_tbs_sigalg(cert);
	unsigned char *p = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if (cert == NULL || issuer == NULL ||
	    lint_sigalg(X509_get0_pubkey(issuer), alg) != 0 ||
	    (n = i2d_re_X509_tbs(cert, &p)) <= 0) {
		ERR_clear_error();
		return -1;
	}
	*der = p;
	*len = (size_t)n;
	return 0;
}

/* The signature of key over exactly the bytes tbs (RFC 5280 4.1.1.3):
 * ECDSA, or RSA PKCS#1 v1.5 (the default padding), with SHA-256; then
 * verified with the key's public half, so that a faulty signature
 * (a token's, a glitch's) never leaves.  A new BIT STRING or NULL. */
static ASN1_BIT_STRING *
lint_signature_of(const uint8_t *tbs, size_t len, EVP_PKEY *key,
    char *why, size_t whylen)
{
	EVP_MD_CTX *md = NULL;
	ASN1_BIT_STRING *sig = NULL, *ret = NULL;
	unsigned char *s = NULL;
	size_t slen = 0;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &slen, tbs, len) != 1 ||
	    (s = OPENSSL_malloc(slen)) == NULL ||
	    EVP_DigestSign(md, s, &slen, tbs, len) != 1 || slen > INT_MAX) {
		lint_refuse(why, whylen, "signature", "the key cannot sign");
		goto out;
	}
	EVP_MD_CTX_free(md);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestVerify(md, s, slen, tbs, len) != 1) {
		lint_refuse(why, whylen, "signature", "does not verify with "
		    "the key's public half");
		goto out;
	}
	if ((sig = ASN1_BIT_STRING_new()) == NULL ||
	    ASN1_BIT_STRING_set(sig, s, (int)slen) != 1) {
		lint_refuse(why, whylen, "signature", "out of memory");
		goto out;
	}
	/* Whole octets: no unused bits (X.690 8.6.2.2). */
	sig->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	sig->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	ret = sig;
	sig = NULL;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(s);
	ASN1_BIT_STRING_free(sig);
	return ret;
}

/* See ca.h. */
int
ca_sign_tbs_der(const uint8_t *tbs, size_t len, EVP_PKEY *key,
    uint8_t **cert, size_t *certlen, char *why, size_t whylen)
{
	struct lint_cert c = { NULL, NULL, NULL };
	unsigned char *der = NULL;
	int n, rc = -1;

	*cert = NULL;
	*certlen = 0;
	if ((c.tbs = lint_parse(tbs, len, why, whylen)) == NULL)
		goto out;
	/* RFC 5280 4.1.1.2: the algorithm outside is the TBS's own. */
	if ((c.alg = X509_ALGOR_new()) == NULL || lint_sigalg(key, c.alg) != 0) {
		lint_refuse(why, whylen, "signature", "the key is neither EC "
		    "nor RSA");
		goto out;
	}
	if (X509_ALGOR_cmp(c.tbs->sigalg, c.alg) != 0) {
		lint_refuse(why, whylen, "signature", "the TBS's algorithm is "
		    "not the key's");
		goto out;
	}
	if ((c.sig = lint_signature_of(tbs, len, key, why, whylen)) == NULL)
		goto out;
	/* The TBS goes in as the bytes it was parsed from. */
	if ((n = ASN1_item_i2d((ASN1_VALUE *)&c, &der,
	    ASN1_ITEM_rptr(LINT_CERT))) <= 0) {
		lint_refuse(why, whylen, "der", "the certificate cannot be "
		    "encoded");
		goto out;
	}
	*cert = der;
	*certlen = (size_t)n;
	der = NULL;
	rc = 0;
out:
	lint_tbs_free(c.tbs);
	X509_ALGOR_free(c.alg);
	ASN1_BIT_STRING_free(c.sig);
	OPENSSL_free(der);
	ERR_clear_error();
	return rc;
}

/* See ca.h. */
X509 *
ca_sign_tbs(const uint8_t *tbs, size_t len, EVP_PKEY *key, char *why,
    size_t whylen)
{
	const unsigned char *p;
	unsigned char *der = NULL, *re = NULL;
	size_t n = 0;
	X509 *x = NULL, *ret = NULL;
	int relen;

	if (ca_sign_tbs_der(tbs, len, key, &der, &n, why, whylen) != 0)
		goto out;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)n)) == NULL || p != der + n) {
		lint_refuse(why, whylen, "der", "the certificate does not "
		    "parse");
		goto out;
	}
	/* The certificate's TBS, encoded anew, is the input: the signature
	 * ca_sign_tbs_der verified over the input is this certificate's. */
	if ((relen = i2d_re_X509_tbs(x, &re)) <= 0 || (size_t)relen != len ||
	    memcmp(re, tbs, len) != 0) {
		lint_refuse(why, whylen, "der", "the certificate's TBS is not "
		    "the bytes signed");
		goto out;
	}
	ret = x;
	x = NULL;
out:
	OPENSSL_free(der);
	OPENSSL_free(re);
	X509_free(x);
	ERR_clear_error();
	return ret;
}
