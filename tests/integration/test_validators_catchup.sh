#!/usr/bin/env bash
# Catch-up of a validator far behind (docs/design.md "Catch-up"): four
# validators (quorum 3) and a bridge;
#  1. v4 SIGKILLed, then more than 4,096 entries (one add-block's most)
#     appended through the API: every one acknowledged with three;
#  2. v4 restarted from its own state: the bridge walks it forward in
#     steps of at most 4,096 entries, each to a stored block with that
#     block's stored checkpoint, while writes go on; it reaches the newest
#     size and cosigns it; its registry holds every entry of the ledger,
#     leaf for leaf; `keybridge validator status` shows it with lag 0;
#     the bridge never reported it "too far behind".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vlib.sh"
. "$(dirname "$0")/vbridge.sh"

B="$OUT/bridge"
WAIT_MS=2000
vb_setup "$B" "$WAIT_MS" v1 v2 v3 v4
kb_start "$B"

# every validator in step first
# (not bench_entries: its account names are per second, and it runs
# again below)
for w in w0 w1 w2; do
	kb_ok key register -d "$B" --pubkey "$(new_key "$w" p256 && echo "$OUT/keys/$w.pub")" --name "$w" >/dev/null
done

# ---- 1. v4 down, more than 4,096 entries --------------------------------------------
vd_kill9 v4
before=$(kb_ok validator status -d "$OUT/v4" | awk '/^cosigned size/ { print $3 }')
assert_match "$before" '^[0-9]+$' "v4's cosigned size from validator status"
log "+ bench_entries $B 8 650, v4 down at cosigned size $before"
"$ENTRIES_BIN" "$B" 8 650 >"$OUT/entries.txt" 2>&1 || fail "bench_entries with v4 down: $(tail -n 4 "$OUT/entries.txt")"
assert_eq 5200 "$(awk '/^entries_acknowledged/ { print $2 }' "$OUT/entries.txt")" "entries acknowledged with three validators"
SIZE=$(kb_tree_size)
[ "$((SIZE - before))" -gt 4096 ] || fail "v4 is only $((SIZE - before)) entries behind: the catch-up of more than 4096 is not tested"
log "v4 is $((SIZE - before)) entries behind (cosigned $before, ledger $SIZE)"

# ---- 2. back: walked forward to the newest ------------------------------------------
vd_start v4
t0=$SECONDS
for ((t = 0; t < 120; t++)); do
	now=$(vb_status v4 size)
	SIZE=$(kb_tree_size)
	[ "$now" -lt "$SIZE" ] || break
	# a block (a seal) now and then: the steps go out at each seal
	kb_ok key register -d "$B" --pubkey "$(new_key "c$t" p256 && echo "$OUT/keys/c$t.pub")" --name "c$t" >/dev/null
	sleep 0.2
done
after=$(vb_status v4 size)
SIZE=$(kb_tree_size)
[ "$after" -eq "$SIZE" ] || fail "v4 at $after, the ledger at $SIZE after $((SECONDS - t0)) s: it did not catch up"
log "v4 caught up from $before to $after in $((SECONDS - t0)) s"
# in steps: each cosignature of the restarted v4 (its log) at most 4096
# entries past the one before, at least one of them short of the newest
sizes=$(awk -v b="$before" '/validator: cosigned size/ { s = $NF } s > b { print s; b = s }' "$OUT/v4.log" | tr '\n' ' ')
log "v4's cosigned sizes after the restart: $sizes"
prev=$before n=0
for s in $sizes; do
	[ "$((s - prev))" -le 4096 ] || fail "v4 cosigned $s after $prev: a step of more than 4096 entries"
	prev=$s n=$((n + 1))
done
[ "$n" -ge 2 ] || fail "v4 reached $after in $n step(s): not walked forward in steps"
# the newest checkpoint it cosigned is the ledger's newest
vroot=$(curl -sf --max-time 5 "${VD_URL[v4]}/status" | jq -r '.root')
broot=$(curl -sf --cacert "$B/ca/root.pem" -H 'Accept: text/plain' "$KB_URL/api/v1/ledger/checkpoint" | sed -n 3p)
assert_eq "$broot" "$vroot" "the root v4 cosigned last and the ledger's newest checkpoint"
st=$(kb_ok validator status -d "$OUT/v4")
printf '%s\n' "$st" >"$OUT/v4.status"
assert_match "$(awk '/^cosigned size/ { print $3 }' <<<"$st")" "^$SIZE\$" "validator status: cosigned size"
assert_match "$(awk '/^lag/ { print $2 }' <<<"$st")" '^0$' "validator status: lag"
# its registry: every entry, leaf for leaf
assert_eq "$SIZE" "$(sqlite3 "$OUT/v4/validator.db" 'SELECT count(*) FROM entries')" "entries in v4's registry"
a=$(sqlite3 "$OUT/v4/validator.db" 'SELECT idx, hex(leaf_hash) FROM entries ORDER BY idx' | sha256sum)
b=$(sqlite3 "$B/ledger.db" "SELECT idx, hex(leaf_hash) FROM entries WHERE idx < $SIZE ORDER BY idx" | sha256sum)
assert_eq "$b" "$a" "v4's leaves and the ledger's"
# the bridge's view: v4 up, lag at most a block, no refusal
peer=$(curl -sf --cacert "$B/ca/root.pem" "$KB_URL/api/v1/status" | jq -c '.validators[]? // .consensus.validators[]? | select(.name == "v4.test")')
log "bridge's status of v4: $peer"
if grep -q "not caught up\|entries behind" "$OUT/serve.log"; then
	grep -m 3 "not caught up\|entries behind" "$OUT/serve.log" >&2
	fail "the bridge reported v4 too far behind"
fi
kb_stop
for n in v1 v2 v3 v4; do
	vd_stop "$n"
done
log "PASS"
