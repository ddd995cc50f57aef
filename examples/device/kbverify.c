/* kbverify: checks a downloaded file, or a key's or certificate's status,
 * against its proof bundle and the verification policy (README.md). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "kbv.h"

#define POLICY_MAX	16384
#define SAY(...)	snprintf(msg, sizeof(msg), __VA_ARGS__)

enum { POLICY, BUNDLE, FILE_, STATE, GROUP, KEY, SERIAL, NOPT };
static const char *const names[NOPT] = { "--policy", "--bundle", "--file",
    "--state", "--group", "--key", "--serial" };
/* The buffers, bounded: the policy, the bundle, its decoded parts. */
static uint8_t ptext[POLICY_MAX], btext[KBV_BUNDLE_MAX],
    scratch[KBV_SCRATCH_MAX];

/* Reads path into buf[0..cap), or with cap 0 hashes it in chunks into h.
 * The length read, -1 unreadable, -2 larger than cap. */
static long
read_all(const char *path, uint8_t *buf, size_t cap, uint8_t h[KBV_HASH])
{
	crypto_hash_sha256_state st;
	uint8_t chunk[4096];
	size_t len = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY);
	crypto_hash_sha256_init(&st);
	while (fd >= 0 && cap == 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		crypto_hash_sha256_update(&st, chunk, (size_t)n);
	while (fd >= 0 && len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	if (fd >= 0 && n >= 0 && cap > 0 && len == cap &&
	    read(fd, chunk, 1) > 0)
		n = -2;
	if (fd < 0 || close(fd) != 0)
		n = -1;
	if (cap == 0)
		crypto_hash_sha256_final(&st, h);
	return n < 0 ? (long)n : (long)len;
}

/* Writes text to path atomically: a temporary file beside it, fsync,
 * rename, fsync of the folder.  0 or -1. */
static int
state_write(const char *path, const char *text)
{
	size_t n = strlen(text);
	char tmp[4096];
	int fd, rc = -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return -1;
	if (write(fd, text, n) == (ssize_t)n && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0 || rc != 0 || rename(tmp, path) != 0)
		return unlink(tmp), -1;
	snprintf(tmp, sizeof(tmp), "%s", path);
	if ((fd = open(dirname(tmp), O_RDONLY)) >= 0)
		fsync(fd), close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *o[NOPT] = { NULL };
	static struct kbv_bundle b;
	struct kbv_policy p;
	struct kbv_ask ask = { .group = NULL };
	char why[KBV_WHY_MAX], msg[2 * KBV_WHY_MAX], stext[KBV_STATE_MAX];
	char next[KBV_STATE_MAX];
	long plen, blen, slen = -1;
	int i, k, rc = 1;
	for (i = 1; i < argc; i++) {
		for (k = 0; k < NOPT && strcmp(argv[i], names[k]) != 0; k++)
			;
		if (strcmp(argv[i], "--status") == 0)
			ask.status = 1;
		else if (k == NOPT || i + 1 == argc)
			break;
		else
			o[k] = argv[++i];
	}
	ask.group = o[GROUP];
	ask.id = o[KEY] != NULL ? o[KEY] : o[SERIAL];
	ask.cert = o[SERIAL] != NULL;
	if (i != argc || o[POLICY] == NULL || o[BUNDLE] == NULL ||
	    (o[FILE_] != NULL) == ask.status || (ask.status ? o[GROUP] :
	    ask.id) != NULL || (o[KEY] != NULL && o[SERIAL] != NULL))
		SAY("usage: kbverify --policy P --bundle B (--file F [--group "
		    "G] | --status [--key ID | --serial N]) [--state S]");
	else if (sodium_init() < 0)
		SAY("libsodium did not start");
	else if ((plen = read_all(o[POLICY], ptext, POLICY_MAX, NULL)) < 0 ||
	    kbv_policy_parse((char *)ptext, (size_t)plen, &p, why,
	    sizeof(why)) != 0)
		SAY("refused: policy %s: %s", o[POLICY], plen < 0 ?
		    "unreadable or too large" : why);
	else if ((blen = read_all(o[BUNDLE], btext, KBV_BUNDLE_MAX, NULL)) < 0)
		SAY("refused: cannot read the bundle %s", o[BUNDLE]);
	else if (kbv_bundle_parse((char *)btext, (size_t)blen, scratch,
	    KBV_SCRATCH_MAX, &b, why, sizeof(why)) != 0)
		SAY("refused: %s", why);
	else if (!ask.status && read_all(o[FILE_], NULL, 0, ask.sha256) < 0)
		SAY("refused: cannot read the file %s", o[FILE_]);
	else if (o[STATE] != NULL && (slen = read_all(o[STATE],
	    (uint8_t *)stext, sizeof(stext), NULL)) < 0 &&
	    (slen == -2 || errno != ENOENT))	/* only absent means "none yet" */
		SAY("refused: the state %s is damaged or unreadable", o[STATE]);
	else {	/* no state file yet: the first checkpoint seen */
		if (slen >= 0)
			ask.state = (struct kbv_span){ stext, (size_t)slen };
		rc = (int)kbv_verify(&p, &b, &ask, next, sizeof(next), msg,
		    sizeof(msg));
		if (rc != KBV_FAIL && o[STATE] != NULL &&
		    state_write(o[STATE], next) != 0)
			rc = 1, SAY("refused: cannot write the state %s",
			    o[STATE]);
	}
	printf("kbverify: %s\n", msg);
	return rc;
}
