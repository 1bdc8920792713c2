#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# probe and load over HTTP/2 (h2c, prior knowledge) against real servers in
# a private namespace: nginx 'listen PORT http2' (keepalive_timeout 3s,
# keepalive_requests 7: the idle timeout, the stream cap of 7, GOAWAY
# NO_ERROR and the server's FIN after it), h2o (http2-idle-timeout 3) and
# Apache mod_http2 (Protocols h2c http/1.1); over TLS, nginx 'listen ssl
# http2' probed on https:// (h2 by ALPN beside HTTP/1), and an https port
# without h2 ('not offered'). An HTTP/1 probe of the h2c-only
# nginx port must say the server answers HTTP/2 only. load -m against nginx
# cross-checked with h2load and curl --http2-prior-knowledge: request
# counts (nginx's own, from stub_status), status, GOAWAYs, closed_first.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/nginx.sh"
need_root
for p in nginx h2load curl; do
    command -v $p >/dev/null || { echo "SKIP: $p missing (scripts/deps.sh)"; exit 0; }
done
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); chmod 755 "$tmp"; trap '__cleanup; rm -rf "$tmp"' EXIT
valid() {  # NAME FILE
    [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import jsonschema' 2>/dev/null || return 0
    local out; out=$(/usr/bin/python3 "$ROOT/tests/lib/validate_json.py" "$ROOT/schemas" "$2" 2>&1)
    case $out in ok*) pass "$1";; *) fail "$1" "$out: $(head -c 300 "$2")";; esac
}

