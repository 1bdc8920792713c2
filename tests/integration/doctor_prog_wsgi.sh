#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Server-side TIME_WAIT made by real Python and PHP application servers,
# each in a private namespace, and the advice applied to the same program:
#   1. gunicorn, sync worker (the default), under a keep-alive load (wrk):
#      the sync worker answers `Connection: close` and closes every
#      connection -> server-time-wait on 8000, program gunicorn, cause no
#      keep-alive, fix `-k gthread` + `--keep-alive`. Applied: no pile.
#   2. uvicorn --timeout-keep-alive 1 with requests.Session clients that
#      idle 2 s between requests: uvicorn closes each idle connection ->
#      server-time-wait, cause idle timeout, fix `--timeout-keep-alive`.
#      Applied (5 s, above the gap): no pile. And --timeout-keep-alive 3 with
#      clients idle 4 s, the idle connections visible before the close.
#   3. php-fpm behind nginx without fastcgi_keep_conn: php-fpm closes each
#      FastCGI connection after its response, the TIME_WAIT lands on
#      php-fpm's side (local port 9000), none on nginx's -> server-time-wait
#      on 9000, program php-fpm, protocol fastcgi, peer nginx, fix
#      `fastcgi_keep_conn on` + upstream keepalive. Applied: no pile.
# ss is the referee for every count; every load is bounded.
#   RECORD_DIR=tests/data/doctor bash tests/integration/doctor_prog_wsgi.sh
# also saves each case's dump (tests/data/doctor/wsgi.cases lists them).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/nginx.sh"
need_root
PY=/usr/bin/python3
for p in wrk nginx; do
    command -v $p >/dev/null || { echo "SKIP: $p not installed (scripts/deps.sh)"; exit 0; }
done
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

# fport FILE PORT EXPR: EXPR over the server-time-wait finding of PORT as f
# ("none" if there is none).
fport() { json_get "$1" "(lambda f: ($3) if f else 'none')(next((f for f in d['findings'] if f['id']=='server-time-wait' and f.get('port')==$2), None))"; }
# nport FILE PORT: how many server-time-wait findings PORT has.
nport() { json_get "$1" "sum(1 for f in d['findings'] if f['id']=='server-time-wait' and f.get('port')==$2)"; }
tw_on() { ip netns exec "$1" ss -Htan state time-wait "( $2 )" | wc -l; }
# owners NS PORT: the pids holding the listener on PORT, as a Python list.
owners() {
    echo "[$(ip netns exec "$1" ss -Htlnp "sport = :$2" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -n | paste -sd,)]"
}
nowners() { ip netns exec "$1" ss -Htlnp "sport = :$2" | grep -o 'pid=' | wc -l; }
# look NS FILE PORT REC [EXPR]: doctor --json --record until the finding
# of PORT had at least 3 ESTABLISHED connections to learn from (and EXPR
# over it as f holds), 6 tries: the open set under load changes every
# millisecond, a starved load generator can look idle for a moment, and a
# connection seen by netlink can be gone before the /proc walk finds its
# owner. The last look is the one asserted.
look() {
    local i
    for i in 1 2 3 4 5 6; do
        ip netns exec "$1" "$CLOSER" doctor --json --confirm 0 --record "$4" > "$2"
        [ "$(fport "$2" "$3" "int(bool(f['facts']['sampled_connections'] >= 3 and (${5:-True})))")" = 1 ] && return 0
        echo "  look $i at :$3: $(fport "$2" "$3" "(f['facts']['sampled_connections'], f['cause'], f.get('peer_program'))")"
        sleep 0.2
    done
    return 1
}
# has FILE PORT FIELD WORD...: the finding's FIELD contains every WORD.
has() {
    local file=$1 port=$2 field=$3 w got; shift 3
    got=$(fport "$file" "$port" "f.get('$field', '')")
    for w in "$@"; do
        [[ "$got" == *"$w"* ]] || { echo "  $field lacks '$w': ${got:0:400}"; return 1; }
    done
}
# lacks FILE PORT FIELD WORD: the finding's FIELD does not contain WORD.
lacks() {
    local got
    got=$(fport "$1" "$2" "f.get('$3', '')")
    [[ "$got" != *"$4"* ]] || { echo "  $3 names '$4': ${got:0:400}"; return 1; }
}
# record DUMP JSON: copies the case's dump, its .owners and its JSON to
# $RECORD_DIR.
record() {
    [ -n "${RECORD_DIR:-}" ] || return 0
    mkdir -p "$RECORD_DIR" && cp "$tmp/$1" "$RECORD_DIR/" && cp "$tmp/$2" "$RECORD_DIR/${1%.dump}.json"
    # The processes (doctor --record writes them next to the dump).
    [ ! -f "$tmp/$1.owners" ] || cp "$tmp/$1.owners" "$RECORD_DIR/"
}

