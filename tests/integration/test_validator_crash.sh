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
python3 "$BYZSEQ" feed "${FEED[@]}"
assert_eq "$TOTAL" "$(curl -sf "${VD_URL[v1]}/status" | jq -r .size)" "cosigned size after feeding it all"
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
