# SPDX-License-Identifier: MIT
# A psycopg2 ThreadedConnectionPool of N connections, each used once
# (SELECT 1) and returned, then left idle: the state of a web app's pool
# between bursts. One thread; every socket is outgoing.
#   psycopg2_pool.py DSN N [MAX_IDLE_S]
# With MAX_IDLE_S the pool gets what psycopg2's pools lack: connections
# idle longer than MAX_IDLE_S are closed (the knob to set below the
# server's idle_session_timeout), checked every MAX_IDLE_S / 4.
# Prints "ready" once all N were used; exits after 60 s.
import sys, time
import psycopg2.pool

dsn, n = sys.argv[1], int(sys.argv[2])
max_idle = float(sys.argv[3]) if len(sys.argv) > 3 else None
pool = psycopg2.pool.ThreadedConnectionPool(n, n, dsn)
conns = [pool.getconn() for _ in range(n)]
for c in conns:
    with c.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    c.rollback()
last_used = {}
for c in conns:
    pool.putconn(c)
    last_used[id(c)] = time.monotonic()
print("ready", flush=True)
end = time.monotonic() + 60
while time.monotonic() < end:
    if max_idle is None:
        time.sleep(1)
        continue
    time.sleep(max_idle / 4)
    now = time.monotonic()
    # the idle reaper: close what idled past max_idle (psycopg2's pool
    # keeps the idle ones in pool._pool)
    for c in list(pool._pool):
        if now - last_used.get(id(c), now) > max_idle:
            pool._pool.remove(c)
            c.close()
