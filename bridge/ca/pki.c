/*
 * pki.c: the certificates `keybridge init` creates.
 *
 *	root CA          self-signed, CA:TRUE, 20 years        ca/root.pem
 *	  issuing CA     CA:TRUE pathlen:0, 10 years           ca/issuing.pem
 *	    OCSP signer  id-kp-OCSPSigning + ocsp-nocheck, 2y  ca/ocsp.pem
 *	    TLS server   serverAuth, SANs, 1 year              tls/server.pem
 *
 * The paths are the configured ones (struct bridge_config); the root key
 * and the chain file have no setting and live at PKI_ROOT_KEY and PKI_CHAIN
 * under the data directory.  The root key is written once (at PKI_ROOT_KEY,
 * or where init --root-key-out says) so that a new issuing CA can be made
 * later (`ca rollover`, rollover.c); the operator moves it offline,
 * nothing in the daemon reads it.
 *
 * Everything is built with OpenSSL's X509 and X509V3 APIs (docs/design.md: no
 * hand-written DER).  Extensions use the X509V3_set_ctx() +
 * X509V3_EXT_conf_nid() pattern of openssl(1)'s own x509/ca code, except
 * subjectAltName, which is built as GENERAL_NAMES from validated hostnames
 * so that a hostname can never smuggle in a second name through the
 * "DNS:a,IP:b" string syntax.
 *
 * Nothing is overwritten: every target path is checked before the first key
 * is generated, files are created O_EXCL, and on a failure the files this
 * call created are removed again, so a failed init can simply be re-run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "bridge/ca/ca.h"

#define PKI_ROOT_KEY	"ca/root.key"	/* no setting: only init uses it */
#define PKI_CHAIN	"ca/chain.pem"	/* issuing then root */
#define PKI_CA_DIR	"ca"
#define PKI_TLS_DIR	"tls"

#define PKI_DAY_SECS	(24L * 60 * 60)
#define PKI_ROOT_DAYS	(20L * 365 + 5)	/* 20 years, leap days included */
#define PKI_ISSUING_DAYS (10L * 365 + 3)
#define PKI_OCSP_DAYS	(2L * 365 + 1)
#define PKI_TLS_DAYS	365L		/* under the 398 days browsers allow */
#define PKI_BACKDATE_SECS (5L * 60)	/* notBefore slack for clock skew */

#define PKI_SERIAL_BYTES 16		/* 128 random bits, top one cleared */
#define PKI_RSA_BITS	((size_t)3072)
#define PKI_EC_CURVE	"P-256"
#define PKI_KEY_EC	"ec-p256"
#define PKI_KEY_RSA	"rsa-3072"

#define PKI_CN_MAX	64		/* RFC 5280 ub-common-name */
#define PKI_DNS_MAX	253		/* RFC 1035 2.3.4 */
#define PKI_LABEL_MAX	63
#define PKI_IP6_LEN	16

#define PKI_DIR_MODE	0700
#define PKI_KEY_MODE	0600
#define PKI_CERT_MODE	0644

/* The files of one init, in the order they are written. */
enum pki_file {
	PF_ROOT_CERT, PF_ROOT_KEY, PF_ISS_CERT, PF_ISS_KEY, PF_CHAIN,
	PF_OCSP_CERT, PF_OCSP_KEY, PF_TLS_CERT, PF_TLS_KEY, PF_COUNT
};

struct pki_files {
	char path[PF_COUNT][PATH_MAX];
	int created[PF_COUNT];
};

/* What pki_cert_new() makes. */
struct pki_cert_spec {
	const char *what;		/* for error messages */
	const char *name;		/* CN prefix */
	const char *cn_suffix;		/* " Root CA", ... */
	EVP_PKEY *key;			/* subject key */
	X509 *issuer;			/* NULL: self-signed */
	EVP_PKEY *issuer_key;
	long days;
	const struct ca_ext *exts;
	size_t nexts;
	GENERAL_NAMES *san;		/* NULL: none */
	/* A CA name (ca_subject_name: C, O, OU from cfg, then the CN);
	 * NULL: the CN alone (the TLS server certificate). */
	const struct bridge_config *ca_names;
};

