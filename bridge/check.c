/*
 * check.c: is a data directory servable?  `keybridge check -d DIR`,
 * `keybridge serve -n -d DIR`, and the checks SIGHUP runs before it
 * takes a new configuration (bridge/reload.c).
 *
 * As OpenBSD's `httpd -n` and nginx's `-t`, the check parses the
 * configuration and opens what `serve` would open, without starting
 * anything: no listener, no key process, no lock.  Unlike them it does
 * not stop at the first problem: an operator who moved a directory, or
 * rotated a certificate, wants the whole list at once.  Each finding is
 * one line naming its file ("DIR/tls/server.key: key file is accessible
 * by group or others (mode 0644) ...") and, when the problem is in
 * keybridge.conf or comes from one of its settings, the line of that
 * setting ("DIR/keybridge.conf:17: ...", "(tls_key,
 * keybridge.conf:17)").
 *
 * Example:
 *
 *	$ keybridge check -d /var/lib/keybridge
 *	keybridge: check: /var/lib/keybridge/keybridge.conf:7: batch_max
 *	    must be between 1 and 4096
 *	keybridge: check: /var/lib/keybridge/tls/server.key: TLS key does
 *	    not match the certificate /var/lib/keybridge/tls/server.pem
 *	    (tls_key, keybridge.conf:31)
 *	/var/lib/keybridge: 2 problems
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/util.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bridge/bridge.h"
#include "bridge/check.h"

#define CHECK_LINE_MAX	(2 * PATH_MAX + 512)	/* one finding */
#define CHECK_CERTS_MAX	16	/* certificates read from one PEM file */
#define CHECK_DAY_SEC	86400L

/* One run of check_config. */
struct check {
	const struct bridge_config *cfg;
	struct check_report *r;
	unsigned flags;
	time_t now;
	char conf[PATH_MAX + 32];	/* DIR/keybridge.conf */
	X509 *root, *issuing, *ocsp, *tls;	/* first of each file */
	STACK_OF(X509) *tls_chain;	/* the rest of tls_cert */
	int token_failed;		/* a token key did not load */
};