cat > "$tmp/app.py" <<'PY'
def app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '3')])
    return [b'ok\n']
PY
cat > "$tmp/asgi.py" <<'PY'
async def app(scope, receive, send):
    if scope['type'] != 'http':
        return
    await send({'type': 'http.response.start', 'status': 200,
                'headers': [(b'content-type', b'text/plain'), (b'content-length', b'3')]})
    await send({'type': 'http.response.body', 'body': b'ok\n'})
PY
# N keep-alive clients (a requests.Session each, a pool of one), started
# GAP/N apart, each asking every GAP seconds, ROUNDS times; exit 1 on any
# failed request.
cat > "$tmp/pool.py" <<'PY'
import sys, threading, time, requests
url, n, gap, rounds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
errors = []
def client(i):
    time.sleep(i * gap / n)
    with requests.Session() as s:
        for _ in range(rounds):
            try:
                s.get(url, timeout=10).raise_for_status()
            except Exception as e:
                errors.append(e)
            time.sleep(gap)
ts = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
sys.exit(1 if errors else 0)
PY

# ---------------------------------------------------------------- gunicorn
if [ -x /usr/bin/gunicorn ] && "$PY" -c 'import gunicorn' 2>/dev/null; then
    # gunicorn NS ARGS...: gunicorn on 127.0.0.1:8000 serving app:app (its
    # script runs /usr/bin/python3; comm is "gunicorn", the exe python3.11).
    gunicorn() {
        local ns=$1; shift
        bg GUNI_PID ip netns exec "$ns" /usr/bin/gunicorn -w 2 "$@" -b 127.0.0.1:8000 \
            --chdir "$tmp" app:app
        wait_listen "$ns" 8000 && wait_for 5 sh -c "[ \$(ip netns exec $ns ss -Htlnp 'sport = :8000' | grep -o 'pid=' | wc -l) -ge 3 ]"
    }
    netns_new NS
    if gunicorn "$NS" --log-level warning 2>"$tmp/gunicorn1.log"; then
        check_eq gunicorn_sync_says_close "$(ip netns exec "$NS" curl -sI http://127.0.0.1:8000/ | tr -d '\r' | grep -i '^connection:')" "Connection: close"
        # 6 s: on a loaded host one look can take a second, and the verdict
        # needs the connections open while wrk runs.
        bg WRK sh -c "ip netns exec $NS wrk -t1 -c8 -d6s http://127.0.0.1:8000/ >/dev/null 2>&1"
        wait_for 5 sh -c "[ \$(ip netns exec $NS ss -Htan state time-wait '( sport = :8000 )' | wc -l) -ge 20 ]"
        look "$NS" "$tmp/guni.json" 8000 "$tmp/wsgi_gunicorn_sync.dump" "f['cause'] != 'undecided'" ||
            echo "  gunicorn: no look had 3 connections and a verdict"
        own=$(owners "$NS" 8000)
        wait "$WRK" >/dev/null
        before=$(tw_on "$NS" "sport = :8000")
        check gunicorn_sync_pile test "$before" -ge 1000
        check_eq gunicorn_one_finding "$(nport "$tmp/guni.json" 8000)" 1
        check_eq gunicorn_cause "$(fport "$tmp/guni.json" 8000 "f.get('cause')")" "no keep-alive"
        check_eq gunicorn_program "$(fport "$tmp/guni.json" 8000 "(f.get('program'), f.get('protocol'), f.get('runtime'))")" "('gunicorn', 'http', 'python')"
        check_eq gunicorn_owner "$(fport "$tmp/guni.json" 8000 "(f.get('pid') in $own, f.get('comm'))")" "(True, 'gunicorn')"
        # One finding for the listener the master and its workers share.
        check_eq gunicorn_processes "$(fport "$tmp/guni.json" 8000 "f.get('processes')")" "$(nowners "$NS" 8000)"
        check gunicorn_fix_knob has "$tmp/guni.json" 8000 fix "gthread" "--keep-alive"
        # The worker class comes from the cmdline (no -k: sync).
        check_eq gunicorn_names_sync_worker "$(fport "$tmp/guni.json" 8000 "'sync' in f.get('why', '') + f.get('fix', '')")" True
        check gunicorn_fix_not_nginx lacks "$tmp/guni.json" 8000 fix "keepalive_timeout"
        record wsgi_gunicorn_sync.dump guni.json
        echo "  gunicorn sync: $before TIME_WAIT on :8000 after wrk -c8 -d6s; ss $(ip netns exec "$NS" ss -Htan state time-wait '( dport = :8000 )' | wc -l) on wrk's side"

        # The advice applied: the threaded worker keeps connections alive.
        kill -TERM "$GUNI_PID"; wait "$GUNI_PID" 2>/dev/null
        netns_new NS
        if gunicorn "$NS" -k gthread --threads 4 --keep-alive 5 --log-level warning 2>"$tmp/gunicorn2.log"; then
            ip netns exec "$NS" wrk -t1 -c8 -d6s http://127.0.0.1:8000/ > "$tmp/wrk2.txt" 2>&1
            after=$(tw_on "$NS" "sport = :8000")
            check gunicorn_gthread_requests grep -q ' requests in ' "$tmp/wrk2.txt"
            check_eq gunicorn_gthread_no_pile "$after" 0
            ip netns exec "$NS" "$CLOSER" doctor --json --confirm 0 > "$tmp/guni2.json"
            check_eq gunicorn_gthread_no_finding "$(nport "$tmp/guni2.json" 8000)" 0
            echo "  gunicorn gthread --keep-alive 5: $after TIME_WAIT on :8000 ($(grep ' requests in ' "$tmp/wrk2.txt"))"
        else
            fail gunicorn_gthread_start "gunicorn -k gthread did not listen: $(tail -3 "$tmp/gunicorn2.log")"
        fi
        kill -TERM "$GUNI_PID" 2>/dev/null; wait "$GUNI_PID" 2>/dev/null
    else
        fail gunicorn_start "gunicorn did not listen: $(tail -3 "$tmp/gunicorn1.log")"
    fi
