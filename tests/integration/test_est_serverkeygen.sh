#!/usr/bin/env bash
# EST serverkeygen (RFC 7030 4.4) under an admin's pre-authorisation: the
# admin writes a key-preauth entry with `keybridge key preauth`; a device
# that cannot make keys posts a CSR with HTTP Basic "id:secret" and gets a
# multipart/mixed answer (parsed by Python's email package, an independent
# MIME parser) holding a PKCS#8 private key and a certs-only PKCS#7 whose
# certificate carries that key and verifies to the root.  The ledger then
# holds a key-register entry citing the pre-authorisation (the key belongs
# to the admin, who can revoke it) and the cert-issued entry.  Negative
# controls: no credentials, a wrong secret, an unknown id (the same 401 as
# a wrong secret), a spent pre-authorisation and a label whose profile the
# slot does not allow are each refused with their status and append
# nothing.  All or nothing: a serverkeygen whose certificate cannot be
# recorded (too large for a cert-issued entry) registers no key and leaves
# the slot usable.  `ledger verify` replays it all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
CT=(-H 'Content-Type: application/pkcs10')

kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"

# preauth NAME [ARGS...]: prints "ID SECRET" of a new pre-authorisation.
preauth() {
	local name=$1 r
	shift
	r=$(kb_ok key preauth -d "$DIR" --name "$name" --json "$@")
	# --json prints the receipt, then the slot
	jq -ser '.[1] | "\(.preauth_id) \(.secret)"' <<<"$r" ||
		fail "key preauth --json printed no preauth_id/secret: $r"
}

# split_multipart BODY HEADERS DIR: writes DIR/part-N.b64 and DIR/part-N.type
# for each part of a multipart/mixed body; prints the number of parts.
split_multipart() {
	python3 - "$1" "$2" "$3" <<'EOF'
import email, email.policy, sys
body, headers, out = sys.argv[1:4]
ctype = None
for line in open(headers, encoding="latin-1"):
    k, _, v = line.partition(":")
    if k.strip().lower() == "content-type":
        ctype = v.strip()
raw = b"Content-Type: " + ctype.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + open(body, "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
if not msg.is_multipart():
    sys.exit("not multipart: " + str(ctype))
n = 0
for part in msg.iter_parts():
    n += 1
    open(f"{out}/part-{n}.type", "w").write(part.get("Content-Type", "") + "\n")
    open(f"{out}/part-{n}.cte", "w").write(part.get("Content-Transfer-Encoding", "") + "\n")
    open(f"{out}/part-{n}.der", "wb").write(part.get_payload(decode=True))
print(n)
EOF
}

# wrong SECRET: the secret with its last digit changed (never equal to it)
wrong() {
	case "$1" in
	*0) printf '%s1\n' "${1%?}" ;;
	*) printf '%s0\n' "${1%?}" ;;
	esac
}

new_key probe p256
csr=$(est_csr probe kg-csr)

# ---- the happy path -----------------------------------------------------------------
read -r PID SECRET <<<"$(preauth kg-001 --profile device --dns kg-001.example)"
assert_match "$PID" '^[0-9a-f]{32}$' "pre-authorisation id"
assert_match "$SECRET" '^[0-9a-f]{48}$' "pre-authorisation secret"
log "pre-authorisation $PID"
# the secret never reaches the ledger, only its SHA-256
kb_entries_from 0 "$OUT/entries0.json"
if grep -q "$SECRET" "$OUT/entries0.json"; then
	fail "the pre-authorisation secret is on the ledger"
fi
sha=$(printf '%s' "$SECRET" | sha256sum | cut -d' ' -f1)
assert_eq 1 "$(kb_entries_with "$OUT/entries0.json" key-preauth "secret-sha256 $sha" "preauth-id $PID" | wc -l)" \
    "key-preauth entries with the secret's SHA-256"

T0=$(kb_tree_size)
code=$(est_call POST "$EST/serverkeygen" "${CT[@]}" --data-binary "@$csr" -u "$PID:$SECRET")
assert_eq 200 "$code" "serverkeygen status (body: $(head -c 300 "$API_BODY"))"
assert_match "$(est_header Content-Type)" '^multipart/mixed; *boundary=' "Content-Type of serverkeygen"
[ -n "$(est_header Content-Length)" ] || fail "serverkeygen answer has no Content-Length"
assert_eq "" "$(est_header Transfer-Encoding)" "Transfer-Encoding of serverkeygen (never chunked)"
assert_eq $((T0 + 2)) "$(kb_tree_size)" "tree size after serverkeygen (key-register + cert-issued)"

