/*
 * pki_fx.c: a data directory with `keybridge init`'s CA chain (pki_fx.h).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include "tests/bridge/ca/pki_fx.h"

#define PKI_FX_ERRLEN	512
#define PKI_FX_FDS	16	/* nftw's open directories */

/* See pki_fx.h. */
int
fx_pki_dir(struct bridge_config *cfg, char dir[PATH_MAX], const char *tag)
{
	struct pki_init_opts o = { .name = "keybridge" };
	char err[PKI_FX_ERRLEN] = "";

	snprintf(dir, PATH_MAX, "/tmp/kb-test-%s-XXXXXX", tag);
	if (mkdtemp(dir) == NULL)
		return -1;
	config_defaults(cfg, dir);
	if (pki_init(cfg, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "pki_init: %s\n", err);
		return -1;
	}
	return 0;
}

/* See pki_fx.h. */
void *
fx_pki_pem(const struct bridge_config *cfg, const char *rel, int key)
{
	char path[PATH_MAX];
	void *v;
	FILE *fp;

	if ((fp = fopen(config_path(cfg, rel, path, sizeof(path)), "r")) ==
	    NULL)
		return NULL;
	v = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, NULL) :
	    (void *)PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	return v;
}

static int
pki_fx_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	return remove(path);
}

/* See pki_fx.h. */
void
fx_pki_rm(const char *dir)
{
	nftw(dir, pki_fx_rm_entry, PKI_FX_FDS, FTW_DEPTH | FTW_PHYS);
}
