#!/usr/bin/env bash
# The key process dies (docs/design.md "Processes"): `keybridge serve` is
# running with one enrolled certificate whose OCSP answer is cached; its
# key process (the only child of serve) is killed with SIGKILL.  At once:
# serve logs it; /metrics shows keybridge_keyproc_up 0 (1 before); an EST
# enrollment gets 503 with Retry-After and nothing is appended to the ledger; the cached OCSP GET still gets a good,
# verified answer.  Then serve stops by itself and exits non-zero within
# the grace (KEYPROC_DEATH_GRACE_SEC, 5 s) plus 10 s, for its supervisor to
# restart it; restarted, the same enrollment succeeds (the positive
# control: the 503 was the key process's absence, not the request).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
GRACE=5
EST=/.well-known/est

kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"
BASE="http://127.0.0.1:$KB_HTTP_PORT"

# ---- before: one certificate, its OCSP answer cached ------------------------------
kb_enroll dev1
openssl ocsp -issuer "$ISSUING" -cert "$OUT/dev1.pem" -no_nonce -reqout "$OUT/req.der" 2>/dev/null
ENC=$(base64 -w0 "$OUT/req.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
# check_good FILE WHAT: FILE is an OCSP answer for dev1, verified, good.
check_good() {
	local out
	out=$(openssl ocsp -respin "$1" -issuer "$ISSUING" -cert "$OUT/dev1.pem" -no_nonce \
	    -CAfile "$ROOT" -verify_other "$ISSUING" 2>&1) || fail "$2: the answer does not verify: $out"
	assert_contains "$out" "$OUT/dev1.pem: good" "$2"
}
code=$(curl -sS -o "$OUT/before.der" -w '%{http_code}' --max-time 10 "$BASE/ocsp/$ENC")
assert_eq 200 "$code" "OCSP GET before the kill"
check_good "$OUT/before.der" "OCSP GET before the kill"
# dev1 was not pre-signed at its enrollment (docs/design.md "EST18"): the
# first GET was signed live and queued the pre-signing; the cached answer
# follows within a moment, the same bytes from then on
deadline=$((SECONDS + 10))
until code=$(curl -sS -o "$OUT/before.der" -w '%{http_code}' --max-time 10 "$BASE/ocsp/$ENC") &&
    [ "$code" = 200 ] &&
    code=$(curl -sS -o "$OUT/before2.der" -w '%{http_code}' --max-time 10 "$BASE/ocsp/$ENC") &&
    cmp -s "$OUT/before.der" "$OUT/before2.der"; do
	[ "$SECONDS" -lt "$deadline" ] || fail "the OCSP answer is not cached (two GETs differ) 10 s after the first"
	sleep 0.1
done
check_good "$OUT/before.der" "OCSP GET before the kill, cached"

# A second key registered, its CSR ready: the enrollment to try.
new_key dev2 p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/dev2.pub" --name dev2 --json >/dev/null
CSR=$(est_csr dev2 dev2)

# ---- the key process: serve's only child -------------------------------------------
kids=$(cat "/proc/$KB_SERVE_PID/task/$KB_SERVE_PID/children")
read -ra KIDS <<<"$kids"
assert_eq 1 "${#KIDS[@]}" "children of keybridge serve (the key process): '$kids'"
KP=${KIDS[0]}
assert_contains "$(tr '\0' ' ' <"/proc/$KP/cmdline")" keybridge "the child's command line"
SERVE=$KB_SERVE_PID
# keyproc_up: the keybridge_keyproc_up gauge in /metrics
keyproc_up() {
	curl -sS --max-time 10 "$BASE/metrics" | awk '$1 == "keybridge_keyproc_up" { print $2 }'
}
assert_eq 1 "$(keyproc_up)" "keybridge_keyproc_up before the kill"
kill -KILL "$KP"
log "killed the key process (pid $KP) with SIGKILL"
t0=$(date +%s)

# ---- at once: EST 503 with Retry-After, nothing appended; OCSP from the cache -------------
before=$(kb_tree_size)
code=$(est_call POST "$EST/simpleenroll" -H 'Content-Type: application/pkcs10' --data-binary "@$CSR")
assert_eq 503 "$code" "EST enrollment with the key process gone (body: $(head -c 300 "$API_BODY"))"
ra=$(est_header Retry-After)
assert_match "$ra" '^[1-9][0-9]*$' "Retry-After of the 503"
assert_contains "$(cat "$API_BODY")" "key process" "the 503's reason"
assert_eq "$before" "$(kb_tree_size)" "tree_size after the refused enrollment"
code=$(curl -sS -o "$OUT/after.der" -w '%{http_code}' --max-time 10 "$BASE/ocsp/$ENC")
assert_eq 200 "$code" "OCSP GET with the key process gone"
check_good "$OUT/after.der" "OCSP GET with the key process gone"
cmp -s "$OUT/before.der" "$OUT/after.der" || fail "the OCSP answer after the kill is not the cached one"
grep -q "key process (pid $KP)" "$OUT/serve.log" || fail "serve did not log the key process's death: $(tail -n 5 "$OUT/serve.log")"
assert_eq 0 "$(keyproc_up)" "keybridge_keyproc_up with the key process gone"

# ---- then serve exits non-zero, for the supervisor ---------------------------------------
if ! kb_wait_gone "$SERVE" $((GRACE + 10)); then
	fail "keybridge serve still running $((GRACE + 10)) s after its key process died"
fi
rc=0
wait "$SERVE" || rc=$?
kb_untrack "$SERVE"
KB_SERVE_PID=""
took=$(($(date +%s) - t0))
[ "$rc" -ne 0 ] || fail "keybridge serve exited 0 after its key process died"
[ "$took" -ge $((GRACE - 1)) ] || fail "keybridge serve exited after $took s, before the grace of $GRACE s"
log "serve exited with status $rc $took s after the kill"
kb_check_sanitizers

# ---- restarted (the supervisor's part), the same enrollment succeeds ---------------------------
kb_start "$DIR"
est_enroll "$EST/simpleenroll" "$CSR" "$OUT/dev2.pem"
kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the restart"
log "key process death OK"
