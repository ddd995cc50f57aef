#!/usr/bin/env bash
# kb-test: alone (asserts a time bound or a resource figure: run with no other test beside it)
# test_pg_bridges: two bridges on one PostgreSQL database (issue 6).  Both
# data directories are the same bridge (one CA, one validator key: a copy)
# on their own ports.  A key registered through bridge A is enrolled over
# EST through bridge B; OCSP from A says good; revoked through B, A says
# revoked within a second (A learns of B's entries by LISTEN/NOTIFY,
# without writing); both bridges then take registrations at once and the
# tree has no gap or fork (ledger verify); SIGKILL of one bridge leaves the
# other serving and appending.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

A="$OUT/a"
B="$OUT/b"
mkdir -p "$OUT/q"

kb_pg_start kb

# ---- two bridges, one identity, one database ---------------------------------------
kb_init "$A" --db "$DB"
kb_copy_dir "$A" "$B"

# use_bridge NAME: the lib's helpers (api, est_enroll, kb_tree_size) talk
# to bridge A or B.
declare -A PID URLS HTTP
use_bridge() {
	KB_DIR=${!1}
	KB_URL=${URLS[$1]}
	KB_SERVE_PID=${PID[$1]:-}
}
start_bridge() {
	KB_SERVE_PID=""
	kb_start "${!1}"
	PID[$1]=$KB_SERVE_PID
	URLS[$1]=$KB_URL
	HTTP[$1]=$KB_HTTP_URL
}
start_bridge A
start_bridge B
log "bridge A: ${URLS[A]} ${HTTP[A]}; bridge B: ${URLS[B]} ${HTTP[B]}"

# ocsp_status BRIDGE NAME: what the bridge's OCSP responder says of NAME.pem.
ocsp_status() {
	local f="$OUT/q/$1-$2.txt"
	timeout 20 openssl ocsp -issuer "$A/ca/issuing.pem" -url "${HTTP[$1]}/ocsp" \
	    -CAfile "$A/ca/root.pem" -timeout 10 -no_nonce \
	    -cert "$OUT/$2.pem" >"$f" 2>&1 || fail "openssl ocsp ($1) for $2: $(head -c 1000 "$f")"
	assert_contains "$(cat "$f")" "Response verify OK" "openssl ocsp ($1) for $2"
	awk -v n="$OUT/$2.pem: " 'index($0, n) == 1 { print substr($0, length(n) + 1); exit }' "$f"
}

# wait_status BRIDGE NAME WANT: polls until OCSP says WANT (5 s at most);
# prints the milliseconds it took.
wait_status() {
	local t0 st
	t0=$(date +%s%N)
	while st=$(ocsp_status "$1" "$2") && [ "$st" != "$3" ]; do
		[ "$(ms_since "$t0")" -lt 5000 ] || fail "bridge $1 still says $st for $2 5 s later, expected $3"
		sleep 0.02
	done
	ms_since "$t0"
}

# ---- register through A, enroll through B, OCSP from A ----------------------------------
new_key dev1 p256
use_bridge A
r=$(kb_ok key register -d "$A" --remote --pubkey "$OUT/keys/dev1.pub" --name dev1 --json)
KID=$(jq -er .key_id <<<"$r")
use_bridge B
est_enroll /.well-known/est/simpleenroll "$(est_csr dev1 dev1)" "$OUT/dev1.pem"
t0=$(date +%s%N)
lat=$(wait_status A dev1 good)
log "A answers good for the certificate B issued ${lat} ms after the enrollment returned"
[ "$lat" -le 1000 ] || fail "A saw B's certificate after $lat ms, expected within 1000 ms"
assert_eq good "$(ocsp_status B dev1)" "B's own OCSP for dev1"

# ---- revoke through B, A says revoked within a second ---------------------------------------
kb_ok key revoke -d "$B" --remote --key-id "$KID" --reason keyCompromise >/dev/null
lat=$(wait_status A dev1 revoked)
log "A answers revoked ${lat} ms after the revocation through B returned"
[ "$lat" -le 1000 ] || fail "A saw the revocation after $lat ms, expected within 1000 ms"
assert_contains "$(cat "$OUT/q/A-dev1.txt")" "Reason: keyCompromise" "A's answer for dev1"
sa=$(use_bridge A; kb_tree_size)
sb=$(use_bridge B; kb_tree_size)
assert_eq "$sa" "$sb" "tree size of A and B"

