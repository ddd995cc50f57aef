#!/usr/bin/env bash
# tests/bench/presign.sh: the OCSP start-up pre-signing rate, signatures per
# second, with the private keys in the key process (docs/design.md
# "Processes"), beside the same figure of another binary in the same run
# when KEYBRIDGE_BEFORE names one (the in-process signer of before the key
# process: these machines are shared, so the ratio of one run is the
# figure).
#
#   1. a ledger of N device keys and N certificates (BENCH_PRESIGN_CERTS,
#      default 30,000; bench_fill through the group-commit writer);
#   2. `keybridge serve`; from the first /metrics reading that shows
#      pre-signed answers to the one where all 2N (SHA-1 and SHA-256
#      CertIDs) are cached and nothing is pending, polled every 20 ms:
#      rate = answers signed between the two readings / time between them
#      (the start-up itself, ledger open and key loading, is not counted);
#   3. ROUNDS rounds (BENCH_PRESIGN_ROUNDS, default 3), alternating the
#      binaries on the same data directory; the median round of each.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/presign}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"

ncerts=${BENCH_PRESIGN_CERTS:-30000}
rounds=${BENCH_PRESIGN_ROUNDS:-3}
dir="$OUT/bridge"
rm -rf "$dir"
want=$((2 * ncerts))

echo "setup: $ncerts device keys and certificates on the ledger (bench_fill)"
kb_init "$dir" >/dev/null
"$BENCH/bench_fill" "$dir" "$ncerts" certs >"$OUT/fill.txt" 2>&1 ||
	fail "bench_fill: $(tail -n 5 "$OUT/fill.txt")"

# metric M TEXT: the value of metric M in the /metrics text.
metric() { awk -v m="$1" '$1 == m { print $2 }' <<<"$2"; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# one_round BINARY: starts it on the data directory and prints the
# pre-signing rate (answers/s).
one_round() {
	local m c p t c0="" t0="" deadline=$((SECONDS + 300))
	KEYBRIDGE=$1 kb_start "$dir" --log-level warn >/dev/null
	while :; do
		m=$(curl -sS --max-time 10 "$KB_HTTP_URL/metrics") || fail "GET /metrics: no answer"
		t=$(now_us)
		c=$(metric keybridge_ocsp_responses_cached "$m")
		p=$(metric keybridge_ocsp_resign_pending "$m")
		if [ -z "$c0" ] && [ "${c:-0}" -gt 0 ]; then
			c0=$c t0=$t
		fi
		[ "${c:-0}" -lt "$want" ] || [ "${p:-1}" -ne 0 ] || break
		[ "$SECONDS" -lt "$deadline" ] || fail "pre-signing not done after 300 s ($c cached, $p pending)"
		sleep 0.02
	done
	echo "$1 $(rss_mib "$KB_SERVE_PID")" >>"$OUT/rss.txt"
	kb_stop >/dev/null
	[ "$t" -gt "$t0" ] || fail "pre-signing finished before the first reading"
	awk -v n=$((c - c0)) -v us=$((t - t0)) 'BEGIN { printf "%.0f\n", n / (us / 1e6) }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$OUT/after.txt"
: >"$OUT/rss.txt"
: >"$OUT/before.txt"
echo "load: $rounds rounds, $want answers pre-signed at each start"
for ((i = 0; i < rounds; i++)); do
	r=$(one_round "$KEYBRIDGE")
	echo "$r" >>"$OUT/after.txt"
	echo "  round $((i + 1)): $r answers/s ($KEYBRIDGE)"
	if [ -n "${KEYBRIDGE_BEFORE:-}" ]; then
		r=$(one_round "$KEYBRIDGE_BEFORE")
		echo "$r" >>"$OUT/before.txt"
		echo "  round $((i + 1)): $r answers/s ($KEYBRIDGE_BEFORE)"
	fi
done
a=$(median <"$OUT/after.txt")
if [ -n "${KEYBRIDGE_BEFORE:-}" ]; then
	b=$(median <"$OUT/before.txt")
	awk -v a="$a" -v b="$b" -v n="$want" 'BEGIN {
		printf "RESULT ocsp start-up pre-signing: %.0f answers/s (%d answers, median round) = %.2f x the before binary in the same run (%.0f/s); target >= 0.8\n", a, n, a / b, b
	}' | tee "$OUT/result.txt"
else
	echo "RESULT ocsp start-up pre-signing: $a answers/s ($want answers, median round); no KEYBRIDGE_BEFORE to compare with" |
	    tee "$OUT/result.txt"
fi
rss=$(awk -v b="$KEYBRIDGE" '$1 == b { v = $2 } END { print (v == "" ? 0 : v) }' "$OUT/rss.txt")
if [ -n "${KEYBRIDGE_BEFORE:-}" ]; then
	bench_csv presign_rate "$a" answers/s before_binary_rate "$b" "$ncerts"
else
	bench_csv presign_rate "$a" answers/s "" "" "$ncerts"
fi
bench_csv rss_serve_after_presign "$rss" MiB "" "" "$ncerts"
