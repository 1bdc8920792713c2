/* SPDX-License-Identifier: MIT */
#include "client/load_report.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot.h"
#include "util/json.h"

/* The address as the 4 bytes of IPv4 when it is IPv4 or IPv4-mapped IPv6
 * (::ffff:a.b.c.d: a dual-stack [::] listener's sockets, Caddy's and
 * Tomcat's default), else its 16 bytes. Returns the length. */
static size_t canon_addr(int family, const uint8_t *a, uint8_t out[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (family == AF_INET) {
        memcpy(out, a, 4);
        return 4;
    }
    if (family == AF_INET6 && !memcmp(a, mapped, 12)) {
        memcpy(out, a + 12, 4);
        return 4;
    }
    memcpy(out, a, 16);
    return 16;
}

bool load_same_endpoint(int family, const uint8_t a[16], uint16_t port,
                        const struct sockaddr_storage *ss)
{
    uint8_t x[16], y[16];
    size_t nx, ny;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const void *)ss;
        ny = canon_addr(AF_INET, (const uint8_t *)&v4->sin_addr, y);
        if (port != ntohs(v4->sin_port))
            return false;
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const void *)ss;
        ny = canon_addr(AF_INET6, v6->sin6_addr.s6_addr, y);
        if (port != ntohs(v6->sin6_port))
            return false;
    } else {
        return false;
    }
    if (family != AF_INET && family != AF_INET6)
        return false;
    nx = canon_addr(family, a, x);
    return nx == ny && !memcmp(x, y, nx);
}

void load_count_time_wait(const struct target *t, long *towards, long *at, long *all)
{
    *towards = *at = *all = -1;
    struct snapshot *s = malloc(sizeof *s);
    struct snapshot_opts so = {.states = 1u << TS_TIME_WAIT};
    char err[128];
    if (!s || snapshot_take(s, &so, err, sizeof err) < 0) {
        free(s);
        return;
    }
    *towards = *at = *all = 0;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *k = &s->socks[i];
        if (k->state != TS_TIME_WAIT)
            continue; /* the snapshot also holds the listeners */
        (*all)++;
        if (load_same_endpoint(k->family, k->dst, k->dport, &t->addr))
            (*towards)++;
        if (load_same_endpoint(k->family, k->src, k->sport, &t->addr))
            (*at)++;
    }
    snapshot_free(s);
    free(s);
}

static void ms(char *buf, size_t len, uint64_t us)
{
    if (us >= 1000000)
        snprintf(buf, len, "%.2fs", us / 1e6);
    else if (us >= 1000)
        snprintf(buf, len, "%.2fms", us / 1e3);
    else
        snprintf(buf, len, "%lluus", (unsigned long long)us);
}

static long delta(long before, long after)
{
    return before < 0 || after < 0 ? 0 : after - before;
}

/* The TIME_WAIT this run left on this host: every connection the client
 * closed first, open_at_end included (the server's share is
 * closed_first[LC_SERVER]; a reset leaves none). */
static uint64_t load_tw_here(const struct load_result *r)
{
    return r->closed_first[LC_CLIENT] + r->open_at_end;
}

static bool close_mode(const struct load_result *r)
{
    return r->connections && (double)r->requests / (double)r->connections < 1.5;
}

static double per_s(uint64_t n, double seconds)
{
    return seconds > 0 ? n / seconds : 0;
}

/* What TLS cost and how it ended: the price of each new connection on
 * HTTPS is a handshake, full or resumed, and close_notify is TLS's own
 * "I am closing" before the FIN. */
