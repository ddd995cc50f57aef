#!/usr/bin/env python3
"""memscan.py: which private keys a running process holds in its memory.

    memscan.py --pid NAME=PID ... --key NAME=FILE ...

For every key file (PEM, as `keybridge init` writes them) the needles are
the forms a key takes in a process that loaded it:

  pem        the file's text (the read buffer of PEM_read_*)
  pem-line   the base64 line that carries the private scalar or seed
             (the first line is a prefix shared by every key of a type)
  der        the PKCS#8 DER (openssl pkey -outform DER)
  der-trad   the traditional DER (SEC1 ECPrivateKey, PKCS#1 RSAPrivateKey)
  scalar     the raw private value(s) big-endian: the EC scalar, the
             Ed25519/X25519 seed, RSA's d, p and q
  scalar-le  the same byte-reversed: OpenSSL keeps a BIGNUM as
             little-endian 64-bit limbs, so an EC scalar or an RSA prime
             lies in memory reversed

all computed with the openssl command line (no Python package needed).
Every readable mapping of /proc/PID/maps is read through /proc/PID/mem
(root, or the process's own user while it is dumpable) and searched.
Prints one JSON object: {"NAME": {"KEY": ["form", ...], ...}, ...}, the
forms found per process and key, plus "_bytes" per process (how much was
read: a scan that read nothing proves nothing) and "_skipped" (bytes of
mappings over 4 GiB, reservations such as AddressSanitizer's shadow).  Exit status 0, or 2 on a
usage or read error.
"""
import json
import re
import subprocess
import sys

CHUNK = 1 << 20			# bytes read from /proc/PID/mem at a time
# Larger mappings are reservations, not data: AddressSanitizer's shadow
# (terabytes of MAP_NORESERVE).  Skipped, and counted in "_skipped".
MAX_REGION = 1 << 32
MIN_NEEDLE = 16			# shorter needles could match by chance
# Mappings that cannot be read through /proc/PID/mem, or are the
# kernel's, not the process's.
SKIP_MAPS = ("[vvar]", "[vsyscall]", "[vvar_vclock]")


def openssl(args, data=None):
    """Runs openssl ARGS; its stdout (bytes)."""
    r = subprocess.run(["openssl"] + args, input=data, capture_output=True,
                       check=False)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args),
                                                r.stderr.decode(errors="replace")))
    return r.stdout


def text_fields(text):
    """The hex fields of `openssl pkey -text -noout` (name -> bytes)."""
    fields, name, hexs = {}, None, []
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9]+):\s*$", line)
        if m:
            if name is not None and hexs:
                fields[name] = bytes.fromhex("".join(hexs))
            name, hexs = m.group(1), []
            continue
        if name is not None and re.match(r"^\s+[0-9a-f]{2}(:[0-9a-f]{2})*:?\s*$", line):
            hexs.append(line.strip().replace(":", ""))
            continue
        if name is not None and hexs:
            fields[name] = bytes.fromhex("".join(hexs))
        name, hexs = None, []
    if name is not None and hexs:
        fields[name] = bytes.fromhex("".join(hexs))
    return fields


def strip_zero(b):
    """A BIGNUM's bytes: no leading zero bytes (the text form adds one
    when the top bit is set)."""
    return b.lstrip(b"\0") or b"\0"


def needles(path):
    """[(form, bytes)] for the private key in PEM file path."""
    with open(path, "rb") as f:
        pem = f.read()
    out = [("pem", pem)]
    body = [l for l in pem.splitlines() if l and not l.startswith(b"-----")]
    if len(body) >= 2:
        out.append(("pem-line", body[1]))
    der = openssl(["pkey", "-in", path, "-outform", "DER"])
    out.append(("der", der))
    trad = openssl(["pkey", "-in", path, "-outform", "DER", "-traditional"])
    if trad != der:
        out.append(("der-trad", trad))
    text = openssl(["pkey", "-in", path, "-text", "-noout"]).decode()
    fields = text_fields(text)
    # Ed25519 and X25519 seeds are octet strings: every byte counts
    raw = re.match(r"^(ED|X)(25519|448) ", text) is not None
    # EC and EdDSA: "priv"; RSA: the exponent and the primes
    for name in ("priv", "privateExponent", "prime1", "prime2"):
        if name in fields:
            v = fields[name] if raw else strip_zero(fields[name])
            out.append(("scalar", v))
            out.append(("scalar-le", v[::-1]))
    if not any(f == "scalar" for f, _ in out):
        raise RuntimeError("%s: no private value in openssl pkey -text" % path)
    return [(f, n) for f, n in out if len(n) >= MIN_NEEDLE]


def regions(pid):
    """(start, end) of every readable mapping of pid."""
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2 or parts[1][0] != "r":
                continue
            if len(parts) >= 6 and parts[5] in SKIP_MAPS:
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            yield lo, hi


def read_memory(pid):
    """All readable memory of pid, region by region (a list of bytes), and
    how many bytes of oversized mappings were skipped."""
    blobs, skipped = [], 0
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for lo, hi in regions(pid):
            if hi - lo > MAX_REGION:
                skipped += hi - lo
                continue
            parts, at = [], lo
            while at < hi:
                n = min(CHUNK, hi - at)
                try:
                    mem.seek(at)
                    b = mem.read(n)
                except (OSError, ValueError, OverflowError):
                    b = b""
                if not b:
                    break	# an unreadable page (guard): skip the rest
                parts.append(b)
                at += len(b)
            if parts:
                blobs.append(b"".join(parts))
    return blobs, skipped


def main(argv):
    pids, keys, i = {}, {}, 0
    while i < len(argv):
        if argv[i] in ("--pid", "--key") and i + 1 < len(argv) and "=" in argv[i + 1]:
            name, val = argv[i + 1].split("=", 1)
            if argv[i] == "--pid":
                pids[name] = int(val)
            else:
                keys[name] = val
            i += 2
            continue
        sys.stderr.write(__doc__)
        return 2
    if not pids or not keys:
        sys.stderr.write(__doc__)
        return 2
    try:
        want = {k: needles(p) for k, p in keys.items()}
        result = {}
        for pname, pid in pids.items():
            blobs, skipped = read_memory(pid)
            found = {}
            for k, ns in want.items():
                forms = sorted({f for f, n in ns if any(n in b for b in blobs)})
                found[k] = forms
            found["_bytes"] = sum(len(b) for b in blobs)
            found["_skipped"] = skipped
            result[pname] = found
    except (OSError, RuntimeError) as e:
        sys.stderr.write("memscan: %s\n" % e)
        return 2
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
