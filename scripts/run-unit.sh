#!/usr/bin/env bash
# scripts/run-unit.sh BIN...: runs cmocka test binaries and sums their tests.
#
# Each binary prints "[  PASSED  ] N test(s)." and, when some failed,
# "[  FAILED  ] N test(s), listed below:".  A binary that dies before its
# summary (a crash, a sanitizer abort) counts the tests it did not finish
# as failed, at least one.  The output of a failing binary is shown whole.
# Last line: "N passed, N failed".  Exit 1 when anything failed.
#
# The storage tests run on SQLite and on PostgreSQL: unless KB_TEST_PG_URL
# already names a server, a throwaway one is started for the run with
# scripts/pg.sh (in a temporary directory) and stopped after it.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
bad_bins=()
tmp=$(mktemp)
pgdir=""
cleanup() {
	rm -f "$tmp"
	if [ -n "$pgdir" ]; then
		"$root/scripts/pg.sh" destroy "$pgdir"
	fi
}
trap cleanup EXIT

# KB_TEST_PG_WRITERS makes test_ledger run its scaled writers' test alone
# (test_pg_concurrency.sh): inherited here it would skip the whole suite.
unset KB_TEST_PG_WRITERS KB_TEST_PG_ENTRIES KB_TEST_SQLITE_ONLY

if [ -z "${KB_TEST_PG_URL:-}" ]; then
	pgdir=$(mktemp -d /tmp/kb-unit-pg.XXXXXX)
	pgstart=$(date +%s.%N)
	if ! KB_TEST_PG_URL=$("$root/scripts/pg.sh" start "$pgdir"); then
		echo "FAIL: cannot start PostgreSQL for the unit tests (scripts/pg.sh start $pgdir)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	export KB_TEST_PG_URL
	echo "PostgreSQL for the unit tests: $KB_TEST_PG_URL ($(awk -v s="$pgstart" -v e="$(date +%s.%N)" 'BEGIN{printf "%.2f", e-s}')s to start)"
fi

# sum: the sum of the numbers on stdin, one a line; nothing when none.
sum() { awk '{ s += $1 } END { if (NR) print s }'; }

for bin in "$@"; do
	start=$(date +%s.%N)
	# cmocka writes its summary lines to stdout and stderr: keep both,
	# in order, and force the plain text format.
	CMOCKA_MESSAGE_OUTPUT=stdout "$bin" >"$tmp" 2>&1
	rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.2f", e-s}')

	# A binary may run several groups (one per storage backend): each
	# prints its own summary, and they add up.
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$tmp" | sum)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$tmp" | sum)
	total=$(sed -n 's/^\[==========\] Running \([0-9][0-9]*\) test(s)\..*/\1/p' "$tmp" | sum)
	why=""
	if [ -z "$p" ] && [ -z "$f" ]; then
		# No summary: the binary died (or is not a cmocka binary).
		p=$(grep -c '^\[       OK \]' "$tmp" || true)
		f=$(( ${total:-0} - p ))
		[ "$f" -lt 1 ] && f=1
		why="no summary, exit status $rc"
		[ "$rc" -gt 128 ] && why="crashed (signal $((rc - 128)))"
	else
		p=${p:-0}
		f=${f:-0}
		if [ "${total:-0}" -gt $((p + f)) ]; then
			# A later group died before its summary.
			f=$(( total - p ))
			why="died in a later group, exit status $rc"
		elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			# Summary says all passed but the exit status disagrees
			# (a leak report at exit, for example).
			f=1
			why="exit status $rc after its summary"
		fi
	fi
	passed=$((passed + p))
	failed=$((failed + f))

	if [ "$f" -gt 0 ]; then
		bad_bins+=("$bin")
		echo "FAIL $bin ($p passed, $f failed, ${secs}s)${why:+: $why}"
		sed 's/^/    /' "$tmp"
	else
		echo "PASS $bin ($p tests, ${secs}s)"
	fi
done

if [ ${#bad_bins[@]} -gt 0 ]; then
	echo "failing binaries: ${bad_bins[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
