/*
 * db_fx.c: a fresh database for one test (db_fx.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "tests/common/tmp_fx.h"
#include "tests/ledger/db_fx.h"

void
fx_pg_exec(const char *url, const char *sql)
{
	PGconn *c = PQconnectdb(url);
	PGresult *r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

void
fx_db_new(const char *pg_url, const char *tag, char dir[FX_DIR_LEN],
    char db[FX_DB_LEN], char schema[FX_SCHEMA_LEN])
{
	static unsigned n;
	char sql[128];

	snprintf(dir, FX_DIR_LEN, "/tmp/kb%s.XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
	schema[0] = '\0';
	if (pg_url == NULL) {
		snprintf(db, FX_DB_LEN, "%s/ledger.db", dir);
		return;
	}
	/* The name is made of numbers, not of data. */
	snprintf(schema, FX_SCHEMA_LEN, "kbt_%ld_%u", (long)getpid(), n++);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
	fx_pg_exec(pg_url, sql);
	snprintf(db, FX_DB_LEN, "%s%coptions=-csearch_path%%3D%s", pg_url,
	    strchr(pg_url, '?') != NULL ? '&' : '?', schema);
}

void
fx_db_free(const char *pg_url, const char *dir, const char *schema)
{
	char cmd[128];

	fx_rmtree(dir);
	if (pg_url != NULL && schema[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "DROP SCHEMA %s CASCADE", schema);
		fx_pg_exec(pg_url, cmd);
	}
}
