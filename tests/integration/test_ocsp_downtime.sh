#!/usr/bin/env bash
# kb-test: alone (times the background re-signing against a pace)
# A restart after a downtime longer than the answers' validity (issue 18,
# docs/operations.md "After a long downtime"): every stored answer is
# expired.  With N certificates and ocsp_resign_rate = RATE answers a
# second:
#   - the expired answers are re-signed at the pace, not at once: the
#     paced gauge is above 0, the pending one 0 (nothing queued to go at
#     once), and the signatures of a few seconds stay within RATE a second
#     (plus a burst and the few answers asked for);
#   - a certificate whose stored answer is still expired is answered at
#     once, good, with a fresh answer (signed on demand), and so is its
#     SHA-256 CertID;
#   - a key revoked during the catch-up: its certificate answers revoked
#     at once (never paced);
#   - a key revoked while the bridge was down: revoked on the first
#     request, and its stored answer re-signed at once at the start (the
#     warm-up compares the expired row's status with the ledger's);
#   - at the end every certificate has a fresh stored answer, the whole
#     catch-up having taken about 2N / RATE seconds;
#   - the negative control: with ocsp_resign_rate = 0 the same catch-up
#     is over within a few seconds (what the pace holds back).
# Without a store, the sweep's pace: test_ocsp_sweep_pace.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=${KB_DOWNTIME_CERTS:-200}
RATE=20		# answers a second: 10 certificates
VALIDITY=600

kb_store_bridge
kb_conf_set "$DIR" ocsp_validity "$VALIDITY"
declare -A KID
for ((i = 1; i <= N; i++)); do
	kb_enroll "c$i"
	KID[c$i]=$KB_KEY_ID
done
log "enrolled $N certificates"

metric() { kb_metric "$1"; }
status_of() { kb_ocsp_status "$@"; }

# caught_up: waits (60 s at most) until every stored answer was signed in
# the last two minutes and nothing waits, pending or paced.
caught_up() {
	local deadline=$((SECONDS + 60)) old p
	while :; do
		old=$(sqlite3 "$STORE" "SELECT count(*) FROM ocsp_answers WHERE next_update <= $(date +%s) + $VALIDITY - 120")
		p=$(($(metric keybridge_ocsp_resign_pending) + $(metric keybridge_ocsp_resign_paced)))
		[ "$old" -ne 0 ] || [ "$p" -ne 0 ] || break
		[ "$SECONDS" -lt "$deadline" ] || fail "$old stored answers not re-signed after 60 s ($p waiting)"
		sleep 0.2
	done
}

# expire_all: every stored answer expired an hour ago, as after a downtime
# of two validities.
expire_all() {
	local now
	now=$(date +%s)
	sqlite3 "$STORE" "UPDATE ocsp_answers SET this_update = $now - 2 * $VALIDITY, next_update = $now - $VALIDITY"
	assert_eq $((2 * N)) "$(sqlite3 "$STORE" "SELECT count(*) FROM ocsp_answers WHERE next_update < $now")" "stored answers made expired"
}

# expired_rows NAME: NAME's stored answers still expired now.
expired_rows() {
	sqlite3 "$STORE" "SELECT count(*) FROM ocsp_answers WHERE serial = '$(cert_serial_hex "$OUT/$1.pem")' AND next_update <= $(date +%s)"
}

# fresh NAME: the last answer of NAME (kb_ocsp_status's text) was signed
# within the last 30 s and is valid for most of the validity.
fresh() {
	local f="$OUT/q/$1.txt" tu="" nu="" now
	grep -q "This Update: " "$f" || fail "no thisUpdate in $f"
	tu=$(date -d "$(sed -n 's/^[[:space:]]*This Update: //p' "$f" | head -n 1)" +%s)
	nu=$(date -d "$(sed -n 's/^[[:space:]]*Next Update: //p' "$f" | head -n 1)" +%s)
	now=$(date +%s)
	[ -n "$tu" ] && [ -n "$nu" ] || fail "no thisUpdate or nextUpdate in $f"
	[ $((now - tu)) -le 30 ] || fail "$1's answer was signed $((now - tu)) s ago: not fresh"
	[ $((nu - now)) -ge $((VALIDITY - 60)) ] || fail "$1's answer expires in $((nu - now)) s"
}

# ---- every certificate pre-signed and stored -------------------------------------
kb_stop
kb_start "$DIR"
kb_ocsp_settled $((2 * N))
kb_stop
assert_eq $((2 * N)) "$(sqlite3 "$STORE" "SELECT count(*) FROM ocsp_answers")" "answers stored"

# ---- the downtime: every answer expired, one key revoked meanwhile -----------------
# The one revoked while down is the last one the pace would reach: the
# expired rows share their nextUpdate, and ties go in serial order.
last=$(sqlite3 "$STORE" "SELECT serial FROM ocsp_answers WHERE md = 0 ORDER BY serial DESC LIMIT 1")
down=""
for ((i = 1; i <= N; i++)); do
	[ "$(cert_serial_hex "$OUT/c$i.pem")" != "$last" ] || down=c$i
