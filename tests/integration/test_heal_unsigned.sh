#!/usr/bin/env bash
# A crash between the commit of a cert-issued entry and the CA's signature
# is healed at the next start (docs/design.md "The heal at start").  The
# key process dies (SIGKILL, from gdb at a breakpoint) at the entry of
# the enrollment's SIGN_CERT request, and in a second round at its
# block's SIGN_CHECKPOINT (the block stays stored without a signature);
# the client gets 503 and serve exits after its grace.  The ledger holds
# a current TBS nobody has a certificate for.  Restarted, serve revokes it
# (cert-revoked, cessationOfOperation, by the bridge account) before
# taking requests, so the key enrolls again (200, a certificate that
# verifies); a certificate signed and kept before the crash is not
# touched; the next restart has nothing to heal; the ledger verifies.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v gdb >/dev/null || fail "gdb is needed to stop the key process at one operation (Debian gdb)"

DIR="$OUT/data"
kb_init "$DIR"
DB=$(kb_conf_path "$DIR" db)
kb_start "$DIR"

# a certificate signed and kept: the heal must leave it alone
kb_enroll c0
kb_wait_kept "$OUT/c0.pem"
C0=$(cert_serial_hex "$OUT/c0.pem")

# kp_die_at OP: the key process (serve's only child) dies by SIGKILL at
# the entry of its next request of operation OP (keyproc.h: 5
# SIGN_CHECKPOINT, 6 SIGN_CERT), through gdb attached to it; gdb's pid
# in GDB.  Returns once the breakpoint is set and the process runs.
kp_die_at() {
	local kids st t
	kids=$(cat "/proc/$KB_SERVE_PID/task/$KB_SERVE_PID/children")
	read -ra KIDS <<<"$kids"
	assert_eq 1 "${#KIDS[@]}" "children of keybridge serve (the key process): '$kids'"
	KP=${KIDS[0]}
	# at the function's first instruction: op is in %rsi (SysV ABI)
	gdb -p "$KP" -batch -nx -ex "break *keyproc_handle if (\$rsi & 0xffff) == $1" \
	    -ex continue -ex 'kill' >"$OUT/gdb-$1.log" 2>&1 &
	GDB=$!
	for ((t = 0; t < 200; t++)); do
		st=$(awk '/^State:/ { print $2 } /^TracerPid:/ { tp = $2 } END { print tp }' "/proc/$KP/status" | paste -sd' ')
		case "$st" in
		"S "[1-9]* | "R "[1-9]*) return 0 ;;
		esac
		sleep 0.05
	done
	fail "gdb did not attach to the key process $KP: $(cat "$OUT/gdb-$1.log")"
}

# crash_enroll NAME OP: registers a P-256 key NAME and enrolls it while
# the key process dies at OP; then serve is gone (after its grace, or
# killed).  The serial of NAME's TBS, which the ledger committed without
# a kept certificate, in SERIAL (call it directly, not in $(...)).
crash_enroll() {
	local name=$1 op=$2 kid code serial signed rc=0
	new_key "$name" p256
	kid=$(jq -er .key_id <<<"$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$name.pub" --name "$name" --json)")
	est_csr "$name" "$name" >/dev/null
	kp_die_at "$op"
	code=$(curl -sS -o "$OUT/$name.body" -D "$OUT/$name.hdr" -w '%{http_code}' --max-time 30 \
	    --cacert "$DIR/ca/root.pem" -X POST -H 'Content-Type: application/pkcs10' \
	    --data-binary "@$OUT/csr/$name.b64" "$KB_URL/.well-known/est/simpleenroll" 2>"$OUT/$name.err" || true)
	wait "$GDB" || true
	kill -0 "$KP" 2>/dev/null && fail "the key process $KP is alive after gdb ($(cat "$OUT/gdb-$op.log"))"
	assert_eq 503 "$code" "HTTP status of $name's enrollment, the key process dead at operation $op ($(cat "$OUT/$name.err"))"
	# serve exits non-zero after its grace (the supervisor's restart)
	wait "$KB_SERVE_PID" || rc=$?
	kb_untrack "$KB_SERVE_PID"
	KB_SERVE_PID=""
	[ "$rc" -ne 0 ] || fail "keybridge serve exited 0 after its key process died"
	kb_check_sanitizers
	serial=$(sqlite3 -readonly "$DB" "SELECT serial FROM certs WHERE key_id = '$kid' AND revoked = 0")
	[ -n "$serial" ] || fail "$name's TBS was not committed (the key process died at operation $op)"
	signed=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM certs_signed WHERE serial = '$serial'")
	assert_eq 0 "$signed" "kept certificates of $name's TBS $serial after the crash"
	SERIAL=$serial
}

