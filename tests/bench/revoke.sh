#!/usr/bin/env bash
# tests/bench/revoke.sh: `keybridge key revoke` through a serving bridge
# (docs/benchmarks.md "key revoke, four at a time").  BENCH_REVOKE_N keys
# (default 1200) registered with bench_register while the bridge is
# stopped; serve started; then, for each binary of BENCH_REVOKE_BINS
# (default KEYBRIDGE; list main's and this one's to alternate them),
# BENCH_REVOKE_PER (default 100) keys revoked BENCH_REVOKE_P (default 4)
# at a time with xargs.  One RESULT line per binary: calls/s, the CLI
# processes' CPU a call (user + sys of xargs's children), serve's CPU a
# call (utime + stime from /proc), the bad_sequence 409s in serve's log,
# the blocks made, the load.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/revoke}"
: "${KEYBRIDGE:=$root/build/keybridge}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"

N=${BENCH_REVOKE_N:-1200}
PER=${BENCH_REVOKE_PER:-100}
P=${BENCH_REVOKE_P:-4}
REGISTER=${BENCH_REGISTER:-"$(dirname "$KEYBRIDGE")/bench/bench_register"}
read -r -a BINS <<<"${BENCH_REVOKE_BINS:-$KEYBRIDGE}"
B="$OUT/bridge"

[ -x "$REGISTER" ] || fail "no $REGISTER (make bench)"
kb_init "$B"
"$REGISTER" "$B" "$N" "$OUT/reg" >"$OUT/reg.log" 2>&1 ||
	fail "bench_register: $(tail -n 3 "$OUT/reg.log")"
kb_start "$B"
sqlite3 -readonly "$B/ledger.db" "SELECT key_id FROM keys WHERE revoked_idx IS NULL ORDER BY key_id LIMIT $((PER * ${#BINS[@]}))" >"$OUT/revoke.txt"
off=1
for bin in "${BINS[@]}"; do
	sed -n "${off},+$((PER - 1))p" "$OUT/revoke.txt" >"$OUT/part.txt"
	off=$((off + PER))
	n=$(wc -l <"$OUT/part.txt")
	[ "$n" -eq "$PER" ] || fail "only $n active keys left to revoke"
	e0=$(grep -c '"POST /api/v1/entries" 409' "$OUT/serve.log" || true)
	h0=$(sqlite3 -readonly "$B/ledger.db" 'SELECT max(height) FROM blocks')
	c0=$(awk '{ print $14 + $15 }' "/proc/$KB_SERVE_PID/stat")
	load=$(cut -d' ' -f1 /proc/loadavg)
	t0=$(date +%s%N)
	/usr/bin/time -f "%U %S" -o "$OUT/time.txt" xargs -P "$P" -I{} \
	    "$bin" key revoke -d "$B" --key-id {} --reason keyCompromise \
	    <"$OUT/part.txt" >/dev/null || fail "$bin key revoke failed"
	t1=$(date +%s%N)
	c1=$(awk '{ print $14 + $15 }' "/proc/$KB_SERVE_PID/stat")
	e1=$(grep -c '"POST /api/v1/entries" 409' "$OUT/serve.log" || true)
	h1=$(sqlite3 -readonly "$B/ledger.db" 'SELECT max(height) FROM blocks')
	tick=$(getconf CLK_TCK)
	echo "RESULT $(date -u +%T) bin=$bin N=$N P=$P n=$n" \
	    "rate=$(awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", n * 1e9 / ns }')/s" \
	    "cli_cpu=$(awk -v n="$n" '{ printf "%.1f", ($1 + $2) * 1000 / n }' "$OUT/time.txt")ms" \
	    "serve_cpu=$(awk -v n="$n" -v c=$((c1 - c0)) -v t="$tick" 'BEGIN { printf "%.2f", c * 1000 / t / n }')ms" \
	    "bad_sequence=$((e1 - e0)) blocks=$((h1 - h0)) load=$load"
done
kb_stop
