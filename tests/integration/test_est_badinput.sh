#!/usr/bin/env bash
# EST under bad input: garbage and truncated base64, DER that is not a CSR,
# a CSR with a broken signature, keys and hashes outside policy (RSA 1024,
# P-521, secp256k1, SHA-1; Ed25519 is a device key: test_profiles), an empty subject, an empty body, an
# oversized body, the wrong Content-Type and the wrong method are each
# refused with their status, a one-line text/plain reason and nothing
# appended; then 300 slow clients hold connections open (half plain TCP
# stalled inside a TLS record, half TLS sending a partial request) while a
# normal enrollment and GET /api/v1/status still succeed; the bridge stops
# cleanly afterwards.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
CT=(-H 'Content-Type: application/pkcs10')
NSLOW=300

kb_init "$DIR"
# The slow clients below all come from 127.0.0.1: above the default cap
# of 64 connections per address (test_hostile_conn tests the cap).
kb_conf_set "$DIR" http_max_conns_per_addr $((NSLOW + 64))
kb_start "$DIR"

# register NAME TYPE: a device key on the ledger (must succeed).
register() {
	new_key "$1" "$2"
	kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$1.pub" --name "$1" --profile device >/dev/null
}

# A registered key whose enrollment must still work after all the refusals.
register good p256
good_csr=$(est_csr good good)
base64 -w0 "$OUT/csr/good.der" >"$OUT/good-oneline.b64"

refuse400() {
	est_refused 400 POST "$EST/simpleenroll" "${CT[@]}" --data-binary "@$1"
}
refuse400_text() {
	printf '%s' "$1" >"$OUT/body.txt"
	refuse400 "$OUT/body.txt"
}

# ---- malformed bodies: 400 ------------------------------------------------------------
refuse400_text '!!!! this is not base64 at all ####'
refuse400_text 'A'
refuse400_text '===='
# DER that is not a CSR: a certificate, and random bytes
openssl x509 -in "$DIR/ca/issuing.pem" -outform DER | base64 -w64 >"$OUT/cert.b64"
refuse400 "$OUT/cert.b64"
head -c 600 /dev/urandom | base64 -w64 >"$OUT/random.b64"
refuse400 "$OUT/random.b64"
# truncated base64 of a good CSR: at a 4-character boundary (truncated DER)
# and in the middle of a quantum
len=$(stat -c %s "$OUT/good-oneline.b64")
head -c $(((len / 2) / 4 * 4)) "$OUT/good-oneline.b64" >"$OUT/trunc4.b64"
refuse400 "$OUT/trunc4.b64"
head -c $((len - 3)) "$OUT/good-oneline.b64" >"$OUT/trunc-3.b64"
refuse400 "$OUT/trunc-3.b64"
# the DER of the good CSR with trailing garbage
{ cat "$OUT/csr/good.der"; printf 'trailing'; } | base64 -w64 >"$OUT/trailing.b64"
refuse400 "$OUT/trailing.b64"
# raw DER instead of base64
refuse400 "$OUT/csr/good.der"
# an empty body
: >"$OUT/empty.b64"
refuse400 "$OUT/empty.b64"
est_refused 400 POST "$EST/device/simpleenroll" "${CT[@]}" --data-binary ''

# A CSR whose signature does not verify (no proof of possession).
cp "$OUT/csr/good.der" "$OUT/badsig.der"
# (one bit of the last bytes: inside the signature value)
python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-5] ^= 1; open(p, "wb").write(b)' \
    "$OUT/badsig.der"
! cmp -s "$OUT/csr/good.der" "$OUT/badsig.der" || fail "could not alter the CSR signature"
openssl req -inform DER -in "$OUT/badsig.der" -noout 2>/dev/null || fail "the altered CSR no longer parses"
# (openssl req -verify exits 0 either way: read what it says)
assert_contains "$(openssl req -inform DER -in "$OUT/csr/good.der" -noout -verify 2>&1)" \
    "verify OK" "openssl req -verify of the good CSR (control)"
assert_contains "$(openssl req -inform DER -in "$OUT/badsig.der" -noout -verify 2>&1)" \
    "verify failure" "openssl req -verify of the altered CSR"
base64 -w64 "$OUT/badsig.der" >"$OUT/badsig.b64"
refuse400 "$OUT/badsig.b64"

