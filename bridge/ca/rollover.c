/*
 * rollover.c: `keybridge ca rollover -d DIR --root-key FILE` (issue 17;
 * docs/operations.md "CA rollover").
 *
 * Makes a new issuing CA signed by the root and its delegated OCSP signer,
 * with new keys of the current issuer's type, and makes it the current
 * issuer of the data directory (issuers.c).  The old issuers stay: the
 * bridge keeps answering OCSP and CRLs for their certificates until the
 * last one has expired.  A running bridge is not touched: it takes the
 * new issuer at its next start.
 *
 * The new CA's subject is the current one's with its CN given a
 * generation suffix (" G2", " G3", ...), so that the two issuers' names
 * differ: OCSP CertIDs, CRLs and chain building tell them apart by name
 * as well as by key.  Everything is written into a dot-directory first
 * and renamed into place, then DIR/ca/issuers/current is replaced by a
 * rename: a crash leaves either the old state or the new one (and maybe
 * a dot-directory, which nothing reads).
 *
 * When the current issuing CA key is in a PKCS#11 token, the new keys are
 * made in that token (rollover_token.c) and the issuer's directory holds
 * their URIs (issuing.uri, ocsp.uri) instead of key files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "bridge/ca/ca.h"

#define RO_DAY_SECS	(24L * 60 * 60)
#define RO_ISSUING_DAYS	(10L * 365 + 3)	/* as pki.c's issuing CA */
#define RO_OCSP_DAYS	(2L * 365 + 1)
#define RO_BACKDATE	(5L * 60)
#define RO_CN_MAX	64		/* RFC 5280 ub-common-name */
#define RO_RSA_BITS	((size_t)3072)
#define RO_DIR_MODE	0700
#define RO_KEY_MODE	0600
#define RO_CERT_MODE	0644

