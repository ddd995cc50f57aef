#!/usr/bin/env bash
# test_backup.sh: `keybridge backup` and `restore` (issue 17,
# docs/operations.md "Backup and restore").
#
# A bridge serves while bench_entries appends entries through its API; a
# backup is taken in the middle of that load (the ledger through SQLite's
# online backup API), then restored into a new directory: the restore's
# own verify and `keybridge ledger verify` say OK, the restored tree is at
# least the size read before the backup began, and `serve` on the
# restored directory (other ports) answers its status and OCSP for a
# certificate enrolled before the backup ("good").  The negative
# controls: an archive with one flipped byte in a file (manifest hash
# mismatch), a non-empty target, an archive with a file its manifest
# does not list, and one whose keyproc.state promises more than its
# ledger are all refused, and nothing is left behind; --with-keys writes
# a 0600 archive and says it holds private keys; without it no key is in
# the archive.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

D="$OUT/data"
ENTRIES_BIN=${BENCH_ENTRIES:-"$(dirname "$KEYBRIDGE")/bench/bench_entries"}
[ -x "$ENTRIES_BIN" ] || fail "$ENTRIES_BIN is missing: make integration builds it"

kb_init "$D"
kb_start "$D"

# ---- what the backup must carry: a certificate, a published file ----------------
kb_enroll dev1
printf 'firmware 1.0 for the backup test\n' >"$OUT/fw.bin"
kb_ok config publish -d "$D" --group cams --file "$OUT/fw.bin" --version 1.0 >/dev/null
FW_SHA=$(sha256sum "$OUT/fw.bin" | cut -d' ' -f1)

# ---- a backup while entries are appended ---------------------------------------------
"$ENTRIES_BIN" "$D" 2 400 >"$OUT/entries.txt" 2>&1 &
LOAD=$!
kb_track "$LOAD"
start=$(kb_tree_size)
deadline=$((SECONDS + 20))
until [ "$(kb_tree_size)" -ge $((start + 50)) ]; do
	kill -0 "$LOAD" 2>/dev/null || fail "bench_entries ended before the backup: $(tail -n 4 "$OUT/entries.txt")"
	[ "$SECONDS" -lt "$deadline" ] || fail "the ledger did not grow under bench_entries"
	sleep 0.05
done
BEFORE=$(kb_tree_size)
kb_ok backup -d "$D" -o "$OUT/full.tar" --with-keys --progress >/dev/null
AFTER=$(kb_tree_size)
kill -0 "$LOAD" 2>/dev/null || fail "the load ended before the backup did: not a backup under load"
assert_contains "$(cat "$KB_STDERR")" "holds private keys" "backup --with-keys on stderr"
assert_contains "$(cat "$KB_STDERR")" "ledger pages copied" "backup --progress on stderr"
assert_file_mode "$OUT/full.tar" 600
log "backup under load: tree size $BEFORE before, $AFTER after"
kb_ok backup -d "$D" -o "$OUT/nokeys.tar" >/dev/null
assert_contains "$(cat "$KB_STDERR")" "private keys left out" "backup without --with-keys on stderr"
kb_fail exists backup -d "$D" -o "$OUT/full.tar"
rc=0
wait "$LOAD" || rc=$?
kb_untrack "$LOAD"
assert_eq 0 "$rc" "bench_entries exit status: $(tail -n 4 "$OUT/entries.txt")"
kb_stop

# the manifest: the ledger's tree and root, the promise never past it
tar -xOf "$OUT/full.tar" ./manifest.json >"$OUT/manifest.json"
SIZE=$(jq -er '.ledger.tree_size' "$OUT/manifest.json")
[ "$SIZE" -ge "$BEFORE" ] || fail "the backup's tree size $SIZE is below $BEFORE, read before it began"
PROMISE=$(jq -er '.promise.tree_size' "$OUT/manifest.json")
[ "$PROMISE" -le "$SIZE" ] || fail "the backup's keyproc.state promises $PROMISE, past its ledger's $SIZE"
for f in keybridge.conf ledger.db ca/root.pem ca/issuing.pem tls/server.pem keyproc.state \
    node.key ca/issuing.key "blobs/$FW_SHA"; do
	jq -e --arg p "$f" '.files[] | select(.path == $p) | .sha256 | test("^[0-9a-f]{64}$")' \
	    "$OUT/manifest.json" >/dev/null || fail "$f is not in the manifest of full.tar"
done
if tar -tf "$OUT/nokeys.tar" | grep -E '\.key$'; then
	fail "nokeys.tar holds a key file"
