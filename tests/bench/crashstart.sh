#!/usr/bin/env bash
# tests/bench/crashstart.sh DIR: the restart of a big bridge after a crash
# (issue 18, docs/benchmarks.md "Crash restart with the map snapshot
# while serving"), on DIR, a data directory bench_fill filled and a
# clean stop left with its map snapshot and OCSP store (warmstart.sh does
# both; the bridge stopped; work on a copy: this changes it).
#   1. serve (KEYBRIDGE) starts from that snapshot; BENCH_CRASH_K (default
#      1000) keys are revoked through it (`keybridge key revoke`, four at
#      a time), with map_snapshot_entries 0.6 K: one snapshot is written
#      while serving (its time logged), the last 0.4 K entries are in
#      none; then SIGKILL.
#   2. BENCH_CRASH_ROUNDS (default 2) rounds of two restarts, the
#      reference binary KEYBRIDGE_BASE first (without the replay: it
#      rebuilds the map from the registry), then KEYBRIDGE (replays the K
#      entries onto the snapshot); each timed from its start to the first
#      OCSP answer and to every certificate answerable, with serve's CPU
#      time (utime + stime from /proc) at that moment, then SIGKILL again,
#      so every restart finds the same files.
# Prints RESULT lines; figures also in OUT/scale.csv.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/crashstart}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${KEYBRIDGE_BASE:?set KEYBRIDGE_BASE to the reference binary (main without the replay)}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"
# shellcheck source=scale_lib.bash
. "$root/tests/bench/scale_lib.bash"

dir=${1:?usage: crashstart.sh DIR}
K=${BENCH_CRASH_K:-1000}
rounds=${BENCH_CRASH_ROUNDS:-2}
N=$(wc -l <"$dir/fill-serials.txt")
WANT=$((2 * N))
[ -f "$OUT/scale.csv" ] || echo "size,phase,metric,value" >"$OUT/scale.csv"
# cpu_ms PID: utime + stime of PID in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }
crash() {
	kill -KILL "$KB_SERVE_PID"
	wait "$KB_SERVE_PID" 2>/dev/null || true
	kb_untrack "$KB_SERVE_PID"
}

echo "crashstart: $dir, $N certificates, K $K; $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
kb_conf_set "$dir" ocsp_store ocsp-store.db >/dev/null
# one snapshot written while serving, at 0.6 K of the K revocations (its
# time in the log); the 0.4 K after it are what a restart replays
kb_conf_set "$dir" map_snapshot_entries $((K * 6 / 10)) >/dev/null
kb_conf_set "$dir" map_snapshot_seconds 0 >/dev/null
[ -s "$dir/paths.txt" ] || make_paths "$dir" 5000
[ -s "$dir/map.snap" ] || fail "no map.snap in $dir: stop the bridge cleanly first (warmstart.sh)"

start_measured "$dir" store "prepare"
grep "status map" "$OUT/serve.log" | sed 's/^/  /'
# active keys, read from the database (`key list` would open the ledger
# and build its map)
sqlite3 -readonly "$dir/ledger.db" "SELECT key_id FROM keys WHERE revoked_idx IS NULL ORDER BY key_id LIMIT $K" >"$OUT/revoke.txt"
[ "$(wc -l <"$OUT/revoke.txt")" -eq "$K" ] || fail "key list gave $(wc -l <"$OUT/revoke.txt") active keys, not $K"
t=$(now_us)
xargs -P 4 -I{} "$KEYBRIDGE" key revoke -d "$dir" --key-id {} --reason keyCompromise \
    <"$OUT/revoke.txt" >/dev/null
echo "  $K revocations through the bridge in $((($(now_us) - t) / 1000)) ms"
grep "(while serving)" "$OUT/serve.log" | sed 's/^/  /'
crash
# the rounds keep the defaults (KEYBRIDGE_BASE does not know the keys;
# KEYBRIDGE writes no snapshot: 0.4 K entries are far below 100,000)
sed -i '/^map_snapshot_/d' "$dir/keybridge.conf"
# not counted: the first restart signs the revoked certificates' answers
# into the store; every later one finds them there
start_measured "$dir" store "warm-up"
crash

for ((r = 1; r <= rounds; r++)); do
	for bin in base new; do
		[ "$bin" = base ] && KB="$KEYBRIDGE_BASE" || KB="$KEYBRIDGE"
		KEYBRIDGE=$KB start_measured "$dir" store "crash-$bin$r"
		c=$(cpu_ms "$KB_SERVE_PID")
		line=$(grep "ledger: status map" "$OUT/serve.log" | head -n 2 | sed 's/^.*ledger: //' | paste -sd';')
		echo "RESULT crashstart $N: $bin round $r: first answer $T_FIRST ms, all answerable $T_ALL ms, serve CPU $c ms by then; $line"
		csv "$N" "crash-$bin$r" cpu_ms "$c"
		crash
		sleep 1
	done
done
echo "crashstart: done $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
