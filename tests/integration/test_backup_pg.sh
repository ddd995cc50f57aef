#!/usr/bin/env bash
# test_backup_pg.sh: `keybridge backup` and `restore` with the ledger in
# PostgreSQL (issue 17, docs/operations.md "Backup and restore",
# "PostgreSQL"): backup says the ledger is not in the archive and holds
# the data directory's files only (no ledger.db, manifest storage
# postgresql); the database is backed up as documented, with pg_dump
# after the backup, and pg_restore'd into a new database; restore makes
# the directory and says how to restore the database; with db pointed
# at the restored database, `ledger verify` says OK at the same tree
# size, and a serve on it (other ports) answers OCSP good for a
# certificate enrolled before the backup.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
kb_pg_start kb restored
D="$OUT/data"
kb_init "$D" --db "$DB"
kb_start "$D"
kb_enroll dev1
SIZE=$(kb_tree_size)
kb_ok backup -d "$D" -o "$OUT/pg.tar" --with-keys >/dev/null
assert_contains "$(cat "$KB_STDERR")" "in PostgreSQL: this backup holds the data directory's files only" "backup with PostgreSQL"
"$PG_BIN/pg_dump" --format=custom --file="$OUT/kb.dump" "$DB" || fail "pg_dump $DB"
kb_stop
tar -xOf "$OUT/pg.tar" ./manifest.json >"$OUT/manifest.json"
assert_eq postgresql "$(jq -r .storage "$OUT/manifest.json")" "manifest storage"
assert_eq null "$(jq -r .db "$OUT/manifest.json")" "manifest db"
if tar -tf "$OUT/pg.tar" | grep -E 'ledger\.db'; then
	fail "the PostgreSQL backup holds a ledger.db"
fi

R="$OUT/restored"
out=$(kb_ok restore -i "$OUT/pg.tar" -d "$R")
assert_contains "$out" "the ledger is in PostgreSQL" "restore of a PostgreSQL backup"
"$PG_BIN/pg_restore" --dbname="${URL%/postgres}/restored" "$OUT/kb.dump" || fail "pg_restore"
kb_conf_set "$R" db "${URL%/postgres}/restored"
out=$(kb_ok ledger verify -d "$R")
assert_contains "$out" "ledger OK: $SIZE entries" "ledger verify of the restored database"
ports=$(kb_free_ports 2)
kb_conf_set "$R" est_listen "127.0.0.1:${ports% *}"
kb_conf_set "$R" http_listen "127.0.0.1:${ports#* }"
kb_start "$R"
timeout 20 openssl ocsp -issuer "$R/ca/issuing.pem" -cert "$OUT/dev1.pem" -CAfile "$R/ca/root.pem" \
    -url "http://127.0.0.1:${ports#* }/ocsp" >"$OUT/ocsp.txt" 2>&1 || fail "openssl ocsp: $(cat "$OUT/ocsp.txt")"
assert_contains "$(cat "$OUT/ocsp.txt")" "$OUT/dev1.pem: good" "OCSP from the restored bridge"
kb_stop
log "PostgreSQL: files backed up and restored, the database by pg_dump / pg_restore; verify OK at $SIZE, OCSP good"
