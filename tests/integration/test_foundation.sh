#!/usr/bin/env bash
# The foundation end to end: init, serve, register 100 device keys through the
# CLI while the bridge runs, revoke one, refuse duplicates (also after the
# revocation), check an entry against a signed checkpoint with an independent
# verifier (verify_proof.py), then let `ledger verify` catch a tampered entry
# (SQL-level and byte-level) and a truncated database without crashing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
NKEYS=100

# ---- init ------------------------------------------------------------------
kb_init "$DIR"
for f in keybridge.conf ledger.db admin.key ca/root.pem ca/issuing.pem tls/server.pem; do
	[ -s "$DIR/$f" ] || fail "init did not create $DIR/$f"
done
assert_file_mode "$DIR/admin.key" 600
openssl x509 -in "$DIR/ca/root.pem" -noout ||
	fail "ca/root.pem is not a PEM certificate"
openssl verify -CAfile "$DIR/ca/root.pem" "$DIR/ca/issuing.pem" >/dev/null ||
	fail "ca/issuing.pem does not verify against ca/root.pem"
vkey=$(kb_conf_get "$DIR" validator_vkey)
assert_match "$vkey" '^[^+ ]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$' "validator_vkey in keybridge.conf"

out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify right after init"

# ---- serve, genesis -----------------------------------------------------------
kb_start "$DIR"
status=$(api GET /api/v1/status)
jq -e 'type == "object"' <<<"$status" >/dev/null || fail "status is not a JSON object: $status"

api GET "/api/v1/ledger/entries?from=0&limit=2" >"$OUT/genesis.json"
assert_eq 2 "$(jq -r '.entries | length' "$OUT/genesis.json")" "genesis entries returned"
assert_eq "0 1" "$(jq -r '[.entries[].index] | map(tostring) | join(" ")' "$OUT/genesis.json")" "genesis indexes"
assert_contains "$(jq -r '.entries[0].entry' "$OUT/genesis.json")" "admin" "entry 0 (creates account admin)"
assert_contains "$(jq -r '.entries[1].entry' "$OUT/genesis.json")" "bridge" "entry 1 (creates account bridge)"
assert_eq "account-create account-create" "$(jq -r '[.entries[].type] | join(" ")' "$OUT/genesis.json")" "types of genesis entries 0 and 1"
assert_eq admin "$(jq -r '.entries[0].account' "$OUT/genesis.json")" "account of genesis entry 0"
size0=$(jq -r '.tree_size' "$OUT/genesis.json")
log "tree size before registering: $size0"

# ---- register 100 keys through the running bridge --------------------------------
: >"$OUT/registered.txt"
prev=$((size0 - 1))
for i in $(seq 0 $((NKEYS - 1))); do
	name=$(printf 'cam-%03d' "$i")
	if [ $((i % 2)) -eq 0 ]; then type=ed25519; else type=p256; fi
	new_device_key "$name" "$type"
	r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$name.pub" --name "$name" --json)
	idx=$(jq -er '.index' <<<"$r") || fail "receipt of $name has no index: $r"
	kid=$(jq -er '.key_id' <<<"$r") || fail "receipt of $name has no key_id: $r"
	lh=$(jq -er '.leaf_hash' <<<"$r") || fail "receipt of $name has no leaf_hash: $r"
	ts=$(jq -er '.tree_size' <<<"$r") || fail "receipt of $name has no tree_size: $r"
	jq -e '.checkpoint | type == "string" and length > 0' <<<"$r" >/dev/null ||
		fail "receipt of $name has no checkpoint: $r"
	assert_eq $((prev + 1)) "$idx" "index of the registration of $name"
	assert_eq "$(spki_key_id "$OUT/keys/$name.pub")" "$kid" "key_id of $name (SHA-256 of its SPKI)"
	assert_match "$lh" '^[0-9a-f]{64}$' "leaf_hash of $name"
	[ "$ts" -gt "$idx" ] || fail "receipt of $name: tree_size $ts does not include index $idx"
	printf '%s\n' "$r" >"$OUT/receipt-$name.json"
	echo "$name $idx $kid" >>"$OUT/registered.txt"
	prev=$idx
done
log "registered $NKEYS keys, indexes $((size0)) to $prev"

key_of() { awk -v n="$1" '$1 == n { print $3 }' "$OUT/registered.txt"; }
index_of() { awk -v n="$1" '$1 == n { print $2 }' "$OUT/registered.txt"; }
ids_in() { grep -oE '\b[0-9a-f]{64}\b' | sort -u; }

