#!/usr/bin/env bash
# Status proofs (issue 15, "Key status a device can prove"): a bridge with
# four validators (quorum 3) registers keys, enrolls a certificate over
# EST and revokes a key; GET /api/v1/proofs/status/KEYID (and
# /status/cert/SERIAL) and `keybridge proof status` give the status with
# its map proof against the final checkpoint, whose "map" line the
# validators cosigned, and `kbverify --status` checks it offline: an
# active key (0), a revoked one with reason and time (2), a key never
# registered, proven absent (2), a good certificate (0), one revoked
# through its key (2); refused (1): a forged leaf, a bundle for another
# key, a checkpoint without quorum, a rollback against the state file, a
# file's bundle given as a status.  With two validators stopped a revoke
# gets no quorum and the status proof answers 409 not_final instead of a
# status the validators never cosigned.  `ledger verify` recomputes the
# map.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vlib.sh"
. "$(dirname "$0")/vbridge.sh"

KBVERIFY=${KBVERIFY:-$(dirname "$KEYBRIDGE")/tools/kbverify}
[ -x "$KBVERIFY" ] || fail "no kbverify at $KBVERIFY (make builds it)"

# kbv WANT_RC WANT_TEXT ARGS...: kbverify --status exits WANT_RC and prints
# one line containing WANT_TEXT.
kbv() {
	local want=$1 text=$2 rc=0 out
	shift 2
	out=$("$KBVERIFY" --status --policy "$POLICY" "$@" 2>&1) || rc=$?
	[ "$(wc -l <<<"$out")" = 1 ] || fail "kbverify $*: not one line: $out"
	[ "$rc" = "$want" ] || fail "kbverify $*: exit $rc, expected $want: $out"
	assert_contains "$out" "$text" "kbverify $*"
	log "kbverify exit $rc: $out"
}

# extra FILE: the decoded extra of a bundle.
extra() { base64 -d <<<"$(sed -n 's/^extra //p' "$1")"; }

B="$OUT/data"
vb_setup "$B" 3000 "s1" "s2" "s3" "s4"
kb_start "$B"
POLICY="$OUT/policy"
kb_ok policy -d "$B" >"$POLICY"

# a key that stays active, one revoked, a certificate of each
kb_enroll cam-a
KA=$KB_KEY_ID
SA=$(cert_serial_hex "$OUT/cam-a.pem")
kb_enroll cam-b
KB=$KB_KEY_ID
SB=$(cert_serial_hex "$OUT/cam-b.pem")
kb_ok key revoke -d "$B" --key-id "$KB" --reason keyCompromise >/dev/null
NEVER=$(printf 'ab%.0s' {1..32})

api GET "/api/v1/proofs/status/$KA" >"$OUT/a"
assert_eq "c2sp.org/tlog-proof@v1" "$(head -n 1 "$OUT/a")" "a status bundle's first line"
assert_contains "$(extra "$OUT/a")" "keybridge-status v1" "its extra"
assert_match "$(grep -c '^— s[0-9]\.test ' "$OUT/a")" '^[34]$' "its checkpoint's cosignatures"
grep -q '^map ' "$OUT/a" || fail "the checkpoint of a status bundle has no map line"
kbv 0 "active: key $KA" --bundle "$OUT/a" --key "$KA" --state "$OUT/state"
kbv 0 "valid cosignatures (quorum 3)" --bundle "$OUT/a"
api GET "/api/v1/proofs/status/$KB" >"$OUT/b"
kbv 2 "revoked: key $KB, reason keyCompromise at " --bundle "$OUT/b" --key "$KB" --state "$OUT/state"
api GET "/api/v1/proofs/status/$NEVER" >"$OUT/never"
kbv 2 "absent: key $NEVER was never registered" --bundle "$OUT/never" --key "$NEVER"
api GET "/api/v1/proofs/status/cert/$SA" >"$OUT/ca"
kbv 0 "good: certificate $SA" --bundle "$OUT/ca" --serial "$SA"
api GET "/api/v1/proofs/status/cert/$SB" >"$OUT/cb"
kbv 2 "revoked: certificate $SB, reason keyCompromise" --bundle "$OUT/cb" --serial "$SB"
# the CLI's bundle is the API's
kb_ok proof status -d "$B" --key-id "$KB" -o "$OUT/b-cli" >/dev/null
cmp -s "$OUT/b" "$OUT/b-cli" || fail "proof status -o differs from the API's bundle"
kb_ok proof status -d "$B" --serial "$SA" -o "$OUT/ca-cli" >/dev/null
cmp -s "$OUT/ca" "$OUT/ca-cli" || fail "proof status --serial differs from the API's bundle"

