/* SPDX-License-Identifier: MIT */
/* Who closes first: Connection: close, keep-alive off, HTTP/1.0, client
 * close, close policy client, SO_LINGER {1,0}. Real closer serve and closer
 * load processes; the socket tables of both namespaces are the referee. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include "lab/scenarios.h"
#include "lab/wire.h"

struct tw_pair {
    long server, client, conns, requests;
};

/* Starts serve with serve_extra, runs load with load_args, lets closes
 * settle, counts TIME_WAIT on both sides of port 8080. */
static int traffic(struct lab_env *e, struct lab_result *r, const char *const serve_extra[],
                   const char *const load_args[], struct tw_pair *tw)
{
    char out[16384] = "";
    memset(tw, 0, sizeof *tw);
    pid_t srv = lab_serve(e, r, serve_extra);
    if (srv < 0)
        return 0;
    lab_sample(e);
    int rc = lab_load(e, load_args, out, sizeof out);
    lab_watch(e, 400, 100);
    tw->conns = (long)lab_json_num(out, "connections_opened");
    tw->requests = (long)lab_json_num(out, "requests");
    struct lab_count s, c;
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &s) < 0 ||
        lab_count(e, LAB_CLIENT, TS_TIME_WAIT, LAB_PORT, &c) < 0)
        return -1;
    tw->server = s.n;
    tw->client = c.n;
    lab_measured(r, "closer load exit %d: %ld requests on %ld connections", rc, tw->requests,
                 tw->conns);
    lab_measured(r, "TIME_WAIT on the server: %ld; on the client: %ld", tw->server, tw->client);
    lab_value(r, "requests", (double)tw->requests, "requests");
    lab_value(r, "connections", (double)tw->conns, "connections");
    lab_value(r, "server_time_wait", (double)tw->server, "sockets");
    lab_value(r, "client_time_wait", (double)tw->client, "sockets");
    lab_expect(r, rc == 0 && tw->requests > 0, "closer load failed (exit %d)", rc);
    return 0;
}

static void expect_on(struct lab_result *r, const struct tw_pair *tw, bool server_side)
{
    long want_here = tw->conns, there = server_side ? tw->client : tw->server;
    long here = server_side ? tw->server : tw->client;
    lab_expect(r, here == want_here, "TIME_WAIT on the %s: %ld, expected one per connection (%ld)",
               server_side ? "server" : "client", here, want_here);
    lab_expect(r, there == 0, "TIME_WAIT on the %s: %ld, expected none",
               server_side ? "client" : "server", there);
}

int lab_sc_close_header(struct lab_env *e, struct lab_result *r)
{
    const char *load[] = {LAB_URL, "-n", "200", "-c", "4", "--close-header", NULL};
    struct tw_pair tw;
    if (traffic(e, r, NULL, load, &tw) < 0)
        return -1;
    expect_on(r, &tw, true);
    return 0;
}

int lab_sc_keepalive_off(struct lab_env *e, struct lab_result *r)
{
    const char *serve[] = {"--keepalive", "off", NULL};
    const char *load[] = {LAB_URL, "-n", "200", "-c", "4", NULL};
    struct tw_pair tw;
    if (traffic(e, r, serve, load, &tw) < 0)
        return -1;
    expect_on(r, &tw, true);
    return 0;
}

int lab_sc_http10(struct lab_env *e, struct lab_result *r)
{
    const char *plain[] = {LAB_URL, "-n", "50", "-c", "1", "--http1.0", NULL};
    struct tw_pair a, b;
    lab_measured(r, "HTTP/1.0, no Connection header:");
    snprintf(r->value_prefix, sizeof r->value_prefix, "http10_plain_");
    if (traffic(e, r, NULL, plain, &a) < 0)
        return -1;
    lab_expect(r, a.conns == a.requests, "HTTP/1.0: %ld connections for %ld requests, expected "
               "one each", a.conns, a.requests);
    lab_expect(r, a.server == a.conns, "HTTP/1.0: server TIME_WAIT %ld, expected %ld (the "
               "server closes)", a.server, a.conns);
    lab_stop(e, e->pids[0]);
    const char *ka[] = {LAB_URL, "-n", "50", "-c", "1", "--http1.0", "--keepalive", "on", NULL};
    lab_measured(r, "HTTP/1.0 with Connection: keep-alive:");
    snprintf(r->value_prefix, sizeof r->value_prefix, "http10_keepalive_");
    if (traffic(e, r, NULL, ka, &b) < 0)
        return -1;
    lab_expect(r, b.conns == 1 && b.requests == 50, "HTTP/1.0 keep-alive: %ld connections for "
               "%ld requests, expected 1 for 50", b.conns, b.requests);
    lab_expect(r, b.server == a.server, "HTTP/1.0 keep-alive added %ld server TIME_WAIT, "
               "expected none", b.server - a.server);
    return 0;
}

