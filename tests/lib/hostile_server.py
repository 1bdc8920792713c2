# SPDX-License-Identifier: MIT
"""Small hostile HTTP servers for load and probe's error paths.
   hostile_server.py PORT MODE
MODE: garbage  answers every request with bytes that are not HTTP
      rst      resets each connection as soon as it is accepted (SO_LINGER 0)
      fin      reads the request, closes without answering
      extra    a complete response and 5 more bytes in the same segment
      slow     keep-alive, each response 1 s after its request
      silent   accepts, reads, never answers
      early    keep-alive announcing Keep-Alive: timeout=5, but closes idle
               connections after 1 s (as Apache under worker pressure)
      interim  answers with an endless stream of 100 Continue heads
      bighead  a status line, then header lines that never end
      chunklie a chunked head, part of a chunk, then FIN; and (second
               request on) a chunk size that is not hex"""
import socket
import struct
import sys
import threading
import time

PORT, MODE = int(sys.argv[1]), sys.argv[2]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"


def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def serve(conn):
    buf = b""
    with conn:
        if MODE == "rst":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if MODE == "early":
            conn.settimeout(1)
        while True:
            try:
                head, buf = read_head(conn, buf)
            except socket.timeout:
                return
            if head is None:
                return
            if MODE == "garbage":
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\x00\xff garbage\r\n\r\n")
            elif MODE == "fin":
                return
            elif MODE == "extra":
                conn.sendall(OK + b"EXTRA")
            elif MODE == "slow":
                time.sleep(1)
                conn.sendall(OK)
            elif MODE == "early":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nKeep-Alive: timeout=5\r\n\r\nok\n")
            elif MODE == "silent":
                time.sleep(3600)
            elif MODE == "bighead":
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    while True:
                        conn.sendall(b"X-Filler: " + b"y" * 1000 + b"\r\n")
                except OSError:
                    return
            elif MODE == "chunklie":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\nabc")
                return
            elif MODE == "interim":
                try:
                    while True:
                        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 100)
                except OSError:
                    return


lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", PORT))
lsock.listen(128)
while True:
    c, _ = lsock.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
