/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/load_report.h"
#include "test.h"

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, ip, &a->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a->sin6_addr);
    return ss;
}

/* A dual-stack [::]:PORT listener's sockets show [::ffff:127.0.0.1]: the
 * same endpoint as the target 127.0.0.1 (issue 21: 24,839 server-first
 * closes, time_wait_at_target 0). */
TEST(v4_mapped_v6_is_the_v4_endpoint)
{
    uint8_t a[16] = {0};
    inet_pton(AF_INET6, "::ffff:127.0.0.1", a);
    struct sockaddr_storage t = v4("127.0.0.1", 8080);
    CHECK(load_same_endpoint(AF_INET6, a, 8080, &t));
    CHECK(!load_same_endpoint(AF_INET6, a, 8081, &t));
    struct sockaddr_storage m = v6("::ffff:127.0.0.1", 8080);
    uint8_t b[16] = {127, 0, 0, 1};
    CHECK(load_same_endpoint(AF_INET, b, 8080, &m));
    CHECK(load_same_endpoint(AF_INET6, a, 8080, &m));
    struct sockaddr_storage o = v4("127.0.0.2", 8080);
    CHECK(!load_same_endpoint(AF_INET6, a, 8080, &o));
}

TEST(plain_families_still_match)
{
    uint8_t b[16] = {10, 0, 0, 1};
    struct sockaddr_storage t = v4("10.0.0.1", 80);
    CHECK(load_same_endpoint(AF_INET, b, 80, &t));
    uint8_t l[16] = {0};
    inet_pton(AF_INET6, "::1", l);
    struct sockaddr_storage s = v6("::1", 80);
    CHECK(load_same_endpoint(AF_INET6, l, 80, &s));
    CHECK(!load_same_endpoint(AF_INET6, l, 80, &t));
    /* ::1 is not 0.0.0.1 mapped: only ::ffff:0:0/96 is IPv4. */
    uint8_t z[16] = {0, 0, 0, 1};
    CHECK(!load_same_endpoint(AF_INET, z, 80, &s));
}

/* Over TLS the FIN counts are not the TIME_WAIT counts when a close_notify
 * reaches a closed socket (the RST ends it): the text says so when this
 * client sent close_notify, and only over TLS. */
static int says_rst(bool tls, uint64_t client_notify)
{
    struct load_opts o = {0};
    struct load_result r = {0};
    o.tls = tls;
    snprintf(o.target_text, sizeof o.target_text, "127.0.0.1:8443");
    snprintf(o.url_path, sizeof o.url_path, "/");
    r.tls.client_close_notify = client_notify;
    r.tw_towards_after = r.tw_at_after = -1;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    load_print_text(f, &o, &r);
    fclose(f);
    int found = strstr(buf, "TLS: a close_notify that reaches a socket already closed") != NULL;
    free(buf);
    return found;
}

TEST(tls_close_notify_rst_caveat)
{
    CHECK(says_rst(true, 200));
    CHECK(!says_rst(true, 0));
    CHECK(!says_rst(false, 0));
}

/* A whole run's report, text and JSON, from counts written here: what
 * load_run fills (its own tests run it) is printed the same way. */
static char *printed(const struct load_opts *o, const struct load_result *r, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (json)
        load_print_json(f, o, r);
    else
        load_print_text(f, o, r);
    fclose(f);
    return buf;
}

static int has_all(char *s, const char *const *whats)
{
    for (; *whats; whats++)
        if (!strstr(s, *whats)) {
            printf("---- no '%s' in:\n%s\n", *whats, s);
            free(s);
            return 0;
        }
    free(s);
    return 1;
}

#define HAS_ALL(s, ...)                                                       \
    do {                                                                      \
        static const char *const w_[] = {__VA_ARGS__, NULL};                  \
        CHECK(has_all((s), w_));                                              \
    } while (0)

static void run_opts(struct load_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dst = v4("127.0.0.1", 8080);
    snprintf(o->target_text, sizeof o->target_text, "127.0.0.1:8080");
    snprintf(o->url_host, sizeof o->url_host, "127.0.0.1:8080");
    snprintf(o->url_path, sizeof o->url_path, "/");
    o->connections = 10;
    o->threads = 2;
}

