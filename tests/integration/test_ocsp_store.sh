#!/usr/bin/env bash
# kb-test: alone (asserts that a restart signs nothing and answers at once)
# The persistent OCSP store (ocsp_store, issue 18) with a bounded memory
# cache (ocsp_cache_max = 4 answers, fewer than the certificates' 12):
#   - every certificate is answered correctly (verified to the root) while
#     answers are evicted from memory and read back from the store;
#   - after a restart every certificate is answered with no signature made
#     (signatures_total stays 0; the answers come from the store);
#   - a key revoked while the bridge was down: its certificate's stored
#     good answer is never served after the restart (revoked at once);
#     a revocation made while running is kept in the store as revoked;
#   - a stored answer whose bytes were altered inside a sound database is
#     not served (the answer still verifies);
#   - after kill -9 on this boot the store is not re-read by a quick_check,
#     after another boot's it is;
#   - a truncated store file and a file of garbage: serve starts, logs that
#     the file was set aside, and answers correctly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kb_store_bridge
declare -A KID
NAMES="dev1 dev2 dev3 dev4 dev5 dev6"
for n in $NAMES; do
	kb_enroll "$n"
	KID[$n]=$KB_KEY_ID
done
OCSP_URL=$(openssl x509 -in "$OUT/dev1.pem" -noout -ocsp_uri)

metric() { kb_metric "$1"; }

# status_of NAME [ARGS]: kb_ocsp_status (lib.sh).
status_of() { kb_ocsp_status "$@"; }

# wait_stored N: until the store has written N answers and nothing waits.
wait_stored() {
	local deadline=$((SECONDS + 20)) w p
	while :; do
		w=$(metric keybridge_ocsp_store_writes_total)
		p=$(metric keybridge_ocsp_resign_pending)
		[ "${w:-0}" -lt "$1" ] || [ "${p:-1}" -ne 0 ] || break
		[ "$SECONDS" -lt "$deadline" ] || fail "store writes $w of $1 after 20 s ($p pending)"
		sleep 0.1
	done
	sleep 0.7	# the store's transaction is committed every 500 ms
}

# ---- running: a bounded cache over the store -----------------------------------
# a new certificate is not pre-signed at its enrollment: its first request
# is signed live and queues the pre-signing of both of its answers
for n in $NAMES; do
	assert_eq good "$(status_of "$n")" "first status of $n"
done
wait_stored 12
for n in $NAMES; do
	assert_eq good "$(status_of "$n")" "status of $n"
	assert_eq good "$(status_of "$n" -sha256)" "status of $n (SHA-256 CertID)"
done
c=$(metric keybridge_ocsp_responses_cached)
[ "$c" -le 4 ] || fail "$c answers in memory with ocsp_cache_max = 4"
[ "$(metric keybridge_ocsp_cache_evictions_total)" -gt 0 ] || fail "no answer evicted from a cache of 4 for 12 answers"
[ "$(metric keybridge_ocsp_store_hits_total)" -gt 0 ] || fail "no answer read back from the store after evictions"
kb_stop

# ---- restart: every answer from the store, none signed --------------------------
kb_start "$DIR"
# the status map came from the snapshot the clean stop wrote (issue 18), not
# from a rebuild over the registry
grep -q "status map of 12 leaves read from $DIR/map.snap" "$OUT/serve.log" ||
	fail "the restart did not load the status map snapshot: $(grep 'status map' "$OUT/serve.log" | tail -n 3)"
for n in $NAMES; do
	assert_eq good "$(status_of "$n")" "status of $n after a restart"
	assert_eq good "$(status_of "$n" -sha256)" "status of $n (SHA-256) after a restart"
done
assert_eq 0 "$(metric keybridge_ocsp_signatures_total)" "OCSP signatures made after a restart with a full store"
[ "$(metric keybridge_ocsp_store_hits_total)" -ge 12 ] || fail "answers after the restart did not come from the store"

