# SPDX-License-Identifier: MIT
# A real IPv6 client and server on [::1]: the client closes N connections
# first (N client-side TIME_WAIT to [::1]:PORT), then 4 more connections'
# clients close and the server holds them (CLOSE_WAIT, the far ends in
# FIN_WAIT2 on this host). Writes its pid to READYFILE when both are there.
#   v6_piles.py PORT N READYFILE
import os, socket, sys, time

port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
srv = socket.socket(socket.AF_INET6)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("::1", port))
srv.listen(128)
for _ in range(n):
    c = socket.create_connection(("::1", port))
    a = srv.accept()[0]
    c.close()          # the client's FIN first: its side keeps TIME_WAIT
    a.recv(1)
    a.close()
held = []
for _ in range(4):
    c = socket.create_connection(("::1", port))
    held.append(srv.accept()[0])
    c.close()
time.sleep(0.2)  # the FINs arrive
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(ready + ".tmp", ready)
time.sleep(3600)
