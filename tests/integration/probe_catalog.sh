#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer probe names the program that answered, from the catalogue's wire
# rows (src/catalog), and advises that program's own setting: the real
# programs from Debian packages, each with a known idle timeout (and a cap
# where it has one), in a private namespace of its own:
#   Go net/http (IdleTimeout 2 s, built from tests/lib/probe), Caddy
#   (timeouts idle 3s), gunicorn sync (no keep-alive: the worker class is
#   the fix) and gthread (--keep-alive 3), uvicorn (--timeout-keep-alive 3),
#   Tomcat 10 (keepAliveTimeout 3000, maxKeepAliveRequests 7; skipped when
#   the JVM does not listen within 60 s), Jetty 9 (idleTimeout 3000), and
#   the caches in front of nginx
#   (keepalive_timeout 30s): Varnish (-p timeout_idle=3) and Squid
#   (client_idle_pconn_timeout 3 seconds) pass `Server: nginx` and add Via;
#   the client's connections end at the cache, so probe names the cache,
#   measures its 3 s (not nginx's 30 s) and advises its setting.
# Each server's measured idle timeout is checked against its setting with a
# wide window (servers check timeouts on coarse timers: Tomcat ~1 s).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/nginx.sh"
need_root
tmp=$(mktemp -d); chmod 755 "$tmp"; trap '__cleanup; rm -rf "$tmp"' EXIT
PORT=8080
URL=http://127.0.0.1:$PORT/
PY=/usr/bin/python3
n=0
mkdir -p "$tmp/docs"; kept=0
probe() { in_ns "$NS" "$CLOSER" probe --json --deadline 20s --max-requests 60 "$URL" "$@" > "$tmp/p.json"; cp "$tmp/p.json" "$tmp/docs/p-$((kept += 1)).json"; }
probe_text() { in_ns "$NS" "$CLOSER" probe --deadline 20s --max-requests 60 "$URL" > "$tmp/p.txt"; }
q() { json_get "$tmp/p.json" "$1"; }
between() { python3 -c "import sys; sys.exit(not $2 <= $1 <= $3)"; }
fresh() { netns_new NS; n=$((n + 1)); D=$tmp/s$n; mkdir -p "$D"; }
have() { command -v "$1" >/dev/null && return 0; echo "SKIP $2: $1 missing (scripts/deps.sh)"; return 1; }
# listening NS PORT SECONDS
listening() { wait_for "$3" sh -c "ip netns exec '$1' ss -Htln 'sport = :$2' | grep -q ."; }
# named NAME KIND PROGRAM: probe's JSON names the program
named() { check_eq "$1" "$(q "d['server']['kind'], d['server']['program']")" "$2 $3"; }
# knob NAME FIELD WORD: the knob probe advises contains WORD
knob() { local v; v=$(q "d['knobs']['$2']"); case "$v" in *"$3"*) pass "$1" ;; *) fail "$1" "knobs.$2 is '$v', want '$3' in it" ;; esac; }
idle_near() { local v; v=$(q "d['idle_timeout_s']"); if [ "$v" != None ] && between "$v" "$2" "$3"; then pass "$1"; else fail "$1" "idle_timeout_s $v, want $2..$3"; fi; }

cat > "$tmp/app.py" <<'PY'
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
PY
cat > "$tmp/asgi.py" <<'PY'
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok\n"})
PY

# 1. Go net/http, IdleTimeout 2 s: no Server header, recognised by its habits.
if have go go; then
    export GOCACHE=$tmp/gocache GOPATH=$tmp/gopath GOFLAGS= GO111MODULE=off
    if (cd "$(dirname "$0")/../lib/probe" && go build -o "$tmp/go_idle_server" go_idle_server.go); then
        fresh; bg GO_PID ip netns exec "$NS" "$tmp/go_idle_server" 127.0.0.1:$PORT 2
        if listening "$NS" $PORT 10; then
            probe
            named go_named "Go net/http" go
            knob go_knob idle IdleTimeout
            idle_near go_idle_2s 1.5 3.5
            check_eq go_no_server_header "$(q "d['server']['header']")" None
            probe_text
            check go_text_sentence grep -q "or raise http.Server{IdleTimeout}" "$tmp/p.txt"
            check go_no_broken_sentence bash -c "! grep -q 'a longer the' '$tmp/p.txt'"
        else fail go_listens "go_idle_server did not listen"; fi
    else fail go_build "go build go_idle_server.go failed"; fi
fi

