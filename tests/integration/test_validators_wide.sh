#!/usr/bin/env bash
# A checkpoint cosigned by more validators than a 1 KiB note holds (issue
# 14, LEDGER_NOTE_MAX): ten cosigners (byzval.py in cosign mode: real
# HTTP servers that cosign what they get) with names of the longest
# length, LEDGER_NAME_MAX = 64 bytes, quorum 7, so a final checkpoint
# carries at least seven 174-byte cosignature lines.  The final note
# round-trips intact through the ledger's storage (blocks.checkpoint),
# the entry's receipt (account create --json), GET
# /api/v1/ledger/checkpoint (JSON and text/plain) and the independent
# checker (verify_cosig.py), and `ledger verify --policy` finds it final.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BYZVAL="$KB_LIB_DIR/byzval.py"
VERIFY_COSIG="$KB_LIB_DIR/../validator/verify_cosig.py"
DIR="$OUT/data"
N=10
Q=7
python3 -c 'import cryptography' 2>/dev/null || fail "python3-cryptography is not installed"

seed() { python3 -c "import sys; print('%02x' % (int(sys.argv[1]) + 1) * 32)" "$1"; }
# name I: 64 bytes, "vII-xxx...x.test"
name() { python3 -c "import sys; n = 'v%02d-' % int(sys.argv[1]); print(n + 'x' * (64 - len(n) - 5) + '.test')" "$1"; }
read -r -a P <<<"$(kb_free_ports "$N")"
KB_USED_PORTS="$KB_USED_PORTS ${P[*]}"
VK=() NM=() args=()
for ((i = 0; i < N; i++)); do
	NM[i]=$(name "$i")
	[ "${#NM[i]}" -eq 64 ] || fail "name ${NM[i]} is not 64 bytes"
	VK[i]=$(python3 "$BYZVAL" vkey "$(seed "$i")" "${NM[i]}")
	args+=(--validator "${NM[i]}=${VK[i]}@http://127.0.0.1:${P[i]}")
done
kb_ok init "$DIR" "${args[@]}" --quorum "$Q" >/dev/null
for ((i = 0; i < N; i++)); do
	python3 "$BYZVAL" serve "$(seed "$i")" "${NM[i]}" "127.0.0.1:${P[i]}" cosign \
	    "$OUT/cosigner$i.log" 2>>"$OUT/cosigner$i.err" &
	kb_track $!
	wait_port "${P[i]}" $! "cosigner ${NM[i]}"
done
kb_start "$DIR"
kb_ok policy -d "$DIR" >"$OUT/policy.txt"

# ---- an entry through the API: its receipt carries the final note ---------------
new_key acct1 ed25519
kb_ok account create -d "$DIR" --json --name acct1 --pubkey "$OUT/keys/acct1.pub" >"$OUT/receipt.json"
jq -j .checkpoint "$OUT/receipt.json" >"$OUT/receipt.note"
SIZE=$(jq -r .tree_size "$OUT/receipt.json")
LEN=$(wc -c <"$OUT/receipt.note")
[ "$LEN" -gt 1024 ] || fail "the receipt's checkpoint is $LEN bytes: not over 1 KiB ($(cat "$OUT/receipt.note"))"
python3 "$VERIFY_COSIG" "$OUT/receipt.note" "$Q" "${VK[@]}" >"$OUT/receipt.verdicts" ||
	fail "verify_cosig.py on the receipt's note: $(cat "$OUT/receipt.verdicts")"
assert_match "$(cat "$OUT/receipt.verdicts")" "valid (7|8|9|10) of" "the receipt's note, independently checked"

# ---- the same note in storage and through the checkpoint API ---------------------
python3 - "$DIR/ledger.db" "$SIZE" "$OUT/stored.note" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
(cp,) = db.execute("SELECT checkpoint FROM blocks WHERE size = ?",
                   (int(sys.argv[2]),)).fetchone()
open(sys.argv[3], "w").write(cp)
EOF
cmp -s "$OUT/receipt.note" "$OUT/stored.note" ||
	fail "the stored checkpoint is not the receipt's ($(wc -c <"$OUT/stored.note") bytes)"
api GET /api/v1/ledger/checkpoint >"$OUT/cp.json"
jq -e --argjson s "$SIZE" --argjson q "$Q" '.tree_size == $s and
    .valid_cosignatures >= $q and (.cosignatures | length) ==
    .valid_cosignatures' "$OUT/cp.json" >/dev/null ||
	fail "checkpoint JSON: $(cat "$OUT/cp.json")"
jq -j .checkpoint "$OUT/cp.json" | cmp -s - "$OUT/receipt.note" ||
	fail "the API's checkpoint is not the receipt's"
curl -sS --cacert "$DIR/ca/root.pem" -H 'Accept: text/plain' \
    "$KB_URL/api/v1/ledger/checkpoint" >"$OUT/cp.note"
cmp -s "$OUT/cp.note" "$OUT/receipt.note" ||
	fail "the text/plain checkpoint is not the receipt's"

# ---- ledger verify --policy: final, with the quorum of 7 of 10 -------------------
kb_ok ledger verify -d "$DIR" --no-remember --policy "$OUT/policy.txt" >/dev/null
assert_contains "$(cat "$KB_STDOUT")" "with a quorum of $Q of the $N cosigners of $OUT/policy.txt" "verify --policy"
kb_stop
log "PASS"
