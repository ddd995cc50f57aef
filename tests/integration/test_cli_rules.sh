#!/usr/bin/env bash
# The ledger's rules through the CLI's offline path (no bridge running: the
# CLI writes the data directory itself): a key registers once; a 2-of-3
# account needs two of its keys; only the registering account may revoke;
# a bridge-role account may not register keys; refusals append nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"

# check_index RECEIPT_JSON EXPECTED WHAT: the receipt's index must be EXPECTED
# (so nothing was appended by the refusals in between).
check_index() {
	local got
	got=$(jq -er '.index' <<<"$1") || fail "$3: receipt without an index: $1"
	assert_eq "$2" "$got" "$3: index"
}

# ---- --remote needs a running bridge ---------------------------------------------
new_device_key dev1 ed25519
kb_run key register -d "$DIR" --pubkey "$OUT/keys/dev1.pub" --name dev1 --remote --json
assert_eq 1 "$KB_RC" "exit status of key register --remote with no bridge running (stderr: $(cat "$KB_STDERR"))"
grep -Eq '^keybridge: [a-z_]+: .+' "$KB_STDERR" ||
	fail "key register --remote with no bridge: expected 'keybridge: <code>: <message>', got: $(cat "$KB_STDERR")"
log "--remote without a bridge refused: $(head -n 1 "$KB_STDERR")"

# ---- a key registers once --------------------------------------------------------------
r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/dev1.pub" --name dev1 --json)
I=$(jq -er '.index' <<<"$r")
assert_eq 2 "$I" "index of the first registration (genesis holds entries 0 and 1; the --remote attempt appended nothing)"
assert_eq "$(spki_key_id "$OUT/keys/dev1.pub")" "$(jq -r '.key_id' <<<"$r")" "key_id of dev1"
kb_fail key_already_registered key register -d "$DIR" --pubkey "$OUT/keys/dev1.pub" --name dev1-again
# an Ed25519 key is for devices only (issue 17): refused under server before the duplicate
kb_fail bad_key key register -d "$DIR" --pubkey "$OUT/keys/dev1.pub" --name dev1 --profile server

# ---- a 2-of-3 account ------------------------------------------------------------------
types=(ed25519 ec-p256 ed25519)
for n in 1 2 3; do
	kb_ok account keygen --out "$OUT/k$n.key" --type "${types[$((n - 1))]}" >/dev/null
	assert_file_mode "$OUT/k$n.key" 600
	openssl pkey -pubin -in "$OUT/k$n.key.pub" -noout ||
		fail "$OUT/k$n.key.pub is not a public key PEM"
done
sum=$(sha256sum <"$OUT/k1.key")
kb_run account keygen --out "$OUT/k1.key" --type ed25519
assert_eq 1 "$KB_RC" "account keygen over an existing key file (stderr: $(cat "$KB_STDERR"))"
assert_eq "$sum" "$(sha256sum <"$OUT/k1.key")" "k1.key after a refused keygen over it"

r=$(kb_ok account create -d "$DIR" --name ops --pubkey "$OUT/k1.key.pub" \
    --pubkey "$OUT/k2.key.pub" --pubkey "$OUT/k3.key.pub" --threshold 2 --role admin --json)
check_index "$r" $((I + 1)) "account create ops (after two refused duplicates)"
I=$((I + 1))
show=$(kb_ok account show -d "$DIR" --name ops)
assert_contains "$show" "ops" "account show --name ops"
list=$(kb_ok account list -d "$DIR")
for a in admin bridge ops; do
	assert_contains "$list" "$a" "account list"
done
kb_run account create -d "$DIR" --name ops --pubkey "$OUT/k1.key.pub" --role admin
assert_eq 1 "$KB_RC" "exit status of a second account create ops (stderr: $(cat "$KB_STDERR"))"
grep -Eq '^keybridge: [a-z_]+: .+' "$KB_STDERR" ||
	fail "second account create ops: expected 'keybridge: <code>: <message>', got: $(cat "$KB_STDERR")"

new_device_key ops-dev1 p256
new_device_key ops-dev2 ed25519
kb_fail threshold_not_met key register -d "$DIR" --as ops --account "$OUT/k1.key" \
    --pubkey "$OUT/keys/ops-dev1.pub" --name ops-dev1
kb_fail threshold_not_met key register -d "$DIR" --as ops --account "$OUT/k3.key" \
    --pubkey "$OUT/keys/ops-dev1.pub" --name ops-dev1
r=$(kb_ok key register -d "$DIR" --as ops --account "$OUT/k1.key" --account "$OUT/k2.key" \
    --pubkey "$OUT/keys/ops-dev1.pub" --name ops-dev1 --json)
check_index "$r" $((I + 1)) "key register by ops with k1+k2"
I=$((I + 1))
ops_kid=$(jq -r '.key_id' <<<"$r")
assert_eq "$(spki_key_id "$OUT/keys/ops-dev1.pub")" "$ops_kid" "key_id of ops-dev1"
r=$(kb_ok key register -d "$DIR" --as ops --account "$OUT/k2.key" --account "$OUT/k3.key" \
    --pubkey "$OUT/keys/ops-dev2.pub" --name ops-dev2 --json)
check_index "$r" $((I + 1)) "key register by ops with k2+k3"
I=$((I + 1))

# ---- only the owner revokes ---------------------------------------------------------------
kb_fail not_key_owner key revoke -d "$DIR" --key-id "$ops_kid" --reason keyCompromise
show=$(kb_ok key show -d "$DIR" --key-id "$ops_kid")
assert_contains "$show" "active" "key show of ops-dev1 after admin's refused revocation"
kb_fail threshold_not_met key revoke -d "$DIR" --as ops --account "$OUT/k2.key" \
    --key-id "$ops_kid" --reason keyCompromise
r=$(kb_ok key revoke -d "$DIR" --as ops --account "$OUT/k1.key" --account "$OUT/k3.key" \
    --key-id "$ops_kid" --reason keyCompromise --json)
check_index "$r" $((I + 1)) "key revoke by ops with k1+k3"
I=$((I + 1))
show=$(kb_ok key show -d "$DIR" --key-id "$ops_kid")
assert_contains "$show" "revoked" "key show of ops-dev1 after its revocation"
kb_fail key_revoked key revoke -d "$DIR" --as ops --account "$OUT/k1.key" --account "$OUT/k2.key" \
    --key-id "$ops_kid" --reason keyCompromise
kb_fail key_already_registered key register -d "$DIR" --pubkey "$OUT/keys/ops-dev1.pub" --name ops-dev1-again
kb_fail key_not_found key revoke -d "$DIR" --key-id "$(printf 'f%.0s' $(seq 64))"

# ---- a bridge-role account may not register keys --------------------------------------------
bkey=$(kb_conf_get "$DIR" bridge_key)
[ -n "$bkey" ] || fail "no bridge_key in keybridge.conf"
case "$bkey" in /*) ;; *) bkey="$DIR/$bkey" ;; esac
new_device_key by-bridge ed25519
kb_fail permission_denied key register -d "$DIR" --as bridge --account "$bkey" \
    --pubkey "$OUT/keys/by-bridge.pub" --name by-bridge

# ---- nothing refused was appended; the log replays ------------------------------------------
new_device_key last ed25519
r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/last.pub" --name last --json)
check_index "$r" $((I + 1)) "last registration (after the refusals)"
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the offline writes"
log "cli_rules OK"
