/*
 * crlsave.c: the CRLs served, kept in files so that a restart serves the
 * last ones at once (docs/design.md "CRLs across a restart").
 *
 * A CRL signed before the stop stays valid until its nextUpdate (RFC 5280
 * 5.1.2.5), and clients may hold it that long anyway; answering 503 for
 * the moments a restart takes to make new ones only fails relying
 * parties that fetch then.  So every CRL the responder starts to serve is
 * written to crl_dir (0600, a temporary file renamed over the old one:
 * a reader sees the old file or the new one), and at start each file is
 * served again when it still proves itself: a CRL of that issuer by name,
 * its signature good under the issuer's key, its nextUpdate not passed,
 * a crlNumber, a deltaCRLIndicator exactly when a delta is wanted.  A
 * file that fails any of these is left alone and the scope answers 503
 * until its first CRL is made, as on a first start.
 *
 * Names: "<issuer id>.crl", "<issuer id>.delta.crl" for the full CRL,
 * "<issuer id>-<n>-<p>.crl" and "...delta.crl" for partition p of n: a
 * changed crl_partitions reads none of the old partitions' files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ocsp/ocsp_int.h"

#define OCSPR_CRLSAVE_MAX (256L * 1024 * 1024)	/* bytes of one CRL file */
#define OCSPR_CRLSAVE_SKEW 300			/* s of thisUpdate ahead */

/* See ocsp_int.h. */
int
ocspr_crlsave_name(const char *id, int n, int p, int delta, char *out,
    size_t len)
{
	int w;

	if (p < 0)
		w = snprintf(out, len, "%s%s.crl", id, delta ? ".delta" : "");
	else
		w = snprintf(out, len, "%s-%d-%d%s.crl", id, n, p,
		    delta ? ".delta" : "");
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* dir/name into out.  0 or -1. */
static int
ocspr_crlsave_path(const char *dir, const char *name, const char *suffix,
    char *out, size_t len)
{
	int w = snprintf(out, len, "%s/%s%s", dir, name, suffix);

	return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* See ocsp_int.h.  Loop thread (the only writer). */
int
ocspr_crlsave_write(const char *dir, const char *name,
    const unsigned char *der, size_t len)
{
	char path[OCSPR_PATH_MAX], tmp[OCSPR_PATH_MAX] = "";
	size_t off = 0;
	ssize_t w;
	int fd = -1, rc = -1;

	errno = ENAMETOOLONG;
	if (ocspr_crlsave_path(dir, name, "", path, sizeof(path)) != 0 ||
	    ocspr_crlsave_path(dir, name, ".tmp", tmp, sizeof(tmp)) != 0)
		goto out;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		goto out;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		goto out;
	while (off < len) {
		if ((w = write(fd, der + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)w;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc != 0) {
		int e = errno;

		if (tmp[0] != '\0')
			unlink(tmp);
		errno = e;
	}
	return rc;
}

/* The whole of dir/name, at most OCSPR_CRLSAVE_MAX bytes: a new buffer
 * (OPENSSL_malloc) in *der, or NULL when absent or unreadable. */
static unsigned char *
ocspr_crlsave_slurp(const char *dir, const char *name, size_t *len)
{
	char path[OCSPR_PATH_MAX];
	unsigned char *buf = NULL;
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int fd = -1;

	if (ocspr_crlsave_path(dir, name, "", path, sizeof(path)) != 0 ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > OCSPR_CRLSAVE_MAX ||
	    (buf = OPENSSL_malloc((size_t)st.st_size)) == NULL)
		goto fail;
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	close(fd);
	*len = off;
	return buf;
fail:
	if (fd != -1)
		close(fd);
	OPENSSL_free(buf);
	return NULL;
}

/* t as seconds since 1970 in *out.  0 or -1. */
static int
ocspr_crlsave_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* The INTEGER extension nid of crl in *v: 1, 0 when absent, -1 when
 * malformed. */
static int
ocspr_crlsave_int(const X509_CRL *crl, int nid, uint64_t *v)
{
	ASN1_INTEGER *a;
	int crit, rc;

	if ((a = X509_CRL_get_ext_d2i(crl, nid, &crit, NULL)) == NULL)
		return crit == -1 ? 0 : -1;
	rc = ASN1_INTEGER_get_uint64(v, a) == 1 ? 1 : -1;
	ASN1_INTEGER_free(a);
	return rc;
}

/* Whether crl is what the file must hold (see the top): 0 with d's
 * numbers and times set, or -1 with why. */
static int
ocspr_crlsave_check(const X509_CRL *crl, X509 *issuer, int delta,
    time_t now, struct ocspr_crlsave_doc *d, const char **why)
{
	EVP_PKEY *pk = X509_get0_pubkey(issuer);
	int hasbase;

	*why = "not the issuer's";
	if (pk == NULL || X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(issuer)) != 0)
		return -1;
	*why = "bad signature";
	if (X509_CRL_verify((X509_CRL *)crl, pk) != 1)
		return -1;
	*why = "bad times";
	if (ocspr_crlsave_time(X509_CRL_get0_lastUpdate(crl),
	    &d->this_update) != 0 || ocspr_crlsave_time(
	    X509_CRL_get0_nextUpdate(crl), &d->next_update) != 0 ||
	    d->this_update > now + OCSPR_CRLSAVE_SKEW)
		return -1;
	*why = "past its nextUpdate";
	if (d->next_update <= now)
		return -1;
	*why = "no crlNumber, or a delta where a base was wanted (or the "
	    "reverse)";
	d->base = 0;
	if (ocspr_crlsave_int(crl, NID_crl_number, &d->number) != 1 ||
	    (hasbase = ocspr_crlsave_int(crl, NID_delta_crl, &d->base)) < 0 ||
	    hasbase != (delta != 0))
		return -1;
	return 0;
}

/* See ocsp_int.h.  Loop thread, at start. */
int
ocspr_crlsave_read(const char *dir, const char *name, X509 *issuer,
    int delta, time_t now, struct ocspr_crlsave_doc *d, const char **why)
{
	const unsigned char *p;
	X509_CRL *crl = NULL;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	*why = NULL;
	if ((d->der = ocspr_crlsave_slurp(dir, name, &d->len)) == NULL)
		goto out;		/* absent: a first start */
	*why = "not a DER CRL";
	p = d->der;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)d->len)) == NULL ||
	    p != d->der + d->len ||
	    ocspr_crlsave_check(crl, issuer, delta, now, d, why) != 0)
		goto out;
	*why = NULL;
	rc = 0;
out:
	if (rc != 0) {
		OPENSSL_free(d->der);
		d->der = NULL;
	}
	X509_CRL_free(crl);
	ERR_clear_error();
	return rc;
}
