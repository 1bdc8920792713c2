/* SPDX-License-Identifier: MIT */
/* Programs and how they are recognised. Order matters: the first row that
 * matches wins, so a variant (Apache's MPM, gunicorn's worker class) comes
 * before its program's plain row, and a program before its runtime. */
#include <string.h>

#include "catalog/catalog.h"

#define SERVER(n, v, rt, pr, names, argv, lib, about) \
    {n, v, CK_SERVER, rt, pr, names, argv, lib, false, about}
#define PROXY(n, rt, pr, names, argv, about) {n, "", CK_PROXY, rt, pr, names, argv, "", false, about}
#define LIBRARY(n, rt, pr, argv, lib, about) {n, "", CK_LIBRARY, rt, pr, "", argv, lib, false, about}
#define TOOL(n, pr, names, about) {n, "", CK_TOOL, CR_NATIVE, pr, names, "", "", false, about}

const struct cat_program catalog_programs[] = {
    /* Web servers and proxies. */
    PROXY("nginx", CR_NATIVE, P_HTTP, "nginx", "", "web server and reverse proxy; event loop per worker"),
    SERVER("apache", "prefork", CR_NATIVE, P_HTTP, "apache2|httpd", "", "mod_mpm_prefork",
           "Apache httpd, prefork MPM: one process per connection"),
    SERVER("apache", "event", CR_NATIVE, P_HTTP, "apache2|httpd", "", "mod_mpm_event",
           "Apache httpd, event MPM: threads, idle keep-alive in a listener thread"),
    SERVER("apache", "worker", CR_NATIVE, P_HTTP, "apache2|httpd", "", "mod_mpm_worker",
           "Apache httpd, worker MPM: a thread per connection"),
    SERVER("apache", "", CR_NATIVE, P_HTTP, "apache2|httpd", "", "", "Apache httpd"),
    PROXY("haproxy", CR_NATIVE, P_HTTP, "haproxy", "", "TCP/HTTP load balancer"),
    PROXY("envoy", CR_NATIVE, P_HTTP, "envoy", "", "L7 proxy"),
    PROXY("varnish", CR_NATIVE, P_HTTP, "varnishd|cache-main", "", "HTTP cache in front of an origin"),
    PROXY("squid", CR_NATIVE, P_HTTP, "squid", "", "HTTP forward/reverse proxy cache"),
    SERVER("lighttpd", "", CR_NATIVE, P_HTTP, "lighttpd", "", "", "web server; event loop"),
    SERVER("h2o", "", CR_NATIVE, P_HTTP, "h2o", "", "", "web server; event loop"),
    PROXY("caddy", CR_GO, P_HTTP, "caddy", "", "web server and reverse proxy (Go)"),
    SERVER("closer", "", CR_NATIVE, P_HTTP, "closer", "", "", "closer serve / closer exporter"),
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
    SERVER("gunicorn", "gthread", CR_PYTHON, P_HTTP, "gunicorn", "gthread", "",
           "Python WSGI server, threaded workers (-k gthread)"),
    SERVER("gunicorn", "async", CR_PYTHON, P_HTTP, "gunicorn", "gevent|eventlet|tornado|UvicornWorker",
           "", "Python WSGI server, async workers"),
    SERVER("gunicorn", "sync", CR_PYTHON, P_HTTP, "gunicorn", "", "",
           "Python WSGI server, sync workers (the default): one request per connection"),
    /* Debian's python3-uvicorn has no uvicorn script: `python3 -m uvicorn`. */
    SERVER("uvicorn", "", CR_PYTHON, P_HTTP, "uvicorn|python", "uvicorn", "",
           "Python ASGI server; asyncio"),
    {"python-asyncio", "", CK_SERVER, CR_PYTHON, P_NONE, "", "", "_asyncio", true,
     "a Python asyncio server (an epoll instance in use)"},
    SERVER("hypercorn", "", CR_PYTHON, P_HTTP, "hypercorn", "", "", "Python ASGI server"),
    SERVER("uwsgi", "", CR_PYTHON, P_UWSGI, "uwsgi", "", "", "uWSGI application server"),
    SERVER("tomcat", "", CR_JVM, P_HTTP, "java", "org.apache.catalina", "", "Apache Tomcat (JVM)"),
    SERVER("jetty", "", CR_JVM, P_HTTP, "java", "org.eclipse.jetty", "", "Eclipse Jetty (JVM)"),
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
     "_asyncio", true, "aiohttp / httpx.AsyncClient on asyncio (an epoll instance in use)"},
    LIBRARY("requests", CR_PYTHON, P_HTTP, "", "", "requests / urllib3 / http.client"),
    LIBRARY("libpq", CR_NATIVE, P_POSTGRESQL, "", "libpq", "a C program on libpq"),
    LIBRARY("hikaricp", CR_JVM, P_NONE, "HikariCP|hikari", "", "HikariCP JDBC pool (JVM)"),
    LIBRARY("okhttp", CR_JVM, P_HTTP, "okhttp", "", "OkHttp (JVM)"),
    LIBRARY("php", CR_PHP, P_NONE, "", "", "PHP (mysqli, PDO, curl) in php-fpm or php-cli"),
    /* Runtimes, when nothing more precise is known. */
    {"python", "", CK_RUNTIME, CR_PYTHON, P_NONE, "python", "", "libpython", false, "Python"},
    {"node", "", CK_RUNTIME, CR_NODE, P_NONE, "node", "", "libnode", false, "Node.js (libuv event loop)"},
    {"java", "", CK_RUNTIME, CR_JVM, P_NONE, "java", "", "libjvm", false, "a JVM"},
    {"ruby", "", CK_RUNTIME, CR_RUBY, P_NONE, "ruby", "", "libruby", false, "Ruby"},
    {"php", "", CK_RUNTIME, CR_PHP, P_NONE, "php", "", "", false, "PHP"},
    {"go", "", CK_RUNTIME, CR_GO, P_NONE, "", "", "", false, "a Go program (net/http, database/sql)"},
    {"native", "", CK_RUNTIME, CR_NATIVE, P_NONE, "", "", "", false, "a program closer does not know"},
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
