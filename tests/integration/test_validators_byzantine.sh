#!/usr/bin/env bash
# A Byzantine VALIDATOR against the bridge (issue 14): three honest
# validators (`keybridge validator serve`) and byzval.py, a real HTTP
# server that speaks the validator protocol and answers every block 200
# with a cosignature that must not count, in turn: one over another root,
# a malformed line, one by another key under its name, and its first
# cosignature replayed.  The bridge reaches finality with the three honest
# ones for every write; /metrics counts each discarded cosignature by
# reason, exactly as many as the tool sent of each kind, and none of the
# honest ones; /api/v1/status shows each validator; the checkpoint API's
# note carries no line of the Byzantine one and passes the independent
# checker; `ledger verify` finds every checkpoint after the genesis final.
# The negative control: with one honest validator stopped, the Byzantine
# one's answers do not make a quorum: the write is answered 503 no_quorum;
# restarted, the honest one catches up and writes are final again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vlib.sh"

BYZVAL="$KB_LIB_DIR/byzval.py"
VERIFY_COSIG="$KB_LIB_DIR/../validator/verify_cosig.py"
DIR="$OUT/data"
NWRITES=12			# three rounds of the tool's four lies
python3 -c 'import cryptography' 2>/dev/null || fail "python3-cryptography is not installed"

kb_init "$DIR"
for v in v1 v2 v3; do
	vd_init "$v" "$DIR"
done
BPORT=$(kb_free_ports 1)
KB_USED_PORTS="$KB_USED_PORTS $BPORT"
BSEED=$(printf '%064x' 7)
BVKEY=$(python3 "$BYZVAL" vkey "$BSEED" byz.test)
{
	for v in v1 v2 v3; do
		printf 'validator = %s.test %s %s\n' "$v" "${VD_VKEY[$v]}" "${VD_URL[$v]}"
	done
	printf 'validator = byz.test %s http://127.0.0.1:%s\n' "$BVKEY" "$BPORT"
} >>"$DIR/keybridge.conf"
kb_conf_set "$DIR" quorum 3
kb_conf_set "$DIR" validator_wait_ms 2000

for v in v1 v2 v3; do
	vd_start "$v"
done
python3 "$BYZVAL" serve "$BSEED" byz.test "127.0.0.1:$BPORT" cycle \
    "$OUT/byz.answers" 2>"$OUT/byz.err" &
BPID=$!
kb_track "$BPID"
wait_port "$BPORT" "$BPID" "the Byzantine validator"
kb_start "$DIR"

# ---- every write is final with the three honest validators ----------------------
for n in $(seq 1 "$NWRITES"); do
	new_key "acct$n" ed25519
	kb_ok account create -d "$DIR" --name "acct$n" --pubkey "$OUT/keys/acct$n.pub" >/dev/null
done
SIZE=$(kb_tree_size)
assert_eq $((NWRITES + 2)) "$SIZE" "tree size after the writes (2 genesis entries)"
# the tool answered every block, each kind of lie at least twice
for kind in other-root malformed wrong-key replay; do
	k=$(grep -c "^$kind " "$OUT/byz.answers" || true)
	[ "$k" -ge 2 ] || fail "the Byzantine validator sent $k $kind answers: $(cat "$OUT/byz.answers")"
done

# ---- /metrics: each discarded, by reason; none of the honest ones -----------------
# value SERIES: its sample in OUT/metrics.txt (0 when absent)
value() {
	awk -v s="$1" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }' "$OUT/metrics.txt"
}
disc() {
	value "keybridge_validator_cosignatures_discarded_total{validator=\"$1\",reason=\"$2\"}"
}
# the answers after a quorum are still read and counted: wait for them
deadline=$((SECONDS + 10))
while :; do
	curl -sS --max-time 10 "$KB_HTTP_URL/metrics" >"$OUT/metrics.txt"
	SENT=$(wc -l <"$OUT/byz.answers")
	GOT=0
	for r in malformed wrong-key bad-signature stale; do
		GOT=$((GOT + $(disc byz.test "$r")))
	done
	# and no answer more since the last look (a late one, an idle one)
	[ "$GOT" -lt "$SENT" ] || [ "$SENT" != "${LAST_SENT:-}" ] || break
	LAST_SENT=$SENT
	[ "$SECONDS" -lt "$deadline" ] || fail "the bridge counted $GOT of the $SENT Byzantine answers"
	sleep 0.5
