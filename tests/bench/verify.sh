#!/usr/bin/env bash
# tests/bench/verify.sh: `keybridge ledger verify` on one and on two
# threads (KEYBRIDGE_VERIFY_THREADS) over a ledger of BENCH_VERIFY_N
# config-publish entries (bench_fill), beside the Ed25519 verify rate of
# `openssl speed -elapsed` measured in the same run: one process for one
# core, two concurrent processes summed for two cores.  -elapsed divides
# by wall-clock time like our rates: without it openssl speed divides by
# its CPU time, which a loaded machine does not lower (shown too, as
# "CPU").  (`openssl speed -multi 2 ed25519` is shown as well, but
# OpenSSL 3.0's -multi reports less than one core's rate for EdDSA here,
# so it is not the reference.)
# The runs alternate 1, 2, 1, 2 threads with the references before and
# after; each run's wall and CPU seconds come from /usr/bin/time.
# Figures: OUT/result.txt and OUT/verify.csv.
# Env: BENCH_VERIFY_N (100000), BENCH_VERIFY_ROUNDS (2).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/verify}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"

n=${BENCH_VERIFY_N:-100000}
rounds=${BENCH_VERIFY_ROUNDS:-2}

# verify/s of one `openssl speed -elapsed -seconds 3 ed25519`
ed1() {
	openssl speed -elapsed -seconds 3 ed25519 2>/dev/null |
	    awk '/Ed25519/ && $NF ~ /^[0-9.]+$/ { print $NF }' | tail -n 1
}
# the same per second of its CPU time (openssl speed's default)
edcpu() {
	openssl speed -seconds 3 ed25519 2>/dev/null |
	    awk '/Ed25519/ && $NF ~ /^[0-9.]+$/ { print $NF }' | tail -n 1
}
# two at once, summed: two cores' rate
ed2() {
	local a b
	ed1 >"$OUT/ed2a.txt" &
	ed1 >"$OUT/ed2b.txt"
	wait
	a=$(cat "$OUT/ed2a.txt")
	b=$(cat "$OUT/ed2b.txt")
	awk -v a="$a" -v b="$b" 'BEGIN { print a + b }'
}
edmulti() {
	openssl speed -multi 2 -seconds 3 ed25519 2>/dev/null |
	    awk '/Ed25519/ && $NF ~ /^[0-9.]+$/ { print $NF }' | tail -n 1
}

echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); uptime: $(uptime)"
echo "fill: $n config-publish entries"
kb_init "$OUT/ledger" >/dev/null
"$BENCH/bench_fill" "$OUT/ledger" "$n" >"$OUT/fill.txt"

r1a=$(ed1); r2a=$(ed2); rm=$(edmulti); rc=$(edcpu)
echo "reference before: one core $r1a verify/s, two processes $r2a verify/s (openssl speed -multi 2: $rm; per CPU second: $rc)"
echo "threads,round,wall_s,user_s,sys_s,entries_per_s,replay_s,certs_s,files_s,ahead,here" >"$OUT/verify.csv"
for r in $(seq 1 "$rounds"); do
	for t in 1 2; do
		KEYBRIDGE_VERIFY_THREADS=$t /usr/bin/time -f "%e %U %S" \
		    -o "$OUT/time.txt" "$KEYBRIDGE" ledger verify --no-remember \
		    -d "$OUT/ledger" >"$OUT/verify-$t.out" 2>"$OUT/verify-$t.err" ||
		    fail "ledger verify ($t threads) failed: $(tail -n 3 "$OUT/verify-$t.out" "$OUT/verify-$t.err")"
		grep -q '^ledger OK' "$OUT/verify-$t.out" ||
		    fail "ledger verify ($t threads) did not say OK"
		read -r wall user sys <"$OUT/time.txt"
		phases=$(awk '/^verify: replay/ { print $3, $7, $11 }' "$OUT/verify-$t.err")
		sigs=$(awk '/^verify: signatures/ { print $4, $11 }' "$OUT/verify-$t.err")
		set -- $phases $sigs
		awk -v t="$t" -v r="$r" -v w="$wall" -v u="$user" -v s="$sys" \
		    -v n="$((n + 2))" -v p1="$1" -v p2="$2" -v p3="$3" \
		    -v a="$4" -v h="$5" 'BEGIN {
			printf "%d,%d,%.3f,%.2f,%.2f,%.0f,%s,%s,%s,%s,%s\n",
			    t, r, w, u, s, n / w, p1, p2, p3, a, h
		}' >>"$OUT/verify.csv"
		echo "  $t thread(s), round $r: $wall s wall, $user s user + $sys s sys; replay $1 s, certificates $2 s, files $3 s more; signatures ahead $4, by the replay $5"
	done
done
r1b=$(ed1); r2b=$(ed2)
echo "reference after: one core $r1b verify/s, two processes $r2b verify/s"
echo "uptime: $(uptime)"

awk -F, -v r1a="$r1a" -v r1b="$r1b" -v r2a="$r2a" -v r2b="$r2b" -v n="$n" -v rc="$rc" '
NR > 1 { w[$1] += $3; c[$1] += $4 + $5; k[$1]++; e = $6 }
END {
	ref1 = (r1a + r1b) / 2; ref2 = (r2a + r2b) / 2
	for (t = 1; t <= 2; t++) {
		wall = w[t] / k[t]; cpu = c[t] / k[t]
		rate = (n + 2) / wall
		printf "RESULT verify %d thread%s: %.0f entries/s (mean wall %.2f s) = %.2f x one core (%.0f/s), %.2f x two cores (%.0f/s); CPU %.2f s = %.1f us/entry (one Ed25519 verify: %.1f us of CPU)\n",
		    t, t == 1 ? "" : "s", rate, wall, rate / ref1, ref1, rate / ref2, ref2, cpu, cpu / (n + 2) * 1e6, 1e6 / rc
	}
	printf "RESULT target: 2 threads >= 0.90 x two cores\n"
}' "$OUT/verify.csv" | tee "$OUT/result.txt"
# the CSV rows (docs/benchmarks.md "CSV contract"): each thread count's rate
# beside the reference of as many cores, and its CPU per entry
for t in 1 2; do
	line=$(grep "^RESULT verify $t thread" "$OUT/result.txt")
	rate=$(awk '{ print $5 }' <<<"$line")
	ref1=$(sed -n 's/.*one core (\([0-9.]*\)\/s).*/\1/p' <<<"$line")
	ref2=$(sed -n 's/.*two cores (\([0-9.]*\)\/s).*/\1/p' <<<"$line")
	cpu=$(sed -n 's/.* = \([0-9.]*\) us\/entry.*/\1/p' <<<"$line")
	if [ "$t" = 1 ]; then
		bench_csv verify_1thread_rate "$rate" entries/s ed25519_verify_rate_1core "$ref1" "$n"
	else
		bench_csv verify_2threads_rate "$rate" entries/s ed25519_verify_rate_2cores "$ref2" "$n"
	fi
	bench_csv "verify_${t}thread_cpu_per_entry" "$cpu" us "" "" "$n"
done
