#!/usr/bin/env bash
# The ledger's rules against entries built outside keybridge (mkentry.py,
# with openssl) and POSTed raw to /api/v1/entries, past the CLI's own
# checks: one key is registered once in whatever encoding it is offered
# (compressed, hybrid, explicit curve parameters: key_not_canonical; the
# CLI registers any encoding's canonical form, EST refuses a CSR in another
# one); a key-register CSR must verify and be for the key; an account key
# may not be an Ed25519 point of small order (the issue's forged
# config-publish); an entry names this ledger's origin (wrong_origin).
# Every refusal appends nothing, and the ledger verifies at the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_mkentry_setup "$DIR"

# next_seq ACCOUNT: the account's next sequence number, from the bridge.
next_seq() {
	api GET "/api/v1/accounts/$1" | jq -er .next_seq
}

# mk_admin OUTFILE TYPE KEY=VALUE...: an entry by admin (its next seq, this
# ledger's origin), signed with the data directory's admin key.
mk_admin() {
	local out=$1
	shift
	kb_mkentry "$DIR" "$(next_seq admin)" "$out" "$@"
}

# post_refused FILE STATUS CODE TEXT: POST /api/v1/entries of FILE must be
# refused with STATUS and CODE, a message containing TEXT, nothing appended.
post_refused() {
	local before
	before=$(kb_tree_size)
	api_expect_error "$2" "$3" POST /api/v1/entries -H 'Content-Type: text/plain' \
	    --data-binary @"$1"
	assert_contains "$(jq -r .error.message "$API_BODY")" "$4" "message of the $3 refusal of $1"
	assert_eq "$before" "$(kb_tree_size)" "tree_size after the refusal of $1"
}

# post_ok FILE: POST /api/v1/entries of FILE must be taken (201).
post_ok() {
	local code
	code=$(api_call POST /api/v1/entries -H 'Content-Type: text/plain' --data-binary @"$1")
	assert_eq 201 "$code" "POST of $1 (body: $(head -c 500 "$API_BODY"))"
}

# ---- one key, one registration, whatever its encoding ------------------------------
# The issue's reproduction: register a P-256 key, revoke it for keyCompromise,
# offer it again compressed, hybrid and with explicit curve parameters.
new_key R p256
r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/R.pub" --name r-dev --json)
RID=$(jq -er .key_id <<<"$r")
assert_eq "$(spki_key_id "$OUT/keys/R.pub")" "$RID" "key id of R (SHA-256 of its uncompressed, named-curve SPKI)"
kb_ok key revoke -d "$DIR" --key-id "$RID" --reason keyCompromise >/dev/null
declare -A FORM=([compressed]="-conv_form compressed" [hybrid]="-conv_form hybrid"
    [explicit]="-param_enc explicit")
for f in compressed hybrid explicit; do
	# shellcheck disable=SC2086
	openssl ec -in "$OUT/keys/R.key" -pubout ${FORM[$f]} -out "$OUT/keys/R-$f.pem" 2>/dev/null
	# shellcheck disable=SC2086
	openssl ec -in "$OUT/keys/R.key" -pubout ${FORM[$f]} -outform DER -out "$OUT/keys/R-$f.der" 2>/dev/null
	id=$(sha256sum <"$OUT/keys/R-$f.der" | cut -d' ' -f1)
	assert_ne "$RID" "$id" "SHA-256 of R's $f SPKI"
	# The CLI registers the canonical form: the same key, already registered.
	kb_fail key_already_registered key register -d "$DIR" --pubkey "$OUT/keys/R-$f.pem" --name r-again
	# Raw: the spki line in that encoding with its own hash as key-id.
	mk_admin "$OUT/R-$f.txt" key-register key-id="$id" spki="$(base64 -w0 "$OUT/keys/R-$f.der")" \
	    name=r-again profile=device not-before="$NB" not-after="$NA"
	want=$f
	[ "$f" != explicit ] || want="explicit curve parameters"
	post_refused "$OUT/R-$f.txt" 400 key_not_canonical "$want"
done
assert_eq revoked "$(api GET "/api/v1/keys/$RID" | jq -r .status)" "status of R after the attempts"

# A fresh key given to the CLI compressed: registered under the one key id,
# its canonical SPKI on the ledger; the uncompressed PEM is then a duplicate.
new_key F p256
openssl ec -in "$OUT/keys/F.key" -pubout -conv_form compressed -out "$OUT/keys/F-compressed.pem" 2>/dev/null
r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/F-compressed.pem" --name f-dev --json)
FID=$(jq -er .key_id <<<"$r")
assert_eq "$(spki_key_id "$OUT/keys/F.pub")" "$FID" "key id of F registered from a compressed PEM"
assert_eq "$(openssl pkey -pubin -in "$OUT/keys/F.pub" -outform DER | base64 -w0)" \
    "$(api GET "/api/v1/keys/$FID" | jq -r .spki)" "spki of F on the ledger"
kb_fail key_already_registered key register -d "$DIR" --pubkey "$OUT/keys/F.pub" --name f-again

# EST: a CSR whose key is compressed or has explicit parameters is refused
# (the certificate would carry an SPKI the ledger does not know); F's own
# CSR enrolls (the control).
CT=(-H 'Content-Type: application/pkcs10')
for f in compressed explicit; do
	# shellcheck disable=SC2086
	openssl ec -in "$OUT/keys/F.key" ${FORM[$f]} -out "$OUT/keys/F-$f.key" 2>/dev/null
	csr=$(est_csr "F-$f" "f-$f" -subj /CN=f-dev)
	est_refused 400 POST /.well-known/est/simpleenroll "${CT[@]}" --data-binary "@$csr"
	want=$f
	[ "$f" != explicit ] || want="explicit curve parameters"
	assert_contains "$(cat "$API_BODY")" "$want" "EST refusal of the $f CSR"
