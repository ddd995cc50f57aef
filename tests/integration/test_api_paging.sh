#!/usr/bin/env bash
# Paging while the ledger grows: one process keeps appending (registering
# keys with the command line, enrolling some over EST, revoking some of the
# keys listed), while another pages through /api/v1/ledger/entries,
# /api/v1/keys and /api/v1/certs with small limits, following "next", and
# waits for at least one new entry before each page so that every page is
# read after an append.
#
# A key or certificate list is a snapshot at the tree size of its first
# page ("tree_size", carried by "next" as ID@SIZE).  What it must hold is
# computed here independently, from the ledger's own entries [0, SIZE):
# every key registered and certificate issued before SIZE, with the status
# the revocations before SIZE give it, in key id / serial order.  The pages
# must add up to exactly that (nothing skipped, nothing twice, in order,
# every page but the last full), also with the filters (status, profile,
# name prefix, key_id), and must include everything a one-request listing
# read just before paging held.  The entry list grows at its end: indexes
# 0..n-1 in order, the entries before paging unchanged.  Afterwards a fresh
# list shows what was appended during paging.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"

# ---- what is there before paging starts ------------------------------------------------
: >"$OUT/revocable"
reg() {		# reg NAME PROFILE: a registered P-256 key; its id into $OUT/revocable
	local r
	new_key "$1" p256
	r=$(kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$1.pub" --name "$1" --profile "$2" --json)
	jq -er .key_id <<<"$r" >>"$OUT/revocable"
}
for i in 00 01 02 03 04 05 06 07 08 09 10 11; do reg "cam-$i" device; done
for i in 00 01 02 03 04 05 06 07; do reg "web-$i" server; done
for i in 00 01 02 03 04 05; do reg "gw-$i" device; done
for i in 0 1 2 3 4 5; do kb_enroll "dev-$i"; done
# dev-0 renews twice: one key, three certificates, two of them superseded
est_enroll /.well-known/est/simplereenroll "$(est_csr dev-0 dev-0b)" "$OUT/dev-0b.pem" \
    --cert "$OUT/dev-0.pem" --key "$OUT/keys/dev-0.key"
est_enroll /.well-known/est/simplereenroll "$(est_csr dev-0 dev-0c)" "$OUT/dev-0c.pem" \
    --cert "$OUT/dev-0b.pem" --key "$OUT/keys/dev-0.key"
DEV0=$(cert_key_id "$OUT/dev-0.pem")
kb_ok key revoke -d "$DIR" --key-id "$(cert_key_id "$OUT/dev-1.pem")" >/dev/null
kb_ok key revoke -d "$DIR" --key-id "$(sed -n 1p "$OUT/revocable")" >/dev/null
sed -i 1d "$OUT/revocable"

# ---- the appender ------------------------------------------------------------------------
# Its own output files (lib.sh's KB_STDOUT belongs to this shell); any
# failure ends it with status 1, which the test checks at the end.
appender() {
	local i=0 k r code
	mkdir -p "$OUT/app"
	exec >"$OUT/appender.log" 2>&1
	while [ ! -e "$OUT/stop" ]; do
		i=$((i + 1))
		k="$OUT/app/new-$i"
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k.key" 2>/dev/null
		openssl pkey -in "$k.key" -pubout -out "$k.pub"
		r=$("$KEYBRIDGE" key register -d "$DIR" --pubkey "$k.pub" --name "cam-new-$i" \
		    --profile "$([ $((i % 3)) = 0 ] && echo server || echo device)" --json) ||
			{ echo "register $i failed"; exit 1; }
		echo "registered $(jq -r .key_id <<<"$r") at $(jq -r .index <<<"$r")"
		if [ $((i % 2)) = 0 ] && [ $((i % 3)) != 0 ]; then
			openssl req -new -key "$k.key" -subj "/CN=cam-new-$i" -outform DER |
			    base64 -w64 >"$k.csr"
			code=$(curl -sS -o "$k.p7" -w '%{http_code}' --cacert "$DIR/ca/root.pem" \
			    -H 'Content-Type: application/pkcs10' --data-binary "@$k.csr" \
			    "$KB_URL/.well-known/est/simpleenroll") || { echo "curl failed"; exit 1; }
			[ "$code" = 200 ] || { echo "enroll $i: HTTP $code"; exit 1; }
			echo "enrolled cam-new-$i"
		fi
		if [ $((i % 3)) = 1 ] && r=$(sed -n "$(((i + 2) / 3))p" "$OUT/revocable") && [ -n "$r" ]; then
			"$KEYBRIDGE" key revoke -d "$DIR" --key-id "$r" --reason superseded >/dev/null ||
				{ echo "revoke $r failed"; exit 1; }
			echo "revoked $r"
		fi
	done
	echo "stopped after $i"
}
appender &
APP_PID=$!
kb_track "$APP_PID"

# ---- the pager -------------------------------------------------------------------------------
cat >"$OUT/pager.py" <<'EOF'
import http.client, json, ssl, subprocess, sys, time

url, ca, dev0, keybridge, datadir = sys.argv[1:6]
host, port = url.split("//")[1].rsplit(":", 1)
conn = http.client.HTTPSConnection(host, int(port), timeout=30,
                                   context=ssl.create_default_context(cafile=ca))


def fail(msg):
    sys.exit("FAIL: " + msg)


def get(path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        fail("GET %s: HTTP %d: %s" % (path, r.status, body[:500]))
    return json.loads(body)


def tree_size():
    return get("/api/v1/ledger/checkpoint")["tree_size"]


def wait_growth(than, deadline=15.0):
    """Returns once the tree is larger than `than` (the appender appended):
    a condition, polled, never a fixed sleep."""
    end = time.monotonic() + deadline
    while True:
        s = tree_size()
        if s > than:
            return s
        if time.monotonic() > end:
            fail("the appender appended nothing for %.0f s (tree size %d)" % (deadline, s))
        time.sleep(0.01)


def entries(upto):
    """The entries [0, upto), read in pages of the longest size."""
    out = []
    while len(out) < upto:
        out += get("/api/v1/ledger/entries?from=%d&limit=1000" % len(out))["entries"]
    return out[:upto]


def fields(text):
    f = {}
    for line in text.split("\n\n", 1)[0].split("\n"):
        k, _, v = line.partition(" ")
        f.setdefault(k, v)
    return f


def oracle(size):
    """Keys and certificates as the ledger's entries [0, size) define them,
    with their status at size."""
    keys, certs, krev, crev = {}, {}, set(), set()
    for e in entries(size):
        f = fields(e["entry"])
        if e["type"] == "key-register":
            keys[f["key-id"]] = (f["name"], f["profile"])
        elif e["type"] == "key-revoke":
            krev.add(f["key-id"])
        elif e["type"] == "cert-issued":
            certs[f["serial"]] = f["key-id"]
            # a renewal revokes the certificate it supersedes
            if "supersedes" in f:
                crev.add(f["supersedes"])
        elif e["type"] == "cert-revoked":
            crev.add(f["serial"])
    k = {kid: dict(name=n, profile=p, status="revoked" if kid in krev else "active")
         for kid, (n, p) in keys.items()}
    c = {s: dict(key_id=kid, status="revoked" if s in crev or kid in krev else "good")
         for s, kid in certs.items()}
    return k, c


last_seen = tree_size()
pages = 0


def revoke(key_id):
    r = subprocess.run([keybridge, "key", "revoke", "-d", datadir, "--key-id", key_id],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("key revoke %s: %s" % (key_id, r.stderr))


def page_through(path, field, idfield, limit, midway=None):
    """Follows "next" from the first page; each page after an append;
    midway(cursor) runs once, after the first page.  Returns (snapshot
    size, [items])."""
    global last_seen, pages
    items, after, size = [], None, None
    while True:
        if after is not None and midway is not None:
            midway(after.split("@")[0])
            midway = None
        last_seen = wait_growth(last_seen)
        q = "%s%slimit=%d%s" % (path, "&" if "?" in path else "?", limit,
                                "&after=" + after if after else "")
        j = get(q)
        pages += 1
        if size is None:
            size = j["tree_size"]
        elif j["tree_size"] != size:
            fail("%s: the snapshot moved from %d to %d" % (q, size, j["tree_size"]))
        n = len(j[field])
        if n > limit:
            fail("%s: %d items for limit %d" % (q, n, limit))
        items += j[field]
        if j["next"] is None:
            return size, items
        if n != limit:
            fail("%s: a page of %d (limit %d) with next %r" % (q, n, limit, j["next"]))
        want = "%s@%d" % (j[field][-1][idfield], size)
        if j["next"] != want:
            fail("%s: next %r, expected %r" % (q, j["next"], want))
        after = j["next"]


def same(what, got, want):
    if got != want:
        missing = [x for x in want if x not in got]
        extra = [x for x in got if x not in want]
        twice = sorted(set(x for x in got if got.count(x) > 1))
        fail("%s: %d items, expected %d; missing %s, not expected %s, twice %s, "
             "in order: %s" % (what, len(got), len(want), missing[:5], extra[:5],
                               twice[:5], sorted(got) == got))


KEY_FILTERS = [("", lambda k: True, 3),
               ("status=active", lambda k: k["status"] == "active", 3),
               ("status=revoked", lambda k: k["status"] == "revoked", 1),
               ("profile=server", lambda k: k["profile"] == "server", 2),
               ("name=cam-", lambda k: k["name"].startswith("cam-"), 4),
               ("name=web", lambda k: k["name"].startswith("web"), 2),
               ("status=active&profile=device&name=gw",
                lambda k: k["status"] == "active" and k["profile"] == "device"
                and k["name"].startswith("gw"), 2)]
CERT_FILTERS = [("", lambda c: True, 2),
                ("status=good", lambda c: c["status"] == "good", 2),
                ("status=revoked", lambda c: c["status"] == "revoked", 1),
                ("key_id=" + dev0, lambda c: c["key_id"] == dev0, 1),
                ("key_id=%s&status=revoked" % dev0,
                 lambda c: c["key_id"] == dev0 and c["status"] == "revoked", 1)]

# Midway through status=active keys and status=good certificates, a key
# that is further down the snapshot is revoked (and a certificate's key):
# the snapshot still lists it as it was, a fresh read says revoked.
revoked_midway = {}


def revoke_ahead(before, field, idfield, kind):
    def midway(cursor):
        # not a key the appender revokes (cam-NN, web-NN, gw-NN)
        for x in before[field]:
            name = x["name"] if kind == "keys" else \
                get("/api/v1/keys/" + x["key_id"])["name"]
            if x[idfield] > cursor and name.startswith(("dev-", "cam-new-")) and \
                    x["key_id"] not in [k for _, k in revoked_midway.values()]:
                revoke(x["key_id"])
                revoked_midway[x[idfield]] = (kind, x["key_id"])
                return
        fail("nothing left to revoke after %s" % cursor)
    return midway


grew_during = 0
for kind, filters, field, idfield in [("keys", KEY_FILTERS, "keys", "key_id"),
                                      ("certs", CERT_FILTERS, "certificates", "serial")]:
    for q, pred, limit in filters:
        path = "/api/v1/%s%s" % (kind, "?" + q if q else "")
        before = get(path + ("&" if q else "?") + "limit=1000")
        midway = revoke_ahead(before, field, idfield, kind) if \
            q in ("status=active", "status=good") else None
        size, items = page_through(path, field, idfield, limit, midway)
        keys, certs = oracle(size)
        table = keys if kind == "keys" else certs
        want = sorted(i for i, v in table.items() if pred(v))
        got = [x[idfield] for x in items]
        same("%s paged at tree size %d" % (path, size), got, want)
        for x in items:
            v = table[x[idfield]]
            for k in ("status", "profile", "name", "key_id"):
                if k in v and x[k] != v[k]:
                    fail("%s: %s %s is %r in the list, %r at tree size %d"
                         % (path, idfield, x[idfield], x[k], v[k], size))
        # the one-request listing just before paging: all of it is in the pages
        # (with the status it had then, or revoked since), but for what the
        # appender changed in between so that the filter no longer matches it
        # at the pages' tree size (a key revoked between the listing and the
        # first page is no longer status=active there)
        lost = [x[idfield] for x in before[field] if x[idfield] not in got and
                (x[idfield] not in table or pred(table[x[idfield]]))]
        if lost:
            fail("%s: %s listed at tree size %d, not paged at %d" % (path, lost[:5],
                                                                 before["tree_size"], size))
        if not want:
            fail("%s: the filter matches nothing, the test proves nothing" % path)
        now = tree_size()
        grew_during += now > size
        print("%-60s %3d items in pages of %d at tree size %d (now %d)"
              % (path, len(got), limit, size, now))

if len(revoked_midway) != 2:
    fail("revoked midway: %r" % revoked_midway)
for ident, (kind, key_id) in revoked_midway.items():
    j = get("/api/v1/%s/%s" % (kind, ident))
    if j["status"] != "revoked":
        fail("%s %s, revoked midway, is %r now" % (kind, ident, j["status"]))
    if kind == "certs" and (j["revoked_by"] != "key" or
                            j["revoked_index"] != get("/api/v1/keys/" + key_id)["revoked_index"]):
        fail("certs/%s revoked through its key: %r" % (ident, j))

# the log: from 0 in pages of 10, entries appended meanwhile at the end, in order
start = tree_size()
snap = entries(start)
got, nxt, size = [], 0, None
while nxt is not None:
    last_seen = wait_growth(last_seen)
    j = get("/api/v1/ledger/entries?from=%d&limit=10" % nxt)
    pages += 1
    if len(j["entries"]) == 0:
        fail("entries from %d: an empty page" % nxt)
    got += j["entries"]
    nxt = j["next"]
    if nxt is not None and nxt != got[-1]["index"] + 1:
        fail("entries: next %r after index %d" % (nxt, got[-1]["index"]))
    size = j["tree_size"]
if [e["index"] for e in got] != list(range(len(got))):
    fail("entries: indexes are not 0..%d in order" % (len(got) - 1))
if len(got) < start or got[:start] != snap:
    fail("entries: the %d entries before paging changed or are missing" % start)
if len(got) <= start:
    fail("entries: nothing appended during paging (%d entries)" % len(got))
print("ledger/entries: %d entries in pages of 10, %d before paging, %d appended meanwhile"
      % (len(got), start, len(got) - start))
if grew_during == 0:
    fail("the tree never grew while a list was paged")

# a fresh list shows what the snapshots left out
size = tree_size()
keys, certs = oracle(size)
j = get("/api/v1/keys?limit=1000")
if j["tree_size"] < size or len(j["keys"]) < len(keys):
    fail("fresh key list: %d keys at %d, the ledger had %d at %d"
         % (len(j["keys"]), j["tree_size"], len(keys), size))
print("%d pages read; a fresh list holds %d keys and %d certificates"
      % (pages, len(j["keys"]), len(certs)))
EOF

python3 "$OUT/pager.py" "$KB_URL" "$DIR/ca/root.pem" "$DEV0" "$KEYBRIDGE" "$DIR"

touch "$OUT/stop"
rc=0
wait "$APP_PID" || rc=$?
kb_untrack "$APP_PID"
tail -n 3 "$OUT/appender.log"
assert_eq 0 "$rc" "exit status of the appender (see $OUT/appender.log)"
grep -q '^enrolled' "$OUT/appender.log" || fail "the appender enrolled nothing"
grep -q '^revoked' "$OUT/appender.log" || fail "the appender revoked nothing"
kb_stop
assert_match "$(kb_ok ledger verify -d "$DIR")" '^ledger OK:' "ledger verify"
log "OK"