# heal_check NAME SERIAL: serve is restarted; it revoked SERIAL before
# taking requests and NAME's key enrolls again.
heal_check() {
	local name=$1 serial=$2 size0 c
	size0=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM entries")
	kb_start "$DIR"
	# first what the device sees: without the heal, 409 current_cert_exists
	est_enroll /.well-known/est/simpleenroll "$OUT/csr/$name.b64" "$OUT/$name.pem"
	grep -q "heal: revoked certificate $serial " "$OUT/serve.log" ||
		fail "serve did not log the heal of $serial: $(grep heal "$OUT/serve.log" | tail -n 5)"
	c=$(curl -sS --max-time 10 --cacert "$DIR/ca/root.pem" "$KB_URL/api/v1/certs/$serial")
	assert_eq revoked "$(jq -r .status <<<"$c")" "status of the unsigned TBS $serial after the restart ($c)"
	assert_eq cessationOfOperation "$(jq -r .reason <<<"$c")" "reason of the heal's revocation of $serial"
	c=$(curl -sS --max-time 10 --cacert "$DIR/ca/root.pem" "$KB_URL/api/v1/certs/$C0")
	assert_eq good "$(jq -r .status <<<"$c")" "status of c0's certificate (signed and kept before the crash)"
	c=$(jq -r '.[] | select(.type == "cert-revoked") | .entry' <<<"$(curl -sS --max-time 10 --cacert "$DIR/ca/root.pem" \
	    "$KB_URL/api/v1/ledger/entries?from=$size0&limit=1" | jq .entries)")
	assert_contains "$c" "serial $serial" "the heal's cert-revoked entry at index $size0"
	assert_contains "$c" "account bridge" "the heal's cert-revoked entry at index $size0"
	openssl verify -CAfile "$DIR/ca/root.pem" -untrusted "$DIR/ca/issuing.pem" "$OUT/$name.pem" >/dev/null ||
		fail "$name's new certificate does not verify"
	assert_eq "$(spki_key_id "$OUT/keys/$name.pub")" "$(cert_key_id "$OUT/$name.pem")" "key of $name's new certificate"
	kb_wait_kept "$OUT/$name.pem"
}

# 1. committed, checkpoint signed, the key process dies at SIGN_CERT
crash_enroll d1 6
s1=$SERIAL
log "d1's TBS $s1: committed, checkpoint signed, never signed by the CA"
heal_check d1 "$s1"

# 2. committed, the key process dies at the block's SIGN_CHECKPOINT: the
# block is stored without its signature, re-signed at the next start
crash_enroll d2 5
s2=$SERIAL
unsigned=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM blocks WHERE checkpoint = ''")
assert_eq 1 "$unsigned" "blocks stored without a signature after the key process died at SIGN_CHECKPOINT"
log "d2's TBS $s2: committed in a block stored without its signature"
heal_check d2 "$s2"
kb_stop

# nothing left to heal: a restart appends nothing
size=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM entries")
heals=$(grep -c "heal: revoked certificate" "$OUT/serve.log" || true)
kb_start "$DIR"
assert_eq "$size" "$(kb_tree_size)" "tree size after a restart with nothing to heal"
assert_eq "$heals" "$(grep -c "heal: revoked certificate" "$OUT/serve.log" || true)" "heals logged after a restart with nothing to heal"
kb_stop
out=$(kb_ok ledger verify -d "$DIR")
assert_match "$out" '^ledger OK:' "ledger verify after the heals"
log "a crash between commit and signature is healed at the next start"
