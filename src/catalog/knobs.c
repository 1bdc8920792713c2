/* SPDX-License-Identifier: MIT */
/* The knobs: for each program (or runtime, or "*" for any), protocol and
 * situation, what to change. A program's knobs are its own words (gunicorn's
 * -k gthread, php-fpm's FastCGI keep-conn as nginx asks for it), checked
 * against the program's documentation; where a test applied one to the
 * real program and watched the pile go away, that test is named in
 * docs/doctor.md. */
#include <string.h>

#include "catalog/catalog.h"

#define ANY P_NONE
#define K(prog, proto, sit, text) {prog, proto, sit, text, "", ""}
#define KV(prog, variant, proto, sit, text) {prog, proto, sit, text, variant, ""}
/* closer probe's names for a program's settings, one row per situation
 * (text "": not the doctor's): the idle timeout, the request cap, the
 * connection lifetime, keep-alive itself (what to do), and how to announce
 * the idle timeout (Keep-Alive: timeout=N). */
#define S(prog, v, sit, setting) {prog, P_NONE, sit, "", v, setting}
#define PROBE(prog, v, idle, cap, life, keepalive, hint)                                      \
    S(prog, v, K_TW_IDLE_TIMEOUT, idle), S(prog, v, K_TW_REQUEST_CAP, cap),                    \
        S(prog, v, K_TW_LIFETIME, life), S(prog, v, K_TW_NO_KEEPALIVE, keepalive),            \
        S(prog, v, K_KA_ANNOUNCE, hint)

