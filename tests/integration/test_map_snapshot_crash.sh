#!/usr/bin/env bash
# The status map snapshot while serving (issue 18, docs/design.md "Status
# map snapshot while serving"): with map_snapshot_entries = 8 the writer
# writes DATA/map.snap every 8 entries or more (0600, logged "while
# serving"); entries after the last one (a certificate issued, a key
# revoked), then keybridge serve killed with SIGKILL (no clean stop, so
# no snapshot at close).  The restart reads the old snapshot and replays
# the K entries after it ("replayed K entries onto a snapshot of size S",
# K >= 4), not a rebuild; then OCSP and the status proofs (read from the
# map) are right for certificates issued before and after the snapshot,
# the key revoked after it (its certificate with it), and a certificate
# superseded after it by a re-enrollment.  Then the snapshot file's recorded
# tree size made larger than the ledger's: refused, the map built, and
# the answers the same.  Last, by time: with map_snapshot_seconds = 5 and
# no count bound, the idle writer writes it after an enrollment.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
SNAP="$DIR/map.snap"
mkdir -p "$OUT/q"
kb_init "$DIR"
kb_conf_set "$DIR" map_snapshot_entries 8
kb_conf_set "$DIR" map_snapshot_seconds 0
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
ISSUING="$DIR/ca/issuing.pem"
declare -A KID SER

enroll() {
	kb_enroll "$1"
	KID[$1]=$KB_KEY_ID
	SER[$1]=$(cert_serial_hex "$OUT/$1.pem")
}

# last_snap: the tree size of the last snapshot written while serving.
last_snap() {
	sed -n 's/.*status map snapshot of size \([0-9]*\) written to .*(while serving)$/\1/p' \
	    "$OUT/serve.log" | tail -n 1
}

# status_of NAME: kb_ocsp_status (lib.sh).
status_of() { kb_ocsp_status "$@"; }

# map_status PATH: the "status" line of the status map's leaf at
# /api/v1/proofs/status/PATH (retried while the last block is not final).
map_status() {
	local code deadline=$((SECONDS + 10))
	while :; do
		code=$(api_call GET "/api/v1/proofs/status/$1")
		[ "$code" = 409 ] || break
		[ "$SECONDS" -lt "$deadline" ] || fail "status proof of $1: still 409 after 10 s"
		sleep 0.2
	done
	[ "$code" = 200 ] || fail "GET /api/v1/proofs/status/$1: HTTP $code: $(head -c 500 "$API_BODY")"
	base64 -d <<<"$(sed -n 's/^extra //p' "$API_BODY")" | sed -n 's/^value //p' |
	    base64 -d | sed -n 's/^status //p'
}

# check_all: OCSP and the map agree on every certificate and key.
check_all() {
	local n want
	for n in dev1 dev2 dev3 dev3b dev4 dev5; do
		case $n in dev1 | dev3) want=revoked ;; *) want=good ;; esac
		assert_eq "$want" "$(status_of "$n")" "OCSP status of $n ($1)"
		assert_eq "$want" "$(map_status "cert/${SER[$n]}")" "map status of $n's certificate ($1)"
	done
	assert_eq revoked "$(map_status "${KID[dev1]}")" "map status of dev1's key ($1)"
	assert_eq active "$(map_status "${KID[dev5]}")" "map status of dev5's key ($1)"
}

# ---- serving: snapshots every 8 entries ----------------------------------------
for n in dev1 dev2 dev3 dev4; do
	enroll "$n"
done
deadline=$((SECONDS + 10))
until [ -n "$(last_snap)" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no snapshot written while serving after 4 enrollments: $(grep 'status map' "$OUT/serve.log" | tail -n 3)"
	sleep 0.1
done
assert_eq 600 "$(stat -c %a "$SNAP")" "the snapshot file's mode"
# after it: a certificate issued for a new key, a key revoked, and dev3
# re-enrolled (its first certificate superseded): 4 entries, fewer than
# 8, so none of them is in a snapshot
enroll dev5
kb_ok key revoke -d "$DIR" --key-id "${KID[dev1]}" --reason keyCompromise >/dev/null
est_enroll /.well-known/est/simplereenroll "$(est_csr dev3 dev3b)" "$OUT/dev3b.pem" \
    --cert "$OUT/dev3.pem" --key "$OUT/keys/dev3.key"
SER[dev3b]=$(cert_serial_hex "$OUT/dev3b.pem")
SIZE=$(kb_tree_size)
S=$(last_snap)
K=$((SIZE - S))
[ "$K" -ge 4 ] || fail "dev5, the revocation and dev3b are not after the last snapshot (size $S, ledger $SIZE)"
check_all "before the crash"

# ---- crash and restart: the old snapshot and K entries replayed -------------------
kb_kill9
kb_start "$DIR"
grep -q "replayed $K entries onto a snapshot of size $S\$" "$OUT/serve.log" ||
	fail "the restart did not replay $K entries onto the snapshot of size $S: $(grep 'status map' "$OUT/serve.log" | tail -n 3)"
check_all "after a crash, the snapshot replayed"

# ---- a snapshot claiming a size beyond the ledger's: refused, the map built ----------
kb_kill9
python3 - "$SNAP" "$((SIZE + 100))" <<'EOF'
import struct, sys
p, size = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[25:33] = struct.pack(">Q", size)
open(p, "wb").write(b)
EOF
kb_start "$DIR"
grep -q "map.snap not used (of tree size $((SIZE + 100)), beyond the ledger's" "$OUT/serve.log" ||
	fail "a snapshot beyond the ledger's size was not refused: $(grep 'status map' "$OUT/serve.log" | tail -n 3)"
check_all "after a snapshot beyond the ledger was refused"
kb_stop

# ---- by time: idle, map_snapshot_seconds after the last one --------------------
# (the count bound off; the writer's idle wait must wake for it: nothing
# else comes)
kb_conf_set "$DIR" map_snapshot_entries 0
kb_conf_set "$DIR" map_snapshot_seconds 5
kb_start "$DIR"
enroll dev6
SIZE=$(kb_tree_size)
deadline=$((SECONDS + 20))
until [ "$(last_snap)" = "$SIZE" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no snapshot of size $SIZE within 20 s of idling with map_snapshot_seconds = 5: $(grep 'status map' "$OUT/serve.log" | tail -n 2)"
	sleep 0.2
done
kb_kill9
kb_start "$DIR"
grep -q "replayed 0 entries onto a snapshot of size $SIZE\$" "$OUT/serve.log" ||
	fail "the restart did not read the snapshot written when idle: $(grep 'status map' "$OUT/serve.log" | tail -n 2)"
kb_stop
log "OK: a crash restart replays the entries after the last snapshot written while serving, and the map is right"
