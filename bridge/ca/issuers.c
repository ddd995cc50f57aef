/*
 * issuers.c: the issuing CAs of a data directory (issue 17, CA rollover;
 * docs/design.md "Issuers and CA rollover").
 *
 * The CA `keybridge init` made lives at the configured paths
 * (ca_issuing, ca_issuing_key, ocsp_cert, ocsp_key): the "original"
 * issuer.  Each `keybridge ca rollover` adds a directory
 *
 *	DIR/ca/issuers/<issuer id>/issuing.pem issuing.key ocsp.pem ocsp.key
 *
 * (with keys in a PKCS#11 token: issuing.uri and ocsp.uri, each a
 * pkcs11: URI, instead of the key files)
 * (the id: lowercase hex of the new CA's subjectKeyIdentifier) and names
 * it in DIR/ca/issuers/current, replaced by a rename.  The current issuer
 * signs new certificates; every other one still answers OCSP and CRLs for
 * the certificates it issued, until its last one has expired (the network
 * process decides that from the ledger: bridge/status.c).  A directory
 * whose name starts with a dot is a rollover in progress and is skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/file.h"
#include "bridge/ca/ca.h"

/* 1 when name is an issuer id: 2..CA_ISSUER_ID_MAX lowercase hex digits. */
int
ca_issuer_id_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 2 || n > CA_ISSUER_ID_MAX || n % 2 != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return 1;
}

/* A key made in a token: the URI the file dir/id/name holds replaces
 * key (a path).  0 (also when there is no such file), or -1. */
static int
issuer_uri(const struct bridge_config *cfg, const char *id, const char *name,
    char key[CONFIG_STR])
{
	char rel[CONFIG_STR], path[PATH_MAX], buf[CONFIG_STR + 2], why[CONFIG_STR];
	size_t n;
	int r;

	if ((size_t)snprintf(rel, sizeof(rel), "%s/%s/%s", CA_ISSUERS_DIR, id,
	    name) >= sizeof(rel) || config_path(cfg, rel, path,
	    sizeof(path))[0] == '\0')
		return -1;
	if ((r = file_read_small(path, buf, sizeof(buf), &n, why,
	    sizeof(why))) != 0)
		return r == 1 ? 0 : -1;
	buf[strcspn(buf, "\n")] = '\0';
	if (!ca_is_token_uri(buf) || strlen(buf) >= CONFIG_STR)
		return -1;
	memcpy(key, buf, strlen(buf) + 1);
	return 0;
}

/* Fills f for the rolled issuer id (paths relative to the data dir). */
static int
issuer_rolled(const struct bridge_config *cfg, struct ca_issuer_files *f,
    const char *id)
{
	memset(f, 0, sizeof(*f));
	if ((size_t)snprintf(f->id, sizeof(f->id), "%s", id) >= sizeof(f->id) ||
	    (size_t)snprintf(f->cert, sizeof(f->cert), "%s/%s/%s",
	    CA_ISSUERS_DIR, id, CA_ISSUER_CERT) >= sizeof(f->cert) ||
	    (size_t)snprintf(f->key, sizeof(f->key), "%s/%s/%s",
	    CA_ISSUERS_DIR, id, CA_ISSUER_KEY) >= sizeof(f->key) ||
	    (size_t)snprintf(f->ocsp_cert, sizeof(f->ocsp_cert), "%s/%s/%s",
	    CA_ISSUERS_DIR, id, CA_ISSUER_OCSP_CERT) >= sizeof(f->ocsp_cert) ||
	    (size_t)snprintf(f->ocsp_key, sizeof(f->ocsp_key), "%s/%s/%s",
	    CA_ISSUERS_DIR, id, CA_ISSUER_OCSP_KEY) >= sizeof(f->ocsp_key) ||
	    (size_t)snprintf(f->crl_state, sizeof(f->crl_state),
	    CA_ISSUER_CRL_STATE, id) >= sizeof(f->crl_state))
		return -1;
	if (issuer_uri(cfg, id, CA_ISSUER_KEY_URI, f->key) != 0 ||
	    issuer_uri(cfg, id, CA_ISSUER_OCSP_URI, f->ocsp_key) != 0)
		return -1;
	return 0;
}

static int
issuer_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ca_issuer_files *)a)->id,
	    ((const struct ca_issuer_files *)b)->id);
}

/* The id DIR/ca/issuers/current names into id ("" when there is no such
 * file).  0, or -1 with err set. */
