#!/usr/bin/env bash
# kb-test: alone (asserts a time bound: run with no other test beside it)
# Partitioned and delta CRLs (issue 18, RFC 5280 5.2.4-5.2.6) with
# crl_partitions = 4: a certificate's CRL distribution point is its
# partition's CRL, /crl/<issuer>/4/<p>.crl with p the serial's low byte
# modulo 4, and its freshestCRL that partition's delta .../<p>.delta.crl.
# The partition CRL carries a critical issuingDistributionPoint naming that
# URL (onlyContainsUserCerts) and a freshestCRL; its delta a critical
# deltaCRLIndicator equal to the base's CRL Number, a larger number of its
# own, the same IDP.  A `key revoke` is listed in the delta within 1 s while
# the base is not remade; `openssl verify -crl_check -use_deltas` with base
# and delta refuses the certificate, the base alone (stale) does not, and
# another partition's CRL is not taken for it ("different CRL scope").  The
# full CRL /crl/<issuer>.crl stays, without an IDP, with its own delta.
# Right after a restart every base and delta is served at once, none with
# a lower CRL Number, a base with its delta listing the revocation; the
# base made after the start lists it.  `openssl verify -crl_check
# -extended_crl -use_deltas -crl_download` (openssl fetching the CDP and
# the freshestCRL itself) refuses the revoked certificate and accepts a
# good one, also when the delta is newer than its base.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
N=4
mkdir -p "$OUT/crl"
kb_init "$DIR"
kb_conf_set "$DIR" crl_partitions "$N"
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"
BASE="http://127.0.0.1:$KB_HTTP_PORT"
declare -A KID

# get NAME URL: the CRL at URL into OUT/crl/NAME.der, .pem and .txt, waiting
# out the 503 of the first moments (3 s at most) unless NO503 is set (a
# CRL built before a restart is served at once); checks its signature.
get() {
	local code t0 out
	t0=$(date +%s%N)
	while :; do
		code=$(curl -sS -o "$OUT/crl/$1.der" -w '%{http_code}' --max-time 20 "$2") ||
			fail "GET $2: no HTTP answer"
		[ "$code" != 503 ] || [ -z "${NO503:-}" ] ||
			fail "GET $2 ($1) right after a restart: 503, though it was served before the stop"
		[ "$code" != 503 ] || [ "$(ms_since "$t0")" -gt 3000 ] || { sleep 0.02; continue; }
		break
	done
	[ "$code" = 200 ] || fail "GET $2 ($1): HTTP $code: $(head -c 300 "$OUT/crl/$1.der" | tr -d '\0')"
	openssl crl -inform DER -in "$OUT/crl/$1.der" -out "$OUT/crl/$1.pem" || fail "$2 is not a DER CRL"
	openssl crl -in "$OUT/crl/$1.pem" -noout -text >"$OUT/crl/$1.txt"
	out=$(openssl crl -in "$OUT/crl/$1.pem" -noout -CAfile "$OUT/chain.pem" 2>&1) ||
		fail "the CRL $1 does not verify with the issuing CA: $out"
}

# num NAME EXT: the decimal value of the INTEGER extension EXT ("CRL Number",
# "Delta CRL Indicator") of CRL NAME, empty when absent.
num() {
	kb_crl_num "$OUT/crl/$1.txt" "$2"
}

# listed NAME SERIALHEX: succeeds when CRL NAME lists the serial.
listed() {
	awk '/^    Serial Number:/ { v = tolower($3); sub(/^0+/, "", v); print v }' "$OUT/crl/$1.txt" | grep -qx "$2"
}

# uri PEM EXT: the first URI of extension EXT of the certificate.
uri() {
	openssl x509 -in "$1" -noout -ext "$2" | grep -o 'URI:[^ ]*' | head -n 1 | cut -c5-
}

verify() {
	openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" "$@" 2>&1
}

cat "$ISSUING" "$ROOT" >"$OUT/chain.pem"

