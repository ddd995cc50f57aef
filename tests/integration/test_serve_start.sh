#!/usr/bin/env bash
# test_serve_start: `keybridge serve` refuses to start, with a clear line
# and exit status 1, when a key or file it needs is missing or a port is
# taken, and it frees what it had set up without touching memory it never
# initialised: the normal build runs under valgrind (which sees reads of
# uninitialised memory; ASan does not), the sanitizer build under ASan.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
# every key file and the database are created 0600 (issue 16)
for f in ledger.db admin.key bridge.key node.key tls/server.key ca/issuing.key ca/ocsp.key ca/root.key; do
	assert_file_mode "$DIR/$f" 600
done

# serve_fails WHAT PATTERN: serve must exit 1 with PATTERN on stderr, and
# valgrind must report nothing.
serve_fails() {
	local what=$1 want=$2 rc=0
	local run=("$KEYBRIDGE")
	case "$KEYBRIDGE" in
	*/build-san/*) ;;
	*)
		command -v valgrind >/dev/null || fail "valgrind is not installed (scripts/deps.sh installs it)"
		run=(valgrind -q --error-exitcode=99 --leak-check=no "$KEYBRIDGE")
		;;
	esac
	timeout 120 "${run[@]}" serve -d "$DIR" >"$OUT/serve-$what.log" 2>&1 || rc=$?
	assert_eq 1 "$rc" "exit status of serve with $what (log: $(head -c 2000 "$OUT/serve-$what.log"))"
	assert_contains "$(cat "$OUT/serve-$what.log")" "$want" "serve's message with $what"
	if grep -q "==[0-9]*==" "$OUT/serve-$what.log"; then
		fail "valgrind or a sanitizer reported with $what: $(grep -m5 '==[0-9]*==' "$OUT/serve-$what.log")"
	fi
	log "serve with $what: exit 1, \"$(grep -m1 -o "$want.*" "$OUT/serve-$what.log" | head -c 200)\""
}

mv "$DIR/node.key" "$DIR/node.key.away"
serve_fails "the node key missing" "validator key:"
mv "$DIR/node.key.away" "$DIR/node.key"

mv "$DIR/tls/server.key" "$DIR/tls/server.key.away"
serve_fails "the TLS key missing" "TLS:"
mv "$DIR/tls/server.key.away" "$DIR/tls/server.key"

# a key file or the database that group or others may read is refused
# (the CA keys were; the TLS key and the database were not)
chmod 0644 "$DIR/tls/server.key"
serve_fails "the TLS key at 0644" "tls/server.key: key file is accessible by group or others (mode 0644): run chmod 600"
chmod 0600 "$DIR/tls/server.key"
chmod 0640 "$DIR/ledger.db"
serve_fails "ledger.db at 0640" "ledger.db is open to group or others (mode 0640): run chmod 600"
chmod 0600 "$DIR/ledger.db"
: > "$DIR/ledger.db-shm"
chmod 0644 "$DIR/ledger.db-shm"
serve_fails "ledger.db-shm at 0644" "ledger.db-shm is open to group or others (mode 0644)"
rm -f "$DIR/ledger.db-shm"

# the HTTPS port taken by another process
python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(300)' "$KB_EST_PORT" &
holder=$!
kb_track "$holder"
wait_port "$KB_EST_PORT" "$holder" "the port holder"
serve_fails "its port taken" "127.0.0.1:$KB_EST_PORT"
stop_pid "$holder"

# and with everything in place it starts and stops cleanly; SQLite
# makes the -wal and -shm files with the database's mode
kb_start "$DIR"
new_key start-1 p256
kb_ok key register -d "$DIR" --remote --pubkey "$OUT/keys/start-1.pub" --name start-1 >/dev/null
for f in ledger.db ledger.db-wal ledger.db-shm; do
	assert_file_mode "$DIR/$f" 600
done
kb_stop
log "PASS: serve refuses each broken start with one clear line"
