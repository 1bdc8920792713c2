# SPDX-License-Identifier: MIT
# A psycopg 3 psycopg_pool.ConnectionPool(min_size=0, max_size=N,
# max_idle=MAX_IDLE): N connections used at once (SELECT 1), returned,
# then left idle. Its ShrinkPool task closes one idle connection above
# min_size every max_idle seconds.
#   psycopg_pool_idle.py DSN N MAX_IDLE_S
# Prints "ready" once all N were used; exits after 60 s.
import sys, time
from psycopg_pool import ConnectionPool

dsn, n, max_idle = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
pool = ConnectionPool(dsn, min_size=0, max_size=n, max_idle=max_idle, open=True)
conns = [pool.getconn() for _ in range(n)]
for c in conns:
    c.execute("SELECT 1").fetchone()
    c.rollback()
for c in conns:
    pool.putconn(c)
print("ready", flush=True)
time.sleep(60)
