#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real database programs, each in a private namespace, refereed by ss:
# 1. PostgreSQL 15 with idle_session_timeout=2s and a psycopg2 pool of 20
#    connections used once then left idle: the server sends an ErrorResponse
#    (FATAL 57P05, 116 bytes) then its FIN, so each client socket sits in
#    CLOSE_WAIT with recv_q 117 (the message + the FIN). One client thread,
#    outgoing sockets: close-wait-client-pool, never "a thread per
#    connection". Applied: the pool closes connections idle > 1 s (below
#    the server's 2 s), or the server's idle_session_timeout is off: no pile;
#    psycopg_pool max_idle=1 (min_size=0) drains it one a second.
#    SQLAlchemy pool_recycle / pool_pre_ping act only at checkout: an idle
#    pool keeps the pile (shown, not a fix for the pile).
# 2. pgbench -C (a connection per transaction, libpq) in a 5000-port range
#    with tcp_tw_reuse=0: client-port-pressure on 127.0.0.1:5432, pgbench
#    named by a look while it runs, or by doctor --trace after it exited;
#    PgBouncer over TCP only moves the TIME_WAIT (to either side). Applied:
#    pgbench without -C (one connection per client), and PgBouncer on a
#    unix socket between pgbench -C and the server: no pile.
# 3. MariaDB with wait_timeout=2 and a PyMySQL pool left idle: MariaDB
#    aborts the idle sessions with an RST (SO_LINGER 0), so the client keeps
#    no CLOSE_WAIT and doctor must stay quiet.
#   RECORD_DIR=tests/data/doctor bash tests/integration/doctor_prog_pg.sh
# also copies each case's recording (doctor --record) there.
. "$(dirname "$0")/../lib/lib.sh"
need_root
PGBIN=/usr/lib/postgresql/15/bin
PY=/usr/bin/python3
LIB=$(cd "$(dirname "$0")/../lib/pg" && pwd)
for p in "$PGBIN/postgres" "$PGBIN/initdb" "$PGBIN/pgbench"; do
    [ -x "$p" ] || { echo "SKIP: $p missing (postgresql, scripts/deps.sh)"; exit 0; }
done
$PY -c 'import psycopg2.pool' 2>/dev/null || { echo "SKIP: python3-psycopg2 missing"; exit 0; }
id postgres >/dev/null 2>&1 || { echo "SKIP: no postgres user"; exit 0; }
tmp=$(mktemp -d); trap '__cleanup; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -m 700 "$tmp/tpl" && chown postgres: "$tmp/tpl"
asuser() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

