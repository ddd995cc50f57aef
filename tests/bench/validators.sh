#!/usr/bin/env bash
# tests/bench/validators.sh: entries per second through POST
# /api/v1/entries with four validators (quorum 3) beside solo, in the same
# run (these machines are shared: the ratio is the figure), issue 14:
#
#   1. two bridges on loopback, one solo, one with four `keybridge
#      validator serve` daemons (validator = lines, quorum 2f+1 = 3);
#   2. ROUNDS alternating bench_entries runs (BENCH_CLIENTS concurrent
#      keep-alive TLS clients, BENCH_PER_CLIENT entries each) against
#      each, the round with the median ratio reported (target >= 0.7);
#   3. append-to-finality latency: with validators an entry is answered
#      only once its block's checkpoint has a quorum of cosignatures, so
#      the clients' p50/p99 is the time from append to finality (target
#      p99 < 50 ms);
#   4. each validator's CPU time per entry (user + system, from /proc,
#      over the validators' rounds), and the same for both bridges (with
#      their key process) and the bench client, and the blocks' average
#      size: what bounds the ratio on one machine (docs/benchmarks.md).
# Env: BENCH_CLIENTS (16), BENCH_PER_CLIENT (200), BENCH_ROUNDS (3).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/validators}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=../integration/vlib.sh
. "$root/tests/integration/vlib.sh"
# shellcheck source=../integration/vbridge.sh
. "$root/tests/integration/vbridge.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"

clients=${BENCH_CLIENTS:-16}
per=${BENCH_PER_CLIENT:-200}
rounds=${BENCH_ROUNDS:-3}
ENTRIES_BIN="$BENCH/bench_entries"
S="$OUT/solo"
V="$OUT/validators"
rm -rf "$S" "$V" "$OUT"/v[1-4]

kb_init "$S" >/dev/null
kb_start "$S" --log-level warn >/dev/null
SOLO_PID=$KB_SERVE_PID
KB_SERVE_PID=""
vb_setup "$V" 5000 v1 v2 v3 v4 >/dev/null
kb_start "$V" --log-level warn >/dev/null
VAL_PID=$KB_SERVE_PID
hz=$(getconf CLK_TCK)
# a bridge's CPU: serve and its key process (its child)
bcpu() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1" || true); do
		t=$((t + $(cpu_ticks "$p")))
	done
	echo "$t"
}

vcpu() {
	local n t=""
	for n in v1 v2 v3 v4; do
		t="$t $(cpu_ticks "${VD_PID[$n]}")"
	done
	echo "$t"
}

# run DIR TAG: one bench_entries run; prints "rate p50 p99 client_cpu_s"
# (the client's user + system seconds, setup included).
run() {
	local f="$OUT/$2.txt"
	/usr/bin/time -f 'client_cpu %U %S' -o "$OUT/$2.time" \
	    "$ENTRIES_BIN" "$1" "$clients" "$per" >"$f" 2>&1 || fail "bench_entries $2: $(tail -n 3 "$f")"
	awk '/^entries_per_second/ { r = $2 } /^p50_ms/ { a = $2 } /^p99_ms/ { b = $2 }
	    END { printf "%s %s %s ", r, a, b }' "$f"
	awk '/^client_cpu/ { printf "%s\n", $2 + $3 }' "$OUT/$2.time"
	sleep 1		# bench_entries names its accounts by the second
}

