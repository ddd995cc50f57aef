#!/usr/bin/env bash
# Every endpoint under /api/v1, strictly: the status code and the exact JSON
# shape of each answer (every field, its type, nothing more), 404s with
# their codes for unknown accounts, keys, serials, groups and entry indexes,
# 405 with Allow for other methods, and bad parameters: negative, huge
# (2^64, 2^64+1, 10^30), non-numeric, empty, repeated, unknown, SQL
# injection strings, percent-encoded NULs and bad escapes, overlong values,
# in the query and in path segments.  Each one must be a 400 with the one
# error shape {"error":{"code":"bad_parameter","message":...}} whose message
# names the offending parameter, never a 500, never SQL or a trace.  Also:
# the checkpoint's Accept negotiation with q-values, and bodies over
# max_body (a JSON 413) and over 4 x max_body (evhttp's own 413; libevent
# 2.1 has no hook for it, see docs/api.md).
#
# The checks are one Python program (http.client over one kept-alive TLS
# connection, json for the shapes); its first failure ends the test.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"

# ---- something of everything on the ledger ------------------------------------
kb_enroll dev-a
KID_A=$KB_KEY_ID
SERIAL_A=$(cert_serial_hex "$OUT/dev-a.pem")
kb_enroll dev-b
KID_B=$KB_KEY_ID
SERIAL_B=$(cert_serial_hex "$OUT/dev-b.pem")
kb_ok key revoke -d "$DIR" --key-id "$KID_B" --reason keyCompromise >/dev/null
new_key web-1 p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/web-1.pub" --name web-1 \
    --profile server --dns web-1.example >/dev/null
printf 'firmware 1\n' >"$OUT/fw1.bin"
kb_ok config publish -d "$DIR" --group cams --file "$OUT/fw1.bin" --version 1 >/dev/null
FW_SHA=$(sha256sum "$OUT/fw1.bin" | cut -d' ' -f1)
# 300 KiB: past 4 x max_body (65536), where evhttp answers by itself
head -c 307200 /dev/zero | tr '\0' 'a' >"$OUT/big-300k.txt"
head -c 70000 /dev/zero | tr '\0' 'a' >"$OUT/big-70k.txt"

cat >"$OUT/params.py" <<'EOF'
import http.client, json, re, ssl, sys

url, ca, out = sys.argv[1], sys.argv[2], sys.argv[3]
ids = dict(a.split("=", 1) for a in sys.argv[4:])
host, port = url.split("//")[1].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=ca)
conn = None
checked = 0


def fail(msg):
    sys.exit("FAIL: " + msg)


def request(method, path, headers=None, body=None, keep=True):
    """(status, headers with lowercase names, body bytes); one kept-alive
    connection, opened again when the bridge closed it."""
    global conn
    for attempt in (0, 1):
        if conn is None:
            conn = http.client.HTTPSConnection(host, int(port), context=ctx,
                                               timeout=30)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            data = r.read() if method != "HEAD" else b""
            h = {k.lower(): v for k, v in r.getheaders()}
            if not keep or h.get("connection", "").lower() == "close":
                conn.close()
                conn = None
            return r.status, h, data
        except (http.client.HTTPException, ConnectionError, ssl.SSLError) as e:
            conn.close()
            conn = None
            if attempt == 1:
                fail("%s %s: no answer: %r" % (method, path, e))


TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def check(v, spec, where):
    """v must have exactly the shape spec: 'str', 'int', 'bool', 'time',
    'hex64' (a trailing ? also allows null), [spec] a list of spec, or a
    dict of field: spec with exactly those fields."""
    if isinstance(spec, str):
        if spec.endswith("?"):
            if v is None:
                return
            spec = spec[:-1]
        ok = {"str": lambda x: isinstance(x, str),
              "int": lambda x: isinstance(x, int) and not isinstance(x, bool) and x >= 0,
              "sint": lambda x: isinstance(x, int) and not isinstance(x, bool),
              "bool": lambda x: isinstance(x, bool),
              "null": lambda x: x is None,
              "time": lambda x: isinstance(x, str) and TIME.match(x),
              "hex64": lambda x: isinstance(x, str) and HEX64.match(x)}[spec](v)
        if not ok:
            fail("%s: expected %s, got %r" % (where, spec, v))
    elif isinstance(spec, list):
        if not isinstance(v, list):
            fail("%s: expected a list, got %r" % (where, v))
        for i, x in enumerate(v):
            check(x, spec[0], "%s[%d]" % (where, i))
    else:
        if not isinstance(v, dict):
            fail("%s: expected an object, got %r" % (where, v))
        if set(v) != set(spec):
            fail("%s: fields %s, expected %s" % (where, sorted(v), sorted(spec)))
        for k, s in spec.items():
            check(v[k], s, where + "." + k)


def get_json(path, spec, status=200):
    global checked
    st, h, body = request("GET", path)
    if st != status:
        fail("GET %s: HTTP %d, expected %d: %s" % (path, st, status, body[:500]))
    if h.get("content-type") != "application/json":
        fail("GET %s: Content-Type %r" % (path, h.get("content-type")))
    if h.get("cache-control") != "no-store" or h.get("x-content-type-options") != "nosniff":
        fail("GET %s: headers %r" % (path, h))
    try:
        j = json.loads(body)
    except ValueError:
        fail("GET %s: not JSON: %r" % (path, body[:500]))
    check(j, spec, "GET " + path)
    checked += 1
    return j


# Messages say what was wrong in the API's words, never what the database
# or the C code said.
LEAKS = re.compile(r"\bselect\b|\binsert\b|\bupdate \w+ set\b|\bunion\b|sqlite|"
                   r"syntax error|no such (table|column)|\bSQL\b|constraint|"
                   r"\.c:\d+|traceback|0x[0-9a-f]{8,}|segmentation|abort",
                   re.IGNORECASE)


def expect_error(path, status, code, names=None, method="GET", headers=None,
                 body=None):
    global checked
    st, h, data = request(method, path, headers, body)
    if st != status:
        fail("%s %s: HTTP %d, expected %d %s: %s" % (method, path, st, status,
                                                    code, data[:500]))
    if h.get("content-type") != "application/json":
        fail("%s %s: Content-Type %r: %r" % (method, path, h.get("content-type"),
                                             data[:300]))
    try:
        j = json.loads(data)
    except ValueError:
        fail("%s %s: error body is not JSON: %r" % (method, path, data[:300]))
    check(j, {"error": {"code": "str", "message": "str"}}, "%s %s" % (method, path))
    if j["error"]["code"] != code:
        fail("%s %s: code %r, expected %r (%s)" % (method, path, j["error"]["code"],
                                                   code, j["error"]["message"]))
    msg = j["error"]["message"]
    if not msg.strip():
        fail("%s %s: empty message" % (method, path))
    if names is not None and not any(n in msg for n in names):
        fail("%s %s: message %r names none of %s" % (method, path, msg, names))
    if LEAKS.search(msg):
        fail("%s %s: message leaks internals: %r" % (method, path, msg))
    checked += 1
    return h


# ---- shapes -------------------------------------------------------------------
ACCOUNT = {"name": "str", "role": "str", "threshold": "int", "keys": ["str"],
           "seq": "int", "next_seq": "int", "created_index": "int"}
KEY = {"key_id": "hex64", "account": "str", "name": "str", "profile": "str",
       "spki": "str", "dns": ["str"], "ip": ["str"], "not_before": "time",
       "not_after": "time", "status": "str", "revoked_at": "time?",
       "reason": "str?", "registered_index": "int", "revoked_index": "int?",
       "has_csr": "bool", "config_groups": ["str"]}
CERT = {"serial": "str", "issuer": "str", "key_id": "hex64", "profile": "str",
        "not_before": "time", "not_after": "time", "cert_sha256": "hex64?",
        "issued_index": "int", "status": "str", "revoked_at": "time?",
        "reason": "str?", "revoked_index": "int?", "revoked_by": "str?",
        "expired": "bool"}
