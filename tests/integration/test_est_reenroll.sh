#!/usr/bin/env bash
# kb-test: alone (asserts a time bound or a resource figure: run with no other test beside it)
# EST re-enrollment (RFC 7030 4.2.2) over TLS client authentication with the
# current certificate.  A renewal (the CSR for the client certificate's own
# key) gets a new certificate (new serial) whose cert-issued entry names the
# old one in `supersedes`, and the ledger revokes the old one (superseded)
# in that same entry: OCSP says so within 1 s, and there is no cert-revoked
# entry.  A rekey (a CSR for another registered key) is allowed only when
# that key is registered as the same device (owning account, name, profile,
# DNS and IP names): a CSR for an unrelated registered key, or for one with
# other names, is refused 403 `not_same_device` and the client certificate
# stays good.  Racing renewals with one certificate: one 200, the others
# 409 (refused by the ledger) or 403 (b2 already superseded).  A superseded certificate, a certificate whose key was revoked, no
# client certificate, a certificate from another CA and a new key that is
# not registered are refused, and a refusal appends nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
CT=(-H 'Content-Type: application/pkcs10')

kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"
OCSP_URL="http://127.0.0.1:$KB_HTTP_PORT/ocsp"

declare -A KID

# register KEYNAME DEVICENAME [KEY REGISTER ARGS...]: a P-256 device key
# OUT/keys/KEYNAME.key registered with the name DEVICENAME (a rekey
# registers the new key under the device's name while the old one is
# still active: --allow-same-name).
register() {
	local key=$1 name=$2 r
	shift 2
	new_key "$key" p256
	r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$key.pub" --name "$name" \
	    --profile device --json --allow-same-name "$@")
	KID[$key]=$(jq -er .key_id <<<"$r")
}

# reenroll_ok CERTNAME KEYNAME CSRKEY OUTPEM [PATH]: simplereenroll (at PATH,
# default unlabelled) authenticated by OUT/CERTNAME.pem and
# OUT/keys/KEYNAME.key, CSR for OUT/keys/CSRKEY.key.  Exactly one entry is
# appended (the cert-issued that supersedes CERTNAME), before the answer.
reenroll_ok() {
	local before after csr
	csr=$(est_csr "$3" "reenroll-$4")
	before=$(kb_tree_size)
	est_enroll "${5:-$EST/simplereenroll}" "$csr" "$OUT/$4.pem" \
	    --cert "$OUT/$1.pem" --key "$OUT/keys/$2.key"
	after=$(kb_tree_size)
	assert_eq $((before + 1)) "$after" "tree_size right after the re-enrollment into $4 (one cert-issued entry, committed before the answer)"
}

# reenroll_refused STATUS CODE CERTNAME KEYNAME CSRKEY: refused with STATUS,
# the one-line answer starting with "CODE: " (CODE "-": any line).
reenroll_refused() {
	local csr
	csr=$(est_csr "$5" "refused-$3-$5")
	est_refused "$1" POST "$EST/simplereenroll" "${CT[@]}" --data-binary "@$csr" \
	    --cert "$OUT/$3.pem" --key "$OUT/keys/$4.key"
	[ "$2" = - ] || assert_match "$(head -n 1 "$API_BODY")" "^$2: " "refusal code of the re-enrollment of $3 with $5's key"
}

# issued_entry PEM KEYID [LINE...]: the index of the one cert-issued entry
# of PEM, which also has every LINE.
issued_entry() {
	local pem=$1 kid=$2 idx
	shift 2
	kb_entries_from 0 "$OUT/entries.json"
	idx=$(kb_entries_with "$OUT/entries.json" cert-issued "serial $(cert_serial_hex "$pem")" \
	    "key-id $kid" "tbs $(cert_tbs_b64 "$pem")" "profile device" "$@")
	assert_eq 1 "$(grep -c . <<<"$idx" || true)" "cert-issued entries for $pem with $*"
	printf '%s\n' "$idx"
}

# ocsp_status PEM: "good" or "revoked (REASON)" from the bridge's OCSP.
ocsp_status() {
	local out
	out=$(timeout 20 openssl ocsp -issuer "$ISSUING" -cert "$1" -url "$OCSP_URL" \
	    -CAfile "$ROOT" -no_nonce -timeout 10 2>&1) || fail "openssl ocsp $1: $out"
	assert_contains "$out" "Response verify OK" "OCSP answer for $1"
	case "$out" in
	*"$1: good"*) echo good ;;
	*"$1: revoked"*) echo "revoked ($(sed -n 's/^[[:space:]]*Reason: //p' <<<"$out"))" ;;
	*) fail "OCSP status of $1: $out" ;;
	esac
}

