#!/usr/bin/env bash
# EST enrollment (RFC 7030) end to end with curl and openssl: cacerts is the
# issuing CA then the root; registered keys (P-256 device with and without a
# label, P-384, a server key with DNS and IP names, RSA 2048) enroll and get
# certificates built from their registration (subject, SANs, EKU, AIA, CRL
# DP, a random serial) that verify against the root and are recorded on the
# ledger (cert-issued with serial, key id, certificate hash and profile)
# before the answer.  Unregistered, revoked, not-yet-valid, wrong-profile,
# unregistered-name and repeated enrollments are refused with their status
# and append nothing; csrattrs; HTTP Basic on the device label.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
CT=(-H 'Content-Type: application/pkcs10')

kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"
HTTP_URL=$(kb_conf_get "$DIR" public_http_url)
[ -n "$HTTP_URL" ] || fail "no public_http_url in $DIR/keybridge.conf"
log "public_http_url = $HTTP_URL"

fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2
}

# ---- cacerts -------------------------------------------------------------------
code=$(est_call GET "$EST/cacerts")
assert_eq 200 "$code" "GET $EST/cacerts status (body: $(head -c 300 "$API_BODY"))"
assert_match "$(est_header Content-Type)" '^application/pkcs7-mime; *smime-type=certs-only$' "Content-Type of cacerts"
assert_eq base64 "$(est_header Content-Transfer-Encoding)" "Content-Transfer-Encoding of cacerts"
cp "$API_BODY" "$OUT/cacerts.b64"
est_check_b64_lines "$OUT/cacerts.b64" "cacerts body"
n=$(est_p7_certs "$OUT/cacerts.b64" "$OUT/cacerts.pem")
assert_eq 2 "$n" "certificates in cacerts"
awk -v p="$OUT/cacerts-" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (p n ".pem") }' "$OUT/cacerts.pem"
assert_eq "$(fingerprint "$ISSUING")" "$(fingerprint "$OUT/cacerts-1.pem")" "cacerts first certificate = ca/issuing.pem"
assert_eq "$(fingerprint "$ROOT")" "$(fingerprint "$OUT/cacerts-2.pem")" "cacerts second certificate = ca/root.pem"
# control: the two are different certificates
assert_ne "$(fingerprint "$ROOT")" "$(fingerprint "$ISSUING")" "root vs issuing fingerprints"

est_refused 404 GET "$EST/nope/cacerts"
new_key probe p256
csr=$(est_csr probe probe)
est_refused 404 POST "$EST/nope/simpleenroll" "${CT[@]}" --data-binary "@$csr"

# ---- enrollments -------------------------------------------------------------------
T0=$(kb_tree_size)
declare -A PROFILE KID

# enroll_ok NAME PATH CSR PEM [CURL ARGS...]: 200 and exactly one new entry.
enroll_ok() {
	local name=$1 path=$2 csr=$3 pem=$4 before after
	shift 4
	before=$(kb_tree_size)
	est_enroll "$path" "$csr" "$pem" "$@"
	after=$(kb_tree_size)
	assert_eq $((before + 1)) "$after" "tree_size right after the enrollment of $name (cert-issued before the answer)"
}

# register NAME TYPE PROFILE [KEY REGISTER ARGS...]
register() {
	local name=$1 type=$2 profile=$3 r
	shift 3
	new_key "$name" "$type"
	r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$name.pub" --name "$name" \
	    --profile "$profile" --json "$@")
	KID[$name]=$(jq -er .key_id <<<"$r")
	assert_eq "$(spki_key_id "$OUT/keys/$name.pub")" "${KID[$name]}" "key id of $name"
	PROFILE[$name]=$profile
}

# P-256 device key, no label: the profile comes from the registration; the
# subject comes from the registration, not from the CSR.
register dev-001 p256 device
csr=$(est_csr dev-001 dev-001 -subj /CN=not-the-registered-name/O=Mallory)
enroll_ok dev-001 "$EST/simpleenroll" "$csr" "$OUT/dev-001.pem"