/* A new key of type key_type, or NULL with err set. */
static EVP_PKEY *
pki_keygen(const char *key_type, char *err, size_t errlen)
{
	EVP_PKEY *k;

	if (strcmp(key_type, PKI_KEY_RSA) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", PKI_RSA_BITS);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", PKI_EC_CURVE);
	if (k == NULL)
		log_openssl_why(err, errlen, "cannot generate a key");
	return k;
}

/* token (a key made in a PKCS#11 token, its reference taken), or a new
 * key of key_type.  NULL with err set. */
static EVP_PKEY *
pki_token_or_keygen(EVP_PKEY *token, const char *key_type, char *err,
    size_t errlen)
{
	if (token == NULL)
		return pki_keygen(key_type, err, errlen);
	if (EVP_PKEY_up_ref(token) != 1) {
		snprintf(err, errlen, "cannot reference the token's key");
		return NULL;
	}
	return token;
}

/* See bridge.h. */
int
pki_serial(ASN1_INTEGER *serial)
{
	unsigned char buf[PKI_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	int rc = -1;

	do {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			goto out;
		buf[0] &= 0x7f;
		if ((bn = BN_bin2bn(buf, sizeof(buf), bn)) == NULL)
			goto out;
	} while (BN_is_zero(bn));
	if (BN_to_ASN1_INTEGER(bn, serial) == NULL)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	BN_free(bn);
	return rc;
}

/* pathlen:0: the issuing CA signs end entities only (RFC 5280 4.2.1.9,
 * 4.2.1.3: a CA that signs certificates and CRLs). */
const struct ca_ext ca_iss_exts[] = {
	{ NID_basic_constraints, "critical,CA:TRUE,pathlen:0" },
	{ NID_key_usage, "critical,keyCertSign,cRLSign" },
	{ NID_subject_key_identifier, "hash" },
	{ NID_authority_key_identifier, "keyid:always" },
};
const size_t ca_iss_nexts = sizeof(ca_iss_exts) / sizeof(ca_iss_exts[0]);

/* RFC 6960 4.2.2.2: a delegated responder carries id-kp-OCSPSigning;
 * 4.2.2.2.1: id-pkix-ocsp-nocheck tells clients not to check the signer's
 * own status (its value is NULL; "ignored" is the conf syntax's
 * placeholder). */
const struct ca_ext ca_ocsp_exts[] = {
	{ NID_basic_constraints, "critical,CA:FALSE" },
	{ NID_key_usage, "critical,digitalSignature" },
	{ NID_ext_key_usage, "OCSPSigning" },
	{ NID_id_pkix_OCSP_noCheck, "ignored" },
	{ NID_subject_key_identifier, "hash" },
	{ NID_authority_key_identifier, "keyid:always" },
};
const size_t ca_ocsp_nexts = sizeof(ca_ocsp_exts) / sizeof(ca_ocsp_exts[0]);

/* See ca.h. */
int
ca_add_exts(X509 *x, X509V3_CTX *ctx, const struct ca_ext *exts, size_t n)
{
	X509_EXTENSION *ex;
	size_t i;
	int ok;

	for (i = 0; i < n; i++) {
		ex = X509V3_EXT_conf_nid(NULL, ctx, exts[i].nid,
		    exts[i].value);
		if (ex == NULL)
			return -1;
		ok = X509_add_ext(x, ex, -1);
		X509_EXTENSION_free(ex);
		if (ok != 1)
			return -1;
	}
	return 0;
}

/* Adds the extensions of s to x with issuer context ctx.  0 or -1. */
static int
pki_add_exts(X509 *x, X509V3_CTX *ctx, const struct pki_cert_spec *s)
{
	if (ca_add_exts(x, ctx, s->exts, s->nexts) != 0)
		return -1;
	if (s->san != NULL && X509_add1_ext_i2d(x, NID_subject_alt_name,
	    s->san, 0, X509V3_ADD_DEFAULT) != 1)
		return -1;
	return 0;
}

/* Builds and signs the certificate described by s: v3, random serial,
 * subject CN "<name><suffix>", valid from a few minutes ago for s->days,
 * SHA-256.  Returns a new X509 (get1) or NULL with err set. */
static X509 *
pki_cert_new(const struct pki_cert_spec *s, char *err, size_t errlen)
{
	X509V3_CTX ctx;
	X509_NAME *subj = NULL;
	X509 *x = NULL, *ret = NULL;
	char cn[PKI_CN_MAX + 1];
	int n;

	n = snprintf(cn, sizeof(cn), "%s%s", s->name, s->cn_suffix);
	if (n < 0 || (size_t)n >= sizeof(cn)) {
		snprintf(err, errlen, "%s: common name longer than %d bytes",
		    s->what, PKI_CN_MAX);
		goto out;
	}
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    pki_serial(X509_get_serialNumber(x)) == -1)
		goto fail;
	if (s->ca_names != NULL &&
	    (subj = ca_subject_name(s->ca_names, cn, err, errlen)) == NULL)
		goto out;
	if ((subj == NULL && ((subj = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1)) ||
	    X509_set_subject_name(x, subj) != 1 ||
	    X509_set_issuer_name(x, s->issuer != NULL ?
	    X509_get_subject_name(s->issuer) : subj) != 1)
		goto fail;
	if (X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_SECS) ==
	    NULL || X509_time_adj_ex(X509_getm_notAfter(x), (int)s->days, 0,
	    NULL) == NULL)
		goto fail;
	if (X509_set_pubkey(x, s->key) != 1)
		goto fail;

	/* The subject's public key must be set first: subjectKeyIdentifier
	 * "hash" is computed from it, authorityKeyIdentifier from the
	 * issuer's SKI (RFC 5280 4.2.1.1, 4.2.1.2). */
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, s->issuer != NULL ? s->issuer : x, x, NULL,
	    NULL, 0);
	if (pki_add_exts(x, &ctx, s) == -1)
		goto fail;
	if (X509_sign(x, s->issuer_key, EVP_sha256()) <= 0)
		goto fail;
	ret = x;
	x = NULL;
	goto out;
