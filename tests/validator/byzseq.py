#!/usr/bin/env python3
"""byzseq.py: a Byzantine sequencer, and a colluding validator, that speak
keybridge's validator protocol (validator/core.h: C2SP tlog-witness
add-checkpoint, and add-block with the entries) to real validator
processes over HTTP.  Built on the specs and the `cryptography` package
only (RFC 6962 trees, C2SP signed-note, tlog-checkpoint,
tlog-cosignature): no keybridge code.

    byzseq.py attack CONFIG.json
        runs every attack of the scenario (see attack()) against the
        validators CONFIG names and asserts each honest one refuses with
        its status and reason; exit 0 when every assertion held, 1 with
        "FAIL: ..." lines otherwise.
    byzseq.py collude --listen HOST:PORT --name NAME --key-out FILE
        a validator whose checks are bypassed: cosigns every checkpoint
        it is sent, with its own Ed25519 key (cosignature/v1).  Writes its
        vkey to FILE, then serves until killed.
    byzseq.py feed --db LEDGER.db --node-key PEM --node-name N --origin O
                   --url URL --log FILE [--kill-pid PID --kill-at N
                   [--kill-delay-ms MS]]
        an honest sequencer: sends the ledger's entries one block of one
        entry at a time from the validator's size, appending "SIZE\\n" to
        FILE after every 200 (flushed); stops at the first refusal or
        lost connection.  With --kill-pid, once size N is cosigned it
        sends the next block and SIGKILLs PID MS later (the crash test).
    byzseq.py after-crash --db ... --node-key ... --node-name ... --origin ...
                   --url URL --log FILE
        after the restart: the validator's size is at least the last
        size answered 200 in FILE, and for every size in FILE it refuses
        a checkpoint of that size other than the one it cosigned.

CONFIG.json: {"origin", "node_key" (PEM of the log key: the sequencer
signs checkpoints with it), "node_name", "ledger_a", "ledger_b" (two
SQLite ledgers of one origin sharing a prefix: branch A ends in a
revocation of key K and one more registration, branch B in a
certificate for K), "honest": [{"name","url","vkey"}], "colluder":
{"name","url","vkey"}, "witness": {"name","url","vkey"} or null,
"small_body_url" and "max_body" (a validator whose max_body is small)}.
"""
import base64
import hashlib
import http.client
import http.server
import json
import os
import signal
import sqlite3
import struct
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import verify_cosig  # noqa: E402  (the independent cosignature checker)

from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: E402
    Ed25519PrivateKey)
from cryptography.hazmat.primitives.serialization import (  # noqa: E402
    Encoding, PublicFormat, load_pem_private_key)

DASH = "\u2014 "
ENTRIES_MAX = 4096          # VCORE_ENTRIES_MAX
HTTP_TIMEOUT = 30

FAILURES = []


def check(cond, what):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL: " + what)
        FAILURES.append(what)
    return cond


# ---- RFC 6962 ----------------------------------------------------------------

def sha(b):
    return hashlib.sha256(b).digest()


def leaf_hash(e):
    return sha(b"\x00" + e)


def node_hash(l, r):
    return sha(b"\x01" + l + r)


