#!/usr/bin/env bash
# test_pg_faults: the PostgreSQL server dies under a bridge (issue 6).
# Four clients register keys through the bridge without pause; the server
# is killed with SIGKILL in the middle, kept down for a while and started
# again.  Meanwhile writes are answered 503 (nothing acknowledged that is
# not committed) and OCSP still answers from the bridge's cache; after the
# restart the bridge reconnects by itself and the clients carry on.  Then
# the bridge's connections are cut again and again with the server up.
# Every acknowledged registration is in the database afterwards, and
# `ledger verify` passes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
CLIENTS=4
mkdir -p "$OUT/q" "$OUT/keys"

kb_pg_start kb
kb_init "$DIR" --db "$DB"
kb_start "$DIR"

# a certificate whose OCSP answer the bridge has cached before the fault
kb_enroll dev1
# a key registered before the fault, to enroll while the server is away
new_key late p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/late.pub" --name late >/dev/null
ocsp_status() {
	local f="$OUT/q/ocsp-$1.txt"
	timeout 20 openssl ocsp -issuer "$DIR/ca/issuing.pem" -url "$KB_HTTP_URL/ocsp" \
	    -CAfile "$DIR/ca/root.pem" -timeout 10 -no_nonce \
	    -cert "$OUT/$2.pem" >"$f" 2>&1 || fail "openssl ocsp for $2: $(head -c 1000 "$f")"
	assert_contains "$(cat "$f")" "Response verify OK" "openssl ocsp for $2"
	awk -v n="$OUT/$2.pem: " 'index($0, n) == 1 { print substr($0, length(n) + 1); exit }' "$f"
}
assert_eq good "$(ocsp_status before dev1)" "OCSP for dev1 before the fault"

# ---- four clients, an admin account each ----------------------------------------
for c in $(seq "$CLIENTS"); do
	kb_ok account keygen --out "$OUT/keys/c$c.key" >/dev/null
	openssl pkey -in "$OUT/keys/c$c.key" -pubout -out "$OUT/keys/c$c.pub"
	kb_ok account create -d "$DIR" --remote --name "c$c" --pubkey "$OUT/keys/c$c.pub" --role admin >/dev/null
done
# client C: registers keys until OUT/stop exists; the key id of every
# acknowledged registration goes to OUT/q/acked-C, every refusal's line to
# OUT/q/refused-C.
client() {
	local c=$1 i=0 out
	while [ ! -e "$OUT/stop" ]; do
		i=$((i + 1))
		openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout >"$OUT/keys/c$c-k.pub"
		if out=$("$KEYBRIDGE" key register -d "$DIR" --remote --as "c$c" \
		    --account "$OUT/keys/c$c.key" --pubkey "$OUT/keys/c$c-k.pub" \
		    --name "c$c-$i" --json 2>"$OUT/q/err-$c"); then
			jq -r .key_id <<<"$out" >>"$OUT/q/acked-$c"
		else
			head -n1 "$OUT/q/err-$c" >>"$OUT/q/refused-$c"
			sleep 0.1
		fi
	done
}
for c in $(seq "$CLIENTS"); do
	: >"$OUT/q/acked-$c"
	: >"$OUT/q/refused-$c"
	client "$c" &
	kb_track $!
done
acked() {
	cat "$OUT"/q/acked-* | grep -c . || true
}
t0=$SECONDS
until [ "$(acked)" -ge 40 ]; do
	[ $((SECONDS - t0)) -lt 60 ] || fail "the clients got only $(acked) registrations in 60 s"
	sleep 0.1
done

