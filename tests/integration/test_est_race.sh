#!/usr/bin/env bash
# Racing enrollments for one key: a key has one current certificate, and
# the ledger's rule decides, not a check-then-act in the bridge.  Sixteen
# simultaneous simpleenroll requests (curl in the background, each on its
# own TLS connection) for one registered key: exactly one 200, fifteen 409
# `current_cert_exists` (from the bridge's check, or from the ledger, which
# refused the entry of a request that passed it), one cert-issued entry,
# OCSP good for the certificate recorded; two rounds, and after a
# renewal once more: still one.  `ledger verify` replays it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
CT=(-H 'Content-Type: application/pkcs10')
N=16

kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"
OCSP_URL="http://127.0.0.1:$KB_HTTP_PORT/ocsp"

# race NAME PATH CSR [CURL ARGS...]: N simultaneous POSTs of CSR to PATH;
# exactly one 200 (its certificate in OUT/NAME.pem) and N-1 409s whose
# one line starts with "current_cert_exists: ".
race() {
	local name=$1 path=$2 csr=$3 i won=0 lost=0 code pids=() r0
	r0=$(refused_total)
	shift 3
	mkdir -p "$OUT/$name"
	for ((i = 1; i <= N; i++)); do
		curl -sS -o "$OUT/$name/$i.body" -w '%{http_code}' --max-time 30 --cacert "$ROOT" \
		    "${CT[@]}" --data-binary "@$csr" "$@" "$KB_URL$path" \
		    >"$OUT/$name/$i.code" 2>"$OUT/$name/$i.err" &
		pids+=($!)
	done
	wait "${pids[@]}"	# the curls, not the bridge
	for ((i = 1; i <= N; i++)); do
		code=$(cat "$OUT/$name/$i.code")
		case "$code" in
		200)
			won=$((won + 1))
			assert_eq 1 "$(est_p7_certs "$OUT/$name/$i.body" "$OUT/$name.pem")" \
			    "certificates in the winning answer of $name"
			;;
		409)
			lost=$((lost + 1))
			assert_eq 1 "$(grep -c . "$OUT/$name/$i.body")" "lines in a 409 of $name"
			# the bridge's question (ledger_check_issue) and the
			# commit refuse in the same words: one rule decides both
			assert_match "$(cat "$OUT/$name/$i.body")" '^current_cert_exists: key [0-9a-f]{64} already has the current certificate [0-9a-f]+ \(profile device\); a new one must supersede it$' "409 of $name"
			;;
		*) fail "$name request $i: HTTP $code: $(head -c 300 "$OUT/$name/$i.body") $(cat "$OUT/$name/$i.err")" ;;
		esac
	done
	assert_eq 1 "$won" "200s among the $N simultaneous requests of $name"
	assert_eq $((N - 1)) "$lost" "409s among the $N simultaneous requests of $name"
	log "$name: 1 x 200, $lost x 409 current_cert_exists ($(($(refused_total) - r0)) refused at commit after passing the bridge's question)"
}

# refused_total: the bridge's count of submitted entries the ledger refused.
refused_total() {
	curl -sS --max-time 10 "$KB_HTTP_URL/metrics" |
	    awk '$1 == "keybridge_ledger_entries_refused_total" { print $2 }'
}

# ocsp_status PEM: "good" or "revoked" from the bridge's OCSP.
ocsp_status() {
	local out
	out=$(timeout 20 openssl ocsp -issuer "$ISSUING" -cert "$1" -url "$OCSP_URL" \
	    -CAfile "$ROOT" -no_nonce -timeout 10 2>&1) || fail "openssl ocsp $1: $out"
	assert_contains "$out" "Response verify OK" "OCSP answer for $1"
	case "$out" in
	*"$1: good"*) echo good ;;
	*"$1: revoked"*) echo revoked ;;
	*) fail "OCSP status of $1: $out" ;;
	esac
}

# recorded KEYID: the serials of the key's cert-issued entries, one a line.
recorded() {
	kb_entries_from 0 "$OUT/entries.json"
	jq -r --arg k "key-id $1" '.[] | select(.type == "cert-issued")
	    | select(.entry | split("\n") | index($k)) | .entry | split("\n")[]
	    | select(startswith("serial ")) | ltrimstr("serial ")' "$OUT/entries.json"
}

new_key dev p256
r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/dev.pub" --name dev-race --json)
KID=$(jq -er .key_id <<<"$r")
csr=$(est_csr dev dev)

T0=$(kb_tree_size)
race first "$EST/simpleenroll" "$csr"
assert_eq $((T0 + 1)) "$(kb_tree_size)" "tree size after the first race"
assert_eq "$(cert_serial_hex "$OUT/first.pem")" "$(recorded "$KID")" "the key's recorded certificates after the first race"
assert_eq good "$(ocsp_status "$OUT/first.pem")" "OCSP status of the winner"

# Again, with a certificate current: all refused by the ledger's rule, which
# the bridge asks before it signs (nothing is appended).
before=$(kb_tree_size)
refused_before=$(refused_total)
codes=""
for i in 1 2 3; do
	code=$(est_call POST "$EST/device/simpleenroll" "${CT[@]}" --data-binary "@$csr")
	codes="$codes$code "
	assert_match "$(cat "$API_BODY")" "^current_cert_exists: key $KID already has the current certificate $(cert_serial_hex "$OUT/first.pem") \(profile device\); a new one must supersede it$" "409 with a current certificate"
done
assert_eq "409 409 409 " "$codes" "simpleenroll with a current certificate"
assert_eq "$before" "$(kb_tree_size)" "tree size after the refused simpleenrolls"
# refused before anything was signed or submitted
assert_match "$refused_before" '^[0-9]+$' "keybridge_ledger_entries_refused_total"
assert_eq "$refused_before" "$(refused_total)" "entries the ledger refused at commit for those simpleenrolls"

# A renewal supersedes it; then one more race: still one wins (the renewed
# certificate is current, so none does: all 409).
est_enroll "$EST/simplereenroll" "$(est_csr dev dev-renew)" "$OUT/renewed.pem" \
    --cert "$OUT/first.pem" --key "$OUT/keys/dev.key"
assert_eq revoked "$(ocsp_status "$OUT/first.pem")" "OCSP status of the superseded winner"
assert_eq good "$(ocsp_status "$OUT/renewed.pem")" "OCSP status of the renewed certificate"
before=$(kb_tree_size)
mkdir -p "$OUT/after"
pids=()
for ((i = 1; i <= N; i++)); do
	curl -sS -o "$OUT/after/$i.body" -w '%{http_code}\n' --max-time 30 --cacert "$ROOT" \
	    "${CT[@]}" --data-binary "@$csr" "$KB_URL$EST/simpleenroll" >"$OUT/after/$i.code" &
	pids+=($!)
done
wait "${pids[@]}"
assert_eq "$N" "$(cat "$OUT"/after/*.code | grep -c '^409$')" "409s for simpleenrolls of a key with a renewed certificate"
assert_eq "$before" "$(kb_tree_size)" "tree size after them"

# A second key: the race again from nothing.
new_key dev2 p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/dev2.pub" --name dev-race-2 >/dev/null
race second "$EST/device/simpleenroll" "$(est_csr dev2 dev2)"
assert_eq good "$(ocsp_status "$OUT/second.pem")" "OCSP status of the second winner"

kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the races"
log "racing enrollments OK"
