# SPDX-License-Identifier: MIT
# A real process whose name is not UTF-8: it renames itself with
# prctl(PR_SET_NAME) to the hex bytes in argv[1] (the kernel keeps 15),
# then holds N accepted connections in CLOSE_WAIT (their clients closed,
# it never does). Writes its pid to argv[4] when the pile is in place.
# SIGUSR1 closes them (in this process's context, while its name is set).
#   oddname_server.py HEXNAME PORT N READYFILE
import ctypes, signal, socket, sys, time

name = bytes.fromhex(sys.argv[1])
port, n, ready = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(15, ctypes.c_char_p(name[:15]), 0, 0, 0) != 0:  # PR_SET_NAME
    sys.exit("prctl failed")
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
held = []
for _ in range(n):
    c = socket.create_connection(("127.0.0.1", port))
    held.append(srv.accept()[0])
    c.close()
time.sleep(0.2)  # the FINs arrive
signal.signal(signal.SIGUSR1, lambda *_: [c.close() for c in held])
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % __import__("os").getpid())
__import__("os").rename(ready + ".tmp", ready)
time.sleep(3600)
