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
#      over the validators' rounds).
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

vcpu() {
	local n t=""
	for n in v1 v2 v3 v4; do
		t="$t $(cpu_ticks "${VD_PID[$n]}")"
	done
	echo "$t"
}

# run DIR TAG: one bench_entries run; prints "rate p50 p99".
run() {
	local f="$OUT/$2.txt"
	"$ENTRIES_BIN" "$1" "$clients" "$per" >"$f" 2>&1 || fail "bench_entries $2: $(tail -n 3 "$f")"
	awk '/^entries_per_second/ { r = $2 } /^p50_ms/ { a = $2 } /^p99_ms/ { b = $2 }
	    END { printf "%s %s %s\n", r, a, b }' "$f"
	sleep 1		# bench_entries names its accounts by the second
}

echo "$clients clients x $per entries, $rounds alternating rounds: solo, then four validators (quorum 3)"
: >"$OUT/rounds.txt"
declare -a cpu_sum=(0 0 0 0)
ventries=0
for ((k = 1; k <= rounds; k++)); do
	read -r s_rate s50 s99 <<<"$(run "$S" "solo-$k")"
	read -r -a c0 <<<"$(vcpu)"
	read -r v_rate v50 v99 <<<"$(run "$V" "validators-$k")"
	read -r -a c1 <<<"$(vcpu)"
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
