#!/usr/bin/env bash
# kb-test: alone (asserts a time bound or a resource figure: run with no other test beside it)
# CRLs (RFC 5280 5) on the plain-HTTP listener: issued certificates carry a
# CRL distribution point http://<http_listen>/crl/<issuer-id>.crl naming the
# issuer of the ledger's cert-issued entries; GET there answers a DER CRL
# (application/pkix-crl) v2 signed by the issuing CA, with a CRL Number, the
# Authority Key Identifier of the issuing CA, Last/Next Update, and the
# revoked serials with their reasons and the ledger's revocation times.  A
# `key revoke` is listed (keyCompromise) within 1 s of the command's return,
# a re-enrolled certificate's predecessor is listed (superseded) while the
# new one is not, good certificates never are; the CRL Number strictly
# increases with every regeneration, also across a restart.  `openssl
# verify -crl_check -crl_download` (and -CRLfile with the CRL fetched by
# curl) accepts a good certificate and rejects a revoked one.  An unknown
# issuer id is 404; /ca/issuing.der is the issuing CA certificate.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
mkdir -p "$OUT/crl"

kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"
BASE="http://127.0.0.1:$KB_HTTP_PORT"

declare -A KID


# fetch NAME URL: GET URL into OUT/crl/NAME.der (headers NAME.h); prints the
# HTTP status.
fetch() {
	local code
	: >"$OUT/crl/$1.der"
	code=$(curl -sS -o "$OUT/crl/$1.der" -D "$OUT/crl/$1.h" -w '%{http_code}' --max-time 20 "$2") ||
		fail "GET $2: no HTTP answer (curl: '$code')"
	printf '%s\n' "$code"
}

# content_type NAME: the Content-Type of fetch NAME.
content_type() {
	tr -d '\r' <"$OUT/crl/$1.h" | awk 'tolower($0) ~ /^content-type:/ { sub(/^[^:]*:[ \t]*/, ""); v = $0 } END { print v }'
}

# get_crl NAME: fetches the CRL into OUT/crl/NAME.der, checks the transport
# (200, application/pkix-crl, DER, signed by the issuing CA) and writes its
# text to OUT/crl/NAME.txt.
get_crl() {
	local code out
	code=$(fetch "$1" "$CRL_URL")
	[ "$code" = 200 ] ||
		fail "GET $CRL_URL ($1): expected HTTP 200, got $code: $(head -c 300 "$OUT/crl/$1.der" | tr -d '\0')"
	assert_eq application/pkix-crl "$(content_type "$1")" "Content-Type of the CRL ($1)"
	openssl crl -inform DER -in "$OUT/crl/$1.der" -noout -text >"$OUT/crl/$1.txt" 2>&1 ||
		fail "the CRL ($1) is not a DER CRL: $(head -c 500 "$OUT/crl/$1.txt")"
	out=$(openssl crl -inform DER -in "$OUT/crl/$1.der" -noout -CAfile "$OUT/chain.pem" 2>&1) ||
		fail "the CRL ($1) does not verify with the issuing CA: $out"
	assert_contains "$out" "verify OK" "signature of the CRL ($1)"
}

# crl_number NAME: the CRL Number of OUT/crl/NAME.txt, in decimal.
crl_number() {
	local v
	v=$(awk '/X509v3 CRL Number:/ { getline; gsub(/[ \t]/, ""); print; exit }' "$OUT/crl/$1.txt")
	[ -n "$v" ] || fail "no CRL Number in the CRL ($1): $(cat "$OUT/crl/$1.txt")"
	python3 -c 'import sys; v = sys.argv[1]; print(int(v, 16) if v.lower().startswith("0x") else int(v))' "$v" ||
		fail "CRL Number '$v' of the CRL ($1) is not a number"
}

# crl_entry NAME SERIALHEX: the text of SERIALHEX's entry in the CRL (empty
# when it is not listed).
crl_entry() {
	awk -v s="$(tr a-f A-F <<<"$2")" '
		/^    Serial Number:/ { v = $3; sub(/^0+/, "", v); p = (v == s); if (p) print; next }
		/^    [^ ]/ || /^[^ ]/ { p = 0 }
		p' "$OUT/crl/$1.txt"
}