fi
for f in node.key bridge.key ca/issuing.key ca/ocsp.key tls/server.key; do
	tar -xOf "$OUT/nokeys.tar" ./manifest.json | jq -e --arg p "$f" '.keys_left_out | index($p)' \
	    >/dev/null || fail "$f is not in nokeys.tar's keys_left_out"
done

# ---- restore: verified, at least the size read before the backup ------------------
R="$OUT/restored"
out=$(kb_ok restore -i "$OUT/full.tar" -d "$R")
assert_contains "$out" "ledger OK" "restore's verify"
assert_contains "$out" "restore: $R: ledger OK at tree size $SIZE, root $(jq -r .ledger.root "$OUT/manifest.json")" "restore's tree size and root"
assert_contains "$(cat "$KB_STDERR")" "the node's promise" "restore's word on the node's promise"
for f in ledger.db keybridge.conf node.key bridge.key ca/issuing.key ca/ocsp.key tls/server.key keyproc.state; do
	assert_file_mode "$R/$f" 600
done
assert_file_mode "$R/ca/root.pem" 644
assert_file_mode "$R/checkpoint.trusted" 644
assert_file_mode "$R/ca" 700
assert_file_mode "$R/blobs" 755
[ ! -e "$R/manifest.json" ] || fail "restore left manifest.json in $R"
out=$(kb_ok ledger verify -d "$R")
assert_contains "$out" "ledger OK" "ledger verify of the restored directory"
assert_contains "$out" "1 published file" "ledger verify: the published file's bytes restored"

# ---- serve from it, on other ports ------------------------------------------------------
ports=$(kb_free_ports 2)
kb_conf_set "$R" est_listen "127.0.0.1:${ports% *}"
kb_conf_set "$R" http_listen "127.0.0.1:${ports#* }"
kb_start "$R"
st=$(api GET /api/v1/status)
[ "$(jq -er .tree_size <<<"$st")" -ge "$SIZE" ] || fail "the restored bridge's status: $st"
timeout 20 openssl ocsp -issuer "$R/ca/issuing.pem" -cert "$OUT/dev1.pem" -CAfile "$R/ca/root.pem" \
    -url "http://127.0.0.1:${ports#* }/ocsp" >"$OUT/ocsp.txt" 2>&1 || fail "openssl ocsp: $(cat "$OUT/ocsp.txt")"
assert_contains "$(cat "$OUT/ocsp.txt")" "$OUT/dev1.pem: good" "OCSP for dev1 from the restored bridge"
assert_contains "$(cat "$OUT/ocsp.txt")" "Response verify OK" "OCSP for dev1 from the restored bridge"
kb_stop
log "the restored bridge answered: status, OCSP good for a certificate of before the backup"

# ---- fenced by a later checkpoint of the node: reads yes, writes no --------------------
kb_ok ledger checkpoint -d "$D" >"$OUT/latest.cp"
LATEST=$(sed -n 2p "$OUT/latest.cp")
[ "$LATEST" -gt "$SIZE" ] || fail "the load did not go on past the backup ($LATEST <= $SIZE)"
kb_fail checkpoint restore -i "$OUT/full.tar" -d "$OUT/r-badcp" --checkpoint "$OUT/dev1.pem"
[ ! -e "$OUT/r-badcp" ] || fail "restore with a bad --checkpoint made $OUT/r-badcp"
# a checkpoint of another node (same origin, another node key)
kb_ok init "$OUT/other" --est-listen 127.0.0.1:1 --http-listen 127.0.0.1:2 >/dev/null
kb_ok ledger checkpoint -d "$OUT/other" >"$OUT/other.cp"
kb_fail checkpoint restore -i "$OUT/full.tar" -d "$OUT/r-badcp" --checkpoint "$OUT/other.cp"
assert_contains "$(cat "$KB_STDERR")" "signed by its node key" "restore --checkpoint of another node"
[ ! -e "$OUT/r-badcp" ] || fail "restore with another node's --checkpoint made $OUT/r-badcp"
F="$OUT/fenced"
kb_ok restore -i "$OUT/full.tar" -d "$F" --checkpoint "$OUT/latest.cp" >/dev/null
assert_contains "$(cat "$KB_STDERR")" "fenced: $OUT/latest.cp (tree size $LATEST)" "restore --checkpoint past the backup"
ports=$(kb_free_ports 2)
kb_conf_set "$F" est_listen "127.0.0.1:${ports% *}"
kb_conf_set "$F" public_https_url "https://127.0.0.1:${ports% *}"
kb_conf_set "$F" http_listen "127.0.0.1:${ports#* }"
kb_start "$F"
timeout 20 openssl ocsp -issuer "$F/ca/issuing.pem" -cert "$OUT/dev1.pem" -CAfile "$F/ca/root.pem" \
    -url "http://127.0.0.1:${ports#* }/ocsp" >"$OUT/ocsp-f.txt" 2>&1 || fail "openssl ocsp: $(cat "$OUT/ocsp-f.txt")"