all_ids=$(awk '{ print $3 }' "$OUT/registered.txt" | sort -u)
assert_eq "$NKEYS" "$(wc -l <<<"$all_ids")" "distinct key ids registered"
listed=$(kb_ok key list -d "$DIR" | ids_in)
assert_eq "$NKEYS" "$(grep -c . <<<"$listed" || true)" "key ids in 'key list'"
[ "$all_ids" = "$listed" ] ||
	fail "key ids in 'key list' differ from those registered: $(diff <(echo "$all_ids") <(echo "$listed") | head -n 20)"

# ---- revoke one ----------------------------------------------------------------
rev_name=cam-013
rev_kid=$(key_of $rev_name)
act_name=cam-000
act_kid=$(key_of $act_name)
r=$(kb_ok key revoke -d "$DIR" --key-id "$rev_kid" --reason keyCompromise --json)
printf '%s\n' "$r" >"$OUT/receipt-revoke.json"
R=$(jq -er '.index' <<<"$r")
assert_eq $((prev + 1)) "$R" "index of the revocation"
rev_leaf=$(jq -er '.leaf_hash' <<<"$r")

show=$(kb_ok key show -d "$DIR" --key-id "$rev_kid")
assert_contains "$show" "revoked" "key show of the revoked key"
assert_contains "$show" "$rev_kid" "key show of the revoked key"
show=$(kb_ok key show -d "$DIR" --key-id "$act_kid")
assert_contains "$show" "active" "key show of an active key"

k=$(api GET "/api/v1/keys/$rev_kid")
assert_eq revoked "$(jq -r '.status' <<<"$k")" "API status of the revoked key"
assert_eq "$rev_kid" "$(jq -r '.key_id' <<<"$k")" "API key_id of the revoked key"
assert_eq "$rev_name" "$(jq -r '.name' <<<"$k")" "API name of the revoked key"
k=$(api GET "/api/v1/keys/$act_kid")
assert_eq active "$(jq -r '.status' <<<"$k")" "API status of an active key"

revoked_ids=$(kb_ok key list -d "$DIR" --status revoked | ids_in)
assert_eq "$rev_kid" "$revoked_ids" "key list --status revoked"
active_ids=$(kb_ok key list -d "$DIR" --status active | ids_in)
assert_eq $((NKEYS - 1)) "$(grep -c . <<<"$active_ids" || true)" "key list --status active count"
assert_not_contains "$active_ids" "$rev_kid" "key list --status active"

# ---- a key registers once, ever -----------------------------------------------------
kb_fail key_already_registered key register -d "$DIR" --pubkey "$OUT/keys/$act_name.pub" --name cam-dup-active
kb_fail key_already_registered key register -d "$DIR" --pubkey "$OUT/keys/$rev_name.pub" --name cam-dup-revoked

# ---- independent proof of the revocation entry ------------------------------------------
api GET "/api/v1/ledger/entries?from=$R&limit=1" >"$OUT/entry-R.json"
assert_eq 1 "$(jq -r '.entries | length' "$OUT/entry-R.json")" "entries returned for from=$R&limit=1"
assert_eq "$R" "$(jq -r '.entries[0].index' "$OUT/entry-R.json")" "index of the revocation entry"
assert_eq "$rev_leaf" "$(jq -r '.entries[0].leaf_hash' "$OUT/entry-R.json")" "leaf_hash of the revocation entry vs its receipt"
assert_eq admin "$(jq -r '.entries[0].account' "$OUT/entry-R.json")" "account of the revocation entry"
assert_eq key-revoke "$(jq -r '.entries[0].type' "$OUT/entry-R.json")" "type of the revocation entry"
jq -j '.entries[0].entry' "$OUT/entry-R.json" >"$OUT/entry-R.txt"
assert_contains "$(cat "$OUT/entry-R.txt")" "$rev_kid" "text of the revocation entry"
assert_eq "$rev_leaf" "$(python3 "$VERIFY_PROOF" leaf-hash "$OUT/entry-R.txt")" "SHA-256(0x00||entry) computed independently"

