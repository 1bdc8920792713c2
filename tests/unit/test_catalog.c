/* SPDX-License-Identifier: MIT */
/* The program catalogue: programs recognised from what /proc shows, the
 * knob lookup order, protocols by port, and docs/doctor.md carrying the
 * catalogue exactly as `closer doctor --catalog` prints it. */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "test.h"

static const struct cat_program *server(const char *comm, const char *exe, const char *cmdline,
                                        const char *libs, unsigned epoll)
{
    struct cat_evidence ev = {comm, exe, cmdline, libs, false, epoll};
    return catalog_server(&ev);
}

static const struct cat_program *client(const char *comm, const char *exe, const char *cmdline,
                                        const char *libs, unsigned epoll, enum cat_proto proto)
{
    struct cat_evidence ev = {comm, exe, cmdline, libs, false, epoll};
    return catalog_client(&ev, proto);
}

TEST(servers_by_name_flags_and_libraries)
{
    CHECK_EQ_STR(server("nginx", "nginx", "nginx: worker process", "", 1)->name, "nginx");
    const struct cat_program *p = server("apache2", "apache2", "/usr/sbin/apache2 -f x -DFOREGROUND",
                                         ";mod_mpm_prefork;", 0);
    CHECK_EQ_STR(p->name, "apache");
    CHECK_EQ_STR(p->variant, "prefork");
    CHECK_EQ_STR(server("apache2", "apache2", "apache2", ";mod_mpm_event;", 1)->variant, "event");
    /* gunicorn is a script: comm names it, exe is python's */
    p = server("gunicorn", "python3.11", "/usr/bin/python3 /usr/bin/gunicorn -w 2 app:app", "", 0);
    CHECK_EQ_STR(p->name, "gunicorn");
    CHECK_EQ_STR(p->variant, "sync");
    CHECK_EQ_INT(p->runtime, CR_PYTHON);
    p = server("gunicorn", "python3.11", "/usr/bin/python3 /usr/bin/gunicorn -k gthread app:app",
               "", 1);
    CHECK_EQ_STR(p->variant, "gthread");
    /* a process title set by the program (setproctitle) still starts with its name */
    CHECK_EQ_STR(server("python3", "python3.11", "gunicorn: worker [app:app]", "", 0)->name,
                 "gunicorn");
    /* a module run by the interpreter */
    CHECK_EQ_STR(server("python3", "python3.11", "/usr/bin/python3 -m gunicorn -w 2 app:app", "", 0)
                     ->name, "gunicorn");
    CHECK_EQ_STR(server("python3", "python3.11", "python3 -m hypercorn app:app", "", 1)->name,
                 "hypercorn");
    CHECK_EQ_STR(server("php-fpm8.2", "php-fpm8.2", "php-fpm: pool www", "", 1)->name, "php-fpm");
    CHECK_EQ_STR(server("postgres", "postgres", "postgres: app db 127.0.0.1(5000) idle", "", 1)->name,
                 "postgres");
    CHECK_EQ_STR(server("java", "java", "java -cp x org.apache.catalina.startup.Bootstrap start",
                        ";libjvm;", 3)->name, "tomcat");
    CHECK_EQ_STR(server("ruby", "ruby3.1", "puma 6.4.0 (tcp://0.0.0.0:9292) [app]", ";libruby;", 1)
                     ->name, "puma");
    /* asyncio needs the module AND an epoll instance in use */
    CHECK_EQ_STR(server("python3", "python3.11", "python3 srv.py", ";_asyncio;", 1)->name,
                 "python-asyncio");
    CHECK_EQ_STR(server("python3", "python3.11", "python3 srv.py", ";_asyncio;", 0)->name, "python");
    CHECK_EQ_STR(server("myd", "myd", "./myd", "", 1)->name, "native");
    /* a longer word is another program */
    CHECK_EQ_STR(server("nginxlike", "nginxlike", "./nginxlike", "", 1)->name, "native");
    CHECK_EQ_STR(client("abc", "abc", "./abc", "", 0, P_HTTP)->name, "native");
    CHECK_EQ_STR(client("ab", "ab", "ab -n 10 http://x/", "", 0, P_HTTP)->name, "ab");
    struct cat_evidence go = {"api", "api", "./api", "", true, 4};
    CHECK_EQ_STR(catalog_server(&go)->name, "go");
    CHECK_EQ_INT(catalog_runtime(&go), CR_GO);
}

