#!/usr/bin/env bash
# Logs (docs/operations.md "Logs"): with log_format = json, log_target a
# file and an access log, every line of both files is one JSON object with
# its fields; every answer of both listeners (API, an EST refusal, an OCSP
# malformedRequest) carries an X-Request-Id found in the access log's
# line of that very request; logrotate's way (mv, then SIGUSR1) makes the
# bridge write new files (0640) while the moved ones keep what was
# before.  Then, as root in a mount namespace with a private /dev/log
# bound by a Python listener, log_target = syslog delivers JSON messages
# at the right syslog(3) priorities, request lines included (no access
# log: they go to the main log).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
kb_conf_set "$DIR" log_format json
kb_conf_set "$DIR" log_target keybridge.log
kb_conf_set "$DIR" access_log access.log
kb_start "$DIR"
MAIN="$DIR/keybridge.log"
ACCESS="$DIR/access.log"

# req NAME URL [CURL ARGS...]: the request; its status in OUT/NAME.code
# and its X-Request-Id in OUT/NAME.id (must be there).
req() {
	local name=$1 url=$2 id
	shift 2
	curl -sS -o "$OUT/$name.body" -D "$OUT/$name.hdr" -w '%{http_code}' \
	    --max-time 10 --cacert "$DIR/ca/root.pem" "$@" "$url" >"$OUT/$name.code" ||
		fail "$name: curl $url failed"
	id=$(tr -d '\r' <"$OUT/$name.hdr" | awk -F': ' 'tolower($1) == "x-request-id" { print $2 }')
	assert_match "$id" '^[0-9a-f]{8}-[0-9a-f]+$' "X-Request-Id of $name ($url)"
	printf '%s\n' "$id" >"$OUT/$name.id"
}

req api "$KB_URL/api/v1/status"
assert_eq 200 "$(cat "$OUT/api.code")" "GET /api/v1/status"
req est "$KB_URL/.well-known/est/simpleenroll" -X POST \
    -H 'Content-Type: application/pkcs10' --data-binary 'not a CSR'
assert_eq 400 "$(cat "$OUT/est.code")" "POST simpleenroll with a bad CSR"
req ocsp "$KB_HTTP_URL/ocsp/bm90LW9jc3A="
assert_eq 200 "$(cat "$OUT/ocsp.code")" "GET /ocsp/ of garbage (malformedRequest is a 200)"
req nope "$KB_URL/api/v1/nowhere"
assert_eq 404 "$(cat "$OUT/nope.code")" "GET /api/v1/nowhere"
[ "$(cat "$OUT/api.id")" != "$(cat "$OUT/est.id")" ] || fail "two requests share an id"

