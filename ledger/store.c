/*
 * store.c: what the storage backends share (docs/design.md "Storage"): the
 * choice of backend from the db string, the list columns, and the
 * comparison of two registries that `ledger verify` makes between the
 * replayed state (always an in-memory sqlite3 store) and the stored one
 * (sqlite3 or PostgreSQL).
 *
 * The comparison walks both stores' registry tables in key order, a page
 * at a time, through the registry_rows operation, and reports the first
 * key whose row is missing on one side or differs: no ATTACH, no shared
 * SQL, so any pair of backends compares alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_int.h"

#define STORE_PAGE 256		/* registry rows read per call */

int
ledger_store_is_pg(const char *db)
{
	return db != NULL && (strncmp(db, "postgresql://", 13) == 0 ||
	    strncmp(db, "postgres://", 11) == 0);
}

int
ledger_db_is_postgres(const char *db)
{
	return ledger_store_is_pg(db);
}

struct ledger_store *
ledger_store_open(const char *db, int flags, char *err, size_t errlen)
{
	if (db == NULL || db[0] == '\0') {
		snprintf(err, errlen, "no database given");
		return NULL;
	}
	if (ledger_store_is_pg(db))
		return ledger_store_pg_open(db, flags, err, errlen);
	return ledger_store_sqlite_open(db, flags, err, errlen);
}

int
ledger_store_split_list(const char *s, char *out, size_t width, int max)
{
	int n = 0;

	while (s != NULL && *s != '\0' && n < max) {
		const char *sp = strchr(s, ' ');
		size_t len = sp != NULL ? (size_t)(sp - s) : strlen(s);

		if (len >= width)
			len = width - 1;
		memcpy(out + (size_t)n * width, s, len);
		out[(size_t)n * width + len] = '\0';
		n++;
		s = sp != NULL ? sp + 1 : NULL;
	}
	return n;
}

void
ledger_store_join_list(char *out, size_t outlen, const char *items,
    size_t width, int n)
{
	size_t off = 0;

	out[0] = '\0';
	for (int i = 0; i < n && off < outlen; i++)
		off += (size_t)snprintf(out + off, outlen - off, "%s%s",
		    i > 0 ? " " : "", items + (size_t)i * width);
}

int
ledger_store_row_add(char *row, size_t rowlen, size_t *off, const char *v,
    size_t len)
{
	int n;

	if (*off >= rowlen || len > LEDGER_REG_ROW_MAX)
		return -1;
	if (v == NULL)
		n = snprintf(row + *off, rowlen - *off, "~;");
	else
		n = snprintf(row + *off, rowlen - *off, "%zu:%.*s;", len,
		    (int)len, v);
	if (n < 0 || (size_t)n >= rowlen - *off)
		return -1;
	*off += (size_t)n;
	return 0;
}

/* ---- comparing two registries ------------------------------------------ */

static const char *const reg_names[LEDGER_REG_N][2] = {
	[LEDGER_REG_ACCOUNTS] = { "accounts", "name" },
	[LEDGER_REG_KEYS] = { "keys", "key_id" },
	[LEDGER_REG_CERTS] = { "certs", "serial" },
	[LEDGER_REG_CONFIGS] = { "configs", "grp, version" },
	[LEDGER_REG_PREAUTHS] = { "preauths", "id" },
};

/* One store's walk through one table: a page of rows and the cursor. */
struct reg_walk {
	struct ledger_store *s;
	int table;
	char *key[STORE_PAGE], *row[STORE_PAGE];
	size_t n, pos;
	char *after;		/* key of the last row read */
	int end, failed;
};

static int
reg_walk_add(const char *key, const char *row, void *arg)
{
	struct reg_walk *w = arg;

	if (w->n >= STORE_PAGE)
		return 1;
	if ((w->key[w->n] = strdup(key)) == NULL ||
	    (w->row[w->n] = strdup(row)) == NULL) {
		free(w->key[w->n]);
		w->failed = 1;
		return 1;
	}
	w->n++;
	return 0;
}

static void
reg_walk_clear(struct reg_walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->key[i]);
		free(w->row[i]);
	}
	w->n = w->pos = 0;
}

/* The walk's current row (reading the next page when needed): 1 there is
 * one, 0 at the end, -1 on error. */
static int
reg_walk_peek(struct reg_walk *w)
{
	char *last;

	if (w->pos < w->n)
		return 1;
	if (w->end)
		return 0;
	if (w->n > 0) {
		if ((last = strdup(w->key[w->n - 1])) == NULL)
			return -1;
		free(w->after);
		w->after = last;
	}
	reg_walk_clear(w);
	if (w->s->ops->registry_rows(w->s, w->table, w->after != NULL ?
	    w->after : "", STORE_PAGE, reg_walk_add, w) != 0 || w->failed)
		return -1;
	/* A key that does not move the cursor forward would loop. */
	if (w->n > 0 && w->after != NULL && strcmp(w->key[0], w->after) <= 0)
		return -1;
	if (w->n < STORE_PAGE)
		w->end = 1;
	return w->n > 0 ? 1 : 0;
}

/* Names key in what: the configs key "grp\1version" reads "grp, version". */
static void
reg_report(char *what, size_t whatlen, int t, const char *key)
{
	char shown[160];
	size_t i;

	for (i = 0; key[i] != '\0' && i < sizeof(shown) - 3; i++)
		shown[i] = key[i] == '\1' ? ',' : key[i];
	shown[i] = '\0';
	snprintf(what, whatlen, "stored %s table differs from the replayed "
	    "state at %s = %s", reg_names[t][0], reg_names[t][1], shown);
}

/* Compares table t: 0 equal, 1 different, -1 error. */
static int
reg_compare_table(struct ledger_store *a, struct ledger_store *b, int t,
    char *what, size_t whatlen)
{
	struct reg_walk wa, wb;
	int ra, rb, c, rc = -1;

	memset(&wa, 0, sizeof(wa));
	memset(&wb, 0, sizeof(wb));
	wa.s = a;
	wb.s = b;
	wa.table = wb.table = t;
	for (;;) {
		if ((ra = reg_walk_peek(&wa)) < 0) {
			snprintf(what, whatlen, "comparing state: reading the "
			    "replayed %s: %s", reg_names[t][0],
			    a->ops->errmsg(a));
			goto out;
		}
		if ((rb = reg_walk_peek(&wb)) < 0) {
			snprintf(what, whatlen, "comparing state: reading the "
			    "stored %s: %s", reg_names[t][0],
			    b->ops->errmsg(b));
			goto out;
		}
		if (ra == 0 && rb == 0)
			break;
		/* A row on one side only is reported at its key. */
		c = ra == 0 ? 1 : rb == 0 ? -1 :
		    strcmp(wa.key[wa.pos], wb.key[wb.pos]);
		if (c != 0 || strcmp(wa.row[wa.pos], wb.row[wb.pos]) != 0) {
			reg_report(what, whatlen, t, c <= 0 ? wa.key[wa.pos] :
			    wb.key[wb.pos]);
			rc = 1;
			goto out;
		}
		wa.pos++;
		wb.pos++;
	}
	rc = 0;
out:
	reg_walk_clear(&wa);
	reg_walk_clear(&wb);
	free(wa.after);
	free(wb.after);
	return rc;
}

int
ledger_store_compare(struct ledger_store *replayed,
    struct ledger_store *stored, char *what, size_t whatlen)
{
	int rc = 0;

	for (int t = 0; t < LEDGER_REG_N && rc == 0; t++)
		rc = reg_compare_table(replayed, stored, t, what, whatlen);
	return rc;
}
