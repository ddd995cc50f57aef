#!/usr/bin/env bash
# test_bench_plots: `make bench-plots` turns the benchmarks' CSV figures
# (docs/benchmarks.md "CSV contract") into PNG plots and the latest run's
# table, and refuses a malformed history with a clear message.
#
#   1. rows written by tests/bench/common.bash's bench_csv (the helper every
#      benchmark uses), and its refusal of a value that is not a number;
#   2. `make bench-plots` on the fixture tests/bench/fixtures/history.csv
#      (three runs; the last one with a "scale" benchmark at three ledger
#      sizes) plus the bench_csv rows, into a temporary folder: every
#      expected PNG exists, is a PNG (signature, IHDR) of a sane size in
#      pixels and bytes; the table of the latest run lands between the
#      markers of a copy of a doc, the text around them kept;
#   3. malformed rows (a value that is no number, a missing field, a wrong
#      header, a header alone): exit status 2, "FILE:LINE: what" on
#      stderr, no Python traceback, no PNG drawn.
# Needs gnuplot (scripts/deps.sh installs gnuplot-nox) and python3.
. "$(dirname "$0")/lib.sh"

root=$(cd "$KB_LIB_DIR/../.." && pwd)
fixture="$root/tests/bench/fixtures"
command -v gnuplot >/dev/null || fail "gnuplot is not installed (scripts/deps.sh installs gnuplot-nox)"
grep -q 'gnuplot-nox' "$root/scripts/deps.sh" || fail "scripts/deps.sh does not install gnuplot-nox"
make -s -C "$root" help >"$OUT/help.txt"
grep -q '^make bench-plots ' "$OUT/help.txt" || fail "make help does not list make bench-plots"

# plots CSV... : make bench-plots on CSV... into OUT/png, doc OUT/doc.md;
# its stdout and stderr in OUT/plots.out and OUT/plots.err; its status.
plots() {
	local rc=0
	make -s -C "$root" bench-plots BENCH_CSV="$*" BENCH_RUNS="$fixture/runs.csv" \
	    BENCH_PLOTS="$OUT/png" BENCH_DOC="$OUT/doc.md" >"$OUT/plots.out" 2>"$OUT/plots.err" || rc=$?
	return "$rc"
}

# ---- 1. bench_csv writes rows of the contract ------------------------------------------
mkdir -p "$OUT/bench"
(
	OUT="$OUT/bench" BENCH_NAME=fixture BENCH_RUN_ID=20261204T120000Z-abcdef0
	# shellcheck source=../bench/common.bash
	. "$root/tests/bench/common.bash"
	bench_csv get_rate 41000 answers/s nginx_rate 50000 100000
	bench_csv get_p99 2.5 ms
	bench_csv rss_serve 512.5 MiB "" "" 1000000
) || fail "bench_csv refused good rows"
csv="$OUT/bench/results.csv"
assert_eq 4 "$(wc -l <"$csv")" "lines of bench_csv's results.csv (header and three rows)"
assert_eq "run_id,date,bench,metric,value,unit,reference_metric,reference_value,ratio,ledger_size,load" \
    "$(head -n 1 "$csv")" "results.csv header"
assert_eq "fixture,get_rate,41000,answers/s,nginx_rate,50000,0.8200,100000" \
    "$(sed -n 2p "$csv" | cut -d, -f3-10)" "bench_csv row with its ratio computed"
if (OUT="$OUT/bench2" && mkdir -p "$OUT" && . "$root/tests/bench/common.bash" &&
    bench_csv get_rate 12,5 answers/s) 2>"$OUT/bad-bench-csv.err"; then
	fail "bench_csv accepted the value 12,5"
fi
assert_contains "$(cat "$OUT/bad-bench-csv.err")" "is not a number" "bench_csv's refusal"