/* Reports one finding (problem 1, warning 0). */
static void
check_emit(struct check_report *r, int problem, const char *fmt, ...)
{
	char line[CHECK_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one line: libpq's messages hold newlines and tabs */
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	if (problem)
		r->problems++;
	else
		r->warnings++;
	if (r->emit != NULL)
		r->emit(r->arg, problem, line);
}

/* The line of keybridge.conf that sets key, or 0 (the default). */
static unsigned long
check_conf_line(const struct check *ck, const char *key)
{
	char *line = NULL, *p;
	size_t cap = 0, klen = strlen(key);
	unsigned long n = 0, found = 0;
	FILE *fp;

	if ((fp = fopen(ck->conf, "re")) == NULL)
		return 0;
	while (found == 0 && getline(&line, &cap, fp) != -1) {
		n++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (strncmp(p, key, klen) != 0)
			continue;
		for (p += klen; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '=')
			found = n;
	}
	free(line);
	fclose(fp);
	return found;
}

/* "(key, keybridge.conf:LINE)" or "(key, by default)" into out. */
static const char *
check_where(const struct check *ck, const char *key, char *out,
    size_t outlen)
{
	unsigned long n = strchr(key, '/') != NULL ? 0 :
	    check_conf_line(ck, key);

	if (strchr(key, '/') != NULL)	/* a file no setting names */
		snprintf(out, outlen, "(%s)", key);
	else if (n > 0)
		snprintf(out, outlen, "(%s, %s:%lu)", key, CONFIG_FILE, n);
	else
		snprintf(out, outlen, "(%s, by default)", key);
	return out;
}

/* "DIR/keybridge.conf:LINE" of key, or the file alone. */
static const char *
check_key_pos(const struct check *ck, const char *key, char *out,
    size_t outlen)
{
	unsigned long n = check_conf_line(ck, key);

	if (n > 0)
		snprintf(out, outlen, "%s:%lu", ck->conf, n);
	else
		snprintf(out, outlen, "%s", ck->conf);
	return out;
}

/* ---- certificates ------------------------------------------------------ */

/* Every certificate of the PEM file path, or NULL after a problem. */
static STACK_OF(X509) *
check_read_certs(struct check *ck, const char *path, const char *key,
    const char *what)
{
	STACK_OF(X509) *sk = NULL;
	char where[CONFIG_STR + 64];
	X509 *x;
	FILE *fp;

	if (path[0] == '\0') {
		check_emit(ck->r, 1, "%s: the %s path is empty or too long",
		    ck->conf, what);
		return NULL;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		check_emit(ck->r, 1, "%s: cannot read the %s: %s %s", path,
		    what, strerror(errno), check_where(ck, key, where,
		    sizeof(where)));
		return NULL;
	}
	if ((sk = sk_X509_new_null()) == NULL)
		goto out;
	while (sk_X509_num(sk) < CHECK_CERTS_MAX &&
	    (x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(sk, x) == 0) {
			X509_free(x);
			break;
		}
	ERR_clear_error();
out:
	fclose(fp);
	if (sk == NULL || sk_X509_num(sk) == 0) {
		check_emit(ck->r, 1, "%s: the %s holds no PEM certificate %s",
		    path, what, check_where(ck, key, where, sizeof(where)));
		sk_X509_pop_free(sk, X509_free);
		return NULL;
	}
	return sk;
}

/* The first certificate of path (get1), or NULL after a problem. */
static X509 *
check_read_cert(struct check *ck, const char *value, const char *key,
    const char *what)
{
	STACK_OF(X509) *sk;
	char path[PATH_MAX];
	X509 *x;

	config_path(ck->cfg, value, path, sizeof(path));
	if ((sk = check_read_certs(ck, path, key, what)) == NULL)
		return NULL;
	x = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return x;
}

/* ASN.1 time t as "2026-11-21 14:07:08 UTC" into out. */
static const char *
check_time_text(const ASN1_TIME *t, char *out, size_t outlen)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(out, outlen,
	    "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outlen, "(unreadable time)");
	return out;
}

/* x's validity against now: expired or not yet valid is a problem,
 * expiring within CHECK_EXPIRY_WARN_DAYS a warning. */
static void
check_times(struct check *ck, X509 *x, const char *path, const char *what)
{
	const ASN1_TIME *nb = X509_get0_notBefore(x), *na = X509_get0_notAfter(x);
	time_t soon = ck->now + CHECK_EXPIRY_WARN_DAYS * CHECK_DAY_SEC;
	char t[64];

	if (X509_cmp_time(na, &ck->now) <= 0)
		check_emit(ck->r, 1, "%s: the %s expired on %s", path, what,
		    check_time_text(na, t, sizeof(t)));
	else if (X509_cmp_time(na, &soon) <= 0)
		check_emit(ck->r, 0, "%s: the %s expires on %s (in less than "
		    "%d days)", path, what, check_time_text(na, t, sizeof(t)),
		    CHECK_EXPIRY_WARN_DAYS);
	if (X509_cmp_time(nb, &ck->now) >= 0)
		check_emit(ck->r, 1, "%s: the %s is not valid before %s", path,
		    what, check_time_text(nb, t, sizeof(t)));
}

/* 1 when issuer's key signed x and issuer's name is x's issuer name. */
static int
check_signed_by(X509 *x, X509 *issuer)
{
	EVP_PKEY *pk = X509_get0_pubkey(issuer);
	int ok;

	ok = X509_check_issued(issuer, x) == X509_V_OK && pk != NULL &&
	    X509_verify(x, pk) == 1;
	ERR_clear_error();
	return ok;
}

/* Whether x chains to ck->root through untrusted (any order): 0, or -1
 * with why.  Times are check_times's, not counted here. */
static int
check_chain(struct check *ck, X509 *x, STACK_OF(X509) *untrusted, char *why,
    size_t whylen)
{
	X509_STORE *st = NULL;
	X509_STORE_CTX *sc = NULL;
	int rc = -1;

	if ((st = X509_STORE_new()) == NULL || X509_STORE_add_cert(st,
	    ck->root) != 1 || (sc = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(sc, st, x, untrusted) != 1) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	X509_STORE_CTX_set_flags(sc, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(sc) != 1) {
		snprintf(why, whylen, "%s", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(sc)));
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(sc);
	X509_STORE_free(st);
	ERR_clear_error();
	return rc;
}

/* The root, the issuing CA signed by it, the OCSP signer issued by the
 * issuing CA for OCSP signing. */
static void
check_ca_certs(struct check *ck)
{
	const struct bridge_config *c = ck->cfg;
	char p[PATH_MAX], ip[PATH_MAX];

	config_path(c, c->ca_root, p, sizeof(p));
	if ((ck->root = check_read_cert(ck, c->ca_root, "ca_root",
	    "root CA certificate")) != NULL) {
		check_times(ck, ck->root, p, "root CA certificate");
		if (X509_check_ca(ck->root) != 1 || !check_signed_by(ck->root,
		    ck->root))
			check_emit(ck->r, 1, "%s: not a self-signed CA "
			    "certificate (ca_root)", p);
	}
	config_path(c, c->ca_issuing, ip, sizeof(ip));
	if ((ck->issuing = check_read_cert(ck, c->ca_issuing, "ca_issuing",
	    "issuing CA certificate")) != NULL) {
		check_times(ck, ck->issuing, ip, "issuing CA certificate");
		if (X509_check_ca(ck->issuing) != 1)
			check_emit(ck->r, 1, "%s: the issuing CA certificate "
			    "is not a CA (basicConstraints CA:TRUE)", ip);
		if (ck->root != NULL && !check_signed_by(ck->issuing,
		    ck->root))
			check_emit(ck->r, 1, "%s: the issuing CA certificate "
			    "is not issued by the root CA %s", ip, p);
	}
	config_path(c, c->ocsp_cert, p, sizeof(p));
	if ((ck->ocsp = check_read_cert(ck, c->ocsp_cert, "ocsp_cert",
	    "OCSP signer certificate")) != NULL) {
		check_times(ck, ck->ocsp, p, "OCSP signer certificate");
		/* RFC 6960 4.2.2.2: the extension must be there (without
		 * it OpenSSL answers "any usage") */
		if (!(X509_get_extension_flags(ck->ocsp) & EXFLAG_XKUSAGE) ||
		    !(X509_get_extended_key_usage(ck->ocsp) & XKU_OCSP_SIGN))
			check_emit(ck->r, 1, "%s: the OCSP signer certificate "
			    "lacks extendedKeyUsage OCSPSigning", p);
		if (ck->issuing != NULL && !check_signed_by(ck->ocsp,
		    ck->issuing))
			check_emit(ck->r, 1, "%s: the OCSP signer certificate "
			    "is not issued by the issuing CA %s (RFC 6960 "
			    "4.2.2.2)", p, ip);
	}
}

/* tls_cert (the leaf, then its chain) and ca_chain, each to the root. */
static void
check_tls_certs(struct check *ck)
{
	const struct bridge_config *c = ck->cfg;
	STACK_OF(X509) *sk;
	char p[PATH_MAX], why[256];
	int i;

	config_path(c, c->tls_cert, p, sizeof(p));
	if ((sk = check_read_certs(ck, p, "tls_cert",
	    "TLS certificate")) != NULL) {
		ck->tls = sk_X509_shift(sk);
		ck->tls_chain = sk;
		check_times(ck, ck->tls, p, "TLS certificate");
		for (i = 0; i < sk_X509_num(sk); i++)
			check_times(ck, sk_X509_value(sk, i), p,
			    "TLS chain's CA certificate");
		if (ck->root != NULL && check_chain(ck, ck->tls, sk, why,
		    sizeof(why)) != 0)
			check_emit(ck->r, 1, "%s: the TLS certificate does not "
			    "chain to the root CA: %s", p, why);
	}
	if (c->ca_chain[0] == '\0' || !(ck->flags & CHECK_CA))
		return;
	config_path(c, c->ca_chain, p, sizeof(p));
	if ((sk = check_read_certs(ck, p, "ca_chain", "CA chain")) == NULL)
		return;
	for (i = 0; i < sk_X509_num(sk); i++) {
		check_times(ck, sk_X509_value(sk, i), p, "CA chain's "
		    "certificate");
		if (ck->root != NULL && check_chain(ck, sk_X509_value(sk, i),
		    sk, why, sizeof(why)) != 0)
			check_emit(ck->r, 1, "%s: certificate %d of the CA chain "
			    "does not chain to the root CA: %s", p, i + 1, why);
	}
	sk_X509_pop_free(sk, X509_free);
}

/* ---- keys -------------------------------------------------------------- */

/* A key file's mode, without reading the key: 0, or -1 after a problem
 * (absent: 1 when missing_ok). */
static int
check_key_mode(struct check *ck, const char *path, const char *key,
    int missing_ok)
{
	char where[CONFIG_STR + 64];
	struct stat st;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && missing_ok)
			return 1;
		check_emit(ck->r, 1, "%s: %s %s", path, strerror(errno),
		    check_where(ck, key, where, sizeof(where)));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		check_emit(ck->r, 1, "%s: not a regular file %s", path,
		    check_where(ck, key, where, sizeof(where)));
	else if ((st.st_mode & 077) != 0)
		check_emit(ck->r, 1, "%s: key file is accessible by group or "
		    "others (mode %04o): run chmod 600 %s %s", path,
		    (unsigned)(st.st_mode & 07777), path, check_where(ck, key,
		    where, sizeof(where)));
	else
		rc = 0;
	close(fd);
	return rc;
}

/* One private key: what (for messages), key (its setting), value (a path
 * or a pkcs11: URI), cert (its certificate, or NULL).  A key of the key
 * process (keyproc) is loaded only with CHECK_KEYS. */
static void
check_key(struct check *ck, const char *key, const char *value,
    const char *what, X509 *cert, const char *cert_path, int keyproc)
{
	char path[PATH_MAX], err[PATH_MAX + 256], where[CONFIG_STR + 64];
	char vkey[CONFIG_STR];
	EVP_PKEY *pk = NULL;
	int token = ca_is_token_uri(value);

	config_path(ck->cfg, value, path, sizeof(path));
	if (!token && check_key_mode(ck, path, key, 0) != 0)
		return;
	if (keyproc && !(ck->flags & CHECK_KEYS))
		return;
	/* one failed login is enough: a token may lock itself after a few
	 * wrong PINs */
	if (token && ck->token_failed)
		return;
	if ((pk = ca_key_load(ck->cfg, value, what, err, sizeof(err))) ==
	    NULL) {
		ck->token_failed |= token;
		check_emit(ck->r, 1, "%s: %s %s", token ? value : path, err,
		    check_where(ck, key, where, sizeof(where)));
		goto out;
	}
	if (cert != NULL && X509_check_private_key(cert, pk) != 1)
		check_emit(ck->r, 1, "%s: the %s does not match the "
		    "certificate %s %s", token ? value : path, what,
		    cert_path, check_where(ck, key, where, sizeof(where)));
	if (strcmp(key, "validator_key") == 0 &&
	    ck->cfg->validator_vkey[0] != '\0' && (ledger_key_vkey(pk,
	    ck->cfg->validator_name, vkey, sizeof(vkey)) != 0 ||
	    strcmp(vkey, ck->cfg->validator_vkey) != 0))
		check_emit(ck->r, 1, "%s: the %s is not the one of "
		    "validator_vkey %s %s", token ? value : path, what,
		    ck->cfg->validator_vkey, check_where(ck, key, where,
		    sizeof(where)));
out:
	EVP_PKEY_free(pk);
	ERR_clear_error();
}

/* Every key, the PIN file when a key is in a token. */
static void
check_keys(struct check *ck)
{
	const struct bridge_config *c = ck->cfg;
	char p1[PATH_MAX], p2[PATH_MAX + 96], p3[PATH_MAX], pin[CA_PIN_MAX + 1];
	char err[PATH_MAX + 128], where[CONFIG_STR + 64];
	int tokens;

	config_path(c, c->tls_cert, p1, sizeof(p1));
	config_path(c, c->ca_issuing, p2, sizeof(p2));
	config_path(c, c->ocsp_cert, p3, sizeof(p3));
	/* the TLS key is the network process's own: always loaded */
	check_key(ck, "tls_key", c->tls_key, "TLS key", ck->tls, p1, 0);
	if (!(ck->flags & CHECK_CA))
		return;
	check_key(ck, "ca_issuing_key", c->ca_issuing_key, "issuing CA key",
	    ck->issuing, p2, 1);
	check_key(ck, "ocsp_key", c->ocsp_key, "OCSP signer key", ck->ocsp,
	    p3, 1);
	check_key(ck, "bridge_key", c->bridge_key, "bridge account key", NULL,
	    NULL, 1);
	check_key(ck, "validator_key", c->validator_key, "validator key",
	    NULL, NULL, 1);
	/* the CLI's default --account: often kept elsewhere, then absent */
	config_path(c, c->admin_key, p1, sizeof(p1));
	if (!ca_is_token_uri(c->admin_key))
		(void)check_key_mode(ck, p1, "admin_key", 1);
	tokens = ca_is_token_uri(c->ca_issuing_key) ||
	    ca_is_token_uri(c->ocsp_key) || ca_is_token_uri(c->bridge_key) ||
	    ca_is_token_uri(c->validator_key);
	if (!tokens)
		return;
	if (c->pkcs11_module[0] == '\0' || access(config_path(c,
	    c->pkcs11_module, p1, sizeof(p1)), R_OK) != 0)
		check_emit(ck->r, 1, "%s: keys in a PKCS#11 token need "
		    "pkcs11_module, a readable module (%s)", check_key_pos(ck,
		    "pkcs11_module", p2, sizeof(p2)), c->pkcs11_module[0] ==
		    '\0' ? "it is empty" : strerror(errno));
	config_path(c, c->pkcs11_pin_file, p1, sizeof(p1));
	if (ca_token_pin(p1, pin, err, sizeof(err)) != 0)
		check_emit(ck->r, 1, "%s %s", err, check_where(ck,
		    "pkcs11_pin_file", where, sizeof(where)));
	OPENSSL_cleanse(pin, sizeof(pin));
}

/* Every issuing CA a rollover made (ca/issuers/, issue 17): its
 * certificate current, a CA issued by the root, its OCSP signer issued
 * by it with OCSPSigning, and both keys 0600 and matching (loaded with
 * CHECK_KEYS).  The original is the configured one, checked above. */
static void
check_rolled_issuers(struct check *ck)
{
	struct ca_issuer_files f[CA_ISSUERS_MAX];
	char err[PATH_MAX + 128], cp[PATH_MAX], op[PATH_MAX];
	char where[CA_ISSUER_ID_MAX + 16];
	X509 *ca = NULL, *ocsp = NULL;
	size_t i, n = 0;

	if (ca_issuers_scan(ck->cfg, f, CA_ISSUERS_MAX, &n, err,
	    sizeof(err)) != 0) {
		check_emit(ck->r, 1, "%s/ca/issuers: %s", ck->cfg->dir, err);
		return;
	}
	for (i = 0; i < n; i++, X509_free(ca), X509_free(ocsp)) {
		ca = ocsp = NULL;
		if (f[i].original)
			continue;
		snprintf(where, sizeof(where), "ca/issuers/%s", f[i].id);
		config_path(ck->cfg, f[i].cert, cp, sizeof(cp));
		config_path(ck->cfg, f[i].ocsp_cert, op, sizeof(op));
		if ((ca = check_read_cert(ck, f[i].cert, where,
		    "rolled issuing CA certificate")) != NULL) {
			check_times(ck, ca, cp, "issuing CA certificate");
			if (X509_check_ca(ca) != 1 || ck->root == NULL ||
			    !check_signed_by(ca, ck->root))
				check_emit(ck->r, 1, "%s: not a CA issued by "
				    "the root CA", cp);
		}
		if ((ocsp = check_read_cert(ck, f[i].ocsp_cert, where,
		    "rolled OCSP signer certificate")) != NULL) {
			check_times(ck, ocsp, op, "OCSP signer certificate");
			if (!(X509_get_extended_key_usage(ocsp) &
			    XKU_OCSP_SIGN) || ca == NULL ||
			    !check_signed_by(ocsp, ca))
				check_emit(ck->r, 1, "%s: not an OCSP signer "
				    "(OCSPSigning) issued by %s", op, cp);
		}
		check_key(ck, where, f[i].key, "issuing CA key", ca, cp, 1);
		check_key(ck, where, f[i].ocsp_key, "OCSP signer key", ocsp,
		    op, 1);
	}
}

/* ---- the rest ---------------------------------------------------------- */

/* See check.h. */
int
check_api_auth(const struct bridge_config *cfg, int *need, char *why,
    size_t whylen)
{
	if (strcmp(cfg->api_auth, "open") == 0)
		*need = 0;
	else if (strcmp(cfg->api_auth, "token") == 0)
		*need = 1;
	else if (strcmp(cfg->api_auth, "auto") == 0)
		*need = !api_listen_is_loopback(cfg->est_listen);
	else {
		snprintf(why, whylen, "api_auth must be auto, token or open, "
		    "not \"%s\"", cfg->api_auth);
		return -1;
	}
	if (*need && cfg->api_token[0] == '\0') {
		snprintf(why, whylen, "est_listen %s %s: set api_token in "
		    "%s/keybridge.conf (reads of /api/v1 then need "
		    "\"Authorization: Bearer <api_token>\"), or api_auth = "
		    "open behind a proxy that authenticates", cfg->est_listen,
		    strcmp(cfg->api_auth, "token") == 0 ? "with api_auth = "
		    "token" : "is not a loopback address", cfg->dir);
		return -1;
	}
	return 0;
}

/* The listen addresses, api_auth, the user, keybridge.conf's mode. */
static void
check_settings(struct check *ck)
{
	const struct bridge_config *c = ck->cfg;
	struct sockaddr_storage ss;
	char why[PATH_MAX + 512], pos[PATH_MAX + 96];
	struct stat st;
	int len, need;

	len = (int)sizeof(ss);
	if (evutil_parse_sockaddr_port(c->est_listen, (struct sockaddr *)&ss,
	    &len) != 0)
		check_emit(ck->r, 1, "%s: est_listen \"%s\" is not ADDR:PORT",
		    check_key_pos(ck, "est_listen", pos, sizeof(pos)),
		    c->est_listen);
	len = (int)sizeof(ss);
	if (evutil_parse_sockaddr_port(c->http_listen, (struct sockaddr *)&ss,
	    &len) != 0)
		check_emit(ck->r, 1, "%s: http_listen \"%s\" is not ADDR:PORT",
		    check_key_pos(ck, "http_listen", pos, sizeof(pos)),
		    c->http_listen);
	if (check_api_auth(c, &need, why, sizeof(why)) != 0)
		check_emit(ck->r, 1, "%s: %s", check_key_pos(ck, "api_auth",
		    pos, sizeof(pos)), why);
	if (geteuid() == 0 && getpwnam(c->user) == NULL)
		check_emit(ck->r, 1, "%s: user \"%s\" does not exist (serve "
		    "started as root drops to it): create it or set user",
		    check_key_pos(ck, "user", pos, sizeof(pos)), c->user);
	if (stat(ck->conf, &st) == 0 && (st.st_mode & 077) != 0 &&
	    (c->api_token[0] != '\0' || c->est_basic_auth[0] != '\0' ||
	    c->est_device_basic_auth[0] != '\0' ||
	    c->est_server_basic_auth[0] != '\0'))
		check_emit(ck->r, 0, "%s: holds secrets (api_token or a "
		    "basic-auth password) and is readable by group or others "
		    "(mode %04o): run chmod 600 %s", ck->conf,
		    (unsigned)(st.st_mode & 07777), ck->conf);
}

/* The database opens read-only and its schema is this keybridge's. */
static void
check_db(struct check *ck)
{
	const struct bridge_config *c = ck->cfg;
	struct ledger_reader *rd;
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char db[PATH_MAX], err[PATH_MAX + 512];
	struct stat st;
	size_t i;

	config_path(c, c->db, db, sizeof(db));
	if (!ledger_db_is_postgres(db) && access(db, F_OK) != 0) {
		check_emit(ck->r, 1, "%s: the database: %s (db)", db,
		    strerror(errno));
		return;
	}
	/* as serve's writable open refuses them (a read-only open does
	 * not look) */
	for (i = 0; !ledger_db_is_postgres(db) && i < 3; i++) {
		snprintf(err, sizeof(err), "%s%s", db, sfx[i]);
		if (stat(err, &st) == 0 && (st.st_mode & 077) != 0)
			check_emit(ck->r, 1, "%s is open to group or others "
			    "(mode %04o): run chmod 600 %s (db)", err,
			    (unsigned)(st.st_mode & 07777), err);
	}
	if ((rd = ledger_reader_open(db, err, sizeof(err))) == NULL) {
		/* a URL may hold a password: name the setting, not it */
		check_emit(ck->r, 1, "%s: the database: %s", ledger_db_is_postgres(
		    db) ? "db (postgresql://...)" : db, err);
		return;
	}
	ledger_reader_close(rd);
}

/* See check.h. */
unsigned
check_config(const struct bridge_config *cfg, unsigned flags, X509 *root,
    struct check_report *r)
{
	struct check ck;
	unsigned before = r->problems;

	memset(&ck, 0, sizeof(ck));
	ck.cfg = cfg;
	ck.r = r;
	ck.flags = flags;
	ck.now = time(NULL);
	snprintf(ck.conf, sizeof(ck.conf), "%s/%s", cfg->dir, CONFIG_FILE);
	check_settings(&ck);
	if (flags & CHECK_CA)
		check_ca_certs(&ck);
	else if (root != NULL && X509_up_ref(root) == 1)
		ck.root = root;
	check_tls_certs(&ck);
	check_keys(&ck);
	if (flags & CHECK_CA)
		check_rolled_issuers(&ck);
	if (flags & CHECK_DB)
		check_db(&ck);
	X509_free(ck.root);
	X509_free(ck.issuing);
	X509_free(ck.ocsp);
	X509_free(ck.tls);
	sk_X509_pop_free(ck.tls_chain, X509_free);
	ERR_clear_error();
	return r->problems - before;
}

/* See check.h. */
void
check_apply_overrides(struct bridge_config *cfg,
    const struct config_overrides *ov)
{
	if (ov == NULL)
		return;
	if (ov->est_listen != NULL)
		snprintf(cfg->est_listen, sizeof(cfg->est_listen), "%s",
		    ov->est_listen);
	if (ov->http_listen != NULL)
		snprintf(cfg->http_listen, sizeof(cfg->http_listen), "%s",
		    ov->http_listen);
	if (ov->db != NULL)
		snprintf(cfg->db, sizeof(cfg->db), "%s", ov->db);
	if (ov->log_level != NULL)
		snprintf(cfg->log_level, sizeof(cfg->log_level), "%s",
		    ov->log_level);
}

/* check_run's emit: one line on stderr. */
static void
check_print(void *arg, int problem, const char *line)
{
	fprintf(stderr, "keybridge: %s: %s%s\n", (const char *)arg,
	    problem ? "" : "warning: ", line);
}

/* config_load_each's: a bad line is a problem. */
static void
check_conf_problem(void *arg, const char *why)
{
	check_emit(arg, 1, "%s", why);
}

/* See check.h. */
int
check_run(const char *who, const char *dir,
    const struct config_overrides *ov, unsigned flags)
{
	struct bridge_config *cfg;
	struct check_report r;
	char conf[PATH_MAX + 32];

	memset(&r, 0, sizeof(r));
	r.emit = check_print;
	r.arg = (void *)who;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		fprintf(stderr, "keybridge: %s: out of memory\n", who);
		return 1;
	}
	snprintf(conf, sizeof(conf), "%s/%s", dir, CONFIG_FILE);
	/* the rest would only be the defaults' files */
	if (config_load_each(cfg, dir, check_conf_problem, &r) == 0 ||
	    access(conf, R_OK) == 0) {
		check_apply_overrides(cfg, ov);
		(void)check_config(cfg, flags, NULL, &r);
	}
	if (r.problems == 0)
		printf("%s: OK (configuration, certificates, keys%s)%s\n",
		    dir, flags & CHECK_DB ? ", database" : "", r.warnings > 0 ?
		    ", with warnings" : "");
	else
		fprintf(stderr, "%s: %u problem%s\n", dir, r.problems,
		    r.problems == 1 ? "" : "s");
	free(cfg);
	return r.problems == 0 ? 0 : 1;
}
