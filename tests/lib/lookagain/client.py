# SPDX-License-Identifier: MIT
# An HTTP client on Python's http.client: "per-request" opens a connection
# for every request and closes it first (the TIME_WAIT lands here);
# "reuse" keeps one keep-alive connection (the fix); "hold" opens N
# connections, makes one request on each and keeps them idle (the server
# closes them: CLOSE_WAIT here). Bounded in count and time.
import http.client, sys, time

mode, port, count, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
end = time.time() + seconds
if mode == "hold":
    conns = []
    for _ in range(count):
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("GET", "/")
        c.getresponse().read()
        conns.append(c)
    print("ready", flush=True)
    time.sleep(seconds)
    sys.exit(0)
c = None
n = 0
while n < count and time.time() < end:
    if c is None or mode == "per-request":
        c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("GET", "/")
    c.getresponse().read()
    if mode == "per-request":
        c.close()
    n += 1
    time.sleep(0.002)
print("done", n, flush=True)
