#!/usr/bin/env bash
# Enrollments whose CSRs are checked on the worker threads (issue 18,
# common/workq.c): N simultaneous simpleenrolls of N distinct registered
# keys, each on its own TLS connection, with two bad requests among them
# (a CSR whose signature was changed, and a body that is no CSR).  Every
# good one gets 200 and a certificate for its own key; each bad one its
# clear 400 "malformed CSR: ..." and nothing on the ledger; the bridge's
# cert-issued entries are in committed order (the account's seq rises
# with the entry's index, one entry per 200, their serials the answered
# ones); `ledger verify` replays it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
N=24

kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"

declare -A KID
for ((i = 1; i <= N; i++)); do
	new_key "k$i" p256
	r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/k$i.pub" --name "w$i" --json)
	KID[$i]=$(jq -er .key_id <<<"$r")
	est_csr "k$i" "k$i" >/dev/null
done
# a registered key whose CSR's signature is changed (its last byte)
new_key bad p256
r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/bad.pub" --name wbad --json)
BADKID=$(jq -er .key_id <<<"$r")
est_csr bad bad >/dev/null
python3 - "$OUT/csr/bad.der" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-1] ^= 0x01
open(p, "wb").write(bytes(b))
EOF
base64 -w64 "$OUT/csr/bad.der" >"$OUT/csr/bad.b64"
printf 'bm90IGEgQ1NSIGF0IGFsbA==\n' >"$OUT/csr/junk.b64"

T0=$(kb_tree_size)
mkdir -p "$OUT/r"
pids=()
for name in $(seq -f 'k%g' 1 "$N") bad junk; do
	curl -sS -o "$OUT/r/$name.body" -w '%{http_code}' --max-time 60 --cacert "$ROOT" \
	    -H 'Content-Type: application/pkcs10' --data-binary "@$OUT/csr/$name.b64" \
	    "$KB_URL$EST/simpleenroll" >"$OUT/r/$name.code" 2>"$OUT/r/$name.err" &
	pids+=($!)
done
wait "${pids[@]}"	# the curls, not the bridge

serials=()
for ((i = 1; i <= N; i++)); do
	code=$(cat "$OUT/r/k$i.code")
	[ "$code" = 200 ] || fail "k$i: HTTP $code: $(head -c 300 "$OUT/r/k$i.body") $(cat "$OUT/r/k$i.err")"
	assert_eq 1 "$(est_p7_certs "$OUT/r/k$i.body" "$OUT/r/k$i.pem")" "certificates in k$i's answer"
	assert_eq "${KID[$i]}" "$(cert_key_id "$OUT/r/k$i.pem")" "key of k$i's certificate"
	serials+=("$(cert_serial_hex "$OUT/r/k$i.pem")")
done
for name in bad junk; do
	assert_eq 400 "$(cat "$OUT/r/$name.code")" "HTTP status of the $name CSR among the good ones"
	assert_eq 1 "$(grep -c . "$OUT/r/$name.body")" "lines in the 400 of the $name CSR"
done
assert_match "$(cat "$OUT/r/bad.body")" '^malformed CSR: .*signature' "400 of the CSR whose signature was changed"
assert_match "$(cat "$OUT/r/junk.body")" '^malformed CSR: ' "400 of the body that is no CSR"

# The ledger: one cert-issued entry per 200, none for the bad key, in
# committed order: the bridge account's seq rises with the index.
assert_eq $((T0 + N)) "$(kb_tree_size)" "tree size after $N enrollments and 2 refusals"
kb_entries_from "$T0" "$OUT/entries.json"
jq -r '.[] | select(.type == "cert-issued") | [.index,
    (.entry | split("\n")[] | select(startswith("seq ")) | ltrimstr("seq ")),
    (.entry | split("\n")[] | select(startswith("serial ")) | ltrimstr("serial "))] | @tsv' \
    "$OUT/entries.json" >"$OUT/issued.tsv"
assert_eq "$N" "$(wc -l <"$OUT/issued.tsv")" "cert-issued entries after the $N enrollments"
assert_eq "" "$(awk -F'\t' 'NR > 1 && ($1 <= pi || $2 <= ps) { print "entry " $1 " seq " $2 " after entry " pi " seq " ps } { pi = $1; ps = $2 }' "$OUT/issued.tsv")" \
    "entries out of committed order (index and seq must rise together)"
assert_eq "$(printf '%s\n' "${serials[@]}" | sort)" "$(cut -f3 "$OUT/issued.tsv" | sort)" \
    "serials recorded against the serials answered"
assert_eq "" "$(kb_entries_with "$OUT/entries.json" cert-issued "key-id $BADKID")" \
    "cert-issued entries for the key whose CSR was refused"

kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the concurrent enrollments"
log "$N concurrent enrollments through the workers in committed order, 2 bad CSRs refused 400"
