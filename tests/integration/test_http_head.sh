#!/usr/bin/env bash
# HEAD: libevent 2.1's evhttp writes a reply's body after a HEAD too (and
# no Content-Length), which a kept-alive client then reads as the start of
# the next answer.  The API and the dashboard answer HEAD properly: the
# headers GET would have, its Content-Length, no body, and the next request
# on the same connection is answered normally.  Routes that do not (EST,
# OCSP, CRLs, /metrics) answer 405 with Allow, also without a body.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"
HOSTPORT=${KB_URL#https://}

# pipelined HOST PATH METHOD: HEAD (or METHOD) PATH then GET /api/v1/status
# on one TLS connection; the raw answer in OUT/pipe.txt.
pipelined() {
	printf '%s %s HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$2" "$1" |
	    timeout 10 openssl s_client -quiet -CAfile "$DIR/ca/root.pem" -connect "$HOSTPORT" 2>/dev/null >"$OUT/pipe.txt" || true
}

for path in /api/v1/status /api/v1/keys /api/v1/ledger/checkpoint /api/v1/events /dashboard/; do
	pipelined "$path" HEAD
	n=$(grep -ac '^HTTP/1.1 200' "$OUT/pipe.txt" || true)
	assert_eq 2 "$n" "answers to HEAD $path then GET /api/v1/status on one connection ($(head -c 300 "$OUT/pipe.txt"))"
	# the second answer starts right after the first one's headers
	first=$(awk 'BEGIN { RS = "\r\n\r\n" } NR == 2 { print substr($0, 1, 15); exit }' "$OUT/pipe.txt")
	assert_eq "HTTP/1.1 200 OK" "$first" "what follows the HEAD $path answer's headers"
	if [ "$path" != /api/v1/events ]; then
		get=$(curl -sS --cacert "$DIR/ca/root.pem" "$KB_URL$path" | wc -c)
		cl=$(curl -sS -I --cacert "$DIR/ca/root.pem" "$KB_URL$path" | tr -d '\r' | awk -F': ' 'tolower($1) == "content-length" { print $2 }')
		# status changes its uptime between the two requests: same length within a digit
		[ $((get - cl)) -le 1 ] && [ $((cl - get)) -le 1 ] ||
			fail "HEAD $path: Content-Length $cl, GET sends $get bytes"
	fi
	log "HEAD $path: headers only, the connection goes on"
done

for url in "$KB_URL/.well-known/est/cacerts" "$KB_HTTP_URL/metrics" "$KB_HTTP_URL/crl/x.crl" "$KB_HTTP_URL/ocsp/MAo="; do
	hdr=$(curl -sS -I --max-time 10 --cacert "$DIR/ca/root.pem" "$url" | tr -d '\r')
	assert_match "$(head -n 1 <<<"$hdr")" '^HTTP/1.1 405' "HEAD $url"
	assert_match "$(grep -i '^allow:' <<<"$hdr")" 'GET' "Allow of HEAD $url"
done
pipelined /.well-known/est/cacerts HEAD
assert_eq 2 "$(grep -ac '^HTTP/1.1 ' "$OUT/pipe.txt" || true)" "answers to HEAD cacerts then GET status on one connection"
kb_stop