# revoked_serials NAME: the serials the CRL lists, lowercase, no leading zeros.
revoked_serials() {
	awk '/^    Serial Number:/ { v = tolower($3); sub(/^0+/, "", v); print v }' "$OUT/crl/$1.txt" | sort
}

# ledger_time TYPE LINE...: the revocation time the registry records for
# the one ledger entry of TYPE (key-revoke, cert-revoked, or cert-issued
# for the certificate it supersedes) with every LINE ("key-id ID",
# "serial S" or "supersedes S" first), as openssl prints times ("Dec  1
# 21:41:32 2026 GMT").  That is the time of the block that took the entry:
# the time written in the entry or at most 5 s later (checked).  It runs
# in $(...), where fail only ends the subshell: callers check its status
# (revocation_date).
ledger_time() {
	local type=$1 idx t r e l
	shift
	kb_entries_from 0 "$OUT/entries.json"
	idx=$(kb_entries_with "$OUT/entries.json" "$type" "$@")
	assert_eq 1 "$(grep -c . <<<"$idx" || true)" "$type entries with $*"
	t=$(jq -r --argjson i "$idx" '.[] | select(.index == $i) | .entry' "$OUT/entries.json" | sed -n 's/^time //p')
	case "$type" in
	key-revoke) r=$(api GET "/api/v1/keys/${1#key-id }" | jq -r .revoked_at) ;;
	cert-issued) r=$(api GET "/api/v1/certs/${1#supersedes }" | jq -r .revoked_at) ;;
	*) r=$(api GET "/api/v1/certs/${1#serial }" | jq -r .revoked_at) ;;
	esac
	e=$(date -u -d "$t" +%s) && l=$(date -u -d "$r" +%s) || fail "$type: times '$t' / '$r'"
	[ "$l" -ge "$e" ] && [ "$l" -le $((e + 5)) ] || fail "$type: registry time $r, entry written at $t"
	date -u -d "$r" '+%b %e %H:%M:%S %Y GMT'
}

# revocation_date TYPE LINE...: "Revocation Date: " and ledger_time's
# answer, failing the test when ledger_time fails.
revocation_date() {
	local d
	d=$(ledger_time "$@") || fail "the ledger's revocation time of the $1 entry with $*"
	echo "Revocation Date: $d"
}

cat "$ISSUING" "$ROOT" >"$OUT/chain.pem"


# wait_crl: until GET of the CRL answers 200, 2 s at most (right after a
# start the bridge may still be building it: 503 meanwhile).
wait_crl() {
	local t0 code first=""
	t0=$(date +%s%N)
	while :; do
		code=$(fetch warmup "$CRL_URL")
		[ "$code" != 200 ] || break
		first=${first:-$code}
		[ "$(ms_since "$t0")" -lt 2000 ] || fail "GET $CRL_URL still HTTP $code 2 s after the start"
		sleep 0.02
	done
	[ -z "$first" ] || log "NOTE: GET of the CRL answered HTTP $first for $(ms_since "$t0") ms after the start, then 200"
}

# ---- certificates, the distribution point --------------------------------------------
kb_enroll dev1; KID[dev1]=$KB_KEY_ID
kb_enroll dev2; KID[dev2]=$KB_KEY_ID
kb_enroll dev3; KID[dev3]=$KB_KEY_ID
kb_enroll dev4; KID[dev4]=$KB_KEY_ID
cdp=$(openssl x509 -in "$OUT/dev1.pem" -noout -ext crlDistributionPoints)
CRL_URL=$(grep -o 'URI:[^ ]*' <<<"$cdp" | head -n 1 | cut -c5-)
assert_match "$CRL_URL" "^$BASE/crl/[0-9a-f]+\\.crl\$" "CRL DP of dev1"
ISSUER_ID=$(basename "$CRL_URL" .crl)
for n in dev2 dev3 dev4; do
	assert_contains "$(openssl x509 -in "$OUT/$n.pem" -noout -ext crlDistributionPoints)" "URI:$CRL_URL" "CRL DP of $n"
