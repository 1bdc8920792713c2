/* SPDX-License-Identifier: MIT */
/* probe's HTTP/2 report over results written here: each way a stream cap
 * ends (GOAWAY then FIN, RST or nothing; a close without GOAWAY; not
 * measured), no idle close, refused streams, and the HTTP/2 knobs of
 * nginx, Apache and h2o by the catalogue's program. test_probe_h2.c gets
 * such results from a real h2c exchange. */
#include <stdlib.h>

#include "catalog/catalog.h"
#include "client/probe_h2.h"
#include "test.h"

static struct probe_opts opts;

static void base(struct probe_h2_result *r, const char *server)
{
    char err[64];
    memset(r, 0, sizeof *r);
    target_parse("http://127.0.0.1:8080/", &opts.t, err, sizeof err);
    opts.http2_prior = true;
    opts.close_wait_ms = 1500;
    r->status = 200;
    r->ping_rtt_s = -1;
    snprintf(r->server, sizeof r->server, "%s", server);
    struct cat_response resp = {.server = r->server, .via = "", .connection = "-", .keep_alive = "",
                                .names = ""};
    const struct cat_program *origin;
    r->prog = catalog_from_response(&resp, &origin, r->kind_evidence, sizeof r->kind_evidence);
    r->cap.tcp = PC_NONE;
    r->cap_measured = true;
    r->cap_streams = 1000;
    r->cap = (struct probe_h2_end){.goaway = true, .last_stream_id = 1999, .tcp = PC_RST,
                                   .tcp_after_goaway_s = 0.0000004};
    r->idle_n = 1;
    r->connections = 2;
    r->requests_sent = 1001;
    r->elapsed_s = 3;
}

static char *out(const struct probe_h2_result *r, int which)
{
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    if (which == 0)
        probe_h2_print_text(f, &opts, r);
    else if (which == 1)
        probe_h2_print_json(f, &opts, r);
    else
        probe_h2_section(f, &opts, r);
    fclose(f);
    return b;
}

static int has(char *s, const char *what)
{
    int ok = strstr(s, what) != NULL;
    if (!ok)
        printf("---- no '%s' in:\n%s\n", what, s);
    free(s);
    return ok;
}

TEST(cap_then_rst_no_idle_close_apache)
{
    struct probe_h2_result r;
    base(&r, "Apache/2.4.71 (Debian)");
    r.cap_refused = 2;
    r.deadline_hit = true;
    CHECK(has(out(&r, 0), "server                       Apache httpd"));
    CHECK(has(out(&r, 0), "max concurrent streams       unlimited"));
    CHECK(has(out(&r, 0), "1000 streams per connection: GOAWAY NO_ERROR (last stream 1999), then the "
                          "server's RST 0.000 ms later"));
    CHECK(has(out(&r, 0), "2 stream(s) sent past the GOAWAY were refused"));
    CHECK(has(out(&r, 0), "idle timeout                 none within 3.0 s (1 idle connections)"));
    CHECK(has(out(&r, 0), "-> on NEITHER side (RST), one close every 1000 streams"));
    CHECK(has(out(&r, 0), "(none in mod_http2"));
    CHECK(has(out(&r, 0), "(deadline reached)"));
    CHECK(has(out(&r, 1), "\"program\":\"apache\""));
    CHECK(has(out(&r, 1), "\"tcp_close\":\"rst\""));
    CHECK(has(out(&r, 1), "\"idle_timeout_s\":null"));
}

TEST(idle_goaway_then_fin_h2o)
{
    struct probe_h2_result r;
    base(&r, "h2o/2.2.5");
    r.max_streams_set = true;
    r.max_streams = 100;
    r.ping_rtt_s = 0.00015;
    r.idle_closed = 1;
    r.idle_min = r.idle_median = r.idle_max = 10;
    r.idle[0] = (struct probe_h2_end){.goaway = true, .last_stream_id = 1, .goaway_after_s = 10,
                                      .tcp = PC_FIN, .tcp_after_goaway_s = 0.0021};
    r.cap.goaway_error = 0xb; /* ENHANCE_YOUR_CALM */
    r.cap.tcp = PC_NONE;
    CHECK(has(out(&r, 0), "max concurrent streams       100 (SETTINGS_MAX_CONCURRENT_STREAMS; "
                          "http2-max-concurrent-requests-per-connection)"));
    CHECK(has(out(&r, 0), "PING round trip              0.15 ms"));
    CHECK(has(out(&r, 0), "GOAWAY ENHANCE_YOUR_CALM (last stream 1999), then no FIN within 1.5 s"));
    CHECK(has(out(&r, 0), "idle timeout                 10.00 s median"));
    CHECK(has(out(&r, 0), "first one: GOAWAY NO_ERROR (last stream 1), then the server's FIN 2.1 ms later"));
    CHECK(has(out(&r, 0), "client idle > 10.0 s           -> on the SERVER (it ends idle connections, GOAWAY first)"));
    CHECK(has(out(&r, 0), "http2-idle-timeout"));
    CHECK(has(out(&r, 1), "\"idle_timeout_s\":10"));
    CHECK(has(out(&r, 1), "\"max_concurrent_streams\":100"));
    CHECK(has(out(&r, 1), "\"tcp_closed_by\":\"client\""));
}

TEST(cap_without_goaway_or_not_measured)
{
    struct probe_h2_result r;
    base(&r, "");
    r.cap.goaway = false;
    r.cap.tcp = PC_FIN;
    CHECK(has(out(&r, 0), "1000 streams, then the server's FIN without a GOAWAY"));
    char *t = out(&r, 0);
    CHECK(!strstr(t, "streams per connection ->")); /* no cap verdict without a GOAWAY */
    free(t);
    CHECK(has(out(&r, 1), "\"cap\":\"the server's requests-per-connection limit\""));
    CHECK(has(out(&r, 1), "\"request_cap\":null"));
    CHECK(has(out(&r, 1), "\"program\":null"));
    r.cap.tcp = PC_NONE;
    CHECK(has(out(&r, 0), "not measured (1000 streams before the deadline)"));
    r.cap_stopped_at_max = true;
    CHECK(has(out(&r, 0), "none up to 1000 streams back to back"));
}

/* Beside HTTP/1 (https://): the section, or why h2 was not used. */
TEST(section_over_tls)
{
    struct probe_h2_result r;
    base(&r, "nginx/1.22.1");
    r.tls = true;
    snprintf(r.alpn, sizeof r.alpn, "h2");
    opts.t.tls = true;
    CHECK(has(out(&r, 2), "HTTP/2 (h2 by ALPN, on connections of its own; status 200)"));
    CHECK(has(out(&r, 2), "keepalive_requests (http2_max_requests before 1.19.7)"));
    CHECK(has(out(&r, 1), "\"mode\":\"alpn\""));
    CHECK(has(out(&r, 1), "\"alpn\":\"h2\""));
    r.h2_declined = true;
    r.alpn[0] = 0;
    CHECK(has(out(&r, 2), "HTTP/2: not offered (ALPN chose no protocol when h2 was offered)"));
    opts.t.tls = false;
}