static X509 *
ro_read_cert(const struct bridge_config *cfg, const char *value, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	X509 *x = NULL;
	FILE *fp;

	if ((fp = fopen(config_path(cfg, value, path, sizeof(path)), "re")) ==
	    NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((x = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL)
		snprintf(err, errlen, "%s holds no PEM certificate", path);
	fclose(fp);
	return x;
}

/* A key of the type of pub (EC P-256 or RSA 3072).  NULL with err set. */
static EVP_PKEY *
ro_keygen(EVP_PKEY *pub, char *err, size_t errlen)
{
	EVP_PKEY *k = NULL;

	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", RO_RSA_BITS);
	else if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		snprintf(err, errlen, "the current issuing CA's key is "
		    "neither EC nor RSA");
	if (k == NULL && EVP_PKEY_get_base_id(pub) != EVP_PKEY_NONE)
		log_openssl_why(err, errlen, "cannot generate a key");
	return k;
}

/* old's subject with its CN's generation suffix set to gen: "X Issuing
 * CA" -> "X Issuing CA G2", "X Issuing CA G2" -> "X Issuing CA G3".
 * NULL with err set. */
static X509_NAME *
ro_subject(const X509_NAME *old, int gen, char *err, size_t errlen)
{
	X509_NAME *n = X509_NAME_dup(old);
	X509_NAME_ENTRY *e;
	char cn[RO_CN_MAX + 1], *sp;
	int i, len;

	if (n == NULL || (i = X509_NAME_get_index_by_NID(n, NID_commonName,
	    -1)) < 0 || (len = X509_NAME_get_text_by_NID(n, NID_commonName,
	    cn, sizeof(cn))) <= 0) {
		snprintf(err, errlen, "the current CA's subject has no CN");
		goto fail;
	}
	/* Strip an earlier " G<digits>". */
	if ((sp = strrchr(cn, ' ')) != NULL && sp[1] == 'G' && sp[2] != '\0' &&
	    strspn(sp + 2, "0123456789") == strlen(sp + 2))
		*sp = '\0';
	len = (int)strlen(cn);
	if (len + 12 > RO_CN_MAX) {
		snprintf(err, errlen, "the CA's CN is too long for a "
		    "generation suffix");
		goto fail;
	}
	snprintf(cn + len, sizeof(cn) - (size_t)len, " G%d", gen);
	e = X509_NAME_delete_entry(n, i);
	X509_NAME_ENTRY_free(e);
	if (X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, i, 0) != 1) {
		snprintf(err, errlen, "cannot set the CN");
		goto fail;
	}
	return n;
fail:
	X509_NAME_free(n);
	return NULL;
}

/* A certificate of subject for key, issued by issuer (issuer_key), valid
 * days (capped at the issuer's notAfter), with exts.  NULL with err. */
static X509 *
ro_cert(X509_NAME *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
    long days, const struct ca_ext *exts, size_t nexts, char *err,
    size_t errlen)
{
	X509V3_CTX ctx;
	X509 *x = NULL;
	time_t now = time(NULL), end = now + days * RO_DAY_SECS;
	int pday, psec;

	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    pki_serial(X509_get_serialNumber(x)) != 0 ||
	    X509_set_subject_name(x, subject) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	/* Never past the issuer's own notAfter. */
	{
		ASN1_TIME *t = ASN1_TIME_set(NULL, end);

		if (t == NULL || ASN1_TIME_diff(&pday, &psec, t,
		    X509_get0_notAfter(issuer)) != 1) {
			ASN1_TIME_free(t);
			goto fail;
		}
		ASN1_TIME_free(t);
		if (pday < 0 || psec < 0)
			end = now + (days + pday) * RO_DAY_SECS + psec;
	}
	if (end <= now) {
		snprintf(err, errlen, "the root CA expires too soon");
		X509_free(x);
		return NULL;
	}
	if (X509_time_adj_ex(X509_getm_notBefore(x), 0, -RO_BACKDATE,
	    &now) == NULL || ASN1_TIME_set(X509_getm_notAfter(x), end) ==
	    NULL)
		goto fail;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (ca_add_exts(x, &ctx, exts, nexts) != 0)
		goto fail;
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	log_openssl_why(err, errlen, "cannot make the certificate");
	X509_free(x);
	return NULL;
}

/* Writes a key (mode 0600), a certificate or a line of text (a key's
 * pkcs11: URI; 0644) to dir/name, O_EXCL, fsync'd.  0, or -1 with err
 * set. */
static int
ro_write(const char *dir, const char *name, EVP_PKEY *key, X509 *cert,
    const char *text, char *err, size_t errlen)
{
	char path[PATH_MAX];
	mode_t mode = key != NULL ? RO_KEY_MODE : RO_CERT_MODE;
	FILE *fp = NULL;
	int fd = -1, ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) < 0 || fchmod(fd, mode) != 0 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (key != NULL)
		ok = PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL,
		    NULL) == 1;
	else if (cert != NULL)
		ok = PEM_write_X509(fp, cert) == 1;
	else
		ok = fprintf(fp, "%s\n", text) > 0;
	ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
	if (fclose(fp) != 0)
		ok = 0;
	if (!ok)
		snprintf(err, errlen, "cannot write %s", path);
	return ok ? 0 : -1;
}

static int
ro_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Makes id current: DIR/ca/issuers/current replaced by a rename. */
static int
ro_set_current(const char *issuers, const char *id, char *err, size_t errlen)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd;
	size_t len = strlen(id);

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", issuers,
	    CA_ISSUERS_CURRENT, (long)getpid()) >= sizeof(tmp) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", issuers,
	    CA_ISSUERS_CURRENT) >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", issuers);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    RO_CERT_MODE)) < 0 || write(fd, id, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || fsync(fd) != 0 || close(fd) != 0 ||
	    rename(tmp, path) != 0 || ro_fsync_dir(issuers) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

/* Removes the files of a failed rollover's dot-directory. */
static void
ro_cleanup(const char *dir)
{
	static const char *const names[] = { CA_ISSUER_CERT, CA_ISSUER_KEY,
	    CA_ISSUER_OCSP_CERT, CA_ISSUER_OCSP_KEY, CA_ISSUER_KEY_URI,
	    CA_ISSUER_OCSP_URI };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]) < sizeof(path))
			(void)unlink(path);
	(void)rmdir(dir);
}

