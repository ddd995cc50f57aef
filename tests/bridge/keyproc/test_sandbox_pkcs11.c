/*
 * test_sandbox_pkcs11.c: a key in a SoftHSM2 token signs inside the key
 * process's seccomp filter (bridge/keyproc/sandbox.c).
 *
 * SoftHSM2 reopens its token files and locks them (fcntl) at every
 * signature, after login: the filter must allow that, and the token
 * directory must be the dropped user's (docs/operations.md).  The token is
 * made in a temporary directory (SOFTHSM2_CONF) with softhsm2-util and
 * pkcs11-tool; the key is loaded through OpenSSL's pkcs11 engine
 * (libengine-pkcs11-openssl, libp11) before the narrowing.  Skipped when
 * SoftHSM2 or the engine is not installed.
 */
#define OPENSSL_SUPPRESS_DEPRECATED	/* the ENGINE API, libp11's door */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/evp.h>

#include "bridge/keyproc/sandbox.h"

#define ERRLEN		1024
#define CMDLEN		(PATH_MAX * 4)
#define SOFTHSM_MODULE	"/usr/lib/softhsm/libsofthsm2.so"
#define PIN		"1234"
#define SO_PIN		"5678"
#define TEST_USER	"nobody"
#define SIGNATURES	3
#define KEY_URI		"pkcs11:token=kbtest;object=ca;type=private;pin-value=" PIN

struct token {
	char dir[PATH_MAX];	/* holds softhsm2.conf and tokens/ */
	int ready;		/* 0: skip (SoftHSM2 or the engine missing) */
};

/* Runs a shell command; 0 when it exited 0. */
static int
run(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
setup_token(void **state)
{
	static struct token t;
	char cmd[CMDLEN], conf[PATH_MAX + 32];
	FILE *fp;

	*state = &t;
	snprintf(t.dir, sizeof(t.dir), "/tmp/kb-sandbox-hsm-XXXXXX");
	if (access(SOFTHSM_MODULE, R_OK) != 0 ||
	    run("command -v softhsm2-util pkcs11-tool >/dev/null") != 0 ||
	    mkdtemp(t.dir) == NULL)
		return 0;
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", t.dir);
	if ((fp = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(fp, "directories.tokendir = %s/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", t.dir);
	fclose(fp);
	setenv("SOFTHSM2_CONF", conf, 1);
	/* the dropped child reads and locks the token files */
	snprintf(cmd, sizeof(cmd), "mkdir %s/tokens && softhsm2-util "
	    "--init-token --free --label kbtest --pin " PIN " --so-pin " SO_PIN
	    " >/dev/null && pkcs11-tool --module " SOFTHSM_MODULE " "
	    "--token-label kbtest --login --pin " PIN " --keypairgen "
	    "--key-type EC:prime256v1 --label ca --id 01 >/dev/null 2>&1 && "
	    "chmod 755 %s && { [ \"$(id -u)\" != 0 ] || chown -R " TEST_USER
	    " %s/tokens; }", t.dir, t.dir, t.dir);
	if (run(cmd) != 0)
		return -1;
	t.ready = 1;
	return 0;
}

static int
teardown_token(void **state)
{
	struct token *t = *state;
	char cmd[CMDLEN];

	if (t->ready) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
		(void)run(cmd);
	}
	return 0;
}

/* The token's key through the pkcs11 engine, or NULL. */
static EVP_PKEY *
load_token_key(void)
{
	ENGINE *e;
	EVP_PKEY *k = NULL;

	if ((e = ENGINE_by_id("pkcs11")) == NULL)
		return NULL;
	if (ENGINE_ctrl_cmd_string(e, "MODULE_PATH", SOFTHSM_MODULE, 0) == 1 &&
	    ENGINE_init(e) == 1) {
		k = ENGINE_load_private_key(e, KEY_URI, NULL, NULL);
		ENGINE_finish(e);
	}
	ENGINE_free(e);
	return k;
}

/* The key process: load, drop, narrow, sign SIGNATURES times. */
static int
child(void)
{
	static const unsigned char msg[] = "a certificate to sign";
	unsigned char sig[256];
	char err[ERRLEN];
	size_t siglen;
	EVP_MD_CTX *c;
	EVP_PKEY *k;
	int i;

	if ((k = load_token_key()) == NULL)
		return 10;
	if (sandbox_drop_user(TEST_USER, err, sizeof(err)) != 0 ||
	    sandbox_keyproc(err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 11;
	}
	for (i = 0; i < SIGNATURES; i++) {
		siglen = sizeof(sig);
		if ((c = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k) != 1 ||
		    EVP_DigestSign(c, sig, &siglen, msg, sizeof(msg)) != 1)
			return 12;
		EVP_MD_CTX_free(c);
	}
	return 0;
}

static void
test_softhsm2_key_signs_inside_the_filter(void **state)
{
	struct token *t = *state;
	int st = 0;
	pid_t pid;
	char engine[PATH_MAX];

	/* Whether the engine is installed, without loading it here: only
	 * the child (which _exits) loads it, so LeakSanitizer does not count
	 * what an engine keeps until exit. */
	snprintf(engine, sizeof(engine), "%s/pkcs11.so",
	    OPENSSL_info(OPENSSL_INFO_ENGINES_DIR));
	if (access(engine, R_OK) != 0 || !t->ready)
		skip();
	fflush(NULL);
	if ((pid = fork()) == 0)
		_exit(child());
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("the key process died of signal %d (31: a system call "
		    "SoftHSM2 made is not in the filter)", WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_softhsm2_key_signs_inside_the_filter),
	};

	return cmocka_run_group_tests(tests, setup_token, teardown_token);
}