mkdir -p "$OUT/mp"
cp "$API_BODY" "$OUT/mp/body"
cp "$EST_HEADERS" "$OUT/mp/headers"
n=$(split_multipart "$OUT/mp/body" "$OUT/mp/headers" "$OUT/mp") || fail "multipart body does not parse: $(head -c 500 "$OUT/mp/body")"
assert_eq 2 "$n" "parts in the serverkeygen answer"
assert_eq application/pkcs8 "$(cat "$OUT/mp/part-1.type")" "first part's type"
assert_eq base64 "$(cat "$OUT/mp/part-1.cte")" "first part's transfer encoding"
assert_match "$(cat "$OUT/mp/part-2.type")" '^application/pkcs7-mime; *smime-type="?certs-only"?$' "second part's type"
openssl pkey -inform DER -in "$OUT/mp/part-1.der" -out "$OUT/kg-001.key" ||
	fail "the first part is not a PKCS#8 private key"
openssl pkcs8 -inform DER -in "$OUT/mp/part-1.der" -nocrypt -topk8 -out /dev/null ||
	fail "the first part is not an unencrypted PKCS#8 PrivateKeyInfo"
openssl pkcs7 -inform DER -in "$OUT/mp/part-2.der" -print_certs -out "$OUT/kg-001.pem" ||
	fail "the second part is not a PKCS#7"
assert_eq 1 "$(grep -c 'BEGIN CERTIFICATE' "$OUT/kg-001.pem")" "certificates in the second part"
kpub=$(openssl pkey -in "$OUT/kg-001.key" -pubout -outform DER | sha256sum | cut -d' ' -f1)
KID=$(cert_key_id "$OUT/kg-001.pem")
assert_eq "$kpub" "$KID" "the certificate carries the generated key"
assert_ne "$(openssl pkey -in "$OUT/keys/probe.key" -pubout -outform DER | sha256sum | cut -d' ' -f1)" "$KID" \
    "the generated key is not the CSR's key"
openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" "$OUT/kg-001.pem" >/dev/null ||
	fail "the serverkeygen certificate does not verify to the root"
openssl x509 -in "$OUT/kg-001.pem" -noout -text >"$OUT/kg-001.txt"
assert_contains "$(cat "$OUT/kg-001.txt")" "DNS:kg-001.example" "SAN of the serverkeygen certificate"
assert_contains "$(cat "$OUT/kg-001.txt")" "TLS Web Client Authentication" "EKU (device profile)"
assert_match "$(openssl x509 -in "$OUT/kg-001.pem" -noout -subject)" 'CN *= *kg-001' "subject"

# the ledger: key-register citing the slot (by the bridge, for the admin), cert-issued
kb_entries_from "$T0" "$OUT/entries1.json"
assert_eq 1 "$(kb_entries_with "$OUT/entries1.json" key-register "key-id $KID" "preauth $PID" | wc -l)" \
    "key-register entry citing the pre-authorisation"
serial=$(cert_serial_hex "$OUT/kg-001.pem")
assert_eq 1 "$(kb_entries_with "$OUT/entries1.json" cert-issued "serial $serial" "key-id $KID" \
    "tbs $(cert_tbs_b64 "$OUT/kg-001.pem")" | wc -l)" "cert-issued entry of the serverkeygen certificate"
show=$(kb_ok key show -d "$DIR" --key-id "$KID" --json)
assert_eq active "$(jq -r .status <<<"$show")" "status of the generated key"
assert_eq admin "$(jq -r .account <<<"$show")" "owner of the generated key"