static void tls_text(FILE *out, const struct load_result *r)
{
    const struct load_tls *s = &r->tls;
    char hs[3][16];
    ms(hs[0], sizeof hs[0], hist_percentile(&r->handshake, 50));
    ms(hs[1], sizeof hs[1], hist_percentile(&r->handshake, 99));
    ms(hs[2], sizeof hs[2], r->handshake.max);
    if (s->version[0])
        fprintf(out, "  TLS            %s %s, ALPN %s\n", s->version, s->cipher,
                s->alpn[0] ? s->alpn : "none");
    fprintf(out, "  handshakes     %llu full (%.1f/s), %llu resumed (%.1f/s); p50 %s  p99 %s  max %s\n",
            (unsigned long long)s->handshakes_full, per_s(s->handshakes_full, r->seconds),
            (unsigned long long)s->handshakes_resumed, per_s(s->handshakes_resumed, r->seconds),
            hs[0], hs[1], hs[2]);
    fprintf(out, "  handshake CPU  %.3f s in this client: %.0f us per full, %.0f us per resumed\n",
            (s->cpu_full_ns + s->cpu_resumed_ns) / 1e9,
            s->handshakes_full ? s->cpu_full_ns / 1e3 / s->handshakes_full : 0,
            s->handshakes_resumed ? s->cpu_resumed_ns / 1e3 / s->handshakes_resumed : 0);
    fprintf(out, "  TLS closes     server close_notify %llu (%llu with its FIN), server FIN without "
            "close_notify %llu, client close_notify %llu\n",
            (unsigned long long)s->server_close_notify, (unsigned long long)s->server_notify_with_fin,
            (unsigned long long)s->server_truncated, (unsigned long long)s->client_close_notify);
    if (s->error[0])
        fprintf(out, "  TLS error      %s\n", s->error);
}

void load_print_text(FILE *out, const struct load_opts *o, const struct load_result *r)
{
    char p[6][16], cp[3][16];
    static const double pct[] = {50, 90, 99, 99.9};
    for (int i = 0; i < 4; i++)
        ms(p[i], sizeof p[i], hist_percentile(&r->latency, pct[i]));
    ms(p[4], sizeof p[4], r->latency.max);
    ms(p[5], sizeof p[5], (uint64_t)hist_mean(&r->latency));
    ms(cp[0], sizeof cp[0], hist_percentile(&r->connect, 50));
    ms(cp[1], sizeof cp[1], hist_percentile(&r->connect, 99));
    ms(cp[2], sizeof cp[2], r->connect.max);
    fprintf(out, "closer load %s://%s%s: %u connections, %u threads, %.2f s%s%s\n",
            o->tls ? "https" : "http", o->target_text,
            o->url_path, o->connections, o->threads, r->seconds,
            o->rate > 0 ? ", open loop" : "", r->interrupted ? " (interrupted)" : "");
    fprintf(out, "  requests       %llu  (%.1f req/s), %llu 2xx, %llu other status\n",
            (unsigned long long)r->requests, r->seconds > 0 ? r->requests / r->seconds : 0,
            (unsigned long long)r->status_2xx, (unsigned long long)r->status_other);
    fprintf(out, "  read           %.2f MB (%.2f MB/s)\n", r->bytes / 1e6,
            r->seconds > 0 ? r->bytes / 1e6 / r->seconds : 0);
    fprintf(out, "  latency        p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s%s\n", p[0],
            p[1], p[2], p[3], p[4], p[5], o->rate > 0 ? "  (from intended send time)" : "");
    if (close_mode(r))
        fprintf(out, "                 (a new connection per request: latency includes connect)\n");
    fprintf(out, "  connect        p50 %s  p99 %s  max %s  (%llu handshakes)\n", cp[0], cp[1], cp[2],
            (unsigned long long)r->connect.total);
    if (o->tls)
        tls_text(out, r);
    fprintf(out, "  connections    %llu opened, %.1f requests per connection",
            (unsigned long long)r->connections,
            r->connections ? (double)r->requests / r->connections : 0);
    if (r->connecting_at_end)
        fprintf(out, "; %llu still connecting at the end (aborted, not counted)",
                (unsigned long long)r->connecting_at_end);
    fprintf(out, "\n");
    fprintf(out, "  closed first   server %llu, client %llu, reset %llu, open at the end %llu "
            "(closed by the client as the run ended)\n",
            (unsigned long long)r->closed_first[LC_SERVER],
            (unsigned long long)r->closed_first[LC_CLIENT],
            (unsigned long long)r->closed_first[LC_RESET], (unsigned long long)r->open_at_end);
    if (r->announced_closes)
        fprintf(out, "  announced      %llu responses said the server would close; the client closed "
                "first on %llu of them (%s)\n", (unsigned long long)r->announced_closes,
                (unsigned long long)r->announced_client_first,
                o->close_wait_ms ? "its FIN did not come within --close-wait"
                                 : "at once, as wrk does; --close-wait waits for the server's FIN");
    load_h2_print_text(out, o, r);
    fprintf(out, "  errors        ");
    for (int e = 0; e < LE_MAX; e++)
        fprintf(out, " %s %llu", load_err_name(e), (unsigned long long)r->errors[e]);
    fprintf(out, "\n");
    fprintf(out, "  TIME_WAIT      this run left %llu on this host (this client closed first) and %llu "
            "on the server's host (it closed first)\n", (unsigned long long)load_tw_here(r),
            (unsigned long long)r->closed_first[LC_SERVER]);
    /* Over TLS a close_notify sent after the peer closed its socket
     * (nginx closing at once, Apache/Go/h2o answering the client's) is
     * reset by the peer's kernel, and the RST ends the TIME_WAIT the FINs
     * promised: ss showed 0 on both sides for 200 such closes. */
    if (o->tls && r->tls.client_close_notify)
        fprintf(out, "                 (TLS: a close_notify that reaches a socket already closed is answered "
                "with a RST, and that TIME_WAIT never forms: the table below counts what did)\n");
    if (r->tw_towards_after >= 0) {
        /* The table is shared and moves on its own: entries expire after
         * 60 s and a reused port replaces one, so its net change is not
         * this run's count (-1 after 2,857 server closes once client
         * ports wrapped on loopback). */
        fprintf(out, "  TW table       %+ld net towards %s (after minus before, now %ld)",
                delta(r->tw_towards_before, r->tw_towards_after), o->target_text,
                r->tw_towards_after);
        if (r->tw_at_after > 0)
            fprintf(out, "; %+ld net at %s itself (now %ld)", delta(r->tw_at_before, r->tw_at_after),
                    o->target_text, r->tw_at_after);
        fprintf(out, "\n");
    }
}