# P-256 device key under the device label, CSR without line breaks.
register dev-002 p256 device
est_csr dev-002 dev-002 >/dev/null
base64 -w0 "$OUT/csr/dev-002.der" >"$OUT/csr/dev-002-oneline.b64"
enroll_ok dev-002 "$EST/device/simpleenroll" "$OUT/csr/dev-002-oneline.b64" "$OUT/dev-002.pem"

# P-384 device key, CRLF line breaks and Content-Transfer-Encoding (RFC 8951).
register dev-p384 p384 device
est_csr dev-p384 dev-p384 >/dev/null
base64 -w64 "$OUT/csr/dev-p384.der" | sed 's/$/\r/' >"$OUT/csr/dev-p384-crlf.b64"
enroll_ok dev-p384 "$EST/device/simpleenroll" "$OUT/csr/dev-p384-crlf.b64" "$OUT/dev-p384.pem" \
    -H 'Content-Transfer-Encoding: base64'

# RSA 2048 device key.
register dev-rsa rsa2048 device
csr=$(est_csr dev-rsa dev-rsa -sha256)
enroll_ok dev-rsa "$EST/simpleenroll" "$csr" "$OUT/dev-rsa.pem"

# Server key with a DNS and an IP name, under the server label.
register srv-001 p256 server --dns srv.test --ip 127.0.0.1
csr=$(est_csr srv-001 srv-001 -addext 'subjectAltName=DNS:srv.test,IP:127.0.0.1')
enroll_ok srv-001 "$EST/server/simpleenroll" "$csr" "$OUT/srv-001.pem"

# Server key, no label, CSR asking for no names: the SANs still come from
# the registration.
register srv-002 p256 server --dns a.srv.test --dns b.srv.test
csr=$(est_csr srv-002 srv-002)
enroll_ok srv-002 "$EST/simpleenroll" "$csr" "$OUT/srv-002.pem"

ISSUED="dev-001 dev-002 dev-p384 dev-rsa srv-001 srv-002"

