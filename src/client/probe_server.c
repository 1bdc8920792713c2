/* SPDX-License-Identifier: MIT */
/* Which server answered, and the names of its knobs, so probe's advice
 * names the setting of the program that owns the sockets (nginx's
 * directives mean nothing to an Apache or Node operator). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client/probe.h"

struct kind_row {
    enum server_kind kind;
    const char *name;
    const char *server_match; /* substring of the Server header, case-insensitive */
    const char *idle, *cap, *lifetime, *keepalive, *hint;
};

static const struct kind_row rows[] = {
    {SK_UNKNOWN, "unknown", NULL, "the server's keep-alive idle timeout",
     "the server's keep-alive request limit", "the server's connection lifetime limit",
     "the server's keep-alive setting", "a Keep-Alive: timeout=N response header"},
    {SK_NGINX, "nginx", "nginx", "keepalive_timeout", "keepalive_requests", "keepalive_time",
     "keepalive_timeout (0 turns keep-alive off)",
     "keepalive_timeout's second value (keepalive_timeout 75s 70s sends Keep-Alive: timeout=70)"},
    {SK_APACHE, "Apache httpd", "apache", "KeepAliveTimeout", "MaxKeepAliveRequests",
     "(none in Apache: a lifetime-like close is worker pressure, see mpm_event's "
     "AsyncRequestWorkerFactor)", "KeepAlive On|Off",
     "KeepAliveTimeout (Apache announces it as Keep-Alive: timeout=N, max=M)"},
    {SK_LIGHTTPD, "lighttpd", "lighttpd", "server.max-keep-alive-idle",
     "server.max-keep-alive-requests", "(none in lighttpd)",
     "server.max-keep-alive-requests = 0 turns keep-alive off", "server.max-keep-alive-idle"},
    {SK_H2O, "h2o", "h2o", "http1-request-timeout", "(none in h2o: a proxy in front may cap)",
     "(none in h2o)", "http1-request-timeout", "(h2o sends no Keep-Alive header)"},
    {SK_HAPROXY, "HAProxy", "haproxy", "timeout http-keep-alive (else timeout client)",
     "(none in HAProxy)", "(none in HAProxy)", "option http-server-close / option httpclose",
     "(HAProxy sends no Keep-Alive header)"},
    {SK_NODE, "Node.js http", NULL, "server.keepAliveTimeout (5 s)",
     "server.maxRequestsPerSocket", "(none in Node)",
     "server.keepAliveTimeout = 0 turns the idle close off (keep-alive stays on)",
     "server.keepAliveTimeout (Node announces it as Keep-Alive: timeout=N)"},
    {SK_PYTHON, "Python http.server", "python", "the handler's timeout attribute (none by default)",
     "(none in http.server)", "(none in http.server)",
     "protocol_version = 'HTTP/1.1' on the handler (HTTP/1.0 by default: no keep-alive)",
     "(http.server sends no Keep-Alive header)"},
    {SK_CLOSER, "closer serve", "closer", "--keepalive-timeout", "--keepalive-requests",
     "--keepalive-time", "--keepalive on|off", "(closer serve sends no Keep-Alive header)"},
};

static const struct kind_row *row(enum server_kind k)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].kind == k)
            return &rows[i];
    return &rows[0];
}

enum server_kind probe_identify(const char *server, const char *connection, const char *keep_alive,
                                char *ev, size_t len)
{
    ev[0] = 0;
    if (strcasestr(server, "nginx") && !connection[0]) {
        snprintf(ev, len, "Server: %.40s, but no Connection header (nginx always sends one): a proxy "
                 "in front, as HAProxy", server);
        return SK_HAPROXY;
    }
    for (size_t i = 1; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].server_match && server[0] && strcasestr(server, rows[i].server_match)) {
            snprintf(ev, len, "Server: %.80s", server);
            return rows[i].kind;
        }
    if (!strcasecmp(server, "BaseHTTP") || strcasestr(server, "SimpleHTTP")) {
        snprintf(ev, len, "Server: %.80s", server);
        return SK_PYTHON;
    }
    /* Node's http module: no Server header, and Keep-Alive: timeout=N on
     * every keep-alive response (5 by default). */
    if (!server[0] && !strncasecmp(keep_alive, "timeout=", 8)) {
        snprintf(ev, len, "no Server header, Keep-Alive: %.40s (as Node's http module)", keep_alive);
        return SK_NODE;
    }
    if (server[0])
        snprintf(ev, len, "Server: %.80s (not recognised)", server);
    else
        snprintf(ev, len, "no Server header (HAProxy and many apps send none)");
    return SK_UNKNOWN;
}

const char *probe_kind_name(enum server_kind k)
{
    return row(k)->name;
}

const char *probe_knob(enum server_kind k, const char *what)
{
    const struct kind_row *r = row(k);
    if (!strcmp(what, "idle"))
        return r->idle;
    if (!strcmp(what, "cap"))
        return r->cap;
    if (!strcmp(what, "lifetime"))
        return r->lifetime;
    if (!strcmp(what, "keepalive"))
        return r->keepalive;
    return r->hint;
}
