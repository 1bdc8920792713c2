# SPDX-License-Identifier: MIT
"""Raw-socket HTTP client for closer's integration tests: sends exact bytes,
reads responses by Content-Length, and reports how the connection ended
(server FIN, RST, or still open). Usage examples:

  rawhttp.py HOST PORT --requests N [--http10] [--keepalive-header]
             [--close-header] [--pipeline] [--idle S] [--client-close]
Prints one JSON line: {"responses": n, "statuses": [...], "connection": [...],
 "ended": "server-fin" | "reset" | "open", "fin_after_s": t}
"""
import json, socket, sys, time, argparse

p = argparse.ArgumentParser()
p.add_argument("host"); p.add_argument("port", type=int)
p.add_argument("--requests", type=int, default=1)
p.add_argument("--http10", action="store_true")
p.add_argument("--keepalive-header", action="store_true")
p.add_argument("--close-header", action="store_true")
p.add_argument("--pipeline", action="store_true")
p.add_argument("--idle", type=float, default=0)
p.add_argument("--wait", type=float, default=3.0, help="how long to wait for the server's close")
p.add_argument("--client-close", action="store_true")
p.add_argument("--extra", default="", help="raw bytes appended after the requests")
p.add_argument("--path", default="/")
a = p.parse_args()

def request(last):
    v = "1.0" if a.http10 else "1.1"
    h = f"GET {a.path} HTTP/{v}\r\nHost: {a.host}\r\n"
    if a.keepalive_header: h += "Connection: keep-alive\r\n"
    if a.close_header and last: h += "Connection: close\r\n"
    return (h + "\r\n").encode()

s = socket.create_connection((a.host, a.port))
buf = b""
def read_response():
    global buf
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d: return None
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    n = int(hdr.get("content-length", "0"))
    while len(rest) < n:
        d = s.recv(65536)
        if not d: return None
        rest += d
    buf = rest[n:]
    return int(lines[0].split()[1]), hdr.get("connection", ""), hdr.get("keep-alive", "")

out = {"responses": 0, "statuses": [], "connection": [], "keep_alive": []}
try:
    if a.pipeline:
        s.sendall(b"".join(request(i == a.requests - 1) for i in range(a.requests)) + a.extra.encode())
    for i in range(a.requests):
        if not a.pipeline:
            if i and a.idle: time.sleep(a.idle)
            s.sendall(request(i == a.requests - 1) + (a.extra.encode() if i == a.requests - 1 else b""))
        r = read_response()
        if r is None: break
        out["responses"] += 1; out["statuses"].append(r[0]); out["connection"].append(r[1]); out["keep_alive"].append(r[2])
        if r[1].lower() == "close" and not a.pipeline:
            break  # a well-behaved client sends nothing after Connection: close
    if a.client_close:
        s.close(); out["ended"] = "client"
    else:
        s.settimeout(a.wait); t0 = time.time()
        try:
            d = s.recv(1)
            out["ended"] = "server-fin" if d == b"" else "data"
            out["fin_after_s"] = round(time.time() - t0, 3)
        except socket.timeout:
            out["ended"] = "open"
        except ConnectionResetError:
            out["ended"] = "reset"
        s.close()
except ConnectionResetError:
    out["ended"] = "reset"
print(json.dumps(out))