done
kb_entries_from 0 "$OUT/entries.json"
idx=$(kb_entries_with "$OUT/entries.json" cert-issued "serial $(cert_serial_hex "$OUT/dev1.pem")" "issuer $ISSUER_ID")
assert_eq 1 "$(grep -c . <<<"$idx" || true)" "cert-issued entry of dev1 with issuer $ISSUER_ID (the CRL DP's issuer id)"
log "CRL URL: $CRL_URL"
wait_crl

# ---- the CRL before any revocation ------------------------------------------------------
get_crl c0
t=$(cat "$OUT/crl/c0.txt")
assert_contains "$t" "Version 2 (0x1)" "CRL version"
assert_eq "$(openssl x509 -in "$ISSUING" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" \
    "$(openssl crl -inform DER -in "$OUT/crl/c0.der" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" \
    "issuer of the CRL"
aki=$(awk '/X509v3 Authority Key Identifier:/ { getline; gsub(/[ \t]|keyid:/, ""); print; exit }' "$OUT/crl/c0.txt")
ski=$(openssl x509 -in "$ISSUING" -noout -ext subjectKeyIdentifier | awk 'NR == 2 { gsub(/[ \t]/, ""); print }')
[ -n "$ski" ] || fail "the issuing CA has no Subject Key Identifier"
assert_eq "$ski" "$aki" "Authority Key Identifier of the CRL (issuing CA's SKI)"
lu=$(openssl crl -inform DER -in "$OUT/crl/c0.der" -noout -lastupdate | cut -d= -f2)
nu=$(openssl crl -inform DER -in "$OUT/crl/c0.der" -noout -nextupdate | cut -d= -f2)
lu_s=$(date -u -d "$lu" +%s) || fail "Last Update '$lu' is not a date"
nu_s=$(date -u -d "$nu" +%s) || fail "Next Update '$nu' is not a date (a v2 CRL must have one)"
now=$(date +%s)
[ "$lu_s" -le $((now + 5)) ] || fail "Last Update in the future: $lu"
[ "$nu_s" -gt "$now" ] || fail "Next Update not in the future: $nu"
N0=$(crl_number c0)
assert_eq "" "$(revoked_serials c0)" "serials in the CRL before any revocation"
log "CRL #$N0: Last Update $lu, Next Update $nu, no revoked certificates"

# ---- key revoke: listed within 1 s -------------------------------------------------------------
kb_ok key revoke -d "$DIR" --key-id "${KID[dev2]}" --reason keyCompromise >/dev/null
t0=$(date +%s%N)
n=0
while :; do
	n=$((n + 1))
	get_crl c1
	[ -z "$(crl_entry c1 "$(cert_serial_hex "$OUT/dev2.pem")")" ] || break
	[ "$(ms_since "$t0")" -lt 5000 ] || fail "dev2 not in the CRL 5 s after key revoke returned: $(cat "$OUT/crl/c1.txt")"
done
lat=$(ms_since "$t0")
log "dev2 listed in the CRL ${lat} ms after key revoke returned ($n fetches)"
[ "$lat" -le 1000 ] || fail "revocation listed in the CRL after $lat ms, expected within 1000 ms"
e=$(crl_entry c1 "$(cert_serial_hex "$OUT/dev2.pem")")
assert_contains "$e" "Key Compromise" "CRL entry of dev2 (reason)"
d=$(revocation_date key-revoke "key-id ${KID[dev2]}") || exit 1
assert_contains "$e" "$d" "CRL entry of dev2 (the ledger's time)"
assert_eq "$(cert_serial_hex "$OUT/dev2.pem")" "$(revoked_serials c1)" "serials in the CRL after revoking dev2"
N1=$(crl_number c1)
[ "$N1" -gt "$N0" ] || fail "CRL Number did not increase: $N0 -> $N1"