TEST(clients_by_runtime_protocol_and_library)
{
    /* psycopg2 maps libpq; redis-py is pure Python: the protocol decides */
    CHECK_EQ_STR(client("python3", "python3.11", "python3 pool.py", ";libpq;", 0, P_POSTGRESQL)->name,
                 "psycopg2");
    CHECK_EQ_STR(client("python3", "python3.11", "python3 pool.py", ";_asyncio;", 0, P_REDIS)->name,
                 "redis-py");
    CHECK_EQ_STR(client("python3", "python3.11", "python3 c.py", "", 0, P_HTTP)->name, "requests");
    CHECK_EQ_STR(client("python3", "python3.11", "python3 c.py", ";_asyncio;", 2, P_HTTP)->name,
                 "python-asyncio");
    CHECK_EQ_STR(client("pgbench", "pgbench", "pgbench -C -T 3", ";libpq;", 0, P_POSTGRESQL)->name,
                 "pgbench");
    CHECK_EQ_STR(client("psql", "psql", "psql -c select", ";libpq;", 0, P_POSTGRESQL)->name, "psql");
    /* a server program connecting upstream is itself */
    CHECK_EQ_STR(client("nginx", "nginx", "nginx: worker process", "", 1, P_FASTCGI)->name, "nginx");
    /* a gunicorn worker talking to PostgreSQL through libpq is psycopg2 */
    CHECK_EQ_STR(client("gunicorn", "python3.11", "/usr/bin/python3 /usr/bin/gunicorn app", ";libpq;",
                        0, P_POSTGRESQL)->name, "psycopg2");
    CHECK_EQ_STR(client("java", "java", "java -cp HikariCP-5.jar:app.jar Main", ";libjvm;", 3,
                        P_POSTGRESQL)->name, "hikaricp");
    CHECK_EQ_STR(client("java", "java", "java Main", ";libjvm;", 3, P_HTTP)->name, "java");
}

TEST(knobs_fall_back_from_variant_to_program_to_runtime_to_any)
{
    struct cat_evidence ev = {"gunicorn", "python3.11", "python3 /usr/bin/gunicorn app", "", false, 0};
    const struct cat_program *sync = catalog_server(&ev);
    CHECK(strstr(catalog_knob(sync, P_HTTP, K_TW_NO_KEEPALIVE), "-k gthread"));
    ev.cmdline = "python3 /usr/bin/gunicorn -k gthread app";
    const struct cat_program *gthread = catalog_server(&ev);
    CHECK(!strstr(catalog_knob(gthread, P_HTTP, K_TW_NO_KEEPALIVE), "sync worker (the default) never"));
    CHECK(strstr(catalog_knob(gthread, P_HTTP, K_TW_IDLE_TIMEOUT), "--keep-alive"));
    /* gunicorn has no blocked-thread row for gthread: Python's */
    CHECK(strstr(catalog_knob(gthread, P_HTTP, K_CW_BLOCKED), "StreamRequestHandler.timeout"));
    /* protocol rows before any-protocol rows */
    struct cat_evidence ngx = {"nginx", "nginx", "nginx: worker process", "", false, 1};
    const struct cat_program *n = catalog_server(&ngx);
    CHECK(strstr(catalog_knob(n, P_FASTCGI, K_CLIENT_REUSE), "fastcgi_keep_conn on"));
    CHECK(strstr(catalog_knob(n, P_HTTP, K_CLIENT_REUSE), "proxy_http_version 1.1"));
    /* php-fpm's server TIME_WAIT is fixed in the web server in front */
    struct cat_evidence fpm = {"php-fpm8.2", "php-fpm8.2", "php-fpm: pool www", "", false, 1};
    const char *k = catalog_knob(catalog_server(&fpm), P_FASTCGI, K_TW_NO_KEEPALIVE);
    CHECK(strstr(k, "fastcgi_keep_conn on") && !strstr(k, "proxy_http_version 1.1;"));
    /* the generic row for a program nobody knows */
    CHECK(strstr(catalog_knob(catalog_runtime_program(CR_NATIVE), P_NONE, K_CLIENT_REUSE),
                 "connection pool"));
    /* every situation has a generic row, so no finding is left without a fix */
    for (int s = 0; s < K_COUNT; s++) {
        if (s == K_POOL_SERVER)
            continue; /* named only when the server is known */
        CHECK(catalog_knob(catalog_runtime_program(CR_NATIVE), P_NONE, (enum cat_situation)s));
    }
}

