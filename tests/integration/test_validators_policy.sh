#!/usr/bin/env bash
# The operator's side of the validators (issue 14): `keybridge init
# --validator/--witness/--quorum` refuses every malformed or unsafe
# cosigner list (nothing created) and writes the `validator =`,
# `witness =` and `quorum =` lines; `keybridge policy` prints them as the
# verification policy (text and --json); with four cosigners answering
# (byzval.py in cosign mode: real HTTP servers that cosign what they get)
# the checkpoint API lists each cosignature with its verdict, the note
# passes the independent checker (verify_cosig.py), and `ledger verify`
# (the config's policy, or --policy FILE) finds every checkpoint after the
# solo genesis final.  Negative controls: a policy naming another key for
# one cosigner and a quorum of 4 fails at the first final block with that
# cosigner's wrong-key; a stored checkpoint stripped of its cosignatures
# is named by verify.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BYZVAL="$KB_LIB_DIR/byzval.py"
VERIFY_COSIG="$KB_LIB_DIR/../validator/verify_cosig.py"
DIR="$OUT/data"
python3 -c 'import cryptography' 2>/dev/null || fail "python3-cryptography is not installed"

# seed I: the 32-byte Ed25519 seed of cosigner I (hex)
seed() { python3 -c "import sys; print('%02x' % (int(sys.argv[1]) + 1) * 32)" "$1"; }
read -r -a P <<<"$(kb_free_ports 4)"
KB_USED_PORTS="$KB_USED_PORTS ${P[*]}"
VK=()
for i in 0 1 2 3; do
	VK[i]=$(python3 "$BYZVAL" vkey "$(seed "$i")" "v$i.test")
done
OTHER0=$(python3 "$BYZVAL" vkey "$(seed 8)" v0.test)	# v0's name, another key
OTHER1=$(python3 "$BYZVAL" vkey "$(seed 9)" v1.test)
spec() { printf 'v%s.test=%s@http://127.0.0.1:%s' "$1" "${VK[$1]}" "${P[$1]}"; }

# ---- init refuses, and creates nothing --------------------------------------
refuse() {
	local want=$1
	shift
	kb_fail usage init "$OUT/bad" "$@"
	assert_contains "$(cat "$KB_STDERR")" "$want" "init $*"
	[ ! -e "$OUT/bad" ] || fail "init $* left $OUT/bad behind"
}
refuse "the verifier key is named \"v1.test\", not \"v0.test\"" --validator "v0.test=${VK[1]}@http://127.0.0.1:1"
refuse "expected NAME=VKEY@URL" --validator "v0.test=${VK[0]}"
refuse "expected NAME=VKEY@URL" --validator "${VK[0]}@http://127.0.0.1:1"
refuse "the URL must be http://HOST:PORT" --validator "v0.test=${VK[0]}@https://127.0.0.1:1"
refuse "is not a cosignature/v1 verifier key" --validator "v0.test=v0.test+00000000+AAAA@http://127.0.0.1:1"
refuse "listed twice" --validator "$(spec 0)" --witness "$(spec 0)"
refuse "quorum = 2 of 4 validators: two quorums would share 0" \
    --validator "$(spec 0)" --validator "$(spec 1)" --validator "$(spec 2)" \
    --validator "$(spec 3)" --quorum 2
refuse "--quorum must be 1 to 2" --validator "$(spec 0)" --validator "$(spec 1)" --quorum 3
refuse "--quorum needs --validator or --witness" --quorum 1

# ---- a solo init writes no validator line and quorum 0 (serve refuses a
# quorum without validators), and its policy is solo -------------------------------
kb_init "$OUT/solo"
if grep -Eq '^(validator|witness) =|^quorum = [1-9]' "$OUT/solo/keybridge.conf"; then
	fail "a solo init wrote: $(grep -E '^(validator|witness|quorum) =' "$OUT/solo/keybridge.conf")"
fi
kb_ok policy -d "$OUT/solo" --json >"$OUT/solo.json"
jq -e '.mode == "solo" and .quorum == 0 and .cosigners == []' "$OUT/solo.json" >/dev/null ||
	fail "solo policy: $(cat "$OUT/solo.json")"
