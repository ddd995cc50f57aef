#!/usr/bin/env bash
# A validator that missed the last seals of a ledger that then goes idle
# catches up without a new block (docs/design.md "Idle catch-up"): four
# validators (quorum 3) and a bridge;
#  1. v4 stopped (SIGSTOP) while two blocks are sealed back to back: both
#     final with v1..v3; v4 holds the first block's request unanswered, so
#     the second is never sent to it (one request out per peer);
#  2. v4 continued (SIGCONT), and nothing appended: it answers the first
#     block, and the bridge's idle step must send it the last stored block;
#     v4 cosigns the ledger's newest size within a bounded wait, with the
#     newest root; the bridge's status shows it with lag 0;
#  3. the same again with v4 stopped longer than the request timeout (its
#     requests time out, the bridge counts it unreachable): once continued
#     it is retried while idle and catches up too;
#  4. nothing is sent to a validator in step while idle: v1's request
#     count does not move over two seconds of an idle ledger;
#  5. v4 killed and one more block: while idle it is retried, but with a
#     backoff (at most 6 failed requests in 4 s, not one per 50 ms idle
#     step); restarted from its state, it catches up with no new block.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vlib.sh"
. "$(dirname "$0")/vbridge.sh"

B="$OUT/bridge"
WAIT_MS=1000	# the bridge's request timeout: 1 s
CATCHUP_S=10	# the bound: the idle step runs every 50 ms, retries <= 8 s
vb_setup "$B" "$WAIT_MS" v1 v2 v3 v4
kb_start "$B"

n_keys=0
register() {
	n_keys=$((n_keys + 1))
	kb_ok key register -d "$B" --pubkey "$(new_key "k$n_keys" p256 && echo "$OUT/keys/k$n_keys.pub")" --name "k$n_keys" >/dev/null
}

# every validator in step first
for _ in 1 2 3; do
	register
done
for ((t = 0; t < 50; t++)); do
	[ "$(vb_status v4 size)" -eq "$(kb_tree_size)" ] && break
	sleep 0.1
done
assert_eq "$(kb_tree_size)" "$(vb_status v4 size)" "v4 in step before it is stopped"

# idle_catchup LABEL PAUSE_S: v4 stopped across two back-to-back seals,
# held PAUSE_S more seconds, continued; it must reach the newest size.
idle_catchup() {
	local label=$1 pause=$2 before size t0 now vroot broot peer lag
	before=$(vb_status v4 size)
	kill -STOP "${VD_PID[v4]}"
	log "$label: v4 (pid ${VD_PID[v4]}) stopped at size $before"
	# the key registrations are made in a few ms each: two seals
	# within the request timeout
	register
	register
	size=$(kb_tree_size)
	[ "$size" -ge "$((before + 2))" ] || fail "$label: the ledger at $size, not two blocks past $before"
	sleep "$pause"
	kill -CONT "${VD_PID[v4]}"
	t0=$(date +%s.%N)
	log "$label: v4 continued; the ledger idle at $size"
	for ((t = 0; t < CATCHUP_S * 10; t++)); do
		now=$(vb_status v4 size)
		[ "$now" -ge "$size" ] && break
		sleep 0.1
	done
	assert_eq "$size" "$(kb_tree_size)" "$label: nothing appended while v4 caught up"
	assert_eq "$size" "$now" "$label: v4's size $CATCHUP_S s after SIGCONT with no new block"
	log "$label: v4 at $now after $(echo "$(date +%s.%N) - $t0" | bc) s"
	vroot=$(vb_status v4 root)
	broot=$(curl -sf --cacert "$B/ca/root.pem" -H 'Accept: text/plain' "$KB_URL/api/v1/ledger/checkpoint" | sed -n 3p)
	assert_eq "$broot" "$vroot" "$label: the root v4 cosigned last and the ledger's newest checkpoint"
	# the bridge's view follows its answer (taken at the next idle step)
	for ((t = 0; t < 20; t++)); do
		peer=$(curl -sf --cacert "$B/ca/root.pem" "$KB_URL/api/v1/status" | jq -c '.validators[]? // .consensus.validators[]? | select(.name == "v4.test")')
		lag=$(jq -r '.lag' <<<"$peer")
		[ "$lag" = 0 ] && break
		sleep 0.1
	done
	log "$label: bridge's status of v4: $peer"
	assert_eq 0 "$lag" "$label: v4's lag in the bridge's status"
}

# ---- 1-2. stopped across two seals, continued before the timeout --------------------
idle_catchup "within the timeout" 0.3

# ---- 3. stopped longer than the request timeout ---------------------------------------
idle_catchup "past the timeout" 3
grep -q "v4.test caught up to .* while idle" "$OUT/serve.log" ||
	fail "no 'caught up ... while idle' line for v4 in the bridge's log"

# ---- 4. in step: nothing sent while idle ---------------------------------------------
# (answered requests: cosignatures and refusals, in v1's GET /status)
v1_answers() {
	curl -sf --max-time 5 "${VD_URL[v1]}/status" | jq -r '.cosigned_since_start + .refusals'
}
sleep 0.5
a=$(v1_answers)
sleep 2
assert_eq "$a" "$(v1_answers)" "requests answered by v1 (in step) over 2 s of an idle ledger"

# ---- 5. down: retried while idle, not every idle step ----------------------------------
# (the idle step runs every 50 ms; a request that fails waits 250 ms,
# doubled up to 8 s: 250+500+1000+2000 ms, so at most 5 in 4 s)
vd_kill9 v4
register
unreachable() {
	curl -sf --cacert "$B/ca/root.pem" "$KB_URL/api/v1/status" | jq -r '[.validators[]? // .consensus.validators[]? | select(.name == "v4.test")][0].unreachable'
}
sleep 0.5
a=$(unreachable)
sleep 4
b=$(unreachable)
log "v4 down: $((b - a)) failed requests in 4 s of an idle ledger"
[ "$((b - a))" -ge 1 ] || fail "v4 down and lagging was not retried while idle in 4 s"
[ "$((b - a))" -le 6 ] || fail "v4 down: $((b - a)) requests in 4 s of an idle ledger (no backoff)"
size=$(kb_tree_size)
vd_start v4
for ((t = 0; t < CATCHUP_S * 10; t++)); do
	[ "$(vb_status v4 size)" -ge "$size" ] && break
	sleep 0.1
done
assert_eq "$size" "$(vb_status v4 size)" "v4 restarted: its size $CATCHUP_S s later with no new block"

kb_stop
for n in v1 v2 v3 v4; do
	vd_stop "$n"
done
log "PASS"
