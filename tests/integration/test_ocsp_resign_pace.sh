#!/usr/bin/env bash
# kb-test: alone (times the background re-signing against a pace)
# Re-signing at a pace (ocsp_resign_rate, issue 18, docs/design.md
# "Re-signing at a pace"): stored answers past half their validity are
# signed again at most ocsp_resign_rate a second while more than a
# quarter of their validity is left, at once when less is:
#   - 12 due answers with ocsp_resign_rate = 2: fewer than 12 signed 3 s
#     after the start (the pace needs 5 s), all 12 within 30 s, and every
#     certificate answered (from the store) meanwhile without a live
#     signature;
#   - the same with ocsp_resign_rate = 0 (the negative control): all 12
#     within 4 s;
#   - urgent answers (a sixth of the validity left) with the pace of 2:
#     all 12 within 4 s;
#   - with ocsp_cache_max = 4 and four certificates asked for, the 12
#     background signatures add nothing to the memory cache (no eviction:
#     the four asked for stay).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kb_store_bridge
NAMES="dev1 dev2 dev3 dev4 dev5 dev6"
for n in $NAMES; do
	kb_enroll "$n"
done
OCSP_URL=$(openssl x509 -in "$OUT/dev1.pem" -noout -ocsp_uri)

metric() { kb_metric "$1"; }

# status_of NAME [ARGS]: kb_ocsp_status (lib.sh).
status_of() { kb_ocsp_status "$@"; }

# signatures_within SECS N: waits up to SECS for N signatures and nothing
# pending or paced; prints the seconds it took (fails past SECS).
signatures_within() {
	local t0=$SECONDS s p
	while :; do
		s=$(metric keybridge_ocsp_signatures_total)
		p=$(($(metric keybridge_ocsp_resign_pending) + $(metric keybridge_ocsp_resign_paced)))
		[ "${s:-0}" -lt "$2" ] || [ "${p:-1}" -ne 0 ] || break
		[ $((SECONDS - t0)) -lt "$1" ] || fail "$s of $2 signatures after $1 s ($p pending)"
		sleep 0.1
	done
	echo $((SECONDS - t0))
}

# make_due LEFT: every stored answer due (past half its 3600 s validity),
# with LEFT seconds before its nextUpdate (the bridge stopped).
make_due() {
	local now
	now=$(date +%s)
	sqlite3 "$STORE" "UPDATE ocsp_answers SET this_update = $now + $1 - 3600, next_update = $now + $1"
	assert_eq 12 "$(sqlite3 "$STORE" "SELECT count(*) FROM ocsp_answers WHERE this_update + next_update <= 2 * $now")" "answers made due"
}

# the first request of each is signed live and queues both answers
for n in $NAMES; do
	assert_eq good "$(status_of "$n")" "first status of $n"
done
signatures_within 20 18 >/dev/null	# 6 live + 12 pre-signed
sleep 0.7	# the store's transaction is committed every 500 ms
kb_stop
assert_eq 12 "$(sqlite3 "$STORE" "SELECT count(*) FROM ocsp_answers")" "answers stored"

# ---- not urgent, paced at 2 answers a second ------------------------------------
make_due 1600
kb_conf_set "$DIR" ocsp_resign_rate 2
kb_start "$DIR"
t0=$SECONDS
# four asked for: the cache of 4 holds them (read from the store)
for n in dev1 dev2 dev3 dev4; do
	assert_eq good "$(status_of "$n")" "status of $n while re-signing at a pace"
done
sleep $((t0 + 3 - SECONDS > 0 ? t0 + 3 - SECONDS : 0))
s=$(metric keybridge_ocsp_signatures_total)
[ "$s" -lt 12 ] || fail "$s answers re-signed 3 s after the start at 2 a second: not paced"
# the held ones are counted apart: answerable meanwhile, not "pending"
p=$(metric keybridge_ocsp_resign_paced)
[ "$p" -gt 0 ] || fail "keybridge_ocsp_resign_paced $p while $s of 12 are re-signed"
assert_eq 0 "$(metric keybridge_ocsp_resign_pending)" "keybridge_ocsp_resign_pending while paced"
log "paced: $s of 12 re-signed after 3 s"
took=$(signatures_within 30 12)
log "paced: 12 re-signed after $((SECONDS - t0)) s"
assert_eq 12 "$(metric keybridge_ocsp_signatures_total)" "signatures at a pace (none live: answers came from the store)"
assert_eq 0 "$(metric keybridge_ocsp_cache_evictions_total)" "evictions from a cache of 4 by 12 background signatures"
c=$(metric keybridge_ocsp_responses_cached)
[ "$c" -le 4 ] || fail "$c answers in memory with ocsp_cache_max = 4"
sleep 0.7
kb_stop

# ---- the negative control: no pace -------------------------------------------------
make_due 1600
kb_conf_set "$DIR" ocsp_resign_rate 0
kb_start "$DIR"
took=$(signatures_within 4 12)
log "no pace: 12 re-signed within $took s"
sleep 0.7
kb_stop

# ---- urgent: a sixth of the validity left, the pace does not hold them -------------
make_due 600
kb_conf_set "$DIR" ocsp_resign_rate 2
kb_start "$DIR"
took=$(signatures_within 4 12)
log "urgent: 12 re-signed within $took s at a pace of 2"
for n in $NAMES; do
	assert_eq good "$(status_of "$n")" "status of $n after urgent re-signing"
done
kb_stop
log "OK: due answers are re-signed at ocsp_resign_rate until urgent, at once then, without filling the bounded cache"
