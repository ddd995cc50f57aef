#!/usr/bin/env python3
"""Independent checks of keybridge's ledger proofs (no keybridge code used).

Python standard library plus the `openssl` command for Ed25519.  Inputs are
files (what curl and jq wrote), so no TLS set-up is needed here.

  verify_proof.py leaf-hash ENTRY_FILE
      prints hex SHA-256(0x00 || entry bytes)                 (RFC 9162 2.1.1)

  verify_proof.py checkpoint --checkpoint NOTE (--conf keybridge.conf | --vkey V)
      checks the checkpoint note's validator signature; prints size and root

  verify_proof.py inclusion --entry FILE --index N --proof PROOF.json
                  --checkpoint NOTE (--conf keybridge.conf | --vkey V)
                  [--leaf-hash HEX]
      PROOF.json is the body of GET /api/v1/ledger/proof/inclusion.  Checks
      the checkpoint signature, that the proof is for this index and the
      checkpoint's tree size, the leaf hash, and the RFC 9162 2.1.3.2
      inclusion of the leaf under the checkpoint's root.

  verify_proof.py consistency --old NOTE --new NOTE --proof PROOF.json
                  (--conf keybridge.conf | --vkey V)
      PROOF.json is the body of GET /api/v1/ledger/proof/consistency.  Checks
      both checkpoint signatures and RFC 9162 2.1.4.2 consistency.

Exit 0 and one "OK: ..." line when everything holds; 1 and one "FAIL: ..."
line saying what did not.
"""

import argparse
import base64
import binascii
import hashlib
import json
import os
import subprocess
import sys
import tempfile

# DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE {
# SEQUENCE { OID 1.3.101.112 }, BIT STRING (33 bytes: 0 unused + 32 key) }.
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
EMDASH = "\u2014"


class Failure(Exception):
    pass


def sha256(b):
    return hashlib.sha256(b).digest()


def leaf_hash(entry):
    return sha256(b"\x00" + entry)  # RFC 9162 2.1.1


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def b64decode_strict(s, what):
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as e:
        raise Failure("%s is not valid base64: %s" % (what, e))


def unhex(s, what):
    try:
        b = bytes.fromhex(s)
    except (TypeError, ValueError):
        raise Failure("%s is not hex: %r" % (what, s))
    if len(b) != 32:
        raise Failure("%s is %d bytes, expected 32" % (what, len(b)))
    return b


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def read_json(path, what):
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise Failure("cannot read %s %s: %s" % (what, path, e))


# ---- verifier key and signed notes (C2SP signed-note) -------------------

