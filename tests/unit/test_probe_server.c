/* SPDX-License-Identifier: MIT */
#include "test.h"
#include "client/probe.h"

TEST(identified_by_server_header)
{
    char ev[160];
    CHECK_EQ_INT(probe_identify("nginx/1.22.1", "keep-alive", "", ev, sizeof ev), SK_NGINX);
    CHECK_EQ_INT(probe_identify("Apache/2.4.71 (Debian)", "", "", ev, sizeof ev), SK_APACHE);
    CHECK_EQ_INT(probe_identify("lighttpd/1.4.69", "", "", ev, sizeof ev), SK_LIGHTTPD);
    CHECK_EQ_INT(probe_identify("h2o/2.2.5", "keep-alive", "", ev, sizeof ev), SK_H2O);
    CHECK_EQ_INT(probe_identify("BaseHTTP/0.6 Python/3.11.2", "", "", ev, sizeof ev), SK_PYTHON);
    CHECK_EQ_INT(probe_identify("SimpleHTTP/0.6 Python/3.11.2", "", "", ev, sizeof ev), SK_PYTHON);
    CHECK(strstr(ev, "Server: SimpleHTTP") != NULL);
}

/* No Server header: behaviour decides, and says what it relied on. */
TEST(identified_by_behaviour)
{
    char ev[160];
    CHECK_EQ_INT(probe_identify("", "keep-alive", "timeout=5", ev, sizeof ev), SK_NODE);
    CHECK(strstr(ev, "Node") != NULL);
    /* nginx always sends Connection: a reply without it went through a proxy. */
    CHECK_EQ_INT(probe_identify("nginx/1.22.1", "", "", ev, sizeof ev), SK_HAPROXY);
    CHECK_EQ_INT(probe_identify("", "", "", ev, sizeof ev), SK_UNKNOWN);
    CHECK_EQ_INT(probe_identify("Jetty(9)", "", "", ev, sizeof ev), SK_UNKNOWN);
    CHECK(strstr(ev, "not recognised") != NULL);
}

TEST(knobs_named_per_server)
{
    CHECK(!strcmp(probe_knob(SK_NGINX, "lifetime"), "keepalive_time"));
    CHECK(!strcmp(probe_knob(SK_APACHE, "cap"), "MaxKeepAliveRequests"));
    CHECK(!strcmp(probe_knob(SK_LIGHTTPD, "idle"), "server.max-keep-alive-idle"));
    CHECK(!strcmp(probe_knob(SK_NODE, "cap"), "server.maxRequestsPerSocket"));
    CHECK(!strcmp(probe_knob(SK_H2O, "idle"), "http1-request-timeout"));
    CHECK(strstr(probe_knob(SK_HAPROXY, "idle"), "timeout http-keep-alive") != NULL);
    CHECK(strstr(probe_knob(SK_UNKNOWN, "idle"), "the server's") != NULL);
}