# check_logs MAIN ACCESS: every line of both is a JSON object with the
# fields of its kind; each NAME=METHOD:PATH:LISTENER after them has one
# access line with OUT/NAME.id, that method, path, listener and status.
check_logs() {
	python3 - "$@" <<'EOF'
import json, re, sys
main, access, want = sys.argv[1], sys.argv[2], sys.argv[3:]
TIME = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')
def lines(path, fields):
    got = []
    for n, line in enumerate(open(path, encoding='utf-8'), 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            sys.exit("%s:%d: not JSON (%s): %r" % (path, n, e, line[:200]))
        if not isinstance(o, dict):
            sys.exit("%s:%d: not an object" % (path, n))
        for f, t in fields.items():
            if not isinstance(o.get(f), t):
                sys.exit("%s:%d: field %s missing or not %s: %r" % (path, n, f, t, line[:300]))
        if not TIME.match(o['time']):
            sys.exit("%s:%d: time %r is not RFC 3339 UTC with ms" % (path, n, o['time']))
        if o['level'] not in ('error', 'warn', 'info', 'debug'):
            sys.exit("%s:%d: level %r" % (path, n, o['level']))
        got.append(o)
    if not got:
        sys.exit("%s: empty" % path)
    return got
base = {'time': str, 'level': str, 'component': str, 'message': str, 'pid': int}
m = lines(main, base)
if not any(o['component'] != 'keybridge' for o in m):
    sys.exit("%s: no line names a component" % main)
reqf = dict(base, request_id=str, client=str, listener=str, method=str,
            path=str, status=int, bytes=int, duration_ms=(int, float))
a = lines(access, reqf)
for w in want:
    name, spec = w.split('=', 1)
    method, path, listener = spec.split(':')
    rid = open(name + '.id').read().strip()
    code = int(open(name + '.code').read())
    hits = [o for o in a if o['request_id'] == rid]
    if len(hits) != 1:
        sys.exit("%s: %d lines with request id %s of %s" % (access, len(hits), rid, name))
    o = hits[0]
    if (o['method'], o['path'], o['listener'], o['status']) != (method, path, listener, code):
        sys.exit("%s: line of %s (%s) says %r" % (access, name, rid, o))
    if o['client'] != '127.0.0.1' or o['duration_ms'] < 0:
        sys.exit("%s: line of %s: client or duration: %r" % (access, name, o))
print("%d main lines, %d access lines, %d requests found" % (len(m), len(a), len(want)))
EOF
}
# the access line is written once the reply is: poll for the last one
deadline=$((SECONDS + 5))
until grep -q "$(cat "$OUT/nope.id")" "$ACCESS" 2>/dev/null; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no access line for $(cat "$OUT/nope.id") within 5 s"
	sleep 0.05
done
(cd "$OUT" && check_logs "$MAIN" "$ACCESS" api=GET:/api/v1/status:https \
    est=POST:/.well-known/est/simpleenroll:https \
    ocsp=GET:/ocsp/bm90LW9jc3A=:http nope=GET:/api/v1/nowhere:https) | while read -r l; do log "$l"; done
[ "${PIPESTATUS[0]}" = 0 ] || fail "JSON logs"
assert_file_mode "$MAIN" 640
assert_file_mode "$ACCESS" 640
# the routes: the API's prefix, the API prefix for an unknown API path
assert_eq "/api/v1/status" "$(jq -r "select(.request_id == \"$(cat "$OUT/api.id")\") | .route" "$ACCESS")" "route of GET /api/v1/status"
assert_eq null "$(jq -r "select(.request_id == \"$(cat "$OUT/nope.id")\") | .route" "$ACCESS")" "route of GET /api/v1/nowhere"
# with an access log, request lines are not in the main log
if grep -q "$(cat "$OUT/api.id")" "$MAIN"; then
	fail "a request line went to the main log beside the access log"
fi

# ---- a warning a client can repeat is rate-limited ------------------------
# a published version whose stored bytes were altered: every GET is a 500
# with a warning, which is written once per interval, not once per GET
printf 'mode = day\n' >"$OUT/cams.conf"
kb_ok config publish -d "$DIR" --group cams --file "$OUT/cams.conf" --version 1 >/dev/null
BLOB=$(find "$DIR/blobs" -type f | head -n 1)
[ -n "$BLOB" ] || fail "config publish stored no blob under $DIR/blobs"
printf 'altered' >>"$BLOB"
for i in $(seq 1 20); do
	req blob$i "$KB_URL/api/v1/configs/cams/versions/1/content"
	assert_eq 500 "$(cat "$OUT/blob$i.code")" "GET of an altered blob ($i)"
done
deadline=$((SECONDS + 5))
until grep -q "$(cat "$OUT/blob20.id")" "$ACCESS" 2>/dev/null; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no access line for the 20th GET of the altered blob"
	sleep 0.05
done
n=$(grep -c '"level":"warn".*its entry says' "$MAIN" || true)
assert_eq 1 "$n" "warnings written for 20 GETs of an altered blob (rate-limited)"
log "20 GETs of an altered blob: 20 answers 500, 1 warning line"

# ---- logrotate: mv, SIGUSR1, new files -----------------------------------
mv "$MAIN" "$MAIN.1"
mv "$ACCESS" "$ACCESS.1"
kill -USR1 "$KB_SERVE_PID"
deadline=$((SECONDS + 5))
until [ -s "$MAIN" ] && grep -q '"message":"reopened' "$MAIN"; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no new $MAIN with a reopened line within 5 s of SIGUSR1"
	sleep 0.05
done
req after "$KB_URL/api/v1/status"
deadline=$((SECONDS + 5))
until grep -q "$(cat "$OUT/after.id")" "$ACCESS" 2>/dev/null; do
	[ "$SECONDS" -lt "$deadline" ] || fail "the request after SIGUSR1 ($(cat "$OUT/after.id")) is not in the new $ACCESS"
	sleep 0.05
done
if grep -q "$(cat "$OUT/after.id")" "$ACCESS.1"; then
	fail "the request after SIGUSR1 went to the moved access log"
fi
grep -q "$(cat "$OUT/api.id")" "$ACCESS.1" || fail "the moved access log lost its lines"
(cd "$OUT" && check_logs "$MAIN" "$ACCESS" after=GET:/api/v1/status:https) | while read -r l; do log "$l"; done
[ "${PIPESTATUS[0]}" = 0 ] || fail "JSON logs after the reopen"
assert_file_mode "$ACCESS" 640
kill -0 "$KB_SERVE_PID" || fail "the bridge died on SIGUSR1"
kb_stop
log "rotation: the request after SIGUSR1 is in the new access log only"

# ---- the validator daemon: the same keys in validator.conf --------------
. "$(dirname "$0")/vlib.sh"
vd_init v1 "$DIR"
printf 'log_format = json\nlog_target = v1.log\n' >>"$OUT/v1/validator.conf"
vd_start v1
VLOG="$OUT/v1/v1.log"
python3 - "$VLOG" <<'EOF' || fail "the validator's JSON log $VLOG"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
if not lines or not all(set(o) >= {'time', 'level', 'component', 'message', 'pid'} for o in lines):
    sys.exit("lines without their fields: %r" % lines[:3])
if not any(o['component'] == 'validator' for o in lines):
    sys.exit("no line of the validator component: %r" % lines[:3])
EOF
mv "$VLOG" "$VLOG.1"
kill -USR1 "${VD_PID[v1]}"
deadline=$((SECONDS + 5))
until [ -s "$VLOG" ] && grep -q '"message":"reopened' "$VLOG"; do
	[ "$SECONDS" -lt "$deadline" ] || fail "the validator wrote no new $VLOG within 5 s of SIGUSR1"
	sleep 0.05
done
vd_stop v1
grep -q '"message":"signal 15, stopping"' "$VLOG" || fail "the validator's last line is not in its new log"
log "validator: JSON lines in log_target, reopened on SIGUSR1"

# ---- syslog --------------------------------------------------------------
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	log "SKIP syslog: needs root and unshare(1) for a private /dev/log"
	exit 0
fi
SOCK="$OUT/syslog.sock"
python3 - "$SOCK" "$OUT/syslog.txt" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], 'ab', buffering=0) as f:
    while True:
        f.write(s.recv(65536).replace(b'\n', b' ') + b'\n')
