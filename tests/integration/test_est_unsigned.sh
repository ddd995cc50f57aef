#!/usr/bin/env bash
# The CA signs only what the ledger committed, and a committed TBS it does
# not sign does not stay current.  With a checkpoint verifier key that is
# not the node's (the validator_vkey of another ledger), the signer refuses
# every checkpoint: the enrollment is answered 500 with the reason and no
# certificate, the refusal is logged with its check and counted in
# /metrics (keybridge_keyproc_refusals_total{op="sign_cert"}, 0 before); the cert-issued entry of its TBS is on the ledger, and the
# bridge revokes it (cert-revoked, cessationOfOperation) so that, once the
# configuration is right again, the same key enrolls (no
# current_cert_exists).  `ledger verify` replays it all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est

kb_init "$OUT/other"
OTHER_VKEY=$(kb_conf_get "$OUT/other" validator_vkey)
kb_init "$DIR"
GOOD_VKEY=$(kb_conf_get "$DIR" validator_vkey)
assert_ne "$GOOD_VKEY" "$OTHER_VKEY" "verifier keys of two ledgers"

kb_start "$DIR"
new_key dev p256
r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/dev.pub" --name dev --json)
KID=$(jq -er .key_id <<<"$r") || fail "key register --json printed no key_id: $r"
kb_stop

# ---- a signer that trusts another ledger's checkpoints -------------------------
kb_conf_set "$DIR" validator_vkey "$OTHER_VKEY"
kb_start "$DIR"
# refusals_total SCRAPE: the key process's SIGN_CERT refusals in /metrics
refusals_total() {
	curl -sS --max-time 10 "$KB_HTTP_URL/metrics" >"$OUT/metrics-$1.txt" ||
		fail "GET /metrics ($1)"
	awk '$1 == "keybridge_keyproc_refusals_total{op=\"sign_cert\"}" { v = $2 }
	    END { print (v == "" ? "absent" : v) }' "$OUT/metrics-$1.txt"
}
assert_eq 0 "$(refusals_total before)" "sign_cert refusals in /metrics before the enrollment"
assert_eq 1 "$(awk '$1 == "keybridge_keyproc_up" { print $2 }' "$OUT/metrics-before.txt")" "keybridge_keyproc_up"
csr=$(est_csr dev dev)
code=$(est_call POST "$EST/simpleenroll" -H 'Content-Type: application/pkcs10' \
    --data-binary "@$csr")
assert_eq 500 "$code" "simpleenroll with a signer that refuses the checkpoint ($(head -c 300 "$API_BODY"))"
assert_contains "$(cat "$API_BODY")" "checkpoint: the checkpoint is not signed by" "reason of the 500"
assert_not_contains "$(cat "$API_BODY")" "MII" "a certificate in the 500"
grep -q "the CA refused the committed TBS" "$OUT/serve.log" || fail "no refusal logged in serve.log"
grep -q "the key process refused sign_cert: admit: checkpoint: the checkpoint is not signed by" "$OUT/serve.log" ||
	fail "the key process's refusal is not logged with its check in serve.log"
n=$(refusals_total after)
[ "$n" != absent ] && [ "$n" -ge 1 ] || fail "sign_cert refusals in /metrics after the refused enrollment: $n"

# the TBS is on the ledger, and revoked by the bridge soon after
for ((i = 0; i < 50; i++)); do
	kb_entries_from 0 "$OUT/entries.json"
	revoked=$(jq -r '[.[] | select(.type == "cert-revoked")] | length' "$OUT/entries.json")
	[ "$revoked" = 0 ] || break
	sleep 0.1
done
issued=$(kb_entries_with "$OUT/entries.json" cert-issued "key-id $KID")
assert_eq 1 "$(grep -c . <<<"$issued" || true)" "cert-issued entries of the unsigned TBS"
serial=$(jq -r --argjson i "$issued" '.[] | select(.index == $i) | .entry' "$OUT/entries.json" |
    sed -n 's/^serial //p')
assert_match "$(jq -r --argjson i "$issued" '.[] | select(.index == $i) | .entry' "$OUT/entries.json")" \
    $'\ntbs [A-Za-z0-9+/=]+\n' "tbs of the unsigned entry"
assert_eq 1 "$(kb_entries_with "$OUT/entries.json" cert-revoked "serial $serial" \
    "reason cessationOfOperation" | grep -c . || true)" "cert-revoked entry of the unsigned TBS $serial"
api GET "/api/v1/certs/$serial" >/dev/null
assert_eq revoked "$(jq -r .status "$API_BODY")" "status of the unsigned TBS $serial"
code=$(api_call GET "/api/v1/certs/$serial?format=pem")
assert_eq 404 "$code" "PEM of the unsigned TBS $serial"
kb_stop

# ---- the right verifier key: the same key enrolls ---------------------------------
kb_conf_set "$DIR" validator_vkey "$GOOD_VKEY"
kb_start "$DIR"
est_enroll "$EST/simpleenroll" "$csr" "$OUT/dev.pem"
out=$(openssl verify -CAfile "$DIR/ca/root.pem" -untrusted "$DIR/ca/issuing.pem" "$OUT/dev.pem" 2>&1) ||
	fail "verify dev.pem: $out"
kb_entries_from 0 "$OUT/entries.json"
assert_eq 1 "$(kb_entries_with "$OUT/entries.json" cert-issued "key-id $KID" \
    "tbs $(cert_tbs_b64 "$OUT/dev.pem")" | grep -c . || true)" "cert-issued entry of dev.pem's TBS"
kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_contains "$out" "ledger OK" "ledger verify"
assert_contains "$out" "1 kept certificate: each its entry's TBS, signed by the issuing CA" "kept certificates verified"
log "an unsigned TBS is revoked and the key enrolls again"
