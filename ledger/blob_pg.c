/*
 * blob_pg.c: published bytes as PostgreSQL large objects (blob.h), for a
 * ledger in PostgreSQL: every bridge of the database serves them.
 *
 * Table blobs (sha256 text primary key, oid oid, size bigint) names each
 * large object by the SHA-256 of its bytes.  A publish writes the object
 * and its row in one transaction, streaming BLOB_CHUNK bytes per lo_write:
 * a cut publish (a lost connection, a killed CLI) is rolled back by the
 * server, object and all.  Reads open the object in a transaction of
 * their own connection (large object descriptors live as long as their
 * transaction).  SQL with bind parameters only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <libpq/libpq-fs.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ledger/blob.h"
#include "ledger/ledger.h"

#define BLOB_PG_TIMEOUT	"10"	/* s, connect_timeout */
#define BLOB_PG_UNDEFINED_TABLE "42P01"

static const char blob_pg_table[] =
    "CREATE TABLE IF NOT EXISTS blobs (sha256 text PRIMARY KEY, "
    "oid oid NOT NULL, size bigint NOT NULL)";

PGconn *
blob_pg_connect(const char *url, char *err, size_t errlen)
{
	const char *keys[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char *vals[] = { BLOB_PG_TIMEOUT, "keybridge-blobs", url, NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		/* Not the URL: it may hold a password. */
		snprintf(err, errlen, "cannot connect to PostgreSQL: %s",
		    c != NULL ? PQerrorMessage(c) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Runs sql (no parameters): 0 when it succeeded. */
static int
blob_pg_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = r != NULL && (PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK);

	PQclear(r);
	return ok ? 0 : -1;
}

static void
blob_pg_err(PGconn *c, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "PostgreSQL %s: %s", what, PQerrorMessage(c));
	err[strcspn(err, "\n")] = '\0';
}

int
blob_pg_put_file(const char *url, const char *src, int64_t max,
    char hex[BLOB_HEX_LEN + 1], int64_t *size, int *is_text, char *err,
    size_t errlen)
{
	unsigned char md[SHA256_DIGEST_LENGTH], *buf = NULL;
	const char *params[3];
	char oidtxt[16], sizetxt[24];
	EVP_MD_CTX *ctx = NULL;
	PGconn *c = NULL;
	PGresult *r = NULL;
	Oid oid;
	int in = -1, lofd = -1, rc = -1;
	ssize_t n;

	*size = 0;
	*is_text = 1;
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", src,
		    strerror(errno));
		return -1;
	}
	if ((c = blob_pg_connect(url, err, errlen)) == NULL)
		goto out;
	if (blob_pg_exec(c, blob_pg_table) != 0 ||
	    blob_pg_exec(c, "BEGIN") != 0 ||
	    (oid = lo_creat(c, INV_READ | INV_WRITE)) == InvalidOid ||
	    (lofd = lo_open(c, oid, INV_WRITE)) < 0) {
		blob_pg_err(c, "large object", err, errlen);
		goto out;
	}
	if ((buf = malloc(BLOB_CHUNK)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		if ((n = read(in, buf, BLOB_CHUNK)) < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read %s: %s", src,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (*size < BLOB_SNIFF && *is_text)
			for (ssize_t i = 0; i < n && *size + i < BLOB_SNIFF;
			    i++)
				if (buf[i] < 0x20 && buf[i] != '\t' &&
				    buf[i] != '\n' && buf[i] != '\r' &&
				    buf[i] != '\f')
					*is_text = 0;
		*size += n;
		if (*size > max) {
			snprintf(err, errlen, "%s is larger than "
			    "blob_max_bytes (%lld bytes)", src,
			    (long long)max);
			rc = -2;
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1 ||
		    lo_write(c, lofd, (const char *)buf, (size_t)n) != n) {
			blob_pg_err(c, "lo_write", err, errlen);
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1 ||
	    lo_close(c, lofd) != 0) {
		blob_pg_err(c, "lo_close", err, errlen);
		goto out;
	}
	lofd = -1;
	ledger_hex(md, sizeof(md), hex);
	snprintf(oidtxt, sizeof(oidtxt), "%u", (unsigned)oid);
	snprintf(sizetxt, sizeof(sizetxt), "%lld", (long long)*size);
	params[0] = hex;
	params[1] = oidtxt;
	params[2] = sizetxt;
	r = PQexecParams(c, "INSERT INTO blobs (sha256, oid, size) VALUES "
	    "($1, $2::oid, $3::bigint) ON CONFLICT (sha256) DO NOTHING",
	    3, NULL, params, NULL, NULL, 0);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		blob_pg_err(c, "insert", err, errlen);
		goto out;
	}
	/* Stored before: keep that object, drop this one (roll back). */
	if (strcmp(PQcmdTuples(r), "0") == 0) {
		if (blob_pg_exec(c, "ROLLBACK") != 0) {
			blob_pg_err(c, "rollback", err, errlen);
			goto out;
		}
	} else if (blob_pg_exec(c, "COMMIT") != 0) {
		blob_pg_err(c, "commit", err, errlen);
		goto out;
	}
	rc = 0;
out:
	PQclear(r);
	EVP_MD_CTX_free(ctx);
	free(buf);
	close(in);
	PQfinish(c);		/* an open transaction is rolled back */
	return rc;
}

int
blob_pg_open(struct blob_reader *rd, const char *url, const char *hex,
    char *err, size_t errlen)
{
	const char *params[1] = { hex };
	PGresult *r = NULL;
	PGconn *c;
	const char *state;
	Oid oid;
	int rc = -1;

	if ((c = blob_pg_connect(url, err, errlen)) == NULL)
		return -1;
	if (blob_pg_exec(c, "BEGIN") != 0) {
		blob_pg_err(c, "begin", err, errlen);
		goto out;
	}
	r = PQexecParams(c, "SELECT oid::text, size FROM blobs WHERE "
	    "sha256 = $1", 1, NULL, params, NULL, NULL, 0);
	state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (state != NULL && strcmp(state, BLOB_PG_UNDEFINED_TABLE) == 0) {
		rc = 1;			/* nothing published yet */
		goto out;
	}
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		blob_pg_err(c, "select", err, errlen);
		goto out;
	}
	if (PQntuples(r) == 0) {
		rc = 1;
		goto out;
	}
	oid = (Oid)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	rd->size = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	if ((rd->lofd = lo_open(c, oid, INV_READ)) < 0) {
		blob_pg_err(c, "lo_open", err, errlen);
		goto out;
	}
	rd->pg = c;
	c = NULL;
	rc = 0;
out:
	PQclear(r);
	PQfinish(c);
	return rc;
}

ssize_t
blob_pg_read(struct blob_reader *rd, void *buf, size_t n)
{
	return lo_read(rd->pg, rd->lofd, buf, n);
}

int
blob_pg_seek(struct blob_reader *rd, int64_t off)
{
	return lo_lseek64(rd->pg, rd->lofd, off, SEEK_SET) == off ? 0 : -1;
}

void
blob_pg_close(struct blob_reader *rd)
{
	PQfinish(rd->pg);	/* ends the read transaction */
	rd->pg = NULL;
}