else
    echo "SKIP gunicorn: /usr/bin/gunicorn or python3-gunicorn missing (scripts/deps.sh)"
fi

# ----------------------------------------------------------------- uvicorn
if "$PY" -c 'import uvicorn, requests' 2>/dev/null; then
    uvicorn() {  # NS PORT TIMEOUT
        bg UVI_PID ip netns exec "$1" "$PY" -m uvicorn --app-dir "$tmp" --host 127.0.0.1 \
            --port "$2" --timeout-keep-alive "$3" --log-level warning asgi:app
        wait_listen "$1" "$2"
    }
    netns_new NS
    if uvicorn "$NS" 8001 1; then
        bg POOL ip netns exec "$NS" "$PY" "$tmp/pool.py" http://127.0.0.1:8001/ 10 2 6
        # Each connection: asked, idle 1 s, closed by uvicorn, replaced at
        # the client's next request (urllib3 sees it dropped and closes it,
        # so uvicorn's end goes to TIME_WAIT). Look after a few cycles.
        wait_for 10 sh -c "[ \$(ip netns exec $NS ss -Htan state time-wait '( sport = :8001 )' | wc -l) -ge 10 ]"
        look "$NS" "$tmp/uvi.json" 8001 "$tmp/wsgi_uvicorn_idle.dump" "f['cause'] != 'undecided'" ||
            echo "  uvicorn: no look had 3 connections and a verdict"
        own=$(owners "$NS" 8001)
        wait "$POOL"; check_eq uvicorn_pool_ok $? 0
        before=$(tw_on "$NS" "sport = :8001")
        check uvicorn_pile test "$before" -ge 30
        # uvicorn closes a connection idle 1 s; the cause rule counts a
        # connection idle only from 1 s of silence, so it must also read
        # the answered connections idle for less and the FIN_WAIT2 on the
        # port (uvicorn closed, the pool has not yet) as an idle timeout.
        check_eq uvicorn_cause "$(fport "$tmp/uvi.json" 8001 "f.get('cause')")" "idle timeout"
        check_eq uvicorn_program "$(fport "$tmp/uvi.json" 8001 "(f.get('program'), f.get('protocol'), f.get('runtime'))")" "('uvicorn', 'http', 'python')"
        check_eq uvicorn_owner "$(fport "$tmp/uvi.json" 8001 "(f.get('pid') in $own, f.get('comm'))")" "(True, 'python3')"
        check uvicorn_fix_knob has "$tmp/uvi.json" 8001 fix "--timeout-keep-alive"
        check uvicorn_fix_not_nginx lacks "$tmp/uvi.json" 8001 fix "keepalive_timeout"
        record wsgi_uvicorn_idle.dump uvi.json
        echo "  uvicorn --timeout-keep-alive 1, 10 clients idle 2 s x6: $before TIME_WAIT on :8001"
        kill -TERM "$UVI_PID"; wait "$UVI_PID" 2>/dev/null

        # Meanwhile (started now, looked at after the next run): the same
        # with a timeout the rule can see idle before it, 3 s, and clients
        # asking every 4 s.
        uvicorn "$NS" 8003 3 && UVI3_PID=$UVI_PID
        bg POOL3 ip netns exec "$NS" "$PY" "$tmp/pool.py" http://127.0.0.1:8003/ 10 4 4

        # The advice applied: an idle timeout above the clients' gap.
        if uvicorn "$NS" 8002 5; then
            ip netns exec "$NS" "$PY" "$tmp/pool.py" http://127.0.0.1:8002/ 10 2 4
            check_eq uvicorn_timeout5_pool_ok $? 0
            after=$(tw_on "$NS" "sport = :8002")
            check_eq uvicorn_timeout5_no_pile "$after" 0
            echo "  uvicorn --timeout-keep-alive 5, the same clients x4: $after TIME_WAIT on :8002"
        else
            fail uvicorn_start "uvicorn did not listen on 8002"
        fi
        kill -TERM "$UVI_PID" 2>/dev/null; wait "$UVI_PID" 2>/dev/null

        wait_for 10 sh -c "[ \$(ip netns exec $NS ss -Htan state time-wait '( sport = :8003 )' | wc -l) -ge 5 ]"
        look "$NS" "$tmp/uvi3.json" 8003 "$tmp/wsgi_uvicorn_idle3.dump" "f['cause'] != 'undecided'" ||
            echo "  uvicorn 3 s: no look had 3 connections and a verdict"
        check_eq uvicorn3_finding "$(fport "$tmp/uvi3.json" 8003 "(f.get('cause'), f.get('program'), f.get('protocol'), f['count'] > 0)")" "('idle timeout', 'uvicorn', 'http', True)"
        check uvicorn3_fix_knob has "$tmp/uvi3.json" 8003 fix "--timeout-keep-alive"
        check uvicorn3_max_idle_below_timeout test "$(fport "$tmp/uvi3.json" 8003 "int(1.0 <= f['facts']['max_idle_s'] < 3.0)")" = 1
        record wsgi_uvicorn_idle3.dump uvi3.json
        echo "  uvicorn --timeout-keep-alive 3, clients idle 4 s: $(tw_on "$NS" "sport = :8003") TIME_WAIT on :8003, cause $(fport "$tmp/uvi3.json" 8003 "f.get('cause')"), max idle $(fport "$tmp/uvi3.json" 8003 "f['facts']['max_idle_s']") s"
        kill -TERM "$POOL3" "$UVI3_PID" 2>/dev/null; wait "$POOL3" "$UVI3_PID" 2>/dev/null
    else
        fail uvicorn_start "uvicorn did not listen on 8001"
    fi
