#!/usr/bin/env bash
# Configuration and firmware bytes with the ledger in PostgreSQL: the bytes
# are large objects (table blobs names each by its SHA-256), written by
# `config publish` in one transaction and streamed out of the bridge with
# lo_read.  Two text versions and a 200 MB firmware image: history, get
# (byte for byte), diff; the API's content with ETag, 304 and Range; the
# bridge's VmHWM grows by less than 32 MB over the 200 MB publish and
# fetch; the same bytes twice are one large object; a publish killed
# mid-stream leaves no large object and no row; an object altered in the
# database (lo_put) and a row deleted are named by `ledger verify` by
# entry index.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# Under ASan (the sanitizer build) freed memory waits in a quarantine
# (256 MB by default) before reuse: keep it small, so that the memory
# measured below is the bridge's own, not the quarantine's.
if nm "$KEYBRIDGE" 2>/dev/null | grep __asan_init >/dev/null; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4:thread_local_quarantine_size_kb=256"
fi

kb_pg_start kb
DIR="$OUT/data"
kb_init "$DIR" --db "$DB"
kb_start "$DIR"
sha() { sha256sum "$1" | cut -d' ' -f1; }
C=(--cacert "$DIR/ca/root.pem")

printf 'mode = fast\nlevel = 1\n' >"$OUT/v1.conf"
printf 'mode = fast\nlevel = 2\n' >"$OUT/v2.conf"
kb_ok config publish -d "$DIR" --group cams --file "$OUT/v1.conf" --version 1 >/dev/null
kb_ok config publish -d "$DIR" --group cams --file "$OUT/v2.conf" --version 2 --note "level two" >/dev/null
kb_ok config publish -d "$DIR" --group other --file "$OUT/v1.conf" --version 1 >/dev/null
assert_eq 2 "$(psql_q "SELECT count(*) FROM blobs")" "rows in blobs (v1 shared)"
assert_eq 2 "$(psql_q "SELECT count(*) FROM pg_largeobject_metadata")" "large objects (v1 shared)"
[ ! -e "$DIR/blobs" ] || fail "a blob folder was made with the ledger in PostgreSQL"
kb_ok config get -d "$DIR" --group cams --version 1 -o "$OUT/got1" >/dev/null
cmp "$OUT/v1.conf" "$OUT/got1" || fail "config get: other bytes"
assert_contains "$(kb_ok config diff -d "$DIR" --group cams 1 2)" "+level = 2" "diff of two versions"
assert_contains "$(kb_ok config history -d "$DIR" --group cams)" "level two" "history with the note"

URL="$KB_URL/api/v1/configs/cams/versions/2/content"
code=$(curl -sS "${C[@]}" -D "$OUT/h" -o "$OUT/c" -w '%{http_code}' "$URL")
assert_eq 200 "$code" "content from a large object"
cmp "$OUT/v2.conf" "$OUT/c" || fail "content: other bytes"
assert_contains "$(cat "$OUT/h")" "ETag: \"$(sha "$OUT/v2.conf")\"" "ETag"
rm -f "$OUT/c"
code=$(curl -sS "${C[@]}" -o "$OUT/c" -w '%{http_code} %{size_download}' \
    -H "If-None-Match: \"$(sha "$OUT/v2.conf")\"" "$URL")
assert_eq "304 0" "$code" "If-None-Match"
code=$(curl -sS "${C[@]}" -o "$OUT/c" -w '%{http_code}' -H 'Range: bytes=7-10' "$URL")
assert_eq 206 "$code" "Range from a large object"
assert_eq "fast" "$(cat "$OUT/c")" "the range's bytes"

