#!/usr/bin/env bash
# test_reload: SIGHUP reloads keybridge.conf and the TLS certificate
# without dropping a connection; a broken configuration is refused with
# its line and the bridge keeps serving; `keybridge check` and `serve -n`
# report every problem of a data directory with its file (issue 17,
# docs/operations.md "Reloading the configuration", "Checking a
# configuration").
#
# Asserts, against one running bridge:
# - `serve -n -d DIR` and `check -d DIR` exit 0 while the bridge serves DIR
#   (no lock taken, nothing bound);
# - a kept-alive HTTPS connection (python3 http.client over ssl) opened
#   before SIGHUP carries on on the same socket with the old certificate
#   after it, while a new handshake (openssl s_client) gets the new
#   certificate, made here with openssl and signed by the same issuing CA;
# - the log level raised to debug in keybridge.conf takes effect: the
#   plain listener's request lines (debug only) appear after the reload,
#   not before; the log names the change (info -> debug) and the TLS
#   certificate's new serial, and names http_listen as needing a restart;
# - a keybridge.conf with two bad lines: SIGHUP logs both with their line
#   numbers and "keeping the running configuration", the bridge answers
#   on with the new certificate, no "reload: done";
# - `keybridge check` on a copy with two bad lines, the TLS key at 0644,
#   an expired TLS certificate and an OCSP key that is not its
#   certificate's: exit 1, each problem with its path (and line), "5
#   problems"; `serve -n` says the same.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

D="$OUT/data"
kb_init "$D"
# The bridge started as root drops to its user: what a reload rereads
# must be readable by that user (docs/operations.md).
give() {
	if [ "$(id -u)" = 0 ] && id keybridge >/dev/null 2>&1; then
		chown keybridge: "$@"
	fi
}
give "$D/keybridge.conf" "$D/tls" "$D/tls/server.pem" "$D/tls/server.key"
kb_start "$D"
ROOT="$D/ca/root.pem"
EST="127.0.0.1:$(kb_conf_get "$D" est_listen | sed 's/.*://')"

# fp FILE|-: SHA-256 fingerprint of a PEM certificate
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" | sed 's/.*=//; s/://g'; }
# served_fp: the certificate a new handshake presents
served_fp() {
	openssl s_client -connect "$EST" -servername localhost </dev/null 2>/dev/null |
	    openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//; s/://g'
}
# wait_log PATTERN: serve.log matches PATTERN (ERE) within 10 s
wait_log() {
	local deadline=$((SECONDS + 10))
	until grep -Eq "$1" "$OUT/serve.log"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "no '$1' in serve.log within 10 s: $(tail -n 20 "$OUT/serve.log")"
		sleep 0.05
	done
}

# ---- check and serve -n beside the running bridge ---------------------------
out=$(kb_ok serve -n -d "$D")
assert_contains "$out" "$D: OK" "serve -n on a good directory, a bridge serving it"
out=$(kb_ok check -d "$D")
assert_contains "$out" "$D: OK (configuration, certificates, keys, database)" "check on a good directory"
kill -0 "$KB_SERVE_PID" || fail "the bridge stopped during check"
log "serve -n and check: exit 0 beside the running bridge"

OLD_FP=$(fp "$D/tls/server.pem")
assert_eq "$OLD_FP" "$(served_fp)" "certificate served before the reload"

# ---- a kept-alive connection across the reload -------------------------------
cat >"$OUT/keep.py" <<'EOF'
import hashlib, http.client, os, ssl, sys, time
host, port, cafile, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=cafile)
c = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
def get():
    c.request("GET", "/api/v1/status")
    r = c.getresponse()
    r.read()
    return r.status
s1 = get()
sock1 = c.sock
fp1 = hashlib.sha256(sock1.getpeercert(binary_form=True)).hexdigest().upper()
open(out + ".ready", "w").write("%d %s\n" % (s1, fp1))
deadline = time.time() + 15
while not os.path.exists(out + ".go"):
    if time.time() > deadline:
        sys.exit("no go")
    time.sleep(0.02)