static void run_result(struct load_result *r)
{
    memset(r, 0, sizeof *r);
    hist_init(&r->latency);
    hist_init(&r->connect);
    hist_init(&r->handshake);
    for (uint64_t us = 100; us <= 100000; us *= 10) {
        hist_record(&r->latency, us);
        hist_record(&r->connect, us / 10);
        hist_record(&r->handshake, us * 2);
    }
    r->seconds = 2;
    r->requests = 1000;
    r->bytes = 250000;
    r->status_2xx = 990;
    r->status_other = 10;
    r->connections = 10;
    r->closed_first[LC_SERVER] = 4;
    r->closed_first[LC_CLIENT] = 5;
    r->open_at_end = 1;
    r->errors[LE_RESET] = 2;
    r->tw_towards_before = 3, r->tw_towards_after = 9;
    r->tw_at_before = 0, r->tw_at_after = 4;
}

TEST(keepalive_run_text_and_json)
{
    struct load_opts o;
    struct load_result r;
    run_opts(&o);
    run_result(&r);
    r.announced_closes = 4;
    r.announced_client_first = 1;
    HAS_ALL(printed(&o, &r, false), "closer load http://127.0.0.1:8080/: 10 connections, 2 threads, 2.00 s",
            "requests       1000  (500.0 req/s), 990 2xx, 10 other status", "read           0.25 MB",
            "latency        p50 ", "connect        p50 ", "100.0 requests per connection",
            "closed first   server 4, client 5, reset 0, open at the end 1",
            "announced      4 responses said the server would close; the client closed first on 1 of them "
            "(at once, as wrk does", " reset 2", "this run left 6 on this host",
            "TW table       +6 net towards 127.0.0.1:8080 (after minus before, now 9); +4 net at");
    HAS_ALL(printed(&o, &r, true), "\"schema\":\"closer.load/1\"", "\"requests\":1000",
            "\"rate_per_s\":null", "\"latency_includes_connect\":false", "\"tls\":null",
            "\"time_wait_by_run\":{\"on_this_host\":6,\"on_server\":4}",
            "\"time_wait_towards_target\":6", "\"time_wait_at_target_total\":4", "\"http2\":null");
}

TEST(close_mode_open_loop_interrupted_over_tls)
{
    struct load_opts o;
    struct load_result r;
    run_opts(&o);
    run_result(&r);
    o.tls = true;
    o.rate = 200;
    o.close_wait_ms = 500;
    r.connections = 1000;
    r.connecting_at_end = 3;
    r.interrupted = true;
    r.announced_closes = 1000;
    r.announced_client_first = 7;
    r.tw_towards_after = r.tw_at_after = -1;
    r.tls = (struct load_tls){.handshakes_full = 10, .handshakes_resumed = 990, .cpu_full_ns = 20000000,
                              .cpu_resumed_ns = 99000000, .server_close_notify = 1000,
                              .server_notify_with_fin = 990, .client_close_notify = 0};
    snprintf(r.tls.version, sizeof r.tls.version, "TLSv1.3");
    snprintf(r.tls.cipher, sizeof r.tls.cipher, "TLS_AES_128_GCM_SHA256");
    snprintf(r.tls.error, sizeof r.tls.error, "certificate verify failed");
    HAS_ALL(printed(&o, &r, false), "closer load https://", ", open loop (interrupted)",
            "(from intended send time)", "(a new connection per request: latency includes connect)",
            "TLS            TLSv1.3 TLS_AES_128_GCM_SHA256, ALPN none",
            "handshakes     10 full (5.0/s), 990 resumed (495.0/s)",
            "handshake CPU  0.119 s in this client: 2000 us per full, 100 us per resumed",
            "server close_notify 1000 (990 with its FIN)", "TLS error      certificate verify failed",
            "3 still connecting at the end", "its FIN did not come within --close-wait");
    HAS_ALL(printed(&o, &r, true), "\"rate_per_s\":200", "\"interrupted\":true",
            "\"latency_includes_connect\":true", "\"handshakes_resumed\":990",
            "\"last_error\":\"certificate verify failed\"", "\"time_wait_towards_target\":null");
    r.tls.error[0] = 0;
    HAS_ALL(printed(&o, &r, true), "\"last_error\":null");
}

/* Nothing completed: percentiles are null, never a 0 read as instant. */
TEST(empty_run_has_null_percentiles)
{
    struct load_opts o;
    struct load_result r = {0};
    run_opts(&o);
    hist_init(&r.latency);
    hist_init(&r.connect);
    r.tw_towards_after = r.tw_at_after = -1;
    HAS_ALL(printed(&o, &r, true), "\"latency\":{\"samples\":0,\"p50_us\":null",
            "\"requests_per_connection\":null");
    HAS_ALL(printed(&o, &r, false), "0.0 requests per connection");
}