fail:
	{
		char what[CONFIG_STR];

		snprintf(what, sizeof(what), "cannot create the %s "
		    "certificate", s->what);
		log_openssl_why(err, errlen, what);
	}
out:
	X509_NAME_free(subj);
	X509_free(x);
	return ret;
}

/* RFC 1123 2.1 host name: LDH labels of 1..63 bytes, no hyphen at either
 * end of a label, at most 253 bytes, and a last label that is not all
 * digits (so "10.1.2" is refused as a broken address, not taken as a DNS
 * name).  Returns 1 when h is one. */
static int
pki_dns_ok(const char *h)
{
	size_t len = strlen(h), label = 0, i;
	const char *last;

	if (len == 0 || len > PKI_DNS_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		if (h[i] == '.' || h[i] == '\0') {
			if (label == 0 || label > PKI_LABEL_MAX ||
			    h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (label == 0 && h[i] == '-')
			return 0;
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '-'))
			return 0;
		label++;
	}
	last = strrchr(h, '.');
	last = last != NULL ? last + 1 : h;
	if (strspn(last, "0123456789") == strlen(last))
		return 0;
	return 1;
}

/* Appends h to gens as iPAddress when inet_pton() takes it (v4 or v6),
 * else as a lower-cased dNSName; names already present are skipped.
 * Returns 0, or -1 with err set. */