#define HELD 3

/* The passive close made visible: serve is frozen (SIGSTOP) while the
 * clients close, so its sockets sit in CLOSE_WAIT; the client's last ACKs
 * are dropped while it closes, so they sit in LAST_ACK; then the ACKs flow
 * and everything ends without a server TIME_WAIT. */
static int held_passive_close(struct lab_env *e, struct lab_result *r, pid_t srv)
{
    lab_setup_engine(e, "then: %d keep-alive connections from the lab's socket engine, one GET "
                   "each; kill -STOP serve; the clients close; kill -CONT serve while the "
                   "client's ACKs to :8080 are dropped (nft); then ACKs allowed again", HELD);
    int fds[HELD];
    for (int i = 0; i < HELD; i++) {
        char buf[2048];
        fds[i] = wire_connect(e, LAB_CLIENT, LAB_SERVER_IP, LAB_PORT);
        if (fds[i] < 0 || wire_http(fds[i], "GET / HTTP/1.1\r\nHost: lab\r\n\r\n", buf,
                                    sizeof buf) <= 0) {
            for (int k = 0; k <= i; k++)
                if (fds[k] >= 0)
                    close(fds[k]);
            snprintf(e->err, sizeof e->err, "keep-alive request to serve failed");
            return -1;
        }
    }
    struct lab_count tw0, cw, la, la_end, tw_end, ctw;
    if (lab_count(e, LAB_CLIENT, TS_TIME_WAIT, LAB_PORT, &tw0) < 0 ||
        wire_drop_acks(e, LAB_PORT, false) < 0)
        return -1;
    /* The stop is asynchronous: a worker thread on the other core could
     * still read the FIN. waitpid(WUNTRACED) returns once all are stopped. */
    kill(srv, SIGSTOP);
    int st;
    while (waitpid(srv, &st, WUNTRACED) < 0 && errno == EINTR)
        ;
    lab_mark(e, -1, "serve stopped (SIGSTOP)");
    for (int i = 0; i < HELD; i++)
        close(fds[i]);
    lab_mark(e, -1, "%d clients close", HELD);
    lab_watch(e, 300, 100);
    int rc = lab_count(e, LAB_SERVER, TS_CLOSE_WAIT, LAB_PORT, &cw);
    if (rc == 0)
        rc = wire_drop_acks(e, LAB_PORT, true);
    kill(srv, SIGCONT);
    lab_mark(e, -1, "serve resumed, client ACKs dropped");
    if (rc < 0)
        return -1;
    lab_watch(e, 500, 100);
    if (lab_count(e, LAB_SERVER, TS_LAST_ACK, LAB_PORT, &la) < 0 ||
        wire_drop_acks(e, LAB_PORT, false) < 0)
        return -1;
    lab_mark(e, -1, "ACKs allowed again");
    for (int i = 0; i < 40; i++) {  /* the next FIN retransmission gets its ACK */
        lab_watch(e, 100, 100);
        if (lab_count(e, LAB_SERVER, TS_LAST_ACK, LAB_PORT, &la_end) < 0)
            return -1;
        if (!la_end.n)
            break;
    }
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &tw_end) < 0 ||
        lab_count(e, LAB_CLIENT, TS_TIME_WAIT, LAB_PORT, &ctw) < 0)
        return -1;
    lab_measured(r, "%d clients closed while serve was stopped: server CLOSE_WAIT %ld", HELD,
                 cw.n);
    lab_measured(r, "serve resumed and closed, client ACKs dropped: server LAST_ACK %ld (FIN "
                 "retransmitted %u times)", la.n, la.retrans_max);
    lab_measured(r, "ACKs allowed: server LAST_ACK %ld, server TIME_WAIT %ld, client TIME_WAIT "
                 "+%ld", la_end.n, tw_end.n, ctw.n - tw0.n);
    lab_value(r, "server_close_wait", (double)cw.n, "sockets");
    lab_value(r, "server_last_ack_acks_dropped", (double)la.n, "sockets");
    lab_value(r, "server_fin_retransmits", (double)la.retrans_max, "segments");
    lab_value(r, "server_last_ack_acks_allowed", (double)la_end.n, "sockets");
    lab_value(r, "server_time_wait", (double)tw_end.n, "sockets");
    lab_value(r, "client_time_wait_added", (double)(ctw.n - tw0.n), "sockets");
    lab_expect(r, cw.n == HELD, "server CLOSE_WAIT %ld, expected %d", cw.n, HELD);
    lab_expect(r, la.n == HELD, "server LAST_ACK %ld, expected %d", la.n, HELD);
    lab_expect(r, la_end.n == 0 && tw_end.n == 0, "server left with LAST_ACK %ld TIME_WAIT %ld",
               la_end.n, tw_end.n);
    lab_expect(r, ctw.n - tw0.n == HELD, "client TIME_WAIT +%ld, expected +%d", ctw.n - tw0.n,
               HELD);
    return 0;
}