/* Microseconds; every field null when nothing was measured (no request
 * completed), never a 0 that reads as "instant". */
static void hist_json(struct json *j, const char *name, const struct hist *h)
{
    static const struct { const char *key; double p; } pcts[] = {
        {"p50_us", 50}, {"p90_us", 90}, {"p99_us", 99}, {"p99_9_us", 99.9}};
    json_obj_begin(j, name);
    json_uint(j, "samples", h->total);
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
        if (h->total)
            json_uint(j, pcts[i].key, hist_percentile(h, pcts[i].p));
        else
            json_null(j, pcts[i].key);
    }
    if (h->total) {
        json_uint(j, "max_us", h->max);
        json_double(j, "mean_us", hist_mean(h));
    } else {
        json_null(j, "max_us");
        json_null(j, "mean_us");
    }
    json_obj_end(j);
}

static void tls_json(struct json *j, const struct load_opts *o, const struct load_result *r)
{
    if (!o->tls) {
        json_null(j, "tls");
        return;
    }
    const struct load_tls *s = &r->tls;
    json_obj_begin(j, "tls");
    json_str(j, "version", s->version);
    json_str(j, "cipher", s->cipher);
    json_str(j, "alpn", s->alpn);
    json_bool(j, "session_resumption", !o->tls_cfg.no_resume);
    json_uint(j, "handshakes_full", s->handshakes_full);
    json_uint(j, "handshakes_resumed", s->handshakes_resumed);
    json_double(j, "handshakes_full_per_s", per_s(s->handshakes_full, r->seconds));
    json_double(j, "handshakes_resumed_per_s", per_s(s->handshakes_resumed, r->seconds));
    json_uint(j, "handshake_cpu_full_us", s->cpu_full_ns / 1000);
    json_uint(j, "handshake_cpu_resumed_us", s->cpu_resumed_ns / 1000);
    hist_json(j, "handshake", &r->handshake);
    json_uint(j, "server_close_notify", s->server_close_notify);
    json_uint(j, "server_close_notify_with_fin", s->server_notify_with_fin);
    json_uint(j, "server_fin_without_close_notify", s->server_truncated);
    json_uint(j, "client_close_notify", s->client_close_notify);
    if (s->error[0])
        json_str(j, "last_error", s->error);
    else
        json_null(j, "last_error");
    json_obj_end(j);
}

