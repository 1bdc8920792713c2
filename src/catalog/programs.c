/* SPDX-License-Identifier: MIT */
/* Programs and how they are recognised. Order matters: the first row that
 * matches wins, so a variant (Apache's MPM, gunicorn's worker class) comes
 * before its program's plain row, and a program before its runtime. */
#include <string.h>

#include "catalog/catalog.h"

#define NOWIRE {NULL, "", ""}
#define SERVER(n, v, rt, pr, names, argv, lib, about) \
    {n, v, CK_SERVER, rt, pr, names, argv, lib, false, about, NOWIRE}
#define PROXY(n, rt, pr, names, argv, about) \
    {n, "", CK_PROXY, rt, pr, names, argv, "", false, about, NOWIRE}
#define LIBRARY(n, rt, pr, argv, lib, about) \
    {n, "", CK_LIBRARY, rt, pr, "", argv, lib, false, about, NOWIRE}
#define TOOL(n, pr, names, about) {n, "", CK_TOOL, CR_NATIVE, pr, names, "", "", false, about, NOWIRE}
/* The same, recognised from the wire too (see struct cat_wire). */
#define WIRE(title, match, note) {title, match, note}
#define SERVERW(n, v, rt, pr, names, argv, lib, about, w) \
    {n, v, CK_SERVER, rt, pr, names, argv, lib, false, about, w}
#define PROXYW(n, rt, pr, names, argv, about, w) \
    {n, "", CK_PROXY, rt, pr, names, argv, "", false, about, w}

