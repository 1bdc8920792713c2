#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer load over HTTP/2 against h2load (the anchor: nghttp2's own load
# generator, on the same libnghttp2), the same nginx h2c endpoint, the same
# connections, streams per connection (-m) and duration, interleaved in one
# run so drift hits both alike. Prints the median req/s of each, the ratio
# closer/h2load (goal >= 1.0) and the client's CPU time per request.
#   bench/h2.sh [DURATION_S] [RUNS] [CONNECTIONS] [STREAMS]   (defaults 4, 3, 16, 10)
# nginx (1 process, `return 200`, no stream cap) is pinned to CPU 0, the
# clients to CPU 1, so the client under test never steals the server's core.
. "$(dirname "$0")/lib.sh"
bench_need_root
DUR=${1:-4} RUNS=${2:-3} CONNS=${3:-16} STREAMS=${4:-10}
command -v h2load >/dev/null || { echo "h2: h2load missing (scripts/deps.sh: nghttp2-client)"; exit 2; }
command -v nginx >/dev/null || { echo "h2: nginx missing (scripts/deps.sh)"; exit 2; }
[ -x "$CLOSER" ] || { echo "h2: $CLOSER missing (make closer)"; exit 2; }
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
    keepalive_requests 100000000;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server { listen 127.0.0.1:8080 http2 backlog=4096; location / { return 200 "ok\n"; } }
}
CONF
bench_bg ip netns exec "$NS" taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir"
for _ in $(seq 50); do ip netns exec "$NS" ss -Htln 'sport = :8080' | grep -q . && break; sleep 0.1; done
URL=http://127.0.0.1:8080/

# run_client TOOL: prints "req_per_s cpu_us_per_request".
run_client() {
    local tool=$1 f t out
    f=$(mktemp) t=$(mktemp)
    if [ "$tool" = h2load ]; then
        ip netns exec "$NS" /usr/bin/time -o "$t" -f "%U %S" taskset -c 1 \
            h2load -t1 -c"$CONNS" -m"$STREAMS" -D"$DUR" "$URL" > "$f" 2>&1
        # "finished in 4.00s, 123456.00 req/s, ..." and "requests: N total, N started, N done, S succeeded"
        out=$(awk '/^finished in/ {r = $4} /^requests:/ {n = $8} END {print r, n}' "$f")
    else
        ip netns exec "$NS" /usr/bin/time -o "$t" -f "%U %S" taskset -c 1 \
            "$CLOSER" load --http2-prior-knowledge -t1 -c"$CONNS" -m"$STREAMS" -d"${DUR}s" --json "$URL" > "$f" 2>&1
        out=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['requests_per_s'], d['status_2xx'])" "$f" 2>/dev/null)
    fi
    read -r rps n <<<"${out:-0 0}"
    read -r u s < <(tail -1 "$t")
    awk -v r="$rps" -v n="$n" -v u="$u" -v s="$s" 'BEGIN { printf "%.0f %.2f\n", r, (n > 0 ? (u + s) * 1e6 / n : 0) }'
    rm -f "$f" "$t"
}

echo "== h2: closer load vs h2load over h2c, nginx 1 process, -t1 -c$CONNS -m$STREAMS -d${DUR}s, median of $RUNS runs"
printf '%-8s %12s %12s %16s\n' client "req/s" "x h2load" "CPU us/request"
hr=() hc=() cr=() cc=()
for ((i = 0; i < RUNS; i++)); do
    read -r a b < <(run_client h2load); hr+=("$a") hc+=("$b")
    read -r a b < <(run_client closer); cr+=("$a") cc+=("$b")
done
h=$(bench_median "${hr[@]}") c=$(bench_median "${cr[@]}")
hcpu=$(bench_median "${hc[@]}") ccpu=$(bench_median "${cc[@]}")
printf '%-8s %12.0f %12s %16.2f   req/s per run: %s\n' h2load "$h" 1.00 "$hcpu" "${hr[*]}"
printf '%-8s %12.0f %12s %16.2f   req/s per run: %s\n' closer "$c" "$(ratio "$c" "$h")" "$ccpu" "${cr[*]}"
bench_summary "h2 -c$CONNS -m$STREAMS: closer $(printf %.0f "$c") req/s vs h2load $(printf %.0f "$h") = $(ratio "$c" "$h")x (goal >= 1.0); CPU/request closer $ccpu us, h2load $hcpu us"
