/*
 * check.h: `keybridge check -d DIR` and `keybridge serve -n -d DIR`, and
 * the checks SIGHUP runs on a configuration before it reloads it
 * (bridge/check.c; docs/operations.md "Checking a configuration").
 * A leaf header: the configuration is all it needs.
 */
#ifndef KEYBRIDGE_CHECK_H
#define KEYBRIDGE_CHECK_H

#include <openssl/x509.h>

#include "bridge/config.h"

/* What check_config reads besides the settings, the TLS certificate
 * and key (always).  SIGHUP checks with none of them: it reloads only
 * the TLS files, and the bridge's user may not read the rest once it
 * dropped root. */
#define CHECK_KEYS	0x1	/* the key process's private keys: load each
				 * (file or PKCS#11 token) and match it with
				 * its certificate; without it, key files are
				 * only checked for their mode */
#define CHECK_DB	0x2	/* reach the database, check its schema */
#define CHECK_CA	0x4	/* the CA's certificates (root, issuing, OCSP
				 * signer, ca_chain), the other key files'
				 * modes, the PIN file */
#define CHECK_ALL	(CHECK_KEYS | CHECK_DB | CHECK_CA)

/* A certificate expiring sooner than this is a warning. */
#define CHECK_EXPIRY_WARN_DAYS	30

/* The command line's settings over keybridge.conf's (serve's options,
 * kept for SIGHUP, which rereads the file); NULL: the file's. */
struct config_overrides {
	const char *est_listen, *http_listen, *db, *log_level;
};

/* Where check_config's findings go: emit(arg, problem, line) once per
 * finding, problem = 1 for what makes the configuration unusable, 0 for
 * a warning; line is "PATH: what" (a configuration error:
 * "DIR/keybridge.conf:LINE: what").  The counts are check's. */
struct check_report {
	void (*emit)(void *arg, int problem, const char *line);
	void *arg;
	unsigned problems, warnings;
};

/* Every check of cfg that needs neither a listener nor the lock: the
 * listen addresses, api_auth against api_token, the unprivileged user,
 * the TLS certificate (readable, within its validity, chained to the
 * root) and key (mode 0600, matching it); with CHECK_CA every other
 * certificate (within its validity, the chain issuing -> root, ca_chain
 * to the root, the OCSP signer issued by the issuing CA for OCSP
 * signing), every other key file's mode and the PIN file; with
 * CHECK_KEYS each of the key process's keys loaded and matching its
 * certificate (the node's key: validator_vkey; a pkcs11: URI through the
 * token); with CHECK_DB the database.  Without CHECK_CA, root (borrowed,
 * may be NULL: not checked) is the TLS chain's anchor.  Every finding
 * goes to r; returns the number of problems (0: good). */
unsigned check_config(const struct bridge_config *cfg, unsigned flags,
    X509 *root, struct check_report *r);

/* Applies ov's non-NULL settings to cfg. */
void check_apply_overrides(struct bridge_config *cfg,
    const struct config_overrides *ov);

/* Whether API reads need the bearer token (api_auth: auto = unless
 * est_listen is loopback): *need set and 0, or -1 with why when cfg
 * cannot be served safely (token needed and api_token empty, api_auth
 * unknown). */
int check_api_auth(const struct bridge_config *cfg, int *need, char *why,
    size_t whylen);

/* `keybridge check -d DIR` (who: "check") and `keybridge serve -n`
 * ("serve -n"): loads DIR/keybridge.conf reporting every bad line,
 * applies ov, runs check_config with flags, prints every problem and
 * warning on stderr and a summary.  Starts nothing and takes no lock:
 * it runs beside a bridge serving DIR.  The exit status: 0 when there is
 * no problem, 1 otherwise. */
int check_run(const char *who, const char *dir,
    const struct config_overrides *ov, unsigned flags);

#endif