def conf_vkey(conf_path):
    """validator_vkey of keybridge.conf ("key = value" lines, # comments)."""
    try:
        with open(conf_path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                k, v = line.split("=", 1)
                if k.strip() == "validator_vkey":
                    v = v.strip()
                    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                        v = v[1:-1]
                    return v
    except OSError as e:
        raise Failure("cannot read %s: %s" % (conf_path, e))
    raise Failure("no validator_vkey line in %s" % conf_path)


def parse_vkey(vkey):
    """name+hash+base64(0x01 || 32-byte key) -> (name, key_hash, raw key).

    The key hash is recomputed: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    parts = vkey.split("+", 2)  # base64 may hold '+', the name may not
    if len(parts) != 3:
        raise Failure("verifier key %r is not name+hash+key" % vkey)
    name, hash_hex, key_b64 = parts
    key = b64decode_strict(key_b64, "verifier key")
    if len(key) != 33 or key[0] != 0x01:
        raise Failure("verifier key is not an Ed25519 (0x01 + 32 bytes) key")
    try:
        key_hash = bytes.fromhex(hash_hex)
    except ValueError:
        raise Failure("verifier key hash %r is not hex" % hash_hex)
    if len(key_hash) != 4:
        raise Failure("verifier key hash %r is not 4 bytes" % hash_hex)
    want = sha256(name.encode() + b"\n" + key)[:4]
    if want != key_hash:
        raise Failure("verifier key hash %s does not match the key (%s)"
                      % (hash_hex, want.hex()))
    return name, key_hash, key[1:]


def split_note(note, what):
    """Signed note -> (body bytes, [(name, sig bytes)]).  The body is the
    text up to and including the newline before the blank line."""
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError:
        raise Failure("%s is not UTF-8" % what)
    i = text.find("\n\n")
    if i < 0:
        raise Failure("%s has no blank line before its signatures" % what)
    body, rest = text[:i + 1], text[i + 2:]
    if not rest.endswith("\n"):
        raise Failure("%s does not end in a newline" % what)
    sigs = []
    for line in rest[:-1].split("\n"):
        if not line.startswith(EMDASH + " "):
            raise Failure("%s: %r is not a signature line" % (what, line))
        fields = line[2:].split(" ")
        if len(fields) != 2 or not fields[0]:
            raise Failure("%s: malformed signature line %r" % (what, line))
        sigs.append((fields[0], b64decode_strict(fields[1], what +
                                                 " signature")))
    return body.encode("utf-8"), sigs


def ed25519_verify(pub, msg, sig):
    """openssl pkeyutl -verify -rawin, with an SPKI PEM built from pub."""
    der = ED25519_SPKI_PREFIX + pub
    pem = ("-----BEGIN PUBLIC KEY-----\n" +
           base64.encodebytes(der).decode() +
           "-----END PUBLIC KEY-----\n")
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for n, data in (("pub.pem", pem.encode()), ("body", msg),
                        ("sig", sig)):
            paths[n] = os.path.join(d, n)
            with open(paths[n], "wb") as f:
                f.write(data)
        r = subprocess.run(
            [os.environ.get("OPENSSL", "openssl"), "pkeyutl", "-verify",
             "-pubin", "-inkey", paths["pub.pem"], "-rawin",
             "-in", paths["body"], "-sigfile", paths["sig"]],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode(errors="replace")
    return r.returncode == 0 and "Signature Verified Successfully" in out


def verify_checkpoint(path, vkey):
    """Checks the validator's signature; returns (origin, size, root)."""
    note = read_bytes(path)
    name, key_hash, pub = parse_vkey(vkey)
    body, sigs = split_note(note, "checkpoint " + path)
    mine = [s for n, s in sigs if n == name]
    if not mine:
        raise Failure("checkpoint has no signature by %r (signers: %s)"
                      % (name, ", ".join(n for n, _ in sigs) or "none"))
    ok = False
    for sig in mine:
        if len(sig) != 4 + 64:
            raise Failure("signature by %r is %d bytes, expected 4 + 64"
                          % (name, len(sig)))
        if sig[:4] != key_hash:
            continue  # another key of the same name
        if ed25519_verify(pub, body, sig[4:]):
            ok = True
            break
        raise Failure("checkpoint signature by %r does not verify" % name)
    if not ok:
        raise Failure("no signature by %r carries key hash %s"
                      % (name, key_hash.hex()))

    # C2SP tlog-checkpoint: origin, decimal size, base64 root, extensions.
    lines = body.decode().split("\n")[:-1]
    if len(lines) < 3:
        raise Failure("checkpoint body has %d lines, expected >= 3"
                      % len(lines))
    origin, size_s, root_b64 = lines[0], lines[1], lines[2]
    if not size_s.isdigit() or (size_s != "0" and size_s[0] == "0"):
        raise Failure("checkpoint size line %r is not a decimal" % size_s)
    root = b64decode_strict(root_b64, "checkpoint root")
    if len(root) != 32:
        raise Failure("checkpoint root is %d bytes, expected 32" % len(root))
    return origin, int(size_s), root


# ---- RFC 9162 proofs ------------------------------------------------------

def verify_inclusion(leaf, index, size, proof, root):
    """RFC 9162 2.1.3.2; returns None or raises Failure."""
    if index >= size:
        raise Failure("index %d is not below tree size %d" % (index, size))
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Failure("inclusion proof is longer than the tree allows")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failure("inclusion proof is too short (%d hashes)" % len(proof))
    if r != root:
        raise Failure("inclusion proof leads to root %s, checkpoint says %s"
                      % (r.hex(), root.hex()))


def verify_consistency(m, n, root_m, root_n, proof):
    """RFC 9162 2.1.4.2; returns None or raises Failure."""
    if m > n:
        raise Failure("consistency from %d to smaller %d" % (m, n))
    if m == n:
        if proof:
            raise Failure("consistency proof between equal sizes not empty")
        if root_m != root_n:
            raise Failure("same size %d, different roots" % m)
        return
    if m == 0:
        raise Failure("consistency from the empty tree is not proved")
    if not proof:
        raise Failure("empty consistency proof from %d to %d" % (m, n))
    path = list(proof)
    if m & (m - 1) == 0:  # m is an exact power of 2
        path.insert(0, root_m)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Failure("consistency proof is longer than the trees allow")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failure("consistency proof is too short")
    if fr != root_m:
        raise Failure("consistency proof does not reproduce the old root")
    if sr != root_n:
        raise Failure("consistency proof does not reproduce the new root")


def proof_hashes(obj, what):
    p = obj.get("proof")
    if not isinstance(p, list):
        raise Failure("%s has no \"proof\" array" % what)
    return [unhex(h, "%s hash %d" % (what, i)) for i, h in enumerate(p)]


def json_uint(obj, key, what):
    v = obj.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise Failure("%s: %r is %r, expected an unsigned integer"
                      % (what, key, v))
    return v


# ---- commands -------------------------------------------------------------

def get_vkey(a):
    if a.vkey:
        return a.vkey
    if a.conf:
        return conf_vkey(a.conf)
    raise Failure("give --conf keybridge.conf or --vkey")


def cmd_leaf_hash(a):
    print(leaf_hash(read_bytes(a.entry)).hex())


def cmd_checkpoint(a):
    origin, size, root = verify_checkpoint(a.checkpoint, get_vkey(a))
    print("OK: checkpoint %r size %d root %s" % (origin, size, root.hex()))


def cmd_inclusion(a):
    vkey = get_vkey(a)
    origin, size, root = verify_checkpoint(a.checkpoint, vkey)
    entry = read_bytes(a.entry)
    leaf = leaf_hash(entry)
    pj = read_json(a.proof, "proof")
    what = "inclusion proof"
    if json_uint(pj, "index", what) != a.index:
        raise Failure("proof is for index %r, expected %d"
                      % (pj.get("index"), a.index))
    if json_uint(pj, "tree_size", what) != size:
        raise Failure("proof is for tree size %r, checkpoint has %d"
                      % (pj.get("tree_size"), size))
    if "leaf_hash" in pj and unhex(pj["leaf_hash"], "proof leaf_hash") != leaf:
        raise Failure("proof leaf_hash %s is not SHA-256(0x00||entry) %s"
                      % (pj["leaf_hash"], leaf.hex()))
    if "root_hash" in pj and unhex(pj["root_hash"], "proof root_hash") != root:
        raise Failure("proof root_hash %s is not the checkpoint root %s"
                      % (pj["root_hash"], root.hex()))
    if a.leaf_hash and unhex(a.leaf_hash, "--leaf-hash") != leaf:
        raise Failure("expected leaf hash %s, entry hashes to %s"
                      % (a.leaf_hash, leaf.hex()))
    verify_inclusion(leaf, a.index, size, proof_hashes(pj, what), root)
    print("OK: entry %d (leaf %s) is in checkpoint %r of size %d"
          % (a.index, leaf.hex(), origin, size))


def cmd_consistency(a):
    vkey = get_vkey(a)
    _, m, root_m = verify_checkpoint(a.old, vkey)
    _, n, root_n = verify_checkpoint(a.new, vkey)
    pj = read_json(a.proof, "proof")
    verify_consistency(m, n, root_m, root_n,
                       proof_hashes(pj, "consistency proof"))
    print("OK: tree of size %d is a prefix of the tree of size %d" % (m, n))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("leaf-hash")
    p.add_argument("entry")
    p.set_defaults(fn=cmd_leaf_hash)

    def keyopts(q):
        q.add_argument("--conf")
        q.add_argument("--vkey")

    p = sub.add_parser("checkpoint")
    p.add_argument("--checkpoint", required=True)
    keyopts(p)
    p.set_defaults(fn=cmd_checkpoint)

    p = sub.add_parser("inclusion")
    p.add_argument("--entry", required=True)
    p.add_argument("--index", required=True, type=int)
    p.add_argument("--proof", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--leaf-hash")
    keyopts(p)
    p.set_defaults(fn=cmd_inclusion)

    p = sub.add_parser("consistency")
    p.add_argument("--old", required=True)
    p.add_argument("--new", required=True)
    p.add_argument("--proof", required=True)
    keyopts(p)
    p.set_defaults(fn=cmd_consistency)

    a = ap.parse_args()
    try:
        a.fn(a)
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    except OSError as e:
        print("FAIL: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