kb_ok policy -d "$OUT/solo" >"$OUT/solo.txt"
assert_not_contains "$(cat "$OUT/solo.txt")" "quorum" "the solo policy"
kb_ok ledger verify -d "$OUT/solo" --no-remember --policy "$OUT/solo.txt" >/dev/null

# ---- init writes the lines; policy prints them ---------------------------------
kb_init "$DIR" --validator "$(spec 0)" --validator "$(spec 1)" \
    --validator "$(spec 2)" --witness "$(spec 3)"
assert_contains "$(cat "$KB_STDOUT")" "cosigners:   4, quorum 3" "init's summary"
for i in 0 1 2; do
	grep -qxF "validator = v$i.test ${VK[i]} http://127.0.0.1:${P[i]}" "$DIR/keybridge.conf" ||
		fail "no validator line $i in keybridge.conf"
done
grep -qxF "witness = v3.test ${VK[3]} http://127.0.0.1:${P[3]}" "$DIR/keybridge.conf" ||
	fail "no witness line in keybridge.conf"
assert_eq 3 "$(kb_conf_get "$DIR" quorum)" "quorum = (2f+1 of 4, written out)"

NODE=$(kb_conf_get "$DIR" validator_vkey)
kb_ok policy -d "$DIR" >"$OUT/policy.txt"
cat >"$OUT/policy.want" <<EOF
# keybridge verification policy of $DIR (\`keybridge policy\`, docs/cli.md)
keybridge-policy v1
origin $(kb_conf_get "$DIR" origin)
log $NODE
validator v0.test ${VK[0]} http://127.0.0.1:${P[0]}
validator v1.test ${VK[1]} http://127.0.0.1:${P[1]}
validator v2.test ${VK[2]} http://127.0.0.1:${P[2]}
witness v3.test ${VK[3]} http://127.0.0.1:${P[3]}
quorum 3
EOF
diff -u "$OUT/policy.want" "$OUT/policy.txt" || fail "keybridge policy printed another policy"
kb_ok policy -d "$DIR" --json >"$OUT/policy.json"
jq -e --arg node "$NODE" --arg v2 "${VK[2]}" '.format == "keybridge-policy v1" and
    .log == $node and .quorum == 3 and .mode == "validators" and
    (.cosigners | length) == 4 and .cosigners[2].vkey == $v2 and
    .cosigners[2].role == "validator" and .cosigners[3].role == "witness"' \
    "$OUT/policy.json" >/dev/null || fail "policy --json: $(cat "$OUT/policy.json")"
kb_fail usage policy -d "$DIR" --quorum 3

# ---- four cosigners answering; entries become final ---------------------------------
for i in 0 1 2 3; do
	python3 "$BYZVAL" serve "$(seed "$i")" "v$i.test" "127.0.0.1:${P[i]}" cosign \
	    "$OUT/cosigner$i.log" 2>>"$OUT/cosigner$i.err" &
	kb_track $!
	wait_port "${P[i]}" $! "cosigner v$i.test"
done
kb_start "$DIR"
for n in 1 2 3; do
	new_key "acct$n" ed25519
	kb_ok account create -d "$DIR" --name "acct$n" --pubkey "$OUT/keys/acct$n.pub" >/dev/null
done
SIZE=$(kb_tree_size)

api GET /api/v1/ledger/checkpoint >"$OUT/cp.json"
# the bridge seals with the first quorum: 3 or 4 cosignatures, all valid
jq -e --argjson s "$SIZE" '.tree_size == $s and .valid_cosignatures >= 3 and
    (.cosignatures | length) == .valid_cosignatures and
    ([.cosignatures[] | select(.verdict == "valid")] | length) ==
    .valid_cosignatures' "$OUT/cp.json" >/dev/null ||
	fail "checkpoint JSON: $(cat "$OUT/cp.json")"
curl -sS --cacert "$DIR/ca/root.pem" -H 'Accept: text/plain' \
    "$KB_URL/api/v1/ledger/checkpoint" >"$OUT/cp.note"
