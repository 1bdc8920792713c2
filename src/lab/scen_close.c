/* SPDX-License-Identifier: MIT */
/* Who closes first: Connection: close, keep-alive off, HTTP/1.0, client
 * close, close policy client, SO_LINGER {1,0}. Real closer serve and closer
 * load processes; the socket tables of both namespaces are the referee. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include "lab/judge.h"
#include "lab/scenarios.h"
#include "lab/wire.h"

/* Starts serve with serve_extra, runs load with load_args, lets closes
 * settle, counts TIME_WAIT on both sides of port 8080. */
static int traffic(struct lab_env *e, struct lab_result *r, const char *const serve_extra[],
                   const char *const load_args[], struct lab_traffic_obs *tw)
{
    char out[16384] = "";
    memset(tw, 0, sizeof *tw);
    pid_t srv = lab_serve(e, r, serve_extra);
    if (srv < 0)
        return 0;
    lab_sample(e);
    tw->load_rc = lab_load(e, load_args, out, sizeof out);
    lab_watch(e, 400, 100);
    tw->conns = (long)lab_json_num(out, "connections_opened");
    tw->requests = (long)lab_json_num(out, "requests");
    struct lab_count s, c;
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &s) < 0 ||
        lab_count(e, LAB_CLIENT, TS_TIME_WAIT, LAB_PORT, &c) < 0)
        return -1;
    tw->server_tw = s.n;
    tw->client_tw = c.n;
    lab_judge_traffic(r, tw);
    return 0;
}

void lab_judge_traffic(struct lab_result *r, const struct lab_traffic_obs *tw)
{
    lab_measured(r, "closer load exit %d: %ld requests on %ld connections", tw->load_rc,
                 tw->requests, tw->conns);
    lab_measured(r, "TIME_WAIT on the server: %ld; on the client: %ld", tw->server_tw,
                 tw->client_tw);
    lab_value(r, "requests", (double)tw->requests, "requests");
    lab_value(r, "connections", (double)tw->conns, "connections");
    lab_value(r, "server_time_wait", (double)tw->server_tw, "sockets");
    lab_value(r, "client_time_wait", (double)tw->client_tw, "sockets");
    lab_expect(r, tw->load_rc == 0 && tw->requests > 0, "closer load failed (exit %d)",
               tw->load_rc);
}

void lab_judge_tw_side(struct lab_result *r, const struct lab_traffic_obs *tw, bool server_side)
{
    long want_here = tw->conns, there = server_side ? tw->client_tw : tw->server_tw;
    long here = server_side ? tw->server_tw : tw->client_tw;
    lab_expect(r, here == want_here, "TIME_WAIT on the %s: %ld, expected one per connection (%ld)",
               server_side ? "server" : "client", here, want_here);
    lab_expect(r, there == 0, "TIME_WAIT on the %s: %ld, expected none",
               server_side ? "client" : "server", there);
}

int lab_sc_close_header(struct lab_env *e, struct lab_result *r)
{
    const char *load[] = {LAB_URL, "-n", "200", "-c", "4", "--close-header", NULL};
    struct lab_traffic_obs tw;
    if (traffic(e, r, NULL, load, &tw) < 0)
        return -1;
    lab_judge_tw_side(r, &tw, true);
    return 0;
}

int lab_sc_keepalive_off(struct lab_env *e, struct lab_result *r)
{
    const char *serve[] = {"--keepalive", "off", NULL};
    const char *load[] = {LAB_URL, "-n", "200", "-c", "4", NULL};
    struct lab_traffic_obs tw;
    if (traffic(e, r, serve, load, &tw) < 0)
        return -1;
    lab_judge_tw_side(r, &tw, true);
    return 0;
}

void lab_http10_begin(struct lab_result *r, bool keepalive)
{
    lab_measured(r, keepalive ? "HTTP/1.0 with Connection: keep-alive:"
                              : "HTTP/1.0, no Connection header:");
    snprintf(r->value_prefix, sizeof r->value_prefix, keepalive ? "http10_keepalive_"
                                                                : "http10_plain_");
}

