#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer probe and closer load over https:// against real servers from
# Debian packages with known settings (nginx, Apache mod_ssl, Caddy, h2o)
# and two odd TLS servers in Python's ssl module: the TLS version, ALPN,
# resumption, and how each close looks in TLS's terms (close_notify before
# the FIN, a FIN without it, close_notify then RST). curl and wrk on the
# same endpoints, ss as the referee of where TIME_WAIT lands. Every server
# runs in its own namespace with its config in a temp dir; the certificate
# is tests/data/tls (closer.test, 127.0.0.1, ::1), verified with --cacert.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/nginx.sh"
need_root
tmp=$(mktemp -d); chmod 755 "$tmp"; trap '__cleanup; rm -rf "$tmp"' EXIT
DATA=$(cd "$(dirname "$0")/../data/tls" && pwd)
CERT=$DATA/cert.pem KEY=$DATA/key.pem
# Servers that drop to nobody read the key as root at start; the copy in
# tmp keeps the test independent of the checkout's permissions.
cp "$CERT" "$KEY" "$tmp/"; CERT=$tmp/cert.pem KEY=$tmp/key.pem; chmod 644 "$CERT" "$KEY"
PORT=8443 PLAIN=8080
URL=https://127.0.0.1:$PORT/
n=0
mkdir -p "$tmp/docs"; kept=0
keep() { [ -s "$tmp/$1.json" ] && cp "$tmp/$1.json" "$tmp/docs/$1-$((kept += 1)).json"; return 0; }
probe() { in_ns "$NS" "$CLOSER" probe --json --deadline 20s --cacert "$CERT" "$URL" "$@" > "$tmp/p.json"; keep p; }
q() { json_get "$tmp/p.json" "$1"; }
ql() { json_get "$tmp/l.json" "$1"; }
# After each run, ss's TIME_WAIT counts at once: TW_SRV on the server's
# port, TW_CLI towards it (load_referees.sh's referee).
load() {
    in_ns "$NS" "$CLOSER" load --json --cacert "$CERT" "$URL" "$@" > "$tmp/l.json"; keep l
    TW_SRV=$(ss_tw "sport = :$PORT") TW_CLI=$(ss_tw "dport = :$PORT")
}
ss_tw() { in_ns "$NS" ss -Htn state time-wait "$1" | wc -l; }
within() { python3 -c "import sys; sys.exit(not abs($1 - $2) <= $3)"; }
fresh() { netns_new NS; n=$((n + 1)); D=$tmp/s$n; }
have() { command -v "$1" >/dev/null || { echo "SKIP $2: $1 missing (scripts/deps.sh)"; return 1; }; }
tls_of() { q "d['tls']['version'], d['tls']['alpn']"; }
closes_of() { q "d['tls']['closes']['after_connection_close'], d['tls']['closes']['idle'], d['tls']['closes']['limit']"; }
# The client closes first (--keepalive off: close_notify and FIN in one
# segment). Apache, Go (Caddy) and h2o answer with a close_notify of their
# own (RFC 8446 6.1), nginx does not. That record meets the client's closed
# socket: the client's kernel resets (TcpExtTCPAbortOnData), and the RST
# ends the client's TIME_WAIT: almost none is left on either side (ss).
# TIME_WAIT from the probe before is still there: counted as a difference.
client_close_answered() {
    local b_cli b_srv
    b_cli=$(ss_tw "dport = :$PORT") b_srv=$(ss_tw "sport = :$PORT")
    load -c 4 -n 100 --keepalive off
    check_eq "$1_ka_off_counts" "$(ql "d['requests'], d['status_2xx'], d['closed_first']['client'], d['tls']['client_close_notify'], d['tls']['server_close_notify']")" "100 100 100 100 0"
    check "$1_ka_off_rst_ends_client_tw" test "$(((TW_CLI - b_cli) * 2))" -lt 100
    echo "info: $1 --keepalive off: TIME_WAIT +$((TW_CLI - b_cli)) client, +$((TW_SRV - b_srv)) server for 100 client closes; $(in_ns "$NS" nstat -az TcpExtTCPAbortOnData | awk '/Abort/ {print $1, $2}')"
}

