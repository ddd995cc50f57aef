/*
 * blob.h: the bytes of published configurations and firmware, kept beside
 * the ledger (docs/design.md "Configuration and firmware bytes").
 *
 * A blob store is a folder (the data directory's blob_dir, "blobs" by
 * default) of files named by the lowercase hex SHA-256 of their content:
 * content-addressed, so bytes that several versions share are stored once.
 * The ledger's config-publish entry carries the hash and size; the rules
 * never read a blob (validators replay entries without the bytes).  Every
 * function streams in BLOB_CHUNK pieces: a 1 GiB firmware image is never
 * held in memory.  A blob is written to a temporary file in the folder,
 * hashed while it is copied, synced, and renamed into place only when
 * complete (an unnamed O_TMPFILE file linked into place), so a cut copy
 * leaves nothing in the folder.
 */
#ifndef KEYBRIDGE_BLOB_H
#define KEYBRIDGE_BLOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BLOB_CHUNK	65536		/* bytes read or written at a time */
#define BLOB_HEX_LEN	64		/* a SHA-256 in lowercase hex */
#define BLOB_SNIFF	8192		/* bytes looked at to call a file text */

/* What blob_check found. */
enum blob_state {
	BLOB_OK = 0,		/* present, its size and SHA-256 as expected */
	BLOB_MISSING,		/* no file of that name */
	BLOB_ALTERED,		/* present, other bytes */
	BLOB_ERROR = -1		/* could not read (errno) */
};

/* The path of blob hex in folder dir into out.  0, or -1 when hex is not
 * 64 lowercase hex digits or the path does not fit. */
int blob_path(const char *dir, const char *hex, char *out, size_t outlen);

/* Copies the file src into folder dir (created 0755 when missing: the
 * bridge reads it after dropping to its user; the data directory's own
 * mode keeps others out) under
 * the SHA-256 of the bytes copied, refusing a file over max bytes.  Fills
 * hex, *size and *is_text (no NUL and no other control byte but tab, CR,
 * LF, FF in the first BLOB_SNIFF bytes).  0, or -1 (-2: over max) with
 * a one-line reason in err (the temporary file removed). */
int blob_put_file(const char *dir, const char *src, int64_t max,
    char hex[BLOB_HEX_LEN + 1], int64_t *size, int *is_text, char *err,
    size_t errlen);

/* Opens blob hex of folder dir for reading: the descriptor, or -1 (errno
 * ENOENT when it is missing).  *size is its length. */
int blob_open(const char *dir, const char *hex, int64_t *size);

/*
 * A store ("where") is a folder, or a postgresql:// URL (with a ledger in
 * PostgreSQL, ledger_db_is_postgres): then the bytes are large objects
 * named in table blobs (blob_pg.c), and every bridge of the database
 * serves them.  The functions below take either.
 */

/* blob_put_file into the store where. */
int blob_put(const char *where, const char *src, int64_t max,
    char hex[BLOB_HEX_LEN + 1], int64_t *size, int *is_text, char *err,
    size_t errlen);

/* A blob open for reading, from a file or a large object. */
struct blob_reader {
	int fd;			/* the file, or -1 */
	void *pg;		/* the PGconn of a large object, or NULL */
	int lofd;		/* its large object descriptor */
	int64_t size;		/* bytes */
};

/* Opens blob hex of store where: 0, 1 when it is not there, -1 with err. */
int blob_reader_open(struct blob_reader *r, const char *where,
    const char *hex, char *err, size_t errlen);
/* Up to n bytes into buf: the count, 0 at the end, -1 on error. */
ssize_t blob_reader_read(struct blob_reader *r, void *buf, size_t n);
/* Moves to byte off.  0 or -1. */
int blob_reader_seek(struct blob_reader *r, int64_t off);
void blob_reader_close(struct blob_reader *r);

/* Reads blob hex back and checks it is size bytes with that SHA-256
 * (size < 0: any size). */
enum blob_state blob_check(const char *where, const char *hex, int64_t size);

/* Copies blob hex of store where to the file out (created 0644, replaced
 * atomically), checking its SHA-256 on the way.  0, or -1 with err. */
int blob_get_file(const char *where, const char *hex, const char *out,
    char *err, size_t errlen);

/* ---- blob_pg.c, for blob.c ------------------------------------------ */
int blob_pg_put_file(const char *url, const char *src, int64_t max,
    char hex[BLOB_HEX_LEN + 1], int64_t *size, int *is_text, char *err,
    size_t errlen);
int blob_pg_open(struct blob_reader *r, const char *url, const char *hex,
    char *err, size_t errlen);
ssize_t blob_pg_read(struct blob_reader *r, void *buf, size_t n);
int blob_pg_seek(struct blob_reader *r, int64_t off);
void blob_pg_close(struct blob_reader *r);

#endif
