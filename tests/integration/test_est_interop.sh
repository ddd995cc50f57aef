#!/usr/bin/env bash
# Certificates issued over EST work in unmodified TLS stacks: a server-profile
# certificate (localhost, 127.0.0.1) in `openssl s_server` and a
# device-profile certificate in `openssl s_client` authenticate each other
# (both sides verify to the root); then nginx serves with the server
# certificate and requires a client certificate: curl with the device
# certificate gets 200, without one 400.  Negative controls: the wrong name,
# the wrong profile (EKU) and a foreign root are refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est

kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"

# ---- enroll a server and a device ---------------------------------------------------
new_key srv p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/srv.pub" --name localhost --profile server \
    --dns localhost --ip 127.0.0.1 >/dev/null
csr=$(est_csr srv srv -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1')
est_enroll "$EST/server/simpleenroll" "$csr" "$OUT/srv.pem"

new_key dev p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/dev.pub" --name dev-interop --profile device >/dev/null
csr=$(est_csr dev dev)
est_enroll "$EST/device/simpleenroll" "$csr" "$OUT/dev.pem"

SRV_KEY="$OUT/keys/srv.key"
DEV_KEY="$OUT/keys/dev.key"
cat "$OUT/srv.pem" "$ISSUING" >"$OUT/srv-chain.pem"
cat "$ROOT" "$ISSUING" >"$OUT/client-ca.pem"

# A foreign CA for the negative controls.
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$OUT/foreign.key" -subj /CN=foreign-root -days 2 -out "$OUT/foreign-root.pem" 2>/dev/null
openssl req -new -x509 -key "$DEV_KEY" -subj /CN=dev-interop -days 1 \
    -addext extendedKeyUsage=clientAuth -out "$OUT/dev-selfsigned.pem"

# ---- openssl s_server / s_client ------------------------------------------------------------
PORTS=$(kb_free_ports 2)
KB_USED_PORTS="$KB_USED_PORTS $PORTS"
SPORT=${PORTS% *}
NPORT=${PORTS#* }

# start_s_server CERT KEY LOG
start_s_server() {
	openssl s_server -accept "127.0.0.1:$SPORT" -cert "$1" -key "$2" -cert_chain "$ISSUING" \
	    -CAfile "$ROOT" -Verify 2 -verify_return_error -www </dev/null >"$3" 2>&1 &
	S_PID=$!
	kb_track "$S_PID"
	wait_port "$SPORT" "$S_PID" "openssl s_server"
}

# s_client OUTFILE ARGS...: one GET / over s_client; its status.
s_client() {
	local f=$1 rc=0
	shift
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 openssl s_client -connect "127.0.0.1:$SPORT" \
	    -servername localhost -ign_eof "$@" >"$f" 2>&1 || rc=$?
	return "$rc"
}

start_s_server "$OUT/srv.pem" "$SRV_KEY" "$OUT/s_server.log"
s_client "$OUT/s_client.out" -cert "$OUT/dev.pem" -key "$DEV_KEY" -cert_chain "$ISSUING" \
    -CAfile "$ROOT" -verify_return_error -verify_hostname localhost ||
	fail "s_client with the device certificate failed: $(tail -n 20 "$OUT/s_client.out")"
out=$(cat "$OUT/s_client.out")
assert_contains "$out" "Verify return code: 0 (ok)" "s_client verifying the EST server certificate"
assert_contains "$out" "HTTP/1.0 200 ok" "s_server -www answer"
# s_server -www echoes the client certificate it verified
assert_match "$out" "Client certificate" "s_server -www page (client certificate shown)"
assert_match "$out" "Subject: .*CN ?= ?dev-interop" "client subject in the s_server -www page"
# s_server prints the chain it verified
sleep 0.2
assert_match "$(cat "$OUT/s_server.log")" "depth=0 .*CN ?= ?dev-interop" "s_server log of the client chain"
assert_match "$(cat "$OUT/s_server.log")" "depth=2 .*$(openssl x509 -in "$ROOT" -noout -subject -nameopt oneline | sed 's/^subject=//; s/.*CN = //')" "s_server log: client chain up to the root"

# Also by IP address.
s_client "$OUT/s_client-ip.out" -cert "$OUT/dev.pem" -key "$DEV_KEY" -cert_chain "$ISSUING" \
    -CAfile "$ROOT" -verify_return_error -verify_ip 127.0.0.1 ||
	fail "s_client verifying 127.0.0.1: $(tail -n 20 "$OUT/s_client-ip.out")"
assert_contains "$(cat "$OUT/s_client-ip.out")" "Verify return code: 0 (ok)" "s_client -verify_ip 127.0.0.1"

# Negative controls on the client side.
if s_client "$OUT/s_client-name.out" -cert "$OUT/dev.pem" -key "$DEV_KEY" -cert_chain "$ISSUING" \
    -CAfile "$ROOT" -verify_return_error -verify_hostname not-registered.test; then
	fail "s_client accepted the server certificate for not-registered.test: $(tail -n 5 "$OUT/s_client-name.out")"
fi
assert_not_contains "$(cat "$OUT/s_client-name.out")" "HTTP/1.0 200" "s_client with a wrong host name"
if s_client "$OUT/s_client-foreign.out" -cert "$OUT/dev.pem" -key "$DEV_KEY" -cert_chain "$ISSUING" \
    -CAfile "$OUT/foreign-root.pem" -verify_return_error; then
	fail "s_client accepted the server certificate against a foreign root: $(tail -n 5 "$OUT/s_client-foreign.out")"
fi
# Negative controls on the server side (-Verify: a client certificate is required).
s_client "$OUT/s_client-nocert.out" -CAfile "$ROOT" -verify_return_error || true
assert_not_contains "$(cat "$OUT/s_client-nocert.out")" "HTTP/1.0 200" "s_client without a client certificate"
assert_match "$(cat "$OUT/s_client-nocert.out")" "alert (certificate required|handshake failure)" "s_client without a client certificate"
s_client "$OUT/s_client-self.out" -cert "$OUT/dev-selfsigned.pem" -key "$DEV_KEY" -CAfile "$ROOT" \
    -verify_return_error || true
assert_not_contains "$(cat "$OUT/s_client-self.out")" "HTTP/1.0 200" "s_client with a self-signed client certificate"
assert_contains "$(cat "$OUT/s_client-self.out")" "alert unknown ca" "s_client with a self-signed client certificate"
# the server certificate (serverAuth only) is not a client certificate
s_client "$OUT/s_client-srvcert.out" -cert "$OUT/srv.pem" -key "$SRV_KEY" -cert_chain "$ISSUING" \
    -CAfile "$ROOT" -verify_return_error || true
assert_not_contains "$(cat "$OUT/s_client-srvcert.out")" "HTTP/1.0 200" "s_client presenting the server-profile certificate"
assert_contains "$(cat "$OUT/s_client-srvcert.out")" "alert unsupported certificate" "s_client presenting the server-profile certificate"
sleep 0.2
assert_match "$(cat "$OUT/s_server.log")" "depth=0 CN ?= ?localhost" "s_server's log of the server-profile client certificate"
assert_match "$(cat "$OUT/s_server.log")" "verify error:num=26:(unsuitable|unsupported) certificate purpose" "s_server's reason for refusing the server-profile certificate"
# control: s_server is still up and the device certificate still works
s_client "$OUT/s_client-again.out" -cert "$OUT/dev.pem" -key "$DEV_KEY" -cert_chain "$ISSUING" \
    -CAfile "$ROOT" -verify_return_error ||
	fail "s_client with the device certificate after the refusals: $(tail -n 20 "$OUT/s_client-again.out")"
assert_contains "$(cat "$OUT/s_client-again.out")" "HTTP/1.0 200 ok" "s_server -www answer after the refusals"
stop_pid "$S_PID" "openssl s_server"

# The device certificate (clientAuth only) is not a server certificate.
start_s_server "$OUT/dev.pem" "$DEV_KEY" "$OUT/s_server-dev.log"
if s_client "$OUT/s_client-devsrv.out" -cert "$OUT/dev.pem" -key "$DEV_KEY" -cert_chain "$ISSUING" \
    -CAfile "$ROOT" -verify_return_error; then
	fail "s_client accepted the device-profile certificate as a server: $(grep -m1 'Verify return' "$OUT/s_client-devsrv.out")"
fi
assert_match "$(cat "$OUT/s_client-devsrv.out")" "(unsuitable|unsupported) certificate purpose" "s_client against a device-profile server certificate"
stop_pid "$S_PID" "openssl s_server (device certificate)"

# ---- nginx ------------------------------------------------------------------------------------
NGX="$OUT/nginx"
nginx_conf "$NGX" "    access_log $NGX/access.log;
    server {
        listen 127.0.0.1:$NPORT ssl;
        server_name localhost;
        ssl_certificate     $OUT/srv-chain.pem;
        ssl_certificate_key $SRV_KEY;
        ssl_verify_client on;
        ssl_client_certificate $OUT/client-ca.pem;
        ssl_verify_depth 2;
        location / {
            default_type text/plain;
            return 200 \"client \$ssl_client_s_dn verify \$ssl_client_verify\n\";
        }
    }"
nginx_run "$NGX" "$NPORT"
log "nginx (pid $N_PID) on 127.0.0.1:$NPORT"

NURL="https://localhost:$NPORT/"
RES=(--resolve "localhost:$NPORT:127.0.0.1")

# ngx_get OUTFILE CURL ARGS...: the HTTP status.
ngx_get() {
	local f=$1
	shift
	curl -sS -o "$f" -w '%{http_code}' --max-time 20 "${RES[@]}" "$@" "$NURL" ||
		fail "curl $NURL $*: no HTTP answer"
}

code=$(ngx_get "$OUT/ngx-dev.out" --cacert "$ROOT" --cert "$OUT/dev.pem" --key "$DEV_KEY")
assert_eq 200 "$code" "nginx with the device certificate (body: $(cat "$OUT/ngx-dev.out"))"
assert_match "$(cat "$OUT/ngx-dev.out")" "CN=dev-interop.* verify SUCCESS" "nginx's view of the client certificate"
code=$(ngx_get "$OUT/ngx-none.out" --cacert "$ROOT")
assert_eq 400 "$code" "nginx without a client certificate"
code=$(ngx_get "$OUT/ngx-self.out" --cacert "$ROOT" --cert "$OUT/dev-selfsigned.pem" --key "$DEV_KEY")
assert_eq 400 "$code" "nginx with a self-signed client certificate"
code=$(ngx_get "$OUT/ngx-srv.out" --cacert "$ROOT" --cert "$OUT/srv.pem" --key "$SRV_KEY")
assert_eq 400 "$code" "nginx with the server-profile certificate as a client certificate"
# curl verifies nginx's certificate (issued by EST) against the root only
if curl -sS -o /dev/null --max-time 20 "${RES[@]}" --cacert "$OUT/foreign-root.pem" \
    --cert "$OUT/dev.pem" --key "$DEV_KEY" "$NURL" 2>"$OUT/ngx-foreign.err"; then
	fail "curl accepted nginx's certificate against a foreign root"
fi
log "curl against a foreign root: $(head -n 1 "$OUT/ngx-foreign.err")"
# and again after the refusals: still 200
code=$(ngx_get "$OUT/ngx-dev2.out" --cacert "$ROOT" --cert "$OUT/dev.pem" --key "$DEV_KEY")
assert_eq 200 "$code" "nginx with the device certificate, second time"

stop_pid "$N_PID" nginx
[ ! -e "$NGX/nginx.pid" ] || fail "nginx left its pid file behind"

kb_stop
log "EST interop OK (openssl s_server/s_client, nginx, curl)"
