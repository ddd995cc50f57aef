#!/usr/bin/env python3
"""notify_listen.py SOCKET LOG [HOST:PORT ...]: systemd's side of sd_notify.

Binds an AF_UNIX datagram socket at SOCKET (what NOTIFY_SOCKET names for a
Type=notify service) with SO_PASSCRED, as systemd does, and for every
datagram appends one line to LOG:

    pid=PID probes=OK|FAIL:HOST:PORT,... msg=READY=1|STATUS=serving

PID is the sender's process id from the kernel's credentials (systemd
takes a notification only from the unit's main process).  On a READY=1
message it first connects to every HOST:PORT given: READY=1 must mean
the listeners accept connections *now*.  Runs until SIGTERM.
"""
import os
import signal
import socket
import struct
import sys


def probe(addrs):
    bad = []
    for a in addrs:
        host, port = a.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect((host, int(port)))
        except OSError:
            bad.append(a)
        finally:
            s.close()
    return "OK" if not bad else "FAIL:" + ",".join(bad)


def main():
    path, log, addrs = sys.argv[1], sys.argv[2], sys.argv[3:]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind(path)
    # as systemd's /run/systemd/notify: a service that dropped to its
    # user must still reach it
    os.chmod(path, 0o777)
    with open(log, "a", buffering=1) as out:
        out.write("listening\n")
        while True:
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
            pid = -1
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", data[:12])[0]
            text = msg.decode("utf-8", "replace")
            probes = probe(addrs) if "READY=1" in text.split("\n") else "-"
            out.write("pid=%d probes=%s msg=%s\n" % (pid, probes, text.replace("\n", "|")))


if __name__ == "__main__":
    main()