# --- helpers ---------------------------------------------------------------
# doctor NAME NS: doctor --json into $tmp/NAME.json, recorded to
# $tmp/pg_NAME.dump (copied to $RECORD_DIR when set).
doctor() {
    local name=$1 ns=$2
    ip netns exec "$ns" "$CLOSER" doctor --json --confirm 0.3s --record "$tmp/pg_$name.dump" \
        > "$tmp/$name.json"
    if [ -n "${RECORD_DIR:-}" ]; then
        cp "$tmp/pg_$name.dump" "$RECORD_DIR/"
        [ -e "$tmp/pg_$name.dump.owners" ] && cp "$tmp/pg_$name.dump.owners" "$RECORD_DIR/"
    fi
    return 0
}
# field NAME ID EXPR: EXPR over the first finding f with ID ("none" if none).
field() {
    json_get "$tmp/$1.json" "(lambda f: ($3) if f else 'none')(next((f for f in d['findings'] if f['id']=='$2'), None))"
}
field_has() {
    local got; got=$(field "$1" "$2" "f.get('$3', '')")
    [[ "$got" == *"$4"* ]] || { echo "  $1 $2 $3: $got"; return 1; }
}
field_lacks() {
    local got; got=$(field "$1" "$2" "f.get('$3', '')")
    [[ "$got" != *"$4"* ]] || { echo "  $1 $2 $3 has '$4': $got"; return 1; }
}
cwids() { json_get "$tmp/$1.json" "sorted(set(f['id'] for f in d['findings'] if f['id'].startswith('close-wait')))"; }
cw() { ip netns exec "$1" ss -Htan state close-wait "${2:-}" | wc -l; }
tw() { ip netns exec "$1" ss -Htan state time-wait "${2:-}" | wc -l; }
recvqs() { ip netns exec "$1" ss -Htan state close-wait "${2:-}" | awk '{print $1}' | sort -u | tr '\n' ' '; }
# cw_ge / tw_ge NS FILTER N: at least N now (wait_for calls them afresh
# each time: a "$(cw ...)" argument would be counted once, before the wait)
cw_ge() { [ "$(cw "$1" "$2")" -ge "$3" ]; }
tw_ge() { [ "$(tw "$1" "$2")" -ge "$3" ]; }
# no_sockets NS FILTER: none ESTABLISHED or in CLOSE_WAIT (TIME_WAIT, from
# pg_isready too, does not count)
no_sockets() { ! ip netns exec "$1" ss -Htan state established state close-wait "$2" | grep -q .; }
# piles NAME: the ids of pile findings (server-side TIME_WAIT from a
# simultaneous close at Terminate is not one: info, no cost)
piles() { json_get "$tmp/$1.json" "sorted(set(f['id'] for f in d['findings'] if f['id'].startswith('close-wait') or f['id'] == 'client-port-pressure'))"; }
# CASES="pool bench mysql" (the default) selects the sections to run.
want() { [[ " ${CASES:-pool bench mysql} " == *" $1 "* ]]; }
evidence() { echo "  evidence $1: $2"; }

# One initdb; each case copies the data directory (initdb takes seconds).
asuser "$PGBIN/initdb" -D "$tmp/tpl" -A trust -U postgres --no-sync --no-instructions \
    > "$tmp/initdb.log" 2>&1 || { fail pg_initdb "$(tail -3 "$tmp/initdb.log")"; exit 0; }
echo "SELECT 1;" > "$tmp/select.sql"
chmod 644 "$tmp/select.sql"

# pg_start NS NAME [postgres -c options...]: PostgreSQL on 127.0.0.1:5432
# in NS, unix socket in $tmp/NAME.s; its pid in PG_PID.
pg_start() {
    local ns=$1 name=$2; shift 2
    cp -a "$tmp/tpl" "$tmp/$name"
    mkdir -m 755 "$tmp/$name.s" && chown postgres: "$tmp/$name.s"
    local opts=() o
    for o in "$@"; do opts+=(-c "$o"); done
    bg PG_PID ip netns exec "$ns" setpriv --reuid=postgres --regid=postgres --init-groups \
        "$PGBIN/postgres" -D "$tmp/$name" -c listen_addresses=127.0.0.1 -c port=5432 \
        -c unix_socket_directories="$tmp/$name.s" -c fsync=off -c shared_buffers=16MB \
        -c max_connections=60 "${opts[@]}" > "$tmp/$name.log" 2>&1
    wait_listen "$ns" 5432 &&
        wait_for 10 ip netns exec "$ns" "$PGBIN/pg_isready" -q -h 127.0.0.1 -p 5432 ||
        { fail "pg_start_$name" "$(tail -3 "$tmp/$name.log")"; return 1; }
}
pg_stop() { kill -INT "$PG_PID" 2>/dev/null; wait "$PG_PID" 2>/dev/null; }
DSN="host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"

# pool_run NS NAME SCRIPT ARGS...: starts a pool client, waits for "ready";
# its pid in CLI_PID.
pool_run() {
    local ns=$1 name=$2 script=$3; shift 3
    bg CLI_PID ip netns exec "$ns" "$PY" "$LIB/$script" "$@" > "$tmp/$name.out" 2>&1
    wait_for 20 grep -q ready "$tmp/$name.out" || { fail "${name}_ready" "$(tail -3 "$tmp/$name.out")"; return 1; }
}