# ---- SIGKILL the server in the middle of the appends ------------------------------
n_before=$(acked)
"$PGSH" kill "$PG"
log "PostgreSQL killed with SIGKILL after $n_before acknowledged registrations"
sleep 2
# writes are refused with 503 and Retry-After while it is away
new_key probe p256
kb_run key register -d "$DIR" --remote --pubkey "$OUT/keys/probe.pub" --name probe
assert_eq 1 "$KB_RC" "exit status of a registration with the server down"
assert_contains "$(cat "$KB_STDERR")" "HTTP 503" "a registration with the server down"
# The API's own answer: 503 with Retry-After and the stable code.
code=$(est_call GET /api/v1/keys)
assert_eq 503 "$code" "GET /api/v1/keys with the server down"
assert_eq 1 "$(est_header Retry-After)" "Retry-After of the API's 503"
assert_eq storage_error "$(jq -r .error.code "$API_BODY")" "error code of the API's 503"
# An enrollment needs the ledger too: 503 with Retry-After, no certificate.
code=$(est_call POST /.well-known/est/simpleenroll \
    -H 'Content-Type: application/pkcs10' --data-binary @"$(est_csr late late)")
assert_eq 503 "$code" "simpleenroll with the server down: $(head -c 300 "$API_BODY")"
assert_match "$(est_header Retry-After)" '^[0-9]+$' "Retry-After of the EST 503"
# OCSP answers from the bridge's cache
assert_eq good "$(ocsp_status down dev1)" "OCSP for dev1 with the server down"
n_down=$(acked)
sleep 1
assert_eq "$n_down" "$(acked)" "registrations acknowledged with the server down"

# ---- the server comes back: the bridge reconnects by itself ---------------------------
"$PGSH" start "$PG" >/dev/null || fail "scripts/pg.sh start (restart) failed"
log "PostgreSQL restarted"
t0=$SECONDS
until [ "$(acked)" -ge $((n_down + 40)) ]; do
	[ $((SECONDS - t0)) -lt 60 ] || fail "no progress after the restart: $(acked) acknowledged; last refusals: $(tail -q -n1 "$OUT"/q/refused-*)"
	sleep 0.1
done
log "the bridge took registrations again $((SECONDS - t0)) s after the restart"

# ---- connections cut with the server up: a transaction cut in the middle
# must not go on in a new session (its statements would commit one by one,
# outside any block); verify below would see such rows.
n_cut=$(acked)
for _ in $(seq 30); do
	psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	    WHERE application_name = 'keybridge' AND pid <> pg_backend_pid()" >/dev/null
	sleep 0.1
done
t0=$SECONDS
until [ "$(acked)" -ge $((n_cut + 20)) ]; do
	[ $((SECONDS - t0)) -lt 60 ] || fail "no progress after the cut connections: $(acked) acknowledged"
	sleep 0.1
done
log "connections cut 30 times: $((n_cut)) -> $(acked) acknowledged"
touch "$OUT/stop"
for c in $(seq "$CLIENTS"); do
	:
done
wait_clients() {
	local p
	for p in "${KB_PIDS[@]}"; do
		[ "$p" != "$KB_SERVE_PID" ] || continue
		kb_wait_gone "$p" 30 || fail "client $p did not stop"
		wait "$p" 2>/dev/null || true
		kb_untrack "$p"
	done
}
wait_clients
kb_stop

# ---- every acknowledged entry is there ------------------------------------------------------
total=$(acked)
missing=0
while read -r kid; do
	[ "$(psql_q "SELECT count(*) FROM keys WHERE key_id = '$kid'")" = 1 ] || {
		log "acknowledged but missing: $kid"
		missing=$((missing + 1))
	}
done < <(cat "$OUT"/q/acked-*)
assert_eq 0 "$missing" "acknowledged registrations missing from the database"
refused=$(cat "$OUT"/q/refused-* | grep -c . || true)
log "$total registrations acknowledged, $refused refused while the server was away, all present"
kb_ok ledger verify -d "$DIR" >/dev/null
assert_contains "$(cat "$KB_STDOUT")" "ledger OK" "ledger verify after the server's crash"
log "PASS: $(head -n1 "$KB_STDOUT")"
