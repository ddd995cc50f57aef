#!/usr/bin/env python3
"""hostile_conn.py: the slow and greedy clients of test_hostile_conn.sh.

Real clients on loopback, as an attacker would write them: raw sockets
(and ssl for the TLS listener) bound to 127.0.0.x source addresses, that
drip a request head a byte at a time, stall a body, idle, never finish a
TLS handshake, or open more connections than allowed, while a probe on
127.0.0.1 measures how long ordinary requests take.

  hostile_conn.py PHASE --pid PID --tls-port P --http-port P --ca ROOT.pem
      --log SERVE.LOG --deadline S [--results FILE]

PHASE is one of deadlines, caps, storms, pressure, emfile.  Each named
case prints "case NAME: OUTCOME" and, when it fails, "FAIL: ..." and the
script exits 1.  --results gets one JSON line per phase (probe p50/p99,
CPU, log lines, RSS) for the test's summary.
"""
import argparse
import json
import os
import select
import socket
import ssl
import sys
import multiprocessing
import time

CASES = []          # (name, outcome) of this run


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def case(name, ok, outcome):
    CASES.append((name, outcome))
    print("case %s: %s" % (name, outcome), flush=True)
    if not ok:
        fail("%s: %s" % (name, outcome))


class Daemon:
    """What /proc says of the bridge's network process."""

    def __init__(self, pid, log):
        self.pid, self.log = pid, log
        self.hz = os.sysconf("SC_CLK_TCK")

    def cpu_s(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.hz   # utime+stime

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def nfds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def log_lines(self):
        with open(self.log, "rb") as f:
            return f.read().count(b"\n")

    def log_tail(self, since):
        with open(self.log, "rb") as f:
            return f.read().split(b"\n")[since:]


class Conn:
    """One client connection from source address src."""

    def __init__(self, src, port, ctx=None, handshake=True, timeout=5):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((src, 0))
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.t0 = time.monotonic()
        self.closed_at = None
        self.got = b""
        if ctx is not None and handshake:
            self.sock = ctx.wrap_socket(self.sock,
                                        server_hostname="127.0.0.1")
        self.sock.setblocking(False)

    def send(self, data):
        try:
            self.sock.send(data)
        except (BlockingIOError, ssl.SSLWantWriteError,
                ssl.SSLWantReadError):
            pass
        except OSError:
            self.mark_closed()

    def mark_closed(self):
        if self.closed_at is None:
            self.closed_at = time.monotonic()

    def poll(self):
        """Reads what is there; notes the close.  True when closed."""
        if self.closed_at is not None:
            return True
        while True:
            try:
                b = self.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError,
                    ssl.SSLWantWriteError):
                return False
            except (OSError, ssl.SSLError):
                self.mark_closed()
                return True
            if not b:
                self.mark_closed()
                return True
            self.got += b

    def age_at_close(self):
        return None if self.closed_at is None else self.closed_at - self.t0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def answer(c, timeout=3):
    """Polls c until one whole answer (by Content-Length) is in c.got."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not c.poll():
        head, sep, body = c.got.partition(b"\r\n\r\n")
        if sep:
            n = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    n = int(v)
            if len(body) >= n:
                return True
        time.sleep(0.005)
    return False


def watch(conns, seconds, drip=None, every=0.5):
    """Polls conns for seconds (or until all closed), sending one byte of
    drip[i] to each open one every `every` seconds."""
    end = time.monotonic() + seconds
    nxt = time.monotonic() + every
    pos = 0
    while time.monotonic() < end:
        open_ = [c for c in conns if c.closed_at is None]
        if not open_:
            break
        r, _, _ = select.select([c.sock for c in open_], [], [], 0.05)
        for c in open_:
            if c.sock in r or isinstance(c.sock, ssl.SSLSocket):
                c.poll()
        if drip is not None and time.monotonic() >= nxt:
            for c in open_:
                if c.closed_at is None and pos < len(drip):
                    c.send(drip[pos:pos + 1])
            pos += 1
            nxt += every


class Probe:
    """Ordinary requests from 127.0.0.1 on fresh connections, timed, in
    a process of their own (the attackers' loop holds this one's GIL)."""

    def __init__(self, http_port, tls_port, ctx, gap=0.01):
        self.http_port, self.tls_port, self.ctx = http_port, tls_port, ctx
        self.gap, self.proc = gap, None

    def one(self, tls):
        t0 = time.monotonic()
        s = socket.create_connection(("127.0.0.1", self.tls_port if tls
                                      else self.http_port), timeout=5)
        try:
            if tls:
                s = self.ctx.wrap_socket(s, server_hostname="127.0.0.1")
                s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n\r\n")
            else:
                s.sendall(b"GET /ca/issuing.der HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n\r\n")
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        finally:
            s.close()
        if not data.startswith(b"HTTP/1.1 200 "):
            raise RuntimeError("answer %r" % data[:40])
        return time.monotonic() - t0

    def loop(self, stop, out):
        times, errors, i = [], [], 0
        while not stop.is_set():
            try:
                times.append(self.one(i % 4 == 3))
            except Exception as e:   # noqa: BLE001 - counted, reported
                errors.append(repr(e))
            i += 1
            time.sleep(self.gap)
        out.send((times, errors))

    def start(self):
        self.stop = multiprocessing.Event()
        self.rx, tx = multiprocessing.Pipe(duplex=False)
        self.proc = multiprocessing.Process(target=self.loop,
                                            args=(self.stop, tx), daemon=True)
        self.proc.start()

    def finish(self):
        self.stop.set()
        times, errors = self.rx.recv() if self.rx.poll(10) else ([], ["?"])
        self.proc.join(5)
        t = sorted(times)
        if not t:
            return {"n": 0, "errors": len(errors)}
        pct = lambda q: round(1000 * t[min(len(t) - 1, int(q * len(t)))], 1)
        return {"n": len(t), "errors": len(errors), "p50_ms": pct(0.5),
                "p99_ms": pct(0.99), "max_ms": round(1000 * t[-1], 1),
                "first_errors": errors[:3]}


def baseline(a, ctx):
    """The probe's figures with no attacker: the same-run reference."""
    p = Probe(a.http_port, a.tls_port, ctx)
    p.start()
    time.sleep(1.0)
    return p.finish()


