#!/usr/bin/env bash
# scripts/run-integration.sh [NAME...]: runs tests/integration/test_*.sh.
#
# Environment: KEYBRIDGE (absolute path of the binary), TOOLS (absolute path
# of the test tools folder).  With NAME arguments (test_foundation, or
# foundation) only those tests run.  Each test runs with its own output
# folder tests/out/<name>/ (wiped first), exported as OUT with KEYBRIDGE and
# TOOLS; its stdout and stderr go to tests/out/<name>/test.log.  A test that
# runs longer than KB_TEST_TIMEOUT seconds (default 600) is stopped and fails.
# Prints PASS/FAIL per test with its duration, the last 40 lines of the log
# of every failed test, and last "N passed, N failed".  Exit 1 on a failure.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

if [ -z "${KEYBRIDGE:-}" ]; then
	echo "run-integration: KEYBRIDGE is not set (absolute path of the binary)" >&2
	exit 1
fi
case "$KEYBRIDGE" in
/*) ;;
*) echo "run-integration: KEYBRIDGE must be an absolute path: $KEYBRIDGE" >&2; exit 1 ;;
esac
if [ ! -x "$KEYBRIDGE" ]; then
	echo "run-integration: $KEYBRIDGE is not an executable file" >&2
	exit 1
fi
export KEYBRIDGE
export TOOLS="${TOOLS:-$root/build/tools}"
timeout_s="${KB_TEST_TIMEOUT:-600}"

tests=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		n=${n%.sh}
		n=${n#test_}
		f="tests/integration/test_$n.sh"
		if [ ! -f "$f" ]; then
			echo "run-integration: no such test: $f" >&2
			exit 1
		fi
		tests+=("$f")
	done
else
	for f in tests/integration/test_*.sh; do
		[ -f "$f" ] && tests+=("$f")
	done
fi

passed=0
failed=0
failed_names=()
for f in "${tests[@]}"; do
	name=$(basename "$f" .sh)
	out="$root/tests/out/$name"
	rm -rf "$out"
	mkdir -p "$out"
	start=$(date +%s.%N)
	# -k: a test that ignores SIGTERM is killed 10 s later.
	OUT="$out" timeout -k 10 "$timeout_s" bash "$f" >"$out/test.log" 2>&1
	rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $name (${secs}s)"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		why="exit status $rc"
		[ "$rc" -eq 124 ] && why="timed out after ${timeout_s}s"
		echo "FAIL $name (${secs}s, $why); last 40 lines of $out/test.log:"
		tail -n 40 "$out/test.log" | sed 's/^/    /'
	fi
done

if [ "$failed" -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
