#!/usr/bin/env bash
# test_pg_concurrency: four ledger writers on one PostgreSQL database, as
# four bridges have them (each its writer thread, follower and
# connections, each signing as an account of its own), append 2,000
# entries together; every one is acknowledged, the tree has no gap or fork
# (every writer ends with the same root) and `ledger verify` passes.  It
# runs the scaled test_writers_share_one_tree of tests/ledger/test_ledger.c
# (built by `make unit`, beside the keybridge binary) against a throwaway
# server from scripts/pg.sh.
#
# Then the same with four bridge processes: copies of one data directory on
# listeners of their own and one database, each taking 2,500 signed
# entries through POST /api/v1/entries from four clients of its own
# (bench_entries, built beside the binary); every entry acknowledged, all
# four bridges end with the same tree size and root, the log holds the
# 10,000 entries, and `ledger verify` passes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BIN="$(dirname "$KEYBRIDGE")/tests/ledger/test_ledger"
WRITERS=4
ENTRIES=500	# each (the four bridge processes below append 10,000)

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

# ---- four bridge processes --------------------------------------------------------------------------
ENTRIES_BIN=${BENCH_ENTRIES:-"$(dirname "$KEYBRIDGE")/bench/bench_entries"}
[ -x "$ENTRIES_BIN" ] || fail "$ENTRIES_BIN is missing: make integration builds it"
CLIENTS=4
PER=625			# 4 bridges x 4 clients x 625 = 10,000 entries
"$PGSH" psql "$PG" -c "CREATE DATABASE kb4" || fail "CREATE DATABASE kb4"
DB="${URL%/postgres}/kb4"
kb_init "$OUT/b1" --db "$DB"
for i in 2 3 4; do
	kb_copy_dir "$OUT/b1" "$OUT/b$i"
done
declare -a BPID
for i in 1 2 3 4; do
	KB_SERVE_PID=""
	kb_start "$OUT/b$i" --log-level warn
	BPID[i]=$KB_SERVE_PID
done
KB_SERVE_PID=""
accounts0=$(psql_q "SELECT count(*) FROM accounts")
declare -a EPID
t0=$(date +%s%N)
for i in 1 2 3 4; do
	"$ENTRIES_BIN" "$OUT/b$i" "$CLIENTS" "$PER" >"$OUT/entries-b$i.txt" 2>&1 &
	EPID[i]=$!
	kb_track "${EPID[i]}"
	# its accounts are made (names carry the second: the next one waits
	# for a new second), then the next bridge's load starts
	deadline=$((SECONDS + 60))
	until [ "$(psql_q "SELECT count(*) FROM accounts")" -ge $((accounts0 + i * CLIENTS)) ]; do
		kill -0 "${EPID[i]}" 2>/dev/null || fail "bench_entries against b$i ended in its setup: $(tail -n 5 "$OUT/entries-b$i.txt")"
		[ "$SECONDS" -lt "$deadline" ] || fail "bench_entries against b$i: no accounts after 60 s"
		sleep 0.02
	done
	s=$(date +%s)
	while [ "$(date +%s)" -eq "$s" ]; do sleep 0.02; done
done
for i in 1 2 3 4; do
	rc=0
	wait "${EPID[i]}" || rc=$?
	kb_untrack "${EPID[i]}"
	assert_eq 0 "$rc" "bench_entries against bridge b$i ($(tail -n 3 "$OUT/entries-b$i.txt"))"
	log "bridge b$i: $(grep -E '^(entries_per_second|acknowledged)' "$OUT/entries-b$i.txt" | paste -sd' ')"
done
ms=$((($(date +%s%N) - t0) / 1000000))
# the log: 10,000 config-publish entries, no gap (indexes 0..size-1)
n=$(psql_q "SELECT count(*) FROM entries WHERE type = 7")
assert_eq "$((4 * CLIENTS * PER))" "$n" "config-publish entries the four bridges appended"
size=$(psql_q "SELECT count(*) FROM entries")
assert_eq "$((size - 1))" "$(psql_q "SELECT max(idx) FROM entries")" "last index of a log of $size entries (no gap)"
# every bridge sees that tree: the same size and root hash
for i in 1 2 3 4; do
	deadline=$((SECONDS + 10))
	while :; do
		cp=$(curl -sS --max-time 10 --cacert "$OUT/b$i/ca/root.pem" \
		    "https://$(kb_conf_get "$OUT/b$i" est_listen)/api/v1/ledger/checkpoint") || fail "checkpoint of b$i"
		[ "$(jq -r .tree_size <<<"$cp")" != "$size" ] || break
		[ "$SECONDS" -lt "$deadline" ] || fail "bridge b$i: tree size $(jq -r .tree_size <<<"$cp"), the database $size"
		sleep 0.1
	done
	root=$(jq -r .root_hash <<<"$cp")
	[ "$i" -eq 1 ] && root1=$root
	assert_eq "$root1" "$root" "root hash of bridge b$i at tree size $size"
done
for i in 1 2 3 4; do
	KB_SERVE_PID=${BPID[i]}
	kb_stop
done
kb_ok ledger verify -d "$OUT/b1" >/dev/null
log "PASS: 4 bridge processes x $CLIENTS clients x $PER entries in $ms ms: one tree of $size, verify OK"
