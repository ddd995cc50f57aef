#!/usr/bin/env bash
# GET /api/v1/certs[/SERIAL], a key's certificates in /api/v1/keys/ID and
# the key list's filters (status, profile, name prefix):
# every certificate the bridge issued is listed once across pages of every
# size (no serial skipped or repeated), filters by status and key select
# exactly the right ones, and each certificate's status is the one
# `openssl ocsp` gets from the responder (good; revoked through its key,
# keyCompromise; superseded after a re-enrollment).  Bad parameters
# (negative, huge, non-numeric, injection strings, malformed serials and
# key ids) get a 400 JSON error, an unknown serial a 404 cert_not_found.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"

declare -A KID SERIAL
for n in a b c d e; do
	kb_enroll "$n"
	KID[$n]=$KB_KEY_ID
	SERIAL[$n]=$(cert_serial_hex "$OUT/$n.pem")
	# read once while good: the bridge keeps this answer (api_cache_entries)
	# and must drop it when b's key or e's first certificate is revoked below
	assert_eq good "$(api GET "/api/v1/certs/${SERIAL[$n]}" | jq -r .status)" "$n before any revocation"
done
# e re-enrolls (same key) over mutual TLS: its first certificate is superseded
est_enroll /.well-known/est/simplereenroll "$(est_csr e e2)" "$OUT/e2.pem" \
    --cert "$OUT/e.pem" --key "$OUT/keys/e.key"
SERIAL[e2]=$(cert_serial_hex "$OUT/e2.pem")
for n in a b c d e e2; do
	kb_wait_kept "$OUT/$n.pem"
done
kb_ok key revoke -d "$DIR" --key-id "${KID[b]}" --reason keyCompromise >/dev/null

# ---- one certificate, and what OCSP says of it -----------------------------------------------
ocsp_status() {
	openssl ocsp -issuer "$ISSUING" -cert "$1" -url "$KB_HTTP_URL/ocsp" -CAfile "$ROOT" -no_nonce 2>&1 |
	    awk -v f="$1:" '$1 == f { print $2 }'
}
for n in a b c d e e2; do
	j=$(api GET "/api/v1/certs/${SERIAL[$n]}")
	assert_eq "${SERIAL[$n]}" "$(jq -r .serial <<<"$j")" "serial of $n"
	assert_eq "$(cert_sha256 "$OUT/$n.pem")" "$(jq -r .cert_sha256 <<<"$j")" "cert_sha256 of $n"
	assert_eq "$(ocsp_status "$OUT/$n.pem")" "$(jq -r .status <<<"$j")" "API status of $n vs openssl ocsp"
	assert_eq false "$(jq -r .expired <<<"$j")" "expired of $n"
done
assert_eq revoked "$(api GET "/api/v1/certs/${SERIAL[b]}" | jq -r .status)" "b (key revoked)"
assert_eq keyCompromise "$(api GET "/api/v1/certs/${SERIAL[b]}" | jq -r .reason)" "reason of b"
assert_eq superseded "$(api GET "/api/v1/certs/${SERIAL[e]}" | jq -r .reason)" "reason of e's first certificate"
assert_eq good "$(api GET "/api/v1/certs/${SERIAL[e2]}" | jq -r .status)" "e's new certificate"

# ---- the key shows its certificates, oldest first -----------------------------------------------
j=$(api GET "/api/v1/keys/${KID[e]}")
assert_eq "${SERIAL[e]} ${SERIAL[e2]}" "$(jq -r '[.certificates[].serial] | join(" ")' <<<"$j")" "certificates of key e"
assert_eq "revoked good" "$(jq -r '[.certificates[].status] | join(" ")' <<<"$j")" "their statuses"

# ---- lists: every page size gives each certificate exactly once ------------------------------------
all=$(printf '%s\n' "${SERIAL[@]}" | sort)
for limit in 1 2 3 6 100; do
	got="" after=""
	for ((p = 0; p < 20; p++)); do
		j=$(api GET "/api/v1/certs?limit=$limit${after:+&after=$after}")
		n=$(jq '.certificates | length' <<<"$j")
		[ "$n" -le "$limit" ] || fail "page of $n certificates with limit=$limit"
		got+=$(jq -r '.certificates[].serial' <<<"$j")$'\n'
		after=$(jq -r '.next // empty' <<<"$j")
		[ -n "$after" ] || break
	done
	assert_eq "$all" "$(grep . <<<"$got" | sort)" "certificates listed with limit=$limit"
done
assert_eq "$(printf '%s\n' "${SERIAL[b]}" "${SERIAL[e]}" | sort)" \
    "$(api GET '/api/v1/certs?status=revoked' | jq -r '.certificates[].serial' | sort)" "status=revoked"
assert_eq 4 "$(api GET '/api/v1/certs?status=good' | jq '.certificates | length')" "status=good"
assert_eq "$(printf '%s\n' "${SERIAL[e]}" "${SERIAL[e2]}" | sort)" \
    "$(api GET "/api/v1/certs?key_id=${KID[e]}" | jq -r '.certificates[].serial' | sort)" "key_id filter"

