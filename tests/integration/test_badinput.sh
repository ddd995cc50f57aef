#!/usr/bin/env bash
# Bad input from the network becomes an HTTP 4xx with a stable JSON error
# code, never a crash: garbage entries, a well-formed entry whose signature
# is broken (and, as the positive control, the same entry correctly signed,
# built and signed here with openssl, not by keybridge), invalid JSON, an
# oversized body, unknown routes and bad query parameters.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"

# ---- a template entry: a key registration by admin ----------------------------
new_device_key tmpl ed25519
r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/tmpl.pub" --name tmpl-device --json)
T=$(jq -er '.index' <<<"$r")
tmpl_kid=$(jq -er '.key_id' <<<"$r")
api GET "/api/v1/ledger/entries?from=$T&limit=1" >"$OUT/tmpl.json"
jq -j '.entries[0].entry' "$OUT/tmpl.json" >"$OUT/tmpl.txt"
tmpl_seq=$(jq -er '.entries[0].seq' "$OUT/tmpl.json")
assert_eq admin "$(jq -r '.entries[0].account' "$OUT/tmpl.json")" "account of the template entry"

# A fresh key, and the entry that registers it: the template with the new
# key's SPKI, id and name, the next sequence number and the current time.
new_device_key fresh ed25519
fresh_kid=$(spki_key_id "$OUT/keys/fresh.pub")
python3 - "$OUT" "$DIR/admin.key" "$((tmpl_seq + 1))" \
    "$tmpl_kid" "$(openssl pkey -pubin -in "$OUT/keys/tmpl.pub" -outform DER | base64 -w0)" tmpl-device \
    "$fresh_kid" "$(openssl pkey -pubin -in "$OUT/keys/fresh.pub" -outform DER | base64 -w0)" fresh-device \
    <<'EOF'
import base64, hashlib, os, subprocess, sys, time
out, keyfile, seq = sys.argv[1], sys.argv[2], sys.argv[3]
old = dict(kid=sys.argv[4], spki=sys.argv[5], name=sys.argv[6])
new = dict(kid=sys.argv[7], spki=sys.argv[8], name=sys.argv[9])
EMDASH = "\u2014"
def die(msg):
    sys.exit("FAIL: building the entry: " + msg)

text = open(os.path.join(out, "tmpl.txt"), "rb").read().decode()
i = text.find("\n\n")
if i < 0:
    die("template has no blank line: %r" % text)
body, sigs = text[:i + 1], text[i + 2:].splitlines()
lines, done = [], set()
for line in body[:-1].split("\n"):
    k, sp, v = line.partition(" ")
    if k == "seq":
        v = seq
        done.add("seq")
    elif k == "time":
        if v.isdigit():
            v = str(int(time.time()))
        else:
            v = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        done.add("time")
    else:
        for f in ("kid", "spki", "name"):
            if v == old[f]:
                v = new[f]
                done.add(f)
    lines.append(k + sp + v)
for f in ("seq", "time", "spki", "name"):
    if f not in done:
        die("no %s line found in the template entry:\n%s" % (f, body))
body = ("\n".join(lines) + "\n").encode()

# Sign like a signed note: "— admin base64(key hash || signature)".
sig_name = sigs[0][2:].split(" ")[0] if sigs and sigs[0].startswith(EMDASH) else "admin"
der = subprocess.run(["openssl", "pkey", "-in", keyfile, "-pubout", "-outform", "DER"],
                     check=True, capture_output=True).stdout
bodyfile = os.path.join(out, "fresh.body")
open(bodyfile, "wb").write(body)
if der.startswith(bytes.fromhex("302a300506032b6570032100")):
    alg, keybytes = b"\x01", der[12:]
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", keyfile, "-rawin",
                          "-in", bodyfile], check=True, capture_output=True).stdout
else:  # ECDSA P-256 over SHA-256, DER signature, key hash over the SPKI
    alg, keybytes = b"\x02", der
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", keyfile, bodyfile],
                         check=True, capture_output=True).stdout
key_hash = hashlib.sha256(sig_name.encode() + b"\n" + alg + keybytes).digest()[:4]
tmpl_hash = base64.b64decode(sigs[0].split(" ")[2])[:4] if sigs else b""
if tmpl_hash != key_hash:
    die("key hash %s computed here differs from the template's %s"
        % (key_hash.hex(), tmpl_hash.hex()))

def note(s):
    return body + ("\n%s %s %s\n" % (EMDASH, sig_name,
                   base64.b64encode(key_hash + s).decode())).encode()
bad = bytearray(sig)
bad[10] ^= 0x01
open(os.path.join(out, "fresh-good.txt"), "wb").write(note(sig))
open(os.path.join(out, "fresh-badsig.txt"), "wb").write(note(bytes(bad)))
EOF

