#!/usr/bin/env python3
"""verify_cosig.py: an independent checker of C2SP tlog-cosignature
(Ed25519 cosignature/v1) on a C2SP checkpoint note.  No keybridge code:
only the specs (c2sp.org/signed-note, tlog-checkpoint, tlog-cosignature)
and the `cryptography` package's Ed25519.

    verify_cosig.py NOTE_FILE QUORUM VKEY...
        prints one line per signature line: "<name> <verdict>", then
        "valid N of M, quorum Q"; exit 0 when N >= Q, 1 otherwise, 2 on a
        usage error or a note that is not a checkpoint.
    verify_cosig.py --sign SEED_HEX NAME TIMESTAMP BODY_FILE
        prints the cosignature line of BODY_FILE by the Ed25519 key of the
        32-byte seed, and then its vkey (to make known-answer vectors).
"""
import base64
import hashlib
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives.serialization import (
    Encoding, PublicFormat)

ALG_COSIG_V1 = 0x04
DASH = "\u2014 "


def key_id(name, raw):
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_COSIG_V1]) +
                          raw).digest()[:4]


def parse_vkey(vkey):
    name, hexid, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if len(raw) != 33 or raw[0] != ALG_COSIG_V1:
        raise ValueError("not a cosignature/v1 vkey: " + vkey)
    if key_id(name, raw[1:]).hex() != hexid:
        raise ValueError("vkey hash does not match its key: " + vkey)
    return name, raw[1:]


def message(body, ts):
    return b"cosignature/v1\ntime %d\n" % ts + body


def split_note(data):
    """(body, [signature lines]) per signed-note: the body ends at the
    last blank line."""
    if not data.endswith(b"\n"):
        raise ValueError("note does not end in a newline")
    i = data.rfind(b"\n\n")
    if i < 0:
        raise ValueError("no blank line")
    body = data[:i + 1]
    lines = data[i + 2:].decode("utf-8").split("\n")[:-1]
    return body, lines


def check_checkpoint(body):
    lines = body.decode("utf-8").split("\n")
    if len(lines) < 4 or not lines[0] or not lines[1].isdigit():
        raise ValueError("not a checkpoint body")
    if len(base64.b64decode(lines[2], validate=True)) != 32:
        raise ValueError("root is not 32 bytes")


def verdicts(data, policy):
    body, lines = split_note(data)
    check_checkpoint(body)
    seen, out = set(), []
    for line in lines:
        if not line.startswith(DASH) or " " not in line[len(DASH):]:
            out.append(("-", "malformed"))
            continue
        name, b64 = line[len(DASH):].split(" ", 1)
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            out.append((name, "malformed"))
            continue
        if name not in policy:
            out.append((name, "unknown"))
            continue
        pub = policy[name]
        if raw[:4] != key_id(name, pub):
            out.append((name, "wrong-key"))
            continue
        if len(raw) != 4 + 8 + 64:
            out.append((name, "malformed"))
            continue
        (ts,) = struct.unpack(">Q", raw[4:12])
        try:
            Ed25519PublicKey.from_public_bytes(pub).verify(
                raw[12:], message(body, ts))
        except InvalidSignature:
            out.append((name, "bad-signature"))
            continue
        if name in seen:
            out.append((name, "duplicate"))
            continue
        seen.add(name)
        out.append((name, "valid"))
    return out


def sign(seed_hex, name, ts, body):
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    sig = key.sign(message(body, ts))
    raw = key_id(name, pub) + struct.pack(">Q", ts) + sig
    vkey = "%s+%s+%s" % (name, key_id(name, pub).hex(),
                         base64.b64encode(bytes([ALG_COSIG_V1]) + pub).decode())
    return DASH + name + " " + base64.b64encode(raw).decode(), vkey


def main(argv):
    if len(argv) == 6 and argv[1] == "--sign":
        with open(argv[5], "rb") as f:
            line, vkey = sign(argv[2], argv[3], int(argv[4]), f.read())
        print(line)
        print(vkey)
        return 0
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        policy = dict(parse_vkey(v) for v in argv[3:])
        with open(argv[1], "rb") as f:
            out = verdicts(f.read(), policy)
    except (ValueError, UnicodeDecodeError) as e:
        print("verify_cosig: %s" % e, file=sys.stderr)
        return 2
    valid = sum(1 for _, v in out if v == "valid")
    for name, v in out:
        print(name, v)
    quorum = int(argv[2])
    print("valid %d of %d, quorum %d" % (valid, len(out), quorum))
    return 0 if valid >= quorum else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
