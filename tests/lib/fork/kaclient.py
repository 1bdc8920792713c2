# SPDX-License-Identifier: MIT
# HTTP/1.1 keep-alive clients that idle: every GAP seconds a batch of N new
# connections, each sends REQS requests (one at a time, reading each
# answer) and then idles; a connection the server closes is closed here as
# soon as its FIN is read (as a pooled client does), so the server's end
# goes to TIME_WAIT. A connection idle for IDLE seconds is closed by the
# client itself (its end then goes to TIME_WAIT). Runs SECONDS in all.
#   kaclient.py PORT N GAP REQS IDLE SECONDS
import selectors
import socket
import sys
import time

port, n, gap = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
reqs, idle, total = int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
REQ = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
sel = selectors.DefaultSelector()
conns = {}  # socket -> [requests left, time of the last answer, buffer]


def answered(buf):
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    return rest[length:] if len(rest) >= length else None


def batch():
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(REQ)
        conns[s] = [reqs - 1, None, b""]
        sel.register(s, selectors.EVENT_READ)


def drop(s):
    sel.unregister(s)
    s.close()
    del conns[s]


start = time.time()
next_batch = start
while time.time() < start + total:
    now = time.time()
    if now >= next_batch:
        batch()
        next_batch += gap
    for s, st in list(conns.items()):
        if st[1] is not None and now - st[1] >= idle:
            drop(s)
    for key, _ in sel.select(timeout=0.02):
        s = key.fileobj
        data = s.recv(65536)
        if not data:
            drop(s)
            continue
        st = conns[s]
        st[2] += data
        rest = answered(st[2])
        if rest is None:
            continue
        st[2] = rest
        if st[0] > 0:
            st[0] -= 1
            s.sendall(REQ)
        else:
            st[1] = time.time()