void lab_judge_http10_plain(struct lab_result *r, const struct lab_traffic_obs *a)
{
    lab_expect(r, a->conns == a->requests, "HTTP/1.0: %ld connections for %ld requests, "
               "expected one each", a->conns, a->requests);
    lab_expect(r, a->server_tw == a->conns, "HTTP/1.0: server TIME_WAIT %ld, expected %ld (the "
               "server closes)", a->server_tw, a->conns);
}

void lab_judge_http10_keepalive(struct lab_result *r, const struct lab_traffic_obs *a,
                                const struct lab_traffic_obs *b)
{
    lab_expect(r, b->conns == 1 && b->requests == 50, "HTTP/1.0 keep-alive: %ld connections "
               "for %ld requests, expected 1 for 50", b->conns, b->requests);
    lab_expect(r, b->server_tw == a->server_tw, "HTTP/1.0 keep-alive added %ld server "
               "TIME_WAIT, expected none", b->server_tw - a->server_tw);
}

int lab_sc_http10(struct lab_env *e, struct lab_result *r)
{
    const char *plain[] = {LAB_URL, "-n", "50", "-c", "1", "--http1.0", NULL};
    struct lab_traffic_obs a, b;
    lab_http10_begin(r, false);
    if (traffic(e, r, NULL, plain, &a) < 0)
        return -1;
    lab_judge_http10_plain(r, &a);
    lab_stop(e, e->pids[0]);
    const char *ka[] = {LAB_URL, "-n", "50", "-c", "1", "--http1.0", "--keepalive", "on", NULL};
    lab_http10_begin(r, true);
    if (traffic(e, r, NULL, ka, &b) < 0)
        return -1;
    lab_judge_http10_keepalive(r, &a, &b);
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
        if (fds[i] < 0 || wire_http(e, fds[i], "GET / HTTP/1.1\r\nHost: lab\r\n\r\n", buf,
                                    sizeof buf) <= 0) {
            for (int k = 0; k <= i; k++)
                if (fds[k] >= 0)
                    wire_close(e, fds[k]);
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
    lab_signal(e, srv, SIGSTOP);
    int st;
    while (waitpid(srv, &st, WUNTRACED) < 0 && errno == EINTR)
        ;
    lab_mark(e, -1, "serve stopped (SIGSTOP)");
    for (int i = 0; i < HELD; i++)
        wire_close(e, fds[i]);
    lab_mark(e, -1, "%d clients close", HELD);
    lab_watch(e, 300, 100);
    int rc = lab_count(e, LAB_SERVER, TS_CLOSE_WAIT, LAB_PORT, &cw);
    if (rc == 0)
        rc = wire_drop_acks(e, LAB_PORT, true);
    lab_signal(e, srv, SIGCONT);
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
    struct lab_held_obs o = {.held = HELD, .close_wait = cw.n, .last_ack = la.n,
                             .fin_retransmits = la.retrans_max, .last_ack_end = la_end.n,
                             .tw_end = tw_end.n, .client_tw_added = ctw.n - tw0.n};
    lab_judge_held_close(r, &o);
    return 0;
}

void lab_judge_held_close(struct lab_result *r, const struct lab_held_obs *o)
{
    lab_measured(r, "%d clients closed while serve was stopped: server CLOSE_WAIT %ld", o->held,
                 o->close_wait);
    lab_measured(r, "serve resumed and closed, client ACKs dropped: server LAST_ACK %ld (FIN "
                 "retransmitted %u times)", o->last_ack, o->fin_retransmits);
    lab_measured(r, "ACKs allowed: server LAST_ACK %ld, server TIME_WAIT %ld, client TIME_WAIT "
                 "+%ld", o->last_ack_end, o->tw_end, o->client_tw_added);
    lab_value(r, "server_close_wait", (double)o->close_wait, "sockets");
    lab_value(r, "server_last_ack_acks_dropped", (double)o->last_ack, "sockets");
    lab_value(r, "server_fin_retransmits", (double)o->fin_retransmits, "segments");
    lab_value(r, "server_last_ack_acks_allowed", (double)o->last_ack_end, "sockets");
    lab_value(r, "server_time_wait", (double)o->tw_end, "sockets");
    lab_value(r, "client_time_wait_added", (double)o->client_tw_added, "sockets");
    lab_expect(r, o->close_wait == o->held, "server CLOSE_WAIT %ld, expected %d", o->close_wait,
               o->held);
    lab_expect(r, o->last_ack == o->held, "server LAST_ACK %ld, expected %d", o->last_ack,
               o->held);
    lab_expect(r, o->last_ack_end == 0 && o->tw_end == 0, "server left with LAST_ACK %ld "
               "TIME_WAIT %ld", o->last_ack_end, o->tw_end);
    lab_expect(r, o->client_tw_added == o->held, "client TIME_WAIT +%ld, expected +%d",
               o->client_tw_added, o->held);
}

int lab_sc_client_closes(struct lab_env *e, struct lab_result *r)
{
    const char *load[] = {LAB_URL, "-n", "200", "-c", "4", "--requests-per-conn", "10", NULL};
    struct lab_traffic_obs tw;
    if (traffic(e, r, NULL, load, &tw) < 0)
        return -1;
    lab_judge_tw_side(r, &tw, false);
    if (!e->npids)
        return 0;
    return held_passive_close(e, r, e->pids[0]);
}

int lab_sc_close_policy_client(struct lab_env *e, struct lab_result *r)
{
    const char *serve[] = {"--close-policy", "client", NULL};
    const char *load[] = {LAB_URL, "-n", "200", "-c", "4", "--close-header", "--client-close",
                          NULL};
    struct lab_traffic_obs tw;
    lab_measured(r, "Connection: close traffic (as close-header), server close policy client:");
    if (traffic(e, r, serve, load, &tw) < 0)
        return -1;
    lab_judge_tw_side(r, &tw, false);
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
        if (wire_http(e, fd, "GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", buf,
                      sizeof buf) > 0 && !strncmp(buf, "HTTP/1.1 200", 12))
            responses++;
        int end = wire_wait_end(e, fd, 2000);
        econnreset += end == ECONNRESET;
        eof += end == 0;
        wire_close(e, fd);
        lab_sample(e); /* and gone, with no TIME_WAIT on either side */
    }
    lab_mark(e, -1, "%d connections done, each reset", n);
    lab_sample(e);
    struct lab_count s, c;
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, 0, &s) < 0 ||
        lab_count(e, LAB_CLIENT, TS_TIME_WAIT, 0, &c) < 0)
        return -1;
    struct lab_linger_obs o = {
        .requests = n, .responses = responses, .econnreset = econnreset, .eof = eof,
        .resets_added = lab_counter(e, LAB_CLIENT, "Tcp", "EstabResets") - resets0,
        .server_tw = s.n, .client_tw = c.n};
    lab_judge_linger_zero(r, &o);
    return 0;
}

