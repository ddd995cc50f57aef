#!/usr/bin/env bash
# Keys in a PKCS#11 token (SoftHSM2 in a token directory of this test's
# own): `init --pkcs11-*` makes the issuing CA and OCSP signer keys in the
# token, CKA_SENSITIVE and never CKA_EXTRACTABLE (pkcs11-tool -O says so
# and cannot read them, while it can read a key made extractable: the
# negative control), and the bridge signs with them; init refuses a PIN
# file of mode 0644; a wrong PIN and a URI naming a missing object or
# token stop serve with a message that says which; `ca move-to-token`
# moves a file-key data directory's keys (a P-256 bridge account key
# too; Ed25519 keys stay, with a note) and the bridge then enrolls,
# answers OCSP and verifies its ledger; --shred removes the old files.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kb_softhsm
P11=(--module "$KB_P11_MODULE")

# p11_objects TOKEN: pkcs11-tool -O of TOKEN, logged in.
p11_objects() {
	pkcs11-tool "${P11[@]}" --token-label "$1" --login --pin "$KB_P11_PIN" -O 2>/dev/null
}

# p11_access TOKEN LABEL: the "Access:" line of TOKEN's private key LABEL.
p11_access() {
	p11_objects "$1" | awk -v l="$2" '
		/^Private Key Object/ { priv = 1; next }
		/^[A-Za-z]/ { priv = 0 }
		priv && $1 == "label:" { lab = $2 }
		priv && $1 == "Access:" && lab == l { sub(/^[ \t]*Access:[ \t]*/, ""); print; exit }'
}

# assert_guarded TOKEN LABEL: the private key LABEL of TOKEN is sensitive
# and not extractable: pkcs11-tool prints "sensitive" for CKA_SENSITIVE
# true and "extractable" (other than in "never extractable") only for
# CKA_EXTRACTABLE true.
assert_guarded() {
	local acc
	acc=$(p11_access "$1" "$2")
	[ -n "$acc" ] || fail "token $1 has no private key $2: $(p11_objects "$1")"
	assert_match "$acc" '(^|, )sensitive(,|$)' "CKA_SENSITIVE of $1/$2"
	assert_not_contains "$(sed 's/never extractable//' <<<"$acc")" extractable "CKA_EXTRACTABLE of $1/$2 ($acc)"
	log "$1/$2: $acc"
}

# kb_pkey_scan PID KEYFILE...: KB_SCAN_HITS, how many times the private
# scalar of each EC key file (big-endian, and byte-reversed as the
# little-endian limbs of an OpenSSL BIGNUM) or its PKCS#8 DER occurs in
# the readable mappings of PID (/proc/PID/mem).
kb_pkey_scan() {
	local pid=$1 k d args=()
	shift
	for k in "$@"; do
		d=$(openssl pkey -in "$k" -text -noout | awk '/priv:/ { f = 1; next } /pub:/ { f = 0 } f' |
		    tr -d ' :\n' | tail -c 64)
		[ "${#d}" -eq 64 ] || fail "kb_pkey_scan: no P-256 scalar in $k"
		args+=("$d" "$(fold -w2 <<<"$d" | tac | tr -d '\n')"
		    "$(openssl pkey -in "$k" -outform DER | xxd -p | tr -d '\n')")
	done
	KB_SCAN_HITS=$(python3 - "$pid" "${args[@]}" <<'PY'
import sys
# Mappings above MAP_MAX are ASan's shadow and allocator reservations
# (terabytes, mostly never touched), not a heap of these tests' size.
MAP_MAX, CHUNK, OVERLAP = 1 << 30, 1 << 24, 256
pid, needles = int(sys.argv[1]), [bytes.fromhex(h) for h in sys.argv[2:]]
hits = 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        f = line.split()
        if "r" not in f[1]:
            continue
        a, b = (int(x, 16) for x in f[0].split("-"))
        if b - a > MAP_MAX:
            continue
        # chunks overlap so that a needle across a boundary is seen once
        for off in range(a, b, CHUNK):
            end = min(b, off + CHUNK + OVERLAP)
            try:
                mem.seek(off)
                data = mem.read(end - off)
            except (OSError, ValueError, OverflowError):
                continue
            for n in needles:
                i = data.find(n)
                while i != -1:
                    if off + i < min(b, off + CHUNK):
                        hits += 1
                    i = data.find(n, i + 1)
print(hits)
PY
) || fail "kb_pkey_scan: cannot read the memory of pid $pid"
}