CONFIG = {"version": "str", "sha256": "hex64", "size": "int?", "file": "str?",
          "index": "int"}
PROOF = {"entry": "str", "index": "int", "leaf_hash": "hex64", "tree_size": "int",
         "root_hash": "hex64", "proof": ["hex64"], "checkpoint": "str"}
ENTRY = {"index": "int", "block": "int", "ledger_time": "time", "type": "str",
         "account": "str", "seq": "int", "leaf_hash": "hex64", "entry": "str"}
TYPES = ["account-create", "account-update", "key-register", "key-revoke",
         "cert-issued", "cert-revoked", "config-publish", "key-preauth"]
STATUS = {"version": "str", "uptime_seconds": "int", "tree_size": "int",
          "checkpoint": {"tree_size": "int", "time": "time", "age_seconds": "sint",
                         "note": "str"},
          "entries_by_type": {t: "int" for t in TYPES},
          "keys": {"active": "int", "revoked": "int"}, "accounts": "int",
          "certificates": {"good": "int", "revoked": "int", "expiring_30d": "int"},
          "configs": "int", "storage": "str", "consensus": "str",
          "listeners": {"https": "str", "http": "str"},
          "issuers": [{"role": "str", "id": "str?", "subject": "str",
                       "not_after": "time", "days_left": "sint"}],
          # solo: no validators, finality null, quorum 0
          "validators": [{}], "finality": "null", "quorum": "int",
          "final_size": "int"}

kid_a, kid_b, kid_web = ids["kid_a"], ids["kid_b"], ids["kid_web"]
serial_a, serial_b, fw = ids["serial_a"], ids["serial_b"], ids["fw_sha"]

st = get_json("/api/v1/status", STATUS)
size = st["tree_size"]
if st["keys"] != {"active": 2, "revoked": 1}:
    fail("status keys %r" % st["keys"])
j = get_json("/api/v1/accounts", {"accounts": [ACCOUNT]})
if [a["name"] for a in j["accounts"]] != ["admin", "bridge"]:
    fail("accounts %r" % j)
get_json("/api/v1/accounts/admin", ACCOUNT)
KEYS = {"tree_size": "int", "keys": [KEY], "next": "str?"}
j = get_json("/api/v1/keys", KEYS)
if sorted(k["key_id"] for k in j["keys"]) != sorted([kid_a, kid_b, kid_web]) or \
        j["next"] is not None or j["tree_size"] != size:
    fail("keys %r" % j)
j = get_json("/api/v1/keys?limit=1", KEYS)
if len(j["keys"]) != 1 or not re.match(r"^[0-9a-f]{64}@%d$" % size, j["next"] or ""):
    fail("keys?limit=1: next %r" % j["next"])
j = get_json("/api/v1/keys/" + kid_b, dict(KEY, certificates=[CERT]))
if j["status"] != "revoked" or j["reason"] != "keyCompromise" or \
        j["certificates"][0]["revoked_by"] != "key" or \
        j["certificates"][0]["revoked_index"] != j["revoked_index"]:
    fail("keys/%s %r" % (kid_b, j))
CERTS = {"tree_size": "int", "certificates": [CERT], "next": "str?"}
j = get_json("/api/v1/certs", CERTS)
if sorted(c["serial"] for c in j["certificates"]) != sorted([serial_a, serial_b]):
    fail("certs %r" % j)
c = get_json("/api/v1/certs/" + serial_b, CERT)
# revoked through its key: the key's revocation index, and says so
if c["status"] != "revoked" or c["revoked_by"] != "key" or c["revoked_index"] is None:
    fail("certs/%s (key revoked) %r" % (serial_b, c))
c = get_json("/api/v1/certs/" + serial_a, CERT)
if c["status"] != "good" or c["revoked_index"] is not None or c["revoked_by"] is not None:
    fail("certs/%s %r" % (serial_a, c))
get_json("/api/v1/configs", {"groups": [{"group": "str", "current": CONFIG,
                                         "versions": "int"}]})
