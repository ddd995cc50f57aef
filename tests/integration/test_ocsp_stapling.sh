#!/usr/bin/env bash
# The OCSP responder as unmodified TLS stacks use it.  nginx serves a
# server-profile certificate from the bridge with `ssl_stapling on;
# ssl_stapling_verify on;`: it fetches, verifies and staples the bridge's
# OCSP response (openssl s_client -status shows a successful response with
# "Cert Status: good"; curl --cert-status accepts it).  After `key revoke` of
# that server key and an nginx restart (nginx keeps a staple for minutes),
# nginx fetches the revoked response and refuses to staple it (its log says
# so; s_client sees no staple, curl --cert-status fails).  A second server
# block requires client certificates and checks them over OCSP (`ssl_ocsp`,
# no cache): a good device certificate gets 200, the same certificate after
# `key revoke` 400, while another good device still gets 200.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est

command -v nginx >/dev/null || fail "nginx is not installed (scripts/deps.sh installs it)"
kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"
BASE="http://127.0.0.1:$KB_HTTP_PORT"


declare -A KID

# register NAME PROFILE CN [KEY REGISTER ARGS...]: a P-256 key on the ledger.
register() {
	local name=$1 profile=$2 cn=$3 r
	shift 3
	new_key "$name" p256
	r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$name.pub" --name "$cn" \
	    --profile "$profile" --json "$@")
	KID[$name]=$(jq -er .key_id <<<"$r")
}

# ---- certificates ------------------------------------------------------------------
register srv server localhost --dns localhost --ip 127.0.0.1
est_enroll "$EST/server/simpleenroll" \
    "$(est_csr srv srv -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1')" "$OUT/srv.pem"
register dev1 device dev1
est_enroll "$EST/device/simpleenroll" "$(est_csr dev1 dev1)" "$OUT/dev1.pem"
register dev2 device dev2
est_enroll "$EST/device/simpleenroll" "$(est_csr dev2 dev2)" "$OUT/dev2.pem"
assert_eq "$BASE/ocsp" "$(openssl x509 -in "$OUT/srv.pem" -noout -ocsp_uri)" "OCSP URL of the server certificate"
cat "$OUT/srv.pem" "$ISSUING" >"$OUT/srv-chain.pem"	# leaf then issuing CA
cat "$ISSUING" "$ROOT" >"$OUT/trusted.pem"		# to verify the OCSP response
for n in dev1 dev2; do
	cat "$OUT/$n.pem" "$ISSUING" >"$OUT/$n-chain.pem"
done
# control: the bridge itself says good for all three
for n in srv dev1 dev2; do
	out=$(openssl ocsp -issuer "$ISSUING" -cert "$OUT/$n.pem" -url "$BASE/ocsp" -CAfile "$ROOT" \
	    -timeout 10 2>&1) || fail "openssl ocsp for $n: $out"
	assert_contains "$out" "$OUT/$n.pem: good" "openssl ocsp for $n"
done