# Keys and hashes outside policy (registered where the ledger allows it, so
# that only the EST policy refuses them).
for spec in rsa1024:rsa1024 p521:p521 k1:secp256k1; do
	name=${spec%%:*}
	new_key "$name" "${spec#*:}"
	kb_run key register -d "$DIR" --pubkey "$OUT/keys/$name.pub" --name "$name" --profile device
	log "registering the $name key: exit $KB_RC $(head -c 200 "$KB_STDERR")"
	csr=$(est_csr "$name" "$name")
	refuse400 "$csr"
done
register sha1 p256
csr=$(est_csr sha1 sha1 -sha1)
assert_contains "$(openssl req -inform DER -in "$OUT/csr/sha1.der" -noout -text)" "ecdsa-with-SHA1" "signature algorithm of the SHA-1 CSR"
refuse400 "$csr"
register nosubj p256
csr=$(est_csr nosubj nosubj -subj /)
assert_eq "subject=" "$(openssl req -inform DER -in "$OUT/csr/nosubj.der" -noout -subject)" "subject of the empty-subject CSR"
refuse400 "$csr"
# controls: the same keys with a SHA-256 CSR and a subject enroll
csr=$(est_csr sha1 sha1-ok)
est_enroll "$EST/simpleenroll" "$csr" "$OUT/sha1.pem"
csr=$(est_csr nosubj nosubj-ok)
est_enroll "$EST/simpleenroll" "$csr" "$OUT/nosubj.pem"

# ---- size, type, method ----------------------------------------------------------------------
head -c 76800 /dev/urandom | base64 -w64 >"$OUT/big.b64"	# 100 KiB of base64
assert_eq 1 "$(($(stat -c %s "$OUT/big.b64") > 102000))" "size of the oversized body"
est_refused 413 POST "$EST/simpleenroll" "${CT[@]}" --data-binary "@$OUT/big.b64"
# the limit: 65536 bytes are read (and refused as not a CSR), 65537 are not
head -c 65536 "$OUT/big.b64" >"$OUT/limit.b64"
refuse400 "$OUT/limit.b64"
head -c 65537 "$OUT/big.b64" >"$OUT/limit1.b64"
est_refused 413 POST "$EST/simpleenroll" "${CT[@]}" --data-binary "@$OUT/limit1.b64"

est_refused 415 POST "$EST/simpleenroll" -H 'Content-Type: application/json' --data-binary "@$good_csr"
est_refused 415 POST "$EST/simpleenroll" -H 'Content-Type: text/plain' --data-binary "@$good_csr"
est_refused 415 POST "$EST/simpleenroll" -H 'Content-Type: application/pkcs10x' --data-binary "@$good_csr"
est_refused 415 POST "$EST/simpleenroll" --data-binary "@$good_csr"	# curl's x-www-form-urlencoded
est_refused 415 POST "$EST/device/simpleenroll" -H 'Content-Type:' --data-binary "@$good_csr"

est_refused 405 GET "$EST/simpleenroll"
assert_contains "$(est_header Allow)" "POST" "Allow header of the 405"
est_refused 405 GET "$EST/device/simpleenroll"
# a method evhttp does not take at all: 405 or evhttp's own 501, never a write
before=$(kb_tree_size)
code=$(est_call PUT "$EST/simpleenroll" "${CT[@]}" --data-binary "@$good_csr")
case "$code" in
405|501) log "HTTP $code as expected: PUT $EST/simpleenroll" ;;
*) fail "PUT $EST/simpleenroll: expected HTTP 405 or 501, got $code: $(head -c 300 "$API_BODY")" ;;
esac
assert_eq "$before" "$(kb_tree_size)" "tree_size after PUT $EST/simpleenroll"
est_refused 404 POST "$EST/simpleenroll/extra" "${CT[@]}" --data-binary "@$good_csr"
est_refused 404 POST "$EST/a/b/simpleenroll" "${CT[@]}" --data-binary "@$good_csr"

# Control: after all that, the registered key enrolls (nothing was used up);
# the answer has a Content-Length and is not chunked.
est_enroll "$EST/simpleenroll" "$good_csr" "$OUT/good.pem"
assert_match "$(est_header Content-Length)" '^[0-9]+$' "Content-Length of the enrollment answer"
assert_eq "$(est_header Content-Length)" "$(stat -c %s "$OUT/good.pem.b64")" "Content-Length vs the body"
assert_eq "" "$(est_header Transfer-Encoding)" "Transfer-Encoding of the enrollment answer"

