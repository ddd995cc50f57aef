#!/usr/bin/env bash
# kb-test: alone (asserts a time bound or a resource figure: run with no other test beside it)
# test_pg_bridge: the bridge on PostgreSQL (issue 6).  A throwaway server
# started with scripts/pg.sh holds the ledger (`init --db URL`): a key
# registered through the bridge, a certificate enrolled over EST, `openssl
# ocsp` good, then revoked within a second of `key revoke`; the rows are in
# PostgreSQL and nowhere else; `ledger verify` passes; a second init on the
# same database is refused, and so is a server running with
# synchronous_commit = off unless db_allow_async_commit says so; an entry
# corrupted with psql is named by `ledger verify` with its index.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
mkdir -p "$OUT/q"

t0=$(date +%s%N)
kb_pg_start kb
log "PostgreSQL up in $((($(date +%s%N) - t0) / 1000000)) ms: $URL"

# ---- init and serve on PostgreSQL ------------------------------------------------
kb_init "$DIR" --db "$DB"
assert_eq "$DB" "$(kb_conf_get "$DIR" db)" "db in keybridge.conf"
[ ! -e "$DIR/ledger.db" ] || fail "init --db URL wrote an SQLite file"
assert_eq 2 "$(psql_q "SELECT count(*) FROM entries")" "genesis entries in PostgreSQL"
assert_eq 7 "$(psql_q "SELECT v FROM meta WHERE k = 'schema'")" "schema version"
# a second ledger never goes into a database that holds one
kb_fail init init "$OUT/other" --db "$DB"
assert_contains "$(cat "$KB_STDERR")" "already holds a ledger" "second init on one database"

# keybridge check reaches PostgreSQL and knows its schema (issue 17); a
# database that is not there is a problem, its URL's password not shown
out=$(kb_ok check -d "$DIR")
assert_contains "$out" "$DIR: OK (configuration, certificates, keys, database)" "check on PostgreSQL"
kb_run check -d "$DIR" --db "${DB%/*}/nosuchdb"
assert_eq 1 "$KB_RC" "check with a database that does not exist"
assert_contains "$(cat "$KB_STDERR")" "db (postgresql://...): the database:" "check: the database unreachable"

kb_start "$DIR"
st=$(api GET /api/v1/status)
assert_eq postgresql "$(jq -r .storage <<<"$st")" "storage in /api/v1/status"

# ---- enroll, OCSP good, revoke, OCSP revoked -------------------------------------
kb_enroll dev1
KID1=$KB_KEY_ID
# a negative control that stays good
kb_enroll dev2
# the ledger holds their TBSs; the signed certificates are kept beside
kb_wait_kept "$OUT/dev1.pem"
kb_wait_kept "$OUT/dev2.pem"
assert_eq 2 "$(psql_q "SELECT count(*) FROM certs c JOIN certs_signed s ON s.serial = c.serial WHERE c.cert_sha256 = ''")" \
    "signed certificates kept beside the TBS entries in PostgreSQL"

OCSP_URL="http://127.0.0.1:$KB_HTTP_PORT/ocsp"
ocsp_status() {
	local f="$OUT/q/$1.txt"
	timeout 20 openssl ocsp -issuer "$DIR/ca/issuing.pem" -url "$OCSP_URL" \
	    -CAfile "$DIR/ca/root.pem" -timeout 10 -no_nonce \
	    -cert "$OUT/$1.pem" >"$f" 2>&1 || fail "openssl ocsp for $1: $(head -c 1000 "$f")"
	assert_contains "$(cat "$f")" "Response verify OK" "openssl ocsp for $1"
	awk -v n="$OUT/$1.pem: " 'index($0, n) == 1 { print substr($0, length(n) + 1); exit }' "$f"
}
assert_eq good "$(ocsp_status dev1)" "OCSP for dev1 after enrollment"

kb_ok key revoke -d "$DIR" --key-id "$KID1" --reason keyCompromise >/dev/null
t0=$(date +%s%N)
while st=$(ocsp_status dev1) && [ "$st" != revoked ]; do
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 5000 ] || fail "dev1 still $st 5 s after key revoke"
	sleep 0.05
