#!/usr/bin/env bash
# tests/bench/snappause.sh SRC: the writer's pause while the status map's
# snapshot is written while serving (issue 18, docs/benchmarks.md "Map
# snapshot without pausing the writer").  SRC: a data directory
# bench_fill filled (its map.snap and OCSP store made by a clean stop);
# never changed: every run works on a fresh `cp -a` of it.
#   BENCH_PAUSE_ROUNDS (default 2) rounds of two runs, the reference
#   binary KEYBRIDGE_BASE first, then KEYBRIDGE; each: serve started on
#   the copy with map_snapshot_entries BENCH_PAUSE_EVERY (default 200),
#   then BENCH_PAUSE_K (default 600) keys revoked one after another
#   (`keybridge key revoke`, each waited for: its time is the revocation's
#   latency through the bridge, with the CLI's start), so a snapshot is
#   due every EVERY revocations.  Reported: the latencies' median,
#   p99 and max, how many took over 100 ms, those of the revocations
#   whose block made a snapshot due (every EVERY-th: the writer writes
#   the snapshot before it hands that block on), the snapshots written (and
#   their times, from the log), and serve's CPU per revocation (utime +
#   stime from /proc, over the revocations).
# Prints RESULT lines.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/snappause}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${KEYBRIDGE_BASE:?set KEYBRIDGE_BASE to the reference binary (main)}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=scale_lib.bash
. "$root/tests/bench/scale_lib.bash"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"

src=${1:?usage: snappause.sh SRC}
K=${BENCH_PAUSE_K:-600}
EVERY=${BENCH_PAUSE_EVERY:-200}
rounds=${BENCH_PAUSE_ROUNDS:-2}
work="$OUT/run"
N=$(wc -l <"$src/fill-serials.txt")
WANT=$((2 * N))
[ -f "$OUT/scale.csv" ] || echo "size,phase,metric,value" >"$OUT/scale.csv"
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }

# one_run TAG: a fresh copy, serve, K revocations, stop.
one_run() {
	local tag=$1 ports c0 c1 t lat n ms
	rm -rf "$work"
	cp -a "$src" "$work"
	ports=$(kb_free_ports 2)
	kb_conf_set "$work" est_listen "127.0.0.1:${ports%% *}" >/dev/null
	kb_conf_set "$work" http_listen "127.0.0.1:${ports##* }" >/dev/null
	kb_conf_set "$work" public_https_url "https://127.0.0.1:${ports%% *}" >/dev/null
	kb_conf_set "$work" public_http_url "http://127.0.0.1:${ports##* }" >/dev/null
	kb_conf_set "$work" access_log "" >/dev/null
	kb_conf_set "$work" map_snapshot_entries "$EVERY" >/dev/null
	kb_conf_set "$work" map_snapshot_seconds 0 >/dev/null
	[ -s "$work/paths.txt" ] || make_paths "$work" 5000
	start_measured "$work" store "$tag start"
	sqlite3 -readonly "$work/ledger.db" "SELECT key_id FROM keys WHERE revoked_idx IS NULL ORDER BY key_id LIMIT $K" >"$OUT/revoke.txt"
	: >"$OUT/lat-$tag.txt"
	c0=$(cpu_ms "$KB_SERVE_PID")
	while read -r id; do
		t=$(now_us)
		"$KB" key revoke -d "$work" --key-id "$id" --reason keyCompromise >/dev/null
		echo $((($(now_us) - t) / 1000)) >>"$OUT/lat-$tag.txt"
	done <"$OUT/revoke.txt"
	c1=$(cpu_ms "$KB_SERVE_PID")
	lat=$(sort -n "$OUT/lat-$tag.txt" | awk '{ v[NR] = $1 } $1 > 100 { slow++ }
	    END { printf "median %d ms, p99 %d ms, max %d ms, %d over 100 ms", v[int(NR / 2) + 1], v[int(NR * 0.99)], v[NR], slow }')
	# the revocations whose block made a snapshot due (one entry each:
	# every EVERY-th): with the write on the writer's thread, answered
	# only after it
	trig=$(awk -v e="$EVERY" 'NR % e == 0 { printf "%s%d", sep, $1; sep = "," }' "$OUT/lat-$tag.txt")
	n=$(grep -c "status map snapshot of size .* written .*while serving" "$OUT/serve.log" || true)
	ms=$(grep -o "status map snapshot of size [0-9]* written to [^ ]* in [0-9.]* s" "$OUT/serve.log" | awk '{ print $(NF - 1) }' | paste -sd, -)
	echo "RESULT snappause $N: $tag: $K revocations: $lat; the ones that made a snapshot due: $trig ms; $n snapshots while serving ($ms s); serve CPU $(((c1 - c0) * 1000 / K)) us/revocation; load $(cut -d' ' -f1-3 /proc/loadavg)"
	csv "$N" "$tag" max_ms "$(sort -n "$OUT/lat-$tag.txt" | tail -n 1)"
	kb_stop
	rm -rf "$work"
}

echo "snappause: $src, $N certificates, K $K, every $EVERY; $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
	for bin in base new; do
		[ "$bin" = base ] && KB="$KEYBRIDGE_BASE" || KB="$KEYBRIDGE"
		KEYBRIDGE=$KB one_run "$bin$r"
	done
done
echo "snappause: done $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