# a revocation while running: its answer is stored as revoked
kb_ok key revoke -d "$DIR" --key-id "${KID[dev3]}" --reason keyCompromise >/dev/null
deadline=$((SECONDS + 5))
until [ "$(status_of dev3)" = revoked ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "dev3 not revoked over OCSP 5 s after key revoke"
	sleep 0.1
done
wait_stored 2
kb_stop

# ---- a key revoked while the bridge is down ----------------------------------------
kb_ok key revoke -d "$DIR" --key-id "${KID[dev2]}" --reason keyCompromise >/dev/null
good=$(sqlite3 "$STORE" "SELECT count(*) FROM ocsp_answers WHERE state = 1")
[ "$good" -ge 10 ] || fail "the store holds $good good answers before the restart, expected dev2's among them"
kb_start "$DIR"
assert_eq revoked "$(status_of dev2)" "dev2 (key revoked while the bridge was down), first query after the restart"
assert_eq revoked "$(status_of dev2 -sha256)" "dev2 (SHA-256) after the restart"
assert_eq revoked "$(status_of dev3)" "dev3 (revoked while running) after the restart"
assert_contains "$(cat "$OUT/q/dev3.txt")" "keyCompromise" "dev3's stored revoked answer"
assert_eq good "$(status_of dev1)" "dev1 after the restart"
wait_stored 0
kb_stop

# ---- an altered answer inside a sound database ------------------------------------------
# dev4's answers: one byte of the signature (near the end of the DER) changed.
sqlite3 "$STORE" "UPDATE ocsp_answers SET der = substr(der, 1, length(der) - 11) || x'00' || substr(der, length(der) - 9) WHERE serial = (SELECT serial FROM ocsp_answers WHERE md = 0 ORDER BY serial LIMIT 1)"
kb_start "$DIR"
for n in $NAMES; do
	case $n in dev2 | dev3) want=revoked ;; *) want=good ;; esac
	assert_eq "$want" "$(status_of "$n")" "status of $n with one stored answer altered"
done
kb_stop

# ---- killed: no quick_check on this boot, one after another ----------------------------
# A kill -9 leaves the file marked with this boot (a hash of the kernel's
# boot id): the next start skips the whole-file check, which only a
# system crash can need; another boot's mark gets the check.
kb_start "$DIR"
assert_eq good "$(status_of dev1)" "dev1 before the kill"
kb_kill9
mark=$(sqlite3 "$STORE" "PRAGMA user_version")
[ "$mark" -ge 2 ] || fail "a killed bridge left the store's mark $mark, expected this boot's (2 or more)"
kb_start "$DIR"
grep -q "OCSP store .* was not closed cleanly: the bridge stopped on this boot, no quick_check" "$OUT/serve.log" ||
	fail "the start after kill -9 did not skip the quick_check: $(grep 'OCSP store' "$OUT/serve.log" | tail -n 3)"
for n in $NAMES; do
	case $n in dev2 | dev3) want=revoked ;; *) want=good ;; esac
	assert_eq "$want" "$(status_of "$n")" "status of $n after kill -9 and a restart"
done
kb_kill9
sqlite3 "$STORE" "PRAGMA user_version = $((mark == 2 ? 3 : mark - 1))" >/dev/null
kb_start "$DIR"
grep -q "OCSP store .* was not closed cleanly: PRAGMA quick_check passed" "$OUT/serve.log" ||
	fail "a store left open on another boot was not checked: $(grep 'OCSP store' "$OUT/serve.log" | tail -n 3)"
assert_eq good "$(status_of dev1)" "dev1 after the check"
kb_stop

# ---- a truncated store, then garbage -----------------------------------------------
size=$(stat -c %s "$STORE")
truncate -s $((size / 2)) "$STORE"
rm -f "$STORE-wal" "$STORE-shm"
kb_start "$DIR"
grep -q "set aside as $STORE.corrupt" "$OUT/serve.log" || fail "no log line about the damaged store: $(tail -n 5 "$OUT/serve.log")"
for n in $NAMES; do
	case $n in dev2 | dev3) want=revoked ;; *) want=good ;; esac
	assert_eq "$want" "$(status_of "$n")" "status of $n after the store was truncated"
done
kb_stop
[ -f "$STORE.corrupt" ] || fail "the truncated store was not set aside"
head -c 100000 /dev/urandom >"$STORE"
rm -f "$STORE-wal" "$STORE-shm" "$STORE.corrupt"
kb_start "$DIR"
for n in $NAMES; do
	case $n in dev2 | dev3) want=revoked ;; *) want=good ;; esac
	assert_eq "$want" "$(status_of "$n")" "status of $n after the store was garbage"
done
[ -f "$STORE.corrupt" ] || fail "the garbage store was not set aside"
kb_stop
log "OK: the OCSP store answers after restarts, never a revoked certificate's good answer, and survives damage"