const struct cat_knob catalog_knobs[] = {
    /* ---- server-time-wait: the server closes first ---- */
    K("nginx", ANY, K_TW_NO_KEEPALIVE,
      "nginx: keep-alive on (keepalive_timeout > 0, 75s by default; keepalive_requests > 1); the "
      "clients must keep connections too (HTTP/1.1 without `Connection: close`; ab needs -k)."),
    K("nginx", ANY, K_TW_IDLE_TIMEOUT,
      "nginx: raise keepalive_timeout above the clients' idle gaps, or send a header below it "
      "(`keepalive_timeout 60s 55s;` sends `Keep-Alive: timeout=55`) so that well-behaved clients "
      "close first."),
    K("nginx", ANY, K_TW_REQUEST_CAP,
      "nginx: raise keepalive_requests (1000 by default since 1.19.10, 100 before)."),
    K("nginx", ANY, K_TW_UNDECIDED,
      "nginx's knobs: keepalive_timeout (idle), keepalive_requests (cap), keep-alive itself (clients "
      "that send `Connection: close` or HTTP/1.0)."),
    K("apache", ANY, K_TW_NO_KEEPALIVE,
      "Apache: `KeepAlive On`, with `MaxKeepAliveRequests 0` (unlimited) or 1000 or more (at the "
      "default 100 every 100th request still ends in a TIME_WAIT) and KeepAliveTimeout (5 s by "
      "default) above the clients' gaps; the clients must keep connections too."),
    K("apache", ANY, K_TW_IDLE_TIMEOUT,
      "Apache: raise KeepAliveTimeout (5 s by default) above the clients' idle gaps; with the "
      "prefork MPM each idle connection holds a whole process, so keep it short there and let "
      "clients close first."),
    K("apache", ANY, K_TW_REQUEST_CAP,
      "Apache: raise MaxKeepAliveRequests (100 by default; 0 means unlimited); a connection "
      "carries N + 1 requests, the first and N kept alive."),
    K("apache", ANY, K_TW_UNDECIDED,
      "Apache's knobs: KeepAlive (On/Off), KeepAliveTimeout (idle), MaxKeepAliveRequests (cap)."),
    KV("gunicorn", "sync", ANY, K_TW_NO_KEEPALIVE,
       "gunicorn's sync worker (the default) never keeps a connection alive: it answers "
       "`Connection: close` and closes after every response. Run a worker that keeps "
       "connections: `-k gthread --threads N --keep-alive S` (or gevent/eventlet, or "
       "uvicorn.workers.UvicornWorker); behind nginx, that plus `upstream { keepalive N; }` with "
       "proxy_http_version 1.1."),
    KV("gunicorn", "sync", ANY, K_TW_UNDECIDED,
       "gunicorn's sync worker (the default) closes after every response (no keep-alive): run "
       "`-k gthread --threads N --keep-alive S` or an async worker."),
    K("gunicorn", ANY, K_TW_IDLE_TIMEOUT,
      "gunicorn: raise --keep-alive (2 s by default; gthread and async workers) above the "
      "clients' idle gaps."),
    K("gunicorn", ANY, K_TW_NO_KEEPALIVE,
      "gunicorn keeps connections with this worker class (--keep-alive S): the clients close "
      "after one request (`Connection: close`, HTTP/1.0) or --keep-alive is 0."),
    K("gunicorn", ANY, K_TW_UNDECIDED,
      "gunicorn's knobs: the worker class (-k sync never keeps alive; gthread/async do) and "
      "--keep-alive S (idle)."),
    K("uvicorn", ANY, K_TW_IDLE_TIMEOUT,
      "uvicorn: raise --timeout-keep-alive (5 s by default) above the clients' idle gaps."),
    K("uvicorn", ANY, K_TW_NO_KEEPALIVE,
      "uvicorn keeps connections alive: its clients send `Connection: close` or HTTP/1.0."),
    K("uvicorn", ANY, K_TW_UNDECIDED, "uvicorn's knob: --timeout-keep-alive (idle, 5 s)."),
    K("php-fpm", P_FASTCGI, K_TW_NO_KEEPALIVE,
      "php-fpm closes a FastCGI connection after each request unless the web server asks it to "
      "keep it (FCGI_KEEP_CONN): in nginx, `fastcgi_keep_conn on;` with an upstream block "
      "`upstream php { server 127.0.0.1:9000; keepalive 8; }` and `fastcgi_pass php;`; in "
      "Apache mod_proxy_fcgi, `enablereuse=on`. (proxy_http_version is for HTTP upstreams, not "
      "FastCGI.)"),
    K("php-fpm", P_FASTCGI, K_TW_UNDECIDED,
      "php-fpm closes each FastCGI connection unless the web server sets keep-conn: nginx "
      "`fastcgi_keep_conn on;` with upstream `keepalive N`."),
    K("haproxy", ANY, K_TW_NO_KEEPALIVE,
      "HAProxy: `option http-keep-alive` (the default) instead of `option httpclose` / `option "
      "http-server-close`; `timeout http-keep-alive` for the idle time."),
    K("haproxy", ANY, K_TW_IDLE_TIMEOUT,
      "HAProxy: raise `timeout http-keep-alive` (it falls back to `timeout http-request`)."),
    K("lighttpd", ANY, K_TW_NO_KEEPALIVE,
      "lighttpd: server.max-keep-alive-requests above 0 (0 turns keep-alive off)."),
    K("lighttpd", ANY, K_TW_IDLE_TIMEOUT,
      "lighttpd: raise server.max-keep-alive-idle (5 s by default)."),
    K("lighttpd", ANY, K_TW_REQUEST_CAP, "lighttpd: raise server.max-keep-alive-requests (1000)."),
    K("caddy", ANY, K_TW_IDLE_TIMEOUT,
      "Caddy: raise the server's `idle_timeout` (global `servers { timeouts { idle 5m } }`)."),
    K("envoy", ANY, K_TW_IDLE_TIMEOUT,
      "Envoy: common_http_protocol_options.idle_timeout (1 h by default)."),
    K("envoy", ANY, K_TW_REQUEST_CAP,
      "Envoy: raise common_http_protocol_options.max_requests_per_connection."),
    K("varnish", ANY, K_TW_IDLE_TIMEOUT,
      "Varnish: raise the timeout_idle parameter (5 s by default: `varnishadm param.set "
      "timeout_idle 30`, or -p timeout_idle=30)."),
    K("squid", ANY, K_TW_IDLE_TIMEOUT,
      "Squid: raise client_idle_pconn_timeout (2 minutes by default); client_persistent_connections "
      "on."),
    K("tomcat", ANY, K_TW_IDLE_TIMEOUT,
      "Tomcat: the Connector's keepAliveTimeout (defaults to connectionTimeout, 20 s)."),
    K("tomcat", ANY, K_TW_REQUEST_CAP,
      "Tomcat: raise the Connector's maxKeepAliveRequests (100 by default; -1 unlimited)."),
    K("jetty", ANY, K_TW_IDLE_TIMEOUT, "Jetty: the connector's idleTimeout (30 s by default)."),
    K("puma", ANY, K_TW_IDLE_TIMEOUT,
      "Puma: raise persistent_timeout (20 s by default) above the clients' idle gaps."),
    K("puma", ANY, K_TW_NO_KEEPALIVE,
      "Puma keeps connections alive unless `queue_requests false` (then it closes after every "
      "response) or the clients send `Connection: close` / HTTP/1.0."),
    K("puma", ANY, K_TW_REQUEST_CAP,
      "Puma closes a keep-alive connection after max_fast_inline requests (10 by default) when "
      "all its threads are busy and a new connection waits: raise the thread count (`threads "
      "MIN, MAX`) or max_fast_inline."),
    K("puma", ANY, K_TW_UNDECIDED,
      "Puma's knobs: persistent_timeout (idle, 20 s by default), max_fast_inline with `threads` "
      "(closes busy connections when saturated), queue_requests (false: no keep-alive)."),
    K("node", ANY, K_TW_IDLE_TIMEOUT,
      "Node: raise server.keepAliveTimeout (5 s by default) above the clients' idle gaps (and "
      "headersTimeout above it)."),
    K("node", ANY, K_TW_REQUEST_CAP,
      "Node: server.maxRequestsPerSocket (0, unlimited, by default)."),
    K("go", ANY, K_TW_IDLE_TIMEOUT,
      "Go net/http: raise http.Server.IdleTimeout (it falls back to ReadTimeout when 0)."),
    K("go", ANY, K_TW_NO_KEEPALIVE,
      "Go net/http keeps alive unless SetKeepAlivesEnabled(false) or the clients send "
      "`Connection: close`."),
    K("redis-server", ANY, K_TW_IDLE_TIMEOUT,
      "Redis: `timeout N` closes clients idle for N s (0, the default, never does)."),
    K("postgres", ANY, K_TW_IDLE_TIMEOUT,
      "PostgreSQL: idle_session_timeout / idle_in_transaction_session_timeout end idle sessions."),
    K("memcached", ANY, K_TW_IDLE_TIMEOUT,
      "memcached: -o idle_timeout=N closes idle clients (0, never, by default)."),
    K("*", ANY, K_TW_NO_KEEPALIVE,
      "Keep-alive must be on at both ends: HTTP/1.1 clients without `Connection: close`, HTTP/1.0 "
      "clients (ab without -k) sending `Connection: keep-alive`, and a server that keeps "
      "connections; behind a proxy, its upstream keep-alive (nginx `upstream { keepalive N; }` "
      "with proxy_http_version 1.1). Where "
      "clients cannot keep connections, TIME_WAIT at this rate is harmless on a server."),
    K("*", ANY, K_TW_IDLE_TIMEOUT,
      "Raise the server's idle keep-alive timeout above the clients' idle gaps (nginx "
      "keepalive_timeout, Apache KeepAliveTimeout, closer serve --keepalive-timeout), or make the "
      "clients close first: a client pool idle timeout below the server's, or `Keep-Alive: "
      "timeout=N` a little below it so that well-behaved clients (browsers, undici) close idle "
      "connections themselves and the TIME_WAIT lands on them."),
    K("*", ANY, K_TW_REQUEST_CAP,
      "Raise the server's keep-alive request cap (nginx keepalive_requests, Apache "
      "MaxKeepAliveRequests, closer serve --keepalive-requests): each connection then lives N "
      "times longer and the close rate drops by the same factor."),
    K("*", ANY, K_TW_UNDECIDED,
      "The usual causes: (1) keep-alive off, `Connection: close` from either side, or HTTP/1.0 "
      "without keep-alive; (2) the keep-alive idle timeout (nginx keepalive_timeout); (3) the "
      "keep-alive request cap (nginx keepalive_requests). "
      "`closer probe URL` measures the cap and the idle timeout of an HTTP server."),

    K("traefik", ANY, K_TW_IDLE_TIMEOUT,
      "Traefik: raise the entry point's transport.respondingTimeouts.idleTimeout (180 s by "
      "default)."),
    K("nginx", ANY, K_TW_LIFETIME,
      "nginx: raise keepalive_time (1 h by default, since 1.19.10): a connection older than it "
      "closes after its current request."),
    K("*", ANY, K_TW_LIFETIME,
      "Raise the server's connection lifetime limit (nginx keepalive_time, Envoy "
      "max_connection_duration), or let the clients recycle connections younger than it."),
    K("nginx", ANY, K_KA_ANNOUNCE,
      "nginx: keepalive_timeout's second value announces it: `keepalive_timeout 60s 55s;` sends "
      "`Keep-Alive: timeout=55`."),
    K("*", ANY, K_KA_ANNOUNCE,
      "Announce the idle timeout a little below it (`Keep-Alive: timeout=N`): well-behaved "
      "clients (undici, browsers) then close idle connections first and the TIME_WAIT lands on "
      "them."),

    /* ---- closer probe: the settings by name, checked against each program's
     * documentation; tests/integration/probe_catalog.sh applies them ---- */
    PROBE("nginx", "", "keepalive_timeout", "keepalive_requests", "keepalive_time",
          "turn keep-alive on: keepalive_timeout above 0 (0 turns keep-alive off)",
          "keepalive_timeout's second value (keepalive_timeout 75s 70s sends Keep-Alive: timeout=70)"),
    PROBE("apache", "", "KeepAliveTimeout", "MaxKeepAliveRequests",
          "(none in Apache: a lifetime-like close is worker pressure, see mpm_event's "
          "AsyncRequestWorkerFactor)",
          "turn keep-alive on: KeepAlive On",
          "KeepAliveTimeout (Apache announces it as Keep-Alive: timeout=N, max=M)"),
    PROBE("lighttpd", "", "server.max-keep-alive-idle", "server.max-keep-alive-requests",
          "(none in lighttpd)",
          "turn keep-alive on: server.max-keep-alive-requests above 0 (0 turns keep-alive off)",
          "server.max-keep-alive-idle"),
    PROBE("h2o", "", "http1-request-timeout", "(none in h2o: a proxy in front may cap)",
          "(none in h2o)", "h2o keeps connections unless the client closes them",
          "(h2o sends no Keep-Alive header)"),
    PROBE("haproxy", "", "timeout http-keep-alive (else timeout client)", "(none in HAProxy)",
          "(none in HAProxy)",
          "turn keep-alive on: option http-keep-alive (the default) instead of option "
          "http-server-close / option httpclose",
          "(HAProxy sends no Keep-Alive header)"),
    PROBE("closer", "", "--keepalive-timeout", "--keepalive-requests", "--keepalive-time",
          "turn keep-alive on: --keepalive on", "(closer serve sends no Keep-Alive header)"),
    PROBE("node", "", "server.keepAliveTimeout (5 s)", "server.maxRequestsPerSocket", "(none in Node)",
          "Node's http module keeps connections: the clients end them (server.keepAliveTimeout = "
          "0 turns only the idle close off)",
          "server.keepAliveTimeout (Node announces it as Keep-Alive: timeout=N)"),
    PROBE("python", "", "the handler's timeout attribute (none by default)", "(none in http.server)",
          "(none in http.server)",
          "set protocol_version = 'HTTP/1.1' on the handler (HTTP/1.0 by default: no keep-alive)",
          "(http.server sends no Keep-Alive header)"),
    PROBE("gunicorn", "sync", "--keep-alive (2 s; not the sync worker's)",
          "(none per connection in gunicorn; --max-requests restarts a worker)", "(none in gunicorn)",
          "run a worker class that keeps connections: -k gthread --threads N --keep-alive S (the "
          "sync worker, the default, closes every connection)",
          "(gunicorn sends no Keep-Alive header)"),
    PROBE("gunicorn", "", "--keep-alive (2 s by default)",
          "(none per connection in gunicorn; --max-requests restarts a worker)", "(none in gunicorn)",
          "--keep-alive above 0 with -k gthread or an async worker",
          "(gunicorn sends no Keep-Alive header)"),
    PROBE("uvicorn", "", "--timeout-keep-alive (5 s by default)",
          "(none per connection in uvicorn; --limit-max-requests stops the server)",
          "(none in uvicorn)", "uvicorn keeps connections: the clients end them",
          "(uvicorn sends no Keep-Alive header)"),
    PROBE("hypercorn", "", "--keep-alive (5 s by default)", "(none in hypercorn)",
          "(none in hypercorn)", "hypercorn keeps connections: the clients end them",
          "(hypercorn sends no Keep-Alive header)"),
    PROBE("go", "", "http.Server{IdleTimeout} (ReadTimeout when 0; no limit when both are 0)",
          "(none in net/http)", "(none in net/http)",
          "net/http keeps connections unless Server.SetKeepAlivesEnabled(false)",
          "(net/http sends no Keep-Alive header: set it in a handler)"),
    PROBE("caddy", "", "servers { timeouts { idle } } (5 min by default)", "(none in Caddy)",
          "(none in Caddy)", "Caddy keeps connections: the clients end them",
          "(Caddy sends no Keep-Alive header: `header Keep-Alive \"timeout=N\"`)"),
    PROBE("traefik", "", "the entry point's transport.respondingTimeouts.idleTimeout (180 s)",
          "(none in Traefik)", "(none in Traefik)", "Traefik keeps connections: the clients end them",
          "(Traefik sends no Keep-Alive header)"),
    PROBE("tomcat", "", "the Connector's keepAliveTimeout (connectionTimeout, 20 s, by default)",
          "the Connector's maxKeepAliveRequests (100; -1 unlimited)", "(none in Tomcat)",
          "turn keep-alive on: the Connector's maxKeepAliveRequests above 1 (1 turns keep-alive off)",
          "keepAliveTimeout (Tomcat announces it as Keep-Alive: timeout=N to HTTP/1.0 clients)"),
    PROBE("jetty", "", "the connector's idleTimeout (30 s by default)", "(none in Jetty)",
          "(none in Jetty)", "Jetty keeps connections: the clients end them",
          "(Jetty sends no Keep-Alive header)"),
    PROBE("envoy", "", "common_http_protocol_options.idle_timeout (1 h by default)",
          "common_http_protocol_options.max_requests_per_connection",
          "common_http_protocol_options.max_connection_duration",
          "Envoy keeps downstream connections: the clients end them",
          "(Envoy sends no Keep-Alive header)"),
    PROBE("varnish", "", "the timeout_idle parameter (-p timeout_idle=N; 5 s by default)",
          "(none in Varnish)", "(none in Varnish)",
          "Varnish keeps client connections: the clients end them",
          "set resp.http.Keep-Alive = \"timeout=N\" in vcl_deliver (Varnish sends none itself)"),
    PROBE("squid", "", "client_idle_pconn_timeout (2 minutes by default)", "(none in Squid)",
          "(none in Squid)", "turn keep-alive on: client_persistent_connections on",
          "reply_header_add Keep-Alive \"timeout=N\" (Squid sends none itself)"),
    PROBE("*", "", "the server's keep-alive idle timeout", "the server's keep-alive request limit",
          "the server's connection lifetime limit",
          "turn keep-alive on (the server's keep-alive setting)",
          "a Keep-Alive: timeout=N response header"),

    /* ---- client-port-pressure: this host connects too often ---- */
    K("nginx", P_FASTCGI, K_CLIENT_REUSE,
      "nginx opens a FastCGI connection per request unless it keeps them: `fastcgi_keep_conn on;` "
      "and an upstream block with `keepalive N;` used by fastcgi_pass."),
    K("nginx", ANY, K_CLIENT_REUSE,
      "nginx opens one upstream connection per request unless the upstream block keeps them: "
      "`upstream NAME { server ADDR; keepalive 32; }` (idle connections kept per worker) and, in "
      "the location that proxies, `proxy_http_version 1.1;` and `proxy_set_header Connection "
      "\"\";` (by default nginx speaks HTTP/1.0 with `Connection: close` upstream)."),
    K("haproxy", ANY, K_CLIENT_REUSE,
      "HAProxy: reuse idle server connections (`http-reuse safe`, the default since 2.0; "
      "`aggressive` or `always` share more) and drop `option httpclose` / `option "
      "http-server-close`, which end the server connection after every response. When HAProxy "
      "ends it itself it sends RST (no TIME_WAIT here: TcpExt TCPAbortOnData counts them), so a "
      "full range means many connections at once: more source addresses (`source ADDR` per "
      "server) or more servers."),
    K("go", P_HTTP, K_CLIENT_REUSE,
      "Go net/http keeps only Transport.MaxIdleConnsPerHost idle connections per host (2 by "
      "default) and closes the rest after use: raise MaxIdleConnsPerHost (and MaxIdleConns) to "
      "the concurrency, and read every response body to EOF and Close() it so the connection "
      "goes back to the pool."),
    K("go", ANY, K_CLIENT_REUSE,
      "Go keeps 2 idle connections by default and closes the rest after use: net/http "
      "Transport.MaxIdleConnsPerHost, database/sql SetMaxIdleConns — raise them to the "
      "concurrency."),
    K("node", ANY, K_CLIENT_REUSE,
      "Node: send requests through one http.Agent with keepAlive: true (the global agent keeps "
      "alive since Node 19) and maxSockets / maxFreeSockets at the concurrency; undici's Pool "
      "does the same; for databases, one pg.Pool / ioredis client shared by the callers."),
    K("requests", ANY, K_CLIENT_REUSE,
      "Python: one requests.Session (not requests.get per call) with HTTPAdapter(pool_maxsize=N) "
      "at the concurrency, or one urllib3.PoolManager / httpx.Client shared by the callers."),
    K("python-asyncio", ANY, K_CLIENT_REUSE,
      "asyncio: one aiohttp.ClientSession (TCPConnector(limit_per_host=N)) or httpx.AsyncClient "
      "for the whole program, not one per request."),
    K("psycopg2", ANY, K_CLIENT_REUSE,
      "psycopg2: keep connections instead of connect() per query: a pool "
      "(psycopg2.pool.ThreadedConnectionPool, SQLAlchemy's QueuePool, psycopg_pool) or PgBouncer "
      "in front of PostgreSQL (pool_mode = transaction)."),
    K("python", P_POSTGRESQL, K_CLIENT_REUSE,
      "Python: keep PostgreSQL connections in a pool (SQLAlchemy's QueuePool, asyncpg.create_pool) "
      "or put PgBouncer in front."),
    K("python", P_MYSQL, K_CLIENT_REUSE,
      "Python: keep MySQL connections in a pool (SQLAlchemy's QueuePool) instead of connect() per "
      "query."),
    K("redis-py", ANY, K_CLIENT_REUSE,
      "redis-py: share one redis.Redis (its ConnectionPool) across calls instead of a new client "
      "per command."),
    K("pymemcache", ANY, K_CLIENT_REUSE,
      "pymemcache: share one PooledClient instead of a Client per call."),
    K("pgbench", ANY, K_CLIENT_REUSE,
      "pgbench -C opens a connection per transaction (it measures connection cost); without -C "
      "each client keeps one. An application that connects per transaction needs a pool or "
      "PgBouncer (pool_mode = transaction) in front, reached through its unix socket (over TCP each "
      "connection to PgBouncer still ends in a TIME_WAIT, on one side or the other)."),
    K("libpq", ANY, K_CLIENT_REUSE,
      "libpq: keep the PGconn open across queries, or connect through PgBouncer."),
    K("psql", ANY, K_CLIENT_REUSE,
      "psql connects once per invocation: send many statements to one psql (a script, -f), or "
      "use a program with a pool."),
    K("*", P_REDIS, K_CLIENT_REUSE,
      "Redis clients: keep connections instead of one per command: one shared pooled client "
      "(redis-py's redis.Redis and its ConnectionPool, Jedis's JedisPool, go-redis, ioredis); "
      "redis-benchmark -k 1 (its default); many commands piped into one redis-cli."),
    K("redis-benchmark", ANY, K_CLIENT_REUSE,
      "redis-benchmark -k 0 reconnects for every request; -k 1 (the default) keeps connections."),
    K("redis-cli", ANY, K_CLIENT_REUSE,
      "redis-cli connects once per invocation: pipe many commands into one redis-cli (or "
      "--pipe)."),
    K("ab", ANY, K_CLIENT_REUSE, "ab speaks HTTP/1.0 and closes every connection unless run with -k."),
    K("curl", ANY, K_CLIENT_REUSE,
      "Each curl process opens its own connections: give one curl several URLs (it reuses the "
      "connection), or use a client library with a pool."),
    K("java", ANY, K_CLIENT_REUSE,
      "JVM: share one pooled client (java.net.http.HttpClient reused, Apache HttpClient "
      "PoolingHttpClientConnectionManager with setDefaultMaxPerRoute, OkHttp's ConnectionPool; "
      "HikariCP for JDBC) instead of one per request."),
    K("php", ANY, K_CLIENT_REUSE,
      "PHP connects per request: persistent connections (mysqli `p:host`, "
      "PDO::ATTR_PERSISTENT, pg_pconnect) or a pooler in front (PgBouncer, ProxySQL)."),
    K("*", P_POSTGRESQL, K_CLIENT_REUSE,
      "A PostgreSQL client connects per transaction: keep connections open in the client (a "
      "pool, a persistent connection) or connect through PgBouncer (pool_mode = transaction) on "
      "this host's unix socket, which keeps a few server connections open (over TCP each "
      "connection to PgBouncer still ends in a TIME_WAIT, on one side or the other)."),
    K("*", ANY, K_CLIENT_REUSE,
      "Stop opening a connection per request: a connection pool with keep-alive in the client "
      "(and keep-alive honoured by the server)."),

    /* ---- close-wait-client-pool: the client's side ---- */
    K("psycopg2", ANY, K_POOL_CLIENT,
      "psycopg2's pools (SimpleConnectionPool, ThreadedConnectionPool) never check or expire "
      "idle connections. Close the ones idle longer than a maximum idle age below the server's "
      "idle timeout while they sit in the pool (a periodic sweep), or use a pool that does "
      "(psycopg_pool `max_idle=N` with `min_size=0`: one connection per N s). SQLAlchemy "
      "`pool_recycle=N` and `pool_pre_ping=True` act only at checkout: they spare the "
      "application the dead connection, the idle ones stay in CLOSE_WAIT until taken out."),
    K("sqlalchemy", ANY, K_POOL_CLIENT,
      "SQLAlchemy: `pool_recycle=N` below the server's idle timeout and `pool_pre_ping=True` "
      "replace a dead connection at checkout, not while idle: to leave no CLOSE_WAIT, "
      "engine.dispose() idle pools after a burst or keep the server's timeout above the idle "
      "gaps."),
    K("python", P_POSTGRESQL, K_POOL_CLIENT,
      "Python PostgreSQL pools: a maximum idle age below the server's idle timeout "
      "(asyncpg.create_pool max_inactive_connection_lifetime, SQLAlchemy pool_recycle)."),
    K("pymysql", ANY, K_POOL_CLIENT,
      "PyMySQL: recycle pooled connections before the server's wait_timeout (SQLAlchemy "
      "`pool_recycle=N`, `pool_pre_ping=True`), or conn.ping(reconnect=True) on checkout."),
    K("mysqlclient", ANY, K_POOL_CLIENT,
      "MySQLdb: recycle pooled connections before wait_timeout (SQLAlchemy `pool_recycle=N`, "
      "`pool_pre_ping=True`)."),
    K("redis-py", ANY, K_POOL_CLIENT,
      "redis-py keeps idle connections in its ConnectionPool and notices a closed one only when it "
      "takes it out again (health_check_interval checks on use, it closes nothing idle): keep the "
      "server's `timeout` at 0 (Redis's default) or above the clients' idle gaps, or drop idle "
      "connections yourself (pool.disconnect(inuse_connections=False) after a burst)."),
    K("pymemcache", ANY, K_POOL_CLIENT,
      "pymemcache's PooledClient closes nothing while idle: with pool_idle_timeout=N below the "
      "server's idle timeout the next call drops every connection idle longer than N (without "
      "it that call fails with MemcacheUnexpectedCloseError and the others stay); keep "
      "memcached's idle_timeout at 0 (its default) or above the clients' idle gaps, or "
      "client.close() a pool no longer used."),
    K("requests", ANY, K_POOL_CLIENT,
      "requests/urllib3 keep idle connections with no idle timeout and notice the FIN only at "
      "the next checkout (then reconnect): the pile is bounded by pool_maxsize per host. Close "
      "Sessions when done (`with requests.Session() as s:`), size pool_maxsize (HTTPAdapter) to "
      "the real concurrency, and keep idle gaps below the server's keep-alive timeout where "
      "reconnects hurt."),
    K("python-asyncio", ANY, K_POOL_CLIENT,
      "aiohttp: TCPConnector(keepalive_timeout=N) below the server's idle timeout (httpx: "
      "Limits(keepalive_expiry=N)); consume or release every response."),
    K("java", P_HTTP, K_POOL_CLIENT,
      "JVM HTTP clients: HttpURLConnection keeps up to http.maxConnections (5 by default) idle "
      "connections per destination in the JDK's KeepAliveCache and reads none of them; its "
      "Keep-Alive-Timer thread wakes every 5 s and closes those idle longer than the server's "
      "`Keep-Alive: timeout=N` header, else -Dhttp.keepAlive.time.server=N (JDK 19+ and recent "
      "11/17 updates), else 5 s. So the JVM closes first only when that time plus 5 s is below "
      "the server's keep-alive timeout: set -Dhttp.keepAlive.time.server accordingly, or raise "
      "the server's timeout. java.net.http.HttpClient closes an idle connection at the server's "
      "FIN, so it leaves none (-Djdk.httpclient.keepalive.timeout=N bounds its idle time); "
      "OkHttp ConnectionPool keepAliveDuration and Apache HttpClient evictIdleConnections / "
      "validateAfterInactivity below the server's timeout."),
    K("java", ANY, K_POOL_CLIENT,
      "Evict idle connections before the server does: java.net.http.HttpClient "
      "-Djdk.httpclient.keepalive.timeout=N, OkHttp ConnectionPool keepAliveDuration, Apache "
      "HttpClient evictIdleConnections / validateAfterInactivity, HikariCP idleTimeout and "
      "maxLifetime a few seconds below the server's timeout (keepaliveTime to validate)."),
    K("hikaricp", ANY, K_POOL_CLIENT,
      "HikariCP: maxLifetime and idleTimeout a few seconds below the database's idle timeout "
      "(wait_timeout, idle_session_timeout); keepaliveTime to validate idle connections."),
    K("go", P_HTTP, K_POOL_CLIENT,
      "Go: set http.Transport IdleConnTimeout below the server's keep-alive timeout and close "
      "every resp.Body (an unread body keeps the connection out of the pool)."),
    K("go", ANY, K_POOL_CLIENT,
      "Go database/sql: SetConnMaxIdleTime (and SetConnMaxLifetime) below the server's idle "
      "timeout."),
    K("node", ANY, K_POOL_CLIENT,
      "Node: an http.Agent with keepAlive closes a free socket at the server's FIN, so these are "
      "not being read: consume every response (res.resume()) and set the agent's timeout below "
      "the server's keep-alive timeout; pg.Pool idleTimeoutMillis, ioredis the same idea."),
    K("php", ANY, K_POOL_CLIENT,
      "PHP persistent connections (mysqli `p:`, PDO::ATTR_PERSISTENT) outlive the server's idle "
      "timeout: keep that timeout above the php-fpm children's idle time, or drop persistence."),
    K("*", ANY, K_POOL_CLIENT,
      "Give the client's pool an idle timeout below the server's, validate connections on "
      "checkout (a read of 0 bytes means closed), and close pools that are no longer used."),

    /* ---- close-wait-client-pool: the server's idle-close knob ---- */
    K("postgres", ANY, K_POOL_SERVER,
      "PostgreSQL ended these sessions: idle_session_timeout (or "
      "idle_in_transaction_session_timeout); raise it for the pool's role (`ALTER ROLE app SET "
      "idle_session_timeout = 0`) or keep the pool's idle age below it."),
    K("pgbouncer", ANY, K_POOL_SERVER, "PgBouncer ended them: client_idle_timeout."),
    K("mariadb", ANY, K_POOL_SERVER, "MariaDB ended them: wait_timeout (28800 s by default)."),
    K("mysql", ANY, K_POOL_SERVER, "MySQL ended them: wait_timeout (28800 s by default)."),
    K("redis-server", ANY, K_POOL_SERVER,
      "Redis ended them: its `timeout` setting (CONFIG SET timeout 0 never closes idle clients, "
      "the default)."),
    K("memcached", ANY, K_POOL_SERVER,
      "memcached ended them: -o idle_timeout=N (0, the default, never closes idle clients)."),
    K("nginx", ANY, K_POOL_SERVER, "nginx ended them: keepalive_timeout."),
    K("apache", ANY, K_POOL_SERVER, "Apache ended them: KeepAliveTimeout."),
    K("haproxy", ANY, K_POOL_SERVER, "HAProxy ended them: timeout http-keep-alive / timeout client."),
    K("gunicorn", ANY, K_POOL_SERVER, "gunicorn ended them: --keep-alive."),
    K("uvicorn", ANY, K_POOL_SERVER, "uvicorn ended them: --timeout-keep-alive."),
    K("node", ANY, K_POOL_SERVER, "The Node server ended them: server.keepAliveTimeout."),
    K("go", ANY, K_POOL_SERVER, "The Go server ended them: http.Server.IdleTimeout."),
    K("puma", ANY, K_POOL_SERVER, "Puma ended them: persistent_timeout."),
    K("*", P_POSTGRESQL, K_POOL_SERVER,
      "The PostgreSQL server ended them (idle_session_timeout, or a pooler's idle timeout)."),
    K("*", P_MYSQL, K_POOL_SERVER, "The MySQL server ended them (wait_timeout)."),
    K("*", P_REDIS, K_POOL_SERVER, "The Redis server ended them (its `timeout` setting)."),
    K("*", P_HTTP, K_POOL_SERVER, "The HTTP server ended them at its keep-alive idle timeout."),

    /* ---- close-wait-not-closed ---- */
    K("python-asyncio", ANY, K_CW_NOT_CLOSED,
      "asyncio: when reader.read() returns b'', call writer.close() and await "
      "writer.wait_closed(), in a finally: so every path closes; with a Protocol, call "
      "transport.close() in eof_received() (or return a false value from it so asyncio closes). "
      "Keeping writers in a registry (a set of clients) keeps them alive: remove them on EOF."),
    K("python", ANY, K_CW_NOT_CLOSED,
      "Python: close the socket when recv() returns b'' (use `with conn:` or a finally: block); "
      "socketserver closes when handle() returns, so a handler that returns early is not this."),
    K("node", ANY, K_CW_NOT_CLOSED,
      "Node: call socket.end() (or socket.destroy()) in the 'end' handler, or do not set "
      "allowHalfOpen: true (net.createServer / net.Socket option); an http server with "
      "httpAllowHalfOpen keeps the socket until the pending response ends: finish every response "
      "(res.end(), also on errors and timeouts) or drop httpAllowHalfOpen."),
    K("java", ANY, K_CW_NOT_CLOSED,
      "JVM: close the Socket/SocketChannel when read() returns -1 (try-with-resources); in Netty "
      "with ALLOW_HALF_CLOSURE, close the channel on ChannelInputShutdownEvent."),
    K("go", ANY, K_CW_NOT_CLOSED,
      "Go net/http: a handler never holds the connection, so these are handlers still running "
      "after the client left: watch r.Context() (select on <-r.Context().Done(); net/http cancels "
      "it when its background read sees the EOF) and return; bound handlers with "
      "http.TimeoutHandler / Server.WriteTimeout. A raw net.Listener server: close the net.Conn "
      "when Read returns io.EOF (defer conn.Close() at the top of the handler goroutine)."),
    K("apache", ANY, K_CW_NOT_CLOSED,
      "Apache closes a connection as soon as a read returns EOF: a CLOSE_WAIT held by an Apache "
      "child is a request still being served (its FIN came with the request), waiting for a CGI "
      "script, a proxied backend or a module. Bound that wait: `CGIScriptTimeout N` (scripts), "
      "ProxyTimeout (mod_proxy), `Timeout N` (all of them; 60 s by default, 300 in Debian's "
      "apache2.conf)."),
    K("ruby", ANY, K_CW_NOT_CLOSED,
      "Ruby: close the socket when read returns nil or raises EOFError (ensure socket.close)."),
    K("*", ANY, K_CW_NOT_CLOSED,
      "Close the fd when read() returns 0 (nginx closes at once) and check error paths for a "
      "missing close(); look for stuck threads (`cat /proc/PID/task/*/stack`, gdb `thread apply "
      "all bt`)."),
    K("go", P_HTTP, K_CW_NOT_CLOSED_OUT,
      "Go client: close every resp.Body (defer resp.Body.Close(), read to EOF): an open body "
      "holds the connection outside the Transport's pool, which would otherwise close it at the "
      "server's FIN."),
    K("*", ANY, K_CW_NOT_CLOSED_OUT,
      "The client read the server's EOF (or got it with the last data) and kept the socket: "
      "close connections when a read returns 0 / EOF, and release every response so a pool can "
      "close it."),

    /* ---- close-wait-not-polled ---- */
    K("node", ANY, K_CW_NOT_POLLED,
      "Node polls a socket only while it is read: a socket paused (socket.pause(), a pipe whose "
      "destination never drains) is out of epoll. Resume it, or socket.setTimeout() with a "
      "'timeout' handler that destroys it."),
    K("python", ANY, K_CW_NOT_POLLED,
      "asyncio: transport.pause_reading() without resume_reading() takes the fd out of epoll; "
      "resume it, or bound the wait (asyncio.timeout / wait_for) and close the transport."),
    K("java", ANY, K_CW_NOT_POLLED,
      "JVM NIO: register each accepted SocketChannel with the Selector (OP_READ), and close "
      "channels whose key was cancelled."),
    K("*", ANY, K_CW_NOT_POLLED,
      "Register each accepted fd with epoll (EPOLLIN|EPOLLRDHUP) right after accept(), and audit "
      "the paths between accept() and epoll_ctl(ADD) that can return early without closing."),

    /* ---- close-wait-blocked-thread: a thread or process per connection ---- */
    KV("gunicorn", "sync", ANY, K_CW_BLOCKED,
       "gunicorn sync workers: --timeout N kills a worker silent for N s (30 by default); put "
       "timeouts on the calls the app blocks in."),
    K("apache", ANY, K_CW_BLOCKED,
      "Apache: `Timeout N` (60 s by default; Debian's apache2.conf sets 300) bounds how long a "
      "child or thread waits for a CGI script's output, a proxied backend and the client; "
      "`CGIScriptTimeout N` (mod_cgi, mod_cgid) for scripts alone, ProxyTimeout for mod_proxy "
      "(the client then gets a 504 and the connection closes); mod_reqtimeout's "
      "RequestReadTimeout for slow clients; timeouts in the scripts' own calls."),
    K("php-fpm", ANY, K_CW_BLOCKED,
      "php-fpm: request_terminate_timeout in the pool, and timeouts on curl (CURLOPT_TIMEOUT) "
      "and database calls."),
    K("python", ANY, K_CW_BLOCKED,
      "Python threads or forked children (http.server, socketserver): put a timeout on the call "
      "the handler blocks in (requests timeout=, socket.settimeout(), the DB driver's timeouts) "
      "and set the handler class's timeout attribute (StreamRequestHandler.timeout) so a silent "
      "client ends the read; the connection closes when handle() returns."),
    K("java", P_HTTP, K_CW_BLOCKED,
      "JVM HTTP servers: bound each exchange. The JDK's com.sun.net.httpserver: "
      "-Dsun.net.httpserver.maxRspTime=S (and maxReqTime) closes the connection of an exchange "
      "still running after S seconds (off by default); Tomcat connectionTimeout / asyncTimeout; "
      "Jetty idleTimeout. And put a timeout on the call the handler waits in (HttpClient "
      "connect/read timeouts, JDBC socketTimeout/queryTimeout, Future.get(timeout)): a pool of "
      "blocked threads also stops serving."),
    K("java", ANY, K_CW_BLOCKED,
      "JVM: set timeouts on the blocking calls (Socket.setSoTimeout, HttpClient connect/read "
      "timeouts, JDBC socketTimeout/queryTimeout; Tomcat connectionTimeout); a pool of blocked "
      "threads also stops serving."),
    K("ruby", ANY, K_CW_BLOCKED,
      "Ruby: timeouts on the blocking call (Net::HTTP open_timeout/read_timeout, the database's "
      "statement timeout); Puma worker_timeout in clustered mode."),
    K("*", ANY, K_CW_BLOCKED,
      "Put a timeout on the call each thread or child blocks in (SO_RCVTIMEO, poll() with a "
      "timeout, the client library's timeouts) and close the connection when the handler "
      "returns or fails; threads in futex may be a deadlock (take a stack dump)."),

    /* ---- listen-overflow: the backlog ---- */
    K("nginx", ANY, K_BACKLOG, "nginx: `listen PORT backlog=N;` (511 by default)."),
    K("apache", ANY, K_BACKLOG, "Apache: ListenBacklog N (511 by default)."),
    K("gunicorn", ANY, K_BACKLOG, "gunicorn: --backlog N (2048 by default)."),
    K("uvicorn", ANY, K_BACKLOG, "uvicorn: --backlog N (2048 by default)."),
    K("php-fpm", ANY, K_BACKLOG, "php-fpm: listen.backlog in the pool (511 by default)."),
    K("redis-server", ANY, K_BACKLOG, "Redis: tcp-backlog (511 by default)."),
    K("node", ANY, K_BACKLOG, "Node: server.listen({ port, backlog: N }) (511 by default)."),
    K("go", ANY, K_BACKLOG, "Go: net.Listen uses net.core.somaxconn; raise that sysctl."),
    K("java", ANY, K_BACKLOG, "JVM: the backlog argument of ServerSocket / bind (Tomcat acceptCount)."),
    K("haproxy", ANY, K_BACKLOG, "HAProxy: `backlog N` on the bind line or in the frontend."),
    K("*", ANY, K_BACKLOG, "The backlog argument of listen() (the program's own setting)."),
};
const unsigned catalog_nknobs = sizeof catalog_knobs / sizeof catalog_knobs[0];

