/*
 * db_fx.h: a fresh database for one test, on either backend: the
 * fixture that rules_fx.h, test_verify.c, test_check.c and
 * test_store_read.c share (db_fx.c, in the fixtures' archive).
 */
#ifndef KEYBRIDGE_TESTS_LEDGER_DB_FX_H
#define KEYBRIDGE_TESTS_LEDGER_DB_FX_H

#define FX_DIR_LEN	64
#define FX_DB_LEN	1024
#define FX_SCHEMA_LEN	64

/* A temporary directory dir ("/tmp/kb<tag>.XXXXXX") and, with pg_url
 * (NULL: SQLite), a fresh schema of its own on that server, named by
 * numbers only, with db a URL whose connections use it (search_path), so
 * every test starts from an empty database; on SQLite db is
 * dir/ledger.db and schema "".  Fails the test on error. */
void fx_db_new(const char *pg_url, const char *tag, char dir[FX_DIR_LEN],
    char db[FX_DB_LEN], char schema[FX_SCHEMA_LEN]);
/* Removes dir and its files, and the schema when there is one. */
void fx_db_free(const char *pg_url, const char *dir, const char *schema);
/* Runs sql on the server of url; fails the test unless it worked. */
void fx_pg_exec(const char *url, const char *sql);

#endif
