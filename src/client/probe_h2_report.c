/* SPDX-License-Identifier: MIT */
/* closer probe's HTTP/2 report: the GOAWAYs, the TCP closes after them,
 * and where TIME_WAIT lands, with the HTTP/2 knob of the server that
 * answered (HTTP/2 has its own: nginx before 1.19.7, h2o). */
#include <string.h>

#include "catalog/catalog.h"
#include "client/h2conn.h"
#include "client/probe_h2.h"
#include "util/json.h"

/* Each server's HTTP/2 knobs: idle timeout, stream cap, concurrency (by
 * the catalogue's program name). */
static const struct { const char *prog, *idle, *cap, *conc; } knobs[] = {
    {"nginx", "keepalive_timeout (http2_idle_timeout before 1.19.7)",
     "keepalive_requests (http2_max_requests before 1.19.7)", "http2_max_concurrent_streams"},
    /* mod_http2 2.4.71 answered 400 streams on one connection under
     * MaxKeepAliveRequests 7: that knob is HTTP/1's only. */
    {"apache", "KeepAliveTimeout", "(none in mod_http2: MaxKeepAliveRequests is HTTP/1's)",
     "H2MaxSessionStreams"},
    {"h2o", "http2-idle-timeout", "(none in h2o)", "http2-max-concurrent-requests-per-connection"},
};

static const char *knob(const struct cat_program *p, int which)
{
    for (size_t i = 0; p && i < sizeof knobs / sizeof knobs[0]; i++)
        if (!strcmp(knobs[i].prog, p->name))
            return which == 0 ? knobs[i].idle : which == 1 ? knobs[i].cap : knobs[i].conc;
    return which == 0 ? "the server's HTTP/2 idle timeout" : which == 1
           ? "the server's requests-per-connection limit" : "the server's concurrent stream limit";
}

static void ms_or_s(char *b, size_t n, double s)
{
    if (s < 0.001)
        snprintf(b, n, "%.3f ms", s * 1000);
    else if (s < 1)
        snprintf(b, n, "%.1f ms", s * 1000);
    else
        snprintf(b, n, "%.2f s", s);
}

/* "GOAWAY NO_ERROR (last stream 13), then the server's FIN 0.3 ms later" */
static void end_text(char *b, size_t n, const struct probe_h2_end *e, double close_wait_s)
{
    char t[32];
    ms_or_s(t, sizeof t, e->tcp_after_goaway_s);
    int k = 0;
    if (e->goaway)
        k = snprintf(b, n, "GOAWAY %s (last stream %d), then ", h2_error_name(e->goaway_error),
                     (int)e->last_stream_id);
    if (k < 0 || (size_t)k >= n)
        return;
    if (e->tcp == PC_NONE)
        snprintf(b + k, n - (size_t)k, "no FIN within %.1f s: this client closed first", close_wait_s);
    else
        snprintf(b + k, n - (size_t)k, "the server's %s %s later", e->tcp == PC_RST ? "RST" : "FIN", t);
}

static void print_cap(FILE *out, const struct probe_opts *o, const struct probe_h2_result *r)
{
    char e[200];
    end_text(e, sizeof e, &r->cap, o->close_wait_ms / 1000.0);
    if (r->cap_stopped_at_max)
        fprintf(out, "  stream cap                   none up to %llu streams back to back\n",
                (unsigned long long)r->cap_streams);
    else if (r->cap.goaway)
        fprintf(out, "  stream cap                   %llu streams per connection: %s\n",
                (unsigned long long)r->cap_streams, e);
    else if (r->cap.tcp != PC_NONE)
        fprintf(out, "  stream cap                   %llu streams, then the server's %s without a GOAWAY\n",
                (unsigned long long)r->cap_streams, r->cap.tcp == PC_RST ? "RST" : "FIN");
    else
        fprintf(out, "  stream cap                   not measured (%llu streams before the deadline)\n",
                (unsigned long long)r->cap_streams);
    if (r->cap_refused)
        fprintf(out, "                               %llu stream(s) sent past the GOAWAY were refused "
                "(never processed: safe to retry)\n", (unsigned long long)r->cap_refused);
}

static void print_idle(FILE *out, const struct probe_opts *o, const struct probe_h2_result *r)
{
    if (!r->idle_closed) {
        fprintf(out, "  idle timeout                 none within %.1f s (%u idle connections)\n",
                r->elapsed_s, r->idle_n);
        return;
    }
    char e[200];
    end_text(e, sizeof e, &r->idle[0], o->close_wait_ms / 1000.0);
    fprintf(out, "  idle timeout                 %.2f s median (min %.2f, max %.2f; %u of %u idle "
            "connections closed)\n                               first one: %s\n", r->idle_median,
            r->idle_min, r->idle_max, r->idle_closed, r->idle_n, e);
}