assert_contains "$(cat "$OUT/ocsp-f.txt")" "$OUT/dev1.pem: good" "OCSP for dev1 from the fenced bridge"
new_key fencedkey p256
kb_run key register -d "$F" --pubkey "$OUT/keys/fencedkey.pub" --name fencedkey
assert_ne 0 "$KB_RC" "a write to the fenced bridge"
assert_contains "$(cat "$OUT/serve.log")" "smaller than the last signed one ($LATEST)" "the fenced key process's refusal"
kb_stop
# the refused block stays stored, unsigned: no checkpoint past the backup's
# was signed, and the promise is still the fence
out=$(kb_ok ledger verify -d "$F" --no-remember)
assert_contains "$out" "committed but not signed yet" "ledger verify of the fenced directory"
assert_eq "$LATEST" "$(tr -c '[:print:]\n' '\n' <"$F/keyproc.state" | awk '$1 == "checkpoint" { print $3 }' | sort -n | tail -n 1)" \
    "the fenced keyproc.state's promise"
log "fenced at $LATEST: OCSP good, a write refused, still at tree size $SIZE"

# ---- without keys: verifies, says what to put back -------------------------------------
out=$(kb_ok restore -i "$OUT/nokeys.tar" -d "$OUT/nokeys")
assert_contains "$out" "ledger OK" "restore of nokeys.tar"
assert_contains "$(cat "$KB_STDERR")" "put these back" "restore of nokeys.tar names the keys"
[ ! -e "$OUT/nokeys/node.key" ] || fail "nokeys.tar restored node.key"

# ---- refusals: nothing is made -------------------------------------------------------------
kb_fail exists restore -i "$OUT/full.tar" -d "$R"
# one flipped byte inside keybridge.conf's text (tar's own header checksums
# do not cover a member's data)
cp "$OUT/full.tar" "$OUT/flipped.tar"
off=$(grep -obUa 'batch_max = ' "$OUT/flipped.tar" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || fail "no keybridge.conf text in full.tar"
printf 'c' | dd of="$OUT/flipped.tar" bs=1 seek="$off" conv=notrunc status=none
kb_fail damaged restore -i "$OUT/flipped.tar" -d "$OUT/r-flipped"
assert_contains "$(cat "$KB_STDERR")" "manifest hash mismatch: keybridge.conf" "restore of a flipped archive"
[ ! -e "$OUT/r-flipped" ] || fail "a refused restore made $OUT/r-flipped"
# a file the manifest does not list
mkdir -p "$OUT/x" && tar -xf "$OUT/full.tar" -C "$OUT/x"
echo extra >"$OUT/x/extra.txt"
tar -cf "$OUT/extra.tar" -C "$OUT/x" .
kb_fail damaged restore -i "$OUT/extra.tar" -d "$OUT/r-extra"
assert_contains "$(cat "$KB_STDERR")" "extra.txt, which its manifest does not list" "restore of an archive with an extra file"
rm "$OUT/x/extra.txt"
# a keyproc.state promising more than the ledger (the live one, after the
# load went on), the manifest's hash made to match
cp "$D/keyproc.state" "$OUT/x/keyproc.state"
sum=$(sha256sum "$OUT/x/keyproc.state" | cut -d' ' -f1)
jq --arg s "$sum" '(.files[] | select(.path == "keyproc.state") | .sha256) |= $s' \
    "$OUT/x/manifest.json" >"$OUT/m.json" && mv "$OUT/m.json" "$OUT/x/manifest.json"
tar -cf "$OUT/ahead.tar" -C "$OUT/x" .
kb_fail damaged restore -i "$OUT/ahead.tar" -d "$OUT/r-ahead"
assert_contains "$(cat "$KB_STDERR")" "past the restored ledger" "restore of an archive whose promise runs ahead"
ls "$OUT" | grep -q '^\.keybridge-' && fail "a staging directory was left in $OUT: $(ls -a "$OUT")"
log "restore refused a flipped byte, a non-empty target, an unlisted file, a promise past the ledger"