def split_point(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    if not leaves:
        return sha(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def subproof(m, leaves, b):
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split_point(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def consistency(m, leaves):
    return subproof(m, leaves, True) if 0 < m < len(leaves) else []


# ---- signed notes, checkpoints, requests ---------------------------------------

class LogKey:
    """The sequencer's checkpoint key (C2SP signed-note Ed25519, 0x01)."""

    def __init__(self, key, name):
        self.key, self.name = key, name
        pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.hash = sha(name.encode() + b"\n\x01" + pub)[:4]

    @classmethod
    def from_pem(cls, path, name):
        with open(path, "rb") as f:
            return cls(load_pem_private_key(f.read(), None), name)

    def sign(self, body):
        sig = self.key.sign(body)
        return (DASH + self.name + " " +
                base64.b64encode(self.hash + sig).decode() + "\n").encode()


def checkpoint(logkey, origin, leaves, t):
    body = ("%s\n%d\n%s\ntime %d\n" % (
        origin, len(leaves), base64.b64encode(mth(leaves)).decode(),
        t)).encode()
    return body + b"\n" + logkey.sign(body)


def request(old, entries, proof, note):
    out = [b"old %d\n" % old]
    for e in entries:
        out.append(b"entry %d\n" % len(e) + e)
    for h in proof:
        out.append(base64.b64encode(h) + b"\n")
    out.append(b"\n")
    out.append(note)
    return b"".join(out)


def parse_request(body):
    """(old, entries, proof, note) of a request, or raises ValueError."""
    nl = body.index(b"\n")
    if not body.startswith(b"old "):
        raise ValueError("no old line")
    old = int(body[4:nl])
    p, entries, proof = nl + 1, [], []
    while body.startswith(b"entry ", p):
        nl = body.index(b"\n", p)
        n = int(body[p + 6:nl])
        entries.append(body[nl + 1:nl + 1 + n])
        p = nl + 1 + n
    while True:
        nl = body.index(b"\n", p)
        if nl == p:
            break
        proof.append(base64.b64decode(body[p:nl], validate=True))
        p = nl + 1
    return old, entries, proof, body[p + 1:]


def note_body(note):
    i = note.rfind(b"\n\n")
    return note[:i + 1]


def read_ledger(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    rows = db.execute("SELECT data, leaf_hash FROM entries ORDER BY idx"
                      ).fetchall()
    db.close()
    out = []
    for data, lh in rows:
        data = bytes(data)
        if leaf_hash(data) != bytes(lh):
            raise SystemExit("byzseq: %s: a leaf hash is not its entry's"
                             % path)
        out.append(data)
    return out


# ---- HTTP ---------------------------------------------------------------------

def post(url, path, body, method="POST"):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=HTTP_TIMEOUT)
    try:
        c.request(method, path, body=body,
                  headers={"Content-Type": "text/plain"})
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    finally:
        c.close()


def get_json(url, path):
    st, ct, body = post(url, path, None, "GET")
    if st != 200 or not ct.startswith("application/json"):
        raise SystemExit("byzseq: GET %s%s: %d %s" % (url, path, st, body))
    return json.loads(body)


# ---- the attack ------------------------------------------------------------------

class Tally:
    """Every 200 cosignature line gathered, per checkpoint body."""

    def __init__(self, vkeys):
        self.policy = dict(verify_cosig.parse_vkey(v) for v in vkeys)
        self.lines = {}         # body -> set of lines
        self.cosigned = {}      # (validator, size) -> set of bodies

    def add(self, who, note, answer):
        body = note_body(note)
        size = int(body.split(b"\n")[1])
        for line in answer.decode().splitlines():
            self.lines.setdefault(body, set()).add(line)
        self.cosigned.setdefault((who, size), set()).add(body)

    def valid(self, body):
        note = body + b"\n" + "".join(
            l + "\n" for l in sorted(self.lines.get(body, ()))).encode()
        return sum(1 for _, v in verify_cosig.verdicts(note, self.policy)
                   if v == "valid")


class Attack:
    def __init__(self, cfg):
        self.cfg = cfg
        self.origin = cfg["origin"]
        self.log = LogKey.from_pem(cfg["node_key"], cfg["node_name"])
        self.a = read_ledger(cfg["ledger_a"])
        self.b = read_ledger(cfg["ledger_b"])
        self.la = [leaf_hash(e) for e in self.a]
        self.lb = [leaf_hash(e) for e in self.b]
        p = 0
        while p < min(len(self.a), len(self.b)) and self.a[p] == self.b[p]:
            p += 1
        self.p = p              # entries both branches share
        self.honest = cfg["honest"]
        self.colluder = cfg["colluder"]
        self.witness = cfg.get("witness")
        vkeys = [v["vkey"] for v in self.honest + [self.colluder]]
        self.tally = Tally(vkeys)
        self.vkey_of = {v["name"]: v["vkey"] for v in self.honest +
                        [self.colluder]}

    def send(self, v, old, entries, leaves, t=None, path="/add-block",
             proof=None, note=None):
        """Sends a block growing old -> len(leaves) with `entries`."""
        t = int(time.time()) if t is None else t
        if note is None:
            note = checkpoint(self.log, self.origin, leaves, t)
        if proof is None:
            proof = consistency(old, leaves)
        st, ct, body = post(v["url"], path, request(old, entries, proof,
                                                     note))
        if st == 200:
            self.tally.add(v["name"], note, body)
        return st, ct, body, note

    def expect(self, v, what, got, status, reason=None, ctype=None):
        st, ct, body = got[0], got[1], got[2]
        text = body.decode(errors="replace").strip()
        ok = st == status and (reason is None or reason in text)
        if ctype is not None:
            ok = ok and ct.split(";")[0].strip() == ctype
        if st != 200:
            ok = ok and len(body.decode(errors="replace").splitlines()) == 1
        check(ok, "%s: %s -> %d %s (want %d%s%s)" % (
            v["name"], what, st, text[:150], status,
            " '%s'" % reason if reason else "",
            " " + ctype if ctype else ""))

    def cosig_ok(self, v, got, note):
        """A 200 whose line verifies (independent checker) by v's key."""
        if got[0] != 200:
            return check(False, "%s: expected 200, got %d %s" % (
                v["name"], got[0], got[2][:150]))
        policy = dict([verify_cosig.parse_vkey(v["vkey"])])
        res = verify_cosig.verdicts(note + got[2], policy)
        return check(res and all(r == "valid" for _, r in res if _ ==
                                 v["name"]) and any(
            n == v["name"] and r == "valid" for n, r in res),
            "%s: cosignature verifies with the independent checker %s" % (
                v["name"], res))

    def run(self):
        a, b, la, lb, p = self.a, self.b, self.la, self.lb, self.p
        hon, col = self.honest, self.colluder
        check(p >= 3 and len(a) == p + 2 and len(b) == p + 1,
              "branches: %d shared entries, A %d, B %d" % (p, len(a), len(b)))
        everyone = hon + [col]
        # 1. honest blocks: the shared prefix in two blocks (a proof)
        for v in everyone:
            got = self.send(v, 0, a[:p - 1], la[:p - 1])
            self.cosig_ok(v, got, got[3])
            got = self.send(v, p - 1, a[p - 1:p], la[:p])
            self.cosig_ok(v, got, got[3])
        if self.witness:
            w = self.witness
            got = self.send(w, 0, [], la[:p - 1], path="/add-checkpoint")
            self.cosig_ok(w, got, got[3])
            got = self.send(w, p - 1, [], la[:p], path="/add-checkpoint")
            self.cosig_ok(w, got, got[3])
        # 2. a fork: A (revocation of K) to all honest but the last and
        # to the colluder, B (a certificate for K) to the last and the
        # colluder; then each to the others
        h_a, h_b = hon[:-1], hon[-1:]
        t = int(time.time())
        note_a = checkpoint(self.log, self.origin, la[:p + 1], t)
        note_b = checkpoint(self.log, self.origin, lb[:p + 1], t)
        for v in h_a + [col]:
            got = self.send(v, p, a[p:p + 1], la[:p + 1], note=note_a)
            self.cosig_ok(v, got, note_a)
        for v in h_b + [col]:
            got = self.send(v, p, b[p:p + 1], lb[:p + 1], note=note_b)
            self.cosig_ok(v, got, note_b)
        for v in h_a:
            for old in (p, p + 1):
                got = self.send(v, old, b[p:p + 1] if old == p else [],
                                lb[:p + 1], note=note_b)
                self.expect(v, "the fork's other checkpoint (old %d)" % old,
                            got, 409, "equivocation", "text/plain")
        for v in h_b:
            got = self.send(v, p, a[p:p + 1], la[:p + 1], note=note_a)
            self.expect(v, "the fork's other checkpoint", got, 409,
                        "equivocation", "text/plain")
        if self.witness:
            w = self.witness
            got = self.send(w, p, [], la[:p + 1], path="/add-checkpoint",
                            note=note_a)
            self.cosig_ok(w, got, note_a)
            got = self.send(w, p, [], lb[:p + 1], path="/add-checkpoint",
                            note=note_b, proof=consistency(p, lb[:p + 1]))
            self.expect(w, "witness: the fork's other checkpoint", got, 409,
                        "equivocation")
        # the evidence: both notes, both signed by the log key
        for v in hon:
            ev = get_json(v["url"], "/evidence")
            kept = [(e["cosigned"].encode(), e["offered"].encode())
                    for e in ev["evidence"] if e["size"] == p + 1]
            mine, other = (note_a, note_b) if v in h_a else (note_b, note_a)
            check(ev["equivocations"] >= 1 and (mine, other) in kept,
                  "%s: GET /evidence keeps both notes of size %d" % (
                      v["name"], p + 1))
            for n in (mine, other):
                check(self.log.sign(note_body(n)) in n,
                      "%s: the evidence note is signed by the log key" %
                      v["name"])
        # 3. on branch A (size p+1): rule-breaking, lying and stale blocks
        base = la[:p + 1]
        for v in h_a:
            # a certificate for the revoked key K, correctly signed
            got = self.send(v, p + 1, b[p:p + 1], base + lb[p:p + 1])
            self.expect(v, "a certificate for a revoked key", got, 422,
                        "rule-broken: entry %d breaks key_revoked" % (p + 1))
            # a replayed sequence number (an earlier entry again)
            got = self.send(v, p + 1, a[1:2], base + la[1:2])
            self.expect(v, "a replayed sequence number", got, 422,
                        "rule-broken: entry %d breaks bad_sequence" % (p + 1))
            # a root that is not its entries'
            got = self.send(v, p + 1, a[p + 1:p + 2], base + lb[p:p + 1])
            self.expect(v, "a checkpoint whose root is not its entries'",
                        got, 422, "root-mismatch")
            # a rollback to an older size
            got = self.send(v, p, [], la[:p])
            self.expect(v, "a rollback to size %d" % p, got, 409,
                        None, "text/x.tlog.size")
            check(got[2] == b"%d\n" % (p + 1),
                  "%s: the 409 body is our size %d: %r" % (
                      v["name"], p + 1, got[2]))
            # a time far in the future
            got = self.send(v, p + 1, a[p + 1:p + 2], la[:p + 2],
                            t=int(time.time()) + 86400 * 365)
            self.expect(v, "a checkpoint a year ahead", got, 422,
                        "time-out-of-bounds")
            # a time far in the past
            got = self.send(v, p + 1, a[p + 1:p + 2], la[:p + 2],
                            t=int(time.time()) - 86400 * 365)
            self.expect(v, "a checkpoint a year old", got, 422,
                        "time-out-of-bounds")
            # not signed by the log key
            other = LogKey(Ed25519PrivateKey.generate(), self.log.name)
            got = self.send(v, p + 1, a[p + 1:p + 2], la[:p + 2],
                            note=checkpoint(other, self.origin, la[:p + 2],
                                            int(time.time())))
            self.expect(v, "a checkpoint signed by another key", got, 403,
                        "not-signed")
            # another origin
            got = self.send(v, p + 1, a[p + 1:p + 2], la[:p + 2],
                            note=checkpoint(self.log, "other/log",
                                            la[:p + 2], int(time.time())))
            self.expect(v, "another origin", got, 404, "unknown-origin")
            # an old size that is not ours: the size to start from
            got = self.send(v, p, a[p:p + 2], la[:p + 2])
            self.expect(v, "old %d, not our size" % p, got, 409, None,
                        "text/x.tlog.size")
            check(got[2] == b"%d\n" % (p + 1), "%s: 409 body %r" % (
                v["name"], got[2]))
            # a bad consistency proof
            got = self.send(v, p + 1, a[p + 1:p + 2], la[:p + 2],
                            proof=[sha(b"x")] * 2)
            self.expect(v, "a bad consistency proof", got, 422,
                        "inconsistent")
            # the add-checkpoint of a growth, without entries
            got = self.send(v, p + 1, [], la[:p + 2], path="/add-checkpoint")
            self.expect(v, "a growth without its entries", got, 422,
                        "needs-entries")
            self.bad_input(v)
            # after every refusal, the honest block is still cosigned
            got = self.send(v, p + 1, a[p + 1:p + 2], la[:p + 2])
            self.cosig_ok(v, got, got[3])
            st = get_json(v["url"], "/status")
            check(st["size"] == p + 2 and st["equivocations"] >= 1 and
                  st["last_refusal"], "%s: GET /status size %d, "
                  "equivocations %d, last refusal %r" % (
                      v["name"], st["size"], st["equivocations"],
                      st["last_refusal"]))
        # 4. the colluder signs anything: try every honest validator on
        # both sides of the fork once more; no two conflicting
        # checkpoints may both reach three valid cosignatures
        for v in hon:
            self.send(v, p, b[p:p + 1], lb[:p + 1], note=note_b)
            self.send(v, p, a[p:p + 1], la[:p + 1], note=note_a)
        self.quorum_check()
        if "small_body_url" in self.cfg:
            self.too_large(self.cfg["small_body_url"], self.cfg["max_body"])
        return not FAILURES

    def bad_input(self, v):
        url = v["url"]
        for what, body in (("garbage", b"\x00\xff garbage"),
                           ("no checkpoint", b"old 0\n\n"),
                           ("a bad entry length", b"old 0\nentry 99999999\n"),
                           ("a proof line not base64", b"old 1\n!!\n\nx\n")):
            got = post(url, "/add-block", body)
            self.expect(v, what, got, 400, "malformed")
        got = post(url, "/add-checkpoint", b"")
        self.expect(v, "an empty body", got, 400, "malformed")
        # bytes that are not UTF-8, or quotes and backslashes, where a
        # refusal quotes them: the state (JSON) must still persist
        for origin, status in ((b"\xff\xfe/log", 400),
                               ("\u00e9\"\\/log".encode(), 404)):
            bad = (origin + b"\n5\n" + base64.b64encode(sha(b"r")) +
                   b"\ntime %d\n" % int(time.time()))
            bad += b"\n" + self.log.sign(bad)
            got = post(url, "/add-checkpoint", request(0, [], [], bad))
            self.expect(v, "origin %r" % origin, got, status)
            st = get_json(url, "/status")
            check(st["size"] > 0, "%s: GET /status after it: %r" % (
                v["name"], st["last_refusal"]))
        got = post(url, "/add-block", None, "GET")
        self.expect(v, "GET /add-block", got, 405)
        got = post(url, "/status", b"x", "PUT")
        self.expect(v, "PUT /status", got, 405)
        got = post(url, "/nowhere", None, "GET")
        self.expect(v, "GET /nowhere", got, 404)
        many = request(0, [b"x"] * (ENTRIES_MAX + 1), [], b"n\n")
        got = post(url, "/add-block", many)
        self.expect(v, "%d entries" % (ENTRIES_MAX + 1), got, 413,
                    "too-large")

    def too_large(self, url, max_body):
        v = {"name": url, "url": url}
        got = post(url, "/add-block", b"old 0\n" + b"x" * (max_body + 1))
        check(got[0] == 413, "%s: a body of %d bytes -> %d (want 413)" % (
            url, max_body + 1, got[0]))

    def quorum_check(self):
        bodies = list(self.tally.lines)
        sizes = {}
        for body in bodies:
            sizes.setdefault(int(body.split(b"\n")[1]), []).append(body)
        worst = 0
        for size, bs in sizes.items():
            for i in range(len(bs)):
                for j in range(i + 1, len(bs)):
                    if bs[i].split(b"\n")[2] == bs[j].split(b"\n")[2]:
                        continue    # same tree, other time: no conflict
                    ni, nj = self.tally.valid(bs[i]), self.tally.valid(bs[j])
                    worst = max(worst, min(ni, nj))
                    check(min(ni, nj) < 3, "size %d: conflicting "
                          "checkpoints with %d and %d valid cosignatures "
                          "(never both 3)" % (size, ni, nj))
        check(worst >= 1, "the fork was cosigned on both sides (by the "
              "colluder at least): the check above is not empty")
        for (who, size), bs in self.tally.cosigned.items():
            if who == self.colluder["name"]:
                continue
            roots = {b.split(b"\n")[2] for b in bs}
            check(len(roots) == 1, "%s cosigned one tree of size %d" % (
                who, size))


# ---- the colluding validator ---------------------------------------------------------

def collude(listen, name, key_out):
    key = Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = verify_cosig.key_id(name, pub)
    vkey = "%s+%s+%s" % (name, kid.hex(), base64.b64encode(
        bytes([verify_cosig.ALG_COSIG_V1]) + pub).decode())
    with open(key_out, "w") as f:
        f.write(vkey + "\n")

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            try:
                _, _, _, note = parse_request(self.rfile.read(n))
                body = note_body(note)
                ts = int(time.time())
                sig = key.sign(verify_cosig.message(body, ts))
                out = (DASH + name + " " + base64.b64encode(
                    kid + struct.pack(">Q", ts) + sig).decode() + "\n")
                code = 200
            except (ValueError, IndexError):
                code, out = 400, "malformed: not a request\n"
            data = out.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    host, port = listen.rsplit(":", 1)
    http.server.HTTPServer((host, int(port)), H).serve_forever()


# ---- the crash test's sequencer ----------------------------------------------------------

def opts(argv):
    o = {}
    i = 0
    while i < len(argv):
        k = argv[i].lstrip("-").replace("-", "_")
        o[k] = argv[i + 1]
        i += 2
    return o


def feed(o):
    """Feeds one entry per block; with kill_pid and kill_at, right after
    the 200 for size kill_at it sends the next block and SIGKILLs the
    validator kill_delay_ms later, while that block is in flight."""
    entries = read_ledger(o["db"])
    leaves = [leaf_hash(e) for e in entries]
    log = LogKey.from_pem(o["node_key"], o["node_name"])
    url = o["url"]
    kill_at = int(o.get("kill_at", "-1"))
    size = get_json(url, "/status")["size"]
    with open(o["log"], "a") as out:
        while size < len(entries):
            note = checkpoint(log, o["origin"], leaves[:size + 1],
                              int(time.time()))
            body = request(size, entries[size:size + 1],
                           consistency(size, leaves[:size + 1]), note)
            if size == kill_at:
                t = threading.Thread(target=lambda: _quiet_post(url, body))
                t.start()
                time.sleep(float(o.get("kill_delay_ms", "0")) / 1000)
                os.kill(int(o["kill_pid"]), signal.SIGKILL)
                t.join()
                print("feed: killed the validator after size %d" % size)
                return 0
            try:
                st, _, ans = post(url, "/add-block", body)
            except OSError as e:
                print("feed: connection lost at size %d: %s" % (size, e))
                return 0
            if st != 200:
                print("feed: refused at size %d: %d %s" % (size, st, ans))
                return 1
            size += 1
            out.write("%d\n" % size)
            out.flush()
    return 0


def _quiet_post(url, body):
    try:
        post(url, "/add-block", body)
    except OSError:
        pass


def after_crash(o):
    entries = read_ledger(o["db"])
    leaves = [leaf_hash(e) for e in entries]
    log = LogKey.from_pem(o["node_key"], o["node_name"])
    with open(o["log"]) as f:
        sizes = [int(x) for x in f.read().split()]
    st = get_json(o["url"], "/status")
    last = sizes[-1] if sizes else 0
    check(st["size"] >= last and st["size"] <= last + 1,
          "after kill -9: cosigned size %d, last 200 answered for %d" % (
              st["size"], last))
    # the same tree with another time line: another checkpoint
    t = int(time.time()) + 1
    for s in sorted(set(sizes + [st["size"]])):
        note = checkpoint(log, o["origin"], leaves[:s], t)
        stt, ct, body = post(o["url"], "/add-checkpoint",
                             request(s, [], [], note))
        want = 409
        check(stt == want, "size %d: another checkpoint of a cosigned size "
              "-> %d %s" % (s, stt, body.decode().strip()[:80]))
    # and its own checkpoint again is cosigned again (nothing lost)
    stt, _, body = post(o["url"], "/add-checkpoint",
                        request(st["size"], [], [], st["checkpoint"].encode()))
    check(stt == 200, "its own checkpoint again -> %d" % stt)
    return 0 if not FAILURES else 1


def main(argv):
    if len(argv) == 3 and argv[1] == "attack":
        with open(argv[2]) as f:
            ok = Attack(json.load(f)).run()
        print("byzseq: %d failures" % len(FAILURES))
        return 0 if ok else 1
    if len(argv) >= 2 and argv[1] == "collude":
        o = opts(argv[2:])
        collude(o["listen"], o["name"], o["key_out"])
        return 0
    if len(argv) >= 2 and argv[1] == "feed":
        return feed(opts(argv[2:]))
    if len(argv) >= 2 and argv[1] == "after-crash":
        return after_crash(opts(argv[2:]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
