#!/usr/bin/env bash
# scripts/bench.sh: runs every tests/bench/*.sh in order and shows its output.
# Environment from the Makefile: KEYBRIDGE (the binary), BENCH (the folder of
# the built C benchmarks).  Each script gets OUT=tests/out/bench/<name>/.
# Exit 1 when a benchmark script failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

shopt -s nullglob
scripts=(tests/bench/*.sh)
if [ ${#scripts[@]} -eq 0 ]; then
	echo "bench: no benchmarks in tests/bench/"
	exit 0
fi

failed=0
for f in "${scripts[@]}"; do
	name=$(basename "$f" .sh)
	out="$root/tests/out/bench/$name"
	rm -rf "$out"
	mkdir -p "$out"
	echo "== $name"
	if ! OUT="$out" bash "$f"; then
		echo "bench: $name FAILED"
		failed=$((failed + 1))
	fi
	echo
done
[ "$failed" -eq 0 ]
