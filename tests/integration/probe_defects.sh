#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The defects of issue 21 in probe and load, each against the real program
# that showed it: nginx serving real files (0 B to 1 MB, 301 and 404
# pages) on a dual-stack [::] listener, name-based virtual hosts, a TLS
# port probed over http://, a request cap; a small asyncio server whose
# closes are not a per-connection cap; a name resolving to ::1 and
# 127.0.0.1 with the server on one of them. Each probe runs under its own
# --deadline; every JSON document is validated against schemas/ at the end.
. "$(dirname "$0")/../lib/lib.sh"
need_root
command -v nginx >/dev/null || { echo "SKIP: nginx missing (scripts/deps.sh)"; exit 0; }
command -v openssl >/dev/null || { echo "SKIP: openssl missing (scripts/deps.sh)"; exit 0; }
tmp=$(mktemp -d); chmod 755 "$tmp"
netns_new NS
# ip netns exec bind-mounts /etc/netns/NS/hosts over /etc/hosts: a name with
# both loopback addresses, ::1 first as glibc sorts them.
mkdir -p "/etc/netns/$NS"
printf '127.0.0.1 dual.test\n::1 dual.test\n' > "/etc/netns/$NS/hosts"
trap '__cleanup; rm -rf "$tmp" "/etc/netns/$NS"' EXIT
mkdir -p "$tmp/docs"; kept=0
keep() { [ -s "$1" ] && cp "$1" "$tmp/docs/$(basename "$1" .json)-$((kept += 1)).json"; return 0; }
probe() { in_ns "$NS" "$CLOSER" probe --json "$@" > "$tmp/p.json"; local rc=$?; keep "$tmp/p.json"; return $rc; }
load() { in_ns "$NS" "$CLOSER" load --json "$@" > "$tmp/l.json"; local rc=$?; keep "$tmp/l.json"; return $rc; }
q() { json_get "$tmp/p.json" "$1"; }
ql() { json_get "$tmp/l.json" "$1"; }

# --- nginx: files of every size on [::]:8080 (IPv4 arrives as ::ffff:),
# a virtual host, a cap of 20 on 8082, TLS on 8443, ::1 only on 8083,
# 127.0.0.1 only on 8084, the same files on [::]:8086 for the TIME_WAIT count.
www=$tmp/www; mkdir -p "$www/dir"
for n in 0 17 18 55 65536 1048576; do head -c "$n" /dev/zero | tr '\0' 'a' > "$www/f$n"; done
echo dir > "$www/dir/index.html"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1
mkdir -p "$tmp/ng/logs"
cat > "$tmp/ng/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $tmp/ng/nginx.pid;
error_log $tmp/ng/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/ng/body;
    proxy_temp_path $tmp/ng/proxy;
    fastcgi_temp_path $tmp/ng/fastcgi;
    uwsgi_temp_path $tmp/ng/uwsgi;
    scgi_temp_path $tmp/ng/scgi;
    keepalive_timeout 1s;
    server { listen [::]:8080 ipv6only=off default_server; root $www; }
    server { listen [::]:8080; server_name example.test; return 200 "example\n"; }
    server { listen 127.0.0.1:8082; keepalive_requests 20; location / { return 200 "ok\n"; } }
    server { listen [::]:8086 ipv6only=off; root $www; }
    server { listen 127.0.0.1:8443 ssl; ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem; return 200 "tls\n"; }
    server { listen [::1]:8083; return 200 "v6\n"; }
    server { listen 127.0.0.1:8084; return 200 "v4\n"; }
}
CONF
bg NGINX_PID ip netns exec "$NS" nginx -c "$tmp/ng/nginx.conf" -p "$tmp/ng"
wait_listen "$NS" 8084 || { fail nginx_started "see its stderr above"; exit 0; }
U=http://127.0.0.1:8080

