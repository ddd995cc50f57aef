#!/usr/bin/env bash
# scripts/bench.sh: runs every tests/bench/*.sh in order and shows its output.
# Environment from the Makefile: KEYBRIDGE (the binary), BENCH (the folder of
# the built C benchmarks).  Each script gets OUT=tests/out/bench/<name>/.
#
# One run has one id, BENCH_RUN_ID (UTC start time and the commit's short
# hash, "+" when tracked files have uncommitted changes), exported to every
# script; each writes its figures to OUT/results.csv (tests/bench/common.bash
# bench_csv, docs/benchmarks.md "CSV contract"), and this script gathers
# them into tests/out/bench/results.csv and the run's machine, load and
# command into tests/out/bench/run.csv.
#   BENCH_ONLY="est ocsp"  runs only those scripts
#   BENCH_SKIP="scale"     scripts left out when BENCH_ONLY is not given
#                          (default: "scale crl_scale warmstart": the first
#                          two are `make bench-scale`, and warmstart.sh
#                          takes the data directory of a filled ledger)
#   BENCH_RECORD=1         appends the run to docs/bench/history.csv (the
#                          rows of the scripts that passed) and
#                          docs/bench/runs.csv (committed: the history
#                          `make bench-plots` draws)
#   BENCH_COMMAND=TEXT     the command runs.csv names (make bench-scale)
#   BENCH_RUN_ID=ID        continues run ID instead of starting one: with
#                          BENCH_ONLY, the scripts that failed in it run
#                          again and their rows join it (runs.csv gets a
#                          line of its own for that part, with its load)
# Exit 1 when a benchmark script failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

shopt -s nullglob
scripts=()
if [ -n "${BENCH_ONLY:-}" ]; then
	for name in $BENCH_ONLY; do
		if [ ! -f "tests/bench/$name.sh" ]; then
			echo "bench: no tests/bench/$name.sh (BENCH_ONLY=\"$BENCH_ONLY\")" >&2
			exit 1
		fi
		scripts+=("tests/bench/$name.sh")
	done
else
	for f in tests/bench/*.sh; do
		case " ${BENCH_SKIP-scale crl_scale warmstart} " in
		*" $(basename "$f" .sh) "*) ;;
		*) scripts+=("$f") ;;
		esac
	done
fi
if [ ${#scripts[@]} -eq 0 ]; then
	echo "bench: no benchmarks in tests/bench/"
	exit 0
fi

HEADER="run_id,date,bench,metric,value,unit,reference_metric,reference_value,ratio,ledger_size,load"
RUNS_HEADER="run_id,date,nproc,cpu_model,load_start,load_end,benches,failed,command"
all="$root/tests/out/bench"
mkdir -p "$all"
if [ -n "${BENCH_RUN_ID:-}" ]; then
	if ! [[ "$BENCH_RUN_ID" =~ ^[0-9]{8}T[0-9]{6}Z-[0-9a-z]+[+]?$ ]]; then
		echo "bench: BENCH_RUN_ID=$BENCH_RUN_ID is not a run id (YYYYMMDDTHHMMSSZ-HASH)" >&2
		exit 1
	fi
	echo "bench: continuing run $BENCH_RUN_ID"
	continued="BENCH_RUN_ID=$BENCH_RUN_ID "
else
	hash=$(git rev-parse --short HEAD 2>/dev/null || echo nogit)
	[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || hash="$hash+"
	BENCH_RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)-$hash"
fi
export BENCH_RUN_ID
start_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1 /proc/loadavg)
model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo | tr -s ' ,"' ' ')
echo "bench: run $BENCH_RUN_ID on $(nproc) x ${model:-unknown CPU}, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$HEADER" >"$all/results.csv"

failed=0
passed=()
failed_names=()
for f in "${scripts[@]}"; do
	name=$(basename "$f" .sh)
	out="$all/$name"
	rm -rf "$out"
	mkdir -p "$out"
	echo "== $name"
	if OUT="$out" bash "$f"; then
		passed+=("$name")
	else
		echo "bench: $name FAILED"
		failed=$((failed + 1))
		failed_names+=("$name")
	fi
	# every row the script wrote, failed or not (a failed one's are
	# kept out of the history)
	[ ! -f "$out/results.csv" ] || tail -n +2 "$out/results.csv" >>"$all/results.csv"
	echo
done
load_end=$(cut -d' ' -f1 /proc/loadavg)
command="make bench"
[ -z "${BENCH_ONLY:-}" ] || command="BENCH_ONLY=\"$BENCH_ONLY\" make bench"
[ -z "${BENCH_COMMAND:-}" ] || command=$BENCH_COMMAND	# make bench-scale
[ -z "${BENCH_RECORD:-}" ] || command="BENCH_RECORD=$BENCH_RECORD $command"
# the benchmarks' own settings (BENCH_API_CERTS=..., tests/bench/*.sh
# headers), so the command says what was measured
settings=$(env | grep -E '^BENCH_[A-Z0-9_]+=' | grep -Ev '^BENCH_(RUN_ID|ONLY|RECORD|COMMAND|CRL_FROM)=|^BENCH=' |
    sort | tr '\n' ' ' | tr -d ',"')
command="${continued:-}$settings$command"
{
	echo "$RUNS_HEADER"
	printf '%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$BENCH_RUN_ID" "$start_date" "$(nproc)" "$model" \
	    "$load_start" "$load_end" "${passed[*]:-}" "${failed_names[*]:-}" "$command"
} >"$all/run.csv"
echo "bench: $(($(wc -l <"$all/results.csv") - 1)) figures in tests/out/bench/results.csv"

if [ "${BENCH_RECORD:-0}" = 1 ]; then
	hist="$root/docs/bench/history.csv"
	runs="$root/docs/bench/runs.csv"
	mkdir -p "$root/docs/bench"
	[ -s "$hist" ] || echo "$HEADER" >"$hist"
	[ -s "$runs" ] || echo "$RUNS_HEADER" >"$runs"
	n=0
	for name in "${passed[@]}"; do
		[ -f "$all/$name/results.csv" ] || continue
		tail -n +2 "$all/$name/results.csv" >>"$hist"
		n=$((n + $(tail -n +2 "$all/$name/results.csv" | wc -l)))
	done
	tail -n 1 "$all/run.csv" >>"$runs"
	echo "bench: run $BENCH_RUN_ID recorded: $n rows appended to docs/bench/history.csv${failed_names[*]:+ (not those of the failed ${failed_names[*]})}"
fi
[ "$failed" -eq 0 ]