# ---- nginx ---------------------------------------------------------------------------
PORTS=$(kb_free_ports 2)
KB_USED_PORTS="$KB_USED_PORTS $PORTS"
SPORT=${PORTS% *}	# stapling
CPORT=${PORTS#* }	# client certificates checked over OCSP
NGX="$OUT/nginx"
# ssl_ocsp leaf: only the client's own certificate has an OCSP URL (the
# issuing CA certificate carries no AIA, and the root is the anchor).
nginx_conf "$NGX" "    access_log $NGX/access.log;
    server {
        listen 127.0.0.1:$SPORT ssl;
        server_name localhost;
        ssl_certificate     $OUT/srv-chain.pem;
        ssl_certificate_key $OUT/keys/srv.key;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate $OUT/trusted.pem;
        location / {
            default_type text/plain;
            return 200 \"stapling server\n\";
        }
    }
    server {
        listen 127.0.0.1:$CPORT ssl;
        server_name localhost;
        ssl_certificate     $OUT/srv-chain.pem;
        ssl_certificate_key $OUT/keys/srv.key;
        ssl_verify_client on;
        ssl_client_certificate $ROOT;
        ssl_verify_depth 2;
        ssl_ocsp leaf;
        location / {
            default_type text/plain;
            return 200 \"client \$ssl_client_s_dn verify \$ssl_client_verify\n\";
        }
    }"

start_nginx() {
	nginx_run "$NGX" "$SPORT" "$CPORT"
	log "nginx (pid $N_PID) on 127.0.0.1:$SPORT (stapling) and 127.0.0.1:$CPORT (ssl_ocsp)"
}

# stop_nginx: SIGTERM (fast shutdown), wait, untrack; the pid file is gone.
stop_nginx() {
	kill -TERM "$N_PID" 2>/dev/null || true
	kb_wait_gone "$N_PID" 10 || fail "nginx (pid $N_PID) did not stop within 10 s of SIGTERM"
	wait "$N_PID" 2>/dev/null || true
	kb_untrack "$N_PID"
	[ ! -e "$NGX/nginx.pid" ] || fail "nginx left its pid file behind"
	log "stopped nginx (pid $N_PID)"
}

# s_client_status OUTFILE: one handshake with -status against the stapling
# server (the output in OUTFILE).
s_client_status() {
	timeout 20 openssl s_client -connect "127.0.0.1:$SPORT" -servername localhost -status \
	    -CAfile "$ROOT" -verify_return_error </dev/null >"$1" 2>&1 ||
		fail "openssl s_client -status: handshake failed: $(tail -n 20 "$1")"
}

# curl_status OUTFILE: curl --cert-status against the stapling server; its
# exit status.
curl_status() {
	local rc=0
	curl -sS --max-time 20 --cert-status --cacert "$ROOT" --resolve "localhost:$SPORT:127.0.0.1" \
	    -o "$1.body" "https://localhost:$SPORT/" >"$1" 2>&1 || rc=$?
	return "$rc"
}

# client_get NAME: GET on the ssl_ocsp server with NAME's certificate (no
# certificate for "none"); prints the HTTP status, body in OUT/NAME.client.
client_get() {
	local args=()
	[ "$1" = none ] || args=(--cert "$OUT/$1-chain.pem" --key "$OUT/keys/$1.key")
	curl -sS -o "$OUT/$1.client" -w '%{http_code}' --max-time 20 --cacert "$ROOT" \
	    --resolve "localhost:$CPORT:127.0.0.1" "${args[@]}" "https://localhost:$CPORT/" ||
		fail "curl to the ssl_ocsp server with $1: no HTTP answer"
}

start_nginx

# ---- stapling: good ---------------------------------------------------------------------------
# nginx fetches the response lazily: the first handshakes carry no staple.
deadline=$((SECONDS + 20))
n=0
while :; do
	n=$((n + 1))
	s_client_status "$OUT/s_client-good.out"
	t=$(cat "$OUT/s_client-good.out")
	case "$t" in
	*"OCSP Response Status: successful"*"Cert Status: good"*) break ;;
	esac
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "no good staple from nginx after 20 s ($n handshakes); s_client: $(grep -A3 'OCSP response' "$OUT/s_client-good.out" | head -n 5); nginx error.log: $(grep -i ocsp "$NGX/error.log" | tail -n 5)"
	sleep 0.2
done
log "good staple after $n handshakes"
assert_contains "$t" "Verify return code: 0 (ok)" "s_client verifying nginx's certificate"
assert_contains "$t" "Serial Number: $(openssl x509 -in "$OUT/srv.pem" -noout -serial | cut -d= -f2)" \
    "the stapled response is about the server certificate"
assert_not_contains "$(cat "$NGX/error.log")" 'in the OCSP response' "nginx error.log while stapling a good response"
curl_status "$OUT/curl-good.out" || fail "curl --cert-status with a good staple: $(cat "$OUT/curl-good.out")"
assert_eq "stapling server" "$(cat "$OUT/curl-good.out.body")" "body over curl --cert-status"

