#!/usr/bin/env bash
# Proof bundles and the device-side verifier (issue 15): a bridge, solo
# and then with four validators (keybridge validator serve, quorum 3),
# publishes two versions of a configuration; bundles come from
# GET /api/v1/proofs/config/GROUP?sha256=H (also ?since=SIZE),
# `keybridge proof config|key` and `keybridge config bundle`, and
# examples/device's kbverify checks them with the `keybridge policy`
# text: the current file (0), the previous one as superseded, naming the
# current version (2), and refuses (1) an altered file, a bundle with
# cosignatures (or, solo, the log signature) removed, a tampered
# inclusion proof, a tampered consistency proof, a rollback and a fork
# against its state file, a wrong group, a key's bundle (not a config),
# a truncated bundle.  With the bridge stopped the device verifies from
# the files alone.  KB_PROOF_MODES="solo" runs one mode (mutations).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vlib.sh"
. "$(dirname "$0")/vbridge.sh"

KBVERIFY=${KBVERIFY:-$(dirname "$KEYBRIDGE")/tools/kbverify}
[ -x "$KBVERIFY" ] || fail "no kbverify at $KBVERIFY (make builds it)"
sha() { sha256sum "$1" | cut -c1-64; }

# kbv WANT_RC WANT_TEXT ARGS...: kbverify exits WANT_RC and prints one line
# containing WANT_TEXT.
kbv() {
	local want=$1 text=$2 rc=0 out
	shift 2
	out=$("$KBVERIFY" --policy "$POLICY" "$@" 2>&1) || rc=$?
	[ "$(wc -l <<<"$out")" = 1 ] || fail "kbverify $*: not one line: $out"
	[ "$rc" = "$want" ] || fail "kbverify $*: exit $rc, expected $want: $out"
	assert_contains "$out" "$text" "kbverify $*"
	log "kbverify exit $rc: $out"
}

# state_size FILE: the size a state file remembers.
state_size() { sed -n 's/^size //p' "$1"; }