# ---- the negative control: the check sees an extractable key -----------------
kb_token probe
pkcs11-tool "${P11[@]}" --token-label probe --login --pin "$KB_P11_PIN" --keypairgen \
    --key-type EC:prime256v1 --label loose --extractable >/dev/null 2>&1 ||
	fail "pkcs11-tool could not make the extractable probe key"
if (assert_guarded probe loose) 2>/dev/null; then
	fail "assert_guarded passed an extractable key: $(p11_access probe loose)"
fi
log "negative control: assert_guarded refuses the probe key ($(p11_access probe loose))"

# ---- init --pkcs11-*: the PIN file --------------------------------------------------
kb_token kbt
INIT_P11=(--pkcs11-module "$KB_P11_MODULE" --pkcs11-token kbt --pkcs11-pin-file "$KB_P11_PINFILE")
cp "$KB_P11_PINFILE" "$OUT/pin.0644"
chmod 0644 "$OUT/pin.0644"
kb_fail pkcs11 init "$OUT/loose" --pkcs11-module "$KB_P11_MODULE" --pkcs11-token kbt \
    --pkcs11-pin-file "$OUT/pin.0644"
assert_contains "$(cat "$KB_STDERR")" "accessible by group or others (mode 0644): run chmod 600" "init with a 0644 PIN file"
[ ! -e "$OUT/loose" ] || fail "init with a refused PIN file created $OUT/loose"
assert_eq "" "$(p11_objects kbt)" "objects in token kbt after the refused init"

(umask 077 && echo 0000000 >"$OUT/pin.wrong")
kb_fail pkcs11 init "$OUT/wrongpin" --pkcs11-module "$KB_P11_MODULE" --pkcs11-token kbt \
    --pkcs11-pin-file "$OUT/pin.wrong"
assert_contains "$(cat "$KB_STDERR")" "CKR_PIN_INCORRECT: wrong PIN" "init with a wrong PIN"
kb_fail usage init "$OUT/half" --pkcs11-module "$KB_P11_MODULE" --pkcs11-token kbt
assert_contains "$(cat "$KB_STDERR")" "go together" "init with two of the three --pkcs11 options"
kb_fail pkcs11 init "$OUT/notoken" --pkcs11-module "$KB_P11_MODULE" --pkcs11-token nosuch \
    --pkcs11-pin-file "$KB_P11_PINFILE"
assert_contains "$(cat "$KB_STDERR")" 'no token labelled "nosuch"' "init naming a missing token"

# ---- init --pkcs11-*: the keys are in the token and sign ---------------------------
DIR="$OUT/data"
kb_init "$DIR" "${INIT_P11[@]}"
assert_eq "pkcs11:token=kbt;object=issuing-ca;type=private" "$(kb_conf_get "$DIR" ca_issuing_key)" ca_issuing_key
assert_eq "pkcs11:token=kbt;object=ocsp-signer;type=private" "$(kb_conf_get "$DIR" ocsp_key)" ocsp_key
assert_eq "$(realpath "$KB_P11_PINFILE")" "$(kb_conf_get "$DIR" pkcs11_pin_file)" pkcs11_pin_file
if [ -e "$DIR/ca/issuing.key" ] || [ -e "$DIR/ca/ocsp.key" ]; then fail "init wrote a CA key file"; fi
assert_guarded kbt issuing-ca
assert_guarded kbt ocsp-signer
# the certificates carry the token's public keys
openssl verify -CAfile "$DIR/ca/root.pem" -untrusted "$DIR/ca/issuing.pem" "$DIR/ca/ocsp.pem" >/dev/null ||
	fail "the OCSP signer certificate does not chain to the root"