# 200 MB: in and out as a large object
head -c 200000000 /dev/urandom >"$OUT/big.bin"
rss0=$(awk '/^VmRSS/ {print $2}' "/proc/$KB_SERVE_PID/status")
kb_ok config publish -d "$DIR" --group fw --file "$OUT/big.bin" --version 1 >/dev/null
curl -sS "${C[@]}" -o "$OUT/big.got" "$KB_URL/api/v1/configs/fw/versions/1/content"
code=$(curl -sS "${C[@]}" -o "$OUT/c" -w '%{http_code}' -H 'Range: bytes=-16' "$KB_URL/api/v1/configs/fw/versions/1/content")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$KB_SERVE_PID/status")
cmp "$OUT/big.bin" "$OUT/big.got" || fail "the 200 MB content is not the published bytes"
assert_eq 206 "$code" "suffix range of the 200 MB object"
cmp <(tail -c 16 "$OUT/big.bin") "$OUT/c" || fail "suffix range: other bytes"
rm -f "$OUT/big.bin" "$OUT/big.got"
log "PostgreSQL 200 MB publish + fetch: serve VmRSS before $rss0 kB, VmHWM after $hwm kB, growth $((hwm - rss0)) kB"
[ $((hwm - rss0)) -lt 32768 ] || fail "serve grew by $((hwm - rss0)) kB (limit 32768 kB) for a 200 MB file"

# a publish killed mid-stream leaves nothing
size0=$(kb_tree_size)
mkfifo "$OUT/pipe"
( head -c 3000000 /dev/urandom; sleep 30 ) >"$OUT/pipe" &
writer=$!
kb_track "$writer"
"$KEYBRIDGE" config publish -d "$DIR" --group fw --file "$OUT/pipe" --version cut >/dev/null 2>&1 &
cli=$!
kb_track "$cli"
sleep 1.5
kill -KILL "$cli"
wait "$cli" 2>/dev/null || true
kb_untrack "$cli"
kill "$writer" 2>/dev/null || true
wait "$writer" 2>/dev/null || true
kb_untrack "$writer"
for _ in $(seq 50); do	# the server notices the lost connection
	[ "$(psql_q "SELECT count(*) FROM pg_largeobject_metadata")" = 3 ] && break
	sleep 0.1
done
assert_eq 3 "$(psql_q "SELECT count(*) FROM pg_largeobject_metadata")" "large objects after a cut publish"
assert_eq 3 "$(psql_q "SELECT count(*) FROM blobs")" "rows after a cut publish"
assert_eq "$size0" "$(kb_tree_size)" "tree size after a cut publish"
kb_conf_set "$DIR" blob_max_bytes 4096
head -c 5000 /dev/urandom >"$OUT/big2.bin"
kb_fail too_large config publish -d "$DIR" --group fw --file "$OUT/big2.bin" --version 2
assert_eq 3 "$(psql_q "SELECT count(*) FROM pg_largeobject_metadata")" "large objects after a refused publish"

# ledger verify: an altered object, then a missing one
kb_stop
assert_contains "$(kb_ok ledger verify -d "$DIR")" "4 published files" "verify counts the stored files"
idx2=$("$KEYBRIDGE" config history -d "$DIR" --group cams --json | head -1 | jq -r .index)
psql_q "SELECT lo_put(oid, 5, '\\x58'::bytea) FROM blobs WHERE sha256 = '$(sha "$OUT/v2.conf")'" >/dev/null
kb_run ledger verify -d "$DIR"
assert_eq 1 "$KB_RC" "verify with an altered large object"
assert_contains "$(cat "$KB_STDOUT")" "BROKEN at entry $idx2: the bytes of cams version 2" "verify names the altered entry"
assert_contains "$(cat "$KB_STDOUT")" "are altered" "verify says altered"
kb_fail blob config get -d "$DIR" --group cams --version 2 -o "$OUT/x"
psql_q "SELECT lo_put(oid, 5, '='::bytea) FROM blobs WHERE sha256 = '$(sha "$OUT/v2.conf")'" >/dev/null
kb_ok ledger verify -d "$DIR" >/dev/null
psql_q "DELETE FROM blobs WHERE sha256 = '$(sha "$OUT/v2.conf")'" >/dev/null
kb_run ledger verify -d "$DIR"
assert_eq 1 "$KB_RC" "verify with a missing large object"
assert_contains "$(cat "$KB_STDOUT")" "BROKEN at entry $idx2" "verify names the missing entry"
assert_contains "$(cat "$KB_STDOUT")" "are missing" "verify says missing"
log "config blobs on PostgreSQL: all checks passed"
