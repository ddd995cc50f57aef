#!/usr/bin/env bash
# tests/bench/lint.sh: the key process's work for one certificate
# (bench_lint: pre-issuance lint, signature over the TBS, the network
# side's TBS) in CPU microseconds per call, beside a bare EVP sign and
# verify printed by the same binary in the same run, and `openssl speed
# ecdsap256` (one core).
# Env: BENCH_LINT_N (5000 calls of each).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/lint}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"

echo "reference: openssl speed -seconds 3 ecdsap256 (one core)"
openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa/' |
    tee "$OUT/speed.txt"
"$BENCH/bench_lint" "${BENCH_LINT_N:-5000}" | tee "$OUT/lint.txt"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"
# one row per case and call: CPU us per call, beside the bare
# EVP_DigestSign of the same case (metric CASE.CALL, lower case)
awk '
function tok(s) { s = tolower(s); gsub(/[^a-z0-9]+/, "_", s); sub(/^_/, "", s); sub(/_$/, "", s); return s }
/^[^ ]/ { c = tok($1); next }
/ us$/ {
	us = $(NF - 1); name = $0; sub(/^ +/, "", name); sub(/ +[0-9.]+ us$/, "", name)
	if (name ~ /EVP_DigestSign/) ref[c] = us
	n++; cs[n] = c; op[n] = tok(name); v[n] = us
}
END { for (i = 1; i <= n; i++) print cs[i] "." op[i], v[i], (op[i] ~ /^ca_/ ? ref[cs[i]] : "") }
' "$OUT/lint.txt" >"$OUT/lint.rows"
while read -r m v r; do
	if [ -n "$r" ]; then
		bench_csv "$m" "$v" us evp_digestsign "$r"
	else
		bench_csv "$m" "$v" us
	fi
done <"$OUT/lint.rows"
speed=$(awk '/256 bits ecdsa/ { print $(NF - 1), $NF }' "$OUT/speed.txt" | tail -n 1)
[ -z "$speed" ] || bench_csv ecdsa_p256_sign_rate "${speed% *}" signs/s