if want pool; then
# --- 1. psycopg2 pool vs idle_session_timeout --------------------------------
netns_new NS
if pg_start "$NS" pool idle_session_timeout=2s && pool_run "$NS" pool psycopg2_pool.py "$DSN" 20; then
    wait_for 15 cw_ge "$NS" "dport = :5432" 20
    doctor pool "$NS"
    check_eq pool_ss "$(cw "$NS")" 20
    # every socket: the 116-byte ErrorResponse + the FIN
    check_eq pool_recv_q "$(recvqs "$NS")" "117 "
    check_eq pool_server_timeout_fired "$(grep -c 'FATAL:  terminating connection due to idle-session timeout' "$tmp/pool.log")" 20
    fd=$(ip netns exec "$NS" ss -Htanp state close-wait | head -1 | grep -o 'fd=[0-9]*' | cut -d= -f2)
    read -r n msg < <($PY "$LIB/peek.py" "$CLI_PID" "$fd")
    evidence pool_bytes "$n bytes before the FIN: ${msg:0:200}"
    check_eq pool_bytes_len "$n" 116
    check pool_bytes_fatal_57P05 grep -q "^E.*SFATAL|VFATAL|C57P05|Mterminating connection due to idle-session timeout|" <<< "$msg"
    evidence pool_client "threads $(ls /proc/$CLI_PID/task | wc -l), wchan $(cat /proc/$CLI_PID/task/*/wchan | tr '\n' ' '), libpq $(grep -o '/[^ ]*libpq[^ ]*' /proc/$CLI_PID/maps | sort -u)"
    evidence pool_doctor "$(json_get "$tmp/pool.json" "[(f['id'], f.get('program'), f.get('protocol'), f.get('peer_program'), f.get('runtime')) for f in d['findings'] if not f['id'].startswith('sysctl')]")"
    check_eq pool_class "$(cwids pool)" "['close-wait-client-pool']"
    check_eq pool_who "$(field pool close-wait-client-pool "(f['count'], f['pid'], f['comm'], f['dest'])")" \
        "(20, $CLI_PID, 'python3', '127.0.0.1:5432')"
    check_eq pool_program "$(field pool close-wait-client-pool "(f.get('program'), f.get('protocol'), f.get('peer_program'), f.get('runtime'))")" \
        "('psycopg2', 'postgresql', 'postgres', 'python')"
    check pool_fix_server_knob field_has pool close-wait-client-pool fix idle_session_timeout
    check pool_fix_client_knob field_has pool close-wait-client-pool fix "while they sit in the pool"
    check pool_fix_not_thread field_lacks pool close-wait-client-pool fix StreamRequestHandler
    check pool_why_not_thread field_lacks pool close-wait-client-pool why "thread of its own"
fi
pg_stop

# 1b. The knob applied in the client: connections idle > 1 s are closed
#     (below the server's 2 s). The client closes first: TIME_WAIT on its
#     side, no CLOSE_WAIT.
netns_new NS
if pg_start "$NS" pool_idle idle_session_timeout=2s && pool_run "$NS" pool_idle psycopg2_pool.py "$DSN" 20 1; then
    wait_for 15 tw_ge "$NS" "dport = :5432" 20
    sleep 2.5 # past the server's idle_session_timeout
    doctor pool_idle "$NS"
    check_eq pool_idle_applied_no_close_wait "$(cw "$NS")" 0
    # the server's log is the referee of who ended the sessions
    check_eq pool_idle_server_timeout_never_fired "$(grep -c 'idle-session timeout' "$tmp/pool_idle.log")" 0
    check_eq pool_idle_quiet "$(piles pool_idle)" "[]"
fi
pg_stop

# 1c. The server's knob: idle_session_timeout off, the pool stays open.
netns_new NS
if pg_start "$NS" pool_off idle_session_timeout=0 && pool_run "$NS" pool_off psycopg2_pool.py "$DSN" 20; then
    sleep 3
    check_eq pool_server_knob_no_close_wait "$(cw "$NS")" 0
    check_eq pool_server_knob_established "$(ip netns exec "$NS" ss -Htan state established 'dport = :5432' | wc -l)" 20