# 1. Server header on real pages: it was the body's bytes past ~17 B.
for page in f0 f17 f18 f55 f65536 f1048576 dir; do
    probe --deadline 5s --max-requests 5 --idle-samples 1 "$U/$page"
    check_eq "server_header_$page" "$(q "d['status'], d['server']['header'].split('/')[0]")" \
        "$([ $page = dir ] && echo 301 || echo 200) nginx"
done
# 7. A 404 first answer: the site answers 4xx, no advice, exit 3.
probe --deadline 5s "$U/missing"; rc=$?
check_eq error_answer_404 "$rc $(q "d['status'], d['error_answer'], d['server']['header'].split('/')[0], d['knobs']['idle'], d['time_wait_on']['client_closes']")" "3 404 True nginx None None"
# ... and http:// to a TLS port: nginx answers 400.
in_ns "$NS" "$CLOSER" probe --deadline 5s http://127.0.0.1:8443/ > "$tmp/p.txt"; rc=$?
check_eq error_answer_tls_port "$rc $(grep -c 'the site answers 400 (4xx)' "$tmp/p.txt") $(grep -c 'turn keep-alive on' "$tmp/p.txt")" "3 1 0"

# 2+3+4. Connection: close under load on the dual-stack listener: every
# close is the server's, its TIME_WAIT is [::ffff:127.0.0.1]:8080 and
# counted at the target; the run's own count comes from closed_first.
# --close-wait 1s: the client waits for the FIN nginx sends at once (not
# racing it), so every close is the server's. Port 8086: no probe used it.
load -c 4 -n 200 --close-header --close-wait 1s http://127.0.0.1:8086/f18
ss_srv=$(in_ns "$NS" ss -Htn state time-wait 'sport = :8086' | grep -c 'ffff:127.0.0.1')
check_eq dual_stack_tw_at_target "$(ql "d['closed_first']['server'], d['time_wait_at_target']")" "200 $ss_srv"
check_eq dual_stack_tw_is_200 "$ss_srv" 200
check_eq tw_by_run_from_closed_first "$(ql "d['time_wait_by_run']['on_server'], d['time_wait_by_run']['on_this_host']")" "200 0"
# Keep-alive: the connections still open at the end are open_at_end only.
load -c 4 -n 100 "$U/f55"
check_eq closed_first_disjoint "$(ql "d['closed_first']['server'] + d['closed_first']['client'] + d['closed_first']['reset'] + d['closed_first']['open_at_end'] == d['connections_opened'], d['closed_first']['open_at_end'], d['closed_first']['client']")" "True 4 0"
in_ns "$NS" "$CLOSER" load -c 2 -n 20 --close-header --close-wait 1s "$U/f0" > "$tmp/l.txt"
check tw_table_labelled grep -q 'TW table .* net towards .*after minus before' "$tmp/l.txt"
check tw_run_line grep -q 'this run left 0 on this host (this client closed first) and 20 on the server' "$tmp/l.txt"

# 5. -H Host replaces the Host header (two Hosts: nginx answers 400).
load -c 1 -n 10 -H 'Host: example.test' "$U/"
check_eq load_host_replaced "$(ql "d['status_2xx'], d['status_other']")" "10 0"
probe --deadline 5s --max-requests 5 --idle-samples 1 -H 'Host: example.test' -H 'X-Probe: 1' "$U/"
check_eq probe_header_host "$(q "d['status'], d['host']")" "200 127.0.0.1:8080"
check_eq probe_header_refused "$(in_ns "$NS" "$CLOSER" probe -H $'X: a\r\nY: b' "$U/" 2>&1 >/dev/null | grep -c 'CR or LF'; echo $?)" "1
0"