# nginx with "listen ... ssl" on PORT, keepalive_timeout 3s and
# keepalive_requests 7, the ssl_* directives given, and a plain listener on
# PLAIN for the wrong-scheme case.
nginx_tls() {
    nginx_run "$NS" $PORT "$D" " ssl" "
    keepalive_timeout 3s;
    keepalive_requests 7;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    $1
    server { listen 127.0.0.1:$PLAIN; location / { return 200 \"ok\\n\"; } }" \
        "location / { return 200 \"ok\\n\"; }"
}

# 1. nginx, TLSv1.2 and TLSv1.3: 1.3 with ALPN http/1.1, both tickets
#    resumed, the idle timeout and the cap measured through TLS, and every
#    close of nginx's is close_notify then its FIN (ngx_ssl_shutdown sends
#    close_notify and does not wait for the client's).
fresh; nginx_tls "ssl_protocols TLSv1.2 TLSv1.3;"
probe
check_eq nginx13_session "$(tls_of)" "TLSv1.3 http/1.1"
check_eq nginx13_resumes "$(q "d['tls']['resumption']['server_gave_session'], d['tls']['resumption']['offered'] > 0 and d['tls']['resumption']['resumed'] == d['tls']['resumption']['offered']")" "True True"
check nginx13_idle_3s within "$(q "d['idle_timeout_s']")" 3 0.3
check_eq nginx13_cap_7 "$(q "d['request_cap'], d['server']['kind']")" "7 nginx"
check_eq nginx13_closes "$(closes_of)" "close_notify_fin close_notify_fin close_notify_fin"
# curl on the same endpoint: the same status and Server header.
CURL=$(in_ns "$NS" curl -sS --cacert "$CERT" -o /dev/null -w '%{http_code} %{ssl_verify_result}' "$URL")
check_eq nginx13_curl_agrees "$(q "d['status']") 0" "$CURL"
check_eq nginx13_curl_server "$(q "d['server']['header']")" \
    "$(in_ns "$NS" curl -sS --cacert "$CERT" -D - -o /dev/null "$URL" | tr -d '\r' | sed -n 's/^Server: //p')"
# The text once: the TLS lines say what the JSON says.
in_ns "$NS" "$CLOSER" probe --deadline 20s -k "$URL" > "$tmp/p.txt"
check nginx13_text_tls grep -q "^  TLS  *TLSv1.3 .*, ALPN http/1.1, handshake" "$tmp/p.txt"
check nginx13_text_resumption grep -Eq "^  TLS session resumption  *works \(([0-9]+) of \1 later" "$tmp/p.txt"
check nginx13_text_idle_close grep -q "^  TLS close, idle timeout  *close_notify, then its FIN" "$tmp/p.txt"

# load, a new connection per request: the client closes, with close_notify
# on every connection; each connection is one handshake, full or resumed;
# TIME_WAIT on the client, all of it (ss). close_notify and the client's
# FIN leave in one segment: sent apart, nginx closed on reading
# close_notify and its FIN beat ours on 3-5% of connections. (A fresh
# namespace: the probe's TIME_WAIT would blur ss's count.)
fresh; nginx_tls "ssl_protocols TLSv1.2 TLSv1.3;"
load -c 4 -n 200 --keepalive off
check_eq ka_off_counts "$(ql "d['requests'], d['status_2xx'], d['connections_opened'], d['closed_first']['client']")" "200 200 200 200"
check_eq ka_off_notify "$(ql "d['tls']['client_close_notify'], d['tls']['server_close_notify'], d['tls']['handshakes_full'] + d['tls']['handshakes_resumed'] == d['connections_opened'], d['tls']['handshakes_resumed'] > 0")" "200 0 True True"
check_eq ka_off_tw_on_client_ss "$TW_CLI $TW_SRV" "200 0"
check_eq ka_off_tw_vs_ss "$(ql "d['time_wait_towards_target'], d['time_wait_at_target']")" "$TW_CLI $TW_SRV"
load -c 4 -n 50 --keepalive off --no-sessionid
check_eq no_sessionid_all_full "$(ql "d['tls']['handshakes_full'], d['tls']['handshakes_resumed'], d['tls']['session_resumption']")" "50 0 False"

# --close-header, waiting for nginx's FIN: the server closes every
# connection with close_notify then its FIN; the TIME_WAIT is the server's.
# The tickets survive the server's close (OpenSSL dropped the newest when
# the client did not send close_notify: 85 full handshakes of 200).
fresh; nginx_tls "ssl_protocols TLSv1.2 TLSv1.3;"
load -c 4 -n 200 --close-header --close-wait 1s
check_eq close_header_counts "$(ql "d['requests'], d['status_2xx'], d['closed_first']['server'], d['announced_closes']")" "200 200 200 200"
check_eq close_header_notify "$(ql "d['tls']['server_close_notify'] == d['closed_first']['server'], d['tls']['server_close_notify_with_fin'], d['tls']['server_fin_without_close_notify'], d['tls']['client_close_notify']")" "True 200 0 0"
check_eq close_header_resumes "$(ql "d['tls']['handshakes_full'] + d['tls']['handshakes_resumed'], d['tls']['handshakes_full'] <= 4")" "200 True"
check_eq close_header_tw_on_server_ss "$TW_SRV $TW_CLI" "200 0"
check_eq close_header_tw_vs_ss "$(ql "d['time_wait_at_target'], d['time_wait_towards_target']")" "$TW_SRV $TW_CLI"
# Closing at once, as wrk does: the client answers the server's
# close_notify with its own (RFC 8446 6.1) into a socket nginx has closed:
# nginx resets, and the RST ends its TIME_WAIT. Every close is counted once,
# and load's TIME_WAIT agrees with ss (no figure asserted: it is a race).
fresh; nginx_tls "ssl_protocols TLSv1.2 TLSv1.3;"
load -c 4 -n 200 --close-header
check_eq close_at_once_sum "$(ql "d['closed_first']['server'] + d['closed_first']['client'] + d['closed_first']['reset'], d['status_2xx'], d['tls']['client_close_notify']")" "200 200 200"
check_eq close_at_once_tw_vs_ss "$(ql "d['time_wait_at_target'], d['time_wait_towards_target']")" "$TW_SRV $TW_CLI"
check close_at_once_rst_ends_tw test "$((TW_SRV * 2))" -lt "$(ql "d['closed_first']['server']")"
# The text says the FIN count is not the TIME_WAIT count here.
in_ns "$NS" "$CLOSER" load -c 2 -n 20 --close-header --cacert "$CERT" "$URL" > "$tmp/l.txt"
check close_at_once_text_rst grep -q "TLS: a close_notify that reaches a socket already closed is answered with a RST" "$tmp/l.txt"
echo "info: --close-header at once: server $(ql "d['closed_first']['server']") client $(ql "d['closed_first']['client']"); TIME_WAIT ss server $TW_SRV client $TW_CLI"
# wrk does the same (SSL_shutdown, then close): RSTs from nginx, and almost
# no TIME_WAIT at the server though it closed first (1 s: 475 requests,
# ss 0 at the server, TcpExtTCPAbortOnData 452).
if command -v wrk >/dev/null; then
    fresh; nginx_tls "ssl_protocols TLSv1.2 TLSv1.3;"
    WRK_REQ=$(in_ns "$NS" wrk -t1 -c4 -d1s -H 'Connection: close' "$URL" | awk '/requests in/ {print $1}')
    check wrk_close_rst_ends_tw test "$(($(ss_tw "sport = :$PORT") * 2))" -lt "${WRK_REQ:-0}"
fi

# wrk on the same endpoint for the same time: both count only 2xx (their
# speeds are not compared here: bench/ does that).
if have wrk wrk; then
    fresh; nginx_tls "ssl_protocols TLSv1.2 TLSv1.3;"
    load -c 4 -d 2s
    in_ns "$NS" wrk -t1 -c4 -d2s "$URL" > "$tmp/wrk.txt" 2>&1
    WRK_REQ=$(awk '/requests in/ {print $1}' "$tmp/wrk.txt")
    WRK_BAD=$(awk '/Non-2xx/ {print $NF}' "$tmp/wrk.txt")
    check_eq wrk_all_2xx "${WRK_REQ:-0} > 0, non-2xx ${WRK_BAD:-0}" "${WRK_REQ:-0} > 0, non-2xx 0"
    check_eq load_all_2xx "$(ql "d['requests'] > 0, d['requests'] == d['status_2xx'], d['status_other']")" "True True 0"
fi

# 2. nginx with TLSv1.2 only: TLSv1.2, and its session (a ticket) resumes.
fresh; nginx_tls "ssl_protocols TLSv1.2;"
probe
check_eq nginx12_session "$(tls_of)" "TLSv1.2 http/1.1"
check_eq nginx12_resumes "$(q "d['tls']['resumption']['server_gave_session'], d['tls']['resumption']['offered'] > 0 and d['tls']['resumption']['resumed'] == d['tls']['resumption']['offered']")" "True True"

# 3. nginx with ssl_session_tickets off and ssl_session_cache off. TLSv1.2:
#    no ticket and an empty session id, nothing to resume. TLSv1.3: OpenSSL
#    still sends two (stateful) tickets, which refer to a cache that is off:
#    the client offers them and every one is refused (openssl s_client
#    -sess_in agrees: "New", not "Reused"). probe says REFUSED.
fresh; nginx_tls "ssl_protocols TLSv1.2; ssl_session_tickets off; ssl_session_cache off;"
probe
check_eq nginx12_no_session "$(q "d['tls']['resumption']['server_gave_session'], d['tls']['resumption']['offered'], d['tls']['resumption']['resumed']")" "False 0 0"
fresh; nginx_tls "ssl_protocols TLSv1.3; ssl_session_tickets off; ssl_session_cache off;"
probe
check_eq nginx13_tickets_refused "$(q "d['tls']['resumption']['server_gave_session'], d['tls']['resumption']['offered'] > 0, d['tls']['resumption']['resumed']")" "True True 0"
in_ns "$NS" "$CLOSER" probe --deadline 20s --cacert "$CERT" "$URL" > "$tmp/p.txt"
check nginx13_refused_text grep -q "^  TLS session resumption  *REFUSED (0 of" "$tmp/p.txt"

# 4. Errors. The wrong scheme (https:// to nginx's plain port), a name the
#    certificate does not cover (127.0.0.2), no --cacert for a self-signed
#    certificate: probe exits 2 and says which; load counts errors.tls.
perr() { in_ns "$NS" "$CLOSER" probe --deadline 10s --timeout 2s "$@" 2>&1 >/dev/null; echo "rc=$?"; }
check_eq wrong_scheme "$(perr --cacert "$CERT" https://127.0.0.1:$PLAIN/)" \
    "closer probe: no HTTP response from 127.0.0.1:$PLAIN: TLS: the server's answer is not TLS (is this port plain HTTP? try http://)
rc=2"
in_ns "$NS" "$CLOSER" load --json -c 1 -n 3 --cacert "$CERT" https://127.0.0.1:$PLAIN/ > "$tmp/l.json"; keep l
check_eq wrong_scheme_load "$(ql "d['errors']['tls'] > 0, d['requests'], 'not TLS' in d['tls']['last_error']")" "True 0 True"
check wrong_scheme_load_text sh -c "ip netns exec $NS $CLOSER load -c 1 -n 2 --cacert $CERT https://127.0.0.1:$PLAIN/ 2>&1 | grep -q '^  TLS error .*not TLS'"
check_eq self_signed "$(perr "$URL")" \
    "closer probe: no HTTP response from 127.0.0.1:$PORT: TLS: certificate verification failed: self-signed certificate (use --cacert FILE, or -k to skip)
rc=2"

# 5. Odd TLS servers in Python's ssl module, on 0.0.0.0 (so 127.0.0.2, a
#    name the certificate does not cover, reaches them too). Each answers
#    with Connection: close, then MODE: "nonotify" closes the socket with
#    no close_notify (Python's close() never sends one: a truncation by
#    TLS's rules); "rst" sends close_notify (unwrap, not waiting for the
#    client's) and then resets (SO_LINGER {1, 0}).
cat > "$tmp/odd_tls.py" <<'PY'
import socket, ssl, struct, sys, threading
port, mode, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
def serve(raw):
    try:
        s = ctx.wrap_socket(raw, server_side=True)
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = s.recv(4096)
            if not chunk:
                return
            req += chunk
        s.sendall(b"HTTP/1.1 200 OK\r\nServer: odd-tls\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        if mode == "nonotify":
            s.close()
            return
        s.settimeout(0.3)
        try:
            plain = s.unwrap()  # sends close_notify; the client's may not come
        except (OSError, ssl.SSLError):
            plain = s
        plain.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        plain.close()
    except (OSError, ssl.SSLError):
        pass
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", port))
l.listen(64)
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
odd() { fresh; bg ODD ip netns exec "$NS" /usr/bin/python3 "$tmp/odd_tls.py" $PORT "$1" "$CERT" "$KEY"; wait_listen "$NS" $PORT; }
odd nonotify
probe
check_eq nonotify_truncation "$(q "d['server']['header'], d['tls']['closes']['after_connection_close']")" "odd-tls fin_without_close_notify"
in_ns "$NS" "$CLOSER" probe --deadline 20s --cacert "$CERT" "$URL" > "$tmp/p.txt"
check nonotify_text grep -q "^  TLS close, Connection: close  *FIN without close_notify (a truncation" "$tmp/p.txt"
load -c 2 -n 40
check_eq nonotify_load "$(ql "d['requests'], d['status_2xx'], d['tls']['server_fin_without_close_notify'] + d['tls']['server_close_notify'], d['tls']['server_close_notify']")" "40 40 $(ql "d['closed_first']['server']") 0"
load -c 2 -n 40 --close-wait 1s
check_eq nonotify_load_waits "$(ql "d['closed_first']['server'], d['tls']['server_fin_without_close_notify'], d['errors']['tls']")" "40 40 0"
odd rst
probe
check_eq notify_rst "$(q "d['tls']['closes']['after_connection_close']")" close_notify_rst
load -c 2 -n 40 --close-wait 1s
check_eq notify_rst_load "$(ql "d['requests'], d['tls']['server_close_notify'], d['tls']['server_close_notify_with_fin'], d['closed_first']['reset'] + d['closed_first']['server']")" "40 40 0 40"
# A name the certificate does not cover, and -k that skips the check.
check_eq wrong_name "$(perr --cacert "$CERT" https://127.0.0.2:$PORT/)" \
    "closer probe: no HTTP response from 127.0.0.2:$PORT: TLS: certificate verification failed: IP address mismatch (use --cacert FILE, or -k to skip)
rc=2"
in_ns "$NS" "$CLOSER" load --json -c 1 -n 3 --cacert "$CERT" https://127.0.0.2:$PORT/ > "$tmp/l.json"; keep l
check_eq wrong_name_load "$(ql "d['errors']['tls'] > 0, d['requests'], 'IP address mismatch' in d['tls']['last_error']")" "True 0 True"
in_ns "$NS" "$CLOSER" probe --json --deadline 20s -k https://127.0.0.2:$PORT/ > "$tmp/p.json"; keep p
check_eq insecure_skips_check "$(q "d['status'], d['tls']['version']")" "200 TLSv1.3"

# 6. Apache 2.4 mod_ssl (event MPM): KeepAliveTimeout 2, MaxKeepAliveRequests
#    5 (Apache serves N+1 on a connection), named through TLS; what its
#    closes look like in TLS's terms is asserted as seen.
if have apache2 apache; then
    fresh; m=/usr/lib/apache2/modules
    mkdir -p "$D/htdocs" "$D/logs"; printf 'ok\n' > "$D/htdocs/index.html"; chmod -R a+rX "$D"
    cat > "$D/httpd.conf" <<CONF
ServerRoot "$D"
ServerName closer.test
Listen 127.0.0.1:$PORT
PidFile $D/httpd.pid
ErrorLog $D/logs/error.log
Mutex file:$D
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule dir_module $m/mod_dir.so
LoadModule mime_module $m/mod_mime.so
LoadModule socache_shmcb_module $m/mod_socache_shmcb.so
LoadModule ssl_module $m/mod_ssl.so
User nobody
Group nogroup
DocumentRoot "$D/htdocs"
<Directory "$D/htdocs">
    Require all granted
</Directory>
DirectoryIndex index.html
TypesConfig /etc/mime.types
KeepAlive On
MaxKeepAliveRequests 5
KeepAliveTimeout 2
SSLSessionCache shmcb:$D/ssl_scache(512000)
SSLEngine on
SSLCertificateFile $CERT
SSLCertificateKeyFile $KEY
CONF
    bg APACHE_PID ip netns exec "$NS" apache2 -f "$D/httpd.conf" -DFOREGROUND
    wait_listen "$NS" $PORT
    probe
    check_eq apache_identified "$(q "d['server']['kind'], d['status']")" "Apache httpd 200"
    check_eq apache_session "$(tls_of)" "TLSv1.3 http/1.1"
    check_eq apache_cap "$(q "d['request_cap'], d['knobs']['cap']")" "6 MaxKeepAliveRequests"
    check apache_idle_2s within "$(q "d['idle_timeout_s']")" 2 0.3
    check_eq apache_resumes "$(q "d['tls']['resumption']['offered'] > 0 and d['tls']['resumption']['resumed'] == d['tls']['resumption']['offered']")" True
    # Apache (mod_ssl) closes like nginx: close_notify, then its FIN, on
    # Connection: close, on the keep-alive timeout and at the cap.
    check_eq apache_closes "$(closes_of)" "close_notify_fin close_notify_fin close_notify_fin"
    client_close_answered apache
    # Closing at once after Connection: close: Apache's lingering close
    # reads the client's close_notify (no RST, unlike nginx), so the
    # TIME_WAIT of its close stays on the server.
    b_srv=$(ss_tw "sport = :$PORT")
    load -c 4 -n 100 --close-header
    check apache_close_at_once_tw_on_server test "$(((TW_SRV - b_srv) * 2))" -gt "$(ql "d['closed_first']['server']")"
fi

# 7. Caddy (Go's crypto/tls): the test certificate, idle timeout 2 s, no
#    redirect listener, no admin endpoint; its state under the temp dir.
#    default_sni: probe sends no SNI to an IP literal (as curl).
if have caddy caddy; then
    fresh; mkdir -p "$D"
    cat > "$D/Caddyfile" <<CONF
{
	admin off
	auto_https disable_redirects
	default_sni 127.0.0.1
	storage file_system $D/data
	servers {
		timeouts {
			idle 2s
		}
	}
}
https://127.0.0.1:$PORT {
	tls $CERT $KEY
	respond "ok" 200
}
CONF
    bg CADDY_PID env HOME="$D" XDG_DATA_HOME="$D/xdg-data" XDG_CONFIG_HOME="$D/xdg-config" \
        ip netns exec "$NS" caddy run --config "$D/Caddyfile" --adapter caddyfile 2>"$D/caddy.log"
    wait_listen "$NS" $PORT
    probe --max-requests 300
    check_eq caddy_session "$(q "d['server']['header']") $(tls_of)" "Caddy TLSv1.3 http/1.1"
    check caddy_idle_2s within "$(q "d['idle_timeout_s']")" 2 0.3
    check_eq caddy_no_cap "$(q "d['request_cap']")" None
    check_eq caddy_resumes "$(q "d['tls']['resumption']['offered'] > 0 and d['tls']['resumption']['resumed'] == d['tls']['resumption']['offered']")" True
    # Go's tls.Conn.Close sends close_notify before the FIN, the idle close too.
    check_eq caddy_closes "$(q "d['tls']['closes']['after_connection_close'], d['tls']['closes']['idle']")" "close_notify_fin close_notify_fin"
    client_close_answered caddy
    # Caddy listens on [::]: its TIME_WAIT sockets are [::ffff:127.0.0.1]
    # and are counted at the target all the same (issue 21).
    b_srv=$(ss_tw "sport = :$PORT")
    load -c 4 -n 100 --close-header --close-wait 1s
    check_eq caddy_server_closes "$(ql "d['closed_first']['server'], d['tls']['server_close_notify_with_fin'], d['time_wait_at_target']")" "100 100 $((TW_SRV - b_srv))"
fi

# 8. h2o with a TLS listener: http1-request-timeout 2 is its idle timeout,
#    no request cap, close_notify then FIN.
if have h2o h2o; then
    fresh; mkdir -p "$D/htdocs"; printf 'ok\n' > "$D/htdocs/index.html"; chmod -R a+rX "$D"
    cat > "$D/h2o.conf" <<CONF
user: nobody
num-threads: 1
http1-request-timeout: 2
listen:
  host: 127.0.0.1
  port: $PORT
  ssl:
    certificate-file: $CERT
    key-file: $KEY
hosts:
  default:
    paths:
      /:
        file.dir: $D/htdocs
CONF
    bg H2O_PID ip netns exec "$NS" h2o -c "$D/h2o.conf" 2>"$D/h2o.log"
    wait_listen "$NS" $PORT
    probe --max-requests 300
    check_eq h2o_session "$(q "d['server']['kind'], d['knobs']['idle']") $(tls_of)" "h2o http1-request-timeout TLSv1.3 http/1.1"
    check h2o_idle_2s within "$(q "d['idle_timeout_s']")" 2 0.3
    check_eq h2o_no_cap "$(q "d['request_cap'], d['limit']['back_to_back']['responses']")" "None 300"
    check_eq h2o_closes "$(q "d['tls']['closes']['after_connection_close'], d['tls']['closes']['idle']")" "close_notify_fin close_notify_fin"
    client_close_answered h2o
fi

# Every JSON document above holds to schemas/.
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
    bad=""
    for f in "$tmp"/docs/*.json; do
        out=$(/usr/bin/python3 "$(dirname "$0")/../lib/validate_json.py" "$(dirname "$0")/../../schemas" "$f" 2>&1) || bad="$bad $(basename "$f"): $out;"
    done
    check_eq tls_json_valid "$(ls "$tmp"/docs/*.json | wc -l) documents,${bad:- all valid}" "$(ls "$tmp"/docs/*.json | wc -l) documents, all valid"
fi
