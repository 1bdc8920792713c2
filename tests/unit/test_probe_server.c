/* SPDX-License-Identifier: MIT */
/* probe's identification and knob names, read from the catalogue's wire
 * rows and settings (the doctor's table): the first HTTP/1.1 answer's
 * Server, Via, Connection, Keep-Alive and header order. */
#include "test.h"
#include "client/probe.h"

static char ev[240];

static const char *identify(const char *server, const char *connection, const char *keep_alive,
                            const char *via, const char *names)
{
    static struct probe_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.server, sizeof r.server, "%s", server);
    snprintf(r.via, sizeof r.via, "%s", via);
    snprintf(r.header_names, sizeof r.header_names, "%s", names);
    r.keepalive_11 = strcmp(connection, "-") != 0;
    snprintf(r.connection_11, sizeof r.connection_11, "%s", r.keepalive_11 ? connection : "close");
    snprintf(r.keep_alive_11, sizeof r.keep_alive_11, "%s", keep_alive);
    probe_identify(&r);
    snprintf(ev, sizeof ev, "%s", r.kind_evidence);
    static char out[128];
    snprintf(out, sizeof out, "%s%s%s", probe_kind_name(r.prog), r.origin ? " < " : "",
             r.origin ? probe_kind_name(r.origin) : "");
    return out;
}

TEST(identified_by_server_header)
{
    CHECK_EQ_STR(identify("nginx/1.22.1", "keep-alive", "", "", "server,connection"), "nginx");
    CHECK_EQ_STR(identify("Apache/2.4.71 (Debian)", "", "", "", ""), "Apache httpd");
    CHECK_EQ_STR(identify("lighttpd/1.4.69", "", "", "", ""), "lighttpd");
    CHECK_EQ_STR(identify("h2o/2.2.5", "keep-alive", "", "", ""), "h2o");
    CHECK_EQ_STR(identify("BaseHTTP/0.6 Python/3.11.2", "", "", "", ""), "Python http.server");
    CHECK_EQ_STR(identify("SimpleHTTP/0.6 Python/3.11.2", "", "", "", ""), "Python http.server");
    CHECK(strstr(ev, "Server: SimpleHTTP") != NULL);
    CHECK_EQ_STR(identify("Jetty(9.4.50)", "", "", "", ""), "Jetty");
}

/* No Server header: behaviour decides, and says what it relied on. */
TEST(identified_by_behaviour)
{
    CHECK_EQ_STR(identify("", "keep-alive", "timeout=5", "", "date,connection,keep-alive"),
                 "Node.js http");
    CHECK(strstr(ev, "Node") != NULL);
    /* nginx always sends Connection: a reply without it went through a proxy. */
    CHECK_EQ_STR(identify("nginx/1.22.1", "", "", "", "server,date"), "HAProxy");
    CHECK_EQ_STR(identify("", "", "", "", ""), "unknown");
    CHECK_EQ_STR(identify("Foo/1", "", "", "", ""), "unknown");
    CHECK(strstr(ev, "not recognised") != NULL);
    /* a closing answer's missing Connection header says nothing */
    CHECK_EQ_STR(identify("", "-", "", "", "date,content-length"), "unknown");
}

TEST(a_cache_is_named_with_its_origin)
{
    CHECK_EQ_STR(identify("nginx/1.22.1", "keep-alive", "", "1.1 varnish (Varnish/7.1)",
                          "server,date,via,connection"), "Varnish < nginx");
    CHECK_EQ_STR(identify("nginx/1.22.1", "keep-alive", "", "1.1 vm (squid/5.7)",
                          "server,date,via,connection"), "Squid < nginx");
}

TEST(knobs_named_per_server)
{
    const struct cat_program *p = NULL;
    struct probe_result r = {.keepalive_11 = true};
    snprintf(r.server, sizeof r.server, "nginx");
    snprintf(r.connection_11, sizeof r.connection_11, "keep-alive");
    probe_identify(&r);
    p = r.prog;
    CHECK(!strcmp(probe_knob(p, "lifetime"), "keepalive_time"));
    CHECK(!strcmp(probe_knob(p, "idle"), "keepalive_timeout"));
    snprintf(r.server, sizeof r.server, "Apache");
    probe_identify(&r);
    CHECK(!strcmp(probe_knob(r.prog, "cap"), "MaxKeepAliveRequests"));
    snprintf(r.server, sizeof r.server, "lighttpd");
    probe_identify(&r);
    CHECK(!strcmp(probe_knob(r.prog, "idle"), "server.max-keep-alive-idle"));
    snprintf(r.server, sizeof r.server, "h2o");
    probe_identify(&r);
    CHECK(!strcmp(probe_knob(r.prog, "idle"), "http1-request-timeout"));
    r.server[0] = 0;
    snprintf(r.keep_alive_11, sizeof r.keep_alive_11, "timeout=5");
    probe_identify(&r);
    CHECK(!strcmp(probe_knob(r.prog, "cap"), "server.maxRequestsPerSocket"));
    snprintf(r.server, sizeof r.server, "nginx");
    r.connection_11[0] = 0;
    probe_identify(&r);
    CHECK(strstr(probe_knob(r.prog, "idle"), "timeout http-keep-alive") != NULL);
    CHECK(strstr(probe_knob(NULL, "idle"), "the server's") != NULL);
}
