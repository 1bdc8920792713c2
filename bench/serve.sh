#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer serve against nginx (the anchor), same run, same machine, same
# response ("ok\n" via return), same worker count, access log off, both in
# private namespaces on loopback, driven by wrk: keep-alive and
# "Connection: close". Prints medians of RUNS runs: req/s, p99 latency,
# server CPU seconds per request (utime+stime from /proc/PID/stat of every
# server process), and ratios closer/nginx.
# A third anchor, bench/floor.c, is the sockets-API floor: a minimal epoll
# responder (recv, send a fixed answer; no parser, no timers).
# Goals: keep-alive CPU/request <= 1.05x the floor and <= 0.9x nginx.
# Then 19,000 idle keep-alive connections (the hard fd limit here is 20,000): the server's RSS growth per
# connection (goal <= 600 B; nginx 543 B), and how much of it the server
# gives back once they have all closed.
#   bench/serve.sh [RUNS] [SECONDS] [WORKERS] [IDLE]
# IDLE=0 skips the idle part; MODES="keepalive" (or "close") runs one mode.
# With one worker on 2+ CPUs the server runs on CPU 1 and wrk on CPU 0
# (PIN=0: let the scheduler place them): unpinned, where the two land
# (same CPU or not, who wakes whom) moved cpu/req by up to 40% from run
# to run, more than any difference between the servers; pinned, ~5%.
. "$(dirname "$0")/lib.sh"
bench_need_root
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "bench: needs wrk and nginx"; exit 2; }
RUNS=${1:-3} SECS=${2:-4} WORKERS=${3:-1} IDLE=${4:-19000}
CONNS=${CONNS:-64}
PORT=8080
SRV_CPU=() WRK_CPU=() VALGRIND=()
if [ "${PIN:-1}" = 1 ] && [ "$WORKERS" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    SRV_CPU=(taskset -c 1) WRK_CPU=(taskset -c 0)
fi
TMP=$(mktemp -d); trap '__bench_cleanup; rm -rf "$TMP"' EXIT
HZ=$(getconf CLK_TCK)
bench_build_c floor

nginx_conf() {
    mkdir -p "$TMP/nginx/logs"
    cat > "$TMP/nginx/nginx.conf" <<CONF
worker_processes $WORKERS;
worker_rlimit_nofile 40000;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log crit;
events { worker_connections 30000; multi_accept off; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$PORT reuseport backlog=4096;
        location / { return 200 "ok\n"; }
    }
}
CONF
}

wait_port() {
    local i
    for i in $(seq 1 100); do
        ip netns exec "$1" ss -Hltn "sport = :$PORT" | grep -q . && return 0
        sleep 0.05
    done
    return 1
}

# start_server NAME NS: starts it in NS, sets SERVER_PID.
start_server() {
    case $1 in
    nginx) ip netns exec "$2" "${SRV_CPU[@]}" "${VALGRIND[@]}" nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" & ;;
    floor) ip netns exec "$2" "${SRV_CPU[@]}" "${VALGRIND[@]}" "$ROOT/build/bench/floor" "$PORT" "$WORKERS" & ;;
    closer) ip netns exec "$2" "${SRV_CPU[@]}" "${VALGRIND[@]}" "$CLOSER" serve --listen 127.0.0.1:$PORT --workers "$WORKERS" \
                --backlog 4096 --keepalive-requests 1000000 --max-connections 40000 \
                --return 200 "ok"$'\n' 2>"$TMP/closer.log" & ;;
    esac
    SERVER_PID=$!
    __bench_pids+=("$SERVER_PID")
    wait_port "$2" || { echo "bench: $1 did not start"; exit 1; }
}

stop_server() { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; }

