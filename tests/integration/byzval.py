#!/usr/bin/env python3
"""byzval.py: a Byzantine VALIDATOR for tests (issue 14).  A real HTTP
server that speaks the validator protocol (validator/core.h: POST
/add-block and /add-checkpoint, "old N", entries, proof, blank line, the
checkpoint note) and answers every request 200 with a cosignature line
that must not count:

    other-root  a valid signature by its key over another root
    malformed   a signature line that is not base64 of 4 + 72 bytes
    wrong-key   a valid signature under its name by another key
    replay      the first cosignature it ever made, over an old checkpoint
    cycle       each of the above in turn, request after request
    cosign      a valid cosignature of whatever it is sent, unchecked (a
                colluding validator; also an honest one's stand-in where
                only the bridge's side is tested)

No keybridge code: only the specs (c2sp.org/signed-note, tlog-checkpoint,
tlog-cosignature) and the `cryptography` package's Ed25519.

    byzval.py vkey SEED_HEX NAME
        prints the cosignature/v1 verifier key of the seed's Ed25519 key
    byzval.py serve SEED_HEX NAME ADDR:PORT MODE [LOG_FILE]
        serves until killed; LOG_FILE gets one line per answer:
        "<mode> <checkpoint size>"
"""
import base64
import hashlib
import http.server
import struct
import sys
import threading
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey)
from cryptography.hazmat.primitives.serialization import (
    Encoding, PublicFormat)

ALG_COSIG_V1 = 0x04
DASH = "\u2014 "
MODES = ("other-root", "malformed", "wrong-key", "replay")
MAX_BODY = 64 << 20


def raw_pub(key):
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name, raw):
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_COSIG_V1]) +
                          raw).digest()[:4]


def vkey(name, key):
    raw = raw_pub(key)
    return "%s+%s+%s" % (name, key_id(name, raw).hex(),
                         base64.b64encode(bytes([ALG_COSIG_V1]) + raw)
                         .decode())


def cosign(name, key, body, ts):
    """The signature line of body (bytes, ending in a newline) at ts."""
    msg = b"cosignature/v1\ntime %d\n" % ts + body
    sig = key.sign(msg)
    blob = key_id(name, raw_pub(key)) + struct.pack(">Q", ts) + sig
    return DASH + name + " " + base64.b64encode(blob).decode() + "\n"


def checkpoint_body(req):
    """The checkpoint body of a request (validator/core.h): "old N",
    then "entry LEN" lines each followed by LEN bytes, proof lines, a
    blank line, the checkpoint note; its body ends at its blank line."""
    nl = req.index(b"\n")
    if not req.startswith(b"old "):
        raise ValueError("no old line")
    pos = nl + 1
    while req.startswith(b"entry ", pos):
        nl = req.index(b"\n", pos)
        n = int(req[pos + 6:nl])
        if n < 0 or nl + 1 + n > len(req):
            raise ValueError("entry past the end")
        pos = nl + 1 + n
    while not req.startswith(b"\n", pos):
        pos = req.index(b"\n", pos) + 1
    note = req[pos + 1:]
    j = note.rfind(b"\n\n")
    if j < 0:
        raise ValueError("no checkpoint note")
    return note[:j + 1]


class Byzantine:
    def __init__(self, seed_hex, name, mode, log):
        self.key = Ed25519PrivateKey.from_private_bytes(
            bytes.fromhex(seed_hex))
        self.other = Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(b"another key" + bytes.fromhex(seed_hex))
            .digest())
        self.name = name
        self.mode = mode
        self.log = log
        self.first = None
        self.n = 0
        self.lock = threading.Lock()

    def answer(self, body):
        with self.lock:
            return self.answer_locked(body)

    def answer_locked(self, body):
        ts = int(time.time())
        if self.first is None:
            # what it would replay: a real cosignature of this checkpoint
            self.first = cosign(self.name, self.key, body, ts)
        mode = self.mode
        if mode == "cycle":
            mode = MODES[self.n % len(MODES)]
        self.n += 1
        lines = body.split(b"\n")
        if mode == "cosign":
            line = cosign(self.name, self.key, body, ts)
        elif mode == "other-root":
            root = base64.b64decode(lines[2])
            lines[2] = base64.b64encode(bytes(b ^ 0xff for b in root))
            line = cosign(self.name, self.key, b"\n".join(lines), ts)
        elif mode == "malformed":
            line = DASH + self.name + " not*base64*at*all\n"
        elif mode == "wrong-key":
            line = cosign(self.name, self.other, body, ts)
        else:
            line = self.first
        if self.log is not None:
            with open(self.log, "a") as f:
                f.write("%s %s\n" % (mode, lines[1].decode()))
        return line


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n < 0 or n > MAX_BODY:
            self.reply(413, "too large\n")
            return
        req = self.rfile.read(n)
        path = self.path.rstrip("/")
        if not (path.endswith("/add-block") or
                path.endswith("/add-checkpoint")):
            self.reply(404, "no such endpoint\n")
            return
        try:
            body = checkpoint_body(req)
        except (ValueError, IndexError) as e:
            self.reply(400, "%s\n" % e)
            return
        self.reply(200, self.server.byz.answer(body))

    def log_message(self, fmt, *args):
        pass


def main(argv):
    if len(argv) == 4 and argv[1] == "vkey":
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(argv[2]))
        print(vkey(argv[3], key))
        return 0
    if len(argv) in (6, 7) and argv[1] == "serve" and \
            argv[5] in MODES + ("cycle", "cosign"):
        host, port = argv[4].rsplit(":", 1)
        srv = http.server.ThreadingHTTPServer((host, int(port)), Handler)
        srv.byz = Byzantine(argv[2], argv[3], argv[5],
                            argv[6] if len(argv) == 7 else None)
        srv.serve_forever()
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