# keybridge check opens the token and matches its keys (issue 17): good,
# then the OCSP signer's key against another certificate, then a wrong
# PIN (one login tried: a token may lock itself)
out=$(kb_ok check -d "$DIR")
assert_contains "$out" "$DIR: OK" "check with the keys in a token"
cp "$DIR/ca/ocsp.pem" "$OUT/ocsp.pem.good"
cp "$DIR/ca/issuing.pem" "$DIR/ca/ocsp.pem"
kb_run check -d "$DIR"
assert_eq 1 "$KB_RC" "check with the OCSP certificate replaced"
assert_contains "$(cat "$KB_STDERR")" "pkcs11:token=kbt;object=ocsp-signer;type=private: the OCSP signer key does not match the certificate $DIR/ca/ocsp.pem" "check: a token key not its certificate's"
cp "$OUT/ocsp.pem.good" "$DIR/ca/ocsp.pem"
(umask 077 && echo 0000000 >"$OUT/badpin")
sed -i "s|^pkcs11_pin_file = .*|pkcs11_pin_file = $OUT/badpin|" "$DIR/keybridge.conf"
kb_run check -d "$DIR"
assert_eq 1 "$KB_RC" "check with a wrong PIN"
assert_contains "$(cat "$KB_STDERR")" "$DIR: 1 problem" "check with a wrong PIN: one login"
assert_contains "$(cat "$KB_STDERR")" "PIN incorrect" "check with a wrong PIN"
sed -i "s|^pkcs11_pin_file = .*|pkcs11_pin_file = $(realpath "$KB_P11_PINFILE")|" "$DIR/keybridge.conf"
kb_ok check -d "$DIR" >/dev/null
log "check: the token's keys matched, a mismatch and a wrong PIN reported"
kb_fail pkcs11 init "$OUT/again" "${INIT_P11[@]}"
assert_contains "$(cat "$KB_STDERR")" "already holds 2 object(s) labelled issuing-ca" "a second init into the same token"

kb_start "$DIR"
kb_enroll dev1
openssl verify -CAfile "$DIR/ca/root.pem" -untrusted "$DIR/ca/issuing.pem" "$OUT/dev1.pem" >/dev/null ||
	fail "the certificate the token signed does not verify"
r=$(openssl ocsp -issuer "$DIR/ca/issuing.pem" -cert "$OUT/dev1.pem" -CAfile "$DIR/ca/root.pem" \
    -url "$KB_HTTP_URL/ocsp" 2>&1) || fail "openssl ocsp: $r"
assert_contains "$r" "dev1.pem: good" "OCSP answer signed by the token's OCSP key"
assert_contains "$r" "Response verify OK" "OCSP answer signed by the token's OCSP key"
kb_stop

# ---- serve: a wrong PIN, a missing object, a missing token -------------------------
# serve_refused KEY VALUE WANT: serve with KEY set to VALUE exits non-zero,
# its log saying WANT; KEY is restored after.
serve_refused() {
	local old rc=0
	old=$(kb_conf_get "$DIR" "$1")
	kb_conf_set "$DIR" "$1" "$2"
	"$KEYBRIDGE" serve -d "$DIR" >"$OUT/refused.log" 2>&1 || rc=$?
	kb_conf_set "$DIR" "$1" "$old"
	[ "$rc" -ne 0 ] || fail "serve started with $1 = $2"
	assert_contains "$(cat "$OUT/refused.log")" "$3" "serve with $1 = $2"
	log "serve refused $1 = $2: $(grep -m1 -o 'error: .*' "$OUT/refused.log")"
}
serve_refused pkcs11_pin_file "$OUT/pin.wrong" "issuing CA key: cannot log in to token \"kbt\" with the PIN of $OUT/pin.wrong (wrong PIN"
serve_refused pkcs11_pin_file "$OUT/pin.0644" "accessible by group or others (mode 0644)"
serve_refused ca_issuing_key "pkcs11:token=kbt;object=nosuch;type=private" \
    "issuing CA key: token \"kbt\" holds no private key matching pkcs11:token=kbt;object=nosuch;type=private"
serve_refused ocsp_key "pkcs11:token=nosuch;object=ocsp-signer;type=private" \
    "OCSP signer key: no token of PKCS#11 module"
serve_refused ocsp_key "pkcs11:token=kbt;type=private" "names no key: add object="
serve_refused ocsp_key "pkcs11:token=kbt;object=ocsp-signer;type=cert" "does not name a private key"
serve_refused ocsp_key "pkcs11:token=kbt;object=ocsp-signer;pin-value=1234567" "carries a PIN"
serve_refused pkcs11_module "$OUT/no-such-module.so" "cannot load the PKCS#11 module"
# two private keys of one label: the URI is ambiguous, not "the first one"
for i in 1 2; do
	pkcs11-tool "${P11[@]}" --token-label probe --login --pin "$KB_P11_PIN" --keypairgen \
	    --key-type EC:prime256v1 --label twin --id "0$i" >/dev/null 2>&1 ||
		fail "pkcs11-tool could not make twin key $i"