# ---- superseded by re-enrollment -----------------------------------------------------------------
est_enroll "$EST/simplereenroll" "$(est_csr dev3 dev3-renew)" "$OUT/dev3-new.pem" \
    --cert "$OUT/dev3.pem" --key "$OUT/keys/dev3.key"
t0=$(date +%s%N)
while :; do
	get_crl c2
	[ -z "$(crl_entry c2 "$(cert_serial_hex "$OUT/dev3.pem")")" ] || break
	[ "$(ms_since "$t0")" -lt 5000 ] || fail "the superseded dev3 not in the CRL 5 s after the re-enrollment: $(cat "$OUT/crl/c2.txt")"
done
log "superseded dev3 listed $(ms_since "$t0") ms after the re-enrollment answer"
e=$(crl_entry c2 "$(cert_serial_hex "$OUT/dev3.pem")")
assert_contains "$e" "Superseded" "CRL entry of the superseded dev3 (reason)"
# the re-enrollment's cert-issued entry revokes its predecessor (supersedes)
d=$(revocation_date cert-issued "supersedes $(cert_serial_hex "$OUT/dev3.pem")") || exit 1
assert_contains "$e" "$d" "CRL entry of the superseded dev3 (the ledger's time)"
assert_contains "$(crl_entry c2 "$(cert_serial_hex "$OUT/dev2.pem")")" "Key Compromise" "CRL entry of dev2, still there"
assert_eq "$(printf '%s\n' "$(cert_serial_hex "$OUT/dev2.pem")" "$(cert_serial_hex "$OUT/dev3.pem")" | sort)" \
    "$(revoked_serials c2)" "serials in the CRL (dev2, old dev3; not dev1, dev4, the new dev3)"
N2=$(crl_number c2)
[ "$N2" -gt "$N1" ] || fail "CRL Number did not increase: $N1 -> $N2"

# ---- openssl verify with the CRL -------------------------------------------------------------------
# -crl_download fetches each certificate's CRL DP; the issuing CA has none, so
# -crl_check (the leaf only), not -crl_check_all.
verify_crl() {
	openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" "$@" 2>&1
}
for n in dev1 dev3-new dev4; do
	out=$(verify_crl -crl_check -crl_download "$OUT/$n.pem") ||
		fail "openssl verify -crl_check -crl_download of the good $n: $out"
	assert_eq "$OUT/$n.pem: OK" "$out" "openssl verify -crl_download of $n"
done
for n in dev2 dev3; do
	if out=$(verify_crl -crl_check -crl_download "$OUT/$n.pem"); then
		fail "openssl verify -crl_check -crl_download accepted the revoked $n: $out"
	fi
	assert_contains "$out" "certificate revoked" "openssl verify -crl_download of the revoked $n"
done
# the same with the CRL fetched by curl, as PEM and -CRLfile
openssl crl -inform DER -in "$OUT/crl/c2.der" -out "$OUT/crl/c2.pem"
out=$(verify_crl -crl_check -CRLfile "$OUT/crl/c2.pem" "$OUT/dev1.pem") ||
	fail "openssl verify -CRLfile of dev1: $out"
assert_eq "$OUT/dev1.pem: OK" "$out" "openssl verify -CRLfile of dev1"
if out=$(verify_crl -crl_check -CRLfile "$OUT/crl/c2.pem" "$OUT/dev2.pem"); then
	fail "openssl verify -CRLfile accepted the revoked dev2: $out"
fi
assert_contains "$out" "certificate revoked" "openssl verify -CRLfile of dev2"
# negative control: -crl_check with no CRL at all is not a pass
if out=$(verify_crl -crl_check "$OUT/dev1.pem"); then
	fail "openssl verify -crl_check without a CRL accepted dev1: $out"
fi
assert_contains "$out" "unable to get certificate CRL" "openssl verify -crl_check without a CRL"
log "openssl verify -crl_check: good certificates OK, revoked ones refused (-crl_download and -CRLfile)"

