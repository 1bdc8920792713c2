/* SPDX-License-Identifier: MIT */
/* Keep-alive limits: the idle timeout and the per-connection request cap,
 * both enforced by the server, so both leave TIME_WAIT on the server. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/judge.h"
#include "lab/scenarios.h"
#include "lab/wire.h"

#define IDLE_CONNS 5
#define IDLE_TIMEOUT_MS 2000

int lab_sc_idle_timeout(struct lab_env *e, struct lab_result *r)
{
    const char *serve[] = {"--keepalive-timeout", "2s", NULL};
    if (lab_serve(e, r, serve) < 0)
        return 0;
    lab_setup_engine(e, "client: %d connections from the lab's socket engine, one 'GET / "
                   "HTTP/1.1' each, then idle until the server closes", IDLE_CONNS);
    int fds[IDLE_CONNS];
    double answered[IDLE_CONNS];
    for (int i = 0; i < IDLE_CONNS; i++) {
        fds[i] = wire_connect(e, LAB_CLIENT, LAB_SERVER_IP, LAB_PORT);
        if (fds[i] < 0) {
            while (i--)
                wire_close(e, fds[i]);
            return -1;
        }
        char buf[2048];
        lab_expect(r, wire_http(e, fds[i], "GET / HTTP/1.1\r\nHost: lab\r\n\r\n", buf,
                                sizeof buf) > 0, "request %d got no response", i);
        answered[i] = lab_clock_ms(e);
    }
    lab_mark(e, answered[0], "first response; idle from here");
    lab_mark(e, answered[0] + IDLE_TIMEOUT_MS, "keepalive-timeout (2 s) due");
    lab_watch(e, IDLE_TIMEOUT_MS - 500, 100);
    double lo = 1e9, hi = 0;
    int eofs = 0;
    for (int i = 0; i < IDLE_CONNS; i++) {
        int end = wire_wait_end(e, fds[i], 3 * IDLE_TIMEOUT_MS);
        double idle = lab_clock_ms(e) - answered[i];
        if (end == 0) {
            eofs++;
            lo = idle < lo ? idle : lo;
            hi = idle > hi ? idle : hi;
        }
        wire_close(e, fds[i]);
    }
    lab_watch(e, 300, 100);
    struct lab_count s, c;
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &s) < 0 ||
        lab_count(e, LAB_CLIENT, TS_TIME_WAIT, LAB_PORT, &c) < 0)
        return -1;
    struct lab_idle_obs o = {.conns = IDLE_CONNS, .timeout_ms = IDLE_TIMEOUT_MS, .closed = eofs,
                             .closed_min_ms = lo, .closed_max_ms = hi, .server_tw = s.n,
                             .client_tw = c.n};
    lab_judge_idle_timeout(r, &o);
    return 0;
}

void lab_judge_idle_timeout(struct lab_result *r, const struct lab_idle_obs *o)
{
    double lo = o->closed_min_ms, hi = o->closed_max_ms;
    lab_measured(r, "%d idle keep-alive connections, server keepalive-timeout %d ms", o->conns,
                 o->timeout_ms);
    lab_measured(r, "server closed %d of them after %.0f..%.0f ms idle", o->closed, lo, hi);
    lab_measured(r, "TIME_WAIT on the server: %ld; on the client: %ld", o->server_tw,
                 o->client_tw);
    lab_value(r, "idle_connections", o->conns, "connections");
    lab_value(r, "server_keepalive_timeout", o->timeout_ms, "ms");
    lab_value(r, "server_closed", o->closed, "connections");
    lab_value(r, "closed_after_min", lo, "ms");
    lab_value(r, "closed_after_max", hi, "ms");
    lab_value(r, "server_time_wait", (double)o->server_tw, "sockets");
    lab_value(r, "client_time_wait", (double)o->client_tw, "sockets");
    lab_expect(r, o->closed == o->conns, "only %d of %d idle connections were closed by the "
               "server", o->closed, o->conns);
    lab_expect(r, o->closed == 0 || lo >= o->timeout_ms - 10, "closed after %.0f ms, before the "
               "%d ms timeout", lo, o->timeout_ms);
    lab_expect(r, o->closed == 0 || hi <= o->timeout_ms + 1500, "closed after %.0f ms, long "
               "after the %d ms timeout", hi, o->timeout_ms);
    lab_expect(r, o->server_tw == o->conns && o->client_tw == 0, "TIME_WAIT server %ld client "
               "%ld, expected %d and 0", o->server_tw, o->client_tw, o->conns);
}

/* One run at 1000 req/s for 3 s on 4 connections with cap; returns the
 * server TIME_WAIT it created, requests in *req. */