api GET /api/v1/ledger/checkpoint >"$OUT/checkpoint.json"
S=$(jq -er '.tree_size' "$OUT/checkpoint.json")
assert_eq $((R + 1)) "$S" "tree size after the refused duplicates (nothing appended)"
jq -j '.checkpoint' "$OUT/checkpoint.json" >"$OUT/checkpoint.txt"
assert_eq "$S" "$(sed -n 2p "$OUT/checkpoint.txt")" "tree size in the checkpoint note"
root_hex=$(sed -n 3p "$OUT/checkpoint.txt" | base64 -d | od -An -tx1 -v | tr -d ' \n')
assert_eq "$root_hex" "$(jq -r '.root_hash' "$OUT/checkpoint.json")" "root_hash vs the root in the checkpoint note"

api GET "/api/v1/ledger/proof/inclusion?index=$R&size=$S" >"$OUT/proof-R.json"
out=$(python3 "$VERIFY_PROOF" inclusion --entry "$OUT/entry-R.txt" --index "$R" \
    --proof "$OUT/proof-R.json" --checkpoint "$OUT/checkpoint.txt" \
    --conf "$DIR/keybridge.conf" --leaf-hash "$rev_leaf") ||
	fail "independent inclusion check of entry $R: $out"
log "$out"

# The receipt's own checkpoint proves the entry too.
jq -j '.checkpoint' "$OUT/receipt-revoke.json" >"$OUT/receipt-checkpoint.txt"
RS=$(jq -r '.tree_size' "$OUT/receipt-revoke.json")
api GET "/api/v1/ledger/proof/inclusion?index=$R&size=$RS" >"$OUT/proof-R-receipt.json"
out=$(python3 "$VERIFY_PROOF" inclusion --entry "$OUT/entry-R.txt" --index "$R" \
    --proof "$OUT/proof-R-receipt.json" --checkpoint "$OUT/receipt-checkpoint.txt" \
    --conf "$DIR/keybridge.conf") ||
	fail "inclusion of entry $R in its receipt's checkpoint: $out"

# Negative controls: the verifier must be able to say no.
# (the revoked key id with every hex digit shifted by one)
sed "s/$rev_kid/$(tr '0-9a-f' '1-9a-f0' <<<"$rev_kid")/" "$OUT/entry-R.txt" >"$OUT/entry-R-tampered.txt"
! cmp -s "$OUT/entry-R.txt" "$OUT/entry-R-tampered.txt" || fail "could not tamper with entry $R"
if out=$(python3 "$VERIFY_PROOF" inclusion --entry "$OUT/entry-R-tampered.txt" \
    --index "$R" --proof "$OUT/proof-R.json" --checkpoint "$OUT/checkpoint.txt" \
    --conf "$DIR/keybridge.conf"); then
	fail "verify_proof accepted a tampered entry: $out"
fi
api GET "/api/v1/ledger/proof/inclusion?index=$((R - 1))&size=$S" >"$OUT/proof-R-1.json"
if out=$(python3 "$VERIFY_PROOF" inclusion --entry "$OUT/entry-R.txt" \
    --index $((R - 1)) --proof "$OUT/proof-R-1.json" --checkpoint "$OUT/checkpoint.txt" \
    --conf "$DIR/keybridge.conf"); then
	fail "verify_proof accepted entry $R as entry $((R - 1)): $out"
fi
awk 'NR == 3 { $0 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" } { print }' \
    "$OUT/checkpoint.txt" >"$OUT/checkpoint-tampered.txt"
if out=$(python3 "$VERIFY_PROOF" inclusion --entry "$OUT/entry-R.txt" --index "$R" \
    --proof "$OUT/proof-R.json" --checkpoint "$OUT/checkpoint-tampered.txt" \
    --conf "$DIR/keybridge.conf"); then
	fail "verify_proof accepted a checkpoint with a forged root: $out"
fi
log "verify_proof rejects a tampered entry, a wrong index and a forged checkpoint"

# The first registration's checkpoint is a prefix of the latest one.
jq -j '.checkpoint' "$OUT/receipt-cam-000.json" >"$OUT/checkpoint-old.txt"
M=$(jq -r '.tree_size' "$OUT/receipt-cam-000.json")
api GET "/api/v1/ledger/proof/consistency?from=$M&to=$S" >"$OUT/consistency.json"
out=$(python3 "$VERIFY_PROOF" consistency --old "$OUT/checkpoint-old.txt" \
    --new "$OUT/checkpoint.txt" --proof "$OUT/consistency.json" \
    --conf "$DIR/keybridge.conf") ||
	fail "independent consistency check $M -> $S: $out"