done
est_enroll /.well-known/est/simpleenroll "$(est_csr F f-good -subj /CN=f-dev)" "$OUT/f.pem"
assert_eq "$FID" "$(cert_key_id "$OUT/f.pem")" "key id of F's certificate"

# ---- the CSR of a key-register entry is a proof of possession ---------------------
new_key G p256
new_key H p256
G_SPKI=$(openssl pkey -pubin -in "$OUT/keys/G.pub" -outform DER | base64 -w0)
GID=$(spki_key_id "$OUT/keys/G.pub")
est_csr G g >/dev/null
est_csr H h >/dev/null
# G's CSR with one bit of its signature flipped (the last bytes of the DER).
python3 - "$OUT/csr/g.der" "$OUT/csr/g-badsig.der" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[-3] ^= 0x01
open(sys.argv[2], "wb").write(bytes(d))
EOF
# (openssl req -verify exits 0 either way: read what it says)
assert_contains "$(openssl req -inform DER -in "$OUT/csr/g.der" -noout -verify 2>&1)" \
    "verify OK" "openssl req -verify of G's CSR (control)"
assert_contains "$(openssl req -inform DER -in "$OUT/csr/g-badsig.der" -noout -verify 2>&1)" \
    "verify failure" "openssl req -verify of the altered CSR"
for c in g-badsig:"csr signature does not verify" h:"csr is for another key"; do
	mk_admin "$OUT/G-${c%%:*}.txt" key-register key-id="$GID" spki="$G_SPKI" name=g-dev \
	    profile=device not-before="$NB" not-after="$NA" csr="$(base64 -w0 "$OUT/csr/${c%%:*}.der")"
	post_refused "$OUT/G-${c%%:*}.txt" 400 malformed_entry "${c#*:}"
done
mk_admin "$OUT/G-good.txt" key-register key-id="$GID" spki="$G_SPKI" name=g-dev \
    profile=device not-before="$NB" not-after="$NA" csr="$(base64 -w0 "$OUT/csr/g.der")"
post_ok "$OUT/G-good.txt"
assert_eq active "$(api GET "/api/v1/keys/$GID" | jq -r .status)" "status of G"

# ---- Ed25519 account keys of small order ------------------------------------------
# The issue's scenario: an account whose key is the identity point, then a
# config-publish "signed" by it with R = identity, S = 0.  The account is
# now refused, so the forged entry has no account to speak for.
IDENTITY=0100000000000000000000000000000000000000000000000000000000000000
for p in $IDENTITY \
    c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a \
    eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f; do
	printf '302a300506032b6570032100%s' "$p" | xxd -r -p >"$OUT/keys/weak-$p.der"
	openssl pkey -pubin -inform DER -in "$OUT/keys/weak-$p.der" -out "$OUT/keys/weak-$p.pem"
	mk_admin "$OUT/mallory-$p.txt" account-create name=mallory role=admin threshold=1 \
	    pubkey="$(base64 -w0 "$OUT/keys/weak-$p.der")"
	post_refused "$OUT/mallory-$p.txt" 400 malformed_entry "small order"
	kb_fail bad_key account create -d "$DIR" --name mallory --pubkey "$OUT/keys/weak-$p.pem" --role admin
done
python3 "$MKENTRY" --forge-ed25519 "$IDENTITY" - mallory 1 "$ORIGIN" config-publish \
    group=cams version=6.6.6 sha256="$(printf 'evil' | sha256sum | cut -d' ' -f1)" >"$OUT/forged.txt"
post_refused "$OUT/forged.txt" 403 account_not_found mallory
api_expect_error 404 - GET /api/v1/accounts/mallory

# ---- an entry is for this ledger --------------------------------------------------
new_key O p256
O_SPKI=$(openssl pkey -pubin -in "$OUT/keys/O.pub" -outform DER | base64 -w0)
OID=$(spki_key_id "$OUT/keys/O.pub")
for o in other/ledger -; do
	python3 "$MKENTRY" "$DIR/admin.key" admin "$(next_seq admin)" "$o" key-register \
	    key-id="$OID" spki="$O_SPKI" name=o-dev profile=device not-before="$NB" \
	    not-after="$NA" >"$OUT/O-origin.txt"
	want="names no origin"
	[ "$o" = - ] || want="\"$o\""
	post_refused "$OUT/O-origin.txt" 400 wrong_origin "$want"
done
mk_admin "$OUT/O-good.txt" key-register key-id="$OID" spki="$O_SPKI" name=o-dev \
    profile=device not-before="$NB" not-after="$NA"
assert_contains "$(cat "$OUT/O-good.txt")" "origin $ORIGIN" "the control entry"
post_ok "$OUT/O-good.txt"
# Every entry of this ledger names its origin (the CLI's, the bridge's).
api GET "/api/v1/ledger/entries?from=0&limit=1000" >"$OUT/entries.json"
n=$(jq '[.entries[] | select(.entry | contains("\norigin '"$ORIGIN"'\n") | not)] | length' "$OUT/entries.json")
assert_eq 0 "$n" "entries without the origin line"
assert_contains "$(jq -r '[.entries[].type] | join(" ")' "$OUT/entries.json")" "cert-issued" "entry types"

kill -0 "$KB_SERVE_PID" 2>/dev/null || fail "the bridge died"
kb_stop
assert_match "$(kb_ok ledger verify -d "$DIR")" '^ledger OK:' "ledger verify"
log "raw entries OK"
