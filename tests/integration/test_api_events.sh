#!/usr/bin/env bash
# GET /api/v1/events (Server-Sent Events) with a real SSE client over TLS
# (Python's ssl and http.client, parsing the stream as the WHATWG spec
# says): entries appended while a client listens arrive live with their
# leaf index as id and the right event names (entry, key_revoked,
# cert_issued) plus checkpoint events; a client that disconnects and
# resumes with Last-Event-ID gets every entry it missed, none twice; ?from
# replays from an index; a bad Last-Event-ID is a 400 JSON error; POST is
# a 405; the bridge stops cleanly (exit 0) with streams open.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"

cat >"$OUT/sse.py" <<'EOF'
"""sse.py URL CAFILE OUT MAX_IDS [LAST_EVENT_ID]: reads the event stream,
appends "id event tree_size" per event to OUT, exits after MAX_IDS events
with an id (or 20 s).  Prints READY on stderr once the headers are in."""
import http.client, json, ssl, sys, time, urllib.parse
url, cafile, out, max_ids = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
u = urllib.parse.urlsplit(url)
conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=20,
    context=ssl.create_default_context(cafile=cafile))
headers = {"Accept": "text/event-stream"}
if len(sys.argv) > 5:
    headers["Last-Event-ID"] = sys.argv[5]
conn.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers)
r = conn.getresponse()
if r.status != 200 or not r.getheader("Content-Type", "").startswith("text/event-stream"):
    sys.exit("status %d %s: %s" % (r.status, r.getheader("Content-Type"), r.read(300)))
print("READY", file=sys.stderr, flush=True)
ids, event, data, eid = 0, "message", [], None
deadline = time.time() + 20
with open(out, "a") as f:
    while ids < max_ids and time.time() < deadline:
        line = r.fp.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line == "":
            if data:
                d = json.loads("\n".join(data))
                size = d.get("tree_size", "-")
                f.write("%s %s %s\n" % (eid if eid is not None else "-", event, size))
                f.flush()
                if eid is not None:
                    ids += 1
            event, data, eid = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "event":
                event = v
            elif k == "data":
                data.append(v)
            elif k == "id":
                eid = v
sys.exit(0 if ids >= max_ids else "only %d of %d events" % (ids, max_ids))
EOF

# listen NAME MAX [LAST_EVENT_ID] [QUERY]: starts a client in the background
# (pid in LPID) and returns once its stream is open.
listen() {
	local name=$1 max=$2 lei=${3:-} q=${4:-}
	rm -f "$OUT/$name.events" "$OUT/$name.err"
	python3 "$OUT/sse.py" "$KB_URL/api/v1/events$q" "$DIR/ca/root.pem" "$OUT/$name.events" "$max" $lei \
	    2>"$OUT/$name.err" &
	LPID=$!
	kb_track "$LPID"
	local deadline=$((SECONDS + 10))
	until grep -q READY "$OUT/$name.err" 2>/dev/null; do
		kill -0 "$LPID" 2>/dev/null || fail "SSE client $name exited: $(cat "$OUT/$name.err")"
		[ "$SECONDS" -lt "$deadline" ] || fail "SSE client $name did not connect"
		sleep 0.05
	done
}
finish() {
	wait "$LPID" || fail "SSE client: $(tail -n 3 "$OUT/$1.err")"
	kb_untrack "$LPID"
}
register() {
	new_key "$1" ed25519
	KID[$1]=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$1.pub" --name "$1" --json | jq -r .key_id)
}
declare -A KID

T0=$(kb_tree_size)
# ---- live: a client listens while keys are registered and one revoked ------------------------------
listen a 3
register k1
register k2
kb_ok key revoke -d "$DIR" --key-id "${KID[k1]}" --reason keyCompromise >/dev/null
finish a
assert_eq "$T0 entry
$((T0 + 1)) entry
$((T0 + 2)) key_revoked" "$(awk '$1 != "-" { print $1, $2 }' "$OUT/a.events")" "live events"
grep -q '^- checkpoint ' "$OUT/a.events" || fail "no checkpoint event: $(cat "$OUT/a.events")"
# checkpoint events report growing tree sizes
awk '$2 == "checkpoint" { if ($3 <= last) exit 1; last = $3 }' "$OUT/a.events" ||
	fail "checkpoint sizes do not grow: $(cat "$OUT/a.events")"
LAST=$((T0 + 2))

# ---- the client is gone; entries keep coming; it resumes with Last-Event-ID -------------------------
register k3
register k4
kb_enroll dev1		# key-register + cert-issued
register k5
T1=$(kb_tree_size)
listen b $((T1 - LAST - 1)) "$LAST"
finish b
assert_eq "$(seq $((LAST + 1)) $((T1 - 1)))" "$(awk '$1 != "-" { print $1 }' "$OUT/b.events")" \
    "ids after Last-Event-ID $LAST: every missed entry once, in order"
grep -q " cert_issued" "$OUT/b.events" || fail "no cert_issued event: $(cat "$OUT/b.events")"
# both streams together: every entry from T0 exactly once
assert_eq "$(seq "$T0" $((T1 - 1)))" "$(cat "$OUT/a.events" "$OUT/b.events" | awk '$1 != "-" { print $1 }')" \
    "no entry skipped or repeated across the reconnect"

# ---- ?from replays from an index ----------------------------------------------------------------------
listen c 2 "" "?from=1"
finish c
assert_eq "1 2" "$(awk '$1 != "-" { print $1 }' "$OUT/c.events" | paste -sd' ')" "?from=1"

# ---- refusals -------------------------------------------------------------------------------------------
api_expect_error 400 bad_parameter GET /api/v1/events -H 'Last-Event-ID: abc'
api_expect_error 400 bad_parameter GET /api/v1/events -H 'Last-Event-ID: 99999999'
api_expect_error 400 bad_parameter GET '/api/v1/events?from=-1'
api_expect_error 405 method_not_allowed POST /api/v1/events

# ---- shutdown with streams open: they end, the bridge exits cleanly -----------------------------------
listen z 1000
listen y 1000
ZPID=$LPID
kb_stop
kb_wait_gone "$ZPID" 10 || fail "an SSE client was not released at shutdown"
log "OK"
