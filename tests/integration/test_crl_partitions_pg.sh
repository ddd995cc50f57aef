#!/usr/bin/env bash
# CRL partitions (crl_partitions = 4) with the ledger in PostgreSQL and
# across a CA rollover (issue 18 follow-up; test_crl_partitions covers the
# CRLs themselves on SQLite).  A certificate of the original CA is revoked
# and listed in its partition's delta; `ca rollover` and a restart after
# SIGKILL: the original CA's partition CRL and delta are served at the
# first GET (kept in data/crls, no 503), list it between them, and `openssl verify
# -crl_check -extended_crl -use_deltas -crl_download` refuses it and
# accepts a good one of the same CA.  A certificate of the new CA names
# the new CA's partition CRL and delta, signed by the new CA, with its own
# IDP; revoked, it is in that delta within 5 s and refused by openssl;
# nothing of the revocation reaches the old CA's CRLs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=4
DIR="$OUT/data"
RKEY="$OUT/offline/root.key"
mkdir -p "$OUT/offline" "$OUT/crl"
kb_pg_start kb
kb_init "$DIR" --db "$DB" --root-key-out "$RKEY"
kb_conf_set "$DIR" crl_partitions "$N"
kb_start "$DIR"
[ ! -e "$DIR/ledger.db" ] || fail "a SQLite ledger was made with --db"
ROOT="$DIR/ca/root.pem"
OLD="$DIR/ca/issuing.pem"
BASE="http://127.0.0.1:$KB_HTTP_PORT"
declare -A KID

# uri PEM EXT: the first URI of extension EXT of the certificate.
uri() {
	openssl x509 -in "$1" -noout -ext "$2" | grep -o 'URI:[^ ]*' | head -n 1 | cut -c5-
}

# get NAME URL [NO503]: the CRL at URL into OUT/crl/NAME.{der,pem,txt};
# a 503 is waited out (3 s) unless NO503 is given.
get() {
	local code t0
	t0=$(date +%s%N)
	while :; do
		code=$(curl -sS -o "$OUT/crl/$1.der" -w '%{http_code}' --max-time 20 "$2") ||
			fail "GET $2: no HTTP answer"
		[ "$code" != 503 ] || [ -z "${3:-}" ] || fail "GET $2 ($1) right after a restart: 503"
		[ "$code" != 503 ] || [ "$(ms_since "$t0")" -gt 3000 ] || { sleep 0.05; continue; }
		break
	done
	[ "$code" = 200 ] || fail "GET $2 ($1): HTTP $code"
	openssl crl -inform DER -in "$OUT/crl/$1.der" -out "$OUT/crl/$1.pem" || fail "$2 is not a DER CRL"
	openssl crl -in "$OUT/crl/$1.pem" -noout -text >"$OUT/crl/$1.txt"
}

# listed NAME SERIALHEX: succeeds when CRL NAME lists the serial.
listed() {
	awk '/^    Serial Number:/ { v = tolower($3); sub(/^0+/, "", v); print v }' "$OUT/crl/$1.txt" | grep -qx "$2"
}

# xverify ISSUERPEM CERT: openssl fetching the CDP and freshestCRL itself,
# with the flags OpenSSL 3.0 needs for deltas (docs/operations.md).
xverify() {
	openssl verify -CAfile "$ROOT" -untrusted "$1" -crl_check -extended_crl -use_deltas \
	    -crl_download "$2" 2>&1
}

# wait_listed NAME URL SERIALHEX: GET URL until it lists the serial (5 s).
wait_listed() {
	local t0
	t0=$(date +%s%N)
	while :; do
		get "$1" "$2"
		! listed "$1" "$3" || return 0
		[ "$(ms_since "$t0")" -lt 5000 ] || fail "$3 not in $2 5 s after key revoke"
		sleep 0.05
	done
}

for n in old1 old2; do
	kb_enroll "$n"
	KID[$n]=$KB_KEY_ID
done
S1=$(cert_serial_hex "$OUT/old1.pem")
OLD_ID=$(sed -n "s|^$BASE/crl/\\([0-9a-f]*\\)/$N/[0-9]*\\.crl\$|\\1|p" <<<"$(uri "$OUT/old1.pem" crlDistributionPoints)")
[ -n "$OLD_ID" ] || fail "CRL DP of old1 is not a partition URL: $(uri "$OUT/old1.pem" crlDistributionPoints)"
CDP1=$(uri "$OUT/old1.pem" crlDistributionPoints)
FR1=$(uri "$OUT/old1.pem" freshestCRL)
kb_ok key revoke -d "$DIR" --key-id "${KID[old1]}" --reason keyCompromise >/dev/null
wait_listed od1 "$FR1" "$S1"