# ---- 2. the plots and the table --------------------------------------------------------
printf '# Doc\n\nbefore\n<!-- latest-run:begin -->\nold table\n<!-- latest-run:end -->\nafter\n' >"$OUT/doc.md"
plots "$fixture/history.csv" "$csv" || fail "make bench-plots on the fixture: $(cat "$OUT/plots.err")"
# png_check FILE MIN_H MAX_H: a PNG 900 pixels wide, MIN_H..MAX_H high,
# 5 KB to 2 MB.
png_check() {
	python3 - "$@" <<'PY' || fail "$1 is not a sane PNG"
import struct, sys
path, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
    sys.exit("%s: no PNG signature and IHDR" % path)
w, h = struct.unpack(">II", data[16:24])
if w != 900 or not lo <= h <= hi:
    sys.exit("%s: %dx%d pixels, want 900 x %d..%d" % (path, w, h, lo, hi))
if not 5000 <= len(data) <= 2000000:
    sys.exit("%s: %d bytes" % (path, len(data)))
if b"IEND" not in data[-12:]:
    sys.exit("%s: no IEND at the end" % path)
PY
}
# est: rates, p99, CPU and ratio panels; scale: rates, p99 (against ledger
# size) and ratio; ocsp: rates, p99, ratio; fixture (bench_csv's): rates,
# p99, ratio
png_check "$OUT/png/est.png" 1200 1200
png_check "$OUT/png/scale.png" 900 900
png_check "$OUT/png/ocsp.png" 900 900
png_check "$OUT/png/fixture.png" 900 900
png_check "$OUT/png/memory.png" 300 600
png_check "$OUT/png/ratios.png" 200 800
assert_eq 6 "$(find "$OUT/png" -name '*.png' | wc -l)" "PNGs drawn (est, scale, ocsp, fixture, memory, ratios)"
assert_contains "$(cat "$OUT/plots.out")" "4 runs, 30 figures; latest run 20261204T120000Z-abcdef0" "make bench-plots' summary"
doc=$(cat "$OUT/doc.md")
assert_contains "$doc" "before" "text before the markers kept"
assert_contains "$doc" "after" "text after the markers kept"
case $doc in *"old table"*) fail "the old table is still in the doc" ;; esac
assert_contains "$doc" "| fixture | get_rate | 41,000 answers/s | nginx_rate 50,000 | 0.82 | 100,000 |" "latest run's rate row"
assert_contains "$doc" "| fixture | rss_serve | 512 MiB |" "latest run's memory row"
# each benchmark's latest run: the scale figures of the run before stay
# (make bench-scale and make bench are separate runs)
assert_contains "$doc" "| scale | ocsp_get_rate | 41,000 answers/s | nginx_rate 60,000 | 0.683 | 1,000,000 |" "the scale row of its own latest run"
assert_contains "$doc" "Run \`20261203T100000Z-3333333+\` (api, est, ocsp, scale)" "the earlier run named with its benchmarks"
# the fixture's last run is not the latest any more: drawn alone, it is
plots "$fixture/history.csv" || fail "make bench-plots on the fixture alone: $(cat "$OUT/plots.err")"
assert_contains "$(cat "$OUT/doc.md")" "2 cores (\`nproc\`), Fixture CPU" "machine line of the fixture's latest run (runs.csv)"
assert_contains "$(cat "$OUT/doc.md")" "| scale | ocsp_get_rate | 41,000 answers/s | nginx_rate 60,000 | 0.683 | 1,000,000 |" "the scale row at a million"

# ---- 3. malformed CSVs: a clear error, nothing drawn --------------------------------------
# bad NAME LINE-NUMBER EXPECTED: the fixture changed by the sed script in
# OUT/NAME.sed makes scripts/bench-plots.py (what make bench-plots runs;
# make's own status would be 2 for any failure) exit with status 2, stderr holds "NAME.csv:LINE" and
# EXPECTED, no traceback, and no PNG was drawn.
bad() {
	local rc=0
	sed -f "$OUT/$1.sed" "$fixture/history.csv" >"$OUT/$1.csv"
	rm -rf "$OUT/png"
	python3 "$root/scripts/bench-plots.py" --out "$OUT/png" "$OUT/$1.csv" >"$OUT/plots.out" 2>"$OUT/plots.err" || rc=$?
	assert_eq 2 "$rc" "scripts/bench-plots.py's status on $1.csv ($(cat "$OUT/plots.err"))"
	local err
	err=$(cat "$OUT/plots.err")
	assert_contains "$err" "bench-plots: $OUT/$1.csv${2:+:$2}" "$1: the file and line named"
	assert_contains "$err" "$3" "$1: what is wrong"
	case $err in *Traceback*) fail "$1: a Python traceback: $err" ;; esac
	[ -z "$(find "$OUT/png" -name '*.png' 2>/dev/null)" ] || fail "$1: PNGs drawn from a malformed CSV"
}
echo '8s/,1320,enrollments/,13x0,enrollments/' >"$OUT/badvalue.sed"
bad badvalue 8 "value '13x0' is not a number"
echo '7s/,[^,]*$//' >"$OUT/shortrow.sed"
bad shortrow 7 "10 fields, want 11"
echo '1s/ratio,/ratio;/' >"$OUT/header.sed"
bad header 1 "header is"
echo '2,$d' >"$OUT/empty.sed"
bad empty "" "no figures (only a header)"
echo '3s/,ms,/,m s,/' >"$OUT/unit.sed"
bad unit 3 "unit 'm s' is not a unit"
echo "bench_plots: OK"
