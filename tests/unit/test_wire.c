/* SPDX-License-Identifier: MIT */
/* Programs recognised from one HTTP answer (src/catalog/wire.c), over the
 * header sets the real programs sent (recorded from Debian 12's packages:
 * first HTTP/1.1 answer to GET /), and probe's names for their settings
 * (catalog_setting). */
#include <string.h>

#include "catalog/catalog.h"
#include "test.h"

static char ev[240];
static const struct cat_program *origin;

/* server, via, connection ("-": not kept alive), keep-alive, names */
static const struct cat_program *seen(const char *server, const char *via, const char *conn,
                                      const char *ka, const char *names)
{
    struct cat_response r = {server, via, conn, ka, names};
    return catalog_from_response(&r, &origin, ev, sizeof ev);
}

static const char *name_of(const struct cat_program *p)
{
    return p ? p->name : "(none)";
}

TEST(servers_by_their_server_header)
{
    CHECK_EQ_STR(name_of(seen("nginx/1.22.1", "", "keep-alive", "",
                              "server,date,content-type,content-length,connection")), "nginx");
    CHECK(!origin);
    CHECK_EQ_STR(ev, "Server: nginx/1.22.1");
    CHECK_EQ_STR(name_of(seen("Apache/2.4.62 (Debian)", "", "Keep-Alive", "timeout=5, max=100",
                              "date,server,content-length,keep-alive,connection,content-type")),
                 "apache");
    CHECK_EQ_STR(name_of(seen("Caddy", "", "", "", "content-type,server,date,content-length")),
                 "caddy");
    CHECK_EQ_STR(name_of(seen("uvicorn", "", "", "", "date,server,content-type,transfer-encoding")),
                 "uvicorn");
    CHECK_EQ_STR(name_of(seen("Jetty(9.4.50.v20221201)", "", "", "", "server,content-length")),
                 "jetty");
    CHECK_EQ_STR(name_of(seen("envoy", "", "", "", "date,server,content-length")), "envoy");
    CHECK_EQ_STR(name_of(seen("SimpleHTTP/0.6 Python/3.11.2", "", "-", "", "server,date")),
                 "python");
    CHECK_EQ_STR(name_of(seen("lighttpd/1.4.69", "", "", "", "server")), "lighttpd");
    CHECK_EQ_STR(name_of(seen("h2o/2.2.6", "", "", "", "server")), "h2o");
    /* Tomcat's Connector with server="Apache-Coyote/1.1" is not Apache httpd */
    CHECK_EQ_STR(name_of(seen("Apache-Coyote/1.1", "", "", "", "server,date")), "tomcat");
}

TEST(gunicorn_worker_from_its_connection_header)
{
    const struct cat_program *p = seen("gunicorn", "", "-", "",
                                       "server,date,connection,transfer-encoding,content-type");
    CHECK_EQ_STR(name_of(p), "gunicorn");
    CHECK_EQ_STR(p->variant, "sync");
    p = seen("gunicorn", "", "keep-alive", "", "server,date,connection,transfer-encoding,content-type");
    CHECK_EQ_STR(p->variant, "gthread");
}

TEST(servers_without_a_server_header_by_behaviour)
{
    /* Go net/http: Date, then Content-Length/Content-Type, no Connection */
    CHECK_EQ_STR(name_of(seen("", "", "", "", "date,content-length,content-type")), "go");
    CHECK(strstr(ev, "no Server header, no Connection header, headers date,content-length"));
    CHECK_EQ_STR(name_of(seen("", "", "", "", "x-app,date,content-type,transfer-encoding")), "go");
    /* Tomcat 10: Date last */
    CHECK_EQ_STR(name_of(seen("", "", "", "",
                              "accept-ranges,etag,last-modified,content-type,content-length,date")),
                 "tomcat");
    /* Node's http module: Connection: keep-alive and Keep-Alive: timeout=5 */
    CHECK_EQ_STR(name_of(seen("", "", "keep-alive", "timeout=5",
                              "content-type,date,connection,keep-alive,content-length")), "node");
    /* HAProxy strips nginx's Connection header */
    CHECK_EQ_STR(name_of(seen("nginx/1.22.1", "", "", "", "server,date,content-type,content-length")),
                 "haproxy");
    /* names are whole: "x-update,content-length" is not Date then Content-Length */
    CHECK(!seen("", "", "", "", "x-update,content-length"));
    CHECK(strstr(ev, "not recognised"));
    CHECK(!seen("Foo/1.0", "", "keep-alive", "", "server"));
    CHECK_EQ_STR(ev, "Server: Foo/1.0 (not recognised)");
    /* an answer that was not kept alive says nothing by its missing Connection */
    CHECK(!seen("", "", "-", "", "date,content-length"));
}