static long capped_run(struct lab_env *e, struct lab_result *r, const char *cap, long before,
                       long *req, double *secs)
{
    char out[16384] = "";
    const char *serve[] = {"--keepalive-requests", cap, NULL};
    pid_t srv = lab_serve(e, r, serve);
    if (srv < 0)
        return -1;
    const char *load[] = {LAB_URL, "--rate", "1000", "-d", "3s", "-c", "4", NULL};
    int rc = lab_load(e, load, out, sizeof out);
    lab_watch(e, 300, 100);
    *req = (long)lab_json_num(out, "requests");
    *secs = lab_json_num(out, "duration_s");
    lab_expect(r, rc == 0 && *req > 0, "closer load failed (exit %d)", rc);
    struct lab_count s;
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &s) < 0)
        return -1;
    lab_stop(e, srv);
    return s.n - before;
}

int lab_sc_request_cap(struct lab_env *e, struct lab_result *r)
{
    long req100, req10k;
    double s100, s10k;
    long tw100 = capped_run(e, r, "100", 0, &req100, &s100);
    if (tw100 < 0)
        return r->ok ? -1 : 0;
    struct lab_count base;
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &base) < 0)
        return -1;
    long tw10k = capped_run(e, r, "10000", base.n, &req10k, &s10k);
    if (tw10k < 0)
        return r->ok ? -1 : 0;
    struct lab_cap_run c100 = {req100, s100, tw100}, c10k = {req10k, s10k, tw10k};
    lab_judge_request_cap(r, &c100, &c10k);
    return 0;
}

/* One cap's line: its request rate and the TIME_WAIT rate, with two
 * decimals where the rate is that small (cap 10000). */
static void cap_says(struct lab_result *r, long cap, const struct lab_cap_run *c)
{
    double rate = c->seconds > 0 ? c->requests / c->seconds : 0;
    double tw_rate = c->seconds > 0 ? c->server_tw / c->seconds : 0;
    int digits = cap > 100 ? 2 : 1;
    lab_measured(r, "keepalive_requests %ld: %ld requests in %.1f s (%.0f req/s) -> %ld server "
                 "TIME_WAIT = %.*f/s (request rate / cap = %.*f/s)", cap, c->requests,
                 c->seconds, rate, c->server_tw, digits, tw_rate, digits, rate / (double)cap);
}

static void cap_values(struct lab_result *r, long cap, const struct lab_cap_run *c)
{
    double rate = c->seconds > 0 ? c->requests / c->seconds : 0;
    char v[48];
    snprintf(v, sizeof v, "cap%ld_requests", cap);
    lab_value(r, v, (double)c->requests, "requests");
    snprintf(v, sizeof v, "cap%ld_request_rate", cap);
    lab_value(r, v, rate, "per_s");
    snprintf(v, sizeof v, "cap%ld_server_time_wait", cap);
    lab_value(r, v, (double)c->server_tw, "sockets");
    snprintf(v, sizeof v, "cap%ld_server_time_wait_rate", cap);
    lab_value(r, v, c->seconds > 0 ? c->server_tw / c->seconds : 0, "per_s");
}

void lab_judge_request_cap(struct lab_result *r, const struct lab_cap_run *c100,
                           const struct lab_cap_run *c10k)
{
    cap_says(r, 100, c100);
    cap_says(r, 10000, c10k);
    cap_values(r, 100, c100);
    cap_values(r, 10000, c10k);
    /* Each of the 4 connections hits the cap every 100 of its requests: at
     * most one partial cap per connection. */
    lab_expect(r, labs(c100->server_tw - c100->requests / 100) <= 4, "cap 100: %ld TIME_WAIT "
               "for %ld requests, expected %ld (+-4)", c100->server_tw, c100->requests,
               c100->requests / 100);
    lab_expect(r, c10k->server_tw == c10k->requests / 10000, "cap 10000: %ld TIME_WAIT for %ld "
               "requests, expected %ld", c10k->server_tw, c10k->requests, c10k->requests / 10000);
}
