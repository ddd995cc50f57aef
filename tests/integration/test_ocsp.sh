#!/usr/bin/env bash
# kb-test: alone (asserts a time bound or a resource figure: run with no other test beside it)
# OCSP responder (RFC 6960, RFC 5019 profile) on the plain-HTTP listener,
# driven by `openssl ocsp` and curl: certificates carry AIA OCSP and
# caIssuers URLs on http_listen; an issued certificate is good, signed by the
# delegated OCSP signer (ca/ocsp.pem, in the response) and verified to the
# root; SHA-1 and SHA-256 CertIDs are answered in the request's hash; the
# nonce is echoed; two CertIDs in one request are both answered.  GET
# (URL-encoded, raw, doubled slash, '+' as a space, at /ocsp/ and at the root)
# and POST (at /ocsp and /) give the same answer; GET answers carry RFC 5019
# caching headers and honour If-None-Match while the status is unchanged.
# `key revoke` is visible as revoked (keyCompromise, the ledger's time) within
# 1 s; a re-enrolled certificate's predecessor is revoked (superseded, by
# the new certificate's own cert-issued entry) while the new one stays good; a serial never issued is revoked (certificateHold,
# 1970-01-01, extended-revoke extension), never good; a foreign issuer gets
# an unsigned `unauthorized`; garbage, truncated DER and more than 16 CertIDs
# get `malformedRequest`; bodies over 10 KiB get 413, other methods 405.
# Bad input (random bodies, every truncation, 1000 CertIDs, slow clients
# holding half-sent requests) does not disturb the daemon, which still
# answers and stops cleanly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
EST=/.well-known/est
mkdir -p "$OUT/http" "$OUT/q"

kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"
BASE="http://127.0.0.1:$KB_HTTP_PORT"


declare -A KID



# ms_since START_NS: milliseconds from START_NS (date +%s%N) to now.
# assert_time_near ENTRY_TIME LEDGER_TIME WHAT: LEDGER_TIME (RFC 3339) is
# ENTRY_TIME or at most 5 s later.
assert_time_near() {
	local e l
	e=$(date -u -d "$1" +%s) || fail "$3: '$1' is not a time"
	l=$(date -u -d "$2" +%s) || fail "$3: '$2' is not a time"
	[ "$l" -ge "$e" ] && [ "$l" -le $((e + 5)) ] || fail "$3: $2, entry written at $1"
}

# hexof FILE: the bytes of FILE as lowercase hex, one line.
hexof() {
	od -An -tx1 -v "$1" | tr -d ' \n'
}

# ocsp_q OUTFILE ARGS...: `openssl ocsp` against the bridge's OCSP URL with
# our issuer (ARGS after -issuer, so -sha256 before -cert works), verified
# against the root; output in OUTFILE; returns openssl's status.
ocsp_q() {
	local f=$1 rc=0
	shift
	timeout 20 openssl ocsp -issuer "$ISSUING" -url "$OCSP_URL" -CAfile "$ROOT" \
	    -timeout 10 "$@" >"$f" 2>&1 || rc=$?
	return "$rc"
}

# ocsp_ok OUTFILE ARGS...: ocsp_q that must succeed with "Response verify OK".
ocsp_ok() {
	local f=$1
	shift
	ocsp_q "$f" "$@" || fail "openssl ocsp $* failed: $(head -c 2000 "$f")"
	assert_contains "$(cat "$f")" "Response verify OK" "openssl ocsp $*"
}

# cert_status OUTFILE NAME: the status openssl printed for NAME ("NAME: good").
cert_status() {
	awk -v n="$2: " 'index($0, n) == 1 { print substr($0, length(n) + 1); exit }' "$1"
}

# http NAME METHOD URL [CURL ARGS...]: prints the HTTP status; body in
# OUT/http/NAME.body, headers in OUT/http/NAME.h.  Fails when no HTTP answer.
http() {
	local name=$1 method=$2 url=$3 code
	shift 3
	: >"$OUT/http/$name.body"	# curl writes no file for an empty body
	code=$(curl -sS --path-as-is -o "$OUT/http/$name.body" -D "$OUT/http/$name.h" \
	    -w '%{http_code}' --max-time 20 -X "$method" "$@" "$url") ||
		fail "$method $url ($name): no HTTP answer (curl: '$code')"
	printf '%s\n' "$code"
}

# hdr NAME HEADER: a response header of http NAME (CR removed; empty if none).
hdr() {
	tr -d '\r' <"$OUT/http/$1.h" | awk -v n="$2" '
		BEGIN { n = tolower(n) }
		{ i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == n) {
			v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v } }' | tail -n 1
}

# post_ocsp NAME FILE [URL]: POSTs FILE as an OCSP request; prints the status.
post_ocsp() {
	http "$1" POST "${3:-$OCSP_URL}" -H 'Content-Type: application/ocsp-request' \
	    --data-binary "@$2"
}

# b64url FILE: base64 of FILE, URL-encoded (%2B %2F %3D).
b64url() {
	base64 -w0 "$1" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g'
}

