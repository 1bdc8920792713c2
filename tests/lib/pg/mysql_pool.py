# SPDX-License-Identifier: MIT
# A pool of N PyMySQL connections (PyMySQL has none: a list, the way small
# apps pool), each used once (SELECT 1) then left idle.
#   mysql_pool.py HOST PORT N [MAX_IDLE_S]
# With MAX_IDLE_S, connections idle longer than that are closed (checked
# every MAX_IDLE_S / 4). Prints "ready" once all N were used; exits after 60 s.
import sys, time
import pymysql

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
max_idle = float(sys.argv[4]) if len(sys.argv) > 4 else None
pool = []
for _ in range(n):
    c = pymysql.connect(host=host, port=port, user="root", password="", connect_timeout=5)
    with c.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    pool.append((c, time.monotonic()))
print("ready", flush=True)
end = time.monotonic() + 60
while time.monotonic() < end:
    if max_idle is None:
        time.sleep(1)
        continue
    time.sleep(max_idle / 4)
    now = time.monotonic()
    keep = []
    for c, used in pool:
        if now - used > max_idle:
            c.close()
        else:
            keep.append((c, used))
    pool = keep