void lab_judge_linger_zero(struct lab_result *r, const struct lab_linger_obs *o)
{
    int n = o->requests;
    lab_measured(r, "%d requests with Connection: close, %d responses read", n, o->responses);
    lab_measured(r, "after the response the client's recv(): ECONNRESET %d times, EOF %d times",
                 o->econnreset, o->eof);
    lab_measured(r, "client EstabResets +%lld", o->resets_added);
    lab_measured(r, "TIME_WAIT on the server: %ld; on the client: %ld", o->server_tw,
                 o->client_tw);
    lab_value(r, "requests", n, "requests");
    lab_value(r, "responses", o->responses, "responses");
    lab_value(r, "client_econnreset", o->econnreset, "events");
    lab_value(r, "client_eof", o->eof, "events");
    lab_value(r, "client_estab_resets_added", (double)o->resets_added, "resets");
    lab_value(r, "server_time_wait", (double)o->server_tw, "sockets");
    lab_value(r, "client_time_wait", (double)o->client_tw, "sockets");
    lab_expect(r, o->server_tw == 0 && o->client_tw == 0, "TIME_WAIT left: server %ld, client "
               "%ld", o->server_tw, o->client_tw);
    lab_expect(r, o->econnreset == n, "ECONNRESET seen %d times of %d", o->econnreset, n);
    lab_expect(r, o->responses == n, "only %d responses of %d arrived before the RST",
               o->responses, n);
}