static const char *side(enum probe_close tcp)
{
    return tcp == PC_FIN ? "the SERVER" : tcp == PC_RST ? "NEITHER side (RST)" : "the CLIENT";
}

static void verdict(FILE *out, const struct probe_h2_result *r)
{
    const struct cat_program *k = r->prog;
    fprintf(out, "\nverdict: where TIME_WAIT accumulates (%s, HTTP/2)\n", probe_kind_name(k));
    fprintf(out, "  a client that closes first    -> on the CLIENT (a GOAWAY is polite, the FIN decides).\n");
    if (r->idle_closed)
        fprintf(out, "  client idle > %.1f s           -> on %s (it ends idle connections%s).\n"
                "    change: client idle timeout below %.1f s, or a longer %s.\n", r->idle_min,
                side(r->idle[0].tcp), r->idle[0].goaway ? ", GOAWAY first" : "", r->idle_min, knob(k, 0));
    if (r->cap.goaway && !r->cap_stopped_at_max)
        fprintf(out, "  > %llu streams per connection -> on %s, one close every %llu streams.\n"
                "    change: raise %s, or let the client recycle its connections first.\n",
                (unsigned long long)r->cap_streams, side(r->cap.tcp), (unsigned long long)r->cap_streams,
                knob(k, 1));
}

static void measurements(FILE *out, const struct probe_opts *o, const struct probe_h2_result *r)
{
    if (r->max_streams_set)
        fprintf(out, "  max concurrent streams       %u (SETTINGS_MAX_CONCURRENT_STREAMS; %s)\n",
                r->max_streams, knob(r->prog, 2));
    else
        fprintf(out, "  max concurrent streams       unlimited (no SETTINGS_MAX_CONCURRENT_STREAMS)\n");
    if (r->ping_rtt_s >= 0)
        fprintf(out, "  PING round trip              %.2f ms\n", r->ping_rtt_s * 1000);
    print_cap(out, o, r);
    print_idle(out, o, r);
}

void probe_h2_section(FILE *out, const struct probe_opts *o, const struct probe_h2_result *r)
{
    if (r->h2_declined) {
        fprintf(out, "\nHTTP/2: not offered (ALPN chose %s when h2 was offered)\n",
                r->alpn[0] ? r->alpn : "no protocol");
        return;
    }
    fprintf(out, "\nHTTP/2 (h2 by ALPN, on connections of its own; status %d)\n", r->status);
    measurements(out, o, r);
    verdict(out, r);
    fprintf(out, "  (HTTP/2's own cost: %llu connections, %llu streams; the server closed first %llu times, "
            "this client %llu;\n   the TIME_WAIT counts below include them)\n", (unsigned long long)r->connections, (unsigned long long)r->requests_sent,
            (unsigned long long)r->server_closed_first, (unsigned long long)r->client_closed_first);
}

void probe_h2_print_text(FILE *out, const struct probe_opts *o, const struct probe_h2_result *r)
{
    fprintf(out, "closer probe %s://%s%s over HTTP/2 (%s) (status %d)\n\n", o->t.tls ? "https" : "http",
            o->t.text, o->t.path, o->http2_prior && !o->t.tls ? "h2c, prior knowledge" : "h2 by ALPN", r->status);
    fprintf(out, "  server                       %s (%s)\n", probe_kind_name(r->prog), r->kind_evidence);
    measurements(out, o, r);
    verdict(out, r);
    fprintf(out, "\nleft behind: %llu connections, %llu streams in %.1f s%s; the server closed first "
            "%llu times, this client %llu\n", (unsigned long long)r->connections,
            (unsigned long long)r->requests_sent, r->elapsed_s, r->deadline_hit ? " (deadline reached)" : "",
            (unsigned long long)r->server_closed_first, (unsigned long long)r->client_closed_first);
}

static void end_json(struct json *j, const char *key, const struct probe_h2_end *e, bool client_close)
{
    json_obj_begin(j, key);
    json_bool(j, "goaway", e->goaway);
    if (e->goaway) {
        json_str(j, "error", h2_error_name(e->goaway_error));
        json_uint(j, "error_code", e->goaway_error);
        json_int(j, "last_stream_id", e->last_stream_id);
    } else {
        json_null(j, "error");
        json_null(j, "error_code");
        json_null(j, "last_stream_id");
    }
    json_double(j, "goaway_after_s", e->goaway_after_s);
    json_str(j, "tcp_closed_by", e->tcp != PC_NONE ? "server" : client_close ? "client" : NULL);
    if (e->tcp != PC_NONE) {
        json_str(j, "tcp_close", e->tcp == PC_RST ? "rst" : "fin");
        json_double(j, "tcp_close_after_goaway_s", e->tcp_after_goaway_s);
    } else {
        json_null(j, "tcp_close");
        json_null(j, "tcp_close_after_goaway_s");
    }
    json_obj_end(j);
}