# ---- both bridges take registrations at once -----------------------------------------------
# register_many BRIDGE N: N keys registered through BRIDGE's API, one
# CLI call each, signed by an admin account of that bridge's own (one
# account's seq cannot be used from two places at once without refusals).
for b in A B; do
	kb_ok account keygen --out "$OUT/keys/ops$b.key" >/dev/null
	openssl pkey -in "$OUT/keys/ops$b.key" -pubout -out "$OUT/keys/ops$b.pub"
	kb_ok account create -d "$A" --remote --name "ops$b" --pubkey "$OUT/keys/ops$b.pub" --role admin >/dev/null
done
register_many() {
	local dir=${!1} i
	for i in $(seq "$2"); do
		openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout >"$OUT/keys/$1-$i.pub"
		"$KEYBRIDGE" key register -d "$dir" --remote --as "ops$1" \
		    --account "$OUT/keys/ops$1.key" --pubkey "$OUT/keys/$1-$i.pub" \
		    --name "$1-$i" >>"$OUT/q/register-$1.log" 2>&1 || return 1
	done
}
N=40
before=$(use_bridge A; kb_tree_size)
register_many A "$N" &
ra=$!
register_many B "$N" &
rb=$!
# an auditor's replay meanwhile reads one snapshot of the database
sleep 1
"$KEYBRIDGE" ledger verify -d "$A" >"$OUT/q/verify-live.txt" 2>&1 ||
	fail "ledger verify while both bridges append: $(cat "$OUT/q/verify-live.txt")"
log "verify while both bridges append: $(head -n1 "$OUT/q/verify-live.txt")"
wait "$ra" || fail "registrations through A failed: $(tail -n 3 "$OUT/q/register-A.log")"
wait "$rb" || fail "registrations through B failed: $(tail -n 3 "$OUT/q/register-B.log")"
want=$((before + 2 * N))
t0=$(date +%s%N)
until [ "$(use_bridge A; kb_tree_size)" = "$want" ] && [ "$(use_bridge B; kb_tree_size)" = "$want" ]; do
	[ "$(ms_since "$t0")" -lt 2000 ] || fail "tree sizes A $(use_bridge A; kb_tree_size), B $(use_bridge B; kb_tree_size), expected $want"
	sleep 0.02
done
assert_eq "$want" "$(psql_q "SELECT count(*) FROM entries")" "entries in PostgreSQL"
assert_eq "$((want - 1))" "$(psql_q "SELECT max(idx) FROM entries")" "last index (no gap)"
# the same checkpoint from both
cpa=$(use_bridge A; api GET /api/v1/ledger/checkpoint | jq -r .root_hash)
cpb=$(use_bridge B; api GET /api/v1/ledger/checkpoint | jq -r .root_hash)
assert_eq "$cpa" "$cpb" "root hash of A and B"

# ---- one bridge dies, the other carries on ---------------------------------------------------
use_bridge B
kb_kill9
PID[B]=""
use_bridge A
new_key dev2 p256
r=$(kb_ok key register -d "$A" --remote --pubkey "$OUT/keys/dev2.pub" --name dev2 --json)
# Both bridges sign as the one bridge account: A's next seq is behind the
# one B used, so A's first issuance is refused (503, Retry-After) and A
# catches up; the client's retry enrolls.  Nothing is appended meanwhile.
csr=$(est_csr dev2 dev2)
before=$(kb_tree_size)
code=$(est_call POST /.well-known/est/simpleenroll -H 'Content-Type: application/pkcs10' --data-binary "@$csr")
case "$code" in
200) log "A enrolled dev2 at once" ;;
503) assert_eq "$before" "$(kb_tree_size)" "tree size after the 503"
     log "A answered 503 once (stale bridge-account seq), retrying"
     est_enroll /.well-known/est/simpleenroll "$csr" "$OUT/dev2.pem" ;;
*) fail "enrolling dev2 through A: HTTP $code: $(head -c 500 "$API_BODY")" ;;
esac
[ -s "$OUT/dev2.pem" ] || est_p7_certs "$API_BODY" "$OUT/dev2.pem" >/dev/null
assert_eq good "$(ocsp_status A dev2)" "A's OCSP for dev2 with B dead"
assert_eq revoked "$(ocsp_status A dev1)" "A's OCSP for dev1 with B dead"
# B comes back and catches up
start_bridge B
assert_eq "$(use_bridge A; kb_tree_size)" "$(use_bridge B; kb_tree_size)" "tree size of B after its restart"
assert_eq good "$(ocsp_status B dev2)" "B's OCSP for dev2 after its restart"

use_bridge A
kb_stop
use_bridge B
kb_stop
kb_ok ledger verify -d "$A" >/dev/null
assert_contains "$(cat "$KB_STDOUT")" "ledger OK" "ledger verify after two bridges"
log "PASS: $(head -n1 "$KB_STDOUT")"