fi
pg_stop

# 1c2. psycopg_pool max_idle=1 with min_size=0 (psycopg 3): the pool
#      closes one idle connection per max_idle, so the pile the server
#      leaves (idle_session_timeout 2 s) drains one a second, to none.
netns_new NS
if $PY -c 'import psycopg_pool' 2>/dev/null; then
    if pg_start "$NS" pgpool idle_session_timeout=2s && pool_run "$NS" pgpool psycopg_pool_idle.py "$DSN" 10 1; then
        t0=$SECONDS
        wait_for 30 no_sockets "$NS" "dport = :5432"
        evidence pgpool "10 connections gone $((SECONDS - t0)) s after ready; the server ended $(grep -c 'idle-session timeout' "$tmp/pgpool.log") of them"
        check pgpool_max_idle_drains no_sockets "$NS" "dport = :5432"
    fi
    pg_stop
else
    echo "SKIP pgpool: python3-psycopg-pool not installed"
fi

# 1d. SQLAlchemy pool_recycle=1 + pool_pre_ping: checkout-time knobs; an
#     idle pool still holds what the server closed.
netns_new NS
if $PY -c 'import sqlalchemy' 2>/dev/null; then
    if pg_start "$NS" sqla idle_session_timeout=2s &&
        pool_run "$NS" sqla sqlalchemy_pool.py "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres" 20 1; then
        wait_for 15 cw_ge "$NS" "dport = :5432" 20
        doctor sqla "$NS"
        check_eq sqla_recycle_keeps_idle_pile "$(cw "$NS")" 20
        check_eq sqla_class "$(cwids sqla)" "['close-wait-client-pool']"
        check_eq sqla_program "$(field sqla close-wait-client-pool "(f['pid'], f.get('protocol'), f.get('peer_program'))")" \
            "($CLI_PID, 'postgresql', 'postgres')"
        evidence sqla_doctor "$(field sqla close-wait-client-pool "(f.get('program'), f.get('runtime'))")"
        # the fix must not sell pool_recycle as the cure of an idle pile
        check sqla_fix_says_checkout_only field_has sqla close-wait-client-pool fix "act only at checkout"
    fi
    pg_stop
else
    echo "SKIP sqla: python3-sqlalchemy not installed"
fi

fi # pool

