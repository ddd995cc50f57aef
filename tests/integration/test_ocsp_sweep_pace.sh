#!/usr/bin/env bash
# kb-test: beside (waits ~150 s for answers to fall due; its bounds hold under load)
# Without an OCSP store, the cache's sweep (every 30 s) re-signs the
# answers falling due at ocsp_resign_rate too (issue 18, docs/operations.md
# "After a long downtime"): the answers signed at the start all fall due
# together; the sweep queues them at the pace, not at once (the paced
# gauge above 0, the signatures of 3 s within the rate and a burst), and
# the paced queue moves between sweeps (the pace's timer exists without a
# store: at least RATE signatures in those 3 s).  Split from
# test_ocsp_downtime, which is a "kb-test: alone" test: this one waits
# ~150 s for the answers to fall due, and its bounds hold on a loaded
# machine (an upper bound, and a lower one of a second's worth in three).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=${KB_SWEEP_CERTS:-60}
RATE=20		# answers a second: 10 certificates

kb_store_bridge
for ((i = 1; i <= N; i++)); do
	kb_enroll "c$i"
done
log "enrolled $N certificates"
kb_stop

metric() { kb_metric "$1"; }
status_of() { kb_ocsp_status "$@"; }

# ---- without a store: the cache's sweep paces its due answers too ---------------
# Every answer signed at the start (no store: nothing to read back) falls
# due after half of ocsp_validity = 300 s (the least) and turns urgent with
# 75 s left: the sweep (every 30 s from the start) finds them due at 150
# or 180 s, with 120 s or more left, and queues them at the pace, not at
# once.
kb_conf_set "$DIR" ocsp_store off
kb_conf_set "$DIR" ocsp_cache_max 0
kb_conf_set "$DIR" ocsp_validity 300
kb_conf_set "$DIR" ocsp_resign_rate "$RATE"
kb_start "$DIR"
t0=$SECONDS
kb_ocsp_settled $((2 * N))
s1=$(metric keybridge_ocsp_signatures_total)
while [ "$(metric keybridge_ocsp_resign_paced)" -eq 0 ]; do
	[ $((SECONDS - t0)) -lt 200 ] || fail "no answer held to the pace by the sweep 200 s after the start ($(metric keybridge_ocsp_signatures_total) signatures, $(metric keybridge_ocsp_resign_pending) pending)"
	sleep 0.2
done
s2=$(metric keybridge_ocsp_signatures_total)
sleep 3
s3=$(metric keybridge_ocsp_signatures_total)
p=$(metric keybridge_ocsp_resign_paced)
d=$((s3 - s1))
[ "$d" -le $((RATE * 4 + 8)) ] || fail "$d signatures in the 3 s after the sweep at ocsp_resign_rate = $RATE: not paced"
# ... but going: the pace's timer wakes the queue, not the next sweep
[ "$d" -ge "$RATE" ] || fail "$d signatures in the 3 s after the sweep at ocsp_resign_rate = $RATE: the paced queue does not move"
[ "$p" -gt 0 ] || fail "keybridge_ocsp_resign_paced $p 3 s after the sweep"
log "no store: the sweep holds $p certificates to the pace ($d signatures in 3 s)"
assert_eq good "$(status_of c1)" "c1 while the sweep's answers are paced"
kb_stop

log "OK: without a store, the sweep re-signs the answers falling due at ocsp_resign_rate, and they move between sweeps"
