#!/usr/bin/env bash
# Profile options and CA names (issue 17, "Names and policy", "Short-lived
# certificates", "Ed25519 device keys"), one bridge:
#  - init --subject-c/-o/-ou puts C, O, OU into the root, issuing CA and
#    OCSP signer names (`openssl x509 -subject`), keeps them in
#    keybridge.conf; a bad country code or an overlong O is refused before
#    anything is made;
#  - server_policy_oid: an issued server certificate carries exactly that
#    certificatePolicies OID, keeps its OCSP URL and CRL point;
#  - device_validity_hours = 24 and device_no_rev_avail = 1: device
#    certificates live 24 h (+ the 5 min backdate), carry RFC 9608
#    noRevAvail (2.5.29.56, NULL) and no OCSP URL or CRL point; OCSP still
#    answers good, then revoked after `key revoke`;
#  - configuration bounds: noRevAvail with a long validity, a bad OID, a
#    lower-case country are refused naming the file, line and key;
#  - an Ed25519 device key registers, enrolls over EST (curl), gets
#    keyUsage digitalSignature alone, verifies to the root, and completes a
#    TLS 1.3 mutual-authentication handshake with openssl s_server /
#    s_client; an Ed25519 key for the server profile is refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
SRV_OID=1.3.6.1.4.1.99999.17.1
DEV_OID=1.3.6.1.4.1.99999.17.2

# ---- CA names ------------------------------------------------------------------------
kb_fail usage init "$OUT/bad-c" --subject-c de --subject-o Example
assert_contains "$(cat "$KB_STDERR")" "two upper-case letters" "init --subject-c de"
kb_fail usage init "$OUT/bad-c" --subject-c ZZ --subject-o Example
assert_contains "$(cat "$KB_STDERR")" "ISO 3166" "init --subject-c ZZ"
kb_fail usage init "$OUT/bad-o" --subject-o "$(printf 'o%.0s' {1..65})"
assert_contains "$(cat "$KB_STDERR")" "at most 64" "init --subject-o of 65 characters"
[ ! -e "$OUT/bad-c" ] && [ ! -e "$OUT/bad-o" ] || fail "a refused init left a directory behind"

kb_init "$DIR" --subject-c DE --subject-o "Example Devices GmbH" --subject-ou "Fleet PKI"
for f in root:"Root CA" issuing:"Issuing CA" ocsp:"OCSP Signer"; do
	subj=$(openssl x509 -in "$DIR/ca/${f%%:*}.pem" -noout -subject -nameopt RFC2253)
	assert_eq "CN=keybridge ${f#*:},OU=Fleet PKI,O=Example Devices GmbH,C=DE" "${subj#subject=}" "subject of ca/${f%%:*}.pem"
done
# RFC 5280 4.1.2.4 / X.520: C a PrintableString, O and OU UTF8Strings
assert_eq "subject=C=PRINTABLESTRING:DE,O=UTF8STRING:Example Devices GmbH,OU=UTF8STRING:Fleet PKI,CN=UTF8STRING:keybridge Root CA" \
    "$(openssl x509 -in "$DIR/ca/root.pem" -noout -subject -nameopt show_type,sep_comma_plus)" "string types of the root's name"
assert_eq DE "$(kb_conf_get "$DIR" ca_subject_c)" "ca_subject_c in keybridge.conf"
assert_eq "Example Devices GmbH" "$(kb_conf_get "$DIR" ca_subject_o)" "ca_subject_o in keybridge.conf"
openssl verify -CAfile "$DIR/ca/root.pem" "$DIR/ca/issuing.pem" >/dev/null || fail "the named issuing CA does not verify"

