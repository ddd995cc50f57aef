#!/usr/bin/env bash
# Crash faults with four validators (quorum 3) and a bridge:
#  1. one validator SIGKILLed under load: every entry is still answered
#     201 (finality goes on with three), every block has >= 3 valid
#     cosignatures (verify_cosig.py);
#  2. restarted from its own state, it is sent what it missed from its
#     last cosigned size and cosigns the newest checkpoint;
#  3. two down: an API write and ten EST enrollments in parallel are
#     answered 503 with Retry-After (API code no_quorum) after the bounded
#     wait, and nothing is acknowledged: the published checkpoint stays;
#  4. one back: finality resumes; each of the writes answered 503 is
#     either absent from the ledger or on it and final, never acknowledged
#     twice; resubmitting the API entry byte for byte answers 201 with its
#     receipt (docs/api.md "No quorum"); the enrollments succeed again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vlib.sh"
. "$(dirname "$0")/vbridge.sh"

B="$OUT/bridge"
WAIT_MS=1000
MKENTRY="$KB_LIB_DIR/mkentry.py"
vb_setup "$B" "$WAIT_MS" v1 v2 v3 v4
H0=$(vb_height "$B")
kb_start "$B"
ORIGIN=$(kb_conf_get "$B" origin)

# ---- 1. one validator killed under load ---------------------------------------------
log "+ bench_entries $B 4 200, v4 killed with SIGKILL while it runs"
"$ENTRIES_BIN" "$B" 4 200 >"$OUT/entries.txt" 2>&1 &
BENCH=$!
kb_track "$BENCH"
start=$(kb_tree_size)
for ((t = 0; t < 300; t++)); do
	[ "$(kb_tree_size)" -lt "$((start + 150))" ] || break
	sleep 0.05
done
vd_kill9 v4
rc=0
wait "$BENCH" || rc=$?
kb_untrack "$BENCH"
assert_eq 0 "$rc" "bench_entries with v4 killed among 800 entries ($(tail -n 4 "$OUT/entries.txt"))"
assert_eq 800 "$(awk '/^entries_acknowledged/ { print $2 }' "$OUT/entries.txt")" "entries acknowledged with three validators"
V4=$(curl -sf --max-time 2 "${VD_URL[v4]}/status" || echo down)
assert_eq down "$V4" "v4 after SIGKILL"
n=$(vb_check_blocks "$B" "$H0" 3)
log "$n blocks, each with >= 3 valid cosignatures, v4 killed among them"

# ---- 2. restarted, it catches up --------------------------------------------------------
# its size read from its own state while it is down: once it listens,
# the bridge's idle step may catch it up before GET /status is asked
before=$(kb_ok validator status -d "$OUT/v4" | awk '/^cosigned size/ { print $3 }')
assert_match "$before" '^[0-9]+$' "v4's cosigned size from validator status"
vd_start v4
SIZE=$(kb_tree_size)
[ "$before" -lt "$SIZE" ] || fail "v4 was not behind ($before, ledger $SIZE): the catch-up is not tested"
log "v4 restarted at cosigned size $before, the ledger at $SIZE"
"$ENTRIES_BIN" "$B" 1 3 >"$OUT/entries2.txt" 2>&1 || fail "bench_entries after the restart: $(tail -n 3 "$OUT/entries2.txt")"
SIZE=$(kb_tree_size)
for ((t = 0; t < 50; t++)); do
	[ "$(vb_status v4 size)" -lt "$((SIZE - 1))" ] || break
	kb_ok key register -d "$B" --pubkey "$(new_key "c$t" p256 && echo "$OUT/keys/c$t.pub")" --name "c$t" >/dev/null
	SIZE=$(kb_tree_size)
done
after=$(vb_status v4 size)
[ "$after" -ge "$((SIZE - 1))" ] || fail "v4 at $after, the ledger at $SIZE: it did not catch up"
log "v4 caught up from $before to $after (ledger $SIZE)"
assert_eq "$(sqlite3 "$OUT/v4/validator.db" 'SELECT count(*) FROM entries')" "$after" "entries v4 replayed"

# ---- 3. two down: 503 after the bounded wait, nothing acknowledged -------------------
declare -A KID=()
for i in $(seq 1 10); do
	new_key "e$i" p256
	KID[$i]=$(kb_ok key register -d "$B" --pubkey "$OUT/keys/e$i.pub" --name "e$i" --json | jq -er .key_id)
	est_csr "e$i" "e$i" >/dev/null
done
SEQ=$(api GET /api/v1/accounts/admin | jq -er .next_seq)
python3 "$MKENTRY" "$B/admin.key" admin "$SEQ" "$ORIGIN" config-publish group=outage version=v1 \
    sha256="$(printf x | sha256sum | cut -d' ' -f1)" >"$OUT/outage.txt"
curl -sf --cacert "$B/ca/root.pem" -H 'Accept: text/plain' "$KB_URL/api/v1/ledger/checkpoint" >"$OUT/cp-before.note"
vd_kill9 v3
vd_kill9 v4
t0=$(date +%s%N)
mkdir -p "$OUT/ans"
pids=()
for i in $(seq 1 10); do
	curl -sS -o "$OUT/ans/$i.body" -D "$OUT/ans/$i.hdr" -w '%{http_code}' --max-time 30 \
	    --cacert "$B/ca/root.pem" -X POST -H 'Content-Type: application/pkcs10' \
	    --data-binary "@$OUT/csr/e$i.b64" "$KB_URL/.well-known/est/simpleenroll" >"$OUT/ans/$i.code" 2>"$OUT/ans/$i.err" &
	pids+=($!)
