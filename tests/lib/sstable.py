# SPDX-License-Identifier: MIT
# Builds, in the (private) namespace it runs in, a TCP table with every
# state ss can filter on, over IPv4, IPv6 and v4-mapped IPv6: LISTEN,
# ESTAB, SYN-SENT, SYN-RECV, FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSE-WAIT,
# LAST-ACK. Lost packets are made with nft (table inet sstable). Touches
# "READY" then holds the sockets until killed.
#   python3 sstable.py READY_FILE
import os, socket, subprocess, sys, time

def nft(rule):
    subprocess.run(["nft", rule], check=True)

def listener(fam, host, port, backlog=64):
    l = socket.socket(fam)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((host, port))
    l.listen(backlog)
    return l

def pair(l, fam, host, port, cport=0):
    c = socket.socket(fam)
    if cport:
        c.bind((host if fam == socket.AF_INET else host, cport))
    c.connect((host, port))
    a, _ = l.accept()
    return c, a

keep = []
nft("add table inet sstable")
nft("add chain inet sstable out { type filter hook output priority 0; }")
for fam, host, base in ((socket.AF_INET, "127.0.0.1", 8000), (socket.AF_INET6, "::1", 8100)):
    l = listener(fam, host, base)
    keep.append(l)
    for i in range(3):                       # ESTAB
        keep += pair(l, fam, host, base)
    for i in range(4):                       # TIME-WAIT on the client
        c, a = pair(l, fam, host, base)
        a.shutdown(socket.SHUT_WR); c.recv(1); c.close(); a.close()
    for i in range(3):                       # FIN-WAIT-2 and CLOSE-WAIT
        c, a = pair(l, fam, host, base)
        c.shutdown(socket.SHUT_WR); keep += [c, a]
    # LAST-ACK: the server's FIN never reaches the client (FIN-WAIT-2)
    lp = base + 10
    c, a = pair(l, fam, host, base, lp)
    c.shutdown(socket.SHUT_WR); time.sleep(0.05)
    nft("add rule inet sstable out tcp dport %d drop" % lp)
    a.close(); keep.append(c)
    # FIN-WAIT-1: the client's FIN is never acknowledged (CLOSE-WAIT)
    fp = base + 11
    c, a = pair(l, fam, host, base, fp)
    nft("add rule inet sstable out tcp dport %d drop" % fp)
    c.shutdown(socket.SHUT_WR); keep += [c, a]
    # SYN-SENT: nothing answers
    sp = base + 12
    nft("add rule inet sstable out tcp dport %d drop" % sp)
    for i in range(2):
        c = socket.socket(fam); c.setblocking(False)
        try: c.connect((host, sp))
        except BlockingIOError: pass
        keep.append(c)
    # SYN-RECV: the client's last ACK of the handshake is lost
    rp = base + 13
    keep.append(listener(fam, host, rp))
    nft("add rule inet sstable out tcp dport %d tcp flags & (syn | ack) == ack drop" % rp)
    for i in range(2):
        c = socket.socket(fam); c.setblocking(False)
        try: c.connect((host, rp))
        except BlockingIOError: pass
        keep.append(c)
# v4-mapped: an IPv6 socket on every address, reached over IPv4
l = listener(socket.AF_INET6, "::", 8200)
keep.append(l)
for i in range(3):
    keep += pair(l, socket.AF_INET, "127.0.0.1", 8200)
c, a = pair(l, socket.AF_INET, "127.0.0.1", 8200)
a.shutdown(socket.SHUT_WR); c.recv(1); c.close(); a.close()
open(sys.argv[1], "w").close()
time.sleep(600)