static void tw_json(struct json *j, const char *name, long before, long after)
{
    if (after < 0)
        json_null(j, name);
    else
        json_int(j, name, delta(before, after));
}

void load_print_json(FILE *out, const struct load_opts *o, const struct load_result *r)
{
    struct json j;
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", LOAD_JSON_SCHEMA);
    target_endpoint_json(&j, "target", &o->dst);
    json_str(&j, "host", o->url_host);
    json_str(&j, "path", o->url_path);
    json_uint(&j, "connections", o->connections);
    json_uint(&j, "threads", o->threads);
    if (o->rate > 0)
        json_double(&j, "rate_per_s", o->rate);
    else
        json_null(&j, "rate_per_s"); /* closed loop: as fast as answers come */
    json_double(&j, "duration_s", r->seconds);
    json_bool(&j, "interrupted", r->interrupted);
    json_uint(&j, "requests", r->requests);
    json_double(&j, "requests_per_s", r->seconds > 0 ? r->requests / r->seconds : 0);
    json_uint(&j, "bytes", r->bytes);
    json_uint(&j, "status_2xx", r->status_2xx);
    json_uint(&j, "status_other", r->status_other);
    hist_json(&j, "latency", &r->latency);
    json_bool(&j, "latency_includes_connect", close_mode(r));
    hist_json(&j, "connect", &r->connect);
    tls_json(&j, o, r);
    json_uint(&j, "connections_opened", r->connections);
    json_uint(&j, "connecting_at_end", r->connecting_at_end);
    if (r->connections)
        json_double(&j, "requests_per_connection", (double)r->requests / r->connections);
    else
        json_null(&j, "requests_per_connection");
    json_obj_begin(&j, "closed_first");
    for (int c = 0; c < LC_MAX; c++)
        json_uint(&j, load_closer_name(c), r->closed_first[c]);
    json_uint(&j, "open_at_end", r->open_at_end);
    json_obj_end(&j);
    json_uint(&j, "announced_closes", r->announced_closes);
    json_uint(&j, "announced_closes_client_first", r->announced_client_first);
    json_uint(&j, "close_wait_ms", o->close_wait_ms);
    load_h2_json(&j, o, r);
    json_obj_begin(&j, "errors");
    for (int e = 0; e < LE_MAX; e++)
        json_uint(&j, load_err_name(e), r->errors[e]);
    json_obj_end(&j);
    /* This run's own TIME_WAIT, from who closed first; then the socket
     * table's net change (after - before) and totals, which are not the
     * run's own once entries expire or ports are reused. */
    json_obj_begin(&j, "time_wait_by_run");
    json_uint(&j, "on_this_host", load_tw_here(r));
    json_uint(&j, "on_server", r->closed_first[LC_SERVER]);
    json_obj_end(&j);
    tw_json(&j, "time_wait_towards_target", r->tw_towards_before, r->tw_towards_after);
    tw_json(&j, "time_wait_at_target", r->tw_at_before, r->tw_at_after);
    if (r->tw_towards_after < 0) {
        json_null(&j, "time_wait_towards_target_total");
        json_null(&j, "time_wait_at_target_total");
    } else {
        json_int(&j, "time_wait_towards_target_total", r->tw_towards_after);
        json_int(&j, "time_wait_at_target_total", r->tw_at_after);
    }
    json_obj_end(&j);
    json_finish(&j);
}