else
    echo "SKIP uvicorn: python3-uvicorn or python3-requests missing (scripts/deps.sh)"
fi

# ------------------------------------------------------- php-fpm + nginx
FPM=$(command -v php-fpm8.2 || command -v php-fpm)
if [ -n "$FPM" ]; then
    mkdir -p "$tmp/www"
    # 20 ms per request under wrk -c8 (at most 400 a second: the recorded
    # table stays small). Three slow requests keep FastCGI connections
    # open for 6 s, so doctor finds nginx at their other end in /proc
    # (on a loaded host the /proc walk takes longer than a fast request).
    echo '<?php usleep(20000); echo "ok\n";' > "$tmp/www/index.php"
    echo '<?php sleep(6); echo "ok\n";' > "$tmp/www/slow.php"
    cat > "$tmp/php-fpm.conf" <<CONF
[global]
pid = $tmp/php-fpm.pid
error_log = $tmp/php-fpm.log
daemonize = no
[www]
listen = 127.0.0.1:9000
; at least as many children as nginx can have FastCGI connections open
; (wrk -c8 and three slow requests), or kept connections would hold every
; child
pm = static
pm.max_children = 12
CONF
    fcgi="fastcgi_param SCRIPT_FILENAME $tmp/www\$fastcgi_script_name;
            fastcgi_param REQUEST_METHOD \$request_method;
            fastcgi_param SERVER_PROTOCOL \$server_protocol;"
    fpm() {  # NS: php-fpm in the foreground (-R: the test runs as root)
        bg FPM_PID ip netns exec "$1" "$FPM" -F -R -y "$tmp/php-fpm.conf"
        wait_listen "$1" 9000
    }
    netns_new NS
    if fpm "$NS" && nginx_run "$NS" 8080 "$tmp/ng1" "" "" "location / { $fcgi fastcgi_pass 127.0.0.1:9000; }"; then
        check_eq fpm_answers "$(ip netns exec "$NS" curl -s http://127.0.0.1:8080/index.php)" ok
        for i in 1 2 3; do
            bg SLOW ip netns exec "$NS" curl -s -m 10 -o /dev/null http://127.0.0.1:8080/slow.php
        done
        bg WRK sh -c "ip netns exec $NS wrk -t1 -c8 -d3s http://127.0.0.1:8080/index.php >/dev/null 2>&1"
        wait_for 5 sh -c "[ \$(ip netns exec $NS ss -Htan state time-wait '( sport = :9000 )' | wc -l) -ge 50 ]"
        look "$NS" "$tmp/fpm.json" 9000 "$tmp/wsgi_phpfpm_nginx.dump" "f.get('peer_program')" ||
            echo "  php-fpm: no look had 3 FastCGI connections open and their owner"
        own=$(owners "$NS" 9000) nfpm=$(nowners "$NS" 9000)
        wait "$WRK" >/dev/null
        before=$(tw_on "$NS" "sport = :9000")
        nginx_side=$(tw_on "$NS" "dport = :9000")
        # php-fpm closes first: its end (local port 9000) holds the TIME_WAIT.
        check fpm_pile_on_fpm_side test "$before" -ge 300
        check_eq fpm_none_on_nginx_side "$nginx_side" 0
        check_eq fpm_no_port_pressure "$(json_get "$tmp/fpm.json" "[f['dest'] for f in d['findings'] if f['id']=='client-port-pressure' and f.get('dest')=='127.0.0.1:9000']")" "[]"
        check_eq fpm_one_finding "$(nport "$tmp/fpm.json" 9000)" 1
        check_eq fpm_program "$(fport "$tmp/fpm.json" 9000 "(f.get('program'), f.get('protocol'), f.get('peer_program'), f.get('runtime'))")" "('php-fpm', 'fastcgi', 'nginx', 'php')"
        check_eq fpm_owner "$(fport "$tmp/fpm.json" 9000 "(f.get('pid') in $own, f.get('comm'))")" "(True, '$(basename "$FPM")')"
        check_eq fpm_processes "$(fport "$tmp/fpm.json" 9000 "f.get('processes')")" "$nfpm"
        check_eq fpm_cause_not_http "$(fport "$tmp/fpm.json" 9000 "f.get('cause') in ('no keep-alive', 'undecided')")" True
        check fpm_fix_knob has "$tmp/fpm.json" 9000 fix "fastcgi_keep_conn on" "keepalive"
        # It may say proxy_http_version is not for FastCGI, never advise it.
        check fpm_fix_not_http lacks "$tmp/fpm.json" 9000 fix "proxy_http_version 1.1"
        record wsgi_phpfpm_nginx.dump fpm.json
        echo "  php-fpm behind nginx: $before TIME_WAIT on :9000 (php-fpm's side), $nginx_side on nginx's side; cause $(fport "$tmp/fpm.json" 9000 "f.get('cause')")"
        kill -TERM "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null
        kill -TERM "$FPM_PID"; wait "$FPM_PID" 2>/dev/null

        # The advice applied: nginx keeps its FastCGI connections.
        netns_new NS
        if fpm "$NS" && nginx_run "$NS" 8080 "$tmp/ng2" "" "upstream php { server 127.0.0.1:9000; keepalive 8; }" \
            "location / { $fcgi fastcgi_pass php; fastcgi_keep_conn on; }"; then
            ip netns exec "$NS" wrk -t1 -c8 -d3s http://127.0.0.1:8080/index.php > "$tmp/wrk3.txt" 2>&1
            after=$(tw_on "$NS" "sport = :9000")
            nginx_after=$(tw_on "$NS" "dport = :9000")
            check fpm_keep_conn_requests grep -q ' requests in ' "$tmp/wrk3.txt"
            check_eq fpm_keep_conn_all_ok "$(grep -c 'Non-2xx\|Socket errors' "$tmp/wrk3.txt")" 0
            check_eq fpm_keep_conn_no_pile "$after" 0
            check fpm_keep_conn_nginx_side_small test "$nginx_after" -le 8
            ip netns exec "$NS" "$CLOSER" doctor --json --confirm 0 > "$tmp/fpm2.json"
            check_eq fpm_keep_conn_no_finding "$(nport "$tmp/fpm2.json" 9000)" 0
            # fastcgi_keep_conn without upstream keepalive moves the pile to
            # nginx's side (nginx then closes first): neither may be left.
            check_eq fpm_keep_conn_no_port_pressure "$(json_get "$tmp/fpm2.json" "[f['dest'] for f in d['findings'] if f['id']=='client-port-pressure' and f.get('dest')=='127.0.0.1:9000']")" "[]"
            echo "  fastcgi_keep_conn on + keepalive 8: $after TIME_WAIT on :9000, $nginx_after on nginx's side ($(grep ' requests in ' "$tmp/wrk3.txt"))"
        else
            fail fpm_keep_conn_start "php-fpm or nginx did not listen"
        fi
    else
        fail fpm_start "php-fpm or nginx did not listen: $(tail -3 "$tmp/php-fpm.log" 2>/dev/null)"
    fi
else
    echo "SKIP php-fpm: php-fpm missing (scripts/deps.sh)"
fi