# ---- certificates name their partition and its delta ---------------------------
# enroll until two certificates share a partition and one is in another
declare -A PART
i=0
while :; do
	i=$((i + 1))
	[ "$i" -le 24 ] || fail "24 certificates and no two in one partition and one in another"
	kb_enroll "dev$i"
	KID[dev$i]=$KB_KEY_ID
	s=$(cert_serial_hex "$OUT/dev$i.pem")
	p=$((16#${s: -2} % N))
	PART[dev$i]=$p
	cdp=$(uri "$OUT/dev$i.pem" crlDistributionPoints)
	ISSUER_ID=$(sed -n "s|^$BASE/crl/\\([0-9a-f]*\\)/$N/$p\\.crl\$|\\1|p" <<<"$cdp")
	[ -n "$ISSUER_ID" ] || fail "CRL DP of dev$i (serial $s, partition $p): '$cdp', want $BASE/crl/<issuer>/$N/$p.crl"
	assert_eq "$BASE/crl/$ISSUER_ID/$N/$p.delta.crl" "$(uri "$OUT/dev$i.pem" freshestCRL)" "freshestCRL of dev$i"
	A=""; B=""; C=""
	for x in "${!PART[@]}"; do
		for y in "${!PART[@]}"; do
			[ "$x" != "$y" ] && [ "${PART[$x]}" = "${PART[$y]}" ] && { A=$x; B=$y; }
		done
	done
	if [ -n "$A" ]; then
		for x in "${!PART[@]}"; do [ "${PART[$x]}" = "${PART[$A]}" ] || C=$x; done
		[ -z "$C" ] || break
	fi
done
# A (revoked) and B (good) share a partition, C is in another
P=${PART[$A]}
PURL="$BASE/crl/$ISSUER_ID/$N/$P.crl"
DURL="$BASE/crl/$ISSUER_ID/$N/$P.delta.crl"
OURL="$BASE/crl/$ISSUER_ID/$N/${PART[$C]}.crl"
log "$A and $B in partition $P ($PURL), $C in ${PART[$C]}"
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify with partitioned CRL points (the key process signed them)"

# ---- the partition CRL and its delta before any revocation ------------------------
get b0 "$PURL"
t=$(cat "$OUT/crl/b0.txt")
assert_contains "$t" "X509v3 Issuing Distribution Point: critical" "IDP of the partition CRL (critical)"
assert_contains "$t" "URI:$PURL" "IDP's distribution point is the CRL DP of $A"
assert_contains "$t" "Only User Certificates" "IDP onlyContainsUserCerts"
assert_contains "$t" "X509v3 Freshest CRL:" "freshestCRL of the partition CRL"
assert_contains "$t" "URI:$DURL" "freshestCRL of the partition CRL names its delta"
assert_not_contains "$t" "Delta CRL Indicator" "a base CRL"
B0=$(num b0 "CRL Number")
get d0 "$DURL"
t=$(cat "$OUT/crl/d0.txt")
assert_contains "$t" "X509v3 Delta CRL Indicator: critical" "deltaCRLIndicator of the delta (critical)"
assert_eq "$B0" "$(num d0 "Delta CRL Indicator")" "the delta's base is the served base"
[ "$(num d0 "CRL Number")" -gt "$B0" ] || fail "delta CRL Number $(num d0 "CRL Number") not above its base's $B0"
assert_contains "$t" "URI:$PURL" "the delta's IDP is the base's"
assert_not_contains "$t" "Freshest CRL" "a delta has no freshestCRL (RFC 5280 5.2.6)"
for n in "$A" "$B"; do
	out=$(verify -crl_check -CRLfile "$OUT/crl/b0.pem" "$OUT/$n.pem") || fail "verify -CRLfile of the good $n: $out"
done
# the IDP scopes the CRL: another partition's CRL is not the CRL of C
out=$(verify -crl_check -CRLfile "$OUT/crl/b0.pem" "$OUT/$C.pem" || true)
assert_contains "$out" "different CRL scope" "verify of $C with partition $P's CRL (not its partition)"
get full0 "$BASE/crl/$ISSUER_ID.crl"
assert_not_contains "$(cat "$OUT/crl/full0.txt")" "Issuing Distribution Point" "the full CRL has no IDP"
assert_contains "$(cat "$OUT/crl/full0.txt")" "URI:$BASE/crl/$ISSUER_ID.delta.crl" "freshestCRL of the full CRL"

# ---- a revocation reaches the delta within 1 s, the base stays -------------------------
SA=$(cert_serial_hex "$OUT/$A.pem")
kb_ok key revoke -d "$DIR" --key-id "${KID[$A]}" --reason keyCompromise >/dev/null
t0=$(date +%s%N)
n=0
while :; do
	n=$((n + 1))
	get d1 "$DURL"
	! listed d1 "$SA" || break
	[ "$(ms_since "$t0")" -lt 5000 ] || fail "$A not in its partition's delta 5 s after key revoke: $(cat "$OUT/crl/d1.txt")"
	sleep 0.01
done
lat=$(ms_since "$t0")
log "$A listed in the delta CRL ${lat} ms after key revoke returned ($n fetches)"
[ "$lat" -le 1000 ] || fail "revocation in the delta after $lat ms, expected within 1000 ms"
assert_contains "$(cat "$OUT/crl/d1.txt")" "Key Compromise" "reason in the delta"
get b1 "$PURL"
assert_eq "$B0" "$(num b1 "CRL Number")" "the base is not remade for one revocation"
! listed b1 "$SA" || fail "the base lists $A already"
assert_eq "$B0" "$(num d1 "Delta CRL Indicator")" "the new delta's base"
[ "$(num d1 "CRL Number")" -gt "$(num d0 "CRL Number")" ] || fail "delta CRL Number did not increase"
out=$(verify -crl_check -use_deltas -CRLfile "$OUT/crl/b1.pem" -CRLfile "$OUT/crl/d1.pem" "$OUT/$A.pem" || true)
assert_contains "$out" "certificate revoked" "verify -use_deltas of $A (revoked in the delta only)"
out=$(verify -crl_check -use_deltas -CRLfile "$OUT/crl/b1.pem" -CRLfile "$OUT/crl/d1.pem" "$OUT/$B.pem") ||
	fail "verify -use_deltas of the good $B: $out"
assert_eq "$OUT/$B.pem: OK" "$out" "verify -use_deltas of $B"
# negative control: without the delta the stale base passes it
out=$(verify -crl_check -CRLfile "$OUT/crl/b1.pem" "$OUT/$A.pem") ||
	fail "verify of $A with the base alone refused it: the base listed it already? $out"
# the full CRL's delta lists it too
get fd1 "$BASE/crl/$ISSUER_ID.delta.crl"
listed fd1 "$SA" || fail "the full CRL's delta does not list $A: $(cat "$OUT/crl/fd1.txt")"
for p in "/crl/$ISSUER_ID/8/0.crl" "/crl/$ISSUER_ID/$N/$N.crl" "/crl/$ISSUER_ID/$N/.crl" \
    "/crl/$ISSUER_ID/$N/0.delta" "/crl/$ISSUER_ID/$N/0.crl.x" "/crl/$ISSUER_ID/$N/0000.crl"; do
	assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$BASE$p")" "GET $p"
done

# ---- after a restart: nothing served goes back, the bases list it ------------------------
# scope S: "f" the full CRL, or a partition number; its base and delta URLs
surl() { [ "$1" = f ] && echo "$BASE/crl/$ISSUER_ID.crl" || echo "$BASE/crl/$ISSUER_ID/$N/$1.crl"; }
durl() { [ "$1" = f ] && echo "$BASE/crl/$ISSUER_ID.delta.crl" || echo "$BASE/crl/$ISSUER_ID/$N/$1.delta.crl"; }
SCOPES="f $(seq -s ' ' 0 $((N - 1)))"
for s in $SCOPES; do get "pre-b$s" "$(surl "$s")"; get "pre-d$s" "$(durl "$s")"; done
kb_stop
kb_start "$DIR"
# Right after the start every base and delta is served (no 503 for a
# CRL built before the stop), none with a lower CRL Number than before,
# and a base with its delta lists every revocation served before it.
for s in $SCOPES; do
	# the delta first: the base then is its base or a newer one
	NO503=1 get "r-d$s" "$(durl "$s")"
	NO503=1 get "r-b$s" "$(surl "$s")"
	for k in b d; do
		[ "$(num "r-$k$s" "CRL Number")" -ge "$(num "pre-$k$s" "CRL Number")" ] ||
			fail "scope $s: $k CRL Number $(num "r-$k$s" "CRL Number") after the restart, $(num "pre-$k$s" "CRL Number") before"
	done
	[ "$s" = f ] || [ "$s" = "$P" ] || continue
	if [ "$(num "r-d$s" "Delta CRL Indicator")" = "$(num "r-b$s" "CRL Number")" ]; then
		listed "r-b$s" "$SA" || listed "r-d$s" "$SA" || fail "scope $s right after the restart: neither the base nor its delta lists $A"
	else
		# a base newer than the delta's: made after the start
		listed "r-b$s" "$SA" || fail "scope $s right after the restart: a base not completed by its delta, without $A"
	fi
done
# the base made after the start lists it, with a larger number
t0=$(date +%s%N)
while :; do
	get b2 "$PURL"
	[ "$(num b2 "CRL Number")" -le "$(num d1 "CRL Number")" ] || break
	[ "$(ms_since "$t0")" -lt 5000 ] || fail "no base made within 5 s of the restart (CRL Number $(num b2 "CRL Number"))"
	sleep 0.05
done
listed b2 "$SA" || fail "the base made after the restart does not list $A"
t0=$(date +%s%N)
while :; do
	get d2 "$DURL"
	[ "$(num d2 "Delta CRL Indicator")" != "$(num b2 "CRL Number")" ] || break
	[ "$(ms_since "$t0")" -lt 5000 ] || fail "no delta of the new base within 5 s"
	sleep 0.05
done
# openssl fetching the CDP and the freshestCRL itself.  OpenSSL 3.0
# takes a delta CRL for a complete CRL when -extended_crl is not given
# (get_crl_score, openssl/openssl#31040, fixed upstream by #31044): of
# the base and the delta it downloads it keeps the one with the later
# thisUpdate, and a delta made a second or more after its base lacks the
# base's revocations.  That was the "flaky" -crl_download of this test;
# -extended_crl -use_deltas is the correct way to ask (docs/operations.md).
xverify() { verify -crl_check -extended_crl -use_deltas -crl_download "$@"; }
out=$(xverify "$OUT/$A.pem" || true)
assert_contains "$out" "certificate revoked" "verify -crl_download -extended_crl -use_deltas of the revoked $A"
for n in "$B" "$C"; do
	out=$(xverify "$OUT/$n.pem") || fail "verify -crl_download of the good $n: $out"
	assert_eq "$OUT/$n.pem: OK" "$out" "verify -crl_download -extended_crl -use_deltas of $n"
done
# make the delta one second newer than its base (a revocation of B) and
# ask again: the base's A and the delta's B are both refused
while [ "$(date -u +%s)" -le "$(date -u -d "$(openssl crl -in "$OUT/crl/b2.pem" -noout -lastupdate | cut -d= -f2)" +%s)" ]; do
	sleep 0.1
done
SB=$(cert_serial_hex "$OUT/$B.pem")
kb_ok key revoke -d "$DIR" --key-id "${KID[$B]}" --reason superseded >/dev/null
t0=$(date +%s%N)
while :; do
	get d3 "$DURL"
	! listed d3 "$SB" || break
	[ "$(ms_since "$t0")" -lt 5000 ] || fail "$B not in the delta 5 s after key revoke"
	sleep 0.05
done
get b3 "$PURL"
assert_eq "$(num b2 "CRL Number")" "$(num b3 "CRL Number")" "the base is not remade for B's revocation"
tb=$(date -u -d "$(openssl crl -in "$OUT/crl/b3.pem" -noout -lastupdate | cut -d= -f2)" +%s)
td=$(date -u -d "$(openssl crl -in "$OUT/crl/d3.pem" -noout -lastupdate | cut -d= -f2)" +%s)
[ "$td" -gt "$tb" ] || fail "the delta's thisUpdate $td is not after its base's $tb: the case below is not made"
for n in "$A" "$B"; do
	out=$(xverify "$OUT/$n.pem" || true)
	assert_contains "$out" "certificate revoked" "verify -crl_download -extended_crl -use_deltas of the revoked $n (base $tb, delta $td)"
done
out=$(verify -crl_check -crl_download "$OUT/$A.pem" 2>&1 || true)
log "without -extended_crl, $(openssl version | cut -d' ' -f1-2) says of $A (in the base, not in the newer delta): $out"
out=$(xverify "$OUT/$C.pem") || fail "verify -crl_download of the good $C after B's revocation: $out"
kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the partition test"
log "CRL partitions OK"
