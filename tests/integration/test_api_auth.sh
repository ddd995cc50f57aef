#!/usr/bin/env bash
# Access to the API: with api_auth = token, reads of /api/v1 (and the event
# stream) need "Authorization: Bearer <api_token>": none or a wrong token
# is a 401 with a Bearer challenge, the right one a 200.  Writes are
# signed entries and go through without it (the CLI, which reads the
# token from keybridge.conf, registers a key); EST and OCSP are not
# affected.  The bridge refuses to start when the API would be open off
# loopback (api_auth = auto with a non-loopback est_listen and no token),
# or when api_auth = token has no token, or api_auth is unknown; nothing
# is bound then.  keybridge.conf, which may hold secrets, is mode 0600.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
assert_file_mode "$DIR/keybridge.conf" 600
TOKEN=$(openssl rand -hex 24)
kb_conf_set "$DIR" api_auth token
kb_conf_set "$DIR" api_token "$TOKEN"
kb_start "$DIR"

api_expect_error 401 unauthorized GET /api/v1/status
assert_match "$(curl -sS -D - -o /dev/null --cacert "$DIR/ca/root.pem" "$KB_URL/api/v1/status" | tr -d '\r' |
    grep -i '^WWW-Authenticate:')" 'Bearer realm=' "challenge of the 401"
api_expect_error 401 unauthorized GET /api/v1/status -H "Authorization: Bearer wrong$TOKEN"
api_expect_error 401 unauthorized GET /api/v1/status -H "Authorization: Bearer ${TOKEN%?}"
api_expect_error 401 unauthorized GET /api/v1/keys -H "Authorization: Basic $(printf 'x:%s' "$TOKEN" | base64 -w0)"
api_expect_error 401 unauthorized GET /api/v1/events
code=$(api_call GET /api/v1/status -H "Authorization: Bearer $TOKEN")
assert_eq 200 "$code" "GET /api/v1/status with the token"
assert_eq 2 "$(jq -r .tree_size "$API_BODY")" "tree size read with the token"

# writes: the CLI signs, reads the account with the token, posts the entry
kb_enroll dev1		# key register through the API, then EST without any token
code=$(api_call GET "/api/v1/keys/$KB_KEY_ID" -H "Authorization: Bearer $TOKEN")
assert_eq 200 "$code" "the registered key, read with the token"
# OCSP does not need it either
openssl ocsp -issuer "$DIR/ca/issuing.pem" -cert "$OUT/dev1.pem" -url "http://127.0.0.1:$KB_HTTP_PORT/ocsp" \
    -CAfile "$DIR/ca/root.pem" >"$OUT/ocsp.txt" 2>&1
assert_contains "$(cat "$OUT/ocsp.txt")" "dev1.pem: good" "OCSP without a token"

# writes without the token tell nothing about accounts: an entry of an
# account that does not exist and one of admin signed by a stranger's key
# get the same answer, byte for byte; with the token, the first is
# account_not_found (the positive control)
MKENTRY="$(cd "$(dirname "$0")" && pwd)/mkentry.py"
new_key stranger ed25519
for who in nobody-here admin; do
	python3 "$MKENTRY" "$OUT/keys/stranger.key" "$who" 7 keybridge/ledger key-revoke \
	    "key-id=$KB_KEY_ID" reason=keyCompromise >"$OUT/entry-$who" ||
		fail "mkentry.py could not build the entry of $who"
	api_expect_error 403 signature_invalid POST /api/v1/entries -H 'Content-Type: text/plain' \
	    --data-binary @"$OUT/entry-$who"
	cp "$API_BODY" "$OUT/answer-$who"
done
assert_eq "$(cat "$OUT/answer-nobody-here")" "$(cat "$OUT/answer-admin")" \
    "the answers to a missing account and to a bad signature without a token"
api_expect_error 403 account_not_found POST /api/v1/entries -H 'Content-Type: text/plain' \
    -H "Authorization: Bearer $TOKEN" --data-binary @"$OUT/entry-nobody-here"
api_expect_error 403 signature_invalid POST /api/v1/entries -H 'Content-Type: text/plain' \
    -H "Authorization: Bearer $TOKEN" --data-binary @"$OUT/entry-admin"
assert_ne "$(cat "$OUT/answer-admin")" "$(cat "$API_BODY")" \
    "the answer to a bad signature with the token (it names the line)"
log "no token: account_not_found and signature_invalid answered alike"
# the same two in one batch (api_batch.c): alike without the token
for f in nobody-here admin; do jq -Rs . "$OUT/entry-$f"; done | jq -s '{entries: .}' >"$OUT/batch.json"
code=$(api_call POST /api/v1/entries -H 'Content-Type: application/json' --data-binary @"$OUT/batch.json")
assert_eq "200 signature_invalid" "$code $(jq -r .results[0].error.code "$API_BODY")" "a batch without the token"
assert_eq "$(jq -c .results[0] "$API_BODY")" "$(jq -c .results[1] "$API_BODY")" \
    "the batch's answers to a missing account and to a bad signature without a token"
code=$(api_call POST /api/v1/entries -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $TOKEN" --data-binary @"$OUT/batch.json")
assert_eq "200 account_not_found" "$code $(jq -r .results[0].error.code "$API_BODY")" "a batch with the token"
kb_stop

# ---- configurations that would leave the API open are refused -------------------------------------
refused() {
	local rc=0
	"$KEYBRIDGE" serve -d "$DIR" >"$OUT/refused.log" 2>&1 || rc=$?
	assert_eq 1 "$rc" "exit status of serve with $1"
	assert_contains "$(cat "$OUT/refused.log")" "$2" "message for $1"
	log "refused as expected ($1): $(grep -m1 error "$OUT/refused.log")"
}
kb_conf_set "$DIR" api_token ""
refused "api_auth = token and no token" "api_token"
kb_conf_set "$DIR" api_auth auto
kb_conf_set "$DIR" est_listen "0.0.0.0:$KB_EST_PORT"
refused "a wildcard est_listen and no token" "is not a loopback address"
kb_conf_set "$DIR" api_auth sometimes
refused "an unknown api_auth" "api_auth must be auto, token or open"
log "OK"
