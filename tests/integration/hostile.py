"""hostile.py: raw HTTP/1.1 clients for the hostile-input integration tests.

A case is bytes sent as they are (over TCP, or TLS with the bridge's root
as the only trust anchor) and the exact outcome expected: the statuses of
the final answers in order, and whether the bridge then closes the
connection.  Nothing here is a mock: it speaks to the real daemon as an
attacker would, with the ssl module and plain sockets.

    from hostile import Listener, Case, run_cases
    https = Listener("https", "127.0.0.1", 8443, cafile="data/ca/root.pem")
    run_cases(https, [Case("dup_cl", b"POST ...", [400], close=True)])

run_cases prints one line per case and returns the failures; summary()
prints the (case, status) table.
"""
import json
import socket
import ssl
import time

READ_TIMEOUT = 5.0      # seconds for an answer that should come
CLOSE_WAIT = 3.0        # seconds for a close that should come
OPEN_WAIT = 0.1         # seconds a kept-alive connection must stay open


class Listener:
    """Where to connect: name ("https"/"http"), address, port, and for TLS
    the CA file that must verify the bridge's certificate."""

    def __init__(self, name, host, port, cafile=None):
        self.name, self.host, self.port, self.cafile = name, host, port, cafile
        self.ctx = None
        if cafile is not None:
            self.ctx = ssl.create_default_context(cafile=cafile)
            self.ctx.check_hostname = False

    def connect(self, timeout=READ_TIMEOUT):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ctx is not None:
            s = self.ctx.wrap_socket(s, server_hostname=self.host)
        return s


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json_error(self):
        """The error code of a JSON error body, or None."""
        try:
            doc = json.loads(self.body.decode("utf-8"))
            return doc["error"]["code"] if isinstance(doc["error"]["message"], str) else None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None


class Conn:
    """One connection with a parser of the answers on it."""

    def __init__(self, listener):
        self.sock = listener.connect()
        self.buf = b""
        self.eof = False
        self.reset = False

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.reset = True

    def _fill(self, deadline):
        if self.eof:
            return False
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, ssl.SSLError, OSError):
            self.eof = self.reset = True
            return False
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def answer(self, timeout=READ_TIMEOUT, head_request=False):
        """The next answer (interim 1xx ones included), or None."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if time.monotonic() >= deadline or not self._fill(deadline):
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        try:
            status = int(lines[0].split(b" ")[1])
        except (IndexError, ValueError):
            return Answer(-1, {}, head)
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
        n = 0 if (status < 200 or head_request) else int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            if time.monotonic() >= deadline or not self._fill(deadline):
                break
        body, self.buf = self.buf[:n], self.buf[n:]
        return Answer(status, headers, body)

    def closed(self, timeout=CLOSE_WAIT):
        """True when the bridge closes the connection within timeout
        (bytes that come first are kept in buf)."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._fill(deadline)
        return self.eof

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Case:
    """name; data: bytes, or a list of bytes sent one after another with
    pause seconds between them; expect: the final statuses in order;
    close: the bridge must close after them (None: do not check);
    json: every error answer must be the API's JSON error shape;
    code: the JSON error code of the last answer, when given;
    cont: a 100 Continue must precede the final answer (True) or must
    not (False), then body is sent (None: do not check); text: the last
    answer is one line of text/plain (EST's and OCSP's errors), not JSON."""

    def __init__(self, name, data, expect, close=None, json=True, code=None,
                 cont=None, body=b"", pause=0.05, head=False, text=False):
        self.name, self.data, self.expect = name, data, list(expect)
        self.text = text
        if text:
            json = False
        self.close, self.json, self.code, self.cont = close, json, code, cont
        self.body, self.pause, self.head = body, pause, head


RESULTS = []            # (listener, case, statuses, closed, verdict)


def run_case(listener, case):
    """Runs one case; returns None when it passed, else why not."""
    c = Conn(listener)
    got, why = [], None
    try:
        parts = case.data if isinstance(case.data, list) else [case.data]
        for i, p in enumerate(parts):
            if i:
                time.sleep(case.pause)
            c.send(p)
        saw_continue = False
        while len(got) < len(case.expect):
            a = c.answer(head_request=case.head)
            if a is None:
                break
            if a.status == 100:
                saw_continue = True
                if case.body:
                    c.send(case.body)
                continue
            got.append(a)
            if a.status >= 400 and case.json and a.json_error() is None:
                why = "answer %d is not a JSON error: %r" % (a.status, a.body[:120])
        statuses = [a.status for a in got]
        closed = c.closed(CLOSE_WAIT if case.close else OPEN_WAIT)
        if why is None and statuses != case.expect:
            why = "statuses %s, want %s" % (statuses, case.expect)
        elif why is None and case.close is True and not closed:
            why = "connection left open"
        elif why is None and case.close is False and closed:
            why = "connection closed"
        elif why is None and case.code is not None and got[-1].json_error() != case.code:
            why = "error code %r, want %r" % (got[-1].json_error(), case.code)
        elif why is None and case.text and not (
                got[-1].headers.get("content-type", "").startswith("text/plain")
                and got[-1].body.count(b"\n") == 1 and got[-1].body.endswith(b"\n")):
            why = "not one line of text: %r %r" % (got[-1].headers.get("content-type"), got[-1].body[:120])
        elif why is None and case.cont is not None and saw_continue != case.cont:
            why = "100 Continue %s" % ("missing" if case.cont else "sent")
        for a in got:
            if 500 <= a.status < 600 and a.status not in (501, 505):
                why = why or "a 5xx: %d %r" % (a.status, a.body[:120])
    finally:
        c.close()
    RESULTS.append((listener.name, case.name, [a.status for a in got],
                    c.eof, why or "ok"))
    return why


def run_cases(listener, cases, log=print):
    """Runs cases against listener; returns the failed ones' (name, why)."""
    failed = []
    for case in cases:
        why = run_case(listener, case)
        log("%-6s %-44s %s" % (listener.name, case.name, why or "ok"))
        if why:
            failed.append((case.name, why))
    return failed


def probe(listener, path, want=200):
    """A health probe: GET path answers want on a fresh connection.
    Returns the seconds it took, or raises AssertionError."""
    t0 = time.monotonic()
    c = Conn(listener)
    try:
        c.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: probe\r\n\r\n")
        a = c.answer()
    finally:
        c.close()
    if a is None or a.status != want:
        raise AssertionError("probe %s %s: %s" % (listener.name, path,
                             a.status if a else "no answer"))
    return time.monotonic() - t0


def summary(log=print):
    """The table of every case run: listener, case, statuses, closed."""
    log("%-6s %-44s %-14s %-6s %s" % ("where", "case", "status", "closed", "verdict"))
    for where, name, st, closed, verdict in RESULTS:
        log("%-6s %-44s %-14s %-6s %s" % (where, name,
            ",".join(str(s) for s in st) or "-", "yes" if closed else "no", verdict))
