# SPDX-License-Identifier: MIT
# A pymemcache PooledClient used as applications use it: N pooled
# connections checked out at once, one command each, released, then the
# pool idles.
#   memc_pool.py PORT N POOL_IDLE_TIMEOUT TRIGGER
# Prints "ready" once the pool idles; when the file TRIGGER appears (bounded
# wait) it makes one call through the pool, prints "used ok" or "used
# failed ERROR", and idles until killed (at most 120 s).
import os, sys, time
from pymemcache.client.base import PooledClient

port, n, pit, trigger = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
pc = PooledClient(("127.0.0.1", port), max_pool_size=n + 5, pool_idle_timeout=pit)
clients = [pc.client_pool.get() for _ in range(n)]
for c in clients:
    c.version()
for c in clients:
    pc.client_pool.release(c)
print("ready", flush=True)
end = time.monotonic() + 60
while not os.path.exists(trigger) and time.monotonic() < end:
    time.sleep(0.1)
try:
    pc.version()
    print("used ok", flush=True)
except Exception as e:  # pymemcache raises its own and socket errors
    print("used failed", repr(e), flush=True)
time.sleep(120)
