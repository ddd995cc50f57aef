#!/usr/bin/env bash
# An acknowledged entry survives a crash: four clients publish configs through
# the running bridge as fast as they can, the bridge is killed with SIGKILL in
# the middle, and after a restart every receipt a client got is on the ledger
# at its index with its leaf hash; the replayed ledger verifies.
# Then the same under a heavy load (bench_entries, 16 kept-alive TLS
# clients): many entries in flight, so blocks are sealed while the next
# ones are made (ledger/pipe.c) and signatures checked ahead of the
# writer (ledger/ingest.c); killed in the middle, every entry answered
# 201 is on the ledger after the restart.  Again with 32 entries per
# request (POST /api/v1/entries {"entries": [...]}).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
NCLIENTS=4
MIN_RECEIPTS=20		# per client, or
RUN_SECONDS=3		# whichever comes first, then SIGKILL

kb_init "$DIR"
kb_start "$DIR"

# ---- four admin accounts -------------------------------------------------
for n in $(seq 1 $NCLIENTS); do
	if [ $((n % 2)) -eq 1 ]; then type=ed25519; else type=ec-p256; fi
	kb_ok account keygen --out "$OUT/client$n.key" --type "$type" >/dev/null
	assert_file_mode "$OUT/client$n.key" 600
	[ -s "$OUT/client$n.key.pub" ] || fail "account keygen wrote no $OUT/client$n.key.pub"
	openssl pkey -pubin -in "$OUT/client$n.key.pub" -noout ||
		fail "$OUT/client$n.key.pub is not a public key PEM"
	kb_ok account create -d "$DIR" --name "client$n" --pubkey "$OUT/client$n.key.pub" \
	    --role admin --json >/dev/null
done
list=$(kb_ok account list -d "$DIR")
for a in admin bridge client1 client2 client3 client4; do
	assert_contains "$list" "$a" "account list"
done
show=$(kb_ok account show -d "$DIR" --name client2)
assert_contains "$show" "client2" "account show --name client2"
acct=$(api GET /api/v1/accounts/client3)
assert_eq client3 "$(jq -r '.name' <<<"$acct")" "API account name"
assert_eq admin "$(jq -r '.role' <<<"$acct")" "API account role"

# ---- publishers ---------------------------------------------------------------
# publish_loop N: publishes versions 1, 2, ... for group gN as clientN through
# the bridge (--remote) and appends {index, leaf_hash} of each receipt to
# receiptsN.jsonl; stops at the first failure (the crash) or on OUT/stop.
publish_loop() {
	local n=$1 v=0 f r
	mkdir -p "$OUT/files$n"
	while [ ! -e "$OUT/stop" ]; do
		v=$((v + 1))
		f="$OUT/files$n/v$v.bin"
		printf 'group g%s version %s of client %s, %s\n' "$n" "$v" "$n" "$RANDOM$RANDOM" >"$f"
		if ! r=$("$KEYBRIDGE" config publish -d "$DIR" --as "client$n" \
		    --account "$OUT/client$n.key" --remote --json --group "g$n" \
		    --file "$f" --version "$v" 2>>"$OUT/loop$n.err"); then
			echo "publish of version $v failed (exit status above)" >>"$OUT/loop$n.err"
			break
		fi
		if ! printf '%s\n' "$r" | jq -ce '{index, leaf_hash}' >>"$OUT/receipts$n.jsonl" 2>>"$OUT/loop$n.err"; then
			echo "version $v: receipt is not JSON with index and leaf_hash: $r" >>"$OUT/loop$n.err"
			break
		fi
	done
}

loop_pids=()
for n in $(seq 1 $NCLIENTS); do
	: >"$OUT/receipts$n.jsonl"
	: >"$OUT/loop$n.err"
	publish_loop "$n" &
	loop_pids+=("$!")
	kb_track "$!"
done
log "publishers started: ${loop_pids[*]}"

count() { grep -c . "$OUT/receipts$1.jsonl" || true; }
start=$SECONDS
while :; do
	enough=1
	for n in $(seq 1 $NCLIENTS); do
		[ "$(count "$n")" -ge $MIN_RECEIPTS ] || enough=0
	done
	[ $enough -eq 1 ] && break
	[ $((SECONDS - start)) -ge $RUN_SECONDS ] && break
	sleep 0.1
done
# Every publisher must still be running: nothing may fail before the crash.
for i in "${!loop_pids[@]}"; do
	if ! kill -0 "${loop_pids[$i]}" 2>/dev/null; then
		fail "publisher $((i + 1)) stopped while the bridge was up: $(tail -n 5 "$OUT/loop$((i + 1)).err")"
	fi
done
log "receipts before the crash: $(for n in $(seq 1 $NCLIENTS); do printf 'client%s=%s ' "$n" "$(count "$n")"; done)"

kb_kill9

# With the bridge gone, --remote must fail at once: every publisher ends.
for i in "${!loop_pids[@]}"; do
	pid=${loop_pids[$i]}
	if ! kb_wait_gone "$pid" 30; then
		touch "$OUT/stop"
		fail "publisher $((i + 1)) still running 30 s after the bridge died (--remote not refusing?)"
	fi
	wait "$pid" || true
	kb_untrack "$pid"
