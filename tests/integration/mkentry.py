#!/usr/bin/env python3
"""mkentry.py: builds and signs a keybridge ledger entry outside keybridge.

    mkentry.py [--forge-ed25519 HEX] KEYFILE ACCOUNT SEQ ORIGIN TYPE [KEY=VALUE...]

Writes the signed note to stdout: the body ("keybridge-entry v1", type,
account, seq, time now in UTC, "origin ORIGIN" unless ORIGIN is "-", then
the KEY VALUE lines in order), a blank line and one signature line
"— ACCOUNT base64(key hash || signature)" (C2SP signed-note; docs/api.md).
KEYFILE is a PEM private key: Ed25519 signs the body itself, an ECDSA P-256
key signs its SHA-256 (DER signature, key hash over the SPKI).

With --forge-ed25519 HEX no private key is used: the signature line is made
for the 32-byte Ed25519 public key HEX, and the "signature" is R = that
point and S = 0 -- what a lax verifier accepts from anyone when the point
has small order (the identity 01 00..00, say).  KEYFILE is then ignored.

Built with openssl and hashlib only, so that the tests do not trust
keybridge's own encoder for the entries they attack it with.
"""
import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import time

EMDASH = "\u2014"
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def die(msg):
    sys.exit("mkentry: " + msg)


def sign(keyfile, body):
    der = subprocess.run(["openssl", "pkey", "-in", keyfile, "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True).stdout
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(body)
        path = f.name
    try:
        if der.startswith(ED25519_SPKI_PREFIX):
            return b"\x01", der[len(ED25519_SPKI_PREFIX):], subprocess.run(
                ["openssl", "pkeyutl", "-sign", "-inkey", keyfile, "-rawin",
                 "-in", path], check=True, capture_output=True).stdout
        return b"\x02", der, subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", keyfile, path],
            check=True, capture_output=True).stdout
    finally:
        os.unlink(path)


def main(argv):
    forge = None
    if len(argv) > 2 and argv[1] == "--forge-ed25519":
        forge = bytes.fromhex(argv[2])
        if len(forge) != 32:
            die("--forge-ed25519 takes 32 bytes of hex")
        argv = argv[2:]
    if len(argv) < 6:
        die("usage: mkentry.py [--forge-ed25519 HEX] KEYFILE ACCOUNT SEQ "
            "ORIGIN TYPE [KEY=VALUE...]")
    keyfile, account, seq, origin, etype = argv[1:6]
    lines = ["keybridge-entry v1", "type " + etype, "account " + account,
             "seq " + seq,
             "time " + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())]
    if origin != "-":
        lines.append("origin " + origin)
    for kv in argv[6:]:
        k, eq, v = kv.partition("=")
        if not eq:
            die("field %r is not KEY=VALUE" % kv)
        lines.append(k + " " + v)
    body = ("\n".join(lines) + "\n").encode()
    if forge is not None:
        alg, keybytes, sig = b"\x01", forge, forge + bytes(32)
    else:
        alg, keybytes, sig = sign(keyfile, body)
    key_hash = hashlib.sha256(account.encode() + b"\n" + alg +
                              keybytes).digest()[:4]
    sys.stdout.buffer.write(body + ("\n%s %s %s\n" % (
        EMDASH, account, base64.b64encode(key_hash + sig).decode())).encode())


if __name__ == "__main__":
    main(sys.argv)
