/* closer probe's report: the measurements with their evidence, then the
 * verdict — where TIME_WAIT accumulates for each client behaviour. */
#include <string.h>

#include "client/probe.h"
#include "util/json.h"

static const char *close_name(enum probe_close c)
{
    return c == PC_FIN ? "fin" : c == PC_RST ? "rst" : "none";
}

static void verdict(FILE *out, const struct probe_result *r)
{
    fprintf(out, "\nverdict: where TIME_WAIT accumulates\n");
    if (!r->keepalive_11) {
        fprintf(out, "  every client                 -> on the SERVER: it closes after each response "
                     "(no keep-alive).\n    change: turn keep-alive on (nginx keepalive_timeout > 0).\n");
        return;
    }
    fprintf(out, "  keep-alive client that closes -> on the CLIENT (it sends the first FIN).\n");
    if (r->idle_timeout_s > 0)
        fprintf(out, "  client idle > %.1f s            -> on the SERVER (it closes idle connections).\n"
                     "    change: client pool idle timeout below %.1f s, or a longer server keepalive_timeout;\n"
                     "    a server can send Keep-Alive: timeout=N a little below its timeout so clients close first.\n",
                r->idle_timeout_s, r->idle_timeout_s);
    if (r->cap > 0)
        fprintf(out, "  > %ld requests per connection -> on the SERVER, one close every %ld requests.\n"
                     "    change: raise the server's keepalive_requests, or let the client recycle first.\n",
                r->cap, r->cap);
    fprintf(out, "  Connection: close / HTTP/1.0  -> on the %s.\n",
            r->server_waits_for_client ? "CLIENT (the server waits for the client's FIN)"
            : r->close_after_close == PC_RST ? "nobody: the server resets (RST), the response can be lost"
                                            : "SERVER (it closes first)");
    if (!r->keepalive_10)
        fprintf(out, "    HTTP/1.0 clients cannot keep connections here: each request costs a server TIME_WAIT.\n");
}

void probe_print_text(FILE *out, const struct probe_opts *o, const struct probe_result *r)
{
    fprintf(out, "closer probe http://%s%s (status %d)\n\n", o->t.text, o->t.path, r->status);
    fprintf(out, "  HTTP/1.1 keep-alive          %s   (Connection: %s%s%s)\n",
            r->keepalive_11 ? "honoured" : "NOT honoured",
            r->connection_11[0] ? r->connection_11 : "-", r->keep_alive_11[0] ? ", Keep-Alive: " : "",
            r->keep_alive_11);
    fprintf(out, "  HTTP/1.0 + keep-alive        %s   (Connection: %s%s%s)\n",
            r->keepalive_10 ? "honoured" : "NOT honoured",
            r->connection_10[0] ? r->connection_10 : "-", r->keep_alive_10[0] ? ", Keep-Alive: " : "",
            r->keep_alive_10);
    if (!r->keepalive_11)
        fprintf(out, "  request cap                  - (no keep-alive)\n  idle timeout                 - (no keep-alive)\n");
    else {
        if (r->cap > 0)
            fprintf(out, "  request cap                  %ld requests per connection (%s)\n", r->cap,
                    r->cap_announced ? "the last response said Connection: close" : "closed without announcing it");
        else
            fprintf(out, "  request cap                  none up to %llu requests\n",
                    (unsigned long long)o->max_requests);
        if (r->idle_timeout_s >= 0)
            fprintf(out, "  idle timeout                 %.2f s (server FIN on an idle connection)%s\n",
                    r->idle_timeout_s, r->keep_alive_hint_s >= 0 ? "" : "");
        else
            fprintf(out, "  idle timeout                 none within %.0f s\n", o->max_wait_ms / 1000.0);
        if (r->keep_alive_hint_s >= 0)
            fprintf(out, "  Keep-Alive hint              timeout=%ld s\n", r->keep_alive_hint_s);
    }
    if (r->server_waits_for_client)
        fprintf(out, "  after Connection: close      the server did not close within %.1f s: it waits for the client's FIN\n",
                o->close_wait_ms / 1000.0);
    else
        fprintf(out, "  after Connection: close      the server closes first, with a %s, %.1f ms after the response\n",
                r->close_after_close == PC_RST ? "RST" : "FIN", r->close_after_s * 1000);
    verdict(out, r);
}

void probe_print_json(FILE *out, const struct probe_opts *o, const struct probe_result *r)
{
    struct json j;
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "target", o->t.text);
    json_str(&j, "path", o->t.path);
    json_int(&j, "status", r->status);
    json_obj_begin(&j, "http11");
    json_bool(&j, "keepalive", r->keepalive_11);
    json_str(&j, "connection", r->connection_11);
    json_str(&j, "keep_alive", r->keep_alive_11);
    json_obj_end(&j);
    json_obj_begin(&j, "http10_keepalive");
    json_bool(&j, "keepalive", r->keepalive_10);
    json_str(&j, "connection", r->connection_10);
    json_str(&j, "keep_alive", r->keep_alive_10);
    json_obj_end(&j);
    if (r->keepalive_11 && r->cap > 0)
        json_int(&j, "request_cap", r->cap);
    else
        json_null(&j, "request_cap");
    json_bool(&j, "request_cap_announced", r->cap_announced);
    if (r->idle_timeout_s >= 0)
        json_double(&j, "idle_timeout_s", r->idle_timeout_s);
    else
        json_null(&j, "idle_timeout_s");
    json_int(&j, "keep_alive_hint_s", r->keep_alive_hint_s);
    json_obj_begin(&j, "after_connection_close");
    json_str(&j, "server_close", close_name(r->close_after_close));
    json_double(&j, "after_s", r->close_after_s);
    json_bool(&j, "server_waits_for_client", r->server_waits_for_client);
    json_obj_end(&j);
    json_obj_begin(&j, "time_wait_on");
    json_str(&j, "client_closes", r->keepalive_11 ? "client" : "server");
    json_str(&j, "client_idle_too_long", r->keepalive_11 && r->idle_timeout_s >= 0 ? "server" : "none");
    json_str(&j, "request_cap_reached", r->keepalive_11 && r->cap > 0 ? "server" : "none");
    json_str(&j, "connection_close", r->server_waits_for_client ? "client"
                                     : r->close_after_close == PC_RST ? "none" : "server");
    json_obj_end(&j);
    json_obj_end(&j);
    json_finish(&j);
}