# ---- client certificates over OCSP (ssl_ocsp) -------------------------------------------------
code=$(client_get dev1)
assert_eq 200 "$code" "ssl_ocsp server with the good dev1 (body: $(cat "$OUT/dev1.client"))"
assert_match "$(cat "$OUT/dev1.client")" "CN=dev1.* verify SUCCESS" "nginx's view of dev1"
code=$(client_get dev2)
assert_eq 200 "$code" "ssl_ocsp server with the good dev2"
code=$(client_get none)
assert_eq 400 "$code" "ssl_ocsp server without a client certificate"
kb_ok key revoke -d "$DIR" --key-id "${KID[dev1]}" --reason keyCompromise >/dev/null
# no ssl_ocsp_cache: nginx asks the bridge on every handshake
t0=$(date +%s%N)
while :; do
	code=$(client_get dev1)
	[ "$code" = 200 ] || break
	[ $(($(date +%s%N) - t0)) -lt 5000000000 ] ||
		fail "the revoked dev1 still gets 200 from the ssl_ocsp server 5 s after key revoke"
	sleep 0.05
done
assert_eq 400 "$code" "ssl_ocsp server with the revoked dev1 (body: $(head -c 300 "$OUT/dev1.client"))"
log "ssl_ocsp: revoked dev1 refused (400) $((($(date +%s%N) - t0) / 1000000)) ms after key revoke returned"
assert_match "$(cat "$NGX/error.log")" 'certificate (status "revoked"|revoked)' "nginx error.log about the revoked dev1"
# control: dev2 is still fine
code=$(client_get dev2)
assert_eq 200 "$code" "ssl_ocsp server with the good dev2 after dev1's revocation"

# ---- stapling: revoked --------------------------------------------------------------------------
kb_ok key revoke -d "$DIR" --key-id "${KID[srv]}" --reason keyCompromise >/dev/null
out=$(openssl ocsp -issuer "$ISSUING" -cert "$OUT/srv.pem" -url "$BASE/ocsp" -CAfile "$ROOT" -timeout 10 2>&1) ||
	fail "openssl ocsp for the revoked srv: $out"
assert_contains "$out" "$OUT/srv.pem: revoked" "openssl ocsp for srv after key revoke"
# nginx keeps its staple for minutes: restart it
stop_nginx
: >"$NGX/error.log"
start_nginx
deadline=$((SECONDS + 20))
n=0
until grep -q 'certificate status "revoked" in the OCSP response' "$NGX/error.log"; do
	n=$((n + 1))
	s_client_status "$OUT/s_client-revoked.out"
	assert_not_contains "$(cat "$OUT/s_client-revoked.out")" "Cert Status: good" "nginx staple after srv's revocation"
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "nginx did not see the revoked response within 20 s ($n handshakes); error.log: $(tail -n 5 "$NGX/error.log")"
	sleep 0.2
done
log "nginx saw the revoked response after $n handshakes: $(grep -m1 'certificate status "revoked"' "$NGX/error.log" | cut -c1-200)"
for i in 1 2 3; do
	s_client_status "$OUT/s_client-revoked-$i.out"
	t=$(cat "$OUT/s_client-revoked-$i.out")
	assert_not_contains "$t" "Cert Status: good" "handshake $i after nginx refused the revoked response"
	assert_contains "$t" "OCSP response: no response sent" "handshake $i after nginx refused the revoked response"
done
rc=0
curl_status "$OUT/curl-revoked.out" || rc=$?
[ "$rc" -ne 0 ] || fail "curl --cert-status succeeded with the revoked server certificate"
assert_eq 91 "$rc" "curl --cert-status exit status (CURLE_SSL_INVALIDCERTSTATUS) without a staple: $(cat "$OUT/curl-revoked.out")"
# control: without --cert-status the same server is reachable
curl -sS --max-time 20 --cacert "$ROOT" --resolve "localhost:$SPORT:127.0.0.1" -o "$OUT/curl-plain.body" \
    "https://localhost:$SPORT/" || fail "curl without --cert-status failed"
assert_eq "stapling server" "$(cat "$OUT/curl-plain.body")" "body without --cert-status"

stop_nginx
kb_stop
log "OCSP stapling (nginx), ssl_ocsp client checks, curl --cert-status OK"
