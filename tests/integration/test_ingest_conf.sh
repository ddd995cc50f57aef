#!/usr/bin/env bash
# keybridge.conf's ingest_threads and ingest_pipeline (issue 18; they were
# environment variables read inside the ledger library): a value out of
# bounds stops `keybridge check` and `serve` with the file, the line and
# the key; the values given reach the writer (its start-up line); and the
# bridge's own entries (an enrollment's cert-issued) are checked by the
# writer, never by the pool (its stop line counts them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"

# ---- bad values: a clear config error, nothing started --------------------------
for kv in ingest_threads=9 ingest_threads=-1 ingest_threads=auto ingest_pipeline=2; do
	k=${kv%%=*}
	kb_conf_set "$DIR" "$k" "${kv#*=}"
	kb_run check -d "$DIR"
	[ "$KB_RC" -ne 0 ] || fail "keybridge check accepted $kv"
	assert_match "$(cat "$KB_STDERR")" "keybridge.conf:[0-9]+: $k must be (a whole number )?between 0 and (8|1)" "keybridge check's error for $kv"
	rc=0
	timeout 10 "$KEYBRIDGE" serve -d "$DIR" >"$OUT/bad.log" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "keybridge serve with $kv: exit status $rc"
	assert_contains "$(cat "$OUT/bad.log")" "$k must be" "serve's error for $kv"
	log "$kv refused by check and serve"
	kb_conf_set "$DIR" "$k" 1
done
kb_ok check -d "$DIR" >/dev/null

# since_start: serve.log from the last start on
since_start() {
	awk '/^--- .* keybridge serve -d /{ buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$OUT/serve.log"
}

# ---- the defaults made explicit: a pool of 3, the pipelined seal ---------------
kb_conf_set "$DIR" ingest_threads 3
kb_start "$DIR"
kb_enroll dev-a
kb_enroll dev-b
kb_stop
s=$(since_start)
assert_contains "$s" "ingest pipeline: 3 threads checking signatures ahead of the writer, blocks sealed while the writer makes the next" "start-up line"
line=$(grep -a "checked ahead by the ingest pool" <<<"$s" | tail -n 1)
[ -n "$line" ] || fail "no stop line of the ingest pool in serve.log"
own=$(sed -E 's/.*\(([0-9]+) of them the bridge.s own\).*/\1/' <<<"$line")
[ "$own" -ge 2 ] || fail "the two enrollments' entries were not checked by the writer as the bridge's own: $line"
log "pool of 3: $line"

# ---- both off ------------------------------------------------------------------
kb_conf_set "$DIR" ingest_threads 0
kb_conf_set "$DIR" ingest_pipeline 0
kb_start "$DIR"
kb_enroll dev-c
kb_stop
s=$(since_start)
assert_contains "$s" "ingest pipeline: 0 threads checking signatures ahead of the writer, blocks sealed on the writer's thread" "start-up line"
assert_not_contains "$s" "checked ahead by the ingest pool" "stop line without a pool"
"$KEYBRIDGE" ledger verify -d "$DIR" >/dev/null || fail "ledger verify failed"
log "ingest_threads and ingest_pipeline reach the writer; bad values are config errors"