# ---- key lists filter by status, profile and name prefix ---------------------------------------------
new_key web-1 p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/web-1.pub" --name web-1 --profile server --dns web-1.example >/dev/null
new_key web-2 p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/web-2.pub" --name web-2 --profile server >/dev/null
names() { api GET "/api/v1/keys?$1" | jq -r '[.keys[].name] | sort | join(" ")'; }
assert_eq "web-1 web-2" "$(names profile=server)" "keys?profile=server"
assert_eq "a b c d e" "$(names profile=device)" "keys?profile=device"
assert_eq "web-1 web-2" "$(names name=web)" "keys?name=web"
assert_eq "web-1" "$(names name=web-1)" "keys?name=web-1"
assert_eq "" "$(names name=web-3)" "keys?name=web-3"
assert_eq "b" "$(names status=revoked)" "keys?status=revoked"
assert_eq "a c d e" "$(names 'status=active&profile=device')" "active device keys"
# the filters page like the rest: limit=1 walks web-1 then web-2
p1=$(api GET '/api/v1/keys?profile=server&limit=1')
assert_eq 1 "$(jq '.keys | length' <<<"$p1")" "one server key per page"
p2=$(api GET "/api/v1/keys?profile=server&limit=1&after=$(jq -r .next <<<"$p1")")
assert_eq "web-1 web-2" "$( (jq -r '.keys[].name' <<<"$p1"; jq -r '.keys[].name' <<<"$p2") | sort | paste -sd' ')" \
    "server keys across two pages"
for q in 'profile=operator' 'profile=' 'name=' 'name=%25' 'name=a%27%20OR%201%3D1' "name=$(printf 'n%.0s' {1..65})"; do
	api_expect_error 400 bad_parameter GET "/api/v1/keys?$q"
done

# ---- refusals ---------------------------------------------------------------------------------------
api_expect_error 404 cert_not_found GET /api/v1/certs/abcdef
for q in 'limit=-1' 'limit=0' 'limit=99999999999999999999' 'limit=abc' "limit=1%27%20OR%201%3D1" \
    'status=expired' 'status=%27%3B%20DROP%20TABLE%20certs%3B--' 'key_id=xyz' 'after=0abc' \
    "after=$(printf 'f%.0s' {1..41})"; do
	api_expect_error 400 bad_parameter GET "/api/v1/certs?$q"
done
# the spelling openssl prints (uppercase, a leading zero) is taken too
up=$(openssl x509 -in "$OUT/a.pem" -noout -serial | cut -d= -f2)
assert_eq "${SERIAL[a]}" "$(api GET "/api/v1/certs/$up" | jq -r .serial)" "GET /api/v1/certs/$up (openssl's spelling)"
assert_eq "${SERIAL[a]}" "$(api GET "/api/v1/certs/00${SERIAL[a]}" | jq -r .serial)" "leading zeros"
for s in 0 'ab%20cd' "$(printf 'f%.0s' {1..42})" "1'%20OR%20'1'='1" 'xyz'; do
	api_expect_error 400 bad_parameter GET "/api/v1/certs/$s"
done
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ROOT" -X POST "$KB_URL/api/v1/certs")
assert_eq 405 "$code" "POST /api/v1/certs"

# ---- the certificate itself (PEM on request) --------------------------------------------------------
# ?format=pem, or Accept: application/pem-certificate-chain: the very
# certificate EST handed out, then the issuing CA; it verifies to the root.
for how in '?format=pem' ''; do
	hdr=()
	[ -n "$how" ] || hdr=(-H 'Accept: application/json;q=0.5, application/pem-certificate-chain')
	code=$(curl -sS -D "$OUT/pem.hdr" -o "$OUT/a-api.pem" -w '%{http_code}' --cacert "$ROOT" "${hdr[@]}" \
	    "$KB_URL/api/v1/certs/${SERIAL[a]}$how")
	assert_eq 200 "$code" "GET /api/v1/certs/SERIAL$how ${hdr[*]}"
	assert_match "$(tr -d '\r' <"$OUT/pem.hdr" | grep -i '^content-type:')" 'application/pem-certificate-chain' \
	    "Content-Type of the PEM answer"
	assert_eq 2 "$(grep -c 'BEGIN CERTIFICATE' "$OUT/a-api.pem")" "certificates in the PEM chain"
	assert_eq "$(openssl x509 -in "$OUT/a.pem" -outform DER | sha256sum)" \
	    "$(openssl x509 -in "$OUT/a-api.pem" -outform DER | sha256sum)" "the API's PEM is the enrolled certificate"
	openssl verify -CAfile "$ROOT" -untrusted "$OUT/a-api.pem" "$OUT/a-api.pem" >/dev/null ||
		fail "the PEM chain from the API does not verify to the root"
done
# JSON stays the default, also when PEM is only acceptable, not preferred
assert_eq "${SERIAL[a]}" "$(curl -sS --cacert "$ROOT" -H 'Accept: application/json, application/pem-certificate-chain;q=0.1' \
    "$KB_URL/api/v1/certs/${SERIAL[a]}" | jq -r .serial)" "JSON when it is preferred"
assert_eq "${SERIAL[a]}" "$(api GET "/api/v1/certs/${SERIAL[a]}?format=json" | jq -r .serial)" "format=json"
api_expect_error 400 bad_parameter GET "/api/v1/certs/${SERIAL[a]}?format=der"
api_expect_error 404 cert_not_found GET "/api/v1/certs/abcdef?format=pem"

kb_stop
log "OK"
