#!/usr/bin/env bash
# scripts/est_threads.sh: the keepalive round of tests/bench/est.sh
# (BENCH_EST_CLIENTS clients x BENCH_EST_PER_CLIENT enrollments, one TLS
# connection each) for several binaries in turn, with the CPU time per
# enrollment of every thread of `serve` and of its key process (from
# /proc/PID/task/*/stat) and of the bench client, so that two builds can
# be compared in the same minutes on a shared machine (issue 18).
#
#   bash scripts/est_threads.sh ROUNDS BINARY[,KEY=VALUE...]...
#
# (KEY=VALUE: keybridge.conf settings for that binary's bridge, e.g.
# build/keybridge,est_workers=0.)
# One line per binary and round:
#   RUN <binary> <rate>/s p50 p99 | <thread>=<us> ... | total=<us>
# With PERF=1 each round also records `perf record -g` of serve and its key
# process into OUT/perf-<round>-<n>.data (perf record --call-graph dwarf).
# Not part of `make bench`; needs `make all build/bench/bench_enroll
# build/bench/bench_register`.

set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${OUT:=$root/tests/out/bench/est_threads}"
: "${BENCH:=$root/build/bench}"
KEYBRIDGE=${KEYBRIDGE:-$root/build/keybridge}
mkdir -p "$OUT"
# shellcheck source=tests/integration/lib.sh
. "$root/tests/integration/lib.sh"

rounds=${1:?usage: est_threads.sh ROUNDS BINARY...}
shift
clients=${BENCH_EST_CLIENTS:-16}
per=${BENCH_EST_PER_CLIENT:-250}
n=$((clients * per))

# threads_cpu PID: "+N ticks" for every thread of PID, N its tid minus
# PID (threads are unnamed; 0 is the main thread, then in creation order).
threads_cpu() {
	local t
	for t in /proc/"$1"/task/*; do
		[ -r "$t/stat" ] || continue
		sed 's/^.*) //' "$t/stat" |
		    awk -v o="$((${t##*/} - $1))" '{ print "+" o, $12 + $13 }'
	done
}

round=0
while [ "$round" -lt "$rounds" ]; do
	round=$((round + 1))
	i=0
	for arg in "$@"; do
		i=$((i + 1))
		IFS=, read -r -a parts <<<"$arg"
		bin=${parts[0]}
		KEYBRIDGE=$bin
		dir="$OUT/d$i"
		rm -rf "$dir" "$OUT/csrs$i"
		kb_init "$dir" >/dev/null
		for kv in "${parts[@]:1}"; do
			kb_conf_set "$dir" "${kv%%=*}" "${kv#*=}"
		done
		"$BENCH/bench_register" "$dir" "$n" "$OUT/csrs$i" >/dev/null
		kb_start "$dir"
		kp=$(cat /proc/"$KB_SERVE_PID"/task/*/children | tr ' ' '\n' | grep -m 1 '[0-9]')
		{ threads_cpu "$KB_SERVE_PID" | sed 's/^/s_/'; threads_cpu "$kp" | sed 's/^/k_/'; } >"$OUT/cpu0"
		if [ "${PERF:-0}" = 1 ]; then
			perf record -F 1999 --call-graph dwarf,16384 -o "$OUT/perf-$round-$i.data" -p "$KB_SERVE_PID,$kp" >/dev/null 2>&1 &
			perf_pid=$!
			sleep 0.5
		fi
		"$BENCH/bench_enroll" "$dir" "$clients" "$per" "$OUT/csrs$i/csrs.txt" keepalive >"$OUT/ka.txt"
		{ threads_cpu "$KB_SERVE_PID" | sed 's/^/s_/'; threads_cpu "$kp" | sed 's/^/k_/'; } >"$OUT/cpu1"
		if [ "${PERF:-0}" = 1 ]; then
			kill -INT "$perf_pid"
			wait "$perf_pid" || true
		fi
		kb_stop
		awk -v tck="$(getconf CLK_TCK)" -v bin="$arg" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
		    FILENAME == ARGV[1] { a[$1] = $2; next }
		    FILENAME == ARGV[2] { if ($1 in a) d[$1] = $2 - a[$1]; else d[$1] = $2; next }
		    /^enrollments_ok/ { ok = $2 } /^enrollments_per_second/ { r = $2 }
		    /^p50_ms/ { p50 = $2 } /^p99_ms/ { p99 = $2 }
		    /^client_cpu_seconds/ { c = $2 }
		    END {
			if (ok == 0) { print "RUN " bin " no enrollment answered"; exit 1 }
			line = ""; tot = 0
			for (k in d) {
				per[k] += d[k] * 1e6 / tck / ok
			}
			for (k in per) if (per[k] >= 1) { line = line " " k "=" sprintf("%.0f", per[k]); tot += per[k] }
			cl = c * 1e6 / ok
			printf "RUN %s %s/s p50 %s p99 %s ok %d load %s |%s client=%.0f | total=%.0f => %.0f/s on 2 cores\n", bin, r, p50, p99, ok, load, line, cl, tot + cl, 2e6 / (tot + cl)
		    }' "$OUT/cpu0" "$OUT/cpu1" "$OUT/ka.txt" | tee -a "$OUT/runs.txt"
	done
done