# 2. Caddy serving HTTP (a http:// site address), idle 3 s.
if have caddy caddy; then
    fresh
    cat > "$D/Caddyfile" <<CONF
{
	admin off
	servers {
		timeouts {
			idle 3s
		}
	}
}
http://127.0.0.1:$PORT {
	respond "ok"
}
CONF
    bg CADDY_PID env HOME="$D" XDG_DATA_HOME="$D" XDG_CONFIG_HOME="$D" \
        ip netns exec "$NS" caddy run --config "$D/Caddyfile" --adapter caddyfile 2>"$D/caddy.log"
    if listening "$NS" $PORT 15; then
        probe
        named caddy_named Caddy caddy
        knob caddy_knob idle "timeouts { idle }"
        idle_near caddy_idle_3s 2.5 4.5
    else fail caddy_listens "$(tail -2 "$D/caddy.log")"; fi
fi

# 3. gunicorn: the sync worker closes every connection (its fix is the
#    worker class); gthread keeps them for --keep-alive 3.
if have gunicorn gunicorn; then
    fresh
    bg GUNI_PID ip netns exec "$NS" /usr/bin/gunicorn -w 1 -b 127.0.0.1:$PORT --chdir "$tmp" \
        --log-level warning app:app
    if listening "$NS" $PORT 15; then
        probe
        check_eq gunicorn_sync_named "$(q "d['server']['kind'], d['server']['program'], d['server']['variant']")" "gunicorn gunicorn sync"
        check_eq gunicorn_sync_no_keepalive "$(q "d['http11']['keepalive']")" False
        knob gunicorn_sync_worker_class keepalive "-k gthread"
        probe_text
        check gunicorn_sync_not_turn_on bash -c "! grep -q 'turn keep-alive on' '$tmp/p.txt'"
    else fail gunicorn_sync_listens "gunicorn did not listen"; fi
    fresh
    bg GUNI2_PID ip netns exec "$NS" /usr/bin/gunicorn -w 1 -k gthread --threads 4 --keep-alive 3 \
        -b 127.0.0.1:$PORT --chdir "$tmp" --log-level warning app:app
    if listening "$NS" $PORT 15; then
        probe
        check_eq gunicorn_gthread_named "$(q "d['server']['kind'], d['server']['variant']")" "gunicorn gthread"
        knob gunicorn_gthread_knob idle "--keep-alive"
        idle_near gunicorn_gthread_idle_3s 2.5 4.5
    else fail gunicorn_gthread_listens "gunicorn -k gthread did not listen"; fi
fi

# 4. uvicorn --timeout-keep-alive 3 (Debian's python3-uvicorn: python3 -m uvicorn).
if "$PY" -c 'import uvicorn' 2>/dev/null; then
    fresh
    bg UVI_PID ip netns exec "$NS" "$PY" -m uvicorn --app-dir "$tmp" --host 127.0.0.1 --port $PORT \
        --timeout-keep-alive 3 --log-level warning asgi:app
    if listening "$NS" $PORT 15; then
        probe
        named uvicorn_named uvicorn uvicorn
        knob uvicorn_knob idle "--timeout-keep-alive"
        idle_near uvicorn_idle_3s 2.5 4.5
    else fail uvicorn_listens "uvicorn did not listen"; fi
else echo "SKIP uvicorn: python3-uvicorn missing (scripts/deps.sh)"; fi

# 5. Tomcat 10: no Server header; keepAliveTimeout 3000, maxKeepAliveRequests 7.
if [ -f /usr/share/tomcat10/bin/bootstrap.jar ] && have java tomcat; then
    fresh
    mkdir -p "$D/conf" "$D/webapps/ROOT" "$D/logs" "$D/temp" "$D/work"
    cp /etc/tomcat10/web.xml /etc/tomcat10/catalina.properties /etc/tomcat10/logging.properties "$D/conf/"
    echo ok > "$D/webapps/ROOT/index.html"
    cat > "$D/conf/server.xml" <<CONF
<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="$PORT" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000"
               keepAliveTimeout="3000" maxKeepAliveRequests="7"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
CONF
    bg TOMCAT_PID ip netns exec "$NS" java -Dcatalina.home=/usr/share/tomcat10 -Dcatalina.base="$D" \
        -Djava.io.tmpdir="$D/temp" \
        -cp /usr/share/tomcat10/bin/bootstrap.jar:/usr/share/tomcat10/bin/tomcat-juli.jar \
        org.apache.catalina.startup.Bootstrap start >"$D/tomcat.log" 2>&1
    # The JVM is slow to start on a loaded machine: bounded, and honest.
    if listening "$NS" $PORT 60 && wait_for 30 ip netns exec "$NS" curl -sf -o /dev/null "$URL"; then
        probe
        named tomcat_named Tomcat tomcat
        knob tomcat_idle_knob idle keepAliveTimeout
        knob tomcat_cap_knob cap maxKeepAliveRequests
        check_eq tomcat_cap_7 "$(q "d['request_cap']")" 7
        idle_near tomcat_idle_3s 2.5 5.5
    else echo "SKIP tomcat: not serving within 90 s ($(tail -1 "$D/tomcat.log"))"; fi
