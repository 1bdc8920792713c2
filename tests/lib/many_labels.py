# SPDX-License-Identifier: MIT
# Many distinct label values for the exporter, in the namespace it runs in:
# NLISTEN listeners on 127.0.0.1 from port 20000, a connection to each of the
# first NCONN (as many server ports and client destinations), and NPROC
# child processes with distinct names (leaky00, leaky01...) each holding a
# socket in CLOSE_WAIT. Touches READY, then holds everything until killed
# (the children die with it: PR_SET_PDEATHSIG).
#   python3 many_labels.py READY NLISTEN NCONN NPROC
import ctypes, os, signal, socket, sys, time

ready, nlisten, nconn, nproc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
libc = ctypes.CDLL(None)
PR_SET_PDEATHSIG, PR_SET_NAME = 1, 15
ls = []
for p in range(20000, 20000 + nlisten):
    l = socket.socket()
    l.bind(("127.0.0.1", p))
    l.listen(8)
    ls.append(l)
keep = []
for l in ls[:nconn]:
    c = socket.create_connection(l.getsockname())
    a, _ = l.accept()
    keep += [c, a]
srv = ls[-1]
for i in range(nproc):
    r, w = os.pipe()
    if os.fork() == 0:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(PR_SET_NAME, ("leaky%02d" % i).encode(), 0, 0, 0)
        c = socket.create_connection(srv.getsockname())
        os.write(w, b"x")
        time.sleep(600)
        os._exit(0)
    os.read(r, 1)
    a, _ = srv.accept()
    a.close()          # the child's end goes to CLOSE_WAIT, and stays
open(ready, "w").close()
time.sleep(600)