# Broken signature first (it must not use up the sequence number) ...
api_expect_error 403 signature_invalid POST /api/v1/entries \
    -H 'Content-Type: text/plain' --data-binary @"$OUT/fresh-badsig.txt"
code=$(api_call GET "/api/v1/keys/$fresh_kid")
assert_eq 404 "$code" "GET /api/v1/keys/<key of the refused entry> (body: $(cat "$API_BODY"))"

# ... then the same entry signed correctly (JSON form) is accepted.
size_before=$(api GET /api/v1/ledger/checkpoint | jq -r '.tree_size')
jq -Rs '{entry: .}' "$OUT/fresh-good.txt" >"$OUT/fresh-good.json"
code=$(api_call POST /api/v1/entries -H 'Content-Type: application/json' \
    --data-binary @"$OUT/fresh-good.json")
assert_eq 201 "$code" "POST of the correctly signed entry (body: $(cat "$API_BODY"))"
assert_eq "$size_before" "$(jq -r '.index' "$API_BODY")" "index in the receipt of the POSTed entry"
assert_eq "$(python3 "$VERIFY_PROOF" leaf-hash "$OUT/fresh-good.txt")" \
    "$(jq -r '.leaf_hash' "$API_BODY")" "receipt leaf_hash vs SHA-256(0x00||entry)"
assert_eq active "$(api GET "/api/v1/keys/$fresh_kid" | jq -r '.status')" "status of the key registered by POST"

# Replaying it is refused (replay protection: the sequence number is used).
code=$(api_call POST /api/v1/entries -H 'Content-Type: text/plain' \
    --data-binary @"$OUT/fresh-good.txt")
case "$code" in 4??) ;; *) fail "replayed entry: expected HTTP 4xx, got $code: $(cat "$API_BODY")" ;; esac
assert_eq bad_sequence "$(jq -r '.error.code' "$API_BODY")" "error code of a replayed entry"

# ---- garbage ------------------------------------------------------------------------
printf 'garbage\n' >"$OUT/garbage.txt"
api_expect_error 400 malformed_entry POST /api/v1/entries \
    -H 'Content-Type: text/plain' --data-binary @"$OUT/garbage.txt"
head -c 600 /dev/urandom >"$OUT/random.bin"
api_expect_error 400 malformed_entry POST /api/v1/entries \
    -H 'Content-Type: text/plain' --data-binary @"$OUT/random.bin"
# The body of a well-formed entry without its signature lines.
api_expect_error 400 malformed_entry POST /api/v1/entries \
    -H 'Content-Type: text/plain' --data-binary @"$OUT/fresh.body"
api_expect_error 400 malformed_entry POST /api/v1/entries \
    -H 'Content-Type: application/json' --data-binary '{"entry":"garbage\n"}'
api_expect_error 400 invalid_json POST /api/v1/entries \
    -H 'Content-Type: application/json' --data-binary '{'

# 100 KiB: refused before it is read (the status is all evhttp may send).
head -c 102400 /dev/zero | tr '\0' 'a' >"$OUT/big.txt"
api_expect_error 413 - POST /api/v1/entries \
    -H 'Content-Type: text/plain' --data-binary @"$OUT/big.txt"
if jq -e '.error.code' "$API_BODY" >/dev/null 2>&1; then
	log "413 error code: $(jq -r '.error.code' "$API_BODY")"
fi

# ---- routes and parameters -------------------------------------------------------
api_expect_error 404 not_found GET /api/v1/nope
api_expect_error 400 bad_parameter GET "/api/v1/ledger/proof/inclusion?index=-1&size=1"
api_expect_error 400 bad_parameter GET "/api/v1/ledger/proof/inclusion?index=abc&size=1"
api_expect_error 400 bad_parameter GET "/api/v1/ledger/proof/inclusion?index=0&size=18446744073709551616"
api_expect_error 400 bad_parameter GET "/api/v1/ledger/proof/inclusion?index=0&size=999999999999"
api_expect_error 400 bad_parameter GET "/api/v1/ledger/entries?from=abc&limit=1"
api_expect_error 400 bad_parameter GET /api/v1/keys/zzz
api_expect_error 404 key_not_found GET "/api/v1/keys/$(printf '0%.0s' $(seq 64))"

# ---- still healthy ------------------------------------------------------------------
code=$(api_call GET /api/v1/status)
assert_eq 200 "$code" "GET /api/v1/status after the bad input"
kill -0 "$KB_SERVE_PID" 2>/dev/null || fail "the bridge died"
kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the bad input"
log "badinput OK"