static int
pki_san_add(GENERAL_NAMES *gens, const char *h, char *err, size_t errlen)
{
	unsigned char ip[PKI_IP6_LEN];
	char dns[PKI_DNS_MAX + 1];
	GENERAL_NAME *gen = NULL;
	ASN1_OCTET_STRING *oct = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	int iplen = 0, i, rc = -1;
	size_t k;

	if (inet_pton(AF_INET, h, ip) == 1)
		iplen = 4;
	else if (inet_pton(AF_INET6, h, ip) == 1)
		iplen = PKI_IP6_LEN;
	else if (pki_dns_ok(h) == 0) {
		snprintf(err, errlen, "hostname \"%.*s\" is neither an IP "
		    "address nor a DNS name (letters, digits, '-' and '.'; "
		    "IDNs in their xn-- form)", PKI_DNS_MAX, h);
		return -1;
	}
	if ((gen = GENERAL_NAME_new()) == NULL)
		goto fail;
	if (iplen != 0) {
		if ((oct = ASN1_OCTET_STRING_new()) == NULL ||
		    ASN1_OCTET_STRING_set(oct, ip, iplen) != 1)
			goto fail;
		GENERAL_NAME_set0_value(gen, GEN_IPADD, oct);
		oct = NULL;
	} else {
		for (k = 0; h[k] != '\0'; k++)
			dns[k] = (h[k] >= 'A' && h[k] <= 'Z') ?
			    (char)(h[k] - 'A' + 'a') : h[k];
		dns[k] = '\0';
		if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(ia5, dns, (int)k) != 1)
			goto fail;
		GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
		ia5 = NULL;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(gens, i), gen) == 0)
			break;
	if (i < sk_GENERAL_NAME_num(gens)) {
		rc = 0;			/* a duplicate: keep the first */
		goto out;
	}
	if (sk_GENERAL_NAME_push(gens, gen) <= 0)
		goto fail;
	gen = NULL;
	rc = 0;
	goto out;
fail:
	log_openssl_why(err, errlen, "cannot build the subjectAltName");
out:
	ASN1_OCTET_STRING_free(oct);
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gen);
	return rc;
}

/* The TLS SANs: localhost, 127.0.0.1, ::1 and every hostname of o.
 * Returns new GENERAL_NAMES or NULL with err set. */
