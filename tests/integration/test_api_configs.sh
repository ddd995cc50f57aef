#!/usr/bin/env bash
# Published configuration and firmware hashes and the device's check:
# `keybridge config publish` twice in a group, then GET /api/v1/configs
# (the group with its current version), /api/v1/configs/GROUP (versions
# newest first, the current one's inclusion proof) and
# /api/v1/configs/GROUP/check?sha256=H for the current file ("current"),
# the older one ("older") and a file never published ("unknown").  Every
# proof returned is checked by the independent verifier (verify_proof.py:
# the checkpoint's validator signature, the leaf hash of the entry's bytes,
# the RFC 9162 inclusion); a tampered entry text is refused by it.  Bad
# group names and hashes get 400, unknown groups 404.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"
VERIFY="$(dirname "$0")/verify_proof.py"

printf 'firmware one\n' >"$OUT/fw1.bin"
printf 'firmware two\n' >"$OUT/fw2.bin"
printf 'never published\n' >"$OUT/fw3.bin"
kb_ok config publish -d "$DIR" --group cameras --file "$OUT/fw1.bin" --version 1.0 >/dev/null
kb_ok config publish -d "$DIR" --group cameras --file "$OUT/fw2.bin" --version 2.0 >/dev/null
kb_ok config publish -d "$DIR" --group gateways --file "$OUT/fw1.bin" --version 7 >/dev/null
sha() { sha256sum "$1" | cut -d' ' -f1; }

# verified NAME JSON: the "proof" object of JSON checks out independently.
verified() {
	jq '.proof' <<<"$2" >"$OUT/$1.proof.json"
	jq -j '.proof.entry' <<<"$2" >"$OUT/$1.entry"
	jq -j '.proof.checkpoint' <<<"$2" >"$OUT/$1.checkpoint"
	python3 "$VERIFY" inclusion --entry "$OUT/$1.entry" --index "$(jq -r .proof.index <<<"$2")" \
	    --proof "$OUT/$1.proof.json" --checkpoint "$OUT/$1.checkpoint" --conf "$DIR/keybridge.conf" \
	    >"$OUT/$1.verify" 2>&1 || fail "the proof of $1 does not verify: $(cat "$OUT/$1.verify")"
	log "$1: $(cat "$OUT/$1.verify")"
}

j=$(api GET /api/v1/configs)
assert_eq "cameras gateways" "$(jq -r '[.groups[].group] | join(" ")' <<<"$j")" "groups"
assert_eq 2.0 "$(jq -r '.groups[0].current.version' <<<"$j")" "current version of cameras"
assert_eq 2 "$(jq -r '.groups[0].versions' <<<"$j")" "versions of cameras"

j=$(api GET /api/v1/configs/cameras)
assert_eq "2.0 1.0" "$(jq -r '[.versions[].version] | join(" ")' <<<"$j")" "versions newest first"
assert_eq "$(sha "$OUT/fw2.bin")" "$(jq -r .current.sha256 <<<"$j")" "current sha256"
assert_contains "$(jq -r .proof.entry <<<"$j")" "sha256 $(sha "$OUT/fw2.bin")" "entry of the current version"
verified current-group "$j"

j=$(api GET "/api/v1/configs/cameras/check?sha256=$(sha "$OUT/fw2.bin")")
assert_eq current "$(jq -r .match <<<"$j")" "check of the current file"
assert_eq 2.0 "$(jq -r .version <<<"$j")" "its version"
verified check-current "$j"
j=$(api GET "/api/v1/configs/cameras/check?sha256=$(sha "$OUT/fw1.bin")")
assert_eq older "$(jq -r .match <<<"$j")" "check of the older file"
assert_eq "1.0 2.0" "$(jq -r '"\(.version) \(.current_version)"' <<<"$j")" "its version and the current one"
verified check-older "$j"
j=$(api GET "/api/v1/configs/cameras/check?sha256=$(sha "$OUT/fw3.bin")")
assert_eq unknown "$(jq -r .match <<<"$j")" "check of a file never published"
assert_eq null "$(jq -r '.proof' <<<"$j")" "no proof for an unknown file"
# the same file is current in another group
assert_eq current "$(api GET "/api/v1/configs/gateways/check?sha256=$(sha "$OUT/fw1.bin")" | jq -r .match)" \
    "fw1 in gateways"

# negative control: the verifier refuses an entry whose text was changed
sed 's/version 1.0/version 9.9/' "$OUT/check-older.entry" >"$OUT/tampered.entry"
if python3 "$VERIFY" inclusion --entry "$OUT/tampered.entry" --index "$(jq -r .index "$OUT/check-older.proof.json")" \
    --proof "$OUT/check-older.proof.json" --checkpoint "$OUT/check-older.checkpoint" \
    --conf "$DIR/keybridge.conf" >"$OUT/tampered.verify" 2>&1; then
	fail "the verifier accepted a tampered entry: $(cat "$OUT/tampered.verify")"
fi

api_expect_error 404 config_not_found GET /api/v1/configs/nothing-here
api_expect_error 404 config_not_found GET "/api/v1/configs/nothing-here/check?sha256=$(sha "$OUT/fw1.bin")"
api_expect_error 404 not_found GET /api/v1/configs/cameras/other
for q in '' 'sha256=' 'sha256=abc' "sha256=$(sha "$OUT/fw1.bin" | tr a-f A-F)" "sha256=$(sha "$OUT/fw1.bin")00" \
    'sha256=%27%20OR%201%3D1--'; do
	api_expect_error 400 bad_parameter GET "/api/v1/configs/cameras/check?$q"
done
for g in 'a%20b' "$(printf 'g%.0s' {1..65})" '%27%3B%20DROP%20TABLE%20configs'; do
	api_expect_error 400 bad_parameter GET "/api/v1/configs/$g"
done

# GET /api/v1/ledger/entries/INDEX carries the same proof of the entry
# ("inclusion"), checked by the same independent verifier
j=$(api GET /api/v1/ledger/entries/3)
verified entry-3 "$(jq '{proof: .inclusion}' <<<"$j")"
assert_eq "$(jq -r .entry <<<"$j")" "$(jq -r .inclusion.entry <<<"$j")" "the entry beside its proof"
kb_stop
log "OK"