done
if command -v promtool >/dev/null; then
	promtool check metrics <"$OUT/metrics.txt" >"$OUT/promtool.txt" 2>&1 ||
		fail "promtool check metrics: $(head -n 20 "$OUT/promtool.txt")"
fi
assert_eq "$(grep -c '^malformed ' "$OUT/byz.answers")" "$(disc byz.test malformed)" "malformed cosignatures discarded"
assert_eq "$(grep -c '^wrong-key ' "$OUT/byz.answers")" "$(disc byz.test wrong-key)" "wrong-key cosignatures discarded"
# over another root it does not verify; replayed, it is older than the
# checkpoint (stale) or does not verify over it
assert_eq "$(grep -Ec '^(other-root|replay) ' "$OUT/byz.answers")" \
    "$(($(disc byz.test bad-signature) + $(disc byz.test stale)))" \
    "cosignatures over another root and replayed ones discarded"
[ "$(disc byz.test bad-signature)" -ge 1 ] || fail "no bad-signature discard counted"
assert_eq 0 "$(value 'keybridge_validator_cosignatures_total{validator="byz.test"}')" "cosignatures of the Byzantine validator counted"
for v in v1 v2 v3; do
	for r in unknown malformed wrong-key bad-signature duplicate stale; do
		assert_eq 0 "$(disc "$v.test" "$r")" "$v's $r discards"
	done
	c=$(value "keybridge_validator_cosignatures_total{validator=\"$v.test\"}")
	[ "$c" -ge "$NWRITES" ] || fail "$v.test: $c cosignatures counted for $NWRITES blocks"
	assert_eq 1 "$(value "keybridge_validator_up{validator=\"$v.test\"}")" "$v is up"
done
assert_eq 3 "$(value keybridge_validators_quorum)" "quorum in /metrics"
assert_eq "$SIZE" "$(value keybridge_ledger_final_size)" "final size in /metrics"
assert_match "$(value keybridge_finality_p99_seconds)" '^[0-9.]+(e-?[0-9]+)?$' "finality p99"
awk -v v="$(value keybridge_finality_p99_seconds)" 'BEGIN { exit !(v > 0) }' ||
	fail "finality p99 is not above 0"

# ---- /api/v1/status: each validator ------------------------------------------------
api GET /api/v1/status >"$OUT/status.json"
jq -e --argjson s "$SIZE" '.quorum == 3 and .final_size == $s and
    .consensus == "validators" and (.validators | length) == 4 and
    ([.validators[] | select(.name != "byz.test") |
      .up and .cosigned_size == $s and .lag == 0 and .accepted >= 12 and
      ([.discarded[]] | add) == 0] | all) and
    (.validators[] | select(.name == "byz.test") |
      .up and .accepted == 0 and .discarded.malformed >= 2 and
      .discarded["wrong-key"] >= 2 and .last_refusal != null) and
    .finality.p99_ms > 0' "$OUT/status.json" >/dev/null ||
	fail "status: $(jq -c '{quorum, final_size, finality, validators}' "$OUT/status.json")"

# ---- the final checkpoint: the honest cosignatures only ------------------------------
api GET /api/v1/ledger/checkpoint >"$OUT/cp.json"
jq -e --argjson s "$SIZE" '.tree_size == $s and .valid_cosignatures >= 3 and
    ([.cosignatures[] | select(.verdict != "valid" or .name == "byz.test")]
     | length) == 0' "$OUT/cp.json" >/dev/null || fail "checkpoint: $(cat "$OUT/cp.json")"
