#!/usr/bin/env bash
# OCSP on two event loops (ocsp_loops = 2, issue 18): two sockets listen on
# http_listen (SO_REUSEPORT) and the kernel spreads the connections.  Many
# concurrent clients (openssl ocsp POST, with and without a nonce, and GETs
# over fresh connections) all get answers that verify to the root; the
# answers spread over both loops (keybridge_ocsp_loop_requests_total{loop}
# in /metrics, whose sum is keybridge_ocsp_requests_total); a revocation
# seen once is seen on every fresh connection at once, whichever loop takes
# it, both loops taking some (a loop with a stale view of the cache fails
# here); an empty GET gets 400 and a bare-LF request 400 on both loops,
# counted once each in /metrics; garbage DER gets malformedRequest;
# /metrics, the CRL and the issuing CA's certificate, which the main loop
# answers for the other one, answer on every connection; SIGHUP's new
# keep-alive deadline closes idle connections on both loops; the bridge
# stops cleanly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
mkdir -p "$OUT/q" "$OUT/par"

kb_init "$DIR"
kb_conf_set "$DIR" ocsp_loops 2
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"
BASE="http://127.0.0.1:$KB_HTTP_PORT"
N=${OCSP_LOOPS_N:-40}		# fresh connections per round

# metric NAME: the value of sample NAME (with its labels) in /metrics.
metric() {
	curl -sS --max-time 10 "$BASE/metrics" |
	    awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print "" }'
}
loop_req() { metric "keybridge_ocsp_loop_requests_total{loop=\"$1\"}"; }