static int
issuers_current(const struct bridge_config *cfg,
    char id[CA_ISSUER_ID_MAX + 1], char *err, size_t errlen)
{
	char path[PATH_MAX], buf[CA_ISSUER_ID_MAX + 4];
	size_t n;
	int r;

	id[0] = '\0';
	config_path(cfg, CA_ISSUERS_DIR "/" CA_ISSUERS_CURRENT, path,
	    sizeof(path));
	if ((r = file_read_small(path, buf, sizeof(buf), &n, err, errlen)) != 0)
		return r == 1 ? 0 : -1;
	buf[strcspn(buf, "\n")] = '\0';
	if (!ca_issuer_id_ok(buf)) {
		snprintf(err, errlen, "%s does not name an issuer id", path);
		return -1;
	}
	memcpy(id, buf, strlen(buf) + 1);	/* ca_issuer_id_ok: it fits */
	return 0;
}

/* See ca.h. */
int
ca_issuers_scan(const struct bridge_config *cfg, struct ca_issuer_files *out,
    size_t max, size_t *n, char *err, size_t errlen)
{
	char path[PATH_MAX], cur[CA_ISSUER_ID_MAX + 1];
	struct ca_issuer_files tmp;
	struct dirent *de;
	DIR *d = NULL;
	size_t i, nrolled = 0;
	int rc = -1;

	*n = 0;
	if (max < 1 || issuers_current(cfg, cur, err, errlen) != 0)
		goto out;
	/* [0] is kept for the current one, filled last. */
	config_path(cfg, CA_ISSUERS_DIR, path, sizeof(path));
	if ((d = opendir(path)) == NULL && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    strcmp(de->d_name, CA_ISSUERS_CURRENT) == 0)
			continue;
		if (!ca_issuer_id_ok(de->d_name)) {
			snprintf(err, errlen, "%s/%s: not an issuer id (a "
			    "rollover's directory is named by the CA's key "
			    "id); move it away", path, de->d_name);
			goto out;
		}
		if (nrolled + 3 > max) {
			snprintf(err, errlen, "more than %zu issuing CAs in "
			    "%s: remove the directory of a retired one", max - 1,
			    path);
			goto out;
		}
		if (issuer_rolled(cfg, &out[1 + nrolled], de->d_name) != 0) {
			snprintf(err, errlen, "%s/%s: path too long, or a "
			    "damaged %s or %s", path, de->d_name,
			    CA_ISSUER_KEY_URI, CA_ISSUER_OCSP_URI);
			goto out;
		}
		nrolled++;
	}
	qsort(out + 1, nrolled, sizeof(*out), issuer_cmp);
	/* The original: the configured files. */
	memset(&out[1 + nrolled], 0, sizeof(*out));
	out[1 + nrolled].original = 1;
	snprintf(out[1 + nrolled].cert, sizeof(out->cert), "%s",
	    cfg->ca_issuing);
	snprintf(out[1 + nrolled].key, sizeof(out->key), "%s",
	    cfg->ca_issuing_key);
	snprintf(out[1 + nrolled].ocsp_cert, sizeof(out->ocsp_cert), "%s",
	    cfg->ocsp_cert);
	snprintf(out[1 + nrolled].ocsp_key, sizeof(out->ocsp_key), "%s",
	    cfg->ocsp_key);
	if (cur[0] == '\0') {
		/* No rollover named a current issuer: the original is. */
		out[0] = out[1 + nrolled];
		memmove(out + 1, out + 1, nrolled * sizeof(*out));
		*n = 1 + nrolled;
		rc = 0;
		goto out;
	}
	for (i = 1; i <= nrolled; i++)
		if (strcmp(out[i].id, cur) == 0)
			break;
	if (i > nrolled) {
		snprintf(err, errlen, "%s/%s names issuer %s, which has no "
		    "directory there", path, CA_ISSUERS_CURRENT, cur);
		goto out;
	}
	tmp = out[i];
	memmove(out + i, out + i + 1, (nrolled + 1 - i) * sizeof(*out));
	out[0] = tmp;
	*n = 1 + nrolled;
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	return rc;
}

/* See ca.h. */
void
ca_issuer_urls(const char *base, const char *id, int original,
    char *cai, size_t cailen, char *crl, size_t crllen)
{
	if (original)
		snprintf(cai, cailen, "%s/ca/issuing.der", base);
	else
		snprintf(cai, cailen, "%s/ca/%s.der", base, id);
	snprintf(crl, crllen, "%s/crl/%s.crl", base, id);
}
