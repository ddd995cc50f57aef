#!/usr/bin/env bash
# tests/bench/ledger.sh: ledger append and verify rates beside the
# single-core Ed25519 verify rate of `openssl speed`, measured in the same
# run (these machines are shared: the ratio is the figure, not the rate).
#
#   1. entries accepted per second through POST /api/v1/entries with 16
#      concurrent keep-alive TLS clients (each entry signature-checked and
#      acknowledged only after its block is committed with fsync);
#   1b. the same with BENCH_BATCH (64) entries per request, as
#      {"entries": [...]} (issue 18, batch ingest; max_body 1 MiB), with
#      the CPU time per entry of serve and of the client from /proc;
#   2. `keybridge ledger verify` over 100,000 entries.
# Env: BENCH_CLIENTS (16), BENCH_PER_CLIENT (1000), BENCH_VERIFY_N (100000),
# BENCH_BATCH (64; 0 skips 1b).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/ledger}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"
# a run again starts from empty data directories
rm -rf "$OUT/append" "$OUT/append-batch" "$OUT/verify"

clients=${BENCH_CLIENTS:-16}
per=${BENCH_PER_CLIENT:-1000}
nverify=${BENCH_VERIFY_N:-100000}

ed_verify_rate() {
	openssl speed -seconds 3 ed25519 2>/dev/null |
	    awk '/Ed25519/ && $NF ~ /^[0-9.]+$/ { print $NF }' | tail -n 1
}

echo "reference: openssl speed -seconds 3 ed25519 (one core)"
ref1=$(ed_verify_rate)
echo "  Ed25519 verify/s: $ref1"

echo "append: $clients clients x $per entries through POST /api/v1/entries"
kb_init "$OUT/append" >/dev/null
kb_start "$OUT/append"
"$BENCH/bench_entries" "$OUT/append" "$clients" "$per" | tee "$OUT/append.txt"
append_rss=$(rss_mib "$KB_SERVE_PID")
kb_stop
rate=$(awk '/^entries_per_second/ { print $2 }' "$OUT/append.txt")
"$KEYBRIDGE" ledger verify -d "$OUT/append" >/dev/null 2>&1 ||
    fail "ledger verify failed after the append benchmark"
echo "  every acknowledged entry durable and ledger verify OK"

batch=${BENCH_BATCH:-64}
brate=0
if [ "$batch" -gt 1 ]; then
	echo "append, batched: $clients clients x $per entries, $batch per request"
	kb_init "$OUT/append-batch" >/dev/null
	kb_conf_set "$OUT/append-batch" max_body 1048576
	kb_start "$OUT/append-batch"
	s0=$(cpu_ticks "$KB_SERVE_PID")
	BENCH_BATCH=$batch /usr/bin/time -f "client_cpu_s %U %S" -o "$OUT/append-batch.time" \
	    "$BENCH/bench_entries" "$OUT/append-batch" "$clients" "$per" | tee "$OUT/append-batch.txt"
	s1=$(cpu_ticks "$KB_SERVE_PID")
	kb_stop
	"$KEYBRIDGE" ledger verify -d "$OUT/append-batch" >/dev/null 2>&1 ||
	    fail "ledger verify failed after the batched append benchmark"
	brate=$(awk '/^entries_per_second/ { print $2 }' "$OUT/append-batch.txt")
	awk -v s="$((s1 - s0))" -v hz="$(getconf CLK_TCK)" -v n="$((clients * per))" '
	    $1 == "client_cpu_s" { printf "  CPU per entry: serve %.1f us, client %.1f us\n", s / hz / n * 1e6, ($2 + $3) / n * 1e6 }' \
	    "$OUT/append-batch.time"
fi

echo "verify: $nverify entries"
kb_init "$OUT/verify" >/dev/null
"$BENCH/bench_fill" "$OUT/verify" "$nverify"
start=$(date +%s.%N)
"$KEYBRIDGE" ledger verify -d "$OUT/verify" 2>/dev/null | tail -n 1
end=$(date +%s.%N)
ref2=$(ed_verify_rate)
echo "  Ed25519 verify/s again: $ref2"
ref=$(echo "$ref1 $ref2" | awk '{ print ($1 + $2) / 2 }')

awk -v rate="$rate" -v brate="$brate" -v batch="$batch" -v ref="$ref" -v n="$nverify" -v s="$start" -v e="$end" '
BEGIN {
	secs = e - s
	printf "RESULT append: %.0f entries/s = %.2f x single-core Ed25519 verify rate (%.0f/s); target >= 0.50\n", rate, rate / ref, ref
	if (brate > 0)
		printf "RESULT append batched (%d per request): %.0f entries/s = %.2f x single-core Ed25519 verify rate; target >= 0.80\n", batch, brate, brate / ref
	printf "RESULT verify: %d entries in %.2f s = %.0f entries/s = %.2f x Ed25519 verify rate (signature checks alone would take %.2f s)\n", n, secs, n / secs, (n / secs) / ref, n / ref
}' | tee "$OUT/result.txt"
entries_field() { awk -v k="$1" '$1 == k { print $2 }' "$OUT/append.txt"; }
verify_rate=$(awk -v n="$nverify" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')
bench_csv append_rate "$rate" entries/s ed25519_verify_rate "$ref" "$((clients * per))"
bench_csv append_p50 "$(entries_field p50_ms)" ms "" "" "$((clients * per))"
bench_csv append_p99 "$(entries_field p99_ms)" ms "" "" "$((clients * per))"
bench_csv rss_serve_after_append "$append_rss" MiB "" "" "$((clients * per))"
[ "$brate" = 0 ] || bench_csv append_batch_rate "$brate" entries/s ed25519_verify_rate "$ref" "$((clients * per))"
bench_csv verify_rate "$verify_rate" entries/s ed25519_verify_rate "$ref" "$nverify"
bench_csv verify_seconds "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')" s "" "" "$nverify"