# 6. A cap of 20 is confirmed on a second connection.
probe --deadline 10s --idle-samples 1 http://127.0.0.1:8082/
check_eq cap_confirmed "$(q "d['request_cap'], d['limit']['kind'], d['limit']['cap_confirmed'], d['limit']['second']['responses'], 0 <= d['limit']['second']['age_s'] < 10")" "20 cap True 20 True"
# ... and a server whose close count differs per connection (as a
# server-wide 1-in-N random close does) is no per-connection cap.
cat > "$tmp/rnd.py" <<'PY'
# Keep-alive HTTP/1.1; connection k is closed (announced) after 15 + 11*k
# responses: a count that never repeats, as a server-wide random close.
import asyncio, itertools, sys
conns = itertools.count()
async def serve(r, w):
    limit, n = 15 + 11 * next(conns), 0
    try:
        while True:
            while (line := await r.readline()) not in (b"\r\n", b"\n", b""):
                pass
            if not line:
                break
            n += 1
            last = n >= limit
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n" +
                    (b"Connection: close\r\n" if last else b"") + b"\r\nok\n")
            await w.drain()
            if last:
                break
    finally:
        w.close()
async def main():
    s = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]))
    async with s:
        await s.serve_forever()
asyncio.run(main())
PY
bg RND_PID ip netns exec "$NS" /usr/bin/python3 "$tmp/rnd.py" 8085
wait_listen "$NS" 8085
probe --deadline 10s --idle-samples 1 --close-wait 1s http://127.0.0.1:8085/
check_eq random_close_not_a_cap "$(q "d['limit']['kind'], d['request_cap'], d['limit']['cap_confirmed'], d['limit']['back_to_back']['responses'] != d['limit']['second']['responses']")" "random None False True"

# 8. URLs: scheme case, bare host:port, user:pw@, #frag; dual.test has ::1
# first: a server on 127.0.0.1 only (8084) and one on ::1 only (8083) are
# both reached, as curl does.
probe --deadline 5s --max-requests 5 --idle-samples 1 'HTTP://user:pw@dual.test:8084/f17#frag'
check_eq url_v4_only_reached "$(q "d['status'], d['target'], d['path']")" "200 127.0.0.1:8084 /f17"
probe --deadline 5s --max-requests 5 --idle-samples 1 dual.test:8083
check_eq url_v6_only_reached "$(q "d['status'], d['target']")" "200 [::1]:8083"
load -c 1 -n 5 127.0.0.1:8084
check_eq load_bare_host_port "$(ql "d['status_2xx']")" 5
in_ns "$NS" env http_proxy=http://192.0.2.1:3128 "$CLOSER" load -c 1 -n 1 "$U/f0" > /dev/null 2> "$tmp/err"
check proxy_noted grep -q 'http_proxy is set and ignored' "$tmp/err"
probe --deadline 5s --max-requests 5 --idle-samples 1 -k 'HTTPS://127.0.0.1:8443/#x'
check_eq https_scheme_any_case "$(q "d['status'], d['target']")" "200 127.0.0.1:8443"

# 9. Connection: close decided on three exchanges: nginx sends its FIN
# as it answers (within the exchange's own time), so TIME_WAIT is the
# server's; closer serve --close-policy client waits for the client's FIN.
probe --deadline 5s --max-requests 5 --idle-samples 1 "$U/f0"
check_eq close_three_samples "$(q "d['after_connection_close']['samples'], d['after_connection_close']['exchange_s'] > 0, d['time_wait_on']['connection_close']")" "3 True server"

bg SRV_PID ip netns exec "$NS" "$CLOSER" serve -l 127.0.0.1:8087 --return 200 ok --close-policy client
wait_listen "$NS" 8087
probe --deadline 5s --max-requests 5 --idle-samples 1 --close-wait 1s http://127.0.0.1:8087/
check_eq close_waits_for_client "$(q "d['after_connection_close']['samples'], d['after_connection_close']['server_waits_for_client'], d['time_wait_on']['connection_close']")" "3 True client"

# Every document against its schema.
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
    root=$(cd "$(dirname "$0")/../.." && pwd)
    bad=0
    for f in "$tmp"/docs/*.json; do
        out=$(/usr/bin/python3 "$root/tests/lib/validate_json.py" "$root/schemas" "$f" 2>&1) ||
            { fail "schema_$(basename "$f" .json)" "$out"; bad=1; }
    done
    [ $bad = 0 ] && \
    pass schemas_checked
fi
