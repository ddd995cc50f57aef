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
#
# KB_TEST_JOBS tests run at once (default 2, one per core of the CI
# machine: most tests wait on daemons more than they compute).  Each job
# slot gets its own loopback port ranges (KB_PORT_LO..KB_PORT_HI for the
# bridges and validators, lib.sh's kb_free_ports; KB_PG_PORT_LO..HI for
# scripts/pg.sh), so two tests never pick the same free port.  A test that
# asserts a time bound or a rate (a revocation visible within 1 s, an RSS
# figure) says so with a line "# kb-test: alone" and runs with no other
# test beside it.  A test that mostly waits for time to pass, whose bounds
# hold under load, says "# kb-test: beside": it starts first, in a slot of
# its own beside the others (alone ones too), so that its waiting does not
# hold the whole run.
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
jobs_max=${KB_TEST_JOBS:-2}
case "$jobs_max" in
''|*[!0-9]*|0) echo "run-integration: KB_TEST_JOBS must be a positive number: $jobs_max" >&2; exit 1 ;;
esac

# The bridges' port range 20000..min(ephemeral start, 32768) and pg.sh's
# 40000..49999, cut into one part per job slot.
eph=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range)
[ "$eph" -gt 32768 ] && eph=32768
# One more part for the "beside" slot.
bspan=$(( (eph - 20000) / (jobs_max + 1) ))
pspan=$(( 10000 / (jobs_max + 1) ))

declare -A job_name=() job_start=() job_out=() job_slot=()
free_slots=()
for ((i = 0; i <= jobs_max; i++)); do free_slots+=("$i"); done
beside_pid=""
last_pid=""

# outdir NAME: makes (wipes) the test's output folder, prints its path.
outdir() {
	local name=$1 out="$root/tests/out/$1" real
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
	echo "$out"
}

# launch FILE: starts the test in the background in the first free slot.
launch() {
	local f=$1 name slot out pid
	name=$(basename "$f" .sh)
	slot=${free_slots[0]}
	free_slots=("${free_slots[@]:1}")
	out=$(outdir "$name")
	# -k: a test that ignores SIGTERM is killed 10 s later.
	OUT="$out" KB_PORT_LO=$((20000 + slot * bspan)) \
	    KB_PORT_HI=$((20000 + (slot + 1) * bspan - 1)) \
	    KB_PG_PORT_LO=$((40000 + slot * pspan)) \
	    KB_PG_PORT_HI=$((40000 + (slot + 1) * pspan - 1)) \
	    timeout -k 10 "$timeout_s" bash "$f" >"$out/test.log" 2>&1 &
	pid=$!
	job_name[$pid]=$name
	job_start[$pid]=$(date +%s.%N)
	job_out[$pid]=$out
	job_slot[$pid]=$slot
	last_pid=$pid
}

# reap: waits for one running test and reports it.
reap() {
	local pid rc name out secs why
	wait -n -p pid
	rc=$?
	name=${job_name[$pid]}
	out=${job_out[$pid]}
	secs=$(awk -v s="${job_start[$pid]}" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
	free_slots+=("${job_slot[$pid]}")
	unset "job_name[$pid]" "job_start[$pid]" "job_out[$pid]" "job_slot[$pid]"
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
}

# running: the tests running, the "beside" one not counted.
running() {
	local n=${#job_name[@]}
	[ -n "$beside_pid" ] && [ -n "${job_name[$beside_pid]:-}" ] && n=$((n - 1))
	echo "$n"
}

# The first "beside" test starts first, in the last slot.
rest=()
for f in "${tests[@]}"; do
	if [ -z "$beside_pid" ] && grep -q '^# kb-test: beside' "$f"; then
		free_slots=("$jobs_max" "${free_slots[@]:0:$jobs_max}")
		launch "$f"
		beside_pid=$last_pid
		continue
	fi
	rest+=("$f")
done
for f in "${rest[@]}"; do
	if grep -q '^# kb-test: alone' "$f"; then
		while [ "$(running)" -gt 0 ]; do reap; done
		launch "$f"
		pid=$last_pid
		while [ -n "${job_name[$pid]:-}" ]; do reap; done
		continue
	fi
	while [ "$(running)" -ge "$jobs_max" ]; do reap; done
	launch "$f"
done
while [ "${#job_name[@]}" -gt 0 ]; do reap; done

if [ "$failed" -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
