# SPDX-License-Identifier: MIT
# A SQLAlchemy QueuePool (psycopg2 underneath) of N connections, each
# checked out once and returned, then left idle, with pool_recycle=RECYCLE
# and pool_pre_ping: both act at checkout only, so an idle pool keeps what
# the server closed until the next checkout.
#   sqlalchemy_pool.py URL N RECYCLE
# Prints "ready" once all N were used, then idles (60 s at most).
import sys, time
import sqlalchemy

url, n, recycle = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
eng = sqlalchemy.create_engine(url, pool_size=n, max_overflow=0,
                               pool_recycle=recycle, pool_pre_ping=True)
conns = [eng.connect() for _ in range(n)]
for c in conns:
    c.exec_driver_sql("SELECT 1").fetchone()
for c in conns:
    c.close()          # back to the pool
print("ready", flush=True)
time.sleep(60)
