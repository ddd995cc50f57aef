#!/usr/bin/env bash
# The device flow end to end (issue 15), in the source design's topology:
# configuration servers apart from the ledger's nodes.  A bridge with four
# validators (keybridge validator serve, quorum 3) publishes two versions
# of a configuration; `keybridge config bundle` (and `proof config` for the
# older version) write the files and their bundles into nginx's document
# root (a device key registered with --config-group is replayed into
# every validator's registry); a "device", examples/device/fetch.sh,
# downloads from nginx only
# and runs kbverify with the `keybridge policy` text and its state file.
# The current file verifies and is installed (0); the previous version
# verifies as superseded (2); a file altered on nginx is refused (1); a
# bundle whose checkpoint lacks a quorum (cosignatures stripped from the
# file on nginx) is refused; an older checkpoint after a newer one was
# seen (a rollback by the server) is refused; with the bridge and every
# validator stopped the device still verifies from nginx alone.  A refusal
# leaves the installed file and the state alone.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vlib.sh"
. "$(dirname "$0")/vbridge.sh"

export KBVERIFY=${KBVERIFY:-$(dirname "$KEYBRIDGE")/tools/kbverify}
[ -x "$KBVERIFY" ] || fail "no kbverify at $KBVERIFY (make builds it)"
FETCH="$KB_LIB_DIR/../../examples/device/fetch.sh"
SH=$(command -v dash || command -v sh)
B="$OUT/data"
WWW="$OUT/www"
DEV="$OUT/device"
mkdir -p "$WWW" "$DEV" "$OUT/src1" "$OUT/src2"

# ---- the ledger's side -----------------------------------------------------------
vb_setup "$B" 3000 v1 v2 v3 v4
kb_start "$B"
kb_ok policy -d "$B" >"$DEV/policy"
assert_contains "$(cat "$DEV/policy")" "quorum 3" "the policy the device carries"
printf 'mode=1\n' >"$OUT/src1/cams.conf"
printf 'mode=2\n' >"$OUT/src2/cams.conf"
kb_ok config publish -d "$B" --group cams --file "$OUT/src1/cams.conf" --version 1 >/dev/null
# what the configuration server held while version 1 was current
mkdir -p "$WWW/early"
kb_ok config bundle -d "$B" --group cams --file "$OUT/src1/cams.conf" -o "$WWW/early" >/dev/null
kb_ok config publish -d "$B" --group cams --file "$OUT/src2/cams.conf" --version 2 >/dev/null
kb_ok config bundle -d "$B" --group cams --file "$OUT/src2/cams.conf" -o "$WWW" >/dev/null
mkdir -p "$WWW/old"
cp "$OUT/src1/cams.conf" "$WWW/old/cams.conf"
kb_ok proof config -d "$B" --group cams --version 1 -o "$WWW/old/cams.conf.tlog-proof" >/dev/null
n=$(grep -c '^— v[0-9]\.test ' "$WWW/cams.conf.tlog-proof" || true)
[ "$n" -ge 3 ] || fail "the published bundle's checkpoint has $n cosignatures, want a quorum of 3"
# the server's own edits: an altered file; the bundle with its checkpoint's
# cosignatures stripped to two
mkdir -p "$WWW/altered" "$WWW/noquorum"
cp "$WWW/cams.conf.tlog-proof" "$WWW/altered/"
{ cat "$WWW/cams.conf"; printf 'evil=1\n'; } >"$WWW/altered/cams.conf"
cp "$WWW/cams.conf" "$WWW/noquorum/"
awk '/^— v[0-9]\.test /{if (++k > 2) next} {print}' "$WWW/cams.conf.tlog-proof" >"$WWW/noquorum/cams.conf.tlog-proof"