log "$out"

# ---- ledger verify, running and stopped --------------------------------------------------
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify while the bridge runs"
kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the bridge stopped"

out=$(kb_ok ledger checkpoint -d "$DIR")
assert_contains "$out" "$(sed -n 3p "$OUT/checkpoint.txt")" "ledger checkpoint (root of the latest checkpoint)"
out=$(kb_ok ledger log -d "$DIR" --from "$R" --limit 1)
assert_eq 1 "$(grep -c . <<<"$out")" "lines of ledger log --from $R --limit 1 (output: $out)"
assert_match "$out" "^ *$R .*key-revoke .*admin" "ledger log --from $R --limit 1"

# ---- tampering: verify must name the broken entry -------------------------------------------
DB="$DIR/ledger.db"
if [ -s "$DB-wal" ]; then
	sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
fi
# copy_dir SRC DST: a data directory copy whose config points at itself.
copy_dir() {
	cp -a "$1" "$2"
	sed -i "s#$1\\(/\\|\$\\)#$2\\1#g" "$2/keybridge.conf"
}
copy_dir "$DIR" "$OUT/data-bytes"
copy_dir "$DIR" "$OUT/data-trunc"
out=$(kb_ok ledger verify -d "$OUT/data-bytes")
assert_match "$out" '^ledger OK:' "ledger verify of an untouched copy (control)"

# expect_broken DIR INDEX: verify exits 1 and names "entry INDEX".
expect_broken() {
	kb_run ledger verify -d "$1"
	out="$(cat "$KB_STDOUT" "$KB_STDERR")"
	assert_eq 1 "$KB_RC" "exit status of ledger verify on $1 (output: $out)"
	assert_match "$out" "entry $2([^0-9]|\$)" "ledger verify on $1 names the broken entry"
	assert_not_contains "$out" "ledger OK" "ledger verify on $1"
	log "ledger verify caught entry $2: $(head -n 3 <<<"$out")"
}

# SQL-level: one entry's text changed in place.
K=$(index_of cam-042)
n=$(sqlite3 "$DB" "UPDATE entries SET data = replace(data, 'cam-042', 'cam-666') WHERE idx = $K; SELECT changes();")
assert_eq 1 "$n" "rows changed by the UPDATE of entry $K"
n=$(sqlite3 "$DB" "SELECT count(*) FROM entries WHERE idx = $K AND instr(CAST(data AS TEXT), 'cam-666') > 0;")
assert_eq 1 "$n" "entry $K really holds the tampered name"
expect_broken "$DIR" "$K"

# Byte-level: flip one byte of a device name inside the entry text of a copy
# (occurrences followed by the entry's newline; the registry table also holds
# the name, without one).
BDB="$OUT/data-bytes/ledger.db"
K2=$(index_of cam-077)
flipped=0
# shellcheck disable=SC2013 # offsets are single words
for off in $(grep -obUa 'cam-077' "$BDB" | cut -d: -f1); do
	next=$(dd if="$BDB" bs=1 skip=$((off + 7)) count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
	if [ "$next" = "0a" ]; then
		printf 'X' | dd of="$BDB" bs=1 seek=$((off + 4)) conv=notrunc 2>/dev/null
		flipped=$((flipped + 1))
	fi
done
[ "$flipped" -ge 1 ] ||
	fail "found no 'cam-077\\n' in the raw bytes of $BDB (offsets: $(grep -obUa 'cam-077' "$BDB" | cut -d: -f1 | paste -sd' '))"
log "flipped $flipped raw occurrence(s) of cam-077 to cam-X77"
expect_broken "$OUT/data-bytes" "$K2"

# Truncated database: a clear refusal with status 1, never a crash.
TDB="$OUT/data-trunc/ledger.db"
half=$(($(stat -c %s "$TDB") / 2))
truncate -s "$half" "$TDB"
kb_run ledger verify -d "$OUT/data-trunc"
out="$(cat "$KB_STDOUT" "$KB_STDERR")"
assert_eq 1 "$KB_RC" "exit status of ledger verify on a database truncated to $half bytes (output: $out)"
[ -n "$out" ] || fail "ledger verify on a truncated database printed nothing"
assert_not_contains "$out" "ledger OK" "ledger verify on a truncated database"
log "truncated database refused: $(head -n 2 <<<"$out")"

log "foundation OK"
