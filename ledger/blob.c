/*
 * blob.c: the content-addressed blob folder of published configuration and
 * firmware bytes (blob.h).  Streams in BLOB_CHUNK pieces; writes go to a
 * temporary file renamed into place only once hashed, synced and complete.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ledger/blob.h"
#include "ledger/ledger.h"

/* 1 when hex is 64 lowercase hex digits. */
static int
blob_hex_ok(const char *hex)
{
	return hex != NULL && strlen(hex) == BLOB_HEX_LEN &&
	    strspn(hex, "0123456789abcdef") == BLOB_HEX_LEN;
}

int
blob_path(const char *dir, const char *hex, char *out, size_t outlen)
{
	int n;

	if (!blob_hex_ok(hex))
		return -1;
	n = snprintf(out, outlen, "%s/%s", dir, hex);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* 1 when the first bytes of a file look like text. */
static int
blob_sniff_text(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' &&
		    p[i] != '\r' && p[i] != '\f')
			return 0;
	return 1;
}

/* Writes all n bytes of p to fd.  0 or -1. */
static int
blob_write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies in to out (out < 0: nowhere), hashing; stops past max bytes
 * (*size is then max + 1).  0, or -1 on a read or write error. */
static int
blob_copy(int in, int out, int64_t max, unsigned char md[SHA256_DIGEST_LENGTH],
    int64_t *size, int *is_text)
{
	unsigned char *buf = NULL;
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;
	ssize_t n;

	*size = 0;
	if (is_text != NULL)
		*is_text = 1;
	if ((buf = malloc(BLOB_CHUNK)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		if ((n = read(in, buf, BLOB_CHUNK)) < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (is_text != NULL && *size < BLOB_SNIFF && *is_text)
			*is_text = blob_sniff_text(buf, (size_t)n <
			    (size_t)(BLOB_SNIFF - *size) ? (size_t)n :
			    (size_t)(BLOB_SNIFF - *size));
		*size += n;
		if (max >= 0 && *size > max) {
			*size = max + 1;
			rc = 0;
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1 ||
		    (out >= 0 && blob_write_all(out, buf, (size_t)n) != 0))
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/* Syncs folder dir, so a rename in it survives a crash. */
static void
blob_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Gives the written file out (hex, size bytes) its name dst in dir:
 * links the unnamed file, or renames the named temporary tmp ("" when
 * unnamed).  The same bytes stored before (EEXIST) are kept; a file of
 * that name with other bytes (altered on disk) is replaced.  0 or -1. */
static int
blob_name(int out, const char *tmp, const char *dir, const char *hex,
    int64_t size, const char *dst)
{
	char self[64], fix[PATH_MAX];

	if (tmp[0] != '\0')
		return rename(tmp, dst);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", out);
	if (linkat(AT_FDCWD, self, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (blob_check(dir, hex, size) == BLOB_OK)
		return 0;
	/* a name of our own for the good copy, renamed over the bad one */
	if ((size_t)snprintf(fix, sizeof(fix), "%s.fix-%ld", dst,
	    (long)getpid()) >= sizeof(fix) ||
	    linkat(AT_FDCWD, self, AT_FDCWD, fix, AT_SYMLINK_FOLLOW) != 0)
		return -1;
	if (rename(fix, dst) != 0) {
		unlink(fix);
		return -1;
	}
	return 0;
}

int
blob_put_file(const char *dir, const char *src, int64_t max,
    char hex[BLOB_HEX_LEN + 1], int64_t *size, int *is_text, char *err,
    size_t errlen)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char tmp[PATH_MAX], dst[PATH_MAX];
	int in = -1, out = -1, rc = -1;

	tmp[0] = '\0';
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the blob folder %s: %s",
		    dir, strerror(errno));
		goto out;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", src,
		    strerror(errno));
		goto out;
	}
	/* An unnamed file (O_TMPFILE): a copy cut by anything, even
	 * SIGKILL, leaves nothing in the folder.  A file system without it
	 * gets a named temporary file instead. */
	if ((out = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600)) < 0 &&
	    ((size_t)snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", dir) >=
	    sizeof(tmp) || (out = mkostemp(tmp, O_CLOEXEC)) < 0)) {
		snprintf(err, errlen, "cannot create a file in %s: %s", dir,
		    strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (blob_copy(in, out, max, md, size, is_text) != 0) {
		snprintf(err, errlen, "cannot copy %s into %s: %s", src, dir,
		    strerror(errno));
		goto out;
	}
	if (*size > max) {
		snprintf(err, errlen, "%s is larger than blob_max_bytes "
		    "(%lld bytes)", src, (long long)max);
		rc = -2;
		goto out;
	}
	ledger_hex(md, sizeof(md), hex);
	if (fchmod(out, 0644) != 0 || fsync(out) != 0) {
		snprintf(err, errlen, "cannot write into %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (blob_path(dir, hex, dst, sizeof(dst)) != 0 ||
	    blob_name(out, tmp, dir, hex, *size, dst) != 0) {
		snprintf(err, errlen, "cannot store %s: %s", dst,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	if (close(out) != 0) {
		out = -1;
		snprintf(err, errlen, "cannot write %s: %s", dst,
		    strerror(errno));
		goto out;
	}
	out = -1;
	blob_sync_dir(dir);
	rc = 0;
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	if (tmp[0] != '\0')
		unlink(tmp);
	return rc;
}

int
blob_open(const char *dir, const char *hex, int64_t *size)
{
	char p[PATH_MAX];
	struct stat st;
	int fd;

	if (blob_path(dir, hex, p, sizeof(p)) != 0) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	*size = (int64_t)st.st_size;
	return fd;
}

int
blob_put(const char *where, const char *src, int64_t max,
    char hex[BLOB_HEX_LEN + 1], int64_t *size, int *is_text, char *err,
    size_t errlen)
{
	if (ledger_db_is_postgres(where))
		return blob_pg_put_file(where, src, max, hex, size, is_text,
		    err, errlen);
	return blob_put_file(where, src, max, hex, size, is_text, err,
	    errlen);
}

int
blob_reader_open(struct blob_reader *r, const char *where,
    const char *hex, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->lofd = -1;
	if (!blob_hex_ok(hex)) {
		snprintf(err, errlen, "not a SHA-256: %s", hex);
		return -1;
	}
	if (ledger_db_is_postgres(where))
		return blob_pg_open(r, where, hex, err, errlen);
	if ((r->fd = blob_open(where, hex, &r->size)) >= 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	snprintf(err, errlen, "blob %s: %s", hex, strerror(errno));
	return -1;
}

ssize_t
blob_reader_read(struct blob_reader *r, void *buf, size_t n)
{
	ssize_t got;

	if (r->pg != NULL)
		return blob_pg_read(r, buf, n);
	while ((got = read(r->fd, buf, n)) < 0 && errno == EINTR)
		;
	return got;
}

int
blob_reader_seek(struct blob_reader *r, int64_t off)
{
	if (r->pg != NULL)
		return blob_pg_seek(r, off);
	return lseek(r->fd, (off_t)off, SEEK_SET) == (off_t)off ? 0 : -1;
}

void
blob_reader_close(struct blob_reader *r)
{
	if (r->pg != NULL)
		blob_pg_close(r);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* Hashes the rest of r (and copies it to out >= 0).  0 or -1. */
static int
blob_reader_hash(struct blob_reader *r, int out,
    unsigned char md[SHA256_DIGEST_LENGTH], int64_t *n)
{
	unsigned char *buf = malloc(BLOB_CHUNK);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ssize_t got;
	int rc = -1;

	*n = 0;
	if (buf == NULL || ctx == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((got = blob_reader_read(r, buf, BLOB_CHUNK)) > 0) {
		if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1 ||
		    (out >= 0 && blob_write_all(out, buf, (size_t)got) != 0))
			goto out;
		*n += got;
	}
	if (got == 0 && EVP_DigestFinal_ex(ctx, md, NULL) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

enum blob_state
blob_check(const char *where, const char *hex, int64_t size)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char got[BLOB_HEX_LEN + 1], err[256];
	struct blob_reader r;
	int64_t n;
	int rc;

	if ((rc = blob_reader_open(&r, where, hex, err, sizeof(err))) != 0)
		return rc > 0 ? BLOB_MISSING : BLOB_ERROR;
	if (size >= 0 && r.size != size) {
		blob_reader_close(&r);
		return BLOB_ALTERED;
	}
	rc = blob_reader_hash(&r, -1, md, &n);
	blob_reader_close(&r);
	if (rc != 0)
		return BLOB_ERROR;
	ledger_hex(md, sizeof(md), got);
	return strcmp(got, hex) == 0 && n == r.size ? BLOB_OK : BLOB_ALTERED;
}

int
blob_get_file(const char *where, const char *hex, const char *out,
    char *err, size_t errlen)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char tmp[PATH_MAX], got[BLOB_HEX_LEN + 1];
	struct blob_reader r;
	int64_t n;
	int fd = -1, rc;

	tmp[0] = '\0';
	if ((rc = blob_reader_open(&r, where, hex, err, errlen)) != 0) {
		if (rc > 0)
			snprintf(err, errlen, "blob %s: missing from the blob "
			    "store", hex);
		return -1;
	}
	rc = -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", out) >=
	    sizeof(tmp) || (fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", out,
		    strerror(errno));
		tmp[0] = '\0';
		goto done;
	}
	if (blob_reader_hash(&r, fd, md, &n) != 0) {
		snprintf(err, errlen, "cannot copy blob %s: %s", hex,
		    strerror(errno));
		goto done;
	}
	ledger_hex(md, sizeof(md), got);
	if (strcmp(got, hex) != 0 || n != r.size) {
		snprintf(err, errlen, "blob %s is altered in the store (its "
		    "bytes hash to %s): run keybridge ledger verify", hex, got);
		goto done;
	}
	if (fchmod(fd, 0644) != 0 || close(fd) != 0) {
		fd = -1;
		snprintf(err, errlen, "cannot write %s: %s", out,
		    strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, out) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", out,
		    strerror(errno));
		goto done;
	}
	tmp[0] = '\0';
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	blob_reader_close(&r);
	if (tmp[0] != '\0')
		unlink(tmp);
	return rc;
}