static GENERAL_NAMES *
pki_tls_sans(const struct pki_init_opts *o, char *err, size_t errlen)
{
	static const char *const fixed[] = { "localhost", "127.0.0.1", "::1" };
	GENERAL_NAMES *gens;
	size_t i;

	if ((gens = GENERAL_NAMES_new()) == NULL) {
		log_openssl_why(err, errlen, "cannot build the subjectAltName");
		return NULL;
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (pki_san_add(gens, fixed[i], err, errlen) == -1)
			goto fail;
	if (o != NULL && o->nhostnames > 0 && o->hostnames == NULL) {
		snprintf(err, errlen, "%zu hostnames but no list", o->nhostnames);
		goto fail;
	}
	for (i = 0; o != NULL && i < o->nhostnames; i++) {
		if (o->hostnames[i] == NULL) {
			snprintf(err, errlen, "hostname %zu is missing", i);
			goto fail;
		}
		if (pki_san_add(gens, o->hostnames[i], err, errlen) == -1)
			goto fail;
	}
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	return NULL;
}

/* Resolves the paths of every file of one init and checks that none of
 * them exists yet.  Returns 0, or -1 with err set. */
static int
pki_files_plan(const struct bridge_config *c, const char *root_key,
    struct pki_files *pf, char *err, size_t errlen)
{
	const char *conf[PF_COUNT] = {
		[PF_ROOT_CERT] = c->ca_root, [PF_ROOT_KEY] = root_key,
		[PF_ISS_CERT] = c->ca_issuing,
		[PF_ISS_KEY] = c->ca_issuing_key, [PF_CHAIN] = PKI_CHAIN,
		[PF_OCSP_CERT] = c->ocsp_cert, [PF_OCSP_KEY] = c->ocsp_key,
		[PF_TLS_CERT] = c->tls_cert, [PF_TLS_KEY] = c->tls_key,
	};
	struct stat st;
	int i, j;

	for (i = 0; i < PF_COUNT; i++) {
		/* A key in a PKCS#11 token has no file: its path stays "". */
		if ((i == PF_ISS_KEY || i == PF_OCSP_KEY) &&
		    ca_is_token_uri(conf[i]))
			continue;
		if (config_path(c, conf[i], pf->path[i],
		    sizeof(pf->path[i]))[0] == '\0') {
			snprintf(err, errlen, "path of \"%.64s\" is empty or "
			    "too long", conf[i]);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(pf->path[i], pf->path[j]) == 0) {
				snprintf(err, errlen, "%s is configured for "
				    "two files", pf->path[i]);
				return -1;
			}
		if (lstat(pf->path[i], &st) == 0) {
			snprintf(err, errlen, "%s already exists; refusing to "
			    "overwrite it (init wants a new data directory)",
			    pf->path[i]);
			return -1;
		}
		if (errno != ENOENT && errno != ENOTDIR) {
			snprintf(err, errlen, "%s: %s", pf->path[i],
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Creates directory path (mode 0700) unless it is already a directory.
 * 0, or -1 with err set. */
static int
pki_mkdir(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(path, PKI_DIR_MODE) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	snprintf(err, errlen, "cannot create directory %s: %s", path,
	    errno == EEXIST ? "a file of that name exists" : strerror(errno));
	return -1;
}

/* Creates c->dir, c->dir/ca and c->dir/tls.  0, or -1 with err set. */
static int
pki_dirs(const struct bridge_config *c, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (pki_mkdir(c->dir, err, errlen) == -1 ||
	    pki_mkdir(config_path(c, PKI_CA_DIR, path, sizeof(path)), err,
	    errlen) == -1 ||
	    pki_mkdir(config_path(c, PKI_TLS_DIR, path, sizeof(path)), err,
	    errlen) == -1)
		return -1;
	return 0;
}

/* Writes file f of pf: the private key key (PKCS#8 PEM, mode 0600) or the
 * certificates certs[0..n) (PEM, mode 0644).  The file is created O_EXCL
 * and fsync'd.  0, or -1 with err set. */
static int
pki_write(struct pki_files *pf, enum pki_file f, EVP_PKEY *key,
    X509 *const *certs, size_t n, char *err, size_t errlen)
{
	const char *path = pf->path[f];
	mode_t mode = key != NULL ? PKI_KEY_MODE : PKI_CERT_MODE;
	FILE *fp = NULL;
	size_t i;
	int fd, rc = -1;

	if (path[0] == '\0')		/* a key kept in a PKCS#11 token */
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		if (errno == EEXIST)
			snprintf(err, errlen, "%s already exists; refusing to "
			    "overwrite it", path);
		else
			snprintf(err, errlen, "cannot create %s: %s", path,
			    strerror(errno));
		goto out;
	}
	pf->created[f] = 1;
	/* Exactly mode, whatever the umask. */
	if (fchmod(fd, mode) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	if (key != NULL) {
		/* OpenSSL 3 writes "BEGIN PRIVATE KEY": PKCS#8, unencrypted
		 * (the file mode and the signer process protect it). */
		if (PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL,
		    NULL) != 1) {
			log_openssl_why(err, errlen, "cannot write the key");
			goto out;
		}
	}
	for (i = 0; i < n; i++)
		if (PEM_write_X509(fp, certs[i]) != 1) {
			log_openssl_why(err, errlen, "cannot write a certificate");
			goto out;
		}
	if (fflush(fp) != 0 || fsync(fileno(fp)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fp != NULL && fclose(fp) != 0 && rc == 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

/* The four certificates of one init and their keys. */
struct pki_set {
	EVP_PKEY *root_key, *iss_key, *ocsp_key, *tls_key;
	X509 *root, *iss, *ocsp, *tls;
};

static void
pki_set_free(struct pki_set *p)
{
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->iss_key);
	EVP_PKEY_free(p->ocsp_key);
	EVP_PKEY_free(p->tls_key);
	X509_free(p->root);
	X509_free(p->iss);
	X509_free(p->ocsp);
	X509_free(p->tls);
}

/* Generates the keys and certificates of p, the CA names from c.  0, or
 * -1 with err set. */
static int
pki_make(struct pki_set *p, const struct bridge_config *c, const char *name,
    const char *key_type,
    EVP_PKEY *iss_key, EVP_PKEY *ocsp_key, GENERAL_NAMES *san, char *err,
    size_t errlen)
{
	/* RFC 5280 4.2.1.9, 4.2.1.3: a CA that signs certificates and CRLs. */
	static const struct ca_ext root_exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
	};
	/* keyEncipherment only where a TLS 1.2 RSA key exchange may use it. */
	const int rsa = strcmp(key_type, PKI_KEY_RSA) == 0;
	const struct ca_ext tls_exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, rsa ? "critical,digitalSignature,"
		    "keyEncipherment" : "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	struct pki_cert_spec s;

	if ((p->root_key = pki_keygen(key_type, err, errlen)) == NULL ||
	    (p->iss_key = pki_token_or_keygen(iss_key, key_type, err,
	    errlen)) == NULL ||
	    (p->ocsp_key = pki_token_or_keygen(ocsp_key, key_type, err,
	    errlen)) == NULL ||
	    (p->tls_key = pki_keygen(key_type, err, errlen)) == NULL)
		return -1;

#define PKI_SPEC(w, sfx, k, iss, isk, d, e, sans) (struct pki_cert_spec){ \
	.what = (w), .name = name, .cn_suffix = (sfx), .key = (k), \
	.issuer = (iss), .issuer_key = (isk), .days = (d), .exts = (e), \
	.nexts = sizeof(e) / sizeof((e)[0]), .san = (sans), .ca_names = c }
	s = PKI_SPEC("root CA", " Root CA", p->root_key, NULL, p->root_key,
	    PKI_ROOT_DAYS, root_exts, NULL);
	if ((p->root = pki_cert_new(&s, err, errlen)) == NULL)
		return -1;
	s = PKI_SPEC("issuing CA", " Issuing CA", p->iss_key, p->root,
	    p->root_key, PKI_ISSUING_DAYS, ca_iss_exts, NULL);
	if ((p->iss = pki_cert_new(&s, err, errlen)) == NULL)
		return -1;
	s = PKI_SPEC("OCSP signer", " OCSP Signer", p->ocsp_key, p->iss,
	    p->iss_key, PKI_OCSP_DAYS, ca_ocsp_exts, NULL);
	if ((p->ocsp = pki_cert_new(&s, err, errlen)) == NULL)
		return -1;
	s = PKI_SPEC("TLS server", " bridge", p->tls_key, p->iss, p->iss_key,
	    PKI_TLS_DAYS, tls_exts, san);
	s.ca_names = NULL;		/* the bridge's name: CN alone */
#undef PKI_SPEC
	if ((p->tls = pki_cert_new(&s, err, errlen)) == NULL)
		return -1;
	return 0;
}

/* Writes every file of p.  0, or -1 with err set. */
static int
pki_write_all(struct pki_files *pf, const struct pki_set *p, char *err,
    size_t errlen)
{
	X509 *const chain[] = { p->iss, p->root };
	X509 *const tls[] = { p->tls, p->iss };

	if (pki_write(pf, PF_ROOT_CERT, NULL, &p->root, 1, err, errlen) ||
	    pki_write(pf, PF_ROOT_KEY, p->root_key, NULL, 0, err, errlen) ||
	    pki_write(pf, PF_ISS_CERT, NULL, &p->iss, 1, err, errlen) ||
	    pki_write(pf, PF_ISS_KEY, p->iss_key, NULL, 0, err, errlen) ||
	    pki_write(pf, PF_CHAIN, NULL, chain, 2, err, errlen) ||
	    pki_write(pf, PF_OCSP_CERT, NULL, &p->ocsp, 1, err, errlen) ||
	    pki_write(pf, PF_OCSP_KEY, p->ocsp_key, NULL, 0, err, errlen) ||
	    pki_write(pf, PF_TLS_CERT, NULL, tls, 2, err, errlen) ||
	    pki_write(pf, PF_TLS_KEY, p->tls_key, NULL, 0, err, errlen))
		return -1;
	return 0;
}

/* See ca.h. */
int
pki_init(const struct bridge_config *c, const struct pki_init_opts *o,
    char *err, size_t errlen)
{
	return pki_init_token(c, o, NULL, NULL, err, errlen);
}

/* See ca.h.  o may be NULL (name from c, no extra hostnames, EC P-256).
 * Nothing is left behind on failure except the directories (and the
 * token's keys, which the caller made). */
int
pki_init_token(const struct bridge_config *c, const struct pki_init_opts *o,
    EVP_PKEY *iss_key, EVP_PKEY *ocsp_key, char *err, size_t errlen)
{
	struct pki_set set = { 0 };
	struct pki_files *pf = NULL;
	GENERAL_NAMES *san = NULL;
	X509_NAME *probe = NULL;
	const char *name, *key_type;
	int i, rc = -1;

	name = o != NULL && o->name != NULL ? o->name : c->name;
	key_type = o != NULL && o->key_type != NULL && o->key_type[0] != '\0' ?
	    o->key_type : PKI_KEY_EC;
	if (strcmp(key_type, PKI_KEY_EC) != 0 &&
	    strcmp(key_type, PKI_KEY_RSA) != 0) {
		snprintf(err, errlen, "unknown key type \"%.32s\" (use %s or "
		    "%s)", key_type, PKI_KEY_EC, PKI_KEY_RSA);
		goto out;
	}
	if (name[0] == '\0') {
		snprintf(err, errlen, "the bridge name must not be empty");
		goto out;
	}
	/* Everything that can be refused is checked before anything is
	 * generated or written: the CA names too. */
	if ((probe = ca_subject_name(c, "CA", err, errlen)) == NULL)
		goto out;
	if ((san = pki_tls_sans(o, err, errlen)) == NULL)
		goto out;
	if ((pf = calloc(1, sizeof(*pf))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (pki_files_plan(c, o != NULL && o->root_key_out != NULL ?
	    o->root_key_out : PKI_ROOT_KEY, pf, err, errlen) == -1)
		goto out;
	if ((iss_key == NULL) != !ca_is_token_uri(c->ca_issuing_key) ||
	    (ocsp_key == NULL) != !ca_is_token_uri(c->ocsp_key)) {
		snprintf(err, errlen, "a key in a token must be configured "
		    "by its pkcs11: URI");
		goto out;
	}
	if (pki_make(&set, c, name, key_type, iss_key, ocsp_key, san, err,
	    errlen) == -1)
		goto out;
	if (pki_dirs(c, err, errlen) == -1)
		goto out;
	if (pki_write_all(pf, &set, err, errlen) == -1)
		goto out;
	log_info("pki: created %s CA chain, OCSP signer and TLS certificate "
	    "for \"%s\" in %s", key_type, name, c->dir);
	rc = 0;
out:
	if (rc == -1 && pf != NULL)
		for (i = 0; i < PF_COUNT; i++)
			if (pf->created[i] != 0)
				unlink(pf->path[i]);
	if (rc == -1)
		log_openssl("pki");
	else
		ERR_clear_error();
	free(pf);
	X509_NAME_free(probe);
	GENERAL_NAMES_free(san);
	pki_set_free(&set);
	return rc;
}