get_json("/api/v1/configs/cams", {"group": "str", "current": CONFIG,
                                  "proof": PROOF, "versions": [CONFIG]})
get_json("/api/v1/configs/cams/check?sha256=" + fw,
         {"group": "str", "sha256": "hex64", "match": "str", "version": "str",
          "current_version": "str", "index": "int", "proof": PROOF})
j = get_json("/api/v1/configs/cams/check?sha256=" + "0" * 64,
             {"group": "str", "sha256": "hex64", "match": "str",
              "current_version": "str"})
if j["match"] != "unknown":
    fail("check of an unknown hash: %r" % j)
ENTRIES = {"tree_size": "int", "entries": [ENTRY], "next": "int?"}
j = get_json("/api/v1/ledger/entries?from=0&limit=2", ENTRIES)
if [e["index"] for e in j["entries"]] != [0, 1] or j["next"] != 2:
    fail("entries from 0: %r" % j)
j = get_json("/api/v1/ledger/entries?from=%d" % (size - 1), ENTRIES)
if len(j["entries"]) != 1 or j["next"] is not None:
    fail("the last entry: %r" % j)
j = get_json("/api/v1/ledger/entries?from=%d" % (size + 5), ENTRIES)
if j["entries"] != [] or j["next"] is not None:
    fail("entries past the end: %r" % j)
e = get_json("/api/v1/ledger/entries/1", dict(ENTRY, inclusion=PROOF))
if e["index"] != 1 or e["type"] != "account-create":
    fail("entries/1 %r" % e)
if e["inclusion"]["index"] != 1 or e["inclusion"]["entry"] != e["entry"] or \
        e["inclusion"]["leaf_hash"] != e["leaf_hash"]:
    fail("entries/1: its inclusion proof is for another entry: %r" % e)
CP = {"tree_size": "int", "root_hash": "hex64", "time": "time", "checkpoint": "str",
      # solo: the node's signature is not a cosignature
      "cosignatures": [{"name": "str", "timestamp": "int", "verdict": "str"}],
      "valid_cosignatures": "int"}
cp = get_json("/api/v1/ledger/checkpoint", CP)
get_json("/api/v1/ledger/proof/inclusion?index=0&size=%d" % size,
         {"index": "int", "tree_size": "int", "leaf_hash": "hex64",
          "root_hash": "hex64", "proof": ["hex64"]})
get_json("/api/v1/ledger/proof/consistency?from=1&to=%d" % size,
         {"from": "int", "to": "int", "root_from": "hex64", "root_to": "hex64",
          "proof": ["hex64"]})
# the event stream: 200 text/event-stream (read the head, then hang up)
ev = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
ev.request("GET", "/api/v1/events?from=%d" % (size - 1))
r = ev.getresponse()
if r.status != 200 or not r.getheader("Content-Type", "").startswith("text/event-stream"):
    fail("events: HTTP %d %r" % (r.status, r.getheader("Content-Type")))
first = r.read(6)
if not first.startswith(b"retry:"):
    fail("events: first line %r" % first)
ev.close()
checked += 1

# ---- the checkpoint by Accept (RFC 9110 12.5.1, q-values) ------------------------
def accept(a):
    st, h, body = request("GET", "/api/v1/ledger/checkpoint", {"Accept": a})
    return st, h.get("content-type", ""), body

for a, want in [("text/plain", "text"), ("application/json", "json"),
                ("*/*", "json"), ("text/*", "text"),
                ("application/json;q=0, text/plain", "text"),
                ("application/json; q=0.2, text/plain; q=0.3", "text"),
                ("text/plain;q=0.5, application/json", "json"),
                ("text/plain, application/json", "json"),
                ("text/html, */*;q=0.1", "json"),
                ("text/plain;q=1.000, application/json;q=0.999", "text"),
                ("TEXT/PLAIN", "text"),
                ("text/plain;q=2, application/json", "json")]:
    st, ct, body = accept(a)
    if st != 200:
        fail("checkpoint with Accept %r: HTTP %d %r" % (a, st, body[:300]))
    got = "text" if ct.startswith("text/plain") else "json" if ct == "application/json" else ct
    if got != want:
        fail("checkpoint with Accept %r: %s, expected %s" % (a, got, want))
    if got == "text" and body.decode() != cp["checkpoint"]:
        fail("checkpoint text %r differs from the JSON's note" % body[:300])
    checked += 1