done
code=$(curl -sS -o "$OUT/api.body" -D "$OUT/api.hdr" -w '%{http_code}' --max-time 30 \
    --cacert "$B/ca/root.pem" -X POST -H 'Content-Type: text/plain' \
    --data-binary "@$OUT/outage.txt" "$KB_URL/api/v1/entries")
for p in "${pids[@]}"; do
	wait "$p" || true
done
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq 503 "$code" "POST /api/v1/entries with two validators down ($(cat "$OUT/api.body"))"
assert_eq no_quorum "$(jq -r .error.code "$OUT/api.body")" "error code of the 503"
ra=$(tr -d '\r' <"$OUT/api.hdr" | awk -F': *' 'tolower($1) == "retry-after" { print $2 }')
assert_match "$ra" '^[1-9][0-9]*$' "Retry-After of the API's 503"
for i in $(seq 1 10); do
	assert_eq 503 "$(cat "$OUT/ans/$i.code")" "enrollment e$i with two validators down ($(head -c 300 "$OUT/ans/$i.body"))"
	ra=$(tr -d '\r' <"$OUT/ans/$i.hdr" | awk -F': *' 'tolower($1) == "retry-after" { print $2 }')
	assert_match "$ra" '^[1-9][0-9]*$' "Retry-After of enrollment e$i's 503"
done
log "11 writes answered 503 within $ms ms (wait $WAIT_MS ms)"
[ "$ms" -ge "$WAIT_MS" ] || fail "answered in $ms ms, before the wait of $WAIT_MS ms"
[ "$ms" -lt "$((3 * WAIT_MS + 3000))" ] || fail "answered in $ms ms: not bounded by about two waits"
grep -q "no quorum\|not final" "$OUT/serve.log" || fail "serve logged nothing about the missing quorum"
curl -sf --cacert "$B/ca/root.pem" -H 'Accept: text/plain' "$KB_URL/api/v1/ledger/checkpoint" >"$OUT/cp-during.note"
cmp -s "$OUT/cp-before.note" "$OUT/cp-during.note" || fail "a checkpoint was published without a quorum: $(cat "$OUT/cp-during.note")"
# shellcheck disable=SC2046
if python3 "$VERIFY_COSIG" "$OUT/cp-during.note" 3 $(vb_vkeys) >/dev/null; then :; else
	fail "the published checkpoint lost its quorum"
fi

# ---- 4. one back: finality resumes ------------------------------------------------------
vd_start v3
code=$(curl -sS -o "$OUT/api2.body" -w '%{http_code}' --max-time 30 --cacert "$B/ca/root.pem" \
    -X POST -H 'Content-Type: text/plain' --data-binary "@$OUT/outage.txt" "$KB_URL/api/v1/entries")
assert_eq 201 "$code" "the same entry again, v3 back ($(cat "$OUT/api2.body"))"
IDX=$(jq -er .index "$OUT/api2.body")
jq -j .checkpoint "$OUT/api2.body" >"$OUT/api2.note"
# shellcheck disable=SC2046
python3 "$VERIFY_COSIG" "$OUT/api2.note" 3 $(vb_vkeys) >/dev/null || fail "the receipt's checkpoint is not final"
assert_eq 1 "$(sqlite3 "$B/ledger.db" "SELECT count(*) FROM entries WHERE data = CAST(readfile('$OUT/outage.txt') AS BLOB)")" "copies of the entry on the ledger"
assert_eq "$IDX" "$(sqlite3 "$B/ledger.db" "SELECT idx FROM entries WHERE data = CAST(readfile('$OUT/outage.txt') AS BLOB)")" "the receipt's index"
log "the entry answered 503 is at index $IDX, final; its resubmission got its receipt"
# An enrollment whose TBS was in the stored block: the TBS is on the
# ledger, final, the key's current certificate, and no certificate was
# signed for it (its client got 503).  The bridge remembered it
# (enroll_sign.c enroll_doubt_add): the key's next simpleenroll supersedes
# it (revoked, reason superseded) and gets its certificate.  An enrollment
# that was only queued left nothing: it enrolls as any other.
stored=0 enrolled=0
for i in $(seq 1 10); do
	old=$(sqlite3 "$B/ledger.db" "SELECT serial FROM certs WHERE key_id = '${KID[$i]}'")
	est_enroll /.well-known/est/simpleenroll "$OUT/csr/e$i.b64" "$OUT/e$i.pem"
	openssl verify -CAfile "$B/ca/root.pem" -untrusted "$B/ca/issuing.pem" "$OUT/e$i.pem" >/dev/null ||
		fail "enrollment e$i after the outage: the certificate does not verify"
	if [ -n "$old" ]; then
		assert_eq "revoked superseded" "$(curl -sf --cacert "$B/ca/root.pem" "$KB_URL/api/v1/certs/$old" |
		    jq -r '.status + " " + (.reason // "none")')" "the stored TBS $old of e$i, superseded"
		stored=$((stored + 1))
	fi
	enrolled=$((enrolled + 1))
done
log "after the outage: $enrolled enrollments signed, $stored TBSs in the stored block (final, unsigned)"
[ "$enrolled" -gt 0 ] || fail "no enrollment after the outage"
n=$(vb_check_blocks "$B" "$H0" 3)
log "$n blocks in all, each with >= 3 valid cosignatures"
kb_stop
for v in v1 v2 v3; do
	vd_stop "$v"
done
log "PASS"
