/*
 * kbverify: checks a configuration file a device downloaded against its
 * proof bundle and the verification policy (examples/device/README.md).
 *
 *   kbverify --policy POLICY --bundle BUNDLE --file FILE
 *            [--state STATEFILE] [--group G]
 *
 * One line out; exit 0 the current version, 2 a valid superseded one,
 * 1 anything else.  Memory: one static buffer, bounded.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "kbv.h"

#define POLICY_MAX	16384
#define STATE_MAX	256
#define CHUNK		4096

/* The one buffer: the policy, the bundle, the bundle's decoded parts. */
static uint8_t mem[POLICY_MAX + KBV_BUNDLE_MAX + KBV_SCRATCH_MAX];

static int __attribute__((format(printf, 2, 3)))
out(int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("kbverify: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	return rc;
}

/* Reads all of path into buf[0..cap); its length, -1 (unreadable), -2
 * (larger than cap). */
static long
read_all(const char *path, uint8_t *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n = 0;
	uint8_t more;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	if (n >= 0 && len == cap && read(fd, &more, 1) > 0)
		n = -2;
	close(fd);
	return n < 0 ? (long)n : (long)len;
}

static int
file_sha256(const char *path, uint8_t out_h[KBV_HASH])
{
	crypto_hash_sha256_state st;
	uint8_t chunk[CHUNK];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		crypto_hash_sha256_update(&st, chunk, (size_t)n);
	close(fd);
	crypto_hash_sha256_final(&st, out_h);
	return n < 0 ? -1 : 0;
}

/* Writes the state atomically: a temporary file beside it, fsync,
 * rename, fsync of the folder.  0 or -1. */
static int
state_write(const char *path, const struct kbv_state *st)
{
	char text[STATE_MAX], tmp[4096], dir[4096];
	const char *slash = strrchr(path, '/');
	int n, fd, rc = -1;

	if ((n = kbv_state_format(st, text, sizeof(text))) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return -1;
	if (write(fd, text, (size_t)n) == n && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0 || rc != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 1 :
	    slash == path ? 1 : (int)(slash - path), slash == NULL ? "." : path);
	if ((fd = open(dir, O_RDONLY)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *opt[5] = { NULL }, *names[5] = { "--policy", "--bundle",
	    "--file", "--state", "--group" };
	static struct kbv_bundle b;
	struct kbv_policy p;
	struct kbv_state st, next;
	struct kbv_ask ask = { { 0 }, NULL, NULL };
	char why[KBV_WHY_MAX], msg[2 * KBV_WHY_MAX], stext[STATE_MAX];
	uint8_t *btext = mem + POLICY_MAX, *scratch = btext + KBV_BUNDLE_MAX;
	long plen, blen, slen = -1;
	enum kbv_verdict v;
	int i, k;

	for (i = 1; i + 1 < argc; i += 2) {
		for (k = 0; k < 5 && strcmp(argv[i], names[k]) != 0; k++)
			;
		if (k == 5)
			break;
		opt[k] = argv[i + 1];
	}
	ask.group = opt[4];
	if (i != argc || opt[0] == NULL || opt[1] == NULL || opt[2] == NULL)
		return out(1, "usage: kbverify --policy POLICY --bundle BUNDLE "
		    "--file FILE [--state STATEFILE] [--group G]");
	if (sodium_init() < 0)
		return out(1, "libsodium did not start");
	if ((plen = read_all(opt[0], mem, POLICY_MAX)) < 0 ||
	    kbv_policy_parse((const char *)mem, (size_t)plen, &p, why,
	    sizeof(why)) != 0)
		return out(1, "refused: policy %s: %s", opt[0], plen < 0 ?
		    "unreadable or too large" : why);
	if ((blen = read_all(opt[1], btext, KBV_BUNDLE_MAX)) < 0)
		return out(1, "refused: cannot read the bundle %s", opt[1]);
	if (kbv_bundle_parse((const char *)btext, (size_t)blen, scratch,
	    KBV_SCRATCH_MAX, &b, why, sizeof(why)) != 0)
		return out(1, "refused: %s", why);
	if (file_sha256(opt[2], ask.sha256) != 0)
		return out(1, "refused: cannot read the file %s", opt[2]);
	if (opt[3] != NULL && (slen = read_all(opt[3], (uint8_t *)stext,
	    sizeof(stext))) != -1) {
		if (slen < 0 || kbv_state_parse(stext, (size_t)slen, &st) != 0)
			return out(1, "refused: the state %s is damaged", opt[3]);
		ask.state = &st;
	}
	v = kbv_verify(&p, &b, &ask, &next, msg, sizeof(msg));
	if (v != KBV_FAIL && opt[3] != NULL && state_write(opt[3], &next) != 0)
		return out(1, "refused: cannot write the state %s", opt[3]);
	return out((int)v, "%s", msg);
}
