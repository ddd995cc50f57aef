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
