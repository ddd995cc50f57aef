#!/usr/bin/env bash
# A validator killed with SIGKILL right after a cosignature, while the
# next block is in flight (0, 1 and 3 ms later), three times: restarted,
# its cosigned size is the last one answered 200 (or the one in flight,
# when its commit made it to disk before the kill), its registry holds
# exactly that many entries, and it refuses another checkpoint of every
# size it answered 200 for (409: never a second checkpoint of a cosigned
# size), while its own checkpoint is cosigned again.  Then it is fed to
# the end.  A key file not 0600 and a state that disagrees with the
# registry stop it from starting.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vlib.sh"

B="$OUT/bridge"
N=30
kb_init "$B"
for i in $(seq 1 "$N"); do
	new_key "d$i" p256
	kb_ok key register -d "$B" --pubkey "$OUT/keys/d$i.pub" --name "d$i" >/dev/null
done
TOTAL=$(sqlite3 "$B/ledger.db" 'SELECT count(*) FROM entries')
log "the ledger holds $TOTAL entries"

vd_init v1 "$B"
vd_start v1
FEED=(--db "$B/ledger.db" --node-key "$(kb_conf_path "$B" validator_key)"
    --node-name "$(kb_conf_get "$B" validator_name)"
    --origin "$(kb_conf_get "$B" origin)" --url "${VD_URL[v1]}"
    --log "$OUT/fed.log")

for round in "5 0" "12 1" "20 3"; do
	at=${round% *}
	delay=${round#* }
	log "+ feed, SIGKILL ${delay} ms after size $at is cosigned"
	python3 "$BYZSEQ" feed "${FEED[@]}" --kill-pid "${VD_PID[v1]}" \
	    --kill-at "$at" --kill-delay-ms "$delay"
	wait "${VD_PID[v1]}" 2>/dev/null || true
	kb_untrack "${VD_PID[v1]}"
	assert_eq "$at" "$(tail -n 1 "$OUT/fed.log")" "last size answered 200 before the kill"
	vd_start v1
	size=$(curl -sf "${VD_URL[v1]}/status" | jq -r .size)
	log "restarted: cosigned size $size (last 200 for $at)"
	assert_eq "$size" "$(sqlite3 "$OUT/v1/validator.db" 'SELECT count(*) FROM entries')" "entries in the registry = cosigned size"
	python3 "$BYZSEQ" after-crash "${FEED[@]}" || fail "after-crash checks (above)"
done
# ---- storage failures: 503, nothing changed ----------------------------------------
# Another process holds the database's write lock past the busy timeout
# (10 s): the validator answers 503 (its registry failed, not the
# entry), keeps its state, and cosigns the same block once the lock is
# gone.  A witness (no registry) fails at its state's commit instead.
vd_init w1 "$B" --witness
vd_start w1
WFEED=("${FEED[@]}")
WFEED[9]="${VD_URL[w1]}"
python3 "$BYZSEQ" step "${WFEED[@]}" --path /add-checkpoint >"$OUT/step"
assert_match "$(cat "$OUT/step")" "^200 " "the witness's first checkpoint"
v1size=$(curl -sf "${VD_URL[v1]}/status" | jq -r .size)
wsize=$(curl -sf "${VD_URL[w1]}/status" | jq -r .size)
hold_lock() {	# hold_lock DB SECONDS: a writer lock, in the background
	rm -f "$OUT/locked"
	python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[3], "w").close()
time.sleep(float(sys.argv[2]))' "$1" "$2" "$OUT/locked" &
	LOCK_PID=$!
	kb_track "$LOCK_PID"
	while [ ! -e "$OUT/locked" ]; do sleep 0.05; done
}
hold_lock "$OUT/v1/validator.db" 13
python3 "$BYZSEQ" step "${FEED[@]}" >"$OUT/step"
assert_match "$(cat "$OUT/step")" "^503 storage: " "add-block while the registry is locked"
wait "$LOCK_PID"; kb_untrack "$LOCK_PID"
assert_eq "$v1size" "$(curl -sf "${VD_URL[v1]}/status" | jq -r .size)" "v1's size after the 503"
python3 "$BYZSEQ" step "${FEED[@]}" >"$OUT/step"
assert_match "$(cat "$OUT/step")" "^200 " "the same block once the lock is gone"
hold_lock "$OUT/w1/validator.db" 13
python3 "$BYZSEQ" step "${WFEED[@]}" --path /add-checkpoint >"$OUT/step"
assert_match "$(cat "$OUT/step")" "^503 storage: " "the witness's add-checkpoint while its database is locked"
wait "$LOCK_PID"; kb_untrack "$LOCK_PID"
assert_eq "$wsize" "$(curl -sf "${VD_URL[w1]}/status" | jq -r .size)" "w1's size after the 503"
python3 "$BYZSEQ" step "${WFEED[@]}" --path /add-checkpoint >"$OUT/step"
assert_match "$(cat "$OUT/step")" "^200 " "the same checkpoint once the lock is gone"
vd_stop w1

python3 "$BYZSEQ" feed "${FEED[@]}"
assert_eq "$TOTAL" "$(curl -sf "${VD_URL[v1]}/status" | jq -r .size)" "cosigned size after feeding it all"
# a log rotation's SIGHUP and SIGUSR1 do not end it (issue 17)
kill -HUP "${VD_PID[v1]}"
kill -USR1 "${VD_PID[v1]}"
curl -sf -o /dev/null "${VD_URL[v1]}/status" || fail "validator v1 stopped answering after SIGHUP and SIGUSR1"
vd_stop v1

# ---- refusals to start --------------------------------------------------------------
# (under `timeout`: a daemon that starts anyway fails here, not in 600 s)
vd_refused() {
	KB_RC=0
	timeout 10 "$KEYBRIDGE" validator serve -d "$OUT/v1" >"$KB_STDOUT" 2>"$KB_STDERR" || KB_RC=$?
}
chmod 620 "$OUT/v1/validator.key"
vd_refused
assert_eq 1 "$KB_RC" "serve with a key file 0620 (group-writable)"
assert_contains "$(cat "$KB_STDERR")" "must be 0600" "serve's reason"
chmod 600 "$OUT/v1/validator.key"
cp "$OUT/v1/validator.db" "$OUT/v1.db.good"
sqlite3 "$OUT/v1/validator.db" "DELETE FROM entries WHERE idx = (SELECT max(idx) FROM entries)"
vd_refused
assert_eq 1 "$KB_RC" "serve with a registry short of the state"
assert_contains "$(cat "$KB_STDERR")" "the registry holds $((TOTAL - 1)) entries but the state says $TOTAL" "serve's reason"
cp "$OUT/v1.db.good" "$OUT/v1/validator.db"
rm -f "$OUT/v1/validator.db-wal" "$OUT/v1/validator.db-shm"
vd_start v1
vd_stop v1