s2 = get()
same = c.sock is sock1
fp2 = hashlib.sha256(c.sock.getpeercert(binary_form=True)).hexdigest().upper()
open(out, "w").write("%d %d %s %s\n" % (s2, same, fp1, fp2))
EOF
python3 "$OUT/keep.py" 127.0.0.1 "${EST#*:}" "$ROOT" "$OUT/keep" &
KEEP_PID=$!
kb_track "$KEEP_PID"
deadline=$((SECONDS + 10))
until [ -s "$OUT/keep.ready" ]; do
	kill -0 "$KEEP_PID" 2>/dev/null || fail "the kept-alive client ended early"
	[ "$SECONDS" -lt "$deadline" ] || fail "the kept-alive client did not connect"
	sleep 0.02
done
assert_eq "200 $OLD_FP" "$(cat "$OUT/keep.ready")" "kept-alive client's first request"

# ---- a new certificate (same issuing CA) and log level debug ------------------
kb_cakey_args "$D" ca_issuing_key
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
    openssl pkcs8 -topk8 -nocrypt -out "$OUT/new.key"
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\nbasicConstraints = critical, CA:FALSE\n' >"$OUT/san.ext"
openssl req -new -key "$OUT/new.key" -subj "/CN=reloaded" -out "$OUT/new.csr"
openssl x509 -req -in "$OUT/new.csr" -CA "$D/ca/issuing.pem" "${KB_CAKEY[@]}" \
    -CAcreateserial -CAserial "$OUT/serial" -days 30 -extfile "$OUT/san.ext" \
    -out "$OUT/new.pem" 2>/dev/null
cat "$OUT/new.pem" "$D/ca/issuing.pem" >"$OUT/new-chain.pem"
NEW_FP=$(fp "$OUT/new.pem")
assert_ne "$OLD_FP" "$NEW_FP" "the new certificate"
# in place as an operator would: the key first (0600), then the chain
install -m 600 "$OUT/new.key" "$D/tls/server.key"
install -m 644 "$OUT/new-chain.pem" "$D/tls/server.pem"
give "$D/tls/server.pem" "$D/tls/server.key"
sed -i 's/^log_level = .*/log_level = debug/; s/^http_listen = 127.0.0.1:/http_listen = 127.0.0.2:/' "$D/keybridge.conf"
HTTP="$KB_HTTP_URL"

curl -sf -o /dev/null "$HTTP/ca/issuing.der?before"
assert_eq 0 "$(grep -c 'GET /ca/issuing.der' "$OUT/serve.log" || true)" "plain listener's request lines at info"

kill -HUP "$KB_SERVE_PID"
wait_log 'reload: done'
L=$(cat "$OUT/serve.log")
assert_contains "$L" "reload: log_level: info -> debug" "the log level's change in the log"
assert_contains "$L" "reload: TLS certificate: serial" "the certificate's change in the log"
assert_contains "$L" "-> serial $(openssl x509 -noout -serial -in "$OUT/new.pem" | sed 's/.*=//' | tr 'A-F' 'a-f' | sed 's/^0*//')" "the new serial in the log"
assert_contains "$L" "reload: http_listen changed (127.0.0.1:${HTTP##*:} -> 127.0.0.2:${HTTP##*:}) but needs a restart" "a restart-only setting named"

# new handshakes: the new certificate, chaining to the same root
assert_eq "$NEW_FP" "$(served_fp)" "certificate of a new handshake after SIGHUP"
curl -sf -o /dev/null --cacert "$ROOT" "$KB_URL/api/v1/status" || fail "curl with the root CA after the reload"
# the log level: request lines of the plain listener now
curl -sf -o /dev/null "$HTTP/ca/issuing.der?after"
wait_log 'GET /ca/issuing.der'
log "SIGHUP: new handshakes present $NEW_FP, log level debug"