if want bench; then
# --- 2. pgbench -C: a connection per transaction -----------------------------
# A fresh namespace with a 5000-port range, no tcp_tw_reuse; pgbench -C
# -c 8 -t 300 (2400 connections of a few ms, 8 at a time) in the background;
# the doctor looks while it runs (up to 15 looks, until an open socket
# names the owner: TIME_WAIT has none).
small_range() {
    ip netns exec "$1" sysctl -qw net.ipv4.ip_local_port_range="40000 44999" net.ipv4.tcp_tw_reuse=0
}
netns_new NS
small_range "$NS"
if pg_start "$NS" bench; then
    bg BENCH_PID ip netns exec "$NS" "$PGBIN/pgbench" -n -C -c 8 -t 300 -f "$tmp/select.sql" \
        -h 127.0.0.1 -p 5432 -U postgres postgres > "$tmp/bench.out" 2>&1
    t0=$SECONDS
    wait_for 15 tw_ge "$NS" "dport = :5432" 100
    evidence bench_start "$(tw "$NS" "dport = :5432") TIME_WAIT after $((SECONDS - t0)) s"
    looks=0
    for i in $(seq 15); do
        looks=$i
        [ $i -gt 1 ] && sleep 0.1
        doctor bench "$NS"
        [ "$(field bench client-port-pressure "f.get('pid')")" = "$BENCH_PID" ] && break
        kill -0 "$BENCH_PID" 2>/dev/null || break
    done
    evidence bench_looks "$looks look(s); pgbench $(kill -0 "$BENCH_PID" 2>/dev/null && echo running || echo gone) after them"
    evidence bench_doctor "$(field bench client-port-pressure "(f['count'], f.get('pid'), f.get('comm'), f.get('program'), f.get('protocol'), f.get('runtime'), f['facts'].get('range_used_pct'))")"
    check_eq bench_dest "$(field bench client-port-pressure "f['dest']")" 127.0.0.1:5432
    # the owner is seen only when a look catches a connection open
    check_eq bench_owner "$(field bench client-port-pressure "(f.get('pid'), f.get('comm'))")" "($BENCH_PID, 'pgbench')"
    check_eq bench_program "$(field bench client-port-pressure "(f.get('program'), f.get('runtime'))")" "('pgbench', 'native')"
    check_eq bench_protocol "$(field bench client-port-pressure "f.get('protocol')")" postgresql
    check bench_fix_pooler field_has bench client-port-pressure fix PgBouncer
    check bench_fix_not_requests field_lacks bench client-port-pressure fix requests.Session
    wait "$BENCH_PID"
    check bench_ran grep -q "number of failed transactions: 0" "$tmp/bench.out"
    # after pgbench exited: nobody holds a socket to name
    doctor bench_after "$NS"
    evidence bench_after "$(tw "$NS" 'dport = :5432') TIME_WAIT to 5432; doctor: $(field bench_after client-port-pressure "(f['count'], f.get('pid'), f.get('program'), f.get('protocol'))")"
    check_eq bench_after_protocol "$(field bench_after client-port-pressure "f.get('protocol')")" postgresql
    check bench_after_fix_pooler field_has bench_after client-port-pressure fix PgBouncer
fi
pg_stop

# 2a. The same with doctor --trace: pgbench -C (800 connections) ends
#     during the trace, so the snapshot finds nobody holding a socket; the
#     trace saw who closed the connections to 5432 first.
netns_new NS
small_range "$NS"
if pg_start "$NS" bench_trace; then
    bg BENCH_PID ip netns exec "$NS" "$PGBIN/pgbench" -n -C -c 8 -t 100 -f "$tmp/select.sql" \
        -h 127.0.0.1 -p 5432 -U postgres postgres > "$tmp/bench_trace.out" 2>&1
    if ip netns exec "$NS" "$CLOSER" doctor --json --trace 8s > "$tmp/bench_trace.json" 2> "$tmp/bench_trace.err"; [ $? -le 1 ]; then
        evidence bench_trace "pgbench $(kill -0 "$BENCH_PID" 2>/dev/null && echo running || echo gone) at the snapshot; doctor: $(field bench_trace client-port-pressure "(f['count'], f.get('pid'), f.get('program'), f.get('runtime'), f['why'][f['why'].find('The trace saw'):][:90])")"
        check_eq bench_trace_names_pgbench "$(field bench_trace client-port-pressure "(f.get('pid'), f.get('comm'), f.get('program'), f.get('protocol'))")" \
            "($BENCH_PID, 'pgbench', 'pgbench', 'postgresql')"
        check bench_trace_fix_pooler field_has bench_trace client-port-pressure fix PgBouncer
        # named by the trace, the fix must be pgbench's own (as when the
        # snapshot names it), not the protocol's generic row
        check bench_trace_fix_own_knob field_has bench_trace client-port-pressure fix "pgbench -C"
    else
        echo "SKIP bench_trace: doctor --trace failed: $(tail -1 "$tmp/bench_trace.err")"
    fi
    wait "$BENCH_PID"
fi
pg_stop

# 2b. Applied: one connection per client (pgbench without -C), same load.
netns_new NS
small_range "$NS"
if pg_start "$NS" bench_keep; then
    ip netns exec "$NS" "$PGBIN/pgbench" -n -c 8 -t 300 -f "$tmp/select.sql" \
        -h 127.0.0.1 -p 5432 -U postgres postgres > "$tmp/bench_keep.out" 2>&1
    check bench_keep_ran grep -q "number of failed transactions: 0" "$tmp/bench_keep.out"
    n=$(tw "$NS" 'dport = :5432')
    evidence bench_keep "$n TIME_WAIT to 5432 after $(grep -o 'processed: [0-9]*' "$tmp/bench_keep.out")"
    check bench_keep_no_pile test "$n" -le 10
    doctor bench_keep "$NS"
    check_eq bench_keep_quiet "$(piles bench_keep)" "[]"
