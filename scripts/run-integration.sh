#!/usr/bin/env bash
# scripts/run-integration.sh [NAME...]: runs tests/integration/test_*.sh.
#
# Environment: KEYBRIDGE (absolute path of the binary), TOOLS (absolute path
# of the test tools folder).  With NAME arguments (test_foundation, or
# foundation) only those tests run.  Each test runs with its own output
# folder tests/out/<name>/ (wiped first; under /tmp when the bridge's user
# cannot reach tests/out, see below), exported as OUT with KEYBRIDGE and
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

# Run as root, `keybridge serve` drops to KB_USER (keybridge.conf `user`,
# default keybridge), which must reach the data directories under OUT.
# When a parent of tests/out is closed to it (a checkout under /root),
# each test's OUT is a directory of its own under /tmp instead, named by
# the symbolic link tests/out/<name> (as scripts/pg.sh does for postgres).
kb_user=${KB_USER:-keybridge}
relocate=0
if [ "$(id -u)" -eq 0 ] && id -u "$kb_user" >/dev/null 2>&1; then
	mkdir -p "$root/tests/out"
	if ! setpriv --reuid="$kb_user" --regid="$(id -g "$kb_user")" \
	    --clear-groups test -x "$root/tests/out" 2>/dev/null; then
		relocate=1
		echo "run-integration: user $kb_user cannot reach $root/tests/out;" \
		    "test folders go under /tmp (linked from tests/out/)"
	fi
fi

passed=0
failed=0
failed_names=()
for f in "${tests[@]}"; do
	name=$(basename "$f" .sh)
	out="$root/tests/out/$name"
	if [ -L "$out" ]; then
		case "$(readlink "$out")" in
		/tmp/kb-out-"$name".*) rm -rf "$(readlink "$out")" ;;
		esac
	fi
	rm -rf "$out"
	if [ "$relocate" = 1 ]; then
		real=$(mktemp -d "/tmp/kb-out-$name.XXXXXX")
		chmod 755 "$real"
		ln -s "$real" "$out"
		out=$real
	fi
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
