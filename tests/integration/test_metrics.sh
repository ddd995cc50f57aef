#!/usr/bin/env bash
# GET /metrics on the plain-HTTP listener: the text passes `promtool check
# metrics` (Prometheus's own parser and linter) before and after traffic,
# and the counters move by exactly what was done in between: OCSP GETs
# (requests, cache hits, the ocsp endpoint's 200s and its latency
# histogram), one EST enrollment (est 200, entries appended, certificates
# good), one refused enrollment (est 403), API reads (api 200), the
# ledger's tree size and the open-connections gauge while a connection is
# held; the key process is up and refused nothing.  POST /metrics is a
# 405.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || fail "promtool is not installed (scripts/deps.sh installs the prometheus package)"
DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"
METRICS="$KB_HTTP_URL/metrics"

# scrape NAME: GET /metrics into OUT/NAME.txt; must be 200 text/plain and
# pass promtool.
scrape() {
	local code ct
	code=$(curl -sS -o "$OUT/$1.txt" -D "$OUT/$1.hdr" -w '%{http_code}' --max-time 10 "$METRICS") ||
		fail "GET /metrics: curl failed"
	assert_eq 200 "$code" "GET /metrics status"
	ct=$(tr -d '\r' <"$OUT/$1.hdr" | awk -F': ' 'tolower($1) == "content-type" { print $2 }')
	assert_match "$ct" '^text/plain; version=0\.0\.4' "Content-Type of /metrics"
	promtool check metrics <"$OUT/$1.txt" >"$OUT/$1.promtool" 2>&1 ||
		fail "promtool check metrics ($1): $(head -n 20 "$OUT/$1.promtool")"
	[ ! -s "$OUT/$1.promtool" ] || fail "promtool lint ($1): $(head -n 20 "$OUT/$1.promtool")"
}

# value NAME SERIES: the sample value of SERIES (exact name with labels)
# in OUT/NAME.txt, 0 when absent.
value() {
	awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }' "$OUT/$1.txt"
}

# moved SERIES DELTA WHAT: the sample grew by exactly DELTA from a to b.
moved() {
	local a b
	a=$(value a "$1")
	b=$(value b "$1")
	assert_eq "$2" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", b - a }')" "$3 ($1: $a -> $b)"
}

# a first certificate, so that OCSP has something cached
kb_enroll dev1
openssl ocsp -issuer "$DIR/ca/issuing.pem" -cert "$OUT/dev1.pem" -no_nonce \
    -reqout "$OUT/req.der" >/dev/null 2>&1