done
serve_refused ocsp_key "pkcs11:token=probe;object=twin;type=private" \
    "2 private keys of token \"probe\" match pkcs11:token=probe;object=twin;type=private: name one"

# ---- init --key-type rsa-3072 --pkcs11-*: RSA keys made in the token --------------
RDIR="$OUT/rsa"
kb_token kbr
kb_init "$RDIR" --key-type rsa-3072 --pkcs11-module "$KB_P11_MODULE" --pkcs11-token kbr \
    --pkcs11-pin-file "$KB_P11_PINFILE"
assert_guarded kbr issuing-ca
assert_contains "$(p11_objects kbr)" "Private Key Object; RSA" "key type in token kbr"
assert_contains "$(openssl x509 -in "$RDIR/ca/issuing.pem" -noout -text)" "Public-Key: (3072 bit)" "issuing CA key size"
kb_start "$RDIR"
kb_enroll devr
assert_contains "$(openssl x509 -in "$OUT/devr.pem" -noout -text)" "sha256WithRSAEncryption" "signature of a certificate the RSA token key signed"
openssl verify -CAfile "$RDIR/ca/root.pem" -untrusted "$RDIR/ca/issuing.pem" "$OUT/devr.pem" >/dev/null ||
	fail "the certificate the RSA token key signed does not verify"
r=$(openssl ocsp -issuer "$RDIR/ca/issuing.pem" -cert "$OUT/devr.pem" -CAfile "$RDIR/ca/root.pem" \
    -url "$KB_HTTP_URL/ocsp" 2>&1) || fail "openssl ocsp: $r"
assert_contains "$r" "devr.pem: good" "OCSP answer signed by the token's RSA OCSP key"
kb_stop

# ---- ca move-to-token --------------------------------------------------------------------
MDIR="$OUT/move"
KB_TEST_PKCS11=0 kb_init "$MDIR"
# the bridge account gets a P-256 key (Ed25519 ones cannot go into a token)
kb_ok account keygen --out "$OUT/bridge-p256.key" --type ec-p256
openssl pkey -in "$OUT/bridge-p256.key" -pubout -out "$OUT/bridge-p256.pub"
kb_ok account update -d "$MDIR" --name bridge --pubkey "$OUT/bridge-p256.pub" \
    --as bridge --account "$MDIR/bridge.key"
cp "$OUT/bridge-p256.key" "$MDIR/bridge.key"
ISS_SPKI=$(openssl x509 -in "$MDIR/ca/issuing.pem" -noout -pubkey)
kb_token kbm
kb_start "$MDIR"
kb_fail busy ca move-to-token -d "$MDIR" --pkcs11-module "$KB_P11_MODULE" --pkcs11-token kbm \
    --pkcs11-pin-file "$KB_P11_PINFILE"
assert_contains "$(cat "$KB_STDERR")" "a bridge is running" "move-to-token while serve runs"
kb_stop
kb_ok ca move-to-token -d "$MDIR" --pkcs11-module "$KB_P11_MODULE" --pkcs11-token kbm \
    --pkcs11-pin-file "$KB_P11_PINFILE" >/dev/null
out=$(cat "$KB_STDOUT")
log "move-to-token said: $out"
assert_contains "$out" "issuing CA key       moved: pkcs11:token=kbm;object=issuing-ca;type=private" "move-to-token output"
assert_contains "$out" "bridge account key   moved: pkcs11:token=kbm;object=bridge-account;type=private" "move-to-token output"
assert_contains "$out" "validator key        stays in node.key: an Ed25519 key" "move-to-token output"
assert_contains "$out" "old key file $MDIR/ca/issuing.key still holds the key" "move-to-token output"
assert_eq "pkcs11:token=kbm;object=issuing-ca;type=private" "$(kb_conf_get "$MDIR" ca_issuing_key)" "ca_issuing_key after the move"
assert_eq "pkcs11:token=kbm;object=ocsp-signer;type=private" "$(kb_conf_get "$MDIR" ocsp_key)" "ocsp_key after the move"
assert_eq "pkcs11:token=kbm;object=bridge-account;type=private" "$(kb_conf_get "$MDIR" bridge_key)" "bridge_key after the move"
assert_eq node.key "$(kb_conf_get "$MDIR" validator_key)" "validator_key after the move"
assert_file_mode "$MDIR/keybridge.conf" 600
for l in issuing-ca ocsp-signer bridge-account; do
	assert_guarded kbm "$l"