done
[ -n "$down" ] || fail "no certificate of serial $last"
expire_all
kb_ok key revoke -d "$DIR" --key-id "${KID[$down]}" --reason keyCompromise >/dev/null
kb_conf_set "$DIR" ocsp_resign_rate "$RATE"
kb_start "$DIR"
t0=$SECONDS

# revoked while down: its stored answers re-signed at once by the start-up
# pass (it compares an expired answer's status with the ledger's), not
# left to the pace, which reaches it last
sleep 1
assert_eq 0 "$(expired_rows "$down")" "$down's stored answers (revoked while the bridge was down) still expired 1 s after the start"
assert_eq revoked "$(status_of "$down")" "$down (revoked while the bridge was down), first request"

# paced: held back, nothing queued to go at once
p=$(metric keybridge_ocsp_resign_paced)
[ "${p:-0}" -gt 0 ] || fail "keybridge_ocsp_resign_paced is $p after a restart with $((2 * N)) expired answers: not paced"
assert_eq 0 "$(metric keybridge_ocsp_resign_pending)" "keybridge_ocsp_resign_pending (expired answers of known certificates go at the pace)"

# the pace holds: over 5 s, at most RATE a second, a burst and what was
# asked for (the revoked one's answers, each query's live one)
s1=$(metric keybridge_ocsp_signatures_total)
sleep 5
s2=$(metric keybridge_ocsp_signatures_total)
d=$((s2 - s1))
[ "$d" -le $((RATE * 6 + 8)) ] || fail "$d signatures in 5 s at ocsp_resign_rate = $RATE: not paced"
[ "$d" -gt 0 ] || fail "no signature in 5 s of the catch-up"
log "paced: $d signatures in 5 s at $RATE a second ($p certificates held back)"

# a certificate still waiting for the pace: answered at once, fresh
pick=""
for ((i = N; i > 0; i--)); do
	if [ "c$i" != "$down" ] && [ "$(expired_rows "c$i")" = 2 ]; then
		pick=c$i
		break
	fi
done
[ -n "$pick" ] || fail "no certificate left with expired stored answers $((SECONDS - t0)) s into the catch-up"
t1=$(date +%s%N)
assert_eq good "$(status_of "$pick")" "$pick (stored answer expired, waiting for the pace)"
ms=$((($(date +%s%N) - t1) / 1000000))
[ "$ms" -lt 3000 ] || fail "$pick answered in $ms ms: not at once"
fresh "$pick"
assert_eq good "$(status_of "$pick" -sha256)" "$pick (SHA-256 CertID)"
fresh "$pick"
log "$pick answered in $ms ms while its stored answer was expired"

# a revocation during the catch-up: at once
rev=""
for ((i = N - 1; i > 0; i--)); do
	[ "c$i" != "$pick" ] && [ "c$i" != "$down" ] || continue
	if [ "$(expired_rows "c$i")" = 2 ]; then
		rev=c$i
		break
	fi
done
[ -n "$rev" ] || fail "no second certificate left with expired stored answers"
kb_ok key revoke -d "$DIR" --key-id "${KID[$rev]}" --reason keyCompromise >/dev/null
deadline=$((SECONDS + 3))
until [ "$(status_of "$rev")" = revoked ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "$rev not revoked over OCSP 3 s after key revoke during the catch-up"
	sleep 0.2
done
fresh "$rev"
log "$rev revoked at once during the catch-up"

# the whole catch-up: about 2N / RATE seconds, then every answer fresh
caught_up
took=$((SECONDS - t0))
[ "$took" -ge $((2 * N / RATE / 2)) ] || fail "$((2 * N)) answers re-signed in $took s at $RATE a second: not paced"
now=$(date +%s)
assert_eq $((2 * N)) "$(sqlite3 "$STORE" "SELECT count(*) FROM ocsp_answers WHERE next_update > $now + $VALIDITY - 120")" "fresh stored answers after the catch-up"
assert_eq revoked "$(status_of "$down")" "$down after the catch-up"
assert_eq revoked "$(status_of "$rev")" "$rev after the catch-up"
assert_eq good "$(status_of c1)" "c1 after the catch-up"
log "caught up in $took s at $RATE answers a second"
kb_stop

# ---- the negative control: no pace ----------------------------------------------
expire_all
kb_conf_set "$DIR" ocsp_resign_rate 0
kb_start "$DIR"
t0=$SECONDS
caught_up
took=$((SECONDS - t0))
[ "$took" -lt $((2 * N / RATE / 2)) ] || fail "without a pace the catch-up took $took s"
log "no pace: caught up in $took s"
kb_stop
log "OK: after a downtime longer than the validity, expired answers are re-signed at ocsp_resign_rate while each certificate is answered at once and revocations go at once"