# superseded_by OLD NEW: NEW's cert-issued entry names OLD in supersedes,
# OLD has no cert-revoked entry, and OCSP answers OLD revoked (superseded)
# within 1 s of the re-enrollment's answer while NEW is good.
superseded_by() {
	local t0=$(($(date +%s%N) / 1000000)) ms st
	while :; do
		st=$(ocsp_status "$OUT/$1.pem")
		ms=$(($(date +%s%N) / 1000000 - t0))
		[ "$st" = "revoked (superseded)" ] && break
		[ "$ms" -lt 1000 ] || fail "$1 is '$st' over OCSP $ms ms after $2 superseded it"
		sleep 0.05
	done
	log "$1 revoked (superseded) over OCSP within $ms ms"
	assert_eq good "$(ocsp_status "$OUT/$2.pem")" "OCSP status of $2"
	issued_entry "$OUT/$2.pem" "$(cert_key_id "$OUT/$2.pem")" "supersedes $(cert_serial_hex "$OUT/$1.pem")" >/dev/null
	not_revoked_by_entry "$1"
}

# not_revoked_by_entry NAME: there is no cert-revoked entry for OUT/NAME.pem.
not_revoked_by_entry() {
	kb_entries_from 0 "$OUT/entries.json"
	assert_eq "" "$(kb_entries_with "$OUT/entries.json" cert-revoked "serial $(cert_serial_hex "$OUT/$1.pem")")" \
	    "cert-revoked entries for $1"
}

# still_good NAME: OUT/NAME.pem is good over OCSP and superseded by nothing.
still_good() {
	assert_eq good "$(ocsp_status "$OUT/$1.pem")" "OCSP status of $1"
	kb_entries_from 0 "$OUT/entries.json"
	assert_eq "" "$(kb_entries_with "$OUT/entries.json" cert-issued "supersedes $(cert_serial_hex "$OUT/$1.pem")")" \
	    "entries superseding $1"
	not_revoked_by_entry "$1"
}

# ---- first enrollment --------------------------------------------------------------
register dev-a dev-a
csr=$(est_csr dev-a dev-a)
est_enroll "$EST/simpleenroll" "$csr" "$OUT/a1.pem"
issued_entry "$OUT/a1.pem" "${KID[dev-a]}" >/dev/null
still_good a1

# Without a client certificate: 401 (also for a perfectly good CSR).
csr=$(est_csr dev-a noclient)
est_refused 401 POST "$EST/simplereenroll" "${CT[@]}" --data-binary "@$csr"
est_refused 401 POST "$EST/device/simplereenroll" "${CT[@]}" --data-binary "@$csr"

# A client certificate from another CA (self-signed, same key): the TLS
# layer does not take it, so there is no client certificate: 401.
openssl req -new -x509 -key "$OUT/keys/dev-a.key" -subj /CN=dev-a -days 1 \
    -addext extendedKeyUsage=clientAuth -out "$OUT/selfsigned.pem"
est_refused 401 POST "$EST/simplereenroll" "${CT[@]}" --data-binary "@$csr" \
    --cert "$OUT/selfsigned.pem" --key "$OUT/keys/dev-a.key"
still_good a1

# Signed by the issuing CA with a1's serial and key, but not the TBS the
# ledger committed (its own subject and validity): the client certificate
# is compared with the ledger by its TBS, so it is not a1: 403.
openssl req -new -key "$OUT/keys/dev-a.key" -subj /CN=dev-a 2>/dev/null |
    openssl x509 -req -CA "$ISSUING" -CAkey "$(kb_conf_path "$DIR" ca_issuing_key)" \
	-set_serial "0x$(cert_serial_hex "$OUT/a1.pem")" -days 2 \
	-extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$OUT/a1-twin.pem" 2>/dev/null ||
	fail "could not sign the twin of a1"
assert_eq "$(cert_serial_hex "$OUT/a1.pem")" "$(cert_serial_hex "$OUT/a1-twin.pem")" "serial of a1's twin"
est_refused 403 POST "$EST/simplereenroll" "${CT[@]}" --data-binary "@$csr" \
    --cert "$OUT/a1-twin.pem" --key "$OUT/keys/dev-a.key"
assert_contains "$(cat "$API_BODY")" "is not one the ledger recorded" "refusal of a1's twin"
still_good a1