TEST(every_knob_row_names_a_known_program_or_runtime)
{
    for (unsigned i = 0; i < catalog_nknobs; i++) {
        const char *name = catalog_knobs[i].program;
        bool known = !strcmp(name, "*");
        for (unsigned p = 0; p < catalog_nprograms && !known; p++)
            known = !strcmp(catalog_programs[p].name, name);
        if (!known)
            fprintf(stderr, "knob row %u names '%s'\n", i, name);
        CHECK(known);
    }
}

TEST(protocols_and_library_markers)
{
    CHECK_EQ_INT(catalog_proto_of_port(5432), P_POSTGRESQL);
    CHECK_EQ_INT(catalog_proto_of_port(6379), P_REDIS);
    CHECK_EQ_INT(catalog_proto_of_port(11211), P_MEMCACHED);
    CHECK_EQ_INT(catalog_proto_of_port(9000), P_FASTCGI);
    CHECK_EQ_INT(catalog_proto_of_port(12345), P_NONE);
    CHECK_EQ_STR(catalog_proto_name(P_MYSQL), "mysql");
    CHECK(strstr(catalog_proto_goodbye(P_POSTGRESQL), "ErrorResponse"));
    CHECK_EQ_INT(catalog_lib_marker("libpq.so.5.15"), 5);
    CHECK_EQ_INT(catalog_lib_marker("_asyncio.cpython-311-x86_64-linux-gnu.so"), 8);
    CHECK_EQ_INT(catalog_lib_marker("mod_mpm_prefork.so"), 15);
    CHECK_EQ_INT(catalog_lib_marker("libpqwalreceiver.so"), 0);
    CHECK_EQ_INT(catalog_lib_marker("libssl.so.3"), 0);
}

/* docs/doctor.md holds the catalogue between two markers, exactly as
 * rendered: the docs cannot drift from the data. */
TEST(docs_carry_the_catalogue)
{
    char *want = NULL;
    size_t wlen = 0;
    FILE *m = open_memstream(&want, &wlen);
    catalog_print_markdown(m);
    fclose(m);
    FILE *f = fopen("docs/doctor.md", "r");
    CHECK(f);
    if (!f) {
        free(want);
        return;
    }
    static char doc[1 << 20];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = 0;
    const char *b = strstr(doc, "<!-- catalog:begin -->\n");
    const char *e = strstr(doc, "<!-- catalog:end -->");
    CHECK(b && e && e > b);
    if (b && e && e > b) {
        b += strlen("<!-- catalog:begin -->\n");
        bool same = (size_t)(e - b) == wlen && !memcmp(b, want, wlen);
        if (!same)
            fprintf(stderr, "docs/doctor.md: regenerate the catalogue section with "
                            "`./closer doctor --catalog`\n");
        CHECK(same);
    }
    free(want);
}
