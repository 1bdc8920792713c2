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
echo "info: --close-header at once: server $(ql "d['closed_first']['server']") client $(ql "d['closed_first']['client']"); TIME_WAIT ss server $TW_SRV client $TW_CLI"

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