const struct cat_program catalog_programs[] = {
    /* Web servers and proxies. */
    /* HAProxy first: on the wire it shows as the nginx behind it. */
    PROXYW("haproxy", CR_NATIVE, P_HTTP, "haproxy", "", "TCP/HTTP load balancer",
           WIRE("HAProxy", "server~nginx;connection=",
                "no Connection header, which nginx always sends: a proxy in front strips it, as "
                "HAProxy does")),
    PROXYW("nginx", CR_NATIVE, P_HTTP, "nginx", "", "web server and reverse proxy; event loop per worker",
           WIRE("nginx", "server~nginx", "")),
    SERVER("apache", "prefork", CR_NATIVE, P_HTTP, "apache2|httpd", "", "mod_mpm_prefork",
           "Apache httpd, prefork MPM: one process per connection"),
    SERVER("apache", "event", CR_NATIVE, P_HTTP, "apache2|httpd", "", "mod_mpm_event",
           "Apache httpd, event MPM: threads, idle keep-alive in a listener thread"),
    SERVER("apache", "worker", CR_NATIVE, P_HTTP, "apache2|httpd", "", "mod_mpm_worker",
           "Apache httpd, worker MPM: a thread per connection"),
    /* Tomcat's Connector may say Server: Apache-Coyote/1.1. */
    SERVERW("apache", "", CR_NATIVE, P_HTTP, "apache2|httpd", "", "", "Apache httpd",
            WIRE("Apache httpd", "server~apache;server!coyote", "")),
    PROXYW("envoy", CR_NATIVE, P_HTTP, "envoy", "", "L7 proxy", WIRE("Envoy", "server~envoy", "")),
    /* Caches pass the origin's Server header and name themselves in Via. */
    PROXYW("varnish", CR_NATIVE, P_HTTP, "varnishd|cache-main", "", "HTTP cache in front of an origin",
           WIRE("Varnish", "via~varnish", "a cache in front: the client's connections end at Varnish")),
    PROXYW("squid", CR_NATIVE, P_HTTP, "squid", "", "HTTP forward/reverse proxy cache",
           WIRE("Squid", "via~squid", "a cache in front: the client's connections end at Squid")),
    SERVERW("lighttpd", "", CR_NATIVE, P_HTTP, "lighttpd", "", "", "web server; event loop",
            WIRE("lighttpd", "server~lighttpd", "")),
    SERVERW("h2o", "", CR_NATIVE, P_HTTP, "h2o", "", "", "web server; event loop",
            WIRE("h2o", "server~h2o", "")),
    PROXYW("caddy", CR_GO, P_HTTP, "caddy", "", "web server and reverse proxy (Go)",
           WIRE("Caddy", "server~caddy", "")),
    /* Traefik sends no Server header: on the wire it is Go net/http. */
    PROXY("traefik", CR_GO, P_HTTP, "traefik", "", "reverse proxy and load balancer (Go)"),
    SERVERW("closer", "", CR_NATIVE, P_HTTP, "closer", "", "", "closer serve / closer exporter",
            WIRE("closer serve", "server~closer", "")),
    PROXY("pgbouncer", CR_NATIVE, P_POSTGRESQL, "pgbouncer", "", "PostgreSQL connection pooler"),
    /* Databases and caches. */
    SERVER("postgres", "", CR_NATIVE, P_POSTGRESQL, "postgres|postmaster", "", "",
           "PostgreSQL server: a backend process per connection"),
    SERVER("mariadb", "", CR_NATIVE, P_MYSQL, "mariadbd", "", "", "MariaDB server: a thread per connection"),
    SERVER("mysql", "", CR_NATIVE, P_MYSQL, "mysqld", "", "", "MySQL server: a thread per connection"),
    SERVER("redis-server", "", CR_NATIVE, P_REDIS, "redis-server", "", "", "Redis server; event loop"),
    SERVER("memcached", "", CR_NATIVE, P_MEMCACHED, "memcached", "", "", "memcached; event loop per thread"),
    /* Application servers, by runtime. */
    SERVER("php-fpm", "", CR_PHP, P_FASTCGI, "php-fpm", "", "",
           "PHP FastCGI process manager: a process per request"),
    SERVERW("gunicorn", "gthread", CR_PYTHON, P_HTTP, "gunicorn", "gthread", "",
            "Python WSGI server, threaded workers (-k gthread)",
            WIRE("gunicorn", "server~gunicorn;connection~keep-alive",
                 "keeps connections: the gthread or an async worker")),
    SERVER("gunicorn", "async", CR_PYTHON, P_HTTP, "gunicorn", "gevent|eventlet|tornado|UvicornWorker",
           "", "Python WSGI server, async workers"),
    SERVERW("gunicorn", "sync", CR_PYTHON, P_HTTP, "gunicorn", "", "",
            "Python WSGI server, sync workers (the default): one request per connection",
            WIRE("gunicorn", "server~gunicorn",
                 "Connection: close to an HTTP/1.1 request: the sync worker")),
    /* Debian's python3-uvicorn has no uvicorn script: `python3 -m uvicorn`. */
    SERVERW("uvicorn", "", CR_PYTHON, P_HTTP, "uvicorn|python", "uvicorn", "",
            "Python ASGI server; asyncio", WIRE("uvicorn", "server~uvicorn", "")),
    {"python-asyncio", "", CK_SERVER, CR_PYTHON, P_NONE, "", "", "_asyncio", true,
     "a Python asyncio server (an epoll instance in use)", NOWIRE},
    SERVERW("hypercorn", "", CR_PYTHON, P_HTTP, "hypercorn", "", "", "Python ASGI server",
            WIRE("hypercorn", "server~hypercorn", "")),
    SERVER("uwsgi", "", CR_PYTHON, P_UWSGI, "uwsgi", "", "", "uWSGI application server"),
    /* Tomcat 10 sends no Server header; its Date comes last, after the
     * body's headers (Go writes Date before them, Node a Connection). */
    SERVERW("tomcat", "", CR_JVM, P_HTTP, "java", "org.apache.catalina", "", "Apache Tomcat (JVM)",
            WIRE("Tomcat", "server=;connection=;names$date|server~coyote/tomcat",
                 "Date last, no Connection header: Tomcat's Coyote connector")),
    SERVERW("jetty", "", CR_JVM, P_HTTP, "java", "org.eclipse.jetty", "", "Eclipse Jetty (JVM)",
            WIRE("Jetty", "server~jetty", "")),
    SERVER("netty", "", CR_JVM, P_NONE, "", "", "libnetty_transport_native_epoll",
           "Netty (JVM) with its native epoll transport"),
    SERVER("puma", "", CR_RUBY, P_HTTP, "puma", "", "", "Ruby web server; threads, clustered workers"),
    SERVER("unicorn", "", CR_RUBY, P_HTTP, "unicorn", "", "", "Ruby pre-fork web server"),
    /* Client programs. */
    TOOL("pgbench", P_POSTGRESQL, "pgbench", "PostgreSQL benchmark (-C: a connection per transaction)"),
    TOOL("psql", P_POSTGRESQL, "psql", "PostgreSQL shell"),
    TOOL("redis-benchmark", P_REDIS, "redis-benchmark", "Redis benchmark (-k 0: a connection per request)"),
    TOOL("redis-cli", P_REDIS, "redis-cli", "Redis shell"),
    TOOL("ab", P_HTTP, "ab", "ApacheBench (HTTP/1.0; keep-alive only with -k)"),
    TOOL("wrk", P_HTTP, "wrk", "HTTP benchmark: persistent connections"),
    TOOL("curl", P_HTTP, "curl", "HTTP client: one process, its connections end with it"),
    /* Client libraries: recognised by runtime and protocol (and a library
     * when one is mapped). */
    LIBRARY("psycopg2", CR_PYTHON, P_POSTGRESQL, "", "libpq", "psycopg2 / psycopg 3 on libpq"),
    LIBRARY("sqlalchemy", CR_PYTHON, P_POSTGRESQL, "sqlalchemy", "", "SQLAlchemy's pool (Python)"),
    LIBRARY("python-postgresql", CR_PYTHON, P_POSTGRESQL, "", "", "asyncpg / pg8000 (pure Python)"),
    LIBRARY("mysqlclient", CR_PYTHON, P_MYSQL, "", "libmysqlclient|libmariadb", "mysqlclient (MySQLdb) on libmysqlclient"),
    LIBRARY("pymysql", CR_PYTHON, P_MYSQL, "", "", "PyMySQL (pure Python)"),
    LIBRARY("redis-py", CR_PYTHON, P_REDIS, "", "", "redis-py"),
    LIBRARY("pymemcache", CR_PYTHON, P_MEMCACHED, "", "", "pymemcache / python-memcached"),
    {"python-asyncio", "", CK_LIBRARY, CR_PYTHON, P_HTTP, "", "",
     "_asyncio", true, "aiohttp / httpx.AsyncClient on asyncio (an epoll instance in use)", NOWIRE},
    LIBRARY("requests", CR_PYTHON, P_HTTP, "", "", "requests / urllib3 / http.client"),
    LIBRARY("libpq", CR_NATIVE, P_POSTGRESQL, "", "libpq", "a C program on libpq"),
    LIBRARY("hikaricp", CR_JVM, P_NONE, "HikariCP|hikari", "", "HikariCP JDBC pool (JVM)"),
    LIBRARY("okhttp", CR_JVM, P_HTTP, "okhttp", "", "OkHttp (JVM)"),
    LIBRARY("php", CR_PHP, P_NONE, "", "", "PHP (mysqli, PDO, curl) in php-fpm or php-cli"),
    /* Runtimes, when nothing more precise is known. */
    {"python", "", CK_RUNTIME, CR_PYTHON, P_NONE, "python", "", "libpython", false, "Python",
     WIRE("Python http.server", "server~simplehttp/basehttp", "")},
    /* Node's http module: no Server header, Keep-Alive: timeout=N (5 s)
     * on every kept-alive answer. */
    {"node", "", CK_RUNTIME, CR_NODE, P_NONE, "node", "", "libnode", false, "Node.js (libuv event loop)",
     WIRE("Node.js http", "server=;connection~keep-alive;keep-alive~timeout=", "as Node's http module")},
    {"java", "", CK_RUNTIME, CR_JVM, P_NONE, "java", "", "libjvm", false, "a JVM", NOWIRE},
    {"ruby", "", CK_RUNTIME, CR_RUBY, P_NONE, "ruby", "", "libruby", false, "Ruby", NOWIRE},
    {"php", "", CK_RUNTIME, CR_PHP, P_NONE, "php", "", "", false, "PHP", NOWIRE},
    /* Go net/http: no Server header, none of Connection on a kept
     * HTTP/1.1 answer, and its own headers last: Date, then Content-Length,
     * Content-Type or Transfer-Encoding. */
    {"go", "", CK_RUNTIME, CR_GO, P_NONE, "", "", "", false, "a Go program (net/http, database/sql)",
     WIRE("Go net/http", "server=;connection=;names~date,content-length/date,content-type/"
          "date,transfer-encoding", "Date before the body's headers: Go's net/http, or Traefik")},
    {"native", "", CK_RUNTIME, CR_NATIVE, P_NONE, "", "", "", false, "a program closer does not know", NOWIRE},
};
const unsigned catalog_nprograms = sizeof catalog_programs / sizeof catalog_programs[0];

