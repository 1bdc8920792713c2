#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer load over TLS against wrk (the anchor), same nginx (TLSv1.3,
# session tickets on), same connections, threads and duration, interleaved
# in one run. Two closing patterns: keep-alive, and Connection: close (a new
# TLS connection per request: the price of no keep-alive on HTTPS). Both
# clients skip certificate verification (wrk never verifies; closer -k) and
# resume sessions. Prints the median req/s of each, the ratio closer/wrk
# (goal >= 0.9) and the client's CPU time per request.
#   bench/tls.sh [DURATION_S] [RUNS] [CONNECTIONS]     (defaults 4, 3, 64)
# nginx (1 process, `return 200`) is pinned to CPU 0, the clients to CPU 1,
# so the client under test never steals the server's core.
. "$(dirname "$0")/lib.sh"
bench_need_root
DUR=${1:-4} RUNS=${2:-3} CONNS=${3:-64}
command -v wrk >/dev/null || { echo "tls: wrk missing (scripts/deps.sh)"; exit 2; }
command -v nginx >/dev/null || { echo "tls: nginx missing (scripts/deps.sh)"; exit 2; }
[ -x "$CLOSER" ] || { echo "tls: $CLOSER missing (make closer)"; exit 2; }
bench_netns NS
dir=$(mktemp -d)
trap '__bench_cleanup; rm -rf "$dir"' EXIT
mkdir -p "$dir/logs"
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log crit;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $ROOT/tests/data/tls/cert.pem;
    ssl_certificate_key $ROOT/tests/data/tls/key.pem;
    ssl_session_cache shared:SSL:10m;
    server { listen 127.0.0.1:8443 ssl backlog=4096; location / { return 200 "ok\n"; } }
}
CONF
# Connection: close rounds leave a TIME_WAIT per request on the server; let
# it reuse ports freely rather than measure port exhaustion.
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_max_tw_buckets=2000000
bench_bg ip netns exec "$NS" taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir"
for _ in $(seq 50); do ip netns exec "$NS" ss -Htln 'sport = :8443' | grep -q . && break; sleep 0.1; done
URL=https://127.0.0.1:8443/

# run_client TOOL MODE: prints "req_per_s cpu_us_per_request".
run_client() {
    local tool=$1 mode=$2 f t out
    f=$(mktemp) t=$(mktemp)
    if [ "$tool" = wrk ]; then
        local h=()
        [ "$mode" = close ] && h=(-H "Connection: close")
        ip netns exec "$NS" /usr/bin/time -o "$t" -f "%U %S" taskset -c 1 \
            wrk -t1 -c"$CONNS" -d"${DUR}s" "${h[@]}" "$URL" > "$f" 2>&1
        out=$(awk '/^Requests\/sec:/ {r = $2} /requests in/ {n = $1} END {print r, n}' "$f")
    else
        local h=()
        [ "$mode" = close ] && h=(--close-header)
        ip netns exec "$NS" /usr/bin/time -o "$t" -f "%U %S" taskset -c 1 \
            "$CLOSER" load -k -t1 -c"$CONNS" -d"${DUR}s" "${h[@]}" --json "$URL" > "$f" 2>&1
        out=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['requests_per_s'], d['requests'])" "$f" 2>/dev/null)
    fi
    read -r rps n <<<"${out:-0 0}"
    read -r u s < <(tail -1 "$t")
    awk -v r="$rps" -v n="$n" -v u="$u" -v s="$s" 'BEGIN { printf "%.0f %.2f\n", r, (n > 0 ? (u + s) * 1e6 / n : 0) }'
    rm -f "$f" "$t"
}

echo "== tls: closer load vs wrk over TLS, nginx 1 process, -t1 -c$CONNS -d${DUR}s, median of $RUNS runs"
printf '%-12s %-7s %12s %10s %16s\n' mode client "req/s" "x wrk" "CPU us/request"
for mode in keepalive close; do
    wr=() wc=() cr=() cc=()
    for ((i = 0; i < RUNS; i++)); do
        read -r a b < <(run_client wrk $mode); wr+=("$a") wc+=("$b")
        read -r a b < <(run_client closer $mode); cr+=("$a") cc+=("$b")
    done
    w=$(bench_median "${wr[@]}") c=$(bench_median "${cr[@]}")
    wcpu=$(bench_median "${wc[@]}") ccpu=$(bench_median "${cc[@]}")
    printf '%-12s %-7s %12.0f %10s %16.2f\n' $mode wrk "$w" 1.00 "$wcpu"
    printf '%-12s %-7s %12.0f %10s %16.2f\n' $mode closer "$c" "$(ratio "$c" "$w")" "$ccpu"
    bench_summary "tls $mode: closer $(printf %.0f "$c") req/s vs wrk $(printf %.0f "$w") = $(ratio "$c" "$w")x (goal >= 0.9); CPU/request closer $ccpu us, wrk $wcpu us"
done
