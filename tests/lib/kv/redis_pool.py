# SPDX-License-Identifier: MIT
# A redis-py ConnectionPool used as applications use it: N connections
# checked out at once (N requests in flight), one command each, released,
# then the pool idles. No event loop: `import redis` pulls asyncio in
# (redis.asyncio), yet the process has no epoll instance.
#   redis_pool.py PORT N MODE TRIGGER
# MODE: plain | hci (health_check_interval=1) | disconnect. Prints "ready"
# once the pool idles; when the file TRIGGER appears (bounded wait), uses the
# pool again: plain/hci send PING three times, disconnect calls
# pool.disconnect(inuse_connections=False) (the pool closing its idle
# connections); prints "used ..." and idles until killed (at most 120 s).
import os, sys, time
import redis

port, n, mode, trigger = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
pool = redis.ConnectionPool(host="127.0.0.1", port=port, max_connections=n + 5,
                            health_check_interval=1 if mode == "hci" else 0)
r = redis.Redis(connection_pool=pool)
conns = [pool.get_connection("PING") for _ in range(n)]
for c in conns:
    c.send_command("PING")
    c.read_response()
for c in conns:
    pool.release(c)
print("ready", flush=True)
end = time.monotonic() + 60
while not os.path.exists(trigger) and time.monotonic() < end:
    time.sleep(0.1)
if mode == "disconnect":
    pool.disconnect(inuse_connections=False)
    print("used disconnect", flush=True)
else:
    try:
        print("used", [r.ping() for _ in range(3)], flush=True)
    except redis.RedisError as e:
        print("used failed", repr(e), flush=True)
time.sleep(120)