SANITIZED = False   # --sanitized: ASan makes the daemon's TLS ~3x slower


def p99_ok(stats, base):
    """The issue's target, p99 under 50 ms (150 ms in the sanitizer
    build, whose handshakes for the attackers take the loop ~3x longer);
    on a machine so loaded that the probe's own reference p99 is over
    25 ms, within twice that plus the target's half (the integration
    runner runs this test alone; a developer's machine may not be)."""
    p99, ref = stats.get("p99_ms", 1e9), base.get("p99_ms", 0)
    target = 150 if SANITIZED else 50
    if stats["errors"] != 0:
        return False
    return p99 < target or (ref >= 25 and p99 < 2 * ref + target / 2)


def health(a, ctx, what):
    p = Probe(a.http_port, a.tls_port, ctx)
    try:
        p.one(False)
        p.one(True)
    except Exception as e:   # noqa: BLE001
        fail("health probe after %s: %r" % (what, e))
    case("health_after_" + what, True, "200 on both listeners")


def closed_within(conns, lo, hi):
    ages = [c.age_at_close() for c in conns]
    bad = [x for x in ages if x is None or not lo <= x <= hi]
    return not bad, ages


HEAD = (b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 64 +
        b"\r\n\r\n")


def fmt_ages(ages):
    got = [x for x in ages if x is not None]
    if not got:
        return "none closed"
    return "closed after %.2f..%.2f s (%d of %d)" % (min(got), max(got),
                                                     len(got), len(ages))


# ---- phases -------------------------------------------------------------

