# SPDX-License-Identifier: MIT
"""A server for the client's framing paths: /chunked answers keep-alive with
a chunked body written in pieces (sizes in hex, an extension, a trailer);
/eof answers HTTP/1.1 without Content-Length and ends the body by closing;
/badchunk sends a chunk size that is not hex (and then waits).
Each body is b"x" * 3000 + b"\n" (3001 bytes).   framing_server.py PORT"""
import socket
import sys
import threading

BODY = b"x" * 3000 + b"\n"


def serve(conn):
    buf = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, buf = buf.split(b"\r\n\r\n", 1)
            path = head.split(b" ")[1]
            if path == b"/chunked":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for i in range(0, len(BODY), 1000):
                    part = BODY[i:i + 1000]
                    conn.sendall(b"%x;ext=1\r\n" % len(part) + part + b"\r\n")
                conn.sendall(b"0\r\nX-Trailer: t\r\n\r\n")
            elif path == b"/badchunk":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BODY)
                return


lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", int(sys.argv[1])))
lsock.listen(128)
while True:
    c, _ = lsock.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
