#!/usr/bin/env bash
# test_pg_concurrency: four ledger writers on one PostgreSQL database, as
# four bridges have them (each its writer thread, follower and
# connections, each signing as an account of its own), append 10,000
# entries together; every one is acknowledged, the tree has no gap or fork
# (every writer ends with the same root) and `ledger verify` passes.  It
# runs the scaled test_writers_share_one_tree of tests/ledger/test_rules.c
# (built by `make unit`, beside the keybridge binary) against a throwaway
# server from scripts/pg.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BIN="$(dirname "$KEYBRIDGE")/tests/ledger/test_rules"
WRITERS=4
ENTRIES=2500	# each

[ -x "$BIN" ] || fail "$BIN is missing: build it with make unit (make test does)"
kb_pg_start
t0=$(date +%s%N)
rc=0
CMOCKA_MESSAGE_OUTPUT=stdout KB_TEST_PG_URL="$URL" KB_TEST_PG_WRITERS=$WRITERS \
    KB_TEST_PG_ENTRIES=$ENTRIES "$BIN" >"$OUT/writers.log" 2>&1 || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
cat "$OUT/writers.log"
assert_eq 0 "$rc" "exit status of the scaled writers' test"
assert_contains "$(cat "$OUT/writers.log")" "[  PASSED  ] 1 test(s)." "the scaled writers' test"
log "PASS: $WRITERS writers x $ENTRIES entries on one database in $ms ms, one tree, verify OK"