done

# ---- restart and check every receipt --------------------------------------------------
kb_start "$DIR"
total=0
seen=""
for n in $(seq 1 $NCLIENTS); do
	prev=-1
	while IFS= read -r line; do
		read -r idx lh < <(jq -r '"\(.index) \(.leaf_hash)"' <<<"$line")
		assert_match "$idx $lh" '^[0-9]+ [0-9a-f]{64}$' "client$n receipt"
		[ "$idx" -gt "$prev" ] || fail "client$n receipts out of order: $idx after $prev"
		case " $seen " in *" $idx "*) fail "index $idx acknowledged twice" ;; esac
		seen="$seen $idx"
		e=$(api GET "/api/v1/ledger/entries?from=$idx&limit=1")
		read -r got_idx got_lh got_acct < <(jq -r \
		    '.entries[0] // {} | "\(.index // "missing") \(.leaf_hash // "missing") \(.account // "missing")"' <<<"$e")
		assert_eq "$idx" "$got_idx" "entry at acknowledged index $idx (client$n) after the crash"
		assert_eq "$lh" "$got_lh" "leaf_hash of acknowledged entry $idx (client$n) after the crash"
		assert_eq "client$n" "$got_acct" "account of entry $idx"
		prev=$idx
		total=$((total + 1))
	done <"$OUT/receipts$n.jsonl"
done
[ "$total" -gt 0 ] || fail "no receipt at all before the crash: $(cat "$OUT"/loop*.err | head -n 20)"
log "all $total acknowledged entries survived the crash"

# The accounts' sequence numbers carry on after the crash.
printf 'after the crash\n' >"$OUT/after.bin"
r=$(kb_ok config publish -d "$DIR" --as client1 --account "$OUT/client1.key" --remote \
    --json --group g1 --file "$OUT/after.bin" --version after-crash)
jq -e '.index' <<<"$r" >/dev/null || fail "publish after the crash: no receipt: $r"

# ---- the same under a heavy load ------------------------------------------
BENCH=${BENCH:-$(dirname "$KEYBRIDGE")/bench}
[ -x "$BENCH/bench_entries" ] || fail "no $BENCH/bench_entries (make test-bins)"
# crash_under_load TAG: bench_entries (16 clients; in batches of
# BENCH_BATCH entries when set) recording every acknowledged entry in
# OUT/acksTAG.txt, SIGKILL after 3000, restart: each one is on the ledger.
crash_under_load() {
	local tag=$1 acks="$OUT/acks$1.txt" load_pid start acked
	acks_n() { awk 'END { print NR }' "$acks" 2>/dev/null || echo 0; }
	BENCH_ACKS="$acks" "$BENCH/bench_entries" "$DIR" 16 2000 \
	    >"$OUT/load$tag.txt" 2>"$OUT/load$tag.err" &
	load_pid=$!
	kb_track "$load_pid"
	start=$SECONDS
	until [ "$(acks_n)" -ge 3000 ]; do
		kill -0 "$load_pid" 2>/dev/null || fail "bench_entries ended before the crash: $(tail -n 5 "$OUT/load$tag.err")"
		[ $((SECONDS - start)) -lt 120 ] || fail "fewer than 3000 entries acknowledged in 120 s under load"
		sleep 0.05
	done
	kb_kill9
	kb_wait_gone "$load_pid" 60 || fail "bench_entries still running 60 s after the bridge died"
	wait "$load_pid" || true
	kb_untrack "$load_pid"
	acked=$(acks_n)
	log "under load$tag: $acked entries acknowledged before the crash"
	kb_start "$DIR"
	python3 - "$KB_URL" "$DIR/ca/root.pem" "$acks" <<'PY' || fail "an entry acknowledged under load is missing after the crash (above)"
import json, ssl, sys, urllib.request
url, ca, acks = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
def get(path):
    with urllib.request.urlopen(url + path, context=ctx, timeout=30) as r:
        return json.load(r)
size = int(get("/api/v1/ledger/entries?from=0&limit=1")["tree_size"])
have, frm = {}, 0
while frm < size:
    page = get("/api/v1/ledger/entries?from=%d&limit=1000" % frm)["entries"]
    if not page:
        break
    for e in page:
        have[int(e["index"])] = (e["leaf_hash"], e["account"])
    frm = int(page[-1]["index"]) + 1
bad, n = 0, 0
for line in open(acks):
    acct, seq, idx, lh = line.split()
    n += 1
    if have.get(int(idx)) != (lh, acct):
        bad += 1
        if bad <= 5:
            print("acknowledged %s seq %s at index %s (%s) but the ledger has %r"
                  % (acct, seq, idx, lh, have.get(int(idx))), file=sys.stderr)
print("%d acknowledged entries checked against %d on the ledger, %d missing"
      % (n, size, bad), file=sys.stderr)
sys.exit(1 if bad or n == 0 else 0)
PY
	log "every entry acknowledged under load$tag survived the crash"
}
crash_under_load ""
# the same with 32 entries per request ({"entries": [...]}, issue 18): a
# batch's 201s are as durable as single ones
BENCH_BATCH=32 crash_under_load -batch

kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the crash and restart"
log "durability OK"