# The server's processes: the PID and its children (nginx's workers).
server_pids() { echo "$SERVER_PID" $(pgrep -P "$SERVER_PID"); }
cpu_ticks() {
    local p t=0
    for p in $(server_pids); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
rss_kib() {
    local p t=0
    for p in $(server_pids); do
        t=$((t + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

# one_run NAME MODE: prints "req_per_s p99_ms cpu_us_per_req errors".
one_run() {
    local name=$1 mode=$2 ns out c0 c1 hdr=()
    bench_netns ns
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1
    ip netns exec "$ns" sysctl -qw net.core.somaxconn=4096
    start_server "$name" "$ns"
    [ "$mode" = close ] && hdr=(-H "Connection: close")
    c0=$(cpu_ticks)
    out=$(ip netns exec "$ns" "${WRK_CPU[@]}" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "${hdr[@]}" "http://127.0.0.1:$PORT/" 2>&1)
    c1=$(cpu_ticks)
    stop_server
    ip netns del "$ns"
    echo "$out" > "$TMP/wrk.$name.$mode"
    echo "$out" | awk -v ticks=$((c1 - c0)) -v hz="$HZ" '
        /requests in/ { n = $1 }
        /Requests\/sec/ { rps = $2 }
        / 99%/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                 p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
        /Socket errors/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
        /Non-2xx/ { err += $NF }
        END { printf "%.0f %.3f %.2f %d\n", rps, p99, n ? ticks / hz / n * 1e6 : 0, err }'
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

nginx_conf
echo "== serve: closer serve vs nginx $(nginx -v 2>&1 | sed 's/.*\///'), $WORKERS worker(s), wrk -t1 -c$CONNS ${SECS}s, median of $RUNS runs"
printf '%-11s %-7s %10s %9s %12s %7s\n' mode server req_per_s p99_ms cpu_us_req errors
# Rounds interleave the servers (floor, nginx, closer, floor, ...), so drift
# in the machine's load hits them alike; each round's own closer/anchor
# ratio is kept too, and its median printed beside the ratio of medians.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); ${SRV_CPU[*]:+server pinned to CPU 1, wrk to CPU 0}"
for mode in ${MODES:-keepalive close}; do
    declare -A R=() RS=() PS=() CS=() ES=()
    rf=() rn=()
    for ((i = 0; i < RUNS; i++)); do
        for name in floor nginx closer; do
            read -r r p c e < <(one_run "$name" "$mode")
            RS[$name]+="$r " PS[$name]+="$p " CS[$name]+="$c " ES[$name]=$((${ES[$name]:-0} + e))
            [ "$name" = closer ] || eval "last_$name=$c"
        done
        rf+=("$(ratio "$c" "$last_floor")") rn+=("$(ratio "$c" "$last_nginx")")
    done
    for name in floor nginx closer; do
        R[$name.r]=$(printf '%s\n' ${RS[$name]} | median)
        R[$name.p]=$(printf '%s\n' ${PS[$name]} | median)
        R[$name.c]=$(printf '%s\n' ${CS[$name]} | median)
        printf '%-11s %-7s %10s %9s %12s %7s   cpu/req per run: %s\n' "$mode" "$name" "${R[$name.r]}" "${R[$name.p]}" \
            "${R[$name.c]}" "${ES[$name]}" "${CS[$name]% }"
    done
    goal=0.9
    printf '%-11s %-7s %10s %9s %12s   (closer/nginx; goal: cpu/req <= %s; median of per-round ratios %s)\n' "$mode" ratio \
        "$(ratio "${R[closer.r]}" "${R[nginx.r]}")" "$(ratio "${R[closer.p]}" "${R[nginx.p]}")" \
        "$(ratio "${R[closer.c]}" "${R[nginx.c]}")" "$goal" "$(printf '%s\n' "${rn[@]}" | median)"
    printf '%-11s %-7s %10s %9s %12s   (closer/floor; goal: cpu/req <= 1.05 keep-alive; median of per-round ratios %s)\n' "$mode" ratio \
        "$(ratio "${R[closer.r]}" "${R[floor.r]}")" "$(ratio "${R[closer.p]}" "${R[floor.p]}")" \
        "$(ratio "${R[closer.c]}" "${R[floor.c]}")" "$(printf '%s\n' "${rf[@]}" | median)"
    bench_summary "serve $mode cpu/req: closer/floor $(ratio "${R[closer.c]}" "${R[floor.c]}"), closer/nginx $(ratio "${R[closer.c]}" "${R[nginx.c]}")"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# System calls per keep-alive request: one wrk run per server with
# bpftrace counting every system call the server's processes enter
# (SYSCALLS=0 skips it; needs bpftrace). What a server asks of the kernel
# per request costs more than any user code: the floor needs one recv and
# one send, and an epoll_wait shared by the requests of one wake-up.
syscalls_run() {
    local name=$1 ns out n filt bt
    bench_netns ns
    start_server "$name" "$ns"
    filt=$(for p in $(server_pids); do printf 'pid == %s || ' "$p"; done)
    bpftrace -q -o "$TMP/sc.$name" -e "BEGIN { printf(\"ready\\n\"); }
        tracepoint:syscalls:sys_enter_* /${filt% || }/ { @[probe] = count(); }" >/dev/null 2>&1 &
    bt=$!
    for _ in $(seq 1 300); do grep -q ready "$TMP/sc.$name" 2>/dev/null && break; sleep 0.1; done
    out=$(ip netns exec "$ns" "${WRK_CPU[@]}" wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$PORT/" 2>&1)
    kill -INT "$bt"; wait "$bt" 2>/dev/null
    stop_server
    ip netns del "$ns"
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    n=${n:-0}
    printf '%-7s %9d %7s  ' "$name" "$n" "$(awk -v n="$n" '/sys_enter_/ { t += $NF }
        END { printf "%.3f", n ? t / n : 0 }' "$TMP/sc.$name")"
    awk -v n="$n" '/sys_enter_/ { k = $0; sub(/.*sys_enter_/, "", k); sub(/\].*/, "", k)
        if (n && $NF / n >= 0.0005) printf "%s %.3f\n", k, $NF / n }' "$TMP/sc.$name" |
        sort -k2,2gr | awk '{ printf " %s %s", $1, $2 } END { print "" }'
}
if [ "${SYSCALLS:-1}" != 0 ] && command -v bpftrace >/dev/null; then
    echo
    echo "== serve: system calls per keep-alive request (bpftrace; one run each, wrk -t1 -c$CONNS ${SECS}s)"
    printf '%-7s %9s %7s   %s\n' server requests total "per request, by call (>= 0.0005)"
    for name in floor nginx closer; do syscalls_run "$name"; done
fi

# User-space instructions per keep-alive request (INSTR=1, needs valgrind):
# each server once under callgrind, which counts every instruction its
# processes run outside the kernel: a figure the machine's load does not
# move, for the part of cpu/req that is the server's own code (callgrind
# slows it ~20x, so wake-ups batch more requests than in the timed runs).
instr_run() {
    local name=$1 ns out n tot
    bench_netns ns
    mkdir -p "$TMP/cg" && chmod 711 "$TMP" && chmod 1777 "$TMP/cg" # nginx's worker writes as nobody
    VALGRIND=(valgrind -q --vgdb=no --tool=callgrind --trace-children=yes --callgrind-out-file="$TMP/cg/$name.%p")
    start_server "$name" "$ns"
    out=$(ip netns exec "$ns" "${WRK_CPU[@]}" wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$PORT/" 2>&1)
    stop_server
    VALGRIND=()
    ip netns del "$ns"
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    tot=$(cat "$TMP"/cg/"$name".* 2>/dev/null | awk '/^summary:/ { t += $2 } END { print t + 0 }')
    printf '%-7s %9d %14d %10.0f\n' "$name" "${n:-0}" "$tot" "$(awk -v t="$tot" -v n="${n:-0}" 'BEGIN { print n ? t / n : 0 }')"
}
if [ "${INSTR:-0}" = 1 ] && command -v valgrind >/dev/null; then
    echo
    echo "== serve: user-space instructions per keep-alive request (callgrind; one run each, wrk -t1 -c$CONNS ${SECS}s)"
    printf '%-7s %9s %14s %10s\n' server requests instructions per_req
    for name in floor nginx closer; do instr_run "$name"; done
fi

# Idle keep-alive connections: RSS before and after IDLE connections that
# each made one request and then sit idle.
idle_rss() {
    local name=$1 ns before after held
    bench_netns ns
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
    start_server "$name" "$ns"
    before=$(rss_kib)
    mkfifo "$TMP/hold.$name"
    # The script from a file: stdin is the fifo that keeps the connections
    # open until the RSS is read (a here-document there was the script's
    # own stdin, so sys.stdin.read() returned at once and the client closed
    # everything before the measurement).
    cat > "$TMP/idle.py" <<'PY'
import resource, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
ok = 0
for s in socks:
    data = b""
    while b"ok\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    ok += b"ok\n" in data
print(ok, flush=True)
sys.stdin.read()
PY
    ip netns exec "$ns" python3 "$TMP/idle.py" "$PORT" "$IDLE" > "$TMP/idle.$name" 2>&1 < "$TMP/hold.$name" &
    local py=$!
    exec 9>"$TMP/hold.$name"
    for _ in $(seq 1 600); do [ -s "$TMP/idle.$name" ] && break; sleep 0.1; done
    sleep 0.3
    after=$(rss_kib)
    # the server's side of the connections still open as RSS was read
    held=$(ip netns exec "$ns" ss -Htn state established "sport = :$PORT" | wc -l)
    exec 9>&-
    wait "$py" 2>/dev/null
    # All closed: what the server gave back (closer trims after a burst).
    for _ in $(seq 1 50); do
        ip netns exec "$ns" ss -Htn state established "sport = :$PORT" | grep -q . || break
        sleep 0.1
    done
    sleep 0.5
    closed=$(rss_kib)
    stop_server
    ip netns del "$ns"
    echo "$(head -1 "$TMP/idle.$name") $held $before $after $closed"
}
[ "$IDLE" -gt 0 ] || exit 0
echo
echo "== serve: $IDLE idle keep-alive connections, server RSS growth (goal: closer <= 600 B/connection), then all closed"
printf '%-7s %8s %6s %11s %10s %13s %12s %9s\n' server answered held rss_before rss_idle bytes_per_conn rss_closed returned
for name in nginx closer; do
    read -r ok held b a z < <(idle_rss "$name")
    per=$(awk -v b="$b" -v a="$a" -v n="$IDLE" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
    back=$(awk -v b="$b" -v a="$a" -v z="$z" 'BEGIN { if (a > b) printf "%.0f%%", (a - z) * 100 / (a - b); else print "n/a" }')
    printf '%-7s %8s %6s %11s %10s %13s %12s %9s\n' "$name" "$ok" "$held" "$b" "$a" "$per" "$z" "$back"
    [ "$held" = "$IDLE" ] || echo "bench: only $held of $IDLE connections were open as $name's RSS was read: the figure is void"
    bench_summary "serve idle: $name $per B/connection, $back returned after close"
done
