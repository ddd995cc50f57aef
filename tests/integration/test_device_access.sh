#!/usr/bin/env bash
# Device access to the API (issue 15, "Which devices may fetch what"), with
# api_auth = token: a device key registered with `key register
# --config-group cams --config-group lobby` and enrolled over EST reads,
# over mutual TLS with its own certificate (curl --cert/--key), every
# configuration route of its groups (200) and the proof bundles of any
# group (200); another group's configuration routes are 403 forbidden with
# a JSON error naming why, and so is every other API route.  A device key
# registered without groups reads no configuration; a renewed certificate
# reads, the superseded one and one the ledger never recorded do not
# (401); after `key revoke` its certificate is 401; no certificate and no
# token is 401; the token still reads everything.  `key show` and the key
# JSON show the groups; the ledger refuses a group for a server key, a
# group twice, 17 groups and a malformed group name.  A key the bridge
# generates (EST serverkeygen) under `key preauth --config-group` carries
# the slot's groups, and its certificate reads them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
TOKEN=$(openssl rand -hex 24)
kb_conf_set "$DIR" api_auth token
kb_conf_set "$DIR" api_token "$TOKEN"
kb_start "$DIR"
AUTH=(-H "Authorization: Bearer $TOKEN")
sha() { sha256sum "$1" | cut -c1-64; }

printf 'cams=1\n' >"$OUT/cams.conf"
printf 'doors=1\n' >"$OUT/doors.conf"
kb_ok config publish -d "$DIR" --group cams --file "$OUT/cams.conf" --version 1 >/dev/null
kb_ok config publish -d "$DIR" --group doors --file "$OUT/doors.conf" --version 1 >/dev/null
kb_ok config publish -d "$DIR" --group cams2 --file "$OUT/doors.conf" --version 1 >/dev/null

# register NAME [KEY REGISTER ARGS...]: a P-256 device key, enrolled; its
# key id in KID[NAME], its certificate in OUT/NAME.pem.
declare -A KID
register() {
	local name=$1 r
	shift
	new_key "$name" p256
	r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$name.pub" --name "$name" --json "$@")
	KID[$name]=$(jq -er .key_id <<<"$r") || fail "key register --json printed no key_id: $r"
	est_enroll /.well-known/est/simpleenroll "$(est_csr "$name" "$name")" "$OUT/$name.pem"
}
# as NAME METHOD PATH: the HTTP status of PATH with NAME's certificate.
as() {
	api_call "$2" "$3" --cert "$OUT/$1.pem" --key "$OUT/keys/$1.key"
}

register cam1 --config-group cams --config-group lobby
register cam2

# ---- the groups on the ledger ----------------------------------------------
assert_eq '["cams","lobby"]' "$(kb_ok key show -d "$DIR" --key-id "${KID[cam1]}" --json | jq -c .config_groups)" "key show --json config_groups"
show=$(kb_ok key show -d "$DIR" --key-id "${KID[cam1]}")
assert_contains "$show" "config-group cams" "key show"
assert_contains "$show" "config-group lobby" "key show"
assert_eq '["cams","lobby"]' "$(api GET "/api/v1/keys/${KID[cam1]}" "${AUTH[@]}" | jq -c .config_groups)" "config_groups of GET /api/v1/keys/ID"
assert_eq '[]' "$(api GET "/api/v1/keys/${KID[cam2]}" "${AUTH[@]}" | jq -c .config_groups)" "config_groups of a key without groups"
entry=$(api GET "/api/v1/ledger/entries?limit=100" "${AUTH[@]}" | jq -r --arg k "${KID[cam1]}" '.entries[] | select(.type == "key-register" and (.entry | contains("key-id " + $k))) | .entry')
assert_contains "$entry" $'config-group cams\nconfig-group lobby' "the key-register entry's lines"

# refused by the ledger's rules (the CLI sends, the ledger decides)
new_key srv p256
kb_fail malformed_entry key register -d "$DIR" --pubkey "$OUT/keys/srv.pub" --name srv --profile server --config-group cams
assert_contains "$(cat "$KB_STDERR")" "config-group is for device keys" "the refusal of a group for a server key"
kb_fail malformed_entry key register -d "$DIR" --pubkey "$OUT/keys/srv.pub" --name srv --config-group cams --config-group cams
assert_contains "$(cat "$KB_STDERR")" "config-group cams is named twice" "the refusal of a group twice"
kb_fail malformed_entry key register -d "$DIR" --pubkey "$OUT/keys/srv.pub" --name srv --config-group 'cams/x'
many=()
for i in $(seq 1 17); do many+=(--config-group "g$i"); done
kb_fail usage key register -d "$DIR" --pubkey "$OUT/keys/srv.pub" --name srv "${many[@]}"