run_mode() {
	local mode=$1 D="$OUT/$1" B cp
	mkdir -p "$D"
	B="$D/data"
	if [ "$mode" = solo ]; then
		kb_init "$B"
	else
		vb_setup "$B" 3000 "p1" "p2" "p3" "p4"
	fi
	kb_start "$B"
	POLICY="$D/policy"
	kb_ok policy -d "$B" >"$POLICY"
	printf 'mode=1\n' >"$D/c1.conf"
	printf 'mode=2\n' >"$D/c2.conf"
	kb_ok config publish -d "$B" --group cams --file "$D/c1.conf" --version 1 >/dev/null

	# the first version, current: the device remembers its checkpoint
	api GET "/api/v1/proofs/config/cams?sha256=$(sha "$D/c1.conf")" >"$D/b1-early"
	assert_eq "c2sp.org/tlog-proof@v1" "$(head -n 1 "$D/b1-early")" "the bundle's first line"
	kbv 0 "current: cams version 1" --bundle "$D/b1-early" --file "$D/c1.conf" --group cams --state "$D/state"
	S1=$(state_size "$D/state")
	cp "$D/state" "$D/state-early"

	kb_ok config publish -d "$B" --group cams --file "$D/c2.conf" --version 2 >/dev/null
	# the device asks from the size it remembers: consistency proven
	api GET "/api/v1/proofs/config/cams?sha256=$(sha "$D/c2.conf")&since=$S1" >"$D/b2"
	base64 -d <<<"$(sed -n 's/^extra //p' "$D/b2")" >"$D/b2.extra"
	assert_contains "$(cat "$D/b2.extra")" "since $S1" "the extra of a bundle with since"
	kbv 0 "current: cams version 2" --bundle "$D/b2" --file "$D/c2.conf" --group cams --state "$D/state"
	S2=$(state_size "$D/state")
	[ "$S2" -gt "$S1" ] || fail "the state did not advance: $S1 then $S2"

	# the old version is valid but superseded, and names the current one
	api GET "/api/v1/proofs/config/cams?sha256=$(sha "$D/c1.conf")" >"$D/b1"
	kbv 2 "current is version 2 (sha256 $(sha "$D/c2.conf")" --bundle "$D/b1" --file "$D/c1.conf" --group cams

	# refusals
	cp "$D/c2.conf" "$D/c2-altered.conf"
	printf 'evil=1\n' >>"$D/c2-altered.conf"
	kbv 1 "refused: the file's SHA-256" --bundle "$D/b2" --file "$D/c2-altered.conf" --group cams
	kbv 1 "refused: wrong group" --bundle "$D/b2" --file "$D/c2.conf" --group doors
	if [ "$mode" = solo ]; then
		grep -v "^— $(kb_conf_get "$B" validator_name) " "$D/b2" >"$D/b2-unsigned"
		kbv 1 "not signed by the log key" --bundle "$D/b2-unsigned" --file "$D/c2.conf"
	else
		# keep N: the bundle with its first N cosignatures only
		keep() { awk -v n="$1" '/^— p[0-9]\.test /{if (++k > n) next} {print}' "$D/b2"; }
		n=$(grep -c '^— p[0-9]\.test ' "$D/b2")
		[ "$n" -ge 3 ] || fail "the final checkpoint has $n cosignatures"
		keep 2 >"$D/b2-noquorum"
		kbv 1 "no quorum: 2 valid cosignatures of the 3" --bundle "$D/b2-noquorum" --file "$D/c2.conf"
		keep 3 >"$D/b2-three"
		kbv 0 "current: cams version 2" --bundle "$D/b2-three" --file "$D/c2.conf"
		# a cosignature line of p3 copied under p1's name: p1's key
		# does not verify it, so it does not count
		awk '/^— p1\.test /{next} {print}' "$D/b2-three" >"$D/b2-forged"
		l=$(grep -m1 '^— p[2-4]\.test ' "$D/b2-forged" | sed 's/^— p[0-9]\.test /— p1.test /')
		keep 2 | awk '/^— p[0-9]\.test /{next} {print}' >"$D/b2-forged"
		grep '^— p[0-9]\.test ' "$D/b2" | head -n 2 >>"$D/b2-forged"
		printf '%s\n' "$l" >>"$D/b2-forged"
		kbv 1 "no quorum" --bundle "$D/b2-forged" --file "$D/c2.conf"
		# one cosignature twice: counted once
		{ keep 2; grep -m 1 '^— p[0-9]\.test ' "$D/b2"; } >"$D/b2-dup"
		kbv 1 "no quorum: 2 valid" --bundle "$D/b2-dup" --file "$D/c2.conf"
		# a signature byte changed in one of three: no quorum
		keep 3 | awk '/^— p[0-9]\.test /{if (++k == 2) { c = substr($3, 30, 1); $3 = substr($3, 1, 29) (c == "A" ? "B" : "A") substr($3, 31) }} {print}' >"$D/b2-badsig"
		kbv 1 "no quorum: 2 valid" --bundle "$D/b2-badsig" --file "$D/c2.conf"
	fi
	# an inclusion proof line replaced by another hash
	awk -v h="$(head -c 32 /dev/zero | base64)" 'NR == 4 {print h; next} {print}' "$D/b2" >"$D/b2-proof"
	kbv 1 "refused: tampered: entry" --bundle "$D/b2-proof" --file "$D/c2.conf"
	# a consistency proof line altered (the extra re-encoded)
	sed 's/^consistency .*/consistency '"$(head -c 32 /dev/zero | base64)"'/' "$D/b2.extra" | base64 -w0 >"$D/bad.extra"
	sed "s|^extra .*|extra $(cat "$D/bad.extra")|" "$D/b2" >"$D/b2-cons"
	kbv 1 "refused: inconsistent" --bundle "$D/b2-cons" --file "$D/c2.conf" --state "$D/state-early"
	assert_eq "$S1" "$(state_size "$D/state-early")" "a refused bundle leaves the state alone"
	# a consistency proof from a size the device does not hold
	kbv 1 "refused: the consistency proof starts at $S1, the remembered checkpoint is $S2" --bundle "$D/b2" --file "$D/c2.conf" --state "$D/state"
	# rollback: the early bundle after the newer checkpoint was seen
	kbv 1 "refused: rollback: checkpoint size $S1" --bundle "$D/b1-early" --file "$D/c1.conf" --state "$D/state"
	assert_eq "$S2" "$(state_size "$D/state")" "the state after a refused rollback"
	# fork: the remembered size with another root
	sed "s|^root .*|root $(head -c 32 /dev/zero | base64)|" "$D/state" >"$D/state-fork"
	kbv 1 "refused: fork" --bundle "$D/b2" --file "$D/c2.conf" --state "$D/state-fork"
	# a policy for another log origin
	sed 's/^origin .*/origin example.com\/other/' "$POLICY" >"$D/policy-other"
	POLICY="$D/policy-other" kbv 1 "refused: the checkpoint is not of origin example.com/other" --bundle "$D/b2" --file "$D/c2.conf"
	head -c 200 "$D/b2" >"$D/b2-short"
	kbv 1 "refused: malformed bundle" --bundle "$D/b2-short" --file "$D/c2.conf"

	# the CLI's bundle is the API's (the same tree)
	kb_ok proof config -d "$B" --group cams --file "$D/c2.conf" -o "$D/b2-cli" >/dev/null
	api GET "/api/v1/proofs/config/cams?sha256=$(sha "$D/c2.conf")" >"$D/b2-api"
	cmp -s "$D/b2-cli" "$D/b2-api" || fail "proof config -o differs from the API's bundle"
	kb_ok proof config -d "$B" --group cams --version 1 --since "$S1" -o "$D/b1-cli" >/dev/null
	kbv 2 "superseded: cams version 1" --bundle "$D/b1-cli" --file "$D/c1.conf"
	# a key's bundle: the registration, checked by the independent verifier
	new_device_key "dev-$mode" ed25519
	kb_ok key register -d "$B" --pubkey "$OUT/keys/dev-$mode.pub" --name "dev-$mode" >/dev/null
	KID=$(spki_key_id "$OUT/keys/dev-$mode.pub")
	kb_ok proof key -d "$B" --key-id "$KID" -o "$D/bk" >/dev/null
	api GET "/api/v1/proofs/key/$KID" >"$D/bk-api"
	cmp -s "$D/bk" "$D/bk-api" || fail "proof key -o differs from the API's bundle"
	kbv 1 "refused: the entry is not a config publication" --bundle "$D/bk" --file "$D/c2.conf"

	# a certificate's bundle (an EST enrollment), by the API and the CLI
	if [ "$mode" = solo ]; then
		kb_enroll "cam-$mode"
		SERIAL=$(openssl x509 -in "$OUT/cam-$mode.pem" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')
		kb_ok proof cert -d "$B" --serial "$SERIAL" -o "$D/bc" >/dev/null
		api GET "/api/v1/proofs/cert/$SERIAL" >"$D/bc-api"
		cmp -s "$D/bc" "$D/bc-api" || fail "proof cert -o differs from the API's bundle"
		base64 -d <<<"$(sed -n 's/^extra //p' "$D/bc")" | sed -n 's/^entry //p' | base64 -d >"$D/bc.entry"
		assert_contains "$(cat "$D/bc.entry")" "type cert-issued" "the entry of a certificate's bundle"
		assert_contains "$(cat "$D/bc.entry")" "serial $SERIAL" "its serial"
	fi

	# config bundle: the current file and its bundle, for a config server
	mkdir -p "$D/www"
	kb_ok config bundle -d "$B" --group cams --file "$D/c2.conf" -o "$D/www" >/dev/null
	cmp -s "$D/c2.conf" "$D/www/c2.conf" || fail "config bundle did not copy the file"
	kb_fail not_current config bundle -d "$B" --group cams --file "$D/c1.conf" -o "$D/www"

	# API refusals
	api_expect_error 400 bad_parameter GET "/api/v1/proofs/config/cams?sha256=abc"
	api_expect_error 400 bad_parameter GET "/api/v1/proofs/config/cams"
	api_expect_error 404 config_not_found GET "/api/v1/proofs/config/cams?sha256=$(sha "$D/c2-altered.conf")"
	api_expect_error 400 bad_parameter GET "/api/v1/proofs/config/cams?sha256=$(sha "$D/c2.conf")&since=999999"
	api_expect_error 400 bad_parameter GET "/api/v1/proofs/config/a%20b?sha256=$(sha "$D/c2.conf")"
	api_expect_error 404 key_not_found GET "/api/v1/proofs/key/$(printf '0%.0s' {1..64})"
	api_expect_error 404 cert_not_found GET "/api/v1/proofs/cert/abc"
	api_expect_error 404 not_found GET "/api/v1/proofs/other/x"

	# the bridge stopped: the device verifies from the files alone
	kb_stop
	if [ "$mode" != solo ]; then
		for v in p1 p2 p3 p4; do vd_stop "$v"; done
	fi
	kbv 0 "current: cams version 2" --bundle "$D/www/c2.conf.tlog-proof" --file "$D/www/c2.conf" --group cams --state "$D/state"
}

for m in ${KB_PROOF_MODES:-solo validators}; do
	log "---- $m"
	run_mode "$m"
done
log "proof bundles and kbverify: ok"
