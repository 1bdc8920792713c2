#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# capture.py PORT OUTFILE REQUEST [QUIET_S]: sends REQUEST (\r\n written as the two
# characters backslash-r backslash-n, \n likewise) and writes every byte the
# server sends until it closes or stays quiet for QUIET_S (0.8) s.
import socket, sys
port, out, req = int(sys.argv[1]), sys.argv[2], sys.argv[3]
req = req.encode().decode('unicode_escape').encode('latin-1')
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(float(sys.argv[4]) if len(sys.argv) > 4 else 0.8)
s.sendall(req)
data = b""
while True:
    try:
        b = s.recv(65536)
    except socket.timeout:
        break
    if not b:
        break
    data += b
s.close()
open(out, "wb").write(data)