# ---- renewal: the same key ------------------------------------------------------------------
reenroll_ok a1 dev-a dev-a a2
assert_ne "$(cert_serial_hex "$OUT/a1.pem")" "$(cert_serial_hex "$OUT/a2.pem")" "serial of the re-enrolled certificate"
assert_eq "${KID[dev-a]}" "$(cert_key_id "$OUT/a2.pem")" "key of the re-enrolled certificate"
assert_match "$(openssl x509 -in "$OUT/a2.pem" -noout -subject -nameopt RFC2253)" '^subject=(.*,)?CN=dev-a(,.*)?$' "subject of a2"
out=$(openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" "$OUT/a2.pem" 2>&1) || fail "verify a2: $out"
superseded_by a1 a2

# The superseded certificate can no longer re-enroll.
reenroll_refused 403 - a1 dev-a dev-a
assert_contains "$(cat "$API_BODY")" "revoked on the ledger (superseded)" "reason for the superseded a1"
still_good a2

# ---- a rekey onto another registered key --------------------------------------------------------
# Not the same device (the issue's reproduction): a registered key with
# another registration.  Refused, and a2 stays good.
register dev-b dev-b
reenroll_refused 403 not_same_device a2 dev-a dev-b
assert_contains "$(cat "$API_BODY")" "another name" "reason for the rekey onto dev-b"
still_good a2
# The same name but other names (a DNS name more): refused too.
register dev-a-dns dev-a --dns dev-a.example
reenroll_refused 403 not_same_device a2 dev-a dev-a-dns
assert_contains "$(cat "$API_BODY")" "other DNS names" "reason for the rekey onto dev-a-dns"
still_good a2
# The same device: a new key registered with dev-a's registration.
register dev-a-new dev-a
reenroll_ok a2 dev-a dev-a-new b1
assert_eq "${KID[dev-a-new]}" "$(cert_key_id "$OUT/b1.pem")" "key of the certificate re-enrolled onto dev-a-new"
assert_match "$(openssl x509 -in "$OUT/b1.pem" -noout -subject -nameopt RFC2253)" '^subject=(.*,)?CN=dev-a(,.*)?$' "subject of b1 (the same device)"
out=$(openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" "$OUT/b1.pem" 2>&1) || fail "verify b1: $out"
superseded_by a2 b1
reenroll_refused 403 - a2 dev-a dev-a
reenroll_refused 403 - a1 dev-a dev-a

# ---- a new key that is not registered ---------------------------------------------------------------
new_key dev-c p256
reenroll_refused 403 - b1 dev-a-new dev-c
assert_contains "$(cat "$API_BODY")" "not registered" "reason for the unregistered dev-c"
still_good b1
# control: b1 itself still renews with its own key (under the device label)
reenroll_ok b1 dev-a-new dev-a-new b2 "$EST/device/simplereenroll"
superseded_by b1 b2

# ---- racing renewals with one certificate: one wins ------------------------------------------------
csr=$(est_csr dev-a-new race)
before=$(kb_tree_size)
mkdir -p "$OUT/race"
pids=()
for i in 1 2 3 4 5 6; do
	curl -sS -o "$OUT/race/$i.body" -w '%{http_code}' --max-time 30 --cacert "$ROOT" \
	    --cert "$OUT/b2.pem" --key "$OUT/keys/dev-a-new.key" "${CT[@]}" --data-binary "@$csr" \
	    "$KB_URL$EST/simplereenroll" >"$OUT/race/$i.code" 2>"$OUT/race/$i.err" &
	pids+=($!)
done
wait "${pids[@]}"	# not the bridge's pid
won=0
for i in 1 2 3 4 5 6; do
	case "$(cat "$OUT/race/$i.code")" in
	200) won=$((won + 1)); cp "$OUT/race/$i.body" "$OUT/b3.pem.b64" ;;
	# lost while the winner's entry was in flight: the ledger refused
	409) assert_match "$(head -n 1 "$OUT/race/$i.body")" '^(current_cert_exists|cert_revoked): ' "a lost renewal race's answer" ;;
	# came after the winner was committed: b2 is superseded by then
	403) assert_contains "$(cat "$OUT/race/$i.body")" "revoked on the ledger (superseded)" "a late renewal's answer" ;;
	*) fail "renewal race $i: HTTP $(cat "$OUT/race/$i.code"): $(head -c 300 "$OUT/race/$i.body") $(cat "$OUT/race/$i.err")" ;;
	esac
done
assert_eq 1 "$won" "renewals that won the race"
assert_eq $((before + 1)) "$(kb_tree_size)" "tree size after the renewal race"
assert_eq 1 "$(est_p7_certs "$OUT/b3.pem.b64" "$OUT/b3.pem")" "certificates in the race's answer"
superseded_by b2 b3

# ---- a certificate whose key was revoked -----------------------------------------------------------
register dev-d dev-d
csr=$(est_csr dev-d dev-d)
est_enroll "$EST/device/simpleenroll" "$csr" "$OUT/d1.pem"
kb_ok key revoke -d "$DIR" --key-id "${KID[dev-d]}" --reason keyCompromise >/dev/null
reenroll_refused 403 - d1 dev-d dev-d
assert_contains "$(cat "$API_BODY")" "key of the client certificate is revoked" "reason for d1"

kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the re-enrollments"
log "EST re-enrollment OK"