netns_new NS
# 8080: h2c only, the caps under test; 8081: h2c, no practical cap (the
# load cross-check); 8082: HTTP/1 stub_status (nginx's own request count).
nginx_run "$NS" 8080 "$tmp/ng" " http2" "" "keepalive_timeout 3s; keepalive_requests 7;
        location / { return 200 \"ok\\n\"; }
    }
    server {
        listen 127.0.0.1:8081 http2;
        keepalive_requests 100000;
        location / { return 200 \"ok\\n\"; }
    }
    server {
        listen 127.0.0.1:8443 ssl http2;
        ssl_certificate $ROOT/tests/data/tls/cert.pem;
        ssl_certificate_key $ROOT/tests/data/tls/key.pem;
        keepalive_timeout 3s; keepalive_requests 7;
        location / { return 200 \"ok\\n\"; }
    }
    server {
        listen 127.0.0.1:8444 ssl;
        ssl_certificate $ROOT/tests/data/tls/cert.pem;
        ssl_certificate_key $ROOT/tests/data/tls/key.pem;
        location / { return 200 \"ok\\n\"; }
    }
    server {
        listen 127.0.0.1:8082;
        location = /stub { stub_status; }"
wait_listen "$NS" 8082
nginx_requests() { in_ns "$NS" curl -s http://127.0.0.1:8082/stub | awk 'NR == 3 {print $3}'; }

# --- probe: nginx h2c ---
check_eq curl_speaks_h2c "$(in_ns "$NS" curl -s --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' http://127.0.0.1:8080/)" "2 200"
in_ns "$NS" "$CLOSER" probe --http2-prior-knowledge http://127.0.0.1:8080/ --deadline 20s --json > "$tmp/ng.json" 2>"$tmp/ng.err"
check_eq nginx_probe_exit $? 0
valid nginx_probe_schema "$tmp/ng.json"
check_eq nginx_stream_cap "$(json_get "$tmp/ng.json" "d['request_cap'], d['http2']['stream_cap']")" "7 7"
check_eq nginx_cap_goaway "$(json_get "$tmp/ng.json" "[d['http2']['cap_close'][k] for k in ('goaway', 'error', 'last_stream_id', 'tcp_closed_by', 'tcp_close')]")" \
    "[True, 'NO_ERROR', 13, 'server', 'fin']"
check_eq nginx_max_concurrent "$(json_get "$tmp/ng.json" "d['http2']['max_concurrent_streams']")" 128
# keepalive_timeout 3s: nginx's timer fires at 3 s; a loaded machine only delays it.
check_eq nginx_idle_about_3s "$(json_get "$tmp/ng.json" "2.5 <= d['idle_timeout_s'] <= 6")" True
check_eq nginx_idle_goaway_then_fin "$(json_get "$tmp/ng.json" "sorted({(c['goaway'], c['error'], c['tcp_closed_by']) for c in d['http2']['idle_closes']})")" \
    "[(True, 'NO_ERROR', 'server')]"
check_eq nginx_named "$(json_get "$tmp/ng.json" "d['server']['kind'], d['knobs']['cap'].split()[0]")" "nginx keepalive_requests"
in_ns "$NS" "$CLOSER" probe --http2-prior-knowledge http://127.0.0.1:8080/ --deadline 20s > "$tmp/ng.txt" 2>&1
check nginx_text_cap grep -q 'stream cap .* 7 streams per connection: GOAWAY NO_ERROR (last stream 13), then the server.s FIN' "$tmp/ng.txt"
check nginx_text_knob grep -q 'change: raise keepalive_requests' "$tmp/ng.txt"

# --- an HTTP/1 probe of the h2c-only port names the answer ---
in_ns "$NS" "$CLOSER" probe http://127.0.0.1:8080/ --deadline 5s > "$tmp/h1.out" 2>&1
check_eq h1_on_h2c_exit $? 2
check h1_on_h2c_named grep -q 'the server answers HTTP/2 only: use --http2-prior-knowledge' "$tmp/h1.out"

# --- https://: h2 offered by ALPN beside the HTTP/1 probe, as curl offers it ---
check_eq curl_alpn_h2 "$(in_ns "$NS" curl -sk -o /dev/null -w '%{http_version}' https://127.0.0.1:8443/)" 2
in_ns "$NS" "$CLOSER" probe -k https://127.0.0.1:8443/ --deadline 20s --json > "$tmp/tls.json" 2>"$tmp/tls.err"
check_eq tls_probe_exit $? 0
valid tls_probe_schema "$tmp/tls.json"
check_eq tls_both_caps "$(json_get "$tmp/tls.json" "d['request_cap'], d['http2']['stream_cap'], d['http2']['alpn'], d['http2']['cap_close']['error']")" "7 7 h2 NO_ERROR"
check_eq tls_both_idle "$(json_get "$tmp/tls.json" "2.5 <= d['idle_timeout_s'] <= 6 and 2.5 <= d['http2']['idle_closes'][0]['goaway_after_s'] <= 6")" True
in_ns "$NS" "$CLOSER" probe -k https://127.0.0.1:8444/ --deadline 20s --json > "$tmp/noh2.json" 2>/dev/null
valid tls_no_h2_schema "$tmp/noh2.json"
check_eq tls_h2_not_offered "$(json_get "$tmp/noh2.json" "d['http2']['offered'], d['http2']['alpn']")" "False http/1.1"
in_ns "$NS" "$CLOSER" load -k --http2 https://127.0.0.1:8443/ -c 2 -m 3 -n 300 --json > "$tmp/tlsload.json"
valid tls_load_schema "$tmp/tlsload.json"
check_eq tls_load "$(json_get "$tmp/tlsload.json" "d['requests'], d['status_2xx'], d['tls']['alpn'], d['http2']['goaways'] > 0")" "300 300 h2 True"
# After nginx's GOAWAY comes its close_notify and FIN: the server closes first.
check_eq tls_load_server_first "$(json_get "$tmp/tlsload.json" "d['closed_first']['server'] > d['closed_first']['client']")" True

# --- load -m against nginx h2c, cross-checked with h2load ---
n0=$(nginx_requests)
in_ns "$NS" "$CLOSER" load --http2-prior-knowledge http://127.0.0.1:8081/ -c 4 -m 8 -n 2000 --json > "$tmp/load.json"
n1=$(nginx_requests)
valid load_h2_schema "$tmp/load.json"
check_eq load_requests_status "$(json_get "$tmp/load.json" "d['requests'], d['status_2xx'], d['status_other'], d['connections_opened'], d['http2']['streams_per_connection']")" "2000 2000 0 4 8"
check_eq load_nginx_counted "$((n1 - n0 - 1))" 2000
in_ns "$NS" h2load -c 4 -m 8 -n 2000 http://127.0.0.1:8081/ > "$tmp/h2load.txt" 2>&1
n2=$(nginx_requests)
check h2load_same_count grep -q '^requests: 2000 total, 2000 started, 2000 done, 2000 succeeded' "$tmp/h2load.txt"
check h2load_status grep -q '^status codes: 2000 2xx' "$tmp/h2load.txt"
check_eq h2load_nginx_counted "$((n2 - n1 - 1))" 2000

# --- load against the stream cap: GOAWAYs, refused streams resent, closes counted ---
in_ns "$NS" "$CLOSER" load --http2-prior-knowledge http://127.0.0.1:8080/ -c 4 -m 3 -n 500 --json > "$tmp/cap.json"
valid load_cap_schema "$tmp/cap.json"
check_eq load_cap_all_answered "$(json_get "$tmp/cap.json" "d['requests'], d['status_2xx']")" "500 500"
check_eq load_cap_goaways "$(json_get "$tmp/cap.json" "d['http2']['goaways'] > 0 and d['http2']['goaway_errors'] == {'NO_ERROR': d['http2']['goaways']}")" True
check_eq load_cap_7_per_conn "$(json_get "$tmp/cap.json" "d['requests'] <= 7 * d['connections_opened']")" True
check_eq load_cap_closes_add_up "$(json_get "$tmp/cap.json" "sum(d['closed_first'][k] for k in ('server', 'client', 'reset', 'open_at_end')) == d['connections_opened']")" True
check_eq load_cap_server_closed "$(json_get "$tmp/cap.json" "d['closed_first']['server'] > 0")" True
in_ns "$NS" "$CLOSER" load --http2-prior-knowledge http://127.0.0.1:8080/ -c 2 -m 2 -n 100 > "$tmp/cap.txt"
check load_text_goaway grep -q 'GOAWAY .* connections received the server.s GOAWAY: NO_ERROR' "$tmp/cap.txt"
in_ns "$NS" "$CLOSER" load http://127.0.0.1:8081/ -m 4 -n 10 > /dev/null 2>&1
check_eq load_m_needs_http2 $? 2

# --- h2o: h2c by prior knowledge on a plain listener, http2-idle-timeout 3 ---
if command -v h2o >/dev/null; then
    mkdir -p "$tmp/h2o/htdocs"; printf 'ok\n' > "$tmp/h2o/htdocs/index.html"; chmod -R a+rX "$tmp/h2o"
    cat > "$tmp/h2o/h2o.conf" <<CONF
user: nobody
num-threads: 1
http2-idle-timeout: 3
listen:
  host: 127.0.0.1
  port: 8090
hosts:
  default:
    paths:
      /:
        file.dir: $tmp/h2o/htdocs
CONF
    bg H2O_PID ip netns exec "$NS" h2o -c "$tmp/h2o/h2o.conf"
    wait_listen "$NS" 8090
    in_ns "$NS" "$CLOSER" probe --http2-prior-knowledge http://127.0.0.1:8090/ --max-requests 40 --deadline 20s --json > "$tmp/h2o.json" 2>"$tmp/h2o.err"
    check_eq h2o_probe_exit $? 0
    valid h2o_probe_schema "$tmp/h2o.json"
    check_eq h2o_named "$(json_get "$tmp/h2o.json" "d['server']['kind'], d['knobs']['idle']")" "h2o http2-idle-timeout"
    check_eq h2o_idle_about_3s "$(json_get "$tmp/h2o.json" "2.5 <= d['idle_timeout_s'] <= 6")" True
    check_eq h2o_no_cap "$(json_get "$tmp/h2o.json" "d['request_cap'], d['http2']['streams_back_to_back'], d['http2']['cap_close']['tcp_closed_by']")" "None 40 client"
else
    echo "SKIP h2o: not installed"
fi

# --- Apache mod_http2: Protocols h2c http/1.1, KeepAliveTimeout 3 ---
m=/usr/lib/apache2/modules
if command -v apache2 >/dev/null && [ -f $m/mod_http2.so ]; then
    mkdir -p "$tmp/ap/htdocs" "$tmp/ap/logs"; printf 'ok\n' > "$tmp/ap/htdocs/index.html"; chmod -R a+rX "$tmp/ap"
    cat > "$tmp/ap/httpd.conf" <<CONF
ServerRoot "$tmp/ap"
ServerName probe.test
Listen 127.0.0.1:8095
PidFile $tmp/ap/httpd.pid
ErrorLog $tmp/ap/logs/error.log
Mutex file:$tmp/ap
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule dir_module $m/mod_dir.so
LoadModule mime_module $m/mod_mime.so
LoadModule http2_module $m/mod_http2.so
User nobody
Group nogroup
DocumentRoot "$tmp/ap/htdocs"
<Directory "$tmp/ap/htdocs">
    Require all granted
</Directory>
DirectoryIndex index.html
TypesConfig /etc/mime.types
Protocols h2c http/1.1
KeepAlive On
KeepAliveTimeout 3
MaxKeepAliveRequests 7
CONF
    bg APACHE_PID ip netns exec "$NS" apache2 -f "$tmp/ap/httpd.conf" -DFOREGROUND
    wait_listen "$NS" 8095
    check_eq apache_curl_h2c "$(in_ns "$NS" curl -s --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' http://127.0.0.1:8095/)" "2 200"
    in_ns "$NS" "$CLOSER" probe --http2-prior-knowledge http://127.0.0.1:8095/ --max-requests 40 --deadline 20s --json > "$tmp/ap.json" 2>"$tmp/ap.err"
    check_eq apache_probe_exit $? 0
    valid apache_probe_schema "$tmp/ap.json"
    check_eq apache_named "$(json_get "$tmp/ap.json" "d['server']['kind'], d['knobs']['idle']")" "Apache httpd KeepAliveTimeout"
    # MaxKeepAliveRequests 7 is HTTP/1's: mod_http2 caps no stream count.
    check_eq apache_no_stream_cap "$(json_get "$tmp/ap.json" "d['request_cap'], d['http2']['streams_back_to_back']")" "None 40"
    check_eq apache_idle_about_3s "$(json_get "$tmp/ap.json" "2.5 <= d['idle_timeout_s'] <= 6")" True
    check_eq apache_idle_goaway "$(json_get "$tmp/ap.json" "d['idle_timeout_s'] is not None and all(c['goaway'] for c in d['http2']['idle_closes'])")" True
else
    echo "SKIP apache: apache2 or mod_http2 missing"
fi
