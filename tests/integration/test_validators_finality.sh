#!/usr/bin/env bash
# Four validators (keybridge validator serve) and a bridge on loopback:
# 1,000 entries through the API (bench_entries, every answer 201), and
# every block sealed since has at least 3 valid cosignatures of the four,
# checked by tests/validator/verify_cosig.py (the C2SP specs and Python's
# cryptography, no keybridge code); each validator replayed the whole
# log and cosigned the newest checkpoint; an EST enrollment works (the
# key process signed against a checkpoint with a quorum).  The bridge's
# status shows the validators' consensus.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vlib.sh"
. "$(dirname "$0")/vbridge.sh"

B="$OUT/bridge"
vb_setup "$B" 3000 v1 v2 v3 v4
H0=$(vb_height "$B")
kb_start "$B"
grep -q 'validators: 4, quorum 3 (2f+1)' "$OUT/serve.log" || fail "serve did not log the validators consensus: $(tail -n 5 "$OUT/serve.log")"
assert_eq validators "$(api GET /api/v1/status | jq -r .consensus)" "consensus in /api/v1/status"

log "+ bench_entries $B 4 250"
"$ENTRIES_BIN" "$B" 4 250 >"$OUT/entries.txt" 2>&1 || fail "bench_entries: $(tail -n 5 "$OUT/entries.txt")"
log "$(grep entries_per_second "$OUT/entries.txt")"
SIZE=$(kb_tree_size)
[ "$SIZE" -ge 1000 ] || fail "tree size $SIZE after 1,000 entries"

# the published checkpoint is final: >= 3 cosignatures
curl -sf --cacert "$B/ca/root.pem" -H 'Accept: text/plain' "$KB_URL/api/v1/ledger/checkpoint" >"$OUT/latest.note" ||
    fail "GET /api/v1/ledger/checkpoint"
# shellcheck disable=SC2046
python3 "$VERIFY_COSIG" "$OUT/latest.note" 3 $(vb_vkeys) >"$OUT/latest.out" || fail "the latest checkpoint: $(cat "$OUT/latest.out")"

n=$(vb_check_blocks "$B" "$H0" 3)
log "$n blocks since serve started, each with >= 3 valid cosignatures"

# negative control of the checker: the node's signature alone is not a quorum
head -n 4 "$OUT/latest.note" >"$OUT/bare.note"
grep -m 1 "^— $(kb_conf_get "$B" validator_name) " "$OUT/latest.note" >>"$OUT/bare.note"
# shellcheck disable=SC2046
if python3 "$VERIFY_COSIG" "$OUT/bare.note" 3 $(vb_vkeys) >/dev/null 2>&1; then
	fail "verify_cosig.py took a note without cosignatures"
fi

# every validator replayed everything and cosigned the newest (one more
# block lets a straggler's last answer in)
kb_enroll dev1
SIZE=$(kb_tree_size)
for v in v1 v2 v3 v4; do
	vs=$(vb_status "$v" size)
	[ "$vs" -ge "$((SIZE - 2))" ] || fail "validator $v cosigned size $vs, the ledger is at $SIZE"
done
openssl verify -CAfile "$B/ca/root.pem" -untrusted "$B/ca/issuing.pem" "$OUT/dev1.pem" >/dev/null ||
    fail "the enrolled certificate does not verify"
log "EST enrollment with four validators: $(openssl x509 -in "$OUT/dev1.pem" -noout -serial)"

kb_stop
for v in v1 v2 v3 v4; do
	vd_stop "$v"
done
log "PASS"
