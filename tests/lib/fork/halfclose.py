# SPDX-License-Identifier: MIT
# N clients: each connects, sends one HTTP request and shuts down its write
# side (FIN), then holds the socket; "ready" once all have.
#   halfclose.py PORT N SECONDS [PATH]
import socket
import sys
import time

port, n, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
path = sys.argv[4] if len(sys.argv) > 4 else "/"
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode())
    s.shutdown(socket.SHUT_WR)
    socks.append(s)
print("ready", flush=True)
time.sleep(hold)