done
# the files are not read any more: hide them, the bridge still signs
mkdir "$OUT/old-keys"
mv "$MDIR/ca/issuing.key" "$MDIR/ca/ocsp.key" "$MDIR/bridge.key" "$OUT/old-keys/"
kb_start "$MDIR"
kb_enroll dev2
openssl verify -CAfile "$MDIR/ca/root.pem" -untrusted "$MDIR/ca/issuing.pem" "$OUT/dev2.pem" >/dev/null ||
	fail "a certificate signed after the move does not verify"
assert_eq "$ISS_SPKI" "$(openssl x509 -in "$MDIR/ca/issuing.pem" -noout -pubkey)" "issuing CA key after the move"
r=$(openssl ocsp -issuer "$MDIR/ca/issuing.pem" -cert "$OUT/dev2.pem" -CAfile "$MDIR/ca/root.pem" \
    -url "$KB_HTTP_URL/ocsp" 2>&1) || fail "openssl ocsp: $r"
assert_contains "$r" "dev2.pem: good" "OCSP after the move"
# Neither bridge process (the network process, the key process with
# SoftHSM2 inside it) keeps the moved keys' bytes: their readable memory,
# after token signatures, holds no private scalar (big-endian, or as
# BIGNUM limbs) or PKCS#8 DER of them.
kb_enroll dev2b
KP_PID=$(pgrep -P "$KB_SERVE_PID" | head -1)
[ -n "$KP_PID" ] || fail "no key process under serve (pid $KB_SERVE_PID)"
for pid in "$KB_SERVE_PID" "$KP_PID"; do
	kb_pkey_scan "$pid" "$OUT/old-keys/issuing.key" "$OUT/old-keys/ocsp.key" "$OUT/old-keys/bridge.key"
	assert_eq 0 "$KB_SCAN_HITS" "copies of the token's private keys in the memory of pid $pid"
done
kb_stop
# the negative control: the same scan finds a key the key process read
# from a file
cp "$OUT/old-keys/issuing.key" "$MDIR/ca/issuing.key"
kb_conf_set "$MDIR" ca_issuing_key ca/issuing.key
kb_start "$MDIR"
kb_enroll dev2c
KP_PID=$(pgrep -P "$KB_SERVE_PID" | head -1)
kb_pkey_scan "$KP_PID" "$OUT/old-keys/issuing.key"
[ "$KB_SCAN_HITS" -gt 0 ] || fail "the memory scan did not find the issuing key the key process read from its file: it proves nothing"
log "negative control: $KB_SCAN_HITS copies of the file key in the key process's memory"
kb_stop
rm "$MDIR/ca/issuing.key"
kb_conf_set "$MDIR" ca_issuing_key "pkcs11:token=kbm;object=issuing-ca;type=private"
kb_ok ledger verify -d "$MDIR"
assert_contains "$(cat "$KB_STDOUT")" "ledger OK" "ledger verify after entries signed by the token's bridge key"
kb_ok ca move-to-token -d "$MDIR" --pkcs11-module "$KB_P11_MODULE" --pkcs11-token kbm \
    --pkcs11-pin-file "$KB_P11_PINFILE"
assert_contains "$(cat "$KB_STDOUT")" "no key to move" "a second move-to-token"

# --shred: the old key files are gone
SDIR="$OUT/shred"
KB_TEST_PKCS11=0 kb_init "$SDIR"
kb_token kbs
kb_ok ca move-to-token -d "$SDIR" --pkcs11-module "$KB_P11_MODULE" --pkcs11-token kbs \
    --pkcs11-pin-file "$KB_P11_PINFILE" --shred
assert_contains "$(cat "$KB_STDOUT")" "shredded $SDIR/ca/issuing.key" "move-to-token --shred"
if [ -e "$SDIR/ca/issuing.key" ] || [ -e "$SDIR/ca/ocsp.key" ]; then fail "--shred left a key file"; fi
if [ ! -e "$SDIR/bridge.key" ] || [ ! -e "$SDIR/node.key" ]; then fail "--shred removed an Ed25519 key that stayed"; fi
kb_start "$SDIR"
kb_enroll dev3
kb_stop

log "PKCS#11: init in the token, sensitive and not extractable, clear refusals, move-to-token OK"
