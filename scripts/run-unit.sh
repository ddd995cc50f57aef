#!/usr/bin/env bash
# scripts/run-unit.sh BIN...: runs cmocka test binaries and sums their tests.
#
# Each binary prints "[  PASSED  ] N test(s)." and, when some failed,
# "[  FAILED  ] N test(s), listed below:".  A binary that dies before its
# summary (a crash, a sanitizer abort) counts the tests it did not finish
# as failed, at least one.  The output of a failing binary is shown whole.
# Last line: "N passed, N failed".  Exit 1 when anything failed.
set -uo pipefail

passed=0
failed=0
bad_bins=()
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

for bin in "$@"; do
	start=$(date +%s.%N)
	# cmocka writes its summary lines to stdout and stderr: keep both,
	# in order, and force the plain text format.
	CMOCKA_MESSAGE_OUTPUT=stdout "$bin" >"$tmp" 2>&1
	rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.2f", e-s}')

	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$tmp" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$tmp" | tail -n1)
	total=$(sed -n 's/^\[==========\] Running \([0-9][0-9]*\) test(s)\..*/\1/p' "$tmp" | head -n1)
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
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
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