/* What a rollover holds from its checks to its install (ca_rollover). */
struct ro_state {
	struct ca_issuer_files *f;	/* the data directory's issuers */
	size_t n;			/* how many */
	int token;			/* the current key is in a token */
	X509 *root, *cur, *cur_ocsp;	/* the root, the current issuer's */
	EVP_PKEY *rkey;			/* the root's key */
	X509 *iss, *ocsp;		/* the new issuer and OCSP signer */
	EVP_PKEY *ikey, *okey;		/* their keys */
	char iuri[CONFIG_STR], ouri[CONFIG_STR];	/* in a token: theirs */
};

static void
ro_state_free(struct ro_state *st)
{
	free(st->f);
	X509_free(st->root);
	X509_free(st->cur);
	X509_free(st->cur_ocsp);
	X509_free(st->iss);
	X509_free(st->ocsp);
	EVP_PKEY_free(st->rkey);
	EVP_PKEY_free(st->ikey);
	EVP_PKEY_free(st->okey);
}

/* Step 1: the issuers of cfg's data directory (room for one more), the
 * root key at root_key and the certificates of the root and the current
 * issuer, checked to belong together.  0, or -1 with err. */
static int
ro_load(const struct bridge_config *cfg, const char *root_key,
    struct ro_state *st, char *err, size_t errlen)
{
	if ((st->f = calloc(CA_ISSUERS_MAX, sizeof(*st->f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ca_issuers_scan(cfg, st->f, CA_ISSUERS_MAX, &st->n, err,
	    errlen) != 0)
		return -1;
	if (st->n + 1 > CA_ISSUERS_MAX - 1) {
		snprintf(err, errlen, "already %zu issuing CAs: remove the "
		    "directory of a retired one under %s first", st->n,
		    CA_ISSUERS_DIR);
		return -1;
	}
	st->token = ca_is_token_uri(st->f[0].key);
	if ((st->rkey = ledger_key_load(root_key, err, errlen)) == NULL)
		return -1;
	if ((st->root = ro_read_cert(cfg, cfg->ca_root, err, errlen)) ==
	    NULL ||
	    (st->cur = ro_read_cert(cfg, st->f[0].cert, err, errlen)) ==
	    NULL ||
	    (st->cur_ocsp = ro_read_cert(cfg, st->f[0].ocsp_cert, err,
	    errlen)) == NULL)
		return -1;
	if (X509_check_private_key(st->root, st->rkey) != 1) {
		snprintf(err, errlen, "%s is not the key of the root CA %s",
		    root_key, cfg->ca_root);
		return -1;
	}
	return 0;
}

/* Step 2: the new keys (in the token of the current key, or files of its
 * type), and the new issuer signed by the root and its OCSP signer, named
 * as the current ones with the next generation.  0, or -1 with err. */
static int
ro_make(const struct bridge_config *cfg, struct ro_state *st, char *err,
    size_t errlen)
{
	X509_NAME *iss_name = NULL, *ocsp_name = NULL;
	EVP_PKEY *cur_pub = X509_get0_pubkey(st->cur);
	int gen = (int)st->n + 1, rc = -1;

	if (st->token ? ca_rollover_token_keys(cfg, st->f[0].key,
	    EVP_PKEY_get_base_id(cur_pub) == EVP_PKEY_RSA ?
	    "rsa-3072" : "ec-p256", &st->ikey, &st->okey, st->iuri, st->ouri,
	    err, errlen) != 0 :
	    ((st->ikey = ro_keygen(cur_pub, err, errlen)) == NULL ||
	    (st->okey = ro_keygen(cur_pub, err, errlen)) == NULL))
		goto out;
	if ((iss_name = ro_subject(X509_get_subject_name(st->cur), gen,
	    err, errlen)) == NULL ||
	    (ocsp_name = ro_subject(X509_get_subject_name(st->cur_ocsp),
	    gen, err, errlen)) == NULL)
		goto out;
	if ((st->iss = ro_cert(iss_name, st->ikey, st->root, st->rkey,
	    RO_ISSUING_DAYS, ca_iss_exts, ca_iss_nexts, err,
	    errlen)) == NULL ||
	    (st->ocsp = ro_cert(ocsp_name, st->okey, st->iss, st->ikey,
	    RO_OCSP_DAYS, ca_ocsp_exts, ca_ocsp_nexts, err, errlen)) == NULL)
		goto out;
	rc = 0;
out:
	X509_NAME_free(iss_name);
	X509_NAME_free(ocsp_name);
	return rc;
}

/* Step 3: the new issuer's id, the hex of its subject key id.  0, or -1
 * with err. */
static int
ro_key_id(X509 *iss, char id[CA_ISSUER_ID_MAX + 1], char *err,
    size_t errlen)
{
	const ASN1_OCTET_STRING *ski;

	if ((ski = X509_get0_subject_key_id(iss)) == NULL ||
	    ASN1_STRING_length(ski) <= 0 ||
	    ASN1_STRING_length(ski) > CA_ISSUER_ID_MAX / 2) {
		snprintf(err, errlen, "the new CA has no usable key id");
		return -1;
	}
	ledger_hex(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski),
	    id);
	return 0;
}

/* Writes the new issuer's certificates and keys (or key URIs) into dir. */
static int
ro_write_all(const char *dir, const struct ro_state *st, char *err,
    size_t errlen)
{
	if (ro_write(dir, CA_ISSUER_CERT, NULL, st->iss, NULL, err,
	    errlen) != 0 ||
	    ro_write(dir, CA_ISSUER_OCSP_CERT, NULL, st->ocsp, NULL, err,
	    errlen) != 0)
		return -1;
	if (st->token ? ro_write(dir, CA_ISSUER_KEY_URI, NULL, NULL, st->iuri,
	    err, errlen) != 0 || ro_write(dir, CA_ISSUER_OCSP_URI, NULL, NULL,
	    st->ouri, err, errlen) != 0 :
	    ro_write(dir, CA_ISSUER_KEY, st->ikey, NULL, NULL, err,
	    errlen) != 0 || ro_write(dir, CA_ISSUER_OCSP_KEY, st->okey, NULL,
	    NULL, err, errlen) != 0)
		return -1;
	return 0;
}

/* Step 4: the new issuer written into a dot-directory, renamed to
 * DIR/ca/issuers/ID and made the current one.  On failure nothing of it
 * is left.  0, or -1 with err. */
static int
ro_install(const struct bridge_config *cfg, const struct ro_state *st,
    const char *id, char *err, size_t errlen)
{
	char issuers[PATH_MAX], tmpdir[PATH_MAX], final[PATH_MAX];
	int rc = -1, made = 0;

	config_path(cfg, CA_ISSUERS_DIR, issuers, sizeof(issuers));
	if (mkdir(issuers, RO_DIR_MODE) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", issuers,
		    strerror(errno));
		goto out;
	}
	if ((size_t)snprintf(tmpdir, sizeof(tmpdir), "%s/.new.%ld", issuers,
	    (long)getpid()) >= sizeof(tmpdir) ||
	    (size_t)snprintf(final, sizeof(final), "%s/%s", issuers, id) >=
	    sizeof(final)) {
		snprintf(err, errlen, "%s: path too long", issuers);
		goto out;
	}
	if (mkdir(tmpdir, RO_DIR_MODE) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmpdir,
		    strerror(errno));
		goto out;
	}
	made = 1;
	if (ro_write_all(tmpdir, st, err, errlen) != 0)
		goto out;
	if (ro_fsync_dir(tmpdir) != 0 || rename(tmpdir, final) != 0 ||
	    ro_fsync_dir(issuers) != 0) {
		snprintf(err, errlen, "cannot move %s to %s: %s", tmpdir,
		    final, strerror(errno));
		goto out;
	}
	made = 0;
	if (ro_set_current(issuers, id, err, errlen) != 0) {
		ro_cleanup(final);
		goto out;
	}
	rc = 0;
out:
	if (made)
		ro_cleanup(tmpdir);
	return rc;
}

/* See ca.h. */
int
ca_rollover(const struct bridge_config *cfg, const char *root_key,
    char id[CA_ISSUER_ID_MAX + 1], char *err, size_t errlen)
{
	struct ro_state st;
	int rc = -1;

	memset(&st, 0, sizeof(st));
	id[0] = '\0';
	if (ro_load(cfg, root_key, &st, err, errlen) != 0 ||
	    ro_make(cfg, &st, err, errlen) != 0 ||
	    ro_key_id(st.iss, id, err, errlen) != 0 ||
	    ro_install(cfg, &st, id, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		id[0] = '\0';
	ERR_clear_error();
	ro_state_free(&st);
	return rc;
}
