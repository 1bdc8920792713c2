/* SPDX-License-Identifier: MIT */
/* probe's text and JSON reports over results written here, one per
 * verdict: a request cap (its FIN prompt, late or missing), a lifetime,
 * a random close, an unclear limit, no idle close before the deadline, a
 * cache in front of an origin, unsolicited bytes, the TIME_WAIT counts,
 * the HTTP/2 section beside it. probe_run's own tests (test_probe.c)
 * produce such results from real exchanges; these pin every branch. */
#include <stdlib.h>

#include "client/probe.h"
#include "client/probe_h2.h"
#include "test.h"

static struct probe_opts opts;

static void base(struct probe_result *r, const char *server, const char *via)
{
    char err[64];
    memset(r, 0, sizeof *r);
    target_parse("http://127.0.0.1:8080/app", &opts.t, err, sizeof err);
    opts.close_wait_ms = 2000;
    r->status = 200;
    snprintf(r->server, sizeof r->server, "%s", server);
    snprintf(r->via, sizeof r->via, "%s", via);
    snprintf(r->connection_11, sizeof r->connection_11, "keep-alive");
    snprintf(r->header_names, sizeof r->header_names, "server,date,content-length,connection");
    r->keepalive_11 = r->keepalive_10 = true;
    r->hint_timeout_s = r->hint_max = -1;
    r->close_measured = true;
    r->after_close = (struct probe_close_obs){.how = PC_FIN, .after_s = 0.0002, .with_response = true};
    r->close_samples = r->close_with_response = 3;
    r->close_rtt_s = 0.0004;
    r->limit_measured = true;
    r->limit = PL_NONE;
    r->cap = -1;
    r->fast.responses = r->paced.responses = 100;
    r->idle_n = 2;
    r->tw_towards_delta = r->tw_at_delta = r->tw_all_delta = -1;
    r->connections = 9;
    r->requests_sent = 230;
    r->elapsed_s = 6.5;
    probe_identify(r);
}

static char *text(const struct probe_result *r)
{
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    probe_print_text(f, &opts, r);
    fclose(f);
    return b;
}

static char *json(const struct probe_result *r)
{
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    probe_print_json(f, &opts, r);
    fclose(f);
    return b;
}

/* Each of whats must be in the report: NULL when so, else the first missing. */
static const char *missing(char *report, const char *const *whats)
{
    const char *miss = NULL;
    for (; *whats && !miss; whats++)
        if (!strstr(report, *whats))
            miss = *whats;
    if (miss)
        printf("---- report without '%s':\n%s----\n", miss, report);
    free(report);
    return miss;
}

#define HAS_ALL(report, ...)                                                 \
    do {                                                                    \
        static const char *const w_[] = {__VA_ARGS__, NULL};                \
        const char *m_ = missing((report), w_);                             \
        if (m_) {                                                           \
            test_fail(__FILE__, __LINE__, "missing '%s'", m_);              \
            return;                                                         \
        }                                                                   \
    } while (0)

TEST(cap_prompt_fin_and_idle_by_fin)
{
    struct probe_result r;
    base(&r, "nginx/1.22.1", "");
    r.limit = PL_CAP;
    r.cap = 100;
    r.cap_confirmed = true;
    r.fast.announced = true;
    r.fast.fin = (struct probe_close_obs){.how = PC_FIN, .after_s = 0.0001};
    r.idle_closed = 2;
    r.idle_min = 74.9, r.idle_median = 75.0, r.idle_max = 75.1;
    r.tw_towards_delta = 0, r.tw_at_delta = 9, r.tw_all_delta = 12;
    r.server_closed_first = 9;
    HAS_ALL(text(&r), "closer probe http://127.0.0.1:8080/app (status 200)",
            "server                       nginx", "HTTP/1.1 keep-alive          honoured",
            "100 requests per connection (the last response said Connection: close; the same count",
            "then the server's FIN 0.1 ms after it", "idle timeout                 75.00 s median",
            "> 100 requests per connection -> on the SERVER, one close every 100 requests",
            "change: raise keepalive_requests", "client idle > 74.9 s",
            "Connection: close / HTTP/1.0  -> on the SERVER", "+9 at 127.0.0.1:8080",
            "+12 TIME_WAIT in this network namespace in all");
    HAS_ALL(json(&r), "\"request_cap\":100", "\"request_cap_announced\":true", "\"idle_timeout_s\":75",
            "\"request_cap_reached\":\"server\"");
}