# hexof FILE: the bytes of FILE as lowercase hex, one line.
hexof() { od -An -tx1 -v "$1" | tr -d ' \n'; }
b64url() { base64 -w0 "$1" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g'; }

assert_contains "$(cat "$OUT/serve.log")" "2 event loops answer OCSP" "serve.log"
n=$(ss -Hltn "sport = :$KB_HTTP_PORT" | wc -l)
assert_eq 2 "$n" "listening sockets on port $KB_HTTP_PORT (ocsp_loops = 2)"

kb_enroll dev1
kb_enroll dev2
kb_enroll dev3
OCSP_URL=$(openssl x509 -in "$OUT/dev1.pem" -noout -ocsp_uri)

# ocsp_check NAME CERT WANT [ARGS...]: openssl ocsp for CERT (a fresh
# connection), verified to the root, status WANT; "ok" or the reason in
# OUT/par/NAME.
ocsp_check() {
	local name=$1 cert=$2 want=$3 out st
	shift 3
	out="$OUT/par/$name.txt"
	if ! timeout 20 openssl ocsp -issuer "$ISSUING" -url "$OCSP_URL" -CAfile "$ROOT" \
	    -timeout 10 -cert "$cert" "$@" >"$out" 2>&1; then
		echo "openssl ocsp failed: $(head -c 500 "$out")" >"$OUT/par/$name"
		return
	fi
	st=$(awk -v n="$cert: " 'index($0, n) == 1 { print substr($0, length(n) + 1); exit }' "$out")
	if ! grep -q "Response verify OK" "$out"; then
		echo "not verified: $(head -c 500 "$out")" >"$OUT/par/$name"
	elif [ "$st" != "$want" ]; then
		echo "status $st, want $want" >"$OUT/par/$name"
	else
		echo ok >"$OUT/par/$name"
	fi
}

# waitall: waits for the jobs started since the last waitall (PIDS), not
# for the bridge, which is a background job too.
PIDS=()
waitall() {
	local p
	for p in "${PIDS[@]}"; do wait "$p" || true; done
	PIDS=()
}

# all_ok PREFIX COUNT: every OUT/par/PREFIX-i says ok.
all_ok() {
	local i r
	for i in $(seq 1 "$2"); do
		r=$(cat "$OUT/par/$1-$i" 2>/dev/null || echo "no answer")
		[ "$r" = ok ] || fail "$1-$i: $r"
	done
}

# ---- many concurrent clients: POST, nonce, GET ---------------------------------
# The first answers may be signed live (pre-signing at start): warm up.
for i in 1 2 3; do ocsp_check warm-$i "$OUT/dev$i.pem" good -no_nonce; done
all_ok warm 3
l0=$(loop_req 0); l1=$(loop_req 1)
for i in $(seq 1 "$N"); do
	d=$(( (i % 2) + 1 ))
	ocsp_check post-$i "$OUT/dev$d.pem" good -no_nonce & PIDS+=($!)
	ocsp_check nonce-$i "$OUT/dev$d.pem" good -nonce & PIDS+=($!)
done
waitall
all_ok post "$N"
all_ok nonce "$N"
for i in $(seq 1 "$N"); do
	grep -q "WARNING: no nonce in response" "$OUT/par/nonce-$i.txt" &&
	    fail "nonce-$i: the nonce was not echoed (a live answer lost its way back to its loop)"
done
d0=$(( $(loop_req 0) - l0 )); d1=$(( $(loop_req 1) - l1 ))
log "$((2 * N)) concurrent openssl ocsp (half with a nonce): loop 0 took $d0, loop 1 took $d1"
[ "$d0" -gt 0 ] && [ "$d1" -gt 0 ] || fail "requests did not spread over both loops: loop 0 $d0, loop 1 $d1"
assert_eq "$((2 * N))" "$((d0 + d1))" "requests counted by the loops"

# GET: the cached answer's exact bytes, on fresh connections
openssl ocsp -issuer "$ISSUING" -cert "$OUT/dev1.pem" -no_nonce -reqout "$OUT/q/req1.der" >/dev/null 2>&1
GET1="$BASE/ocsp/$(b64url "$OUT/q/req1.der")"
curl -sS --max-time 10 -o "$OUT/q/get-ref.der" "$GET1"
ref=$(hexof "$OUT/q/get-ref.der")
for i in $(seq 1 "$N"); do
	curl -sS --max-time 10 -o "$OUT/par/get-$i.der" -w '%{http_code}' "$GET1" >"$OUT/par/get-$i.code" & PIDS+=($!)
done
waitall
for i in $(seq 1 "$N"); do
	assert_eq 200 "$(cat "$OUT/par/get-$i.code")" "GET $i"
	assert_eq "$ref" "$(hexof "$OUT/par/get-$i.der")" "GET $i: the cached answer"
done
out=$(openssl ocsp -respin "$OUT/q/get-ref.der" -issuer "$ISSUING" -cert "$OUT/dev1.pem" \
    -CAfile "$ROOT" 2>&1) || fail "the GET answer does not verify: $out"
assert_contains "$out" "Response verify OK" "GET answer"
assert_contains "$out" "$OUT/dev1.pem: good" "GET answer"
st=$(curl -sS --max-time 10 "$BASE/metrics")
total=$(awk '$1 == "keybridge_ocsp_requests_total" { print $2 }' <<<"$st")
s0=$(awk '$1 == "keybridge_ocsp_loop_requests_total{loop=\"0\"}" { print $2 }' <<<"$st")
s1=$(awk '$1 == "keybridge_ocsp_loop_requests_total{loop=\"1\"}" { print $2 }' <<<"$st")
assert_eq "$total" "$((s0 + s1))" "keybridge_ocsp_requests_total = the loops' sum"
log "GET x$N: the same verified bytes; requests $total = $s0 + $s1"

# ---- a revocation is seen by every loop at once ---------------------------------
# dev3's answers are cached on both loops (its GET path remembered by each).
openssl ocsp -issuer "$ISSUING" -cert "$OUT/dev3.pem" -no_nonce -reqout "$OUT/q/req3.der" >/dev/null 2>&1
GET3="$BASE/ocsp/$(b64url "$OUT/q/req3.der")"
status_of() {
	openssl ocsp -respin "$1" -issuer "$ISSUING" -cert "$OUT/dev3.pem" -CAfile "$ROOT" 2>/dev/null |
	    awk -v n="$OUT/dev3.pem: " 'index($0, n) == 1 { print substr($0, length(n) + 1); exit }'
}
for i in $(seq 1 "$N"); do curl -sS --max-time 10 -o "$OUT/par/pre-$i.der" "$GET3" & PIDS+=($!); done
waitall
for i in $(seq 1 "$N"); do assert_eq good "$(status_of "$OUT/par/pre-$i.der")" "dev3 before its revocation ($i)"; done
kb_ok key revoke -d "$DIR" --key-id "$KB_KEY_ID" --reason keyCompromise >/dev/null
t0=$(date +%s%N)
until [ "$(curl -sS --max-time 10 -o "$OUT/q/first.der" "$GET3"; status_of "$OUT/q/first.der")" = revoked ]; do
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 5000 ] || fail "dev3 not revoked over OCSP 5 s after key revoke"
	sleep 0.02