# expect_ocsp_error NAME CODE STATUS HEX: the answer of http NAME carries the
# unsigned OCSPResponse with responseStatus STATUS (as openssl prints it:
# "malformedrequest (1)", "unauthorized (6)"), exactly the DER bytes HEX, as application/ocsp-response with HTTP
# 200 (or 400 for malformed input: the contract does not fix the HTTP status).
expect_ocsp_error() {
	local name=$1 code=$2 want=$3 hex=$4 out
	case "$code" in
	200) ;;
	400) [ "$hex" = 30030a0101 ] || fail "$name: HTTP 400 for an answer other than malformedRequest" ;;
	*) fail "$name: expected HTTP 200 with an OCSP $want, got HTTP $code: $(head -c 300 "$OUT/http/$name.body")" ;;
	esac
	assert_eq application/ocsp-response "$(hdr "$name" Content-Type)" "Content-Type of $name"
	assert_eq "$hex" "$(hexof "$OUT/http/$name.body")" "DER of the answer to $name (unsigned $want)"
	out=$(openssl ocsp -respin "$OUT/http/$name.body" -resp_text -noverify 2>&1 || true)
	assert_contains "$out" "Responder Error: $want" "$name"
}
MALFORMED=30030a0101
UNAUTHORIZED=30030a0106

# ---- certificates and their URLs ----------------------------------------------------
kb_enroll dev1; KID[dev1]=$KB_KEY_ID
kb_enroll dev2; KID[dev2]=$KB_KEY_ID
kb_enroll dev3; KID[dev3]=$KB_KEY_ID
kb_enroll dev4; KID[dev4]=$KB_KEY_ID
OCSP_URL=$(openssl x509 -in "$OUT/dev1.pem" -noout -ocsp_uri)
assert_eq "$BASE/ocsp" "$OCSP_URL" "OCSP URL (AIA) of dev1"
aia=$(openssl x509 -in "$OUT/dev1.pem" -noout -ext authorityInfoAccess)
assert_contains "$aia" "CA Issuers - URI:$BASE/ca/issuing.der" "AIA caIssuers of dev1"
for n in dev2 dev3 dev4; do
	assert_eq "$OCSP_URL" "$(openssl x509 -in "$OUT/$n.pem" -noout -ocsp_uri)" "OCSP URL of $n"
done
SIGNER="$(kb_conf_path "$DIR" ocsp_cert)"
[ -s "$SIGNER" ] || fail "no OCSP signer certificate at $SIGNER (ocsp_cert in keybridge.conf)"

# ---- good, the delegated signer ---------------------------------------------------------
ocsp_ok "$OUT/q/good.txt" -cert "$OUT/dev1.pem" -resp_text
assert_eq good "$(cert_status "$OUT/q/good.txt" "$OUT/dev1.pem")" "status of dev1"
t=$(cat "$OUT/q/good.txt")
assert_contains "$t" "OCSP Response Status: successful (0x0)" "response to dev1"
assert_contains "$t" "Hash Algorithm: sha1" "CertID hash of the default request"
assert_match "$t" "Serial Number: 0*$(cert_serial_hex "$OUT/dev1.pem" | tr a-f A-F)" "serial in the response"
assert_contains "$t" "Next Update:" "response to dev1 (RFC 5019 2.2.4: nextUpdate)"
assert_contains "$t" "OCSP Signing" "signer certificate in the response (id-kp-OCSPSigning)"
# the certificate in the response is ca/ocsp.pem, not the issuing CA
awk '/-----BEGIN CERTIFICATE-----/ { p = 1 } p { print } /-----END CERTIFICATE-----/ { exit }' \
    "$OUT/q/good.txt" >"$OUT/q/signer-in-response.pem"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
assert_eq "$(fp "$SIGNER")" "$(fp "$OUT/q/signer-in-response.pem")" "signer certificate in the response = $SIGNER"
assert_ne "$(fp "$ISSUING")" "$(fp "$OUT/q/signer-in-response.pem")" "signer certificate vs the issuing CA"
# negative control: the same response does not verify against a foreign root
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$OUT/foreign-ca.key" -subj /CN=foreign-ca -days 2 -out "$OUT/foreign-ca.pem" 2>/dev/null
if timeout 20 openssl ocsp -issuer "$ISSUING" -cert "$OUT/dev1.pem" -url "$OCSP_URL" \
    -CAfile "$OUT/foreign-ca.pem" >"$OUT/q/foreign-root.txt" 2>&1; then
	fail "the OCSP response verified against a foreign root: $(cat "$OUT/q/foreign-root.txt")"
fi
assert_not_contains "$(cat "$OUT/q/foreign-root.txt")" "Response verify OK" "verification against a foreign root"

# nonce: echoed (no warning), and -no_nonce
ocsp_ok "$OUT/q/nonce.txt" -nonce -cert "$OUT/dev1.pem" -resp_text
t=$(cat "$OUT/q/nonce.txt")
assert_not_contains "$t" "WARNING: no nonce in response" "openssl ocsp -nonce"
assert_not_contains "$t" "Nonce Verify error" "openssl ocsp -nonce"
assert_contains "$t" "OCSP Nonce" "response to a request with a nonce"
assert_eq good "$(cert_status "$OUT/q/nonce.txt" "$OUT/dev1.pem")" "status of dev1 (-nonce)"
ocsp_ok "$OUT/q/nononce.txt" -no_nonce -cert "$OUT/dev1.pem" -resp_text
assert_eq good "$(cert_status "$OUT/q/nononce.txt" "$OUT/dev1.pem")" "status of dev1 (-no_nonce)"
assert_not_contains "$(cat "$OUT/q/nononce.txt")" "OCSP Nonce" "response to a request without a nonce"

