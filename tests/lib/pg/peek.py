# SPDX-License-Identifier: MIT
# peek.py PID FD: prints what waits in the receive queue of another
# process's socket, without taking it (pidfd_getfd + MSG_PEEK), as
# "LEN TEXT" (NUL printed as |, other unprintable bytes as .). Needs ptrace rights over PID (root) and Linux >= 5.6.
import ctypes, os, socket, sys

libc = ctypes.CDLL(None, use_errno=True)
SYS_pidfd_getfd = 438
pid, fd = int(sys.argv[1]), int(sys.argv[2])
pfd = os.pidfd_open(pid)
n = libc.syscall(SYS_pidfd_getfd, pfd, fd, 0)
if n < 0:
    sys.exit("pidfd_getfd: errno %d" % ctypes.get_errno())
s = socket.socket(fileno=n)
data = s.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT)
s.close()
text = "".join("|" if b == 0 else chr(b) if 32 <= b < 127 else "." for b in data)
print(len(data), text)
