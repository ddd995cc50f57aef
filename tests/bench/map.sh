#!/usr/bin/env bash
# tests/bench/map.sh: what the status map (docs/design.md "The status
# map") costs per appended entry, beside the append time without it,
# measured in the same run: bench_fill appends N key registrations and N
# certificate records (each sets one leaf of the map) through the
# group-commit writer; the writer's statistics give its commit time per
# entry (rules, SQL, fsync, the checkpoint's signature) and, inside it,
# the map's (the changed rows read back, 256 hashes per leaf).  Then the
# time to build the map from the whole registry (a bridge's start).
# Target: the map below a quarter of the append time.
# Env: BENCH_MAP_N (20000 keys, 40000 entries).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/map}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"
# a run again starts from an empty data directory
rm -rf "$OUT/fill"

n=${BENCH_MAP_N:-20000}
echo "append: $n key registrations and $n certificate records (bench_fill certs)"
kb_init "$OUT/fill" >/dev/null
start=$(date +%s.%N)
"$BENCH/bench_fill" "$OUT/fill" "$n" certs | tee "$OUT/fill.txt"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" '
/^stats / { entries = $3; commit = $5; map = $7; leaves = $9 }
/^map_build_seconds / { build = $2 }
END {
	wall = e - s
	without = commit - map
	printf "RESULT map: %.1f us per entry (%d leaves set) beside %.1f us of the writer'"'"'s commit per entry without it = %.3f of the append time (target < 0.25); %.1f us per entry with the clients'"'"' signing, wall clock (%.3f)\n", map / entries * 1e6, leaves, without / entries * 1e6, map / without, wall / entries * 1e6, map / wall
	printf "RESULT map build: %d leaves from the registry in %.2f s (%.1f us per leaf), at every start\n", leaves, build, build / leaves * 1e6
}' "$OUT/fill.txt" | tee "$OUT/result.txt"
read -r entries map_us without_us leaves build_s <<<"$(awk '
/^stats / { entries = $3; commit = $5; map = $7; leaves = $9 }
/^map_build_seconds / { build = $2 }
END { printf "%d %.2f %.2f %d %.3f\n", entries, map / entries * 1e6, (commit - map) / entries * 1e6, leaves, build }' "$OUT/fill.txt")"
bench_csv map_us_per_entry "$map_us" us commit_us_per_entry_without_map "$without_us" "$entries"
bench_csv map_build_seconds "$build_s" s "" "" "$leaves"
bench_csv map_build_us_per_leaf "$(awk -v b="$build_s" -v l="$leaves" 'BEGIN { printf "%.2f", b / l * 1e6 }')" us "" "" "$leaves"