done
lat=$((($(date +%s%N) - t0) / 1000000))
log "dev1 revoked over OCSP $lat ms after key revoke returned"
[ "$lat" -le 1000 ] || fail "revocation visible after $lat ms, expected within 1000 ms"
assert_eq good "$(ocsp_status dev2)" "OCSP for dev2 (not revoked)"

size=$(kb_tree_size)
kb_stop
assert_eq "$size" "$(psql_q "SELECT count(*) FROM entries")" "entries in PostgreSQL"
assert_eq 1 "$(psql_q "SELECT count(*) FROM keys WHERE status = 2")" "revoked keys in PostgreSQL"
assert_eq "1 1" "$(psql_q "SELECT (SELECT n FROM counters WHERE name = 'certs_good') || ' ' || (SELECT n FROM counters WHERE name = 'certs_revoked')")" \
    "counters certs_good and certs_revoked"

# ---- verify ----------------------------------------------------------------------
kb_ok ledger verify -d "$DIR" >/dev/null
assert_contains "$(cat "$KB_STDOUT")" "ledger OK: $size entries" "ledger verify on PostgreSQL"
# --db on the command line names the same database
kb_ok ledger verify -d "$DIR" --db "$DB" >/dev/null
kb_ok key show -d "$DIR" --db "$DB" --key-id "$KID1" --json >/dev/null

# ---- synchronous_commit off: refused unless the config accepts it ------------------
psql_q "ALTER DATABASE kb SET synchronous_commit = off" >/dev/null
new_key dev3 p256
kb_fail ledger key register -d "$DIR" --pubkey "$OUT/keys/dev3.pub" --name dev3
assert_contains "$(cat "$KB_STDERR")" "synchronous_commit = off" "a writer on synchronous_commit = off"
assert_eq "$size" "$(psql_q "SELECT count(*) FROM entries")" "entries after the refusal"
kb_conf_set "$DIR" db_allow_async_commit 1
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/dev3.pub" --name dev3 >/dev/null
kb_conf_set "$DIR" db_allow_async_commit 0
psql_q "ALTER DATABASE kb RESET synchronous_commit" >/dev/null
size=$((size + 1))
kb_ok ledger verify -d "$DIR" >/dev/null

# ---- a corrupted entry is named by its index ---------------------------------------------
idx=$(psql_q "SELECT idx FROM entries WHERE type = 3 AND convert_from(data, 'UTF8') LIKE '%name dev2%'")
[ -n "$idx" ] || fail "no key-register entry for dev2"
psql_q "UPDATE entries SET data = convert_to(replace(convert_from(data, 'UTF8'), 'name dev2', 'name dev9'), 'UTF8') WHERE idx = $idx" >/dev/null
kb_run ledger verify -d "$DIR"
assert_eq 1 "$KB_RC" "exit status of ledger verify on a corrupted entry"
assert_contains "$(cat "$KB_STDOUT")" "ledger BROKEN at entry $idx " "ledger verify names the corrupted entry"
log "verify: $(head -n1 "$KB_STDOUT")"
# the stored registry edited behind the ledger's back is caught too
psql_q "UPDATE entries SET data = convert_to(replace(convert_from(data, 'UTF8'), 'name dev9', 'name dev2'), 'UTF8') WHERE idx = $idx" >/dev/null
kb_ok ledger verify -d "$DIR" >/dev/null
psql_q "UPDATE keys SET status = 1 WHERE key_id = '$KID1'" >/dev/null
kb_run ledger verify -d "$DIR"
assert_eq 1 "$KB_RC" "exit status of ledger verify on an edited registry"
assert_contains "$(cat "$KB_STDOUT")" "stored keys table differs from the replayed state at key_id = $KID1" "ledger verify names the edited key"

log "PASS: the bridge on PostgreSQL: init, enroll, OCSP good and revoked (${lat} ms), verify, corrupted entry $idx named"