# ---- its own groups: every configuration route ------------------------------
S=$(sha "$OUT/cams.conf")
for p in /api/v1/configs/cams /api/v1/configs/cams/versions /api/v1/configs/cams/versions/1 \
    /api/v1/configs/cams/versions/1/content "/api/v1/configs/cams/check?sha256=$S"; do
	assert_eq 200 "$(as cam1 GET "$p")" "GET $p with cam1's certificate (body: $(head -c 300 "$API_BODY"))"
done
as cam1 GET /api/v1/configs/cams/versions/1/content >/dev/null
cmp -s "$API_BODY" "$OUT/cams.conf" || fail "the content read with the device certificate is not the file"
# a group of its list with nothing published: the route's own 404
api_expect_error 404 config_not_found GET /api/v1/configs/lobby/versions --cert "$OUT/cam1.pem" --key "$OUT/keys/cam1.key"
# proof bundles of any group, and of keys
assert_eq 200 "$(as cam1 GET "/api/v1/proofs/config/cams?sha256=$S")" "its group's proof bundle"
assert_eq "c2sp.org/tlog-proof@v1" "$(head -n 1 "$API_BODY")" "the bundle read with the device certificate"
assert_eq 200 "$(as cam1 GET "/api/v1/proofs/config/doors?sha256=$(sha "$OUT/doors.conf")")" "another group's proof bundle"
assert_eq 200 "$(as cam1 GET "/api/v1/proofs/key/${KID[cam1]}")" "its key's proof bundle"

# ---- another group: 403 with a JSON error -----------------------------------
cert1=(--cert "$OUT/cam1.pem" --key "$OUT/keys/cam1.key")
for p in /api/v1/configs/doors /api/v1/configs/doors/versions /api/v1/configs/doors/versions/1 \
    /api/v1/configs/doors/versions/1/content "/api/v1/configs/doors/check?sha256=$(sha "$OUT/doors.conf")" \
    /api/v1/configs/cams2/versions/1/content /api/v1/configs/cam/versions /api/v1/configs/ \
    /api/v1/configs/cams%2F../doors/versions/1/content; do
	api_expect_error 403 forbidden GET "$p" "${cert1[@]}"
done
assert_contains "$(jq -r .error.message "$API_BODY")" "may not read configuration group" "the 403's message"
# every other route of the API
for p in /api/v1/status /api/v1/configs /api/v1/keys "/api/v1/keys/${KID[cam1]}" /api/v1/certs \
    /api/v1/accounts /api/v1/ledger/checkpoint /api/v1/ledger/entries /api/v1/events; do
	api_expect_error 403 forbidden GET "$p" "${cert1[@]}"
done
assert_contains "$(jq -r .error.message "$API_BODY")" "a device certificate reads only" "the 403's message"
# a device key whose registration names no group reads no configuration
api_expect_error 403 forbidden GET /api/v1/configs/cams/versions/1/content --cert "$OUT/cam2.pem" --key "$OUT/keys/cam2.key"
assert_contains "$(jq -r .error.message "$API_BODY")" "names no config-group" "the 403's message without groups"
assert_eq 200 "$(as cam2 GET "/api/v1/proofs/config/cams?sha256=$S")" "a proof bundle without groups"

# ---- a key the bridge generated (serverkeygen) under a pre-authorisation
# naming the group: the registration carries it, the certificate reads it
r=$(kb_ok key preauth -d "$DIR" --name kg-cam --config-group cams --json)
read -r PA SECRET <<<"$(jq -ser '.[1] | "\(.preauth_id) \(.secret)"' <<<"$r")"
code=$(est_call POST /.well-known/est/serverkeygen -H 'Content-Type: application/pkcs10' \
    --data-binary "@$(est_csr cam2 kg-csr)" -u "$PA:$SECRET")
assert_eq 200 "$code" "serverkeygen under a pre-authorisation with a group (body: $(head -c 300 "$API_BODY"))"
mkdir -p "$OUT/mp"
python3 - "$API_BODY" "$EST_HEADERS" "$OUT/mp" <<'PY'
import email, email.policy, sys
body, headers, out = sys.argv[1:4]
ctype = [l.partition(":")[2].strip() for l in open(headers, encoding="latin-1")
         if l.partition(":")[0].strip().lower() == "content-type"][-1]