# ---- configuration bounds (each refused by a command that reads the file) ---------
cp "$DIR/keybridge.conf" "$OUT/conf.good"
conf_refused() {	# KEY VALUE EXPECTED-TEXT
	kb_conf_set "$DIR" "$1" "$2"
	kb_run key list -d "$DIR"
	[ "$KB_RC" -ne 0 ] || fail "$1 = $2 was accepted"
	assert_match "$(cat "$KB_STDERR")" "keybridge\.conf:[0-9]+: $1 .*$3" "refusal of $1 = $2"
	cp "$OUT/conf.good" "$DIR/keybridge.conf"
}
conf_refused device_no_rev_avail 1 "needs device_validity_hours between 1 and 168"
kb_conf_set "$DIR" device_validity_hours 169
conf_refused device_no_rev_avail 1 "needs device_validity_hours"
conf_refused server_validity_hours 2161 "between 0 and 2160"
conf_refused server_policy_oid 1.3.6.01.4 "not a dotted OID"
conf_refused server_policy_oid 3.1.2 "not an OID"
conf_refused device_policy_oid 2.5.29.32.0 "anyPolicy"
conf_refused ca_subject_c de "two upper-case letters"
kb_ok key list -d "$DIR" >/dev/null	# control: the good file reads

kb_conf_set "$DIR" server_policy_oid "$SRV_OID"
kb_conf_set "$DIR" device_policy_oid "$DEV_OID"
kb_conf_set "$DIR" device_validity_hours 24
kb_conf_set "$DIR" device_no_rev_avail 1
kb_start "$DIR"
HTTP_URL=$(kb_conf_get "$DIR" public_http_url)

# secs PEM: notAfter - notBefore in seconds
secs() {
	echo $(($(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s) -
	    $(date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s)))
}
# assert_life PEM HOURS WHAT: notAfter - notBefore is HOURS plus at most the
# 300 s backdate (notBefore is the later of now - 300 s and the key's
# registration time).
assert_life() {
	local got
	got=$(secs "$1")
	[ "$got" -ge $(($2 * 3600)) ] && [ "$got" -le $(($2 * 3600 + 300)) ] ||
		fail "$3: $got s, expected $(($2 * 3600)) to $(($2 * 3600 + 300))"
}
# policies PEM: the certificatePolicies OIDs, one a line
policies() {
	openssl x509 -in "$1" -noout -text | awk '/X509v3 Certificate Policies/ { p = 1; next }
	    p && /Policy: / { sub(/.*Policy: /, ""); print; next } p { exit }'
}

# ---- a server certificate with a policy OID --------------------------------------------
new_key srv p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/srv.pub" --name srv.example --profile server \
    --dns srv.example >/dev/null
est_enroll "$EST/server/simpleenroll" "$(est_csr srv srv)" "$OUT/srv.pem"
assert_eq "$SRV_OID" "$(policies "$OUT/srv.pem")" "certificatePolicies of the server certificate"
t=$(openssl x509 -in "$OUT/srv.pem" -noout -text)
assert_contains "$t" "OCSP - URI:$HTTP_URL/ocsp" "OCSP URL of the server certificate (no noRevAvail there)"
assert_contains "$t" "X509v3 CRL Distribution Points" "CRL point of the server certificate"
assert_not_contains "$t" "No Revocation Available" "the server certificate"
assert_life "$OUT/srv.pem" $((90 * 24)) "validity of the server certificate (90 days)"

# ---- a short-lived device certificate: 24 h, noRevAvail, no pointers ------------------------
new_key dev p256
dev_kid=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/dev.pub" --name dev-1 --json | jq -er .key_id)
est_enroll "$EST/simpleenroll" "$(est_csr dev dev)" "$OUT/dev.pem"
assert_life "$OUT/dev.pem" 24 "validity of the short-lived device certificate"
t=$(openssl x509 -in "$OUT/dev.pem" -noout -text)
assert_contains "$t" "X509v3 No Revocation Available" "noRevAvail of the short-lived certificate"
assert_not_contains "$t" "OCSP - URI" "the short-lived certificate"
assert_not_contains "$t" "CRL Distribution" "the short-lived certificate"
assert_contains "$t" "CA Issuers - URI:" "caIssuers of the short-lived certificate (chain building)"
assert_eq "$DEV_OID" "$(policies "$OUT/dev.pem")" "certificatePolicies of the device certificate"
# RFC 9608 2: non-critical, value NULL (05 00) -- the DER, not openssl's words
der_hex=$(openssl x509 -in "$OUT/dev.pem" -outform DER | od -An -tx1 -v | tr -d ' \n')
assert_contains "$der_hex" "30090603551d3804020500" "noRevAvail as DER: OID 2.5.29.56, not critical, OCTET STRING { NULL }"
openssl verify -CAfile "$DIR/ca/root.pem" -untrusted "$DIR/ca/issuing.pem" "$OUT/dev.pem" >/dev/null ||
	fail "the short-lived certificate does not verify"