done
log "dev3 revoked over OCSP $((($(date +%s%N) - t0) / 1000000)) ms after key revoke returned"
l0=$(loop_req 0); l1=$(loop_req 1)
for i in $(seq 1 "$N"); do curl -sS --max-time 10 -o "$OUT/par/post-rev-$i.der" "$GET3" & PIDS+=($!); done
waitall
d0=$(( $(loop_req 0) - l0 )); d1=$(( $(loop_req 1) - l1 ))
[ "$d0" -gt 0 ] && [ "$d1" -gt 0 ] || fail "the queries after the revocation did not reach both loops: $d0, $d1"
for i in $(seq 1 "$N"); do
	assert_eq revoked "$(status_of "$OUT/par/post-rev-$i.der")" "dev3 after its revocation was first seen (query $i; loops took $d0 and $d1)"
done
log "after the revocation: $N fresh connections, loop 0 took $d0, loop 1 took $d1, all revoked"

# ---- bad input on both loops ------------------------------------------------------
l0=$(loop_req 0); l1=$(loop_req 1)
for i in $(seq 1 "$N"); do
	curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$BASE/ocsp/" >"$OUT/par/empty-$i" & PIDS+=($!)
	curl -sS --max-time 10 -o "$OUT/par/garbage-$i.der" -w '%{http_code}' \
	    -H 'Content-Type: application/ocsp-request' --data-binary 'not DER at all' \
	    "$BASE/ocsp" >"$OUT/par/garbage-$i" & PIDS+=($!)
done
waitall
for i in $(seq 1 "$N"); do
	assert_eq 400 "$(cat "$OUT/par/empty-$i")" "GET /ocsp/ ($i)"
	assert_eq 200 "$(cat "$OUT/par/garbage-$i")" "garbage POST ($i)"
	assert_eq 30030a0101 "$(hexof "$OUT/par/garbage-$i.der")" "garbage POST ($i): malformedRequest"
done
d0=$(( $(loop_req 0) - l0 )); d1=$(( $(loop_req 1) - l1 ))
[ "$d0" -gt 0 ] && [ "$d1" -gt 0 ] || fail "bad requests did not reach both loops: $d0, $d1"
log "bad input: $((2 * N)) requests (400, malformedRequest), loop 0 took $d0, loop 1 took $d1"
# bare LF: refused by each loop's front door (400), counted once
python3 - "$KB_HTTP_PORT" "$N" <<'EOF' || fail "bare-LF requests: see above"
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /ocsp/MAo= HTTP/1.1\nHost: x\n\n")
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    if not data.startswith(b"HTTP/1.1 400"):
        print("bare LF %d: %r" % (i, data[:80]))
        sys.exit(1)
EOF
sleep 1.2	# the other loop's figures are copied every second
assert_eq "$N" "$(metric 'keybridge_http_refused_total{listener="http",reason="bare_lf"}')" \
    "bare-LF refusals counted over both loops"
# random bytes on many connections: no crash
python3 - "$KB_HTTP_PORT" <<'EOF'
import os, socket, sys
port = int(sys.argv[1])
for i in range(60):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(os.urandom(1 + i * 37))
        s.shutdown(socket.SHUT_WR)
        s.recv(4096)
        s.close()
    except OSError:
        pass
EOF
kill -0 "$KB_SERVE_PID" || fail "the bridge died on random bytes"