jq -j .checkpoint "$OUT/cp.json" | cmp -s - "$OUT/cp.note" ||
	fail "the text/plain checkpoint is not the JSON's note"
python3 "$VERIFY_COSIG" "$OUT/cp.note" 3 "${VK[@]}" >"$OUT/cp.verdicts" ||
	fail "verify_cosig.py: $(cat "$OUT/cp.verdicts")"
assert_match "$(cat "$OUT/cp.verdicts")" "valid [34] of" "independent check of the note"

api GET /api/v1/status >"$OUT/status.json"
jq -e --argjson s "$SIZE" '.quorum == 3 and .final_size == $s and
    (.validators | length) == 4 and ([.validators[].up] | all) and
    .validators[3].role == "witness"' "$OUT/status.json" >/dev/null ||
	fail "status: $(jq -c '{quorum, final_size, validators}' "$OUT/status.json")"

# ---- ledger verify: the config's policy, a policy file ------------------------------
kb_ok ledger verify -d "$DIR" --no-remember >/dev/null
# init's genesis: two blocks signed by the node alone, then final ones
assert_contains "$(cat "$KB_STDOUT")" "3 checkpoints are final, with a quorum of 3 of the 4 cosigners of keybridge.conf, the first after 2 signed by the node alone" "verify with the config's policy"
kb_ok ledger verify -d "$DIR" --no-remember --policy "$OUT/policy.txt" >/dev/null
assert_contains "$(cat "$KB_STDOUT")" "cosigners of $OUT/policy.txt" "verify --policy"
# other keys under v0's and v1's names: at most v2 and v3 are valid, and
# the first final block (2, after the genesis) is named with the verdicts
sed -e "s|^validator v0.test ${VK[0]} |validator v0.test $OTHER0 |" \
    -e "s|^validator v1.test ${VK[1]} |validator v1.test $OTHER1 |" \
    "$OUT/policy.txt" >"$OUT/policy.other"
kb_run ledger verify -d "$DIR" --no-remember --policy "$OUT/policy.other"
assert_eq 1 "$KB_RC" "verify with a policy of other v0 and v1 keys"
assert_match "$(cat "$KB_STDOUT")" "block 2 \\(tree size 3\\): checkpoint is not final: [12] of the 3 cosignatures needed are valid \\(v0.test (wrong-key|missing), v1.test (wrong-key|missing), v2.test (valid|missing), v3.test (valid|missing)\\)" "verify names the block and the verdicts"
assert_match "$(cat "$KB_STDOUT")" "wrong-key" "a wrong key named"
kb_fail policy ledger verify -d "$DIR" --policy "$OUT/nonexistent"
printf 'keybridge-policy v1\norigin x\n' >"$OUT/policy.short"
kb_fail policy ledger verify -d "$DIR" --policy "$OUT/policy.short"
assert_contains "$(cat "$KB_STDERR")" "is not a signed-note verifier key" "a policy without its log key"

# ---- a stored checkpoint stripped of its cosignatures --------------------------------
kb_stop
LAST=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT max(height) FROM blocks').fetchone()[0])" "$DIR/ledger.db")
python3 - "$DIR/ledger.db" "$LAST" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(note,) = db.execute("SELECT checkpoint FROM blocks WHERE height = ?",
                     (int(sys.argv[2]),)).fetchone()
body, sigs = note.split("\n\n", 1)
keep = [l for l in sigs.split("\n") if l and not l.startswith("\u2014 v")]
db.execute("UPDATE blocks SET checkpoint = ? WHERE height = ?",
           (body + "\n\n" + "\n".join(keep) + "\n", int(sys.argv[2])))
db.commit()
EOF
kb_run ledger verify -d "$DIR" --no-remember
assert_eq 1 "$KB_RC" "verify of a checkpoint stripped of its cosignatures"
assert_contains "$(cat "$KB_STDOUT")" "block $LAST (tree size $SIZE): checkpoint is not final: 0 of the 3 cosignatures needed are valid (v0.test missing, v1.test missing, v2.test missing, v3.test missing)" "verify names the stripped block"
log "PASS"
