#!/usr/bin/env python3
"""vd_front.py PORT DEADLINE PER_ADDR: a validator's front door (issue 16)
against the bridge's hostile cases, while a probe from 127.0.0.1 asks
GET /status every 50 ms:

- a slowloris from 127.0.0.2 (a head sent one byte every 0.3 s) is closed
  at the whole-head deadline (DEADLINE s), not kept alive by its bytes;
- from 127.0.0.3, PER_ADDR idle connections are held and one more is
  closed at once (the per-address cap), while other addresses get in;
- bad framing from 127.0.0.2 is refused and the connection closed as on
  the bridge: two different Content-Lengths 400, Transfer-Encoding
  xchunked 501, bare-LF lines 400, a declared body over max_body 413
  before any of it is sent (the answer is one line of text);
- every probe is answered 200.
One line per case ("case NAME: ..."); exit 1 when any failed."""
import select
import socket
import sys
import threading
import time

PORT, DEADLINE, PER_ADDR = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
FAILED = []


def case(name, ok, what):
    print("case %s: %s%s" % (name, what, "" if ok else "  FAIL"), flush=True)
    if not ok:
        FAILED.append(name)


def conn(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.connect(("127.0.0.1", PORT))
    return s


def read_all(s, timeout):
    """Everything until the server closes (or timeout): (bytes, closed)."""
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return out, True
            out += b
    except socket.timeout:
        return out, False
    except ConnectionResetError:
        return out, True


class Probe(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.stop, self.ok, self.bad, self.lat = False, 0, [], []

    def run(self):
        while not self.stop:
            t0 = time.monotonic()
            try:
                s = conn("127.0.0.1")
                s.sendall(b"GET /status HTTP/1.1\r\nHost: v\r\n"
                          b"Connection: close\r\n\r\n")
                out, _ = read_all(s, 5)
                s.close()
                if out.startswith(b"HTTP/1.1 200"):
                    self.ok += 1
                    self.lat.append(time.monotonic() - t0)
                else:
                    self.bad.append(out[:40])
            except OSError as e:
                self.bad.append(repr(e))
            time.sleep(0.05)


def slowloris(res):
    s = conn("127.0.0.2")
    t0 = time.monotonic()
    head = b"GET /status HTTP/1.1\r\nHost: v\r\nX-Slow: " + b"a" * 64
    closed = False
    try:
        for ch in head:
            s.send(bytes([ch]))
            r, _, _ = select.select([s], [], [], 0.3)
            if r and not s.recv(1024):
                closed = True
                break
            if time.monotonic() - t0 > DEADLINE + 3:
                break
    except OSError:
        closed = True
    if not closed:
        _, closed = read_all(s, 1)
    res["slow"] = (closed, time.monotonic() - t0)
    s.close()


def cap():
    held = [conn("127.0.0.3") for _ in range(PER_ADDR)]
    time.sleep(0.3)
    extra = conn("127.0.0.3")
    t0 = time.monotonic()
    out, closed = read_all(extra, 1.5)
    took = time.monotonic() - t0
    case("validator_per_addr_cap", closed and out == b"" and took < 1,
         "connection %d from 127.0.0.3: %s after %.2f s (%r)"
         % (PER_ADDR + 1, "closed" if closed else "still open", took,
            out[:20]))
    other = conn("127.0.0.4")
    other.sendall(b"GET /status HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n")
    out, _ = read_all(other, 5)
    case("validator_other_addr", out.startswith(b"HTTP/1.1 200"),
         "127.0.0.4 meanwhile: %r" % out[:12])
    for s in held + [extra, other]:
        s.close()


def framing(name, raw, status, send_all=True):
    s = conn("127.0.0.2")
    s.sendall(raw)
    out, closed = read_all(s, 5)
    s.close()
    line = out.split(b"\r\n", 1)[0]
    body = out.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in out else b""
    ok = (line.startswith(b"HTTP/1.1 %d " % status) and closed and
          body.count(b"\n") == 1 and b"text/plain" in out)
    case("validator_" + name, ok, "%s, %s, body %r" % (
        line.decode(errors="replace"), "closed" if closed else "open",
        body[:60]))


def main():
    probe = Probe()
    probe.start()
    res = {}
    t = threading.Thread(target=slowloris, args=(res,))
    t.start()
    cap()
    P = b"POST /add-block HTTP/1.1\r\nHost: v\r\n"
    framing("cl_conflicting", P + b"Content-Length: 5\r\nContent-Length: 6"
            b"\r\n\r\nhello!", 400)
    framing("te_xchunked", P + b"Transfer-Encoding: xchunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n", 501)
    framing("bare_lf", b"POST /add-block HTTP/1.1\nHost: v\nContent-Length:"
            b" 2\n\nhi", 400)
    framing("declared_too_large", P + b"Content-Length: 999999999\r\n\r\n",
            413)
    t.join()
    closed, took = res["slow"]
    case("validator_slowloris", closed and DEADLINE - 0.5 <= took <= DEADLINE + 2,
         "a head one byte every 0.3 s from 127.0.0.2: %s after %.1f s "
         "(deadline %g s)" % ("closed" if closed else "still open", took,
                              DEADLINE))
    probe.stop = True
    probe.join()
    lat = sorted(probe.lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else -1
    case("validator_probe", probe.ok > 10 and not probe.bad,
         "GET /status from 127.0.0.1: %d answered 200, %d not %r; p99 "
         "%.1f ms" % (probe.ok, len(probe.bad), probe.bad[:3], p99 * 1000))
    sys.exit(1 if FAILED else 0)


main()
