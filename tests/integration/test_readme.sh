#!/usr/bin/env bash
# test_readme: README.md's first session works as written.
#
# The code block after the "<!-- first-session ... -->" marker in README.md
# is extracted and run line by line (bash -e, with pipefail and a trace)
# against a bridge started the way `make run` starts it (scripts/run.sh,
# which runs `keybridge init` on the first run and then serves in the
# foreground), from a folder laid out like the checkout: `build/` (the
# binary under test) and `data/` (KEYBRIDGE_DATA).  The one change made to
# the block: make run's default addresses 127.0.0.1:8443 and 127.0.0.1:8080
# become free ports (KEYBRIDGE_EST_LISTEN / KEYBRIDGE_HTTP_LISTEN), so the
# test never talks to a `make run` of the user's.
#
# Asserts: the block exists; every line succeeded; OCSP answered "good"
# and then "revoked" for the enrolled certificate; the last line of output
# is "ledger OK: ..."; the bridge then stops cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"

root=$(cd "$KB_LIB_DIR/../.." && pwd)
readme="$root/README.md"
marker='<!-- first-session'
block="$OUT/first_session.sh"

# ---- the block -------------------------------------------------------------

[ -f "$readme" ] || fail "no README.md at $readme"
awk -v m="$marker" '
	index($0, m) == 1 { armed = 1; next }
	armed && !inside && /^```/ { inside = 1; next }
	inside && /^```/ { exit }
	inside { print }
	armed && !inside && NF > 0 { exit }	# text between marker and fence
' "$readme" >"$block"
[ -s "$block" ] || fail "README.md has no first-session block: a fenced code block right after a line starting with '$marker'"
log "README.md first session: $(grep -c . "$block") lines"

ports=$(kb_free_ports 2)
est_port=${ports% *}
http_port=${ports#* }
for a in 127.0.0.1:8443 127.0.0.1:8080; do
	grep -qF "$a" "$block" || fail "the first session never uses make run's default address $a (update this test with the README)"
done
sed -i -e "s/127\.0\.0\.1:8443/127.0.0.1:$est_port/g" \
    -e "s/127\.0\.0\.1:8080/127.0.0.1:$http_port/g" "$block"
if grep -nE ':(8443|8080)([^0-9]|$)' "$block" >&2; then
	fail "the first session reaches a port of make run's that this test cannot move (lines above)"
fi

# ---- the bridge, as `make run` starts it -------------------------------------

session="$OUT/session"
mkdir -p "$session"
ln -s "$(dirname "$KEYBRIDGE")" "$session/build"
[ -x "$session/build/keybridge" ] || fail "the binary under test is not named keybridge: $KEYBRIDGE"

(
	cd "$session"
	exec env KEYBRIDGE_DATA="$session/data" \
	    KEYBRIDGE_EST_LISTEN="127.0.0.1:$est_port" \
	    KEYBRIDGE_HTTP_LISTEN="127.0.0.1:$http_port" \
	    "$root/scripts/run.sh" "$KEYBRIDGE"
) >>"$OUT/serve.log" 2>&1 &
KB_SERVE_PID=$!
kb_track "$KB_SERVE_PID"
KB_DIR="$session/data"
KB_URL="https://127.0.0.1:$est_port"
deadline=$((SECONDS + 30))
until curl -sf -o /dev/null --max-time 2 --cacert "$KB_DIR/ca/root.pem" \
    "$KB_URL/api/v1/status" 2>/dev/null &&
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$http_port/ca/issuing.der"; do
	kill -0 "$KB_SERVE_PID" 2>/dev/null || fail "scripts/run.sh exited before the bridge answered (see $OUT/serve.log)"
	[ "$SECONDS" -lt "$deadline" ] || fail "the bridge did not answer on $KB_URL within 30 s (see $OUT/serve.log)"
	sleep 0.1
done
log "scripts/run.sh serving (pid $KB_SERVE_PID) on $KB_URL and http://127.0.0.1:$http_port"
grep -q "^run: initialising $session/data\$" "$OUT/serve.log" || fail "scripts/run.sh did not initialise $session/data (see $OUT/serve.log)"
assert_eq "127.0.0.1:$est_port" "$(kb_conf_get "$KB_DIR" est_listen)" "est_listen written by run.sh's init"
assert_eq "127.0.0.1:$http_port" "$(kb_conf_get "$KB_DIR" http_listen)" "http_listen written by run.sh's init"

# ---- the session ---------------------------------------------------------------

rc=0
(cd "$session" && bash -e -o pipefail -x "$block") \
    >"$OUT/session.out" 2>"$OUT/session.err" </dev/null || rc=$?
sed 's/^/    out: /' "$OUT/session.out"
if [ "$rc" -ne 0 ]; then
	echo "--- trace of the first session (stderr):" >&2
	tail -n 30 "$OUT/session.err" >&2
	fail "README.md's first session failed (exit status $rc) at the last traced line above"
fi

# OCSP: good for the enrolled certificate, then revoked, in that order.
good=$( (grep -n '^device\.pem: good$' "$OUT/session.out" || true) | head -n 1 | cut -d: -f1)
revoked=$( (grep -n '^device\.pem: revoked$' "$OUT/session.out" || true) | head -n 1 | cut -d: -f1)
[ -n "$good" ] || fail "the first session's OCSP check never said 'device.pem: good'"
[ -n "$revoked" ] || fail "the first session's OCSP check never said 'device.pem: revoked' after the key was revoked"
[ "$good" -lt "$revoked" ] || fail "OCSP said revoked (line $revoked) before good (line $good)"
# (openssl ocsp writes its verdict on the signature to stderr)
assert_eq 2 "$(grep -c '^Response verify OK$' "$OUT/session.err")" "OCSP responses that openssl verified"
grep -q '^	Reason: keyCompromise$' "$OUT/session.out" || fail "the revoked OCSP answer has no 'Reason: keyCompromise'"

last=$(grep . "$OUT/session.out" | tail -n 1)
assert_match "$last" '^ledger OK: ' "last line of the first session's output"
log "first session: OCSP good then revoked, $last"

kb_stop
