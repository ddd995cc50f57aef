#!/usr/bin/env bash
# scripts/fuzz-run.sh JOBS SECONDS TARGET...: runs libFuzzer targets
# (build/fuzz/fuzz_TARGET, tests/fuzz/fuzz.mk), JOBS at a time.  Each
# runs over its seed corpus tests/fuzz/corpus/TARGET/ (every seed once,
# as a regression test), then fuzzes for SECONDS (0: the seeds only).
# New inputs go to $FUZZ_DIR/new/TARGET/ (copy the useful ones into the
# corpus), crashes to $FUZZ_DIR/crash/TARGET/, each run's log to
# $FUZZ_DIR/log/TARGET.log.  One line per target: executions, the
# coverage reached, ok or FAIL; exit 1 when any target failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${FUZZ_DIR:-build/fuzz}
jobs=$1
secs=$2
shift 2
# An input of a parser is at most 64 KiB (EST_MAX_BODY, the entries'
# limit); a second per input is generous under ASan.
max_len=${FUZZ_MAX_LEN:-65536}

run_one() {
	local t=$1 bin corpus log rc execs cov
	bin="$dir/fuzz_$t"
	corpus="$root/tests/fuzz/corpus/$t"
	log="$dir/log/$t.log"
	mkdir -p "$dir/new/$t" "$dir/crash/$t" "$dir/log"
	if [ "$secs" -eq 0 ]; then
		"$bin" -runs=0 "$corpus" >"$log" 2>&1
	else
		"$bin" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
		    -rss_limit_mb=2048 -print_final_stats=1 \
		    -artifact_prefix="$dir/crash/$t/" \
		    "$dir/new/$t" "$corpus" >"$log" 2>&1
	fi
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		printf 'fuzz_%-12s %10s execs  %-10s ok\n' "$t" "${execs:-?}" "$cov"
	else
		printf 'fuzz_%-12s %10s execs  %-10s FAIL (%s)\n' "$t" "${execs:-?}" "$cov" "$log"
		tail -40 "$log"
		return 1
	fi
}
export -f run_one
export dir root secs max_len

start=$(date +%s)
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one {}'
rc=$?
echo "fuzz: $# targets, ${secs}s each, $jobs at a time: $(( $(date +%s) - start ))s"
[ "$rc" -eq 0 ]
