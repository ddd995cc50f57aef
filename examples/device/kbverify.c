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
	const char *policy = NULL, *bundle = NULL, *file = NULL, *state = NULL;
	struct kbv_policy p;
	static struct kbv_bundle bs;
	struct kbv_bundle *b = &bs;
	struct kbv_state st, next;
	struct kbv_ask ask;
	char why[KBV_WHY_MAX], msg[2 * KBV_WHY_MAX], stext[STATE_MAX];
	uint8_t *ptext = mem, *btext = mem + POLICY_MAX;
	uint8_t *scratch = btext + KBV_BUNDLE_MAX;
	long plen, blen, slen;
	enum kbv_verdict v;
	int i;

	memset(&ask, 0, sizeof(ask));
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--policy") == 0)
			policy = argv[i + 1];
		else if (strcmp(argv[i], "--bundle") == 0)
			bundle = argv[i + 1];
		else if (strcmp(argv[i], "--file") == 0)
			file = argv[i + 1];
		else if (strcmp(argv[i], "--state") == 0)
			state = argv[i + 1];
		else if (strcmp(argv[i], "--group") == 0)
			ask.group = argv[i + 1];
		else
			break;
	}
	if (i != argc || policy == NULL || bundle == NULL || file == NULL)
		return out(1, "usage: kbverify --policy POLICY --bundle BUNDLE "
		    "--file FILE [--state STATEFILE] [--group G]");
	if (sodium_init() < 0)
		return out(1, "libsodium did not start");
	if ((plen = read_all(policy, ptext, POLICY_MAX)) < 0)
		return out(1, "refused: cannot read the policy %s%s", policy,
		    plen == -2 ? " (too large)" : "");
	if (kbv_policy_parse((const char *)ptext, (size_t)plen, &p, why,
	    sizeof(why)) != 0)
		return out(1, "refused: %s", why);
	if ((blen = read_all(bundle, btext, KBV_BUNDLE_MAX)) < 0)
		return out(1, "refused: cannot read the bundle %s%s", bundle,
		    blen == -2 ? " (too large)" : "");
	if (kbv_bundle_parse((const char *)btext, (size_t)blen, scratch,
	    KBV_SCRATCH_MAX, b, why, sizeof(why)) != 0)
		return out(1, "refused: %s", why);
	if (file_sha256(file, ask.sha256) != 0)
		return out(1, "refused: cannot read the file %s", file);
	if (state != NULL && (slen = read_all(state, (uint8_t *)stext,
	    sizeof(stext))) != -1) {
		if (slen < 0 || kbv_state_parse(stext, (size_t)slen, &st) != 0)
			return out(1, "refused: the state file %s is damaged",
			    state);
		ask.state = &st;
	}
	v = kbv_verify(&p, b, &ask, &next, msg, sizeof(msg));
	if (v != KBV_FAIL && state != NULL && state_write(state, &next) != 0)
		return out(1, "refused: cannot write the state file %s",
		    state);
	return out((int)v, "%s", msg);
}