for a in ["text/html", "application/json;q=0", "text/plain;q=0, application/json;q=0",
          "image/png, text/*;q=0"]:
    expect_error("/api/v1/ledger/checkpoint", 406, "not_acceptable",
                 ["checkpoint"], headers={"Accept": a})

# ---- 404s --------------------------------------------------------------------------
expect_error("/api/v1/accounts/nobody", 404, "account_not_found", ["nobody"])
expect_error("/api/v1/keys/" + "0" * 64, 404, "key_not_found", ["0" * 64])
expect_error("/api/v1/certs/abcdef", 404, "cert_not_found", ["abcdef"])
expect_error("/api/v1/configs/nogroup", 404, "config_not_found", ["nogroup"])
expect_error("/api/v1/configs/nogroup/check?sha256=" + fw, 404, "config_not_found",
             ["nogroup"])
expect_error("/api/v1/ledger/entries/%d" % size, 404, "entry_not_found", [str(size)])
expect_error("/api/v1/ledger/entries/%d" % (size + 1000), 404, "entry_not_found")
for p in ["/api/v1/nothing", "/api/v1/configs/cams/check/more", "/api/v1/configs/cams/",
          "/api/v1/statusx", "/api/v2/status"]:
    expect_error(p, 404, "not_found")

# ---- 405s ----------------------------------------------------------------------------
for p in ["/api/v1/status", "/api/v1/accounts", "/api/v1/accounts/admin",
          "/api/v1/keys", "/api/v1/keys/" + kid_a, "/api/v1/certs",
          "/api/v1/certs/" + serial_a, "/api/v1/configs", "/api/v1/configs/cams",
          "/api/v1/configs/cams/check?sha256=" + fw, "/api/v1/ledger/entries",
          "/api/v1/ledger/entries/0", "/api/v1/ledger/checkpoint",
          "/api/v1/ledger/proof/inclusion?index=0", "/api/v1/ledger/proof/consistency?from=1",
          "/api/v1/events"]:
    for m in ["POST", "PUT", "DELETE"]:
        h = expect_error(p, 405, "method_not_allowed", method=m, body=b"")
        if h.get("allow") != "GET, HEAD":
            fail("%s %s: Allow %r" % (m, p, h.get("allow")))
h = expect_error("/api/v1/entries", 405, "method_not_allowed")
if h.get("allow") != "POST":
    fail("GET /api/v1/entries: Allow %r" % h.get("allow"))

# ---- bad query parameters ------------------------------------------------------------
INJ = ["%27%20OR%201%3D1%20--", "1%27%20OR%20%271%27%3D%271", "%27%3B%20DROP%20TABLE%20keys%3B--",
       "1%3B%20SELECT%20*%20FROM%20keys"]
NUL = ["%00", "1%00", "%001", "a%00b"]
ESC = ["%zz", "%4", "1%", "%g0", "%0a", "%7f"]
LONG = ["1" * 300, "a" * 300, "%41" * 257]
NUMBERS = ["-1", "-0", "18446744073709551616", "18446744073709551617",
           "1" + "0" * 30, "99999999999999999999999999999999"]
INT_BAD = NUMBERS + ["abc", "", "1e3", "0x10", "1.5", "%201", "1%20", "%2B1", "+1",
                     "%EF%BC%91"] + INJ + NUL + ESC + LONG
HEX_BAD = ["", "xyz", "A" * 64, "0" * 63, "0" * 65, "-1", "18446744073709551616",
           "1" + "0" * 30] + INJ + NUL + ESC + LONG
