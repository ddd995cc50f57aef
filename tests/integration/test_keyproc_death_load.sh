#!/usr/bin/env bash
# The key process dies under load (docs/design.md "When the key process
# dies"): 60 EST enrollments are sent at once, in parallel, and the key
# process (serve's only child) is killed with SIGKILL as soon as the first
# is answered, while the others are in flight.  Every enrollment is answered, none hangs: 200 with a
# certificate that verifies (signed before the kill), or 503 with
# Retry-After; nothing else.  serve then exits non-zero, and restarted,
# `ledger verify` passes: whatever was committed before the kill is intact,
# and a certificate answered 200 is on the ledger.  The restart revokes
# each TBS committed and never signed (bridge/heal.c), and every key
# answered 503 enrolls again: 200, a certificate that verifies.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
N=60

kb_init "$DIR"
kb_start "$DIR"
for ((i = 0; i < N; i++)); do
	new_key "d$i" p256
	kb_ok key register -d "$DIR" --pubkey "$OUT/keys/d$i.pub" --name "d$i" --json >/dev/null
	est_csr "d$i" "d$i" >/dev/null
done

kids=$(cat "/proc/$KB_SERVE_PID/task/$KB_SERVE_PID/children")
read -ra KIDS <<<"$kids"
assert_eq 1 "${#KIDS[@]}" "children of keybridge serve (the key process): '$kids'"
KP=${KIDS[0]}
SERVE=$KB_SERVE_PID

# all N at once; the kill lands among them
mkdir -p "$OUT/ans"
pids=()
for ((i = 0; i < N; i++)); do
	curl -sS -o "$OUT/ans/$i.body" -D "$OUT/ans/$i.hdr" -w '%{http_code}' --max-time 30 \
	    --cacert "$DIR/ca/root.pem" -X POST -H 'Content-Type: application/pkcs10' \
	    --data-binary "@$OUT/csr/d$i.b64" "$KB_URL$EST/simpleenroll" >"$OUT/ans/$i.code" 2>"$OUT/ans/$i.err" &
	pids+=($!)
done
# the kill as soon as one enrollment is answered 200: the rest in flight
for ((t = 0; t < 500; t++)); do
	! grep -qs '^200$' "$OUT"/ans/*.code || break
	sleep 0.01
done
kill -KILL "$KP"
log "killed the key process (pid $KP) among $N enrollments in flight"
for p in "${pids[@]}"; do
	wait "$p" || true
done

ok=0 unavailable=0
for ((i = 0; i < N; i++)); do
	code=$(cat "$OUT/ans/$i.code")
	case "$code" in
	200)
		est_p7_certs "$OUT/ans/$i.body" "$OUT/ans/$i.pem"
		openssl verify -CAfile "$DIR/ca/root.pem" -untrusted "$DIR/ca/issuing.pem" \
		    "$OUT/ans/$i.pem" >/dev/null 2>&1 || fail "enrollment $i: a 200 whose certificate does not verify"
		ok=$((ok + 1)) ;;
	503)
		ra=$(tr -d '\r' <"$OUT/ans/$i.hdr" | awk -F': *' 'tolower($1) == "retry-after" { print $2 }')
		assert_match "$ra" '^[1-9][0-9]*$' "Retry-After of enrollment $i's 503"
		unavailable=$((unavailable + 1)) ;;
	*)
		fail "enrollment $i answered '$code' ($(cat "$OUT/ans/$i.err") $(head -c 200 "$OUT/ans/$i.body"))" ;;
	esac
done
log "$ok enrollments answered 200, $unavailable answered 503"
[ "$ok" -gt 0 ] || fail "no enrollment was signed before the kill: the mix is not tested"
[ "$unavailable" -gt 0 ] || fail "no enrollment met the dead key process: the kill came too late to test anything"

rc=0
wait "$SERVE" || rc=$?
kb_untrack "$SERVE"
KB_SERVE_PID=""
[ "$rc" -ne 0 ] || fail "keybridge serve exited 0 after its key process died"
kb_check_sanitizers

# The 503s whose TBS the ledger committed before the kill: current, and
# no certificate kept (nobody has one).  The restart heals them.
DB=$(kb_conf_path "$DIR" db)
unsigned=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM certs c LEFT JOIN certs_signed s
    ON s.serial = c.serial WHERE c.revoked = 0 AND c.cert_sha256 = '' AND s.serial IS NULL")
log "$unsigned TBS entries committed and never signed before the restart"

# restarted: the ledger is whole, every 200's certificate is on it and
# good, and every key answered 503 enrolls again
kb_start "$DIR"
healed=$(grep -c "heal: revoked certificate" "$OUT/serve.log" || true)
assert_eq "$unsigned" "$healed" "TBS entries the restart's heal revoked"
for ((i = 0; i < N; i++)); do
	[ -f "$OUT/ans/$i.pem" ] || continue
	serial=$(cert_serial_hex "$OUT/ans/$i.pem")
	c=$(curl -sS --max-time 10 --cacert "$DIR/ca/root.pem" "$KB_URL/api/v1/certs/$serial")
	assert_eq good "$(jq -r .status <<<"$c")" "certificate $serial (answered 200 before the kill) on the ledger ($c)"
done
again=0
for ((i = 0; i < N; i++)); do
	[ "$(cat "$OUT/ans/$i.code")" = 503 ] || continue
	est_enroll "$EST/simpleenroll" "$OUT/csr/d$i.b64" "$OUT/again$i.pem" >/dev/null
	openssl verify -CAfile "$DIR/ca/root.pem" -untrusted "$DIR/ca/issuing.pem" \
	    "$OUT/again$i.pem" >/dev/null 2>&1 || fail "d$i's certificate after the restart does not verify"
	assert_eq "$(spki_key_id "$OUT/keys/d$i.pub")" "$(cert_key_id "$OUT/again$i.pem")" "key of d$i's certificate after the restart"
	again=$((again + 1))
done
log "$again keys answered 503 before the kill enrolled again after the restart"
kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the restart"
log "key process death under load OK"