# ---- refusals: nothing appended ----------------------------------------------------------
est_refused 403 POST "$EST/serverkeygen" "${CT[@]}" --data-binary "@$csr" -u "$PID:$SECRET"
assert_contains "$(cat "$API_BODY")" "used already" "reason for a spent pre-authorisation"
read -r PID2 SECRET2 <<<"$(preauth kg-002 --profile device)"
est_refused 401 POST "$EST/serverkeygen" "${CT[@]}" --data-binary "@$csr"
est_refused 401 POST "$EST/serverkeygen" "${CT[@]}" --data-binary "@$csr" -u "$PID2:$(wrong "$SECRET2")"
# an unknown id looks exactly like a wrong secret: nothing about slots is
# told to whoever does not hold one
est_refused 401 POST "$EST/serverkeygen" "${CT[@]}" --data-binary "@$csr" -u "0123456789abcdef0123456789abcdef:$SECRET2"
assert_contains "$(cat "$API_BODY")" "unknown pre-authorisation or wrong secret" "reason for an unknown id"
# a spent slot with a wrong secret: 401, not "used already"
est_refused 401 POST "$EST/serverkeygen" "${CT[@]}" --data-binary "@$csr" -u "$PID:$(wrong "$SECRET")"
est_refused 403 POST "$EST/server/serverkeygen" "${CT[@]}" --data-binary "@$csr" -u "$PID2:$SECRET2"
est_refused 400 POST "$EST/serverkeygen" "${CT[@]}" --data-binary 'not base64 at all!' -u "$PID2:$SECRET2"
# the refusals did not spend the slot: it still works once
code=$(est_call POST "$EST/device/serverkeygen" "${CT[@]}" --data-binary "@$csr" -u "$PID2:$SECRET2")
assert_eq 200 "$code" "serverkeygen with the second pre-authorisation after refusals (body: $(head -c 300 "$API_BODY"))"

# ---- a serverkeygen that fails at issuance leaves nothing behind ------------------------
# A slot for 32 DNS names of 253 characters: their certificate fits in a
# cert-issued entry (LEDGER_CERT_DER_MAX, 9000 bytes) with short URLs in it,
# not with a public_http_url of 150 characters.  With that URL the
# certificate is refused before anything is submitted: no key-register,
# and the slot still works once the URL is short again.
big=()
for i in $(seq 10 41); do
	l=$(printf 'x%.0s' $(seq 1 60))
	big+=(--dns "n$i$l.$l-ab.$l-cd.$(printf 'z%.0s' $(seq 1 61))")
done
assert_eq 253 "$(printf '%s' "${big[1]}" | wc -c)" "length of a long DNS name"
read -r PID3 SECRET3 <<<"$(preauth kg-big --profile server "${big[@]}")"
URL0=$(kb_conf_get "$DIR" public_http_url)
kb_stop
kb_conf_set "$DIR" public_http_url "$URL0/$(printf 'p%.0s' $(seq 1 $((149 - ${#URL0}))))"
kb_start "$DIR"
csr3=$(est_csr probe kg-big-csr)
est_refused 403 POST "$EST/server/serverkeygen" "${CT[@]}" --data-binary "@$csr3" -u "$PID3:$SECRET3"
assert_match "$(cat "$API_BODY")" '^certificate_too_large: ' "refusal of a certificate too large for the ledger"
kb_entries_from 0 "$OUT/entries3.json"
assert_eq "" "$(kb_entries_with "$OUT/entries3.json" key-register "preauth $PID3")" \
    "key-register entries citing the slot after the failed issuance"
kb_stop
kb_conf_set "$DIR" public_http_url "$URL0"
kb_start "$DIR"
T3=$(kb_tree_size)
code=$(est_call POST "$EST/server/serverkeygen" "${CT[@]}" --data-binary "@$csr3" -u "$PID3:$SECRET3")
assert_eq 200 "$code" "serverkeygen with the slot after the failed issuance (body: $(head -c 300 "$API_BODY"))"
assert_eq $((T3 + 2)) "$(kb_tree_size)" "tree size after it (key-register + cert-issued)"
kb_entries_from "$T3" "$OUT/entries4.json"
assert_eq 1 "$(kb_entries_with "$OUT/entries4.json" key-register "preauth $PID3" | wc -l)" \
    "key-register entries citing the slot"

# ---- the admin revokes the generated key like any other --------------------------------
kb_ok key revoke -d "$DIR" --key-id "$KID" --reason keyCompromise >/dev/null
assert_eq revoked "$(kb_ok key show -d "$DIR" --key-id "$KID" --json | jq -r .status)" "status after revoke"

kb_stop
kb_ok ledger verify -d "$DIR" >"$OUT/verify.txt"
log "$(cat "$OUT/verify.txt")"
log "OK"
