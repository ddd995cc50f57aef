/*
 * kbverify: checks a file a device downloaded, or a key's or
 * certificate's status, against its proof bundle and the verification
 * policy (examples/device/README.md).
 *
 *   kbverify --policy P --bundle B --file F [--group G] [--state S]
 *   kbverify --status --policy P --bundle B [--key ID | --serial N]
 *            [--state S]
 *
 * One line out; exit 0 the current version (an active key, a good
 * certificate), 2 a valid superseded one (revoked, never registered),
 * 1 anything else.  Memory: one static buffer, bounded.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "kbv.h"

#define POLICY_MAX	16384
#define STATE_MAX	256
#define CHUNK		4096
#define NOPT		7

/* The one buffer: the policy, the bundle, the bundle's decoded parts. */
static uint8_t mem[POLICY_MAX + KBV_BUNDLE_MAX + KBV_SCRATCH_MAX];

/* Reads path into buf[0..cap), or with cap 0 hashes it in chunks into h.
 * The length read, -1 unreadable, -2 larger than cap. */
static long
read_all(const char *path, uint8_t *buf, size_t cap, uint8_t h[KBV_HASH])
{
	crypto_hash_sha256_state st;
	uint8_t chunk[CHUNK];
	size_t len = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY);

	crypto_hash_sha256_init(&st);
	while (fd >= 0 && cap == 0 && (n = read(fd, chunk, CHUNK)) > 0)
		crypto_hash_sha256_update(&st, chunk, (size_t)n);
	while (fd >= 0 && len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	if (fd >= 0 && n >= 0 && cap > 0 && len == cap && read(fd, chunk, 1) > 0)
		n = -2;
	if (fd < 0 || close(fd) != 0)
		n = -1;
	if (cap == 0)
		crypto_hash_sha256_final(&st, h);
	return n < 0 ? (long)n : (long)len;
}

/* Writes the state atomically: a temporary file beside it, fsync,
 * rename, fsync of the folder.  0 or -1. */
static int
state_write(const char *path, const struct kbv_state *st)
{
	char text[STATE_MAX], tmp[4096];
	const char *slash = strrchr(path, '/');
	int n, fd, rc = -1;

	if ((n = kbv_state_format(st, text, sizeof(text))) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return -1;
	if (write(fd, text, (size_t)n) == n && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0 || rc != 0 || rename(tmp, path) != 0)
		return unlink(tmp), -1;
	snprintf(tmp, sizeof(tmp), "%.*s", slash == NULL ? 1 : slash == path ?
	    1 : (int)(slash - path), slash == NULL ? "." : path);
	if ((fd = open(tmp, O_RDONLY)) >= 0)
		fsync(fd), close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *opt[NOPT] = { NULL }, *names[NOPT] = { "--policy",
	    "--bundle", "--file", "--state", "--group", "--key", "--serial" };
	static struct kbv_bundle b;
	struct kbv_policy p;
	struct kbv_state st, next;
	struct kbv_ask ask = { { 0 }, NULL, NULL, 0, 0, NULL };
	char why[KBV_WHY_MAX], msg[2 * KBV_WHY_MAX], stext[STATE_MAX];
	uint8_t *btext = mem + POLICY_MAX, *scratch = btext + KBV_BUNDLE_MAX;
	long plen, blen, slen;
	int i, k, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--status") == 0) {
			ask.status = 1;
			continue;
		}
		for (k = 0; k < NOPT && strcmp(argv[i], names[k]) != 0; k++)
			;
		if (k == NOPT || i + 1 == argc)
			break;
		opt[k] = argv[++i];
	}
	ask.group = opt[4];
	ask.id = opt[5] != NULL ? opt[5] : opt[6];
	ask.cert = opt[6] != NULL;
	if (i != argc || opt[0] == NULL || opt[1] == NULL || (ask.status ?
	    opt[2] != NULL || opt[4] != NULL || (opt[5] != NULL &&
	    opt[6] != NULL) : opt[2] == NULL || ask.id != NULL))
		snprintf(msg, sizeof(msg), "usage: kbverify --policy POLICY "
		    "--bundle BUNDLE (--file FILE [--group G] | --status "
		    "[--key KEYID | --serial S]) [--state STATEFILE]");
	else if (sodium_init() < 0)
		snprintf(msg, sizeof(msg), "libsodium did not start");
	else if ((plen = read_all(opt[0], mem, POLICY_MAX, NULL)) < 0 ||
	    kbv_policy_parse((const char *)mem, (size_t)plen, &p, why,
	    sizeof(why)) != 0)
		snprintf(msg, sizeof(msg), "refused: policy %s: %s", opt[0],
		    plen < 0 ? "unreadable or too large" : why);
	else if ((blen = read_all(opt[1], btext, KBV_BUNDLE_MAX, NULL)) < 0)
		snprintf(msg, sizeof(msg), "refused: cannot read the bundle %s",
		    opt[1]);
	else if (kbv_bundle_parse((const char *)btext, (size_t)blen, scratch,
	    KBV_SCRATCH_MAX, &b, why, sizeof(why)) != 0)
		snprintf(msg, sizeof(msg), "refused: %s", why);
	else if (!ask.status && read_all(opt[2], NULL, 0, ask.sha256) < 0)
		snprintf(msg, sizeof(msg), "refused: cannot read the file %s",
		    opt[2]);
	else if (opt[3] != NULL && (slen = read_all(opt[3], (uint8_t *)stext,
	    sizeof(stext), NULL)) != -1 && (slen < 0 ||
	    kbv_state_parse(stext, (size_t)slen, &st) != 0))
		snprintf(msg, sizeof(msg), "refused: the state %s is damaged",
		    opt[3]);
	else {
		ask.state = opt[3] != NULL && slen >= 0 ? &st : NULL;
		rc = (int)kbv_verify(&p, &b, &ask, &next, msg, sizeof(msg));
		if (rc != KBV_FAIL && opt[3] != NULL &&
		    state_write(opt[3], &next) != 0)
			rc = 1, snprintf(msg, sizeof(msg), "refused: cannot "
			    "write the state %s", opt[3]);
	}
	printf("kbverify: %s\n", msg);
	return rc;
}
