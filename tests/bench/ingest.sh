#!/usr/bin/env bash
# tests/bench/ingest.sh: the append benchmark (bench_entries, as ledger.sh
# runs it) alternating two bridge binaries in the same run, beside one
# core's Ed25519 verify rate measured between the rounds (the machine is
# shared: the ratios are the figures).  Per round and binary: entries/s,
# p50/p99, and the CPU time per entry of `keybridge serve` and of the
# client, from /proc (utime + stime of every thread).
#
#   KEYBRIDGE=new REF_KEYBRIDGE=old ROUNDS=3 bash tests/bench/ingest.sh
# Env: BENCH_CLIENTS (16), BENCH_PER_CLIENT (1000), ROUNDS (3); ABLATE=1
# adds two runs of the new binary per round, without the signature pool
# (keybridge.conf ingest_threads = 0) and without the pipelined seal
# (ingest_pipeline = 0).  BATCH="64 256" (default "64"; "" for none)
# adds per round and size K a run of the new binary with K entries per
# request ({"entries": [...]}, bench_entries BENCH_BATCH=K; max_body 1 MiB).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/ingest}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${REF_KEYBRIDGE:=/work/main/build/keybridge}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"

clients=${BENCH_CLIENTS:-16}
per=${BENCH_PER_CLIENT:-1000}
rounds=${ROUNDS:-3}
hz=$(getconf CLK_TCK)
new=$KEYBRIDGE

ed_verify_rate() {
	openssl speed -seconds 2 ed25519 2>/dev/null |
	    awk '/Ed25519/ && $NF ~ /^[0-9.]+$/ { print $NF }' | tail -n 1
}

# one_run TAG BINARY: one append run on a fresh data directory.
one_run() {
	local tag=$1 bin=$2 dir s0 s1 ref rate
	KEYBRIDGE=$bin
	dir="$OUT/$tag"
	rm -rf "$dir"
	kb_init "$dir" >/dev/null
	[ -z "${BENCH_BATCH:-}" ] || kb_conf_set "$dir" max_body 1048576
	# RUN_CONF="key=value": one keybridge.conf setting for this run
	[ -z "${RUN_CONF:-}" ] || kb_conf_set "$dir" "${RUN_CONF%%=*}" "${RUN_CONF#*=}"
	kb_start "$dir"
	s0=$(cpu_ticks "$KB_SERVE_PID")
	/usr/bin/time -f "client_cpu_s %U %S" -o "$OUT/$tag.time" \
	    "$BENCH/bench_entries" "$dir" "$clients" "$per" >"$OUT/$tag.txt"
	s1=$(cpu_ticks "$KB_SERVE_PID")
	kb_stop
	"$bin" ledger verify -d "$dir" >/dev/null 2>&1 ||
	    fail "ledger verify failed after the $tag run"
	ref=$(ed_verify_rate)
	rate=$(awk '/^entries_per_second/ { print $2 }' "$OUT/$tag.txt")
	awk -v tag="$tag" -v rate="$rate" -v ref="$ref" -v s="$((s1 - s0))" \
	    -v hz="$hz" -v n="$((clients * per))" '
	    FILENAME ~ /time$/ && $1 == "client_cpu_s" { c = $2 + $3 }
	    FILENAME ~ /txt$/ && $1 == "p50_ms" { p50 = $2 }
	    FILENAME ~ /txt$/ && $1 == "p99_ms" { p99 = $2 }
	    END { printf "%s %.0f entries/s p50 %s ms p99 %s ms; ed25519 verify %.0f/s: ratio %.3f; serve %.1f us/entry, client %.1f us/entry\n",
		tag, rate, p50, p99, ref, rate / ref, s / hz / n * 1e6, c / n * 1e6 }' \
	    "$OUT/$tag.time" "$OUT/$tag.txt" | tee -a "$OUT/result.txt"
	# the pool's share (a binary without the pipeline logs nothing)
	grep -a "checked ahead" "$OUT/serve.log" | tail -n 1 |
	    sed 's/.*ledger: /  /' | tee -a "$OUT/result.txt" || true
	: >"$OUT/serve.log"
}

: >"$OUT/result.txt"
echo "$(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg); $clients clients x $per entries" | tee -a "$OUT/result.txt"
for r in $(seq 1 "$rounds"); do
	one_run "new-$r" "$new"
	one_run "main-$r" "$REF_KEYBRIDGE"
	if [ "${ABLATE:-0}" = 1 ]; then
		RUN_CONF=ingest_threads=0 one_run "nopool-$r" "$new"
		RUN_CONF=ingest_pipeline=0 one_run "nopipe-$r" "$new"
	fi
	for k in ${BATCH-64}; do
		BENCH_BATCH=$k one_run "batch$k-$r" "$new"
	done
done
echo "$(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/result.txt"