echo "$clients clients x $per entries, $rounds alternating rounds: solo, then four validators (quorum 3)"
: >"$OUT/rounds.txt"
declare -a cpu_sum=(0 0 0 0)
ventries=0 sb_sum=0 vb_sum=0 scl_sum=0 vcl_sum=0
for ((k = 1; k <= rounds; k++)); do
	b0=$(bcpu "$SOLO_PID")
	read -r s_rate s50 s99 s_cl <<<"$(run "$S" "solo-$k")"
	sb_sum=$((sb_sum + $(bcpu "$SOLO_PID") - b0))
	read -r -a c0 <<<"$(vcpu)"
	b0=$(bcpu "$VAL_PID")
	read -r v_rate v50 v99 v_cl <<<"$(run "$V" "validators-$k")"
	vb_sum=$((vb_sum + $(bcpu "$VAL_PID") - b0))
	read -r -a c1 <<<"$(vcpu)"
	scl_sum=$(awk -v a="$scl_sum" -v b="$s_cl" 'BEGIN { print a + b }')
	vcl_sum=$(awk -v a="$vcl_sum" -v b="$v_cl" 'BEGIN { print a + b }')
	for i in 0 1 2 3; do
		cpu_sum[i]=$((cpu_sum[i] + c1[i] - c0[i]))
	done
	ventries=$((ventries + clients * per))
	ratio=$(awk -v a="$v_rate" -v b="$s_rate" 'BEGIN { printf "%.3f", a / b }')
	echo "  round $k: solo $s_rate entries/s (p50 $s50 ms, p99 $s99 ms); validators $v_rate entries/s (append to finality p50 $v50 ms, p99 $v99 ms); ratio $ratio"
	echo "$ratio $s_rate $s50 $s99 $v_rate $v50 $v99" >>"$OUT/rounds.txt"
done
read -r ratio s_rate s50 s99 v_rate v50 v99 <<<"$(sort -n "$OUT/rounds.txt" | awk -v m=$(((rounds + 1) / 2)) 'NR == m')"
echo "median round: validators/solo = $ratio (target >= 0.7); solo $s_rate/s, validators $v_rate/s"
echo "append to finality: p50 $v50 ms, p99 $v99 ms (target p99 < 50 ms)"
for i in 0 1 2 3; do
	awk -v t="${cpu_sum[i]}" -v hz="$hz" -v n="$ventries" -v v="v$((i + 1))" \
	    'BEGIN { printf "%s CPU per entry: %.1f us (%d entries)\n", v, t / hz * 1e6 / n, n }'
done
awk -v t="$sb_sum" -v hz="$hz" -v n="$ventries" \
    'BEGIN { printf "solo bridge CPU per entry: %.1f us (serve + key process)\n", t / hz * 1e6 / n }'
awk -v t="$vb_sum" -v hz="$hz" -v n="$ventries" \
    'BEGIN { printf "validators bridge CPU per entry: %.1f us (serve + key process)\n", t / hz * 1e6 / n }'
awk -v s="$scl_sum" -v v="$vcl_sum" -v n="$ventries" \
    'BEGIN { printf "bench client CPU per entry: solo %.1f us, validators %.1f us (setup and signing included)\n", s * 1e6 / n, v * 1e6 / n }'
for d in "$S" "$V"; do
	sqlite3 "$d/ledger.db" "SELECT '$(basename "$d") blocks: ' || count(*) || ', ' ||
	    printf('%.1f', 1.0 * max(size) / count(*)) || ' entries per block on average' FROM blocks"
done
for n in v1 v2 v3 v4; do
	echo "$n cosigned size $(vb_status "$n" size)"
done
KB_SERVE_PID=$VAL_PID
kb_stop >/dev/null
KB_SERVE_PID=$SOLO_PID
kb_stop >/dev/null
for n in v1 v2 v3 v4; do
	vd_stop "$n" >/dev/null
done
bench_csv append_rate "$v_rate" entries/s solo_append_rate "$s_rate"
bench_csv finality_p50 "$v50" ms solo_p50 "$s50"
bench_csv finality_p99 "$v99" ms solo_p99 "$s99"
# us_per_entry TICKS: CPU clock ticks over the validators' rounds, per entry
us_per_entry() { awk -v t="$1" -v hz="$hz" -v n="$ventries" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }'; }
for i in 0 1 2 3; do
	bench_csv "v$((i + 1))_cpu_per_entry" "$(us_per_entry "${cpu_sum[i]}")" us
done
bench_csv bridge_cpu_per_entry "$(us_per_entry "$vb_sum")" us solo_bridge_cpu_per_entry "$(us_per_entry "$sb_sum")"