# ---- the certificates ---------------------------------------------------------------
declare -A SERIAL
for name in $ISSUED; do
	pem="$OUT/$name.pem"
	out=$(openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" "$pem" 2>&1) ||
		fail "openssl verify of $name: $out"
	assert_eq "$pem: OK" "$out" "openssl verify of $name"
	# negative control: without the issuing CA the chain does not build
	if out=$(openssl verify -CAfile "$ROOT" "$pem" 2>&1); then
		fail "openssl verify of $name without the issuing CA succeeded: $out"
	fi
	subj=$(openssl x509 -in "$pem" -noout -subject -nameopt RFC2253)
	assert_match "$subj" "^subject=(.*,)?CN=$name(,.*)?\$" "subject of $name"
	assert_not_contains "$subj" "not-the-registered-name" "subject of $name"
	assert_not_contains "$subj" "Mallory" "subject of $name"
	assert_eq "${KID[$name]}" "$(cert_key_id "$pem")" "key of the certificate of $name (SHA-256 of its SPKI)"
	issuer=$(openssl x509 -in "$pem" -noout -issuer -nameopt RFC2253)
	assert_eq "$(openssl x509 -in "$ISSUING" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" \
	    "${issuer#issuer=}" "issuer of $name"

	eku=$(openssl x509 -in "$pem" -noout -ext extendedKeyUsage)
	if [ "${PROFILE[$name]}" = device ]; then
		assert_contains "$eku" "TLS Web Client Authentication" "EKU of $name"
		assert_not_contains "$eku" "TLS Web Server Authentication" "EKU of $name"
	else
		assert_contains "$eku" "TLS Web Server Authentication" "EKU of $name"
		assert_not_contains "$eku" "TLS Web Client Authentication" "EKU of $name"
	fi
	aia=$(openssl x509 -in "$pem" -noout -ext authorityInfoAccess)
	assert_match "$aia" "OCSP - URI:$HTTP_URL/ocsp( |\$)" "AIA OCSP of $name"
	assert_match "$aia" "CA Issuers - URI:$HTTP_URL/ca/issuing.der( |\$)" "AIA caIssuers of $name"
	cdp=$(openssl x509 -in "$pem" -noout -ext crlDistributionPoints)
	assert_match "$cdp" "URI:$HTTP_URL/crl/[^/ ]+\\.crl( |\$)" "CRL DP of $name"

	s=$(cert_serial_hex "$pem")
	assert_match "$s" '^[0-9a-f]{25,32}$' "serial of $name (128-bit random, lowercase hex)"
	for other in "${!SERIAL[@]}"; do
		assert_ne "${SERIAL[$other]}" "$s" "serial of $name vs $other"
	done
	SERIAL[$name]=$s
done

# The CRL DP names one issuer: the same file for every certificate.
cdps=$(for name in $ISSUED; do openssl x509 -in "$OUT/$name.pem" -noout -ext crlDistributionPoints | grep -o 'URI:.*'; done | sort -u)
assert_eq 1 "$(grep -c . <<<"$cdps")" "distinct CRL DP URIs over all certificates ($cdps)"

# SANs: exactly the registered names.
san() {
	openssl x509 -in "$1" -noout -ext subjectAltName,extendedKeyUsage |
	    awk '/Subject Alternative Name/ { getline; gsub(/^ +| +$/, ""); print }'
}
assert_eq "DNS:srv.test, IP Address:127.0.0.1" "$(san "$OUT/srv-001.pem")" "SAN of srv-001"
assert_eq "DNS:a.srv.test, DNS:b.srv.test" "$(san "$OUT/srv-002.pem")" "SAN of srv-002 (registered names, CSR asked none)"
assert_eq "" "$(san "$OUT/dev-001.pem")" "SAN of dev-001 (no names registered)"
ext=$(openssl x509 -in "$OUT/srv-001.pem" -noout -ext subjectAltName,extendedKeyUsage)
assert_contains "$ext" "TLS Web Server Authentication" "EKU of srv-001"
# negative control for the SAN check: the server cert is not valid for another name
if out=$(openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" -verify_hostname other.test "$OUT/srv-001.pem" 2>&1); then
	fail "srv-001 verified for other.test: $out"
fi
out=$(openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" -verify_hostname srv.test -purpose sslserver "$OUT/srv-001.pem" 2>&1) ||
	fail "srv-001 for srv.test as an SSL server: $out"
out=$(openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" -verify_ip 127.0.0.1 "$OUT/srv-001.pem" 2>&1) ||
	fail "srv-001 for 127.0.0.1: $out"
out=$(openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" -purpose sslclient "$OUT/dev-001.pem" 2>&1) ||
	fail "dev-001 as an SSL client: $out"
if out=$(openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" -purpose sslserver "$OUT/dev-001.pem" 2>&1); then
	fail "the device certificate dev-001 verified as an SSL server: $out"
fi

# ---- the ledger: one cert-issued entry per certificate --------------------------------
kb_entries_from "$T0" "$OUT/entries-enroll.json"
assert_eq 6 "$(jq '[.[] | select(.type == "cert-issued")] | length' "$OUT/entries-enroll.json")" \
    "cert-issued entries since index $T0"
for name in $ISSUED; do
	idx=$(kb_entries_with "$OUT/entries-enroll.json" cert-issued \
	    "serial ${SERIAL[$name]}" "key-id ${KID[$name]}" \
	    "tbs $(cert_tbs_b64 "$OUT/$name.pem")" "profile ${PROFILE[$name]}")
	assert_eq 1 "$(grep -c . <<<"$idx" || true)" "cert-issued entries for $name (serial ${SERIAL[$name]}, key-id ${KID[$name]}) in $(jq -c '[.[] | select(.type == "cert-issued") | .entry]' "$OUT/entries-enroll.json" | head -c 3000)"
	assert_eq bridge "$(jq -r --argjson i "$idx" '.[] | select(.index == $i) | .account' "$OUT/entries-enroll.json")" \
	    "account of the cert-issued entry of $name"
done
# negative control: a serial that was not issued matches nothing
assert_eq "" "$(kb_entries_with "$OUT/entries-enroll.json" cert-issued "serial ${SERIAL[dev-001]}0")" \
    "cert-issued entries for a serial never issued"

# ---- refusals: nothing appended -------------------------------------------------------
# The ledger's trust rule (ledger_check_issue) refuses with its code first;
# the CSR's names are EST's own check.
# A key that was never registered.
new_key unreg p256
csr=$(est_csr unreg unreg)
est_refused 403 POST "$EST/simpleenroll" "${CT[@]}" --data-binary "@$csr"
assert_match "$(cat "$API_BODY")" '^key_not_found: key [0-9a-f]{64} is not registered$' "refusal of an unregistered key"
est_refused 403 POST "$EST/device/simpleenroll" "${CT[@]}" --data-binary "@$csr"

# A revoked key.
register revoked-1 p256 device
kb_ok key revoke -d "$DIR" --key-id "${KID[revoked-1]}" --reason keyCompromise >/dev/null
csr=$(est_csr revoked-1 revoked-1)
est_refused 403 POST "$EST/simpleenroll" "${CT[@]}" --data-binary "@$csr"
assert_eq "key_revoked: key ${KID[revoked-1]} is revoked" "$(cat "$API_BODY")" "refusal of a revoked key"
est_refused 403 POST "$EST/device/simpleenroll" "${CT[@]}" --data-binary "@$csr"

# A key whose window opens in two days.
register future-1 p256 device --not-before "$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)"
csr=$(est_csr future-1 future-1)
est_refused 403 POST "$EST/simpleenroll" "${CT[@]}" --data-binary "@$csr"
assert_match "$(cat "$API_BODY")" "^outside_validity_window: the ledger time is outside the validity window of key ${KID[future-1]} \\(" "refusal of a key before its window"

# A device key at the server label; then (control) at the device label.
register dev-wrong p256 device
csr=$(est_csr dev-wrong dev-wrong)
est_refused 403 POST "$EST/server/simpleenroll" "${CT[@]}" --data-binary "@$csr"
assert_eq "permission_denied: key ${KID[dev-wrong]} may enroll for profile device only, not server" "$(cat "$API_BODY")" "refusal of a device key at the server label"
enroll_ok dev-wrong "$EST/device/simpleenroll" "$csr" "$OUT/dev-wrong.pem"

# Names that were not registered; then (control) the registered one.
register srv-san p256 server --dns a.test
csr=$(est_csr srv-san srv-san-b -addext 'subjectAltName=DNS:b.test')
est_refused 403 POST "$EST/server/simpleenroll" "${CT[@]}" --data-binary "@$csr"
assert_eq "name b.test not registered for this key" "$(cat "$API_BODY")" "refusal of an unregistered name"
csr=$(est_csr srv-san srv-san-ab -addext 'subjectAltName=DNS:a.test,DNS:b.test')
est_refused 403 POST "$EST/server/simpleenroll" "${CT[@]}" --data-binary "@$csr"
csr=$(est_csr srv-san srv-san-ip -addext 'subjectAltName=DNS:a.test,IP:10.9.9.9')
est_refused 403 POST "$EST/server/simpleenroll" "${CT[@]}" --data-binary "@$csr"
csr=$(est_csr srv-san srv-san-a -addext 'subjectAltName=DNS:a.test')
enroll_ok srv-san "$EST/server/simpleenroll" "$csr" "$OUT/srv-san.pem"
assert_eq "DNS:a.test" "$(san "$OUT/srv-san.pem")" "SAN of srv-san"

# A second simpleenroll of a key that has a good (current) certificate.
csr=$(est_csr dev-001 dev-001-again)
est_refused 409 POST "$EST/simpleenroll" "${CT[@]}" --data-binary "@$csr"
assert_match "$(cat "$API_BODY")" '^current_cert_exists: ' "the 409 of dev-001's second simpleenroll"
est_refused 409 POST "$EST/device/simpleenroll" "${CT[@]}" --data-binary "@$csr"
csr=$(est_csr srv-001 srv-001-again -addext 'subjectAltName=DNS:srv.test')
est_refused 409 POST "$EST/server/simpleenroll" "${CT[@]}" --data-binary "@$csr"
assert_match "$(cat "$API_BODY")" '^current_cert_exists: ' "the 409 of srv-001's second simpleenroll"

# As many names as a registration may hold (32 DNS and 32 IP): 20 + 20 is
# issued with every one of them, DNS first, then IP.
args=() want=()
for i in $(seq 1 20); do
	args+=(--dns "n$i.many.test")
	want+=("DNS:n$i.many.test")
done
for i in $(seq 1 20); do
	args+=(--ip "10.20.0.$i")
	want+=("IP Address:10.20.0.$i")
done
register srv-many p256 server "${args[@]}"
csr=$(est_csr srv-many srv-many)
enroll_ok srv-many "$EST/server/simpleenroll" "$csr" "$OUT/srv-many.pem"
assert_eq "$(IFS=,; sed 's/,/, /g' <<<"${want[*]}")" "$(san "$OUT/srv-many.pem")" "SAN of srv-many (20 DNS + 20 IP)"

# ---- csrattrs -------------------------------------------------------------------------------
code=$(est_call GET "$EST/csrattrs")
assert_eq 200 "$code" "GET $EST/csrattrs status (body: $(head -c 300 "$API_BODY"))"
assert_match "$(est_header Content-Type)" '^application/csrattrs$' "Content-Type of csrattrs"
cp "$API_BODY" "$OUT/csrattrs.b64"
est_check_b64_lines "$OUT/csrattrs.b64" "csrattrs body"
tr -d '\r' <"$OUT/csrattrs.b64" | base64 -d >"$OUT/csrattrs.der" || fail "csrattrs is not base64"
out=$(openssl asn1parse -inform DER -in "$OUT/csrattrs.der") || fail "csrattrs is not DER: $out"
assert_contains "$out" "ecdsa-with-SHA256" "csrattrs"
assert_match "$(head -n 1 <<<"$out")" 'cons: SEQUENCE' "csrattrs outer type"

# ---- HTTP Basic on the device label ------------------------------------------------------------
kb_stop
kb_conf_set "$DIR" est_device_basic_auth 'estdev:s3cr3t-pw'
kb_start "$DIR"

register basic-1 p256 device
csr1=$(est_csr basic-1 basic-1)
est_refused 401 POST "$EST/device/simpleenroll" "${CT[@]}" --data-binary "@$csr1"
assert_match "$(est_header WWW-Authenticate)" '^Basic( |$)' "WWW-Authenticate of the 401"
est_refused 401 POST "$EST/device/simpleenroll" "${CT[@]}" --data-binary "@$csr1" -u 'estdev:wrong'
est_refused 401 POST "$EST/device/simpleenroll" "${CT[@]}" --data-binary "@$csr1" -u 'other:s3cr3t-pw'
est_refused 401 POST "$EST/device/simpleenroll" "${CT[@]}" --data-binary "@$csr1" -H 'Authorization: Basic !!!'
est_refused 401 GET "$EST/device/cacerts"
enroll_ok basic-1 "$EST/device/simpleenroll" "$csr1" "$OUT/basic-1.pem" -u 'estdev:s3cr3t-pw'
code=$(est_call GET "$EST/device/cacerts" -u 'estdev:s3cr3t-pw')
assert_eq 200 "$code" "GET $EST/device/cacerts with the credentials"
# the other paths have no Basic configured
register basic-2 p256 device
csr2=$(est_csr basic-2 basic-2)
enroll_ok basic-2 "$EST/simpleenroll" "$csr2" "$OUT/basic-2.pem"
code=$(est_call GET "$EST/server/cacerts")
assert_eq 200 "$code" "GET $EST/server/cacerts without credentials"
code=$(est_call GET "$EST/cacerts")
assert_eq 200 "$code" "GET $EST/cacerts without credentials"

kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the enrollments"
log "EST enrollment OK"
