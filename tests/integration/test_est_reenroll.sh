#!/usr/bin/env bash
# EST re-enrollment (RFC 7030 4.2.2) over TLS client authentication with the
# current certificate: the same key gets a new certificate (new serial) and
# the old one is recorded as superseded (cert-revoked, reason superseded); a
# new key that is itself registered can take over; a superseded certificate,
# a certificate whose key was revoked, no client certificate, a certificate
# from another CA and a new key that is not registered are refused, and a
# refusal appends nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
CT=(-H 'Content-Type: application/pkcs10')

kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"

declare -A KID

# register NAME [KEY REGISTER ARGS...]: a P-256 device key on the ledger.
register() {
	local name=$1 r
	shift
	new_key "$name" p256
	r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$name.pub" --name "$name" \
	    --profile device --json "$@")
	KID[$name]=$(jq -er .key_id <<<"$r")
}

# reenroll_ok CERTNAME KEYNAME CSRKEY OUTPEM [PATH]: simplereenroll (at PATH,
# default unlabelled) authenticated by OUT/CERTNAME.pem and
# OUT/keys/KEYNAME.key, CSR for OUT/keys/CSRKEY.key.
reenroll_ok() {
	local before after csr
	csr=$(est_csr "$3" "reenroll-$4")
	before=$(kb_tree_size)
	est_enroll "${5:-$EST/simplereenroll}" "$csr" "$OUT/$4.pem" \
	    --cert "$OUT/$1.pem" --key "$OUT/keys/$2.key"
	after=$(kb_tree_size)
	[ "$after" -gt "$before" ] ||
		fail "tree_size right after the re-enrollment into $4: $before -> $after (cert-issued must be committed before the answer)"
}

# reenroll_refused STATUS CERTNAME KEYNAME CSRKEY
reenroll_refused() {
	local csr
	csr=$(est_csr "$4" "refused-$2-$4")
	est_refused "$1" POST "$EST/simplereenroll" "${CT[@]}" --data-binary "@$csr" \
	    --cert "$OUT/$2.pem" --key "$OUT/keys/$3.key"
}

# issued_entry PEM KEYID: the index of the one cert-issued entry of PEM.
issued_entry() {
	local idx
	kb_entries_from 0 "$OUT/entries.json"
	idx=$(kb_entries_with "$OUT/entries.json" cert-issued "serial $(cert_serial_hex "$1")" \
	    "key-id $2" "cert-sha256 $(cert_sha256 "$1")" "profile device")
	assert_eq 1 "$(grep -c . <<<"$idx" || true)" "cert-issued entries for $1"
	printf '%s\n' "$idx"
}

# superseded_entry PEM: waits (5 s at most) for the one cert-revoked entry
# with PEM's serial and reason superseded; prints its index.
superseded_entry() {
	local s idx deadline=$((SECONDS + 5))
	s=$(cert_serial_hex "$1")
	while :; do
		kb_entries_from 0 "$OUT/entries.json"
		idx=$(kb_entries_with "$OUT/entries.json" cert-revoked "serial $s" "reason superseded")
		[ -z "$idx" ] || break
		[ "$SECONDS" -lt "$deadline" ] ||
			fail "no cert-revoked entry 'serial $s' 'reason superseded' within 5 s; cert-revoked entries: $(jq -c '[.[] | select(.type == "cert-revoked") | .entry]' "$OUT/entries.json")"
		sleep 0.2
	done
	assert_eq 1 "$(grep -c . <<<"$idx")" "cert-revoked entries for serial $s"
	assert_eq bridge "$(jq -r --argjson i "$idx" '.[] | select(.index == $i) | .account' "$OUT/entries.json")" \
	    "account of the superseding entry for $s"
	printf '%s\n' "$idx"
}

# not_superseded PEM: there is no cert-revoked entry for PEM's serial.
not_superseded() {
	kb_entries_from 0 "$OUT/entries.json"
	assert_eq "" "$(kb_entries_with "$OUT/entries.json" cert-revoked "serial $(cert_serial_hex "$1")")" \
	    "cert-revoked entries for $1"
}

# ---- first enrollment --------------------------------------------------------------
register dev-a
csr=$(est_csr dev-a dev-a)
est_enroll "$EST/simpleenroll" "$csr" "$OUT/a1.pem"
issued_entry "$OUT/a1.pem" "${KID[dev-a]}" >/dev/null
not_superseded "$OUT/a1.pem"