ENC=$(base64 -w0 "$OUT/req.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
# the response is pre-signed in the background: wait until a GET is a hit
deadline=$((SECONDS + 10))
until curl -s -o /dev/null "$KB_HTTP_URL/ocsp/$ENC" && scrape warm &&
    [ "$(value warm keybridge_ocsp_cache_hits_total)" -gt 0 ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no OCSP cache hit within 10 s"
	sleep 0.1
done

scrape a
NGET=25
for ((i = 0; i < NGET; i++)); do
	curl -s -o /dev/null "$KB_HTTP_URL/ocsp/$ENC" || fail "OCSP GET $i failed"
done
kb_enroll dev2
est_refused 403 POST /.well-known/est/simpleenroll -H 'Content-Type: application/pkcs10' \
    --data-binary "@$(new_key stranger p256; est_csr stranger stranger)"
api GET /api/v1/status >/dev/null
# hold one connection open on the plain-HTTP listener while scraping
exec 7<>/dev/tcp/127.0.0.1/"$KB_HTTP_PORT"
# dev2 is not pre-signed at its enrollment (docs/design.md "EST18"): its
# first OCSP request, right after the enrollment, is signed live and good,
# and queues the pre-signing of both hashes: scrape until they are signed
openssl ocsp -issuer "$DIR/ca/issuing.pem" -cert "$OUT/dev2.pem" -no_nonce \
    -url "$KB_HTTP_URL/ocsp" -CAfile "$DIR/ca/root.pem" >"$OUT/dev2-ocsp.txt" 2>&1 ||
	fail "OCSP request for dev2 failed: $(tail -n 3 "$OUT/dev2-ocsp.txt")"
assert_contains "$(cat "$OUT/dev2-ocsp.txt")" "$OUT/dev2.pem: good" "dev2's first OCSP answer, right after its enrollment"
sig_a=$(value a keybridge_ocsp_signatures_total)
deadline=$((SECONDS + 10))
until scrape b && [ "$(value b keybridge_ocsp_signatures_total)" -ge $((sig_a + 3)) ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "dev2's OCSP responses were not pre-signed within 10 s of its first request"
	sleep 0.1
done
exec 7<&- 7>&-

moved 'keybridge_ocsp_requests_total' "$((NGET + 1))" "OCSP requests"
moved 'keybridge_ocsp_cache_hits_total' "$NGET" "OCSP cache hits"
moved 'keybridge_ocsp_signatures_total' 3 "OCSP signatures (the new certificate: one live, then both hashes pre-signed)"
moved 'keybridge_http_requests_total{endpoint="ocsp",code="200"}' "$((NGET + 1))" "OCSP 200s"
moved 'keybridge_http_request_duration_seconds_count{endpoint="ocsp"}' "$((NGET + 1))" "OCSP latency observations"
moved 'keybridge_http_requests_total{endpoint="est",code="200"}' 1 "EST 200s"
moved 'keybridge_http_requests_total{endpoint="est",code="403"}' 1 "EST 403s"
moved 'keybridge_ledger_entries_appended_total' 2 "entries appended (key-register, cert-issued)"
moved 'keybridge_ledger_tree_size' 2 "tree size"
moved 'keybridge_certificates{status="good"}' 1 "good certificates"
moved 'keybridge_keys{status="active"}' 1 "active keys"
# the key process answered and refused nothing (test_est_unsigned makes
# it refuse)
assert_eq 1 "$(value b keybridge_keyproc_up)" "keybridge_keyproc_up"
for op in sign_entry sign_ocsp sign_crl sign_checkpoint sign_cert; do
	grep -q "^keybridge_keyproc_refusals_total{op=\"$op\"} " "$OUT/b.txt" ||
		fail "no keybridge_keyproc_refusals_total{op=\"$op\"} in /metrics"
	assert_eq 0 "$(value b "keybridge_keyproc_refusals_total{op=\"$op\"}")" "key process refusals of $op"
done
# the API calls of this script between the scrapes (status, accounts, entries)
api_b=$(value b 'keybridge_http_requests_total{endpoint="api",code="200"}')
api_a=$(value a 'keybridge_http_requests_total{endpoint="api",code="200"}')
[ "$api_b" -gt "$api_a" ] || fail "API 200s did not move: $api_a -> $api_b"
# histograms are cumulative: +Inf equals _count
assert_eq "$(value b 'keybridge_http_request_duration_seconds_count{endpoint="ocsp"}')" \
    "$(value b 'keybridge_http_request_duration_seconds_bucket{endpoint="ocsp",le="+Inf"}')" "OCSP histogram +Inf vs count"
assert_eq "$(value b keybridge_ledger_blocks_total)" \
    "$(value b 'keybridge_ledger_block_entries_bucket{le="+Inf"}')" "block histogram +Inf vs blocks"
conns=$(value b 'keybridge_http_open_connections{listener="http"}')
[ "$conns" -ge 2 ] || fail "open connections on the HTTP listener while one is held and one scrapes: $conns"
# counted by listener port: the API's curls have all ended (a count of
# every established socket on the machine would be here too)
tconns=$(value b 'keybridge_http_open_connections{listener="https"}')
[ "$tconns" -ge 0 ] && [ "$tconns" -le 1 ] || fail "open connections on the HTTPS listener with none held: $tconns"
age=$(value b keybridge_checkpoint_age_seconds)
[ "$age" -ge 0 ] && [ "$age" -lt 60 ] || fail "checkpoint age after a commit: $age"

code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$METRICS")
assert_eq 405 "$code" "POST /metrics"

kb_stop
log "OK"