# ---- 300 slow clients ----------------------------------------------------------------------------
PORT=${KB_URL##*:}
cat >"$OUT/slow.py" <<'EOF'
# Opens N connections to 127.0.0.1:PORT and keeps them open until SIGTERM:
# even ones send the first bytes of a TLS record and stall; odd ones finish
# a TLS handshake and send half of an EST request.  Writes "opened N tls T
# failed F" to READY once all are open; on SIGTERM writes how many the
# server had closed to DONE and exits 0.
import signal, socket, ssl, sys, time
port, n, ready, done = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
socks, tls, failed, errors = [], 0, 0, []
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i % 2 == 0:
            s.sendall(b"\x16\x03\x01\x02")
        else:
            s = ctx.wrap_socket(s, server_hostname="localhost")
            s.sendall(b"POST /.well-known/est/simpleenroll HTTP/1.1\r\n"
                      b"Host: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
                      b"Content-Length: 4000\r\n\r\nMIIB")
            tls += 1
        socks.append(s)
    except Exception as e:
        failed += 1
        errors.append("%d: %r" % (i, e))
with open(ready + ".tmp", "w") as f:
    f.write("opened %d tls %d failed %d\n" % (len(socks), tls, failed))
    for e in errors[:5]:
        f.write(e + "\n")
import os
os.rename(ready + ".tmp", ready)

def stop(sig, frm):
    closed = 0
    for s in socks:
        try:
            s.setblocking(False)
            if s.recv(1) == b"":
                closed += 1
        except (BlockingIOError, ssl.SSLWantReadError):
            pass
        except Exception:
            closed += 1
    for s in socks:
        try:
            s.close()
        except Exception:
            pass
    with open(done, "w") as f:
        f.write("closed-by-server %d of %d\n" % (closed, len(socks)))
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
while True:
    time.sleep(1)
EOF
python3 "$OUT/slow.py" "$PORT" "$NSLOW" "$OUT/slow.ready" "$OUT/slow.done" >"$OUT/slow.log" 2>&1 &
SLOW_PID=$!
kb_track "$SLOW_PID"
deadline=$((SECONDS + 60))
until [ -e "$OUT/slow.ready" ]; do
	kill -0 "$SLOW_PID" 2>/dev/null || fail "the slow-client script exited early: $(cat "$OUT/slow.log")"
	[ "$SECONDS" -lt "$deadline" ] || fail "the slow clients were not all open after 60 s"
	sleep 0.2
done
log "slow clients: $(head -n 1 "$OUT/slow.ready")"
assert_eq "opened $NSLOW tls $((NSLOW / 2)) failed 0" "$(head -n 1 "$OUT/slow.ready")" \
    "slow connections (errors: $(tail -n +2 "$OUT/slow.ready"))"

# While they hang: GET /api/v1/status and a normal enrollment.
t0=$SECONDS
code=$(api_call GET /api/v1/status --max-time 10)
assert_eq 200 "$code" "GET /api/v1/status with $NSLOW slow clients connected"
register busy p256
csr=$(est_csr busy busy)
est_enroll "$EST/simpleenroll" "$csr" "$OUT/busy.pem" --max-time 10
code=$(est_call GET "$EST/cacerts" --max-time 10)
assert_eq 200 "$code" "GET $EST/cacerts with $NSLOW slow clients connected"
log "served status, an enrollment and cacerts in $((SECONDS - t0)) s beside $NSLOW slow clients"
kill -0 "$SLOW_PID" || fail "the slow-client script died"

kill -TERM "$SLOW_PID"
kb_wait_gone "$SLOW_PID" 10 || fail "the slow-client script did not exit on SIGTERM"
rc=0
wait "$SLOW_PID" || rc=$?
kb_untrack "$SLOW_PID"
assert_eq 0 "$rc" "exit status of the slow-client script ($(cat "$OUT/slow.log"))"
log "slow clients closed: $(cat "$OUT/slow.done")"

# After they are gone: still serving.
code=$(api_call GET /api/v1/status --max-time 10)
assert_eq 200 "$code" "GET /api/v1/status after the slow clients left"
register after p256
csr=$(est_csr after after)
est_enroll "$EST/device/simpleenroll" "$csr" "$OUT/after.pem"

kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the bad input"
log "EST bad input OK"
