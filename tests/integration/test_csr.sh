#!/usr/bin/env bash
# key register --csr: the CSR's signature is the proof of possession, the
# key id is the SHA-256 of the CSR's public key, the CSR is kept on the
# ledger (in the entry) and marked on the key; a CSR whose signature does not
# verify is refused and nothing is appended.  Through the running bridge.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$OUT/srv.key" 2>/dev/null
openssl req -new -key "$OUT/srv.key" -subj /CN=srv-1 -out "$OUT/srv.csr"
openssl pkey -in "$OUT/srv.key" -pubout -out "$OUT/srv.pub"
want=$(openssl pkey -pubin -in "$OUT/srv.pub" -outform DER | sha256sum | cut -d' ' -f1)

r=$(kb_ok key register -d "$DIR" --csr "$OUT/srv.csr" --name srv-1 --profile server \
    --dns srv-1.example --ip 10.1.2.3 --json)
assert_eq "$want" "$(jq -r .key_id <<<"$r")" "key id of the CSR's key"
idx=$(jq -r .index <<<"$r")

api GET "/api/v1/keys/$want"
assert_eq true "$(jq -r .has_csr "$API_BODY")" "has_csr of the key registered by CSR"
assert_eq server "$(jq -r .profile "$API_BODY")" "profile"
assert_eq '["srv-1.example"]' "$(jq -c .dns "$API_BODY")" "dns names"
assert_eq '["10.1.2.3"]' "$(jq -c .ip "$API_BODY")" "ip addresses"

# The CSR itself is on the ledger, in the entry's csr line.
api GET "/api/v1/ledger/entries?from=$idx&limit=1"
csr_b64=$(openssl req -in "$OUT/srv.csr" -outform DER | base64 -w0)
assert_contains "$(jq -r '.entries[0].entry' "$API_BODY")" "csr $csr_b64" "the entry's csr line"

# A DER CSR is read too (and is a duplicate of the same key now).
openssl req -in "$OUT/srv.csr" -outform DER -out "$OUT/srv.der"
kb_fail key_already_registered key register -d "$DIR" --csr "$OUT/srv.der" --name srv-1b

# A CSR whose signature does not verify: flip a byte of the signature.
openssl genpkey -algorithm ed25519 -out "$OUT/dev.key" 2>/dev/null
openssl req -new -key "$OUT/dev.key" -subj /CN=dev -outform DER -out "$OUT/dev.der"
size=$(stat -c %s "$OUT/dev.der")
cp "$OUT/dev.der" "$OUT/bad.der"
printf '\x00' | dd of="$OUT/bad.der" bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
cmp -s "$OUT/dev.der" "$OUT/bad.der" && printf '\x01' |
    dd of="$OUT/bad.der" bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
before=$(jq -r .tree_size <<<"$(curl -s --cacert "$DIR/ca/root.pem" "$KB_URL/api/v1/status")")
kb_fail bad_csr key register -d "$DIR" --csr "$OUT/bad.der" --name dev
after=$(jq -r .tree_size <<<"$(curl -s --cacert "$DIR/ca/root.pem" "$KB_URL/api/v1/status")")
assert_eq "$before" "$after" "tree size after a refused CSR"
# positive control: the untampered CSR registers
kb_ok key register -d "$DIR" --csr "$OUT/dev.der" --name dev >/dev/null

kb_stop
kb_ok ledger verify -d "$DIR" >/dev/null
log "CSR registration: key id, kept CSR, DER input, bad signature refused"