# the kept-alive connection: same socket, old certificate, still answered
touch "$OUT/keep.go"
wait "$KEEP_PID" || fail "the kept-alive client failed: $(cat "$OUT/keep" 2>/dev/null)"
kb_untrack "$KEEP_PID"
assert_eq "200 1 $OLD_FP $OLD_FP" "$(cat "$OUT/keep")" "kept-alive connection after SIGHUP (status, same socket, certificates)"
log "the connection opened before SIGHUP answered on its socket with the old certificate"

# ---- a broken configuration: refused with its lines, the old one kept ---------
cp "$D/keybridge.conf" "$OUT/good.conf"
n=$(wc -l <"$D/keybridge.conf")
printf 'batch_max = many\nno_such_key = 1\n' >>"$D/keybridge.conf"
kill -HUP "$KB_SERVE_PID"
wait_log 'keeping the running configuration'
L=$(cat "$OUT/serve.log")
assert_contains "$L" "reload: $D/keybridge.conf:$((n + 1)): batch_max" "the first bad line in the log"
assert_contains "$L" "reload: $D/keybridge.conf:$((n + 2)): unknown key \"no_such_key\"" "the second bad line in the log"
assert_eq 1 "$(grep -c 'reload: done' "$OUT/serve.log")" "reloads taken"
assert_eq "$NEW_FP" "$(served_fp)" "certificate served after the refused reload"
curl -sf -o /dev/null --cacert "$ROOT" "$KB_URL/api/v1/status" || fail "the bridge stopped answering after a broken config"
log "a broken keybridge.conf: both lines logged, the bridge serves on"
cp "$OUT/good.conf" "$D/keybridge.conf"

# ---- check: every problem with its path -----------------------------------------
B="$OUT/broken"
mkdir -p "$B"
cp -a "$D/ca" "$D/tls" "$D"/*.key "$D/keybridge.conf" "$B/"
sed -i "s|^db = .*|db = $D/ledger.db|" "$B/keybridge.conf"
n=$(wc -l <"$B/keybridge.conf")
printf 'http_keepalive_timeout = 0\nno_such_key = 1\n' >>"$B/keybridge.conf"
chmod 0644 "$B/tls/server.key"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
    openssl pkcs8 -topk8 -nocrypt -out "$B/ca/ocsp.key.new"
mv "$B/ca/ocsp.key.new" "$B/ca/ocsp.key"
chmod 600 "$B/ca/ocsp.key"
# an expired TLS certificate (its key, the issuing CA's signature)
python3 - "$B/tls/server.key" "$B/ca/issuing.pem" "$B/ca/issuing.key" "$B/tls/server.pem" <<'EOF'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
ca = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
cakey = serialization.load_pem_private_key(open(sys.argv[3], "rb").read(), None)
t = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired")]))
    .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
    .not_valid_before(t).not_valid_after(t + datetime.timedelta(days=1))
    .sign(cakey, hashes.SHA256()))
open(sys.argv[4], "wb").write(cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
EOF
for cmd in check "serve -n"; do
	# shellcheck disable=SC2086 # cmd is "serve -n"
	kb_run $cmd -d "$B"
	assert_eq 1 "$KB_RC" "exit status of $cmd on a broken directory"
	E=$(cat "$KB_STDERR")
	assert_contains "$E" "$B/keybridge.conf:$((n + 1)): http_keepalive_timeout is already set on line" "$cmd: the first bad line"
	assert_contains "$E" "$B/keybridge.conf:$((n + 2)): unknown key \"no_such_key\"" "$cmd: the second bad line"
	assert_contains "$E" "$B/tls/server.key: key file is accessible by group or others (mode 0644)" "$cmd: the TLS key at 0644"
	assert_contains "$E" "$B/ca/ocsp.key: the OCSP signer key does not match the certificate $B/ca/ocsp.pem" "$cmd: a key not its certificate's"
	assert_contains "$E" "$B/tls/server.pem: the TLS certificate expired on 2020-01-02 00:00:00 UTC" "$cmd: an expired certificate"
	assert_contains "$E" "$B: 5 problems" "$cmd: the count"
done
log "check and serve -n: 5 problems, each with its file (and line), exit 1"

kb_stop
log "PASS"