WORD_BAD = ["", "-1", "18446744073709551616", "1" + "0" * 30, "xyz", "ACTIVE",
            "good%20"] + INJ + NUL + ESC + LONG
NAME_BAD = ["", "a%2Fb", "a%20b", "%25", "%ff", "n" * 65, "a*", "a%2C"] + INJ + NUL + ESC + LONG
KEY_AFTER_BAD = HEX_BAD + ["a" * 64 + "@0", "a" * 64 + "@-1", "a" * 64 + "@%d" % (size + 1),
                           "a" * 64 + "@18446744073709551616", "a" * 64 + "@", "@5",
                           "a" * 64 + "@1@1", "a" * 64 + "%405x"]
SERIAL_AFTER_BAD = ["", "-1", "0", "0abc", "f" * 41, "XYZ", "ab%20", "ABC", "ab@0",
                    "ab@-1", "ab@%d" % (size + 1), "ab@18446744073709551616", "@3",
                    "ab@"] + INJ + NUL + ESC + LONG
ENDPOINTS = {
    "/api/v1/keys": {"limit": INT_BAD + ["0", "1001"], "status": WORD_BAD + ["good"],
                     "profile": WORD_BAD + ["operator", "Device"], "name": NAME_BAD,
                     "after": KEY_AFTER_BAD},
    "/api/v1/certs": {"limit": INT_BAD + ["0", "1001"], "status": WORD_BAD + ["active"],
                      "key_id": HEX_BAD, "after": SERIAL_AFTER_BAD},
    "/api/v1/ledger/entries": {"from": INT_BAD, "limit": INT_BAD + ["0", "1001"]},
    "/api/v1/ledger/proof/inclusion?size=%d" % size: {
        "index": INT_BAD + [str(size)]},
    "/api/v1/ledger/proof/inclusion?index=0": {
        "size": INT_BAD + ["0", str(size + 1)]},
    "/api/v1/ledger/proof/consistency?to=%d" % size: {
        "from": INT_BAD + ["0", str(size + 1)]},
    "/api/v1/ledger/proof/consistency?from=1": {
        "to": INT_BAD + ["0", str(size + 1)]},
    "/api/v1/configs/cams/check": {"sha256": HEX_BAD + ["g" * 64]},
    "/api/v1/events": {"from": INT_BAD + [str(size + 1)]},
}
PLAIN = ["/api/v1/status", "/api/v1/accounts", "/api/v1/accounts/admin",
         "/api/v1/keys/" + kid_a, "/api/v1/certs/" + serial_a, "/api/v1/configs",
         "/api/v1/configs/cams", "/api/v1/ledger/entries/0", "/api/v1/ledger/checkpoint"]


def join(base, q):
    return base + ("&" if "?" in base else "?") + q


for base, params in ENDPOINTS.items():
    for name, bad in params.items():
        for v in bad:
            expect_error(join(base, "%s=%s" % (name, v)), 400, "bad_parameter", [name])
        # a pair without "=" is the name with an empty value
        expect_error(join(base, name), 400, "bad_parameter", [name])
        # given twice, even with the same good value
        good = {"limit": "1", "from": "1", "to": "1", "index": "0", "size": "1",
                "status": "revoked", "profile": "device", "name": "dev",
                "key_id": kid_a, "after": kid_a if "keys" in base else serial_a,
                "sha256": fw}[name]
        expect_error(join(base, "%s=%s&%s=%s" % (name, good, name, good)), 400,
                     "bad_parameter", [name])
        # a good value next to an unknown parameter: the unknown one is named
        expect_error(join(base, "%s=%s&foo" % (name, good)), 400, "bad_parameter", ["foo"])
        expect_error(join(base, "foo=1&%s=%s" % (name, good)), 400, "bad_parameter", ["foo"])
        expect_error(join(base, "%s=%s&%s" % (name, good, name.upper())), 400,
                     "bad_parameter", [name.upper()])
