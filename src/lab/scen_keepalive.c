/* SPDX-License-Identifier: MIT */
/* Keep-alive limits: the idle timeout and the per-connection request cap,
 * both enforced by the server, so both leave TIME_WAIT on the server. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
                close(fds[i]);
            return -1;
        }
        char buf[2048];
        lab_expect(r, wire_http(fds[i], "GET / HTTP/1.1\r\nHost: lab\r\n\r\n", buf,
                                sizeof buf) > 0, "request %d got no response", i);
        answered[i] = lab_now_ms(e);
    }
    lab_mark(e, answered[0], "first response; idle from here");
    lab_mark(e, answered[0] + IDLE_TIMEOUT_MS, "keepalive-timeout (2 s) due");
    lab_watch(e, IDLE_TIMEOUT_MS - 500, 100);
    double lo = 1e9, hi = 0;
    int eofs = 0;
    for (int i = 0; i < IDLE_CONNS; i++) {
        int end = wire_wait_end(fds[i], 3 * IDLE_TIMEOUT_MS);
        double idle = lab_now_ms(e) - answered[i];
        if (end == 0) {
            eofs++;
            lo = idle < lo ? idle : lo;
            hi = idle > hi ? idle : hi;
        }
        close(fds[i]);
    }
    lab_watch(e, 300, 100);
    struct lab_count s, c;
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &s) < 0 ||
        lab_count(e, LAB_CLIENT, TS_TIME_WAIT, LAB_PORT, &c) < 0)
        return -1;
    lab_measured(r, "%d idle keep-alive connections, server keepalive-timeout %d ms",
                 IDLE_CONNS, IDLE_TIMEOUT_MS);
    lab_measured(r, "server closed %d of them after %.0f..%.0f ms idle", eofs, lo, hi);
    lab_measured(r, "TIME_WAIT on the server: %ld; on the client: %ld", s.n, c.n);
    lab_value(r, "idle_connections", IDLE_CONNS, "connections");
    lab_value(r, "server_keepalive_timeout", IDLE_TIMEOUT_MS, "ms");
    lab_value(r, "server_closed", eofs, "connections");
    lab_value(r, "closed_after_min", lo, "ms");
    lab_value(r, "closed_after_max", hi, "ms");
    lab_value(r, "server_time_wait", (double)s.n, "sockets");
    lab_value(r, "client_time_wait", (double)c.n, "sockets");
    lab_expect(r, eofs == IDLE_CONNS, "only %d of %d idle connections were closed by the server",
               eofs, IDLE_CONNS);
    lab_expect(r, eofs == 0 || lo >= IDLE_TIMEOUT_MS - 10, "closed after %.0f ms, before the "
               "%d ms timeout", lo, IDLE_TIMEOUT_MS);
    lab_expect(r, eofs == 0 || hi <= IDLE_TIMEOUT_MS + 1500, "closed after %.0f ms, long after "
               "the %d ms timeout", hi, IDLE_TIMEOUT_MS);
    lab_expect(r, s.n == IDLE_CONNS && c.n == 0, "TIME_WAIT server %ld client %ld, expected %d "
               "and 0", s.n, c.n, IDLE_CONNS);
    return 0;
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
    double rate100 = s100 > 0 ? req100 / s100 : 0, rate10k = s10k > 0 ? req10k / s10k : 0;
    lab_measured(r, "keepalive_requests 100: %ld requests in %.1f s (%.0f req/s) -> %ld server "
                 "TIME_WAIT = %.1f/s (request rate / cap = %.1f/s)", req100, s100, rate100,
                 tw100, s100 > 0 ? tw100 / s100 : 0, rate100 / 100);
    lab_measured(r, "keepalive_requests 10000: %ld requests in %.1f s (%.0f req/s) -> %ld server "
                 "TIME_WAIT = %.2f/s (request rate / cap = %.2f/s)", req10k, s10k, rate10k,
                 tw10k, s10k > 0 ? tw10k / s10k : 0, rate10k / 10000);
    lab_value(r, "cap100_requests", (double)req100, "requests");
    lab_value(r, "cap100_request_rate", rate100, "per_s");
    lab_value(r, "cap100_server_time_wait", (double)tw100, "sockets");
    lab_value(r, "cap100_server_time_wait_rate", s100 > 0 ? tw100 / s100 : 0, "per_s");
    lab_value(r, "cap10000_requests", (double)req10k, "requests");
    lab_value(r, "cap10000_request_rate", rate10k, "per_s");
    lab_value(r, "cap10000_server_time_wait", (double)tw10k, "sockets");
    lab_value(r, "cap10000_server_time_wait_rate", s10k > 0 ? tw10k / s10k : 0, "per_s");
    /* Each of the 4 connections hits the cap every 100 of its requests: at
     * most one partial cap per connection. */
    lab_expect(r, labs(tw100 - req100 / 100) <= 4, "cap 100: %ld TIME_WAIT for %ld requests, "
               "expected %ld (+-4)", tw100, req100, req100 / 100);
    lab_expect(r, tw10k == req10k / 10000, "cap 10000: %ld TIME_WAIT for %ld requests, "
               "expected %ld", tw10k, req10k, req10k / 10000);
    return 0;
}
