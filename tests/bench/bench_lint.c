/*
 * bench_lint.c: CPU time per call of the key process's work for one
 * certificate (bridge/ca/lint.c): the pre-issuance lint, the signature
 * over the TBS (sign, verify, encode), and the network side's TBS, beside
 * a bare EVP_DigestSign and EVP_DigestVerify over the same bytes with the
 * same key, measured in the same run.  The TBSs are the good ones of
 * tests/bridge/ca/tbs_fx.h: a device EC key and a server RSA key under
 * pki_init's EC issuing CA.
 *
 *   bench_lint [N]		(N calls of each, default 5000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/evp.h>

#include "bridge/bridge.h"
#include "tests/bridge/ca/tbs_fx.h"

#define BENCH_N		5000
#define BENCH_WHY	256
#define BENCH_SIG_MAX	1024

/* What one case's loop calls. */
enum bench_op { OP_LINT, OP_TBS_DER, OP_SIGN_DER, OP_SIGN_X509, OP_EVP_SIGN,
    OP_EVP_VERIFY, OP_COUNT };

static const char *const bench_names[OP_COUNT] = {
	"ca_lint_tbs", "ca_tbs_der", "ca_sign_tbs_der", "ca_sign_tbs",
	"EVP_DigestSign (reference)", "EVP_DigestVerify (reference)",
};

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One call of op on t.  0 or -1. */
static int
bench_one(enum bench_op op, struct tbs_fx_tbs *t, X509 *cert,
    unsigned char *sig, size_t *siglen)
{
	char why[BENCH_WHY];
	EVP_MD_CTX *md;
	uint8_t *der = NULL;
	size_t len = 0;
	X509 *x;
	int rc = -1;

	switch (op) {
	case OP_LINT:
		return ca_lint_tbs(t->der, t->len, &t->want, why, sizeof(why));
	case OP_TBS_DER:
		rc = ca_tbs_der(cert, t->want.issuer, &der, &len);
		break;
	case OP_SIGN_DER:
		rc = ca_sign_tbs_der(t->der, t->len, t->sign_key, &der, &len,
		    why, sizeof(why));
		break;
	case OP_SIGN_X509:
		x = ca_sign_tbs(t->der, t->len, t->sign_key, why, sizeof(why));
		rc = x != NULL ? 0 : -1;
		X509_free(x);
		break;
	case OP_EVP_SIGN:
	case OP_EVP_VERIFY:
		if ((md = EVP_MD_CTX_new()) == NULL)
			return -1;
		if (op == OP_EVP_SIGN) {
			*siglen = BENCH_SIG_MAX;
			rc = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
			    t->sign_key) == 1 && EVP_DigestSign(md, sig, siglen,
			    t->der, t->len) == 1 ? 0 : -1;
		} else
			rc = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
			    t->sign_key) == 1 && EVP_DigestVerify(md, sig,
			    *siglen, t->der, t->len) == 1 ? 0 : -1;
		EVP_MD_CTX_free(md);
		break;
	default:
		break;
	}
	OPENSSL_free(der);
	return rc;
}

/* The unsigned certificate of t's case, for ca_tbs_der. */
static X509 *
bench_cert(const struct tbs_fx *f, const struct tbs_fx_tbs *t)
{
	const struct ca_lint_want *w = &t->want;
	struct issue_params ip = {
		.profile = w->profile, .cn = w->cn, .names = w->names,
		.pubkey = w->profile == EST_PROFILE_SERVER ? f->rsa : f->ec,
		.issuer = w->issuer, .now = w->now,
		.key_not_before = w->key_not_before,
		.key_not_after = w->key_not_after, .ocsp_url = w->ocsp_url,
		.ca_issuers_url = w->ca_issuers_url, .crl_url = w->crl_url,
	};
	char err[BENCH_WHY];

	return issue_build(&ip, err, sizeof(err));
}

int
main(int argc, char **argv)
{
	const enum tbs_fx_case cases[] = { TBS_FX_GOOD_DEVICE_EC,
	    TBS_FX_GOOD_SERVER_RSA };
	unsigned char sig[BENCH_SIG_MAX];
	size_t siglen = 0, k;
	struct tbs_fx f;
	struct tbs_fx_tbs t;
	X509 *cert;
	double t0;
	long n = argc > 1 ? atol(argv[1]) : BENCH_N, i;
	int op, rc = 1;

	log_verbosity = LOGL_ERR;
	if (n <= 0 || tbs_fx_setup(&f) != 0) {
		fprintf(stderr, "bench_lint: cannot set up\n");
		return 1;
	}
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		if (tbs_fx_build(&f, cases[k], &t) != 0 ||
		    (cert = bench_cert(&f, &t)) == NULL)
			goto out;
		printf("%s (TBS %zu bytes, EC issuing CA), CPU per call:\n",
		    tbs_fx_info(cases[k])->name, t.len);
		for (op = 0; op < OP_COUNT; op++) {
			t0 = cpu_now();
			for (i = 0; i < n; i++)
				if (bench_one(op, &t, cert, sig, &siglen) != 0) {
					fprintf(stderr, "bench_lint: %s failed\n",
					    bench_names[op]);
					goto out;
				}
			printf("  %-30s %8.1f us\n", bench_names[op],
			    (cpu_now() - t0) / (double)n * 1e6);
		}
		X509_free(cert);
		tbs_fx_tbs_free(&t);
	}
	rc = 0;
out:
	tbs_fx_teardown(&f);
	return rc;
}