# a device key naming its group: final only once a quorum of validators
# replayed the registration through the same rules; each keeps its groups
new_key cam p256
KID=$(kb_ok key register -d "$B" --pubkey "$OUT/keys/cam.pub" --name cam --config-group cams --config-group lobby --json | jq -er .key_id)
for v in v1 v2 v3 v4; do
	# the quorum is 3: the fourth may still be replaying the block
	deadline=$((SECONDS + 10))
	until g=$(sqlite3 "file:$OUT/$v/validator.db?mode=ro" "SELECT groups FROM keys WHERE key_id = '$KID'" 2>/dev/null) &&
	    [ -n "$g" ] || [ "$SECONDS" -ge "$deadline" ]; do
		sleep 0.1
	done
	assert_eq "cams lobby" "$g" "the key's groups in validator $v's registry"
done

# ---- the configuration server ----------------------------------------------------
PORT=$(kb_free_ports 1)
KB_USED_PORTS="$KB_USED_PORTS $PORT"
nginx_conf "$OUT/nginx" "
    access_log $OUT/nginx/access.log;
    server {
        listen 127.0.0.1:$PORT;
        root $WWW;
        location / { autoindex off; }
    }"
nginx_run "$OUT/nginx" "$PORT"
SRV="http://127.0.0.1:$PORT"

# device WANT_RC WANT_TEXT PATH: fetch.sh downloads PATH (and its bundle)
# from nginx into the device; it exits WANT_RC printing WANT_TEXT.
device() {
	local want=$1 text=$2 path=$3 rc=0 out
	out=$("$SH" "$FETCH" "$SRV/$path" "$DEV/cams.conf" "$DEV/policy" cams "$DEV/state" 2>&1) || rc=$?
	log "device $path -> $rc: $out"
	[ "$rc" = "$want" ] || fail "device fetching $path: exit $rc, expected $want: $out"
	assert_contains "$out" "$text" "the device's line for $path"
}
state_size() { sed -n 's/^size //p' "$DEV/state"; }

# the current file, installed; the state remembers its checkpoint
device 0 "current: cams version 2" cams.conf
cmp -s "$DEV/cams.conf" "$OUT/src2/cams.conf" || fail "the device did not install version 2"
S2=$(state_size)
[ -n "$S2" ] || fail "no state after the first verification"
# the previous version: genuine, superseded, not installed
device 2 "superseded: cams version 1" old/cams.conf
assert_contains "$(cat "$DEV/cams.conf")" "mode=2" "the installed file after a superseded version"
# altered on the server
device 1 "refused: the file's SHA-256" altered/cams.conf
# cosignatures stripped: no quorum
device 1 "refused: no quorum: 2 valid cosignatures of the 3" noquorum/cams.conf
# an older checkpoint after the newer one was seen
device 1 "refused: rollback: checkpoint size" early/cams.conf
assert_eq "$S2" "$(state_size)" "the state after the refusals"
# a state that exists but cannot be read is not "no state yet": the rename
# would replace it and forget the newest checkpoint seen (a symlink loop)
mv "$DEV/state" "$DEV/state.kept" && ln -s state "$DEV/state"
device 1 "refused: the state" cams.conf
[ -L "$DEV/state" ] || fail "an unreadable state was replaced"
rm -f "$DEV/state" && mv "$DEV/state.kept" "$DEV/state"
cmp -s "$DEV/cams.conf" "$OUT/src2/cams.conf" || fail "a refusal replaced the installed file"
# every file came from nginx
grep -q '"GET /early/cams.conf.tlog-proof HTTP' "$OUT/nginx/access.log" ||
	fail "nginx did not serve the early bundle: $(tail -n 3 "$OUT/nginx/access.log")"

# ---- the ledger's side down: nginx alone ---------------------------------------------
kb_stop
for v in v1 v2 v3 v4; do vd_stop "$v"; done
rm -f "$DEV/cams.conf"
device 0 "current: cams version 2" cams.conf
cmp -s "$DEV/cams.conf" "$OUT/src2/cams.conf" || fail "the device did not install version 2 from nginx alone"
device 1 "refused: no quorum" noquorum/cams.conf
stop_pid "$N_PID" nginx
log "device flow: ok"