# SHA-256 CertID: answered in SHA-256
ocsp_ok "$OUT/q/sha256.txt" -sha256 -cert "$OUT/dev1.pem" -resp_text
assert_eq good "$(cert_status "$OUT/q/sha256.txt" "$OUT/dev1.pem")" "status of dev1 (SHA-256 CertID)"
assert_contains "$(cat "$OUT/q/sha256.txt")" "Hash Algorithm: sha256" "CertID hash of the -sha256 request"
assert_not_contains "$(cat "$OUT/q/sha256.txt")" "Hash Algorithm: sha1" "CertID hash of the -sha256 request"

# two CertIDs in one request
ocsp_ok "$OUT/q/two.txt" -cert "$OUT/dev1.pem" -cert "$OUT/dev2.pem" -resp_text
assert_eq good "$(cert_status "$OUT/q/two.txt" "$OUT/dev1.pem")" "status of dev1 (two CertIDs)"
assert_eq good "$(cert_status "$OUT/q/two.txt" "$OUT/dev2.pem")" "status of dev2 (two CertIDs)"
assert_eq 2 "$(grep -c 'Cert Status:' "$OUT/q/two.txt")" "single responses for two CertIDs"
log "good: dev1 (SHA-1, SHA-256, nonce, no nonce), dev1+dev2 in one request"

# ---- GET and POST forms ---------------------------------------------------------------
# A request with a nonce whose base64 holds '+', '/' and '=', so that every
# encoding matters.  The length decides the '=' padding: pick the first set
# of CertIDs (hash, certificates) whose DER length is not a multiple of 3;
# the nonce is random: draw until '+' and '/' both appear.
GET_ARGS=()
for h in -sha1 -sha256; do
	for set in dev1 "dev1 dev4" dev4 "dev4 dev1 dev4"; do
		args=("$h")
		for c in $set; do args+=(-cert "$OUT/$c.pem"); done
		openssl ocsp -issuer "$ISSUING" "${args[@]}" -nonce -reqout "$OUT/q/get.der" 2>/dev/null
		if [ $(($(wc -c <"$OUT/q/get.der") % 3)) -ne 0 ]; then
			GET_ARGS=("${args[@]}")
			GET_GOOD=$(wc -w <<<"$set")
			break 2
		fi
	done