void probe_h2_json(struct json *j, const struct probe_opts *o, const struct probe_h2_result *r)
{
    json_obj_begin(j, "http2");
    json_str(j, "mode", o->http2_prior && !o->t.tls ? "h2c_prior_knowledge" : "alpn");
    json_bool(j, "offered", !r->h2_declined);
    if (r->tls)
        json_str(j, "alpn", r->alpn);
    else
        json_null(j, "alpn");
    if (r->status > 0)
        json_int(j, "status", r->status);
    else
        json_null(j, "status");
    if (r->max_streams_set)
        json_uint(j, "max_concurrent_streams", r->max_streams);
    else
        json_null(j, "max_concurrent_streams");
    if (r->ping_rtt_s >= 0)
        json_double(j, "ping_rtt_s", r->ping_rtt_s);
    else
        json_null(j, "ping_rtt_s");
    if (r->cap.goaway && !r->cap_stopped_at_max)
        json_uint(j, "stream_cap", r->cap_streams);
    else
        json_null(j, "stream_cap");
    json_uint(j, "streams_back_to_back", r->cap_streams);
    json_uint(j, "streams_refused", r->cap_refused);
    end_json(j, "cap_close", &r->cap, true);
    json_arr_begin(j, "idle_closes");
    for (unsigned i = 0; i < r->idle_n; i++)
        end_json(j, NULL, &r->idle[i], true);
    json_arr_end(j);
    json_obj_end(j);
}

void probe_h2_print_json(FILE *out, const struct probe_opts *o, const struct probe_h2_result *r)
{
    struct json j;
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", PROBE_JSON_SCHEMA);
    target_endpoint_json(&j, "target", &o->t.addr);
    json_str(&j, "host", o->t.host);
    json_str(&j, "path", o->t.path);
    if (r->status > 0)
        json_int(&j, "status", r->status);
    else
        json_null(&j, "status");
    json_bool(&j, "error_answer", r->status >= 400); /* an error page answered */
    json_double(&j, "elapsed_s", r->elapsed_s);
    json_bool(&j, "deadline_hit", r->deadline_hit);
    json_obj_begin(&j, "server");
    if (r->server[0])
        json_str(&j, "header", r->server);
    else
        json_null(&j, "header");
    json_str(&j, "kind", probe_kind_name(r->prog));
    json_str(&j, "evidence", r->kind_evidence);
    if (r->prog) {
        json_str(&j, "program", r->prog->name);
        if (r->prog->variant && r->prog->variant[0])
            json_str(&j, "variant", r->prog->variant);
        else
            json_null(&j, "variant");
    } else {
        json_null(&j, "program");
        json_null(&j, "variant");
    }
    json_null(&j, "via");    /* not read over HTTP/2 */
    json_null(&j, "origin");
    json_obj_end(&j);
    if (r->cap.goaway && !r->cap_stopped_at_max)
        json_uint(&j, "request_cap", r->cap_streams);
    else
        json_null(&j, "request_cap");
    if (r->idle_closed)
        json_double(&j, "idle_timeout_s", r->idle_median);
    else
        json_null(&j, "idle_timeout_s");
    probe_h2_json(&j, o, r);
    json_obj_begin(&j, "knobs");
    json_str(&j, "idle", knob(r->prog, 0));
    json_str(&j, "cap", knob(r->prog, 1));
    json_null(&j, "lifetime");  /* HTTP/1 knobs: not what ends HTTP/2 connections */
    json_null(&j, "keepalive");
    json_null(&j, "hint");
    json_str(&j, "concurrency", knob(r->prog, 2));
    json_obj_end(&j);
    json_obj_begin(&j, "cost");
    json_uint(&j, "requests", r->requests_sent);
    json_uint(&j, "connections", r->connections);
    json_uint(&j, "server_closed_first", r->server_closed_first);
    json_uint(&j, "client_closed_first", r->client_closed_first);
    json_null(&j, "time_wait_here"); /* not counted over HTTP/2 (yet) */
    json_null(&j, "time_wait_at_target");
    json_null(&j, "time_wait_namespace");
    json_obj_end(&j);
    json_obj_end(&j);
    json_finish(&j);
}