# ---- unknown issuers, /ca/issuing.der --------------------------------------------------------------
ports=$(kb_free_ports 2)
KB_USED_PORTS="$KB_USED_PORTS $ports"
kb_run init "$OUT/other" --est-listen "127.0.0.1:${ports% *}" --http-listen "127.0.0.1:${ports#* }"
[ "$KB_RC" -eq 0 ] || fail "keybridge init $OUT/other: $(cat "$KB_STDERR")"
other_id=$(openssl x509 -in "$OUT/other/ca/issuing.pem" -noout -ext subjectKeyIdentifier |
    awk 'NR == 2 { gsub(/[ \t:]/, ""); print tolower($0) }')
assert_ne "$ISSUER_ID" "$other_id" "issuer id of another keybridge"
for p in "/crl/$other_id.crl" "/crl/0000000000000000000000000000000000000000.crl" "/crl/$ISSUER_ID" \
    "/crl/$ISSUER_ID.crl.bak" "/crl/x$ISSUER_ID.crl" "/crl/"; do
	code=$(fetch unknown "$BASE$p")
	assert_eq 404 "$code" "GET $p"
done
code=$(fetch issuing "$BASE/ca/issuing.der")
assert_eq 200 "$code" "GET /ca/issuing.der"
openssl x509 -in "$ISSUING" -outform DER -out "$OUT/issuing.der"
cmp -s "$OUT/issuing.der" "$OUT/crl/issuing.der" ||
	fail "GET /ca/issuing.der is not ca/issuing.pem in DER ($(wc -c <"$OUT/crl/issuing.der") bytes)"
assert_eq "$BASE/ca/issuing.der" "$(openssl x509 -in "$OUT/dev1.pem" -noout -ext authorityInfoAccess |
    grep -o 'CA Issuers - URI:[^ ]*' | cut -d: -f2-)" "caIssuers URL of dev1"
log "GET /ca/issuing.der: the issuing CA (Content-Type $(content_type issuing))"

# ---- across a restart: the same list, the number keeps increasing ------------------------------------
kb_stop
kb_start "$DIR"
wait_crl
get_crl c3
assert_eq "$(revoked_serials c2)" "$(revoked_serials c3)" "serials in the CRL after a restart"
N3=$(crl_number c3)
[ "$N3" -ge "$N2" ] || fail "CRL Number went back across a restart: $N2 -> $N3"
kb_ok key revoke -d "$DIR" --key-id "${KID[dev4]}" --reason cessationOfOperation >/dev/null
t0=$(date +%s%N)
while :; do
	get_crl c4
	[ -z "$(crl_entry c4 "$(cert_serial_hex "$OUT/dev4.pem")")" ] || break
	[ "$(ms_since "$t0")" -lt 5000 ] || fail "dev4 not in the CRL 5 s after key revoke returned: $(cat "$OUT/crl/c4.txt")"
done
lat=$(ms_since "$t0")
[ "$lat" -le 1000 ] || fail "revocation of dev4 listed after $lat ms, expected within 1000 ms"
assert_contains "$(crl_entry c4 "$(cert_serial_hex "$OUT/dev4.pem")")" "Cessation Of Operation" "CRL entry of dev4 (reason)"
N4=$(crl_number c4)
[ "$N4" -gt "$N3" ] || fail "CRL Number did not increase after the restart: $N3 -> $N4"
assert_eq 3 "$(revoked_serials c4 | grep -c .)" "serials in the CRL after revoking dev4"
assert_eq "" "$(crl_entry c4 "$(cert_serial_hex "$OUT/dev1.pem")")" "CRL entry of the good dev1"
assert_eq "" "$(crl_entry c4 "$(cert_serial_hex "$OUT/dev3-new.pem")")" "CRL entry of the re-enrolled dev3"
log "CRL Numbers: $N0 < $N1 < $N2 <= $N3 (restart) < $N4"

kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the CRL test"
log "CRL OK"
