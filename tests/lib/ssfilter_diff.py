# SPDX-License-Identifier: MIT
# Differential test of closer's filter language against ss: N random
# filters (state/exclude words, mixed and/or/juxtaposition, not, nesting,
# every port operator, both families, prefixes down to /0, v4-mapped),
# each run by `ss -Htan FILTER` and `closer states -H FILTER` on the same
# table; the (local, peer) rows must be the same. A filter ss refuses is
# not compared. A differing filter is run once more (a socket may have
# changed state between the two calls) before it counts.
# The table lives ~60 s, so a run compares what it can in 40 s and says
# where it stopped: the caller starts a fresh table and goes on from there
# (SKIP: filters already compared; the same SEED gives the same filters).
#   python3 ssfilter_diff.py CLOSER N SEED [SKIP]
import random, subprocess, sys, time

closer, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
skip = int(sys.argv[4]) if len(sys.argv) > 4 else 0
rnd = random.Random(seed)
STATES = ["established", "syn-sent", "syn-recv", "syn-rcv", "fin-wait-1", "fin-wait-2",
          "time-wait", "closed", "close", "unconnected", "close-wait", "last-ack",
          "listening", "closing", "all", "connected", "synchronized", "bucket", "big"]
PORTS = [8000, 8100, 8200, 8010, 8011, 8012, 8013, 8110, 8111, 8112, 8113, 1, 65535, 8050, 40000]
OPS = ["", "=", "==", "eq", "!=", "ne", "neq", "<", "lt", ">", "gt", "<=", "le", ">=", "ge"]
HOSTS = ["127.0.0.1", "127.0.0.0/8", "0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "127.0.0.2",
         "10.0.0.0/8", "0.0.0.0", "0.0.0.0/8", "127.0.0.1/31", "::/0", "::/1", "::1/128",
         "[::1]", "[::1]/127", "[::ffff:127.0.0.1]", "[::]", "[::]/0",
         "*", ":{p}", "*:{p}", "127.0.0.1:{p}", "[::1]:{p}", "127.0.0.0/8:{p}"]

def cond():
    k = rnd.random()
    if k < 0.45:
        port = rnd.choice(PORTS)
        w = rnd.choice([":%d" % port, "%d" % port])
        op = rnd.choice(OPS)
        return [rnd.choice(["sport", "dport"])] + ([op] if op else []) + [w]
    h = rnd.choice(HOSTS).replace("{p}", str(rnd.choice(PORTS)))
    return [rnd.choice(["src", "dst"])] + rnd.choice([[], ["="], ["eq"]]) + [h]

def expr(depth):
    if depth <= 0 or rnd.random() < 0.3:
        c = cond()
    elif rnd.random() < 0.4:
        c = ["("] + expr(depth - 1) + [")"]
    else:
        c = expr(depth - 1)
        for _ in range(rnd.randint(1, 3)):
            j = rnd.choice(["and", "or", "&&", "||", "&", "|", "", "or", "and"])
            c = c + ([j] if j else []) + expr(depth - 1)
    if rnd.random() < 0.2:
        c = [rnd.choice(["not", "!"])] + c
    return c

def filt():
    words = []
    for _ in range(rnd.choice([0, 0, 1, 1, 2, 3])):
        words += [rnd.choice(["state", "exclude", "excl"]), rnd.choice(STATES)]
    if rnd.random() < 0.85:
        words += expr(rnd.randint(0, 3))
    return words

def rows(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    out = set()
    for line in p.stdout.splitlines():
        f = line.split()
        if not f:
            continue
        off = 0 if f[0][0].isdigit() else 1     # ss drops State with one state
        local, peer = f[2 + off], f[3 + off]
        if peer.endswith(":*"):
            peer = "*"
        if local.startswith("*:"):               # ss: a dual-stack [::] listener
            local = "[::]" + local[1:]
        out.add((local, peer))
    return p.returncode, out

compared = refused = differ = mixed = 0
deadline = time.monotonic() + 40   # the table lives ~60 s (TIME-WAIT, SYN-RECV)
done = skip
for i in range(n):
    w = filt()
    if i < skip:
        continue
    if time.monotonic() > deadline:
        break
    done = i + 1
    src, a = rows(["ss", "-Htan"] + w)
    if src != 0:
        refused += 1
        continue
    rc, b = rows([closer, "states", "-H"] + w)
    if a != b:
        src, a = rows(["ss", "-Htan"] + w)
        rc, b = rows([closer, "states", "-H"] + w)
    compared += 1
    mixed += ("or" in w or "|" in w or "||" in w) and ("and" in w or "&" in w or "&&" in w)
    if a != b or rc != 0:
        differ += 1
        if differ <= 5:
            print("DIFF rc=%d [%s]\n  ss only: %s\n  closer only: %s" %
                  (rc, " ".join(w), sorted(a - b)[:4], sorted(b - a)[:4]))
print("compared %d refused_by_ss %d differ %d mixed_and_or %d done %d" %
      (compared, refused, differ, mixed, done))