# refusals
kbv 1 "refused: the bundle is the status of key $KB" --bundle "$OUT/b" --key "$KA"
# the revoked key's leaf rewritten "active" (its index line kept honest)
extra "$OUT/b" >"$OUT/b.extra"
v=$(printf 'keybridge-status v1\nkey %s\nstatus active\nnot-before 1\nnot-after 2\nindex 3\n' "$KB" | base64 -w0)
sed "s|^value .*|value $v|" "$OUT/b.extra" | base64 -w0 >"$OUT/forged.extra"
sed -e "s|^extra .*|extra $(cat "$OUT/forged.extra")|" -e 's/^index .*/index 3/' "$OUT/b" >"$OUT/b-forged"
kbv 1 "refused: tampered: the status of key $KB" --bundle "$OUT/b-forged" --key "$KB"
# "never registered" claimed for the active key: its proof of absence
# does not lead to the root
extra "$OUT/a" | sed '/^value /d' | base64 -w0 >"$OUT/absent.extra"
sed -e "s|^extra .*|extra $(cat "$OUT/absent.extra")|" "$OUT/a" >"$OUT/a-absent"
kbv 1 "refused: tampered: the status of key $KA" --bundle "$OUT/a-absent" --key "$KA"
# the checkpoint without its quorum: two cosignatures left
awk '/^— s[0-9]\.test /{if (++k > 2) next} {print}' "$OUT/b" >"$OUT/b-noquorum"
kbv 1 "refused: no quorum: 2 valid cosignatures of the 3" --bundle "$OUT/b-noquorum"
# a checkpoint older than the one remembered
S=$(sed -n 's/^size //p' "$OUT/state")
printf 'keybridge-state v1\nsize %s\nroot %s\n' "$((S + 5))" "$(head -c 32 /dev/zero | base64)" >"$OUT/state-ahead"
kbv 1 "refused: rollback" --bundle "$OUT/a" --state "$OUT/state-ahead"
# a key's registration bundle is not a status
api GET "/api/v1/proofs/key/$KA" >"$OUT/reg"
kbv 1 "refused: the bundle is not a status proof" --bundle "$OUT/reg"
kbv 1 "usage" --bundle "$OUT/a" --file "$POLICY"

# API refusals
api_expect_error 404 not_found GET "/api/v1/proofs/status/abc"
api_expect_error 404 not_found GET "/api/v1/proofs/status/cert/0ab"
api_expect_error 400 bad_parameter GET "/api/v1/proofs/status/$KA?since=3"

# no quorum: the revocation is stored but not final, and no status is
# proven against a map the validators did not cosign
vd_stop s3
vd_stop s4
kb_fail no_quorum key revoke -d "$B" --key-id "$KA" --reason superseded
api_expect_error 409 not_final GET "/api/v1/proofs/status/$KA"
kb_fail not_final proof status -d "$B" --key-id "$KA" -o "$OUT/x"
kb_stop
for v in s1 s2; do vd_stop "$v"; done

# the auditor's replay recomputes every checkpoint's map root
kb_ok ledger verify -d "$B" >/dev/null
log "status proofs: ok"