done
[ ${#GET_ARGS[@]} -gt 0 ] || fail "every candidate request is a multiple of 3 bytes long"
i=0
while :; do
	openssl ocsp -issuer "$ISSUING" "${GET_ARGS[@]}" -nonce -reqout "$OUT/q/get.der" 2>/dev/null
	B64=$(base64 -w0 "$OUT/q/get.der")
	case "$B64" in *+*/*=* | */*+*=*) break ;; esac
	i=$((i + 1))
	[ "$i" -lt 500 ] || fail "no request with '+', '/' and '=' in its base64 after 500 nonces"
done
log "GET request (${GET_ARGS[*]##*/}, nonce; $(wc -c <"$OUT/q/get.der") bytes DER): $B64"
ENC=$(b64url "$OUT/q/get.der")
SPACE=$(base64 -w0 "$OUT/q/get.der" | sed 's/+/%20/g; s/\//%2F/g; s/=/%3D/g')

# check_nonce_resp NAME: http NAME answered 200 application/ocsp-response,
# verified against the root, nonce matching get.der, every CertID good.
check_nonce_resp() {
	local out
	assert_eq application/ocsp-response "$(hdr "$1" Content-Type)" "Content-Type of $1"
	out=$(openssl ocsp -respin "$OUT/http/$1.body" -reqin "$OUT/q/get.der" -CAfile "$ROOT" \
	    -verify_other "$ISSUING" -resp_text 2>&1) || fail "$1: the answer does not verify: $out"
	assert_contains "$out" "Response verify OK" "$1"
	assert_not_contains "$out" "Nonce Verify error" "$1"
	assert_eq "$GET_GOOD" "$(grep -c 'Cert Status: good' <<<"$out")" "good single responses in $1"
	assert_eq "$GET_GOOD" "$(grep -c 'Cert Status:' <<<"$out")" "single responses in $1"
}
declare -A FORMS=(
	[get-encoded]="GET $BASE/ocsp/$ENC"
	[get-raw]="GET $BASE/ocsp/$B64"
	[get-double-slash]="GET $BASE/ocsp//$ENC"
	[get-plus-space]="GET $BASE/ocsp/$SPACE"
	[get-root-encoded]="GET $BASE/$ENC"
	[get-root-raw]="GET $BASE/$B64"
)
for name in "${!FORMS[@]}"; do
	read -r method url <<<"${FORMS[$name]}"
	code=$(http "$name" "$method" "$url")
	assert_eq 200 "$code" "$name: $method $url"
	check_nonce_resp "$name"
done
code=$(post_ocsp post "$OUT/q/get.der")
assert_eq 200 "$code" "POST /ocsp"
check_nonce_resp post
code=$(post_ocsp post-root "$OUT/q/get.der" "$BASE/")
assert_eq 200 "$code" "POST /"
check_nonce_resp post-root
# negative control for check_nonce_resp: another nonce does not match
openssl ocsp -issuer "$ISSUING" -cert "$OUT/dev1.pem" -nonce -reqout "$OUT/q/other-nonce.der" 2>/dev/null
if out=$(openssl ocsp -respin "$OUT/http/post.body" -reqin "$OUT/q/other-nonce.der" -CAfile "$ROOT" \
    -verify_other "$ISSUING" 2>&1); then
	fail "a response verified against a request with another nonce: $out"
fi
assert_contains "$out" "Nonce Verify error" "response checked against another request's nonce"
log "GET (encoded, raw, //, '+' as space, root) and POST (/ocsp, /) answered alike"

# ---- caching headers on GET (RFC 5019 6.2) ----------------------------------------------
openssl ocsp -issuer "$ISSUING" -cert "$OUT/dev2.pem" -no_nonce -reqout "$OUT/q/dev2.der" 2>/dev/null
DEV2_GET="$BASE/ocsp/$(b64url "$OUT/q/dev2.der")"
# dev2 was not pre-signed at its enrollment (docs/design.md "EST18"): its
# first GET with one CertID is signed live and queues the pre-signing;
# the cached answer follows within a moment
deadline=$((SECONDS + 10))
until code=$(http cache0 GET "$DEV2_GET") && [ "$code" = 200 ] &&
    [[ "$(hdr cache0 Cache-Control)" == *max-age=* ]]; do
	assert_eq 200 "$code" "GET dev2 (no nonce) before its answer is pre-signed"
	[ "$SECONDS" -lt "$deadline" ] || fail "dev2's answer was not pre-signed within 10 s of its first GET"
	sleep 0.1
done
code=$(http cache1 GET "$DEV2_GET")
assert_eq 200 "$code" "GET dev2 (no nonce)"
assert_eq application/ocsp-response "$(hdr cache1 Content-Type)" "Content-Type of GET dev2"
out=$(openssl ocsp -respin "$OUT/http/cache1.body" -issuer "$ISSUING" -cert "$OUT/dev2.pem" -no_nonce \
    -CAfile "$ROOT" 2>&1) || fail "GET dev2: the answer does not verify: $out"
assert_contains "$out" "Response verify OK" "GET dev2"
assert_contains "$out" "$OUT/dev2.pem: good" "GET dev2"
cc=$(hdr cache1 Cache-Control)
assert_match "$cc" '(^|[ ,])max-age=[0-9]+' "Cache-Control of GET dev2"
maxage=$(grep -Eo 'max-age=[0-9]+' <<<"$cc" | head -n 1 | cut -d= -f2)
[ "$maxage" -gt 0 ] || fail "Cache-Control max-age of GET dev2 is $maxage, expected > 0 ($cc)"
lm=$(hdr cache1 Last-Modified)
ex=$(hdr cache1 Expires)
etag=$(hdr cache1 ETag)
[ -n "$lm" ] || fail "GET dev2: no Last-Modified"
[ -n "$ex" ] || fail "GET dev2: no Expires"
[ -n "$etag" ] || fail "GET dev2: no ETag"
lm_s=$(date -u -d "$lm" +%s) || fail "GET dev2: Last-Modified is not a date: $lm"
ex_s=$(date -u -d "$ex" +%s) || fail "GET dev2: Expires is not a date: $ex"
now=$(date +%s)
[ "$lm_s" -le $((now + 5)) ] || fail "GET dev2: Last-Modified in the future: $lm"
[ "$ex_s" -gt "$now" ] || fail "GET dev2: Expires not in the future: $ex"
log "GET dev2: Cache-Control '$cc', Last-Modified '$lm', Expires '$ex', ETag $etag"
# unchanged status: the same ETag and bytes again, and 304 on If-None-Match
code=$(http cache2 GET "$DEV2_GET")
assert_eq 200 "$code" "second GET dev2"
assert_eq "$etag" "$(hdr cache2 ETag)" "ETag of the second GET dev2 (status unchanged)"
cmp -s "$OUT/http/cache1.body" "$OUT/http/cache2.body" ||
	fail "the second GET dev2 gave other bytes under the same ETag"
code=$(http cache304 GET "$DEV2_GET" -H "If-None-Match: $etag")
assert_eq 304 "$code" "GET dev2 with If-None-Match: $etag"
assert_eq 0 "$(wc -c <"$OUT/http/cache304.body")" "body of the 304"
# negative control: another tag gets the full answer
code=$(http cache-other GET "$DEV2_GET" -H 'If-None-Match: "not-the-etag"')
assert_eq 200 "$code" "GET dev2 with a foreign If-None-Match"
cmp -s "$OUT/http/cache1.body" "$OUT/http/cache-other.body" ||
	fail "GET dev2 with a foreign If-None-Match gave other bytes"

# ---- revocation: key revoke --------------------------------------------------------------
kb_ok key revoke -d "$DIR" --key-id "${KID[dev2]}" --reason keyCompromise >/dev/null
t0=$(date +%s%N)
n=0
while :; do
	n=$((n + 1))
	ocsp_ok "$OUT/q/revoked.txt" -no_nonce -cert "$OUT/dev2.pem"
	st=$(cert_status "$OUT/q/revoked.txt" "$OUT/dev2.pem")
	[ "$st" != revoked ] || break
	assert_eq good "$st" "status of dev2 while waiting for the revocation"
	[ "$(ms_since "$t0")" -lt 5000 ] || fail "dev2 still $st 5 s after key revoke returned"
done
lat=$(ms_since "$t0")
log "dev2 revoked over OCSP ${lat} ms after key revoke returned ($n queries)"
[ "$lat" -le 1000 ] || fail "revocation visible over OCSP after $lat ms, expected within 1000 ms"
t=$(cat "$OUT/q/revoked.txt")
assert_contains "$t" "Reason: keyCompromise" "revoked dev2"
kb_entries_from 0 "$OUT/entries.json"
idx=$(kb_entries_with "$OUT/entries.json" key-revoke "key-id ${KID[dev2]}")
assert_eq 1 "$(grep -c . <<<"$idx" || true)" "key-revoke entries for dev2"
rtime=$(jq -r --argjson i "$idx" '.[] | select(.index == $i) | .entry' "$OUT/entries.json" |
    sed -n 's/^time //p')
# revocationTime is the ledger's time of the block that took the entry (as
# the registry records it), not the time the revoking account wrote in the
# entry: the same or a little later
ktime=$(api GET "/api/v1/keys/${KID[dev2]}" | jq -r .revoked_at)
assert_time_near "$rtime" "$ktime" "the registry's revocation time of dev2's key"
want=$(date -u -d "$ktime" '+%b %e %H:%M:%S %Y GMT') || fail "registry time '$ktime' is not a date"
assert_contains "$t" "Revocation Time: $want" "revocation time of dev2 (registry: $ktime, entry: $rtime)"
# the others are untouched; two CertIDs: one good, one revoked
ocsp_ok "$OUT/q/two-after.txt" -cert "$OUT/dev1.pem" -cert "$OUT/dev2.pem"
assert_eq good "$(cert_status "$OUT/q/two-after.txt" "$OUT/dev1.pem")" "dev1 after dev2's revocation"
assert_eq revoked "$(cert_status "$OUT/q/two-after.txt" "$OUT/dev2.pem")" "dev2 beside dev1"
ocsp_ok "$OUT/q/sha256-revoked.txt" -sha256 -cert "$OUT/dev2.pem"
assert_eq revoked "$(cert_status "$OUT/q/sha256-revoked.txt" "$OUT/dev2.pem")" "dev2 (SHA-256 CertID)"
# the cached GET answer is not served any more: 200 revoked, a new ETag
code=$(http cache-revoked GET "$DEV2_GET" -H "If-None-Match: $etag")
assert_eq 200 "$code" "GET dev2 with the old ETag after the revocation"
assert_ne "$etag" "$(hdr cache-revoked ETag)" "ETag of dev2 after the revocation"
out=$(openssl ocsp -respin "$OUT/http/cache-revoked.body" -issuer "$ISSUING" -cert "$OUT/dev2.pem" \
    -no_nonce -CAfile "$ROOT" 2>&1) || fail "GET dev2 after the revocation does not verify: $out"
assert_contains "$out" "$OUT/dev2.pem: revoked" "GET dev2 after the revocation"

# ---- revocation: superseded by re-enrollment ------------------------------------------------
est_enroll "$EST/simplereenroll" "$(est_csr dev3 dev3-renew)" "$OUT/dev3-new.pem" \
    --cert "$OUT/dev3.pem" --key "$OUT/keys/dev3.key"
assert_ne "$(cert_serial_hex "$OUT/dev3.pem")" "$(cert_serial_hex "$OUT/dev3-new.pem")" "serial of the re-enrolled dev3"
t0=$(date +%s%N)
while :; do
	ocsp_ok "$OUT/q/superseded.txt" -no_nonce -cert "$OUT/dev3.pem" -cert "$OUT/dev3-new.pem"
	[ "$(cert_status "$OUT/q/superseded.txt" "$OUT/dev3.pem")" != revoked ] || break
	[ "$(ms_since "$t0")" -lt 5000 ] || fail "the superseded dev3 is not revoked 5 s after the re-enrollment: $(cat "$OUT/q/superseded.txt")"
done
log "superseded dev3 revoked over OCSP $(ms_since "$t0") ms after the re-enrollment answer"
assert_contains "$(cat "$OUT/q/superseded.txt")" "Reason: superseded" "the superseded dev3"
assert_eq good "$(cert_status "$OUT/q/superseded.txt" "$OUT/dev3-new.pem")" "the re-enrolled dev3"
# the new certificate's cert-issued entry revoked dev3 (supersedes), no
# cert-revoked entry did
kb_entries_from 0 "$OUT/entries.json"
assert_eq "" "$(kb_entries_with "$OUT/entries.json" cert-revoked "serial $(cert_serial_hex "$OUT/dev3.pem")")" \
    "cert-revoked entries for the superseded dev3"
idx=$(kb_entries_with "$OUT/entries.json" cert-issued "serial $(cert_serial_hex "$OUT/dev3-new.pem")" \
    "supersedes $(cert_serial_hex "$OUT/dev3.pem")")
assert_eq 1 "$(grep -c . <<<"$idx" || true)" "cert-issued entries of dev3-new superseding dev3"
rtime=$(jq -r --argjson i "$idx" '.[] | select(.index == $i) | .entry' "$OUT/entries.json" |
    sed -n 's/^time //p')
ctime=$(api GET "/api/v1/certs/$(cert_serial_hex "$OUT/dev3.pem")" | jq -r .revoked_at)
assert_time_near "$rtime" "$ctime" "the registry's revocation time of the superseded dev3"
assert_contains "$(cat "$OUT/q/superseded.txt")" "Revocation Time: $(date -u -d "$ctime" '+%b %e %H:%M:%S %Y GMT')" \
    "revocation time of the superseded dev3 (registry: $ctime, entry: $rtime)"

# ---- a serial never issued -------------------------------------------------------------------
NEVER="0x7$(openssl rand -hex 15)"
for h in sha1 sha256; do
	ocsp_ok "$OUT/q/never-$h.txt" "-$h" -serial "$NEVER" -resp_text
	t=$(cat "$OUT/q/never-$h.txt")
	assert_eq revoked "$(cert_status "$OUT/q/never-$h.txt" "$NEVER")" "status of the never-issued serial $NEVER ($h)"
	assert_contains "$t" "Reason: certificateHold" "never-issued serial ($h)"
	assert_contains "$t" "Revocation Time: Jan  1 00:00:00 1970 GMT" "never-issued serial ($h)"
	assert_contains "$t" "Hash Algorithm: $h" "never-issued serial ($h)"
	# RFC 6960 2.2: the extended-revoke extension among the responseExtensions
	ext=$(awk '/^    Response Extensions:/ { p = 1; next } /^    [^ ]/ { p = 0 } p' "$OUT/q/never-$h.txt")
	assert_match "$ext" '(valid|1\.3\.6\.1\.5\.5\.7\.48\.1\.9|[Ee]xtended)' "responseExtensions for the never-issued serial ($h) (openssl names 1.3.6.1.5.5.7.48.1.9 'valid')"
done
ocsp_q "$OUT/q/never.resp.txt" -no_nonce -serial "$NEVER" -respout "$OUT/q/never.der" ||
	fail "openssl ocsp -serial $NEVER: $(cat "$OUT/q/never.resp.txt")"
assert_contains "$(hexof "$OUT/q/never.der")" 06092b0601050507300109 "DER of the answer for a never-issued serial (OID 1.3.6.1.5.5.7.48.1.9)"
# beside a good one; and an issued serial given as -serial is answered by serial
ocsp_ok "$OUT/q/mixed.txt" -cert "$OUT/dev1.pem" -serial "$NEVER" -serial "0x$(cert_serial_hex "$OUT/dev4.pem")"
assert_eq good "$(cert_status "$OUT/q/mixed.txt" "$OUT/dev1.pem")" "dev1 beside a never-issued serial"
assert_eq revoked "$(cert_status "$OUT/q/mixed.txt" "$NEVER")" "never-issued serial beside dev1"
assert_eq good "$(cert_status "$OUT/q/mixed.txt" "0x$(cert_serial_hex "$OUT/dev4.pem")")" "dev4 asked by -serial"
# control: the good responses carry no extended-revoke extension
ocsp_q "$OUT/q/good.resp.txt" -no_nonce -cert "$OUT/dev1.pem" -respout "$OUT/q/good.der" ||
	fail "openssl ocsp dev1 -respout: $(cat "$OUT/q/good.resp.txt")"
assert_not_contains "$(hexof "$OUT/q/good.der")" 06092b0601050507300109 "DER of the answer for dev1 alone"
log "never-issued serial $NEVER: revoked, certificateHold, 1970, extended-revoke"

# ---- foreign issuers: unauthorized, unsigned -------------------------------------------------
fports=$(kb_free_ports 2)
KB_USED_PORTS="$KB_USED_PORTS $fports"
kb_run init "$OUT/other" --est-listen "127.0.0.1:${fports% *}" --http-listen "127.0.0.1:${fports#* }"
[ "$KB_RC" -eq 0 ] || fail "keybridge init $OUT/other: $(cat "$KB_STDERR")"
# another keybridge's issuing CA has the same subject: only the key hash differs
assert_eq "$(openssl x509 -in "$ISSUING" -noout -subject)" "$(openssl x509 -in "$OUT/other/ca/issuing.pem" -noout -subject)" \
    "subject of the other keybridge's issuing CA"
openssl req -new -key "$OUT/keys/dev1.key" -subj /CN=foreign-leaf -out "$OUT/foreign-leaf.csr"
openssl x509 -req -in "$OUT/foreign-leaf.csr" -CA "$OUT/foreign-ca.pem" -CAkey "$OUT/foreign-ca.key" \
    -set_serial "0x$(cert_serial_hex "$OUT/dev1.pem")" -days 1 -out "$OUT/foreign-leaf.pem" 2>/dev/null
for kind in keybridge openssl; do
	if [ "$kind" = keybridge ]; then
		args=(-issuer "$OUT/other/ca/issuing.pem" -serial "0x$(cert_serial_hex "$OUT/dev1.pem")")
	else
		args=(-issuer "$OUT/foreign-ca.pem" -cert "$OUT/foreign-leaf.pem")
	fi
	rc=0
	timeout 20 openssl ocsp "${args[@]}" -url "$OCSP_URL" -CAfile "$ROOT" -no_nonce -timeout 10 \
	    -respout "$OUT/q/foreign-$kind.der" >"$OUT/q/foreign-$kind.txt" 2>&1 || rc=$?
	assert_contains "$(cat "$OUT/q/foreign-$kind.txt")" "Responder Error: unauthorized (6)" "CertID of the $kind foreign issuer"
	assert_eq "$UNAUTHORIZED" "$(hexof "$OUT/q/foreign-$kind.der")" "DER of the answer for the $kind foreign issuer (unsigned)"
	[ "$rc" -ne 0 ] || fail "openssl ocsp accepted the unauthorized answer (exit 0)"
done
# over GET and POST by hand too
openssl ocsp -issuer "$OUT/foreign-ca.pem" -cert "$OUT/foreign-leaf.pem" -no_nonce -reqout "$OUT/q/foreign.der" 2>/dev/null
code=$(post_ocsp foreign-post "$OUT/q/foreign.der")
expect_ocsp_error foreign-post "$code" "unauthorized (6)" "$UNAUTHORIZED"
code=$(http foreign-get GET "$BASE/ocsp/$(b64url "$OUT/q/foreign.der")")
expect_ocsp_error foreign-get "$code" "unauthorized (6)" "$UNAUTHORIZED"
log "foreign issuers: unauthorized (6), unsigned"

# ---- malformed requests, limits, methods ---------------------------------------------------------
openssl ocsp -issuer "$ISSUING" -cert "$OUT/dev1.pem" -no_nonce -reqout "$OUT/q/dev1.der" 2>/dev/null
printf 'hello, OCSP' >"$OUT/q/garbage-text"
printf '\x30\x00' >"$OUT/q/empty-seq"
: >"$OUT/q/empty"
head -c 1000 /dev/urandom >"$OUT/q/random-1000"
for f in garbage-text empty-seq empty random-1000; do
	code=$(post_ocsp "bad-$f" "$OUT/q/$f")
	expect_ocsp_error "bad-$f" "$code" "malformedrequest (1)" "$MALFORMED"
done
for g in '%21%21%21not-base64' AAAA "$(head -c 30 "$OUT/q/dev1.der" | base64 -w0 | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')"; do
	code=$(http bad-get GET "$BASE/ocsp/$g")
	expect_ocsp_error bad-get "$code" "malformedrequest (1)" "$MALFORMED"
done

# make_serials FILE N [ARGS]: a request for N never-issued serials of our issuer.
make_serials() {
	local f=$1 n=$2 i args=()
	shift 2
	for ((i = 1; i <= n; i++)); do
		args+=(-serial "$(printf '0x7%031x' "$i")")
	done
	openssl ocsp -issuer "$ISSUING" -no_nonce "$@" "${args[@]}" -reqout "$f" >/dev/null 2>&1 ||
		fail "openssl ocsp -reqout with $n serials failed"
}
# 16 CertIDs: answered (the limit); 17 and 100 (7.7 KB, under 10 KiB): malformedRequest
make_serials "$OUT/q/16.der" 15 -cert "$OUT/dev1.pem"
code=$(post_ocsp sixteen "$OUT/q/16.der")
assert_eq 200 "$code" "POST of 16 CertIDs"
out=$(openssl ocsp -respin "$OUT/http/sixteen.body" -CAfile "$ROOT" -verify_other "$ISSUING" -resp_text 2>&1) ||
	fail "the answer to 16 CertIDs does not verify: $out"
assert_eq 16 "$(grep -c 'Cert Status:' <<<"$out")" "single responses to 16 CertIDs"
assert_eq 1 "$(grep -c 'Cert Status: good' <<<"$out")" "good single responses to 16 CertIDs (dev1)"
for n in 17 100; do
	make_serials "$OUT/q/$n.der" "$n"
	[ "$(wc -c <"$OUT/q/$n.der")" -le 10240 ] || fail "the $n-CertID request is over 10 KiB"
	code=$(post_ocsp "many-$n" "$OUT/q/$n.der")
	expect_ocsp_error "many-$n" "$code" "malformedrequest (1)" "$MALFORMED"
done
code=$(http many-17-get GET "$BASE/ocsp/$(b64url "$OUT/q/17.der")")
expect_ocsp_error many-17-get "$code" "malformedrequest (1)" "$MALFORMED"

# body size: 10240 bytes is read (and is garbage), 10241 is refused
head -c 10240 /dev/urandom >"$OUT/q/10240"
head -c 10241 /dev/urandom >"$OUT/q/10241"
code=$(post_ocsp body-10240 "$OUT/q/10240")
expect_ocsp_error body-10240 "$code" "malformedrequest (1)" "$MALFORMED"
code=$(post_ocsp body-10241 "$OUT/q/10241")
assert_eq 413 "$code" "POST of 10241 bytes"
code=$(post_ocsp body-10241-root "$OUT/q/10241" "$BASE/")
assert_eq 413 "$code" "POST / of 10241 bytes"

# methods
for m in PUT DELETE PATCH; do
	code=$(http "method-$m" "$m" "$OCSP_URL" -H 'Content-Type: application/ocsp-request' \
	    --data-binary "@$OUT/q/dev1.der")
	assert_eq 405 "$code" "$m /ocsp"
done
code=$(http method-put-get-path PUT "$BASE/ocsp/$(b64url "$OUT/q/dev1.der")")
assert_eq 405 "$code" "PUT /ocsp/<b64>"
code=$(http method-put-root PUT "$BASE/" --data-binary "@$OUT/q/dev1.der")
assert_eq 405 "$code" "PUT /"
log "malformed, 16/17/100 CertIDs, 10240/10241 bytes, 405: as expected"

# ---- bad input does not disturb the daemon --------------------------------------------------------
# every truncation of a valid request
len=$(wc -c <"$OUT/q/dev1.der")
for ((i = 1; i < len; i++)); do
	head -c "$i" "$OUT/q/dev1.der" >"$OUT/q/trunc"
	code=$(post_ocsp trunc "$OUT/q/trunc")
	expect_ocsp_error trunc "$code" "malformedrequest (1)" "$MALFORMED"
done
# random bodies of many sizes
for n in 1 2 3 7 64 255 256 1024 4096 9999; do
	head -c "$n" /dev/urandom >"$OUT/q/rand"
	code=$(post_ocsp rand "$OUT/q/rand")
	expect_ocsp_error rand "$code" "malformedrequest (1)" "$MALFORMED"
done
# 1000 CertIDs: over 10 KiB by POST (413); by GET, an error of some kind
make_serials "$OUT/q/1000.der" 1000
size=$(wc -c <"$OUT/q/1000.der")
log "1000-CertID request: $size bytes"
[ "$size" -gt 10240 ] || fail "the 1000-CertID request is only $size bytes"
code=$(post_ocsp many-1000 "$OUT/q/1000.der")
assert_eq 413 "$code" "POST of 1000 CertIDs ($size bytes)"
code=$(curl -sS --path-as-is -o "$OUT/http/many-1000-get.body" -w '%{http_code}' --max-time 20 \
    "$BASE/ocsp/$(b64url "$OUT/q/1000.der")") || code="none ($code)"
case "$code" in
4??) log "GET of 1000 CertIDs: HTTP $code" ;;
200) assert_eq "$MALFORMED" "$(hexof "$OUT/http/many-1000-get.body")" "GET of 1000 CertIDs answered 200" ;;
*) fail "GET of 1000 CertIDs: expected a 4xx or malformedRequest, got HTTP $code" ;;
esac
ocsp_ok "$OUT/q/after-bad.txt" -cert "$OUT/dev1.pem"
assert_eq good "$(cert_status "$OUT/q/after-bad.txt" "$OUT/dev1.pem")" "dev1 after the bad input"