raw = b"Content-Type: " + ctype.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + open(body, "rb").read()
for n, part in enumerate(email.message_from_bytes(raw, policy=email.policy.default).iter_parts(), 1):
    open("%s/part-%d.der" % (out, n), "wb").write(part.get_payload(decode=True))
PY
mkdir -p "$OUT/keys"
openssl pkey -inform DER -in "$OUT/mp/part-1.der" -out "$OUT/keys/kg.key" || fail "serverkeygen: no PKCS#8 key"
openssl pkcs7 -inform DER -in "$OUT/mp/part-2.der" -print_certs -out "$OUT/kg.pem" || fail "serverkeygen: no PKCS#7"
KG=$(cert_key_id "$OUT/kg.pem")
assert_eq '["cams"]' "$(api GET "/api/v1/keys/$KG" "${AUTH[@]}" | jq -c .config_groups)" "config_groups of the generated key"
assert_eq 200 "$(as kg GET /api/v1/configs/cams/versions/1/content)" "its group's content with the generated key's certificate"
api_expect_error 403 forbidden GET /api/v1/configs/doors/versions/1/content --cert "$OUT/kg.pem" --key "$OUT/keys/kg.key"
kb_fail malformed_entry key preauth -d "$DIR" --name kg-srv --profile server --config-group cams

# ---- who is not a device ----------------------------------------------------
api_expect_error 401 unauthorized GET /api/v1/configs/cams/versions/1/content
api_expect_error 401 unauthorized GET "/api/v1/proofs/config/cams?sha256=$S"
# cam1's key in a certificate of the issuing CA the ledger never recorded
kb_cakey_args "$DIR" ca_issuing_key
openssl x509 -req -in "$OUT/csr/cam1.der" -inform DER -CA "$DIR/ca/issuing.pem" \
    "${KB_CAKEY[@]}" -set_serial 0x7e57 -days 1 \
    -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$OUT/cam1-forged.pem" 2>/dev/null ||
	fail "could not sign the unrecorded certificate"
api_expect_error 401 unauthorized GET /api/v1/configs/cams/versions/1/content --cert "$OUT/cam1-forged.pem" --key "$OUT/keys/cam1.key"
# a certificate of the server profile is not a device's: not even the
# proof bundles (its key may carry no group)
new_key web p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/web.pub" --name web.example --profile server --dns web.example >/dev/null
est_enroll /.well-known/est/server/simpleenroll "$(est_csr web web -subj /CN=web.example)" "$OUT/web.pem"
api_expect_error 401 unauthorized GET "/api/v1/proofs/config/cams?sha256=$S" --cert "$OUT/web.pem" --key "$OUT/keys/web.key"
# the token reads everything, a device's group or not
assert_eq 200 "$(api_call GET /api/v1/configs/doors/versions/1/content "${AUTH[@]}")" "another group's content with the token"
assert_eq 200 "$(api_call GET /api/v1/status "${AUTH[@]}")" "status with the token"

# ---- renewal keeps the groups (they are the key's); the old certificate
# is superseded
est_enroll /.well-known/est/simplereenroll "$(est_csr cam1 cam1-renew)" "$OUT/cam1b.pem" "${cert1[@]}"
cp "$OUT/keys/cam1.key" "$OUT/keys/cam1b.key"
assert_eq 200 "$(as cam1b GET /api/v1/configs/cams/versions/1/content)" "content with the renewed certificate"
api_expect_error 401 unauthorized GET /api/v1/configs/cams/versions/1/content "${cert1[@]}"

# ---- a revoked key: its certificate no longer reads --------------------------
kb_ok key revoke -d "$DIR" --key-id "${KID[cam1]}" --reason keyCompromise >/dev/null
api_expect_error 401 unauthorized GET /api/v1/configs/cams/versions/1/content --cert "$OUT/cam1b.pem" --key "$OUT/keys/cam1.key"
api_expect_error 401 unauthorized GET "/api/v1/proofs/config/cams?sha256=$S" --cert "$OUT/cam1b.pem" --key "$OUT/keys/cam1.key"
assert_eq 200 "$(api_call GET /api/v1/configs/cams/versions/1/content "${AUTH[@]}")" "the token after the revocation"

kb_ok ledger verify -d "$DIR" >/dev/null
kb_stop
