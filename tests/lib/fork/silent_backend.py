# SPDX-License-Identifier: MIT
# A backend that accepts and never answers: silent_backend.py PORT SECONDS
import socket
import sys
import time

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
held = []
end = time.time() + float(sys.argv[2])
s.settimeout(0.2)
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