# slow clients: connections holding half-sent headers and half-sent bodies
# while a normal query is answered.
python3 - "$KB_HTTP_PORT" "$OUT/slow.ready" "$OUT/slow.release" >"$OUT/slow.log" 2>&1 <<'EOF' &
import os, socket, sys, time
port, ready, release = int(sys.argv[1]), sys.argv[2], sys.argv[3]
socks = []
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port), 5)
    if i % 2:
        s.sendall(b"POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\nContent-Le")
    else:
        s.sendall(b"POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\n"
                  b"Content-Length: 500\r\n\r\n" + b"\x30\x82\x01\xf0" + b"\x00" * 96)
    socks.append(s)
open(ready, "w").close()
deadline = time.time() + 60
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.05)
for s in socks:
    s.close()
EOF
SLOW_PID=$!
kb_track "$SLOW_PID"
deadline=$((SECONDS + 10))
until [ -e "$OUT/slow.ready" ]; do
	kill -0 "$SLOW_PID" 2>/dev/null || fail "the slow client exited early: $(cat "$OUT/slow.log")"
	[ "$SECONDS" -lt "$deadline" ] || fail "the slow client did not connect within 10 s"
	sleep 0.05
done
t0=$(date +%s%N)
ocsp_ok "$OUT/q/during-slow.txt" -cert "$OUT/dev1.pem" -cert "$OUT/dev2.pem"
assert_eq good "$(cert_status "$OUT/q/during-slow.txt" "$OUT/dev1.pem")" "dev1 while 20 slow clients hold connections"
assert_eq revoked "$(cert_status "$OUT/q/during-slow.txt" "$OUT/dev2.pem")" "dev2 while 20 slow clients hold connections"
log "query answered in $(ms_since "$t0") ms while 20 slow clients held half-sent requests"
kill -0 "$SLOW_PID" 2>/dev/null || fail "the slow client ended before the query: $(cat "$OUT/slow.log")"
: >"$OUT/slow.release"
kb_wait_gone "$SLOW_PID" 10 || fail "the slow client did not finish"
rc=0
wait "$SLOW_PID" || rc=$?
kb_untrack "$SLOW_PID"
assert_eq 0 "$rc" "exit status of the slow client ($(cat "$OUT/slow.log"))"
ocsp_ok "$OUT/q/after-slow.txt" -nonce -cert "$OUT/dev1.pem"
assert_eq good "$(cert_status "$OUT/q/after-slow.txt" "$OUT/dev1.pem")" "dev1 after the slow clients"

kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the OCSP test"
log "OCSP responder OK"
