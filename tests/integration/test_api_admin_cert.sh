#!/usr/bin/env bash
# Access to the API with a client certificate instead of the bearer token:
# with api_auth = token, a TLS client certificate of the admin profile
# (a key registered on the ledger with --profile admin, enrolled over EST
# at /.well-known/est/admin/simpleenroll) opens the reads, as the token
# does.  A device certificate does not (403: it reads a device's routes
# only, test_device_access.sh), nor an admin certificate that is
# revoked (by itself being superseded, or through its key), nor a
# certificate for the same key that the ledger never recorded (signed by
# another CA).  The admin certificate is 30 days, clientAuth.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
TOKEN=$(openssl rand -hex 24)
kb_conf_set "$DIR" api_auth token
kb_conf_set "$DIR" api_token "$TOKEN"
kb_start "$DIR"

# enroll_as NAME PROFILE: a P-256 key registered with PROFILE and enrolled
# over EST at that profile's label; the certificate in OUT/NAME.pem.
enroll_as() {
	local r label=""
	new_key "$1" p256
	r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$1.pub" --name "$1" --profile "$2" --json)
	KB_KEY_ID=$(jq -er .key_id <<<"$r") || fail "key register --json printed no key_id: $r"
	[ "$2" = device ] || label="$2/"
	est_enroll "/.well-known/est/${label}simpleenroll" "$(est_csr "$1" "$1")" "$OUT/$1.pem"
}

# read_as NAME: HTTP status of GET /api/v1/status with NAME's certificate.
read_as() {
	api_call GET /api/v1/status --cert "$OUT/$1.pem" --key "$OUT/keys/$1.key"
}

enroll_as ops admin
ADMIN_KEY=$KB_KEY_ID
ext=$(openssl x509 -in "$OUT/ops.pem" -noout -ext extendedKeyUsage)
assert_contains "$ext" "TLS Web Client Authentication" "EKU of the admin certificate"
assert_not_contains "$ext" "Server Authentication" "EKU of the admin certificate"
days=$(( ($(date -d "$(openssl x509 -in "$OUT/ops.pem" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
[ "$days" -ge 29 ] && [ "$days" -le 30 ] || fail "admin certificate valid for $days days, want 30"
enroll_as cam1 device

api_expect_error 401 unauthorized GET /api/v1/status
assert_eq 200 "$(read_as ops)" "GET /api/v1/status with the admin certificate"
assert_eq 2 "$(jq -r '.keys.active' "$API_BODY")" "active keys (ops, cam1) read with the admin certificate"
code=$(api_call GET "/api/v1/keys/$ADMIN_KEY" --cert "$OUT/ops.pem" --key "$OUT/keys/ops.key")
assert_eq 200 "$code" "GET /api/v1/keys/ID with the admin certificate"
assert_eq admin "$(jq -r .profile "$API_BODY")" "profile of the admin key"
# a device's certificate is known, and reads a device's routes only
# (test_device_access): the status is 403
api_expect_error 403 forbidden GET /api/v1/status --cert "$OUT/cam1.pem" --key "$OUT/keys/cam1.key"

# the same admin key in a certificate the ledger never recorded: a
# self-signed one (the listener asks for a client certificate without
# requiring one, so the handshake completes; the API then sees no verified
# certificate)
openssl req -new -x509 -key "$OUT/keys/ops.key" -subj /CN=ops -days 1 \
    -addext extendedKeyUsage=clientAuth -out "$OUT/ops-self.pem" 2>/dev/null
api_expect_error 401 unauthorized GET /api/v1/status --cert "$OUT/ops-self.pem" --key "$OUT/keys/ops.key"

# the bridge's issuing CA signed it, but another serial: the ledger never saw it
kb_cakey_args "$DIR" ca_issuing_key
openssl x509 -req -in "$OUT/csr/ops.der" -inform DER -CA "$DIR/ca/issuing.pem" \
    "${KB_CAKEY[@]}" -set_serial 0x7e57 -days 1 \
    -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$OUT/ops-forged.pem" 2>/dev/null ||
	fail "could not sign the unrecorded certificate"
api_expect_error 401 unauthorized GET /api/v1/status --cert "$OUT/ops-forged.pem" --key "$OUT/keys/ops.key"

# signed by the issuing CA with the serial of the operator's recorded
# certificate, but not the TBS the ledger committed (its own subject and
# validity): compared with the ledger by its TBS, it is not that one
openssl x509 -req -in "$OUT/csr/ops.der" -inform DER -CA "$DIR/ca/issuing.pem" \
    -CAkey "$(kb_conf_path "$DIR" ca_issuing_key)" -set_serial "0x$(cert_serial_hex "$OUT/ops.pem")" -days 2 \
    -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$OUT/ops-twin.pem" 2>/dev/null ||
	fail "could not sign the twin certificate"
assert_eq "$(cert_serial_hex "$OUT/ops.pem")" "$(cert_serial_hex "$OUT/ops-twin.pem")" "serial of the twin"
api_expect_error 401 unauthorized GET /api/v1/status --cert "$OUT/ops-twin.pem" --key "$OUT/keys/ops.key"

# superseded: the operator renews (simplereenroll at the admin label with
# the current certificate); the new certificate opens the API, the first,
# revoked as superseded by the renewal's entry, no longer does
est_enroll /.well-known/est/admin/simplereenroll "$(est_csr ops ops-renew)" "$OUT/ops2.pem" \
    --cert "$OUT/ops.pem" --key "$OUT/keys/ops.key"
assert_ne "$(cert_serial_hex "$OUT/ops.pem")" "$(cert_serial_hex "$OUT/ops2.pem")" "serial of the renewed admin certificate"
assert_eq superseded "$(api GET "/api/v1/certs/$(cert_serial_hex "$OUT/ops.pem")" -H "Authorization: Bearer $TOKEN" | jq -r .reason)" \
    "reason of the first admin certificate"
api_expect_error 401 unauthorized GET /api/v1/status --cert "$OUT/ops.pem" --key "$OUT/keys/ops.key"
# a renewal keeps the key; read_as finds it as OUT/keys/ops2.key
cp "$OUT/keys/ops.key" "$OUT/keys/ops2.key"
assert_eq 200 "$(read_as ops2)" "GET /api/v1/status with the renewed admin certificate"

# revoked through its key: closed at once
kb_ok key revoke -d "$DIR" --key-id "$ADMIN_KEY" --reason keyCompromise >/dev/null
api_expect_error 401 unauthorized GET /api/v1/status --cert "$OUT/ops.pem" --key "$OUT/keys/ops.key"
api_expect_error 401 unauthorized GET /api/v1/status --cert "$OUT/ops2.pem" --key "$OUT/keys/ops.key"
# the token still works
assert_eq 200 "$(api_call GET /api/v1/status -H "Authorization: Bearer $TOKEN")" "the token after the revocation"
kb_stop