int lab_sc_client_closes(struct lab_env *e, struct lab_result *r)
{
    const char *load[] = {LAB_URL, "-n", "200", "-c", "4", "--requests-per-conn", "10", NULL};
    struct tw_pair tw;
    if (traffic(e, r, NULL, load, &tw) < 0)
        return -1;
    expect_on(r, &tw, false);
    if (!e->npids)
        return 0;
    return held_passive_close(e, r, e->pids[0]);
}

int lab_sc_close_policy_client(struct lab_env *e, struct lab_result *r)
{
    const char *serve[] = {"--close-policy", "client", NULL};
    const char *load[] = {LAB_URL, "-n", "200", "-c", "4", "--close-header", "--client-close",
                          NULL};
    struct tw_pair tw;
    lab_measured(r, "Connection: close traffic (as close-header), server close policy client:");
    if (traffic(e, r, serve, load, &tw) < 0)
        return -1;
    expect_on(r, &tw, false);
    return 0;
}

int lab_sc_linger_zero(struct lab_env *e, struct lab_result *r)
{
    const char *serve[] = {"--linger-zero", NULL};
    if (lab_serve(e, r, serve) < 0)
        return 0;
    long long resets0 = lab_counter(e, LAB_CLIENT, "Tcp", "EstabResets");
    int n = 20, responses = 0, econnreset = 0, eof = 0;
    lab_mark(e, -1, "%d requests, Connection: close", n);
    lab_setup_engine(e, "client: %d connections from the lab's socket engine, 'GET / HTTP/1.1' "
                   "with 'Connection: close', then recv() until EOF or error", n);
    for (int i = 0; i < n; i++) {
        int fd = wire_connect(e, LAB_CLIENT, LAB_SERVER_IP, LAB_PORT);
        if (fd < 0)
            return -1;
        lab_sample(e); /* the connection open, before the reset ends it */
        char buf[2048];
        if (wire_http(fd, "GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", buf,
                      sizeof buf) > 0 && !strncmp(buf, "HTTP/1.1 200", 12))
            responses++;
        int end = wire_wait_end(fd, 2000);
        econnreset += end == ECONNRESET;
        eof += end == 0;
        close(fd);
        lab_sample(e); /* and gone, with no TIME_WAIT on either side */
    }
    lab_mark(e, -1, "%d connections done, each reset", n);
    lab_sample(e);
    struct lab_count s, c;
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, 0, &s) < 0 ||
        lab_count(e, LAB_CLIENT, TS_TIME_WAIT, 0, &c) < 0)
        return -1;
    long long resets = lab_counter(e, LAB_CLIENT, "Tcp", "EstabResets") - resets0;
    lab_measured(r, "%d requests with Connection: close, %d responses read", n, responses);
    lab_measured(r, "after the response the client's recv(): ECONNRESET %d times, EOF %d times",
                 econnreset, eof);
    lab_measured(r, "client EstabResets +%lld", resets);
    lab_measured(r, "TIME_WAIT on the server: %ld; on the client: %ld", s.n, c.n);
    lab_value(r, "requests", n, "requests");
    lab_value(r, "responses", responses, "responses");
    lab_value(r, "client_econnreset", econnreset, "events");
    lab_value(r, "client_eof", eof, "events");
    lab_value(r, "client_estab_resets_added", (double)resets, "resets");
    lab_value(r, "server_time_wait", (double)s.n, "sockets");
    lab_value(r, "client_time_wait", (double)c.n, "sockets");
    lab_expect(r, s.n == 0 && c.n == 0, "TIME_WAIT left: server %ld, client %ld", s.n, c.n);
    lab_expect(r, econnreset == n, "ECONNRESET seen %d times of %d", econnreset, n);
    lab_expect(r, responses == n, "only %d responses of %d arrived before the RST", responses, n);
    return 0;
}