jq -j .checkpoint "$OUT/cp.json" >"$OUT/cp.note"
assert_not_contains "$(cat "$OUT/cp.note")" "byz.test" "the final note"
python3 "$VERIFY_COSIG" "$OUT/cp.note" 3 "${VD_VKEY[v1]}" "${VD_VKEY[v2]}" \
    "${VD_VKEY[v3]}" "$BVKEY" >"$OUT/cp.verdicts" ||
	fail "verify_cosig.py: $(cat "$OUT/cp.verdicts")"
kb_ok ledger verify -d "$DIR" --no-remember >/dev/null
assert_contains "$(cat "$KB_STDOUT")" "$NWRITES checkpoints are final, with a quorum of 3 of the 4 cosigners of keybridge.conf" "ledger verify"

# ---- negative control: two honest ones and the liar are no quorum ----------------
vd_stop v3
new_key late ed25519
kb_fail no_quorum account create -d "$DIR" --name late --pubkey "$OUT/keys/late.pub"
curl -sS --max-time 10 "$KB_HTTP_URL/metrics" >"$OUT/metrics.txt"
assert_eq 0 "$(value 'keybridge_validator_cosignatures_total{validator="byz.test"}')" "cosignatures of the Byzantine validator counted without v3"
vd_start v3
# the same entry again: once final, its receipt (SEAL14's writer)
new_key after ed25519
kb_ok account create -d "$DIR" --name after --pubkey "$OUT/keys/after.pub" >/dev/null
api GET /api/v1/status >"$OUT/status2.json"
jq -e '.validators[] | select(.name == "v3.test") | .up and .lag == 0' \
    "$OUT/status2.json" >/dev/null ||
	fail "v3 did not catch up: $(jq -c .validators "$OUT/status2.json")"
kb_ok ledger verify -d "$DIR" --no-remember >/dev/null

# ---- the liar behind on an idle ledger ---------------------------------------------
# Stopped through two blocks (the first one's request waits in its socket,
# the second is not sent: one request out per validator), then continued
# with no new block: its late answer to the first is counted, and the idle
# step sends it the last block, once.  That answer is a lie too: counted
# as discarded, and it stays behind (lag 1); it is not "caught up", and is
# sent nothing more until the next seal.
byz_discards() {
	curl -sS --max-time 10 "$KB_HTTP_URL/metrics" >"$OUT/metrics.txt"
	local n=0 r
	for r in malformed wrong-key bad-signature stale; do
		n=$((n + $(disc byz.test "$r")))
	done
	echo "$n"
}
kill -STOP "$BPID"
for n in idle1 idle2; do
	new_key "$n" ed25519
	kb_ok account create -d "$DIR" --name "$n" --pubkey "$OUT/keys/$n.pub" >/dev/null
done
SIZE=$(kb_tree_size)
D0=$(byz_discards)
kill -CONT "$BPID"
deadline=$((SECONDS + 5))
until [ "$(byz_discards)" -ge $((D0 + 2)) ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no lie of the Byzantine validator counted 5 s after it was continued behind an idle ledger ($D0 discards)"
	sleep 0.2
done
sleep 1
api GET /api/v1/status >"$OUT/status3.json"
jq -e --argjson s "$SIZE" '.validators[] | select(.name == "byz.test") |
    .cosigned_size < $s and .lag >= 1' "$OUT/status3.json" >/dev/null ||
	fail "the Byzantine validator counted as caught up by a lie: $(jq -c '.validators[] | select(.name == "byz.test")' "$OUT/status3.json")"
if grep -q 'byz.test caught up to .* while idle' "$OUT/serve.log"; then
	fail "the Byzantine validator logged as caught up while idle: $(grep 'byz.test caught up' "$OUT/serve.log")"
fi
D1=$(byz_discards)
sleep 2
assert_eq "$D1" "$(byz_discards)" "discards of the liar 2 s later (no idle request after its lie)"
log "the liar behind an idle ledger: its idle answer counted as discarded ($D0 -> $D1), lag kept"

kb_stop
for v in v1 v2 v3; do
	vd_stop "$v"
done
log "PASS"