EOF
SYSLOGD=$!
kb_track "$SYSLOGD"
deadline=$((SECONDS + 5))
until [ -S "$SOCK" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "the syslog listener did not bind $SOCK"
	sleep 0.05
done
# The bridge in a mount namespace whose /dev is a tmpfs with the host's
# few devices it needs and /dev/log pointing at the listener.
cat >"$OUT/kb-ns.sh" <<EOF
#!/bin/sh
set -e
mkdir -p "$OUT/hostdev"
mount --bind /dev "$OUT/hostdev"
mount -t tmpfs -o mode=755 tmpfs /dev
for d in null zero full random urandom; do
	touch /dev/\$d
	mount --bind "$OUT/hostdev/\$d" /dev/\$d
done
ln -s /proc/self/fd /dev/fd
ln -s "$SOCK" /dev/log
exec "$KEYBRIDGE" "\$@"
EOF
chmod 755 "$OUT/kb-ns.sh"
kb_conf_set "$DIR" log_target syslog
# one connection per address: a second one is a warn line (limits.c)
kb_conf_set "$DIR" http_max_conns_per_addr 1
sed -i '/^access_log = /d' "$DIR/keybridge.conf"
KEYBRIDGE_REAL=$KEYBRIDGE
# kb_start runs "$KEYBRIDGE" serve ...: unshare execs the script, which
# execs keybridge, so the tracked pid is the bridge's
KEYBRIDGE="$OUT/kb-unshare.sh"
printf '#!/bin/sh\nexec unshare --mount -- "%s" "$@"\n' "$OUT/kb-ns.sh" >"$KEYBRIDGE"
chmod 755 "$KEYBRIDGE"
kb_start "$DIR"
KEYBRIDGE=$KEYBRIDGE_REAL
req sys "$KB_URL/api/v1/status"
deadline=$((SECONDS + 5))
until grep -q "$(cat "$OUT/sys.id")" "$OUT/syslog.txt" 2>/dev/null; do
	[ "$SECONDS" -lt "$deadline" ] || fail "request $(cat "$OUT/sys.id") not in syslog within 5 s: $(tail -n 3 "$OUT/syslog.txt" 2>/dev/null)"
	sleep 0.05
done
# two connections at once from 127.0.0.1: the second is closed, warned
exec 7<>/dev/tcp/127.0.0.1/"$KB_EST_PORT"
exec 8<>/dev/tcp/127.0.0.1/"$KB_EST_PORT"
deadline=$((SECONDS + 5))
until grep -q '"level":"warn"' "$OUT/syslog.txt"; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no warn message in syslog within 5 s of a connection over http_max_conns_per_addr"
	sleep 0.05
done
exec 7<&- 7>&- 8<&- 8>&-
python3 - "$OUT/syslog.txt" "$(cat "$OUT/sys.id")" <<'EOF' || fail "syslog messages"
import json, re, sys
# <PRI>Mmm dd hh:mm:ss keybridge[pid]: {json}
LINE = re.compile(r'^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d keybridge\[(\d+)\]: (\{.*\})$')
prio = {'error': 3, 'warn': 4, 'info': 6, 'debug': 7}
n, seen, levels = 0, False, set()
for raw in open(sys.argv[1], encoding='utf-8'):
    m = LINE.match(raw.rstrip('\n'))
    if not m:
        sys.exit("not a keybridge syslog message: %r" % raw[:200])
    o = json.loads(m.group(3))
    pri = int(m.group(1))
    if pri >> 3 != 3 or pri & 7 != prio[o['level']]:
        sys.exit("priority <%d> for a %s line (want facility daemon): %r" % (pri, o['level'], raw[:200]))
    if o.get('request_id') == sys.argv[2]:
        seen = o['status'] == 200 and o['route'] == '/api/v1/status' and pri == 30
    levels.add(pri)
    n += 1
if not seen:
    sys.exit("the request line of %s is not a daemon.info message" % sys.argv[2])
if levels != {28, 30}:
    sys.exit("priorities %r: want daemon.warning (28) and daemon.info (30)" % sorted(levels))
print("%d syslog messages" % n)
EOF
kb_stop
grep -q '"message":"stopped cleanly' "$OUT/syslog.txt" || fail "the last line of a clean stop is not in syslog"
log "syslog: JSON messages at daemon.<level>, request lines included"
