#!/usr/bin/env bash
# tests/fuzz/seeds.sh: remakes the generated seed corpora of the fuzz
# targets (tests/fuzz/corpus/<parser>/) from the project's own tools: a
# data directory made by `keybridge init` and written to by the CLI (its
# entries, checkpoint, configuration, policy), CSRs and OCSP requests
# made by openssl, and what the harnesses write themselves when asked
# (entries re-signed by fuzz_entry's fixed key, checkpoints cosigned by
# fuzz_checkpoint's, validator requests).  The hand-written malformed
# seeds (files named bad-*) are kept.  Needs `make` and `make fuzz-build`.
#   tests/fuzz/seeds.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
kb=$root/build/keybridge
fz=$root/build/fuzz
c=$root/tests/fuzz/corpus
tmp=$(mktemp -d /tmp/kb-seeds.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# new generated seeds replace the old ones; bad-* stay
for t in csr ocsp entry checkpoint config vconf vrequest; do
	mkdir -p "$c/$t"
	find "$c/$t" -type f ! -name 'bad-*' -delete
done

# ---- a ledger written by the CLI ----------------------------------------
"$kb" init d --name seeds --hostname bridge.example >/dev/null
"$kb" account keygen --out alice.key >/dev/null
"$kb" account keygen --out alice2.key --type ec-p256 >/dev/null
"$kb" account create -d d --name alice --pubkey alice.key.pub --pubkey alice2.key.pub \
    --threshold 2 >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out dev.key 2>/dev/null
openssl pkey -in dev.key -pubout -out dev.pub
"$kb" key register -d d --pubkey dev.pub --name dev-1 --profile server \
    --dns dev-1.example --ip 192.0.2.7 --days 30 >/dev/null
openssl req -new -key dev.key -subj /CN=dev-2 -out dev.csr \
    -addext "subjectAltName=DNS:dev-2.example,IP:2001:db8::7"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out dev3.key 2>/dev/null
openssl req -new -key dev3.key -subj /CN=dev-3 -out dev3.csr
"$kb" key register -d d --csr dev3.csr --name dev-3 >/dev/null
id=$("$kb" key list -d d | awk 'NR==1 {print $1}')
"$kb" key revoke -d d --key-id "$id" --reason keyCompromise >/dev/null || true
"$kb" key preauth -d d --name pre-1 --profile device --days 1 >/dev/null || true
printf 'server {\n  listen 443;\n}\n' > app.conf
"$kb" config publish -d d --group web --file app.conf --note "first" >/dev/null
"$kb" ledger log -d d --json > log.json

# ---- entries: each re-signed as the harness's admin, text and JSON ------
FUZZ_ENTRY_SEEDS=$c/entry FUZZ_ENTRY_FROM=$tmp/log.json "$fz/fuzz_entry" -runs=0 >/dev/null 2>&1

# ---- checkpoints and cosignatures, vkeys --------------------------------
FUZZ_CHECKPOINT_SEEDS=$c/checkpoint "$fz/fuzz_checkpoint" -runs=0 >/dev/null 2>&1
{ printf '\0'; "$kb" ledger checkpoint -d d; } > "$c/checkpoint/real-note"
"$kb" policy -d d | sed -n 's/^log //p' | head -1 | { printf '\1'; cat; } > "$c/checkpoint/real-vkey"

# ---- validator requests --------------------------------------------------
FUZZ_VREQUEST_SEEDS=$c/vrequest "$fz/fuzz_vrequest" -runs=0 >/dev/null 2>&1

# ---- configuration files -------------------------------------------------
vkey=$(sed -n 's/^log //p' <("$kb" policy -d d) | head -1)
cp d/keybridge.conf "$c/config/init-default"
"$kb" init d2 --name seeds2 --db "postgresql://kb@127.0.0.1:5432/kb" >/dev/null 2>&1 || true
[ -f d2/keybridge.conf ] && cp d2/keybridge.conf "$c/config/init-pg"
printf 'name = b\nvalidator = v1.example %s http://127.0.0.1:8001\nwitness = w1.example %s http://127.0.0.1:8002\nvalidators_quorum = 1\n' \
    "$vkey" "$vkey" > "$c/config/validators"
"$kb" validator init v --name v1.example --listen 127.0.0.1:9001 \
    --ledger https://127.0.0.1:8443 --log-vkey "$vkey" --origin keybridge/ledger >/dev/null 2>&1 || true
[ -f v/validator.conf ] && cp v/validator.conf "$c/vconf/init-validator"
"$kb" validator init w --name w1.example --listen '[::1]:9002' \
    --ledger https://127.0.0.1:8443 --log-vkey "$vkey" --origin keybridge/ledger --witness >/dev/null 2>&1 || true
[ -f w/validator.conf ] && cp w/validator.conf "$c/vconf/init-witness"

# ---- CSRs: the body with and without line breaks, DER, strict base64 ----
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
openssl req -new -key rsa.key -subj /CN=rsa-1 -out rsa.csr
for n in dev dev3 rsa; do
	openssl req -in $n.csr -outform DER -out $n.der
	{ printf '\0'; base64 $n.der; } > "$c/csr/$n-lines"
	{ printf '\1'; base64 -w0 $n.der; } > "$c/csr/$n-oneline"
	{ printf '\2'; base64 -w76 $n.der | sed 's/$/\r/'; } > "$c/csr/$n-crlf"
	{ printf '\200'; cat $n.der; } > "$c/csr/$n-der"
	{ printf '\300'; base64 -w0 $n.der; } > "$c/csr/$n-strict"
done

# ---- OCSP requests: GET paths and POSTed DER ------------------------------
# for the harness's own issuer (its CertIDs match), then for another CA's
FUZZ_OCSP_SEEDS=$c/ocsp "$fz/fuzz_ocsp" -runs=0 >/dev/null 2>&1
ca=d/ca/issuing.pem
openssl ocsp -issuer $ca -serial 0x1234abcd -no_nonce -reqout r1.der >/dev/null 2>&1
openssl ocsp -issuer $ca -serial 0x1234abcd -reqout r2.der >/dev/null 2>&1
openssl ocsp -issuer $ca -sha256 -serial 0x01 -serial 0x7fffffffffffffff \
    -reqout r3.der >/dev/null 2>&1
for r in r1 r2 r3; do
	{ printf '\1'; cat $r.der; } > "$c/ocsp/post-$r"
	{ printf '\0'; base64 -w0 $r.der; } > "$c/ocsp/get-$r"
	{ printf '\2'; base64 -w0 $r.der | sed 's/+/%2B/g; s/\//%2F/g; s/=//g'; } > "$c/ocsp/get-$r-escaped"
done
echo "seeds: $(find "$c" -type f | wc -l) files in $c"