TEST(cap_fin_late_or_missing)
{
    struct probe_result r;
    base(&r, "", "");
    snprintf(r.keep_alive_11, sizeof r.keep_alive_11, "timeout=5");
    snprintf(r.header_names, sizeof r.header_names, "content-type,date,connection,keep-alive,content-length");
    r.hint_timeout_s = 5;
    probe_identify(&r); /* Node: no Server header, Keep-Alive: timeout=5 */
    r.limit = PL_CAP;
    r.cap = 50;
    r.fast.announced = true;
    r.fast.fin = (struct probe_close_obs){.how = PC_FIN, .after_s = 5.9};
    r.after_close = (struct probe_close_obs){.how = PC_FIN, .after_s = 1.2};
    r.close_with_response = 0;
    HAS_ALL(text(&r), "seen on one connection only", "then the server's FIN 5.90 s after it",
            "on the CLIENT for a client that honours Connection: close at once",
            "Keep-Alive hint              timeout=5 s",
            "on the CLIENT for a client that closes at once (the server's FIN comes 1200.0 ms later");
    r.fast.fin.how = PC_NONE;
    r.after_close.how = PC_NONE;
    r.idle[0].after_s = 4.0;
    HAS_ALL(text(&r), "then no FIN from the server within 2.0 s (--close-wait)",
            "idle timeout                 none within 4.0 s (2 idle connections; --max-wait)",
            "no close within 2.0 s: the server waits for the client's FIN",
            "Connection: close / HTTP/1.0  -> on the CLIENT (the server waits for its FIN)");
    HAS_ALL(json(&r), "\"connection_close\":\"client\"");
}

TEST(lifetime_random_unknown)
{
    struct probe_result r;
    base(&r, "nginx/1.25.3", "");
    r.limit = PL_LIFETIME;
    r.lifetime_s = 3600;
    r.fast.age_s = r.paced.age_s = 3600;
    r.paced.responses = 36000;
    HAS_ALL(text(&r), "connection lifetime          3600.00 s", "connections older than 3600.0 s",
            "keepalive_time");
    HAS_ALL(json(&r), "\"lifetime_reached\":\"server\"");
    r.limit = PL_RANDOM;
    r.fast.responses = 37;
    r.second.closed = true;
    r.second.responses = 12;
    r.fast.fin.how = PC_RST;
    HAS_ALL(text(&r), "not a per-connection cap: closed after 37 requests back to back, a second "
            "connection after 12", "it closes some connections at random");
    HAS_ALL(json(&r), "\"random\"");
    r.limit = PL_UNKNOWN;
    HAS_ALL(text(&r), "request limit                unclear");
}

TEST(cache_in_front_and_deadline)
{
    struct probe_result r;
    base(&r, "nginx/1.22.1", "1.1 varnish (Varnish/7.1)");
    r.deadline_hit = true;
    r.idle_n = 0;
    HAS_ALL(text(&r), "behind it                    nginx: the origin",
            "idle timeout                 none within 0.0 s (0 idle connections; the probe's deadline",
            "(deadline reached)");
    HAS_ALL(json(&r), "\"deadline_hit\":true", "\"origin\"");
}

TEST(no_keepalive_error_answer_unsolicited)
{
    struct probe_result r;
    base(&r, "SimpleHTTP/0.6 Python/3.11.7", "");
    r.keepalive_11 = r.keepalive_10 = r.limit_measured = false;
    r.connection_11[0] = 0;
    HAS_ALL(text(&r), "HTTP/1.1 keep-alive          NOT honoured   (Connection: -)",
            "request cap                  - (no keep-alive)", "every client                  -> on the SERVER");
    HAS_ALL(json(&r), "\"client_closes\":\"server\"");
    r.close_measured = false;
    HAS_ALL(text(&r), "after Connection: close      not measured");
    base(&r, "nginx/1.22.1", "");
    r.unsolicited_bytes = 17;
    HAS_ALL(text(&r), "UNSOLICITED BYTES            17 bytes", "Fix the server's framing first",
            "HTTP/1.1 keep-alive          honoured");
    base(&r, "nginx/1.22.1", "");
    r.status = 404;
    r.error_answer = true;
    HAS_ALL(text(&r), "the site answers 404 (4xx) to GET /app: an error page");
    r.server[0] = 0;
    HAS_ALL(text(&r), "(no Server header)");
    HAS_ALL(json(&r), "\"error_answer\":true");
}

TEST(http2_section_beside_http1)
{
    struct probe_result r;
    struct probe_h2_result h = {.tls = true, .status = 200, .max_streams_set = true, .max_streams = 128,
                                .ping_rtt_s = 0.0002, .cap_measured = true, .cap_streams = 1000,
                                .idle_n = 1, .idle_closed = 1, .idle_min = 75, .idle_median = 75,
                                .idle_max = 75, .connections = 3, .requests_sent = 1003};
    snprintf(h.alpn, sizeof h.alpn, "h2");
    h.cap = (struct probe_h2_end){.goaway = true, .last_stream_id = 1999, .tcp = PC_FIN,
                                  .tcp_after_goaway_s = 0.0003};
    h.idle[0] = (struct probe_h2_end){.goaway = true, .last_stream_id = 1, .tcp = PC_FIN};
    base(&r, "nginx/1.22.1", "");
    h.prog = r.prog;
    r.h2 = &h;
    opts.t.tls = true;
    HAS_ALL(text(&r), "closer probe https://", "HTTP/2 (h2 by ALPN, on connections of its own; status 200)",
            "max concurrent streams       128", "1000 streams per connection: GOAWAY NO_ERROR (last stream 1999)");
    HAS_ALL(json(&r), "\"http2\":{", "\"stream_cap\":1000");
    h.h2_declined = true;
    snprintf(h.alpn, sizeof h.alpn, "http/1.1");
    HAS_ALL(text(&r), "HTTP/2: not offered (ALPN chose http/1.1");
    opts.t.tls = false;
}