# Without a client certificate: 401 (also for a perfectly good CSR).
csr=$(est_csr dev-a noclient)
est_refused 401 POST "$EST/simplereenroll" "${CT[@]}" --data-binary "@$csr"
est_refused 401 POST "$EST/device/simplereenroll" "${CT[@]}" --data-binary "@$csr"

# A client certificate from another CA (self-signed, same key): refused.
openssl req -new -x509 -key "$OUT/keys/dev-a.key" -subj /CN=dev-a -days 1 \
    -addext extendedKeyUsage=clientAuth -out "$OUT/selfsigned.pem"
before=$(kb_tree_size)
code=$(est_call POST "$EST/simplereenroll" "${CT[@]}" --data-binary "@$csr" \
    --cert "$OUT/selfsigned.pem" --key "$OUT/keys/dev-a.key")
case "$code" in
401|403) log "HTTP $code as expected: re-enrollment with a self-signed client certificate: $(head -n 1 "$API_BODY")" ;;
*) fail "re-enrollment with a self-signed client certificate: expected HTTP 401 or 403, got $code: $(head -c 500 "$API_BODY")" ;;
esac
assert_eq "$before" "$(kb_tree_size)" "tree_size after the self-signed re-enrollment"
not_superseded "$OUT/a1.pem"

# ---- re-enroll, same key ------------------------------------------------------------------
reenroll_ok a1 dev-a dev-a a2
assert_ne "$(cert_serial_hex "$OUT/a1.pem")" "$(cert_serial_hex "$OUT/a2.pem")" "serial of the re-enrolled certificate"
assert_eq "${KID[dev-a]}" "$(cert_key_id "$OUT/a2.pem")" "key of the re-enrolled certificate"
assert_match "$(openssl x509 -in "$OUT/a2.pem" -noout -subject -nameopt RFC2253)" '^subject=(.*,)?CN=dev-a(,.*)?$' "subject of a2"
out=$(openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" "$OUT/a2.pem" 2>&1) || fail "verify a2: $out"
i_a2=$(issued_entry "$OUT/a2.pem" "${KID[dev-a]}")
r_a1=$(superseded_entry "$OUT/a1.pem")
log "a2 issued at entry $i_a2, a1 superseded at entry $r_a1"
not_superseded "$OUT/a2.pem"

# The superseded certificate can no longer re-enroll.
reenroll_refused 403 a1 dev-a dev-a
not_superseded "$OUT/a2.pem"

# ---- re-enroll onto a new, registered key -----------------------------------------------------
register dev-b
reenroll_ok a2 dev-a dev-b b1
assert_eq "${KID[dev-b]}" "$(cert_key_id "$OUT/b1.pem")" "key of the certificate re-enrolled onto dev-b"
assert_match "$(openssl x509 -in "$OUT/b1.pem" -noout -subject -nameopt RFC2253)" '^subject=(.*,)?CN=dev-b(,.*)?$' "subject of b1 (dev-b's registration)"
out=$(openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" "$OUT/b1.pem" 2>&1) || fail "verify b1: $out"
issued_entry "$OUT/b1.pem" "${KID[dev-b]}" >/dev/null
superseded_entry "$OUT/a2.pem" >/dev/null
reenroll_refused 403 a2 dev-a dev-a
reenroll_refused 403 a1 dev-a dev-a

# ---- a new key that is not registered ---------------------------------------------------------------
new_key dev-c p256
reenroll_refused 403 b1 dev-b dev-c
not_superseded "$OUT/b1.pem"
# control: b1 itself still re-enrolls with its own key (under the device label)
reenroll_ok b1 dev-b dev-b b2 "$EST/device/simplereenroll"
superseded_entry "$OUT/b1.pem" >/dev/null
issued_entry "$OUT/b2.pem" "${KID[dev-b]}" >/dev/null

# ---- a certificate whose key was revoked -----------------------------------------------------------
register dev-d
csr=$(est_csr dev-d dev-d)
est_enroll "$EST/device/simpleenroll" "$csr" "$OUT/d1.pem"
kb_ok key revoke -d "$DIR" --key-id "${KID[dev-d]}" --reason keyCompromise >/dev/null
reenroll_refused 403 d1 dev-d dev-d

kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the re-enrollments"
log "EST re-enrollment OK"