fi

# 6. Jetty 9 (Debian's jetty9, a base of our own), idleTimeout 3000 ms.
if [ -f /usr/share/jetty9/start.jar ] && have java jetty; then
    fresh
    mkdir -p "$D/webapps/ROOT"; echo ok > "$D/webapps/ROOT/index.html"
    bg JETTY_PID ip netns exec "$NS" java -Djava.io.tmpdir="$D" -jar /usr/share/jetty9/start.jar \
        jetty.home=/usr/share/jetty9 jetty.base="$D" --module=http,deploy jetty.http.host=127.0.0.1 \
        jetty.http.port=$PORT jetty.http.idleTimeout=3000 >"$D/jetty.log" 2>&1
    if listening "$NS" $PORT 60 && wait_for 30 ip netns exec "$NS" curl -sf -o /dev/null "$URL"; then
        probe
        named jetty_named Jetty jetty
        knob jetty_knob idle idleTimeout
        idle_near jetty_idle_3s 2.5 4.5
    else echo "SKIP jetty: not serving within 90 s ($(tail -1 "$D/jetty.log"))"; fi
fi

# 7. Caches in front of nginx (keepalive_timeout 30s): the connection ends
#    at the cache, whose 3 s idle timeout closes it.
cache_case() {
    local name=$1 kind=$2 prog=$3 word=$4
    probe
    named "${name}_named" "$kind" "$prog"
    check_eq "${name}_origin" "$(q "d['server']['origin'], d['server']['header'].startswith('nginx')")" "nginx True"
    knob "${name}_knob" idle "$word"
    check "${name}_not_nginx_knob" bash -c "! grep -q keepalive_timeout '$tmp/p.json'"
    idle_near "${name}_idle_3s_not_30s" 1.5 4.5
    probe_text
    check "${name}_text_origin" grep -q "behind it  *nginx" "$tmp/p.txt"
    check "${name}_text_knob" grep -q "or raise .*$word" "$tmp/p.txt"
}
if have varnishd varnish; then
    fresh
    nginx_start "$NS" 8081 "$D/nginx" "keepalive_timeout 30s;"
    printf 'vcl 4.1;\nbackend default { .host = "127.0.0.1"; .port = "8081"; }\n' > "$D/default.vcl"
    bg VARNISH_PID ip netns exec "$NS" varnishd -F -a 127.0.0.1:$PORT -f "$D/default.vcl" -n "$D/varnish" \
        -s malloc,16m -p timeout_idle=3 >"$D/varnish.log" 2>&1
    if listening "$NS" $PORT 20; then
        cache_case varnish Varnish varnish timeout_idle
    else fail varnish_listens "$(tail -2 "$D/varnish.log")"; fi
fi
if have squid squid; then
    fresh
    nginx_start "$NS" 8081 "$D/nginx" "keepalive_timeout 30s;"
    mkdir -p "$D/squid"
    cat > "$D/squid/squid.conf" <<CONF
http_port 127.0.0.1:$PORT accel defaultsite=127.0.0.1
cache_peer 127.0.0.1 parent 8081 0 no-query originserver name=origin
http_access allow all
cache_peer_access origin allow all
client_idle_pconn_timeout 3 seconds
pid_filename $D/squid/squid.pid
cache_log $D/squid/cache.log
access_log none
cache deny all
coredump_dir $D/squid
CONF
    chown -R proxy "$D/squid"
    bg SQUID_PID ip netns exec "$NS" squid -N -f "$D/squid/squid.conf" >"$D/squid.log" 2>&1
    if listening "$NS" $PORT 20; then
        cache_case squid Squid squid client_idle_pconn_timeout
    else fail squid_listens "$(tail -2 "$D/squid/cache.log" 2>/dev/null)"; fi
fi

# Every JSON document against schemas/closer.probe.schema.json.
if "$PY" -c 'import jsonschema' 2>/dev/null; then
    bad=""
    for f in "$tmp"/docs/*.json; do
        [ -e "$f" ] || continue
        out=$("$PY" "$(dirname "$0")/../lib/validate_json.py" "$(dirname "$0")/../../schemas" "$f" 2>&1) || bad="$bad $(basename "$f"): $out;"
    done
    check_eq probe_catalog_json_valid "$kept documents,${bad:- all valid}" "$kept documents, all valid"
fi