fi
pg_stop

# 2c. Applied: PgBouncer on a unix socket keeps the server connections;
#     pgbench -C still connects per transaction, to PgBouncer, without TCP.
netns_new NS
small_range "$NS"
if ! command -v pgbouncer >/dev/null; then
    echo "SKIP bouncer: pgbouncer not installed"
elif pg_start "$NS" bouncer_pg; then
    mkdir -m 755 "$tmp/pgb" && chown postgres: "$tmp/pgb"
    cat > "$tmp/pgb/pgbouncer.ini" <<EOF
[databases]
postgres = host=127.0.0.1 port=5432 dbname=postgres
[pgbouncer]
listen_addr =
listen_port = 6432
unix_socket_dir = $tmp/pgb
auth_type = trust
auth_file = $tmp/pgb/users.txt
pool_mode = transaction
default_pool_size = 2
logfile = $tmp/pgb/pgbouncer.log
pidfile =
EOF
    echo '"postgres" ""' > "$tmp/pgb/users.txt"
    chmod 644 "$tmp/pgb/pgbouncer.ini" "$tmp/pgb/users.txt"
    bg PGB_PID ip netns exec "$NS" setpriv --reuid=postgres --regid=postgres --init-groups \
        pgbouncer "$tmp/pgb/pgbouncer.ini" > "$tmp/pgb/out" 2>&1
    if wait_for 10 test -S "$tmp/pgb/.s.PGSQL.6432"; then
        ip netns exec "$NS" "$PGBIN/pgbench" -n -C -c 8 -t 300 -f "$tmp/select.sql" \
            -h "$tmp/pgb" -p 6432 -U postgres postgres > "$tmp/bouncer.out" 2>&1
        check bouncer_ran grep -q "number of failed transactions: 0" "$tmp/bouncer.out"
        n=$(tw "$NS")
        evidence bouncer "$n TIME_WAIT in the namespace after $(grep -o 'processed: [0-9]*' "$tmp/bouncer.out") connections, $(ip netns exec "$NS" ss -Htan state established 'dport = :5432' | wc -l) server connection(s) kept"
        check bouncer_no_pile test "$n" -le 10
        doctor bouncer "$NS"
        check_eq bouncer_quiet "$(piles bouncer)" "[]"
    else
        fail bouncer_start "$(tail -3 "$tmp/pgb/out" "$tmp/pgb/pgbouncer.log" 2>/dev/null)"
    fi
    kill -INT "$PGB_PID" 2>/dev/null; wait "$PGB_PID" 2>/dev/null
fi
pg_stop