TEST(a_cache_in_front_is_the_program_and_names_the_origin)
{
    const struct cat_program *p = seen("nginx/1.22.1", "1.1 varnish (Varnish/7.1)", "keep-alive", "",
                                       "server,date,content-type,content-length,x-varnish,age,via,"
                                       "accept-ranges,connection");
    CHECK_EQ_STR(name_of(p), "varnish");
    CHECK_EQ_STR(name_of(origin), "nginx");
    CHECK(strstr(ev, "Via: 1.1 varnish"));
    p = seen("nginx/1.22.1", "1.1 vm (squid/5.7)", "keep-alive", "",
             "server,date,content-type,content-length,x-cache,x-cache-lookup,via,connection");
    CHECK_EQ_STR(name_of(p), "squid");
    CHECK_EQ_STR(name_of(origin), "nginx");
    /* a cache in front of a program nobody knows */
    p = seen("", "1.1 varnish (Varnish/7.1)", "keep-alive", "", "date,via");
    CHECK_EQ_STR(name_of(p), "varnish");
    CHECK(!origin);
}

static const struct cat_program *program(const char *name, const char *variant)
{
    for (unsigned i = 0; i < catalog_nprograms; i++)
        if (!strcmp(catalog_programs[i].name, name) && !strcmp(catalog_programs[i].variant, variant))
            return &catalog_programs[i];
    return NULL;
}

TEST(probe_names_each_programs_own_setting)
{
    CHECK(strstr(catalog_setting(program("varnish", ""), K_TW_IDLE_TIMEOUT), "timeout_idle"));
    CHECK(strstr(catalog_setting(program("squid", ""), K_TW_IDLE_TIMEOUT), "client_idle_pconn_timeout"));
    CHECK(strstr(catalog_setting(program("varnish", ""), K_TW_REQUEST_CAP), "none"));
    const char *sync = catalog_setting(program("gunicorn", "sync"), K_TW_NO_KEEPALIVE);
    CHECK(strstr(sync, "-k gthread") && strstr(sync, "--keep-alive") && !strstr(sync, "turn keep-alive on"));
    CHECK(strstr(catalog_setting(program("gunicorn", "gthread"), K_TW_IDLE_TIMEOUT), "--keep-alive"));
    CHECK(strstr(catalog_setting(program("uvicorn", ""), K_TW_IDLE_TIMEOUT), "--timeout-keep-alive"));
    /* uvicorn's cap is its own, not http.server's (no runtime step) */
    CHECK(!strstr(catalog_setting(program("uvicorn", ""), K_TW_REQUEST_CAP), "http.server"));
    CHECK(strstr(catalog_setting(program("go", ""), K_TW_IDLE_TIMEOUT), "IdleTimeout"));
    CHECK(strstr(catalog_setting(program("caddy", ""), K_TW_IDLE_TIMEOUT), "timeouts { idle }"));
    CHECK(strstr(catalog_setting(program("tomcat", ""), K_TW_IDLE_TIMEOUT), "keepAliveTimeout"));
    CHECK(strstr(catalog_setting(program("tomcat", ""), K_TW_REQUEST_CAP), "maxKeepAliveRequests"));
    CHECK(strstr(catalog_setting(program("jetty", ""), K_TW_IDLE_TIMEOUT), "idleTimeout"));
    CHECK(strstr(catalog_setting(program("envoy", ""), K_TW_IDLE_TIMEOUT),
                 "common_http_protocol_options.idle_timeout"));
    CHECK(strstr(catalog_setting(program("envoy", ""), K_TW_REQUEST_CAP), "max_requests_per_connection"));
    CHECK(strstr(catalog_setting(program("traefik", ""), K_TW_IDLE_TIMEOUT),
                 "respondingTimeouts.idleTimeout"));
    CHECK_EQ_STR(catalog_setting(program("nginx", ""), K_TW_IDLE_TIMEOUT), "keepalive_timeout");
    CHECK_EQ_STR(catalog_setting(NULL, K_TW_IDLE_TIMEOUT), "the server's keep-alive idle timeout");
    /* the doctor's lookup skips probe's setting-only rows */
    CHECK(!strstr(catalog_knob(program("python", ""), P_HTTP, K_TW_IDLE_TIMEOUT), "handler's timeout"));
}

TEST(every_program_probe_recognises_has_its_own_settings)
{
    static const enum cat_situation sits[] = {K_TW_IDLE_TIMEOUT, K_TW_REQUEST_CAP, K_TW_LIFETIME,
                                              K_TW_NO_KEEPALIVE, K_KA_ANNOUNCE};
    for (unsigned i = 0; i < catalog_nprograms; i++) {
        const struct cat_program *p = &catalog_programs[i];
        if (!p->wire.title)
            continue;
        for (size_t s = 0; s < sizeof sits / sizeof sits[0]; s++) {
            bool own = strcmp(catalog_setting(p, sits[s]), catalog_setting(NULL, sits[s]));
            if (!own)
                fprintf(stderr, "%s %s: generic setting for %s\n", p->name, p->variant,
                        catalog_situation_name(sits[s]));
            CHECK(own);
        }
    }
}