static const char *find(const char *prog, const char *variant, enum cat_proto proto,
                        enum cat_situation sit)
{
    for (unsigned i = 0; i < catalog_nknobs; i++) {
        const struct cat_knob *k = &catalog_knobs[i];
        if (k->situation == sit && k->proto == proto && *k->text && !strcmp(k->program, prog) &&
            !strcmp(k->variant ? k->variant : "", variant))
            return k->text;
    }
    return NULL;
}

const char *catalog_knob(const struct cat_program *p, enum cat_proto proto,
                         enum cat_situation sit)
{
    const char *rt = catalog_runtime_name(p->runtime);
    if (p->runtime == CR_JVM)
        rt = "java";
    const char *order[][2] = {
        {p->name, p->variant}, {p->name, ""}, {rt, ""}, {"*", ""},
    };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!*order[i][1] && i == 0)
            continue; /* no variant: the next step asks the same */
        const char *t = proto != P_NONE ? find(order[i][0], order[i][1], proto, sit) : NULL;
        if (t || (t = find(order[i][0], order[i][1], P_NONE, sit)))
            return t;
    }
    return NULL;
}

/* Settings are each program's own: no runtime's (uvicorn is not
 * http.server), then the generic one. */
const char *catalog_setting(const struct cat_program *p, enum cat_situation sit)
{
    const char *order[][2] = {
        {p ? p->name : "*", p ? p->variant : ""}, {p ? p->name : "*", ""}, {"*", ""},
    };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        for (unsigned j = 0; j < catalog_nknobs; j++) {
            const struct cat_knob *k = &catalog_knobs[j];
            if (k->situation == sit && k->setting && *k->setting &&
                !strcmp(k->program, order[i][0]) &&
                !strcmp(k->variant ? k->variant : "", order[i][1]))
                return k->setting;
        }
    return "";
}

const char *catalog_situation_name(enum cat_situation s)
{
    static const char *const names[K_COUNT] = {
        [K_TW_NO_KEEPALIVE] = "server-time-wait: no keep-alive",
        [K_TW_IDLE_TIMEOUT] = "server-time-wait: idle timeout",
        [K_TW_REQUEST_CAP] = "server-time-wait: request cap",
        [K_TW_UNDECIDED] = "server-time-wait: its knobs",
        [K_CLIENT_REUSE] = "client-port-pressure",
        [K_POOL_CLIENT] = "close-wait-client-pool: the client",
        [K_POOL_SERVER] = "close-wait-client-pool: the server",
        [K_CW_NOT_CLOSED] = "close-wait-not-closed",
        [K_CW_NOT_CLOSED_OUT] = "close-wait-not-closed: outgoing",
        [K_CW_NOT_POLLED] = "close-wait-not-polled",
        [K_CW_BLOCKED] = "close-wait-blocked-thread",
        [K_BACKLOG] = "listen-overflow",
        [K_TW_LIFETIME] = "server-time-wait: connection lifetime",
        [K_KA_ANNOUNCE] = "keep-alive announcement",
    };
    return s < K_COUNT ? names[s] : "";
}