# OCSP still answers for it when asked: good, then revoked.
ocsp_status() {
	timeout 20 openssl ocsp -issuer "$DIR/ca/issuing.pem" -url "$HTTP_URL/ocsp" -CAfile "$DIR/ca/root.pem" \
	    -no_nonce -cert "$OUT/dev.pem" 2>&1 | awk -v n="$OUT/dev.pem: " 'index($0, n) == 1 { print substr($0, length(n) + 1) }'
}
assert_eq good "$(ocsp_status)" "OCSP status of the short-lived certificate"
kb_ok key revoke -d "$DIR" --key-id "$dev_kid" --reason keyCompromise >/dev/null
deadline=$((SECONDS + 10))
until [ "$(ocsp_status)" = revoked ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "the short-lived certificate is not revoked over OCSP 10 s after key revoke"
	sleep 0.1
done
log "short-lived certificate: 24 h, noRevAvail, no OCSP/CRL pointers; OCSP good then revoked"

# ---- Ed25519 device keys (RFC 8410) --------------------------------------------------------------
new_key ed-srv ed25519
kb_fail bad_key key register -d "$DIR" --pubkey "$OUT/keys/ed-srv.pub" --name ed-srv.example --profile server \
    --dns ed-srv.example
# csrattrs under the device label name id-Ed25519 (RFC 8410), the server's not
csrattrs_text() {
	local code
	code=$(est_call GET "$EST/$1/csrattrs")
	assert_eq 200 "$code" "GET $EST/$1/csrattrs"
	tr -d '\r' <"$API_BODY" | base64 -d | openssl asn1parse -inform DER
}
assert_contains "$(csrattrs_text device)" ":ED25519" "csrattrs of the device label"
assert_not_contains "$(csrattrs_text server)" ":ED25519" "csrattrs of the server label"
new_key ed ed25519
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/ed.pub" --name ed-dev --profile device >/dev/null
est_enroll "$EST/device/simpleenroll" "$(est_csr ed ed)" "$OUT/ed.pem"
t=$(openssl x509 -in "$OUT/ed.pem" -noout -text)
assert_contains "$t" "Public Key Algorithm: ED25519" "key of the Ed25519 device certificate"
ku=$(openssl x509 -in "$OUT/ed.pem" -noout -ext keyUsage | tail -n +2 | tr -d ' ')
assert_eq "DigitalSignature" "$ku" "keyUsage of the Ed25519 certificate (no keyEncipherment)"
assert_contains "$t" "TLS Web Client Authentication" "EKU of the Ed25519 certificate"
assert_life "$OUT/ed.pem" 24 "validity of the Ed25519 device certificate (the device profile's 24 h)"
cat "$DIR/ca/issuing.pem" "$DIR/ca/root.pem" >"$OUT/chain.pem"
openssl verify -CAfile "$DIR/ca/root.pem" -untrusted "$DIR/ca/issuing.pem" "$OUT/ed.pem" >/dev/null ||
	fail "the Ed25519 certificate does not verify"

# TLS 1.3 mutual authentication with the Ed25519 certificate as the client's:
# s_server (the bridge's own TLS certificate) demands and verifies it.
# s_server_start NAME: one s_server for one connection, log OUT/NAME.log;
# sets SRV_PORT and SRV_PID once it listens.
s_server_start() {
	local deadline
	SRV_PORT=$(kb_free_ports 1)
	KB_USED_PORTS="$KB_USED_PORTS $SRV_PORT"
	openssl s_server -accept "127.0.0.1:$SRV_PORT" -tls1_3 -cert "$DIR/tls/server.pem" \
	    -key "$DIR/tls/server.key" -cert_chain "$DIR/ca/issuing.pem" -CAfile "$DIR/ca/root.pem" \
	    -Verify 2 -verify_return_error -naccept 1 -www >"$OUT/$1.log" 2>&1 &
	SRV_PID=$!
	kb_track "$SRV_PID"
	# (no probe connection: -naccept 1 would spend itself on it) s_server
	# prints ACCEPT once it listens
	deadline=$((SECONDS + 10))
	until grep -q '^ACCEPT' "$OUT/$1.log"; do
		kill -0 "$SRV_PID" 2>/dev/null || fail "openssl s_server exited: $(cat "$OUT/$1.log")"
		[ "$SECONDS" -lt "$deadline" ] || fail "openssl s_server does not listen after 10 s"
		sleep 0.05
	done
}
s_server_start s_server
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 openssl s_client -connect "127.0.0.1:$SRV_PORT" -tls1_3 -ign_eof \
    -cert "$OUT/ed.pem" -key "$OUT/keys/ed.key" -cert_chain "$DIR/ca/issuing.pem" \
    -CAfile "$DIR/ca/root.pem" -verify_return_error -servername localhost >"$OUT/s_client.log" 2>&1 ||
	fail "openssl s_client with the Ed25519 certificate failed: $(tail -n 20 "$OUT/s_client.log")"
wait "$SRV_PID" || true
kb_untrack "$SRV_PID"
assert_contains "$(cat "$OUT/s_client.log")" "New, TLSv1.3," "s_client's protocol"
# the page comes only after the server checked the client's certificate
# (TLS 1.3: after the client's Finished; -verify_return_error)
assert_contains "$(cat "$OUT/s_client.log")" "HTTP/1.0 200 ok" "s_server's page over the mutually authenticated connection"
assert_contains "$(cat "$OUT/s_client.log")" "Verify return code: 0 (ok)" "s_client's verification of the server"
assert_contains "$(cat "$OUT/s_client.log")" "Peer signature type: ECDSA" "s_client (control: the server's key)"
assert_contains "$(cat "$OUT/s_server.log")" "CN = ed-dev" "s_server verified the Ed25519 client certificate"
assert_not_contains "$(cat "$OUT/s_server.log")" "verify error" "s_server's verification"
log "Ed25519 device certificate: TLS 1.3 mutual authentication with openssl"
# control: without a client certificate the same server gives no page
s_server_start s_server_nocert
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 openssl s_client -connect "127.0.0.1:$SRV_PORT" -tls1_3 -ign_eof \
    -CAfile "$DIR/ca/root.pem" -servername localhost >"$OUT/s_client_nocert.log" 2>&1 || true
wait "$SRV_PID" || true
kb_untrack "$SRV_PID"
assert_not_contains "$(cat "$OUT/s_client_nocert.log")" "HTTP/1.0 200 ok" "s_client without a certificate (control)"

# GnuTLS, when scripts/deps.sh or the operator installed gnutls-bin: the
# same handshake with gnutls-cli as the client.
if command -v gnutls-cli >/dev/null 2>&1; then
	cat "$OUT/ed.pem" "$DIR/ca/issuing.pem" >"$OUT/ed-chain.pem"
	s_server_start s_server_gnutls
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 gnutls-cli -p "$SRV_PORT" 127.0.0.1 \
	    --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3' --x509cafile "$DIR/ca/root.pem" \
	    --x509certfile "$OUT/ed-chain.pem" --x509keyfile "$OUT/keys/ed.key" \
	    >"$OUT/gnutls-cli.log" 2>&1 || fail "gnutls-cli with the Ed25519 certificate failed: $(tail -n 20 "$OUT/gnutls-cli.log")"
	wait "$SRV_PID" || true
	kb_untrack "$SRV_PID"
	assert_contains "$(cat "$OUT/gnutls-cli.log")" "(TLS1.3-X.509)" "gnutls-cli's protocol"
	assert_contains "$(cat "$OUT/gnutls-cli.log")" "HTTP/1.0 200 ok" "s_server's page to gnutls-cli"
	assert_contains "$(cat "$OUT/s_server_gnutls.log")" "CN = ed-dev" "s_server verified gnutls-cli's Ed25519 certificate"
	log "Ed25519 device certificate: TLS 1.3 mutual authentication with gnutls-cli $(gnutls-cli --version | head -1)"
else
	log "gnutls-cli is not installed: the GnuTLS handshake is not tried"
fi

kb_stop
kb_ok ledger verify -d "$DIR" >/dev/null
log "profiles: CA names, policy OIDs, short-lived noRevAvail, Ed25519 devices"