static const char *const runtime_names[CR_COUNT] = {
    [CR_NATIVE] = "native", [CR_PYTHON] = "python", [CR_NODE] = "node", [CR_JVM] = "jvm",
    [CR_GO] = "go",         [CR_RUBY] = "ruby",     [CR_PHP] = "php",
};

const char *catalog_runtime_name(enum cat_runtime rt)
{
    return rt < CR_COUNT ? runtime_names[rt] : "native";
}

/* Does one of the "a|b" alternatives satisfy match(word)? */
static bool any_of(const char *alts, const char *s, bool (*match)(const char *word, size_t n,
                                                                    const char *s))
{
    for (const char *p = alts; *p;) {
        size_t n = strcspn(p, "|");
        if (n && match(p, n, s))
            return true;
        p += n + (p[n] == '|');
    }
    return false;
}

/* The name, or the name and a version or title after it ("python3.11",
 * "php-fpm8.2", "gunicorn: worker"), never a longer word ("abc" is not ab). */
static bool is_prefix(const char *word, size_t n, const char *s)
{
    if (strncmp(s, word, n))
        return false;
    char next = s[n];
    return !((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || next == '_');
}

static bool contained(const char *word, size_t n, const char *s)
{
    return memmem(s, strlen(s), word, n) != NULL;
}

/* ";libpq;" contains the marker word exactly. */
static bool mapped(const char *word, size_t n, const char *libs)
{
    for (const char *p = libs; (p = strchr(p, ';')) && p[1]; p++)
        if (!strncmp(p + 1, word, n) && p[1 + n] == ';')
            return true;
    return false;
}

static const char *basename_of(const char *path, size_t len, char *buf, size_t buflen)
{
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t n = len - start < buflen - 1 ? len - start : buflen - 1;
    memcpy(buf, path + start, n);
    buf[n] = 0;
    return buf;
}

/* comm, exe, argv[0]'s basename, and argv[1]'s when argv[0] is an
 * interpreter running a script ("/usr/bin/python3 /usr/bin/gunicorn") or
 * a module ("python3 -m uvicorn", "python3 -m gunicorn.app.wsgiapp"). */
static bool names_match(const char *names, const struct cat_evidence *ev)
{
    if (!*names)
        return true;
    char a0[64], a1[64];
    size_t n0 = strcspn(ev->cmdline, " ");
    const char *rest = ev->cmdline + n0 + (ev->cmdline[n0] == ' ');
    basename_of(ev->cmdline, n0, a0, sizeof a0);
    if (!strncmp(rest, "-m ", 3))
        rest += 3;
    basename_of(rest, strcspn(rest, " "), a1, sizeof a1);
    return any_of(names, ev->comm, is_prefix) || any_of(names, ev->exe, is_prefix) ||
           any_of(names, a0, is_prefix) || (a1[0] != '-' && any_of(names, a1, is_prefix));
}

static bool matches(const struct cat_program *p, const struct cat_evidence *ev)
{
    if (p->kind == CK_RUNTIME && p->runtime == CR_GO)
        return ev->go;
    if (!*p->names && !*p->argv && !*p->lib)
        return false;
    return names_match(p->names, ev) && (!*p->argv || any_of(p->argv, ev->cmdline, contained)) &&
           (!*p->lib || any_of(p->lib, ev->libs, mapped)) && (!p->needs_epoll || ev->epoll > 0);
}

/* A runtime row matches by its name or its library alone. */
static bool runtime_matches(const struct cat_program *p, const struct cat_evidence *ev)
{
    if (p->runtime == CR_GO)
        return ev->go;
    return (*p->names && names_match(p->names, ev)) || (*p->lib && any_of(p->lib, ev->libs, mapped));
}

enum cat_runtime catalog_runtime(const struct cat_evidence *ev)
{
    for (unsigned i = 0; i < catalog_nprograms; i++) {
        const struct cat_program *p = &catalog_programs[i];
        if (p->kind == CK_RUNTIME && p->runtime != CR_NATIVE && runtime_matches(p, ev))
            return p->runtime;
    }
    /* A server row names a runtime too (php-fpm, gunicorn's script). */
    for (unsigned i = 0; i < catalog_nprograms; i++) {
        const struct cat_program *p = &catalog_programs[i];
        if ((p->kind == CK_SERVER || p->kind == CK_PROXY) && matches(p, ev))
            return p->runtime;
    }
    return CR_NATIVE;
}

const struct cat_program *catalog_runtime_program(enum cat_runtime rt)
{
    for (unsigned i = 0; i < catalog_nprograms; i++)
        if (catalog_programs[i].kind == CK_RUNTIME && catalog_programs[i].runtime == rt)
            return &catalog_programs[i];
    return &catalog_programs[catalog_nprograms - 1];
}

const struct cat_program *catalog_server(const struct cat_evidence *ev)
{
    for (unsigned i = 0; i < catalog_nprograms; i++) {
        const struct cat_program *p = &catalog_programs[i];
        if ((p->kind == CK_SERVER || p->kind == CK_PROXY) && matches(p, ev))
            return p;
    }
    return catalog_runtime_program(catalog_runtime(ev));
}

const struct cat_program *catalog_client(const struct cat_evidence *ev, enum cat_proto proto)
{
    for (unsigned i = 0; i < catalog_nprograms; i++) {
        const struct cat_program *p = &catalog_programs[i];
        if (p->kind == CK_TOOL && matches(p, ev))
            return p;
    }
    enum cat_runtime rt = catalog_runtime(ev);
    for (unsigned i = 0; i < catalog_nprograms; i++) {
        const struct cat_program *p = &catalog_programs[i];
        if (p->kind != CK_LIBRARY || p->runtime != rt || (p->proto != P_NONE && p->proto != proto))
            continue;
        bool named = *p->argv || *p->lib || p->needs_epoll;
        if (named ? (!*p->argv || any_of(p->argv, ev->cmdline, contained)) &&
                        (!*p->lib || any_of(p->lib, ev->libs, mapped)) &&
                        (!p->needs_epoll || ev->epoll > 0)
                  : proto != P_NONE)
            return p;
    }
    return catalog_server(ev);
}

size_t catalog_lib_marker(const char *base)
{
    for (unsigned i = 0; i < catalog_nprograms; i++) {
        const char *alts = catalog_programs[i].lib;
        for (const char *p = alts; *p;) {
            size_t n = strcspn(p, "|");
            /* "libpq.so.5", "_asyncio.cpython-311-x86_64-linux-gnu.so" */
            if (n && !strncmp(base, p, n) && (base[n] == '.' || base[n] == '-'))
                return n;
            p += n + (p[n] == '|');
        }
    }
    return 0;
}
