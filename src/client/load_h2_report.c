/* SPDX-License-Identifier: MIT */
/* closer load's report, the HTTP/2 part: GOAWAYs by error code, streams
 * refused past a GOAWAY or reset, the server's concurrency cap. */
#include "client/h2conn.h"
#include "client/load_report.h"
#include "util/json.h"

void load_h2_print_text(FILE *out, const struct load_opts *o, const struct load_result *r)
{
    if (!o->http2_prior && !o->http2)
        return;
    fprintf(out, "  HTTP/2         %s, %u streams in flight per connection; the server's max concurrent "
            "streams %s%.0u\n", o->http2_prior ? "h2c (prior knowledge)" : "h2 (ALPN)",
            o->streams ? o->streams : 1, r->max_concurrent ? "" : "unlimited", r->max_concurrent);
    fprintf(out, "  GOAWAY         %llu connections received the server's GOAWAY",
            (unsigned long long)r->goaways);
    for (uint32_t e = 0; e < H2_LOAD_ERRORS; e++)
        if (r->goaway_errors[e])
            fprintf(out, "%s %s %llu", e ? "," : ":", e < H2_LOAD_ERRORS - 1 ? h2_error_name(e) : "other",
                    (unsigned long long)r->goaway_errors[e]);
    if (r->goaway_client_first)
        fprintf(out, "; this client's FIN still came first on %llu of them (%s)",
                (unsigned long long)r->goaway_client_first,
                o->close_wait_ms ? "the server's FIN did not come within --close-wait"
                                 : "it closes at once, as h2load; --close-wait waits for the server's FIN");
    else if (r->goaways)
        fprintf(out, "; the server's FIN came first on every one");
    fprintf(out, "\n");
    if (r->streams_refused || r->streams_reset)
        fprintf(out, "  streams        %llu refused past a GOAWAY (never processed, sent again), %llu "
                "reset by the server\n", (unsigned long long)r->streams_refused,
                (unsigned long long)r->streams_reset);
}

void load_h2_json(struct json *j, const struct load_opts *o, const struct load_result *r)
{
    if (!o->http2_prior && !o->http2) {
        json_null(j, "http2");
        return;
    }
    json_obj_begin(j, "http2");
    json_str(j, "mode", o->http2_prior ? "h2c_prior_knowledge" : "alpn");
    json_uint(j, "streams_per_connection", o->streams ? o->streams : 1);
    if (r->max_concurrent)
        json_uint(j, "max_concurrent_streams", r->max_concurrent);
    else
        json_null(j, "max_concurrent_streams");
    json_uint(j, "goaways", r->goaways);
    json_uint(j, "goaways_client_closed_first", r->goaway_client_first);
    json_obj_begin(j, "goaway_errors");
    for (uint32_t e = 0; e < H2_LOAD_ERRORS; e++)
        if (r->goaway_errors[e])
            json_uint(j, e < H2_LOAD_ERRORS - 1 ? h2_error_name(e) : "other", r->goaway_errors[e]);
    json_obj_end(j);
    json_uint(j, "streams_refused", r->streams_refused);
    json_uint(j, "streams_reset", r->streams_reset);
    json_obj_end(j);
}