# 2d. PgBouncer reached over TCP: pgbench -C's connect per transaction now
#     burns ports towards 6432 instead; the pooler helps the server, not the
#     client's port range.
netns_new NS
small_range "$NS"
if command -v pgbouncer >/dev/null && pg_start "$NS" bouncer_tcp_pg; then
    sed -e 's/^listen_addr =$/listen_addr = 127.0.0.1/' -e "s|$tmp/pgb|$tmp/pgbt|g" "$tmp/pgb/pgbouncer.ini" > "$tmp/pgbt.ini"
    mkdir -m 755 "$tmp/pgbt" && chown postgres: "$tmp/pgbt" && cp "$tmp/pgb/users.txt" "$tmp/pgbt/"
    mv "$tmp/pgbt.ini" "$tmp/pgbt/pgbouncer.ini" && chmod 644 "$tmp/pgbt/pgbouncer.ini"
    bg PGB_PID ip netns exec "$NS" setpriv --reuid=postgres --regid=postgres --init-groups \
        pgbouncer "$tmp/pgbt/pgbouncer.ini" > "$tmp/pgbt/out" 2>&1
    if wait_listen "$NS" 6432; then
        ip netns exec "$NS" "$PGBIN/pgbench" -n -C -c 8 -t 300 -f "$tmp/select.sql" \
            -h 127.0.0.1 -p 6432 -U postgres postgres > "$tmp/bouncer_tcp.out" 2>&1
        doctor bouncer_tcp "$NS"
        evidence bouncer_tcp "$(tw "$NS" 'dport = :6432') client-side TIME_WAIT to 6432, $(tw "$NS" 'sport = :6432') on PgBouncer's side, $(tw "$NS" 'dport = :5432') to 5432; doctor: $(json_get "$tmp/bouncer_tcp.json" "[(f['id'], f['count'], f.get('port'), f.get('dest'), f.get('program'), f.get('protocol')) for f in d['findings'] if not f['id'].startswith('sysctl')]")"
    else
        fail bouncer_tcp_start "$(tail -3 "$tmp/pgbt/out" "$tmp/pgbt/pgbouncer.log" 2>/dev/null)"
    fi
    kill -INT "$PGB_PID" 2>/dev/null; wait "$PGB_PID" 2>/dev/null
fi
pg_stop

fi # bench

if want mysql; then
# --- 3. MariaDB wait_timeout=2 + PyMySQL pool left idle ---------------------
if [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null && $PY -c 'import pymysql' 2>/dev/null; then
    netns_new NS
    mkdir -m 755 "$tmp/my" && chown mysql: "$tmp/my"
    if mariadb-install-db --no-defaults --user=mysql --datadir="$tmp/my/data" --auth-root-authentication-method=normal \
        --skip-test-db > "$tmp/my/install.log" 2>&1; then
        bg MY_PID ip netns exec "$NS" /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$tmp/my/data" \
            --socket="$tmp/my/sock" --pid-file="$tmp/my/pid" --bind-address=127.0.0.1 --port=3306 \
            --wait-timeout=2 --innodb-buffer-pool-size=8M --skip-log-bin \
            --log-error="$tmp/my/err.log" > "$tmp/my/out" 2>&1
        if wait_listen "$NS" 3306; then
            rst0=$(ip netns exec "$NS" nstat -asz TcpOutRsts | awk '/TcpOutRsts/ {print $2}')
            pool_run "$NS" mysql mysql_pool.py 127.0.0.1 3306 20 &&
                wait_for 15 no_sockets "$NS" "dport = :3306"
            rst=$(( $(ip netns exec "$NS" nstat -asz TcpOutRsts | awk '/TcpOutRsts/ {print $2}') - rst0 ))
            socks=$(find /proc/$CLI_PID/fd -lname 'socket:*' 2>/dev/null | wc -l)
            doctor mysql "$NS"
            # MariaDB ends an idle session past wait_timeout ("Aborted
            # connection ... Got timeout reading communication packets")
            # with SO_LINGER {1, 0} then close(): an RST, nothing before it.
            # The client's sockets go to CLOSE and leave the table: no
            # CLOSE_WAIT, nothing for doctor to report.
            evidence mysql_rst "$rst RST sent, client holds $socks socket fds that are in no TCP table, ESTAB left $(ip netns exec "$NS" ss -Htan 'dport = :3306' | wc -l)"
            check_eq mysql_rst_no_close_wait "$(cw "$NS")" 0
            check_eq mysql_rst_count "$rst" 20
            check_eq mysql_client_fds_kept "$socks" 20
            check_eq mysql_quiet "$(piles mysql)" "[]"
        else
            fail mysql_start "$(tail -3 "$tmp/my/err.log")"
        fi
        kill -TERM "$MY_PID" 2>/dev/null; wait "$MY_PID" 2>/dev/null
    else
        fail mysql_install_db "$(tail -3 "$tmp/my/install.log")"
    fi
else
    echo "SKIP mysql: mariadb-server or python3-pymysql not installed"
fi
fi # mysql