# ---- rollover and a crash: the old CA's partition CRLs at once ----------------
kb_ok ca rollover -d "$DIR" --root-key "$RKEY" >/dev/null
G2_ID=$(cat "$DIR/ca/issuers/current")
G2="$DIR/ca/issuers/$G2_ID/issuing.pem"
[ "$G2_ID" != "$OLD_ID" ] || fail "ca rollover made no new issuer"
# a crash, not a clean stop: the CRLs were kept when they were served
kb_kill9
kb_start "$DIR"
get rd1 "$FR1" no503
get rb1 "$CDP1" no503
# the delta's base number against the base's own (both in decimal: the
# hex of `-crlnumber` never equalled the decimal of -text, and the test
# then required the base alone to list old1, which the base kept from
# before the revocation does not: failed under the sanitizers)
openssl crl -in "$OUT/crl/rd1.pem" -noout -text >"$OUT/crl/rd1.txt"
openssl crl -in "$OUT/crl/rb1.pem" -noout -text >"$OUT/crl/rb1.txt"
if [ "$(kb_crl_num "$OUT/crl/rd1.txt" "Delta CRL Indicator")" = \
    "$(kb_crl_num "$OUT/crl/rb1.txt" "CRL Number")" ]; then
	listed rb1 "$S1" || listed rd1 "$S1" || fail "right after the restart neither the old CA's base nor its delta lists old1"
else
	listed rb1 "$S1" || fail "right after the restart a new base of the old CA without old1"
fi
out=$(openssl crl -in "$OUT/crl/rb1.pem" -noout -CAfile <(cat "$OLD" "$ROOT") 2>&1) ||
	fail "the old CA's partition CRL does not verify with the old CA after the rollover: $out"
out=$(xverify "$OLD" "$OUT/old1.pem" || true)
assert_contains "$out" "certificate revoked" "verify -crl_download of the revoked old1 after the rollover"
out=$(xverify "$OLD" "$OUT/old2.pem") || fail "verify -crl_download of the good old2 after the rollover: $out"
assert_eq "$OUT/old2.pem: OK" "$out" "verify -crl_download of old2 after the rollover"

# ---- the new CA's partitions -------------------------------------------------
kb_enroll new1
KID[new1]=$KB_KEY_ID
SN=$(cert_serial_hex "$OUT/new1.pem")
p=$((16#${SN: -2} % N))
CDPN=$(uri "$OUT/new1.pem" crlDistributionPoints)
assert_eq "$BASE/crl/$G2_ID/$N/$p.crl" "$CDPN" "CRL DP of new1 (the new CA's partition $p)"
assert_eq "$BASE/crl/$G2_ID/$N/$p.delta.crl" "$(uri "$OUT/new1.pem" freshestCRL)" "freshestCRL of new1"
get nb0 "$CDPN"
assert_contains "$(cat "$OUT/crl/nb0.txt")" "URI:$CDPN" "the new CA's partition CRL names its own URL in its IDP"
out=$(openssl crl -in "$OUT/crl/nb0.pem" -noout -CAfile <(cat "$G2" "$ROOT") 2>&1) ||
	fail "the new CA's partition CRL does not verify with the new CA: $out"
out=$(xverify "$G2" "$OUT/new1.pem") || fail "verify -crl_download of the good new1: $out"
kb_ok key revoke -d "$DIR" --key-id "${KID[new1]}" --reason keyCompromise >/dev/null
wait_listed nd1 "$BASE/crl/$G2_ID/$N/$p.delta.crl" "$SN"
out=$(xverify "$G2" "$OUT/new1.pem" || true)
assert_contains "$out" "certificate revoked" "verify -crl_download of the revoked new1 (new CA)"
get od2 "$BASE/crl/$OLD_ID/$N/$p.delta.crl"
! listed od2 "$SN" || fail "the old CA's delta lists the new CA's new1"
out=$(xverify "$OLD" "$OUT/old2.pem") || fail "verify of old2 after new1's revocation: $out"
kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify (PostgreSQL, two issuers, partitions)"
log "CRL partitions with PostgreSQL and a CA rollover OK"