def phase_deadlines(a, ctx, d):
    """Slow heads, stalled handshakes, slow bodies and idle keep-alive
    connections, each closed at its deadline, while the probe keeps its
    latency.  The cases of a group run side by side."""
    dl = a.deadline
    lo, hi = dl - 0.3, dl + 1.5
    base = baseline(a, ctx)
    probe = Probe(a.http_port, a.tls_port, ctx)
    probe.start()
    log0 = d.log_lines()
    # slow headers (one byte every 0.5 s, never done within the
    # deadline) on both listeners; TLS handshakes never finished (nothing
    # sent, or half a ClientHello)
    heads = {port: [Conn("127.0.0.2", port, ctx if port == a.tls_port
                         else None) for _ in range(20)]
             for port in (a.http_port, a.tls_port)}
    hs = [Conn("127.0.0.2", a.tls_port, ctx, handshake=False)
          for _ in range(6)]
    hello = bytes.fromhex("16030100c8010000c40303") + b"\x00" * 16
    for c in hs[:3]:
        c.send(hello)
    allc = heads[a.http_port] + heads[a.tls_port]
    watch(allc + hs, dl + 3, drip=HEAD, every=0.5)
    for port, name in ((a.http_port, "http"), (a.tls_port, "https")):
        ok, ages = closed_within(heads[port], lo, hi)
        case("slow_headers_" + name, ok, "close; " + fmt_ages(ages))
    ok, ages = closed_within(hs, lo, hi)
    case("tls_handshake_never_finished", ok, "close; " + fmt_ages(ages))
    for c in allc + hs:
        c.close()
    stats = probe.finish()
    case("slow_headers_probe_p99", p99_ok(stats, base),
         "probe from 127.0.0.1: %d requests, p50 %s ms, p99 %s ms, %d errors"
         " (reference without attackers: p50 %s ms, p99 %s ms)"
         % (stats["n"], stats.get("p50_ms"), stats.get("p99_ms"),
            stats["errors"], base.get("p50_ms"), base.get("p99_ms")))
    tail = b"\n".join(d.log_tail(log0))
    case("slow_headers_logged", b"(http_header_timeout)" in tail and
         tail.count(b"http_header_timeout") <= 4,
         "%d log lines name http_header_timeout for 40 closes" %
         tail.count(b"http_header_timeout"))
    case("tls_handshake_logged", b"(http_tls_handshake_timeout)" in tail,
         "the log names http_tls_handshake_timeout")
    health(a, ctx, "slow_headers")

    # slow bodies: head done, then 10 bytes/s of a 5000-byte body; and a
    # 6000-byte body at 2000 bytes/s, served though it outlasts the grace
    slow = []
    for port, path in ((a.http_port, b"/ocsp"),
                       (a.tls_port, b"/api/v1/entries")):
        c = Conn("127.0.0.2", port, ctx if port == a.tls_port else None)
        c.send(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: "
               b"application/json\r\nContent-Length: 5000\r\n\r\n")
        slow.append(c)
    fast = Conn("127.0.0.2", a.http_port)
    fast.send(b"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: "
              b"application/ocsp-request\r\nConnection: close\r\n"
              b"Content-Length: 6000\r\n\r\n")
    t0 = time.monotonic()
    for i in range(24):                 # 250 bytes each (dl + 1) / 24 s
        fast.send(b"x" * 250)
        for c in slow:
            c.send(b"x" * (1 if i % 2 else 2))
        watch(slow + [fast], (dl + 1) / 24)
    watch(slow + [fast], 3)
    for c, name in zip(slow, ("http", "https")):
        age = c.age_at_close()
        # grace dl, plus 1 s per 1024 bytes: ~40 bytes add 0.04 s
        case("slow_body_" + name,
             age is not None and lo <= age <= hi + 0.2 and c.got == b"",
             "close without an answer after %s s" %
             (None if age is None else round(age, 2)))
    status = fast.got.split(b"\r\n", 1)[0]
    case("body_at_rate_past_grace", status == b"HTTP/1.1 200 OK",
         "%r for a 6000-byte body sent over %.1f s" %
         (status, time.monotonic() - t0))
    for c in slow + [fast]:
        c.close()
    case("slow_body_logged", b"(http_body_min_rate)" in
         b"\n".join(d.log_tail(log0)), "the log names http_body_min_rate")
    health(a, ctx, "slow_body")

    # idle keep-alive: a request, its answer, then nothing; and one whose
    # requests come in time, which stays up
    idle = []
    for port, path in ((a.http_port, b"/ca/issuing.der"),
                       (a.tls_port, b"/api/v1/status")):
        c = Conn("127.0.0.2", port, ctx if port == a.tls_port else None)
        c.send(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer(c)
        c.t0 = time.monotonic()     # idle from the answer on
        idle.append(c)
    live = Conn("127.0.0.2", a.http_port)
    ok = True
    for i in range(3):
        live.got = b""
        live.send(b"GET /ca/issuing.der HTTP/1.1\r\nHost: x\r\n\r\n")
        ok = ok and answer(live) and live.got.startswith(b"HTTP/1.1 200 ")
        watch(idle, dl * 0.6)
    watch(idle, 3)
    for c, name in zip(idle, ("http", "https")):
        age = c.age_at_close()
        case("idle_keepalive_" + name,
             c.got.startswith(b"HTTP/1.1 200 ") and age is not None and
             lo <= age <= hi,
             "200, then closed after %s s idle" %
             (None if age is None else round(age, 2)))
    case("keepalive_in_time", ok and live.closed_at is None,
         "3 requests %.1f s apart on one connection, all 200" % (dl * 0.6))
    for c in idle + [live]:
        c.close()
    health(a, ctx, "idle")
    return {"phase": "deadlines", "probe": stats, "reference": base}


def phase_caps(a, ctx, d, per_addr):
    """The per-address cap: the one over it from 127.0.0.2 is closed at
    once, on either listener, while 127.0.0.1 is served."""
    log0 = d.log_lines()
    half = per_addr // 2
    conns = [Conn("127.0.0.2", a.http_port) for _ in range(half)]
    conns += [Conn("127.0.0.2", a.tls_port, ctx, handshake=False)
              for _ in range(per_addr - half)]
    watch(conns, 0.3)
    case("per_addr_cap_filled", all(c.closed_at is None for c in conns),
         "%d connections from 127.0.0.2 (%d + %d on the two listeners) "
         "open" % (per_addr, half, per_addr - half))
    over = [Conn("127.0.0.2", a.http_port),
            Conn("127.0.0.2", a.tls_port, ctx, handshake=False)]
    watch(over, 0.8)
    ages = [c.age_at_close() for c in over]
    case("per_addr_cap_over", all(x is not None and x < 0.8 for x in ages),
         "connection %d from 127.0.0.2 closed at once on both listeners "
         "(%s)" % (per_addr + 1, ", ".join("%.3f s" % x if x is not None
                                           else "open" for x in ages)))
    p = Probe(a.http_port, a.tls_port, ctx)
    try:
        t1, t2 = p.one(False), p.one(True)
    except Exception as e:   # noqa: BLE001
        fail("per_addr_cap_other_served: %r" % e)
    case("per_addr_cap_other_served", True,
         "127.0.0.1 served meanwhile: 200 in %.1f and %.1f ms" %
         (t1 * 1000, t2 * 1000))
    other = Conn("127.0.0.3", a.http_port)
    watch([other], 0.3)
    case("per_addr_cap_is_per_address", other.closed_at is None,
         "127.0.0.3 still gets a connection")
    other.close()
    for c in conns + over:
        c.close()
    tail = b"\n".join(d.log_tail(log0))
    case("per_addr_cap_logged", b"(http_max_conns_per_addr)" in tail,
         "the log names http_max_conns_per_addr")
    # the closed ones are counted off: 127.0.0.2 may connect again
    time.sleep(0.3)
    again = [Conn("127.0.0.2", a.http_port) for _ in range(per_addr)]
    watch(again, 0.3)
    case("per_addr_cap_released", all(c.closed_at is None for c in again),
         "%d new connections from 127.0.0.2 once the others closed" %
         per_addr)
    for c in again:
        c.close()
    health(a, ctx, "caps")
    return {"phase": "caps"}


def storm(a, ctx, n, srcs):
    conns = []
    for i in range(n):
        src = srcs[i % len(srcs)]
        tls = i % 2 == 1
        try:
            c = Conn(src, a.tls_port if tls else a.http_port,
                     ctx if tls else None)
        except OSError:
            continue
        c.send(HEAD[:20])
        conns.append(c)
    return conns


def phase_storms(a, ctx, d, rounds=5, n=600):
    """Five storms of slow connections from 20 addresses (half TLS, with
    handshakes) that leave at once: RSS after each, once the daemon's
    one-second tick has seen them gone."""
    srcs = ["127.0.1.%d" % i for i in range(1, 21)]
    rss = [d.rss_kb()]
    peak = 0
    for r in range(rounds):
        log0 = d.log_lines()
        conns = storm(a, ctx, n, srcs)
        watch(conns, 0.2)
        peak = max(peak, d.rss_kb())
        for c in conns:
            c.close()
        end = time.monotonic() + 4
        while time.monotonic() < end and not any(
                b"returned freed memory" in x for x in d.log_tail(log0)):
            time.sleep(0.05)
        rss.append(d.rss_kb())
        print("storm %d: %d connections, RSS %d kB" % (r + 1, len(conns),
                                                      rss[-1]), flush=True)
    grew = rss[-1] - rss[1]
    back = (peak - rss[-1]) / max(1, peak - rss[0])
    what = ("RSS before %d kB, peak %d kB, after storms 1..%d: %s kB (%+d kB "
            "from the first; %.0f%% of the storm's growth returned)" %
            (rss[0], peak, rounds, " ".join(str(x) for x in rss[1:]), grew,
             100 * back))
    if a.sanitized:
        # ASan's allocator and quarantine, not glibc's malloc: what
        # malloc_trim returns is not what this build measures
        case("rss_after_storms", True, what + " (sanitizer build: not "
             "asserted)")
    else:
        case("rss_after_storms", grew < 4096 and back >= 0.3, what)
    health(a, ctx, "storms")
    return {"phase": "storms", "rss_kb": rss, "peak_kb": peak}


def pressure_conns(a, ctx, srcs, per_src):
    conns = []
    for src in srcs:
        for i in range(per_src):
            tls = i % 3 == 2
            try:
                conns.append(Conn(src, a.tls_port if tls else a.http_port,
                                  ctx if tls else None, timeout=2))
            except OSError:
                pass
    return conns


def phase_pressure(a, ctx, d, cap):
    """More slow connections (from four addresses) than the descriptor
    limit leaves: the oldest waiting ones make room, the probe is served
    and the daemon does not spin."""
    base = baseline(a, ctx)
    log0 = d.log_lines()
    probe = Probe(a.http_port, a.tls_port, ctx)
    cpu0, t0 = d.cpu_s(), time.monotonic()
    probe.start()
    srcs = ["127.0.0.%d" % i for i in (3, 4, 5, 6)]
    conns = pressure_conns(a, ctx, srcs, 60)
    # keep them slow: a byte each half second, until their deadline
    watch(conns, a.deadline - 0.2, drip=HEAD, every=0.5)
    fds = d.nfds()
    stats = probe.finish()
    cpu = (d.cpu_s() - cpu0) / (time.monotonic() - t0)
    for c in conns:
        c.close()
    tail = b"\n".join(d.log_tail(log0))
    nlines = len([x for x in d.log_tail(log0) if x and
                  b" info: " not in x])    # libevent's own lines too
    case("pressure_descriptors", fds <= a.nofile,
         "%d slow connections from 4 addresses, cap %d: daemon at %d of "
         "%d descriptors" % (len(conns), cap, fds, a.nofile))
    case("pressure_make_room", b"(http_max_conns)" in tail,
         "oldest waiting connections closed to make room (logged)")
    case("pressure_probe_p99", p99_ok(stats, base),
         "probe from 127.0.0.1: %d requests, p50 %s ms, p99 %s ms, %d "
         "errors %s (reference without attackers: p50 %s ms, p99 %s ms)" %
         (stats["n"], stats.get("p50_ms"), stats.get("p99_ms"),
          stats["errors"], stats.get("first_errors", ""),
          base.get("p50_ms"), base.get("p99_ms")))
    case("pressure_cpu", cpu < 0.5,
         "daemon CPU %.0f%% of a core during the pressure" % (cpu * 100))
    case("pressure_log_not_flooded", nlines <= 10,
         "%d lines above info during the pressure (request lines aside)" %
         nlines)
    health(a, ctx, "pressure")
    return {"phase": "pressure", "probe": stats, "reference": base,
            "cpu": round(cpu, 3),
            "log_lines": nlines, "conns": len(conns), "fds": fds}


def phase_emfile(a, ctx, d):
    """No reserve: accept() fails with EMFILE.  The listener pauses, the
    CPU stays low, the log says so once per interval, and the daemon
    serves again when the slow connections are gone."""
    log0 = d.log_lines()
    srcs = ["127.0.0.%d" % i for i in (7, 8, 9, 10, 11, 12)]
    conns = []
    for src in srcs:
        for i in range(50):
            try:
                conns.append(Conn(src, a.http_port, timeout=2))
            except OSError:
                pass
    cpu0, t0 = d.cpu_s(), time.monotonic()
    watch(conns, 1.5, drip=HEAD, every=0.5)
    cpu = (d.cpu_s() - cpu0) / (time.monotonic() - t0)
    tail = b"\n".join(d.log_tail(log0))
    nacc = tail.count(b"accept() on")
    nlines = len([x for x in d.log_tail(log0) if x and
                  b" info: " not in x])    # libevent's own lines too
    case("emfile_cpu", cpu < 0.15,
         "daemon CPU %.0f%% of a core while accept() fails" % (cpu * 100))
    case("emfile_paused", b"Too many open files" in tail and
         1 <= nacc <= 3 and nlines <= 10,
         "%d log lines say accept() failed (Too many open files) for %d "
         "connections; %d lines above info in all" % (nacc, len(conns), nlines))
    for c in conns:
        c.close()
    # served again once the descriptors are back
    t1 = time.monotonic()
    p = Probe(a.http_port, a.tls_port, ctx)
    while True:
        try:
            p.one(False)
            break
        except Exception:   # noqa: BLE001 - retried until the deadline
            if time.monotonic() - t1 > a.deadline + 4:
                fail("emfile_recovers: not served within %.0f s" %
                     (a.deadline + 4))
            time.sleep(0.1)
    case("emfile_recovers", True, "served %.2f s after the clients left" %
         (time.monotonic() - t1))
    health(a, ctx, "emfile")
    return {"phase": "emfile", "cpu": round(cpu, 3), "accept_lines": nacc,
            "log_lines": nlines, "conns": len(conns)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase")
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--tls-port", type=int, required=True)
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--deadline", type=float, default=2)
    ap.add_argument("--per-addr", type=int, default=64)
    ap.add_argument("--cap", type=int, default=0)
    ap.add_argument("--nofile", type=int, default=0)
    ap.add_argument("--results")
    ap.add_argument("--sanitized", action="store_true")
    a = ap.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca)
    d = Daemon(a.pid, a.log)
    global SANITIZED
    SANITIZED = a.sanitized
    if a.phase == "deadlines":
        res = phase_deadlines(a, ctx, d)
    elif a.phase == "caps":
        res = phase_caps(a, ctx, d, a.per_addr)
    elif a.phase == "storms":
        res = phase_storms(a, ctx, d)
    elif a.phase == "pressure":
        res = phase_pressure(a, ctx, d, a.cap)
    elif a.phase == "emfile":
        res = phase_emfile(a, ctx, d)
    else:
        fail("unknown phase " + a.phase)
    res["cases"] = len(CASES)
    if a.results:
        with open(a.results, "a") as f:
            f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