for p in PLAIN + [b for b in ENDPOINTS if "?" not in b]:
    for q, named in [("foo=1", "foo"), ("foo", "foo"), ("%66oo=1", "foo"),
                     ("limit=1&bogus=2", "bogus"),
                     ("%27%20OR%201%3D1%20--=1", "'%20OR%201=1%20--"),
                     ("a%00b=1", "a%00b"), ("%ff=1", "%FF"), ("=1", "=1"),
                     ("n" * 40 + "=1", "nnnn")]:
        if q.startswith("limit=") and p not in ("/api/v1/keys", "/api/v1/certs",
                                                "/api/v1/ledger/entries"):
            continue		# "limit" is the unknown one there
        expect_error(join(p, q), 400, "bad_parameter", [named])
    # too many parameters, too long a query: 400 with the shape
    expect_error(join(p, "&".join("p%d=1" % i for i in range(17))), 400, "bad_parameter")
    expect_error(join(p, "&".join("x=" + "%41" * 80 for i in range(12))), 400,
                 "bad_parameter")
# empty pairs carry nothing (WHATWG): they are no error
get_json("/api/v1/keys?&limit=1&&", KEYS)
get_json("/api/v1/status?", STATUS)
# the POST takes no query either
expect_error("/api/v1/entries?x=1", 400, "bad_parameter", ["x"], method="POST",
             headers={"Content-Type": "text/plain"}, body=b"garbage\n")

# ---- bad path segments ---------------------------------------------------------------
SEG = ["%27%20OR%201%3D1%20--", "%00", "a%00", "%zz"]
for s in SEG + ["zzz", "A" * 64, "0" * 63, "0" * 65, "-1", "1" + "0" * 30, "a" * 300, ""]:
    expect_error("/api/v1/keys/" + s, 400, "bad_parameter", ["key id"])
for s in SEG + ["0", "-1", "xyz", "f" * 42, "ab%20cd", "a" * 300]:
    expect_error("/api/v1/certs/" + s, 400, "bad_parameter", ["serial"])
for s in SEG + ["", "a%2Fb", "n" * 65, "%ff", "a%20b", "-1;", "a" * 300]:
    expect_error("/api/v1/accounts/" + s, 400, "bad_parameter", ["account name"])
for s in SEG + ["n" * 65, "%ff", "a%20b", "a" * 300]:
    expect_error("/api/v1/configs/" + s, 400, "bad_parameter", ["group"])
for s in SEG + ["", "-1", "abc", "1.0", "0x1", "18446744073709551616", "1" + "0" * 30, "+1",
                "1%20", "%201", "a" * 300]:
    expect_error("/api/v1/ledger/entries/" + s, 400, "bad_parameter", ["entry index"])

# ---- bodies --------------------------------------------------------------------------
big = open(out + "/big-70k.txt", "rb").read()
expect_error("/api/v1/entries", 413, "body_too_large", ["65536"], method="POST",
             headers={"Content-Type": "text/plain"}, body=big)
huge = open(out + "/big-300k.txt", "rb").read()
st, h, body = request("POST", "/api/v1/entries", {"Content-Type": "text/plain"}, huge,
                      keep=False)
if st != 413:
    fail("300 KiB body: HTTP %d" % st)
print("%d answers checked" % checked)
EOF

python3 "$OUT/params.py" "$KB_URL" "$DIR/ca/root.pem" "$OUT" \
    "kid_a=$KID_A" "kid_b=$KID_B" "kid_web=$(spki_key_id "$OUT/keys/web-1.pub")" \
    "serial_a=$SERIAL_A" "serial_b=$SERIAL_B" "fw_sha=$FW_SHA"

# still healthy, and nothing the bad requests did reached the ledger
assert_eq 200 "$(api_call GET /api/v1/status)" "GET /api/v1/status after the bad input"
if grep -Eq ' 500 |internal' "$OUT/serve.log"; then
	fail "a 500 in the request log: $(grep -E ' 500 |internal' "$OUT/serve.log" | head -3)"
fi
kb_stop
assert_match "$(kb_ok ledger verify -d "$DIR")" '^ledger OK:' "ledger verify"
log "OK"