# ---- the main loop's routes through the other loop --------------------------------
CRL_URL=$(openssl x509 -in "$OUT/dev1.pem" -noout -ext crlDistributionPoints | awk -F'URI:' 'NF > 1 { print $2; exit }')
# (one kind at a time: N at once stays below http_max_conns_per_addr)
for i in $(seq 1 "$N"); do
	curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$BASE/metrics" >"$OUT/par/metrics-$i" & PIDS+=($!)
done
waitall
for i in $(seq 1 "$N"); do
	curl -sS --max-time 10 -o "$OUT/par/crl-$i.der" -w '%{http_code}' "$CRL_URL" >"$OUT/par/crl-$i" & PIDS+=($!)
done
waitall
for i in $(seq 1 "$N"); do
	curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$BASE/ca/issuing.der" >"$OUT/par/ca-$i" & PIDS+=($!)
done
waitall
for i in $(seq 1 "$N"); do
	assert_eq 200 "$(cat "$OUT/par/metrics-$i")" "/metrics ($i)"
	assert_eq 200 "$(cat "$OUT/par/crl-$i")" "CRL ($i)"
	assert_eq 200 "$(cat "$OUT/par/ca-$i")" "/ca/issuing.der ($i)"
	openssl crl -inform DER -in "$OUT/par/crl-$i.der" -noout -CAfile "$ROOT" 2>/dev/null ||
	    openssl crl -inform DER -in "$OUT/par/crl-$i.der" -noout >/dev/null ||
	    fail "CRL $i does not parse"
done
log "/metrics, the CRL and the CA certificate: $N each, all 200"

# ---- SIGHUP's deadlines reach every loop -----------------------------------------
# The bridge dropped to its user: what a reload rereads must be its.
give() {
	if [ "$(id -u)" = 0 ] && id keybridge >/dev/null 2>&1; then
		chown keybridge: "$@"
	fi
}
kb_conf_set "$DIR" http_keepalive_timeout 1
give "$DIR/keybridge.conf" "$DIR/tls" "$DIR/tls/server.pem" "$DIR/tls/server.key"
kill -HUP "$KB_SERVE_PID"
deadline=$((SECONDS + 10))
until grep -q 'reload: done' "$OUT/serve.log"; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no reload within 10 s: $(tail -n 5 "$OUT/serve.log")"
	sleep 0.05
done
sleep 0.2
c0=$(metric 'keybridge_http_connections_closed_total{reason="keepalive_timeout"}')
l0=$(loop_req 0); l1=$(loop_req 1)
# N kept-alive connections, one GET each, then idle: every one closed
# after the new 1 s, whichever loop holds it (the old deadline was 30 s)
python3 - "$KB_HTTP_PORT" "$N" "${GET1#"$BASE"}" <<'EOF' || fail "idle connections after SIGHUP: see above"
import socket, sys, time
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, body = data.split(b"\r\n\r\n", 1)
    cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
    while len(body) < cl:
        body += s.recv(4096)
    if not head.startswith(b"HTTP/1.1 200"):
        print("connection %d: %r" % (i, head[:40]))
        sys.exit(1)
    socks.append(s)
time.sleep(4)
still = 0
for s in socks:
    s.settimeout(0.5)
    try:
        if s.recv(1) != b"":
            still += 1
    except socket.timeout:
        still += 1
    except OSError:
        pass
if still:
    print("%d of %d idle connections still open 4 s after their answer (http_keepalive_timeout 1 s after SIGHUP)" % (still, n))
    sys.exit(1)
EOF
sleep 1.2	# the other loop's figures are copied every second
d0=$(( $(loop_req 0) - l0 )); d1=$(( $(loop_req 1) - l1 ))
[ "$d0" -gt 0 ] && [ "$d1" -gt 0 ] || fail "the idle connections did not reach both loops: $d0, $d1"
assert_eq "$N" "$(( $(metric 'keybridge_http_connections_closed_total{reason="keepalive_timeout"}') - c0 ))" \
    "keep-alive closes counted over both loops"
log "SIGHUP: http_keepalive_timeout 1 s on both loops ($d0 and $d1 connections closed idle)"

kb_stop
log "PASS"
