#!/usr/bin/env bash
# EST transport and durability: the HTTPS listener speaks TLS 1.2 and 1.3
# and nothing older, resumes sessions (TLS 1.2 session ids, TLS 1.3
# tickets), requests a client certificate without requiring one; curl
# enrolls over either version.  Then the ledger's database is locked by
# another process (a real SQLite writer holding BEGIN IMMEDIATE) so the
# cert-issued entry cannot be committed: the enrollment gets 503 with
# Retry-After and no certificate, nothing is appended, other requests are
# still served meanwhile; once the lock is gone the same CSR enrolls.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
HOSTPORT=${KB_URL#https://}

# s_client ARGS...: openssl s_client against the bridge; the transcript.
s_client() {
	openssl s_client -connect "$HOSTPORT" -servername localhost -CAfile "$ROOT" "$@" 2>&1 || true
}

# ---- protocol versions ------------------------------------------------------------------
for v in 1_2 1_3; do
	t=$(s_client "-tls$v" </dev/null)
	assert_contains "$t" "New, TLSv${v/_/.}, Cipher is" "TLS $v handshake"
	assert_contains "$t" "Verify return code: 0 (ok)" "server certificate verification over TLS $v"
	# the CertificateRequest: a client certificate is asked for ...
	assert_contains "$t" "Acceptable client certificate CA names" "client certificate requested over TLS $v"
done
for v in 1 1_1; do
	t=$(s_client "-tls$v" -cipher 'DEFAULT:@SECLEVEL=0' </dev/null)
	assert_not_contains "$t" "New, TLSv" "TLS $v must not complete"
	assert_match "$t" 'alert protocol version|no protocols available' "TLS $v refused"
	log "TLS $v refused: $(grep -m1 -Eo 'alert protocol version|no protocols available' <<<"$t")"
done

# ---- session resumption -----------------------------------------------------------------
s_client -tls1_2 -sess_out "$OUT/s12" </dev/null >"$OUT/s12-1.txt"
assert_contains "$(cat "$OUT/s12-1.txt")" "New, TLSv1.2" "first TLS 1.2 handshake"
s_client -tls1_2 -sess_in "$OUT/s12" </dev/null >"$OUT/s12-2.txt"
assert_contains "$(cat "$OUT/s12-2.txt")" "Reused, TLSv1.2" "TLS 1.2 session resumed"
# TLS 1.3 sends its ticket after the handshake: keep the connection open a
# moment so s_client reads it.
(sleep 1) | s_client -tls1_3 -sess_out "$OUT/s13" >"$OUT/s13-1.txt"
assert_contains "$(cat "$OUT/s13-1.txt")" "New, TLSv1.3" "first TLS 1.3 handshake"
s_client -tls1_3 -sess_in "$OUT/s13" </dev/null >"$OUT/s13-2.txt"
assert_contains "$(cat "$OUT/s13-2.txt")" "Reused, TLSv1.3" "TLS 1.3 session resumed"
# negative control: a session from another server is not resumed
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other \
    -keyout "$OUT/other.key" -out "$OUT/other.pem" -days 1 2>/dev/null
oport=$(kb_free_ports 1)
KB_USED_PORTS="$KB_USED_PORTS $oport"
openssl s_server -quiet -accept "127.0.0.1:$oport" -cert "$OUT/other.pem" -key "$OUT/other.key" \
    </dev/null >"$OUT/s_server.log" 2>&1 &
opid=$!
kb_track "$opid"
deadline=$((SECONDS + 10))
until openssl s_client -connect "127.0.0.1:$oport" </dev/null >/dev/null 2>&1; do
	[ "$SECONDS" -lt "$deadline" ] || fail "openssl s_server did not answer"
	sleep 0.1
done
openssl s_client -connect "127.0.0.1:$oport" -tls1_2 -sess_out "$OUT/other.sess" </dev/null >/dev/null 2>&1 || true
assert_contains "$(s_client -tls1_2 -sess_in "$OUT/other.sess" </dev/null)" "New, TLSv1.2" \
    "a foreign session is not resumed"
kill -TERM "$opid" 2>/dev/null || true
wait "$opid" 2>/dev/null || true
kb_untrack "$opid"

# ---- curl enrolls over TLS 1.2 and over TLS 1.3, without a client certificate ----------
new_key t12 p256
new_key t13 p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/t12.pub" --name t12 >/dev/null
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/t13.pub" --name t13 >/dev/null
est_enroll "$EST/simpleenroll" "$(est_csr t12 t12)" "$OUT/t12.pem" --tlsv1.2 --tls-max 1.2
est_enroll "$EST/simpleenroll" "$(est_csr t13 t13)" "$OUT/t13.pem" --tlsv1.3
assert_eq t12 "$(openssl x509 -in "$OUT/t12.pem" -noout -subject -nameopt multiline | awk '/commonName/ { print $3 }')" "subject over TLS 1.2"

# ---- the ledger cannot commit: 503, Retry-After, no certificate -------------------------
new_key locked p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/locked.pub" --name locked >/dev/null
csr=$(est_csr locked locked)
T0=$(kb_tree_size)
G0=$(api GET /api/v1/status | jq -r '.certificates.good')
rm -f "$OUT/lock.held" "$OUT/lock.release"
python3 - "$DIR/ledger.db" "$OUT/lock.held" "$OUT/lock.release" >"$OUT/lock.log" 2>&1 <<'EOF' &
import os, sqlite3, sys, time
db, held, release = sys.argv[1:4]
c = sqlite3.connect(db, isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
open(held, "w").close()
deadline = time.time() + 60
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.05)
c.execute("ROLLBACK")
EOF
LOCK_PID=$!
kb_track "$LOCK_PID"
deadline=$((SECONDS + 20))
until [ -e "$OUT/lock.held" ]; do
	kill -0 "$LOCK_PID" 2>/dev/null || fail "the lock holder exited: $(cat "$OUT/lock.log")"
	[ "$SECONDS" -lt "$deadline" ] || fail "the lock holder did not take the lock"
	sleep 0.05
done
log "another process holds the ledger database's write lock"
# the enrollment waits for the lock in the ledger's writer, not on the event
# loop: meanwhile cacerts and the status API still answer.
est_call POST "$EST/simpleenroll" -H 'Content-Type: application/pkcs10' --data-binary "@$csr" \
    >"$OUT/locked.code" &
ENROLL_PID=$!
kb_track "$ENROLL_PID"
sleep 1
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$ROOT" "$KB_URL$EST/cacerts")
assert_eq 200 "$code" "GET cacerts while an issuance waits for the database"
wait "$ENROLL_PID" || fail "the enrollment during the lock: curl failed"
kb_untrack "$ENROLL_PID"
assert_eq 503 "$(cat "$OUT/locked.code")" "enrollment while the database is locked (body: $(head -c 300 "$API_BODY"))"
assert_eq 1 "$(est_header Retry-After)" "Retry-After on the 503"
assert_contains "$(cat "$API_BODY")" "could not be recorded on the ledger" "reason of the 503"
assert_not_contains "$(cat "$API_BODY")" "BEGIN CERTIFICATE" "no certificate in the 503"
touch "$OUT/lock.release"
wait "$LOCK_PID" || fail "the lock holder failed: $(cat "$OUT/lock.log")"
kb_untrack "$LOCK_PID"
assert_eq "$T0" "$(kb_tree_size)" "tree size after the refused issuance"
assert_eq "$G0" "$(api GET /api/v1/status | jq -r '.certificates.good')" "good certificates after the refused issuance"
# the client retries: the same CSR now enrolls
est_enroll "$EST/simpleenroll" "$csr" "$OUT/locked.pem"
assert_eq $((T0 + 1)) "$(kb_tree_size)" "tree size after the retry"

kb_stop
kb_ok ledger verify -d "$DIR" >"$OUT/verify.txt"
log "$(cat "$OUT/verify.txt")"
log "OK"
